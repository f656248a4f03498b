/*
 * kaconf_vrrp_check.c - what keepalived does with the VRRP part once the
 * file is read (vrrp_complete_init, vrrp_complete_instance and
 * check_vrid_conflicts in keepalived's vrrp/vrrp.c, vrrp_sync_set_group
 * in vrrp/vrrp_sync.c), with the same messages:
 *
 *   - an instance needs a virtual_router_id, and an interface unless it
 *     is unicast with a unicast_src_ip (errors); two multicast instances
 *     on one interface with one family and one group cannot share a VRID,
 *     nor two unicast ones with the same source and a common peer;
 *   - defaults: family IPv4, version vrrp_version (2; 3 for IPv6),
 *     priority 255 for state MASTER else 100, state MASTER for priority
 *     255 else BACKUP, advert_int 1 s (version 2: whole seconds below
 *     256 s; version 3: centiseconds below 40.96 s, rounded), the garp_*
 *     values and the multicast group from global_defs, accept unless
 *     strict, strict_mode from vrrp_strict;
 *   - corrections: authentication only with version 2 and a password,
 *     no nopreempt / preempt_delay for MASTER or an owner, no weighted
 *     tracking for an owner or a sync group member, VIPs beyond what an
 *     advert carries become excluded ones;
 *   - references: track_script names a vrrp_script, a sync group names
 *     instances (each in one group at most), lvs_sync_daemon names an
 *     instance (its VRID is the default sync id).
 *
 * lvsd reads and checks VRRP but does not run it yet: each instance gets
 * one notice saying so (the last loop of ka_vrrp_check).
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "kaconf_int.h"

#define CENTI (KA_USEC / 100)

static void advert_int(struct ka_config *c, struct ka_vrrp_inst *v)
{
	uint64_t us = v->advert_int ? v->advert_int : KA_USEC;

	if (v->version == 2) {
		if (us >= 256 * KA_USEC) {
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) VRRPv2 advertisement interval %.2fs is out of range. Must be less "
				"than %ds. Setting to %ds", v->name, (double)us / KA_USEC, 256, 255);
			us = 255 * KA_USEC;
		} else if (us % KA_USEC) {
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) VRRPv2 advertisement interval %fs must be an integer. rounding",
				v->name, (double)us / KA_USEC);
			us = (us + KA_USEC / 2) / KA_USEC * KA_USEC;
			if (!us)
				us = KA_USEC;
		}
	} else if (us >= 4096 * CENTI) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) VRRPv3 advertisement interval %.2fs is out of range. Must be less than "
			"%.2fs. Setting to %.2fs", v->name, (double)us / KA_USEC, 40.96, 40.95);
		us = 4095 * CENTI;
	} else if (us % CENTI) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) VRRPv3 advertisement interval %fs must be in units of 10ms - rounding",
			v->name, (double)us / KA_USEC);
		us = (us + CENTI / 2) / CENTI * CENTI;
		if (!us)
			us = CENTI;
		else if (us == 4096 * CENTI)
			us = 4095 * CENTI;
	}
	v->advert_int = us;
}

static void auth(struct ka_config *c, struct ka_vrrp_inst *v)
{
	if (v->auth_type == KA_VRRP_AUTH_NONE)
		return;
	if (v->strict)
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) Strict mode does not support authentication. Ignoring.", v->name);
	else if (v->version == 3)
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) VRRP version 3 does not support authentication. Ignoring.", v->name);
	else if (!v->auth_pass[0])
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) Authentication specified but no password given. Ignoring", v->name);
	else if (v->af == AF_INET6 && v->auth_type == KA_VRRP_AUTH_AH)
		ka_diag(c, KA_WARN, &v->loc, "(%s) Cannot use AH authentication with IPv6. ignoring",
			v->name);
	else {
		if (v->auth_type == KA_VRRP_AUTH_AH && v->state == KA_VRRP_MASTER &&
		    v->priority != KA_VRRP_PRIO_OWNER) {
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) Initial state master is incompatible with AH authentication - "
				"clearing", v->name);
			v->state = KA_VRRP_BACKUP;
		}
		return;
	}
	v->auth_type = KA_VRRP_AUTH_NONE;
}

/* The advert's room for addresses on a 1500-byte link (keepalived's
 * DEFAULT_MTU; the Count field caps it at 255). */
static void vip_room(struct ka_config *c, struct ka_vrrp_inst *v)
{
	unsigned hdr = 14 + 8 + (v->af == AF_INET ? 20 : 40), alen = v->af == AF_INET ? 4 : 16;
	unsigned max, k = 0;
	struct ka_vrrp_vip **tail = &v->evips, *rest, *vip;

	if (v->af == AF_INET && v->version == 2)
		hdr += KA_VRRP_AUTH_LEN + (v->auth_type == KA_VRRP_AUTH_AH ? 24 : 0);
	max = (1500 - hdr) / alen;
	if (max > 255)
		max = 255;
	if (v->nvips <= max)
		return;
	ka_diag(c, KA_WARN, &v->loc,
		"(%s) Number of VIPs (%u) exceeds maximum/space available in packet (max %u "
		"addresses) - excess moved to eVIPs", v->name, v->nvips, max);
	for (vip = v->vips; ++k < max; vip = vip->next)
		;
	rest = vip->next;
	vip->next = NULL;
	while (*tail)
		tail = &(*tail)->next;
	*tail = rest;
	v->nevips += v->nvips - max;
	v->nvips = max;
}

static struct ka_vrrp_script *find_script(struct ka_config *c, const char *name)
{
	for (struct ka_vrrp_script *s = c->vscripts; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

/* Resolve track_script names; the script's weight unless one is given. */
static void resolve_scripts(struct ka_config *c, const char *owner, struct ka_vrrp_track **pp)
{
	for (struct ka_vrrp_track *t; (t = *pp);) {
		struct ka_vrrp_script *s = find_script(c, t->name);

		if (!s) {
			ka_diag(c, KA_ERROR, &t->loc, "(%s) track script %s not found, ignoring...", owner,
				t->name);
			*pp = t->next;
			continue;
		}
		s->used = true;
		t->script = s;
		if (!t->weight_set) {
			t->weight = s->weight;
			t->reverse = s->reverse;
		}
		pp = &t->next;
	}
}

/* Weighted tracking is ignored for an address owner and for a member of
 * a sync group without sync_group_tracking_weight. */
static void owner_tracking(struct ka_config *c, struct ka_vrrp_inst *v)
{
	bool sync = v->sync && !v->sync->tracking_weight;
	const char *why = sync ? "SYNC group" : "address owner";

	if (!sync && v->priority != KA_VRRP_PRIO_OWNER)
		return;
	for (struct ka_vrrp_track **pp = &v->track_ifs, *t; (t = *pp);) {
		if (t->weight) {
			ka_diag(c, KA_WARN, &t->loc, "(%s) ignoring %s tracked interface %sdue to %s",
				v->name, t->name, sync ? "weight " : "", why);
			if (!sync) {
				*pp = t->next;
				continue;
			}
			t->weight = 0;
		}
		pp = &t->next;
	}
	for (struct ka_vrrp_track **pp = &v->track_scripts, *t; (t = *pp);) {
		if (t->weight) {
			ka_diag(c, KA_WARN, &t->loc,
				"(%s) ignoring tracked script %s with weights due to %s", v->name, t->name,
				sync ? "SYNC group" : "address_owner");
			*pp = t->next;
			continue;
		}
		pp = &t->next;
	}
}

/* Defaults and corrections of one instance; what keepalived refuses to
 * start with is a KA_ERROR. */
static void check_inst(struct ka_config *c, struct ka_vrrp_inst *v)
{
	const struct ka_vrrp_global *g = &c->global.vrrp;

	/* chk_min_cfg */
	if (!v->vrid) {
		ka_diag(c, KA_ERROR, &v->loc, "(%s) the virtual router id must be set", v->name);
	}
	if (!v->ifname && !v->unicast_kw) {
		ka_diag(c, KA_ERROR, &v->loc, "(%s) Unknown interface!", v->name);
	}
	if (v->strict == -1)
		v->strict = g->strict;
	/* lvsd's VRRP speaks version 3 only for IPv6 (version 2 is IPv4 only,
	 * RFC 3768), so an IPv6 instance is moved to version 3 in any mode */
	if (v->af == AF_INET6 && v->version == 2) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) cannot use IPv6 with VRRP version 2; setting version 3", v->name);
		v->version = 3;
	}
	if (v->af == AF_UNSPEC)
		v->af = AF_INET;
	if (!v->version)
		v->version = v->af == AF_INET6 ? 3 : (uint8_t)(g->version ? g->version : 2);
	if (!v->priority)
		v->priority = v->state == KA_VRRP_MASTER ? KA_VRRP_PRIO_OWNER : KA_VRRP_PRIO_DEF;
	if (v->state == KA_VRRP_UNSET)
		v->state = v->priority == KA_VRRP_PRIO_OWNER ? KA_VRRP_MASTER : KA_VRRP_BACKUP;
	else if (v->strict && (v->state == KA_VRRP_MASTER) != (v->priority == KA_VRRP_PRIO_OWNER)) {
		ka_diag(c, KA_WARN, &v->loc, "(%s) State MASTER must match being address owner",
			v->name);
		v->state = v->priority == KA_VRRP_PRIO_OWNER ? KA_VRRP_MASTER : KA_VRRP_BACKUP;
	}
	auth(c, v);
	if (v->unicast_kw) {
		if (v->peers)
			v->unicast = true;
		else
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) A unicast keyword has been specified without any unicast peers. "
				"Defaulting to multicast. This usage is deprecated - please update your "
				"configuration.", v->name);
	}
	if (!v->ifname && v->unicast_kw) {
		if (v->src_ip.af == AF_UNSPEC) {
			ka_diag(c, KA_ERROR, &v->loc,
				"(%s): Unicast instances must have unicast_src_ip or interface", v->name);
			} else if (v->af == AF_INET6 && v->src_ip.a.b[0] == 0xfe &&
			   (v->src_ip.a.b[1] & 0xc0) == 0x80) {
			ka_diag(c, KA_ERROR, &v->loc,
				"(%s) Non link-local address required if interface omitted", v->name);
			}
	}
	if (v->strict && v->af == AF_INET6 && !v->unicast && v->vips &&
	    !(v->vips->addr.a.b[0] == 0xfe && (v->vips->addr.a.b[1] & 0xc0) == 0x80))
		ka_diag(c, KA_WARN, &v->vips->loc, "(%s) the first IPv6 VIP address must be link local",
			v->name);
	vip_room(c, v);
	if (v->priority == KA_VRRP_PRIO_OWNER && v->nopreempt) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) nopreempt is incompatible with priority %d. resetting nopreempt", v->name,
			KA_VRRP_PRIO_OWNER);
		v->nopreempt = false;
	}
	if (v->state == KA_VRRP_MASTER) {
		if (v->nopreempt) {
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) Warning - nopreempt will not work with initial state MASTER - "
				"clearing", v->name);
			v->nopreempt = false;
		}
		if (v->preempt_delay) {
			ka_diag(c, KA_WARN, &v->loc,
				"(%s) Warning - preempt delay will not work with initial state MASTER - "
				"clearing", v->name);
			v->preempt_delay = 0;
		}
	}
	if (v->preempt_delay && v->strict) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) preempt_delay is incompatible with strict mode - resetting", v->name);
		v->preempt_delay = 0;
	}
	if (v->preempt_delay && v->nopreempt) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) preempt_delay is incompatible with nopreempt mode - resetting", v->name);
		v->preempt_delay = 0;
	}
	if (v->accept == -1)
		v->accept = v->priority == KA_VRRP_PRIO_OWNER ? 1 : !v->strict;
	if (v->accept && v->priority != KA_VRRP_PRIO_OWNER && v->strict && v->version == 2) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - "
			"resetting", v->name);
		v->accept = 0;
	}
	if (!v->unicast) {
		v->mcast_group = v->af == AF_INET ? g->mcast4 : g->mcast6;
		if (v->mcast_group.af == AF_UNSPEC)
			ka_parse_addr(v->af == AF_INET ? "224.0.0.18" : "ff02::12", &v->mcast_group);
	}
	if (v->lower_prio_no_advert == -1)
		v->lower_prio_no_advert = v->strict ? 1 : g->lower_prio_no_advert;
	else if (v->strict && !v->lower_prio_no_advert) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) Strict mode requires no lower priority advert. resetting", v->name);
		v->lower_prio_no_advert = 1;
	}
	if (v->higher_prio_send_advert == -1)
		v->higher_prio_send_advert = v->strict ? 0 : g->higher_prio_send_advert;
	else if (v->strict && v->higher_prio_send_advert) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) strict mode requires higher_prio_send_advert to be clear. resetting",
			v->name);
		v->higher_prio_send_advert = 0;
	}
	advert_int(c, v);
	if (v->garp_delay == KA_UNSET_TIME)
		v->garp_delay = g->garp_delay != KA_UNSET_TIME ? g->garp_delay : 5 * KA_USEC;
	if (v->garp_rep == KA_UNSET_U32)
		v->garp_rep = g->garp_rep != KA_UNSET_U32 ? g->garp_rep : 5;
	if (v->garp_refresh == KA_UNSET_U32)
		v->garp_refresh = g->garp_refresh;
	if (v->garp_refresh_rep == KA_UNSET_U32)
		v->garp_refresh_rep = g->garp_refresh_rep != KA_UNSET_U32 ? g->garp_refresh_rep : 1;
	if (v->no_vips && v->strict) {
		ka_diag(c, KA_WARN, &v->loc,
			"(%s) no_virtual_ipaddress and strict mode incompatible, clearing "
			"no_virtual_ipaddress", v->name);
		v->no_vips = false;
	}
	if (!v->no_vips && !v->vips) {
		if (v->version == 3 || v->strict) {
			ka_diag(c, KA_ERROR, &v->loc, "(%s) No VIP specified; at least one is required",
				v->name);
			} else
			ka_diag(c, KA_WARN, &v->loc, "(%s) No VIP specified; at least one is sensible",
				v->name);
	}
	for (struct ka_vrrp_track **pp = &v->track_ifs, *t; (t = *pp);) {
		if (v->ifname && !strcmp(t->name, v->ifname)) {
			ka_diag(c, KA_WARN, &t->loc, "(%s) Ignoring track_interface %s since own interface",
				v->name, t->name);
			*pp = t->next;
			continue;
		}
		pp = &t->next;
	}
	resolve_scripts(c, v->name, &v->track_scripts);
	owner_tracking(c, v);
	for (struct ka_vrrp_track **pp = &v->track_scripts, *t; (t = *pp);) {
		if (v->priority == KA_VRRP_PRIO_OWNER && t->weight) {
			ka_diag(c, KA_WARN, &t->loc,
				"(%s) Cannot have weighted track script '%s' with priority %d", v->name,
				t->name, KA_VRRP_PRIO_OWNER);
			*pp = t->next;
			continue;
		}
		pp = &t->next;
	}
}

static struct ka_vrrp_inst *find_inst(struct ka_config *c, const char *name)
{
	for (struct ka_vrrp_inst *v = c->vrrps; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

/* vrrp_sync_set_group: the members; false when the group is dropped. */
static bool check_sync(struct ka_config *c, struct ka_vrrp_sync_group *g)
{
	g->insts = ka_alloc(c, g->nmembers * sizeof(*g->insts));
	for (unsigned k = 0; k < g->nmembers; k++) {
		struct ka_vrrp_inst *v = find_inst(c, g->members[k]);

		if (!v) {
			ka_diag(c, KA_ERROR, &g->member_locs[k],
				"Virtual router %s specified in sync group %s doesn't exist - ignoring",
				g->members[k], g->name);
			continue;
		}
		if (v->sync) {
			ka_diag(c, KA_WARN, &g->member_locs[k],
				"Virtual router %s cannot exist in more than one sync group; ignoring %s",
				g->members[k], g->name);
			continue;
		}
		v->sync = g;
		g->insts[g->ninsts++] = v;
	}
	if (!g->ninsts) {
		ka_diag(c, KA_WARN, &g->loc,
			"Sync group %s, no matching virtual router found in group declaration - removing",
			g->name);
		return false;
	}
	if (g->ninsts == 1)
		ka_diag(c, KA_WARN, &g->loc,
			"Sync group %s has only 1 virtual router(s) - this probably isn't what you want",
			g->name);
	resolve_scripts(c, g->name, &g->track_scripts);
	return true;
}

/* Once the members' states and priorities are known. */
static void sync_owners(struct ka_config *c, const struct ka_vrrp_sync_group *g)
{
	bool owner = false, other = false;

	for (unsigned k = 0; k < g->ninsts; k++) {
		bool o = g->insts[k]->state == KA_VRRP_MASTER &&
			 g->insts[k]->priority == KA_VRRP_PRIO_OWNER;

		owner |= o;
		other |= !o;
	}
	if (owner && other)
		ka_diag(c, KA_WARN, &g->loc,
			"Sync group %s has some member(s) as address owner and some not as address "
			"owner. This won't work.", g->name);
}

static bool same_addr(const struct ka_addr *a, const struct ka_addr *b)
{
	return a->af == b->af && !memcmp(&a->a, &b->a, a->af == AF_INET ? 4 : 16);
}

static bool peers_meet(const struct ka_vrrp_inst *a, const struct ka_vrrp_inst *b)
{
	for (const struct ka_vrrp_peer *p = a->peers; p; p = p->next)
		for (const struct ka_vrrp_peer *q = b->peers; q; q = q->next)
			if (same_addr(&p->addr, &q->addr))
				return true;
	return false;
}

/* check_vrid_conflicts, with the interfaces known by name only. */
static void vrid_conflicts(struct ka_config *c)
{
	for (const struct ka_vrrp_inst *a = c->vrrps; a; a = a->next)
		for (const struct ka_vrrp_inst *b = a->next; b; b = b->next) {
			if (a->af != b->af || a->vrid != b->vrid || !a->vrid || a->unicast != b->unicast)
				continue;
			if (a->unicast) {
				if (a->ifname && b->ifname && strcmp(a->ifname, b->ifname))
					continue;
				if (!a->src_ip.af || !b->src_ip.af || !same_addr(&a->src_ip, &b->src_ip) ||
				    !peers_meet(a, b))
					continue;
				ka_diag(c, KA_ERROR, &b->loc, "(%s) duplicate VRID conflict with %s VRID %u",
					a->name, b->name, a->vrid);
				continue;
			}
			if (!a->ifname || !b->ifname || strcmp(a->ifname, b->ifname) ||
			    !same_addr(&a->mcast_group, &b->mcast_group))
				continue;
			ka_diag(c, KA_ERROR, &b->loc, "%s and %s both use VRID %u with IPv%d on interface %s",
				a->name, b->name, a->vrid, a->af == AF_INET ? 4 : 6, a->ifname);
		}
}

void ka_vrrp_check(struct ka_config *c)
{
	struct ka_lvs_syncd *sd = &c->global.lvs_syncd;

	/* sync groups first: an instance's weighted tracking depends on its group */
	for (struct ka_vrrp_sync_group **pp = &c->vsyncs, *g; (g = *pp);) {
		if (!check_sync(c, g)) {
			*pp = g->next;
			continue;
		}
		pp = &g->next;
	}
	for (struct ka_vrrp_inst *v = c->vrrps; v; v = v->next)
		check_inst(c, v);
	for (const struct ka_vrrp_sync_group *g = c->vsyncs; g; g = g->next)
		sync_owners(c, g);
	vrid_conflicts(c);
	if (sd->ifname && sd->inst) {
		sd->vrrp = find_inst(c, sd->inst);
		if (!sd->vrrp) {
			ka_diag(c, KA_ERROR, &sd->loc,
				"Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config",
				sd->inst);
			sd->ifname = NULL;
			sd->syncid = KA_UNSET_U32;
		} else if (sd->syncid == KA_UNSET_U32)
			sd->syncid = sd->vrrp->vrid;
	}
	if (sd->syncid == KA_UNSET_U32)
		sd->syncid = 0;
	for (struct ka_vrrp_script **pp = &c->vscripts, *s; (s = *pp);) {
		if (!s->used) {
			ka_diag(c, KA_WARN, &s->loc, "Warning - script %s is not used", s->name);
			*pp = s->next;
			continue;
		}
		pp = &s->next;
	}
}
