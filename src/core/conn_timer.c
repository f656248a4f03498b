/*
 * conn_timer.c - per-worker timer wheels for connection entries.
 *
 * Kernel IPVS arms one timer per connection and re-arms it (mod_timer) on
 * every packet.  Here each worker owns a wheel of 4096 slots of 1/16 s;
 * an entry sits on the wheel of the worker that created it.  A packet only
 * stores the entry's new expiry time; when the slot comes due the owner
 * looks at the stored time and either frees the entry or moves it to the
 * slot of its real expiry (lazy re-arming: a busy flow costs one move per
 * timeout period, not one per packet).  Expiries beyond the wheel's 256 s
 * wait in the furthest slot and are looked at again each round.
 *
 * Only an earlier expiry needs an eager move (ESTABLISHED 900 s -> CLOSE
 * 10 s on a RST): the owner does it at once, another worker pushes the
 * entry on the owner's lock-free kick stack, emptied at the start of the
 * owner's next lvs_conn_expire_run.
 *
 * Work per lvs_conn_expire_run is bounded (CONN_EXPIRE_BUDGET entries);
 * what is left is picked up by the next call.
 */
#include "conn_priv.h"

void conn_worker_clock(struct conn_worker *w, lvs_time_t now)
{
	uint64_t tk = conn_ns_to_tick(now);

	if (LVS_UNLIKELY(!w->started)) {
		w->started = true;
		w->next_slot = tk >> CONN_SLOT_SHIFT;
		__atomic_store_n(&w->cur_tick, tk, __ATOMIC_RELAXED);
	} else if (tk > w->cur_tick) {
		__atomic_store_n(&w->cur_tick, tk, __ATOMIC_RELAXED);
	}
}

/*
 * Link idx into the slot of its expiry, but no earlier than min_slot and
 * within one wheel turn of the next slot to process (so it never lands
 * in the slot being emptied).  Owner only.
 */
void conn_wheel_insert(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx,
		       uint64_t min_slot)
{
	conn_wheel_insert_at(t, w, idx, __atomic_load_n(&conn_at(t, idx)->expires, __ATOMIC_RELAXED),
			     min_slot);
}

void conn_wheel_insert_at(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx,
			  uint32_t when, uint64_t min_slot)
{
	struct lvs_conn *c = conn_at(t, idx);
	int32_t d = (int32_t)(when - (uint32_t)w->cur_tick);
	int64_t tk = (int64_t)w->cur_tick + d;
	uint64_t slot = tk < 0 ? 0 : (uint64_t)tk >> CONN_SLOT_SHIFT;
	uint64_t max_slot = w->next_slot + CONN_WHEEL_SLOTS - 1;
	uint32_t b, head;

	if (slot < min_slot)
		slot = min_slot;
	if (slot > max_slot)
		slot = max_slot;
	b = (uint32_t)(slot & CONN_WHEEL_MASK);
	head = w->wheel[b];
	c->tnext = head;
	c->tprev = CONN_TPREV_HEAD | b;
	if (head)
		conn_at(t, head)->tprev = idx;
	w->wheel[b] = idx;
}

void conn_wheel_unlink(struct lvs_conn_table *t, struct conn_worker *w, uint32_t idx)
{
	struct lvs_conn *c = conn_at(t, idx);

	if (c->tprev & CONN_TPREV_HEAD)
		w->wheel[c->tprev & ~CONN_TPREV_HEAD] = c->tnext;
	else if (c->tprev)
		conn_at(t, c->tprev)->tnext = c->tnext;
	if (c->tnext)
		conn_at(t, c->tnext)->tprev = c->tprev;
	c->tnext = c->tprev = 0;
}

void conn_timer_shorten(struct lvs_conn_table *t, unsigned worker, struct lvs_conn *c)
{
	struct conn_worker *w = &t->w[c->owner];
	uint32_t idx = conn_idx(t, c);
	uint8_t k = CONN_KICK_NONE;
	uint32_t head;

	if (worker == c->owner) {
		/* A released entry is off the wheel (and stays off). */
		if (__atomic_load_n(&c->kicked, __ATOMIC_RELAXED) == CONN_KICK_DEAD)
			return;
		conn_wheel_unlink(t, w, idx);
		conn_wheel_insert(t, w, idx, w->next_slot);
		return;
	}
	/* Queued already (it will be moved by its expiry then) or released. */
	if (!__atomic_compare_exchange_n(&c->kicked, &k, CONN_KICK_QUEUED, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	head = __atomic_load_n(&w->kick_head, __ATOMIC_RELAXED);
	do {
		c->kick_next = head;
	} while (!__atomic_compare_exchange_n(&w->kick_head, &head, idx, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

/* Move entries other workers asked us to; returns the budget left. */
static unsigned run_kicks(struct lvs_conn_table *t, struct conn_worker *w, unsigned budget)
{
	if (!w->pend_kicks)
		w->pend_kicks = __atomic_exchange_n(&w->kick_head, 0, __ATOMIC_ACQUIRE);
	while (w->pend_kicks && budget) {
		uint32_t idx = w->pend_kicks;
		struct lvs_conn *c = conn_at(t, idx);

		/* Read the link before clearing the flag: once cleared, a
		 * pusher may reuse kick_next. */
		w->pend_kicks = c->kick_next;
		__atomic_store_n(&c->kicked, CONN_KICK_NONE, __ATOMIC_RELEASE);
		conn_wheel_unlink(t, w, idx);
		conn_wheel_insert(t, w, idx, w->next_slot);
		budget--;
	}
	return budget;
}

unsigned lvs_conn_expire_run(struct lvs_conn_table *t, unsigned worker, lvs_time_t now)
{
	struct conn_worker *w;
	unsigned budget = CONN_EXPIRE_BUDGET, freed = 0;
	uint64_t now_slot;
	uint32_t now_tick;

	if (!t || worker >= t->nworkers)
		return 0;
	w = &t->w[worker];
	conn_worker_clock(w, now);
	now_tick = (uint32_t)w->cur_tick;
	now_slot = w->cur_tick >> CONN_SLOT_SHIFT;

	budget = run_kicks(t, w, budget);

	/* After a long pause every slot is due: one turn visits them all. */
	if (now_slot >= w->next_slot + CONN_WHEEL_SLOTS)
		w->next_slot = now_slot - CONN_WHEEL_SLOTS + 1;

	while (w->next_slot <= now_slot && budget) {
		uint64_t s = w->next_slot;
		uint32_t *head = &w->wheel[s & CONN_WHEEL_MASK];

		while (*head && budget) {
			uint32_t idx = *head;
			struct lvs_conn *c = conn_at(t, idx);
			uint32_t exp;

			conn_wheel_unlink(t, w, idx);
			budget--;
			exp = __atomic_load_n(&c->expires, __ATOMIC_RELAXED);
			if ((int32_t)(exp - now_tick) > 0) {
				conn_wheel_insert(t, w, idx, s + 1);
				continue;
			}
			if ((conn_flags_load(c) & LVS_CONN_F_TEMPLATE) &&
			    (__atomic_load_n(&c->out_next, __ATOMIC_ACQUIRE) & ~CONN_NCTL_DEAD)) {
				/* Connections still use it: full timeout again. */
				__atomic_store_n(&c->expires, now_tick + conn_sec_to_ticks(c->control),
						 __ATOMIC_RELAXED);
				conn_wheel_insert(t, w, idx, s + 1);
				continue;
			}
			if (!conn_release(t, w, idx)) {
				conn_wheel_insert(t, w, idx, s + 1);
				continue;
			}
			freed++;
		}
		if (*head)
			break;
		w->next_slot = s + 1;
	}
	conn_limbo_close(t, w);
	return freed;
}
