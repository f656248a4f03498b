/*
 * confload.h - lvsd's keepalived.conf at start: `-t` (check and report),
 * reading the file for start-up, choosing the interfaces to serve from
 * the file's addresses, and installing it in the model before the
 * workers forward.
 */
#ifndef LVSD_CONFLOAD_H
#define LVSD_CONFLOAD_H

#include <stdbool.h>
#include <stdio.h>

struct ka_config;
struct lvsd;

/* -t: read path, print every diagnostic as "FILE:LINE: message" and a
 * summary on err; returns keepalived's config-test exit code (0 clean,
 * 4 unreadable, 5 any other reported problem). */
int lvsd_conf_test(const char *path, FILE *err);

/* Read path for start-up: every diagnostic is logged (errors and
 * keepalived's warnings as warnings, notices as notices).  NULL when
 * the file has errors (they were logged). */
struct ka_config *lvsd_conf_read(const char *path);

/*
 * The interfaces to serve when none was given (-i): those through which
 * the file's virtual addresses and real servers are reached, from the
 * main routing table (d->netstate, started).  Fills d->ifname / ifindex /
 * nif.  0, or -ENODEV when no address is reachable.
 */
int lvsd_conf_ifaces(struct lvsd *d, const struct ka_config *c);

/* Install c in d->dir.model as one batch.  0 or -errno (logged).
 * detail: log each service and server with its start state (-D). */
int lvsd_conf_install(struct lvsd *d, const struct ka_config *c, bool detail);

#endif
