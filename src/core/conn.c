/*
 * conn.c - the connection table (see conn.h for the contract and
 * conn_priv.h for the layout and the concurrency scheme).
 *
 * Kernel IPVS behaviour kept here (net/netfilter/ipvs/ip_vs_conn.c,
 * ip_vs_proto_tcp.c): a connection is found from the client side by
 * (proto, caddr, cport, vaddr, vport) and from the real-server side by
 * (proto, daddr, dport, caddr, cport); a persistence template is keyed by
 * (proto, masked caddr, vaddr, vport) with cport 0 and is never returned by
 * a connection lookup; a new entry starts inactive on its destination and
 * moves to the active count while its TCP state is an active one; a
 * template stays while connections it controls are alive (its timer is
 * re-armed, as ip_vs_conn_expire does when n_control > 0).
 *
 * Fixed memory: entries, the IPv6 address pool and both bucket arrays are
 * allocated once; the data path never allocates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "conn_priv.h"
#include "sync_tap.h"

#define LVS_CONN_DEFAULT_SEED 0x5bd1e9955bd1e995ull
/* ------------------------------------------------------------- the table */

#define BIG_ALIGN (2u << 20)

/*
 * The big arrays (entries, IPv6 pool, bucket heads) come from anonymous
 * mappings aligned to 2 MB and marked for transparent huge pages: lookups
 * touch random entries of a table that is often far larger than the TLB
 * reach of 4 KB pages (measured 3.5x more lookups/s on a VM with 1M
 * entries).  Pages are zero and mapped lazily, so a table costs RSS only
 * where entries were used.  Falls back to calloc.
 */
static void *big_alloc(size_t size, struct conn_mem *m)
{
	size_t len = (size + BIG_ALIGN - 1) & ~(size_t)(BIG_ALIGN - 1);
	uint8_t *p;
	uintptr_t a;

	m->base = NULL;
	m->len = 0;
	p = mmap(NULL, len + BIG_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		m->base = p;
		m->len = len + BIG_ALIGN;
		a = ((uintptr_t)p + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1);
#ifdef MADV_HUGEPAGE
		(void)madvise((void *)a, len, MADV_HUGEPAGE);
#endif
		return (void *)a;
	}
	/* calloc, not aligned_alloc + memset: large blocks come straight from
	 * fresh zero pages. */
	p = calloc(1, size + 64);
	if (!p)
		return NULL;
	m->base = p;
	return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/*
 * The PE area: CONN_PE_SLOT bytes per entry index, as address space only
 * (no reservation of swap, no huge pages): a page is mapped when a
 * template with PE data first lands on it, so services without a
 * persistence engine cost nothing, and SIP templates at most four pages
 * of it per page of entries they use.  Not counted in mem_bytes, which is
 * what the table reserves.  NULL when the mapping fails: templates with
 * PE data cannot be made then (their packets are dropped as for a full
 * table).
 */
static uint8_t *pe_alloc(size_t n, struct conn_mem *m)
{
	size_t len = n * CONN_PE_SLOT;
	void *p;

	m->base = NULL;
	m->len = 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	(void)madvise(p, len, MADV_NOHUGEPAGE);
#endif
	m->base = p;
	m->len = len;
	return p;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Map every page of an array now rather than on first use. */
static void big_populate(const struct conn_mem *m)
{
	if (!m->len)
		return; /* calloc'ed: already touched by the allocator or lazily zero */
	if (madvise(m->base, m->len, MADV_POPULATE_WRITE) == 0)
		return;
	/* Older kernels: read each page so it is at least mapped. */
	for (size_t off = 0; off < m->len; off += 4096)
		(void)*(volatile const uint8_t *)((const uint8_t *)m->base + off);
}

int lvs_conn_table_prefault(struct lvs_conn_table *t, bool ipv6)
{
	big_populate(&t->ents_mem);
	big_populate(&t->heads_mem);
	if (ipv6)
		big_populate(&t->v6_mem);
	return 0;
}

static void big_free(struct conn_mem *m)
{
	if (!m->base)
		return;
	if (m->len)
		munmap(m->base, m->len);
	else
		free(m->base);
	m->base = NULL;
}

static void timeouts_init(struct lvs_conn_table *t)
{
	for (int s = 0; s < LVS_TCP_S_LAST; s++)
		t->tcp_ticks[s] = conn_sec_to_ticks(lvs_tcp_default_timeouts[s]);
	t->udp_ticks = conn_sec_to_ticks(LVS_UDP_DEFAULT_TIMEOUT);
	t->to_sec.tcp = lvs_tcp_default_timeouts[LVS_TCP_S_ESTABLISHED];
	t->to_sec.tcp_fin = lvs_tcp_default_timeouts[LVS_TCP_S_FIN_WAIT];
	t->to_sec.udp = LVS_UDP_DEFAULT_TIMEOUT;
}

/* The kernel's transition tables re-indexed by the flag bits themselves
 * (conn_tcp_flag_idx), a packet without a usable flag going to CLOSE: one
 * load per packet instead of the flag priority branches. */
static void tcp_next_init(struct lvs_conn_table *t)
{
	for (unsigned tb = 0; tb < 3; tb++)
		for (unsigned fi = 0; fi < 16; fi++) {
			uint8_t fl = (uint8_t)((fi & 7) | ((fi & 8) << 1));
			for (unsigned s = 0; s < LVS_TCP_S_LAST; s++)
				t->tcp_next[tb][fi][s] = conn_tcp_next(tb, fl, (uint8_t)s);
		}
}

struct lvs_conn_table *lvs_conn_table_new(uint32_t max_conns, uint32_t nworkers)
{
	return lvs_conn_table_new_v6(max_conns, max_conns, nworkers);
}

struct lvs_conn_table *lvs_conn_table_new_v6(uint32_t max_conns, uint32_t max_v6,
					     uint32_t nworkers)
{
	struct lvs_conn_table *t;
	uint32_t nb = 16;
	size_t tsz = (sizeof(*t) + 63) & ~(size_t)63, v6sz;

	/* Indices must stay below CONN_TPREV_HEAD and CONN_HEAD_LOCK. */
	if (max_conns == 0 || max_conns > (1u << 30) || nworkers == 0 ||
	    nworkers > LVS_MAX_WORKERS)
		return NULL;
	if (max_v6 > max_conns)
		max_v6 = max_conns;
	while (nb < max_conns)
		nb <<= 1;

	t = aligned_alloc(64, tsz);
	if (!t)
		return NULL;
	memset(t, 0, tsz);
	t->max = max_conns;
	t->v6_max = max_v6;
	t->hmask = nb - 1;
	t->nworkers = nworkers;
	t->seed = LVS_CONN_DEFAULT_SEED;
	t->virgin = 1;
	t->v6_virgin = 1;
	timeouts_init(t);
	tcp_next_init(t);

	t->ents = big_alloc(((size_t)max_conns + 1) * sizeof(struct lvs_conn), &t->ents_mem);
	/* The pool's slots, then its links, in one mapping. */
	v6sz = ((size_t)max_v6 + 1) * sizeof(struct conn_ext);
	if (max_v6) {
		t->v6 = big_alloc(v6sz + ((size_t)max_v6 + 1) * sizeof(uint32_t), &t->v6_mem);
		t->v6_link = t->v6 ? (uint32_t *)((uint8_t *)t->v6 + v6sz) : NULL;
	}
	t->heads = big_alloc(2 * (size_t)nb * sizeof(uint32_t), &t->heads_mem);
	t->pe = pe_alloc((size_t)max_conns + 1, &t->pe_mem);
	t->w = aligned_alloc(64, nworkers * sizeof(struct conn_worker));
	if (t->w)
		memset(t->w, 0, nworkers * sizeof(struct conn_worker));
	if (!t->ents || (max_v6 && !t->v6) || !t->heads || !t->w)
		goto fail;
	for (uint32_t i = 0; i < nworkers; i++) {
		t->w[i].wheel = calloc(CONN_WHEEL_SLOTS, sizeof(uint32_t));
		if (!t->w[i].wheel)
			goto fail;
	}
	t->mem_bytes = tsz + ((size_t)max_conns + 1) * sizeof(struct lvs_conn) +
		       (max_v6 ? ((size_t)max_v6 + 1) * CONN_V6_SLOT_BYTES : 0) +
		       2 * (size_t)nb * sizeof(uint32_t) +
		       nworkers * (sizeof(struct conn_worker) +
				   CONN_WHEEL_SLOTS * sizeof(uint32_t));
	return t;
fail:
	lvs_conn_table_free(t);
	return NULL;
}

/* Entries are dropped without accounting or hooks: the table goes away
 * with the daemon (or the test). */
void lvs_conn_table_free(struct lvs_conn_table *t)
{
	if (!t)
		return;
	if (t->w) {
		for (uint32_t i = 0; i < t->nworkers; i++)
			free(t->w[i].wheel);
	}
	free(t->w);
	big_free(&t->heads_mem);
	big_free(&t->pe_mem);
	big_free(&t->v6_mem);
	big_free(&t->ents_mem);
	free(t);
}

uint32_t lvs_conn_table_max(const struct lvs_conn_table *t)
{
	return t->max;
}

uint32_t lvs_conn_table_v6_max(const struct lvs_conn_table *t)
{
	return t->v6_max;
}

uint32_t lvs_conn_table_count(const struct lvs_conn_table *t)
{
	int64_t n = 0;

	for (uint32_t i = 0; i < t->nworkers; i++)
		n += __atomic_load_n(&t->w[i].live, __ATOMIC_RELAXED);
	return n < 0 ? 0 : (uint32_t)n;
}

size_t lvs_conn_table_entry_bytes(const struct lvs_conn_table *t)
{
	(void)t;
	return sizeof(struct lvs_conn);
}

size_t lvs_conn_table_v6_bytes(const struct lvs_conn_table *t)
{
	(void)t;
	return CONN_V6_SLOT_BYTES;
}

size_t lvs_conn_table_bucket_bytes(const struct lvs_conn_table *t)
{
	return 2 * ((size_t)t->hmask + 1) * sizeof(uint32_t);
}

size_t lvs_conn_table_mem_bytes(const struct lvs_conn_table *t)
{
	return t->mem_bytes;
}

int lvs_conn_set_hash_seed(struct lvs_conn_table *t, uint64_t seed)
{
	if (lvs_conn_table_count(t) != 0)
		return -EBUSY;
	t->seed = seed;
	return 0;
}

void lvs_conn_set_timeouts(struct lvs_conn_table *t, const struct lvs_timeouts *to)
{
	/* Any worker may call this when it notices a new snapshot; the
	 * stores are idempotent. */
	if (to->tcp) {
		__atomic_store_n(&t->tcp_ticks[LVS_TCP_S_ESTABLISHED], conn_sec_to_ticks(to->tcp),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&t->to_sec.tcp, to->tcp, __ATOMIC_RELAXED);
	}
	if (to->tcp_fin) {
		__atomic_store_n(&t->tcp_ticks[LVS_TCP_S_FIN_WAIT], conn_sec_to_ticks(to->tcp_fin),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&t->to_sec.tcp_fin, to->tcp_fin, __ATOMIC_RELAXED);
	}
	if (to->udp) {
		__atomic_store_n(&t->udp_ticks, conn_sec_to_ticks(to->udp), __ATOMIC_RELAXED);
		__atomic_store_n(&t->to_sec.udp, to->udp, __ATOMIC_RELAXED);
	}
}

void lvs_conn_get_timeouts(const struct lvs_conn_table *t, struct lvs_timeouts *to)
{
	to->tcp = __atomic_load_n(&t->to_sec.tcp, __ATOMIC_RELAXED);
	to->tcp_fin = __atomic_load_n(&t->to_sec.tcp_fin, __ATOMIC_RELAXED);
	to->udp = __atomic_load_n(&t->to_sec.udp, __ATOMIC_RELAXED);
}

void lvs_conn_set_free_hook(struct lvs_conn_table *t,
			    void (*hook)(void *arg, const struct lvs_conn_info *ci), void *arg)
{
	t->free_hook_arg = arg;
	t->free_hook = hook;
}

/* ------------------------------------------------- entry allocation/reuse */

static uint64_t min_observed_epoch(const struct lvs_conn_table *t)
{
	uint64_t m = UINT64_MAX;

	for (uint32_t i = 0; i < t->nworkers; i++) {
		uint64_t e = __atomic_load_n(&t->w[i].obs_epoch, __ATOMIC_SEQ_CST);
		if (e < m)
			m = e;
	}
	return m;
}

/* Hand a full batch of the worker's free list back to the shared pool. */
static void give_back_batch(struct lvs_conn_table *t, struct conn_worker *w)
{
	uint32_t head = w->free_head, tail = head;

	for (uint32_t i = 1; i < CONN_FREE_BATCH; i++)
		tail = conn_at(t, tail)->tnext;
	w->free_head = conn_at(t, tail)->tnext;
	w->free_count -= CONN_FREE_BATCH;
	conn_at(t, tail)->tnext = 0;
	lvs_spin_lock(&t->pool_lock);
	conn_at(t, head)->kick_next = t->pool_batches;
	t->pool_batches = head;
	lvs_spin_unlock(&t->pool_lock);
}

/* Append list b to list a (both linked through the pool's links). */
static void v6_list_cat(struct lvs_conn_table *t, struct conn_v6_list *a,
			const struct conn_v6_list *b)
{
	if (!b->n)
		return;
	if (a->n)
		t->v6_link[a->tail] = b->head;
	else
		a->head = b->head;
	a->tail = b->tail;
	a->n += b->n;
}

/* Move limbo batches every worker has since passed a quiescent point for
 * onto the free list; their IPv6 slots go to the shared pool, where any
 * worker can take them. */
static void conn_reclaim(struct lvs_conn_table *t, struct conn_worker *w)
{
	struct conn_v6_list v6 = { 0, 0, 0 };
	uint64_t min;

	if (!w->lb_count)
		return;
	min = min_observed_epoch(t);
	while (w->lb_count) {
		struct conn_limbo_batch *b = &w->limbo[w->lb_first];
		if (b->epoch > min)
			break;
		conn_at(t, b->tail)->tnext = w->free_head;
		w->free_head = b->head;
		w->free_count += b->n;
		v6_list_cat(t, &v6, &b->v6);
		w->lb_first = (w->lb_first + 1) % CONN_LIMBO_RING;
		w->lb_count--;
	}
	if (v6.n) {
		lvs_spin_lock(&t->pool_lock);
		v6_list_cat(t, &t->v6_pool, &v6);
		lvs_spin_unlock(&t->pool_lock);
	}
	while (w->free_count > 4 * CONN_FREE_BATCH)
		give_back_batch(t, w);
}

/* Entries freed during this expire run become one limbo batch, stamped
 * with a new epoch taken after all of them were unhashed. */
void conn_limbo_close(struct lvs_conn_table *t, struct conn_worker *w)
{
	struct conn_limbo_batch *b;
	uint64_t e;

	if (!w->fr_n)
		return;
	e = __atomic_add_fetch(&t->epoch, 1, __ATOMIC_SEQ_CST);
	if (w->lb_count == CONN_LIMBO_RING) {
		/* Ring full: merge into the newest batch (a later epoch is only
		 * more conservative). */
		b = &w->limbo[(w->lb_first + w->lb_count - 1) % CONN_LIMBO_RING];
		conn_at(t, b->tail)->tnext = w->fr_head;
		b->tail = w->fr_tail;
		b->n += w->fr_n;
		v6_list_cat(t, &b->v6, &w->fr_v6);
	} else {
		b = &w->limbo[(w->lb_first + w->lb_count) % CONN_LIMBO_RING];
		b->head = w->fr_head;
		b->tail = w->fr_tail;
		b->n = w->fr_n;
		b->v6 = w->fr_v6;
		w->lb_count++;
	}
	b->epoch = e;
	w->fr_head = w->fr_tail = w->fr_n = 0;
	w->fr_v6.head = w->fr_v6.tail = w->fr_v6.n = 0;
}

static bool conn_refill(struct lvs_conn_table *t, struct conn_worker *w)
{
	uint32_t b, cur, take, want;

	conn_reclaim(t, w);
	if (w->free_head)
		return true;

	lvs_spin_lock(&t->pool_lock);
	b = t->pool_batches;
	if (b)
		t->pool_batches = conn_at(t, b)->kick_next;
	lvs_spin_unlock(&t->pool_lock);
	if (b) {
		w->free_head = b;
		w->free_count = CONN_FREE_BATCH;
		return true;
	}

	/* Never-used entries: in batches while plenty are left, one at a
	 * time near the end so no worker sits on entries another needs. */
	cur = __atomic_load_n(&t->virgin, __ATOMIC_RELAXED);
	do {
		if (cur > t->max)
			return false;
		want = (t->max + 1 - cur > 4 * CONN_FREE_BATCH * t->nworkers) ? CONN_FREE_BATCH : 1;
		take = want;
	} while (!__atomic_compare_exchange_n(&t->virgin, &cur, cur + take, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	for (uint32_t i = 0; i < take; i++)
		conn_at(t, cur + i)->tnext = i + 1 < take ? cur + i + 1 : 0;
	w->free_head = cur;
	w->free_count = take;
	return true;
}

static uint32_t conn_alloc(struct lvs_conn_table *t, struct conn_worker *w)
{
	uint32_t idx;

	if (!w->free_head && !conn_refill(t, w))
		return 0;
	idx = w->free_head;
	w->free_head = conn_at(t, idx)->tnext;
	w->free_count--;
	/* The next creation reads (and writes) that one: start the miss now. */
	if (w->free_head)
		__builtin_prefetch(conn_at(t, w->free_head), 1);
	return idx;
}

/*
 * IPv6 pool slots: released slots past their grace period, taken from the
 * shared pool a chunk at a time; never-used ones after that (a chunk
 * while plenty are left, then one at a time).  Slots are handed out from
 * low indices up, so the pool's memory is mapped only as far as the most
 * IPv6 connections ever live at once.  Returns 0 when the pool is
 * exhausted.
 */
static bool v6_refill(struct lvs_conn_table *t, struct conn_worker *w)
{
	uint32_t head, last = 0, take = 0, cur, want;

	if (!t->v6_max)
		return false;
	lvs_spin_lock(&t->pool_lock);
	head = t->v6_pool.head;
	/* A chunk while plenty are there, else one: no worker sits on slots
	 * another one needs. */
	want = t->v6_pool.n > 4 * CONN_V6_CHUNK * t->nworkers ? CONN_V6_CHUNK : 1;
	for (uint32_t s = head; s && take < want; s = t->v6_link[s]) {
		last = s;
		take++;
	}
	if (take) {
		t->v6_pool.head = t->v6_link[last];
		t->v6_pool.n -= take;
		if (!t->v6_pool.n)
			t->v6_pool.head = t->v6_pool.tail = 0;
		t->v6_link[last] = 0;
	}
	lvs_spin_unlock(&t->pool_lock);
	if (take) {
		w->v6_free = head;
		w->v6_count = take;
		return true;
	}
	cur = __atomic_load_n(&t->v6_virgin, __ATOMIC_RELAXED);
	do {
		if (cur > t->v6_max)
			return false;
		want = (t->v6_max + 1 - cur > 4 * CONN_V6_CHUNK * t->nworkers) ? CONN_V6_CHUNK : 1;
		take = want;
	} while (!__atomic_compare_exchange_n(&t->v6_virgin, &cur, cur + take, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	for (uint32_t i = 0; i < take; i++)
		t->v6_link[cur + i] = i + 1 < take ? cur + i + 1 : 0;
	w->v6_free = cur;
	w->v6_count = take;
	return true;
}

static uint32_t v6_alloc(struct lvs_conn_table *t, struct conn_worker *w)
{
	uint32_t s;

	if (!w->v6_free && !v6_refill(t, w))
		return 0;
	s = w->v6_free;
	w->v6_free = t->v6_link[s];
	w->v6_count--;
	return s;
}

static void v6_unalloc(struct lvs_conn_table *t, struct conn_worker *w, uint32_t s)
{
	t->v6_link[s] = w->v6_free;
	w->v6_free = s;
	w->v6_count++;
}

void lvs_conn_quiescent(struct lvs_conn_table *t, unsigned worker)
{
	struct conn_worker *w;
	uint64_t e;

	if (worker >= t->nworkers)
		return;
	w = &t->w[worker];
	e = __atomic_load_n(&t->epoch, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->obs_epoch, __ATOMIC_RELAXED) != e)
		__atomic_store_n(&w->obs_epoch, e, __ATOMIC_SEQ_CST);
	/* Scanning every worker's epoch is cheap but not free: do it when
	 * entries wait and the free list runs low, or now and then. */
	if (w->lb_count && (w->free_count < CONN_FREE_BATCH || (++w->qcalls & 15) == 0))
		conn_reclaim(t, w);
}

/* ------------------------------------------------------- create / import */

static uint32_t default_ticks(const struct lvs_conn_table *t, const struct lvs_conn_param *p)
{
	if (p->flags & LVS_CONN_F_TEMPLATE)
		return conn_sec_to_ticks(p->timeout ? p->timeout : 1);
	if (p->proto == IPPROTO_TCP)
		return __atomic_load_n(&t->tcp_ticks[LVS_TCP_S_NONE], __ATOMIC_RELAXED);
	return __atomic_load_n(&t->udp_ticks, __ATOMIC_RELAXED);
}

/* Attach a connection to its template unless the template is being
 * freed at this very moment.  Returns the template's index or 0. */
static uint32_t control_get(struct lvs_conn_table *t, struct lvs_conn *ct)
{
	uint32_t v;

	if (!ct || !(conn_flags_load(ct) & LVS_CONN_F_TEMPLATE))
		return 0;
	v = __atomic_load_n(&ct->out_next, __ATOMIC_RELAXED);
	while (!(v & CONN_NCTL_DEAD)) {
		if (__atomic_compare_exchange_n(&ct->out_next, &v, v + 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return conn_idx(t, ct);
	}
	return 0;
}

/* The TCP table a packet in direction dir uses, given the entry's flags. */
static inline unsigned tcp_table(enum lvs_conn_dir dir, uint16_t fl)
{
	if (dir == LVS_DIR_OUTPUT)
		return 1;
	if (dir == LVS_DIR_INPUT_ONLY || (fl & CONN_F_NOOUTPUT))
		return 2;
	return 0;
}

static inline uint8_t tcp_next(const struct lvs_conn_table *t, unsigned table, uint8_t tcp_flags,
			       uint8_t cur)
{
	if (LVS_UNLIKELY(cur >= LVS_TCP_S_LAST))
		return LVS_TCP_S_CLOSE;
	return t->tcp_next[table][conn_tcp_flag_idx(tcp_flags)][cur];
}

/*
 * Allocate, fill, bind and hash an entry with the given state, expiry
 * (absolute tick) and accounting (active or not); its timer is first
 * looked at in the wheel slot of tick `arm` (<= expires).  Nothing changes
 * when the table (or, for IPv6, the IPv6 pool) is full.
 */
static struct lvs_conn *conn_new(struct lvs_conn_table *t, unsigned worker,
				 const struct lvs_conn_param *p, struct lvs_dest_state *ds,
				 struct lvs_conn *control, lvs_time_t now, uint8_t state,
				 uint32_t expires, uint32_t arm, bool active, uint16_t fl)
{
	struct conn_worker *w;
	struct lvs_conn *c;
	uint32_t idx, slot = 0, bin, bout = 0;
	bool tmpl, v6, dv6;
	uint16_t cport, s;
	uint8_t daf;

	if (!t || !p || worker >= t->nworkers)
		return NULL;
	w = &t->w[worker];
	conn_worker_clock(w, now);
	tmpl = (p->flags & LVS_CONN_F_TEMPLATE) != 0;
	if (tmpl && p->pe_len && LVS_UNLIKELY(!t->pe || !p->pe_data))
		return NULL;
	daf = p->daf ? p->daf : p->af;
	v6 = conn_is_v6(p->af);
	dv6 = conn_is_v6(daf);
	if (LVS_UNLIKELY(v6 || dv6)) {
		slot = v6_alloc(t, w);
		if (!slot)
			return NULL;
	}
	idx = conn_alloc(t, w);
	if (!idx) {
		if (slot)
			v6_unalloc(t, w, slot);
		return NULL;
	}
	c = conn_at(t, idx);
	cport = tmpl ? 0 : p->cport;
	if (tmpl && p->pe_len) {
		cport = conn_pe_tag(t, p->pe_data, p->pe_len);
		fl |= LVS_CONN_F_PE;
	}
	/* Both buckets first: their lines load while the entry is written. */
	bin = conn_key_bucket(t, v6, p->proto, &p->caddr, cport, &p->vaddr, p->vport);
	__builtin_prefetch(conn_head_in(t, bin), 1);
	if (!tmpl) {
		bout = conn_key_bucket(t, v6, p->proto, &p->daddr, p->dport, &p->caddr, cport);
		__builtin_prefetch(conn_head_out(t, bout), 1);
	}

	fl = (uint16_t)((p->flags | fl) & CONN_F_PUBLIC & ~LVS_CONN_F_INACTIVE);
	if (!(tmpl && p->pe_len))
		fl &= (uint16_t)~LVS_CONN_F_PE;
	fl |= CONN_F_LIVE;
	if (!active)
		fl |= LVS_CONN_F_INACTIVE;
	if (slot)
		fl |= CONN_F_EXT;
	/* The kernel's NOOUTPUT: DR/TUN replies never pass us, so client
	 * packets use the INPUT_ONLY table until a reply shows up. */
	if (!tmpl && (p->fwd & 3) != LVS_FWD_MASQ)
		fl |= CONN_F_NOOUTPUT;

	/* A free entry has no other writer: no need for the locked
	 * instruction of conn_seq_lock, only the seqlock ordering. */
	s = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&c->seq, (uint16_t)(s + 1), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->in_next = 0;
	c->out_next = 0;
	c->caddr = conn_addr_fold(&p->caddr);
	c->vaddr = conn_addr_fold(&p->vaddr);
	c->daddr = slot ? slot : p->daddr.ip4;
	c->cport = cport;
	c->vport = p->vport;
	c->dport = p->dport;
	c->proto = p->proto;
	c->bits = (uint8_t)((v6 ? CONN_B_AF6 : 0) | (dv6 ? CONN_B_DAF6 : 0) |
			    ((p->fwd & 3) << CONN_B_FWD_SHIFT));
	__atomic_store_n(&c->flags, fl, __ATOMIC_RELAXED);
	__atomic_store_n(&c->state, state, __ATOMIC_RELAXED);
	c->owner = (uint8_t)worker;
	/* the sync packet count: an imported entry starts where the kernel's
	 * backup sets in_pkts (sync_threshold), a new one at 0 */
	c->pad = (fl & LVS_CONN_F_SYNCED) ? LVS_SYNC_THRESHOLD : 0;
	__atomic_store_n(&c->kicked, CONN_KICK_NONE, __ATOMIC_RELAXED);
	__atomic_store_n(&c->expires, expires, __ATOMIC_RELAXED);
	c->tnext = c->tprev = 0;
	c->kick_next = 0;
	c->control = tmpl ? (p->timeout ? p->timeout : 1) : control_get(t, control);
	c->dest = ds;
	if (slot) {
		struct conn_ext *x = &t->v6[slot];
		x->caddr = p->caddr;
		x->vaddr = p->vaddr;
		x->daddr = p->daddr;
	}
	if (fl & LVS_CONN_F_PE) {
		uint8_t *pe = conn_pe_slot(t, idx);
		pe[0] = p->pe_len;
		memcpy(pe + 1, p->pe_data, p->pe_len);
	}
	conn_seq_unlock(c, s);

	if (ds)
		lvs_dest_bind(ds, tmpl, active);
	conn_chain_insert(conn_head_in(t, bin), &c->in_next, idx);
	if (!tmpl)
		conn_chain_insert(conn_head_out(t, bout), &c->out_next, idx);
	conn_wheel_insert_at(t, w, idx, arm, w->next_slot);
	__atomic_store_n(&w->live, w->live + 1, __ATOMIC_RELAXED);
	return c;
}

struct lvs_conn *lvs_conn_create(struct lvs_conn_table *t, unsigned worker,
				 const struct lvs_conn_param *p, struct lvs_dest_state *ds,
				 struct lvs_conn *control, lvs_time_t now)
{
	uint32_t exp;

	if (!t || !p || worker >= t->nworkers)
		return NULL;
	conn_worker_clock(&t->w[worker], now);
	exp = (uint32_t)t->w[worker].cur_tick + default_ticks(t, p);
	return conn_new(t, worker, p, ds, control, now, LVS_TCP_S_NONE, exp, exp, false, 0);
}

/*
 * lvs_conn_create followed by lvs_conn_update for the packet that made the
 * connection, in one step: the TCP transition from NONE is looked up
 * first, so the entry starts in its state, with that state's timeout, and
 * is bound to ds as active or inactive once (one scheduler update instead
 * of two).  The result is the same as the two calls.
 */
struct lvs_conn *lvs_conn_create_pkt(struct lvs_conn_table *t, unsigned worker,
				     const struct lvs_conn_param *p, struct lvs_dest_state *ds,
				     struct lvs_conn *control, enum lvs_conn_dir dir,
				     const struct lvs_pkt_info *pi, lvs_time_t now)
{
	struct lvs_conn *c;
	uint8_t st = LVS_TCP_S_NONE;
	uint32_t ticks, exp, arm;

	if (!t || !p || worker >= t->nworkers)
		return NULL;
	if (p->flags & LVS_CONN_F_TEMPLATE)
		return lvs_conn_create(t, worker, p, ds, control, now);
	if (p->proto == IPPROTO_TCP) {
		/* The entry's flags as conn_new will set them, for the table. */
		uint16_t nf = (p->fwd & 3) != LVS_FWD_MASQ ? CONN_F_NOOUTPUT : 0;
		st = tcp_next(t, tcp_table(dir, nf), pi ? pi->tcp_flags : 0, LVS_TCP_S_NONE);
		ticks = __atomic_load_n(&t->tcp_ticks[st], __ATOMIC_RELAXED);
	} else {
		ticks = __atomic_load_n(&t->udp_ticks, __ATOMIC_RELAXED);
	}
	/* The timer is first looked at when a bare lvs_conn_create's would
	 * be (then moved lazily to the real expiry), so entries are released
	 * in the same order as with create + update. */
	conn_worker_clock(&t->w[worker], now);
	exp = (uint32_t)conn_ns_to_tick(now) + ticks;
	arm = (uint32_t)t->w[worker].cur_tick + default_ticks(t, p);
	if ((int32_t)(exp - arm) < 0)
		arm = exp;
	c = conn_new(t, worker, p, ds, control, now, st, exp, arm,
		     p->proto == IPPROTO_TCP && lvs_tcp_state_active[st], 0);
	if (c && p->proto == IPPROTO_TCP && dir == LVS_DIR_OUTPUT) {
		/* A reply seen: as tcp_transition, the entry leaves NOOUTPUT. */
		uint16_t s = conn_seq_lock(c);
		__atomic_store_n(&c->flags, (uint16_t)(c->flags & ~CONN_F_NOOUTPUT),
				 __ATOMIC_RELAXED);
		conn_seq_unlock(c, s);
	}
	return c;
}

static uint32_t ms_to_ticks(uint32_t ms)
{
	uint64_t t = ((uint64_t)ms * CONN_TICKS_PER_SEC + 999) / 1000;

	return t > CONN_MAX_TIMEOUT_TICKS ? CONN_MAX_TIMEOUT_TICKS : (uint32_t)t;
}

/* Move c to TCP state nxt under its lock, keeping the destination's
 * active/inactive counts in step.  fl: the flags to store with it. */
static void conn_set_state_locked(struct lvs_conn *c, uint8_t nxt, uint16_t fl)
{
	uint8_t cur = c->state;

	if (nxt != cur && (fl & CONN_F_LIVE) && c->dest && !(fl & LVS_CONN_F_TEMPLATE)) {
		bool act = nxt < LVS_TCP_S_LAST && lvs_tcp_state_active[nxt];
		if (!(fl & LVS_CONN_F_INACTIVE) && !act) {
			fl |= LVS_CONN_F_INACTIVE;
			lvs_dest_set_active(c->dest, false);
		} else if ((fl & LVS_CONN_F_INACTIVE) && act) {
			fl &= (uint16_t)~LVS_CONN_F_INACTIVE;
			lvs_dest_set_active(c->dest, true);
		}
	}
	if (nxt == LVS_TCP_S_ESTABLISHED && !(fl & (CONN_F_EST | LVS_CONN_F_TEMPLATE)) &&
	    c->dest && (fl & CONN_F_LIVE)) {
		fl |= CONN_F_EST;
		lvs_dest_handshake(c->dest, true);
	}
	/* the kernel's old_state != state: sync reports the change */
	if (nxt != cur)
		fl |= CONN_F_SYNCST;
	__atomic_store_n(&c->state, nxt, __ATOMIC_RELAXED);
	__atomic_store_n(&c->flags, fl, __ATOMIC_RELAXED);
}

/* Store a new expiry and move the timer if that made it earlier. */
static inline void conn_set_expiry(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
				   uint32_t nexp)
{
	uint32_t old = __atomic_load_n(&c->expires, __ATOMIC_RELAXED);

	if (nexp == old)
		return;
	__atomic_store_n(&c->expires, nexp, __ATOMIC_RELAXED);
	if ((int32_t)(nexp - old) < 0 && ((nexp ^ old) >> CONN_SLOT_SHIFT))
		conn_timer_shorten(t, worker, c);
}

struct lvs_conn *lvs_conn_import(struct lvs_conn_table *t, unsigned worker,
				 const struct lvs_conn_info *ci, lvs_time_t now)
{
	const struct lvs_conn_param *p;
	struct lvs_conn_param pq;
	struct lvs_conn *c;
	bool tmpl;
	uint8_t st = 0;
	uint32_t ticks;

	if (!t || !ci || worker >= t->nworkers)
		return NULL;
	/* the view's own copy of a template's PE data */
	pq = ci->p;
	pq.pe_len = ci->pe_len;
	pq.pe_data = ci->pe_len ? ci->pe_data : NULL;
	p = &pq;
	tmpl = (p->flags & LVS_CONN_F_TEMPLATE) != 0;
	if (p->proto == IPPROTO_TCP && !tmpl && ci->state < LVS_TCP_S_LAST)
		st = ci->state;
	ticks = ms_to_ticks(ci->expires_ms);

	c = tmpl ? lvs_conn_tmpl_lookup_pe(t, p->af, p->proto, &p->caddr, &p->vaddr, p->vport,
					   ci->pe_data, ci->pe_len)
		 : lvs_conn_lookup_in(t, p->af, p->proto, &p->caddr, p->cport, &p->vaddr, p->vport);
	if (c) {
		uint16_t s = conn_seq_lock(c);
		uint16_t fl = c->flags;
		if (!c->dest && ci->dest && (fl & CONN_F_LIVE)) {
			/* The backup learnt the destination after the entry. */
			c->dest = ci->dest;
			lvs_dest_bind(ci->dest, tmpl, !(fl & LVS_CONN_F_INACTIVE));
		}
		if (tmpl && p->timeout)
			c->control = p->timeout;
		conn_set_state_locked(c, st, fl | LVS_CONN_F_SYNCED);
		/* as the kernel's backup: old_state = state, in_pkts = threshold */
		__atomic_store_n(&c->flags, (uint16_t)(c->flags & ~CONN_F_SYNCST),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&c->pad, (uint8_t)LVS_SYNC_THRESHOLD, __ATOMIC_RELAXED);
		conn_seq_unlock(c, s);
		conn_set_expiry(t, worker, c, (uint32_t)conn_ns_to_tick(now) + ticks);
		return c;
	}
	conn_worker_clock(&t->w[worker], now);
	if (tmpl && !p->timeout) {
		struct lvs_conn_param q = *p;
		q.timeout = (ci->expires_ms + 999) / 1000;
		return conn_new(t, worker, &q, ci->dest, NULL, now, 0,
				(uint32_t)t->w[worker].cur_tick + ticks,
				(uint32_t)t->w[worker].cur_tick + ticks, false, LVS_CONN_F_SYNCED);
	}
	ticks += (uint32_t)t->w[worker].cur_tick;
	return conn_new(t, worker, p, ci->dest, NULL, now, st, ticks, ticks,
			!tmpl && p->proto == IPPROTO_TCP && lvs_tcp_state_active[st],
			LVS_CONN_F_SYNCED);
}

/* ----------------------------------------------------- data path updates */

static inline uint8_t conn_fwd(const struct lvs_conn *c)
{
	return (uint8_t)((c->bits & CONN_B_FWD_MASK) >> CONN_B_FWD_SHIFT);
}

/*
 * A handshake that is failing, seen before the entry ends: the client
 * sends its SYN again (the server did not answer it), or the server
 * resets it (NAT).  Counted once per connection, under the entry lock.
 */
static void handshake_failing(struct lvs_conn *c)
{
	uint16_t s = conn_seq_lock(c);
	uint16_t fl = c->flags;

	if (!(fl & (CONN_F_EST | CONN_F_HSFAIL | LVS_CONN_F_TEMPLATE | LVS_CONN_F_SYNCED)) &&
	    (fl & CONN_F_LIVE) && c->dest) {
		__atomic_store_n(&c->flags, (uint16_t)(fl | CONN_F_HSFAIL), __ATOMIC_RELAXED);
		lvs_dest_handshake(c->dest, false);
	}
	conn_seq_unlock(c, s);
}

static void handshake_watch(struct lvs_conn *c, uint16_t fl, enum lvs_conn_dir dir,
			    uint8_t tcp_flags, uint8_t cur)
{
	if (conn_fwd(c) != LVS_FWD_MASQ || (fl & LVS_CONN_F_SYNCED))
		return;
	if (dir == LVS_DIR_OUTPUT) {
		if (tcp_flags & 0x04) { /* RST */
			handshake_failing(c);
		} else if (!(fl & CONN_F_ANSWERED)) {
			uint16_t s = conn_seq_lock(c);
			__atomic_store_n(&c->flags, (uint16_t)(c->flags | CONN_F_ANSWERED),
					 __ATOMIC_RELAXED);
			conn_seq_unlock(c, s);
		}
	} else if ((tcp_flags & 0x12) == 0x02 && cur == LVS_TCP_S_SYN_RECV &&
		   !(fl & CONN_F_ANSWERED)) {
		handshake_failing(c); /* the client asks again: no SYN-ACK came */
	}
}

/* Slow path of a TCP packet that changes the state: redo the transition
 * under the entry lock (another worker may have moved it meanwhile). */
static uint8_t tcp_transition(const struct lvs_conn_table *t, struct lvs_conn *c,
			      enum lvs_conn_dir dir, uint8_t tcp_flags)
{
	uint16_t s = conn_seq_lock(c);
	uint16_t fl = c->flags;
	uint8_t nxt = tcp_next(t, tcp_table(dir, fl), tcp_flags, c->state);

	if (dir == LVS_DIR_OUTPUT)
		fl &= (uint16_t)~CONN_F_NOOUTPUT;
	conn_set_state_locked(c, nxt, fl);
	conn_seq_unlock(c, s);
	return nxt;
}

static inline void conn_update(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
			       uint16_t fl, enum lvs_conn_dir dir, uint8_t tcp_flags,
			       lvs_time_t now)
{
	uint32_t ticks;

	if (LVS_UNLIKELY(fl & LVS_CONN_F_TEMPLATE)) {
		lvs_conn_touch(t, c, now);
		return;
	}
	if (c->proto == IPPROTO_TCP) {
		uint8_t cur = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
		uint8_t nxt = tcp_next(t, tcp_table(dir, fl), tcp_flags, cur);

		/* Before the handshake completes (NAT: the server's side is
		 * seen): the server's first packet, its RST, or the client's
		 * SYN again with no answer from the server yet. */
		if (LVS_UNLIKELY(!(fl & (CONN_F_EST | CONN_F_HSFAIL))))
			handshake_watch(c, fl, dir, tcp_flags, cur);
		if (LVS_UNLIKELY(nxt != cur ||
				 (dir == LVS_DIR_OUTPUT && (fl & CONN_F_NOOUTPUT))))
			nxt = tcp_transition(t, c, dir, tcp_flags);
		ticks = __atomic_load_n(&t->tcp_ticks[nxt], __ATOMIC_RELAXED);
	} else {
		ticks = __atomic_load_n(&t->udp_ticks, __ATOMIC_RELAXED);
	}
	if (LVS_UNLIKELY(fl & CONN_F_DYING))
		return;
	conn_set_expiry(t, worker, c, (uint32_t)conn_ns_to_tick(now) + ticks);
}

void lvs_conn_update(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
		     enum lvs_conn_dir dir, const struct lvs_pkt_info *pi, lvs_time_t now)
{
	conn_update(t, worker, c, conn_flags_load(c), dir, pi ? pi->tcp_flags : 0, now);
}

struct lvs_dest_state *lvs_conn_hit(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
				    bool reply, const struct lvs_pkt_info *pi, lvs_time_t now,
				    uint8_t *fwd, union lvs_addr *addr, uint16_t *port)
{
	uint16_t fl = conn_flags_load(c);
	uint8_t f = (uint8_t)((c->bits & CONN_B_FWD_MASK) >> CONN_B_FWD_SHIFT);
	enum lvs_conn_dir dir;

	*fwd = f;
	if (reply) {
		if (f != LVS_FWD_MASQ)
			return __atomic_load_n(&c->dest, __ATOMIC_RELAXED);
		if (LVS_UNLIKELY(fl & CONN_F_EXT))
			*addr = conn_ext_of(t, c)->vaddr;
		else
			lvs_addr_set4(addr, c->vaddr);
		*port = c->vport;
		dir = LVS_DIR_OUTPUT;
	} else {
		if (LVS_UNLIKELY(fl & CONN_F_EXT))
			*addr = conn_ext_of(t, c)->daddr;
		else
			lvs_addr_set4(addr, c->daddr);
		*port = c->dport;
		dir = f == LVS_FWD_MASQ ? LVS_DIR_INPUT : LVS_DIR_INPUT_ONLY;
	}
	conn_update(t, worker, c, fl, dir, pi->tcp_flags, now);
	return __atomic_load_n(&c->dest, __ATOMIC_RELAXED);
}

void lvs_conn_touch(struct lvs_conn_table *t, struct lvs_conn *c, lvs_time_t now)
{
	uint16_t fl = conn_flags_load(c);
	uint32_t ticks;

	if (fl & CONN_F_DYING)
		return;
	if (fl & LVS_CONN_F_TEMPLATE)
		ticks = conn_sec_to_ticks(c->control);
	else if (c->proto == IPPROTO_TCP)
		ticks = __atomic_load_n(&t->tcp_ticks[__atomic_load_n(&c->state, __ATOMIC_RELAXED) %
						      LVS_TCP_S_LAST],
					__ATOMIC_RELAXED);
	else
		ticks = __atomic_load_n(&t->udp_ticks, __ATOMIC_RELAXED);
	/* The caller's worker is unknown: an earlier expiry goes through the
	 * owner's kick stack. */
	conn_set_expiry(t, UINT32_MAX, c, (uint32_t)conn_ns_to_tick(now) + ticks);
}

void lvs_conn_expire_soon(struct lvs_conn_table *t, struct lvs_conn *c)
{
	struct conn_worker *w = &t->w[c->owner];
	uint16_t s = conn_seq_lock(c);
	uint32_t past;

	__atomic_store_n(&c->flags, (uint16_t)(c->flags | CONN_F_DYING), __ATOMIC_RELAXED);
	conn_seq_unlock(c, s);
	/* Already due for the owner's clock; the kick moves it to the
	 * owner's next slot. */
	past = (uint32_t)__atomic_load_n(&w->cur_tick, __ATOMIC_RELAXED) - 1;
	__atomic_store_n(&c->expires, past, __ATOMIC_RELAXED);
	conn_timer_shorten(t, UINT32_MAX, c);
}

/* ----------------------------------------------------------------- free */

bool conn_release(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx)
{
	struct lvs_conn *c = conn_at(t, idx);
	uint8_t k = CONN_KICK_NONE;
	uint16_t fl, s;
	bool tmpl;

	/* A queued kick still references the entry: let it be processed. */
	if (!__atomic_compare_exchange_n(&c->kicked, &k, CONN_KICK_DEAD, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return false;
	tmpl = (conn_flags_load(c) & LVS_CONN_F_TEMPLATE) != 0;
	if (tmpl) {
		uint32_t z = 0;
		if (!__atomic_compare_exchange_n(&c->out_next, &z, CONN_NCTL_DEAD, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(&c->kicked, CONN_KICK_NONE, __ATOMIC_RELEASE);
			return false;
		}
	}
	conn_unhash(t, idx);

	s = conn_seq_lock(c);
	fl = c->flags;
	__atomic_store_n(&c->flags, (uint16_t)(fl & ~CONN_F_LIVE), __ATOMIC_RELAXED);
	conn_seq_unlock(c, s);

	if (!tmpl && c->control)
		__atomic_sub_fetch(&conn_at(t, c->control)->out_next, 1, __ATOMIC_ACQ_REL);
	if (c->dest) {
		/* a NAT connection gone without a word from its server: a
		 * failed handshake (not synced entries: theirs was elsewhere) */
		if (!tmpl && c->proto == IPPROTO_TCP && conn_fwd(c) == LVS_FWD_MASQ &&
		    !(fl & (CONN_F_EST | CONN_F_HSFAIL | CONN_F_ANSWERED | LVS_CONN_F_SYNCED)))
			lvs_dest_handshake(c->dest, false);
		lvs_dest_unbind(c->dest, tmpl, !(fl & LVS_CONN_F_INACTIVE));
	}
	if (LVS_UNLIKELY(c->bits & CONN_B_FAST_MASK) && t->fast)
		conn_fast_freed(t, (unsigned)(w - t->w), c);
	if (t->free_hook) {
		struct lvs_conn_info ci;
		conn_fill_info(t, c, __atomic_load_n(&c->expires, __ATOMIC_RELAXED), &ci);
		t->free_hook(t->free_hook_arg, &ci);
	}

	c->tnext = 0;
	if (w->fr_tail)
		conn_at(t, w->fr_tail)->tnext = idx;
	else
		w->fr_head = idx;
	w->fr_tail = idx;
	w->fr_n++;
	if (fl & CONN_F_EXT) {
		/* The slot waits out the grace period with its entry (readers may
		 * still compare its addresses); the entry keeps naming it. */
		struct conn_v6_list one = { c->daddr, c->daddr, 1 };
		t->v6_link[c->daddr] = 0;
		v6_list_cat(t, &w->fr_v6, &one);
	}
	__atomic_store_n(&w->live, w->live - 1, __ATOMIC_RELAXED);
	return true;
}

/* -------------------------------------------------------------- reading */

uint8_t lvs_conn_af(const struct lvs_conn *c)
{
	return (c->bits & CONN_B_AF6) ? AF_INET6 : AF_INET;
}

uint8_t lvs_conn_proto(const struct lvs_conn *c)
{
	return c->proto;
}

uint8_t lvs_conn_fwd(const struct lvs_conn *c)
{
	return (uint8_t)((c->bits & CONN_B_FWD_MASK) >> CONN_B_FWD_SHIFT);
}

uint8_t lvs_conn_state(const struct lvs_conn *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_RELAXED);
}

uint16_t lvs_conn_flags(const struct lvs_conn *c)
{
	return conn_flags_load(c) & CONN_F_PUBLIC;
}

struct lvs_dest_state *lvs_conn_dest(const struct lvs_conn *c)
{
	return __atomic_load_n(&c->dest, __ATOMIC_RELAXED);
}

void lvs_conn_dest_addr(const struct lvs_conn_table *t, const struct lvs_conn *c,
			union lvs_addr *daddr, uint16_t *dport)
{
	if (conn_flags_load(c) & CONN_F_EXT)
		*daddr = conn_ext_of(t, c)->daddr;
	else
		lvs_addr_set4(daddr, c->daddr);
	*dport = c->dport;
}

void lvs_conn_virt_addr(const struct lvs_conn_table *t, const struct lvs_conn *c,
			union lvs_addr *vaddr, uint16_t *vport)
{
	if (conn_flags_load(c) & CONN_F_EXT)
		*vaddr = conn_ext_of(t, c)->vaddr;
	else
		lvs_addr_set4(vaddr, c->vaddr);
	*vport = c->vport;
}

void conn_fill_info(const struct lvs_conn_table *t, const struct lvs_conn *c, uint32_t now_tick,
		    struct lvs_conn_info *out)
{
	uint16_t fl = conn_flags_load(c);
	int32_t left = (int32_t)(__atomic_load_n(&c->expires, __ATOMIC_RELAXED) - now_tick);

	memset(out, 0, offsetof(struct lvs_conn_info, pe_data));
	out->p.af = (c->bits & CONN_B_AF6) ? AF_INET6 : AF_INET;
	out->p.daf = (c->bits & CONN_B_DAF6) ? AF_INET6 : AF_INET;
	out->p.proto = c->proto;
	out->p.fwd = lvs_conn_fwd(c);
	out->p.flags = fl & CONN_F_PUBLIC;
	out->p.cport = c->cport;
	out->p.vport = c->vport;
	out->p.dport = c->dport;
	conn_entry_addrs(t, c, &out->p.caddr, &out->p.vaddr, &out->p.daddr);
	if (fl & LVS_CONN_F_TEMPLATE)
		out->p.timeout = c->control;
	if ((fl & LVS_CONN_F_PE) && t->pe) {
		const uint8_t *pe = conn_pe_slot(t, (uint32_t)(c - t->ents));
		/* the key's cport of such a template is its tag; the kernel's
		 * template has 0 there */
		out->p.cport = 0;
		out->pe_len = pe[0];
		memcpy(out->pe_data, pe + 1, pe[0]);
	}
	else if (c->proto == IPPROTO_TCP)
		out->state = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
	out->expires_ms = left <= 0 ? 0 : (uint32_t)((uint64_t)left * 1000 / CONN_TICKS_PER_SEC);
	out->dest = __atomic_load_n(&c->dest, __ATOMIC_RELAXED);
	out->fast = (uint8_t)((__atomic_load_n(&c->bits, __ATOMIC_RELAXED) & CONN_B_FAST_MASK) >>
			      CONN_B_FAST_SHIFT);
}

void lvs_conn_get_info(const struct lvs_conn_table *t, const struct lvs_conn *c, lvs_time_t now,
		       struct lvs_conn_info *out)
{
	conn_fill_info(t, c, (uint32_t)conn_ns_to_tick(now), out);
}

/*
 * Copy every live entry under its sequence word: a copy that raced with a
 * writer is retried a few times, then the entry is skipped for this walk.
 * Workers are never blocked.
 */
void lvs_conn_walk(struct lvs_conn_table *t, lvs_time_t now,
		   int (*cb)(void *arg, const struct lvs_conn_info *ci), void *arg)
{
	(void)lvs_conn_walk_from(t, now, 0, UINT32_MAX, cb, arg);
}

uint32_t lvs_conn_walk_from(struct lvs_conn_table *t, lvs_time_t now, uint32_t from,
			    uint32_t slots, int (*cb)(void *arg, const struct lvs_conn_info *ci),
			    void *arg)
{
	uint32_t now_tick = (uint32_t)conn_ns_to_tick(now);
	uint32_t hwm = __atomic_load_n(&t->virgin, __ATOMIC_ACQUIRE);
	struct lvs_conn_info ci;
	uint32_t idx;

	if (hwm > t->max + 1)
		hwm = t->max + 1;
	if (from < 1)
		from = 1;
	for (idx = from; idx < hwm; idx++) {
		struct lvs_conn *c = conn_at(t, idx);
		bool ok = false;

		for (int tries = 0; tries < 8 && !ok; tries++) {
			uint16_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
			if (s1 & 1) {
				lvs_cpu_relax();
				continue;
			}
			if (!(conn_flags_load(c) & CONN_F_LIVE))
				break;
			conn_fill_info(t, c, now_tick, &ci);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			ok = __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == s1;
		}
		if (ok && cb(arg, &ci))
			return idx + 1 < hwm ? idx + 1 : 0;
		if (idx - from + 1 >= slots)
			return idx + 1 < hwm ? idx + 1 : 0;
	}
	return 0;
}
