/*
 * conn_sync.c - the data path's sync reports (see sync_tap.h): the
 * kernel's ip_vs_sync_conn_needed() decision for a client-side packet,
 * and the per-worker single-producer rings that carry the reports to the
 * sync thread.
 *
 * The ring is the classic Lamport queue: the producer owns head, the
 * consumer owns tail, each reads the other's index with acquire and
 * publishes its own with release, so neither ever waits or locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "conn_priv.h"
#include "sync_tap.h"

/* ---- the ring ---- */

int lvs_sync_ring_init(struct lvs_sync_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	if (size < 2 || (size & (size - 1)))
		return -EINVAL;
	r->recs = calloc(size, sizeof(*r->recs));
	if (!r->recs)
		return -ENOMEM;
	r->mask = size - 1;
	return 0;
}

void lvs_sync_ring_free(struct lvs_sync_ring *r)
{
	free(r->recs);
	r->recs = NULL;
}

bool lvs_sync_ring_push(struct lvs_sync_ring *r, const struct lvs_sync_rec *rec)
{
	uint64_t h = r->head;
	uint64_t t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (h - t > r->mask) {
		__atomic_store_n(&r->drops, r->drops + 1, __ATOMIC_RELAXED);
		return false;
	}
	r->recs[h & r->mask] = *rec;
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

unsigned lvs_sync_ring_pop(struct lvs_sync_ring *r, struct lvs_sync_rec *out, unsigned max)
{
	uint64_t t = r->tail;
	uint64_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	unsigned n = 0;

	while (t + n < h && n < max) {
		out[n] = r->recs[(t + n) & r->mask];
		n++;
	}
	if (n)
		__atomic_store_n(&r->tail, t + n, __ATOMIC_RELEASE);
	return n;
}

uint64_t lvs_sync_ring_drops(const struct lvs_sync_ring *r)
{
	return __atomic_load_n(&r->drops, __ATOMIC_RELAXED);
}

int lvs_sync_rings_init(struct lvs_sync_ring *r, unsigned n, uint32_t size)
{
	int err;

	for (unsigned i = 0; i < n; i++) {
		if ((err = lvs_sync_ring_init(&r[i], size))) {
			lvs_sync_rings_free(r, i);
			return err;
		}
	}
	return 0;
}

void lvs_sync_rings_free(struct lvs_sync_ring *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		lvs_sync_ring_free(&r[i]);
}

int lvs_sync_tap_init(struct lvs_sync_tap *tap, unsigned nrings, uint32_t ring_size)
{
	int err;

	memset(tap, 0, sizeof(*tap));
	if (!nrings || nrings > LVS_MAX_WORKERS)
		return -EINVAL;
	tap->threshold = LVS_SYNC_THRESHOLD;
	tap->period = LVS_SYNC_PERIOD;
	if ((err = lvs_sync_rings_init(tap->ring, nrings, ring_size)))
		return err;
	tap->nrings = nrings;
	return 0;
}

void lvs_sync_tap_free(struct lvs_sync_tap *tap)
{
	lvs_sync_rings_free(tap->ring, tap->nrings);
	tap->nrings = 0;
}

/* ---- records ---- */

static uint32_t ticks_to_sec(uint32_t ticks)
{
	return (ticks + CONN_TICKS_PER_SEC / 2) / CONN_TICKS_PER_SEC;
}

/* The full timeout of a state, as the kernel's cp->timeout. */
static uint32_t state_timeout(const struct lvs_conn_table *t, uint8_t proto, uint8_t state)
{
	if (proto == IPPROTO_TCP)
		return ticks_to_sec(__atomic_load_n(&t->tcp_ticks[state % LVS_TCP_S_LAST],
						    __ATOMIC_RELAXED));
	return ticks_to_sec(__atomic_load_n(&t->udp_ticks, __ATOMIC_RELAXED));
}

void conn_sync_rec_fill(const struct lvs_conn_table *t, const struct lvs_conn *c, uint16_t fl,
			struct lvs_sync_rec *r)
{
	conn_entry_addrs(t, c, &r->caddr, &r->vaddr, &r->daddr);
	r->cport = c->cport;
	r->vport = c->vport;
	r->dport = c->dport;
	r->af = (c->bits & CONN_B_AF6) ? AF_INET6 : AF_INET;
	r->proto = c->proto;
	r->fwd = (uint8_t)((c->bits & CONN_B_FWD_MASK) >> CONN_B_FWD_SHIFT);
	r->flags = fl & CONN_F_PUBLIC;
	if (fl & CONN_F_NOOUTPUT)
		r->flags |= LVS_SYNC_REC_F_NOOUTPUT;
	if (c->bits & CONN_B_DAF6)
		r->flags |= LVS_SYNC_REC_F_DAF6;
	if (fl & LVS_CONN_F_TEMPLATE) {
		r->state = 0;
		r->timeout_s = c->control;
	} else {
		r->state = c->proto == IPPROTO_TCP ? __atomic_load_n(&c->state, __ATOMIC_RELAXED) : 0;
		r->timeout_s = state_timeout(t, c->proto, r->state);
	}
}

void lvs_sync_rec_from_info(const struct lvs_conn_table *t, const struct lvs_conn_info *ci,
			    struct lvs_sync_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->caddr = ci->p.caddr;
	r->vaddr = ci->p.vaddr;
	r->daddr = ci->p.daddr;
	r->cport = ci->p.cport;
	r->vport = ci->p.vport;
	r->dport = ci->p.dport;
	r->af = ci->p.af;
	r->proto = ci->p.proto;
	r->fwd = ci->p.fwd;
	r->flags = ci->p.flags & CONN_F_PUBLIC;
	/* the view has no NOOUTPUT: a DR/TUN entry's replies never pass */
	if (!(ci->p.flags & LVS_CONN_F_TEMPLATE) && (ci->p.fwd & 3) != LVS_FWD_MASQ)
		r->flags |= LVS_SYNC_REC_F_NOOUTPUT;
	if (ci->p.daf == AF_INET6)
		r->flags |= LVS_SYNC_REC_F_DAF6;
	if (ci->p.flags & LVS_CONN_F_TEMPLATE) {
		r->timeout_s = ci->p.timeout;
	} else {
		r->state = ci->p.proto == IPPROTO_TCP ? ci->state : 0;
		r->timeout_s = state_timeout(t, ci->p.proto, r->state);
	}
}

/* ---- the decision ---- */

#define SYNC_TCP_STATES                                                                            \
	((1u << LVS_TCP_S_ESTABLISHED) | (1u << LVS_TCP_S_FIN_WAIT) | (1u << LVS_TCP_S_CLOSE) |    \
	 (1u << LVS_TCP_S_CLOSE_WAIT) | (1u << LVS_TCP_S_TIME_WAIT))

/* Count the packet and say whether c is due (ip_vs_sync_conn_needed
 * without sync_refresh_period). */
static bool conn_sync_due(const struct lvs_sync_tap *tap, struct lvs_conn *c, uint16_t fl)
{
	uint8_t k = (uint8_t)(__atomic_load_n(&c->pad, __ATOMIC_RELAXED) + 1);

	if (k >= tap->period)
		k = 0;
	__atomic_store_n(&c->pad, k, __ATOMIC_RELAXED);
	if (c->proto == IPPROTO_TCP) {
		uint8_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);

		if (st >= LVS_TCP_S_LAST || !((1u << st) & SYNC_TCP_STATES))
			return false;
		if ((fl & CONN_F_SYNCST) && st != LVS_TCP_S_ESTABLISHED)
			return true;
	}
	return k == tap->threshold;
}

static void report(struct lvs_sync_tap *tap, const struct lvs_conn_table *t, unsigned worker,
		   const struct lvs_conn *c, uint16_t fl)
{
	struct lvs_sync_rec r;

	conn_sync_rec_fill(t, c, fl, &r);
	lvs_sync_ring_push(&tap->ring[worker], &r);
}

void lvs_sync_tmpl_pkt(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *tmpl)
{
	uint16_t fl;

	if (!tmpl || worker >= tap->nrings)
		return;
	fl = conn_flags_load(tmpl);
	if ((fl & (LVS_CONN_F_TEMPLATE | CONN_F_LIVE)) == (LVS_CONN_F_TEMPLATE | CONN_F_LIVE))
		report(tap, t, worker, tmpl, fl);
}

void lvs_sync_conn_pkt(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *c)
{
	uint16_t fl = conn_flags_load(c);

	if (LVS_UNLIKELY(worker >= tap->nrings || (fl & LVS_CONN_F_TEMPLATE)))
		return;
	if (!(fl & LVS_CONN_F_ONE_PACKET) && conn_sync_due(tap, c, fl)) {
		report(tap, t, worker, c, fl);
		if (fl & CONN_F_SYNCST) {
			/* the kernel's old_state = state, under the entry's lock
			 * as every flags change; only when a report went out */
			uint16_t s = conn_seq_lock(c);
			__atomic_store_n(&c->flags, (uint16_t)(c->flags & ~CONN_F_SYNCST),
					 __ATOMIC_RELAXED);
			conn_seq_unlock(c, s);
		}
	}
	/* its template too, each time (the kernel's walk to cp->control) */
	if (c->control)
		lvs_sync_tmpl_pkt(tap, t, worker, conn_at(t, c->control));
}

void lvs_sync_conn_report(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
			  struct lvs_conn *c)
{
	uint16_t fl = conn_flags_load(c);

	if (worker >= tap->nrings || (fl & (LVS_CONN_F_TEMPLATE | LVS_CONN_F_ONE_PACKET)) ||
	    !(fl & CONN_F_LIVE))
		return;
	report(tap, t, worker, c, fl);
	if (c->control)
		lvs_sync_tmpl_pkt(tap, t, worker, conn_at(t, c->control));
}
