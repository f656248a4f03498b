/*
 * nl_build.h - rtnetlink notifications as the kernel sends them (links,
 * routes, neighbours), built with libmnl into a caller's buffer, for
 * feeding the network view's parser (rtnl.c's msg_cb) without a netlink
 * socket.  Shared by the rtnl unit tests and bench/bench_route.c; no
 * cmocka here.  Each builder writes one message at the start of buf (at
 * least NLB_BUF bytes) and returns its header.  Functions are static
 * inline so a user of only some of them compiles warning-free.
 */
#ifndef LVS_NL_BUILD_H
#define LVS_NL_BUILD_H

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lvs_types.h"
#include "netstate.h"

/* Room for any message built here. */
#define NLB_BUF 512

/* RTM_NEWLINK for an Ethernet interface; name NULL: no IFLA_IFNAME. */
static inline struct nlmsghdr *nlb_link(void *buf, uint32_t ifindex, const char *name,
					const uint8_t mac[6], uint32_t mtu, bool up)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_type = ARPHRD_ETHER;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = up ? IFF_UP | IFF_RUNNING : 0;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nlh;
}

/* A route of the main table.  Zero fields are left out of the message. */
struct nlb_route {
	uint8_t af, plen;
	uint8_t type;   /* RTN_*; 0: RTN_UNICAST */
	uint32_t table; /* RTA_TABLE (the kernel sends it too); 0: none */
	uint32_t oif, prio, mtu;
	bool has_gw;
	union lvs_addr dst, gw; /* dst: only with plen */
};

/* RTM_NEWROUTE / RTM_DELROUTE (type) for r. */
static inline struct nlmsghdr *nlb_route(void *buf, uint16_t type, const struct nlb_route *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen = r->af == AF_INET ? 4 : 16;

	nlh->nlmsg_type = type;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->af;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	if (r->table)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->plen)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst.b);
	if (r->prio)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->prio);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gw.b);
	if (r->mtu) {
		struct nlattr *mx = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, mx);
	}
	return nlh;
}

/* RTM_NEWNEIGH / RTM_DELNEIGH (type) for a on ifindex; mac NULL: no
 * NDA_LLADDR. */
static inline struct nlmsghdr *nlb_neigh(void *buf, uint16_t type, int af, uint32_t ifindex,
					 const union lvs_addr *a, uint16_t state, uint8_t flags,
					 const uint8_t *mac)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = type;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)af;
	ndm->ndm_ifindex = (int)ifindex;
	ndm->ndm_state = state;
	ndm->ndm_flags = flags;
	mnl_attr_put(nlh, NDA_DST, af == AF_INET6 ? 16 : 4, a->b);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nlh;
}

/* ---- for the users' fixtures ---- */

/* xorshift64 over *state: repeatable random numbers. */
static inline uint64_t nlb_rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A random address of family af. */
static inline union lvs_addr nlb_rnd_addr(uint64_t *state, int af)
{
	union lvs_addr a;
	uint64_t x = nlb_rnd(state), y = nlb_rnd(state);

	memset(&a, 0, sizeof(a));
	if (af == AF_INET) {
		a.ip4 = (uint32_t)x;
	} else {
		memcpy(a.b, &x, 8);
		memcpy(a.b + 8, &y, 8);
	}
	return a;
}

/* Free *ns once its RCU callbacks have run, and leave the thread's RCU
 * registration (the fixtures' teardown). */
static inline void nlb_netstate_done(struct lvs_netstate **ns)
{
	rcu_thread_offline();
	rcu_barrier();
	lvs_netstate_free(*ns);
	*ns = NULL;
	rcu_unregister_thread();
}

#endif
