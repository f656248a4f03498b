/*
 * test_xmit_noneigh.c - the guarantee the daemon's hold queue (holdq.h)
 * builds on: whenever a transform returns LVS_V_DROP with
 * LVS_DROP_NO_NEIGH, the frame is exactly as received -- every byte of the
 * buffer (headroom and tailroom included) and every field of struct
 * lvs_pkt -- so it can be run through the director again once the next
 * hop is resolved.  Routing is the first step of every transform, before
 * the TTL / MTU checks and any rewriting; checked here for NAT (both
 * directions), DR, every tunnel, the ICMP error translation, the corner
 * cases that would answer with an ICMP error if the route had succeeded
 * (TTL 1, too big, GSO), no source address for a tunnel, and "no route"
 * whose host-unreachable cannot be sent because the client's next hop is
 * unresolved too.
 */
#include "xmit_frames.h"

#define D4_NOROUTE "10.9.0.1"

/* The environment: every next hop is unresolved, but D4_NOROUTE has no
 * route at all.  The next hop is filled with junk first: a transform must
 * not use it after a failure. */
static int nn_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	struct fenv *e = ctx;
	union lvs_addr none = t_ip4(D4_NOROUTE);

	e->nroute++;
	memset(nh, 0xee, sizeof(*nh));
	if (af == AF_INET && lvs_addr_eq(dst, &none))
		return -EHOSTUNREACH;
	return -EAGAIN;
}

static int nn_setup(void **state)
{
	setup(state);
	env.route = nn_route;
	return 0;
}

static uint8_t before_buf[BUFSZ];
static struct lvs_pkt before;

static void snap(const struct lvs_pkt *p)
{
	memcpy(before_buf, fr.buf, sizeof(fr.buf));
	before = *p;
	fe.nroute = 0;
}

/* A NO_NEIGH drop, with the frame and its view untouched. */
static void check_untouched(const struct lvs_pkt *p, enum lvs_verdict v, enum lvs_drop why)
{
	assert_int_equal(v, LVS_V_DROP);
	assert_int_equal(why, LVS_DROP_NO_NEIGH);
	assert_ptr_equal(p->data, before.data);
	assert_int_equal(p->len, before.len);
	assert_int_equal(p->headroom, before.headroom);
	assert_int_equal(p->tailroom, before.tailroom);
	assert_int_equal(p->flags, before.flags);
	assert_int_equal(p->csum_start, before.csum_start);
	assert_int_equal(p->csum_offset, before.csum_offset);
	assert_int_equal(p->gso_size, before.gso_size);
	assert_int_equal(p->gso_type, before.gso_type);
	assert_int_equal(p->mark, before.mark);
	assert_int_equal(p->ifindex, before.ifindex);
	assert_memory_equal(&p->pi, &before.pi, sizeof(p->pi));
	assert_memory_equal(fr.buf, before_buf, sizeof(fr.buf));
}

typedef enum lvs_verdict (*xmit_fn)(struct lvs_pkt *p, const struct lvs_flow *f,
                                    const struct lvs_xmit_env *env, enum lvs_drop *why);

static void check_fn(struct lvs_pkt *p, xmit_fn fn, const struct lvs_flow *f)
{
	enum lvs_drop why = LVS_DROP_NONE;
	enum lvs_verdict v;

	snap(p);
	v = fn(p, f, &env, &why);
	check_untouched(p, v, why);
	assert_true(fe.nroute >= 1);
}

/* A client packet toward the VIP, as the NAT / DR / TUN tests send. */
static struct lvs_pkt *client_pkt(int af, uint8_t proto, const struct spec *extra)
{
	struct spec s = {.af = af,
	                 .proto = proto,
	                 .src = af == AF_INET ? C4 : C6,
	                 .dst = af == AF_INET ? V4 : V6,
	                 .sport = 40000,
	                 .dport = 80,
	                 .tcp_flags = 0x02,
	                 .plen = 100};

	if (extra) {
		s.ttl = extra->ttl;
		s.df = extra->df;
		s.plen = extra->plen ? extra->plen : s.plen;
		s.vlan = extra->vlan;
		s.partial = extra->partial;
	}
	return build(&s);
}

static void test_nat_dr(void **state)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};
	struct spec partial = {.partial = true}, vlan = {.vlan = 7};

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;

		for (size_t i = 0; i < sizeof(protos); i++) {
			struct lvs_flow f = fam ? flow6(protos[i], LVS_FWD_MASQ)
			                        : flow4(protos[i], LVS_FWD_MASQ);

			check_fn(client_pkt(af, protos[i], NULL), lvs_xmit_nat_in, &f);
			f.fwd = LVS_FWD_ROUTE;
			check_fn(client_pkt(af, protos[i], NULL), lvs_xmit_dr, &f);
		}
		/* checksum-partial and tagged frames */
		{
			struct lvs_flow f = fam ? flow6(IPPROTO_TCP, LVS_FWD_MASQ)
			                        : flow4(IPPROTO_TCP, LVS_FWD_MASQ);

			check_fn(client_pkt(af, IPPROTO_TCP, &partial), lvs_xmit_nat_in, &f);
			check_fn(client_pkt(af, IPPROTO_TCP, &vlan), lvs_xmit_nat_in, &f);
			f.fwd = LVS_FWD_ROUTE;
			check_fn(client_pkt(af, IPPROTO_TCP, &vlan), lvs_xmit_dr, &f);
		}
	}
}

static void test_nat_reply(void **state)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_TCP,
	                 .src = D4,
	                 .dst = C4,
	                 .sport = 8080,
	                 .dport = 40000,
	                 .tcp_flags = 0x12,
	                 .plen = 30};
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);

	(void)state;
	/* the route toward the client is the one that waits */
	check_fn(build(&s), lvs_xmit_nat_out, &f);
	s.af = AF_INET6;
	s.src = D6;
	s.dst = C6;
	s.partial = true;
	f = flow6(IPPROTO_TCP, LVS_FWD_MASQ);
	check_fn(build(&s), lvs_xmit_nat_out, &f);
}

static void test_tunnels(void **state)
{
	struct spec partial = {.partial = true};

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;

		for (int t = LVS_TUN_IPIP; t <= LVS_TUN_GRE; t++) {
			struct lvs_flow f = fam ? flow6(IPPROTO_TCP, LVS_FWD_TUNNEL)
			                        : flow4(IPPROTO_TCP, LVS_FWD_TUNNEL);

			f.tun_type = (uint8_t)t;
			f.tun_port = htons(6080);
			f.tun_flags = t == LVS_TUN_GUE ? LVS_TUN_F_REMCSUM : LVS_TUN_F_CSUM;
			check_fn(client_pkt(af, IPPROTO_TCP, NULL), lvs_xmit_tun, &f);
			/* remote checksum offload / checksum completion come
			 * after routing too */
			check_fn(client_pkt(af, IPPROTO_TCP, &partial), lvs_xmit_tun, &f);
			/* the other family outside */
			f.daf = fam ? AF_INET : AF_INET6;
			f.daddr = fam ? t_ip4(D4) : t_ip6(D6);
			check_fn(client_pkt(af, IPPROTO_UDP, NULL), lvs_xmit_tun, &f);
		}
	}
	/* no source address for the outer header: also reported as
	 * NO_NEIGH, also before anything changed */
	{
		struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_TUNNEL);
		struct lvs_pkt *p = client_pkt(AF_INET, IPPROTO_TCP, NULL);
		enum lvs_drop why;
		enum lvs_verdict v;

		fe.no_src = true;
		snap(p);
		v = lvs_xmit_tun(p, &f, &env, &why);
		check_untouched(p, v, why);
		fe.no_src = false;
	}
}

/* Checks that would answer with an ICMP error come after routing: while
 * the next hop is unresolved, the packet is kept as it is. */
static void test_route_before_checks(void **state)
{
	struct spec ttl1 = {.ttl = 1}, big = {.plen = 3000, .df = true}, big_nodf = {.plen = 3000},
	            gso = {.plen = 20000, .partial = true};
	struct lvs_pkt *p;

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;
		struct lvs_flow f =
		        fam ? flow6(IPPROTO_TCP, LVS_FWD_MASQ) : flow4(IPPROTO_TCP, LVS_FWD_MASQ);

		check_fn(client_pkt(af, IPPROTO_TCP, &ttl1), lvs_xmit_nat_in, &f);
		check_fn(client_pkt(af, IPPROTO_TCP, &big), lvs_xmit_nat_in, &f);
		check_fn(client_pkt(af, IPPROTO_TCP, &big_nodf), lvs_xmit_nat_in, &f);
		f.fwd = LVS_FWD_ROUTE;
		check_fn(client_pkt(af, IPPROTO_TCP, &ttl1), lvs_xmit_dr, &f);
		/* a TSO super-frame through a tunnel */
		f.fwd = LVS_FWD_TUNNEL;
		f.tun_type = LVS_TUN_GRE;
		p = client_pkt(af, IPPROTO_TCP, &gso);
		p->gso_size = 1400;
		p->gso_type = af == AF_INET ? 1 : 4;
		check_fn(p, lvs_xmit_tun, &f);
		f.tun_type = LVS_TUN_IPIP;
		check_fn(client_pkt(af, IPPROTO_TCP, &ttl1), lvs_xmit_tun, &f);
	}
}

/* No route to the server: the director answers host unreachable, but
 * that answer waits for the client's next hop too; the original is
 * reported NO_NEIGH and must be intact. */
static void test_no_route_unresolved_client(void **state)
{
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	struct spec partial = {.partial = true};

	(void)state;
	f.daddr = t_ip4(D4_NOROUTE);
	check_fn(client_pkt(AF_INET, IPPROTO_TCP, NULL), lvs_xmit_nat_in, &f);
	assert_int_equal(fe.nroute, 2); /* the server, then the client */
	check_fn(client_pkt(AF_INET, IPPROTO_TCP, &partial), lvs_xmit_nat_in, &f);
	assert_int_equal(fe.nroute, 2);
	f.fwd = LVS_FWD_ROUTE;
	check_fn(client_pkt(AF_INET, IPPROTO_UDP, &partial), lvs_xmit_dr, &f);
	f.fwd = LVS_FWD_TUNNEL;
	check_fn(client_pkt(AF_INET, IPPROTO_UDP, NULL), lvs_xmit_tun, &f);
}

/* An ICMP error (type 3 / ICMPv6 1 or 2) from src to dst quoting q. */
static struct lvs_pkt *icmp_err(int af, const char *src, const char *dst, const uint8_t *q,
                                uint32_t qlen)
{
	static uint8_t ip[400];
	bool v4 = af == AF_INET;
	uint32_t ihl = v4 ? 20 : 40;
	struct spec s = {.af = af,
	                 .proto = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
	                 .src = src,
	                 .dst = dst,
	                 .icmp_type = v4 ? 3 : 1,
	                 .icmp_code = v4 ? 1 : 3,
	                 .plen = (uint16_t)qlen};
	uint8_t *ic = ip + ihl;
	uint32_t n = build_ip(ip, &s);
	uint32_t ps = v4 ? 0 : r_pseudo(af, ip + 8, ip + 24, IPPROTO_ICMPV6, 8 + qlen);

	memcpy(ic + 8, q, qlen);
	r_put16(ic + 2, 0);
	r_put16(ic + 4, 0);
	r_put16(ic + 6, 0);
	r_put16(ic + 2, (uint16_t)~r_fold(r_sum(ic, 8 + qlen, ps)));
	return frame_of_ip(&fr, ip, n, 0);
}

static void check_icmp(int af, uint8_t fwd, int dir)
{
	bool v4 = af == AF_INET, in = dir == LVS_DIR_INPUT;
	struct lvs_flow f = v4 ? flow4(IPPROTO_UDP, fwd) : flow6(IPPROTO_UDP, fwd);
	const char *c = v4 ? C4 : C6, *vv = v4 ? V4 : V6, *d = v4 ? D4 : D6;
	const char *router = v4 ? "198.51.100.1" : "2001:db8:99::1";
	struct spec q = {.af = af, .proto = IPPROTO_UDP, .plen = 12};
	struct lvs_pkt_info inner;
	enum lvs_drop why = LVS_DROP_NONE;
	enum lvs_verdict v;
	struct lvs_pkt *p;
	uint8_t qip[200];
	uint32_t qlen;

	/* INPUT: it quotes vaddr:80 -> caddr:40000 and came toward the VIP;
	 * OUTPUT: it quotes caddr -> daddr:8080 and is for the client */
	q.src = in ? vv : c;
	q.dst = in ? c : d;
	q.sport = in ? 80 : 40000;
	q.dport = in ? 40000 : 8080;
	qlen = build_ip(qip, &q);
	p = icmp_err(af, router, in ? vv : c, qip, qlen);
	assert_int_equal(lvs_pkt_parse_icmp_inner(p, &inner), LVS_DROP_NONE);
	snap(p);
	v = lvs_xmit_icmp_error(p, &inner, &f, dir, &env, &why);
	check_untouched(p, v, why);
	assert_true(fe.nroute >= 1);
}

static void test_icmp_errors(void **state)
{
	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;

		check_icmp(af, LVS_FWD_MASQ, LVS_DIR_INPUT);
		check_icmp(af, LVS_FWD_MASQ, LVS_DIR_OUTPUT);
		check_icmp(af, LVS_FWD_ROUTE, LVS_DIR_INPUT);
		check_icmp(af, LVS_FWD_TUNNEL, LVS_DIR_INPUT);
	}
}

/* The same frames with routes that work are rewritten: the checks above
 * do look at a frame a transform would have changed. */
static void test_control_resolved_changes_frame(void **state)
{
	struct lvs_flow f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	struct lvs_pkt *p;
	enum lvs_drop why;

	(void)state;
	env.route = f_route;
	p = client_pkt(AF_INET, IPPROTO_TCP, NULL);
	snap(p);
	assert_int_equal(lvs_xmit_nat_in(p, &f, &env, &why), LVS_V_TX);
	assert_memory_not_equal(fr.buf, before_buf, sizeof(fr.buf));
	verify_frame(p, MAC_RS1, 0, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_nat_dr, nn_setup),
	        cmocka_unit_test_setup(test_nat_reply, nn_setup),
	        cmocka_unit_test_setup(test_tunnels, nn_setup),
	        cmocka_unit_test_setup(test_route_before_checks, nn_setup),
	        cmocka_unit_test_setup(test_no_route_unresolved_client, nn_setup),
	        cmocka_unit_test_setup(test_icmp_errors, nn_setup),
	        cmocka_unit_test_setup(test_control_resolved_changes_frame, nn_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
