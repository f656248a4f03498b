/*
 * sync_daemon.h - the connection sync daemon: kernel IPVS's master and
 * backup sync threads (ip_vs_sync.c, protocol version 1) inside lvsd, and
 * the API that lvsadm's --start-daemon / --stop-daemon / -L --daemon and
 * the VRRP side (keepalived's lvs_sync_daemon: the master daemon on
 * MASTER, the backup daemon on BACKUP) drive.
 *
 * One thread, `lvsd-sync`, started with the daemon whether a role runs or
 * not (it owns a worker id of the connection table and must pass its
 * quiescent points and run its timer wheel, where imported connections
 * live):
 *   - master: drains the workers' report rings (sync_tap.h) every 10 ms,
 *     packs the reports into v1 messages of at most sync_maxlen bytes and
 *     multicasts them on the interface (IP_MULTICAST_IF, TTL mcast_ttl,
 *     multicast loop off); a message that is not full goes out 1 s after
 *     its first entry at the latest (the kernel: 2 s);
 *   - backup: a socket bound to the group and port and joined to the group
 *     on the interface; messages of another syncid (when ours is not 0)
 *     are dropped and counted; entries are imported with the backup's own
 *     destinations (sync_engine.h);
 *   - both roles at once, as the kernel allows since 2.6.39.
 *
 * Every function here is for the control thread only.  Errors are -errno
 * as the kernel's: -EEXIST (that role runs already), -ESRCH (it does not
 * run), -ENODEV (no such interface), -EINVAL (a bad parameter), or a
 * socket's error; err (may be NULL) gets a one-line reason for the log.
 */
#ifndef LVS_SYNC_DAEMON_H
#define LVS_SYNC_DAEMON_H

#include <stdio.h>

#include "lvs_types.h"
#include "sync_engine.h"

struct lvsd;
struct lvsd_loop;

#define LVS_SYNC_MASTER 1 /* the kernel's IP_VS_STATE_MASTER */
#define LVS_SYNC_BACKUP 2 /* IP_VS_STATE_BACKUP */

/* What ipvsadm --start-daemon passes; 0 / empty fields take the kernel's
 * defaults. */
struct lvs_sync_params {
	char ifname[16];       /* --mcast-interface (required) */
	uint8_t syncid;        /* --syncid, 0 = take every syncid (backup) */
	uint16_t maxlen;       /* --sync-maxlen; 0: from the MTU (master: 1500) */
	uint8_t group_af;      /* 0: 224.0.0.81; AF_INET or AF_INET6 with group */
	union lvs_addr group;  /* --mcast-group */
	uint16_t port;         /* --mcast-port, host order; 0: 8848 */
	uint8_t ttl;           /* --mcast-ttl; 0: 1 */
};

/* Create the sync thread and its rings, set d->sync and d->dir.sync, and
 * register on the loop (its completions) and its teardown.  The
 * connection table must have a worker id beyond d->nworkers for it
 * (lvs_conn_table_new(max, d->nworkers + 1)).  0 or -errno. */
int lvs_sync_register(struct lvsd_loop *l);

/*
 * Start the master or backup daemon with p.  0 once its sockets are open
 * and the thread runs it; -EEXIST when that role runs already.  The
 * parameters in force (defaults filled in, maxlen as clamped) are what
 * lvs_sync_get shows.
 */
int lvs_sync_start(struct lvsd *d, int role, const struct lvs_sync_params *p, char *err,
		   size_t errlen);
/* Stop one role: 0, or -ESRCH when it does not run.  A master sends what
 * it has packed first. */
int lvs_sync_stop(struct lvsd *d, int role);
/* 1 with *p (may be NULL) the parameters in force when role runs, else 0. */
int lvs_sync_get(const struct lvsd *d, int role, struct lvs_sync_params *p);

/*
 * Table pull, lvsd's extension (sync_engine.h): ask the peers' master
 * daemons, through the backup daemon's socket, for their whole tables,
 * which arrive as ordinary sync messages and are imported by the backup
 * daemon; done when the master's end marker for this request arrives.
 * Needs the backup role running (-ESRCH otherwise); -EBUSY while another
 * pull is under way.  The request is sent again every second while
 * nothing has come back.  timeout_ms: give up after this long (0: 10 s).
 * cb (may be NULL) runs once on the control thread: result 0 (done,
 * nconns entries received for it) or -ETIMEDOUT, or -ECANCELED when the
 * backup daemon stopped meanwhile or lvs_sync_pull_cancel was called.
 * Kernel masters do not answer: with only kernel peers a pull times out.
 */
typedef void (*lvs_sync_pull_cb)(void *arg, int result, uint32_t nconns);
int lvs_sync_pull_start(struct lvsd *d, unsigned timeout_ms, lvs_sync_pull_cb cb, void *arg);
/* The last pull: -EINPROGRESS while under way, else its result as above
 * (-ENOENT when none was started); *nconns (may be NULL) the entries its
 * master said it sent. */
int lvs_sync_pull_poll(struct lvsd *d, uint32_t *nconns);
/* Give up the pull under way (its callback runs with -ECANCELED). */
void lvs_sync_pull_cancel(struct lvsd *d);

/* A copy of the counters, ring drops summed over the workers. */
void lvs_sync_get_counters(const struct lvsd *d, struct sync_counters *c, uint64_t *ring_drops);
/* The `lvsadm --status` section. */
void lvs_sync_print_status(const struct lvsd *d, FILE *out);
/* Prometheus text of the lvsd_sync_* families. */
void lvs_sync_print_metrics(const struct lvsd *d, FILE *out);

#endif
