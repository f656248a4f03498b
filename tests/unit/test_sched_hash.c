/*
 * test_sched_hash.c - dh, sh and mh.  dh/sh bucket choices are recomputed
 * here independently from the kernel's definitions (hash_32 with the golden
 * ratio, 256 buckets, the weighted list walk) and compared key by key; mh is
 * checked for Maglev's properties (balance, minimal disruption, weights).
 */
#include <errno.h>
#include <math.h>

#include "test_sched_util.h"
#include "sched_tree.h"

#define NKEYS 100000

static struct lvs_pkt_info t_pi(union lvs_addr saddr, union lvs_addr daddr, uint16_t sport)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.af = AF_INET;
	pi.proto = IPPROTO_TCP;
	pi.saddr = saddr;
	pi.daddr = daddr;
	pi.sport = htons(sport);
	pi.dport = htons(80);
	return pi;
}

static union lvs_addr t_key_addr(uint32_t i)
{
	union lvs_addr a;
	lvs_addr_set4(&a, htonl(0x0a000000u + i * 2654435761u % 0x00ffffffu));
	return a;
}

/* Kernel hash_32(v, 8). */
static uint32_t k_hash8(uint32_t v)
{
	return (uint32_t)(v * 0x61C88647u) >> 24;
}

static int pick_key(struct tsvc *t, uint32_t i, uint16_t sport)
{
	struct lvs_pkt_info pi = t_pi(t_key_addr(i), t_key_addr(i + 7), sport);
	return tsvc_pick_pi(t, &pi, 0);
}

/* ---- mh reference ---- */

#define MH_M 4093u

static uint32_t mh_counts(struct tsvc *t, uint32_t *cnt)
{
	static uint16_t tab[MH_M];
	uint32_t m = lvs_sched_mh_table(&t->svc, tab, MH_M);

	for (uint32_t i = 0; i < t->n; i++)
		cnt[i] = 0;
	for (uint32_t c = 0; c < m; c++)
		if (tab[c] != 0xffff)
			cnt[tab[c]]++;
	return m;
}

static uint64_t t_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void t_sipround(uint64_t *v)
{
	v[0] += v[1];
	v[1] = t_rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = t_rotl(v[0], 32);
	v[2] += v[3];
	v[3] = t_rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = t_rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = t_rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = t_rotl(v[2], 32);
}

/* SipHash-1-3 (Aumasson, Bernstein) of a 4-byte message, key (k, k),
 * low 32 bits: the kernel's 64-bit hsiphash(). */
static uint32_t t_sip13(uint64_t k, uint32_t msg)
{
	uint64_t v[4] = {k ^ 0x736f6d6570736575ull, k ^ 0x646f72616e646f6dull,
	                 k ^ 0x6c7967656e657261ull, k ^ 0x7465646279746573ull};
	uint64_t m = (4ull << 56) | msg; /* length byte + the message */

	v[3] ^= m;
	t_sipround(v); /* c = 1 */
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int r = 0; r < 3; r++) /* d = 3 */
		t_sipround(v);
	return (uint32_t)(v[0] ^ v[1] ^ v[2] ^ v[3]);
}

#define MH_K1 2654435761u
#define MH_K2 2654446892u

/* Maglev population written per the paper: dest i's j-th preference is
 * (offset + j * skip) mod M; rounds give each dest `turns` claims. */
static void mh_expect_table(struct tsvc *t, const int *turns, uint16_t *tab)
{
	uint32_t off[16], skip[16], next[16] = {0}, filled = 0;
	bool used[MH_M] = {false};

	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t key = ntohs(t->d[i].c.port) + ntohl(t->d[i].c.addr.ip4);
		off[i] = t_sip13(MH_K1, key) % MH_M;
		skip[i] = t_sip13(MH_K2, key) % (MH_M - 1) + 1;
	}
	while (filled < MH_M)
		for (uint32_t i = 0; i < t->n && filled < MH_M; i++)
			for (int k = 0; k < turns[i] && filled < MH_M; k++) {
				uint32_t c;
				do
					c = (uint32_t)((off[i] + (uint64_t)next[i]++ * skip[i]) %
					               MH_M);
				while (used[c]);
				used[c] = true;
				tab[c] = (uint16_t)i;
				filled++;
			}
}

static void test_mh_reference(void **state)
{
	static uint16_t got[MH_M], want[MH_M];
	int32_t w[5] = {3, 1, 2, 6, 1};
	int turns[5] = {3, 1, 2, 6, 1};
	struct tsvc t, f;

	(void)state;
	/* CPython 3.11's bytes hash is SipHash-1-3; with PYTHONHASHSEED=0 its
	 * key is zero: hash(b"\x01\x02\x03\x04") & 0xffffffff == 906734036. */
	assert_int_equal(t_sip13(0, 0x04030201u), 906734036u);

	tsvc_setup(&t, "mh", 5, w);
	assert_int_equal(lvs_sched_mh_table(&t.svc, got, MH_M), MH_M);
	mh_expect_table(&t, turns, want);
	assert_memory_equal(got, want, sizeof(got));

	/* Lookup: h1(source port + folded source address) % M. */
	tsvc_prepare(&f, "mh", 5, w, NULL);
	f.svc.c.flags |= LVS_SVC_F_SCHED_MH_FALLBACK | LVS_SVC_F_SCHED_MH_PORT;
	tsvc_init(&f);
	tsvc_overload(&f, 3, true);
	for (uint32_t i = 0; i < 3000; i++) {
		uint16_t port = (uint16_t)(1024 + i % 7);
		uint32_t a = ntohl(t_key_addr(i).ip4);
		uint32_t ih = t_sip13(MH_K1, a) % MH_M;
		assert_int_equal(pick_key(&t, i, port), want[ih]);

		/* fallback: offsets (ih' + k) % M added to the hashed value */
		uint32_t ihp = t_sip13(MH_K1, a + port) % MH_M;
		int exp = want[ihp];
		for (uint32_t k = 0; exp == 3 && k < MH_M; k++) {
			uint32_t roff = (k + ihp) % MH_M;
			exp = want[t_sip13(MH_K1, roff + port + a) % MH_M];
		}
		assert_int_equal(pick_key(&f, i, port), exp);
	}
	tsvc_teardown(&t);
	tsvc_teardown(&f);
}

/* ---- dh ---- */

static void test_dh(void **state)
{
	struct tsvc t;
	uint64_t rs = 5;

	(void)state;
	tsvc_setup(&t, "dh", 3, NULL);
	for (uint32_t i = 0; i < 2000; i++) {
		union lvs_addr da = t_key_addr(i);
		struct lvs_pkt_info pi = t_pi(t_key_addr(i + 1), da, (uint16_t)t_rand(&rs));
		/* bucket b holds dests[b % 3]; source and port do not matter */
		int want = (int)(k_hash8(ntohl(da.ip4)) % 3);
		assert_int_equal(tsvc_pick_pi(&t, &pi, 0), want);
	}
	/* Unavailable: no fallback, the other buckets are untouched. */
	tsvc_overload(&t, 1, true);
	for (uint32_t i = 0; i < 2000; i++) {
		union lvs_addr da = t_key_addr(i);
		struct lvs_pkt_info pi = t_pi(t_key_addr(i + 1), da, 1);
		int want = (int)(k_hash8(ntohl(da.ip4)) % 3);
		assert_int_equal(tsvc_pick_pi(&t, &pi, 0), want == 1 ? -1 : want);
	}
	tsvc_teardown(&t);

	/* IPv6 destination addresses fold by XOR of the four words. */
	tsvc_setup(&t, "dh", 5, NULL);
	for (uint32_t i = 0; i < 500; i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "2001:db8:%x::%x:%x", i, i * 7, i * 13 + 1);
		union lvs_addr da = t_ip6(buf);
		struct lvs_pkt_info pi = t_pi(t_ip6("2001:db8::1"), da, 1);
		uint32_t fold = ntohl(da.w[0] ^ da.w[1] ^ da.w[2] ^ da.w[3]);
		pi.af = AF_INET6;
		assert_int_equal(tsvc_pick_pi(&t, &pi, 0), (int)(k_hash8(fold) % 5));
	}
	tsvc_teardown(&t);
}

/* ---- sh ---- */

/* Expected sh bucket owners: the list walked with max(weight, 1)
 * consecutive buckets per dest, repeated until 256 buckets. */
static void sh_expect(const int32_t *w, uint32_t n, int *owner)
{
	int cycle[4096];
	uint32_t len = 0;

	for (uint32_t i = 0; i < n; i++)
		for (int32_t k = 0; k < (w[i] > 0 ? w[i] : 1) && len < 4096; k++)
			cycle[len++] = (int)i;
	for (uint32_t b = 0; b < 256; b++)
		owner[b] = cycle[b % len];
}

static uint32_t sh_bucket(uint32_t i, uint16_t port)
{
	return k_hash8(ntohl(t_key_addr(i).ip4) + port);
}

static void test_sh_weights(void **state)
{
	int32_t w[3] = {1, 2, 3};
	int32_t big[2] = {300, 1};
	int owner[256];
	struct tsvc t;

	(void)state;
	sh_expect(w, 3, owner);
	tsvc_setup(&t, "sh", 3, w);
	for (uint32_t i = 0; i < 5000; i++) {
		/* without sh-port the port does not matter */
		assert_int_equal(pick_key(&t, i, (uint16_t)i), owner[sh_bucket(i, 0)]);
		assert_int_equal(pick_key(&t, i, 1), owner[sh_bucket(i, 0)]);
	}
	tsvc_teardown(&t);

	/* A weight above 256 takes every bucket, as in the kernel. */
	tsvc_setup(&t, "sh", 2, big);
	for (uint32_t i = 0; i < 2000; i++)
		assert_int_equal(pick_key(&t, i, 1), 0);
	tsvc_teardown(&t);
}

static void test_sh_port(void **state)
{
	int owner[256];
	int32_t w[4] = {1, 1, 1, 1};
	struct tsvc t;
	bool seen[4] = {false};
	int distinct = 0;

	(void)state;
	sh_expect(w, 4, owner);
	tsvc_prepare(&t, "sh", 4, w, NULL);
	t.svc.c.flags |= LVS_SVC_F_SCHED_SH_PORT;
	tsvc_init(&t);
	for (uint16_t p = 1000; p < 1064; p++) {
		int got = pick_key(&t, 42, p);
		assert_int_equal(got, owner[sh_bucket(42, p)]);
		if (!seen[got]) {
			seen[got] = true;
			distinct++;
		}
	}
	assert_true(distinct >= 3);
	/* Not TCP/UDP/SCTP: the port does not take part. */
	struct lvs_pkt_info pi = t_pi(t_key_addr(42), t_key_addr(1), 1234);
	pi.proto = IPPROTO_ICMP;
	assert_int_equal(tsvc_pick_pi(&t, &pi, 0), owner[sh_bucket(42, 0)]);
	tsvc_teardown(&t);
}

static void test_sh_fallback(void **state)
{
	int32_t w[5] = {1, 1, 0, 1, 1}; /* weight 0 still owns one bucket */
	int owner[256];
	struct tsvc t, f;
	uint32_t moved = 0, on2 = 0;

	(void)state;
	sh_expect(w, 5, owner);
	tsvc_setup(&t, "sh", 5, w);
	tsvc_prepare(&f, "sh", 5, w, NULL);
	f.svc.c.flags |= LVS_SVC_F_SCHED_SH_FALLBACK;
	tsvc_init(&f);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t h = sh_bucket(i, 0);
		int plain = pick_key(&t, i, 1), fb = pick_key(&f, i, 1);
		if (owner[h] != 2) {
			/* keys of available servers never move */
			assert_int_equal(plain, owner[h]);
			assert_int_equal(fb, owner[h]);
			continue;
		}
		on2++;
		assert_int_equal(plain, -1);
		/* kernel probe order: bucket (2h + k) mod 256, k = 0, 1, ... */
		int want = -1;
		for (uint32_t k = 0; k < 256 && want < 0; k++)
			if (owner[(2 * h + k) & 255] != 2)
				want = owner[(2 * h + k) & 255];
		assert_int_equal(fb, want);
		moved++;
	}
	assert_true(on2 > 0);
	assert_int_equal(moved, on2);
	/* Overload at run time moves only that server's keys too. */
	tsvc_overload(&f, 0, true);
	for (uint32_t i = 0; i < 5000; i++) {
		int o = owner[sh_bucket(i, 0)];
		int fb = pick_key(&f, i, 1);
		assert_true(fb != 0 && fb != 2 && fb >= 0);
		if (o != 0 && o != 2)
			assert_int_equal(fb, o);
	}
	tsvc_teardown(&t);
	tsvc_teardown(&f);
}

/* ---- mh ---- */

static void test_mh_balance(void **state)
{
	struct tsvc t;
	uint32_t cnt[10], sum = 0, mn = UINT32_MAX, mx = 0;
	int32_t w123[3] = {1, 2, 3}, w246[3] = {2, 4, 6};
	uint32_t c123[3], c246[3];
	int32_t wbig[2] = {1000000, 1};
	int32_t wz[3] = {1, 0, 1};

	(void)state;
	tsvc_setup(&t, "mh", 10, NULL);
	uint32_t m = mh_counts(&t, cnt);
	assert_int_equal(m, 4093); /* default CONFIG_IP_VS_MH_TAB_INDEX 12 */
	for (int i = 0; i < 10; i++) {
		sum += cnt[i];
		mn = cnt[i] < mn ? cnt[i] : mn;
		mx = cnt[i] > mx ? cnt[i] : mx;
		/* within 1% of the ideal 409.3 */
		assert_true(fabs(cnt[i] - m / 10.0) < m / 10.0 * 0.01);
	}
	assert_int_equal(sum, m);
	assert_true(mx - mn <= 1);
	tsvc_teardown(&t);

	/* Turns per round follow weight / gcd. */
	tsvc_setup(&t, "mh", 3, w123);
	mh_counts(&t, c123);
	tsvc_teardown(&t);
	tsvc_setup(&t, "mh", 3, w246);
	mh_counts(&t, c246);
	tsvc_teardown(&t);
	assert_memory_equal(c123, c246, sizeof(c123));
	for (int i = 0; i < 3; i++)
		assert_true(fabs(c123[i] - 4093.0 * (i + 1) / 6) <= 3);

	/* Huge weights are shifted to 6 bits; a small one keeps one turn. */
	tsvc_setup(&t, "mh", 2, wbig);
	mh_counts(&t, cnt);
	assert_true(cnt[1] >= 55 && cnt[1] <= 75); /* 4093 / (61 + 1) */
	assert_int_equal(cnt[0] + cnt[1], 4093);
	tsvc_teardown(&t);

	/* Weight 0: no entries, never chosen. */
	tsvc_setup(&t, "mh", 3, wz);
	mh_counts(&t, cnt);
	assert_int_equal(cnt[1], 0);
	for (uint32_t i = 0; i < 3000; i++)
		assert_int_not_equal(pick_key(&t, i, 1), 1);
	tsvc_teardown(&t);
}

static void test_mh_disruption(void **state)
{
	union lvs_addr addrs[10], fewer[9];
	struct tsvc a, b;
	uint32_t moved = 0, lost = 0, per[10] = {0};
	int *before = calloc(NKEYS, sizeof(int));

	(void)state;
	assert_non_null(before);
	for (uint32_t i = 0; i < 10; i++)
		addrs[i] = t_dest_addr(i);
	for (uint32_t i = 0, j = 0; i < 10; i++)
		if (i != 3)
			fewer[j++] = addrs[i];
	tsvc_prepare(&a, "mh", 10, NULL, addrs);
	tsvc_init(&a);
	tsvc_prepare(&b, "mh", 9, NULL, fewer);
	tsvc_init(&b);
	for (uint32_t i = 0; i < NKEYS; i++) {
		before[i] = pick_key(&a, i, 1);
		assert_true(before[i] >= 0);
		per[before[i]]++;
		assert_int_equal(pick_key(&a, i, 2), before[i]); /* same key, same dest */
	}
	for (int i = 0; i < 10; i++)
		assert_true(per[i] > NKEYS / 10 * 8 / 10 && per[i] < NKEYS / 10 * 12 / 10);
	for (uint32_t i = 0; i < NKEYS; i++) {
		int now = pick_key(&b, i, 1);
		assert_true(now >= 0);
		if (!lvs_addr_eq(&b.d[now].c.addr, &addrs[before[i]]))
			moved++;
		if (before[i] == 3)
			lost++;
	}
	/* The removed server's keys (~10%) must move, and little else. */
	assert_true(moved >= lost);
	assert_true(moved < NKEYS * 15 / 100);
	print_message("mh: removing 1 of 10 moved %.2f%% of keys (%.2f%% were on it)\n",
	              moved * 100.0 / NKEYS, lost * 100.0 / NKEYS);
	tsvc_teardown(&a);
	tsvc_teardown(&b);
	free(before);
}

static void test_mh_fallback_port(void **state)
{
	struct tsvc t, f;
	bool seen[6] = {false};
	int distinct = 0;

	(void)state;
	tsvc_setup(&t, "mh", 6, NULL);
	tsvc_prepare(&f, "mh", 6, NULL, NULL);
	f.svc.c.flags |= LVS_SVC_F_SCHED_MH_FALLBACK;
	tsvc_init(&f);
	int *own = calloc(20000, sizeof(int));
	assert_non_null(own);
	for (uint32_t i = 0; i < 20000; i++) {
		own[i] = pick_key(&t, i, 1);
		assert_int_equal(pick_key(&f, i, 1), own[i]);
	}
	tsvc_overload(&t, 2, true);
	tsvc_overload(&f, 2, true);
	for (uint32_t i = 0; i < 20000; i++) {
		int p = pick_key(&t, i, 1), q = pick_key(&f, i, 1);
		if (own[i] == 2) {
			assert_int_equal(p, -1);
			assert_true(q >= 0 && q != 2);
		} else {
			assert_int_equal(p, own[i]);
			assert_int_equal(q, own[i]);
		}
	}
	free(own);
	tsvc_teardown(&t);
	tsvc_teardown(&f);

	/* mh-port: one client address spreads over servers by port. */
	tsvc_prepare(&t, "mh", 6, NULL, NULL);
	t.svc.c.flags |= LVS_SVC_F_SCHED_MH_PORT;
	tsvc_init(&t);
	for (uint16_t p = 2000; p < 2048; p++) {
		int got = pick_key(&t, 9, p);
		assert_int_equal(pick_key(&t, 9, p), got);
		if (!seen[got]) {
			seen[got] = true;
			distinct++;
		}
	}
	assert_true(distinct >= 4);
	tsvc_teardown(&t);
}

static void test_mh_table_sizes(void **state)
{
	struct tsvc t;
	uint16_t one;

	(void)state;
	/* Up to 4093 destinations: the kernel's table size. */
	tsvc_prepare(&t, "mh", 4093, NULL, NULL);
	tsvc_init(&t);
	assert_int_equal(lvs_sched_mh_table(&t.svc, &one, 1), 4093);
	assert_true(pick_key(&t, 1, 1) >= 0);
	tsvc_teardown(&t);
	/* Beyond the kernel's limit the table grows (about 8 entries each). */
	tsvc_prepare(&t, "mh", 4094, NULL, NULL);
	tsvc_init(&t);
	assert_int_equal(lvs_sched_mh_table(&t.svc, &one, 1), 65521);
	assert_true(pick_key(&t, 1, 1) >= 0);
	tsvc_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dh),
	        cmocka_unit_test(test_sh_weights),
	        cmocka_unit_test(test_sh_port),
	        cmocka_unit_test(test_sh_fallback),
	        cmocka_unit_test(test_mh_reference),
	        cmocka_unit_test(test_mh_balance),
	        cmocka_unit_test(test_mh_disruption),
	        cmocka_unit_test(test_mh_fallback_port),
	        cmocka_unit_test(test_mh_table_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
