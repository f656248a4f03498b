/*
 * test_worker.c - the forwarding worker's loop (src/daemon/worker.c) with a
 * fake packet I/O driver: frames go in through the driver's rx, the worker
 * thread runs them through a director with one NAT service, and what it
 * sends comes out through the driver's tx.  Also: an idle worker sleeps
 * in poll() instead of spinning, frames the director passes are not sent,
 * and the stop flag ends the thread within one poll timeout.
 */
#include "test_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lvsd_ctx.h"
#include "worker.h"

/* ---- fake driver: a frame queue in, a record of what was sent out ---- */

#define FQ_MAX  16
#define FBUF    2048
#define FROOM   LVS_PKT_HEADROOM

struct lvs_io {
	pthread_mutex_t mu;
	int efd; /* readable while frames wait */
	uint8_t in[FQ_MAX][FBUF];
	uint32_t in_len[FQ_MAX];
	unsigned n_in, next_in;
	uint8_t rxbuf[LVS_IO_BURST][FBUF];
	uint8_t out[FQ_MAX][FBUF];
	uint32_t out_len[FQ_MAX], out_if[FQ_MAX];
	unsigned n_out;
	unsigned rx_calls;
};

static int fake_fd(const struct lvs_io *q)
{
	return q->efd;
}

static unsigned fake_rx(struct lvs_io *q, struct lvs_pkt *pkts, unsigned max)
{
	unsigned n = 0;
	uint64_t x;

	pthread_mutex_lock(&q->mu);
	q->rx_calls++;
	while (n < max && q->next_in < q->n_in) {
		unsigned i = q->next_in++;

		memcpy(q->rxbuf[n] + FROOM, q->in[i], q->in_len[i]);
		lvs_pkt_init(&pkts[n], q->rxbuf[n], FBUF, FROOM, q->in_len[i]);
		pkts[n].ifindex = 2;
		n++;
	}
	if (q->next_in == q->n_in)
		(void)!read(q->efd, &x, sizeof(x)); /* nothing left: not readable */
	pthread_mutex_unlock(&q->mu);
	return n;
}

static unsigned fake_tx(struct lvs_io *q, struct lvs_pkt *const *pkts, unsigned n)
{
	pthread_mutex_lock(&q->mu);
	for (unsigned i = 0; i < n && q->n_out < FQ_MAX; i++) {
		memcpy(q->out[q->n_out], pkts[i]->data, pkts[i]->len);
		q->out_len[q->n_out] = pkts[i]->len;
		q->out_if[q->n_out] = pkts[i]->ifindex;
		q->n_out++;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void fake_stats(const struct lvs_io *q, struct lvs_io_stats *s)
{
	(void)q;
	memset(s, 0, sizeof(*s));
}

static const struct lvs_io_ops fake_ops = {
        .name = "fake",
        .fd = fake_fd,
        .rx = fake_rx,
        .tx = fake_tx,
        .stats = fake_stats,
};

static void fake_push(struct lvs_io *q, const uint8_t *frame, uint32_t len)
{
	pthread_mutex_lock(&q->mu);
	assert_true(q->n_in < FQ_MAX);
	memcpy(q->in[q->n_in], frame, len);
	q->in_len[q->n_in++] = len;
	pthread_mutex_unlock(&q->mu);
	assert_int_equal(write(q->efd, &(uint64_t){1}, 8), 8);
}

static unsigned fake_sent(struct lvs_io *q)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = q->n_out;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* ---- frames ---- */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* IPv4 header and TCP checksums of an Ethernet/IPv4/TCP frame: both zero
 * when verified over the field. */
static uint16_t ip_check(const uint8_t *f)
{
	return fold(sum16(f + 14, 20, 0));
}

static uint16_t tcp_check(const uint8_t *f, uint32_t len)
{
	uint32_t tl = len - 34, s = 0;

	s = sum16(f + 26, 8, s); /* addresses */
	s += 6 + tl;
	return fold(sum16(f + 34, tl, s));
}

/* Ethernet / IPv4 / TCP (no payload); returns the length. */
static uint32_t tcp_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
                          uint16_t dport, uint8_t flags)
{
	union lvs_addr s = t_ip4(src), d = t_ip4(dst);
	uint16_t c;

	memset(f, 0, 54);
	f[0] = 0x02, f[5] = 0xfe;           /* to the director */
	f[6] = 0x02, f[11] = 0x33;          /* from a neighbour */
	f[12] = 0x08;                       /* IPv4 */
	f[14] = 0x45, f[17] = 40;           /* total length 40 */
	f[20] = 0x40;                       /* DF */
	f[22] = 64, f[23] = IPPROTO_TCP;
	memcpy(f + 26, &s.ip4, 4);
	memcpy(f + 30, &d.ip4, 4);
	c = ip_check(f);
	f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
	f[34] = (uint8_t)(sport >> 8), f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8), f[37] = (uint8_t)dport;
	f[41] = 1;                          /* seq 1 */
	f[46] = 5 << 4, f[47] = flags;
	f[48] = 0xff, f[49] = 0xff;         /* window */
	c = tcp_check(f, 54);
	f[50] = (uint8_t)(c >> 8), f[51] = (uint8_t)c;
	return 54;
}

/* ---- fixture: one NAT service 10.0.0.2:80 -> 10.1.0.1:8080 ---- */

static int t_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	(void)af;
	memset(nh, 0, sizeof(*nh));
	nh->mac[0] = 2;
	nh->mac[5] = dst->b[3]; /* next hop MAC ends in the address' last byte */
	nh->src_mac[0] = 2;
	nh->src_mac[5] = 0xfe;
	nh->ifindex = dst->b[0] == 10 && dst->b[1] == 1 ? 4 : 3;
	nh->mtu = 1500;
	return 0;
}

static int t_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)af;
	(void)dst;
	*src = t_ip4("10.1.0.254");
	return 0;
}

struct fx {
	struct lvsd d;
	struct lvsd_worker wk;
	struct lvs_io q;
};

static int fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct lvs_svc_conf c;
	struct lvs_svc_key k;
	struct lvs_dest_conf dc;

	assert_non_null(x);
	pthread_mutex_init(&x->q.mu, NULL);
	x->q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(x->q.efd >= 0);
	x->d.io = &fake_ops;
	x->d.nif = 1;
	x->d.ifname[0] = "fake0";
	x->d.nworkers = 1;
	x->d.workers = &x->wk;
	x->d.dir.model = lvs_model_new();
	x->d.dir.ct = lvs_conn_table_new(1024, 1);
	x->d.dir.env.route = t_route;
	x->d.dir.env.src_addr = t_src;
	assert_non_null(x->d.dir.model);
	assert_non_null(x->d.dir.ct);

	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.proto = IPPROTO_TCP;
	c.addr = t_ip4("10.0.0.2");
	c.port = htons(80);
	lvs_svc_conf_defaults(&c);
	assert_int_equal(lvs_model_add_service(x->d.dir.model, &c), 0);
	lvs_svc_conf_key(&c, &k);
	lvs_dest_conf_defaults(&dc);
	dc.af = AF_INET;
	dc.addr = t_ip4("10.1.0.1");
	dc.port = htons(8080);
	dc.fwd = LVS_FWD_MASQ;
	assert_int_equal(lvs_model_add_dest(x->d.dir.model, &k, &dc), 0);

	assert_int_equal(lvsd_worker_init(&x->wk, &x->d, 0), 0);
	x->wk.q[0] = &x->q;
	x->wk.nq = 1;
	*state = x;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	lvsd_worker_fini(&x->wk);
	lvs_conn_table_free(x->d.dir.ct);
	lvs_model_free(x->d.dir.model);
	close(x->q.efd);
	pthread_mutex_destroy(&x->q.mu);
	free(x);
	return 0;
}

static double mono_ms(void)
{
	return (double)lvsd_now() / 1e6;
}

static void start(struct fx *x)
{
	assert_int_equal(pthread_create(&x->wk.th, NULL, lvsd_worker_main, &x->wk), 0);
}

/* Stop the worker; returns how long joining took (ms). */
static double stop(struct fx *x)
{
	double t0 = mono_ms();

	__atomic_store_n(&x->d.stopping, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(x->wk.th, NULL), 0);
	return mono_ms() - t0;
}

/* Wait (up to 2 s) until the driver sent n frames. */
static void wait_sent(struct fx *x, unsigned n)
{
	for (int i = 0; i < 400 && fake_sent(&x->q) < n; i++)
		usleep(5000);
	assert_int_equal(fake_sent(&x->q), n);
}

/* ---- tests ---- */

/* A SYN to the VIP leaves toward the real server, rewritten; the server's
 * answer leaves toward the client from the VIP. */
static void test_nat_both_ways(void **state)
{
	struct fx *x = *state;
	uint8_t f[FBUF];
	const uint8_t *o;
	union lvs_addr a;
	uint32_t len;

	start(x);
	len = tcp_frame(f, "10.9.0.5", 40000, "10.0.0.2", 80, 0x02 /* SYN */);
	fake_push(&x->q, f, len);
	wait_sent(x, 1);
	o = x->q.out[0];
	assert_int_equal(x->q.out_len[0], len);
	assert_int_equal(x->q.out_if[0], 4);
	assert_int_equal(o[0], 2);
	assert_int_equal(o[5], 1); /* the real server's next hop */
	a = t_ip4("10.1.0.1");
	assert_memory_equal(o + 30, &a.ip4, 4);
	assert_int_equal(o[36] << 8 | o[37], 8080);
	a = t_ip4("10.9.0.5");
	assert_memory_equal(o + 26, &a.ip4, 4); /* NAT keeps the client's address */
	assert_int_equal(ip_check(o), 0);
	assert_int_equal(tcp_check(o, len), 0);

	len = tcp_frame(f, "10.1.0.1", 8080, "10.9.0.5", 40000, 0x12 /* SYN+ACK */);
	fake_push(&x->q, f, len);
	wait_sent(x, 2);
	o = x->q.out[1];
	a = t_ip4("10.0.0.2");
	assert_memory_equal(o + 26, &a.ip4, 4); /* from the VIP */
	assert_int_equal(o[34] << 8 | o[35], 80);
	assert_int_equal(o[5], 5); /* toward the client */
	assert_int_equal(ip_check(o), 0);
	assert_int_equal(tcp_check(o, len), 0);

	stop(x);
	assert_int_equal(x->wk.w.rx, 2);
	assert_int_equal(x->wk.w.tx, 2);
	assert_int_equal(x->wk.w.conns_created, 1);
	assert_int_equal(lvs_conn_table_count(x->d.dir.ct), 1);
}

/* What the director passes (not a service's traffic) or drops is not
 * sent; the counters say what happened. */
static void test_pass_and_drop_not_sent(void **state)
{
	struct fx *x = *state;
	uint8_t f[FBUF];
	uint32_t len;

	start(x);
	/* to another address: not ours */
	len = tcp_frame(f, "10.9.0.5", 40001, "10.0.0.99", 80, 0x02);
	fake_push(&x->q, f, len);
	/* a segment of no connection: dropped, not a SYN */
	len = tcp_frame(f, "10.9.0.5", 40002, "10.0.0.2", 80, 0x10);
	fake_push(&x->q, f, len);
	for (int i = 0; i < 400 && __atomic_load_n(&x->wk.w.rx, __ATOMIC_RELAXED) < 2; i++)
		usleep(5000);
	stop(x);
	assert_int_equal(x->wk.w.rx, 2);
	assert_int_equal(x->wk.w.pass, 1);
	assert_int_equal(x->wk.w.dropped, 1);
	assert_int_equal(x->wk.w.drops.n[LVS_DROP_NO_SYN], 1);
	assert_int_equal(fake_sent(&x->q), 0);
}

/* Idle, the worker sleeps in poll (100 ms) instead of spinning, and the
 * stop flag ends it within one poll timeout. */
static void test_idle_sleeps_and_stops(void **state)
{
	struct fx *x = *state;
	unsigned calls;
	double ms;

	start(x);
	usleep(550 * 1000);
	pthread_mutex_lock(&x->q.mu);
	calls = x->q.rx_calls;
	pthread_mutex_unlock(&x->q.mu);
	/* ~6 polls in 550 ms; a spinning loop would make millions of calls */
	assert_true(calls >= 3);
	assert_true(calls <= 12);
	ms = stop(x);
	assert_true(ms < LVSD_WORKER_POLL_MS + 150);
	assert_true(x->wk.idle_sleeps >= 3);
	assert_int_equal(x->wk.w.rx, 0);
}

/* A frame arriving while the worker sleeps wakes it at once, not at the
 * end of its poll timeout. */
static void test_wakes_on_frame(void **state)
{
	struct fx *x = *state;
	uint8_t f[FBUF];
	uint32_t len;
	double t0;

	start(x);
	usleep(30 * 1000); /* asleep now */
	len = tcp_frame(f, "10.9.0.6", 40000, "10.0.0.2", 80, 0x02);
	t0 = mono_ms();
	fake_push(&x->q, f, len);
	wait_sent(x, 1);
	assert_true(mono_ms() - t0 < 50);
	stop(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_nat_both_ways, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_pass_and_drop_not_sent, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_idle_sleeps_and_stops, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_wakes_on_frame, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
