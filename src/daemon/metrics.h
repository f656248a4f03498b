/*
 * metrics.h - lvsd's figures as documents for the HTTP side (httpd.h):
 * the Prometheus text exposition format 0.0.4 (`GET /metrics`) and the
 * JSON behind the status page (`GET /status.json`).
 *
 * Metric names follow node_exporter's ipvs collector where they overlap
 * (node_ipvs_*: the totals and the backends' connections and weight, with
 * its labels local_address, local_port, remote_address, remote_port,
 * proto, local_mark), so its dashboards and alerts work unchanged; the
 * rest is lvsd's own, under lvsd_ (see metrics.c for the list).
 */
#ifndef LVSD_METRICS_H
#define LVSD_METRICS_H

#include <stdio.h>

#include "lvsd_ctx.h"

/*
 * Write d's figures to f: the model's services and destinations (down
 * ones included, for their health), their counters since the last -Z and
 * rates, the health checks (d->checks, may be NULL), the workers' totals,
 * the connection table and the control loop's stalls (d->loop, may be
 * NULL).  Control thread: reads the model's configuration and the
 * estimators.  0, or -ENOMEM / -EIO (f failed).
 */
int lvsd_metrics_prom(const struct lvsd *d, FILE *f);
int lvsd_metrics_json(const struct lvsd *d, FILE *f);

#endif
