/*
 * conn_lookup.c - the connection table's hash chains and lookups (see
 * conn.h for the contract and conn_priv.h for the layout): lock-free
 * readers, inserts by compare-and-swap at a chain's head, unlinks under
 * the bucket head's lock bit, and the lookups themselves, one at a time,
 * in bursts, and in the stages the director interleaves with its own work
 * so the cache misses of a burst overlap.
 *
 * Kernel IPVS behaviour kept here (ip_vs_conn_in_get / ip_vs_conn_out_get,
 * ip_vs_ct_in_get): client-side lookups by (proto, caddr, cport, vaddr,
 * vport), real-server-side ones by (proto, daddr, dport, caddr, cport), a
 * template (cport 0) never returned by a connection lookup, and the newest
 * of two entries with the same key found first (entries go in at a
 * chain's head).
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_priv.h"

/* ------------------------------------------------------------ hash chains */

/* The entry's own addresses, full width. */
void conn_entry_addrs(const struct lvs_conn_table *t, const struct lvs_conn *c,
                      union lvs_addr *caddr, union lvs_addr *vaddr, union lvs_addr *daddr)
{
	if (conn_flags_load(c) & CONN_F_EXT) {
		const struct conn_ext *x = conn_ext_of(t, c);
		*caddr = x->caddr;
		*vaddr = x->vaddr;
		*daddr = x->daddr;
	} else {
		lvs_addr_set4(caddr, c->caddr);
		lvs_addr_set4(vaddr, c->vaddr);
		lvs_addr_set4(daddr, c->daddr);
	}
}

/* Push idx at the head of a chain: one compare-and-swap, which waits
 * only while an unlink holds the bucket.  The release publishes the fully
 * written entry to lock-free readers. */
void conn_chain_insert(uint32_t *head, uint32_t *link, uint32_t idx)
{
	uint32_t h = __atomic_load_n(head, __ATOMIC_RELAXED);

	for (;;) {
		if (LVS_UNLIKELY(h & CONN_HEAD_LOCK)) {
			lvs_cpu_relax();
			h = __atomic_load_n(head, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_store_n(link, h, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(head, &h, idx, true, __ATOMIC_RELEASE,
		                                __ATOMIC_RELAXED))
			return;
	}
}

static inline uint32_t *chain_link(const struct lvs_conn_table *t, bool out, uint32_t idx)
{
	return out ? &conn_at(t, idx)->out_next : &conn_at(t, idx)->in_next;
}

/* Unlink idx under the bucket's lock bit; its own next link stays intact
 * for readers standing on it. */
static void chain_remove(struct lvs_conn_table *t, bool out, uint32_t b, uint32_t idx)
{
	uint32_t *head = out ? conn_head_out(t, b) : conn_head_in(t, b);
	uint32_t h = __atomic_load_n(head, __ATOMIC_RELAXED), *pp, cur;

	for (;;) {
		if (h & CONN_HEAD_LOCK) {
			lvs_cpu_relax();
			h = __atomic_load_n(head, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(head, &h, h | CONN_HEAD_LOCK, true,
		                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	if (h == idx) {
		/* Unlink and unlock in one store. */
		__atomic_store_n(head, __atomic_load_n(chain_link(t, out, idx), __ATOMIC_RELAXED),
		                 __ATOMIC_RELEASE);
		return;
	}
	for (pp = chain_link(t, out, h); (cur = *pp) != 0; pp = chain_link(t, out, cur)) {
		if (cur == idx) {
			__atomic_store_n(pp, *chain_link(t, out, idx), __ATOMIC_RELEASE);
			break;
		}
	}
	__atomic_store_n(head, h, __ATOMIC_RELEASE);
}

void conn_unhash(struct lvs_conn_table *t, uint32_t idx)
{
	struct lvs_conn *c = conn_at(t, idx);
	bool v6 = (c->bits & CONN_B_AF6) != 0;
	union lvs_addr ca, va, da;

	conn_entry_addrs(t, c, &ca, &va, &da);
	chain_remove(t, false, conn_key_bucket(t, v6, c->proto, &ca, c->cport, &va, c->vport), idx);
	if (!(conn_flags_load(c) & LVS_CONN_F_TEMPLATE))
		chain_remove(t, true,
		             conn_key_bucket(t, v6, c->proto, &da, c->dport, &ca, c->cport), idx);
}

/* ---------------------------------------------------------------- lookups */

/*
 * What a lookup compares, prepared once per key: the packet's (saddr,
 * sport, daddr, dport) with IPv6 addresses folded as entries keep them.
 */
struct conn_kw {
	const union lvs_addr *s, *d;
	uint32_t fs, fd;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t af6; /* CONN_B_AF6 or 0 */
};

static inline void kw_init(struct conn_kw *k, uint8_t af, uint8_t proto, const union lvs_addr *s,
                           uint16_t sport, const union lvs_addr *d, uint16_t dport)
{
	bool v6 = conn_is_v6(af);

	k->s = s;
	k->d = d;
	k->fs = v6 ? conn_addr_fold(s) : s->w[0];
	k->fd = v6 ? conn_addr_fold(d) : d->w[0];
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->af6 = v6 ? CONN_B_AF6 : 0;
}

/*
 * In-table entry c against (caddr, cport, vaddr, vport) = (s, sport, d,
 * dport).  The in table holds connections and templates under the same
 * key shape; want_tmpl selects which kind matches.  A dying entry
 * (lvs_conn_expire_soon) never matches, so a new one with the same key can
 * take its place at once.
 */
static inline bool match_in(const struct lvs_conn_table *t, const struct lvs_conn *c,
                            const struct conn_kw *k, bool want_tmpl)
{
	uint16_t fl;
	bool tm;

	if (c->caddr != k->fs || c->vaddr != k->fd || c->cport != k->sport ||
	    c->vport != k->dport || c->proto != k->proto || (c->bits & CONN_B_AF6) != k->af6)
		return false;
	fl = conn_flags_load(c);
	tm = (fl & LVS_CONN_F_TEMPLATE) != 0;
	if (tm != want_tmpl || (fl & CONN_F_DYING))
		return false;
	if (LVS_LIKELY(!(fl & CONN_F_EXT)))
		return true;
	return lvs_addr_eq(&conn_ext_of(t, c)->caddr, k->s) &&
	       lvs_addr_eq(&conn_ext_of(t, c)->vaddr, k->d);
}

/* Out-table entry c against (daddr, dport, caddr, cport) = (s, sport, d,
 * dport). */
static inline bool match_out(const struct lvs_conn_table *t, const struct lvs_conn *c,
                             const struct conn_kw *k)
{
	uint16_t fl;

	if (c->caddr != k->fd || c->dport != k->sport || c->cport != k->dport ||
	    c->proto != k->proto || (c->bits & CONN_B_AF6) != k->af6)
		return false;
	fl = conn_flags_load(c);
	if (LVS_UNLIKELY(fl & CONN_F_DYING))
		return false;
	if (LVS_LIKELY(!(fl & CONN_F_EXT)))
		return c->daddr == k->fs;
	return lvs_addr_eq(&conn_ext_of(t, c)->daddr, k->s) &&
	       lvs_addr_eq(&conn_ext_of(t, c)->caddr, k->d);
}

/* Walk a chain from idx.  Chains are short (buckets >= entries); the
 * bound only guards against a corrupted table. */
static inline struct lvs_conn *walk_in(const struct lvs_conn_table *t, uint32_t idx,
                                       const struct conn_kw *k, bool want_tmpl)
{
	uint32_t guard = t->max + 1;

	while (idx && guard--) {
		struct lvs_conn *c = conn_at(t, idx);
		if (match_in(t, c, k, want_tmpl))
			return c;
		idx = __atomic_load_n(&c->in_next, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

static inline struct lvs_conn *walk_out(const struct lvs_conn_table *t, uint32_t idx,
                                        const struct conn_kw *k)
{
	uint32_t guard = t->max + 1;

	while (idx && guard--) {
		struct lvs_conn *c = conn_at(t, idx);
		if (match_out(t, c, k))
			return c;
		idx = __atomic_load_n(&c->out_next, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

struct lvs_conn *lvs_conn_lookup_in(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                                    const union lvs_addr *caddr, uint16_t cport,
                                    const union lvs_addr *vaddr, uint16_t vport)
{
	struct conn_kw k;

	kw_init(&k, af, proto, caddr, cport, vaddr, vport);
	return walk_in(t,
	               conn_head_load(conn_head_in(t, conn_key_bucket(t, conn_is_v6(af), proto,
	                                                              caddr, cport, vaddr, vport))),
	               &k, false);
}

struct lvs_conn *lvs_conn_tmpl_lookup(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                                      const union lvs_addr *caddr, const union lvs_addr *vaddr,
                                      uint16_t vport)
{
	struct conn_kw k;

	kw_init(&k, af, proto, caddr, 0, vaddr, vport);
	return walk_in(t,
	               conn_head_load(conn_head_in(t, conn_key_bucket(t, conn_is_v6(af), proto,
	                                                              caddr, 0, vaddr, vport))),
	               &k, true);
}

/*
 * A template with PE data: its key holds the data's tag in the cport
 * place; the data itself is compared in the PE area (written before the
 * template was hashed, and kept until the entry is reused after the grace
 * period, so a reader never sees another call's bytes).
 */
struct lvs_conn *lvs_conn_tmpl_lookup_pe(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                                         const union lvs_addr *caddr,
                                         const union lvs_addr *vaddr, uint16_t vport,
                                         const uint8_t *pe_data, uint8_t pe_len)
{
	struct conn_kw k;
	uint16_t tag;
	uint32_t idx, guard = t->max + 1;

	if (!pe_len)
		return lvs_conn_tmpl_lookup(t, af, proto, caddr, vaddr, vport);
	if (!t->pe || !pe_data)
		return NULL;
	tag = conn_pe_tag(t, pe_data, pe_len);
	kw_init(&k, af, proto, caddr, tag, vaddr, vport);
	idx = conn_head_load(
	        conn_head_in(t, conn_key_bucket(t, conn_is_v6(af), proto, caddr, tag, vaddr, vport)));
	while (idx && guard--) {
		struct lvs_conn *c = conn_at(t, idx);

		if (match_in(t, c, &k, true) && (conn_flags_load(c) & LVS_CONN_F_PE)) {
			const uint8_t *s = conn_pe_slot(t, idx);
			if (s[0] == pe_len && !memcmp(s + 1, pe_data, pe_len))
				return c;
		}
		idx = __atomic_load_n(&c->in_next, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

struct lvs_conn *lvs_conn_lookup_out(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                                     const union lvs_addr *daddr, uint16_t dport,
                                     const union lvs_addr *caddr, uint16_t cport)
{
	struct conn_kw k;

	kw_init(&k, af, proto, daddr, dport, caddr, cport);
	return walk_out(
	        t,
	        conn_head_load(conn_head_out(
	                t, conn_key_bucket(t, conn_is_v6(af), proto, daddr, dport, caddr, cport))),
	        &k);
}

/*
 * Burst lookups: the lookups of a burst overlap their cache misses
 * instead of paying them one after the other.  Pass 1 hashes every key
 * and prefetches its bucket pair, pass 2 reads the (now cached) heads and
 * prefetches the first entries, pass 3 compares.
 */
static unsigned lookup_burst(struct lvs_conn_table *t, bool out, const struct lvs_conn_key *k,
                             unsigned n, struct lvs_conn **res)
{
	uint32_t b[LVS_CONN_BURST_MAX], first[LVS_CONN_BURST_MAX];
	unsigned hits = 0;

	if (n > LVS_CONN_BURST_MAX)
		n = LVS_CONN_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		b[i] = conn_key_bucket(t, conn_is_v6(k[i].af), k[i].proto, &k[i].saddr, k[i].sport,
		                       &k[i].daddr, k[i].dport);
		__builtin_prefetch(conn_head_in(t, b[i]));
	}
	for (unsigned i = 0; i < n; i++) {
		first[i] = conn_head_load(out ? conn_head_out(t, b[i]) : conn_head_in(t, b[i]));
		if (first[i])
			__builtin_prefetch(conn_at(t, first[i]));
	}
	for (unsigned i = 0; i < n; i++) {
		struct conn_kw kw;

		kw_init(&kw, k[i].af, k[i].proto, &k[i].saddr, k[i].sport, &k[i].daddr, k[i].dport);
		res[i] = out ? walk_out(t, first[i], &kw) : walk_in(t, first[i], &kw, false);
		hits += res[i] != NULL;
	}
	return hits;
}

static unsigned lookup_bursts(struct lvs_conn_table *t, bool out, const struct lvs_conn_key *k,
                              unsigned n, struct lvs_conn **res)
{
	unsigned hits = 0;

	for (unsigned i = 0; i < n; i += LVS_CONN_BURST_MAX)
		hits += lookup_burst(t, out, k + i, n - i, res + i);
	return hits;
}

unsigned lvs_conn_lookup_in_burst(struct lvs_conn_table *t, const struct lvs_conn_key *k,
                                  unsigned n, struct lvs_conn **res)
{
	return lookup_bursts(t, false, k, n, res);
}

unsigned lvs_conn_lookup_out_burst(struct lvs_conn_table *t, const struct lvs_conn_key *k,
                                   unsigned n, struct lvs_conn **res)
{
	return lookup_bursts(t, true, k, n, res);
}

/*
 * The director's burst lookup, in stages it interleaves with its own
 * per-packet work so that every miss has a packet's worth of work to
 * hide behind (see conn.h).
 */

void lvs_conn_lookup_start(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
                           const struct lvs_pkt_info *pi, bool replies)
{
	st->b[i] = conn_key_bucket(t, conn_is_v6(pi->af), pi->proto, &pi->saddr, pi->sport,
	                           &pi->daddr, pi->dport);
	__builtin_prefetch(conn_head_in(t, st->b[i]));
	if (replies)
		__builtin_prefetch(conn_head_out(t, st->b[i]));
}

/* st->oh[i] before the out table's head was read. */
#define OH_UNREAD UINT32_MAX

void lvs_conn_lookup_fetch(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
                           bool replies)
{
	uint32_t hi = conn_head_load(conn_head_in(t, st->b[i]));

	st->ih[i] = hi;
	st->iw[i] = hi;
	st->hit[i] = 0;
	st->oh[i] = OH_UNREAD;
	if (hi)
		__builtin_prefetch(conn_at(t, hi));
	if (replies) {
		uint32_t ho = conn_head_load(conn_head_out(t, st->b[i]));
		st->oh[i] = ho;
		if (ho)
			__builtin_prefetch(conn_at(t, ho));
	}
}

/* Chains of two or more are common (about one bucket per entry): compare
 * the first entry now, and when it is not the one, start loading the next,
 * so that finish does not wait for it.  When the in table misses and fetch
 * read the out table's head, the same there. */
void lvs_conn_lookup_check(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
                           const struct lvs_pkt_info *pi)
{
	uint32_t idx = st->iw[i], nx;
	struct lvs_conn *c;
	struct conn_kw k;

	if (!idx && (st->oh[i] == OH_UNREAD || !st->oh[i]))
		return;
	kw_init(&k, pi->af, pi->proto, &pi->saddr, pi->sport, &pi->daddr, pi->dport);
	if (idx) {
		c = conn_at(t, idx);
		if (match_in(t, c, &k, false)) {
			st->hit[i] = 1;
			return;
		}
		nx = __atomic_load_n(&c->in_next, __ATOMIC_ACQUIRE);
		st->iw[i] = nx;
		if (nx) {
			__builtin_prefetch(conn_at(t, nx));
			return;
		}
	}
	/* A miss in the in table: the same for the out table's first entry,
	 * when fetch read its head. */
	idx = st->oh[i];
	if (idx == OH_UNREAD || !idx)
		return;
	c = conn_at(t, idx);
	if (match_out(t, c, &k)) {
		st->hit[i] = 2;
		return;
	}
	nx = __atomic_load_n(&c->out_next, __ATOMIC_ACQUIRE);
	st->ow[i] = nx;
	st->hit[i] = 3;
	if (nx)
		__builtin_prefetch(conn_at(t, nx));
}

struct lvs_conn *lvs_conn_lookup_finish(const struct lvs_conn_table *t, struct lvs_conn_burst *st,
                                        unsigned i, const struct lvs_pkt_info *pi,
                                        struct lvs_conn **out)
{
	struct lvs_conn *c;
	struct conn_kw k;

	if (LVS_LIKELY(st->hit[i] == 1))
		return conn_at(t, st->iw[i]);
	*out = NULL;
	if (st->hit[i] == 2) {
		*out = conn_at(t, st->oh[i]);
		return NULL;
	}
	kw_init(&k, pi->af, pi->proto, &pi->saddr, pi->sport, &pi->daddr, pi->dport);
	if (st->hit[i] == 3) {
		/* check found the in table missing and the out table's first
		 * entry not matching */
		*out = walk_out(t, st->ow[i], &k);
		return NULL;
	}
	if (st->iw[i] && (c = walk_in(t, st->iw[i], &k, false)) != NULL)
		return c;
	if (st->oh[i] == OH_UNREAD)
		st->oh[i] = conn_head_load(conn_head_out(t, st->b[i]));
	if (st->oh[i])
		*out = walk_out(t, st->oh[i], &k);
	return NULL;
}

bool lvs_conn_lookup_unchanged(const struct lvs_conn_table *t, const struct lvs_conn_burst *st,
                               unsigned i)
{
	return conn_head_load(conn_head_in(t, st->b[i])) == st->ih[i] &&
	       (st->oh[i] == OH_UNREAD || conn_head_load(conn_head_out(t, st->b[i])) == st->oh[i]);
}

void lvs_conn_prefetch_in(const struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                          const union lvs_addr *caddr, uint16_t cport, const union lvs_addr *vaddr,
                          uint16_t vport)
{
	__builtin_prefetch(conn_head_in(
	        t, conn_key_bucket(t, conn_is_v6(af), proto, caddr, cport, vaddr, vport)));
}

void lvs_conn_prefetch_out(const struct lvs_conn_table *t, uint8_t af, uint8_t proto,
                           const union lvs_addr *daddr, uint16_t dport, const union lvs_addr *caddr,
                           uint16_t cport)
{
	__builtin_prefetch(conn_head_out(
	        t, conn_key_bucket(t, conn_is_v6(af), proto, daddr, dport, caddr, cport)));
}
