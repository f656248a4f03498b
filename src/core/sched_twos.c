/*
 * sched_twos.c - power of two choices (kernel ip_vs_twos).
 *
 * Kernel behaviour: let total = 1 + the sum of the weights of destinations
 * that are not overloaded and have weight > 0.  Draw two numbers r1, r2
 * uniformly in [0, total); each selects the first usable destination at
 * which the running weight sum reaches r (so r = 0 selects the first one).
 * Of the two, take the second only if its overhead / weight (overhead =
 * active * 256 + inactive) is strictly smaller, else the first.
 *
 * The kernel uses the system's random numbers and walks the list; here a
 * Fenwick tree of usable weights finds each choice in O(log n), and the
 * randomness is a splitmix64 generator in sched_data seeded from the
 * service's identity, so runs (and tests) are repeatable.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

struct twos_state {
	struct lvs_fenwick f;
	uint64_t *w;    /* weight counted in the tree for each dest (0 = unusable) */
	uint64_t total; /* sum of w[] */
	uint64_t rng;
};

static uint64_t twos_value(const struct lvs_dest *d)
{
	return lvs_sched_usable(d) ? (uint64_t)d->c.weight : 0;
}

static void twos_free(struct twos_state *s)
{
	lvs_fenwick_free(&s->f);
	free(s->w);
	free(s);
}

static int twos_init(struct lvs_service *svc)
{
	struct twos_state *s = calloc(1, sizeof(*s));
	uint64_t seed = 0x74776f73ull; /* "twos" */

	if (!s)
		return -ENOMEM;
	s->w = calloc(svc->ndests ? svc->ndests : 1, sizeof(*s->w));
	if (!s->w || lvs_fenwick_init(&s->f, svc->ndests)) {
		twos_free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++) {
		s->w[i] = twos_value(svc->dests[i]);
		s->total += s->w[i];
		lvs_fenwick_add(&s->f, i, (int64_t)s->w[i]);
	}
	for (unsigned i = 0; i < 4; i++)
		seed = seed * 31 + svc->c.addr.w[i];
	seed = seed * 31 + ((uint64_t)svc->c.proto << 16 | svc->c.port);
	seed = seed * 31 + svc->c.fwmark;
	s->rng = seed;
	svc->sched_data = s;
	return 0;
}

static void twos_done(struct lvs_service *svc)
{
	if (svc->sched_data)
		twos_free(svc->sched_data);
	svc->sched_data = NULL;
}

static uint32_t twos_draw(struct twos_state *s)
{
	uint64_t r = lvs_prng_below(&s->rng, s->total + 1);

	return lvs_fenwick_lower_bound(&s->f, r ? r : 1);
}

static struct lvs_dest *twos_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                  lvs_time_t now)
{
	struct twos_state *s = svc->sched_data;
	struct lvs_dest *a, *b;
	uint32_t i1, i2;

	(void)pi;
	(void)now;
	if (LVS_UNLIKELY(!s) || s->total == 0)
		return NULL;
	i1 = twos_draw(s);
	i2 = twos_draw(s);
	if (LVS_UNLIKELY(i1 == LVS_IDX_NONE || i2 == LVS_IDX_NONE))
		return NULL; /* cannot happen: r <= total */
	a = svc->dests[i1];
	b = svc->dests[i2];
	/* b wins only if overhead_b / w_b < overhead_a / w_a */
	if (lvs_ratio_lt(lvs_sched_overhead(b), (uint64_t)b->c.weight, lvs_sched_overhead(a),
	                 (uint64_t)a->c.weight))
		return b;
	return a;
}

static void twos_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct twos_state *s = svc->sched_data;
	uint64_t v;

	if (LVS_UNLIKELY(!s || d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	v = twos_value(d);
	if (v == s->w[d->pos])
		return;
	lvs_fenwick_add(&s->f, d->pos, (int64_t)(v - s->w[d->pos]));
	s->total += v - s->w[d->pos];
	s->w[d->pos] = v;
}

const struct lvs_sched_ops lvs_sched_twos = {
        .name = "twos",
        .locked = true,
        .init = twos_init,
        .done = twos_done,
        .pick = twos_pick,
        .counts_changed = twos_changed,
};
