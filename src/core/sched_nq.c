/*
 * sched_nq.c - never queue (kernel ip_vs_nq).
 *
 * Kernel behaviour: walking the list, skip destinations that are overloaded
 * or have weight 0; the first one with no active connection is taken at
 * once.  If none is idle, the choice is sed's: smallest (active + 1) /
 * weight, first in list order on a tie.  In the tournament tree idle
 * destinations form a better class ranked by list position only, which
 * yields exactly that.
 */
#include "sched_tree.h"

static void nq_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	uint64_t active = lvs_sched_cnt(lvs_dest_active(d));

	if (!lvs_sched_usable(d)) {
		k->cls = LVS_TT_OFF;
		k->num = 0;
		k->den = 1;
	} else if (active == 0) {
		k->cls = 0; /* idle: position decides */
		k->num = 0;
		k->den = 1;
	} else {
		k->cls = 1;
		k->num = active + 1;
		k->den = (uint64_t)d->c.weight;
	}
}

static int nq_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, nq_key);
}

const struct lvs_sched_ops lvs_sched_nq = {
        .name = "nq",
        .locked = true,
        .init = nq_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
