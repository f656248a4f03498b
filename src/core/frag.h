/*
 * frag.h - IP fragments through the director: a per-worker table of the
 * datagrams in flight, so that every fragment goes where its first went,
 * and the splitting of IPv4 datagrams that do not fit the next hop's MTU.
 *
 * Kernel IPVS sits behind nf_defrag: it sees whole datagrams, and what it
 * forwards is fragmented again to the MTU on the way out.  lvsd tracks
 * instead of reassembling (RFC 791 / RFC 8200 4.5 define the fields; the
 * checks follow the kernel's inet_frag_queue_insert and RFC 5722 / 1858):
 *
 *  - The first fragment (offset 0) carries the L4 header: it is classified
 *    and forwarded like any packet, and its ports are recorded in the
 *    datagram's context, keyed by (family, source, destination, protocol,
 *    identification).  Later fragments take the ports from the context and
 *    follow the same connection: same server, same rewrite.  NAT needs no
 *    reassembly: the L4 checksum covers the whole datagram, and all it
 *    changes (pseudo-header address, port) is in the first fragment, whose
 *    checksum the incremental update fixes; later fragments only get the
 *    IP header's address (and the IPv4 header checksum).
 *  - A later fragment that comes before its first and is addressed to a
 *    virtual service (or comes from a NAT server) is copied into one of the
 *    worker's preallocated slots and held until the first comes; then it
 *    is run through the director again (lvs_director_frag_run).
 *  - Byte ranges received are kept per datagram, merged: a fragment inside
 *    what was received is a duplicate (dropped, the datagram goes on); one
 *    that partly overlaps it, a last fragment that disagrees with the
 *    known end, or data beyond it make the datagram bad: it and every
 *    later fragment of it are dropped until its context times out (the
 *    kernel's IPFRAG_DUP / IPFRAG_OVERLAP for IPv4 and IPv6 alike; RFC
 *    5722 for IPv6).  A TCP fragment at offset 8 is dropped (RFC 1858);
 *    a first fragment too short for its L4 header never gets here (the
 *    parser drops it).
 *  - A context lives until its datagram is complete or its timeout (the
 *    kernel's ipfrag_time, 30 s; IPv6 60 s) from its first fragment.  A
 *    full table takes no new datagram (the kernel's high_thresh): its
 *    fragment is dropped and counted.
 *
 * Cost: an unfragmented packet pays nothing here.  A fragment pays one
 * hash lookup in a per-worker table (no lock, no atomic); a held one a
 * copy of the frame.  Memory is allocated once per worker
 * (lvs_frag_new): LVS_FRAG_CTX_MAX contexts and LVS_FRAG_SLOTS frame
 * slots.
 *
 * The table is per worker: AF_PACKET's fanout hash (and NIC RSS) hashes
 * fragments on their addresses only, so the fragments of one datagram
 * reach one worker.
 */
#ifndef LVS_FRAG_H
#define LVS_FRAG_H

#include "pkt.h"

#define LVS_FRAG_CTX_MAX    4096 /* datagrams tracked per worker */
#define LVS_FRAG_RANGES     8    /* disjoint byte ranges per datagram */
#define LVS_FRAG_SLOTS      64   /* frames held or made per worker */
#define LVS_FRAG_SLOT_FRAME (9216 + 18) /* largest frame a slot holds */
#define LVS_FRAG_TIMEOUT4_NS (30 * LVS_NS_PER_SEC) /* ipfrag_time */
#define LVS_FRAG_TIMEOUT6_NS (60 * LVS_NS_PER_SEC) /* IPV6_FRAG_TIMEOUT */

struct lvs_frag_stats {
	uint64_t datagrams; /* contexts created */
	uint64_t completed; /* every byte seen, context freed */
	uint64_t expired;   /* contexts timed out incomplete */
	uint64_t held;      /* later fragments held for their first */
	uint64_t released;  /* held fragments run again */
	uint64_t split;     /* datagrams split to the MTU */
	uint64_t pieces;    /* fragments made by splitting */
};

struct lvs_frag_table;

/* A table with its slots, all memory allocated here; NULL without memory.
 * Frames it drops on its own (held ones whose datagram went bad or timed
 * out) are counted in *drops and *dropped (the worker's).  Control path. */
struct lvs_frag_table *lvs_frag_new(struct lvs_drop_stats *drops, uint64_t *dropped);
void lvs_frag_free(struct lvs_frag_table *ft);

enum lvs_frag_res {
	LVS_FRAG_GO = 0, /* forward it: a later fragment has its ports in pi */
	LVS_FRAG_DROP,   /* *why says which reason */
	LVS_FRAG_NEW,    /* a later fragment of a datagram not seen yet:
			  * the caller decides (lvs_frag_hold, or not ours) */
	LVS_FRAG_HELD,   /* copied into a slot; the frame may be reused */
};

/*
 * A parsed fragment (p->pi.frag != LVS_FRAG_NONE) of TCP, UDP or SCTP.
 * Records its range and, for a first fragment, its ports (releasing the
 * fragments held for it); gives a later one the ports of its first, or
 * holds it when its first has not come yet but its datagram is known.
 * Pieces the table made itself (LVS_PKT_F_FRAG_OWN) get their ports and
 * GO.  Data path: no allocation, no lock.
 */
enum lvs_frag_res lvs_frag_in(struct lvs_frag_table *ft, struct lvs_pkt *p, lvs_time_t now,
			      enum lvs_drop *why);

/* After LVS_FRAG_NEW, for a fragment that is the director's: start its
 * datagram and hold it.  LVS_FRAG_HELD or LVS_FRAG_DROP. */
enum lvs_frag_res lvs_frag_hold(struct lvs_frag_table *ft, struct lvs_pkt *p, lvs_time_t now,
				enum lvs_drop *why);

/*
 * Split the IPv4 datagram (or fragment) in p, which has no DF, into
 * fragments of at most p->frag_mtu bytes of IP (RFC 791 3.2): p keeps the
 * first, reparsed; the others are made in slots, marked
 * LVS_PKT_F_FRAG_OWN with p's ports, ready for lvs_frag_take.  A
 * checksum-partial datagram is completed first.  0, or -ENOSPC (not
 * enough slots), -EINVAL (not splittable: IPv6, DF, GSO, MTU too small):
 * p is then unchanged.
 */
int lvs_frag_split(struct lvs_frag_table *ft, struct lvs_pkt *p);

/* Frames ready to run through the director (held fragments whose first
 * came, pieces of a split), at most max; each stays valid until
 * lvs_frag_put_all.  Data path. */
unsigned lvs_frag_take(struct lvs_frag_table *ft, struct lvs_pkt **out, unsigned max);
/* Give back every slot lvs_frag_take handed out. */
void lvs_frag_put_all(struct lvs_frag_table *ft);

/* Time out contexts due by now; every frame they still hold is dropped
 * and counted (LVS_DROP_FRAG_TIMEOUT).  Returns the contexts expired.
 * Call with the worker's timers. */
unsigned lvs_frag_expire(struct lvs_frag_table *ft, lvs_time_t now);

unsigned lvs_frag_count(const struct lvs_frag_table *ft);      /* contexts in use */
unsigned lvs_frag_slots_used(const struct lvs_frag_table *ft); /* slots not free */
void lvs_frag_get_stats(const struct lvs_frag_table *ft, struct lvs_frag_stats *out);

#endif
