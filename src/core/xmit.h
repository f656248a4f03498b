/*
 * xmit.h - the transforms: what a packet must look like when it leaves the
 * director.  One file each: xmit_nat.c (masquerade), xmit_dr.c (direct
 * routing), xmit_tun.c (IPIP / IPv6-in-IPv6, GUE, GRE), xmit_icmp.c (ICMP
 * errors that quote a tracked connection, and ICMP errors the director
 * itself originates: time exceeded, fragmentation needed / packet too big).
 *
 * Transforms are pure: they rewrite the frame in place (using headroom to
 * prepend) and ask the environment (struct lvs_xmit_env) for next-hop MACs,
 * egress interface, MTU and source addresses.  They decrement the TTL / hop
 * limit as a router does (kernel IPVS does too), answer with ICMP time
 * exceeded when it runs out, and with fragmentation-needed / packet-too-big
 * when the result would exceed the MTU and the packet may not be
 * fragmented (IPv4 DF, or any IPv6).
 *
 * Checksums: NAT updates L4 checksums incrementally, including the
 * pseudo-header; a checksum-partial frame (LVS_PKT_F_CSUM_PARTIAL) stays
 * partial with its pseudo-header sum updated.  Encapsulation completes a
 * partial inner checksum first (the outer packet cannot carry the offload
 * request further).
 */
#ifndef LVS_XMIT_H
#define LVS_XMIT_H

#include "pkt.h"

/* Result of a transform. */
enum lvs_verdict {
	LVS_V_DROP = 0, /* *why says which reason */
	LVS_V_TX,       /* p now holds the frame to send on p->ifindex */
	LVS_V_PASS,     /* hand the frame to the host stack unchanged */
	LVS_V_HELD,     /* the director kept a copy (a fragment waiting for its
			 * first, frag.h): nothing to do with the frame */
};

/* Next hop for an outgoing IP packet. */
struct lvs_nexthop {
	uint8_t mac[LVS_ETH_ALEN];    /* next hop's MAC */
	uint8_t src_mac[LVS_ETH_ALEN];/* our MAC on the egress interface */
	uint32_t ifindex;
	uint32_t mtu;
	uint16_t vlan_tci;            /* 0: untagged */
};

struct lvs_route_cache; /* route_cache.h */

struct lvs_xmit_env {
	void *ctx;
	/*
	 * Route and resolve dst (of family af): fill *nh.  Returns 0, or
	 * -EHOSTUNREACH (no route) / -EAGAIN (neighbour not yet resolved; the
	 * environment may start resolution).  Data path: must not block.
	 */
	int (*route)(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh);
	/*
	 * Optional: route as above, through a destination's cache rc
	 * (route_cache.h) -- use its entry while the environment deems it
	 * valid, else route and refill it.  Used where a packet goes to a
	 * real server (NAT in, DR, TUN's outer destination); NULL: route is
	 * used every time.  Same results and contract as route.
	 */
	int (*route_cached)(void *ctx, struct lvs_route_cache *rc, int af, const union lvs_addr *dst,
			    struct lvs_nexthop *nh);
	/* The director's source address toward dst (tunnel outer header, ICMP
	 * errors it originates). 0 or -EADDRNOTAVAIL. */
	int (*src_addr)(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src);
};

/* The connection as a transform needs it (filled by the director from the
 * connection entry and its destination). */
struct lvs_flow {
	uint8_t af;   /* client side family */
	uint8_t daf;  /* destination family */
	uint8_t proto;
	uint8_t fwd;  /* enum lvs_fwd */
	uint8_t tun_type;
	uint16_t tun_flags;
	uint16_t tun_port; /* network order */
	uint16_t cport, vport, dport;
	union lvs_addr caddr, vaddr, daddr;
	/* the destination's next-hop cache for daddr, or NULL */
	struct lvs_route_cache *rc;
};

/* NAT: client -> real server (rewrite destination to daddr:dport). */
enum lvs_verdict lvs_xmit_nat_in(struct lvs_pkt *p, const struct lvs_flow *f,
				 const struct lvs_xmit_env *env, enum lvs_drop *why);
/* NAT: real server -> client (rewrite source back to vaddr:vport). */
enum lvs_verdict lvs_xmit_nat_out(struct lvs_pkt *p, const struct lvs_flow *f,
				  const struct lvs_xmit_env *env, enum lvs_drop *why);
/* DR: send the IP packet unchanged (but TTL) to daddr's MAC. */
enum lvs_verdict lvs_xmit_dr(struct lvs_pkt *p, const struct lvs_flow *f,
			     const struct lvs_xmit_env *env, enum lvs_drop *why);
/* TUN: encapsulate toward daddr per f->tun_type / tun_flags / tun_port. */
enum lvs_verdict lvs_xmit_tun(struct lvs_pkt *p, const struct lvs_flow *f,
			      const struct lvs_xmit_env *env, enum lvs_drop *why);

/*
 * An ICMP error whose quoted packet belongs to connection f (inner parsed
 * by lvs_pkt_parse_icmp_inner).
 *   dir == LVS_DIR_INPUT: the error came from the client's side and quotes a
 *     packet sent toward the client (vaddr:vport -> caddr:cport).  It goes to
 *     the real server with f's forwarding method; for NAT the outer
 *     destination becomes daddr and the quoted source daddr:dport.
 *   dir == LVS_DIR_OUTPUT (NAT only): the error came from the real server's
 *     side and quotes a packet sent to the real server (caddr:cport ->
 *     daddr:dport).  The outer source becomes vaddr and the quoted
 *     destination vaddr:vport, and it is routed to the client.
 * Inner and outer checksums (IP header, ICMP, quoted L4 where present) are
 * fixed.  TTL is decremented like any forwarded packet.
 */
enum lvs_verdict lvs_xmit_icmp_error(struct lvs_pkt *p, const struct lvs_pkt_info *inner,
				     const struct lvs_flow *f, int dir,
				     const struct lvs_xmit_env *env, enum lvs_drop *why);

/*
 * Turn p into an ICMP / ICMPv6 error sent by the director to p's source
 * (time exceeded, or fragmentation needed / packet too big with `mtu`),
 * quoting as much of the original as fits (576 bytes IPv4, 1280 IPv6).
 * Never answers an ICMP error, a fragment other than the first, or a
 * non-unicast source.  Returns LVS_V_TX or LVS_V_DROP with *why = orig_why.
 */
enum lvs_verdict lvs_icmp_send_error(struct lvs_pkt *p, uint8_t type, uint8_t code,
				     uint32_t mtu, const struct lvs_xmit_env *env,
				     enum lvs_drop orig_why, enum lvs_drop *why);

/* Shared helpers for the transforms (xmit_common.c). */
/* Decrement TTL/hop limit of the parsed IP header (incremental IPv4 header
 * checksum).  Returns false if it was <= 1 (caller sends time exceeded). */
bool lvs_xmit_dec_ttl(struct lvs_pkt *p);
/* Write the Ethernet header (dst/src MAC, VLAN tag per nh) in front of the
 * IP packet starting at p->pi.l3_off, moving data as needed; sets
 * p->ifindex.  0 or -ENOBUFS. */
int lvs_xmit_set_l2(struct lvs_pkt *p, const struct lvs_nexthop *nh, uint16_t eth_type);

#endif
