/*
 * director.h - the data path pipeline of one forwarding worker:
 *
 *   parse -> classify -> connection lookup --hit--> state/timer/stats -> transform
 *                             |
 *                             +--miss, new flow to a service--> persistence
 *                                 template -> scheduler -> new connection -> transform
 *
 * Pure: the frame is rewritten in place and the verdict says what to do with
 * it; the I/O driver (or lvs-pcap) does the sending.  One struct lvs_worker
 * per forwarding thread; all workers share one director (model snapshot,
 * connection table, environment).
 */
#ifndef LVS_DIRECTOR_H
#define LVS_DIRECTOR_H

#include "conn.h"
#include "fast_tap.h"
#include "frag.h"
#include "model.h"
#include "standby.h"
#include "sync_tap.h"
#include "xmit.h"

struct lvs_director {
	struct lvs_model *model;   /* read only through lvs_model_snapshot() */
	struct lvs_conn_table *ct;
	struct lvs_xmit_env env;
	uint64_t timeouts_gen;     /* snapshot generation whose timeouts ct has */
	/* VRRP's addresses and whether they are held (standby.h); NULL: none.
	 * Set with lvs_director_set_standby. */
	struct lvs_standby *standby;
	struct lvs_sync_tap *sync; /* connection sync reports; NULL: none */
	struct lvs_fast_tap *fast; /* XDP fast path requests (fast_tap.h); NULL: none */
	/* Firewall-marked packets come (again, marked) through a queue: the
	 * unmarked copies of their connections' packets are not forwarded. */
	bool fwmark_queue;
};

/*
 * Publish s (NULL: no VRRP) as the set of VRRP-managed addresses: traffic
 * for one that is not held is dropped (LVS_DROP_VIP_STANDBY), client side
 * and NAT replies alike.  Returns the previous set, for the caller to free
 * once no worker can hold it (an RCU grace period).  Control path.
 */
struct lvs_standby *lvs_director_set_standby(struct lvs_director *d, struct lvs_standby *s);

/*
 * May the XDP fast path forward direction reply of c (fast_tap.h)?  TCP in
 * ESTABLISHED or UDP, not a template or one-packet flow, NAT for replies,
 * NAT / DR / TUN otherwise, a destination available and not failed, an
 * address held by this director.  Any thread holding c.
 */
bool lvs_director_fast_eligible(const struct lvs_director *d, const struct lvs_conn_table *t,
				const struct lvs_conn *c, bool reply);

struct lvs_worker {
	struct lvs_director *d;
	unsigned id;               /* < LVS_MAX_WORKERS */
	struct lvs_drop_stats drops;
	uint64_t rx, tx, pass, dropped;
	uint64_t conns_created;
	uint64_t udp_moved;        /* UDP flows moved off a failed or removed server */
	/* Fragments (frag.h), set up by the owner with lvs_frag_new(&drops,
	 * &dropped); NULL: fragments after the first are dropped
	 * (fragment_without_connection) and none are made. */
	struct lvs_frag_table *frag;
	/* Internal to the director: packets of the last burst that needed the
	 * reply table (NAT replies, new flows); when many did, the next burst
	 * prefetches it early. */
	uint32_t burst_hint;
};

/*
 * Process one received frame.  Returns LVS_V_TX (p holds the frame to send
 * on p->ifindex), LVS_V_PASS (not ours: hand to the host stack) or
 * LVS_V_DROP (counted in w->drops under *why).  Data path: no locks but the
 * scheduler's on new connections, no allocation, no syscalls.
 */
enum lvs_verdict lvs_director_process(struct lvs_worker *w, struct lvs_pkt *p, lvs_time_t now,
				      enum lvs_drop *why);

/*
 * The same for a burst of frames, several times faster: the frames are
 * parsed and their connection lookups started first, in stages, so the
 * cache misses of the burst overlap, then every frame is processed in
 * order.  Every verdict, drop reason, output frame and counter is the one
 * lvs_director_process gives for the same frames one after the other
 * (tests/unit/test_director.c).  verdict[i] / why[i] as for
 * lvs_director_process.  Any n; work is done in chunks of
 * LVS_DIRECTOR_BURST.
 */
#define LVS_DIRECTOR_BURST 32
void lvs_director_process_burst(struct lvs_worker *w, struct lvs_pkt **pkts, unsigned n,
				lvs_time_t now, enum lvs_verdict *verdict, enum lvs_drop *why);

/*
 * Frames the fragment table made ready (fragments held for their first,
 * the pieces of a datagram split to the MTU): runs at most max of them
 * through the director and puts those to send (LVS_V_TX) in out, *ntx of
 * them; they stay valid until the next call.  Returns how many were run:
 * call after each burst until it returns 0.  Data path.
 */
unsigned lvs_director_frag_run(struct lvs_worker *w, lvs_time_t now, struct lvs_pkt **out,
			       unsigned max, unsigned *ntx);

/* Timers: expire connections due by now.  Call at least every ~100 ms. */
void lvs_worker_tick(struct lvs_worker *w, lvs_time_t now);

#endif
