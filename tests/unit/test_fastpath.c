/*
 * test_fastpath.c - the XDP fast path (lvs_fast.bpf.c, loaded through
 * fastpath.c) against the core, frame for frame.
 *
 * A fixture table in the style of Katran's XDP tests: each case is a
 * description, a service, a frame of an established flow and the verdict
 * expected from the program.  For each, a director is set up with the
 * service and a connection is created in the core by the flow's first
 * packet (a SYN, or a first datagram); the flow map entry is written with
 * lvs_fastpath_add from the connection as the core lists it, the next hop
 * the core's environment gives and the destination's tunnel settings.
 * Then the same frame goes through the core (lvs_director_process, as the
 * AF_XDP driver hands it: checksum state unknown; whatever the core left
 * checksum-partial completed as that driver does before sending) and
 * through the loaded program (BPF_PROG_TEST_RUN, repeat 1).  Forwarded
 * cases must give the same bytes and agreeing verdicts (the core's TX on
 * the ingress interface is XDP_TX, on another XDP_REDIRECT); user-space
 * cases must leave the program with its user verdict, the frame unchanged
 * and the expected reason counted.
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "director.h"
#include "fastpath.h"
#include "io.h"

#define BUFSZ   4096
#define HROOM   LVS_PKT_HEADROOM
#define IF_CL   1 /* toward clients: lo, the test-run's ingress (XDP_TX) */
#define IF_RS   3 /* toward servers (XDP_REDIRECT) */

static struct lvs_fastpath *g_fp;
static bool g_skip;
static const char *g_skip_why;

/* ---- the environment the core routes with (and the entries copy) ---- */

static bool is_client_side(int af, const union lvs_addr *a)
{
	return af == AF_INET ? a->b[0] == 192 : (a->b[4] == 0 && a->b[5] == 0x0c);
}

static int t_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	memset(nh, 0, sizeof(*nh));
	nh->src_mac[0] = 2;
	nh->src_mac[5] = 0xfe;
	nh->mtu = 1500;
	nh->mac[0] = 2;
	if (is_client_side(af, dst)) {
		nh->mac[5] = 0xc1;
		nh->ifindex = IF_CL;
		return 0;
	}
	nh->mac[4] = 1;
	nh->mac[5] = af == AF_INET ? dst->b[3] : dst->b[15];
	nh->ifindex = IF_RS;
	/* one server behind a VLAN: the Ethernet header grows */
	if (af == AF_INET && dst->b[3] == 3)
		nh->vlan_tci = 42;
	return 0;
}

static int t_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)dst;
	*src = af == AF_INET ? t_ip4("10.1.0.254") : t_ip6("2001:db8:1::fe");
	return 0;
}

/* ---- the fixtures ---- */

enum expect {
	FWD,  /* forwarded: byte-identical to the core, TX / REDIRECT */
	USER, /* to user space, unchanged */
};

struct fcase {
	const char *desc;
	/* the service and its one destination */
	int af;
	uint8_t proto;
	uint8_t fwd;
	const char *dest;   /* of the destination's family */
	uint8_t tun_type;
	uint16_t tun_flags;
	/* the frame */
	bool reply;         /* from the server (NAT reply) */
	uint8_t tcp_flags;  /* 0: ACK */
	uint8_t ttl;        /* 0: 64 */
	uint32_t plen;      /* payload bytes */
	uint16_t vlan;      /* ingress tag */
	bool df;
	uint8_t tos;
	bool partial;       /* L4 checksum field holds the pseudo-header sum */
	bool udp_nocsum;    /* IPv4 UDP checksum 0 */
	uint32_t pad;       /* Ethernet padding bytes */
	bool options;       /* IPv4 header with options */
	bool no_entry;      /* no flow map entry */
	enum expect expect;
	enum lvs_fast_stat why;
};

#define V4C "192.0.2.10"
#define V6C "2001:db8:c::10"
#define V4V "10.0.0.1"
#define V6V "2001:db8::1"

static const struct fcase cases[] = {
	/* NAT, both directions */
	{"NAT in TCP IPv4", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .plen = 100,
	 .expect = FWD},
	{"NAT out TCP IPv4", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .reply = true,
	 .plen = 300, .tos = 0x28, .expect = FWD},
	{"NAT in UDP IPv4", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1", .plen = 33,
	 .expect = FWD},
	{"NAT out UDP IPv4", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1", .reply = true,
	 .plen = 512, .expect = FWD},
	{"NAT in UDP IPv4 without checksum", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1",
	 .plen = 20, .udp_nocsum = true, .expect = FWD},
	{"NAT in TCP IPv6", AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1", .plen = 100,
	 .expect = FWD},
	{"NAT out TCP IPv6", AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1",
	 .reply = true, .plen = 1000, .expect = FWD},
	{"NAT in UDP IPv6", AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1", .plen = 7,
	 .expect = FWD},
	{"NAT out UDP IPv6", AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1",
	 .reply = true, .plen = 77, .expect = FWD},
	{"NAT in TCP IPv4, checksum-partial", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1",
	 .plen = 1200, .partial = true, .expect = FWD},
	{"NAT out UDP IPv4, checksum-partial", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1",
	 .reply = true, .plen = 301, .partial = true, .expect = FWD},
	{"NAT in TCP IPv6, checksum-partial", AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ,
	 "2001:db8:1::1", .plen = 999, .partial = true, .expect = FWD},
	{"NAT out UDP IPv6, checksum-partial", AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ,
	 "2001:db8:1::1", .reply = true, .plen = 64, .partial = true, .expect = FWD},
	{"NAT in TCP IPv4, VLAN-tagged in", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1",
	 .plen = 40, .vlan = 7, .expect = FWD},
	{"NAT in TCP IPv4, VLAN-tagged next hop", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ,
	 "10.1.0.3", .plen = 40, .expect = FWD},
	{"NAT in UDP IPv4, Ethernet padding", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1",
	 .plen = 2, .pad = 14, .expect = FWD},
	/* DR */
	{"DR TCP IPv4", AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1", .plen = 100,
	 .df = true, .expect = FWD},
	{"DR UDP IPv6", AF_INET6, IPPROTO_UDP, LVS_FWD_ROUTE, "2001:db8:1::1", .plen = 100,
	 .expect = FWD},
	{"DR TCP IPv4, VLAN in, VLAN next hop", AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE,
	 "10.1.0.3", .plen = 10, .vlan = 9, .expect = FWD},
	{"DR TCP IPv4, checksum-partial", AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1",
	 .plen = 500, .partial = true, .expect = FWD},
	/* TUN */
	{"TUN ipip IPv4", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1", .plen = 100,
	 .df = true, .tos = 0x03, .expect = FWD},
	{"TUN ipip IPv4, checksum-partial inner", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL,
	 "10.1.0.1", .plen = 700, .partial = true, .expect = FWD},
	{"TUN ipip IPv6 in IPv6", AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "2001:db8:1::1",
	 .plen = 100, .tos = 0xb8, .expect = FWD},
	{"TUN gue IPv4, no checksum", AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "10.1.0.1",
	 LVS_TUN_GUE, LVS_TUN_F_NOCSUM, .plen = 60, .expect = FWD},
	{"TUN gue IPv4, checksum", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1",
	 LVS_TUN_GUE, LVS_TUN_F_CSUM, .plen = 333, .expect = FWD},
	{"TUN gue IPv4, remcsum, checksum-partial inner", AF_INET, IPPROTO_TCP,
	 LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_REMCSUM, .plen = 400,
	 .partial = true, .expect = FWD},
	{"TUN gue IPv4, remcsum, complete inner", AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL,
	 "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_REMCSUM, .plen = 41, .expect = FWD},
	{"TUN gue IPv6 (checksum always)", AF_INET6, IPPROTO_UDP, LVS_FWD_TUNNEL,
	 "2001:db8:1::1", LVS_TUN_GUE, LVS_TUN_F_NOCSUM, .plen = 50, .expect = FWD},
	{"TUN gre IPv4", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_GRE,
	 LVS_TUN_F_NOCSUM, .plen = 100, .expect = FWD},
	{"TUN gre IPv4, checksum", AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "10.1.0.1",
	 LVS_TUN_GRE, LVS_TUN_F_CSUM, .plen = 99, .expect = FWD},
	{"TUN gre IPv6, checksum", AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "2001:db8:1::1",
	 LVS_TUN_GRE, LVS_TUN_F_CSUM, .plen = 123, .expect = FWD},
	{"TUN gre IPv4, VLAN next hop", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.3",
	 LVS_TUN_GRE, LVS_TUN_F_NOCSUM, .plen = 10, .vlan = 5, .expect = FWD},
	/* to user space */
	{"TTL 1 (NAT in IPv4)", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .ttl = 1,
	 .plen = 10, .expect = USER, .why = LVS_FASTS_TTL},
	{"hop limit 1 (DR IPv6)", AF_INET6, IPPROTO_TCP, LVS_FWD_ROUTE, "2001:db8:1::1",
	 .ttl = 1, .plen = 10, .expect = USER, .why = LVS_FASTS_TTL},
	{"MTU exceeded with DF (TUN ipip)", AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1",
	 .plen = 1460, .df = true, .expect = USER, .why = LVS_FASTS_MTU},
	{"SYN on an established flow", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1",
	 .tcp_flags = 0x02, .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"FIN", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .tcp_flags = 0x11,
	 .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"RST (NAT reply)", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .reply = true,
	 .tcp_flags = 0x14, .expect = USER, .why = LVS_FASTS_TCP_FLAGS},
	{"IPv4 options", AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .options = true,
	 .plen = 10, .expect = USER, .why = LVS_FASTS_SHAPE},
	{"no flow entry", AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1", .plen = 10,
	 .no_entry = true, .expect = USER, .why = LVS_FASTS_MISS},
};

/* ---- frames ---- */

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

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* A frame src:sport -> dst:dport of case c (reference checksums written
 * byte by byte, independently of the core). */
static uint32_t make_frame(uint8_t *f, const struct fcase *c, const union lvs_addr *src,
			   uint16_t sport, const union lvs_addr *dst, uint16_t dport,
			   uint8_t tcp_flags)
{
	bool v4 = c->af == AF_INET, tcp = c->proto == IPPROTO_TCP;
	uint32_t l2 = c->vlan ? 18 : 14, ihl = v4 ? (c->options ? 24 : 20) : 40;
	uint32_t l4len = (tcp ? 20 : 8) + c->plen, alen = v4 ? 4 : 16;
	uint8_t *ip = f + l2, *l4 = ip + ihl;
	uint32_t s;

	memset(f, 0, l2 + ihl + l4len + c->pad);
	f[0] = 2;
	f[5] = 0xfe;
	f[6] = 2;
	f[11] = 0xaa;
	if (c->vlan) {
		put16(f + 12, 0x8100);
		put16(f + 14, c->vlan);
	}
	put16(f + l2 - 2, v4 ? 0x0800 : 0x86dd);
	if (v4) {
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = c->tos;
		put16(ip + 2, (uint16_t)(ihl + l4len));
		put16(ip + 4, 0x1234);
		if (c->df)
			ip[6] = 0x40;
		ip[8] = c->ttl ? c->ttl : 64;
		ip[9] = c->proto;
		memcpy(ip + 12, src->b, 4);
		memcpy(ip + 16, dst->b, 4);
		if (c->options)
			ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0; /* NOP NOP NOP EOL */
		put16(ip + 10, (uint16_t)~fold16(sum16(ip, ihl, 0)));
	} else {
		ip[0] = (uint8_t)(0x60 | c->tos >> 4);
		ip[1] = (uint8_t)(c->tos << 4 | 0x0a); /* and a flow label */
		ip[3] = 0x5e;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = c->proto;
		ip[7] = c->ttl ? c->ttl : 64;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst->b, 16);
	}
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (tcp) {
		put16(l4 + 4, 0x0102);
		put16(l4 + 8, 0x0a0b);
		l4[12] = 0x50;
		l4[13] = tcp_flags ? tcp_flags : 0x10;
		put16(l4 + 14, 0xffff);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	for (uint32_t i = 0; i < c->plen; i++)
		l4[(tcp ? 20 : 8) + i] = (uint8_t)(i * 7 + 1);
	/* pseudo-header sum, then the checksum */
	s = sum16(src->b, alen, 0);
	s = sum16(dst->b, alen, s);
	s += c->proto + (l4len >> 16) + (l4len & 0xffff);
	if (c->partial) {
		put16(l4 + (tcp ? 16 : 6), fold16(s));
	} else if (!c->udp_nocsum) {
		uint16_t x = (uint16_t)~fold16(sum16(l4, l4len, s));
		if (!tcp && x == 0)
			x = 0xffff;
		put16(l4 + (tcp ? 16 : 6), x);
	}
	return l2 + ihl + l4len + c->pad;
}

/* ---- a director with the case's service ---- */

struct dir {
	struct lvs_model *m;
	struct lvs_director d;
	struct lvs_worker w;
};

static void dir_init(struct dir *x, const struct fcase *c)
{
	struct lvs_svc_conf sc;
	struct lvs_svc_key k;
	struct lvs_dest_conf d;
	int daf = strchr(c->dest, ':') ? AF_INET6 : AF_INET;

	memset(x, 0, sizeof(*x));
	x->m = lvs_model_new();
	assert_non_null(x->m);
	memset(&sc, 0, sizeof(sc));
	sc.af = (uint8_t)c->af;
	sc.proto = c->proto;
	sc.addr = c->af == AF_INET ? t_ip4(V4V) : t_ip6(V6V);
	sc.port = htons(80);
	snprintf(sc.sched, sizeof(sc.sched), "rr");
	lvs_svc_conf_defaults(&sc);
	assert_int_equal(lvs_model_add_service(x->m, &sc), 0);
	lvs_svc_conf_key(&sc, &k);
	lvs_dest_conf_defaults(&d);
	d.af = (uint8_t)daf;
	d.addr = daf == AF_INET ? t_ip4(c->dest) : t_ip6(c->dest);
	d.port = htons(c->fwd == LVS_FWD_MASQ ? 8080 : 80);
	d.fwd = c->fwd;
	d.tun_type = c->tun_type;
	d.tun_flags = c->tun_flags;
	d.tun_port = htons(6080);
	assert_int_equal(lvs_model_add_dest(x->m, &k, &d), 0);
	x->d.model = x->m;
	x->d.ct = lvs_conn_table_new(64, 1);
	assert_non_null(x->d.ct);
	x->d.env.route = t_route;
	x->d.env.src_addr = t_src;
	x->w.d = &x->d;
}

static void dir_free(struct dir *x)
{
	lvs_conn_table_free(x->d.ct);
	lvs_model_free(x->m);
}

/* Run a frame through the core as the AF_XDP driver hands it over and
 * sends it: checksum state unknown in, partial completed out. */
static enum lvs_verdict core_run(struct dir *x, uint8_t *buf, uint32_t len, struct lvs_pkt *p)
{
	enum lvs_drop why;
	enum lvs_verdict v;

	lvs_pkt_init(p, buf, BUFSZ, HROOM, len);
	p->flags = LVS_PKT_F_CSUM_UNKNOWN;
	v = lvs_director_process(&x->w, p, 1000000000ull, &why);
	if (v == LVS_V_TX && (p->flags & LVS_PKT_F_CSUM_PARTIAL))
		assert_int_equal(lvs_io_sw_csum(p), 0);
	return v;
}

struct find {
	struct lvs_conn_info ci;
	int n;
};

static int find_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct find *f = arg;

	if (!(ci->p.flags & LVS_CONN_F_TEMPLATE)) {
		f->ci = *ci;
		f->n++;
	}
	return 0;
}

/* BPF_PROG_TEST_RUN once; the program's verdict, the frame in out. */
static int xdp_run(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t *out_len,
		   uint32_t repeat, uint32_t *duration)
{
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = IF_CL};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = BUFSZ, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);
	int err = bpf_prog_test_run_opts(lvs_fastpath_prog_fd(g_fp), &o);

	assert_int_equal(err, 0);
	*out_len = o.data_size_out;
	if (duration)
		*duration = o.duration;
	return (int)o.retval;
}

static void hexdiff(const char *what, const uint8_t *a, uint32_t al, const uint8_t *b,
		    uint32_t bl)
{
	fprintf(stderr, "  %s: core %u bytes, xdp %u bytes\n", what, al, bl);
	for (uint32_t i = 0; i < (al > bl ? al : bl) && i < 128; i++) {
		int ca = i < al ? a[i] : -1, cb = i < bl ? b[i] : -1;
		if (ca != cb)
			fprintf(stderr, "  [%3u] core %02x xdp %02x\n", i, ca & 0xff, cb & 0xff);
	}
}

static void stats(uint64_t s[LVS_FASTS__COUNT])
{
	assert_int_equal(lvs_fastpath_stats(g_fp, s), 0);
}

/* One case; true when it passed (failures are printed). */
static bool run_case(const struct fcase *c)
{
	static uint8_t b0[BUFSZ], b1[BUFSZ], frame[BUFSZ], out[BUFSZ];
	union lvs_addr cl = c->af == AF_INET ? t_ip4(V4C) : t_ip6(V6C);
	union lvs_addr vip = c->af == AF_INET ? t_ip4(V4V) : t_ip6(V6V);
	uint64_t s0[LVS_FASTS__COUNT], s1[LVS_FASTS__COUNT];
	struct lvs_fast_tun tun = {0};
	struct lvs_nexthop nh;
	union lvs_addr tsrc;
	struct lvs_pkt p;
	struct find fd = {0};
	struct dir x;
	uint32_t len, olen;
	int ret, daf;
	bool ok = true;
	enum lvs_verdict v;

	dir_init(&x, c);
	/* the first packet (plain, no payload) creates the connection */
	{
		struct fcase first = *c;
		first.vlan = 0;
		first.ttl = 0;
		first.options = false;
		first.partial = false;
		first.pad = 0;
		first.plen = 0;
		len = make_frame(b0 + HROOM, &first, &cl, 40000, &vip, 80,
				 c->proto == IPPROTO_TCP ? 0x02 : 0);
	}
	assert_int_equal(core_run(&x, b0, len, &p), LVS_V_TX);
	lvs_conn_walk(x.d.ct, 1000000000ull, find_cb, &fd);
	assert_int_equal(fd.n, 1);

	/* the flow map entry, from what the core knows */
	daf = fd.ci.p.daf ? fd.ci.p.daf : fd.ci.p.af;
	if (c->reply)
		t_route(NULL, c->af, &fd.ci.p.caddr, &nh);
	else
		t_route(NULL, daf, &fd.ci.p.daddr, &nh);
	t_src(NULL, daf, &fd.ci.p.daddr, &tsrc);
	lvs_fastpath_tun_of_dest(fd.ci.dest, &tun);
	if (!c->no_entry)
		assert_int_equal(lvs_fastpath_add(g_fp, &fd.ci, c->reply, &nh, &tun, &tsrc), 0);

	/* the established-flow frame */
	if (c->reply) {
		union lvs_addr rs = fd.ci.p.daddr;
		len = make_frame(frame, c, &rs, ntohs(fd.ci.p.dport), &cl, 40000, c->tcp_flags);
	} else {
		len = make_frame(frame, c, &cl, 40000, &vip, 80, c->tcp_flags);
	}
	memcpy(b1 + HROOM, frame, len);
	v = core_run(&x, b1, len, &p);

	stats(s0);
	ret = xdp_run(frame, len, out, &olen, 1, NULL);
	stats(s1);

	if (c->expect == FWD) {
		int want = p.ifindex == IF_CL ? XDP_TX : XDP_REDIRECT;

		if (v != LVS_V_TX || ret != want) {
			fprintf(stderr, "  core verdict %d, xdp %d (want %d)\n", v, ret, want);
			ok = false;
		} else if (olen != p.len || memcmp(out, p.data, olen)) {
			hexdiff("frames differ", p.data, p.len, out, olen);
			ok = false;
		}
	} else {
		if (ret != XDP_PASS || olen != len || memcmp(out, frame, len)) {
			fprintf(stderr, "  xdp %d, frame %schanged\n", ret,
				olen == len && !memcmp(out, frame, len) ? "un" : "");
			ok = false;
		}
		if (s1[c->why] != s0[c->why] + 1) {
			fprintf(stderr, "  reason %s not counted\n", lvs_fastpath_stat_name(c->why));
			ok = false;
		}
	}
	if (!c->no_entry)
		assert_int_equal(lvs_fastpath_del(g_fp, &fd.ci, c->reply), 0);
	dir_free(&x);
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
		bool ok = run_case(&cases[i]);

		print_message("%-4s %s\n", ok ? "ok" : "FAIL", cases[i].desc);
		failed += !ok;
	}
	assert_int_equal(failed, 0);
}

/* What the program counts for an entry, and what deleting it does. */
static void test_counters_and_delete(void **state)
{
	static uint8_t b0[BUFSZ], frame[BUFSZ], out[BUFSZ];
	const struct fcase *c = &cases[0]; /* NAT in TCP IPv4 */
	union lvs_addr cl = t_ip4(V4C), vip = t_ip4(V4V), tsrc = {0};
	struct lvs_fast_counters fc;
	struct lvs_fast_tun tun = {0};
	struct lvs_nexthop nh;
	struct find fd = {0};
	struct lvs_pkt p;
	struct dir x;
	uint32_t len, olen;
	struct fcase first = *c;

	(void)state;
	if (g_skip)
		skip();
	dir_init(&x, c);
	first.plen = 0;
	len = make_frame(b0 + HROOM, &first, &cl, 40000, &vip, 80, 0x02);
	assert_int_equal(core_run(&x, b0, len, &p), LVS_V_TX);
	lvs_conn_walk(x.d.ct, 1000000000ull, find_cb, &fd);
	t_route(NULL, AF_INET, &fd.ci.p.daddr, &nh);
	assert_int_equal(lvs_fastpath_add(g_fp, &fd.ci, false, &nh, &tun, &tsrc), 0);
	/* a reply entry needs NAT; a DR-style reply is refused */
	fd.ci.p.fwd = LVS_FWD_ROUTE;
	assert_int_equal(lvs_fastpath_add(g_fp, &fd.ci, true, &nh, &tun, &tsrc), -EINVAL);
	fd.ci.p.fwd = LVS_FWD_MASQ;

	len = make_frame(frame, c, &cl, 40000, &vip, 80, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(xdp_run(frame, len, out, &olen, 1, NULL), XDP_REDIRECT);
	assert_int_equal(lvs_fastpath_read(g_fp, &fd.ci, false, &fc), 0);
	assert_int_equal(fc.packets, 3);
	assert_int_equal(fc.bytes, 3 * (len - 14)); /* IP bytes, as the core counts */
	assert_true(fc.last_ns > 0);
	/* rewriting the entry starts its counters again */
	assert_int_equal(lvs_fastpath_add(g_fp, &fd.ci, false, &nh, &tun, &tsrc), 0);
	assert_int_equal(lvs_fastpath_read(g_fp, &fd.ci, false, &fc), 0);
	assert_int_equal(fc.packets, 0);

	assert_int_equal(xdp_run(frame, len, out, &olen, 1, NULL), XDP_REDIRECT);

	assert_int_equal(lvs_fastpath_del(g_fp, &fd.ci, false), 0);
	assert_int_equal(lvs_fastpath_del(g_fp, &fd.ci, false), -ENOENT);
	assert_int_equal(xdp_run(frame, len, out, &olen, 1, NULL), XDP_PASS);
	assert_int_equal(lvs_fastpath_read(g_fp, &fd.ci, false, &fc), -ENOENT);
	/* written again after a delete: counters of its own, from 0 */
	assert_int_equal(lvs_fastpath_add(g_fp, &fd.ci, false, &nh, &tun, &tsrc), 0);
	assert_int_equal(lvs_fastpath_read(g_fp, &fd.ci, false, &fc), 0);
	assert_int_equal(fc.packets, 0);
	assert_int_equal(fc.bytes, 0);
	assert_int_equal(fc.last_ns, 0);
	assert_int_equal(xdp_run(frame, len, out, &olen, 1, NULL), XDP_REDIRECT);
	assert_int_equal(lvs_fastpath_read(g_fp, &fd.ci, false, &fc), 0);
	assert_int_equal(fc.packets, 1);
	assert_int_equal(fc.bytes, len - 14);
	assert_int_equal(lvs_fastpath_del(g_fp, &fd.ci, false), 0);
	dir_free(&x);
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
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lvs_fastpath_close(g_fp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_counters_and_delete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
