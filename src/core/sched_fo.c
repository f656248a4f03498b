/*
 * sched_fo.c - weighted failover (kernel ip_vs_fo).
 *
 * Kernel behaviour: the destination with the highest weight among those
 * that are not overloaded (weight 0 never qualifies); on equal weights the
 * first in list order.  Connection counts play no part.  Expressed as the
 * minimum of 1 / weight in the tournament tree, so an overload change costs
 * O(log n) and a pick O(1).
 */
#include "sched_tree.h"

static void fo_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	k->cls = lvs_sched_usable(d) ? 0 : LVS_TT_OFF;
	k->num = 1;
	k->den = d->c.weight > 0 ? (uint64_t)d->c.weight : 1;
}

static int fo_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, fo_key);
}

const struct lvs_sched_ops lvs_sched_fo = {
        .name = "fo",
        .locked = true,
        .init = fo_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
