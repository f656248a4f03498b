/*
 * vip.c - VIP ownership: ARP / neighbour discovery answers, takeover
 * announcements, and the host guard (see vip.h).
 *
 * The host guard.  lvsd reads frames with AF_PACKET, which sees a frame
 * before the nftables netdev ingress hook, so a drop there keeps a frame
 * from the host's IP stack while lvsd still handles it.  On each served
 * interface IF, lvsd installs table `netdev lvsd_IF` (non-alphanumerics of
 * the name become '_'), hooked at ingress priority -500, which drops:
 *
 *   1. ARP requests for an owned VIP (lvsd answers them);
 *   2. every IPv4 / IPv6 packet to an owned VIP (an owned VIP is a service
 *      address that is not one of the host's addresses): the host would
 *      otherwise answer it (RST, ICMP unreachable), or forward it when
 *      ip_forward=1;
 *   3. neighbour solicitations whose target is an owned IPv6 VIP;
 *   4. for a shared VIP (also a host address), only the services' packets:
 *      daddr . protocol . dport of each service (daddr . protocol for a
 *      port-0 persistent service), so the host keeps its other ports;
 *   5. NAT (masquerading) replies: packets from a NAT real server's
 *      address . protocol . port (any port for a port-0 service) and ICMP
 *      errors from a NAT real server, when not addressed to one of the
 *      host's own addresses (`fib daddr type != local`): the host would
 *      otherwise forward the un-rewritten reply to the client itself
 *      (ip_forward=1) - the client then answers with a RST - while lvsd
 *      forwards the rewritten copy.  Traffic between a real server and the
 *      director's own addresses (health checks, management) is untouched.
 *
 * Every rule counts (nft list table netdev lvsd_IF).  The table is written
 * whole in one `nft -f -` transaction when the VIPs or NAT destinations
 * change, and deleted when lvsd stops.  Firewall-mark services have no
 * address and are not guarded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "csum.h"
#include "log.h"
#include "vip.h"
#include "xdp_filter.h"

#define ANNOUNCE_COUNT 3
#define ANNOUNCE_GAP_NS (1 * LVS_NS_PER_SEC)
#define NFT_OUT_MAX (16u << 20) /* what we read of nft's output */

extern char **environ;

struct vip_entry {
	uint8_t af;
	bool owned; /* not one of the host's addresses */
	union lvs_addr a;
};

struct vip_set {
	struct rcu_head rcu;
	uint32_t n;
	struct vip_entry e[]; /* sorted by (af, address) */
};

/* One guarded port: service (daddr side) or NAT real server (saddr side). */
struct guard_key {
	uint8_t af, proto;
	uint16_t port; /* network order; 0: any */
	union lvs_addr a;
};

struct announce {
	uint8_t af;
	union lvs_addr a;
	unsigned left;
	lvs_time_t next;
};

struct served {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	char table[IF_NAMESIZE + 8];
	bool was_up, gone;
	char *applied; /* guard text last applied */
};

struct lvs_vips {
	struct vip_set *set; /* RCU */
	struct lvs_netstate *ns;
	struct served *ifs;
	unsigned nif;
	bool guard;
	int txfd; /* announcements, multicast memberships */
	struct announce *ann;
	unsigned nann, capann;
	uint64_t arp_replies, na_replies, echo_replies;
	unsigned nfwmark; /* firewall-mark services (warned about) */
	lvs_vips_filter_fn filter; /* driver-side selection of director traffic */
	void *filter_arg;
};

/* ---- the VIP set ---- */

static int cmp_vip(const void *x, const void *y)
{
	const struct vip_entry *a = x, *b = y;

	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->a.b, b->a.b, 16);
}

static const struct vip_entry *vip_find(const struct vip_set *s, int af, const union lvs_addr *a)
{
	uint32_t lo = 0, hi = s ? s->n : 0;
	struct vip_entry k = { .af = (uint8_t)af, .a = *a };

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = cmp_vip(&k, &s->e[mid]);
		if (c == 0)
			return &s->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void set_free_cb(struct rcu_head *h)
{
	free(caa_container_of(h, struct vip_set, rcu));
}

/* ---- frames ---- */

static void solicited_node_mac(const union lvs_addr *a, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	mac[2] = 0xff;
	mac[3] = a->b[13];
	mac[4] = a->b[14];
	mac[5] = a->b[15];
}

static void send_frame(struct lvs_vips *v, uint32_t ifindex, const uint8_t *f, size_t len)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)ifindex;
	memcpy(&sll.sll_protocol, f + 12, 2);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, f, ETH_ALEN);
	if (sendto(v->txfd, f, len, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		lvs_debug("vip: announcement on ifindex %u: %s", ifindex, strerror(errno));
}

/* ARP announcement (RFC 5227 2.3): a request with sender = target = VIP. */
static size_t build_garp(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a)
{
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[14] = 0x00; f[15] = 0x01; /* Ethernet */
	f[16] = 0x08; f[17] = 0x00; /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	f[20] = 0x00; f[21] = 0x01; /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, &a->ip4, 4);
	memcpy(f + 38, &a->ip4, 4);
	return 60; /* padded to the Ethernet minimum */
}

/* Neighbour advertisement from target tgt with its link-layer address. */
static void build_na(uint8_t *ip, const union lvs_addr *tgt, const union lvs_addr *dst,
		     const uint8_t mac[6], bool solicited)
{
	uint8_t *ic = ip + 40;
	union lvs_addr src = *tgt;
	uint16_t c;

	memset(ip, 0, 40 + 32);
	ip[0] = 0x60;
	ip[5] = 32; /* payload length */
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 255; /* RFC 4861 7.1.2: hop limit 255 */
	memcpy(ip + 8, src.b, 16);
	memcpy(ip + 24, dst->b, 16);
	ic[0] = 136;
	ic[4] = (uint8_t)((solicited ? 0x40 : 0) | 0x20); /* S, O */
	memcpy(ic + 8, tgt->b, 16);
	ic[24] = 2; /* target link-layer address */
	ic[25] = 1;
	memcpy(ic + 26, mac, 6);
	c = lvs_csum_finish(lvs_csum_partial(ic, 32, lvs_csum_pseudo6(&src, dst, IPPROTO_ICMPV6, 32)));
	memcpy(ic + 2, &c, 2);
}

static size_t build_una(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a)
{
	union lvs_addr all;

	memset(&all, 0, sizeof(all));
	all.b[0] = 0xff;
	all.b[1] = 0x02;
	all.b[15] = 1;
	f[0] = 0x33; f[1] = 0x33; f[2] = 0; f[3] = 0; f[4] = 0; f[5] = 1;
	memcpy(f + 6, mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	build_na(f + 14, a, &all, mac, false);
	return 14 + 40 + 32;
}

static void announce_now(struct lvs_vips *v, const struct announce *an)
{
	uint8_t f[128];

	for (unsigned i = 0; i < v->nif; i++) {
		struct lvs_link_info li;
		size_t len;

		if (lvs_netstate_link(v->ns, v->ifs[i].ifindex, &li) || !(li.flags & IFF_UP))
			continue;
		len = an->af == AF_INET ? build_garp(f, li.mac, &an->a) : build_una(f, li.mac, &an->a);
		send_frame(v, li.ifindex, f, len);
	}
}

static void announce_add(struct lvs_vips *v, uint8_t af, const union lvs_addr *a, lvs_time_t now)
{
	struct announce *an = NULL;

	for (unsigned i = 0; i < v->nann; i++)
		if (v->ann[i].af == af && lvs_addr_eq(&v->ann[i].a, a))
			an = &v->ann[i];
	if (!an) {
		if (v->nann == v->capann) {
			unsigned nc = v->capann ? v->capann * 2 : 16;
			struct announce *na = realloc(v->ann, nc * sizeof(*na));
			if (!na)
				return;
			v->ann = na;
			v->capann = nc;
		}
		an = &v->ann[v->nann++];
	}
	an->af = af;
	an->a = *a;
	an->left = ANNOUNCE_COUNT;
	an->next = now;
}

static lvs_time_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

void lvs_vips_tick(struct lvs_vips *v, lvs_time_t now)
{
	for (unsigned i = 0; i < v->nann;) {
		struct announce *an = &v->ann[i];
		if (an->next <= now) {
			announce_now(v, an);
			an->next = now + ANNOUNCE_GAP_NS;
			if (--an->left == 0) {
				*an = v->ann[--v->nann];
				continue;
			}
		}
		i++;
	}
}

static void mcast(struct lvs_vips *v, const union lvs_addr *a, bool join)
{
	for (unsigned i = 0; i < v->nif; i++) {
		struct packet_mreq mr;

		memset(&mr, 0, sizeof(mr));
		mr.mr_ifindex = (int)v->ifs[i].ifindex;
		mr.mr_type = PACKET_MR_MULTICAST;
		mr.mr_alen = ETH_ALEN;
		solicited_node_mac(a, mr.mr_address);
		if (setsockopt(v->txfd, SOL_PACKET, join ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
			       &mr, sizeof(mr)) < 0)
			lvs_debug("vip: multicast %s on %s: %s", join ? "join" : "leave", v->ifs[i].name,
				  strerror(errno));
	}
}

/* ---- the guard ---- */

/*
 * Run `nft -f -` with script on stdin.  0, or -EIO (nft's message logged).
 * out (may be NULL): what nft printed, NUL-terminated, for the caller to
 * free; kept only on success.
 */
static int nft_exec(const char *script, char **out)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "nft", "-f", "-", NULL };
	int in[2] = { -1, -1 }, er[2] = { -1, -1 }, status = 0, err = 0;
	size_t ml = 0, cap = 0, left = strlen(script);
	char *msg = NULL;
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(in, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, er[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	err = -posix_spawnp(&pid, "nft", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(er[1]);
	in[0] = er[1] = -1;
	if (err) {
		lvs_err("guard: cannot run nft: %s", strerror(-err));
		goto out;
	}
	/* nft reads the whole script before it runs it and writes anything */
	while (left) {
		ssize_t w = write(in[1], script, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		script += w;
		left -= (size_t)w;
	}
	close(in[1]);
	in[1] = -1;
	for (;;) {
		ssize_t r;

		if (cap - ml < 4096 && cap < NFT_OUT_MAX) {
			char *n = realloc(msg, cap + 65536);
			if (!n)
				break;
			msg = n;
			cap += 65536;
		}
		if (cap - ml <= 1)
			break;
		r = read(er[0], msg + ml, cap - 1 - ml);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ml += (size_t)r;
	}
	if (msg)
		msg[ml] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		lvs_err("guard: nft failed: %s", ml ? msg : "(no message)");
		err = -EIO;
	} else if (out) {
		*out = msg;
		msg = NULL;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (er[i] >= 0)
			close(er[i]);
	}
	free(msg);
	return err;
}

static int nft_run(const char *script)
{
	return nft_exec(script, NULL);
}

static void put_addr(FILE *f, int af, const union lvs_addr *a)
{
	char b[INET6_ADDRSTRLEN];

	fputs(lvs_addr_str(af, a, b, sizeof(b)), f);
}

/* Write `set NAME { type T; elements = { ... } }` for keys of family af
 * (with ports: with_port 1 = only keys with a port, 0 = only port-0 keys
 * addressed as addr . proto, -1 = address only). */
static void put_set(FILE *f, const char *name, const char *type, const struct guard_key *k,
		    unsigned n, int af, int with_port)
{
	bool first = true;

	fprintf(f, "\tset %s { type %s;", name, type);
	for (unsigned i = 0; i < n; i++) {
		if (k[i].af != af)
			continue;
		if (with_port == 1 && !k[i].port)
			continue;
		if (with_port == 0 && k[i].port)
			continue;
		fputs(first ? " elements = { " : ", ", f);
		first = false;
		put_addr(f, af, &k[i].a);
		if (with_port >= 0)
			fprintf(f, " . %u", k[i].proto);
		if (with_port == 1)
			fprintf(f, " . %u", ntohs(k[i].port));
	}
	fputs(first ? " }\n" : " } }\n", f);
}

static void put_vip_set(FILE *f, const char *name, const char *type, const struct vip_set *s,
			int af)
{
	bool first = true;

	fprintf(f, "\tset %s { type %s;", name, type);
	for (uint32_t i = 0; s && i < s->n; i++) {
		if (s->e[i].af != af || !s->e[i].owned)
			continue;
		fputs(first ? " elements = { " : ", ", f);
		first = false;
		put_addr(f, af, &s->e[i].a);
	}
	fputs(first ? " }\n" : " } }\n", f);
}

/* The table for one interface (see the top of this file). */
static char *guard_text(const struct served *ifc, const struct vip_set *s,
			const struct guard_key *svc, unsigned nsvc, const struct guard_key *nat,
			unsigned nnat)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "table netdev %s {\n", ifc->table);
	put_vip_set(f, "vip4", "ipv4_addr", s, AF_INET);
	put_vip_set(f, "vip6", "ipv6_addr", s, AF_INET6);
	put_set(f, "svc4", "ipv4_addr . inet_proto . inet_service", svc, nsvc, AF_INET, 1);
	put_set(f, "svc6", "ipv6_addr . inet_proto . inet_service", svc, nsvc, AF_INET6, 1);
	put_set(f, "svcany4", "ipv4_addr . inet_proto", svc, nsvc, AF_INET, 0);
	put_set(f, "svcany6", "ipv6_addr . inet_proto", svc, nsvc, AF_INET6, 0);
	put_set(f, "nat4", "ipv4_addr . inet_proto . inet_service", nat, nnat, AF_INET, 1);
	put_set(f, "nat6", "ipv6_addr . inet_proto . inet_service", nat, nnat, AF_INET6, 1);
	put_set(f, "natany4", "ipv4_addr . inet_proto", nat, nnat, AF_INET, 0);
	put_set(f, "natany6", "ipv6_addr . inet_proto", nat, nnat, AF_INET6, 0);
	put_set(f, "natrs4", "ipv4_addr", nat, nnat, AF_INET, -1);
	put_set(f, "natrs6", "ipv6_addr", nat, nnat, AF_INET6, -1);
	fprintf(f, "\tchain ingress {\n"
		   "\t\ttype filter hook ingress device \"%s\" priority -500; policy accept;\n",
		ifc->name);
	fputs("\t\tarp operation request arp daddr ip @vip4 counter drop\n"
	      "\t\tip daddr @vip4 counter drop\n"
	      "\t\tip6 daddr @vip6 counter drop\n",
	      f);
	for (uint32_t i = 0; s && i < s->n; i++) {
		if (s->e[i].af != AF_INET6 || !s->e[i].owned)
			continue;
		fputs("\t\ticmpv6 type nd-neighbor-solicit @th,64,128 0x", f);
		for (int b = 0; b < 16; b++)
			fprintf(f, "%02x", s->e[i].a.b[b]);
		fputs(" counter drop\n", f);
	}
	fputs("\t\tip daddr . meta l4proto . th dport @svc4 counter drop\n"
	      "\t\tip6 daddr . meta l4proto . th dport @svc6 counter drop\n"
	      "\t\tip daddr . meta l4proto @svcany4 counter drop\n"
	      "\t\tip6 daddr . meta l4proto @svcany6 counter drop\n"
	      "\t\tip saddr . meta l4proto . th sport @nat4 fib daddr type != local counter drop\n"
	      "\t\tip6 saddr . meta l4proto . th sport @nat6 fib daddr type != local counter drop\n"
	      "\t\tip saddr . meta l4proto @natany4 fib daddr type != local counter drop\n"
	      "\t\tip6 saddr . meta l4proto @natany6 fib daddr type != local counter drop\n"
	      "\t\tip saddr @natrs4 icmp type { destination-unreachable, time-exceeded, "
	      "parameter-problem } fib daddr type != local counter drop\n"
	      "\t\tip6 saddr @natrs6 icmpv6 type { destination-unreachable, packet-too-big, "
	      "time-exceeded, parameter-problem } fib daddr type != local counter drop\n"
	      "\t}\n}\n",
	      f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Replace the tables whose text changed, in one transaction. */
static int guard_apply(struct lvs_vips *v, const struct vip_set *s, const struct guard_key *svc,
		       unsigned nsvc, const struct guard_key *nat, unsigned nnat)
{
	char *texts[v->nif > 0 ? v->nif : 1];
	char *script = NULL;
	size_t slen = 0;
	FILE *f;
	bool any = false;
	int err = -ENOMEM;

	memset(texts, 0, sizeof(texts));
	f = open_memstream(&script, &slen);
	if (!f)
		return -ENOMEM;
	for (unsigned i = 0; i < v->nif; i++) {
		texts[i] = guard_text(&v->ifs[i], s, svc, nsvc, nat, nnat);
		if (!texts[i])
			goto out;
		if (v->ifs[i].applied && !strcmp(v->ifs[i].applied, texts[i]))
			continue;
		/* declaring the table first makes the delete valid either way */
		fprintf(f, "table netdev %s {}\ndelete table netdev %s\n%s", v->ifs[i].table,
			v->ifs[i].table, texts[i]);
		any = true;
	}
	if (fclose(f)) {
		f = NULL;
		goto out;
	}
	f = NULL;
	err = any ? nft_run(script) : 0;
	if (!err) {
		for (unsigned i = 0; i < v->nif; i++) {
			if (v->ifs[i].applied && !strcmp(v->ifs[i].applied, texts[i]))
				continue;
			free(v->ifs[i].applied);
			v->ifs[i].applied = texts[i];
			texts[i] = NULL;
		}
		if (any)
			lvs_debug("guard: tables updated");
	}
out:
	if (f)
		fclose(f);
	for (unsigned i = 0; i < v->nif; i++)
		free(texts[i]);
	free(script);
	return err;
}

static void guard_remove(struct lvs_vips *v)
{
	char *script = NULL;
	size_t slen = 0;
	FILE *f = open_memstream(&script, &slen);
	bool any = false;

	if (!f)
		return;
	for (unsigned i = 0; i < v->nif; i++) {
		if (!v->ifs[i].applied)
			continue;
		fprintf(f, "table netdev %s {}\ndelete table netdev %s\n", v->ifs[i].table,
			v->ifs[i].table);
		any = true;
	}
	if (fclose(f) == 0 && any && nft_run(script) == 0)
		lvs_info("guard: tables removed");
	free(script);
}

/* ---- control thread ---- */

struct lvs_vips *lvs_vips_new(struct lvs_netstate *ns, const uint32_t *ifindex, unsigned nif,
			      bool guard)
{
	struct lvs_vips *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->ns = ns;
	v->guard = guard;
	v->txfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	v->ifs = calloc(nif ? nif : 1, sizeof(*v->ifs));
	v->set = calloc(1, sizeof(struct vip_set));
	if (v->txfd < 0 || !v->ifs || !v->set) {
		lvs_err("vip: %s", v->txfd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	v->nif = nif;
	for (unsigned i = 0; i < nif; i++) {
		struct served *s = &v->ifs[i];
		struct lvs_link_info li;

		s->ifindex = ifindex[i];
		if (lvs_netstate_link(ns, ifindex[i], &li)) {
			lvs_err("vip: no interface with index %u", ifindex[i]);
			goto fail;
		}
		snprintf(s->name, sizeof(s->name), "%s", li.name);
		snprintf(s->table, sizeof(s->table), "lvsd_%s", li.name);
		for (char *c = s->table; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_'))
				*c = '_';
		s->was_up = li.flags & IFF_UP;
	}
	if (guard && guard_apply(v, v->set, NULL, 0, NULL, 0)) {
		lvs_err("vip: cannot install the host guard (nftables netdev tables)");
		goto fail;
	}
	return v;
fail:
	lvs_vips_free(v);
	return NULL;
}

void lvs_vips_free(struct lvs_vips *v)
{
	if (!v)
		return;
	if (v->guard && v->ifs)
		guard_remove(v);
	if (v->txfd >= 0)
		close(v->txfd); /* leaves the multicast groups */
	for (unsigned i = 0; v->ifs && i < v->nif; i++)
		free(v->ifs[i].applied);
	free(v->ifs);
	free(v->set); /* workers are gone */
	free(v->ann);
	free(v);
}

static int cmp_key(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct guard_key));
}

/* Sort and drop duplicates (keys are memset before filling: memcmp-able). */
static void uniq_keys(struct guard_key *k, unsigned *n)
{
	unsigned w = 0;

	if (!*n)
		return;
	qsort(k, *n, sizeof(*k), cmp_key);
	for (unsigned i = 1; i < *n; i++)
		if (cmp_key(&k[w], &k[i]))
			k[++w] = k[i];
	*n = w + 1;
}

/* Append the key af . proto . port (network order, 0: any) . a. */
static int add_key(struct guard_key **k, unsigned *n, unsigned *cap, uint8_t af, uint8_t proto,
		   uint16_t port, const union lvs_addr *a)
{
	struct guard_key *nk;

	if (*n == *cap) {
		unsigned nc = *cap ? *cap * 2 : 32;
		struct guard_key *x = realloc(*k, nc * sizeof(*x));
		if (!x)
			return -ENOMEM;
		*k = x;
		*cap = nc;
	}
	nk = &(*k)[(*n)++];
	/* zeroed first: keys are compared with memcmp */
	memset(nk, 0, sizeof(*nk));
	nk->af = af;
	nk->proto = proto;
	nk->port = port;
	nk->a = *a;
	return 0;
}

/* ---- the driver filter (xdp_filter.h): the guard's sets as map keys ---- */

static void xkey(struct lvs_xdp_key *k, uint8_t kind4, uint8_t af, uint8_t proto, uint16_t port,
		 const union lvs_addr *a)
{
	memset(k, 0, sizeof(*k));
	k->kind = kind4 + (af == AF_INET6);
	k->proto = proto;
	k->port = port;
	if (af == AF_INET6)
		memcpy(k->addr, a->b, 16);
	else
		memcpy(k->addr, &a->ip4, 4);
}

static int filter_apply(struct lvs_vips *v, const struct vip_set *s, const struct guard_key *svc,
			unsigned nsvc, const struct guard_key *nat, unsigned nnat)
{
	unsigned nloc = lvs_netstate_local_addrs(v->ns, NULL, NULL, 0), n = 0, cap, got;
	uint8_t *laf = NULL;
	union lvs_addr *la = NULL;
	struct lvs_xdp_key *k;
	int err = -ENOMEM;

	/* room for a few addresses more, should one appear meanwhile */
	nloc += 16;
	cap = s->n + nsvc + 2 * nnat + nloc;
	k = calloc(cap ? cap : 1, sizeof(*k));
	laf = calloc(nloc, 1);
	la = calloc(nloc, sizeof(*la));
	if (!k || !laf || !la)
		goto out;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->e[i].owned)
			xkey(&k[n++], LVS_XDPK_VIP4, s->e[i].af, 0, 0, &s->e[i].a);
	for (unsigned i = 0; i < nsvc; i++)
		xkey(&k[n++], LVS_XDPK_SVC4, svc[i].af, svc[i].proto, svc[i].port, &svc[i].a);
	for (unsigned i = 0; i < nnat; i++) {
		xkey(&k[n++], LVS_XDPK_NAT4, nat[i].af, nat[i].proto, nat[i].port, &nat[i].a);
		/* the address alone (a repeated key is written twice: harmless) */
		xkey(&k[n++], LVS_XDPK_NATRS4, nat[i].af, 0, 0, &nat[i].a);
	}
	got = lvs_netstate_local_addrs(v->ns, laf, la, nloc);
	if (got < nloc)
		nloc = got;
	for (unsigned i = 0; i < nloc; i++)
		xkey(&k[n++], LVS_XDPK_LOCAL4, laf[i], 0, 0, &la[i]);
	err = v->filter(v->filter_arg, k, n);
out:
	free(k);
	free(laf);
	free(la);
	return err;
}

void lvs_vips_set_filter(struct lvs_vips *v, lvs_vips_filter_fn fn, void *arg)
{
	v->filter = fn;
	v->filter_arg = arg;
}

void lvs_vips_guard_status(struct lvs_vips *v, FILE *f)
{
	if (!v->guard) {
		fputs("Host guard: off (--no-guard)\n", f);
		return;
	}
	fputs("Host guard (frames kept from the host's stack):", f);
	for (unsigned i = 0; i < v->nif; i++) {
		char script[64 + IF_NAMESIZE + 8], *text = NULL;
		unsigned long long sum = 0, n;

		snprintf(script, sizeof(script), "list table netdev %s\n", v->ifs[i].table);
		if (nft_exec(script, &text) || !text) {
			fprintf(f, " %s ?", v->ifs[i].name);
			continue;
		}
		/* every rule of the table counts: "counter packets N bytes M" */
		for (const char *c = text; (c = strstr(c, "counter packets ")); c++)
			if (sscanf(c, "counter packets %llu", &n) == 1)
				sum += n;
		fprintf(f, " %s %llu", v->ifs[i].name, sum);
		free(text);
	}
	fputc('\n', f);
}

/* Build the VIP set and the guard from snapshot s. */
struct trash_keys {
	struct guard_key **svc, **nat;
	unsigned *nsvc, *csvc, *nnat, *cnat;
	int err;
};

/* A trash destination's keys: its NAT replies, and its service's packets
 * when the service itself is gone. */
static void trash_key(void *arg, const struct lvs_dest_state *ds)
{
	struct trash_keys *t = arg;
	const struct lvs_svc_state *ss = ds->svc;

	if (!ss || ss->key.fwmark || t->err)
		return;
	if (lvs_xmit_fwd(ds->xmit) == LVS_FWD_MASQ) {
		t->err = add_key(t->nat, t->nnat, t->cnat, ds->af, ss->key.proto,
				 ss->key.port ? ds->port : 0, &ds->addr);
	}
	if (!ss->in_config && !t->err) {
		t->err = add_key(t->svc, t->nsvc, t->csvc, ss->key.af, ss->key.proto, ss->key.port,
				 &ss->key.addr);
	}
}

static int vips_rebuild(struct lvs_vips *v, const struct lvs_snapshot *s,
			const struct lvs_model *m)
{
	struct guard_key *svc = NULL, *nat = NULL;
	unsigned nsvc = 0, csvc = 0, nnat = 0, cnat = 0, n = 0, nfwm = 0;
	struct vip_set *ns = NULL, *old = v->set;
	lvs_time_t now = mono_ns();
	int err = -ENOMEM;

	ns = calloc(1, sizeof(*ns) + s->nsvcs * sizeof(struct vip_entry));
	if (!ns)
		goto out;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *sv = s->svcs[i];
		if (sv->c.fwmark) {
			nfwm++;
			continue;
		}
		ns->e[n].af = sv->c.af;
		ns->e[n].a = sv->c.addr;
		n++;
	}
	qsort(ns->e, n, sizeof(ns->e[0]), cmp_vip);
	ns->n = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (ns->n && !cmp_vip(&ns->e[ns->n - 1], &ns->e[i]))
			continue;
		ns->e[ns->n] = ns->e[i];
		ns->e[ns->n].owned = !lvs_netstate_is_local(v->ns, ns->e[i].af, &ns->e[i].a);
		ns->n++;
	}

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *sv = s->svcs[i];
		const struct vip_entry *e;

		if (sv->c.fwmark)
			continue;
		e = vip_find(ns, sv->c.af, &sv->c.addr);
		if (e && !e->owned) {
			if (add_key(&svc, &nsvc, &csvc, sv->c.af, sv->c.proto, sv->c.port,
				    &sv->c.addr))
				goto out;
		}
		for (uint32_t j = 0; j < sv->ndests; j++) {
			const struct lvs_dest *d = sv->dests[j];
			if (d->c.fwd != LVS_FWD_MASQ)
				continue;
			if (add_key(&nat, &nnat, &cnat, d->c.af, sv->c.proto,
				    sv->c.port ? d->c.port : 0, &d->c.addr))
				goto out;
		}
		/* resolve the servers now: a connection's first packet should not
		 * wait for (or be dropped by) ARP */
		for (uint32_t j = 0; j < sv->ndests; j++)
			lvs_netstate_prime(v->ns, sv->dests[j]->c.af, &sv->dests[j]->c.addr);
	}

	/* Firewall marks are set in the IP layer (mangle PREROUTING), after
	 * every tap lvsd reads from: such services get no packets. */
	if (nfwm > v->nfwmark)
		lvs_warn("vip: %u firewall-mark service%s configured: lvsd does not see "
			 "firewall marks, so they receive no traffic",
			 nfwm, nfwm > 1 ? "s" : "");
	v->nfwmark = nfwm;
	if (m) {
		struct trash_keys t = { &svc, &nat, &nsvc, &csvc, &nnat, &cnat, 0 };
		lvs_model_trash(m, trash_key, &t);
		if (t.err)
			goto out;
	}

	/* announce and listen for the VIPs lvsd takes over */
	for (uint32_t i = 0; i < ns->n; i++) {
		const struct vip_entry *o = vip_find(old, ns->e[i].af, &ns->e[i].a);
		if (!ns->e[i].owned || (o && o->owned))
			continue;
		announce_add(v, ns->e[i].af, &ns->e[i].a, now);
		if (ns->e[i].af == AF_INET6)
			mcast(v, &ns->e[i].a, true);
	}
	for (uint32_t i = 0; i < old->n; i++) {
		const struct vip_entry *o = vip_find(ns, old->e[i].af, &old->e[i].a);
		if (old->e[i].af == AF_INET6 && old->e[i].owned && !(o && o->owned))
			mcast(v, &old->e[i].a, false);
	}
	rcu_assign_pointer(v->set, ns);
	call_rcu(&old->rcu, set_free_cb);
	ns = NULL;
	lvs_vips_tick(v, now);
	uniq_keys(svc, &nsvc);
	uniq_keys(nat, &nnat);
	err = v->guard ? guard_apply(v, v->set, svc, nsvc, nat, nnat) : 0;
	if (v->filter) {
		int ferr = filter_apply(v, v->set, svc, nsvc, nat, nnat);
		if (ferr) {
			lvs_err("vip: the interface filter could not be updated: %s", strerror(-ferr));
			err = err ? err : ferr;
		}
	}
out:
	free(ns);
	free(svc);
	free(nat);
	return err;
}

int lvs_vips_update(struct lvs_vips *v, const struct lvs_snapshot *s, const struct lvs_model *m)
{
	return vips_rebuild(v, s, m);
}

void lvs_vips_net_changed(struct lvs_vips *v, unsigned chg)
{
	lvs_time_t now = mono_ns();

	(void)chg;
	for (unsigned i = 0; i < v->nif; i++) {
		struct lvs_link_info li;
		bool present = lvs_netstate_link(v->ns, v->ifs[i].ifindex, &li) == 0;
		bool up = present && (li.flags & IFF_UP);

		/* its packet sockets are dead: a new interface of the same name
		 * has another index */
		if (!present && !v->ifs[i].gone)
			lvs_warn("vip: served interface %s is gone; restart lvsd once it is back",
				 v->ifs[i].name);
		v->ifs[i].gone = !present;
		if (up && !v->ifs[i].was_up) {
			lvs_info("vip: %s is up, announcing VIPs", v->ifs[i].name);
			for (uint32_t j = 0; j < v->set->n; j++)
				if (v->set->e[j].owned)
					announce_add(v, v->set->e[j].af, &v->set->e[j].a, now);
		}
		v->ifs[i].was_up = up;
	}
	lvs_vips_tick(v, now);
}

/* ---- data path ---- */

static bool arp_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p, uint32_t l3)
{
	uint8_t *a = p->data + l3;
	union lvs_addr tpa, spa;
	const struct vip_entry *e;
	struct lvs_link_info li;
	uint8_t sha[6];

	if (p->len < l3 + 28)
		return false;
	/* Ethernet / IPv4 request */
	if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0 || a[4] != 6 || a[5] != 4 ||
	    a[6] != 0 || a[7] != 1)
		return false;
	lvs_addr_set4(&tpa, 0);
	memcpy(&tpa.ip4, a + 24, 4);
	e = vip_find(s, AF_INET, &tpa);
	if (!e || !e->owned)
		return false;
	if (lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	memcpy(sha, a + 8, 6);
	lvs_addr_set4(&spa, 0);
	memcpy(&spa.ip4, a + 14, 4);
	if (sha[0] & 1) /* a multicast sender: not a host */
		return false;
	/* Our own announcement seen again, or anybody's announcement
	 * (RFC 5227: sender = target) is not a question. */
	if (!memcmp(sha, li.mac, 6) || spa.ip4 == tpa.ip4)
		return false;
	/* an ARP probe (RFC 5227) has sender 0.0.0.0: answer, learn nothing */
	if (spa.ip4 && spa.ip4 != tpa.ip4)
		lvs_netstate_learn(v->ns, AF_INET, p->ifindex, &spa, sha);
	memcpy(p->data, sha, 6);
	memcpy(p->data + 6, li.mac, 6);
	a[7] = 2; /* reply */
	memcpy(a + 18, sha, 6);
	memcpy(a + 24, &spa.ip4, 4);
	memcpy(a + 8, li.mac, 6);
	memcpy(a + 14, &tpa.ip4, 4);
	__atomic_fetch_add(&v->arp_replies, 1, __ATOMIC_RELAXED);
	return true;
}

/* RFC 4861 7.1.1 validity checks and 7.2.4 answer of a solicitation. */
static bool ns_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint8_t *ip = p->data + pi->l3_off, *ic = p->data + pi->l4_off;
	union lvs_addr tgt, src, dst;
	const struct vip_entry *e;
	struct lvs_link_info li;
	const uint8_t *sllao = NULL;
	uint32_t need = pi->l3_off + 40 + 32, ilen = pi->l4_len;
	bool dad;

	if (pi->icmp_code != 0 || pi->ttl != 255 || ilen < 24 || pi->frag != LVS_FRAG_NONE)
		return false;
	memcpy(tgt.b, ic + 8, 16);
	e = vip_find(s, AF_INET6, &tgt);
	if (!e || !e->owned)
		return false;
	if (!lvs_pkt_l4_csum_ok(p))
		return false;
	for (uint32_t o = 24; o + 8 <= ilen;) {
		uint32_t ol = (uint32_t)ic[o + 1] * 8;
		if (ol == 0 || o + ol > ilen)
			return false;
		if (ic[o] == 1 && ol >= 8)
			sllao = ic + o + 2;
		o += ol;
	}
	src = pi->saddr;
	dad = lvs_addr_is_zero(&src);
	if (dad && sllao)
		return false;
	if (lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	if (need > p->len + p->tailroom)
		return false;
	if (dad) {
		memset(&dst, 0, sizeof(dst));
		dst.b[0] = 0xff;
		dst.b[1] = 0x02;
		dst.b[15] = 1;
		p->data[0] = 0x33; p->data[1] = 0x33;
		memcpy(p->data + 2, dst.b + 12, 4);
	} else {
		dst = src;
		if (sllao) {
			lvs_netstate_learn(v->ns, AF_INET6, p->ifindex, &src, sllao);
			memcpy(p->data, sllao, 6);
		} else {
			memcpy(p->data, p->data + 6, 6);
		}
	}
	memcpy(p->data + 6, li.mac, 6);
	build_na(ip, &tgt, &dst, li.mac, !dad);
	p->tailroom = p->tailroom + p->len - need;
	p->len = need;
	p->flags &= ~(uint32_t)(LVS_PKT_F_CSUM_PARTIAL | LVS_PKT_F_CSUM_VALID);
	__atomic_fetch_add(&v->na_replies, 1, __ATOMIC_RELAXED);
	return true;
}

/* Echo request to an owned VIP: answer as its host would (RFC 792 / 4443),
 * back to the MAC it came from. */
static bool echo_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint8_t *ip = p->data + pi->l3_off, *ic = p->data + pi->l4_off;
	const struct vip_entry *e;
	struct lvs_link_info li;
	uint16_t c, old, new_;

	if (pi->frag != LVS_FRAG_NONE || pi->l4_len < 8)
		return false;
	e = vip_find(s, pi->af, &pi->daddr);
	if (!e || !e->owned || lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	if (pi->af == AF_INET6 && pi->l4_off != pi->l3_off + 40)
		return false; /* extension headers: not worth reflecting */
	if (!lvs_pkt_l4_csum_ok(p))
		return false;
	memcpy(p->data, p->data + 6, 6);
	memcpy(p->data + 6, li.mac, 6);
	if (pi->af == AF_INET) {
		memcpy(ip + 12, &pi->daddr.ip4, 4);
		memcpy(ip + 16, &pi->saddr.ip4, 4);
		ip[8] = 64;
		memset(ip + 10, 0, 2);
		c = lvs_ip4_hdr_csum(ip, (size_t)(ip[0] & 15) * 4);
		memcpy(ip + 10, &c, 2);
		old = htons(8 << 8);
		new_ = 0;
		ic[0] = 0;
	} else {
		memcpy(ip + 8, pi->daddr.b, 16);
		memcpy(ip + 24, pi->saddr.b, 16);
		ip[7] = 64;
		old = htons(128 << 8);
		new_ = htons(129 << 8);
		ic[0] = 129;
	}
	/* swapping addresses leaves the pseudo-header sum as it was */
	memcpy(&c, ic + 2, 2);
	lvs_csum_replace2(&c, old, new_);
	memcpy(ic + 2, &c, 2);
	__atomic_fetch_add(&v->echo_replies, 1, __ATOMIC_RELAXED);
	return true;
}

bool lvs_vip_input(struct lvs_vips *v, struct lvs_pkt *p)
{
	const struct vip_set *s = rcu_dereference(v->set);
	const struct lvs_pkt_info *pi = &p->pi;

	if (!s || !s->n)
		return false;
	if (pi->af == 0)
		return pi->eth_type == 0x0806 && arp_input(v, s, p, 14u + 4u * pi->nr_vlan);
	if (!pi->l4_off)
		return false;
	if (pi->af == AF_INET6 && pi->proto == IPPROTO_ICMPV6) {
		if (pi->icmp_type == 135)
			return ns_input(v, s, p);
		if (pi->icmp_type == 128 && pi->icmp_code == 0)
			return echo_input(v, s, p);
	}
	if (pi->af == AF_INET && pi->proto == IPPROTO_ICMP && pi->icmp_type == 8 &&
	    pi->icmp_code == 0)
		return echo_input(v, s, p);
	return false;
}

void lvs_vip_stats_add(struct lvs_vips *v, struct lvs_vip_stats *out)
{
	out->arp_replies += __atomic_load_n(&v->arp_replies, __ATOMIC_RELAXED);
	out->na_replies += __atomic_load_n(&v->na_replies, __ATOMIC_RELAXED);
	out->echo_replies += __atomic_load_n(&v->echo_replies, __ATOMIC_RELAXED);
}
