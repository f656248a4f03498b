/*
 * test_conn.c - the connection table: lookups both ways (IPv4, IPv6),
 * templates, the kernel's TCP state tables and timeouts, destination
 * accounting, expiry with a fake clock, persistence templates, table full,
 * listing, sync import, quiescent-state reuse and a 1M-entry run.
 *
 * Destination accounting goes through model_state.c's lvs_dest_bind & co; the
 * tests read the counters they maintain on a bare lvs_dest_state.
 */
#include "test_util.h"

#include <stdlib.h>
#include <sys/socket.h>

#include "conn.h"
#include "conn_priv.h"

#define SEC(x) ((lvs_time_t)((x) * 1e9))
#define T0 SEC(1000)

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

static struct lvs_conn_param mkp(int af, uint8_t proto, uint8_t fwd, const char *ca, uint16_t cp,
				 const char *va, uint16_t vp, const char *da, uint16_t dp)
{
	struct lvs_conn_param p;

	memset(&p, 0, sizeof(p));
	p.af = (uint8_t)af;
	p.daf = (uint8_t)af;
	p.proto = proto;
	p.fwd = fwd;
	if (af == AF_INET) {
		p.caddr = t_ip4(ca);
		p.vaddr = t_ip4(va);
		p.daddr = t_ip4(da);
	} else {
		p.caddr = t_ip6(ca);
		p.vaddr = t_ip6(va);
		p.daddr = t_ip6(da);
	}
	p.cport = htons(cp);
	p.vport = htons(vp);
	p.dport = htons(dp);
	return p;
}

static struct lvs_conn_param nat4(const char *ca, uint16_t cp)
{
	return mkp(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, ca, cp, "10.0.0.1", 80, "192.168.10.1", 8080);
}

static struct lvs_conn_param dr4(const char *ca, uint16_t cp)
{
	return mkp(AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, ca, cp, "10.0.0.1", 80, "192.168.10.1", 80);
}

static struct lvs_conn *find(struct lvs_conn_table *t, const struct lvs_conn_param *p)
{
	return lvs_conn_lookup_in(t, p->af, p->proto, &p->caddr, p->cport, &p->vaddr, p->vport);
}

static struct lvs_conn *find_out(struct lvs_conn_table *t, const struct lvs_conn_param *p)
{
	return lvs_conn_lookup_out(t, p->af, p->proto, &p->daddr, p->dport, &p->caddr, p->cport);
}

static void pkt(struct lvs_conn_table *t, unsigned w, struct lvs_conn *c, enum lvs_conn_dir dir,
		uint8_t flags, lvs_time_t now)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = flags;
	lvs_conn_update(t, w, c, dir, &pi, now);
}

static uint32_t left_ms(struct lvs_conn_table *t, struct lvs_conn *c, lvs_time_t now)
{
	struct lvs_conn_info ci;

	lvs_conn_get_info(t, c, now, &ci);
	return ci.expires_ms;
}

/* Run the wheel until nothing more is due at `now`; returns entries freed. */
static unsigned expire_all(struct lvs_conn_table *t, unsigned w, lvs_time_t now)
{
	unsigned n = 0, r;
	int guard = 100000;

	do {
		r = lvs_conn_expire_run(t, w, now);
		assert_true(r <= CONN_EXPIRE_BUDGET);
		n += r;
	} while (r && --guard);
	/* One more pass: a run may end on budget with nothing freed. */
	for (int i = 0; i < 300; i++)
		n += lvs_conn_expire_run(t, w, now);
	return n;
}

/* Burst lookups must agree with the single ones, hits and misses. */
static void check_bursts(struct lvs_conn_table *t, const struct lvs_conn_param *ps, unsigned n)
{
	struct lvs_conn_key *ki = calloc(n, sizeof(*ki)), *ko = calloc(n, sizeof(*ko));
	struct lvs_conn **ri = calloc(n, sizeof(*ri)), **ro = calloc(n, sizeof(*ro));
	unsigned hi = 0, ho = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct lvs_conn_param *p = &ps[i];
		ki[i] = (struct lvs_conn_key){.af = p->af, .proto = p->proto, .sport = p->cport,
					      .dport = p->vport, .saddr = p->caddr, .daddr = p->vaddr};
		ko[i] = (struct lvs_conn_key){.af = p->af, .proto = p->proto, .sport = p->dport,
					      .dport = p->cport, .saddr = p->daddr, .daddr = p->caddr};
		ri[i] = ro[i] = (struct lvs_conn *)&ki[i]; /* must be overwritten */
	}
	unsigned nhi = lvs_conn_lookup_in_burst(t, ki, n, ri);
	unsigned nho = lvs_conn_lookup_out_burst(t, ko, n, ro);
	for (unsigned i = 0; i < n; i++) {
		assert_ptr_equal(ri[i], find(t, &ps[i]));
		assert_ptr_equal(ro[i], find_out(t, &ps[i]));
		hi += ri[i] != NULL;
		ho += ro[i] != NULL;
	}
	assert_int_equal(nhi, hi);
	assert_int_equal(nho, ho);
	free(ki);
	free(ko);
	free(ri);
	free(ro);
}


static struct lvs_conn_param nat6(uint16_t cp)
{
	return mkp(AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:c::10", cp, "2001:db8::1", 80,
		   "2001:db8:1::1", 8080);
}

/*
 * The IPv6 pool has its own maximum: when it is exhausted IPv6 creations
 * fail (the caller counts connection_table_full) while IPv4 ones go on and
 * existing IPv6 flows are untouched; a released slot comes back only after
 * every worker passed a quiescent point, as entries do.
 */
static void test_v6_pool_full(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new_v6(64, 3, 2);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p, q;
	struct lvs_conn *c[3];
	struct lvs_conn_info ci;

	assert_non_null(t);
	assert_int_equal(lvs_conn_table_v6_max(t), 3);
	for (int i = 0; i < 3; i++) {
		p = nat6((uint16_t)(1000 + i));
		c[i] = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
		assert_non_null(c[i]);
	}
	p = nat6(2000);
	assert_null(lvs_conn_create(t, 0, &p, &ds, NULL, T0));
	assert_null(lvs_conn_create(t, 1, &p, &ds, NULL, T0));
	/* an IPv4 service with an IPv6 (tunnel) destination needs a slot too */
	q = dr4("172.16.0.5", 3000);
	q.daf = AF_INET6;
	q.daddr = t_ip6("2001:db8:1::9");
	assert_null(lvs_conn_create(t, 0, &q, &ds, NULL, T0));
	/* IPv4 goes on; nothing was counted for the failures */
	q = nat4("172.16.0.5", 3000);
	assert_non_null(lvs_conn_create(t, 0, &q, &ds, NULL, T0));
	assert_int_equal(lvs_conn_table_count(t), 4);
	assert_int_equal(ds.inactconns, 4);
	assert_null(find(t, &p));
	for (int i = 0; i < 3; i++) {
		p = nat6((uint16_t)(1000 + i));
		assert_ptr_equal(find(t, &p), c[i]);
		assert_ptr_equal(find_out(t, &p), c[i]);
		lvs_conn_get_info(t, c[i], T0, &ci);
		assert_memory_equal(&ci.p.caddr, &p.caddr, 16);
		assert_memory_equal(&ci.p.vaddr, &p.vaddr, 16);
		assert_memory_equal(&ci.p.daddr, &p.daddr, 16);
	}
	/* One goes; its slot waits for both workers' quiescent points. */
	lvs_conn_quiescent(t, 0);
	lvs_conn_quiescent(t, 1);
	lvs_conn_expire_soon(t, c[1]);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(0.5)), 1);
	p = nat6(2000);
	for (int i = 0; i < 20; i++)
		lvs_conn_quiescent(t, 0);
	assert_null(lvs_conn_create(t, 0, &p, &ds, NULL, T0 + SEC(0.5)));
	lvs_conn_quiescent(t, 1);
	lvs_conn_quiescent(t, 0);
	c[1] = lvs_conn_create(t, 0, &p, &ds, NULL, T0 + SEC(0.5));
	assert_non_null(c[1]);
	assert_ptr_equal(find(t, &p), c[1]);
	assert_ptr_equal(find_out(t, &p), c[1]);
	p = nat6(1001);
	assert_null(find(t, &p));
	lvs_conn_table_free(t);

	/* No pool at all: IPv6 connections are refused from the start. */
	t = lvs_conn_table_new_v6(16, 0, 1);
	assert_non_null(t);
	p = nat6(1000);
	assert_null(lvs_conn_create(t, 0, &p, NULL, NULL, T0));
	q = nat4("172.16.0.5", 3000);
	assert_non_null(lvs_conn_create(t, 0, &q, NULL, NULL, T0));
	assert_true(lvs_conn_table_mem_bytes(t) < 17 * 64 + 2 * 16 * 4 + 64 * 1024);
	lvs_conn_table_free(t);
}

/* lvs_conn_create_pkt == lvs_conn_create + lvs_conn_update for the first
 * packet: same state, timeout and accounting, one bind. */
static void test_create_pkt(void **state)
{
	(void)state;
	static const struct {
		uint8_t fwd, proto, flags;
		enum lvs_conn_dir dir;
	} cases[] = {
		{ LVS_FWD_ROUTE, IPPROTO_TCP, F_SYN, LVS_DIR_INPUT_ONLY },
		{ LVS_FWD_MASQ, IPPROTO_TCP, F_SYN, LVS_DIR_INPUT },
		{ LVS_FWD_MASQ, IPPROTO_TCP, F_ACK, LVS_DIR_INPUT },
		{ LVS_FWD_TUNNEL, IPPROTO_TCP, F_RST, LVS_DIR_INPUT_ONLY },
		{ LVS_FWD_MASQ, IPPROTO_TCP, F_SYN | F_ACK, LVS_DIR_OUTPUT },
		{ LVS_FWD_ROUTE, IPPROTO_TCP, 0, LVS_DIR_INPUT_ONLY },
		{ LVS_FWD_MASQ, IPPROTO_UDP, 0, LVS_DIR_INPUT },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lvs_conn_table *a = lvs_conn_table_new(64, 1), *b = lvs_conn_table_new(64, 1);
		struct lvs_dest_state da = {0}, db = {0};
		struct lvs_conn_param p = mkp(AF_INET, cases[k].proto, cases[k].fwd, "172.16.0.5",
					      4000, "10.0.0.1", 80, "192.168.10.1", 8080);
		struct lvs_pkt_info pi;
		struct lvs_conn *ca, *cb;
		struct lvs_conn_info ia, ib;

		memset(&pi, 0, sizeof(pi));
		pi.tcp_flags = cases[k].flags;
		ca = lvs_conn_create(a, 0, &p, &da, NULL, T0);
		lvs_conn_update(a, 0, ca, cases[k].dir, &pi, T0);
		cb = lvs_conn_create_pkt(b, 0, &p, &db, NULL, cases[k].dir, &pi, T0);
		assert_non_null(cb);
		lvs_conn_get_info(a, ca, T0, &ia);
		lvs_conn_get_info(b, cb, T0, &ib);
		assert_int_equal(ia.state, ib.state);
		assert_int_equal(ia.expires_ms, ib.expires_ms);
		assert_int_equal(ia.p.flags, ib.p.flags);
		assert_int_equal(da.activeconns, db.activeconns);
		assert_int_equal(da.inactconns, db.inactconns);
		/* the next packet moves both the same way */
		pi.tcp_flags = F_ACK;
		lvs_conn_update(a, 0, ca, LVS_DIR_OUTPUT, &pi, T0 + SEC(1));
		lvs_conn_update(b, 0, cb, LVS_DIR_OUTPUT, &pi, T0 + SEC(1));
		lvs_conn_get_info(a, ca, T0 + SEC(1), &ia);
		lvs_conn_get_info(b, cb, T0 + SEC(1), &ib);
		assert_int_equal(ia.state, ib.state);
		assert_int_equal(ia.expires_ms, ib.expires_ms);
		/* and both are released at the same run */
		assert_int_equal(expire_all(a, 0, T0 + SEC(1000)), 1);
		assert_int_equal(expire_all(b, 0, T0 + SEC(1000)), 1);
		assert_int_equal(db.activeconns + db.inactconns, 0);
		lvs_conn_table_free(a);
		lvs_conn_table_free(b);
	}
}

/* lvs_conn_hit: one call for the known-connection path. */
static void test_hit(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(64, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 4000), q = dr4("172.16.0.6", 4001);
	struct lvs_conn *c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	struct lvs_conn *d = lvs_conn_create(t, 0, &q, &ds, NULL, T0);
	struct lvs_pkt_info pi;
	union lvs_addr a;
	uint16_t port = 0;
	uint8_t fwd = 99;

	memset(&pi, 0, sizeof(pi));
	pi.tcp_flags = F_SYN;
	assert_ptr_equal(lvs_conn_hit(t, 0, c, false, &pi, T0, &fwd, &a, &port), &ds);
	assert_int_equal(fwd, LVS_FWD_MASQ);
	assert_memory_equal(&a, &p.daddr, 16);
	assert_int_equal(port, p.dport);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	pi.tcp_flags = F_SYN | F_ACK;
	assert_ptr_equal(lvs_conn_hit(t, 0, c, true, &pi, T0, &fwd, &a, &port), &ds);
	assert_memory_equal(&a, &p.vaddr, 16);
	assert_int_equal(port, p.vport);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	assert_int_equal(ds.activeconns, 1);
	/* a "reply" on a DR connection is not ours: nothing changes */
	pi.tcp_flags = F_RST;
	assert_ptr_equal(lvs_conn_hit(t, 0, d, true, &pi, T0, &fwd, &a, &port), &ds);
	assert_int_equal(fwd, LVS_FWD_ROUTE);
	assert_int_equal(lvs_conn_state(d), LVS_TCP_S_NONE);
	assert_int_equal(left_ms(t, d, T0), 2000);
	lvs_conn_table_free(t);
}

/* ------------------------------------------------------------------ */

static void test_layout(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(1000, 2);

	assert_int_equal(sizeof(struct lvs_conn), 64);
	assert_non_null(t);
	/* An IPv4 connection is one cache line; an IPv6 one adds a pool slot
	 * (48 bytes of addresses and a 4-byte link); buckets: 1024 per table. */
	assert_int_equal(lvs_conn_table_entry_bytes(t), 64);
	assert_int_equal(lvs_conn_table_v6_bytes(t), 48 + 4);
	assert_int_equal(lvs_conn_table_bucket_bytes(t), 2 * 1024 * 4);
	assert_int_equal(lvs_conn_table_v6_max(t), 1000);
	assert_true(lvs_conn_table_mem_bytes(t) >= 1001 * 64 + 1001 * 52 + 2 * 1024 * 4);
	assert_true(lvs_conn_table_mem_bytes(t) < 1001 * 64 + 1001 * 52 + 2 * 1024 * 4 + 64 * 1024);
	assert_int_equal(lvs_conn_table_max(t), 1000);
	assert_int_equal(lvs_conn_table_count(t), 0);
	assert_null(lvs_conn_table_new(0, 1));
	assert_null(lvs_conn_table_new(10, 0));
	assert_null(lvs_conn_table_new(10, LVS_MAX_WORKERS + 1));
	lvs_conn_table_free(t);
}

static void test_burst_lookup(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(512, 1);
	struct lvs_conn_param ps[150];
	unsigned hits = 0;

	for (unsigned i = 0; i < 150; i++) {
		if (i % 3 == 2)
			ps[i] = mkp(AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8::9",
				    (uint16_t)(5000 + i), "2001:db8::1", 53, "fd00::3", 53);
		else
			ps[i] = nat4(i & 1 ? "172.16.0.5" : "172.16.9.9", (uint16_t)(2000 + i));
		/* Every fourth key is left out: misses in the same bursts. */
		if (i % 4 != 3) {
			assert_non_null(lvs_conn_create(t, 0, &ps[i], NULL, NULL, T0));
			hits++;
		}
	}
	/* A template on one key's (caddr, vport) with cport 0 never shows up. */
	struct lvs_conn_param tp = nat4("172.16.0.5", 0);
	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.timeout = 60;
	assert_non_null(lvs_conn_create(t, 0, &tp, NULL, NULL, T0));
	ps[149] = nat4("172.16.0.5", 0);
	check_bursts(t, ps, 150); /* more than LVS_CONN_BURST_MAX: chunks */
	check_bursts(t, ps + 7, 5);
	assert_int_equal(lvs_conn_table_count(t), hits + 1);
	lvs_conn_table_free(t);
}

static void test_names_and_defaults(void **state)
{
	(void)state;
	assert_string_equal(lvs_tcp_state_name(LVS_TCP_S_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(lvs_tcp_state_name(LVS_TCP_S_SYN_RECV), "SYN_RECV");
	assert_string_equal(lvs_tcp_state_name(LVS_TCP_S_SYNACK), "SYNACK");
	assert_string_equal(lvs_tcp_state_name(LVS_TCP_S_NONE), "NONE");
	assert_string_equal(lvs_tcp_state_name(99), "ERR!");
	assert_string_equal(lvs_conn_state_name(0, IPPROTO_UDP, 0), "UDP");
	assert_string_equal(lvs_conn_state_name(0, IPPROTO_TCP, LVS_TCP_S_FIN_WAIT), "FIN_WAIT");
	assert_string_equal(lvs_conn_state_name(LVS_CONN_F_TEMPLATE, IPPROTO_TCP, 0), "NONE");
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_NONE], 2);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_ESTABLISHED], 900);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_SYN_SENT], 120);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_SYN_RECV], 60);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_FIN_WAIT], 120);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_TIME_WAIT], 120);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_CLOSE], 10);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_CLOSE_WAIT], 60);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_LAST_ACK], 30);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_LISTEN], 120);
	assert_int_equal(lvs_tcp_default_timeouts[LVS_TCP_S_SYNACK], 120);
}

static void test_lookup_v4(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(1024, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 40000), q;
	struct lvs_conn *c;
	struct lvs_conn_info ci;
	union lvs_addr a;
	uint16_t port;

	c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	assert_non_null(c);
	assert_ptr_equal(find(t, &p), c);
	assert_ptr_equal(find_out(t, &p), c);
	assert_int_equal(lvs_conn_table_count(t), 1);
	assert_int_equal(lvs_conn_af(c), AF_INET);
	assert_int_equal(lvs_conn_proto(c), IPPROTO_TCP);
	assert_int_equal(lvs_conn_fwd(c), LVS_FWD_MASQ);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_NONE);
	assert_int_equal(lvs_conn_flags(c), LVS_CONN_F_INACTIVE);
	assert_ptr_equal(lvs_conn_dest(c), &ds);
	assert_int_equal(ds.inactconns, 1);
	assert_int_equal(ds.activeconns, 0);

	lvs_conn_dest_addr(t, c, &a, &port);
	assert_true(lvs_addr_eq(&a, &p.daddr));
	assert_int_equal(port, htons(8080));
	lvs_conn_virt_addr(t, c, &a, &port);
	assert_true(lvs_addr_eq(&a, &p.vaddr));
	assert_int_equal(port, htons(80));

	lvs_conn_get_info(t, c, T0, &ci);
	assert_true(lvs_addr_eq(&ci.p.caddr, &p.caddr));
	assert_true(lvs_addr_eq(&ci.p.vaddr, &p.vaddr));
	assert_true(lvs_addr_eq(&ci.p.daddr, &p.daddr));
	assert_int_equal(ci.p.cport, p.cport);
	assert_int_equal(ci.p.vport, p.vport);
	assert_int_equal(ci.p.dport, p.dport);
	assert_int_equal(ci.p.af, AF_INET);
	assert_int_equal(ci.state, LVS_TCP_S_NONE);
	assert_int_equal(ci.expires_ms, 2000);

	/* Any field off: no match, either way. */
	q = p;
	q.cport = htons(40001);
	assert_null(find(t, &q));
	assert_null(find_out(t, &q));
	q = p;
	q.proto = IPPROTO_UDP;
	assert_null(find(t, &q));
	assert_null(find_out(t, &q));
	q = p;
	q.vaddr = t_ip4("10.0.0.2");
	assert_null(find(t, &q));
	q = p;
	q.daddr = t_ip4("192.168.10.2");
	assert_null(find_out(t, &q));
	q = p;
	q.dport = htons(80);
	assert_null(find_out(t, &q));
	/* The same key as IPv6 is a different connection. */
	assert_null(lvs_conn_lookup_in(t, AF_INET6, IPPROTO_TCP, &p.caddr, p.cport, &p.vaddr,
				       p.vport));
	lvs_conn_table_free(t);
}

static void test_lookup_v6(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(1024, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = mkp(AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8::5", 40000,
				      "2001:db8:1::1", 443, "fd00::10", 8443);
	struct lvs_conn_param q;
	struct lvs_conn *c, *c2;
	struct lvs_conn_info ci;
	union lvs_addr a;
	uint16_t port;

	c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	assert_non_null(c);
	assert_ptr_equal(find(t, &p), c);
	assert_ptr_equal(find_out(t, &p), c);
	assert_int_equal(lvs_conn_af(c), AF_INET6);
	lvs_conn_dest_addr(t, c, &a, &port);
	assert_true(lvs_addr_eq(&a, &p.daddr));
	lvs_conn_virt_addr(t, c, &a, &port);
	assert_true(lvs_addr_eq(&a, &p.vaddr));
	lvs_conn_get_info(t, c, T0, &ci);
	assert_int_equal(ci.p.af, AF_INET6);
	assert_true(lvs_addr_eq(&ci.p.caddr, &p.caddr));
	assert_true(lvs_addr_eq(&ci.p.daddr, &p.daddr));

	/* A client address with the same 32-bit fold (words swapped) must not
	 * match: the full address is checked. */
	q = p;
	q.caddr.w[0] = p.caddr.w[3];
	q.caddr.w[3] = p.caddr.w[0];
	assert_false(lvs_addr_eq(&q.caddr, &p.caddr));
	assert_null(find(t, &q));
	assert_null(find_out(t, &q));
	c2 = lvs_conn_create(t, 0, &q, &ds, NULL, T0);
	assert_non_null(c2);
	assert_ptr_equal(find(t, &q), c2);
	assert_ptr_equal(find(t, &p), c);
	assert_ptr_equal(find_out(t, &q), c2);
	assert_ptr_equal(find_out(t, &p), c);

	/* IPv6 service with an IPv4 tunnel destination. */
	q = p;
	q.cport = htons(40002);
	q.fwd = LVS_FWD_TUNNEL;
	q.daf = AF_INET;
	q.daddr = t_ip4("192.168.10.7");
	c2 = lvs_conn_create(t, 0, &q, &ds, NULL, T0);
	assert_non_null(c2);
	assert_ptr_equal(find(t, &q), c2);
	lvs_conn_dest_addr(t, c2, &a, &port);
	assert_true(lvs_addr_eq(&a, &q.daddr));
	lvs_conn_get_info(t, c2, T0, &ci);
	assert_int_equal(ci.p.daf, AF_INET);
	assert_int_equal(ci.p.af, AF_INET6);
	lvs_conn_table_free(t);

	/* 16 buckets, 200 addresses with the entry's fold: many share its
	 * bucket, none may match. */
	t = lvs_conn_table_new(16, 1);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	for (uint32_t i = 1; i <= 200; i++) {
		q = p;
		q.caddr.w[1] ^= htonl(i);
		q.caddr.w[2] ^= htonl(i);
		assert_null(find(t, &q));
		assert_null(find_out(t, &q));
		check_bursts(t, &q, 1);
		q = p;
		q.vaddr.w[0] ^= htonl(i);
		q.vaddr.w[3] ^= htonl(i);
		assert_null(find(t, &q));
		check_bursts(t, &q, 1);
		q = p;
		q.daddr.w[0] ^= htonl(i << 8);
		q.daddr.w[2] ^= htonl(i << 8);
		assert_null(find_out(t, &q));
		check_bursts(t, &q, 1);
	}
	assert_ptr_equal(find(t, &p), c);
	lvs_conn_table_free(t);
}

static void test_templates(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(1024, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param tp = nat4("172.16.0.0", 0), p = nat4("172.16.0.0", 0);
	struct lvs_conn *tm, *c;
	struct lvs_conn_info ci;

	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.cport = htons(1234); /* ignored: templates have cport 0 */
	tp.timeout = 360;
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, T0);
	assert_non_null(tm);
	assert_int_equal(ds.persistconns, 1);
	assert_int_equal(ds.inactconns, 0);
	assert_ptr_equal(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					      tp.vport),
			 tm);
	/* The connection lookup never returns a template, even on its key. */
	assert_null(find(t, &p));
	assert_null(find_out(t, &p));
	lvs_conn_get_info(t, tm, T0, &ci);
	assert_int_equal(ci.p.cport, 0);
	assert_int_equal(ci.p.timeout, 360);
	assert_int_equal(ci.expires_ms, 360000);
	assert_true(ci.p.flags & LVS_CONN_F_TEMPLATE);
	/* Other service port: other template. */
	assert_null(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr, htons(81)));

	/* A connection with the template's exact key (client port 0) is found
	 * by lookup_in, and the template is still found by tmpl_lookup. */
	c = lvs_conn_create(t, 0, &p, &ds, tm, T0);
	assert_non_null(c);
	assert_ptr_equal(find(t, &p), c);
	assert_ptr_equal(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					      tp.vport),
			 tm);
	assert_int_equal(ds.inactconns, 1);

	/* fwmark template: proto 0, vaddr = mark. */
	memset(&tp, 0, sizeof(tp));
	tp.af = AF_INET;
	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.caddr = t_ip4("172.16.0.0");
	tp.vaddr.ip4 = htonl(7);
	tp.daddr = t_ip4("192.168.10.2");
	tp.timeout = 60;
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, T0);
	assert_non_null(tm);
	assert_ptr_equal(lvs_conn_tmpl_lookup(t, AF_INET, 0, &tp.caddr, &tp.vaddr, 0), tm);
	assert_string_equal(lvs_conn_state_name(lvs_conn_flags(tm), 0, 0), "NONE");
	lvs_conn_table_free(t);
}

/* NAT: the client's packets use INPUT, the server's OUTPUT. */
static void test_tcp_nat_states(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(64, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 40000);
	struct lvs_conn *c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	lvs_time_t now = T0;

	/* Client closes first. */
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	assert_int_equal(left_ms(t, c, now), 60000);
	/* Handshake states count as active (Linux >= 4.8). */
	assert_int_equal(ds.activeconns, 1);
	assert_int_equal(ds.inactconns, 0);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_SYN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_ESTABLISHED);
	assert_int_equal(left_ms(t, c, now), 900000);
	assert_int_equal(ds.activeconns, 1);
	assert_int_equal(ds.inactconns, 0);
	assert_true(!(lvs_conn_flags(c) & LVS_CONN_F_INACTIVE));
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_ACK, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_ESTABLISHED);
	assert_int_equal(ds.activeconns, 1);
	pkt(t, 0, c, LVS_DIR_INPUT, F_FIN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE_WAIT);
	assert_int_equal(left_ms(t, c, now), 60000);
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(ds.inactconns, 1);
	assert_true(lvs_conn_flags(c) & LVS_CONN_F_INACTIVE);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE_WAIT);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_FIN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_TIME_WAIT);
	assert_int_equal(left_ms(t, c, now), 120000);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_TIME_WAIT);
	/* A new SYN on the same 4-tuple restarts the handshake. */
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);

	/* Server closes first. */
	p.cport = htons(40001);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_SYN | F_ACK, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_ESTABLISHED);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_FIN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_FIN_WAIT);
	assert_int_equal(left_ms(t, c, now), 120000);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_FIN_WAIT);
	pkt(t, 0, c, LVS_DIR_INPUT, F_FIN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_TIME_WAIT);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_TIME_WAIT);

	/* RST (with ACK: RST wins) from an established connection. */
	p.cport = htons(40002);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_ESTABLISHED);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_RST | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE);
	assert_int_equal(left_ms(t, c, now), 10000);
	/* A RST to a half-open connection leaves it in SYN_RECV (kernel). */
	p.cport = htons(40003);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_RST, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	/* Server SYN first: SYN_SENT; a packet without SYN/FIN/ACK/RST closes. */
	p.cport = htons(40004);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_SYN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_SENT);
	assert_int_equal(left_ms(t, c, now), 120000);
	pkt(t, 0, c, LVS_DIR_INPUT, 0, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE);
	/* SYN+FIN counts as SYN, FIN+ACK as FIN. */
	p.cport = htons(40005);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN | F_FIN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);

	/* Three are in SYN_RECV (active), three closing or closed. */
	assert_int_equal(ds.activeconns, 3);
	assert_int_equal(ds.inactconns, 3);
	lvs_conn_table_free(t);
}

/* DR/TUN: replies bypass the director, the INPUT_ONLY table applies. */
static void test_tcp_dr_states(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(64, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = dr4("172.16.0.5", 40000);
	struct lvs_conn *c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	lvs_time_t now = T0;

	assert_int_equal(lvs_conn_fwd(c), LVS_FWD_ROUTE);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_SYN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	assert_int_equal(left_ms(t, c, now), 60000);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_ESTABLISHED);
	assert_int_equal(left_ms(t, c, now), 900000);
	assert_int_equal(ds.activeconns, 1);
	/* The client's FIN: FIN_WAIT here (CLOSE_WAIT in the NAT table). */
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_FIN | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_FIN_WAIT);
	assert_int_equal(left_ms(t, c, now), 120000);
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(ds.inactconns, 1);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_FIN_WAIT);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_RST, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE);
	assert_int_equal(left_ms(t, c, now), 10000);

	/* A DR connection fed as INPUT still uses INPUT_ONLY (the kernel's
	 * NOOUTPUT flag) until a reply is seen. */
	p.cport = htons(40001);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_FIN, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_FIN_WAIT);
	/* RST in ESTABLISHED: CLOSE. */
	p.cport = htons(40002);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_ACK, now);
	assert_int_equal(ds.activeconns, 1);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_RST | F_ACK, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE);
	/* A RST to SYN_RECV leaves it there, as in the NAT table. */
	p.cport = htons(40003);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_RST, now);
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_SYN_RECV);
	assert_int_equal(ds.activeconns, 1); /* the one in SYN_RECV */
	assert_int_equal(ds.inactconns, 3);
	lvs_conn_table_free(t);
}

static void test_timeouts_set(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(64, 1);
	struct lvs_timeouts to = {.tcp = 100, .tcp_fin = 50, .udp = 30}, got;
	struct lvs_conn_param p = dr4("172.16.0.5", 40000);
	struct lvs_conn_param u = mkp(AF_INET, IPPROTO_UDP, LVS_FWD_ROUTE, "172.16.0.5", 5353,
				      "10.0.0.1", 53, "192.168.10.1", 53);
	struct lvs_conn *c, *cu;

	lvs_conn_get_timeouts(t, &got);
	assert_int_equal(got.tcp, 900);
	assert_int_equal(got.tcp_fin, 120);
	assert_int_equal(got.udp, 300);
	lvs_conn_set_timeouts(t, &to);
	lvs_conn_get_timeouts(t, &got);
	assert_int_equal(got.tcp, 100);
	assert_int_equal(got.tcp_fin, 50);
	assert_int_equal(got.udp, 30);
	to = (struct lvs_timeouts){.tcp = 0, .tcp_fin = 0, .udp = 40};
	lvs_conn_set_timeouts(t, &to);
	lvs_conn_get_timeouts(t, &got);
	assert_int_equal(got.tcp, 100);
	assert_int_equal(got.tcp_fin, 50);
	assert_int_equal(got.udp, 40);

	c = lvs_conn_create(t, 0, &p, NULL, NULL, T0);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_SYN, T0);
	assert_int_equal(left_ms(t, c, T0), 60000);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_ACK, T0);
	assert_int_equal(left_ms(t, c, T0), 100000);
	pkt(t, 0, c, LVS_DIR_INPUT_ONLY, F_FIN, T0);
	assert_int_equal(left_ms(t, c, T0), 50000);
	cu = lvs_conn_create(t, 0, &u, NULL, NULL, T0);
	assert_int_equal(left_ms(t, cu, T0), 40000);
	pkt(t, 0, cu, LVS_DIR_INPUT_ONLY, 0, SEC(1001));
	assert_int_equal(left_ms(t, cu, SEC(1001)), 40000);
	assert_int_equal(left_ms(t, cu, SEC(1011)), 30000);
	lvs_conn_table_free(t);
}

/* Accounting over full lives, and expiry at the right time. */
static void test_accounting_and_expiry(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(256, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 40000);
	struct lvs_conn_param u = mkp(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "172.16.0.5", 5353,
				      "10.0.0.1", 53, "192.168.10.1", 53);
	struct lvs_conn *c, *cu;

	/* TCP in NONE: 2 s. */
	c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(1.9)), 0);
	assert_non_null(find(t, &p));
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(2)), 1);
	assert_null(find(t, &p));
	assert_null(find_out(t, &p));
	assert_int_equal(ds.inactconns, 0);
	assert_int_equal(lvs_conn_table_count(t), 0);

	/* UDP: 300 s from the last packet, never active. */
	cu = lvs_conn_create(t, 0, &u, &ds, NULL, T0);
	pkt(t, 0, cu, LVS_DIR_INPUT, 0, T0);
	assert_int_equal(ds.inactconns, 1);
	pkt(t, 0, cu, LVS_DIR_OUTPUT, 0, T0 + SEC(100));
	assert_int_equal(ds.inactconns, 1);
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(300)), 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(399.9)), 0);
	assert_non_null(find(t, &u));
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(400)), 1);
	assert_null(find(t, &u));
	assert_int_equal(ds.inactconns, 0);

	/* ESTABLISHED expiring as such: unbound as active. */
	lvs_time_t now = T0 + SEC(500);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_OUTPUT, F_SYN | F_ACK, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(ds.activeconns, 1);
	/* Traffic keeps it alive: the wheel re-arms lazily. */
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now + SEC(600));
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(900)), 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(1499)), 0);
	assert_non_null(find(t, &p));
	assert_int_equal(expire_all(t, 0, now + SEC(1500)), 1);
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(ds.inactconns, 0);

	/* A RST cuts ESTABLISHED (900 s) to CLOSE (10 s): the timer moves. */
	now = T0 + SEC(3000);
	c = lvs_conn_create(t, 0, &p, &ds, NULL, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, now);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, now);
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(5)), 0);
	pkt(t, 0, c, LVS_DIR_INPUT, F_RST, now + SEC(5));
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(ds.inactconns, 1);
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(14.9)), 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(15)), 1);
	assert_int_equal(ds.inactconns, 0);
	assert_int_equal(lvs_conn_table_count(t), 0);
	lvs_conn_table_free(t);
}

/* The NAT reply arrives on another worker: it cannot touch the owner's
 * wheel but the shorter timeout must still apply. */
static void test_cross_worker_shorten(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(256, 2);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 40000);
	struct lvs_conn *c = lvs_conn_create(t, 0, &p, &ds, NULL, T0);

	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, T0);
	pkt(t, 1, c, LVS_DIR_OUTPUT, F_SYN | F_ACK, T0);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, T0);
	assert_int_equal(ds.activeconns, 1);
	pkt(t, 1, c, LVS_DIR_OUTPUT, F_RST, T0 + SEC(1));
	assert_int_equal(lvs_conn_state(c), LVS_TCP_S_CLOSE);
	assert_int_equal(ds.activeconns, 0);
	/* Worker 1 owns nothing. */
	assert_int_equal(lvs_conn_expire_run(t, 1, T0 + SEC(20)), 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(10.9)), 0);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(11)), 1);
	assert_null(find(t, &p));

	/* expire_soon from another worker. */
	c = lvs_conn_create(t, 0, &p, &ds, NULL, T0 + SEC(20));
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, T0 + SEC(20));
	lvs_conn_expire_soon(t, c);
	pkt(t, 1, c, LVS_DIR_INPUT, F_ACK, T0 + SEC(20)); /* does not revive it */
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(20.1)), 1);
	assert_null(find(t, &p));
	assert_int_equal(ds.activeconns, 0);
	assert_int_equal(ds.inactconns, 0);
	lvs_conn_table_free(t);
}

static void test_template_lifetime(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(256, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param tp = nat4("172.16.0.0", 0), p = nat4("172.16.0.5", 40000);
	struct lvs_conn *tm, *c;

	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.timeout = 360;
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, T0);
	c = lvs_conn_create(t, 0, &p, &ds, tm, T0);
	pkt(t, 0, c, LVS_DIR_INPUT, F_SYN, T0);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, T0);
	pkt(t, 0, c, LVS_DIR_INPUT, F_ACK, T0 + SEC(300));
	assert_int_equal(ds.persistconns, 1);
	assert_int_equal(ds.activeconns, 1);
	/* The template's timer fires while its connection lives: re-armed
	 * for the full 360 s. */
	assert_int_equal(expire_all(t, 0, T0 + SEC(360)), 0);
	assert_non_null(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					     tp.vport));
	assert_int_equal(left_ms(t, tm, T0 + SEC(360)), 360000);
	/* The connection ends at 500 (RST -> CLOSE, 10 s). */
	pkt(t, 0, c, LVS_DIR_INPUT, F_RST, T0 + SEC(500));
	assert_int_equal(expire_all(t, 0, T0 + SEC(510)), 1);
	assert_null(find(t, &p));
	assert_int_equal(ds.persistconns, 1);
	assert_int_equal(ds.inactconns, 0);
	/* The template outlives it until its own timeout. */
	assert_int_equal(expire_all(t, 0, T0 + SEC(719.9)), 0);
	assert_non_null(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					     tp.vport));
	assert_int_equal(expire_all(t, 0, T0 + SEC(720)), 1);
	assert_null(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					 tp.vport));
	assert_int_equal(ds.persistconns, 0);

	/* touch re-arms to the full timeout. */
	lvs_time_t now = T0 + SEC(1000);
	tp.timeout = 60;
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, now);
	lvs_conn_touch(t, tm, now + SEC(50));
	assert_int_equal(left_ms(t, tm, now + SEC(50)), 60000);
	assert_int_equal(expire_all(t, 0, now + SEC(60)), 0);
	assert_int_equal(expire_all(t, 0, now + SEC(110)), 1);

	/* expire_soon: no longer found, freed at the next run. */
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, now + SEC(200));
	lvs_conn_expire_soon(t, tm);
	assert_null(lvs_conn_tmpl_lookup(t, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					 tp.vport));
	assert_int_equal(lvs_conn_expire_run(t, 0, now + SEC(200.1)), 1);
	assert_int_equal(ds.persistconns, 0);
	assert_int_equal(lvs_conn_table_count(t), 0);
	lvs_conn_table_free(t);
}

static void test_table_full(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(8, 1);
	struct lvs_dest_state ds = {0};
	struct lvs_conn_param tp = nat4("172.16.0.0", 0), p;
	struct lvs_conn *c[8], *tm;

	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.timeout = 10;
	tm = lvs_conn_create(t, 0, &tp, &ds, NULL, T0);
	assert_non_null(tm);
	for (int i = 0; i < 7; i++) {
		p = nat4("172.16.0.5", (uint16_t)(1000 + i));
		c[i] = lvs_conn_create(t, 0, &p, &ds, tm, T0);
		assert_non_null(c[i]);
	}
	assert_int_equal(lvs_conn_table_count(t), 8);
	p = nat4("172.16.0.5", 2000);
	assert_null(lvs_conn_create(t, 0, &p, &ds, tm, T0));
	assert_null(lvs_conn_create(t, 0, &tp, &ds, NULL, T0));
	assert_int_equal(lvs_conn_table_count(t), 8);
	assert_int_equal(ds.inactconns, 7);
	assert_int_equal(ds.persistconns, 1);
	assert_null(find(t, &p));
	for (int i = 0; i < 7; i++) {
		p = nat4("172.16.0.5", (uint16_t)(1000 + i));
		assert_ptr_equal(find(t, &p), c[i]);
		assert_ptr_equal(find_out(t, &p), c[i]);
	}
	/* The failed creates did not count as controlled connections: once
	 * the 7 are gone the template goes at its timeout. */
	assert_int_equal(expire_all(t, 0, T0 + SEC(2)), 7);
	assert_int_equal(expire_all(t, 0, T0 + SEC(10)), 1);
	assert_int_equal(ds.persistconns, 0);
	assert_int_equal(ds.inactconns, 0);
	lvs_conn_table_free(t);
}

struct walk_acc {
	int n, tmpl, v6, stop_after;
	uint32_t port_sum;
};

static int walk_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct walk_acc *a = arg;

	a->n++;
	if (ci->p.flags & LVS_CONN_F_TEMPLATE)
		a->tmpl++;
	if (ci->p.af == AF_INET6)
		a->v6++;
	a->port_sum += ntohs(ci->p.cport);
	return a->stop_after && a->n >= a->stop_after;
}

static void test_walk(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(1000, 2);
	struct lvs_dest_state ds = {0};
	struct walk_acc a = {0};
	uint32_t sum = 0;

	for (int i = 0; i < 60; i++) {
		struct lvs_conn_param p = nat4("172.16.0.5", (uint16_t)(1000 + i));
		assert_non_null(lvs_conn_create(t, (unsigned)(i & 1), &p, &ds, NULL, T0));
		sum += 1000 + (uint32_t)i;
	}
	for (int i = 0; i < 30; i++) {
		struct lvs_conn_param p = mkp(AF_INET6, IPPROTO_UDP, LVS_FWD_ROUTE, "2001:db8::7",
					      (uint16_t)(3000 + i), "2001:db8::1", 53, "fd00::1",
					      53);
		assert_non_null(lvs_conn_create(t, 1, &p, &ds, NULL, T0));
		sum += 3000 + (uint32_t)i;
	}
	for (int i = 0; i < 10; i++) {
		struct lvs_conn_param p = nat4("172.16.0.0", 0);
		p.vport = htons((uint16_t)(100 + i));
		p.flags = LVS_CONN_F_TEMPLATE;
		p.timeout = 300;
		assert_non_null(lvs_conn_create(t, 0, &p, &ds, NULL, T0));
	}
	lvs_conn_walk(t, T0, walk_cb, &a);
	assert_int_equal(a.n, 100);
	assert_int_equal(a.tmpl, 10);
	assert_int_equal(a.v6, 30);
	assert_int_equal(a.port_sum, sum);

	memset(&a, 0, sizeof(a));
	a.stop_after = 7;
	lvs_conn_walk(t, T0, walk_cb, &a);
	assert_int_equal(a.n, 7);

	/* Freed entries are not listed. */
	assert_int_equal(expire_all(t, 0, T0 + SEC(3)), 30);
	assert_int_equal(expire_all(t, 1, T0 + SEC(3)), 30);
	memset(&a, 0, sizeof(a));
	lvs_conn_walk(t, T0 + SEC(3), walk_cb, &a);
	assert_int_equal(a.n, 40);
	assert_int_equal(a.v6, 30);
	lvs_conn_table_free(t);
}

struct hook_acc {
	int n;
	struct lvs_conn_info last;
};

static void free_hook(void *arg, const struct lvs_conn_info *ci)
{
	struct hook_acc *h = arg;

	h->n++;
	h->last = *ci;
}

static void test_import_and_hook(void **state)
{
	(void)state;
	struct lvs_conn_table *a = lvs_conn_table_new(64, 1), *b = lvs_conn_table_new(64, 1);
	struct lvs_dest_state ds = {0}, dsb = {0};
	struct lvs_conn_param p = nat4("172.16.0.5", 40000), tp = nat4("172.16.0.0", 0);
	struct lvs_conn *c, *ib, *ib2;
	struct lvs_conn_info ci;
	struct hook_acc h = {0};

	c = lvs_conn_create(a, 0, &p, &ds, NULL, T0);
	pkt(a, 0, c, LVS_DIR_INPUT, F_SYN, T0);
	lvs_conn_get_info(a, c, T0 + SEC(10), &ci);
	assert_int_equal(ci.state, LVS_TCP_S_SYN_RECV);
	assert_int_equal(ci.expires_ms, 50000);

	/* Backup: new entry with the given state and time left. */
	ci.dest = &dsb;
	ib = lvs_conn_import(b, 0, &ci, T0);
	assert_non_null(ib);
	assert_ptr_equal(find(b, &p), ib);
	assert_ptr_equal(find_out(b, &p), ib);
	assert_int_equal(lvs_conn_state(ib), LVS_TCP_S_SYN_RECV);
	assert_int_equal(left_ms(b, ib, T0), 50000);
	assert_true(lvs_conn_flags(ib) & LVS_CONN_F_SYNCED);
	assert_int_equal(dsb.activeconns, 1); /* SYN_RECV counts as active */
	assert_int_equal(dsb.inactconns, 0);
	/* Update: same entry, new state and accounting. */
	ci.state = LVS_TCP_S_ESTABLISHED;
	ci.expires_ms = 900000;
	ib2 = lvs_conn_import(b, 0, &ci, T0 + SEC(1));
	assert_ptr_equal(ib2, ib);
	assert_int_equal(lvs_conn_table_count(b), 1);
	assert_int_equal(lvs_conn_state(ib), LVS_TCP_S_ESTABLISHED);
	assert_int_equal(dsb.activeconns, 1);
	assert_int_equal(dsb.inactconns, 0);
	/* Imported ESTABLISHED from scratch: bound active. */
	ci.p.cport = htons(40001);
	ib2 = lvs_conn_import(b, 0, &ci, T0 + SEC(1));
	assert_non_null(ib2);
	assert_int_equal(dsb.activeconns, 2);
	/* An update that shortens the time left moves the timer. */
	ci.state = LVS_TCP_S_CLOSE;
	ci.expires_ms = 5000;
	assert_ptr_equal(lvs_conn_import(b, 0, &ci, T0 + SEC(1)), ib2);
	assert_int_equal(dsb.activeconns, 1);
	assert_int_equal(lvs_conn_expire_run(b, 0, T0 + SEC(6)), 1);

	/* Templates too. */
	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.timeout = 120;
	c = lvs_conn_create(a, 0, &tp, &ds, NULL, T0);
	lvs_conn_get_info(a, c, T0, &ci);
	ci.dest = &dsb;
	ib = lvs_conn_import(b, 0, &ci, T0);
	assert_non_null(ib);
	assert_ptr_equal(lvs_conn_tmpl_lookup(b, AF_INET, IPPROTO_TCP, &tp.caddr, &tp.vaddr,
					      tp.vport),
			 ib);
	assert_int_equal(dsb.persistconns, 1);

	/* Free hook: one call per freed entry, with its addresses. */
	lvs_conn_set_free_hook(a, free_hook, &h);
	assert_int_equal(expire_all(a, 0, T0 + SEC(60)), 1);
	assert_int_equal(h.n, 1);
	assert_true(lvs_addr_eq(&h.last.p.caddr, &p.caddr));
	assert_int_equal(h.last.p.cport, p.cport);
	assert_ptr_equal(h.last.dest, &ds);
	assert_int_equal(expire_all(a, 0, T0 + SEC(120)), 1);
	assert_int_equal(h.n, 2);
	assert_true(h.last.p.flags & LVS_CONN_F_TEMPLATE);
	lvs_conn_table_free(a);
	lvs_conn_table_free(b);
}

/* A freed entry is not reused before every worker passed a quiescent
 * point: a lookup on another worker may still be standing on it. */
static void test_quiescent_reuse(void **state)
{
	(void)state;
	struct lvs_conn_table *t = lvs_conn_table_new(4, 2);
	struct lvs_conn_param p;
	struct lvs_conn *c[4], *n;

	for (int i = 0; i < 4; i++) {
		p = nat4("172.16.0.5", (uint16_t)(1000 + i));
		c[i] = lvs_conn_create(t, 0, &p, NULL, NULL, T0);
		assert_non_null(c[i]);
	}
	lvs_conn_quiescent(t, 0);
	lvs_conn_quiescent(t, 1);
	lvs_conn_expire_soon(t, c[2]);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(0.5)), 1);
	p = nat4("172.16.0.5", 2000);
	assert_null(lvs_conn_create(t, 0, &p, NULL, NULL, T0 + SEC(0.5)));
	for (int i = 0; i < 20; i++)
		lvs_conn_quiescent(t, 0);
	assert_null(lvs_conn_create(t, 0, &p, NULL, NULL, T0 + SEC(0.5)));
	assert_null(lvs_conn_create(t, 1, &p, NULL, NULL, T0 + SEC(0.5)));
	lvs_conn_quiescent(t, 1);
	n = lvs_conn_create(t, 0, &p, NULL, NULL, T0 + SEC(0.5));
	assert_ptr_equal(n, c[2]);
	assert_ptr_equal(find(t, &p), n);
	lvs_conn_table_free(t);
}

/* 1M entries: insert, find both ways, expire everything in bounded runs. */
static void test_million(void **state)
{
	(void)state;
	const uint32_t N = 1000000;
	struct lvs_conn_table *t = lvs_conn_table_new(N, 1);
	struct lvs_conn_param p = mkp(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.0", 0, "10.0.0.1",
				      53, "192.168.10.1", 53);
	uint32_t base = ntohl(p.caddr.ip4), found = 0, runs = 0, freed = 0;

	assert_non_null(t);
	for (uint32_t i = 0; i < N; i++) {
		p.caddr.ip4 = htonl(base + (i >> 4));
		p.cport = htons((uint16_t)(1024 + (i & 15)));
		if (!lvs_conn_create(t, 0, &p, NULL, NULL, T0))
			fail_msg("create %u failed", i);
	}
	assert_int_equal(lvs_conn_table_count(t), N);
	p.cport = htons(1);
	assert_null(lvs_conn_create(t, 0, &p, NULL, NULL, T0));
	for (uint32_t i = 0; i < N; i++) {
		p.caddr.ip4 = htonl(base + (i >> 4));
		p.cport = htons((uint16_t)(1024 + (i & 15)));
		struct lvs_conn *c = find(t, &p);
		found += c != NULL && find_out(t, &p) == c;
	}
	assert_int_equal(found, N);
	assert_int_equal(lvs_conn_expire_run(t, 0, T0 + SEC(299)), 0);
	for (;;) {
		unsigned r = lvs_conn_expire_run(t, 0, T0 + SEC(300));
		assert_true(r <= CONN_EXPIRE_BUDGET);
		freed += r;
		if (++runs > 2 * N / CONN_EXPIRE_BUDGET + 10 || freed == N)
			break;
	}
	assert_int_equal(freed, N);
	assert_int_equal(lvs_conn_table_count(t), 0);
	p.caddr.ip4 = htonl(base + 5);
	p.cport = htons(1024 + 3);
	assert_null(find(t, &p));
	assert_null(find_out(t, &p));
	lvs_conn_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_names_and_defaults),
		cmocka_unit_test(test_lookup_v4),
		cmocka_unit_test(test_lookup_v6),
		cmocka_unit_test(test_burst_lookup),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_tcp_nat_states),
		cmocka_unit_test(test_tcp_dr_states),
		cmocka_unit_test(test_timeouts_set),
		cmocka_unit_test(test_accounting_and_expiry),
		cmocka_unit_test(test_cross_worker_shorten),
		cmocka_unit_test(test_template_lifetime),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_import_and_hook),
		cmocka_unit_test(test_quiescent_reuse),
		cmocka_unit_test(test_million),
		cmocka_unit_test(test_v6_pool_full),
		cmocka_unit_test(test_create_pkt),
		cmocka_unit_test(test_hit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
