/*
 * lvs-pcap - replay a capture through the lvsd forwarding core.
 *
 *   lvs-pcap -r RULES -i IN.pcap -o OUT.pcap --mac MAC [--neigh IP=MAC]...
 *            [--gw MAC] [--mtu N] [--src IP]... [--max-conns N] [--csum-partial]
 *
 * RULES is an ipvsadm rules file (as `ipvsadm -S -n` writes it).  Every
 * frame of IN.pcap goes through the same pipeline as in the daemon, in
 * order, with the capture's timestamps as the clock; the frames the
 * director would send are written to OUT.pcap.  Drop counts per reason go to
 * stderr, and a per-server summary of connections and packets to stdout.
 *
 * The environment the daemon would get from rtnetlink is given on the
 * command line: our MAC, the MACs of next hops (--neigh), a default gateway
 * (--gw), the MTU and our source addresses (--src, for tunnels and ICMP
 * errors the director originates).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "director.h"
#include "rules.h"
#include "sched.h"

#define MAX_NEIGH 256
#define BUF_SIZE (LVS_PKT_HEADROOM + 65536 + 512)

struct neigh {
	int af;
	union lvs_addr addr;
	uint8_t mac[LVS_ETH_ALEN];
};

struct env {
	uint8_t mac[LVS_ETH_ALEN];
	bool have_gw;
	uint8_t gw[LVS_ETH_ALEN];
	uint32_t mtu;
	struct neigh neigh[MAX_NEIGH];
	int nneigh;
	bool have_src4, have_src6;
	union lvs_addr src4, src6;
};

static int env_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	struct env *e = ctx;

	memset(nh, 0, sizeof(*nh));
	memcpy(nh->src_mac, e->mac, LVS_ETH_ALEN);
	nh->ifindex = 1;
	nh->mtu = e->mtu;
	for (int i = 0; i < e->nneigh; i++) {
		if (e->neigh[i].af == af && lvs_addr_eq(&e->neigh[i].addr, dst)) {
			memcpy(nh->mac, e->neigh[i].mac, LVS_ETH_ALEN);
			return 0;
		}
	}
	if (e->have_gw) {
		memcpy(nh->mac, e->gw, LVS_ETH_ALEN);
		return 0;
	}
	return -EHOSTUNREACH;
}

static int env_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	struct env *e = ctx;

	(void)dst;
	if (af == AF_INET && e->have_src4) {
		*src = e->src4;
		return 0;
	}
	if (af == AF_INET6 && e->have_src6) {
		*src = e->src6;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

static int parse_mac(const char *s, uint8_t mac[LVS_ETH_ALEN])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
	    6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int parse_ip(const char *s, int *af, union lvs_addr *a)
{
	if (lvs_addr_parse(AF_INET, s, a) == 0) {
		*af = AF_INET;
		return 0;
	}
	if (lvs_addr_parse(AF_INET6, s, a) == 0) {
		*af = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/*
 * A tunnel's outer header needs the director's address of the real
 * server's family; without --src for it every frame to that server would
 * be dropped (next_hop_unresolved), which hides the cause.  Names the
 * first such server on stderr and returns false.
 */
static bool tunnel_sources_given(const struct lvs_snapshot *s, const struct env *e,
				 const char *rules)
{
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct lvs_dest_conf *d = &svc->dests[j]->c;
			char a[INET6_ADDRSTRLEN];

			if (d->fwd != LVS_FWD_TUNNEL)
				continue;
			if ((d->af == AF_INET && e->have_src4) || (d->af == AF_INET6 && e->have_src6))
				continue;
			lvs_addr_str(d->af, &d->addr, a, sizeof(a));
			fprintf(stderr,
				"lvs-pcap: %s: tunnel real server %s%s%s:%u needs --src with the "
				"director's IPv%c address (the outer source)\n",
				rules, d->af == AF_INET6 ? "[" : "", a, d->af == AF_INET6 ? "]" : "",
				ntohs(d->port), d->af == AF_INET6 ? '6' : '4');
			return false;
		}
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lvs-pcap -r RULES -i IN.pcap -o OUT.pcap --mac MAC [options]\n"
		"Replay a capture through the lvsd forwarding core.\n\n"
		"  -r, --rules FILE      ipvsadm rules file (as written by ipvsadm -S -n)\n"
		"  -i, --in FILE         input capture (Ethernet)\n"
		"  -o, --out FILE        frames the director sends\n"
		"      --mac MAC         the director's own MAC address\n"
		"      --neigh IP=MAC    MAC of a real server or other next hop (repeatable)\n"
		"      --gw MAC          next hop for every other destination\n"
		"      --mtu N           egress MTU (default 1500)\n"
		"      --src IP          the director's source address (tunnels, ICMP);\n"
		"                        one per family, repeatable; required for the\n"
		"                        family of every tunnel (-i) real server\n"
		"      --max-conns N     connection table size (default 65536)\n"
		"      --csum-partial    treat TCP/UDP frames as checksum-partial (as a\n"
		"                        local sender on veth hands them over)\n"
		"  -q, --quiet           no per-server summary on stdout\n"
		"  -h, --help            this text\n");
}

static void mark_partial(struct lvs_pkt *p)
{
	/* The L4 checksum field then holds only the pseudo-header sum. */
	struct lvs_pkt_info *pi = &p->pi;
	uint16_t off;

	if (pi->frag != LVS_FRAG_NONE || !pi->l4_off)
		return;
	if (pi->proto == IPPROTO_TCP)
		off = 16;
	else if (pi->proto == IPPROTO_UDP)
		off = 6;
	else
		return;
	p->flags |= LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = pi->l4_off;
	p->csum_offset = off;
}

/*
 * Complete a checksum-partial frame the way a NIC does: sum everything
 * from csum_start to the end of the IP datagram with the field as it is
 * (holding the pseudo-header sum) and store the complement there.  Unlike
 * lvs_pkt_l4_csum_complete this trusts the field, so a transform that
 * left a wrong pseudo-header sum produces a wrong checksum, as on a wire.
 */
static void nic_csum_complete(struct lvs_pkt *p)
{
	uint32_t end = p->pi.l3_off + p->pi.l3_len;
	uint8_t *field = p->data + p->csum_start + p->csum_offset;
	uint16_t c;

	if (end > p->len || p->csum_start + p->csum_offset + 2u > end)
		return;
	c = lvs_csum_finish(lvs_csum_partial(p->data + p->csum_start, end - p->csum_start, 0));
	if (c == 0 && p->pi.proto == IPPROTO_UDP)
		c = 0xffff;
	memcpy(field, &c, 2);
	p->flags &= ~LVS_PKT_F_CSUM_PARTIAL;
}

/* Write a frame the director sent to the output capture. */
static void dump_frame(pcap_dumper_t *pout, const struct pcap_pkthdr *hdr, struct lvs_pkt *p)
{
	struct pcap_pkthdr oh = *hdr;

	/* A NIC completes a checksum-partial frame on transmit. */
	if (p->flags & LVS_PKT_F_CSUM_PARTIAL)
		nic_csum_complete(p);
	oh.caplen = oh.len = p->len;
	pcap_dump((u_char *)pout, &oh, p->data);
}

static void print_summary(const struct lvs_snapshot *s)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		struct lvs_counters c;

		lvs_svc_state_stats(svc->st, &c);
		if (svc->c.fwmark)
			printf("FWM  %u %s conns=%llu inpkts=%llu outpkts=%llu\n", svc->c.fwmark,
			       svc->c.sched, (unsigned long long)c.conns,
			       (unsigned long long)c.inpkts, (unsigned long long)c.outpkts);
		else
			printf("%s  %s%s%s:%u %s conns=%llu inpkts=%llu outpkts=%llu\n",
			       svc->c.proto == IPPROTO_TCP ? "TCP" :
			       svc->c.proto == IPPROTO_UDP ? "UDP" : "SCTP",
			       svc->c.af == AF_INET6 ? "[" : "",
			       lvs_addr_str(svc->c.af, &svc->c.addr, a, sizeof(a)),
			       svc->c.af == AF_INET6 ? "]" : "", ntohs(svc->c.port), svc->c.sched,
			       (unsigned long long)c.conns, (unsigned long long)c.inpkts,
			       (unsigned long long)c.outpkts);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct lvs_dest *d = svc->dests[j];
			lvs_dest_state_stats(d->st, &c);
			printf("  -> %s%s%s:%u weight=%d conns=%llu inpkts=%llu outpkts=%llu\n",
			       d->c.af == AF_INET6 ? "[" : "",
			       lvs_addr_str(d->c.af, &d->c.addr, b, sizeof(b)),
			       d->c.af == AF_INET6 ? "]" : "", ntohs(d->c.port), d->c.weight,
			       (unsigned long long)c.conns, (unsigned long long)c.inpkts,
			       (unsigned long long)c.outpkts);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "mac", required_argument, NULL, 'M' },
		{ "neigh", required_argument, NULL, 'N' },
		{ "gw", required_argument, NULL, 'G' },
		{ "mtu", required_argument, NULL, 'U' },
		{ "src", required_argument, NULL, 'S' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "csum-partial", no_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[BUF_SIZE];
	static struct env env;
	const char *rules = NULL, *in = NULL, *out = NULL;
	bool have_mac = false, partial = false, quiet = false;
	unsigned long max_conns = 65536;
	char errbuf[PCAP_ERRBUF_SIZE > 512 ? PCAP_ERRBUF_SIZE : 512];
	struct lvs_director dir;
	struct lvs_worker w = { 0 };
	struct lvs_model *m = NULL;
	struct lvs_conn_table *ct = NULL;
	pcap_t *pin = NULL, *pdead = NULL;
	pcap_dumper_t *pout = NULL;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	FILE *rf = NULL;
	int opt, rc = 1, res;
	char *end;

	env.mtu = 1500;
	while ((opt = getopt_long(argc, argv, "r:i:o:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			rules = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'M':
			if (parse_mac(optarg, env.mac)) {
				fprintf(stderr, "lvs-pcap: bad --mac '%s'\n", optarg);
				return 2;
			}
			have_mac = true;
			break;
		case 'N': {
			char *eq = strchr(optarg, '=');
			struct neigh *n = &env.neigh[env.nneigh];
			if (env.nneigh == MAX_NEIGH) {
				fprintf(stderr, "lvs-pcap: too many --neigh (max %d)\n", MAX_NEIGH);
				return 2;
			}
			if (!eq) {
				fprintf(stderr, "lvs-pcap: bad --neigh '%s' (want IP=MAC)\n", optarg);
				return 2;
			}
			*eq = 0;
			if (parse_ip(optarg, &n->af, &n->addr) || parse_mac(eq + 1, n->mac)) {
				fprintf(stderr, "lvs-pcap: bad --neigh '%s=%s'\n", optarg, eq + 1);
				return 2;
			}
			env.nneigh++;
			break;
		}
		case 'G':
			if (parse_mac(optarg, env.gw)) {
				fprintf(stderr, "lvs-pcap: bad --gw '%s'\n", optarg);
				return 2;
			}
			env.have_gw = true;
			break;
		case 'U':
			env.mtu = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || env.mtu < 68 || env.mtu > 65535) {
				fprintf(stderr, "lvs-pcap: bad --mtu '%s' (68..65535)\n", optarg);
				return 2;
			}
			break;
		case 'S': {
			int af;
			union lvs_addr a;
			if (parse_ip(optarg, &af, &a)) {
				fprintf(stderr, "lvs-pcap: bad --src '%s'\n", optarg);
				return 2;
			}
			if (af == AF_INET) {
				env.src4 = a;
				env.have_src4 = true;
			} else {
				env.src6 = a;
				env.have_src6 = true;
			}
			break;
		}
		case 'C':
			max_conns = strtoul(optarg, &end, 10);
			if (*end || max_conns < 1 || max_conns > (1ul << 30)) {
				fprintf(stderr, "lvs-pcap: bad --max-conns '%s'\n", optarg);
				return 2;
			}
			break;
		case 'P':
			partial = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!rules || !in || !out || !have_mac || optind != argc) {
		usage(stderr);
		return 2;
	}

	m = lvs_model_new();
	if (!m) {
		fprintf(stderr, "lvs-pcap: out of memory\n");
		goto out;
	}
	rf = fopen(rules, "r");
	if (!rf) {
		fprintf(stderr, "lvs-pcap: %s: %s\n", rules, strerror(errno));
		goto out;
	}
	res = lvs_rules_load(m, rf, rules, errbuf, sizeof(errbuf));
	if (res) {
		fprintf(stderr, "lvs-pcap: %s\n", errbuf);
		rc = res;
		goto out;
	}
	if (!tunnel_sources_given(lvs_model_snapshot(m), &env, rules)) {
		rc = 2;
		goto out;
	}
	pin = pcap_open_offline(in, errbuf);
	if (!pin) {
		fprintf(stderr, "lvs-pcap: %s: %s\n", in, errbuf);
		goto out;
	}
	if (pcap_datalink(pin) != DLT_EN10MB) {
		fprintf(stderr, "lvs-pcap: %s: link type %s, need Ethernet (EN10MB)\n", in,
			pcap_datalink_val_to_name(pcap_datalink(pin)));
		goto out;
	}
	pdead = pcap_open_dead(DLT_EN10MB, 65535 + 512);
	pout = pdead ? pcap_dump_open(pdead, out) : NULL;
	if (!pout) {
		fprintf(stderr, "lvs-pcap: %s: %s\n", out, pdead ? pcap_geterr(pdead) : "error");
		goto out;
	}

	memset(&dir, 0, sizeof(dir));
	dir.model = m;
	ct = lvs_conn_table_new((uint32_t)max_conns, 1);
	dir.ct = ct;
	if (!ct) {
		fprintf(stderr, "lvs-pcap: cannot allocate %lu connections\n", max_conns);
		goto out;
	}
	dir.env.ctx = &env;
	dir.env.route = env_route;
	dir.env.src_addr = env_src;
	memset(&w, 0, sizeof(w));
	w.d = &dir;
	w.frag = lvs_frag_new(&w.drops, &w.dropped);
	if (!w.frag) {
		fprintf(stderr, "lvs-pcap: cannot allocate the fragment table\n");
		goto out;
	}

	while ((res = pcap_next_ex(pin, &hdr, &data)) == 1) {
		lvs_time_t now = (lvs_time_t)hdr->ts.tv_sec * LVS_NS_PER_SEC +
				 (lvs_time_t)hdr->ts.tv_usec * 1000;
		struct lvs_pkt p;
		enum lvs_drop why;
		enum lvs_verdict v;
		uint32_t len = hdr->caplen;

		if (len > BUF_SIZE - LVS_PKT_HEADROOM - 512)
			len = BUF_SIZE - LVS_PKT_HEADROOM - 512;
		memcpy(buf + LVS_PKT_HEADROOM, data, len);
		lvs_pkt_init(&p, buf, BUF_SIZE, LVS_PKT_HEADROOM, len);
		lvs_worker_tick(&w, now);
		if (partial && lvs_pkt_parse(&p) == LVS_DROP_NONE)
			mark_partial(&p);
		v = lvs_director_process(&w, &p, now, &why);
		if (v == LVS_V_TX)
			dump_frame(pout, hdr, &p);
		/* fragments held for this one, pieces of it cut to the MTU */
		struct lvs_pkt *fo[LVS_DIRECTOR_BURST];
		unsigned nfo;
		while (lvs_director_frag_run(&w, now, fo, LVS_DIRECTOR_BURST, &nfo))
			for (unsigned k = 0; k < nfo; k++)
				dump_frame(pout, hdr, fo[k]);
	}
	if (res == -1) {
		fprintf(stderr, "lvs-pcap: %s: %s\n", in, pcap_geterr(pin));
		goto out;
	}
	fprintf(stderr, "lvs-pcap: rx %llu tx %llu pass %llu drop %llu conns %u\n",
		(unsigned long long)w.rx, (unsigned long long)w.tx, (unsigned long long)w.pass,
		(unsigned long long)w.dropped, lvs_conn_table_count(dir.ct));
	for (int r = 1; r < LVS_DROP__COUNT; r++)
		if (w.drops.n[r])
			fprintf(stderr, "lvs-pcap: drop %s %llu\n", lvs_drop_name(r),
				(unsigned long long)w.drops.n[r]);
	if (!quiet)
		print_summary(lvs_model_snapshot(m));
	rc = 0;
out:
	if (pout)
		pcap_dump_close(pout);
	if (pdead)
		pcap_close(pdead);
	if (pin)
		pcap_close(pin);
	if (rf)
		fclose(rf);
	lvs_frag_free(w.frag);
	lvs_conn_table_free(ct);
	lvs_model_free(m);
	return rc;
}
