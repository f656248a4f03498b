/*
 * conn_priv.h - private layout of the connection table, shared by conn.c
 * (table, memory, creation, updates, release), conn_timer.c (per-worker timer
 * wheels, expiry), conn_lookup.c (hash chains and lookups) and
 * conn_proto.c (TCP state tables), conn_fast.c (the XDP fast path's
 * bits and requests) and conn_sync.c (the sync reports of
 * the data path).  Nothing outside those files may include it.
 *
 * Memory model, in short:
 *   - entries live in one preallocated array and are named by 32-bit
 *     indices; index 0 is a never-used sentinel so that 0 means "none" and
 *     freshly calloc'ed (untouched, lazily mapped) memory is a valid empty
 *     state for bucket heads, wheel slots and links;
 *   - hash chains are RCU-style singly linked lists: an insert pushes at
 *     the head with one compare-and-swap, an unlink holds the bucket's lock
 *     bit (bit 31 of the head word, so the lock costs no extra cache line)
 *     and publishes with release stores; readers walk without any lock and
 *     ignore the bit.  A removed entry keeps its next link and is reused
 *     only after every worker passed a quiescent point (epoch scheme), so a
 *     reader inside a removed entry can always finish its walk;
 *   - IPv6 addresses live in a separate pool of 48-byte slots, taken only
 *     by IPv6 (or IPv6-destination) entries and named from the entry; a
 *     released slot goes through the same epoch limbo as its entry;
 *   - each entry has a 16-bit sequence word: odd while a writer holds it
 *     (creation, TCP state transition, free), which both serialises the
 *     rare state changes between workers and lets the listing skip torn
 *     copies;
 *   - the timer lives on the owner worker's wheel; only the owner links
 *     and unlinks it.  Other workers store a new expiry and, when that
 *     makes it earlier (a FIN or RST seen on another worker), push the entry
 *     on the owner's lock-free "kick" stack.
 */
#ifndef LVS_CONN_PRIV_H
#define LVS_CONN_PRIV_H

#include "conn.h"
#include "pe.h"
#include "sync_tap.h"

/* Time in the table: ticks of 1/256 s, kept modulo 2^32 in entries
 * (194 days) and compared by signed difference. */
#define CONN_TICK_NS 3906250ull
#define CONN_TICKS_PER_SEC 256u
/* The wheel: slots of 16 ticks (1/16 s), 4096 slots (256 s) per worker;
 * later expiries take several rounds (re-examined once per round). */
#define CONN_SLOT_SHIFT 4
#define CONN_WHEEL_BITS 12
#define CONN_WHEEL_SLOTS (1u << CONN_WHEEL_BITS)
#define CONN_WHEEL_MASK (CONN_WHEEL_SLOTS - 1)
/* Longest timeout we store (48 days), so signed differences never wrap. */
#define CONN_MAX_TIMEOUT_TICKS (1u << 30)
/* Entries examined (expired, re-armed or moved) per lvs_conn_expire_run. */
#define CONN_EXPIRE_BUDGET 4096u

#define CONN_FREE_BATCH 64u
#define CONN_LIMBO_RING 64u

/* lvs_conn.flags bits private to the table (public ones are 0x00ff). */
#define CONN_F_PUBLIC 0x00ffu
#define CONN_F_LIVE 0x8000u     /* hashed and accounted */
#define CONN_F_NOOUTPUT 0x4000u /* DR/TUN: no reply seen, use INPUT_ONLY */
#define CONN_F_EXT 0x2000u      /* full addresses in the ext array */
#define CONN_F_DYING 0x1000u    /* lvs_conn_expire_soon: do not extend */
#define CONN_F_EST 0x0800u      /* TCP: reached ESTABLISHED (handshake counted) */
#define CONN_F_HSFAIL 0x0400u   /* TCP: its handshake counted as failed */
#define CONN_F_ANSWERED 0x0200u /* TCP, NAT: the server sent something */
#define CONN_F_SYNCST 0x0100u   /* state changed since sync last reported it */

/* lvs_conn.bits */
#define CONN_B_AF6 0x01
#define CONN_B_DAF6 0x02
#define CONN_B_FWD_SHIFT 2
#define CONN_B_FWD_MASK 0x0c
#define CONN_B_FAST_SHIFT 4     /* LVS_CONN_FAST_* << this (atomic read-modify-write) */
#define CONN_B_FAST_MASK 0x30

/* lvs_conn.kicked */
#define CONN_KICK_NONE 0
#define CONN_KICK_QUEUED 1
#define CONN_KICK_DEAD 2

/* Template n_control: set when the template is being freed, so a
 * concurrent creator cannot attach a connection to it. */
#define CONN_NCTL_DEAD 0x80000000u

/* tprev of the first entry of a wheel slot: this bit | slot index. */
#define CONN_TPREV_HEAD 0x80000000u

/* Bucket head word: entry index | this bit while an unlink holds it. */
#define CONN_HEAD_LOCK 0x80000000u

/* Bytes of PE data kept per entry index: its length, then the data. */
#define CONN_PE_SLOT (LVS_PE_DATA_MAX + 1)

/* IPv6 pool slots are handed to workers in chunks of this many. */
#define CONN_V6_CHUNK 32u
/* Memory one IPv6 connection takes in the pool: the slot and its link. */
#define CONN_V6_SLOT_BYTES (sizeof(struct conn_ext) + sizeof(uint32_t))

/*
 * One entry: exactly one cache line.  caddr / vaddr are the IPv4 address,
 * or for an entry with CONN_F_EXT the xor of the address's four words,
 * which rejects almost every non-matching entry without touching the
 * pool.  daddr is the IPv4 destination, or for CONN_F_EXT the index of the
 * entry's IPv6 pool slot (which keeps all three full addresses); a
 * released entry keeps flags and slot until the slot is handed back after
 * the grace period.
 */
struct lvs_conn {
	uint32_t in_next;  /* in-table chain (client side key) */
	uint32_t out_next; /* out-table chain; templates: n_control (atomic) */
	uint32_t caddr;
	uint32_t vaddr;
	uint16_t cport;
	uint16_t vport;
	uint32_t daddr;
	uint16_t dport;
	uint8_t proto;
	uint8_t bits;      /* CONN_B_* */
	uint16_t flags;    /* LVS_CONN_F_* | CONN_F_* */
	uint8_t state;     /* enum lvs_tcp_state; 0 for others */
	uint8_t owner;     /* worker whose wheel holds the timer */
	uint16_t seq;      /* odd while a writer holds the entry */
	uint8_t kicked;    /* CONN_KICK_* */
	uint8_t pad;
	uint32_t expires;  /* tick, modulo 2^32; any worker stores it */
	uint32_t tnext;    /* wheel / free list / limbo link (owner only) */
	uint32_t tprev;    /* wheel back link, or CONN_TPREV_HEAD | slot */
	uint32_t control;  /* controlling template index; templates: timeout s */
	uint32_t kick_next;/* kick stack link; free batches: next batch */
	struct lvs_dest_state *dest;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct lvs_conn) == 64, "a connection entry is one cache line");

/* Full addresses of an entry with CONN_F_EXT: one IPv6 pool slot. */
struct conn_ext {
	union lvs_addr caddr, vaddr, daddr;
};
_Static_assert(sizeof(struct conn_ext) == 48, "ext entry is 48 bytes");

/* A list of released IPv6 pool slots linked through v6_link. */
struct conn_v6_list {
	uint32_t head, tail, n;
};

struct conn_limbo_batch {
	uint32_t head, tail, n;
	struct conn_v6_list v6; /* slots released with these entries */
	uint64_t epoch;         /* reusable once every worker observed >= epoch */
};

/* Per-worker state.  The first part is touched by the owner only. */
struct conn_worker {
	uint32_t free_head;
	uint32_t free_count;
	uint32_t *wheel;        /* CONN_WHEEL_SLOTS heads */
	uint64_t next_slot;     /* next wheel slot time to process */
	uint64_t cur_tick;      /* latest time seen by this worker */
	bool started;
	uint32_t pend_kicks;    /* kicks popped but not yet processed */
	uint32_t fr_head, fr_tail, fr_n; /* freed during this expire run */
	struct conn_v6_list fr_v6;       /* their IPv6 slots */
	uint32_t v6_free, v6_count;      /* IPv6 slots ready for this worker */
	uint32_t lb_first, lb_count;
	struct conn_limbo_batch limbo[CONN_LIMBO_RING];
	uint32_t qcalls;
	int64_t live;           /* entries owned (read by the control thread) */
	/* Written by other threads. */
	uint64_t obs_epoch __attribute__((aligned(64)));
	uint32_t kick_head __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct conn_mem {
	void *base; /* mapping (len > 0) or calloc block (len == 0) */
	size_t len;
};

struct lvs_conn_table {
	struct lvs_conn *ents;      /* max + 1 entries, [0] unused */
	uint32_t *heads;            /* bucket b: in chain [b], out chain [nb + b];
				     * each CONN_HEAD_LOCK | first entry */
	struct conn_ext *v6;        /* IPv6 pool: v6_max + 1 slots, [0] unused */
	uint32_t *v6_link;          /* free / limbo list links of the pool */
	uint32_t max;
	uint32_t v6_max;
	uint32_t hmask;             /* buckets - 1 */
	uint32_t nworkers;
	uint64_t seed;
	struct conn_mem ents_mem, v6_mem, heads_mem, pe_mem;
	/* PE data of templates with LVS_CONN_F_PE: CONN_PE_SLOT bytes per
	 * entry index (length, then the bytes), NULL when it could not be
	 * mapped (no such template is made then). */
	uint8_t *pe;
	struct conn_worker *w;
	size_t mem_bytes;

	/* Timeouts, in ticks (read relaxed by the data path). */
	uint32_t tcp_ticks[LVS_TCP_S_LAST];
	/* lvs_tcp_trans by table, conn_tcp_flag_idx() and current state. */
	uint8_t tcp_next[3][16][LVS_TCP_S_LAST];
	uint32_t udp_ticks;
	struct lvs_timeouts to_sec;

	void (*free_hook)(void *arg, const struct lvs_conn_info *ci);
	void *free_hook_arg;
	/* The XDP fast path's requests (fast_tap.h), NULL: none; an entry on
	 * it that is freed is reported there. */
	struct lvs_fast_tap *fast;

	/* Shared allocation state. */
	struct lvs_spinlock pool_lock __attribute__((aligned(64)));
	uint32_t pool_batches;      /* stack of full free batches */
	uint32_t virgin;            /* next never-used index (atomic) */
	struct conn_v6_list v6_pool;/* released IPv6 slots past their grace period */
	uint32_t v6_virgin;         /* next never-used IPv6 slot (atomic) */
	uint64_t epoch __attribute__((aligned(64)));
};

/* ---- conn_proto.c ---- */

/* Next TCP state: [table][flag row][current state]; tables 0 = INPUT,
 * 1 = OUTPUT, 2 = INPUT_ONLY; rows 0 syn, 1 fin, 2 ack, 3 rst. */
extern const uint8_t lvs_tcp_trans[3][4][LVS_TCP_S_LAST];
/* States that count as active connections on the destination. */
extern const bool lvs_tcp_state_active[LVS_TCP_S_LAST];

/* The row the kernel picks for a TCP flag byte: RST first, then SYN, FIN,
 * ACK; -1 when none is set (the connection then goes to CLOSE). */
static inline int conn_tcp_row(uint8_t tcp_flags)
{
	if (tcp_flags & 0x04)
		return 3;
	if (tcp_flags & 0x02)
		return 0;
	if (tcp_flags & 0x01)
		return 1;
	if (tcp_flags & 0x10)
		return 2;
	return -1;
}

/* The flag bits that choose a row (FIN SYN RST ACK) packed into 4 bits. */
static inline unsigned conn_tcp_flag_idx(uint8_t tcp_flags)
{
	return (tcp_flags & 0x07u) | ((tcp_flags >> 1) & 0x08u);
}

static inline uint8_t conn_tcp_next(unsigned table, uint8_t tcp_flags, uint8_t cur)
{
	int row = conn_tcp_row(tcp_flags);

	if (row < 0 || cur >= LVS_TCP_S_LAST)
		return LVS_TCP_S_CLOSE;
	return lvs_tcp_trans[table][row][cur];
}

/* ---- hashing and bucket heads (conn.c, conn_lookup.c) ---- */

#define CONN_HK1 0x9e3779b97f4a7c15ull
#define CONN_HK2 0xbf58476d1ce4e5b9ull
#define CONN_HP0 0xa0761d6478bd642full
#define CONN_HP1 0xe7037ed1a0b428dbull
#define CONN_HP2 0x8ebc6af09c88c6e3ull
#define CONN_HP3 0x589965cc75374cc3ull

/* 64x64->128 multiply folded to 64 bits: every input bit reaches every
 * output bit in one multiply (the wyhash "mum" step). */
static inline uint64_t conn_mum(uint64_t x, uint64_t y)
{
	__uint128_t m = (__uint128_t)x * y;

	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static inline uint64_t conn_addr_lo(const union lvs_addr *a)
{
	return ((uint64_t)a->w[1] << 32) | a->w[0];
}

static inline uint64_t conn_addr_hi(const union lvs_addr *a)
{
	return ((uint64_t)a->w[3] << 32) | a->w[2];
}

/*
 * Hash of a two-address, two-port key: one wide multiply of the address
 * word (seeded) by the ports word, then a short xorshift-multiply so the
 * low bits used as the bucket index see all of it.  IPv6 first folds each
 * address with a wide multiply of its halves.  The ports word always has
 * bits of CONN_HP1 left in bits 16..31, so it is never zero.  A plain
 * multiply-xor of the two words is not enough: addresses and ports in
 * network order vary in their top bits, which a multiply cannot carry
 * down (measured: 1M clients x 16 ports gave chains of 64).
 */
static inline uint64_t conn_key_hash(uint64_t seed, bool v6, const union lvs_addr *x,
				const union lvs_addr *y, uint16_t px, uint16_t py, uint8_t proto)
{
	uint64_t b = ((uint64_t)px << 48) | ((uint64_t)py << 32) | ((uint64_t)proto << 8) | v6;
	uint64_t a, h;

	if (LVS_LIKELY(!v6))
		a = ((uint64_t)x->w[0] << 32) | y->w[0];
	else
		a = conn_mum(conn_addr_lo(x) ^ CONN_HP2, conn_addr_hi(x) ^ CONN_HP3) ^
		    conn_mum(conn_addr_lo(y) ^ CONN_HP3, conn_addr_hi(y) ^ CONN_HP2) * CONN_HK1;
	h = conn_mum(a ^ seed ^ CONN_HP0, b ^ CONN_HP1);
	h ^= h >> 29;
	h *= CONN_HK2;
	h ^= h >> 32;
	return h;
}

/* What an entry stores for an address: itself for IPv4, a fold for IPv6. */
static inline uint32_t conn_addr_fold(const union lvs_addr *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

static inline bool conn_is_v6(uint8_t af)
{
	return af == AF_INET6;
}

/*
 * One hash for both tables: a packet's in key (caddr, cport, vaddr, vport)
 * and out key (daddr, dport, caddr, cport) are both its (saddr, sport,
 * daddr, dport), so its two lookups use the same bucket number b, in two
 * arrays: heads[b] (in) and heads[nb + b] (out).  Kept apart rather than
 * interleaved, client-side lookups (most packets) touch half the memory.
 */
static inline uint32_t conn_key_bucket(const struct lvs_conn_table *t, bool v6, uint8_t proto,
				  const union lvs_addr *s, uint16_t sport, const union lvs_addr *d,
				  uint16_t dport)
{
	return (uint32_t)conn_key_hash(t->seed, v6, s, d, sport, dport, proto) & t->hmask;
}

static inline uint32_t *conn_head_in(const struct lvs_conn_table *t, uint32_t b)
{
	return &t->heads[b];
}

static inline uint32_t *conn_head_out(const struct lvs_conn_table *t, uint32_t b)
{
	return &t->heads[(size_t)t->hmask + 1 + b];
}

static inline uint32_t conn_head_load(const uint32_t *h)
{
	return __atomic_load_n(h, __ATOMIC_ACQUIRE) & ~CONN_HEAD_LOCK;
}

static inline const struct conn_ext *conn_ext_of(const struct lvs_conn_table *t,
						 const struct lvs_conn *c)
{
	return &t->v6[c->daddr];
}

static inline uint8_t *conn_pe_slot(const struct lvs_conn_table *t, uint32_t idx)
{
	return t->pe + (size_t)idx * CONN_PE_SLOT;
}

/* What a template with PE data keeps in its cport (templates otherwise
 * have 0 there): 16 bits of a hash of the data, never 0, so calls of one
 * client network spread over the buckets, a lookup without PE data never
 * finds such a template, and most other calls' templates are told apart
 * without reading the PE area. */
static inline uint16_t conn_pe_tag(const struct lvs_conn_table *t, const uint8_t *d, size_t n)
{
	uint64_t h = t->seed ^ 0x9e3779b97f4a7c15ull ^ n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h ^= h >> 16;
	return (uint16_t)((h & 0xffff) ? (h & 0xffff) : 1);
}

/* ---- shared helpers ---- */

static inline uint64_t conn_ns_to_tick(lvs_time_t now)
{
	return now / CONN_TICK_NS;
}

static inline uint32_t conn_sec_to_ticks(uint64_t s)
{
	uint64_t t = s * CONN_TICKS_PER_SEC;

	return t > CONN_MAX_TIMEOUT_TICKS ? CONN_MAX_TIMEOUT_TICKS : (uint32_t)t;
}

static inline struct lvs_conn *conn_at(const struct lvs_conn_table *t, uint32_t idx)
{
	return &t->ents[idx];
}

static inline uint32_t conn_idx(const struct lvs_conn_table *t, const struct lvs_conn *c)
{
	return (uint32_t)(c - t->ents);
}

static inline uint16_t conn_flags_load(const struct lvs_conn *c)
{
	return __atomic_load_n(&c->flags, __ATOMIC_RELAXED);
}

/* Take / release the entry's sequence word as a writer lock. */
static inline uint16_t conn_seq_lock(struct lvs_conn *c)
{
	uint16_t s;

	for (;;) {
		s = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
		if (!(s & 1) && __atomic_compare_exchange_n(&c->seq, &s, (uint16_t)(s + 1), false,
							    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return s;
		lvs_cpu_relax();
	}
}

static inline void conn_seq_unlock(struct lvs_conn *c, uint16_t s)
{
	__atomic_store_n(&c->seq, (uint16_t)(s + 2), __ATOMIC_RELEASE);
}

/* conn_timer.c */
void conn_wheel_insert(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx,
		       uint64_t min_slot);
/* The same into the slot of tick `when` rather than of c->expires (an
 * entry whose timer is first looked at before its expiry). */
void conn_wheel_insert_at(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx,
			  uint32_t when, uint64_t min_slot);
void conn_wheel_unlink(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx);
void conn_worker_clock(struct conn_worker *w, lvs_time_t now);
/* The expiry of c became earlier: move its timer (owner) or ask the owner
 * to (anyone else). */
void conn_timer_shorten(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c);

/* conn_lookup.c */
/* Push idx on a chain (head: one of heads[], link: its in_next/out_next). */
void conn_chain_insert(uint32_t *head, uint32_t *link, uint32_t idx);
/* Unlink idx from both chains. */
void conn_unhash(struct lvs_conn_table *t, uint32_t idx);
/* The entry's own addresses, full width. */
/* conn_sync.c: a sync record of c (also the fast path's requests). */
void conn_sync_rec_fill(const struct lvs_conn_table *t, const struct lvs_conn *c, uint16_t fl,
			struct lvs_sync_rec *r);
/* conn_fast.c: c, on the fast path, is being freed by worker. */
void conn_fast_freed(struct lvs_conn_table *t, unsigned worker, const struct lvs_conn *c);

void conn_entry_addrs(const struct lvs_conn_table *t, const struct lvs_conn *c,
		      union lvs_addr *caddr, union lvs_addr *vaddr, union lvs_addr *daddr);

/* conn.c */
/* Release an expired entry: unhash, unbind, hook, limbo.  Owner only.
 * Returns false (nothing done) if it must stay. */
bool conn_release(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx);
void conn_limbo_close(struct lvs_conn_table *t, struct conn_worker *w);
void conn_fill_info(const struct lvs_conn_table *t, const struct lvs_conn *c, uint32_t now_tick,
		    struct lvs_conn_info *out);

#endif
