/*
 * xmit_icmp.c - ICMP errors: the ones the director originates (time
 * exceeded, fragmentation needed / packet too big, host unreachable) and
 * the ones that quote a tracked connection and must follow it.
 *
 * Originating follows RFC 1812 4.3.2 / RFC 1122 3.2.2 (IPv4) and RFC 4443
 * (IPv6): never about an ICMP error, a non-initial fragment, or a packet
 * whose source is not one unicast host; the quote is as much of the
 * original as keeps the error within 576 bytes (IPv4) / 1280 bytes (IPv6).
 *
 * Translating follows kernel IPVS (ip_vs_nat_icmp): a NAT connection's
 * error gets its outer and quoted addresses and ports mapped like the
 * connection's packets; DR and TUN errors travel to the real server with
 * the destination's method, unchanged but for the TTL.  Beyond the kernel,
 * the quoted IP header checksum and, when the quote holds it, the quoted L4
 * checksum are updated too, so the real server or client sees exactly the
 * packet it sent.
 */
#include <errno.h>
#include <netinet/in.h>

#include "conn.h"
#include "xmit_int.h"

#define ICMP_ERR_MAX4 576
#define ICMP_ERR_MAX6 1280

/* RFC 1122 3.2.2: an address that "does not define a single host". */
static bool ip4_not_unicast(uint32_t a_be)
{
	uint32_t a = ntohl(a_be);

	return (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe;
}

static bool ip6_not_unicast(const union lvs_addr *a)
{
	static const union lvs_addr loop = {.b = {[15] = 1}};

	return a->b[0] == 0xff || lvs_addr_is_zero(a) || lvs_addr_eq(a, &loop);
}

/* May the director answer p with an ICMP error of this type? */
static bool may_answer(const struct lvs_pkt *p, uint8_t type)
{
	const struct lvs_pkt_info *pi = &p->pi;
	bool l2_mcast = pi->l3_off >= 14 && (p->data[0] & 1);

	if (pi->frag == LVS_FRAG_LATER)
		return false;
	if (pi->af == AF_INET) {
		if (pi->proto == IPPROTO_ICMP) {
			/* Linux also refuses types it does not know (> 18) */
			if (pi->l4_off == 0 || pi->icmp_is_err || pi->icmp_type > 18)
				return false;
		}
		if (ip4_not_unicast(pi->saddr.ip4))
			return false;
		/* destination multicast / broadcast, or a link-layer broadcast */
		return !l2_mcast && (ntohl(pi->daddr.ip4) >> 28) < 0xe;
	}
	if (pi->af == AF_INET6) {
		if (pi->proto == IPPROTO_ICMPV6) {
			/* errors (< 128) and redirects (137) are never answered */
			if (pi->l4_off == 0 || pi->icmp_is_err || pi->icmp_type < 128 ||
			    pi->icmp_type == 137)
				return false;
		}
		if (ip6_not_unicast(&pi->saddr))
			return false;
		/* RFC 4443 2.4 (e.3): packet too big may answer multicast */
		if ((pi->daddr.b[0] == 0xff || l2_mcast) && type != XM_ICMP6_PKT_TOO_BIG)
			return false;
		return true;
	}
	return false;
}

/*
 * The error is built in place: the original IP packet stays where it is and
 * becomes the quote (cut to the size limit); the new IP and ICMP headers go
 * in the headroom before it.  *why is orig_why on both outcomes, so a caller
 * can count why the original did not go through even when the error did.
 * The source is env->src_addr toward the original sender, or the original
 * destination (usually the VIP) when the environment has none.
 */
enum lvs_verdict lvs_icmp_send_error(struct lvs_pkt *p, uint8_t type, uint8_t code, uint32_t mtu,
                                     const struct lvs_xmit_env *env, enum lvs_drop orig_why,
                                     enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	bool v4 = pi->af == AF_INET;
	uint32_t iphl = v4 ? 20 : 40, qlen, max, need, front, mlen;
	union lvs_addr src, dst;
	struct lvs_nexthop nh;
	uint8_t *q, *ip, *ic, *bufstart, *bufend;
	uint16_t c, quoted_id;
	uint32_t s;

	*why = orig_why;
	if (!may_answer(p, type))
		return LVS_V_DROP;
	dst = pi->saddr;
	memset(&nh, 0, sizeof(nh));
	if (!env->route || env->route(env->ctx, pi->af, &dst, &nh))
		return LVS_V_DROP;
	if (!env->src_addr || env->src_addr(env->ctx, pi->af, &dst, &src))
		src = pi->daddr;

	q = p->data + pi->l3_off;
	max = (v4 ? ICMP_ERR_MAX4 : ICMP_ERR_MAX6) - iphl - 8;
	qlen = xm_ip_len(p);
	if (qlen > max)
		qlen = max;
	quoted_id = v4 ? xm_rd16(q + 4) : 0;

	/* Headers go in front of the quote; move the quote back only if the
	 * buffer has too little headroom (never with LVS_PKT_HEADROOM). */
	bufstart = p->data - p->headroom;
	bufend = p->data + p->len + p->tailroom;
	need = xm_l2_len(&nh) + iphl + 8;
	front = (uint32_t)(q - bufstart);
	if (front < need) {
		uint32_t shift = need - front;

		if ((size_t)(bufend - q) < (size_t)qlen + shift)
			return LVS_V_DROP; /* *why stays orig_why, as promised */
		memmove(q + shift, q, qlen);
		q += shift;
	}
	ip = q - 8 - iphl;
	ic = ip + iphl;
	mlen = 8 + qlen;

	ic[0] = type;
	ic[1] = code;
	xm_wr16(ic + 2, 0);
	xm_wr32(ic + 4, 0);
	if (v4) {
		if (type == XM_ICMP_UNREACH && code == XM_ICMP_FRAG_NEEDED)
			xm_wr16(ic + 6,
			        htons((uint16_t)(mtu > 0xffff ? 0xffff : mtu))); /* RFC 1191 */
		c = lvs_csum_finish(lvs_csum_partial(ic, mlen, 0));
		xm_wr16(ic + 2, c);

		ip[0] = 0x45;
		/* precedence "internetwork control" plus the original TOS bits,
		 * as Linux's icmp_send does for errors */
		ip[1] = (uint8_t)(0xc0 | (q[1] & 0x1e));
		xm_wr16(ip + 2, htons((uint16_t)(iphl + mlen)));
		/* A pure function has no id counter: derive one from the quoted
		 * packet so consecutive errors differ (the error is never
		 * fragmented by us, RFC 6864 only asks ids to be unlikely to
		 * repeat among fragmentable datagrams). */
		xm_wr16(ip + 4, (uint16_t)(xm_hash_addr(quoted_id, &dst) ^ quoted_id));
		xm_wr16(ip + 6, 0);
		ip[8] = 64;
		ip[9] = IPPROTO_ICMP;
		xm_wr32(ip + 12, src.ip4);
		xm_wr32(ip + 16, dst.ip4);
		xm_wr16(ip + 10, lvs_ip4_hdr_csum(ip, 20));
	} else {
		if (type == XM_ICMP6_PKT_TOO_BIG)
			xm_wr32(ic + 4, htonl(mtu));
		s = lvs_csum_pseudo6(&src, &dst, IPPROTO_ICMPV6, mlen);
		c = lvs_csum_finish(lvs_csum_partial(ic, mlen, s));
		xm_wr16(ic + 2, c);

		xm_wr32(ip, htonl(0x60000000u));
		xm_wr16(ip + 4, htons((uint16_t)mlen));
		ip[6] = IPPROTO_ICMPV6;
		ip[7] = 64;
		memcpy(ip + 8, src.b, 16);
		memcpy(ip + 24, dst.b, 16);
	}

	/* The quoted frame's offload state does not describe the error. */
	p->flags &= ~(uint32_t)(LVS_PKT_F_CSUM_PARTIAL | LVS_PKT_F_CSUM_VALID);
	p->gso_size = 0;
	p->gso_type = 0;
	p->csum_start = 0;
	p->csum_offset = 0;
	if (lvs_xmit_rebase(p, ip, iphl + mlen))
		return LVS_V_DROP; /* *why stays orig_why, as promised */
	memset(pi, 0, sizeof(*pi));
	pi->af = v4 ? AF_INET : AF_INET6;
	pi->proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	pi->l3_off = 0;
	pi->l3_len = (uint16_t)(iphl + mlen);
	pi->l4_off = (uint16_t)iphl;
	pi->l4_len = (uint16_t)mlen;
	pi->ttl = 64;
	pi->icmp_type = type;
	pi->icmp_code = code;
	pi->icmp_is_err = 1;
	pi->frag_id = v4 ? ntohs(xm_rd16(ip + 4)) : 0;
	pi->saddr = src;
	pi->daddr = dst;
	if (lvs_xmit_set_l2(p, &nh, v4 ? XM_ETHT_IP4 : XM_ETHT_IP6))
		return LVS_V_DROP; /* *why stays orig_why, as promised */
	return LVS_V_TX;
}

/*
 * Map the packet quoted at inner (NAT connection): its source (src) or
 * destination address becomes na and the matching port (or ICMP echo
 * identifier) becomes np; qend is where the quote ends.  The quoted
 * checksums are updated only for bytes the quote really holds: the IPv4
 * header sum always (the inner parser checked the whole header is there),
 * UDP's at 6 (inside the 8 bytes every error carries), TCP's at 16 only in
 * a longer quote, ICMP echo's at 2.  An IPv4 UDP checksum of 0 stays 0.
 * SCTP's CRC32c covers the whole original packet and cannot be fixed from
 * a quote; it is left alone.
 */
static void nat_quote(struct lvs_pkt *p, const struct lvs_pkt_info *inner, uint32_t qend, bool src,
                      const union lvs_addr *na, uint16_t np)
{
	bool v4 = inner->af == AF_INET;
	uint8_t *qip = p->data + inner->l3_off;
	uint8_t *l4 = p->data + inner->l4_off;
	uint32_t avail = qend > inner->l4_off ? qend - inner->l4_off : 0;
	const union lvs_addr *oa = src ? &inner->saddr : &inner->daddr;
	uint32_t aoff = v4 ? (src ? 12 : 16) : (src ? 8 : 24);
	uint32_t poff = src ? 0 : 2;
	uint16_t op;
	int coff = -1;
	bool pseudo = true, port = false;

	if (v4) {
		xm_csum_replace_addr(qip + 10, AF_INET, oa, na);
		xm_wr32(qip + aoff, na->ip4);
	} else {
		memcpy(qip + aoff, na->b, 16);
	}
	switch (inner->proto) {
	case IPPROTO_TCP:
		coff = 16;
		port = true;
		break;
	case IPPROTO_UDP:
		coff = 6;
		port = true;
		break;
	case IPPROTO_SCTP:
		port = true;
		break;
	case IPPROTO_ICMP: /* echo: the identifier plays both ports */
		coff = 2;
		pseudo = false;
		poff = 4;
		port = inner->icmp_type == 8 || inner->icmp_type == 0;
		break;
	case IPPROTO_ICMPV6:
		coff = 2;
		poff = 4;
		port = inner->icmp_type == 128 || inner->icmp_type == 129;
		break;
	default:
		break;
	}
	if (!inner->l4_off || inner->frag == LVS_FRAG_LATER)
		return;
	port = port && avail >= poff + 2;
	op = port ? xm_rd16(l4 + poff) : 0;
	if (coff >= 0 && avail >= (uint32_t)coff + 2) {
		uint8_t *cf = l4 + coff;
		bool none = inner->proto == IPPROTO_UDP && v4 && xm_rd16(cf) == 0;

		if (!none) {
			if (pseudo)
				xm_csum_replace_addr(cf, inner->af, oa, na);
			if (port)
				xm_csum_replace2(cf, op, np);
			if (inner->proto == IPPROTO_UDP && xm_rd16(cf) == 0)
				xm_wr16(cf, 0xffff);
		}
	}
	if (port)
		xm_wr16(l4 + poff, np);
}

enum lvs_verdict lvs_xmit_icmp_error(struct lvs_pkt *p, const struct lvs_pkt_info *inner,
                                     const struct lvs_flow *f, int dir,
                                     const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	bool in = dir != LVS_DIR_OUTPUT;
	bool v4 = pi->af == AF_INET;
	const union lvs_addr *rdst, *na;
	union lvs_addr oa;
	struct lvs_nexthop nh;
	enum lvs_verdict v;
	uint32_t qend, ilen;
	uint8_t *ip, *ic;
	uint16_t c;

	*why = LVS_DROP_NONE;
	if (f->fwd != LVS_FWD_MASQ) {
		/* Replies of DR/TUN connections bypass us: no OUTPUT errors. */
		if (!in)
			goto unsupported;
		switch (f->fwd) {
		case LVS_FWD_ROUTE:
			return lvs_xmit_dr(p, f, env, why);
		case LVS_FWD_TUNNEL:
			return lvs_xmit_tun(p, f, env, why);
		case LVS_FWD_LOCAL:
			return LVS_V_PASS;
		default:
			goto unsupported;
		}
	}
	if ((pi->af != AF_INET && pi->af != AF_INET6) || inner->af != pi->af || f->af != pi->af ||
	    (f->daf && f->daf != f->af))
		goto unsupported;
	if (!pi->icmp_is_err || !pi->l4_off || pi->frag != LVS_FRAG_NONE)
		goto bad_inner;
	qend = pi->l3_off + xm_ip_len(p);
	if (inner->l3_off < pi->l4_off + 8 || inner->l4_off <= inner->l3_off ||
	    inner->l4_off > qend || (uint32_t)inner->l3_off + (v4 ? 20 : 40) > qend)
		goto bad_inner;

	/* INPUT: an error about vaddr -> caddr goes to the real server, which
	 * sent daddr -> caddr.  OUTPUT: an error about caddr -> daddr goes to
	 * the client, which sent caddr -> vaddr. */
	rdst = in ? &f->daddr : &pi->daddr;
	if (!lvs_xmit_prepare(p, pi->af, rdst, 0, env, &nh, &v, why))
		return v;
	lvs_xmit_dec_ttl(p);

	ip = p->data + pi->l3_off;
	if (in) {
		oa = pi->daddr;
		na = &f->daddr;
		nat_quote(p, inner, qend, true, &f->daddr, f->dport);
	} else {
		oa = pi->saddr;
		na = &f->vaddr;
		nat_quote(p, inner, qend, false, &f->vaddr, f->vport);
	}
	if (v4) {
		uint32_t off = in ? 16 : 12;

		xm_csum_replace_addr(ip + 10, AF_INET, &oa, na);
		xm_wr32(ip + off, na->ip4);
	} else {
		memcpy(ip + (in ? 24 : 8), na->b, 16);
	}
	if (in)
		pi->daddr = *na;
	else
		pi->saddr = *na;

	/* The whole ICMP message is short: sum it again rather than track
	 * every change made inside the quote. */
	ic = p->data + pi->l4_off;
	ilen = qend - pi->l4_off;
	xm_wr16(ic + 2, 0);
	c = lvs_csum_finish(lvs_csum_partial(
	        ic, ilen, v4 ? 0 : lvs_csum_pseudo6(&pi->saddr, &pi->daddr, IPPROTO_ICMPV6, ilen)));
	xm_wr16(ic + 2, c);
	p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_PARTIAL;

	if (lvs_xmit_set_l2(p, &nh, v4 ? XM_ETHT_IP4 : XM_ETHT_IP6)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;

unsupported:
	*why = LVS_DROP_FWD_UNSUPPORTED;
	return LVS_V_DROP;
bad_inner:
	*why = LVS_DROP_ICMP_INNER;
	return LVS_V_DROP;
}
