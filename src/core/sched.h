/*
 * sched.h - the scheduler interface (the kernel's struct ip_vs_scheduler).
 *
 * One file per scheduler (sched_rr.c, sched_wlc.c, ...), each exporting a
 * const struct lvs_sched_ops registered in sched.c.  A scheduler's state
 * lives in svc->sched_data of one published snapshot: init() builds it from
 * the snapshot's destination list when the snapshot is built (control
 * path), done() frees it when the snapshot is retired.  Weights, thresholds
 * and the destination list never change under a live sched_data; every
 * configuration change builds a new snapshot.
 *
 * pick() runs on the data path for each new connection (never for packets
 * of known connections).  If ops->locked is set the caller holds
 * svc->sched_lock around pick() and counts_changed(); schedulers without
 * mutable state leave it clear and are called lock-free.
 */
#ifndef LVS_SCHED_H
#define LVS_SCHED_H

#include "model.h"
#include "pkt.h"

struct lvs_sched_ops {
	const char *name;
	bool locked; /* pick/counts_changed need svc->sched_lock */
	/* Build svc->sched_data for svc->dests. 0 or -ENOMEM. Control path. */
	int (*init)(struct lvs_service *svc);
	/* Free svc->sched_data (may be NULL-safe). Control path. */
	void (*done)(struct lvs_service *svc);
	/*
	 * Choose a destination for a new connection described by pi (addresses,
	 * ports as parsed from the client's packet; for fwmark services too).
	 * now is the data path clock.  Returns NULL when no destination is
	 * available (all weight 0, overloaded, or none).
	 */
	struct lvs_dest *(*pick)(struct lvs_service *svc, const struct lvs_pkt_info *pi,
				 lvs_time_t now);
	/* Optional: d's active/inactive counters or overload flag changed. */
	void (*counts_changed)(struct lvs_service *svc, struct lvs_dest *d);
};

/* Registry: the fourteen IPVS schedulers. NULL if unknown. */
const struct lvs_sched_ops *lvs_sched_find(const char *name);
/* NULL-terminated list of all schedulers (for help texts). */
extern const struct lvs_sched_ops *const lvs_sched_all[];

/* Run pick() with the lock discipline of the scheduler. */
struct lvs_dest *lvs_sched_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
				lvs_time_t now);

extern const struct lvs_sched_ops lvs_sched_rr, lvs_sched_wrr, lvs_sched_lc, lvs_sched_wlc,
	lvs_sched_sed, lvs_sched_nq, lvs_sched_lblc, lvs_sched_lblcr, lvs_sched_dh,
	lvs_sched_sh, lvs_sched_mh, lvs_sched_fo, lvs_sched_ovf, lvs_sched_twos;

#endif
