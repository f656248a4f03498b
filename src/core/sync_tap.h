/*
 * sync_tap.h - the data path's side of connection sync: which packets make
 * a master director report its connection, and the per-worker rings the
 * reports travel in to the sync thread.
 *
 * Kernel IPVS calls ip_vs_sync_conn() from ip_vs_in() (client-side packets
 * only) with the connection's input packet count, and
 * ip_vs_sync_conn_needed() decides (net/netfilter/ipvs/ip_vs_sync.c):
 *   - TCP only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT;
 *     a state change since the last report into any of these but
 *     ESTABLISHED is reported at once;
 *   - otherwise (ESTABLISHED, UDP and the other single-state protocols)
 *     when the packet count modulo sync_period (50) equals sync_threshold
 *     (3): the third packet, then every fiftieth;
 *   - a connection under a persistence template reports the template too,
 *     on every one of its packets (the kernel reduces the templates' rate
 *     only with sync_refresh_period, which lvsd does not implement);
 *   - one-packet connections are never reported, their template is.
 * The count lives in a spare byte of the entry, kept modulo sync_period
 * (updated with plain relaxed stores: two workers racing on one entry may
 * lose a count, which only moves the next report by a packet); "changed
 * since the last report" is one private flag of the entry.
 *
 * Per packet: no lock, no allocation, no syscall.  A report is a 64-byte
 * record appended to the worker's own single-producer ring; a full ring
 * drops the record and counts it.
 */
#ifndef LVS_SYNC_TAP_H
#define LVS_SYNC_TAP_H

#include "conn.h"

#define LVS_SYNC_THRESHOLD 3  /* kernel sync_threshold default */
#define LVS_SYNC_PERIOD    50 /* kernel sync_period default */

/* lvs_sync_rec.flags, beside the connection's LVS_CONN_F_* bits */
#define LVS_SYNC_REC_F_NOOUTPUT 0x8000 /* DR/TUN without a reply seen */
#define LVS_SYNC_REC_F_DAF6     0x4000 /* the destination is IPv6 */

/* One connection as reported: what a sync entry needs, one cache line. */
struct lvs_sync_rec {
	union lvs_addr caddr, vaddr, daddr;
	uint16_t cport, vport, dport;
	uint8_t af;
	uint8_t proto;     /* templates of fwmark services: 0, vaddr = fwmark */
	uint8_t state;     /* enum lvs_tcp_state; 0 for others and templates */
	uint8_t fwd;       /* enum lvs_fwd */
	uint16_t flags;    /* LVS_CONN_F_* | LVS_SYNC_REC_F_* */
	uint32_t timeout_s;/* the full timeout of the state, or the template's */
};
_Static_assert(sizeof(struct lvs_sync_rec) == 64, "a sync record is one cache line");

/* A single-producer, single-consumer ring of records. */
struct lvs_sync_ring {
	struct lvs_sync_rec *recs;
	uint32_t mask;
	uint64_t head __attribute__((aligned(64))); /* producer writes */
	uint64_t drops;                             /* producer writes, anyone reads */
	uint64_t tail __attribute__((aligned(64))); /* consumer writes */
};

/* size: a power of two.  0 or -ENOMEM / -EINVAL. */
int lvs_sync_ring_init(struct lvs_sync_ring *r, uint32_t size);
void lvs_sync_ring_free(struct lvs_sync_ring *r);
/* n rings of size records each (all or none).  0 or -errno. */
int lvs_sync_rings_init(struct lvs_sync_ring *r, unsigned n, uint32_t size);
void lvs_sync_rings_free(struct lvs_sync_ring *r, unsigned n);
/* Producer: append; false (and drops counted) when full. */
bool lvs_sync_ring_push(struct lvs_sync_ring *r, const struct lvs_sync_rec *rec);
/* Consumer: take up to max records in order; returns how many. */
unsigned lvs_sync_ring_pop(struct lvs_sync_ring *r, struct lvs_sync_rec *out, unsigned max);
uint64_t lvs_sync_ring_drops(const struct lvs_sync_ring *r);

/*
 * What the workers report to.  The daemon allocates one for the life of
 * the process and sets lvs_director.sync; `active` says whether a master
 * sync daemon runs (workers read it relaxed, once per packet of a known
 * connection).
 */
struct lvs_sync_tap {
	int active;
	uint8_t threshold, period; /* 0 < threshold < period */
	unsigned nrings;
	struct lvs_sync_ring ring[LVS_MAX_WORKERS];
};

/* nrings rings of ring_size records, kernel thresholds.  0 or -errno. */
int lvs_sync_tap_init(struct lvs_sync_tap *tap, unsigned nrings, uint32_t ring_size);
void lvs_sync_tap_free(struct lvs_sync_tap *tap);

/*
 * Data path: a client-side packet of connection c passed (c was found or
 * has just been created by it).  Reports c and its template to worker's
 * ring when the kernel would.  Cheap when nothing is due.
 */
void lvs_sync_conn_pkt(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *c);
/* Report c (and its template) now, whatever its packet count: its packets
 * were forwarded where the count could not see them (the XDP fast path). */
void lvs_sync_conn_report(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
			  struct lvs_conn *c);
/* Data path: a one-packet flow was scheduled under template tmpl. */
void lvs_sync_tmpl_pkt(struct lvs_sync_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *tmpl);

/* Fill a record from an entry's exported view (a table walk). */
void lvs_sync_rec_from_info(const struct lvs_conn_table *t, const struct lvs_conn_info *ci,
			    struct lvs_sync_rec *r);

#endif
