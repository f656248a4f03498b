/*
 * holdq.c - the per-worker queue of frames waiting for their next hop's
 * MAC (see holdq.h), in the manner of the kernel neighbour layer's
 * unresolved queue (neigh_event_send: at most unres_qlen packets per
 * neighbour, the oldest dropped first; all flushed out once the entry
 * becomes valid).
 *
 * Entries are kept oldest first in a small array; every held frame has its
 * own heap copy (a rare, bounded slow path: the fast path never comes
 * here).  Deadlines are the time of holding plus a constant and entries
 * stay in holding order, so the first entry is always the next due.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "holdq.h"

/* Room the copy gets around the frame: the transforms' headroom
 * (encapsulation, ICMP errors) plus a VLAN tag, and some tailroom. */
#define HQ_HEADROOM (LVS_PKT_HEADROOM + 16)
#define HQ_TAILROOM 512

struct hq_ent {
	uint8_t *buf;
	uint32_t size;        /* bytes allocated */
	lvs_time_t deadline;  /* the final run is due */
	struct lvs_pkt p;     /* what the director runs */
	struct lvs_pkt saved; /* p as received, restored before each run */
	uint8_t kaf;          /* the address it is routed to */
	union lvs_addr key;
};

struct lvs_holdq {
	struct lvs_worker *w;
	lvs_holdq_tx_fn tx;
	void *tx_arg;
	uint64_t gen; /* neighbour generation of the last run */
	unsigned n;   /* entries, oldest first */
	uint32_t bytes;
	struct lvs_holdq_stats st;
	struct hq_ent e[LVS_HOLDQ_MAX];
};

struct lvs_holdq *lvs_holdq_new(struct lvs_worker *w, lvs_holdq_tx_fn tx, void *tx_arg)
{
	struct lvs_holdq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->w = w;
	q->tx = tx;
	q->tx_arg = tx_arg;
	return q;
}

void lvs_holdq_free(struct lvs_holdq *q)
{
	if (!q)
		return;
	for (unsigned i = 0; i < q->n; i++)
		free(q->e[i].buf);
	free(q);
}

unsigned lvs_holdq_len(const struct lvs_holdq *q)
{
	return q->n;
}

void lvs_holdq_get_stats(const struct lvs_holdq *q, struct lvs_holdq_stats *out)
{
	*out = q->st;
}

/*
 * The connection a director run charged p's packets and bytes to, as the
 * director classifies (client side first, then a NAT reply; an ICMP error
 * by the connection of the packet it quotes).  *out: charged as outgoing
 * (outpkts).  *kaf / *key: where the transform routed p (the server for
 * packets toward it, else p's destination).  NULL when no entry is found
 * (one-packet scheduling, or the entry is gone).
 */
static struct lvs_dest_state *hq_dest(struct lvs_worker *w, const struct lvs_pkt *p, bool *out,
                                      uint8_t *kaf, union lvs_addr *key)
{
	struct lvs_conn_table *ct = w->d->ct;
	const struct lvs_pkt_info *pi = &p->pi;
	struct lvs_dest_state *ds;
	struct lvs_pkt_info in;
	struct lvs_conn *c = NULL;
	uint16_t port;

	*out = false;
	*kaf = pi->af;
	*key = pi->daddr;
	if (pi->frag == LVS_FRAG_LATER)
		return NULL;
	if (pi->proto == IPPROTO_ICMP || pi->proto == IPPROTO_ICMPV6) {
		if (!pi->icmp_is_err || lvs_pkt_parse_icmp_inner(p, &in) != LVS_DROP_NONE)
			return NULL;
		c = lvs_conn_lookup_in(ct, in.af, in.proto, &in.daddr, in.dport, &in.saddr,
		                       in.sport);
		if (!c) {
			c = lvs_conn_lookup_out(ct, in.af, in.proto, &in.daddr, in.dport, &in.saddr,
			                        in.sport);
			*out = true;
		}
	} else if (pi->proto == IPPROTO_TCP || pi->proto == IPPROTO_UDP ||
	           pi->proto == IPPROTO_SCTP) {
		c = lvs_conn_lookup_in(ct, pi->af, pi->proto, &pi->saddr, pi->sport, &pi->daddr,
		                       pi->dport);
		if (!c) {
			c = lvs_conn_lookup_out(ct, pi->af, pi->proto, &pi->saddr, pi->sport,
			                        &pi->daddr, pi->dport);
			*out = true;
		}
	}
	if (!c)
		return NULL;
	ds = lvs_conn_dest(c);
	if (!*out) {
		lvs_conn_dest_addr(ct, c, key, &port);
		if (ds)
			*kaf = ds->af;
	}
	return ds;
}

/* The run that held p counted it as dropped; it is not, yet. */
static void hq_undrop(struct lvs_worker *w)
{
	w->dropped--;
	w->drops.n[LVS_DROP_NO_NEIGH]--;
}

/*
 * Before another run of held frame p: take back what that run will count
 * again for p's arrival (the worker's rx, the server's and service's
 * packets and bytes), which the first run counted already.  Before the
 * run, not after: a counter zeroed (lvsadm -Z) in between then shows one
 * packet too many, never a wrap below zero.  The counters are this
 * worker's own: plain arithmetic is race free.
 */
static void hq_unarrive(struct lvs_worker *w, const struct lvs_pkt *p)
{
	struct lvs_dest_state *ds;
	union lvs_addr key;
	uint64_t bytes = p->pi.l3_len;
	uint8_t kaf;
	bool out;

	w->rx--;
	ds = hq_dest(w, p, &out, &kaf, &key);
	if (!ds)
		return;
	if (out) {
		ds->stats[w->id].outpkts--;
		ds->stats[w->id].outbytes -= bytes;
		ds->svc->stats[w->id].outpkts--;
		ds->svc->stats[w->id].outbytes -= bytes;
	} else {
		ds->stats[w->id].inpkts--;
		ds->stats[w->id].inbytes -= bytes;
		ds->svc->stats[w->id].inpkts--;
		ds->svc->stats[w->id].inbytes -= bytes;
	}
}

static void hq_remove(struct lvs_holdq *q, unsigned i)
{
	free(q->e[i].buf);
	q->bytes -= q->e[i].size;
	memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof(q->e[0]));
	q->n--;
}

/* Entry i's last run: whatever the director decides stands. */
static void hq_final(struct lvs_holdq *q, unsigned i, lvs_time_t now)
{
	struct hq_ent *e = &q->e[i];
	struct lvs_pkt *p = &e->p;
	enum lvs_drop why;

	*p = e->saved;
	hq_unarrive(q->w, p);
	if (lvs_director_process(q->w, p, now, &why) == LVS_V_TX) {
		q->st.sent++;
		q->tx(q->tx_arg, &p, 1);
	}
	hq_remove(q, i);
}

bool lvs_holdq_add(struct lvs_holdq *q, const struct lvs_pkt *p, lvs_time_t now)
{
	uint32_t tail = p->tailroom < HQ_TAILROOM ? p->tailroom : HQ_TAILROOM;
	uint32_t size = HQ_HEADROOM + p->len + tail;
	unsigned same = 0;
	struct hq_ent *e;
	union lvs_addr key;
	uint8_t kaf, *buf;
	bool out;

	buf = size <= LVS_HOLDQ_MAX_BYTES ? malloc(size) : NULL;
	if (!buf) {
		q->st.nomem++;
		return false;
	}
	hq_dest(q->w, p, &out, &kaf, &key);
	/* unres_qlen: the oldest of this next hop makes room */
	for (unsigned i = 0; i < q->n; i++)
		same += q->e[i].kaf == kaf && lvs_addr_eq(&q->e[i].key, &key);
	for (unsigned i = 0; same >= LVS_HOLDQ_PER_HOP && i < q->n;) {
		if (q->e[i].kaf == kaf && lvs_addr_eq(&q->e[i].key, &key)) {
			q->st.overflow++;
			hq_final(q, i, now);
			same--;
		} else {
			i++;
		}
	}
	while (q->n && (q->n == LVS_HOLDQ_MAX || q->bytes + size > LVS_HOLDQ_MAX_BYTES)) {
		q->st.overflow++;
		hq_final(q, 0, now);
	}
	hq_undrop(q->w);
	e = &q->e[q->n++];
	e->buf = buf;
	e->size = size;
	e->deadline = now + LVS_HOLDQ_TIMEOUT_NS;
	e->kaf = kaf;
	e->key = key;
	e->p = *p;
	e->p.data = buf + HQ_HEADROOM;
	e->p.headroom = HQ_HEADROOM;
	e->p.tailroom = tail;
	memcpy(e->p.data, p->data, p->len);
	e->saved = e->p;
	q->bytes += size;
	q->st.held++;
	return true;
}

void lvs_holdq_run(struct lvs_holdq *q, uint64_t neigh_gen, lvs_time_t now)
{
	struct lvs_pkt *pp[LVS_HOLDQ_MAX], *tx[LVS_HOLDQ_MAX];
	enum lvs_verdict v[LVS_HOLDQ_MAX];
	enum lvs_drop why[LVS_HOLDQ_MAX];
	bool keep[LVS_HOLDQ_MAX];
	uint8_t idx[LVS_HOLDQ_MAX];
	bool changed = neigh_gen != q->gen;
	unsigned m = 0, ntx = 0, j = 0;

	q->gen = neigh_gen;
	if (!q->n || (!changed && now < q->e[0].deadline))
		return;
	for (unsigned i = 0; i < q->n; i++) {
		struct hq_ent *e = &q->e[i];

		keep[i] = true;
		if (!changed && now < e->deadline)
			continue;
		e->p = e->saved;
		hq_unarrive(q->w, &e->p);
		pp[m] = &e->p;
		idx[m++] = (uint8_t)i;
	}
	/* in holding order, so a flow's frames keep theirs */
	lvs_director_process_burst(q->w, pp, m, now, v, why);
	for (unsigned k = 0; k < m; k++) {
		struct hq_ent *e = &q->e[idx[k]];
		bool final = now >= e->deadline;

		if (!final && v[k] == LVS_V_DROP && why[k] == LVS_DROP_NO_NEIGH) {
			/* still unresolved: not the decisive run either */
			hq_undrop(q->w);
			continue;
		}
		keep[idx[k]] = false;
		q->st.expired += final;
		if (v[k] == LVS_V_TX) {
			q->st.sent++;
			tx[ntx++] = pp[k];
		}
		/* LVS_V_PASS: the host had its copy when the frame came in */
	}
	if (ntx)
		q->tx(q->tx_arg, tx, ntx);
	for (unsigned i = 0; i < q->n; i++) {
		if (keep[i]) {
			if (j != i)
				q->e[j] = q->e[i];
			j++;
		} else {
			free(q->e[i].buf);
			q->bytes -= q->e[i].size;
		}
	}
	q->n = j;
}

void lvs_holdq_drop_all(struct lvs_holdq *q)
{
	for (unsigned i = 0; i < q->n; i++) {
		q->w->dropped++;
		q->w->drops.n[LVS_DROP_NO_NEIGH]++;
		free(q->e[i].buf);
	}
	q->n = 0;
	q->bytes = 0;
}
