/*
 * test_sched_util.h - builds services and destinations by hand for the
 * scheduler tests (no dependency on model.c) and drives counters the way the
 * connection table does: change the counter, then notify the scheduler.
 */
#ifndef TEST_SCHED_UTIL_H
#define TEST_SCHED_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "sched.h"

struct tsvc {
	struct lvs_service svc;
	struct lvs_svc_state sst;
	uint32_t n;
	struct lvs_dest *d;
	struct lvs_dest_state *st;
	struct lvs_dest **dp;
};

/* Dest i gets address 192.168.(i/250).(i%250+1):80. */
static inline union lvs_addr t_dest_addr(uint32_t i)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "192.168.%u.%u", i / 250, i % 250 + 1);
	return t_ip4(buf);
}

/* Set up (without init) a TCP service 10.0.0.1:80 with n dests; weights[i]
 * (NULL: all 1), addresses addrs[i] (NULL: t_dest_addr(i)). */
static inline void tsvc_prepare(struct tsvc *t, const char *sched, uint32_t n,
                                const int32_t *weights, const union lvs_addr *addrs)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->d = calloc(n ? n : 1, sizeof(*t->d));
	t->st = calloc(n ? n : 1, sizeof(*t->st));
	t->dp = calloc(n ? n : 1, sizeof(*t->dp));
	assert_non_null(t->d);
	assert_non_null(t->st);
	assert_non_null(t->dp);
	t->svc.c.af = AF_INET;
	t->svc.c.proto = IPPROTO_TCP;
	t->svc.c.port = htons(80);
	t->svc.c.addr = t_ip4("10.0.0.1");
	snprintf(t->svc.c.sched, sizeof(t->svc.c.sched), "%s", sched);
	t->svc.st = &t->sst;
	t->svc.sched = lvs_sched_find(sched);
	assert_non_null(t->svc.sched);
	for (uint32_t i = 0; i < n; i++) {
		struct lvs_dest *d = &t->d[i];
		d->c.af = AF_INET;
		d->c.fwd = LVS_FWD_ROUTE;
		d->c.port = htons(80);
		d->c.weight = weights ? weights[i] : 1;
		d->c.addr = addrs ? addrs[i] : t_dest_addr(i);
		t->st[i].af = AF_INET;
		t->st[i].addr = d->c.addr;
		t->st[i].port = d->c.port;
		t->st[i].flags = LVS_DEST_F_AVAILABLE;
		d->st = &t->st[i];
		d->svc = &t->svc;
		d->pos = i;
		t->dp[i] = d;
	}
	t->svc.dests = t->dp;
	t->svc.ndests = n;
}

static inline void tsvc_init(struct tsvc *t)
{
	assert_int_equal(t->svc.sched->init(&t->svc), 0);
}

static inline void tsvc_setup(struct tsvc *t, const char *sched, uint32_t n, const int32_t *weights)
{
	tsvc_prepare(t, sched, n, weights, NULL);
	tsvc_init(t);
}

static inline void tsvc_teardown(struct tsvc *t)
{
	t->svc.sched->done(&t->svc);
	assert_null(t->svc.sched_data);
	free(t->d);
	free(t->st);
	free(t->dp);
}

/* Tell the scheduler, with its lock discipline, that dest i changed. */
static inline void tsvc_notify(struct tsvc *t, uint32_t i)
{
	const struct lvs_sched_ops *ops = t->svc.sched;

	if (!ops->counts_changed)
		return;
	if (ops->locked)
		lvs_spin_lock(&t->svc.sched_lock);
	ops->counts_changed(&t->svc, &t->d[i]);
	if (ops->locked)
		lvs_spin_unlock(&t->svc.sched_lock);
}

static inline void tsvc_counts(struct tsvc *t, uint32_t i, int32_t active, int32_t inactive)
{
	t->st[i].activeconns = active;
	t->st[i].inactconns = inactive;
	tsvc_notify(t, i);
}

static inline void tsvc_overload(struct tsvc *t, uint32_t i, bool on)
{
	if (on)
		t->st[i].flags |= LVS_DEST_F_OVERLOAD;
	else
		t->st[i].flags &= ~LVS_DEST_F_OVERLOAD;
	tsvc_notify(t, i);
}

/* Pick through the registry wrapper; returns the dest index or -1. */
static inline int tsvc_pick_pi(struct tsvc *t, const struct lvs_pkt_info *pi, lvs_time_t now)
{
	struct lvs_dest *d = lvs_sched_pick(&t->svc, pi, now);

	assert_int_equal(t->svc.sched_lock.v, 0);
	if (!d)
		return -1;
	assert_ptr_equal(d->svc, &t->svc);
	assert_true(d->pos < t->n);
	assert_ptr_equal(t->dp[d->pos], d);
	return (int)d->pos;
}

static inline int tsvc_pick(struct tsvc *t)
{
	struct lvs_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.af = AF_INET;
	pi.proto = IPPROTO_TCP;
	pi.saddr = t_ip4("172.16.0.1");
	pi.daddr = t_ip4("10.0.0.1");
	pi.sport = htons(40000);
	pi.dport = htons(80);
	return tsvc_pick_pi(t, &pi, 0);
}

/* Deterministic test PRNG (xorshift64*). */
static inline uint64_t t_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static inline uint32_t t_rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(t_rand(s) % n);
}

#endif
