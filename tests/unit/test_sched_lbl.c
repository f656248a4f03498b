/*
 * test_sched_lbl.c - lblc, lblcr and their locality cache: stickiness of a
 * destination address to its server, lblc's "overloaded" rule (active >
 * weight while some server has active * 2 < weight), lblcr's server sets
 * and their shrinking, expiry after lblc(r)_expiration (24 h), and the
 * cache's capacity and incremental garbage collection.
 */
#include "test_sched_util.h"
#include "sched_tree.h"

#define SEC  LVS_NS_PER_SEC
#define HOUR (3600 * SEC)
#define DAY  (24 * HOUR)
#define T0   (1000 * SEC)

static int pick_dst(struct tsvc *t, const char *daddr, lvs_time_t now)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.af = AF_INET;
	pi.proto = IPPROTO_TCP;
	pi.saddr = t_ip4("172.16.0.9");
	pi.daddr = t_ip4(daddr);
	pi.sport = htons(33333);
	pi.dport = htons(80);
	return tsvc_pick_pi(t, &pi, now);
}

static void test_lblc_sticky(void **state)
{
	struct tsvc t;

	(void)state;
	tsvc_setup(&t, "lblc", 3, NULL);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0); /* wlc: first */
	tsvc_counts(&t, 0, 1, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0); /* cached, 1 <= weight */
	assert_int_equal(pick_dst(&t, "10.2.2.2", T0), 1); /* wlc for a new address */
	tsvc_counts(&t, 1, 1, 0);
	tsvc_counts(&t, 0, 1, 500); /* inactive: no matter */
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0);
	assert_int_equal(pick_dst(&t, "10.2.2.2", T0), 1);

	/* active 2 > weight 1 and server 2 is light (0 * 2 < 1): move A. */
	tsvc_counts(&t, 0, 2, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 2);
	tsvc_counts(&t, 2, 1, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 2); /* now cached on 2 */
	/* Nobody light any more: a busy cached server is kept. */
	tsvc_counts(&t, 0, 5, 0);
	tsvc_counts(&t, 1, 5, 0);
	tsvc_counts(&t, 2, 5, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 2);
	assert_int_equal(pick_dst(&t, "10.2.2.2", T0), 1);
	/* One light server again: both move to the wlc choice. */
	tsvc_counts(&t, 0, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0);
	assert_int_equal(pick_dst(&t, "10.2.2.2", T0), 0);
	/* Cached server overloaded in lblc's sense and no wlc choice: NULL. */
	tsvc_counts(&t, 0, 9, 0);
	tsvc_overload(&t, 0, true);
	tsvc_overload(&t, 1, true);
	tsvc_overload(&t, 2, true);
	tsvc_counts(&t, 1, 0, 0); /* light, but over its threshold */
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), -1);
	tsvc_teardown(&t);

	/* "Light" means active * 2 < weight: 2 active of weight 4 is not. */
	int32_t w[2] = {4, 4};
	tsvc_setup(&t, "lblc", 2, w);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0);
	tsvc_counts(&t, 0, 5, 0);
	tsvc_counts(&t, 1, 2, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0);
	tsvc_counts(&t, 1, 1, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 1);
	tsvc_teardown(&t);
}

static void test_lblc_expiry(void **state)
{
	struct tsvc t;

	(void)state;
	tsvc_setup(&t, "lblc", 2, NULL);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0), 0);
	tsvc_counts(&t, 0, 1, 0);
	assert_int_equal(pick_dst(&t, "10.3.3.3", T0), 1);
	tsvc_counts(&t, 1, 1, 1);  /* 257 */
	tsvc_counts(&t, 0, 1, 10); /* 266: wlc now prefers 1, 0 not overloaded */
	/* Each use refreshes the entry. */
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0 + DAY - 1), 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0 + 2 * DAY - 2), 0);
	/* Unused for lblc_expiration (24 h): forgotten, chosen afresh. */
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0 + 3 * DAY - 2), 1);
	tsvc_counts(&t, 1, 1, 20);
	assert_int_equal(pick_dst(&t, "10.1.1.1", T0 + 3 * DAY - 1), 1);
	tsvc_teardown(&t);
}

static void test_lblcr_sets(void **state)
{
	struct tsvc t;
	lvs_time_t now = T0;

	(void)state;
	tsvc_setup(&t, "lblcr", 3, NULL);
	assert_int_equal(pick_dst(&t, "10.1.1.1", now), 0); /* set {0} */
	tsvc_counts(&t, 0, 1, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", now), 0);
	/* 0 overloaded in lblc's sense: wlc adds 1 -> set {1, 0}. */
	tsvc_counts(&t, 0, 2, 0);
	now += HOUR;
	lvs_time_t added = now;
	assert_int_equal(pick_dst(&t, "10.1.1.1", now), 1);
	/* The least loaded member is used: 0 once it is lighter. */
	tsvc_counts(&t, 1, 1, 0);
	tsvc_counts(&t, 0, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", now), 0);
	tsvc_counts(&t, 0, 1, 0);
	tsvc_counts(&t, 1, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", now), 1);
	/* Server 2 is never in the set though idle: wlc only adds when the
	 * set's choice is overloaded. */
	assert_int_not_equal(pick_dst(&t, "10.1.1.1", now + HOUR), 2);

	/* Keep using the entry; the set is unchanged for 24 h, then its most
	 * loaded member (now 1) is dropped on the next use. */
	tsvc_counts(&t, 0, 0, 0);
	tsvc_counts(&t, 1, 1, 0);
	for (lvs_time_t x = now + 12 * HOUR; x <= added + DAY; x += 12 * HOUR)
		assert_int_equal(pick_dst(&t, "10.1.1.1", x), 0);
	/* Exactly 24 h is not yet "after": both members are still there. */
	tsvc_counts(&t, 0, 1, 0);
	tsvc_counts(&t, 1, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + DAY), 1);
	tsvc_counts(&t, 0, 0, 0);
	tsvc_counts(&t, 1, 1, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + DAY + 1), 0);
	/* Only 0 is left: even when 1 is lighter, 0 is used. */
	tsvc_counts(&t, 0, 1, 0);
	tsvc_counts(&t, 1, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + DAY + 2), 0);

	/* Entry unused for a day: forgotten; the wlc choice starts a new set. */
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + 2 * DAY + 2), 1);
	tsvc_counts(&t, 1, 1, 0);
	tsvc_counts(&t, 0, 0, 0);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + 2 * DAY + 3), 1);

	/* Threshold-overloaded members are skipped; none left and no wlc
	 * choice: NULL. */
	tsvc_overload(&t, 1, true);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + 2 * DAY + 4), 0);
	tsvc_overload(&t, 0, true);
	tsvc_overload(&t, 2, true);
	assert_int_equal(pick_dst(&t, "10.1.1.1", added + 2 * DAY + 5), -1);
	tsvc_teardown(&t);
}

/* ---- the cache itself ---- */

static union lvs_addr lc_addr(uint32_t i)
{
	union lvs_addr a;
	lvs_addr_set4(&a, htonl(0x0b000000u + i));
	return a;
}

static void test_lcache_capacity_gc(void **state)
{
	struct lvs_lcache c;
	union lvs_addr a;

	(void)state;
	assert_int_equal(lvs_lcache_init(&c, false, 100), 0);
	for (uint32_t i = 0; i < LVS_LC_CAP; i++) {
		a = lc_addr(i);
		uint32_t e = lvs_lcache_insert(&c, &a, 0);
		assert_int_not_equal(e, LVS_IDX_NONE);
		c.e[e].val = i;
	}
	a = lc_addr(LVS_LC_CAP);
	assert_int_equal(lvs_lcache_insert(&c, &a, 0), LVS_IDX_NONE); /* full */
	assert_int_equal(c.count, LVS_LC_CAP);
	for (uint32_t i = 0; i < LVS_LC_CAP; i += 97) {
		a = lc_addr(i);
		uint32_t e = lvs_lcache_lookup(&c, &a, 50);
		assert_int_not_equal(e, LVS_IDX_NONE);
		assert_int_equal(c.e[e].val, i);
	}
	/* Not stale yet: a full sweep keeps everything. */
	for (uint32_t b = 0; b < LVS_LC_BUCKETS; b++)
		lvs_lcache_gc_step(&c, 99);
	assert_int_equal(c.count, LVS_LC_CAP);
	/* A stale entry found by lookup is dropped there. */
	a = lc_addr(5);
	assert_int_equal(lvs_lcache_lookup(&c, &a, 100), LVS_IDX_NONE);
	assert_int_equal(c.count, LVS_LC_CAP - 1);
	/* One bucket per step: a sweep of all buckets empties the cache. */
	for (uint32_t b = 0; b < LVS_LC_BUCKETS; b++)
		lvs_lcache_gc_step(&c, 200);
	assert_int_equal(c.count, 0);
	for (uint32_t i = 0; i < LVS_LC_CAP; i++) {
		a = lc_addr(i + 77);
		assert_int_not_equal(lvs_lcache_insert(&c, &a, 300), LVS_IDX_NONE);
	}
	assert_int_equal(c.used, LVS_LC_CAP); /* freed entries were reused */
	lvs_lcache_free(&c);

	/* Pressure: above 3/4 full, 6 minutes unused is enough to go. */
	assert_int_equal(lvs_lcache_init(&c, false, DAY), 0);
	for (uint32_t i = 0; i < LVS_LC_PRESSURE; i++) {
		a = lc_addr(i);
		assert_int_not_equal(lvs_lcache_insert(&c, &a, 0), LVS_IDX_NONE);
	}
	for (uint32_t b = 0; b < LVS_LC_BUCKETS; b++)
		lvs_lcache_gc_step(&c, 7 * 60 * SEC);
	assert_int_equal(c.count, LVS_LC_PRESSURE);
	for (uint32_t i = 0; i < 100; i++) {
		a = lc_addr(LVS_LC_PRESSURE + i);
		assert_int_not_equal(lvs_lcache_insert(&c, &a, 7 * 60 * SEC), LVS_IDX_NONE);
	}
	for (uint32_t b = 0; b < LVS_LC_BUCKETS; b++)
		lvs_lcache_gc_step(&c, 7 * 60 * SEC);
	assert_true(c.count <= LVS_LC_PRESSURE);
	assert_true(c.count >= 100);
	lvs_lcache_free(&c);
}

static void test_lcache_sets(void **state)
{
	struct lvs_lcache c;
	union lvs_addr a = lc_addr(1);
	uint32_t e, m, order[4], n = 0;

	(void)state;
	assert_int_equal(lvs_lcache_init(&c, true, DAY), 0);
	e = lvs_lcache_insert(&c, &a, 10);
	assert_true(lvs_lcache_set_add(&c, e, 4, 11));
	assert_true(lvs_lcache_set_add(&c, e, 2, 12));
	assert_false(lvs_lcache_set_add(&c, e, 4, 13)); /* already there */
	assert_int_equal(c.e[e].lastmod, 12);
	assert_true(lvs_lcache_set_add(&c, e, 7, 14));
	assert_int_equal(c.e[e].setsize, 3);
	for (m = c.e[e].val; m != LVS_IDX_NONE; m = c.el[m].next)
		order[n++] = c.el[m].dest;
	assert_int_equal(n, 3); /* newest first */
	assert_int_equal(order[0], 7);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 4);
	lvs_lcache_set_del(&c, e, 2, 20);
	assert_int_equal(c.e[e].setsize, 2);
	assert_int_equal(c.e[e].lastmod, 20);
	lvs_lcache_set_del(&c, e, 9, 21); /* not a member */
	assert_int_equal(c.e[e].setsize, 2);
	assert_int_equal(c.e[e].lastmod, 20);

	/* The member pool is bounded: adds beyond it fail cleanly, and an
	 * expired entry gives its members back. */
	for (uint32_t i = 0; i < LVS_LC_CAP - 1; i++) {
		union lvs_addr b = lc_addr(100 + i);
		uint32_t x = lvs_lcache_insert(&c, &b, 30);
		assert_int_not_equal(x, LVS_IDX_NONE);
		assert_true(lvs_lcache_set_add(&c, x, 1, 30));
		assert_true(lvs_lcache_set_add(&c, x, 2, 30));
	}
	assert_int_equal(c.el_used, LVS_LC_ELEMS);
	assert_false(lvs_lcache_set_add(&c, e, 3, 31));
	assert_int_equal(c.e[e].setsize, 2);
	assert_int_equal(lvs_lcache_lookup(&c, &a, 10 + DAY), LVS_IDX_NONE);
	a = lc_addr(2);
	e = lvs_lcache_insert(&c, &a, 10 + DAY);
	assert_int_not_equal(e, LVS_IDX_NONE);
	assert_true(lvs_lcache_set_add(&c, e, 1, 10 + DAY));
	assert_true(lvs_lcache_set_add(&c, e, 2, 10 + DAY));
	assert_false(lvs_lcache_set_add(&c, e, 3, 10 + DAY));
	lvs_lcache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lblc_sticky), cmocka_unit_test(test_lblc_expiry),
	        cmocka_unit_test(test_lblcr_sets),  cmocka_unit_test(test_lcache_capacity_gc),
	        cmocka_unit_test(test_lcache_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
