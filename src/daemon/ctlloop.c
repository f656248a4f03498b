/*
 * ctlloop.c - the control thread's event loop (see ctlloop.h): the
 * event_base with measured callbacks, signals, the ticks, snapshot
 * retirement with the non-blocking model gc, and the network view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "ctlloop.h"
#include "fwmark.h"
#include "log.h"
#include "netstate.h"
#include "vip.h"
#include "worker.h"

struct loop_ev {
	struct lvsd_loop *l;
	const char *name;
	event_callback_fn fn;
	void *arg;
};

struct teardown {
	void (*fn)(void *arg);
	void *arg;
	struct teardown *next;
};

struct lvsd_loop {
	struct lvsd *d;
	struct event_base *base;
	struct teardown *teardowns;

	int sfd; /* signalfd */
	struct event *sig_ev, *ctl_tick_ev;

	/* snapshot retirement and gc: retired counts snapshots handed to
	 * call_rcu (control thread), retired_done those freed (call_rcu
	 * thread); gc_due: a tick waits for them to meet */
	uint64_t retired, retired_done;
	int gc_due;
	int rcu_efd;
	struct event *rcu_ev;
	void (*release)(void *arg);
	void *release_arg;

	/* network view */
	struct event *ns_ev, *wake_ev, *net_tick_ev, *vips_ev;
	uint64_t vips_gen;
	uint64_t vips_trash;
	bool vips_more; /* the last update left work for the next */
	void (*reload)(void *arg); /* SIGHUP */
	void *reload_arg;
	struct event *est_ev; /* the estimators' round, in steps */
	struct event *gc_more_ev; /* the gc's next piece */
	bool est_running;

	struct lvsd_loop_stats st;
};

/* ---- measured callbacks ---- */

static lvs_time_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

static void keep_longest(uint64_t *ns, const char **name, lvs_time_t t, const char *what)
{
	if (t > *ns) {
		*ns = t;
		*name = what;
	}
}

static void loop_trampoline(evutil_socket_t fd, short what, void *arg)
{
	struct loop_ev *e = arg;
	struct lvsd_loop *l = e->l;
	const char *name = e->name; /* e may be freed by the callback */
	lvs_time_t t0, dt, c0, dc;

	rcu_thread_online();
	t0 = lvsd_now();
	c0 = thread_cpu_ns();
	e->fn(fd, what, e->arg);
	dt = lvsd_now() - t0;
	dc = thread_cpu_ns() - c0;
	rcu_thread_offline();
	l->st.callbacks++;
	keep_longest(&l->st.longest_ns, &l->st.longest_name, dt, name);
	keep_longest(&l->st.recent_ns, &l->st.recent_name, dt, name);
	/* the CPU the callback used: its wall time also counts the time the
	 * thread was preempted (by the workers, on a busy machine) */
	keep_longest(&l->st.longest_cpu_ns, &l->st.longest_cpu_name, dc, name);
	keep_longest(&l->st.recent_cpu_ns, &l->st.recent_cpu_name, dc, name);
}

struct event *lvsd_loop_event_new(struct lvsd_loop *l, evutil_socket_t fd, short what,
                                  const char *name, event_callback_fn fn, void *arg)
{
	struct loop_ev *e = malloc(sizeof(*e));
	struct event *ev;

	if (!e)
		return NULL;
	*e = (struct loop_ev){.l = l, .name = name, .fn = fn, .arg = arg};
	ev = event_new(l->base, fd, what, loop_trampoline, e);
	if (!ev)
		free(e);
	return ev;
}

void lvsd_loop_event_free(struct event *ev)
{
	void *e;

	if (!ev)
		return;
	e = event_get_callback_arg(ev);
	event_free(ev);
	free(e);
}

int lvsd_loop_on_free(struct lvsd_loop *l, void (*fn)(void *arg), void *arg)
{
	struct teardown *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	*t = (struct teardown){.fn = fn, .arg = arg, .next = l->teardowns};
	l->teardowns = t;
	return 0;
}

struct event_base *lvsd_loop_base(struct lvsd_loop *l)
{
	return l->base;
}

struct lvsd *lvsd_loop_ctx(struct lvsd_loop *l)
{
	return l->d;
}

static struct timeval ms_tv(unsigned ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* ---- signals ---- */

void lvsd_loop_stop(struct lvsd_loop *l)
{
	__atomic_store_n(&l->d->stopping, 1, __ATOMIC_RELAXED);
	event_base_loopbreak(l->base);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;
	struct signalfd_siginfo si;

	(void)what;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			lvs_notice("signal %u: stopping", si.ssi_signo);
			lvsd_loop_stop(l);
			return;
		}
		if (si.ssi_signo == SIGHUP && l->reload)
			l->reload(l->reload_arg);
		else if (si.ssi_signo == SIGHUP)
			lvs_notice("SIGHUP: no configuration file to reload");
		else
			lvs_info("signal %u ignored", si.ssi_signo);
	}
}

/* ---- snapshot retirement and the model gc ---- */

struct retired {
	struct rcu_head rcu;
	void (*fn)(void *obj);
	void *obj;
	struct lvsd_loop *l;
};

/* call_rcu thread: the snapshot has no reader left. */
static void retired_free(struct rcu_head *h)
{
	struct retired *r = caa_container_of(h, struct retired, rcu);
	struct lvsd_loop *l = r->l;

	r->fn(r->obj);
	free(r);
	__atomic_add_fetch(&l->retired_done, 1, __ATOMIC_SEQ_CST);
	/* wake the loop only when a tick waits (see gc_try for the order) */
	if (__atomic_load_n(&l->gc_due, __ATOMIC_SEQ_CST))
		(void)!write(l->rcu_efd, &(uint64_t){1}, sizeof(uint64_t));
}

static void retire_snapshot(void *arg, void (*fn)(void *obj), void *obj)
{
	struct lvsd_loop *l = arg;
	struct retired *r = malloc(sizeof(*r));

	if (!r) {
		/* cannot defer without memory: wait for the readers instead */
		synchronize_rcu();
		fn(obj);
		return;
	}
	r->fn = fn;
	r->obj = obj;
	r->l = l;
	l->retired++;
	call_rcu(&r->rcu, retired_free);
}

/* A zero timeout: the loop looks at its descriptors before it runs ev. */
static void soon(struct event *ev)
{
	static const struct timeval now;

	if (event_add(ev, &now))
		event_active(ev, EV_TIMEOUT, 0);
}

/*
 * Run the due tick if no retired snapshot is still waiting for its grace
 * period.  gc_due is set (seq_cst) before retired_done is read, and
 * retired_free adds to retired_done before it reads gc_due: so either this
 * sees the last retirement done, or that callback sees the tick due and
 * wakes the loop.
 */
static void gc_try(struct lvsd_loop *l)
{
	if (!__atomic_load_n(&l->gc_due, __ATOMIC_RELAXED) ||
	    l->retired != __atomic_load_n(&l->retired_done, __ATOMIC_SEQ_CST) ||
	    lvs_ctl_busy(l->d->cst))
		return; /* the job's end kicks it again (lvsd_loop_kick_gc) */
	__atomic_store_n(&l->gc_due, 0, __ATOMIC_SEQ_CST);
	/* a large flush is collected in pieces: the next one soon, after
	 * another grace period (held requests run in between) */
	if (lvs_ctl_gc(l->d->cst, LVSD_GC_STEP))
		soon(l->gc_more_ev);
	l->st.ticks++;
	/* the gc may have emptied the trash: its guard entries go, in a
	 * callback of their own (the guard update is the slow part) */
	if (l->d->vips)
		event_active(l->vips_ev, EV_TIMEOUT, 0);
	if (l->release)
		l->release(l->release_arg);
}

/* The rate estimators' round, LVSD_EST_STEP objects per callback. */
static void est_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;

	(void)fd;
	(void)what;
	l->est_running = lvs_ctl_est_step(l->d->cst, LVSD_EST_STEP) == 1;
	if (l->est_running)
		soon(l->est_ev);
}

/* The gc stopped early: due again at once (after a grace period). */
static void gc_more_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;

	(void)fd;
	(void)what;
	__atomic_store_n(&l->gc_due, 1, __ATOMIC_SEQ_CST);
	gc_try(l);
}

static void ctl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;

	(void)fd;
	(void)what;
	if (!l->est_running) {
		l->est_running = true;
		soon(l->est_ev);
	}
	if (__atomic_load_n(&l->gc_due, __ATOMIC_RELAXED)) {
		gc_try(l); /* still due since the last tick */
		return;
	}
	__atomic_store_n(&l->gc_due, 1, __ATOMIC_SEQ_CST);
	gc_try(l);
	if (__atomic_load_n(&l->gc_due, __ATOMIC_RELAXED))
		l->st.ticks_waited++;
}

static void rcu_done_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t x;

	(void)what;
	(void)!read(fd, &x, sizeof(x));
	gc_try(arg);
}

void lvsd_loop_set_reload(struct lvsd_loop *l, void (*fn)(void *arg), void *arg)
{
	l->reload = fn;
	l->reload_arg = arg;
}

void lvsd_loop_kick_gc(struct lvsd_loop *l)
{
	gc_try(l);
}

bool lvsd_loop_changes_held(const struct lvsd_loop *l)
{
	return __atomic_load_n(&l->gc_due, __ATOMIC_RELAXED);
}

void lvsd_loop_set_release(struct lvsd_loop *l, void (*release)(void *arg), void *arg)
{
	l->release = release;
	l->release_arg = arg;
}

/* ---- the network view ---- */

void lvsd_loop_vips_sync(struct lvsd_loop *l, bool addrs_changed)
{
	struct lvsd *d = l->d;
	const struct lvs_snapshot *s;
	uint64_t trash;
	int rc;

	if (!d->vips)
		return;
	s = lvs_model_snapshot(d->dir.model);
	trash = lvs_model_trash_gen(d->dir.model);
	if (s->gen == l->vips_gen && trash == l->vips_trash && !addrs_changed && !l->vips_more)
		return;
	l->vips_gen = s->gen;
	l->vips_trash = trash;
	rc = lvs_vips_update(d->vips, s, d->dir.model);
	l->vips_more = rc == 1;
	lvsd_fwmark_sync(d->fwmark, s);
	if (rc < 0)
		lvs_err("VIPs: the host guard could not be updated");
	/* a large change goes on in pieces, each a callback of its own (a
	 * zero timeout: the loop looks at its descriptors in between) */
	if (rc == 1)
		soon(l->vips_ev);
}

static void vips_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lvsd_loop_vips_sync(arg, false);
}

/* lvsadm changed the model: VIPs and guard before the reply goes out
 * (the first piece of a large change; the rest follows at once). */
static void model_changed(void *arg)
{
	lvsd_loop_vips_sync(arg, false);
}

static void ns_input_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;
	unsigned chg;

	(void)fd;
	(void)what;
	/* the notifications of one read are applied together */
	chg = lvs_netstate_input(l->d->netstate);
	lvsd_loop_vips_sync(l, chg & LVS_NS_CHG_ADDR);
	if (chg & LVS_NS_CHG_LINK)
		lvs_vips_net_changed(l->d->vips, chg);
}

/* Workers' resolution requests (wake fd) and the 100 ms tick. */
static void ns_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_loop *l = arg;
	lvs_time_t now = lvsd_now();

	(void)fd;
	(void)what;
	lvs_netstate_tick(l->d->netstate, now); /* drains the wake fd */
	lvs_vips_tick(l->d->vips, now);
	lvsd_loop_vips_sync(l, false);
	lvsd_fwmark_tick(l->d->fwmark);
}

int lvsd_netwatch_register(struct lvsd_loop *l)
{
	struct lvsd *d = l->d;
	struct timeval tv = ms_tv(LVSD_NET_TICK_MS);

	if (!d->netstate || !d->vips)
		return -EINVAL;
	l->ns_ev = lvsd_loop_event_new(l, lvs_netstate_fd(d->netstate), EV_READ | EV_PERSIST,
	                               "rtnetlink", ns_input_cb, l);
	l->wake_ev = lvsd_loop_event_new(l, lvs_netstate_wake_fd(d->netstate),
	                                 EV_READ | EV_PERSIST, "neighbour requests", ns_tick_cb, l);
	l->net_tick_ev = lvsd_loop_event_new(l, -1, EV_PERSIST, "net tick", ns_tick_cb, l);
	if (!l->ns_ev || !l->wake_ev || !l->net_tick_ev || event_add(l->ns_ev, NULL) ||
	    event_add(l->wake_ev, NULL) || event_add(l->net_tick_ev, &tv))
		return -ENOMEM;
	d->cst->changed = model_changed;
	d->cst->changed_arg = l;
	/* the guard learns the model now (its watch reports every state once:
	 * cheap while the model is young), not at the first large change */
	lvsd_loop_vips_sync(l, true);
	return 0;
}

/* ---- the loop ---- */

struct lvsd_loop *lvsd_loop_new(struct lvsd *d, const sigset_t *sigs)
{
	struct lvsd_loop *l = calloc(1, sizeof(*l));
	struct timeval tv = ms_tv(LVSD_CTL_TICK_MS);

	if (!l)
		goto nomem;
	l->d = d;
	l->sfd = l->rcu_efd = -1;
	l->st.longest_name = "none";
	l->st.recent_name = "none";
	l->st.longest_cpu_name = l->st.recent_cpu_name = "none";
	l->vips_gen = lvs_model_snapshot(d->dir.model)->gen;
	l->base = event_base_new();
	if (!l->base)
		goto nomem;
	l->sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	l->rcu_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->sfd < 0 || l->rcu_efd < 0) {
		lvs_err("signalfd/eventfd: %s", strerror(errno));
		goto fail;
	}
	l->sig_ev = lvsd_loop_event_new(l, l->sfd, EV_READ | EV_PERSIST, "signal", signal_cb, l);
	l->rcu_ev = lvsd_loop_event_new(l, l->rcu_efd, EV_READ | EV_PERSIST, "grace period",
	                                rcu_done_cb, l);
	l->ctl_tick_ev = lvsd_loop_event_new(l, -1, EV_PERSIST, "ctl tick", ctl_tick_cb, l);
	l->vips_ev = lvsd_loop_event_new(l, -1, 0, "VIP update", vips_sync_cb, l);
	l->est_ev = lvsd_loop_event_new(l, -1, 0, "rate estimators", est_cb, l);
	l->gc_more_ev = lvsd_loop_event_new(l, -1, 0, "model gc", gc_more_cb, l);
	if (!l->sig_ev || !l->rcu_ev || !l->ctl_tick_ev || !l->vips_ev || !l->est_ev ||
	    !l->gc_more_ev ||
	    event_add(l->sig_ev, NULL) ||
	    event_add(l->rcu_ev, NULL) || event_add(l->ctl_tick_ev, &tv))
		goto nomem;
	lvs_model_set_retire(d->dir.model, retire_snapshot, l);
	d->cst->step_ns = LVSD_CTL_STEP_NS; /* a large -R in steps (ctlsrv) */
	d->loop = l;
	return l;
nomem:
	lvs_err("control loop: out of memory");
fail:
	lvsd_loop_free(l);
	return NULL;
}

void lvsd_loop_free(struct lvsd_loop *l)
{
	if (!l)
		return;
	while (l->teardowns) {
		struct teardown *t = l->teardowns;

		l->teardowns = t->next;
		t->fn(t->arg);
		free(t);
	}
	if (l->d->loop == l) {
		lvs_model_set_retire(l->d->dir.model, NULL, NULL);
		l->d->loop = NULL;
	}
	if (l->d->cst && l->d->cst->changed_arg == l) {
		l->d->cst->changed = NULL;
		l->d->cst->changed_arg = NULL;
	}
	lvsd_loop_event_free(l->sig_ev);
	lvsd_loop_event_free(l->rcu_ev);
	lvsd_loop_event_free(l->ctl_tick_ev);
	lvsd_loop_event_free(l->vips_ev);
	lvsd_loop_event_free(l->est_ev);
	lvsd_loop_event_free(l->gc_more_ev);
	lvsd_loop_event_free(l->ns_ev);
	lvsd_loop_event_free(l->wake_ev);
	lvsd_loop_event_free(l->net_tick_ev);
	if (l->base)
		event_base_free(l->base);
	if (l->sfd >= 0)
		close(l->sfd);
	if (l->rcu_efd >= 0)
		close(l->rcu_efd);
	free(l);
}

int lvsd_loop_run(struct lvsd_loop *l)
{
	int rc;

	/* online only inside callbacks (loop_trampoline): a thread asleep in
	 * epoll_wait must not hold up grace periods */
	rcu_thread_offline();
	rc = event_base_dispatch(l->base);
	rcu_thread_online();
	if (rc < 0) {
		lvs_err("control loop failed");
		return -EIO;
	}
	return 0;
}

/* ---- statistics ---- */

void lvsd_loop_get_stats(const struct lvsd_loop *l, struct lvsd_loop_stats *s)
{
	*s = l->st;
}

void lvsd_loop_print_stats(struct lvsd_loop *l, FILE *f)
{
	fprintf(f, "Control thread: longest callback %.1f ms (%s), since the last status %.1f ms "
	           "(%s); CPU: longest %.1f ms (%s), since the last status %.1f ms (%s)\n",
	        (double)l->st.longest_ns / 1e6, l->st.longest_name,
	        (double)l->st.recent_ns / 1e6, l->st.recent_name,
	        (double)l->st.longest_cpu_ns / 1e6, l->st.longest_cpu_name,
	        (double)l->st.recent_cpu_ns / 1e6, l->st.recent_cpu_name);
	l->st.recent_ns = l->st.recent_cpu_ns = 0;
	l->st.recent_name = l->st.recent_cpu_name = "none";
}
