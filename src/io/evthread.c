/*
 * evthread.c - a thread with a libevent base of its own, driven by calls
 * from the control thread (see evthread.h).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evthread.h"
#include "log.h"

static void *evthread_main(void *arg)
{
	struct lvs_evthread *t = arg;

	event_base_dispatch(t->base);
	return NULL;
}

/* The thread: run the control thread's call, then let it go on. */
static void call_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_evthread *t = arg;
	void (*fn)(void *);
	void *fa;
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&t->mu);
	fn = t->call_fn;
	fa = t->call_arg;
	t->call_fn = NULL;
	pthread_mutex_unlock(&t->mu);
	if (!fn)
		return;
	fn(fa);
	pthread_mutex_lock(&t->mu);
	t->call_done = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void lvs_evthread_call(struct lvs_evthread *t, void (*fn)(void *), void *arg)
{
	if (!t->started) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&t->mu);
	t->call_fn = fn;
	t->call_arg = arg;
	t->call_done = false;
	pthread_mutex_unlock(&t->mu);
	(void)!write(t->call_fd, &(uint64_t){1}, sizeof(uint64_t));
	pthread_mutex_lock(&t->mu);
	while (!t->call_done)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void call_gettid(void *arg)
{
	((struct lvs_evthread *)arg)->ktid = (pid_t)syscall(SYS_gettid);
}

static void call_stop(void *arg)
{
	event_base_loopbreak(((struct lvs_evthread *)arg)->base);
}

int lvs_evthread_start(struct lvs_evthread *t, const char *name, int nprio)
{
	struct event_config *cfg = event_config_new();
	sigset_t all, old;
	int rc = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->inited = true;
	t->call_fd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (!cfg)
		return rc;
	t->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (t->call_fd < 0 || !t->base || (nprio > 1 && event_base_priority_init(t->base, nprio)))
		return t->call_fd < 0 ? -errno : rc;
	t->call_ev = event_new(t->base, t->call_fd, EV_READ | EV_PERSIST, call_cb, t);
	if (!t->call_ev || event_add(t->call_ev, NULL))
		return rc;
	/* signals are the control thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&t->tid, NULL, evthread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return rc;
	t->started = true;
	pthread_setname_np(t->tid, name);
	lvs_evthread_call(t, call_gettid, t);
	return 0;
}

void lvs_evthread_stop(struct lvs_evthread *t)
{
	if (!t->inited)
		return;
	t->inited = false;
	if (t->started) {
		lvs_evthread_call(t, call_stop, t);
		pthread_join(t->tid, NULL);
		t->started = false;
	}
	if (t->call_ev)
		event_free(t->call_ev);
	t->call_ev = NULL;
	if (t->base)
		event_base_free(t->base);
	t->base = NULL;
	if (t->call_fd >= 0)
		close(t->call_fd);
	t->call_fd = -1;
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

void lvs_evthread_tune(struct lvs_evthread *t, bool prio_set, int prio, const uint16_t *cpus,
		       unsigned ncpus, const char *what)
{
	cpu_set_t set;

	if (!t->started)
		return;
	if (!prio_set) {
		errno = 0;
		prio = getpriority(PRIO_PROCESS, 0);
		if (errno)
			prio = 0;
	}
	if (setpriority(PRIO_PROCESS, (id_t)t->ktid, prio))
		lvs_warn("%s: priority %d: %s", what, prio, strerror(errno));
	CPU_ZERO(&set);
	if (ncpus) {
		for (unsigned i = 0; i < ncpus; i++)
			CPU_SET(cpus[i], &set);
	} else if (sched_getaffinity(0, sizeof(set), &set)) {
		return;
	}
	errno = pthread_setaffinity_np(t->tid, sizeof(set), &set);
	if (errno)
		lvs_warn("%s: cpu affinity: %s", what, strerror(errno));
}
