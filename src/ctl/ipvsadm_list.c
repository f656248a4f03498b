/*
 * ipvsadm_list.c - `lvsadm -L` output, byte for byte as ipvsadm 1.31.
 *
 * The formats are ipvsadm's (print_title, print_service_entry,
 * print_largenum, print_conn, list_timeout, list_daemon), including its
 * rough edges, because scripts parse and diff this output:
 *   - names are built in a 60-byte buffer; an IPv4 service name is cut at
 *     33 characters, an IPv4 destination at 28 (only long host names are
 *     affected);
 *   - counters wider than the column are scaled with K/M/G/T unless
 *     --exact; destination CPS/InPPS/OutPPS under --rate are never scaled;
 *   - sorting compares addresses as the int difference of 32-bit words,
 *     which wraps (see ipvsadm_list.h);
 *   - a fwmark above INT_MAX prints negative ("FWM  %d").
 * The connection lines follow the kernel's /proc/net/ip_vs_conn fields as
 * ipvsadm reformats them (protocol names of ip_vs_proto_name(), time left
 * in whole seconds).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "pe.h"
#include "ipvsadm_list.h"

#define NAME_LEN LVS_LIST_NAME_LEN /* ipvsadm's addrport_to_anyname() buffer */
#define SVC_CUT 33   /* IPv4 service names are cut here */
#define DEST_CUT 28  /* IPv4 destination names are cut here */

enum variant { V_DEFAULT, V_STATS, V_RATE, V_THRESH, V_PCONN, V_TUN };

static enum variant pick_variant(unsigned opts)
{
	if (opts & LVS_LIST_STATS)
		return V_STATS;
	if (opts & LVS_LIST_RATE)
		return V_RATE;
	if (opts & LVS_LIST_THRESHOLDS)
		return V_THRESH;
	if (opts & LVS_LIST_PERSISTENTCONN)
		return V_PCONN;
	if (opts & LVS_LIST_TUN_INFO)
		return V_TUN;
	return V_DEFAULT;
}

unsigned lvs_list_opts_from_cmd(uint64_t o)
{
	unsigned r = 0;

	if (o & LVS_OPT_NUMERIC)
		r |= LVS_LIST_NUMERIC;
	if (o & LVS_OPT_STATS)
		r |= LVS_LIST_STATS;
	if (o & LVS_OPT_RATE)
		r |= LVS_LIST_RATE;
	if (o & LVS_OPT_THRESHOLDS)
		r |= LVS_LIST_THRESHOLDS;
	if (o & LVS_OPT_PERSISTENTCONN)
		r |= LVS_LIST_PERSISTENTCONN;
	if (o & LVS_OPT_NOSORT)
		r |= LVS_LIST_NOSORT;
	if (o & LVS_OPT_EXACT)
		r |= LVS_LIST_EXACT;
	if (o & LVS_OPT_TUN_INFO)
		r |= LVS_LIST_TUN_INFO;
	return r;
}

/* ---- names ---- */

static int sys_host_name(int af, const union lvs_addr *a, char *buf, size_t len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	socklen_t salen;

	if (af == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = a->ip4;
		sa = (const struct sockaddr *)&sin;
		salen = sizeof(sin);
	} else if (af == AF_INET6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = a->in6;
		sa = (const struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	} else {
		return -1;
	}
	return getnameinfo(sa, salen, buf, (socklen_t)len, NULL, 0, NI_NAMEREQD) ? -1 : 0;
}

const char *lvs_list_proto_db_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	default:
		return NULL;
	}
}

static int sys_serv_name(uint16_t port, uint8_t proto, char *buf, size_t len)
{
	const char *pname = lvs_list_proto_db_name(proto);
	struct servent se, *res = NULL;
	char tmp[1024];

	if (!pname || getservbyport_r(htons(port), pname, &se, tmp, sizeof(tmp), &res) || !res)
		return -1;
	snprintf(buf, len, "%s", res->s_name);
	return 0;
}

void lvs_list_addrport_name(char *buf, int af, const union lvs_addr *a, uint16_t port,
			    uint8_t proto, unsigned opts, const struct lvs_list_hooks *h)
{
	char host[NI_MAXHOST], serv[64];
	const char *lb = af == AF_INET ? "" : "[";
	const char *rb = af == AF_INET ? "" : "]";
	int rc;

	host[0] = serv[0] = '\0';
	if (!(opts & LVS_LIST_NUMERIC)) {
		if (h && h->host_name)
			rc = h->host_name(h->ctx, af, a, host, sizeof(host));
		else
			rc = sys_host_name(af, a, host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		if (rc || !host[0])
			host[0] = '\0';
		if (lvs_list_proto_db_name(proto)) {
			if (h && h->serv_name)
				rc = h->serv_name(h->ctx, port, proto, serv, sizeof(serv));
			else
				rc = sys_serv_name(port, proto, serv, sizeof(serv));
			serv[sizeof(serv) - 1] = '\0';
			if (rc)
				serv[0] = '\0';
		}
	}
	if (!host[0])
		lvs_addr_str(af, a, host, sizeof(host));
	if (!serv[0])
		snprintf(serv, sizeof(serv), "%u", port);
	if (snprintf(buf, NAME_LEN, "%s%s%s:%s", lb, host, rb, serv) < 0)
		buf[0] = '\0';
}

const char *lvs_list_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	default:
		return "?";
	}
}

/* "TCP  10.0.0.1:80", "FWM  1", "FWM  1 IPv6". buf has 128 bytes. */
static void service_name(char *buf, const struct lvs_service *svc, unsigned opts,
			 const struct lvs_list_hooks *h)
{
	const struct lvs_svc_conf *c = &svc->c;
	char name[NAME_LEN];

	if (c->fwmark) {
		snprintf(buf, 128, c->af == AF_INET6 ? "FWM  %d IPv6" : "FWM  %d", (int)c->fwmark);
		return;
	}
	lvs_list_addrport_name(name, c->af, &c->addr, ntohs(c->port), c->proto, opts, h);
	snprintf(buf, 128, "%-4s %s", lvs_list_proto_name(c->proto), name);
	if (c->af != AF_INET6 && strlen(buf) > SVC_CUT)
		buf[SVC_CUT] = '\0';
}

/* ---- numbers ---- */

/* ipvsadm's print_largenum(): a 9-character column, scaled by powers of
 * 1000 with a unit letter when the number has more than 8 digits. */
static void put_largenum(FILE *out, uint64_t v, unsigned opts)
{
	if (opts & LVS_LIST_EXACT) {
		char tmp[32];
		int len = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

		fprintf(out, "%*" PRIu64, len <= 8 ? 9 : len + 1, v);
		return;
	}
	if (v < UINT64_C(100000000))
		fprintf(out, "%9" PRIu64, v);
	else if (v < UINT64_C(1000000000))
		fprintf(out, "%8" PRIu64 "K", v / UINT64_C(1000));
	else if (v < UINT64_C(100000000000))
		fprintf(out, "%8" PRIu64 "M", v / UINT64_C(1000000));
	else if (v < UINT64_C(100000000000000))
		fprintf(out, "%8" PRIu64 "G", v / UINT64_C(1000000000));
	else
		fprintf(out, "%8" PRIu64 "T", v / UINT64_C(1000000000000));
}

static void put_counters(FILE *out, const struct lvs_counters *c, unsigned opts)
{
	put_largenum(out, c->conns, opts);
	put_largenum(out, c->inpkts, opts);
	put_largenum(out, c->outpkts, opts);
	put_largenum(out, c->inbytes, opts);
	put_largenum(out, c->outbytes, opts);
}

static const struct lvs_rate zero_rate;

static const struct lvs_rate *svc_rate(const struct lvs_list_hooks *h, const struct lvs_svc_state *st)
{
	const struct lvs_rate *r = h && h->svc_rate ? h->svc_rate(h->ctx, st) : NULL;

	return r ? r : &zero_rate;
}

static const struct lvs_rate *dest_rate(const struct lvs_list_hooks *h,
					const struct lvs_dest_state *st)
{
	const struct lvs_rate *r = h && h->dest_rate ? h->dest_rate(h->ctx, st) : NULL;

	return r ? r : &zero_rate;
}

/* ---- ordering ---- */

static int diff32(uint32_t a, uint32_t b)
{
	return (int)(a - b); /* ipvsadm: "r = ntohl(a) - ntohl(b)" into an int */
}

static int addr_cmp(uint8_t af, const union lvs_addr *a, const union lvs_addr *b)
{
	int r = 0;

	if (af == AF_INET6) {
		for (int i = 0; !r && i < 4; i++)
			r = diff32(ntohl(a->w[i]), ntohl(b->w[i]));
		return r;
	}
	return diff32(ntohl(a->ip4), ntohl(b->ip4));
}

/* ipvs_cmp_services() on the entries the kernel dumps: a fwmark service's
 * entry carries no protocol, address or port. */
static int svc_cmp(const void *pa, const void *pb)
{
	static const union lvs_addr zero;
	const struct lvs_svc_conf *a = &((const struct lvs_service *)pa)->c;
	const struct lvs_svc_conf *b = &((const struct lvs_service *)pb)->c;
	int r;

	if ((r = diff32(a->fwmark, b->fwmark)))
		return r;
	if ((r = (int)a->af - (int)b->af))
		return r;
	if ((r = (int)(a->fwmark ? 0 : a->proto) - (int)(b->fwmark ? 0 : b->proto)))
		return r;
	if ((r = addr_cmp(a->af, a->fwmark ? &zero : &a->addr, b->fwmark ? &zero : &b->addr)))
		return r;
	return (int)(a->fwmark ? 0 : ntohs(a->port)) - (int)(b->fwmark ? 0 : ntohs(b->port));
}

/* ipvs_cmp_dests(): the first entry's family decides how many words. */
static int dest_cmp(const void *pa, const void *pb)
{
	const struct lvs_dest_conf *a = &((const struct lvs_dest *)pa)->c;
	const struct lvs_dest_conf *b = &((const struct lvs_dest *)pb)->c;
	int r = addr_cmp(a->af, &a->addr, &b->addr);

	if (r)
		return r;
	return (int)ntohs(a->port) - (int)ntohs(b->port);
}

/* glibc qsort's merge sort: halves n/2 and n - n/2, ties taken from the
 * left half.  Same input order and comparator give the same output as
 * ipvsadm, and an inconsistent comparator cannot break it. */
static void merge_sort(const void **v, const void **tmp, size_t n,
		       int (*cmp)(const void *, const void *))
{
	size_t n1 = n / 2, i = 0, j = n1, k = 0;

	if (n <= 1)
		return;
	merge_sort(v, tmp, n1, cmp);
	merge_sort(v + n1, tmp, n - n1, cmp);
	while (i < n1 && j < n)
		tmp[k++] = cmp(v[i], v[j]) <= 0 ? v[i++] : v[j++];
	while (i < n1)
		tmp[k++] = v[i++];
	memcpy(v, tmp, k * sizeof(*v)); /* v[j..n) is already in place */
}

static int sort_ptrs(const void **v, size_t n, int (*cmp)(const void *, const void *))
{
	const void **tmp;

	if (n <= 1)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	merge_sort(v, tmp, n, cmp);
	free(tmp);
	return 0;
}

int lvs_list_order_services(const struct lvs_snapshot *s, bool nosort,
			    const struct lvs_service **v)
{
	for (uint32_t i = 0; i < s->nsvcs; i++)
		v[i] = s->svcs[i];
	return nosort ? 0 : sort_ptrs((const void **)v, s->nsvcs, svc_cmp);
}

int lvs_list_order_dests(const struct lvs_service *svc, bool nosort, const struct lvs_dest **v)
{
	for (uint32_t i = 0; i < svc->ndests; i++)
		v[i] = svc->dests[i];
	return nosort ? 0 : sort_ptrs((const void **)v, svc->ndests, dest_cmp);
}

/* ---- the service table ---- */

static void print_title(FILE *out, enum variant v)
{
	switch (v) {
	case V_STATS:
		fprintf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes",
			"OutBytes");
		break;
	case V_RATE:
		fprintf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
		break;
	case V_THRESH:
		fprintf(out, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn",
			"InActConn");
		break;
	case V_PCONN:
		fprintf(out, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn",
			"InActConn");
		break;
	case V_TUN:
		fputs("Prot LocalAddress:Port Scheduler Flags\n"
		      "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn "
		      "InActConn\n",
		      out);
		break;
	default:
		fputs("Prot LocalAddress:Port Scheduler Flags\n"
		      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
		      out);
		break;
	}
}

/* ipvsadm's print_sched_flags(): names for sh and mh, flag-N otherwise. */
static void print_sched_flags(FILE *out, const struct lvs_svc_conf *c)
{
	const char *sep = "";

#define SCHED_FLAG(bit, name)                            \
	do {                                             \
		if (c->flags & (bit)) {                  \
			fprintf(out, "%s%s", sep, name); \
			sep = ",";                       \
		}                                        \
	} while (0)
	if (!strcmp(c->sched, "sh")) {
		SCHED_FLAG(LVS_SVC_F_SCHED_SH_FALLBACK, "sh-fallback");
		SCHED_FLAG(LVS_SVC_F_SCHED_SH_PORT, "sh-port");
	} else if (!strcmp(c->sched, "mh")) {
		SCHED_FLAG(LVS_SVC_F_SCHED_MH_FALLBACK, "mh-fallback");
		SCHED_FLAG(LVS_SVC_F_SCHED_MH_PORT, "mh-port");
	} else {
		SCHED_FLAG(LVS_SVC_F_SCHED1, "flag-1");
		SCHED_FLAG(LVS_SVC_F_SCHED2, "flag-2");
		SCHED_FLAG(LVS_SVC_F_SCHED3, "flag-3");
	}
#undef SCHED_FLAG
}

static void print_service_line(FILE *out, const struct lvs_service *svc, const char *name,
			       enum variant v, unsigned opts, const struct lvs_list_hooks *h)
{
	const struct lvs_svc_conf *c = &svc->c;
	struct lvs_counters st;
	const struct lvs_rate *r;
	char sched[LVS_SCHED_NAME_MAX + 1];

	if (v == V_STATS) {
		lvs_svc_state_stats(svc->st, &st);
		fprintf(out, "%-33s", name);
		put_counters(out, &st, opts);
	} else if (v == V_RATE) {
		r = svc_rate(h, svc->st);
		fprintf(out, "%-33s", name);
		put_largenum(out, r->cps, opts);
		put_largenum(out, r->inpps, opts);
		put_largenum(out, r->outpps, opts);
		put_largenum(out, r->inbps, opts);
		put_largenum(out, r->outbps, opts);
	} else {
		memcpy(sched, c->sched, LVS_SCHED_NAME_MAX);
		sched[LVS_SCHED_NAME_MAX] = '\0';
		fprintf(out, "%s %s", name, sched);
		if (c->flags & (LVS_SVC_F_SCHED1 | LVS_SVC_F_SCHED2 | LVS_SVC_F_SCHED3)) {
			fputs(" (", out);
			print_sched_flags(out, c);
			fputc(')', out);
		}
		if (c->flags & LVS_SVC_F_PERSISTENT) {
			fprintf(out, " persistent %u", c->timeout);
			if (c->af == AF_INET && c->netmask != 0xffffffffU) {
				char mask[INET_ADDRSTRLEN];
				union lvs_addr m;

				lvs_addr_set4(&m, c->netmask);
				fprintf(out, " mask %s", lvs_addr_str(AF_INET, &m, mask, sizeof(mask)));
			}
			if (c->af == AF_INET6 && c->netmask != 128)
				fprintf(out, " mask %i", (int)c->netmask);
			/* ipvsadm names the engine only for a persistent service */
			if (c->pe)
				fprintf(out, " pe %s", lvs_pe_name(c->pe));
		}
		if (c->flags & LVS_SVC_F_ONEPACKET)
			fputs(" ops", out);
	}
	fputc('\n', out);
}

static const char *fwd_name(uint8_t fwd)
{
	switch (fwd) {
	case LVS_FWD_MASQ:
		return "Masq";
	case LVS_FWD_LOCAL:
		return "Local";
	case LVS_FWD_TUNNEL:
		return "Tunnel";
	case LVS_FWD_ROUTE:
		return "Route";
	default:
		return "(null)"; /* what ipvsadm's printf makes of its NULL */
	}
}

/* --tun-info column: "ipip", "gue:PORT:FLAGS", "gre:FLAGS" or "n/a". */
static const char *tun_info(const struct lvs_dest_conf *c, char *buf, size_t len)
{
	static const char *const flag_names[] = { "-c", "+c", "r+c" };
	const char *fl = c->tun_flags < 3 ? flag_names[c->tun_flags] : "?";

	if (c->fwd != LVS_FWD_TUNNEL)
		return "n/a";
	switch (c->tun_type) {
	case LVS_TUN_IPIP:
		return "ipip";
	case LVS_TUN_GUE:
		snprintf(buf, len, "gue:%d:%s", ntohs(c->tun_port), fl);
		return buf;
	case LVS_TUN_GRE:
		snprintf(buf, len, "gre:%s", fl);
		return buf;
	default:
		return "n/a";
	}
}

static void print_dest_line(FILE *out, const struct lvs_service *svc, const struct lvs_dest *d,
			    enum variant v, unsigned opts, const struct lvs_list_hooks *h)
{
	const struct lvs_dest_conf *c = &d->c;
	char name[NAME_LEN], tbuf[16];
	uint32_t act = (uint32_t)lvs_dest_active(d), inact = (uint32_t)lvs_dest_inactive(d);
	struct lvs_counters st;
	const struct lvs_rate *r;

	lvs_list_addrport_name(name, c->af, &c->addr, ntohs(c->port), svc->c.fwmark ? 0 : svc->c.proto,
		      opts, h);
	if (c->af != AF_INET6)
		name[DEST_CUT] = '\0';

	switch (v) {
	case V_STATS:
		lvs_dest_state_stats(d->st, &st);
		fprintf(out, "  -> %-28s", name);
		put_counters(out, &st, opts);
		fputc('\n', out);
		break;
	case V_RATE:
		r = dest_rate(h, d->st);
		fprintf(out, "  -> %-28s %8" PRIu64 " %8" PRIu64 " %8" PRIu64, name, r->cps, r->inpps,
			r->outpps);
		put_largenum(out, r->inbps, opts);
		put_largenum(out, r->outbps, opts);
		fputc('\n', out);
		break;
	case V_THRESH:
		fprintf(out, "  -> %-28s %-10u %-10u %-10u %-10u\n", name, c->u_threshold,
			c->l_threshold, act, inact);
		break;
	case V_PCONN:
		fprintf(out, "  -> %-28s %-9u %-11u %-10u %-10u\n", name, (uint32_t)c->weight,
			(uint32_t)lvs_dest_persist(d), act, inact);
		break;
	case V_TUN:
		fprintf(out, "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", name, fwd_name(c->fwd),
			tun_info(c, tbuf, sizeof(tbuf)), (int)c->weight, act, inact);
		break;
	default:
		fprintf(out, "  -> %-28s %-7s %-6d %-10u %-10u\n", name, fwd_name(c->fwd),
			(int)c->weight, act, inact);
		break;
	}
}

static int print_service(FILE *out, const struct lvs_service *svc, enum variant v, unsigned opts,
			 const struct lvs_list_hooks *h)
{
	const struct lvs_dest **dv = NULL;
	char name[128];
	int rc;

	if (svc->ndests) {
		dv = malloc(svc->ndests * sizeof(*dv));
		if (!dv)
			return -ENOMEM;
	}
	rc = lvs_list_order_dests(svc, opts & LVS_LIST_NOSORT, dv);
	if (rc)
		goto out;
	service_name(name, svc, opts, h);
	print_service_line(out, svc, name, v, opts, h);
	for (uint32_t i = 0; i < svc->ndests; i++)
		print_dest_line(out, svc, dv[i], v, opts, h);
out:
	free(dv);
	return rc;
}

static bool svc_matches(const struct lvs_svc_conf *c, const struct lvs_svc_key *k)
{
	if (c->af != k->af)
		return false;
	if (k->fwmark)
		return c->fwmark == k->fwmark;
	return !c->fwmark && c->proto == k->proto && c->port == k->port &&
	       lvs_addr_eq(&c->addr, &k->addr);
}

int lvs_list_services(FILE *out, const struct lvs_snapshot *s, uint32_t conn_table_size,
		      unsigned opts, const struct lvs_svc_key *only,
		      const struct lvs_list_hooks *hooks)
{
	enum variant v = pick_variant(opts);
	const struct lvs_service **sv = NULL;
	int rc = 0;

	if (only) {
		for (uint32_t i = 0; i < s->nsvcs; i++) {
			if (svc_matches(&s->svcs[i]->c, only)) {
				print_title(out, v);
				rc = print_service(out, s->svcs[i], v, opts, hooks);
				goto out;
			}
		}
		return -ESRCH;
	}

	if (s->nsvcs) {
		sv = malloc(s->nsvcs * sizeof(*sv));
		if (!sv)
			return -ENOMEM;
	}
	rc = lvs_list_order_services(s, opts & LVS_LIST_NOSORT, sv);
	if (rc)
		goto out;
	fprintf(out, "IP Virtual Server version 1.2.1 (size=%d)\n", (int)conn_table_size);
	print_title(out, v);
	for (uint32_t i = 0; i < s->nsvcs && !rc; i++)
		rc = print_service(out, sv[i], v, opts, hooks);
out:
	free(sv);
	if (!rc && ferror(out))
		rc = -EIO;
	return rc;
}

/* ---- connections ---- */

/* The kernel's ip_vs_proto_name(). buf has 16 bytes. */
static const char *conn_proto_name(uint8_t proto, char *buf)
{
	switch (proto) {
	case 0:
		return "IP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_ICMP:
		return "ICMP";
	default:
		snprintf(buf, 16, "IP_%u", proto);
		return buf;
	}
}

int lvs_list_conns(FILE *out, const struct lvs_conn_info *ci, size_t n, unsigned opts,
		   const struct lvs_list_hooks *hooks)
{
	fputs("IPVS connection entries\n", out);
	if (opts & LVS_LIST_PERSISTENTCONN)
		fprintf(out, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source",
			"virtual", "destination", "pe name", "pe_data");
	else
		fprintf(out, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual",
			"destination");

	for (size_t i = 0; i < n; i++) {
		const struct lvs_conn_param *p = &ci[i].p;
		uint8_t daf = p->daf ? p->daf : p->af;
		uint8_t nproto = lvs_list_proto_db_name(p->proto) ? p->proto : 0;
		char cname[NAME_LEN], vname[NAME_LEN], dname[NAME_LEN], pbuf[16], expire[24];
		unsigned secs = ci[i].expires_ms / 1000;

		lvs_list_addrport_name(cname, p->af, &p->caddr, ntohs(p->cport), nproto, opts, hooks);
		lvs_list_addrport_name(vname, p->af, &p->vaddr, ntohs(p->vport), nproto, opts, hooks);
		lvs_list_addrport_name(dname, daf, &p->daddr, ntohs(p->dport), nproto, opts, hooks);
		snprintf(expire, sizeof(expire), "%02u:%02u", secs / 60, secs % 60);
		if ((opts & LVS_LIST_PERSISTENTCONN) && ci[i].pe_len &&
		    (p->flags & LVS_CONN_F_PE)) {
			/* the kernel's " sip CALLID" columns as ipvsadm's
			 * print_conn prints them: destination %-16s, engine
			 * %-18s (its title pads them the other way round) */
			fprintf(out, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %.*s\n",
				conn_proto_name(p->proto, pbuf), expire,
				lvs_conn_state_name(p->flags, p->proto, ci[i].state), cname, vname,
				dname, "sip", (int)ci[i].pe_len, (const char *)ci[i].pe_data);
			continue;
		}
		fprintf(out, "%-3s %-6s %-11s %-18s %-18s %s\n", conn_proto_name(p->proto, pbuf),
			expire, lvs_conn_state_name(p->flags, p->proto, ci[i].state), cname, vname,
			dname);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- timeouts, daemons ---- */

int lvs_list_timeout(FILE *out, const struct lvs_timeouts *t)
{
	fprintf(out, "Timeout (tcp tcpfin udp): %d %d %d\n", (int)t->tcp, (int)t->tcp_fin,
		(int)t->udp);
	return ferror(out) ? -EIO : 0;
}

int lvs_list_daemon(FILE *out, const struct lvs_cmd_daemon *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *type;
		char ifn[sizeof(d[i].mcast_ifn) + 1];

		if (d[i].state & LVS_DAEMON_MASTER)
			type = "master";
		else if (d[i].state & LVS_DAEMON_BACKUP)
			type = "backup";
		else
			continue;
		memcpy(ifn, d[i].mcast_ifn, sizeof(d[i].mcast_ifn));
		ifn[sizeof(d[i].mcast_ifn)] = '\0';
		fprintf(out, "%s sync daemon (mcast=%s, syncid=%d", type, ifn, (int)d[i].syncid);
		if (d[i].sync_maxlen)
			fprintf(out, ", maxlen=%u", d[i].sync_maxlen);
		if (d[i].mcast_af == AF_INET || d[i].mcast_af == AF_INET6) {
			char g[INET6_ADDRSTRLEN];

			fprintf(out, ", group=%s",
				lvs_addr_str(d[i].mcast_af, &d[i].mcast_group, g, sizeof(g)));
		}
		if (d[i].mcast_port)
			fprintf(out, ", port=%u", d[i].mcast_port);
		if (d[i].mcast_ttl)
			fprintf(out, ", ttl=%u", d[i].mcast_ttl);
		fputs(")\n", out);
	}
	return ferror(out) ? -EIO : 0;
}
