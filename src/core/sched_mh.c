/*
 * sched_mh.c - Maglev hashing (kernel ip_vs_mh; Eisenbud et al., "Maglev: A
 * Fast and Reliable Software Network Load Balancer", NSDI 2016, §3.4).
 *
 * Kernel behaviour: a lookup table of M = 4093 entries (the prime chosen by
 * the default CONFIG_IP_VS_MH_TAB_INDEX 12 from 251, 509, 1021, 2039, 4093,
 * ...).  Each destination gets a preference permutation of the table from
 * two hashes of its address and port: offset = h1 % M, skip = h2 % (M-1) + 1,
 * position j = (offset + j * skip) mod M.  Weights are divided by their gcd
 * and shifted right so that the largest fits in IP_VS_MH_TAB_BITS (6) bits;
 * the result (at least 1 for a non-zero weight) is the number of "turns" a
 * destination takes per round.  Rounds walk the list in order; on each turn
 * a destination claims its next still-free preferred entry, until all M
 * entries are taken.  Destinations with weight 0 get no entries.  With equal
 * weights each destination ends up with floor(M/n) or ceil(M/n) entries,
 * and removing one destination moves little more than its own keys.
 *
 * A connection is looked up by h1(source address folded to 32 bits + source
 * port with -b mh-port) % M.  An unavailable destination (weight 0,
 * overloaded) fails the pick unless mh-fallback is set: then h1 is
 * recomputed with offsets (ih + k) % M added to the key, k = 0, 1, ...,
 * until an available destination or an empty entry.
 *
 * Hash: the kernel uses hsiphash() with fixed keys (k0 = k1 = 2654435761 for
 * h1, 2654446892 for h2), which on 64-bit machines is SipHash-1-3 truncated
 * to 32 bits.  This file implements SipHash-1-3 from its specification with
 * those keys over the same 32-bit input, intending the same table; this
 * could not be verified against a running kernel here.
 *
 * Kernel difference: the kernel populates with each destination's last
 * non-zero weight (so a quiesced destination keeps its entries and only its
 * own keys fail or fall back); the snapshot model has only the current
 * weight, so a quiesced destination is left out like a deleted one.
 *
 * The table is built at init and only read afterwards: lock-free.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_tree.h"

#define MH_KERNEL_SIZE 4093u /* CONFIG_IP_VS_MH_TAB_INDEX 12 */
#define MH_TAB_BITS 6 /* CONFIG_IP_VS_MH_TAB_INDEX / 2 */
#define MH_NONE     0xffffu

/*
 * Beyond the kernel: the kernel refuses more destinations than its fixed
 * table has entries.  Up to 4093 destinations we use the kernel's size, so
 * tables are the kernel's; above it the table grows to the next prime of
 * the kernel's list that leaves about eight entries per destination (the
 * Maglev paper's balance needs M >> N), up to 131071.
 */
static const uint32_t mh_big_sizes[] = { 8191, 16381, 32749, 65521, 131071 };

static uint32_t mh_table_size(uint32_t ndests)
{
	if (ndests <= MH_KERNEL_SIZE)
		return MH_KERNEL_SIZE;
	for (size_t i = 0; i < sizeof(mh_big_sizes) / sizeof(mh_big_sizes[0]); i++)
		if (mh_big_sizes[i] >= 8 * ndests)
			return mh_big_sizes[i];
	return 131071;
}

struct mh_state {
	uint32_t size;    /* M, a prime */
	uint16_t entry[]; /* index into svc->dests, MH_NONE = empty */
};

struct mh_setup {
	uint32_t perm; /* next preferred entry */
	uint32_t skip;
	int64_t turns;
};

static const uint64_t mh_key1 = 2654435761u;
static const uint64_t mh_key2 = 2654446892u;

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13) ^ v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17) ^ v[2];
	v[2] = rotl64(v[2], 32);
}

/* SipHash-1-3 of the 4-byte little-endian message m, key (k, k). */
static uint32_t mh_siphash13(uint64_t k, uint32_t m)
{
	uint64_t v[4] = {k ^ 0x736f6d6570736575ull, k ^ 0x646f72616e646f6dull,
	                 k ^ 0x6c7967656e657261ull, k ^ 0x7465646279746573ull};
	uint64_t b = (4ull << 56) | m; /* message length in the top byte */

	v[3] ^= b;
	sip_round(v); /* c = 1 compression round */
	v[0] ^= b;
	v[2] ^= 0xff;
	sip_round(v); /* d = 3 finalisation rounds */
	sip_round(v);
	sip_round(v);
	return (uint32_t)(v[0] ^ v[1] ^ v[2] ^ v[3]);
}

static inline uint32_t mh_hash(uint64_t key, const union lvs_addr *a, uint16_t port_h,
                               uint32_t offset)
{
	return mh_siphash13(key, offset + port_h + lvs_addr_fold(a));
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int fls64(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

static void mh_populate(struct mh_state *s, const struct lvs_service *svc, struct mh_setup *ds,
                        uint8_t *taken)
{
	int64_t g = 0, max = 0;
	int rshift;
	uint32_t filled = 0;

	for (uint32_t i = 0; i < s->size; i++)
		s->entry[i] = MH_NONE;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		int64_t w = svc->dests[i]->c.weight;
		if (w > 0) {
			g = g ? gcd64(w, g) : w;
			if (w > max)
				max = w;
		}
	}
	if (g == 0)
		return; /* no weight: empty table, every pick fails */
	rshift = fls64((uint64_t)(max / g)) - MH_TAB_BITS;
	if (rshift < 0)
		rshift = 0;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct lvs_dest *d = svc->dests[i];
		int64_t w = d->c.weight > 0 ? d->c.weight : 0;
		uint16_t port = ntohs(d->c.port);

		ds[i].perm = mh_hash(mh_key1, &d->c.addr, port, 0) % s->size;
		ds[i].skip = mh_hash(mh_key2, &d->c.addr, port, 0) % (s->size - 1) + 1;
		ds[i].turns = (w / g) >> rshift;
		if (ds[i].turns == 0 && w != 0)
			ds[i].turns = 1;
	}
	while (filled < s->size) {
		for (uint32_t i = 0; i < svc->ndests; i++) {
			for (int64_t t = 0; t < ds[i].turns; t++) {
				uint32_t c = ds[i].perm;
				while (taken[c]) {
					ds[i].perm += ds[i].skip;
					if (ds[i].perm >= s->size)
						ds[i].perm -= s->size;
					c = ds[i].perm;
				}
				taken[c] = 1;
				s->entry[c] = (uint16_t)i;
				if (++filled == s->size)
					return;
			}
		}
	}
}

static int mh_init(struct lvs_service *svc)
{
	struct mh_state *s;
	struct mh_setup *ds;
	uint8_t *taken;

	uint32_t size = mh_table_size(svc->ndests);

	if (svc->ndests >= MH_NONE || svc->ndests > size)
		return -EINVAL; /* more servers than entries */
	s = malloc(sizeof(*s) + size * sizeof(s->entry[0]));
	if (s)
		s->size = size;
	ds = calloc(svc->ndests ? svc->ndests : 1, sizeof(*ds));
	taken = calloc(size, 1);
	if (!s || !ds || !taken) {
		free(s);
		free(ds);
		free(taken);
		return -ENOMEM;
	}
	mh_populate(s, svc, ds, taken);
	free(ds);
	free(taken);
	svc->sched_data = s;
	return 0;
}

static void mh_done(struct lvs_service *svc)
{
	free(svc->sched_data);
	svc->sched_data = NULL;
}

static struct lvs_dest *mh_pick(struct lvs_service *svc, const struct lvs_pkt_info *pi,
                                lvs_time_t now)
{
	const struct mh_state *s = svc->sched_data;
	uint16_t port = lvs_sched_hash_port(svc, pi);
	uint32_t ih;
	uint16_t e;

	(void)now;
	if (LVS_UNLIKELY(!s))
		return NULL;
	ih = mh_hash(mh_key1, &pi->saddr, port, 0) % s->size;
	e = s->entry[ih];
	if (e == MH_NONE)
		return NULL;
	if (lvs_sched_usable(svc->dests[e]))
		return svc->dests[e];
	if (!(svc->c.flags & LVS_SVC_F_SCHED_MH_FALLBACK))
		return NULL;
	for (uint32_t k = 0; k < s->size; k++) {
		uint32_t roff = (k + ih) % s->size;
		e = s->entry[mh_hash(mh_key1, &pi->saddr, port, roff) % s->size];
		if (e == MH_NONE)
			break;
		if (lvs_sched_usable(svc->dests[e]))
			return svc->dests[e];
	}
	return NULL;
}

uint32_t lvs_sched_mh_table(const struct lvs_service *svc, uint16_t *entries, uint32_t max)
{
	const struct mh_state *s = svc->sched_data;

	if (!s || svc->sched != &lvs_sched_mh)
		return 0;
	for (uint32_t c = 0; c < s->size && c < max; c++)
		entries[c] = s->entry[c];
	return s->size;
}

const struct lvs_sched_ops lvs_sched_mh = {
        .name = "mh",
        .locked = false,
        .init = mh_init,
        .done = mh_done,
        .pick = mh_pick,
        .counts_changed = NULL,
};
