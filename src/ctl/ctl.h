/*
 * ctl.h - the control socket between lvsadm and lvsd, and the executor that
 * runs one lvsadm command line against the daemon's state.
 *
 * The socket is an abstract Unix socket (LVS_CTL_SOCKET), so it is scoped to
 * the network namespace: `ip netns exec NS lvsadm -Ln` reaches the lvsd
 * running in NS.  Only root (SO_PEERCRED uid 0) is served.  A request
 * carries lvsadm's argv (and, for -R, the rules read from its stdin); the
 * reply carries the exit code and the text for stdout and stderr, so lvsadm
 * prints exactly what lvsd's executor produced.  Wire format: ctl_proto.h;
 * executor: ctl.c; socket: ctl_sock.c.
 */
#ifndef LVS_CTL_H
#define LVS_CTL_H

#include <stdio.h>

#include "conn.h"
#include "ipvsadm_cmd.h"
#include "model.h"

#define LVS_CTL_SOCKET "lvsd-ctl" /* abstract name: "\0lvsd-ctl" */
/* Tests (and a second lvsd for experiments) pick another abstract name
 * with this environment variable, read by both sides. */
#define LVS_CTL_SOCKET_ENV "LVSD_CTL_SOCKET"
#define LVSADM_VERSION     "0.1" /* printed by -v and -h */

struct lvs_ctl_est; /* per-service/destination rate estimators (private) */

/* What the executor works on; owned by the daemon's control thread. */
struct lvs_ctl_state {
	struct lvs_model *model;
	struct lvs_conn_table *ct; /* NULL: connection listings are empty */
	lvs_time_t (*now)(void);   /* monotonic clock, ns; NULL: CLOCK_MONOTONIC */
	struct lvs_ctl_est *est;   /* created by lvs_ctl_state_init */
	/* Called after a command changed the model, before its reply is sent
	 * (the daemon brings its host guard up to date, so that what lvsadm
	 * configured is in force when it returns).  May be NULL. */
	void (*changed)(void *arg);
	void *changed_arg;
	/* Before a listing (-L: statistics, rates, connections and their
	 * timers): the daemon brings in what was counted elsewhere (the XDP
	 * fast path's packets).  May be NULL. */
	void (*before_list)(void *arg);
	void *before_list_arg;
	/* `lvsadm --status`: the daemon prints its forwarding counters to out.
	 * NULL: the command fails with "status is not available". */
	void (*status)(void *arg, FILE *out);
	void *status_arg;
	/* `lvsadm --checks`: the health checks' listing.  NULL: the command
	 * fails (no configuration file, no checks). */
	void (*checks)(void *arg, FILE *out);
	void *checks_arg;
	/* `lvsadm --vrrp`: the VRRP instances.  NULL: the command fails (no
	 * vrrp_instance in the configuration file). */
	void (*vrrp)(void *arg, FILE *out);
	void *vrrp_arg;
	/* --start-daemon / --stop-daemon: the connection sync daemon.
	 * Returns 0 or the kernel's -errno (-EEXIST: that role runs,
	 * -ESRCH: it does not, -ENODEV: no such interface...); err may get a
	 * reason for the log.  daemon_list fills at most max entries, the
	 * master's first, for -L --daemon.  NULL: the commands fail and the
	 * listing is empty. */
	int (*daemon_cmd)(void *arg, const struct lvs_cmd *cmd, char *err, size_t errlen);
	size_t (*daemon_list)(void *arg, struct lvs_cmd_daemon *out, size_t max);
	void *daemon_arg;
	/* > 0: a long command (-R) runs as a job in steps of about this many
	 * ns (lvs_ctl_job_step) instead of in one call.  0: in one call. */
	uint64_t step_ns;
	struct lvs_rules_job *job; /* the unfinished job, if any (private) */
	uint64_t job_gen;          /* the model's generation when it began */
};

int lvs_ctl_state_init(struct lvs_ctl_state *st, struct lvs_model *m, struct lvs_conn_table *ct,
                       lvs_time_t (*now)(void));
void lvs_ctl_state_done(struct lvs_ctl_state *st);

/*
 * Run one lvsadm command line (argv[0] is the program name) against st:
 * parse, apply to the model, or print a listing.  in/in_len: the rules for
 * -R (lvsadm's stdin), may be NULL.  Output goes to out and err exactly as
 * ipvsadm would print it.  Returns the exit code (0, 2 or 255, see
 * ipvsadm_cmd.h; 1 as ipvsadm's list_service() when -L names a missing
 * service).  Names in listings without -n come from the system resolver
 * here; over the socket lvsadm resolves them (ctl_proto.h).  Control
 * thread only.
 */
int lvs_ctl_exec(struct lvs_ctl_state *st, int argc, char *const argv[], const char *in,
                 size_t in_len, FILE *out, FILE *err);

/*
 * Jobs.  With st->step_ns set, lvs_ctl_exec (and lvs_ctl_exec_names) may
 * return LVS_CTL_PENDING: the command started and goes on in steps.
 * lvs_ctl_job_step does the next step (about step_ns of work) and
 * returns LVS_CTL_PENDING again or the command's exit code, with its
 * messages on err (the same stream for every step).  While lvs_ctl_busy,
 * the model is inside the job's open batch: run no other command (the
 * caller holds them) and no gc.  lvs_ctl_job_cancel undoes an unfinished
 * job (its client went away, the daemon stops).
 */
#define LVS_CTL_PENDING (-2)
int lvs_ctl_job_step(struct lvs_ctl_state *st, FILE *err);
bool lvs_ctl_busy(const struct lvs_ctl_state *st);
void lvs_ctl_job_cancel(struct lvs_ctl_state *st);

/*
 * Every ~2 s from the control thread: a round of the rate estimators and
 * the model gc.  lvs_ctl_tick does both at once; a daemon that must not
 * stall spreads the round with lvs_ctl_est_step (samples up to max
 * objects, services and destinations, per call; 0: all; returns 1 while
 * the round is unfinished, 0 when it finished; a call after that begins
 * the next round) and runs lvs_ctl_gc on its own (freeing at most max
 * states, 0: all; true when it stopped early).  lvs_model_gc frees
 * deleted destination states without connections, so call lvs_ctl_gc
 * only where no worker can still read a snapshot older than the current
 * one (e.g. after an RCU grace period); not while a job is unfinished.
 */
int lvs_ctl_est_step(struct lvs_ctl_state *st, unsigned max);
bool lvs_ctl_gc(struct lvs_ctl_state *st, unsigned max);
void lvs_ctl_tick(struct lvs_ctl_state *st);

/*
 * Client side (lvsadm), before contacting lvsd: answer what needs no
 * daemon -- a command line ipvsadm would refuse (its message and exit
 * code on err), -h (usage on out) and -v (version on out).  Returns the
 * exit code when the command was answered here, or -1 when it must go to
 * lvsd; *kind (may be NULL) receives the parsed command then (e.g.
 * LVS_CMD_RESTORE: send stdin along).
 */
int lvs_ctl_local(int argc, char *const argv[], FILE *out, FILE *err, enum lvs_cmd_kind *kind);

/* ---- the socket ---- */

/* Daemon: listen on the abstract socket. Returns the fd or -errno
 * (-EADDRINUSE: another lvsd runs in this network namespace). */
int lvs_ctl_listen(void);
/*
 * Daemon: a client connection as a non-blocking state machine, so that a
 * control loop serves many clients at once and none of them can stall it:
 *
 *   lvs_ctl_conn_accept   accept one client of listen_fd (the peer's
 *                         credentials are checked here: a non-root peer's
 *                         connection only sends ipvsadm's refusal)
 *   lvs_ctl_conn_step     read what has arrived, or send what the socket
 *                         takes; never blocks.  Returns
 *       LVS_CTL_WANT_READ / LVS_CTL_WANT_WRITE: wait until the fd is
 *                         readable / writable, then step again;
 *       LVS_CTL_WANT_RUN: the request is complete: call lvs_ctl_conn_run
 *                         (when the caller chooses), then step again;
 *       0:                the reply was sent: free the connection;
 *       -errno:           finished without a (complete) answer, or with an
 *                         error answer sent: -EPERM (not root), -EPROTO
 *                         (malformed request, EOF before it was complete,
 *                         unsupported version), -EMSGSIZE (beyond the
 *                         limits of ctl_proto.h), -ENOMEM, or the socket's
 *                         error.  Free the connection.
 *   lvs_ctl_conn_run      run the request (lvs_ctl_exec_names, with the
 *                         name round trip of ctl_proto.h) and queue its
 *                         reply; the reply is sent by the following steps.
 *                         When the command goes on as a job (-R with
 *                         st->step_ns), the connection stays running:
 *                         lvs_ctl_conn_running is true, step returns
 *                         LVS_CTL_WANT_RUN, and each lvs_ctl_conn_run does
 *                         one more step until the reply is queued.
 *
 * A step reads at most a few hundred KB, so a large -R takes several.
 * Idle clients are the caller's to time out (lvs_ctl_conn_free closes).
 */
#define LVS_CTL_WANT_READ  1
#define LVS_CTL_WANT_WRITE 2
#define LVS_CTL_WANT_RUN   3

struct lvs_ctl_conn;

/* 0 and *out; -EAGAIN when no client is waiting; -errno (-ENOMEM...). */
int lvs_ctl_conn_accept(int listen_fd, struct lvs_ctl_conn **out);
int lvs_ctl_conn_step(struct lvs_ctl_conn *c);
void lvs_ctl_conn_run(struct lvs_ctl_state *st, struct lvs_ctl_conn *c);
int lvs_ctl_conn_fd(const struct lvs_ctl_conn *c);
bool lvs_ctl_conn_running(const struct lvs_ctl_conn *c);
/* Close and free (NULL is fine). */
void lvs_ctl_conn_free(struct lvs_ctl_conn *c);

/* Daemon without a loop (tests, simple tools): accept and serve one
 * client on listen_fd, waiting for it at most ~2 s of silence.  0 when
 * served; -EAGAIN when no client was waiting; otherwise the -errno of
 * lvs_ctl_conn_step, or -ETIMEDOUT for a silent client. */
int lvs_ctl_serve_one(struct lvs_ctl_state *st, int listen_fd);
/* Client (lvsadm): send argv and stdin data, receive the exit code and the
 * output, which is written to out/err.  Returns the exit code, or -errno
 * when no daemon answers (-ECONNREFUSED / -ENOENT), it did not answer in
 * time (-ETIMEDOUT) or its answer was not understood (-EPROTO).  Listings
 * without -n take two round trips: lvsadm resolves the names itself (see
 * ctl_proto.h). */
int lvs_ctl_call(int argc, char *const argv[], const char *in, size_t in_len, FILE *out, FILE *err);

#endif
