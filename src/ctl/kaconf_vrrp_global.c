/*
 * kaconf_vrrp_global.c - global_defs' VRRP keywords (vrrp_version,
 * vrrp_mcast_group4/6, vrrp_garp_*, vrrp_gna_interval, vrrp_strict,
 * vrrp_startup_delay, vrrp_lower_prio_no_advert,
 * vrrp_higher_prio_send_advert) and lvs_sync_daemon, as keepalived's
 * core/global_parser.c reads them; the instances take these defaults in
 * kaconf_vrrp_check.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

/* ---- global_defs ---- */

void ka_vrrp_global_init(struct ka_global *g)
{
	g->vrrp.garp_delay = KA_UNSET_TIME;
	g->vrrp.garp_rep = g->vrrp.garp_refresh_rep = KA_UNSET_U32;
	g->lvs_syncd.syncid = KA_UNSET_U32;
}

static void gv_version(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;

	if (ka_need_args(p, st, 1) && !ka_parse_u32(st->a[0].s, 2, 3, &g->vrrp.version))
		ka_diag(p->c, KA_ERROR, &st->loc, "VRRP Error: Version must be either 2 or 3");
}

static void gv_mcast(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	bool v6 = !strcmp(st->kw->s, "vrrp_mcast_group6");
	const char *s;
	struct ka_addr a;

	if (!ka_need_args(p, st, 1))
		return;
	s = st->a[0].s;
	if (!ka_parse_addr(s, &a)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "Can't parse %s [%s]. Skipping", st->kw->s, s);
		return;
	}
	if (a.af != (v6 ? AF_INET6 : AF_INET)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "%s [%s] is not IPv%c. Skipping", st->kw->s, s,
			v6 ? '6' : '4');
		return;
	}
	if (v6 ? a.a.b[0] != 0xff : (a.a.b[0] & 0xf0) != 0xe0) {
		ka_diag(p->c, KA_ERROR, &st->loc, "%s [%s] is not multicast. Skipping", st->kw->s, s);
		return;
	}
	if (v6 && (a.a.b[1] & 0x0f) != 2)
		ka_diag(p->c, KA_WARN, &st->loc, "%s [%s] should be link-local multicast.", st->kw->s,
			s);
	*(v6 ? &g->vrrp.mcast6 : &g->vrrp.mcast4) = a;
}

static void gv_garp(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	const char *kw = st->kw->s;
	bool delay = !strcmp(kw, "vrrp_garp_master_delay");
	uint32_t n;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_u32(st->a[0].s, 0, delay ? UINT_MAX / KA_USEC : UINT_MAX, &n)) {
		if (!strcmp(kw, "vrrp_garp_master_refresh"))
			ka_diag(p->c, KA_ERROR, &st->loc, "Invalid %s '%s' - ignoring", kw, st->a[0].s);
		else
			ka_diag(p->c, KA_ERROR, &st->loc, "%s '%s' invalid - ignoring", kw, st->a[0].s);
		return;
	}
	if (delay) {
		g->vrrp.garp_delay = n * KA_USEC;
		return;
	}
	if (!strcmp(kw, "vrrp_garp_master_refresh")) {
		g->vrrp.garp_refresh = n;
		return;
	}
	if (!n) {
		ka_diag(p->c, KA_WARN, &st->loc, "%s must be greater than 0, setting to 1", kw);
		n = 1;
	}
	*(!strcmp(kw, "vrrp_garp_master_repeat") ? &g->vrrp.garp_rep : &g->vrrp.garp_refresh_rep) = n;
}

/* vrrp_garp_interval, vrrp_gna_interval, vrrp_startup_delay: seconds
 * with up to 6 decimals. */
static void gv_interval(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	const char *kw = st->kw->s;
	bool startup = !strcmp(kw, "vrrp_startup_delay");
	uint64_t us;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_timer(st->a[0].s, 0, &us) || us < (startup ? 1000 : 1) || us > UINT_MAX) {
		ka_diag(p->c, KA_ERROR, &st->loc, "%s '%s' is invalid", kw, st->a[0].s);
		return;
	}
	if (startup)
		g->vrrp.startup_delay = us;
	else
		*(!strcmp(kw, "vrrp_garp_interval") ? &g->vrrp.garp_interval : &g->vrrp.gna_interval) =
			us;
}

/* yes/no keywords, true without an argument. */
static void gv_bool(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	const char *kw = st->kw->s;
	bool *f = !strcmp(kw, "vrrp_strict")		     ? &g->vrrp.strict
		  : !strcmp(kw, "vrrp_lower_prio_no_advert") ? &g->vrrp.lower_prio_no_advert
							     : &g->vrrp.higher_prio_send_advert;
	int v = 1;

	if (st->n) {
		v = !strcasecmp(st->a[0].s, "true") || !strcasecmp(st->a[0].s, "on") ||
				    !strcasecmp(st->a[0].s, "yes")
			    ? 1
		    : !strcasecmp(st->a[0].s, "false") || !strcasecmp(st->a[0].s, "off") ||
				    !strcasecmp(st->a[0].s, "no")
			    ? 0
			    : -1;
		if (v < 0) {
			if (f == &g->vrrp.strict)
				ka_diag(p->c, KA_ERROR, &st->loc,
					"Invalid value '%s' for global vrrp_strict specified", st->a[0].s);
			else
				ka_diag(p->c, KA_ERROR, &st->loc, "Invalid value for %s specified", kw);
			return;
		}
	}
	*f = v;
}

/* lvs_sync_daemon IF [[inst] INST] [id N] [maxlen N] [port N] [ttl N]
 * [group ADDR]; also the old IF INST [SYNCID]. */
static void gv_lvs_syncd(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	struct ka_lvs_syncd *s = &g->lvs_syncd;

	if (s->ifname) {
		ka_diag(p->c, KA_WARN, &st->loc,
			"lvs_sync_daemon has already been specified as %s %s - ignoring", s->ifname,
			s->inst ? s->inst : "");
		return;
	}
	if (!st->n) {
		ka_diag(p->c, KA_ERROR, &st->loc, "lvs_sync_daemon requires interface");
		return;
	}
	if (strlen(st->a[0].s) > KA_VRRP_MAX_IFNAME) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"lvs_sync_daemon interface name '%s' too long - ignoring", st->a[0].s);
		return;
	}
	s->loc = st->loc;
	s->ifname = ka_strdup(p->c, st->a[0].s);
	for (unsigned i = 1; i < st->n; i++) {
		static const struct {
			const char *name;
			uint32_t min, max;
		} opts[] = {{"id", 0, 255}, {"maxlen", 1, 65535 - 20 - 8}, {"port", 1, 65535},
			    {"ttl", 1, 255}};
		const char *o = st->a[i].s, *val = i + 1 < st->n ? st->a[i + 1].s : NULL;
		uint32_t *fields[] = {&s->syncid, &s->maxlen, &s->port, &s->ttl};
		unsigned k;

		if (!strcmp(o, "inst")) {
			if (s->inst)
				ka_diag(p->c, KA_WARN, &st->loc,
					"lvs_sync_daemon vrrp instance has already been specified as %s - "
					"ignoring", s->inst);
			else if (val)
				s->inst = ka_strdup(p->c, val);
			i++;
			continue;
		}
		for (k = 0; k < 4 && strcmp(o, opts[k].name); k++)
			;
		if (k < 4 || !strcmp(o, "group")) {
			if (!val) {
				ka_diag(p->c, KA_ERROR, &st->loc,
					"No value specified for lvs_sync_daemon %s - ignoring", o);
				continue;
			}
			i++;
			if (k < 4) {
				if (!ka_parse_u32(val, opts[k].min, opts[k].max, fields[k]))
					ka_diag(p->c, KA_ERROR, &st->loc,
						"Invalid lvs_sync_daemon %s (%s) - ignoring", o, val);
				continue;
			}
			if (!ka_parse_addr(val, &s->group))
				ka_diag(p->c, KA_ERROR, &st->loc,
					"Invalid lvs_sync_daemon group (%s) - ignoring", val);
			else if (s->group.af == AF_INET ? (s->group.a.b[0] & 0xf0) != 0xe0
							: s->group.a.b[0] != 0xff) {
				ka_diag(p->c, KA_ERROR, &st->loc,
					"lvs_sync_daemon group address %s is not multicast - ignoring", val);
				memset(&s->group, 0, sizeof(s->group));
			}
			continue;
		}
		if (i == 1 && !s->inst) {
			s->inst = ka_strdup(p->c, o);
			continue;
		}
		if (i == 2) {
			if (!ka_parse_u32(o, 0, 255, &s->syncid))
				ka_diag(p->c, KA_ERROR, &st->loc,
					"Invalid syncid (%s) - defaulting to vrid", o);
			else
				ka_diag(p->c, KA_WARN, &st->loc,
					"Please use keyword \"id\" before lvs_sync_daemon SYNCID");
			continue;
		}
		ka_diag(p->c, KA_ERROR, &st->loc, "Unknown option %s specified for lvs_sync_daemon", o);
	}
}

const struct kw ka_vrrp_global_kws[] = {
	{"vrrp_version", K_FN, false, 0, 0, 0, gv_version},
	{"vrrp_mcast_group4", K_FN, false, 0, 0, 0, gv_mcast},
	{"vrrp_mcast_group6", K_FN, false, 0, 0, 0, gv_mcast},
	{"vrrp_garp_master_delay", K_FN, false, 0, 0, 0, gv_garp},
	{"vrrp_garp_master_repeat", K_FN, false, 0, 0, 0, gv_garp},
	{"vrrp_garp_master_refresh", K_FN, false, 0, 0, 0, gv_garp},
	{"vrrp_garp_master_refresh_repeat", K_FN, false, 0, 0, 0, gv_garp},
	{"vrrp_garp_interval", K_FN, false, 0, 0, 0, gv_interval},
	{"vrrp_gna_interval", K_FN, false, 0, 0, 0, gv_interval},
	{"vrrp_startup_delay", K_FN, false, 0, 0, 0, gv_interval},
	{"vrrp_lower_prio_no_advert", K_FN, false, 0, 0, 0, gv_bool},
	{"vrrp_higher_prio_send_advert", K_FN, false, 0, 0, 0, gv_bool},
	{"vrrp_strict", K_FN, false, 0, 0, 0, gv_bool},
	{"lvs_sync_daemon", K_FN, false, 0, 0, 0, gv_lvs_syncd},
	{NULL, 0, 0, 0, 0, 0, NULL},
};
