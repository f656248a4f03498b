/*
 * vrrpd.h - VRRP in lvsd: the vrrp_instance and vrrp_sync_group blocks of
 * keepalived.conf, run on a thread of their own (`lvsd-vrrp`) so that
 * nothing on the control loop can delay an advertisement.
 *
 * Ownership of the virtual addresses comes from the VRRP state: every
 * virtual_ipaddress and virtual_ipaddress_excluded is a VIP of lvsd (the
 * workers answer ARP / ND and echo requests for it and the host guard
 * keeps the host's stack off it, as for a service address), but only while
 * its instance is MASTER; in any other state the workers answer nothing
 * for it and forward nothing to it (standby.h).  The addresses are not
 * added to the host's interfaces, as keepalived adds them: they live and
 * die with lvsd, so a director killed with SIGKILL leaves no address
 * behind that its kernel would go on answering for.
 *
 * On becoming MASTER, and when a split brain heals, the instance sends
 * gratuitous ARPs / unsolicited neighbour advertisements (Router and
 * Override flags) for its addresses: garp_master_repeat of them at once
 * (garp_interval / gna_interval apart), the same again garp_master_delay
 * later, and garp_master_refresh_repeat every garp_master_refresh while
 * it stays MASTER.  Notify scripts (notify_master / _backup / _fault /
 * _stop, and `notify` with keepalived's arguments: INSTANCE|GROUP, name,
 * state, priority) run in the background.
 *
 * Tracking: the instance's own interface (unless dont_track_primary) and
 * each track_interface; each track_script (vrrp_script, run as a
 * MISC_CHECK probe is run, with rise / fall).  Weight 0: down means
 * FAULT; otherwise the weight is added to the priority while the
 * interface is up / the script succeeds (positive) or while it is down /
 * fails (negative), as keepalived does.  A sync group moves together: a
 * member going MASTER or BACKUP takes the others along, a member at fault
 * puts the whole group in FAULT.
 */
#ifndef LVSD_VRRPD_H
#define LVSD_VRRPD_H

#include <stdio.h>

#include "ctlloop.h"
#include "kaconf.h"

struct lvsd_vrrp;

/*
 * Build VRRP from kc (which has nvrrp > 0): the instances, their standby
 * set published to the director and to d->vips (so no worker forwards or
 * answers for an address before its instance is MASTER).  Call before the
 * workers start.  The configuration is copied: kc may go afterwards.
 * 0 with *out set, or -errno (logged).
 */
int lvsd_vrrp_new(struct lvsd *d, const struct ka_config *kc, struct lvsd_vrrp **out);

/*
 * Start the thread and the instances on loop l (the addresses become VIPs
 * of d->vips, announced by VRRP only); the teardown is registered on l:
 * every MASTER sends priority 0 and lets its addresses go, notify_stop
 * scripts run.  vr is the loop's from here on, also on failure.  0 or
 * -errno (logged).
 */
int lvsd_vrrp_register(struct lvsd_loop *l, struct lvsd_vrrp *vr);

/* Free a vr that was never registered (start-up failed before). */
void lvsd_vrrp_free(struct lvsd_vrrp *vr);

/* Stop the instances now, as the teardown would (priority 0 from every
 * MASTER, addresses let go, notify_stop): lvsd stops, and a backup takes
 * over while the workers still run.  Control thread; idempotent. */
void lvsd_vrrp_shutdown(struct lvsd_vrrp *vr);

/*
 * The configuration file was reloaded: when its VRRP part differs from the
 * running one, the instances are stopped (as at shutdown) and started
 * again from nk; otherwise nothing changes.  Control thread.
 */
void lvsd_vrrp_reload(struct lvsd_vrrp *vr, const struct ka_config *nk);

/* `lvsadm --vrrp`: the instances, their state and figures. */
void lvsd_vrrp_print(struct lvsd_vrrp *vr, FILE *f);
/* Prometheus lines (lvsd_vrrp_*). */
void lvsd_vrrp_metrics(struct lvsd_vrrp *vr, FILE *f);

/*
 * fn(arg, instance, state) runs on the control thread after an instance
 * changed state (enum vrrp_state), e.g. to move the connection sync daemon
 * with it (lvs_sync_daemon).
 */
void lvsd_vrrp_set_hook(struct lvsd_vrrp *vr, void (*fn)(void *arg, const char *inst, int state),
			void *arg);

/* Hold preemption by the named instance until the given monotonic time
 * (ns), e.g. while the connection table is pulled from the peer; 0 lifts
 * the hold. */
void lvsd_vrrp_hold_preempt(struct lvsd_vrrp *vr, const char *inst, uint64_t until_ns);

#endif
