/*
 * model.c - the control plane's model of services and destinations, and the
 * published versions the data path reads.
 *
 * Every change (lvsadm command, rules file, configuration file, a health
 * check's verdict) is one of the operations below.  Each validates first,
 * then changes the configuration records of one service and publishes a
 * new version of that service alone: its destination array, its scheduler
 * state (carried over through the scheduler's add/upd/del_dest hooks when
 * it has them), swapped into the RCU index slot of the old version, which
 * is retired after a grace period.  Other services, their versions and
 * their schedulers are untouched, so a change costs O(destinations of its
 * service), not O(configuration).  Lookups by key are hashes.
 *
 * Atomicity: operations log how to undo themselves; publication builds
 * every new version before it swaps any in, so an operation or a batch
 * (lvs_model_begin/commit) applies whole or not at all.  Validation and
 * error numbers follow kernel IPVS (ip_vs_ctl.c): -EEXIST, -ESRCH,
 * -ENOENT, -EINVAL, -ERANGE.
 *
 * Destination state outlives deletion while connections use it (the kernel
 * keeps such destinations on a "trash" list and revives them when the same
 * destination is added again); lvs_model_gc frees the unused ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "model.h"
#include "sched.h"

#define MODEL_CONTAINER(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* ---- control-thread hash tables (intrusive chains, grown by doubling) ---- */

struct hnode {
	struct hnode *next;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	uint32_t mask;
	uint32_t n;
};

static int ht_init(struct htab *t)
{
	t->b = calloc(64, sizeof(*t->b));
	t->mask = 63;
	t->n = 0;
	return t->b ? 0 : -ENOMEM;
}

/* Doubling keeps chains short; when memory is short the table stays as it
 * is and chains grow longer (slower, still correct). */
static void ht_grow(struct htab *t)
{
	uint32_t nb = (t->mask + 1) * 2;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct hnode *n = t->b[i], *nx;
		for (; n; n = nx) {
			nx = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

static void ht_insert(struct htab *t, struct hnode *n, uint32_t hash)
{
	if (t->n >= t->mask + 1)
		ht_grow(t);
	n->hash = hash;
	n->next = t->b[hash & t->mask];
	t->b[hash & t->mask] = n;
	t->n++;
}

static void ht_remove(struct htab *t, struct hnode *n)
{
	for (struct hnode **pp = &t->b[n->hash & t->mask]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
}

static struct hnode *ht_first(const struct htab *t, uint32_t hash)
{
	return t->b[hash & t->mask];
}

/* ---- configuration records ---- */

struct msvc;

struct mdest {
	struct hnode hn;          /* m->dmap: (service, af, addr, port) */
	struct lvs_dest_conf c;   /* as configured (weight as set) */
	uint8_t health;           /* enum lvs_dest_health */
	char reason[LVS_HEALTH_REASON_MAX];
	struct lvs_dest_state *st;
	struct msvc *svc;
	struct mdest *prev, *next;/* the service's list, head = most recently added */
};

struct msvc {
	struct hnode hn;          /* m->smap: the service key */
	struct lvs_svc_conf c;
	struct lvs_svc_state *st;
	struct mdest *dests;
	uint32_t ndests;
	uint32_t order;
	struct lvs_service *pub;  /* the published version, NULL before the first */
	struct lvs_service *nv;   /* built by publish(), not swapped in yet */
	struct msvc *dirty_next;  /* m->dirty list */
	bool dirty;
	bool deleted;             /* removed from smap: unpublish, then free */
	/* The one change since publication, for the scheduler's hooks. */
	uint8_t chg;              /* CHG_* */
	struct mdest *chg_dest;
	struct lvs_dest_conf chg_old; /* del: the removed destination's identity */
};

enum { CHG_NONE, CHG_ADD, CHG_UPD, CHG_DEL, CHG_MANY };

/* How to undo one change of an open operation or batch. */
enum undo_kind { U_SVC_ADD, U_SVC_DEL, U_SVC_EDIT, U_DEST_ADD, U_DEST_DEL, U_DEST_EDIT, U_TIMEOUTS };

struct undo {
	uint8_t kind;
	struct msvc *ms;
	struct mdest *md;
	struct mdest *md_prev;    /* U_DEST_DEL: the record before it (NULL: head) */
	union {
		struct lvs_svc_conf sc;
		struct {
			struct lvs_dest_conf dc;
			uint8_t health;
			char reason[LVS_HEALTH_REASON_MAX];
		} d;
		struct lvs_timeouts to;
	} old;
};

/* ---- the published index (RCU: open addressing, replaced on growth) ---- */

struct lvs_svc_index {
	uint32_t mask;
	uint32_t used; /* live + tombstones */
	uint32_t live;
	struct lvs_service *slot[];
};

/* A deleted slot: lookups probe past it, inserts may reuse it. */
static struct lvs_service idx_tomb;
#define TOMB (&idx_tomb)

struct lvs_model {
	struct lvs_snapshot snap;     /* published view */
	uint32_t svcs_cap;
	struct htab smap;             /* msvc by key */
	struct htab dmap;             /* mdest by (msvc, af, addr, port) */
	struct htab ssmap;            /* lvs_svc_state by key */
	struct htab dsmap;            /* lvs_dest_state by (svc state, af, addr, port) */
	struct lvs_svc_state *svc_states;
	struct lvs_dest_state *dest_states;
	struct msvc *dirty;
	bool timeouts_dirty;
	unsigned nstats;
	uint32_t next_order;
	uint32_t next_svc_id;
	uint32_t next_dest_id;
	uint32_t ntrash; /* states without AVAILABLE (upper bound) */
	void (*defer)(void *arg, void (*fn)(void *obj), void *obj);
	void *defer_arg;
	struct lvs_model_watch watch;
	/* undo log of the open operation or batch */
	struct undo *undo;
	size_t nundo, capundo;
	bool in_batch;
	uint32_t saved_next_order;
};

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


/* ---- keys ---- */

void lvs_svc_conf_key(const struct lvs_svc_conf *c, struct lvs_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = c->af;
	if (c->fwmark) {
		k->fwmark = c->fwmark;
	} else {
		k->proto = c->proto;
		k->port = c->port;
		k->addr = c->addr;
	}
}

/* ---- keys and lookup ---- */

static bool conf_key_eq(const struct lvs_svc_conf *c, const struct lvs_svc_key *k)
{
	if (c->af != k->af)
		return false;
	if (c->fwmark || k->fwmark)
		return c->fwmark == k->fwmark;
	return c->proto == k->proto && c->port == k->port && lvs_addr_eq(&c->addr, &k->addr);
}

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

static uint32_t svc_hash(uint8_t af, uint8_t proto, const union lvs_addr *a, uint16_t port)
{
	uint32_t h = a->w[0] ^ mix32(a->w[1] ^ mix32(a->w[2] ^ mix32(a->w[3])));
	return mix32(h ^ ((uint32_t)port << 16) ^ ((uint32_t)proto << 8) ^ af);
}

static uint32_t fwm_hash(uint8_t af, uint32_t mark)
{
	return mix32(mark * 2654435761U ^ af ^ 0x5bd1e995U);
}

static uint32_t key_hash(const struct lvs_svc_key *k)
{
	return k->fwmark ? fwm_hash(k->af, k->fwmark) : svc_hash(k->af, k->proto, &k->addr, k->port);
}

static uint32_t conf_hash(const struct lvs_svc_conf *c)
{
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	return key_hash(&k);
}

/* A destination's identity within its service (or service state). */
static uint32_t dest_hash(const void *owner, uint8_t af, const union lvs_addr *a, uint16_t port)
{
	uintptr_t p = (uintptr_t)owner;
	return mix32(svc_hash(af, 0, a, port) ^ (uint32_t)(p >> 4) ^ (uint32_t)(p >> 36));
}

static struct lvs_service *idx_find_addr(const struct lvs_svc_index *x, uint8_t af, uint8_t proto,
					 const union lvs_addr *addr, uint16_t port)
{
	uint32_t i = svc_hash(af, proto, addr, port);

	for (uint32_t n = 0; n <= x->mask; n++, i++) {
		struct lvs_service *svc = __atomic_load_n(&x->slot[i & x->mask], __ATOMIC_ACQUIRE);
		if (!svc)
			return NULL;
		if (svc != TOMB && !svc->c.fwmark && svc->c.port == port && svc->c.af == af &&
		    svc->c.proto == proto && lvs_addr_eq(&svc->c.addr, addr))
			return svc;
	}
	return NULL;
}

static struct lvs_service *idx_find_mark(const struct lvs_svc_index *x, uint8_t af, uint32_t mark)
{
	uint32_t i = fwm_hash(af, mark);

	for (uint32_t n = 0; n <= x->mask; n++, i++) {
		struct lvs_service *svc = __atomic_load_n(&x->slot[i & x->mask], __ATOMIC_ACQUIRE);
		if (!svc)
			return NULL;
		if (svc != TOMB && svc->c.fwmark == mark && svc->c.af == af)
			return svc;
	}
	return NULL;
}

struct lvs_service *lvs_svc_lookup(const struct lvs_snapshot *s, uint8_t af, uint8_t proto,
				   const union lvs_addr *addr, uint16_t port, uint32_t mark)
{
	const struct lvs_svc_index *x = __atomic_load_n(&s->idx, __ATOMIC_ACQUIRE);
	struct lvs_service *svc;

	if (LVS_UNLIKELY(__atomic_load_n(&x->live, __ATOMIC_RELAXED) == 0))
		return NULL;
	if (mark) {
		svc = idx_find_mark(x, af, mark);
		if (svc)
			return svc;
	}
	svc = idx_find_addr(x, af, proto, addr, port);
	if (svc)
		return svc;
	/* A persistent port-0 service catches every port of its address. */
	svc = idx_find_addr(x, af, proto, addr, 0);
	if (svc && (svc->c.flags & LVS_SVC_F_PERSISTENT))
		return svc;
	return NULL;
}

/* ---- the index (control thread writes, workers read) ---- */

static struct lvs_svc_index *idx_new(uint32_t nslots)
{
	struct lvs_svc_index *x = calloc(1, sizeof(*x) + nslots * sizeof(x->slot[0]));

	if (x)
		x->mask = nslots - 1;
	return x;
}

static uint32_t svc_slot_hash(const struct lvs_service *svc)
{
	return conf_hash(&svc->c);
}

/* Place svc in x (not published yet, or the caller owns all slots). */
static void idx_put_raw(struct lvs_svc_index *x, struct lvs_service *svc)
{
	uint32_t i = svc_slot_hash(svc);

	while (x->slot[i & x->mask])
		i++;
	x->slot[i & x->mask] = svc;
	x->used++;
	x->live++;
}

static void free_ptr(void *p)
{
	free(p);
}

/*
 * Make room for `more` insertions without growth during publication: a
 * table more than 3/4 used (tombstones count) is rebuilt at twice the live
 * size, published, and the old one retired.  0 or -ENOMEM (nothing
 * changed).
 */
static int idx_reserve(struct lvs_model *m, uint32_t more)
{
	struct lvs_svc_index *x = m->snap.idx, *nx;
	uint32_t need = x->live + more, n = 16;

	if ((uint64_t)(x->used + more) * 4 <= (uint64_t)(x->mask + 1) * 3)
		return 0;
	while ((uint64_t)n * 3 < (uint64_t)need * 4 + 4 || n < 2 * need)
		n <<= 1;
	nx = idx_new(n);
	if (!nx)
		return -ENOMEM;
	for (uint32_t i = 0; i <= x->mask; i++)
		if (x->slot[i] && x->slot[i] != TOMB)
			idx_put_raw(nx, x->slot[i]);
	__atomic_store_n(&m->snap.idx, nx, __ATOMIC_RELEASE);
	m->defer(m->defer_arg, free_ptr, x);
	return 0;
}

static uint32_t idx_slot_of(const struct lvs_svc_index *x, const struct lvs_service *svc)
{
	uint32_t i = svc_slot_hash(svc);

	for (uint32_t n = 0; n <= x->mask; n++, i++)
		if (x->slot[i & x->mask] == svc)
			return i & x->mask;
	return UINT32_MAX;
}

/* Insert (old == NULL), replace (both) or remove (svc == NULL).  Capacity
 * was reserved.  Workers see the old or the new pointer, never a gap. */
static void idx_set(struct lvs_model *m, struct lvs_service *old, struct lvs_service *svc)
{
	struct lvs_svc_index *x = m->snap.idx;
	uint32_t i;

	if (old) {
		i = idx_slot_of(x, old);
		if (i == UINT32_MAX)
			return; /* cannot happen */
		if (svc) {
			__atomic_store_n(&x->slot[i], svc, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&x->slot[i], TOMB, __ATOMIC_RELEASE);
			__atomic_store_n(&x->live, x->live - 1, __ATOMIC_RELAXED);
		}
		return;
	}
	for (i = svc_slot_hash(svc);; i++) {
		struct lvs_service *cur = x->slot[i & x->mask];
		if (!cur || cur == TOMB) {
			if (!cur)
				x->used++;
			__atomic_store_n(&x->slot[i & x->mask], svc, __ATOMIC_RELEASE);
			__atomic_store_n(&x->live, x->live + 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

/* ---- states ---- */

static void dest_avail_clear(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (__atomic_fetch_and(&ds->flags, ~(uint32_t)LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	    LVS_DEST_F_AVAILABLE) {
		m->ntrash++;
		ds->unref_gen = m->snap.gen;
	}
}

static void dest_avail_set(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (!(__atomic_fetch_or(&ds->flags, LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	      LVS_DEST_F_AVAILABLE) &&
	    m->ntrash)
		m->ntrash--;
}

static void watch_svc(struct lvs_model *m, const struct lvs_svc_state *ss, bool gone)
{
	if (m->watch.svc)
		m->watch.svc(m->watch.arg, ss, gone);
}

static void watch_dest(struct lvs_model *m, const struct lvs_dest_state *ds, bool gone)
{
	if (m->watch.dest)
		m->watch.dest(m->watch.arg, ds, gone);
}

void lvs_model_set_watch(struct lvs_model *m, const struct lvs_model_watch *w)
{
	memset(&m->watch, 0, sizeof(m->watch));
	if (!w)
		return;
	m->watch = *w;
	for (struct lvs_svc_state *ss = m->svc_states; ss; ss = ss->next)
		watch_svc(m, ss, false);
	for (struct lvs_dest_state *ds = m->dest_states; ds; ds = ds->next)
		watch_dest(m, ds, false);
}

static uint64_t pack_xmit(const struct lvs_dest_conf *c)
{
	return (uint64_t)c->fwd | (uint64_t)c->tun_type << 8 | (uint64_t)c->tun_flags << 16 |
	       (uint64_t)c->tun_port << 32;
}

/* ---- versions ---- */

static void version_free(void *p)
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
		n += md->health != LVS_DEST_DOWN;
	nv->dests = calloc(n ? n : 1, sizeof(*nv->dests));
	if (!nv->dests)
		goto fail;
	if (n && !(block = calloc(n, sizeof(*block))))
		goto fail;
	for (struct mdest *md = ms->dests; md; md = md->next) {
		struct lvs_dest *d;
		if (md->health == LVS_DEST_DOWN)
			continue;
		d = &block[i];
		d->c = md->c;
		if (md->health == LVS_DEST_QUIESCED)
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
	version_free(nv);
	return NULL;
}

/* ---- the creation-order list of current versions ---- */

static int svcs_reserve(struct lvs_model *m, uint32_t more)
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

static void mark_dirty(struct lvs_model *m, struct msvc *ms, uint8_t chg, struct mdest *md,
		       const struct lvs_dest_conf *gone)
{
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

static void mdest_free_all(struct msvc *ms)
{
	struct mdest *md, *nx;

	for (md = ms->dests; md; md = nx) {
		nx = md->next;
		free(md);
	}
}

static void undo_all(struct lvs_model *m);

/* Empty the dirty list; after a publication (published) the records of
 * deleted services go too. */
static void dirty_clear(struct lvs_model *m, bool published)
{
	struct msvc *ms, *nx;

	for (ms = m->dirty; ms; ms = nx) {
		nx = ms->dirty_next;
		ms->dirty = false;
		ms->dirty_next = NULL;
		ms->chg = CHG_NONE;
		ms->chg_dest = NULL;
		ms->nv = NULL;
		if (published && ms->deleted) {
			mdest_free_all(ms);
			free(ms);
		}
	}
	m->dirty = NULL;
}

/* A destination state leaves the configuration (deleted or its service
 * deleted); it stays until gc finds it unused. */
static void dest_state_unconf(struct lvs_model *m, struct lvs_dest_state *ds)
{
	__atomic_and_fetch(&ds->flags, ~(uint32_t)LVS_DEST_F_INCONF, __ATOMIC_RELAXED);
	(void)m;
}

/*
 * Publish every dirty service: build all new versions first (any failure
 * undoes the open operation or batch and publishes nothing), then swap
 * them into the index, point the destination states at their new entries,
 * bring the schedulers up to date with counter changes made meanwhile,
 * retire the old versions and free what was deleted.  0 or -errno.
 */
static int publish(struct lvs_model *m)
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
	if ((err = idx_reserve(m, adds)) || (err = svcs_reserve(m, adds)))
		goto fail;
	/* 1: build */
	for (ms = m->dirty; ms; ms = ms->dirty_next) {
		struct lvs_service *nv;
		if (ms->deleted)
			continue;
		nv = version_build(m, ms, &err);
		if (!nv)
			goto fail;
		ms->nv = nv;
	}
	m->snap.gen++;
	/* 2: removals first, so a service deleted and added again in one
	 * batch has one slot */
	for (ms = m->dirty; ms; ms = ms->dirty_next) {
		struct lvs_service *old = ms->pub;
		if (!ms->deleted)
			continue;
		if (old) {
			uint32_t p = svcs_pos(m, old->order);
			idx_set(m, old, NULL);
			memmove(&m->snap.svcs[p], &m->snap.svcs[p + 1],
				(m->snap.nsvcs - p - 1) * sizeof(m->snap.svcs[0]));
			m->snap.nsvcs--;
			for (uint32_t j = 0; j < old->ndests; j++) {
				struct lvs_dest_state *ds = old->dests[j]->st;
				__atomic_store_n(&ds->cur, NULL, __ATOMIC_RELEASE);
				dest_avail_clear(m, ds);
			}
			m->defer(m->defer_arg, version_free, old);
		}
		ms->st->in_config = false;
		ms->st->unref_gen = m->snap.gen;
		for (struct mdest *md = ms->dests; md; md = md->next) {
			dest_state_unconf(m, md->st);
			dest_avail_clear(m, md->st);
			watch_dest(m, md->st, false);
		}
		watch_svc(m, ms->st, false);
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
			__atomic_store_n(&d->st->xmit, pack_xmit(&d->c), __ATOMIC_RELAXED);
			__atomic_store_n(&d->st->cur, d, __ATOMIC_RELEASE);
			dest_avail_set(m, d->st);
		}
		idx_set(m, old, nv);
		if (old) {
			m->snap.svcs[svcs_pos(m, old->order)] = nv;
			/* destinations the new version left out (deleted, down) */
			for (uint32_t j = 0; j < old->ndests; j++) {
				struct lvs_dest_state *ds = old->dests[j]->st;
				if (__atomic_load_n(&ds->cur, __ATOMIC_RELAXED) == old->dests[j]) {
					__atomic_store_n(&ds->cur, NULL, __ATOMIC_RELEASE);
					dest_avail_clear(m, ds);
				}
				watch_dest(m, ds, false);
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
			watch_dest(m, nv->dests[j]->st, false);
		for (struct mdest *md = ms->dests; md; md = md->next)
			if (md->health == LVS_DEST_DOWN)
				watch_dest(m, md->st, false);
		watch_svc(m, ms->st, false);
		if (old)
			m->defer(m->defer_arg, version_free, old);
	}
	/* the dirty list is newest first: appended services go back into
	 * creation order (all of them are newer than the ones before) */
	if (m->snap.nsvcs - tail > 1)
		qsort(&m->snap.svcs[tail], m->snap.nsvcs - tail, sizeof(m->snap.svcs[0]), cmp_order);
	/* 4: forget the deleted records, clear the marks */
	dirty_clear(m, true);
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
		version_free(ms->nv);
		ms->nv = NULL;
	}
	undo_all(m);
	return err;
}

void lvs_svc_conf_defaults(struct lvs_svc_conf *c)
{
	if (!c->sched[0])
		snprintf(c->sched, sizeof(c->sched), "%s", LVS_DEF_SCHED);
	if (c->flags & LVS_SVC_F_PERSISTENT) {
		if (!c->timeout)
			c->timeout = LVS_DEF_PERSIST_TIMEOUT;
	}
	if (!c->netmask)
		c->netmask = c->af == AF_INET6 ? 128 : 0xffffffffU;
}

void lvs_dest_conf_defaults(struct lvs_dest_conf *d)
{
	memset(d, 0, sizeof(*d));
	d->fwd = LVS_FWD_ROUTE;
	d->weight = 1;
}

/* ---- validation ---- */

static int svc_validate(const struct lvs_svc_conf *c)
{
	if (c->af != AF_INET && c->af != AF_INET6)
		return -EAFNOSUPPORT;
	if (!c->fwmark) {
		if (c->proto != IPPROTO_TCP && c->proto != IPPROTO_UDP && c->proto != IPPROTO_SCTP)
			return -EINVAL;
		if (lvs_addr_is_zero(&c->addr))
			return -EINVAL;
		if (c->af == AF_INET && (c->addr.w[1] | c->addr.w[2] | c->addr.w[3]))
			return -EINVAL;
		/* Port 0 is a catch-all only for persistent services. */
		if (c->port == 0 && !(c->flags & LVS_SVC_F_PERSISTENT))
			return -EINVAL;
	}
	if (!lvs_sched_find(c->sched))
		return -ENOENT;
	if (c->af == AF_INET6 && (c->netmask < 1 || c->netmask > 128))
		return -EINVAL;
	return 0;
}

static int dest_validate(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *d)
{
	if (d->af != AF_INET && d->af != AF_INET6)
		return -EAFNOSUPPORT;
	if (d->weight < 0)
		return -ERANGE;
	if (d->l_threshold > d->u_threshold && d->u_threshold)
		return -ERANGE;
	if (lvs_addr_is_zero(&d->addr))
		return -EINVAL;
	if (d->af == AF_INET && (d->addr.w[1] | d->addr.w[2] | d->addr.w[3]))
		return -EINVAL;
	if (d->fwd != LVS_FWD_MASQ && d->fwd != LVS_FWD_ROUTE && d->fwd != LVS_FWD_TUNNEL)
		return -EINVAL;
	/* Mixed families only through a tunnel (kernel rule). */
	if (d->af != svc->af && d->fwd != LVS_FWD_TUNNEL)
		return -EINVAL;
	if (d->fwd == LVS_FWD_TUNNEL) {
		if (d->tun_type > LVS_TUN_GRE)
			return -EINVAL;
		if (d->tun_type == LVS_TUN_GUE && d->tun_port == 0)
			return -EINVAL;
		if (d->tun_type == LVS_TUN_IPIP && d->tun_flags)
			return -EINVAL;
	}
	return 0;
}

/* The dest as stored: DR and TUN forward to the service's port. */
static void dest_normalize(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *in,
			   struct lvs_dest_conf *out)
{
	*out = *in;
	if (out->fwd != LVS_FWD_MASQ || out->port == 0)
		out->port = svc->port;
	if (out->fwd != LVS_FWD_TUNNEL) {
		out->tun_type = 0;
		out->tun_port = 0;
		out->tun_flags = 0;
	}
}

/* ---- undo log ---- */

static struct undo *undo_push(struct lvs_model *m, uint8_t kind, struct msvc *ms,
			      struct mdest *md)
{
	struct undo *u;

	if (m->nundo == m->capundo) {
		size_t nc = m->capundo ? m->capundo * 2 : 16;
		struct undo *x = realloc(m->undo, nc * sizeof(*x));
		if (!x)
			return NULL;
		m->undo = x;
		m->capundo = nc;
	}
	u = &m->undo[m->nundo++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->ms = ms;
	u->md = md;
	return u;
}

static void mdest_link_after(struct msvc *ms, struct mdest *md, struct mdest *prev)
{
	md->prev = prev;
	md->next = prev ? prev->next : ms->dests;
	if (md->next)
		md->next->prev = md;
	if (prev)
		prev->next = md;
	else
		ms->dests = md;
	ms->ndests++;
}

static void mdest_unlink(struct msvc *ms, struct mdest *md)
{
	if (md->prev)
		md->prev->next = md->next;
	else
		ms->dests = md->next;
	if (md->next)
		md->next->prev = md->prev;
	ms->ndests--;
}

/* Undo every change of the open operation or batch, newest first; the
 * configuration is then what is published. */
static void undo_all(struct lvs_model *m)
{
	dirty_clear(m, false);
	while (m->nundo) {
		struct undo *u = &m->undo[--m->nundo];
		struct msvc *s = u->ms;
		struct mdest *md = u->md;

		switch (u->kind) {
		case U_SVC_ADD:
			ht_remove(&m->smap, &s->hn);
			free(s); /* its destinations were undone before */
			break;
		case U_SVC_DEL:
			s->deleted = false;
			ht_insert(&m->smap, &s->hn, s->hn.hash);
			for (md = s->dests; md; md = md->next)
				ht_insert(&m->dmap, &md->hn, md->hn.hash);
			break;
		case U_SVC_EDIT:
			s->c = u->old.sc;
			break;
		case U_DEST_ADD:
			mdest_unlink(s, md);
			ht_remove(&m->dmap, &md->hn);
			__atomic_and_fetch(&md->st->flags, ~(uint32_t)LVS_DEST_F_INCONF,
					   __ATOMIC_RELAXED);
			if (md->st->unref_gen == UINT64_MAX) /* never published */
				md->st->unref_gen = m->snap.gen;
			free(md);
			break;
		case U_DEST_DEL:
			mdest_link_after(s, md, u->md_prev);
			ht_insert(&m->dmap, &md->hn, md->hn.hash);
			__atomic_or_fetch(&md->st->flags, LVS_DEST_F_INCONF, __ATOMIC_RELAXED);
			break;
		case U_DEST_EDIT:
			md->c = u->old.d.dc;
			md->health = u->old.d.health;
			memcpy(md->reason, u->old.d.reason, sizeof(md->reason));
			break;
		case U_TIMEOUTS:
			m->snap.timeouts = u->old.to;
			break;
		}
	}
	m->timeouts_dirty = false;
}

/* Finish an operation: publish now, or later with the batch. */
static int op_done(struct lvs_model *m)
{
	return publish(m);
}

/* ---- model lifecycle ---- */

static void defer_now(void *arg, void (*fn)(void *), void *obj)
{
	(void)arg;
	fn(obj);
}

struct lvs_model *lvs_model_new_workers(unsigned nworkers)
{
	struct lvs_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nstats = nworkers < 1 ? 1 : nworkers > LVS_MAX_WORKERS ? LVS_MAX_WORKERS : nworkers;
	m->snap.timeouts.tcp = 900;
	m->snap.timeouts.tcp_fin = 120;
	m->snap.timeouts.udp = 300;
	m->snap.gen = 1;
	m->defer = defer_now;
	m->next_svc_id = 1;
	m->next_dest_id = 1;
	m->snap.idx = idx_new(16);
	if (!m->snap.idx || ht_init(&m->smap) || ht_init(&m->dmap) || ht_init(&m->ssmap) ||
	    ht_init(&m->dsmap) || svcs_reserve(m, 1)) {
		lvs_model_free(m);
		return NULL;
	}
	return m;
}

struct lvs_model *lvs_model_new(void)
{
	return lvs_model_new_workers(LVS_MAX_WORKERS);
}

void lvs_model_free(struct lvs_model *m)
{
	if (!m)
		return;
	if (m->in_batch)
		lvs_model_abort(m);
	for (uint32_t i = 0; i < m->snap.nsvcs; i++)
		version_free(m->snap.svcs[i]);
	for (uint32_t i = 0; m->smap.b && i <= m->smap.mask; i++) {
		struct hnode *n = m->smap.b[i], *nx;
		for (; n; n = nx) {
			struct msvc *ms = MODEL_CONTAINER(n, struct msvc, hn);
			nx = n->next;
			mdest_free_all(ms);
			free(ms);
		}
	}
	for (struct lvs_svc_state *ss = m->svc_states, *nx; ss; ss = nx) {
		nx = ss->next;
		free(ss);
	}
	for (struct lvs_dest_state *ds = m->dest_states, *nx; ds; ds = nx) {
		nx = ds->next;
		free(ds);
	}
	free(m->snap.idx);
	free(m->snap.svcs);
	free(m->smap.b);
	free(m->dmap.b);
	free(m->ssmap.b);
	free(m->dsmap.b);
	free(m->undo);
	free(m);
}

const struct lvs_snapshot *lvs_model_snapshot(const struct lvs_model *m)
{
	return &m->snap;
}

uint64_t lvs_model_gen(const struct lvs_model *m)
{
	return m->snap.gen;
}

void lvs_model_set_retire(struct lvs_model *m, void (*defer)(void *, void (*)(void *), void *),
			  void *arg)
{
	m->defer = defer ? defer : defer_now;
	m->defer_arg = arg;
}

int lvs_model_begin(struct lvs_model *m)
{
	if (m->in_batch)
		return -EBUSY;
	m->in_batch = true;
	m->saved_next_order = m->next_order;
	return 0;
}

void lvs_model_abort(struct lvs_model *m)
{
	if (!m->in_batch)
		return;
	undo_all(m);
	m->next_order = m->saved_next_order;
	m->in_batch = false;
}

int lvs_model_commit(struct lvs_model *m)
{
	int err;

	if (!m->in_batch)
		return 0;
	m->in_batch = false;
	err = publish(m);
	if (err)
		m->next_order = m->saved_next_order; /* publish undid the rest */
	return err;
}

/* ---- finding records and states ---- */

static struct msvc *svc_find(const struct lvs_model *m, const struct lvs_svc_key *k)
{
	uint32_t h = key_hash(k);

	for (struct hnode *n = ht_first(&m->smap, h); n; n = n->next) {
		struct msvc *ms = MODEL_CONTAINER(n, struct msvc, hn);
		if (n->hash == h && conf_key_eq(&ms->c, k))
			return ms;
	}
	return NULL;
}

static struct mdest *dest_find(const struct lvs_model *m, const struct msvc *ms,
			       const struct lvs_dest_conf *d)
{
	uint32_t h = dest_hash(ms, d->af, &d->addr, d->port);

	for (struct hnode *n = ht_first(&m->dmap, h); n; n = n->next) {
		struct mdest *md = MODEL_CONTAINER(n, struct mdest, hn);
		if (n->hash == h && md->svc == ms && md->c.port == d->port && md->c.af == d->af &&
		    lvs_addr_eq(&md->c.addr, &d->addr))
			return md;
	}
	return NULL;
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

static uint32_t dstate_hash(const struct lvs_svc_state *ss, uint8_t af, const union lvs_addr *a,
			    uint16_t port);

static uint32_t ss_hash(const void *obj)
{
	return key_hash(&((const struct lvs_svc_state *)obj)->key);
}

static uint32_t ds_hash(const void *obj)
{
	const struct lvs_dest_state *x = obj;

	return dstate_hash(x->svc, x->af, &x->addr, x->port);
}

/* The service state for a service being added: one that left the
 * configuration (its counters and connections continue), or a new one. */
static struct lvs_svc_state *svc_state_get(struct lvs_model *m, const struct lvs_svc_conf *c)
{
	struct lvs_svc_state *st;
	struct lvs_svc_key k;
	uint32_t h;

	lvs_svc_conf_key(c, &k);
	h = key_hash(&k);
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
	chain_grow(&m->ssmap, offsetof(struct lvs_svc_state, hnext), ss_hash);
	st->hnext = (void *)m->ssmap.b[h & m->ssmap.mask];
	m->ssmap.b[h & m->ssmap.mask] = (void *)st;
	m->ssmap.n++;
	return st;
}

static uint32_t dstate_hash(const struct lvs_svc_state *ss, uint8_t af, const union lvs_addr *a,
			    uint16_t port)
{
	return dest_hash(ss, af, a, port);
}

/* A destination state for a destination being added: the trash entry of
 * the same service and identity, revived (the kernel's trash), or new. */
static struct lvs_dest_state *dest_state_get(struct lvs_model *m, struct msvc *ms,
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
	ds->xmit = pack_xmit(d);
	ms->st->ndstates++;
	ds->next = m->dest_states;
	m->dest_states = ds;
	chain_grow(&m->dsmap, offsetof(struct lvs_dest_state, hnext), ds_hash);
	ds->hnext = (void *)m->dsmap.b[h & m->dsmap.mask];
	m->dsmap.b[h & m->dsmap.mask] = (void *)ds;
	m->dsmap.n++;
	return ds;
}

/* ---- operations ---- */

int lvs_model_add_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf;
	struct lvs_svc_key k;
	struct msvc *ms;
	int err;

	lvs_svc_conf_defaults(&c);
	err = svc_validate(&c);
	if (err)
		return err;
	if (c.fwmark) {
		memset(&c.addr, 0, sizeof(c.addr));
		c.proto = 0;
		c.port = 0;
	}
	lvs_svc_conf_key(&c, &k);
	if (svc_find(m, &k))
		return -EEXIST;
	ms = calloc(1, sizeof(*ms));
	if (!ms || !undo_push(m, U_SVC_ADD, ms, NULL)) {
		free(ms);
		return -ENOMEM;
	}
	ms->c = c;
	ms->st = svc_state_get(m, &ms->c);
	if (!ms->st) {
		m->nundo--;
		free(ms);
		return -ENOMEM;
	}
	ms->order = m->next_order++;
	ht_insert(&m->smap, &ms->hn, key_hash(&k));
	mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return op_done(m);
}

int lvs_model_edit_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf;
	struct lvs_svc_key k;
	struct msvc *ms;
	struct undo *u;
	int err;

	lvs_svc_conf_defaults(&c);
	lvs_svc_conf_key(&c, &k);
	ms = svc_find(m, &k);
	if (!ms)
		return -ESRCH;
	err = svc_validate(&c);
	if (err)
		return err;
	u = undo_push(m, U_SVC_EDIT, ms, NULL);
	if (!u)
		return -ENOMEM;
	u->old.sc = ms->c;
	ms->c.flags = c.flags;
	ms->c.timeout = c.timeout;
	ms->c.netmask = c.netmask;
	memcpy(ms->c.sched, c.sched, sizeof(c.sched));
	mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return op_done(m);
}

static int svc_delete(struct lvs_model *m, struct msvc *ms)
{
	if (!undo_push(m, U_SVC_DEL, ms, NULL))
		return -ENOMEM;
	ht_remove(&m->smap, &ms->hn);
	for (struct mdest *md = ms->dests; md; md = md->next)
		ht_remove(&m->dmap, &md->hn); /* the records go with the service */
	ms->deleted = true;
	mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return 0;
}

int lvs_model_del_service(struct lvs_model *m, const struct lvs_svc_key *k)
{
	struct msvc *ms = svc_find(m, k);
	int err;

	if (!ms)
		return -ESRCH;
	err = svc_delete(m, ms);
	return err ? err : op_done(m);
}

int lvs_model_flush(struct lvs_model *m)
{
	int err = 0;

	for (uint32_t i = 0; i <= m->smap.mask && !err; i++) {
		struct hnode *n = m->smap.b[i], *nx;
		for (; n && !err; n = nx) {
			nx = n->next; /* svc_delete unlinks n */
			err = svc_delete(m, MODEL_CONTAINER(n, struct msvc, hn));
		}
	}
	if (err) {
		if (!m->in_batch)
			undo_all(m);
		return err;
	}
	return op_done(m);
}

int lvs_model_add_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	{
		int err = dest_validate(&ms->c, conf);
		if (err)
			return err;
	}
	dest_normalize(&ms->c, conf, &d);
	if (dest_find(m, ms, &d))
		return -EEXIST;
	md = calloc(1, sizeof(*md));
	if (!md || !undo_push(m, U_DEST_ADD, ms, md)) {
		free(md);
		return -ENOMEM;
	}
	md->c = d;
	md->svc = ms;
	md->st = dest_state_get(m, ms, &d);
	if (!md->st) {
		m->nundo--;
		free(md);
		return -ENOMEM;
	}
	/* The kernel adds at the head of the list. */
	mdest_link_after(ms, md, NULL);
	ht_insert(&m->dmap, &md->hn, dest_hash(ms, d.af, &d.addr, d.port));
	mark_dirty(m, ms, CHG_ADD, md, NULL);
	return op_done(m);
}

/* Record md's configuration for undo before it changes. */
static int dest_edit_begin(struct lvs_model *m, struct msvc *ms, struct mdest *md)
{
	struct undo *u = undo_push(m, U_DEST_EDIT, ms, md);

	if (!u)
		return -ENOMEM;
	u->old.d.dc = md->c;
	u->old.d.health = md->health;
	memcpy(u->old.d.reason, md->reason, sizeof(md->reason));
	return 0;
}

int lvs_model_edit_dest(struct lvs_model *m, const struct lvs_svc_key *k,
			const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md;
	int err;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	err = dest_validate(&ms->c, conf);
	if (err)
		return err;
	dest_normalize(&ms->c, conf, &d);
	md = dest_find(m, ms, &d);
	if (!md)
		return -ENOENT;
	if ((err = dest_edit_begin(m, ms, md)))
		return err;
	d.owner = md->c.owner; /* the owner stays who added it */
	md->c = d;
	mark_dirty(m, ms, CHG_UPD, md, NULL);
	return op_done(m);
}

/* The destination conf names within ms: by its own port, or as DR/TUN
 * destinations are stored, with the service's port. */
static struct mdest *dest_find_named(const struct lvs_model *m, const struct msvc *ms,
				     const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d = *conf;
	struct mdest *md;

	if (d.fwd != LVS_FWD_MASQ || d.port == 0)
		d.port = ms->c.port;
	md = dest_find(m, ms, &d);
	if (!md && d.port != conf->port) {
		d.port = conf->port; /* a NAT destination named with its own port */
		md = dest_find(m, ms, &d);
	}
	return md;
}

int lvs_model_del_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	struct msvc *ms;
	struct mdest *md;
	struct undo *u;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	md = dest_find_named(m, ms, conf);
	if (!md)
		return -ENOENT;
	u = undo_push(m, U_DEST_DEL, ms, md);
	if (!u)
		return -ENOMEM;
	u->md_prev = md->prev;
	mdest_unlink(ms, md);
	ht_remove(&m->dmap, &md->hn);
	dest_state_unconf(m, md->st);
	mark_dirty(m, ms, CHG_DEL, NULL, &md->c);
	return op_done(m);
}

int lvs_model_set_dest_health(struct lvs_model *m, const struct lvs_svc_key *k,
			      const struct lvs_dest_conf *d, enum lvs_dest_health h,
			      const char *reason)
{
	struct msvc *ms;
	struct mdest *md;
	uint8_t was;
	int err;

	if (h != LVS_DEST_UP && h != LVS_DEST_QUIESCED && h != LVS_DEST_DOWN)
		return -EINVAL;
	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	md = dest_find_named(m, ms, d);
	if (!md)
		return -ENOENT;
	if (md->health == h)
		return 0;
	if ((err = dest_edit_begin(m, ms, md)))
		return err;
	was = md->health;
	md->health = (uint8_t)h;
	snprintf(md->reason, sizeof(md->reason), "%s", reason ? reason : "");
	/* up <-> quiesced is a weight change; to or from down the destination
	 * leaves or joins the list */
	if (was == LVS_DEST_DOWN)
		mark_dirty(m, ms, CHG_ADD, md, NULL);
	else if (h == LVS_DEST_DOWN)
		mark_dirty(m, ms, CHG_DEL, NULL, &md->c);
	else
		mark_dirty(m, ms, CHG_UPD, md, NULL);
	return op_done(m);
}

int lvs_model_get_dest(const struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *d, struct lvs_dest_conf *out,
		       enum lvs_dest_health *h, char *reason, size_t reason_len)
{
	const struct msvc *ms = svc_find(m, k);
	const struct mdest *md;

	if (!ms)
		return -ESRCH;
	md = dest_find_named(m, ms, d);
	if (!md)
		return -ENOENT;
	if (out)
		*out = md->c;
	if (h)
		*h = md->health;
	if (reason && reason_len)
		snprintf(reason, reason_len, "%s", md->reason);
	return 0;
}

int lvs_model_get_svc_owner(const struct lvs_model *m, const struct lvs_svc_key *k)
{
	const struct msvc *ms = svc_find(m, k);

	return ms ? ms->c.owner : -ESRCH;
}

int lvs_model_zero(struct lvs_model *m, const struct lvs_svc_key *k)
{
	const struct lvs_snapshot *s = &m->snap;

	if (k && !svc_find(m, k))
		return -ESRCH;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		if (k && !conf_key_eq(&svc->c, k))
			continue;
		lvs_counters_sum(svc->st->stats, svc->st->nstats, &svc->st->zbase);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct lvs_dest_state *ds = svc->dests[j]->st;
			lvs_counters_sum(ds->stats, ds->nstats, &ds->zbase);
		}
	}
	return 0;
}

int lvs_model_set_timeouts(struct lvs_model *m, const struct lvs_timeouts *t)
{
	struct undo *u = undo_push(m, U_TIMEOUTS, NULL, NULL);

	if (!u)
		return -ENOMEM;
	u->old.to = m->snap.timeouts;
	if (t->tcp)
		m->snap.timeouts.tcp = t->tcp;
	if (t->tcp_fin)
		m->snap.timeouts.tcp_fin = t->tcp_fin;
	if (t->udp)
		m->snap.timeouts.udp = t->udp;
	m->timeouts_dirty = true;
	return op_done(m);
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

static void dsmap_remove(struct lvs_model *m, struct lvs_dest_state *ds)
{
	uint32_t h = dstate_hash(ds->svc, ds->af, &ds->addr, ds->port) & m->dsmap.mask;

	for (struct lvs_dest_state **pp = (void *)&m->dsmap.b[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == ds) {
			*pp = ds->hnext;
			m->dsmap.n--;
			return;
		}
}

static void ssmap_remove(struct lvs_model *m, struct lvs_svc_state *ss)
{
	uint32_t h = key_hash(&ss->key) & m->ssmap.mask;

	for (struct lvs_svc_state **pp = (void *)&m->ssmap.b[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == ss) {
			*pp = ss->hnext;
			m->ssmap.n--;
			return;
		}
}

void lvs_model_gc_upto(struct lvs_model *m, uint64_t safe_gen)
{
	struct lvs_dest_state **pp = &m->dest_states, *ds;
	struct lvs_svc_state **sp = &m->svc_states, *ss;

	if (m->in_batch)
		return;
	m->ntrash = 0;
	while ((ds = *pp)) {
		uint32_t fl = __atomic_load_n(&ds->flags, __ATOMIC_RELAXED);
		if (!(fl & (LVS_DEST_F_AVAILABLE | LVS_DEST_F_INCONF)) && !ds->cur &&
		    ds->unref_gen < safe_gen && ds->activeconns == 0 && ds->inactconns == 0 &&
		    ds->persistconns == 0) {
			watch_dest(m, ds, true);
			*pp = ds->next;
			dsmap_remove(m, ds);
			ds->svc->ndstates--;
			if (!ds->svc->ndstates)
				ds->svc->unref_gen = m->snap.gen;
			free(ds);
			continue;
		}
		if (!(fl & LVS_DEST_F_AVAILABLE))
			m->ntrash++;
		pp = &ds->next;
	}
	while ((ss = *sp)) {
		if (!ss->in_config && !ss->ndstates && ss->unref_gen < safe_gen) {
			watch_svc(m, ss, true);
			*sp = ss->next;
			ssmap_remove(m, ss);
			free(ss);
		} else {
			sp = &ss->next;
		}
	}
}

void lvs_model_gc(struct lvs_model *m)
{
	lvs_model_gc_upto(m, m->snap.gen + 1);
}

/* ---- messages ---- */

const char *lvs_model_strerror(enum lvs_model_op op, int err)
{
	if (err < 0)
		err = -err;
	switch (op) {
	case LVS_OP_ADD_SERVICE:
		if (err == EEXIST)
			return "Service already exists";
		if (err == ENOENT)
			return "Scheduler or persistence engine not found";
		break;
	case LVS_OP_EDIT_SERVICE:
		if (err == ESRCH)
			return "No such service";
		if (err == ENOENT)
			return "Scheduler or persistence engine not found";
		break;
	case LVS_OP_DEL_SERVICE:
	case LVS_OP_ZERO:
		if (err == ESRCH)
			return "No such service";
		break;
	case LVS_OP_ADD_DEST:
		if (err == ESRCH)
			return "Service not defined";
		if (err == EEXIST)
			return "Destination already exists";
		break;
	case LVS_OP_EDIT_DEST:
	case LVS_OP_DEL_DEST:
		if (err == ESRCH)
			return "Service not defined";
		if (err == ENOENT)
			return "No such destination";
		break;
	default:
		break;
	}
	switch (err) {
	case EPERM:
		return "Permission denied (you must be root)";
	case EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
	case ENOPROTOOPT:
		return "Protocol not available";
	case ENOMEM:
		return "Memory allocation problem";
	case EOPNOTSUPP:
		return "Operation not supported with IPv6";
	case EAFNOSUPPORT:
		return "Operation not supported with specified address family";
	case EMSGSIZE:
		return "Module is wrong version";
	default:
		return strerror(err);
	}
}
