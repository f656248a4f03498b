/*
 * lvs_decap.bpf.c - the TUN-mode real-server helper: a tc clsact ingress
 * program that strips the tunnel headers an LVS director puts in front of
 * the client's packet, so the inner packet (addressed to the VIP, which the
 * real server holds on lo) reaches the local stack.  It stands in for the
 * kernel's ipip / ip6_tunnel / fou / gre modules on hosts without them.
 *
 * Accepted, when the outer destination is one of this host's configured
 * tunnel addresses (map lvs_decap_addrs; the attach script fills it with the
 * device's global addresses) and the frame was sent to our MAC:
 *   ipip   outer IPv4 or IPv6, next header 4 (IPv4 inside, RFC 2003) or 41
 *          (IPv6 inside, RFC 2473 / RFC 4213);
 *   gue    UDP to the configured port carrying a variant-0 GUE header
 *          (draft-ietf-intarea-gue: 2-bit version 0, C bit clear = data,
 *          5-bit Hlen in 32-bit words of optional fields, proto 4 or 41);
 *   gre    RFC 2784 / RFC 2890, version 0, no routing, optional checksum,
 *          key and sequence words, protocol 0x0800 or 0x86DD.
 * Everything else passes unchanged (TC_ACT_OK).  Tunnel packets we recognise
 * but cannot deliver (fragmented outer IPv4, GUE control messages, GUE remote
 * checksum offload, unknown inner protocol) pass too, so the kernel treats
 * them as it would without the helper, and a counter says why.
 *
 * The outer headers are removed with bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC,
 * negative): the bytes right after the Ethernet header go.  When the inner
 * IP version differs from the outer one, the DECAP_L3 flag (Linux 6.3) sets
 * skb->protocol and we rewrite the Ethernet type to match.  Outer checksums
 * (GRE, UDP) are not verified: the inner packet carries its own.
 *
 * Bounded work, no loops over packet data: parsing reads fixed headers only.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define LVS_GUE_VER_MASK      0xc0 /* first byte: version (2 bits) */
#define LVS_GUE_C_BIT         0x20 /* control message */
#define LVS_GUE_HLEN_MASK     0x1f
#define LVS_GUE_FLAG_PRIV     0x0001 /* flags (host order): private flags follow */
#define LVS_GUE_PFLAG_REMCSUM 0x80000000u

#define LVS_GRE_C   0x8000 /* checksum present */
#define LVS_GRE_R   0x4000 /* routing present (RFC 1701, obsolete) */
#define LVS_GRE_K   0x2000 /* key present (RFC 2890) */
#define LVS_GRE_S   0x1000 /* sequence number present (RFC 2890) */
#define LVS_GRE_VER 0x0007

/* Configuration, written by lab/rs-decap.sh after the program is attached. */
struct lvs_decap_cfg {
	__u16 gue_port; /* host byte order; 0 = GUE off */
	__u16 flags;    /* LVS_DECAP_ANY_DST: skip the address check */
	__u32 pad;
};
#define LVS_DECAP_ANY_DST 0x1

/* Counters, one u64 per reason (lab/rs-decap.sh stats prints them). */
enum lvs_decap_stat {
	LVS_DECAP_IPIP4 = 0, /* decapsulated, outer IPv4 ipip */
	LVS_DECAP_IPIP6,     /* decapsulated, outer IPv6 ipip */
	LVS_DECAP_GUE,       /* decapsulated GUE */
	LVS_DECAP_GRE,       /* decapsulated GRE */
	LVS_DECAP_NOT_OURS,  /* tunnel packet to an address not configured */
	LVS_DECAP_UNSUPP,    /* tunnel packet we leave to the kernel */
	LVS_DECAP_FAIL,      /* bpf_skb_adjust_room refused */
	LVS_DECAP_NSTATS
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lvs_decap_cfg);
} lvs_decap_cfg SEC(".maps");

/* Key: 16-byte address, IPv4 as ::ffff:a.b.c.d (network order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct in6_addr);
	__type(value, __u8);
} lvs_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LVS_DECAP_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} lvs_decap_stats SEC(".maps");

static __always_inline void lvs_count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&lvs_decap_stats, &reason);

	if (c)
		*c += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline int lvs_addr_ok(const struct lvs_decap_cfg *cfg, const struct in6_addr *a)
{
	if (cfg->flags & LVS_DECAP_ANY_DST)
		return 1;
	return bpf_map_lookup_elem(&lvs_decap_addrs, a) != NULL;
}

/*
 * Remove @outer_len bytes after the Ethernet header; @inner_proto is the
 * inner packet's IP protocol number (4 or 41), @outer_v6 the outer version.
 * Returns TC_ACT_OK in every case (a failed strip leaves the packet as it
 * was, and the kernel drops what it cannot use).
 */
static __always_inline int lvs_strip(struct __sk_buff *skb, __u32 outer_len, __u8 inner_proto,
                                     int outer_v6, __u32 stat)
{
	__u64 flags = 0;
	__be16 eth_proto;

	if (inner_proto == IPPROTO_IPIP) {
		eth_proto = bpf_htons(ETH_P_IP);
		if (outer_v6)
			flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	} else if (inner_proto == IPPROTO_IPV6) {
		eth_proto = bpf_htons(ETH_P_IPV6);
		if (!outer_v6)
			flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	} else {
		lvs_count(LVS_DECAP_UNSUPP);
		return TC_ACT_OK;
	}
	if (bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC, flags)) {
		lvs_count(LVS_DECAP_FAIL);
		return TC_ACT_OK;
	}
	if (flags)
		bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &eth_proto,
		                    sizeof(eth_proto), 0);
	lvs_count(stat);
	return TC_ACT_OK;
}

/* GUE or GRE after the outer IP header at @l4; @l3_len is its length. */
static __always_inline int lvs_l4_tunnel(struct __sk_buff *skb, const struct lvs_decap_cfg *cfg,
                                         __u8 proto, __u32 l4, __u32 l3_len, int outer_v6)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = data + l4;
		__u8 *gue = data + l4 + sizeof(*uh);
		__u32 hlen;
		__u16 gflags;

		if ((void *)(gue + 4) > end)
			return TC_ACT_OK;
		if (!cfg->gue_port || uh->dest != bpf_htons(cfg->gue_port))
			return TC_ACT_OK;
		if ((gue[0] & LVS_GUE_VER_MASK) || (gue[0] & LVS_GUE_C_BIT)) {
			/* version 1 (direct IP) or control: not what IPVS sends */
			lvs_count(LVS_DECAP_UNSUPP);
			return TC_ACT_OK;
		}
		hlen = (gue[0] & LVS_GUE_HLEN_MASK) * 4;
		gflags = ((__u16)gue[2] << 8) | gue[3];
		if (gflags & LVS_GUE_FLAG_PRIV) {
			__u8 *pf = gue + 4;

			if ((void *)(pf + 4) > end || hlen < 4)
				return TC_ACT_OK;
			/* Remote checksum offload leaves the inner checksum
			 * for the receiver to finish over the whole payload,
			 * which this program does not do. */
			if (((__u32)pf[0] << 24) & LVS_GUE_PFLAG_REMCSUM) {
				lvs_count(LVS_DECAP_UNSUPP);
				return TC_ACT_OK;
			}
		}
		if (skb->len < l4 + sizeof(*uh) + 4 + hlen)
			return TC_ACT_OK;
		return lvs_strip(skb, l3_len + sizeof(*uh) + 4 + hlen, gue[1], outer_v6,
		                 LVS_DECAP_GUE);
	}

	/* GRE */
	{
		__u8 *g = data + l4;
		__u16 gflags;
		__u16 gproto;
		__u32 glen = 4;
		__u8 inner;

		if ((void *)(g + 4) > end)
			return TC_ACT_OK;
		gflags = ((__u16)g[0] << 8) | g[1];
		gproto = ((__u16)g[2] << 8) | g[3];
		if ((gflags & (LVS_GRE_R | LVS_GRE_VER))) {
			lvs_count(LVS_DECAP_UNSUPP);
			return TC_ACT_OK;
		}
		if (gflags & LVS_GRE_C)
			glen += 4;
		if (gflags & LVS_GRE_K)
			glen += 4;
		if (gflags & LVS_GRE_S)
			glen += 4;
		if (gproto == ETH_P_IP)
			inner = IPPROTO_IPIP;
		else if (gproto == ETH_P_IPV6)
			inner = IPPROTO_IPV6;
		else
			return TC_ACT_OK; /* GRE for someone else (e.g. ERSPAN) */
		if (skb->len < l4 + glen)
			return TC_ACT_OK;
		return lvs_strip(skb, l3_len + glen, inner, outer_v6, LVS_DECAP_GRE);
	}
}

SEC("tc")
int lvs_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct lvs_decap_cfg *cfg;
	struct in6_addr dst = {};
	__u32 zero = 0;
	__u32 l3 = sizeof(*eth);
	__u32 l3_len;
	__u8 proto;
	int v6;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (skb->pkt_type != PACKET_HOST)
		return TC_ACT_OK;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		proto = ip->protocol;
		if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6 && proto != IPPROTO_UDP &&
		    proto != IPPROTO_GRE)
			return TC_ACT_OK;
		if (ip->version != 4 || ip->ihl < 5)
			return TC_ACT_OK;
		l3_len = ip->ihl * 4;
		dst.s6_addr16[5] = 0xffff;
		dst.s6_addr32[3] = ip->daddr;
		v6 = 0;
		cfg = bpf_map_lookup_elem(&lvs_decap_cfg, &zero);
		if (!cfg)
			return TC_ACT_OK;
		if (proto == IPPROTO_UDP && !cfg->gue_port)
			return TC_ACT_OK;
		if (!lvs_addr_ok(cfg, &dst)) {
			if (proto != IPPROTO_UDP)
				lvs_count(LVS_DECAP_NOT_OURS);
			return TC_ACT_OK;
		}
		/* A fragment: the kernel reassembles it, and we cannot. */
		if (ip->frag_off & bpf_htons(0x3fff)) {
			lvs_count(LVS_DECAP_UNSUPP);
			return TC_ACT_OK;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		/* Extension headers before the tunnel are not followed. */
		proto = ip6->nexthdr;
		if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6 && proto != IPPROTO_UDP &&
		    proto != IPPROTO_GRE)
			return TC_ACT_OK;
		l3_len = sizeof(*ip6);
		dst = ip6->daddr;
		v6 = 1;
		cfg = bpf_map_lookup_elem(&lvs_decap_cfg, &zero);
		if (!cfg)
			return TC_ACT_OK;
		if (proto == IPPROTO_UDP && !cfg->gue_port)
			return TC_ACT_OK;
		if (!lvs_addr_ok(cfg, &dst)) {
			if (proto != IPPROTO_UDP)
				lvs_count(LVS_DECAP_NOT_OURS);
			return TC_ACT_OK;
		}
	} else {
		return TC_ACT_OK;
	}

	if (proto == IPPROTO_IPIP || proto == IPPROTO_IPV6)
		return lvs_strip(skb, l3_len, proto, v6, v6 ? LVS_DECAP_IPIP6 : LVS_DECAP_IPIP4);
	if (l3_len > 60)
		return TC_ACT_OK;
	return lvs_l4_tunnel(skb, cfg, proto, l3 + l3_len, l3_len, v6);
}

char _license[] SEC("license") = "GPL";
