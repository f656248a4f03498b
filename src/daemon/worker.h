/*
 * worker.h - a forwarding worker: one thread that owns one receive queue
 * per served interface, runs what it receives through the core's pipeline
 * (lvs_director_process_burst), sends what comes back, answers ARP / ND /
 * echo for VIPs, keeps frames waiting for a next hop's MAC (holdq.h) and
 * sleeps in poll() when idle: it never spins.
 */
#ifndef LVSD_WORKER_H
#define LVSD_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "holdq.h"
#include "lvsd_ctx.h"

/* Idle sleep: the worker's timers (connection expiry) need no finer. */
#define LVSD_WORKER_POLL_MS 100
#define LVSD_WORKER_TICK_NS (100 * 1000 * 1000ull)

struct lvsd_worker {
	struct lvsd *d;
	pthread_t th;
	bool started;
	struct lvs_worker w;          /* the core's per-worker state and counters */
	struct lvs_io *q[LVSD_MAX_IFACES];
	unsigned nq;                  /* queues opened (one per interface) */
	struct lvs_pkt pkts[LVS_IO_BURST];
	struct lvs_pkt *tx[LVS_IO_BURST];
	uint64_t vip_answers;
	uint64_t io_errors;           /* socket errors reported by poll (interface down...) */
	uint64_t idle_sleeps;         /* polls that found nothing to do at once */
	struct lvs_holdq *hq;         /* frames waiting for their next hop's MAC */
};

/* Set up worker id of d (queues are opened by the caller into wk->q).
 * 0 or -ENOMEM. */
int lvsd_worker_init(struct lvsd_worker *wk, struct lvsd *d, unsigned id);
/* Free what init allocated (not the queues). */
void lvsd_worker_fini(struct lvsd_worker *wk);

/*
 * Thread entry (arg: the struct lvsd_worker): registers with RCU, runs
 * until d->stopping is set, drops what it still holds, unregisters.  Ends
 * within one poll timeout (LVSD_WORKER_POLL_MS) of the stop flag.
 */
void *lvsd_worker_main(void *arg);

/* Monotonic clock, ns: the time base of the core's timers. */
lvs_time_t lvsd_now(void);

#endif
