/*
 * test_director.c - the burst pipeline (lvs_director_process_burst) against
 * the packet-at-a-time one (lvs_director_process) on the same traffic.
 *
 * The burst path parses the common frame shape with its own fast parser,
 * overlaps the connection lookups of a burst, creates connections with the
 * first packet's state applied, and looks a miss up again only when its
 * buckets changed.  None of that may change what happens to a packet: two
 * directors with the same configuration get the same frames (valid ones,
 * mutated ones with and without a repaired IP checksum, IPv6, VLAN, ICMP
 * errors, fragments, NAT replies, flows whose SYN comes earlier in the same
 * burst), one in random-size bursts, one packet by packet, and every
 * verdict, drop reason, output frame, parse result, counter and the
 * connection table must come out the same.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "director.h"

#define BUFSZ 2048
#define HROOM LVS_PKT_HEADROOM
#define MAXB  40 /* more than LVS_DIRECTOR_BURST: chunking too */

static int t_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	memset(nh, 0, sizeof(*nh));
	nh->mac[0] = 2;
	nh->mac[5] = af == AF_INET ? dst->b[3] : dst->b[15];
	nh->src_mac[0] = 2;
	nh->src_mac[5] = 0xfe;
	nh->ifindex = 3;
	nh->mtu = 1500;
	/* one destination behind a VLAN: the Ethernet header changes size */
	if (af == AF_INET && dst->b[3] == 3)
		nh->vlan_tci = 42;
	return 0;
}

static int t_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)dst;
	*src = af == AF_INET ? t_ip4("10.1.0.254") : t_ip6("2001:db8:1::fe");
	return 0;
}

struct dir {
	struct lvs_model *m;
	struct lvs_director d;
	struct lvs_worker w;
};

static void add_svc(struct lvs_model *m, int af, uint8_t proto, const char *vip, uint16_t port,
                    const char *sched, uint32_t flags, uint8_t fwd, const char *const *dests,
                    int nd)
{
	struct lvs_svc_conf c;
	struct lvs_svc_key k;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.proto = proto;
	c.addr = af == AF_INET ? t_ip4(vip) : t_ip6(vip);
	c.port = htons(port);
	snprintf(c.sched, sizeof(c.sched), "%s", sched);
	c.flags = flags;
	lvs_svc_conf_defaults(&c);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	lvs_svc_conf_key(&c, &k);
	for (int i = 0; i < nd; i++) {
		struct lvs_dest_conf d;
		lvs_dest_conf_defaults(&d);
		d.af = (uint8_t)af;
		d.addr = af == AF_INET ? t_ip4(dests[i]) : t_ip6(dests[i]);
		d.port = htons(port == 53 ? 53 : 8080);
		d.fwd = fwd;
		d.weight = 1 + i;
		assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	}
}

static void dir_init(struct dir *x, uint32_t max_conns)
{
	static const char *const d4[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};
	static const char *const d6[] = {"2001:db8:1::1", "2001:db8:1::2"};

	memset(x, 0, sizeof(*x));
	x->m = lvs_model_new();
	assert_non_null(x->m);
	add_svc(x->m, AF_INET, IPPROTO_TCP, "10.0.0.1", 80, "rr", 0, LVS_FWD_ROUTE, d4, 3);
	add_svc(x->m, AF_INET, IPPROTO_TCP, "10.0.0.2", 80, "wlc", 0, LVS_FWD_MASQ, d4, 3);
	add_svc(x->m, AF_INET, IPPROTO_UDP, "10.0.0.3", 53, "wrr", 0, LVS_FWD_TUNNEL, d4, 2);
	add_svc(x->m, AF_INET, IPPROTO_TCP, "10.0.0.4", 443, "lc", LVS_SVC_F_PERSISTENT,
	        LVS_FWD_MASQ, d4, 3);
	add_svc(x->m, AF_INET6, IPPROTO_TCP, "2001:db8::1", 80, "rr", 0, LVS_FWD_ROUTE, d6, 2);
	x->d.model = x->m;
	/* small: the table fills up now and then */
	x->d.ct = lvs_conn_table_new(max_conns, 1);
	assert_non_null(x->d.ct);
	x->d.env.route = t_route;
	x->d.env.src_addr = t_src;
	x->w.d = &x->d;
}

static void dir_free(struct dir *x)
{
	lvs_conn_table_free(x->d.ct);
	lvs_model_free(x->m);
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static uint16_t csum16(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void ip4_fix(uint8_t *ip)
{
	uint32_t hl = (uint32_t)(ip[0] & 15) * 4;

	if (hl < 20)
		hl = 20;
	ip[10] = ip[11] = 0;
	uint16_t c = csum16(ip, hl);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* One frame of the traffic mix; returns its length. */
static uint32_t make_frame(uint8_t *f)
{
	static const char *const vips[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
	                                   "10.0.0.9"};
	uint32_t kind = rnd() % 100, off = 14, len;
	uint8_t *ip, *l4;
	bool v6 = kind >= 90, vlan = kind >= 86 && kind < 90;
	uint8_t proto = IPPROTO_TCP;
	uint16_t sport = (uint16_t)(1024 + rnd() % 24), dport = 80;
	uint32_t plen = rnd() % 3 ? 0 : rnd() % 40;

	memset(f, 0, 128);
	f[0] = 2;
	f[5] = 1;
	f[6] = 2;
	f[11] = 9;
	if (vlan) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[15] = 7;
		off = 18;
	}
	f[off - 2] = v6 ? 0x86 : 0x08;
	f[off - 1] = v6 ? 0xdd : 0x00;
	ip = f + off;
	if (v6) {
		union lvs_addr s = t_ip6("2001:db8:c::10"), d = t_ip6("2001:db8::1");
		s.b[15] = (uint8_t)(rnd() % 6);
		ip[0] = 0x60;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, s.b, 16);
		memcpy(ip + 24, d.b, 16);
		l4 = ip + 40;
	} else {
		union lvs_addr s = t_ip4("192.0.2.0"), d;
		uint32_t v = rnd() % 5;
		bool reply = kind >= 70 && kind < 80;

		s.b[3] = (uint8_t)(10 + rnd() % 8);
		d = t_ip4(vips[v]);
		if (v == 2) {
			proto = IPPROTO_UDP;
			dport = 53;
		}
		if (v == 3)
			dport = 443;
		if (reply) {
			/* a real server answering a client (NAT replies, or DR/TUN
			 * replies that are not ours) */
			union lvs_addr r = t_ip4("10.1.0.0");
			r.b[3] = (uint8_t)(1 + rnd() % 3);
			d = s;
			s = r;
			dport = sport;
			sport = rnd() % 2 ? 8080 : 53;
		}
		ip[0] = 0x45;
		ip[8] = (uint8_t)(rnd() % 8 ? 64 : 1 + rnd() % 2);
		ip[9] = proto;
		ip[4] = (uint8_t)rnd();
		ip[5] = (uint8_t)rnd();
		if (rnd() % 2)
			ip[6] = 0x40; /* DF */
		if (kind >= 80 && kind < 83) {
			/* a fragment: first or later */
			ip[6] |= 0x20;
			if (rnd() % 2)
				ip[7] = 8;
		}
		memcpy(ip + 12, s.b, 4);
		memcpy(ip + 16, d.b, 4);
		l4 = ip + 20;
		if (kind >= 83 && kind < 86) {
			/* an ICMP error quoting a packet toward a client */
			ip[9] = IPPROTO_ICMP;
			l4[0] = 3;
			l4[1] = (uint8_t)(rnd() % 2 ? 4 : 1);
			uint8_t *q = l4 + 8;
			q[0] = 0x45;
			q[3] = 40;
			q[8] = 64;
			q[9] = IPPROTO_TCP;
			memcpy(q + 12, d.b, 4);
			memcpy(q + 16, s.b, 4);
			q[20] = 0;
			q[21] = 80;
			q[22] = (uint8_t)(sport >> 8);
			q[23] = (uint8_t)sport;
			ip4_fix(q);
			len = 20 + 8 + 28;
			ip[2] = (uint8_t)(len >> 8);
			ip[3] = (uint8_t)len;
			uint16_t c = csum16(l4, len - 20);
			l4[2] = (uint8_t)(c >> 8);
			l4[3] = (uint8_t)c;
			ip4_fix(ip);
			return off + len;
		}
	}
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	if (proto == IPPROTO_TCP) {
		static const uint8_t flags[] = {0x02, 0x02, 0x10, 0x10, 0x10,
		                                0x18, 0x11, 0x04, 0x12};
		l4[12] = 0x50;
		l4[13] = flags[rnd() % sizeof(flags)];
		l4[16] = (uint8_t)rnd();
		l4[17] = (uint8_t)rnd();
		len = 20 + plen;
	} else {
		len = 8 + plen;
		l4[4] = (uint8_t)(len >> 8);
		l4[5] = (uint8_t)len;
		l4[6] = (uint8_t)(rnd() % 4 ? rnd() : 0); /* sometimes "no checksum" */
		l4[7] = (uint8_t)rnd();
	}
	if (v6) {
		ip[4] = (uint8_t)(len >> 8);
		ip[5] = (uint8_t)len;
		return off + 40 + len;
	}
	len += 20;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip4_fix(ip);
	return off + len + (rnd() % 4 ? 0 : 6); /* sometimes Ethernet padding */
}

/* Damage a frame: random bytes, and for some the IP checksum made right
 * again so the later checks are reached. */
static uint32_t mutate(uint8_t *f, uint32_t len)
{
	uint32_t n = 1 + rnd() % 3;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = rnd() % (len < 64 ? len : 64);
		if (rnd() % 2)
			f[at] ^= (uint8_t)(1u << (rnd() % 8));
		else
			f[at] = (uint8_t)rnd();
	}
	if (f[12] == 0x08 && f[13] == 0x00 && len >= 34 && rnd() % 2)
		ip4_fix(f + 14);
	if (rnd() % 8 == 0)
		len = rnd() % len;
	return len;
}

struct slot {
	uint8_t buf[BUFSZ];
	struct lvs_pkt p;
};

static void run_mix(uint32_t rounds, uint32_t max_conns, unsigned mutate_pct)
{
	static struct slot a[MAXB], b[MAXB];
	struct lvs_pkt *pa[MAXB];
	enum lvs_verdict va[MAXB];
	enum lvs_drop wa[MAXB];
	struct dir x, y;
	lvs_time_t now = LVS_NS_PER_SEC;

	dir_init(&x, max_conns);
	dir_init(&y, max_conns);
	for (uint32_t r = 0; r < rounds; r++) {
		unsigned n = 1 + rnd() % MAXB;

		for (unsigned i = 0; i < n; i++) {
			uint8_t f[128 + 64];
			uint32_t len = make_frame(f);
			if (rnd() % 100 < mutate_pct)
				len = mutate(f, len);
			memcpy(a[i].buf + HROOM, f, len);
			memcpy(b[i].buf + HROOM, f, len);
			lvs_pkt_init(&a[i].p, a[i].buf, BUFSZ, HROOM, len);
			lvs_pkt_init(&b[i].p, b[i].buf, BUFSZ, HROOM, len);
			pa[i] = &a[i].p;
		}
		lvs_director_process_burst(&x.w, pa, n, now, va, wa);
		for (unsigned i = 0; i < n; i++) {
			enum lvs_drop wb;
			enum lvs_verdict vb = lvs_director_process(&y.w, &b[i].p, now, &wb);

			assert_int_equal(va[i], vb);
			assert_int_equal(wa[i], wb);
			assert_int_equal(a[i].p.len, b[i].p.len);
			assert_int_equal(a[i].p.data - a[i].buf, b[i].p.data - b[i].buf);
			assert_memory_equal(a[i].p.data, b[i].p.data, a[i].p.len);
			assert_int_equal(a[i].p.ifindex, b[i].p.ifindex);
			assert_int_equal(a[i].p.flags, b[i].p.flags);
			assert_memory_equal(&a[i].p.pi, &b[i].p.pi, sizeof(a[i].p.pi));
		}
		if (rnd() % 4 == 0) {
			now += (lvs_time_t)(rnd() % 3000) * 1000000ull;
			lvs_worker_tick(&x.w, now);
			lvs_worker_tick(&y.w, now);
		}
		assert_int_equal(lvs_conn_table_count(x.d.ct), lvs_conn_table_count(y.d.ct));
	}
	assert_int_equal(x.w.rx, y.w.rx);
	assert_int_equal(x.w.tx, y.w.tx);
	assert_int_equal(x.w.pass, y.w.pass);
	assert_int_equal(x.w.dropped, y.w.dropped);
	assert_int_equal(x.w.conns_created, y.w.conns_created);
	assert_memory_equal(&x.w.drops, &y.w.drops, sizeof(x.w.drops));
	/* the mix must have reached every kind of verdict */
	assert_true(x.w.tx > 0 && x.w.pass > 0 && x.w.dropped > 0 && x.w.conns_created > 10);
	if (max_conns < 100)
		assert_true(x.w.drops.n[LVS_DROP_CONN_TABLE_FULL] > 0);
	else
		assert_true(x.w.tx > x.w.rx / 4);
	dir_free(&x);
	dir_free(&y);
}

static void test_burst_equals_single(void **state)
{
	(void)state;
	run_mix(3000, 4096, 0);
}

static void test_burst_equals_single_mutated(void **state)
{
	(void)state;
	run_mix(3000, 4096, 30);
}

static void test_burst_equals_single_table_full(void **state)
{
	(void)state;
	/* 40 entries for ~800 flows: creations fail (counted drops) mid-burst */
	run_mix(1500, 40, 10);
}

/* ---- flows to a failed server ---- */

/* An untagged IPv4 frame client -> vip with a valid IP checksum (the L4
 * checksum is not checked on the way through); returns its length. */
static uint32_t frame4_from(uint8_t *f, uint8_t proto, const char *src, uint16_t sport,
                            const char *dst, uint16_t dport, uint8_t tcp_flags)
{
	uint32_t l4 = proto == IPPROTO_TCP ? 20 : 8, tot = 20 + l4 + 4;
	uint8_t *th = t_eth_ip4(f, proto, src, dst, l4 + 4);

	th[0] = (uint8_t)(sport >> 8);
	th[1] = (uint8_t)sport;
	th[2] = (uint8_t)(dport >> 8);
	th[3] = (uint8_t)dport;
	if (proto == IPPROTO_TCP) {
		th[12] = 5 << 4;
		th[13] = tcp_flags;
		th[14] = 0xff;
	} else {
		th[5] = (uint8_t)(l4 + 4);
	}
	return 14 + tot;
}

static uint32_t frame4(uint8_t *f, uint8_t proto, uint16_t sport, const char *vip,
                       uint16_t dport, uint8_t tcp_flags)
{
	return frame4_from(f, proto, "192.0.2.10", sport, vip, dport, tcp_flags);
}

/* Which real server a frame went to (t_route puts the last address byte
 * in the next hop's MAC); 0 when it was not sent. */
static int sent_to(struct dir *x, uint8_t proto, uint16_t sport, const char *vip, uint16_t dport,
                   uint8_t tcp_flags)
{
	static uint8_t buf[BUFSZ];
	struct lvs_pkt p;
	enum lvs_drop why;
	uint32_t len = frame4(buf + HROOM, proto, sport, vip, dport, tcp_flags);

	lvs_pkt_init(&p, buf, BUFSZ, HROOM, len);
	if (lvs_director_process(&x->w, &p, 1000000000ull, &why) != LVS_V_TX)
		return 0;
	return p.data[5];
}

static void set_health(struct dir *x, uint8_t proto, const char *vip, uint16_t port,
                       int rs, uint16_t rport, enum lvs_dest_health h)
{
	struct lvs_svc_key k;
	struct lvs_dest_conf d;
	char a[32];

	memset(&k, 0, sizeof(k));
	k.af = AF_INET;
	k.proto = proto;
	k.addr = t_ip4(vip);
	k.port = htons(port);
	memset(&d, 0, sizeof(d));
	d.af = AF_INET;
	snprintf(a, sizeof(a), "10.1.0.%d", rs);
	d.addr = t_ip4(a);
	d.port = htons(rport);
	assert_int_equal(lvs_model_set_dest_health(x->m, &k, &d, h, "test"), 0);
}

/* A UDP flow leaves a server that failed (removed, or quiesced under
 * inhibit_on_failure) at its next datagram; a TCP connection stays with
 * its server (expire_nodest_conn=0, the kernel's default). */
static void test_udp_moves_off_failed_server(void **state)
{
	struct dir x;
	int first, again;

	(void)state;
	dir_init(&x, 1024);
	first = sent_to(&x, IPPROTO_UDP, 40000, "10.0.0.3", 53, 0);
	assert_true(first == 1 || first == 2);
	assert_int_equal(sent_to(&x, IPPROTO_UDP, 40000, "10.0.0.3", 53, 0), first);
	set_health(&x, IPPROTO_UDP, "10.0.0.3", 53, first, 53, LVS_DEST_DOWN);
	again = sent_to(&x, IPPROTO_UDP, 40000, "10.0.0.3", 53, 0);
	assert_int_equal(again, 3 - first);
	assert_int_equal(x.w.udp_moved, 1);
	/* and it stays there */
	assert_int_equal(sent_to(&x, IPPROTO_UDP, 40000, "10.0.0.3", 53, 0), 3 - first);
	/* quiesced (weight 0, still listed): moves too */
	set_health(&x, IPPROTO_UDP, "10.0.0.3", 53, first, 53, LVS_DEST_UP);
	set_health(&x, IPPROTO_UDP, "10.0.0.3", 53, 3 - first, 53, LVS_DEST_QUIESCED);
	assert_int_equal(sent_to(&x, IPPROTO_UDP, 40000, "10.0.0.3", 53, 0), first);
	assert_int_equal(x.w.udp_moved, 2);

	/* TCP: the connection keeps its server */
	first = sent_to(&x, IPPROTO_TCP, 41000, "10.0.0.1", 80, 0x02);
	assert_true(first >= 1 && first <= 3);
	set_health(&x, IPPROTO_TCP, "10.0.0.1", 80, first, 80, LVS_DEST_DOWN);
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 41000, "10.0.0.1", 80, 0x10), first);
	assert_int_equal(x.w.udp_moved, 2);
	dir_free(&x);
}

/* VRRP's addresses: a BACKUP director forwards nothing for them, new
 * flows and known connections alike (counted as vip_standby); once its
 * instance holds them it forwards both, and addresses VRRP does not
 * manage are never affected. */
static void test_standby_addresses(void **state)
{
	uint8_t af[2] = {AF_INET, AF_INET};
	union lvs_addr a[2] = {t_ip4("10.0.0.1"), t_ip4("10.0.0.1")};
	struct lvs_standby *s;
	struct lvs_standby_entry *e;
	struct dir x;
	int first;

	(void)state;
	dir_init(&x, 1024);
	first = sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.1", 80, 0x02);
	assert_true(first >= 1 && first <= 3);
	s = lvs_standby_new(af, a, 2);
	assert_non_null(s);
	assert_int_equal(s->n, 1); /* duplicates folded */
	assert_null(lvs_director_set_standby(&x.d, s));
	e = lvs_standby_find(s, AF_INET, &a[0]);
	assert_non_null(e);
	/* not held: the known connection and a new flow are dropped */
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.1", 80, 0x10), 0);
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42001, "10.0.0.1", 80, 0x02), 0);
	assert_int_equal(x.w.drops.n[LVS_DROP_VIP_STANDBY], 2);
	/* another service's address is not VRRP's */
	assert_int_not_equal(sent_to(&x, IPPROTO_TCP, 42002, "10.0.0.2", 80, 0x02), 0);
	/* held: both go, the connection to its server */
	lvs_standby_hold(e, true);
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.1", 80, 0x10), first);
	assert_int_not_equal(sent_to(&x, IPPROTO_TCP, 42001, "10.0.0.1", 80, 0x02), 0);
	assert_int_equal(x.w.drops.n[LVS_DROP_VIP_STANDBY], 2);
	assert_ptr_equal(lvs_director_set_standby(&x.d, NULL), s);
	free(s);
	dir_free(&x);
}

static struct lvs_dest_state *dest_state(struct dir *x, const char *vip, uint16_t port, int rs)
{
	union lvs_addr v = t_ip4(vip);
	struct lvs_service *svc =
	        lvs_svc_lookup(lvs_model_snapshot(x->m), AF_INET, IPPROTO_TCP, &v, htons(port), 0);

	assert_non_null(svc);
	for (uint32_t i = 0; i < svc->ndests; i++)
		if (svc->dests[i]->c.addr.b[3] == rs)
			return svc->dests[i]->st;
	fail();
	return NULL;
}

/* Passive detection's raw signals (NAT, where the server's side is seen):
 * a client's SYN again before any answer from the server is a failed
 * handshake, and so is the server's RST; a SYN-ACK then the client's ACK
 * is a completed one, which ends the run of failures. */
static void test_handshake_accounting(void **state)
{
	static uint8_t buf[BUFSZ];
	struct dir x;
	struct lvs_dest_state *ds;
	struct lvs_pkt p;
	enum lvs_drop why;
	char rs[32];
	int a, b;

	(void)state;
	dir_init(&x, 1024);
	a = sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.2", 80, 0x02);
	assert_true(a >= 1 && a <= 3);
	ds = dest_state(&x, "10.0.0.2", 80, a);
	assert_int_equal(ds->hs_fail, 0);
	/* the client's SYN again: no SYN-ACK came */
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.2", 80, 0x02), a);
	assert_int_equal(ds->hs_fail, 1);
	assert_int_equal(ds->hs_fail_run, 1);
	/* once per connection */
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42000, "10.0.0.2", 80, 0x02), a);
	assert_int_equal(ds->hs_fail, 1);

	/* another flow: the server answers, the client's ACK completes it */
	b = sent_to(&x, IPPROTO_TCP, 42001, "10.0.0.2", 80, 0x02);
	ds = dest_state(&x, "10.0.0.2", 80, b);
	uint64_t fails = ds->hs_fail;
	snprintf(rs, sizeof(rs), "10.1.0.%d", b);
	lvs_pkt_init(&p, buf, BUFSZ, HROOM,
	             frame4_from(buf + HROOM, IPPROTO_TCP, rs, 8080, "192.0.2.10", 42001, 0x12));
	assert_int_equal(lvs_director_process(&x.w, &p, 1000000000ull, &why), LVS_V_TX);
	/* a SYN again after the answer is no failure */
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42001, "10.0.0.2", 80, 0x02), b);
	assert_int_equal(ds->hs_fail, fails);
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42001, "10.0.0.2", 80, 0x10), b);
	assert_int_equal(ds->hs_ok, 1);
	assert_int_equal(ds->hs_fail_run, 0);

	/* the server resets a new connection */
	b = sent_to(&x, IPPROTO_TCP, 42002, "10.0.0.2", 80, 0x02);
	ds = dest_state(&x, "10.0.0.2", 80, b);
	fails = ds->hs_fail;
	snprintf(rs, sizeof(rs), "10.1.0.%d", b);
	lvs_pkt_init(&p, buf, BUFSZ, HROOM,
	             frame4_from(buf + HROOM, IPPROTO_TCP, rs, 8080, "192.0.2.10", 42002, 0x14));
	lvs_director_process(&x.w, &p, 1000000000ull, &why);
	assert_int_equal(ds->hs_fail, fails + 1);

	/* DR: the server's side is not seen; a SYN again counts nothing */
	a = sent_to(&x, IPPROTO_TCP, 42003, "10.0.0.1", 80, 0x02);
	ds = dest_state(&x, "10.0.0.1", 80, a);
	assert_int_equal(sent_to(&x, IPPROTO_TCP, 42003, "10.0.0.1", 80, 0x02), a);
	assert_int_equal(ds->hs_fail, 0);
	dir_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_burst_equals_single),
	        cmocka_unit_test(test_burst_equals_single_mutated),
	        cmocka_unit_test(test_burst_equals_single_table_full),
	        cmocka_unit_test(test_udp_moves_off_failed_server),
	        cmocka_unit_test(test_standby_addresses),
	        cmocka_unit_test(test_handshake_accounting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
