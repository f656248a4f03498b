/*
 * test_rtnl_route.c - the routing table of src/net/rtnl_route.c (included
 * here with rtnl.c to reach their message handlers): routes arrive as real
 * rtnetlink messages (RTM_NEWROUTE / RTM_DELROUTE built with libmnl,
 * nl_build.h, parsed by the same callback the netlink socket feeds), a
 * snapshot is published, and the longest-prefix match is checked against
 * a brute-force reference.
 *
 * Checked: host, network and default routes of both families; among equal
 * prefixes the lowest metric, then the route that came first (IPv6
 * siblings); replacement keeps a route's rank; the first next hop of a
 * multipath route; blackhole routes win their prefix and make it
 * unreachable; deletions (with and without a device); ranges' edges (first
 * and last address of a prefix and their neighbours, the family's last
 * address); 100,000 random routes per family, then half of them deleted;
 * lvs_netstate_route's next hop (gateway or the destination itself, the
 * egress link's MAC and MTU, the route's MTU).  No netlink socket.
 */
#include "test_util.h"

#include "nl_build.h"
#include "rtnl.c"
#include "rtnl_route.c"

static struct lvs_netstate *ns;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return nlb_rnd(&rng);
}

struct t_route {
	uint8_t af, plen, type;
	uint32_t oif, prio, mtu;
	bool has_gw, alive;
	union lvs_addr dst, gw;
};

static void feed(const struct nlmsghdr *nlh)
{
	assert_int_equal(msg_cb(nlh, ns), MNL_CB_OK);
}

static void publish(void)
{
	assert_int_equal(snap_publish(ns), 0);
	rcu_quiescent_state(); /* lets call_rcu free the replaced snapshot */
}

/* RTM_NEWROUTE / RTM_DELROUTE for r, as the kernel reports it. */
static void route_msg(uint16_t type, const struct t_route *r)
{
	char buf[NLB_BUF];
	struct nlb_route m = {
		.af = r->af, .plen = r->plen, .type = r->type, .table = RT_TABLE_MAIN,
		.oif = r->oif, .prio = r->prio, .mtu = r->mtu, .has_gw = r->has_gw,
		.dst = r->dst, .gw = r->gw,
	};

	feed(nlb_route(buf, type, &m));
}

static void link_msg(uint32_t ifindex, const char *name, uint8_t last, uint32_t mtu, bool up)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0xaa, last };

	feed(nlb_link(buf, ifindex, name, mac, mtu, up));
}

static void neigh_msg(int af, uint32_t ifindex, const union lvs_addr *a, uint8_t last)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0xbb, last };

	feed(nlb_neigh(buf, RTM_NEWNEIGH, af, ifindex, a, NUD_REACHABLE, 0, mac));
}

static void mask(int af, union lvs_addr *a, unsigned plen)
{
	mask_prefix(af, a, plen);
}

/* The reference: every live route, scanned in arrival order. */
static const struct t_route *ref_lpm(const struct t_route *v, uint32_t n, int af,
				     const union lvs_addr *a)
{
	const struct t_route *best = NULL;

	for (uint32_t i = 0; i < n; i++) {
		const struct t_route *r = &v[i];
		union lvs_addr m = *a;

		if (!r->alive || r->af != af)
			continue;
		mask(af, &m, r->plen);
		if (!lvs_addr_eq(&m, &r->dst))
			continue;
		if (!best || r->plen > best->plen || (r->plen == best->plen && r->prio < best->prio))
			best = r;
	}
	return best;
}

static void check_one(const struct t_route *v, uint32_t n, int af, const union lvs_addr *a)
{
	const struct t_route *want = ref_lpm(v, n, af, a);
	const struct ns_route *got = rtnl_snap_lpm(ns->snap, af, a);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(got->plen, want->plen);
	assert_int_equal(got->prio, want->prio);
	assert_true(lvs_addr_eq(&got->dst, &want->dst));
	assert_int_equal(got->oif, want->oif);
	assert_int_equal(got->has_gw, want->has_gw);
	if (want->has_gw)
		assert_true(lvs_addr_eq(&got->gw, &want->gw));
}

static union lvs_addr rnd_addr(int af)
{
	return nlb_rnd_addr(&rng, af);
}

/* Addresses where ranges begin and end: a prefix's first and last
 * address and the ones just outside. */
static void edges(const struct t_route *r, union lvs_addr out[4])
{
	unsigned width = r->af == AF_INET ? 32 : 128;
	struct k128 f = k128_of(r->af, &r->dst), l = k128_last(f, width, r->plen), t;
	struct k128 k[4] = { f, l, l, f };

	if (k128_next(l, width, &t))
		k[2] = t;
	if (f.lo || f.hi) { /* f - 1 */
		k[3].hi = f.hi - (f.lo == 0);
		k[3].lo = f.lo - 1;
	}
	for (int i = 0; i < 4; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (r->af == AF_INET) {
			out[i].ip4 = htonl((uint32_t)k[i].lo);
		} else {
			out[i].w[0] = htonl((uint32_t)(k[i].hi >> 32));
			out[i].w[1] = htonl((uint32_t)k[i].hi);
			out[i].w[2] = htonl((uint32_t)(k[i].lo >> 32));
			out[i].w[3] = htonl((uint32_t)k[i].lo);
		}
	}
}

static int setup(void **st)
{
	(void)st;
	rcu_register_thread();
	ns = lvs_netstate_new(1024);
	assert_non_null(ns);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	nlb_netstate_done(&ns);
	return 0;
}

static struct t_route mk(int af, const char *dst, unsigned plen, uint32_t prio, uint32_t oif,
			 const char *gw)
{
	struct t_route r;

	memset(&r, 0, sizeof(r));
	r.af = (uint8_t)af;
	r.plen = (uint8_t)plen;
	r.prio = prio;
	r.oif = oif;
	r.alive = true;
	r.dst = af == AF_INET ? t_ip4(dst) : t_ip6(dst);
	if (gw) {
		r.has_gw = true;
		r.gw = af == AF_INET ? t_ip4(gw) : t_ip6(gw);
	}
	return r;
}

static const struct ns_route *lpm4(const char *a)
{
	union lvs_addr x = t_ip4(a);
	return rtnl_snap_lpm(ns->snap, AF_INET, &x);
}

static const struct ns_route *lpm6(const char *a)
{
	union lvs_addr x = t_ip6(a);
	return rtnl_snap_lpm(ns->snap, AF_INET6, &x);
}

static void test_empty(void **st)
{
	(void)st;
	publish();
	assert_null(lpm4("10.0.0.1"));
	assert_null(lpm6("2001:db8::1"));
	assert_null(lpm4("255.255.255.255"));
}

static void test_basic_v4(void **st)
{
	struct t_route r[] = {
		mk(AF_INET, "0.0.0.0", 0, 0, 2, "192.168.1.1"),
		mk(AF_INET, "10.0.0.0", 8, 0, 3, "192.168.1.2"),
		mk(AF_INET, "10.1.0.0", 16, 0, 4, NULL),
		mk(AF_INET, "10.1.2.3", 32, 0, 5, NULL),
		mk(AF_INET, "10.1.0.0", 16, 50, 6, NULL),   /* worse metric */
		mk(AF_INET, "255.255.255.0", 24, 0, 7, NULL),
	};

	(void)st;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		route_msg(RTM_NEWROUTE, &r[i]);
	publish();
	assert_int_equal(lpm4("8.8.8.8")->oif, 2);
	assert_int_equal(lpm4("10.200.0.1")->oif, 3);
	assert_int_equal(lpm4("10.1.255.255")->oif, 4);
	assert_int_equal(lpm4("10.1.2.3")->oif, 5);
	assert_int_equal(lpm4("10.1.2.4")->oif, 4);
	assert_int_equal(lpm4("10.2.0.0")->oif, 3);
	assert_int_equal(lpm4("255.255.255.255")->oif, 7);
	assert_int_equal(lpm4("255.255.254.255")->oif, 2);
	/* the better metric goes: the other one takes over */
	route_msg(RTM_DELROUTE, &r[2]);
	publish();
	assert_int_equal(lpm4("10.1.0.1")->oif, 6);
	/* deleting the default route leaves the rest */
	route_msg(RTM_DELROUTE, &r[0]);
	publish();
	assert_null(lpm4("8.8.8.8"));
	assert_int_equal(lpm4("10.1.2.3")->oif, 5);
	/* an IPv4 route with the same prefix and metric replaces the old */
	r[1].oif = 9;
	route_msg(RTM_NEWROUTE, &r[1]);
	publish();
	assert_int_equal(lpm4("10.9.9.9")->oif, 9);
	assert_int_equal(ns->routes.n, 4);
}

static void test_v6_siblings(void **st)
{
	struct t_route a = mk(AF_INET6, "2001:db8::", 32, 1024, 2, "fe80::1");
	struct t_route b = mk(AF_INET6, "2001:db8::", 32, 1024, 3, "fe80::2");
	struct t_route d = mk(AF_INET6, "::", 0, 1024, 4, "fe80::3");
	struct t_route h = mk(AF_INET6, "2001:db8::1", 128, 256, 5, NULL);
	struct t_route top = mk(AF_INET6, "ffff::", 16, 0, 6, NULL);

	(void)st;
	route_msg(RTM_NEWROUTE, &a);
	route_msg(RTM_NEWROUTE, &b);
	route_msg(RTM_NEWROUTE, &d);
	route_msg(RTM_NEWROUTE, &h);
	route_msg(RTM_NEWROUTE, &top);
	publish();
	assert_int_equal(lpm6("2001:db8:1::5")->oif, 2); /* first sibling */
	assert_int_equal(lpm6("2001:db8::1")->oif, 5);
	assert_int_equal(lpm6("2001:db9::")->oif, 4);
	assert_int_equal(lpm6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")->oif, 6);
	assert_null(lpm4("1.2.3.4"));
	/* replacing the first sibling keeps its rank */
	a.mtu = 1400;
	route_msg(RTM_NEWROUTE, &a);
	publish();
	assert_int_equal(lpm6("2001:db8:1::5")->oif, 2);
	assert_int_equal(lpm6("2001:db8:1::5")->mtu, 1400);
	/* a deletion naming the device takes that sibling only */
	route_msg(RTM_DELROUTE, &a);
	publish();
	assert_int_equal(lpm6("2001:db8:1::5")->oif, 3);
	/* one without a device takes any */
	b.oif = 0;
	route_msg(RTM_DELROUTE, &b);
	publish();
	assert_int_equal(lpm6("2001:db8:1::5")->oif, 4);
	route_msg(RTM_DELROUTE, &d);
	publish();
	assert_null(lpm6("2001:db8:1::5"));
	assert_int_equal(lpm6("2001:db8::1")->oif, 5);
}

static void test_multipath_first_hop(void **st)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct nlattr *mp;
	union lvs_addr dst = t_ip4("172.16.0.0"), g1 = t_ip4("192.168.1.1"), g2 = t_ip4("192.168.2.1");
	const struct ns_route *r;

	(void)st;
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 12;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, dst.b);
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	for (int i = 0; i < 2; i++) {
		struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);
		nlh->nlmsg_len += MNL_ALIGN(sizeof(*nh));
		memset(nh, 0, sizeof(*nh));
		nh->rtnh_ifindex = 7 + i;
		mnl_attr_put(nlh, RTA_GATEWAY, 4, (i ? g2 : g1).b);
		nh->rtnh_len = (unsigned short)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nh);
	}
	mnl_attr_nest_end(nlh, mp);
	feed(nlh);
	publish();
	r = lpm4("172.20.1.1");
	assert_non_null(r);
	assert_int_equal(r->oif, 7);
	assert_true(r->has_gw);
	assert_true(lvs_addr_eq(&r->gw, &g1));
}

static void test_blackhole_and_next_hop(void **st)
{
	struct t_route bh = mk(AF_INET, "10.66.0.0", 16, 0, 0, NULL);
	struct t_route net = mk(AF_INET, "10.0.0.0", 8, 0, 2, NULL);
	struct t_route viagw = mk(AF_INET, "0.0.0.0", 0, 0, 3, "192.168.7.1");
	struct t_route mtu = mk(AF_INET, "10.5.0.0", 16, 0, 2, NULL);
	union lvs_addr srv = t_ip4("10.1.1.1"), gw = t_ip4("192.168.7.1"), far = t_ip4("8.8.8.8");
	union lvs_addr bha = t_ip4("10.66.1.1"), m5 = t_ip4("10.5.0.9");
	struct lvs_nexthop nh;

	(void)st;
	bh.type = RTN_BLACKHOLE;
	mtu.mtu = 1300;
	link_msg(2, "eth0", 2, 1500, true);
	link_msg(3, "eth1", 3, 9000, true);
	route_msg(RTM_NEWROUTE, &bh);
	route_msg(RTM_NEWROUTE, &net);
	route_msg(RTM_NEWROUTE, &viagw);
	route_msg(RTM_NEWROUTE, &mtu);
	neigh_msg(AF_INET, 2, &srv, 0x11);
	neigh_msg(AF_INET, 3, &gw, 0x22);
	neigh_msg(AF_INET, 2, &m5, 0x33);
	publish();
	/* device route: the destination is the next hop */
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &srv, &nh), 0);
	assert_int_equal(nh.ifindex, 2);
	assert_int_equal(nh.mtu, 1500);
	assert_int_equal(nh.mac[5], 0x11);
	assert_int_equal(nh.src_mac[5], 2);
	/* through a gateway: its MAC */
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &far, &nh), 0);
	assert_int_equal(nh.ifindex, 3);
	assert_int_equal(nh.mtu, 9000);
	assert_int_equal(nh.mac[5], 0x22);
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &m5, &nh), 0);
	assert_int_equal(nh.mtu, 1300);
	/* a blackhole wins its prefix and makes it unreachable */
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &bha, &nh), -EHOSTUNREACH);
	/* a link that goes down takes its routes with it (no fallback) */
	link_msg(2, "eth0", 2, 1500, false);
	publish();
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &srv, &nh), -EHOSTUNREACH);
}

/* The reference's identity of a route, as the kernel's: prefix, metric,
 * and for IPv6 the device.  A hash of indices + 1 into v. */
static uint32_t ref_hash(const struct t_route *r)
{
	uint32_t h = r->plen * 31u + r->prio * 7u + (r->af == AF_INET6 ? r->oif : 0);

	for (int i = 0; i < 4; i++)
		h = (h ^ r->dst.w[i]) * 0x9e3779b1u;
	return h ^ h >> 15;
}

static bool ref_same(const struct t_route *a, const struct t_route *b)
{
	return a->af == b->af && a->plen == b->plen && a->prio == b->prio &&
	       lvs_addr_eq(&a->dst, &b->dst) && (a->af == AF_INET || a->oif == b->oif);
}

static uint32_t ref_find(const uint32_t *tab, uint32_t tmask, const struct t_route *v,
			 const struct t_route *r)
{
	for (uint32_t h = ref_hash(r) & tmask; tab[h]; h = (h + 1) & tmask)
		if (ref_same(&v[tab[h] - 1], r))
			return tab[h] - 1;
	return UINT32_MAX;
}

static void ref_insert(uint32_t *tab, uint32_t tmask, const struct t_route *v, uint32_t i)
{
	uint32_t h = ref_hash(&v[i]) & tmask;

	while (tab[h])
		h = (h + 1) & tmask;
	tab[h] = i + 1;
}

/* n random routes of family af, looked up at random addresses (inside
 * random routes and anywhere) and at every edge of some routes, compared
 * with the reference; then half of them deleted, and again. */
static void random_table(int af, uint32_t n, uint32_t probes)
{
	struct t_route *v = calloc(n, sizeof(*v));
	unsigned width = af == AF_INET ? 32 : 128;
	uint32_t alive = 0, tmask = 1;
	uint32_t *tab;

	while (tmask < 4 * n)
		tmask <<= 1;
	tab = calloc(tmask--, sizeof(*tab));
	assert_non_null(v);
	assert_non_null(tab);
	for (uint32_t i = 0; i < n; i++) {
		struct t_route *r = &v[i];
		/* lengths crowd where real tables have them, so prefixes nest */
		unsigned plen = af == AF_INET ? (rnd() % 4 ? 8 + rnd() % 25 : rnd() % 33)
					      : (rnd() % 4 ? 16 + rnd() % 49 : rnd() % 129);
		r->af = (uint8_t)af;
		r->plen = (uint8_t)plen;
		r->dst = rnd_addr(af);
		/* a small corner of the space so that many prefixes overlap */
		if (af == AF_INET)
			r->dst.b[0] = 10 + (uint8_t)(rnd() % 2);
		else
			r->dst.w[0] = htonl(0x20010db8 + (uint32_t)(rnd() % 2));
		mask(af, &r->dst, plen);
		r->prio = (uint32_t)(rnd() % 3) * 100;
		r->oif = 1 + (uint32_t)(rnd() % 1000);
		r->has_gw = rnd() % 2;
		if (r->has_gw)
			r->gw = rnd_addr(af);
		r->alive = true;
		/* the same prefix and metric again (IPv6: and device) is a
		 * replacement, which keeps the old route's rank */
		uint32_t j = ref_find(tab, tmask, v, r);
		route_msg(RTM_NEWROUTE, r);
		if (j != UINT32_MAX) {
			v[j] = *r;
			r->alive = false;
			continue;
		}
		ref_insert(tab, tmask, v, i);
	}
	for (uint32_t i = 0; i < n; i++)
		alive += v[i].alive;
	publish();
	for (int round = 0; round < 2; round++) {
		assert_true(ns->routes.n <= alive);
		for (uint32_t i = 0; i < probes; i++) {
			union lvs_addr a = rnd_addr(af);
			if (i % 2) {
				const struct t_route *r = &v[rnd() % n];
				union lvs_addr hb = rnd_addr(af);
				/* inside r: its prefix, random host bits */
				a = r->dst;
				for (unsigned b = r->plen; b < width; b++)
					if (hb.b[b / 8] & (0x80 >> (b % 8)))
						a.b[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			}
			check_one(v, n, af, &a);
		}
		for (uint32_t i = 0; i < probes / 8; i++) {
			union lvs_addr e[4];
			edges(&v[rnd() % n], e);
			for (int k = 0; k < 4; k++)
				check_one(v, n, af, &e[k]);
		}
		if (round)
			break;
		/* delete every other live route */
		for (uint32_t i = 0; i < n; i += 2) {
			if (!v[i].alive)
				continue;
			route_msg(RTM_DELROUTE, &v[i]);
			v[i].alive = false;
			alive--;
		}
		publish();
		assert_int_equal(ns->routes.n, alive);
	}
	free(tab);
	free(v);
}

static void test_random_v4_small(void **st)
{
	(void)st;
	random_table(AF_INET, 2000, 40000);
}

static void test_random_v6_small(void **st)
{
	(void)st;
	random_table(AF_INET6, 2000, 40000);
}

static void test_random_v4_100k(void **st)
{
	(void)st;
	random_table(AF_INET, 100000, 1200);
}

static void test_random_v6_100k(void **st)
{
	(void)st;
	random_table(AF_INET6, 100000, 1200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_siblings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multipath_first_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blackhole_and_next_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_v4_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_v6_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_v4_100k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_v6_100k, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
