/*
 * sched_tree.h - data structures shared by the schedulers (internal header).
 *
 * Kernel IPVS finds the least loaded destination by scanning its list on
 * every new connection (O(n)).  lvsd keeps the same answer in structures that
 * are updated when a destination's counters change (counts_changed) so that
 * a choice costs O(1)..O(log n):
 *
 *   - lvs_ttree: a tournament (winner) tree.  Leaf i is svc->dests[i]; each
 *     inner node holds the winning leaf of its subtree.  A leaf's key is a
 *     class and a ratio num/den compared by exact cross-multiplication; ties
 *     go to the lower index, which is what the kernel's "keep the first
 *     minimum" scans (lc, wlc, sed, nq, fo, ovf, lblc's fallback) return.
 *   - lvs_mtree: a max segment tree answering "first leaf at or after i whose
 *     value is >= t" (rr, wrr).
 *   - lvs_fenwick: prefix sums of weights with a lower-bound search (twos).
 *   - lvs_lcache: the locality cache of lblc/lblcr: destination address ->
 *     server (or server set), fixed capacity, incremental expiry.
 *
 * All memory is allocated by the *_init functions (control path); the query
 * and update functions never allocate.
 */
#ifndef LVS_SCHED_TREE_H
#define LVS_SCHED_TREE_H

#include "model.h"
#include "sched.h"

#define LVS_IDX_NONE UINT32_MAX

/* ---- connection-count helpers (the kernel's definitions) ---- */

static inline uint64_t lvs_sched_cnt(int32_t v)
{
	return v > 0 ? (uint64_t)v : 0; /* counters are never negative; be safe */
}

/* ip_vs_dest_conn_overhead(): active connections cost 256 inactive ones. */
static inline uint64_t lvs_sched_overhead(const struct lvs_dest *d)
{
	return (lvs_sched_cnt(lvs_dest_active(d)) << 8) + lvs_sched_cnt(lvs_dest_inactive(d));
}

/* Usable for new connections at all: weight > 0 and not over u_threshold. */
static inline bool lvs_sched_usable(const struct lvs_dest *d)
{
	return d->c.weight > 0 && !lvs_dest_overloaded(d);
}

/* a/b < c/d for non-negative a, c and positive b, d, exactly. */
static inline bool lvs_ratio_lt(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return (unsigned __int128)a * d < (unsigned __int128)c * b;
}

/* 32-bit golden-ratio hash to `bits` bits (the kernel's hash_32()). */
static inline uint32_t lvs_hash32(uint32_t v, unsigned bits)
{
	return (uint32_t)(v * 0x61C88647u) >> (32 - bits);
}

/* Fold an address to 32 bits, host order, as the kernel's hashing
 * schedulers do (IPv6: XOR of the four words; IPv4 has w[1..3] == 0). */
static inline uint32_t lvs_addr_fold(const union lvs_addr *a)
{
	return ntohl(a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3]);
}

/* Client port that takes part in sh/mh hashing (host order): the source
 * port with -b sh-port / mh-port (the same flag bit) for TCP, UDP and SCTP,
 * else 0, as the kernel's ip_vs_sh_get_port()/ip_vs_mh_get_port(). */
static inline uint16_t lvs_sched_hash_port(const struct lvs_service *svc,
                                           const struct lvs_pkt_info *pi)
{
	if (!(svc->c.flags & LVS_SVC_F_SCHED_SH_PORT))
		return 0;
	switch (pi->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		return ntohs(pi->sport);
	default:
		return 0;
	}
}

/* ---- tournament tree ---- */

#define LVS_TT_OFF UINT32_MAX /* key class of a leaf that must never win */

struct lvs_tt_key {
	uint64_t num; /* cost = num / den; den > 0 unless cls == LVS_TT_OFF */
	uint64_t den;
	uint32_t cls; /* lower class wins before the ratio is looked at */
};

struct lvs_ttree {
	uint32_t n;             /* leaves in use */
	uint32_t size;          /* power of two >= n; leaves live at node[size + i] */
	uint32_t *node;         /* [2 * size]: winning leaf of each subtree */
	struct lvs_tt_key *key; /* [size]: padding leaves are LVS_TT_OFF */
};

int lvs_ttree_init(struct lvs_ttree *t, uint32_t n);
void lvs_ttree_free(struct lvs_ttree *t);
/* Set leaf i's key without updating its ancestors (bulk load), then
 * lvs_ttree_rebuild() once: O(n). */
void lvs_ttree_load(struct lvs_ttree *t, uint32_t i, const struct lvs_tt_key *k);
void lvs_ttree_rebuild(struct lvs_ttree *t);
/* Change leaf i's key and replay its matches: O(log n). */
void lvs_ttree_set(struct lvs_ttree *t, uint32_t i, const struct lvs_tt_key *k);

/* Index of the best leaf, or LVS_IDX_NONE when every leaf is OFF. O(1). */
static inline uint32_t lvs_ttree_winner(const struct lvs_ttree *t)
{
	uint32_t w = t->node[1];
	return t->key[w].cls == LVS_TT_OFF ? LVS_IDX_NONE : w;
}

/*
 * Generic "least cost" scheduler on top of the tree: the scheduler supplies
 * only its key function.  sched_data is a struct lvs_tsched.
 */
typedef void (*lvs_tt_keyfn)(const struct lvs_dest *d, struct lvs_tt_key *k);

struct lvs_tsched {
	struct lvs_ttree t;
	lvs_tt_keyfn key;
};

int lvs_tsched_init(struct lvs_service *svc, lvs_tt_keyfn key);
void lvs_tsched_done(struct lvs_service *svc);
struct lvs_dest *lvs_tsched_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                 lvs_time_t now);
void lvs_tsched_changed(struct lvs_service *svc, struct lvs_dest *d);

/* Keys shared with lblc/lblcr (defined in sched_wlc.c). */
void lvs_sched_wlc_key(const struct lvs_dest *d, struct lvs_tt_key *k);

/* mh diagnostics: copy the lookup table (index into svc->dests per entry,
 * 0xffff = empty) into entries[0..max); returns the table size, 0 if svc
 * does not use mh.  Control path (tests, diagnostics). */
uint32_t lvs_sched_mh_table(const struct lvs_service *svc, uint16_t *entries, uint32_t max);

/* ---- max tree ---- */

struct lvs_mtree {
	uint32_t n;
	uint32_t size;
	uint64_t *mx; /* [2 * size]; leaf i at mx[size + i], padding 0 */
};

int lvs_mtree_init(struct lvs_mtree *t, uint32_t n);
void lvs_mtree_free(struct lvs_mtree *t);
void lvs_mtree_set(struct lvs_mtree *t, uint32_t i, uint64_t v);
static inline uint64_t lvs_mtree_get(const struct lvs_mtree *t, uint32_t i)
{
	return t->mx[t->size + i];
}
static inline uint64_t lvs_mtree_max(const struct lvs_mtree *t)
{
	return t->mx[1];
}
/* First index i >= from with value >= thr (thr >= 1), or LVS_IDX_NONE. */
uint32_t lvs_mtree_find(const struct lvs_mtree *t, uint32_t from, uint64_t thr);

/* ---- Fenwick tree (prefix sums) ---- */

struct lvs_fenwick {
	uint32_t n;
	uint32_t top; /* highest power of two <= n (0 if n == 0) */
	uint64_t *s;  /* [n + 1], 1-based */
};

int lvs_fenwick_init(struct lvs_fenwick *f, uint32_t n);
void lvs_fenwick_free(struct lvs_fenwick *f);
void lvs_fenwick_add(struct lvs_fenwick *f, uint32_t i, int64_t delta);
/* Smallest index i with sum(0..i) >= target (target >= 1), or LVS_IDX_NONE. */
uint32_t lvs_fenwick_lower_bound(const struct lvs_fenwick *f, uint64_t target);

/* ---- small deterministic PRNG (splitmix64) ---- */

static inline uint64_t lvs_prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform-enough value in [0, bound) (bound > 0), by 128-bit multiply. */
static inline uint64_t lvs_prng_below(uint64_t *state, uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)lvs_prng_next(state) * bound) >> 64);
}

/* ---- locality cache (lblc, lblcr) ---- */

#define LVS_LC_BITS     10 /* 1024 buckets, IP_VS_LBLC_TAB_BITS */
#define LVS_LC_BUCKETS  (1u << LVS_LC_BITS)
#define LVS_LC_CAP      16384 /* entries; the kernel's soft max_size */
#define LVS_LC_PRESSURE (LVS_LC_CAP * 3 / 4)
#define LVS_LC_ELEMS    (LVS_LC_CAP * 2) /* lblcr set members */

struct lvs_lc_entry {
	union lvs_addr addr;
	lvs_time_t lastuse;
	lvs_time_t lastmod; /* lblcr: last change of the server set */
	uint32_t next;      /* bucket chain / free list */
	uint32_t val;       /* lblc: dest index; lblcr: first set member */
	uint32_t setsize;   /* lblcr */
};

struct lvs_lc_elem {
	uint32_t dest; /* index in svc->dests */
	uint32_t next;
};

struct lvs_lcache {
	uint32_t *bucket; /* [LVS_LC_BUCKETS] heads */
	struct lvs_lc_entry *e;
	uint32_t used; /* never-used entries start here (pages stay untouched) */
	uint32_t free_head;
	uint32_t count;
	uint32_t rover;             /* next bucket for incremental expiry */
	lvs_time_t expire;          /* unused this long: gone (lblc(r)_expiration) */
	lvs_time_t pressure_expire; /* when above LVS_LC_PRESSURE (ENTRY_TIMEOUT) */
	struct lvs_lc_elem *el;     /* NULL for lblc */
	uint32_t el_used;
	uint32_t el_free;
};

int lvs_lcache_init(struct lvs_lcache *c, bool with_sets, lvs_time_t expire);
void lvs_lcache_free(struct lvs_lcache *c);
/* Entry for addr, or LVS_IDX_NONE.  An entry unused for `expire` is removed
 * here rather than returned. */
uint32_t lvs_lcache_lookup(struct lvs_lcache *c, const union lvs_addr *addr, lvs_time_t now);
/* New entry (lastuse = lastmod = now, empty set / val NONE), or
 * LVS_IDX_NONE when the cache is full. */
uint32_t lvs_lcache_insert(struct lvs_lcache *c, const union lvs_addr *addr, lvs_time_t now);
/* Expire stale entries of one bucket (bounded work per new connection). */
void lvs_lcache_gc_step(struct lvs_lcache *c, lvs_time_t now);
/* lblcr server sets.  add puts dest first (no-op if present or no memory,
 * returns whether it was added); del removes one member. */
bool lvs_lcache_set_add(struct lvs_lcache *c, uint32_t ent, uint32_t dest, lvs_time_t now);
void lvs_lcache_set_del(struct lvs_lcache *c, uint32_t ent, uint32_t dest, lvs_time_t now);

/*
 * The part lblc and lblcr share: the wlc choice over every destination
 * (a tournament tree) and how many destinations are "light" (active * 2 <
 * weight), which decides whether a cached destination with more active
 * connections than its weight may be passed over.
 */
struct lvs_lbl_base {
	struct lvs_ttree t;
	uint8_t *light; /* per destination */
	uint32_t nlight;
};
/* Build for svc's destinations: 0 or -ENOMEM (then base is freed). */
int lvs_lbl_base_init(struct lvs_lbl_base *b, const struct lvs_service *svc);
void lvs_lbl_base_free(struct lvs_lbl_base *b);
/* d's counters changed (under the service lock). */
void lvs_lbl_base_changed(struct lvs_lbl_base *b, const struct lvs_service *svc,
			  struct lvs_dest *d);

#endif
