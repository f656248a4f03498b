/*
 * fastpathd.c - the XDP fast path in the daemon (fastpathd.h).
 *
 * The program (io/lvs_fast.bpf.c) is attached to every served interface
 * by BPF links, so it goes when lvsd goes, however it ends.  A frame it
 * has no entry for, or that needs a decision, goes on (XDP_PASS) to the
 * AF_PACKET socket and the host guard as before.  With the AF_XDP driver,
 * whose own XDP program is already attached by the driver's links, the
 * fast path's program takes that program's place (a link update) and runs
 * the driver's filter on the driver's maps for those frames, so they reach
 * the AF_XDP sockets as before; stopping gives the driver its program back.
 *
 * One thread, `lvsd-fast`, owns the flow map.  It is a participant of the
 * connection table (its own worker id: its lookups are safe until its
 * next quiescent point) and of the model's statistics (its own slot).
 *   - Requests (core/fast_tap.h) come from the workers' rings: "look at
 *     this connection again".  The thread looks the connection up and, if
 *     it is eligible (lvs_director_fast_eligible) and its next hop is
 *     resolved, writes the entries the core would compute
 *     (lvs_fastpath_entry); otherwise it removes them.  Every entry it
 *     wrote is recorded here with the connection's identity.
 *   - Every second, and at once after a change of the model, of routes /
 *     links / neighbours or of the VRRP addresses held, it sweeps its
 *     records: reads each entry's counters, adds what the program counted
 *     since the last sweep to the destination's and the service's
 *     statistics, restarts the connection's timer from the last packet the
 *     program saw (so idle timeouts, -L -c and sync behave as if user
 *     space had seen the packets), has the connection reported to a master
 *     sync daemon as its packets would, and checks the entry again: a
 *     connection that is gone or no longer eligible loses its entries, one
 *     whose next hop or tunnel changed gets them rewritten.
 * A sweep takes at most FAST_SWEEP_BUDGET records per pass, so a large
 * table is swept in pieces without holding up requests.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <urcu-qsbr.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "conn.h"
#include "director.h"
#include "fast_tap.h"
#include "fastpath.h"
#include "fastpathd.h"
#include "log.h"
#include "netstate.h"
#include "worker.h"

#define FAST_RING_SIZE    4096
#define FAST_POLL_MS      5
#define FAST_SWEEP_NS     (1000ull * 1000 * 1000)
#define FAST_SWEEP_BUDGET 4096u
#define FAST_DRAIN_BUDGET 1024u
/* A full map: an entry the program has not used for FAST_IDLE_NS makes
 * room for a new one; at most FAST_EVICT_SCAN records are looked at. */
#define FAST_IDLE_NS      (1000ull * 1000 * 1000)
#define FAST_EVICT_SCAN   64u
/* A connection gets its entries once it has been eligible for
 * FAST_MIN_AGE_NS: a short one (a request and its answer) is over by then
 * and costs the map nothing; its packets all go through user space, as
 * its handshake and close do anyway.  At most FAST_PENDING wait. */
#define FAST_MIN_AGE_NS   (10ull * 1000 * 1000)
#define FAST_PENDING      16384u

/* A request for a connection without entries, held until it is due. */
struct fpend {
	struct lvs_sync_rec id;
	lvs_time_t due;
};

/* An entry this thread wrote. */
struct frec {
	struct frec *hnext;
	uint32_t idx;            /* in fast->recs */
	bool reply;
	struct lvs_fast_key k;
	struct lvs_fast_val v;   /* as written (counters 0) */
	struct lvs_sync_rec id;  /* the connection */
	uint64_t pk, by, last;   /* counters already folded */
	lvs_time_t born;         /* when it was written */
};

struct lvsd_fast {
	struct lvsd *d;
	struct lvs_fastpath *fp;
	struct bpf_link *link[LVSD_MAX_IFACES];
	unsigned nlink;
	bool stands_in;          /* runs in the AF_XDP driver's program's place */
	struct lvs_fast_tap tap;
	unsigned worker;         /* connection table id and statistics slot */
	pthread_t th;
	bool started;
	int stop;

	/* records: a hash by key and an array to sweep */
	struct frec **bucket;
	uint32_t bmask;
	struct frec **recs;
	uint32_t nrec, cap;
	uint32_t cursor;         /* sweep position; nrec when none runs */
	uint32_t evict_cursor;   /* where the search for an idle entry goes on */
	struct fpend *pend;      /* ring of FAST_PENDING, in order of due time */
	uint32_t phead, pn;
	lvs_time_t last_sweep;
	uint64_t sig;            /* changes seen (model, routes, VRRP) */

	/* lvsd_fast_sync: folds asked for and done */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t fold_req, fold_done;

	/* counters (this thread writes, others read relaxed) */
	uint64_t requests, written, rewritten, removed, evicted, write_errors, unresolved, sweeps;
	uint64_t fast_pkts, fast_bytes;
};

/* ---- records ---- */

static uint32_t key_hash(const struct lvs_fast_key *k)
{
	const uint32_t *w = (const uint32_t *)(const void *)k;
	uint32_t h = 0x811c9dc5u;

	for (size_t i = 0; i < sizeof(*k) / 4; i++)
		h = (h ^ w[i]) * 0x01000193u;
	return h ^ (h >> 15);
}

static struct frec *rec_find(struct lvsd_fast *f, const struct lvs_fast_key *k)
{
	for (struct frec *r = f->bucket[key_hash(k) & f->bmask]; r; r = r->hnext)
		if (!memcmp(&r->k, k, sizeof(*k)))
			return r;
	return NULL;
}

static int rec_grow(struct lvsd_fast *f)
{
	uint32_t nb = (f->bmask + 1) * 2;
	struct frec **b, **a;

	a = realloc(f->recs, (size_t)f->cap * 2 * sizeof(*a));
	if (!a)
		return -ENOMEM;
	f->recs = a;
	f->cap *= 2;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return 0; /* longer chains */
	for (uint32_t i = 0; i < f->nrec; i++) {
		struct frec *r = f->recs[i];
		uint32_t h = key_hash(&r->k) & (nb - 1);

		r->hnext = b[h];
		b[h] = r;
	}
	free(f->bucket);
	f->bucket = b;
	f->bmask = nb - 1;
	return 0;
}

static struct frec *rec_add(struct lvsd_fast *f, const struct lvs_fast_key *k)
{
	struct frec *r;
	uint32_t h;

	if (f->nrec == f->cap && rec_grow(f))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->k = *k;
	h = key_hash(k) & f->bmask;
	r->hnext = f->bucket[h];
	f->bucket[h] = r;
	r->idx = f->nrec;
	f->recs[f->nrec++] = r;
	return r;
}

static void rec_del(struct lvsd_fast *f, struct frec *r)
{
	struct frec **pp = &f->bucket[key_hash(&r->k) & f->bmask];
	struct frec *last;

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	last = f->recs[--f->nrec];
	f->recs[r->idx] = last;
	last->idx = r->idx;
	free(r);
}

/* ---- connections ---- */

/* The connection of identity id (either direction's lookup), or NULL. */
static struct lvs_conn *conn_of(struct lvsd_fast *f, const struct lvs_sync_rec *id, bool reply)
{
	struct lvs_conn_table *ct = f->d->dir.ct;

	if (reply)
		return lvs_conn_lookup_out(ct, id->af, id->proto, &id->daddr, id->dport, &id->caddr,
					   id->cport);
	return lvs_conn_lookup_in(ct, id->af, id->proto, &id->caddr, id->cport, &id->vaddr,
				  id->vport);
}

/* The key of identity id's direction. */
static int key_of(const struct lvs_sync_rec *id, bool reply, struct lvs_fast_key *k)
{
	struct lvs_conn_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.p.af = id->af;
	ci.p.daf = (id->flags & LVS_SYNC_REC_F_DAF6) ? AF_INET6 : AF_INET;
	ci.p.proto = id->proto;
	ci.p.fwd = id->fwd;
	ci.p.flags = id->flags & 0xff;
	ci.p.caddr = id->caddr;
	ci.p.vaddr = id->vaddr;
	ci.p.daddr = id->daddr;
	ci.p.cport = id->cport;
	ci.p.vport = id->vport;
	ci.p.dport = id->dport;
	return lvs_fastpath_key(&ci, reply, k);
}

/* The entry the core's transform amounts to for c now.  0, -EAGAIN (next
 * hop not resolved: user space forwards and resolves), or another -errno. */
static int entry_of(struct lvsd_fast *f, const struct lvs_conn_info *ci, bool reply,
		    struct lvs_fast_key *k, struct lvs_fast_val *v)
{
	const struct lvs_xmit_env *env = &f->d->dir.env;
	int daf = ci->p.daf ? ci->p.daf : ci->p.af;
	struct lvs_nexthop nh;
	struct lvs_fast_tun tun = {0};
	union lvs_addr src;
	int err;

	memset(&src, 0, sizeof(src));
	if (reply)
		err = env->route(env->ctx, ci->p.af, &ci->p.caddr, &nh);
	else
		err = env->route(env->ctx, daf, &ci->p.daddr, &nh);
	if (err)
		return err;
	if (ci->p.fwd == LVS_FWD_TUNNEL && !reply) {
		if (!ci->dest || env->src_addr(env->ctx, daf, &ci->p.daddr, &src))
			return -EAGAIN;
		lvs_fastpath_tun_of_dest(ci->dest, &tun);
	}
	return lvs_fastpath_entry(ci, reply, &nh, &tun, &src, k, v);
}

static void count(struct lvs_counters *c, bool reply, uint64_t pkts, uint64_t bytes)
{
	if (reply) {
		c->outpkts += pkts;
		c->outbytes += bytes;
	} else {
		c->inpkts += pkts;
		c->inbytes += bytes;
	}
}

/* Add what the program counted since the last fold to c's destination
 * and service, and restart c's timer from the last packet it saw. */
static void fold_counters(struct lvsd_fast *f, struct frec *r, struct lvs_conn *c,
			  bool eligible, lvs_time_t now, const struct lvs_fast_counters *cn)
{
	struct lvs_director *dir = &f->d->dir;
	struct lvs_fast_counters n = *cn;
	uint64_t dp, db;

	/* counters restart when the entry is written again */
	dp = n.packets >= r->pk ? n.packets - r->pk : n.packets;
	db = n.bytes >= r->by ? n.bytes - r->by : n.bytes;
	r->pk = n.packets;
	r->by = n.bytes;
	if (!dp)
		return;
	__atomic_store_n(&f->fast_pkts, f->fast_pkts + dp, __ATOMIC_RELAXED);
	__atomic_store_n(&f->fast_bytes, f->fast_bytes + db, __ATOMIC_RELAXED);
	if (!c)
		return;
	{
		struct lvs_dest_state *ds = lvs_conn_dest(c);

		if (ds && f->worker < ds->nstats)
			count(&ds->stats[f->worker], r->reply, dp, db);
		if (ds && ds->svc && f->worker < ds->svc->nstats)
			count(&ds->svc->stats[f->worker], r->reply, dp, db);
	}
	if (eligible && n.last_ns > r->last) {
		/* the coarse clock the program reads is CLOCK_MONOTONIC's */
		lvs_time_t at = n.last_ns < now ? (lvs_time_t)n.last_ns : now;

		lvs_conn_touch(dir->ct, c, at);
		r->last = n.last_ns;
	}
	/* its packets went by user space unseen: a master sync daemon hears of
	 * it once per sweep that saw some (the kernel reports every 50th) */
	if (!r->reply && dir->sync && __atomic_load_n(&dir->sync->active, __ATOMIC_RELAXED))
		lvs_sync_conn_report(dir->sync, dir->ct, f->worker, c);
}

static void fold(struct lvsd_fast *f, struct frec *r, struct lvs_conn *c, bool eligible,
		 lvs_time_t now)
{
	struct lvs_fast_counters n;

	if (!lvs_fastpath_read_key(f->fp, &r->k, &n))
		fold_counters(f, r, c, eligible, now, &n);
}

/*
 * The map is full: remove the entry of a connection whose packets the
 * program has not seen for FAST_IDLE_NS (keep excepted), its counters
 * folded.  The connection goes on through user space, whose next packet
 * of it asks for an entry again, so the entries go to the connections
 * that use them.  True if one went.
 */
static bool evict_idle(struct lvsd_fast *f, const struct frec *keep, lvs_time_t now)
{
	for (unsigned i = 0; i < FAST_EVICT_SCAN && f->nrec; i++) {
		struct lvs_fast_counters n;
		struct lvs_conn *c;
		struct frec *r;
		lvs_time_t seen;

		if (f->evict_cursor >= f->nrec)
			f->evict_cursor = 0;
		r = f->recs[f->evict_cursor++];
		if (r == keep || lvs_fastpath_read_key(f->fp, &r->k, &n))
			continue;
		seen = n.last_ns ? (lvs_time_t)n.last_ns : r->born;
		if (seen + FAST_IDLE_NS > now)
			continue;
		c = conn_of(f, &r->id, r->reply);
		if (!lvs_fastpath_take(f->fp, &r->k, &n))
			fold_counters(f, r, c, false, now, &n);
		if (c)
			lvs_conn_fast_set(c, r->reply ? LVS_CONN_FAST_OUT : LVS_CONN_FAST_IN, false);
		rec_del(f, r);
		__atomic_store_n(&f->evicted, f->evicted + 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Make the map agree with the connection table for id's direction; sweep
 * (the sweep's record of it, or NULL) has its counters folded first. */
static void look(struct lvsd_fast *f, const struct lvs_sync_rec *id, bool reply,
		 struct frec *sweep, lvs_time_t now)
{
	struct lvs_conn_table *ct = f->d->dir.ct;
	uint8_t bit = reply ? LVS_CONN_FAST_OUT : LVS_CONN_FAST_IN;
	struct lvs_conn *c = conn_of(f, id, reply);
	bool ok = c && lvs_director_fast_eligible(&f->d->dir, ct, c, reply);
	struct lvs_conn_info ci;
	struct lvs_fast_key k;
	struct lvs_fast_val v;
	struct frec *r;
	bool existed;
	int err = 0;

	if (sweep)
		fold(f, sweep, c, ok, now);
	if (ok) {
		lvs_conn_get_info(ct, c, now, &ci);
		err = entry_of(f, &ci, reply, &k, &v);
		if (err == -EAGAIN || err == -EHOSTUNREACH)
			f->unresolved++;
		ok = !err;
	}
	if (!ok && key_of(id, reply, &k))
		goto unmark;
	r = rec_find(f, &k);
	if (!ok) {
		if (r) {
			struct lvs_fast_counters n;

			/* read and removed at once: no packet goes uncounted */
			if (!lvs_fastpath_take(f->fp, &r->k, &n))
				fold_counters(f, r, c, false, now, &n);
			rec_del(f, r);
			f->removed++;
		}
		goto unmark;
	}
	if (r && !memcmp(&r->v, &v, sizeof(v))) {
		lvs_sync_rec_from_info(ct, &ci, &r->id);
		lvs_conn_fast_set(c, bit, true);
		return;
	}
	existed = r != NULL;
	if (r)
		fold(f, r, c, true, now); /* its counters start again */
	else if (!(r = rec_add(f, &k)))
		goto fail;
	err = lvs_fastpath_put(f->fp, &k, &v);
	if (err == -ENOSPC && !existed && evict_idle(f, r, now))
		err = lvs_fastpath_put(f->fp, &k, &v);
	if (err) {
		rec_del(f, r);
		lvs_fastpath_remove(f->fp, &k);
		goto fail;
	}
	if (existed) {
		f->rewritten++;
	} else {
		struct lvs_sync_tap *st = f->d->dir.sync;

		f->written++;
		/* from now on user space may see none of its packets: a master
		 * sync daemon hears of it now (the kernel's third packet) */
		if (!reply && st && __atomic_load_n(&st->active, __ATOMIC_RELAXED))
			lvs_sync_conn_report(st, ct, f->worker, c);
	}
	r->v = v;
	r->reply = reply;
	r->pk = r->by = 0;
	if (!existed)
		r->born = now;
	lvs_sync_rec_from_info(ct, &ci, &r->id);
	lvs_conn_fast_set(c, bit, true);
	return;
fail:
	f->write_errors++;
unmark:
	/* a later packet through user space asks again */
	if (c)
		lvs_conn_fast_set(c, bit, false);
}

/* ---- the thread ---- */

/* A number that changes with the model, the routes and the VRRP
 * addresses held. */
static uint64_t change_sig(struct lvsd_fast *f)
{
	struct lvs_director *dir = &f->d->dir;
	const struct lvs_standby *s = __atomic_load_n(&dir->standby, __ATOMIC_ACQUIRE);
	uint64_t sig = lvs_model_snapshot(dir->model)->gen * 0x9e3779b97f4a7c15ull;

	if (f->d->netstate)
		sig ^= lvs_netstate_route_gen(f->d->netstate) * 0xff51afd7ed558ccdull;
	for (uint32_t i = 0; s && i < s->n; i++)
		if (__atomic_load_n(&s->e[i].held, __ATOMIC_ACQUIRE))
			sig += (uint64_t)(i + 1) * 0xc4ceb9fe1a85ec53ull;
	return sig;
}

/* A request: at once for a connection with entries (to remove or
 * rewrite them), after FAST_MIN_AGE_NS for one without. */
static void request_in(struct lvsd_fast *f, const struct lvs_sync_rec *id, lvs_time_t now)
{
	bool reply = lvs_fast_rec_reply(id);
	struct lvs_fast_key k;

	if (!key_of(id, reply, &k) && !rec_find(f, &k) && f->pn < FAST_PENDING) {
		struct fpend *p = &f->pend[(f->phead + f->pn++) % FAST_PENDING];

		p->id = *id;
		p->due = now + FAST_MIN_AGE_NS;
		return;
	}
	look(f, id, reply, NULL, now);
}

/* The held requests that are due: the connection is looked at again, and
 * gets its entries if it is still eligible. */
static void pending_run(struct lvsd_fast *f, lvs_time_t now)
{
	while (f->pn && f->pend[f->phead].due <= now) {
		struct lvs_sync_rec id = f->pend[f->phead].id;

		f->phead = (f->phead + 1) % FAST_PENDING;
		f->pn--;
		look(f, &id, lvs_fast_rec_reply(&id), NULL, now);
	}
}

static unsigned drain(struct lvsd_fast *f, lvs_time_t now)
{
	struct lvs_sync_rec rq[64];
	unsigned total = 0;

	for (unsigned i = 0; i < f->tap.nrings; i++) {
		unsigned n;

		while (total < FAST_DRAIN_BUDGET &&
		       (n = lvs_sync_ring_pop(&f->tap.ring[i], rq, 64)) > 0) {
			for (unsigned j = 0; j < n; j++)
				request_in(f, &rq[j], now);
			total += n;
		}
	}
	__atomic_store_n(&f->requests, f->requests + total, __ATOMIC_RELAXED);
	return total;
}

static void sweep_step(struct lvsd_fast *f, lvs_time_t now)
{
	unsigned budget = FAST_SWEEP_BUDGET;

	while (f->cursor < f->nrec && budget--) {
		struct frec *r = f->recs[f->cursor];
		struct lvs_sync_rec id = r->id; /* look may free r */
		uint32_t n = f->nrec;

		look(f, &id, r->reply, r, now);
		/* a record removed: another took its place */
		if (f->nrec == n)
			f->cursor++;
	}
	if (f->cursor >= f->nrec)
		__atomic_store_n(&f->sweeps, f->sweeps + 1, __ATOMIC_RELAXED);
}

/* Fold every record now (lvsd_fast_sync). */
static void fold_all(struct lvsd_fast *f, lvs_time_t now)
{
	for (uint32_t i = 0; i < f->nrec; i++) {
		struct frec *r = f->recs[i];
		struct lvs_conn *c = conn_of(f, &r->id, r->reply);

		fold(f, r, c,
		     c && lvs_director_fast_eligible(&f->d->dir, f->d->dir.ct, c, r->reply), now);
	}
}

static void serve_sync(struct lvsd_fast *f, lvs_time_t now)
{
	uint64_t req;

	pthread_mutex_lock(&f->mu);
	req = f->fold_req;
	pthread_mutex_unlock(&f->mu);
	if (req == f->fold_done)
		return;
	fold_all(f, now);
	pthread_mutex_lock(&f->mu);
	f->fold_done = req;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void lvsd_fast_sync(struct lvsd_fast *f)
{
	struct timespec ts;
	uint64_t want;

	if (!f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 250 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->mu);
	want = ++f->fold_req;
	while (f->fold_done < want && !__atomic_load_n(&f->stop, __ATOMIC_RELAXED))
		if (pthread_cond_timedwait(&f->cv, &f->mu, &ts))
			break;
	pthread_mutex_unlock(&f->mu);
}

void lvsd_fast_sync_hook(void *arg)
{
	lvsd_fast_sync(((struct lvsd *)arg)->fast);
}

static void *fast_main(void *arg)
{
	struct lvsd_fast *f = arg;
	struct lvs_conn_table *ct = f->d->dir.ct;

	rcu_register_thread();
	f->sig = change_sig(f);
	f->cursor = 0;
	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		lvs_time_t now;
		uint64_t sig;

		rcu_thread_offline();
		poll(NULL, 0, FAST_POLL_MS);
		rcu_thread_online();
		now = lvsd_now();
		drain(f, now);
		pending_run(f, now);
		serve_sync(f, now);
		sig = change_sig(f);
		if (sig != f->sig || (f->cursor >= f->nrec && now - f->last_sweep >= FAST_SWEEP_NS)) {
			f->sig = sig;
			f->cursor = 0;
			f->last_sweep = now;
		}
		if (f->cursor < f->nrec)
			sweep_step(f, now);
		lvs_conn_quiescent(ct, f->worker);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

/* ---- start and stop ---- */

/* Is interface name a veth (its driver as ethtool reports it)? */
static bool is_veth(const char *name)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool r = false;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		r = !strcmp(di.driver, "veth");
	close(fd);
	return r;
}


static void fast_free(struct lvsd_fast *f)
{
	for (unsigned i = 0; i < f->nlink; i++)
		bpf_link__destroy(f->link[i]);
	if (f->stands_in)
		f->d->io->xdp_replace(-1);
	lvs_fastpath_close(f->fp);
	lvs_fast_tap_free(&f->tap);
	for (uint32_t i = 0; i < f->nrec; i++)
		free(f->recs[i]);
	free(f->recs);
	free(f->bucket);
	free(f->pend);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int lvsd_fast_start(struct lvsd *d, enum lvsd_fast_mode mode, unsigned worker,
		    struct lvsd_fast **out)
{
	struct lvsd_fast *f;
	bool veth = false, xsk = d->io->xdp_replace && d->io->xdp_maps;
	int err;

	*out = NULL;
	if (mode == LVSD_FAST_OFF)
		return 0;
	if (strcmp(d->io->name, "afpacket") && !xsk) {
		if (mode == LVSD_FAST_ON) {
			lvs_err("--fastpath on: not available with --io %s yet", d->io->name);
			return -EOPNOTSUPP;
		}
		lvs_notice("XDP fast path off: not available with --io %s yet", d->io->name);
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->d = d;
	f->worker = worker;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->cv, &ca);
		pthread_condattr_destroy(&ca);
		pthread_mutex_init(&f->mu, NULL);
	}
	f->cap = 1024;
	f->bmask = 1023;
	f->recs = calloc(f->cap, sizeof(*f->recs));
	f->bucket = calloc(f->bmask + 1, sizeof(*f->bucket));
	f->pend = malloc(FAST_PENDING * sizeof(*f->pend));
	if (!f->recs || !f->bucket || !f->pend) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = lvs_fast_tap_init(&f->tap, worker + 1, FAST_RING_SIZE)))
		goto fail;
	for (unsigned i = 0; i < d->nif; i++)
		veth |= is_veth(d->ifname[i]);
	if (veth && mode == LVSD_FAST_AUTO) {
		/* a frame sent out of a veth by XDP is lost unless the peer has
		 * NAPI (GRO on, or a program of its own), which lvsd cannot see
		 * from here: on veth only when asked for */
		lvs_notice("XDP fast path off: served veth interfaces need GRO on their peers "
			   "(ethtool -K PEER gro on); then run with --fastpath on");
		fast_free(f);
		return 0;
	}
	{
		struct lvs_fastpath_opts fo = { .user_verdict = XDP_PASS, .tx_same_if = !veth,
						.entries = d->fast_entries };
		struct lvs_xdp_maps m;

		/* one XDP program per interface: with AF_XDP, ours, running the
		 * driver's filter on the driver's maps for what it does not
		 * forward */
		err = xsk ? d->io->xdp_maps(&m) : 0;
		fo.xsk = xsk ? &m : NULL;
		if (!err)
			err = lvs_fastpath_open_with(&f->fp, &fo);
	}
	if (err) {
		lvs_log(mode == LVSD_FAST_ON ? LOG_ERR : LOG_NOTICE,
			"XDP fast path%s: cannot load the program: %s",
			mode == LVSD_FAST_ON ? "" : " off", strerror(-err));
		goto fail;
	}
	if (xsk) {
		if ((err = d->io->xdp_replace(lvs_fastpath_prog_fd(f->fp)))) {
			lvs_log(mode == LVSD_FAST_ON ? LOG_ERR : LOG_NOTICE,
				"XDP fast path%s: cannot take the AF_XDP program's place: %s",
				mode == LVSD_FAST_ON ? "" : " off", strerror(-err));
			goto fail;
		}
		f->stands_in = true;
	}
	for (unsigned i = 0; i < d->nif && !xsk; i++) {
		if ((err = lvs_fastpath_attach(f->fp, d->ifindex[i], &f->link[i]))) {
			lvs_log(mode == LVSD_FAST_ON ? LOG_ERR : LOG_NOTICE,
				"XDP fast path%s: cannot attach to %s: %s",
				mode == LVSD_FAST_ON ? "" : " off", d->ifname[i], strerror(-err));
			goto fail;
		}
		f->nlink = i + 1;
	}
	f->tap.active = 1;
	d->dir.fast = &f->tap;
	lvs_conn_set_fast_tap(d->dir.ct, &f->tap);
	f->cursor = 0;
	if ((err = -pthread_create(&f->th, NULL, fast_main, f))) {
		lvs_err("fast path thread: %s", strerror(-err));
		d->dir.fast = NULL;
		lvs_conn_set_fast_tap(d->dir.ct, NULL);
		goto fail;
	}
	pthread_setname_np(f->th, "lvsd-fast");
	f->started = true;
	lvs_notice("XDP fast path on %u interface%s%s", d->nif, d->nif > 1 ? "s" : "",
		   xsk ? " (with the AF_XDP driver's filter)" : "");
	*out = f;
	return 0;
fail:
	fast_free(f);
	return mode == LVSD_FAST_ON ? (err ? err : -EINVAL) : 0;
}

void lvsd_fast_stop(struct lvsd_fast *f)
{
	if (!f)
		return;
	/* frames go up to user space again before the thread stops */
	for (unsigned i = 0; i < f->nlink; i++)
		bpf_link__destroy(f->link[i]);
	f->nlink = 0;
	if (f->stands_in)
		f->d->io->xdp_replace(-1);
	f->stands_in = false;
	__atomic_store_n(&f->tap.active, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELAXED);
	if (f->started)
		pthread_join(f->th, NULL);
	lvs_conn_set_fast_tap(f->d->dir.ct, NULL);
	f->d->dir.fast = NULL;
	fast_free(f);
}

/* ---- status ---- */

#define U(x) ((unsigned long long)__atomic_load_n(&(x), __ATOMIC_RELAXED))

void lvsd_fast_print_status(const struct lvsd_fast *f, FILE *out)
{
	uint64_t x[LVS_FASTS__COUNT];

	if (!f)
		return;
	fprintf(out,
	        "XDP fast path: on, %u entries; %llu requests, %llu written, %llu rewritten, "
	        "%llu removed, %llu evicted, %llu next hop unresolved, %llu write errors, "
	        "%llu sweeps\n",
	        __atomic_load_n(&f->nrec, __ATOMIC_RELAXED), U(f->requests), U(f->written),
	        U(f->rewritten), U(f->removed), U(f->evicted), U(f->unresolved),
	        U(f->write_errors), U(f->sweeps));
	fprintf(out, "  forwarded by the program: %llu packets, %llu bytes (folded)\n",
	        U(f->fast_pkts), U(f->fast_bytes));
	if (!lvs_fastpath_stats(f->fp, x)) {
		fputs("  program:", out);
		for (unsigned s = 0; s < LVS_FASTS__COUNT; s++)
			fprintf(out, " %s %llu", lvs_fastpath_stat_name(s),
			        (unsigned long long)x[s]);
		fputc('\n', out);
	}
}

void lvsd_fast_prom(const struct lvsd_fast *f, FILE *out)
{
	uint64_t x[LVS_FASTS__COUNT];

	if (!f)
		return;
	fputs("# HELP lvsd_fastpath_entries Flow entries of the XDP fast path.\n"
	      "# TYPE lvsd_fastpath_entries gauge\n", out);
	fprintf(out, "lvsd_fastpath_entries %u\n", __atomic_load_n(&f->nrec, __ATOMIC_RELAXED));
	fputs("# HELP lvsd_fastpath_packets_total Packets forwarded by the XDP fast path, by "
	      "outcome.\n# TYPE lvsd_fastpath_packets_total counter\n", out);
	if (!lvs_fastpath_stats(f->fp, x))
		for (unsigned s = 0; s < LVS_FASTS__COUNT; s++)
			fprintf(out, "lvsd_fastpath_packets_total{outcome=\"%s\"} %llu\n",
			        lvs_fastpath_stat_name(s), (unsigned long long)x[s]);
}
