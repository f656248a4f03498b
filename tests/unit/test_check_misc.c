/*
 * test_check_misc.c - the checkers that are not HTTP or TCP, each against
 * a real local endpoint on loopback: MISC_CHECK (scripts: exit codes,
 * misc_dynamic, a timeout that kills and reaps, no zombie left),
 * UDP_CHECK (an echo socket, a closed port), DNS_CHECK (a responder
 * thread with crafted replies), PING_CHECK (127.0.0.1, ::1), SMTP_CHECK
 * (a server thread: good, bad banner, hanging) and FILE_CHECK (values,
 * weights, a missing file).  Each checker must deliver its verdict from
 * the loop (never inside start), by the probe's deadline, and free
 * everything on cancel.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker.h"

/* ---- the harness ---- */

struct verdict {
	int calls;
	enum lvs_probe_result r;
	int32_t weight;
	char why[160];
	uint64_t at_ns;
};

static void t_done(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight, const char *why)
{
	struct verdict *v = p->done_arg;

	v->calls++;
	v->r = r;
	v->weight = weight;
	snprintf(v->why, sizeof(v->why), "%s", why ? why : "");
	v->at_ns = lvs_probe_now_ns();
}

struct fx {
	struct event_base *base;
	struct ka_checker ck;
	struct ka_track_file tf;
	struct lvs_probe p;
	struct verdict v;
	char dir[64];
};

static void probe_init(struct fx *x, enum ka_check_type t, uint8_t af, const char *ip,
		       uint16_t port, uint64_t budget_ms)
{
	memset(&x->p, 0, sizeof(x->p));
	memset(&x->v, 0, sizeof(x->v));
	x->ck.type = t;
	x->p.base = x->base;
	x->p.cfg = &x->ck;
	x->p.af = af;
	x->p.addr = af == AF_INET6 ? t_ip6(ip) : t_ip4(ip);
	x->p.port = port;
	x->p.timeout_us = budget_ms * 1000;
	x->p.deadline_ns = lvs_probe_now_ns() + budget_ms * 1000000ull;
	x->p.name = "test";
	x->p.done = t_done;
	x->p.done_arg = &x->v;
}

/* Start the probe and run the loop until done (or 10 s); returns start's value. */
static int run(struct fx *x, const struct lvs_checker_ops *ops)
{
	uint64_t give_up = lvs_probe_now_ns() + 10000000000ull;
	int rc = ops->start(&x->p);

	assert_int_equal(x->v.calls, 0); /* never inside start */
	if (rc)
		return rc;
	while (!x->v.calls && lvs_probe_now_ns() < give_up)
		event_base_loop(x->base, EVLOOP_ONCE);
	assert_int_equal(x->v.calls, 1);
	/* by the deadline (the loop's own wake-up may be a little late) */
	assert_true(x->v.at_ns <= x->p.deadline_ns + 50000000ull);
	assert_null(x->p.priv);
	return 0;
}

/* Run the probe and check its verdict (and that why contains why_part). */
static void expect(struct fx *x, const struct lvs_checker_ops *ops, enum lvs_probe_result r,
		   const char *why_part)
{
	assert_int_equal(run(x, ops), 0);
	assert_int_equal(x->v.r, r);
	if (why_part)
		assert_non_null(strstr(x->v.why, why_part));
}

/* Run the loop for ms, to let reapers and stray events fire. */
static void spin(struct fx *x, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(x->base, &tv);
	event_base_dispatch(x->base);
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	x->base = event_base_new();
	snprintf(x->dir, sizeof(x->dir), "/tmp/lvs-chk-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	chmod(x->dir, 0755); /* the `user` test runs a script as nobody */
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char cmd[128];

	event_base_free(x->base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static const char *write_file(struct fx *x, const char *name, const char *text, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

/* ---- MISC_CHECK ---- */

/* Our children, zombies included, from /proc. */
static int children(void)
{
	char path[300], buf[512], *rp;
	struct dirent *d;
	DIR *dir = opendir("/proc");
	int n = 0;

	assert_non_null(dir);
	while ((d = readdir(dir))) {
		FILE *f;
		int ppid;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) &&
		    sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

static void no_children_left(struct fx *x)
{
	for (int i = 0; i < 100 && children(); i++)
		spin(x, 20);
	assert_int_equal(children(), 0);
}

static void misc(struct fx *x, const char *cmdline, bool dynamic, uint64_t timeout_ms,
		 uint64_t budget_ms)
{
	static char line[256];

	snprintf(line, sizeof(line), "%s", cmdline);
	memset(&x->ck, 0, sizeof(x->ck));
	x->ck.misc_path = line;
	x->ck.misc_dynamic = dynamic;
	x->ck.misc_timeout = timeout_ms * 1000;
	probe_init(x, KA_CHECK_MISC, AF_INET, "127.0.0.1", 80, budget_ms);
}

static void test_misc_exit_codes(void **state)
{
	struct fx *x = *state;
	char cmd[192];
	const char *ok = write_file(x, "ok.sh", "#!/bin/sh\nexit 0\n", 0755);

	misc(x, ok, false, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);
	assert_int_equal(x->v.weight, -1);

	write_file(x, "one.sh", "#!/bin/sh\nexit 1\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/one.sh", x->dir);
	misc(x, cmd, true, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "exit 1");

	/* 7 with misc_dynamic: up with weight 5; without: down */
	write_file(x, "seven.sh", "#!/bin/sh\nexit 7\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/seven.sh", x->dir);
	misc(x, cmd, true, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);
	assert_int_equal(x->v.weight, 5);
	misc(x, cmd, false, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "exit 7");
	no_children_left(x);
}

static void test_misc_command_line(void **state)
{
	struct fx *x = *state;
	char cmd[256];

	/* words and quotes as keepalived splits them: exit 3 → weight 1 */
	misc(x, "/bin/sh -c 'exit \"$0\"' 3", true, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);
	assert_int_equal(x->v.weight, 1);

	/* arguments reach the program; a script without #! runs under /bin/sh */
	write_file(x, "args", "[ \"$1\" = \"a b\" ] && [ \"$2\" = 'c' ] && exit 0\nexit 1\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/args \"a b\" c", x->dir);
	misc(x, cmd, false, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);

	/* stdin, stdout and stderr are /dev/null */
	write_file(x, "stdio.sh",
		   "#!/bin/sh\n[ \"$(readlink /proc/self/fd/0)\" = /dev/null ] || exit 1\n"
		   "[ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] || exit 1\n"
		   "[ \"$(readlink /proc/$$/fd/2)\" = /dev/null ] || exit 1\nexit 0\n",
		   0755);
	snprintf(cmd, sizeof(cmd), "%s/stdio.sh", x->dir);
	misc(x, cmd, false, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);

	/* a program that cannot run: start fails, nothing is left behind */
	snprintf(cmd, sizeof(cmd), "%s/missing", x->dir);
	misc(x, cmd, false, 0, 3000);
	assert_int_equal(run(x, &lvs_check_misc), -ENOENT);
	misc(x, "/bin/sh -c 'unterminated", false, 0, 3000);
	assert_int_equal(run(x, &lvs_check_misc), -EINVAL);

	/* killed by a signal of its own */
	misc(x, "/bin/sh -c 'kill -TERM $$'", false, 0, 3000);
	expect(x, &lvs_check_misc, LVS_PROBE_FAIL, "signal 15");
	no_children_left(x);
}

static void test_misc_timeout(void **state)
{
	struct fx *x = *state;

	/* misc_timeout 300 ms: the group (sh and its sleep) is killed and reaped */
	misc(x, "/bin/sh -c 'sleep 30; exit 0'", false, 300, 5000);
	expect(x, &lvs_check_misc, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "timeout");
	assert_int_equal(children(), 0);

	/* misc_timeout 0: the probe's budget */
	misc(x, "/bin/sh -c 'sleep 30'", false, 0, 300);
	expect(x, &lvs_check_misc, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "timeout");
	no_children_left(x);
}

static void test_misc_user(void **state)
{
	struct fx *x = *state;
	char cmd[192];

	if (geteuid() != 0) {
		skip();
		return;
	}
	write_file(x, "whoami.sh",
		   "#!/bin/sh\n[ \"$(id -u)\" = 65534 ] && [ \"$(id -g)\" = 65534 ] && exit 0\n"
		   "exit 1\n",
		   0755);
	snprintf(cmd, sizeof(cmd), "%s/whoami.sh", x->dir);
	misc(x, cmd, false, 0, 3000);
	x->ck.user = "nobody";
	x->ck.group = "nogroup";
	expect(x, &lvs_check_misc, LVS_PROBE_OK, NULL);

	/* the timeout works the same way on this path */
	misc(x, "/bin/sh -c 'sleep 30'", false, 200, 3000);
	x->ck.user = "nobody";
	assert_int_equal(run(x, &lvs_check_misc), 0);
	assert_string_equal(x->v.why, "timeout");

	misc(x, cmd, false, 0, 3000);
	x->ck.user = "no-such-user-here";
	assert_int_equal(run(x, &lvs_check_misc), -ENOENT);
	no_children_left(x);
}

static void test_misc_cancel(void **state)
{
	struct fx *x = *state;

	misc(x, "/bin/sh -c 'sleep 30'", false, 0, 5000);
	assert_int_equal(lvs_check_misc.start(&x->p), 0);
	spin(x, 50);
	lvs_check_misc.cancel(&x->p);
	assert_null(x->p.priv);
	no_children_left(x); /* the reaper collects it from the loop */
	assert_int_equal(x->v.calls, 0);

	/* cancelled before the loop ever ran */
	misc(x, "/bin/sh -c 'sleep 30'", false, 0, 5000);
	assert_int_equal(lvs_check_misc.start(&x->p), 0);
	lvs_check_misc.cancel(&x->p);
	no_children_left(x);
	assert_int_equal(x->v.calls, 0);
}

/* ---- FILE_CHECK ---- */

static void file_probe(struct fx *x, const char *path, int32_t tf_weight, int32_t weight,
		       bool reverse)
{
	static char pathbuf[128];

	snprintf(pathbuf, sizeof(pathbuf), "%s", path);
	memset(&x->ck, 0, sizeof(x->ck));
	memset(&x->tf, 0, sizeof(x->tf));
	x->tf.name = "tf";
	x->tf.path = pathbuf;
	x->tf.weight = tf_weight;
	x->ck.track_file = "tf";
	x->ck.tf = &x->tf;
	x->ck.file_weight = weight;
	x->ck.file_weight_reverse = reverse;
	probe_init(x, KA_CHECK_FILE, AF_INET, "127.0.0.1", 80, 1000);
}

static void test_file(void **state)
{
	struct fx *x = *state;
	char missing[128], fifo[128];
	const char *p;

	/* weight 1 (the track_file's default): the value adjusts the weight */
	p = write_file(x, "zero", "0\n", 0644);
	file_probe(x, p, 1, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);
	assert_string_equal(x->v.why, "");
	assert_true(x->p.has_delta);
	assert_int_equal(x->p.delta, 0);

	p = write_file(x, "five", "5\n", 0644);
	file_probe(x, p, 1, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);
	assert_int_equal(x->v.weight, -1); /* not an absolute weight: an adjustment */
	assert_true(x->p.has_delta);
	assert_int_equal(x->p.delta, 5);

	/* the checker's weight over the track_file's, reverse, strtol base 0 */
	p = write_file(x, "hex", "0x10", 0644);
	file_probe(x, p, 1, 3, true);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);
	assert_int_equal(x->p.delta, -48);

	/* a missing file reads as 0 */
	snprintf(missing, sizeof(missing), "%s/missing", x->dir);
	file_probe(x, missing, 1, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);

	/* weight 0: 0 is up, anything else down; reverse turns it round */
	p = write_file(x, "five", "5\n", 0644);
	file_probe(x, p, 0, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "value 5");
	assert_false(x->p.has_delta);
	file_probe(x, missing, 0, 0, false);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);
	file_probe(x, missing, 0, 0, true);
	expect(x, &lvs_check_file, LVS_PROBE_FAIL, NULL);

	/* the fault value, and a number out of range */
	p = write_file(x, "min", "-2147483648", 0644);
	file_probe(x, p, 1, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_FAIL, NULL);
	p = write_file(x, "big", "99999999999", 0644);
	file_probe(x, p, 1, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_FAIL, "invalid number");

	/* a FIFO is never opened (that would block): read as missing */
	snprintf(fifo, sizeof(fifo), "%s/fifo", x->dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	file_probe(x, fifo, 0, INT32_MIN, false);
	expect(x, &lvs_check_file, LVS_PROBE_OK, NULL);

	/* cancelled before its timer fired: no verdict, nothing leaks */
	file_probe(x, fifo, 0, INT32_MIN, false);
	assert_int_equal(lvs_check_file.start(&x->p), 0);
	lvs_check_file.cancel(&x->p);
	spin(x, 10);
	assert_int_equal(x->v.calls, 0);
}

/* ---- UDP_CHECK and DNS_CHECK: datagram servers on the same loop ---- */

enum srv_mode { SRV_ECHO, SRV_SILENT, SRV_DNS_GOOD, SRV_DNS_WRONG_ID, SRV_DNS_WRONG_THEN_GOOD,
		SRV_DNS_NXDOMAIN, SRV_DNS_QUERY_BIT };

struct dgram_srv {
	int fd;
	uint16_t port;
	enum srv_mode mode;
	struct event *ev;
	int got;
	uint8_t last[512];
	size_t last_len;
};

static void srv_reply_dns(struct dgram_srv *s, uint8_t *b, size_t n, struct sockaddr *from,
			  socklen_t fl)
{
	uint8_t r[600];

	assert_true(n >= 12 && n < 512);
	memcpy(r, b, n);
	r[2] = 0x81; /* QR, RD */
	r[3] = 0x80; /* RA, RCODE 0 */
	if (s->mode == SRV_DNS_NXDOMAIN)
		r[3] |= 3;
	if (s->mode == SRV_DNS_QUERY_BIT)
		r[2] &= 0x7f;
	if (s->mode == SRV_DNS_WRONG_ID || s->mode == SRV_DNS_WRONG_THEN_GOOD) {
		r[1] ^= 0x5a;
		sendto(s->fd, r, n, 0, from, fl);
		if (s->mode == SRV_DNS_WRONG_ID)
			return;
		r[1] ^= 0x5a;
	}
	/* a short datagram first, which must be skipped */
	sendto(s->fd, r, 5, 0, from, fl);
	sendto(s->fd, r, n, 0, from, fl);
}

static void srv_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dgram_srv *s = arg;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	uint8_t b[512];
	ssize_t n;

	(void)what;
	n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return;
	s->got++;
	memcpy(s->last, b, (size_t)n);
	s->last_len = (size_t)n;
	if (s->mode == SRV_ECHO)
		sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	else if (s->mode != SRV_SILENT)
		srv_reply_dns(s, b, (size_t)n, (struct sockaddr *)&from, fl);
}

static void srv_open(struct fx *x, struct dgram_srv *s, uint8_t af, enum srv_mode mode)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(s, 0, sizeof(*s));
	memset(&ss, 0, sizeof(ss));
	s->mode = mode;
	s->fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(s->fd >= 0);
	if (af == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	assert_int_equal(bind(s->fd, (struct sockaddr *)&ss,
			      af == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)),
			 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&ss, &sl), 0);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sin6 */
	s->ev = event_new(x->base, s->fd, EV_READ | EV_PERSIST, srv_cb, s);
	event_add(s->ev, NULL);
}

static void srv_close(struct dgram_srv *s)
{
	event_free(s->ev);
	close(s->fd);
}

static void udp_probe(struct fx *x, uint8_t af, uint16_t port, uint64_t budget_ms)
{
	memset(&x->ck, 0, sizeof(x->ck));
	probe_init(x, KA_CHECK_UDP, af, af == AF_INET6 ? "::1" : "127.0.0.1", port, budget_ms);
}

static void test_udp(void **state)
{
	struct fx *x = *state;
	struct dgram_srv s;
	uint8_t payload[4] = {0xde, 0xad, 0xbe, 0xef};
	uint16_t closed;

	/* an echo server: up; no payload sends keepalived's 32-byte filler */
	srv_open(x, &s, AF_INET, SRV_ECHO);
	udp_probe(x, AF_INET, s.port, 2000);
	x->ck.require_reply = true;
	expect(x, &lvs_check_udp, LVS_PROBE_OK, NULL);
	assert_int_equal(s.last_len, 32);
	assert_memory_equal(s.last, "keepalived check - keepalived ch", 32);

	/* the payload is sent; a reply shorter than min_reply_length fails */
	udp_probe(x, AF_INET, s.port, 2000);
	x->ck.payload = payload;
	x->ck.payload_len = sizeof(payload);
	x->ck.require_reply = true;
	x->ck.min_reply_length = 10;
	expect(x, &lvs_check_udp, LVS_PROBE_FAIL, NULL);
	assert_memory_equal(s.last, payload, 4);
	assert_non_null(strstr(x->v.why, "reply of 4 bytes"));
	/* require_reply's string: the echo must start so (X: any nibble) */
	{
		uint8_t want[3] = {0xde, 0x0d, 0xbe}, mask[3] = {0, 0xf0, 0};

		udp_probe(x, AF_INET, s.port, 2000);
		x->ck.payload = payload;
		x->ck.payload_len = sizeof(payload);
		x->ck.require_reply = true;
		x->ck.reply_data = want;
		x->ck.reply_mask = mask;
		x->ck.reply_len = 3;
		expect(x, &lvs_check_udp, LVS_PROBE_OK, NULL);
		udp_probe(x, AF_INET, s.port, 2000);
		x->ck.payload = payload;
		x->ck.payload_len = sizeof(payload);
		x->ck.require_reply = true;
		x->ck.reply_data = want;
		x->ck.reply_len = 3; /* no mask: 0x0d must be 0xad */
		expect(x, &lvs_check_udp, LVS_PROBE_FAIL, "reply does not match require_reply");
	}
	/* and one longer than max_reply_length */
	udp_probe(x, AF_INET, s.port, 2000);
	x->ck.require_reply = true;
	x->ck.max_reply_length = 16;
	expect(x, &lvs_check_udp, LVS_PROBE_FAIL, NULL);
	srv_close(&s);

	/* a silent server: up without require_reply (at the deadline), down with it */
	srv_open(x, &s, AF_INET, SRV_SILENT);
	udp_probe(x, AF_INET, s.port, 200);
	expect(x, &lvs_check_udp, LVS_PROBE_OK, NULL);
	udp_probe(x, AF_INET, s.port, 200);
	x->ck.require_reply = true;
	expect(x, &lvs_check_udp, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "no reply");
	closed = s.port;
	srv_close(&s);

	/* a closed port answers with ICMP port unreachable: down at once */
	udp_probe(x, AF_INET, closed, 3000);
	expect(x, &lvs_check_udp, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "ICMP unreachable: Connection refused");

	/* IPv6 */
	srv_open(x, &s, AF_INET6, SRV_ECHO);
	udp_probe(x, AF_INET6, s.port, 2000);
	x->ck.require_reply = true;
	expect(x, &lvs_check_udp, LVS_PROBE_OK, NULL);
	closed = s.port;
	srv_close(&s);
	udp_probe(x, AF_INET6, closed, 3000);
	expect(x, &lvs_check_udp, LVS_PROBE_FAIL, NULL);

	/* cancel while waiting */
	srv_open(x, &s, AF_INET, SRV_SILENT);
	udp_probe(x, AF_INET, s.port, 2000);
	assert_int_equal(lvs_check_udp.start(&x->p), 0);
	spin(x, 20);
	lvs_check_udp.cancel(&x->p);
	assert_null(x->p.priv);
	spin(x, 20);
	assert_int_equal(x->v.calls, 0);
	srv_close(&s);
}

static void dns_probe(struct fx *x, uint8_t af, uint16_t port, const char *type,
		      const char *name, uint64_t budget_ms)
{
	memset(&x->ck, 0, sizeof(x->ck));
	x->ck.dns_type = (char *)type;
	x->ck.dns_name = (char *)name;
	probe_init(x, KA_CHECK_DNS, af, af == AF_INET6 ? "::1" : "127.0.0.1", port, budget_ms);
}

static void test_dns(void **state)
{
	struct fx *x = *state;
	struct dgram_srv s;
	static const uint8_t q_example[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm',
					    0, 0, 28, 0, 1};

	/* a good reply (after a runt that is skipped); the query as RFC 1035 says */
	srv_open(x, &s, AF_INET, SRV_DNS_GOOD);
	dns_probe(x, AF_INET, s.port, "AAAA", "example.com.", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_OK, NULL);
	assert_int_equal(s.last_len, 12 + sizeof(q_example));
	assert_int_equal(s.last[2], 0x01); /* RD */
	assert_int_equal(s.last[5], 1);    /* QDCOUNT */
	assert_memory_equal(s.last + 12, q_example, sizeof(q_example));
	/* the root, SOA by default */
	dns_probe(x, AF_INET, s.port, NULL, "", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_OK, NULL);
	assert_int_equal(s.last_len, 12 + 5);
	assert_int_equal(s.last[12], 0);
	assert_int_equal(s.last[14], 6);
	/* bad names and types never leave */
	dns_probe(x, AF_INET, s.port, "A", "a..b", 2000);
	assert_int_equal(run(x, &lvs_check_dns), -EINVAL);
	dns_probe(x, AF_INET, s.port, "PTR", "", 2000);
	assert_int_equal(run(x, &lvs_check_dns), -EINVAL);
	srv_close(&s);

	/* a reply with another id is ignored: timeout; then one that follows it counts */
	srv_open(x, &s, AF_INET, SRV_DNS_WRONG_ID);
	dns_probe(x, AF_INET, s.port, "A", "example.com", 300);
	expect(x, &lvs_check_dns, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "timeout");
	s.mode = SRV_DNS_WRONG_THEN_GOOD;
	dns_probe(x, AF_INET, s.port, "A", "example.com", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_OK, NULL);
	/* QR clear: not a reply */
	s.mode = SRV_DNS_QUERY_BIT;
	dns_probe(x, AF_INET, s.port, "A", "example.com", 300);
	expect(x, &lvs_check_dns, LVS_PROBE_FAIL, NULL);
	/* RCODE 3 */
	s.mode = SRV_DNS_NXDOMAIN;
	dns_probe(x, AF_INET, s.port, "A", "example.com", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_FAIL, NULL);
	assert_string_equal(x->v.why, "DNS rcode 3 NXDOMAIN");
	srv_close(&s);

	/* IPv6, and a closed port */
	srv_open(x, &s, AF_INET6, SRV_DNS_GOOD);
	dns_probe(x, AF_INET6, s.port, "MX", "example.com", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_OK, NULL);
	srv_close(&s);
	dns_probe(x, AF_INET6, s.port, "MX", "example.com", 2000);
	expect(x, &lvs_check_dns, LVS_PROBE_FAIL, "unreachable");

	/* cancel while waiting */
	srv_open(x, &s, AF_INET, SRV_SILENT);
	dns_probe(x, AF_INET, s.port, "A", "example.com", 2000);
	assert_int_equal(lvs_check_dns.start(&x->p), 0);
	lvs_check_dns.cancel(&x->p);
	spin(x, 20);
	assert_int_equal(x->v.calls, 0);
	srv_close(&s);
}

/* ---- PING_CHECK ---- */

static void test_ping(void **state)
{
	struct fx *x = *state;

	memset(&x->ck, 0, sizeof(x->ck));
	probe_init(x, KA_CHECK_PING, AF_INET, "127.0.0.1", 0, 2000);
	expect(x, &lvs_check_ping, LVS_PROBE_OK, NULL);

	probe_init(x, KA_CHECK_PING, AF_INET6, "::1", 80, 2000);
	expect(x, &lvs_check_ping, LVS_PROBE_OK, NULL);

	/* cancel before the reply is read */
	probe_init(x, KA_CHECK_PING, AF_INET, "127.0.0.1", 0, 2000);
	assert_int_equal(lvs_check_ping.start(&x->p), 0);
	lvs_check_ping.cancel(&x->p);
	spin(x, 20);
	assert_int_equal(x->v.calls, 0);
}

/* ---- SMTP_CHECK: a server thread per endpoint ---- */

enum smtp_mode { SMTP_GOOD, SMTP_554, SMTP_HANG, SMTP_NO_QUIT_REPLY, SMTP_HELO_500 };

struct smtp_srv {
	int lfd;
	uint16_t port;
	enum smtp_mode mode;
	volatile int stop;
	pthread_t th;
	char helo[256];
	int conns;
};

static bool srv_line(int fd, char *out, size_t len)
{
	size_t n = 0;
	char c;

	while (recv(fd, &c, 1, 0) == 1) {
		if (c == '\n') {
			out[n] = '\0';
			return true;
		}
		if (n + 1 < len)
			out[n++] = c;
	}
	return false;
}

static void srv_say(int fd, const char *s)
{
	(void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

static void *smtp_main(void *arg)
{
	struct smtp_srv *s = arg;

	while (!s->stop) {
		struct pollfd pfd = {s->lfd, POLLIN, 0};
		struct timeval tv = {2, 0};
		char line[256];
		int fd;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		s->conns++;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		switch (s->mode) {
		case SMTP_HANG:
			while (!s->stop)
				usleep(10000);
			break;
		case SMTP_554:
			srv_say(fd, "554 no service\r\n");
			srv_line(fd, line, sizeof(line));
			break;
		default:
			/* a multi-line greeting, split across writes */
			srv_say(fd, "220-mail.example ESMTP\r\n220");
			usleep(20000);
			srv_say(fd, " ready\r\n");
			if (!srv_line(fd, line, sizeof(line)))
				break;
			snprintf(s->helo, sizeof(s->helo), "%s", line);
			if (s->mode == SMTP_HELO_500) {
				srv_say(fd, "500 what\r\n");
				srv_line(fd, line, sizeof(line));
				break;
			}
			srv_say(fd, "250-mail.example\r\n250 pleased to meet you\r\n");
			if (!srv_line(fd, line, sizeof(line)) || strcmp(line, "QUIT\r"))
				break;
			if (s->mode == SMTP_GOOD)
				srv_say(fd, "221 bye\r\n");
		}
		close(fd);
	}
	return NULL;
}

static void smtp_srv_start(struct smtp_srv *s, enum smtp_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, smtp_main, s), 0);
}

static void smtp_srv_stop(struct smtp_srv *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static void smtp_probe(struct fx *x, uint16_t port, uint64_t budget_ms)
{
	memset(&x->ck, 0, sizeof(x->ck));
	x->ck.conn.connect_port = KA_UNSET_U32;
	x->ck.conn.bind_port = KA_UNSET_U32;
	x->ck.conn.connect_timeout = budget_ms * 1000;
	x->ck.helo_name = "lvs.test";
	probe_init(x, KA_CHECK_SMTP, AF_INET, "127.0.0.1", port, budget_ms);
}

static void smtp_host(struct ka_smtp_host *h, uint16_t port)
{
	memset(h, 0, sizeof(*h));
	h->conn.connect_port = port;
	h->conn.bind_port = KA_UNSET_U32;
	h->conn.connect_timeout = KA_UNSET_TIME;
}

static void test_smtp(void **state)
{
	struct fx *x = *state;
	struct smtp_srv good, bad, hang, noquit, helo500;
	struct ka_smtp_host h1, h2;

	smtp_srv_start(&good, SMTP_GOOD);
	smtp_srv_start(&bad, SMTP_554);
	smtp_srv_start(&hang, SMTP_HANG);
	smtp_srv_start(&noquit, SMTP_NO_QUIT_REPLY);
	smtp_srv_start(&helo500, SMTP_HELO_500);

	/* 220 (multi-line, in pieces), HELO, 250 (multi-line), QUIT, 221 */
	smtp_probe(x, good.port, 3000);
	expect(x, &lvs_check_smtp, LVS_PROBE_OK, NULL);
	assert_string_equal(good.helo, "HELO lvs.test\r");

	smtp_probe(x, bad.port, 3000);
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "greeting 554");

	smtp_probe(x, helo500.port, 3000);
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "HELO reply 500");

	/* a server that says nothing: timeout by the deadline */
	smtp_probe(x, hang.port, 300);
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "timeout");

	/* closing without a reply to QUIT fails, as in keepalived */
	smtp_probe(x, noquit.port, 3000);
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "connection closed");

	/* hosts without connection options on the checker: the hosts only,
	 * all must pass (the probe's own port, the hanging one, is not used) */
	smtp_probe(x, hang.port, 3000);
	smtp_host(&h1, good.port);
	smtp_host(&h2, good.port);
	h1.next = &h2;
	x->ck.hosts = &h1;
	int before = hang.conns;
	expect(x, &lvs_check_smtp, LVS_PROBE_OK, NULL);
	assert_int_equal(hang.conns, before);
	smtp_probe(x, good.port, 3000);
	smtp_host(&h1, good.port);
	smtp_host(&h2, bad.port);
	h1.next = &h2;
	x->ck.hosts = &h1;
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "greeting 554");
	/* with a connection option the checker's own target is checked too;
	 * a host's connect_timeout bounds it */
	smtp_probe(x, hang.port, 3000);
	x->ck.conn.connect_port = hang.port;
	smtp_host(&h1, good.port);
	x->ck.hosts = &h1;
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, NULL);
	smtp_probe(x, good.port, 3000);
	smtp_host(&h1, hang.port);
	h1.conn.connect_timeout = 200000;
	x->ck.hosts = &h1;
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, NULL);
	assert_true(x->v.at_ns < x->p.deadline_ns - 1000000000ull);

	/* a closed port */
	smtp_probe(x, good.port, 3000);
	x->p.port = noquit.port;
	smtp_srv_stop(&noquit);
	expect(x, &lvs_check_smtp, LVS_PROBE_FAIL, "refused");

	/* cancel mid-conversation */
	smtp_probe(x, hang.port, 3000);
	smtp_host(&h1, hang.port);
	smtp_host(&h2, good.port);
	h1.next = &h2;
	x->ck.hosts = &h1;
	assert_int_equal(lvs_check_smtp.start(&x->p), 0);
	spin(x, 50);
	lvs_check_smtp.cancel(&x->p);
	assert_null(x->p.priv);
	spin(x, 20);
	assert_int_equal(x->v.calls, 0);

	smtp_srv_stop(&good);
	smtp_srv_stop(&bad);
	smtp_srv_stop(&hang);
	smtp_srv_stop(&helo500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_misc_exit_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misc_command_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misc_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misc_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misc_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
