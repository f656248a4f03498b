/*
 * rtnl_priv.h - private layout of the network view, shared by rtnl.c (the
 * netlink sockets, links, addresses, the neighbour cache, snapshots and the
 * data path) and rtnl_route.c (the main routing table: routes from
 * rtnetlink messages, their index, the longest-prefix match).  Nothing
 * outside those files and their tests may include it.
 */
#ifndef LVS_RTNL_PRIV_H
#define LVS_RTNL_PRIV_H

#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "netstate.h"

#define REQ_RING 256

/* ---- published snapshot: links, addresses, routes ---- */

struct ns_route {
	uint8_t af, plen, type;
	bool has_gw, has_src;
	uint32_t oif, prio, mtu;
	uint32_t seq; /* arrival order: the first of equal routes wins */
	union lvs_addr dst, gw, src;
};

struct ns_addr {
	uint8_t af, plen, scope;
	uint32_t flags, ifindex;
	union lvs_addr a;
};

/*
 * Longest-prefix match as sorted ranges: the address space of a family
 * cut at every prefix's first address and at the address after its last,
 * each range mapped to the route that wins there (the longest prefix
 * covering it, then the lowest metric, then the earliest route).  A lookup
 * is one binary search for the last range start <= the address:
 * O(log n), at most 2n + 1 ranges for n routes.  Built when a snapshot is
 * published, never changed after.
 */
#define LPM_NONE UINT32_MAX

struct k128 {
	uint64_t hi, lo; /* host order */
};

struct ns_lpm {
	uint32_t n;        /* ranges, >= 1: the first starts at address 0 */
	uint32_t *k4;      /* IPv4 range starts (host order), or */
	struct k128 *k6;   /* IPv6 range starts */
	uint32_t *val;     /* index in ns_snap.routes, or LPM_NONE */
};

struct ns_snap {
	struct rcu_head rcu;
	uint32_t nlinks, naddrs, nroutes;
	struct lvs_link_info *links; /* by ifindex */
	struct ns_addr *addrs;
	struct ns_route *routes;     /* longest prefix first, then lowest metric */
	struct ns_lpm lpm4, lpm6;
};

/* ---- the netstate ---- */

struct nb_slot; /* the neighbour cache's entry (rtnl.c) */

/* A worker's request to the control thread (rtnl.c). */
struct ns_req {
	uint8_t kind, af;
	uint32_t ifindex;
	union lvs_addr a;
	uint8_t mac[LVS_ETH_ALEN];
};

/* The control thread's growable arrays of links, addresses and routes. */
struct vec {
	void *v;
	uint32_t n, cap;
	size_t esz;
};

struct lvs_netstate {
	struct ns_snap *snap; /* RCU */

	/* neighbours: seqlock for readers, nb_lock between writers */
	uint32_t nb_seq;
	struct lvs_spinlock nb_lock;
	uint32_t nb_mask, nb_live, nb_dead;
	uint16_t nb_gen;
	struct nb_slot *nb;
	uint32_t *nb_used; /* coarse second of last use, outside the seqlock */

	uint64_t coarse_now; /* ns, advanced by the control thread */

	/* lvs_netstate_neigh_gen: read by every worker on every loop, written
	 * rarely; a cache line of its own */
	char pad0[64];
	uint64_t neigh_gen;
	/* lvs_netstate_route_gen: any change that can alter a route's answer;
	 * read on every cached route, written rarely */
	uint64_t route_gen;
	char pad1[64 - 2 * sizeof(uint64_t)];

	struct lvs_spinlock req_lock;
	unsigned req_head, req_tail;
	struct ns_req req[REQ_RING];
	int wake_fd;

	/* control thread only */
	struct mnl_socket *ev, *cmd;
	uint32_t cmd_portid, cmd_seq;
	struct vec links, addrs, routes;
	/* routes by (af, plen, metric, prefix): open addressing, linear
	 * probing, route index + 1 (0: empty) */
	uint32_t *rt_idx, rt_mask;
	uint32_t route_seq;
	bool dirty, need_resync;
	lvs_time_t last_refresh, last_resync;
	struct lvs_netstate_stats st;
	char *buf; /* MNL_SOCKET_BUFFER_SIZE-ish */
	size_t buflen;
};

static inline void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		uint32_t nc = v->cap ? v->cap * 2 : 16;
		void *nv = realloc(v->v, nc * v->esz);
		if (!nv)
			return NULL;
		v->v = nv;
		v->cap = nc;
	}
	return (char *)v->v + (size_t)v->n++ * v->esz;
}

/* ---- netlink attributes ---- */

struct attrs {
	const struct nlattr *tb[64];
};

static inline int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	unsigned t = mnl_attr_get_type(a);

	if (t < 64)
		at->tb[t] = a;
	return MNL_CB_OK;
}

static inline bool attr_addr(const struct nlattr *a, int af, union lvs_addr *out)
{
	size_t want = af == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	if (!a || mnl_attr_get_payload_len(a) < want)
		return false;
	memcpy(out->b, mnl_attr_get_payload(a), want);
	return true;
}

/* ---- the routing table (rtnl_route.c) ---- */

/* RTM_NEWROUTE / RTM_DELROUTE: the main table's unicast, blackhole,
 * unreachable and prohibit routes into ns->routes (sets ns->dirty). */
void rtnl_on_route(struct lvs_netstate *ns, const struct nlmsghdr *nlh);
/* Forget every route (before a full re-read). */
void rtnl_routes_clear(struct lvs_netstate *ns);
/* Sort s->routes (longest prefix first, then lowest metric, then arrival)
 * and build s->lpm4 and s->lpm6 from them.  0 or -ENOMEM. */
int rtnl_snap_routes_build(struct ns_snap *s);
/* Free what rtnl_snap_routes_build allocated (also after it failed). */
void rtnl_snap_routes_free(struct ns_snap *s);
/* The route the main table gives dst, or NULL.  Data path. */
const struct ns_route *rtnl_snap_lpm(const struct ns_snap *s, int af, const union lvs_addr *dst);

#endif
