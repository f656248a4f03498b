/*
 * status.h - lvsd's own counters: the totals over every worker and the
 * text of `lvsadm --status` (also logged, line by line, at exit).
 */
#ifndef LVSD_STATUS_H
#define LVSD_STATUS_H

#include <stdio.h>

#include "drop.h"
#include "holdq.h"
#include "lvsd_ctx.h"

/* Sum of every worker's counters. */
struct lvsd_totals {
	uint64_t rx, tx, pass, drop, vipa, io_errors, conns_created, udp_moved;
	struct lvs_drop_stats d;
	struct lvs_holdq_stats h;
};

/* Sum d's workers' counters into *t.  Read racily while they run: plain
 * per-worker fields, each one consistent on its own. */
void lvsd_totals(const struct lvsd *d, struct lvsd_totals *t);

/*
 * The status text: workers and interfaces, connections, frames, VIP
 * answers, drops by reason, the hold queue, each driver instance's
 * counters, the host guard (d->vips), the XDP program's counters, the
 * control thread's longest callback (d->loop).  Control thread; suits
 * struct lvs_ctl_state's status hook (arg: the struct lvsd).
 */
void lvsd_status_print(void *arg, FILE *f);

/* The status at exit: one log line each. */
void lvsd_status_log(struct lvsd *d);

#endif
