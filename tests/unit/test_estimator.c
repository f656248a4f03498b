/*
 * test_estimator.c - the kernel IPVS rate estimator: fixed-point EWMA
 * arithmetic checked by hand against ip_vs_est.c's formulas (2 s samples,
 * rate << 9 / << 4, avg += (rate - avg) >> 2, read with +0x1FF >> 10 and
 * +0xF >> 5), sampling interval handling, -Z, decay and odd inputs.
 */
#include "test_util.h"

#include "estimator.h"

#define SEC LVS_NS_PER_SEC

static void add(struct lvs_counters *c, uint64_t conns, uint64_t inp, uint64_t outp, uint64_t inb,
		uint64_t outb)
{
	c->conns += conns;
	c->inpkts += inp;
	c->outpkts += outp;
	c->inbytes += inb;
	c->outbytes += outb;
}

static void test_kernel_arithmetic(void **state)
{
	struct lvs_counters sum = { 7, 70, 0, 700, 0 }; /* traffic before start */
	struct lvs_est e;
	struct lvs_rate r;
	lvs_time_t t = 1000 * SEC;
	/* scaled averages after each 2 s step of (100 conns, 1000 pkts in,
	 * 3 pkts out, 1e6 bytes in, 1 byte out):
	 *   cps:    51200 -> 12800, 22400, 29600, 35000
	 *   inpps:  512000 -> 128000, 224000, 296000, 350000
	 *   outpps: 1536 -> 384, 672, 888, 1050
	 *   inbps:  16000000 -> 4000000, 7000000, 9250000, 10937500
	 *   outbps: 16 -> 4, 7, 9, 10 (floor: 7 + 9/4 = 9, 9 + 7/4 = 10)
	 * read back: */
	static const struct lvs_rate expect[4] = {
		{ 12, 125, 0, 125000, 0 },  /* 12800+511>>10; 384+511>>10 = 0; 4+15>>5 = 0 */
		{ 22, 219, 1, 218750, 0 },  /* 672+511 = 1183 >> 10 = 1 */
		{ 29, 289, 1, 289062, 0 },
		{ 34, 342, 1, 341797, 0 },  /* 35511>>10; 350511>>10; 10937515>>5 */
	};
	(void)state;

	lvs_est_init(&e, &sum, t);
	lvs_est_read(&e, &r);
	assert_int_equal(r.cps + r.inpps + r.outpps + r.inbps + r.outbps, 0);
	for (int i = 0; i < 4; i++) {
		add(&sum, 100, 1000, 3, 1000000, 1);
		t += 2 * SEC;
		assert_true(lvs_est_update(&e, &sum, t));
		lvs_est_read(&e, &r);
		assert_int_equal(r.cps, expect[i].cps);
		assert_int_equal(r.inpps, expect[i].inpps);
		assert_int_equal(r.outpps, expect[i].outpps);
		assert_int_equal(r.inbps, expect[i].inbps);
		assert_int_equal(r.outbps, expect[i].outbps);
	}
	assert_int_equal(e.cps, 35000);
	assert_int_equal(e.outbps, 10);

	/* a steady rate converges to the true per-second figure */
	for (int i = 0; i < 60; i++) {
		add(&sum, 100, 1000, 3, 1000000, 1);
		t += 2 * SEC;
		assert_true(lvs_est_update(&e, &sum, t));
	}
	lvs_est_read(&e, &r);
	assert_int_equal(r.cps, 50);
	assert_int_equal(r.inpps, 500);
	assert_int_equal(r.outpps, 1); /* 1.5/s: +0x1FF is just under a half */
	assert_int_equal(r.inbps, 500000);
	assert_int_equal(r.outbps, 0); /* 0.5 B/s reads as 0 (+0xF is under a half) */
}

static void test_interval(void **state)
{
	struct lvs_counters sum = { 0 };
	struct lvs_est e, e2;
	struct lvs_rate r;
	lvs_time_t t0 = 10 * SEC;
	(void)state;

	lvs_est_init(&e, &sum, t0);
	add(&sum, 100, 0, 0, 0, 0);
	/* too early: nothing happens */
	assert_false(lvs_est_update(&e, &sum, t0 + SEC));
	assert_false(lvs_est_update(&e, &sum, t0 + 2 * SEC - LVS_EST_SLACK_NS - 1));
	assert_int_equal(e.cps, 0);
	assert_int_equal(e.last.conns, 0);
	/* within the slack it counts, divided by the real interval:
	 * 100 conns in 1.9 s -> 100 * 1024 / 1.9 = 53894 -> avg 13473 */
	assert_true(lvs_est_update(&e, &sum, t0 + 2 * SEC - LVS_EST_SLACK_NS));
	assert_int_equal(e.cps, 53894 / 4);

	/* a late sample is not a burst: 200 conns over 4 s == 100 over 2 s */
	memset(&sum, 0, sizeof(sum));
	lvs_est_init(&e, &sum, t0);
	lvs_est_init(&e2, &sum, t0);
	add(&sum, 200, 0, 0, 0, 0);
	assert_true(lvs_est_update(&e, &sum, t0 + 4 * SEC));
	sum.conns = 100;
	assert_true(lvs_est_update(&e2, &sum, t0 + 2 * SEC));
	assert_int_equal(e.cps, e2.cps);
	assert_int_equal(e.cps, 12800);

	/* the clock going back re-bases without a sample */
	assert_false(lvs_est_update(&e, &sum, t0));
	assert_int_equal(e.last_time, t0);
	assert_int_equal(e.cps, 12800);
	lvs_est_read(&e, &r);
	assert_int_equal(r.cps, 12);
}

static void test_zero_and_decay(void **state)
{
	struct lvs_counters sum = { 0 };
	struct lvs_est e;
	struct lvs_rate r;
	lvs_time_t t = 0;
	static const uint64_t decay[] = { 9, 7, 5, 4 }; /* 9600, 7200, 5400, 4050 */
	(void)state;

	lvs_est_init(&e, &sum, t);
	add(&sum, 100, 100, 100, 100, 100);
	t += 2 * SEC;
	assert_true(lvs_est_update(&e, &sum, t));
	assert_int_equal(e.cps, 12800);

	/* no more traffic: the average decays by a quarter per sample,
	 * flooring, and reaches exactly 0 */
	for (int i = 0; i < 4; i++) {
		t += 2 * SEC;
		assert_true(lvs_est_update(&e, &sum, t));
		lvs_est_read(&e, &r);
		assert_int_equal(r.cps, decay[i]);
	}
	for (int i = 0; i < 60; i++) {
		t += 2 * SEC;
		lvs_est_update(&e, &sum, t);
	}
	assert_int_equal(e.cps, 0);
	assert_int_equal(e.inbps, 0);

	/* -Z: rates 0 at once, the current sums are the new reference */
	add(&sum, 100, 0, 0, 0, 0);
	t += 2 * SEC;
	assert_true(lvs_est_update(&e, &sum, t));
	assert_int_not_equal(e.cps, 0);
	add(&sum, 1000, 0, 0, 0, 0);
	lvs_est_zero(&e, &sum);
	lvs_est_read(&e, &r);
	assert_int_equal(r.cps, 0);
	t += 2 * SEC;
	add(&sum, 100, 0, 0, 0, 0); /* only this counts */
	assert_true(lvs_est_update(&e, &sum, t));
	assert_int_equal(e.cps, 12800);
}

static void test_odd_counters(void **state)
{
	struct lvs_counters sum = { 1000, 1000, 1000, 1000, 1000 };
	struct lvs_est e;
	struct lvs_rate r;
	(void)state;

	/* counters that went down (reset under us) count as no traffic */
	lvs_est_init(&e, &sum, 0);
	memset(&sum, 0, sizeof(sum));
	assert_true(lvs_est_update(&e, &sum, 2 * SEC));
	assert_int_equal(e.cps, 0);
	assert_int_equal(e.last.conns, 0);
	add(&sum, 100, 0, 0, 0, 0);
	assert_true(lvs_est_update(&e, &sum, 4 * SEC));
	assert_int_equal(e.cps, 12800);

	/* enormous increases saturate instead of overflowing */
	memset(&sum, 0, sizeof(sum));
	lvs_est_init(&e, &sum, 0);
	sum.conns = sum.inpkts = sum.outpkts = sum.inbytes = sum.outbytes = UINT64_MAX;
	assert_true(lvs_est_update(&e, &sum, 2 * SEC));
	for (int i = 1; i < 10; i++) {
		assert_true(lvs_est_update(&e, &sum, (uint64_t)(2 + 2 * i) * SEC));
		sum.inbytes -= 1; /* keeps going "down": treated as idle */
	}
	lvs_est_read(&e, &r);
	assert_true(r.cps < UINT64_MAX / 1024);
	assert_true(e.cps >= 0 && e.inbps >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_arithmetic),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_zero_and_decay),
		cmocka_unit_test(test_odd_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
