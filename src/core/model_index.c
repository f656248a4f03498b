/*
 * model_index.c - the key hashes of the model's tables and the workers'
 * service index: open addressing, read without locks (RCU).  The control
 * thread replaces a service's slot in place with its next version, leaves
 * a tombstone for a deletion, and rebuilds and replaces the array before
 * it fills; lvs_svc_lookup is the data path's lookup.
 */
#include <errno.h>
#include <stdlib.h>

#include "model_priv.h"

/* ---- the published index (RCU: open addressing, replaced on growth) ---- */

struct lvs_svc_index {
	uint32_t mask;
	uint32_t used; /* live + tombstones */
	uint32_t live;
	struct lvs_service *slot[];
};

/* A deleted slot: lookups probe past it, inserts may reuse it. */
static struct lvs_service idx_tomb;
#define TOMB (&idx_tomb)

/* ---- key hashes (the index and the control thread's tables) ---- */

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

static uint32_t svc_hash(uint8_t af, uint8_t proto, const union lvs_addr *a, uint16_t port)
{
	uint32_t h = a->w[0] ^ mix32(a->w[1] ^ mix32(a->w[2] ^ mix32(a->w[3])));
	return mix32(h ^ ((uint32_t)port << 16) ^ ((uint32_t)proto << 8) ^ af);
}

static uint32_t fwm_hash(uint8_t af, uint32_t mark)
{
	return mix32(mark * 2654435761U ^ af ^ 0x5bd1e995U);
}

uint32_t model_key_hash(const struct lvs_svc_key *k)
{
	return k->fwmark ? fwm_hash(k->af, k->fwmark) : svc_hash(k->af, k->proto, &k->addr, k->port);
}

static uint32_t conf_hash(const struct lvs_svc_conf *c)
{
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	return model_key_hash(&k);
}

/* A destination's identity within its service (or service state). */
uint32_t model_dest_hash(const void *owner, uint8_t af, const union lvs_addr *a, uint16_t port)
{
	uintptr_t p = (uintptr_t)owner;
	return mix32(svc_hash(af, 0, a, port) ^ (uint32_t)(p >> 4) ^ (uint32_t)(p >> 36));
}

/* ---- lookup (workers) ---- */

static struct lvs_service *idx_find_addr(const struct lvs_svc_index *x, uint8_t af, uint8_t proto,
					 const union lvs_addr *addr, uint16_t port)
{
	uint32_t i = svc_hash(af, proto, addr, port);

	for (uint32_t n = 0; n <= x->mask; n++, i++) {
		struct lvs_service *svc = __atomic_load_n(&x->slot[i & x->mask], __ATOMIC_ACQUIRE);
		if (!svc)
			return NULL;
		if (svc != TOMB && !svc->c.fwmark && svc->c.port == port && svc->c.af == af &&
		    svc->c.proto == proto && lvs_addr_eq(&svc->c.addr, addr))
			return svc;
	}
	return NULL;
}

static struct lvs_service *idx_find_mark(const struct lvs_svc_index *x, uint8_t af, uint32_t mark)
{
	uint32_t i = fwm_hash(af, mark);

	for (uint32_t n = 0; n <= x->mask; n++, i++) {
		struct lvs_service *svc = __atomic_load_n(&x->slot[i & x->mask], __ATOMIC_ACQUIRE);
		if (!svc)
			return NULL;
		if (svc != TOMB && svc->c.fwmark == mark && svc->c.af == af)
			return svc;
	}
	return NULL;
}

struct lvs_service *lvs_svc_lookup(const struct lvs_snapshot *s, uint8_t af, uint8_t proto,
				   const union lvs_addr *addr, uint16_t port, uint32_t mark)
{
	const struct lvs_svc_index *x = __atomic_load_n(&s->idx, __ATOMIC_ACQUIRE);
	struct lvs_service *svc;

	if (LVS_UNLIKELY(__atomic_load_n(&x->live, __ATOMIC_RELAXED) == 0))
		return NULL;
	if (mark) {
		svc = idx_find_mark(x, af, mark);
		if (svc)
			return svc;
	}
	svc = idx_find_addr(x, af, proto, addr, port);
	if (svc)
		return svc;
	/* A persistent port-0 service catches every port of its address. */
	svc = idx_find_addr(x, af, proto, addr, 0);
	if (svc && (svc->c.flags & LVS_SVC_F_PERSISTENT))
		return svc;
	return NULL;
}

/* ---- the index (control thread writes, workers read) ---- */

struct lvs_svc_index *model_idx_new(uint32_t nslots)
{
	struct lvs_svc_index *x = calloc(1, sizeof(*x) + nslots * sizeof(x->slot[0]));

	if (x)
		x->mask = nslots - 1;
	return x;
}

static uint32_t svc_slot_hash(const struct lvs_service *svc)
{
	return conf_hash(&svc->c);
}

/* Place svc in x (not published yet, or the caller owns all slots). */
static void idx_put_raw(struct lvs_svc_index *x, struct lvs_service *svc)
{
	uint32_t i = svc_slot_hash(svc);

	while (x->slot[i & x->mask])
		i++;
	x->slot[i & x->mask] = svc;
	x->used++;
	x->live++;
}

static void free_ptr(void *p)
{
	free(p);
}

/*
 * Make room for `more` insertions without growth during publication: a
 * table more than 3/4 used (tombstones count) is rebuilt at twice the live
 * size, published, and the old one retired.  0 or -ENOMEM (nothing
 * changed).
 */
int model_idx_reserve(struct lvs_model *m, uint32_t more)
{
	struct lvs_svc_index *x = m->snap.idx, *nx;
	uint32_t need = x->live + more, n = 16;

	if ((uint64_t)(x->used + more) * 4 <= (uint64_t)(x->mask + 1) * 3)
		return 0;
	while ((uint64_t)n * 3 < (uint64_t)need * 4 + 4 || n < 2 * need)
		n <<= 1;
	nx = model_idx_new(n);
	if (!nx)
		return -ENOMEM;
	for (uint32_t i = 0; i <= x->mask; i++)
		if (x->slot[i] && x->slot[i] != TOMB)
			idx_put_raw(nx, x->slot[i]);
	__atomic_store_n(&m->snap.idx, nx, __ATOMIC_RELEASE);
	m->defer(m->defer_arg, free_ptr, x);
	return 0;
}

static uint32_t idx_slot_of(const struct lvs_svc_index *x, const struct lvs_service *svc)
{
	uint32_t i = svc_slot_hash(svc);

	for (uint32_t n = 0; n <= x->mask; n++, i++)
		if (x->slot[i & x->mask] == svc)
			return i & x->mask;
	return UINT32_MAX;
}

/* Insert (old == NULL), replace (both) or remove (svc == NULL).  Capacity
 * was reserved.  Workers see the old or the new pointer, never a gap. */
void model_idx_set(struct lvs_model *m, struct lvs_service *old, struct lvs_service *svc)
{
	struct lvs_svc_index *x = m->snap.idx;
	uint32_t i;

	if (old) {
		i = idx_slot_of(x, old);
		if (i == UINT32_MAX)
			return; /* cannot happen */
		if (svc) {
			__atomic_store_n(&x->slot[i], svc, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&x->slot[i], TOMB, __ATOMIC_RELEASE);
			__atomic_store_n(&x->live, x->live - 1, __ATOMIC_RELAXED);
		}
		return;
	}
	for (i = svc_slot_hash(svc);; i++) {
		struct lvs_service *cur = x->slot[i & x->mask];
		if (!cur || cur == TOMB) {
			if (!cur)
				x->used++;
			__atomic_store_n(&x->slot[i & x->mask], svc, __ATOMIC_RELEASE);
			__atomic_store_n(&x->live, x->live + 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

