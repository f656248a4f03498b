/*
 * kaconf_vs.c - keepalived.conf's virtual_server (by address, fwmark or
 * group), its real_server and sorry_server entries, and
 * virtual_server_group, as keepalived's check/check_parser.c and
 * check/check_data.c read them (keyword names, argument forms, ranges;
 * "10.0.0.31-33" ranges the last octet, or the last 16-bit group of an
 * IPv6 address).  Defaults are filled in later (kaconf_check.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

/* ---- forwarding method (lvs_method / lb_kind, sorry_server_lvs_method) ---- */

void ka_parse_fwd(struct parser *p, const struct stmt *st, int *fwd, uint8_t *tun_type,
		      uint16_t *tun_port, uint16_t *tun_flags)
{
	uint8_t type = LVS_TUN_IPIP;
	uint16_t flags = LVS_TUN_F_NOCSUM;
	uint16_t port = 0;
	int f;

	if (!ka_need_args(p, st, 1))
		return;
	if (!strcmp(st->a[0].s, "NAT"))
		f = LVS_FWD_MASQ;
	else if (!strcmp(st->a[0].s, "DR"))
		f = LVS_FWD_ROUTE;
	else if (!strcmp(st->a[0].s, "TUN"))
		f = LVS_FWD_TUNNEL;
	else {
		ka_diag(p->c, KA_ERROR, &st->loc, "unknown %s '%s' (NAT, DR or TUN)", st->kw->s,
			st->a[0].s);
		return;
	}
	for (unsigned i = 1; i < st->n; i++) {
		const char *w = st->a[i].s;

		if (f != LVS_FWD_TUNNEL) {
			ka_diag(p->c, KA_ERROR, &st->loc, "%s %s: unexpected '%s'", st->kw->s,
				st->a[0].s, w);
			return;
		}
		if (!strcmp(w, "type")) {
			if (++i == st->n) {
				ka_diag(p->c, KA_ERROR, &st->loc, "missing tunnel type");
				return;
			}
			w = st->a[i].s;
			if (!strcmp(w, "ipip"))
				type = LVS_TUN_IPIP;
			else if (!strcmp(w, "gue"))
				type = LVS_TUN_GUE;
			else if (!strcmp(w, "gre"))
				type = LVS_TUN_GRE;
			else {
				ka_diag(p->c, KA_ERROR, &st->loc, "unknown tunnel type '%s' (ipip, gue, gre)", w);
				return;
			}
		} else if (!strcmp(w, "port")) {
			uint32_t v;

			if (++i == st->n || !ka_parse_u32(st->a[i].s, 1, 65535, &v)) {
				ka_diag(p->c, KA_ERROR, &st->loc, "invalid gue tunnel port%s%s (1..65535)",
					i < st->n ? " " : "", i < st->n ? st->a[i].s : "");
				return;
			}
			port = (uint16_t)v;
		} else if (!strcmp(w, "nocsum"))
			flags = LVS_TUN_F_NOCSUM;
		else if (!strcmp(w, "csum"))
			flags = LVS_TUN_F_CSUM;
		else if (!strcmp(w, "remcsum"))
			flags = LVS_TUN_F_REMCSUM;
		else {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid tunnel option '%s'", w);
			return;
		}
	}
	if ((type == LVS_TUN_GUE) != (port != 0)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "gue tunnels require port, otherwise cannot have port.");
		return;
	}
	if (type == LVS_TUN_IPIP && flags != LVS_TUN_F_NOCSUM) {
		ka_diag(p->c, KA_ERROR, &st->loc, "ipip tunnels do not support checksum option.");
		return;
	}
	if (type == LVS_TUN_GRE && flags == LVS_TUN_F_REMCSUM) {
		ka_diag(p->c, KA_ERROR, &st->loc, "gre tunnels do not support remote checksum option.");
		return;
	}
	*fwd = f;
	*tun_type = type;
	*tun_port = port;
	*tun_flags = flags;
}

/* ---- real_server ---- */

static void rs_fwd(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_rs *rs = obj;

	ka_parse_fwd(p, st, &rs->fwd, &rs->tun_type, &rs->tun_port, &rs->tun_flags);
}

static void rs_weight(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_rs *rs = obj;
	uint32_t w;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_u32(st->a[0].s, 0, LVS_MAX_WEIGHT, &w)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "Real server weight %s is outside range 0-%d",
			st->a[0].s, LVS_MAX_WEIGHT);
		return;
	}
	rs->weight = w;
}

#define RS_CHECKER(n) {n, K_FN, true, 0, 0, 0, ka_parse_checker}

static const struct kw rs_kws[] = {
	{"weight", K_FN, false, 0, 0, 0, rs_weight},
	{"lvs_method", K_FN, false, 0, 0, 0, rs_fwd},
	{"lb_kind", K_FN, false, 0, 0, 0, rs_fwd},
	{"uthreshold", K_U32, false, F(struct ka_rs, u_threshold), 0, UINT32_MAX, NULL},
	{"lthreshold", K_U32, false, F(struct ka_rs, l_threshold), 0, UINT32_MAX, NULL},
	{"inhibit_on_failure", K_TRI, false, F(struct ka_rs, inhibit), 0, 0, NULL},
	{"notify_up", K_LINE, false, F(struct ka_rs, notify_up), 0, 0, NULL},
	{"notify_down", K_LINE, false, F(struct ka_rs, notify_down), 0, 0, NULL},
	{"alpha", K_TRI, false, F(struct ka_rs, alpha), 0, 0, NULL},
	{"retry", K_U32, false, F(struct ka_rs, retry), 1, UINT32_MAX - 1, NULL},
	{"delay_before_retry", K_TIMER, false, F(struct ka_rs, delay_before_retry), 0, 0, NULL},
	{"warmup", K_TIMER, false, F(struct ka_rs, warmup), 0, 0, NULL},
	{"connect_timeout", K_TIMER, false, F(struct ka_rs, connect_timeout), 1, 0, NULL},
	{"delay_loop", K_TIMER, false, F(struct ka_rs, delay_loop), 1, 0, NULL},
	{"smtp_alert", K_TRI, false, F(struct ka_rs, smtp_alert), 0, 0, NULL},
	{"virtualhost", K_STR, false, F(struct ka_rs, virtualhost), 0, 0, NULL},
	{"snmp_name", K_NOTYET, false, 0, 0, 0, NULL},
	{"track_bfd", K_NOTYET, false, 0, 0, 0, NULL},
	{"BFD_CHECK", K_NOTYET, true, 0, 0, 0, NULL},
	RS_CHECKER("TCP_CHECK"),
	RS_CHECKER("HTTP_GET"),
	RS_CHECKER("SSL_GET"),
	RS_CHECKER("SMTP_CHECK"),
	RS_CHECKER("MISC_CHECK"),
	RS_CHECKER("UDP_CHECK"),
	RS_CHECKER("DNS_CHECK"),
	RS_CHECKER("PING_CHECK"),
	RS_CHECKER("FILE_CHECK"),
	{NULL, 0, 0, 0, 0, 0, NULL},
};

/* A real or sorry server's address and port; NULL after an error. */
static struct ka_rs *new_server(struct parser *p, const struct stmt *st, const struct ka_vs *vs)
{
	struct ka_rs *rs;

	if (!ka_need_args(p, st, 1))
		return NULL;
	rs = ka_alloc(p->c, sizeof(*rs));
	rs->loc = st->loc;
	if (!ka_parse_addr(st->a[0].s, &rs->addr)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid %s address '%s'", st->kw->s, st->a[0].s);
		return NULL;
	}
	if (st->n > 1 && !ka_parse_port(p, &st->a[1], &rs->port))
		return NULL;
	if (st->n > 2)
		ka_diag(p->c, KA_ERROR, &st->loc, "%s: unexpected '%s'", st->kw->s, st->a[2].s);
	rs->weight = -1;
	rs->fwd = vs->fwd;
	rs->tun_type = vs->tun_type;
	rs->tun_port = vs->tun_port;
	rs->tun_flags = vs->tun_flags;
	rs->inhibit = rs->alpha = rs->smtp_alert = -1;
	rs->retry = KA_UNSET_U32;
	rs->delay_before_retry = rs->warmup = rs->connect_timeout = rs->delay_loop = KA_UNSET_TIME;
	return rs;
}

static void vs_real_server(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;
	struct ka_rs *rs = new_server(p, st, vs), **tail = &vs->rs;

	if (!rs) {
		if (st->block)
			ka_skip_block(p, &st->loc);
		return;
	}
	ka_sub_block(p, st, rs_kws, rs, "real_server");
	/* rs_end_handler: a tunnelled server may be of another family */
	if (rs->fwd != LVS_FWD_TUNNEL) {
		if (vs->af == AF_UNSPEC)
			vs->af = rs->addr.af;
		else if (vs->af != rs->addr.af) {
			ka_diag(p->c, KA_WARN, &st->loc,
				"Address family of virtual server and real server %s don't match - "
				"skipping real server.", st->a[0].s);
			return;
		}
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = rs;
	vs->nrs++;
}

/* ---- virtual_server ---- */

static void vs_fwd(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;

	ka_parse_fwd(p, st, &vs->fwd, &vs->tun_type, &vs->tun_port, &vs->tun_flags);
}

static void vs_sched(struct parser *p, const struct stmt *st, void *obj)
{
	static const char *const scheds[] = {"rr",  "wrr", "lc", "wlc", "lblc", "sh",  "mh",
					     "dh",  "fo",  "ovf", "lblcr", "sed", "nq", "twos", NULL};
	struct ka_vs *vs = obj;

	if (!ka_need_args(p, st, 1))
		return;
	for (unsigned k = 0; scheds[k]; k++)
		if (!strcmp(st->a[0].s, scheds[k])) {
			snprintf(vs->sched, sizeof(vs->sched), "%s", scheds[k]);
			return;
		}
	ka_diag(p->c, KA_ERROR, &st->loc, "Invalid lvs_scheduler '%s'", st->a[0].s);
}

/* ops, flag-N, sh-/mh- flags: as keepalived's lbflags_handler, the sh
 * and mh flags count only after their scheduler was named. */
static void vs_flag(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;
	const char *s = st->kw->s;

	if (!strcmp(s, "ops"))
		vs->flags |= LVS_SVC_F_ONEPACKET;
	else if (!strcmp(s, "flag-1"))
		vs->flags |= LVS_SVC_F_SCHED1;
	else if (!strcmp(s, "flag-2"))
		vs->flags |= LVS_SVC_F_SCHED2;
	else if (!strcmp(s, "flag-3"))
		vs->flags |= LVS_SVC_F_SCHED3;
	else if (!strcmp(vs->sched, "sh") || !strcmp(vs->sched, "mh")) {
		bool sh = vs->sched[0] == 's';

		if (!strcmp(s, sh ? "sh-port" : "mh-port"))
			vs->flags |= LVS_SVC_F_SCHED2;
		else if (!strcmp(s, sh ? "sh-fallback" : "mh-fallback"))
			vs->flags |= LVS_SVC_F_SCHED1;
		/* keepalived takes the other scheduler's flags (and "hashed")
		 * silently here and sets nothing */
	} else
		ka_diag(p->c, KA_WARN, &st->loc, "%s only applies to sh scheduler - ignoring", s);
}

static void vs_persist(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;

	if (!st->n) {
		vs->persistence_timeout = LVS_DEF_PERSIST_TIMEOUT;
		return;
	}
	/* LVS_MAX_TIMEOUT in keepalived: 86400 * 31 */
	if (!ka_parse_u32(st->a[0].s, 1, 86400 * 31, &vs->persistence_timeout))
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid persistence_timeout '%s' (1..%u)",
			st->a[0].s, 86400 * 31);
}

static void vs_granularity(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;
	uint8_t af = vs->af;

	if (!ka_need_args(p, st, 1))
		return;
	if (af == AF_UNSPEC)
		af = strchr(st->a[0].s, '.') ? AF_INET : AF_INET6;
	if (af == AF_INET6) {
		if (!ka_parse_u32(st->a[0].s, 1, 128, &vs->granularity)) {
			ka_diag(p->c, KA_ERROR, &st->loc,
				"Invalid IPv6 persistence_granularity specified - %s", st->a[0].s);
			return;
		}
	} else {
		struct in_addr m;

		if (inet_pton(AF_INET, st->a[0].s, &m) != 1) {
			ka_diag(p->c, KA_ERROR, &st->loc,
				"Invalid IPv4 persistence_granularity specified - %s", st->a[0].s);
			return;
		}
		vs->granularity = m.s_addr;
	}
	vs->has_granularity = true;
	if (vs->af == AF_UNSPEC)
		vs->af = af;
	if (!vs->persistence_timeout)
		vs->persistence_timeout = LVS_DEF_PERSIST_TIMEOUT;
}

static void vs_proto(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (!strcasecmp(st->a[0].s, "TCP"))
		vs->proto = IPPROTO_TCP;
	else if (!strcasecmp(st->a[0].s, "UDP"))
		vs->proto = IPPROTO_UDP;
	else if (!strcasecmp(st->a[0].s, "SCTP"))
		vs->proto = IPPROTO_SCTP;
	else
		ka_diag(p->c, KA_ERROR, &st->loc, "unknown protocol '%s' (TCP, UDP or SCTP)",
			st->a[0].s);
}

static void vs_family(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;
	uint8_t af;

	if (!ka_need_args(p, st, 1))
		return;
	if (!strcmp(st->a[0].s, "inet"))
		af = AF_INET;
	else if (!strcmp(st->a[0].s, "inet6"))
		af = AF_INET6;
	else {
		ka_diag(p->c, KA_ERROR, &st->loc, "unknown address family %s", st->a[0].s);
		return;
	}
	if (vs->af != AF_UNSPEC && vs->af != af) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"Virtual server specified family %s conflicts with server family", st->a[0].s);
		return;
	}
	vs->af = af;
}

static void vs_sorry(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;
	struct ka_rs *rs = new_server(p, st, vs);

	if (!rs)
		return;
	rs->weight = 1;
	if (vs->sorry)
		ka_diag(p->c, KA_WARN, &st->loc, "sorry_server given twice - replacing");
	vs->sorry = rs;
}

static void vs_sorry_inhibit(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;

	if (vs->sorry)
		vs->sorry_inhibit = true;
	else
		ka_diag(p->c, KA_WARN, &st->loc,
			"Ignoring sorry_server inhibit used before or without sorry_server");
}

static void vs_sorry_fwd(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs = obj;

	if (!vs->sorry) {
		ka_diag(p->c, KA_WARN, &st->loc, "sorry_server forwarding used without sorry_server");
		return;
	}
	ka_parse_fwd(p, st, &vs->sorry->fwd, &vs->sorry->tun_type, &vs->sorry->tun_port,
		  &vs->sorry->tun_flags);
}

static const struct kw vs_kws[] = {
	{"ip_family", K_FN, false, 0, 0, 0, vs_family},
	{"retry", K_U32, false, F(struct ka_vs, retry), 1, UINT32_MAX - 1, NULL},
	{"delay_before_retry", K_TIMER, false, F(struct ka_vs, delay_before_retry), 0, 0, NULL},
	{"warmup", K_TIMER, false, F(struct ka_vs, warmup), 0, 0, NULL},
	{"connect_timeout", K_TIMER, false, F(struct ka_vs, connect_timeout), 1, 0, NULL},
	{"delay_loop", K_TIMER, false, F(struct ka_vs, delay_loop), 1, 0, NULL},
	{"inhibit_on_failure", K_FLAG, false, F(struct ka_vs, inhibit), 0, 0, NULL},
	{"lb_algo", K_FN, false, 0, 0, 0, vs_sched},
	{"lvs_sched", K_FN, false, 0, 0, 0, vs_sched},
	{"hashed", K_FN, false, 0, 0, 0, vs_flag},
	{"ops", K_FN, false, 0, 0, 0, vs_flag},
	{"flag-1", K_FN, false, 0, 0, 0, vs_flag},
	{"flag-2", K_FN, false, 0, 0, 0, vs_flag},
	{"flag-3", K_FN, false, 0, 0, 0, vs_flag},
	{"sh-port", K_FN, false, 0, 0, 0, vs_flag},
	{"sh-fallback", K_FN, false, 0, 0, 0, vs_flag},
	{"mh-port", K_FN, false, 0, 0, 0, vs_flag},
	{"mh-fallback", K_FN, false, 0, 0, 0, vs_flag},
	{"lb_kind", K_FN, false, 0, 0, 0, vs_fwd},
	{"lvs_method", K_FN, false, 0, 0, 0, vs_fwd},
	{"persistence_engine", K_STR, false, F(struct ka_vs, persistence_engine), 0, 0, NULL},
	{"persistence_timeout", K_FN, false, 0, 0, 0, vs_persist},
	{"persistence_granularity", K_FN, false, 0, 0, 0, vs_granularity},
	{"protocol", K_FN, false, 0, 0, 0, vs_proto},
	{"ha_suspend", K_FLAG, false, F(struct ka_vs, ha_suspend), 0, 0, NULL},
	{"smtp_alert", K_TRI, false, F(struct ka_vs, smtp_alert), 0, 0, NULL},
	{"virtualhost", K_STR, false, F(struct ka_vs, virtualhost), 0, 0, NULL},
	{"snmp_name", K_NOTYET, false, 0, 0, 0, NULL},
	{"alpha", K_FLAG, false, F(struct ka_vs, alpha), 0, 0, NULL},
	{"omega", K_FLAG, false, F(struct ka_vs, omega), 0, 0, NULL},
	{"quorum_up", K_LINE, false, F(struct ka_vs, quorum_up), 0, 0, NULL},
	{"quorum_down", K_LINE, false, F(struct ka_vs, quorum_down), 0, 0, NULL},
	{"quorum", K_U32, false, F(struct ka_vs, quorum), 1, UINT32_MAX, NULL},
	{"hysteresis", K_U32, false, F(struct ka_vs, hysteresis), 0, UINT32_MAX, NULL},
	{"weight", K_U32, false, F(struct ka_vs, weight), 1, LVS_MAX_WEIGHT, NULL},
	{"sorry_server", K_FN, false, 0, 0, 0, vs_sorry},
	{"sorry_server_inhibit", K_FN, false, 0, 0, 0, vs_sorry_inhibit},
	{"sorry_server_lvs_method", K_FN, false, 0, 0, 0, vs_sorry_fwd},
	{"real_server", K_FN, true, 0, 0, 0, vs_real_server},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_top_vs(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vs *vs, **tail = &p->c->vss;
	(void)obj;

	vs = ka_alloc(p->c, sizeof(*vs));
	vs->loc = st->loc;
	vs->fwd = -1;
	vs->quorum = 1;
	vs->connect_timeout = KA_DEF_CONNECT_TIMEOUT;
	vs->delay_loop = KA_DEF_DELAY_LOOP;
	vs->warmup = vs->delay_before_retry = KA_UNSET_TIME;
	vs->retry = KA_UNSET_U32;
	vs->weight = 1;
	vs->smtp_alert = -1;
	if (!ka_need_args(p, st, 2))
		goto bad;
	if (!strcmp(st->a[0].s, "group")) {
		vs->kind = KA_VS_GROUP;
		vs->group = ka_strdup(p->c, st->a[1].s);
	} else if (!strcmp(st->a[0].s, "fwmark")) {
		vs->kind = KA_VS_FWMARK;
		if (!ka_parse_u32(st->a[1].s, 1, UINT32_MAX, &vs->fwmark)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid virtual server fwmark '%s' (1..%u)",
				st->a[1].s, UINT32_MAX);
			goto bad;
		}
	} else {
		struct ka_addr a;

		vs->kind = KA_VS_ADDR;
		if (!ka_parse_addr(st->a[0].s, &a)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid virtual server address '%s'",
				st->a[0].s);
			goto bad;
		}
		vs->af = a.af;
		vs->addr = a.a;
		if (!ka_parse_port(p, &st->a[1], &vs->port))
			goto bad;
	}
	if (st->n > 2)
		ka_diag(p->c, KA_ERROR, &st->loc, "virtual_server: unexpected '%s'", st->a[2].s);
	if (!st->block) {
		ka_diag(p->c, KA_ERROR, &st->loc, "virtual_server without a { } block");
		return;
	}
	ka_parse_block(p, vs_kws, vs, "virtual_server", &st->loc);
	while (*tail)
		tail = &(*tail)->next;
	*tail = vs;
	p->c->nvs++;
	return;
bad:
	if (st->block)
		ka_skip_block(p, &st->loc);
}

/* ---- virtual_server_group ---- */

/* "10.0.0.31-33" (last octet / last 16-bit group), "A-B", "A/len", "A". */
static bool vsg_range(struct parser *p, const struct stmt *st, struct ka_vsg_entry *e)
{
	const char *s = st->kw->s;
	const char *dash = strchr(s, '-'), *slash = strchr(s, '/');
	char first[INET6_ADDRSTRLEN + 8];
	struct ka_addr a, b;
	size_t n = dash ? (size_t)(dash - s) : slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(first) || (dash && slash))
		goto bad;
	memcpy(first, s, n);
	first[n] = '\0';
	if (!ka_parse_addr(first, &a))
		goto bad;
	e->af = a.af;
	e->start = e->end = a.a;
	if (slash) {
		uint32_t len, max = a.af == AF_INET ? 32 : 128;
		union lvs_addr m;

		if (!ka_parse_u32(slash + 1, 1, max, &len)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "Invalid netmask - %s", s);
			return false;
		}
		for (unsigned k = 0; k < max / 8; k++) {
			unsigned bits = len > k * 8 ? len - k * 8 : 0;
			uint8_t hostbits = bits >= 8 ? 0 : (uint8_t)(0xff >> bits);

			if (a.a.b[k] & hostbits) {
				ka_diag(p->c, KA_ERROR, &st->loc,
					"Address mask bits not empty - %s", s);
				return false;
			}
			m.b[k] = hostbits;
			e->end.b[k] = a.a.b[k] | m.b[k];
		}
		return true;
	}
	if (!dash)
		return true;
	if (ka_parse_addr(dash + 1, &b)) {
		if (b.af != a.af) {
			ka_diag(p->c, KA_ERROR, &st->loc, "Range address families do not match %s", s);
			return false;
		}
		e->end = b.a;
	} else {
		/* the last octet (IPv4) or the last 16-bit group (IPv6, hex) */
		char *end;
		unsigned long v = strtoul(dash + 1, &end, a.af == AF_INET ? 10 : 16);

		if (*end || !dash[1] || v > (a.af == AF_INET ? 255ul : 65535ul))
			goto bad;
		if (a.af == AF_INET)
			e->end.b[3] = (uint8_t)v;
		else {
			e->end.b[14] = (uint8_t)(v >> 8);
			e->end.b[15] = (uint8_t)v;
		}
		if (memcmp(&e->end, &e->start, a.af == AF_INET ? 4 : 16) <= 0) {
			ka_diag(p->c, KA_ERROR, &st->loc,
				"Address range end is not greater than address range start - %s", s);
			return false;
		}
		return true;
	}
	if (memcmp(&e->end, &e->start, a.af == AF_INET ? 4 : 16) < 0) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"Address range end is less than address range start - %s", s);
		return false;
	}
	return true;
bad:
	ka_diag(p->c, KA_ERROR, &st->loc, "Invalid virtual server group IP address %s", s);
	return false;
}

void ka_top_vsg(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vsg *g, **tail = &p->c->vsgs;
	struct ka_vsg_entry **etail;
	struct stmt es;
	int r;
	(void)obj;

	if (!ka_need_args(p, st, 1) || !st->block) {
		if (st->block)
			ka_skip_block(p, &st->loc);
		else
			ka_diag(p->c, KA_ERROR, &st->loc, "virtual_server_group without a { } block");
		return;
	}
	g = ka_alloc(p->c, sizeof(*g));
	g->loc = st->loc;
	g->name = ka_strdup(p->c, st->a[0].s);
	etail = &g->entries;
	/* entries are lines of values, not keywords */
	while ((r = ka_next_stmt(p, &es)) == 1) {
		struct ka_vsg_entry *e = ka_alloc(p->c, sizeof(*e));
		bool ok = true;

		e->loc = es.loc;
		if (es.block) {
			ka_diag(p->c, KA_ERROR, &es.loc, "unexpected '{' in virtual_server_group");
			ka_skip_block(p, &es.loc);
			continue;
		}
		if (!strcmp(es.kw->s, "fwmark")) {
			e->is_fwmark = true;
			if (!es.n || !ka_parse_u32(es.a[0].s, 1, UINT32_MAX, &e->fwmark)) {
				ka_diag(p->c, KA_ERROR, &es.loc, "(%s): invalid fwmark '%s' (1..%u)",
					g->name, es.n ? es.a[0].s : "", UINT32_MAX);
				continue;
			}
			if (es.n > 1) {
				if (!strcmp(es.a[1].s, "inet"))
					e->af = AF_INET;
				else if (!strcmp(es.a[1].s, "inet6"))
					e->af = AF_INET6;
				else {
					ka_diag(p->c, KA_ERROR, &es.loc, "(%s): fwmark '%u' family %s unknown",
						g->name, e->fwmark, es.a[1].s);
					continue;
				}
			}
		} else {
			ok = vsg_range(p, &es, e);
			if (ok && es.n && !ka_parse_port(p, &es.a[0], &e->port))
				ok = false;
			if (ok && es.n > 1) {
				ka_diag(p->c, KA_ERROR, &es.loc, "unexpected '%s'", es.a[1].s);
				ok = false;
			}
		}
		if (!ok)
			continue;
		*etail = e;
		etail = &e->next;
		g->nentries++;
	}
	if (r == -1)
		ka_diag(p->c, KA_ERROR, &st->loc, "missing '}': the block opened here is not closed");
	if (!g->nentries) {
		ka_diag(p->c, KA_WARN, &st->loc, "virtual server group %s has no entries - removing",
			g->name);
		return;
	}
	for (struct ka_vsg *o = p->c->vsgs; o; o = o->next)
		if (!strcmp(o->name, g->name)) {
			ka_diag(p->c, KA_WARN, &st->loc,
				"virtual_server_group %s defined twice - the first one is used", g->name);
			return;
		}
	while (*tail)
		tail = &(*tail)->next;
	*tail = g;
}
