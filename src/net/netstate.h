/*
 * netstate.h - the director's view of the network, read from the kernel
 * over rtnetlink (libmnl): interfaces (index, name, MAC, MTU, flags),
 * addresses, the main routing table (IPv4 and IPv6, longest-prefix match,
 * gateway or directly connected) and the neighbour table (MAC of a next
 * hop per interface).  Nothing is configured by hand: lvsd follows
 * `ip link / addr / route / neigh` as they change.
 *
 * Threads: the control thread owns the netlink sockets and is the only
 * writer of links, addresses and routes, which it publishes as immutable
 * snapshots under RCU (liburcu-qsbr; old ones are freed after a grace
 * period).  Neighbours live in a fixed-size hash read under a seqlock, so
 * a neighbour update costs no copy; workers write to it only to note a
 * resolution request or a MAC learnt from an ARP/NS for a VIP.  Every
 * thread that calls a data path function here must be a registered QSBR
 * reader (rcu_register_thread) and stay online while it does.
 *
 * Resolution: a route whose next hop has no usable neighbour entry
 * returns -EAGAIN (the worker holds the packet, holdq.h) after asking the
 * control thread, at most once a second per next hop, to have the kernel
 * resolve it (RTM_NEWNEIGH with NTF_USE: the kernel sends the ARP request /
 * neighbour solicitation and reports the answer as a neighbour update).
 * Every entry that becomes usable bumps a generation counter
 * (lvs_netstate_neigh_gen), which tells workers to retry what they hold.
 * Entries lvsd uses are re-validated the same way when the kernel
 * considers them stale, since the kernel cannot see lvsd's use.
 *
 * Destinations cache their next hop (route_cache.h,
 * lvs_netstate_route_cached); a second generation counter, bumped after
 * every change that can alter a next hop (a published route / link /
 * address snapshot, a neighbour whose MAC or usability changed),
 * invalidates those entries.
 *
 * Not followed: policy routing rules (only the main table is read),
 * multipath routes (the first next hop is used), nexthop objects, VRFs.
 */
#ifndef LVS_NETSTATE_H
#define LVS_NETSTATE_H

#include <net/if.h>

#include "xmit.h"

struct lvs_link_info {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[LVS_ETH_ALEN];
	uint32_t mtu;
	uint32_t flags;   /* IFF_UP, IFF_RUNNING, IFF_NOARP, ... */
	uint16_t type;    /* ARPHRD_ETHER, ARPHRD_LOOPBACK, ... */
};

/* What lvs_netstate_input found changed. */
#define LVS_NS_CHG_LINK 0x1
#define LVS_NS_CHG_ADDR 0x2
#define LVS_NS_CHG_ROUTE 0x4
#define LVS_NS_CHG_NEIGH 0x8

struct lvs_netstate;

/* ---- control thread ---- */

/* Allocate; neigh_slots: neighbour hash size (0: default 16384). */
struct lvs_netstate *lvs_netstate_new(uint32_t neigh_slots);
/* Open the netlink sockets and read the kernel's tables.  0 or -errno. */
int lvs_netstate_start(struct lvs_netstate *ns);
void lvs_netstate_free(struct lvs_netstate *ns);
/* Poll these for POLLIN: netlink notifications, and workers' requests. */
int lvs_netstate_fd(const struct lvs_netstate *ns);
int lvs_netstate_wake_fd(const struct lvs_netstate *ns);
/* Apply pending notifications (re-reading everything after an overrun);
 * returns LVS_NS_CHG_* of what changed. */
unsigned lvs_netstate_input(struct lvs_netstate *ns);
/* Serve workers' requests (wake fd readable, and on every tick); every few
 * seconds re-validate neighbours lvsd uses.  now: monotonic ns. */
void lvs_netstate_tick(struct lvs_netstate *ns, lvs_time_t now);
/* Route dst and start resolving its next hop if needed (e.g. for a new
 * real server, so its first packet finds the MAC).  0, -EHOSTUNREACH. */
int lvs_netstate_prime(struct lvs_netstate *ns, int af, const union lvs_addr *dst);

/* ---- any registered thread ---- */

/* 0 and *out, or -ENODEV. */
int lvs_netstate_link(struct lvs_netstate *ns, uint32_t ifindex, struct lvs_link_info *out);
/* Is a one of the host's own addresses? */
bool lvs_netstate_is_local(struct lvs_netstate *ns, int af, const union lvs_addr *a);
/* The host's own addresses: up to max of them into af[] / a[]; returns how
 * many there are (call again with more room when that exceeds max). */
unsigned lvs_netstate_local_addrs(struct lvs_netstate *ns, uint8_t *af, union lvs_addr *a,
				  unsigned max);

/* ---- data path (workers) ---- */

/* lvs_xmit_env callbacks, ctx = the netstate. */
int lvs_netstate_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh);
/*
 * lvs_xmit_env.route_cached: lvs_netstate_route through a destination's
 * cache (route_cache.h).  The entry is used while no route, link, address
 * or neighbour change has happened since it was filled (one generation
 * counter, bumped after each such change is visible) and it is younger
 * than a second -- then the next hop is routed again, which keeps its
 * neighbour entry marked as used.  Errors are never cached.
 */
int lvs_netstate_route_cached(void *ctx, struct lvs_route_cache *rc, int af,
			      const union lvs_addr *dst, struct lvs_nexthop *nh);
int lvs_netstate_src_addr(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src);
/*
 * A neighbour told us its MAC (the sender of an ARP request or neighbour
 * solicitation for a VIP, RFC 826 / RFC 4861 7.2.3): remember it where no
 * usable entry exists, and have the kernel add it as STALE, as the
 * kernel does for requests addressed to itself.  So the reply to a new
 * client does not wait for resolution.
 */
void lvs_netstate_learn(struct lvs_netstate *ns, int af, uint32_t ifindex,
			const union lvs_addr *a, const uint8_t mac[LVS_ETH_ALEN]);

/*
 * Neighbour generation: changes (after the entry is visible to routes)
 * whenever a neighbour entry becomes usable -- a resolution answered, an
 * entry learnt -- never otherwise.  A worker that read it before routing
 * and sees another value later knows a next hop that was unresolved may
 * be resolved now.  One atomic load.
 */
uint64_t lvs_netstate_neigh_gen(const struct lvs_netstate *ns);
/* Route generation: bumped after any change that can alter a next hop
 * (routes, links, addresses, a neighbour's MAC or usability). */
uint64_t lvs_netstate_route_gen(const struct lvs_netstate *ns);

/* Counters for a status command. */
struct lvs_netstate_stats {
	uint64_t resolve_requests; /* NTF_USE sent */
	uint64_t learnt;           /* entries added from ARP/NS */
	uint64_t resyncs;          /* full re-reads after a notification overrun */
	uint32_t neigh_entries;
	uint32_t routes, addrs, links;
};
void lvs_netstate_get_stats(struct lvs_netstate *ns, struct lvs_netstate_stats *out);

#endif
