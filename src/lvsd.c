/*
 * lvsd - the Linux Virtual Server director daemon, in user space.
 *
 *   lvsd [-f FILE] [-i IFACE]... [-n] [-t] [-l] [-D] [-p FILE] [-S N]
 *        [--io afpacket|afxdp] [-w N] [--max-conns N] [--syslog] [-v]
 *        [--no-guard] [--sw-offload] [--passive N]
 *        [--metrics ADDR:PORT]
 *
 * Options follow keepalived's where keepalived has them (-f file, -n stay
 * in the foreground, -t check the file, -l, -D, -p, -S), so an operator
 * swaps the binary and keeps the command line.  The keepalived.conf file
 * (-f, or /etc/keepalived/keepalived.conf when neither -f nor -i is
 * given) is read and installed before the workers forward
 * (daemon/confload.c); without -i lvsd serves the interfaces through
 * which the file's addresses are routed.  With -i and no -f it starts
 * with no virtual service, for lvsadm (ipvsadm's language, over the
 * control socket of ctl.h) to configure.  Threads:
 *
 *   - forwarding workers (-w, default one per online CPU; with AF_XDP at
 *     most as many as the interfaces have receive queues): each owns one
 *     receive queue per served interface (AF_PACKET fanout, or an XDP
 *     socket on queue N for worker N), runs bursts through the core's
 *     pipeline (lvs_director_process_burst) and sends what it returns;
 *     frames the director passes are the host's (AF_PACKET is a tap, the
 *     host got its copy; AF_XDP's program hands over only director
 *     traffic, so a passed frame is one the director had no use for, and
 *     is dropped), except ARP / neighbour solicitations / echo requests for
 *     a VIP, which vip.c answers.  A frame whose next
 *     hop is not resolved yet waits in the worker's hold queue (holdq.h)
 *     until it is, as the kernel's neighbour layer keeps it.  A worker
 *     sleeps in poll() when idle (100 ms timeout for its timers, 10 ms
 *     while it holds frames), never spins.
 *   - the control thread (main): one event loop (libevent, ctlloop.h)
 *     with the control socket, rtnetlink (netstate), the VIP set and host
 *     guard (vip.c, vip_guard.c), signals and timers.  It publishes model
 *     snapshots; workers read them under RCU (liburcu-qsbr), and replaced
 *     snapshots are freed after a grace period.
 *   - with --metrics, libmicrohttpd's thread serves the Prometheus
 *     metrics and the status page (daemon/httpd.c); what it sends is
 *     rendered on the control thread.
 *
 * This file parses the options and starts and stops the parts: the worker
 * loop is in daemon/worker.c, the status text in daemon/status.c, the
 * control loop in daemon/ctlloop.c and daemon/ctlsrv.c; they share one
 * struct lvsd (daemon/lvsd_ctx.h).
 *
 * Without -n, lvsd forks into the background once it is ready (the parent
 * exits 0 then, or 1 if start-up failed), logs to syslog, and writes the
 * pid file if asked.  SIGTERM / SIGINT stop it cleanly: workers stop, the
 * guard tables are removed, sockets closed, the pid file removed; exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "checkd.h"
#include "passive.h"
#include "confload.h"
#include "ctl.h"
#include "ctlloop.h"
#include "sync_daemon.h"
#include "ctlsrv.h"
#include "fastpathd.h"
#include "fwmark.h"
#include "httpd.h"
#include "io.h"
#include "kaconf.h"
#include "log.h"
#include "lvs_fast.h"
#include "lvsd_ctx.h"
#include "netstate.h"
#include "nfqueue.h"
#include "status.h"
#include "vip.h"
#include "vrrp_sync.h"
#include "vrrpd.h"
#include "worker.h"
#include "xdp_filter.h"

#define DEF_MAX_CONNS (1u << 20)

/* Command-line options beyond what struct lvsd keeps. */
struct opts {
	const char *io;
	bool foreground, use_syslog, guard, sw_offload;
	bool config_test, log_console, log_detail;
	int verbose;
	int facility;     /* syslog facility, -1: LOG_DAEMON */
	const char *conf; /* keepalived.conf, NULL: none */
	const char *pidfile;
	const char *metrics; /* --metrics ADDR:PORT, NULL: off */
	char pidfile_abs[PATH_MAX];
	unsigned passive; /* failed handshakes in a row; 0: off */
	int fwmark_queue; /* NFQUEUE number of firewall-mark services, -1: off */
	enum lvsd_fast_mode fastpath;
};

/* -l: stderr stays the log's also in the background */
static bool keep_stderr;

/* ---- start-up helpers ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lvsd [-f FILE] [-i IFACE]... [options]\n"
		"The Linux Virtual Server director, in user space.  Configure it with a\n"
		"keepalived.conf file (its LVS part) or with lvsadm.\n\n"
		"  -f, --use-file FILE    keepalived.conf to install at start (default\n"
		"                         " KA_DEF_CONF " when no -i is given)\n"
		"  -t, --config-test[=FILE]  check the file, print FILE:LINE messages, exit:\n"
		"                         0 clean, 4 unreadable, 5 other problems\n"
		"  -i, --interface IFACE  serve this interface (repeatable; default with a\n"
		"                         file: the interfaces its addresses are routed through)\n"
		"      --io DRIVER        packet I/O: afpacket (default) or afxdp\n"
		"  -w, --workers N        forwarding threads (default: online CPUs)\n"
		"      --max-conns N      connection table size (default 1048576)\n"
		"  -n, --dont-fork        stay in the foreground, log to stderr (--foreground)\n"
		"  -p, --pid FILE         write the daemon's pid to FILE (--pidfile)\n"
		"  -l, --log-console      log to the console (stderr) also in the background\n"
		"  -D, --log-detail       log each installed service and server\n"
		"  -S, --log-facility N   syslog facility local0..local7 (N = 0..7)\n"
		"      --syslog           log to syslog (the default in the background)\n"
		"      --no-guard         do not install the nftables host guard\n"
		"      --sw-offload       complete checksums and segment in lvsd, not the kernel\n"
		"      --fwmark-queue N|off  NFQUEUE number through which firewall-marked\n"
		"                         packets reach lvsd (default %u; needs iptables)\n"
		"      --fastpath on|off  forward established connections in an XDP program\n"
		"                         (default: on where it attaches, not on veth)\n"
		"      --fastpath-entries N  flow entries of the fast path (default and most\n"
		"                         %u; when full, an idle entry makes room)\n"
		"      --passive N        take a NAT server out after N failed handshakes in a\n"
		"                         row, tried again after 5 s, doubling (default: off)\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics (/metrics) and a live\n"
		"                         status page (/) over HTTP on ADDR:PORT, [ADDR6]:PORT\n"
		"                         or :PORT (every address); off by default\n"
		"  -v, --verbose          debug logging\n"
		"  -h, --help             this text\n", LVSD_FWMARK_QUEUE, LVS_FAST_FLOWS_MAX);
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || *s == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct lvsd *d, struct opts *o)
{
	static const struct option lo[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "io", required_argument, NULL, 'I' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "use-file", required_argument, NULL, 'f' },
		{ "dont-fork", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'n' },
		{ "config-test", optional_argument, NULL, 't' },
		{ "log-console", no_argument, NULL, 'l' },
		{ "log-detail", no_argument, NULL, 'D' },
		{ "log-facility", required_argument, NULL, 'S' },
		{ "pid", required_argument, NULL, 'p' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "syslog", no_argument, NULL, 's' },
		{ "no-guard", no_argument, NULL, 'G' },
		{ "sw-offload", no_argument, NULL, 'O' },
		{ "passive", required_argument, NULL, 'P' },
		{ "fwmark-queue", required_argument, NULL, 'Q' },
		{ "fastpath", required_argument, NULL, 'X' },
		{ "fastpath-entries", required_argument, NULL, 'E' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "i:w:f:nt::lDS:p:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (d->nif == LVSD_MAX_IFACES) {
				fprintf(stderr, "lvsd: at most %d interfaces\n", LVSD_MAX_IFACES);
				return 2;
			}
			for (unsigned k = 0; k < d->nif; k++)
				if (!strcmp(d->ifname[k], optarg)) {
					fprintf(stderr, "lvsd: interface %s given twice\n", optarg);
					return 2;
				}
			d->ifname[d->nif++] = optarg;
			break;
		case 'I':
			o->io = optarg;
			break;
		case 'Q':
			if (!strcmp(optarg, "off")) {
				o->fwmark_queue = -1;
			} else if (parse_uint(optarg, 0, 65535, &v)) {
				fprintf(stderr, "lvsd: bad --fwmark-queue '%s' (0..65535 or off)\n",
					optarg);
				return 2;
			} else {
				o->fwmark_queue = (int)v;
			}
			break;
		case 'X':
			if (!strcmp(optarg, "on")) {
				o->fastpath = LVSD_FAST_ON;
			} else if (!strcmp(optarg, "off")) {
				o->fastpath = LVSD_FAST_OFF;
			} else {
				fprintf(stderr, "lvsd: bad --fastpath '%s' (on or off)\n", optarg);
				return 2;
			}
			break;
		case 'E':
			if (parse_uint(optarg, 2, LVS_FAST_FLOWS_MAX, &v)) {
				fprintf(stderr, "lvsd: bad --fastpath-entries '%s' (2..%u)\n", optarg,
					LVS_FAST_FLOWS_MAX);
				return 2;
			}
			d->fast_entries = (uint32_t)v;
			break;
		case 'w':
			/* two worker ids of the table are the sync and fast path threads' */
			if (parse_uint(optarg, 1, LVS_MAX_WORKERS - 2, &v)) {
				fprintf(stderr, "lvsd: bad --workers '%s' (1..%d)\n", optarg,
					LVS_MAX_WORKERS - 2);
				return 2;
			}
			d->nworkers = (unsigned)v;
			break;
		case 'C':
			if (parse_uint(optarg, 1, 1ul << 30, &v)) {
				fprintf(stderr, "lvsd: bad --max-conns '%s' (1..%lu)\n", optarg,
					1ul << 30);
				return 2;
			}
			d->max_conns = (uint32_t)v;
			break;
		case 'f':
			o->conf = optarg;
			break;
		case 'n':
			o->foreground = true;
			break;
		case 't':
			o->config_test = true;
			if (optarg)
				o->conf = optarg;
			break;
		case 'l':
			o->log_console = true;
			break;
		case 'D':
			o->log_detail = true;
			break;
		case 'S':
			if (!strncmp(optarg, "local", 5) ? parse_uint(optarg + 5, 0, 7, &v)
							  : parse_uint(optarg, 0, 7, &v)) {
				fprintf(stderr, "lvsd: bad --log-facility '%s' (0..7 or local0..local7)\n",
					optarg);
				return 2;
			}
			o->facility = LOG_LOCAL0 + (int)v * (LOG_LOCAL1 - LOG_LOCAL0);
			break;
		case 'p':
			o->pidfile = optarg;
			if (optarg[0] != '/') {
				/* the daemon changes to / before writing it */
				char cwd[PATH_MAX];
				if (!getcwd(cwd, sizeof(cwd)) ||
				    snprintf(o->pidfile_abs, sizeof(o->pidfile_abs), "%s/%s", cwd,
					     optarg) >= (int)sizeof(o->pidfile_abs)) {
					fprintf(stderr, "lvsd: --pidfile path too long\n");
					return 2;
				}
				o->pidfile = o->pidfile_abs;
			}
			break;
		case 's':
			o->use_syslog = true;
			break;
		case 'P':
			if (parse_uint(optarg, 0, 1000000, &v)) {
				fprintf(stderr, "lvsd: bad --passive '%s' (0..1000000)\n", optarg);
				return 2;
			}
			o->passive = (unsigned)v;
			break;
		case 'G':
			o->guard = false;
			break;
		case 'O':
			o->sw_offload = true;
			break;
		case 'M': {
			struct sockaddr_storage ss;

			if (lvsd_httpd_parse_addr(optarg, &ss)) {
				fprintf(stderr, "lvsd: bad --metrics '%s' (ADDR:PORT, [ADDR6]:PORT "
					"or :PORT)\n", optarg);
				return 2;
			}
			o->metrics = optarg;
			break;
		}
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lvsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!o->conf && !d->nif)
		o->conf = KA_DEF_CONF;
	if (o->config_test)
		return 0;
	d->io = lvs_io_find(o->io);
	if (!d->io) {
		fprintf(stderr, "lvsd: unknown --io '%s' (%s)\n", o->io, LVS_IO_NAMES);
		return 2;
	}
	for (unsigned k = 0; k < d->nif; k++) {
		d->ifindex[k] = if_nametoindex(d->ifname[k]);
		if (!d->ifindex[k]) {
			fprintf(stderr, "lvsd: no interface '%s' in this network namespace\n",
				d->ifname[k]);
			return 2;
		}
	}
	return 0;
}

/* The default worker count, once the interfaces are known. */
static void default_workers(struct lvsd *d)
{
	if (!d->nworkers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		d->nworkers = n < 1 ? 1 : n > LVS_MAX_WORKERS - 2 ? LVS_MAX_WORKERS - 2 : (unsigned)n;
		/* one queue per worker on every interface (AF_XDP) */
		for (unsigned k = 0; d->io->max_queues && k < d->nif; k++) {
			unsigned q = d->io->max_queues(d->ifname[k]);
			if (q < d->nworkers)
				d->nworkers = q;
		}
	}
}

/*
 * Fork into the background.  The parent waits until the child reports
 * ready (a byte on a pipe: 0 = ready) and exits with 0, or 1 if the child
 * failed, so `lvsd && next-step` and systemd's Type=forking work.
 */
static int daemonize(int *ready_fd)
{
	int p[2], fd;
	pid_t pid;
	char st = 1;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st ? 1 : 0);
	}
	close(p[0]);
	*ready_fd = p[1];
	if (setsid() < 0)
		return -errno;
	/* a second fork: never reacquire a controlling terminal */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	umask(022);
	if (chdir("/"))
		return -errno;
	/* stderr stays the terminal's until the daemon is ready, so start-up
	 * errors are seen; report_ready() detaches it */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	lvs_log_also_stderr(true);
	return 0;
}

static void report_ready(int *ready_fd, char status)
{
	int fd;

	if (*ready_fd < 0)
		return;
	if (status == 0 && !keep_stderr) {
		lvs_log_also_stderr(false);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	(void)!write(*ready_fd, &status, 1);
	close(*ready_fd);
	*ready_fd = -1;
}

static int write_pidfile(const char *path)
{
	char tmp[PATH_MAX], buf[32];
	int fd, n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) || rename(tmp, path)) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

/* The VIP set's keys, for a driver that selects director traffic itself. */
static int io_filter(void *arg, const struct lvs_xdp_key *add, unsigned nadd,
		     const struct lvs_xdp_key *del, unsigned ndel)
{
	const struct lvs_io_ops *io = arg;

	return io->set_filter(add, nadd, del, ndel);
}

static int open_queues(struct lvsd *d, const struct opts *o)
{
	for (unsigned k = 0; k < d->nif; k++) {
		struct lvs_link_info li;
		struct lvs_io_conf c;

		if (lvs_netstate_link(d->netstate, d->ifindex[k], &li)) {
			lvs_err("interface %s vanished", d->ifname[k]);
			return -ENODEV;
		}
		if (li.type != 1 /* ARPHRD_ETHER */)
			lvs_warn("%s is not an Ethernet interface: frames may not parse", li.name);
		memset(&c, 0, sizeof(c));
		c.ifindex = d->ifindex[k];
		snprintf(c.ifname, sizeof(c.ifname), "%s", d->ifname[k]);
		c.mtu = li.mtu;
		c.nworkers = d->nworkers;
		c.fanout_id = LVS_IO_FANOUT_NEW; /* the first creates, the others join */
		c.sw_offload = o->sw_offload;
		for (unsigned w = 0; w < d->nworkers; w++) {
			int err;

			c.worker = w;
			err = d->io->open(&c, &d->workers[w].q[k]);
			if (err)
				return err;
			d->workers[w].nq = k + 1;
		}
	}
	return 0;
}

/* Firewall-mark services: the queue worker 0 reads and the rules that
 * fill it.  Without them lvsd runs on, and such services get no traffic. */
static void start_fwmark(struct lvsd *d, uint16_t qnum)
{
	int err = lvs_nfq_open(qnum, &d->nfq);

	if (err) {
		lvs_warn("fwmark: NFQUEUE %u: %s: firewall-mark services receive no traffic",
			 qnum, strerror(-err));
		return;
	}
	d->fwmark = lvsd_fwmark_new(qnum);
	if (!d->fwmark) {
		lvs_nfq_close(d->nfq);
		d->nfq = NULL;
		return;
	}
	d->dir.fwmark_queue = true;
	lvs_vips_set_fwmark_queue(d->vips, true);
}

static int setup_signals(sigset_t *set)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	/* blocked in every thread (they inherit the mask): the control loop
	 * reads them from a signalfd */
	return pthread_sigmask(SIG_BLOCK, set, NULL) ? -1 : 0;
}

/* The control thread's loop and what registers on it. */
static int start_loop(struct lvsd *d, const sigset_t *sigs, int *lfd)
{
	int err;

	if (!lvsd_loop_new(d, sigs))
		return -ENOMEM;
	if ((err = lvsd_netwatch_register(d->loop))) {
		lvs_err("control loop: network view: %s", strerror(-err));
		return err;
	}
	if ((err = lvsd_ctlsrv_register(d->loop, *lfd))) {
		lvs_err("control loop: control socket: %s", strerror(-err));
		return err;
	}
	if ((err = lvs_sync_register(d->loop))) {
		lvs_err("connection sync: %s", strerror(-err));
		return err;
	}
	*lfd = -1; /* the server's now */
	return 0;
}

int main(int argc, char **argv)
{
	static struct lvsd d = {.max_conns = DEF_MAX_CONNS};
	struct opts o = {.io = "afpacket", .guard = true, .facility = -1,
			 .fwmark_queue = LVSD_FWMARK_QUEUE};
	struct ka_config *kc = NULL;
	struct lvsd_vrrp *vrrp = NULL;
	struct lvs_ctl_state cst;
	bool cst_ok = false, pidfile_written = false;
	int rc, lfd = -1, err, ready_fd = -1;
	uint64_t seed;
	sigset_t set;

	rc = parse_args(argc, argv, &d, &o);
	if (rc)
		return rc;
	if (o.config_test)
		return lvsd_conf_test(o.conf, stderr);
	rc = 1;
	if (o.facility >= 0)
		lvs_log_set_facility(o.facility);
	lvs_log_open("lvsd", o.use_syslog || !o.foreground, o.verbose ? LOG_DEBUG : LOG_INFO);
	keep_stderr = o.log_console;
	if (o.log_console)
		lvs_log_also_stderr(true);
	if (!o.foreground && (err = daemonize(&ready_fd))) {
		lvs_err("cannot go to the background: %s", strerror(-err));
		return 1;
	}
	rcu_register_thread();
	/* a broken file stops the start, its messages on the terminal */
	if (o.conf && !(kc = lvsd_conf_read(o.conf)))
		goto out;
	if (setup_signals(&set)) {
		lvs_err("signals: %s", strerror(errno));
		goto out;
	}

	/* one lvsd per network namespace: the control socket decides */
	lfd = lvs_ctl_listen();
	if (lfd < 0) {
		lvs_err("control socket: %s", lfd == -EADDRINUSE
		                                      ? "another lvsd runs in this network namespace"
		                                      : strerror(-lfd));
		goto out;
	}
	d.netstate = lvs_netstate_new(0);
	if (!d.netstate || lvs_netstate_start(d.netstate))
		goto out;
	if (!d.nif && (err = lvsd_conf_ifaces(&d, kc))) {
		lvs_err("no interface to serve: none of %s's addresses is routed (give -i IFACE)",
			o.conf);
		goto out;
	}
	default_workers(&d);

	/* worker id d.nworkers is the sync thread's (its imports and timers),
	 * d.nworkers + 1 the fast path thread's (lookups, timer restarts and
	 * the statistics slot of what the XDP program forwarded) */
	d.dir.model = lvs_model_new_workers(d.nworkers + 2);
	d.dir.ct = lvs_conn_table_new(d.max_conns, d.nworkers + 2);
	if (!d.dir.model || !d.dir.ct) {
		lvs_err("out of memory (connection table of %u entries)", d.max_conns);
		goto out;
	}
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		lvs_conn_set_hash_seed(d.dir.ct, seed);
	/* the file's services are in place before any worker forwards */
	if (kc && lvsd_conf_install(&d, kc, o.log_detail))
		goto out;
	d.dir.env.ctx = d.netstate;
	d.dir.env.route = lvs_netstate_route;
	d.dir.env.route_cached = lvs_netstate_route_cached;
	d.dir.env.src_addr = lvs_netstate_src_addr;

	d.vips = lvs_vips_new(d.netstate, d.ifindex, d.nif, o.guard);
	if (!d.vips)
		goto out;
	/* VRRP's addresses are held by nobody before a worker runs */
	if (kc && kc->nvrrp && lvsd_vrrp_new(&d, kc, &vrrp))
		goto out;

	d.workers = calloc(d.nworkers, sizeof(*d.workers));
	if (!d.workers)
		goto out;
	for (unsigned w = 0; w < d.nworkers; w++)
		if (lvsd_worker_init(&d.workers[w], &d, w)) {
			lvs_err("out of memory (hold queues)");
			goto out;
		}
	if ((err = open_queues(&d, &o))) {
		lvs_err("cannot open packet I/O (%s): %s", d.io->name, strerror(-err));
		goto out;
	}
	if (d.io->set_filter)
		lvs_vips_set_filter(d.vips, io_filter, (void *)d.io);
	if (o.fwmark_queue >= 0)
		start_fwmark(&d, (uint16_t)o.fwmark_queue);
	if (lvsd_fast_start(&d, o.fastpath, d.nworkers + 1, &d.fast))
		goto out;
	if (lvs_ctl_state_init(&cst, d.dir.model, d.dir.ct, lvsd_now)) {
		lvs_err("control state: out of memory");
		goto out;
	}
	cst_ok = true;
	cst.status = lvsd_status_print;
	cst.status_arg = &d;
	if (d.fast) {
		cst.before_list = lvsd_fast_sync_hook;
		cst.before_list_arg = &d;
	}
	d.cst = &cst;
	if (start_loop(&d, &set, &lfd))
		goto out;
	lvsd_loop_vips_sync(d.loop, true); /* VIPs and guard for the file's services */
	if (o.passive && lvsd_passive_register(d.loop, o.passive))
		goto out;
	if (vrrp) {
		struct lvsd_vrrp *own = vrrp;

		vrrp = NULL; /* the loop's now */
		if (lvsd_vrrp_register(d.loop, own) || lvsd_vrrp_sync_register(d.loop, own, kc))
			goto out;
	}
	if (kc) {
		struct ka_config *own = kc;

		kc = NULL; /* the loop's now, freed with it */
		if (lvsd_conf_register(d.loop, o.conf, own))
			goto out;
	}
	if (o.metrics && lvsd_httpd_register(d.loop, o.metrics))
		goto out;

	if (o.pidfile) {
		if ((err = write_pidfile(o.pidfile))) {
			lvs_err("pid file %s: %s", o.pidfile, strerror(-err));
			goto out;
		}
		pidfile_written = true;
	}
	for (unsigned w = 0; w < d.nworkers; w++) {
		if ((err = pthread_create(&d.workers[w].th, NULL, lvsd_worker_main, &d.workers[w]))) {
			lvs_err("worker thread: %s", strerror(err));
			goto out;
		}
		d.workers[w].started = true;
	}
	lvs_notice("serving %u interface%s with %u worker%s (%s I/O, %u connections max, %zu MB)",
	           d.nif, d.nif > 1 ? "s" : "", d.nworkers, d.nworkers > 1 ? "s" : "",
	           d.io->name, d.max_conns, lvs_conn_table_mem_bytes(d.dir.ct) >> 20);
	report_ready(&ready_fd, 0);
	rc = lvsd_loop_run(d.loop) ? 1 : 0;

out:
	/* a backup takes over while the workers still forward */
	lvsd_vrrp_shutdown(d.vrrp);
	lvsd_vrrp_free(vrrp);
	__atomic_store_n(&d.stopping, 1, __ATOMIC_RELAXED);
	report_ready(&ready_fd, 1);
	for (unsigned w = 0; d.workers && w < d.nworkers; w++)
		if (d.workers[w].started)
			pthread_join(d.workers[w].th, NULL);
	lvsd_fast_stop(d.fast); /* its thread looks at connections: before the table goes */
	d.fast = NULL;
	if (d.workers && rc == 0)
		lvsd_status_log(&d);
	for (unsigned w = 0; d.workers && w < d.nworkers; w++)
		for (unsigned k = 0; k < d.workers[w].nq; k++)
			d.io->close(d.workers[w].q[k]);
	/* callbacks of replaced snapshots and tables run before we free */
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	lvsd_loop_free(d.loop); /* closes the control socket and its clients */
	lvsd_fwmark_free(d.fwmark); /* the rules first: the host has them again */
	lvs_nfq_close(d.nfq);
	lvs_vips_free(d.vips);  /* removes the guard tables */
	if (cst_ok)
		lvs_ctl_state_done(&cst);
	if (lfd >= 0)
		close(lfd);
	lvs_netstate_free(d.netstate);
	lvs_conn_table_free(d.dir.ct);
	lvs_model_free(d.dir.model);
	for (unsigned w = 0; d.workers && w < d.nworkers; w++)
		lvsd_worker_fini(&d.workers[w]);
	free(d.workers);
	ka_config_free(kc);
	if (pidfile_written)
		unlink(o.pidfile);
	rcu_unregister_thread();
	if (rc == 0)
		lvs_notice("stopped");
	lvs_log_close();
	return rc;
}
