/*
 * evthread.h - a thread running a libevent base of its own, for the parts
 * of lvsd that must not wait behind the control loop (health checks,
 * VRRP).  The control thread owns the thread's life and changes what the
 * thread runs by a call: lvs_evthread_call runs a function on the thread,
 * between two of its callbacks, while the caller waits.  So each side owns
 * its data outright and no lock is held across a callback.  Signals stay
 * the control thread's.
 */
#ifndef LVS_EVTHREAD_H
#define LVS_EVTHREAD_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct lvs_evthread {
	pthread_t tid;
	bool inited;             /* lvs_evthread_start ran */
	pid_t ktid;              /* the kernel's id of the thread */
	bool started;
	struct event_base *base; /* the thread's */
	int call_fd;
	struct event *call_ev;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*call_fn)(void *arg);
	void *call_arg;
	bool call_done;
};

/* Set up t and start the thread named name, its base with nprio event
 * priorities (1: none).  0 or -errno; on failure nothing is left to free
 * but what lvs_evthread_stop frees (call it either way). */
int lvs_evthread_start(struct lvs_evthread *t, const char *name, int nprio);

/* Run fn(arg) on the thread and wait for it (directly when the thread is
 * not running).  Control thread. */
void lvs_evthread_call(struct lvs_evthread *t, void (*fn)(void *), void *arg);

/* Stop the thread (its pending events are not run) and free the base.
 * Idempotent; harmless on a zeroed struct that was never started. */
void lvs_evthread_stop(struct lvs_evthread *t);

/* Nice value (prio_set: else the process's) and CPUs (ncpus: else the
 * process's) of the thread; what is refused is logged under what. */
void lvs_evthread_tune(struct lvs_evthread *t, bool prio_set, int prio, const uint16_t *cpus,
		       unsigned ncpus, const char *what);

#endif
