/*
 * test_check.c - the health-check core (src/check/check.c) against a real
 * model and real TCP_CHECK probes on loopback: one port listening (up),
 * one closed (refused).  One keepalived.conf text exercises, side by
 * side:
 *
 *   - a failed server removed (DOWN), or kept at weight 0 with
 *     inhibit_on_failure (QUIESCED), its notify_down script run;
 *   - the same check under two virtual servers run once;
 *   - quorum lost: the sorry server replaces the alive servers;
 *   - alpha: a server starts failed and joins after its first pass;
 *   - the companion listing.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kaconf.h"
#include "model.h"

static uint16_t listen_port(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 64), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	*fd = s;
	return ntohs(sa.sin_port);
}

/* A port nothing listens on (bound once, then closed). */
static uint16_t closed_port(void)
{
	int fd;
	uint16_t p = listen_port(&fd);

	close(fd);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct lvs_svc_key key(const char *vip)
{
	struct lvs_svc_key k;

	memset(&k, 0, sizeof(k));
	k.af = AF_INET;
	k.proto = IPPROTO_TCP;
	k.port = htons(80);
	inet_pton(AF_INET, vip, &k.addr);
	return k;
}

/* 127.0.0.1:port in vip's service: 0 with its conf and health, or -errno
 * when not there at all. */
static int dest_of(struct lvs_model *m, const char *vip, uint16_t port, struct lvs_dest_conf *out,
		   enum lvs_dest_health *h)
{
	struct lvs_svc_key k = key(vip);
	struct lvs_dest_conf d;

	memset(&d, 0, sizeof(d));
	d.af = AF_INET;
	d.port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &d.addr);
	return lvs_model_get_dest(m, &k, &d, out, h, NULL, 0);
}

/* Health of 127.0.0.1:port in vip's service; -1 when not there at all. */
static int health(struct lvs_model *m, const char *vip, uint16_t port)
{
	struct lvs_dest_conf out;
	enum lvs_dest_health h;

	return dest_of(m, vip, port, &out, &h) ? -1 : (int)h;
}

struct fx {
	struct event_base *base;
	struct lvs_model *m;
	struct ka_config *c;
	struct lvs_checks *cs;
	int lfd;
	uint16_t up, down, sorry;
	char stamp[64];
};

/* Read text, install it in a new model and start its checks (hooks may
 * be NULL); stop_checks undoes it all. */
static void start_checks(struct fx *f, const char *text, const char *name,
			 const struct lvs_checks_hooks *hooks)
{
	char err[256];

	f->c = ka_config_load_mem(text, strlen(text), name);
	assert_non_null(f->c);
	if (f->c->nerrors)
		ka_config_print_diags(f->c, stderr, KA_ERROR);
	assert_int_equal(f->c->nerrors, 0);
	f->m = lvs_model_new();
	f->base = event_base_new();
	assert_non_null(f->m);
	assert_non_null(f->base);
	assert_int_equal(ka_config_apply(f->c, f->m, err, sizeof(err)), 0);
	f->cs = lvs_checks_new(f->base, f->m, hooks);
	assert_non_null(f->cs);
	assert_int_equal(lvs_checks_start(f->cs, f->c, err, sizeof(err)), 0);
}

static void stop_checks(struct fx *f)
{
	lvs_checks_free(f->cs);
	event_base_free(f->base);
	lvs_model_free(f->m);
	ka_config_free(f->c);
	f->cs = NULL;
	f->base = NULL;
	f->m = NULL;
	f->c = NULL;
}

/* Run the loop until cond holds (checked every 50 ms), 10 s at most. */
static bool run_until(struct fx *f, bool (*cond)(struct fx *f))
{
	double end = now_s() + 10;

	while (now_s() < end) {
		struct timeval tv = {.tv_usec = 50000};

		if (cond(f))
			return true;
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	return cond(f);
}

static bool settled(struct fx *f)
{
	struct stat st;

	return health(f->m, "10.0.0.1", f->down) == LVS_DEST_QUIESCED &&
	       health(f->m, "10.0.0.2", f->down) == LVS_DEST_DOWN &&
	       health(f->m, "10.0.0.3", f->sorry) == LVS_DEST_UP &&
	       health(f->m, "10.0.0.4", f->up) == LVS_DEST_UP && stat(f->stamp, &st) == 0;
}

static void test_checks_in_the_model(void **state)
{
	struct fx f;
	char *text = NULL, err[256];
	struct lvs_checks_stats st;
	char *listing = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.up = listen_port(&f.lfd);
	f.down = closed_port();
	f.sorry = closed_port();
	snprintf(f.stamp, sizeof(f.stamp), "/tmp/lvsd-test-check-%d", (int)getpid());
	unlink(f.stamp);
#define RS(port, extra)                                                                     \
	"  real_server 127.0.0.1 %u {\n    weight 1\n" extra                                \
	"    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n"
	assert_true(asprintf(&text,
	                     "virtual_server 10.0.0.1 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n  inhibit_on_failure\n" RS("%u", "") RS("%u", "") "}\n"
	                     "virtual_server 10.0.0.2 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n" RS("%u", "") RS("%u", "    notify_down \"/usr/bin/touch %s\"\n") "}\n"
	                     "virtual_server 10.0.0.3 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n  quorum 2\n  sorry_server 127.0.0.1 %u\n"
	                     RS("%u", "") RS("%u", "") "}\n"
	                     "virtual_server 10.0.0.4 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n  alpha\n" RS("%u", "") "}\n",
	                     f.up, f.down, f.up, f.down, f.stamp, f.sorry, f.up, f.down, f.up) > 0);
#undef RS
	f.c = ka_config_load_mem(text, strlen(text), "test.conf");
	assert_non_null(f.c);
	if (f.c->nerrors)
		ka_config_print_diags(f.c, stderr, KA_ERROR);
	assert_int_equal(f.c->nerrors, 0);
	f.m = lvs_model_new();
	f.base = event_base_new();
	assert_non_null(f.m);
	assert_non_null(f.base);
	assert_int_equal(ka_config_apply(f.c, f.m, err, sizeof(err)), 0);
	/* at start: everything alive but the alpha server */
	assert_int_equal(health(f.m, "10.0.0.1", f.down), LVS_DEST_UP);
	assert_int_equal(health(f.m, "10.0.0.4", f.up), LVS_DEST_DOWN);
	assert_int_equal(health(f.m, "10.0.0.3", f.sorry), -1);

	f.cs = lvs_checks_new(f.base, f.m, NULL);
	assert_non_null(f.cs);
	assert_int_equal(lvs_checks_start(f.cs, f.c, err, sizeof(err)), 0);
	lvs_checks_get_stats(f.cs, &st);
	/* 7 servers' checks, 3 distinct: one per target, and the alpha one of
	 * the up target apart (it starts down) */
	assert_int_equal(st.checks, 3);
	assert_int_equal(st.servers, 7);

	assert_true(run_until(&f, settled));
	/* inhibit: listed at weight 0; without: gone; the good one stays */
	assert_int_equal(health(f.m, "10.0.0.1", f.up), LVS_DEST_UP);
	assert_int_equal(health(f.m, "10.0.0.2", f.up), LVS_DEST_UP);
	/* quorum lost: the sorry server in, the alive server out */
	assert_int_equal(health(f.m, "10.0.0.3", f.up), LVS_DEST_DOWN);
	lvs_checks_get_stats(f.cs, &st);
	assert_int_equal(st.checks_up, 2);
	assert_int_equal(st.servers_alive, 4);
	assert_true(st.probes >= 2);

	out = open_memstream(&listing, &len);
	lvs_checks_print(f.cs, out);
	fclose(out);
	assert_non_null(strstr(listing, "Health checks: 3 distinct\n"));
	assert_non_null(strstr(listing, "Virtual server 10.0.0.3:80: quorum down (1 of 2), "
	                                "sorry server in use\n"));
	assert_non_null(strstr(listing, "Connection refused"));
	free(listing);

	stop_checks(&f);
	close(f.lfd);
	unlink(f.stamp);
	free(text);
}

static bool model_busy_flag;

static bool busy_hook(void *arg)
{
	(void)arg;
	return model_busy_flag;
}

static bool check_down(struct fx *f)
{
	struct lvs_checks_stats st;

	lvs_checks_get_stats(f->cs, &st);
	return st.checks_up == 0 && st.probes >= 1;
}

static bool dest_down(struct fx *f)
{
	return health(f->m, "10.0.0.9", f->down) == LVS_DEST_DOWN;
}

/* While the model is in another's open batch (an lvsadm -R job), a
 * verdict does not touch it: it is applied once the batch is over. */
static void test_busy_model_waits(void **state)
{
	struct lvs_checks_hooks hooks = {.busy = busy_hook};
	struct fx f;
	char *text = NULL;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.down = closed_port();
	assert_true(asprintf(&text,
	                     "virtual_server 10.0.0.9 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n  real_server 127.0.0.1 %u {\n    TCP_CHECK {\n"
	                     "      connect_timeout 1\n      retry 0\n    }\n  }\n}\n",
	                     f.down) > 0);
	model_busy_flag = true;
	start_checks(&f, text, "busy.conf", &hooks);
	assert_true(run_until(&f, check_down));
	/* the check is down, the model waits */
	assert_int_equal(health(f.m, "10.0.0.9", f.down), LVS_DEST_UP);
	model_busy_flag = false;
	assert_true(run_until(&f, dest_down));
	stop_checks(&f);
	free(text);
}

/* The weight of 127.0.0.1:port in vip's service, -1 when not there. */
static int weight_of(struct lvs_model *m, const char *vip, uint16_t port)
{
	struct lvs_dest_conf out;
	enum lvs_dest_health h;

	return dest_of(m, vip, port, &out, &h) ? -1 : (int)out.weight;
}

static int want_weight, want_weight2;
static bool weights_are(struct fx *f)
{
	return weight_of(f->m, "10.0.0.11", 81) == want_weight &&
	       weight_of(f->m, "10.0.0.11", 82) == want_weight2;
}

/* Weights from checks, as keepalived sums them: the configured weight
 * plus a FILE_CHECK's adjustment, and a misc_dynamic weight W counting
 * as W - configured. */
static void test_check_weights(void **state)
{
	struct fx f;
	char dir[] = "/tmp/lvs-test-weights-XXXXXX", path[96], *text = NULL;
	FILE *wf;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/w", dir);
	wf = fopen(path, "w");
	assert_non_null(wf);
	fputs("3\n", wf);
	fclose(wf);
	assert_true(asprintf(&text,
	                     "track_file tf {\n  file %s\n  weight 1\n}\n"
	                     "virtual_server 10.0.0.11 80 {\n  delay_loop 1\n  lb_kind NAT\n"
	                     "  protocol TCP\n"
	                     "  real_server 127.0.0.1 81 {\n    weight 2\n"
	                     "    FILE_CHECK {\n      track_file tf\n    }\n  }\n"
	                     "  real_server 127.0.0.1 82 {\n    weight 2\n"
	                     "    FILE_CHECK {\n      track_file tf\n    }\n"
	                     "    MISC_CHECK {\n      misc_path \"/bin/sh -c 'exit 12'\"\n"
	                     "      misc_dynamic\n    }\n  }\n}\n",
	                     path) > 0);
	start_checks(&f, text, "weights.conf", NULL);
	/* 2 + 3; 2 + 3 + (10 - 2) */
	want_weight = 5;
	want_weight2 = 13;
	assert_true(run_until(&f, weights_are));
	/* the file changes: the adjustment follows (a negative one too) */
	wf = fopen(path, "w");
	assert_non_null(wf);
	fputs("-1\n", wf);
	fclose(wf);
	want_weight = 1;
	want_weight2 = 9;
	assert_true(run_until(&f, weights_are));
	stop_checks(&f);
	unlink(path);
	rmdir(dir);
	free(text);
}

/* A MISC_CHECK script run as root that another user could change: a
 * warning, or, under enable_script_security, the check disabled. */
static void test_script_security(void **state)
{
	char dir[] = "/tmp/lvs-test-sec-XXXXXX", script[96], *text = NULL;
	FILE *sf;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the rule is about scripts run as root */
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/check.sh", dir);
	sf = fopen(script, "w");
	assert_non_null(sf);
	fputs("#!/bin/sh\nexit 0\n", sf);
	fclose(sf);
	assert_int_equal(chmod(script, 0755), 0);
	for (int unsafe = 0; unsafe < 2; unsafe++) {
		/* a directory anyone may write to, without the sticky bit */
		assert_int_equal(chmod(dir, unsafe ? 0777 : 0755), 0);
		for (int enforce = 0; enforce < 2; enforce++) {
			struct lvs_checks_stats st;
			struct fx f;

			memset(&f, 0, sizeof(f));
			free(text);
			assert_true(asprintf(&text,
			                     "global_defs {\n%s}\n"
			                     "virtual_server 10.0.0.12 80 {\n  delay_loop 30\n"
			                     "  lb_kind NAT\n  protocol TCP\n"
			                     "  real_server 127.0.0.1 80 {\n"
			                     "    MISC_CHECK {\n      misc_path %s\n    }\n  }\n}\n",
			                     enforce ? " enable_script_security\n" : "", script) > 0);
			start_checks(&f, text, "sec.conf", NULL);
			lvs_checks_get_stats(f.cs, &st);
			/* disabled only when unsafe and enforced */
			assert_int_equal(st.checks, unsafe && enforce ? 0 : 1);
			stop_checks(&f);
		}
	}
	unlink(script);
	rmdir(dir);
	free(text);
}

/* The checker thread's /proc/self/task/TID/FILE, read into buf. */
static bool checker_task_read(const char *file, char *buf, size_t len)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[320], comm[32] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strcmp(comm, "lvsd-check\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/%s", de->d_name, file);
		closedir(d);
		f = fopen(path, "r");
		if (!f)
			return false;
		len = fread(buf, 1, len - 1, f);
		buf[len] = 0;
		fclose(f);
		return true;
	}
	closedir(d);
	return false;
}

/* global_defs' checker_priority and checker_cpu_affinity on the thread. */
static void test_checker_priority(void **state)
{
	static const char text[] =
		"global_defs {\n checker_priority 7\n checker_cpu_affinity 0\n}\n"
		"virtual_server 10.0.0.13 80 {\n  lb_kind NAT\n  protocol TCP\n"
		"  real_server 127.0.0.1 80 {\n  }\n}\n";
	char buf[4096], *f;
	struct fx x;
	int nice_v;

	(void)state;
	memset(&x, 0, sizeof(x));
	start_checks(&x, text, "prio.conf", NULL);
	/* stat: the nice value is the 19th field, after the ")" of comm */
	assert_true(checker_task_read("stat", buf, sizeof(buf)));
	f = strrchr(buf, ')');
	assert_non_null(f);
	assert_int_equal(sscanf(f + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
				       "%*d %*d %d", &nice_v), 1);
	assert_int_equal(nice_v, 7);
	assert_true(checker_task_read("status", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "Cpus_allowed_list:\t0\n"));
	stop_checks(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_checks_in_the_model),
	        cmocka_unit_test(test_busy_model_waits),
	        cmocka_unit_test(test_check_weights),
	        cmocka_unit_test(test_script_security),
	        cmocka_unit_test(test_checker_priority),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
