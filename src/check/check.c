/*
 * check.c - the health-check core (see check.h): checks de-duplicated by
 * what they probe, their schedule and state (keepalived's checker
 * retry / delay_before_retry / delay_loop / warmup / alpha), real
 * servers alive while all their checks are up, and the virtual server's
 * quorum with its sorry server (keepalived's check/ipwrapper.c:
 * update_svr_checker_state, perform_svr_state, update_quorum_state).
 *
 * What the verdicts do goes to the model as destination health, never as
 * a changed configured weight (misc_dynamic / FILE_CHECK weights aside,
 * which keepalived also writes into IPVS): every service of a virtual
 * server (one per group member) gets the state its servers call for,
 * computed afresh from the state here (vsi_sync), so the model follows
 * whatever happened before.  A destination an operator deleted with
 * lvsadm is left deleted (the model says -ENOENT; ignored).
 *
 * Two threads.  The probes, their schedule and their figures live on the
 * checker thread (its own event base: a stalled control loop, a long
 * listing or a reload, does not make probes late); what a verdict does
 * to servers, quorum and model lives on the control thread.  A check
 * whose state changes (up, down, a weight) posts a verdict to a queue the
 * control loop drains.  The control thread changes the set of checks
 * (start, reload, stop) by a call run on the checker thread while it
 * waits, so each thread owns its half of a check outright; the figures
 * shown in listings (probes, failures, reasons, lateness) are under one
 * mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "evthread.h"
#include "check_notify.h"
#include "checker.h"
#include "log.h"

/* A probe that overruns its deadline by this much is cancelled. */
#define CHECK_GRACE_US 1000000
#define CHECK_RETRY_US 100000 /* a busy model is tried again this soon */
#define LATE_BUCKET_US 100
#define LATE_BUCKETS 10001
#define CHECK_THREAD_NAME "lvsd-check"
/* Two priorities: the schedule's timers (0) run before the probes' I/O (1). */
#define CHECK_PRIO_TIMER     0
#define CHECK_PRIOS          2

struct rsi;
struct runner;

/* A verdict that changes something, for the control thread: the check's
 * state and, when weights says so, what it does to its servers' weights:
 * an absolute weight (misc_dynamic; -1: none) and an adjustment
 * (FILE_CHECK). */
struct verdict {
	struct runner *r;
	bool up;
	bool weights;
	int32_t abs, delta;
	char why[96];
};

/* The checker thread, with what both threads share. */
struct cthread {
	struct lvs_evthread et;
	struct event_base *base;   /* the probes': et's */
	int q_fd;                  /* checker -> control: verdicts wait */
	struct event *q_ev;        /* on the control base */
	pthread_mutex_t mu;        /* everything below */
	struct verdict *q;         /* the verdicts not yet applied */
	unsigned qn, qcap;
	/* the figures: probes cancelled at their deadline; how late probes
	 * started against their schedule, 100 us buckets up to 1 s, the last
	 * one for later */
	uint64_t overruns;
	uint32_t late[LATE_BUCKETS];
	uint64_t late_n, late_max_us, late_sum_us;
};

/* One distinct check: a target probed on its own schedule. */
struct runner {
	/* ---- constant once built ---- */
	struct cthread *t;
	struct runner *hnext;
	uint64_t hash;
	char *key;
	const struct lvs_checker_ops *ops;
	const struct ka_checker *cfg;
	char name[128];
	uint64_t delay_loop_us, dbr_us, warmup_us, first_us;
	uint32_t retry;
	const struct runner *old; /* the same check before a reload, while arming */
	/* ---- the checker thread's ---- */
	struct lvs_probe p;
	uint32_t retry_it;
	bool up_t, running, has_run;
	int32_t weight; /* the last weight a probe set, -1: none */
	int32_t delta;  /* the last adjustment a probe set */
	struct event *timer, *watchdog;
	uint64_t started_ns;
	uint64_t due_ns; /* when the timer should fire */
	/* ---- the figures: written by the checker thread under t->mu ---- */
	uint64_t probes, failures, last_ns; /* last_ns: the last probe's duration */
	char why[96];
	/* ---- the control thread's ---- */
	struct lvs_checks *cs;
	bool up;   /* the state the servers were told */
	bool dead; /* replaced by a reload: its verdicts are stale */
	int32_t abs_c, delta_c; /* the weight and adjustment the servers were told */
	struct rsi **subs; /* servers that have this check */
	unsigned nsubs;
};

/* A real server of a virtual server. */
struct rsi {
	struct vsi *v;
	const struct ka_rs *rs;
	struct lvs_dest_conf d;
	struct runner **runs;
	unsigned nruns, nfailed;
	bool alive;
	bool wpending;  /* d.weight (in force: the configured one, or the checks')
			 * not yet written (the model was busy) */
	char why[96];
};

/* A virtual server: its IPVS services (one per group member), servers,
 * quorum state and sorry server. */
struct vsi {
	struct lvs_checks *cs;
	const struct ka_vs *vs;
	struct lvs_svc_key *keys;
	unsigned nkeys;
	struct rsi *rss;
	unsigned nrs;
	struct lvs_dest_conf sorry; /* valid when vs->sorry */
	bool sorry_dup;             /* the sorry server is also a real server */
	bool quorum_up;
	bool pending;   /* states not yet applied (the model was busy) */
	char name[80];
};

struct lvs_checks {
	struct event_base *base;
	struct lvs_model *m;
	struct lvs_checks_hooks hooks;
	struct vsi *vsis;
	unsigned nvsi;
	struct runner **tab; /* hash of runners by key */
	unsigned tabsize, nrunners;
	struct runner **runners; /* in creation order */
	struct cthread *t;
	const struct ka_config *kc; /* the file the checks were built from */
	const struct lvs_checks *prev; /* while reloading: the checks replaced */
	struct event *retry;           /* applies what waited for a busy model */
};

/* ---- the model ---- */

static void set_health(struct vsi *v, const struct lvs_dest_conf *d, enum lvs_dest_health h,
		       const char *why)
{
	for (unsigned k = 0; k < v->nkeys; k++) {
		int rc = lvs_model_set_dest_health(v->cs->m, &v->keys[k], d, h, why);
		if (rc && rc != -ENOENT && rc != -ESRCH)
			lvs_warn("checks: %s: health of a server: %s", v->name, strerror(-rc));
	}
}

/* The sorry server in (weight as configured), at weight 0, or out. */
static void set_sorry(struct vsi *v, int want)
{
	for (unsigned k = 0; k < v->nkeys; k++) {
		struct lvs_dest_conf cur;
		enum lvs_dest_health h;
		bool have = !lvs_model_get_dest(v->cs->m, &v->keys[k], &v->sorry, &cur, &h, NULL, 0);
		int rc = 0;

		if (want < 0) {
			if (have)
				rc = lvs_model_del_dest(v->cs->m, &v->keys[k], &v->sorry);
		} else {
			if (!have)
				rc = lvs_model_add_dest(v->cs->m, &v->keys[k], &v->sorry);
			if (!rc)
				rc = lvs_model_set_dest_health(v->cs->m, &v->keys[k], &v->sorry,
							       want ? LVS_DEST_UP : LVS_DEST_QUIESCED,
							       want ? NULL : "sorry server not in use");
		}
		if (rc && rc != -ENOENT && rc != -ESRCH)
			lvs_warn("checks: %s: sorry server: %s", v->name, strerror(-rc));
	}
}

/* Bring every service of v to what its servers' states call for. */
static void vsi_sync(struct vsi *v)
{
	bool sorry_in = v->vs->sorry && !v->quorum_up;

	for (unsigned i = 0; i < v->nrs; i++) {
		struct rsi *r = &v->rss[i];

		if (!r->alive)
			set_health(v, &r->d, r->rs->inhibit == 1 ? LVS_DEST_QUIESCED : LVS_DEST_DOWN,
				   r->why[0] ? r->why : "check failed");
		else if (sorry_in && !(v->sorry_dup && lvs_addr_eq(&r->d.addr, &v->sorry.addr) &&
				       r->d.port == v->sorry.port))
			set_health(v, &r->d, LVS_DEST_DOWN, "quorum lost: sorry server in use");
		else
			set_health(v, &r->d, LVS_DEST_UP, NULL);
	}
	if (v->vs->sorry && !v->sorry_dup)
		set_sorry(v, sorry_in ? 1 : v->vs->sorry_inhibit ? 0 : -1);
}

/* vsi_sync between the daemon's hooks. */
/* The model is in another's open batch (an lvsadm -R job): a change made
 * now would join that batch, and go if it is undone.  What waits is
 * applied when the batch is over (vsi_flush: states are applied from
 * the checks' state, so applying late is exact). */
static bool model_busy(struct lvs_checks *cs)
{
	if (!cs->hooks.busy || !cs->hooks.busy(cs->hooks.arg))
		return false;
	if (cs->retry && !evtimer_pending(cs->retry, NULL)) {
		struct timeval tv = {.tv_usec = CHECK_RETRY_US};
		evtimer_add(cs->retry, &tv);
	}
	return true;
}

static void rsi_weight_write(struct rsi *r)
{
	struct vsi *v = r->v;

	r->wpending = false;
	for (unsigned k = 0; k < v->nkeys; k++) {
		int rc = lvs_model_edit_dest(v->cs->m, &v->keys[k], &r->d);
		if (rc && rc != -ENOENT && rc != -ESRCH)
			lvs_warn("checks: %s: weight: %s", v->name, strerror(-rc));
	}
}

/* vsi_sync (and the weights waiting) between the daemon's hooks. */
static void vsi_apply(struct vsi *v)
{
	struct lvs_checks *cs = v->cs;

	if (model_busy(cs)) {
		v->pending = true;
		return;
	}
	v->pending = false;
	if (cs->hooks.begin)
		cs->hooks.begin(cs->hooks.arg);
	for (unsigned i = 0; i < v->nrs; i++)
		if (v->rss[i].wpending)
			rsi_weight_write(&v->rss[i]);
	vsi_sync(v);
	if (cs->hooks.end)
		cs->hooks.end(cs->hooks.arg);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_checks *cs = arg;

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < cs->nvsi; i++)
		if (cs->vsis[i].pending)
			vsi_apply(&cs->vsis[i]);
}

/* ---- quorum ---- */

static int64_t live_weight(const struct vsi *v)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < v->nrs; i++)
		if (v->rss[i].alive)
			sum += v->rss[i].d.weight;
	return sum;
}

static void quorum_update(struct vsi *v)
{
	int64_t sum = live_weight(v);
	int64_t threshold = (int64_t)v->vs->quorum +
			    (v->quorum_up ? -1 : 1) * (int64_t)v->vs->hysteresis;

	if (!v->quorum_up && sum >= threshold) {
		v->quorum_up = true;
		lvs_notice("checks: %s: gained quorum (%lld >= %lld)", v->name, (long long)sum,
			   (long long)threshold);
		if (v->vs->quorum_up)
			lvs_check_notify(v->cs->base, v->vs->quorum_up, v->name);
	} else if (v->quorum_up && (!sum || sum < threshold)) {
		v->quorum_up = false;
		lvs_notice("checks: %s: lost quorum (%lld < %lld)%s", v->name, (long long)sum,
			   (long long)threshold, v->vs->sorry ? ": sorry server in" : "");
		if (v->vs->quorum_down)
			lvs_check_notify(v->cs->base, v->vs->quorum_down, v->name);
	}
}

/* ---- servers ---- */

static const char *rs_str(const struct rsi *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->d.af, &r->d.addr, a, sizeof(a));
	snprintf(buf, len, r->d.af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(r->d.port));
	return buf;
}

static void rsi_update(struct rsi *r, const char *why)
{
	bool alive = r->nfailed == 0;
	char b[64];

	if (why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	if (alive == r->alive)
		return;
	r->alive = alive;
	if (alive)
		r->why[0] = '\0';
	lvs_notice("checks: %s of %s: %s%s%s", rs_str(r, b, sizeof(b)), r->v->name,
		   alive ? "up" : r->rs->inhibit == 1 ? "down (weight 0)" : "down",
		   alive ? "" : ": ", alive ? "" : r->why);
	if (alive ? r->rs->notify_up : r->rs->notify_down)
		lvs_check_notify(r->v->cs->base, alive ? r->rs->notify_up : r->rs->notify_down,
				 r->v->name);
	quorum_update(r->v);
	vsi_apply(r->v);
}

/* The server's weight from its checks, as keepalived sums it: the
 * configured weight plus each check's part, a misc_dynamic weight W
 * counting as W - configured and a FILE_CHECK adjustment as itself (one
 * misc_dynamic check alone sets W).  Into the model as the server's
 * weight, as keepalived writes it into IPVS. */
static void rsi_weight(struct rsi *r)
{
	struct vsi *v = r->v;
	int64_t w = r->rs->weight;

	for (unsigned k = 0; k < r->nruns; k++)
		w += r->runs[k]->abs_c >= 0 ? (int64_t)r->runs[k]->abs_c - (int64_t)r->rs->weight
					    : r->runs[k]->delta_c;
	w = w < 0 ? 0 : w > INT32_MAX ? INT32_MAX : w;
	if (w == r->d.weight)
		return;
	r->d.weight = (int32_t)w;
	r->wpending = true;
	quorum_update(v);
	vsi_apply(v);
}

/* ---- verdicts: checker thread -> control thread ---- */

/* Checker thread: post a verdict for the control thread (weights: the
 * runner's weight and delta with it). */
static void verdict_post(struct runner *r, bool up, bool weights, const char *why)
{
	struct cthread *t = r->t;
	bool wake;

	pthread_mutex_lock(&t->mu);
	if (t->qn == t->qcap) {
		unsigned cap = t->qcap ? t->qcap * 2 : 64;
		struct verdict *q = realloc(t->q, cap * sizeof(*q));

		if (!q) {
			/* nothing to do but say so: the state shows in the
			 * listing, and the next change posts again */
			pthread_mutex_unlock(&t->mu);
			lvs_err("checks: %s: verdict lost: out of memory", r->name);
			return;
		}
		t->q = q;
		t->qcap = cap;
	}
	t->q[t->qn] = (struct verdict){
		.r = r, .up = up, .weights = weights, .abs = r->weight, .delta = r->delta};
	snprintf(t->q[t->qn].why, sizeof(t->q[t->qn].why), "%s", why ? why : "");
	wake = t->qn++ == 0;
	pthread_mutex_unlock(&t->mu);
	if (wake)
		(void)!write(t->q_fd, &(uint64_t){1}, sizeof(uint64_t));
}

/* Control thread: what a verdict does to the servers that have the check. */
static void verdict_apply(const struct verdict *m)
{
	struct runner *r = m->r;

	if (r->dead)
		return;
	if (m->up != r->up) {
		r->up = m->up;
		for (unsigned i = 0; i < r->nsubs; i++) {
			struct rsi *s = r->subs[i];

			if (m->up)
				s->nfailed--;
			else
				s->nfailed++;
			rsi_update(s, m->up ? NULL : m->why);
		}
	}
	if (m->weights) {
		r->abs_c = m->abs;
		r->delta_c = m->delta;
		for (unsigned i = 0; i < r->nsubs; i++)
			rsi_weight(r->subs[i]);
	}
}

/* Control thread: apply the verdicts waiting. */
static void verdicts_drain(struct cthread *t)
{
	struct verdict *q;
	unsigned n;

	pthread_mutex_lock(&t->mu);
	q = t->q;
	n = t->qn;
	t->q = NULL;
	t->qn = t->qcap = 0;
	pthread_mutex_unlock(&t->mu);
	for (unsigned i = 0; i < n; i++)
		verdict_apply(&q[i]);
	free(q);
}

static void verdicts_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	verdicts_drain(arg);
}

/* ---- runners (checker thread) ---- */

/* The next probe at due_ns (monotonic), or now when that is past. */
static void runner_schedule_at(struct runner *r, uint64_t due_ns)
{
	uint64_t now = lvs_probe_now_ns(), us = due_ns > now ? (due_ns - now) / 1000 : 0;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
			     .tv_usec = (suseconds_t)(us % 1000000)};

	r->due_ns = due_ns > now ? due_ns : now;
	evtimer_add(r->timer, &tv);
}

static void runner_schedule(struct runner *r, uint64_t us)
{
	runner_schedule_at(r, lvs_probe_now_ns() + us * 1000);
}

/* The next regular probe: delay_loop after the last one was due, so
 * checks keep the spread warmup gave their first probes.  Counting from
 * the end of each probe instead lets probes that end together start
 * together, until thousands of them run in bursts and start late. */
static void runner_next(struct runner *r)
{
	runner_schedule_at(r, r->due_ns + r->delay_loop_us * 1000);
}

/* under t->mu */
static void late_note(struct cthread *t, uint64_t now, uint64_t due)
{
	uint64_t us = now > due ? (now - due) / 1000 : 0;
	uint64_t b = us / LATE_BUCKET_US;

	t->late[b < LATE_BUCKETS - 1 ? b : LATE_BUCKETS - 1]++;
	t->late_n++;
	t->late_sum_us += us;
	if (us > t->late_max_us)
		t->late_max_us = us;
}

/* The q-quantile of the lateness (upper bound of its bucket), us; under
 * t->mu. */
static uint64_t late_quantile(const struct cthread *t, double q)
{
	uint64_t want = (uint64_t)((double)t->late_n * q), acc = 0;

	if (!t->late_n)
		return 0;
	for (unsigned b = 0; b < LATE_BUCKETS; b++) {
		acc += t->late[b];
		if (acc > want)
			return b == LATE_BUCKETS - 1 ? t->late_max_us
						      : (uint64_t)(b + 1) * LATE_BUCKET_US;
	}
	return t->late_max_us;
}

/* A probe's verdict: weight, an absolute weight or -1; delta, an
 * adjustment or NULL. */
static void runner_verdict(struct runner *r, bool ok, int32_t weight, const int32_t *delta,
			   const char *why)
{
	bool was_up = r->up_t, weights = false;

	pthread_mutex_lock(&r->t->mu);
	r->probes++;
	r->last_ns = lvs_probe_now_ns() - r->started_ns;
	if (!ok) {
		r->failures++;
		snprintf(r->why, sizeof(r->why), "%s", why && why[0] ? why : "failed");
	} else {
		r->why[0] = '\0';
	}
	pthread_mutex_unlock(&r->t->mu);
	if (ok) {
		r->retry_it = 0;
		r->up_t = true;
		if (weight >= 0 && weight != r->weight) {
			r->weight = weight;
			weights = true;
		} else if (weight < 0 && r->weight >= 0 && r->cfg->type == KA_CHECK_MISC) {
			/* exit 0 after a dynamic weight: the configured one again,
			 * as keepalived */
			r->weight = -1;
			weights = true;
		}
		if (delta && *delta != r->delta) {
			r->delta = *delta;
			weights = true;
		}
		runner_next(r);
	} else if (r->retry_it < r->retry) {
		r->retry_it++;
		lvs_debug("checks: %s: %s (retry %u of %u)", r->name, r->why, r->retry_it, r->retry);
		runner_schedule(r, r->dbr_us);
	} else {
		r->retry_it = 0;
		if (r->up_t || !r->has_run)
			lvs_info("checks: %s: %s", r->name, r->why);
		r->up_t = false;
		runner_next(r);
	}
	r->has_run = true;
	if (r->up_t != was_up || weights)
		verdict_post(r, r->up_t, weights, r->up_t ? NULL : r->why);
}

static void probe_done(struct lvs_probe *p, enum lvs_probe_result res, int32_t weight,
		       const char *why)
{
	struct runner *r = p->done_arg;

	if (!r->running)
		return; /* a checker breaking the contract: ignore */
	r->running = false;
	evtimer_del(r->watchdog);
	runner_verdict(r, res == LVS_PROBE_OK, weight, p->has_delta ? &p->delta : NULL, why);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;

	(void)fd;
	(void)what;
	if (!r->running)
		return;
	r->ops->cancel(&r->p);
	r->running = false;
	pthread_mutex_lock(&r->t->mu);
	r->t->overruns++;
	pthread_mutex_unlock(&r->t->mu);
	runner_verdict(r, false, -1, NULL, "timeout (the probe overran)");
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	struct timeval tv;
	uint64_t grace;
	int rc;

	(void)fd;
	(void)what;
	if (r->running)
		return;
	r->started_ns = lvs_probe_now_ns();
	pthread_mutex_lock(&r->t->mu);
	late_note(r->t, r->started_ns, r->due_ns);
	pthread_mutex_unlock(&r->t->mu);
	r->p.deadline_ns = r->started_ns + r->p.timeout_us * 1000;
	r->p.has_delta = false;
	r->p.delta = 0;
	r->running = true;
	rc = r->ops->start(&r->p);
	if (rc) {
		char why[96];

		r->running = false;
		snprintf(why, sizeof(why), "cannot probe: %s", strerror(-rc));
		runner_verdict(r, false, -1, NULL, why);
		return;
	}
	grace = r->p.timeout_us + CHECK_GRACE_US;
	tv.tv_sec = (time_t)(grace / 1000000);
	tv.tv_usec = (suseconds_t)(grace % 1000000);
	evtimer_add(r->watchdog, &tv);
}

/* Checker thread: the runner's events, its state carried over from the
 * check it replaces, and its first probe scheduled.  -ENOMEM. */
static int runner_arm(struct runner *r)
{
	const struct runner *old = r->old;

	r->timer = evtimer_new(r->t->base, timer_cb, r);
	r->watchdog = evtimer_new(r->t->base, watchdog_cb, r);
	if (!r->timer || !r->watchdog)
		return -ENOMEM;
	event_priority_set(r->timer, CHECK_PRIO_TIMER);
	event_priority_set(r->watchdog, CHECK_PRIO_TIMER);
	if (old) {
		/* the same check before a reload: its state goes on (a server
		 * still failing is not re-added) */
		r->up_t = old->up_t;
		r->has_run = old->has_run;
		r->retry_it = old->retry_it;
		r->weight = old->weight;
		r->delta = old->delta;
		pthread_mutex_lock(&r->t->mu);
		r->probes = old->probes;
		r->failures = old->failures;
		r->last_ns = old->last_ns;
		memcpy(r->why, old->why, sizeof(r->why));
		pthread_mutex_unlock(&r->t->mu);
		r->old = NULL;
		/* a verdict of the old check not yet applied is dropped with
		 * it: this one tells the servers where the check stands */
		if (r->up_t != r->up || r->weight >= 0 || r->delta)
			verdict_post(r, r->up_t, r->weight >= 0 || r->delta,
				     r->up_t ? NULL : r->why);
	}
	runner_schedule(r, r->first_us);
	return 0;
}

/* Checker thread: the probe cancelled, the events gone. */
static void runner_disarm(struct runner *r)
{
	if (r->running)
		r->ops->cancel(&r->p);
	r->running = false;
	if (r->timer)
		event_free(r->timer);
	if (r->watchdog)
		event_free(r->watchdog);
	r->timer = r->watchdog = NULL;
}

/* ---- the checker thread ---- */

/* Control thread: run fn(arg) on the checker thread and wait for it. */
static void cthread_call(struct cthread *t, void (*fn)(void *), void *arg)
{
	lvs_evthread_call(&t->et, fn, arg);
}

/* The checker thread's nice value and CPUs: global_defs' checker_priority
 * and checker_cpu_affinity, else the process's. */
static void cthread_tune(struct cthread *t, const struct ka_global *g)
{
	lvs_evthread_tune(&t->et, g->checker_priority_set, g->checker_priority, g->checker_cpus,
			  g->ncheck_cpus, "checks: checker_priority / checker_cpu_affinity");
}

static void cthread_free(struct cthread *t)
{
	if (!t)
		return;
	lvs_evthread_stop(&t->et);
	if (t->q_ev)
		event_free(t->q_ev);
	if (t->q_fd >= 0)
		close(t->q_fd);
	pthread_mutex_destroy(&t->mu);
	free(t->q);
	free(t);
}

/* The checker thread, its verdicts drained on control base cbase. */
static struct cthread *cthread_new(struct event_base *cbase)
{
	struct cthread *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->q_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->q_fd < 0)
		goto fail;
	t->q_ev = event_new(cbase, t->q_fd, EV_READ | EV_PERSIST, verdicts_cb, t);
	if (!t->q_ev || event_add(t->q_ev, NULL))
		goto fail;
	if (lvs_evthread_start(&t->et, CHECK_THREAD_NAME, CHECK_PRIOS))
		goto fail;
	t->base = t->et.base;
	return t;
fail:
	cthread_free(t);
	return NULL;
}

/* ---- building from the configuration ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static void put_addr(FILE *f, const struct ka_addr *a)
{
	char b[INET6_ADDRSTRLEN] = "-";

	if (a->af != AF_UNSPEC)
		inet_ntop(a->af, &a->a, b, sizeof(b));
	fprintf(f, "%s|", b);
}

/* What makes two checks the same: the probe (type, target, source,
 * timeouts), the schedule and every type-specific parameter. */
static char *runner_key(const struct lvs_probe *p, const struct ka_checker *ck, int alpha)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ka_addr t = {.af = p->af, .a = p->addr};

	if (!f)
		return NULL;
	fprintf(f, "%d|", ck->type);
	put_addr(f, &t);
	fprintf(f, "%u|", p->port);
	put_addr(f, &p->bindto);
	fprintf(f, "%u|%s|%u|%llu|%llu|%u|%llu|%llu|%d|", p->bind_port,
		p->bind_if ? p->bind_if : "", p->fwmark, (unsigned long long)p->timeout_us,
		(unsigned long long)ck->delay_loop, ck->retry,
		(unsigned long long)ck->delay_before_retry, (unsigned long long)ck->warmup, alpha);
	fprintf(f, "%s|", p->virtualhost ? p->virtualhost : "");
	for (const struct ka_url *u = ck->urls; u; u = u->next) {
		fprintf(f, "u:%s|%s|%s|%s|%d|%u|%llu|%llu|%llu|%llu|", u->path ? u->path : "",
			u->digest ? u->digest : "", u->virtualhost ? u->virtualhost : "",
			u->regex ? u->regex : "", u->regex_no_match, u->regex_options,
			(unsigned long long)u->regex_min_offset,
			(unsigned long long)u->regex_max_offset,
			(unsigned long long)u->regex_stack_start,
			(unsigned long long)u->regex_stack_max);
		for (unsigned i = 0; i < u->nstatus; i++)
			fprintf(f, "%u-%u,", u->status[i].lo, u->status[i].hi);
	}
	fprintf(f, "%s|%s|%d|%s|", ck->virtualhost ? ck->virtualhost : "",
		ck->http_protocol ? ck->http_protocol : "", ck->enable_sni,
		ck->sni_name ? ck->sni_name : "");
	fprintf(f, "%s|", ck->helo_name ? ck->helo_name : "");
	for (const struct ka_smtp_host *h = ck->hosts; h; h = h->next) {
		fprintf(f, "h:");
		put_addr(f, &h->conn.connect_ip);
		fprintf(f, "%u|", h->conn.connect_port);
	}
	fprintf(f, "%s|%llu|%d|%s|%s|", ck->misc_path ? ck->misc_path : "",
		(unsigned long long)ck->misc_timeout, ck->misc_dynamic, ck->user ? ck->user : "",
		ck->group ? ck->group : "");
	for (uint32_t i = 0; i < ck->payload_len; i++)
		fprintf(f, "%02x", ck->payload[i]);
	fprintf(f, "|r:");
	for (uint32_t i = 0; i < ck->reply_len; i++)
		fprintf(f, "%02x%02x", ck->reply_data[i], ck->reply_mask ? ck->reply_mask[i] : 0);
	fprintf(f, "|%d|%u|%u|%s|%s|%s|%d|%d|", ck->require_reply, ck->min_reply_length,
		ck->max_reply_length, ck->dns_type ? ck->dns_type : "",
		ck->dns_name ? ck->dns_name : "", ck->track_file ? ck->track_file : "",
		ck->file_weight, ck->file_weight_reverse);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A runner disarmed (or never armed). */
static void runner_free(struct runner *r)
{
	free(r->subs);
	free(r->key);
	free(r);
}

static int tab_grow(struct lvs_checks *cs)
{
	unsigned size = cs->tabsize ? cs->tabsize * 2 : 64;
	struct runner **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (unsigned i = 0; i < cs->tabsize; i++)
		for (struct runner *r = cs->tab[i], *nx; r; r = nx) {
			nx = r->hnext;
			r->hnext = t[r->hash & (size - 1)];
			t[r->hash & (size - 1)] = r;
		}
	free(cs->tab);
	cs->tab = t;
	cs->tabsize = size;
	return 0;
}

static struct runner *tab_find(const struct lvs_checks *cs, const char *key, uint64_t h)
{
	for (struct runner *r = cs && cs->tabsize ? cs->tab[h & (cs->tabsize - 1)] : NULL; r;
	     r = r->hnext)
		if (r->hash == h && !strcmp(r->key, key))
			return r;
	return NULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? ((uint64_t)random() << 31 ^ (uint64_t)random()) % n : 0;
}

/* The runner for checker ck of real server rs (an existing identical one,
 * or a new one), with s subscribed.  NULL and *err on failure. */
static struct runner *runner_get(struct lvs_checks *cs, const struct ka_vs *vs,
				 const struct ka_rs *rs, const struct ka_checker *ck,
				 struct rsi *s, int *err)
{
	const struct lvs_checker_ops *ops = lvs_checker_find(ck->type);
	struct lvs_probe p;
	struct runner *r;
	struct rsi **subs;
	int alpha = ck->alpha >= 0 ? ck->alpha : rs->alpha >= 0 ? rs->alpha : vs->alpha;
	char *key;
	uint64_t h;

	*err = -EOPNOTSUPP;
	if (!ops)
		return NULL;
	if (ck->type == KA_CHECK_MISC) {
		char why[PATH_MAX + 64];

		if (lvs_check_misc_unsafe(ck, why, sizeof(why)) == 1) {
			if (cs->kc && cs->kc->global.script_security) {
				lvs_warn("checks: %s:%u: MISC_CHECK script runs as root and %s: "
					 "disabled (enable_script_security)",
					 ck->loc.file, ck->loc.line, why);
				*err = -EPERM;
				return NULL;
			}
			lvs_warn("checks: %s:%u: MISC_CHECK script runs as root and %s "
				 "(enable_script_security would disable it)",
				 ck->loc.file, ck->loc.line, why);
		}
	}
	memset(&p, 0, sizeof(p));
	p.base = cs->t->base;
	p.cfg = ck;
	if (ck->conn.connect_ip.af != AF_UNSPEC) {
		p.af = ck->conn.connect_ip.af;
		p.addr = ck->conn.connect_ip.a;
	} else {
		p.af = rs->addr.af;
		p.addr = rs->addr.a;
	}
	p.port = ck->conn.connect_port != KA_UNSET_U32 ? (uint16_t)ck->conn.connect_port : rs->port;
	p.bindto = ck->conn.bindto;
	p.bind_port = ck->conn.bind_port != KA_UNSET_U32 ? (uint16_t)ck->conn.bind_port : 0;
	p.bind_if = ck->conn.bind_if;
	p.fwmark = ck->conn.fwmark;
	p.virtualhost = ck->virtualhost ? ck->virtualhost
			: rs->virtualhost ? rs->virtualhost : vs->virtualhost;
	p.timeout_us = ck->conn.connect_timeout != KA_UNSET_TIME ? ck->conn.connect_timeout
			: rs->connect_timeout != KA_UNSET_TIME ? rs->connect_timeout
			: KA_DEF_CONNECT_TIMEOUT;
	if (ck->type == KA_CHECK_MISC) /* a script's budget: misc_timeout, else delay_loop */
		p.timeout_us = ck->misc_timeout ? ck->misc_timeout
			       : ck->delay_loop != KA_UNSET_TIME ? ck->delay_loop : KA_DEF_DELAY_LOOP;
	if (!p.timeout_us)
		p.timeout_us = 1;
	*err = -ENOMEM;
	key = runner_key(&p, ck, alpha);
	if (!key)
		return NULL;
	h = hash_str(key);
	r = tab_find(cs, key, h);
	if (r) {
		free(key);
	} else {
		char tgt[64];

		if (cs->nrunners + 1 > cs->tabsize / 2 && tab_grow(cs)) {
			free(key);
			return NULL;
		}
		r = calloc(1, sizeof(*r));
		struct runner **nr = r ? realloc(cs->runners, (cs->nrunners + 1) * sizeof(*nr))
				       : NULL;
		if (!nr) {
			free(r);
			free(key);
			return NULL;
		}
		cs->runners = nr;
		r->cs = cs;
		r->t = cs->t;
		r->key = key;
		r->hash = h;
		r->ops = ops;
		r->cfg = ck;
		r->p = p;
		r->p.done = probe_done;
		r->p.done_arg = r;
		snprintf(r->name, sizeof(r->name), "%s %s", ops->name,
			 lvs_probe_target(&r->p, tgt, sizeof(tgt)));
		r->p.name = r->name;
		r->delay_loop_us = ck->delay_loop != KA_UNSET_TIME ? ck->delay_loop
				   : KA_DEF_DELAY_LOOP;
		r->dbr_us = ck->delay_before_retry != KA_UNSET_TIME ? ck->delay_before_retry
			    : 1000000;
		r->warmup_us = ck->warmup != KA_UNSET_TIME ? ck->warmup : r->delay_loop_us;
		r->retry = ck->retry != KA_UNSET_U32 ? ck->retry : 1;
		r->up = r->up_t = !alpha;
		r->weight = r->abs_c = -1;
		r->hnext = cs->tab[h & (cs->tabsize - 1)];
		cs->tab[h & (cs->tabsize - 1)] = r;
		cs->runners[cs->nrunners++] = r;
		r->old = tab_find(cs->prev, key, h);
		if (r->old) {
			/* the same check before a reload: the servers start from
			 * the state they were told (runner_arm carries the rest) */
			r->up = r->old->up;
			pthread_mutex_lock(&cs->t->mu);
			memcpy(r->why, r->old->why, sizeof(r->why));
			pthread_mutex_unlock(&cs->t->mu);
			r->first_us = rnd_below(r->delay_loop_us + 1);
		} else {
			/* the first probe after a random part of warmup, as keepalived */
			r->first_us = rnd_below(r->warmup_us + 1);
		}
	}
	subs = realloc(r->subs, (r->nsubs + 1) * sizeof(*subs));
	if (!subs)
		return NULL;
	r->subs = subs;
	r->subs[r->nsubs++] = s;
	if (!r->up)
		s->nfailed++;
	*err = 0;
	return r;
}

struct keys_acc {
	struct vsi *v;
	int err;
};

static int add_key(void *arg, const struct ka_vs *vs, const struct lvs_svc_conf *c)
{
	struct keys_acc *a = arg;
	struct lvs_svc_key *nk = realloc(a->v->keys, (a->v->nkeys + 1) * sizeof(*nk));

	(void)vs;
	if (!nk)
		return -ENOMEM;
	a->v->keys = nk;
	lvs_svc_conf_key(c, &nk[a->v->nkeys++]);
	return 0;
}

static int vsi_build(struct lvs_checks *cs, struct vsi *v, const struct ka_vs *vs, char *err,
		     size_t errlen)
{
	struct keys_acc acc = {.v = v};
	unsigned i = 0;
	int rc;

	v->cs = cs;
	v->vs = vs;
	ka_vs_str(vs, v->name, sizeof(v->name));
	rc = ka_vs_services(vs, add_key, &acc, err, errlen);
	if (rc)
		return rc;
	v->rss = calloc(vs->nrs ? vs->nrs : 1, sizeof(*v->rss));
	if (!v->rss)
		return -ENOMEM;
	if (vs->sorry)
		ka_rs_dest_conf(vs->sorry, &v->sorry);
	for (const struct ka_rs *rs = vs->rs; rs; rs = rs->next, i++) {
		struct rsi *s = &v->rss[i];

		s->v = v;
		s->rs = rs;
		ka_rs_dest_conf(rs, &s->d);
		if (vs->sorry && rs->addr.af == vs->sorry->addr.af &&
		    lvs_addr_eq(&rs->addr.a, &vs->sorry->addr.a) && rs->port == vs->sorry->port)
			v->sorry_dup = true;
		s->runs = calloc(rs->nchecks ? rs->nchecks : 1, sizeof(*s->runs));
		if (!s->runs)
			return -ENOMEM;
		for (const struct ka_checker *ck = rs->checkers; ck; ck = ck->next) {
			struct runner *r = runner_get(cs, vs, rs, ck, s, &rc);

			if (!r) {
				if (rc == -EPERM)
					continue; /* disabled, said above */
				if (rc == -EOPNOTSUPP) {
					/* said at start-up (kaconf); the server is judged
					 * by its other checks */
					lvs_warn("checks: %s:%u: %s is not implemented yet; not run",
						 ck->loc.file, ck->loc.line, ka_check_name(ck->type));
					continue;
				}
				snprintf(err, errlen, "%s:%u: %s", ck->loc.file, ck->loc.line,
					 strerror(-rc));
				return rc;
			}
			s->runs[s->nruns++] = r;
		}
		s->alive = s->nfailed == 0;
		for (unsigned k = 0; k < s->nruns && !s->alive; k++)
			if (!s->runs[k]->up && s->runs[k]->why[0])
				snprintf(s->why, sizeof(s->why), "%s", s->runs[k]->why);
		if (!s->alive && !s->why[0])
			snprintf(s->why, sizeof(s->why), "alpha: not checked yet");
	}
	v->nrs = i;
	v->quorum_up = vs->quorum_met;
	for (unsigned j = 0; cs->prev && j < cs->prev->nvsi; j++)
		if (!strcmp(cs->prev->vsis[j].name, v->name))
			v->quorum_up = cs->prev->vsis[j].quorum_up;
	return 0;
}

static struct lvs_checks *checks_alloc(struct event_base *base, struct lvs_model *m,
				       const struct lvs_checks_hooks *hooks, struct cthread *t)
{
	struct lvs_checks *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->base = base;
	cs->m = m;
	cs->t = t;
	if (hooks)
		cs->hooks = *hooks;
	return cs;
}

struct lvs_checks *lvs_checks_new(struct event_base *base, struct lvs_model *m,
				  const struct lvs_checks_hooks *hooks)
{
	struct cthread *t = cthread_new(base);
	struct lvs_checks *cs = t ? checks_alloc(base, m, hooks, t) : NULL;

	if (cs)
		cs->retry = evtimer_new(base, retry_cb, cs);
	if (!cs || !cs->retry) {
		free(cs);
		cthread_free(t);
		return NULL;
	}
	return cs;
}

/* Free the runners (disarmed) and the servers' records. */
static void checks_clear(struct lvs_checks *cs)
{
	for (unsigned i = 0; i < cs->nrunners; i++)
		runner_free(cs->runners[i]);
	free(cs->runners);
	free(cs->tab);
	cs->runners = NULL;
	cs->tab = NULL;
	cs->nrunners = cs->tabsize = 0;
	for (unsigned i = 0; i < cs->nvsi; i++) {
		struct vsi *v = &cs->vsis[i];

		for (unsigned j = 0; v->rss && j < v->vs->nrs; j++)
			free(v->rss[j].runs);
		free(v->rss);
		free(v->keys);
	}
	free(cs->vsis);
	cs->vsis = NULL;
	cs->nvsi = 0;
}

/* Build the records of c's checks (nothing runs yet). */
static int checks_build(struct lvs_checks *cs, const struct ka_config *c, char *err,
			size_t errlen)
{
	unsigned i = 0;
	int rc;

	err[0] = '\0';
	cs->kc = c;
	cs->nvsi = 0;
	cs->vsis = calloc(c->nvs ? c->nvs : 1, sizeof(*cs->vsis));
	if (!cs->vsis)
		return -ENOMEM;
	for (const struct ka_vs *vs = c->vss; vs; vs = vs->next) {
		cs->nvsi = i + 1;
		rc = vsi_build(cs, &cs->vsis[i++], vs, err, errlen);
		if (rc) {
			if (!err[0])
				snprintf(err, errlen, "health checks: %s", strerror(-rc));
			checks_clear(cs);
			return rc;
		}
	}
	return 0;
}

/* On the checker thread: arm the runners of cs and disarm those of old
 * (NULL at start-up); all or nothing. */
struct arm_call {
	struct lvs_checks *cs;
	const struct lvs_checks *old;
	int rc;
};

static void call_arm(void *arg)
{
	struct arm_call *a = arg;
	unsigned i;

	for (i = 0; i < a->cs->nrunners && !a->rc; i++)
		a->rc = runner_arm(a->cs->runners[i]);
	if (a->rc) {
		for (unsigned j = 0; j < i; j++)
			runner_disarm(a->cs->runners[j]);
		return;
	}
	for (unsigned j = 0; a->old && j < a->old->nrunners; j++)
		runner_disarm(a->old->runners[j]);
}

static void call_disarm(void *arg)
{
	const struct lvs_checks *cs = arg;

	for (unsigned i = 0; i < cs->nrunners; i++)
		runner_disarm(cs->runners[i]);
}

/* Mark the runners of cs stale, then apply what the others posted. */
static void checks_bury(struct lvs_checks *cs)
{
	for (unsigned i = 0; i < cs->nrunners; i++)
		cs->runners[i]->dead = true;
	verdicts_drain(cs->t);
}

/* Build c's checks in cs and start them, replacing those of old. */
static int checks_launch(struct lvs_checks *cs, const struct lvs_checks *old,
			 const struct ka_config *c, char *err, size_t errlen)
{
	struct arm_call a = {.cs = cs, .old = old};
	int rc = checks_build(cs, c, err, errlen);

	if (rc)
		return rc;
	cthread_call(cs->t, call_arm, &a);
	if (!a.rc)
		cthread_tune(cs->t, &c->global);
	if (a.rc) {
		snprintf(err, errlen, "health checks: %s", strerror(-a.rc));
		checks_bury(cs);
		checks_clear(cs);
	}
	return a.rc;
}

int lvs_checks_start(struct lvs_checks *cs, const struct ka_config *c, char *err, size_t errlen)
{
	int rc = checks_launch(cs, NULL, c, err, errlen);

	if (!rc)
		lvs_info("checks: %u distinct checks for %u virtual servers", cs->nrunners,
			 cs->nvsi);
	return rc;
}

int lvs_checks_reload(struct lvs_checks *cs, const struct ka_config *c, char *err, size_t errlen)
{
	struct lvs_checks *nc = checks_alloc(cs->base, cs->m, &cs->hooks, cs->t), old;
	int rc;

	if (!nc)
		return -ENOMEM;
	nc->prev = cs;
	rc = checks_launch(nc, cs, c, err, errlen);
	if (rc) {
		free(nc);
		return rc;
	}
	nc->prev = NULL;
	nc->retry = cs->retry;
	old = *cs;
	*cs = *nc;
	free(nc);
	for (unsigned i = 0; i < cs->nrunners; i++)
		cs->runners[i]->cs = cs;
	for (unsigned i = 0; i < cs->nvsi; i++)
		cs->vsis[i].cs = cs;
	/* the replaced checks: disarmed by now; their verdicts not yet
	 * applied are dropped (the new ones posted where they stand) */
	checks_bury(&old);
	checks_clear(&old);
	/* the model follows the states carried over (and the new servers') */
	for (unsigned i = 0; i < cs->nvsi; i++) {
		quorum_update(&cs->vsis[i]);
		vsi_apply(&cs->vsis[i]);
	}
	lvs_info("checks: %u distinct checks for %u virtual servers", cs->nrunners, cs->nvsi);
	return 0;
}

void lvs_checks_free(struct lvs_checks *cs)
{
	if (!cs)
		return;
	cthread_call(cs->t, call_disarm, cs);
	cthread_free(cs->t); /* the thread stopped, verdicts not applied dropped */
	/* omega: the down notifications on the way out, as keepalived's */
	for (unsigned i = 0; i < cs->nvsi; i++) {
		struct vsi *v = &cs->vsis[i];

		if (!v->vs->omega)
			continue;
		for (unsigned j = 0; j < v->nrs; j++)
			if (v->rss[j].alive && v->rss[j].rs->notify_down)
				lvs_check_notify(cs->base, v->rss[j].rs->notify_down, v->name);
		if (v->quorum_up && v->vs->quorum_down)
			lvs_check_notify(cs->base, v->vs->quorum_down, v->name);
	}
	checks_clear(cs);
	event_free(cs->retry);
	free(cs);
}

/* ---- listing and figures ---- */

void lvs_checks_print(const struct lvs_checks *cs, FILE *f)
{
	struct lvs_checks_stats st;

	fprintf(f, "Health checks: %u distinct\n", cs ? cs->nrunners : 0);
	lvs_checks_get_stats(cs, &st);
	if (st.late_n) {
		fprintf(f, "Probes: %llu (%llu failed, %llu overran); started late by p50 %.1f ms, "
			   "p99 %.1f ms, max %.1f ms\n",
			(unsigned long long)st.probes, (unsigned long long)st.failures,
			(unsigned long long)st.overruns, (double)st.late_p50_us / 1000,
			(double)st.late_p99_us / 1000, (double)st.late_max_us / 1000);
	}
	for (unsigned i = 0; cs && i < cs->nvsi; i++) {
		const struct vsi *v = &cs->vsis[i];

		fprintf(f, "Virtual server %s: quorum %s (%lld of %u)%s\n", v->name,
			v->quorum_up ? "up" : "down", (long long)live_weight(v), v->vs->quorum,
			v->vs->sorry && !v->quorum_up ? ", sorry server in use" : "");
		for (unsigned j = 0; j < v->nrs; j++) {
			const struct rsi *r = &v->rss[j];
			char b[64];

			fprintf(f, "  -> %-28s %s%s%s\n", rs_str(r, b, sizeof(b)),
				r->alive ? "alive" : "failed", r->alive ? "" : ": ",
				r->alive ? "" : r->why);
			for (unsigned k = 0; k < r->nruns; k++) {
				const struct runner *ru = r->runs[k];

				pthread_mutex_lock(&cs->t->mu);
				fprintf(f, "       %-36s %-4s probes %llu failed %llu last %.1f ms%s%s\n",
					ru->name, ru->up ? "up" : "down",
					(unsigned long long)ru->probes,
					(unsigned long long)ru->failures, (double)ru->last_ns / 1e6,
					ru->why[0] ? " : " : "", ru->why);
				pthread_mutex_unlock(&cs->t->mu);
			}
		}
	}
}

void lvs_checks_get_stats(const struct lvs_checks *cs, struct lvs_checks_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!cs)
		return;
	s->checks = cs->nrunners;
	pthread_mutex_lock(&cs->t->mu);
	s->overruns = cs->t->overruns;
	s->late_n = cs->t->late_n;
	s->late_p50_us = late_quantile(cs->t, 0.50);
	s->late_p99_us = late_quantile(cs->t, 0.99);
	s->late_max_us = cs->t->late_max_us;
	for (unsigned i = 0; i < cs->nrunners; i++) {
		s->probes += cs->runners[i]->probes;
		s->failures += cs->runners[i]->failures;
		s->checks_up += cs->runners[i]->up;
	}
	pthread_mutex_unlock(&cs->t->mu);
	for (unsigned i = 0; i < cs->nvsi; i++)
		for (unsigned j = 0; j < cs->vsis[i].nrs; j++) {
			s->servers++;
			s->servers_alive += cs->vsis[i].rss[j].alive;
		}
}

void lvs_checks_late_hist(const struct lvs_checks *cs, const uint64_t *le_us, unsigned n,
			  uint64_t *cum, uint64_t *count, uint64_t *sum_us)
{
	uint64_t acc = 0;
	unsigned b = 0;

	if (cs)
		pthread_mutex_lock(&cs->t->mu);
	*count = cs ? cs->t->late_n : 0;
	*sum_us = cs ? cs->t->late_sum_us : 0;
	for (unsigned i = 0; i < n; i++) {
		/* bucket b holds [b, b + 1) x 100 us: those under le_us[i] */
		uint64_t lim = le_us[i] / LATE_BUCKET_US;

		if (lim > LATE_BUCKETS - 1)
			lim = LATE_BUCKETS - 1;
		for (; cs && b < lim; b++)
			acc += cs->t->late[b];
		cum[i] = acc;
	}
	if (cs)
		pthread_mutex_unlock(&cs->t->mu);
}

int lvs_checks_info(const struct lvs_checks *cs, unsigned i, struct lvs_check_info *out)
{
	const struct runner *r;

	if (!cs || i >= cs->nrunners)
		return -ENOENT;
	r = cs->runners[i];
	*out = (struct lvs_check_info){.type = r->ops->name, .af = r->p.af, .addr = r->p.addr,
				       .port = r->p.port, .up = r->up};
	pthread_mutex_lock(&cs->t->mu);
	out->probes = r->probes;
	out->failures = r->failures;
	out->last_ns = r->last_ns;
	memcpy(out->why, r->why, sizeof(out->why));
	pthread_mutex_unlock(&cs->t->mu);
	return 0;
}
