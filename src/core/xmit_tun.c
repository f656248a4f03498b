/*
 * xmit_tun.c - IP tunnelling (ipvsadm -i, --tun-type ipip|gue|gre), as
 * kernel IPVS's ip_vs_tunnel_xmit / ip_vs_tunnel_xmit_v6:
 *
 *   ipip  the client's packet inside a new IP header toward the real
 *         server: protocol 4 (IPv4 inside) or 41 (IPv6 inside), RFC 2003 /
 *         RFC 2473 / RFC 4213, either family outside (the destination's).
 *   gue   UDP to the destination's --tun-port carrying a 4-byte GUE
 *         variant 0 header (draft-ietf-intarea-gue) whose proto/ctype is 4
 *         or 41.  With --tun-nocsum (default) the outer UDP checksum is 0
 *         over IPv4; --tun-csum or --tun-remcsum compute it (always over
 *         IPv6).  --tun-remcsum on a checksum-partial inner adds the private
 *         flags word (GUE_PFLAG_REMCSUM) and the remote checksum offload
 *         option (start, start + offset, relative to the inner IP header):
 *         the inner checksum stays the pseudo-header sum and the real
 *         server completes it (draft-herbert-remotecsumoffload).
 *   gre   RFC 2784 header, protocol 0x0800 / 0x86DD, with the checksum
 *         present (C bit) when --tun-csum.
 *
 * Outer header: source = env->src_addr toward the server, TTL / hop limit
 * copied from the already decremented inner, DS field (TOS / traffic
 * class) copied with ECN CE turned into ECT(0) as the kernel does, flow
 * label 0 (as the kernel), DF copied from an IPv4 inner and clear for an
 * IPv6 one (as the kernel; the inner itself never exceeds the MTU: we
 * answer packet too big first).  The IPv4 id and the GUE source port are
 * derived from the inner packet (no per-call counter: transforms are pure
 * and reentrant):
 *   id    = hash(inner addresses) + inner id (IPv4 inner), so one client's
 *           consecutive packets get consecutive ids; for an IPv6 inner, a
 *           hash of its addresses and first L4 bytes;
 *   sport = hash of the inner flow mapped into 32768..60999, Linux's
 *           default local port range as udp_flow_src_port() uses, so one
 *           flow keeps one port (RSS / ECMP friendly).
 *
 * Checksum offload: a checksum-partial inner is completed before it is
 * wrapped (the outer packet cannot carry the request further), except with
 * remote checksum offload and for GSO super-frames, which stay partial with
 * csum_start moved to the inner L4 header; segmenting such a super-frame
 * (and redoing the outer lengths and checksums per segment) is left to the
 * I/O layer.  GSO super-frames of more than 64 KB with the outer header
 * are dropped (LVS_DROP_GSO_UNSUPPORTED).
 */
#include <errno.h>
#include <netinet/in.h>

#include "model.h"
#include "xmit_int.h"

#define GUE_HLEN          4
#define GUE_PRIV_LEN      4
#define GUE_REMCSUM_LEN   4
#define GUE_FLAG_PRIV     0x0001      /* standard flags, last bit */
#define GUE_PFLAG_REMCSUM 0x80000000u /* private flags, first bit */
#define GRE_F_CSUM        0x8000
#define TUN_SPORT_MIN     32768
#define TUN_SPORT_MAX     60999

static uint16_t tun_sport(const struct lvs_pkt_info *pi)
{
	uint32_t h = xm_hash_addr(xm_hash_addr(pi->proto, &pi->saddr), &pi->daddr);

	h = xm_mix(h, (uint32_t)pi->sport << 16 | pi->dport);
	return htons((uint16_t)(TUN_SPORT_MIN +
	                        (((uint64_t)h * (TUN_SPORT_MAX - TUN_SPORT_MIN + 1)) >> 32)));
}

static uint16_t tun_ip_id(const struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint32_t h = xm_hash_addr(xm_hash_addr(0, &pi->saddr), &pi->daddr);

	if (pi->af == AF_INET)
		return htons((uint16_t)((h ^ (h >> 16)) + pi->frag_id));
	if (pi->l4_off && (uint32_t)pi->l4_off + 8 <= p->len) {
		h = xm_mix(h, xm_rd32(p->data + pi->l4_off));
		h = xm_mix(h, xm_rd32(p->data + pi->l4_off + 4));
	}
	return htons((uint16_t)(h ^ (h >> 16)));
}

/*
 * DS field for the outer header: the inner one, except that congestion
 * experienced becomes ECT(0) (RFC 3168 9.1.1 full functionality, as the
 * kernel's INET_ECN_encapsulate), so a mark made before the tunnel is not
 * reported twice.
 */
static uint8_t outer_dsfield(const struct lvs_pkt *p)
{
	const uint8_t *ip = p->data + p->pi.l3_off;
	uint8_t ds = p->pi.af == AF_INET ? ip[1] : (uint8_t)((ip[0] & 0x0f) << 4 | ip[1] >> 4);

	return (ds & 3) == 3 ? (uint8_t)((ds & ~3) | 2) : ds;
}

static void write_udp_csum(uint8_t *udp, uint32_t ulen, int af, const union lvs_addr *s,
                           const union lvs_addr *d)
{
	uint32_t ps = af == AF_INET ? lvs_csum_pseudo4(s->ip4, d->ip4, IPPROTO_UDP, ulen)
	                            : lvs_csum_pseudo6(s, d, IPPROTO_UDP, ulen);
	uint16_t c;

	xm_wr16(udp + 6, 0);
	c = lvs_csum_finish(lvs_csum_partial(udp, ulen, ps));
	xm_wr16(udp + 6, c ? c : 0xffff); /* RFC 768: computed zero is all ones */
}

/*
 * IPIP of an IPv4 packet over IPv4 with nothing to offload (the default
 * and most common tunnel): what the general code below does for it, with
 * the header built in place and one move of the frame.
 */
static enum lvs_verdict tun_ipip4(struct lvs_pkt *p, const struct lvs_flow *f,
                                  const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint32_t ilen = xm_ip_len(p), l2;
	uint8_t *start = p->data - p->headroom, *end = p->data + p->len + p->tailroom, *o;
	uint8_t ds, ttl;
	union lvs_addr src;
	struct lvs_nexthop nh;
	enum lvs_verdict v;
	uint16_t id;
	bool df;

	if (ilen + 20 > 65535) {
		*why = LVS_DROP_TOO_BIG;
		return LVS_V_DROP;
	}
	if (!env->src_addr || env->src_addr(env->ctx, AF_INET, &f->daddr, &src)) {
		*why = LVS_DROP_NO_NEIGH;
		return LVS_V_DROP;
	}
	if (!xm_prepare(p, AF_INET, &f->daddr, f->rc, 20, env, &nh, &v, why))
		return v;
	l2 = xm_l2_len(&nh);
	if (p->headroom + pi->l3_off < 20 + l2) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	xm_dec_ttl(p);
	ttl = pi->ttl;
	ds = outer_dsfield(p);
	df = pi->ip4_df;
	id = tun_ip_id(p);

	/* lvs_xmit_rebase to the new Ethernet header; no checksum offset to
	 * carry (not partial, not GSO) and pi is rebuilt below */
	o = p->data + pi->l3_off - 20;
	p->data = o - l2;
	p->len = l2 + 20 + ilen;
	p->headroom = (uint32_t)(p->data - start);
	p->tailroom = (uint32_t)(end - p->data - p->len);

	o[0] = 0x45;
	o[1] = ds;
	xm_wr16(o + 2, htons((uint16_t)(20 + ilen)));
	xm_wr16(o + 4, id);
	xm_wr16(o + 6, htons(df ? XM_IP4_DF : 0));
	o[8] = ttl;
	o[9] = IPPROTO_IPIP;
	xm_wr16(o + 10, 0);
	xm_wr32(o + 12, src.ip4);
	xm_wr32(o + 16, f->daddr.ip4);
	xm_wr16(o + 10, xm_ip4_hdr_csum20(o));

	memset(pi, 0, sizeof(*pi));
	pi->af = AF_INET;
	pi->proto = IPPROTO_IPIP;
	pi->l3_off = (uint16_t)l2;
	pi->l3_len = (uint16_t)(20 + ilen);
	pi->l4_off = (uint16_t)(l2 + 20);
	pi->l4_len = (uint16_t)ilen;
	pi->ttl = ttl;
	pi->ip4_df = df;
	pi->frag_id = ntohs(id);
	pi->saddr = src;
	pi->daddr = f->daddr;
	if (xm_set_l2(p, &nh, XM_ETHT_IP4)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;
}

enum lvs_verdict lvs_xmit_tun(struct lvs_pkt *p, const struct lvs_flow *f,
                              const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	int iaf = pi->af, oaf = f->daf ? f->daf : f->af;
	bool partial = p->flags & LVS_PKT_F_CSUM_PARTIAL, gso = p->gso_size != 0;
	bool remcsum = false, ucsum = false, gcsum = false, df;
	uint32_t ohl, encl, overhead, ilen, rstart = 0, roff = 0, l2;
	uint8_t iproto, oproto, ds, ttl, *o, *e;
	uint16_t id = 0, sport = 0;
	union lvs_addr src;
	struct lvs_nexthop nh;
	enum lvs_verdict v;

	*why = LVS_DROP_NONE;
	if (LVS_LIKELY(iaf == AF_INET && oaf == AF_INET && f->tun_type == LVS_TUN_IPIP &&
	               !partial && !gso))
		return tun_ipip4(p, f, env, why);
	if ((iaf != AF_INET && iaf != AF_INET6) || (oaf != AF_INET && oaf != AF_INET6))
		goto unsupported;
	iproto = iaf == AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	switch (f->tun_type) {
	case LVS_TUN_IPIP:
		encl = 0;
		oproto = iproto;
		break;
	case LVS_TUN_GUE:
		remcsum = (f->tun_flags & LVS_TUN_F_REMCSUM) && partial;
		ucsum = (f->tun_flags & (LVS_TUN_F_CSUM | LVS_TUN_F_REMCSUM)) || oaf == AF_INET6;
		encl = 8 + GUE_HLEN + (remcsum ? GUE_PRIV_LEN + GUE_REMCSUM_LEN : 0);
		oproto = IPPROTO_UDP;
		break;
	case LVS_TUN_GRE:
		gcsum = f->tun_flags & LVS_TUN_F_CSUM;
		encl = gcsum ? 8 : 4;
		oproto = IPPROTO_GRE;
		break;
	default:
		goto unsupported;
	}
	ohl = oaf == AF_INET ? 20 : 40;
	overhead = ohl + encl;
	ilen = xm_ip_len(p);
	/* the outer length fields are 16 bits too */
	if (ilen + overhead - (oaf == AF_INET6 ? 40 : 0) > 65535) {
		*why = gso ? LVS_DROP_GSO_UNSUPPORTED : LVS_DROP_TOO_BIG;
		return LVS_V_DROP;
	}
	if (remcsum) {
		if (p->csum_start < pi->l3_off ||
		    (uint32_t)p->csum_start + p->csum_offset + 2 > (uint32_t)pi->l3_off + ilen) {
			*why = LVS_DROP_L4_CSUM;
			return LVS_V_DROP;
		}
		rstart = (uint32_t)p->csum_start - pi->l3_off;
		roff = rstart + p->csum_offset;
	}
	if (!env->src_addr || env->src_addr(env->ctx, oaf, &f->daddr, &src)) {
		*why = LVS_DROP_NO_NEIGH;
		return LVS_V_DROP;
	}
	if (!xm_prepare(p, oaf, &f->daddr, f->rc, overhead, env, &nh, &v, why))
		return v;
	if (p->headroom + pi->l3_off < overhead + xm_l2_len(&nh)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	if (partial && !gso && !remcsum) {
		if (lvs_pkt_l4_csum_complete(p)) {
			*why = LVS_DROP_L4_CSUM;
			return LVS_V_DROP;
		}
	}

	xm_dec_ttl(p);
	ttl = pi->ttl;
	ds = outer_dsfield(p);
	df = iaf == AF_INET && pi->ip4_df;
	if (oaf == AF_INET)
		id = tun_ip_id(p);
	if (oproto == IPPROTO_UDP)
		sport = tun_sport(pi);

	/* One move: the frame now starts with the new Ethernet header, the
	 * outer IP header at o follows it. */
	l2 = xm_l2_len(&nh);
	o = p->data + pi->l3_off - overhead;
	if (lvs_xmit_rebase(p, o - l2, l2 + overhead + ilen)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	if (!gso)
		p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_PARTIAL;

	e = o + ohl;
	if (oproto == IPPROTO_UDP) {
		uint8_t *g = e + 8;

		xm_wr16(e, sport);
		xm_wr16(e + 2, f->tun_port);
		xm_wr16(e + 4, htons((uint16_t)(encl + ilen)));
		xm_wr16(e + 6, 0);
		/* ver 0, C 0, Hlen in 32-bit words of optional fields */
		g[0] = (uint8_t)(remcsum ? (GUE_PRIV_LEN + GUE_REMCSUM_LEN) / 4 : 0);
		g[1] = iproto;
		xm_wr16(g + 2, htons(remcsum ? GUE_FLAG_PRIV : 0));
		if (remcsum) {
			xm_wr32(g + 4, htonl(GUE_PFLAG_REMCSUM));
			xm_wr16(g + 8, htons((uint16_t)rstart));
			xm_wr16(g + 10, htons((uint16_t)roff));
		}
	} else if (oproto == IPPROTO_GRE) {
		xm_wr16(e, htons(gcsum ? GRE_F_CSUM : 0));
		xm_wr16(e + 2, htons(iaf == AF_INET ? XM_ETHT_IP4 : XM_ETHT_IP6));
		if (gcsum) {
			xm_wr32(e + 4, 0);
			xm_wr16(e + 4, lvs_csum_finish(lvs_csum_partial(e, encl + ilen, 0)));
		}
	}

	if (oaf == AF_INET) {
		o[0] = 0x45;
		o[1] = ds;
		xm_wr16(o + 2, htons((uint16_t)(overhead + ilen)));
		xm_wr16(o + 4, id);
		xm_wr16(o + 6, htons(df ? XM_IP4_DF : 0));
		o[8] = ttl;
		o[9] = oproto;
		xm_wr32(o + 12, src.ip4);
		xm_wr32(o + 16, f->daddr.ip4);
		xm_wr16(o + 10, 0);
		xm_wr16(o + 10, xm_ip4_hdr_csum20(o));
	} else {
		xm_wr32(o, htonl(0x60000000u | (uint32_t)ds << 20));
		xm_wr16(o + 4, htons((uint16_t)(encl + ilen)));
		o[6] = oproto;
		o[7] = ttl;
		memcpy(o + 8, src.b, 16);
		memcpy(o + 24, f->daddr.b, 16);
	}
	if (ucsum)
		write_udp_csum(e, encl + ilen, oaf, &src, &f->daddr);

	memset(pi, 0, sizeof(*pi));
	pi->af = (uint8_t)oaf;
	pi->proto = oproto;
	pi->l3_off = (uint16_t)l2;
	pi->l3_len = (uint16_t)(overhead + ilen);
	pi->l4_off = (uint16_t)(l2 + ohl);
	pi->l4_len = (uint16_t)(encl + ilen);
	pi->ttl = ttl;
	pi->ip4_df = oaf == AF_INET && df;
	pi->frag_id = oaf == AF_INET ? ntohs(id) : 0;
	pi->saddr = src;
	pi->daddr = f->daddr;
	if (oproto == IPPROTO_UDP) {
		pi->sport = sport;
		pi->dport = f->tun_port;
	}
	if (xm_set_l2(p, &nh, oaf == AF_INET ? XM_ETHT_IP4 : XM_ETHT_IP6)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;

unsupported:
	*why = LVS_DROP_FWD_UNSUPPORTED;
	return LVS_V_DROP;
}
