/*
 * bench_route.c - the director's route lookup (src/net/rtnl.c and
 * rtnl_route.c, included here) in memory, on one core.  Prints tables:
 *   - longest-prefix-match lookups per second with 1, 1,000 and 100,000
 *     routes, IPv4 and IPv6: the linear scan lvsd used before (a copy of
 *     it lives here only for the comparison) against the sorted-range
 *     binary search of the published snapshot;
 *   - the control thread's cost of a table: parsing 100,000 RTM_NEWROUTE
 *     messages and publishing the snapshot (sort, range build);
 *   - the cost of a next hop per forwarded packet: lvs_netstate_route (LPM,
 *     link, neighbour hash under its seqlock) against a destination's
 *     route cache hit (lvs_netstate_route_cached).
 * Routes are random prefixes, mostly /8-/32 (IPv6 /16-/64), crowded into a
 * small part of the address space so that they nest; lookup addresses are
 * half inside random routes, half anywhere.  Figures are medians of 3 runs
 * of at least 0.2 s each.
 */
#include <sched.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "nl_build.h"
#include "rtnl.c"
#include "rtnl_route.c"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return nlb_rnd(&rng);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median3(double v[3])
{
	qsort(v, 3, sizeof(v[0]), cmp_d);
	return v[1];
}

/* The lookup lvsd had before: every route of the snapshot, longest prefix
 * first, until one matches. */
static const struct ns_route *linear_lpm(const struct ns_snap *s, int af, const union lvs_addr *dst)
{
	for (uint32_t i = 0; i < s->nroutes; i++) {
		const struct ns_route *r = &s->routes[i];
		if (r->af == af && prefix_match(af, dst, &r->dst, r->plen))
			return r;
	}
	return NULL;
}

static union lvs_addr rnd_addr(int af)
{
	return nlb_rnd_addr(&rng, af);
}

static void route_msg(struct lvs_netstate *ns, int af, const union lvs_addr *dst, unsigned plen,
		      uint32_t oif, const union lvs_addr *gw)
{
	char buf[NLB_BUF];
	struct nlb_route r = { .af = (uint8_t)af, .plen = (uint8_t)plen, .oif = oif, .dst = *dst };

	if (gw) {
		r.has_gw = true;
		r.gw = *gw;
	}
	msg_cb(nlb_route(buf, RTM_NEWROUTE, &r), ns);
}

/* n random routes of family af (plus a default route) into ns. */
static void fill_routes(struct lvs_netstate *ns, int af, uint32_t n, union lvs_addr *pfx,
			uint8_t *plens)
{
	union lvs_addr gw = af == AF_INET ? (union lvs_addr){ .b = { 192, 168, 0, 1 } }
					  : (union lvs_addr){ .b = { 0xfe, 0x80, [15] = 1 } };
	union lvs_addr zero = { 0 };

	route_msg(ns, af, &zero, 0, 1, &gw);
	for (uint32_t i = 1; i < n; i++) {
		uint32_t before = ns->routes.n;
		unsigned plen = af == AF_INET ? 8 + rnd() % 25 : 16 + rnd() % 49;
		union lvs_addr d = rnd_addr(af);

		if (af == AF_INET)
			d.b[0] = 10;
		else
			d.w[0] = htonl(0x20010db8);
		mask_prefix(af, &d, plen);
		pfx[i] = d;
		plens[i] = (uint8_t)plen;
		route_msg(ns, af, &d, plen, 1 + (uint32_t)(rnd() % 64), rnd() % 2 ? &gw : NULL);
		if (ns->routes.n == before)
			i--; /* that prefix was taken: a replacement, draw again */
	}
	pfx[0] = zero;
	plens[0] = 0;
}

#define NADDR 65536

static void make_addrs(int af, uint32_t n, const union lvs_addr *pfx, const uint8_t *plens,
		       union lvs_addr *out)
{
	for (uint32_t i = 0; i < NADDR; i++) {
		union lvs_addr a = rnd_addr(af);
		if (i % 2) {
			uint32_t r = (uint32_t)(rnd() % n);
			unsigned width = af == AF_INET ? 32 : 128;
			union lvs_addr h = a;
			a = pfx[r];
			for (unsigned b = plens[r]; b < width; b++)
				if (h.b[b / 8] & (0x80 >> (b % 8)))
					a.b[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		}
		out[i] = a;
	}
}

static volatile uintptr_t sink;

/* Lookups per second of one algorithm over the address array. */
static double rate(const struct ns_snap *s, int af, const union lvs_addr *addrs, bool linear)
{
	double v[3];

	for (int r = 0; r < 3; r++) {
		double t0 = now_s(), t;
		uint64_t n = 0;
		uintptr_t acc = 0;

		do {
			for (uint32_t i = 0; i < 256; i++, n++) {
				const union lvs_addr *a = &addrs[n % NADDR];
				acc += (uintptr_t)(linear ? linear_lpm(s, af, a) : rtnl_snap_lpm(s, af, a));
			}
			t = now_s() - t0;
		} while (t < 0.2);
		sink = acc;
		v[r] = (double)n / t;
	}
	return median3(v);
}

static void fmt_rate(char *b, size_t n, double r)
{
	if (r >= 1e6)
		snprintf(b, n, "%.1f M", r / 1e6);
	else if (r >= 1e3)
		snprintf(b, n, "%.1f k", r / 1e3);
	else
		snprintf(b, n, "%.0f", r);
}

static void bench_lookups(void)
{
	static const uint32_t sizes[] = { 1, 1000, 100000 };
	union lvs_addr *addrs = malloc(NADDR * sizeof(*addrs));
	union lvs_addr *pfx = malloc(100000 * sizeof(*pfx));
	uint8_t *plens = malloc(100000);

	printf("\nLongest-prefix match, lookups per second (one core, median of 3)\n\n");
	printf("| family | routes | linear scan (before) | sorted ranges (now) | ranges | speed-up |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int fi = 0; fi < 2; fi++) {
		int af = fi ? AF_INET6 : AF_INET;
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			struct lvs_netstate *ns = lvs_netstate_new(1024);
			char a[32], b[32];
			double lin, lpm;

			fill_routes(ns, af, sizes[si], pfx, plens);
			snap_publish(ns);
			make_addrs(af, sizes[si], pfx, plens, addrs);
			/* both must agree before they are timed */
			for (uint32_t i = 0; i < 2000; i++) {
				const struct ns_route *x = linear_lpm(ns->snap, af, &addrs[i]);
				const struct ns_route *y = rtnl_snap_lpm(ns->snap, af, &addrs[i]);
				if (x != y && (!x || !y || x->plen != y->plen || x->oif != y->oif ||
					       !lvs_addr_eq(&x->dst, &y->dst))) {
					fprintf(stderr, "bench: lookups disagree\n");
					exit(1);
				}
			}
			lin = rate(ns->snap, af, addrs, true);
			lpm = rate(ns->snap, af, addrs, false);
			fmt_rate(a, sizeof(a), lin);
			fmt_rate(b, sizeof(b), lpm);
			printf("| %s | %u | %s | %s | %u | %.0fx |\n", af == AF_INET ? "IPv4" : "IPv6",
			       ns->snap->nroutes, a, b,
			       af == AF_INET ? ns->snap->lpm4.n : ns->snap->lpm6.n, lpm / lin);
			lvs_netstate_free(ns);
		}
	}
	free(addrs);
	free(pfx);
	free(plens);
}

static void bench_publish(void)
{
	union lvs_addr *pfx = malloc(100000 * sizeof(*pfx));
	uint8_t *plens = malloc(100000);

	printf("\nA table of 100,000 routes on the control thread (median of 3)\n\n");
	printf("| family | parse 100,000 RTM_NEWROUTE | publish (sort + ranges) |\n|---|---:|---:|\n");
	for (int fi = 0; fi < 2; fi++) {
		int af = fi ? AF_INET6 : AF_INET;
		double parse[3], pub[3];
		for (int r = 0; r < 3; r++) {
			struct lvs_netstate *ns = lvs_netstate_new(1024);
			double t0 = now_s(), t1, t2;
			fill_routes(ns, af, 100000, pfx, plens);
			t1 = now_s();
			snap_publish(ns);
			t2 = now_s();
			parse[r] = t1 - t0;
			pub[r] = t2 - t1;
			lvs_netstate_free(ns);
		}
		printf("| %s | %.1f ms | %.1f ms |\n", af == AF_INET ? "IPv4" : "IPv6",
		       median3(parse) * 1e3, median3(pub) * 1e3);
	}
	free(pfx);
	free(plens);
}

static void nh_link(struct lvs_netstate *ns, uint32_t ifindex)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 0, 0, (uint8_t)ifindex };

	msg_cb(nlb_link(buf, ifindex, NULL, mac, 1500, true), ns);
}

static void nh_neigh(struct lvs_netstate *ns, uint32_t ifindex, const union lvs_addr *a)
{
	char buf[NLB_BUF];
	uint8_t mac[6] = { 2, 0, 0, 1, 0, 1 };

	msg_cb(nlb_neigh(buf, RTM_NEWNEIGH, AF_INET, ifindex, a, NUD_REACHABLE, 0, mac), ns);
}

/* Calls of one next-hop function for a real server; the loop is what
 * callgrind measures (--toggle-collect=nh_loop*). */
static __attribute__((noinline)) void nh_loop(struct lvs_netstate *ns, struct lvs_route_cache *rc,
					      const union lvs_addr *d, uint64_t n)
{
	struct lvs_nexthop nh;
	uintptr_t acc = 0;

	for (uint64_t i = 0; i < n; i++) {
		int err = rc ? lvs_netstate_route_cached(ns, rc, AF_INET, d, &nh)
			     : lvs_netstate_route(ns, AF_INET, d, &nh);
		acc += (uintptr_t)err + nh.mac[5];
	}
	sink = acc;
}

/*
 * The next hop of a packet to a real server: a device route to its subnet
 * among n routes, its neighbour entry among 1,000.  Uncached, what every
 * forwarded packet did; cached, what it does now (lvs_netstate_route
 * again once a second per destination).  BENCH_NH_CALLS=n runs n calls of
 * each and prints nothing else (for callgrind).
 */
static void bench_nexthop(void)
{
	static const uint32_t sizes[] = { 1, 1000, 100000 };
	const char *calls = getenv("BENCH_NH_CALLS");
	union lvs_addr *pfx = malloc(100000 * sizeof(*pfx));
	uint8_t *plens = malloc(100000);

	if (!calls)
		printf("\nNext hop of a packet to a real server, ns per packet (median of 3)\n\n"
		       "| IPv4 routes | lvs_netstate_route: LPM + neighbour hash (uncached) | destination cache hit (now) |\n"
		       "|---:|---:|---:|\n");
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		struct lvs_netstate *ns = lvs_netstate_new(4096);
		union lvs_addr srv = { .b = { 172, 16, 0, 1 } }, net = { .b = { 172, 16, 0, 0 } };
		struct lvs_route_cache rc;
		double v[2][3];

		if (calls && sizes[si] != 100000) {
			lvs_netstate_free(ns);
			continue;
		}
		nh_link(ns, 1);
		nh_link(ns, 2);
		fill_routes(ns, AF_INET, sizes[si], pfx, plens);
		route_msg(ns, AF_INET, &net, 24, 2, NULL);
		for (uint32_t i = 0; i < 1000; i++) {
			union lvs_addr a = srv;
			a.b[2] = (uint8_t)(i >> 8);
			a.b[3] = (uint8_t)(i + 1);
			nh_neigh(ns, 2, &a);
		}
		snap_publish(ns);
		memset(&rc, 0, sizeof(rc));
		if (calls) {
			nh_loop(ns, NULL, &srv, strtoull(calls, NULL, 10));
			nh_loop(ns, &rc, &srv, strtoull(calls, NULL, 10));
			lvs_netstate_free(ns);
			continue;
		}
		for (int c = 0; c < 2; c++)
			for (int r = 0; r < 3; r++) {
				uint64_t n = 0;
				double t0 = now_s(), t;
				do {
					nh_loop(ns, c ? &rc : NULL, &srv, 4096);
					n += 4096;
					t = now_s() - t0;
				} while (t < 0.2);
				v[c][r] = t / (double)n * 1e9;
			}
		printf("| %u | %.1f | %.1f |\n", sizes[si] + 1, median3(v[0]), median3(v[1]));
		lvs_netstate_free(ns);
	}
	free(pfx);
	free(plens);
}

static void print_machine(void)
{
	char model[256] = "unknown", line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct utsname u;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *c = strchr(line, ':');
			if (!strncmp(line, "model name", 10) && c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(f);
	}
	uname(&u);
	printf("# lvsd route lookup benchmark (in memory, one core)\n\n");
	printf("| machine | %s, %ld online CPUs (nproc) |\n|---|---|\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("| kernel | %s %s |\n", u.sysname, u.release);
	printf("| compiler | gcc %s, -O2 |\n", __VERSION__);
	printf("| pinned | CPU 0 |\n");
}

int main(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	rcu_register_thread();
	if (getenv("BENCH_NH_CALLS")) {
		bench_nexthop();
		rcu_unregister_thread();
		return 0;
	}
	print_machine();
	bench_lookups();
	bench_publish();
	bench_nexthop();
	rcu_unregister_thread();
	return 0;
}
