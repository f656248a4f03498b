/*
 * vip_guard.c - the host guard of the VIPs (vip.c, vip.h).
 *
 * The host guard.  lvsd reads frames with AF_PACKET, which sees a frame
 * before the nftables netdev ingress hook, so a drop there keeps a frame
 * from the host's IP stack while lvsd still handles it.  On each served
 * interface IF, lvsd installs table `netdev lvsd_IF` (non-alphanumerics of
 * the name become '_'), hooked at ingress priority -500, which drops:
 *
 *   1. ARP requests for an owned VIP (lvsd answers them);
 *   2. every IPv4 / IPv6 packet to an owned VIP (an owned VIP is a service
 *      address that is not one of the host's addresses): the host would
 *      otherwise answer it (RST, ICMP unreachable), or forward it when
 *      ip_forward=1;
 *   3. neighbour solicitations whose target is an owned IPv6 VIP (set
 *      ns6: the same addresses as vip6, as 128-bit raw payload, since
 *      this nft has no name for the ND target field);
 *   4. for a shared VIP (also a host address), only the services' packets:
 *      daddr . protocol . dport of each service (daddr . protocol for a
 *      port-0 persistent service), so the host keeps its other ports;
 *   5. NAT (masquerading) replies: packets from a NAT real server's
 *      address . protocol . port (any port for a port-0 service) and ICMP
 *      errors and later fragments (no ports) from a NAT real server, when
 *      not addressed to one of the
 *      host's own addresses (`fib daddr type != local`): the host would
 *      otherwise forward the un-rewritten reply to the client itself
 *      (ip_forward=1) - the client then answers with a RST - while lvsd
 *      forwards the rewritten copy.  Traffic between a real server and the
 *      director's own addresses (health checks, management) is untouched.
 *
 * Every rule counts (nft list chain netdev lvsd_IF ingress).  The tables
 * are created once, with empty sets, when lvsd starts, and deleted when
 * it stops; in between only set elements change.  (A killed lvsd leaves
 * them, and the VIPs stay kept from the host, until lvsd starts again on
 * the interface and replaces them.)
 *
 * Firewall-mark mode.  The operator's mangle rules mark packets in the IP
 * layer, after netdev ingress: a packet dropped there whole (2.) is never
 * marked.  So while at least one firewall-mark service is configured, an
 * owned VIP is guarded per port, like a shared one, and each table
 * `netdev lvsd_IF` drops for it only
 *
 *   - ARP requests and neighbour solicitations (sets pvip4, ns6);
 *   - its services' packets (4.: the same svc* elements);
 *   - ICMP / ICMPv6 (lvsd answers echo and handles the errors that quote
 *     its connections) and later fragments (no ports), sets pvip4/pvip6;
 *
 * the rest goes on to mangle PREROUTING (-150), where the operator marks
 * it and daemon/fwmark.c queues the marks with a service to lvsd; what is
 * left is dropped by a second table per served interface, `inet lvsd_IF`,
 * hooked at prerouting priority -140 (after mangle, before routing), whose
 * sets vip4/vip6 hold the owned VIPs in this mode and nothing otherwise.
 * Its life is the netdev table's.  Outside the mode the owned VIPs are in
 * the netdev vip4/vip6 sets and dropped whole, as before.
 *
 * Entering the mode takes two steps, so that no packet of a connection
 * to an owned VIP finds it unguarded: first the services' keys of owned
 * VIPs are added; once they are all applied, each owned VIP moves from
 * vip4 to pvip4 (+ the inet vip4) in one transaction.  Leaving is the
 * reverse: the VIPs move back, then the services' keys go.  The driver
 * filter follows with the same keys (LVS_XDPK_PVIP* for a VIP guarded per
 * port).
 *
 * Incremental upkeep.  The model reports the states that may have changed
 * (struct lvs_model_watch).  For each service and destination state the
 * guard keeps a record of the keys it contributed last time; a report
 * computes the state's keys again and, when they differ, moves its
 * references from the old keys to the new ones.  The keys live in one hash map with
 * reference counts; a key whose count or ownership changed goes on a
 * dirty list, and lvs_vips_update applies only the dirty keys: one
 * nftables transaction (libnftables, in-process) adding and deleting
 * elements on every served interface's table, the same delta to the
 * driver filter, and a new worker VIP array when the owned VIPs changed.
 * Firewall-mark services have no address: their packets are kept from
 * the host after the mangle table marked them (daemon/fwmark.c queues
 * them to lvsd, whose verdict drops them); only their NAT servers'
 * replies are guarded here.
 *
 * A large change (10,000 services restored at once) is applied in pieces
 * of GUARD_CHUNK records and keys per call, so that no call holds the
 * control thread for more than a few milliseconds; lvs_vips_update says
 * when more remains and the caller comes back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vip_priv.h"

/* Records and keys settled per lvs_vips_update call at most. */
#define GUARD_CHUNK 1024
#include "xdp_filter.h"

/* What one state contributes: up to three keys, each counted as
 * configuration or trash. */
struct contrib {
	unsigned n;
	struct {
		struct gkey k;
		bool trash;
	} c[3];
};

/* A service state as seen last. */
struct srec {
	struct hnode hn;
	const struct lvs_svc_state *ss;
	struct contrib c;
	bool in_cfg; /* ss->in_config when last evaluated */
	bool fwm;    /* counted in nfwm */
	struct drec *dests;
	struct srec *pnext, **pprev; /* reported, not evaluated yet */
};

/* A destination state as seen last. */
struct drec {
	struct hnode hn;
	const struct lvs_dest_state *ds;
	struct srec *svc; /* NULL: no service (nothing contributed) */
	struct drec *snext, **sprev;
	struct contrib c;
	bool avail; /* in the configuration when last evaluated */
	struct drec *pnext, **pprev;
};

/* ---- hash tables ---- */

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, b + i, n - i < 8 ? n - i : 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static uint64_t hash_ptr(const void *p)
{
	uintptr_t u = (uintptr_t)p;
	return hash_bytes(&u, sizeof(u));
}

static int ht_init(struct htab *t)
{
	t->b = calloc(64, sizeof(*t->b));
	t->mask = 63;
	t->n = 0;
	return t->b ? 0 : -ENOMEM;
}

static struct hnode *ht_first(const struct htab *t, uint64_t h)
{
	return t->b ? t->b[h & t->mask] : NULL;
}

/* Grows the table when it fills; when it cannot, chains get longer. */
static void ht_insert(struct htab *t, struct hnode *n, uint64_t h)
{
	if (t->n >= t->mask + 1) {
		size_t nb = (t->mask + 1) * 2;
		struct hnode **b = calloc(nb, sizeof(*b));
		if (b) {
			for (size_t i = 0; i <= t->mask; i++) {
				for (struct hnode *x = t->b[i], *nx; x; x = nx) {
					nx = x->next;
					x->next = b[x->h & (nb - 1)];
					b[x->h & (nb - 1)] = x;
				}
			}
			free(t->b);
			t->b = b;
			t->mask = nb - 1;
		}
	}
	n->h = h;
	n->next = t->b[h & t->mask];
	t->b[h & t->mask] = n;
	t->n++;
}

static void ht_remove(struct htab *t, struct hnode *n)
{
	for (struct hnode **pp = &t->b[n->h & t->mask]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
	}
}

/* ---- guard keys and their references ---- */

static void gkey_set(struct gkey *k, uint8_t kind, uint8_t af, uint8_t proto, uint16_t port,
		     const union lvs_addr *a)
{
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->af = af;
	k->proto = proto;
	k->port = port;
	if (af == AF_INET)
		k->a.ip4 = a->ip4; /* the rest stays zero whatever the source holds */
	else
		k->a = *a;
}

static struct gentry *gfind(const struct lvs_vips *v, const struct gkey *k, uint64_t h)
{
	for (struct hnode *n = ht_first(&v->keys, h); n; n = n->next) {
		struct gentry *e = caa_container_of(n, struct gentry, hn);
		if (n->h == h && !memcmp(&e->k, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

static void gdirty(struct lvs_vips *v, struct gentry *e)
{
	if (e->dirty)
		return;
	e->dirty = true;
	e->dnext = v->dirty;
	v->dirty = e;
}

static bool vip_is_owned(struct lvs_vips *v, const struct gkey *k)
{
	return !lvs_netstate_is_local(v->ns, k->af, &k->a);
}

/* Add d (+1 / -1) to key k's configuration or trash count.  Entries are
 * freed by the next sync, once nothing refers to them and they are
 * nowhere applied.  0 or -ENOMEM (only when adding). */
static int gref(struct lvs_vips *v, const struct gkey *k, bool trash, int d)
{
	uint64_t h = hash_bytes(k, sizeof(*k));
	struct gentry *e = gfind(v, k, h);

	if (!e) {
		if (d < 0)
			return 0; /* never referenced: nothing to take back */
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->k = *k;
		ht_insert(&v->keys, &e->hn, h);
		if (k->kind == GK_VIP) {
			e->owned = vip_is_owned(v, k);
			e->vnext = v->vips;
			if (v->vips)
				v->vips->vprev = &e->vnext;
			e->vprev = &v->vips;
			v->vips = e;
		}
	}
	if (trash)
		e->trash += (uint32_t)d;
	else
		e->cfg += (uint32_t)d;
	gdirty(v, e);
	return 0;
}

static void gfree(struct lvs_vips *v, struct gentry *e)
{
	ht_remove(&v->keys, &e->hn);
	if (e->k.kind == GK_VIP) {
		*e->vprev = e->vnext;
		if (e->vnext)
			e->vnext->vprev = e->vprev;
	}
	free(e);
}

/* Layouts of a key's elements (gentry in_nft, in_xdp). */
enum { GL_NONE, GL_WHOLE, GL_PORTS };

/* Should key e be in the guard and the filter, and how?  GL_NONE, or
 * GL_WHOLE; GL_PORTS for an owned VIP guarded per port (firewall-mark
 * mode). */
static uint8_t gwant(const struct lvs_vips *v, const struct gentry *e)
{
	struct gkey vk;
	const struct gentry *vip;

	switch (e->k.kind) {
	case GK_VIP:
		if (!e->cfg || !e->owned)
			return GL_NONE;
		return v->vip_pp ? GL_PORTS : GL_WHOLE;
	case GK_SVC:
		/* a trash connection's service stays guarded whatever its VIP;
		 * a configured one on a shared VIP, and on an owned one in
		 * firewall-mark mode (otherwise the VIP is guarded whole) */
		if (e->trash)
			return GL_WHOLE;
		if (!e->cfg)
			return GL_NONE;
		gkey_set(&vk, GK_VIP, e->k.af, 0, 0, &e->k.a);
		vip = gfind(v, &vk, hash_bytes(&vk, sizeof(vk)));
		return vip && (!vip->owned || v->svc_pp) ? GL_WHOLE : GL_NONE;
	default:
		return e->cfg || e->trash ? GL_WHOLE : GL_NONE;
	}
}

/* Every key of kind `kind` dirty (a mode step: rare). */
static void gdirty_kind(struct lvs_vips *v, uint8_t kind)
{
	for (size_t b = 0; b <= v->keys.mask; b++) {
		for (struct hnode *h = v->keys.b[b]; h; h = h->next) {
			struct gentry *e = caa_container_of(h, struct gentry, hn);
			if (e->k.kind == kind)
				gdirty(v, e);
		}
	}
}

/*
 * One step towards firewall-mark mode when a firewall-mark service is
 * configured, or out of it when none is.  A step that must follow what
 * the last one dirtied waits until that is all applied (no dirty key).
 * True when it changed what the keys want.
 */
static bool mode_step(struct lvs_vips *v)
{
	bool fwm = v->nfwm > 0;

	if (fwm && !v->svc_pp) {
		v->svc_pp = true; /* the services' ports of owned VIPs first */
		gdirty_kind(v, GK_SVC);
	} else if (fwm && !v->vip_pp && !v->dirty) {
		v->vip_pp = true; /* then each VIP stops being guarded whole */
		gdirty_kind(v, GK_VIP);
	} else if (!fwm && v->vip_pp) {
		v->vip_pp = false;
		gdirty_kind(v, GK_VIP);
	} else if (!fwm && v->svc_pp && !v->dirty) {
		v->svc_pp = false;
		gdirty_kind(v, GK_SVC);
	} else {
		return false;
	}
	return true;
}

static bool mode_pending(const struct lvs_vips *v)
{
	bool fwm = v->nfwm > 0;

	return fwm != v->svc_pp || fwm != v->vip_pp;
}

static void contrib_add(struct contrib *c, uint8_t kind, uint8_t af, uint8_t proto,
			uint16_t port, const union lvs_addr *a, bool trash)
{
	gkey_set(&c->c[c->n].k, kind, af, proto, port, a);
	c->c[c->n].trash = trash;
	c->n++;
}

/* Move a record's references from *old to *new (then *old = *new).  Keys
 * in both are counted up before they are counted down, so they never
 * look unused meanwhile.  0, or -ENOMEM with nothing changed. */
static int contrib_apply(struct lvs_vips *v, struct contrib *old, const struct contrib *new)
{
	if (old->n == new->n && !memcmp(old->c, new->c, new->n * sizeof(old->c[0])))
		return 0;
	for (unsigned i = 0; i < new->n; i++) {
		if (gref(v, &new->c[i].k, new->c[i].trash, 1)) {
			while (i--)
				gref(v, &new->c[i].k, new->c[i].trash, -1);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < old->n; i++)
		gref(v, &old->c[i].k, old->c[i].trash, -1);
	*old = *new;
	return 0;
}

/* ---- records of the model's states (watch callbacks) ---- */

static struct srec *srec_get(struct lvs_vips *v, const struct lvs_svc_state *ss, bool create)
{
	uint64_t h = hash_ptr(ss);
	struct srec *r;

	for (struct hnode *n = ht_first(&v->srecs, h); n; n = n->next) {
		r = caa_container_of(n, struct srec, hn);
		if (r->ss == ss)
			return r;
	}
	if (!create || !(r = calloc(1, sizeof(*r))))
		return NULL;
	r->ss = ss;
	ht_insert(&v->srecs, &r->hn, h);
	return r;
}

static struct drec *drec_get(struct lvs_vips *v, const struct lvs_dest_state *ds, bool create)
{
	uint64_t h = hash_ptr(ds);
	struct drec *r;

	for (struct hnode *n = ht_first(&v->drecs, h); n; n = n->next) {
		r = caa_container_of(n, struct drec, hn);
		if (r->ds == ds)
			return r;
	}
	if (!create || !(r = calloc(1, sizeof(*r))))
		return NULL;
	r->ds = ds;
	ht_insert(&v->drecs, &r->hn, h);
	return r;
}

static void drec_unlink(struct drec *r)
{
	if (!r->svc)
		return;
	*r->sprev = r->snext;
	if (r->snext)
		r->snext->sprev = r->sprev;
	r->svc = NULL;
}

static void drec_link(struct drec *r, struct srec *s)
{
	r->svc = s;
	r->snext = s->dests;
	if (s->dests)
		s->dests->sprev = &r->snext;
	r->sprev = &s->dests;
	s->dests = r;
}

/*
 * A destination's keys: a NAT server's reply key and address, while its
 * state exists (in the configuration, or in the trash until its last
 * connection ends); and, in the trash, its service's key when the service
 * is no longer configured (the connections' packets to the VIP).
 */
static void dest_eval(struct lvs_vips *v, struct drec *r)
{
	const struct lvs_dest_state *ds = r->ds;
	const struct lvs_svc_state *ss = r->svc ? r->svc->ss : NULL;
	struct contrib c;

	memset(&c, 0, sizeof(c));
	if (ss && !ss->key.fwmark) {
		uint64_t x = __atomic_load_n(&ds->xmit, __ATOMIC_RELAXED);
		uint32_t fl = __atomic_load_n(&ds->flags, __ATOMIC_RELAXED);

		if (lvs_xmit_fwd(x) == LVS_FWD_MASQ) {
			contrib_add(&c, GK_NAT, ds->af, ss->key.proto, ss->key.port ? ds->port : 0,
				    &ds->addr, false);
			contrib_add(&c, GK_NATRS, ds->af, 0, 0, &ds->addr, false);
		}
		if (!(fl & LVS_DEST_F_AVAILABLE) && !ss->in_config)
			contrib_add(&c, GK_SVC, ss->key.af, ss->key.proto, ss->key.port,
				    &ss->key.addr, true);
	} else if (ss) {
		/* A firewall-mark service's NAT server answers for TCP and UDP,
		 * from its port (any port when it has none). */
		uint64_t x = __atomic_load_n(&ds->xmit, __ATOMIC_RELAXED);

		if (lvs_xmit_fwd(x) == LVS_FWD_MASQ) {
			contrib_add(&c, GK_NAT, ds->af, IPPROTO_TCP, ds->port, &ds->addr, false);
			contrib_add(&c, GK_NAT, ds->af, IPPROTO_UDP, ds->port, &ds->addr, false);
			contrib_add(&c, GK_NATRS, ds->af, 0, 0, &ds->addr, false);
		}
	}
	if (contrib_apply(v, &r->c, &c))
		v->rescan = true;
}

/* Pending lists: a report only marks its state; the update evaluates it,
 * once the operation that reported it is complete (a model may report
 * before it has finished changing the state). */
#define PENDING_PUSH(head, r)                                                              \
	do {                                                                               \
		if (!(r)->pprev) {                                                         \
			(r)->pnext = (head);                                               \
			if (head)                                                          \
				(head)->pprev = &(r)->pnext;                               \
			(r)->pprev = &(head);                                              \
			(head) = (r);                                                      \
		}                                                                          \
	} while (0)
#define PENDING_DEL(r)                                                                     \
	do {                                                                               \
		if ((r)->pprev) {                                                          \
			*(r)->pprev = (r)->pnext;                                          \
			if ((r)->pnext)                                                    \
				(r)->pnext->pprev = (r)->pprev;                            \
			(r)->pprev = NULL;                                                 \
		}                                                                          \
	} while (0)

/* A state without a record reported: remember it for the update (or,
 * gone, forget it: it never contributed a key).  Out of memory: rescan. */
static void fresh_note(struct lvs_vips *v, const void *st, bool svc, bool gone)
{
	if (gone) {
		/* rare: freed before the update got to it */
		for (size_t i = v->nfresh; i-- > 0;)
			if (v->fresh[i] == st) {
				v->fresh[i] = v->fresh[--v->nfresh];
				v->fresh_svc[i] = v->fresh_svc[v->nfresh];
			}
		return;
	}
	if (v->nfresh == v->capfresh) {
		size_t nc = v->capfresh ? v->capfresh * 2 : 256;
		const void **nf = realloc(v->fresh, nc * sizeof(*nf));
		uint8_t *ns = nf ? realloc(v->fresh_svc, nc) : NULL;

		if (nf)
			v->fresh = nf;
		if (!nf || !ns) {
			v->rescan = true;
			return;
		}
		v->fresh_svc = ns;
		v->capfresh = nc;
	}
	v->fresh[v->nfresh] = st;
	v->fresh_svc[v->nfresh++] = svc;
}

static void watch_dest(void *arg, const struct lvs_dest_state *ds, bool gone)
{
	struct lvs_vips *v = arg;
	struct drec *r = drec_get(v, ds, false);
	struct contrib none;

	if (!r) {
		fresh_note(v, ds, false, gone);
		return;
	}
	if (!gone) {
		PENDING_PUSH(v->dpending, r);
		return;
	}
	PENDING_DEL(r);
	memset(&none, 0, sizeof(none));
	contrib_apply(v, &r->c, &none); /* only takes references back */
	drec_unlink(r);
	ht_remove(&v->drecs, &r->hn);
	free(r);
}

static void dest_update(struct lvs_vips *v, struct drec *r)
{
	const struct lvs_dest_state *ds = r->ds;
	bool avail;

	if (!r->svc || r->svc->ss != ds->svc) {
		struct srec *s = ds->svc ? srec_get(v, ds->svc, true) : NULL;
		drec_unlink(r);
		if (s) {
			drec_link(r, s);
			PENDING_PUSH(v->spending, s); /* should it be new */
		} else if (ds->svc) {
			v->rescan = true;
		}
	}
	avail = __atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_AVAILABLE;
	/* resolve a new server now: a connection's first packet should not
	 * wait for (or be dropped by) ARP */
	if (avail && !r->avail)
		lvs_netstate_prime(v->ns, ds->af, &ds->addr);
	r->avail = avail;
	dest_eval(v, r);
}

static void watch_svc(void *arg, const struct lvs_svc_state *ss, bool gone)
{
	struct lvs_vips *v = arg;
	struct srec *r = srec_get(v, ss, false);
	struct contrib none;

	if (!r) {
		fresh_note(v, ss, true, gone);
		return;
	}
	if (!gone) {
		PENDING_PUSH(v->spending, r);
		return;
	}
	PENDING_DEL(r);
	memset(&none, 0, sizeof(none));
	contrib_apply(v, &r->c, &none);
	if (r->fwm)
		v->nfwm--;
	/* destinations go first; one left over keeps nothing */
	while (r->dests) {
		struct drec *d = r->dests;
		drec_unlink(d);
		dest_eval(v, d);
	}
	ht_remove(&v->srecs, &r->hn);
	free(r);
}

/* A service's keys while it is configured: its VIP, and its own key (which
 * counts when the VIP is shared, see gwant). */
static void svc_update(struct lvs_vips *v, struct srec *r)
{
	const struct lvs_svc_state *ss = r->ss;
	bool in = ss->in_config, fwm = in && ss->key.fwmark;
	struct contrib c;

	memset(&c, 0, sizeof(c));
	if (in && !ss->key.fwmark) {
		contrib_add(&c, GK_VIP, ss->key.af, 0, 0, &ss->key.addr, false);
		contrib_add(&c, GK_SVC, ss->key.af, ss->key.proto, ss->key.port, &ss->key.addr,
			    false);
	}
	if (contrib_apply(v, &r->c, &c)) {
		v->rescan = true;
		return;
	}
	if (fwm != r->fwm) {
		v->nfwm += fwm ? 1 : (unsigned)-1;
		r->fwm = fwm;
	}
	/* its trash destinations guard its key only while it is out of the
	 * configuration */
	if (in != r->in_cfg) {
		r->in_cfg = in;
		for (struct drec *d = r->dests; d; d = d->snext)
			dest_eval(v, d);
	}
}

/* Evaluate the reported states. */
/* Up to GUARD_CHUNK pending records; true when some remain. */
static bool records_update(struct lvs_vips *v)
{
	unsigned n = 0;

	/* records for the states reported for the first time */
	while (v->nfresh && n++ < GUARD_CHUNK) {
		size_t i = --v->nfresh;

		if (v->fresh_svc[i]) {
			struct srec *r = srec_get(v, v->fresh[i], true);
			if (r)
				PENDING_PUSH(v->spending, r);
			else
				v->rescan = true; /* out of memory: report everything again */
		} else {
			struct drec *r = drec_get(v, v->fresh[i], true);
			if (r)
				PENDING_PUSH(v->dpending, r);
			else
				v->rescan = true;
		}
	}
	n = 0;

	while (v->dpending && n++ < GUARD_CHUNK) {
		struct drec *r = v->dpending;
		PENDING_DEL(r);
		dest_update(v, r);
	}
	while (v->spending && n++ < GUARD_CHUNK) {
		struct srec *r = v->spending;
		PENDING_DEL(r);
		svc_update(v, r);
	}
	return v->dpending || v->spending;
}

/* ---- nftables ---- */

/* The sets; the inet table's come last (put_tables). */
enum {
	S_VIP4, S_VIP6, S_NS6, S_PVIP4, S_PVIP6, S_SVC4, S_SVC6, S_SVCANY4, S_SVCANY6,
	S_NAT4, S_NAT6, S_NATANY4, S_NATANY6, S_NATRS4, S_NATRS6,
	S_FVIP4, S_FVIP6, S__N
};
#define S_INET S_FVIP4 /* the first set of table inet lvsd_IF */

static const struct {
	const char *name, *type;
} nft_sets[S__N] = {
	[S_VIP4] = { "vip4", "type ipv4_addr" },
	[S_VIP6] = { "vip6", "type ipv6_addr" },
	[S_NS6] = { "ns6", "typeof @th,64,128" },
	[S_PVIP4] = { "pvip4", "type ipv4_addr" },
	[S_PVIP6] = { "pvip6", "type ipv6_addr" },
	[S_SVC4] = { "svc4", "type ipv4_addr . inet_proto . inet_service" },
	[S_SVC6] = { "svc6", "type ipv6_addr . inet_proto . inet_service" },
	[S_SVCANY4] = { "svcany4", "type ipv4_addr . inet_proto" },
	[S_SVCANY6] = { "svcany6", "type ipv6_addr . inet_proto" },
	[S_NAT4] = { "nat4", "type ipv4_addr . inet_proto . inet_service" },
	[S_NAT6] = { "nat6", "type ipv6_addr . inet_proto . inet_service" },
	[S_NATANY4] = { "natany4", "type ipv4_addr . inet_proto" },
	[S_NATANY6] = { "natany6", "type ipv6_addr . inet_proto" },
	[S_NATRS4] = { "natrs4", "type ipv4_addr" },
	[S_NATRS6] = { "natrs6", "type ipv6_addr" },
	[S_FVIP4] = { "vip4", "type ipv4_addr" },
	[S_FVIP6] = { "vip6", "type ipv6_addr" },
};

static const char nft_rules[] =
	"\t\tarp operation request arp daddr ip @vip4 counter drop\n"
	"\t\tarp operation request arp daddr ip @pvip4 counter drop\n"
	"\t\tip daddr @vip4 counter drop\n"
	"\t\tip6 daddr @vip6 counter drop\n"
	"\t\ticmpv6 type nd-neighbor-solicit @th,64,128 @ns6 counter drop\n"
	/* owned VIPs guarded per port (firewall-mark mode): ICMP and later
	 * fragments here, the services below, the rest at prerouting; the
	 * cheap test first, so other traffic pays no lookup */
	"\t\tmeta l4proto icmp ip daddr @pvip4 counter drop\n"
	"\t\tmeta l4proto ipv6-icmp ip6 daddr @pvip6 counter drop\n"
	"\t\tip frag-off & 0x1fff != 0 ip daddr @pvip4 counter drop\n"
	"\t\tfrag frag-off != 0 ip6 daddr @pvip6 counter drop\n"
	"\t\tip daddr . meta l4proto . th dport @svc4 counter drop\n"
	"\t\tip6 daddr . meta l4proto . th dport @svc6 counter drop\n"
	"\t\tip daddr . meta l4proto @svcany4 counter drop\n"
	"\t\tip6 daddr . meta l4proto @svcany6 counter drop\n"
	"\t\tip saddr . meta l4proto . th sport @nat4 fib daddr type != local counter drop\n"
	"\t\tip6 saddr . meta l4proto . th sport @nat6 fib daddr type != local counter drop\n"
	"\t\tip saddr . meta l4proto @natany4 fib daddr type != local counter drop\n"
	"\t\tip6 saddr . meta l4proto @natany6 fib daddr type != local counter drop\n"
	"\t\tip saddr @natrs4 icmp type { destination-unreachable, time-exceeded, "
	"parameter-problem } fib daddr type != local counter drop\n"
	"\t\tip6 saddr @natrs6 icmpv6 type { destination-unreachable, packet-too-big, "
	"time-exceeded, parameter-problem } fib daddr type != local counter drop\n"
	/* later fragments of NAT replies carry no ports */
	"\t\tip saddr @natrs4 ip frag-off & 0x1fff != 0 fib daddr type != local counter drop\n"
	"\t\tip6 saddr @natrs6 frag frag-off != 0 fib daddr type != local counter drop\n";

/* The inet table's chain: what passed ingress and the mangle table to an
 * owned VIP guarded per port, and was not queued to lvsd (%s: the
 * interface, twice). */
static const char nft_fwm_chain[] =
	"\tchain prerouting {\n\t\ttype filter hook prerouting priority -140; policy accept;\n"
	"\t\tiifname \"%s\" ip daddr @vip4 counter drop\n"
	"\t\tiifname \"%s\" ip6 daddr @vip6 counter drop\n\t}\n";

/* The sets key k is an element of in layout l (gwant; none for GK_LOCAL);
 * returns how many. */
static unsigned gkey_sets(const struct gkey *k, uint8_t l, int set[3])
{
	bool v6 = k->af == AF_INET6;

	if (l == GL_NONE)
		return 0;
	switch (k->kind) {
	case GK_VIP:
		if (l == GL_PORTS) {
			set[0] = v6 ? S_PVIP6 : S_PVIP4;
			set[1] = v6 ? S_FVIP6 : S_FVIP4;
			set[2] = S_NS6;
			return v6 ? 3 : 2;
		}
		set[0] = v6 ? S_VIP6 : S_VIP4;
		set[1] = S_NS6;
		return v6 ? 2 : 1;
	case GK_SVC:
		set[0] = k->port ? (v6 ? S_SVC6 : S_SVC4) : (v6 ? S_SVCANY6 : S_SVCANY4);
		return 1;
	case GK_NAT:
		set[0] = k->port ? (v6 ? S_NAT6 : S_NAT4) : (v6 ? S_NATANY6 : S_NATANY4);
		return 1;
	case GK_NATRS:
		set[0] = v6 ? S_NATRS6 : S_NATRS4;
		return 1;
	default:
		return 0;
	}
}

/* Key k as an element of set `set`. */
static void put_elem(FILE *f, int set, const struct gkey *k)
{
	char b[INET6_ADDRSTRLEN];

	if (set == S_NS6) {
		fputs("0x", f);
		for (int i = 0; i < 16; i++)
			fprintf(f, "%02x", k->a.b[i]);
		return;
	}
	fputs(lvs_addr_str(k->af, &k->a, b, sizeof(b)), f);
	if (k->kind == GK_SVC || k->kind == GK_NAT) {
		fprintf(f, " . %u", k->proto);
		if (k->port)
			fprintf(f, " . %u", ntohs(k->port));
	}
}

/* One element to add to or delete from one set. */
struct nft_item {
	uint8_t del, set;
	const struct gkey *k;
};

static int cmp_item(const void *x, const void *y)
{
	const struct nft_item *a = x, *b = y;

	if (a->del != b->del)
		return a->del - b->del;
	return a->set - b->set;
}

/* Key k's elements of layout l that layout other does not have (so an
 * element in both, ns6 when a VIP changes layout, is neither added nor
 * deleted). */
static int push_items(struct nft_item **it, size_t *n, size_t *cap, const struct gkey *k,
		      bool del, uint8_t l, uint8_t other)
{
	int set[3], oset[3];
	unsigned ns = gkey_sets(k, l, set), no = gkey_sets(k, other, oset);

	if (*n + ns > *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		while (nc < *n + ns)
			nc *= 2;
		struct nft_item *x = realloc(*it, nc * sizeof(*x));
		if (!x)
			return -ENOMEM;
		*it = x;
		*cap = nc;
	}
	for (unsigned i = 0; i < ns; i++) {
		bool both = false;
		for (unsigned j = 0; j < no; j++)
			both |= set[i] == oset[j];
		if (!both)
			(*it)[(*n)++] = (struct nft_item){ .del = del, .set = (uint8_t)set[i], .k = k };
	}
	return 0;
}

/* Elements it[0..n) (sorted by cmp_item), as `add element` / `delete
 * element` commands on every served table.  One transaction: a VIP that
 * changes layout is never in neither. */
static void put_delta(struct lvs_vips *v, FILE *f, const struct nft_item *it, size_t n)
{
	for (unsigned t = 0; t < v->nif; t++) {
		for (size_t i = 0; i < n;) {
			size_t j = i;
			fprintf(f, "%s element %s %s %s { ", it[i].del ? "delete" : "add",
				it[i].set >= S_INET ? "inet" : "netdev", v->ifs[t].table,
				nft_sets[it[i].set].name);
			for (; j < n && !cmp_item(&it[i], &it[j]); j++) {
				if (j > i)
					fputs(", ", f);
				put_elem(f, it[j].set, it[j].k);
			}
			fputs(" }\n", f);
			i = j;
		}
	}
}

/* Sets [from, to) of a table, with their elements from it[*i..n) (sorted
 * by set). */
static void put_sets(FILE *f, int from, int to, const struct nft_item *it, size_t *i, size_t n)
{
	for (int s = from; s < to; s++) {
		fprintf(f, "\tset %s { %s;", nft_sets[s].name, nft_sets[s].type);
		for (bool first = true; *i < n && it[*i].set == s; (*i)++, first = false) {
			fputs(first ? " elements = { " : ", ", f);
			put_elem(f, s, it[*i].k);
			if (*i + 1 == n || it[*i + 1].set != s)
				fputs(" }", f);
		}
		fputs(" }\n", f);
	}
}

/* Every served table replaced by one holding elements it[0..n) (adds,
 * sorted by cmp_item): the netdev table and the inet one. */
static void put_tables(struct lvs_vips *v, FILE *f, const struct nft_item *it, size_t n)
{
	for (unsigned t = 0; t < v->nif; t++) {
		const char *tb = v->ifs[t].table, *ifn = v->ifs[t].name;
		size_t i = 0;

		/* declaring a table first makes its delete valid either way
		 * (a killed lvsd left it, or not) */
		fprintf(f, "table netdev %s {}\ndelete table netdev %s\ntable netdev %s {\n", tb, tb,
			tb);
		put_sets(f, 0, S_INET, it, &i, n);
		fprintf(f, "\tchain ingress {\n\t\ttype filter hook ingress device \"%s\" "
			   "priority -500; policy accept;\n%s\t}\n}\n",
			ifn, nft_rules);
		fprintf(f, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", tb, tb, tb);
		put_sets(f, S_INET, S__N, it, &i, n);
		fprintf(f, nft_fwm_chain, ifn, ifn);
		fputs("}\n", f);
	}
}

/* Run script through v->nft_run.  0 or -errno. */
static int nft_script(struct lvs_vips *v, void (*put)(struct lvs_vips *, FILE *,
						      const struct nft_item *, size_t),
		      const struct nft_item *it, size_t n)
{
	char *script = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&script, &len);
	int err;

	if (!f)
		return -ENOMEM;
	put(v, f, it, n);
	if (fclose(f)) {
		free(script);
		return -ENOMEM;
	}
	err = v->nft_run(v->nft_arg, script, NULL);
	free(script);
	return err;
}

/*
 * The default nft_run: libnftables with the context kept for lvsd's life.
 * script runs as one transaction.  0, or -EIO with nft's message logged.
 * out (may be NULL): what nft printed, for the caller to free.
 */
int vip_nft_lib_run(void *arg, const char *script, char **out)
{
	struct lvs_vips *v = arg;
	const char *o, *e;
	int rc;

	if (out)
		*out = NULL;
	if (!v->nft) {
		v->nft = nft_ctx_new(NFT_CTX_DEFAULT);
		if (!v->nft || nft_ctx_buffer_output(v->nft) || nft_ctx_buffer_error(v->nft)) {
			lvs_err("guard: cannot set up libnftables");
			if (v->nft)
				nft_ctx_free(v->nft);
			v->nft = NULL;
			return -ENOMEM;
		}
	}
	rc = nft_run_cmd_from_buffer(v->nft, script);
	/* reading a buffer also empties it for the next command */
	o = nft_ctx_get_output_buffer(v->nft);
	e = nft_ctx_get_error_buffer(v->nft);
	if (rc) {
		lvs_err("guard: nft failed: %s", e && *e ? e : "(no message)");
		return -EIO;
	}
	if (out && !(*out = strdup(o ? o : "")))
		return -ENOMEM;
	return 0;
}

/* All wanted keys, as elements (sorted by set).  0 or -ENOMEM. */
static int all_items(struct lvs_vips *v, struct nft_item **it, size_t *n)
{
	size_t cap = 0;

	*it = NULL;
	*n = 0;
	for (size_t b = 0; b <= v->keys.mask; b++) {
		for (struct hnode *h = v->keys.b[b]; h; h = h->next) {
			struct gentry *e = caa_container_of(h, struct gentry, hn);
			if (push_items(it, n, &cap, &e->k, false, gwant(v, e), GL_NONE)) {
				free(*it);
				*it = NULL;
				return -ENOMEM;
			}
		}
	}
	if (*n)
		qsort(*it, *n, sizeof(**it), cmp_item);
	return 0;
}

/* Rewrite every table from the keys (at start, and to recover from a
 * failed delta).  On success every key's in_nft is what it wants. */
int vip_guard_rewrite(struct lvs_vips *v)
{
	struct nft_item *it;
	size_t n;
	int err = all_items(v, &it, &n);

	if (!err)
		err = nft_script(v, put_tables, it, n);
	free(it);
	if (err)
		return err;
	for (size_t b = 0; b <= v->keys.mask; b++) {
		for (struct hnode *h = v->keys.b[b]; h; h = h->next) {
			struct gentry *e = caa_container_of(h, struct gentry, hn);
			e->in_nft = gwant(v, e);
		}
	}
	v->nft_resync = false;
	return 0;
}

void vip_guard_remove(struct lvs_vips *v)
{
	char *script = NULL;
	size_t slen = 0;
	FILE *f = open_memstream(&script, &slen);

	if (!f)
		return;
	for (unsigned i = 0; i < v->nif; i++)
		fprintf(f, "table netdev %s {}\ndelete table netdev %s\n"
			   "table inet %s {}\ndelete table inet %s\n",
			v->ifs[i].table, v->ifs[i].table, v->ifs[i].table, v->ifs[i].table);
	if (fclose(f) == 0 && v->nif && v->nft_run(v->nft_arg, script, NULL) == 0)
		lvs_info("guard: tables removed");
	free(script);
}

/* ---- the driver filter (xdp_filter.h): the guard's keys as map keys ---- */

/* Key k in layout l (not GL_NONE). */
static void xkey(struct lvs_xdp_key *x, const struct gkey *k, uint8_t l)
{
	static const uint8_t kind4[] = {
		[GK_VIP] = LVS_XDPK_VIP4, [GK_SVC] = LVS_XDPK_SVC4, [GK_NAT] = LVS_XDPK_NAT4,
		[GK_NATRS] = LVS_XDPK_NATRS4, [GK_LOCAL] = LVS_XDPK_LOCAL4,
	};
	uint8_t kind = k->kind == GK_VIP && l == GL_PORTS ? LVS_XDPK_PVIP4 : kind4[k->kind];

	memset(x, 0, sizeof(*x));
	x->kind = (uint8_t)(kind + (k->af == AF_INET6));
	x->proto = k->proto;
	x->port = k->port;
	memcpy(x->addr, k->a.b, k->af == AF_INET6 ? 16 : 4);
}

/* ---- the host's addresses ---- */

static int cmp_gkey(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct gkey));
}

/*
 * Read the host's addresses; when they changed, update the GK_LOCAL keys
 * and which VIPs are owned (O(#VIPs); a VIP that became or stopped being
 * a host address also changes what its services' keys want, found by a
 * walk over all keys: rare).  0 or -ENOMEM.
 */
static int locals_refresh(struct lvs_vips *v)
{
	unsigned cap = lvs_netstate_local_addrs(v->ns, NULL, NULL, 0) + 16, n, m = 0;
	uint8_t *af = malloc(cap);
	union lvs_addr *a = malloc(cap * sizeof(*a));
	struct gkey *k = malloc(cap * sizeof(*k));
	bool flipped = false;
	int err = -ENOMEM;

	if (!af || !a || !k)
		goto out;
	n = lvs_netstate_local_addrs(v->ns, af, a, cap);
	if (n > cap)
		n = cap; /* appeared meanwhile: the next change brings them */
	for (unsigned i = 0; i < n; i++)
		gkey_set(&k[i], GK_LOCAL, af[i], 0, 0, &a[i]);
	qsort(k, n, sizeof(*k), cmp_gkey);
	for (unsigned i = 0; i < n; i++)
		if (!m || cmp_gkey(&k[m - 1], &k[i]))
			k[m++] = k[i];
	err = 0;
	if (m == v->nlocals && (!m || !memcmp(k, v->locals, m * sizeof(*k))))
		goto out;
	/* merge: new ones counted up, vanished ones down */
	for (unsigned i = 0, j = 0; i < m || j < v->nlocals;) {
		int c = i == m ? 1 : j == v->nlocals ? -1 : cmp_gkey(&k[i], &v->locals[j]);
		if (c < 0 && gref(v, &k[i], false, 1)) {
			/* not counted: left out of v->locals, so the next
			 * refresh tries again */
			k[i].kind = 0xff;
			err = -ENOMEM;
		}
		if (c > 0)
			gref(v, &v->locals[j], false, -1);
		i += c <= 0;
		j += c >= 0;
	}
	n = m;
	m = 0;
	for (unsigned i = 0; i < n; i++)
		if (k[i].kind != 0xff)
			k[m++] = k[i];
	free(v->locals);
	v->locals = k;
	v->nlocals = m;
	k = NULL;
	for (struct gentry *e = v->vips; e; e = e->vnext) {
		bool owned = vip_is_owned(v, &e->k);
		if (owned != e->owned) {
			e->owned = owned;
			gdirty(v, e);
			flipped = true;
		}
	}
	for (size_t b = 0; flipped && b <= v->keys.mask; b++) {
		for (struct hnode *h = v->keys.b[b]; h; h = h->next) {
			struct gentry *e = caa_container_of(h, struct gentry, hn);
			if (e->k.kind == GK_SVC && e->cfg)
				gdirty(v, e);
		}
	}
out:
	free(af);
	free(a);
	free(k);
	return err;
}

/* ---- applying the dirty keys ---- */

/*
 * Bring the guard, the driver filter, the workers' VIP array and the
 * announcements up to date with the dirty keys.  A key whose guard or
 * filter update failed stays dirty for the next call.  0 or -errno.
 */
static int vips_sync(struct lvs_vips *v, size_t *done)
{
	struct gentry **d = NULL, *e, *rest = NULL;
	uint8_t *want = NULL;
	struct nft_item *it = NULL;
	struct lvs_xdp_key *xa = NULL, *xd = NULL;
	size_t nd = 0, ni = 0, ci = 0, nxa = 0, nxd = 0;
	lvs_time_t now = mono_ns();
	int err = 0, nerr = 0, xerr = 0;

	*done = 0;
	for (e = v->dirty; e && nd < GUARD_CHUNK; e = e->dnext)
		nd++;
	if (nd) {
		d = malloc(nd * sizeof(*d));
		want = malloc(nd);
		xa = malloc(nd * sizeof(*xa));
		xd = malloc(nd * sizeof(*xd));
		if (!d || !want || !xa || !xd) {
			err = -ENOMEM;
			goto out;
		}
	}
	nd = 0;
	for (e = v->dirty; e && nd < GUARD_CHUNK; e = e->dnext)
		d[nd++] = e;
	rest = e; /* the next call's */
	for (size_t i = 0; i < nd; i++) {
		e = d[i];
		want[i] = gwant(v, e);
		if (e->k.kind == GK_VIP && !!want[i] != e->active) {
			/* announce and listen for the VIPs lvsd takes over */
			e->active = want[i];
			v->vips_changed = true;
			if (want[i])
				vip_announce_add(v, e->k.af, &e->k.a, now);
			if (e->k.af == AF_INET6)
				vip_mcast(v, &e->k.a, want[i]);
		}
		/* the new layout's elements added, the old one's deleted, in
		 * one transaction */
		if (v->guard && !v->nft_resync && want[i] != e->in_nft &&
		    (push_items(&it, &ni, &ci, &e->k, false, want[i], e->in_nft) ||
		     push_items(&it, &ni, &ci, &e->k, true, e->in_nft, want[i]))) {
			err = -ENOMEM;
			goto out;
		}
		if (v->filter && want[i] != e->in_xdp) {
			if (want[i])
				xkey(&xa[nxa++], &e->k, want[i]);
			if (e->in_xdp)
				xkey(&xd[nxd++], &e->k, e->in_xdp);
		}
	}
	*done = nd;
	if (v->guard && v->nft_resync) {
		nerr = vip_guard_rewrite(v);
	} else if (ni) {
		qsort(it, ni, sizeof(*it), cmp_item);
		nerr = nft_script(v, put_delta, it, ni);
		if (nerr) {
			lvs_warn("guard: delta refused, rewriting the tables");
			v->nft_resync = true;
			nerr = vip_guard_rewrite(v);
		}
	}
	if (nerr)
		lvs_err("guard: the host guard could not be updated: %s", strerror(-nerr));
	if (nxa || nxd) {
		xerr = v->filter(v->filter_arg, xa, (unsigned)nxa, xd, (unsigned)nxd);
		if (xerr)
			lvs_err("vip: the interface filter could not be updated: %s",
				strerror(-xerr));
	}
	/* settle what was applied; what was not stays dirty */
	v->dirty = rest;
	for (size_t i = nd; i-- > 0;) {
		e = d[i];
		if (v->guard && !nerr)
			e->in_nft = want[i];
		if (v->filter && !xerr)
			e->in_xdp = want[i];
		e->dirty = false;
		if ((v->guard && e->in_nft != want[i]) || (v->filter && e->in_xdp != want[i]))
			gdirty(v, e);
		else if (!e->cfg && !e->trash && !e->in_nft && !e->in_xdp && !e->active)
			gfree(v, e);
	}
	err = nerr ? nerr : xerr;
	if (v->vips_changed && vip_set_rebuild(v))
		err = err ? err : -ENOMEM;
	/* Firewall marks are set in the IP layer (mangle PREROUTING), after
	 * every tap lvsd reads from: such services get packets only through
	 * the queue (daemon/fwmark.c). */
	if (v->nfwm > v->nfwm_warned && !v->fwmark_queue)
		lvs_warn("vip: %u firewall-mark service%s configured without the firewall-mark "
			 "queue (--fwmark-queue off, or it could not be bound): they receive "
			 "no traffic", v->nfwm, v->nfwm > 1 ? "s" : "");
	v->nfwm_warned = v->nfwm;
	lvs_vips_tick(v, now);
out:
	free(d);
	free(want);
	free(it);
	free(xa);
	free(xd);
	return err;
}

int lvs_vips_update(struct lvs_vips *v, const struct lvs_snapshot *s, const struct lvs_model *m)
{
	const struct lvs_model_watch w = { .svc = watch_svc, .dest = watch_dest, .arg = v };
	int err, serr;
	size_t done = 0;
	bool more;

	(void)s; /* the watch reports m's states; s is m's snapshot */
	if (!m)
		return -EINVAL;
	if (v->model != m || v->rescan) {
		/* Installing the watch reports every state once: a first call
		 * learns the model, a later one repairs records an allocation
		 * failure left stale (what is unchanged costs nothing). */
		v->rescan = false;
		if (v->model && v->model != m)
			lvs_model_set_watch(v->model, NULL);
		/* the model is changed only by its owner; the watch is ours */
		v->model = (struct lvs_model *)m;
		lvs_model_set_watch(v->model, &w);
	}
	more = records_update(v);
	err = locals_refresh(v);
	mode_step(v);
	serr = vips_sync(v, &done);
	/* the next mode step at once when the last one is applied and this
	 * call has room for it */
	while (!serr && !v->dirty && done < GUARD_CHUNK && mode_step(v)) {
		size_t n;
		serr = vips_sync(v, &n);
		done += n;
	}
	if (err || serr)
		return err ? err : serr;
	return more || v->dirty || v->nfresh || mode_pending(v);
}

int lvs_vips_extra(struct lvs_vips *v, uint8_t af, const union lvs_addr *a, bool add)
{
	struct gkey k;

	gkey_set(&k, GK_VIP, af, 0, 0, a);
	return gref(v, &k, false, add ? 1 : -1);
}

/* ---- control thread ---- */

int vip_guard_init(struct lvs_vips *v)
{
	return ht_init(&v->keys) || ht_init(&v->srecs) || ht_init(&v->drecs) ? -ENOMEM : 0;
}

static void ht_free_all(struct htab *t, size_t off)
{
	for (size_t b = 0; t->b && b <= t->mask; b++) {
		for (struct hnode *h = t->b[b], *nh; h; h = nh) {
			nh = h->next;
			free((char *)h - off);
		}
	}
	free(t->b);
}

void vip_guard_free(struct lvs_vips *v)
{
	if (v->nft)
		nft_ctx_free(v->nft);
	ht_free_all(&v->keys, offsetof(struct gentry, hn));
	ht_free_all(&v->srecs, offsetof(struct srec, hn));
	ht_free_all(&v->drecs, offsetof(struct drec, hn));
	free(v->fresh);
	free(v->fresh_svc);
	free(v->locals);
}

void lvs_vips_set_fwmark_queue(struct lvs_vips *v, bool on)
{
	v->fwmark_queue = on;
}

void lvs_vips_set_filter(struct lvs_vips *v, lvs_vips_filter_fn fn, void *arg)
{
	v->filter = fn;
	v->filter_arg = arg;
	/* a filter set late gets every key at the next update */
	for (size_t b = 0; b <= v->keys.mask; b++) {
		for (struct hnode *h = v->keys.b[b]; h; h = h->next) {
			struct gentry *e = caa_container_of(h, struct gentry, hn);
			e->in_xdp = false;
			gdirty(v, e);
		}
	}
}

/* ---- the guard's counters, read over nfnetlink ---- */

struct ctr_sum {
	unsigned long long packets;
};

static int ctr_data_cb(const struct nlattr *a, void *arg)
{
	if (mnl_attr_get_type(a) == NFTA_COUNTER_PACKETS &&
	    mnl_attr_validate(a, MNL_TYPE_U64) >= 0)
		((struct ctr_sum *)arg)->packets += be64toh(mnl_attr_get_u64(a));
	return MNL_CB_OK;
}

/* One expression of a rule: a counter's packets into the sum. */
static int ctr_expr_cb(const struct nlattr *a, void *arg)
{
	const struct nlattr *name = NULL, *data = NULL, *x;

	if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(x, a) {
		if (mnl_attr_get_type(x) == NFTA_EXPR_NAME)
			name = x;
		else if (mnl_attr_get_type(x) == NFTA_EXPR_DATA)
			data = x;
	}
	if (name && data && mnl_attr_validate(name, MNL_TYPE_NUL_STRING) >= 0 &&
	    !strcmp(mnl_attr_get_str(name), "counter"))
		mnl_attr_parse_nested(data, ctr_data_cb, arg);
	return MNL_CB_OK;
}

static int ctr_rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
			mnl_attr_parse_nested(a, ctr_expr_cb, arg);
	return MNL_CB_OK;
}

/*
 * The packets the rules of one chain counted (family NFPROTO_*), by a rule
 * dump (NFT_MSG_GETRULE) of that chain alone: listing the chain through
 * libnftables loads every set element first (tens of ms with 100,000).
 * 0 or -errno.
 */
static int chain_packets(uint8_t family, const char *table, const char *chain,
			 unsigned long long *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct ctr_sum sum = {0};
	uint32_t seq = (uint32_t)time(NULL), port;
	int rc = 0;
	ssize_t n;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	port = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		int r = mnl_cb_run(buf, (size_t)n, seq, port, ctr_rule_cb, &sum);
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == MNL_CB_STOP)
			break;
	}
	if (n < 0)
		rc = -errno;
out:
	mnl_socket_close(nl);
	*out = sum.packets;
	return rc;
}

void lvs_vips_guard_status(struct lvs_vips *v, FILE *f)
{
	if (!v->guard) {
		fputs("Host guard: off (--no-guard)\n", f);
		return;
	}
	/* the ingress chain, and the prerouting one (firewall-mark mode) */
	fputs("Host guard (frames kept from the host's stack):", f);
	for (unsigned i = 0; i < v->nif; i++) {
		char script[64 + IF_NAMESIZE + 8], *text = NULL;
		unsigned long long sum = 0, pre = 0, n;

		if (v->nft_run == vip_nft_lib_run) {
			if (chain_packets(NFPROTO_NETDEV, v->ifs[i].table, "ingress", &sum) ||
			    chain_packets(NFPROTO_INET, v->ifs[i].table, "prerouting", &pre))
				fprintf(f, " %s ?", v->ifs[i].name);
			else
				fprintf(f, " %s %llu", v->ifs[i].name, sum + pre);
			continue;
		}
		/* a test's stand-in for libnftables: the chains as nft lists them */
		for (int c = 0; c < 2; c++) {
			snprintf(script, sizeof(script), c ? "list chain inet %s prerouting\n"
							 : "list chain netdev %s ingress\n",
				 v->ifs[i].table);
			if (v->nft_run(v->nft_arg, script, &text) || !text) {
				sum = ~0ull;
				break;
			}
			/* every rule counts: "counter packets N bytes M" */
			for (const char *t = text; (t = strstr(t, "counter packets ")); t++)
				if (sscanf(t, "counter packets %llu", &n) == 1)
					sum += n;
			free(text);
			text = NULL;
		}
		if (sum == ~0ull)
			fprintf(f, " %s ?", v->ifs[i].name);
		else
			fprintf(f, " %s %llu", v->ifs[i].name, sum);
	}
	fputc('\n', f);
}
