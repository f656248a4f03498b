/*
 * ctlsrv.h - the control socket on the control loop: lvsadm's clients,
 * many at once, each a non-blocking state machine (lvs_ctl_conn_*, ctl.h).
 *
 * A client is accepted, its request read as it arrives, run when complete
 * (lvs_ctl_conn_run: the lvsadm executor; held back while the model gc
 * waits for a grace period, see ctlloop.h), and its reply written as the
 * socket takes it; the unsent rest waits for the socket to become
 * writable.  A client that sends or reads nothing for LVSD_CTL_IDLE_MS is
 * dropped.  Beyond LVSD_CTL_MAX_CLIENTS, new connections wait in the
 * listen backlog until one leaves.
 */
#ifndef LVSD_CTLSRV_H
#define LVSD_CTLSRV_H

#include "ctlloop.h"

#define LVSD_CTL_IDLE_MS     3000
#define LVSD_CTL_MAX_CLIENTS 256

/* Serve listen_fd (from lvs_ctl_listen; the server closes it when the
 * loop is freed) with d->cst.  0 or -errno. */
int lvsd_ctlsrv_register(struct lvsd_loop *l, int listen_fd);

#endif
