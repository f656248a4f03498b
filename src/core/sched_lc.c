/*
 * sched_lc.c - least connection (kernel ip_vs_lc).
 *
 * Kernel behaviour: among destinations with weight > 0 that are not
 * overloaded, the one with the smallest overhead active * 256 + inactive;
 * on a tie the first in list order.  Weights other than 0 do not matter.
 * The tournament tree (sched_tree.c) keeps that answer current; a pick is
 * O(1) and a counter change O(log n).
 */
#include "sched_tree.h"

static void lc_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	k->cls = lvs_sched_usable(d) ? 0 : LVS_TT_OFF;
	k->num = lvs_sched_overhead(d);
	k->den = 1;
}

static int lc_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, lc_key);
}

const struct lvs_sched_ops lvs_sched_lc = {
        .name = "lc",
        .locked = true,
        .init = lc_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
