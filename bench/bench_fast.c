/*
 * bench_fast.c - the XDP fast path's cost per established packet
 * (lvs_fast.bpf.c), measured with BPF_PROG_TEST_RUN: the kernel runs the
 * program `repeat` times on one frame and reports the mean time per run.
 * Root; printed as tables with the machine and conditions; never asserted.
 *
 * Every table has a harness row first: a program that returns XDP_TX at
 * once, run on the same frame with the same repeat count, so that a reader
 * sees the raw figure and what the program itself adds ("net").  Rows are
 * measured in turn within each round, BENCH_FAST_ROUNDS rounds (default
 * 9), and printed as the minimum and the median over the rounds.
 *   established  NAT in, NAT out and DR, 250 repeats per call on entries
 *                whose rewrites undo each other (below): every repeat is
 *                a whole fast-path packet.
 *   one packet   one run per call for every method, TUN included (an
 *                encapsulated frame is no fast-path frame again): cold
 *                after the syscall, so every row is overstated, but the
 *                rows rank the methods.
 * BENCH_FAST_CALLS: calls per row and round (default 1000 established,
 * twenty times that for one packet); BENCH_FAST_ONLY=cycle or single.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "fastpath.h"

#define FRAME_MAX 2048
#define CYCLE_REPEAT 250
#define MAX_ROUNDS 31

static struct lvs_fastpath *fp;

static union lvs_addr a4(const char *s)
{
	union lvs_addr a;

	memset(&a, 0, sizeof(a));
	inet_pton(AF_INET, s, &a.ip4);
	return a;
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* An IPv4 TCP ACK src:sport -> dst:dport with plen bytes, valid sums. */
static uint32_t frame4(uint8_t *f, const char *src, uint16_t sport, const char *dst,
		       uint16_t dport, uint32_t plen)
{
	uint8_t *ip = f + 14, *th = ip + 20;
	uint32_t tot = 40 + plen, s;
	union lvs_addr sa = a4(src), da = a4(dst);

	memset(f, 0, 14 + tot);
	f[0] = 2, f[5] = 0xfe, f[6] = 2, f[11] = 0xaa, f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[6] = 0x40;
	ip[8] = 255;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &sa.ip4, 4);
	memcpy(ip + 16, &da.ip4, 4);
	s = (uint16_t)~fold16(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(s >> 8), ip[11] = (uint8_t)s;
	th[0] = (uint8_t)(sport >> 8), th[1] = (uint8_t)sport;
	th[2] = (uint8_t)(dport >> 8), th[3] = (uint8_t)dport;
	th[12] = 0x50;
	th[13] = 0x10;
	for (uint32_t i = 0; i < plen; i++)
		th[20 + i] = (uint8_t)i;
	s = sum16(ip + 12, 8, 0) + IPPROTO_TCP + 20 + plen;
	s = (uint16_t)~fold16(sum16(th, 20 + plen, s));
	th[16] = (uint8_t)(s >> 8), th[17] = (uint8_t)s;
	return 14 + tot;
}

static struct lvs_conn_info conn(uint8_t fwd, const char *c, uint16_t cport, const char *v,
				 uint16_t vport, const char *d, uint16_t dport)
{
	struct lvs_conn_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.p.af = ci.p.daf = AF_INET;
	ci.p.proto = IPPROTO_TCP;
	ci.p.fwd = fwd;
	ci.p.caddr = a4(c);
	ci.p.vaddr = a4(v);
	ci.p.daddr = a4(d);
	ci.p.cport = htons(cport);
	ci.p.vport = htons(vport);
	ci.p.dport = htons(dport);
	return ci;
}

static void add(const struct lvs_conn_info *ci, bool reply, const struct lvs_fast_tun *tun)
{
	struct lvs_nexthop nh = {.mac = {2, 0, 0, 0, 1, 1}, .src_mac = {2, 0, 0, 0, 0, 0xfe},
				 .ifindex = 1, .mtu = 1500};
	union lvs_addr src = a4("10.1.0.254");
	int err = lvs_fastpath_add(fp, ci, reply, &nh, tun, &src);

	if (err) {
		fprintf(stderr, "bench_fast: add: %s\n", strerror(-err));
		exit(1);
	}
}

/* The test-run harness alone: a program that returns XDP_TX at once,
 * loaded as the fast path is (multi-buffer), run on the same frame with
 * the same repeat count. */
static int harness_prog(void)
{
	static const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_XDP_HAS_FRAGS);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "lvs_harness", "GPL", insns, 2, &o);

	if (fd < 0) {
		fprintf(stderr, "bench_fast: harness program: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/*
 * Test-run puts the program into the kernel's XDP dispatcher for each call
 * and takes it out again (text patching and an RCU grace period: from
 * microseconds to milliseconds on a busy machine), outside the timed loop
 * but dominating the wall time.  A program already attached somewhere
 * stays in the dispatcher, so both programs are attached to a veth pair in
 * a network namespace of the benchmark's own; lvsd's program sits in the
 * dispatcher the same way once attached.  Returns whether they are.
 */
static bool attach_veth(int prog, int harness)
{
	int a, b;

	if (unshare(CLONE_NEWNET))
		return false;
	if (system("ip link add lvsbench0 type veth peer name lvsbench1 && "
		   "ip link set lvsbench0 up && ip link set lvsbench1 up") != 0)
		return false;
	a = (int)if_nametoindex("lvsbench0");
	b = (int)if_nametoindex("lvsbench1");
	return a && b && !bpf_xdp_attach(a, prog, XDP_FLAGS_DRV_MODE, NULL) &&
	       !bpf_xdp_attach(b, harness, XDP_FLAGS_DRV_MODE, NULL);
}

/* Mean ns per run over calls calls of repeat runs each; *ret: the verdict.
 * The kernel reports each call's mean in whole ns (truncated), which
 * lowers every row alike by half a ns on average. */
static double run(int prog, const uint8_t *f, uint32_t len, uint32_t repeat, unsigned calls,
		  int *ret)
{
	static uint8_t out[FRAME_MAX + 256];
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = 1};
	double total = 0;

	for (unsigned i = 0; i < calls; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = repeat);
		if (bpf_prog_test_run_opts(prog, &o)) {
			fprintf(stderr, "bench_fast: test run: %s\n", strerror(errno));
			exit(1);
		}
		total += o.duration;
		*ret = (int)o.retval;
	}
	return total / calls;
}

static const char *verdict(int r)
{
	return r == XDP_TX ? "XDP_TX" : r == XDP_REDIRECT ? "XDP_REDIRECT" : r == XDP_PASS ? "XDP_PASS" : "?";
}


static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double vmin(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmedian(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void loadavg(char *buf, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, n, "?");
	if (f) {
		if (fgets(buf, (int)n, f))
			buf[strcspn(buf, " ")] = 0; /* the 1-minute figure */
		fclose(f);
	}
}

/* Read before the benchmark leaves the first network namespace, the only
 * one with the setting. */
static int jit_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/core/bpf_jit_enable", "r");
	int jit = -1;

	if (f) {
		if (fscanf(f, "%d", &jit) != 1)
			jit = -1;
		fclose(f);
	}
	return jit;
}

static void machine(int rounds, int cpu, int jit, bool attached)
{
	struct utsname u;
	char line[256], model[256] = "?", load[64];
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof(model), "%s", c ? c + 2 : line);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	loadavg(load, sizeof(load));
	printf("# lvsd XDP fast path benchmark (BPF_PROG_TEST_RUN)\n\n");
	printf("| machine | %s, %ld online CPUs |\n|---|---|\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("| kernel | %s %s, BPF JIT %s |\n", u.sysname, u.release,
	       jit > 0 ? "on" : jit == 0 ? "off" : "?");
	printf("| conditions | one frame of one flow, cache hot (flow maps of 7 entries; "
	       "bench-core's established table spreads packets over many flows); IPv4 TCP "
	       "ACK, 100-byte payload (154-byte frame); %s; %s; load average %s at the "
	       "start; machine shared, runs vary |\n",
	       cpu >= 0 ? "pinned to one CPU" : "not pinned",
	       attached ? "programs attached (to a veth pair), as in service"
			: "programs not attached: the dispatcher is patched for every call",
	       load);
	printf("| method | %d rounds, every row once per round in turn; min and median over "
	       "the rounds; net = the row less the harness row (a program that returns "
	       "XDP_TX at once, same frame, same repeat) |\n",
	       rounds);
}

struct row {
	const char *name;
	int prog;
	uint8_t f[FRAME_MAX];
	uint32_t len;
	int ret;
	double v[MAX_ROUNDS];
};

/* Every row once per round, the rows in turn, then the table. */
static void table(struct row *rows, int n, uint32_t repeat, unsigned calls, int rounds)
{
	double hmin, hmed;

	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			rows[i].v[r] = run(rows[i].prog, rows[i].f, rows[i].len, repeat, calls,
					   &rows[i].ret);
	hmin = vmin(rows[0].v, rounds);
	hmed = vmedian(rows[0].v, rounds);
	printf("| case | verdict | ns/packet min | median | net of harness: min | median |\n"
	       "|---|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < n; i++) {
		double mn = vmin(rows[i].v, rounds), md = vmedian(rows[i].v, rounds);

		if (i == 0)
			printf("| %s | %s | %.1f | %.1f | - | - |\n", rows[i].name,
			       verdict(rows[i].ret), mn, md);
		else
			printf("| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", rows[i].name,
			       verdict(rows[i].ret), mn, md, mn - hmin, md - hmed);
	}
}

int main(void)
{
	static struct row rows[8];
	const char *e = getenv("BENCH_FAST_CALLS"), *only = getenv("BENCH_FAST_ONLY");
	unsigned calls = e ? (unsigned)atoi(e) : 1000;
	int rounds = getenv("BENCH_FAST_ROUNDS") ? atoi(getenv("BENCH_FAST_ROUNDS")) : 9;
	struct lvs_fast_tun ipip = {0}, gue = {.type = LVS_TUN_GUE, .flags = LVS_TUN_F_CSUM,
					       .port = htons(6080)};
	struct lvs_conn_info ci;
	int err, harness, prog, cpu = -1, n, jit;
	bool attached;
	cpu_set_t set;
	char load[64];

	if (geteuid() != 0) {
		printf("bench-fast: skipped (needs root for BPF_PROG_TEST_RUN)\n");
		return 0;
	}
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 9;
	if (calls < 1)
		calls = 1000;
	libbpf_set_print(NULL);
	err = lvs_fastpath_open(&fp, XDP_PASS);
	if (err) {
		printf("bench-fast: skipped (cannot load the program: %s)\n", strerror(-err));
		return 0;
	}
	prog = lvs_fastpath_prog_fd(fp);
	harness = harness_prog();
	/* one CPU for every row: the same caches, the same per-CPU counters */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (!sched_setaffinity(0, sizeof(set), &set))
		cpu = 0;
	jit = jit_enabled();
	attached = attach_veth(prog, harness);
	machine(rounds, cpu, jit, attached);

	/* NAT in: client -> VIP and back from client -> server */
	ci = conn(LVS_FWD_MASQ, "192.0.2.10", 40000, "10.0.0.1", 80, "10.1.0.1", 80);
	add(&ci, false, NULL);
	ci = conn(LVS_FWD_MASQ, "192.0.2.10", 40000, "10.1.0.1", 80, "10.0.0.1", 80);
	add(&ci, false, NULL);
	/* NAT out: server -> client, back from VIP -> client */
	ci = conn(LVS_FWD_MASQ, "192.0.2.20", 40000, "10.0.0.1", 80, "10.1.0.1", 8080);
	add(&ci, true, NULL);
	ci = conn(LVS_FWD_MASQ, "192.0.2.20", 40000, "10.1.0.1", 8080, "10.0.0.1", 80);
	add(&ci, true, NULL);
	/* DR: the key survives the rewrite */
	ci = conn(LVS_FWD_ROUTE, "192.0.2.30", 40000, "10.0.0.2", 80, "10.1.0.2", 80);
	add(&ci, false, NULL);
	ci = conn(LVS_FWD_TUNNEL, "192.0.2.40", 40000, "10.0.0.3", 80, "10.1.0.3", 80);
	add(&ci, false, &ipip);
	ci = conn(LVS_FWD_TUNNEL, "192.0.2.41", 40000, "10.0.0.3", 80, "10.1.0.3", 80);
	add(&ci, false, &gue);
	{
		static const struct {
			const char *name, *src, *dst;
			uint16_t sport, dport;
		} cases[] = {
			{"harness (XDP_TX at once)", "192.0.2.10", "10.0.0.1", 40000, 80},
			{"NAT in", "192.0.2.10", "10.0.0.1", 40000, 80},
			{"NAT out", "10.1.0.1", "192.0.2.20", 8080, 40000},
			{"DR", "192.0.2.30", "10.0.0.2", 40000, 80},
			{"TUN ipip", "192.0.2.40", "10.0.0.3", 40000, 80},
			{"TUN gue + UDP csum", "192.0.2.41", "10.0.0.3", 40000, 80},
		};
		n = (int)(sizeof(cases) / sizeof(cases[0]));
		for (int i = 0; i < n; i++) {
			rows[i].name = cases[i].name;
			rows[i].prog = i ? prog : harness;
			rows[i].len = frame4(rows[i].f, cases[i].src, cases[i].sport, cases[i].dst,
					     cases[i].dport, 100);
		}
	}
	/*
	 * Established packets in a loop: test-run does not restore the frame
	 * between repeats and every transform changes it (the TTL at least),
	 * so NAT runs on pairs of entries whose rewrites undo each other (NAT
	 * in: client->VIP becomes client->server, whose own entry rewrites it
	 * back; NAT out alike) and DR keeps its key: every repeat is a whole
	 * fast-path packet.  A frame starts with TTL 255: 250 repeats a call.
	 */
	if (!only || !strcmp(only, "cycle")) {
		printf("\nEstablished packets, %u repeats per call, %u calls per row and round "
		       "(%u packets)\n\n",
		       CYCLE_REPEAT, calls, calls * CYCLE_REPEAT);
		table(rows, 4, CYCLE_REPEAT, calls, rounds);
	}
	/*
	 * One run per call for every method, TUN included (an encapsulated
	 * frame is no fast-path frame again): each call starts cold after its
	 * syscall, which overstates every row, but the rows rank the methods.
	 */
	if (!only || !strcmp(only, "single")) {
		calls *= 20;
		printf("\nOne packet per call (repeat 1, a cold run after each syscall), %u calls "
		       "per row and round\n\n",
		       calls);
		table(rows, n, 1, calls, rounds);
	}
	loadavg(load, sizeof(load));
	printf("\nload average %s at the end\n", load);
	close(harness);
	lvs_fastpath_close(fp);
	return 0;
}
