/*
 * fuzz_fastpath.c - libFuzzer target, differential: every frame goes
 * through the XDP fast path (lvs_fast.bpf.c, loaded, BPF_PROG_TEST_RUN)
 * and through the core (lvs_director_process), and the two must agree as
 * tests/unit/fastpath_harness.c's fh_judge says: a frame the program
 * forwards is the core's, byte for byte, out of the same interface; a
 * frame it gives user space comes back unchanged (the core may do what it
 * likes with it); it drops none but as LVS_FASTS_BROKEN.  A forwarded
 * frame of a flow adds one packet and its IP bytes to the entry, as the
 * core adds them to the destination's counters.  Anything else aborts.
 *
 * Set up once: a director with one service per case below (NAT, DR, TUN
 * ipip / gue / gre with and without checksums and with remote checksum
 * offload, IPv4 and IPv6 and mixed-family tunnels, TCP and UDP, next hops
 * behind a VLAN and a jumbo link), a connection established in each
 * through the core and its flow map entries (both directions for NAT)
 * written with lvs_fastpath_add as the unit test writes them.
 *
 * Input: byte 0 picks a flow (one direction of one connection), bytes 1-5
 * shape a valid frame of it (fh_make_frame: VLAN tag, DF, checksum-partial,
 * UDP without checksum, padding, IPv4 options, TTL, payload length, DS
 * field, TCP flags), byte 6 says which lengths and checksums to recompute
 * once the frame is edited, and the rest is a list of edits applied in
 * turn (set or flip a byte of the frame or of its IP or L4 header, cut or
 * lengthen it, add or remove a VLAN tag, recompute lengths and
 * checksums).  Byte 0 = 0xff: the rest is a raw frame.
 *
 * The program runs first, then the core, which may move a connection (a
 * FIN, a RST, a SYN that the program sent up) or open a new one: allowed
 * only for frames the program did not forward.  The connections are then
 * opened again from scratch (their entries stay valid: one destination
 * per service), so every input starts from the same established table.
 *
 * Needs root and BPF: without them it prints why and exits 0.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "fastpath_harness.h"

static const struct fh_svc svcs[] = {
	/* NAT */
	{AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.1", .vport = 80},
	{AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.1", .vport = 53},
	{AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::1", .vport = 80},
	{AF_INET6, IPPROTO_UDP, LVS_FWD_MASQ, "2001:db8:1::1", .vport = 53},
	{AF_INET, IPPROTO_TCP, LVS_FWD_MASQ, "10.1.0.3", .vport = 81}, /* VLAN next hop */
	{AF_INET, IPPROTO_UDP, LVS_FWD_MASQ, "10.1.0.9", .vport = 82}, /* jumbo */
	{AF_INET6, IPPROTO_TCP, LVS_FWD_MASQ, "2001:db8:1::9", .vport = 82},
	/* DR */
	{AF_INET, IPPROTO_TCP, LVS_FWD_ROUTE, "10.1.0.1", .vport = 90},
	{AF_INET, IPPROTO_UDP, LVS_FWD_ROUTE, "10.1.0.3", .vport = 91},
	{AF_INET6, IPPROTO_UDP, LVS_FWD_ROUTE, "2001:db8:1::1", .vport = 90},
	{AF_INET6, IPPROTO_TCP, LVS_FWD_ROUTE, "2001:db8:1::9", .vport = 92},
	/* TUN ipip, IPv6 in IPv6 and across families */
	{AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_IPIP, 0, 100},
	{AF_INET6, IPPROTO_UDP, LVS_FWD_TUNNEL, "2001:db8:1::1", LVS_TUN_IPIP, 0, 100},
	{AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "2001:db8:1::2", LVS_TUN_IPIP, 0, 101},
	{AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.2", LVS_TUN_IPIP, 0, 101},
	/* TUN gue */
	{AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_NOCSUM, 110},
	{AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_GUE, LVS_TUN_F_CSUM, 111},
	{AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.3", LVS_TUN_GUE, LVS_TUN_F_REMCSUM, 112},
	{AF_INET6, IPPROTO_UDP, LVS_FWD_TUNNEL, "2001:db8:1::1", LVS_TUN_GUE, LVS_TUN_F_NOCSUM,
	 110},
	{AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.9", LVS_TUN_GUE, LVS_TUN_F_CSUM, 113},
	{AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "2001:db8:1::2", LVS_TUN_GUE, LVS_TUN_F_REMCSUM,
	 114},
	/* TUN gre */
	{AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "10.1.0.1", LVS_TUN_GRE, LVS_TUN_F_NOCSUM, 120},
	{AF_INET, IPPROTO_UDP, LVS_FWD_TUNNEL, "10.1.0.9", LVS_TUN_GRE, LVS_TUN_F_CSUM, 121},
	{AF_INET6, IPPROTO_TCP, LVS_FWD_TUNNEL, "2001:db8:1::1", LVS_TUN_GRE, LVS_TUN_F_CSUM, 120},
	{AF_INET, IPPROTO_TCP, LVS_FWD_TUNNEL, "2001:db8:1::9", LVS_TUN_GRE, LVS_TUN_F_CSUM, 122},
};

#define NSVC   (sizeof(svcs) / sizeof(svcs[0]))
#define CPORT0 40000 /* the connection of svcs[i] is from client port CPORT0 + i */

/* One direction of one connection. */
struct flow {
	unsigned svc;
	bool reply;
};

static struct lvs_fastpath *fp;
static struct fh_dir dir;
static struct lvs_conn_info conns[NSVC];
static struct flow flows[2 * NSVC];
static unsigned nflows;
static uint64_t stats[LVS_FASTS__COUNT]; /* the program's counters as last read */
static uint64_t reopened;                /* times the connections were opened again */

/* Features for libFuzzer besides the coverage of lvsd's code (the
 * program's is invisible to it): per flow (the last row: raw frames),
 * why the program forwarded the frame or sent it up, and the core's
 * verdict. */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t
	seen[2 * NSVC + 1][LVS_FASTS__COUNT][LVS_V_HELD + 1];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_fastpath: %s\n", what);
	abort();
}

/* Open every connection (in a table that has none). */
static void open_all(bool first)
{
	for (unsigned i = 0; i < NSVC; i++) {
		struct lvs_conn_info ci;

		if (fh_conn_open(&dir, &svcs[i], (uint16_t)(CPORT0 + i), &ci))
			fail("set-up: a connection does not open");
		if (first) {
			conns[i] = ci;
			continue;
		}
		/* the entries written from the first ones must still be right */
		if (memcmp(&ci.p.daddr, &conns[i].p.daddr, sizeof(ci.p.daddr)) ||
		    ci.p.dport != conns[i].p.dport || ci.dest != conns[i].dest)
			fail("set-up: a connection opened again to another destination");
	}
}

/* Whether the core moved a connection or opened another since open_all. */
struct state_walk {
	bool changed;
};

static int state_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct state_walk *w = arg;
	unsigned i = (unsigned)ntohs(ci->p.cport) - CPORT0;

	if (i >= NSVC || ci->p.proto != conns[i].p.proto || ci->p.af != conns[i].p.af ||
	    ci->p.vport != conns[i].p.vport || ci->state != conns[i].state ||
	    ci->p.flags != conns[i].p.flags) {
		w->changed = true;
		return 1;
	}
	return 0;
}

static bool table_changed(void)
{
	struct state_walk w = {false};

	if (lvs_conn_table_count(dir.d.ct) != NSVC)
		return true;
	lvs_conn_walk(dir.d.ct, FH_NOW, state_cb, &w);
	return w.changed;
}

/* The program's reason for the frame it just ran on (one counter moved),
 * or -1. */
static int reason(void)
{
	uint64_t s[LVS_FASTS__COUNT];
	int r = -1;

	if (lvs_fastpath_stats(fp, s))
		fail("cannot read the program's counters");
	for (int i = 0; i < LVS_FASTS__COUNT; i++) {
		if (s[i] == stats[i])
			continue;
		if (r >= 0 || s[i] != stats[i] + 1)
			r = -2;
		else if (r == -1)
			r = i;
	}
	memcpy(stats, s, sizeof(s));
	return r < 0 ? -1 : r;
}

/* What flow fl's entry counted (packets, IP bytes) and what the core
 * counted on its destination in that direction. */
struct counts {
	uint64_t prog_pkts, prog_bytes, core_pkts, core_bytes;
};

static void read_counts(const struct flow *fl, struct counts *n)
{
	const struct lvs_counters *c = &conns[fl->svc].dest->stats[0];
	struct lvs_fast_counters fc;

	if (lvs_fastpath_read(fp, &conns[fl->svc], fl->reply, &fc))
		fail("cannot read a flow map entry");
	n->prog_pkts = fc.packets;
	n->prog_bytes = fc.bytes;
	n->core_pkts = fl->reply ? c->outpkts : c->inpkts;
	n->core_bytes = fl->reply ? c->outbytes : c->inbytes;
}

/* With FUZZ_FASTPATH_STATS set: what the program did with the inputs. */
static void print_stats(void)
{
	fprintf(stderr, "fuzz_fastpath: program verdicts:");
	for (unsigned i = 0; i < LVS_FASTS__COUNT; i++)
		fprintf(stderr, " %s %llu", lvs_fastpath_stat_name(i),
			(unsigned long long)stats[i]);
	fprintf(stderr, "; connections opened again %llu times\n",
		(unsigned long long)reopened);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc;
	(void)argv;
	if (geteuid() != 0) {
		printf("fuzz_fastpath: skipped: needs root (BPF_PROG_TEST_RUN)\n");
		exit(0);
	}
	libbpf_set_print(NULL);
	err = lvs_fastpath_open(&fp, XDP_PASS);
	if (err) {
		printf("fuzz_fastpath: skipped: cannot load the XDP program: %s\n",
		       strerror(-err));
		exit(0);
	}
	if (fh_dir_init(&dir))
		fail("set-up: director");
	for (unsigned i = 0; i < NSVC; i++)
		if (fh_dir_add(&dir, &svcs[i]))
			fail("set-up: a service is refused");
	open_all(true);
	for (unsigned i = 0; i < NSVC; i++) {
		flows[nflows++] = (struct flow){i, false};
		if (svcs[i].fwd == LVS_FWD_MASQ)
			flows[nflows++] = (struct flow){i, true};
	}
	for (unsigned i = 0; i < nflows; i++)
		if (fh_entry_add(fp, &conns[flows[i].svc], flows[i].reply))
			fail("set-up: a flow map entry is refused");
	if (lvs_fastpath_stats(fp, stats))
		fail("cannot read the program's counters");
	if (getenv("FUZZ_FASTPATH_STATS"))
		atexit(print_stats);
	return 0;
}

/* ---- editing a frame ---- */

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Where the IP and L4 headers of the frame are (as far as it tells). */
struct loc {
	uint32_t l3, l4, end; /* end: of the datagram, at most the frame's */
	bool v4;
	uint8_t proto;
};

static bool locate(const uint8_t *f, uint32_t len, struct loc *l)
{
	uint32_t off = 12;
	uint16_t type;

	for (int tags = 0;; tags++) {
		if (off + 2 > len)
			return false;
		type = rd16(f + off);
		if ((type != 0x8100 && type != 0x88a8) || tags == 2)
			break;
		off += 4;
	}
	l->l3 = off + 2;
	if (type == 0x0800 && l->l3 + 20 <= len) {
		uint32_t ihl = (f[l->l3] & 15) * 4u;

		l->v4 = true;
		l->l4 = l->l3 + (ihl < 20 ? 20 : ihl);
		l->end = l->l3 + rd16(f + l->l3 + 2);
		l->proto = f[l->l3 + 9];
	} else if (type == 0x86dd && l->l3 + 40 <= len) {
		l->v4 = false;
		l->l4 = l->l3 + 40;
		l->end = l->l4 + rd16(f + l->l3 + 4);
		l->proto = f[l->l3 + 6];
	} else {
		return false;
	}
	if (l->end > len)
		l->end = len;
	return true;
}

/* Recompute what mode asks: bit 0 the lengths (IP, UDP) from the frame's,
 * bit 1 the IPv4 header checksum, bit 2 the L4 checksum (complete, or
 * with bit 3 the pseudo-header sum of a checksum-partial frame). */
static void fix(uint8_t *f, uint32_t len, uint8_t mode)
{
	struct loc l;
	uint32_t l4len, s, coff;

	if (!locate(f, len, &l))
		return;
	if (mode & 1) {
		if (l.v4)
			wr16(f + l.l3 + 2, (uint16_t)(len - l.l3));
		else
			wr16(f + l.l3 + 4, (uint16_t)(len - l.l4));
		l.end = len;
		if (l.proto == IPPROTO_UDP && l.l4 + 8 <= len)
			wr16(f + l.l4 + 4, (uint16_t)(len - l.l4));
	}
	if ((mode & 2) && l.v4 && l.l4 <= len) {
		wr16(f + l.l3 + 10, 0);
		wr16(f + l.l3 + 10, (uint16_t)~fh_fold16(fh_sum16(f + l.l3, l.l4 - l.l3, 0)));
	}
	if (!(mode & 4) || (l.proto != IPPROTO_TCP && l.proto != IPPROTO_UDP))
		return;
	coff = l.proto == IPPROTO_TCP ? 16 : 6;
	if (l.l4 > l.end || l.l4 + coff + 2 > l.end)
		return;
	l4len = l.end - l.l4;
	s = fh_sum16(f + l.l3 + (l.v4 ? 12 : 8), l.v4 ? 8 : 32, 0) + l.proto + l4len;
	if (mode & 8) {
		wr16(f + l.l4 + coff, fh_fold16(s));
		return;
	}
	wr16(f + l.l4 + coff, 0);
	s = (uint16_t)~fh_fold16(fh_sum16(f + l.l4, l4len, s));
	wr16(f + l.l4 + coff, l.proto == IPPROTO_UDP && s == 0 ? 0xffff : (uint16_t)s);
}

/* Apply the edits in d[0..n) to the frame; its new length. */
static uint32_t edit(uint8_t *f, uint32_t len, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i += 3) {
		uint8_t op = d[i], a = d[i + 1], b = d[i + 2];
		struct loc l;
		uint32_t at;

		switch (op & 7) {
		case 0: /* set a byte anywhere */
			if (len)
				f[((uint32_t)(op >> 3) << 8 | a) % len] = b;
			break;
		case 1: /* set or flip a byte of the IP header */
		case 2: /* ... of the L4 header */
			if (!locate(f, len, &l))
				break;
			at = ((op & 7) == 1 ? l.l3 + a % 60 : l.l4 + a % 64);
			if (at < len)
				f[at] = op & 8 ? f[at] ^ b : b;
			break;
		case 3: /* cut */
			len -= a < len ? a : len;
			break;
		case 4: /* lengthen */
			if (len + a <= FH_FRAME_MAX) {
				memset(f + len, b, a);
				len += a;
			}
			break;
		case 5: /* a VLAN tag in front, or the first one removed */
			if (len < 14)
				break;
			if (op & 8) {
				if (len + 4 > FH_FRAME_MAX)
					break;
				memmove(f + 16, f + 12, len - 12);
				wr16(f + 12, op & 16 ? 0x88a8 : 0x8100);
				wr16(f + 14, (uint16_t)(a << 8 | b));
				len += 4;
			} else if (len >= 18 &&
				   (rd16(f + 12) == 0x8100 || rd16(f + 12) == 0x88a8)) {
				memmove(f + 12, f + 16, len - 16);
				len -= 4;
			}
			break;
		case 6: /* lengths and checksums */
			fix(f, len, a);
			break;
		case 7: /* a 16-bit field of the IP or L4 header */
			if (!locate(f, len, &l))
				break;
			at = (op & 8 ? l.l4 + a % 64 : l.l3 + a % 60) & ~1u;
			if (at + 2 <= len)
				wr16(f + at,
				     (uint16_t)(rd16(f + at) + (op >> 4) * 0x1000 + b - 0x80));
			break;
		}
	}
	return len;
}

/* The template: a valid frame of flow fl shaped by p[0..4]. */
static uint32_t template(uint8_t *f, const struct flow *fl, const uint8_t *p)
{
	static const uint8_t ttls[4] = {64, 2, 255, 1};
	const struct fh_svc *s = &svcs[fl->svc];
	struct fh_frame fr = {.reply = fl->reply};
	uint32_t plen;

	fr.vlan = p[0] & 1 ? (uint16_t)(p[3] | 1) : 0;
	fr.df = p[0] & 2;
	fr.partial = p[0] & 4;
	fr.udp_nocsum = p[0] & 8;
	fr.pad = p[0] & 16 ? p[4] & 63 : 0;
	fr.options = (p[0] & 48) == 48;
	fr.ttl = ttls[p[0] >> 6];
	/* mostly up to an MTU of 1500; sometimes up to the jumbo frames
	 * test-run makes multi-buffer */
	if (p[1] & 0x80)
		plen = ((uint32_t)(p[1] & 0x3f) << 8 | p[2]) % 9800;
	else
		plen = ((uint32_t)p[1] << 8 | p[2]) % 1500;
	fr.plen = plen;
	fr.tos = p[3];
	/* an ACK, sometimes with PSH, URG, ECE or CWR; sometimes anything */
	fr.tcp_flags = p[4] < 0xe0 ? (uint8_t)(0x10 | (p[4] & 0xe8)) : (uint8_t)(p[4] & 0x3f);
	if (!fr.tcp_flags)
		fr.tcp_flags = 0x10;
	return fh_conn_frame(f, s, &fr, &conns[fl->svc]);
}

static void dump(const char *what, const uint8_t *f, uint32_t len)
{
	fprintf(stderr, "  %s (%u bytes):", what, len);
	for (uint32_t i = 0; i < len && i < 160; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n   ", f[i]);
	fprintf(stderr, "\n");
}

static void report(const struct flow *fl, const uint8_t *f, uint32_t len, const char *why)
{
	if (fl) {
		const struct fh_svc *s = &svcs[fl->svc];

		fprintf(stderr, "fuzz_fastpath: flow %u: fwd %u tun %u/%#x, %s %s to %s%s\n",
			fl->svc, s->fwd, s->tun_type, s->tun_flags,
			s->af == AF_INET ? "IPv4" : "IPv6",
			s->proto == IPPROTO_TCP ? "TCP" : "UDP", s->dest,
			fl->reply ? ", reply" : "");
	}
	dump("frame", f, len);
	fail(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FH_BUFSZ];
	static struct fh_run r;
	const struct flow *fl = NULL;
	struct counts c0, c1;
	enum fh_outcome o;
	uint32_t len;
	int why;

	if (size < 1)
		return 0;
	if (data[0] == 0xff) {
		len = size - 1 > FH_FRAME_MAX ? FH_FRAME_MAX : (uint32_t)(size - 1);
		memcpy(frame, data + 1, len);
	} else {
		uint8_t p[6] = {0};

		fl = &flows[data[0] % nflows];
		memcpy(p, data + 1, size - 1 < 6 ? size - 1 : 6);
		len = template(frame, fl, p);
		if (size > 7)
			len = edit(frame, len, data + 7, size - 7);
		/* most edits break a checksum: often mend them at the end */
		fix(frame, len, p[5]);
	}
	if (len < 14) /* test-run wants an Ethernet header */
		return 0;
	if (fl)
		read_counts(fl, &c0);
	if (fh_run_both(fp, &dir, frame, len, &r))
		report(fl, frame, len, "BPF_PROG_TEST_RUN failed");
	why = reason();
	o = fh_judge(&r, frame, len, XDP_PASS);
	if (o == FH_DIFFER)
		report(fl, frame, len, "the program and the core differ");
	if (why < 0)
		report(fl, frame, len, "not one reason counted for the frame");
	if (o == FH_DROPPED && why != LVS_FASTS_BROKEN)
		report(fl, frame, len, "dropped, not counted as broken");
	seen[fl ? fl - flows : 2 * NSVC][why][r.core <= LVS_V_HELD ? r.core : 0]++;
	/* a forwarded frame is counted once, its IP bytes as the core counts */
	if (fl && o == FH_FORWARDED) {
		read_counts(fl, &c1);
		if (c1.prog_pkts != c0.prog_pkts + 1 || c1.core_pkts != c0.core_pkts + 1 ||
		    c1.prog_bytes - c0.prog_bytes != c1.core_bytes - c0.core_bytes)
			report(fl, frame, len, "the entry's counters are not the core's");
	}
	if (table_changed()) {
		if (o == FH_FORWARDED)
			report(fl, frame, len,
			       "the core moved a connection the program forwarded on");
		if (fh_dir_reset(&dir))
			fail("cannot renew the connection table");
		open_all(false);
		reopened++;
	}
	return 0;
}
