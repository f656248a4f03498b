/*
 * ctl.c - run one lvsadm (ipvsadm) command line against lvsd's state, and
 * keep the per-service / per-destination rate estimators behind --rate.
 *
 * Dispatch follows ipvsadm 1.31's process_options(): the line is parsed
 * (ipvsadm_cmd.c); a listing picks -c, else one service (-L -t ...), else
 * --timeout, else --daemon, else the whole table; -S prints the rules, -R
 * loads the rules sent as lvsadm's stdin (line by line as ipvsadm, or
 * all or nothing with --atomic: rules.c); every
 * other command is one model operation that applies whole or fails with
 * the kernel's message and exit 255 (ipvsadm_apply.c).  Exit codes and
 * texts are ipvsadm's, including its exit 1 and "No such service" when
 * -L names a service that does not exist.
 *
 * Rates: the kernel runs an estimator per service and per destination
 * every 2 s (ip_vs_est.c) and -Z resets it along with the counters
 * (ip_vs_zero_stats).  Here lvs_ctl_tick samples every service and
 * destination of the current snapshot, keyed by its stable state id, so
 * edits keep the estimate and a deleted object's estimator is dropped.
 *
 * Control thread only: nothing here locks.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <time.h>

#include "ctl.h"
#include "ctl_proto.h"
#include "estimator.h"
#include "ipvsadm_list.h"
#include "rules.h"

/* ---- estimators: one in each service and destination state ---- */

struct lvs_ctl_est {
	/* the round in progress (lvs_ctl_est_step) */
	bool round;
	uint32_t next; /* index in the snapshot's services */
	lvs_time_t now;
};

/* Sample one object's raw counter sums (the estimator wants totals, not
 * the values since the last -Z). */
static void est_sample(struct lvs_est *e, bool *on, const struct lvs_counters *per_worker,
                       unsigned n, lvs_time_t now)
{
	struct lvs_counters sum;

	lvs_counters_sum(per_worker, n, &sum);
	if (!*on) {
		lvs_est_init(e, &sum, now);
		*on = true;
	} else {
		lvs_est_update(e, &sum, now);
	}
}

static void est_zero_one(struct lvs_est *e, bool on, const struct lvs_counters *per_worker,
                         unsigned n)
{
	struct lvs_counters sum;

	if (!on)
		return;
	lvs_counters_sum(per_worker, n, &sum);
	lvs_est_zero(e, &sum);
}

/* -Z: the estimators of one service (k) or all, with their destinations. */
static void est_zero(struct lvs_ctl_state *st, const struct lvs_svc_key *k)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(st->model);

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		struct lvs_svc_key sk;

		lvs_svc_conf_key(&svc->c, &sk);
		if (k && memcmp(&sk, k, sizeof(sk)) != 0)
			continue;
		est_zero_one(&svc->st->est, svc->st->est_on, svc->st->stats, svc->st->nstats);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct lvs_dest_state *ds = svc->dests[j]->st;
			est_zero_one(&ds->est, ds->est_on, ds->stats, ds->nstats);
		}
	}
}

static lvs_time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

static lvs_time_t st_now(const struct lvs_ctl_state *st)
{
	return st->now ? st->now() : mono_now();
}

int lvs_ctl_state_init(struct lvs_ctl_state *st, struct lvs_model *m, struct lvs_conn_table *ct,
                       lvs_time_t (*now)(void))
{
	memset(st, 0, sizeof(*st));
	st->model = m;
	st->ct = ct;
	st->now = now;
	st->est = calloc(1, sizeof(*st->est));
	return st->est ? 0 : -ENOMEM;
}

void lvs_ctl_state_done(struct lvs_ctl_state *st)
{
	lvs_ctl_job_cancel(st);
	free(st->est);
	st->est = NULL;
}

int lvs_ctl_est_step(struct lvs_ctl_state *st, unsigned max)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(st->model);
	struct lvs_ctl_est *E = st->est;
	unsigned done = 0;

	if (!E)
		return 0;
	if (!E->round) {
		E->round = true;
		E->next = 0;
		E->now = st_now(st);
	}
	/* Services (with their destinations) from where the last step
	 * stopped.  The table may have changed in between: an object sampled
	 * twice in a round is ignored the second time (too early), one
	 * skipped is sampled next round. */
	for (; E->next < s->nsvcs; E->next++) {
		const struct lvs_service *svc = s->svcs[E->next];

		if (max && done >= max)
			return 1;
		est_sample(&svc->st->est, &svc->st->est_on, svc->st->stats, svc->st->nstats,
		           E->now);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct lvs_dest_state *ds = svc->dests[j]->st;
			est_sample(&ds->est, &ds->est_on, ds->stats, ds->nstats, E->now);
		}
		done += 1 + svc->ndests;
	}
	E->round = false;
	return 0;
}

bool lvs_ctl_gc(struct lvs_ctl_state *st, unsigned max)
{
	if (st->job)
		return false;
	return lvs_model_gc_some(st->model, lvs_model_gen(st->model) + 1, max);
}

void lvs_ctl_tick(struct lvs_ctl_state *st)
{
	while (lvs_ctl_est_step(st, 0) == 1)
		;
	lvs_ctl_gc(st, 0);
}

/* ---- listing hooks ---- */

struct exec_ctx {
	struct lvs_ctl_state *st;
	const struct lvs_ctl_names *known;
	struct lvs_ctl_names *missing;
	struct lvs_rate svc_r, dest_r;
};

static const struct lvs_rate *hook_svc_rate(void *arg, const struct lvs_svc_state *ss)
{
	struct exec_ctx *x = arg;

	if (!ss->est_on)
		return NULL;
	lvs_est_read(&ss->est, &x->svc_r);
	return &x->svc_r;
}

static const struct lvs_rate *hook_dest_rate(void *arg, const struct lvs_dest_state *ds)
{
	struct exec_ctx *x = arg;

	if (!ds->est_on)
		return NULL;
	lvs_est_read(&ds->est, &x->dest_r);
	return &x->dest_r;
}

/* A name from the client's table; a miss is recorded for it to resolve. */
static int name_lookup(struct exec_ctx *x, const struct lvs_ctl_name *key, char *buf, size_t len)
{
	const struct lvs_ctl_name *e = x->known ? lvs_ctl_names_find(x->known, key) : NULL;

	if (e) {
		if (!e->name)
			return -1;
		snprintf(buf, len, "%s", e->name);
		return 0;
	}
	if (x->missing)
		lvs_ctl_names_add(x->missing, key, NULL); /* full: prints the number */
	return -1;
}

static int hook_host_name(void *arg, int af, const union lvs_addr *a, char *buf, size_t len)
{
	struct lvs_ctl_name key = {.kind = LVS_CTL_NAME_HOST, .fam = (uint8_t)af, .addr = *a};

	return name_lookup(arg, &key, buf, len);
}

static int hook_serv_name(void *arg, uint16_t port, uint8_t proto, char *buf, size_t len)
{
	struct lvs_ctl_name key = {.kind = LVS_CTL_NAME_SERV, .fam = proto, .port = port};

	return name_lookup(arg, &key, buf, len);
}

/* ---- commands ---- */

static const char *base_name(const char *prog)
{
	const char *s = prog && *prog ? strrchr(prog, '/') : NULL;

	if (!prog || !*prog)
		return "lvsadm";
	return s ? s + 1 : prog;
}

static void print_version(FILE *out, const char *prog)
{
	fprintf(out, "%s " LVSADM_VERSION " (lvsd; ipvsadm v1.31 compatible, IPVS v1.2.1)\n",
	        base_name(prog));
}

/* ipvsadm's fail(): the message, then a newline, also after a message
 * that ends in one of its own ("-6 used before -f\n" gives a blank line). */
static void put_msg(FILE *err, const char *msg)
{
	if (!msg[0])
		return;
	fputs(msg, err);
	fputc('\n', err);
}

struct conn_vec {
	struct lvs_conn_info *v;
	size_t n, cap;
	bool nomem;
};

static int conn_collect(void *arg, const struct lvs_conn_info *ci)
{
	struct conn_vec *cv = arg;

	if (cv->n == cv->cap) {
		size_t ncap = cv->cap ? cv->cap * 2 : 256;
		struct lvs_conn_info *nv = realloc(cv->v, ncap * sizeof(*nv));

		if (!nv) {
			cv->nomem = true;
			return 1;
		}
		cv->v = nv;
		cv->cap = ncap;
	}
	cv->v[cv->n++] = *ci;
	return 0;
}

static int list_fail(FILE *err, int rc)
{
	put_msg(err, rc == -ENOMEM ? "Memory allocation problem" : strerror(-rc));
	return LVS_EXIT_FAIL;
}

static int do_list(struct lvs_ctl_state *st, const struct lvs_cmd *cmd,
                   const struct lvs_list_hooks *hooks, FILE *out, FILE *err)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(st->model);
	unsigned fmt = lvs_list_opts_from_cmd(cmd->opts);
	uint32_t size = st->ct ? lvs_conn_table_max(st->ct) : 0;
	int rc = 0;

	if (cmd->opts & LVS_OPT_CONNECTION) {
		struct conn_vec cv = {0};

		if (st->ct)
			lvs_conn_walk(st->ct, st_now(st), conn_collect, &cv);
		rc = cv.nomem ? -ENOMEM : lvs_list_conns(out, cv.v, cv.n, fmt, hooks);
		free(cv.v);
	} else if (cmd->have_svc) {
		struct lvs_svc_key k;

		lvs_svc_conf_key(&cmd->svc, &k);
		rc = lvs_list_services(out, s, size, fmt, &k, hooks);
		if (rc == -ESRCH) {
			/* ipvsadm's list_service(): the get-service error, exit(1) */
			put_msg(err, "No such service");
			return 1;
		}
	} else if (cmd->opts & LVS_OPT_TIMEOUT) {
		rc = lvs_list_timeout(out, &s->timeouts);
	} else if (cmd->opts & LVS_OPT_DAEMON) {
		struct lvs_cmd_daemon dm[2];
		size_t n = st->daemon_list ? st->daemon_list(st->daemon_arg, dm, 2) : 0;

		rc = lvs_list_daemon(out, dm, n);
	} else {
		rc = lvs_list_services(out, s, size, fmt, NULL, hooks);
	}
	return rc ? list_fail(err, rc) : LVS_EXIT_OK;
}

/* The conn table follows the model's timeouts (the workers do so too when
 * they see the new snapshot; the store is idempotent). */
static void sync_timeouts(struct lvs_ctl_state *st)
{
	if (st->ct)
		lvs_conn_set_timeouts(st->ct, &lvs_model_snapshot(st->model)->timeouts);
}

/* A finished command changed the model: the daemon's hook, before the
 * reply goes out. */
static void notify_changed(struct lvs_ctl_state *st, uint64_t gen)
{
	if (st->changed && lvs_model_snapshot(st->model)->gen != gen)
		st->changed(st->changed_arg);
}

/* rc from a rules job step: the message of a failure, the timeouts. */
static int restore_result(struct lvs_ctl_state *st, int rc, const char *msg, FILE *err)
{
	if (rc == LVS_RULES_MORE)
		return LVS_CTL_PENDING;
	/* line by line, a --set may be in force whatever the exit code */
	sync_timeouts(st);
	put_msg(err, msg); /* the atomic load's message; line by line printed its own */
	return rc;
}

static int exec_print(struct lvs_ctl_state *st, const struct lvs_cmd *cmd, const char *prog,
                      const struct lvs_list_hooks *hooks, FILE *out, FILE *err);

/* The commands that print, met on a line of -R: as on the command line,
 * but with numbers for names (the control thread does not wait on DNS,
 * and the client resolves only for a listing of its own). */
static int restore_exec(void *arg, const struct lvs_cmd *cmd, int argc, char *const argv[],
                        FILE *out, FILE *err)
{
	struct lvs_ctl_state *st = arg;
	struct exec_ctx x = {.st = st};
	const struct lvs_list_hooks hooks = {
	        .svc_rate = hook_svc_rate,
	        .dest_rate = hook_dest_rate,
	        .host_name = hook_host_name,
	        .serv_name = hook_serv_name,
	        .ctx = &x,
	};

	return exec_print(st, cmd, argc > 0 ? argv[0] : NULL, &hooks, out, err);
}

static int do_restore(struct lvs_ctl_state *st, const struct lvs_cmd *cmd, const char *prog,
                      const char *in, size_t in_len, FILE *out, FILE *err)
{
	struct lvs_rules_job *j;
	char msg[512];
	int rc;

	if (!in || !in_len)
		return LVS_EXIT_OK; /* empty stdin: nothing to restore */
	if (cmd->atomic)
		rc = lvs_rules_job_new(st->model, in, in_len, "stdin", &j);
	else
		rc = lvs_rules_job_new_lines(st->model, in, in_len, prog, out, err, restore_exec,
		                             st, &j);
	if (rc) {
		put_msg(err, "Memory allocation problem");
		return LVS_EXIT_FAIL;
	}
	rc = lvs_rules_job_step(j, st->step_ns, msg, sizeof(msg));
	if (rc == LVS_RULES_MORE) {
		st->job = j;
		st->job_gen = lvs_model_snapshot(st->model)->gen;
	} else {
		lvs_rules_job_free(j);
	}
	return restore_result(st, rc, msg, err);
}

int lvs_ctl_job_step(struct lvs_ctl_state *st, FILE *err)
{
	char msg[512];
	int rc;

	if (!st->job)
		return LVS_EXIT_OK;
	rc = lvs_rules_job_step(st->job, st->step_ns, msg, sizeof(msg));
	if (rc == LVS_RULES_MORE)
		return LVS_CTL_PENDING;
	lvs_rules_job_free(st->job);
	st->job = NULL;
	rc = restore_result(st, rc, msg, err);
	notify_changed(st, st->job_gen);
	return rc;
}

bool lvs_ctl_busy(const struct lvs_ctl_state *st)
{
	return st->job != NULL;
}

void lvs_ctl_job_cancel(struct lvs_ctl_state *st)
{
	lvs_rules_job_free(st->job); /* undoes its open batch */
	st->job = NULL;
}

/* ipvsadm's ipvs_strerror() for the daemon commands: their own texts,
 * then the generic table every command shares (lvs_model_strerror),
 * which ends in strerror (ENODEV: "No such device"). */
static const char *daemon_strerror(enum lvs_cmd_kind k, int rc)
{
	if (-rc == EEXIST && k == LVS_CMD_START_DAEMON)
		return "Daemon has already run";
	if (-rc == ESRCH)
		return k == LVS_CMD_STOP_DAEMON ? "No daemon is running" : "No such service";
	return lvs_model_strerror(LVS_OP_OTHER, rc);
}

/* -h and -v need no daemon: print and return the exit code, or -1 for
 * every other command. */
static int answer_local(const struct lvs_cmd *cmd, const char *prog, FILE *out)
{
	switch (cmd->cmd) {
	case LVS_CMD_HELP:
		print_version(out, prog);
		lvs_cmd_usage(out, prog);
		return LVS_EXIT_OK;
	case LVS_CMD_VERSION:
		print_version(out, prog);
		return LVS_EXIT_OK;
	default:
		return -1;
	}
}

/* The commands that print (-h -v -L -S --status --checks): their exit
 * code, or -1 for the others. */
static int exec_print(struct lvs_ctl_state *st, const struct lvs_cmd *cmd, const char *prog,
                      const struct lvs_list_hooks *hooks, FILE *out, FILE *err)
{
	int rc = answer_local(cmd, prog, out);

	if (rc >= 0)
		return rc;
	switch (cmd->cmd) {
	case LVS_CMD_LIST:
		if (st->before_list)
			st->before_list(st->before_list_arg);
		return do_list(st, cmd, hooks, out, err);
	case LVS_CMD_SAVE:
		/* names unless -n, found as the listings find them */
		rc = lvs_rules_save_names(lvs_model_snapshot(st->model), out, 0,
		                          lvs_list_opts_from_cmd(cmd->opts), hooks);
		return rc ? list_fail(err, rc) : LVS_EXIT_OK;
	case LVS_CMD_STATUS:
		if (!st->status) {
			put_msg(err, "The status is not available here");
			return LVS_EXIT_FAIL;
		}
		st->status(st->status_arg, out);
		return LVS_EXIT_OK;
	case LVS_CMD_CHECKS:
		if (!st->checks) {
			put_msg(err, "No health checks run here (lvsd runs them for its "
			             "configuration file, -f)");
			return LVS_EXIT_FAIL;
		}
		st->checks(st->checks_arg, out);
		return LVS_EXIT_OK;
	case LVS_CMD_VRRP:
		if (!st->vrrp) {
			put_msg(err, "No VRRP instance runs here (lvsd runs those of its "
			             "configuration file, -f)");
			return LVS_EXIT_FAIL;
		}
		st->vrrp(st->vrrp_arg, out);
		return LVS_EXIT_OK;
	default:
		return -1;
	}
}

static int exec_names(struct lvs_ctl_state *st, int argc, char *const argv[], const char *in,
                      size_t in_len, const struct lvs_ctl_names *known,
                      struct lvs_ctl_names *missing, FILE *out, FILE *err)
{
	struct exec_ctx x = {.st = st, .known = known, .missing = missing};
	struct lvs_list_hooks hooks = {
	        .svc_rate = hook_svc_rate,
	        .dest_rate = hook_dest_rate,
	        .ctx = &x,
	};
	const char *prog = argc > 0 ? argv[0] : NULL;
	struct lvs_cmd cmd;
	char msg[512];
	int rc;

	if (known || missing) {
		hooks.host_name = hook_host_name;
		hooks.serv_name = hook_serv_name;
	}
	rc = lvs_cmd_parse(argc, argv, &cmd, msg, sizeof(msg));
	if (rc != LVS_EXIT_OK) {
		put_msg(err, msg);
		return rc;
	}
	if (cmd.cmd == LVS_CMD_RESTORE)
		return do_restore(st, &cmd, prog, in, in_len, out, err);
	rc = exec_print(st, &cmd, prog, &hooks, out, err);
	if (rc != -1)
		return rc;
	if ((cmd.cmd == LVS_CMD_START_DAEMON || cmd.cmd == LVS_CMD_STOP_DAEMON) && st->daemon_cmd) {
		rc = st->daemon_cmd(st->daemon_arg, &cmd, msg, sizeof(msg));
		if (rc) {
			put_msg(err, daemon_strerror(cmd.cmd, rc));
			return LVS_EXIT_FAIL;
		}
		return LVS_EXIT_OK;
	}
	rc = lvs_cmd_apply(st->model, &cmd, msg, sizeof(msg));
	if (rc != LVS_EXIT_OK) {
		put_msg(err, msg);
		return rc;
	}
	if (cmd.cmd == LVS_CMD_ZERO) {
		struct lvs_svc_key k;

		lvs_svc_conf_key(&cmd.svc, &k);
		est_zero(st, cmd.have_svc ? &k : NULL);
	} else if (cmd.cmd == LVS_CMD_SET_TIMEOUT) {
		sync_timeouts(st);
	}
	return LVS_EXIT_OK;
}

int lvs_ctl_exec_names(struct lvs_ctl_state *st, int argc, char *const argv[], const char *in,
                       size_t in_len, const struct lvs_ctl_names *known,
                       struct lvs_ctl_names *missing, FILE *out, FILE *err)
{
	uint64_t gen = lvs_model_snapshot(st->model)->gen;
	int rc = exec_names(st, argc, argv, in, in_len, known, missing, out, err);

	if (rc != LVS_CTL_PENDING)
		notify_changed(st, gen);
	return rc;
}

int lvs_ctl_exec(struct lvs_ctl_state *st, int argc, char *const argv[], const char *in,
                 size_t in_len, FILE *out, FILE *err)
{
	return lvs_ctl_exec_names(st, argc, argv, in, in_len, NULL, NULL, out, err);
}

int lvs_ctl_local(int argc, char *const argv[], FILE *out, FILE *err, enum lvs_cmd_kind *kind)
{
	const char *prog = argc > 0 ? argv[0] : NULL;
	struct lvs_cmd cmd;
	char msg[512];
	int rc;

	rc = lvs_cmd_parse(argc, argv, &cmd, msg, sizeof(msg));
	if (kind)
		*kind = rc == LVS_EXIT_OK ? cmd.cmd : LVS_CMD_NONE;
	if (rc != LVS_EXIT_OK) {
		put_msg(err, msg);
		return rc;
	}
	return answer_local(&cmd, prog, out);
}
