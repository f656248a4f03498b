/*
 * sched_lblc.c - locality-based least connection (kernel ip_vs_lblc).
 *
 * Kernel behaviour: for web-cache clusters; the key is the packet's
 * destination address.  A cache maps it to the server chosen last time.
 * That server is reused while it has weight > 0 and is not "overloaded" in
 * lblc's own sense: active > weight while some server of the service has
 * active * 2 < weight.  (The kernel does not look at the threshold overload
 * flag for a cached server; it does in the fallback.)  Otherwise the
 * server is chosen as wlc does (overloaded and weight-0 servers skipped)
 * and the cache entry is created or repointed.  Using an entry refreshes
 * it; entries unused for lblc_expiration (24 h by default) go away, and
 * when the cache holds many entries those unused for 6 minutes go first.
 *
 * Here: the wlc choice comes from the tournament tree (O(1)), the "some
 * server is lightly loaded" test from a counter kept by counts_changed
 * (O(1)), the cache is a fixed-size table (sched_tree.c) expired one bucket
 * per new connection, and an entry past its expiry is treated as absent at
 * lookup (the kernel's timer may keep it up to 30 minutes longer).  When the
 * table is full the choice is simply not cached, as when the kernel fails
 * to allocate an entry.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

#define LBLC_EXPIRATION (24ull * 60 * 60 * LVS_NS_PER_SEC)

struct lblc_state {
	struct lvs_lbl_base b; /* wlc choice, light destinations */
	struct lvs_lcache c;
};

static void lblc_free(struct lblc_state *s)
{
	lvs_lbl_base_free(&s->b);
	lvs_lcache_free(&s->c);
	free(s);
}

static int lblc_init(struct lvs_service *svc)
{
	struct lblc_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (lvs_lbl_base_init(&s->b, svc) || lvs_lcache_init(&s->c, false, LBLC_EXPIRATION)) {
		lblc_free(s);
		return -ENOMEM;
	}
	svc->sched_data = s;
	return 0;
}

static void lblc_done(struct lvs_service *svc)
{
	if (svc->sched_data)
		lblc_free(svc->sched_data);
	svc->sched_data = NULL;
}

static struct lvs_dest *lblc_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                  lvs_time_t now)
{
	struct lblc_state *s = svc->sched_data;
	struct lvs_dest *d;
	uint32_t ent, w;

	if (LVS_UNLIKELY(!s))
		return NULL;
	lvs_lcache_gc_step(&s->c, now);
	ent = lvs_lcache_lookup(&s->c, &pi->daddr, now);
	if (ent != LVS_IDX_NONE) {
		s->c.e[ent].lastuse = now;
		d = svc->dests[s->c.e[ent].val];
		if (d->c.weight > 0 && !(lvs_dest_active(d) > d->c.weight && s->b.nlight > 0))
			return d;
	}
	w = lvs_ttree_winner(&s->b.t);
	if (w == LVS_IDX_NONE)
		return NULL;
	if (ent == LVS_IDX_NONE)
		ent = lvs_lcache_insert(&s->c, &pi->daddr, now);
	if (ent != LVS_IDX_NONE)
		s->c.e[ent].val = w;
	return svc->dests[w];
}

static void lblc_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct lblc_state *s = svc->sched_data;

	if (LVS_LIKELY(s != NULL))
		lvs_lbl_base_changed(&s->b, svc, d);
}

const struct lvs_sched_ops lvs_sched_lblc = {
        .name = "lblc",
        .locked = true,
        .init = lblc_init,
        .done = lblc_done,
        .pick = lblc_pick,
        .counts_changed = lblc_changed,
};
