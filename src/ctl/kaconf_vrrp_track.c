/*
 * kaconf_vrrp_track.c - keepalived.conf's VRRP tracking and grouping:
 * track_interface and track_script blocks, the notify scripts (both of
 * vrrp_instance and vrrp_sync_group), vrrp_sync_group and vrrp_script, as
 * keepalived's vrrp/vrrp_parser.c and vrrp/vrrp_track.c read them.
 * Scripts are found by name once the whole file is read
 * (kaconf_vrrp_check.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

/* ---- tracking ---- */

struct track_ctx {
	const char *owner;           /* instance or group name, for messages */
	struct ka_vrrp_track **list;
	bool script;
};

/* IF|NAME [weight N [reverse|noreverse]] (keepalived's alloc_track_if and
 * alloc_track_script; the script is found once the file is read). */
static void track_line(struct parser *p, const struct stmt *ls, void *obj)
{
	struct track_ctx *x = obj;
	struct ka_vrrp_track *t = ka_alloc(p->c, sizeof(*t)), **tail;
	const char *name = ls->kw->s, *what = x->script ? "track_script" : "track_interface";
	long w;

	t->loc = ls->loc;
	t->name = ka_strdup(p->c, name);
	for (tail = x->list; *tail; tail = &(*tail)->next)
		if (!strcmp((*tail)->name, name)) {
			ka_diag(p->c, KA_WARN, &ls->loc, "(%s) duplicate %s %s - ignoring", x->owner, what,
				name);
			return;
		}
	if (ls->n >= 1) {
		if (strcmp(ls->a[0].s, "weight")) {
			ka_diag(p->c, KA_ERROR, &ls->loc, "(%s) unknown %s %s option %s - ignoring",
				x->owner, what, name, ls->a[0].s);
			return;
		}
		if (ls->n == 1) {
			ka_diag(p->c, KA_ERROR, &ls->loc,
				"(%s) weight without value specified for %s %s - ignoring", x->owner, what,
				name);
			return;
		}
		if (!ka_read_int(ls->a[1].s, -254, 254, &w)) {
			ka_diag(p->c, KA_ERROR, &ls->loc,
				"(%s) weight %s for %s must be between [-253..253] inclusive. Ignoring...",
				x->owner, ls->a[1].s, name);
			w = 0;
		} else if (w == -254 || w == 254) {
			ka_diag(p->c, KA_WARN, &ls->loc,
				"(%s) weight for %s cannot be +/-254. Setting to +/-253", x->owner, name);
			w = w < 0 ? -253 : 253;
		}
		t->weight = (int32_t)w;
		t->weight_set = true;
		if (ls->n >= 3) {
			if (!strcmp(ls->a[2].s, "reverse"))
				t->reverse = true;
			else if (!(x->script && !strcmp(ls->a[2].s, "noreverse")))
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"(%s) unknown %s %s weight option %s - ignoring", x->owner, what,
					name, ls->a[2].s);
		}
	}
	if (!x->script && strlen(name) > KA_VRRP_MAX_IFNAME) {
		ka_diag(p->c, KA_ERROR, &ls->loc, "Interface name '%s' too long - ignoring", name);
		return;
	}
	*tail = t;
}

static void track_block(struct parser *p, const struct stmt *st, const char *owner,
			struct ka_vrrp_track **ifs, struct ka_vrrp_track **scripts)
{
	bool script = !strcmp(st->kw->s, "track_script");
	struct track_ctx x = {.owner = owner, .list = script ? scripts : ifs, .script = script};

	ka_value_block(p, st, track_line, &x);
}

void ka_vrrp_track_kw(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	track_block(p, st, v->name, &v->track_ifs, &v->track_scripts);
}

static void g_track(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_sync_group *g = obj;

	track_block(p, st, g->name, &g->track_ifs, &g->track_scripts);
}

/* notify_master SCRIPT..., notify_backup, notify_fault, notify_stop,
 * notify: the first one given is kept. */
static void notify_kw(struct parser *p, const struct stmt *st, struct ka_vrrp_notify *nt,
		      const char *prefix)
{
	const char *kw = st->kw->s;
	char **f = !strcmp(kw, "notify_master")   ? &nt->master
		   : !strcmp(kw, "notify_backup") ? &nt->backup
		   : !strcmp(kw, "notify_fault")  ? &nt->fault
		   : !strcmp(kw, "notify_stop")   ? &nt->stop
						  : &nt->any;

	if (!ka_need_args(p, st, 1))
		return;
	if (*f) {
		ka_diag(p->c, KA_WARN, &st->loc, "%s%s script already specified - ignoring %s", prefix,
			kw, st->a[0].s);
		return;
	}
	*f = ka_join_args(p, st);
}

void ka_vrrp_notify_kw(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "(%s) ", v->name);
	notify_kw(p, st, &v->notify, prefix);
}

static void g_notify(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_sync_group *g = obj;
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "vrrp group %s: ", g->name);
	notify_kw(p, st, &g->notify, prefix);
}

/* ---- vrrp_sync_group ---- */

static void group_line(struct parser *p, const struct stmt *ls, void *obj)
{
	struct ka_vrrp_sync_group *g = obj;
	unsigned n = g->nmembers + 1 + ls->n;
	char **m = ka_alloc(p->c, n * sizeof(*m));
	struct ka_loc *l = ka_alloc(p->c, n * sizeof(*l));

	/* arena memory: the old arrays stay until the config is freed */
	if (g->nmembers) {
		memcpy(m, g->members, g->nmembers * sizeof(*m));
		memcpy(l, g->member_locs, g->nmembers * sizeof(*l));
	}
	for (unsigned i = 0; i <= ls->n; i++) {
		m[g->nmembers] = ka_strdup(p->c, i ? ls->a[i - 1].s : ls->kw->s);
		l[g->nmembers++] = ls->loc;
	}
	g->members = m;
	g->member_locs = l;
}

static void g_group(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_sync_group *g = obj;

	if (g->group_seen) {
		ka_diag(p->c, KA_WARN, &st->loc, "Group list already specified for sync group %s",
			g->name);
		if (st->block)
			ka_skip_block(p, &st->loc);
		return;
	}
	g->group_seen = true;
	ka_value_block(p, st, group_line, g);
	if (!g->nmembers)
		ka_diag(p->c, KA_WARN, &st->loc, "Warning - sync group %s has empty group block",
			g->name);
}

static void g_global_tracking(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_sync_group *g = obj;

	if (!strcmp(st->kw->s, "global_tracking"))
		ka_diag(p->c, KA_WARN, &st->loc,
			"(%s) global_tracking is deprecated. Use track_interface/script/file on the "
			"sync group", g->name);
	g->tracking_weight = true;
}

static const struct kw vsync_kws[] = {
	{"group", K_FN, true, 0, 0, 0, g_group},
	{"track_interface", K_FN, true, 0, 0, 0, g_track},
	{"track_script", K_FN, true, 0, 0, 0, g_track},
	{"notify_master", K_FN, false, 0, 0, 0, g_notify},
	{"notify_backup", K_FN, false, 0, 0, 0, g_notify},
	{"notify_fault", K_FN, false, 0, 0, 0, g_notify},
	{"notify_stop", K_FN, false, 0, 0, 0, g_notify},
	{"notify", K_FN, false, 0, 0, 0, g_notify},
	{"smtp_alert", K_NOEFFECT, false, 0, 0, 0, NULL},
	{"global_tracking", K_FN, false, 0, 0, 0, g_global_tracking},
	{"sync_group_tracking_weight", K_FN, false, 0, 0, 0, g_global_tracking},
	KA_NOTYET("notify_priority_changes"),
	KA_NOTYET_BLOCK("track_file"),
	KA_NOTYET_BLOCK("track_process"),
	KA_NOTYET_BLOCK("track_bfd"),
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_top_vsync(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_sync_group *g, **tail;
	(void)obj;

	if (!ka_named_block(p, st, "vrrp_sync_group must have a name - skipping"))
		return;
	for (tail = &p->c->vsyncs; *tail; tail = &(*tail)->next)
		if (!strcmp((*tail)->name, st->a[0].s)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "vrrp sync group %s already defined",
				st->a[0].s);
			ka_skip_block(p, &st->loc);
			return;
		}
	g = ka_alloc(p->c, sizeof(*g));
	g->loc = st->loc;
	g->name = ka_strdup(p->c, st->a[0].s);
	ka_parse_block(p, vsync_kws, g, "vrrp_sync_group", &st->loc);
	if (!g->nmembers) {
		ka_diag(p->c, KA_WARN, &st->loc, "Sync group %s has no members - removing", g->name);
		return;
	}
	*tail = g;
}

/* ---- vrrp_script ---- */

/* interval / timeout: seconds with up to 3 decimals; 0 becomes 1 s. */
static void s_time(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_script *s = obj;
	bool interval = !strcmp(st->kw->s, "interval");
	uint64_t us;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_timer(st->a[0].s, 0, &us) || us % 1000 || us > (uint64_t)UINT_MAX * 1000) {
		if (interval)
			ka_diag(p->c, KA_ERROR, &st->loc,
				"(%s): vrrp script interval '%s' must be between 0.001 and %u - ignoring",
				s->name, st->a[0].s, UINT_MAX / (unsigned)KA_USEC);
		else
			ka_diag(p->c, KA_ERROR, &st->loc,
				"(%s): vrrp script timeout '%s' invalid - ignoring", s->name, st->a[0].s);
		return;
	}
	if (!us) {
		ka_diag(p->c, KA_WARN, &st->loc,
			"(%s): vrrp script %s must be greater than 0, setting to 1", s->name, st->kw->s);
		us = KA_USEC;
	}
	*(interval ? &s->interval : &s->timeout) = us;
}

static void s_weight(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_script *s = obj;
	long w;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_read_int(st->a[0].s, -253, 253, &w))
		ka_diag(p->c, KA_ERROR, &st->loc, "vrrp_script %s weight %s must be in [-253, 253]",
			s->name, st->a[0].s);
	else
		s->weight = (int32_t)w;
	if (st->n >= 2) {
		if (!strcmp(st->a[1].s, "reverse"))
			s->reverse = true;
		else
			ka_diag(p->c, KA_ERROR, &st->loc, "vrrp_script %s unknown weight option %s",
				s->name, st->a[1].s);
	}
}

static void s_rise_fall(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_script *s = obj;
	uint32_t *f = !strcmp(st->kw->s, "rise") ? &s->rise : &s->fall;

	if (ka_need_args(p, st, 1) && !ka_parse_u32(st->a[0].s, 1, INT_MAX, f)) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"(%s): vrrp script %s value '%s' invalid, defaulting to 1", s->name, st->kw->s,
			st->a[0].s);
		*f = 1;
	}
}

static void s_user(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_script *s = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (st->n > 2) {
		ka_diag(p->c, KA_ERROR, &st->loc, "user takes a user and a group at most");
		return;
	}
	s->user = ka_strdup(p->c, st->a[0].s);
	if (st->n > 1)
		s->group = ka_strdup(p->c, st->a[1].s);
}

static const struct kw vscript_kws[] = {
	{"script", K_LINE, false, F(struct ka_vrrp_script, script), 0, 0, NULL},
	{"interval", K_FN, false, 0, 0, 0, s_time},
	{"timeout", K_FN, false, 0, 0, 0, s_time},
	{"weight", K_FN, false, 0, 0, 0, s_weight},
	{"rise", K_FN, false, 0, 0, 0, s_rise_fall},
	{"fall", K_FN, false, 0, 0, 0, s_rise_fall},
	{"user", K_FN, false, 0, 0, 0, s_user},
	{"init_fail", K_FLAG, false, F(struct ka_vrrp_script, init_fail), 0, 0, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_top_vscript(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_script *s, **tail;
	(void)obj;

	if (!ka_named_block(p, st, "vrrp_script must have a name"))
		return;
	s = ka_alloc(p->c, sizeof(*s));
	s->loc = st->loc;
	s->name = ka_strdup(p->c, st->a[0].s);
	s->interval = KA_USEC;
	s->rise = s->fall = 1;
	ka_parse_block(p, vscript_kws, s, "vrrp_script", &st->loc);
	if (!s->script) {
		ka_diag(p->c, KA_WARN, &st->loc, "No script set for vrrp_script %s - removing",
			s->name);
		return;
	}
	for (tail = &p->c->vscripts; *tail; tail = &(*tail)->next)
		if (!strcmp((*tail)->name, s->name)) {
			ka_diag(p->c, KA_WARN, &st->loc,
				"vrrp_script %s defined twice - the first one is used", s->name);
			return;
		}
	*tail = s;
}
