/*
 * lvs_xdp_filter.bpf.h - the AF_XDP driver's frame filter, shared by its
 * own program (lvs_xdp.bpf.c) and by the fast path (lvs_fast.bpf.c), which
 * runs it for the frames it does not forward itself when lvsd uses the
 * AF_XDP driver: one XDP program per interface does both jobs.
 *
 * It hands director traffic (xdp_filter.h says which) to the AF_XDP socket
 * bound to the frame's interface and receive queue, and passes everything
 * else to the host's stack untouched: the director's own SSH, routing
 * protocols, health-check replies and ARP for its own addresses keep
 * working.
 *
 * Maps (the driver fills them; the fast path's copy of the program uses
 * the driver's own, by descriptor):
 *   lvs_xsks      XSKMAP, slot = ifslot(ifindex) * LVS_XDP_QUEUES_MAX + queue
 *   lvs_ifslot    ifindex -> slot base
 *   lvs_filter    struct lvs_xdp_key -> 1
 *   lvs_xdp_stats per-CPU counters (enum lvs_xdp_stat)
 *
 * Parsing reads fixed headers with bounds checks; IPv6 extension headers
 * are walked at most LVS_XDP_EXT_MAX deep.  A frame we cannot parse is not
 * ours to judge: it passes.
 */
#ifndef LVS_XDP_FILTER_BPF_H
#define LVS_XDP_FILTER_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_filter.h"

#define LVS_XDP_EXT_MAX 4

/* ICMP / ICMPv6 error types (RFC 792, RFC 4443) and neighbour solicitation
 * (RFC 4861); <linux/icmp.h> pulls in libc headers. */
#define ARP_OP_REQUEST 1 /* RFC 826; <linux/if_arp.h> pulls in libc headers */
#define ICMP4_DEST_UNREACH  3
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAMETERPROB 12
#define ICMP6_DEST_UNREACH  1
#define ICMP6_PKT_TOOBIG    2
#define ICMP6_TIME_EXCEED   3
#define ICMP6_PARAMPROB     4
#define ICMP6_NEIGH_SOLICIT 135

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, LVS_XDP_XSK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} lvs_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LVS_XDP_IF_MAX);
	__type(key, __u32);
	__type(value, __u32);
} lvs_ifslot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LVS_XDP_FILTER_MAX);
	__type(key, struct lvs_xdp_key);
	__type(value, __u32);
} lvs_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LVS_XDPS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} lvs_xdp_stats SEC(".maps");

struct xf_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* ARP for IPv4 over Ethernet, fixed layout (RFC 826). */
struct xf_arp_eth4 {
	__be16 hrd, pro;
	__u8 hln, pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

static __always_inline void xf_count(__u32 what)
{
	__u64 *c = bpf_map_lookup_elem(&lvs_xdp_stats, &what);

	if (c)
		*c += 1;
}

static __always_inline int xf_has(__u8 kind, const void *addr, __u32 alen, __u8 proto, __be16 port)
{
	struct lvs_xdp_key k = {};

	k.kind = kind;
	k.proto = proto;
	k.port = port;
	__builtin_memcpy(k.addr, addr, 4);
	if (alen == 16)
		__builtin_memcpy(k.addr + 4, (const __u8 *)addr + 4, 12);
	return bpf_map_lookup_elem(&lvs_filter, &k) != NULL;
}

/* An owned VIP guarded whole; a service (on a shared VIP, or on an owned
 * VIP guarded per port, whose ICMP and later fragments come too); or a
 * NAT reply (vip + 4 = the NAT kind); a NAT reply's ICMP errors and later
 * fragments (no ports) go by the server's address alone.  The per-port
 * lookup is made only for ICMP and fragments, so other traffic costs what
 * it did without firewall-mark services. */
static __always_inline int xf_is_director_ip(__u8 vip, const void *daddr, const void *saddr,
					  __u32 alen, __u8 proto, __be16 sport, __be16 dport,
					  int has_ports, int icmp, int icmp_err, int frag)
{
	if (xf_has(vip, daddr, alen, 0, 0))
		return 1;
	if (has_ports && (xf_has(vip + 2, daddr, alen, proto, dport) ||
			  xf_has(vip + 2, daddr, alen, proto, 0)))
		return 1;
	if ((icmp || frag) && xf_has(vip + (LVS_XDPK_PVIP4 - LVS_XDPK_VIP4), daddr, alen, 0, 0))
		return 1;
	if (!has_ports && !icmp_err && !frag)
		return 0;
	/* NAT replies and ICMP errors from NAT real servers, unless they are
	 * for the host itself (health checks, management) */
	if (has_ports && !(xf_has(vip + 4, saddr, alen, proto, sport) ||
			   xf_has(vip + 4, saddr, alen, proto, 0)))
		return 0;
	if (!has_ports && !xf_has(vip + 6, saddr, alen, 0, 0))
		return 0;
	return !xf_has(vip + 8, daddr, alen, 0, 0);
}

static __always_inline int xf_to_lvsd(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex, *base = bpf_map_lookup_elem(&lvs_ifslot, &ifindex);
	__u32 slot;
	int ret;

	if (!base || ctx->rx_queue_index >= LVS_XDP_QUEUES_MAX) {
		xf_count(LVS_XDPS_NO_SOCKET);
		return XDP_PASS;
	}
	slot = *base * LVS_XDP_QUEUES_MAX + ctx->rx_queue_index;
	ret = bpf_redirect_map(&lvs_xsks, slot, XDP_PASS);
	xf_count(ret == XDP_REDIRECT ? LVS_XDPS_REDIRECT : LVS_XDPS_NO_SOCKET);
	return ret;
}

static __always_inline int xf_pass(void)
{
	xf_count(LVS_XDPS_PASS);
	return XDP_PASS;
}

static __always_inline int lvs_xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3;
	__be16 type;

	if ((void *)(eth + 1) > end)
		return xf_pass();
	type = eth->h_proto;
	l3 = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct xf_vlan_hdr *v = l3;
		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(v + 1) > end)
			return xf_pass();
		type = v->proto;
		l3 = v + 1;
	}

	if (type == bpf_htons(ETH_P_ARP)) {
		struct xf_arp_eth4 *a = l3;
		if ((void *)(a + 1) > end || a->op != bpf_htons(ARP_OP_REQUEST) ||
		    a->pro != bpf_htons(ETH_P_IP) || a->pln != 4)
			return xf_pass();
		return xf_has(LVS_XDPK_VIP4, a->tpa, 4, 0, 0) || xf_has(LVS_XDPK_PVIP4, a->tpa, 4, 0, 0)
			       ? xf_to_lvsd(ctx)
			       : xf_pass();
	}

	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__be16 sport = 0, dport = 0;
		int ports = 0, icmp = 0, icmp_err = 0, frag;
		void *l4;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return xf_pass();
		frag = (ip->frag_off & bpf_htons(0x1fff)) != 0;
		l4 = (__u8 *)ip + ip->ihl * 4;
		/* later fragments carry no L4 header */
		if (!(ip->frag_off & bpf_htons(0x1fff))) {
			if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP ||
			    ip->protocol == IPPROTO_SCTP) {
				__be16 *pp = l4;
				if ((void *)(pp + 2) <= end) {
					sport = pp[0];
					dport = pp[1];
					ports = 1;
				}
			} else if (ip->protocol == IPPROTO_ICMP) {
				__u8 *ic = l4;
				icmp = 1;
				if ((void *)(ic + 8) <= end)
					icmp_err = ic[0] == ICMP4_DEST_UNREACH ||
						   ic[0] == ICMP4_TIME_EXCEEDED ||
						   ic[0] == ICMP4_PARAMETERPROB;
			}
		}
		return xf_is_director_ip(LVS_XDPK_VIP4, &ip->daddr, &ip->saddr, 4, ip->protocol, sport,
				      dport, ports, icmp, icmp_err, frag)
			       ? xf_to_lvsd(ctx)
			       : xf_pass();
	}

	if (type == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		__be16 sport = 0, dport = 0;
		int ports = 0, icmp = 0, icmp_err = 0, frag = 0;
		__u8 nh;
		__u8 *l4;

		if ((void *)(ip6 + 1) > end)
			return xf_pass();
		nh = ip6->nexthdr;
		l4 = (__u8 *)(ip6 + 1);
#pragma unroll
		for (int i = 0; i < LVS_XDP_EXT_MAX; i++) {
			if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
				if (l4 + 8 > (__u8 *)end)
					return xf_pass();
				nh = l4[0];
				l4 += (l4[1] + 1) * 8;
			} else if (nh == IPPROTO_FRAGMENT) {
				if (l4 + 8 > (__u8 *)end)
					return xf_pass();
				/* a later fragment: no L4 header */
				if ((l4[2] << 8 | l4[3]) & 0xfff8) {
					nh = IPPROTO_NONE;
					frag = 1;
				} else
					nh = l4[0];
				l4 += 8;
			} else {
				break;
			}
		}
		if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_SCTP) {
			if (l4 + 4 <= (__u8 *)end) {
				sport = *(__be16 *)l4;
				dport = *(__be16 *)(l4 + 2);
				ports = 1;
			}
		} else if (nh == IPPROTO_ICMPV6) {
			icmp = 1;
		}
		if (nh == IPPROTO_ICMPV6 && l4 + 24 <= (__u8 *)end) {
			__u8 t = l4[0];
			/* a neighbour solicitation for an owned VIP: the target
			 * follows the 8-byte ICMPv6 header */
			if (t == ICMP6_NEIGH_SOLICIT)
				return xf_has(LVS_XDPK_VIP6, l4 + 8, 16, 0, 0) ||
					       xf_has(LVS_XDPK_PVIP6, l4 + 8, 16, 0, 0)
					       ? xf_to_lvsd(ctx)
					       : xf_pass();
			icmp_err = t == ICMP6_DEST_UNREACH || t == ICMP6_PKT_TOOBIG ||
				   t == ICMP6_TIME_EXCEED || t == ICMP6_PARAMPROB;
		}
		return xf_is_director_ip(LVS_XDPK_VIP6, &ip6->daddr, &ip6->saddr, 16, nh, sport, dport,
				      ports, icmp, icmp_err, frag)
			       ? xf_to_lvsd(ctx)
			       : xf_pass();
	}
	return xf_pass();
}

#endif
