/*
 * lvsd_ctx.h - the daemon's context: what lvsd's parts (the forwarding
 * workers, the status text, the control loop) share, in one struct passed
 * to each of them instead of file-scope globals.  lvsd.c fills it from the
 * command line and start-up; tests fill the parts they exercise (a field a
 * part may do without says so).
 */
#ifndef LVSD_CTX_H
#define LVSD_CTX_H

#include <stdint.h>

#include "ctl.h"
#include "director.h"
#include "io.h"

#define LVSD_MAX_IFACES 16

struct lvs_checks;
struct lvs_netstate;
struct lvs_vips;
struct lvsd_worker;
struct lvsd_loop;
struct lvsd_vrrp;
struct lvs_sync;
struct lvs_nfq;
struct lvsd_fwmark;
struct lvsd_fast;

struct lvsd {
	/* served interfaces, in command-line order */
	const char *ifname[LVSD_MAX_IFACES];
	uint32_t ifindex[LVSD_MAX_IFACES];
	unsigned nif;
	uint32_t max_conns;           /* connection table size */
	const struct lvs_io_ops *io;  /* packet I/O driver */

	struct lvs_director dir;      /* model, connection table, routes */
	struct lvs_netstate *netstate;/* NULL: no network view (tests) */
	struct lvs_vips *vips;        /* NULL: no VIP answers, no guard (tests) */
	struct lvsd_worker *workers;  /* nworkers of them */
	unsigned nworkers;
	struct lvs_ctl_state *cst;    /* the lvsadm executor's state */
	struct lvsd_loop *loop;       /* the control loop, NULL before it exists */
	struct lvsd_passive *passive; /* passive detection, NULL when off */
	struct lvs_checks *checks;    /* the file's health checks, NULL: none */
	struct lvsd_vrrp *vrrp;       /* the file's VRRP instances, NULL: none */
	struct lvs_sync *sync;        /* connection sync (sync_daemon.h), NULL: none */
	struct lvs_nfq *nfq;          /* firewall-marked packets (read by worker 0), NULL: none */
	struct lvsd_fwmark *fwmark;   /* the queue's iptables rules (fwmark.h), NULL: none */
	struct lvsd_fast *fast;       /* the XDP fast path (fastpathd.h), NULL: off */
	uint32_t fast_entries;        /* its flow entries (0: the most) */

	/* Set once (atomically) to stop: workers leave their loop. */
	int stopping;
};

#endif
