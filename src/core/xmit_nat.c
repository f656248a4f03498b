/*
 * xmit_nat.c - masquerading (ipvsadm -m), as kernel IPVS's ip_vs_nat_xmit
 * and its output-side handler: client -> VIP packets get the real server's
 * address and port as destination; the server's replies get the VIP and
 * virtual port back as source.
 *
 * Checksums are updated incrementally (RFC 1624): the IPv4 header sum, and
 * the TCP/UDP/ICMPv6 sum for the pseudo-header address and the port.  ICMP
 * echo flows use the identifier as both ports (as the parser reports it);
 * ICMPv4 has no pseudo-header.  An IPv4 UDP checksum of 0 ("none", RFC 768)
 * stays 0.  SCTP (RFC 9260) has a CRC32c over the whole packet, which is
 * recomputed as the kernel's sctp_nat_csum does.
 *
 * Checksum-partial frames (local senders, GSO): the L4 field holds only the
 * pseudo-header sum, so only the address change goes into it; the port is
 * summed later by whoever completes the checksum.
 *
 * Fragments: the first fragment carries the L4 header and its checksum,
 * which covers the reassembled datagram, so the usual incremental update is
 * right for it; later fragments have no L4 header and only get the address
 * change.  The director gives later fragments their first's ports and
 * connection (frag.h) and passes them here.  SCTP's CRC of
 * a fragmented packet cannot be recomputed without reassembly and is left.
 */
#include <errno.h>
#include <netinet/in.h>

#include "xmit_int.h"

/* CRC32c (Castagnoli, reflected 0x82f63b78), four bits at a time. */
static uint32_t crc32c(const uint8_t *b, size_t n, uint32_t crc)
{
	static const uint32_t tab[16] = {
	        0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
	        0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	        0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
	};

	while (n--) {
		crc ^= *b++;
		crc = (crc >> 4) ^ tab[crc & 15];
		crc = (crc >> 4) ^ tab[crc & 15];
	}
	return crc;
}

/* RFC 9260 appendix A: CRC32c over the packet with the field zeroed, stored
 * least significant byte first. */
static void sctp_csum(uint8_t *l4, uint32_t len)
{
	uint32_t crc;

	memset(l4 + 8, 0, 4);
	crc = ~crc32c(l4, len, 0xffffffffu);
	l4[8] = (uint8_t)crc;
	l4[9] = (uint8_t)(crc >> 8);
	l4[10] = (uint8_t)(crc >> 16);
	l4[11] = (uint8_t)(crc >> 24);
}

/*
 * Rewrite the L4 part for an address change oa -> na (source side when
 * src) and a port change to np.  Returns 1 when a port (or echo
 * identifier) was rewritten, 0 when the packet has none, -1 when a
 * checksum-partial frame's csum_start/csum_offset point outside it.
 */
static int nat_l4(struct lvs_pkt *p, bool src, const union lvs_addr *oa, const union lvs_addr *na,
                  uint16_t np)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint8_t *l4 = p->data + pi->l4_off;
	uint32_t poff = src ? 0 : 2, avail = pi->l4_len;
	bool partial = p->flags & LVS_PKT_F_CSUM_PARTIAL;
	bool pseudo = true, port = false;
	int coff = -1;
	uint16_t op;

	if (!pi->l4_off || pi->frag == LVS_FRAG_LATER)
		return 0;
	switch (pi->proto) {
	case IPPROTO_TCP:
		coff = 16;
		port = true;
		break;
	case IPPROTO_UDP:
		coff = 6;
		port = true;
		break;
	case IPPROTO_SCTP:
		port = avail >= 12;
		pseudo = false;
		break;
	case IPPROTO_ICMP:
		if (pi->af != AF_INET)
			return 0;
		coff = 2;
		pseudo = false;
		poff = 4;
		port = pi->icmp_type == 8 || pi->icmp_type == 0;
		break;
	case IPPROTO_ICMPV6:
		if (pi->af != AF_INET6)
			return 0;
		coff = 2;
		poff = 4;
		port = pi->icmp_type == 128 || pi->icmp_type == 129;
		break;
	default:
		return 0;
	}
	port = port && avail >= poff + 2;
	op = port ? xm_rd16(l4 + poff) : 0;

	if (partial) {
		uint32_t fo = (uint32_t)p->csum_start + p->csum_offset;

		if (fo + 2 > p->len || p->csum_start < pi->l4_off)
			return -1;
		/* ports are not in the pseudo-header: nothing else to do */
		if (pseudo && pi->proto != IPPROTO_SCTP)
			xm_csum_partial_replace_addr(p->data + fo, pi->af, oa, na);
	} else if (coff >= 0 && avail >= (uint32_t)coff + 2) {
		uint8_t *cf = l4 + coff;

		if (!(pi->proto == IPPROTO_UDP && pi->af == AF_INET && xm_rd16(cf) == 0)) {
			if (pseudo)
				xm_csum_replace_addr(cf, pi->af, oa, na);
			if (port)
				xm_csum_replace2(cf, op, np);
			/* RFC 768: a zero result is sent as all ones */
			if (pi->proto == IPPROTO_UDP && xm_rd16(cf) == 0)
				xm_wr16(cf, 0xffff);
		}
	}
	if (port)
		xm_wr16(l4 + poff, np);
	if (pi->proto == IPPROTO_SCTP && !partial && pi->frag == LVS_FRAG_NONE && port && op != np)
		sctp_csum(l4, avail);
	return port;
}

/*
 * What nat_l4, the TTL decrement and the IP header update below do for the
 * common packet (IPv4, TCP or UDP with a complete checksum, not a
 * fragment; the parser guarantees the L4 header is there), with one
 * checksum update per header.  After xm_prepare, so the TTL is > 1.
 */
static enum lvs_verdict nat4_fast(struct lvs_pkt *p, const struct lvs_nexthop *nh, uint32_t oa,
                                  const union lvs_addr *nap, uint16_t np, bool in,
                                  enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint8_t *ip = p->data + pi->l3_off, *l4 = p->data + pi->l4_off;
	uint8_t *cf = l4 + (pi->proto == IPPROTO_TCP ? 16 : 6), *pf = l4 + (in ? 2 : 0);
	uint16_t c = xm_rd16(cf), ttl_old, ttl_new;
	uint32_t na = nap->ip4;

	/* RFC 768: an IPv4 UDP checksum of 0 means none, and stays so */
	if (!(pi->proto == IPPROTO_UDP && c == 0)) {
		c = xm_csum_upd4_2(c, oa, na, xm_rd16(pf), np);
		/* RFC 768: a zero result is sent as all ones */
		if (pi->proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		xm_wr16(cf, c);
	}
	xm_wr16(pf, np);
	ttl_old = htons((uint16_t)(ip[8] << 8 | ip[9]));
	ip[8]--;
	ttl_new = htons((uint16_t)(ip[8] << 8 | ip[9]));
	xm_wr16(ip + 10, xm_csum_upd4_2(xm_rd16(ip + 10), oa, na, ttl_old, ttl_new));
	xm_wr32(ip + (in ? 16 : 12), na);
	pi->ttl = ip[8];
	if (in) {
		pi->daddr = *nap;
		pi->dport = np;
	} else {
		pi->saddr = *nap;
		pi->sport = np;
	}
	if (xm_set_l2(p, nh, XM_ETHT_IP4)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;
}

static enum lvs_verdict nat_xmit(struct lvs_pkt *p, const struct lvs_flow *f,
                                 const struct lvs_xmit_env *env, enum lvs_drop *why, bool in)
{
	struct lvs_pkt_info *pi = &p->pi;
	bool v4 = pi->af == AF_INET;
	const union lvs_addr *na = in ? &f->daddr : &f->vaddr;
	uint16_t np = in ? f->dport : f->vport;
	union lvs_addr oa = in ? pi->daddr : pi->saddr;
	struct lvs_nexthop nh;
	enum lvs_verdict v;
	uint8_t *ip;
	int r;

	*why = LVS_DROP_NONE;
	/* kernel IPVS cannot masquerade between families either */
	if ((pi->af != AF_INET && pi->af != AF_INET6) || f->af != pi->af ||
	    (f->daf && f->daf != f->af)) {
		*why = LVS_DROP_FWD_UNSUPPORTED;
		return LVS_V_DROP;
	}
	if (!xm_prepare(p, pi->af, in ? &f->daddr : &pi->daddr, in ? f->rc : NULL, 0, env, &nh, &v, why))
		return v;
	if (LVS_LIKELY(v4 && !(p->flags & LVS_PKT_F_CSUM_PARTIAL) && pi->frag == LVS_FRAG_NONE &&
	               (pi->proto == IPPROTO_TCP || pi->proto == IPPROTO_UDP)))
		return nat4_fast(p, &nh, oa.ip4, na, np, in, why);
	r = nat_l4(p, !in, &oa, na, np);
	if (r < 0) {
		*why = LVS_DROP_L4_CSUM;
		return LVS_V_DROP;
	}
	xm_dec_ttl(p);
	ip = p->data + pi->l3_off;
	if (v4) {
		xm_csum_replace_addr(ip + 10, AF_INET, &oa, na);
		xm_wr32(ip + (in ? 16 : 12), na->ip4);
	} else {
		memcpy(ip + (in ? 24 : 8), na->b, 16);
	}
	if (in)
		pi->daddr = *na;
	else
		pi->saddr = *na;
	if (r > 0) {
		/* ICMP echo: one identifier is both "ports" */
		if (pi->proto == IPPROTO_ICMP || pi->proto == IPPROTO_ICMPV6)
			pi->sport = pi->dport = np;
		else if (in)
			pi->dport = np;
		else
			pi->sport = np;
	}
	if (xm_set_l2(p, &nh, v4 ? XM_ETHT_IP4 : XM_ETHT_IP6)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;
}

enum lvs_verdict lvs_xmit_nat_in(struct lvs_pkt *p, const struct lvs_flow *f,
                                 const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	return nat_xmit(p, f, env, why, true);
}

enum lvs_verdict lvs_xmit_nat_out(struct lvs_pkt *p, const struct lvs_flow *f,
                                  const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	return nat_xmit(p, f, env, why, false);
}
