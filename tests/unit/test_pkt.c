/*
 * test_pkt.c - the frame parser: good frames of every shape it knows, one
 * frame per drop reason, truncation at every length and random corruption
 * (each parse runs on a heap copy of exactly the frame's length, so ASan
 * catches any read past the end), the ICMP quote parser, push/pull.
 */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"
#include "csum.h"
#include "pkt.h"

/* ---------------------------------------------------------------- builder */

struct frame {
	uint8_t b[2048];
	uint32_t len;
	uint32_t l3;     /* IP header offset */
	uint32_t nh_pos; /* byte that names the next header (v4 proto / v6 nh) */
	uint32_t l4;     /* offset of what follows the IP header chain */
	int af;
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static uint8_t *f_put(struct frame *f, const void *src, uint32_t n)
{
	uint8_t *d = f->b + f->len;
	if (src)
		memcpy(d, src, n);
	else
		memset(d, 0, n);
	f->len += n;
	return d;
}

/* Ethernet with nvlan tags (outer 802.1ad tci 100, inner 802.1Q tci 200,
 * a third 802.1Q tci 300). */
static void f_eth(struct frame *f, int nvlan, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	static const uint16_t tpid[3] = {0x88a8, 0x8100, 0x8100};
	static const uint16_t tci[3] = {100, 200, 300};
	int i;

	memset(f, 0, sizeof(*f));
	f_put(f, macs, 12);
	for (i = 0; i < nvlan; i++) {
		uint8_t *t = f_put(f, NULL, 4);
		put16(t, tpid[i]);
		put16(t + 2, tci[i]);
	}
	put16(f_put(f, NULL, 2), type);
}

/* IPv4 header with options (olen multiple of 4) and the frag field. */
static void f_ip4(struct frame *f, const char *s, const char *d, const uint8_t *opt, uint32_t olen,
                  uint16_t frag)
{
	union lvs_addr sa = t_ip4(s), da = t_ip4(d);
	uint8_t *h;

	f->af = AF_INET;
	f->l3 = f->len;
	h = f_put(f, NULL, 20);
	h[0] = (uint8_t)(0x40 | ((20 + olen) / 4));
	put16(h + 4, 0x1234);
	put16(h + 6, frag);
	h[8] = 64;
	memcpy(h + 12, &sa.ip4, 4);
	memcpy(h + 16, &da.ip4, 4);
	if (olen)
		f_put(f, opt, olen);
	f->nh_pos = f->l3 + 9;
	f->l4 = f->len;
}

static void f_ip6(struct frame *f, const char *s, const char *d)
{
	union lvs_addr sa = t_ip6(s), da = t_ip6(d);
	uint8_t *h;

	f->af = AF_INET6;
	f->l3 = f->len;
	h = f_put(f, NULL, 40);
	h[0] = 0x60;
	h[7] = 64;
	memcpy(h + 8, sa.b, 16);
	memcpy(h + 24, da.b, 16);
	f->nh_pos = f->l3 + 6;
	f->l4 = f->len;
}

/* Chain an IPv6 extension header of `type` and total size len. */
static uint8_t *f_ext6(struct frame *f, uint8_t type, uint32_t len)
{
	uint8_t *e;

	f->b[f->nh_pos] = type;
	f->nh_pos = f->len;
	e = f_put(f, NULL, len);
	if (type == 51)
		e[1] = (uint8_t)(len / 4 - 2);
	else if (type != 44)
		e[1] = (uint8_t)(len / 8 - 1);
	f->l4 = f->len;
	return e;
}

static void f_frag6(struct frame *f, uint16_t off, bool more, uint32_t id)
{
	uint8_t *e = f_ext6(f, 44, 8);
	put16(e + 2, (uint16_t)(off | (more ? 1 : 0)));
	put32(e + 4, id);
}

/* Name the final protocol and start its header. */
static uint8_t *f_l4(struct frame *f, uint8_t proto, uint32_t hlen)
{
	f->b[f->nh_pos] = proto;
	f->l4 = f->len;
	return f_put(f, NULL, hlen);
}

static void f_tcp(struct frame *f, uint16_t sp, uint16_t dp, uint8_t flags, uint32_t payload)
{
	uint8_t *t = f_l4(f, IPPROTO_TCP, 20);
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, 1000);
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 65535);
	f_put(f, NULL, payload);
}

static void f_udp(struct frame *f, uint16_t sp, uint16_t dp, uint32_t payload)
{
	uint8_t *u = f_l4(f, IPPROTO_UDP, 8);
	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, (uint16_t)(8 + payload));
	f_put(f, NULL, payload);
}

static void f_icmp(struct frame *f, uint8_t proto, uint8_t type, uint8_t code, uint16_t id)
{
	uint8_t *c = f_l4(f, proto, 8);
	c[0] = type;
	c[1] = code;
	put16(c + 4, id);
	put16(c + 6, 1);
}

/* Fix the IP length fields and the IPv4 header checksum; fin_ip at `end`
 * for datagrams that are followed by padding. */
static void f_fin_at(struct frame *f, uint32_t end)
{
	uint8_t *h = f->b + f->l3;

	if (f->af == AF_INET) {
		uint16_t c;
		put16(h + 2, (uint16_t)(end - f->l3));
		put16(h + 10, 0);
		c = lvs_ip4_hdr_csum(h, (h[0] & 0xf) * 4u);
		memcpy(h + 10, &c, 2);
	} else {
		put16(h + 4, (uint16_t)(end - f->l3 - 40));
	}
}

static void f_fin(struct frame *f)
{
	f_fin_at(f, f->len);
}

/* Re-do the IPv4 header checksum after a test edited the header. */
static void f_rehdr(struct frame *f)
{
	uint8_t *h = f->b + f->l3;
	uint16_t c = lvs_ip4_hdr_csum(h, (h[0] & 0xf) * 4u);
	memcpy(h + 10, &c, 2);
}

/* ---------------------------------------------------------------- parsing */

static uint8_t *heap;
static struct lvs_pkt P;

/*
 * Parse len bytes of b from a heap buffer of exactly headroom + len bytes,
 * so an over-read is an ASan error.  Also exercises the quote parser and the
 * checksum verifier on whatever parsed.
 */
static enum lvs_drop parse_n(const uint8_t *b, uint32_t len)
{
	enum lvs_drop r;

	free(heap);
	heap = malloc(LVS_PKT_HEADROOM + len + 1);
	assert_non_null(heap);
	memcpy(heap + LVS_PKT_HEADROOM, b, len);
	lvs_pkt_init(&P, heap, LVS_PKT_HEADROOM + len, LVS_PKT_HEADROOM, len);
	r = lvs_pkt_parse(&P);
	if (r == LVS_DROP_NONE) {
		struct lvs_pkt_info in;
		const struct lvs_pkt_info *pi = &P.pi;
		/* consistency of what it reported */
		if (pi->af) {
			assert_true(pi->l3_off + pi->l3_len <= len);
			if (pi->l4_off) {
				assert_true(pi->l4_off > pi->l3_off);
				assert_int_equal(pi->l4_off + pi->l4_len, pi->l3_off + pi->l3_len);
			} else {
				assert_int_equal(pi->sport, 0);
				assert_int_equal(pi->l4_len, 0);
			}
		}
		if (lvs_pkt_parse_icmp_inner(&P, &in) == LVS_DROP_NONE) {
			assert_true(in.l3_off > pi->l4_off);
			assert_true(in.l4_off + in.l4_len <= pi->l3_off + pi->l3_len);
		}
		(void)lvs_pkt_l4_csum_ok(&P);
	}
	return r;
}

static enum lvs_drop parse_f(const struct frame *f)
{
	return parse_n(f->b, f->len);
}

/* Every strict prefix of a frame with no padding is rejected (or is non-IP),
 * without reading out of bounds. */
static void truncations(const struct frame *f)
{
	uint32_t n;

	for (n = 0; n < f->len; n++) {
		enum lvs_drop r = parse_n(f->b, n);
		assert_true(r != LVS_DROP_NONE || P.pi.af == 0);
	}
	assert_int_equal(parse_f(f), LVS_DROP_NONE);
}

static int teardown(void **state)
{
	(void)state;
	free(heap);
	heap = NULL;
	return 0;
}

static void assert_addr(const union lvs_addr *a, union lvs_addr want)
{
	assert_true(lvs_addr_eq(a, &want));
}

/* -------------------------------------------------------------- good ones */

static void test_tcp4(void **state)
{
	(void)state;
	struct frame f;

	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "192.0.2.10", "10.0.0.1", NULL, 0, 0x4000);
	f_tcp(&f, 43210, 80, 0x02, 5);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	const struct lvs_pkt_info *pi = &P.pi;
	assert_int_equal(pi->af, AF_INET);
	assert_int_equal(pi->eth_type, 0x0800);
	assert_int_equal(pi->nr_vlan, 0);
	assert_int_equal(pi->l3_off, 14);
	assert_int_equal(pi->l3_len, 20 + 20 + 5);
	assert_int_equal(pi->l4_off, 34);
	assert_int_equal(pi->l4_len, 25);
	assert_int_equal(pi->proto, IPPROTO_TCP);
	assert_int_equal(pi->frag, LVS_FRAG_NONE);
	assert_int_equal(pi->ttl, 64);
	assert_int_equal(pi->tcp_flags, 0x02);
	assert_int_equal(pi->ip4_df, 1);
	assert_int_equal(pi->frag_id, 0x1234);
	assert_int_equal(pi->sport, htons(43210));
	assert_int_equal(pi->dport, htons(80));
	assert_addr(&pi->saddr, t_ip4("192.0.2.10"));
	assert_addr(&pi->daddr, t_ip4("10.0.0.1"));
	assert_int_equal(pi->icmp_is_err, 0);
	/* checksums are not the parser's business, but they work on its output */
	assert_false(lvs_pkt_l4_csum_ok(&P));
	assert_int_equal(lvs_pkt_l4_csum_complete(&P), 0);
	assert_true(lvs_pkt_l4_csum_ok(&P));
	truncations(&f);
}

static void test_udp6_and_padding(void **state)
{
	(void)state;
	struct frame f;

	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::80");
	f_udp(&f, 5353, 53, 3);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.af, AF_INET6);
	assert_int_equal(P.pi.proto, IPPROTO_UDP);
	assert_int_equal(P.pi.l3_len, 40 + 11);
	assert_int_equal(P.pi.l4_off, 54);
	assert_int_equal(P.pi.l4_len, 11);
	assert_int_equal(P.pi.sport, htons(5353));
	assert_int_equal(P.pi.dport, htons(53));
	assert_int_equal(P.pi.ip6_frag_off, 0);
	assert_addr(&P.pi.saddr, t_ip6("2001:db8::1"));
	assert_addr(&P.pi.daddr, t_ip6("2001:db8::80"));
	truncations(&f);

	/* IPv4 UDP padded to the 60-byte Ethernet minimum: padding ignored */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_udp(&f, 1000, 2000, 1);
	f_fin(&f);
	uint32_t dlen = f.len;
	f_put(&f, NULL, 60 - f.len);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.l3_len, dlen - 14);
	assert_int_equal(P.pi.l4_len, 9);
	assert_int_equal(lvs_pkt_l4_csum_complete(&P), 0);
	assert_true(lvs_pkt_l4_csum_ok(&P));
	/* cutting padding only still parses the same datagram */
	assert_int_equal(parse_n(f.b, dlen + 1), LVS_DROP_NONE);
	assert_int_equal(parse_n(f.b, dlen - 1), LVS_DROP_IP4_SHORT);

	/* UDP length below the datagram's is allowed (trailing octets) */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_udp(&f, 1000, 2000, 8);
	put16(f.b + f.l4 + 4, 12);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.l4_len, 16);
}

static void test_icmp(void **state)
{
	(void)state;
	struct frame f;

	/* v4 echo request: identifier in both ports */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_icmp(&f, IPPROTO_ICMP, 8, 0, 0xabcd);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, IPPROTO_ICMP);
	assert_int_equal(P.pi.icmp_type, 8);
	assert_int_equal(P.pi.icmp_is_err, 0);
	assert_int_equal(P.pi.sport, htons(0xabcd));
	assert_int_equal(P.pi.dport, htons(0xabcd));
	truncations(&f);

	/* v4 echo reply */
	f.b[f.l4] = 0;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.sport, htons(0xabcd));

	/* v4 errors: types 3 4 5 11 12; others (e.g. 13 timestamp) not */
	static const uint8_t err4[] = {3, 4, 5, 11, 12};
	for (unsigned i = 0; i < sizeof(err4); i++) {
		f.b[f.l4] = err4[i];
		f.b[f.l4 + 1] = 1;
		assert_int_equal(parse_f(&f), LVS_DROP_NONE);
		assert_int_equal(P.pi.icmp_is_err, 1);
		assert_int_equal(P.pi.icmp_code, 1);
		assert_int_equal(P.pi.sport, 0);
	}
	f.b[f.l4] = 13;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.icmp_is_err, 0);

	/* v6 echo request / reply and errors 1..4 */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_icmp(&f, IPPROTO_ICMPV6, 128, 0, 0x4242);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, IPPROTO_ICMPV6);
	assert_int_equal(P.pi.icmp_type, 128);
	assert_int_equal(P.pi.sport, htons(0x4242));
	assert_int_equal(P.pi.dport, htons(0x4242));
	truncations(&f);
	f.b[f.l4] = 129;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.sport, htons(0x4242));
	for (uint8_t t = 1; t <= 4; t++) {
		f.b[f.l4] = t;
		assert_int_equal(parse_f(&f), LVS_DROP_NONE);
		assert_int_equal(P.pi.icmp_is_err, 1);
	}
	f.b[f.l4] = 135; /* neighbour solicitation */
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.icmp_is_err, 0);
	assert_int_equal(P.pi.sport, 0);
}

static void test_vlan(void **state)
{
	(void)state;
	struct frame f;

	f_eth(&f, 1, 0x0800);
	/* one tag: the 802.1ad TPID is also accepted alone */
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_tcp(&f, 1, 2, 0x10, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.nr_vlan, 1);
	assert_int_equal(P.pi.vlan_tci, 100);
	assert_int_equal(P.pi.l3_off, 18);
	assert_int_equal(P.pi.eth_type, 0x0800);
	truncations(&f);

	f_eth(&f, 2, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_tcp(&f, 1, 2, 0x10, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.nr_vlan, 2);
	assert_int_equal(P.pi.vlan_tci, 100); /* outermost */
	assert_int_equal(P.pi.l3_off, 22);
	assert_int_equal(P.pi.l4_off, 62);
	truncations(&f);
}

static void test_ip4_options(void **state)
{
	(void)state;
	struct frame f;
	/* NOP, record route (len 7, ptr 4, one slot), EOL, padding */
	const uint8_t opt[12] = {1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t opt2[8] = {1, 1, 1, 1, 0x94, 4, 0, 0}; /* NOPs + router alert */

	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", opt, sizeof(opt), 0);
	f_udp(&f, 7, 9, 4);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.l4_off, 14 + 32);
	assert_int_equal(P.pi.l4_len, 12);
	assert_int_equal(P.pi.sport, htons(7));
	truncations(&f);

	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", opt2, sizeof(opt2), 0);
	f_udp(&f, 7, 9, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.l4_off, 14 + 28);
}

static void test_ip4_fragments(void **state)
{
	(void)state;
	struct frame f;

	/* first fragment: L4 parsed; UDP length refers to the whole datagram */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0x2000);
	f_udp(&f, 1111, 53, 16);
	put16(f.b + f.l4 + 4, 3000);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, LVS_FRAG_FIRST);
	assert_int_equal(P.pi.l4_off, 34);
	assert_int_equal(P.pi.sport, htons(1111));
	assert_int_equal(P.pi.frag_id, 0x1234);
	assert_int_equal(lvs_pkt_l4_csum_complete(&P), -EINVAL);
	truncations(&f);
	/* unfragmented, the same UDP length is wrong */
	put16(f.b + f.l3 + 6, 0);
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_UDP_LEN);

	/* later fragment (offset 1480, MF clear): no L4 */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 185);
	f.b[f.nh_pos] = IPPROTO_TCP;
	memset(f_put(&f, NULL, 24), 0xee, 24);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, LVS_FRAG_LATER);
	assert_int_equal(P.pi.proto, IPPROTO_TCP);
	assert_int_equal(P.pi.l4_off, 0);
	assert_int_equal(P.pi.l4_len, 0);
	assert_int_equal(P.pi.sport, 0);
	assert_int_equal(P.pi.dport, 0);
	assert_int_equal(P.pi.l3_len, 44);
	truncations(&f);

	/* middle fragment: MF and offset */
	put16(f.b + f.l3 + 6, 0x2000 | 185);
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, LVS_FRAG_LATER);

	/* the last possible fragment ends exactly at 65535 */
	put16(f.b + f.l3 + 6, (65535 - 24) / 8);
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
}

static void test_ip6_ext_chain(void **state)
{
	(void)state;
	struct frame f;

	/* hop-by-hop (8) + destination options (16) + fragment (first) + TCP */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 0, 8)[2] = 1; /* PadN */
	f_ext6(&f, 60, 16)[2] = 1;
	f_frag6(&f, 0, true, 0xdeadbeef);
	uint32_t fh = f.nh_pos;
	f_tcp(&f, 3333, 443, 0x02, 12);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, IPPROTO_TCP);
	assert_int_equal(P.pi.frag, LVS_FRAG_FIRST);
	assert_int_equal(P.pi.ip6_frag_off, fh);
	assert_int_equal(P.pi.frag_id, 0xdeadbeef);
	assert_int_equal(P.pi.l4_off, 54 + 8 + 16 + 8);
	assert_int_equal(P.pi.l4_len, 32);
	assert_int_equal(P.pi.l3_len, 40 + 32 + 32);
	assert_int_equal(P.pi.sport, htons(3333));
	truncations(&f);

	/* atomic fragment (offset 0, M clear): a whole datagram */
	put16(f.b + fh + 2, 0);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, LVS_FRAG_NONE);
	assert_int_equal(P.pi.ip6_frag_off, fh);

	/* later fragment: stops at the fragment header */
	put16(f.b + fh + 2, 1480);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, LVS_FRAG_LATER);
	assert_int_equal(P.pi.proto, IPPROTO_TCP);
	assert_int_equal(P.pi.l4_off, 0);
	assert_int_equal(P.pi.sport, 0);
	truncations(&f);

	/* routing header (type 2, segments left 1) + AH (24 bytes) + UDP */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	uint8_t *rh = f_ext6(&f, 43, 24);
	rh[2] = 2;
	rh[3] = 1;
	f_ext6(&f, 51, 24);
	f_udp(&f, 500, 4500, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, IPPROTO_UDP);
	assert_int_equal(P.pi.l4_off, 54 + 48);
	assert_int_equal(P.pi.dport, htons(4500));
	truncations(&f);

	/* ESP and No Next Header end the walk with l4_off at them */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 60, 8);
	f_l4(&f, 50, 16);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, 50);
	assert_int_equal(P.pi.l4_off, 54 + 8);
	assert_int_equal(P.pi.l4_len, 16);
	assert_int_equal(P.pi.sport, 0);
	f.b[f.nh_pos] = 59;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, 59);
	assert_int_equal(P.pi.l4_off, 54 + 8);

	/* exactly 8 extension headers are fine */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	for (int i = 0; i < 8; i++)
		f_ext6(&f, 60, 8);
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.l4_off, 54 + 64);
}

static void test_other_protocols(void **state)
{
	(void)state;
	struct frame f;

	/* ARP: not IP, not a drop */
	f_eth(&f, 0, 0x0806);
	f_put(&f, NULL, 28);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.af, 0);
	assert_int_equal(P.pi.eth_type, 0x0806);
	assert_int_equal(P.pi.l3_off, 0);
	truncations(&f);

	/* ARP inside a VLAN tag */
	f_eth(&f, 1, 0x0806);
	f_put(&f, NULL, 28);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.af, 0);
	assert_int_equal(P.pi.eth_type, 0x0806);
	assert_int_equal(P.pi.nr_vlan, 1);

	/* SCTP: ports; GRE: opaque */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	uint8_t *s = f_l4(&f, IPPROTO_SCTP, 12);
	put16(s, 5000);
	put16(s + 2, 6000);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.sport, htons(5000));
	assert_int_equal(P.pi.dport, htons(6000));
	f.b[f.nh_pos] = IPPROTO_GRE;
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.proto, IPPROTO_GRE);
	assert_int_equal(P.pi.l4_off, 34);
	assert_int_equal(P.pi.sport, 0);

	/* source 0.0.0.0 (DHCP) is acceptable */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "0.0.0.0", "255.255.255.255", NULL, 0, 0);
	f_udp(&f, 68, 67, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
}

static void test_flags_untouched(void **state)
{
	(void)state;
	struct frame f;
	static uint8_t buf[4096];
	struct lvs_pkt p;

	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_tcp(&f, 1, 2, 0x18, 100);
	f_fin(&f);
	lvs_pkt_init(&p, buf, sizeof(buf), LVS_PKT_HEADROOM, f.len);
	memcpy(p.data, f.b, f.len);
	p.flags = LVS_PKT_F_CSUM_PARTIAL;
	p.csum_start = 34;
	p.csum_offset = 16;
	p.mark = 7;
	assert_int_equal(lvs_pkt_parse(&p), LVS_DROP_NONE);
	assert_int_equal(p.flags, LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p.csum_start, 34);
	assert_int_equal(p.csum_offset, 16);
	assert_int_equal(p.mark, 7);
	assert_int_equal(memcmp(p.data, f.b, f.len), 0); /* nothing written */
}

static void test_push_pull(void **state)
{
	(void)state;
	static uint8_t buf[512];
	struct lvs_pkt p;

	lvs_pkt_init(&p, buf, sizeof(buf), LVS_PKT_HEADROOM, 100);
	assert_int_equal(lvs_pkt_push(&p, 20), 0);
	assert_ptr_equal(p.data, buf + LVS_PKT_HEADROOM - 20);
	assert_int_equal(p.len, 120);
	assert_int_equal(p.headroom, LVS_PKT_HEADROOM - 20);
	assert_int_equal(p.tailroom, 512 - LVS_PKT_HEADROOM - 100);
	assert_int_equal(lvs_pkt_push(&p, LVS_PKT_HEADROOM - 20 + 1), -ENOBUFS);
	assert_int_equal(p.len, 120);
	assert_int_equal(lvs_pkt_push(&p, LVS_PKT_HEADROOM - 20), 0);
	assert_ptr_equal(p.data, buf);
	assert_int_equal(p.headroom, 0);
	assert_int_equal(lvs_pkt_pull(&p, 229), -EINVAL);
	assert_int_equal(lvs_pkt_pull(&p, 228), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(p.headroom, 228);
	assert_ptr_equal(p.data, buf + 228);
	assert_int_equal(lvs_pkt_pull(&p, 1), -EINVAL);
	assert_int_equal(p.tailroom, 512 - LVS_PKT_HEADROOM - 100);
}

/* ------------------------------------------------------------ drop reasons */

static void test_drop_link(void **state)
{
	(void)state;
	struct frame f;

	f_eth(&f, 0, 0x0800);
	assert_int_equal(parse_n(f.b, 13), LVS_DROP_ETH_SHORT);
	assert_int_equal(parse_n(f.b, 0), LVS_DROP_ETH_SHORT);

	f_eth(&f, 2, 0x0800);
	assert_int_equal(parse_n(f.b, 14 + 3), LVS_DROP_VLAN_SHORT);
	assert_int_equal(parse_n(f.b, 18 + 3), LVS_DROP_VLAN_SHORT);

	f_eth(&f, 3, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_VLAN_STACKED);
}

static void mk_udp4(struct frame *f)
{
	f_eth(f, 0, 0x0800);
	f_ip4(f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_udp(f, 1, 2, 8);
	f_fin(f);
}

static void test_drop_ip4(void **state)
{
	(void)state;
	struct frame f;
	uint8_t *h;

	mk_udp4(&f);
	h = f.b + f.l3;
	assert_int_equal(parse_n(f.b, 14 + 19), LVS_DROP_IP4_SHORT);

	h[0] = 0x65;
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_VERSION);
	h[0] = 0x44;
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_IHL);
	h[0] = 0x4f; /* 60-byte header beyond the 36 bytes present */
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_SHORT);

	mk_udp4(&f);
	h = f.b + f.l3;
	put16(h + 2, 19);
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_TOTLEN);
	put16(h + 2, 37); /* one more than present */
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_SHORT);

	mk_udp4(&f);
	f.b[f.l3 + 10] ^= 1;
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_CSUM);
	mk_udp4(&f);
	f.b[f.l3 + 8] = 63; /* TTL changed, checksum not */
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_CSUM);

	/* options: length 1, length 0, length past the header, lone type byte */
	static const uint8_t bad[][4] = {{7, 1, 0, 0}, {7, 0, 0, 0}, {1, 7, 5, 4}, {1, 1, 1, 7}};
	for (unsigned i = 0; i < 4; i++) {
		f_eth(&f, 0, 0x0800);
		f_ip4(&f, "10.0.0.2", "10.0.0.1", bad[i], 4, 0);
		f_udp(&f, 1, 2, 0);
		f_fin(&f);
		assert_int_equal(parse_f(&f), LVS_DROP_IP4_OPTIONS);
	}
	/* a length that fills the options exactly is fine */
	static const uint8_t ok[4] = {0x94, 4, 0, 0};
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", ok, 4, 0);
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);

	/* a fragment ending past 65535 */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, (65535 - 16) / 8 + 1);
	f_put(&f, NULL, 24);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_FRAG);
	put16(f.b + f.l3 + 6, 0x1fff);
	f_rehdr(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP4_FRAG);

	/* multicast and limited-broadcast sources */
	const char *bad_src[] = {"224.0.0.1", "239.255.255.250", "255.255.255.255"};
	for (unsigned i = 0; i < 3; i++) {
		f_eth(&f, 0, 0x0800);
		f_ip4(&f, bad_src[i], "10.0.0.1", NULL, 0, 0);
		f_udp(&f, 1, 2, 0);
		f_fin(&f);
		assert_int_equal(parse_f(&f), LVS_DROP_IP4_BAD_SADDR);
	}
}

static void mk_tcp6(struct frame *f)
{
	f_eth(f, 0, 0x86dd);
	f_ip6(f, "2001:db8::1", "2001:db8::2");
	f_tcp(f, 1, 2, 0x10, 0);
	f_fin(f);
}

static void test_drop_ip6(void **state)
{
	(void)state;
	struct frame f;

	mk_tcp6(&f);
	assert_int_equal(parse_n(f.b, 14 + 39), LVS_DROP_IP6_SHORT);
	f.b[f.l3] = 0x40;
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_VERSION);

	mk_tcp6(&f);
	put16(f.b + f.l3 + 4, 0); /* jumbogram */
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_PAYLEN);
	put16(f.b + f.l3 + 4, 21);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_SHORT);

	/* multicast source */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "ff02::1", "2001:db8::2");
	f_tcp(&f, 1, 2, 0x10, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_BAD_SADDR);

	/* hop-by-hop after another extension header */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 60, 8);
	f_ext6(&f, 0, 8);
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_EXTHDR);

	/* an extension header longer than the datagram */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 60, 8)[1] = 2;
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_EXTHDR);

	/* AH running past the datagram */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 51, 16)[1] = 10;
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_EXTHDR);

	/* routing header type 0 with segments left (RFC 5095) */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_ext6(&f, 43, 24)[3] = 1;
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_EXTHDR);

	/* nine extension headers */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	for (int i = 0; i < 9; i++)
		f_ext6(&f, 60, 8);
	f_udp(&f, 1, 2, 0);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_EXTHDR_LIMIT);

	/* two fragment headers; a non-final fragment not a multiple of 8;
	 * a fragment ending past 65535 */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_frag6(&f, 0, true, 1);
	f_frag6(&f, 0, true, 1);
	f_udp(&f, 1, 2, 8);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_FRAG);

	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_frag6(&f, 0, true, 1);
	f_udp(&f, 1, 2, 9);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_FRAG);

	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_frag6(&f, 65528, false, 1);
	f_put(&f, NULL, 16);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_IP6_FRAG);
}

static void test_drop_l4(void **state)
{
	(void)state;
	struct frame f;

	/* TCP shorter than 20 bytes within the datagram (frame is complete) */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_tcp(&f, 1, 2, 0x02, 0);
	f_fin_at(&f, f.len - 1);
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_SHORT);
	/* tiny first fragment (RFC 1858): 8 bytes of TCP */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0x2000);
	f_tcp(&f, 1, 2, 0x02, 0);
	f.len -= 12;
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_SHORT);

	/* data offset 4, and one beyond the segment */
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_tcp(&f, 1, 2, 0x02, 8);
	f_fin(&f);
	f.b[f.l4 + 12] = 0x40;
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_DOFF);
	f.b[f.l4 + 12] = 0x80; /* 32 bytes > 28 present */
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_DOFF);
	f.b[f.l4 + 12] = 0x70; /* 28: exactly fits */
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);

	/* SYN+FIN, SYN+RST; FIN+ACK fine */
	f.b[f.l4 + 13] = 0x03;
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_FLAGS);
	f.b[f.l4 + 13] = 0x16;
	assert_int_equal(parse_f(&f), LVS_DROP_TCP_FLAGS);
	f.b[f.l4 + 13] = 0x11;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);

	/* UDP: 7 bytes; length field 7; length field beyond the datagram */
	mk_udp4(&f);
	f_fin_at(&f, f.l4 + 7);
	assert_int_equal(parse_f(&f), LVS_DROP_UDP_SHORT);
	mk_udp4(&f);
	put16(f.b + f.l4 + 4, 7);
	assert_int_equal(parse_f(&f), LVS_DROP_UDP_LEN);
	put16(f.b + f.l4 + 4, 17);
	assert_int_equal(parse_f(&f), LVS_DROP_UDP_LEN);
	put16(f.b + f.l4 + 4, 16);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);

	/* ICMP and ICMPv6 shorter than 8 */
	f_eth(&f, 0, 0x0800);
	f_ip4(&f, "10.0.0.2", "10.0.0.1", NULL, 0, 0);
	f_icmp(&f, IPPROTO_ICMP, 8, 0, 1);
	f_fin_at(&f, f.len - 1);
	assert_int_equal(parse_f(&f), LVS_DROP_ICMP_SHORT);
	f_eth(&f, 0, 0x86dd);
	f_ip6(&f, "2001:db8::1", "2001:db8::2");
	f_icmp(&f, IPPROTO_ICMPV6, 128, 0, 1);
	f_fin_at(&f, f.len - 4);
	assert_int_equal(parse_f(&f), LVS_DROP_ICMP6_SHORT);
}

/* ------------------------------------------------------------- ICMP quotes */

/* An ICMP(v6) error carrying the first qlen bytes of the datagram q. */
static void mk_icmp_err(struct frame *f, const struct frame *q, uint32_t qlen, uint8_t type,
                        uint8_t code)
{
	if (q->af == AF_INET) {
		f_eth(f, 0, 0x0800);
		f_ip4(f, "198.51.100.1", "192.0.2.10", NULL, 0, 0);
		f_icmp(f, IPPROTO_ICMP, type, code, 0);
	} else {
		f_eth(f, 0, 0x86dd);
		f_ip6(f, "2001:db8:ff::1", "2001:db8::1");
		f_icmp(f, IPPROTO_ICMPV6, type, code, 0);
	}
	f_put(f, q->b + q->l3, qlen);
	f_fin(f);
}

static void test_icmp_inner_v4(void **state)
{
	(void)state;
	struct frame q, f;
	struct lvs_pkt_info in;

	/* frag-needed quoting a TCP segment, only 8 bytes of TCP (RFC 792) */
	f_eth(&q, 0, 0x0800);
	f_ip4(&q, "192.0.2.10", "10.0.0.1", NULL, 0, 0x4000);
	f_tcp(&q, 40000, 80, 0x18, 1000);
	f_fin(&q);
	mk_icmp_err(&f, &q, 28, 3, 4);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.icmp_is_err, 1);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.af, AF_INET);
	assert_int_equal(in.l3_off, 14 + 20 + 8);
	assert_int_equal(in.l3_len, 20 + 20 + 1000); /* its own length field */
	assert_int_equal(in.l4_off, 14 + 20 + 8 + 20);
	assert_int_equal(in.l4_len, 8); /* what is present */
	assert_int_equal(in.proto, IPPROTO_TCP);
	assert_int_equal(in.sport, htons(40000));
	assert_int_equal(in.dport, htons(80));
	assert_int_equal(in.ip4_df, 1);
	assert_addr(&in.saddr, t_ip4("192.0.2.10"));
	assert_addr(&in.daddr, t_ip4("10.0.0.1"));
	truncations(&f);

	/* port unreachable quoting a whole UDP datagram (with IP options) */
	static const uint8_t opt[4] = {1, 1, 1, 0};
	f_eth(&q, 0, 0x0800);
	f_ip4(&q, "10.0.0.1", "192.0.2.10", opt, 4, 0);
	f_udp(&q, 53, 5353, 20);
	f_fin(&q);
	mk_icmp_err(&f, &q, q.len - q.l3, 3, 3);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.l4_off, 14 + 28 + 24);
	assert_int_equal(in.l4_len, 28);
	assert_int_equal(in.sport, htons(53));
	assert_int_equal(in.dport, htons(5353));
	/* bytes after the quoted datagram (some stacks pad the error) are not
	 * part of it */
	f_put(&f, "\xaa\xbb\xcc\xdd", 4);
	f_fin(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.l3_len, 24 + 28);
	assert_int_equal(in.l4_len, 28);

	/* quoting an echo request: id as ports */
	f_eth(&q, 0, 0x0800);
	f_ip4(&q, "10.0.0.1", "192.0.2.10", NULL, 0, 0);
	f_icmp(&q, IPPROTO_ICMP, 8, 0, 0x7777);
	f_fin(&q);
	mk_icmp_err(&f, &q, 28, 11, 0);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.proto, IPPROTO_ICMP);
	assert_int_equal(in.sport, htons(0x7777));
	assert_int_equal(in.icmp_type, 8);
}

static void test_icmp_inner_v6(void **state)
{
	(void)state;
	struct frame q, f;
	struct lvs_pkt_info in;

	/* packet too big quoting TCP behind hbh + dst options */
	f_eth(&q, 0, 0x86dd);
	f_ip6(&q, "2001:db8::1", "2001:db8:1::80");
	f_ext6(&q, 0, 8);
	f_ext6(&q, 60, 16);
	f_tcp(&q, 50000, 443, 0x10, 1400);
	f_fin(&q);
	mk_icmp_err(&f, &q, 40 + 24 + 20 + 100, 2, 0);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(P.pi.icmp_is_err, 1);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.af, AF_INET6);
	assert_int_equal(in.l3_off, 14 + 40 + 8);
	assert_int_equal(in.l3_len, 40 + 24 + 20 + 1400);
	assert_int_equal(in.l4_off, 14 + 40 + 8 + 40 + 24);
	assert_int_equal(in.l4_len, 120);
	assert_int_equal(in.proto, IPPROTO_TCP);
	assert_int_equal(in.sport, htons(50000));
	assert_int_equal(in.dport, htons(443));
	assert_int_equal(in.tcp_flags, 0x10);
	assert_addr(&in.saddr, t_ip6("2001:db8::1"));
	assert_addr(&in.daddr, t_ip6("2001:db8:1::80"));
	truncations(&f);
}

static void test_icmp_inner_bad(void **state)
{
	(void)state;
	struct frame q, f;
	struct lvs_pkt_info in;

	f_eth(&q, 0, 0x0800);
	f_ip4(&q, "192.0.2.10", "10.0.0.1", NULL, 0, 0);
	f_udp(&q, 1, 2, 100);
	f_fin(&q);

	/* fewer than 8 bytes of the quoted L4 header */
	mk_icmp_err(&f, &q, 27, 3, 3);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* a quoted header shorter than 20 */
	mk_icmp_err(&f, &q, 19, 3, 3);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* the wrong IP version inside */
	mk_icmp_err(&f, &q, 28, 3, 3);
	f.b[14 + 28] = 0x65;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* quoted IHL beyond the quote, and tot_len below the header */
	mk_icmp_err(&f, &q, 28, 3, 3);
	f.b[14 + 28] = 0x47;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	mk_icmp_err(&f, &q, 28, 3, 3);
	put16(f.b + 14 + 28 + 2, 12);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* quoted later fragment: no ports to match */
	mk_icmp_err(&f, &q, 28, 3, 3);
	put16(f.b + 14 + 28 + 6, 100);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* not an error at all */
	mk_icmp_err(&f, &q, 28, 8, 0);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	/* an error about an error */
	f_eth(&q, 0, 0x0800);
	f_ip4(&q, "192.0.2.10", "10.0.0.1", NULL, 0, 0);
	f_icmp(&q, IPPROTO_ICMP, 3, 1, 0);
	f_fin(&q);
	mk_icmp_err(&f, &q, 28, 3, 3);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);

	/* v6: quoted jumbogram, malformed chain, later fragment, v4 inside v6 */
	f_eth(&q, 0, 0x86dd);
	f_ip6(&q, "2001:db8::1", "2001:db8::2");
	f_frag6(&q, 0, true, 9);
	f_udp(&q, 1, 2, 64);
	f_fin(&q);
	mk_icmp_err(&f, &q, 40 + 8 + 8, 1, 4);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_NONE);
	assert_int_equal(in.frag, LVS_FRAG_FIRST);
	assert_int_equal(in.frag_id, 9);
	assert_int_equal(in.ip6_frag_off, 14 + 48 + 40);
	assert_int_equal(in.dport, htons(2));
	put16(f.b + 14 + 48 + 4, 0);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	mk_icmp_err(&f, &q, 40 + 8 + 8, 1, 4);
	put16(f.b + 14 + 48 + 40 + 2, 8);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	mk_icmp_err(&f, &q, 40 + 8 + 8, 1, 4);
	f.b[14 + 48 + 40] = 60; /* fragment header's next: dst opts, cut short */
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
	mk_icmp_err(&f, &q, 40 + 8 + 8, 1, 4);
	f.b[14 + 48] = 0x45;
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);

	/* a non-ICMP packet has no quote */
	mk_udp4(&f);
	assert_int_equal(parse_f(&f), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(&P, &in), LVS_DROP_ICMP_INNER);
}

/* ------------------------------------------------------------------- fuzz */

static uint32_t rng = 4242;
static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Random corruption of good frames of every kind: no crash, no over-read,
 * and whatever parses is self-consistent (checked in parse_n). */
static void test_mutations(void **state)
{
	(void)state;
	struct frame base[6], f;
	int n, i;

	mk_udp4(&base[0]);
	mk_tcp6(&base[1]);
	f_eth(&base[2], 2, 0x86dd);
	f_ip6(&base[2], "2001:db8::1", "2001:db8::2");
	f_ext6(&base[2], 0, 8);
	f_ext6(&base[2], 60, 16);
	f_frag6(&base[2], 0, true, 5);
	f_tcp(&base[2], 1, 2, 2, 16);
	f_fin(&base[2]);
	f_eth(&base[3], 0, 0x0800);
	f_ip4(&base[3], "1.2.3.4", "5.6.7.8", (const uint8_t[8]){1, 7, 7, 4, 0, 0, 0, 0}, 8, 0);
	f_tcp(&base[3], 1, 2, 2, 4);
	f_fin(&base[3]);
	f_eth(&base[4], 0, 0x0800);
	f_ip4(&base[4], "1.2.3.4", "5.6.7.8", NULL, 0, 0);
	f_icmp(&base[4], IPPROTO_ICMP, 3, 3, 0);
	f_put(&base[4], base[3].b + 14, 40);
	f_fin(&base[4]);
	f_eth(&base[5], 0, 0x86dd);
	f_ip6(&base[5], "2001:db8::1", "2001:db8::2");
	f_icmp(&base[5], IPPROTO_ICMPV6, 2, 0, 0);
	f_put(&base[5], base[2].b + 22, base[2].len - 22);
	f_fin(&base[5]);

	for (n = 0; n < 30000; n++) {
		f = base[n % 6];
		int flips = 1 + (int)(rnd() % 4);
		for (i = 0; i < flips; i++)
			f.b[rnd() % f.len] ^= (uint8_t)(1u << (rnd() % 8));
		/* keep IPv4 header checksums right half the time so the
		 * corruption reaches the deeper layers */
		if ((n & 1) && f.af == AF_INET && (f.b[f.l3] >> 4) == 4 &&
		    (f.b[f.l3] & 0xf) * 4u + f.l3 <= f.len && (f.b[f.l3] & 0xf) >= 5)
			f_rehdr(&f);
		uint32_t len = f.len - (rnd() % 4 == 0 ? rnd() % f.len : 0);
		(void)parse_n(f.b, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_tcp4, teardown),
	        cmocka_unit_test_teardown(test_udp6_and_padding, teardown),
	        cmocka_unit_test_teardown(test_icmp, teardown),
	        cmocka_unit_test_teardown(test_vlan, teardown),
	        cmocka_unit_test_teardown(test_ip4_options, teardown),
	        cmocka_unit_test_teardown(test_ip4_fragments, teardown),
	        cmocka_unit_test_teardown(test_ip6_ext_chain, teardown),
	        cmocka_unit_test_teardown(test_other_protocols, teardown),
	        cmocka_unit_test_teardown(test_flags_untouched, teardown),
	        cmocka_unit_test_teardown(test_push_pull, teardown),
	        cmocka_unit_test_teardown(test_drop_link, teardown),
	        cmocka_unit_test_teardown(test_drop_ip4, teardown),
	        cmocka_unit_test_teardown(test_drop_ip6, teardown),
	        cmocka_unit_test_teardown(test_drop_l4, teardown),
	        cmocka_unit_test_teardown(test_icmp_inner_v4, teardown),
	        cmocka_unit_test_teardown(test_icmp_inner_v6, teardown),
	        cmocka_unit_test_teardown(test_icmp_inner_bad, teardown),
	        cmocka_unit_test_teardown(test_mutations, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
