/*
 * fastpathd.h - the XDP fast path in the daemon: the program attached to
 * the served interfaces and the thread that keeps its flow map in step
 * with the connection table (see fastpathd.c).
 */
#ifndef LVSD_FASTPATHD_H
#define LVSD_FASTPATHD_H

#include <stdio.h>

#include "lvsd_ctx.h"

enum lvsd_fast_mode {
	LVSD_FAST_AUTO = 0, /* on where the program attaches, else off with a notice */
	LVSD_FAST_ON,       /* on, or lvsd does not start */
	LVSD_FAST_OFF,
};

struct lvsd_fast;

/*
 * Load the program, attach it to every served interface, start the
 * thread (connection table worker id and statistics slot `worker`) and
 * hand the director its request tap.  Before the workers start.  0 with
 * *out set (NULL when the mode is off or, in auto mode, the program could
 * not be attached: a notice says why), or -errno with a message logged.
 */
int lvsd_fast_start(struct lvsd *d, enum lvsd_fast_mode mode, unsigned worker,
		    struct lvsd_fast **out);
/* Detach, stop the thread, take the tap back.  After the workers stopped. */
void lvsd_fast_stop(struct lvsd_fast *f);

/* Fold what the program counted into the statistics and timers now, and
 * wait (at most a quarter of a second) until it is done: a listing then
 * shows every packet forwarded so far.  Any thread but the fast path's;
 * f may be NULL. */
void lvsd_fast_sync(struct lvsd_fast *f);
/* The same with a struct lvsd (a struct lvs_ctl_state hook). */
void lvsd_fast_sync_hook(void *lvsd);

/* Status text lines and Prometheus families (control thread); nothing
 * when f is NULL (off). */
void lvsd_fast_print_status(const struct lvsd_fast *f, FILE *out);
void lvsd_fast_prom(const struct lvsd_fast *f, FILE *out);

#endif
