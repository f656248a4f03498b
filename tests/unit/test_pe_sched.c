/*
 * test_pe_sched.c - scheduling under the SIP persistence engine, as the
 * kernel's ip_vs_sched_persist with ip_vs_pe_sip: a persistent UDP
 * service with --pe sip keys its templates on the client's network and
 * the Call-ID, so datagrams of one call reach one real server from any
 * client port (or any client of the persistence netmask), different calls
 * are scheduled apart, a datagram without a Call-ID is dropped
 * (persistence_engine_no_data), and the templates carry the Call-ID in
 * the table's views (listings, sync).
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "director.h"
#include "pe.h"

#define BUFSZ 2048
#define HROOM LVS_PKT_HEADROOM

static int t_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	(void)af;
	memset(nh, 0, sizeof(*nh));
	nh->mac[0] = 2;
	nh->mac[5] = dst->b[3]; /* the server's last byte names it */
	nh->src_mac[0] = 2;
	nh->ifindex = 3;
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

struct env {
	struct lvs_model *m;
	struct lvs_director d;
	struct lvs_worker w;
};

/* UDP VIP:5060, rr over 4 servers, -p 60 [-M mask] --pe sip [-o] */
static void env_init(struct env *x, uint32_t mask, uint32_t flags, uint8_t pe)
{
	struct lvs_svc_conf c;
	struct lvs_svc_key k;

	memset(x, 0, sizeof(*x));
	x->m = lvs_model_new();
	assert_non_null(x->m);
	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.proto = IPPROTO_UDP;
	c.addr = t_ip4("10.0.0.5");
	c.port = htons(5060);
	snprintf(c.sched, sizeof(c.sched), "rr");
	c.flags = LVS_SVC_F_PERSISTENT | flags;
	c.timeout = 60;
	c.netmask = mask;
	c.pe = pe;
	lvs_svc_conf_defaults(&c);
	assert_int_equal(lvs_model_add_service(x->m, &c), 0);
	lvs_svc_conf_key(&c, &k);
	for (int i = 1; i <= 4; i++) {
		struct lvs_dest_conf d;
		char a[32];

		lvs_dest_conf_defaults(&d);
		d.af = AF_INET;
		snprintf(a, sizeof(a), "10.1.0.%d", i);
		d.addr = t_ip4(a);
		d.port = htons(5060);
		d.fwd = LVS_FWD_MASQ;
		assert_int_equal(lvs_model_add_dest(x->m, &k, &d), 0);
	}
	x->d.model = x->m;
	x->d.ct = lvs_conn_table_new(1024, 1);
	assert_non_null(x->d.ct);
	x->d.env.route = t_route;
	x->d.env.src_addr = t_src;
	x->w.d = &x->d;
}

static void env_free(struct env *x)
{
	lvs_conn_table_free(x->d.ct);
	lvs_model_free(x->m);
}

/* An Ethernet + IPv4 + UDP frame from src:sport to 10.0.0.5:5060 carrying
 * text (UDP checksum 0: none). */
static uint32_t sip_frame(uint8_t *f, const char *src, uint16_t sport, const char *text)
{
	size_t n = strlen(text);
	uint32_t tot = (uint32_t)(20 + 8 + n);
	uint8_t *uh = t_eth_ip4(f, IPPROTO_UDP, src, "10.0.0.5", (uint32_t)(8 + n));

	uh[0] = (uint8_t)(sport >> 8);
	uh[1] = (uint8_t)sport;
	uh[2] = 5060 >> 8;
	uh[3] = 5060 & 0xff;
	uh[4] = (uint8_t)((8 + n) >> 8);
	uh[5] = (uint8_t)(8 + n);
	memcpy(uh + 8, text, n);
	return 14 + tot;
}

/* The server (1..4) a datagram went to, 0 when dropped (*why). */
static int send_sip(struct env *x, const char *src, uint16_t sport, const char *text,
		    enum lvs_drop *why)
{
	static uint8_t buf[BUFSZ];
	struct lvs_pkt p;
	enum lvs_drop w = LVS_DROP_NONE;
	uint32_t len = sip_frame(buf + HROOM, src, sport, text);

	lvs_pkt_init(&p, buf, BUFSZ, HROOM, len);
	if (lvs_director_process(&x->w, &p, 1000000000ull, &w) != LVS_V_TX) {
		if (why)
			*why = w;
		return 0;
	}
	return p.data[5];
}

static const char *invite(const char *callid, char *buf, size_t len)
{
	snprintf(buf, len,
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n"
		 "From: <sip:alice@example.com>;tag=1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 callid);
	return buf;
}

static const char *bye_compact(const char *callid, char *buf, size_t len)
{
	snprintf(buf, len,
		 "BYE sip:bob@example.com SIP/2.0\r\n"
		 "v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-2\r\n"
		 "i: %s\r\n"
		 "CSeq: 2 BYE\r\n\r\n",
		 callid);
	return buf;
}

/* One call from two client ports, and a compact-form BYE: one server. */
static void test_same_callid_same_server(void **state)
{
	struct env x;
	char b[512];
	int s1, s2, s3;

	(void)state;
	env_init(&x, 0xffffffffu, 0, LVS_PE_SIP);
	s1 = send_sip(&x, "192.0.2.10", 5060, invite("call-1@192.0.2.10", b, sizeof(b)), NULL);
	assert_true(s1 >= 1 && s1 <= 4);
	s2 = send_sip(&x, "192.0.2.10", 5070, invite("call-1@192.0.2.10", b, sizeof(b)), NULL);
	assert_int_equal(s2, s1);
	s3 = send_sip(&x, "192.0.2.10", 5080, bye_compact("call-1@192.0.2.10", b, sizeof(b)),
		      NULL);
	assert_int_equal(s3, s1);
	env_free(&x);
}

/* Different calls from one client spread (rr: four calls, four servers);
 * without the engine they would all follow the client's template. */
static void test_different_callids_spread(void **state)
{
	struct env x;
	char b[512], id[64];
	int seen[5] = {0};

	(void)state;
	env_init(&x, 0xffffffffu, 0, LVS_PE_SIP);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "spread-%d@192.0.2.10", i);
		int s = send_sip(&x, "192.0.2.10", (uint16_t)(6000 + i), invite(id, b, sizeof(b)),
				 NULL);
		assert_true(s >= 1 && s <= 4);
		seen[s]++;
	}
	for (int i = 1; i <= 4; i++)
		assert_int_equal(seen[i], 1);
	/* and each call goes on to its own server */
	for (int i = 0; i < 4; i++) {
		int s0, s;

		snprintf(id, sizeof(id), "spread-%d@192.0.2.10", i);
		s0 = send_sip(&x, "192.0.2.10", (uint16_t)(6000 + i), invite(id, b, sizeof(b)), NULL);
		s = send_sip(&x, "192.0.2.10", (uint16_t)(7000 + i), invite(id, b, sizeof(b)), NULL);
		assert_int_equal(s, s0);
	}
	env_free(&x);

	/* the same without the engine: one template per client */
	env_init(&x, 0xffffffffu, 0, LVS_PE_NONE);
	int first = send_sip(&x, "192.0.2.10", 6000, invite("a", b, sizeof(b)), NULL);
	for (int i = 1; i < 4; i++)
		assert_int_equal(send_sip(&x, "192.0.2.10", (uint16_t)(6000 + i),
					  invite("other", b, sizeof(b)), NULL),
				 first);
	env_free(&x);
}

/* Templates are per client network: another client of the netmask finds
 * the call's template, a client outside it does not (its own template,
 * rr moves on); -o (one-packet scheduling) looks each datagram up. */
static void test_netmask_and_ops(void **state)
{
	struct env x;
	char b[512];
	int s1, s2, s3;

	(void)state;
	env_init(&x, htonl(0xffffff00u), LVS_SVC_F_ONEPACKET, LVS_PE_SIP);
	s1 = send_sip(&x, "192.0.2.10", 5060, invite("net@x", b, sizeof(b)), NULL);
	s2 = send_sip(&x, "192.0.2.77", 5060, invite("net@x", b, sizeof(b)), NULL);
	assert_int_equal(s2, s1);
	s3 = send_sip(&x, "198.51.100.1", 5060, invite("net@x", b, sizeof(b)), NULL);
	assert_true(s3 >= 1 && s3 <= 4);
	assert_int_not_equal(s3, s1);
	/* -o: the same client port, another call, is scheduled anew */
	assert_int_not_equal(send_sip(&x, "192.0.2.10", 5060, invite("net2@x", b, sizeof(b)), NULL),
			     s1);
	assert_int_equal(send_sip(&x, "192.0.2.10", 5060, invite("net@x", b, sizeof(b)), NULL), s1);
	env_free(&x);
}

/* No Call-ID: dropped, as the kernel does; nothing is created. */
static void test_no_callid_dropped(void **state)
{
	struct env x;
	enum lvs_drop why = LVS_DROP_NONE;

	(void)state;
	env_init(&x, 0xffffffffu, 0, LVS_PE_SIP);
	assert_int_equal(send_sip(&x, "192.0.2.10", 5060, "OPTIONS sip:x SIP/2.0\r\nTo: x\r\n\r\n",
				  &why),
			 0);
	assert_int_equal(why, LVS_DROP_PE_NO_DATA);
	assert_int_equal(send_sip(&x, "192.0.2.10", 5060, "", &why), 0);
	assert_int_equal(why, LVS_DROP_PE_NO_DATA);
	assert_int_equal(lvs_conn_table_count(x.d.ct), 0);
	assert_int_equal(x.w.drops.n[LVS_DROP_PE_NO_DATA], 2);
	env_free(&x);
}

struct walk {
	int tmpls, conns;
	struct lvs_conn_info t;
};

static int walk_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct walk *w = arg;

	if (ci->p.flags & LVS_CONN_F_TEMPLATE) {
		w->tmpls++;
		w->t = *ci;
	} else {
		w->conns++;
	}
	return 0;
}

/* The template's view: client port 0, the service's timeout, the PE flag
 * and the Call-ID; importing that view elsewhere makes a template the
 * same Call-ID finds (and another does not). */
static void test_template_view_and_import(void **state)
{
	struct env x;
	struct walk w;
	char b[512];
	struct lvs_conn_table *ct2;
	union lvs_addr ca = t_ip4("192.0.2.10"), va = t_ip4("10.0.0.5");

	(void)state;
	env_init(&x, 0xffffffffu, 0, LVS_PE_SIP);
	assert_true(send_sip(&x, "192.0.2.10", 5060, invite("view@h", b, sizeof(b)), NULL) > 0);
	memset(&w, 0, sizeof(w));
	lvs_conn_walk(x.d.ct, 1000000000ull, walk_cb, &w);
	assert_int_equal(w.tmpls, 1);
	assert_int_equal(w.conns, 1);
	assert_true(w.t.p.flags & LVS_CONN_F_PE);
	assert_int_equal(w.t.p.cport, 0);
	assert_int_equal(w.t.p.timeout, 60);
	assert_int_equal(w.t.pe_len, 6);
	assert_memory_equal(w.t.pe_data, "view@h", 6);
	/* found by its Call-ID only */
	assert_non_null(lvs_conn_tmpl_lookup_pe(x.d.ct, AF_INET, IPPROTO_UDP, &ca, &va, htons(5060),
						(const uint8_t *)"view@h", 6));
	assert_null(lvs_conn_tmpl_lookup_pe(x.d.ct, AF_INET, IPPROTO_UDP, &ca, &va, htons(5060),
					    (const uint8_t *)"view@i", 6));
	assert_null(lvs_conn_tmpl_lookup(x.d.ct, AF_INET, IPPROTO_UDP, &ca, &va, htons(5060)));

	ct2 = lvs_conn_table_new(64, 1);
	assert_non_null(ct2);
	w.t.dest = NULL;
	w.t.expires_ms = 30000;
	assert_non_null(lvs_conn_import(ct2, 0, &w.t, 1000000000ull));
	/* a second import updates the same template */
	assert_non_null(lvs_conn_import(ct2, 0, &w.t, 1000000000ull));
	assert_int_equal(lvs_conn_table_count(ct2), 1);
	assert_non_null(lvs_conn_tmpl_lookup_pe(ct2, AF_INET, IPPROTO_UDP, &ca, &va, htons(5060),
						(const uint8_t *)"view@h", 6));
	assert_null(lvs_conn_tmpl_lookup_pe(ct2, AF_INET, IPPROTO_UDP, &ca, &va, htons(5060),
					    (const uint8_t *)"view@", 5));
	lvs_conn_table_free(ct2);
	env_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_callid_same_server),
	        cmocka_unit_test(test_different_callids_spread),
	        cmocka_unit_test(test_netmask_and_ops),
	        cmocka_unit_test(test_no_callid_dropped),
	        cmocka_unit_test(test_template_view_and_import),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
