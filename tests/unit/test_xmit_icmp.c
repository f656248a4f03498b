/*
 * test_xmit_icmp.c - ICMP errors: the ones the director originates (time
 * exceeded, fragmentation needed / packet too big, host unreachable, and
 * the cases it must not answer) and the translation of errors quoting a
 * NAT / DR / TUN connection.  Frames and checks from xmit_frames.h.
 */
#include "xmit_frames.h"

/* ------------------------------------------------------------------ */
/* MTU and TTL: errors the director originates                        */

/* p must be an ICMP error from src to dst quoting orig (qlen bytes). */
static void check_error(const struct lvs_pkt *p, int af, uint8_t type, uint8_t code, uint32_t mtu,
                        const char *src, const char *dst, const uint8_t *orig, uint32_t qlen)
{
	bool v4 = af == AF_INET;
	uint32_t ihl = v4 ? 20 : 40;
	const uint8_t *ip = p->data + 14, *ic = ip + ihl;
	uint32_t olen = v4 ? r_get16(orig + 2) : r_get16(orig + 4) + 40u;

	vf_quote_full = qlen == olen;
	verify_frame(p, MAC_GW, 0, 1);
	vf_quote_full = true;
	verify_pi(p);
	assert_ip_addrs(p, src, dst);
	assert_int_equal(p->len, 14 + ihl + 8 + qlen);
	assert_int_equal(v4 ? ip[9] : ip[6], v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	assert_int_equal(v4 ? ip[8] : ip[7], 64);
	if (v4)
		assert_int_equal(ip[1], 0xc0 | (orig[1] & 0x1e));
	assert_int_equal(ic[0], type);
	assert_int_equal(ic[1], code);
	/* IPv4: unused 16 bits + next-hop MTU (RFC 1191); IPv6: 32-bit MTU */
	assert_int_equal(r_get32(ic + 4), mtu);
	assert_memory_equal(ic + 8, orig, qlen);
	assert_false(p->flags & LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p->gso_size, 0);
}

static void test_ttl_exceeded(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 40000,
	                 .dport = 80,
	                 .ttl = 1,
	                 .plen = 20};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	uint8_t orig[200];
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint32_t n;

	(void)state;
	p = build(&s);
	n = p->pi.l3_len;
	memcpy(orig, p->data + 14, n);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(why, LVS_DROP_TTL_EXCEEDED);
	check_error(p, AF_INET, 11, 0, 0, DIR4_OUT, C4, orig, n);

	s.af = AF_INET6;
	s.src = C6;
	s.dst = V6;
	p = build(&s);
	n = p->pi.l3_len;
	memcpy(orig, p->data + 14, n);
	f = flow6(IPPROTO_TCP, LVS_FWD_ROUTE);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET6, 3, 0, 0, DIR6_OUT, C6, orig, n);

	/* unknown source address: fall back to the packet's destination */
	fe.no_src = true;
	s.af = AF_INET;
	s.src = C4;
	s.dst = V4;
	p = build(&s);
	n = p->pi.l3_len;
	memcpy(orig, p->data + 14, n);
	f = flow4(IPPROTO_TCP, LVS_FWD_ROUTE);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET, 11, 0, 0, V4, C4, orig, n);
}

static void test_frag_needed(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 40000,
	                 .dport = 80,
	                 .plen = 1460 - 20 - 20 + 20,
	                 .df = true};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_ROUTE);
	uint8_t orig[600];
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	/* DR to the 1400-byte route */
	f.daddr = t_ip4(D4_SMALL);
	p = build(&s);
	memcpy(orig, p->data + 14, 548);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(why, LVS_DROP_TOO_BIG);
	check_error(p, AF_INET, 3, 4, 1400, DIR4_OUT, C4, orig, 548); /* 576 - 28 */
	assert_int_equal(r_get16(p->data + 16), 576);

	/* IPIP to a 1500 route: 1480 fits, 1500 does not; mtu = 1500 - 20 */
	f = flow4(IPPROTO_TCP, LVS_FWD_TUNNEL);
	f.tun_type = LVS_TUN_IPIP;
	s.plen = 1480 - 40;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(p->pi.proto, IPPROTO_IPIP);
	s.plen = 1481 - 40;
	p = build(&s);
	memcpy(orig, p->data + 14, 548);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET, 3, 4, 1480, DIR4_OUT, C4, orig, 548);

	/* GUE: 20 + 8 + 4 of overhead */
	f.tun_type = LVS_TUN_GUE;
	f.tun_port = htons(6080);
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET, 3, 4, 1468, DIR4_OUT, C4, orig, 548);

	/* without DF we would have to fragment: dropped */
	s.df = false;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TOO_BIG);
}

static void test_packet_too_big6(void **state)
{
	struct spec s = {.af = AF_INET6,
	                 .proto = IPPROTO_UDP,
	                 .src = C6,
	                 .dst = V6,
	                 .sport = 40000,
	                 .dport = 53,
	                 .plen = 1400};
	struct lvs_flow f = flow6(IPPROTO_UDP, LVS_FWD_ROUTE);
	uint8_t orig[1300];
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	f.daddr = t_ip6(D6_SMALL);
	p = build(&s);
	memcpy(orig, p->data + 14, 1232);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET6, 2, 0, 1300, DIR6_OUT, C6, orig, 1232); /* 1280 - 48 */
	assert_int_equal(p->len - 14, 1280);

	/* IPv6 in IPv6 to the 1300 route: 1260 would be below the minimum */
	f = flow6(IPPROTO_UDP, LVS_FWD_TUNNEL);
	f.daddr = t_ip6(D6_SMALL);
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	check_error(p, AF_INET6, 2, 0, 1280, DIR6_OUT, C6, orig, 1232);
}

static void test_send_error_refusals(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1,
	                 .dport = 53,
	                 .ttl = 1,
	                 .plen = 10};
	struct lvs_flow f = flow4(IPPROTO_UDP, LVS_FWD_ROUTE);
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	/* ICMP error about an ICMP error */
	s.proto = IPPROTO_ICMP;
	s.icmp_type = 3;
	s.icmp_code = 1;
	p = build(&s);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TTL_EXCEEDED);
	/* ... but an echo request is answered */
	s.icmp_type = 8;
	s.icmp_code = 0;
	p = build(&s);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);

	/* multicast destination, broadcast / zero / loopback source */
	s.proto = IPPROTO_UDP;
	s.dst = "239.1.1.1";
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 11, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TTL_EXCEEDED);
	s.dst = V4;
	s.src = "0.0.0.0";
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 11, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	s.src = "127.0.0.1";
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 11, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	/* link-layer broadcast */
	s.src = C4;
	p = build(&s);
	memset(p->data, 0xff, 6);
	assert_int_equal(lvs_icmp_send_error(p, 11, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	/* later fragment */
	s.frag_off = 10;
	p = build(&s);
	assert_int_equal(p->pi.frag, LVS_FRAG_LATER);
	assert_int_equal(lvs_icmp_send_error(p, 11, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	/* IPv6: ICMPv6 error, and multicast except for packet too big */
	memset(&s, 0, sizeof(s));
	s.af = AF_INET6;
	s.proto = IPPROTO_ICMPV6;
	s.src = C6;
	s.dst = V6;
	s.icmp_type = 1;
	s.ttl = 1;
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 3, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	s.proto = IPPROTO_UDP;
	s.dst = "ff02::1";
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 3, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 2, 0, 1280, &env, LVS_DROP_TOO_BIG, &why),
	                 LVS_V_TX);
	/* loopback source */
	s.dst = V6;
	s.src = "::1";
	p = build(&s);
	assert_int_equal(lvs_icmp_send_error(p, 3, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
}

static void test_send_error_memmove(void **state)
{
	struct spec s = {.af = AF_INET6,
	                 .proto = IPPROTO_UDP,
	                 .src = C6,
	                 .dst = V6,
	                 .sport = 1,
	                 .dport = 53,
	                 .ttl = 1,
	                 .plen = 10};
	uint8_t orig[100];
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint32_t n;

	(void)state;
	/* a buffer with no headroom: the quote moves into the tailroom */
	p = build(&s);
	n = p->pi.l3_len;
	memcpy(orig, p->data + 14, n);
	p->headroom = 0;
	assert_int_equal(lvs_icmp_send_error(p, 3, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_TX);
	check_error(p, AF_INET6, 3, 0, 0, DIR6_OUT, C6, orig, n);
	assert_true(p->data >= fr.buf + HEADROOM);
	/* and with no room at all it is dropped */
	p = build(&s);
	p->headroom = 0;
	p->tailroom = 0;
	assert_int_equal(lvs_icmp_send_error(p, 3, 0, 0, &env, LVS_DROP_TTL_EXCEEDED, &why),
	                 LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TTL_EXCEEDED);
}

/* ------------------------------------------------------------------ */
/* ICMP errors quoting a connection                                   */

/* An ICMP error (type/code) from src to dst whose quote is the first qlen
 * bytes of the IP packet q. */
static struct lvs_pkt *build_error(int af, const char *src, const char *dst, uint8_t type,
                                   uint8_t code, const uint8_t *q, uint32_t qlen)
{
	static uint8_t ip[2000];
	bool v4 = af == AF_INET;
	uint32_t ihl = v4 ? 20 : 40;
	struct spec s = {.af = af,
	                 .proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
	                 .src = src,
	                 .dst = dst,
	                 .ttl = 50,
	                 .icmp_type = type,
	                 .icmp_code = code,
	                 .plen = (uint16_t)qlen};
	uint8_t *ic = ip + ihl;
	uint32_t n = build_ip(ip, &s);

	memcpy(ic + 8, q, qlen);
	r_put16(ic + 4, 0);
	r_put16(ic + 6, type == 3 && v4 ? 1400 : 0);
	r_put16(ic + 2, 0);
	r_put16(ic + 2,
	        (uint16_t)~r_fold(
	                r_sum(ic, 8 + qlen, v4 ? 0 : r_pseudo(af, ip + 8, ip + 24, 58, 8 + qlen))));
	return frame_of_ip(&fr, ip, n, 0);
}

static void icmp_nat_check(int af, uint8_t proto, bool input, uint32_t qcut)
{
	bool v4 = af == AF_INET;
	struct lvs_flow f = v4 ? flow4(proto, LVS_FWD_MASQ) : flow6(proto, LVS_FWD_MASQ);
	const char *c = v4 ? C4 : C6, *vv = v4 ? V4 : V6, *d = v4 ? D4 : D6;
	const char *router = v4 ? "198.51.100.1" : "2001:db8:99::1";
	struct spec q = {.af = af, .proto = proto, .ttl = 60, .plen = 30};
	uint8_t qip[200], want[200];
	uint32_t qlen, ihl = v4 ? 20 : 40;
	struct lvs_pkt_info inner;
	struct lvs_pkt *p;
	enum lvs_drop why;
	const uint8_t *qq;

	if (input) {
		/* we sent vaddr:80 -> caddr:40000, a router near the client
		 * says it did not fit; the server sent daddr:8080 -> caddr */
		q.src = vv, q.dst = c, q.sport = 80, q.dport = 40000;
		qlen = build_ip(qip, &q);
		q.src = d, q.sport = 8080;
		build_ip(want, &q);
		p = build_error(af, router, vv, v4 ? 3 : 2, v4 ? 4 : 0, qip, qcut ? qcut : qlen);
	} else {
		/* we sent caddr:40000 -> daddr:8080, a router near the server
		 * complains to the client, who sent caddr -> vaddr:80 */
		q.src = c, q.dst = d, q.sport = 40000, q.dport = 8080;
		qlen = build_ip(qip, &q);
		q.dst = vv, q.dport = 80;
		build_ip(want, &q);
		p = build_error(af, router, c, v4 ? 3 : 1, v4 ? 1 : 3, qip, qcut ? qcut : qlen);
	}
	if (qcut) {
		qlen = qcut;
		vf_quote_full = false;
	}
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, input ? LVS_DIR_INPUT : LVS_DIR_OUTPUT,
	                                     &env, &why),
	                 LVS_V_TX);
	verify_frame(p, input ? MAC_RS1 : MAC_GW, 0, input ? 2 : 1);
	verify_pi(p);
	assert_int_equal(p->pi.ttl, 49);
	assert_ip_addrs(p, input ? router : vv, input ? d : c);
	qq = p->data + 14 + ihl + 8;
	assert_int_equal(p->len, 14 + ihl + 8 + qlen);
	if (!qcut) {
		/* the whole quote is now the packet the other side sent */
		assert_memory_equal(qq, want, qlen);
	} else {
		/* addresses, ports, quoted IP header checksum fixed */
		assert_memory_equal(qq, want, v4 ? 20 : 40);
		assert_memory_equal(qq + ihl, want + ihl, 4);
		if (proto == IPPROTO_UDP)
			assert_memory_equal(qq + ihl, want + ihl, 8);
	}
	vf_quote_full = true;
}

static void test_icmp_nat_input(void **state)
{
	(void)state;
	icmp_nat_check(AF_INET, IPPROTO_TCP, true, 0);
	icmp_nat_check(AF_INET, IPPROTO_UDP, true, 0);
	icmp_nat_check(AF_INET6, IPPROTO_TCP, true, 0);
	icmp_nat_check(AF_INET6, IPPROTO_UDP, true, 0);
}

static void test_icmp_nat_output(void **state)
{
	(void)state;
	icmp_nat_check(AF_INET, IPPROTO_TCP, false, 0);
	icmp_nat_check(AF_INET, IPPROTO_UDP, false, 0);
	icmp_nat_check(AF_INET6, IPPROTO_TCP, false, 0);
	icmp_nat_check(AF_INET6, IPPROTO_UDP, false, 0);
}

static void test_icmp_nat_short_quote(void **state)
{
	(void)state;
	/* 8 bytes of L4: TCP's checksum is not there, UDP's is */
	icmp_nat_check(AF_INET, IPPROTO_TCP, true, 28);
	icmp_nat_check(AF_INET, IPPROTO_UDP, false, 28);
	icmp_nat_check(AF_INET6, IPPROTO_TCP, false, 48);
	icmp_nat_check(AF_INET6, IPPROTO_UDP, true, 48);
}

static void test_icmp_dr_tun_input(void **state)
{
	struct spec q = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = V4,
	                 .dst = C4,
	                 .sport = 80,
	                 .dport = 40000,
	                 .plen = 10};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_ROUTE);
	uint8_t qip[200], orig[300];
	struct lvs_pkt_info inner;
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint32_t qlen = build_ip(qip, &q), n;

	(void)state;
	/* DR: the error goes unchanged (but TTL) to the server's MAC */
	p = build_error(AF_INET, "198.51.100.1", V4, 3, 4, qip, qlen);
	n = p->pi.l3_len;
	memcpy(orig, p->data + 14, n);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, LVS_DIR_INPUT, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_RS1, 0, 2);
	verify_pi(p);
	assert_memory_equal(p->data + 14 + 20, orig + 20, n - 20);
	assert_int_equal(p->data[14 + 8], 49);

	/* TUN: encapsulated */
	f.fwd = LVS_FWD_TUNNEL;
	f.tun_type = LVS_TUN_IPIP;
	p = build_error(AF_INET, "198.51.100.1", V4, 3, 4, qip, qlen);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, LVS_DIR_INPUT, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_RS1, 0, 2);
	assert_int_equal(p->pi.proto, IPPROTO_IPIP);
	assert_memory_equal(p->data + 14 + 20 + 20, orig + 20, n - 20);

	/* OUTPUT makes no sense for DR / TUN */
	f.fwd = LVS_FWD_ROUTE;
	p = build_error(AF_INET, "198.51.100.1", V4, 3, 4, qip, qlen);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, LVS_DIR_OUTPUT, &env, &why),
	                 LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_FWD_UNSUPPORTED);
}

static void test_icmp_error_ttl_and_mtu(void **state)
{
	struct spec q = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = V4,
	                 .dst = C4,
	                 .sport = 80,
	                 .dport = 40000,
	                 .plen = 10};
	struct lvs_flow f = flow4(IPPROTO_UDP, LVS_FWD_MASQ);
	static uint8_t qip[2000];
	struct lvs_pkt_info inner;
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint32_t qlen = build_ip(qip, &q);

	(void)state;
	/* an error that runs out of TTL is dropped, never answered */
	p = build_error(AF_INET, "198.51.100.1", V4, 3, 4, qip, qlen);
	p->data[14 + 8] = 1;
	p->data[14 + 10] = 0;
	p->data[14 + 11] = 0;
	r_put16(p->data + 14 + 10, (uint16_t)~r_fold(r_sum(p->data + 14, 20, 0)));
	assert_int_equal(lvs_pkt_parse(p), LVS_DROP_NONE);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, LVS_DIR_INPUT, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TTL_EXCEEDED);

	/* an error too big for the server's route cannot be answered either */
	q.plen = 1400;
	qlen = build_ip(qip, &q);
	f.daddr = t_ip4(D4_SMALL);
	p = build_error(AF_INET, "198.51.100.1", V4, 3, 4, qip, qlen);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	assert_int_equal(lvs_xmit_icmp_error(p, &inner, &f, LVS_DIR_INPUT, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_TOO_BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_ttl_exceeded, setup),
	        cmocka_unit_test_setup(test_frag_needed, setup),
	        cmocka_unit_test_setup(test_packet_too_big6, setup),
	        cmocka_unit_test_setup(test_send_error_refusals, setup),
	        cmocka_unit_test_setup(test_send_error_memmove, setup),
	        cmocka_unit_test_setup(test_icmp_nat_input, setup),
	        cmocka_unit_test_setup(test_icmp_nat_output, setup),
	        cmocka_unit_test_setup(test_icmp_nat_short_quote, setup),
	        cmocka_unit_test_setup(test_icmp_dr_tun_input, setup),
	        cmocka_unit_test_setup(test_icmp_error_ttl_and_mtu, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
