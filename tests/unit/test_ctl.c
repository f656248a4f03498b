/*
 * test_ctl.c - the lvsadm executor and the control socket.
 *
 * In memory: every command class run through lvs_ctl_exec against a real
 * model and connection table, with ipvsadm's exact output (-Ln, --stats,
 * --rate after estimator ticks on a fake clock, -c, --timeout), errors
 * with their texts and exit codes and nothing applied (snapshot generation
 * unchanged), -Z, and -S / -C / -R restoring byte for byte.
 *
 * Over the socket (a unique abstract name via LVSD_CTL_SOCKET): a serving
 * thread and lvs_ctl_call, names resolved by the client, -R with stdin,
 * a non-root peer refused, malformed and silent clients, no daemon.
 */
#include "test_util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "ctl.h"
#include "ctl_proto.h"
#include "model.h"

/* ---- fixture ---- */

static lvs_time_t fake_now;

static lvs_time_t fake_clock(void)
{
	return fake_now;
}

struct fx {
	struct lvs_model *m;
	struct lvs_conn_table *ct;
	struct lvs_ctl_state st;
	char *out, *err;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_now = 1000 * LVS_NS_PER_SEC;
	f->m = lvs_model_new();
	f->ct = lvs_conn_table_new(1024, 1);
	assert_non_null(f->m);
	assert_non_null(f->ct);
	assert_int_equal(lvs_ctl_state_init(&f->st, f->m, f->ct, fake_clock), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	lvs_ctl_state_done(&f->st);
	lvs_conn_table_free(f->ct);
	lvs_model_free(f->m);
	free(f->out);
	free(f->err);
	free(f);
	return 0;
}

/* Split line at blanks into argv ("ipvsadm" first). Returns argc. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;

	argv[argc++] = "ipvsadm";
	for (char *save = NULL, *w = strtok_r(line, " ", &save); w && argc < max - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return argc;
}

/* Run one command line in memory; output in f->out / f->err. */
static int run_in(struct fx *f, const char *cmdline, const char *in)
{
	char line[1024], *argv[64];
	size_t olen, elen;
	FILE *out, *err;
	int argc, rc;

	snprintf(line, sizeof(line), "%s", cmdline);
	argc = split(line, argv, 64);
	free(f->out);
	free(f->err);
	out = open_memstream(&f->out, &olen);
	err = open_memstream(&f->err, &elen);
	rc = lvs_ctl_exec(&f->st, argc, argv, in, in ? strlen(in) : 0, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

static int run(struct fx *f, const char *cmdline)
{
	return run_in(f, cmdline, NULL);
}

static void ok(struct fx *f, const char *cmdline)
{
	int rc = run(f, cmdline);

	if (rc != 0 || f->err[0])
		fail_msg("`%s': rc %d, err \"%s\"", cmdline, rc, f->err);
}

/* cmdline fails with exit code `code` and exactly `msg` on stderr, no
 * output, and changes nothing. */
static void refused(struct fx *f, const char *cmdline, int code, const char *msg)
{
	uint64_t gen = lvs_model_snapshot(f->m)->gen;
	int rc = run(f, cmdline);

	if (rc != code)
		fail_msg("`%s': rc %d, want %d (err \"%s\")", cmdline, rc, code, f->err);
	assert_string_equal(f->err, msg);
	assert_string_equal(f->out, "");
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
}

static struct lvs_service *svc_at(struct fx *f, uint32_t i)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(f->m);

	assert_true(i < s->nsvcs);
	return s->svcs[i];
}

static void set_ctr(struct lvs_counters *c, uint64_t conns, uint64_t inp, uint64_t outp,
                    uint64_t inb, uint64_t outb)
{
	c->conns = conns;
	c->inpkts = inp;
	c->outpkts = outp;
	c->inbytes = inb;
	c->outbytes = outb;
}

#define HDR1024 "IP Virtual Server version 1.2.1 (size=1024)\n"
#define TITLE                                                                                      \
	"Prot LocalAddress:Port Scheduler Flags\n"                                                 \
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
#define STATS_TITLE                                                                                \
	"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"         \
	"  -> RemoteAddress:Port\n"
#define RATE_TITLE                                                                                 \
	"Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"         \
	"  -> RemoteAddress:Port\n"

/* ---- commands and listings ---- */

static void test_add_list_edit_delete(void **state)
{
	struct fx *f = *state;

	ok(f, "-Ln");
	assert_string_equal(f->out, HDR1024 TITLE);

	ok(f, "-A -t 10.0.0.1:80 -s rr");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 2");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.2 -g");
	ok(f, "-A -u 10.0.0.2:53 -p 600 -M 255.255.255.0");
	ok(f, "-A -f 7 -s sh -b sh-port");
	ok(f, "-L -n");
	assert_string_equal(
	        f->out, HDR1024 TITLE
	        "TCP  10.0.0.1:80 rr\n"
	        "  -> 192.168.10.1:8080            Masq    2      0          0         \n"
	        "  -> 192.168.10.2:80              Route   1      0          0         \n"
	        "UDP  10.0.0.2:53 wlc persistent 600 mask 255.255.255.0\n"
	        "FWM  7 sh (sh-port)\n");
	assert_string_equal(f->err, "");

	/* a bare `lvsadm' lists too (names looked up; -n given here via -L) */
	ok(f, "-E -t 10.0.0.1:80 -s wrr");
	ok(f, "-e -t 10.0.0.1:80 -r 192.168.10.2 -w 0");
	ok(f, "-d -t 10.0.0.1:80 -r 192.168.10.1:8080");
	ok(f, "-D -u 10.0.0.2:53");
	ok(f, "-D -f 7");
	ok(f, "-l -n");
	assert_string_equal(
	        f->out, HDR1024 TITLE
	        "TCP  10.0.0.1:80 wrr\n"
	        "  -> 192.168.10.2:80              Route   0      0          0         \n");

	/* one service, and --thresholds, --persistent-conn, --tun-info */
	ok(f, "-e -t 10.0.0.1:80 -r 192.168.10.2 -w 3 -x 100 -y 50");
	ok(f, "-L -n -t 10.0.0.1:80 --thresholds");
	assert_string_equal(
	        f->out,
	        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn "
	        "InActConn \n"
	        "  -> RemoteAddress:Port\n"
	        "TCP  10.0.0.1:80 wrr\n"
	        "  -> 192.168.10.2:80              100        50         0          0         \n");
	ok(f, "-C");
	ok(f, "-Ln");
	assert_string_equal(f->out, HDR1024 TITLE);
}

static void test_errors_change_nothing(void **state)
{
	struct fx *f = *state;

	ok(f, "-A -t 10.0.0.1:80");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1");

	/* refused by the parser: exit 2, or 255 for popt-level errors */
	refused(f, "-A -t 10.0.0.1:80 -w 3", 2,
	        "Illegal 'weight' option with the 'add-service' command\n");
	refused(f, "-A -t 10.0.0.9:0", 2, "Zero port specified for non-persistent service\n");
	refused(f, "-a -t 10.0.0.1:80", 2,
	        "You need to supply the 'real-server' option for the 'add-server' command\n");
	refused(f, "-A -j", 255, "-j: unknown option\n");
	refused(f, "-t 10.0.0.1:80", 255,
	        "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n");
	/* refused by the model ("kernel"): exit 255 with its message */
	refused(f, "-A -t 10.0.0.1:80", 255, "Service already exists\n");
	refused(f, "-A -t 10.0.0.2:80 -s nosuch", 255,
	        "Scheduler or persistence engine not found\n");
	refused(f, "-E -t 10.0.0.2:80", 255, "No such service\n");
	refused(f, "-D -t 10.0.0.2:80", 255, "No such service\n");
	refused(f, "-a -t 10.0.0.1:80 -r 192.168.10.1", 255, "Destination already exists\n");
	refused(f, "-a -t 10.0.0.2:80 -r 192.168.10.1", 255, "Service not defined\n");
	refused(f, "-d -t 10.0.0.1:80 -r 192.168.10.9", 255, "No such destination\n");
	refused(f, "-e -t 10.0.0.1:80 -r 192.168.10.9", 255, "No such destination\n");
	refused(f, "-Z -t 10.0.0.2:80", 255, "No such service\n");
	refused(f, "--start-daemon master", 255,
	        "Connection synchronization is not available here\n");
	/* ipvsadm's list_service(): exit(1) */
	refused(f, "-L -n -t 10.0.0.2:80", 1, "No such service\n");

	ok(f, "-S -n");
	assert_string_equal(f->out, "-A -t 10.0.0.1:80 -s wlc\n"
	                            "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -g -w 1\n");
}

static void test_stats_and_zero(void **state)
{
	struct fx *f = *state;
	struct lvs_service *svc;

	ok(f, "-A -t 10.0.0.1:80");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1");
	ok(f, "-A -t 10.0.0.2:80");
	svc = svc_at(f, 0);
	set_ctr(&svc->st->stats[0], 10, 200, 150, 30000, 1234567890);
	set_ctr(&svc->dests[0]->st->stats[0], 10, 200, 150, 30000, 1234567890);
	set_ctr(&svc_at(f, 1)->st->stats[0], 1, 2, 3, 4, 5);

	ok(f, "-L -n --stats");
	assert_string_equal(
	        f->out, HDR1024 STATS_TITLE
	        "TCP  10.0.0.1:80                        10      200      150    30000    1234M\n"
	        "  -> 192.168.10.1:80                    10      200      150    30000    1234M\n"
	        "TCP  10.0.0.2:80                         1        2        3        4        5\n");
	ok(f, "-L -n --stats --exact -t 10.0.0.1:80");
	assert_string_equal(
	        f->out, STATS_TITLE
	        "TCP  10.0.0.1:80                        10      200      150    30000 1234567890\n"
	        "  -> 192.168.10.1:80                    10      200      150    30000 "
	        "1234567890\n");

	/* -Z of one service leaves the other */
	ok(f, "-Z -t 10.0.0.1:80");
	assert_string_equal(f->out, "");
	ok(f, "-Ln --stats");
	assert_string_equal(
	        f->out, HDR1024 STATS_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n"
	        "TCP  10.0.0.2:80                         1        2        3        4        5\n");
	ok(f, "-Z");
	ok(f, "-Ln --stats");
	assert_string_equal(
	        f->out, HDR1024 STATS_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n"
	        "TCP  10.0.0.2:80                         0        0        0        0        0\n");
}

static void add_ctr(struct lvs_counters *c, uint64_t conns, uint64_t inp, uint64_t outp,
                    uint64_t inb, uint64_t outb)
{
	c->conns += conns;
	c->inpkts += inp;
	c->outpkts += outp;
	c->inbytes += inb;
	c->outbytes += outb;
}

static void test_rate(void **state)
{
	struct fx *f = *state;
	struct lvs_service *svc;

	ok(f, "-A -t 10.0.0.1:80");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1");
	svc = svc_at(f, 0);

	/* before any sample: zeros */
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n");

	lvs_ctl_tick(&f->st); /* estimators start from the current sums */
	/* 2 s of 100 conn/s, 1000/500 pkt/s, 1 MB/s in, 2 MB/s out */
	add_ctr(&svc->st->stats[0], 200, 2000, 1000, 2000000, 4000000);
	add_ctr(&svc->dests[0]->st->stats[0], 200, 2000, 1000, 2000000, 4000000);
	fake_now += 1 * LVS_NS_PER_SEC;
	lvs_ctl_tick(&f->st); /* too early: no sample */
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n");
	fake_now += 1 * LVS_NS_PER_SEC;
	lvs_ctl_tick(&f->st);
	/* the kernel's EWMA after one sample: a quarter of the rate */
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                        25      250      125   250000   500000\n"
	        "  -> 192.168.10.1:80                    25      250      125   250000   500000\n");

	/* an edit keeps the estimator (same state) */
	ok(f, "-E -t 10.0.0.1:80 -s rr");
	ok(f, "-Ln --rate -t 10.0.0.1:80");
	assert_string_equal(
	        f->out, RATE_TITLE
	        "TCP  10.0.0.1:80                        25      250      125   250000   500000\n"
	        "  -> 192.168.10.1:80                    25      250      125   250000   500000\n");

	/* -Z zeroes the rates too, and the next interval starts from there */
	ok(f, "-Z");
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n");
	fake_now += 2 * LVS_NS_PER_SEC;
	lvs_ctl_tick(&f->st);
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n");

	/* a deleted and re-added destination starts a new estimator */
	svc = svc_at(f, 0); /* the edit published a new snapshot */
	add_ctr(&svc->dests[0]->st->stats[0], 400, 0, 0, 0, 0);
	ok(f, "-d -t 10.0.0.1:80 -r 192.168.10.1");
	fake_now += 2 * LVS_NS_PER_SEC;
	lvs_ctl_tick(&f->st);
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1");
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                         0        0        0        0        0\n"
	        "  -> 192.168.10.1:80                     0        0        0        0        0\n");
}

/* The estimators' round in steps gives the same rates as in one go; a
 * service added between two steps is sampled from the next round on. */
static void test_rate_in_steps(void **state)
{
	struct fx *f = *state;
	int steps = 0;

	ok(f, "-A -t 10.0.0.1:80");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1");
	ok(f, "-A -t 10.0.0.2:80");
	ok(f, "-a -t 10.0.0.2:80 -r 192.168.10.2");
	ok(f, "-a -t 10.0.0.2:80 -r 192.168.10.3");
	while (lvs_ctl_est_step(&f->st, 2) == 1)
		steps++;
	assert_int_equal(steps, 1); /* 2 objects, then the other 3 */
	for (uint32_t i = 0; i < 2; i++) {
		struct lvs_service *svc = svc_at(f, i);

		add_ctr(&svc->st->stats[0], 200, 2000, 1000, 2000000, 4000000);
		for (uint32_t j = 0; j < svc->ndests; j++)
			add_ctr(&svc->dests[j]->st->stats[0], 200, 2000, 1000, 2000000, 4000000);
	}
	fake_now += 2 * LVS_NS_PER_SEC;
	assert_int_equal(lvs_ctl_est_step(&f->st, 2), 1);
	ok(f, "-A -t 10.0.0.3:80"); /* between two steps */
	while (lvs_ctl_est_step(&f->st, 2) == 1)
		;
	ok(f, "-Ln --rate");
	assert_string_equal(
	        f->out, HDR1024 RATE_TITLE
	        "TCP  10.0.0.1:80                        25      250      125   250000   500000\n"
	        "  -> 192.168.10.1:80                    25      250      125   250000   500000\n"
	        "TCP  10.0.0.2:80                        25      250      125   250000   500000\n"
	        "  -> 192.168.10.2:80                    25      250      125   250000   500000\n"
	        "  -> 192.168.10.3:80                    25      250      125   250000   500000\n"
	        "TCP  10.0.0.3:80                         0        0        0        0        0\n");
}

static void test_conns_timeout_daemon(void **state)
{
	struct fx *f = *state;
	struct lvs_conn_param p;
	struct lvs_service *svc;

	ok(f, "-A -u 10.0.0.1:53");
	ok(f, "-a -u 10.0.0.1:53 -r 192.168.10.1 -m");
	svc = svc_at(f, 0);

	ok(f, "-Lcn");
	assert_string_equal(f->out, "IPVS connection entries\n"
	                            "pro expire state       source             virtual            "
	                            "destination\n");

	memset(&p, 0, sizeof(p));
	p.af = p.daf = AF_INET;
	p.proto = IPPROTO_UDP;
	p.fwd = LVS_FWD_MASQ;
	p.caddr = t_ip4("203.0.113.5");
	p.vaddr = t_ip4("10.0.0.1");
	p.daddr = t_ip4("192.168.10.1");
	p.cport = htons(40000);
	p.vport = htons(53);
	p.dport = htons(53);
	assert_non_null(lvs_conn_create(f->ct, 0, &p, svc->dests[0]->st, NULL, fake_now));
	fake_now += 10 * LVS_NS_PER_SEC + LVS_NS_PER_SEC / 2;
	ok(f, "-L -c -n");
	assert_string_equal(
	        f->out,
	        "IPVS connection entries\n"
	        "pro expire state       source             virtual            destination\n"
	        "UDP 04:49  UDP         203.0.113.5:40000  10.0.0.1:53        192.168.10.1:53\n");
	/* the destination counts it */
	ok(f, "-Ln");
	assert_string_equal(
	        f->out, HDR1024 TITLE
	        "UDP  10.0.0.1:53 wlc\n"
	        "  -> 192.168.10.1:53              Masq    1      0          1         \n");

	ok(f, "-L --timeout");
	assert_string_equal(f->out, "Timeout (tcp tcpfin udp): 900 120 300\n");
	ok(f, "--set 100 0 30");
	ok(f, "-L --timeout");
	assert_string_equal(f->out, "Timeout (tcp tcpfin udp): 100 120 30\n");
	{
		struct lvs_timeouts to;

		lvs_conn_get_timeouts(f->ct, &to);
		assert_int_equal(to.tcp, 100);
		assert_int_equal(to.tcp_fin, 120);
		assert_int_equal(to.udp, 30);
	}
	refused(f, "--set 1 2", 2, "--set option requires 3 timeout values\n");
	refused(f, "-L --timeout --stats", 2, "options conflicts in the list command\n");

	ok(f, "-L --daemon");
	assert_string_equal(f->out, "");
}

/* A configuration with every kind of line -S writes. */
static const char *const rich_config[] = {
        "-A -t 10.0.0.1:80 -s rr",
        "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 5",
        "-a -t 10.0.0.1:80 -r 192.168.10.2 -g -w 0",
        "-a -t 10.0.0.1:80 -r 192.168.10.3 -i --tun-type gue --tun-port 6080 --tun-csum",
        "-A -u 10.0.0.1:53 -s sh -b sh-fallback,sh-port -o",
        "-a -u 10.0.0.1:53 -r 192.168.10.4 -m",
        "-A -t 10.0.0.3:0 -p 900 -M 255.255.0.0",
        "-A -f 42 -6 -s mh -b mh-port",
        "-a -f 42 -6 -r [2001:db8::10]:0 -i --tun-type gre --tun-nocsum -w 7",
        "-A -t [2001:db8::1]:443 -s lc -p",
        "-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -w 2147483647",
        "--set 800 100 200",
};

static void test_save_clear_restore(void **state)
{
	struct fx *f = *state;
	char *saved, *listed, *listed_t;

	for (size_t i = 0; i < sizeof(rich_config) / sizeof(rich_config[0]); i++)
		ok(f, rich_config[i]);
	ok(f, "-S -n");
	saved = strdup(f->out);
	ok(f, "-Ln");
	listed = strdup(f->out);
	ok(f, "-L --timeout");
	listed_t = strdup(f->out);
	assert_string_equal(
	        saved, "-A -t 10.0.0.1:80 -s rr\n"
	               "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 5\n"
	               "-a -t 10.0.0.1:80 -r 192.168.10.2:80 -g -w 0\n"
	               "-a -t 10.0.0.1:80 -r 192.168.10.3:80 -i -w 1 --tun-type gue "
	               "--tun-port 6080 --tun-csum\n"
	               "-A -t 10.0.0.3:0 -s wlc -p 900 -M 255.255.0.0\n"
	               "-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port\n"
	               "-a -u 10.0.0.1:53 -r 192.168.10.4:53 -m -w 1\n"
	               "-A -t [2001:db8::1]:443 -s lc -p 360\n"
	               "-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -g -w 2147483647\n"
	               "-A -f 42 -6 -s mh -b mh-port\n"
	               "-a -f 42 -6 -r [2001:db8::10]:0 -i -w 7 --tun-type gre --tun-nocsum\n");

	ok(f, "-C");
	ok(f, "-S -n");
	assert_string_equal(f->out, "");
	assert_int_equal(run_in(f, "-R", saved), 0);
	assert_string_equal(f->err, "");
	ok(f, "-S -n");
	assert_string_equal(f->out, saved);
	ok(f, "-Ln");
	assert_string_equal(f->out, listed);

	/* timeouts are not part of -S (as ipvsadm); a rules file may set them */
	assert_string_equal(listed_t, "Timeout (tcp tcpfin udp): 800 100 200\n");
	ok(f, "-L --timeout");
	assert_string_equal(f->out, listed_t);

	/* empty stdin: nothing to do */
	assert_int_equal(run_in(f, "-R", ""), 0);
	ok(f, "-S -n");
	assert_string_equal(f->out, saved);
	free(saved);
	free(listed);
	free(listed_t);
}

static void test_restore_all_or_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t gen;

	ok(f, "-A -t 10.0.0.1:80");
	gen = lvs_model_snapshot(f->m)->gen;

	/* line 3 refused by the model: nothing of lines 1-2 stays */
	assert_int_equal(run_in(f, "-R --atomic",
	                        "-A -t 10.0.0.2:80\n"
	                        "-a -t 10.0.0.2:80 -r 192.168.10.1\n"
	                        "-A -t 10.0.0.1:80\n"),
	                 255);
	assert_string_equal(f->err, "stdin:3: Service already exists\n");
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);

	/* a bad line: exit 2 */
	assert_int_equal(run_in(f, "-R --atomic", "-A -t 10.0.0.2:80\n-A -t 10.0.0.3:80 -w 1\n"),
	                 2);
	assert_string_equal(f->err,
	                    "stdin:2: Illegal 'weight' option with the 'add-service' command\n");
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
	/* a listing is no rules line */
	assert_int_equal(run_in(f, "-R --atomic", "-L -n\n"), 2);
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
	ok(f, "-S -n");
	assert_string_equal(f->out, "-A -t 10.0.0.1:80 -s wlc\n");

	/* `ipvsadm' words and -C inside the file are fine */
	assert_int_equal(run_in(f, "-R --atomic", "ipvsadm -C\nipvsadm -A -u 10.0.0.9:53 -s rr\n"),
	                 0);
	ok(f, "-S -n");
	assert_string_equal(f->out, "-A -u 10.0.0.9:53 -s rr\n");

	/* -R takes no other option; --atomic only goes with -R, once */
	refused(f, "-R -n", 2, "Illegal 'numeric' option with the 'restore' command\n");
	refused(f, "-R --atomic --atomic", 2, "multiple 'atomic' options specified\n");
	refused(f, "-L --atomic", 2, "Illegal 'atomic' option with the 'list' command\n");
}

/* -R as ipvsadm's restore_table(): each line on its own, its messages as
 * ipvsadm prints them, the exit code of the last line, and the lines
 * where ipvsadm exits ending the load with what was applied kept. */
static void test_restore_line_by_line(void **state)
{
	struct fx *f = *state;

	ok(f, "-A -t 10.0.0.1:80");
	/* a refused line and an option error: the next lines still run */
	assert_int_equal(run_in(f, "-R",
	                        "-A -t 10.0.0.2:80\n"
	                        "-A -t 10.0.0.1:80\n"
	                        "\n"
	                        "-a -t 10.0.0.2:80 -r 192.168.10.1 -j\n"
	                        "ipvsadm -a -t 10.0.0.2:80 -r 192.168.10.2 -m\n"
	                        "-e -t 10.0.0.2:80 -r 192.168.10.9\n"),
	                 255);
	assert_string_equal(f->err, "Service already exists\n"
	                            "-j: unknown option\n"
	                            "No such destination\n");
	ok(f, "-S -n");
	assert_string_equal(f->out, "-A -t 10.0.0.1:80 -s wlc\n"
	                            "-A -t 10.0.0.2:80 -s wlc\n"
	                            "-a -t 10.0.0.2:80 -r 192.168.10.2:80 -m -w 1\n");
	/* the last line decides: a good one after a refused one gives 0 */
	assert_int_equal(run_in(f, "-R", "-A -t 10.0.0.1:80\n-D -t 10.0.0.2:80\n"), 0);
	assert_string_equal(f->err, "Service already exists\n");

	/* a bad value ends the load with exit 2 (ipvsadm's fail()), keeping
	 * the lines before; a blank line after "-6 used before -f" */
	assert_int_equal(run_in(f, "-R", "-A -t 10.0.0.3:80\n-A -6 -f 1\n-A -t 10.0.0.4:80\n"), 2);
	assert_string_equal(f->err, "-6 used before -f\n\n");
	ok(f, "-S -n");
	assert_string_equal(f->out, "-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.3:80 -s wlc\n");

	/* a comment is a line that is not a command: the hint, exit 255 */
	assert_int_equal(run_in(f, "-R", "# saved rules\n-A -t 10.0.0.5:80\n"), 255);
	assert_string_equal(f->err, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n");
	assert_int_equal(lvs_model_snapshot(f->m)->nsvcs, 2);
	assert_int_equal(run_in(f, "-R", "-R\n"), 255);
	assert_string_equal(f->err, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n");

	/* listings print what the lines before did, numerically */
	assert_int_equal(run_in(f, "-R", "-C\n-A -u 10.0.0.9:53 -s rr\n-S\n-L -t 10.0.0.1:80\n"),
	                 1);
	assert_string_equal(f->out, "-A -u 10.0.0.9:53 -s rr\n");
	assert_string_equal(f->err, "No such service\n");
	/* -v exits at once */
	assert_int_equal(run_in(f, "-R", "-v\n-C\n"), 0);
	assert_int_equal(lvs_model_snapshot(f->m)->nsvcs, 1);
}

static int changes_seen;
static void count_change(void *arg);

/* Run `-R` with in as a job in steps of 1 ns (a few lines each); returns
 * the exit code and the number of steps it took.  The published snapshot
 * does not move until the last step; the change hook runs once at the
 * end, and only if the model changed. */
static int restore_in_steps(struct fx *f, const char *in, bool atomic, unsigned *steps)
{
	uint64_t gen = lvs_model_snapshot(f->m)->gen;
	size_t olen, elen;
	FILE *out, *err;
	char *argv[] = {"lvsadm", "-R", atomic ? "--atomic" : NULL, NULL};
	int rc;

	f->st.step_ns = 1;
	free(f->out);
	free(f->err);
	out = open_memstream(&f->out, &olen);
	err = open_memstream(&f->err, &elen);
	rc = lvs_ctl_exec(&f->st, atomic ? 3 : 2, argv, in, strlen(in), out, err);
	*steps = 1;
	while (rc == LVS_CTL_PENDING) {
		assert_true(lvs_ctl_busy(&f->st));
		assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
		assert_int_equal(changes_seen, 0);
		rc = lvs_ctl_job_step(&f->st, err);
		(*steps)++;
	}
	assert_false(lvs_ctl_busy(&f->st));
	fclose(out);
	fclose(err);
	f->st.step_ns = 0;
	return rc;
}

/* A large -R runs as a job in bounded steps: line by line or all or
 * nothing as in one call, nothing published before its end, and an
 * unfinished job undone when cancelled. */
static void test_restore_in_steps(void **state)
{
	struct fx *f = *state;
	char *rules = NULL, *bad = NULL;
	size_t len = 0;
	FILE *r = open_memstream(&rules, &len);
	uint64_t gen;
	unsigned steps;

	for (int i = 0; i < 200; i++) {
		fprintf(r, "-A -t 10.1.%d.%d:80 -s rr\n", i / 200, i % 200 + 1);
		for (int j = 0; j < 4; j++)
			fprintf(r, "-a -t 10.1.%d.%d:80 -r 192.168.0.%d:8080 -m\n", i / 200,
			        i % 200 + 1, j + 1);
	}
	fclose(r);
	f->st.changed = count_change;
	changes_seen = 0;
	assert_int_equal(restore_in_steps(f, rules, false, &steps), 0);
	assert_true(steps > 10); /* 1,000 lines, parse and apply, 64 at a time */
	assert_int_equal(changes_seen, 1);
	assert_int_equal(lvs_model_snapshot(f->m)->nsvcs, 200);
	assert_int_equal(svc_at(f, 199)->ndests, 4);

	/* the last line fails: nothing of the job stays */
	ok(f, "-C");
	gen = lvs_model_snapshot(f->m)->gen;
	changes_seen = 0;
	assert_true(asprintf(&bad, "%s-A -t 10.1.0.1:80\n", rules) > 0);
	assert_int_equal(restore_in_steps(f, bad, true, &steps), 255);
	assert_string_equal(f->err, "stdin:1001: Service already exists\n");
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
	assert_int_equal(lvs_model_snapshot(f->m)->nsvcs, 0);
	assert_int_equal(changes_seen, 0);
	/* line by line, the lines before stay (published once, at the end) */
	assert_int_equal(restore_in_steps(f, bad, false, &steps), 255);
	assert_string_equal(f->err, "Service already exists\n");
	assert_int_equal(lvs_model_snapshot(f->m)->nsvcs, 200);
	assert_int_equal(changes_seen, 1);
	ok(f, "-C");
	gen = lvs_model_snapshot(f->m)->gen;

	/* cancelled half way (its client left, the daemon stops): undone */
	{
		char *argv[] = {"lvsadm", "-R", NULL};
		size_t olen, elen;
		FILE *out, *err;

		free(f->out);
		free(f->err);
		out = open_memstream(&f->out, &olen);
		err = open_memstream(&f->err, &elen);

		f->st.step_ns = 1;
		assert_int_equal(lvs_ctl_exec(&f->st, 2, argv, rules, strlen(rules), out, err),
		                 LVS_CTL_PENDING);
		for (int i = 0; i < 20; i++)
			assert_int_equal(lvs_ctl_job_step(&f->st, err), LVS_CTL_PENDING);
		lvs_ctl_job_cancel(&f->st);
		assert_false(lvs_ctl_busy(&f->st));
		fclose(out);
		fclose(err);
		f->st.step_ns = 0;
	}
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
	ok(f, "-S -n");
	assert_string_equal(f->out, "");
	/* and the model takes commands again */
	ok(f, "-A -t 10.0.0.1:80");
	free(rules);
	free(bad);
}

static void test_help_version_local(void **state)
{
	struct fx *f = *state;
	enum lvs_cmd_kind kind;
	char *argv[4] = {"/usr/sbin/lvsadm", "-h", NULL, NULL};
	char *o = NULL, *e = NULL;
	size_t ol, el;
	FILE *out, *err;

	ok(f, "-h");
	assert_true(strncmp(f->out, "ipvsadm " LVSADM_VERSION " (lvsd;",
	                    strlen("ipvsadm " LVSADM_VERSION " (lvsd;")) == 0);
	assert_non_null(strstr(f->out, "Usage:\n  ipvsadm -A|E virtual-service"));
	ok(f, "--version");
	assert_string_equal(f->out, "ipvsadm " LVSADM_VERSION
	                            " (lvsd; ipvsadm v1.31 compatible, IPVS v1.2.1)\n");

	/* lvs_ctl_local answers -h, -v and bad lines without a daemon */
	out = open_memstream(&o, &ol);
	err = open_memstream(&e, &el);
	assert_int_equal(lvs_ctl_local(2, argv, out, err, &kind), 0);
	assert_int_equal(kind, LVS_CMD_HELP);
	argv[1] = "-v";
	assert_int_equal(lvs_ctl_local(2, argv, out, err, &kind), 0);
	argv[1] = "-A";
	argv[2] = "-x";
	assert_int_equal(lvs_ctl_local(3, argv, out, err, &kind), 255);
	argv[1] = "-R";
	assert_int_equal(lvs_ctl_local(2, argv, out, err, &kind), -1);
	assert_int_equal(kind, LVS_CMD_RESTORE);
	argv[1] = "-Ln";
	assert_int_equal(lvs_ctl_local(2, argv, out, err, &kind), -1);
	assert_int_equal(kind, LVS_CMD_LIST);
	assert_int_equal(lvs_ctl_local(1, argv, out, err, &kind), -1);
	assert_int_equal(kind, LVS_CMD_LIST);
	fclose(out);
	fclose(err);
	assert_true(strncmp(o, "lvsadm " LVSADM_VERSION " (lvsd;",
	                    strlen("lvsadm " LVSADM_VERSION " (lvsd;")) == 0);
	assert_non_null(strstr(o, "Usage:\n  /usr/sbin/lvsadm -A|E"));
	assert_non_null(strstr(o, "\nlvsadm " LVSADM_VERSION " (lvsd;"));
	assert_string_equal(e, "-x: missing argument\n");
	free(o);
	free(e);
}

/* The bytes ipvsadm's fail() and kernel-error paths print: a newline after
 * each message, so one ending in a newline of its own gives a blank line. */
static void test_error_bytes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(run(f, "-A -6 -f 1"), 2);
	assert_string_equal(f->err, "-6 used before -f\n\n");
	assert_int_equal(run(f, "-A -t 10.0.0.1:80 -6"), 2);
	assert_string_equal(f->err, "-6 used before -f\n\n");
	assert_int_equal(run(f, "-A -t 10.0.0.1:0"), 2);
	assert_string_equal(f->err, "Zero port specified for non-persistent service\n");

	ok(f, "-A -t 10.0.0.1:80 -s rr");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1:80");
	assert_int_equal(run(f, "-d -t 10.0.0.1:80 -r 192.168.10.1:8080"), 255);
	assert_string_equal(f->err, "No such destination\n");
	assert_int_equal(run(f, "-a -t 10.0.0.1:80 -r 192.168.10.2 -y 5"), 255);
	assert_string_equal(f->err, "Numerical result out of range\n");
	assert_int_equal(run(f, "-a -t 10.0.0.1:80 -r 224.0.0.1"), 255);
	assert_string_equal(f->err, "Invalid operation.  Possibly wrong module version, "
	                            "address not unicast, ...\n");
	assert_string_equal(f->out, "");
}

static void fake_status(void *arg, FILE *out)
{
	fprintf(out, "status of %s\n", (const char *)arg);
}


static void count_change(void *arg)
{
	(void)arg;
	changes_seen++;
}

/* --status calls the daemon's printer (and fails without one); the change
 * hook runs once per command that changed the model, never otherwise. */
static void test_status_and_change_hooks(void **state)
{
	struct fx *f = *state;

	refused(f, "--status", 255, "The status is not available here\n");
	refused(f, "--status -n", 2, "The 'status' command takes no options\n");
	f->st.status = fake_status;
	f->st.status_arg = "the test";
	ok(f, "--status");
	assert_string_equal(f->out, "status of the test\n");

	f->st.changed = count_change;
	changes_seen = 0;
	ok(f, "-A -t 10.0.0.1:80 -s rr");
	ok(f, "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m");
	assert_int_equal(changes_seen, 2);
	ok(f, "-L -n");
	ok(f, "--status");
	refused(f, "-A -t 10.0.0.1:80", 255, "Service already exists\n");
	assert_int_equal(changes_seen, 2);
	ok(f, "-C");
	assert_int_equal(changes_seen, 3);
}

/* The name hooks: names come from the table; misses are collected. */
static void test_name_table_hooks(void **state)
{
	struct fx *f = *state;
	struct lvs_ctl_names known, missing;
	struct lvs_ctl_name k = {.kind = LVS_CTL_NAME_HOST, .fam = AF_INET};
	char *argv[] = {"ipvsadm", "-L", NULL};
	char *o = NULL, *e = NULL;
	size_t ol, el;
	FILE *out, *err;

	ok(f, "-A -t 10.0.0.1:80");
	ok(f, "-a -t 10.0.0.1:80 -r 192.168.10.1 -m");
	lvs_ctl_names_init(&known);
	lvs_ctl_names_init(&missing);

	out = open_memstream(&o, &ol);
	err = open_memstream(&e, &el);
	assert_int_equal(lvs_ctl_exec_names(&f->st, 2, argv, NULL, 0, NULL, &missing, out, err), 0);
	fclose(out);
	fclose(err);
	free(o);
	free(e);
	/* two hosts, one port (80/tcp twice) */
	assert_int_equal(missing.n, 3);

	k.addr = t_ip4("10.0.0.1");
	assert_int_equal(lvs_ctl_names_add(&known, &k, "www.example"), 0);
	k.addr = t_ip4("192.168.10.1");
	assert_int_equal(lvs_ctl_names_add(&known, &k, NULL), 0); /* no name */
	k.kind = LVS_CTL_NAME_SERV;
	k.fam = IPPROTO_TCP;
	k.port = 80;
	assert_int_equal(lvs_ctl_names_add(&known, &k, "http"), 0);
	assert_int_equal(lvs_ctl_names_add(&known, &k, "other"), 0); /* duplicate: kept first */
	assert_int_equal(known.n, 3);

	out = open_memstream(&o, &ol);
	err = open_memstream(&e, &el);
	assert_int_equal(lvs_ctl_exec_names(&f->st, 2, argv, NULL, 0, &known, NULL, out, err), 0);
	fclose(out);
	fclose(err);
	assert_string_equal(
	        o, HDR1024 TITLE
	        "TCP  www.example:http wlc\n"
	        "  -> 192.168.10.1:http            Masq    1      0          0         \n");
	free(o);
	free(e);

	/* encode / decode round trip; malformed tables are refused */
	{
		struct lvs_ctl_names back;
		uint8_t *buf;
		size_t len;

		assert_int_equal(lvs_ctl_names_encode(&known, &buf, &len), 0);
		assert_int_equal(len, 3 * LVS_CTL_NAME_ENT_LEN + strlen("www.example") + 4);
		lvs_ctl_names_init(&back);
		assert_int_equal(lvs_ctl_names_decode(&back, buf, len), 0);
		assert_int_equal(back.n, 3);
		k.kind = LVS_CTL_NAME_HOST;
		k.fam = AF_INET;
		k.port = 0;
		k.addr = t_ip4("10.0.0.1");
		assert_string_equal(lvs_ctl_names_find(&back, &k)->name, "www.example");
		lvs_ctl_names_free(&back);
		lvs_ctl_names_init(&back);
		assert_int_equal(lvs_ctl_names_decode(&back, buf, len - 1), -EPROTO);
		lvs_ctl_names_free(&back);
		buf[0] = 9; /* unknown kind */
		lvs_ctl_names_init(&back);
		assert_int_equal(lvs_ctl_names_decode(&back, buf, len), -EPROTO);
		lvs_ctl_names_free(&back);
		free(buf);
	}
	lvs_ctl_names_free(&known);
	lvs_ctl_names_free(&missing);
}

static void test_wire_headers(void **state)
{
	struct lvs_ctl_req rq = {.version = 1,
	                         .type = 1,
	                         .flags = 3,
	                         .argc = 2,
	                         .argv_len = 0x01020304,
	                         .in_len = 5,
	                         .names_len = 6},
	                   rq2;
	struct lvs_ctl_rep rp = {.version = 1,
	                         .type = 2,
	                         .status = 255,
	                         .out_len = 7,
	                         .err_len = 8,
	                         .names_len = 9},
	                   rp2;
	uint8_t b[LVS_CTL_REQ_HDR_LEN], c[LVS_CTL_REP_HDR_LEN];
	(void)state;

	lvs_ctl_req_encode(b, &rq);
	/* big-endian, field by field */
	assert_int_equal(b[0], 0x4c);
	assert_int_equal(b[3], 0x31);
	assert_int_equal(b[LVS_CTL_RQ_ARGV_LEN], 1);
	assert_int_equal(b[LVS_CTL_RQ_ARGV_LEN + 3], 4);
	assert_int_equal(lvs_ctl_req_decode(b, &rq2), 0);
	assert_memory_equal(&rq, &rq2, sizeof(rq));
	lvs_ctl_rep_encode(c, &rp);
	assert_int_equal(lvs_ctl_rep_decode(c, &rp2), 0);
	assert_memory_equal(&rp, &rp2, sizeof(rp));
	c[0] ^= 1;
	assert_int_equal(lvs_ctl_rep_decode(c, &rp2), -EPROTO);
}

/* ---- over the socket ---- */

struct server {
	struct fx *f;
	int lfd;
	volatile int stop;
	int served, last_rc;
	pthread_t th;
};

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = s->lfd, .events = POLLIN};

		if (poll(&p, 1, 50) > 0) {
			int rc = lvs_ctl_serve_one(&s->f->st, s->lfd);

			if (rc != -EAGAIN) {
				__atomic_store_n(&s->last_rc, rc, __ATOMIC_RELEASE);
				__atomic_add_fetch(&s->served, 1, __ATOMIC_ACQ_REL);
			}
		}
	}
	return NULL;
}

static void sock_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "lvsd-test-%d-%s", (int)getpid(), what);
	setenv(LVS_CTL_SOCKET_ENV, buf, 1);
}

static int call(const char *cmdline, const char *in, char **o, char **e)
{
	char line[1024], *argv[64];
	size_t ol, el;
	FILE *out, *err;
	int argc, rc;

	snprintf(line, sizeof(line), "%s", cmdline);
	argc = split(line, argv, 64);
	argv[0] = "lvsadm";
	out = open_memstream(o, &ol);
	err = open_memstream(e, &el);
	rc = lvs_ctl_call(argc, argv, in, in ? strlen(in) : 0, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

static void test_socket_round_trip(void **state)
{
	struct fx *f = *state;
	struct server s = {.f = f};
	char name[108], *o, *e;
	int fd2;

	sock_name(name, sizeof(name), "rt");
	s.lfd = lvs_ctl_listen();
	assert_true(s.lfd >= 0);
	/* one lvsd per namespace (name) */
	fd2 = lvs_ctl_listen();
	assert_int_equal(fd2, -EADDRINUSE);
	/* nobody waiting: serve_one does not block */
	assert_int_equal(lvs_ctl_serve_one(&f->st, s.lfd), -EAGAIN);
	assert_int_equal(pthread_create(&s.th, NULL, server_main, &s), 0);

	assert_int_equal(call("-A -t 127.0.0.1:80 -s rr", NULL, &o, &e), 0);
	assert_string_equal(o, "");
	assert_string_equal(e, "");
	free(o);
	free(e);
	assert_int_equal(call("-a -t 127.0.0.1:80 -r 127.0.0.1:8080 -m", NULL, &o, &e), 0);
	free(o);
	free(e);
	assert_int_equal(call("-Ln", NULL, &o, &e), 0);
	assert_string_equal(
	        o, HDR1024 TITLE
	        "TCP  127.0.0.1:80 rr\n"
	        "  -> 127.0.0.1:8080               Masq    1      0          0         \n");
	free(o);
	free(e);
	/* without -n the client resolves (localhost, http, http-alt from
	 * /etc/hosts and /etc/services) */
	assert_int_equal(call("-L", NULL, &o, &e), 0);
	assert_string_equal(
	        o, HDR1024 TITLE
	        "TCP  localhost:http rr\n"
	        "  -> localhost:http-alt           Masq    1      0          0         \n");
	free(o);
	free(e);

	/* errors travel with their exit code */
	assert_int_equal(call("-A -t 127.0.0.1:80", NULL, &o, &e), 255);
	assert_string_equal(o, "");
	assert_string_equal(e, "Service already exists\n");
	free(o);
	free(e);
	assert_int_equal(call("-A -t 127.0.0.1:81 -w 1", NULL, &o, &e), 2);
	assert_string_equal(e, "Illegal 'weight' option with the 'add-service' command\n");
	free(o);
	free(e);

	/* -S, -C, -R through the socket (stdin travels with -R) */
	{
		char *saved;

		assert_int_equal(call("-S -n", NULL, &o, &e), 0);
		saved = o;
		free(e);
		assert_int_equal(call("-C", NULL, &o, &e), 0);
		free(o);
		free(e);
		assert_int_equal(call("-R", saved, &o, &e), 0);
		free(o);
		free(e);
		assert_int_equal(call("-S -n", NULL, &o, &e), 0);
		assert_string_equal(o, saved);
		free(o);
		free(e);
		free(saved);
	}

	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s.th, NULL);
	close(s.lfd);
}

static void test_socket_bad_clients(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa;
	char name[108];
	socklen_t salen;
	int lfd, c;

	sock_name(name, sizeof(name), "bad");
	lfd = lvs_ctl_listen();
	assert_true(lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));

	/* garbage header */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, salen), 0);
	assert_int_equal(write(c, "GET / HTTP/1.0\r\n\r\n..............", 32), 32);
	assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -EPROTO);
	close(c);

	/* half a header, then EOF */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, salen), 0);
	assert_int_equal(write(c, "LVC1", 4), 4);
	shutdown(c, SHUT_WR);
	assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -EPROTO);
	close(c);

	/* oversized request: refused with a message, nothing read or run */
	{
		struct lvs_ctl_req rq = {.version = LVS_CTL_VERSION,
		                         .type = LVS_CTL_REQ_EXEC,
		                         .argc = 2,
		                         .argv_len = 10,
		                         .in_len = LVS_CTL_MAX_IN + 1};
		uint8_t hdr[LVS_CTL_REQ_HDR_LEN], rhdr[LVS_CTL_REP_HDR_LEN];
		struct lvs_ctl_rep rp;

		lvs_ctl_req_encode(hdr, &rq);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(connect(c, (struct sockaddr *)&sa, salen), 0);
		assert_int_equal(write(c, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
		assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -EMSGSIZE);
		assert_int_equal(read(c, rhdr, sizeof(rhdr)), (ssize_t)sizeof(rhdr));
		assert_int_equal(lvs_ctl_rep_decode(rhdr, &rp), 0);
		assert_int_equal(rp.status, 255);
		close(c);
	}

	/* argv strings that do not match argc */
	{
		struct lvs_ctl_req rq = {.version = LVS_CTL_VERSION,
		                         .type = LVS_CTL_REQ_EXEC,
		                         .argc = 3,
		                         .argv_len = 8};
		uint8_t hdr[LVS_CTL_REQ_HDR_LEN];
		uint64_t gen = lvs_model_snapshot(f->m)->gen;

		lvs_ctl_req_encode(hdr, &rq);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(connect(c, (struct sockaddr *)&sa, salen), 0);
		assert_int_equal(write(c, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
		assert_int_equal(write(c, "lvsadm\0-C", 8), 8);
		assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -EPROTO);
		assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
		close(c);
	}

	/* a client that says nothing is dropped after ~2 s */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, salen), 0);
	assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -ETIMEDOUT);
	close(c);

	/* and the daemon still serves */
	c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		char *o, *e;
		int rc = call("-L --timeout", NULL, &o, &e);

		_exit(rc == 0 && !strcmp(o, "Timeout (tcp tcpfin udp): 900 120 300\n") ? 0 : 1);
	}
	{
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int status;

		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), 0);
		assert_int_equal(waitpid(c, &status, 0), c);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(lfd);
}

/* A peer that is not root gets ipvsadm's refusal, and nothing runs. */
static void test_socket_not_root(void **state)
{
	struct fx *f = *state;
	struct pollfd p;
	char name[108];
	uint64_t gen;
	int lfd, status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	sock_name(name, sizeof(name), "perm");
	lfd = lvs_ctl_listen();
	assert_true(lfd >= 0);
	gen = lvs_model_snapshot(f->m)->gen;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *o, *e;
		int rc;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		rc = call("-A -t 10.0.0.1:80", NULL, &o, &e);
		_exit(rc == 255 && !strcmp(e, "Permission denied (you must be root)\n") && !o[0]
		              ? 0
		              : 1);
	}
	p.fd = lfd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(lvs_ctl_serve_one(&f->st, lfd), -EPERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(lvs_model_snapshot(f->m)->gen, gen);
	close(lfd);
}

static void test_no_daemon(void **state)
{
	char name[108], *argv[] = {"lvsadm", "-Ln", NULL};
	(void)state;

	sock_name(name, sizeof(name), "nobody-listens");
	assert_int_equal(lvs_ctl_call(2, argv, NULL, 0, stdout, stderr), -ECONNREFUSED);
}

/* ---- the sync daemon hook: kernel errors in ipvsadm's words ---- */

static struct lvs_cmd_daemon fake_daemons[2];
static size_t fake_ndaemons;

static int fake_daemon_cmd(void *arg, const struct lvs_cmd *cmd, char *err, size_t errlen)
{
	struct lvs_cmd_daemon *d;

	(void)arg;
	(void)err;
	(void)errlen;
	if (!strcmp(cmd->daemon.mcast_ifn, "nosuch0"))
		return -ENODEV;
	if (cmd->cmd == LVS_CMD_STOP_DAEMON) {
		if (!fake_ndaemons || fake_daemons[0].state != cmd->daemon.state)
			return -ESRCH;
		fake_ndaemons = 0;
		return 0;
	}
	if (fake_ndaemons)
		return -EEXIST;
	d = &fake_daemons[fake_ndaemons++];
	*d = cmd->daemon;
	d->sync_maxlen = 1472; /* the daemon shows what is in force */
	d->mcast_af = AF_INET;
	d->mcast_group.ip4 = htonl(0xe0000051);
	d->mcast_port = 8848;
	d->mcast_ttl = 1;
	return 0;
}

static size_t fake_daemon_list(void *arg, struct lvs_cmd_daemon *out, size_t max)
{
	(void)arg;
	for (size_t i = 0; i < fake_ndaemons && i < max; i++)
		out[i] = fake_daemons[i];
	return fake_ndaemons < max ? fake_ndaemons : max;
}

static void test_sync_daemon_hook(void **state)
{
	struct fx *f = *state;

	fake_ndaemons = 0;
	f->st.daemon_cmd = fake_daemon_cmd;
	f->st.daemon_list = fake_daemon_list;
	ok(f, "-L --daemon");
	assert_string_equal(f->out, "");
	ok(f, "--start-daemon master --mcast-interface eth1 --syncid 3");
	ok(f, "-L --daemon");
	assert_string_equal(f->out, "master sync daemon (mcast=eth1, syncid=3, maxlen=1472, "
	                            "group=224.0.0.81, port=8848, ttl=1)\n");
	refused(f, "--start-daemon master --mcast-interface eth1", 255, "Daemon has already run\n");
	refused(f, "--start-daemon backup --mcast-interface nosuch0", 255, "No such device\n");
	refused(f, "--stop-daemon backup", 255, "No daemon is running\n");
	ok(f, "--stop-daemon master");
	refused(f, "--stop-daemon master", 255, "No daemon is running\n");
	refused(f, "--start-daemon primary", 2, "illegal start-daemon parameter specified\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_add_list_edit_delete, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_sync_daemon_hook, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_errors_change_nothing, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_stats_and_zero, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_rate, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_rate_in_steps, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_conns_timeout_daemon, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_save_clear_restore, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_restore_all_or_nothing, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_restore_line_by_line, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_restore_in_steps, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_status_and_change_hooks, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_help_version_local, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_error_bytes, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_name_table_hooks, fx_setup, fx_teardown),
	        cmocka_unit_test(test_wire_headers),
	        cmocka_unit_test_setup_teardown(test_socket_round_trip, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_socket_bad_clients, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_socket_not_root, fx_setup, fx_teardown),
	        cmocka_unit_test(test_no_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
