/*
 * io_sw.c - software checksum completion and segmentation (GSO), for what
 * the kernel cannot or must not finish on transmit.
 *
 * A checksum-partial frame (the kernel's CHECKSUM_PARTIAL, virtio
 * VIRTIO_NET_HDR_F_NEEDS_CSUM) holds the pseudo-header sum in its L4
 * checksum field; completing it is what a NIC does: sum from csum_start to
 * the end of the datagram and store the complement (RFC 1071).
 *
 * Segmentation follows what Linux's TCP GSO / UDP GSO produce (and what a
 * TSO NIC does): every segment repeats all headers; the TCP sequence
 * number advances by the payload already sent; FIN and PSH stay on the
 * last segment, CWR on the first (RFC 3168 6.1.2); each IPv4 header's id
 * is the original plus the segment index; lengths and checksums are
 * recomputed per segment at every layer: the transport header, then each
 * enclosing header from the inside out (tunnel UDP and GRE checksums
 * cover the inner headers, RFC 768 / RFC 2784).  With GUE remote checksum
 * offload (draft-herbert-remotecsumoffload) the inner checksum stays the
 * pseudo-header sum and the receiver completes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "csum.h"
#include "io.h"

#define SW_MAX_LAYERS 8

enum sw_kind { SW_IP4, SW_IP6, SW_UDP, SW_GRE };

struct sw_layer {
	uint8_t kind;
	uint16_t off;
};

/* The headers in front of the transport header a frame's offload targets. */
struct sw_walk {
	struct sw_layer l[SW_MAX_LAYERS];
	unsigned n;
	uint32_t l4_off;  /* == csum_start */
	uint8_t l4_proto;
	uint32_t l4_hlen; /* TCP data offset or 8 for UDP */
	uint32_t end;     /* end of the outermost IP datagram */
	bool remcsum;     /* GUE remote checksum offload present */
	bool tunnel;      /* more than one IP header */
};

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void wr32(uint8_t *b, uint32_t v)
{
	wr16(b, (uint16_t)(v >> 16));
	wr16(b + 2, (uint16_t)v);
}

static int sw_push(struct sw_walk *w, uint8_t kind, uint32_t off)
{
	if (w->n == SW_MAX_LAYERS)
		return -EINVAL;
	w->l[w->n].kind = kind;
	w->l[w->n].off = (uint16_t)off;
	w->n++;
	return 0;
}

/*
 * Walk the headers from the Ethernet header to the transport header at
 * `target` (csum_start).  Fails with -EINVAL on anything it does not know
 * how to redo per segment.
 */
static int sw_walk(const uint8_t *d, uint32_t len, uint32_t target, struct sw_walk *w)
{
	uint32_t off = 14, nip = 0;
	uint16_t et;
	uint8_t proto = 0;

	memset(w, 0, sizeof(*w));
	if (len < 14)
		return -EINVAL;
	et = rd16(d + 12);
	while (et == 0x8100 || et == 0x88a8) {
		if (off + 4 > len)
			return -EINVAL;
		et = rd16(d + off + 2);
		off += 4;
	}
	if (et == 0x0800)
		proto = 4;
	else if (et == 0x86dd)
		proto = 41;
	else
		return -EINVAL;

	for (;;) {
		if (off > target)
			return -EINVAL;
		if (off == target && proto != 4 && proto != 41) {
			if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
				return -EINVAL;
			w->l4_off = off;
			w->l4_proto = proto;
			if (proto == IPPROTO_TCP) {
				if (off + 20 > len)
					return -EINVAL;
				w->l4_hlen = (uint32_t)(d[off + 12] >> 4) * 4;
				if (w->l4_hlen < 20 || off + w->l4_hlen > len)
					return -EINVAL;
			} else {
				if (off + 8 > len)
					return -EINVAL;
				w->l4_hlen = 8;
			}
			break;
		}
		switch (proto) {
		case 4: { /* IPv4 */
			uint32_t ihl, tot;

			if (off + 20 > len || (d[off] >> 4) != 4)
				return -EINVAL;
			ihl = (uint32_t)(d[off] & 15) * 4;
			tot = rd16(d + off + 2);
			if (ihl < 20 || off + ihl > len || tot < ihl || off + tot > len)
				return -EINVAL;
			if (rd16(d + off + 6) & 0x3fff) /* a fragment */
				return -EINVAL;
			if (!w->end)
				w->end = off + tot;
			if (sw_push(w, SW_IP4, off))
				return -EINVAL;
			nip++;
			proto = d[off + 9];
			off += ihl;
			break;
		}
		case 41: { /* IPv6, with hop-by-hop / routing / destination options */
			uint32_t plen;

			if (off + 40 > len || (d[off] >> 4) != 6)
				return -EINVAL;
			plen = rd16(d + off + 4);
			if (off + 40 + plen > len)
				return -EINVAL;
			if (!w->end)
				w->end = off + 40 + plen;
			if (sw_push(w, SW_IP6, off))
				return -EINVAL;
			nip++;
			proto = d[off + 6];
			off += 40;
			while (proto == 0 || proto == 43 || proto == 60) {
				if (off + 8 > len)
					return -EINVAL;
				proto = d[off];
				off += ((uint32_t)d[off + 1] + 1) * 8;
			}
			break;
		}
		case IPPROTO_GRE: {
			uint16_t fl, pt;
			uint32_t gl = 4;

			if (off + 4 > len)
				return -EINVAL;
			fl = rd16(d + off);
			pt = rd16(d + off + 2);
			if (fl & 0x4fff) /* routing, version: not ours */
				return -EINVAL;
			gl += (fl & 0x8000) ? 4 : 0;
			gl += (fl & 0x2000) ? 4 : 0;
			gl += (fl & 0x1000) ? 4 : 0;
			if (sw_push(w, SW_GRE, off))
				return -EINVAL;
			off += gl;
			if (pt == 0x0800)
				proto = 4;
			else if (pt == 0x86dd)
				proto = 41;
			else
				return -EINVAL;
			break;
		}
		case IPPROTO_UDP: { /* a UDP tunnel in front of the target: GUE */
			const uint8_t *g = d + off + 8;
			uint32_t hl;

			if (off + 12 > len)
				return -EINVAL;
			if (sw_push(w, SW_UDP, off))
				return -EINVAL;
			if ((g[0] >> 6) == 1) { /* GUE variant 1: the IP header follows */
				proto = (g[0] >> 4) == 4 ? 4 : 41;
				off += 8;
				break;
			}
			if (g[0] >> 6) /* variant 2, 3: unknown */
				return -EINVAL;
			if (g[0] & 0x20) /* control message */
				return -EINVAL;
			hl = 4 + (uint32_t)(g[0] & 0x1f) * 4;
			if (off + 8 + hl > len)
				return -EINVAL;
			/* the private flags word follows the standard one (flag 0x0001);
			 * remote checksum offload is its first bit */
			if ((rd16(g + 2) & 0x0001) && hl >= 8 && (rd32(g + 4) & 0x80000000u))
				w->remcsum = true;
			proto = g[1];
			if (proto != 4 && proto != 41)
				return -EINVAL;
			off += 8 + hl;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	w->tunnel = nip > 1;
	if (w->end > len || w->end < w->l4_off + w->l4_hlen)
		return -EINVAL;
	return 0;
}

int lvs_io_sw_csum(struct lvs_pkt *p)
{
	uint32_t end = p->len, fo = (uint32_t)p->csum_start + p->csum_offset;
	struct sw_walk w;
	uint16_t c;

	/* The walk finds the datagram's end (Ethernet padding is not summed);
	 * without it, sum to the end of the frame as a NIC would. */
	if (sw_walk(p->data, p->len, p->csum_start, &w) == 0)
		end = w.end;
	if (p->csum_start >= end || fo + 2 > end)
		return -EINVAL;
	c = lvs_csum_finish(lvs_csum_partial(p->data + p->csum_start, end - p->csum_start, 0));
	/* RFC 768: a computed zero is sent as all ones (UDP's "no checksum") */
	if (c == 0 && w.l4_proto == IPPROTO_UDP && p->csum_offset == 6)
		c = 0xffff;
	memcpy(p->data + fo, &c, 2);
	p->flags &= ~(uint32_t)LVS_PKT_F_CSUM_PARTIAL;
	return 0;
}

bool lvs_io_kernel_can_offload(const struct lvs_pkt *p)
{
	struct sw_walk w;
	uint8_t t = (uint8_t)(p->gso_type & ~VIRTIO_NET_HDR_GSO_ECN);

	if (!p->gso_size)
		return true; /* a checksum at csum_start: any layout */
	if (sw_walk(p->data, p->len, p->csum_start, &w) || w.tunnel || w.n != 1)
		return false;
	switch (t) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return w.l[0].kind == SW_IP4 && w.l4_proto == IPPROTO_TCP;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return w.l[0].kind == SW_IP6 && w.l4_proto == IPPROTO_TCP;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return w.l4_proto == IPPROTO_UDP;
	default:
		return false;
	}
}

/* Pseudo-header sum for a checksum at `off` covering len bytes, from the
 * nearest enclosing IP header (layer index < k). */
static uint32_t sw_pseudo(const uint8_t *d, const struct sw_walk *w, int k, uint8_t proto,
			  uint32_t len)
{
	for (int i = k - 1; i >= 0; i--) {
		const uint8_t *ip = d + w->l[i].off;
		union lvs_addr s, t;

		if (w->l[i].kind == SW_IP4) {
			uint32_t a, b;
			memcpy(&a, ip + 12, 4);
			memcpy(&b, ip + 16, 4);
			return lvs_csum_pseudo4(a, b, proto, len);
		}
		if (w->l[i].kind == SW_IP6) {
			memcpy(s.b, ip + 8, 16);
			memcpy(t.b, ip + 24, 16);
			return lvs_csum_pseudo6(&s, &t, proto, len);
		}
	}
	return 0;
}

static bool sw_enclosed_by_ip6(const struct sw_walk *w, int k)
{
	for (int i = k - 1; i >= 0; i--)
		if (w->l[i].kind == SW_IP4 || w->l[i].kind == SW_IP6)
			return w->l[i].kind == SW_IP6;
	return false;
}

/* Fix every header of one segment d[0 .. seglen) built from walk w. */
static void sw_fix_segment(uint8_t *d, uint32_t seglen, const struct sw_walk *w, unsigned idx,
			   unsigned nseg, uint32_t seq_add)
{
	uint8_t *l4 = d + w->l4_off;
	uint32_t l4len = seglen - w->l4_off;
	int k = (int)w->n;
	uint16_t c;

	if (w->l4_proto == IPPROTO_TCP) {
		wr32(l4 + 4, rd32(l4 + 4) + seq_add);
		if (idx + 1 < nseg)
			l4[13] &= (uint8_t)~0x09; /* FIN, PSH only on the last */
		if (idx > 0)
			l4[13] &= (uint8_t)~0x80; /* CWR only on the first */
		wr16(l4 + 16, 0);
		if (w->remcsum) {
			c = lvs_csum_fold(sw_pseudo(d, w, k, IPPROTO_TCP, l4len));
		} else {
			c = lvs_csum_finish(
				lvs_csum_partial(l4, l4len, sw_pseudo(d, w, k, IPPROTO_TCP, l4len)));
		}
		memcpy(l4 + 16, &c, 2);
	} else {
		wr16(l4 + 4, (uint16_t)l4len);
		wr16(l4 + 6, 0);
		c = lvs_csum_finish(lvs_csum_partial(l4, l4len, sw_pseudo(d, w, k, IPPROTO_UDP, l4len)));
		if (w->remcsum)
			c = lvs_csum_fold(sw_pseudo(d, w, k, IPPROTO_UDP, l4len));
		else if (c == 0)
			c = 0xffff;
		memcpy(l4 + 6, &c, 2);
	}

	for (k = (int)w->n - 1; k >= 0; k--) {
		uint8_t *h = d + w->l[k].off;
		uint32_t rest = seglen - w->l[k].off;

		switch (w->l[k].kind) {
		case SW_IP4:
			wr16(h + 2, (uint16_t)rest);
			wr16(h + 4, (uint16_t)(rd16(h + 4) + idx));
			wr16(h + 10, 0);
			c = lvs_ip4_hdr_csum(h, (size_t)(h[0] & 15) * 4);
			memcpy(h + 10, &c, 2);
			break;
		case SW_IP6:
			wr16(h + 4, (uint16_t)(rest - 40));
			break;
		case SW_UDP: {
			uint16_t old;
			memcpy(&old, h + 6, 2);
			wr16(h + 4, (uint16_t)rest);
			/* a zero checksum over IPv4 means none (RFC 768): keep it so */
			if (old == 0 && !sw_enclosed_by_ip6(w, k))
				break;
			wr16(h + 6, 0);
			c = lvs_csum_finish(
				lvs_csum_partial(h, rest, sw_pseudo(d, w, k, IPPROTO_UDP, rest)));
			if (c == 0)
				c = 0xffff;
			memcpy(h + 6, &c, 2);
			break;
		}
		case SW_GRE:
			if (rd16(h) & 0x8000) {
				wr32(h + 4, 0);
				c = lvs_csum_finish(lvs_csum_partial(h, rest, 0));
				memcpy(h + 4, &c, 2);
			}
			break;
		}
	}
}

int lvs_io_sw_segment(const struct lvs_pkt *p, uint8_t *out, size_t cap, struct lvs_pkt *segs,
		      unsigned max_segs)
{
	uint8_t t = (uint8_t)(p->gso_type & ~VIRTIO_NET_HDR_GSO_ECN);
	uint32_t hlen, payload, mss = p->gso_size, nseg, pos = 0;
	struct sw_walk w;

	if (!mss || sw_walk(p->data, p->len, p->csum_start, &w))
		return -EINVAL;
	if (t == VIRTIO_NET_HDR_GSO_TCPV4 || t == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (w.l4_proto != IPPROTO_TCP)
			return -EINVAL;
	} else if (t == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if (w.l4_proto != IPPROTO_UDP)
			return -EINVAL;
	} else {
		return -EINVAL; /* UFO (IP fragmentation) and unknown types */
	}
	hlen = w.l4_off + w.l4_hlen;
	payload = w.end - hlen;
	nseg = payload ? (payload + mss - 1) / mss : 1;
	if (nseg > max_segs || (uint64_t)nseg * hlen + payload > cap)
		return -ENOBUFS;
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t plen = payload - i * mss < mss ? payload - i * mss : mss;
		uint8_t *d = out + pos;

		memcpy(d, p->data, hlen);
		memcpy(d + hlen, p->data + hlen + i * mss, plen);
		sw_fix_segment(d, hlen + plen, &w, i, nseg, i * mss);
		memset(&segs[i], 0, sizeof(segs[i]));
		segs[i].data = d;
		segs[i].len = hlen + plen;
		segs[i].ifindex = p->ifindex;
		segs[i].pi.eth_type = p->pi.eth_type;
		pos += hlen + plen;
	}
	return (int)nseg;
}

/*
 * lvs_io_sw_gso_guess (io.h).  A TCP frame larger than the interface's
 * MTU can only be a GSO super-frame (a sender's TSO, or GRO before a
 * program in generic XDP mode; XDP does not carry the kernel's GSO
 * fields): it is flagged as one, segmented at the MTU's MSS, with the
 * checksum made partial (the field holds the pseudo-header sum over the
 * whole frame, as the kernel has it for a TSO frame), since segmenting
 * computes every segment's checksum anyway.  Anything else larger than
 * the MTU is left to the core (a drop or an ICMP error, as for any frame
 * too big).
 */
bool lvs_io_sw_gso_guess(struct lvs_pkt *p, uint32_t mtu)
{
	uint8_t *d = p->data, *l3;
	uint32_t l2 = 14, l3len, l4len, iphl, ps;
	uint16_t type, thl, field;
	uint8_t proto;

	if (p->len < 14)
		return false;
	type = (uint16_t)(d[12] << 8 | d[13]);
	if (type == 0x8100 || type == 0x88a8) {
		if (p->len < 18)
			return false;
		type = (uint16_t)(d[16] << 8 | d[17]);
		l2 = 18;
	}
	l3 = d + l2;
	l3len = p->len - l2;
	if (l3len <= mtu)
		return false;
	if (type == 0x0800 && l3len >= 20 && (l3[0] >> 4) == 4) {
		uint32_t sa, da;

		iphl = (l3[0] & 0x0f) * 4u;
		proto = l3[9];
		if (iphl < 20 || l3len < iphl + 20 || (l3[6] & 0x3f) || l3[7])
			return false; /* a fragment, or too short */
		l4len = l3len - iphl;
		memcpy(&sa, l3 + 12, 4);
		memcpy(&da, l3 + 16, 4);
		ps = lvs_csum_pseudo4(sa, da, IPPROTO_TCP, l4len);
		p->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	} else if (type == 0x86dd && l3len >= 60 && (l3[0] >> 4) == 6) {
		union lvs_addr sa, da;

		iphl = 40;
		proto = l3[6];
		l4len = l3len - iphl;
		memcpy(&sa, l3 + 8, 16);
		memcpy(&da, l3 + 24, 16);
		ps = lvs_csum_pseudo6(&sa, &da, IPPROTO_TCP, l4len);
		p->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	} else {
		return false;
	}
	thl = (uint16_t)((l3[iphl + 12] >> 4) * 4);
	if (proto != IPPROTO_TCP || thl < 20 || l4len < thl || mtu <= iphl + thl) {
		p->gso_type = 0;
		return false;
	}
	field = lvs_csum_fold(ps);
	memcpy(l3 + iphl + 16, &field, 2);
	p->flags = LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = (uint16_t)(l2 + iphl);
	p->csum_offset = 16;
	p->gso_size = (uint16_t)(mtu - iphl - thl);
	return true;
}
