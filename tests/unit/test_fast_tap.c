/*
 * test_fast_tap.c - the data path's side of the XDP fast path
 * (fast_tap.h): a connection's per-direction bits, the requests the
 * workers make when eligibility and bit disagree, a full ring, the
 * report of a freed connection that was on the fast path, and the
 * director's eligibility rule over TCP states, methods, destinations and
 * VRRP addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "director.h"
#include "test_util.h"

#define NOW (1000ull * LVS_NS_PER_SEC)

struct fx {
	struct lvs_conn_table *ct;
	struct lvs_fast_tap tap;
	struct lvs_svc_state ss;
	struct lvs_dest_state ds;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	x->ct = lvs_conn_table_new(64, 2);
	assert_int_equal(lvs_fast_tap_init(&x->tap, 2, 4), 0);
	x->tap.active = 1;
	x->ds.svc = &x->ss;
	x->ds.flags = LVS_DEST_F_AVAILABLE;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	lvs_fast_tap_free(&x->tap);
	lvs_conn_table_free(x->ct);
	free(x);
	return 0;
}

static struct lvs_conn *tcp_conn(struct fx *x, int cport, uint8_t fwd)
{
	struct lvs_conn_param p = t_conn_param(IPPROTO_TCP, cport, fwd);
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = 0x02; /* SYN */
	return lvs_conn_create_pkt(x->ct, 0, &p, &x->ds, NULL,
				   fwd == LVS_FWD_MASQ ? LVS_DIR_INPUT : LVS_DIR_INPUT_ONLY, &pi, NOW);
}

static void pkt(struct fx *x, struct lvs_conn *c, enum lvs_conn_dir dir, uint8_t fl)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = fl;
	lvs_conn_update(x->ct, 0, c, dir, &pi, NOW);
}

/* Requests follow the bits: one when they disagree, none otherwise. */
static void test_requests(void **state)
{
	struct fx *x = *state;
	struct lvs_conn *c = tcp_conn(x, 40000, LVS_FWD_MASQ);
	struct lvs_sync_rec r[8];

	assert_non_null(c);
	assert_int_equal(lvs_conn_fast(c), 0);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, c, false, false); /* agrees: nothing */
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 0);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, c, false, true);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, c, false, true); /* bit set: once */
	lvs_fast_conn_pkt(&x->tap, x->ct, 1, c, true, true);  /* the reply, worker 1 */
	assert_int_equal(lvs_conn_fast(c), LVS_CONN_FAST_IN | LVS_CONN_FAST_OUT);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 1);
	assert_false(lvs_fast_rec_reply(&r[0]));
	assert_int_equal(r[0].cport, htons(40000));
	assert_int_equal(r[0].vaddr.ip4, t_ip4("203.0.113.10").ip4);
	assert_int_equal(r[0].daddr.ip4, t_ip4("192.0.2.11").ip4);
	assert_int_equal(r[0].fwd, LVS_FWD_MASQ);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[1], r, 8), 1);
	assert_true(lvs_fast_rec_reply(&r[0]));
	/* no longer eligible (a FIN came up): the bit goes, a request says so */
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, c, false, false);
	assert_int_equal(lvs_conn_fast(c), LVS_CONN_FAST_OUT);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 1);
	/* a worker beyond the rings asks nothing and keeps no bit */
	lvs_fast_conn_pkt(&x->tap, x->ct, 5, c, false, true);
	assert_int_equal(lvs_conn_fast(c), LVS_CONN_FAST_OUT);
}

/* A full ring drops the request and clears the bit: a later packet asks again. */
static void test_full_ring(void **state)
{
	struct fx *x = *state;
	struct lvs_conn *c[6];
	struct lvs_sync_rec r[8];

	for (int i = 0; i < 6; i++) {
		c[i] = tcp_conn(x, 41000 + i, LVS_FWD_ROUTE);
		lvs_fast_conn_pkt(&x->tap, x->ct, 0, c[i], false, true);
	}
	assert_int_equal(lvs_sync_ring_drops(&x->tap.ring[0]), 2);
	assert_int_equal(lvs_conn_fast(c[3]), LVS_CONN_FAST_IN);
	assert_int_equal(lvs_conn_fast(c[4]), 0);
	assert_int_equal(lvs_conn_fast(c[5]), 0);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 4);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, c[5], false, true);
	assert_int_equal(lvs_conn_fast(c[5]), LVS_CONN_FAST_IN);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 1);
	assert_int_equal(r[0].cport, htons(41005));
}

/* A connection freed with bits set is reported by the worker freeing it;
 * one without is not. */
static void test_freed(void **state)
{
	struct fx *x = *state;
	struct lvs_conn *a = tcp_conn(x, 42000, LVS_FWD_MASQ);
	struct lvs_conn *b = tcp_conn(x, 42001, LVS_FWD_MASQ);
	struct lvs_sync_rec r[8];
	struct lvs_conn_info ci;

	lvs_conn_set_fast_tap(x->ct, &x->tap);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, a, false, true);
	lvs_fast_conn_pkt(&x->tap, x->ct, 0, a, true, true);
	lvs_conn_get_info(x->ct, a, NOW, &ci);
	assert_int_equal(ci.fast, LVS_CONN_FAST_IN | LVS_CONN_FAST_OUT);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 2);
	lvs_conn_expire_soon(x->ct, a);
	lvs_conn_expire_soon(x->ct, b);
	assert_int_equal(lvs_conn_expire_run(x->ct, 0, NOW + LVS_NS_PER_SEC), 2);
	assert_int_equal(lvs_sync_ring_pop(&x->tap.ring[0], r, 8), 2);
	assert_int_equal(r[0].cport, htons(42000));
	assert_int_equal(r[1].cport, htons(42000));
	assert_true(lvs_fast_rec_reply(&r[0]) != lvs_fast_rec_reply(&r[1]));
}

/* The director's rule: ESTABLISHED TCP or UDP, the method, the
 * destination, the VRRP address. */
static void test_eligible(void **state)
{
	struct fx *x = *state;
	struct lvs_director d;
	struct lvs_conn *nat = tcp_conn(x, 43000, LVS_FWD_MASQ);
	struct lvs_conn *dr = tcp_conn(x, 43001, LVS_FWD_ROUTE);
	struct lvs_conn_param up = t_conn_param(IPPROTO_UDP, 43002, LVS_FWD_TUNNEL);
	struct lvs_conn *udp = lvs_conn_create(x->ct, 0, &up, &x->ds, NULL, NOW);
	uint8_t af = AF_INET;
	union lvs_addr vip = t_ip4("203.0.113.10");
	struct lvs_standby *sb = lvs_standby_new(&af, &vip, 1);

	memset(&d, 0, sizeof(d));
	d.ct = x->ct;
	assert_false(lvs_director_fast_eligible(&d, x->ct, nat, false)); /* SYN_RECV */
	pkt(x, nat, LVS_DIR_OUTPUT, 0x12);                                 /* SYN+ACK */
	pkt(x, nat, LVS_DIR_INPUT, 0x10);
	assert_int_equal(lvs_conn_state(nat), LVS_TCP_S_ESTABLISHED);
	assert_true(lvs_director_fast_eligible(&d, x->ct, nat, false));
	assert_true(lvs_director_fast_eligible(&d, x->ct, nat, true));
	pkt(x, dr, LVS_DIR_INPUT_ONLY, 0x10);
	assert_int_equal(lvs_conn_state(dr), LVS_TCP_S_ESTABLISHED);
	assert_true(lvs_director_fast_eligible(&d, x->ct, dr, false));
	assert_false(lvs_director_fast_eligible(&d, x->ct, dr, true)); /* replies bypass */
	assert_true(lvs_director_fast_eligible(&d, x->ct, udp, false));
	/* a server out of the service or failed: user space decides */
	x->ds.flags = LVS_DEST_F_AVAILABLE | LVS_DEST_F_FAILED;
	assert_false(lvs_director_fast_eligible(&d, x->ct, nat, false));
	x->ds.flags = 0;
	assert_false(lvs_director_fast_eligible(&d, x->ct, udp, false));
	x->ds.flags = LVS_DEST_F_AVAILABLE;
	/* a VRRP address not held: nothing */
	assert_non_null(sb);
	lvs_director_set_standby(&d, sb);
	assert_false(lvs_director_fast_eligible(&d, x->ct, nat, false));
	assert_false(lvs_director_fast_eligible(&d, x->ct, nat, true));
	lvs_standby_hold(&sb->e[0], true);
	assert_true(lvs_director_fast_eligible(&d, x->ct, nat, true));
	/* a FIN moves the state: no longer */
	pkt(x, nat, LVS_DIR_INPUT, 0x11);
	assert_false(lvs_director_fast_eligible(&d, x->ct, nat, false));
	free(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_full_ring, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_freed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eligible, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
