/*
 * sched_ovf.c - weighted overflow (kernel ip_vs_ovf).
 *
 * Kernel behaviour: consider destinations with weight > 0, not overloaded,
 * and whose active connections do not exceed their weight (active <= weight
 * still qualifies: the kernel skips only active > weight); of those take the
 * highest weight, the first in list order on equal weights.  So all new
 * connections go to the heaviest server until it holds `weight` active
 * ones, then overflow to the next.  Tournament tree on 1 / weight.
 */
#include "sched_tree.h"

static void ovf_key(const struct lvs_dest *d, struct lvs_tt_key *k)
{
	bool ok = lvs_sched_usable(d) && lvs_dest_active(d) <= d->c.weight;

	k->cls = ok ? 0 : LVS_TT_OFF;
	k->num = 1;
	k->den = d->c.weight > 0 ? (uint64_t)d->c.weight : 1;
}

static int ovf_init(struct lvs_service *svc)
{
	return lvs_tsched_init(svc, ovf_key);
}

const struct lvs_sched_ops lvs_sched_ovf = {
        .name = "ovf",
        .locked = true,
        .init = ovf_init,
        .done = lvs_tsched_done,
        .pick = lvs_tsched_pick,
        .counts_changed = lvs_tsched_changed,
};
