/*
 * fast_tap.h - the data path's side of the XDP fast path (io/fastpath.h,
 * daemon/fastpathd.c): which connections the workers hand to it and how
 * the requests travel to the thread that keeps its flow map.
 *
 * A direction of a connection (the client's packets; a NAT server's
 * replies) may be forwarded by the XDP program once no packet of it needs
 * a decision: a TCP connection in ESTABLISHED or a UDP flow, not a
 * template nor a one-packet flow, forwarded (not a DR/TUN reply), to a
 * destination that is available and not failed, for an address this
 * director holds (lvs_director_fast_eligible).  SYN, FIN and RST always
 * come up to user space, so every state change is seen here.
 *
 * After a packet of connection c was forwarded by user space, the worker
 * compares the connection's eligibility with its LVS_CONN_FAST_* bit for
 * that direction; when they differ it flips the bit and appends a request
 * (the connection's identity, in the layout of a sync record) to its own
 * single-producer ring.  A connection freed with a bit set is reported the
 * same way by the worker that frees it.  A request only says "look at
 * this connection again": the consumer looks the connection up, decides
 * from what it finds then and makes the map agree, so requests may be
 * reordered, duplicated or stale without harm.  A full ring drops the
 * request, counts it and clears the bit again, so a later packet retries.
 *
 * Per packet: nothing when the bit agrees (the common case: once a
 * connection is on the fast path its packets no longer reach user space).
 */
#ifndef LVS_FAST_TAP_H
#define LVS_FAST_TAP_H

#include "conn.h"
#include "sync_tap.h"

/* lvs_sync_rec.flags of a fast path request, beside the sync ones */
#define LVS_FAST_REC_F_REPLY 0x2000 /* the reply direction */

struct lvs_fast_tap {
	int active;   /* requests are made (relaxed loads) */
	unsigned nrings;
	struct lvs_sync_ring ring[LVS_MAX_WORKERS];
};

/* nrings rings of ring_size records.  0 or -errno. */
int lvs_fast_tap_init(struct lvs_fast_tap *tap, unsigned nrings, uint32_t ring_size);
void lvs_fast_tap_free(struct lvs_fast_tap *tap);

/* Report freed entries with a fast bit to tap (NULL: stop). */
void lvs_conn_set_fast_tap(struct lvs_conn_table *t, struct lvs_fast_tap *tap);

/*
 * Data path: a packet of c in direction reply was forwarded by user space
 * (or, tx false, was not).  want: c is eligible in that direction now.
 * Requests a look when the bit disagrees.
 */
void lvs_fast_conn_pkt(struct lvs_fast_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *c, bool reply, bool want);

/* The request's direction. */
static inline bool lvs_fast_rec_reply(const struct lvs_sync_rec *r)
{
	return (r->flags & LVS_FAST_REC_F_REPLY) != 0;
}

#endif
