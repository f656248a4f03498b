/*
 * xmit_frames.h - shared by the transform tests (test_xmit.c,
 * test_xmit_icmp.c): reference checksums written independently of csum.c
 * (byte pairs, no tricks), a frame builder, a fake routing environment and
 * verifiers that check every checksum of a produced frame (recursing into
 * tunnels and ICMP quotes) and that p->pi equals what the parser reads from
 * it.  Functions are static inline so a test using only some of them
 * compiles warning-free.
 */
#ifndef LVS_TEST_XMIT_FRAMES_H
#define LVS_TEST_XMIT_FRAMES_H

#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "csum.h"
#include "model.h"
#include "pkt.h"
#include "xmit.h"

/* ------------------------------------------------------------------ */
/* reference checksums                                                */

static inline uint32_t r_sum(const uint8_t *b, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static inline uint16_t r_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static inline uint32_t r_pseudo(int af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                                uint32_t len)
{
	int al = af == AF_INET ? 4 : 16;
	uint32_t s = r_sum(src, al, 0);

	s = r_sum(dst, al, s);
	return s + proto + (len >> 16) + (len & 0xffff);
}

static inline void r_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint16_t r_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t r_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* bitwise CRC32c, the slow obvious way */
static inline uint32_t r_crc32c(const uint8_t *b, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *b++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
	}
	return ~c;
}

/* ------------------------------------------------------------------ */
/* addresses, MACs, the fake environment                              */

static const uint8_t MAC_US[6] = {2, 0, 0, 0, 0, 0xfe};
static const uint8_t MAC_PEER[6] = {2, 0, 0, 0, 0, 0xaa}; /* sender of rx frames */
static const uint8_t MAC_GW[6] = {2, 0, 0, 0, 0, 0xc1};   /* toward clients */
static const uint8_t MAC_RS1[6] = {2, 0, 0, 0, 1, 1};
static const uint8_t MAC_RS2[6] = {2, 0, 0, 0, 1, 2};

#define C4         "192.0.2.10"
#define V4         "192.0.2.100"
#define D4         "10.1.0.1"
#define D4_SMALL   "10.1.0.2" /* mtu 1400, vlan 42 */
#define D4_AGAIN   "10.1.0.99"
#define D4_UNREACH "10.1.0.98"
#define DIR4_IN    "10.1.0.254"
#define DIR4_OUT   "192.0.2.254"
#define C6         "2001:db8:c::10"
#define V6         "2001:db8:c::100"
#define D6         "2001:db8:1::1"
#define D6_SMALL   "2001:db8:1::2" /* mtu 1300 */
#define DIR6_IN    "2001:db8:1::fe"
#define DIR6_OUT   "2001:db8:c::fe"

struct route {
	int af;
	const char *addr; /* NULL: default of the family */
	const uint8_t *mac;
	uint32_t ifindex, mtu;
	uint16_t vlan;
	int err;
};

static const struct route routes[] = {
        {AF_INET, D4, MAC_RS1, 2, 1500, 0, 0},
        {AF_INET, D4_SMALL, MAC_RS2, 3, 1400, 42, 0},
        {AF_INET, D4_AGAIN, MAC_RS1, 2, 1500, 0, -EAGAIN},
        {AF_INET, D4_UNREACH, MAC_RS1, 2, 1500, 0, -EHOSTUNREACH},
        {AF_INET, NULL, MAC_GW, 1, 1500, 0, 0},
        {AF_INET6, D6, MAC_RS1, 2, 1500, 0, 0},
        {AF_INET6, D6_SMALL, MAC_RS2, 3, 1300, 0, 0},
        {AF_INET6, NULL, MAC_GW, 1, 1500, 0, 0},
};

struct fenv {
	bool no_src; /* src_addr fails */
	int nroute;  /* route() calls */
};

static inline union lvs_addr A(int af, const char *s) {
	return af == AF_INET ? t_ip4(s) : t_ip6(s);
}

static inline int
f_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	struct fenv *e = ctx;

	e->nroute++;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		union lvs_addr a;

		if (r->af != af)
			continue;
		if (r->addr) {
			a = A(af, r->addr);
			if (!lvs_addr_eq(&a, dst))
				continue;
		}
		if (r->err)
			return r->err;
		memcpy(nh->mac, r->mac, 6);
		memcpy(nh->src_mac, MAC_US, 6);
		nh->ifindex = r->ifindex;
		nh->mtu = r->mtu;
		nh->vlan_tci = r->vlan;
		return 0;
	}
	return -EHOSTUNREACH;
}

static inline int f_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	struct fenv *e = ctx;

	if (e->no_src)
		return -EADDRNOTAVAIL;
	if (af == AF_INET)
		*src = (ntohl(dst->ip4) >> 16) == 0x0a01 ? t_ip4(DIR4_IN) : t_ip4(DIR4_OUT);
	else
		*src = dst->b[5] == 0x01 ? t_ip6(DIR6_IN) : t_ip6(DIR6_OUT);
	return 0;
}

static struct fenv fe;
static struct lvs_xmit_env env = {.ctx = &fe, .route = f_route, .src_addr = f_src};

static bool vf_quote_full;

static inline int setup(void **state)
{
	(void)state;
	memset(&fe, 0, sizeof(fe));
	vf_quote_full = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* frame builder                                                      */

struct spec {
	int af;
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport; /* host order; ICMP echo: sport is the id */
	uint8_t ttl, tos;
	bool df;
	uint16_t plen; /* payload bytes after the L4 header */
	uint16_t vlan;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	bool udp_nocsum;
	bool partial; /* checksum-partial: field = pseudo-header sum */
	uint16_t ip_id;
	uint16_t frag_off; /* IPv4 fragment offset field (host order, incl. MF) */
};

static inline uint32_t l4_hlen(const struct spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_SCTP:
		return 12;
	default:
		return 8;
	}
}

/* Build the IP packet of s at ip; returns its length. */
static inline uint32_t build_ip(uint8_t *ip, const struct spec *s)
{
	bool v4 = s->af == AF_INET;
	uint32_t ihl = v4 ? 20 : 40, l4len = l4_hlen(s) + s->plen;
	union lvs_addr sa = A(s->af, s->src), da = A(s->af, s->dst);
	const uint8_t *sb = v4 ? (const uint8_t *)&sa.ip4 : sa.b;
	const uint8_t *db = v4 ? (const uint8_t *)&da.ip4 : da.b;
	uint8_t *l4 = ip + ihl;
	uint32_t i, cs = 0;
	int coff = -1;
	bool pseudo = true;

	memset(ip, 0, ihl + l4len);
	if (v4) {
		ip[0] = 0x45;
		ip[1] = s->tos;
		r_put16(ip + 2, (uint16_t)(ihl + l4len));
		r_put16(ip + 4, s->ip_id ? s->ip_id : 0x1234);
		r_put16(ip + 6, (uint16_t)((s->df ? 0x4000 : 0) | s->frag_off));
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, sb, 4);
		memcpy(ip + 16, db, 4);
		r_put16(ip + 10, (uint16_t)~r_fold(r_sum(ip, 20, 0)));
	} else {
		ip[0] = (uint8_t)(0x60 | s->tos >> 4);
		ip[1] = (uint8_t)(s->tos << 4 | 0x0a); /* flow label 0xa1234 */
		ip[2] = 0x12;
		ip[3] = 0x34;
		r_put16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, sb, 16);
		memcpy(ip + 24, db, 16);
	}
	for (i = l4_hlen(s); i < l4len; i++)
		l4[i] = (uint8_t)(i * 7 + 3);
	switch (s->proto) {
	case IPPROTO_TCP:
		r_put16(l4, s->sport);
		r_put16(l4 + 2, s->dport);
		r_put16(l4 + 4, 0x1111);
		r_put16(l4 + 6, 0x2222);
		l4[12] = 0x50;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		r_put16(l4 + 14, 0xffff);
		coff = 16;
		break;
	case IPPROTO_UDP:
		r_put16(l4, s->sport);
		r_put16(l4 + 2, s->dport);
		r_put16(l4 + 4, (uint16_t)l4len);
		coff = s->udp_nocsum ? -1 : 6;
		break;
	case IPPROTO_SCTP:
		r_put16(l4, s->sport);
		r_put16(l4 + 2, s->dport);
		r_put16(l4 + 4, 0xabcd);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		r_put16(l4 + 4, s->sport);
		r_put16(l4 + 6, 7);
		coff = 2;
		pseudo = s->proto == IPPROTO_ICMPV6;
		break;
	}
	if (s->proto == IPPROTO_SCTP) {
		uint32_t crc = r_crc32c(l4, l4len);
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
	}
	if (coff >= 0) {
		if (pseudo)
			cs = r_pseudo(s->af, sb, db, s->proto, l4len);
		if (s->partial) {
			r_put16(l4 + coff, r_fold(cs));
		} else {
			uint16_t c = (uint16_t)~r_fold(r_sum(l4, l4len, cs));
			if (c == 0 && s->proto == IPPROTO_UDP)
				c = 0xffff;
			r_put16(l4 + coff, c);
		}
	}
	return ihl + l4len;
}

#define BUFSZ    70000
#define HEADROOM 128

struct frame {
	uint8_t buf[BUFSZ];
	struct lvs_pkt p;
};

static struct frame fr;

/* Wrap an IP packet in Ethernet (+ VLAN) toward us and parse it. */
static inline struct lvs_pkt *frame_of_ip(struct frame *f, const uint8_t *ip, uint32_t iplen,
                                          uint16_t vlan)
{
	uint32_t l2 = vlan ? 18 : 14;
	uint8_t *d;

	memset(f->buf, 0x5a, sizeof(f->buf));
	lvs_pkt_init(&f->p, f->buf, sizeof(f->buf), HEADROOM, l2 + iplen);
	d = f->p.data;
	memcpy(d, MAC_US, 6);
	memcpy(d + 6, MAC_PEER, 6);
	if (vlan) {
		r_put16(d + 12, 0x8100);
		r_put16(d + 14, vlan);
	}
	r_put16(d + l2 - 2, (ip[0] >> 4) == 4 ? 0x0800 : 0x86dd);
	memmove(d + l2, ip, iplen);
	f->p.ifindex = 9;
	assert_int_equal(lvs_pkt_parse(&f->p), LVS_DROP_NONE);
	return &f->p;
}

static inline struct lvs_pkt *build(const struct spec *s)
{
	static uint8_t ip[66000];
	uint32_t n = build_ip(ip, s);
	struct lvs_pkt *p = frame_of_ip(&fr, ip, n, s->vlan);

	if (s->partial) {
		p->flags |= LVS_PKT_F_CSUM_PARTIAL;
		p->csum_start = p->pi.l4_off;
		p->csum_offset = s->proto == IPPROTO_TCP ? 16 : s->proto == IPPROTO_UDP ? 6 : 2;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* verification                                                       */

/* Verify every checksum of the IP packet at ip (recursing into tunnels);
 * quoted packets inside ICMP errors are checked when quote_full says the
 * quote is complete. */
static inline void verify_ip(const uint8_t *ip, uint32_t len, bool quote_full);

static inline void verify_l4(int af, const uint8_t *sb, const uint8_t *db, uint8_t proto,
                             const uint8_t *l4, uint32_t l4len, bool quote_full)
{
	uint32_t s;

	switch (proto) {
	case IPPROTO_TCP:
		s = r_sum(l4, l4len, r_pseudo(af, sb, db, proto, l4len));
		assert_int_equal(r_fold(s), 0xffff);
		break;
	case IPPROTO_UDP:
		if (r_get16(l4 + 6) == 0) {
			assert_int_equal(af, AF_INET);
		} else {
			s = r_sum(l4, l4len, r_pseudo(af, sb, db, proto, l4len));
			assert_int_equal(r_fold(s), 0xffff);
		}
		if (r_get16(l4 + 2) == 6080) { /* GUE */
			uint32_t gl = 4 + (l4[8] & 0x1f) * 4u;
			verify_ip(l4 + 8 + gl, l4len - 8 - gl, quote_full);
		}
		break;
	case IPPROTO_ICMP:
		assert_int_equal(r_fold(r_sum(l4, l4len, 0)), 0xffff);
		if ((l4[0] == 3 || l4[0] == 11) && quote_full)
			verify_ip(l4 + 8, l4len - 8, true);
		break;
	case IPPROTO_ICMPV6:
		s = r_sum(l4, l4len, r_pseudo(af, sb, db, proto, l4len));
		assert_int_equal(r_fold(s), 0xffff);
		if (l4[0] < 128 && quote_full)
			verify_ip(l4 + 8, l4len - 8, true);
		break;
	case IPPROTO_GRE:
		if (l4[0] & 0x80)
			assert_int_equal(r_fold(r_sum(l4, l4len, 0)), 0xffff);
		verify_ip(l4 + ((l4[0] & 0x80) ? 8 : 4), l4len - ((l4[0] & 0x80) ? 8 : 4),
		          quote_full);
		break;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		verify_ip(l4, l4len, quote_full);
		break;
	case IPPROTO_SCTP: {
		uint8_t tmp[2048];
		uint32_t crc;
		assert_true(l4len <= sizeof(tmp));
		memcpy(tmp, l4, l4len);
		memset(tmp + 8, 0, 4);
		crc = r_crc32c(tmp, l4len);
		assert_int_equal(l4[8] | l4[9] << 8 | l4[10] << 16 | (uint32_t)l4[11] << 24, crc);
		break;
	}
	}
}

static inline void verify_ip(const uint8_t *ip, uint32_t len, bool quote_full)
{
	if ((ip[0] >> 4) == 4) {
		uint32_t ihl = (ip[0] & 15) * 4u;
		assert_int_equal(r_fold(r_sum(ip, ihl, 0)), 0xffff);
		assert_int_equal(r_get16(ip + 2), len);
		verify_l4(AF_INET, ip + 12, ip + 16, ip[9], ip + ihl, len - ihl, quote_full);
	} else {
		assert_int_equal((ip[0] >> 4), 6);
		assert_int_equal(r_get16(ip + 4) + 40, len);
		verify_l4(AF_INET6, ip + 8, ip + 24, ip[6], ip + 40, len - 40, quote_full);
	}
}

/*
 * With LVS_TEST_PCAP=file every frame a transform produced and
 * verify_frame() accepted is also written to a pcap file, so tshark can
 * check the same frames with its own dissectors (not needed to pass).
 */
static inline void pcap_dump(const struct lvs_pkt *p)
{
	static FILE *out;
	static bool tried;
	uint32_t rec[4] = {0, 0, p->len, p->len};

	if (!tried) {
		const char *fn = getenv("LVS_TEST_PCAP");
		uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};

		tried = true;
		if (fn && (out = fopen(fn, "wb")))
			fwrite(gh, sizeof(gh), 1, out);
	}
	if (!out)
		return;
	fwrite(rec, sizeof(rec), 1, out);
	fwrite(p->data, p->len, 1, out);
	fflush(out);
}

/* false while checking errors whose quote is cut short (set in setup) */

/* The frame's L2 header, and the IP packet checksums. */
static inline void verify_frame(const struct lvs_pkt *p, const uint8_t *dmac, uint16_t vlan,
                                uint32_t ifindex)
{
	uint32_t l2 = vlan ? 18 : 14;

	assert_memory_equal(p->data, dmac, 6);
	assert_memory_equal(p->data + 6, MAC_US, 6);
	if (vlan) {
		assert_int_equal(r_get16(p->data + 12), 0x8100);
		assert_int_equal(r_get16(p->data + 14), vlan);
	}
	assert_int_equal(r_get16(p->data + l2 - 2), (p->data[l2] >> 4) == 4 ? 0x0800 : 0x86dd);
	assert_int_equal(p->pi.l3_off, l2);
	assert_int_equal(p->ifindex, ifindex);
	verify_ip(p->data + l2, p->len - l2, vf_quote_full);
	pcap_dump(p);
}

/* p->pi must be what the parser reads from the frame. */
static inline void verify_pi(const struct lvs_pkt *p)
{
	struct lvs_pkt q = *p;

	assert_int_equal(lvs_pkt_parse(&q), LVS_DROP_NONE);
	assert_int_equal(q.pi.l3_off, p->pi.l3_off);
	assert_int_equal(q.pi.l4_off, p->pi.l4_off);
	assert_int_equal(q.pi.l3_len, p->pi.l3_len);
	assert_int_equal(q.pi.l4_len, p->pi.l4_len);
	assert_int_equal(q.pi.af, p->pi.af);
	assert_int_equal(q.pi.proto, p->pi.proto);
	assert_int_equal(q.pi.ttl, p->pi.ttl);
	assert_int_equal(q.pi.sport, p->pi.sport);
	assert_int_equal(q.pi.dport, p->pi.dport);
	assert_memory_equal(&q.pi, &p->pi, sizeof(q.pi));
	assert_int_equal(p->len, p->pi.l3_off + p->pi.l3_len);
}

static inline struct lvs_flow flow4(uint8_t proto, uint8_t fwd)
{
	struct lvs_flow f;

	memset(&f, 0, sizeof(f));
	f.af = f.daf = AF_INET;
	f.proto = proto;
	f.fwd = fwd;
	f.caddr = t_ip4(C4);
	f.vaddr = t_ip4(V4);
	f.daddr = t_ip4(D4);
	f.cport = htons(40000);
	f.vport = htons(80);
	f.dport = htons(8080);
	return f;
}

static inline struct lvs_flow flow6(uint8_t proto, uint8_t fwd)
{
	struct lvs_flow f = flow4(proto, fwd);

	f.af = f.daf = AF_INET6;
	f.caddr = t_ip6(C6);
	f.vaddr = t_ip6(V6);
	f.daddr = t_ip6(D6);
	return f;
}

static inline const uint8_t *addr_bytes(int af, const union lvs_addr *a)
{
	return af == AF_INET ? (const uint8_t *)&a->ip4 : a->b;
}

static inline void assert_ip_addrs(const struct lvs_pkt *p, const char *src, const char *dst)
{
	const uint8_t *ip = p->data + p->pi.l3_off;
	int af = (ip[0] >> 4) == 4 ? AF_INET : AF_INET6;
	union lvs_addr s = A(af, src), d = A(af, dst);

	assert_memory_equal(ip + (af == AF_INET ? 12 : 8), addr_bytes(af, &s),
	                    af == AF_INET ? 4 : 16);
	assert_memory_equal(ip + (af == AF_INET ? 16 : 24), addr_bytes(af, &d),
	                    af == AF_INET ? 4 : 16);
	assert_true(lvs_addr_eq(&p->pi.saddr, &s));
	assert_true(lvs_addr_eq(&p->pi.daddr, &d));
}

#endif
