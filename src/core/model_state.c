/*
 * model_state.c - the model's stable runtime state: the services' and
 * destinations' traffic counters (per worker, read as sums less a zero
 * base), the connection accounting the data path does on any worker
 * (active, inactive and persistent counts, the overload flag), change
 * notifications, and the state tables.  A destination that leaves the
 * configuration keeps its state while connections use it and gets it
 * back when it is added again (the kernel's trash); gc frees the states
 * nothing uses once a grace period has passed.
 */
#include <stdlib.h>

#include "model_priv.h"
#include "sched.h"

/* ---- counters ---- */

void lvs_counters_sum(const struct lvs_counters *w, unsigned n, struct lvs_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n; i++) {
		out->conns += w[i].conns;
		out->inpkts += w[i].inpkts;
		out->outpkts += w[i].outpkts;
		out->inbytes += w[i].inbytes;
		out->outbytes += w[i].outbytes;
	}
}

static void counters_sub(struct lvs_counters *a, const struct lvs_counters *b)
{
	a->conns -= b->conns;
	a->inpkts -= b->inpkts;
	a->outpkts -= b->outpkts;
	a->inbytes -= b->inbytes;
	a->outbytes -= b->outbytes;
}

void lvs_svc_state_stats(const struct lvs_svc_state *st, struct lvs_counters *out)
{
	lvs_counters_sum(st->stats, st->nstats, out);
	counters_sub(out, &st->zbase);
}

void lvs_dest_state_stats(const struct lvs_dest_state *st, struct lvs_counters *out)
{
	lvs_counters_sum(st->stats, st->nstats, out);
	counters_sub(out, &st->zbase);
}

/* ---- connection accounting (data path, any worker) ---- */

static void dest_notify(struct lvs_dest_state *ds)
{
	struct lvs_dest *d = __atomic_load_n(&ds->cur, __ATOMIC_ACQUIRE);
	struct lvs_service *svc;

	if (!d)
		return;
	svc = d->svc;
	if (!svc->sched || !svc->sched->counts_changed)
		return;
	if (svc->sched->locked) {
		lvs_spin_lock(&svc->sched_lock);
		svc->sched->counts_changed(svc, d);
		lvs_spin_unlock(&svc->sched_lock);
	} else {
		svc->sched->counts_changed(svc, d);
	}
}

static int32_t dest_totalconns(const struct lvs_dest_state *ds)
{
	return __atomic_load_n(&ds->activeconns, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ds->inactconns, __ATOMIC_RELAXED);
}

void lvs_dest_bind(struct lvs_dest_state *ds, bool is_template, bool active)
{
	if (is_template)
		__atomic_add_fetch(&ds->persistconns, 1, __ATOMIC_RELAXED);
	else if (active)
		__atomic_add_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	/* The kernel marks a destination overloaded when its total
	 * (active + inactive) connections reach the upper threshold. */
	if (ds->u_threshold && (uint32_t)dest_totalconns(ds) >= ds->u_threshold)
		__atomic_or_fetch(&ds->flags, LVS_DEST_F_OVERLOAD, __ATOMIC_RELAXED);
	dest_notify(ds);
}

void lvs_dest_unbind(struct lvs_dest_state *ds, bool is_template, bool active)
{
	uint32_t total;
	bool clear;

	if (is_template)
		__atomic_sub_fetch(&ds->persistconns, 1, __ATOMIC_RELAXED);
	else if (active)
		__atomic_sub_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	/* Overload clears below the lower threshold, or, without one, below
	 * three quarters of the upper threshold (kernel ip_vs_unbind_dest). */
	total = (uint32_t)dest_totalconns(ds);
	if (ds->l_threshold)
		clear = total < ds->l_threshold;
	else if (ds->u_threshold)
		clear = (uint64_t)total * 4 < (uint64_t)ds->u_threshold * 3;
	else
		clear = true;
	if (clear && (__atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_OVERLOAD))
		__atomic_and_fetch(&ds->flags, ~(uint32_t)LVS_DEST_F_OVERLOAD, __ATOMIC_RELAXED);
	dest_notify(ds);
}

void lvs_dest_handshake(struct lvs_dest_state *ds, bool ok)
{
	if (ok) {
		__atomic_add_fetch(&ds->hs_ok, 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&ds->hs_fail_run, __ATOMIC_RELAXED))
			__atomic_store_n(&ds->hs_fail_run, 0, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&ds->hs_fail, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ds->hs_fail_run, 1, __ATOMIC_RELAXED);
	}
}

void lvs_dest_set_active(struct lvs_dest_state *ds, bool active)
{
	if (active) {
		__atomic_add_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_sub_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	}
	dest_notify(ds);
}

/* ---- change notifications ---- */

void lvs_model_set_watch(struct lvs_model *m, const struct lvs_model_watch *w)
{
	memset(&m->watch, 0, sizeof(m->watch));
	if (!w)
		return;
	m->watch = *w;
	for (struct lvs_svc_state *ss = m->svc_states; ss; ss = ss->next)
		model_watch_svc(m, ss, false);
	for (struct lvs_dest_state *ds = m->dest_states; ds; ds = ds->next)
		model_watch_dest(m, ds, false);
}

/* ---- the state tables ---- */

/* A destination state leaves the configuration (deleted or its service
 * deleted); it stays until gc finds it unused. */
void model_dest_state_unconf(struct lvs_model *m, struct lvs_dest_state *ds)
{
	__atomic_and_fetch(&ds->flags, ~(uint32_t)LVS_DEST_F_INCONF, __ATOMIC_RELAXED);
	m->gc_hint++;
}

static size_t state_size(const struct lvs_model *m, size_t base)
{
	return base + m->nstats * sizeof(struct lvs_counters);
}

/*
 * The state tables chain states through their own hnext field (at
 * next_off) instead of an hnode: double t when it is as full as it is
 * wide, rehashing with hash(); without memory it stays as it is.
 */
static void chain_grow(struct htab *t, size_t next_off, uint32_t (*hash)(const void *obj))
{
	uint32_t nb = (t->mask + 1) * 2;
	void **b;

	if (t->n < t->mask + 1 || !(b = calloc(nb, sizeof(*b))))
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		void *x = t->b[i], *nx;
		for (; x; x = nx) {
			void **link = (void **)((char *)x + next_off);
			uint32_t h = hash(x) & (nb - 1);
			nx = *link;
			*link = b[h];
			b[h] = x;
		}
	}
	free(t->b);
	t->b = (struct hnode **)b;
	t->mask = nb - 1;
}

/* Link obj (hash h) at the head of its chain in t, growing t first. */
static void chain_insert(struct htab *t, void *obj, size_t next_off, uint32_t h,
			 uint32_t (*hash)(const void *obj))
{
	chain_grow(t, next_off, hash);
	*(void **)((char *)obj + next_off) = t->b[h & t->mask];
	t->b[h & t->mask] = obj;
	t->n++;
}

/* Unlink obj (hash h) from its chain in t. */
static void chain_remove(struct htab *t, void *obj, size_t next_off, uint32_t h)
{
	for (void **pp = (void **)&t->b[h & t->mask]; *pp; pp = (void **)((char *)*pp + next_off))
		if (*pp == obj) {
			*pp = *(void **)((char *)obj + next_off);
			t->n--;
			return;
		}
}

#define SS_NEXT offsetof(struct lvs_svc_state, hnext)
#define DS_NEXT offsetof(struct lvs_dest_state, hnext)

static uint32_t dstate_hash(const struct lvs_svc_state *ss, uint8_t af, const union lvs_addr *a,
			    uint16_t port);

static uint32_t ss_hash(const void *obj)
{
	return model_key_hash(&((const struct lvs_svc_state *)obj)->key);
}

static uint32_t ds_hash(const void *obj)
{
	const struct lvs_dest_state *x = obj;

	return dstate_hash(x->svc, x->af, &x->addr, x->port);
}

/* The service state for a service being added: one that left the
 * configuration (its counters and connections continue), or a new one. */
struct lvs_svc_state *model_svc_state_get(struct lvs_model *m, const struct lvs_svc_conf *c)
{
	struct lvs_svc_state *st;
	struct lvs_svc_key k;
	uint32_t h;

	lvs_svc_conf_key(c, &k);
	h = model_key_hash(&k);
	for (st = (void *)m->ssmap.b[h & m->ssmap.mask]; st; st = st->hnext)
		if (!st->in_config && memcmp(&st->key, &k, sizeof(k)) == 0)
			return st;
	st = calloc(1, state_size(m, sizeof(*st)));
	if (!st)
		return NULL;
	st->id = m->next_svc_id++;
	st->key = k;
	st->nstats = (uint16_t)m->nstats;
	st->next = m->svc_states;
	m->svc_states = st;
	chain_insert(&m->ssmap, st, SS_NEXT, h, ss_hash);
	return st;
}

static uint32_t dstate_hash(const struct lvs_svc_state *ss, uint8_t af, const union lvs_addr *a,
			    uint16_t port)
{
	return model_dest_hash(ss, af, a, port);
}

/* A destination state for a destination being added: the trash entry of
 * the same service and identity, revived (the kernel's trash), or new. */
struct lvs_dest_state *model_dest_state_get(struct lvs_model *m, struct msvc *ms,
					    const struct lvs_dest_conf *d)
{
	uint32_t h = dstate_hash(ms->st, d->af, &d->addr, d->port);
	struct lvs_dest_state *ds;

	for (ds = (void *)m->dsmap.b[h & m->dsmap.mask]; ds; ds = ds->hnext)
		if (ds->svc == ms->st && !(ds->flags & LVS_DEST_F_INCONF) && ds->af == d->af &&
		    ds->port == d->port && lvs_addr_eq(&ds->addr, &d->addr)) {
			__atomic_or_fetch(&ds->flags, LVS_DEST_F_INCONF, __ATOMIC_RELAXED);
			return ds;
		}
	ds = calloc(1, state_size(m, sizeof(*ds)));
	if (!ds)
		return NULL;
	ds->id = m->next_dest_id++;
	ds->flags = LVS_DEST_F_INCONF;
	ds->af = d->af;
	ds->port = d->port;
	ds->addr = d->addr;
	ds->svc = ms->st;
	ds->nstats = (uint16_t)m->nstats;
	ds->unref_gen = UINT64_MAX;
	ds->xmit = model_pack_xmit(d);
	ms->st->ndstates++;
	ds->next = m->dest_states;
	m->dest_states = ds;
	chain_insert(&m->dsmap, ds, DS_NEXT, h, ds_hash);
	return ds;
}

/* ---- trash and gc ---- */

uint64_t lvs_model_trash_gen(const struct lvs_model *m)
{
	return m->trash_gen;
}

unsigned lvs_model_trash(const struct lvs_model *m,
			 void (*fn)(void *arg, const struct lvs_dest_state *ds), void *arg)
{
	unsigned n = 0;

	for (const struct lvs_dest_state *ds = m->ntrash ? m->dest_states : NULL; ds;
	     ds = ds->next) {
		if (__atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_AVAILABLE)
			continue;
		n++;
		if (fn)
			fn(arg, ds);
	}
	return n;
}

bool lvs_model_gc_some(struct lvs_model *m, uint64_t safe_gen, unsigned max)
{
	struct lvs_dest_state **pp = &m->dest_states, *ds;
	struct lvs_svc_state **sp = &m->svc_states, *ss;
	unsigned freed = 0, kept = 0;

	if (m->in_batch)
		return false;
	/* nothing left the configuration since the last walk, and it kept
	 * nothing: no state can be free (the walk is over every state) */
	if (!m->gc_hint && !m->gc_kept)
		return false;
	m->ntrash = 0;
	while ((ds = *pp)) {
		uint32_t fl = __atomic_load_n(&ds->flags, __ATOMIC_RELAXED);
		if (!(fl & (LVS_DEST_F_AVAILABLE | LVS_DEST_F_INCONF)) && !ds->cur &&
		    ds->unref_gen < safe_gen && ds->activeconns == 0 && ds->inactconns == 0 &&
		    ds->persistconns == 0) {
			if (max && freed == max) {
				m->ntrash++; /* not all counted: the trash is not empty */
				m->gc_hint = 1;
				return true;
			}
			freed++;
			m->trash_gen++;
			model_watch_dest(m, ds, true);
			*pp = ds->next;
			chain_remove(&m->dsmap, ds, DS_NEXT, ds_hash(ds));
			ds->svc->ndstates--;
			if (!ds->svc->ndstates)
				ds->svc->unref_gen = m->snap.gen;
			free(ds);
			continue;
		}
		if (!(fl & LVS_DEST_F_AVAILABLE))
			m->ntrash++;
		if (!(fl & (LVS_DEST_F_AVAILABLE | LVS_DEST_F_INCONF)))
			kept++;
		pp = &ds->next;
	}
	while ((ss = *sp)) {
		if (!ss->in_config && !ss->ndstates && ss->unref_gen < safe_gen) {
			if (max && freed == max) {
				m->gc_hint = 1;
				return true;
			}
			freed++;
			model_watch_svc(m, ss, true);
			*sp = ss->next;
			chain_remove(&m->ssmap, ss, SS_NEXT, ss_hash(ss));
			free(ss);
		} else {
			kept += !ss->in_config;
			sp = &ss->next;
		}
	}
	m->gc_kept = kept;
	m->gc_hint = 0;
	return false;
}

void lvs_model_gc_upto(struct lvs_model *m, uint64_t safe_gen)
{
	lvs_model_gc_some(m, safe_gen, 0);
}

void lvs_model_gc(struct lvs_model *m)
{
	lvs_model_gc_upto(m, m->snap.gen + 1);
}

