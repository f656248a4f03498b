/*
 * holdq.h - frames waiting for their next hop's MAC address, one queue per
 * forwarding worker.
 *
 * Kernel IPVS hands what it forwards to the neighbour layer, which keeps
 * a packet for an unresolved neighbour until ARP / neighbour discovery
 * answers (unres_qlen: 3 packets per neighbour by default, the oldest
 * dropped to make room for a newer one) and drops them when resolution
 * fails.  So the first packet toward a real server the director has not
 * talked to yet is delayed, not lost.
 *
 * lvsd's transforms return LVS_V_DROP with LVS_DROP_NO_NEIGH instead, the
 * frame exactly as received (routing is their first step, before anything
 * is rewritten), and netstate asks the kernel to resolve the next hop.
 * The worker gives such a frame to lvs_holdq_add, which keeps a copy.
 * lvs_holdq_run runs held frames through the director again when the
 * neighbour table gained a usable entry (lvs_netstate_neigh_gen changed),
 * and one last time when a frame has waited LVS_HOLDQ_TIMEOUT_NS: what
 * that run decides is final (a drop is then counted as
 * next_hop_unresolved, as without the queue).  The first run created the
 * frame's connection entry, so a retry finds it and goes to the same
 * server.
 *
 * Bounds: LVS_HOLDQ_MAX frames and LVS_HOLDQ_MAX_BYTES per queue, and
 * LVS_HOLDQ_PER_HOP frames per address the frames are routed to (the real
 * server, or the client for a NAT reply; not a gateway in between, which
 * lvsd's routes do not tell).  A frame that does not fit pushes the oldest
 * one out (of its address, else of the queue), which has its final run at
 * once.
 *
 * Counting: a frame is counted once for its arrival (the worker's rx, the
 * service's and server's packets and bytes: the first run's count, as the
 * kernel counts a packet before handing it to the neighbour layer) and
 * once for its fate (sent, or dropped by the decisive run); every other
 * run's counting is taken back.  Held frames are counted in struct
 * lvs_holdq_stats.  Not taken back: datagrams of a one-packet scheduling
 * service (-o), which have no connection entry to find the server by; a
 * retry schedules them anew and counts them again.
 *
 * Threads: a queue belongs to one worker thread and is called only from
 * it, on its RCU read side (connection lookups, the director).
 */
#ifndef LVS_HOLDQ_H
#define LVS_HOLDQ_H

#include "director.h"

#define LVS_HOLDQ_MAX        64
#define LVS_HOLDQ_MAX_BYTES  (1u << 20)
#define LVS_HOLDQ_PER_HOP    3
#define LVS_HOLDQ_TIMEOUT_NS (1 * LVS_NS_PER_SEC)
/* How often a worker holding frames should call lvs_holdq_run when idle. */
#define LVS_HOLDQ_POLL_MS 10

struct lvs_holdq_stats {
	uint64_t held;     /* frames put on hold */
	uint64_t sent;     /* held frames forwarded by a later run */
	uint64_t expired;  /* final runs after LVS_HOLDQ_TIMEOUT_NS */
	uint64_t overflow; /* final runs to make room for a newer frame */
	uint64_t nomem;    /* frames not held: no memory (dropped) */
};

/* Sends frames a later run forwarded (each on its p->ifindex); they must
 * be copied or sent before it returns. */
typedef void (*lvs_holdq_tx_fn)(void *arg, struct lvs_pkt *const *pkts, unsigned n);

struct lvs_holdq;

/* A queue for worker w; NULL without memory. */
struct lvs_holdq *lvs_holdq_new(struct lvs_worker *w, lvs_holdq_tx_fn tx, void *tx_arg);
/* Free the queue; held frames are lost uncounted (lvs_holdq_drop_all first). */
void lvs_holdq_free(struct lvs_holdq *q);

/*
 * The director's run at `now` just returned LVS_V_DROP / LVS_DROP_NO_NEIGH
 * for p (so p is the frame as received): keep a copy and take back that
 * run's drop count.  Returns false when p was not held (no memory: the
 * drop stands as counted).  May first give the oldest held frames their
 * final run (tx callback included) to make room.
 */
bool lvs_holdq_add(struct lvs_holdq *q, const struct lvs_pkt *p, lvs_time_t now);

/*
 * Call on every loop of the worker, before receiving, with the neighbour
 * generation read then: when it changed since the last call, every held
 * frame is run through the director again; a frame whose time is up has
 * its final run.  Cheap when nothing is due (no syscall).
 */
void lvs_holdq_run(struct lvs_holdq *q, uint64_t neigh_gen, lvs_time_t now);

/* Drop every held frame, counted as next_hop_unresolved (worker stops). */
void lvs_holdq_drop_all(struct lvs_holdq *q);

unsigned lvs_holdq_len(const struct lvs_holdq *q);
void lvs_holdq_get_stats(const struct lvs_holdq *q, struct lvs_holdq_stats *out);

#endif
