/*
 * test_csum.c - checksum helpers against a byte-wise reference (RFC 1071),
 * incremental updates (RFC 1624) against full recomputation, pseudo-headers,
 * and the checksum-partial convention (Linux CHECKSUM_PARTIAL).
 */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"
#include "csum.h"
#include "pkt.h"

/* Straightforward reference: big-endian 16-bit words, odd byte padded. */
static uint32_t ref_sum(const uint8_t *b, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Host-order checksum value of a buffer (what must be stored, big-endian). */
static uint16_t ref_csum(const uint8_t *b, size_t len)
{
	return (uint16_t)~ref_sum(b, len, 0);
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_rfc1071_vector(void **state)
{
	(void)state;
	/* RFC 1071 section 3 example: the sum of these words is ddf2 */
	const uint8_t v[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint16_t f = lvs_csum_fold(lvs_csum_partial(v, sizeof(v), 0));

	assert_int_equal(ntohs(f), 0xddf2);
	assert_int_equal(ref_sum(v, sizeof(v), 0), 0xddf2);
}

static void test_ip4_header_vector(void **state)
{
	(void)state;
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint16_t c;

	/* well-known example header: checksum b861 */
	assert_int_equal(ref_csum(h, 20), 0xb861);
	c = lvs_ip4_hdr_csum(h, 20);
	assert_int_equal(ntohs(c), 0xb861);
	/* the field's current content must not matter */
	h[10] = 0x12;
	h[11] = 0x34;
	c = lvs_ip4_hdr_csum(h, 20);
	assert_int_equal(ntohs(c), 0xb861);
	memcpy(h + 10, &c, 2);
	assert_int_equal(lvs_csum_fold(lvs_csum_partial(h, 20, 0)), 0xffff);

	/* with options (ihl 6): two NOPs and EOLs */
	uint8_t o[24];
	memcpy(o, h, 20);
	o[0] = 0x46;
	o[20] = 1;
	o[21] = 1;
	o[22] = 0;
	o[23] = 0;
	put16(o + 10, 0);
	c = lvs_ip4_hdr_csum(o, 24);
	assert_int_equal(ntohs(c), ref_csum(o, 24));
}

static void test_partial_random(void **state)
{
	(void)state;
	uint8_t buf[600];
	size_t i, len, off;
	int n;

	for (n = 0; n < 2000; n++) {
		len = rnd() % 520;
		off = rnd() % 8; /* any alignment */
		for (i = 0; i < len; i++)
			buf[off + i] = (uint8_t)rnd();
		uint16_t got = ntohs(lvs_csum_fold(lvs_csum_partial(buf + off, len, 0)));
		uint32_t want = ref_sum(buf + off, len, 0);
		/* 0 and ffff are the same one's complement number */
		if (want == 0xffff && got == 0)
			got = 0xffff;
		assert_int_equal(got, want);

		/* chaining at an even split equals one pass */
		size_t cut = (len / 2) & ~(size_t)1;
		uint32_t s = lvs_csum_partial(buf + off, cut, 0);
		s = lvs_csum_partial(buf + off + cut, len - cut, s);
		assert_int_equal(lvs_csum_fold(s),
		                 lvs_csum_fold(lvs_csum_partial(buf + off, len, 0)));
	}
	/* all-ones data and a large carry-heavy buffer */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(lvs_csum_fold(lvs_csum_partial(buf, sizeof(buf), 0)), 0xffff);
	assert_int_equal(lvs_csum_finish(lvs_csum_partial(buf, sizeof(buf), 0)), 0);
	/* an initial sum is added in */
	assert_int_equal(lvs_csum_fold(lvs_csum_partial(buf, 0, 0x12345)), 0x2345 + 1);
}

static void test_fold(void **state)
{
	(void)state;
	assert_int_equal(lvs_csum_fold(0), 0);
	assert_int_equal(lvs_csum_fold(0xffff), 0xffff);
	assert_int_equal(lvs_csum_fold(0x10000), 1);
	assert_int_equal(lvs_csum_fold(0xffffffff), 0xffff);
	assert_int_equal(lvs_csum_fold(0x0001fffe), 0xffff);
	assert_int_equal(lvs_csum_finish(0x1234), (uint16_t)~0x1234);
}

/* A 64-byte block whose checksum lives at bytes 16-17. */
#define BLK 64
#define CS  16

static uint16_t blk_csum(uint8_t *b)
{
	uint8_t tmp[BLK];
	uint16_t c;

	memcpy(tmp, b, BLK);
	tmp[CS] = tmp[CS + 1] = 0;
	c = lvs_csum_finish(lvs_csum_partial(tmp, BLK, 0));
	return c;
}

static void test_replace_vs_recompute(void **state)
{
	(void)state;
	uint8_t b[BLK];
	uint16_t c, *field = (uint16_t *)(void *)(b + CS);
	int i, n;

	for (i = 0; i < BLK; i++)
		b[i] = (uint8_t)rnd();
	*field = blk_csum(b);
	for (n = 0; n < 5000; n++) {
		int kind = rnd() % 3;
		/* positions avoiding the checksum field, aligned as headers are */
		if (kind == 0) {
			uint16_t old, new_ = (uint16_t)rnd();
			int pos = 2 * (int)(rnd() % 8);
			if (rnd() % 16 == 0)
				new_ = 0;
			memcpy(&old, b + pos, 2);
			memcpy(b + pos, &new_, 2);
			lvs_csum_replace2(field, old, new_);
		} else if (kind == 1) {
			uint32_t old, new_ = rnd() << 8 ^ rnd();
			int pos = 20 + 4 * (int)(rnd() % 3);
			if (rnd() % 16 == 0)
				new_ = 0xffffffffu;
			memcpy(&old, b + pos, 4);
			memcpy(b + pos, &new_, 4);
			lvs_csum_replace4(field, old, new_);
		} else {
			union lvs_addr old, new_;
			int pos = 32 + 16 * (int)(rnd() % 2);
			for (i = 0; i < 16; i++)
				new_.b[i] = (uint8_t)rnd();
			memcpy(&old, b + pos, 16);
			memcpy(b + pos, &new_, 16);
			lvs_csum_replace16(field, &old, &new_);
		}
		c = blk_csum(b);
		assert_int_equal(*field, c);
		assert_int_equal(lvs_csum_fold(lvs_csum_partial(b, BLK, 0)), 0xffff);
	}
}

static void test_replace_identity(void **state)
{
	(void)state;
	uint16_t f = htons(0x1c46);
	union lvs_addr a = t_ip6("2001:db8::1"), z = t_ip6("2001:db8::99");

	lvs_csum_replace4(&f, t_ip4("10.0.0.1").ip4, t_ip4("10.0.0.1").ip4);
	assert_int_equal(ntohs(f), 0x1c46);
	lvs_csum_replace16(&f, &a, &z);
	assert_int_not_equal(ntohs(f), 0x1c46);
	lvs_csum_replace16(&f, &z, &a);
	assert_int_equal(ntohs(f), 0x1c46);
	lvs_csum_replace2(&f, htons(80), htons(8080));
	lvs_csum_replace2(&f, htons(8080), htons(80));
	assert_int_equal(ntohs(f), 0x1c46);
}

static void test_pseudo4(void **state)
{
	(void)state;
	uint8_t ph[12];
	union lvs_addr s = t_ip4("192.0.2.1"), d = t_ip4("198.51.100.77");
	uint32_t lens[] = {0, 8, 20, 1500, 65535};
	unsigned i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(ph, &s.ip4, 4);
		memcpy(ph + 4, &d.ip4, 4);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		put16(ph + 10, (uint16_t)lens[i]);
		uint16_t got =
		        ntohs(lvs_csum_fold(lvs_csum_pseudo4(s.ip4, d.ip4, IPPROTO_TCP, lens[i])));
		assert_int_equal(got, ref_sum(ph, 12, 0));
	}
}

static void test_pseudo6(void **state)
{
	(void)state;
	uint8_t ph[40];
	union lvs_addr s = t_ip6("2001:db8:ffff::1"), d = t_ip6("fe80::abcd:ef01:2345:6789");
	uint32_t lens[] = {8, 1280, 65535, 70000};
	unsigned i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(ph, s.b, 16);
		memcpy(ph + 16, d.b, 16);
		ph[32] = (uint8_t)(lens[i] >> 24);
		ph[33] = (uint8_t)(lens[i] >> 16);
		ph[34] = (uint8_t)(lens[i] >> 8);
		ph[35] = (uint8_t)lens[i];
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = IPPROTO_UDP;
		uint16_t got = ntohs(lvs_csum_fold(lvs_csum_pseudo6(&s, &d, IPPROTO_UDP, lens[i])));
		assert_int_equal(got, ref_sum(ph, 40, 0));
	}
}

/* ---- packets with a hand-filled lvs_pkt_info (no parser needed) ---- */

#define L3 14

/* IPv4 or IPv6 + TCP/UDP/ICMP(v6) with plen payload bytes; fills p->pi. */
static void mk_pkt(struct lvs_pkt *p, uint8_t *buf, int af, uint8_t proto, uint32_t plen,
                   const char *src, const char *dst)
{
	uint32_t l4hl = proto == IPPROTO_TCP ? 20 : 8, l3hl = af == AF_INET ? 20 : 40, i;
	uint8_t *l3 = buf + LVS_PKT_HEADROOM + L3, *l4 = l3 + l3hl;
	uint32_t l4len = l4hl + plen;

	lvs_pkt_init(p, buf, 4096, LVS_PKT_HEADROOM, L3 + l3hl + l4len);
	memset(p->data, 0, p->len);
	p->data[12] = af == AF_INET ? 0x08 : 0x86;
	p->data[13] = af == AF_INET ? 0x00 : 0xdd;
	p->pi.af = (uint8_t)af;
	p->pi.proto = proto;
	p->pi.l3_off = L3;
	p->pi.l3_len = (uint16_t)(l3hl + l4len);
	p->pi.l4_off = (uint16_t)(L3 + l3hl);
	p->pi.l4_len = (uint16_t)l4len;
	if (af == AF_INET) {
		p->pi.saddr = t_ip4(src);
		p->pi.daddr = t_ip4(dst);
		l3[0] = 0x45;
		put16(l3 + 2, (uint16_t)(20 + l4len));
		l3[8] = 64;
		l3[9] = proto;
		memcpy(l3 + 12, &p->pi.saddr.ip4, 4);
		memcpy(l3 + 16, &p->pi.daddr.ip4, 4);
		uint16_t c = lvs_ip4_hdr_csum(l3, 20);
		memcpy(l3 + 10, &c, 2);
	} else {
		p->pi.saddr = t_ip6(src);
		p->pi.daddr = t_ip6(dst);
		l3[0] = 0x60;
		put16(l3 + 4, (uint16_t)l4len);
		l3[6] = proto;
		l3[7] = 64;
		memcpy(l3 + 8, p->pi.saddr.b, 16);
		memcpy(l3 + 24, p->pi.daddr.b, 16);
	}
	put16(l4, 40000);
	put16(l4 + 2, 80);
	if (proto == IPPROTO_TCP)
		l4[12] = 0x50;
	if (proto == IPPROTO_UDP)
		put16(l4 + 4, (uint16_t)l4len);
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		l4[0] = proto == IPPROTO_ICMP ? 8 : 128;
	for (i = 0; i < plen; i++)
		l4[l4hl + i] = (uint8_t)rnd();
}

/* The expected checksum, computed independently with the reference sum over
 * an explicit pseudo-header. */
static uint16_t ref_l4(const struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint8_t tmp[4096 + 40];
	uint32_t n = 0, cs = pi->proto == IPPROTO_TCP ? 16 : pi->proto == IPPROTO_UDP ? 6 : 2;

	if (pi->proto != IPPROTO_ICMP) {
		if (pi->af == AF_INET) {
			memcpy(tmp, &pi->saddr.ip4, 4);
			memcpy(tmp + 4, &pi->daddr.ip4, 4);
			tmp[8] = 0;
			tmp[9] = pi->proto;
			put16(tmp + 10, pi->l4_len);
			n = 12;
		} else {
			memcpy(tmp, pi->saddr.b, 16);
			memcpy(tmp + 16, pi->daddr.b, 16);
			tmp[32] = tmp[33] = 0;
			put16(tmp + 34, pi->l4_len);
			tmp[36] = tmp[37] = tmp[38] = 0;
			tmp[39] = pi->proto;
			n = 40;
		}
	}
	memcpy(tmp + n, p->data + pi->l4_off, pi->l4_len);
	tmp[n + cs] = tmp[n + cs + 1] = 0;
	return ref_csum(tmp, n + pi->l4_len);
}

static uint8_t *l4_field(struct lvs_pkt *p)
{
	uint32_t cs = p->pi.proto == IPPROTO_TCP ? 16 : p->pi.proto == IPPROTO_UDP ? 6 : 2;
	return p->data + p->pi.l4_off + cs;
}

static void test_l4_complete_and_ok(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct lvs_pkt p;
	const struct {
		int af;
		uint8_t proto;
	} cases[] = {{AF_INET, IPPROTO_TCP},  {AF_INET, IPPROTO_UDP},  {AF_INET, IPPROTO_ICMP},
	             {AF_INET6, IPPROTO_TCP}, {AF_INET6, IPPROTO_UDP}, {AF_INET6, IPPROTO_ICMPV6}};
	unsigned i, plen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (plen = 0; plen < 80; plen += 7) {
			const char *s = cases[i].af == AF_INET ? "10.1.2.3" : "2001:db8::1";
			const char *d = cases[i].af == AF_INET ? "10.9.8.7" : "2001:db8:1::42";
			mk_pkt(&p, buf, cases[i].af, cases[i].proto, plen, s, d);
			put16(l4_field(&p), 0xbeef);
			assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
			uint16_t want = ref_l4(&p);
			if (want == 0 && cases[i].proto == IPPROTO_UDP)
				want = 0xffff;
			assert_int_equal(get16(l4_field(&p)), want);
			assert_true(lvs_pkt_l4_csum_ok(&p));
			/* any single-bit corruption is detected */
			p.data[p.pi.l4_off + p.pi.l4_len - 1] ^= 0x10;
			assert_false(lvs_pkt_l4_csum_ok(&p));
			/* ... unless the driver vouched for it */
			p.flags |= LVS_PKT_F_CSUM_VALID;
			assert_true(lvs_pkt_l4_csum_ok(&p));
		}
	}
}

static void test_l4_special_cases(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct lvs_pkt p;

	/* UDP checksum 0: "none" over IPv4, invalid over IPv6 */
	mk_pkt(&p, buf, AF_INET, IPPROTO_UDP, 10, "10.0.0.1", "10.0.0.2");
	put16(l4_field(&p), 0);
	assert_true(lvs_pkt_l4_csum_ok(&p));
	mk_pkt(&p, buf, AF_INET6, IPPROTO_UDP, 10, "2001:db8::1", "2001:db8::2");
	put16(l4_field(&p), 0);
	assert_false(lvs_pkt_l4_csum_ok(&p));

	/* a UDP datagram whose checksum computes to 0 is sent as ffff */
	mk_pkt(&p, buf, AF_INET, IPPROTO_UDP, 2, "10.0.0.1", "10.0.0.2");
	uint8_t *pl = p.data + p.pi.l4_off + 8;
	put16(pl, 0);
	uint16_t c0 = ref_l4(&p); /* ~sum with payload 0 */
	/* payload word w makes the sum ffff: sum0 + w = ffff, w = ~sum0 = c0 */
	put16(pl, c0);
	assert_int_equal(ref_l4(&p), 0);
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	assert_int_equal(get16(l4_field(&p)), 0xffff);
	assert_true(lvs_pkt_l4_csum_ok(&p));

	/* UDP length shorter than the datagram: only ulen bytes are covered */
	mk_pkt(&p, buf, AF_INET, IPPROTO_UDP, 12, "10.0.0.1", "10.0.0.2");
	put16(p.data + p.pi.l4_off + 4, 8 + 4);
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	uint16_t c = get16(l4_field(&p));
	p.data[p.pi.l4_off + 8 + 6] ^= 0xff; /* beyond ulen: not covered */
	assert_true(lvs_pkt_l4_csum_ok(&p));
	assert_int_equal(get16(l4_field(&p)), c);
	p.pi.l4_len = 8 + 4; /* the same sum as a plain 4-byte payload */
	assert_int_equal(ref_l4(&p), c);

	/* fragments and unknown protocols cannot be completed */
	mk_pkt(&p, buf, AF_INET, IPPROTO_TCP, 10, "10.0.0.1", "10.0.0.2");
	p.pi.frag = LVS_FRAG_FIRST;
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), -EINVAL);
	assert_true(lvs_pkt_l4_csum_ok(&p));
	p.pi.frag = LVS_FRAG_NONE;
	p.pi.proto = IPPROTO_GRE;
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), -EINVAL);
	p.pi.proto = IPPROTO_TCP;
	p.pi.l4_off = 0;
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), -EINVAL);
	/* lengths pointing past the frame are refused, not read */
	mk_pkt(&p, buf, AF_INET, IPPROTO_TCP, 10, "10.0.0.1", "10.0.0.2");
	p.pi.l4_len = (uint16_t)(p.len);
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), -EINVAL);
}

/*
 * What a NIC / the kernel does with a CHECKSUM_PARTIAL frame: sum from
 * csum_start to the end of the L4 data, field included, store the
 * complement at csum_start + csum_offset.
 */
static void driver_complete(struct lvs_pkt *p)
{
	uint8_t *l4 = p->data + p->csum_start;
	uint32_t len = p->pi.l3_off + p->pi.l3_len - p->csum_start;
	uint16_t c = (uint16_t)~ref_sum(l4, len, 0);

	put16(l4 + p->csum_offset, c);
}

/* Make p checksum-partial the way Linux does: field = ~csum_tcpudp_magic(),
 * i.e. the folded pseudo-header sum, not complemented. */
static void make_partial(struct lvs_pkt *p)
{
	uint32_t ps;
	uint16_t f;

	if (p->pi.af == AF_INET)
		ps = lvs_csum_pseudo4(p->pi.saddr.ip4, p->pi.daddr.ip4, p->pi.proto, p->pi.l4_len);
	else
		ps = lvs_csum_pseudo6(&p->pi.saddr, &p->pi.daddr, p->pi.proto, p->pi.l4_len);
	f = lvs_csum_fold(ps);
	memcpy(l4_field(p), &f, 2);
	p->flags |= LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = p->pi.l4_off;
	p->csum_offset = (uint16_t)(l4_field(p) - (p->data + p->pi.l4_off));
}

static void partial_roundtrip(int af, uint8_t proto, int n)
{
	static uint8_t buf[4096], save[4096];
	struct lvs_pkt p;
	const char *s = af == AF_INET ? "172.16.0.10" : "2001:db8:aaaa::10";
	const char *d = af == AF_INET ? "10.0.0.100" : "2001:db8:bbbb::100";
	int i;

	mk_pkt(&p, buf, af, proto, 33 + (uint32_t)n, s, d);
	make_partial(&p);
	assert_true(lvs_pkt_l4_csum_ok(&p)); /* partial frames are trusted */

	for (i = 0; i < n; i++) {
		/* the driver's completion of a copy equals a full recompute */
		memcpy(save, buf, sizeof(buf));
		driver_complete(&p);
		uint16_t by_driver = get16(l4_field(&p));
		assert_int_equal(by_driver, ref_l4(&p));
		memcpy(buf, save, sizeof(buf));
		assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
		assert_false(p.flags & LVS_PKT_F_CSUM_PARTIAL);
		assert_int_equal(get16(l4_field(&p)), by_driver);
		memcpy(buf, save, sizeof(buf));
		p.flags |= LVS_PKT_F_CSUM_PARTIAL;

		/* NAT-like rewrite of an address (pseudo-header only) and a port
		 * (L4 data: not in the partial field, the completion covers it) */
		uint8_t *l3 = p.data + p.pi.l3_off;
		uint16_t *field = (uint16_t *)(void *)l4_field(&p);
		if (af == AF_INET) {
			union lvs_addr na;
			lvs_addr_set4(&na, htonl(0x0a000000u | (rnd() & 0xffffff)));
			uint16_t ipc;
			memcpy(&ipc, l3 + 10, 2);
			lvs_csum_replace4(&ipc, p.pi.daddr.ip4, na.ip4);
			memcpy(l3 + 10, &ipc, 2);
			lvs_csum_partial_replace4(field, p.pi.daddr.ip4, na.ip4);
			p.pi.daddr = na;
			memcpy(l3 + 16, &na.ip4, 4);
			assert_int_equal(lvs_csum_fold(lvs_csum_partial(l3, 20, 0)), 0xffff);
		} else {
			union lvs_addr na = p.pi.saddr;
			na.w[3] = rnd();
			na.w[2] = rnd() << 4;
			lvs_csum_partial_replace16(field, &p.pi.saddr, &na);
			p.pi.saddr = na;
			memcpy(l3 + 8, na.b, 16);
		}
		put16(p.data + p.pi.l4_off + 2, (uint16_t)rnd());
		/* the field equals a fresh pseudo-header sum (as 0/ffff-equivalent) */
		uint16_t now = *field;
		make_partial(&p);
		uint16_t fresh = *field;
		*field = now;
		assert_int_equal(lvs_csum_fold((uint32_t)now + (uint16_t)~fresh) % 0xffff, 0);
	}
	/* and the last state completes correctly by both methods */
	memcpy(save, buf, sizeof(buf));
	driver_complete(&p);
	uint16_t by_driver = get16(l4_field(&p));
	assert_int_equal(by_driver, ref_l4(&p));
	memcpy(buf, save, sizeof(buf));
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	assert_int_equal(get16(l4_field(&p)), by_driver);
	p.flags = 0;
	assert_true(lvs_pkt_l4_csum_ok(&p));
}

/*
 * A frame whose driver cannot say whether the checksum is final (AF_XDP):
 * the parser takes a field equal to the pseudo-header sum as
 * checksum-partial, and completing it gives the right checksum; a final
 * checksum, a corrupt one and UDP's "none" stay as they are.
 */
static void csum_unknown(int af, uint8_t proto, uint32_t plen)
{
	static uint8_t buf[4096];
	const char *s = af == AF_INET ? "10.1.2.3" : "2001:db8::1";
	const char *d = af == AF_INET ? "10.9.8.7" : "2001:db8:1::42";
	struct lvs_pkt p;
	uint16_t good, pseudo;

	mk_pkt(&p, buf, af, proto, plen, s, d);
	good = ref_l4(&p);
	if (good == 0 && proto == IPPROTO_UDP)
		good = 0xffff;
	pseudo = lvs_csum_fold(af == AF_INET ? lvs_csum_pseudo4(p.pi.saddr.ip4, p.pi.daddr.ip4,
								 proto, p.pi.l4_len)
					     : lvs_csum_pseudo6(&p.pi.saddr, &p.pi.daddr, proto,
								p.pi.l4_len));

	/* checksum-partial, as a local sender's frame through XDP */
	memcpy(l4_field(&p), &pseudo, 2);
	p.flags = LVS_PKT_F_CSUM_UNKNOWN;
	assert_int_equal(lvs_pkt_parse(&p), LVS_DROP_NONE);
	assert_int_equal(p.flags, LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p.csum_start, p.pi.l4_off);
	assert_int_equal(p.csum_offset, proto == IPPROTO_TCP ? 16 : 6);
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	assert_int_equal(get16(l4_field(&p)), good);

	/* final: untouched, and still verifies */
	p.flags = LVS_PKT_F_CSUM_UNKNOWN;
	assert_int_equal(lvs_pkt_parse(&p), LVS_DROP_NONE);
	assert_int_equal(p.flags, 0);
	assert_true(lvs_pkt_l4_csum_ok(&p));

	/* corrupt: left for the receiver to refuse */
	put16(l4_field(&p), (uint16_t)(good ^ 0x0101));
	p.flags = LVS_PKT_F_CSUM_UNKNOWN;
	assert_int_equal(lvs_pkt_parse(&p), LVS_DROP_NONE);
	assert_int_equal(p.flags, 0);
	assert_false(lvs_pkt_l4_csum_ok(&p));

	if (af == AF_INET && proto == IPPROTO_UDP) {
		put16(l4_field(&p), 0);
		p.flags = LVS_PKT_F_CSUM_UNKNOWN;
		assert_int_equal(lvs_pkt_parse(&p), LVS_DROP_NONE);
		assert_int_equal(p.flags, 0);
		assert_int_equal(get16(l4_field(&p)), 0);
	}
}

static void test_csum_unknown(void **state)
{
	(void)state;
	for (uint32_t plen = 0; plen < 300; plen += 37) {
		csum_unknown(AF_INET, IPPROTO_TCP, plen);
		csum_unknown(AF_INET, IPPROTO_UDP, plen);
		csum_unknown(AF_INET6, IPPROTO_TCP, plen);
		csum_unknown(AF_INET6, IPPROTO_UDP, plen);
	}
}

static void test_partial_roundtrip(void **state)
{
	(void)state;
	partial_roundtrip(AF_INET, IPPROTO_TCP, 200);
	partial_roundtrip(AF_INET, IPPROTO_UDP, 200);
	partial_roundtrip(AF_INET6, IPPROTO_TCP, 200);
	partial_roundtrip(AF_INET6, IPPROTO_UDP, 200);
}

/* A full checksum updated with the normal replace functions for the same
 * NAT rewrite matches a full recompute (TCP over v4 and v6). */
static void test_full_nat_rewrite(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct lvs_pkt p;
	int n;

	mk_pkt(&p, buf, AF_INET, IPPROTO_TCP, 100, "192.0.2.1", "198.51.100.1");
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	for (n = 0; n < 500; n++) {
		uint16_t *f = (uint16_t *)(void *)l4_field(&p);
		uint32_t na = rnd() ^ rnd() << 16;
		uint16_t np = (uint16_t)rnd(), op;
		lvs_csum_replace4(f, p.pi.daddr.ip4, na);
		p.pi.daddr.ip4 = na;
		memcpy(&op, p.data + p.pi.l4_off + 2, 2);
		lvs_csum_replace2(f, op, np);
		memcpy(p.data + p.pi.l4_off + 2, &np, 2);
		assert_int_equal(get16(l4_field(&p)), ref_l4(&p));
		assert_true(lvs_pkt_l4_csum_ok(&p));
	}

	mk_pkt(&p, buf, AF_INET6, IPPROTO_TCP, 100, "2001:db8::1", "2001:db8::2");
	assert_int_equal(lvs_pkt_l4_csum_complete(&p), 0);
	for (n = 0; n < 500; n++) {
		uint16_t *f = (uint16_t *)(void *)l4_field(&p);
		union lvs_addr na;
		int i;
		for (i = 0; i < 16; i++)
			na.b[i] = (uint8_t)rnd();
		lvs_csum_replace16(f, &p.pi.daddr, &na);
		p.pi.daddr = na;
		assert_int_equal(get16(l4_field(&p)), ref_l4(&p));
	}
}

static void test_addr_str_parse(void **state)
{
	(void)state;
	union lvs_addr a;
	char buf[64];

	assert_int_equal(lvs_addr_parse(AF_INET, "10.1.2.3", &a), 0);
	assert_true(lvs_addr_eq(&a, &(union lvs_addr){.w = {htonl(0x0a010203), 0, 0, 0}}));
	assert_string_equal(lvs_addr_str(AF_INET, &a, buf, sizeof(buf)), "10.1.2.3");
	assert_int_equal(lvs_addr_parse(AF_INET6, "2001:DB8:0:0::1", &a), 0);
	assert_string_equal(lvs_addr_str(AF_INET6, &a, buf, sizeof(buf)), "2001:db8::1");
	union lvs_addr b = t_ip6("2001:db8::1");
	assert_true(lvs_addr_eq(&a, &b));

	union lvs_addr keep = a;
	assert_int_equal(lvs_addr_parse(AF_INET, "10.1.2", &a), -EINVAL);
	assert_int_equal(lvs_addr_parse(AF_INET, "2001:db8::1", &a), -EINVAL);
	assert_int_equal(lvs_addr_parse(AF_INET6, "10.0.0.1", &a), -EINVAL);
	assert_int_equal(lvs_addr_parse(AF_INET, "", &a), -EINVAL);
	assert_int_equal(lvs_addr_parse(AF_INET, NULL, &a), -EINVAL);
	assert_int_equal(lvs_addr_parse(12345, "10.0.0.1", &a), -EINVAL);
	assert_true(lvs_addr_eq(&a, &keep)); /* untouched on error */

	/* too-small buffers and unknown families still give a C string */
	a = t_ip4("255.255.255.255");
	assert_string_equal(lvs_addr_str(AF_INET, &a, buf, 4), "?");
	assert_string_equal(lvs_addr_str(AF_INET, &a, buf, 1), "");
	assert_string_equal(lvs_addr_str(99, &a, buf, sizeof(buf)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rfc1071_vector),
	        cmocka_unit_test(test_ip4_header_vector),
	        cmocka_unit_test(test_partial_random),
	        cmocka_unit_test(test_fold),
	        cmocka_unit_test(test_replace_vs_recompute),
	        cmocka_unit_test(test_replace_identity),
	        cmocka_unit_test(test_pseudo4),
	        cmocka_unit_test(test_pseudo6),
	        cmocka_unit_test(test_l4_complete_and_ok),
	        cmocka_unit_test(test_l4_special_cases),
	        cmocka_unit_test(test_partial_roundtrip),
	        cmocka_unit_test(test_csum_unknown),
	        cmocka_unit_test(test_full_nat_rewrite),
	        cmocka_unit_test(test_addr_str_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
