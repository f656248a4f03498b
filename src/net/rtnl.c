/*
 * rtnl.c - the kernel's links, addresses, routes and neighbours over
 * rtnetlink (rtnetlink(7), libmnl), as lvsd's forwarding environment
 * (see netstate.h for the threading and resolution contracts).
 *
 * Two netlink sockets, both owned by the control thread: one subscribed to
 * the link / address / route / neighbour groups for notifications, one
 * for dumps and commands (synchronous: the kernel answers a request before
 * sendmsg returns, so reading its acknowledgement never waits).  A
 * notification overrun (ENOBUFS) or a periodic check re-reads everything.
 *
 * The routing table (route selection, the longest-prefix match) is
 * rtnl_route.c's; rtnl_priv.h holds what the two files share.  The MTU is
 * the route's (RTAX_MTU) or the egress link's.  Source addresses: the
 * route's preferred source, else an address of the egress interface
 * (global scope preferred, never a tentative one), else any global
 * address of the family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "route_cache.h"
#include "rtnl_priv.h"

#define NB_DEF_SLOTS 16384
#define RESOLVE_INTERVAL_NS (1 * LVS_NS_PER_SEC)  /* per next hop */
#define REFRESH_INTERVAL_NS (5 * LVS_NS_PER_SEC)  /* re-validate used entries */
#define RESYNC_INTERVAL_NS (60 * LVS_NS_PER_SEC)  /* full re-read */
#define USED_WINDOW_S 15
#define PLACEHOLDER_TTL_NS (10 * LVS_NS_PER_SEC)
/* A destination's cached next hop is routed again at least this often, so
 * the neighbour entry it uses is still marked used (mark_used) while
 * packets flow; well inside USED_WINDOW_S. */
#define ROUTE_CACHE_MAX_AGE_NS (1 * LVS_NS_PER_SEC)

#ifndef NTF_USE
#define NTF_USE 0x01
#endif

/* ---- neighbour cache ---- */

enum { NB_EMPTY = 0, NB_LIVE, NB_DEAD };

struct nb_slot {
	uint8_t used;
	uint8_t af;
	uint16_t state;  /* NUD_*; 0 for a placeholder lvsd created */
	uint32_t ifindex;
	union lvs_addr addr;
	uint8_t mac[LVS_ETH_ALEN];
	uint16_t gen;    /* resync generation that last saw it */
	uint64_t req_ns; /* last resolution request */
};

enum { REQ_RESOLVE = 1, REQ_LEARN };

#define NS_BUF 65536

/* ---------------------------------------------------------------------- */

static void vec_del(struct vec *v, uint32_t i)
{
	char *b = v->v;

	memmove(b + i * v->esz, b + (i + 1) * v->esz, (v->n - i - 1) * v->esz);
	v->n--;
}

static lvs_time_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

static bool prefix_match(int af, const union lvs_addr *a, const union lvs_addr *p, unsigned plen)
{
	unsigned words = af == AF_INET ? 1 : 4;

	for (unsigned i = 0; i < words && plen; i++) {
		unsigned bits = plen >= 32 ? 32 : plen;
		uint32_t m = htonl(bits == 32 ? ~0u : ~0u << (32 - bits));
		if ((a->w[i] ^ p->w[i]) & m)
			return false;
		plen -= bits;
	}
	return true;
}

/* ---- snapshot ---- */

static int cmp_link(const void *x, const void *y)
{
	const struct lvs_link_info *a = x, *b = y;

	return a->ifindex < b->ifindex ? -1 : a->ifindex > b->ifindex;
}

static void snap_free(struct ns_snap *s)
{
	if (!s)
		return;
	rtnl_snap_routes_free(s);
	free(s);
}

static void snap_free_cb(struct rcu_head *h)
{
	snap_free(caa_container_of(h, struct ns_snap, rcu));
}

/* Publish links/addrs/routes as a new snapshot.  Control thread. */
static int snap_publish(struct lvs_netstate *ns)
{
	size_t sz = sizeof(struct ns_snap) + ns->links.n * sizeof(struct lvs_link_info) +
		    ns->addrs.n * sizeof(struct ns_addr) + ns->routes.n * sizeof(struct ns_route);
	struct ns_snap *s = calloc(1, sz), *old;
	char *p;

	if (!s)
		return -ENOMEM;
	p = (char *)(s + 1);
	s->nlinks = ns->links.n;
	s->links = (struct lvs_link_info *)p;
	if (ns->links.n) /* an empty vector has no buffer yet */
		memcpy(p, ns->links.v, ns->links.n * sizeof(struct lvs_link_info));
	p += ns->links.n * sizeof(struct lvs_link_info);
	s->naddrs = ns->addrs.n;
	s->addrs = (struct ns_addr *)p;
	if (ns->addrs.n) /* an empty vector has no buffer yet */
		memcpy(p, ns->addrs.v, ns->addrs.n * sizeof(struct ns_addr));
	p += ns->addrs.n * sizeof(struct ns_addr);
	s->nroutes = ns->routes.n;
	s->routes = (struct ns_route *)p;
	if (ns->routes.n) /* an empty vector has no buffer yet */
		memcpy(p, ns->routes.v, ns->routes.n * sizeof(struct ns_route));
	qsort(s->links, s->nlinks, sizeof(*s->links), cmp_link);
	if (rtnl_snap_routes_build(s)) {
		snap_free(s);
		return -ENOMEM;
	}
	old = ns->snap;
	rcu_assign_pointer(ns->snap, s);
	/* after the snapshot is visible: a next hop cached from now on is
	 * computed from it (see lvs_netstate_route_cached) */
	__atomic_fetch_add(&ns->route_gen, 1, __ATOMIC_RELEASE);
	if (old)
		call_rcu(&old->rcu, snap_free_cb);
	ns->dirty = false;
	return 0;
}

static const struct lvs_link_info *snap_link(const struct ns_snap *s, uint32_t ifindex)
{
	uint32_t lo = 0, hi = s->nlinks;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->links[mid].ifindex == ifindex)
			return &s->links[mid];
		if (s->links[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- neighbour hash ---- */

static uint32_t nb_hash(int af, uint32_t ifindex, const union lvs_addr *a)
{
	uint64_t h = (uint64_t)af * 0x9e3779b97f4a7c15ull ^ ifindex;

	for (int i = 0; i < 4; i++) {
		h ^= a->w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return (uint32_t)h;
}

static inline bool nud_usable(uint16_t state)
{
	return state & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE |
			NUD_DELAY);
}

static void nb_write_begin(struct lvs_netstate *ns)
{
	__atomic_store_n(&ns->nb_seq, ns->nb_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void nb_write_end(struct lvs_netstate *ns)
{
	__atomic_store_n(&ns->nb_seq, ns->nb_seq + 1, __ATOMIC_RELEASE);
}

/*
 * Reader: copy the entry for (af, ifindex, a) into *out.  Returns its slot
 * index or -1.  Retries while a writer is active (writes are rare).
 */
static int nb_lookup(struct lvs_netstate *ns, int af, uint32_t ifindex, const union lvs_addr *a,
		     struct nb_slot *out)
{
	uint32_t h = nb_hash(af, ifindex, a);

	for (;;) {
		uint32_t s1 = __atomic_load_n(&ns->nb_seq, __ATOMIC_ACQUIRE);
		int found = -1;

		if (s1 & 1) {
			lvs_cpu_relax();
			continue;
		}
		for (uint32_t i = 0; i <= ns->nb_mask; i++) {
			uint32_t k = (h + i) & ns->nb_mask;
			const struct nb_slot *e = &ns->nb[k];
			uint8_t used = e->used;

			if (used == NB_EMPTY)
				break;
			if (used == NB_LIVE && e->af == af && e->ifindex == ifindex &&
			    lvs_addr_eq(&e->addr, a)) {
				*out = *e;
				found = (int)k;
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&ns->nb_seq, __ATOMIC_RELAXED) == s1)
			return found;
	}
}

/* Writer (nb_lock held): slot of the key, or -1. */
static int nb_find_locked(struct lvs_netstate *ns, int af, uint32_t ifindex,
			  const union lvs_addr *a)
{
	uint32_t h = nb_hash(af, ifindex, a);

	for (uint32_t i = 0; i <= ns->nb_mask; i++) {
		uint32_t k = (h + i) & ns->nb_mask;
		const struct nb_slot *e = &ns->nb[k];
		if (e->used == NB_EMPTY)
			return -1;
		if (e->used == NB_LIVE && e->af == af && e->ifindex == ifindex &&
		    lvs_addr_eq(&e->addr, a))
			return (int)k;
	}
	return -1;
}

/* Writer: drop the tombstones (inside a write section). */
static void nb_rebuild_locked(struct lvs_netstate *ns)
{
	uint32_t n = ns->nb_mask + 1;
	struct nb_slot *old = malloc(n * sizeof(*old));
	uint32_t *oldu = malloc(n * sizeof(*oldu));

	if (!old || !oldu) {
		free(old);
		free(oldu);
		return;
	}
	memcpy(old, ns->nb, n * sizeof(*old));
	memcpy(oldu, ns->nb_used, n * sizeof(*oldu));
	memset(ns->nb, 0, n * sizeof(*old));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h;
		if (old[i].used != NB_LIVE)
			continue;
		h = nb_hash(old[i].af, old[i].ifindex, &old[i].addr);
		while (ns->nb[h & ns->nb_mask].used != NB_EMPTY)
			h++;
		ns->nb[h & ns->nb_mask] = old[i];
		ns->nb_used[h & ns->nb_mask] = oldu[i];
	}
	ns->nb_dead = 0;
	free(old);
	free(oldu);
}

/* Writer (nb_lock held, inside a write section): the key's slot, created
 * empty when missing; -1 when the table is full. */
static int nb_get_locked(struct lvs_netstate *ns, int af, uint32_t ifindex, const union lvs_addr *a)
{
	int k = nb_find_locked(ns, af, ifindex, a);
	uint32_t h;

	if (k >= 0)
		return k;
	if (ns->nb_live + 1 > (ns->nb_mask + 1) / 2)
		return -1;
	if (ns->nb_live + ns->nb_dead + 1 > (ns->nb_mask + 1) / 4 * 3)
		nb_rebuild_locked(ns);
	h = nb_hash(af, ifindex, a);
	while (ns->nb[h & ns->nb_mask].used == NB_LIVE)
		h++;
	k = (int)(h & ns->nb_mask);
	if (ns->nb[k].used == NB_DEAD)
		ns->nb_dead--;
	memset(&ns->nb[k], 0, sizeof(ns->nb[k]));
	ns->nb[k].used = NB_LIVE;
	ns->nb[k].af = (uint8_t)af;
	ns->nb[k].ifindex = ifindex;
	ns->nb[k].addr = *a;
	ns->nb_used[k] = 0;
	ns->nb_live++;
	return k;
}

static void nb_del_locked(struct lvs_netstate *ns, int k)
{
	ns->nb[k].used = NB_DEAD;
	ns->nb_live--;
	ns->nb_dead++;
}

/* ---- worker -> control requests ---- */

static void req_push(struct lvs_netstate *ns, const struct ns_req *r)
{
	bool pushed = false, wake;

	lvs_spin_lock(&ns->req_lock);
	wake = ns->req_head == ns->req_tail;
	if ((ns->req_tail + 1) % REQ_RING != ns->req_head) {
		ns->req[ns->req_tail] = *r;
		ns->req_tail = (ns->req_tail + 1) % REQ_RING;
		pushed = true;
	}
	lvs_spin_unlock(&ns->req_lock);
	/* one wake-up per batch: the control thread drains them all */
	if (pushed && wake)
		(void)!write(ns->wake_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
}

static bool req_pop(struct lvs_netstate *ns, struct ns_req *r)
{
	bool ok = false;

	lvs_spin_lock(&ns->req_lock);
	if (ns->req_head != ns->req_tail) {
		*r = ns->req[ns->req_head];
		ns->req_head = (ns->req_head + 1) % REQ_RING;
		ok = true;
	}
	lvs_spin_unlock(&ns->req_lock);
	return ok;
}

/* ---- data path ---- */

/* Ask for resolution of a next hop that has no usable entry (deduplicated
 * per next hop to one request per RESOLVE_INTERVAL_NS). */
static void want_resolve(struct lvs_netstate *ns, int af, uint32_t ifindex,
			 const union lvs_addr *a, int slot, const struct nb_slot *seen)
{
	uint64_t now = __atomic_load_n(&ns->coarse_now, __ATOMIC_RELAXED);
	struct ns_req r;
	int k;

	if (slot >= 0 && seen->req_ns && now - seen->req_ns < RESOLVE_INTERVAL_NS)
		return;
	lvs_spin_lock(&ns->nb_lock);
	nb_write_begin(ns);
	k = nb_get_locked(ns, af, ifindex, a);
	if (k >= 0) {
		if (ns->nb[k].req_ns && now - ns->nb[k].req_ns < RESOLVE_INTERVAL_NS)
			k = -2; /* another worker just asked */
		else
			ns->nb[k].req_ns = now ? now : 1;
	}
	nb_write_end(ns);
	lvs_spin_unlock(&ns->nb_lock);
	if (k == -2)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_RESOLVE;
	r.af = (uint8_t)af;
	r.ifindex = ifindex;
	r.a = *a;
	req_push(ns, &r);
}

static void mark_used(struct lvs_netstate *ns, int slot)
{
	uint32_t sec = (uint32_t)(__atomic_load_n(&ns->coarse_now, __ATOMIC_RELAXED) /
				  LVS_NS_PER_SEC);

	/* written at most once a second per entry: no cache line ping-pong */
	if (__atomic_load_n(&ns->nb_used[slot], __ATOMIC_RELAXED) != sec)
		__atomic_store_n(&ns->nb_used[slot], sec, __ATOMIC_RELAXED);
}

int lvs_netstate_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	struct lvs_netstate *ns = ctx;
	const struct ns_snap *s = rcu_dereference(ns->snap);
	const struct lvs_link_info *l;
	const struct ns_route *r;
	const union lvs_addr *hop;
	struct nb_slot e;
	int k;

	if (!s)
		return -EHOSTUNREACH;
	r = rtnl_snap_lpm(s, af, dst);
	if (!r || r->type != RTN_UNICAST)
		return -EHOSTUNREACH;
	l = snap_link(s, r->oif);
	if (!l || !(l->flags & IFF_UP))
		return -EHOSTUNREACH;
	nh->ifindex = r->oif;
	memcpy(nh->src_mac, l->mac, LVS_ETH_ALEN);
	nh->mtu = r->mtu ? r->mtu : l->mtu;
	nh->vlan_tci = 0; /* a VLAN device's packet socket tags for us */
	if (l->type != ARPHRD_ETHER || (l->flags & IFF_NOARP)) {
		memset(nh->mac, 0, LVS_ETH_ALEN);
		return 0;
	}
	hop = r->has_gw ? &r->gw : dst;
	k = nb_lookup(ns, af, r->oif, hop, &e);
	if (k >= 0 && nud_usable(e.state)) {
		memcpy(nh->mac, e.mac, LVS_ETH_ALEN);
		mark_used(ns, k);
		return 0;
	}
	want_resolve(ns, af, r->oif, hop, k, &e);
	return -EAGAIN;
}

int lvs_netstate_route_cached(void *ctx, struct lvs_route_cache *rc, int af,
			      const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	struct lvs_netstate *ns = ctx;
	/* read before routing: a change after this read bumps it again, so an
	 * entry filled below from older state cannot outlive that change */
	uint64_t gen = __atomic_load_n(&ns->route_gen, __ATOMIC_ACQUIRE);
	uint64_t now = __atomic_load_n(&ns->coarse_now, __ATOMIC_RELAXED);
	struct lvs_route_cache_ent e;
	int err;

	if (lvs_route_cache_read(rc, &e) && e.gen == gen && e.af == af &&
	    lvs_addr_eq(&e.dst, dst) && now - e.stamp < ROUTE_CACHE_MAX_AGE_NS) {
		*nh = e.nh;
		return 0;
	}
	err = lvs_netstate_route(ns, af, dst, nh);
	if (err)
		return err;
	memset(&e, 0, sizeof(e));
	e.nh = *nh;
	e.af = (uint8_t)af;
	e.dst = *dst;
	e.gen = gen;
	e.stamp = now;
	lvs_route_cache_fill(rc, &e);
	return 0;
}

static const struct ns_addr *pick_src(const struct ns_snap *s, int af, uint32_t ifindex,
				      const union lvs_addr *dst)
{
	const struct ns_addr *best = NULL;
	int best_score = -1;
	bool dst_ll = af == AF_INET6 && (dst->b[0] == 0xfe && (dst->b[1] & 0xc0) == 0x80);

	for (uint32_t i = 0; i < s->naddrs; i++) {
		const struct ns_addr *a = &s->addrs[i];
		int score = 0;

		if (a->af != af || (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			continue;
		if (a->scope == RT_SCOPE_HOST)
			continue;
		if (a->scope == RT_SCOPE_LINK && !dst_ll)
			continue;
		if (a->ifindex == ifindex)
			score += 4;
		if (prefix_match(af, dst, &a->a, a->plen))
			score += 2;
		if (!(a->flags & IFA_F_DEPRECATED))
			score += 1;
		if (score > best_score) {
			best = a;
			best_score = score;
		}
	}
	return best;
}

int lvs_netstate_src_addr(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	struct lvs_netstate *ns = ctx;
	const struct ns_snap *s = rcu_dereference(ns->snap);
	const struct ns_route *r;
	const struct ns_addr *a;

	if (!s)
		return -EADDRNOTAVAIL;
	r = rtnl_snap_lpm(s, af, dst);
	if (r && r->has_src) {
		*src = r->src;
		return 0;
	}
	a = pick_src(s, af, r ? r->oif : 0, dst);
	if (!a)
		return -EADDRNOTAVAIL;
	*src = a->a;
	return 0;
}

void lvs_netstate_learn(struct lvs_netstate *ns, int af, uint32_t ifindex,
			const union lvs_addr *a, const uint8_t mac[LVS_ETH_ALEN])
{
	struct nb_slot e;
	struct ns_req r;
	bool usable = false, same_mac = false;
	int k;

	k = nb_lookup(ns, af, ifindex, a, &e);
	if (k >= 0 && nud_usable(e.state) && !memcmp(e.mac, mac, LVS_ETH_ALEN))
		return;
	if (k >= 0 && (e.state & (NUD_PERMANENT | NUD_NOARP)))
		return; /* configured by hand: never overridden */
	lvs_spin_lock(&ns->nb_lock);
	nb_write_begin(ns);
	k = nb_get_locked(ns, af, ifindex, a);
	if (k >= 0) {
		usable = nud_usable(ns->nb[k].state);
		same_mac = !memcmp(ns->nb[k].mac, mac, LVS_ETH_ALEN);
		memcpy(ns->nb[k].mac, mac, LVS_ETH_ALEN);
		ns->nb[k].state = NUD_STALE;
	}
	nb_write_end(ns);
	lvs_spin_unlock(&ns->nb_lock);
	if (k >= 0 && !usable)
		__atomic_fetch_add(&ns->neigh_gen, 1, __ATOMIC_RELEASE);
	if (k >= 0 && !(usable && same_mac))
		__atomic_fetch_add(&ns->route_gen, 1, __ATOMIC_RELEASE);
	memset(&r, 0, sizeof(r));
	r.kind = REQ_LEARN;
	r.af = (uint8_t)af;
	r.ifindex = ifindex;
	r.a = *a;
	memcpy(r.mac, mac, LVS_ETH_ALEN);
	req_push(ns, &r);
	__atomic_fetch_add(&ns->st.learnt, 1, __ATOMIC_RELAXED);
}

int lvs_netstate_link(struct lvs_netstate *ns, uint32_t ifindex, struct lvs_link_info *out)
{
	const struct ns_snap *s = rcu_dereference(ns->snap);
	const struct lvs_link_info *l = s ? snap_link(s, ifindex) : NULL;

	if (!l)
		return -ENODEV;
	*out = *l;
	return 0;
}

bool lvs_netstate_is_local(struct lvs_netstate *ns, int af, const union lvs_addr *a)
{
	const struct ns_snap *s = rcu_dereference(ns->snap);

	for (uint32_t i = 0; s && i < s->naddrs; i++)
		if (s->addrs[i].af == af && lvs_addr_eq(&s->addrs[i].a, a))
			return true;
	return false;
}

unsigned lvs_netstate_local_addrs(struct lvs_netstate *ns, uint8_t *af, union lvs_addr *a,
				  unsigned max)
{
	const struct ns_snap *s = rcu_dereference(ns->snap);
	unsigned n = s ? s->naddrs : 0;

	for (unsigned i = 0; i < n && i < max; i++) {
		af[i] = s->addrs[i].af;
		a[i] = s->addrs[i].a;
	}
	return n;
}

/* ---- netlink parsing (control thread) ---- */

static void on_link(struct lvs_netstate *ns, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct lvs_link_info li, *v = ns->links.v;
	struct attrs at;
	uint32_t i;

	memset(&at, 0, sizeof(at));
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at) < 0)
		return;
	for (i = 0; i < ns->links.n && v[i].ifindex != (uint32_t)ifi->ifi_index; i++)
		;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (i < ns->links.n) {
			vec_del(&ns->links, i);
			ns->dirty = true;
		}
		return;
	}
	memset(&li, 0, sizeof(li));
	li.ifindex = (uint32_t)ifi->ifi_index;
	li.flags = ifi->ifi_flags;
	li.type = ifi->ifi_type;
	if (at.tb[IFLA_IFNAME])
		snprintf(li.name, sizeof(li.name), "%s", mnl_attr_get_str(at.tb[IFLA_IFNAME]));
	if (at.tb[IFLA_MTU] && mnl_attr_get_payload_len(at.tb[IFLA_MTU]) >= 4)
		li.mtu = mnl_attr_get_u32(at.tb[IFLA_MTU]);
	if (at.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(at.tb[IFLA_ADDRESS]) == LVS_ETH_ALEN)
		memcpy(li.mac, mnl_attr_get_payload(at.tb[IFLA_ADDRESS]), LVS_ETH_ALEN);
	if (i == ns->links.n) {
		struct lvs_link_info *n = vec_push(&ns->links);
		if (!n)
			return;
		*n = li;
	} else {
		v[i] = li;
	}
	ns->dirty = true;
}

static void on_addr(struct lvs_netstate *ns, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct ns_addr na, *v = ns->addrs.v;
	const struct nlattr *aa;
	struct attrs at;
	uint32_t i;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	memset(&at, 0, sizeof(at));
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &at) < 0)
		return;
	memset(&na, 0, sizeof(na));
	na.af = ifa->ifa_family;
	na.plen = ifa->ifa_prefixlen;
	na.scope = ifa->ifa_scope;
	na.ifindex = ifa->ifa_index;
	na.flags = at.tb[IFA_FLAGS] ? mnl_attr_get_u32(at.tb[IFA_FLAGS]) : ifa->ifa_flags;
	/* IFA_LOCAL is our end of a point-to-point link; IFA_ADDRESS otherwise */
	aa = at.tb[IFA_LOCAL] ? at.tb[IFA_LOCAL] : at.tb[IFA_ADDRESS];
	if (!attr_addr(aa, na.af, &na.a))
		return;
	for (i = 0; i < ns->addrs.n; i++)
		if (v[i].af == na.af && v[i].ifindex == na.ifindex && lvs_addr_eq(&v[i].a, &na.a))
			break;
	if (nlh->nlmsg_type == RTM_DELADDR) {
		if (i < ns->addrs.n) {
			vec_del(&ns->addrs, i);
			ns->dirty = true;
		}
		return;
	}
	if (i == ns->addrs.n) {
		struct ns_addr *n = vec_push(&ns->addrs);
		if (!n)
			return;
		*n = na;
	} else {
		v[i] = na;
	}
	ns->dirty = true;
}

static void on_neigh(struct lvs_netstate *ns, const struct nlmsghdr *nlh)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	bool resolved = false, changed = false;
	union lvs_addr a;
	struct attrs at;
	int k;

	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return;
	if (ndm->ndm_flags & NTF_PROXY)
		return;
	memset(&at, 0, sizeof(at));
	if (mnl_attr_parse(nlh, sizeof(*ndm), attr_cb, &at) < 0)
		return;
	if (!attr_addr(at.tb[NDA_DST], ndm->ndm_family, &a))
		return;
	if (lvs_log_enabled(LOG_DEBUG)) {
		char b[INET6_ADDRSTRLEN];
		lvs_debug("rtnetlink: %s neighbour %s ifindex %d state 0x%x",
			  nlh->nlmsg_type == RTM_DELNEIGH ? "deleted" : "new",
			  lvs_addr_str(ndm->ndm_family, &a, b, sizeof(b)), ndm->ndm_ifindex,
			  ndm->ndm_state);
	}
	lvs_spin_lock(&ns->nb_lock);
	nb_write_begin(ns);
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		k = nb_find_locked(ns, ndm->ndm_family, (uint32_t)ndm->ndm_ifindex, &a);
		if (k >= 0) {
			changed = nud_usable(ns->nb[k].state);
			nb_del_locked(ns, k);
		}
	} else {
		k = nb_get_locked(ns, ndm->ndm_family, (uint32_t)ndm->ndm_ifindex, &a);
		if (k >= 0) {
			struct nb_slot *e = &ns->nb[k];
			bool was = nud_usable(e->state);
			/* a new slot starts as a placeholder (state 0): unusable */
			resolved = !was && nud_usable(ndm->ndm_state);
			changed = was != nud_usable(ndm->ndm_state);
			e->state = ndm->ndm_state;
			e->gen = ns->nb_gen;
			if (at.tb[NDA_LLADDR] &&
			    mnl_attr_get_payload_len(at.tb[NDA_LLADDR]) == LVS_ETH_ALEN) {
				const void *mac = mnl_attr_get_payload(at.tb[NDA_LLADDR]);
				changed |= memcmp(e->mac, mac, LVS_ETH_ALEN) != 0;
				memcpy(e->mac, mac, LVS_ETH_ALEN);
			}
		}
	}
	nb_write_end(ns);
	lvs_spin_unlock(&ns->nb_lock);
	/* after the entry is visible: a worker that sees the new generation
	 * finds the MAC when it routes again */
	if (resolved)
		__atomic_fetch_add(&ns->neigh_gen, 1, __ATOMIC_RELEASE);
	/* a next hop's MAC or usability changed: cached next hops are stale
	 * (a refresh, REACHABLE <-> STALE with the same MAC, changes nothing) */
	if (changed)
		__atomic_fetch_add(&ns->route_gen, 1, __ATOMIC_RELEASE);
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lvs_netstate *ns = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		on_link(ns, nlh);
		return MNL_CB_OK;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		on_addr(ns, nlh);
		return MNL_CB_OK;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		rtnl_on_route(ns, nlh);
		return MNL_CB_OK;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		on_neigh(ns, nlh);
		return MNL_CB_OK;
	default:
		return MNL_CB_OK;
	}
}

/* ---- dumps and commands on the command socket ---- */

static int nl_dump(struct lvs_netstate *ns, uint16_t type, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(ns->buf);
	uint32_t seq = ++ns->cmd_seq;
	size_t hl;
	uint8_t *h;
	int r;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* each request carries its family's header; the family is its first byte */
	hl = type == RTM_GETLINK ? sizeof(struct ifinfomsg)
	     : type == RTM_GETADDR ? sizeof(struct ifaddrmsg)
	     : type == RTM_GETROUTE ? sizeof(struct rtmsg)
				    : sizeof(struct ndmsg);
	h = mnl_nlmsg_put_extra_header(nlh, hl);
	h[0] = family;
	if (mnl_socket_sendto(ns->cmd, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(ns->cmd, ns->buf, ns->buflen);
		if (n < 0)
			return -errno;
		r = mnl_cb_run(ns->buf, (size_t)n, seq, ns->cmd_portid, msg_cb, ns);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return -errno;
	}
}

/* Send one neighbour command and read its acknowledgement. */
static int nl_neigh_cmd(struct lvs_netstate *ns, const struct ns_req *rq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(ns->buf);
	struct ndmsg *ndm;
	uint32_t seq = ++ns->cmd_seq;
	ssize_t n;
	int r;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
	nlh->nlmsg_seq = seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = rq->af;
	ndm->ndm_ifindex = (int)rq->ifindex;
	if (rq->kind == REQ_RESOLVE) {
		/* NTF_USE: the kernel creates the entry if needed and sends
		 * the ARP request / NS now (neigh_event_send) */
		ndm->ndm_flags = NTF_USE;
		ndm->ndm_state = NUD_NONE;
	} else {
		/* what the kernel does for the sender of a request to itself */
		nlh->nlmsg_flags |= NLM_F_REPLACE;
		ndm->ndm_state = NUD_STALE;
		mnl_attr_put(nlh, NDA_LLADDR, LVS_ETH_ALEN, rq->mac);
	}
	mnl_attr_put(nlh, NDA_DST, rq->af == AF_INET ? 4 : 16, rq->a.b);
	if (mnl_socket_sendto(ns->cmd, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(ns->cmd, ns->buf, ns->buflen);
	if (n < 0)
		return -errno;
	r = mnl_cb_run(ns->buf, (size_t)n, seq, ns->cmd_portid, NULL, NULL);
	return r < 0 ? -errno : 0;
}

static void serve_req(struct lvs_netstate *ns, const struct ns_req *rq)
{
	char b[INET6_ADDRSTRLEN];
	int err = nl_neigh_cmd(ns, rq);

	if (rq->kind == REQ_RESOLVE)
		ns->st.resolve_requests++;
	if (err && lvs_log_enabled(LOG_DEBUG))
		lvs_debug("neighbour %s %s on ifindex %u: %s",
			  rq->kind == REQ_RESOLVE ? "resolve" : "learn",
			  lvs_addr_str(rq->af, &rq->a, b, sizeof(b)), rq->ifindex, strerror(-err));
}

static int dump_all(struct lvs_netstate *ns)
{
	int err;

	ns->links.n = ns->addrs.n = 0;
	rtnl_routes_clear(ns);
	ns->nb_gen++;
	if ((err = nl_dump(ns, RTM_GETLINK, AF_UNSPEC)) ||
	    (err = nl_dump(ns, RTM_GETADDR, AF_UNSPEC)) ||
	    (err = nl_dump(ns, RTM_GETROUTE, AF_INET)) ||
	    (err = nl_dump(ns, RTM_GETROUTE, AF_INET6)) ||
	    (err = nl_dump(ns, RTM_GETNEIGH, AF_UNSPEC)))
		return err;
	/* entries the kernel no longer has, but for lvsd's own placeholders */
	lvs_spin_lock(&ns->nb_lock);
	nb_write_begin(ns);
	for (uint32_t k = 0; k <= ns->nb_mask; k++)
		if (ns->nb[k].used == NB_LIVE && ns->nb[k].gen != ns->nb_gen && ns->nb[k].state)
			nb_del_locked(ns, (int)k);
	nb_write_end(ns);
	lvs_spin_unlock(&ns->nb_lock);
	return snap_publish(ns);
}

/* ---- lifecycle ---- */

struct lvs_netstate *lvs_netstate_new(uint32_t neigh_slots)
{
	struct lvs_netstate *ns = calloc(1, sizeof(*ns));
	uint32_t n = 1;

	if (!ns)
		return NULL;
	while (n < (neigh_slots ? neigh_slots : NB_DEF_SLOTS))
		n <<= 1;
	ns->nb_mask = n - 1;
	ns->nb = calloc(n, sizeof(*ns->nb));
	ns->nb_used = calloc(n, sizeof(*ns->nb_used));
	ns->buflen = NS_BUF;
	ns->buf = malloc(ns->buflen);
	ns->links.esz = sizeof(struct lvs_link_info);
	ns->addrs.esz = sizeof(struct ns_addr);
	ns->routes.esz = sizeof(struct ns_route);
	ns->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!ns->nb || !ns->nb_used || !ns->buf || ns->wake_fd < 0) {
		lvs_netstate_free(ns);
		return NULL;
	}
	ns->coarse_now = mono_ns();
	return ns;
}

void lvs_netstate_free(struct lvs_netstate *ns)
{
	if (!ns)
		return;
	if (ns->ev)
		mnl_socket_close(ns->ev);
	if (ns->cmd)
		mnl_socket_close(ns->cmd);
	if (ns->wake_fd >= 0)
		close(ns->wake_fd);
	/* workers are gone: no reader is left */
	snap_free(ns->snap);
	free(ns->rt_idx);
	free(ns->nb);
	free(ns->nb_used);
	free(ns->links.v);
	free(ns->addrs.v);
	free(ns->routes.v);
	free(ns->buf);
	free(ns);
}

int lvs_netstate_start(struct lvs_netstate *ns)
{
	unsigned groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			  RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int fd, err;

	ns->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ns->cmd = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ns->ev || !ns->cmd) {
		err = -errno;
		lvs_err("rtnetlink: socket: %s", strerror(-err));
		return err;
	}
	fd = mnl_socket_get_fd(ns->ev);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 }, sizeof(int)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4 << 20 }, sizeof(int));
	/* subscribe first, dump second: nothing changes unseen in between */
	if (mnl_socket_bind(ns->ev, groups, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(ns->cmd, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		lvs_err("rtnetlink: bind: %s", strerror(-err));
		return err;
	}
	ns->cmd_portid = mnl_socket_get_portid(ns->cmd);
	err = dump_all(ns);
	if (err) {
		lvs_err("rtnetlink: reading the kernel's tables: %s", strerror(-err));
		return err;
	}
	ns->last_resync = ns->last_refresh = mono_ns();
	lvs_info("rtnetlink: %u links, %u addresses, %u routes, %u neighbours", ns->links.n,
		 ns->addrs.n, ns->routes.n, ns->nb_live);
	return 0;
}

int lvs_netstate_fd(const struct lvs_netstate *ns)
{
	return mnl_socket_get_fd(ns->ev);
}

int lvs_netstate_wake_fd(const struct lvs_netstate *ns)
{
	return ns->wake_fd;
}

unsigned lvs_netstate_input(struct lvs_netstate *ns)
{
	unsigned chg = 0;
	uint32_t seq = ns->nb_seq;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(ns->ev, ns->buf, ns->buflen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS)
				ns->need_resync = true;
			else if (errno != EAGAIN)
				lvs_warn("rtnetlink: %s", strerror(errno));
			break;
		}
		/* notifications carry seq 0 and the kernel's port id 0 */
		mnl_cb_run(ns->buf, (size_t)n, 0, 0, msg_cb, ns);
	}
	if (ns->need_resync) {
		lvs_warn("rtnetlink: notifications lost, re-reading the kernel's tables");
		ns->st.resyncs++;
		ns->need_resync = dump_all(ns) != 0;
		return LVS_NS_CHG_LINK | LVS_NS_CHG_ADDR | LVS_NS_CHG_ROUTE | LVS_NS_CHG_NEIGH;
	}
	if (ns->dirty) {
		/* not worth tracking which table it was: callers re-check */
		chg |= LVS_NS_CHG_LINK | LVS_NS_CHG_ADDR | LVS_NS_CHG_ROUTE;
		snap_publish(ns);
	}
	if (ns->nb_seq != seq)
		chg |= LVS_NS_CHG_NEIGH;
	return chg;
}

/* Re-validate entries lvsd used lately that the kernel no longer vouches
 * for (STALE and the like), and retry failed ones still in use.  Drop
 * lvsd's placeholders the kernel never took up (a resolution request that
 * failed), so unanswered addresses cannot fill the table. */
static void refresh_used(struct lvs_netstate *ns, lvs_time_t now)
{
	uint32_t sec = (uint32_t)(now / LVS_NS_PER_SEC), n = 0;
	struct ns_req r[64];

	for (uint32_t k = 0; k <= ns->nb_mask; k++) {
		uint32_t used = __atomic_load_n(&ns->nb_used[k], __ATOMIC_RELAXED);
		struct nb_slot *e = &ns->nb[k];

		if (e->used != NB_LIVE)
			continue;
		lvs_spin_lock(&ns->nb_lock);
		if (e->used == NB_LIVE && !e->state && now - e->req_ns > PLACEHOLDER_TTL_NS) {
			nb_write_begin(ns);
			nb_del_locked(ns, (int)k);
			nb_write_end(ns);
		} else if (e->used == NB_LIVE && used && sec - used <= USED_WINDOW_S &&
			   !(e->state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP))) {
			memset(&r[n], 0, sizeof(r[n]));
			r[n].kind = REQ_RESOLVE;
			r[n].af = e->af;
			r[n].ifindex = e->ifindex;
			r[n].a = e->addr;
			n++;
		}
		lvs_spin_unlock(&ns->nb_lock);
		if (n == 64) {
			for (uint32_t i = 0; i < n; i++)
				serve_req(ns, &r[i]);
			n = 0;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		serve_req(ns, &r[i]);
}

void lvs_netstate_tick(struct lvs_netstate *ns, lvs_time_t now)
{
	struct ns_req r;
	uint64_t v;

	__atomic_store_n(&ns->coarse_now, now, __ATOMIC_RELAXED);
	(void)!read(ns->wake_fd, &v, sizeof(v));
	while (req_pop(ns, &r))
		serve_req(ns, &r);
	if (now - ns->last_refresh >= REFRESH_INTERVAL_NS) {
		ns->last_refresh = now;
		refresh_used(ns, now);
	}
	if (now - ns->last_resync >= RESYNC_INTERVAL_NS) {
		/* self-healing against notifications applied out of order */
		ns->last_resync = now;
		if (dump_all(ns))
			ns->need_resync = true;
	}
}

int lvs_netstate_prime(struct lvs_netstate *ns, int af, const union lvs_addr *dst)
{
	struct lvs_nexthop nh;
	int err;

	__atomic_store_n(&ns->coarse_now, mono_ns(), __ATOMIC_RELAXED);
	err = lvs_netstate_route(ns, af, dst, &nh);
	if (err == -EAGAIN) {
		struct ns_req r;
		while (req_pop(ns, &r))
			serve_req(ns, &r);
		return 0;
	}
	return err;
}

uint64_t lvs_netstate_neigh_gen(const struct lvs_netstate *ns)
{
	return __atomic_load_n(&ns->neigh_gen, __ATOMIC_ACQUIRE);
}

uint64_t lvs_netstate_route_gen(const struct lvs_netstate *ns)
{
	return __atomic_load_n(&ns->route_gen, __ATOMIC_ACQUIRE);
}

void lvs_netstate_get_stats(struct lvs_netstate *ns, struct lvs_netstate_stats *out)
{
	*out = ns->st;
	out->learnt = __atomic_load_n(&ns->st.learnt, __ATOMIC_RELAXED);
	out->neigh_entries = ns->nb_live;
	out->routes = ns->routes.n;
	out->addrs = ns->addrs.n;
	out->links = ns->links.n;
}
