/*
 * sched_wrr.c - weighted round robin (kernel ip_vs_wrr).
 *
 * Kernel behaviour: di = gcd of the positive weights (1 if none), mw = max
 * weight - (di - 1), the current weight cw starts at mw and the position at
 * the list head.  A pick takes the next destination after the position,
 * without wrapping, that is not overloaded and has weight >= cw; at the end
 * of the list cw drops by di (back to mw when it reaches <= 0) and the walk
 * restarts at the head.  Weights 4, 3, 2 (in list order A, B, C) thus give
 * A A B A B C A B C, period 9.  With nothing usable the pick fails; the
 * position then ends at the head with cw = mw, or stays put with cw = 1 when
 * it already was on the last level (what the kernel's bounded walk leaves).
 *
 * A max tree over "weight if not overloaded" answers "next destination with
 * weight >= cw" in O(log n), and whole empty levels (cw above the largest
 * usable weight) are skipped arithmetically instead of walked: the result
 * is the kernel's sequence.
 *
 * A destination added, updated or deleted does what the kernel's
 * ip_vs_wrr_dest_changed does: gcd and maximum are recomputed, the
 * position goes back to the head, and the current weight is kept (capped
 * at the new maximum, rounded to the new gcd's levels), so the other
 * destinations' turns in the current round are not restarted.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

struct wrr_state {
	struct lvs_mtree t;
	uint32_t last; /* previous choice; LVS_IDX_NONE = list head */
	int64_t cw;    /* current weight */
	int64_t mw;    /* max weight - (di - 1) */
	int64_t di;    /* gcd of positive weights */
};

static uint64_t wrr_value(const struct lvs_dest *d)
{
	return lvs_sched_usable(d) ? (uint64_t)d->c.weight : 0;
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int wrr_init(struct lvs_service *svc)
{
	struct wrr_state *s = calloc(1, sizeof(*s));
	int64_t g = 0, max = 0;

	if (!s)
		return -ENOMEM;
	if (lvs_mtree_init(&s->t, svc->ndests)) {
		free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++) {
		int64_t w = svc->dests[i]->c.weight;
		if (w > 0)
			g = g ? gcd64(w, g) : w;
		if (w > max)
			max = w;
		lvs_mtree_set(&s->t, i, wrr_value(svc->dests[i]));
	}
	s->di = g ? g : 1;
	s->mw = max - (s->di - 1);
	s->cw = s->mw;
	s->last = LVS_IDX_NONE;
	svc->sched_data = s;
	return 0;
}

static void wrr_done(struct lvs_service *svc)
{
	struct wrr_state *s = svc->sched_data;

	if (!s)
		return;
	lvs_mtree_free(&s->t);
	free(s);
	svc->sched_data = NULL;
}

static struct lvs_dest *wrr_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                 lvs_time_t now)
{
	struct wrr_state *s = svc->sched_data;
	int64_t top;
	uint32_t i;

	(void)pi;
	(void)now;
	if (LVS_UNLIKELY(!s) || s->mw <= 0)
		return NULL; /* no positive weight at all */
	top = (int64_t)lvs_mtree_max(&s->t);
	if (top == 0) {
		/* Everything overloaded: leave the state the kernel's walk leaves.
		 * Its last pass is level 1; started above that (or at the head) it
		 * ends at the head with cw = mw, started on it, it stops where it
		 * started (cw is then 1 already). */
		if (s->last == LVS_IDX_NONE || s->cw > 1) {
			s->last = LVS_IDX_NONE;
			s->cw = s->mw;
		}
		return NULL;
	}
	i = lvs_mtree_find(&s->t, s->last == LVS_IDX_NONE ? 0 : s->last + 1, (uint64_t)s->cw);
	if (i == LVS_IDX_NONE) {
		/* End of the list: next level, restart at the head. */
		s->cw -= s->di;
		if (s->cw <= 0)
			s->cw = s->mw;
		if (s->cw > top) {
			/* Levels above the largest usable weight are empty; every
			 * level is 1 mod di, so level 1 <= top stops the descent. */
			int64_t k = (s->cw - top + s->di - 1) / s->di;
			s->cw -= k * s->di;
		}
		i = lvs_mtree_find(&s->t, 0, (uint64_t)s->cw);
		if (LVS_UNLIKELY(i == LVS_IDX_NONE))
			return NULL; /* cannot happen: top >= cw */
	}
	s->last = i;
	return svc->dests[i];
}

static void wrr_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct wrr_state *s = svc->sched_data;

	if (LVS_UNLIKELY(!s || d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	lvs_mtree_set(&s->t, d->pos, wrr_value(d));
}

static int wrr_dest_changed(struct lvs_service *svc, struct lvs_service *old,
                            const struct lvs_dest *d)
{
	struct wrr_state *s, *os;
	int64_t cw = 0;
	int err = wrr_init(svc);

	(void)d;
	if (err)
		return err;
	s = svc->sched_data;
	lvs_spin_lock(&old->sched_lock);
	os = old->sched_data;
	if (os)
		cw = os->cw;
	lvs_spin_unlock(&old->sched_lock);
	if (cw > s->mw || cw <= 0)
		s->cw = s->mw;
	else if (s->di > 1)
		s->cw = (cw / s->di) * s->di + 1;
	else
		s->cw = cw;
	return 0;
}

const struct lvs_sched_ops lvs_sched_wrr = {
        .name = "wrr",
        .locked = true,
        .init = wrr_init,
        .done = wrr_done,
        .pick = wrr_pick,
        .counts_changed = wrr_changed,
        .add_dest = wrr_dest_changed,
        .upd_dest = wrr_dest_changed,
        .del_dest = wrr_dest_changed,
};
