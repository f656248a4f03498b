/*
 * csum.c - Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * The one's-complement sum does not depend on byte order (RFC 1071 2.(B)), so
 * everything here sums memory in the host's native order and the folded
 * result can be stored into a header field with no byte swap.  Partial sums
 * are 32-bit accumulators whose meaning is "sum of 16-bit words, carries
 * pending"; they become a field value with lvs_csum_fold / lvs_csum_finish.
 *
 * Checksum-partial frames follow Linux's CHECKSUM_PARTIAL convention: the L4
 * checksum field holds the folded pseudo-header sum, NOT complemented (what
 * the kernel writes as ~csum_tcpudp_magic()), and whoever completes the
 * checksum sums from csum_start to the end with that field included, then
 * stores the complement at csum_start + csum_offset.
 */
#include <errno.h>
#include <netinet/in.h>

#include "csum.h"
#include "pkt.h"

static inline uint64_t csum_load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Add with end-around carry in 64 bits. */
static inline uint64_t csum_add64(uint64_t a, uint64_t b)
{
	uint64_t r;
	if (__builtin_add_overflow(a, b, &r))
		r++;
	return r;
}

static inline uint32_t csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static inline uint32_t csum_add32(uint32_t a, uint32_t b)
{
	uint32_t r;
	if (__builtin_add_overflow(a, b, &r))
		r++;
	return r;
}

/*
 * Sum buf as if it started at an even offset of the checksummed data.  Four
 * independent 64-bit accumulators keep the carry chains short; an odd final
 * byte counts as the high-order byte of a word padded with zero (RFC 1071).
 */
uint32_t lvs_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t a0 = sum, a1 = 0, a2 = 0, a3 = 0;

	while (len >= 32) {
		a0 = csum_add64(a0, csum_load64(p));
		a1 = csum_add64(a1, csum_load64(p + 8));
		a2 = csum_add64(a2, csum_load64(p + 16));
		a3 = csum_add64(a3, csum_load64(p + 24));
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		a0 = csum_add64(a0, csum_load64(p));
		p += 8;
		len -= 8;
	}
	if (len) {
		uint8_t tail[8] = {0};
		memcpy(tail, p, len);
		a1 = csum_add64(a1, csum_load64(tail));
	}
	a0 = csum_add64(a0, a1);
	a2 = csum_add64(a2, a3);
	a0 = csum_add64(a0, a2);
	return csum_fold64(a0);
}

uint16_t lvs_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t lvs_csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len)
{
	uint64_t s = (uint64_t)saddr + daddr;

	/* proto and length as they would appear in memory, in network order */
	s += htonl(proto);
	s += htonl(len);
	return csum_fold64(s);
}

uint32_t lvs_csum_pseudo6(const union lvs_addr *saddr, const union lvs_addr *daddr, uint8_t proto,
                          uint32_t len)
{
	uint64_t s = 0;

	s += (uint64_t)saddr->w[0] + saddr->w[1] + saddr->w[2] + saddr->w[3];
	s += (uint64_t)daddr->w[0] + daddr->w[1] + daddr->w[2] + daddr->w[3];
	s += htonl(len);
	s += htonl(proto);
	return csum_fold64(s);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
void lvs_csum_replace2(uint16_t *csum, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t) ~*csum;

	s += (uint16_t)~old;
	s += new_;
	*csum = (uint16_t)~lvs_csum_fold(s);
}

void lvs_csum_replace4(uint16_t *csum, uint32_t old, uint32_t new_)
{
	uint64_t s = (uint16_t) ~*csum;

	s += (uint32_t)~old;
	s += new_;
	*csum = (uint16_t)~lvs_csum_fold(csum_fold64(s));
}

static inline uint32_t csum_diff16(const union lvs_addr *old, const union lvs_addr *new_)
{
	uint64_t s = 0;

	s += (uint64_t)(uint32_t)~old->w[0] + (uint32_t)~old->w[1];
	s += (uint64_t)(uint32_t)~old->w[2] + (uint32_t)~old->w[3];
	s += (uint64_t)new_->w[0] + new_->w[1] + new_->w[2] + new_->w[3];
	return csum_fold64(s);
}

void lvs_csum_replace16(uint16_t *csum, const union lvs_addr *old, const union lvs_addr *new_)
{
	uint32_t s = csum_add32((uint16_t) ~*csum, csum_diff16(old, new_));

	*csum = (uint16_t)~lvs_csum_fold(s);
}

/* The field holds fold(pseudo) uncomplemented: fold(field - old + new). */
void lvs_csum_partial_replace4(uint16_t *csum, uint32_t old, uint32_t new_)
{
	uint64_t s = *csum;

	s += (uint32_t)~old;
	s += new_;
	*csum = lvs_csum_fold(csum_fold64(s));
}

void lvs_csum_partial_replace16(uint16_t *csum, const union lvs_addr *old,
                                const union lvs_addr *new_)
{
	uint32_t s = csum_add32(*csum, csum_diff16(old, new_));

	*csum = lvs_csum_fold(s);
}

/*
 * Returns the value to store in the header's checksum field.  The current
 * content of that field (bytes 10-11) is ignored, so the caller need not
 * zero it first.  ihl_bytes is 20..60 and a multiple of 4.
 */
uint16_t lvs_ip4_hdr_csum(const void *hdr, size_t ihl_bytes)
{
	const uint8_t *h = hdr;
	uint16_t field;
	uint32_t s;

	memcpy(&field, h + 10, 2);
	s = lvs_csum_partial(h, ihl_bytes, 0);
	s = csum_add32(s, (uint16_t)~field);
	return lvs_csum_finish(s);
}

/* Offset of the checksum field inside the L4 header; -1 if none we know. */
static int l4_csum_field(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return -1;
	}
}

/* Pseudo-header sum of the parsed packet over len L4 bytes (none for ICMPv4). */
static uint32_t l4_pseudo(const struct lvs_pkt_info *pi, uint32_t len)
{
	if (pi->proto == IPPROTO_ICMP)
		return 0;
	if (pi->af == AF_INET)
		return lvs_csum_pseudo4(pi->saddr.ip4, pi->daddr.ip4, pi->proto, len);
	return lvs_csum_pseudo6(&pi->saddr, &pi->daddr, pi->proto, len);
}

/*
 * Checks shared by complete/ok: a whole (unfragmented) L4 datagram inside
 * the frame, with a checksum field we know, of the right family.  Returns
 * the field's offset and sets *len to the bytes the checksum covers: the
 * UDP length field for UDP (RFC 768; octets after it are not covered), the
 * rest of the IP datagram otherwise.
 */
static int l4_csum_where(const struct lvs_pkt *p, uint32_t *len)
{
	const struct lvs_pkt_info *pi = &p->pi;
	int off = l4_csum_field(pi->proto);

	if (off < 0 || pi->l4_off == 0 || pi->frag != LVS_FRAG_NONE)
		return -1;
	if (pi->af != AF_INET && pi->af != AF_INET6)
		return -1;
	if ((pi->proto == IPPROTO_ICMP && pi->af != AF_INET) ||
	    (pi->proto == IPPROTO_ICMPV6 && pi->af != AF_INET6))
		return -1;
	if ((uint32_t)pi->l4_off + pi->l4_len > p->len || pi->l4_len < (uint32_t)off + 2)
		return -1;
	*len = pi->l4_len;
	if (pi->proto == IPPROTO_UDP) {
		uint16_t ulen;

		memcpy(&ulen, p->data + pi->l4_off + 4, 2);
		*len = ntohs(ulen);
		if (*len < 8 || *len > pi->l4_len)
			return -1;
	}
	return off;
}

int lvs_pkt_l4_csum_complete(struct lvs_pkt *p)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint32_t len = 0, s;
	int off = l4_csum_where(p, &len);
	uint8_t *l4;
	uint16_t c;

	if (off < 0)
		return -EINVAL;
	l4 = p->data + pi->l4_off;
	memset(l4 + off, 0, 2);
	s = lvs_csum_partial(l4, len, l4_pseudo(pi, len));
	c = lvs_csum_finish(s);
	/* RFC 768: a computed zero is sent as all ones (0 means "none"). */
	if (c == 0 && pi->proto == IPPROTO_UDP)
		c = 0xffff;
	memcpy(l4 + off, &c, 2);
	p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_PARTIAL;
	return 0;
}

void lvs_pkt_csum_resolve(struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint32_t len = 0;
	uint16_t field, ps;
	int off;

	p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_UNKNOWN;
	if (pi->proto != IPPROTO_TCP && pi->proto != IPPROTO_UDP)
		return;
	off = l4_csum_where(p, &len);
	if (off < 0)
		return;
	memcpy(&field, p->data + pi->l4_off + off, 2);
	/* the folded, uncomplemented sum: never 0, so a UDP "no checksum"
	 * (0) never matches */
	ps = lvs_csum_fold(l4_pseudo(pi, len));
	if (field != ps)
		return;
	p->flags |= LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = pi->l4_off;
	p->csum_offset = (uint16_t)off;
}

/*
 * True when the checksum is right, or when it cannot or need not be judged:
 * the driver verified it, the frame is checksum-partial (a local sender's
 * frame, trusted as Linux does), a fragment (the checksum covers the
 * reassembled datagram), or a protocol without one we know.  An IPv4 UDP
 * checksum of 0 means "none" (RFC 768); over IPv6 it is invalid (RFC 8200
 * 8.1), as the Linux stack treats it by default.
 */
bool lvs_pkt_l4_csum_ok(const struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *l4;
	uint32_t len = 0;
	uint16_t field;
	int off;

	if (p->flags & (LVS_PKT_F_CSUM_VALID | LVS_PKT_F_CSUM_PARTIAL))
		return true;
	off = l4_csum_where(p, &len);
	if (off < 0)
		return true;
	l4 = p->data + pi->l4_off;
	if (pi->proto == IPPROTO_UDP) {
		memcpy(&field, l4 + off, 2);
		if (field == 0)
			return pi->af == AF_INET;
	}
	return lvs_csum_fold(lvs_csum_partial(l4, len, l4_pseudo(pi, len))) == 0xffff;
}
