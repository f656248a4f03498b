/*
 * ctlloop.h - the control thread's event loop (libevent).
 *
 * One event_base owns every descriptor and timer of the control thread.
 * Nothing on it may block for more than a few milliseconds: each callback
 * does a bounded piece of work and returns (the control socket serves
 * clients as non-blocking state machines, ctlsrv.h; the model gc waits for
 * its RCU grace period without blocking, below).  The loop measures every
 * callback and keeps the longest (lvsd_loop_get_stats; shown by
 * `lvsadm --status`).
 *
 * How a module plugs in: it provides a function taking the loop, e.g.
 *
 *	int lvsd_foo_register(struct lvsd_loop *l, ...);
 *
 * which creates its events on lvsd_loop_base(l) with lvsd_loop_event_new
 * (measured, named, run with the thread online as an RCU reader), and,
 * if it has state to free, registers a teardown with lvsd_loop_on_free.
 * The loop itself registers signals (lvsd_loop_new), the ticks, snapshot
 * retirement and the gc (lvsd_loop_new too), the network view
 * (lvsd_netwatch_register, below) and the control socket
 * (lvsd_ctlsrv_register, ctlsrv.h).  Health checkers, VRRP and connection
 * sync register the same way.
 *
 * Every LVSD_CTL_TICK_MS a round of the rate estimators begins, done in
 * callbacks of LVSD_EST_STEP objects (lvs_ctl_est_step).
 *
 * Model gc without waiting: replaced snapshots are freed by call_rcu
 * callbacks, counted as they finish.  Every LVSD_CTL_TICK_MS the loop runs
 * lvs_ctl_gc (lvs_model_gc, which frees deleted destination states) only
 * when every snapshot retired so far has been
 * freed, i.e. no worker can still read one naming those states;
 * otherwise the tick is due: the last retirement's callback wakes the
 * loop through an eventfd, and until the tick ran, new lvsadm requests
 * wait (their clients are parked, not blocked), so that a stream of
 * changes cannot postpone it for ever.  The wait is one grace period,
 * normally well under 100 ms.
 *
 * Threads: everything here is for the control thread only, which must be
 * a registered RCU (QSBR) reader; it is offline while the loop waits.
 */
#ifndef LVSD_CTLLOOP_H
#define LVSD_CTLLOOP_H

#include <signal.h>
#include <stdio.h>
#include <event2/event.h>

#include "lvsd_ctx.h"

#define LVSD_NET_TICK_MS 100  /* netstate requests, VIP announcements */
#define LVSD_CTL_TICK_MS 2000 /* rate estimators, model gc */
#define LVSD_CTL_STEP_NS 2000000 /* a job's step (lvsadm -R), ns */
#define LVSD_EST_STEP 4096       /* estimator samples per callback */
#define LVSD_GC_STEP 4096        /* states the gc frees per callback */

struct lvsd_loop;

/*
 * The loop of d (sets d->loop): an event_base, the signals in sigs read
 * from a signalfd (SIGTERM and SIGINT stop the loop and set d->stopping;
 * SIGHUP reloads, see lvsd_loop_set_reload; the caller blocks them in every
 * thread first), the
 * model's snapshot retirement and the 2 s tick (needs d->dir.model and
 * d->cst).  NULL on failure (logged).
 */
struct lvsd_loop *lvsd_loop_new(struct lvsd *d, const sigset_t *sigs);
/* Run the teardowns (newest first), free the loop.  Call after the
 * workers stopped and rcu_barrier(): pending snapshot callbacks refer to
 * the loop.  The model's retirement hook is reset to freeing at once. */
void lvsd_loop_free(struct lvsd_loop *l);

/* Run until stopped (signal, lvsd_loop_stop).  0 or -EIO. */
int lvsd_loop_run(struct lvsd_loop *l);
/* From a callback: set d->stopping and leave lvsd_loop_run. */
void lvsd_loop_stop(struct lvsd_loop *l);

/* The loop's event_base, for modules' events. */
struct event_base *lvsd_loop_base(struct lvsd_loop *l);
struct lvsd *lvsd_loop_ctx(struct lvsd_loop *l);

/*
 * event_new on the loop's base, with fn wrapped: the thread is an online
 * RCU reader while fn runs, and fn's run time is measured under name (a
 * string that outlives the loop, e.g. a literal).  fn may free its own
 * event.  NULL without memory.
 */
struct event *lvsd_loop_event_new(struct lvsd_loop *l, evutil_socket_t fd, short what,
                                  const char *name, event_callback_fn fn, void *arg);
/* event_free for those events (NULL is fine). */
void lvsd_loop_event_free(struct event *ev);

/* Run fn(arg) when the loop is freed (teardowns run newest first).
 * 0 or -ENOMEM. */
int lvsd_loop_on_free(struct lvsd_loop *l, void (*fn)(void *arg), void *arg);

/*
 * While the model gc waits for a grace period (see above), model changes
 * are held: lvsd_loop_changes_held is true, and release(arg) is called
 * once the gc ran.  One release hook (the control socket's).
 */
bool lvsd_loop_changes_held(const struct lvsd_loop *l);
/* SIGHUP runs fn(arg) (the configuration file's reload); without one it
 * is logged. */
void lvsd_loop_set_reload(struct lvsd_loop *l, void (*fn)(void *arg), void *arg);
/* A job (lvs_ctl_busy) held the gc back and has ended: run it if due. */
void lvsd_loop_kick_gc(struct lvsd_loop *l);
void lvsd_loop_set_release(struct lvsd_loop *l, void (*release)(void *arg), void *arg);

/* Bring the VIPs, host guard and driver filter up to date with the model
 * (and the host's addresses when addrs_changed); cheap when nothing
 * changed.  Does nothing without d->vips. */
void lvsd_loop_vips_sync(struct lvsd_loop *l, bool addrs_changed);

/*
 * The network view on the loop: rtnetlink notifications
 * (lvs_netstate_input: VIPs follow address and link changes), workers'
 * resolution requests (the wake fd) and the 100 ms tick (lvs_netstate_tick,
 * lvs_vips_tick); sets d->cst->changed so that an lvsadm change updates
 * the VIPs before its reply.  Needs d->netstate and d->vips.  0 or -errno.
 */
int lvsd_netwatch_register(struct lvsd_loop *l);

struct lvsd_loop_stats {
	uint64_t callbacks;       /* callbacks run */
	uint64_t longest_ns;      /* the longest of them */
	const char *longest_name; /* its name ("none" before any) */
	uint64_t recent_ns;       /* the longest since the status was printed */
	const char *recent_name;
	/* the same by the CPU time the callbacks used (not counting the time
	 * the thread was preempted) */
	uint64_t longest_cpu_ns, recent_cpu_ns;
	const char *longest_cpu_name, *recent_cpu_name;
	uint64_t ticks;           /* model gc runs */
	uint64_t ticks_waited;    /* of them, after waiting for a grace period */
};
void lvsd_loop_get_stats(const struct lvsd_loop *l, struct lvsd_loop_stats *s);
/* The status line: "Control thread: longest callback 31.2 ms (ctl job
 * step), since the last status 0.4 ms (ctl request); CPU: longest ...",
 * wall time then CPU time; starts the "since" figures again. */
void lvsd_loop_print_stats(struct lvsd_loop *l, FILE *f);

#endif
