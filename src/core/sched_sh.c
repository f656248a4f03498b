/*
 * sched_sh.c - source hashing (kernel ip_vs_sh).
 *
 * Kernel behaviour: a table of 256 buckets (IP_VS_SH_TAB_BITS 8) filled by
 * walking the destination list, giving each destination `weight`
 * consecutive buckets (at least one, even with weight 0) and wrapping
 * around the list until all buckets are assigned.  The key is the client's
 * source address folded to 32 bits, plus its source port (host order) when
 * the service has sh-port (-b sh-port; TCP, UDP and SCTP only); bucket =
 * hash_32(port + addr, 8).  A destination with weight 0 or overloaded is
 * unavailable: the pick fails, unless sh-fallback is set, in which case
 * buckets (2 * h + k) mod 256 for k = 0, 1, ... are tried in turn (the
 * kernel's loop adds the original hash as a starting offset to the hash
 * again), stopping at an empty bucket.
 *
 * Note that the assignment depends on list order and weights: adding or
 * removing a destination remaps most buckets, as in the kernel (mh is the
 * consistent-hashing scheduler).  Lock-free after init.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

#define SH_BITS 8
#define SH_SIZE (1u << SH_BITS)

struct sh_state {
	struct lvs_dest *bucket[SH_SIZE];
};

static int sh_init(struct lvs_service *svc)
{
	struct sh_state *s = calloc(1, sizeof(*s));
	uint32_t p = 0;
	int64_t used = 0;

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < SH_SIZE && svc->ndests; i++) {
		struct lvs_dest *d = svc->dests[p];
		s->bucket[i] = d;
		if (++used >= d->c.weight) {
			p = (p + 1) % svc->ndests;
			used = 0;
		}
	}
	svc->sched_data = s;
	return 0;
}

static void sh_done(struct lvs_service *svc)
{
	free(svc->sched_data);
	svc->sched_data = NULL;
}

static struct lvs_dest *sh_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                lvs_time_t now)
{
	const struct sh_state *s = svc->sched_data;
	struct lvs_dest *d;
	uint32_t h;

	(void)now;
	if (LVS_UNLIKELY(!s))
		return NULL;
	h = lvs_hash32(lvs_sched_hash_port(svc, pi) + lvs_addr_fold(&pi->saddr), SH_BITS);
	d = s->bucket[h];
	if (!d)
		return NULL;
	if (lvs_sched_usable(d))
		return d;
	if (!(svc->c.flags & LVS_SVC_F_SCHED_SH_FALLBACK))
		return NULL;
	for (uint32_t k = 0; k < SH_SIZE; k++) {
		d = s->bucket[(2 * h + k) & (SH_SIZE - 1)];
		if (!d)
			break;
		if (lvs_sched_usable(d))
			return d;
	}
	return NULL;
}

const struct lvs_sched_ops lvs_sched_sh = {
        .name = "sh",
        .locked = false,
        .init = sh_init,
        .done = sh_done,
        .pick = sh_pick,
        .counts_changed = NULL,
};
