/*
 * xmit_common.c - steps every transform shares: TTL / hop limit decrement
 * (RFC 1812 5.3.1, RFC 8200 3), the Ethernet header toward the next hop, and
 * the route / TTL / MTU gate that runs before a frame is changed.
 *
 * Order follows kernel IPVS (__ip_vs_get_out_rt): route first, then the TTL
 * check, then the MTU check (ensure_mtu_is_adequate); both ICMP answers quote
 * the packet exactly as the client sent it, which is what its PMTUD matches
 * against.  An IPv4 packet without DF that does not fit is dropped with
 * LVS_DROP_TOO_BIG and p->frag_mtu set: the director then splits it into
 * fragments that fit (frag.h) and runs the transform on each, where the
 * kernel would fragment the packet it built.
 */
#include <errno.h>
#include <netinet/in.h>

#include "xmit_int.h"

bool lvs_xmit_dec_ttl(struct lvs_pkt *p)
{
	return xm_dec_ttl(p);
}

int lvs_xmit_rebase(struct lvs_pkt *p, uint8_t *newdata, uint32_t newlen)
{
	uint8_t *start = p->data - p->headroom;
	uint8_t *end = p->data + p->len + p->tailroom;
	ptrdiff_t d = newdata - p->data;
	struct lvs_pkt_info *pi = &p->pi;

	if (newdata < start || newdata > end || newlen > (size_t)(end - newdata))
		return -ENOBUFS;
	/* d > 0: bytes are dropped in front; offsets shrink */
	pi->l3_off = (ptrdiff_t)pi->l3_off - d > 0 ? (uint16_t)(pi->l3_off - d) : 0;
	if (pi->l4_off)
		pi->l4_off = (ptrdiff_t)pi->l4_off - d > 0 ? (uint16_t)(pi->l4_off - d) : 0;
	if (pi->ip6_frag_off)
		pi->ip6_frag_off =
		        (ptrdiff_t)pi->ip6_frag_off - d > 0 ? (uint16_t)(pi->ip6_frag_off - d) : 0;
	if (p->flags & LVS_PKT_F_CSUM_PARTIAL || p->gso_size)
		p->csum_start =
		        (ptrdiff_t)p->csum_start - d > 0 ? (uint16_t)(p->csum_start - d) : 0;
	p->headroom = (uint32_t)(newdata - start);
	p->data = newdata;
	p->len = newlen;
	p->tailroom = (uint32_t)(end - newdata - newlen);
	return 0;
}

/*
 * The IP packet at pi.l3_off keeps its place; the new Ethernet header is
 * written right before it, so changing the tagging only moves p->data.
 * Trailing Ethernet padding of the received frame is trimmed.
 */
int lvs_xmit_set_l2(struct lvs_pkt *p, const struct lvs_nexthop *nh, uint16_t eth_type)
{
	uint32_t l2 = xm_l2_len(nh);
	uint8_t *ip = p->data + p->pi.l3_off;
	uint32_t iplen = xm_ip_len(p);
	uint8_t *e;

	if ((uint32_t)(ip - (p->data - p->headroom)) < l2)
		return -ENOBUFS;
	if (lvs_xmit_rebase(p, ip - l2, l2 + iplen))
		return -ENOBUFS;
	e = p->data;
	xm_write_eth(p, e, nh, eth_type);
	return 0;
}

uint32_t lvs_xmit_wire_len(const struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint32_t hdr;

	if (!p->gso_size || !pi->l4_off || pi->l4_off < pi->l3_off)
		return xm_ip_len(p);
	hdr = (uint32_t)(pi->l4_off - pi->l3_off);
	if (pi->proto == IPPROTO_TCP && (uint32_t)pi->l4_off + 13 <= p->len)
		hdr += (uint32_t)(p->data[pi->l4_off + 12] >> 4) * 4;
	else if (pi->proto == IPPROTO_UDP)
		hdr += 8;
	hdr += p->gso_size;
	return hdr < xm_ip_len(p) ? hdr : xm_ip_len(p);
}

bool lvs_xmit_prepare(struct lvs_pkt *p, int af, const union lvs_addr *dst, uint32_t overhead,
                      const struct lvs_xmit_env *env, struct lvs_nexthop *nh, enum lvs_verdict *v,
                      enum lvs_drop *why)
{
	return xm_prepare(p, af, dst, NULL, overhead, env, nh, v, why);
}

bool lvs_xmit_prepare_checks(struct lvs_pkt *p, int err, uint32_t overhead,
                             const struct lvs_xmit_env *env, struct lvs_nexthop *nh,
                             enum lvs_verdict *v, enum lvs_drop *why)
{
	bool v4 = p->pi.af == AF_INET;
	uint32_t mtu;

	if (err) {
		if (err == -EHOSTUNREACH)
			*v = lvs_icmp_send_error(p, v4 ? XM_ICMP_UNREACH : XM_ICMP6_UNREACH,
			                         v4 ? XM_ICMP_UNREACH_HOST : XM_ICMP6_UNREACH_ADDR,
			                         0, env, LVS_DROP_NO_NEIGH, why);
		else {
			*why = LVS_DROP_NO_NEIGH;
			*v = LVS_V_DROP;
		}
		return false;
	}
	if (p->pi.ttl <= 1) {
		*v = lvs_icmp_send_error(p, v4 ? XM_ICMP_TIME_EXCEEDED : XM_ICMP6_TIME_EXCEEDED, 0,
		                         0, env, LVS_DROP_TTL_EXCEEDED, why);
		return false;
	}
	/* mtu 0: the environment does not know; nothing to enforce */
	if (nh->mtu == 0 || lvs_xmit_wire_len(p) + overhead <= nh->mtu)
		return true;
	mtu = nh->mtu > overhead ? nh->mtu - overhead : 0;
	if (v4 && !p->pi.ip4_df) {
		/* The kernel fragments on output; the director splits the
		 * datagram before the transform (frag.h) when it can. */
		p->frag_mtu = (uint16_t)(mtu < 65535 ? mtu : 65535);
		*why = LVS_DROP_TOO_BIG;
		*v = LVS_V_DROP;
		return false;
	}
	if (v4) {
		if (mtu < XM_IP4_MIN_MTU)
			mtu = XM_IP4_MIN_MTU;
		*v = lvs_icmp_send_error(p, XM_ICMP_UNREACH, XM_ICMP_FRAG_NEEDED, mtu, env,
		                         LVS_DROP_TOO_BIG, why);
	} else {
		/* RFC 8201: never advertise less than the IPv6 minimum MTU */
		if (mtu < XM_IP6_MIN_MTU)
			mtu = XM_IP6_MIN_MTU;
		*v = lvs_icmp_send_error(p, XM_ICMP6_PKT_TOO_BIG, 0, mtu, env, LVS_DROP_TOO_BIG,
		                         why);
	}
	return false;
}
