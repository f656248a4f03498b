/*
 * test_xmit.c - the transforms NAT, DR and TUN and their shared helpers,
 * checked byte by byte on hand-built frames (helpers in xmit_frames.h):
 * every checksum verified with an independent reference sum, and p->pi
 * compared with what the parser reads from the produced frame.  ICMP
 * errors (originated and translated) are in test_xmit_icmp.c.
 */
#include "xmit_frames.h"

/* ------------------------------------------------------------------ */
/* common helpers                                                     */

static void test_dec_ttl(void **state)
{
	struct spec s4 = {.af = AF_INET,
	                  .proto = IPPROTO_UDP,
	                  .src = C4,
	                  .dst = V4,
	                  .sport = 1,
	                  .dport = 53,
	                  .ttl = 2,
	                  .plen = 4};
	struct spec s6 = s4;
	struct lvs_pkt *p;

	(void)state;
	p = build(&s4);
	assert_true(lvs_xmit_dec_ttl(p));
	assert_int_equal(p->data[14 + 8], 1);
	assert_int_equal(p->pi.ttl, 1);
	verify_ip(p->data + 14, p->len - 14, true);
	assert_false(lvs_xmit_dec_ttl(p));
	assert_int_equal(p->data[14 + 8], 1);

	s6.af = AF_INET6;
	s6.src = C6;
	s6.dst = V6;
	p = build(&s6);
	assert_true(lvs_xmit_dec_ttl(p));
	assert_int_equal(p->data[14 + 7], 1);
	assert_false(lvs_xmit_dec_ttl(p));
}

static void test_set_l2_vlan(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1000,
	                 .dport = 80,
	                 .plen = 10};
	struct lvs_nexthop nh = {.ifindex = 5, .vlan_tci = 42};
	struct lvs_pkt *p = build(&s);
	uint8_t ipcopy[100];
	uint32_t iplen = p->pi.l3_len;
	uint16_t l4 = p->pi.l4_off;

	(void)state;
	/* only the offsets of a checksum-partial frame matter here */
	p->flags |= LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = l4;
	p->csum_offset = 16;
	memcpy(nh.mac, MAC_RS1, 6);
	memcpy(nh.src_mac, MAC_US, 6);
	memcpy(ipcopy, p->data + 14, iplen);
	/* add a tag: everything moves 4 bytes further from data */
	assert_int_equal(lvs_xmit_set_l2(p, &nh, 0x0800), 0);
	assert_int_equal(p->len, 18 + iplen);
	assert_int_equal(p->pi.l3_off, 18);
	assert_int_equal(p->pi.l4_off, l4 + 4);
	assert_int_equal(p->csum_start, l4 + 4);
	assert_int_equal(p->headroom, HEADROOM - 4);
	assert_memory_equal(p->data + 18, ipcopy, iplen);
	assert_int_equal(p->pi.nr_vlan, 1);
	assert_int_equal(p->pi.vlan_tci, 42);
	verify_frame(p, MAC_RS1, 42, 5);
	verify_pi(p);
	/* and remove it again */
	nh.vlan_tci = 0;
	assert_int_equal(lvs_xmit_set_l2(p, &nh, 0x0800), 0);
	assert_int_equal(p->pi.l3_off, 14);
	assert_int_equal(p->csum_start, l4);
	assert_int_equal(p->headroom, HEADROOM);
	assert_memory_equal(p->data + 14, ipcopy, iplen);
	verify_pi(p);
	/* no room in front */
	p->headroom = 0;
	nh.vlan_tci = 7;
	assert_int_equal(lvs_xmit_set_l2(p, &nh, 0x0800), -ENOBUFS);
}

static void test_set_l2_trims_padding(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = D4,
	                 .sport = 1,
	                 .dport = 2,
	                 .plen = 2};
	struct lvs_nexthop nh = {.ifindex = 1};
	struct lvs_pkt *p = build(&s);

	(void)state;
	p->len = 60; /* Ethernet minimum with padding */
	p->tailroom -= 60 - (14 + 30);
	assert_int_equal(lvs_xmit_set_l2(p, &nh, 0x0800), 0);
	assert_int_equal(p->len, 14 + 30);
}

/* ------------------------------------------------------------------ */
/* NAT                                                                */

static void nat_in_check(int af, uint8_t proto, bool udp_nocsum, uint16_t vlan)
{
	bool v4 = af == AF_INET;
	struct spec s = {.af = af,
	                 .proto = proto,
	                 .src = v4 ? C4 : C6,
	                 .dst = v4 ? V4 : V6,
	                 .sport = 40000,
	                 .dport = 80,
	                 .ttl = 64,
	                 .plen = 33,
	                 .udp_nocsum = udp_nocsum,
	                 .vlan = vlan};
	struct lvs_flow f = v4 ? flow4(proto, LVS_FWD_MASQ) : flow6(proto, LVS_FWD_MASQ);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why = LVS_DROP_IP4_CSUM;
	const uint8_t *ip, *l4;

	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(why, LVS_DROP_NONE);
	verify_frame(p, MAC_RS1, 0, 2);
	verify_pi(p);
	assert_ip_addrs(p, v4 ? C4 : C6, v4 ? D4 : D6);
	ip = p->data + 14;
	l4 = p->data + p->pi.l4_off;
	assert_int_equal(v4 ? ip[8] : ip[7], 63);
	assert_int_equal(r_get16(l4), 40000);
	assert_int_equal(r_get16(l4 + 2), 8080);
	assert_int_equal(p->pi.dport, htons(8080));
	if (udp_nocsum)
		assert_int_equal(r_get16(l4 + 6), 0);
}

static void test_nat_in_tcp4(void **state)
{
	(void)state;
	nat_in_check(AF_INET, IPPROTO_TCP, false, 0);
}

static void test_nat_in_tcp4_vlan_in(void **state)
{
	(void)state;
	nat_in_check(AF_INET, IPPROTO_TCP, false, 7); /* incoming tag removed */
}

static void test_nat_in_udp4(void **state)
{
	(void)state;
	nat_in_check(AF_INET, IPPROTO_UDP, false, 0);
	nat_in_check(AF_INET, IPPROTO_UDP, true, 0);
}

static void test_nat_in_tcp6_udp6(void **state)
{
	(void)state;
	nat_in_check(AF_INET6, IPPROTO_TCP, false, 0);
	nat_in_check(AF_INET6, IPPROTO_UDP, false, 0);
}

static void test_nat_in_sctp(void **state)
{
	(void)state;
	nat_in_check(AF_INET, IPPROTO_SCTP, false, 0);
	nat_in_check(AF_INET6, IPPROTO_SCTP, false, 0);
}

/* A NAT rewrite whose UDP checksum comes out as zero must send 0xffff
 * (RFC 768); pick the payload so that it does. */
static void test_nat_udp_zero_result(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 40000,
	                 .dport = 80,
	                 .plen = 2};
	struct lvs_flow f = flow4(IPPROTO_UDP, LVS_FWD_MASQ);
	uint8_t ip[64];
	uint32_t n = build_ip(ip, &s);
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint16_t w;

	(void)state;
	/* the packet as it will leave, payload word and checksum zero */
	memcpy(ip + 16, &f.daddr.ip4, 4);
	r_put16(ip + 22, 8080);
	memset(ip + 26, 0, 4);
	w = (uint16_t)(0xffff - r_fold(r_sum(ip + 20, n - 20,
	                                     r_pseudo(AF_INET, ip + 12, ip + 16, 17, n - 20))));
	/* the packet the client sends: that payload word, its own checksum */
	n = build_ip(ip, &s);
	r_put16(ip + 28, w);
	memset(ip + 26, 0, 2);
	r_put16(ip + 26, (uint16_t)~r_fold(r_sum(ip + 20, n - 20,
	                                         r_pseudo(AF_INET, ip + 12, ip + 16, 17, n - 20))));
	p = frame_of_ip(&fr, ip, n, 0);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(r_get16(p->data + 34 + 6), 0xffff);
	verify_frame(p, MAC_RS1, 0, 2);
}

static void nat_out_check(int af, uint8_t proto)
{
	bool v4 = af == AF_INET;
	struct spec s = {.af = af,
	                 .proto = proto,
	                 .src = v4 ? D4 : D6,
	                 .dst = v4 ? C4 : C6,
	                 .sport = 8080,
	                 .dport = 40000,
	                 .ttl = 64,
	                 .plen = 100,
	                 .tos = 0x28};
	struct lvs_flow f = v4 ? flow4(proto, LVS_FWD_MASQ) : flow6(proto, LVS_FWD_MASQ);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why;
	const uint8_t *l4;

	assert_int_equal(lvs_xmit_nat_out(p, &f, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_GW, 0, 1);
	verify_pi(p);
	assert_ip_addrs(p, v4 ? V4 : V6, v4 ? C4 : C6);
	l4 = p->data + p->pi.l4_off;
	assert_int_equal(r_get16(l4), 80);
	assert_int_equal(r_get16(l4 + 2), 40000);
	assert_int_equal(p->pi.ttl, 63);
	if (v4)
		assert_int_equal(p->data[15], 0x28); /* TOS untouched */
}

static void test_nat_out(void **state)
{
	(void)state;
	nat_out_check(AF_INET, IPPROTO_TCP);
	nat_out_check(AF_INET, IPPROTO_UDP);
	nat_out_check(AF_INET6, IPPROTO_TCP);
	nat_out_check(AF_INET6, IPPROTO_UDP);
	nat_out_check(AF_INET, IPPROTO_SCTP);
}

static void test_nat_icmp_echo(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_ICMP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 0x4242,
	                 .icmp_type = 8,
	                 .plen = 56};
	struct lvs_flow f = flow4(IPPROTO_ICMP, LVS_FWD_MASQ);
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	f.dport = htons(0x5555);
	f.vport = htons(0x4242);
	p = build(&s);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_RS1, 0, 2);
	verify_pi(p);
	assert_int_equal(r_get16(p->data + p->pi.l4_off + 4), 0x5555);

	/* the reply comes back with the server's identifier */
	s.src = D4;
	s.dst = C4;
	s.sport = 0x5555;
	s.icmp_type = 0;
	p = build(&s);
	assert_int_equal(lvs_xmit_nat_out(p, &f, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_GW, 0, 1);
	verify_pi(p);
	assert_int_equal(r_get16(p->data + p->pi.l4_off + 4), 0x4242);

	/* ICMPv6 echo: pseudo-header included */
	s.af = AF_INET6;
	s.proto = IPPROTO_ICMPV6;
	s.src = C6;
	s.dst = V6;
	s.sport = 0x4242;
	s.icmp_type = 128;
	f = flow6(IPPROTO_ICMPV6, LVS_FWD_MASQ);
	f.dport = htons(0x5555);
	p = build(&s);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	verify_frame(p, MAC_RS1, 0, 2);
	verify_pi(p);
	assert_int_equal(r_get16(p->data + p->pi.l4_off + 4), 0x5555);
}

/* Complete a checksum-partial frame as a NIC would: sum from csum_start to
 * the end of the IP packet (the field holds the pseudo-header sum) and
 * store the complement. */
static void complete_partial(struct lvs_pkt *p)
{
	uint8_t *start = p->data + p->csum_start;
	uint32_t n = (uint32_t)(p->pi.l3_off + p->pi.l3_len - p->csum_start);
	uint16_t c = (uint16_t)~r_fold(r_sum(start, n, 0));

	r_put16(start + p->csum_offset, c);
}

static void nat_partial_check(int af, uint8_t proto, bool in)
{
	bool v4 = af == AF_INET;
	struct spec s = {.af = af,
	                 .proto = proto,
	                 .src = v4 ? C4 : C6,
	                 .dst = v4 ? V4 : V6,
	                 .sport = 40000,
	                 .dport = 80,
	                 .plen = 200,
	                 .partial = true};
	struct lvs_flow f = v4 ? flow4(proto, LVS_FWD_MASQ) : flow6(proto, LVS_FWD_MASQ);
	struct lvs_pkt *p;
	enum lvs_drop why;

	if (!in) {
		s.src = v4 ? D4 : D6;
		s.dst = v4 ? C4 : C6;
		s.sport = 8080;
		s.dport = 40000;
	}
	p = build(&s);
	assert_int_equal(in ? lvs_xmit_nat_in(p, &f, &env, &why)
	                    : lvs_xmit_nat_out(p, &f, &env, &why),
	                 LVS_V_TX);
	/* still partial, pointing at the same L4 header */
	assert_true(p->flags & LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p->csum_start, p->pi.l4_off);
	complete_partial(p);
	verify_frame(p, in ? MAC_RS1 : MAC_GW, 0, in ? 2 : 1);
	assert_int_equal(r_get16(p->data + p->pi.l4_off + (in ? 2 : 0)), in ? 8080 : 80);
}

static void test_nat_partial(void **state)
{
	(void)state;
	nat_partial_check(AF_INET, IPPROTO_TCP, true);
	nat_partial_check(AF_INET, IPPROTO_UDP, true);
	nat_partial_check(AF_INET6, IPPROTO_TCP, true);
	nat_partial_check(AF_INET6, IPPROTO_UDP, true);
	nat_partial_check(AF_INET, IPPROTO_TCP, false);
	nat_partial_check(AF_INET6, IPPROTO_UDP, false);
}

static void test_nat_partial_bad_offsets(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1,
	                 .dport = 80,
	                 .plen = 10,
	                 .partial = true};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why;

	(void)state;
	p->csum_offset = 2000;
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_L4_CSUM);
}

static void test_nat_fragments(void **state)
{
	/* first fragment: ports and checksum rewritten incrementally (the
	 * checksum covers the whole datagram, so verify on that) */
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 40000,
	                 .dport = 80,
	                 .plen = 100};
	struct lvs_flow f = flow4(IPPROTO_UDP, LVS_FWD_MASQ);
	uint8_t whole[200], frag[200];
	uint32_t n = build_ip(whole, &s);
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint32_t sum;

	(void)state;
	/* fragment 1: header + first 48 bytes of UDP; MF set */
	memcpy(frag, whole, 20 + 48);
	r_put16(frag + 2, 20 + 48);
	r_put16(frag + 6, 0x2000);
	r_put16(frag + 10, 0);
	r_put16(frag + 10, (uint16_t)~r_fold(r_sum(frag, 20, 0)));
	p = frame_of_ip(&fr, frag, 20 + 48, 0);
	assert_int_equal(p->pi.frag, LVS_FRAG_FIRST);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(r_fold(r_sum(p->data + 14, 20, 0)), 0xffff);
	assert_int_equal(r_get16(p->data + 34 + 2), 8080);
	/* the new checksum with the rest of the datagram sums right */
	memcpy(whole + 20, p->data + 34, 48);
	memcpy(whole + 16, p->data + 30, 4);
	sum = r_sum(whole + 20, n - 20, r_pseudo(AF_INET, whole + 12, whole + 16, 17, n - 20));
	assert_int_equal(r_fold(sum), 0xffff);
	verify_pi(p);

	/* later fragment: only the address changes */
	n = build_ip(whole, &s);
	memcpy(frag, whole, 20);
	memcpy(frag + 20, whole + 20 + 48, n - 20 - 48);
	r_put16(frag + 2, (uint16_t)(n - 48));
	r_put16(frag + 6, 48 / 8);
	r_put16(frag + 10, 0);
	r_put16(frag + 10, (uint16_t)~r_fold(r_sum(frag, 20, 0)));
	p = frame_of_ip(&fr, frag, n - 48, 0);
	assert_int_equal(p->pi.frag, LVS_FRAG_LATER);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(r_fold(r_sum(p->data + 14, 20, 0)), 0xffff);
	assert_memory_equal(p->data + 34, whole + 20 + 48, n - 20 - 48);
	assert_ip_addrs(p, C4, D4);
	verify_pi(p);
}

static void test_nat_family_mismatch(void **state)
{
	struct spec s = {
	        .af = AF_INET, .proto = IPPROTO_TCP, .src = C4, .dst = V4, .sport = 1, .dport = 80};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why;

	(void)state;
	f.daf = AF_INET6;
	f.daddr = t_ip6(D6);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_FWD_UNSUPPORTED);
}

/* ------------------------------------------------------------------ */
/* DR                                                                 */

static void dr_check(int af, const char *daddr, const uint8_t *mac, uint16_t vlan, uint32_t ifx)
{
	bool v4 = af == AF_INET;
	struct spec s = {.af = af,
	                 .proto = IPPROTO_TCP,
	                 .src = v4 ? C4 : C6,
	                 .dst = v4 ? V4 : V6,
	                 .sport = 40000,
	                 .dport = 80,
	                 .ttl = 10,
	                 .plen = 300,
	                 .df = true};
	struct lvs_flow f =
	        v4 ? flow4(IPPROTO_TCP, LVS_FWD_ROUTE) : flow6(IPPROTO_TCP, LVS_FWD_ROUTE);
	struct lvs_pkt *p = build(&s);
	uint8_t orig[600];
	uint32_t iplen = p->pi.l3_len;
	enum lvs_drop why;
	uint32_t l2 = vlan ? 18 : 14;

	f.daddr = A(af, daddr);
	memcpy(orig, p->data + 14, iplen);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	verify_frame(p, mac, vlan, ifx);
	verify_pi(p);
	/* only TTL (and the IPv4 header checksum) changed */
	if (v4) {
		assert_int_equal(p->data[l2 + 8], 9);
		orig[8] = 9;
		memcpy(orig + 10, p->data + l2 + 10, 2);
	} else {
		assert_int_equal(p->data[l2 + 7], 9);
		orig[7] = 9;
	}
	assert_memory_equal(p->data + l2, orig, iplen);
}

static void test_dr(void **state)
{
	(void)state;
	dr_check(AF_INET, D4, MAC_RS1, 0, 2);
	dr_check(AF_INET, D4_SMALL, MAC_RS2, 42, 3);
	dr_check(AF_INET6, D6, MAC_RS1, 0, 2);
}

static void test_dr_partial_gso_kept(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1,
	                 .dport = 80,
	                 .plen = 3000,
	                 .partial = true,
	                 .df = true};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_ROUTE);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why;

	(void)state;
	f.daddr = t_ip4(D4_SMALL); /* VLAN: everything moves by 4 */
	p->gso_size = 1348;        /* 20 + 20 + 1348 fits 1400 */
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	assert_true(p->flags & LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p->csum_start, 18 + 20);
	assert_int_equal(p->gso_size, 1348);
	complete_partial(p);
	verify_frame(p, MAC_RS2, 42, 3);

	/* one segment too big for the route */
	p = build(&s);
	p->gso_size = 1448;
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(p->pi.proto, IPPROTO_ICMP);
	assert_int_equal(r_get16(p->data + p->pi.l4_off + 6), 1400);
}

static void test_route_failures(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1,
	                 .dport = 80,
	                 .plen = 10};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_ROUTE);
	struct lvs_pkt *p = build(&s);
	enum lvs_drop why;

	(void)state;
	f.daddr = t_ip4(D4_AGAIN);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_NO_NEIGH);

	/* no route: host unreachable back to the client, as the kernel */
	p = build(&s);
	f.daddr = t_ip4(D4_UNREACH);
	assert_int_equal(lvs_xmit_dr(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(why, LVS_DROP_NO_NEIGH);
	verify_frame(p, MAC_GW, 0, 1);
	assert_int_equal(p->data[34], 3);
	assert_int_equal(p->data[35], 1);
}

/* ------------------------------------------------------------------ */
/* TUN                                                                */

struct tun_case {
	int iaf, oaf;
	uint8_t type;
	uint16_t flags;
	bool partial;
};

static void tun_check(const struct tun_case *tc)
{
	bool i4 = tc->iaf == AF_INET, o4 = tc->oaf == AF_INET;
	struct spec s = {.af = tc->iaf,
	                 .proto = IPPROTO_TCP,
	                 .src = i4 ? C4 : C6,
	                 .dst = i4 ? V4 : V6,
	                 .sport = 40000,
	                 .dport = 80,
	                 .ttl = 30,
	                 .tos = 0xb8,
	                 .df = true,
	                 .plen = 77,
	                 .partial = tc->partial,
	                 .ip_id = 0x7777};
	struct lvs_flow f =
	        i4 ? flow4(IPPROTO_TCP, LVS_FWD_TUNNEL) : flow6(IPPROTO_TCP, LVS_FWD_TUNNEL);
	struct lvs_pkt *p = build(&s);
	uint8_t inner[400];
	uint32_t ilen = p->pi.l3_len, ohl = o4 ? 20 : 40, encl = 0, l2 = 14;
	bool remcsum = tc->type == LVS_TUN_GUE && (tc->flags & LVS_TUN_F_REMCSUM) && tc->partial;
	const uint8_t *o, *e, *in;
	union lvs_addr dsrc = A(tc->oaf, o4 ? DIR4_IN : DIR6_IN), dd;
	enum lvs_drop why;
	uint8_t proto_in = i4 ? 4 : 41;

	f.daf = (uint8_t)tc->oaf;
	f.daddr = A(tc->oaf, o4 ? D4 : D6);
	dd = f.daddr;
	f.tun_type = tc->type;
	f.tun_flags = tc->flags;
	f.tun_port = htons(6080);
	memcpy(inner, p->data + 14, ilen);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(why, LVS_DROP_NONE);
	assert_false(p->flags & LVS_PKT_F_CSUM_PARTIAL);
	if (tc->type == LVS_TUN_GUE)
		encl = 12 + (remcsum ? 8 : 0);
	else if (tc->type == LVS_TUN_GRE)
		encl = (tc->flags & LVS_TUN_F_CSUM) ? 8 : 4;
	assert_int_equal(p->len, l2 + ohl + encl + ilen);
	o = p->data + l2;
	e = o + ohl;
	in = e + encl;

	/* inner: TTL decremented, otherwise the client's packet (checksum
	 * completed when it was partial) */
	if (i4) {
		assert_int_equal(in[8], 29);
		assert_int_equal(r_fold(r_sum(in, 20, 0)), 0xffff);
		assert_memory_equal(in + 12, inner + 12, 8);
	} else {
		assert_int_equal(in[7], 29);
		assert_memory_equal(in + 8, inner + 8, 32);
	}
	assert_memory_equal(in + (i4 ? 20 : 40), inner + (i4 ? 20 : 40), 16);
	assert_memory_equal(in + (i4 ? 40 : 60), inner + (i4 ? 40 : 60), ilen - (i4 ? 40 : 60));

	/* outer header */
	if (o4) {
		assert_int_equal(o[0], 0x45);
		assert_int_equal(o[1], 0xb8);
		assert_int_equal(r_get16(o + 2), ohl + encl + ilen);
		assert_int_equal(r_get16(o + 6), i4 ? 0x4000 : 0); /* DF copied; v6: clear */
		assert_int_equal(o[8], 29);
		assert_memory_equal(o + 12, &dsrc.ip4, 4);
		assert_memory_equal(o + 16, &dd.ip4, 4);
	} else {
		assert_int_equal(r_get32(o), 0x60000000u | 0xb8u << 20);
		assert_int_equal(r_get16(o + 4), encl + ilen);
		assert_int_equal(o[7], 29);
		assert_memory_equal(o + 8, dsrc.b, 16);
		assert_memory_equal(o + 24, dd.b, 16);
	}
	switch (tc->type) {
	case LVS_TUN_IPIP:
		assert_int_equal(o4 ? o[9] : o[6], proto_in);
		break;
	case LVS_TUN_GUE:
		assert_int_equal(o4 ? o[9] : o[6], IPPROTO_UDP);
		assert_int_equal(r_get16(e + 2), 6080);
		assert_true(r_get16(e) >= 32768 && r_get16(e) <= 60999);
		assert_int_equal(r_get16(e + 4), encl + ilen);
		if (o4 && !(tc->flags & (LVS_TUN_F_CSUM | LVS_TUN_F_REMCSUM)))
			assert_int_equal(r_get16(e + 6), 0);
		else
			assert_int_not_equal(r_get16(e + 6), 0);
		assert_int_equal(e[8], remcsum ? 2 : 0); /* ver 0, C 0, hlen */
		assert_int_equal(e[9], proto_in);
		assert_int_equal(r_get16(e + 10), remcsum ? 1 : 0);
		if (remcsum) {
			uint32_t il4 = i4 ? 20 : 40;
			assert_int_equal(r_get32(e + 12), 0x80000000u);
			assert_int_equal(r_get16(e + 16), il4);
			assert_int_equal(r_get16(e + 18), il4 + 16);
		}
		break;
	case LVS_TUN_GRE:
		assert_int_equal(o4 ? o[9] : o[6], IPPROTO_GRE);
		assert_int_equal(r_get16(e), (tc->flags & LVS_TUN_F_CSUM) ? 0x8000 : 0);
		assert_int_equal(r_get16(e + 2), i4 ? 0x0800 : 0x86dd);
		if (tc->flags & LVS_TUN_F_CSUM) {
			/* checksum in bytes 4-5 (the sum alone cannot tell where) */
			uint8_t tmp[600];
			memcpy(tmp, e, encl + ilen);
			memset(tmp + 4, 0, 2);
			assert_int_equal(r_get16(e + 4),
			                 (uint16_t)~r_fold(r_sum(tmp, encl + ilen, 0)));
			assert_int_equal(r_get16(e + 6), 0);
		}
		break;
	}
	if (remcsum) {
		/* the real server completes the inner checksum (remote offload);
		 * do it here and everything must verify */
		uint8_t *l4 = (uint8_t *)in + (i4 ? 20 : 40);
		uint32_t n = ilen - (i4 ? 20 : 40);
		uint16_t c = (uint16_t)~r_fold(r_sum(l4, n, 0));
		uint16_t old = r_get16(l4 + 16);
		/* the outer UDP checksum verifies before completion */
		assert_int_equal(
		        r_fold(r_sum(e, encl + ilen,
		                     r_pseudo(tc->oaf, o4 ? o + 12 : o + 8, o4 ? o + 16 : o + 24,
		                              IPPROTO_UDP, encl + ilen))),
		        0xffff);
		r_put16(l4 + 16, c);
		if (r_get16(e + 6)) {
			/* adjust the outer UDP sum for the receiver-side change */
			uint16_t u = r_get16(e + 6);
			uint32_t t = (uint16_t)~u + (uint16_t)~old + c;
			r_put16((uint8_t *)e + 6, (uint16_t)~r_fold(t));
		}
	}
	verify_frame(p, MAC_RS1, 0, 2);
	verify_pi(p);
}

static void test_tun_ipip(void **state)
{
	static const struct tun_case c[] = {
	        {AF_INET, AF_INET, LVS_TUN_IPIP, 0, false},
	        {AF_INET6, AF_INET6, LVS_TUN_IPIP, 0, false},
	        {AF_INET, AF_INET6, LVS_TUN_IPIP, 0, false},
	        {AF_INET6, AF_INET, LVS_TUN_IPIP, 0, false},
	        {AF_INET, AF_INET, LVS_TUN_IPIP, 0, true},
	        {AF_INET6, AF_INET6, LVS_TUN_IPIP, 0, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tun_check(&c[i]);
}

static void test_tun_gue(void **state)
{
	static const struct tun_case c[] = {
	        {AF_INET, AF_INET, LVS_TUN_GUE, LVS_TUN_F_NOCSUM, false},
	        {AF_INET, AF_INET, LVS_TUN_GUE, LVS_TUN_F_CSUM, false},
	        {AF_INET6, AF_INET6, LVS_TUN_GUE, LVS_TUN_F_NOCSUM, false},
	        {AF_INET, AF_INET6, LVS_TUN_GUE, LVS_TUN_F_CSUM, true},
	        {AF_INET6, AF_INET, LVS_TUN_GUE, LVS_TUN_F_NOCSUM, true},
	        {AF_INET, AF_INET, LVS_TUN_GUE, LVS_TUN_F_REMCSUM, false},
	        {AF_INET, AF_INET, LVS_TUN_GUE, LVS_TUN_F_REMCSUM, true},
	        {AF_INET6, AF_INET6, LVS_TUN_GUE, LVS_TUN_F_REMCSUM, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tun_check(&c[i]);
}

static void test_tun_gre(void **state)
{
	static const struct tun_case c[] = {
	        {AF_INET, AF_INET, LVS_TUN_GRE, 0, false},
	        {AF_INET, AF_INET, LVS_TUN_GRE, LVS_TUN_F_CSUM, false},
	        {AF_INET6, AF_INET6, LVS_TUN_GRE, LVS_TUN_F_CSUM, true},
	        {AF_INET6, AF_INET, LVS_TUN_GRE, 0, false},
	        {AF_INET, AF_INET6, LVS_TUN_GRE, LVS_TUN_F_CSUM, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tun_check(&c[i]);
}

static void test_tun_ids_and_ports(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 40000,
	                 .dport = 53,
	                 .plen = 8,
	                 .ip_id = 100};
	struct lvs_flow f = flow4(IPPROTO_UDP, LVS_FWD_TUNNEL);
	struct lvs_pkt *p;
	enum lvs_drop why;
	uint16_t id1, id2, sp1, sp2;

	(void)state;
	f.tun_type = LVS_TUN_GUE;
	f.tun_port = htons(6080);
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	id1 = r_get16(p->data + 14 + 4);
	sp1 = r_get16(p->data + 34);
	s.ip_id = 101;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	id2 = r_get16(p->data + 14 + 4);
	sp2 = r_get16(p->data + 34);
	assert_int_equal((uint16_t)(id1 + 1), id2);     /* consecutive inner ids stay apart */
	assert_int_equal(sp1, sp2);                     /* one flow, one source port */
	assert_int_equal(r_get16(p->data + 14 + 6), 0); /* no DF inner: no DF outer */

	/* ECN: congestion experienced inside becomes ECT(0) outside */
	s.tos = 0x2b;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_TX);
	assert_int_equal(p->data[14 + 1], 0x2a);
	assert_int_equal(p->data[14 + 32 + 1], 0x2b);
	verify_frame(p, MAC_RS1, 0, 2);
}

static void test_tun_errors(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = 1,
	                 .dport = 80,
	                 .plen = 10};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_TUNNEL);
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	f.tun_type = 9;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_FWD_UNSUPPORTED);

	f.tun_type = LVS_TUN_IPIP;
	fe.no_src = true;
	p = build(&s);
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_NO_NEIGH);
	fe.no_src = false;

	/* no headroom for the outer header */
	p = build(&s);
	p->headroom = 0;
	assert_int_equal(lvs_xmit_tun(p, &f, &env, &why), LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_NO_ROOM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_dec_ttl, setup),
	        cmocka_unit_test_setup(test_set_l2_vlan, setup),
	        cmocka_unit_test_setup(test_set_l2_trims_padding, setup),
	        cmocka_unit_test_setup(test_nat_in_tcp4, setup),
	        cmocka_unit_test_setup(test_nat_in_tcp4_vlan_in, setup),
	        cmocka_unit_test_setup(test_nat_in_udp4, setup),
	        cmocka_unit_test_setup(test_nat_in_tcp6_udp6, setup),
	        cmocka_unit_test_setup(test_nat_in_sctp, setup),
	        cmocka_unit_test_setup(test_nat_out, setup),
	        cmocka_unit_test_setup(test_nat_udp_zero_result, setup),
	        cmocka_unit_test_setup(test_nat_icmp_echo, setup),
	        cmocka_unit_test_setup(test_nat_partial, setup),
	        cmocka_unit_test_setup(test_nat_partial_bad_offsets, setup),
	        cmocka_unit_test_setup(test_nat_fragments, setup),
	        cmocka_unit_test_setup(test_nat_family_mismatch, setup),
	        cmocka_unit_test_setup(test_dr, setup),
	        cmocka_unit_test_setup(test_dr_partial_gso_kept, setup),
	        cmocka_unit_test_setup(test_route_failures, setup),
	        cmocka_unit_test_setup(test_tun_ipip, setup),
	        cmocka_unit_test_setup(test_tun_gue, setup),
	        cmocka_unit_test_setup(test_tun_gre, setup),
	        cmocka_unit_test_setup(test_tun_ids_and_ports, setup),
	        cmocka_unit_test_setup(test_tun_errors, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
