/*
 * vrrp_sync.h - global_defs' `lvs_sync_daemon IFACE INSTANCE [id N]
 * [maxlen N] [port N] [ttl N] [group ADDR]`: the connection sync daemon
 * follows a VRRP instance, as keepalived drives the kernel's.  MASTER runs
 * the master daemon; BACKUP and FAULT run the backup daemon; the instance's
 * stop stops both.
 *
 * A director that starts (or restarts after a crash) has no connection
 * table: it pulls the table from its peer's master daemon (sync_daemon.h)
 * and holds back preemption until the pull is done or has timed out, so a
 * returning master does not take the VIP back before it knows the
 * connections opened while it was away.
 */
#ifndef LVSD_VRRP_SYNC_H
#define LVSD_VRRP_SYNC_H

#include "kaconf.h"
#include "vrrpd.h"

/* How long a starting director waits for its peer's table at most. */
#define LVSD_SYNC_PULL_TIMEOUT_MS 5000

/* Tie kc's lvs_sync_daemon (if any) to vr's instance.  0 or -errno. */
int lvsd_vrrp_sync_register(struct lvsd_loop *l, struct lvsd_vrrp *vr, const struct ka_config *kc);

#endif
