/*
 * kaconf_check.c - what keepalived does once the file is read
 * (validate_check_config in keepalived's check/check_data.c, the
 * start-up part of check/ipwrapper.c), with the same messages:
 *
 *   - a virtual server by address without `protocol` becomes UDP (the
 *     kernel's reading of protocol 0), with a warning; one by fwmark
 *     ignores a protocol, with a warning; no scheduler: wlc; no
 *     forwarding method: NAT, with a warning; port 0 without persistence:
 *     persistence 360 s; `ops` only for UDP;
 *   - real servers inherit the virtual server's weight (default 1),
 *     inhibit_on_failure, alpha, retry, connect_timeout (5 s),
 *     delay_loop (60 s), warmup and delay_before_retry; checkers inherit
 *     from their real server, with their own defaults (retry 1, MISC 0,
 *     DNS 3; delay_before_retry 1 s, HTTP/SSL 3 s, DNS the delay_loop;
 *     warmup the delay_loop);
 *   - a duplicated real server is dropped; a DR/TUN server's port is
 *     the service's (a different one is reset, with a warning), a
 *     fwmark service's servers have port 0; a NAT server without a port
 *     takes the service's;
 *   - a quorum above the total weight is lowered to it; a hysteresis
 *     not below the quorum becomes quorum - 1 (unsigned, as keepalived);
 *   - start state: a real server with a checker in alpha mode starts
 *     failed, the others alive; the quorum is met when the alive weight
 *     reaches quorum + hysteresis.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "kaconf_int.h"
#include "pe.h"

const char *ka_vs_str(const struct ka_vs *vs, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	switch (vs->kind) {
	case KA_VS_FWMARK:
		snprintf(buf, len, "fwmark %u", vs->fwmark);
		break;
	case KA_VS_GROUP:
		snprintf(buf, len, "group %s", vs->group);
		break;
	default:
		lvs_addr_str(vs->af, &vs->addr, a, sizeof(a));
		snprintf(buf, len, vs->af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, vs->port);
	}
	return buf;
}

static const char *rs_str(const struct ka_rs *rs, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	lvs_addr_str(rs->addr.af, &rs->addr.a, a, sizeof(a));
	snprintf(buf, len, rs->addr.af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, rs->port);
	return buf;
}

static bool rs_same(const struct ka_rs *a, const struct ka_rs *b)
{
	return a->addr.af == b->addr.af && !memcmp(&a->addr.a, &b->addr.a, sizeof(a->addr.a)) &&
	       a->port == b->port;
}

static bool group_has(const struct ka_vs *vs, bool fwmark)
{
	if (!vs->vsg)
		return false;
	for (const struct ka_vsg_entry *e = vs->vsg->entries; e; e = e->next)
		if (e->is_fwmark == fwmark)
			return true;
	return false;
}

static void checker_defaults(const struct ka_config *c, struct ka_checker *ck,
			     const struct ka_rs *rs)
{
	uint32_t def_retry = ck->type == KA_CHECK_MISC ? 0 : ck->type == KA_CHECK_DNS ? 3 : 1;
	uint64_t def_dbr = ck->type == KA_CHECK_HTTP || ck->type == KA_CHECK_SSL ? 3 * KA_USEC
			   : ck->type == KA_CHECK_DNS				   ? 0
										   : KA_USEC;

	if (ck->alpha == -1)
		ck->alpha = rs->alpha;
	if (ck->retry == KA_UNSET_U32)
		ck->retry = rs->retry != KA_UNSET_U32 ? rs->retry : def_retry;
	if (ck->conn.connect_timeout == KA_UNSET_TIME)
		ck->conn.connect_timeout = rs->connect_timeout;
	for (struct ka_smtp_host *h = ck->hosts; h; h = h->next)
		if (h->conn.connect_timeout == KA_UNSET_TIME)
			h->conn.connect_timeout = ck->conn.connect_timeout;
	if (ck->delay_loop == KA_UNSET_TIME)
		ck->delay_loop = rs->delay_loop;
	if (ck->warmup == KA_UNSET_TIME)
		ck->warmup = rs->warmup != KA_UNSET_TIME ? rs->warmup : ck->delay_loop;
	if (ck->delay_before_retry == KA_UNSET_TIME)
		ck->delay_before_retry = rs->delay_before_retry != KA_UNSET_TIME ? rs->delay_before_retry
					 : def_dbr			     ? def_dbr
									     : ck->delay_loop;
	/* a script without a user of its own: script_user's (the user
	 * keepalived_script, when it exists, is the checker core's default) */
	if (ck->type == KA_CHECK_MISC && !ck->user && c->global.script_user) {
		ck->user = c->global.script_user;
		ck->group = c->global.script_group;
	}
	if (ck->type == KA_CHECK_SMTP && !ck->helo_name)
		ck->helo_name = "smtpchecker.keepalived.org";
	if (ck->type == KA_CHECK_DNS) {
		if (!ck->dns_type)
			ck->dns_type = "SOA";
		if (!ck->dns_name)
			ck->dns_name = "";
	}
}

/* The real and sorry servers' ports (validate_check_config's last part). */
static void fix_ports(struct ka_config *c, struct ka_vs *vs, const char *vsn)
{
	char b[64];

	if (vs->kind == KA_VS_GROUP) {
		for (struct ka_rs *rs = vs->rs; rs; rs = rs->next) {
			if (rs->fwd == LVS_FWD_MASQ || !rs->port)
				continue;
			if (group_has(vs, true))
				ka_diag(c, KA_WARN, &rs->loc,
					"WARNING - fwmark virtual server %s, real server %s has port "
					"specified - port will be ignored", vsn, rs_str(rs, b, sizeof(b)));
			for (const struct ka_vsg_entry *e = vs->vsg->entries; e; e = e->next)
				if (!e->is_fwmark && e->port != rs->port) {
					ka_diag(c, KA_WARN, &rs->loc,
						"virtual server %s and real server %s ports don't match",
						vsn, rs_str(rs, b, sizeof(b)));
					break;
				}
		}
		return;
	}
	for (struct ka_rs *rs = vs->rs;; rs = rs->next) {
		bool sorry = !rs;

		if (sorry && !(rs = vs->sorry))
			break;
		if (rs->fwd == LVS_FWD_MASQ) {
			if (vs->kind != KA_VS_FWMARK && !rs->port)
				rs->port = vs->port;
		} else if (vs->kind == KA_VS_FWMARK) {
			if (rs->port) {
				ka_diag(c, KA_WARN, &rs->loc,
					"WARNING - fwmark virtual server %s, %s server %s has port "
					"specified - clearing", vsn, sorry ? "sorry" : "real",
					rs_str(rs, b, sizeof(b)));
				rs->port = 0;
			}
		} else if (!rs->port)
			rs->port = vs->port;
		else if (rs->port != vs->port) {
			ka_diag(c, KA_WARN, &rs->loc,
				"WARNING - virtual server %s and %s server %s ports don't match - resetting",
				vsn, sorry ? "sorry" : "real", rs_str(rs, b, sizeof(b)));
			rs->port = vs->port;
		}
		if (sorry)
			break;
	}
}

/* Returns false when the virtual server is dropped. */
static bool check_vs(struct ka_config *c, struct ka_vs *vs)
{
	char vsn[96], b[64];
	uint64_t weight_sum = 0, live = 0;
	bool by_addr;

	ka_vs_str(vs, vsn, sizeof(vsn));
	/* keepalived hands the name to IPVS, which refuses an engine it does
	 * not have (ENOENT) and the service is never made: lvsd says so at
	 * once instead of starting without it */
	if (vs->persistence_engine && lvs_pe_by_name(vs->persistence_engine) < 0)
		ka_diag(c, KA_ERROR, &vs->loc,
			"Virtual server %s: persistence_engine %s not found (lvsd has: sip)", vsn,
			vs->persistence_engine);
	if (vs->kind == KA_VS_GROUP) {
		for (struct ka_vsg *g = c->vsgs; g; g = g->next)
			if (!strcmp(g->name, vs->group)) {
				vs->vsg = g;
				g->used = true;
				break;
			}
		if (!vs->vsg) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server group %s specified but not configured - ignoring virtual "
				"server %s", vs->group, vsn);
			return false;
		}
	}
	if (!vs->rs) {
		ka_diag(c, KA_WARN, &vs->loc, "Virtual server %s has no real servers - ignoring", vsn);
		return false;
	}
	/* vs_end_handler: the family of a fwmark service from its servers */
	if (vs->sorry && vs->sorry->fwd != LVS_FWD_TUNNEL) {
		if (vs->af == AF_UNSPEC)
			vs->af = vs->sorry->addr.af;
		else if (vs->af != vs->sorry->addr.af) {
			ka_diag(c, KA_WARN, &vs->sorry->loc,
				"Address family of virtual server and sorry server %s don't match - "
				"skipping sorry server.", rs_str(vs->sorry, b, sizeof(b)));
			vs->sorry = NULL;
		}
	}
	if (vs->af == AF_UNSPEC && vs->kind != KA_VS_GROUP) {
		bool mixed = false;

		if (vs->sorry)
			vs->af = vs->sorry->addr.af;
		for (struct ka_rs *rs = vs->rs; rs; rs = rs->next) {
			if (vs->af == AF_UNSPEC)
				vs->af = rs->addr.af;
			else if (vs->af != rs->addr.af)
				mixed = true;
		}
		if (mixed || vs->af == AF_UNSPEC)
			vs->af = AF_INET;
	}

	if (vs->ha_suspend && (vs->kind == KA_VS_FWMARK || group_has(vs, true))) {
		ka_diag(c, KA_WARN, &vs->loc,
			"Virtual server %s: cannot use ha_suspend with fwmarks - clearing ha_suspend", vsn);
		vs->ha_suspend = false;
	}
	by_addr = vs->kind == KA_VS_ADDR || group_has(vs, false);
	if (by_addr) {
		if (!vs->proto) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server %s: no protocol set - defaulting to UDP", vsn);
			vs->proto = IPPROTO_UDP;
		}
		if ((vs->flags & LVS_SVC_F_ONEPACKET) && vs->proto != IPPROTO_UDP) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server %s: one packet scheduling requires UDP - resetting", vsn);
			vs->flags &= ~(uint32_t)LVS_SVC_F_ONEPACKET;
		}
		if (!vs->persistence_timeout && vs->kind == KA_VS_ADDR && !vs->port) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server %s: zero port only valid for persistent services - setting",
				vsn);
			vs->persistence_timeout = LVS_DEF_PERSIST_TIMEOUT;
		}
	}
	if (!vs->persistence_timeout && vs->vsg)
		for (const struct ka_vsg_entry *e = vs->vsg->entries; e; e = e->next)
			if (!e->is_fwmark && !e->port) {
				ka_diag(c, KA_WARN, &vs->loc,
					"Virtual server %s: zero port only valid for persistent services - "
					"setting", vsn);
				vs->persistence_timeout = LVS_DEF_PERSIST_TIMEOUT;
				break;
			}
	if (vs->proto && !by_addr) {
		ka_diag(c, KA_WARN, &vs->loc,
			"Warning: Virtual server %s: protocol specified for fwmark - protocol will be "
			"ignored", vsn);
		vs->proto = 0;
	}
	if (!vs->sched[0]) {
		ka_diag(c, KA_WARN, &vs->loc,
			"Virtual server %s: no scheduler set, setting default '%s'", vsn, LVS_DEF_SCHED);
		snprintf(vs->sched, sizeof(vs->sched), "%s", LVS_DEF_SCHED);
	}
	if (vs->smtp_alert == -1)
		vs->smtp_alert = 0;

	for (struct ka_rs **pp = &vs->rs, *rs; (rs = *pp);) {
		bool dup = false;

		for (struct ka_rs *r1 = vs->rs; r1 != rs; r1 = r1->next)
			if (rs_same(rs, r1))
				dup = true;
		if (dup) {
			ka_diag(c, KA_WARN, &rs->loc,
				"VS %s: real server %s is duplicated - removing second rs", vsn,
				rs_str(rs, b, sizeof(b)));
			*pp = rs->next;
			vs->nrs--;
			continue;
		}
		if (rs->fwd == -1) {
			if (vs->fwd == -1) {
				ka_diag(c, KA_WARN, &vs->loc,
					"Virtual server %s: no forwarding method set, setting default NAT",
					vsn);
				vs->fwd = LVS_FWD_MASQ;
			}
			rs->fwd = vs->fwd;
			rs->tun_type = vs->tun_type;
			rs->tun_port = vs->tun_port;
			rs->tun_flags = vs->tun_flags;
		}
		if (rs->alpha == -1)
			rs->alpha = vs->alpha;
		if (rs->inhibit == -1)
			rs->inhibit = vs->inhibit;
		if (rs->retry == KA_UNSET_U32)
			rs->retry = vs->retry;
		if (rs->connect_timeout == KA_UNSET_TIME)
			rs->connect_timeout = vs->connect_timeout;
		if (rs->delay_loop == KA_UNSET_TIME)
			rs->delay_loop = vs->delay_loop;
		if (rs->warmup == KA_UNSET_TIME)
			rs->warmup = vs->warmup;
		if (rs->delay_before_retry == KA_UNSET_TIME)
			rs->delay_before_retry = vs->delay_before_retry;
		if (rs->weight == -1)
			rs->weight = vs->weight;
		if (rs->smtp_alert == -1)
			rs->smtp_alert = 1; /* keepalived's default for real servers */
		weight_sum += (uint64_t)rs->weight;
		if (vs->sorry && rs_same(vs->sorry, rs) && vs->sorry_inhibit != (rs->inhibit == 1)) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server %s: real server %s matches sorry server, but inhibit "
				"setting differs, %sing on sorry server", vsn, rs_str(rs, b, sizeof(b)),
				rs->inhibit ? "sett" : "clear");
			vs->sorry_inhibit = rs->inhibit == 1;
		}
		pp = &rs->next;
	}
	if (vs->sorry && vs->sorry->fwd == -1) {
		if (vs->fwd == -1) {
			ka_diag(c, KA_WARN, &vs->loc,
				"Virtual server %s: no forwarding method set, setting default NAT", vsn);
			vs->fwd = LVS_FWD_MASQ;
		}
		vs->sorry->fwd = vs->fwd;
		vs->sorry->tun_type = vs->tun_type;
		vs->sorry->tun_port = vs->tun_port;
		vs->sorry->tun_flags = vs->tun_flags;
	}
	if (vs->quorum > weight_sum) {
		ka_diag(c, KA_WARN, &vs->loc,
			"Warning - quorum %u for %s exceeds total weight of real servers %llu, reducing "
			"quorum to %llu", vs->quorum, vsn, (unsigned long long)weight_sum,
			(unsigned long long)weight_sum);
		vs->quorum = (uint32_t)weight_sum;
	}
	if (vs->hysteresis >= vs->quorum) {
		ka_diag(c, KA_WARN, &vs->loc,
			"Virtual server %s: hysteresis %u >= quorum %u; setting hysteresis to %u", vsn,
			vs->hysteresis, vs->quorum, vs->quorum - 1);
		vs->hysteresis = vs->quorum - 1;
	}
	fix_ports(c, vs, vsn);

	for (struct ka_rs *rs = vs->rs; rs; rs = rs->next) {
		rs->start_alive = true;
		for (struct ka_checker *ck = rs->checkers; ck; ck = ck->next) {
			checker_defaults(c, ck, rs);
			if (ck->alpha == 1)
				rs->start_alive = false;
			if (ck->type == KA_CHECK_FILE) {
				for (const struct ka_track_file *tf = c->track_files; tf; tf = tf->next)
					if (!strcmp(tf->name, ck->track_file))
						ck->tf = tf;
				if (!ck->tf)
					ka_diag(c, KA_ERROR, &ck->loc, "track_file %s not found",
						ck->track_file);
				else if (ck->file_weight == INT32_MIN)
					ck->file_weight = ck->tf->weight;
			}
		}
		if (rs->start_alive)
			live += (uint64_t)rs->weight;
	}
	/* the sum is unsigned as in keepalived (hysteresis may be UINT_MAX) */
	vs->quorum_met = live >= (uint32_t)(vs->quorum + vs->hysteresis);
	return true;
}

void ka_check(struct ka_config *c)
{
	for (struct ka_vs **pp = &c->vss, *vs; (vs = *pp);) {
		if (!check_vs(c, vs)) {
			*pp = vs->next;
			c->nvs--;
			continue;
		}
		pp = &vs->next;
	}
	ka_vrrp_check(c);
}
