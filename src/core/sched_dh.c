/*
 * sched_dh.c - destination hashing (kernel ip_vs_dh).
 *
 * Kernel behaviour: a table of 256 buckets (IP_VS_DH_TAB_BITS 8) filled by
 * walking the destination list round robin, ignoring weights: bucket i
 * holds dests[i % n].  A packet's destination address, folded to 32 bits
 * (IPv6: XOR of the four words) and hashed with hash_32(addr, 8), selects
 * a bucket.  If that destination has weight 0 or is overloaded the pick
 * fails: dh has no fallback.  The table is built at init and only read
 * afterwards, so pick() runs without the service lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

#define DH_BITS 8
#define DH_SIZE (1u << DH_BITS)

struct dh_state {
	struct lvs_dest *bucket[DH_SIZE];
};

static int dh_init(struct lvs_service *svc)
{
	struct dh_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < DH_SIZE && svc->ndests; i++)
		s->bucket[i] = svc->dests[i % svc->ndests];
	svc->sched_data = s;
	return 0;
}

static void dh_done(struct lvs_service *svc)
{
	free(svc->sched_data);
	svc->sched_data = NULL;
}

static struct lvs_dest *dh_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                lvs_time_t now)
{
	const struct dh_state *s = svc->sched_data;
	struct lvs_dest *d;

	(void)now;
	if (LVS_UNLIKELY(!s))
		return NULL;
	d = s->bucket[lvs_hash32(lvs_addr_fold(&pi->daddr), DH_BITS)];
	return d && lvs_sched_usable(d) ? d : NULL;
}

const struct lvs_sched_ops lvs_sched_dh = {
        .name = "dh",
        .locked = false,
        .init = dh_init,
        .done = dh_done,
        .pick = dh_pick,
        .counts_changed = NULL,
};
