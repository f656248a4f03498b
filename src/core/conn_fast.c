/*
 * conn_fast.c - the connection table's side of the XDP fast path
 * (fast_tap.h): the per-direction bits of an entry and the requests the
 * workers make when they change.
 */
#include <errno.h>
#include <string.h>

#include "conn_priv.h"
#include "fast_tap.h"

int lvs_fast_tap_init(struct lvs_fast_tap *tap, unsigned nrings, uint32_t ring_size)
{
	int err;

	memset(tap, 0, sizeof(*tap));
	if (!nrings || nrings > LVS_MAX_WORKERS)
		return -EINVAL;
	if ((err = lvs_sync_rings_init(tap->ring, nrings, ring_size)))
		return err;
	tap->nrings = nrings;
	return 0;
}

void lvs_fast_tap_free(struct lvs_fast_tap *tap)
{
	lvs_sync_rings_free(tap->ring, tap->nrings);
	tap->nrings = 0;
}

void lvs_conn_set_fast_tap(struct lvs_conn_table *t, struct lvs_fast_tap *tap)
{
	__atomic_store_n(&t->fast, tap, __ATOMIC_RELEASE);
}

uint8_t lvs_conn_fast(const struct lvs_conn *c)
{
	return (uint8_t)((__atomic_load_n(&c->bits, __ATOMIC_RELAXED) & CONN_B_FAST_MASK) >>
			 CONN_B_FAST_SHIFT);
}

uint8_t lvs_conn_fast_set(struct lvs_conn *c, uint8_t bits, bool on)
{
	uint8_t m = (uint8_t)((bits << CONN_B_FAST_SHIFT) & CONN_B_FAST_MASK), old;

	old = on ? __atomic_fetch_or(&c->bits, m, __ATOMIC_RELAXED)
		 : __atomic_fetch_and(&c->bits, (uint8_t)~m, __ATOMIC_RELAXED);
	return (uint8_t)((old & CONN_B_FAST_MASK) >> CONN_B_FAST_SHIFT);
}

static bool request(struct lvs_fast_tap *tap, const struct lvs_conn_table *t, unsigned worker,
		    const struct lvs_conn *c, bool reply)
{
	struct lvs_sync_rec r;

	if (worker >= tap->nrings)
		return false;
	conn_sync_rec_fill(t, c, conn_flags_load(c), &r);
	if (reply)
		r.flags |= LVS_FAST_REC_F_REPLY;
	return lvs_sync_ring_push(&tap->ring[worker], &r);
}

void lvs_fast_conn_pkt(struct lvs_fast_tap *tap, struct lvs_conn_table *t, unsigned worker,
		       struct lvs_conn *c, bool reply, bool want)
{
	uint8_t bit = reply ? LVS_CONN_FAST_OUT : LVS_CONN_FAST_IN;

	if (((lvs_conn_fast(c) & bit) != 0) == want)
		return;
	/* another worker flipped it first: its request covers this one */
	if (((lvs_conn_fast_set(c, bit, want) & bit) != 0) == want)
		return;
	if (!request(tap, t, worker, c, reply) && want)
		lvs_conn_fast_set(c, bit, false); /* dropped: a later packet retries */
}

void conn_fast_freed(struct lvs_conn_table *t, unsigned worker, const struct lvs_conn *c)
{
	struct lvs_fast_tap *tap = __atomic_load_n(&t->fast, __ATOMIC_ACQUIRE);
	uint8_t f = lvs_conn_fast(c);

	if (f & LVS_CONN_FAST_IN)
		request(tap, t, worker, c, false);
	if (f & LVS_CONN_FAST_OUT)
		request(tap, t, worker, c, true);
}
