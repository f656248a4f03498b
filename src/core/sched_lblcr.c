/*
 * sched_lblcr.c - locality-based least connection with replication (kernel
 * ip_vs_lblcr).
 *
 * Kernel behaviour: like lblc, but the cache maps a destination address to
 * a *set* of servers.  On a hit the entry is refreshed and the set's least
 * loaded member is taken: the first member (newest first) that is not
 * overloaded and has weight > 0, replaced by any later non-overloaded
 * member with a strictly smaller (active * 256 + inactive) / weight.  If
 * the set has more than one member and has not changed for
 * lblcr_expiration (24 h), its most loaded member (largest ratio among
 * weight > 0, first on ties) is dropped.  If the chosen member exists and
 * is not overloaded in lblc's sense (active > weight while some server has
 * active * 2 < weight) it is used; otherwise a server is chosen as wlc
 * does and added to the set (newest first).  A miss creates an entry with
 * the wlc choice.  Entry expiry and the fixed-size table are as in
 * sched_lblc.c; sets are bounded by a shared pool of members, and a member
 * that does not fit is simply not recorded.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

#define LBLCR_EXPIRATION (24ull * 60 * 60 * LVS_NS_PER_SEC)

struct lblcr_state {
	struct lvs_lbl_base b; /* wlc choice, light destinations */
	lvs_time_t expire;
	struct lvs_lcache c;
};

static void lblcr_free(struct lblcr_state *s)
{
	lvs_lbl_base_free(&s->b);
	lvs_lcache_free(&s->c);
	free(s);
}

static int lblcr_init(struct lvs_service *svc)
{
	struct lblcr_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->expire = LBLCR_EXPIRATION;
	if (lvs_lbl_base_init(&s->b, svc) || lvs_lcache_init(&s->c, true, s->expire)) {
		lblcr_free(s);
		return -ENOMEM;
	}
	svc->sched_data = s;
	return 0;
}

static void lblcr_done(struct lvs_service *svc)
{
	if (svc->sched_data)
		lblcr_free(svc->sched_data);
	svc->sched_data = NULL;
}

/* Least loaded usable member of the set, or NULL (ip_vs_dest_set_min). */
static struct lvs_dest *set_min(const struct lvs_service *svc, const struct lvs_lcache *c,
                                uint32_t ent)
{
	struct lvs_dest *least = NULL;
	uint64_t loh = 0;

	for (uint32_t m = c->e[ent].val; m != LVS_IDX_NONE; m = c->el[m].next) {
		struct lvs_dest *d = svc->dests[c->el[m].dest];
		uint64_t doh;

		if (lvs_dest_overloaded(d))
			continue;
		if (!least) {
			if (d->c.weight > 0) {
				least = d;
				loh = lvs_sched_overhead(d);
			}
			continue;
		}
		doh = lvs_sched_overhead(d);
		if (d->c.weight > 0 &&
		    lvs_ratio_lt(doh, (uint64_t)d->c.weight, loh, (uint64_t)least->c.weight)) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

/* Most loaded member with weight > 0, or NULL (ip_vs_dest_set_max). */
static struct lvs_dest *set_max(const struct lvs_service *svc, const struct lvs_lcache *c,
                                uint32_t ent)
{
	struct lvs_dest *most = NULL;
	uint64_t moh = 0;

	for (uint32_t m = c->e[ent].val; m != LVS_IDX_NONE; m = c->el[m].next) {
		struct lvs_dest *d = svc->dests[c->el[m].dest];
		uint64_t doh;

		if (d->c.weight <= 0)
			continue;
		doh = lvs_sched_overhead(d);
		if (!most ||
		    lvs_ratio_lt(moh, (uint64_t)most->c.weight, doh, (uint64_t)d->c.weight)) {
			most = d;
			moh = doh;
		}
	}
	return most;
}

static struct lvs_dest *lblcr_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                   lvs_time_t now)
{
	struct lblcr_state *s = svc->sched_data;
	struct lvs_lc_entry *e;
	struct lvs_dest *d;
	uint32_t ent, w;

	if (LVS_UNLIKELY(!s))
		return NULL;
	lvs_lcache_gc_step(&s->c, now);
	ent = lvs_lcache_lookup(&s->c, &pi->daddr, now);
	if (ent != LVS_IDX_NONE) {
		e = &s->c.e[ent];
		e->lastuse = now;
		d = set_min(svc, &s->c, ent);
		if (e->setsize > 1 && (int64_t)(now - e->lastmod) > (int64_t)s->expire) {
			struct lvs_dest *m = set_max(svc, &s->c, ent);
			if (m)
				lvs_lcache_set_del(&s->c, ent, m->pos, now);
		}
		if (d && !(lvs_dest_active(d) > d->c.weight && s->b.nlight > 0))
			return d;
	}
	w = lvs_ttree_winner(&s->b.t);
	if (w == LVS_IDX_NONE)
		return NULL;
	if (ent == LVS_IDX_NONE)
		ent = lvs_lcache_insert(&s->c, &pi->daddr, now);
	if (ent != LVS_IDX_NONE)
		lvs_lcache_set_add(&s->c, ent, w, now);
	return svc->dests[w];
}

static void lblcr_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct lblcr_state *s = svc->sched_data;

	if (LVS_LIKELY(s != NULL))
		lvs_lbl_base_changed(&s->b, svc, d);
}

const struct lvs_sched_ops lvs_sched_lblcr = {
        .name = "lblcr",
        .locked = true,
        .init = lblcr_init,
        .done = lblcr_done,
        .pick = lblcr_pick,
        .counts_changed = lblcr_changed,
};
