/*
 * rtnl_route.c - the main routing table of the network view (rtnl.c):
 * routes as rtnetlink reports them, kept by the control thread in a list
 * indexed by identity, and the longest-prefix match of a published
 * snapshot.
 *
 * Route selection follows the kernel's main table: longest prefix first,
 * then the lowest metric (then the route that arrived first, for IPv6
 * routes that differ only in their device); blackhole / unreachable /
 * prohibit routes make the destination unreachable.  Each snapshot
 * carries the table as sorted address ranges, so a lookup is a binary
 * search (O(log n)) whatever the number of routes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "rtnl_priv.h"

static void mask_prefix(int af, union lvs_addr *a, unsigned plen)
{
	unsigned words = af == AF_INET ? 1 : 4;

	for (unsigned i = 0; i < words; i++) {
		unsigned bits = plen >= 32 ? 32 : plen;
		a->w[i] &= bits == 0 ? 0 : htonl(bits == 32 ? ~0u : ~0u << (32 - bits));
		plen -= bits;
	}
}

/* ---- longest-prefix match ---- */

static struct k128 k128_of(int af, const union lvs_addr *a)
{
	struct k128 k;

	if (af == AF_INET) {
		k.hi = 0;
		k.lo = ntohl(a->ip4);
		return k;
	}
	k.hi = (uint64_t)ntohl(a->w[0]) << 32 | ntohl(a->w[1]);
	k.lo = (uint64_t)ntohl(a->w[2]) << 32 | ntohl(a->w[3]);
	return k;
}

static int k128_cmp(struct k128 a, struct k128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* Last address of the prefix starting at k (its host bits set). */
static struct k128 k128_last(struct k128 k, unsigned width, unsigned plen)
{
	unsigned host = width - plen;

	if (host >= 64) { /* IPv6 only */
		k.lo = ~0ull;
		k.hi |= host == 128 ? ~0ull : (1ull << (host - 64)) - 1;
	} else if (host) {
		k.lo |= (1ull << host) - 1;
	}
	return k;
}

/* k + 1; false when k is the family's last address. */
static bool k128_next(struct k128 k, unsigned width, struct k128 *out)
{
	if (width == 32) {
		if (k.lo == 0xffffffffull)
			return false;
		out->hi = 0;
		out->lo = k.lo + 1;
		return true;
	}
	if (k.hi == ~0ull && k.lo == ~0ull)
		return false;
	out->lo = k.lo + 1;
	out->hi = k.hi + (out->lo == 0);
	return true;
}

struct lpm_pfx {
	struct k128 first, last;
	uint8_t plen;
	uint32_t ridx;
};

static int cmp_pfx(const void *x, const void *y)
{
	const struct lpm_pfx *a = x, *b = y;
	int c = k128_cmp(a->first, b->first);

	if (c)
		return c;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return a->ridx < b->ridx ? -1 : a->ridx > b->ridx;
}

struct lpm_out {
	uint32_t n;
	struct k128 *k;
	uint32_t *val;
};

/* A range starts at pos; a later start at the same place overrides. */
static void lpm_emit(struct lpm_out *o, struct k128 pos, uint32_t val)
{
	if (o->n && !k128_cmp(o->k[o->n - 1], pos)) {
		o->val[o->n - 1] = val;
		return;
	}
	o->k[o->n] = pos;
	o->val[o->n] = val;
	o->n++;
}

/*
 * Build l for the routes of family af in s->routes (already sorted: the
 * first route of a (prefix, length) is the one that wins).  0 or -ENOMEM.
 * Prefixes sorted by first address, shorter first, either nest or are
 * disjoint, so one pass with a stack of the enclosing prefixes finds, at
 * every range boundary, the innermost prefix still covering it.
 */
static int lpm_build(const struct ns_snap *s, int af, struct ns_lpm *l)
{
	unsigned width = af == AF_INET ? 32 : 128;
	struct lpm_pfx *px, *stack[129];
	struct lpm_out o = { 0 };
	uint32_t np = 0, sp = 0, m = 0;
	int err = -ENOMEM;

	for (uint32_t i = 0; i < s->nroutes; i++)
		np += s->routes[i].af == af;
	px = malloc((np ? np : 1) * sizeof(*px));
	o.k = malloc((2 * (size_t)np + 1) * sizeof(*o.k));
	o.val = malloc((2 * (size_t)np + 1) * sizeof(*o.val));
	if (!px || !o.k || !o.val)
		goto out;
	np = 0;
	for (uint32_t i = 0; i < s->nroutes; i++) {
		const struct ns_route *r = &s->routes[i];
		if (r->af != af)
			continue;
		px[np].first = k128_of(af, &r->dst);
		px[np].last = k128_last(px[np].first, width, r->plen);
		px[np].plen = r->plen;
		px[np].ridx = i;
		np++;
	}
	qsort(px, np, sizeof(*px), cmp_pfx);
	lpm_emit(&o, (struct k128){ 0, 0 }, LPM_NONE);
	for (uint32_t i = 0; i < np; i++) {
		struct lpm_pfx *p = &px[i];
		struct k128 nx;

		/* equal prefix: the first (best) one already covers it */
		if (i && !k128_cmp(px[i - 1].first, p->first) && px[i - 1].plen == p->plen)
			continue;
		while (sp && k128_cmp(stack[sp - 1]->last, p->first) < 0) {
			struct lpm_pfx *t = stack[--sp];
			if (k128_next(t->last, width, &nx))
				lpm_emit(&o, nx, sp ? stack[sp - 1]->ridx : LPM_NONE);
		}
		lpm_emit(&o, p->first, p->ridx);
		stack[sp++] = p;
	}
	while (sp) {
		struct lpm_pfx *t = stack[--sp];
		struct k128 nx;
		if (k128_next(t->last, width, &nx))
			lpm_emit(&o, nx, sp ? stack[sp - 1]->ridx : LPM_NONE);
	}
	/* neighbouring ranges of one route are one range */
	for (uint32_t i = 0; i < o.n; i++) {
		if (m && o.val[m - 1] == o.val[i])
			continue;
		o.k[m] = o.k[i];
		o.val[m] = o.val[i];
		m++;
	}
	l->n = m;
	l->val = o.val;
	o.val = NULL;
	if (af == AF_INET) {
		l->k4 = malloc(m * sizeof(*l->k4));
		if (!l->k4)
			goto out;
		for (uint32_t i = 0; i < m; i++)
			l->k4[i] = (uint32_t)o.k[i].lo;
	} else {
		l->k6 = realloc(o.k, m * sizeof(*o.k));
		if (!l->k6)
			goto out;
		o.k = NULL;
	}
	err = 0;
out:
	free(px);
	free(o.k);
	free(o.val);
	return err;
}

static void lpm_free(struct ns_lpm *l)
{
	free(l->k4);
	free(l->k6);
	free(l->val);
	memset(l, 0, sizeof(*l));
}

/* Index of the last range starting at or before x (n >= 1, k[0] == 0). */
static inline uint32_t lpm_find4(const struct ns_lpm *l, uint32_t x)
{
	const uint32_t *k = l->k4;
	uint32_t base = 0, n = l->n;

	while (n > 1) {
		uint32_t half = n / 2;
		base = k[base + half] <= x ? base + half : base;
		n -= half;
	}
	return l->val[base];
}

static inline uint32_t lpm_find6(const struct ns_lpm *l, struct k128 x)
{
	const struct k128 *k = l->k6;
	uint32_t base = 0, n = l->n;

	while (n > 1) {
		uint32_t half = n / 2;
		const struct k128 *e = &k[base + half];
		bool le = e->hi < x.hi || (e->hi == x.hi && e->lo <= x.lo);
		base = le ? base + half : base;
		n -= half;
	}
	return l->val[base];
}

/* ---- the snapshot's routes ---- */

static int cmp_route(const void *x, const void *y)
{
	const struct ns_route *a = x, *b = y;

	if (a->plen != b->plen)
		return a->plen > b->plen ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int rtnl_snap_routes_build(struct ns_snap *s)
{
	qsort(s->routes, s->nroutes, sizeof(*s->routes), cmp_route);
	if (lpm_build(s, AF_INET, &s->lpm4) || lpm_build(s, AF_INET6, &s->lpm6))
		return -ENOMEM;
	return 0;
}

void rtnl_snap_routes_free(struct ns_snap *s)
{
	lpm_free(&s->lpm4);
	lpm_free(&s->lpm6);
}

/* The route the main table gives dst, or NULL.  Data path. */
const struct ns_route *rtnl_snap_lpm(const struct ns_snap *s, int af, const union lvs_addr *dst)
{
	uint32_t r;

	if (af == AF_INET)
		r = s->lpm4.n ? lpm_find4(&s->lpm4, ntohl(dst->ip4)) : LPM_NONE;
	else if (af == AF_INET6)
		r = s->lpm6.n ? lpm_find6(&s->lpm6, k128_of(AF_INET6, dst)) : LPM_NONE;
	else
		r = LPM_NONE;
	return r == LPM_NONE ? NULL : &s->routes[r];
}

/* ---- the control thread's route list, indexed by identity ---- */

static uint32_t rt_hash(const struct ns_route *r)
{
	uint64_t h = (uint64_t)r->af << 40 ^ (uint64_t)r->plen << 32 ^ r->prio;

	for (int i = 0; i < 4; i++) {
		h ^= r->dst.w[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ h >> 32);
}

static bool rt_same_prefix(const struct ns_route *a, const struct ns_route *b)
{
	return a->af == b->af && a->plen == b->plen && a->prio == b->prio &&
	       lvs_addr_eq(&a->dst, &b->dst);
}

/* Rebuild the index for ns->routes with room for at least want routes. */
static int rt_idx_rebuild(struct lvs_netstate *ns, uint32_t want)
{
	const struct ns_route *v = ns->routes.v;
	uint32_t size = 64, *t;

	while (size < 2 * want)
		size <<= 1;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	free(ns->rt_idx);
	ns->rt_idx = t;
	ns->rt_mask = size - 1;
	for (uint32_t i = 0; i < ns->routes.n; i++) {
		uint32_t h = rt_hash(&v[i]) & ns->rt_mask;
		while (t[h])
			h = (h + 1) & ns->rt_mask;
		t[h] = i + 1;
	}
	return 0;
}

/*
 * The route nr replaces (RTM_NEWROUTE) or removes (RTM_DELROUTE): same
 * prefix and metric, and for IPv6 (whose multipath routes come as
 * siblings) the same device; a deletion without a device takes any.
 * Index in ns->routes, or -1.
 */
static int rt_find(struct lvs_netstate *ns, const struct ns_route *nr, bool del)
{
	const struct ns_route *v = ns->routes.v;

	if (!ns->rt_idx)
		return -1;
	for (uint32_t h = rt_hash(nr) & ns->rt_mask; ns->rt_idx[h]; h = (h + 1) & ns->rt_mask) {
		const struct ns_route *o = &v[ns->rt_idx[h] - 1];
		if (rt_same_prefix(o, nr) &&
		    (del ? (!nr->oif || o->oif == nr->oif) : (nr->af == AF_INET || o->oif == nr->oif)))
			return (int)ns->rt_idx[h] - 1;
	}
	return -1;
}

static int rt_add(struct lvs_netstate *ns, const struct ns_route *nr)
{
	struct ns_route *n;
	uint32_t h;

	if ((!ns->rt_idx || 2 * (ns->routes.n + 1) > ns->rt_mask + 1) &&
	    rt_idx_rebuild(ns, ns->routes.n + 1))
		return -ENOMEM;
	n = vec_push(&ns->routes);
	if (!n)
		return -ENOMEM;
	*n = *nr;
	n->seq = ns->route_seq++;
	for (h = rt_hash(n) & ns->rt_mask; ns->rt_idx[h]; h = (h + 1) & ns->rt_mask)
		;
	ns->rt_idx[h] = ns->routes.n;
	return 0;
}

static uint32_t rt_slot_of(struct lvs_netstate *ns, uint32_t i)
{
	uint32_t h = rt_hash(&((struct ns_route *)ns->routes.v)[i]) & ns->rt_mask;

	while (ns->rt_idx[h] != i + 1)
		h = (h + 1) & ns->rt_mask;
	return h;
}

/* Remove route i: the last route takes its place (order is the snapshot's
 * business); the index closes the gap by shifting back (linear probing). */
static void rt_del(struct lvs_netstate *ns, uint32_t i)
{
	struct ns_route *v = ns->routes.v;
	uint32_t last = ns->routes.n - 1, hole = rt_slot_of(ns, i), j = hole;

	for (;;) {
		uint32_t home;
		j = (j + 1) & ns->rt_mask;
		if (!ns->rt_idx[j])
			break;
		home = rt_hash(&v[ns->rt_idx[j] - 1]) & ns->rt_mask;
		/* stays if its home lies cyclically in (hole, j] */
		if (hole <= j ? (hole < home && home <= j) : (hole < home || home <= j))
			continue;
		ns->rt_idx[hole] = ns->rt_idx[j];
		hole = j;
	}
	ns->rt_idx[hole] = 0;
	if (i != last) {
		ns->rt_idx[rt_slot_of(ns, last)] = i + 1;
		v[i] = v[last];
	}
	ns->routes.n--;
}

void rtnl_routes_clear(struct lvs_netstate *ns)
{
	ns->routes.n = 0;
	if (ns->rt_idx)
		memset(ns->rt_idx, 0, (ns->rt_mask + 1) * sizeof(*ns->rt_idx));
}

/* ---- route messages (control thread) ---- */

static int mx_cb(const struct nlattr *a, void *data)
{
	uint32_t *mtu = data;

	if (mnl_attr_get_type(a) == RTAX_MTU && mnl_attr_get_payload_len(a) >= 4)
		*mtu = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

void rtnl_on_route(struct lvs_netstate *ns, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct ns_route nr, *v = ns->routes.v;
	uint32_t table = rtm->rtm_table;
	struct attrs at;
	int i;

	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return;
	memset(&at, 0, sizeof(at));
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &at) < 0)
		return;
	if (at.tb[RTA_TABLE])
		table = mnl_attr_get_u32(at.tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN)
		return;
	if (rtm->rtm_type != RTN_UNICAST && rtm->rtm_type != RTN_BLACKHOLE &&
	    rtm->rtm_type != RTN_UNREACHABLE && rtm->rtm_type != RTN_PROHIBIT)
		return;
	memset(&nr, 0, sizeof(nr));
	nr.af = rtm->rtm_family;
	nr.plen = rtm->rtm_dst_len;
	nr.type = rtm->rtm_type;
	if (nr.plen > (nr.af == AF_INET ? 32 : 128))
		return;
	attr_addr(at.tb[RTA_DST], nr.af, &nr.dst);
	mask_prefix(nr.af, &nr.dst, nr.plen);
	if (at.tb[RTA_OIF])
		nr.oif = mnl_attr_get_u32(at.tb[RTA_OIF]);
	if (at.tb[RTA_PRIORITY])
		nr.prio = mnl_attr_get_u32(at.tb[RTA_PRIORITY]);
	nr.has_gw = attr_addr(at.tb[RTA_GATEWAY], nr.af, &nr.gw);
	nr.has_src = attr_addr(at.tb[RTA_PREFSRC], nr.af, &nr.src);
	if (at.tb[RTA_METRICS])
		mnl_attr_parse_nested(at.tb[RTA_METRICS], mx_cb, &nr.mtu);
	if (at.tb[RTA_MULTIPATH] && !nr.oif) {
		/* ECMP: follow the first next hop only */
		const struct rtnexthop *nh = mnl_attr_get_payload(at.tb[RTA_MULTIPATH]);
		size_t len = mnl_attr_get_payload_len(at.tb[RTA_MULTIPATH]);
		if (len >= sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= len) {
			nr.oif = (uint32_t)nh->rtnh_ifindex;
			const struct nlattr *a = (const struct nlattr *)RTNH_DATA(nh);
			size_t alen = nh->rtnh_len - RTNH_LENGTH(0);
			while (mnl_attr_ok(a, (int)alen)) {
				if (mnl_attr_get_type(a) == RTA_GATEWAY)
					nr.has_gw = attr_addr(a, nr.af, &nr.gw);
				alen -= MNL_ALIGN(a->nla_len);
				a = mnl_attr_next(a);
			}
		}
	}
	i = rt_find(ns, &nr, nlh->nlmsg_type == RTM_DELROUTE);
	if (nlh->nlmsg_type == RTM_DELROUTE) {
		if (i >= 0) {
			rt_del(ns, (uint32_t)i);
			ns->dirty = true;
		}
		return;
	}
	if (nr.type == RTN_UNICAST && !nr.oif)
		return;
	if (i < 0) {
		if (rt_add(ns, &nr))
			return;
	} else {
		/* replaced in place: it keeps its rank among equal routes */
		nr.seq = v[i].seq;
		v[i] = nr;
	}
	ns->dirty = true;
}
