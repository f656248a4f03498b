/*
 * kaconf_model.c - a checked keepalived.conf into model operations, as
 * keepalived's init_services (check/ipwrapper.c) installs it at start:
 * one IPVS service per virtual server, or per address of each range and
 * per fwmark of its group (ranges first, then fwmarks, in file order);
 * its real servers in file order (the kernel puts each new one at the
 * head of the list, as for ipvsadm).  The start state of each server
 * (kaconf_check.c) becomes its health in the model, so the health
 * checkers find every configured server there:
 *
 *   alive                              UP
 *   failed (alpha), inhibit_on_failure QUIESCED (listed with weight 0)
 *   failed (alpha)                     DOWN (not listed)
 *   alive, quorum lost, sorry server   DOWN: the sorry server is used
 *
 * The sorry server is added (UP) only while the quorum is not met, or
 * with weight 0 (QUIESCED) when sorry_server_inhibit is set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pe.h"
#include "kaconf_int.h"

#define KA_MAX_RANGE 65536 /* addresses expanded from one group entry */

struct apply {
	struct lvs_model *m;
	char *err;
	size_t errlen;
};

static int fail(struct apply *ap, const struct ka_loc *loc, enum lvs_model_op op, int err,
		const char *what)
{
	snprintf(ap->err, ap->errlen, "%s:%u: %s: %s", loc->file, loc->line, what,
		 lvs_model_strerror(op, err));
	return err;
}

static void addr_next(int af, union lvs_addr *a)
{
	for (int k = af == AF_INET ? 3 : 15; k >= 0; k--)
		if (++a->b[k])
			break;
}

/* Number of addresses in [start, end], capped at KA_MAX_RANGE + 1. */
static unsigned range_count(int af, const union lvs_addr *start, const union lvs_addr *end)
{
	union lvs_addr a = *start;
	unsigned n = 1;
	size_t len = af == AF_INET ? 4 : 16;

	while (memcmp(&a, end, len) && n <= KA_MAX_RANGE) {
		addr_next(af, &a);
		n++;
	}
	return n;
}

void ka_rs_dest_conf(const struct ka_rs *rs, struct lvs_dest_conf *d)
{
	lvs_dest_conf_defaults(d);
	d->af = rs->addr.af;
	d->addr = rs->addr.a;
	d->port = htons(rs->port);
	d->fwd = (uint8_t)rs->fwd;
	d->tun_type = rs->tun_type;
	d->tun_port = htons(rs->tun_port);
	d->tun_flags = rs->tun_flags;
	d->weight = (int32_t)rs->weight;
	d->u_threshold = rs->u_threshold;
	d->l_threshold = rs->l_threshold;
	d->owner = LVS_OWNER_CONFIG;
}

static int add_dest(struct apply *ap, const struct lvs_svc_key *k, const struct ka_rs *rs,
		    enum lvs_dest_health h, const char *reason)
{
	struct lvs_dest_conf d;
	int err;

	ka_rs_dest_conf(rs, &d);
	err = lvs_model_add_dest(ap->m, k, &d);
	if (err)
		return fail(ap, &rs->loc, LVS_OP_ADD_DEST, err, "real_server");
	if (h != LVS_DEST_UP && (err = lvs_model_set_dest_health(ap->m, k, &d, h, reason)))
		return fail(ap, &rs->loc, LVS_OP_EDIT_DEST, err, "real_server");
	return 0;
}

static bool same_server(const struct ka_rs *a, const struct ka_rs *b)
{
	return a->addr.af == b->addr.af && !memcmp(&a->addr.a, &b->addr.a, sizeof(a->addr.a)) &&
	       a->port == b->port;
}

/* The rest of an IPVS service of vs (c has its identity). */
static void svc_conf_fill(const struct ka_vs *vs, struct lvs_svc_conf *c)
{
	snprintf(c->sched, sizeof(c->sched), "%s", vs->sched);
	c->flags = vs->flags;
	if (vs->persistence_timeout) {
		c->flags |= LVS_SVC_F_PERSISTENT;
		c->timeout = vs->persistence_timeout;
	}
	if (vs->has_granularity)
		c->netmask = vs->granularity;
	/* keepalived passes the name to IPVS as given; kaconf_check.c has
	 * refused names the kernel would not know */
	if (vs->persistence_engine && lvs_pe_by_name(vs->persistence_engine) > 0)
		c->pe = (uint8_t)lvs_pe_by_name(vs->persistence_engine);
	c->owner = LVS_OWNER_CONFIG;
	lvs_svc_conf_defaults(c);
}

/* One IPVS service of vs and its servers. */
static int add_service(void *arg, const struct ka_vs *vs, const struct lvs_svc_conf *c)
{
	struct apply *ap = arg;
	struct lvs_svc_key k;
	bool sorry_dup = false;
	int err;

	if ((err = lvs_model_add_service(ap->m, c)))
		return fail(ap, &vs->loc, LVS_OP_ADD_SERVICE, err, "virtual_server");
	lvs_svc_conf_key(c, &k);
	for (const struct ka_rs *rs = vs->rs; rs; rs = rs->next) {
		enum lvs_dest_health h = LVS_DEST_UP;
		const char *why = NULL;

		if (vs->sorry && same_server(vs->sorry, rs))
			sorry_dup = true;
		if (!rs->start_alive) {
			h = rs->inhibit == 1 ? LVS_DEST_QUIESCED : LVS_DEST_DOWN;
			why = "alpha: not checked yet";
		} else if (!vs->quorum_met && vs->sorry) {
			h = LVS_DEST_DOWN;
			why = "quorum lost: sorry server in use";
		}
		if ((err = add_dest(ap, &k, rs, h, why)))
			return err;
	}
	if (vs->sorry && !sorry_dup) {
		if (!vs->quorum_met)
			err = add_dest(ap, &k, vs->sorry, LVS_DEST_UP, NULL);
		else if (vs->sorry_inhibit)
			err = add_dest(ap, &k, vs->sorry, LVS_DEST_QUIESCED, "sorry server not in use");
	}
	return err;
}

static uint8_t vs_af(const struct ka_vs *vs)
{
	return vs->af ? vs->af : AF_INET;
}

int ka_vs_services(const struct ka_vs *vs,
		   int (*fn)(void *arg, const struct ka_vs *vs, const struct lvs_svc_conf *c),
		   void *arg, char *err, size_t errlen)
{
	struct lvs_svc_conf c;
	int rc = 0;

	if (vs->kind != KA_VS_GROUP) {
		memset(&c, 0, sizeof(c));
		c.af = vs_af(vs);
		if (vs->kind == KA_VS_FWMARK)
			c.fwmark = vs->fwmark;
		else {
			c.proto = vs->proto;
			c.addr = vs->addr;
			c.port = htons(vs->port);
		}
		svc_conf_fill(vs, &c);
		return fn(arg, vs, &c);
	}
	/* address ranges, then fwmarks, as keepalived's ipvs_group_cmd */
	for (int pass = 0; pass < 2; pass++)
		for (const struct ka_vsg_entry *e = vs->vsg->entries; e; e = e->next) {
			if (e->is_fwmark != (pass == 1))
				continue;
			memset(&c, 0, sizeof(c));
			if (e->is_fwmark) {
				c.af = e->af ? e->af : vs_af(vs);
				c.fwmark = e->fwmark;
				svc_conf_fill(vs, &c);
				if ((rc = fn(arg, vs, &c)))
					return rc;
				continue;
			}
			if (range_count(e->af, &e->start, &e->end) > KA_MAX_RANGE) {
				snprintf(err, errlen,
					 "%s:%u: address range of more than %d addresses", e->loc.file,
					 e->loc.line, KA_MAX_RANGE);
				return -E2BIG;
			}
			for (union lvs_addr a = e->start;; addr_next(e->af, &a)) {
				memset(&c, 0, sizeof(c));
				c.af = e->af;
				c.proto = vs->proto;
				c.addr = a;
				c.port = htons(e->port);
				svc_conf_fill(vs, &c);
				if ((rc = fn(arg, vs, &c)))
					return rc;
				if (!memcmp(&a, &e->end, e->af == AF_INET ? 4 : 16))
					break;
			}
		}
	return 0;
}

int ka_config_apply(const struct ka_config *c, struct lvs_model *m, char *err, size_t errlen)
{
	struct apply ap = {.m = m, .err = err, .errlen = errlen};
	int rc;

	if (c->nerrors) {
		snprintf(err, errlen, "the configuration has %u error%s", c->nerrors,
			 c->nerrors > 1 ? "s" : "");
		return -EINVAL;
	}
	if ((rc = lvs_model_begin(m))) {
		snprintf(err, errlen, "the model is busy");
		return rc;
	}
	if (c->global.timeouts_set && (rc = lvs_model_set_timeouts(m, &c->global.timeouts))) {
		snprintf(err, errlen, "lvs_timeouts: %s", lvs_model_strerror(LVS_OP_OTHER, rc));
		goto abort;
	}
	for (const struct ka_vs *vs = c->vss; vs; vs = vs->next)
		if ((rc = ka_vs_services(vs, add_service, &ap, err, errlen)))
			goto abort;
	if ((rc = lvs_model_commit(m))) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	return 0;
abort:
	lvs_model_abort(m);
	return rc;
}

void ka_config_addrs(const struct ka_config *c,
		     void (*fn)(void *arg, int af, const union lvs_addr *a, bool is_vip), void *arg)
{
	for (const struct ka_vs *vs = c->vss; vs; vs = vs->next) {
		if (vs->kind == KA_VS_ADDR)
			fn(arg, vs->af, &vs->addr, true);
		else if (vs->kind == KA_VS_GROUP)
			for (const struct ka_vsg_entry *e = vs->vsg->entries; e; e = e->next) {
				if (e->is_fwmark ||
				    range_count(e->af, &e->start, &e->end) > KA_MAX_RANGE)
					continue;
				for (union lvs_addr a = e->start;; addr_next(e->af, &a)) {
					fn(arg, e->af, &a, true);
					if (!memcmp(&a, &e->end, e->af == AF_INET ? 4 : 16))
						break;
				}
			}
		for (const struct ka_rs *rs = vs->rs; rs; rs = rs->next)
			fn(arg, rs->addr.af, &rs->addr.a, false);
		if (vs->sorry)
			fn(arg, vs->sorry->addr.af, &vs->sorry->addr.a, false);
	}
}

/* ---- reload: the difference between two files ---- */

struct svc_ent {
	struct lvs_svc_key k;
	struct lvs_svc_conf c;
	const struct ka_vs *vs;
	bool seen;
};

struct svc_vec {
	struct svc_ent *v;
	size_t n, cap;
};

static int collect(void *arg, const struct ka_vs *vs, const struct lvs_svc_conf *c)
{
	struct svc_vec *sv = arg;

	if (sv->n == sv->cap) {
		size_t nc = sv->cap ? sv->cap * 2 : 64;
		struct svc_ent *nv = realloc(sv->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		sv->v = nv;
		sv->cap = nc;
	}
	memset(&sv->v[sv->n], 0, sizeof(sv->v[0]));
	lvs_svc_conf_key(c, &sv->v[sv->n].k);
	sv->v[sv->n].c = *c;
	sv->v[sv->n].vs = vs;
	sv->n++;
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	return memcmp(&((const struct svc_ent *)a)->k, &((const struct svc_ent *)b)->k,
		      sizeof(struct lvs_svc_key));
}

static int collect_all(const struct ka_config *c, struct svc_vec *sv, char *err, size_t errlen)
{
	for (const struct ka_vs *vs = c->vss; vs; vs = vs->next) {
		int rc = ka_vs_services(vs, collect, sv, err, errlen);
		if (rc)
			return rc;
	}
	qsort(sv->v, sv->n, sizeof(sv->v[0]), cmp_ent);
	return 0;
}

static bool svc_differs(const struct lvs_svc_conf *a, const struct lvs_svc_conf *b)
{
	return strcmp(a->sched, b->sched) || a->flags != b->flags || a->timeout != b->timeout ||
	       a->netmask != b->netmask || a->pe != b->pe;
}

static bool dest_differs(const struct lvs_dest_conf *a, const struct lvs_dest_conf *b)
{
	return a->fwd != b->fwd || a->tun_type != b->tun_type || a->tun_port != b->tun_port ||
	       a->tun_flags != b->tun_flags || a->weight != b->weight ||
	       a->u_threshold != b->u_threshold || a->l_threshold != b->l_threshold;
}

static const struct ka_rs *find_rs(const struct ka_vs *vs, const struct ka_rs *rs)
{
	for (const struct ka_rs *o = vs->rs; o; o = o->next)
		if (same_server(o, rs))
			return o;
	return NULL;
}

/* A server new to this service: added as at start (its checks follow);
 * one an operator added with lvsadm meanwhile becomes the file's. */
static int reload_add_dest(struct apply *ap, const struct lvs_svc_key *k, const struct ka_rs *rs)
{
	enum lvs_dest_health h = rs->start_alive ? LVS_DEST_UP
				 : rs->inhibit == 1 ? LVS_DEST_QUIESCED : LVS_DEST_DOWN;
	struct lvs_dest_conf d;
	int err = add_dest(ap, k, rs, h, rs->start_alive ? NULL : "alpha: not checked yet");

	if (err != -EEXIST)
		return err;
	ka_rs_dest_conf(rs, &d);
	err = lvs_model_edit_dest(ap->m, k, &d);
	return err ? fail(ap, &rs->loc, LVS_OP_EDIT_DEST, err, "real_server") : 0;
}

/* The servers of a service in both files: only what the file changed. */
static int reload_dests(struct apply *ap, const struct svc_ent *o, const struct svc_ent *n)
{
	int err;

	for (const struct ka_rs *rs = n->vs->rs; rs; rs = rs->next) {
		const struct ka_rs *ors = find_rs(o->vs, rs);
		struct lvs_dest_conf od, nd;

		if (!ors) {
			if ((err = reload_add_dest(ap, &n->k, rs)))
				return err;
			continue;
		}
		ka_rs_dest_conf(ors, &od);
		ka_rs_dest_conf(rs, &nd);
		if (!dest_differs(&od, &nd))
			continue; /* untouched: weights set by lvsadm or checks stay */
		err = lvs_model_edit_dest(ap->m, &n->k, &nd);
		if (err == -ENOENT) /* deleted by hand: the file has it again */
			err = reload_add_dest(ap, &n->k, rs);
		else if (err)
			err = fail(ap, &rs->loc, LVS_OP_EDIT_DEST, err, "real_server");
		if (err)
			return err;
	}
	/* servers the file dropped: deleted, so they drain (the trash keeps
	 * their connections until these end) */
	for (const struct ka_rs *rs = o->vs->rs; rs; rs = rs->next) {
		struct lvs_dest_conf d;

		if (find_rs(n->vs, rs))
			continue;
		ka_rs_dest_conf(rs, &d);
		err = lvs_model_del_dest(ap->m, &n->k, &d);
		if (err && err != -ENOENT)
			return fail(ap, &rs->loc, LVS_OP_DEL_DEST, err, "real_server");
	}
	/* a sorry server that changed or went: out (the checks put the new
	 * one in when it is needed) */
	if (o->vs->sorry && !find_rs(n->vs, o->vs->sorry) &&
	    !(n->vs->sorry && same_server(n->vs->sorry, o->vs->sorry))) {
		struct lvs_dest_conf d;

		ka_rs_dest_conf(o->vs->sorry, &d);
		err = lvs_model_del_dest(ap->m, &n->k, &d);
		if (err && err != -ENOENT)
			return fail(ap, &o->vs->sorry->loc, LVS_OP_DEL_DEST, err, "sorry_server");
	}
	return 0;
}

int ka_config_reload(const struct ka_config *old, const struct ka_config *c, struct lvs_model *m,
		     char *err, size_t errlen)
{
	struct apply ap = {.m = m, .err = err, .errlen = errlen};
	struct svc_vec ov = {0}, nv = {0};
	int rc;

	err[0] = '\0';
	if ((rc = collect_all(old, &ov, err, errlen)) || (rc = collect_all(c, &nv, err, errlen)))
		goto out;
	if ((rc = lvs_model_begin(m))) {
		snprintf(err, errlen, "the model is busy");
		goto out;
	}
	if (c->global.timeouts_set && (rc = lvs_model_set_timeouts(m, &c->global.timeouts))) {
		snprintf(err, errlen, "lvs_timeouts: %s", lvs_model_strerror(LVS_OP_OTHER, rc));
		goto abort;
	}
	for (size_t i = 0; i < nv.n; i++) {
		struct svc_ent *n = &nv.v[i];
		struct svc_ent *o = bsearch(n, ov.v, ov.n, sizeof(*n), cmp_ent);

		if (o) {
			o->seen = true;
			if (svc_differs(&o->c, &n->c) && (rc = lvs_model_edit_service(m, &n->c))) {
				fail(&ap, &n->vs->loc, LVS_OP_EDIT_SERVICE, rc, "virtual_server");
				goto abort;
			}
			if ((rc = reload_dests(&ap, o, n)))
				goto abort;
			continue;
		}
		if (lvs_model_get_svc_owner(m, &n->k) >= 0) {
			/* made with lvsadm meanwhile: the file's now, its servers added */
			struct svc_ent none = {.vs = &(struct ka_vs){0}};

			if ((rc = lvs_model_edit_service(m, &n->c))) {
				fail(&ap, &n->vs->loc, LVS_OP_EDIT_SERVICE, rc, "virtual_server");
				goto abort;
			}
			if ((rc = reload_dests(&ap, &none, n)))
				goto abort;
			continue;
		}
		if ((rc = add_service(&ap, n->vs, &n->c)))
			goto abort;
	}
	for (size_t i = 0; i < ov.n; i++) {
		if (ov.v[i].seen || lvs_model_get_svc_owner(m, &ov.v[i].k) != LVS_OWNER_CONFIG)
			continue;
		rc = lvs_model_del_service(m, &ov.v[i].k);
		if (rc && rc != -ESRCH) {
			fail(&ap, &ov.v[i].vs->loc, LVS_OP_DEL_SERVICE, rc, "virtual_server");
			goto abort;
		}
	}
	rc = lvs_model_commit(m);
	if (rc)
		snprintf(err, errlen, "%s", strerror(-rc));
	goto out;
abort:
	lvs_model_abort(m);
out:
	free(ov.v);
	free(nv.v);
	return rc;
}
