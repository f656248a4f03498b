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
	struct lvs_ttree t; /* wlc choice */
	uint8_t *light;     /* per dest: active * 2 < weight */
	uint32_t nlight;
	struct lvs_lcache c;
};

static bool lblc_is_light(const struct lvs_dest *d)
{
	return (int64_t)lvs_dest_active(d) * 2 < (int64_t)d->c.weight;
}

static void lblc_free(struct lblc_state *s)
{
	lvs_ttree_free(&s->t);
	lvs_lcache_free(&s->c);
	free(s->light);
	free(s);
}

static int lblc_init(struct lvs_service *svc)
{
	struct lblc_state *s = calloc(1, sizeof(*s));
	struct lvs_tt_key k;

	if (!s)
		return -ENOMEM;
	s->light = calloc(svc->ndests ? svc->ndests : 1, 1);
	if (!s->light || lvs_ttree_init(&s->t, svc->ndests) ||
	    lvs_lcache_init(&s->c, false, LBLC_EXPIRATION)) {
		lblc_free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++) {
		lvs_sched_wlc_key(svc->dests[i], &k);
		lvs_ttree_load(&s->t, i, &k);
		s->light[i] = lblc_is_light(svc->dests[i]);
		s->nlight += s->light[i];
	}
	lvs_ttree_rebuild(&s->t);
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
		if (d->c.weight > 0 && !(lvs_dest_active(d) > d->c.weight && s->nlight > 0))
			return d;
	}
	w = lvs_ttree_winner(&s->t);
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
	struct lvs_tt_key k;
	uint8_t l;

	if (LVS_UNLIKELY(!s || d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	lvs_sched_wlc_key(d, &k);
	lvs_ttree_set(&s->t, d->pos, &k);
	l = lblc_is_light(d);
	s->nlight += (uint32_t)l - s->light[d->pos];
	s->light[d->pos] = l;
}

const struct lvs_sched_ops lvs_sched_lblc = {
        .name = "lblc",
        .locked = true,
        .init = lblc_init,
        .done = lblc_done,
        .pick = lblc_pick,
        .counts_changed = lblc_changed,
};
