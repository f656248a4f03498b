/*
 * sched.h - the scheduler interface (the kernel's struct ip_vs_scheduler).
 *
 * One file per scheduler (sched_rr.c, sched_wlc.c, ...), each exporting a
 * const struct lvs_sched_ops registered in sched.c.  A scheduler's state
 * lives in svc->sched_data of one published version of a service: init()
 * builds it from the version's destination list (control path), done()
 * frees it when the version is retired.  Weights, thresholds and the
 * destination list never change under a live sched_data; a change to a
 * service builds a new version of that service alone.  When the change is
 * one destination added, updated or deleted, the model calls add_dest /
 * upd_dest / del_dest instead of init (the kernel's hooks of the same
 * names), so a scheduler carries what it keeps between picks (rr and wrr
 * positions) over to the new version as the kernel's would.
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
	/*
	 * Optional incremental hooks (control path).  svc is the new version
	 * (its dests set, sched_data not yet), old the published version it
	 * replaces, still used by workers (a locked scheduler reads old's
	 * state under old->sched_lock).  d is the destination added or updated
	 * (an entry of svc) or, for del_dest, the one removed (an entry of
	 * old).  Build svc->sched_data; 0 or -ENOMEM.  NULL: init(svc).
	 */
	int (*add_dest)(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *d);
	int (*upd_dest)(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *d);
	int (*del_dest)(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *d);
};

/* Registry: the fourteen IPVS schedulers. NULL if unknown. */
const struct lvs_sched_ops *lvs_sched_find(const char *name);
/* NULL-terminated list of all schedulers (for help texts). */
extern const struct lvs_sched_ops *const lvs_sched_all[];

/* The index of the destination with state st in svc->dests, or
 * UINT32_MAX (control path, O(destinations); for the incremental hooks). */
uint32_t lvs_sched_index_of(const struct lvs_service *svc, const struct lvs_dest_state *st);

/* Run pick() with the lock discipline of the scheduler. */
struct lvs_dest *lvs_sched_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
				lvs_time_t now);

extern const struct lvs_sched_ops lvs_sched_rr, lvs_sched_wrr, lvs_sched_lc, lvs_sched_wlc,
	lvs_sched_sed, lvs_sched_nq, lvs_sched_lblc, lvs_sched_lblcr, lvs_sched_dh,
	lvs_sched_sh, lvs_sched_mh, lvs_sched_fo, lvs_sched_ovf, lvs_sched_twos;

#endif
