/*
 * sched_sed.c - shortest expected delay (kernel ip_vs_sed).
 *
 * Kernel behaviour: among destinations with weight > 0 that are not
 * overloaded, the smallest (active + 1) / weight (inactive connections are
 * ignored), compared by cross-multiplication; on a tie the first in list
 * order.  Kept in a tournament tree: pick O(1), counter change O(log n).
 */
#include "sched_tree.h"

static void sed_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	k->cls = lvs_sched_usable(d) ? 0 : LVS_TT_OFF;
	k->num = lvs_sched_cnt(lvs_dest_active(d)) + 1;
	k->den = d->c.weight > 0 ? (uint64_t)d->c.weight : 1;
}

static int sed_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, sed_key);
}

const struct lvs_sched_ops lvs_sched_sed = {
        .name = "sed",
        .locked = true,
        .init = sed_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
