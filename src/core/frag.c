/*
 * frag.c - the per-worker fragment table and IPv4 splitting (see frag.h).
 *
 * Fragment geometry is RFC 791 (IPv4: offset in 8-byte units, MF) and
 * RFC 8200 4.5 (IPv6 fragment header); the acceptance rules follow the
 * kernel's ip_frag_queue / inet_frag_queue_insert: a fragment wholly inside
 * a run of bytes already received is a duplicate and only it is dropped;
 * any other overlap, a zero-length fragment, a last fragment that ends
 * before data already seen or disagrees with an earlier last one, and data
 * past the known end kill the datagram (RFC 5722 asks the same for IPv6).
 * Unlike the kernel, a non-final IPv4 fragment whose length is not a
 * multiple of 8 kills the datagram instead of being trimmed: only a forger
 * sends one.  RFC 1858: a TCP fragment at offset 8 (which could rewrite the
 * TCP flags of its first) is dropped.
 *
 * Contexts live in one array with a hash of chains and, per family, a list
 * in creation order: their deadline is their creation plus a constant, so
 * the head of a list is always the next to expire.  Slots (frames held or
 * made) are one preallocated block; a slot is free, held by a context,
 * ready (waiting for lvs_frag_take) or taken (until lvs_frag_put_all).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "csum.h"
#include "frag.h"

#define FRAG_HASH 8192 /* buckets; a power of two */
#define NIL       0xffffu
#define SLOT_HEAD (LVS_PKT_HEADROOM + 16)
#define SLOT_TAIL 256
#define SLOT_BUF  (SLOT_HEAD + LVS_FRAG_SLOT_FRAME + SLOT_TAIL)

#define IP4_MF      0x2000
#define IP4_OFFMASK 0x1fff

#define CTX_F_FIRST 0x1 /* the first fragment came: ports known */
#define CTX_F_LAST  0x2 /* the last fragment came: end known */
#define CTX_F_BAD   0x4 /* dropped: later fragments are dropped too */

enum slot_state { SLOT_FREE, SLOT_HELD, SLOT_READY, SLOT_TAKEN };

struct frag_ctx {
	uint32_t hnext;      /* hash chain, index + 1; 0 ends it */
	uint32_t prev, next; /* expiry list of its family, or free list (next); index + 1 */
	lvs_time_t deadline;
	union lvs_addr saddr, daddr;
	uint32_t id;
	uint8_t af, proto, flags, nr;
	uint16_t sport, dport; /* network order */
	uint16_t held;         /* first held slot, NIL: none */
	uint32_t end;          /* payload bytes of the datagram, once CTX_F_LAST */
	struct {
		uint32_t lo, hi;
	} r[LVS_FRAG_RANGES]; /* received byte ranges, sorted, disjoint, not adjacent */
};

struct frag_slot {
	struct lvs_pkt p;
	uint8_t *buf;
	uint16_t next;
	uint8_t state;
};

struct lvs_frag_table {
	struct lvs_drop_stats *drops;
	uint64_t *dropped;
	uint32_t free_ctx;              /* index + 1 */
	uint32_t head[2], tail[2];      /* expiry lists, [0] IPv4, [1] IPv6; index + 1 */
	unsigned nctx, nslots;
	uint16_t free_slot, ready_head, ready_tail, taken;
	struct lvs_frag_stats st;
	uint8_t *mem;
	uint32_t bucket[FRAG_HASH];
	struct frag_ctx ctx[LVS_FRAG_CTX_MAX];
	struct frag_slot slot[LVS_FRAG_SLOTS];
};

static inline uint16_t rd16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return ntohs(v);
}

static inline void wr16(uint8_t *b, uint16_t v)
{
	v = htons(v);
	memcpy(b, &v, 2);
}

struct lvs_frag_table *lvs_frag_new(struct lvs_drop_stats *drops, uint64_t *dropped)
{
	struct lvs_frag_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	ft->mem = calloc(LVS_FRAG_SLOTS, SLOT_BUF);
	if (!ft->mem) {
		free(ft);
		return NULL;
	}
	ft->drops = drops;
	ft->dropped = dropped;
	for (uint32_t i = 0; i < LVS_FRAG_CTX_MAX; i++)
		ft->ctx[i].next = i + 2 <= LVS_FRAG_CTX_MAX ? i + 2 : 0;
	ft->free_ctx = 1;
	for (unsigned i = 0; i < LVS_FRAG_SLOTS; i++) {
		ft->slot[i].buf = ft->mem + (size_t)i * SLOT_BUF;
		ft->slot[i].next = i + 1 < LVS_FRAG_SLOTS ? (uint16_t)(i + 1) : NIL;
	}
	ft->free_slot = 0;
	ft->ready_head = ft->ready_tail = ft->taken = NIL;
	return ft;
}

void lvs_frag_free(struct lvs_frag_table *ft)
{
	if (!ft)
		return;
	free(ft->mem);
	free(ft);
}

static void count_drop(struct lvs_frag_table *ft, enum lvs_drop r)
{
	if (ft->drops)
		ft->drops->n[r]++;
	if (ft->dropped)
		(*ft->dropped)++;
}

static uint32_t key_hash(uint8_t af, uint8_t proto, uint32_t id, const union lvs_addr *s,
			 const union lvs_addr *d)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)af << 8 | proto) ^ ((uint64_t)id << 32);

	for (int i = 0; i < 4; i++) {
		h ^= ((uint64_t)s->w[i] << 32) | d->w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return (uint32_t)h & (FRAG_HASH - 1);
}

static struct frag_ctx *ctx_find(struct lvs_frag_table *ft, const struct lvs_pkt_info *pi,
				 uint32_t *bucket)
{
	uint32_t b = key_hash(pi->af, pi->proto, pi->frag_id, &pi->saddr, &pi->daddr);

	*bucket = b;
	for (uint32_t i = ft->bucket[b]; i; i = ft->ctx[i - 1].hnext) {
		struct frag_ctx *c = &ft->ctx[i - 1];

		if (c->id == pi->frag_id && c->af == pi->af && c->proto == pi->proto &&
		    lvs_addr_eq(&c->saddr, &pi->saddr) && lvs_addr_eq(&c->daddr, &pi->daddr))
			return c;
	}
	return NULL;
}

/* Give back the frames c holds, each counted as dropped for r. */
static void ctx_drop_held(struct lvs_frag_table *ft, struct frag_ctx *c, enum lvs_drop r)
{
	while (c->held != NIL) {
		struct frag_slot *s = &ft->slot[c->held];

		c->held = s->next;
		s->state = SLOT_FREE;
		s->next = ft->free_slot;
		ft->free_slot = (uint16_t)(s - ft->slot);
		ft->nslots--;
		count_drop(ft, r);
	}
}

static void ctx_free(struct lvs_frag_table *ft, struct frag_ctx *c, enum lvs_drop r)
{
	uint32_t idx = (uint32_t)(c - ft->ctx) + 1, fam = c->af == AF_INET6;
	uint32_t b = key_hash(c->af, c->proto, c->id, &c->saddr, &c->daddr);
	uint32_t *pp = &ft->bucket[b];

	ctx_drop_held(ft, c, r);
	while (*pp != idx)
		pp = &ft->ctx[*pp - 1].hnext;
	*pp = c->hnext;
	if (c->prev)
		ft->ctx[c->prev - 1].next = c->next;
	else
		ft->head[fam] = c->next;
	if (c->next)
		ft->ctx[c->next - 1].prev = c->prev;
	else
		ft->tail[fam] = c->prev;
	c->next = ft->free_ctx;
	ft->free_ctx = idx;
	ft->nctx--;
}

unsigned lvs_frag_expire(struct lvs_frag_table *ft, lvs_time_t now)
{
	unsigned n = 0;

	for (int fam = 0; fam < 2; fam++) {
		while (ft->head[fam] && ft->ctx[ft->head[fam] - 1].deadline <= now) {
			struct frag_ctx *c = &ft->ctx[ft->head[fam] - 1];

			/* a datagram dropped as bad was counted then */
			if (!(c->flags & CTX_F_BAD))
				ft->st.expired++;
			ctx_free(ft, c, LVS_DROP_FRAG_TIMEOUT);
			n++;
		}
	}
	return n;
}

/* A new context for pi's datagram, or NULL when the table is full (after
 * expiring what is due: the kernel's evictor does not take live ones). */
static struct frag_ctx *ctx_new(struct lvs_frag_table *ft, const struct lvs_pkt_info *pi,
				uint32_t b, lvs_time_t now)
{
	uint32_t idx, fam = pi->af == AF_INET6;
	struct frag_ctx *c;

	if (!ft->free_ctx && !lvs_frag_expire(ft, now))
		return NULL;
	if (!ft->free_ctx)
		return NULL;
	idx = ft->free_ctx;
	c = &ft->ctx[idx - 1];
	ft->free_ctx = c->next;
	memset(c, 0, sizeof(*c));
	c->held = NIL;
	c->af = pi->af;
	c->proto = pi->proto;
	c->id = pi->frag_id;
	c->saddr = pi->saddr;
	c->daddr = pi->daddr;
	c->deadline = now + (pi->af == AF_INET6 ? LVS_FRAG_TIMEOUT6_NS : LVS_FRAG_TIMEOUT4_NS);
	c->hnext = ft->bucket[b];
	ft->bucket[b] = idx;
	c->prev = ft->tail[fam];
	if (c->prev)
		ft->ctx[c->prev - 1].next = idx;
	else
		ft->head[fam] = idx;
	ft->tail[fam] = idx;
	ft->nctx++;
	ft->st.datagrams++;
	return c;
}

/* Offset and length of the fragment's payload, and its M flag. */
static void frag_geom(const struct lvs_pkt *p, uint32_t *off, uint32_t *len, bool *more)
{
	const struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *h = p->data + pi->l3_off;

	if (pi->af == AF_INET) {
		uint32_t hlen = (uint32_t)(h[0] & 0xf) * 4;
		uint16_t fo = rd16(h + 6);

		*off = (uint32_t)(fo & IP4_OFFMASK) * 8;
		*more = fo & IP4_MF;
		*len = pi->l3_len - hlen;
	} else {
		const uint8_t *fh = p->data + pi->ip6_frag_off;
		uint16_t fo = rd16(fh + 2);

		*off = fo & 0xfff8;
		*more = fo & 1;
		*len = (uint32_t)pi->l3_off + pi->l3_len - (pi->ip6_frag_off + 8u);
	}
}

/* Mark c bad: its held frames and every later fragment are dropped. */
static enum lvs_drop ctx_kill(struct lvs_frag_table *ft, struct frag_ctx *c, enum lvs_drop r)
{
	c->flags |= CTX_F_BAD;
	ctx_drop_held(ft, c, LVS_DROP_FRAG_BAD);
	return r;
}

/* Account [off, off + len) to c.  LVS_DROP_NONE, FRAG_DUP (only this
 * fragment goes) or the reason c was killed for. */
static enum lvs_drop ctx_record(struct lvs_frag_table *ft, struct frag_ctx *c, uint32_t off,
				uint32_t len, bool more, bool v4)
{
	uint32_t end = off + len, top = c->nr ? c->r[c->nr - 1].hi : 0;
	unsigned i, j;

	if (len == 0)
		return ctx_kill(ft, c, v4 ? LVS_DROP_IP4_FRAG : LVS_DROP_IP6_FRAG);
	if (!more) {
		if (end < top || ((c->flags & CTX_F_LAST) && end != c->end))
			return ctx_kill(ft, c, LVS_DROP_FRAG_OVERLAP);
		c->flags |= CTX_F_LAST;
		c->end = end;
	} else {
		if (end & 7)
			return ctx_kill(ft, c, v4 ? LVS_DROP_IP4_FRAG : LVS_DROP_IP6_FRAG);
		if ((c->flags & CTX_F_LAST) && end > c->end)
			return ctx_kill(ft, c, LVS_DROP_FRAG_OVERLAP);
	}
	for (i = 0; i < c->nr; i++) {
		if (off >= c->r[i].lo && end <= c->r[i].hi)
			return LVS_DROP_FRAG_DUP;
		if (off < c->r[i].hi && end > c->r[i].lo)
			return ctx_kill(ft, c, LVS_DROP_FRAG_OVERLAP);
	}
	/* insert in order, then merge with the neighbours it touches */
	for (i = 0; i < c->nr && c->r[i].lo < off; i++)
		;
	if (i > 0 && c->r[i - 1].hi == off) {
		c->r[i - 1].hi = end;
		i--;
	} else if (i < c->nr && c->r[i].lo == end) {
		c->r[i].lo = off;
		return LVS_DROP_NONE;
	} else {
		if (c->nr == LVS_FRAG_RANGES)
			return ctx_kill(ft, c, LVS_DROP_FRAG_HOLES);
		memmove(&c->r[i + 1], &c->r[i], (c->nr - i) * sizeof(c->r[0]));
		c->r[i].lo = off;
		c->r[i].hi = end;
		c->nr++;
		return LVS_DROP_NONE;
	}
	j = i + 1;
	if (j < c->nr && c->r[j].lo == c->r[i].hi) {
		c->r[i].hi = c->r[j].hi;
		memmove(&c->r[j], &c->r[j + 1], (c->nr - j - 1) * sizeof(c->r[0]));
		c->nr--;
	}
	return LVS_DROP_NONE;
}

static bool ctx_complete(const struct frag_ctx *c)
{
	return (c->flags & (CTX_F_FIRST | CTX_F_LAST)) == (CTX_F_FIRST | CTX_F_LAST) && c->nr == 1 &&
	       c->r[0].lo == 0 && c->r[0].hi == c->end;
}

static struct frag_slot *slot_get(struct lvs_frag_table *ft)
{
	struct frag_slot *s;

	if (ft->free_slot == NIL)
		return NULL;
	s = &ft->slot[ft->free_slot];
	ft->free_slot = s->next;
	s->next = NIL;
	ft->nslots++;
	return s;
}

static void slot_ready(struct lvs_frag_table *ft, struct frag_slot *s)
{
	uint16_t i = (uint16_t)(s - ft->slot);

	s->state = SLOT_READY;
	s->next = NIL;
	if (ft->ready_tail != NIL)
		ft->slot[ft->ready_tail].next = i;
	else
		ft->ready_head = i;
	ft->ready_tail = i;
}

/* Copy p into a slot held by c. */
static enum lvs_frag_res hold(struct lvs_frag_table *ft, struct frag_ctx *c, struct lvs_pkt *p,
			      enum lvs_drop *why)
{
	struct frag_slot *s;

	if (p->len > LVS_FRAG_SLOT_FRAME || !(s = slot_get(ft))) {
		*why = LVS_DROP_FRAG_HOLD_FULL;
		return LVS_FRAG_DROP;
	}
	memcpy(s->buf + SLOT_HEAD, p->data, p->len);
	s->p = *p;
	s->p.data = s->buf + SLOT_HEAD;
	s->p.headroom = SLOT_HEAD;
	s->p.tailroom = SLOT_BUF - SLOT_HEAD - p->len;
	s->state = SLOT_HELD;
	s->next = c->held;
	c->held = (uint16_t)(s - ft->slot);
	ft->st.held++;
	return LVS_FRAG_HELD;
}

/* c's first came: what it holds goes to the ready list with its ports. */
static void ctx_release(struct lvs_frag_table *ft, struct frag_ctx *c)
{
	while (c->held != NIL) {
		struct frag_slot *s = &ft->slot[c->held];

		c->held = s->next;
		s->p.flags |= LVS_PKT_F_FRAG_OWN;
		s->p.frag_sport = c->sport;
		s->p.frag_dport = c->dport;
		slot_ready(ft, s);
		ft->st.released++;
	}
}

enum lvs_frag_res lvs_frag_in(struct lvs_frag_table *ft, struct lvs_pkt *p, lvs_time_t now,
			      enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	struct frag_ctx *c;
	uint32_t off, len, b;
	enum lvs_drop r;
	bool more;

	if (p->flags & LVS_PKT_F_FRAG_OWN) {
		pi->sport = p->frag_sport;
		pi->dport = p->frag_dport;
		return LVS_FRAG_GO;
	}
	frag_geom(p, &off, &len, &more);
	/* RFC 1858 3.2: offset 1 would let a fragment rewrite TCP's flags */
	if (pi->proto == IPPROTO_TCP && off == 8) {
		*why = LVS_DROP_FRAG_TINY;
		return LVS_FRAG_DROP;
	}
	c = ctx_find(ft, pi, &b);
	if (!c) {
		if (pi->frag == LVS_FRAG_LATER)
			return LVS_FRAG_NEW;
		c = ctx_new(ft, pi, b, now);
		if (!c) {
			*why = LVS_DROP_FRAG_TABLE_FULL;
			return LVS_FRAG_DROP;
		}
	}
	if (c->flags & CTX_F_BAD) {
		*why = LVS_DROP_FRAG_BAD;
		return LVS_FRAG_DROP;
	}
	r = ctx_record(ft, c, off, len, more, pi->af == AF_INET);
	if (r != LVS_DROP_NONE) {
		*why = r;
		return LVS_FRAG_DROP;
	}
	if (pi->frag == LVS_FRAG_FIRST) {
		c->sport = pi->sport;
		c->dport = pi->dport;
		c->flags |= CTX_F_FIRST;
		ctx_release(ft, c);
	} else if (!(c->flags & CTX_F_FIRST)) {
		return hold(ft, c, p, why);
	} else {
		pi->sport = c->sport;
		pi->dport = c->dport;
	}
	if (ctx_complete(c)) {
		ft->st.completed++;
		ctx_free(ft, c, LVS_DROP_NONE);
	}
	return LVS_FRAG_GO;
}

enum lvs_frag_res lvs_frag_hold(struct lvs_frag_table *ft, struct lvs_pkt *p, lvs_time_t now,
				enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	struct frag_ctx *c;
	uint32_t off, len, b;
	enum lvs_drop r;
	bool more;

	if (ctx_find(ft, pi, &b))
		return lvs_frag_in(ft, p, now, why);
	c = ctx_new(ft, pi, b, now);
	if (!c) {
		*why = LVS_DROP_FRAG_TABLE_FULL;
		return LVS_FRAG_DROP;
	}
	frag_geom(p, &off, &len, &more);
	r = ctx_record(ft, c, off, len, more, pi->af == AF_INET);
	if (r != LVS_DROP_NONE) {
		*why = r;
		return LVS_FRAG_DROP;
	}
	return hold(ft, c, p, why);
}

/* Options of a fragment after the first: RFC 791 copies only options with
 * the copied flag; as the kernel's ip_options_fragment, the others become
 * NOPs, so every fragment has the first one's header length. */
static void ip4_opts_fragment(uint8_t *opt, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t t = opt[i], l;

		if (t == 0)
			break;
		if (t == 1) {
			i++;
			continue;
		}
		l = opt[i + 1]; /* the parser checked every length */
		if (!(t & 0x80))
			memset(opt + i, 1, l);
		i += l;
	}
}

static void ip4_set(uint8_t *h, uint32_t hlen, uint32_t tot, uint16_t fo)
{
	wr16(h + 2, (uint16_t)tot);
	wr16(h + 6, fo);
	memset(h + 10, 0, 2);
	{
		uint16_t c = lvs_ip4_hdr_csum(h, hlen);
		memcpy(h + 10, &c, 2);
	}
}

int lvs_frag_split(struct lvs_frag_table *ft, struct lvs_pkt *p)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint8_t *h = p->data + pi->l3_off;
	uint32_t hlen, tot, payload, chunk, off0, npieces, l2 = pi->l3_off;
	uint16_t fo, sport = pi->sport, dport = pi->dport;
	bool mf0;

	if (pi->af != AF_INET || pi->ip4_df || p->gso_size)
		return -EINVAL;
	hlen = (uint32_t)(h[0] & 0xf) * 4;
	tot = pi->l3_len;
	if (p->frag_mtu < hlen + 8 || tot <= p->frag_mtu || (uint32_t)l2 + tot > p->len)
		return -EINVAL;
	payload = tot - hlen;
	chunk = (p->frag_mtu - hlen) & ~7u;
	npieces = (payload + chunk - 1) / chunk;
	if (npieces - 1 > LVS_FRAG_SLOTS - ft->nslots)
		return -ENOSPC;
	/* the L4 checksum covers the whole datagram: final before cutting */
	if ((p->flags & LVS_PKT_F_CSUM_PARTIAL) && lvs_pkt_l4_csum_complete(p))
		return -EINVAL;
	fo = rd16(h + 6);
	off0 = (uint32_t)(fo & IP4_OFFMASK) * 8;
	mf0 = fo & IP4_MF;
	fo &= (uint16_t)~(IP4_MF | IP4_OFFMASK);

	for (uint32_t k = 1; k < npieces; k++) {
		struct frag_slot *s = slot_get(ft);
		uint32_t pos = k * chunk, clen = payload - pos < chunk ? payload - pos : chunk;
		bool last = k == npieces - 1;
		uint8_t *d = s->buf + SLOT_HEAD, *nh = d + l2;

		memcpy(d, p->data, l2 + hlen);
		ip4_opts_fragment(nh + 20, hlen - 20);
		memcpy(nh + hlen, h + hlen + pos, clen);
		ip4_set(nh, hlen, hlen + clen,
			(uint16_t)(fo | ((off0 + pos) / 8) | (last && !mf0 ? 0 : IP4_MF)));
		lvs_pkt_init(&s->p, s->buf, SLOT_BUF, SLOT_HEAD, l2 + hlen + clen);
		s->p.ifindex = p->ifindex;
		s->p.mark = p->mark;
		if (lvs_pkt_parse(&s->p) != LVS_DROP_NONE) {
			/* cannot happen for a header the parser took; give it back */
			s->state = SLOT_FREE;
			s->next = ft->free_slot;
			ft->free_slot = (uint16_t)(s - ft->slot);
			ft->nslots--;
			continue;
		}
		s->p.flags |= LVS_PKT_F_FRAG_OWN;
		s->p.frag_sport = sport;
		s->p.frag_dport = dport;
		slot_ready(ft, s);
		ft->st.pieces++;
	}
	ip4_set(h, hlen, hlen + chunk, (uint16_t)(fo | (off0 / 8) | IP4_MF));
	p->len = l2 + hlen + chunk;
	p->frag_mtu = 0;
	if (lvs_pkt_parse(p) != LVS_DROP_NONE)
		return -EINVAL; /* not reached: the header was parsed before */
	pi->sport = sport;
	pi->dport = dport;
	ft->st.split++;
	return 0;
}

unsigned lvs_frag_take(struct lvs_frag_table *ft, struct lvs_pkt **out, unsigned max)
{
	unsigned n = 0;

	while (n < max && ft->ready_head != NIL) {
		struct frag_slot *s = &ft->slot[ft->ready_head];
		uint16_t i = ft->ready_head;

		ft->ready_head = s->next;
		if (ft->ready_head == NIL)
			ft->ready_tail = NIL;
		s->state = SLOT_TAKEN;
		s->next = ft->taken;
		ft->taken = i;
		out[n++] = &s->p;
	}
	return n;
}

void lvs_frag_put_all(struct lvs_frag_table *ft)
{
	while (ft->taken != NIL) {
		struct frag_slot *s = &ft->slot[ft->taken];

		ft->taken = s->next;
		s->state = SLOT_FREE;
		s->next = ft->free_slot;
		ft->free_slot = (uint16_t)(s - ft->slot);
		ft->nslots--;
	}
}

unsigned lvs_frag_count(const struct lvs_frag_table *ft)
{
	return ft->nctx;
}

unsigned lvs_frag_slots_used(const struct lvs_frag_table *ft)
{
	return ft->nslots;
}

void lvs_frag_get_stats(const struct lvs_frag_table *ft, struct lvs_frag_stats *out)
{
	*out = ft->st;
}
