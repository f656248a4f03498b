/*
 * test_ctlloop.c - the control loop on its own (src/daemon/ctlloop.c,
 * ctlsrv.c): a loop thread with the control socket (a unique abstract name
 * per test, LVSD_CTL_SOCKET), the signals and the ticks, against a real
 * model and executor, and clients that misbehave:
 *
 *   - a client that connects and sends nothing, and others that stop half
 *     way through their request, do not delay another client's command;
 *   - a client that does not read its large reply does not block the
 *     loop, gets the rest when it reads, and is dropped when idle;
 *   - SIGTERM ends the loop within a second while such clients hang;
 *   - the longest callback is recorded and printed;
 *   - the 2 s tick (estimators, model gc) runs.
 */
#include "test_util.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "ctl.h"
#include "ctl_proto.h"
#include "ctlloop.h"
#include "ctlsrv.h"
#include "lvsd_ctx.h"
#include "worker.h"

static sigset_t sigs;

struct fx {
	struct lvsd d;
	struct lvs_ctl_state cst;
	char name[108];
	pthread_t th;
	int run_rc;
	double stopped_at; /* ms, when the loop returned */
};

static double mono_ms(void)
{
	return (double)lvsd_now() / 1e6;
}

static void *loop_main(void *arg)
{
	struct fx *x = arg;

	rcu_register_thread();
	x->run_rc = lvsd_loop_run(x->d.loop);
	x->stopped_at = mono_ms(); /* read after pthread_join */
	rcu_unregister_thread();
	return NULL;
}

static int fx_setup(void **state)
{
	static unsigned seq;
	struct fx *x = calloc(1, sizeof(*x));
	int lfd;

	assert_non_null(x);
	snprintf(x->name, sizeof(x->name), "lvsd-test-loop-%d-%u", (int)getpid(), seq++);
	setenv(LVS_CTL_SOCKET_ENV, x->name, 1);
	x->d.dir.model = lvs_model_new();
	x->d.dir.ct = lvs_conn_table_new(1024, 1);
	assert_non_null(x->d.dir.model);
	assert_non_null(x->d.dir.ct);
	assert_int_equal(lvs_ctl_state_init(&x->cst, x->d.dir.model, x->d.dir.ct, NULL), 0);
	x->d.cst = &x->cst;
	assert_non_null(lvsd_loop_new(&x->d, &sigs));
	lfd = lvs_ctl_listen();
	assert_true(lfd >= 0);
	assert_int_equal(lvsd_ctlsrv_register(x->d.loop, lfd), 0);
	assert_int_equal(pthread_create(&x->th, NULL, loop_main, x), 0);
	*state = x;
	return 0;
}

/* Stop with SIGTERM; returns how long the loop took to return (ms). */
static double fx_stop(struct fx *x)
{
	double t0 = mono_ms();

	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(pthread_join(x->th, NULL), 0);
	return x->stopped_at - t0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	if (x->d.loop && !__atomic_load_n(&x->d.stopping, __ATOMIC_RELAXED))
		fx_stop(x);
	rcu_barrier(); /* snapshot callbacks refer to the loop */
	lvsd_loop_free(x->d.loop);
	lvs_ctl_state_done(&x->cst);
	lvs_conn_table_free(x->d.dir.ct);
	lvs_model_free(x->d.dir.model);
	free(x);
	return 0;
}

/* ---- clients ---- */

static int raw_connect(const struct fx *x)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(x->name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path + 1, x->name, n);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa,
	                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)),
	                 0);
	return fd;
}

/* The bytes of a request for argv (no stdin, no names) into buf. */
static size_t request(uint8_t *buf, size_t cap, int argc, const char *const *argv)
{
	struct lvs_ctl_req rq = {.version = LVS_CTL_VERSION, .type = LVS_CTL_REQ_EXEC};
	size_t off = LVS_CTL_REQ_HDR_LEN;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		assert_true(off + n <= cap);
		memcpy(buf + off, argv[i], n);
		off += n;
	}
	rq.argc = (uint32_t)argc;
	rq.argv_len = (uint32_t)(off - LVS_CTL_REQ_HDR_LEN);
	lvs_ctl_req_encode(buf, &rq);
	return off;
}

struct result {
	int rc;
	char *out, *err;
	double ms;
};

/* lvsadm's own client; cmdline split on spaces. */
static struct result call(const char *cmdline, const char *in)
{
	char line[512], *argv[32], *save = NULL;
	struct result r = {0};
	size_t ol, el;
	FILE *out, *err;
	int argc = 1;
	double t0;

	snprintf(line, sizeof(line), "%s", cmdline);
	argv[0] = "lvsadm";
	for (char *t = strtok_r(line, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	out = open_memstream(&r.out, &ol);
	err = open_memstream(&r.err, &el);
	t0 = mono_ms();
	r.rc = lvs_ctl_call(argc, argv, in, in ? strlen(in) : 0, out, err);
	r.ms = mono_ms() - t0;
	fclose(out);
	fclose(err);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* ---- tests ---- */

/* Silent and half-written clients do not hold up another's command. */
static void test_stalled_clients_do_not_delay_others(void **state)
{
	struct fx *x = *state;
	static const char *const argv[] = {"lvsadm", "-A", "-t", "10.0.0.9:80"};
	uint8_t req[256];
	size_t len = request(req, sizeof(req), 4, argv);
	int silent = raw_connect(x), half_hdr = raw_connect(x), half_body = raw_connect(x);
	struct result r;

	assert_int_equal(write(half_hdr, req, 10), 10);
	assert_int_equal(write(half_body, req, len - 5), (ssize_t)(len - 5));
	usleep(50 * 1000); /* all three are accepted and waiting */

	r = call("-A -t 10.0.0.1:80 -s rr", NULL);
	assert_int_equal(r.rc, 0);
	assert_true(r.ms < 500);
	result_free(&r);
	r = call("-Ln", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "TCP  10.0.0.1:80 rr\n"));
	/* the half-written -A did not run */
	assert_null(strstr(r.out, "10.0.0.9"));
	assert_true(r.ms < 500);
	result_free(&r);

	/* the rest of the half-written request arrives: it runs and answers */
	{
		uint8_t rh[LVS_CTL_REP_HDR_LEN];
		struct lvs_ctl_rep rp;
		struct pollfd p = {.fd = half_body, .events = POLLIN};

		assert_int_equal(write(half_body, req + len - 5, 5), 5);
		assert_int_equal(poll(&p, 1, 1000), 1);
		assert_int_equal(read(half_body, rh, sizeof(rh)), (ssize_t)sizeof(rh));
		assert_int_equal(lvs_ctl_rep_decode(rh, &rp), 0);
		assert_int_equal(rp.type, LVS_CTL_REP_RESULT);
		assert_int_equal(rp.status, 0);
	}
	r = call("-Ln", NULL);
	assert_non_null(strstr(r.out, "TCP  10.0.0.9:80 wlc\n"));
	result_free(&r);

	/* listings without -n take the name round trip, as before */
	r = call("-L", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Prot LocalAddress:Port Scheduler Flags\n"));
	result_free(&r);

	/* idle clients are dropped after LVSD_CTL_IDLE_MS: EOF for them */
	{
		struct pollfd p = {.fd = silent, .events = POLLIN};
		char c;

		assert_int_equal(poll(&p, 1, LVSD_CTL_IDLE_MS + 1500), 1);
		assert_int_equal(read(silent, &c, 1), 0);
	}
	close(silent);
	close(half_hdr);
	close(half_body);
}

/* Rules for a listing larger than the socket buffers (~200 KB): 3
 * services of 1500 real servers (few services with many servers: the
 * model applies those fastest). */
static char *many_rules(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		fprintf(f, "-A -t 10.0.%d.1:80 -s rr\n", i);
		for (int j = 0; j < 1500; j++)
			fprintf(f, "-a -t 10.0.%d.1:80 -r 192.168.%d.%d:8080 -m -w 3\n", i, j / 250,
			        j % 250 + 1);
	}
	fclose(f);
	return buf;
}

/* A client that does not read a large reply blocks nobody; it gets the
 * whole reply when it reads at last. */
static void test_unread_large_reply(void **state)
{
	struct fx *x = *state;
	static const char *const argv[] = {"lvsadm", "-L", "-n"};
	char *rules = many_rules();
	uint8_t req[128];
	size_t len = request(req, sizeof(req), 3, argv);
	struct result r, full;
	int slow;

	r = call("-R", rules);
	assert_int_equal(r.rc, 0);
	result_free(&r);
	free(rules);
	full = call("-Ln", NULL);
	assert_int_equal(full.rc, 0);
	assert_true(strlen(full.out) > 250000); /* more than the socket buffers hold */

	slow = raw_connect(x);
	assert_int_equal(write(slow, req, len), (ssize_t)len);
	/* the loop writes what fits and waits with the rest */
	{
		int queued = 0;

		for (int i = 0; i < 500 && !queued; i++) {
			usleep(10 * 1000);
			assert_int_equal(ioctl(slow, FIONREAD, &queued), 0);
		}
		usleep(100 * 1000);
		assert_int_equal(ioctl(slow, FIONREAD, &queued), 0);
		assert_true(queued > 0);
		assert_true((size_t)queued < LVS_CTL_REP_HDR_LEN + strlen(full.out));
	}

	r = call("-A -t 10.250.0.1:80", NULL);
	assert_int_equal(r.rc, 0);
	assert_true(r.ms < 500);
	result_free(&r);

	/* now read it all: header, then exactly the listing of that time */
	{
		uint8_t rh[LVS_CTL_REP_HDR_LEN];
		struct lvs_ctl_rep rp;
		size_t got = 0, want;
		char *body;

		assert_int_equal(read(slow, rh, sizeof(rh)), (ssize_t)sizeof(rh));
		assert_int_equal(lvs_ctl_rep_decode(rh, &rp), 0);
		want = rp.out_len + rp.err_len;
		assert_int_equal(rp.out_len, strlen(full.out));
		body = malloc(want + 1);
		assert_non_null(body);
		while (got < want) {
			ssize_t n = read(slow, body + got, want - got);

			assert_true(n > 0);
			got += (size_t)n;
		}
		body[got] = '\0';
		assert_string_equal(body, full.out);
		free(body);
	}
	close(slow);
	result_free(&full);

	/* one that never reads is dropped when idle: the loop closes it */
	slow = raw_connect(x);
	assert_int_equal(write(slow, req, len), (ssize_t)len);
	usleep((LVSD_CTL_IDLE_MS + 1000) * 1000);
	{
		char buf[65536];
		ssize_t n;
		size_t total = 0;

		while ((n = read(slow, buf, sizeof(buf))) > 0)
			total += (size_t)n;
		/* what had been written before it gave up, then EOF */
		assert_int_equal(n, 0);
		assert_true(total > 0);
		assert_true(total < LVS_CTL_REP_HDR_LEN + 250000);
	}
	close(slow);
}

/* SIGTERM ends the loop within a second while clients hang mid-request
 * and one does not read its reply. */
static void test_sigterm_with_hung_clients(void **state)
{
	struct fx *x = *state;
	static const char *const argv[] = {"lvsadm", "-L", "-n"};
	char *rules = many_rules();
	uint8_t req[128];
	size_t len = request(req, sizeof(req), 3, argv);
	struct result r;
	int fds[8];
	double ms;

	r = call("-R", rules);
	assert_int_equal(r.rc, 0);
	result_free(&r);
	free(rules);
	for (int i = 0; i < 8; i++) {
		fds[i] = raw_connect(x);
		if (i % 3 == 1)
			assert_int_equal(write(fds[i], req, 7), 7);
		if (i % 3 == 2)
			assert_int_equal(write(fds[i], req, len), (ssize_t)len);
	}
	usleep(100 * 1000);
	ms = fx_stop(x);
	assert_true(ms < 1000);
	assert_int_equal(x->run_rc, 0);
	assert_int_equal(__atomic_load_n(&x->d.stopping, __ATOMIC_RELAXED), 1);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
}

static unsigned ticks_seen;

static void count_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	__atomic_add_fetch(&ticks_seen, 1, __ATOMIC_RELAXED);
}

struct bg_call {
	pthread_t th;
	const char *cmd, *in;
	struct result r;
};

static void *bg_call_main(void *arg)
{
	struct bg_call *b = arg;

	b->r = call(b->cmd, b->in);
	return NULL;
}

/* A large -R runs as a job of many short steps with the loop's other
 * events between them (a 1 ms timer keeps firing meanwhile); a request
 * that arrives while the job runs waits for it and sees the whole table
 * (before the job's end the published table is still empty). */
static void test_restore_runs_in_steps(void **state)
{
	struct fx *x = *state;
	struct timeval ms1 = {.tv_usec = 1000};
	struct event *tick =
	        lvsd_loop_event_new(x->d.loop, -1, EV_PERSIST, "test tick", count_tick, NULL);
	static const char *const argv[] = {"lvsadm", "-S", "-n"};
	char *rules = many_rules(), *body;
	struct bg_call bg = {.cmd = "-R", .in = rules};
	struct lvsd_loop_stats st0, st1;
	uint8_t req[128], rh[LVS_CTL_REP_HDR_LEN];
	size_t len = request(req, sizeof(req), 3, argv), got = 0;
	struct lvs_ctl_rep rp;
	unsigned before, lines = 0;
	int fd, waited = 0;

	assert_non_null(tick);
	x->cst.step_ns = 20000; /* 20 us steps: many of them */
	assert_int_equal(event_add(tick, &ms1), 0);
	usleep(20 * 1000);
	lvsd_loop_get_stats(x->d.loop, &st0);
	before = __atomic_load_n(&ticks_seen, __ATOMIC_RELAXED);
	fd = raw_connect(x);
	assert_int_equal(pthread_create(&bg.th, NULL, bg_call_main, &bg), 0);
	while (!__atomic_load_n(&x->cst.job, __ATOMIC_ACQUIRE) && waited++ < 20000)
		usleep(50);
	assert_true(waited < 20000); /* the job began */
	assert_int_equal(write(fd, req, len), (ssize_t)len);
	assert_int_equal(pthread_join(bg.th, NULL), 0);
	assert_int_equal(bg.r.rc, 0);
	result_free(&bg.r);
	lvsd_loop_get_stats(x->d.loop, &st1);
	/* 4,503 lines parsed and applied 64 at a time at most */
	assert_true(st1.callbacks - st0.callbacks > 4503 / 64);
	assert_true(__atomic_load_n(&ticks_seen, __ATOMIC_RELAXED) > before);
	{
		struct pollfd p = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 2000), 1);
	}
	assert_int_equal(read(fd, rh, sizeof(rh)), (ssize_t)sizeof(rh));
	assert_int_equal(lvs_ctl_rep_decode(rh, &rp), 0);
	assert_int_equal(rp.status, 0);
	body = malloc(rp.out_len + 1);
	assert_non_null(body);
	while (got < rp.out_len) {
		ssize_t n = read(fd, body + got, rp.out_len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	for (size_t i = 0; i < got; i++)
		lines += body[i] == '\n';
	assert_int_equal(lines, 4503); /* the whole table */
	free(body);
	free(rules);
	close(fd);
	fx_stop(x);
	lvsd_loop_event_free(tick);
}

/* Every callback is timed; the longest is kept with its name. */
static void test_longest_callback(void **state)
{
	struct fx *x = *state;
	struct lvsd_loop_stats st;
	char *rules = many_rules(), *text = NULL;
	size_t tlen = 0;
	struct result r;
	FILE *f;
	double ms;
	char name[64];

	r = call("-Ln", NULL);
	assert_int_equal(r.rc, 0);
	result_free(&r);
	/* a big restore is the longest thing the loop does here: it runs as a
	 * job in steps (LVSD_CTL_STEP_NS each), so its longest step or the
	 * request that began it is the longest callback */
	r = call("-R", rules);
	assert_int_equal(r.rc, 0);
	result_free(&r);
	free(rules);
	fx_stop(x);
	lvsd_loop_get_stats(x->d.loop, &st);
	assert_true(st.callbacks >= 4);
	assert_true(st.longest_ns > 0);
	if (strcmp(st.longest_name, "ctl job step"))
		assert_string_equal(st.longest_name, "ctl request");
	f = open_memstream(&text, &tlen);
	lvsd_loop_print_stats(x->d.loop, f);
	fclose(f);
	assert_int_equal(sscanf(text, "Control thread: longest callback %lf ms (%63[^)])", &ms,
	                        name),
	                 2);
	assert_string_equal(name, st.longest_name);
	assert_true(ms > 0 && fabs(ms - (double)st.longest_ns / 1e6) < 0.051);
	free(text);
}

/* The 2 s tick runs (no worker holds a grace period) and frees what the
 * model deleted; lvsadm --rate works off its estimators. */
static void test_tick_runs(void **state)
{
	struct fx *x = *state;
	struct lvsd_loop_stats st;
	struct result r;

	r = call("-A -t 10.0.0.1:80", NULL);
	result_free(&r);
	r = call("-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m", NULL);
	result_free(&r);
	r = call("-d -t 10.0.0.1:80 -r 10.1.0.1:80", NULL);
	assert_int_equal(r.rc, 0);
	result_free(&r);
	usleep((LVSD_CTL_TICK_MS + 400) * 1000);
	fx_stop(x);
	lvsd_loop_get_stats(x->d.loop, &st);
	assert_true(st.ticks >= 1);
	/* the deleted destination had no connection: the gc freed it */
	assert_int_equal(lvs_model_trash(x->d.dir.model, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_stalled_clients_do_not_delay_others,
	                                        fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_unread_large_reply, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_sigterm_with_hung_clients, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_longest_callback, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_restore_runs_in_steps, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_tick_runs, fx_setup, fx_teardown),
	};

	/* as lvsd does: the loop reads them from a signalfd, no thread
	 * takes them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
