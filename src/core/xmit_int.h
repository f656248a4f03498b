/*
 * xmit_int.h - private helpers shared by the transforms (xmit_*.c only).
 *
 * Header fields are read and written with memcpy because frames may start
 * at any alignment (VLAN tags, IPv4 options, encapsulation).  Values stay
 * in network byte order unless a name says otherwise.
 */
#ifndef LVS_XMIT_INT_H
#define LVS_XMIT_INT_H

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>

#include "csum.h"
#include "xmit.h"

#define XM_ETHT_IP4    0x0800
#define XM_ETHT_IP6    0x86dd
#define XM_ETHT_VLAN   0x8100
#define XM_IP4_DF      0x4000
#define XM_IP6_MIN_MTU 1280
#define XM_IP4_MIN_MTU 68

/* ICMP / ICMPv6 types and codes the director originates. */
#define XM_ICMP_UNREACH        3
#define XM_ICMP_UNREACH_HOST   1
#define XM_ICMP_FRAG_NEEDED    4
#define XM_ICMP_TIME_EXCEEDED  11
#define XM_ICMP6_UNREACH       1
#define XM_ICMP6_UNREACH_ADDR  3
#define XM_ICMP6_PKT_TOO_BIG   2
#define XM_ICMP6_TIME_EXCEEDED 3

static inline uint16_t xm_rd16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static inline void xm_wr16(uint8_t *b, uint16_t v)
{
	memcpy(b, &v, 2);
}

static inline uint32_t xm_rd32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static inline void xm_wr32(uint8_t *b, uint32_t v)
{
	memcpy(b, &v, 4);
}

/*
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for a 16-bit and a 32-bit
 * change: the arithmetic of lvs_csum_replace2 / lvs_csum_replace4 (same
 * results bit for bit), inline because every forwarded packet does one
 * or more.
 */
static inline uint16_t xm_fold32(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static inline uint16_t xm_csum_upd2(uint16_t c, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~c;

	s += (uint16_t)~old;
	s += new_;
	return (uint16_t)~xm_fold32(s);
}

static inline uint16_t xm_csum_upd4(uint16_t c, uint32_t old, uint32_t new_)
{
	uint64_t s = (uint16_t)~c;

	s += (uint32_t)~old;
	s += new_;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint16_t)~xm_fold32((uint32_t)s);
}

/*
 * Several changes in one update, ~(~HC + sum of (~m + m')), for the paths
 * that make two at once (NAT: address and port; TTL and address).  The
 * field comes out as after one update per change: an intermediate fold
 * keeps both the sum's value modulo 0xffff and whether it is zero.
 */
static inline uint16_t xm_csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return xm_fold32((uint32_t)s);
}

static inline uint16_t xm_csum_upd4_2(uint16_t c, uint32_t old4, uint32_t new4, uint16_t old2,
                                      uint16_t new2)
{
	uint64_t s = (uint16_t)~c;

	s += (uint32_t)~old4;
	s += new4;
	s += (uint16_t)~old2;
	s += new2;
	return (uint16_t)~xm_csum_fold64(s);
}

/* The checksum of a 20-byte IPv4 header whose checksum field is 0 (what
 * lvs_ip4_hdr_csum gives for it), inline. */
static inline uint16_t xm_ip4_hdr_csum20(const uint8_t *h)
{
	uint32_t w[5];

	memcpy(w, h, 20);
	return (uint16_t)~xm_csum_fold64((uint64_t)w[0] + w[1] + w[2] + w[3] + w[4]);
}

/* Incremental updates of a checksum field at an unaligned place. */
static inline void xm_csum_replace2(uint8_t *field, uint16_t old, uint16_t new_)
{
	xm_wr16(field, xm_csum_upd2(xm_rd16(field), old, new_));
}

/* Address change of family af in a complete checksum field (pseudo-header). */
static inline void xm_csum_replace_addr(uint8_t *field, int af, const union lvs_addr *old,
                                        const union lvs_addr *new_)
{
	uint16_t c = xm_rd16(field);
	if (af == AF_INET)
		c = xm_csum_upd4(c, old->ip4, new_->ip4);
	else
		lvs_csum_replace16(&c, old, new_);
	xm_wr16(field, c);
}

/* The same for a field holding a checksum-partial pseudo-header sum. */
static inline void xm_csum_partial_replace_addr(uint8_t *field, int af, const union lvs_addr *old,
                                                const union lvs_addr *new_)
{
	uint16_t c = xm_rd16(field);
	if (af == AF_INET)
		lvs_csum_partial_replace4(&c, old->ip4, new_->ip4);
	else
		lvs_csum_partial_replace16(&c, old, new_);
	xm_wr16(field, c);
}

/* Small deterministic mixer (no state: transforms are pure and reentrant). */
static inline uint32_t xm_mix(uint32_t h, uint32_t v)
{
	h ^= v * 0xcc9e2d51u;
	h = (h << 15) | (h >> 17);
	h *= 0x1b873593u;
	return h ^ (h >> 16);
}

static inline uint32_t xm_hash_addr(uint32_t h, const union lvs_addr *a)
{
	return xm_mix(xm_mix(xm_mix(xm_mix(h, a->w[0]), a->w[1]), a->w[2]), a->w[3]);
}

/* Bytes of the IP datagram present in the frame (l3_len, bounded by len). */
static inline uint32_t xm_ip_len(const struct lvs_pkt *p)
{
	uint32_t have = p->len > p->pi.l3_off ? p->len - p->pi.l3_off : 0;
	return p->pi.l3_len < have ? p->pi.l3_len : have;
}

/*
 * Move p->data to newdata (inside the same buffer) with newlen bytes of
 * frame, keeping every byte where it is: headroom/tailroom, the parse
 * offsets (l3_off, l4_off, ip6_frag_off) and csum_start are rebased.
 * Offsets that would fall before newdata are set to 0.  -ENOBUFS when
 * [newdata, newdata + newlen) leaves the buffer.
 */
int lvs_xmit_rebase(struct lvs_pkt *p, uint8_t *newdata, uint32_t newlen);

/*
 * TTL / hop limit decrement (lvs_xmit_dec_ttl), inline for the transforms.
 * IPv4: the TTL shares its 16-bit word with the protocol byte, so the
 * header checksum sees the word (ttl << 8 | proto) change.
 */
static inline bool xm_dec_ttl(struct lvs_pkt *p)
{
	uint8_t *ip = p->data + p->pi.l3_off;

	if (LVS_LIKELY(p->pi.af == AF_INET)) {
		uint16_t old, new_;

		if (ip[8] <= 1)
			return false;
		old = htons((uint16_t)(ip[8] << 8 | ip[9]));
		ip[8]--;
		new_ = htons((uint16_t)(ip[8] << 8 | ip[9]));
		xm_csum_replace2(ip + 10, old, new_);
		p->pi.ttl = ip[8];
		return true;
	}
	if (p->pi.af == AF_INET6) {
		if (ip[7] <= 1)
			return false;
		ip[7]--;
		p->pi.ttl = ip[7];
		return true;
	}
	return false;
}

/*
 * lvs_xmit_set_l2, with the common case inline: the new Ethernet header
 * has the length of the received one, so it is written in place (no
 * rebase; only trailing padding is trimmed, as lvs_xmit_set_l2 does).
 */
_Static_assert(offsetof(struct lvs_nexthop, src_mac) == LVS_ETH_ALEN,
               "next hop MACs are contiguous (dst, src) as in the header");
/* Write the Ethernet header (and VLAN tag) at e = p->data for nh; record
 * it in p->pi and the egress in p->ifindex. */
static inline void xm_write_eth(struct lvs_pkt *p, uint8_t *e, const struct lvs_nexthop *nh,
				uint16_t eth_type)
{
	memcpy(e, nh->mac, LVS_ETH_ALEN);
	memcpy(e + LVS_ETH_ALEN, nh->src_mac, LVS_ETH_ALEN);
	if (nh->vlan_tci) {
		xm_wr16(e + 12, htons(XM_ETHT_VLAN));
		xm_wr16(e + 14, htons(nh->vlan_tci));
		xm_wr16(e + 16, htons(eth_type));
	} else {
		xm_wr16(e + 12, htons(eth_type));
	}
	p->pi.eth_type = eth_type;
	p->pi.nr_vlan = nh->vlan_tci ? 1 : 0;
	p->pi.vlan_tci = nh->vlan_tci;
	p->ifindex = nh->ifindex;
}

static inline int xm_set_l2(struct lvs_pkt *p, const struct lvs_nexthop *nh, uint16_t eth_type)
{
	uint32_t l2 = nh->vlan_tci ? 18 : 14;
	uint8_t *e = p->data;
	uint32_t room;

	if (LVS_UNLIKELY(p->pi.l3_off != l2))
		return lvs_xmit_set_l2(p, nh, eth_type);
	room = p->len + p->tailroom;
	p->len = l2 + xm_ip_len(p);
	p->tailroom = room - p->len;
	xm_write_eth(p, e, nh, eth_type);
	return 0;
}

/*
 * First steps of every forwarding transform, on the still unchanged frame:
 * route dst (family af) into *nh; a TTL / hop limit <= 1 answers time
 * exceeded; an IP packet that with `overhead` more bytes exceeds nh->mtu
 * answers fragmentation needed / packet too big (mtu - overhead), or is
 * dropped (IPv4 without DF: p->frag_mtu says how to split it, frag.h).  No route answers host
 * unreachable as the kernel's dst_link_failure does.  Returns true when the
 * caller goes on; false when it must return *v (p may now be an ICMP error
 * toward its source, *why tells what happened to the original).
 */
bool lvs_xmit_prepare(struct lvs_pkt *p, int af, const union lvs_addr *dst, uint32_t overhead,
                      const struct lvs_xmit_env *env, struct lvs_nexthop *nh, enum lvs_verdict *v,
                      enum lvs_drop *why);

/* Size the IP packet will have on the wire: the datagram, or for a GSO
 * super-frame its headers plus one segment (gso_size). */
uint32_t lvs_xmit_wire_len(const struct lvs_pkt *p);

/* The rest of lvs_xmit_prepare once the route lookup returned err (nh
 * filled when 0). */
bool lvs_xmit_prepare_checks(struct lvs_pkt *p, int err, uint32_t overhead,
                             const struct lvs_xmit_env *env, struct lvs_nexthop *nh,
                             enum lvs_verdict *v, enum lvs_drop *why);

/* Route dst: through the destination's cache rc when there is one and the
 * environment has a cache-aware route, else the plain route. */
static inline int xm_route(const struct lvs_xmit_env *env, struct lvs_route_cache *rc, int af,
                           const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	if (rc && env->route_cached)
		return env->route_cached(env->ctx, rc, af, dst, nh);
	return env->route ? env->route(env->ctx, af, dst, nh) : -EHOSTUNREACH;
}

/* lvs_xmit_prepare with the common case (route found, TTL left, fits the
 * MTU) inline; rc: the destination's next-hop cache when dst is the real
 * server's address, else NULL. */
static inline bool xm_prepare(struct lvs_pkt *p, int af, const union lvs_addr *dst,
                              struct lvs_route_cache *rc, uint32_t overhead,
                              const struct lvs_xmit_env *env, struct lvs_nexthop *nh,
                              enum lvs_verdict *v, enum lvs_drop *why)
{
	int err;

	memset(nh, 0, sizeof(*nh));
	err = xm_route(env, rc, af, dst, nh);
	if (LVS_LIKELY(!err && p->pi.ttl > 1 && !p->gso_size &&
	               (nh->mtu == 0 || xm_ip_len(p) + overhead <= nh->mtu)))
		return true;
	return lvs_xmit_prepare_checks(p, err, overhead, env, nh, v, why);
}

/* Bytes the Ethernet header for nh takes (14, or 18 with a VLAN tag). */
static inline uint32_t xm_l2_len(const struct lvs_nexthop *nh)
{
	return nh->vlan_tci ? 18 : 14;
}

#endif
