/*
 * metrics.c - the Prometheus text and the status JSON (see metrics.h).
 *
 * Prometheus text format 0.0.4: a family's HELP and TYPE lines, then its
 * samples; label values escaped (\\, \", \n).  The families:
 *
 *   node_ipvs_{connections,incoming_packets,outgoing_packets,
 *     incoming_bytes,outgoing_bytes}_total   sums over the services
 *   node_ipvs_backend_connections_{active,inactive}, node_ipvs_backend_weight
 *     per destination in force (what ipvsadm -L lists: a destination its
 *     checks took down has left the service, as keepalived removes it);
 *     the weight is the one in force (0 while quiesced)
 *   lvsd_service_*_total            the counters of each service
 *   lvsd_backend_*_total            the counters of each configured destination
 *   lvsd_backend_up{...,reason}     1 up or quiesced, 0 down (reason: why not)
 *   lvsd_backend_quiesced           1 kept at weight 0 by its checks
 *   lvsd_backend_configured_weight  the weight lvsadm or the file set
 *   lvsd_check_up, lvsd_check_probes_total, lvsd_check_failures_total,
 *   lvsd_check_last_duration_seconds  per distinct health check
 *   lvsd_frames_{received,forwarded,passed,dropped}_total
 *   lvsd_drops_total{reason}        every drop reason, zeros included
 *   lvsd_connections, lvsd_connections_max, lvsd_connections_created_total
 *   lvsd_control_longest_callback_seconds, lvsd_control_callbacks_total
 *   lvsd_sync_*                     connection sync (sync_daemon.c): daemons
 *                                   running, messages and connections sent,
 *                                   received, imported, dropped by reason
 *   lvsd_fastpath_*                 the XDP fast path (fastpathd.c): entries,
 *                                   packets by the program's outcome
 *
 * Counters are those of `lvsadm -L --stats` (since the last -Z: a -Z is
 * a counter reset to Prometheus, as it is with the kernel's figures).
 * Services come in ipvsadm's order, destinations by address and port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vrrpd.h"
#include "check.h"
#include "ctlloop.h"
#include "ipvsadm_list.h"
#include "metrics.h"
#include "sync_daemon.h"
#include "fastpathd.h"
#include "status.h"

/* ---- the view: services in order, each with its destinations ---- */

struct vdest {
	const struct lvs_dest_conf *c;
	enum lvs_dest_health health;
	const char *reason;
	const struct lvs_dest_state *st;
	char labels[320]; /* node_exporter's backend labels, escaped */
};

struct vsvc {
	const struct lvs_service *svc;
	unsigned first, n; /* in view.dests */
	char labels[192];  /* local_address, local_port, proto, local_mark */
	struct lvs_counters stats;
};

struct view {
	struct vsvc *svcs;
	unsigned nsvcs;
	struct vdest *dests;
	unsigned ndests, cap;
	struct lvs_counters total;
};

static int collect_dest(void *arg, const struct lvs_dest_info *di)
{
	struct view *v = arg;

	if (v->ndests == v->cap) {
		unsigned cap = v->cap ? v->cap * 2 : 16;
		struct vdest *nd = realloc(v->dests, cap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		v->dests = nd;
		v->cap = cap;
	}
	v->dests[v->ndests++] = (struct vdest){
		.c = di->c, .health = di->health, .reason = di->reason, .st = di->st};
	return 0;
}

static int dest_cmp(const void *pa, const void *pb)
{
	const struct vdest *a = pa, *b = pb;
	int r;

	if (a->c->af != b->c->af)
		return a->c->af - b->c->af;
	r = memcmp(&a->c->addr, &b->c->addr, a->c->af == AF_INET6 ? 16 : 4);
	if (r)
		return r;
	return (int)ntohs(a->c->port) - (int)ntohs(b->c->port);
}

/* "value" with the exposition format's escapes, into a buffer. */
static void esc_cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	for (; *s && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[n++] = '\\';
			buf[n++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
}

static const char *proto_name(const struct lvs_svc_conf *c)
{
	return c->fwmark ? "FWM" : lvs_list_proto_name(c->proto);
}

/* As node_exporter reads /proc/net/ip_vs: a fwmark service has no
 * address, port 0, and its mark in the kernel's %08X. */
static void svc_labels(struct vsvc *s)
{
	const struct lvs_svc_conf *c = &s->svc->c;
	char a[INET6_ADDRSTRLEN] = "", mark[16] = "";

	if (c->fwmark)
		snprintf(mark, sizeof(mark), "%08X", c->fwmark);
	else
		lvs_addr_str(c->af, &c->addr, a, sizeof(a));
	snprintf(s->labels, sizeof(s->labels),
		 "local_address=\"%s\",local_port=\"%u\",proto=\"%s\",local_mark=\"%s\"", a,
		 c->fwmark ? 0 : ntohs(c->port), proto_name(c), mark);
}

static void dest_labels(const struct vsvc *s, struct vdest *d)
{
	const struct lvs_svc_conf *c = &s->svc->c;
	char a[INET6_ADDRSTRLEN] = "", r[INET6_ADDRSTRLEN], mark[16] = "";

	if (c->fwmark)
		snprintf(mark, sizeof(mark), "%08X", c->fwmark);
	else
		lvs_addr_str(c->af, &c->addr, a, sizeof(a));
	lvs_addr_str(d->c->af, &d->c->addr, r, sizeof(r));
	snprintf(d->labels, sizeof(d->labels),
		 "local_address=\"%s\",local_port=\"%u\",remote_address=\"%s\","
		 "remote_port=\"%u\",proto=\"%s\",local_mark=\"%s\"",
		 a, c->fwmark ? 0 : ntohs(c->port), r, ntohs(d->c->port), proto_name(c), mark);
}

static void view_free(struct view *v)
{
	free(v->svcs);
	free(v->dests);
}

static int view_build(const struct lvsd *d, struct view *v)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(d->dir.model);
	const struct lvs_service **order = NULL;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if (!s->nsvcs)
		return 0;
	order = malloc(s->nsvcs * sizeof(*order));
	v->svcs = calloc(s->nsvcs, sizeof(*v->svcs));
	if (!order || !v->svcs) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = lvs_list_order_services(s, false, order)))
		goto out;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		struct vsvc *vs = &v->svcs[v->nsvcs];
		struct lvs_svc_key k;

		vs->svc = order[i];
		vs->first = v->ndests;
		lvs_svc_conf_key(&order[i]->c, &k);
		rc = lvs_model_dests(d->dir.model, &k, collect_dest, v);
		if (rc == -ESRCH) /* published but deleted meanwhile: cannot be */
			continue;
		if (rc)
			goto out;
		vs->n = v->ndests - vs->first;
		v->nsvcs++;
		svc_labels(vs);
		lvs_svc_state_stats(vs->svc->st, &vs->stats);
		v->total.conns += vs->stats.conns;
		v->total.inpkts += vs->stats.inpkts;
		v->total.outpkts += vs->stats.outpkts;
		v->total.inbytes += vs->stats.inbytes;
		v->total.outbytes += vs->stats.outbytes;
	}
	for (unsigned i = 0; i < v->nsvcs; i++) {
		struct vsvc *vs = &v->svcs[i];

		qsort(v->dests + vs->first, vs->n, sizeof(*v->dests), dest_cmp);
		for (unsigned j = 0; j < vs->n; j++)
			dest_labels(vs, &v->dests[vs->first + j]);
	}
out:
	free(order);
	if (rc)
		view_free(v);
	return rc;
}

/* The version in force of a destination; NULL when its checks took it
 * out of its service. */
static const struct lvs_dest *in_force(const struct vdest *d)
{
	return d->st->cur;
}

/* ---- health checks, each once, with a variant number among checks of
 * the same type and target (they differ in their parameters) ---- */

struct vcheck {
	struct lvs_check_info ci;
	unsigned idx, variant;
	char labels[160];
};

static int check_cmp(const void *pa, const void *pb)
{
	const struct vcheck *a = pa, *b = pb;
	int r = strcmp(a->ci.type, b->ci.type);

	if (r)
		return r;
	if (a->ci.af != b->ci.af)
		return a->ci.af - b->ci.af;
	if ((r = memcmp(&a->ci.addr, &b->ci.addr, sizeof(a->ci.addr))))
		return r;
	if (a->ci.port != b->ci.port)
		return (int)a->ci.port - (int)b->ci.port;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int checks_build(const struct lvsd *d, struct vcheck **out, unsigned *n)
{
	struct lvs_checks_stats st;
	struct vcheck *v;

	*out = NULL;
	*n = 0;
	if (!d->checks)
		return 0;
	lvs_checks_get_stats(d->checks, &st);
	if (!st.checks)
		return 0;
	v = calloc(st.checks, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < st.checks && !lvs_checks_info(d->checks, i, &v[i].ci); i++) {
		v[i].idx = i;
		*n = i + 1;
	}
	qsort(v, *n, sizeof(*v), check_cmp);
	for (unsigned i = 0; i < *n; i++) {
		char a[INET6_ADDRSTRLEN] = "";
		const struct lvs_check_info *c = &v[i].ci, *p = i ? &v[i - 1].ci : NULL;

		v[i].variant = p && !strcmp(p->type, c->type) && p->af == c->af &&
				       !memcmp(&p->addr, &c->addr, sizeof(c->addr)) &&
				       p->port == c->port
			       ? v[i - 1].variant + 1
			       : 1;
		if (c->af)
			lvs_addr_str(c->af, &c->addr, a, sizeof(a));
		snprintf(v[i].labels, sizeof(v[i].labels), "check=\"");
		esc_cat(v[i].labels, sizeof(v[i].labels), c->type);
		snprintf(v[i].labels + strlen(v[i].labels), sizeof(v[i].labels) - strlen(v[i].labels),
			 "\",remote_address=\"%s\",remote_port=\"%u\"", a, c->port);
		if (v[i].variant > 1)
			snprintf(v[i].labels + strlen(v[i].labels),
				 sizeof(v[i].labels) - strlen(v[i].labels), ",variant=\"%u\"",
				 v[i].variant);
	}
	*out = v;
	return 0;
}

/* ---- what both documents show ---- */

struct doc {
	struct view v;
	struct vcheck *checks;
	unsigned nchecks;
};

static void doc_free(struct doc *x)
{
	free(x->checks);
	view_free(&x->v);
}

static int doc_build(const struct lvsd *d, struct doc *x)
{
	int rc;

	lvsd_fast_sync(d->fast); /* what the XDP program forwarded, counted */
	rc = view_build(d, &x->v);

	x->checks = NULL;
	x->nchecks = 0;
	if (rc)
		return rc;
	if ((rc = checks_build(d, &x->checks, &x->nchecks)))
		view_free(&x->v);
	return rc;
}

/* ---- Prometheus ---- */

#define U(x) ((unsigned long long)(x))

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum cnt { C_CONNS, C_INPKTS, C_OUTPKTS, C_INBYTES, C_OUTBYTES, C__N };

static uint64_t cnt_get(const struct lvs_counters *c, enum cnt k)
{
	switch (k) {
	case C_CONNS:
		return c->conns;
	case C_INPKTS:
		return c->inpkts;
	case C_OUTPKTS:
		return c->outpkts;
	case C_INBYTES:
		return c->inbytes;
	default:
		return c->outbytes;
	}
}

static const char *const cnt_name[C__N] = {
	"connections_total", "incoming_packets_total", "outgoing_packets_total",
	"incoming_bytes_total", "outgoing_bytes_total"};
/* node_exporter's help texts for its totals */
static const char *const cnt_help[C__N] = {
	"The total number of connections made.", "The total number of incoming packets.",
	"The total number of outgoing packets.", "The total amount of incoming data.",
	"The total amount of outgoing data."};

static void prom_model(FILE *f, const struct view *v)
{
	char name[96], help[128];
	struct lvs_counters st;

	for (int k = 0; k < C__N; k++) {
		snprintf(name, sizeof(name), "node_ipvs_%s", cnt_name[k]);
		family(f, name, "counter", cnt_help[k]);
		fprintf(f, "%s %llu\n", name, U(cnt_get(&v->total, k)));
	}
	family(f, "node_ipvs_backend_connections_active", "gauge",
	       "The current active connections by local and remote address.");
	for (unsigned i = 0; i < v->ndests; i++)
		if (in_force(&v->dests[i]))
			fprintf(f, "node_ipvs_backend_connections_active{%s} %d\n", v->dests[i].labels,
				lvs_dest_active(in_force(&v->dests[i])));
	family(f, "node_ipvs_backend_connections_inactive", "gauge",
	       "The current inactive connections by local and remote address.");
	for (unsigned i = 0; i < v->ndests; i++)
		if (in_force(&v->dests[i]))
			fprintf(f, "node_ipvs_backend_connections_inactive{%s} %d\n",
				v->dests[i].labels, lvs_dest_inactive(in_force(&v->dests[i])));
	family(f, "node_ipvs_backend_weight", "gauge",
	       "The current backend weight by local and remote address.");
	for (unsigned i = 0; i < v->ndests; i++)
		if (in_force(&v->dests[i]))
			fprintf(f, "node_ipvs_backend_weight{%s} %d\n", v->dests[i].labels,
				(int)in_force(&v->dests[i])->c.weight);

	for (int k = 0; k < C__N; k++) {
		snprintf(name, sizeof(name), "lvsd_service_%s", cnt_name[k]);
		snprintf(help, sizeof(help), "%s By virtual service, since the last zeroing.",
			 cnt_help[k]);
		family(f, name, "counter", help);
		for (unsigned i = 0; i < v->nsvcs; i++)
			fprintf(f, "%s{%s} %llu\n", name, v->svcs[i].labels,
				U(cnt_get(&v->svcs[i].stats, k)));
	}
	for (int k = 0; k < C__N; k++) {
		snprintf(name, sizeof(name), "lvsd_backend_%s", cnt_name[k]);
		snprintf(help, sizeof(help), "%s By real server, since the last zeroing.",
			 cnt_help[k]);
		family(f, name, "counter", help);
		for (unsigned i = 0; i < v->ndests; i++) {
			lvs_dest_state_stats(v->dests[i].st, &st);
			fprintf(f, "%s{%s} %llu\n", name, v->dests[i].labels, U(cnt_get(&st, k)));
		}
	}
	family(f, "lvsd_backend_up", "gauge",
	       "1 if the real server is in its service (up or quiesced), 0 if its checks took "
	       "it out; reason: why not up.");
	for (unsigned i = 0; i < v->ndests; i++) {
		char why[LVS_HEALTH_REASON_MAX * 2] = "";

		esc_cat(why, sizeof(why), v->dests[i].reason);
		fprintf(f, "lvsd_backend_up{%s,reason=\"%s\"} %d\n", v->dests[i].labels, why,
			v->dests[i].health != LVS_DEST_DOWN);
	}
	family(f, "lvsd_backend_quiesced", "gauge",
	       "1 if the real server's checks keep it at weight 0 (inhibit_on_failure).");
	for (unsigned i = 0; i < v->ndests; i++)
		fprintf(f, "lvsd_backend_quiesced{%s} %d\n", v->dests[i].labels,
			v->dests[i].health == LVS_DEST_QUIESCED);
	family(f, "lvsd_backend_configured_weight", "gauge",
	       "The real server's weight as configured (node_ipvs_backend_weight: in force).");
	for (unsigned i = 0; i < v->ndests; i++)
		fprintf(f, "lvsd_backend_configured_weight{%s} %d\n", v->dests[i].labels,
			(int)v->dests[i].c->weight);
}

static void prom_checks(FILE *f, const struct vcheck *c, unsigned n)
{
	if (!n)
		return;
	family(f, "lvsd_check_up", "gauge", "1 if the health check's last verdict was up.");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "lvsd_check_up{%s} %d\n", c[i].labels, c[i].ci.up);
	family(f, "lvsd_check_probes_total", "counter", "Probes the health check finished.");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "lvsd_check_probes_total{%s} %llu\n", c[i].labels, U(c[i].ci.probes));
	family(f, "lvsd_check_failures_total", "counter", "Probes of the health check that failed.");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "lvsd_check_failures_total{%s} %llu\n", c[i].labels, U(c[i].ci.failures));
	family(f, "lvsd_check_last_duration_seconds", "gauge",
	       "How long the health check's last probe took.");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "lvsd_check_last_duration_seconds{%s} %.6f\n", c[i].labels,
			(double)c[i].ci.last_ns / 1e9);
}

/* the bounds of the lateness histogram, us */
static const uint64_t late_le_us[] = {1000,   2000,   5000,   10000,  20000,  50000,
				      100000, 200000, 500000, 1000000};
#define N_LATE (sizeof(late_le_us) / sizeof(late_le_us[0]))

static void prom_late(FILE *f, const struct lvs_checks *cs)
{
	uint64_t cum[N_LATE], count, sum_us;

	if (!cs)
		return;
	lvs_checks_late_hist(cs, late_le_us, N_LATE, cum, &count, &sum_us);
	family(f, "lvsd_check_start_lateness_seconds", "histogram",
	       "How late probes started against their schedule.");
	for (unsigned i = 0; i < N_LATE; i++)
		fprintf(f, "lvsd_check_start_lateness_seconds_bucket{le=\"%g\"} %llu\n",
			(double)late_le_us[i] / 1e6, U(cum[i]));
	fprintf(f, "lvsd_check_start_lateness_seconds_bucket{le=\"+Inf\"} %llu\n", U(count));
	fprintf(f, "lvsd_check_start_lateness_seconds_sum %.6f\n", (double)sum_us / 1e6);
	fprintf(f, "lvsd_check_start_lateness_seconds_count %llu\n", U(count));
}

static void prom_daemon(FILE *f, const struct lvsd *d)
{
	struct lvsd_totals t;

	lvsd_totals(d, &t);
	family(f, "lvsd_frames_received_total", "counter", "Frames the workers received.");
	fprintf(f, "lvsd_frames_received_total %llu\n", U(t.rx));
	family(f, "lvsd_frames_forwarded_total", "counter", "Frames the workers forwarded.");
	fprintf(f, "lvsd_frames_forwarded_total %llu\n", U(t.tx));
	family(f, "lvsd_frames_passed_total", "counter",
	       "Frames that were not the director's (left to the host).");
	fprintf(f, "lvsd_frames_passed_total %llu\n", U(t.pass));
	family(f, "lvsd_frames_dropped_total", "counter", "Frames dropped (lvsd_drops_total: why).");
	fprintf(f, "lvsd_frames_dropped_total %llu\n", U(t.drop));
	family(f, "lvsd_drops_total", "counter", "Frames dropped, by reason.");
	for (int r = 1; r < LVS_DROP__COUNT; r++)
		fprintf(f, "lvsd_drops_total{reason=\"%s\"} %llu\n", lvs_drop_name(r), U(t.d.n[r]));
	family(f, "lvsd_connections", "gauge", "Entries in the connection table.");
	fprintf(f, "lvsd_connections %u\n", d->dir.ct ? lvs_conn_table_count(d->dir.ct) : 0);
	family(f, "lvsd_connections_max", "gauge", "The connection table's size.");
	fprintf(f, "lvsd_connections_max %u\n", d->max_conns);
	family(f, "lvsd_connections_created_total", "counter", "Connection entries created.");
	fprintf(f, "lvsd_connections_created_total %llu\n", U(t.conns_created));
	if (d->loop) {
		struct lvsd_loop_stats ls;

		lvsd_loop_get_stats(d->loop, &ls);
		family(f, "lvsd_control_longest_callback_seconds", "gauge",
		       "The control thread's longest callback since the start.");
		fprintf(f, "lvsd_control_longest_callback_seconds %.6f\n",
			(double)ls.longest_ns / 1e9);
		family(f, "lvsd_control_callbacks_total", "counter",
		       "Callbacks the control thread ran.");
		fprintf(f, "lvsd_control_callbacks_total %llu\n", U(ls.callbacks));
	}
}

static int finish(FILE *f, int rc)
{
	if (!rc && (fflush(f) || ferror(f)))
		rc = -EIO;
	return rc;
}

int lvsd_metrics_prom(const struct lvsd *d, FILE *f)
{
	struct doc x;
	int rc = doc_build(d, &x);

	if (rc)
		return rc;
	prom_model(f, &x.v);
	prom_checks(f, x.checks, x.nchecks);
	prom_late(f, d->checks);
	prom_daemon(f, d);
	if (d->vrrp)
		lvsd_vrrp_metrics(d->vrrp, f);
	lvs_sync_print_metrics(d, f);
	lvsd_fast_prom(d->fast, f);
	doc_free(&x);
	return finish(f, 0);
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_counters(FILE *f, const struct lvs_counters *c)
{
	fprintf(f,
		"{\"conns\":%llu,\"inpkts\":%llu,\"outpkts\":%llu,\"inbytes\":%llu,"
		"\"outbytes\":%llu}",
		U(c->conns), U(c->inpkts), U(c->outpkts), U(c->inbytes), U(c->outbytes));
}

static void json_rate(FILE *f, const struct lvs_est *e, bool on)
{
	struct lvs_rate r = {0};

	if (on)
		lvs_est_read(e, &r);
	fprintf(f, "{\"cps\":%llu,\"inpps\":%llu,\"outpps\":%llu,\"inbps\":%llu,\"outbps\":%llu}",
		U(r.cps), U(r.inpps), U(r.outpps), U(r.inbps), U(r.outbps));
}

static const char *fwd_name(uint8_t fwd)
{
	static const char *const n[] = {"Masq", "Local", "Tunnel", "Route"};

	return fwd < 4 ? n[fwd] : "?";
}

static const char *health_name(enum lvs_dest_health h)
{
	return h == LVS_DEST_UP ? "up" : h == LVS_DEST_QUIESCED ? "quiesced" : "down";
}

static void json_dest(FILE *f, const struct vsvc *s, const struct vdest *d)
{
	const struct lvs_dest *cur = in_force(d);
	char a[INET6_ADDRSTRLEN], name[INET6_ADDRSTRLEN + 8];
	struct lvs_counters st;

	(void)s;
	lvs_addr_str(d->c->af, &d->c->addr, a, sizeof(a));
	snprintf(name, sizeof(name), d->c->af == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 ntohs(d->c->port));
	fputs("{\"name\":", f);
	json_str(f, name);
	fputs(",\"address\":", f);
	json_str(f, a);
	fprintf(f, ",\"port\":%u,\"fwd\":\"%s\",\"weight\":%d,\"configured_weight\":%d,"
		"\"health\":\"%s\",\"reason\":",
		ntohs(d->c->port), fwd_name(d->c->fwd), cur ? (int)cur->c.weight : 0,
		(int)d->c->weight, health_name(d->health));
	json_str(f, d->reason);
	fprintf(f, ",\"active\":%d,\"inactive\":%d,\"stats\":",
		__atomic_load_n(&d->st->activeconns, __ATOMIC_RELAXED),
		__atomic_load_n(&d->st->inactconns, __ATOMIC_RELAXED));
	lvs_dest_state_stats(d->st, &st);
	json_counters(f, &st);
	fputs(",\"rate\":", f);
	json_rate(f, &d->st->est, d->st->est_on);
	fputc('}', f);
}

static void json_svc(FILE *f, const struct view *v, const struct vsvc *s)
{
	const struct lvs_svc_conf *c = &s->svc->c;
	char a[INET6_ADDRSTRLEN] = "", name[INET6_ADDRSTRLEN + 32];

	if (c->fwmark) {
		snprintf(name, sizeof(name), "FWM  %u", c->fwmark);
	} else {
		lvs_addr_str(c->af, &c->addr, a, sizeof(a));
		snprintf(name, sizeof(name), c->af == AF_INET6 ? "%s  [%s]:%u" : "%s  %s:%u",
			 proto_name(c), a, ntohs(c->port));
	}
	fputs("{\"name\":", f);
	json_str(f, name);
	fprintf(f, ",\"proto\":\"%s\",\"address\":", proto_name(c));
	json_str(f, a);
	fprintf(f, ",\"port\":%u,\"fwmark\":%u,\"scheduler\":", c->fwmark ? 0 : ntohs(c->port),
		c->fwmark);
	json_str(f, c->sched);
	fprintf(f, ",\"persistent\":%u,\"stats\":",
		c->flags & LVS_SVC_F_PERSISTENT ? c->timeout : 0);
	json_counters(f, &s->stats);
	fputs(",\"rate\":", f);
	json_rate(f, &s->svc->st->est, s->svc->st->est_on);
	fputs(",\"servers\":[", f);
	for (unsigned j = 0; j < s->n; j++) {
		if (j)
			fputc(',', f);
		json_dest(f, s, &v->dests[s->first + j]);
	}
	fputs("]}", f);
}

int lvsd_metrics_json(const struct lvsd *d, FILE *f)
{
	struct lvsd_totals t;
	struct doc x;
	int rc = doc_build(d, &x);
	const struct vcheck *checks = x.checks;
	unsigned nchecks = x.nchecks;

	if (rc)
		return rc;
	lvsd_totals(d, &t);
	fprintf(f,
		"{\"frames\":{\"received\":%llu,\"forwarded\":%llu,\"passed\":%llu,"
		"\"dropped\":%llu},\"connections\":%u,\"connections_max\":%u,\"workers\":%u",
		U(t.rx), U(t.tx), U(t.pass), U(t.drop),
		d->dir.ct ? lvs_conn_table_count(d->dir.ct) : 0, d->max_conns, d->nworkers);
	if (d->loop) {
		struct lvsd_loop_stats ls;

		lvsd_loop_get_stats(d->loop, &ls);
		fprintf(f, ",\"control\":{\"longest_ms\":%.3f,\"longest\":",
			(double)ls.longest_ns / 1e6);
		json_str(f, ls.longest_name);
		fputc('}', f);
	}
	fputs(",\"drops\":{", f);
	for (int r = 1, first = 1; r < LVS_DROP__COUNT; r++)
		if (t.d.n[r]) {
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",", lvs_drop_name(r), U(t.d.n[r]));
			first = 0;
		}
	fputs("},\"services\":[", f);
	for (unsigned i = 0; i < x.v.nsvcs; i++) {
		if (i)
			fputc(',', f);
		json_svc(f, &x.v, &x.v.svcs[i]);
	}
	fputs("],\"checks\":[", f);
	for (unsigned i = 0; i < nchecks; i++) {
		char a[INET6_ADDRSTRLEN] = "";

		if (checks[i].ci.af)
			lvs_addr_str(checks[i].ci.af, &checks[i].ci.addr, a, sizeof(a));
		fputs(i ? ",{\"type\":" : "{\"type\":", f);
		json_str(f, checks[i].ci.type);
		fputs(",\"address\":", f);
		json_str(f, a);
		fprintf(f, ",\"port\":%u,\"up\":%s,\"probes\":%llu,\"failures\":%llu,"
			"\"last_ms\":%.3f,\"reason\":",
			checks[i].ci.port, checks[i].ci.up ? "true" : "false", U(checks[i].ci.probes),
			U(checks[i].ci.failures), (double)checks[i].ci.last_ns / 1e6);
		json_str(f, checks[i].ci.why);
		fputc('}', f);
	}
	fputs("]}\n", f);
	doc_free(&x);
	return finish(f, 0);
}
