/*
 * test_fastpath.c - the XDP fast path (lvs_fast.bpf.c, loaded through
 * fastpath.c) against the core, frame for frame.
 *
 * A fixture table in the style of Katran's XDP tests: each case is a
 * description, a service, a frame of an established flow and the verdict
 * expected from the program.  For each, a director is set up with the
 * service and a connection is opened in the core by the flow's first
 * packets (SYN, the server's SYN-ACK for NAT, ACK; or a first datagram);
 * the flow map entry is written with lvs_fastpath_add from the connection
 * as the core lists it, the next hop the core's environment gives and the
 * destination's tunnel settings.  Then the same frame goes through the
 * loaded program (BPF_PROG_TEST_RUN, repeat 1) and through the core
 * (lvs_director_process, as the AF_XDP driver hands it: checksum state
 * unknown; whatever the core left checksum-partial completed as that
 * driver does before sending).  Forwarded cases must give the same bytes
 * and agreeing verdicts (the core's TX on the ingress interface is XDP_TX,
 * on another XDP_REDIRECT); user-space cases must leave the program with
 * its user verdict, the frame unchanged and the expected reason counted.
 * The set-up and the comparison are fastpath_harness.c's, which the
 * differential fuzzer (fuzz/fuzz_fastpath.c) shares.
 *
 * Needs root and a kernel with BPF (BPF_PROG_TEST_RUN): skipped with a
 * message otherwise.  Checksum-partial frames are what the program sees
 * from a local sender through XDP: a checksum field that holds the
 * pseudo-header sum (test-run cannot mark a frame CHECKSUM_PARTIAL; XDP
 * has no such mark either).  Multi-buffer frames are not built here
 * (test-run makes them only from frames larger than a page).
 */
#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "fastpath_harness.h"
#include "lvs_xdp.skel.h"
#include "xdp_filter.h"

static struct lvs_fastpath *g_fp;
/* The program as it stands in for the AF_XDP driver's, on that program's
 * own maps (the driver's skeleton, loaded here). */
static struct lvs_fastpath *g_fpx;
static struct lvs_xdp *g_xdp;
static bool g_skip;
static const char *g_skip_why;

/* ---- the fixtures ---- */

enum expect {
	FWD,  /* forwarded: byte-identical to the core, TX / REDIRECT */
	USER, /* to user space, unchanged */
};

struct fcase {
	const char *desc;
	struct fh_svc s;   /* the service and its one destination */
	struct fh_frame f; /* the frame */
	bool no_entry;     /* no flow map entry */
	enum expect expect;
	enum lvs_fast_stat why;
};

/* A service of one destination; a TUN one with its tunnel type and flags. */
#define SVC(af, proto, fwd, dest)              {af, proto, fwd, dest, 0, 0, 0}
#define TUN(af, proto, dest, type, flags)      {af, proto, LVS_FWD_TUNNEL, dest, type, flags, 0}

static const struct fcase cases[] = {
	/* NAT, both directions */
	{"NAT in TCP IPv4", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"), {.plen = 100},
	 .expect = FWD},
	{"NAT out TCP IPv4", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.reply = true, .plen = 300, .tos = 0x28}, .expect = FWD},
	{"NAT in UDP IPv4", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"), {.plen = 33},
	 .expect = FWD},
	{"NAT out UDP IPv4", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.reply = true, .plen = 512}, .expect = FWD},
	{"NAT in UDP IPv4 without checksum", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.plen = 20, .udp_nocsum = true}, .expect = FWD},
	{"NAT in TCP IPv6", SVC(AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1"),
	 {.plen = 100}, .expect = FWD},
	{"NAT out TCP IPv6", SVC(AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1"),
	 {.reply = true, .plen = 1000}, .expect = FWD},
	{"NAT in UDP IPv6", SVC(AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1"), {.plen = 7},
	 .expect = FWD},
	{"NAT out UDP IPv6", SVC(AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1"),
	 {.reply = true, .plen = 77}, .expect = FWD},
	{"NAT in TCP IPv4, checksum-partial", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.plen = 1200, .partial = true}, .expect = FWD},
	{"NAT out UDP IPv4, checksum-partial", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.reply = true, .plen = 301, .partial = true}, .expect = FWD},
	{"NAT in TCP IPv6, checksum-partial",
	 SVC(AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1"), {.plen = 999, .partial = true},
	 .expect = FWD},
	{"NAT out UDP IPv6, checksum-partial",
	 SVC(AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1"),
	 {.reply = true, .plen = 64, .partial = true}, .expect = FWD},
	{"NAT in TCP IPv4, VLAN-tagged in", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.plen = 40, .vlan = 7}, .expect = FWD},
	{"NAT in TCP IPv4, VLAN-tagged next hop",
	 SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.3"), {.plen = 40}, .expect = FWD},
	{"NAT in UDP IPv4, Ethernet padding", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.plen = 2, .pad = 14}, .expect = FWD},
	/* DR */
	{"DR TCP IPv4", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1"),
	 {.plen = 100, .df = true}, .expect = FWD},
	{"DR UDP IPv6", SVC(AF_INET6, IPPROTO_UDP, LVS_FWD_ROUTE, "2001:db8:1::1"), {.plen = 100},
	 .expect = FWD},
	{"DR TCP IPv4, VLAN in, VLAN next hop",
	 SVC(AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.3"), {.plen = 10, .vlan = 9},
	 .expect = FWD},
	{"DR TCP IPv4, checksum-partial", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1"),
	 {.plen = 500, .partial = true}, .expect = FWD},
	/* TUN */
	{"TUN ipip IPv4", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1"),
	 {.plen = 100, .df = true, .tos = 0x03}, .expect = FWD},
	{"TUN ipip IPv4, checksum-partial inner",
	 SVC(AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1"), {.plen = 700, .partial = true},
	 .expect = FWD},
	{"TUN ipip IPv6 in IPv6", SVC(AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "2001:db8:1::1"),
	 {.plen = 100, .tos = 0xb8}, .expect = FWD},
	{"TUN gue IPv4, no checksum",
	 TUN(AF_INET, IPPROTO_UDP, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_NOCSUM), {.plen = 60},
	 .expect = FWD},
	{"TUN gue IPv4, checksum",
	 TUN(AF_INET, IPPROTO_TCP, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_CSUM), {.plen = 333},
	 .expect = FWD},
	{"TUN gue IPv4, remcsum, checksum-partial inner",
	 TUN(AF_INET, IPPROTO_TCP, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_REMCSUM),
	 {.plen = 400, .partial = true}, .expect = FWD},
	{"TUN gue IPv4, remcsum, complete inner",
	 TUN(AF_INET, IPPROTO_UDP, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_REMCSUM), {.plen = 41},
	 .expect = FWD},
	{"TUN gue IPv6 (checksum always)",
	 TUN(AF_INET6, IPPROTO_UDP, "2001:db8:1::1", LVS_TUN_GUE, LVS_TUN_F_NOCSUM), {.plen = 50},
	 .expect = FWD},
	{"TUN gre IPv4", TUN(AF_INET, IPPROTO_TCP, "10.1.0.1", LVS_TUN_GRE, LVS_TUN_F_NOCSUM),
	 {.plen = 100}, .expect = FWD},
	{"TUN gre IPv4, checksum",
	 TUN(AF_INET, IPPROTO_UDP, "10.1.0.1", LVS_TUN_GRE, LVS_TUN_F_CSUM), {.plen = 99},
	 .expect = FWD},
	{"TUN gre IPv6, checksum",
	 TUN(AF_INET6, IPPROTO_TCP, "2001:db8:1::1", LVS_TUN_GRE, LVS_TUN_F_CSUM), {.plen = 123},
	 .expect = FWD},
	{"TUN gre IPv4, VLAN next hop",
	 TUN(AF_INET, IPPROTO_TCP, "10.1.0.3", LVS_TUN_GRE, LVS_TUN_F_NOCSUM),
	 {.plen = 10, .vlan = 5}, .expect = FWD},
	/* to user space */
	{"TTL 1 (NAT in IPv4)", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.ttl = 1, .plen = 10}, .expect = USER, .why = LVS_FASTS_TTL},
	{"hop limit 1 (DR IPv6)", SVC(AF_INET6, IPPROTO_TCP, LVS_FWD_ROUTE, "2001:db8:1::1"),
	 {.ttl = 1, .plen = 10}, .expect = USER, .why = LVS_FASTS_TTL},
	{"MTU exceeded with DF (TUN ipip)", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1"),
	 {.plen = 1460, .df = true}, .expect = USER, .why = LVS_FASTS_MTU},
	{"SYN on an established flow", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.tcp_flags = 0x02}, .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"FIN", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"), {.tcp_flags = 0x11},
	 .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"RST (NAT reply)", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.reply = true, .tcp_flags = 0x14}, .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"no ACK (PSH alone: the core closes the connection)",
	 SVC(AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1"), {.tcp_flags = 0x08, .plen = 10},
	 .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"IPv4 options", SVC(AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1"),
	 {.options = true, .plen = 10}, .expect = USER, .why = LVS_FASTS_SHAPE},
	{"no flow entry", SVC(AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1"), {.plen = 10},
	 .no_entry = true, .expect = USER, .why = LVS_FASTS_MISS},
};

static void stats(struct lvs_fastpath *fp, uint64_t s[LVS_FASTS__COUNT])
{
	assert_int_equal(lvs_fastpath_stats(fp, s), 0);
}

/* A director with the case's service and the connection of client port
 * 40000 to it, established. */
static void open_case(const struct fcase *c, struct fh_dir *x, struct lvs_conn_info *ci)
{
	assert_int_equal(fh_dir_init(x), 0);
	assert_int_equal(fh_dir_add(x, &c->s), 0);
	assert_int_equal(fh_conn_open(x, &c->s, 40000, ci), 0);
}

/* One case; true when it passed (failures are printed). */
static bool run_case(struct lvs_fastpath *fp, const struct fcase *c)
{
	static uint8_t frame[FH_BUFSZ];
	static struct fh_run r;
	uint64_t s0[LVS_FASTS__COUNT], s1[LVS_FASTS__COUNT];
	enum fh_outcome want = c->expect == FWD ? FH_FORWARDED : FH_USER, got;
	struct lvs_conn_info ci;
	struct fh_dir x;
	uint32_t len;
	bool ok = true;

	open_case(c, &x, &ci);
	if (!c->no_entry)
		assert_int_equal(fh_entry_add(fp, &ci, c->f.reply), 0);
	len = fh_conn_frame(frame, &c->s, &c->f, &ci);
	stats(fp, s0);
	assert_int_equal(fh_run_both(fp, &x, frame, len, &r), 0);
	stats(fp, s1);
	got = fh_judge(&r, frame, len, XDP_PASS);
	if (got != want) {
		if (got != FH_DIFFER)
			fprintf(stderr, "  xdp %d, core %d: not the expected verdict\n", r.xdp,
				r.core);
		ok = false;
	}
	if (c->expect == USER && s1[c->why] != s0[c->why] + 1) {
		fprintf(stderr, "  reason %s not counted\n", lvs_fastpath_stat_name(c->why));
		ok = false;
	}
	if (!c->no_entry)
		assert_int_equal(lvs_fastpath_del(fp, &ci, c->f.reply), 0);
	fh_dir_free(&x);
	return ok;
}

static void test_fixtures(void **state)
{
	unsigned failed = 0, n = sizeof(cases) / sizeof(cases[0]);

	(void)state;
	if (g_skip) {
		print_message("test_fastpath: skipped: %s\n", g_skip_why);
		skip();
	}
	for (unsigned i = 0; i < n; i++) {
		bool ok = run_case(g_fp, &cases[i]);

		print_message("%-4s %s\n", ok ? "ok" : "FAIL", cases[i].desc);
		failed += !ok;
	}
	assert_int_equal(failed, 0);
}

/* What the program counts for an entry, and what deleting it does. */
static void test_counters_and_delete(void **state)
{
	static uint8_t frame[FH_BUFSZ], out[FH_BUFSZ];
	const struct fcase *c = &cases[0]; /* NAT in TCP IPv4 */
	union lvs_addr tsrc = {0};
	struct lvs_fast_counters fc;
	struct lvs_fast_tun tun = {0};
	struct lvs_nexthop nh;
	struct lvs_conn_info ci;
	struct fh_dir x;
	uint32_t len, olen;

	(void)state;
	if (g_skip)
		skip();
	open_case(c, &x, &ci);
	assert_int_equal(fh_entry_add(g_fp, &ci, false), 0);
	/* a reply entry needs NAT; a DR-style reply is refused */
	fh_route(NULL, AF_INET, &ci.p.daddr, &nh);
	ci.p.fwd = LVS_FWD_ROUTE;
	assert_int_equal(lvs_fastpath_add(g_fp, &ci, true, &nh, &tun, &tsrc), -EINVAL);
	ci.p.fwd = LVS_FWD_MASQ;

	len = fh_conn_frame(frame, &c->s, &c->f, &ci);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fh_xdp_run(g_fp, frame, len, out, &olen), XDP_REDIRECT);
	assert_int_equal(lvs_fastpath_read(g_fp, &ci, false, &fc), 0);
	assert_int_equal(fc.packets, 3);
	assert_int_equal(fc.bytes, 3 * (len - 14)); /* IP bytes, as the core counts */
	assert_true(fc.last_ns > 0);
	/* rewriting the entry starts its counters again */
	assert_int_equal(fh_entry_add(g_fp, &ci, false), 0);
	assert_int_equal(lvs_fastpath_read(g_fp, &ci, false, &fc), 0);
	assert_int_equal(fc.packets, 0);

	assert_int_equal(fh_xdp_run(g_fp, frame, len, out, &olen), XDP_REDIRECT);

	assert_int_equal(lvs_fastpath_del(g_fp, &ci, false), 0);
	assert_int_equal(lvs_fastpath_del(g_fp, &ci, false), -ENOENT);
	assert_int_equal(fh_xdp_run(g_fp, frame, len, out, &olen), XDP_PASS);
	assert_int_equal(lvs_fastpath_read(g_fp, &ci, false, &fc), -ENOENT);
	/* written again after a delete: counters of its own, from 0 */
	assert_int_equal(fh_entry_add(g_fp, &ci, false), 0);
	assert_int_equal(lvs_fastpath_read(g_fp, &ci, false, &fc), 0);
	assert_int_equal(fc.packets, 0);
	assert_int_equal(fc.bytes, 0);
	assert_int_equal(fc.last_ns, 0);
	assert_int_equal(fh_xdp_run(g_fp, frame, len, out, &olen), XDP_REDIRECT);
	assert_int_equal(lvs_fastpath_read(g_fp, &ci, false, &fc), 0);
	assert_int_equal(fc.packets, 1);
	assert_int_equal(fc.bytes, len - 14);
	assert_int_equal(lvs_fastpath_del(g_fp, &ci, false), 0);
	fh_dir_free(&x);
}

/* --fastpath-entries: as many entries as asked for, IPv4 and IPv6
 * together; a freed one can be written again. */
static void test_capacity(void **state)
{
	struct lvs_fastpath_opts o = { .user_verdict = XDP_PASS, .tx_same_if = true,
				       .entries = 2 };
	const struct fcase *c4 = &cases[0]; /* NAT in TCP IPv4 */
	struct lvs_conn_info ci4, ci6;
	struct fh_svc s6 = c4->s;
	struct lvs_fastpath *fp;
	struct fh_dir x4, x6;

	(void)state;
	if (g_skip)
		skip();
	o.entries = LVS_FAST_FLOWS_MAX + 1;
	assert_int_equal(lvs_fastpath_open_with(&fp, &o), -ERANGE);
	o.entries = 2;
	assert_int_equal(lvs_fastpath_open_with(&fp, &o), 0);
	open_case(c4, &x4, &ci4);
	s6.af = AF_INET6;
	s6.dest = "2001:db8:1::1";
	assert_int_equal(fh_dir_init(&x6), 0);
	assert_int_equal(fh_dir_add(&x6, &s6), 0);
	assert_int_equal(fh_conn_open(&x6, &s6, 40000, &ci6), 0);
	assert_int_equal(fh_entry_add(fp, &ci4, false), 0);
	assert_int_equal(fh_entry_add(fp, &ci6, false), 0);
	assert_int_equal(fh_entry_add(fp, &ci4, true), -ENOSPC);
	assert_int_equal(fh_entry_add(fp, &ci6, true), -ENOSPC);
	/* rewriting a present entry needs no room */
	assert_int_equal(fh_entry_add(fp, &ci4, false), 0);
	assert_int_equal(lvs_fastpath_del(fp, &ci6, false), 0);
	assert_int_equal(fh_entry_add(fp, &ci4, true), 0);
	lvs_fastpath_close(fp);
	fh_dir_free(&x4);
	fh_dir_free(&x6);
}

/* The driver filter's counters, summed over the CPUs. */
static void xdp_stats(uint64_t out[LVS_XDPS__COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[ncpu > 0 ? ncpu : 1];

	for (uint32_t k = 0; k < LVS_XDPS__COUNT; k++) {
		out[k] = 0;
		assert_int_equal(bpf_map__lookup_elem(g_xdp->maps.lvs_xdp_stats, &k, sizeof(k), v,
						      sizeof(v), 0),
				 0);
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
}

/*
 * Standing in for the AF_XDP driver's program: every fixture forwards the
 * same bytes; every frame the program does not forward goes through the
 * driver's filter on the driver's maps, once: not director traffic is
 * passed to the host, a frame to a VIP in the filter goes to the socket
 * of its interface and queue (none here: counted as such, and passed).
 */
static void test_stands_in_for_afxdp(void **state)
{
	static uint8_t frame[FH_BUFSZ], out[FH_BUFSZ];
	unsigned failed = 0, nuser = 0, n = sizeof(cases) / sizeof(cases[0]);
	uint64_t x0[LVS_XDPS__COUNT], x1[LVS_XDPS__COUNT];
	const struct fcase *c = &cases[0]; /* NAT in TCP IPv4 */
	struct lvs_xdp_key k = {.kind = LVS_XDPK_VIP4};
	struct lvs_conn_info ci;
	struct fh_dir x;
	uint32_t len, olen, one = 1, ifindex = FH_IF_CL, slot = 0;
	union lvs_addr vip;

	(void)state;
	if (g_skip || !g_fpx) {
		print_message("test_fastpath: skipped: %s\n",
			      g_skip ? g_skip_why : "cannot load the AF_XDP driver's program");
		skip();
	}
	xdp_stats(x0);
	for (unsigned i = 0; i < n; i++) {
		bool ok = run_case(g_fpx, &cases[i]);

		if (!ok)
			print_message("FAIL %s (standing in)\n", cases[i].desc);
		failed += !ok;
		nuser += cases[i].expect == USER;
	}
	assert_int_equal(failed, 0);
	xdp_stats(x1);
	assert_int_equal(x1[LVS_XDPS_PASS] - x0[LVS_XDPS_PASS], nuser);
	assert_int_equal(x1[LVS_XDPS_NO_SOCKET], x0[LVS_XDPS_NO_SOCKET]);

	/* the VIP in the driver's filter: a frame without an entry is
	 * director traffic, one with an entry is still forwarded */
	lvs_addr_parse(AF_INET, FH_V4V, &vip);
	memcpy(k.addr, &vip.ip4, 4);
	assert_int_equal(bpf_map__update_elem(g_xdp->maps.lvs_filter, &k, sizeof(k), &one,
					      sizeof(one), BPF_ANY),
			 0);
	assert_int_equal(bpf_map__update_elem(g_xdp->maps.lvs_ifslot, &ifindex, sizeof(ifindex),
					      &slot, sizeof(slot), BPF_ANY),
			 0);
	open_case(c, &x, &ci);
	len = fh_conn_frame(frame, &c->s, &c->f, &ci);
	assert_int_equal(fh_xdp_run(g_fpx, frame, len, out, &olen), XDP_PASS);
	xdp_stats(x0);
	assert_int_equal(x0[LVS_XDPS_NO_SOCKET] - x1[LVS_XDPS_NO_SOCKET], 1);
	assert_int_equal(x0[LVS_XDPS_PASS], x1[LVS_XDPS_PASS]);
	assert_int_equal(fh_entry_add(g_fpx, &ci, false), 0);
	assert_int_equal(fh_xdp_run(g_fpx, frame, len, out, &olen), XDP_REDIRECT);
	xdp_stats(x1);
	assert_int_equal(x1[LVS_XDPS_NO_SOCKET], x0[LVS_XDPS_NO_SOCKET]);
	assert_int_equal(lvs_fastpath_del(g_fpx, &ci, false), 0);
	assert_int_equal(bpf_map__delete_elem(g_xdp->maps.lvs_filter, &k, sizeof(k), 0), 0);
	fh_dir_free(&x);
}

static int setup(void **state)
{
	int err;

	(void)state;
	if (geteuid() != 0) {
		g_skip = true;
		g_skip_why = "needs root (BPF_PROG_TEST_RUN)";
		return 0;
	}
	libbpf_set_print(NULL);
	err = lvs_fastpath_open(&g_fp, XDP_PASS);
	if (err) {
		g_skip = true;
		g_skip_why = "cannot load the XDP program (BPF unavailable?)";
		fprintf(stderr, "test_fastpath: lvs_fastpath_open: %s\n", strerror(-err));
		return 0;
	}
	g_xdp = lvs_xdp__open_and_load();
	if (g_xdp) {
		struct lvs_xdp_maps m = {
			.xsks = bpf_map__fd(g_xdp->maps.lvs_xsks),
			.ifslot = bpf_map__fd(g_xdp->maps.lvs_ifslot),
			.filter = bpf_map__fd(g_xdp->maps.lvs_filter),
			.stats = bpf_map__fd(g_xdp->maps.lvs_xdp_stats),
			.frags = 1, /* as the driver's multi-buffer sockets have it */
		};

		struct lvs_fastpath_opts o = { .user_verdict = XDP_PASS, .tx_same_if = true,
					       .xsk = &m };

		err = lvs_fastpath_open_with(&g_fpx, &o);
		if (err)
			fprintf(stderr, "test_fastpath: lvs_fastpath_open_with: %s\n",
				strerror(-err));
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lvs_fastpath_close(g_fp);
	lvs_fastpath_close(g_fpx);
	lvs_xdp__destroy(g_xdp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_counters_and_delete),
		cmocka_unit_test(test_stands_in_for_afxdp),
		cmocka_unit_test(test_capacity),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
