/*
 * conn_priv.h - private layout of the connection table, shared by conn.c
 * (table, hashing, lookups, lifetime), conn_timer.c (per-worker timer
 * wheels, expiry) and conn_proto.c (TCP state tables).  Nothing outside
 * those three files may include it.
 *
 * Memory model, in short:
 *   - entries live in one preallocated array and are named by 32-bit
 *     indices; index 0 is a never-used sentinel so that 0 means "none" and
 *     freshly calloc'ed (untouched, lazily mapped) memory is a valid empty
 *     state for bucket heads, wheel slots and links;
 *   - hash chains are RCU-style singly linked lists: writers link and
 *     unlink under a striped bucket spinlock and publish with release
 *     stores, readers walk without any lock.  A removed entry keeps its
 *     next link and is reused only after every worker passed a quiescent
 *     point (epoch scheme), so a reader inside a removed entry can always
 *     finish its walk;
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

/* lvs_conn.bits */
#define CONN_B_AF6 0x01
#define CONN_B_DAF6 0x02
#define CONN_B_FWD_SHIFT 2
#define CONN_B_FWD_MASK 0x0c

/* lvs_conn.kicked */
#define CONN_KICK_NONE 0
#define CONN_KICK_QUEUED 1
#define CONN_KICK_DEAD 2

/* Template n_control: set when the template is being freed, so a
 * concurrent creator cannot attach a connection to it. */
#define CONN_NCTL_DEAD 0x80000000u

/* tprev of the first entry of a wheel slot: this bit | slot index. */
#define CONN_TPREV_HEAD 0x80000000u

/*
 * One entry: exactly one cache line for IPv4.  Addresses are the IPv4
 * address, or for IPv6 (CONN_F_EXT) the xor of the four words, which
 * rejects almost every non-matching entry without touching the ext array.
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

/* Full addresses of an entry with CONN_F_EXT (48 bytes). */
struct conn_ext {
	union lvs_addr caddr, vaddr, daddr;
};
_Static_assert(sizeof(struct conn_ext) == 48, "ext entry is 48 bytes");

struct conn_limbo_batch {
	uint32_t head, tail, n;
	uint64_t epoch; /* reusable once every worker observed >= epoch */
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
	struct conn_ext *ext;       /* parallel to ents */
	uint32_t *in_heads, *out_heads;
	struct lvs_spinlock *in_locks, *out_locks;
	uint32_t max;
	uint32_t hmask;             /* buckets - 1 */
	uint32_t lock_shift;        /* bucket >> lock_shift = lock index */
	uint32_t nworkers;
	uint64_t seed;
	struct conn_mem ents_mem, ext_mem, heads_mem;
	struct conn_worker *w;
	size_t mem_bytes;

	/* Timeouts, in ticks (read relaxed by the data path). */
	uint32_t tcp_ticks[LVS_TCP_S_LAST];
	uint32_t udp_ticks;
	struct lvs_timeouts to_sec;

	void (*free_hook)(void *arg, const struct lvs_conn_info *ci);
	void *free_hook_arg;

	/* Shared allocation state. */
	struct lvs_spinlock pool_lock __attribute__((aligned(64)));
	uint32_t pool_batches;      /* stack of full free batches */
	uint32_t virgin;            /* next never-used index (atomic) */
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

static inline uint8_t conn_tcp_next(unsigned table, uint8_t tcp_flags, uint8_t cur)
{
	int row = conn_tcp_row(tcp_flags);

	if (row < 0 || cur >= LVS_TCP_S_LAST)
		return LVS_TCP_S_CLOSE;
	return lvs_tcp_trans[table][row][cur];
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
void conn_wheel_unlink(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx);
void conn_worker_clock(struct conn_worker *w, lvs_time_t now);
/* The expiry of c became earlier: move its timer (owner) or ask the owner
 * to (anyone else). */
void conn_timer_shorten(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c);

/* conn.c */
/* Release an expired entry: unhash, unbind, hook, limbo.  Owner only.
 * Returns false (nothing done) if it must stay. */
bool conn_release(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx);
void conn_limbo_close(struct lvs_conn_table *t, struct conn_worker *w);
void conn_fill_info(const struct lvs_conn_table *t, const struct lvs_conn *c, uint32_t now_tick,
		    struct lvs_conn_info *out);

#endif
