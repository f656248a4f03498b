/*
 * kaconf.c - keepalived.conf's grammar: blocks and keywords into struct
 * ka_config (kaconf.h), for the parts lvsd implements (global_defs'
 * lvs_timeouts, virtual_server_group, virtual_server, real_server,
 * sorry_server, track_file) and the VRRP part it reads and checks
 * (vrrp_instance, vrrp_sync_group, vrrp_script); the other top-level
 * blocks are read past with one notice each.
 *
 * A statement is a keyword and the words after it on its line, with an
 * optional `{ ... }` block (its `{` may open on the next line).  The
 * keywords of each level are tables (struct kw): simple values are read
 * straight into their field by type (number with range, duration,
 * string, flag, yes/no), the others have a handler.  Keyword names,
 * their arguments and the defaults are keepalived's (check/check_parser.c,
 * check/check_data.c, check/check_*.c, core/global_parser.c).
 *
 * This file: the statement reader, the typed keywords, the top level and
 * the entry points.  virtual_server, real_server and
 * virtual_server_group are in kaconf_vs.c, the checkers in
 * kaconf_checker.c, global_defs and track_file in kaconf_global.c, VRRP
 * in kaconf_vrrp.c; the checks and corrections done once the file is
 * read in kaconf_check.c and kaconf_vrrp_check.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

/* ---- statements ---- */



static bool is_punct(const struct ka_tok *t, char ch)
{
	return !(t->flags & KA_TOK_QUOTED) && t->s[0] == ch && !t->s[1];
}

/* Read the next statement at p->pos.  1: a statement; 0: a `}` (consumed);
 * -1: end of input. */
int ka_next_stmt(struct parser *p, struct stmt *st)
{
	const struct ka_toks *t = p->t;
	unsigned i = p->pos;

	if (i >= t->n)
		return -1;
	if (is_punct(&t->v[i], '}')) {
		p->pos = i + 1;
		return 0;
	}
	memset(st, 0, sizeof(*st));
	st->kw = &t->v[i];
	st->loc = st->kw->loc;
	st->a = &t->v[i + 1];
	for (i++; i < t->n; i++) {
		const struct ka_tok *k = &t->v[i];

		if (is_punct(k, '{')) {
			st->block = true;
			i++;
			break;
		}
		if ((k->flags & KA_TOK_BOL) || is_punct(k, '}'))
			break;
		st->n++;
	}
	p->pos = i;
	return 1;
}

/* Skip the rest of a block whose `{` was read; reports a missing `}`. */
void ka_skip_block(struct parser *p, const struct ka_loc *open)
{
	unsigned depth = 1;

	for (; p->pos < p->t->n; p->pos++) {
		const struct ka_tok *k = &p->t->v[p->pos];

		if (is_punct(k, '{'))
			depth++;
		else if (is_punct(k, '}') && --depth == 0) {
			p->pos++;
			return;
		}
	}
	ka_diag(p->c, KA_ERROR, open, "missing '}': the block opened here is not closed");
}

/* ---- keyword tables ---- */




static const char *fmt_loc(const struct stmt *st)
{
	return st->kw->s;
}

bool ka_need_args(struct parser *p, const struct stmt *st, unsigned n)
{
	if (st->n >= n)
		return true;
	ka_diag(p->c, KA_ERROR, &st->loc, "%s: missing argument", fmt_loc(st));
	return false;
}

bool ka_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Seconds with an optional fraction, as keepalived's read_timer. */
bool ka_parse_timer(const char *s, uint64_t min_sec, uint64_t *usec)
{
	uint64_t sec = 0, frac = 0, scale = KA_USEC;
	const char *p = s;

	if (!*p || *p == '.')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		sec = sec * 10 + (uint64_t)(*p - '0');
		if (sec > UINT32_MAX)
			return false;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	}
	if (*p)
		return false;
	*usec = sec * KA_USEC + frac;
	return *usec >= min_sec * KA_USEC;
}

static int parse_yesno(const char *s)
{
	static const char *const yes[] = {"true", "on", "yes"};
	static const char *const no[] = {"false", "off", "no"};

	for (unsigned k = 0; k < 3; k++) {
		if (!strcasecmp(s, yes[k]))
			return 1;
		if (!strcasecmp(s, no[k]))
			return 0;
	}
	return -1;
}

bool ka_parse_addr(const char *s, struct ka_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->a.ip4) == 1)
		out->af = AF_INET;
	else if (inet_pton(AF_INET6, s, &out->a.in6) == 1)
		out->af = AF_INET6;
	return out->af != 0;
}

/* A port: 0..65535 (0 means "not given", as keepalived reads it). */
bool ka_parse_port(struct parser *p, const struct ka_tok *t, uint16_t *out)
{
	uint32_t v;

	if (!ka_parse_u32(t->s, 0, 65535, &v)) {
		ka_diag(p->c, KA_ERROR, &t->loc, "invalid port '%s' (0..65535)", t->s);
		return false;
	}
	*out = (uint16_t)v;
	return true;
}

/* `weight N [reverse]` of track_file and FILE_CHECK: N in -254..254. */
void ka_parse_file_weight(struct parser *p, const struct stmt *st, int32_t *weight,
			  bool *reverse)
{
	long v;
	char *end;

	if (!ka_need_args(p, st, 1))
		return;
	errno = 0;
	v = strtol(st->a[0].s, &end, 10);
	if (errno || *end || v < -254 || v > 254) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid weight '%s' (-254..254)", st->a[0].s);
		return;
	}
	*weight = (int32_t)v;
	if (st->n > 1) {
		if (!strcmp(st->a[1].s, "reverse"))
			*reverse = true;
		else
			ka_diag(p->c, KA_ERROR, &st->loc, "unexpected '%s' after the weight",
				st->a[1].s);
	}
}

char *ka_join_args(struct parser *p, const struct stmt *st)
{
	size_t len = 1;
	char *s;

	for (unsigned k = 0; k < st->n; k++)
		len += strlen(st->a[k].s) + 1;
	s = ka_alloc(p->c, len);
	for (unsigned k = 0; k < st->n; k++) {
		if (k)
			strcat(s, " ");
		strcat(s, st->a[k].s);
	}
	return s;
}

const struct kw *ka_find_kw(const struct kw *tab, const char *name)
{
	for (; tab->name; tab++)
		if (!strcmp(tab->name, name))
			return tab;
	return NULL;
}

/*
 * Parse statements until the closing `}` (open != NULL) or the end of the
 * input (top level), dispatching through tab.  what names the block for
 * messages ("real_server").
 */
void ka_parse_block(struct parser *p, const struct kw *tab, void *obj, const char *what,
			const struct ka_loc *open)
{
	struct stmt st;
	int r;

	while ((r = ka_next_stmt(p, &st)) != -1) {
		const struct kw *k;
		char *base = obj;

		if (r == 0) {
			if (open)
				return;
			ka_diag(p->c, KA_ERROR, &p->t->v[p->pos - 1].loc, "unexpected '}'");
			continue;
		}
		if (is_punct(st.kw, '{')) {
			ka_diag(p->c, KA_ERROR, &st.loc, "unexpected '{'");
			ka_skip_block(p, &st.loc);
			continue;
		}
		k = ka_find_kw(tab, st.kw->s);
		if (!k) {
			ka_diag(p->c, KA_WARN, &st.loc, "unknown keyword '%s'%s%s", st.kw->s,
				what ? " in " : "", what ? what : "");
			if (st.block)
				ka_skip_block(p, &st.loc);
			continue;
		}
		if (k->type == K_NOTYET || k->type == K_NOEFFECT) {
			ka_diag(p->c, KA_INFO, &st.loc, "%s%s%s %s; ignored", what ? what : "",
				what ? " " : "", st.kw->s,
				k->type == K_NOTYET ? "is not implemented yet" : "has no effect in lvsd");
			if (st.block)
				ka_skip_block(p, &st.loc);
			continue;
		}
		if (st.block && !k->block) {
			ka_diag(p->c, KA_ERROR, &st.loc, "'%s' takes no { } block", st.kw->s);
			ka_skip_block(p, &st.loc);
			continue;
		}
		if (k->type != K_FN && k->type != K_LINE) {
			unsigned max = k->type == K_FLAG ? 0 : 1;

			if (st.n > max)
				ka_diag(p->c, KA_WARN, &st.loc, "%s: unexpected '%s' (one keyword a line)",
					st.kw->s, st.a[max].s);
		}
		switch (k->type) {
		case K_FN:
			k->fn(p, &st, obj);
			break;
		case K_U32:
			if (ka_need_args(p, &st, 1) &&
			    !ka_parse_u32(st.a[0].s, k->min, k->max, (uint32_t *)(base + k->off)))
				ka_diag(p->c, KA_ERROR, &st.loc, "invalid %s '%s' (%u..%u)", st.kw->s,
					st.a[0].s, k->min, k->max);
			break;
		case K_TIMER:
			if (ka_need_args(p, &st, 1) &&
			    !ka_parse_timer(st.a[0].s, k->min, (uint64_t *)(base + k->off)))
				ka_diag(p->c, KA_ERROR, &st.loc,
					"invalid %s '%s' (seconds%s)", st.kw->s, st.a[0].s,
					k->min ? ", at least 1" : "");
			break;
		case K_STR:
			if (ka_need_args(p, &st, 1))
				*(char **)(base + k->off) = ka_strdup(p->c, st.a[0].s);
			break;
		case K_LINE:
			if (ka_need_args(p, &st, 1))
				*(char **)(base + k->off) = ka_join_args(p, &st);
			break;
		case K_FLAG:
			*(bool *)(base + k->off) = true;
			break;
		case K_TRI:
		case K_BOOL: {
			int v = st.n ? parse_yesno(st.a[0].s) : 1;

			if (v < 0)
				ka_diag(p->c, KA_ERROR, &st.loc, "invalid %s value '%s' (yes/no)",
					st.kw->s, st.a[0].s);
			else if (k->type == K_TRI)
				*(int8_t *)(base + k->off) = (int8_t)v;
			else
				*(bool *)(base + k->off) = v;
			break;
		}
		}
	}
	if (open)
		ka_diag(p->c, KA_ERROR, open, "missing '}': the block opened here is not closed");
}

/* For handlers of block keywords: parse the block if there is one. */
void ka_sub_block(struct parser *p, const struct stmt *st, const struct kw *tab, void *obj,
		      const char *what)
{
	if (st->block)
		ka_parse_block(p, tab, obj, what, &st->loc);
}

/* The top level: what lvsd reads, and keepalived's other blocks. */
static const struct kw top_kws[] = {
	{"global_defs", K_FN, true, 0, 0, 0, ka_top_global},
	{"virtual_server", K_FN, true, 0, 0, 0, ka_top_vs},
	{"virtual_server_group", K_FN, true, 0, 0, 0, ka_top_vsg},
	{"track_file", K_FN, true, 0, 0, 0, ka_top_track_file},
	{"vrrp_instance", K_FN, true, 0, 0, 0, ka_top_vrrp},
	{"vrrp_sync_group", K_FN, true, 0, 0, 0, ka_top_vsync},
	{"vrrp_script", K_FN, true, 0, 0, 0, ka_top_vscript},
	{"vrrp_track_file", K_NOTYET, true, 0, 0, 0, NULL},
	{"vrrp_track_process", K_NOTYET, true, 0, 0, 0, NULL},
	{"track_process", K_NOTYET, true, 0, 0, 0, NULL},
	{"static_ipaddress", K_NOTYET, true, 0, 0, 0, NULL},
	{"static_routes", K_NOTYET, true, 0, 0, 0, NULL},
	{"static_rules", K_NOTYET, true, 0, 0, 0, NULL},
	{"static_track_group", K_NOTYET, true, 0, 0, 0, NULL},
	{"linkbeat_interfaces", K_NOTYET, true, 0, 0, 0, NULL},
	{"garp_group", K_NOTYET, true, 0, 0, 0, NULL},
	{"bfd_instance", K_NOTYET, true, 0, 0, 0, NULL},
	{"SSL", K_NOTYET, true, 0, 0, 0, NULL},
	{"net_namespace", K_NOTYET, false, 0, 0, 0, NULL},
	{"net_namespace_ipvs", K_NOTYET, false, 0, 0, 0, NULL},
	{"instance", K_NOTYET, false, 0, 0, 0, NULL},
	{"use_pid_dir", K_NOTYET, false, 0, 0, 0, NULL},
	{"namespace_with_ipsets", K_NOTYET, false, 0, 0, 0, NULL},
	{"child_wait_time", K_NOTYET, false, 0, 0, 0, NULL},
	{"linkbeat_use_polling", K_NOTYET, false, 0, 0, 0, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

/* ---- entry points ---- */

static struct ka_config *config_new(void)
{
	struct ka_config tmp = {0}, *c;

	c = ka_alloc(&tmp, sizeof(*c));
	c->arena = tmp.arena;
	c->diag_tail = &c->diags;
	ka_vrrp_global_init(&c->global);
	return c;
}

static struct ka_config *finish(struct ka_config *c, struct ka_toks *t)
{
	struct parser p = {.c = c, .t = t};

	ka_parse_block(&p, top_kws, NULL, NULL, NULL);
	free(t->v);
	ka_check(c);
	return c;
}

struct ka_config *ka_config_load(const char *path)
{
	struct ka_config *c = config_new();
	struct ka_toks t = {0};

	ka_lex_file(c, &t, path);
	return finish(c, &t);
}

static struct ka_config *load_mem(const char *text, size_t len, const char *name,
				  bool no_include)
{
	struct ka_config *c = config_new();
	struct ka_toks t = {0};

	c->no_include = no_include;
	ka_lex_mem(c, &t, text, len, name);
	return finish(c, &t);
}

struct ka_config *ka_config_load_mem(const char *text, size_t len, const char *name)
{
	return load_mem(text, len, name, false);
}

struct ka_config *ka_config_load_text(const char *text, size_t len, const char *name)
{
	return load_mem(text, len, name, true);
}


void ka_config_print_diags(const struct ka_config *c, FILE *out, enum ka_level min)
{
	for (const struct ka_diag *d = c->diags; d; d = d->next) {
		if (d->level < min)
			continue;
		if (d->loc.file && d->loc.line)
			fprintf(out, "%s:%u: %s\n", d->loc.file, d->loc.line, d->msg);
		else if (d->loc.file)
			fprintf(out, "%s: %s\n", d->loc.file, d->msg);
		else
			fprintf(out, "%s\n", d->msg);
	}
}

int ka_config_test_status(const struct ka_config *c)
{
	if (c->main_unreadable)
		return 4; /* KEEPALIVED_CHK_EXIT_CONFIG */
	if (c->nerrors || c->nwarnings)
		return 5; /* KEEPALIVED_CHK_EXIT_CONFIG_TEST */
	return 0;
}
