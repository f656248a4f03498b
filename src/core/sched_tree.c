/*
 * sched_tree.c - tournament tree, max tree, Fenwick tree and locality cache
 * used by the schedulers (see sched_tree.h for why they exist).
 *
 * The tournament tree reproduces the kernel's linear scans exactly: a leaf
 * beats another when its class is lower, or the class is equal and its
 * ratio is strictly smaller, or everything is equal and it comes first in
 * the list.  Because every left subtree covers lower list positions than its
 * right sibling, "right wins only if strictly better" gives the first
 * minimum, like `if (doh * lw < loh * dw) least = dest` walking the list.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t s = 1;
	while (s < n)
		s <<= 1;
	return s;
}

/* ---- tournament tree ---- */

/* Does leaf b (right) beat leaf a (left)? */
static inline bool tt_beats(const struct lvs_tt_key *b, const struct lvs_tt_key *a)
{
	if (b->cls != a->cls)
		return b->cls < a->cls;
	if (b->cls == LVS_TT_OFF)
		return false;
	return lvs_ratio_lt(b->num, b->den, a->num, a->den);
}

static inline uint32_t tt_match(const struct lvs_ttree *t, uint32_t l, uint32_t r)
{
	return tt_beats(&t->key[r], &t->key[l]) ? r : l;
}

int lvs_ttree_init(struct lvs_ttree *t, uint32_t n)
{
	t->n = n;
	t->size = pow2_at_least(n ? n : 1);
	t->node = calloc(2 * (size_t)t->size, sizeof(*t->node));
	t->key = calloc(t->size, sizeof(*t->key));
	if (!t->node || !t->key) {
		lvs_ttree_free(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->size; i++) {
		t->key[i].cls = LVS_TT_OFF;
		t->node[t->size + i] = i;
	}
	lvs_ttree_rebuild(t);
	return 0;
}

void lvs_ttree_free(struct lvs_ttree *t)
{
	free(t->node);
	free(t->key);
	t->node = NULL;
	t->key = NULL;
}

void lvs_ttree_load(struct lvs_ttree *t, uint32_t i, const struct lvs_tt_key *k)
{
	if (i < t->n)
		t->key[i] = *k;
}

void lvs_ttree_rebuild(struct lvs_ttree *t)
{
	for (uint32_t j = t->size - 1; j >= 1; j--)
		t->node[j] = tt_match(t, t->node[2 * j], t->node[2 * j + 1]);
}

void lvs_ttree_set(struct lvs_ttree *t, uint32_t i, const struct lvs_tt_key *k)
{
	struct lvs_tt_key *cur;

	if (i >= t->n)
		return;
	cur = &t->key[i];
	if (cur->cls == k->cls && cur->num == k->num && cur->den == k->den)
		return;
	*cur = *k;
	for (uint32_t j = (t->size + i) >> 1; j >= 1; j >>= 1)
		t->node[j] = tt_match(t, t->node[2 * j], t->node[2 * j + 1]);
}

/* ---- generic least-cost scheduler ---- */

int lvs_tsched_init(struct lvs_service *svc, lvs_tt_keyfn key)
{
	struct lvs_tsched *s = calloc(1, sizeof(*s));
	struct lvs_tt_key k;

	if (!s)
		return -ENOMEM;
	if (lvs_ttree_init(&s->t, svc->ndests)) {
		free(s);
		return -ENOMEM;
	}
	s->key = key;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		key(svc->dests[i], &k);
		lvs_ttree_load(&s->t, i, &k);
	}
	lvs_ttree_rebuild(&s->t);
	svc->sched_data = s;
	return 0;
}

void lvs_tsched_done(struct lvs_service *svc)
{
	struct lvs_tsched *s = svc->sched_data;

	if (!s)
		return;
	lvs_ttree_free(&s->t);
	free(s);
	svc->sched_data = NULL;
}

struct lvs_dest *lvs_tsched_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                 lvs_time_t now)
{
	struct lvs_tsched *s = svc->sched_data;
	uint32_t w;

	(void)pi;
	(void)now;
	if (LVS_UNLIKELY(!s))
		return NULL;
	w = lvs_ttree_winner(&s->t);
	return w == LVS_IDX_NONE ? NULL : svc->dests[w];
}

void lvs_tsched_changed(struct lvs_service *svc, struct lvs_dest *d)
{
	struct lvs_tsched *s = svc->sched_data;
	struct lvs_tt_key k;

	if (LVS_UNLIKELY(!s || d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	s->key(d, &k);
	lvs_ttree_set(&s->t, d->pos, &k);
}

/* ---- max tree ---- */

int lvs_mtree_init(struct lvs_mtree *t, uint32_t n)
{
	t->n = n;
	t->size = pow2_at_least(n ? n : 1);
	t->mx = calloc(2 * (size_t)t->size, sizeof(*t->mx));
	return t->mx ? 0 : -ENOMEM;
}

void lvs_mtree_free(struct lvs_mtree *t)
{
	free(t->mx);
	t->mx = NULL;
}

void lvs_mtree_set(struct lvs_mtree *t, uint32_t i, uint64_t v)
{
	uint32_t j;

	if (i >= t->n)
		return;
	j = t->size + i;
	if (t->mx[j] == v)
		return;
	t->mx[j] = v;
	for (j >>= 1; j >= 1; j >>= 1) {
		uint64_t a = t->mx[2 * j], b = t->mx[2 * j + 1];
		uint64_t m = a > b ? a : b;
		if (t->mx[j] == m)
			break; /* ancestors unchanged too */
		t->mx[j] = m;
	}
}

uint32_t lvs_mtree_find(const struct lvs_mtree *t, uint32_t from, uint64_t thr)
{
	uint32_t j;

	if (thr == 0)
		thr = 1; /* padding leaves (0) must never match */
	if (from >= t->n)
		return LVS_IDX_NONE;
	j = t->size + from;
	/* Walk the nodes covering [from, size) left to right: climb past right
	 * children, step to the right sibling, until one holds a match. */
	while (t->mx[j] < thr) {
		while (j & 1) {
			j >>= 1;
			if (j == 0)
				return LVS_IDX_NONE;
		}
		j++;
	}
	while (j < t->size)
		j = t->mx[2 * j] >= thr ? 2 * j : 2 * j + 1;
	return j - t->size;
}

/* ---- Fenwick tree ---- */

int lvs_fenwick_init(struct lvs_fenwick *f, uint32_t n)
{
	f->n = n;
	f->top = n ? 1 : 0;
	while (f->top && (uint64_t)f->top * 2 <= n)
		f->top *= 2;
	f->s = calloc((size_t)n + 1, sizeof(*f->s));
	return f->s ? 0 : -ENOMEM;
}

void lvs_fenwick_free(struct lvs_fenwick *f)
{
	free(f->s);
	f->s = NULL;
}

void lvs_fenwick_add(struct lvs_fenwick *f, uint32_t i, int64_t delta)
{
	/* Unsigned wrap-around makes negative deltas work. */
	for (uint32_t k = i + 1; k <= f->n; k += k & -k)
		f->s[k] += (uint64_t)delta;
}

uint32_t lvs_fenwick_lower_bound(const struct lvs_fenwick *f, uint64_t target)
{
	uint32_t pos = 0; /* largest 1-based prefix known to sum below target */

	for (uint32_t step = f->top; step; step >>= 1) {
		uint32_t nx = pos + step;
		if (nx <= f->n && f->s[nx] < target) {
			pos = nx;
			target -= f->s[nx];
		}
	}
	return pos < f->n ? pos : LVS_IDX_NONE; /* 0-based index of pos+1 */
}

/* ---- locality cache ---- */

static inline uint32_t lc_bucket(const union lvs_addr *a)
{
	return lvs_hash32(lvs_addr_fold(a), LVS_LC_BITS);
}

static inline bool lc_stale(const struct lvs_lc_entry *e, lvs_time_t now, lvs_time_t age)
{
	/* Signed: workers' clocks may be a little apart. */
	return (int64_t)(now - e->lastuse) >= (int64_t)age;
}

int lvs_lcache_init(struct lvs_lcache *c, bool with_sets, lvs_time_t expire)
{
	memset(c, 0, sizeof(*c));
	c->bucket = malloc(LVS_LC_BUCKETS * sizeof(*c->bucket));
	c->e = calloc(LVS_LC_CAP, sizeof(*c->e));
	if (with_sets)
		c->el = calloc(LVS_LC_ELEMS, sizeof(*c->el));
	if (!c->bucket || !c->e || (with_sets && !c->el)) {
		lvs_lcache_free(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < LVS_LC_BUCKETS; i++)
		c->bucket[i] = LVS_IDX_NONE;
	c->free_head = LVS_IDX_NONE;
	c->el_free = LVS_IDX_NONE;
	c->expire = expire;
	c->pressure_expire = 6 * 60 * LVS_NS_PER_SEC; /* the kernel's ENTRY_TIMEOUT */
	if (c->pressure_expire > expire)
		c->pressure_expire = expire;
	return 0;
}

void lvs_lcache_free(struct lvs_lcache *c)
{
	free(c->bucket);
	free(c->e);
	free(c->el);
	c->bucket = NULL;
	c->e = NULL;
	c->el = NULL;
}

static void lc_release(struct lvs_lcache *c, uint32_t idx)
{
	struct lvs_lc_entry *e = &c->e[idx];

	if (c->el) {
		uint32_t m = e->val;
		while (m != LVS_IDX_NONE) {
			uint32_t nx = c->el[m].next;
			c->el[m].next = c->el_free;
			c->el_free = m;
			m = nx;
		}
	}
	e->next = c->free_head;
	c->free_head = idx;
	c->count--;
}

uint32_t lvs_lcache_lookup(struct lvs_lcache *c, const union lvs_addr *addr, lvs_time_t now)
{
	uint32_t *link = &c->bucket[lc_bucket(addr)];

	for (uint32_t i = *link; i != LVS_IDX_NONE; link = &c->e[i].next, i = *link) {
		if (!lvs_addr_eq(&c->e[i].addr, addr))
			continue;
		if (lc_stale(&c->e[i], now, c->expire)) {
			*link = c->e[i].next;
			lc_release(c, i);
			return LVS_IDX_NONE;
		}
		return i;
	}
	return LVS_IDX_NONE;
}

uint32_t lvs_lcache_insert(struct lvs_lcache *c, const union lvs_addr *addr, lvs_time_t now)
{
	uint32_t idx, b = lc_bucket(addr);
	struct lvs_lc_entry *e;

	if (c->free_head != LVS_IDX_NONE) {
		idx = c->free_head;
		c->free_head = c->e[idx].next;
	} else if (c->used < LVS_LC_CAP) {
		idx = c->used++;
	} else {
		return LVS_IDX_NONE;
	}
	e = &c->e[idx];
	e->addr = *addr;
	e->lastuse = now;
	e->lastmod = now;
	e->val = LVS_IDX_NONE;
	e->setsize = 0;
	e->next = c->bucket[b];
	c->bucket[b] = idx;
	c->count++;
	return idx;
}

void lvs_lcache_gc_step(struct lvs_lcache *c, lvs_time_t now)
{
	uint32_t b = c->rover;
	uint32_t *link = &c->bucket[b];
	lvs_time_t age = c->count > LVS_LC_PRESSURE ? c->pressure_expire : c->expire;

	c->rover = (b + 1) & (LVS_LC_BUCKETS - 1);
	for (uint32_t i = *link; i != LVS_IDX_NONE; i = *link) {
		if (lc_stale(&c->e[i], now, age)) {
			*link = c->e[i].next;
			lc_release(c, i);
		} else {
			link = &c->e[i].next;
		}
	}
}

bool lvs_lcache_set_add(struct lvs_lcache *c, uint32_t ent, uint32_t dest, lvs_time_t now)
{
	struct lvs_lc_entry *e = &c->e[ent];
	uint32_t m;

	for (m = e->val; m != LVS_IDX_NONE; m = c->el[m].next)
		if (c->el[m].dest == dest)
			return false;
	if (c->el_free != LVS_IDX_NONE) {
		m = c->el_free;
		c->el_free = c->el[m].next;
	} else if (c->el_used < LVS_LC_ELEMS) {
		m = c->el_used++;
	} else {
		return false; /* like a failed GFP_ATOMIC allocation: not cached */
	}
	c->el[m].dest = dest;
	c->el[m].next = e->val;
	e->val = m;
	e->setsize++;
	e->lastmod = now;
	return true;
}

void lvs_lcache_set_del(struct lvs_lcache *c, uint32_t ent, uint32_t dest, lvs_time_t now)
{
	struct lvs_lc_entry *e = &c->e[ent];
	uint32_t *link = &e->val;

	for (uint32_t m = *link; m != LVS_IDX_NONE; link = &c->el[m].next, m = *link) {
		if (c->el[m].dest != dest)
			continue;
		*link = c->el[m].next;
		c->el[m].next = c->el_free;
		c->el_free = m;
		e->setsize--;
		e->lastmod = now;
		return;
	}
}

/* ---- lblc / lblcr shared state ---- */

static bool lbl_is_light(const struct lvs_dest *d)
{
	return (int64_t)lvs_dest_active(d) * 2 < (int64_t)d->c.weight;
}

void lvs_lbl_base_free(struct lvs_lbl_base *b)
{
	lvs_ttree_free(&b->t);
	free(b->light);
	b->light = NULL;
}

int lvs_lbl_base_init(struct lvs_lbl_base *b, const struct lvs_service *svc)
{
	struct lvs_tt_key k;

	b->nlight = 0;
	b->light = calloc(svc->ndests ? svc->ndests : 1, 1);
	if (!b->light || lvs_ttree_init(&b->t, svc->ndests)) {
		lvs_lbl_base_free(b);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++) {
		lvs_sched_wlc_key(svc->dests[i], &k);
		lvs_ttree_load(&b->t, i, &k);
		b->light[i] = lbl_is_light(svc->dests[i]);
		b->nlight += b->light[i];
	}
	lvs_ttree_rebuild(&b->t);
	return 0;
}

void lvs_lbl_base_changed(struct lvs_lbl_base *b, const struct lvs_service *svc,
			  struct lvs_dest *d)
{
	struct lvs_tt_key k;
	uint8_t l;

	if (LVS_UNLIKELY(d->pos >= svc->ndests || svc->dests[d->pos] != d))
		return;
	lvs_sched_wlc_key(d, &k);
	lvs_ttree_set(&b->t, d->pos, &k);
	l = lbl_is_light(d);
	b->nlight += (uint32_t)l - b->light[d->pos];
	b->light[d->pos] = l;
}
