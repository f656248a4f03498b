/*
 * bench_core.c - in-memory benchmark of the forwarding core on one core.
 *
 * Prints a table with the machine and conditions:
 *   - established-flow forwarding (Mpps) for NAT (both directions), DR and
 *     TUN with 1M live connections, packets visited in random flow order so
 *     the connection table is not cache resident;
 *   - new connections per second (SYN -> schedule -> create -> transform) for
 *     rr, wlc, sh and mh with 10, 1,000 and 10,000 destinations;
 *   - bytes per connection (IPv4 entry, IPv6 extra, bucket heads) and the
 *     memory of a 10M-connection table.
 * Frames are processed in bursts of 32 (lvs_director_process_burst), each
 * copied from a template into its buffer first (a driver hands over fresh
 * frames); that copy is included.  Templates lie in arrival order, as in a
 * NIC's rx ring, so the copy reads memory sequentially while the flows
 * (hence the connection entries) come in random order.
 * The environment's route lookup is a constant (the daemon resolves next
 * hops from a cache), so the figures are the core's own cost.  Established
 * flows are first moved to ESTABLISHED by one untimed pass.
 * Figures are medians of BENCH_ROUNDS (default 3) runs.
 *
 * Environment: BENCH_ONLY=established|new|memory, BENCH_ROUNDS=n,
 * BENCH_SMALL=1 (100k connections / SYNs), BENCH_MODE=<tag> (one row:
 * nat-in, nat-out, dr, tun, or <scheduler>-<dests> such as wlc-1000),
 * BENCH_VERBOSE=1 (every round on stderr).  Instructions per packet,
 * reproducibly: valgrind --tool=callgrind --toggle-collect='run_frames*'
 * with BENCH_SMALL=1 BENCH_ROUNDS=1 and one BENCH_MODE (a build without
 * -march=native AVX-512, which valgrind does not know), divided by 100000.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <time.h>

#include "director.h"
#include "sched.h"

#define FRAME_LEN 64
#define BUFSZ (LVS_PKT_HEADROOM + 2048)

static uint8_t dmac[6] = { 2, 0, 0, 0, 0, 1 };

static int b_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	(void)af;
	memset(nh, 0, sizeof(*nh));
	nh->mac[0] = 2;
	nh->mac[5] = dst->b[3];
	memcpy(nh->src_mac, dmac, 6);
	nh->ifindex = 1;
	nh->mtu = 1500;
	return 0;
}

static int b_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)dst;
	(void)af;
	lvs_addr_set4(src, htonl(0x0a0000fe));
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint16_t ip_csum(const uint8_t *h)
{
	uint32_t s = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A 64-byte Ethernet/IPv4/TCP frame (checksums: IP exact, TCP arbitrary;
 * the core updates TCP checksums incrementally and does not verify them). */
static void build_tcp(uint8_t *f, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
		      uint8_t flags)
{
	memset(f, 0, FRAME_LEN);
	memcpy(f, dmac, 6);
	f[6] = 2;
	f[11] = 0x99;
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	ip[2] = 0;
	ip[3] = 50; /* 20 + 20 + 10 payload */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	uint16_t c = ip_csum(ip);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *th = ip + 20;
	memcpy(th, &sport, 2);
	memcpy(th + 2, &dport, 2);
	th[12] = 0x50;
	th[13] = flags;
	th[14] = 0xff;
	th[15] = 0xff;
}

struct setup {
	struct lvs_model *m;
	struct lvs_director d;
	struct lvs_worker w;
};

static int setup_new(struct setup *s, uint32_t max_conns)
{
	memset(s, 0, sizeof(*s));
	s->m = lvs_model_new();
	s->d.model = s->m;
	s->d.ct = lvs_conn_table_new(max_conns, 1);
	s->d.env.route = b_route;
	s->d.env.src_addr = b_src;
	s->w.d = &s->d;
	if (!s->m || !s->d.ct)
		return -ENOMEM;
	/* As the daemon does at start: no page faults on the data path. */
	return lvs_conn_table_prefault(s->d.ct, false);
}

static void setup_free(struct setup *s)
{
	lvs_conn_table_free(s->d.ct);
	lvs_model_free(s->m);
}

static int add_service(struct setup *s, const char *sched, int fwd, uint32_t ndests)
{
	struct lvs_svc_conf c;
	struct lvs_svc_key k;
	int err;

	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.proto = IPPROTO_TCP;
	c.addr.ip4 = htonl(0x0a000001);
	c.port = htons(80);
	snprintf(c.sched, sizeof(c.sched), "%s", sched);
	if ((err = lvs_model_begin(s->m)) || (err = lvs_model_add_service(s->m, &c)))
		return err;
	lvs_svc_conf_key(&c, &k);
	for (uint32_t i = 0; i < ndests; i++) {
		struct lvs_dest_conf d;
		lvs_dest_conf_defaults(&d);
		d.af = AF_INET;
		d.addr.ip4 = htonl(0xac100000 + 1 + i); /* 172.16.x.y */
		d.port = htons(8080);
		d.fwd = (uint8_t)fwd;
		d.weight = 1 + (int)(i % 4);
		if ((err = lvs_model_add_dest(s->m, &k, &d))) {
			lvs_model_abort(s->m);
			return err;
		}
	}
	return lvs_model_commit(s->m);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static uint64_t rng = 88172645463325252ull;
static uint32_t xrand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* BENCH_MODE: run only the row with this tag (nat-in, nat-out, dr, tun;
 * <scheduler>-<dests> as wlc-1000). */
static bool mode_selected(const char *tag)
{
	const char *m = getenv("BENCH_MODE");

	return !m || !strcmp(tag, m);
}

/*
 * Process template frames[idx[i]] for i in [0,n) in bursts of
 * LVS_DIRECTOR_BURST, as a driver hands them over; returns seconds.
 */
static inline double frames_loop(struct setup *s, const uint8_t *frames, const uint32_t *idx,
				 uint32_t n, lvs_time_t now, uint64_t *tx)
{
	static uint8_t buf[LVS_DIRECTOR_BURST][BUFSZ];
	struct lvs_pkt pk[LVS_DIRECTOR_BURST], *pp[LVS_DIRECTOR_BURST];
	enum lvs_verdict v[LVS_DIRECTOR_BURST];
	enum lvs_drop why[LVS_DIRECTOR_BURST];
	double t0 = now_s();
	uint64_t sent = 0;

	for (uint32_t i = 0; i < n; i += LVS_DIRECTOR_BURST) {
		unsigned b = n - i < LVS_DIRECTOR_BURST ? n - i : LVS_DIRECTOR_BURST;
		for (unsigned j = 0; j < b; j++) {
			memcpy(buf[j] + LVS_PKT_HEADROOM, frames + (size_t)idx[i + j] * FRAME_LEN,
			       FRAME_LEN);
			lvs_pkt_init(&pk[j], buf[j], BUFSZ, LVS_PKT_HEADROOM, FRAME_LEN);
			pp[j] = &pk[j];
		}
		lvs_director_process_burst(&s->w, pp, b, now, v, why);
		for (unsigned j = 0; j < b; j++)
			sent += v[j] == LVS_V_TX;
	}
	*tx = sent;
	return now_s() - t0;
}

/* The measured loops.  Setup goes through feed_frames, so
 * `valgrind --tool=callgrind --toggle-collect=run_frames` counts exactly
 * the measured work. */
static __attribute__((noinline)) double run_frames(struct setup *s, const uint8_t *frames,
						   const uint32_t *idx, uint32_t n, lvs_time_t now,
						   uint64_t *tx)
{
	return frames_loop(s, frames, idx, n, now, tx);
}

static __attribute__((noinline)) void feed_frames(struct setup *s, const uint8_t *frames,
						  const uint32_t *idx, uint32_t n, lvs_time_t now,
						  uint64_t *tx)
{
	(void)frames_loop(s, frames, idx, n, now, tx);
}

static void bench_established(int rounds, uint32_t nconns)
{
	static const struct {
		const char *name, *tag;
		int fwd;
		bool reply;
	} modes[] = {
		{ "NAT client->server", "nat-in", LVS_FWD_MASQ, false },
		{ "NAT server->client", "nat-out", LVS_FWD_MASQ, true },
		{ "DR", "dr", LVS_FWD_ROUTE, false },
		{ "TUN (ipip)", "tun", LVS_FWD_TUNNEL, false },
	};
	uint8_t *syn = aligned_alloc(64, (size_t)nconns * FRAME_LEN);
	uint8_t *est = aligned_alloc(64, (size_t)nconns * FRAME_LEN);
	uint8_t *ring = aligned_alloc(64, (size_t)nconns * FRAME_LEN);
	uint32_t *seq = malloc(sizeof(uint32_t) * nconns);
	uint32_t *perm = malloc(sizeof(uint32_t) * nconns);

	if (!syn || !est || !ring || !seq || !perm) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	for (uint32_t i = 0; i < nconns; i++) {
		uint32_t caddr = htonl(0x64400000 + (i >> 8)); /* 100.64.0.0/10 */
		uint16_t cport = htons((uint16_t)(1024 + (i & 0xff)));
		build_tcp(syn + (size_t)i * FRAME_LEN, caddr, cport, htonl(0x0a000001), htons(80),
			  0x02);
		seq[i] = i;
		perm[i] = i;
	}
	for (uint32_t i = nconns - 1; i > 0; i--) {
		uint32_t j = xrand() % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	printf("\nEstablished-flow forwarding, %u live connections, 64-byte TCP frames,\n"
	       "random flow order, 10 destinations (rr), median of %d runs\n\n",
	       nconns, rounds);
	printf("| mode | Mpps | ns/packet |\n|---|---:|---:|\n");
	for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++) {
		struct setup s;
		double v[16];
		uint64_t tx;

		if (!mode_selected(modes[mi].tag))
			continue;
		if (setup_new(&s, nconns + nconns / 2) || add_service(&s, "rr", modes[mi].fwd, 10)) {
			fprintf(stderr, "bench: setup failed\n");
			exit(1);
		}
		feed_frames(&s, syn, seq, nconns, LVS_NS_PER_SEC, &tx);
		if (tx != nconns || lvs_conn_table_count(s.d.ct) != nconns) {
			fprintf(stderr, "bench: %s: %llu of %u SYNs forwarded, %u conns\n",
				modes[mi].name, (unsigned long long)tx, nconns,
				lvs_conn_table_count(s.d.ct));
			exit(1);
		}
		for (uint32_t i = 0; i < nconns; i++) {
			uint8_t *f = est + (size_t)i * FRAME_LEN;
			uint32_t caddr = htonl(0x64400000 + (i >> 8));
			uint16_t cport = htons((uint16_t)(1024 + (i & 0xff)));
			if (modes[mi].reply) {
				/* Find the server rr gave this flow: the SYN went out
				 * with it as destination; replay the SYN to read it. */
				uint8_t b[BUFSZ];
				struct lvs_pkt p;
				enum lvs_drop why;
				uint32_t daddr;
				memcpy(b + LVS_PKT_HEADROOM, syn + (size_t)i * FRAME_LEN, FRAME_LEN);
				lvs_pkt_init(&p, b, BUFSZ, LVS_PKT_HEADROOM, FRAME_LEN);
				if (lvs_director_process(&s.w, &p, LVS_NS_PER_SEC, &why) != LVS_V_TX)
					exit(1);
				memcpy(&daddr, p.data + 14 + 16, 4);
				build_tcp(f, daddr, htons(8080), caddr, cport, 0x10);
			} else {
				build_tcp(f, caddr, cport, htonl(0x0a000001), htons(80), 0x10);
			}
		}
		/* Once untimed: the handshake's last ACK moves every flow to
		 * ESTABLISHED; the rounds then measure established flows only. */
		feed_frames(&s, est, seq, nconns, 2 * LVS_NS_PER_SEC, &tx);
		/* The measured frames arrive in random flow order from a ring
		 * laid out in arrival order, as a NIC's rx ring is: the copy
		 * reads it sequentially (copying from random places of a 64 MB
		 * array instead adds cache misses no driver has). */
		for (uint32_t i = 0; i < nconns; i++)
			memcpy(ring + (size_t)i * FRAME_LEN, est + (size_t)perm[i] * FRAME_LEN,
			       FRAME_LEN);
		for (int r = 0; r < rounds; r++) {
			double t = run_frames(&s, ring, seq, nconns, 2 * LVS_NS_PER_SEC, &tx);
			if (tx != nconns) {
				fprintf(stderr, "bench: %s: only %llu of %u forwarded\n",
					modes[mi].name, (unsigned long long)tx, nconns);
				exit(1);
			}
			v[r] = nconns / t / 1e6;
			if (getenv("BENCH_VERBOSE"))
				fprintf(stderr, "%s round %d: %.2f Mpps\n", modes[mi].tag, r, v[r]);
		}
		double mp = median(v, rounds);
		printf("| %s | %.2f | %.0f |\n", modes[mi].name, mp, 1e3 / mp);
		setup_free(&s);
	}
	free(syn);
	free(est);
	free(ring);
	free(seq);
	free(perm);
}

static void bench_new_conns(int rounds, uint32_t nsyn)
{
	static const char *const scheds[] = { "rr", "wlc", "sh", "mh" };
	static const uint32_t ndests[] = { 10, 1000, 10000 };
	uint8_t *syn = aligned_alloc(64, (size_t)nsyn * FRAME_LEN);
	uint32_t *seq = malloc(sizeof(uint32_t) * nsyn);

	if (!syn || !seq)
		exit(1);
	for (uint32_t i = 0; i < nsyn; i++) {
		uint32_t caddr = htonl(0x64400000 + (xrand() & 0x3fffff));
		uint16_t cport = htons((uint16_t)(1024 + (i % 60000)));
		build_tcp(syn + (size_t)i * FRAME_LEN, caddr, cport, htonl(0x0a000001), htons(80),
			  0x02);
		seq[i] = i;
	}
	printf("\nNew connections (SYN -> scheduler -> new entry -> DR transform), %u SYNs\n"
	       "from random clients into an empty table, weights 1..4, median of %d runs\n\n",
	       nsyn, rounds);
	printf("| scheduler | 10 dests (M conn/s) | 1,000 dests | 10,000 dests |\n"
	       "|---|---:|---:|---:|\n");
	for (size_t si = 0; si < sizeof(scheds) / sizeof(scheds[0]); si++) {
		printf("| %s |", scheds[si]);
		for (size_t di = 0; di < 3; di++) {
			double v[16];
			char name[32];

			snprintf(name, sizeof(name), "%s-%u", scheds[si], ndests[di]);
			if (!mode_selected(name)) {
				printf(" - |");
				continue;
			}
			for (int r = 0; r < rounds; r++) {
				struct setup s;
				uint64_t tx;
				if (setup_new(&s, nsyn * 2) ||
				    add_service(&s, scheds[si], LVS_FWD_ROUTE, ndests[di])) {
					fprintf(stderr, "bench: setup failed\n");
					exit(1);
				}
				double t = run_frames(&s, syn, seq, nsyn, LVS_NS_PER_SEC, &tx);
				/* Duplicate (client, port) pairs are existing flows. */
				v[r] = lvs_conn_table_count(s.d.ct) / t / 1e6;
				if (getenv("BENCH_VERBOSE"))
					fprintf(stderr, "%s round %d: %.2f M/s\n", name, r, v[r]);
				setup_free(&s);
			}
			printf(" %.2f |", median(v, rounds));
		}
		printf("\n");
		fflush(stdout);
	}
	free(syn);
	free(seq);
}

static void bench_memory(void)
{
	const uint32_t n = 10000000;
	struct lvs_conn_table *t = lvs_conn_table_new(n, 1), *t4 = lvs_conn_table_new_v6(n, 0, 1);

	printf("\nConnection table memory (%u-connection table)\n\n| item | value |\n|---|---:|\n",
	       n);
	if (!t || !t4) {
		printf("| %u-entry table | allocation failed |\n", n);
		lvs_conn_table_free(t);
		lvs_conn_table_free(t4);
		return;
	}
	printf("| bytes per IPv4 connection (its entry) | %zu |\n", lvs_conn_table_entry_bytes(t));
	printf("| extra bytes per IPv6 connection (IPv6 pool slot) | %zu |\n",
	       lvs_conn_table_v6_bytes(t));
	printf("| bucket heads, bytes per connection of the maximum "
	       "(%.0f M buckets x 2 tables x 4 B) | %.1f |\n",
	       (double)lvs_conn_table_bucket_bytes(t) / 8 / 1e6,
	       (double)lvs_conn_table_bucket_bytes(t) / n);
	printf("| whole table, IPv4 only (IPv6 pool of 0) | %.1f MiB |\n",
	       (double)lvs_conn_table_mem_bytes(t4) / (1024.0 * 1024.0));
	printf("| whole table, IPv6 pool for every connection (default; mapped as used) "
	       "| %.1f MiB |\n",
	       (double)lvs_conn_table_mem_bytes(t) / (1024.0 * 1024.0));
	lvs_conn_table_free(t);
	lvs_conn_table_free(t4);
}

static void print_machine(void)
{
	char model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10)) {
				char *c = strchr(line, ':');
				if (c) {
					snprintf(model, sizeof(model), "%s", c + 2);
					model[strcspn(model, "\n")] = 0;
				}
				break;
			}
		}
		fclose(f);
	}
	uname(&u);
	printf("# lvsd core benchmark (in memory, one core)\n\n");
	printf("| machine | %s, %ld online CPUs |\n|---|---|\n", model, sysconf(_SC_NPROCESSORS_ONLN));
	printf("| kernel | %s %s |\n", u.sysname, u.release);
	printf("| compiler | gcc %s, -O3 -march=native |\n", __VERSION__);
	printf("| pinned | CPU 0 |\n");
}

int main(int argc, char **argv)
{
	int rounds = getenv("BENCH_ROUNDS") ? atoi(getenv("BENCH_ROUNDS")) : 3;
	uint32_t nconns = 1000000, nsyn = 1000000;
	cpu_set_t set;

	(void)argc;
	(void)argv;
	if (rounds < 1 || rounds > 15)
		rounds = 3;
	if (getenv("BENCH_SMALL")) {
		nconns = 100000;
		nsyn = 100000;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	const char *only = getenv("BENCH_ONLY"); /* established, new, memory */
	print_machine();
	if (!only || !strcmp(only, "established"))
		bench_established(rounds, nconns);
	if (!only || !strcmp(only, "new"))
		bench_new_conns(rounds, nsyn);
	if (!only || !strcmp(only, "memory"))
		bench_memory();
	return 0;
}
