/*
 * lvsd - the Linux Virtual Server director daemon, in user space.
 *
 *   lvsd -i IFACE [-i IFACE]... [--io afpacket|afxdp] [-w N] [--max-conns N]
 *        [-f] [--pidfile FILE] [--syslog] [-v] [--no-guard] [--sw-offload]
 *
 * It serves the given interfaces and starts with no virtual service:
 * nothing is forwarded until lvsadm (ipvsadm's language, over the control
 * socket of ctl.h) configures some.  Threads:
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
 *   - the control thread (main): the control socket, rtnetlink
 *     (netstate), the VIP set and host guard (vip.c), timers.  It publishes
 *     model snapshots; workers read them under RCU (liburcu-qsbr), and
 *     replaced snapshots are freed after a grace period.
 *
 * Without -f, lvsd forks into the background once it is ready (the parent
 * exits 0 then, or 1 if start-up failed), logs to syslog, and writes the
 * pid file if asked.  SIGTERM / SIGINT stop it cleanly: workers stop, the
 * guard tables are removed, sockets closed, the pid file removed; exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "ctl.h"
#include "director.h"
#include "holdq.h"
#include "io.h"
#include "xdp_filter.h"
#include "log.h"
#include "netstate.h"
#include "vip.h"

#define MAX_IFACES 16
#define WORKER_POLL_MS 100
#define WORKER_TICK_NS (100 * 1000 * 1000ull)
#define CTL_TIMER_NS (100 * 1000 * 1000ull)
#define CTL_TICK_NS (2 * LVS_NS_PER_SEC)
#define DEF_MAX_CONNS (1u << 20)

struct worker {
	pthread_t th;
	bool started;
	struct lvs_worker w;
	struct lvs_io *q[MAX_IFACES];
	unsigned nq;
	struct lvs_pkt pkts[LVS_IO_BURST];
	struct lvs_pkt *tx[LVS_IO_BURST];
	uint64_t vip_answers;
	uint64_t io_errors; /* socket errors reported by poll (interface down...) */
	struct lvs_holdq *hq; /* frames waiting for their next hop's MAC */
};

static struct {
	const char *ifname[MAX_IFACES];
	uint32_t ifindex[MAX_IFACES];
	unsigned nif;
	const char *io;
	unsigned nworkers;
	uint32_t max_conns;
	bool foreground, use_syslog, guard, sw_offload;
	int verbose;
	const char *pidfile;
} opt = { .io = "afpacket", .max_conns = DEF_MAX_CONNS, .guard = true };

static const struct lvs_io_ops *io_ops;
static struct lvs_director dir;
static struct lvs_netstate *netstate;
static struct lvs_vips *vips;
static struct worker *workers;
static volatile int stopping;
static int ready_fd = -1; /* background: tells the waiting parent */
static bool pidfile_written;

static lvs_time_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

/* ---- workers ---- */

/* Held frames a later run forwarded: AF_PACKET sends on any interface. */
static void worker_tx_held(void *arg, struct lvs_pkt *const *pkts, unsigned n)
{
	struct worker *wk = arg;

	io_ops->tx(wk->q[0], pkts, n);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct pollfd pfd[MAX_IFACES];
	lvs_time_t last_tick = 0;

	rcu_register_thread();
	for (unsigned i = 0; i < wk->nq; i++) {
		pfd[i].fd = io_ops->fd(wk->q[i]);
		pfd[i].events = POLLIN;
	}
	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		lvs_time_t now = mono_ns();
		bool busy = false;

		/* Held frames first (they came before anything received now).
		 * The generation is read before this loop's routes: a resolution
		 * they miss shows as a new generation next time. */
		lvs_holdq_run(wk->hq, lvs_netstate_neigh_gen(netstate), now);
		for (unsigned i = 0; i < wk->nq; i++) {
			unsigned n = io_ops->rx(wk->q[i], wk->pkts, LVS_IO_BURST), ntx = 0;
			struct lvs_pkt *pp[LVS_IO_BURST];
			enum lvs_verdict vv[LVS_IO_BURST];
			enum lvs_drop why[LVS_IO_BURST];

			for (unsigned k = 0; k < n; k++)
				pp[k] = &wk->pkts[k];
			/* The whole burst's connection lookups overlap their misses. */
			if (n)
				lvs_director_process_burst(&wk->w, pp, n, now, vv, why);
			for (unsigned k = 0; k < n; k++) {
				struct lvs_pkt *p = pp[k];
				enum lvs_verdict v = vv[k];

				if (v == LVS_V_TX) {
					wk->tx[ntx++] = p;
				} else if (v == LVS_V_PASS && lvs_vip_input(vips, p)) {
					wk->vip_answers++;
					wk->tx[ntx++] = p;
				} else if (v == LVS_V_DROP && why[k] == LVS_DROP_NO_NEIGH) {
					/* the frame is as received: routing failed first */
					lvs_holdq_add(wk->hq, p, now);
				}
			}
			/* AF_PACKET sends on any interface (p->ifindex) */
			if (ntx)
				io_ops->tx(wk->q[i], wk->tx, ntx);
			busy |= n > 0;
		}
		if (now - last_tick >= WORKER_TICK_NS) {
			lvs_worker_tick(&wk->w, now);
			last_tick = now;
		}
		rcu_quiescent_state();
		if (busy)
			continue;
		/* idle: sleep; an offline thread does not hold up grace periods */
		rcu_thread_offline();
		if (poll(pfd, wk->nq, lvs_holdq_len(wk->hq) ? LVS_HOLDQ_POLL_MS : WORKER_POLL_MS) >
		    0) {
			for (unsigned i = 0; i < wk->nq; i++) {
				int e;
				socklen_t l = sizeof(e);
				/* e.g. ENETDOWN when the interface went down: reading the
				 * error clears it, or poll() would return at once forever.
				 * The kernel resumes delivery when it comes back up. */
				if (pfd[i].revents & POLLERR) {
					getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &e, &l);
					wk->io_errors++;
				}
			}
		}
		rcu_thread_online();
	}
	lvs_holdq_drop_all(wk->hq);
	rcu_unregister_thread();
	return NULL;
}

/* ---- replaced model objects are freed after a grace period ---- */

struct retired {
	struct rcu_head rcu;
	void (*fn)(void *obj);
	void *obj;
};

static void retired_free(struct rcu_head *h)
{
	struct retired *r = caa_container_of(h, struct retired, rcu);

	r->fn(r->obj);
	free(r);
}

static void retire_obj(void *arg, void (*fn)(void *obj), void *obj)
{
	struct retired *r = malloc(sizeof(*r));

	(void)arg;
	if (!r) {
		/* cannot defer without memory: wait for the readers instead */
		synchronize_rcu();
		fn(obj);
		return;
	}
	r->fn = fn;
	r->obj = obj;
	call_rcu(&r->rcu, retired_free);
}

/* ---- start-up helpers ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lvsd -i IFACE [-i IFACE]... [options]\n"
		"The Linux Virtual Server director, in user space.  Configure it with lvsadm.\n\n"
		"  -i, --interface IFACE  serve this interface (repeatable, at least one)\n"
		"      --io DRIVER        packet I/O: afpacket (default) or afxdp\n"
		"  -w, --workers N        forwarding threads (default: online CPUs)\n"
		"      --max-conns N      connection table size (default 1048576)\n"
		"  -f, --foreground       stay in the foreground, log to stderr\n"
		"      --pidfile FILE     write the daemon's pid to FILE\n"
		"      --syslog           log to syslog (the default in the background)\n"
		"      --no-guard         do not install the nftables host guard\n"
		"      --sw-offload       complete checksums and segment in lvsd, not the kernel\n"
		"  -v, --verbose          debug logging\n"
		"  -h, --help             this text\n");
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

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "io", required_argument, NULL, 'I' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "syslog", no_argument, NULL, 's' },
		{ "no-guard", no_argument, NULL, 'G' },
		{ "sw-offload", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "i:w:fvh", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (opt.nif == MAX_IFACES) {
				fprintf(stderr, "lvsd: at most %d interfaces\n", MAX_IFACES);
				return 2;
			}
			for (unsigned k = 0; k < opt.nif; k++)
				if (!strcmp(opt.ifname[k], optarg)) {
					fprintf(stderr, "lvsd: interface %s given twice\n", optarg);
					return 2;
				}
			opt.ifname[opt.nif++] = optarg;
			break;
		case 'I':
			opt.io = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 1, LVS_MAX_WORKERS, &v)) {
				fprintf(stderr, "lvsd: bad --workers '%s' (1..%d)\n", optarg,
					LVS_MAX_WORKERS);
				return 2;
			}
			opt.nworkers = (unsigned)v;
			break;
		case 'C':
			if (parse_uint(optarg, 1, 1ul << 30, &v)) {
				fprintf(stderr, "lvsd: bad --max-conns '%s' (1..%lu)\n", optarg,
					1ul << 30);
				return 2;
			}
			opt.max_conns = (uint32_t)v;
			break;
		case 'f':
			opt.foreground = true;
			break;
		case 'p':
			opt.pidfile = optarg;
			if (optarg[0] != '/') {
				/* the daemon changes to / before writing it */
				static char abs[PATH_MAX];
				char cwd[PATH_MAX];
				if (!getcwd(cwd, sizeof(cwd)) ||
				    snprintf(abs, sizeof(abs), "%s/%s", cwd, optarg) >=
					    (int)sizeof(abs)) {
					fprintf(stderr, "lvsd: --pidfile path too long\n");
					return 2;
				}
				opt.pidfile = abs;
			}
			break;
		case 's':
			opt.use_syslog = true;
			break;
		case 'G':
			opt.guard = false;
			break;
		case 'O':
			opt.sw_offload = true;
			break;
		case 'v':
			opt.verbose++;
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
	if (!opt.nif) {
		fprintf(stderr, "lvsd: no interface to serve (-i IFACE)\n");
		usage(stderr);
		return 2;
	}
	io_ops = lvs_io_find(opt.io);
	if (!io_ops) {
		fprintf(stderr, "lvsd: unknown --io '%s' (%s)\n", opt.io, LVS_IO_NAMES);
		return 2;
	}
	for (unsigned k = 0; k < opt.nif; k++) {
		opt.ifindex[k] = if_nametoindex(opt.ifname[k]);
		if (!opt.ifindex[k]) {
			fprintf(stderr, "lvsd: no interface '%s' in this network namespace\n",
				opt.ifname[k]);
			return 2;
		}
	}
	if (!opt.nworkers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		opt.nworkers = n < 1 ? 1 : n > LVS_MAX_WORKERS ? LVS_MAX_WORKERS : (unsigned)n;
		/* one queue per worker on every interface (AF_XDP) */
		for (unsigned k = 0; io_ops->max_queues && k < opt.nif; k++) {
			unsigned q = io_ops->max_queues(opt.ifname[k]);
			if (q < opt.nworkers)
				opt.nworkers = q;
		}
	}
	return 0;
}

/*
 * Fork into the background.  The parent waits until the child reports
 * ready (a byte on a pipe: 0 = ready) and exits with 0, or 1 if the child
 * failed, so `lvsd && next-step` and systemd's Type=forking work.
 */
static int daemonize(void)
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
	ready_fd = p[1];
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

static void report_ready(char status)
{
	int fd;

	if (ready_fd < 0)
		return;
	if (status == 0) {
		lvs_log_also_stderr(false);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	(void)!write(ready_fd, &status, 1);
	close(ready_fd);
	ready_fd = -1;
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

/* Changes of the VIP set's keys, for a driver that selects director
 * traffic itself. */
static int io_filter(void *arg, const struct lvs_xdp_key *add, unsigned nadd,
		     const struct lvs_xdp_key *del, unsigned ndel)
{
	(void)arg;
	return io_ops->set_filter(add, nadd, del, ndel);
}

static int open_queues(void)
{
	for (unsigned k = 0; k < opt.nif; k++) {
		struct lvs_link_info li;
		struct lvs_io_conf c;

		if (lvs_netstate_link(netstate, opt.ifindex[k], &li)) {
			lvs_err("interface %s vanished", opt.ifname[k]);
			return -ENODEV;
		}
		if (li.type != 1 /* ARPHRD_ETHER */)
			lvs_warn("%s is not an Ethernet interface: frames may not parse", li.name);
		memset(&c, 0, sizeof(c));
		c.ifindex = opt.ifindex[k];
		snprintf(c.ifname, sizeof(c.ifname), "%s", opt.ifname[k]);
		c.mtu = li.mtu;
		c.nworkers = opt.nworkers;
		c.fanout_id = LVS_IO_FANOUT_NEW; /* the first creates, the others join */
		c.sw_offload = opt.sw_offload;
		for (unsigned w = 0; w < opt.nworkers; w++) {
			int err;

			c.worker = w;
			err = io_ops->open(&c, &workers[w].q[k]);
			if (err)
				return err;
			workers[w].nq = k + 1;
		}
	}
	return 0;
}

/* Sum of every worker's counters (read racily: plain per-worker fields). */
struct totals {
	uint64_t rx, tx, pass, drop, vipa, io_errors, conns_created;
	struct lvs_drop_stats d;
	struct lvs_holdq_stats h;
};

static void totals(struct totals *t)
{
	struct lvs_holdq_stats h;

	memset(t, 0, sizeof(*t));
	for (unsigned w = 0; w < opt.nworkers; w++) {
		const struct worker *wk = &workers[w];

		t->rx += wk->w.rx;
		t->tx += wk->w.tx;
		t->pass += wk->w.pass;
		t->drop += wk->w.dropped;
		t->conns_created += wk->w.conns_created;
		t->vipa += wk->vip_answers;
		t->io_errors += wk->io_errors;
		for (int r = 0; r < LVS_DROP__COUNT; r++)
			t->d.n[r] += wk->w.drops.n[r];
		lvs_holdq_get_stats(wk->hq, &h);
		t->h.held += h.held;
		t->h.sent += h.sent;
		t->h.expired += h.expired;
		t->h.overflow += h.overflow;
		t->h.nomem += h.nomem;
	}
}

#define U(x) ((unsigned long long)(x))

/*
 * `lvsadm --status` (control thread), and the summary logged at exit:
 * forwarding counters, drops by reason, the hold queue, VIP answers and
 * each driver instance's counters.
 */
static void print_status(void *arg, FILE *f)
{
	struct lvs_vip_stats vs = { 0 };
	struct totals t;

	(void)arg;
	totals(&t);
	lvs_vip_stats_add(vips, &vs);
	fprintf(f, "lvsd: %u worker%s, %s I/O on", opt.nworkers, opt.nworkers > 1 ? "s" : "",
		io_ops->name);
	for (unsigned k = 0; k < opt.nif; k++)
		fprintf(f, " %s", opt.ifname[k]);
	fprintf(f, "\nConnections: %u in a table of %u (%llu created)\n",
		lvs_conn_table_count(dir.ct), opt.max_conns, U(t.conns_created));
	fprintf(f, "Frames: %llu received, %llu forwarded, %llu passed, %llu dropped\n", U(t.rx),
		U(t.tx), U(t.pass), U(t.drop));
	fprintf(f, "VIP answers: %llu (ARP %llu, neighbour advertisements %llu, echo %llu)\n",
		U(t.vipa), U(vs.arp_replies), U(vs.na_replies), U(vs.echo_replies));
	fprintf(f, "Drops by reason:%s\n", t.drop ? "" : " none");
	for (int r = 1; r < LVS_DROP__COUNT; r++)
		if (t.d.n[r])
			fprintf(f, "  %-28s %llu\n", lvs_drop_name(r), U(t.d.n[r]));
	fprintf(f,
		"Held for next-hop resolution: %llu (%llu sent later, %llu timed out, "
		"%llu pushed out, %llu not held: no memory)\n",
		U(t.h.held), U(t.h.sent), U(t.h.expired), U(t.h.overflow), U(t.h.nomem));
	fputs("Packet I/O:\n", f);
	for (unsigned w = 0; w < opt.nworkers; w++)
		for (unsigned k = 0; k < workers[w].nq; k++) {
			struct lvs_io_stats s;

			io_ops->stats(workers[w].q[k], &s);
			fprintf(f,
				"  worker %u %s: rx %llu frames %llu bytes, tx %llu frames %llu bytes\n"
				"    rx: %llu ring drops, %llu truncated, %llu GSO, %llu checksum-partial, "
				"%llu bad offload\n"
				"    tx: %llu errors, %llu GSO to the kernel, %llu software segments, "
				"%llu software checksums, %llu bad offload\n",
				w, opt.ifname[k], U(s.rx_frames), U(s.rx_bytes), U(s.tx_frames),
				U(s.tx_bytes), U(s.rx_kernel_drops), U(s.rx_truncated), U(s.rx_gso),
				U(s.rx_csum_partial), U(s.rx_bad_offload), U(s.tx_errors), U(s.tx_gso),
				U(s.tx_sw_segs), U(s.tx_sw_csum), U(s.tx_bad_offload));
		}
	if (t.io_errors)
		fprintf(f, "  socket errors (interface down...): %llu\n", U(t.io_errors));
	lvs_vips_guard_status(vips, f);
	if (io_ops->prog_stats) {
		uint64_t x[LVS_XDPS__COUNT];

		io_ops->prog_stats(x);
		fprintf(f, "XDP program: %llu to lvsd, %llu to the host, %llu without a socket\n",
			U(x[LVS_XDPS_REDIRECT]), U(x[LVS_XDPS_PASS]), U(x[LVS_XDPS_NO_SOCKET]));
	}
}

/* At exit: the status, one log line each. */
static void log_summary(void)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	print_status(NULL, f);
	if (fclose(f) == 0)
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			lvs_info("%s", line);
	free(buf);
}

/* ---- control thread ---- */

/* The VIPs, guard and driver filter as of the model's current snapshot and
 * trash (and the host's addresses). */
static struct {
	uint64_t gen;
	unsigned trash;
} vips_seen;

static void vips_sync(bool addrs_changed)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(dir.model);
	unsigned trash = lvs_model_trash(dir.model, NULL, NULL);

	if (s->gen == vips_seen.gen && trash == vips_seen.trash && !addrs_changed)
		return;
	vips_seen.gen = s->gen;
	vips_seen.trash = trash;
	if (lvs_vips_update(vips, s, dir.model))
		lvs_err("VIPs: the host guard could not be updated");
}

static void ctl_changed(void *arg)
{
	(void)arg;
	vips_sync(false);
}

static int control_loop(struct lvs_ctl_state *cst, int lfd, int sfd, int tfd)
{
	lvs_time_t last_ctl_tick = mono_ns();
	struct pollfd pfd[5] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = lfd, .events = POLLIN },
		{ .fd = lvs_netstate_fd(netstate), .events = POLLIN },
		{ .fd = lvs_netstate_wake_fd(netstate), .events = POLLIN },
		{ .fd = tfd, .events = POLLIN },
	};

	while (!stopping) {
		lvs_time_t now;
		unsigned chg = 0;

		rcu_thread_offline();
		if (poll(pfd, 5, -1) < 0 && errno != EINTR) {
			rcu_thread_online();
			lvs_err("poll: %s", strerror(errno));
			return -1;
		}
		rcu_thread_online();
		now = mono_ns();
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					lvs_notice("signal %u: stopping", si.ssi_signo);
					__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
					break;
				}
				lvs_info("signal %u ignored", si.ssi_signo);
			}
		}
		if (pfd[1].revents & POLLIN)
			lvs_ctl_serve_one(cst, lfd);
		if (pfd[2].revents & POLLIN)
			chg = lvs_netstate_input(netstate);
		if ((pfd[3].revents & POLLIN) || (pfd[4].revents & POLLIN)) {
			uint64_t x;
			if (pfd[4].revents & POLLIN)
				(void)!read(tfd, &x, sizeof(x));
			lvs_netstate_tick(netstate, now);
			lvs_vips_tick(vips, now);
		}
		vips_sync(chg & LVS_NS_CHG_ADDR);
		if (chg & LVS_NS_CHG_LINK)
			lvs_vips_net_changed(vips, chg);
		if (now - last_ctl_tick >= CTL_TICK_NS) {
			last_ctl_tick = now;
			/* lvs_ctl_tick frees deleted destinations: make sure no
			 * replaced snapshot naming them is still pending first */
			rcu_thread_offline();
			rcu_barrier();
			rcu_thread_online();
			lvs_ctl_tick(cst);
		}
		rcu_quiescent_state();
	}
	return 0;
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
	/* blocked in every thread (they inherit the mask): the control thread
	 * reads them from a signalfd */
	return pthread_sigmask(SIG_BLOCK, set, NULL) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct lvs_ctl_state cst;
	bool cst_ok = false;
	int rc, lfd = -1, sfd = -1, tfd = -1, err;
	struct itimerspec its;
	uint64_t seed;
	sigset_t set;

	rc = parse_args(argc, argv);
	if (rc)
		return rc;
	rc = 1;
	lvs_log_open("lvsd", opt.use_syslog || !opt.foreground, opt.verbose ? LOG_DEBUG : LOG_INFO);
	if (!opt.foreground && (err = daemonize())) {
		lvs_err("cannot go to the background: %s", strerror(-err));
		return 1;
	}
	rcu_register_thread();
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
	dir.model = lvs_model_new_workers(opt.nworkers);
	dir.ct = lvs_conn_table_new(opt.max_conns, opt.nworkers);
	if (!dir.model || !dir.ct) {
		lvs_err("out of memory (connection table of %u entries)", opt.max_conns);
		goto out;
	}
	lvs_model_set_retire(dir.model, retire_obj, NULL);
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		lvs_conn_set_hash_seed(dir.ct, seed);

	netstate = lvs_netstate_new(0);
	if (!netstate || lvs_netstate_start(netstate))
		goto out;
	dir.env.ctx = netstate;
	dir.env.route = lvs_netstate_route;
	dir.env.route_cached = lvs_netstate_route_cached;
	dir.env.src_addr = lvs_netstate_src_addr;

	vips = lvs_vips_new(netstate, opt.ifindex, opt.nif, opt.guard);
	if (!vips)
		goto out;

	workers = calloc(opt.nworkers, sizeof(*workers));
	if (!workers)
		goto out;
	for (unsigned w = 0; w < opt.nworkers; w++) {
		workers[w].w.d = &dir;
		workers[w].w.id = w;
		workers[w].hq = lvs_holdq_new(&workers[w].w, worker_tx_held, &workers[w]);
		if (!workers[w].hq) {
			lvs_err("out of memory (hold queues)");
			goto out;
		}
	}
	if ((err = open_queues())) {
		lvs_err("cannot open packet I/O (%s): %s", io_ops->name, strerror(-err));
		goto out;
	}
	if (io_ops->set_filter)
		lvs_vips_set_filter(vips, io_filter, NULL);
	if (lvs_ctl_state_init(&cst, dir.model, dir.ct, mono_ns)) {
		lvs_err("control state: out of memory");
		goto out;
	}
	cst_ok = true;
	cst.changed = ctl_changed;
	cst.status = print_status;
	vips_seen.gen = lvs_model_snapshot(dir.model)->gen;

	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0) {
		lvs_err("signalfd/timerfd: %s", strerror(errno));
		goto out;
	}
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = (long)CTL_TIMER_NS;
	its.it_value.tv_nsec = (long)CTL_TIMER_NS;
	timerfd_settime(tfd, 0, &its, NULL);

	if (opt.pidfile) {
		if ((err = write_pidfile(opt.pidfile))) {
			lvs_err("pid file %s: %s", opt.pidfile, strerror(-err));
			goto out;
		}
		pidfile_written = true;
	}
	for (unsigned w = 0; w < opt.nworkers; w++) {
		if ((err = pthread_create(&workers[w].th, NULL, worker_main, &workers[w]))) {
			lvs_err("worker thread: %s", strerror(err));
			__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
			goto out;
		}
		workers[w].started = true;
	}
	lvs_notice("serving %u interface%s with %u worker%s (%s I/O, %u connections max, %zu MB)",
		   opt.nif, opt.nif > 1 ? "s" : "", opt.nworkers, opt.nworkers > 1 ? "s" : "",
		   io_ops->name, opt.max_conns, lvs_conn_table_mem_bytes(dir.ct) >> 20);
	report_ready(0);
	rc = control_loop(&cst, lfd, sfd, tfd) ? 1 : 0;

out:
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	report_ready(1);
	for (unsigned w = 0; workers && w < opt.nworkers; w++)
		if (workers[w].started)
			pthread_join(workers[w].th, NULL);
	if (workers && rc == 0)
		log_summary();
	for (unsigned w = 0; workers && w < opt.nworkers; w++)
		for (unsigned k = 0; k < workers[w].nq; k++)
			io_ops->close(workers[w].q[k]);
	/* callbacks of replaced snapshots and tables run before we free */
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	lvs_vips_free(vips); /* removes the guard tables */
	if (cst_ok)
		lvs_ctl_state_done(&cst);
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	lvs_netstate_free(netstate);
	lvs_conn_table_free(dir.ct);
	lvs_model_free(dir.model);
	for (unsigned w = 0; workers && w < opt.nworkers; w++)
		lvs_holdq_free(workers[w].hq);
	free(workers);
	if (pidfile_written)
		unlink(opt.pidfile);
	rcu_unregister_thread();
	if (rc == 0)
		lvs_notice("stopped");
	lvs_log_close();
	return rc;
}
