/*
 * test_ipvsadm_list.c - `lvsadm -L` output compared character for
 * character with what ipvsadm 1.31 prints for the same table: the default
 * listing, persistence / scheduler flags / ops, fwmark and IPv6 services,
 * sorting (with ipvsadm's wrapping address comparison) and --nosort,
 * --stats with K/M/G/T scaling and --exact, --rate fed by the estimator,
 * --thresholds, --persistent-conn, --tun-info, one service (-L -t), name
 * lookups and their truncation, -c, --timeout and --daemon.
 *
 * Expected texts are written from ipvsadm's printf formats (e.g. dest
 * lines "  -> %-28s %-7s %-6d %-10u %-10u\n", so they end in padding).
 */
#include "pe.h"
#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "conn.h"
#include "estimator.h"
#include "ipvsadm_list.h"
#include "model.h"
#include "test_model_util.h"

/* ---- helpers ---- */

static struct lvs_dest_conf dst(int af, const char *addr, int port, int fwd, int weight)
{
	struct lvs_dest_conf d;

	lvs_dest_conf_defaults(&d);
	d.af = (uint8_t)af;
	d.addr = af == AF_INET ? t_ip4(addr) : t_ip6(addr);
	d.port = htons((uint16_t)port);
	d.fwd = (uint8_t)fwd;
	d.weight = weight;
	return d;
}

static void add_svc(struct lvs_model *m, struct lvs_svc_conf c)
{
	assert_int_equal(lvs_model_add_service(m, &c), 0);
}

static void add_dst(struct lvs_model *m, struct lvs_svc_conf c, struct lvs_dest_conf d)
{
	struct lvs_svc_key k = t_svc_key(&c);

	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
}

/* The snapshot's service with this config key. */
static struct lvs_service *find_svc(const struct lvs_snapshot *s, struct lvs_svc_conf c)
{
	struct lvs_svc_key k = t_svc_key(&c), k2;

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		lvs_svc_conf_key(&s->svcs[i]->c, &k2);
		if (!memcmp(&k, &k2, sizeof(k)))
			return s->svcs[i];
	}
	fail_msg("service not found");
	return NULL;
}

static struct lvs_dest *find_dest(struct lvs_service *svc, const char *addr)
{
	for (uint32_t i = 0; i < svc->ndests; i++) {
		char b[64];

		lvs_addr_str(svc->dests[i]->c.af, &svc->dests[i]->c.addr, b, sizeof(b));
		if (!strcmp(b, addr))
			return svc->dests[i];
	}
	fail_msg("dest %s not found", addr);
	return NULL;
}

/* Run a printer into a string (caller frees). */
#define CAPTURE(buf, call)                                  \
	do {                                                \
		size_t _len = 0;                            \
		FILE *out = open_memstream(&(buf), &_len);  \
		assert_non_null(out);                       \
		assert_int_equal((call), 0);                \
		fclose(out);                                \
	} while (0)

static char *list_all(const struct lvs_model *m, unsigned opts, const struct lvs_list_hooks *h)
{
	char *buf = NULL;

	CAPTURE(buf, lvs_list_services(out, lvs_model_snapshot(m), 4096, opts, NULL, h));
	return buf;
}

static void check_list(const struct lvs_model *m, unsigned opts, const struct lvs_list_hooks *h,
		       const char *expect)
{
	char *got = list_all(m, opts, h);

	assert_string_equal(got, expect);
	free(got);
}

#define HDR "IP Virtual Server version 1.2.1 (size=4096)\n"
#define TITLE                                     \
	"Prot LocalAddress:Port Scheduler Flags\n" \
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"

/* ---- the default listing ---- */

static void test_default_nat_dr(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_service *svc;
	(void)state;

	add_svc(m, c);
	add_dst(m, c, dst(AF_INET, "192.168.10.1", 80, LVS_FWD_ROUTE, 1));
	add_dst(m, c, dst(AF_INET, "192.168.10.2", 8080, LVS_FWD_MASQ, 5));
	svc = find_svc(lvs_model_snapshot(m), c);
	lvs_dest_bind(find_dest(svc, "192.168.10.1")->st, false, true);
	lvs_dest_bind(find_dest(svc, "192.168.10.1")->st, false, true);
	lvs_dest_bind(find_dest(svc, "192.168.10.2")->st, false, false);

	check_list(m, LVS_LIST_NUMERIC, NULL,
		   HDR TITLE
		   "TCP  10.0.0.1:80 wlc\n"
		   "  -> 192.168.10.1:80              Route   1      2          0         \n"
		   "  -> 192.168.10.2:8080            Masq    5      0          1         \n");
	lvs_model_free(m);
}

static void test_empty_table(void **state)
{
	struct lvs_model *m = lvs_model_new();
	(void)state;

	check_list(m, LVS_LIST_NUMERIC, NULL, HDR TITLE);
	lvs_model_free(m);
}

static void test_persistent_flags_ops(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = t_svc4("10.0.0.2", 443, IPPROTO_TCP);
	struct lvs_svc_conf b = t_svc4("10.0.0.3", 53, IPPROTO_UDP);
	struct lvs_svc_conf c = t_svc4("10.0.0.4", 0, IPPROTO_TCP);
	struct lvs_svc_conf d = t_svc4("10.0.0.5", 25, IPPROTO_TCP);
	struct lvs_svc_conf e = t_svc6("fd00::5", 80, IPPROTO_TCP);
	(void)state;

	strcpy(a.sched, "sh");
	a.flags = LVS_SVC_F_PERSISTENT | LVS_SVC_F_SCHED_SH_FALLBACK | LVS_SVC_F_SCHED_SH_PORT;
	a.netmask = t_ip4("255.255.255.0").ip4;
	add_svc(m, a);
	strcpy(b.sched, "rr");
	b.flags = LVS_SVC_F_ONEPACKET;
	add_svc(m, b);
	c.flags = LVS_SVC_F_PERSISTENT; /* bare -p: 360 s, /32 (no mask shown) */
	add_svc(m, c);
	strcpy(d.sched, "mh");
	d.flags = LVS_SVC_F_SCHED_MH_PORT;
	add_svc(m, d);
	e.flags = LVS_SVC_F_PERSISTENT | LVS_SVC_F_SCHED1;
	e.timeout = 600;
	e.netmask = 64;
	add_svc(m, e);
	{
		/* --pe: after the persistence fields, before ops; not shown
		 * for a service that is not persistent (ipvsadm 1.31) */
		struct lvs_svc_conf s1 = t_svc4("10.0.0.6", 5060, IPPROTO_UDP);
		struct lvs_svc_conf s2 = t_svc4("10.0.0.7", 5060, IPPROTO_UDP);

		strcpy(s1.sched, "rr");
		s1.flags = LVS_SVC_F_PERSISTENT | LVS_SVC_F_ONEPACKET;
		s1.timeout = 60;
		s1.netmask = t_ip4("255.255.255.0").ip4;
		s1.pe = LVS_PE_SIP;
		add_svc(m, s1);
		s2.pe = LVS_PE_SIP;
		add_svc(m, s2);
	}

	check_list(m, LVS_LIST_NUMERIC, NULL,
		   HDR TITLE
		   "TCP  10.0.0.2:443 sh (sh-fallback,sh-port) persistent 360 mask 255.255.255.0\n"
		   "TCP  10.0.0.4:0 wlc persistent 360\n"
		   "TCP  10.0.0.5:25 mh (mh-port)\n"
		   "UDP  10.0.0.3:53 rr ops\n"
		   "UDP  10.0.0.6:5060 rr persistent 60 mask 255.255.255.0 pe sip ops\n"
		   "UDP  10.0.0.7:5060 wlc\n"
		   "TCP  [fd00::5]:80 wlc (flag-1) persistent 600 mask 64\n");
	lvs_model_free(m);
}

static void test_fwmark_and_ipv6(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf f1 = t_svcfw(AF_INET, 1), f2 = t_svcfw(AF_INET6, 2);
	struct lvs_svc_conf v6 = t_svc6("fd00::1", 80, IPPROTO_TCP);
	struct lvs_svc_conf v4 = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_dest_conf tun = dst(AF_INET, "192.168.20.1", 80, LVS_FWD_TUNNEL, 3);
	(void)state;

	/* created out of order: sorting puts plain services first (fwmark 0),
	 * then fwmark 1, 2; among plain ones IPv4 before IPv6 */
	add_svc(m, f2);
	add_dst(m, f2, dst(AF_INET6, "fd00::20", 0, LVS_FWD_ROUTE, 1));
	add_svc(m, f1);
	add_dst(m, f1, dst(AF_INET, "192.168.10.1", 0, LVS_FWD_ROUTE, 1));
	add_svc(m, v6);
	add_dst(m, v6, dst(AF_INET6, "fd00::10", 8080, LVS_FWD_MASQ, 2));
	add_dst(m, v6, tun); /* IPv4 tunnel behind an IPv6 service */
	add_svc(m, v4);

	check_list(m, LVS_LIST_NUMERIC, NULL,
		   HDR TITLE
		   "TCP  10.0.0.1:80 wlc\n"
		   "TCP  [fd00::1]:80 wlc\n"
		   "  -> 192.168.20.1:80              Tunnel  3      0          0         \n"
		   "  -> [fd00::10]:8080              Masq    2      0          0         \n"
		   "FWM  1 wlc\n"
		   "  -> 192.168.10.1:0               Route   1      0          0         \n"
		   "FWM  2 IPv6 wlc\n"
		   "  -> [fd00::20]:0                 Route   1      0          0         \n");

	/* --nosort: creation order, newest destination first */
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_NOSORT, NULL,
		   HDR TITLE
		   "FWM  2 IPv6 wlc\n"
		   "  -> [fd00::20]:0                 Route   1      0          0         \n"
		   "FWM  1 wlc\n"
		   "  -> 192.168.10.1:0               Route   1      0          0         \n"
		   "TCP  [fd00::1]:80 wlc\n"
		   "  -> 192.168.20.1:80              Tunnel  3      0          0         \n"
		   "  -> [fd00::10]:8080              Masq    2      0          0         \n"
		   "TCP  10.0.0.1:80 wlc\n");
	lvs_model_free(m);
}

/* ---- ordering ---- */

static void test_sort_and_nosort(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = t_svc4("10.0.0.1", 443, IPPROTO_TCP);
	struct lvs_svc_conf b = t_svc4("192.168.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf u = t_svc4("10.0.0.1", 53, IPPROTO_UDP);
	(void)state;

	add_svc(m, u);
	add_svc(m, a);
	add_svc(m, b);
	add_svc(m, c);
	add_dst(m, c, dst(AF_INET, "172.16.0.1", 80, LVS_FWD_ROUTE, 1));
	add_dst(m, c, dst(AF_INET, "172.16.0.3", 80, LVS_FWD_ROUTE, 1));
	add_dst(m, c, dst(AF_INET, "172.16.0.2", 80, LVS_FWD_ROUTE, 1));
	add_dst(m, c, dst(AF_INET, "172.16.0.2", 81, LVS_FWD_MASQ, 1));

	/*
	 * TCP before UDP; ports ascending.  10.0.0.1 vs 192.168.0.1: ipvsadm
	 * computes (int)(0x0a000001 - 0xc0a80001) = 0x49580000 > 0, so
	 * 192.168.0.1 is listed first.
	 */
	check_list(m, LVS_LIST_NUMERIC, NULL,
		   HDR TITLE
		   "TCP  192.168.0.1:80 wlc\n"
		   "TCP  10.0.0.1:80 wlc\n"
		   "  -> 172.16.0.1:80                Route   1      0          0         \n"
		   "  -> 172.16.0.2:80                Route   1      0          0         \n"
		   "  -> 172.16.0.2:81                Masq    1      0          0         \n"
		   "  -> 172.16.0.3:80                Route   1      0          0         \n"
		   "TCP  10.0.0.1:443 wlc\n"
		   "UDP  10.0.0.1:53 wlc\n");
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_NOSORT, NULL,
		   HDR TITLE
		   "UDP  10.0.0.1:53 wlc\n"
		   "TCP  10.0.0.1:443 wlc\n"
		   "TCP  192.168.0.1:80 wlc\n"
		   "TCP  10.0.0.1:80 wlc\n"
		   "  -> 172.16.0.2:81                Masq    1      0          0         \n"
		   "  -> 172.16.0.2:80                Route   1      0          0         \n"
		   "  -> 172.16.0.3:80                Route   1      0          0         \n"
		   "  -> 172.16.0.1:80                Route   1      0          0         \n");
	lvs_model_free(m);
}

/*
 * 10.x < 100.x < 192.168.x < 10.x under ipvsadm's wrapping comparison: no
 * total order.  glibc's merge sort still gives a definite answer for a
 * given input order; check ours gives the same one.  Input (creation
 * order) 192, 100, 10: halves [192] and [100, 10]; the right half sorts to
 * [10, 100] ((int)(0x64000001 - 0x0a000001) > 0); merging, 192 vs 10 gives
 * (int)(0xc0a80001 - 0x0a000001) = (int)0xb6a80000 < 0, so 192 comes
 * first, then 10, 100.
 */
static void test_sort_nontransitive(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = t_svc4("192.168.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf b = t_svc4("100.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	(void)state;

	add_svc(m, a);
	add_svc(m, b);
	add_svc(m, c);
	check_list(m, LVS_LIST_NUMERIC, NULL,
		   HDR TITLE
		   "TCP  192.168.0.1:80 wlc\n"
		   "TCP  10.0.0.1:80 wlc\n"
		   "TCP  100.0.0.1:80 wlc\n");
	lvs_model_free(m);
}

/* ---- --stats ---- */

static void set_counters(struct lvs_counters *w, uint64_t conns, uint64_t inp, uint64_t outp,
			 uint64_t inb, uint64_t outb)
{
	w->conns = conns;
	w->inpkts = inp;
	w->outpkts = outp;
	w->inbytes = inb;
	w->outbytes = outb;
}

#define STATS_TITLE                                                                   \
	"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n" \
	"  -> RemoteAddress:Port\n"

/* The zero-traffic sample of `ipvsadm -Ln --stats` seen in public
 * troubleshooting notes. */
static void test_stats_zero(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.85.0.10", 9153, IPPROTO_TCP);
	(void)state;

	add_svc(m, c);
	add_dst(m, c, dst(AF_INET, "172.22.34.187", 9153, LVS_FWD_MASQ, 1));
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_STATS, NULL,
		   HDR STATS_TITLE
		   "TCP  10.85.0.10:9153                     0        0        0        0        0\n"
		   "  -> 172.22.34.187:9153                  0        0        0        0        0\n");
	lvs_model_free(m);
}

static void test_stats_scaling_exact(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_service *svc;
	struct lvs_dest *d;
	(void)state;

	add_svc(m, c);
	add_dst(m, c, dst(AF_INET, "192.168.10.1", 80, LVS_FWD_ROUTE, 1));
	svc = find_svc(lvs_model_snapshot(m), c);
	d = find_dest(svc, "192.168.10.1");
	/* split over two workers: the listing sums them */
	set_counters(&svc->st->stats[0], 100, 123456789, 99999999, 1234567890, 100000000000000ull);
	set_counters(&svc->st->stats[1], 23, 0, 0, 0, 23456789012345ull);
	set_counters(&d->st->stats[0], 5, 100000000, 0, 99999999999ull, 100000000000ull);

	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_STATS, NULL,
		   HDR STATS_TITLE
		   "TCP  10.0.0.1:80                       123  123456K 99999999    1234M     123T\n"
		   "  -> 192.168.10.1:80                     5  100000K        0   99999M     100G\n");
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_STATS | LVS_LIST_EXACT, NULL,
		   HDR STATS_TITLE
		   "TCP  10.0.0.1:80                       123 123456789 99999999 1234567890 "
		   "123456789012345\n"
		   "  -> 192.168.10.1:80                     5 100000000        0 99999999999 "
		   "100000000000\n");

	/* -Z: counters restart from zero */
	assert_int_equal(lvs_model_zero(m, NULL), 0);
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_STATS, NULL,
		   HDR STATS_TITLE
		   "TCP  10.0.0.1:80                         0        0        0        0        0\n"
		   "  -> 192.168.10.1:80                     0        0        0        0        0\n");
	lvs_model_free(m);
}

static void test_largenum_boundaries(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_service *svc;
	(void)state;

	add_svc(m, c);
	svc = find_svc(lvs_model_snapshot(m), c);
	/* 10^9 - 1 -> K, 10^11 - 1 -> M, 10^14 - 1 -> G, 2^64 - 1 -> T; the
	 * T figure has 8 digits and fills its column, touching the previous
	 * one, exactly as ipvsadm's "%8lluT" does */
	set_counters(&svc->st->stats[0], 999999999, 99999999999ull, 99999999999999ull,
		     UINT64_MAX, 1000000000);
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_STATS, NULL,
		   HDR STATS_TITLE
		   "TCP  10.0.0.1:80                   999999K   99999M   99999G18446744T    1000M\n");
	lvs_model_free(m);
}

/* ---- --rate ---- */

struct rates {
	const struct lvs_svc_state *svc_st;
	struct lvs_rate svc, dest;
};

static const struct lvs_rate *svc_rate_cb(void *ctx, const struct lvs_svc_state *st)
{
	struct rates *r = ctx;

	return st == r->svc_st ? &r->svc : NULL;
}

static const struct lvs_rate *dest_rate_cb(void *ctx, const struct lvs_dest_state *st)
{
	struct rates *r = ctx;
	(void)st;
	return &r->dest;
}

#define RATE_TITLE                                                                     \
	"Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n" \
	"  -> RemoteAddress:Port\n"

static void test_rate_from_estimator(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf c2 = t_svc4("10.0.0.2", 80, IPPROTO_TCP);
	struct lvs_service *svc;
	struct lvs_est est;
	struct lvs_counters sum = { 0 };
	struct rates r;
	struct lvs_list_hooks h = { .svc_rate = svc_rate_cb, .dest_rate = dest_rate_cb, .ctx = &r };
	lvs_time_t t = 5 * LVS_NS_PER_SEC;
	(void)state;

	add_svc(m, c);
	add_svc(m, c2);
	add_dst(m, c, dst(AF_INET, "192.168.10.1", 80, LVS_FWD_ROUTE, 1));
	svc = find_svc(lvs_model_snapshot(m), c);
	memset(&r, 0, sizeof(r));
	r.svc_st = svc->st;

	/*
	 * 100 conns, 1000/800 packets, 1,000,000/8,000,000 bytes every 2 s.
	 * conns: rate 100<<9 = 51200; avg 12800, 22400, 29600 -> (avg+511)>>10
	 * = 12, 22, 29.  pkts in: 512000 -> 128000, 224000, 296000 -> 125,
	 * 219, 289.  out: 409600 -> 102400, 179200, 236800 -> 100, 175, 231.
	 * bytes in: 16000000 -> 4000000, 7000000, 9250000 -> (avg+15)>>5 =
	 * 125000, 218750, 289062.  out x8: 1000000, 1750000, 2312500.
	 */
	lvs_est_init(&est, &sum, t);
	for (int i = 0; i < 3; i++) {
		sum.conns += 100;
		sum.inpkts += 1000;
		sum.outpkts += 800;
		sum.inbytes += 1000000;
		sum.outbytes += 8000000;
		t += LVS_EST_INTERVAL_NS;
		assert_true(lvs_est_update(&est, &sum, t));
	}
	lvs_est_read(&est, &r.svc);
	assert_int_equal(r.svc.cps, 29);
	assert_int_equal(r.svc.inpps, 289);
	assert_int_equal(r.svc.outpps, 231);
	assert_int_equal(r.svc.inbps, 289062);
	assert_int_equal(r.svc.outbps, 2312500);
	/* destination: scaled only in the byte columns */
	r.dest = (struct lvs_rate){ 123456789, 7, 100000000, 123456789, 5 };

	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_RATE, &h,
		   HDR RATE_TITLE
		   "TCP  10.0.0.1:80                        29      289      231   289062  2312500\n"
		   "  -> 192.168.10.1:80              123456789        7 100000000  123456K        5\n"
		   "TCP  10.0.0.2:80                         0        0        0        0        0\n");
	/* no hooks: zeros */
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_RATE, NULL,
		   HDR RATE_TITLE
		   "TCP  10.0.0.1:80                         0        0        0        0        0\n"
		   "  -> 192.168.10.1:80                     0        0        0        0        0\n"
		   "TCP  10.0.0.2:80                         0        0        0        0        0\n");
	lvs_model_free(m);
}

/* ---- --thresholds, --persistent-conn, --tun-info ---- */

static void test_thresholds_persistent_conn(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_dest_conf d1 = dst(AF_INET, "192.168.10.1", 80, LVS_FWD_ROUTE, 3);
	struct lvs_dest_conf d2 = dst(AF_INET, "192.168.10.2", 80, LVS_FWD_ROUTE, 0);
	struct lvs_service *svc;
	struct lvs_dest_state *ds;
	(void)state;

	c.flags = LVS_SVC_F_PERSISTENT;
	add_svc(m, c);
	d1.u_threshold = 100;
	d1.l_threshold = 50;
	add_dst(m, c, d1);
	add_dst(m, c, d2);
	svc = find_svc(lvs_model_snapshot(m), c);
	ds = find_dest(svc, "192.168.10.1")->st;
	lvs_dest_bind(ds, true, false); /* two templates */
	lvs_dest_bind(ds, true, false);
	lvs_dest_bind(ds, false, true);
	lvs_dest_bind(ds, false, false);
	lvs_dest_bind(ds, false, false);

	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_THRESHOLDS, NULL,
		   HDR
		   "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
		   "  -> RemoteAddress:Port\n"
		   "TCP  10.0.0.1:80 wlc persistent 360\n"
		   "  -> 192.168.10.1:80              100        50         1          2         \n"
		   "  -> 192.168.10.2:80              0          0          0          0         \n");
	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_PERSISTENTCONN, NULL,
		   HDR
		   "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
		   "  -> RemoteAddress:Port\n"
		   "TCP  10.0.0.1:80 wlc persistent 360\n"
		   "  -> 192.168.10.1:80              3         2           1          2         \n"
		   "  -> 192.168.10.2:80              0         0           0          0         \n");
	/* --stats wins over the others, as in ipvsadm */
	{
		char *got = list_all(m, LVS_LIST_NUMERIC | LVS_LIST_THRESHOLDS | LVS_LIST_STATS,
				     NULL);

		assert_non_null(strstr(got, STATS_TITLE));
		free(got);
	}
	lvs_model_free(m);
}

static void test_tun_info(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_dest_conf ipip = dst(AF_INET, "192.168.10.1", 80, LVS_FWD_TUNNEL, 1);
	struct lvs_dest_conf gue = dst(AF_INET, "192.168.10.2", 80, LVS_FWD_TUNNEL, 2);
	struct lvs_dest_conf gre = dst(AF_INET, "192.168.10.3", 80, LVS_FWD_TUNNEL, 3);
	struct lvs_dest_conf dr = dst(AF_INET, "192.168.10.4", 80, LVS_FWD_ROUTE, 4);
	(void)state;

	add_svc(m, c);
	add_dst(m, c, ipip);
	gue.tun_type = LVS_TUN_GUE;
	gue.tun_port = htons(6080);
	gue.tun_flags = LVS_TUN_F_CSUM;
	add_dst(m, c, gue);
	gre.tun_type = LVS_TUN_GRE;
	gre.tun_flags = LVS_TUN_F_REMCSUM;
	add_dst(m, c, gre);
	add_dst(m, c, dr);

	check_list(m, LVS_LIST_NUMERIC | LVS_LIST_TUN_INFO, NULL,
		   HDR
		   "Prot LocalAddress:Port Scheduler Flags\n"
		   "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn "
		   "InActConn\n"
		   "TCP  10.0.0.1:80 wlc\n"
		   "  -> 192.168.10.1:80              Tunnel  ipip          1      0          0         \n"
		   "  -> 192.168.10.2:80              Tunnel  gue:6080:+c   2      0          0         \n"
		   "  -> 192.168.10.3:80              Tunnel  gre:r+c       3      0          0         \n"
		   "  -> 192.168.10.4:80              Route   n/a           4      0          0         \n");
	lvs_model_free(m);
}

/* ---- one service (-L -t / -f) ---- */

static void test_one_service(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf b = t_svc4("10.0.0.1", 81, IPPROTO_TCP);
	struct lvs_svc_conf f = t_svcfw(AF_INET, 7);
	struct lvs_svc_key k;
	char *buf = NULL;
	FILE *out;
	size_t len;
	(void)state;

	add_svc(m, a);
	add_svc(m, b);
	add_svc(m, f);
	add_dst(m, b, dst(AF_INET, "192.168.10.1", 81, LVS_FWD_ROUTE, 1));

	k = t_svc_key(&b);
	CAPTURE(buf, lvs_list_services(out, lvs_model_snapshot(m), 4096, LVS_LIST_NUMERIC, &k,
				       NULL));
	assert_string_equal(buf, TITLE
			    "TCP  10.0.0.1:81 wlc\n"
			    "  -> 192.168.10.1:81              Route   1      0          0         \n");
	free(buf);

	k = t_svc_key(&f);
	CAPTURE(buf, lvs_list_services(out, lvs_model_snapshot(m), 4096, LVS_LIST_NUMERIC, &k,
				       NULL));
	assert_string_equal(buf, TITLE "FWM  7 wlc\n");
	free(buf);

	/* no such service: -ESRCH, nothing printed */
	k = t_svc_key(&a);
	k.proto = IPPROTO_UDP;
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(lvs_list_services(out, lvs_model_snapshot(m), 4096, 0, &k, NULL), -ESRCH);
	fclose(out);
	assert_int_equal(len, 0);
	free(buf);
	lvs_model_free(m);
}

/* ---- names (no -n) ---- */

static int host_cb(void *ctx, int af, const union lvs_addr *a, char *buf, size_t len)
{
	char s[64];
	(void)ctx;

	lvs_addr_str(af, a, s, sizeof(s));
	if (!strcmp(s, "10.0.0.1"))
		snprintf(buf, len, "www.example.com");
	else if (!strcmp(s, "10.0.0.2"))
		snprintf(buf, len, "a-rather-long-virtual-host-name.example.com");
	else if (!strcmp(s, "192.168.10.1"))
		snprintf(buf, len, "backend-number-one.dc1.example.com");
	else if (!strcmp(s, "fd00::10"))
		snprintf(buf, len, "v6-backend.example.com");
	else
		return -1;
	return 0;
}

static int serv_cb(void *ctx, uint16_t port, uint8_t proto, char *buf, size_t len)
{
	(void)ctx;
	if (port == 80 && proto == IPPROTO_TCP) {
		snprintf(buf, len, "http");
		return 0;
	}
	return -1;
}

static void test_names_and_truncation(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf b = t_svc4("10.0.0.2", 8080, IPPROTO_TCP);
	struct lvs_svc_conf c = t_svc6("fd00::1", 80, IPPROTO_TCP);
	struct lvs_list_hooks h = { .host_name = host_cb, .serv_name = serv_cb };
	(void)state;

	add_svc(m, a);
	add_dst(m, a, dst(AF_INET, "192.168.10.1", 80, LVS_FWD_ROUTE, 1));
	add_dst(m, a, dst(AF_INET, "192.168.10.2", 80, LVS_FWD_ROUTE, 1));
	add_svc(m, b);
	add_svc(m, c);
	add_dst(m, c, dst(AF_INET6, "fd00::10", 80, LVS_FWD_ROUTE, 1));

	/* IPv4 names are cut to 33 (service) and 28 (destination) characters,
	 * IPv6 ones are not; unknown names print as numbers. */
	check_list(m, 0, &h,
		   HDR TITLE
		   "TCP  www.example.com:http wlc\n"
		   "  -> backend-number-one.dc1.examp Route   1      0          0         \n"
		   "  -> 192.168.10.2:http            Route   1      0          0         \n"
		   "TCP  a-rather-long-virtual-host-n wlc\n"
		   "TCP  [fd00::1]:http wlc\n"
		   "  -> [v6-backend.example.com]:http Route   1      0          0         \n");
	lvs_model_free(m);
}

/* ---- -c ---- */

static struct lvs_conn_info conn4(int proto, uint16_t flags, int state, uint32_t ms,
				  const char *c, int cp, const char *v, int vp, const char *d,
				  int dp)
{
	struct lvs_conn_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.p.af = ci.p.daf = AF_INET;
	ci.p.proto = (uint8_t)proto;
	ci.p.flags = flags;
	ci.p.caddr = t_ip4(c);
	ci.p.vaddr = t_ip4(v);
	ci.p.daddr = t_ip4(d);
	ci.p.cport = htons((uint16_t)cp);
	ci.p.vport = htons((uint16_t)vp);
	ci.p.dport = htons((uint16_t)dp);
	ci.state = (uint8_t)state;
	ci.expires_ms = ms;
	return ci;
}

static void test_conns(void **state)
{
	struct lvs_conn_info ci[6];
	char *buf = NULL;
	(void)state;

	ci[0] = conn4(IPPROTO_TCP, 0, LVS_TCP_S_ESTABLISHED, 899999, "203.0.113.5", 40000,
		      "10.0.0.1", 80, "192.168.10.1", 80);
	ci[1] = conn4(IPPROTO_UDP, 0, 0, 300000, "203.0.113.6", 5353, "10.0.0.3", 53,
		      "192.168.10.2", 53);
	/* persistence template: client network, port 0 */
	ci[2] = conn4(IPPROTO_TCP, LVS_CONN_F_TEMPLATE, 0, 359500, "203.0.113.0", 0, "10.0.0.1",
		      80, "192.168.10.1", 80);
	/* fwmark template: protocol IP, virtual address = the mark */
	ci[3] = conn4(0, LVS_CONN_F_TEMPLATE, 0, 6000000, "203.0.113.7", 0, "0.0.0.1", 0,
		      "192.168.10.3", 0);
	ci[4] = conn4(IPPROTO_TCP, 0, LVS_TCP_S_SYN_RECV, 999, "203.0.113.8", 1024, "10.0.0.1",
		      80, "192.168.10.1", 80);
	memset(&ci[5], 0, sizeof(ci[5]));
	ci[5].p.af = ci[5].p.daf = AF_INET6;
	ci[5].p.proto = IPPROTO_TCP;
	ci[5].p.caddr = t_ip6("2001:db8::5");
	ci[5].p.vaddr = t_ip6("fd00::1");
	ci[5].p.daddr = t_ip6("fd00::10");
	ci[5].p.cport = htons(33333);
	ci[5].p.vport = htons(80);
	ci[5].p.dport = htons(80);
	ci[5].state = LVS_TCP_S_FIN_WAIT;
	ci[5].expires_ms = 61000;

	CAPTURE(buf, lvs_list_conns(out, ci, 6, LVS_LIST_NUMERIC, NULL));
	assert_string_equal(
		buf,
		"IPVS connection entries\n"
		"pro expire state       source             virtual            destination\n"
		"TCP 14:59  ESTABLISHED 203.0.113.5:40000  10.0.0.1:80        192.168.10.1:80\n"
		"UDP 05:00  UDP         203.0.113.6:5353   10.0.0.3:53        192.168.10.2:53\n"
		"TCP 05:59  NONE        203.0.113.0:0      10.0.0.1:80        192.168.10.1:80\n"
		"IP  100:00 NONE        203.0.113.7:0      0.0.0.1:0          192.168.10.3:0\n"
		"TCP 00:00  SYN_RECV    203.0.113.8:1024   10.0.0.1:80        192.168.10.1:80\n"
		"TCP 01:01  FIN_WAIT    [2001:db8::5]:33333 [fd00::1]:80       [fd00::10]:80\n");
	free(buf);

	/* --persistent-conn: wider title; rows without PE data stay short,
	 * a SIP template gets the engine and its Call-ID (the kernel's
	 * " sip CALLID" read back by ipvsadm's print_conn, whose row pads
	 * the destination to 16 and the engine to 18 columns while its
	 * title does the opposite) */
	ci[1].p.flags = LVS_CONN_F_TEMPLATE | LVS_CONN_F_PE;
	ci[1].p.cport = 0;
	ci[1].pe_len = 17;
	memcpy(ci[1].pe_data, "a84b4c76e66710@pc", 17);
	CAPTURE(buf, lvs_list_conns(out, ci, 2, LVS_LIST_NUMERIC | LVS_LIST_PERSISTENTCONN, NULL));
	assert_string_equal(
		buf,
		"IPVS connection entries\n"
		"pro expire state       source             virtual            destination        "
		"pe name          pe_data\n"
		"TCP 14:59  ESTABLISHED 203.0.113.5:40000  10.0.0.1:80        192.168.10.1:80\n"
		"UDP 05:00  NONE        203.0.113.6:0      10.0.0.3:53        192.168.10.2:53  "
		"sip                a84b4c76e66710@pc\n");
	free(buf);
	/* without --persistent-conn: the short row */
	CAPTURE(buf, lvs_list_conns(out, ci + 1, 1, LVS_LIST_NUMERIC, NULL));
	assert_string_equal(
		buf,
		"IPVS connection entries\n"
		"pro expire state       source             virtual            destination\n"
		"UDP 05:00  NONE        203.0.113.6:0      10.0.0.3:53        192.168.10.2:53\n");
	free(buf);

	/* empty table */
	CAPTURE(buf, lvs_list_conns(out, NULL, 0, LVS_LIST_NUMERIC, NULL));
	assert_string_equal(buf, "IPVS connection entries\n"
				 "pro expire state       source             virtual            "
				 "destination\n");
	free(buf);
}

/* ---- --timeout, --daemon, options ---- */

static void test_timeout_daemon_opts(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_timeouts t = { 0, 0, 0 };
	struct lvs_cmd_daemon d[2];
	char *buf = NULL;
	(void)state;

	CAPTURE(buf, lvs_list_timeout(out, &lvs_model_snapshot(m)->timeouts));
	assert_string_equal(buf, "Timeout (tcp tcpfin udp): 900 120 300\n");
	free(buf);
	t.tcp = 3600;
	t.udp = 10;
	assert_int_equal(lvs_model_set_timeouts(m, &t), 0);
	CAPTURE(buf, lvs_list_timeout(out, &lvs_model_snapshot(m)->timeouts));
	assert_string_equal(buf, "Timeout (tcp tcpfin udp): 3600 120 10\n");
	free(buf);

	CAPTURE(buf, lvs_list_daemon(out, NULL, 0));
	assert_string_equal(buf, "");
	free(buf);
	memset(d, 0, sizeof(d));
	d[0].state = LVS_DAEMON_MASTER;
	strcpy(d[0].mcast_ifn, "eth0");
	d[0].syncid = 1;
	d[0].sync_maxlen = 1472;
	d[0].mcast_af = AF_INET;
	d[0].mcast_group = t_ip4("224.0.0.81");
	d[0].mcast_port = 8848;
	d[0].mcast_ttl = 1;
	d[1].state = LVS_DAEMON_BACKUP;
	strcpy(d[1].mcast_ifn, "eth1");
	d[1].syncid = 2;
	CAPTURE(buf, lvs_list_daemon(out, d, 2));
	assert_string_equal(buf, "master sync daemon (mcast=eth0, syncid=1, maxlen=1472, "
				 "group=224.0.0.81, port=8848, ttl=1)\n"
				 "backup sync daemon (mcast=eth1, syncid=2)\n");
	free(buf);

	assert_int_equal(lvs_list_opts_from_cmd(LVS_OPT_NUMERIC | LVS_OPT_STATS | LVS_OPT_EXACT |
						LVS_OPT_NOSORT | LVS_OPT_CONNECTION),
			 LVS_LIST_NUMERIC | LVS_LIST_STATS | LVS_LIST_EXACT | LVS_LIST_NOSORT);
	assert_int_equal(lvs_list_opts_from_cmd(LVS_OPT_RATE | LVS_OPT_THRESHOLDS |
						LVS_OPT_PERSISTENTCONN | LVS_OPT_TUN_INFO),
			 LVS_LIST_RATE | LVS_LIST_THRESHOLDS | LVS_LIST_PERSISTENTCONN |
				 LVS_LIST_TUN_INFO);
	lvs_model_free(m);
}

/* A write error is reported. */
static void test_write_error(void **state)
{
	struct lvs_model *m = lvs_model_new();
	FILE *f = fopen("/dev/full", "w");
	(void)state;

	if (!f) {
		lvs_model_free(m);
		skip();
	}
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(lvs_list_services(f, lvs_model_snapshot(m), 4096, LVS_LIST_NUMERIC, NULL,
					   NULL),
			 -EIO);
	fclose(f);
	lvs_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_nat_dr),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_persistent_flags_ops),
		cmocka_unit_test(test_fwmark_and_ipv6),
		cmocka_unit_test(test_sort_and_nosort),
		cmocka_unit_test(test_sort_nontransitive),
		cmocka_unit_test(test_stats_zero),
		cmocka_unit_test(test_stats_scaling_exact),
		cmocka_unit_test(test_largenum_boundaries),
		cmocka_unit_test(test_rate_from_estimator),
		cmocka_unit_test(test_thresholds_persistent_conn),
		cmocka_unit_test(test_tun_info),
		cmocka_unit_test(test_one_service),
		cmocka_unit_test(test_names_and_truncation),
		cmocka_unit_test(test_conns),
		cmocka_unit_test(test_timeout_daemon_opts),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
