/*
 * xmit_int.h - private helpers shared by the transforms (xmit_*.c only).
 *
 * Header fields are read and written with memcpy because frames may start
 * at any alignment (VLAN tags, IPv4 options, encapsulation).  Values stay
 * in network byte order unless a name says otherwise.
 */
#ifndef LVS_XMIT_INT_H
#define LVS_XMIT_INT_H

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

/* Incremental updates of a checksum field at an unaligned place. */
static inline void xm_csum_replace2(uint8_t *field, uint16_t old, uint16_t new_)
{
	uint16_t c = xm_rd16(field);
	lvs_csum_replace2(&c, old, new_);
	xm_wr16(field, c);
}

/* Address change of family af in a complete checksum field (pseudo-header). */
static inline void xm_csum_replace_addr(uint8_t *field, int af, const union lvs_addr *old,
                                        const union lvs_addr *new_)
{
	uint16_t c = xm_rd16(field);
	if (af == AF_INET)
		lvs_csum_replace4(&c, old->ip4, new_->ip4);
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
 * First steps of every forwarding transform, on the still unchanged frame:
 * route dst (family af) into *nh; a TTL / hop limit <= 1 answers time
 * exceeded; an IP packet that with `overhead` more bytes exceeds nh->mtu
 * answers fragmentation needed / packet too big (mtu - overhead), or is
 * dropped (IPv4 without DF: we do not fragment).  No route answers host
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

/* Bytes the Ethernet header for nh takes (14, or 18 with a VLAN tag). */
static inline uint32_t xm_l2_len(const struct lvs_nexthop *nh)
{
	return nh->vlan_tci ? 18 : 14;
}

#endif
