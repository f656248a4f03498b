/*
 * model.c - the control plane's model of services and destinations, and the
 * immutable snapshots the data path reads.
 *
 * Every change (lvsadm command, rules file, later keepalived checkers) is
 * one of the operations below.  Each validates first, then changes the
 * configuration lists and builds a new snapshot; if the build fails (out of
 * memory, scheduler init) the change is undone, so an operation applies
 * whole or not at all.  Validation and error numbers follow kernel IPVS
 * (ip_vs_ctl.c): -EEXIST, -ESRCH, -ENOENT, -EINVAL, -ERANGE.
 *
 * Destination state outlives deletion while connections use it (the kernel
 * keeps such destinations on a "trash" list and revives them when the same
 * destination is added again); lvs_model_gc frees the unused ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "model.h"
#include "sched.h"

struct mdest {
	struct lvs_dest_conf c;
	struct lvs_dest_state *st;
	struct mdest *next; /* head = most recently added */
};

struct msvc {
	struct lvs_svc_conf c;
	struct lvs_svc_state *st;
	struct mdest *dests;
	uint32_t order;
	struct msvc *next; /* creation order */
};

struct lvs_model {
	struct msvc *svcs;
	struct lvs_svc_state *svc_states;
	struct lvs_dest_state *dest_states;
	struct lvs_snapshot *cur;
	struct lvs_timeouts timeouts;
	uint64_t gen;
	uint32_t next_order;
	uint32_t next_svc_id;
	uint32_t next_dest_id;
	uint32_t ntrash; /* states without AVAILABLE (upper bound): revive scan needed */
	void (*retire)(void *arg, struct lvs_snapshot *old);
	void *retire_arg;
	/* batch: configuration as it was at lvs_model_begin */
	bool in_batch;
	struct lvs_model_watch watch;
	struct msvc *saved_svcs;
	struct lvs_timeouts saved_timeouts;
	uint32_t saved_next_order;
};

/* ---- counters ---- */

void lvs_counters_sum(const struct lvs_counters *w, struct lvs_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < LVS_MAX_WORKERS; i++) {
		out->conns += w[i].conns;
		out->inpkts += w[i].inpkts;
		out->outpkts += w[i].outpkts;
		out->inbytes += w[i].inbytes;
		out->outbytes += w[i].outbytes;
	}
}

static void counters_sub(struct lvs_counters *a, const struct lvs_counters *b)
{
	a->conns -= b->conns;
	a->inpkts -= b->inpkts;
	a->outpkts -= b->outpkts;
	a->inbytes -= b->inbytes;
	a->outbytes -= b->outbytes;
}

void lvs_svc_state_stats(const struct lvs_svc_state *st, struct lvs_counters *out)
{
	lvs_counters_sum(st->stats, out);
	counters_sub(out, &st->zbase);
}

void lvs_dest_state_stats(const struct lvs_dest_state *st, struct lvs_counters *out)
{
	lvs_counters_sum(st->stats, out);
	counters_sub(out, &st->zbase);
}

/* ---- connection accounting (data path, any worker) ---- */

static void dest_notify(struct lvs_dest_state *ds)
{
	struct lvs_dest *d = __atomic_load_n(&ds->cur, __ATOMIC_ACQUIRE);
	struct lvs_service *svc;

	if (!d)
		return;
	svc = d->svc;
	if (!svc->sched || !svc->sched->counts_changed)
		return;
	if (svc->sched->locked) {
		lvs_spin_lock(&svc->sched_lock);
		svc->sched->counts_changed(svc, d);
		lvs_spin_unlock(&svc->sched_lock);
	} else {
		svc->sched->counts_changed(svc, d);
	}
}

static int32_t dest_totalconns(const struct lvs_dest_state *ds)
{
	return __atomic_load_n(&ds->activeconns, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ds->inactconns, __ATOMIC_RELAXED);
}

void lvs_dest_bind(struct lvs_dest_state *ds, bool is_template, bool active)
{
	if (is_template)
		__atomic_add_fetch(&ds->persistconns, 1, __ATOMIC_RELAXED);
	else if (active)
		__atomic_add_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	/* The kernel marks a destination overloaded when its total
	 * (active + inactive) connections reach the upper threshold. */
	if (ds->u_threshold && (uint32_t)dest_totalconns(ds) >= ds->u_threshold)
		__atomic_or_fetch(&ds->flags, LVS_DEST_F_OVERLOAD, __ATOMIC_RELAXED);
	dest_notify(ds);
}

void lvs_dest_unbind(struct lvs_dest_state *ds, bool is_template, bool active)
{
	uint32_t total;
	bool clear;

	if (is_template)
		__atomic_sub_fetch(&ds->persistconns, 1, __ATOMIC_RELAXED);
	else if (active)
		__atomic_sub_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	/* Overload clears below the lower threshold, or, without one, below
	 * three quarters of the upper threshold (kernel ip_vs_unbind_dest). */
	total = (uint32_t)dest_totalconns(ds);
	if (ds->l_threshold)
		clear = total < ds->l_threshold;
	else if (ds->u_threshold)
		clear = (uint64_t)total * 4 < (uint64_t)ds->u_threshold * 3;
	else
		clear = true;
	if (clear && (__atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_OVERLOAD))
		__atomic_and_fetch(&ds->flags, ~(uint32_t)LVS_DEST_F_OVERLOAD, __ATOMIC_RELAXED);
	dest_notify(ds);
}

void lvs_dest_set_active(struct lvs_dest_state *ds, bool active)
{
	if (active) {
		__atomic_add_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_sub_fetch(&ds->activeconns, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ds->inactconns, 1, __ATOMIC_RELAXED);
	}
	dest_notify(ds);
}


static void dest_avail_clear(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (__atomic_fetch_and(&ds->flags, ~(uint32_t)LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	    LVS_DEST_F_AVAILABLE)
		m->ntrash++;
}

static void dest_avail_set(struct lvs_model *m, struct lvs_dest_state *ds)
{
	if (!(__atomic_fetch_or(&ds->flags, LVS_DEST_F_AVAILABLE, __ATOMIC_RELAXED) &
	      LVS_DEST_F_AVAILABLE) &&
	    m->ntrash)
		m->ntrash--;
}

/* ---- keys and lookup ---- */

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

static bool svc_key_eq(const struct lvs_svc_conf *c, const struct lvs_svc_key *k)
{
	if (c->af != k->af)
		return false;
	if (c->fwmark || k->fwmark)
		return c->fwmark == k->fwmark;
	return c->proto == k->proto && c->port == k->port && lvs_addr_eq(&c->addr, &k->addr);
}

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

static uint32_t svc_hash(uint8_t af, uint8_t proto, const union lvs_addr *a, uint16_t port)
{
	uint32_t h = a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
	return mix32(h ^ ((uint32_t)port << 16) ^ ((uint32_t)proto << 8) ^ af);
}

static uint32_t fwm_hash(uint8_t af, uint32_t mark)
{
	return mix32(mark * 2654435761U ^ af);
}

static struct lvs_service *htab_find(const struct lvs_snapshot *s, uint8_t af, uint8_t proto,
				     const union lvs_addr *addr, uint16_t port)
{
	struct lvs_service *svc = s->htab[svc_hash(af, proto, addr, port) & s->hmask];

	for (; svc; svc = svc->hnext)
		if (svc->c.af == af && svc->c.proto == proto && svc->c.port == port &&
		    lvs_addr_eq(&svc->c.addr, addr))
			return svc;
	return NULL;
}

struct lvs_service *lvs_svc_lookup(const struct lvs_snapshot *s, uint8_t af, uint8_t proto,
				   const union lvs_addr *addr, uint16_t port, uint32_t mark)
{
	struct lvs_service *svc;

	if (LVS_UNLIKELY(s->nsvcs == 0))
		return NULL;
	if (mark) {
		for (svc = s->ftab[fwm_hash(af, mark) & s->hmask]; svc; svc = svc->hnext)
			if (svc->c.af == af && svc->c.fwmark == mark)
				return svc;
	}
	svc = htab_find(s, af, proto, addr, port);
	if (svc)
		return svc;
	/* A persistent port-0 service catches every port of its address. */
	svc = htab_find(s, af, proto, addr, 0);
	if (svc && (svc->c.flags & LVS_SVC_F_PERSISTENT))
		return svc;
	return NULL;
}

/* ---- snapshots ---- */

void lvs_snapshot_free(struct lvs_snapshot *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		struct lvs_service *svc = s->svcs[i];
		if (svc->sched && svc->sched->done)
			svc->sched->done(svc);
		if (svc->dests)
			free(svc->dests[0] ? (void *)svc->dests[0] : NULL);
		free(svc->dests);
		free(svc);
	}
	free(s->svcs);
	free(s->htab);
	free(s->ftab);
	free(s);
}

static uint64_t pack_xmit(const struct lvs_dest_conf *c)
{
	return (uint64_t)c->fwd | (uint64_t)c->tun_type << 8 | (uint64_t)c->tun_flags << 16 |
	       (uint64_t)c->tun_port << 32;
}

/*
 * Build a snapshot of the current configuration.  Returns NULL on failure
 * (nothing published, nothing changed).  Destination objects of a service
 * are allocated in one block whose address is dests[0].
 */
static struct lvs_snapshot *snapshot_build(struct lvs_model *m, int *err)
{
	struct lvs_snapshot *s = calloc(1, sizeof(*s));
	uint32_t n = 0, nb = 16;
	struct msvc *ms;

	*err = -ENOMEM;
	if (!s)
		return NULL;
	for (ms = m->svcs; ms; ms = ms->next)
		n++;
	while (nb < n * 2)
		nb <<= 1;
	s->gen = m->gen + 1;
	s->timeouts = m->timeouts;
	s->hmask = nb - 1;
	s->htab = calloc(nb, sizeof(*s->htab));
	s->ftab = calloc(nb, sizeof(*s->ftab));
	s->svcs = calloc(n ? n : 1, sizeof(*s->svcs));
	if (!s->htab || !s->ftab || !s->svcs)
		goto fail;
	for (ms = m->svcs; ms; ms = ms->next) {
		struct lvs_service *svc = calloc(1, sizeof(*svc));
		struct lvs_dest *block = NULL;
		uint32_t nd = 0, i = 0;
		struct mdest *md;

		if (!svc)
			goto fail;
		s->svcs[s->nsvcs++] = svc;
		svc->c = ms->c;
		svc->st = ms->st;
		svc->order = ms->order;
		svc->sched = lvs_sched_find(ms->c.sched);
		for (md = ms->dests; md; md = md->next)
			nd++;
		svc->dests = calloc(nd ? nd : 1, sizeof(*svc->dests));
		if (!svc->dests)
			goto fail;
		if (nd) {
			block = calloc(nd, sizeof(*block));
			if (!block)
				goto fail;
		}
		for (md = ms->dests; md; md = md->next, i++) {
			struct lvs_dest *d = &block[i];
			d->c = md->c;
			d->st = md->st;
			d->svc = svc;
			d->pos = i;
			svc->dests[i] = d;
		}
		svc->ndests = nd;
		if (svc->sched && svc->sched->init) {
			int e = svc->sched->init(svc);
			if (e) {
				svc->sched = NULL; /* nothing to undo in done() */
				*err = e;
				goto fail;
			}
		}
		if (svc->c.fwmark) {
			uint32_t h = fwm_hash(svc->c.af, svc->c.fwmark) & s->hmask;
			svc->hnext = s->ftab[h];
			s->ftab[h] = svc;
		} else {
			uint32_t h =
				svc_hash(svc->c.af, svc->c.proto, &svc->c.addr, svc->c.port) & s->hmask;
			svc->hnext = s->htab[h];
			s->htab[h] = svc;
		}
	}
	return s;
fail:
	lvs_snapshot_free(s);
	return NULL;
}

static void retire_default(void *arg, struct lvs_snapshot *old)
{
	(void)arg;
	lvs_snapshot_free(old);
}

static void watch_all(struct lvs_model *m)
{
	if (m->watch.svc)
		for (struct lvs_svc_state *ss = m->svc_states; ss; ss = ss->next)
			m->watch.svc(m->watch.arg, ss, false);
	if (m->watch.dest)
		for (struct lvs_dest_state *ds = m->dest_states; ds; ds = ds->next)
			m->watch.dest(m->watch.arg, ds, false);
}

void lvs_model_set_watch(struct lvs_model *m, const struct lvs_model_watch *w)
{
	memset(&m->watch, 0, sizeof(m->watch));
	if (w)
		m->watch = *w;
	watch_all(m);
}

/* Publish a new snapshot: make destination states point at their new
 * snapshot objects, then swap, then retire the old one. */
static int publish(struct lvs_model *m)
{
	struct lvs_snapshot *s, *old;
	struct lvs_dest_state *ds;

	int err;

	if (m->in_batch)
		return 0; /* lvs_model_commit publishes */
	s = snapshot_build(m, &err);
	if (!s)
		return err;
	for (ds = m->dest_states; ds; ds = ds->next)
		__atomic_store_n(&ds->cur, NULL, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		struct lvs_service *svc = s->svcs[i];
		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct lvs_dest *d = svc->dests[j];
			d->st->u_threshold = d->c.u_threshold;
			d->st->l_threshold = d->c.l_threshold;
			__atomic_store_n(&d->st->xmit, pack_xmit(&d->c), __ATOMIC_RELAXED);
			__atomic_store_n(&d->st->cur, d, __ATOMIC_RELEASE);
		}
	}
	old = m->cur;
	__atomic_store_n(&m->cur, s, __ATOMIC_RELEASE);
	m->gen = s->gen;
	/* Counter changes between the schedulers' init and the publication
	 * went to the old snapshot's schedulers: bring the new ones up to date. */
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		struct lvs_service *svc = s->svcs[i];
		if (!svc->sched || !svc->sched->counts_changed)
			continue;
		if (svc->sched->locked)
			lvs_spin_lock(&svc->sched_lock);
		for (uint32_t j = 0; j < svc->ndests; j++)
			svc->sched->counts_changed(svc, svc->dests[j]);
		if (svc->sched->locked)
			lvs_spin_unlock(&svc->sched_lock);
	}
	if (old)
		m->retire(m->retire_arg, old);
	watch_all(m);
	return 0;
}

/* ---- model lifecycle ---- */

struct lvs_model *lvs_model_new(void)
{
	struct lvs_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->timeouts.tcp = 900;
	m->timeouts.tcp_fin = 120;
	m->timeouts.udp = 300;
	m->retire = retire_default;
	m->next_svc_id = 1;
	m->next_dest_id = 1;
	if (publish(m) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

static void msvc_free(struct msvc *ms)
{
	struct mdest *md, *nx;

	for (md = ms->dests; md; md = nx) {
		nx = md->next;
		free(md);
	}
	free(ms);
}

static void msvc_list_free(struct msvc *list)
{
	struct msvc *nx;

	for (; list; list = nx) {
		nx = list->next;
		msvc_free(list);
	}
}

/* Deep copy of the configuration lists (states are shared, not copied). */
static int msvc_list_clone(const struct msvc *src, struct msvc **out)
{
	struct msvc *head = NULL, **tail = &head;

	for (; src; src = src->next) {
		struct msvc *ms = malloc(sizeof(*ms));
		struct mdest **dt;
		if (!ms)
			goto fail;
		*ms = *src;
		ms->next = NULL;
		ms->dests = NULL;
		*tail = ms;
		tail = &ms->next;
		dt = &ms->dests;
		for (const struct mdest *md = src->dests; md; md = md->next) {
			struct mdest *nd = malloc(sizeof(*nd));
			if (!nd)
				goto fail;
			*nd = *md;
			nd->next = NULL;
			*dt = nd;
			dt = &nd->next;
		}
	}
	*out = head;
	return 0;
fail:
	msvc_list_free(head);
	return -ENOMEM;
}

/* Recompute the in-configuration flags of all states from the lists. */
static void states_resync(struct lvs_model *m)
{
	for (struct lvs_svc_state *ss = m->svc_states; ss; ss = ss->next)
		ss->in_config = false;
	for (struct lvs_dest_state *ds = m->dest_states; ds; ds = ds->next)
		dest_avail_clear(m, ds);
	for (struct msvc *ms = m->svcs; ms; ms = ms->next) {
		ms->st->in_config = true;
		for (struct mdest *md = ms->dests; md; md = md->next)
			dest_avail_set(m, md->st);
	}
}

int lvs_model_begin(struct lvs_model *m)
{
	if (m->in_batch)
		return -EBUSY;
	if (msvc_list_clone(m->svcs, &m->saved_svcs))
		return -ENOMEM;
	m->saved_timeouts = m->timeouts;
	m->saved_next_order = m->next_order;
	m->in_batch = true;
	return 0;
}

void lvs_model_abort(struct lvs_model *m)
{
	if (!m->in_batch)
		return;
	msvc_list_free(m->svcs);
	m->svcs = m->saved_svcs;
	m->saved_svcs = NULL;
	m->timeouts = m->saved_timeouts;
	m->next_order = m->saved_next_order;
	m->in_batch = false;
	states_resync(m);
	watch_all(m);
}

int lvs_model_commit(struct lvs_model *m)
{
	int err;

	if (!m->in_batch)
		return 0;
	m->in_batch = false;
	err = publish(m);
	if (err) {
		m->in_batch = true;
		lvs_model_abort(m);
		return err;
	}
	msvc_list_free(m->saved_svcs);
	m->saved_svcs = NULL;
	return 0;
}

void lvs_model_free(struct lvs_model *m)
{
	struct msvc *ms, *nms;
	struct lvs_svc_state *ss, *nss;
	struct lvs_dest_state *ds, *nds;

	if (!m)
		return;
	lvs_snapshot_free(m->cur);
	msvc_list_free(m->saved_svcs);
	for (ms = m->svcs; ms; ms = nms) {
		nms = ms->next;
		msvc_free(ms);
	}
	for (ss = m->svc_states; ss; ss = nss) {
		nss = ss->next;
		free(ss);
	}
	for (ds = m->dest_states; ds; ds = nds) {
		nds = ds->next;
		free(ds);
	}
	free(m);
}

const struct lvs_snapshot *lvs_model_snapshot(const struct lvs_model *m)
{
	return __atomic_load_n(&m->cur, __ATOMIC_ACQUIRE);
}

void lvs_model_set_retire(struct lvs_model *m, void (*retire)(void *, struct lvs_snapshot *),
			  void *arg)
{
	m->retire = retire ? retire : retire_default;
	m->retire_arg = arg;
}

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

static struct msvc *svc_find(struct lvs_model *m, const struct lvs_svc_key *k, struct msvc ***link)
{
	struct msvc **pp;

	for (pp = &m->svcs; *pp; pp = &(*pp)->next)
		if (svc_key_eq(&(*pp)->c, k)) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

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
	if (d->l_threshold > d->u_threshold && d->u_threshold)
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

/* The dest as stored: DR and TUN forward to the service's port. */
static void dest_normalize(const struct lvs_svc_conf *svc, const struct lvs_dest_conf *in,
			   struct lvs_dest_conf *out)
{
	*out = *in;
	if (out->fwd != LVS_FWD_MASQ || out->port == 0)
		out->port = svc->port;
	if (out->fwd != LVS_FWD_TUNNEL) {
		out->tun_type = 0;
		out->tun_port = 0;
		out->tun_flags = 0;
	}
	out->pad = 0;
}

static struct mdest *dest_find(struct msvc *ms, const struct lvs_dest_conf *d, struct mdest ***link)
{
	struct mdest **pp;

	for (pp = &ms->dests; *pp; pp = &(*pp)->next)
		if ((*pp)->c.af == d->af && (*pp)->c.port == d->port &&
		    lvs_addr_eq(&(*pp)->c.addr, &d->addr)) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

/* ---- operations ---- */

static struct lvs_svc_state *svc_state_get(struct lvs_model *m, const struct lvs_svc_conf *c)
{
	struct lvs_svc_state *st;
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	for (st = m->svc_states; st; st = st->next)
		if (!st->in_config && memcmp(&st->key, &k, sizeof(k)) == 0)
			return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->id = m->next_svc_id++;
	st->key = k;
	st->next = m->svc_states;
	m->svc_states = st;
	return st;
}

int lvs_model_add_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf;
	struct lvs_svc_key k;
	struct msvc *ms, **tail;
	int err;

	lvs_svc_conf_defaults(&c);
	err = svc_validate(&c);
	if (err)
		return err;
	lvs_svc_conf_key(&c, &k);
	if (svc_find(m, &k, NULL))
		return -EEXIST;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->c = c;
	if (c.fwmark) {
		memset(&ms->c.addr, 0, sizeof(ms->c.addr));
		ms->c.proto = 0;
		ms->c.port = 0;
	}
	ms->st = svc_state_get(m, &ms->c);
	if (!ms->st) {
		free(ms);
		return -ENOMEM;
	}
	ms->order = m->next_order++;
	for (tail = &m->svcs; *tail; tail = &(*tail)->next)
		;
	*tail = ms;
	ms->st->in_config = true;
	err = publish(m);
	if (err) {
		*tail = NULL;
		ms->st->in_config = false;
		free(ms);
	}
	return err;
}

int lvs_model_edit_service(struct lvs_model *m, const struct lvs_svc_conf *conf)
{
	struct lvs_svc_conf c = *conf, old;
	struct lvs_svc_key k;
	struct msvc *ms;
	int err;

	lvs_svc_conf_defaults(&c);
	lvs_svc_conf_key(&c, &k);
	ms = svc_find(m, &k, NULL);
	if (!ms)
		return -ESRCH;
	err = svc_validate(&c);
	if (err)
		return err;
	old = ms->c;
	ms->c.flags = c.flags;
	ms->c.timeout = c.timeout;
	ms->c.netmask = c.netmask;
	memcpy(ms->c.sched, c.sched, sizeof(c.sched));
	err = publish(m);
	if (err)
		ms->c = old;
	return err;
}

int lvs_model_del_service(struct lvs_model *m, const struct lvs_svc_key *k)
{
	struct msvc *ms, **link;
	int err;

	ms = svc_find(m, k, &link);
	if (!ms)
		return -ESRCH;
	*link = ms->next;
	err = publish(m);
	if (err) {
		*link = ms;
		return err;
	}
	ms->st->in_config = false;
	for (struct mdest *md = ms->dests; md; md = md->next)
		dest_avail_clear(m, md->st);
	msvc_free(ms);
	return 0;
}

int lvs_model_flush(struct lvs_model *m)
{
	struct msvc *list = m->svcs, *ms, *nx;
	int err;

	m->svcs = NULL;
	err = publish(m);
	if (err) {
		m->svcs = list;
		return err;
	}
	for (ms = list; ms; ms = nx) {
		nx = ms->next;
		ms->st->in_config = false;
		for (struct mdest *md = ms->dests; md; md = md->next)
			dest_avail_clear(m, md->st);
		msvc_free(ms);
	}
	return 0;
}

/* A deleted destination state of the same service and identity, still
 * referenced by connections, is revived (kernel: trash list). */
static struct lvs_dest_state *dest_state_get(struct lvs_model *m, struct msvc *ms,
					     const struct lvs_dest_conf *d)
{
	struct lvs_dest_state *ds;

	for (ds = m->ntrash ? m->dest_states : NULL; ds; ds = ds->next)
		if (ds->svc == ms->st && !(ds->flags & LVS_DEST_F_AVAILABLE) && ds->af == d->af &&
		    ds->port == d->port && lvs_addr_eq(&ds->addr, &d->addr))
			return ds;
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	ds->id = m->next_dest_id++;
	ds->flags = LVS_DEST_F_AVAILABLE; /* never counted as trash */
	ds->af = d->af;
	ds->port = d->port;
	ds->addr = d->addr;
	ds->svc = ms->st;
	ds->next = m->dest_states;
	m->dest_states = ds;
	return ds;
}

int lvs_model_add_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md;
	int err;

	ms = svc_find(m, k, NULL);
	if (!ms)
		return -ESRCH;
	err = dest_validate(&ms->c, conf);
	if (err)
		return err;
	dest_normalize(&ms->c, conf, &d);
	if (dest_find(ms, &d, NULL))
		return -EEXIST;
	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->c = d;
	md->st = dest_state_get(m, ms, &d);
	if (!md->st) {
		free(md);
		return -ENOMEM;
	}
	/* The kernel adds at the head of the list. */
	md->next = ms->dests;
	ms->dests = md;
	dest_avail_set(m, md->st);
	err = publish(m);
	if (err) {
		ms->dests = md->next;
		dest_avail_clear(m, md->st);
		free(md);
	}
	return err;
}

int lvs_model_edit_dest(struct lvs_model *m, const struct lvs_svc_key *k,
			const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d, old;
	struct msvc *ms;
	struct mdest *md;
	int err;

	ms = svc_find(m, k, NULL);
	if (!ms)
		return -ESRCH;
	err = dest_validate(&ms->c, conf);
	if (err)
		return err;
	dest_normalize(&ms->c, conf, &d);
	md = dest_find(ms, &d, NULL);
	if (!md)
		return -ENOENT;
	old = md->c;
	md->c = d;
	err = publish(m);
	if (err)
		md->c = old;
	return err;
}

int lvs_model_del_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *conf)
{
	struct lvs_dest_conf d;
	struct msvc *ms;
	struct mdest *md, **link;
	int err;

	ms = svc_find(m, k, NULL);
	if (!ms)
		return -ESRCH;
	d = *conf;
	if (d.fwd != LVS_FWD_MASQ || d.port == 0)
		d.port = ms->c.port;
	md = dest_find(ms, &d, &link);
	if (!md && d.port != conf->port) {
		d.port = conf->port; /* a NAT destination named with its own port */
		md = dest_find(ms, &d, &link);
	}
	if (!md)
		return -ENOENT;
	*link = md->next;
	err = publish(m);
	if (err) {
		*link = md;
		return err;
	}
	dest_avail_clear(m, md->st);
	free(md);
	return 0;
}

int lvs_model_zero(struct lvs_model *m, const struct lvs_svc_key *k)
{
	struct msvc *ms;

	if (k) {
		ms = svc_find(m, k, NULL);
		if (!ms)
			return -ESRCH;
	}
	for (ms = m->svcs; ms; ms = ms->next) {
		if (k && !svc_key_eq(&ms->c, k))
			continue;
		lvs_counters_sum(ms->st->stats, &ms->st->zbase);
		for (struct mdest *md = ms->dests; md; md = md->next)
			lvs_counters_sum(md->st->stats, &md->st->zbase);
	}
	return 0;
}

int lvs_model_set_timeouts(struct lvs_model *m, const struct lvs_timeouts *t)
{
	struct lvs_timeouts old = m->timeouts;
	int err;

	if (t->tcp)
		m->timeouts.tcp = t->tcp;
	if (t->tcp_fin)
		m->timeouts.tcp_fin = t->tcp_fin;
	if (t->udp)
		m->timeouts.udp = t->udp;
	err = publish(m);
	if (err)
		m->timeouts = old;
	return err;
}

unsigned lvs_model_trash(const struct lvs_model *m,
			 void (*fn)(void *arg, const struct lvs_dest_state *ds), void *arg)
{
	unsigned n = 0;

	for (const struct lvs_dest_state *ds = m->ntrash ? m->dest_states : NULL; ds;
	     ds = ds->next) {
		if (__atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_AVAILABLE)
			continue;
		n++;
		if (fn)
			fn(arg, ds);
	}
	return n;
}

void lvs_model_gc(struct lvs_model *m)
{
	struct lvs_dest_state **pp = &m->dest_states, *ds;
	struct lvs_svc_state **sp = &m->svc_states, *ss;

	if (m->in_batch)
		return;
	while ((ds = *pp)) {
		if (!(ds->flags & LVS_DEST_F_AVAILABLE) && !ds->cur && ds->activeconns == 0 &&
		    ds->inactconns == 0 && ds->persistconns == 0) {
			if (m->watch.dest)
				m->watch.dest(m->watch.arg, ds, true);
			*pp = ds->next;
			free(ds);
		} else {
			pp = &ds->next;
		}
	}
	m->ntrash = 0;
	for (ds = m->dest_states; ds; ds = ds->next)
		if (!(ds->flags & LVS_DEST_F_AVAILABLE))
			m->ntrash++;
	while ((ss = *sp)) {
		bool used = ss->in_config;
		for (ds = m->dest_states; ds && !used; ds = ds->next)
			used = ds->svc == ss;
		if (!used) {
			if (m->watch.svc)
				m->watch.svc(m->watch.arg, ss, true);
			*sp = ss->next;
			free(ss);
		} else {
			sp = &ss->next;
		}
	}
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
