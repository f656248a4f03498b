/*
 * pkt.c - buffer moves and the frame parser of the data path.
 *
 * lvs_pkt_parse() validates what a router must before forwarding (RFC 1812
 * 5.2.2 for IPv4, RFC 8200 for IPv6) plus what kernel IPVS relies on to find
 * a connection: the L4 ports of TCP (RFC 9293), UDP (RFC 768), SCTP
 * (RFC 9260) and the identifier of ICMP / ICMPv6 echo (RFC 792 / RFC 4443),
 * which IPVS also uses as the "port" of ICMP flows.  Every read is checked
 * against the end of the frame (p->data + p->len) or of the IP datagram,
 * whichever comes first; trailing Ethernet padding is ignored.
 *
 * L4 checksums are not verified here (lvs_pkt_l4_csum_ok does that, and only
 * when the flow needs it), and offload flags are left untouched.
 *
 * Fragments: the first fragment is parsed down to its L4 header (RFC 1858 /
 * RFC 7112: the header chain and L4 header must be in it); later fragments
 * carry no L4 header, so l4_off, l4_len and the ports stay 0.  An IPv6
 * "atomic" fragment (offset 0, M clear, RFC 6946) is a whole datagram and is
 * reported as LVS_FRAG_NONE with ip6_frag_off set.
 */
#include <errno.h>
#include <netinet/in.h>

#include "pkt.h"
#include "csum.h"

#define ETH_HLEN    14
#define ETHT_IP4    0x0800
#define ETHT_IP6    0x86dd
#define ETHT_8021Q  0x8100
#define ETHT_8021AD 0x88a8

#define IP6_HLEN       40
#define IP6_MAX_EXTHDR 8

#define NH_HOPOPTS  0
#define NH_ROUTING  43
#define NH_FRAGMENT 44
#define NH_ESP      50
#define NH_AH       51
#define NH_NONE     59
#define NH_DSTOPTS  60

#define IP4_DF      0x4000
#define IP4_MF      0x2000
#define IP4_OFFMASK 0x1fff

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

int lvs_pkt_push(struct lvs_pkt *p, uint32_t n)
{
	if (n > p->headroom)
		return -ENOBUFS;
	p->data -= n;
	p->len += n;
	p->headroom -= n;
	return 0;
}

int lvs_pkt_pull(struct lvs_pkt *p, uint32_t n)
{
	if (n > p->len)
		return -EINVAL;
	p->data += n;
	p->len -= n;
	p->headroom += n;
	return 0;
}

static inline uint16_t rd16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return ntohs(v);
}

static inline uint32_t rd32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return ntohl(v);
}

/* Raw (network order) copies for fields kept in network order. */
static inline uint16_t rd16n(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static inline uint32_t rd32n(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

/* IPv4 header verification: the one's-complement sum over a header with a
 * correct checksum is all ones.  Header lengths are multiples of 4. */
static inline bool ip4_hdr_sum_ok(const uint8_t *h, uint32_t hlen)
{
	uint64_t s = 0;
	uint32_t i;

	for (i = 0; i < hlen; i += 4)
		s += rd32n(h + i);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return lvs_csum_fold((uint32_t)s) == 0xffff;
}

/*
 * RFC 791 options: EOL ends the list, NOP is one byte, every other option
 * is type/length/data with length >= 2 that must fit in the header.  Only
 * reached for headers with options, which are rare.
 */
static bool ip4_options_ok(const uint8_t *opt, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t t = opt[i];

		if (t == 0)
			break;
		if (t == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || opt[i + 1] > len - i)
			return false;
		i += opt[i + 1];
	}
	return true;
}

static inline bool icmp4_is_err(uint8_t type)
{
	/* dest unreachable, source quench, redirect, time exceeded, param problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static inline bool icmp6_is_err(uint8_t type)
{
	/* dest unreachable, packet too big, time exceeded, param problem */
	return type >= 1 && type <= 4;
}

/*
 * The L4 header of an unfragmented datagram or first fragment at l4 with
 * l4_len bytes of datagram left (all inside the frame).  whole: the datagram
 * is not fragmented, so length fields can be checked against l4_len.
 */
static enum lvs_drop parse_l4(struct lvs_pkt_info *pi, const uint8_t *l4, uint32_t l4_len,
                              bool whole)
{
	switch (pi->proto) {
	case IPPROTO_TCP: {
		uint32_t doff;

		if (l4_len < 20)
			return LVS_DROP_TCP_SHORT;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4_len)
			return LVS_DROP_TCP_DOFF;
		pi->tcp_flags = l4[13];
		if ((pi->tcp_flags & TH_SYN) && (pi->tcp_flags & (TH_FIN | TH_RST)))
			return LVS_DROP_TCP_FLAGS;
		pi->sport = rd16n(l4);
		pi->dport = rd16n(l4 + 2);
		return LVS_DROP_NONE;
	}
	case IPPROTO_UDP: {
		uint32_t ulen;

		if (l4_len < 8)
			return LVS_DROP_UDP_SHORT;
		ulen = rd16(l4 + 4);
		/* ulen < l4_len is legal (RFC 768 trailing octets); the checksum
		 * covers ulen bytes (see csum.c). */
		if (ulen < 8 || (whole && ulen > l4_len))
			return LVS_DROP_UDP_LEN;
		pi->sport = rd16n(l4);
		pi->dport = rd16n(l4 + 2);
		return LVS_DROP_NONE;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		bool v6 = pi->proto == IPPROTO_ICMPV6;

		/* ICMP over the other family is not ICMP: leave it opaque */
		if (v6 != (pi->af == AF_INET6))
			return LVS_DROP_NONE;
		if (l4_len < 8)
			return v6 ? LVS_DROP_ICMP6_SHORT : LVS_DROP_ICMP_SHORT;
		pi->icmp_type = l4[0];
		pi->icmp_code = l4[1];
		if (v6) {
			pi->icmp_is_err = icmp6_is_err(l4[0]);
			if (l4[0] == 128 || l4[0] == 129)
				pi->sport = pi->dport = rd16n(l4 + 4);
		} else {
			pi->icmp_is_err = icmp4_is_err(l4[0]);
			if (l4[0] == 8 || l4[0] == 0)
				pi->sport = pi->dport = rd16n(l4 + 4);
		}
		return LVS_DROP_NONE;
	}
	case IPPROTO_SCTP:
		/* ports when the common header is there; no SCTP drop reasons */
		if (l4_len >= 12) {
			pi->sport = rd16n(l4);
			pi->dport = rd16n(l4 + 2);
		}
		return LVS_DROP_NONE;
	default:
		return LVS_DROP_NONE;
	}
}

static enum lvs_drop parse_ip4(struct lvs_pkt *p, uint32_t l3)
{
	struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *h = p->data + l3;
	uint32_t avail = p->len - l3, hlen, tot, fo, off, daddr, saddr;

	if (avail < 20)
		return LVS_DROP_IP4_SHORT;
	if ((h[0] >> 4) != 4)
		return LVS_DROP_IP4_VERSION;
	hlen = (uint32_t)(h[0] & 0xf) * 4;
	if (hlen < 20)
		return LVS_DROP_IP4_IHL;
	if (hlen > avail)
		return LVS_DROP_IP4_SHORT;
	tot = rd16(h + 2);
	if (tot < hlen)
		return LVS_DROP_IP4_TOTLEN;
	if (tot > avail)
		return LVS_DROP_IP4_SHORT;
	if (LVS_UNLIKELY(!ip4_hdr_sum_ok(h, hlen)))
		return LVS_DROP_IP4_CSUM;
	if (LVS_UNLIKELY(hlen > 20) && !ip4_options_ok(h + 20, hlen - 20))
		return LVS_DROP_IP4_OPTIONS;

	saddr = rd32n(h + 12);
	daddr = rd32n(h + 16);
	/* multicast 224/4 or limited broadcast as a source (RFC 1812 5.3.7) */
	if ((saddr & htonl(0xf0000000)) == htonl(0xe0000000) || saddr == 0xffffffffu)
		return LVS_DROP_IP4_BAD_SADDR;

	pi->af = AF_INET;
	pi->l3_off = (uint16_t)l3;
	pi->l3_len = (uint16_t)tot;
	pi->ttl = h[8];
	pi->proto = h[9];
	pi->frag_id = rd16(h + 4);
	lvs_addr_set4(&pi->saddr, saddr);
	lvs_addr_set4(&pi->daddr, daddr);

	fo = rd16(h + 6);
	pi->ip4_df = !!(fo & IP4_DF);
	off = (fo & IP4_OFFMASK) * 8;
	if (LVS_UNLIKELY(fo & (IP4_MF | IP4_OFFMASK))) {
		if (off + (tot - hlen) > 65535)
			return LVS_DROP_IP4_FRAG;
		if (off) {
			pi->frag = LVS_FRAG_LATER;
			return LVS_DROP_NONE;
		}
		pi->frag = LVS_FRAG_FIRST;
	}

	pi->l4_off = (uint16_t)(l3 + hlen);
	pi->l4_len = (uint16_t)(tot - hlen);
	return parse_l4(pi, h + hlen, tot - hlen, pi->frag == LVS_FRAG_NONE);
}

/*
 * Walk the IPv6 extension header chain of the datagram at h (datagram ends
 * at h + end; end <= bytes present).  On success *nh is the final protocol
 * and *l4 its offset from h, or 0 for a later fragment.  Used for received
 * packets and for packets quoted in ICMPv6 errors (whose caller maps every
 * failure to ICMP_INNER; quote: h is a possibly truncated quote).  l3 is h's
 * offset in the frame (for ip6_frag_off).
 */
static enum lvs_drop ip6_walk(struct lvs_pkt_info *pi, const uint8_t *h, uint32_t end,
                              uint8_t *nh_out, uint32_t *l4_out, uint16_t l3, bool quote)
{
	uint32_t off = IP6_HLEN, hl, n = 0;
	uint8_t nh = h[6];

	for (;;) {
		switch (nh) {
		case NH_HOPOPTS:
			if (n != 0) /* RFC 8200 4.1: only right after the header */
				return LVS_DROP_IP6_EXTHDR;
			/* fall through */
		case NH_ROUTING:
		case NH_DSTOPTS:
			if (++n > IP6_MAX_EXTHDR)
				return LVS_DROP_IP6_EXTHDR_LIMIT;
			if (end - off < 8)
				return LVS_DROP_IP6_EXTHDR;
			hl = ((uint32_t)h[off + 1] + 1) * 8;
			if (hl > end - off)
				return LVS_DROP_IP6_EXTHDR;
			/* RFC 5095: type 0 routing headers are deprecated */
			if (nh == NH_ROUTING && h[off + 2] == 0 && h[off + 3] != 0)
				return LVS_DROP_IP6_EXTHDR;
			nh = h[off];
			off += hl;
			break;
		case NH_AH:
			if (++n > IP6_MAX_EXTHDR)
				return LVS_DROP_IP6_EXTHDR_LIMIT;
			if (end - off < 8)
				return LVS_DROP_IP6_EXTHDR;
			/* RFC 4302 2.2: length in 32-bit words minus 2 */
			hl = ((uint32_t)h[off + 1] + 2) * 4;
			if (hl > end - off)
				return LVS_DROP_IP6_EXTHDR;
			nh = h[off];
			off += hl;
			break;
		case NH_FRAGMENT: {
			uint32_t fo, foff, flen;

			if (++n > IP6_MAX_EXTHDR)
				return LVS_DROP_IP6_EXTHDR_LIMIT;
			if (pi->ip6_frag_off)
				return LVS_DROP_IP6_FRAG;
			if (end - off < 8)
				return LVS_DROP_IP6_EXTHDR;
			fo = rd16(h + off + 2);
			foff = fo & 0xfff8;
			flen = end - off - 8;
			/* RFC 8200 4.5: non-final fragments are multiples of 8
			 * (unknowable for a truncated quote); the reassembled
			 * packet must fit 65535 bytes of payload */
			if (((fo & 1) && (flen & 7) && !quote) || foff + flen > 65535)
				return LVS_DROP_IP6_FRAG;
			pi->ip6_frag_off = (uint16_t)(l3 + off);
			pi->frag_id = rd32(h + off + 4);
			nh = h[off];
			off += 8;
			if (foff) {
				pi->frag = LVS_FRAG_LATER;
				*nh_out = nh;
				*l4_out = 0;
				return LVS_DROP_NONE;
			}
			if (fo & 1)
				pi->frag = LVS_FRAG_FIRST;
			break;
		}
		default: /* L4, ESP (opaque) or No Next Header: the chain ends */
			*nh_out = nh;
			*l4_out = off;
			return LVS_DROP_NONE;
		}
	}
}

static enum lvs_drop parse_ip6(struct lvs_pkt *p, uint32_t l3)
{
	struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *h = p->data + l3;
	uint32_t avail = p->len - l3, plen, end, l4;
	enum lvs_drop r;
	uint8_t nh;

	if (avail < IP6_HLEN)
		return LVS_DROP_IP6_SHORT;
	if ((h[0] >> 4) != 6)
		return LVS_DROP_IP6_VERSION;
	plen = rd16(h + 4);
	/* 0: jumbogram (RFC 2675), unsupported; l3_len must fit 16 bits */
	if (plen == 0 || plen > 65535 - IP6_HLEN)
		return LVS_DROP_IP6_PAYLEN;
	end = IP6_HLEN + plen;
	if (end > avail)
		return LVS_DROP_IP6_SHORT;
	if (h[8] == 0xff)
		return LVS_DROP_IP6_BAD_SADDR; /* multicast source, RFC 4291 2.7 */

	pi->af = AF_INET6;
	pi->l3_off = (uint16_t)l3;
	pi->l3_len = (uint16_t)end;
	pi->ttl = h[7];
	memcpy(pi->saddr.b, h + 8, 16);
	memcpy(pi->daddr.b, h + 24, 16);

	r = ip6_walk(pi, h, end, &nh, &l4, (uint16_t)l3, false);
	if (r != LVS_DROP_NONE)
		return r;
	pi->proto = nh;
	if (l4 == 0)
		return LVS_DROP_NONE; /* later fragment */
	pi->l4_off = (uint16_t)(l3 + l4);
	pi->l4_len = (uint16_t)(end - l4);
	if (nh == NH_ESP || nh == NH_NONE)
		return LVS_DROP_NONE;
	return parse_l4(pi, h + l4, end - l4, pi->frag == LVS_FRAG_NONE);
}

static enum lvs_drop parse_frame(struct lvs_pkt *p)
{
	struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *d = p->data;
	uint32_t off = ETH_HLEN;
	uint16_t type;

	memset(pi, 0, sizeof(*pi));
	if (p->len < ETH_HLEN)
		return LVS_DROP_ETH_SHORT;
	type = rd16(d + 12);
	while (type == ETHT_8021Q || type == ETHT_8021AD) {
		if (pi->nr_vlan == 2)
			return LVS_DROP_VLAN_STACKED;
		if (p->len - off < 4)
			return LVS_DROP_VLAN_SHORT;
		if (pi->nr_vlan == 0)
			pi->vlan_tci = rd16(d + off);
		type = rd16(d + off + 2);
		off += 4;
		pi->nr_vlan++;
	}
	pi->eth_type = type;
	if (type == ETHT_IP4)
		return parse_ip4(p, off);
	if (type == ETHT_IP6)
		return parse_ip6(p, off);
	return LVS_DROP_NONE; /* ARP, LLDP...: af 0, the caller decides */
}

enum lvs_drop lvs_pkt_parse(struct lvs_pkt *p)
{
	enum lvs_drop r = parse_frame(p);

	if (p->flags & LVS_PKT_F_CSUM_UNKNOWN) {
		if (r == LVS_DROP_NONE)
			lvs_pkt_csum_resolve(p);
		p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_UNKNOWN;
	}
	return r;
}

/*
 * The quote starts at l4_off + 8 of the outer ICMP error and runs to the end
 * of the outer datagram (bytes present).  Length fields of the quote describe
 * the original datagram, which the quote may have truncated, so walking is
 * bounded by min(quoted length, bytes present).
 */
enum lvs_drop lvs_pkt_parse_icmp_inner(const struct lvs_pkt *p, struct lvs_pkt_info *inner)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint32_t start, present, lim, l4;
	const uint8_t *h;
	uint8_t nh;

	memset(inner, 0, sizeof(*inner));
	if (!pi->icmp_is_err || pi->l4_off == 0 || pi->frag == LVS_FRAG_LATER ||
	    (uint32_t)pi->l4_off + pi->l4_len > p->len || pi->l4_len < 8)
		return LVS_DROP_ICMP_INNER;
	start = (uint32_t)pi->l4_off + 8;
	present = pi->l4_len - 8;
	h = p->data + start;
	inner->af = pi->af;
	inner->l3_off = (uint16_t)start;
	inner->eth_type = pi->eth_type;

	if (pi->af == AF_INET) {
		uint32_t hlen, tot, fo;

		if (present < 20 || (h[0] >> 4) != 4)
			return LVS_DROP_ICMP_INNER;
		hlen = (uint32_t)(h[0] & 0xf) * 4;
		tot = rd16(h + 2);
		if (hlen < 20 || hlen > present || tot < hlen)
			return LVS_DROP_ICMP_INNER;
		fo = rd16(h + 6);
		if (fo & IP4_OFFMASK)
			return LVS_DROP_ICMP_INNER; /* no L4 header to match on */
		inner->frag = (fo & IP4_MF) ? LVS_FRAG_FIRST : LVS_FRAG_NONE;
		inner->ip4_df = !!(fo & IP4_DF);
		inner->l3_len = (uint16_t)tot;
		inner->ttl = h[8];
		inner->proto = nh = h[9];
		inner->frag_id = rd16(h + 4);
		lvs_addr_set4(&inner->saddr, rd32n(h + 12));
		lvs_addr_set4(&inner->daddr, rd32n(h + 16));
		lim = tot < present ? tot : present;
		l4 = hlen;
	} else if (pi->af == AF_INET6) {
		uint32_t plen;

		if (present < IP6_HLEN || (h[0] >> 4) != 6)
			return LVS_DROP_ICMP_INNER;
		plen = rd16(h + 4);
		if (plen == 0 || plen > 65535 - IP6_HLEN)
			return LVS_DROP_ICMP_INNER;
		inner->l3_len = (uint16_t)(IP6_HLEN + plen);
		inner->ttl = h[7];
		memcpy(inner->saddr.b, h + 8, 16);
		memcpy(inner->daddr.b, h + 24, 16);
		lim = IP6_HLEN + plen < present ? IP6_HLEN + plen : present;
		if (ip6_walk(inner, h, lim, &nh, &l4, (uint16_t)start, true) != LVS_DROP_NONE ||
		    l4 == 0)
			return LVS_DROP_ICMP_INNER;
		inner->proto = nh;
	} else {
		return LVS_DROP_ICMP_INNER;
	}

	inner->l4_off = (uint16_t)(start + l4);
	inner->l4_len = (uint16_t)(lim - l4);
	h += l4;
	switch (nh) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (inner->l4_len < 8)
			return LVS_DROP_ICMP_INNER;
		inner->sport = rd16n(h);
		inner->dport = rd16n(h + 2);
		if (nh == IPPROTO_TCP && inner->l4_len >= 14)
			inner->tcp_flags = h[13];
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((nh == IPPROTO_ICMPV6) != (pi->af == AF_INET6))
			break;
		if (inner->l4_len < 8)
			return LVS_DROP_ICMP_INNER;
		inner->icmp_type = h[0];
		inner->icmp_code = h[1];
		inner->icmp_is_err = nh == IPPROTO_ICMP ? icmp4_is_err(h[0]) : icmp6_is_err(h[0]);
		/* RFC 1122 3.2.2 / RFC 4443 2.4: never an error about an error */
		if (inner->icmp_is_err)
			return LVS_DROP_ICMP_INNER;
		if (nh == IPPROTO_ICMP ? (h[0] == 8 || h[0] == 0) : (h[0] == 128 || h[0] == 129))
			inner->sport = inner->dport = rd16n(h + 4);
		break;
	default:
		break;
	}
	return LVS_DROP_NONE;
}
