/*
 * sched_wlc.c - weighted least connection (kernel ip_vs_wlc), the default.
 *
 * Kernel behaviour: among destinations with weight > 0 that are not
 * overloaded, the smallest (active * 256 + inactive) / weight, compared by
 * cross-multiplication; on a tie the first in list order.  Kept in a
 * tournament tree: pick O(1), counter change O(log n).  lblc and lblcr fall
 * back to this same choice and reuse lvs_sched_wlc_key().
 */
#include "sched_tree.h"

void lvs_sched_wlc_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	k->cls = lvs_sched_usable(d) ? 0 : LVS_TT_OFF;
	k->num = lvs_sched_overhead(d);
	k->den = d->c.weight > 0 ? (uint64_t)d->c.weight : 1;
}

static int wlc_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, lvs_sched_wlc_key);
}

const struct lvs_sched_ops lvs_sched_wlc = {
        .name = "wlc",
        .locked = true,
        .init = wlc_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
