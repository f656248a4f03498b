/*
 * sched_rr.c - round robin (kernel ip_vs_rr).
 *
 * Kernel behaviour: the position starts at the list head, so the first
 * connection goes to dests[0] (the destination added last).  Each pick takes
 * the next destination after the previous choice, wrapping around, that has
 * weight > 0 and is not overloaded; when none qualifies the pick fails and
 * the position stays where it was.
 *
 * Instead of walking the list, a max tree over "weight if usable else 0"
 * finds the next usable destination in O(log n); counts_changed keeps it in
 * step with the overload flag.
 *
 * Changes keep the position as the kernel keeps its list cursor: on the
 * same destination when another is added or updated, and one back (the
 * destination before the deleted one, or the head) when the destination it
 * was on is deleted (ip_vs_rr_del_dest), so the rotation goes on where it
 * was instead of restarting at the newest destination.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

struct rr_state {
	struct lvs_mtree t;
	uint32_t last; /* index of the previous choice; LVS_IDX_NONE = list head */
};

static uint64_t rr_value(const struct lvs_dest *d)
{
	return lvs_sched_usable(d) ? (uint64_t)d->c.weight : 0;
}

static int rr_init(struct lvs_service *svc)
{
	struct rr_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (lvs_mtree_init(&s->t, svc->ndests)) {
		free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++)
		lvs_mtree_set(&s->t, i, rr_value(svc->dests[i]));
	s->last = LVS_IDX_NONE;
	svc->sched_data = s;
	return 0;
}

static void rr_done(struct lvs_service *svc)
{
	struct rr_state *s = svc->sched_data;

	if (!s)
		return;
	lvs_mtree_free(&s->t);
	free(s);
	svc->sched_data = NULL;
}

static struct lvs_dest *rr_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                lvs_time_t now)
{
	struct rr_state *s = svc->sched_data;
	uint32_t i;

	(void)pi;
	(void)now;
	if (LVS_UNLIKELY(!s))
		return NULL;
	i = lvs_mtree_find(&s->t, s->last == LVS_IDX_NONE ? 0 : s->last + 1, 1);
	if (i == LVS_IDX_NONE)
		i = lvs_mtree_find(&s->t, 0, 1); /* wrap; reaches `last` itself too */
	if (i == LVS_IDX_NONE)
		return NULL;
	s->last = i;
	return svc->dests[i];
}

static void rr_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct rr_state *s = svc->sched_data;

	if (LVS_UNLIKELY(!s || d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	lvs_mtree_set(&s->t, d->pos, rr_value(d));
}

/* The new version svc starts from old's position, mapped to svc's list;
 * `gone` is the destination deleted from old, if any. */
static int rr_carry(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *gone)
{
	const struct lvs_dest_state *at = NULL;
	struct rr_state *s, *os;
	int err = rr_init(svc);

	if (err)
		return err;
	s = svc->sched_data;
	lvs_spin_lock(&old->sched_lock);
	os = old->sched_data;
	if (os && os->last != LVS_IDX_NONE && os->last < old->ndests) {
		uint32_t last = os->last;
		if (gone && old->dests[last] == gone)
			last = last ? last - 1 : LVS_IDX_NONE;
		if (last != LVS_IDX_NONE)
			at = old->dests[last]->st;
	}
	lvs_spin_unlock(&old->sched_lock);
	if (at) {
		uint32_t i = lvs_sched_index_of(svc, at);
		s->last = i == UINT32_MAX ? LVS_IDX_NONE : i;
	}
	return 0;
}

static int rr_add_dest(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *d)
{
	(void)d;
	return rr_carry(svc, old, NULL);
}

static int rr_del_dest(struct lvs_service *svc, struct lvs_service *old, const struct lvs_dest *d)
{
	return rr_carry(svc, old, d);
}

const struct lvs_sched_ops lvs_sched_rr = {
        .name = "rr",
        .locked = true,
        .init = rr_init,
        .done = rr_done,
        .pick = rr_pick,
        .counts_changed = rr_changed,
        .add_dest = rr_add_dest,
        .upd_dest = rr_add_dest,
        .del_dest = rr_del_dest,
};
