/*
 * fuzz_director.c - libFuzzer target: arbitrary frames through parse ->
 * classify -> connection table -> scheduler -> transform, against a fixed
 * set of services covering NAT, DR, TUN (each encapsulation), IPv6,
 * persistence, fwmark and one-packet scheduling.
 *
 * Input format: a sequence of records [len_hi len_lo flags frame[len]].
 * flags bit 0: mark the frame checksum-partial; bits 1-3: advance the clock
 * by 2^(bits) seconds before the frame (timers fire); bit 4: fwmark 1;
 * bit 5: checksum state unknown (as AF_XDP delivers frames).
 * Frames go through lvs_director_process_burst (as in lvsd) in bursts of
 * up to 8; a clock step ends a burst.  The connection table is deliberately
 * small so "table full" is reached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "csum.h"
#include "director.h"

static struct lvs_model *model;
static struct lvs_director dir;
static struct lvs_worker worker;
static lvs_time_t clock_ns = 1000 * LVS_NS_PER_SEC;

static int fz_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	(void)ctx;
	memset(nh, 0, sizeof(*nh));
	nh->mac[0] = 0x02;
	nh->mac[5] = dst->b[af == AF_INET ? 3 : 15];
	nh->src_mac[0] = 0x02;
	nh->src_mac[5] = 0x01;
	nh->ifindex = 1;
	nh->mtu = 1500;
	if (dst->b[0] == 0xc6) /* 198.x: unreachable */
		return -EHOSTUNREACH;
	return 0;
}

static int fz_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)dst;
	if (af == AF_INET)
		return lvs_addr_parse(AF_INET, "10.0.0.254", src);
	return lvs_addr_parse(AF_INET6, "fd00::fe", src);
}

static void add_svc(int af, int proto, const char *addr, int port, uint32_t fwmark,
		    const char *sched, uint32_t flags, uint32_t timeout)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.proto = (uint8_t)proto;
	c.fwmark = fwmark;
	if (!fwmark) {
		lvs_addr_parse(af, addr, &c.addr);
		c.port = htons((uint16_t)port);
	}
	snprintf(c.sched, sizeof(c.sched), "%s", sched);
	c.flags = flags;
	c.timeout = timeout;
	if (lvs_model_add_service(model, &c)) {
		fprintf(stderr, "fuzz setup: add service %s:%d failed\n", addr, port);
		abort();
	}
}

static void add_dest(int saf, int proto, const char *saddr, int sport, uint32_t fwmark, int af,
		     const char *addr, int port, int fwd, int tun, int weight, uint32_t uth)
{
	struct lvs_svc_conf c;
	struct lvs_svc_key k;
	struct lvs_dest_conf d;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)saf;
	c.proto = (uint8_t)proto;
	c.fwmark = fwmark;
	if (!fwmark) {
		lvs_addr_parse(saf, saddr, &c.addr);
		c.port = htons((uint16_t)sport);
	}
	lvs_svc_conf_key(&c, &k);
	lvs_dest_conf_defaults(&d);
	d.af = (uint8_t)af;
	lvs_addr_parse(af, addr, &d.addr);
	d.port = htons((uint16_t)port);
	d.fwd = (uint8_t)fwd;
	d.weight = weight;
	d.u_threshold = uth;
	if (fwd == LVS_FWD_TUNNEL) {
		d.tun_type = (uint8_t)tun;
		if (tun == LVS_TUN_GUE)
			d.tun_port = htons(6080);
		if (tun != LVS_TUN_IPIP)
			d.tun_flags = LVS_TUN_F_CSUM;
	}
	if (lvs_model_add_dest(model, &k, &d)) {
		fprintf(stderr, "fuzz setup: add dest %s failed\n", addr);
		abort();
	}
}

static void setup(void)
{
	model = lvs_model_new();
	if (!model)
		abort();
	/* NAT TCP, wlc, with a threshold. */
	add_svc(AF_INET, IPPROTO_TCP, "10.0.0.1", 80, 0, "wlc", 0, 0);
	add_dest(AF_INET, IPPROTO_TCP, "10.0.0.1", 80, 0, AF_INET, "192.168.10.1", 8080,
		 LVS_FWD_MASQ, 0, 3, 5);
	add_dest(AF_INET, IPPROTO_TCP, "10.0.0.1", 80, 0, AF_INET, "192.168.10.2", 8080,
		 LVS_FWD_MASQ, 0, 1, 0);
	/* DR UDP, one-packet scheduling, sh. */
	add_svc(AF_INET, IPPROTO_UDP, "10.0.0.1", 53, 0, "sh", LVS_SVC_F_ONEPACKET, 0);
	add_dest(AF_INET, IPPROTO_UDP, "10.0.0.1", 53, 0, AF_INET, "192.168.10.3", 53,
		 LVS_FWD_ROUTE, 0, 1, 0);
	/* TUN, persistent port-zero service, every encapsulation. */
	add_svc(AF_INET, IPPROTO_TCP, "10.0.0.2", 0, 0, "rr", LVS_SVC_F_PERSISTENT, 30);
	add_dest(AF_INET, IPPROTO_TCP, "10.0.0.2", 0, 0, AF_INET, "192.168.20.1", 0,
		 LVS_FWD_TUNNEL, LVS_TUN_IPIP, 1, 0);
	add_dest(AF_INET, IPPROTO_TCP, "10.0.0.2", 0, 0, AF_INET, "192.168.20.2", 0,
		 LVS_FWD_TUNNEL, LVS_TUN_GUE, 1, 0);
	add_dest(AF_INET, IPPROTO_TCP, "10.0.0.2", 0, 0, AF_INET, "192.168.20.3", 0,
		 LVS_FWD_TUNNEL, LVS_TUN_GRE, 1, 0);
	/* IPv6 NAT and IPv6 DR, mh and lblc. */
	add_svc(AF_INET6, IPPROTO_TCP, "fd00::1", 80, 0, "mh", 0, 0);
	add_dest(AF_INET6, IPPROTO_TCP, "fd00::1", 80, 0, AF_INET6, "fd00:10::1", 8080,
		 LVS_FWD_MASQ, 0, 1, 0);
	add_dest(AF_INET6, IPPROTO_TCP, "fd00::1", 80, 0, AF_INET6, "fd00:10::2", 8080,
		 LVS_FWD_MASQ, 0, 2, 0);
	add_svc(AF_INET6, IPPROTO_UDP, "fd00::1", 53, 0, "lblc", 0, 0);
	add_dest(AF_INET6, IPPROTO_UDP, "fd00::1", 53, 0, AF_INET6, "fd00:10::3", 53,
		 LVS_FWD_ROUTE, 0, 1, 0);
	add_dest(AF_INET6, IPPROTO_UDP, "fd00::1", 53, 0, AF_INET6, "fd00:20::3", 53,
		 LVS_FWD_TUNNEL, LVS_TUN_IPIP, 1, 0);
	/* fwmark service, persistent with a /24 netmask. */
	add_svc(AF_INET, 0, NULL, 0, 1, "lc", LVS_SVC_F_PERSISTENT, 60);
	add_dest(AF_INET, 0, NULL, 0, 1, AF_INET, "192.168.10.9", 0, LVS_FWD_ROUTE, 0, 1, 0);

	dir.model = model;
	dir.ct = lvs_conn_table_new(64, 1);
	if (!dir.ct)
		abort();
	dir.env.route = fz_route;
	dir.env.src_addr = fz_src;
	worker.d = &dir;
	worker.frag = lvs_frag_new(&worker.drops, &worker.dropped);
	if (!worker.frag)
		abort();
}

#define FZ_BURST 8

/* Frames the fragment table made ready (held for their first, pieces cut
 * to the MTU): every one sent must be well formed too. */
static void flush_frags(void)
{
	struct lvs_pkt *out[FZ_BURST];
	unsigned ntx;

	while (lvs_director_frag_run(&worker, clock_ns, out, FZ_BURST, &ntx))
		for (unsigned i = 0; i < ntx; i++)
			if (lvs_pkt_parse(out[i]) != LVS_DROP_NONE)
				abort();
}


/* Run the collected frames through the burst path (what lvsd uses); every
 * frame it returns for transmission must itself be well formed. */
static void flush(struct lvs_pkt *pk, unsigned n, uint8_t (*bufs)[LVS_PKT_HEADROOM + 65536 + 256])
{
	struct lvs_pkt *pp[FZ_BURST];
	enum lvs_verdict v[FZ_BURST];
	enum lvs_drop why[FZ_BURST];

	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		pp[i] = &pk[i];
	lvs_director_process_burst(&worker, pp, n, clock_ns, v, why);
	for (unsigned i = 0; i < n; i++) {
		if (v[i] != LVS_V_TX)
			continue;
		if (pk[i].data < bufs[i] || pk[i].data + pk[i].len > bufs[i] + sizeof(bufs[i]))
			abort();
		if (lvs_pkt_parse(&pk[i]) != LVS_DROP_NONE)
			abort();
	}
	flush_frags();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bufs[FZ_BURST][LVS_PKT_HEADROOM + 65536 + 256];
	struct lvs_pkt pk[FZ_BURST];
	unsigned n = 0;

	if (!model)
		setup();
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		uint8_t flags = data[2];
		struct lvs_pkt *p;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* A clock step ends the burst: timers run between bursts. */
		if ((flags & 0x0e) || n == FZ_BURST) {
			flush(pk, n, bufs);
			n = 0;
		}
		if (flags & 0x0e)
			clock_ns += (1ull << ((flags >> 1) & 7)) * LVS_NS_PER_SEC;
		lvs_worker_tick(&worker, clock_ns);
		p = &pk[n];
		memcpy(bufs[n] + LVS_PKT_HEADROOM, data, len);
		lvs_pkt_init(p, bufs[n], sizeof(bufs[n]), LVS_PKT_HEADROOM, (uint32_t)len);
		if (flags & 0x10)
			p->mark = 1;
		if (flags & 0x20)
			p->flags |= LVS_PKT_F_CSUM_UNKNOWN;
		if ((flags & 0x21) == 1 && lvs_pkt_parse(p) == LVS_DROP_NONE && p->pi.l4_off &&
		    p->pi.frag == LVS_FRAG_NONE &&
		    (p->pi.proto == IPPROTO_TCP || p->pi.proto == IPPROTO_UDP)) {
			p->flags |= LVS_PKT_F_CSUM_PARTIAL;
			p->csum_start = p->pi.l4_off;
			p->csum_offset = p->pi.proto == IPPROTO_TCP ? 16 : 6;
		}
		n++;
		data += len;
		size -= len;
	}
	flush(pk, n, bufs);
	return 0;
}
