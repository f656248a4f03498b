/*
 * confload.c - the keepalived.conf file at lvsd's start (confload.h).
 *
 * Interfaces: with -f and no -i, lvsd serves every interface through
 * which a virtual address or a real server is routed (the main table's
 * longest match; an address of the host is routed through the
 * interface of its connected prefix), skipping loopback and interfaces
 * that are down, in the order first met.  A virtual address the director
 * has no route for is one routed to it from outside (its clients' packets
 * may come in anywhere): then every Ethernet interface that is up is
 * served, as kernel IPVS sees them all.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>

#include "checker.h"
#include "confload.h"
#include "kaconf.h"
#include "log.h"
#include "lvsd_ctx.h"
#include "netstate.h"

/* MISC_CHECK scripts that would run as root and that another user could
 * change: what the checks say at start, said by -t as well (keepalived
 * checks its scripts when it reads the file). */
static void conf_test_scripts(struct ka_config *c)
{
	char why[PATH_MAX + 64];

	for (const struct ka_vs *vs = c->vss; vs; vs = vs->next)
		for (const struct ka_rs *rs = vs->rs; rs; rs = rs->next)
			for (const struct ka_checker *ck = rs->checkers; ck; ck = ck->next)
				if (ck->type == KA_CHECK_MISC &&
				    lvs_check_misc_unsafe(ck, why, sizeof(why)) == 1)
					ka_diag(c, KA_WARN, &ck->loc,
						"MISC_CHECK script runs as root and %s%s", why,
						c->global.script_security
							? ": disabled (enable_script_security)"
							: "");
}

int lvsd_conf_test(const char *path, FILE *err)
{
	struct ka_config *c = ka_config_load(path);
	int rc;

	if (!c) {
		fprintf(err, "lvsd: out of memory\n");
		return 4;
	}
	if (!c->nerrors)
		conf_test_scripts(c);
	ka_config_print_diags(c, err, KA_INFO);
	rc = ka_config_test_status(c);
	fprintf(err, "%s: %u error%s, %u warning%s, %u notice%s; %u virtual server%s\n", path,
		c->nerrors, c->nerrors == 1 ? "" : "s", c->nwarnings, c->nwarnings == 1 ? "" : "s",
		c->ninfos, c->ninfos == 1 ? "" : "s", c->nvs, c->nvs == 1 ? "" : "s");
	ka_config_free(c);
	return rc;
}

struct ka_config *lvsd_conf_read(const char *path)
{
	struct ka_config *c = ka_config_load(path);

	if (!c) {
		lvs_err("%s: out of memory", path);
		return NULL;
	}
	for (const struct ka_diag *g = c->diags; g; g = g->next) {
		int lvl = g->level == KA_ERROR ? LOG_ERR
			  : g->level == KA_WARN ? LOG_WARNING
						: LOG_NOTICE;

		if (g->loc.line)
			lvs_log(lvl, "%s:%u: %s", g->loc.file, g->loc.line, g->msg);
		else
			lvs_log(lvl, "%s: %s", g->loc.file ? g->loc.file : path, g->msg);
	}
	if (c->nerrors) {
		lvs_err("%s: %u error%s: not started", path, c->nerrors, c->nerrors > 1 ? "s" : "");
		ka_config_free(c);
		return NULL;
	}
	return c;
}

struct iface_pick {
	struct lvsd *d;
	char names[LVSD_MAX_IFACES][IF_NAMESIZE];
	bool vip_unrouted;
};

static void add_iface(struct iface_pick *ip, const struct lvs_link_info *li)
{
	struct lvsd *d = ip->d;

	for (unsigned k = 0; k < d->nif; k++)
		if (d->ifindex[k] == li->ifindex)
			return;
	if (d->nif == LVSD_MAX_IFACES) {
		lvs_warn("more than %d interfaces: %s not served", LVSD_MAX_IFACES, li->name);
		return;
	}
	snprintf(ip->names[d->nif], IF_NAMESIZE, "%s", li->name);
	d->ifname[d->nif] = ip->names[d->nif];
	d->ifindex[d->nif] = li->ifindex;
	d->nif++;
}

static void add_named(struct iface_pick *ip, const char *name)
{
	struct lvs_link_info li;
	unsigned idx = name ? if_nametoindex(name) : 0;

	if (idx && !lvs_netstate_link(ip->d->netstate, idx, &li) && li.type == ARPHRD_ETHER)
		add_iface(ip, &li);
	else if (name)
		lvs_warn("vrrp: interface %s: not an Ethernet interface here, not served", name);
}

static void pick_addr(void *arg, int af, const union lvs_addr *a, bool is_vip)
{
	struct iface_pick *ip = arg;
	struct lvsd *d = ip->d;
	struct lvs_nexthop nh;
	struct lvs_link_info li;
	char buf[INET6_ADDRSTRLEN];
	int rc;

	memset(&nh, 0, sizeof(nh));
	rc = lvs_netstate_route(d->netstate, af, a, &nh);
	/* -EAGAIN: routed, the neighbour is being resolved (which helps) */
	if ((rc && rc != -EAGAIN) || !nh.ifindex ||
	    lvs_netstate_link(d->netstate, nh.ifindex, &li) || li.type == ARPHRD_LOOPBACK) {
		if (is_vip)
			ip->vip_unrouted = true;
		else
			lvs_warn("real server %s: no route through an interface lvsd can serve",
				 lvs_addr_str(af, a, buf, sizeof(buf)));
		return;
	}
	lvs_debug("%s %s is reached through %s", is_vip ? "virtual address" : "real server",
		  lvs_addr_str(af, a, buf, sizeof(buf)), li.name);
	add_iface(ip, &li);
}

int lvsd_conf_ifaces(struct lvsd *d, const struct ka_config *c)
{
	static struct iface_pick ip; /* the names live as long as lvsd */

	memset(&ip, 0, sizeof(ip));
	ip.d = d;
	ka_config_addrs(c, pick_addr, &ip);
	/* VRRP's interfaces: the workers answer for its addresses there */
	for (const struct ka_vrrp_inst *v = c->vrrps; v; v = v->next) {
		const struct ka_vrrp_vip *lists[2] = {v->vips, v->evips};

		add_named(&ip, v->ifname);
		for (unsigned k = 0; k < 2; k++)
			for (const struct ka_vrrp_vip *a = lists[k]; a; a = a->next)
				add_named(&ip, a->dev);
	}
	if (ip.vip_unrouted) {
		struct if_nameindex *all = if_nameindex();

		lvs_notice("a virtual address is not routed from here: serving every Ethernet "
			   "interface that is up");
		for (struct if_nameindex *i = all; i && i->if_index; i++) {
			struct lvs_link_info li;

			if (!lvs_netstate_link(d->netstate, i->if_index, &li) &&
			    li.type == ARPHRD_ETHER && (li.flags & IFF_UP))
				add_iface(&ip, &li);
		}
		if (all)
			if_freenameindex(all);
	}
	for (unsigned k = 0; k < d->nif; k++)
		lvs_info("serving %s", d->ifname[k]);
	return d->nif ? 0 : -ENODEV;
}

static const char *health_str(const struct ka_rs *rs, const struct ka_vs *vs)
{
	if (!rs->start_alive)
		return rs->inhibit == 1 ? "failed (alpha), weight 0" : "failed (alpha), not installed";
	if (!vs->quorum_met && vs->sorry)
		return "alive, replaced by the sorry server (quorum lost)";
	return "alive";
}

int lvsd_conf_install(struct lvsd *d, const struct ka_config *c, bool detail)
{
	char err[512], name[96], addr[INET6_ADDRSTRLEN];
	int rc = ka_config_apply(c, d->dir.model, err, sizeof(err));

	if (rc) {
		lvs_err("%s", err);
		return rc;
	}
	for (const struct ka_vs *vs = c->vss; detail && vs; vs = vs->next) {
		lvs_info("virtual server %s (%s:%u): %s, quorum %u %s",
			 ka_vs_str(vs, name, sizeof(name)), vs->loc.file, vs->loc.line, vs->sched,
			 vs->quorum, vs->quorum_met ? "met" : "lost");
		for (const struct ka_rs *rs = vs->rs; rs; rs = rs->next)
			lvs_info("  real server %s port %u weight %lld: %s (%u checker%s)",
				 lvs_addr_str(rs->addr.af, &rs->addr.a, addr, sizeof(addr)), rs->port,
				 (long long)rs->weight, health_str(rs, vs), rs->nchecks,
				 rs->nchecks == 1 ? "" : "s");
	}
	lvs_notice("configuration installed: %u virtual server%s", c->nvs, c->nvs == 1 ? "" : "s");
	return 0;
}
