/*
 * model.c - the control plane's model of services and destinations: the
 * configuration records and the operations that change them, the undo
 * log and batches, the model's lifecycle and ipvsadm's messages.  The
 * states and their gc are in model_state.c, the key hashes and the
 * workers' service index in model_index.c, building and publishing
 * versions in model_publish.c; model_priv.h has what they share.
 *
 * Every change (lvsadm command, rules file, configuration file, a health
 * check's verdict) is one of the operations below.  Each validates first,
 * then changes the configuration records of one service and publishes a
 * new version of that service alone: its destination array, its scheduler
 * state (carried over through the scheduler's add/upd/del_dest hooks when
 * it has them), swapped into the RCU index slot of the old version, which
 * is retired after a grace period.  Other services, their versions and
 * their schedulers are untouched, so a change costs O(destinations of its
 * service), not O(configuration).  Lookups by key are hashes.
 *
 * Atomicity: operations log how to undo themselves; publication builds
 * every new version before it swaps any in, so an operation or a batch
 * (lvs_model_begin/commit) applies whole or not at all.  Validation and
 * error numbers follow kernel IPVS (ip_vs_ctl.c): -EEXIST, -ESRCH,
 * -ENOENT, -EINVAL, -ERANGE.
 *
 * Destination state outlives deletion while connections use it (the kernel
 * keeps such destinations on a "trash" list and revives them when the same
 * destination is added again); lvs_model_gc frees the unused ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "model_priv.h"
#include "pe.h"
#include "sched.h"

/* ---- control-thread hash tables (intrusive chains, grown by doubling) ---- */

static int ht_init(struct htab *t)
{
	t->b = calloc(64, sizeof(*t->b));
	t->mask = 63;
	t->n = 0;
	return t->b ? 0 : -ENOMEM;
}

/* Doubling keeps chains short; when memory is short the table stays as it
 * is and chains grow longer (slower, still correct). */
static void ht_grow(struct htab *t)
{
	uint32_t nb = (t->mask + 1) * 2;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct hnode *n = t->b[i], *nx;
		for (; n; n = nx) {
			nx = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

static void ht_insert(struct htab *t, struct hnode *n, uint32_t hash)
{
	if (t->n >= t->mask + 1)
		ht_grow(t);
	n->hash = hash;
	n->next = t->b[hash & t->mask];
	t->b[hash & t->mask] = n;
	t->n++;
}

static void ht_remove(struct htab *t, struct hnode *n)
{
	for (struct hnode **pp = &t->b[n->hash & t->mask]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
}

static struct hnode *ht_first(const struct htab *t, uint32_t hash)
{
	return t->b[hash & t->mask];
}

/* ---- keys ---- */

void lvs_svc_conf_key(const struct lvs_svc_conf *c, struct lvs_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = c->af;
	if (c->fwmark) {
		k->fwmark = c->fwmark;
	} else {
		k->proto = c->proto;
		k->port = c->port;
		k->addr = c->addr;
	}
}

static bool conf_key_eq(const struct lvs_svc_conf *c, const struct lvs_svc_key *k)
{
	if (c->af != k->af)
		return false;
	if (c->fwmark || k->fwmark)
		return c->fwmark == k->fwmark;
	return c->proto == k->proto && c->port == k->port && lvs_addr_eq(&c->addr, &k->addr);
}

/* ---- defaults ---- */

void lvs_svc_conf_defaults(struct lvs_svc_conf *c)
{
	if (!c->sched[0])
		snprintf(c->sched, sizeof(c->sched), "%s", LVS_DEF_SCHED);
	if (c->flags & LVS_SVC_F_PERSISTENT) {
		if (!c->timeout)
			c->timeout = LVS_DEF_PERSIST_TIMEOUT;
	}
	if (!c->netmask)
		c->netmask = c->af == AF_INET6 ? 128 : 0xffffffffU;
}

void lvs_dest_conf_defaults(struct lvs_dest_conf *d)
{
	memset(d, 0, sizeof(*d));
	d->fwd = LVS_FWD_ROUTE;
	d->weight = 1;
}

/* ---- validation ---- */

static int svc_validate(const struct lvs_svc_conf *c)
{
	if (c->af != AF_INET && c->af != AF_INET6)
		return -EAFNOSUPPORT;
	if (!c->fwmark) {
		if (c->proto != IPPROTO_TCP && c->proto != IPPROTO_UDP && c->proto != IPPROTO_SCTP)
			return -EINVAL;
		if (lvs_addr_is_zero(&c->addr))
			return -EINVAL;
		if (c->af == AF_INET && (c->addr.w[1] | c->addr.w[2] | c->addr.w[3]))
			return -EINVAL;
		/* Port 0 is a catch-all only for persistent services. */
		if (c->port == 0 && !(c->flags & LVS_SVC_F_PERSISTENT))
			return -EINVAL;
	}
	if (!lvs_sched_find(c->sched))
		return -ENOENT;
	/* the kernel's ip_vs_pe_getbyname failing */
	if (c->pe >= LVS_PE__COUNT)
		return -ENOENT;
	if (c->af == AF_INET6 && (c->netmask < 1 || c->netmask > 128))
		return -EINVAL;
	return 0;
}

static int dest_validate(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *d)
{
	if (d->af != AF_INET && d->af != AF_INET6)
		return -EAFNOSUPPORT;
	if (d->weight < 0)
		return -ERANGE;
	/* the kernel's check: also when there is no upper threshold */
	if (d->l_threshold > d->u_threshold)
		return -ERANGE;
	if (lvs_addr_is_zero(&d->addr))
		return -EINVAL;
	if (d->af == AF_INET && (d->addr.w[1] | d->addr.w[2] | d->addr.w[3]))
		return -EINVAL;
	if (d->fwd != LVS_FWD_MASQ && d->fwd != LVS_FWD_ROUTE && d->fwd != LVS_FWD_TUNNEL)
		return -EINVAL;
	/* Mixed families only through a tunnel (kernel rule). */
	if (d->af != svc->af && d->fwd != LVS_FWD_TUNNEL)
		return -EINVAL;
	if (d->fwd == LVS_FWD_TUNNEL) {
		if (d->tun_type > LVS_TUN_GRE)
			return -EINVAL;
		if (d->tun_type == LVS_TUN_GUE && d->tun_port == 0)
			return -EINVAL;
		if (d->tun_type == LVS_TUN_IPIP && d->tun_flags)
			return -EINVAL;
	}
	return 0;
}

/*
 * What the kernel accepts as a new destination's address (ip_vs_new_dest):
 * unicast only, whatever the forwarding method.  IPv4 multicast, the
 * limited broadcast and "this network" (0/8, which the kernel's address
 * typing calls broadcast) are refused; IPv6 multicast, the unspecified
 * and the IPv4-mapped addresses are not unicast to the kernel either.
 */
static bool dest_addr_unicast(const struct lvs_dest_conf *d)
{
	const uint8_t *b = d->addr.b;

	if (d->af == AF_INET6) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (b[0] == 0xff || !memcmp(b, mapped, sizeof(mapped)))
			return false;
		return !lvs_addr_is_zero(&d->addr);
	}
	if (b[0] == 0 || (b[0] & 0xf0) == 0xe0)
		return false;
	return !(b[0] == 0xff && b[1] == 0xff && b[2] == 0xff && b[3] == 0xff);
}

/* Direct routing and tunnels forward to the service's port: the port a
 * destination of the configuration file is named with (keepalived,
 * checks) is taken as the service's (0 for a firewall mark, as keepalived
 * sends it).  lvsadm's destinations of a firewall-mark service keep the
 * port given, as the kernel keeps what ipvsadm sends: ipvsadm replaces a
 * DR/TUN port itself, and only for services with an address. */
static bool dest_takes_svc_port(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *d)
{
	if (svc->fwmark && d->owner == LVS_OWNER_ADMIN)
		return false;
	return d->fwd != LVS_FWD_MASQ || d->port == 0;
}

/* The dest as stored. */
static void dest_normalize(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *in,
			   struct lvs_dest_conf *out)
{
	*out = *in;
	if (dest_takes_svc_port(svc, in))
		out->port = svc->port;
	if (out->fwd != LVS_FWD_TUNNEL) {
		out->tun_type = 0;
		out->tun_port = 0;
		out->tun_flags = 0;
	}
}

/* ---- a service's destination list ---- */

void model_mdest_free_all(struct msvc *ms)
{
	struct mdest *md, *nx;

	for (md = ms->dests; md; md = nx) {
		nx = md->next;
		free(md);
	}
}

static void mdest_link_after(struct msvc *ms, struct mdest *md, struct mdest *prev)
{
	md->prev = prev;
	md->next = prev ? prev->next : ms->dests;
	if (md->next)
		md->next->prev = md;
	if (prev)
		prev->next = md;
	else
		ms->dests = md;
	ms->ndests++;
}

static void mdest_unlink(struct msvc *ms, struct mdest *md)
{
	if (md->prev)
		md->prev->next = md->next;
	else
		ms->dests = md->next;
	if (md->next)
		md->next->prev = md->prev;
	ms->ndests--;
}

/* ---- undo log ---- */

static struct undo *undo_push(struct lvs_model *m, uint8_t kind, struct msvc *ms,
			      struct mdest *md)
{
	struct undo *u;

	if (m->nundo == m->capundo) {
		size_t nc = m->capundo ? m->capundo * 2 : 16;
		struct undo *x = realloc(m->undo, nc * sizeof(*x));
		if (!x)
			return NULL;
		m->undo = x;
		m->capundo = nc;
	}
	u = &m->undo[m->nundo++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->ms = ms;
	u->md = md;
	return u;
}

/* Undo every change of the open operation or batch, newest first; the
 * configuration is then what is published. */
void model_undo_all(struct lvs_model *m)
{
	model_dirty_clear(m, false);
	while (m->nundo) {
		struct undo *u = &m->undo[--m->nundo];
		struct msvc *s = u->ms;
		struct mdest *md = u->md;

		switch (u->kind) {
		case U_SVC_ADD:
			ht_remove(&m->smap, &s->hn);
			free(s); /* its destinations were undone before */
			break;
		case U_SVC_DEL:
			s->deleted = false;
			ht_insert(&m->smap, &s->hn, s->hn.hash);
			for (md = s->dests; md; md = md->next)
				ht_insert(&m->dmap, &md->hn, md->hn.hash);
			break;
		case U_SVC_EDIT:
			s->c = u->old.sc;
			break;
		case U_DEST_ADD:
			mdest_unlink(s, md);
			ht_remove(&m->dmap, &md->hn);
			__atomic_and_fetch(&md->st->flags, ~(uint32_t)LVS_DEST_F_INCONF,
					   __ATOMIC_RELAXED);
			if (md->st->unref_gen == UINT64_MAX) /* never published */
				md->st->unref_gen = m->snap.gen;
			free(md);
			break;
		case U_DEST_DEL:
			mdest_link_after(s, md, u->md_prev);
			ht_insert(&m->dmap, &md->hn, md->hn.hash);
			__atomic_or_fetch(&md->st->flags, LVS_DEST_F_INCONF, __ATOMIC_RELAXED);
			break;
		case U_DEST_EDIT:
			md->c = u->old.d.dc;
			md->health = u->old.d.health;
			md->passive = u->old.d.passive;
			memcpy(md->reason, u->old.d.reason, sizeof(md->reason));
			break;
		case U_TIMEOUTS:
			m->snap.timeouts = u->old.to;
			break;
		}
	}
	m->timeouts_dirty = false;
}

/* Finish an operation: publish now, or later with the batch. */
static int op_done(struct lvs_model *m)
{
	return model_publish(m);
}

/* ---- model lifecycle ---- */

static void defer_now(void *arg, void (*fn)(void *), void *obj)
{
	(void)arg;
	fn(obj);
}

struct lvs_model *lvs_model_new_workers(unsigned nworkers)
{
	struct lvs_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nstats = nworkers < 1 ? 1 : nworkers > LVS_MAX_WORKERS ? LVS_MAX_WORKERS : nworkers;
	m->snap.timeouts.tcp = 900;
	m->snap.timeouts.tcp_fin = 120;
	m->snap.timeouts.udp = 300;
	m->snap.gen = 1;
	m->defer = defer_now;
	m->next_svc_id = 1;
	m->next_dest_id = 1;
	m->snap.idx = model_idx_new(16);
	if (!m->snap.idx || ht_init(&m->smap) || ht_init(&m->dmap) || ht_init(&m->ssmap) ||
	    ht_init(&m->dsmap) || model_svcs_reserve(m, 1)) {
		lvs_model_free(m);
		return NULL;
	}
	return m;
}

struct lvs_model *lvs_model_new(void)
{
	return lvs_model_new_workers(LVS_MAX_WORKERS);
}

void lvs_model_free(struct lvs_model *m)
{
	if (!m)
		return;
	if (m->in_batch)
		lvs_model_abort(m);
	for (uint32_t i = 0; i < m->snap.nsvcs; i++)
		model_version_free(m->snap.svcs[i]);
	for (uint32_t i = 0; m->smap.b && i <= m->smap.mask; i++) {
		struct hnode *n = m->smap.b[i], *nx;
		for (; n; n = nx) {
			struct msvc *ms = MODEL_CONTAINER(n, struct msvc, hn);
			nx = n->next;
			model_mdest_free_all(ms);
			free(ms);
		}
	}
	for (struct lvs_svc_state *ss = m->svc_states, *nx; ss; ss = nx) {
		nx = ss->next;
		free(ss);
	}
	for (struct lvs_dest_state *ds = m->dest_states, *nx; ds; ds = nx) {
		nx = ds->next;
		free(ds);
	}
	free(m->snap.idx);
	free(m->snap.svcs);
	free(m->smap.b);
	free(m->dmap.b);
	free(m->ssmap.b);
	free(m->dsmap.b);
	free(m->undo);
	free(m);
}

const struct lvs_snapshot *lvs_model_snapshot(const struct lvs_model *m)
{
	return &m->snap;
}

uint64_t lvs_model_gen(const struct lvs_model *m)
{
	return m->snap.gen;
}

void lvs_model_set_retire(struct lvs_model *m, void (*defer)(void *, void (*)(void *), void *),
			  void *arg)
{
	m->defer = defer ? defer : defer_now;
	m->defer_arg = arg;
}

int lvs_model_begin(struct lvs_model *m)
{
	if (m->in_batch)
		return -EBUSY;
	m->in_batch = true;
	m->saved_next_order = m->next_order;
	return 0;
}

void lvs_model_abort(struct lvs_model *m)
{
	if (!m->in_batch)
		return;
	model_undo_all(m);
	m->next_order = m->saved_next_order;
	m->in_batch = false;
}

int lvs_model_commit(struct lvs_model *m)
{
	int err;

	if (!m->in_batch)
		return 0;
	m->in_batch = false;
	err = model_publish(m);
	if (err)
		m->next_order = m->saved_next_order; /* publish undid the rest */
	return err;
}

/* ---- finding records ---- */

static struct msvc *svc_find(const struct lvs_model *m, const struct lvs_svc_key *k)
{
	uint32_t h = model_key_hash(k);

	for (struct hnode *n = ht_first(&m->smap, h); n; n = n->next) {
		struct msvc *ms = MODEL_CONTAINER(n, struct msvc, hn);
		if (n->hash == h && conf_key_eq(&ms->c, k))
			return ms;
	}
	return NULL;
}

static struct mdest *dest_find(const struct lvs_model *m, const struct msvc *ms,
			       const struct lvs_dest_conf *d)
{
	uint32_t h = model_dest_hash(ms, d->af, &d->addr, d->port);

	for (struct hnode *n = ht_first(&m->dmap, h); n; n = n->next) {
		struct mdest *md = MODEL_CONTAINER(n, struct mdest, hn);
		if (n->hash == h && md->svc == ms && md->c.port == d->port && md->c.af == d->af &&
		    lvs_addr_eq(&md->c.addr, &d->addr))
			return md;
	}
	return NULL;
}

/* ---- operations ---- */

int lvs_model_add_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf;
	struct lvs_svc_key k;
	struct msvc *ms;
	int err;

	lvs_svc_conf_defaults(&c);
	err = svc_validate(&c);
	if (err)
		return err;
	if (c.fwmark) {
		memset(&c.addr, 0, sizeof(c.addr));
		c.proto = 0;
		c.port = 0;
	}
	lvs_svc_conf_key(&c, &k);
	if (svc_find(m, &k))
		return -EEXIST;
	ms = calloc(1, sizeof(*ms));
	if (!ms || !undo_push(m, U_SVC_ADD, ms, NULL)) {
		free(ms);
		return -ENOMEM;
	}
	ms->c = c;
	ms->st = model_svc_state_get(m, &ms->c);
	if (!ms->st) {
		m->nundo--;
		free(ms);
		return -ENOMEM;
	}
	ms->order = m->next_order++;
	ht_insert(&m->smap, &ms->hn, model_key_hash(&k));
	model_mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return op_done(m);
}

int lvs_model_edit_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf;
	struct lvs_svc_key k;
	struct msvc *ms;
	struct undo *u;
	int err;

	lvs_svc_conf_defaults(&c);
	lvs_svc_conf_key(&c, &k);
	ms = svc_find(m, &k);
	if (!ms)
		return -ESRCH;
	err = svc_validate(&c);
	if (err)
		return err;
	u = undo_push(m, U_SVC_EDIT, ms, NULL);
	if (!u)
		return -ENOMEM;
	u->old.sc = ms->c;
	ms->c.flags = c.flags;
	ms->c.timeout = c.timeout;
	ms->c.netmask = c.netmask;
	ms->c.pe = c.pe; /* -E without --pe drops the engine, as the kernel's edit */
	memcpy(ms->c.sched, c.sched, sizeof(c.sched));
	model_mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return op_done(m);
}

static int svc_delete(struct lvs_model *m, struct msvc *ms)
{
	if (!undo_push(m, U_SVC_DEL, ms, NULL))
		return -ENOMEM;
	ht_remove(&m->smap, &ms->hn);
	for (struct mdest *md = ms->dests; md; md = md->next)
		ht_remove(&m->dmap, &md->hn); /* the records go with the service */
	ms->deleted = true;
	model_mark_dirty(m, ms, CHG_MANY, NULL, NULL);
	return 0;
}

int lvs_model_del_service(struct lvs_model *m, const struct lvs_svc_key *k)
{
	struct msvc *ms = svc_find(m, k);
	int err;

	if (!ms)
		return -ESRCH;
	err = svc_delete(m, ms);
	return err ? err : op_done(m);
}

int lvs_model_flush(struct lvs_model *m)
{
	int err = 0;

	for (uint32_t i = 0; i <= m->smap.mask && !err; i++) {
		struct hnode *n = m->smap.b[i], *nx;
		for (; n && !err; n = nx) {
			nx = n->next; /* svc_delete unlinks n */
			err = svc_delete(m, MODEL_CONTAINER(n, struct msvc, hn));
		}
	}
	if (err) {
		if (!m->in_batch)
			model_undo_all(m);
		return err;
	}
	return op_done(m);
}

int lvs_model_add_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	{
		int err = dest_validate(&ms->c, conf);
		if (err)
			return err;
	}
	dest_normalize(&ms->c, conf, &d);
	if (dest_find(m, ms, &d))
		return -EEXIST;
	if (!dest_addr_unicast(&d))
		return -EINVAL;
	md = calloc(1, sizeof(*md));
	if (!md || !undo_push(m, U_DEST_ADD, ms, md)) {
		free(md);
		return -ENOMEM;
	}
	md->c = d;
	md->svc = ms;
	md->st = model_dest_state_get(m, ms, &d);
	if (!md->st) {
		m->nundo--;
		free(md);
		return -ENOMEM;
	}
	/* The kernel adds at the head of the list. */
	mdest_link_after(ms, md, NULL);
	ht_insert(&m->dmap, &md->hn, model_dest_hash(ms, d.af, &d.addr, d.port));
	model_mark_dirty(m, ms, CHG_ADD, md, NULL);
	return op_done(m);
}

/* Record md's configuration for undo before it changes. */
static int dest_edit_begin(struct lvs_model *m, struct msvc *ms, struct mdest *md)
{
	struct undo *u = undo_push(m, U_DEST_EDIT, ms, md);

	if (!u)
		return -ENOMEM;
	u->old.d.dc = md->c;
	u->old.d.health = md->health;
	u->old.d.passive = md->passive;
	memcpy(u->old.d.reason, md->reason, sizeof(md->reason));
	return 0;
}

int lvs_model_edit_dest(struct lvs_model *m, const struct lvs_svc_key *k,
			const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md;
	int err;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	err = dest_validate(&ms->c, conf);
	if (err)
		return err;
	dest_normalize(&ms->c, conf, &d);
	md = dest_find(m, ms, &d);
	if (!md)
		return -ENOENT;
	if ((err = dest_edit_begin(m, ms, md)))
		return err;
	d.owner = md->c.owner; /* the owner stays who added it */
	md->c = d;
	model_mark_dirty(m, ms, CHG_UPD, md, NULL);
	return op_done(m);
}

/* The destination conf names within ms: by its own port, or as DR/TUN
 * destinations are stored, with the service's port. */
static struct mdest *dest_find_named(const struct lvs_model *m, const struct msvc *ms,
				     const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d = *conf;
	struct mdest *md;

	if (dest_takes_svc_port(&ms->c, &d))
		d.port = ms->c.port;
	md = dest_find(m, ms, &d);
	if (!md && d.port != conf->port) {
		d.port = conf->port; /* a NAT destination named with its own port */
		md = dest_find(m, ms, &d);
	}
	return md;
}

static int del_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		    const struct lvs_dest_conf *conf, bool exact)
{
	struct msvc *ms;
	struct mdest *md;
	struct undo *u;

	ms = svc_find(m, k);
	if (!ms)
		return -ESRCH;
	md = exact ? dest_find(m, ms, conf) : dest_find_named(m, ms, conf);
	if (!md)
		return -ENOENT;
	u = undo_push(m, U_DEST_DEL, ms, md);
	if (!u)
		return -ENOMEM;
	u->md_prev = md->prev;
	mdest_unlink(ms, md);
	ht_remove(&m->dmap, &md->hn);
	model_dest_state_unconf(m, md->st);
	model_mark_dirty(m, ms, CHG_DEL, NULL, &md->c);
	return op_done(m);
}

int lvs_model_del_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	return del_dest(m, k, conf, false);
}

int lvs_model_del_dest_exact(struct lvs_model *m, const struct lvs_svc_key *k,
			     const struct lvs_dest_conf *conf)
{
	return del_dest(m, k, conf, true);
}

/* md's health in force went from was to md_health(md): its service's
 * next version (up <-> quiesced is a weight change; to or from down the
 * destination leaves or joins the list). */
static void health_changed(struct lvs_model *m, struct msvc *ms, struct mdest *md, uint8_t was)
{
	uint8_t now = md_health(md);

	if (now == was)
		return; /* the other source still decides: nothing to publish */
	if (was == LVS_DEST_DOWN)
		model_mark_dirty(m, ms, CHG_ADD, md, NULL);
	else if (now == LVS_DEST_DOWN)
		model_mark_dirty(m, ms, CHG_DEL, NULL, &md->c);
	else
		model_mark_dirty(m, ms, CHG_UPD, md, NULL);
}

/* One of a destination's two health sources changes: the checks'
 * (passive false: health h, reason) or passive detection's (passive
 * true: down when h is DOWN).  0, -ESRCH, -ENOENT, -ENOMEM. */
static int set_health_source(struct lvs_model *m, const struct lvs_svc_key *k,
			     const struct lvs_dest_conf *d, bool passive, uint8_t h,
			     const char *reason)
{
	struct msvc *ms = svc_find(m, k);
	struct mdest *md;
	uint8_t was;
	int err;

	if (!ms)
		return -ESRCH;
	md = dest_find_named(m, ms, d);
	if (!md)
		return -ENOENT;
	if (passive ? md->passive == (h == LVS_DEST_DOWN) : md->health == h)
		return 0;
	if ((err = dest_edit_begin(m, ms, md)))
		return err;
	was = md_health(md);
	if (passive) {
		md->passive = h == LVS_DEST_DOWN;
		snprintf(md->passive_why, sizeof(md->passive_why), "%s",
			 md->passive && reason ? reason : "");
	} else {
		md->health = h;
		snprintf(md->reason, sizeof(md->reason), "%s", reason ? reason : "");
	}
	health_changed(m, ms, md, was);
	return op_done(m);
}

int lvs_model_set_dest_health(struct lvs_model *m, const struct lvs_svc_key *k,
			      const struct lvs_dest_conf *d, enum lvs_dest_health h,
			      const char *reason)
{
	if (h != LVS_DEST_UP && h != LVS_DEST_QUIESCED && h != LVS_DEST_DOWN)
		return -EINVAL;
	return set_health_source(m, k, d, false, (uint8_t)h, reason);
}

int lvs_model_set_dest_passive(struct lvs_model *m, const struct lvs_svc_key *k,
			       const struct lvs_dest_conf *d, bool down, const char *reason)
{
	return set_health_source(m, k, d, true, down ? LVS_DEST_DOWN : LVS_DEST_UP, reason);
}

int lvs_model_get_dest(const struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *d, struct lvs_dest_conf *out,
		       enum lvs_dest_health *h, char *reason, size_t reason_len)
{
	const struct msvc *ms = svc_find(m, k);
	const struct mdest *md;

	if (!ms)
		return -ESRCH;
	md = dest_find_named(m, ms, d);
	if (!md)
		return -ENOENT;
	if (out)
		*out = md->c;
	if (h)
		*h = md_health(md);
	if (reason && reason_len)
		snprintf(reason, reason_len, "%s", md->passive ? md->passive_why : md->reason);
	return 0;
}

int lvs_model_dests(const struct lvs_model *m, const struct lvs_svc_key *k,
		    int (*fn)(void *arg, const struct lvs_dest_info *di), void *arg)
{
	const struct msvc *ms = svc_find(m, k);

	if (!ms)
		return -ESRCH;
	for (const struct mdest *md = ms->dests; md; md = md->next) {
		const struct lvs_dest_info di = {.c = &md->c, .health = md->health,
						 .reason = md->reason, .st = md->st};
		int rc = fn(arg, &di);

		if (rc)
			return rc;
	}
	return 0;
}

int lvs_model_get_svc_owner(const struct lvs_model *m, const struct lvs_svc_key *k)
{
	const struct msvc *ms = svc_find(m, k);

	return ms ? ms->c.owner : -ESRCH;
}

int lvs_model_zero(struct lvs_model *m, const struct lvs_svc_key *k)
{
	const struct lvs_snapshot *s = &m->snap;

	if (k && !svc_find(m, k))
		return -ESRCH;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		if (k && !conf_key_eq(&svc->c, k))
			continue;
		lvs_counters_sum(svc->st->stats, svc->st->nstats, &svc->st->zbase);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct lvs_dest_state *ds = svc->dests[j]->st;
			lvs_counters_sum(ds->stats, ds->nstats, &ds->zbase);
		}
	}
	return 0;
}

int lvs_model_set_timeouts(struct lvs_model *m, const struct lvs_timeouts *t)
{
	struct undo *u = undo_push(m, U_TIMEOUTS, NULL, NULL);

	if (!u)
		return -ENOMEM;
	u->old.to = m->snap.timeouts;
	if (t->tcp)
		m->snap.timeouts.tcp = t->tcp;
	if (t->tcp_fin)
		m->snap.timeouts.tcp_fin = t->tcp_fin;
	if (t->udp)
		m->snap.timeouts.udp = t->udp;
	m->timeouts_dirty = true;
	return op_done(m);
}

/* ---- messages ---- */

const char *lvs_model_strerror(enum lvs_model_op op, int err)
{
	if (err < 0)
		err = -err;
	switch (op) {
	case LVS_OP_ADD_SERVICE:
		if (err == EEXIST)
			return "Service already exists";
		if (err == ENOENT)
			return "Scheduler or persistence engine not found";
		break;
	case LVS_OP_EDIT_SERVICE:
		if (err == ESRCH)
			return "No such service";
		if (err == ENOENT)
			return "Scheduler or persistence engine not found";
		break;
	case LVS_OP_DEL_SERVICE:
	case LVS_OP_ZERO:
		if (err == ESRCH)
			return "No such service";
		break;
	case LVS_OP_ADD_DEST:
		if (err == ESRCH)
			return "Service not defined";
		if (err == EEXIST)
			return "Destination already exists";
		break;
	case LVS_OP_EDIT_DEST:
	case LVS_OP_DEL_DEST:
		if (err == ESRCH)
			return "Service not defined";
		if (err == ENOENT)
			return "No such destination";
		break;
	default:
		break;
	}
	switch (err) {
	case EPERM:
		return "Permission denied (you must be root)";
	case EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
	case ENOPROTOOPT:
		return "Protocol not available";
	case ENOMEM:
		return "Memory allocation problem";
	case EOPNOTSUPP:
		return "Operation not supported with IPv6";
	case EAFNOSUPPORT:
		return "Operation not supported with specified address family";
	case EMSGSIZE:
		return "Module is wrong version";
	default:
		return strerror(err);
	}
}
