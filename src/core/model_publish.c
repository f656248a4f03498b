/*
 * model_publish.c - publication: the dirty list of the services an
 * operation or batch changed, the new version of each (its destinations
 * that are not down, its scheduler state carried over through the
 * scheduler's hooks or built afresh), and the swap of every new version
 * into the index once all are built, so that a failure publishes nothing.
 * The creation-order list of current versions is kept here too.
 */
#include <errno.h>
#include <stdlib.h>

#include "model_priv.h"
#include "sched.h"

/* ---- destination availability ---- */

static void dest_avail_clear(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (__atomic_fetch_and(&ds->flags, ~(uint32_t)LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	    LVS_DEST_F_AVAILABLE) {
		m->ntrash++;
		m->gc_hint++;
		m->trash_gen++;
		ds->unref_gen = m->snap.gen;
	}
}

static void dest_avail_set(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (!(__atomic_fetch_or(&ds->flags, LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	      LVS_DEST_F_AVAILABLE)) {
		m->trash_gen++;
		if (m->ntrash)
			m->ntrash--;
	}
}

/* ---- versions ---- */

void model_version_free(void *p)
{
	struct lvs_service *svc = p;

	if (!svc)
		return;
	if (svc->sched && svc->sched->done)
		svc->sched->done(svc);
	if (svc->ndests)
		free(svc->dests[0]); /* the block of all destinations */
	free(svc->dests);
	free(svc);
}

/* The destination of a version that stands for md (or its identity). */
static const struct lvs_dest *version_dest(const struct lvs_service *svc,
					   const struct lvs_dest_conf *c)
{
	for (uint32_t i = 0; svc && i < svc->ndests; i++) {
		const struct lvs_dest *d = svc->dests[i];
		if (d->c.port == c->port && d->c.af == c->af && lvs_addr_eq(&d->c.addr, &c->addr))
			return d;
	}
	return NULL;
}

/* Scheduler state for the new version nv of ms: a hook when the one change
 * since the published version has one, else a fresh init of this service. */
static int version_sched(struct msvc *ms, struct lvs_service *nv)
{
	const struct lvs_sched_ops *ops = nv->sched;
	struct lvs_service *old = ms->pub;
	const struct lvs_dest *d = NULL;

	if (!ops)
		return 0;
	if (old && old->sched == ops && ms->chg != CHG_NONE && ms->chg != CHG_MANY) {
		if (ms->chg == CHG_DEL)
			d = version_dest(old, &ms->chg_old);
		else if (ms->chg_dest)
			d = version_dest(nv, &ms->chg_dest->c);
		if (ms->chg == CHG_ADD && d && ops->add_dest)
			return ops->add_dest(nv, old, d);
		if (ms->chg == CHG_UPD && d && ops->upd_dest)
			return ops->upd_dest(nv, old, d);
		if (ms->chg == CHG_DEL && d && ops->del_dest)
			return ops->del_dest(nv, old, d);
		/* a destination that is down is in neither version: nothing
		 * the scheduler keeps changes, init is exact */
	}
	return ops->init ? ops->init(nv) : 0;
}

/* Build the version of ms from its configuration: the published
 * destinations (not down; weight 0 while quiesced), in list order. */
static struct lvs_service *version_build(struct lvs_model *m, struct msvc *ms, int *err)
{
	struct lvs_service *nv = calloc(1, sizeof(*nv));
	struct lvs_dest *block = NULL;
	uint32_t n = 0, i = 0;

	(void)m;
	*err = -ENOMEM;
	if (!nv)
		return NULL;
	nv->c = ms->c;
	nv->st = ms->st;
	nv->order = ms->order;
	nv->owner = ms->c.owner;
	for (struct mdest *md = ms->dests; md; md = md->next)
		n += md_health(md) != LVS_DEST_DOWN;
	nv->dests = calloc(n ? n : 1, sizeof(*nv->dests));
	if (!nv->dests)
		goto fail;
	if (n && !(block = calloc(n, sizeof(*block))))
		goto fail;
	for (struct mdest *md = ms->dests; md; md = md->next) {
		struct lvs_dest *d;
		if (md_health(md) == LVS_DEST_DOWN)
			continue;
		d = &block[i];
		d->c = md->c;
		if (md_health(md) == LVS_DEST_QUIESCED)
			d->c.weight = 0;
		d->st = md->st;
		d->svc = nv;
		d->pos = i;
		nv->dests[i++] = d;
	}
	nv->ndests = n;
	nv->sched = lvs_sched_find(ms->c.sched);
	*err = version_sched(ms, nv);
	if (*err) {
		nv->sched = NULL; /* nothing to undo in done() */
		goto fail;
	}
	return nv;
fail:
	if (block && !nv->ndests)
		free(block);
	model_version_free(nv);
	return NULL;
}

/* ---- the creation-order list of current versions ---- */

int model_svcs_reserve(struct lvs_model *m, uint32_t more)
{
	uint32_t need = m->snap.nsvcs + more, cap = m->svcs_cap ? m->svcs_cap : 64;
	struct lvs_service **v;

	if (need <= m->svcs_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	v = realloc(m->snap.svcs, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->snap.svcs = v;
	m->svcs_cap = cap;
	return 0;
}

/* Position of the version with creation order `order` (binary search). */
static uint32_t svcs_pos(const struct lvs_model *m, uint32_t order)
{
	uint32_t lo = 0, hi = m->snap.nsvcs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->snap.svcs[mid]->order < order)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_order(const void *x, const void *y)
{
	const struct lvs_service *a = *(struct lvs_service *const *)x;
	const struct lvs_service *b = *(struct lvs_service *const *)y;

	return a->order < b->order ? -1 : a->order > b->order;
}

/* ---- publication ---- */

void model_mark_dirty(struct lvs_model *m, struct msvc *ms, uint8_t chg, struct mdest *md,
		      const struct lvs_dest_conf *gone)
{
	if (ms->nv) {
		/* built ahead (lvs_model_prepare) and changed since: stale */
		model_version_free(ms->nv);
		ms->nv = NULL;
	}
	m->build_next = NULL;
	if (!ms->dirty) {
		ms->dirty = true;
		ms->dirty_next = m->dirty;
		m->dirty = ms;
		ms->chg = chg;
		ms->chg_dest = md;
		if (gone)
			ms->chg_old = *gone;
	} else {
		ms->chg = CHG_MANY;
	}
}

/* Empty the dirty list; after a publication (published) the records of
 * deleted services go too. */
void model_dirty_clear(struct lvs_model *m, bool published)
{
	struct msvc *ms, *nx;

	for (ms = m->dirty; ms; ms = nx) {
		nx = ms->dirty_next;
		ms->dirty = false;
		ms->dirty_next = NULL;
		ms->chg = CHG_NONE;
		ms->chg_dest = NULL;
		if (!published)
			model_version_free(ms->nv); /* built ahead, never published */
		ms->nv = NULL;
		if (published && ms->deleted) {
			model_mdest_free_all(ms);
			free(ms);
		}
	}
	m->dirty = NULL;
	m->build_next = NULL;
}

/* Build the versions of up to max dirty services that have none yet
 * (max 0: all of them).  1 while some remain, 0 when every one is built,
 * or -errno (nothing freed: the caller's fail path does that). */
static int build_some(struct lvs_model *m, unsigned max)
{
	struct msvc *ms = m->build_next ? m->build_next : m->dirty;
	unsigned n = 0;
	int err = 0;

	for (; ms; ms = ms->dirty_next) {
		if (ms->deleted || ms->nv)
			continue;
		if (max && n == max) {
			m->build_next = ms;
			return 1;
		}
		ms->nv = version_build(m, ms, &err);
		if (!ms->nv)
			return err;
		n++;
	}
	m->build_next = NULL;
	return 0;
}

int lvs_model_prepare(struct lvs_model *m, unsigned max)
{
	int rc;

	if (!m->in_batch)
		return 0;
	rc = build_some(m, max ? max : 1);
	if (rc < 0) {
		model_undo_all(m); /* frees what was built, as a failed commit */
		m->in_batch = false;
		m->next_order = m->saved_next_order;
	}
	return rc;
}

/*
 * Publish every dirty service: build all new versions first (any failure
 * undoes the open operation or batch and publishes nothing), then swap
 * them into the index, point the destination states at their new entries,
 * bring the schedulers up to date with counter changes made meanwhile,
 * retire the old versions and free what was deleted.  0 or -errno.
 */
int model_publish(struct lvs_model *m)
{
	struct msvc *ms;
	uint32_t adds = 0, tail;
	int err = 0;

	if (m->in_batch)
		return 0;
	for (ms = m->dirty; ms; ms = ms->dirty_next)
		adds += !ms->pub && !ms->deleted;
	if (!m->dirty && !m->timeouts_dirty)
		goto done;
	if ((err = model_idx_reserve(m, adds)) || (err = model_svcs_reserve(m, adds)))
		goto fail;
	/* 1: build (what lvs_model_prepare has not built yet) */
	if ((err = build_some(m, 0)))
		goto fail;
	m->snap.gen++;
	/* 2: removals first, so a service deleted and added again in one
	 * batch has one slot */
	for (ms = m->dirty; ms; ms = ms->dirty_next) {
		struct lvs_service *old = ms->pub;
		if (!ms->deleted)
			continue;
		if (old) {
			uint32_t p = svcs_pos(m, old->order);
			model_idx_set(m, old, NULL);
			memmove(&m->snap.svcs[p], &m->snap.svcs[p + 1],
				(m->snap.nsvcs - p - 1) * sizeof(m->snap.svcs[0]));
			m->snap.nsvcs--;
			for (uint32_t j = 0; j < old->ndests; j++) {
				struct lvs_dest_state *ds = old->dests[j]->st;
				__atomic_store_n(&ds->cur, NULL, __ATOMIC_RELEASE);
				dest_avail_clear(m, ds);
			}
			m->defer(m->defer_arg, model_version_free, old);
		}
		ms->st->in_config = false;
		m->gc_hint++;
		ms->st->unref_gen = m->snap.gen;
		for (struct mdest *md = ms->dests; md; md = md->next) {
			model_dest_state_unconf(m, md->st);
			dest_avail_clear(m, md->st);
			model_watch_dest(m, md->st, false);
		}
		model_watch_svc(m, ms->st, false);
	}
	/* 3: new versions */
	tail = m->snap.nsvcs;
	for (ms = m->dirty; ms; ms = ms->dirty_next) {
		struct lvs_service *old = ms->pub, *nv = ms->nv;
		if (ms->deleted)
			continue;
		for (uint32_t j = 0; j < nv->ndests; j++) {
			struct lvs_dest *d = nv->dests[j];
			d->st->u_threshold = d->c.u_threshold;
			d->st->l_threshold = d->c.l_threshold;
			__atomic_store_n(&d->st->xmit, model_pack_xmit(&d->c), __ATOMIC_RELAXED);
			__atomic_store_n(&d->st->cur, d, __ATOMIC_RELEASE);
			dest_avail_set(m, d->st);
		}
		/* a failed check marks the state (a quiesced server stays
		 * available, with weight 0): the workers move its UDP flows */
		for (struct mdest *md = ms->dests; md; md = md->next) {
			if (md_health(md) == LVS_DEST_UP)
				__atomic_and_fetch(&md->st->flags, ~(uint32_t)LVS_DEST_F_FAILED,
						   __ATOMIC_RELAXED);
			else
				__atomic_or_fetch(&md->st->flags, LVS_DEST_F_FAILED, __ATOMIC_RELAXED);
		}
		model_idx_set(m, old, nv);
		if (old) {
			m->snap.svcs[svcs_pos(m, old->order)] = nv;
			/* destinations the new version left out (deleted, down) */
			for (uint32_t j = 0; j < old->ndests; j++) {
				struct lvs_dest_state *ds = old->dests[j]->st;
				if (__atomic_load_n(&ds->cur, __ATOMIC_RELAXED) == old->dests[j]) {
					__atomic_store_n(&ds->cur, NULL, __ATOMIC_RELEASE);
					dest_avail_clear(m, ds);
				}
				model_watch_dest(m, ds, false);
			}
		} else {
			m->snap.svcs[m->snap.nsvcs++] = nv;
		}
		ms->pub = nv;
		ms->st->in_config = true;
		/* Counter changes between the scheduler's init and now went to
		 * the old version's scheduler: bring the new one up to date. */
		if (nv->sched && nv->sched->counts_changed) {
			if (nv->sched->locked)
				lvs_spin_lock(&nv->sched_lock);
			for (uint32_t j = 0; j < nv->ndests; j++)
				nv->sched->counts_changed(nv, nv->dests[j]);
			if (nv->sched->locked)
				lvs_spin_unlock(&nv->sched_lock);
		}
		for (uint32_t j = 0; j < nv->ndests; j++)
			model_watch_dest(m, nv->dests[j]->st, false);
		for (struct mdest *md = ms->dests; md; md = md->next)
			if (md_health(md) == LVS_DEST_DOWN)
				model_watch_dest(m, md->st, false);
		model_watch_svc(m, ms->st, false);
		if (old)
			m->defer(m->defer_arg, model_version_free, old);
	}
	/* the dirty list is newest first: appended services go back into
	 * creation order (all of them are newer than the ones before) */
	if (m->snap.nsvcs - tail > 1)
		qsort(&m->snap.svcs[tail], m->snap.nsvcs - tail, sizeof(m->snap.svcs[0]), cmp_order);
	/* 4: forget the deleted records, clear the marks */
	model_dirty_clear(m, true);
done:
	m->timeouts_dirty = false;
	/* records deleted by the operations are freed with the undo log */
	for (size_t i = 0; i < m->nundo; i++)
		if (m->undo[i].kind == U_DEST_DEL)
			free(m->undo[i].md);
	m->nundo = 0;
	return 0;
fail:
	for (ms = m->dirty; ms; ms = ms->dirty_next) {
		model_version_free(ms->nv);
		ms->nv = NULL;
	}
	model_undo_all(m);
	return err;
}

