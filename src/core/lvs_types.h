/*
 * lvs_types.h - basic types shared by every layer of lvsd.
 *
 * Addresses and ports are kept in network byte order everywhere in the
 * core (packet fields, model, connection table), exactly as they appear on
 * the wire, so the data path never converts.  An IPv4 address lives in
 * addr.ip4 (== w[0]) with w[1..3] zero, so one 16-byte compare works for
 * both families.
 */
#ifndef LVS_TYPES_H
#define LVS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#define LVS_ETH_ALEN 6

union lvs_addr {
	uint32_t ip4;      /* network order; w[1..3] are zero for IPv4 */
	uint32_t w[4];
	uint8_t b[16];
	struct in6_addr in6;
};
_Static_assert(sizeof(union lvs_addr) == 16, "lvs_addr is 16 bytes");

static inline bool lvs_addr_eq(const union lvs_addr *a, const union lvs_addr *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

static inline void lvs_addr_set4(union lvs_addr *a, uint32_t ip4_be)
{
	a->w[0] = ip4_be;
	a->w[1] = a->w[2] = a->w[3] = 0;
}

static inline bool lvs_addr_is_zero(const union lvs_addr *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/* Render an address ("10.0.0.1" or "2001:db8::1") into buf; returns buf. */
const char *lvs_addr_str(int af, const union lvs_addr *a, char *buf, size_t len);
/* Parse a numeric address of family af (AF_INET/AF_INET6). 0 or -EINVAL. */
int lvs_addr_parse(int af, const char *s, union lvs_addr *out);

/* Monotonic time in nanoseconds, supplied by the caller (the core never
 * reads a clock: lvs-pcap feeds capture timestamps, the daemon a real clock). */
typedef uint64_t lvs_time_t;
#define LVS_NS_PER_SEC 1000000000ull

#define LVS_MAX_WORKERS 64

#define LVS_LIKELY(x) __builtin_expect(!!(x), 1)
#define LVS_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline void lvs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* A tiny test-and-test-and-set spinlock; contended only per service on the
 * new-connection path (as kernel IPVS's svc->sched_lock) or per conn bucket. */
struct lvs_spinlock {
	volatile int v;
};
static inline void lvs_spin_lock(struct lvs_spinlock *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			lvs_cpu_relax();
}
static inline void lvs_spin_unlock(struct lvs_spinlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* Traffic counters; one set per worker, summed when read. */
struct lvs_counters {
	uint64_t conns;
	uint64_t inpkts;
	uint64_t outpkts;
	uint64_t inbytes;
	uint64_t outbytes;
};

#endif
