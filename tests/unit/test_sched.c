/*
 * test_sched.c - registry, rr, wrr, lc, wlc, sed, nq, fo, ovf, twos and the
 * shared trees.  Exact pick sequences are pinned by hand; the tree-based
 * schedulers are cross-checked against linear scans written here exactly as
 * the kernel defines each algorithm.
 */
#include "test_sched_util.h"
#include "sched_tree.h"

/* ---- registry ---- */

static void test_registry(void **state)
{
	static const char *names[] = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
	                              "sh", "sed", "nq", "fo",  "ovf",  "mh",    "twos"};
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct lvs_sched_ops *o = lvs_sched_find(names[i]);
		assert_non_null(o);
		assert_string_equal(o->name, names[i]);
		assert_ptr_equal(lvs_sched_all[i], o);
		assert_non_null(o->init);
		assert_non_null(o->done);
		assert_non_null(o->pick);
		/* Mutable state needs the lock; the hashing ones are read-only. */
		bool hashing = !strcmp(names[i], "dh") || !strcmp(names[i], "sh") ||
		               !strcmp(names[i], "mh");
		assert_int_equal(o->locked, !hashing);
		assert_int_equal(o->counts_changed == NULL, hashing);
	}
	while (lvs_sched_all[n])
		n++;
	assert_int_equal(n, 14);
	assert_null(lvs_sched_find("WLC"));
	assert_null(lvs_sched_find("wlcx"));
	assert_null(lvs_sched_find(""));
	assert_null(lvs_sched_find(NULL));
}

/* Every scheduler: no destinations -> NULL; all weight 0 -> NULL. */
static void test_empty_and_quiescent(void **state)
{
	(void)state;
	for (unsigned k = 0; lvs_sched_all[k]; k++) {
		struct tsvc t;
		int32_t w0[3] = {0, 0, 0};
		const char *name = lvs_sched_all[k]->name;

		tsvc_setup(&t, name, 0, NULL);
		assert_int_equal(tsvc_pick(&t), -1);
		tsvc_teardown(&t);

		tsvc_setup(&t, name, 3, w0);
		for (int i = 0; i < 5; i++)
			assert_int_equal(tsvc_pick(&t), -1);
		tsvc_teardown(&t);

		/* One usable dest among quiescent ones is always the choice (dh
		 * has no fallback: its buckets of weight-0 dests just fail). */
		if (!strcmp(name, "dh"))
			continue;
		int32_t w1[3] = {0, 5, 0};
		tsvc_prepare(&t, name, 3, w1, NULL);
		t.svc.c.flags |= LVS_SVC_F_SCHED_SH_FALLBACK;
		tsvc_init(&t);
		for (int i = 0; i < 5; i++)
			assert_int_equal(tsvc_pick(&t), 1);
		/* ...until it is overloaded.  lblc keeps using a cached server
		 * whatever its threshold flag (the kernel checks only weight and
		 * its own active > weight rule there). */
		tsvc_overload(&t, 1, true);
		assert_int_equal(tsvc_pick(&t), strcmp(name, "lblc") ? -1 : 1);
		tsvc_teardown(&t);
	}
}

/* counts_changed for a dest of another service is ignored. */
static void test_foreign_dest_ignored(void **state)
{
	(void)state;
	for (unsigned k = 0; lvs_sched_all[k]; k++) {
		struct tsvc a, b;
		if (!lvs_sched_all[k]->counts_changed)
			continue;
		tsvc_setup(&a, lvs_sched_all[k]->name, 2, NULL);
		tsvc_setup(&b, lvs_sched_all[k]->name, 5, NULL);
		a.svc.sched->counts_changed(&a.svc, &b.d[4]); /* pos out of range */
		a.svc.sched->counts_changed(&a.svc, &b.d[1]); /* not a's dest */
		assert_int_not_equal(tsvc_pick(&a), -1);
		tsvc_teardown(&a);
		tsvc_teardown(&b);
	}
}

/* ---- rr ---- */

static void test_rr(void **state)
{
	struct tsvc t;
	int32_t w[3] = {1, 0, 1};

	(void)state;
	tsvc_setup(&t, "rr", 3, NULL);
	/* Starts with dests[0] (the head: the dest added last). */
	for (int i = 0; i < 7; i++)
		assert_int_equal(tsvc_pick(&t), i % 3);
	/* Position 0 now; overload 1 -> 2, 0, 2, 0 */
	tsvc_overload(&t, 1, true);
	assert_int_equal(tsvc_pick(&t), 2);
	assert_int_equal(tsvc_pick(&t), 0);
	assert_int_equal(tsvc_pick(&t), 2);
	/* All overloaded: NULL, and the position is kept. */
	tsvc_overload(&t, 0, true);
	tsvc_overload(&t, 2, true);
	assert_int_equal(tsvc_pick(&t), -1);
	tsvc_overload(&t, 0, false);
	tsvc_overload(&t, 1, false);
	tsvc_overload(&t, 2, false);
	assert_int_equal(tsvc_pick(&t), 0);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);

	/* Weight 0 is skipped; weights otherwise do not matter. */
	tsvc_setup(&t, "rr", 3, w);
	for (int i = 0; i < 6; i++)
		assert_int_equal(tsvc_pick(&t), (i % 2) * 2);
	tsvc_teardown(&t);
}

/* ---- wrr ---- */

static void test_wrr_sequence(void **state)
{
	struct tsvc t;
	int32_t w[3] = {4, 3, 2};
	/* Kernel wrr, A=4 B=3 C=2 in list order: cw starts at max weight 4 and
	 * drops by gcd 1 at each end of list: A | A B | A B C | A B C. */
	static const int seq[] = {0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2};
	int32_t w2[2] = {4, 2};
	int32_t w3[3] = {6, 0, 3};

	(void)state;
	tsvc_setup(&t, "wrr", 3, w);
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		assert_int_equal(tsvc_pick(&t), seq[i]);
	tsvc_teardown(&t);

	/* gcd 2: mw = 4 - 1 = 3, levels 3, 1: A A B repeating. */
	tsvc_setup(&t, "wrr", 2, w2);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tsvc_pick(&t), (i % 3) == 2 ? 1 : 0);
	tsvc_teardown(&t);

	/* Weight 0 never chosen; gcd 3: A A C. */
	tsvc_setup(&t, "wrr", 3, w3);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tsvc_pick(&t), (i % 3) == 2 ? 2 : 0);
	tsvc_teardown(&t);
}

/* The kernel's wrr loop, re-expressed literally: walk level by level,
 * including its bounded search when everything is overloaded. */
struct ref_wrr {
	int n;
	const int32_t *w;
	const bool *ovl;
	int cl; /* -1 = head */
	int64_t cw, mw, di;
};

static void ref_wrr_init(struct ref_wrr *r, int n, const int32_t *w, const bool *ovl)
{
	int64_t g = 0, max = 0;

	r->n = n;
	r->w = w;
	r->ovl = ovl;
	for (int i = 0; i < n; i++) {
		if (w[i] > 0) {
			int64_t a = w[i], b = g;
			while (b) {
				int64_t t = a % b;
				a = b;
				b = t;
			}
			g = g ? a : w[i];
		}
		if (w[i] > max)
			max = w[i];
	}
	r->di = g ? g : 1;
	r->mw = max - (r->di - 1);
	r->cw = r->mw;
	r->cl = -1;
}

static int ref_wrr_pick(struct ref_wrr *r)
{
	int last = r->cl, i = r->cl, stop = -2;
	bool last_pass = false, restarted = false;

	if (r->mw == 0)
		return -1;
	for (;;) {
		for (i = i + 1; i < r->n; i++) {
			if (!r->ovl[i] && r->w[i] >= r->cw) {
				r->cl = i;
				return i;
			}
			if (i == stop) {
				r->cl = i;
				return -1;
			}
		}
		i = -1;
		r->cw -= r->di;
		if (r->cw <= 0) {
			r->cw = r->mw;
			if (last_pass || last == -1) {
				r->cl = -1;
				return -1;
			}
			restarted = true;
		}
		last_pass = r->cw <= r->di;
		if (last_pass && restarted && last != -1)
			stop = last;
	}
}

static void test_wrr_random(void **state)
{
	uint64_t rs = 0x1234567;

	(void)state;
	for (int round = 0; round < 300; round++) {
		int n = 1 + (int)t_rand_below(&rs, 12);
		int32_t w[12];
		bool ovl[12] = {false};
		int32_t mult = 1 + (int32_t)t_rand_below(&rs, 3);
		struct ref_wrr r;
		struct tsvc t;

		for (int i = 0; i < n; i++)
			w[i] = (int32_t)t_rand_below(&rs, 7) * mult;
		tsvc_setup(&t, "wrr", (uint32_t)n, w);
		ref_wrr_init(&r, n, w, ovl);
		for (int step = 0; step < 400; step++) {
			if (t_rand_below(&rs, 10) == 0) {
				int i = (int)t_rand_below(&rs, (uint32_t)n);
				/* Sometimes overload everything for a while. */
				if (t_rand_below(&rs, 8) == 0) {
					for (int j = 0; j < n; j++) {
						ovl[j] = true;
						tsvc_overload(&t, (uint32_t)j, true);
					}
				}
				ovl[i] = !ovl[i];
				tsvc_overload(&t, (uint32_t)i, ovl[i]);
			}
			int want = ref_wrr_pick(&r);
			assert_int_equal(tsvc_pick(&t), want);
		}
		tsvc_teardown(&t);
	}
}

/* Large weights: the level skipping must not walk 2^31 levels. */
static void test_wrr_big_weights(void **state)
{
	struct tsvc t;
	int32_t w[2] = {LVS_MAX_WEIGHT, 1};
	int c1 = 0;

	(void)state;
	tsvc_setup(&t, "wrr", 2, w);
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_overload(&t, 0, true);
	for (int i = 0; i < 3; i++)
		c1 += tsvc_pick(&t) == 1;
	assert_int_equal(c1, 3);
	tsvc_teardown(&t);
}

/* ---- lc, wlc, sed, nq: hand-computed ---- */

static void test_lc(void **state)
{
	struct tsvc t;
	int32_t w[3] = {1, 5, 9};

	(void)state;
	tsvc_setup(&t, "lc", 3, w);
	assert_int_equal(tsvc_pick(&t), 0); /* all zero: first */
	tsvc_counts(&t, 0, 1, 0);           /* 256 */
	tsvc_counts(&t, 1, 0, 10);          /* 10 */
	tsvc_counts(&t, 2, 0, 10);          /* 10: tie with 1 */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_overload(&t, 1, true);
	assert_int_equal(tsvc_pick(&t), 2);
	tsvc_counts(&t, 2, 1, 1); /* 257 > 256; weights do not count */
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_overload(&t, 1, false);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);
}

static void test_wlc(void **state)
{
	struct tsvc t;
	int32_t w[3] = {1, 2, 3};

	(void)state;
	tsvc_setup(&t, "wlc", 3, w);
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_counts(&t, 0, 1, 0); /* 256/1 */
	tsvc_counts(&t, 1, 1, 0); /* 256/2 = 128 */
	tsvc_counts(&t, 2, 1, 0); /* 256/3 = 85.3 */
	assert_int_equal(tsvc_pick(&t), 2);
	tsvc_counts(&t, 2, 2, 0); /* 512/3 = 170.7 */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_counts(&t, 2, 1, 128); /* 384/3 = 128: tie with 1, 1 is first */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_counts(&t, 1, 1, 1); /* 257/2 = 128.5 */
	assert_int_equal(tsvc_pick(&t), 2);
	tsvc_overload(&t, 2, true);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);
}

static void test_sed_nq(void **state)
{
	struct tsvc t;
	int32_t w[2] = {1, 3};

	(void)state;
	/* sed: (active + 1) / weight; idle servers still compared. */
	tsvc_setup(&t, "sed", 2, w);
	assert_int_equal(tsvc_pick(&t), 1); /* 1/1 vs 1/3 */
	tsvc_counts(&t, 1, 2, 0);           /* 1/1 vs 3/3: tie -> first */
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_counts(&t, 0, 0, 1000); /* inactive ignored */
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_counts(&t, 1, 1, 0); /* 1/1 vs 2/3 */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);

	/* nq: the first idle server wins outright, else sed. */
	tsvc_setup(&t, "nq", 2, w);
	assert_int_equal(tsvc_pick(&t), 0); /* both idle: first */
	tsvc_counts(&t, 0, 1, 0);
	assert_int_equal(tsvc_pick(&t), 1); /* 1 idle */
	tsvc_counts(&t, 1, 2, 0);           /* 2/1 vs 3/3 */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_counts(&t, 1, 5, 0); /* 2/1 vs 6/3: tie -> first */
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_counts(&t, 1, 0, 7); /* idle again (inactive only) */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_overload(&t, 1, true);
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_teardown(&t);
}

/* ---- linear references, as the kernel scans ---- */

static uint64_t ref_oh(const struct lvs_dest *d)
{
	return (uint64_t)lvs_dest_active(d) * 256 + (uint64_t)lvs_dest_inactive(d);
}

static bool ref_avail(const struct lvs_dest *d)
{
	return !lvs_dest_overloaded(d) && d->c.weight > 0;
}

/* The kernel's test loh * dw > doh * lw, exact. */
static bool ref_gt(uint64_t loh, uint64_t lw, uint64_t doh, uint64_t dw)
{
	return (unsigned __int128)loh * dw > (unsigned __int128)doh * lw;
}

static int ref_lc(struct tsvc *t)
{
	int least = -1;
	uint64_t loh = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (!ref_avail(&t->d[i]))
			continue;
		uint64_t doh = ref_oh(&t->d[i]);
		if (least < 0 || doh < loh) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

/* wlc and sed share the kernel's two-stage scan, differing in overhead. */
static int ref_weighted(struct tsvc *t, bool sed)
{
	uint32_t i;
	int least = -1;
	uint64_t loh = 0;

	for (i = 0; i < t->n; i++) {
		if (ref_avail(&t->d[i])) {
			least = (int)i;
			loh = sed ? (uint64_t)lvs_dest_active(&t->d[i]) + 1 : ref_oh(&t->d[i]);
			break;
		}
	}
	if (least < 0)
		return -1;
	for (i++; i < t->n; i++) {
		const struct lvs_dest *d = &t->d[i];
		if (lvs_dest_overloaded(d))
			continue;
		uint64_t doh = sed ? (uint64_t)lvs_dest_active(d) + 1 : ref_oh(d);
		if (ref_gt(loh, (uint64_t)t->d[least].c.weight, doh, (uint64_t)d->c.weight)) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

static int ref_nq(struct tsvc *t)
{
	int least = -1;
	uint64_t loh = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct lvs_dest *d = &t->d[i];
		if (!ref_avail(d))
			continue;
		uint64_t doh = (uint64_t)lvs_dest_active(d) + 1;
		if (lvs_dest_active(d) == 0)
			return (int)i;
		if (least < 0 ||
		    ref_gt(loh, (uint64_t)t->d[least].c.weight, doh, (uint64_t)d->c.weight)) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

static int ref_fo(struct tsvc *t)
{
	int h = -1;
	int32_t hw = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (!lvs_dest_overloaded(&t->d[i]) && t->d[i].c.weight > hw) {
			h = (int)i;
			hw = t->d[i].c.weight;
		}
	}
	return h;
}

static int ref_ovf(struct tsvc *t)
{
	int h = -1;
	int32_t hw = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		int32_t w = t->d[i].c.weight;
		if (lvs_dest_overloaded(&t->d[i]) || lvs_dest_active(&t->d[i]) > w || w == 0)
			continue;
		if (h < 0 || w > hw) {
			h = (int)i;
			hw = w;
		}
	}
	return h;
}

static int ref_pick(struct tsvc *t, const char *name)
{
	if (!strcmp(name, "lc"))
		return ref_lc(t);
	if (!strcmp(name, "wlc"))
		return ref_weighted(t, false);
	if (!strcmp(name, "sed"))
		return ref_weighted(t, true);
	if (!strcmp(name, "nq"))
		return ref_nq(t);
	if (!strcmp(name, "fo"))
		return ref_fo(t);
	return ref_ovf(t);
}

static void test_tree_vs_linear(void **state)
{
	static const char *names[] = {"lc", "wlc", "sed", "nq", "fo", "ovf"};
	uint64_t rs = 0xfeedbeef;

	(void)state;
	for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		for (int round = 0; round < 40; round++) {
			uint32_t n = 1 + t_rand_below(&rs, 40);
			int32_t *w = calloc(n, sizeof(*w));
			struct tsvc t;
			/* Small ranges make ties frequent; some rounds use huge values
			 * to exercise the 128-bit cross-multiplication. */
			bool huge = round % 5 == 4;

			for (uint32_t i = 0; i < n; i++) {
				uint32_t r = t_rand_below(&rs, 10);
				w[i] = r == 0 ? 0
				       : huge ? LVS_MAX_WEIGHT - (int32_t)t_rand_below(&rs, 3)
				              : (int32_t)(1 + t_rand_below(&rs, 4));
			}
			tsvc_setup(&t, names[k], n, w);
			for (int step = 0; step < 600; step++) {
				uint32_t i = t_rand_below(&rs, n);
				switch (t_rand_below(&rs, 4)) {
				case 0:
					tsvc_overload(&t, i, t_rand_below(&rs, 4) == 0);
					break;
				default: {
					int32_t a = (int32_t)t_rand_below(&rs, huge ? 1u << 30 : 6);
					int32_t in =
					        (int32_t)t_rand_below(&rs, huge ? 1u << 30 : 600);
					tsvc_counts(&t, i, a, in);
				}
				}
				assert_int_equal(tsvc_pick(&t), ref_pick(&t, names[k]));
			}
			tsvc_teardown(&t);
			free(w);
		}
	}
}

/* ---- fo, ovf ---- */

static void test_fo(void **state)
{
	struct tsvc t;
	int32_t w[4] = {2, 5, 5, 1};

	(void)state;
	tsvc_setup(&t, "fo", 4, w);
	assert_int_equal(tsvc_pick(&t), 1); /* highest weight, first of equals */
	tsvc_counts(&t, 1, 1000, 1000);     /* load does not matter */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_overload(&t, 1, true);
	assert_int_equal(tsvc_pick(&t), 2);
	tsvc_overload(&t, 2, true);
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_overload(&t, 1, false);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);
}

static void test_ovf(void **state)
{
	struct tsvc t;
	int32_t w[3] = {1, 3, 2};

	(void)state;
	tsvc_setup(&t, "ovf", 3, w);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_counts(&t, 1, 3, 0); /* active == weight: still taken */
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_counts(&t, 1, 4, 0); /* overflow to the next heaviest */
	assert_int_equal(tsvc_pick(&t), 2);
	tsvc_counts(&t, 2, 3, 100);
	assert_int_equal(tsvc_pick(&t), 0);
	tsvc_counts(&t, 0, 2, 0);
	assert_int_equal(tsvc_pick(&t), -1); /* everyone above weight */
	tsvc_counts(&t, 1, 0, 50);
	assert_int_equal(tsvc_pick(&t), 1);
	tsvc_teardown(&t);
}

/* ---- twos ---- */

static void test_twos(void **state)
{
	struct tsvc t, u;
	int32_t w[4] = {1, 2, 0, 3};
	int cnt[4] = {0};
	const int picks = 60000;

	(void)state;
	tsvc_setup(&t, "twos", 4, w);
	tsvc_setup(&u, "twos", 4, w);
	/* Repeatable: the same service gives the same sequence. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(tsvc_pick(&t), tsvc_pick(&u));
	tsvc_teardown(&u);

	/* Idle servers: ties keep the first draw, so the choice is a weighted
	 * draw over [0, 1+2+3] where the first usable one also owns r = 0. */
	for (int i = 0; i < picks; i++)
		cnt[tsvc_pick(&t)]++;
	assert_int_equal(cnt[2], 0);
	assert_true(abs(cnt[0] - picks * 2 / 7) < picks / 50);
	assert_true(abs(cnt[1] - picks * 2 / 7) < picks / 50);
	assert_true(abs(cnt[3] - picks * 3 / 7) < picks / 50);

	/* A loaded server is taken only when both draws land on it. */
	tsvc_counts(&t, 3, 10, 0);
	memset(cnt, 0, sizeof(cnt));
	for (int i = 0; i < picks; i++)
		cnt[tsvc_pick(&t)]++;
	assert_true(abs(cnt[3] - picks * 9 / 49) < picks / 50);

	/* Overloaded: never; the weights of the rest still count. */
	tsvc_overload(&t, 3, true);
	memset(cnt, 0, sizeof(cnt));
	for (int i = 0; i < picks / 4; i++)
		cnt[tsvc_pick(&t)]++;
	/* total 1 + 2 + 1: r = 0, 1 -> dest 0; r = 2, 3 -> dest 1 */
	assert_int_equal(cnt[3], 0);
	assert_int_equal(cnt[2], 0);
	assert_true(abs(cnt[0] - picks / 8) < picks / 100);
	assert_true(abs(cnt[1] - picks / 8) < picks / 100);
	tsvc_overload(&t, 0, true);
	tsvc_overload(&t, 1, true);
	assert_int_equal(tsvc_pick(&t), -1);
	tsvc_teardown(&t);
}

/* ---- the trees themselves ---- */

static void test_mtree_fenwick(void **state)
{
	uint64_t rs = 99;

	(void)state;
	for (int round = 0; round < 50; round++) {
		uint32_t n = 1 + t_rand_below(&rs, 70);
		uint64_t v[70] = {0};
		struct lvs_mtree m;
		struct lvs_fenwick f;

		assert_int_equal(lvs_mtree_init(&m, n), 0);
		assert_int_equal(lvs_fenwick_init(&f, n), 0);
		for (int step = 0; step < 300; step++) {
			uint32_t i = t_rand_below(&rs, n);
			uint64_t nv = t_rand_below(&rs, 4) ? t_rand_below(&rs, 6) : 0;
			lvs_fenwick_add(&f, i, (int64_t)(nv - v[i]));
			v[i] = nv;
			lvs_mtree_set(&m, i, nv);

			uint32_t from = t_rand_below(&rs, n + 2);
			uint64_t thr = 1 + t_rand_below(&rs, 6);
			uint32_t want = LVS_IDX_NONE;
			for (uint32_t j = from; j < n; j++)
				if (v[j] >= thr) {
					want = j;
					break;
				}
			assert_int_equal(lvs_mtree_find(&m, from, thr), want);

			uint64_t sum = 0, mx = 0;
			for (uint32_t j = 0; j < n; j++) {
				sum += v[j];
				mx = v[j] > mx ? v[j] : mx;
			}
			assert_int_equal(lvs_mtree_max(&m), mx);
			uint64_t target = 1 + t_rand_below(&rs, (uint32_t)sum + 2);
			uint64_t acc = 0;
			want = LVS_IDX_NONE;
			for (uint32_t j = 0; j < n; j++) {
				acc += v[j];
				if (acc >= target) {
					want = j;
					break;
				}
			}
			assert_int_equal(lvs_fenwick_lower_bound(&f, target), want);
		}
		lvs_mtree_free(&m);
		lvs_fenwick_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_registry),
	        cmocka_unit_test(test_empty_and_quiescent),
	        cmocka_unit_test(test_foreign_dest_ignored),
	        cmocka_unit_test(test_rr),
	        cmocka_unit_test(test_wrr_sequence),
	        cmocka_unit_test(test_wrr_random),
	        cmocka_unit_test(test_wrr_big_weights),
	        cmocka_unit_test(test_lc),
	        cmocka_unit_test(test_wlc),
	        cmocka_unit_test(test_sed_nq),
	        cmocka_unit_test(test_tree_vs_linear),
	        cmocka_unit_test(test_fo),
	        cmocka_unit_test(test_ovf),
	        cmocka_unit_test(test_twos),
	        cmocka_unit_test(test_mtree_fenwick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
