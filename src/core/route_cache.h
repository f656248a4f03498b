/*
 * route_cache.h - a destination's cached route and next hop, as kernel
 * IPVS keeps one per real server (dest->dest_dst): packets forwarded to a
 * real server (NAT in, DR, the outer header of TUN) reuse it instead of a
 * route lookup and a neighbour hash each.
 *
 * The cache holds one entry: the next hop for dst, with the environment's
 * generation and clock when it was computed.  Whoever fills it (the
 * environment, e.g. src/net/rtnl.c) decides when an entry is still good:
 * typically its generation equals the current one (bumped on every route,
 * link, address or neighbour change that can alter a next hop) and it is
 * younger than a bound (so what a route lookup does besides its answer,
 * such as keeping the neighbour entry fresh, still happens now and then).
 *
 * Concurrency: several workers share a destination.  The entry is guarded
 * by a sequence counter (a seqlock): readers take no lock and retry
 * nothing -- a read that overlaps a fill reports a miss and the caller
 * routes without the cache.  A writer claims the counter with a
 * compare-and-swap (even -> odd); a worker that loses the claim simply
 * does not store its result.  Every word is copied with a relaxed atomic
 * access between the counter's reads, so a reader never uses a torn entry
 * and the code has no data race in the C11 sense.  All zero is a valid,
 * empty cache.  Pure: no syscalls, no allocation.
 */
#ifndef LVS_ROUTE_CACHE_H
#define LVS_ROUTE_CACHE_H

#include "xmit.h"

struct lvs_route_cache_ent {
	struct lvs_nexthop nh;
	uint8_t af;          /* family of dst */
	uint8_t pad[7];
	union lvs_addr dst;  /* what nh was computed for */
	uint64_t gen;        /* environment's generation then */
	uint64_t stamp;      /* environment's clock then (ns) */
};

#define LVS_ROUTE_CACHE_WORDS (sizeof(struct lvs_route_cache_ent) / sizeof(uint64_t))
_Static_assert(sizeof(struct lvs_route_cache_ent) % sizeof(uint64_t) == 0,
	       "the entry is copied in 64-bit words");

struct lvs_route_cache {
	uint32_t seq; /* even: stable (0: never filled); odd: a fill in progress */
	uint32_t pad;
	uint64_t w[LVS_ROUTE_CACHE_WORDS];
};

/*
 * Copy the entry into *out.  True when a complete entry was read (filled
 * at least once, no fill overlapped the copy); false otherwise, and *out
 * must not be used.  Never waits.  Data path, any thread.
 */
static inline bool lvs_route_cache_read(const struct lvs_route_cache *rc,
					struct lvs_route_cache_ent *out)
{
	uint64_t w[LVS_ROUTE_CACHE_WORDS];
	uint32_t s1 = __atomic_load_n(&rc->seq, __ATOMIC_ACQUIRE);

	if (s1 == 0 || (s1 & 1))
		return false;
	for (size_t i = 0; i < LVS_ROUTE_CACHE_WORDS; i++)
		w[i] = __atomic_load_n(&rc->w[i], __ATOMIC_RELAXED);
	/* the copy happens before the second read of the counter */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&rc->seq, __ATOMIC_RELAXED) != s1)
		return false;
	memcpy(out, w, sizeof(*out));
	return true;
}

/*
 * Store e as the entry.  True when stored; false when another thread was
 * filling it at that moment (its entry will do; nothing is waited for).
 * Data path, any thread.
 */
static inline bool lvs_route_cache_fill(struct lvs_route_cache *rc,
					const struct lvs_route_cache_ent *e)
{
	uint64_t w[LVS_ROUTE_CACHE_WORDS];
	uint32_t s = __atomic_load_n(&rc->seq, __ATOMIC_RELAXED);

	if (s & 1)
		return false;
	if (!__atomic_compare_exchange_n(&rc->seq, &s, s + 1, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return false;
	/* the odd counter is visible before any word changes */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(w, e, sizeof(w));
	for (size_t i = 0; i < LVS_ROUTE_CACHE_WORDS; i++)
		__atomic_store_n(&rc->w[i], w[i], __ATOMIC_RELAXED);
	/* the words are visible before the even counter; s + 2 is never 0 */
	__atomic_store_n(&rc->seq, s + 2 ? s + 2 : 2, __ATOMIC_RELEASE);
	return true;
}

#endif
