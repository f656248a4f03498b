/*
 * sched.c - the scheduler registry and the locking wrapper around pick().
 *
 * The names and the list order are ipvsadm's (its man page lists rr wrr lc
 * wlc lblc lblcr dh sh sed nq fo ovf mh; twos came later).  Schedulers whose
 * state changes on the data path (positions, trees, caches, a PRNG) set
 * ops->locked and are serialised by svc->sched_lock, as the kernel's
 * svc->sched_lock serialises rr/wrr/lblc(r); the hashing ones (dh, sh, mh)
 * only read tables built at init and run lock-free.
 */
#include <string.h>

#include "sched.h"

const struct lvs_sched_ops *const lvs_sched_all[] = {
        &lvs_sched_rr,    &lvs_sched_wrr, &lvs_sched_lc, &lvs_sched_wlc,  &lvs_sched_lblc,
        &lvs_sched_lblcr, &lvs_sched_dh,  &lvs_sched_sh, &lvs_sched_sed,  &lvs_sched_nq,
        &lvs_sched_fo,    &lvs_sched_ovf, &lvs_sched_mh, &lvs_sched_twos, NULL,
};

const struct lvs_sched_ops *lvs_sched_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; lvs_sched_all[i]; i++)
		if (strcmp(lvs_sched_all[i]->name, name) == 0)
			return lvs_sched_all[i];
	return NULL;
}

struct lvs_dest *lvs_sched_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                lvs_time_t now)
{
	const struct lvs_sched_ops *ops = svc->sched;
	struct lvs_dest *d;

	if (LVS_UNLIKELY(!ops))
		return NULL;
	if (!ops->locked)
		return ops->pick(svc, pi, now);
	lvs_spin_lock(&svc->sched_lock);
	d = ops->pick(svc, pi, now);
	lvs_spin_unlock(&svc->sched_lock);
	return d;
}

uint32_t lvs_sched_index_of(const struct lvs_service *svc, const struct lvs_dest_state *st)
{
	for (uint32_t i = 0; st && i < svc->ndests; i++)
		if (svc->dests[i]->st == st)
			return i;
	return UINT32_MAX;
}
