/*
 * test_route_cache.c - a destination's cached next hop: the seqlock'd
 * entry of src/core/route_cache.h, its use by src/net/rtnl.c
 * (lvs_netstate_route_cached, the file included here, fed real rtnetlink
 * messages built by nl_build.h) and by the transforms.
 *
 * Checked: a fill is read back whole; a reader that overlaps a fill sees a
 * miss, never a mix (two threads filling and reading one cache); after a
 * fill the next hop comes from the cache (a neighbour changed behind the
 * generation's back is not seen); a replaced route, a neighbour whose MAC
 * changed, a failed neighbour, a link going down each invalidate it, while
 * a neighbour going STALE with the same MAC does not; an entry older than a
 * second is routed again, which marks its neighbour used; errors are not
 * cached; NAT in, DR and TUN use the destination's cache, NAT out and an
 * environment without route_cached use the plain route.
 */
#include <pthread.h>
#include <time.h>

#include "xmit_frames.h"

#include "nl_build.h"
#include "rtnl.c"

static struct lvs_netstate *ns;

static void feed(const struct nlmsghdr *nlh)
{
	assert_int_equal(msg_cb(nlh, ns), MNL_CB_OK);
}

static void publish(void)
{
	if (ns->dirty)
		assert_int_equal(snap_publish(ns), 0);
	rcu_quiescent_state();
}

static void link_msg(uint32_t ifindex, uint8_t last, bool up)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0xaa, last };

	feed(nlb_link(buf, ifindex, "eth", mac, 1500, up));
}

static void route4(uint16_t type, const char *dst, unsigned plen, uint32_t oif, const char *gw)
{
	char buf[NLB_BUF];
	struct nlb_route r = { .af = AF_INET, .plen = (uint8_t)plen, .oif = oif, .dst = t_ip4(dst) };

	if (gw) {
		r.has_gw = true;
		r.gw = t_ip4(gw);
	}
	feed(nlb_route(buf, type, &r));
}

static void neigh4(const char *addr, uint32_t ifindex, uint16_t state, uint8_t last)
{
	char buf[NLB_BUF];
	union lvs_addr a = t_ip4(addr);
	uint8_t mac[6] = { 2, 0, 0, 0, 0xbb, last };

	feed(nlb_neigh(buf, RTM_NEWNEIGH, AF_INET, ifindex, &a, state, 0, last ? mac : NULL));
}

static int ns_setup(void **st)
{
	(void)st;
	rcu_register_thread();
	ns = lvs_netstate_new(1024);
	assert_non_null(ns);
	ns->coarse_now = 100 * LVS_NS_PER_SEC;
	/* eth2: servers on 10.1.0.0/16; eth3: a gateway for 10.2.0.0/16 */
	link_msg(2, 2, true);
	link_msg(3, 3, true);
	route4(RTM_NEWROUTE, "10.1.0.0", 16, 2, NULL);
	route4(RTM_NEWROUTE, "10.2.0.0", 16, 3, "192.168.3.1");
	neigh4("10.1.0.1", 2, NUD_REACHABLE, 0x11);
	neigh4("192.168.3.1", 3, NUD_REACHABLE, 0x31);
	publish();
	return 0;
}

static int ns_teardown(void **st)
{
	(void)st;
	nlb_netstate_done(&ns);
	return 0;
}

static int cached(const char *dst, struct lvs_route_cache *rc, struct lvs_nexthop *nh)
{
	union lvs_addr d = t_ip4(dst);

	memset(nh, 0, sizeof(*nh));
	return lvs_netstate_route_cached(ns, rc, AF_INET, &d, nh);
}

/* Change a neighbour's MAC the way no notification does: the generation
 * stays, so only a route that really looks it up sees it. */
static void poke_mac(const char *addr, uint32_t ifindex, uint8_t last)
{
	union lvs_addr a = t_ip4(addr);
	int k;

	lvs_spin_lock(&ns->nb_lock);
	nb_write_begin(ns);
	k = nb_find_locked(ns, AF_INET, ifindex, &a);
	assert_true(k >= 0);
	ns->nb[k].mac[5] = last;
	nb_write_end(ns);
	lvs_spin_unlock(&ns->nb_lock);
}

static void test_fill_read(void **st)
{
	struct lvs_route_cache rc;
	struct lvs_route_cache_ent e, out;

	(void)st;
	memset(&rc, 0, sizeof(rc));
	assert_false(lvs_route_cache_read(&rc, &out)); /* never filled */
	memset(&e, 0, sizeof(e));
	e.nh.mac[5] = 7;
	e.nh.ifindex = 4;
	e.nh.mtu = 1400;
	e.af = AF_INET;
	e.dst = t_ip4("10.9.9.9");
	e.gen = 42;
	e.stamp = 99;
	assert_true(lvs_route_cache_fill(&rc, &e));
	assert_true(lvs_route_cache_read(&rc, &out));
	assert_memory_equal(&out, &e, sizeof(e));
	/* a fill in progress (odd counter): readers miss, other writers back off */
	rc.seq++;
	assert_false(lvs_route_cache_read(&rc, &out));
	assert_false(lvs_route_cache_fill(&rc, &e));
	rc.seq++;
	assert_true(lvs_route_cache_read(&rc, &out));
}

/* ---- two threads on one cache ---- */

#define HAMMER_ITERS 2000000

struct hammer {
	struct lvs_route_cache *rc;
	uint32_t id;
	uint64_t reads, fills;
};

/* Every field of entry k derives from k: a torn copy mixes two k. */
static void ent_of(uint64_t k, struct lvs_route_cache_ent *e)
{
	memset(e, 0, sizeof(*e));
	memset(e->nh.mac, (int)(k & 0xff), 6);
	memset(e->nh.src_mac, (int)((k >> 8) & 0xff), 6);
	e->nh.ifindex = (uint32_t)k;
	e->nh.mtu = (uint32_t)(k * 3);
	e->nh.vlan_tci = (uint16_t)(k >> 3);
	e->af = AF_INET6;
	for (int i = 0; i < 4; i++)
		e->dst.w[i] = (uint32_t)(k * (i + 7));
	e->gen = k;
	e->stamp = ~k;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* HAMMER_ITERS rounds, and on until this thread has both filled and read
 * at least once (a thread preempted half way through a fill makes the
 * other's attempts fail meanwhile), for 10 s at most. */
static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct lvs_route_cache_ent e, out, want;
	uint64_t deadline = mono_ms() + 10000;

	for (uint64_t i = 0;
	     i < HAMMER_ITERS || ((!h->fills || !h->reads) && ((i & 0xffff) || mono_ms() < deadline));
	     i++) {
		if ((i & 3) == h->id) {
			ent_of(i << 1 | h->id, &e);
			h->fills += lvs_route_cache_fill(h->rc, &e);
		}
		if (lvs_route_cache_read(h->rc, &out)) {
			ent_of(out.gen, &want);
			if (memcmp(&out, &want, sizeof(out)))
				return (void *)1; /* torn */
			h->reads++;
		}
	}
	return NULL;
}

static void test_no_torn_reads(void **st)
{
	struct lvs_route_cache rc;
	struct hammer h[2];
	pthread_t t[2];
	void *r;

	(void)st;
	memset(&rc, 0, sizeof(rc));
	for (uint32_t i = 0; i < 2; i++) {
		h[i] = (struct hammer){ .rc = &rc, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
	assert_true(h[0].fills > 0 && h[1].fills > 0);
	assert_true(h[0].reads > 0 && h[1].reads > 0);
	assert_int_equal(rc.seq, 2 * (h[0].fills + h[1].fills));
}

/* ---- the netstate's cached route ---- */

static void test_hit_after_fill(void **st)
{
	struct lvs_route_cache rc;
	struct lvs_nexthop nh, ref;
	union lvs_addr d = t_ip4("10.1.0.1");

	(void)st;
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(lvs_netstate_route(ns, AF_INET, &d, &ref), 0);
	assert_memory_equal(&nh, &ref, sizeof(nh));
	assert_int_equal(nh.mac[5], 0x11);
	assert_int_equal(nh.ifindex, 2);
	assert_int_equal(nh.src_mac[5], 2);
	/* behind the generation's back: the cache still answers */
	poke_mac("10.1.0.1", 2, 0x77);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(nh.mac[5], 0x11);
	/* another destination through the same cache is a miss, not a wrong hit */
	assert_int_equal(cached("10.2.5.5", &rc, &nh), 0);
	assert_int_equal(nh.mac[5], 0x31);
	assert_int_equal(nh.ifindex, 3);
}

static void test_invalidation(void **st)
{
	struct lvs_route_cache rc;
	struct lvs_nexthop nh;
	uint64_t g;

	(void)st;
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(nh.mac[5], 0x11);

	/* the neighbour's MAC changes */
	g = ns->route_gen;
	neigh4("10.1.0.1", 2, NUD_REACHABLE, 0x12);
	assert_true(ns->route_gen != g);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(nh.mac[5], 0x12);

	/* REACHABLE -> STALE, same MAC: nothing a next hop depends on */
	g = ns->route_gen;
	neigh4("10.1.0.1", 2, NUD_STALE, 0x12);
	assert_int_equal(ns->route_gen, g);

	/* the route is replaced: now through the gateway on eth3 */
	route4(RTM_DELROUTE, "10.1.0.0", 16, 2, NULL);
	route4(RTM_NEWROUTE, "10.1.0.0", 16, 3, "192.168.3.1");
	publish();
	assert_true(ns->route_gen != g);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(nh.ifindex, 3);
	assert_int_equal(nh.mac[5], 0x31);

	/* the gateway fails: no next hop, and the error is not cached */
	neigh4("192.168.3.1", 3, NUD_FAILED, 0);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), -EAGAIN);
	neigh4("192.168.3.1", 3, NUD_REACHABLE, 0x32);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(nh.mac[5], 0x32);

	/* the link goes down */
	link_msg(3, 3, false);
	publish();
	assert_int_equal(cached("10.1.0.1", &rc, &nh), -EHOSTUNREACH);

	/* a deleted neighbour entry */
	link_msg(3, 3, true);
	publish();
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	{
		char buf[NLB_BUF];
		union lvs_addr a = t_ip4("192.168.3.1");
		feed(nlb_neigh(buf, RTM_DELNEIGH, AF_INET, 3, &a, 0, 0, NULL));
	}
	assert_int_equal(cached("10.1.0.1", &rc, &nh), -EAGAIN);
}

static void test_refresh_marks_used(void **st)
{
	struct lvs_route_cache rc;
	struct lvs_nexthop nh;
	union lvs_addr a = t_ip4("10.1.0.1");
	struct nb_slot e;
	int k;

	(void)st;
	memset(&rc, 0, sizeof(rc));
	k = nb_lookup(ns, AF_INET, 2, &a, &e);
	assert_true(k >= 0);
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(ns->nb_used[k], 100); /* the fill routed: marked */
	ns->nb_used[k] = 0;
	ns->coarse_now += LVS_NS_PER_SEC / 2;
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(ns->nb_used[k], 0); /* a hit: no neighbour lookup */
	ns->coarse_now += LVS_NS_PER_SEC;
	assert_int_equal(cached("10.1.0.1", &rc, &nh), 0);
	assert_int_equal(ns->nb_used[k], 101); /* too old: routed again */
}

/* ---- the transforms' call sites ---- */

static int nroute_cached;
static struct lvs_route_cache *last_rc;

static int f_route_cached(void *ctx, struct lvs_route_cache *rc, int af, const union lvs_addr *dst,
			  struct lvs_nexthop *nh)
{
	nroute_cached++;
	last_rc = rc;
	return f_route(ctx, af, dst, nh);
}

static void test_call_sites(void **state)
{
	struct spec in = { .af = AF_INET, .proto = IPPROTO_TCP, .src = C4, .dst = V4,
			   .sport = 40000, .dport = 80, .plen = 10 };
	struct spec out = { .af = AF_INET, .proto = IPPROTO_TCP, .src = D4, .dst = C4,
			    .sport = 8080, .dport = 40000, .plen = 10 };
	struct lvs_xmit_env cenv = env;
	struct lvs_route_cache rc;
	struct lvs_flow f;
	enum lvs_drop why;

	setup(state);
	memset(&rc, 0, sizeof(rc));
	cenv.route_cached = f_route_cached;
	f = flow4(IPPROTO_TCP, LVS_FWD_MASQ);
	f.rc = &rc;
	assert_int_equal(lvs_xmit_nat_in(build(&in), &f, &cenv, &why), LVS_V_TX);
	assert_int_equal(nroute_cached, 1);
	assert_ptr_equal(last_rc, &rc);
	verify_frame(&fr.p, MAC_RS1, 0, 2);
	/* the reply goes to the client: not the server's next hop */
	assert_int_equal(lvs_xmit_nat_out(build(&out), &f, &cenv, &why), LVS_V_TX);
	assert_int_equal(nroute_cached, 1);
	assert_int_equal(fe.nroute, 2);
	f.fwd = LVS_FWD_ROUTE;
	assert_int_equal(lvs_xmit_dr(build(&in), &f, &cenv, &why), LVS_V_TX);
	assert_int_equal(nroute_cached, 2);
	f.fwd = LVS_FWD_TUNNEL;
	assert_int_equal(lvs_xmit_tun(build(&in), &f, &cenv, &why), LVS_V_TX);
	assert_int_equal(nroute_cached, 3);
	/* an environment without the cache-aware route (lvs-pcap) */
	assert_int_equal(lvs_xmit_tun(build(&in), &f, &env, &why), LVS_V_TX);
	assert_int_equal(nroute_cached, 3);
	assert_int_equal(fe.nroute, 5); /* f_route_cached routes through f_route too */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_read),
		cmocka_unit_test(test_no_torn_reads),
		cmocka_unit_test_setup_teardown(test_hit_after_fill, ns_setup, ns_teardown),
		cmocka_unit_test_setup_teardown(test_invalidation, ns_setup, ns_teardown),
		cmocka_unit_test_setup_teardown(test_refresh_marks_used, ns_setup, ns_teardown),
		cmocka_unit_test(test_call_sites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
