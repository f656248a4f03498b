/*
 * test_rtnl_neigh.c - the neighbour cache of src/net/rtnl.c (included here
 * to reach its handlers; the routing table, rtnl_route.c, comes from the
 * daemon's archive): RTM_NEWNEIGH / RTM_DELNEIGH messages built with
 * libmnl (nl_build.h) go in through the netlink callback, next hops come
 * out of lvs_netstate_route, and the requests workers queue for the
 * control thread are read off its ring.  No netlink socket.
 *
 * Checked: usable states (REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP)
 * give the MAC; INCOMPLETE and FAILED do not; an unknown next hop answers
 * -EAGAIN and queues one resolution request per next hop per second;
 * neighbour generation bumps only when an entry becomes usable; deletion;
 * entries learnt from ARP/NS (kept as STALE, queued for the kernel, never
 * over a PERMANENT entry); proxy entries and other families ignored; a
 * full table stores no more and still answers what it has; churn that
 * leaves deleted slots rebuilds the table without losing live entries.
 */
#include "test_util.h"

#include "nl_build.h"
#include "rtnl.c"

static struct lvs_netstate *ns;

#define T0 (100 * LVS_NS_PER_SEC)

static void feed(const struct nlmsghdr *nlh)
{
	assert_int_equal(msg_cb(nlh, ns), MNL_CB_OK);
}

static void neigh(uint16_t type, int af, uint32_t ifindex, const union lvs_addr *a,
		  uint16_t state, uint8_t flags, uint8_t last)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0xbb, last };

	feed(nlb_neigh(buf, type, af, ifindex, a, state, flags, last ? mac : NULL));
}

static void new4(const char *addr, uint16_t state, uint8_t last)
{
	union lvs_addr a = t_ip4(addr);
	neigh(RTM_NEWNEIGH, AF_INET, 2, &a, state, 0, last);
}

static int route(const char *dst, struct lvs_nexthop *nh)
{
	union lvs_addr d = strchr(dst, ':') ? t_ip6(dst) : t_ip4(dst);

	memset(nh, 0, sizeof(*nh));
	return lvs_netstate_route(ns, strchr(dst, ':') ? AF_INET6 : AF_INET, &d, nh);
}

/* Requests queued for the control thread since the last call. */
static unsigned pending(struct ns_req *last)
{
	struct ns_req r;
	unsigned n = 0;

	while (req_pop(ns, &r)) {
		n++;
		if (last)
			*last = r;
	}
	return n;
}

static void setup_ns(uint32_t slots)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	struct nlb_route r4 = { .af = AF_INET, .plen = 16, .oif = 2, .dst = t_ip4("10.1.0.0") };
	struct nlb_route r6 = { .af = AF_INET6, .plen = 64, .oif = 2, .dst = t_ip6("2001:db8:1::") };

	rcu_register_thread();
	ns = lvs_netstate_new(slots);
	assert_non_null(ns);
	ns->coarse_now = T0;
	feed(nlb_link(buf, 2, NULL, mac, 1500, true));
	feed(nlb_route(buf, RTM_NEWROUTE, &r4));
	feed(nlb_route(buf, RTM_NEWROUTE, &r6));
	assert_int_equal(snap_publish(ns), 0);
}

static int setup(void **st)
{
	(void)st;
	setup_ns(1024);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	nlb_netstate_done(&ns);
	return 0;
}

static void test_states(void **st)
{
	static const struct {
		uint16_t state;
		bool usable;
	} cases[] = {
		{ NUD_REACHABLE, true }, { NUD_STALE, true },     { NUD_DELAY, true },
		{ NUD_PROBE, true },     { NUD_PERMANENT, true }, { NUD_NOARP, true },
		{ NUD_INCOMPLETE, false }, { NUD_FAILED, false },
	};
	struct lvs_nexthop nh;

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.1.0.%zu", i + 1);
		new4(a, cases[i].state, (uint8_t)(0x10 + i));
		if (cases[i].usable) {
			assert_int_equal(route(a, &nh), 0);
			assert_int_equal(nh.mac[5], 0x10 + i);
			assert_int_equal(nh.ifindex, 2);
			assert_int_equal(nh.src_mac[5], 2);
		} else {
			assert_int_equal(route(a, &nh), -EAGAIN);
		}
	}
	/* IPv6 alike */
	{
		union lvs_addr a = t_ip6("2001:db8:1::5");
		neigh(RTM_NEWNEIGH, AF_INET6, 2, &a, NUD_REACHABLE, 0, 0x66);
		assert_int_equal(route("2001:db8:1::5", &nh), 0);
		assert_int_equal(nh.mac[5], 0x66);
	}
	/* the same address on another interface is another entry */
	{
		union lvs_addr a = t_ip4("10.1.0.200");
		neigh(RTM_NEWNEIGH, AF_INET, 9, &a, NUD_REACHABLE, 0, 0x99);
		assert_int_equal(route("10.1.0.200", &nh), -EAGAIN);
	}
}

static void test_unresolved_requests(void **st)
{
	struct lvs_nexthop nh;
	struct ns_req r;
	union lvs_addr a = t_ip4("10.1.0.7");
	uint64_t g = lvs_netstate_neigh_gen(ns);

	(void)st;
	assert_int_equal(pending(NULL), 0);
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(pending(&r), 1);
	assert_int_equal(r.kind, REQ_RESOLVE);
	assert_int_equal(r.af, AF_INET);
	assert_int_equal(r.ifindex, 2);
	assert_true(lvs_addr_eq(&r.a, &a));
	/* a placeholder remembers the request: no second one within a second */
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(pending(NULL), 0);
	ns->coarse_now += LVS_NS_PER_SEC;
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(pending(NULL), 1);
	/* the kernel starts resolving: still nothing usable, no generation */
	new4("10.1.0.7", NUD_INCOMPLETE, 0);
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(lvs_netstate_neigh_gen(ns), g);
	/* the answer: usable, and the generation tells holders to retry */
	new4("10.1.0.7", NUD_REACHABLE, 0x77);
	assert_true(lvs_netstate_neigh_gen(ns) != g);
	assert_int_equal(route("10.1.0.7", &nh), 0);
	assert_int_equal(nh.mac[5], 0x77);
	/* usable -> usable (REACHABLE -> STALE) is no news */
	g = lvs_netstate_neigh_gen(ns);
	new4("10.1.0.7", NUD_STALE, 0x77);
	assert_int_equal(lvs_netstate_neigh_gen(ns), g);
	assert_int_equal(route("10.1.0.7", &nh), 0);
	/* FAILED: unusable again, a new request; its answer bumps again */
	new4("10.1.0.7", NUD_FAILED, 0);
	ns->coarse_now += LVS_NS_PER_SEC;
	assert_int_equal(route("10.1.0.7", &nh), -EAGAIN);
	assert_int_equal(pending(NULL), 1);
	new4("10.1.0.7", NUD_REACHABLE, 0x78);
	assert_true(lvs_netstate_neigh_gen(ns) != g);
	assert_int_equal(route("10.1.0.7", &nh), 0);
	assert_int_equal(nh.mac[5], 0x78);
}

static void test_delete(void **st)
{
	struct lvs_nexthop nh;
	union lvs_addr a = t_ip4("10.1.0.8");
	uint32_t live;

	(void)st;
	new4("10.1.0.8", NUD_REACHABLE, 0x88);
	live = ns->nb_live;
	assert_int_equal(route("10.1.0.8", &nh), 0);
	neigh(RTM_DELNEIGH, AF_INET, 2, &a, NUD_FAILED, 0, 0);
	assert_int_equal(ns->nb_live, live - 1);
	assert_int_equal(route("10.1.0.8", &nh), -EAGAIN);
	/* deleting what is not there changes nothing */
	a = t_ip4("10.1.0.250");
	neigh(RTM_DELNEIGH, AF_INET, 2, &a, NUD_FAILED, 0, 0);
}

static void test_ignored(void **st)
{
	struct lvs_nexthop nh;
	union lvs_addr a = t_ip4("10.1.0.9");
	uint32_t live = ns->nb_live;

	(void)st;
	neigh(RTM_NEWNEIGH, AF_INET, 2, &a, NUD_PERMANENT, NTF_PROXY, 0x99);
	neigh(RTM_NEWNEIGH, AF_BRIDGE, 2, &a, NUD_PERMANENT, 0, 0x99);
	assert_int_equal(ns->nb_live, live);
	assert_int_equal(route("10.1.0.9", &nh), -EAGAIN);
}

static void test_learn(void **st)
{
	struct lvs_nexthop nh;
	struct ns_req r;
	union lvs_addr a = t_ip4("10.1.0.20"), p = t_ip4("10.1.0.21");
	uint8_t mac[6] = { 2, 0, 0, 0, 0xcc, 0x20 }, other[6] = { 2, 0, 0, 0, 0xcc, 0x99 };
	uint64_t g = lvs_netstate_neigh_gen(ns);
	struct nb_slot e;

	(void)st;
	lvs_netstate_learn(ns, AF_INET, 2, &a, mac);
	assert_true(lvs_netstate_neigh_gen(ns) != g);
	assert_true(nb_lookup(ns, AF_INET, 2, &a, &e) >= 0);
	assert_int_equal(e.state, NUD_STALE);
	assert_int_equal(route("10.1.0.20", &nh), 0);
	assert_memory_equal(nh.mac, mac, 6);
	/* the kernel is told too, as it does for a request to itself */
	assert_int_equal(pending(&r), 1);
	assert_int_equal(r.kind, REQ_LEARN);
	assert_memory_equal(r.mac, mac, 6);
	/* the same again: nothing to do */
	g = lvs_netstate_neigh_gen(ns);
	lvs_netstate_learn(ns, AF_INET, 2, &a, mac);
	assert_int_equal(pending(NULL), 0);
	assert_int_equal(lvs_netstate_neigh_gen(ns), g);
	/* a hand-configured entry is never overridden */
	neigh(RTM_NEWNEIGH, AF_INET, 2, &p, NUD_PERMANENT, 0, 0x21);
	lvs_netstate_learn(ns, AF_INET, 2, &p, other);
	assert_int_equal(pending(NULL), 0);
	assert_int_equal(route("10.1.0.21", &nh), 0);
	assert_int_equal(nh.mac[5], 0x21);
}

static void test_full_table(void **st)
{
	struct lvs_nexthop nh;
	char a[32];
	unsigned stored = 0;

	(void)st;
	teardown(NULL);
	setup_ns(16); /* holds at most half: 8 entries */
	for (unsigned i = 1; i <= 12; i++) {
		snprintf(a, sizeof(a), "10.1.1.%u", i);
		new4(a, NUD_REACHABLE, (uint8_t)i);
	}
	assert_int_equal(ns->nb_live, 8);
	for (unsigned i = 1; i <= 12; i++) {
		snprintf(a, sizeof(a), "10.1.1.%u", i);
		if (route(a, &nh) == 0) {
			assert_int_equal(nh.mac[5], i);
			stored++;
		}
	}
	assert_int_equal(stored, 8);
	/* an unknown next hop still gets its resolution asked for */
	pending(NULL);
	assert_int_equal(route("10.1.2.1", &nh), -EAGAIN);
	assert_int_equal(pending(NULL), 1);
	assert_int_equal(ns->nb_live, 8);
}

static void test_churn_rebuild(void **st)
{
	struct lvs_nexthop nh;
	union lvs_addr keep = t_ip4("10.1.3.1");
	char a[32];
	bool rebuilt = false;

	(void)st;
	teardown(NULL);
	setup_ns(64);
	new4("10.1.3.1", NUD_REACHABLE, 0x31);
	for (unsigned i = 0; i < 500; i++) {
		union lvs_addr x;
		uint32_t dead = ns->nb_dead;
		uint32_t ins_dead;
		snprintf(a, sizeof(a), "10.1.4.%u", i % 250 + 1);
		x = t_ip4(a);
		new4(a, NUD_REACHABLE, 1);
		/* an insertion takes an empty slot or a tombstone, or, when
		 * live + deleted would pass 3/4, rebuilds without tombstones */
		ins_dead = ns->nb_dead;
		assert_true(ins_dead == dead || ins_dead + 1 == dead || ins_dead == 0);
		rebuilt |= ins_dead == 0 && dead > 1;
		neigh(RTM_DELNEIGH, AF_INET, 2, &x, NUD_FAILED, 0, 0);
		assert_int_equal(ns->nb_dead, ins_dead + 1);
		assert_true(ns->nb_live + ns->nb_dead <= (ns->nb_mask + 1) / 4 * 3);
		assert_int_equal(route("10.1.3.1", &nh), 0);
		assert_int_equal(nh.mac[5], 0x31);
	}
	/* tombstones were cleared on the way (else the table would be full) */
	assert_true(rebuilt);
	assert_int_equal(ns->nb_live, 1);
	{
		struct nb_slot e;
		assert_true(nb_lookup(ns, AF_INET, 2, &keep, &e) >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_rebuild, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
