/*
 * test_sync_engine.c - connection sync without sockets: the workers' report
 * rings and the kernel's "is this packet worth a report" rule (sync_tap.h),
 * packing into v1 messages within sync_maxlen, the backup's import bound
 * to its own destinations, syncid and malformed-message drops, unknown
 * services and destinations, replaced connections, and the table pull.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "sync_engine.h"
#include "test_model_util.h"
#include "test_util.h"

#define NOW (1000ull * LVS_NS_PER_SEC)

/* ---- rings ---- */

static void test_ring(void **state)
{
	struct lvs_sync_ring r;
	struct lvs_sync_rec in, out[8];

	(void)state;
	assert_int_equal(lvs_sync_ring_init(&r, 3), -EINVAL);
	assert_int_equal(lvs_sync_ring_init(&r, 4), 0);
	memset(&in, 0, sizeof(in));
	for (int round = 0; round < 3; round++) { /* across the wrap */
		for (int i = 0; i < 4; i++) {
			in.cport = (uint16_t)(round * 10 + i);
			assert_true(lvs_sync_ring_push(&r, &in));
		}
		assert_false(lvs_sync_ring_push(&r, &in)); /* full: dropped */
		assert_int_equal(lvs_sync_ring_pop(&r, out, 3), 3);
		assert_int_equal(out[0].cport, round * 10);
		assert_int_equal(out[2].cport, round * 10 + 2);
		assert_int_equal(lvs_sync_ring_pop(&r, out, 8), 1);
		assert_int_equal(out[0].cport, round * 10 + 3);
		assert_int_equal(lvs_sync_ring_pop(&r, out, 8), 0);
	}
	assert_int_equal(lvs_sync_ring_drops(&r), 3);
	lvs_sync_ring_free(&r);
}

/* ---- the data path's decision ---- */

struct tapx {
	struct lvs_conn_table *ct;
	struct lvs_sync_tap tap;
	struct lvs_dest_state ds;
};

static unsigned drain(struct lvs_sync_tap *tap, struct lvs_sync_rec *out, unsigned max)
{
	return lvs_sync_ring_pop(&tap->ring[0], out, max);
}

/* A client packet of c with TCP flags fl, as the director runs it. */
static void client_pkt(struct tapx *x, struct lvs_conn *c, uint8_t fl)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = fl;
	lvs_conn_update(x->ct, 0, c, LVS_DIR_INPUT_ONLY, &pi, NOW);
	lvs_sync_conn_pkt(&x->tap, x->ct, 0, c);
}

static void test_tap_tcp(void **state)
{
	struct tapx x;
	struct lvs_conn_param p = t_conn_param(IPPROTO_TCP, 40000, LVS_FWD_ROUTE);
	struct lvs_pkt_info pi;
	struct lvs_sync_rec r[4];
	struct lvs_conn *c;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.ct = lvs_conn_table_new(64, 1);
	assert_int_equal(lvs_sync_tap_init(&x.tap, 1, 64), 0);
	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = 0x02;
	c = lvs_conn_create_pkt(x.ct, 0, &p, &x.ds, NULL, LVS_DIR_INPUT_ONLY, &pi, NOW);
	assert_non_null(c);
	lvs_sync_conn_pkt(&x.tap, x.ct, 0, c); /* packet 1: SYN_RECV */
	client_pkt(&x, c, 0x10);               /* 2: ESTABLISHED */
	assert_int_equal(drain(&x.tap, r, 4), 0);
	client_pkt(&x, c, 0x18); /* 3: the sync_threshold packet */
	assert_int_equal(drain(&x.tap, r, 4), 1);
	assert_int_equal(r[0].state, LVS_TCP_S_ESTABLISHED);
	assert_int_equal(r[0].timeout_s, 900);
	assert_int_equal(r[0].fwd, LVS_FWD_ROUTE);
	assert_true(r[0].flags & LVS_SYNC_REC_F_NOOUTPUT);
	assert_false(r[0].flags & LVS_CONN_F_INACTIVE);
	assert_int_equal(r[0].cport, htons(40000));
	assert_int_equal(r[0].daddr.ip4, t_ip4("192.0.2.11").ip4);
	for (int i = 4; i < 53; i++)
		client_pkt(&x, c, 0x10);
	assert_int_equal(drain(&x.tap, r, 4), 0);
	client_pkt(&x, c, 0x10); /* 53 = 3 + sync_period */
	assert_int_equal(drain(&x.tap, r, 4), 1);
	client_pkt(&x, c, 0x11); /* FIN: a change out of ESTABLISHED goes at once */
	assert_int_equal(drain(&x.tap, r, 4), 1);
	assert_int_equal(r[0].state, LVS_TCP_S_FIN_WAIT);
	assert_true(r[0].flags & LVS_CONN_F_INACTIVE);
	assert_int_equal(r[0].timeout_s, 120);
	client_pkt(&x, c, 0x10); /* no change since: nothing */
	assert_int_equal(drain(&x.tap, r, 4), 0);
	lvs_sync_tap_free(&x.tap);
	lvs_conn_table_free(x.ct);
}

static void test_tap_udp_and_template(void **state)
{
	struct tapx x;
	struct lvs_conn_param p = t_conn_param(IPPROTO_UDP, 5353, LVS_FWD_MASQ);
	struct lvs_conn_param tp = p;
	struct lvs_sync_rec r[4];
	struct lvs_conn *c, *t;
	unsigned n;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.ct = lvs_conn_table_new(64, 1);
	assert_int_equal(lvs_sync_tap_init(&x.tap, 1, 64), 0);
	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.cport = 0;
	tp.timeout = 360;
	t = lvs_conn_create(x.ct, 0, &tp, &x.ds, NULL, NOW);
	c = lvs_conn_create_pkt(x.ct, 0, &p, &x.ds, t, LVS_DIR_INPUT, NULL, NOW);
	assert_non_null(t);
	assert_non_null(c);
	for (int i = 1; i <= 3; i++)
		lvs_sync_conn_pkt(&x.tap, x.ct, 0, c);
	/* the template after every packet; the connection at the third */
	n = drain(&x.tap, r, 4);
	assert_int_equal(n, 4);
	assert_true(r[0].flags & LVS_CONN_F_TEMPLATE);
	assert_int_equal(r[0].timeout_s, 360);
	assert_false(r[2].flags & LVS_CONN_F_TEMPLATE);
	assert_int_equal(r[2].proto, IPPROTO_UDP);
	assert_int_equal(r[2].timeout_s, 300);
	assert_true(r[3].flags & LVS_CONN_F_TEMPLATE);
	lvs_sync_tap_free(&x.tap);
	lvs_conn_table_free(x.ct);
}

/* ---- packing ---- */

struct sent {
	uint8_t buf[16][2048];
	size_t len[16];
	unsigned n;
};

static int capture(void *arg, const uint8_t *buf, size_t len)
{
	struct sent *s = arg;

	if (s->n < 16 && len <= sizeof(s->buf[0])) {
		memcpy(s->buf[s->n], buf, len);
		s->len[s->n] = len;
	}
	s->n++;
	return 0;
}

static struct sync_conn entry(const char *caddr, int cport, const char *daddr, uint32_t flags)
{
	struct sync_conn c;

	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.proto = IPPROTO_TCP;
	c.state = LVS_TCP_S_ESTABLISHED;
	c.flags = flags;
	c.caddr = t_ip4(caddr);
	c.vaddr = t_ip4("203.0.113.10");
	c.daddr = t_ip4(daddr);
	c.cport = htons((uint16_t)cport);
	c.vport = c.dport = htons(80);
	c.timeout_s = 900;
	return c;
}

static int count_cb(void *arg, const struct sync_conn *c)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static void test_packing(void **state)
{
	struct sent *s = calloc(1, sizeof(*s));
	struct sync_counters cnt = {0};
	struct sync_packer pk;
	struct lvs_sync_rec rec;
	struct sync_conn c;
	int total = 0;

	(void)state;
	/* maxlen 100: 8 + 36 + 36 = 80 fits, a third entry does not */
	assert_int_equal(sync_packer_init(&pk, 100, 7, capture, s, &cnt), 0);
	for (int i = 0; i < 5; i++) {
		c = entry("198.51.100.7", 1000 + i, "192.0.2.11", SYNC_CONN_F_DROUTE);
		assert_int_equal(sync_packer_add(&pk, &c, NOW), 0);
	}
	assert_int_equal(s->n, 2);
	sync_packer_flush(&pk);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->len[0], 80);
	assert_int_equal(s->len[2], 44);
	for (unsigned i = 0; i < 3; i++) {
		int k = 0, rc = sync_msg_parse(s->buf[i], s->len[i], 7, count_cb, &k);
		assert_int_equal(rc, k);
		total += k;
	}
	assert_int_equal(total, 5);
	assert_int_equal(cnt.msgs_sent, 3);
	assert_int_equal(cnt.conns_sent, 5);
	sync_packer_free(&pk);

	/* the default 1472 bytes hold 40 IPv4 entries */
	memset(s, 0, sizeof(*s));
	assert_int_equal(sync_packer_init(&pk, 1472, 1, capture, s, NULL), 0);
	for (int i = 0; i < 41; i++) {
		c = entry("198.51.100.7", 1000 + i, "192.0.2.11", 0);
		sync_packer_add(&pk, &c, NOW);
	}
	assert_int_equal(s->n, 1);
	assert_int_equal(s->len[0], 8 + 40 * 36);
	sync_packer_free(&pk);

	/* a record's kernel flags */
	memset(&rec, 0, sizeof(rec));
	rec.af = AF_INET;
	rec.proto = IPPROTO_TCP;
	rec.fwd = LVS_FWD_TUNNEL;
	rec.flags = LVS_CONN_F_INACTIVE | LVS_SYNC_REC_F_NOOUTPUT;
	sync_conn_from_rec(&rec, &c);
	assert_int_equal(c.flags, SYNC_CONN_F_TUNNEL | SYNC_CONN_F_INACTIVE | SYNC_CONN_F_NOOUTPUT);
	rec.proto = 0;
	rec.flags = LVS_CONN_F_TEMPLATE;
	rec.vaddr.ip4 = htonl(42); /* a fwmark service's template */
	sync_conn_from_rec(&rec, &c);
	assert_int_equal(c.fwmark, 42);
	assert_true(c.flags & SYNC_CONN_F_TEMPLATE);
	free(s);
}

/* ---- backup ---- */

struct bx {
	struct lvs_model *m;
	struct lvs_conn_table *ct;
	struct sync_counters cnt;
	struct sync_backup bk;
};

/* The backup's own configuration: VIP:80 with .11 by DR and .12 by NAT. */
static void backup_setup(struct bx *x, uint8_t syncid)
{
	struct lvs_svc_conf sc = t_svc4("203.0.113.10", 80, IPPROTO_TCP);
	struct lvs_svc_key k;
	struct lvs_dest_conf d1 = t_dest4("192.0.2.11", 80), d2 = t_dest4("192.0.2.12", 80);

	memset(x, 0, sizeof(*x));
	x->m = lvs_model_new();
	x->ct = lvs_conn_table_new(256, 2);
	assert_int_equal(lvs_model_add_service(x->m, &sc), 0);
	k = t_svc_key(&sc);
	d2.fwd = LVS_FWD_MASQ;
	assert_int_equal(lvs_model_add_dest(x->m, &k, &d1), 0);
	assert_int_equal(lvs_model_add_dest(x->m, &k, &d2), 0);
	x->bk.ct = x->ct;
	x->bk.model = x->m;
	x->bk.worker = 1;
	x->bk.syncid = syncid;
	x->bk.cnt = &x->cnt;
}

static void backup_teardown(struct bx *x)
{
	lvs_conn_table_free(x->ct);
	lvs_model_free(x->m);
}

static size_t one_msg(uint8_t *buf, uint8_t syncid, const struct sync_conn *c, unsigned n)
{
	struct sync_msg_builder b;

	assert_int_equal(sync_msg_begin(&b, buf, 1472, syncid), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(sync_msg_add(&b, &c[i]), 0);
	return sync_msg_end(&b);
}

static struct lvs_conn *lookup(struct bx *x, const char *caddr, int cport)
{
	union lvs_addr ca = t_ip4(caddr), va = t_ip4("203.0.113.10");

	return lvs_conn_lookup_in(x->ct, AF_INET, IPPROTO_TCP, &ca, htons((uint16_t)cport), &va,
				  htons(80));
}

static void test_backup_binds_own_dest(void **state)
{
	struct bx x;
	uint8_t buf[1500];
	/* the master forwards to .12 by DR; this backup has .12 by NAT */
	struct sync_conn c = entry("198.51.100.7", 40000, "192.0.2.12", SYNC_CONN_F_DROUTE);
	const struct lvs_service *svc;
	struct lvs_conn_info ci;
	struct lvs_conn *e;
	size_t len;

	(void)state;
	backup_setup(&x, 9);
	len = one_msg(buf, 9, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	e = lookup(&x, "198.51.100.7", 40000);
	assert_non_null(e);
	lvs_conn_get_info(x.ct, e, NOW, &ci);
	assert_int_equal(ci.p.fwd, LVS_FWD_MASQ);
	assert_true(ci.p.flags & LVS_CONN_F_SYNCED);
	assert_int_equal(ci.state, LVS_TCP_S_ESTABLISHED);
	assert_true(ci.expires_ms > 899000 && ci.expires_ms <= 900000);
	svc = lvs_svc_lookup(lvs_model_snapshot(x.m), AF_INET, IPPROTO_TCP, &c.vaddr, c.vport, 0);
	assert_non_null(svc);
	/* bound to the backup's own destination state, counted active */
	for (uint32_t i = 0; i < svc->ndests; i++)
		if (svc->dests[i]->c.addr.ip4 == c.daddr.ip4) {
			assert_ptr_equal(ci.dest, svc->dests[i]->st);
			assert_int_equal(lvs_dest_active(svc->dests[i]), 1);
		}
	assert_int_equal(x.cnt.msgs_received, 1);
	assert_int_equal(x.cnt.conns_imported, 1);

	/* the same entry again updates it (FIN_WAIT, inactive) */
	c.state = LVS_TCP_S_FIN_WAIT;
	c.flags |= SYNC_CONN_F_INACTIVE;
	c.timeout_s = 120;
	len = one_msg(buf, 9, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	assert_ptr_equal(lookup(&x, "198.51.100.7", 40000), e);
	lvs_conn_get_info(x.ct, e, NOW, &ci);
	assert_int_equal(ci.state, LVS_TCP_S_FIN_WAIT);
	assert_true(ci.expires_ms <= 120000);
	assert_int_equal(lvs_conn_table_count(x.ct), 1);
	backup_teardown(&x);
}

static void test_backup_syncid(void **state)
{
	struct bx x;
	uint8_t buf[1500];
	struct sync_conn c = entry("198.51.100.7", 40001, "192.0.2.11", SYNC_CONN_F_DROUTE);
	size_t len;

	(void)state;
	backup_setup(&x, 5);
	len = one_msg(buf, 6, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), -SYNC_DROP_SYNCID);
	assert_int_equal(x.cnt.msgs_dropped[SYNC_DROP_SYNCID], 1);
	assert_int_equal(lvs_conn_table_count(x.ct), 0);
	/* syncid 0 takes every syncid, as the kernel's backup */
	x.bk.syncid = 0;
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	/* malformed: truncated, a v0 header, garbage */
	assert_int_equal(sync_backup_input(&x.bk, buf, len - 3, NOW), -SYNC_DROP_SIZE);
	buf[0] = 1;
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), -SYNC_DROP_V0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t l = 0; l < 200; l++)
		assert_true(sync_backup_input(&x.bk, buf, l, NOW) < 0);
	assert_int_equal(x.cnt.msgs_received, 1);
	backup_teardown(&x);
}

static void test_backup_unknown(void **state)
{
	struct bx x;
	uint8_t buf[1500];
	struct sync_conn c[5];
	size_t len;

	(void)state;
	backup_setup(&x, 0);
	c[0] = entry("198.51.100.7", 1, "192.0.2.99", 0); /* no such destination */
	c[1] = entry("198.51.100.7", 2, "192.0.2.11", 0);
	c[1].vport = htons(443); /* no such service */
	c[2] = entry("198.51.100.7", 3, "192.0.2.11", 0);
	c[2].proto = IPPROTO_ICMP; /* not a protocol IPVS syncs */
	c[3] = entry("198.51.100.7", 4, "192.0.2.11", 0);
	c[3].state = 40; /* beyond TCP's states */
	c[4] = entry("198.51.100.7", 5, "192.0.2.11", 0);
	len = one_msg(buf, 1, c, 5);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	assert_int_equal(x.cnt.conns_dropped[SYNC_CD_NO_DEST], 1);
	assert_int_equal(x.cnt.conns_dropped[SYNC_CD_NO_SERVICE], 1);
	assert_int_equal(x.cnt.conns_dropped[SYNC_CD_PROTO], 1);
	assert_int_equal(x.cnt.conns_dropped[SYNC_CD_STATE], 1);
	assert_int_equal(x.cnt.conns_received, 5);
	assert_int_equal(lvs_conn_table_count(x.ct), 1);
	assert_non_null(lookup(&x, "198.51.100.7", 5));
	backup_teardown(&x);
}

static void test_backup_replaced(void **state)
{
	struct bx x;
	uint8_t buf[1500];
	struct sync_conn c = entry("198.51.100.7", 7, "192.0.2.11", 0);
	union lvs_addr da;
	uint16_t dp;
	size_t len;

	(void)state;
	backup_setup(&x, 0);
	len = one_msg(buf, 1, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	/* an inactive entry naming another server: an old message, ignored */
	c.daddr = t_ip4("192.0.2.12");
	c.flags = SYNC_CONN_F_INACTIVE;
	len = one_msg(buf, 1, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 0);
	assert_int_equal(x.cnt.conns_dropped[SYNC_CD_STALE], 1);
	lvs_conn_dest_addr(x.ct, lookup(&x, "198.51.100.7", 7), &da, &dp);
	assert_int_equal(da.ip4, t_ip4("192.0.2.11").ip4);
	/* an active one replaces the connection */
	c.flags = 0;
	len = one_msg(buf, 1, &c, 1);
	assert_int_equal(sync_backup_input(&x.bk, buf, len, NOW), 1);
	lvs_conn_dest_addr(x.ct, lookup(&x, "198.51.100.7", 7), &da, &dp);
	assert_int_equal(da.ip4, t_ip4("192.0.2.12").ip4);
	backup_teardown(&x);
}

/* ---- table pull ---- */

static struct sent *g_sent;
static int capture_all(void *arg, const uint8_t *buf, size_t len)
{
	(void)arg;
	return capture(g_sent, buf, len);
}

static void test_pull(void **state)
{
	struct bx master, backup;
	struct sync_pull_msg m = {.op = SYNC_PULL_REQ, .syncid = 3, .id = 0xdeadbeef}, got;
	struct sync_pull_serve ps = {.active = true, .id = 0xdeadbeef};
	struct sync_counters cnt = {0};
	struct sync_packer pk;
	uint8_t req[SYNC_PULL_LEN];
	int steps = 0, imported = 0;

	(void)state;
	g_sent = calloc(1, sizeof(*g_sent));
	/* the request is a message the kernel (and lvsd's parser) refuses
	 * for its header's spare field */
	assert_int_equal(sync_pull_encode(req, &m), SYNC_PULL_LEN);
	assert_int_equal(sync_msg_parse(req, sizeof(req), 0, NULL, NULL), -SYNC_DROP_VERSION);
	assert_int_equal(sync_pull_decode(req, sizeof(req), &got), 0);
	assert_int_equal(got.id, 0xdeadbeef);
	assert_int_equal(got.syncid, 3);
	assert_int_equal(sync_pull_decode(req, sizeof(req) - 1, &got), -EINVAL);

	/* the master's table: 60 connections, found by a walk in steps */
	backup_setup(&master, 0);
	for (int i = 0; i < 60; i++) {
		struct lvs_conn_param p = t_conn_param(IPPROTO_TCP, 2000 + i, LVS_FWD_ROUTE);
		struct lvs_conn_info ci;

		memset(&ci, 0, sizeof(ci));
		ci.p = p;
		ci.state = LVS_TCP_S_ESTABLISHED;
		ci.expires_ms = 900000;
		assert_non_null(lvs_conn_import(master.ct, 0, &ci, NOW));
	}
	assert_int_equal(sync_packer_init(&pk, 1472, 3, capture_all, NULL, &cnt), 0);
	while (sync_pull_serve_step(&ps, master.ct, &pk, NOW, 16, 1) && steps < 1000)
		steps++;
	assert_true(steps > 1); /* paced: not all at once */
	assert_false(ps.active);
	assert_true(g_sent->n >= 3); /* 40 + 20 entries, then the end marker */
	assert_int_equal(sync_pull_decode(g_sent->buf[g_sent->n - 1], g_sent->len[g_sent->n - 1],
					  &got), 0);
	assert_int_equal(got.op, SYNC_PULL_END);
	assert_int_equal(got.id, 0xdeadbeef);
	assert_int_equal(got.count, 60);
	assert_int_equal(cnt.pulls_served, 1);

	/* a fresh backup takes them all */
	backup_setup(&backup, 3);
	for (unsigned i = 0; i + 1 < g_sent->n; i++)
		imported += sync_backup_input(&backup.bk, g_sent->buf[i], g_sent->len[i], NOW);
	assert_int_equal(imported, 60);
	assert_int_equal(lvs_conn_table_count(backup.ct), 60);
	sync_packer_free(&pk);
	backup_teardown(&master);
	backup_teardown(&backup);
	free(g_sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ring),
	        cmocka_unit_test(test_tap_tcp),
	        cmocka_unit_test(test_tap_udp_and_template),
	        cmocka_unit_test(test_packing),
	        cmocka_unit_test(test_backup_binds_own_dest),
	        cmocka_unit_test(test_backup_syncid),
	        cmocka_unit_test(test_backup_unknown),
	        cmocka_unit_test(test_backup_replaced),
	        cmocka_unit_test(test_pull),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
