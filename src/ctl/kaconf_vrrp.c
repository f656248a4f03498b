/*
 * kaconf_vrrp.c - keepalived.conf's vrrp_instance (RFC 5798 version 3,
 * RFC 3768 version 2), read as keepalived's vrrp/vrrp_parser.c,
 * vrrp/vrrp_data.c and vrrp/vrrp_ipaddress.c read it (keyword names,
 * argument forms, ranges, messages), with the helpers the VRRP files
 * share.  Tracking, notify scripts, vrrp_sync_group and vrrp_script are
 * in kaconf_vrrp_track.c, global_defs' VRRP keywords in
 * kaconf_vrrp_global.c.  Values are stored as given; defaults,
 * cross-references and keepalived's corrections come once the whole file
 * is read (kaconf_vrrp_check.c).  What lvsd will not do (VMACs, ipvlan,
 * BFD, process tracking, virtual routes...) is read past with a notice.
 *
 * Address family: as in keepalived, the first address given (source,
 * peer or virtual address) sets the instance's family; a later one of
 * the other family is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

#define TIMER_MAX_SEC 1000 /* keepalived's preempt_delay limit */

bool ka_read_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The lines of a value block (virtual_ipaddress { ... }, unicast_peer,
 * track_*): each line is handed to fn as a statement whose keyword is the
 * first word.  A nested block is an error. */
void ka_value_block(struct parser *p, const struct stmt *st,
			void (*fn)(struct parser *p, const struct stmt *line, void *obj), void *obj)
{
	struct stmt ls;
	int r;

	if (!st->block) {
		ka_diag(p->c, KA_ERROR, &st->loc, "%s without a { } block", st->kw->s);
		return;
	}
	while ((r = ka_next_stmt(p, &ls)) == 1) {
		if (ls.block) {
			ka_diag(p->c, KA_ERROR, &ls.loc, "unexpected '{' in %s", st->kw->s);
			ka_skip_block(p, &ls.loc);
			continue;
		}
		fn(p, &ls, obj);
	}
	if (r == -1)
		ka_diag(p->c, KA_ERROR, &st->loc, "missing '}': the block opened here is not closed");
}

/* ---- addresses ---- */

struct vip_ctx {
	struct ka_vrrp_inst *v;
	bool excluded;
};

static int scope_value(const char *s)
{
	static const struct {
		const char *name;
		int v;
	} scopes[] = {{"global", 0}, {"nowhere", 255}, {"host", 254}, {"link", 253}, {"site", 200}};
	long n;

	for (unsigned k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++)
		if (!strcmp(s, scopes[k].name))
			return scopes[k].v;
	return ka_read_int(s, 0, 255, &n) ? (int)n : -1;
}

static bool same_dev(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool vip_is_dup(struct parser *p, const struct ka_vrrp_inst *v, const struct ka_vrrp_vip *n,
		       bool excluded, const char *str)
{
	size_t len = n->addr.af == AF_INET ? 4 : 16;

	for (const struct ka_vrrp_vip *o = v->vips; o; o = o->next) {
		if (excluded && !same_dev(o->dev, n->dev))
			continue;
		if (o->addr.af == n->addr.af && !memcmp(&o->addr.a, &n->addr.a, len)) {
			ka_diag(p->c, KA_WARN, &n->loc, "(%s): %sVIP duplicates a VIP %s - ignoring",
				v->name, excluded ? "Excluded " : "", str);
			return true;
		}
	}
	for (const struct ka_vrrp_vip *o = v->evips; o; o = o->next)
		if (o->addr.af == n->addr.af && same_dev(o->dev, n->dev) &&
		    !memcmp(&o->addr.a, &n->addr.a, len)) {
			ka_diag(p->c, KA_WARN, &n->loc,
				"(%s): %sVIP duplicates an excluded VIP %s - ignoring", v->name,
				excluded ? "Excluded " : "", str);
			return true;
		}
	return false;
}

/* ADDR[/PREFIX] [options]: keepalived's alloc_ipaddress for a VIP. */
static void vip_line(struct parser *p, const struct stmt *ls, void *obj)
{
	struct vip_ctx *x = obj;
	struct ka_vrrp_inst *v = x->v;
	struct ka_vrrp_vip *n = ka_alloc(p->c, sizeof(*n));
	const char *str = ls->kw->s, *slash = strchr(str, '/');
	char host[INET6_ADDRSTRLEN + 1];
	int brd_mode = 0; /* -1: '-', 1: '+' */
	size_t hl = slash ? (size_t)(slash - str) : strlen(str);
	struct ka_vrrp_vip **tail;

	n->loc = ls->loc;
	n->addr.af = strchr(str, ':') ? AF_INET6 : AF_INET;
	n->prefix = n->addr.af == AF_INET ? 32 : 128;
	if (slash) {
		uint32_t len;

		if (!ka_parse_u32(slash + 1, 0, n->prefix, &len))
			ka_diag(p->c, KA_ERROR, &ls->loc,
				"Invalid address prefix len %s for address %s - using %u", slash + 1, str,
				n->prefix);
		else
			n->prefix = (uint8_t)len;
	}
	if (hl >= sizeof(host) || (memcpy(host, str, hl), host[hl] = '\0',
				    inet_pton(n->addr.af, host, &n->addr.a) != 1)) {
		ka_diag(p->c, KA_ERROR, &ls->loc, "VRRP parsed invalid IP %s. skipping IP...", str);
		return;
	}
	for (unsigned i = 0; i < ls->n; i++) {
		const char *o = ls->a[i].s;
		const char *val = i + 1 < ls->n ? ls->a[i + 1].s : NULL;
		bool takes = !strcmp(o, "dev") || !strcmp(o, "scope") || !strcmp(o, "broadcast") ||
			     !strcmp(o, "brd") || !strcmp(o, "label") || !strcmp(o, "peer") ||
			     !strcmp(o, "preferred_lft");

		if (takes && !val) {
			ka_diag(p->c, KA_ERROR, &ls->loc, "No %s parameter specified for %s", o, str);
			return;
		}
		if (takes)
			i++;
		if (!strcmp(o, "dev")) {
			if (n->dev) {
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"Cannot specify ipaddress device more than once for %s", str);
				return;
			}
			n->dev = ka_strdup(p->c, val);
		} else if (!strcmp(o, "scope")) {
			int sc = scope_value(val);

			if (sc < 0)
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"Invalid scope '%s' specified for %s - ignoring", val, str);
			else
				n->scope = (uint8_t)sc;
		} else if (!strcmp(o, "broadcast") || !strcmp(o, "brd")) {
			if (n->addr.af == AF_INET6) {
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"VRRP is trying to assign a broadcast %s to the IPv6 address %s - "
					"skipping VIP...", val, str);
				return;
			}
			n->has_brd = true;
			if (!strcmp(val, "-"))
				brd_mode = -1;
			else if (!strcmp(val, "+"))
				brd_mode = 1;
			else if (inet_pton(AF_INET, val, &n->brd) != 1) {
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"VRRP is trying to assign invalid broadcast %s. skipping VIP...", val);
				return;
			}
		} else if (!strcmp(o, "label")) {
			if (strlen(val) > KA_VRRP_MAX_IFNAME) {
				ka_diag(p->c, KA_ERROR, &ls->loc,
					"Address label %s is longer than maximum length %d - removing address",
					val, KA_VRRP_MAX_IFNAME);
				return;
			}
			n->label = ka_strdup(p->c, val);
		} else if (!strcmp(o, "no_track")) {
			n->no_track = true;
		} else if (takes || !strcmp(o, "home") || !strcmp(o, "-nodad") ||
			   !strcmp(o, "mngtmpaddr") || !strcmp(o, "noprefixroute") ||
			   !strcmp(o, "autojoin") || !strcmp(o, "use_vmac")) {
			ka_diag(p->c, KA_INFO, &ls->loc,
				"virtual_ipaddress option %s is not implemented yet; ignored", o);
		} else
			ka_diag(p->c, KA_WARN, &ls->loc,
				"Unknown configuration entry '%s' for ip address - ignoring", o);
	}
	if (brd_mode) {
		if (n->prefix <= 30) {
			uint32_t mask = htonl(0xffffffffu >> n->prefix);

			n->brd.s_addr = brd_mode > 0 ? n->addr.a.ip4 | mask : n->addr.a.ip4 & ~mask;
		} else {
			ka_diag(p->c, KA_WARN, &ls->loc, "Address prefix length %u too long for broadcast",
				n->prefix);
			n->has_brd = false;
		}
	}
	if (n->addr.af == AF_INET6 && n->scope) {
		ka_diag(p->c, KA_WARN, &ls->loc,
			"Cannot specify scope for IPv6 addresses (%s) - ignoring scope", str);
		n->scope = 0;
	}
	if (n->addr.af == AF_INET6 && n->label) {
		ka_diag(p->c, KA_WARN, &ls->loc,
			"Cannot specify label for IPv6 addresses (%s) - ignoring label", str);
		n->label = NULL;
	}
	if (!x->excluded) {
		if (v->af == AF_UNSPEC)
			v->af = n->addr.af;
		else if (v->af != n->addr.af) {
			ka_diag(p->c, KA_ERROR, &ls->loc,
				"(%s): address family must match VRRP instance [%s] - ignoring", v->name,
				str);
			return;
		}
	}
	if (vip_is_dup(p, v, n, x->excluded, str))
		return;
	for (tail = x->excluded ? &v->evips : &v->vips; *tail; tail = &(*tail)->next)
		;
	*tail = n;
	if (x->excluded)
		v->nevips++;
	else
		v->nvips++;
}

static void v_vips(struct parser *p, const struct stmt *st, void *obj)
{
	struct vip_ctx x = {.v = obj, .excluded = !strcmp(st->kw->s, "virtual_ipaddress_excluded")};

	ka_value_block(p, st, vip_line, &x);
}

static void peer_line(struct parser *p, const struct stmt *ls, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	struct ka_vrrp_peer *n = ka_alloc(p->c, sizeof(*n)), **tail;
	const char *str = ls->kw->s;

	n->loc = ls->loc;
	n->max_ttl = 255;
	if (!ka_parse_addr(str, &n->addr)) {
		ka_diag(p->c, KA_ERROR, &ls->loc,
			"Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. "
			"Skipping...", v->name, str);
		return;
	}
	if (v->af == AF_UNSPEC)
		v->af = n->addr.af;
	else if (v->af != n->addr.af) {
		ka_diag(p->c, KA_ERROR, &ls->loc,
			"Configuration error: VRRP instance[%s] and unicast peer address[%s] MUST be "
			"of the same family !!! Skipping...", v->name, str);
		return;
	}
	for (unsigned i = 0; i < ls->n; i += 2) {
		uint32_t ttl;

		if (i + 1 >= ls->n) {
			ka_diag(p->c, KA_ERROR, &ls->loc, "(%s) %s - %s is missing a value", v->name, str,
				ls->a[i].s);
			break;
		}
		if (!ka_parse_u32(ls->a[i + 1].s, 0, 255, &ttl)) {
			ka_diag(p->c, KA_ERROR, &ls->loc, "(%s) %s - invalid %s '%s' (0..255)", v->name,
				str, ls->a[i].s, ls->a[i + 1].s);
			break;
		}
		if (!strcmp(ls->a[i].s, "min_ttl"))
			n->min_ttl = (uint8_t)ttl;
		else if (!strcmp(ls->a[i].s, "max_ttl"))
			n->max_ttl = (uint8_t)ttl;
		else {
			ka_diag(p->c, KA_ERROR, &ls->loc, "(%s) %s - unknown unicast_peer option %s",
				v->name, str, ls->a[i].s);
			break;
		}
	}
	for (tail = &v->peers; *tail; tail = &(*tail)->next)
		if (!memcmp(&(*tail)->addr, &n->addr, sizeof(n->addr))) {
			ka_diag(p->c, KA_WARN, &ls->loc, "(%s) %s - duplicate unicast_peer", v->name, str);
			return;
		}
	if (n->min_ttl > n->max_ttl)
		ka_diag(p->c, KA_WARN, &ls->loc,
			"(%s) %s - min_ttl %u > max_ttl %u - all packets will be discarded", v->name,
			str, n->min_ttl, n->max_ttl);
	*tail = n;
	v->npeers++;
}

static void v_peers(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	v->unicast_kw = true;
	ka_value_block(p, st, peer_line, v);
}

static void v_src_ip(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	struct ka_addr a;

	if (!strcmp(st->kw->s, "unicast_src_ip"))
		v->unicast_kw = true;
	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_addr(st->a[0].s, &a)) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"Configuration error: VRRP instance[%s] malformed src address[%s]. Skipping...",
			v->name, st->a[0].s);
		return;
	}
	if (v->af == AF_UNSPEC)
		v->af = a.af;
	else if (v->af != a.af) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"Configuration error: VRRP instance[%s] and src address[%s] MUST be of the same "
			"family !!! Skipping...", v->name, st->a[0].s);
		return;
	}
	v->src_ip = a;
}

/* ---- vrrp_instance keywords ---- */

static void v_state(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (!strcmp(st->a[0].s, "MASTER"))
		v->state = KA_VRRP_MASTER;
	else if (!strcmp(st->a[0].s, "BACKUP")) {
		if (v->state == KA_VRRP_MASTER)
			ka_diag(p->c, KA_WARN, &st->loc,
				"(%s) state previously set as MASTER - ignoring BACKUP", v->name);
		else
			v->state = KA_VRRP_BACKUP;
	} else {
		ka_diag(p->c, KA_ERROR, &st->loc, "(%s) unknown state '%s', defaulting to BACKUP",
			v->name, st->a[0].s);
		v->state = KA_VRRP_BACKUP;
	}
}

static void v_interface(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (strlen(st->a[0].s) > KA_VRRP_MAX_IFNAME) {
		ka_diag(p->c, KA_ERROR, &st->loc, "Interface name '%s' too long - ignoring",
			st->a[0].s);
		return;
	}
	v->ifname = ka_strdup(p->c, st->a[0].s);
}

static void v_vrid(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (ka_need_args(p, st, 1) && !ka_parse_u32(st->a[0].s, 1, 255, &v->vrid))
		ka_diag(p->c, KA_ERROR, &st->loc,
			"(%s): VRID '%s' not valid - must be between 1 & 255", v->name, st->a[0].s);
}

static void v_priority(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (ka_need_args(p, st, 1) && !ka_parse_u32(st->a[0].s, 1, 255, &v->priority)) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"(%s) Priority not valid! must be between 1 & %d. Using default %d", v->name,
			KA_VRRP_PRIO_OWNER, KA_VRRP_PRIO_DEF);
		v->priority = KA_VRRP_PRIO_DEF;
	}
}

/* Seconds with up to 6 decimals; keepalived takes 0.01 .. 255 here and
 * checks the version's range once the version is known. */
static void v_advert_int(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	uint64_t us;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_timer(st->a[0].s, 0, &us) || us < KA_USEC / 100 || us > 255 * KA_USEC) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", v->name,
			st->a[0].s);
		return;
	}
	v->advert_int = us;
}

static void v_version(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	uint32_t ver;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_u32(st->a[0].s, 2, 3, &ver)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "(%s): Version must be either 2 or 3", v->name);
		return;
	}
	if ((v->version && v->version != ver) || (ver == 2 && v->af == AF_INET6)) {
		ka_diag(p->c, KA_WARN, &st->loc,
			"(%s) vrrp_version %u conflicts with configured or deduced version %u; "
			"ignoring.", v->name, ver, v->version);
		return;
	}
	v->version = (uint8_t)ver;
}

static void v_native_ipv6(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (v->af == AF_INET) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"(%s) Cannot specify native_ipv6 with IPv4 addresses", v->name);
		return;
	}
	v->af = AF_INET6;
	v->version = 3;
}

static void v_preempt(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	(void)p;

	v->nopreempt = !strcmp(st->kw->s, "nopreempt");
}

static void v_preempt_delay(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	uint64_t us;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_timer(st->a[0].s, 0, &us) || us > TIMER_MAX_SEC * KA_USEC) {
		ka_diag(p->c, KA_ERROR, &st->loc, "(%s) Preempt_delay not valid! must be between 0-%u",
			v->name, TIMER_MAX_SEC);
		v->preempt_delay = 0;
		return;
	}
	v->preempt_delay = us;
}

static void v_accept(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	(void)p;

	v->accept = !strcmp(st->kw->s, "accept");
}

static void a_type(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (!strcmp(st->a[0].s, "AH"))
		v->auth_type = KA_VRRP_AUTH_AH;
	else if (!strcmp(st->a[0].s, "PASS"))
		v->auth_type = KA_VRRP_AUTH_PASS;
	else
		ka_diag(p->c, KA_ERROR, &st->loc, "(%s) unknown authentication type '%s'", v->name,
			st->a[0].s);
}

static void a_pass(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (strlen(st->a[0].s) > KA_VRRP_AUTH_LEN)
		ka_diag(p->c, KA_WARN, &st->loc, "Truncating auth_pass to %d characters",
			KA_VRRP_AUTH_LEN);
	memset(v->auth_pass, 0, sizeof(v->auth_pass));
	memcpy(v->auth_pass, st->a[0].s, strnlen(st->a[0].s, KA_VRRP_AUTH_LEN));
}

static const struct kw auth_kws[] = {
	{"auth_type", K_FN, false, 0, 0, 0, a_type},
	{"auth_pass", K_FN, false, 0, 0, 0, a_pass},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static void v_auth(struct parser *p, const struct stmt *st, void *obj)
{
	if (!st->block)
		ka_diag(p->c, KA_ERROR, &st->loc, "authentication without a { } block");
	ka_sub_block(p, st, auth_kws, obj, "authentication");
}

/* garp_master_delay / _repeat / _refresh / _refresh_repeat (whole
 * numbers; a repeat of 0 becomes 1, as keepalived). */
static void v_garp(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	const char *kw = st->kw->s;
	uint32_t n, max = !strcmp(kw, "garp_master_delay") ? UINT_MAX / KA_USEC : UINT_MAX;

	if (!ka_need_args(p, st, 1))
		return;
	if (!ka_parse_u32(st->a[0].s, 0, max, &n)) {
		if (!strcmp(kw, "garp_master_refresh"))
			ka_diag(p->c, KA_ERROR, &st->loc, "(%s): Invalid %s '%s' - ignoring", v->name, kw,
				st->a[0].s);
		else
			ka_diag(p->c, KA_ERROR, &st->loc, "(%s): %s '%s' invalid - ignoring", v->name, kw,
				st->a[0].s);
		return;
	}
	if (!strcmp(kw, "garp_master_delay")) {
		v->garp_delay = n * KA_USEC;
		return;
	}
	if (!strcmp(kw, "garp_master_refresh")) {
		v->garp_refresh = n;
		return;
	}
	if (!n) {
		ka_diag(p->c, KA_WARN, &st->loc, "(%s): %s must be greater than 0, setting to 1",
			v->name, kw);
		n = 1;
	}
	if (!strcmp(kw, "garp_master_repeat"))
		v->garp_rep = n;
	else
		v->garp_refresh_rep = n;
}

static void v_lvs_syncd(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v = obj;
	struct ka_lvs_syncd *s = &p->c->global.lvs_syncd;

	if (!ka_need_args(p, st, 1))
		return;
	ka_diag(p->c, KA_WARN, &st->loc,
		"(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use "
		"global lvs_sync_daemon", v->name);
	if (s->ifname) {
		ka_diag(p->c, KA_WARN, &st->loc,
			"(%s) lvs_sync_daemon_interface has already been specified as %s - ignoring",
			v->name, s->ifname);
		return;
	}
	s->loc = st->loc;
	s->ifname = ka_strdup(p->c, st->a[0].s);
	s->inst = v->name;
}


static const struct kw vrrp_kws[] = {
	{"state", K_FN, false, 0, 0, 0, v_state},
	{"interface", K_FN, false, 0, 0, 0, v_interface},
	{"virtual_router_id", K_FN, false, 0, 0, 0, v_vrid},
	{"priority", K_FN, false, 0, 0, 0, v_priority},
	{"advert_int", K_FN, false, 0, 0, 0, v_advert_int},
	{"version", K_FN, false, 0, 0, 0, v_version},
	{"native_ipv6", K_FN, false, 0, 0, 0, v_native_ipv6},
	{"virtual_ipaddress", K_FN, true, 0, 0, 0, v_vips},
	{"virtual_ipaddress_excluded", K_FN, true, 0, 0, 0, v_vips},
	{"no_virtual_ipaddress", K_FLAG, false, F(struct ka_vrrp_inst, no_vips), 0, 0, NULL},
	{"nopreempt", K_FN, false, 0, 0, 0, v_preempt},
	{"preempt", K_FN, false, 0, 0, 0, v_preempt},
	{"preempt_delay", K_FN, false, 0, 0, 0, v_preempt_delay},
	{"authentication", K_FN, true, 0, 0, 0, v_auth},
	{"mcast_src_ip", K_FN, false, 0, 0, 0, v_src_ip},
	{"unicast_src_ip", K_FN, false, 0, 0, 0, v_src_ip},
	{"unicast_peer", K_FN, true, 0, 0, 0, v_peers},
	{"track_interface", K_FN, true, 0, 0, 0, ka_vrrp_track_kw},
	{"track_script", K_FN, true, 0, 0, 0, ka_vrrp_track_kw},
	{"notify_master", K_FN, false, 0, 0, 0, ka_vrrp_notify_kw},
	{"notify_backup", K_FN, false, 0, 0, 0, ka_vrrp_notify_kw},
	{"notify_fault", K_FN, false, 0, 0, 0, ka_vrrp_notify_kw},
	{"notify_stop", K_FN, false, 0, 0, 0, ka_vrrp_notify_kw},
	{"notify", K_FN, false, 0, 0, 0, ka_vrrp_notify_kw},
	{"garp_master_delay", K_FN, false, 0, 0, 0, v_garp},
	{"garp_master_repeat", K_FN, false, 0, 0, 0, v_garp},
	{"garp_master_refresh", K_FN, false, 0, 0, 0, v_garp},
	{"garp_master_refresh_repeat", K_FN, false, 0, 0, 0, v_garp},
	{"dont_track_primary", K_FLAG, false, F(struct ka_vrrp_inst, dont_track_primary), 0, 0, NULL},
	{"accept", K_FN, false, 0, 0, 0, v_accept},
	{"no_accept", K_FN, false, 0, 0, 0, v_accept},
	{"strict_mode", K_TRI, false, F(struct ka_vrrp_inst, strict), 0, 0, NULL},
	{"lower_prio_no_advert", K_TRI, false, F(struct ka_vrrp_inst, lower_prio_no_advert), 0, 0,
	 NULL},
	{"higher_prio_send_advert", K_TRI, false, F(struct ka_vrrp_inst, higher_prio_send_advert), 0,
	 0, NULL},
	{"smtp_alert", K_NOEFFECT, false, 0, 0, 0, NULL},
	{"lvs_sync_daemon_interface", K_FN, false, 0, 0, 0, v_lvs_syncd},
	KA_NOTYET("use_vmac"), KA_NOTYET("use_vmac_addr"), KA_NOTYET("vmac_xmit_base"),
	KA_NOTYET("use_ipvlan"), KA_NOTYET("vrf"), KA_NOTYET("unicast_fault_no_peer"),
	KA_NOTYET("check_unicast_src"), KA_NOTYET("old_unicast_checksum"), KA_NOTYET("mcast_dst_ip"),
	KA_NOTYET("track_src_ip"), KA_NOTYET("unicast_ttl"), KA_NOTYET("promote_secondaries"),
	KA_NOTYET("linkbeat_use_polling"), KA_NOTYET("v3_checksum_as_v2"),
	KA_NOTYET_BLOCK("virtual_routes"), KA_NOTYET_BLOCK("virtual_rules"),
	KA_NOTYET_BLOCK("track_file"), KA_NOTYET_BLOCK("track_process"), KA_NOTYET_BLOCK("track_bfd"),
	KA_NOTYET("skip_check_adv_addr"), KA_NOTYET("debug"), KA_NOTYET("notify_deleted"),
	KA_NOTYET("notify_master_rx_lower_pri"), KA_NOTYET("notify_priority_changes"),
	KA_NOTYET("garp_lower_prio_delay"), KA_NOTYET("garp_lower_prio_repeat"),
	KA_NOTYET("down_timer_adverts"), KA_NOTYET("timer_expired_backup"),
	KA_NOTYET("thread_timer_expired"), KA_NOTYET("garp_extra_if"), KA_NOTYET("vmac_garp_intvl"),
	KA_NOTYET("owner_ignore_adverts"), KA_NOTYET("kernel_rx_buf_size"),
	KA_NOTYET_BLOCK("auth_hmac"),
	{NULL, 0, 0, 0, 0, 0, NULL},
};

/* A block's name: exactly one argument, keepalived's "must have a name". */
bool ka_named_block(struct parser *p, const struct stmt *st, const char *msg)
{
	if (st->n == 1 && st->block)
		return true;
	if (!st->block)
		ka_diag(p->c, KA_ERROR, &st->loc, "%s without a { } block", st->kw->s);
	else {
		ka_diag(p->c, KA_ERROR, &st->loc, "%s", msg);
		ka_skip_block(p, &st->loc);
	}
	return false;
}

void ka_top_vrrp(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_vrrp_inst *v, **tail;
	(void)obj;

	if (!ka_named_block(p, st, "vrrp_instance must have a name"))
		return;
	for (tail = &p->c->vrrps; *tail; tail = &(*tail)->next)
		if (!strcmp((*tail)->name, st->a[0].s)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "vrrp instance %s already defined", st->a[0].s);
			ka_skip_block(p, &st->loc);
			return;
		}
	v = ka_alloc(p->c, sizeof(*v));
	v->loc = st->loc;
	v->name = ka_strdup(p->c, st->a[0].s);
	v->garp_delay = KA_UNSET_TIME;
	v->garp_rep = v->garp_refresh = v->garp_refresh_rep = KA_UNSET_U32;
	v->accept = v->strict = v->lower_prio_no_advert = v->higher_prio_send_advert = -1;
	v->smtp_alert = -1;
	ka_parse_block(p, vrrp_kws, v, "vrrp_instance", &st->loc);
	*tail = v;
	p->c->nvrrp++;
}
