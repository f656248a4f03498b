/*
 * test_holdq.c - the workers' hold queue for frames whose next hop is not
 * resolved yet (src/net/holdq.c, included here: the daemon's objects are
 * not in liblvs), driven like lvsd's worker loop drives it, with the real
 * director, model and connection table and a routing environment whose
 * neighbours resolve when a test says so.
 *
 * Checked: a held frame is sent when the neighbour generation changes and
 * the next hop is resolved, to the server its first run chose; retried but
 * still unresolved it stays; after LVS_HOLDQ_TIMEOUT_NS its last run
 * decides (a drop is next_hop_unresolved); the per next hop and queue
 * bounds push the oldest out (finally dropped, counted); NAT replies and
 * ICMP errors are held the same way; every frame is counted once for its
 * arrival (worker rx, the service's / server's packets and bytes) and
 * once for its fate, however often it was retried.
 */
#include "xmit_frames.h"

#include "director.h"
#include "holdq.c"

#define T0 (1000 * LVS_NS_PER_SEC)
#define MS (1000 * 1000ull)

static struct lvs_model *model;
static struct lvs_director dir;
static struct lvs_worker w;
static struct lvs_holdq *q;
static bool res_servers, res_clients;
static unsigned nroutes;

/* Servers are 10.1.0.0/16 and 2001:db8:1::/48, anything else a client
 * (or a router on the client side). */
static bool is_server(int af, const union lvs_addr *a)
{
	return af == AF_INET ? (ntohl(a->ip4) >> 16) == 0x0a01 : a->b[5] == 0x01;
}

static int hq_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	bool server = is_server(af, dst);

	(void)ctx;
	nroutes++;
	if (!(server ? res_servers : res_clients))
		return -EAGAIN;
	memcpy(nh->mac, server ? MAC_RS1 : MAC_GW, 6);
	memcpy(nh->src_mac, MAC_US, 6);
	nh->ifindex = server ? 2 : 1;
	nh->mtu = 0; /* not enforced: big frames may go too */
	return 0;
}

/* What the tx callback was given. */
struct sent {
	uint8_t data[2048];
	uint32_t len, ifindex;
};
static struct sent sent[LVS_HOLDQ_MAX + 8];
static unsigned nsent;

static void cap_tx(void *arg, struct lvs_pkt *const *pkts, unsigned n)
{
	assert_ptr_equal(arg, &w);
	for (unsigned i = 0; i < n; i++) {
		assert_true(nsent < sizeof(sent) / sizeof(sent[0]));
		sent[nsent].len = pkts[i]->len;
		sent[nsent].ifindex = pkts[i]->ifindex;
		memcpy(sent[nsent].data, pkts[i]->data,
		       pkts[i]->len < sizeof(sent[0].data) ? pkts[i]->len : sizeof(sent[0].data));
		nsent++;
	}
}

/* Parse sent frame i (a small one) into *p. */
static void parse_sent(unsigned i, struct lvs_pkt *p)
{
	assert_true(i < nsent);
	assert_true(sent[i].len <= sizeof(sent[i].data));
	lvs_pkt_init(p, sent[i].data, sizeof(sent[i].data), 0, sent[i].len);
	assert_int_equal(lvs_pkt_parse(p), LVS_DROP_NONE);
	verify_ip(p->data + p->pi.l3_off, p->len - p->pi.l3_off, true);
}

static void add_svc(int af, uint8_t proto, const char *vip, uint16_t port)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.proto = proto;
	c.addr = A(af, vip);
	c.port = htons(port);
	snprintf(c.sched, sizeof(c.sched), "rr");
	assert_int_equal(lvs_model_add_service(model, &c), 0);
}

static void add_dest(int af, uint8_t proto, const char *vip, uint16_t port, const char *rip,
                     uint16_t rport)
{
	struct lvs_svc_conf c;
	struct lvs_svc_key k;
	struct lvs_dest_conf d;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.proto = proto;
	c.addr = A(af, vip);
	c.port = htons(port);
	lvs_svc_conf_key(&c, &k);
	lvs_dest_conf_defaults(&d);
	d.af = (uint8_t)af;
	d.addr = A(af, rip);
	d.port = htons(rport);
	d.fwd = LVS_FWD_MASQ;
	assert_int_equal(lvs_model_add_dest(model, &k, &d), 0);
}

static int hq_setup(void **state)
{
	char rip[32];

	setup(state);
	model = lvs_model_new();
	assert_non_null(model);
	add_svc(AF_INET, IPPROTO_UDP, V4, 53);
	add_dest(AF_INET, IPPROTO_UDP, V4, 53, D4, 5353);
	add_svc(AF_INET, IPPROTO_TCP, V4, 80);
	add_dest(AF_INET, IPPROTO_TCP, V4, 80, D4, 8080);
	add_svc(AF_INET6, IPPROTO_TCP, V6, 80);
	add_dest(AF_INET6, IPPROTO_TCP, V6, 80, D6, 8080);
	/* one server per flow (rr), more than the queue holds */
	add_svc(AF_INET, IPPROTO_UDP, V4, 54);
	for (int i = 1; i <= LVS_HOLDQ_MAX + 6; i++) {
		snprintf(rip, sizeof(rip), "10.1.1.%d", i);
		add_dest(AF_INET, IPPROTO_UDP, V4, 54, rip, 5353);
	}
	memset(&dir, 0, sizeof(dir));
	dir.model = model;
	dir.ct = lvs_conn_table_new(4096, 1);
	assert_non_null(dir.ct);
	dir.env = env;
	dir.env.route = hq_route;
	memset(&w, 0, sizeof(w));
	w.d = &dir;
	q = lvs_holdq_new(&w, cap_tx, &w);
	assert_non_null(q);
	res_servers = res_clients = false;
	nroutes = 0;
	nsent = 0;
	return 0;
}

static int hq_teardown(void **state)
{
	(void)state;
	lvs_holdq_free(q);
	lvs_conn_table_free(dir.ct);
	lvs_model_free(model);
	return 0;
}

/* The worker loop's handling of one received frame. */
static enum lvs_verdict rx(struct lvs_pkt *p, lvs_time_t now)
{
	struct lvs_pkt *pp = p;
	enum lvs_verdict v;
	enum lvs_drop why;

	lvs_director_process_burst(&w, &pp, 1, now, &v, &why);
	if (v == LVS_V_TX)
		cap_tx(&w, &pp, 1);
	else if (v == LVS_V_DROP && why == LVS_DROP_NO_NEIGH)
		assert_true(lvs_holdq_add(q, p, now));
	return v;
}

static struct lvs_pkt *udp_in(uint16_t sport, uint16_t dport, uint16_t plen)
{
	struct spec s = {.af = AF_INET,
	                 .proto = IPPROTO_UDP,
	                 .src = C4,
	                 .dst = V4,
	                 .sport = sport,
	                 .dport = dport,
	                 .plen = plen};

	return build(&s);
}

static struct lvs_pkt *tcp(int af, const char *src, const char *dst, uint16_t sport, uint16_t dport,
                           uint8_t flags)
{
	struct spec s = {.af = af,
	                 .proto = IPPROTO_TCP,
	                 .src = src,
	                 .dst = dst,
	                 .sport = sport,
	                 .dport = dport,
	                 .tcp_flags = flags,
	                 .plen = 10};

	return build(&s);
}

static struct lvs_dest_state *dest_state(int af, uint8_t proto, uint16_t vport, const char *rip)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(model);
	union lvs_addr a = A(af, rip);

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		if (svc->c.af != af || svc->c.proto != proto || svc->c.port != htons(vport))
			continue;
		for (uint32_t j = 0; j < svc->ndests; j++)
			if (lvs_addr_eq(&svc->dests[j]->c.addr, &a))
				return svc->dests[j]->st;
	}
	fail();
	return NULL;
}

static struct lvs_counters dcnt(struct lvs_dest_state *ds)
{
	struct lvs_counters c;

	lvs_dest_state_stats(ds, &c);
	return c;
}

static struct lvs_counters scnt(struct lvs_dest_state *ds)
{
	struct lvs_counters c;

	lvs_svc_state_stats(ds->svc, &c);
	return c;
}

static struct lvs_holdq_stats hstats(void)
{
	struct lvs_holdq_stats st;

	lvs_holdq_get_stats(q, &st);
	return st;
}

static void assert_worker(uint64_t rxn, uint64_t txn, uint64_t unresolved)
{
	assert_int_equal(w.rx, rxn);
	assert_int_equal(w.tx, txn);
	assert_int_equal(w.drops.n[LVS_DROP_NO_NEIGH], unresolved);
	assert_int_equal(w.dropped, unresolved);
}

/* ------------------------------------------------------------------ */

static void test_held_until_resolved(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_UDP, 53, D4);
	struct lvs_pkt *p, o;
	uint8_t payload[64];
	uint32_t l3len;

	(void)state;
	lvs_holdq_run(q, 0, T0);
	p = udp_in(40000, 53, 40);
	l3len = p->pi.l3_len;
	memcpy(payload, p->data + p->pi.l4_off + 8, 40);
	assert_int_equal(rx(p, T0), LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), 1);
	assert_true(nroutes >= 1);
	/* counted as arrived (as the kernel does), not as dropped */
	assert_worker(1, 0, 0);
	assert_int_equal(dcnt(ds).conns, 1);
	assert_int_equal(dcnt(ds).inpkts, 1);
	assert_int_equal(dcnt(ds).inbytes, l3len);
	assert_int_equal(scnt(ds).inpkts, 1);
	/* the receive buffer is reused: the queue has its own copy */
	memset(fr.buf, 0, sizeof(fr.buf));

	/* nothing new: no director run at all */
	lvs_holdq_run(q, 0, T0 + 5 * MS);
	assert_int_equal(w.rx, 1);
	/* resolved, but the generation says nothing yet */
	res_servers = true;
	lvs_holdq_run(q, 0, T0 + 6 * MS);
	assert_int_equal(nsent, 0);
	lvs_holdq_run(q, 1, T0 + 7 * MS);
	assert_int_equal(nsent, 1);
	assert_int_equal(lvs_holdq_len(q), 0);
	parse_sent(0, &o);
	assert_int_equal(sent[0].ifindex, 2);
	assert_memory_equal(o.data, MAC_RS1, 6);
	assert_ip_addrs(&o, C4, D4);
	assert_int_equal(o.pi.sport, htons(40000));
	assert_int_equal(o.pi.dport, htons(5353));
	assert_memory_equal(o.data + o.pi.l4_off + 8, payload, 40);
	/* counted once */
	assert_worker(1, 1, 0);
	assert_int_equal(dcnt(ds).conns, 1);
	assert_int_equal(dcnt(ds).inpkts, 1);
	assert_int_equal(dcnt(ds).inbytes, l3len);
	assert_int_equal(scnt(ds).inpkts, 1);
	assert_int_equal(scnt(ds).inbytes, l3len);
	assert_int_equal(hstats().held, 1);
	assert_int_equal(hstats().sent, 1);
	assert_int_equal(hstats().expired, 0);

	/* the flow's next datagram goes straight through */
	assert_int_equal(rx(udp_in(40000, 53, 40), T0 + 8 * MS), LVS_V_TX);
	assert_int_equal(dcnt(ds).inpkts, 2);
	assert_int_equal(dcnt(ds).conns, 1);
}

static void test_retried_then_timed_out(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_UDP, 53, D4);
	unsigned before;

	(void)state;
	lvs_holdq_run(q, 7, T0);
	assert_int_equal(rx(udp_in(40000, 53, 10), T0), LVS_V_DROP);
	/* another neighbour resolved: retried, still waiting, not counted */
	before = nroutes;
	lvs_holdq_run(q, 8, T0 + 100 * MS);
	assert_true(nroutes > before);
	assert_int_equal(lvs_holdq_len(q), 1);
	assert_worker(1, 0, 0);
	assert_int_equal(dcnt(ds).inpkts, 1);
	assert_int_equal(scnt(ds).inpkts, 1);
	assert_int_equal(hstats().held, 1);
	/* the same generation again: nothing to retry before the time is up */
	before = nroutes;
	lvs_holdq_run(q, 8, T0 + LVS_HOLDQ_TIMEOUT_NS - 1);
	assert_int_equal(nroutes, before);
	assert_int_equal(lvs_holdq_len(q), 1);
	/* time is up: the last run drops it, counted as without the queue */
	lvs_holdq_run(q, 8, T0 + LVS_HOLDQ_TIMEOUT_NS);
	assert_int_equal(lvs_holdq_len(q), 0);
	assert_int_equal(nsent, 0);
	assert_worker(1, 0, 1);
	assert_int_equal(dcnt(ds).inpkts, 1);
	assert_int_equal(dcnt(ds).conns, 1);
	assert_int_equal(hstats().expired, 1);
	assert_int_equal(hstats().sent, 0);
}

static void test_last_run_may_send(void **state)
{
	(void)state;
	lvs_holdq_run(q, 3, T0);
	assert_int_equal(rx(udp_in(40000, 53, 10), T0), LVS_V_DROP);
	/* resolved without a generation change (nothing told us) */
	res_servers = true;
	lvs_holdq_run(q, 3, T0 + LVS_HOLDQ_TIMEOUT_NS);
	assert_int_equal(nsent, 1);
	assert_int_equal(lvs_holdq_len(q), 0);
	assert_worker(1, 1, 0);
	assert_int_equal(hstats().expired, 1);
	assert_int_equal(hstats().sent, 1);
}

static void test_per_hop_limit(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_UDP, 53, D4);
	struct lvs_pkt o;

	(void)state;
	lvs_holdq_run(q, 0, T0);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(rx(udp_in((uint16_t)(40001 + i), 53, 10), T0 + i * MS),
		                 LVS_V_DROP);
	/* three per next hop: the two oldest had their last run */
	assert_int_equal(lvs_holdq_len(q), LVS_HOLDQ_PER_HOP);
	assert_int_equal(hstats().overflow, 2);
	assert_worker(5, 0, 2);
	assert_int_equal(dcnt(ds).conns, 5);
	assert_int_equal(dcnt(ds).inpkts, 5);
	res_servers = true;
	lvs_holdq_run(q, 1, T0 + 10 * MS);
	assert_int_equal(nsent, 3);
	for (unsigned i = 0; i < 3; i++) {
		parse_sent(i, &o);
		assert_int_equal(o.pi.sport, htons((uint16_t)(40003 + i)));
	}
	assert_worker(5, 3, 2);
	assert_int_equal(dcnt(ds).inpkts, 5);
}

static void test_queue_limit(void **state)
{
	unsigned n = LVS_HOLDQ_MAX + 6;
	struct lvs_pkt o;

	(void)state;
	lvs_holdq_run(q, 0, T0);
	/* rr: every flow to another server, so no per next hop limit */
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(rx(udp_in((uint16_t)(41000 + i), 54, 10), T0 + i * MS),
		                 LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), LVS_HOLDQ_MAX);
	assert_int_equal(hstats().overflow, 6);
	assert_worker(n, 0, 6);
	res_servers = true;
	lvs_holdq_run(q, 1, T0 + 100 * MS);
	assert_int_equal(nsent, LVS_HOLDQ_MAX);
	/* the newest were kept, and leave in the order they came */
	for (unsigned i = 0; i < LVS_HOLDQ_MAX; i++) {
		parse_sent(i, &o);
		assert_int_equal(o.pi.sport, htons((uint16_t)(41006 + i)));
	}
	assert_worker(n, LVS_HOLDQ_MAX, 6);
	assert_int_equal(lvs_holdq_len(q), 0);
}

static void test_byte_limit(void **state)
{
	uint32_t plen = 60000, size = HQ_HEADROOM + 14 + 20 + 8 + plen + HQ_TAILROOM;
	unsigned fit = LVS_HOLDQ_MAX_BYTES / size;

	(void)state;
	assert_true(fit > 1 && fit + 3 < LVS_HOLDQ_MAX);
	lvs_holdq_run(q, 0, T0);
	for (unsigned i = 0; i < fit + 3; i++)
		assert_int_equal(rx(udp_in((uint16_t)(42000 + i), 54, (uint16_t)plen), T0),
		                 LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), fit);
	assert_int_equal(hstats().overflow, 3);
	assert_true(q->bytes <= LVS_HOLDQ_MAX_BYTES);
	res_servers = true;
	lvs_holdq_run(q, 1, T0 + MS);
	assert_int_equal(nsent, fit);
	assert_int_equal(sent[0].len, 14 + 20 + 8 + plen);
	assert_int_equal(q->bytes, 0);
}

static void test_nat_reply_held(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_TCP, 80, D4);
	struct lvs_pkt *p, o;
	uint32_t l3len;

	(void)state;
	res_servers = true;
	lvs_holdq_run(q, 0, T0);
	assert_int_equal(rx(tcp(AF_INET, C4, V4, 40000, 80, 0x02), T0), LVS_V_TX);
	/* the server answers; the client's MAC is not known */
	p = tcp(AF_INET, D4, C4, 8080, 40000, 0x12);
	l3len = p->pi.l3_len;
	assert_int_equal(rx(p, T0 + MS), LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), 1);
	assert_int_equal(dcnt(ds).outpkts, 1);
	assert_int_equal(dcnt(ds).outbytes, l3len);
	assert_int_equal(scnt(ds).outpkts, 1);
	assert_worker(2, 1, 0);
	res_clients = true;
	lvs_holdq_run(q, 1, T0 + 2 * MS);
	assert_int_equal(nsent, 2);
	parse_sent(1, &o);
	assert_int_equal(sent[1].ifindex, 1);
	assert_memory_equal(o.data, MAC_GW, 6);
	assert_ip_addrs(&o, V4, C4);
	assert_int_equal(o.pi.sport, htons(80));
	assert_int_equal(o.pi.tcp_flags, 0x12);
	assert_int_equal(dcnt(ds).outpkts, 1);
	assert_int_equal(dcnt(ds).outbytes, l3len);
	assert_int_equal(dcnt(ds).inpkts, 1);
	assert_worker(2, 2, 0);
}

/*
 * An ICMP error for a NAT connection whose next hop is unknown: input
 * (from the client's side, quoting what we sent the client: it goes to
 * the server) or output (from the server's side, quoting what we sent the
 * server: it goes to the client).
 */
static void icmp_error_held(bool input)
{
	static uint8_t ip[300];
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_TCP, 80, D4);
	struct spec quoted = {.af = AF_INET,
	                      .proto = IPPROTO_TCP,
	                      .src = input ? V4 : C4,
	                      .dst = input ? C4 : D4,
	                      .sport = input ? 80 : 40000,
	                      .dport = input ? 40000 : 8080,
	                      .tcp_flags = input ? 0x12 : 0x10};
	struct spec err = {.af = AF_INET,
	                   .proto = IPPROTO_ICMP,
	                   .src = input ? "198.51.100.1" : "10.1.0.254",
	                   .dst = input ? V4 : C4,
	                   .icmp_type = 3,
	                   .icmp_code = 4};
	uint8_t qip[100], *ic = ip + 20;
	struct lvs_pkt o;
	uint32_t qlen, n, l3len;
	uint64_t inb;

	res_servers = res_clients = true;
	lvs_holdq_run(q, 0, T0);
	assert_int_equal(rx(tcp(AF_INET, C4, V4, 40000, 80, 0x02), T0), LVS_V_TX);
	if (input)
		res_servers = false;
	else
		res_clients = false;
	qlen = build_ip(qip, &quoted);
	err.plen = (uint16_t)qlen;
	n = build_ip(ip, &err);
	memcpy(ic + 8, qip, qlen);
	r_put16(ic + 2, 0);
	r_put16(ic + 6, 1400);
	r_put16(ic + 2, (uint16_t)~r_fold(r_sum(ic, 8 + qlen, 0)));
	l3len = n;
	assert_int_equal(rx(frame_of_ip(&fr, ip, n, 0), T0 + MS), LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), 1);
	assert_int_equal(dcnt(ds).inpkts, input ? 2 : 1);
	assert_int_equal(dcnt(ds).outpkts, input ? 0 : 1);
	assert_worker(2, 1, 0);
	inb = dcnt(ds).inbytes;
	res_servers = res_clients = true;
	lvs_holdq_run(q, 1, T0 + 2 * MS);
	assert_int_equal(nsent, 2);
	parse_sent(1, &o);
	assert_int_equal(o.pi.proto, IPPROTO_ICMP);
	if (input) {
		assert_ip_addrs(&o, "198.51.100.1", D4);
		assert_int_equal(dcnt(ds).inpkts, 2);
		assert_int_equal(dcnt(ds).inbytes, inb);
		assert_true(inb > l3len);
	} else {
		/* the outer source becomes the VIP, as for the replies */
		assert_ip_addrs(&o, V4, C4);
		assert_int_equal(dcnt(ds).outpkts, 1);
		assert_int_equal(dcnt(ds).outbytes, l3len);
		assert_int_equal(dcnt(ds).inpkts, 1);
	}
	assert_worker(2, 2, 0);
}

static void test_icmp_error_held(void **state)
{
	(void)state;
	icmp_error_held(true);
}

static void test_icmp_error_out_held(void **state)
{
	(void)state;
	icmp_error_held(false);
}

static void test_ipv6_syn(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET6, IPPROTO_TCP, 80, D6);
	union lvs_addr d6 = t_ip6(D6);
	struct lvs_pkt o;

	(void)state;
	lvs_holdq_run(q, 0, T0);
	assert_int_equal(rx(tcp(AF_INET6, C6, V6, 40000, 80, 0x02), T0), LVS_V_DROP);
	/* a retransmitted SYN waits behind it, on the same next hop */
	assert_int_equal(rx(tcp(AF_INET6, C6, V6, 40000, 80, 0x02), T0 + 500 * MS), LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), 2);
	assert_int_equal(q->e[0].kaf, AF_INET6);
	assert_true(lvs_addr_eq(&q->e[0].key, &d6));
	assert_int_equal(dcnt(ds).conns, 1);
	assert_int_equal(dcnt(ds).inpkts, 2);
	res_servers = true;
	lvs_holdq_run(q, 1, T0 + 600 * MS);
	assert_int_equal(nsent, 2);
	parse_sent(0, &o);
	assert_ip_addrs(&o, C6, D6);
	assert_int_equal(o.pi.dport, htons(8080));
	assert_int_equal(dcnt(ds).conns, 1);
	assert_int_equal(dcnt(ds).inpkts, 2);
	assert_worker(2, 2, 0);
}

static void test_drop_all(void **state)
{
	struct lvs_dest_state *ds = dest_state(AF_INET, IPPROTO_UDP, 53, D4);

	(void)state;
	lvs_holdq_run(q, 0, T0);
	assert_int_equal(rx(udp_in(40000, 53, 10), T0), LVS_V_DROP);
	assert_int_equal(rx(udp_in(40001, 53, 10), T0), LVS_V_DROP);
	assert_int_equal(lvs_holdq_len(q), 2);
	lvs_holdq_drop_all(q);
	assert_int_equal(lvs_holdq_len(q), 0);
	assert_worker(2, 0, 2);
	assert_int_equal(dcnt(ds).inpkts, 2);
	assert_int_equal(nsent, 0);
	/* nothing left to run */
	res_servers = true;
	lvs_holdq_run(q, 1, T0 + 2 * LVS_HOLDQ_TIMEOUT_NS);
	assert_int_equal(nsent, 0);
	assert_int_equal(w.rx, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_held_until_resolved, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_retried_then_timed_out, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_last_run_may_send, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_per_hop_limit, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_queue_limit, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_byte_limit, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_nat_reply_held, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_icmp_error_held, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_icmp_error_out_held, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6_syn, hq_setup, hq_teardown),
	        cmocka_unit_test_setup_teardown(test_drop_all, hq_setup, hq_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
