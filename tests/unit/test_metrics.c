/*
 * test_metrics.c - the Prometheus text and the status JSON of
 * src/daemon/metrics.c for a small model with known counters: an IPv4
 * TCP service with a server up, one quiesced and one down (its reason
 * needing escapes), an IPv6 UDP service and a fwmark service; one worker
 * with known frame and drop counters.  Then the health checks' families
 * from a keepalived.conf whose checks have not run yet (two checks of the
 * same target with different parameters get a variant label).
 */
#include "test_model_util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "kaconf.h"
#include "lvsd_ctx.h"
#include "metrics.h"
#include "worker.h"

struct fx {
	struct lvsd d;
	struct lvsd_worker wk;
};

static struct lvs_svc_key svc_key(const struct lvs_svc_conf *c)
{
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	return k;
}

static void set_counters(struct lvs_counters *c, uint64_t base)
{
	c->conns = base + 1;
	c->inpkts = base + 2;
	c->outpkts = base + 3;
	c->inbytes = base + 4;
	c->outbytes = base + 5;
}

struct find {
	union lvs_addr addr;
	struct lvs_dest_state *st;
};

static int find_dest(void *arg, const struct lvs_dest_info *di)
{
	struct find *f = arg;

	if (lvs_addr_eq(&di->c->addr, &f->addr))
		f->st = (struct lvs_dest_state *)di->st;
	return 0;
}

static struct lvs_dest_state *dstate(struct lvs_model *m, const struct lvs_svc_conf *s,
				     union lvs_addr a)
{
	struct lvs_svc_key k = svc_key(s);
	struct find f = {.addr = a};

	assert_int_equal(lvs_model_dests(m, &k, find_dest, &f), 0);
	assert_non_null(f.st);
	return f.st;
}

static int fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct lvs_model *m;
	struct lvs_svc_conf web = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf dns = t_svc6("2001:db8::1", 53, IPPROTO_UDP);
	struct lvs_svc_conf fw = t_svcfw(AF_INET, 5);
	struct lvs_dest_conf a = t_dest4("192.168.1.2", 80), b = t_dest4("192.168.1.1", 80),
			     c = t_dest4("192.168.1.3", 80), e = t_dest4("192.168.1.9", 0), v6;
	struct lvs_svc_key kw, kd, kf;

	assert_non_null(x);
	m = x->d.dir.model = lvs_model_new_workers(1);
	x->d.dir.ct = lvs_conn_table_new(1024, 1);
	assert_non_null(m);
	assert_non_null(x->d.dir.ct);
	x->d.max_conns = 1024;
	x->d.nworkers = 1;
	x->d.workers = &x->wk;
	assert_int_equal(lvsd_worker_init(&x->wk, &x->d, 0), 0);
	x->wk.w.rx = 100;
	x->wk.w.tx = 90;
	x->wk.w.pass = 4;
	x->wk.w.dropped = 6;
	x->wk.w.conns_created = 12;
	x->wk.w.drops.n[LVS_DROP_NO_SYN] = 5;
	x->wk.w.drops.n[LVS_DROP_NO_DEST] = 1;

	lvs_dest_conf_defaults(&v6);
	v6.af = AF_INET6;
	v6.addr = t_ip6("2001:db8::10");
	v6.port = htons(53);
	v6.fwd = LVS_FWD_MASQ;
	a.weight = 2;
	kw = svc_key(&web);
	kd = svc_key(&dns);
	kf = svc_key(&fw);
	assert_int_equal(lvs_model_add_service(m, &web), 0);
	assert_int_equal(lvs_model_add_service(m, &dns), 0);
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	assert_int_equal(lvs_model_add_dest(m, &kw, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &kw, &b), 0);
	assert_int_equal(lvs_model_add_dest(m, &kw, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &kd, &v6), 0);
	assert_int_equal(lvs_model_add_dest(m, &kf, &e), 0);
	assert_int_equal(lvs_model_set_dest_health(m, &kw, &b, LVS_DEST_QUIESCED, "connect timeout"),
			 0);
	assert_int_equal(lvs_model_set_dest_health(m, &kw, &c, LVS_DEST_DOWN,
						   "HTTP \"500\" \\ bad\nline"),
			 0);

	const struct lvs_snapshot *s = lvs_model_snapshot(m);
	for (uint32_t i = 0; i < s->nsvcs; i++)
		set_counters(&s->svcs[i]->st->stats[0], 1000 * (i + 1));
	set_counters(&dstate(m, &web, a.addr)->stats[0], 10);
	set_counters(&dstate(m, &web, b.addr)->stats[0], 20);
	set_counters(&dstate(m, &web, c.addr)->stats[0], 30);
	set_counters(&dstate(m, &dns, v6.addr)->stats[0], 40);
	set_counters(&dstate(m, &fw, e.addr)->stats[0], 50);
	dstate(m, &web, a.addr)->activeconns = 3;
	dstate(m, &web, a.addr)->inactconns = 1;
	*state = x;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	lvsd_worker_fini(&x->wk);
	lvs_conn_table_free(x->d.dir.ct);
	lvs_model_free(x->d.dir.model);
	free(x);
	return 0;
}

static char *render(const struct lvsd *d, int (*fn)(const struct lvsd *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(d, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

#define WEB "local_address=\"10.0.0.1\",local_port=\"80\""
#define DNS "local_address=\"2001:db8::1\",local_port=\"53\""
#define FWM "local_address=\"\",local_port=\"0\""
#define B1 WEB ",remote_address=\"192.168.1.1\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\""
#define B2 WEB ",remote_address=\"192.168.1.2\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\""
#define B3 WEB ",remote_address=\"192.168.1.3\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\""
#define B6 DNS ",remote_address=\"2001:db8::10\",remote_port=\"53\",proto=\"UDP\",local_mark=\"\""
#define B9 FWM ",remote_address=\"192.168.1.9\",remote_port=\"0\",proto=\"FWM\",local_mark=\"00000005\""
#define S_WEB WEB ",proto=\"TCP\",local_mark=\"\""
#define S_DNS DNS ",proto=\"UDP\",local_mark=\"\""
#define S_FWM FWM ",proto=\"FWM\",local_mark=\"00000005\""

/* One counter family of the services (n: 0..4 added to the base). */
#define SVC_FAM(name, help, n)                                                                  \
	"# HELP lvsd_service_" name " " help " By virtual service, since the last zeroing.\n"  \
	"# TYPE lvsd_service_" name " counter\n"                                               \
	"lvsd_service_" name "{" S_WEB "} 100" n "\n"                                           \
	"lvsd_service_" name "{" S_DNS "} 200" n "\n"                                           \
	"lvsd_service_" name "{" S_FWM "} 300" n "\n"
#define DEST_FAM(name, help, n)                                                                 \
	"# HELP lvsd_backend_" name " " help " By real server, since the last zeroing.\n"      \
	"# TYPE lvsd_backend_" name " counter\n"                                               \
	"lvsd_backend_" name "{" B1 "} 2" n "\n"                                                \
	"lvsd_backend_" name "{" B2 "} 1" n "\n"                                                \
	"lvsd_backend_" name "{" B3 "} 3" n "\n"                                                \
	"lvsd_backend_" name "{" B6 "} 4" n "\n"                                                \
	"lvsd_backend_" name "{" B9 "} 5" n "\n"

static const char expect_prom[] =
	"# HELP node_ipvs_connections_total The total number of connections made.\n"
	"# TYPE node_ipvs_connections_total counter\n"
	"node_ipvs_connections_total 6003\n"
	"# HELP node_ipvs_incoming_packets_total The total number of incoming packets.\n"
	"# TYPE node_ipvs_incoming_packets_total counter\n"
	"node_ipvs_incoming_packets_total 6006\n"
	"# HELP node_ipvs_outgoing_packets_total The total number of outgoing packets.\n"
	"# TYPE node_ipvs_outgoing_packets_total counter\n"
	"node_ipvs_outgoing_packets_total 6009\n"
	"# HELP node_ipvs_incoming_bytes_total The total amount of incoming data.\n"
	"# TYPE node_ipvs_incoming_bytes_total counter\n"
	"node_ipvs_incoming_bytes_total 6012\n"
	"# HELP node_ipvs_outgoing_bytes_total The total amount of outgoing data.\n"
	"# TYPE node_ipvs_outgoing_bytes_total counter\n"
	"node_ipvs_outgoing_bytes_total 6015\n"
	"# HELP node_ipvs_backend_connections_active The current active connections by local "
	"and remote address.\n"
	"# TYPE node_ipvs_backend_connections_active gauge\n"
	"node_ipvs_backend_connections_active{" B1 "} 0\n"
	"node_ipvs_backend_connections_active{" B2 "} 3\n"
	"node_ipvs_backend_connections_active{" B6 "} 0\n"
	"node_ipvs_backend_connections_active{" B9 "} 0\n"
	"# HELP node_ipvs_backend_connections_inactive The current inactive connections by "
	"local and remote address.\n"
	"# TYPE node_ipvs_backend_connections_inactive gauge\n"
	"node_ipvs_backend_connections_inactive{" B1 "} 0\n"
	"node_ipvs_backend_connections_inactive{" B2 "} 1\n"
	"node_ipvs_backend_connections_inactive{" B6 "} 0\n"
	"node_ipvs_backend_connections_inactive{" B9 "} 0\n"
	"# HELP node_ipvs_backend_weight The current backend weight by local and remote "
	"address.\n"
	"# TYPE node_ipvs_backend_weight gauge\n"
	"node_ipvs_backend_weight{" B1 "} 0\n"
	"node_ipvs_backend_weight{" B2 "} 2\n"
	"node_ipvs_backend_weight{" B6 "} 1\n"
	"node_ipvs_backend_weight{" B9 "} 1\n"
	SVC_FAM("connections_total", "The total number of connections made.", "1")
	SVC_FAM("incoming_packets_total", "The total number of incoming packets.", "2")
	SVC_FAM("outgoing_packets_total", "The total number of outgoing packets.", "3")
	SVC_FAM("incoming_bytes_total", "The total amount of incoming data.", "4")
	SVC_FAM("outgoing_bytes_total", "The total amount of outgoing data.", "5")
	DEST_FAM("connections_total", "The total number of connections made.", "1")
	DEST_FAM("incoming_packets_total", "The total number of incoming packets.", "2")
	DEST_FAM("outgoing_packets_total", "The total number of outgoing packets.", "3")
	DEST_FAM("incoming_bytes_total", "The total amount of incoming data.", "4")
	DEST_FAM("outgoing_bytes_total", "The total amount of outgoing data.", "5")
	"# HELP lvsd_backend_up 1 if the real server is in its service (up or quiesced), 0 if "
	"its checks took it out; reason: why not up.\n"
	"# TYPE lvsd_backend_up gauge\n"
	"lvsd_backend_up{" B1 ",reason=\"connect timeout\"} 1\n"
	"lvsd_backend_up{" B2 ",reason=\"\"} 1\n"
	"lvsd_backend_up{" B3 ",reason=\"HTTP \\\"500\\\" \\\\ bad\\nline\"} 0\n"
	"lvsd_backend_up{" B6 ",reason=\"\"} 1\n"
	"lvsd_backend_up{" B9 ",reason=\"\"} 1\n"
	"# HELP lvsd_backend_quiesced 1 if the real server's checks keep it at weight 0 "
	"(inhibit_on_failure).\n"
	"# TYPE lvsd_backend_quiesced gauge\n"
	"lvsd_backend_quiesced{" B1 "} 1\n"
	"lvsd_backend_quiesced{" B2 "} 0\n"
	"lvsd_backend_quiesced{" B3 "} 0\n"
	"lvsd_backend_quiesced{" B6 "} 0\n"
	"lvsd_backend_quiesced{" B9 "} 0\n"
	"# HELP lvsd_backend_configured_weight The real server's weight as configured "
	"(node_ipvs_backend_weight: in force).\n"
	"# TYPE lvsd_backend_configured_weight gauge\n"
	"lvsd_backend_configured_weight{" B1 "} 1\n"
	"lvsd_backend_configured_weight{" B2 "} 2\n"
	"lvsd_backend_configured_weight{" B3 "} 1\n"
	"lvsd_backend_configured_weight{" B6 "} 1\n"
	"lvsd_backend_configured_weight{" B9 "} 1\n"
	"# HELP lvsd_frames_received_total Frames the workers received.\n"
	"# TYPE lvsd_frames_received_total counter\n"
	"lvsd_frames_received_total 100\n"
	"# HELP lvsd_frames_forwarded_total Frames the workers forwarded.\n"
	"# TYPE lvsd_frames_forwarded_total counter\n"
	"lvsd_frames_forwarded_total 90\n"
	"# HELP lvsd_frames_passed_total Frames that were not the director's (left to the "
	"host).\n"
	"# TYPE lvsd_frames_passed_total counter\n"
	"lvsd_frames_passed_total 4\n"
	"# HELP lvsd_frames_dropped_total Frames dropped (lvsd_drops_total: why).\n"
	"# TYPE lvsd_frames_dropped_total counter\n"
	"lvsd_frames_dropped_total 6\n"
	"# HELP lvsd_drops_total Frames dropped, by reason.\n"
	"# TYPE lvsd_drops_total counter\n";

static const char expect_prom_tail[] =
	"# HELP lvsd_connections Entries in the connection table.\n"
	"# TYPE lvsd_connections gauge\n"
	"lvsd_connections 0\n"
	"# HELP lvsd_connections_max The connection table's size.\n"
	"# TYPE lvsd_connections_max gauge\n"
	"lvsd_connections_max 1024\n"
	"# HELP lvsd_connections_created_total Connection entries created.\n"
	"# TYPE lvsd_connections_created_total counter\n"
	"lvsd_connections_created_total 12\n";

static void test_prom(void **state)
{
	struct fx *x = *state;
	char *t = render(&x->d, lvsd_metrics_prom);
	size_t head = strlen(expect_prom), tail = strlen(expect_prom_tail), n = strlen(t);
	char *drops;

	/* everything up to the drop reasons, exactly */
	assert_true(n > head + tail);
	if (strncmp(t, expect_prom, head)) {
		for (size_t i = 0; i < head; i++)
			if (t[i] != expect_prom[i]) {
				fprintf(stderr, "differs at %zu:\n%s\n", i, t + (i > 80 ? i - 80 : 0));
				break;
			}
		fail();
	}
	/* every reason but "none", zeros included, then the table */
	drops = t + head;
	for (int r = 1; r < LVS_DROP__COUNT; r++) {
		char line[96];
		unsigned long long v = r == LVS_DROP_NO_SYN ? 5 : r == LVS_DROP_NO_DEST ? 1 : 0;
		int len = snprintf(line, sizeof(line), "lvsd_drops_total{reason=\"%s\"} %llu\n",
				   lvs_drop_name(r), v);

		assert_memory_equal(drops, line, (size_t)len);
		drops += len;
	}
	assert_string_equal(drops, expect_prom_tail);
	assert_null(strstr(t, "lvsd_check_"));       /* no checks */
	assert_null(strstr(t, "lvsd_control_"));     /* no loop */
	free(t);
}

static void test_json(void **state)
{
	struct fx *x = *state;
	char *t = render(&x->d, lvsd_metrics_json);

	assert_non_null(strstr(t, "{\"frames\":{\"received\":100,\"forwarded\":90,\"passed\":4,"
				  "\"dropped\":6},\"connections\":0,\"connections_max\":1024,"
				  "\"workers\":1,\"drops\":{\"tcp_new_flow_without_syn\":5,"
				  "\"no_destination_available\":1},\"services\":[{\"name\":\"TCP  10.0.0.1:80\""));
	assert_non_null(strstr(t, "{\"name\":\"TCP  10.0.0.1:80\",\"proto\":\"TCP\","
				  "\"address\":\"10.0.0.1\",\"port\":80,\"fwmark\":0,"
				  "\"scheduler\":\"wlc\",\"persistent\":0,"
				  "\"stats\":{\"conns\":1001,\"inpkts\":1002,\"outpkts\":1003,"
				  "\"inbytes\":1004,\"outbytes\":1005},"
				  "\"rate\":{\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,"
				  "\"outbps\":0},\"servers\":[{\"name\":\"192.168.1.1:80\""));
	assert_non_null(strstr(t, "\"name\":\"192.168.1.1:80\",\"address\":\"192.168.1.1\","
				  "\"port\":80,\"fwd\":\"Route\",\"weight\":0,"
				  "\"configured_weight\":1,\"health\":\"quiesced\","
				  "\"reason\":\"connect timeout\",\"active\":0,\"inactive\":0,"));
	assert_non_null(strstr(t, "\"health\":\"down\",\"reason\":\"HTTP \\\"500\\\" \\\\ "
				  "bad\\u000aline\""));
	assert_non_null(strstr(t, "{\"name\":\"[2001:db8::10]:53\",\"address\":\"2001:db8::10\","
				  "\"port\":53,\"fwd\":\"Masq\",\"weight\":1,"));
	assert_non_null(strstr(t, "\"checks\":[]}\n"));
	free(t);
}

static void test_checks(void **state)
{
	struct fx *x = *state;
	static const char conf[] =
		"virtual_server 10.0.0.7 80 {\n  delay_loop 30\n  lb_kind NAT\n  protocol TCP\n"
		"  real_server 127.0.0.1 9 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n"
		"    TCP_CHECK {\n      connect_timeout 4\n    }\n  }\n"
		"  real_server 127.0.0.2 9 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n"
		"  }\n}\n";
	struct ka_config *kc = ka_config_load_mem(conf, strlen(conf), "test.conf");
	struct event_base *base = event_base_new();
	char err[256], *t;

	assert_non_null(kc);
	assert_int_equal(kc->nerrors, 0);
	assert_non_null(base);
	assert_int_equal(ka_config_apply(kc, x->d.dir.model, err, sizeof(err)), 0);
	x->d.checks = lvs_checks_new(base, x->d.dir.model, NULL);
	assert_non_null(x->d.checks);
	assert_int_equal(lvs_checks_start(x->d.checks, kc, err, sizeof(err)), 0);
	t = render(&x->d, lvsd_metrics_prom);
	/* no probe has run: up (no alpha), nothing counted */
	assert_non_null(strstr(
		t, "# HELP lvsd_check_up 1 if the health check's last verdict was up.\n"
		   "# TYPE lvsd_check_up gauge\n"
		   "lvsd_check_up{check=\"TCP_CHECK\",remote_address=\"127.0.0.1\",remote_port=\"9\"} 1\n"
		   "lvsd_check_up{check=\"TCP_CHECK\",remote_address=\"127.0.0.1\",remote_port=\"9\","
		   "variant=\"2\"} 1\n"
		   "lvsd_check_up{check=\"TCP_CHECK\",remote_address=\"127.0.0.2\",remote_port=\"9\"} 1\n"
		   "# HELP lvsd_check_probes_total Probes the health check finished.\n"
		   "# TYPE lvsd_check_probes_total counter\n"
		   "lvsd_check_probes_total{check=\"TCP_CHECK\",remote_address=\"127.0.0.1\","
		   "remote_port=\"9\"} 0\n"));
	assert_non_null(strstr(t, "lvsd_check_last_duration_seconds{check=\"TCP_CHECK\","
				  "remote_address=\"127.0.0.2\",remote_port=\"9\"} 0.000000\n"));
	assert_non_null(strstr(t, "# TYPE lvsd_check_start_lateness_seconds histogram\n"
				  "lvsd_check_start_lateness_seconds_bucket{le=\"0.001\"} 0\n"));
	assert_non_null(strstr(t, "lvsd_check_start_lateness_seconds_bucket{le=\"1\"} 0\n"
				  "lvsd_check_start_lateness_seconds_bucket{le=\"+Inf\"} 0\n"
				  "lvsd_check_start_lateness_seconds_sum 0.000000\n"
				  "lvsd_check_start_lateness_seconds_count 0\n"));
	free(t);
	t = render(&x->d, lvsd_metrics_json);
	assert_non_null(strstr(t, "\"checks\":[{\"type\":\"TCP_CHECK\",\"address\":\"127.0.0.1\","
				  "\"port\":9,\"up\":true,\"probes\":0,\"failures\":0,"
				  "\"last_ms\":0.000,\"reason\":\"\"},"));
	assert_non_null(strstr(t, "\"name\":\"TCP  10.0.0.7:80\""));
	free(t);
	lvs_checks_free(x->d.checks);
	x->d.checks = NULL;
	event_base_free(base);
	ka_config_free(kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prom, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_json, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checks, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
