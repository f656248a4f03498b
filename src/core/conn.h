/*
 * conn.h - the connection table: every flow the director forwards, so that
 * every packet of a flow reaches the same real server.
 *
 * Behaviour follows kernel IPVS: IPVS's TCP state machine and per-state
 * timeouts (tcp_state_* below), UDP with one timeout, persistence templates
 * (entries with LVS_CONN_F_TEMPLATE keyed on the client's network, that
 * outlive their connections for the service's -p timeout), connection
 * accounting on the destination (lvs_dest_bind & co in model.h).
 *
 * Memory: preallocated to a fixed maximum at creation; when full, creating
 * a new entry fails (the caller counts LVS_DROP_CONN_TABLE_FULL) and existing
 * entries are untouched.  A connection is one 64-byte cache line; an IPv6
 * one (either side IPv6) also takes a slot of a separate IPv6 address pool
 * (lvs_conn_table_v6_bytes), which has its own maximum: when the pool is
 * exhausted new IPv6 connections fail the same way while IPv4 ones (and
 * every existing flow) go on.
 *
 * Concurrency: several workers share one table.  Lookups take no lock;
 * inserts and deletes contend only per hash bucket; an entry is reused only
 * after every worker has passed a quiescent point (lvs_conn_quiescent), so a
 * pointer returned by a lookup stays valid until the caller's next
 * quiescent point.  Each entry's timer lives on the wheel of the worker that
 * created it; another worker refreshing the timeout just stores a new expiry
 * time and the owner re-arms lazily.
 */
#ifndef LVS_CONN_H
#define LVS_CONN_H

#include "model.h"
#include "pe.h"
#include "pkt.h"

/* TCP states, numbered as the kernel's IP_VS_TCP_S_*. */
enum lvs_tcp_state {
	LVS_TCP_S_NONE = 0,
	LVS_TCP_S_ESTABLISHED,
	LVS_TCP_S_SYN_SENT,
	LVS_TCP_S_SYN_RECV,
	LVS_TCP_S_FIN_WAIT,
	LVS_TCP_S_TIME_WAIT,
	LVS_TCP_S_CLOSE,
	LVS_TCP_S_CLOSE_WAIT,
	LVS_TCP_S_LAST_ACK,
	LVS_TCP_S_LISTEN,
	LVS_TCP_S_SYNACK,
	LVS_TCP_S_LAST
};

/* Packet direction relative to the connection (kernel IP_VS_DIR_*). */
enum lvs_conn_dir {
	LVS_DIR_INPUT = 0,      /* client -> director */
	LVS_DIR_OUTPUT = 1,     /* real server -> director (NAT replies) */
	LVS_DIR_INPUT_ONLY = 2, /* client -> director, replies bypass us (DR/TUN) */
};

/* lvs_conn.flags */
#define LVS_CONN_F_TEMPLATE 0x01
#define LVS_CONN_F_INACTIVE 0x02 /* counted in inactconns */
#define LVS_CONN_F_NO_CPORT 0x04
#define LVS_CONN_F_ONE_PACKET 0x08
#define LVS_CONN_F_SYNCED 0x10   /* created from a sync message */
#define LVS_CONN_F_PE 0x20       /* a template with PE data (--pe sip) */

/* Default timeouts in seconds, indexed by enum lvs_tcp_state. */
extern const uint32_t lvs_tcp_default_timeouts[LVS_TCP_S_LAST];
#define LVS_UDP_DEFAULT_TIMEOUT 300
const char *lvs_tcp_state_name(int state);

/* Everything needed to create (or import) a connection. */
struct lvs_conn_param {
	uint8_t af;     /* of the client side (service) */
	uint8_t daf;    /* of the destination (differs only for tunnels) */
	uint8_t proto;  /* IPPROTO_TCP/UDP/...; templates: the service's, 0 for fwmark */
	uint8_t fwd;    /* enum lvs_fwd */
	uint16_t flags; /* LVS_CONN_F_* */
	uint16_t cport, vport, dport;
	union lvs_addr caddr, vaddr, daddr;
	uint32_t timeout; /* templates: persistence timeout, seconds */
	/* Templates of a service with a persistence engine: its PE data
	 * (the SIP Call-ID), 1..LVS_PE_DATA_MAX bytes, copied into the table
	 * by create; pe_len 0: none.  Ignored for connections. */
	uint8_t pe_len;
	const uint8_t *pe_data;
};

/* A decoded copy of an entry, for listings and sync export/import. */
struct lvs_conn_info {
	struct lvs_conn_param p;
	uint8_t state;           /* enum lvs_tcp_state, or 0 for UDP */
	uint32_t expires_ms;     /* time left */
	struct lvs_dest_state *dest;
	uint8_t fast;            /* LVS_CONN_FAST_*: directions on the XDP fast path */
	/* A template's PE data (p.pe_data is NULL here; import reads these),
	 * last so that filling a view need not clear it. */
	uint8_t pe_len;
	uint8_t pe_data[LVS_PE_DATA_MAX];
};

struct lvs_conn;         /* a 64-byte entry, layout private to conn.c */
struct lvs_conn_table;

/* A table for max_conns connections (templates included), any of which
 * may be IPv6 (the IPv6 pool has max_conns slots). */
struct lvs_conn_table *lvs_conn_table_new(uint32_t max_conns, uint32_t nworkers);
/* The same with at most max_v6 IPv6 connections at once (0: none; more
 * than max_conns is max_conns).  The pool is address space mapped as it is
 * used, so a large max_v6 costs memory only when that many IPv6
 * connections are alive at once. */
struct lvs_conn_table *lvs_conn_table_new_v6(uint32_t max_conns, uint32_t max_v6,
					     uint32_t nworkers);
void lvs_conn_table_free(struct lvs_conn_table *t);
uint32_t lvs_conn_table_max(const struct lvs_conn_table *t);
uint32_t lvs_conn_table_v6_max(const struct lvs_conn_table *t);
uint32_t lvs_conn_table_count(const struct lvs_conn_table *t); /* live entries */
/*
 * Memory, part by part: entry_bytes is what one connection takes (an IPv4
 * connection takes nothing else; 64), v6_bytes what an IPv6 connection
 * takes on top in the IPv6 pool, bucket_bytes the bucket heads of both
 * tables (a power of two >= max_conns buckets, 4 bytes per table each).
 * mem_bytes is the whole table as reserved: entries, the full IPv6 pool,
 * buckets and the per-worker wheels (pages are mapped on first use unless
 * prefaulted).
 */
size_t lvs_conn_table_entry_bytes(const struct lvs_conn_table *t);
size_t lvs_conn_table_v6_bytes(const struct lvs_conn_table *t);
size_t lvs_conn_table_bucket_bytes(const struct lvs_conn_table *t);
size_t lvs_conn_table_mem_bytes(const struct lvs_conn_table *t);

/* Map the table's memory now (entries and buckets; the IPv6 pool too if
 * ipv6) so the data path never takes a page fault on first use.
 * Control path, right after creation; costs the RSS of the whole table. */
int lvs_conn_table_prefault(struct lvs_conn_table *t, bool ipv6);

/* Override tcp ESTABLISHED / FIN_WAIT and udp timeouts (0 keeps). */
void lvs_conn_set_timeouts(struct lvs_conn_table *t, const struct lvs_timeouts *to);
void lvs_conn_get_timeouts(const struct lvs_conn_table *t, struct lvs_timeouts *to);

/* Data path lookups; NULL if none. */
struct lvs_conn *lvs_conn_lookup_in(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
				    const union lvs_addr *caddr, uint16_t cport,
				    const union lvs_addr *vaddr, uint16_t vport);
struct lvs_conn *lvs_conn_lookup_out(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
				     const union lvs_addr *daddr, uint16_t dport,
				     const union lvs_addr *caddr, uint16_t cport);
/* Persistence template for (client network, service): caddr already
 * masked, vaddr/vport as the service (fwmark services: vaddr = fwmark in
 * network order in ip4, vport 0, proto 0). */
struct lvs_conn *lvs_conn_tmpl_lookup(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
				      const union lvs_addr *caddr,
				      const union lvs_addr *vaddr, uint16_t vport);

/* The same for a template with PE data (the kernel's ct_match of the
 * service's engine): found only when its data is the same pe_len bytes.
 * pe_len 0 is lvs_conn_tmpl_lookup. */
struct lvs_conn *lvs_conn_tmpl_lookup_pe(struct lvs_conn_table *t, uint8_t af, uint8_t proto,
					 const union lvs_addr *caddr,
					 const union lvs_addr *vaddr, uint16_t vport,
					 const uint8_t *pe_data, uint8_t pe_len);

/*
 * Create and hash a connection (or template) owned by `worker`, bound to
 * ds (lvs_dest_bind).  `control`: the template this connection was created
 * under (NULL if none); it cannot expire while connections reference it.
 * The new entry starts in state NONE, inactive, with the NONE timeout for
 * TCP, the UDP timeout for UDP and p->timeout for templates.  Returns NULL
 * when the table is full.
 */
struct lvs_conn *lvs_conn_create(struct lvs_conn_table *t, unsigned worker,
				 const struct lvs_conn_param *p, struct lvs_dest_state *ds,
				 struct lvs_conn *control, lvs_time_t now);

/*
 * lvs_conn_create and then lvs_conn_update(dir, pi) for the packet that
 * starts the connection, in one step with the same result: the entry is
 * created in the state (and with the timeout) that packet gives it and is
 * bound to ds once, as active or not, instead of inactive then moved.
 * Templates (p->flags) are created as by lvs_conn_create.  Data path.
 */
struct lvs_conn *lvs_conn_create_pkt(struct lvs_conn_table *t, unsigned worker,
				     const struct lvs_conn_param *p, struct lvs_dest_state *ds,
				     struct lvs_conn *control, enum lvs_conn_dir dir,
				     const struct lvs_pkt_info *pi, lvs_time_t now);

/*
 * A packet of connection c passed in direction dir: run the protocol state
 * machine (TCP flags from pi), move the destination between active and
 * inactive accounting, and restart the timer with the new state's timeout.
 * Data path.
 */
void lvs_conn_update(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
		     enum lvs_conn_dir dir, const struct lvs_pkt_info *pi, lvs_time_t now);
/*
 * A packet of a known connection c (not a template), in one call: reply
 * false for a packet from the client, true for one from the real server.
 * *fwd gets the entry's forwarding method.  A reply on a connection that
 * is not NAT is left alone (replies bypass the director; the caller hands
 * the packet on).  Otherwise runs lvs_conn_update for direction
 * LVS_DIR_INPUT (NAT) / LVS_DIR_INPUT_ONLY (others) or LVS_DIR_OUTPUT and
 * fills what the transform needs: the destination's address and port for a
 * client packet, the virtual address and port for a reply.  Returns the
 * entry's destination state (may be NULL).  Data path.
 */
struct lvs_dest_state *lvs_conn_hit(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c,
				    bool reply, const struct lvs_pkt_info *pi, lvs_time_t now,
				    uint8_t *fwd, union lvs_addr *addr, uint16_t *port);
/* Restart a template's timer (it was used to pin a new connection). */
void lvs_conn_touch(struct lvs_conn_table *t, struct lvs_conn *c, lvs_time_t now);
/* Retire c: no lookup finds it any more (a new entry with the same key may
 * be created at once) and it is freed at the next timer run (e.g. its
 * destination became unusable, or its port is reused by a new SYN). */
void lvs_conn_expire_soon(struct lvs_conn_table *t, struct lvs_conn *c);

/* Run `worker`'s timer wheel up to now: unhash, unbind and free expired
 * entries (templates with live connections are re-armed).  Returns the
 * number freed. Data path, bounded work per tick. */
unsigned lvs_conn_expire_run(struct lvs_conn_table *t, unsigned worker, lvs_time_t now);
/* Worker passed a point where it holds no entry pointers.  Every worker id
 * below nworkers must call this regularly (idle ones too): freed entries
 * are reused only once all of them have.  A worker id belongs to one
 * thread at a time (create, import and expire_run use its private lists). */
void lvs_conn_quiescent(struct lvs_conn_table *t, unsigned worker);

/* Entry accessors (data path). */
uint8_t lvs_conn_af(const struct lvs_conn *c);
uint8_t lvs_conn_proto(const struct lvs_conn *c);
uint8_t lvs_conn_fwd(const struct lvs_conn *c);
uint8_t lvs_conn_state(const struct lvs_conn *c);
uint16_t lvs_conn_flags(const struct lvs_conn *c);
struct lvs_dest_state *lvs_conn_dest(const struct lvs_conn *c);
/* The destination side (daddr:dport) and the virtual side (vaddr:vport) of
 * c, for building the transform of a packet (data path). */
void lvs_conn_dest_addr(const struct lvs_conn_table *t, const struct lvs_conn *c,
			union lvs_addr *daddr, uint16_t *dport);
void lvs_conn_virt_addr(const struct lvs_conn_table *t, const struct lvs_conn *c,
			union lvs_addr *vaddr, uint16_t *vport);
/*
 * Burst lookups for the data path: the cache misses of n lookups overlap
 * (hash and prefetch every bucket, then every first entry, then compare),
 * several times faster than one lookup after the other on a table larger
 * than the caches.  Best with n <= LVS_CONN_BURST_MAX (more is done in
 * chunks).  Keys are the
 * packets' tuples as parsed: for lookup_in (saddr, sport) is the client
 * and (daddr, dport) the virtual service; for lookup_out (saddr, sport) is
 * the real server and (daddr, dport) the client.  res[i] is the entry or
 * NULL, exactly as the single lookups; returns the number found.
 */
#define LVS_CONN_BURST_MAX 64
struct lvs_conn_key {
	uint8_t af;
	uint8_t proto;
	uint16_t sport, dport;
	union lvs_addr saddr, daddr;
};
unsigned lvs_conn_lookup_in_burst(struct lvs_conn_table *t, const struct lvs_conn_key *k,
				  unsigned n, struct lvs_conn **res);
unsigned lvs_conn_lookup_out_burst(struct lvs_conn_table *t, const struct lvs_conn_key *k,
				   unsigned n, struct lvs_conn **res);
/*
 * The director's burst lookup, split in stages so the caller can put a
 * packet's worth of its own work between them and every cache miss of a
 * burst overlaps: start hashes a parsed packet and prefetches its bucket;
 * fetch, a few packets later, reads the bucket and prefetches the first
 * entry; check (optional), a few packets later again, compares that entry
 * and, when it is not the one, prefetches the next of the chain; finish
 * gives the result.  finish returns what lvs_conn_lookup_in(packet's
 * saddr, sport, daddr, dport) returns, and when that is NULL, sets *out to
 * what lvs_conn_lookup_out (same tuple) returns.  `replies`: do the same
 * for the reply (out) table from the start (the caller has seen NAT
 * replies or new flows lately; otherwise the out table is read only by
 * finish, on a miss).  Slot i of st holds one packet, each slot in stage
 * order; pi must stay as parsed until finish.  lvs_conn_lookup_unchanged
 * (between fetch and finish) tells whether slot i's buckets are still as
 * fetch read them: if not, an entry was inserted since and finish may
 * miss it, look up again.
 */
struct lvs_conn_burst {
	uint32_t b[LVS_CONN_BURST_MAX];  /* bucket */
	uint32_t ih[LVS_CONN_BURST_MAX]; /* first entries as read by fetch */
	uint32_t oh[LVS_CONN_BURST_MAX];
	uint32_t iw[LVS_CONN_BURST_MAX]; /* in chain: where the walk goes on */
	uint32_t ow[LVS_CONN_BURST_MAX]; /* out chain: the same */
	uint8_t hit[LVS_CONN_BURST_MAX]; /* what check found (private to conn.c) */
};
void lvs_conn_lookup_start(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
			   const struct lvs_pkt_info *pi, bool replies);
void lvs_conn_lookup_fetch(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
			   bool replies);
void lvs_conn_lookup_check(const struct lvs_conn_table *t, struct lvs_conn_burst *st, unsigned i,
			   const struct lvs_pkt_info *pi);
struct lvs_conn *lvs_conn_lookup_finish(const struct lvs_conn_table *t, struct lvs_conn_burst *st,
					unsigned i, const struct lvs_pkt_info *pi,
					struct lvs_conn **out);
bool lvs_conn_lookup_unchanged(const struct lvs_conn_table *t, const struct lvs_conn_burst *st,
			       unsigned i);
/* Warm the cache for a lookup coming a few packets later (burst loops). */
void lvs_conn_prefetch_in(const struct lvs_conn_table *t, uint8_t af, uint8_t proto,
			  const union lvs_addr *caddr, uint16_t cport,
			  const union lvs_addr *vaddr, uint16_t vport);
void lvs_conn_prefetch_out(const struct lvs_conn_table *t, uint8_t af, uint8_t proto,
			   const union lvs_addr *daddr, uint16_t dport,
			   const union lvs_addr *caddr, uint16_t cport);
/* State as ipvsadm -L -c prints it: TCP state names, "UDP" for UDP,
 * "NONE" for templates (kernel ip_vs_state_name). */
const char *lvs_conn_state_name(uint16_t flags, uint8_t proto, uint8_t state);
/* Replace the hash seed (a fixed default is used from creation, so tests
 * are deterministic).  Only while the table is empty: 0 or -EBUSY. */
int lvs_conn_set_hash_seed(struct lvs_conn_table *t, uint64_t seed);
/* Fill the full decoded view (addresses, ports, state, time left). */
void lvs_conn_get_info(const struct lvs_conn_table *t, const struct lvs_conn *c, lvs_time_t now,
		       struct lvs_conn_info *out);

/*
 * Visit every live entry (templates included) without stopping forwarding:
 * entries created or freed during the walk may or may not be seen.  cb
 * returns non-zero to stop.  Control path.
 */
void lvs_conn_walk(struct lvs_conn_table *t, lvs_time_t now,
		   int (*cb)(void *arg, const struct lvs_conn_info *ci), void *arg);

/*
 * The same in pieces: visit the entry slots from..from+slots-1 (slot 0 is
 * never used: from 0 is from the start) and return the slot to go on
 * from, or 0 when the walk reached the end (also when cb stopped it at
 * the last slot).  A paced walk (sync's table pull) calls it repeatedly.
 */
uint32_t lvs_conn_walk_from(struct lvs_conn_table *t, lvs_time_t now, uint32_t from,
			    uint32_t slots, int (*cb)(void *arg, const struct lvs_conn_info *ci),
			    void *arg);

/* Notified (on the expiring worker) for each entry freed, e.g. for sync. */
void lvs_conn_set_free_hook(struct lvs_conn_table *t,
			    void (*hook)(void *arg, const struct lvs_conn_info *ci), void *arg);

/*
 * The XDP fast path (fast_tap.h): which directions of c user space has
 * handed to it.  lvs_conn_fast_set sets (on) or clears the given bits and
 * returns the bits as they were before; any thread.
 */
#define LVS_CONN_FAST_IN  0x1 /* the client's packets */
#define LVS_CONN_FAST_OUT 0x2 /* a NAT server's replies */
uint8_t lvs_conn_fast(const struct lvs_conn *c);
uint8_t lvs_conn_fast_set(struct lvs_conn *c, uint8_t bits, bool on);

/* Create an entry from an exported view (connection sync backup side):
 * same as lvs_conn_create, but with the given state and time left; an
 * existing entry with the same key is updated instead. NULL when full. */
struct lvs_conn *lvs_conn_import(struct lvs_conn_table *t, unsigned worker,
				 const struct lvs_conn_info *ci, lvs_time_t now);

#endif
