/*
 * rules.c - load and save ipvsadm rules files (`ipvsadm -S -n` format).
 *
 * Loading reuses the ipvsadm command parser line by line, in one of two
 * ways.  As ipvsadm -R (lvs_rules_job_new_lines): each line is parsed and
 * carried out on its own, its errors printed as ipvsadm prints them, the
 * next line read after a refused operation or an option error, the load
 * ended where ipvsadm exits (a bad value, a line that is not a command).
 * Atomic (lvs_rules_load, lvs_rules_job_new, `lvsadm -R --atomic`): every
 * line is parsed first, then the commands run as one model batch,
 * published whole or not at all.  Either way the operations go into an
 * open model batch (a line that fails changes nothing in it), so 10,000
 * services publish each touched service once, and a load runs in steps of
 * bounded time (a job) so the daemon's control loop does not stall.
 *
 * Saving prints what ipvsadm 1.31 prints for -S -n, including its order:
 * ipvsadm sorts services and destinations with comparators that subtract
 * 32-bit values and return the difference as an int (so addresses more
 * than 2^31 apart compare "backwards"), using glibc's qsort, which is a
 * top-down merge sort.  Both are reproduced by ipvsadm_list.c's ordering
 * functions, shared with the listings, so the output matches byte for byte.  (Destinations reach the sort in the kernel's list order,
 * as here; services in the kernel's hash order, for which creation order
 * stands in -- the result differs only when three or more service
 * addresses are so far apart that the comparator is not transitive.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pe.h"
#include "ipvsadm_list.h"
#include "rules.h"

/* ---- loading ---- */

struct rule {
	struct lvs_cmd cmd;
	unsigned line;
};

static void set_err(char *err, size_t errlen, const char *fname, unsigned line, const char *msg)
{
	size_t n;

	if (!err || !errlen)
		return;
	if (line)
		snprintf(err, errlen, "%s:%u: %s", fname, line, msg);
	else
		snprintf(err, errlen, "%s: %s", fname, msg);
	/* some ipvsadm messages end in a newline of their own */
	n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = '\0';
}

static bool rules_cmd_allowed(enum lvs_cmd_kind k)
{
	switch (k) {
	case LVS_CMD_ADD_SERVICE:
	case LVS_CMD_EDIT_SERVICE:
	case LVS_CMD_DEL_SERVICE:
	case LVS_CMD_FLUSH:
	case LVS_CMD_ADD_DEST:
	case LVS_CMD_EDIT_DEST:
	case LVS_CMD_DEL_DEST:
	case LVS_CMD_SET_TIMEOUT:
	case LVS_CMD_ZERO:
		return true;
	default:
		return false;
	}
}

/*
 * Split line (modified in place) into words after argv[0] = "ipvsadm".
 * *argv grows as needed.  Returns the word count including argv[0], or -1
 * when out of memory.
 */
static int split_words(char *line, char ***argv, size_t *cap)
{
	static const char delim[] = " \t\r\n\v\f";
	char *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(line, delim, &save);; w = strtok_r(NULL, delim, &save)) {
		if (w && w[0] == '#')
			w = NULL; /* the rest of the line is a comment */
		if (w && strcmp(w, "ipvsadm") == 0)
			continue;
		if ((size_t)argc + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 16;
			char **nv = realloc(*argv, ncap * sizeof(*nv));
			if (!nv)
				return -1;
			*argv = nv;
			*cap = ncap;
		}
		if (argc == 0)
			(*argv)[argc++] = (char *)"ipvsadm";
		if (!w)
			break;
		(*argv)[argc++] = w;
	}
	(*argv)[argc] = NULL;
	return argc;
}

/*
 * A load in steps.  Phases: PARSE (line by line into rules[]), APPLY
 * (the commands in one open model batch), PREPARE (the new versions of
 * the services, a few at a time), then the commit, which swaps them in.  The text is
 * the caller's, read in place (lines are copied into a scratch buffer
 * before splitting).
 */
enum job_phase { JOB_PARSE, JOB_APPLY, JOB_PREPARE, JOB_COMMIT, JOB_DONE };

struct lvs_rules_job {
	struct lvs_model *m;
	const char *text, *pos, *end;
	char fname[64];
	enum job_phase phase;
	/* line by line (ipvsadm -R): where messages and listings go, what
	 * runs the commands that print, the program name of the hint, the
	 * exit code so far (the last line's, as ipvsadm's) */
	bool lines;
	FILE *out, *err;
	lvs_rules_exec_fn *exec;
	void *exec_arg;
	char prog[64];
	int result;
	struct rule *rules;
	size_t nrules, caprules, next;
	char *line, **argv;
	size_t linecap, argcap;
	unsigned lineno;
	bool batch; /* the model batch is open */
	int rc;     /* the result once JOB_DONE */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lvs_rules_job_new(struct lvs_model *m, const char *text, size_t len, const char *fname,
                      struct lvs_rules_job **out)
{
	struct lvs_rules_job *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (!j)
		return -ENOMEM;
	j->m = m;
	j->text = j->pos = text ? text : "";
	j->end = j->text + (text ? len : 0);
	snprintf(j->fname, sizeof(j->fname), "%s", fname ? fname : "-");
	*out = j;
	return 0;
}

int lvs_rules_job_new_lines(struct lvs_model *m, const char *text, size_t len, const char *prog,
                            FILE *out, FILE *err, lvs_rules_exec_fn *exec, void *exec_arg,
                            struct lvs_rules_job **out_job)
{
	int rc = lvs_rules_job_new(m, text, len, "-", out_job);

	if (rc)
		return rc;
	(*out_job)->lines = true;
	(*out_job)->out = out;
	(*out_job)->err = err;
	(*out_job)->exec = exec;
	(*out_job)->exec_arg = exec_arg;
	snprintf((*out_job)->prog, sizeof((*out_job)->prog), "%s",
	         prog && prog[0] ? prog : "ipvsadm");
	return 0;
}

void lvs_rules_job_free(struct lvs_rules_job *j)
{
	if (!j)
		return;
	if (j->batch)
		lvs_model_abort(j->m);
	free(j->rules);
	free(j->argv);
	free(j->line);
	free(j);
}

static int job_fail(struct lvs_rules_job *j, int rc, unsigned line, const char *msg,
                    char *err, size_t errlen)
{
	set_err(err, errlen, j->fname, line, msg);
	if (j->batch) {
		lvs_model_abort(j->m);
		j->batch = false;
	}
	j->phase = JOB_DONE;
	j->rc = rc;
	return rc;
}

/* One line of the text: LVS_EXIT_OK (a rule added or nothing on it), or
 * the failure (recorded by job_fail). */
static int job_parse_line(struct lvs_rules_job *j, char *err, size_t errlen)
{
	const char *nl = memchr(j->pos, '\n', (size_t)(j->end - j->pos));
	size_t n = nl ? (size_t)(nl - j->pos) : (size_t)(j->end - j->pos);
	struct lvs_cmd cmd;
	char msg[256];
	int argc, rc;

	j->lineno++;
	if (n + 1 > j->linecap) {
		char *nb = realloc(j->line, n + 1);
		if (!nb)
			return job_fail(j, LVS_EXIT_FAIL, j->lineno, "Memory allocation problem",
			                err, errlen);
		j->line = nb;
		j->linecap = n + 1;
	}
	memcpy(j->line, j->pos, n);
	j->line[n] = '\0';
	j->pos += n + (nl != NULL);
	argc = split_words(j->line, &j->argv, &j->argcap);
	if (argc < 0)
		return job_fail(j, LVS_EXIT_FAIL, j->lineno, "Memory allocation problem", err,
		                errlen);
	if (argc <= 1)
		return LVS_EXIT_OK;
	rc = lvs_cmd_parse(argc, j->argv, &cmd, msg, sizeof(msg));
	if (rc)
		return job_fail(j, rc, j->lineno, msg, err, errlen);
	if (!rules_cmd_allowed(cmd.cmd)) {
		snprintf(msg, sizeof(msg), "the '%s' command is not allowed in a rules file",
		         lvs_cmd_name(cmd.cmd));
		return job_fail(j, LVS_EXIT_USAGE, j->lineno, msg, err, errlen);
	}
	if (j->nrules == j->caprules) {
		size_t ncap = j->caprules ? j->caprules * 2 : 32;
		struct rule *nr = realloc(j->rules, ncap * sizeof(*nr));
		if (!nr)
			return job_fail(j, LVS_EXIT_FAIL, j->lineno, "Memory allocation problem",
			                err, errlen);
		j->rules = nr;
		j->caprules = ncap;
	}
	j->rules[j->nrules].cmd = cmd;
	j->rules[j->nrules].line = j->lineno;
	j->nrules++;
	return LVS_EXIT_OK;
}

/*
 * ipvsadm's config_stream_read(): words separated by blanks, tabs and
 * carriage returns; the word "ipvsadm" is dropped; no comments (a '#'
 * line is a command line like any other, which ipvsadm refuses).
 * argv[0] is the program name.  Returns the word count, or -1 (memory).
 */
static int split_ipvsadm_words(struct lvs_rules_job *j)
{
	static const char delim[] = " \t\r";
	char *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(j->line, delim, &save);; w = strtok_r(NULL, delim, &save)) {
		if (w && strcmp(w, "ipvsadm") == 0)
			continue;
		if ((size_t)argc + 2 > j->argcap) {
			size_t ncap = j->argcap ? j->argcap * 2 : 16;
			char **nv = realloc(j->argv, ncap * sizeof(*nv));
			if (!nv)
				return -1;
			j->argv = nv;
			j->argcap = ncap;
		}
		if (argc == 0)
			j->argv[argc++] = j->prog;
		if (!w)
			break;
		j->argv[argc++] = w;
	}
	j->argv[argc] = NULL;
	return argc;
}

/* ipvsadm's fail() and friends: the message and a newline, also after a
 * message that ends in one of its own (a blank line then). */
static void line_msg(struct lvs_rules_job *j, const char *msg)
{
	if (msg[0])
		fprintf(j->err, "%s\n", msg);
}

/* The batch so far in force, before a command that prints what is. */
static int job_settle(struct lvs_rules_job *j)
{
	int rc = 0;

	if (!j->batch)
		return 0;
	j->batch = false;
	while ((rc = lvs_model_prepare(j->m, 0)) > 0)
		;
	if (rc == 0)
		rc = lvs_model_commit(j->m);
	return rc;
}

/*
 * One line as ipvsadm -R runs it.  Returns true to read the next line,
 * false where ipvsadm would exit (j->result is its exit code then).
 */
static bool job_run_line(struct lvs_rules_job *j)
{
	const char *nl = memchr(j->pos, '\n', (size_t)(j->end - j->pos));
	size_t n = nl ? (size_t)(nl - j->pos) : (size_t)(j->end - j->pos);
	struct lvs_cmd cmd;
	char msg[512];
	int argc, rc;

	j->lineno++;
	if (n + 1 > j->linecap) {
		char *nb = realloc(j->line, n + 1);
		if (!nb)
			goto nomem;
		j->line = nb;
		j->linecap = n + 1;
	}
	memcpy(j->line, j->pos, n);
	j->line[n] = '\0';
	j->pos += n + (nl != NULL);
	argc = split_ipvsadm_words(j);
	if (argc < 0)
		goto nomem;
	if (argc <= 1)
		return true; /* ipvsadm skips a line without words */
	rc = lvs_cmd_parse(argc, j->argv, &cmd, msg, sizeof(msg));
	if (rc) {
		line_msg(j, msg);
		j->result = rc;
		/* popt's errors ("-j: unknown option") end that line only;
		 * fail() and the "Try" hint of a line that is not a command
		 * end ipvsadm */
		return rc == LVS_EXIT_FAIL && cmd.cmd != LVS_CMD_NONE;
	}
	switch (cmd.cmd) {
	case LVS_CMD_RESTORE:
		/* ipvsadm refuses -R within -R (its "infinite loop" guard) */
		fprintf(j->err, "Try `%s -h' or '%s --help' for more information.\n", j->prog,
		        j->prog);
		j->result = LVS_EXIT_FAIL;
		return false;
	case LVS_CMD_LIST:
	case LVS_CMD_SAVE:
	case LVS_CMD_HELP:
	case LVS_CMD_VERSION:
	case LVS_CMD_STATUS:
	case LVS_CMD_CHECKS:
		if (job_settle(j))
			goto nomem;
		rc = j->exec ? j->exec(j->exec_arg, &cmd, argc, j->argv, j->out, j->err)
		             : LVS_EXIT_OK;
		j->result = rc;
		/* -h and -v exit ipvsadm, as does -L of a missing service */
		return cmd.cmd != LVS_CMD_HELP && cmd.cmd != LVS_CMD_VERSION && rc != 1;
	default:
		break;
	}
	if (!j->batch) {
		if (lvs_model_begin(j->m))
			goto nomem;
		j->batch = true;
	}
	rc = lvs_cmd_apply(j->m, &cmd, msg, sizeof(msg));
	if (rc)
		line_msg(j, msg); /* the kernel's refusal: the next line is read */
	j->result = rc;
	return true;
nomem:
	line_msg(j, "Memory allocation problem");
	j->result = LVS_EXIT_FAIL;
	return false;
}

/* Lines or commands between two looks at the clock; services whose
 * versions are built between two looks. */
#define JOB_CLOCK_EVERY 64
#define JOB_PREPARE_EACH 16

int lvs_rules_job_step(struct lvs_rules_job *j, uint64_t budget_ns, char *err, size_t errlen)
{
	uint64_t deadline = budget_ns ? mono_ns() + budget_ns : UINT64_MAX;
	unsigned k = 0;
	char msg[256];

	if (err && errlen)
		err[0] = '\0';
	while (j->phase != JOB_DONE) {
		if (++k % JOB_CLOCK_EVERY == 0 && budget_ns && mono_ns() >= deadline)
			return LVS_RULES_MORE;
		switch (j->phase) {
		case JOB_PARSE:
			if (j->lines) {
				/* what was applied stays, as ipvsadm leaves it */
				if (j->pos >= j->end || !job_run_line(j))
					j->phase = j->batch ? JOB_PREPARE : JOB_COMMIT;
				break;
			}
			if (j->pos >= j->end) {
				j->phase = JOB_APPLY;
				break;
			}
			if (job_parse_line(j, err, errlen))
				return j->rc;
			break;
		case JOB_APPLY:
			if (!j->batch) {
				/* one batch: the file applies whole, or not at all */
				if (lvs_model_begin(j->m))
					return job_fail(j, LVS_EXIT_FAIL, 0,
					                "Memory allocation problem", err, errlen);
				j->batch = true;
			}
			if (j->next == j->nrules) {
				j->phase = JOB_PREPARE;
				break;
			}
			{
				const struct rule *r = &j->rules[j->next++];
				int rc = lvs_cmd_apply(j->m, &r->cmd, msg, sizeof(msg));
				if (rc)
					return job_fail(j, rc, r->line, msg, err, errlen);
			}
			break;
		case JOB_PREPARE: {
			/* a few services per round: look at the clock every time */
			int rc = lvs_model_prepare(j->m, JOB_PREPARE_EACH);
			k = JOB_CLOCK_EVERY - 1;
			if (rc < 0 && j->lines) {
				j->batch = false; /* rolled back and closed */
				line_msg(j, "Memory allocation problem");
				j->result = LVS_EXIT_FAIL;
				j->phase = JOB_COMMIT;
				break;
			}
			if (rc < 0) {
				j->batch = false; /* rolled back and closed */
				return job_fail(j, LVS_EXIT_FAIL, 0, "Memory allocation problem",
				                err, errlen);
			}
			if (rc == 0)
				j->phase = JOB_COMMIT;
			break;
		}
		case JOB_COMMIT:
			if (j->batch && lvs_model_commit(j->m)) {
				j->batch = false;
				if (j->lines) {
					line_msg(j, "Memory allocation problem");
					j->result = LVS_EXIT_FAIL;
				} else {
					return job_fail(j, LVS_EXIT_FAIL, 0,
					                "Memory allocation problem", err, errlen);
				}
			}
			j->batch = false;
			j->phase = JOB_DONE;
			j->rc = j->lines ? j->result : LVS_EXIT_OK;
			break;
		case JOB_DONE:
			break;
		}
	}
	return j->rc;
}

int lvs_rules_load(struct lvs_model *m, FILE *f, const char *fname, char *err, size_t errlen)
{
	struct lvs_rules_job *j = NULL;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	errno = 0;
	do {
		if (cap - len < 65536) {
			char *nt = realloc(text, cap = cap ? cap * 2 : 65536);
			if (!nt) {
				free(text);
				set_err(err, errlen, fname ? fname : "-", 0,
				        "Memory allocation problem");
				return LVS_EXIT_FAIL;
			}
			text = nt;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		set_err(err, errlen, fname ? fname : "-", 0, strerror(errno ? errno : EIO));
		free(text);
		return LVS_EXIT_FAIL;
	}
	if (lvs_rules_job_new(m, text, len, fname, &j)) {
		set_err(err, errlen, fname ? fname : "-", 0, "Memory allocation problem");
		free(text);
		return LVS_EXIT_FAIL;
	}
	rc = lvs_rules_job_step(j, 0, err, errlen);
	lvs_rules_job_free(j);
	free(text);
	return rc;
}

/* ---- saving ---- */

/* Sorting: ipvsadm sorts -S output like its listings (ipvsadm_list.c). */

static void print_sched_flags(FILE *out, const struct lvs_svc_conf *c)
{
	char flags[64] = "";
	size_t n;

	if (!strcmp(c->sched, "sh")) {
		if (c->flags & LVS_SVC_F_SCHED_SH_FALLBACK)
			strcat(flags, "sh-fallback,");
		if (c->flags & LVS_SVC_F_SCHED_SH_PORT)
			strcat(flags, "sh-port,");
	} else if (!strcmp(c->sched, "mh")) {
		if (c->flags & LVS_SVC_F_SCHED_MH_FALLBACK)
			strcat(flags, "mh-fallback,");
		if (c->flags & LVS_SVC_F_SCHED_MH_PORT)
			strcat(flags, "mh-port,");
	} else {
		if (c->flags & LVS_SVC_F_SCHED1)
			strcat(flags, "flag-1,");
		if (c->flags & LVS_SVC_F_SCHED2)
			strcat(flags, "flag-2,");
		if (c->flags & LVS_SVC_F_SCHED3)
			strcat(flags, "flag-3,");
	}
	n = strlen(flags);
	if (n) {
		flags[n - 1] = '\0';
		fputs(flags, out);
	}
}

static const char *fwd_switch(uint8_t fwd)
{
	switch (fwd) {
	case LVS_FWD_MASQ:
		return "-m";
	case LVS_FWD_TUNNEL:
		return "-i";
	default:
		return "-g"; /* route and local */
	}
}

static const char *tun_csum_opt(uint16_t flags)
{
	switch (flags) {
	case LVS_TUN_F_CSUM:
		return "--tun-csum";
	case LVS_TUN_F_REMCSUM:
		return "--tun-remcsum";
	default:
		return "--tun-nocsum";
	}
}

/* What a save prints with: lvs_rules_save_ext's flags, the listing's
 * options (LVS_LIST_NUMERIC for -n) and name hooks. */
struct save_fmt {
	unsigned flags, opts;
	const struct lvs_list_hooks *hooks;
};

static void save_dest(FILE *out, const char *svc_name, uint8_t proto,
                      const struct lvs_dest_conf *d, const struct save_fmt *f)
{
	char dname[LVS_LIST_NAME_LEN];

	lvs_list_addrport_name(dname, d->af, &d->addr, ntohs(d->port), proto, f->opts, f->hooks);
	fprintf(out, "-a %s -r %s %s -w %d", svc_name, dname, fwd_switch(d->fwd), d->weight);
	if (d->fwd == LVS_FWD_TUNNEL) {
		switch (d->tun_type) {
		case LVS_TUN_IPIP:
			fprintf(out, " --tun-type ipip");
			break;
		case LVS_TUN_GUE:
			fprintf(out, " --tun-type gue --tun-port %d %s", ntohs(d->tun_port),
			        tun_csum_opt(d->tun_flags));
			break;
		case LVS_TUN_GRE:
			fprintf(out, " --tun-type gre %s", tun_csum_opt(d->tun_flags));
			break;
		default:
			break;
		}
	}
	if ((f->flags & LVS_RULES_SAVE_THRESHOLDS) && (d->u_threshold || d->l_threshold))
		fprintf(out, " -x %u -y %u", d->u_threshold, d->l_threshold);
	fputc('\n', out);
}

static int save_service(FILE *out, const struct lvs_service *svc, const struct save_fmt *f)
{
	const struct lvs_svc_conf *c = &svc->c;
	char name[LVS_LIST_NAME_LEN + 40], ap[LVS_LIST_NAME_LEN];
	const struct lvs_dest **dests;

	if (c->fwmark) {
		/* %d as ipvsadm prints it, even for marks above 2^31 */
		snprintf(name, sizeof(name), "-f %d%s", (int)c->fwmark,
		         c->af == AF_INET6 ? " -6" : "");
	} else {
		const char *stype = c->proto == IPPROTO_TCP    ? "-t"
		                    : c->proto == IPPROTO_UDP  ? "-u"
		                    : c->proto == IPPROTO_SCTP ? "--sctp-service"
		                                               : "--xxx-service";
		lvs_list_addrport_name(ap, c->af, &c->addr, ntohs(c->port), c->proto, f->opts,
		                       f->hooks);
		snprintf(name, sizeof(name), "%s %s", stype, ap);
	}
	fprintf(out, "-A %s -s %s", name, c->sched);
	if (c->flags & LVS_SVC_F_PERSISTENT) {
		fprintf(out, " -p %u", c->timeout);
		if (c->af == AF_INET && c->netmask != 0xffffffffU) {
			char mb[INET_ADDRSTRLEN];
			struct in_addr mask = {.s_addr = c->netmask};
			fprintf(out, " -M %s", inet_ntop(AF_INET, &mask, mb, sizeof(mb)));
		}
		if (c->af == AF_INET6 && c->netmask != 128)
			fprintf(out, " -M %i", (int)c->netmask);
	}
	/* ipvsadm 1.31 saves the engine whether or not -p is set */
	if (c->pe)
		fprintf(out, " --pe %s", lvs_pe_name(c->pe));
	if (c->flags & LVS_SVC_F_ONEPACKET)
		fprintf(out, " -o");
	if (c->flags & (LVS_SVC_F_SCHED1 | LVS_SVC_F_SCHED2 | LVS_SVC_F_SCHED3)) {
		fprintf(out, " -b ");
		print_sched_flags(out, c);
	}
	fputc('\n', out);

	dests = malloc((svc->ndests ? svc->ndests : 1) * sizeof(*dests));
	if (!dests || lvs_list_order_dests(svc, false, dests)) {
		free(dests);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < svc->ndests; i++)
		save_dest(out, name, c->fwmark ? 0 : c->proto, &dests[i]->c, f);
	free(dests);
	return 0;
}

int lvs_rules_save_names(const struct lvs_snapshot *s, FILE *out, unsigned flags, unsigned opts,
                         const struct lvs_list_hooks *hooks)
{
	const struct lvs_service **svcs = malloc((s->nsvcs ? s->nsvcs : 1) * sizeof(*svcs));
	const struct save_fmt f = {.flags = flags, .opts = opts, .hooks = hooks};
	int rc = 0;

	if (!svcs || lvs_list_order_services(s, false, svcs)) {
		free(svcs);
		return -ENOMEM;
	}
	for (uint32_t i = 0; !rc && i < s->nsvcs; i++)
		rc = save_service(out, svcs[i], &f);
	free(svcs);
	if (!rc && (fflush(out) != 0 || ferror(out)))
		rc = -EIO;
	return rc;
}

int lvs_rules_save_ext(const struct lvs_snapshot *s, FILE *out, unsigned flags)
{
	return lvs_rules_save_names(s, out, flags, LVS_LIST_NUMERIC, NULL);
}

int lvs_rules_save(const struct lvs_snapshot *s, FILE *out)
{
	return lvs_rules_save_ext(s, out, 0);
}
