/*
 * rules.c - load and save ipvsadm rules files (`ipvsadm -S -n` format).
 *
 * Loading reuses the ipvsadm command parser line by line, but unlike
 * ipvsadm -R it never leaves a half-applied file behind: all lines are
 * parsed first, then replayed on a scratch model that copies the current
 * configuration, and only a file that applies cleanly there is applied to
 * the real model (operations are deterministic, so the second pass can
 * only fail for lack of memory).
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
#include <sys/socket.h>

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

static int apply_all(struct lvs_model *m, const struct rule *r, size_t n, const char *fname,
                     char *err, size_t errlen)
{
	char msg[256];

	for (size_t i = 0; i < n; i++) {
		int rc = lvs_cmd_apply(m, &r[i].cmd, msg, sizeof(msg));
		if (rc) {
			set_err(err, errlen, fname, r[i].line, msg);
			return rc;
		}
	}
	return LVS_EXIT_OK;
}

int lvs_rules_load(struct lvs_model *m, FILE *f, const char *fname, char *err, size_t errlen)
{
	struct rule *rules = NULL;
	size_t nrules = 0, caprules = 0, linecap = 0, argcap = 0;
	char *line = NULL, **argv = NULL, msg[256];
	unsigned lineno = 0;
	int rc = LVS_EXIT_OK;
	ssize_t len;

	if (!fname)
		fname = "-";
	if (err && errlen)
		err[0] = '\0';
	errno = 0;
	while ((len = getline(&line, &linecap, f)) >= 0) {
		struct lvs_cmd cmd;
		int argc;

		lineno++;
		argc = split_words(line, &argv, &argcap);
		if (argc < 0) {
			set_err(err, errlen, fname, lineno, "Memory allocation problem");
			rc = LVS_EXIT_FAIL;
			goto out;
		}
		if (argc <= 1)
			continue;
		rc = lvs_cmd_parse(argc, argv, &cmd, msg, sizeof(msg));
		if (rc) {
			set_err(err, errlen, fname, lineno, msg);
			goto out;
		}
		if (!rules_cmd_allowed(cmd.cmd)) {
			snprintf(msg, sizeof(msg),
			         "the '%s' command is not allowed in a rules file",
			         lvs_cmd_name(cmd.cmd));
			set_err(err, errlen, fname, lineno, msg);
			rc = LVS_EXIT_USAGE;
			goto out;
		}
		if (nrules == caprules) {
			size_t ncap = caprules ? caprules * 2 : 32;
			struct rule *nr = realloc(rules, ncap * sizeof(*nr));
			if (!nr) {
				set_err(err, errlen, fname, lineno, "Memory allocation problem");
				rc = LVS_EXIT_FAIL;
				goto out;
			}
			rules = nr;
			caprules = ncap;
		}
		rules[nrules].cmd = cmd;
		rules[nrules].line = lineno;
		nrules++;
	}
	if (ferror(f)) {
		set_err(err, errlen, fname, 0, strerror(errno ? errno : EIO));
		rc = LVS_EXIT_FAIL;
		goto out;
	}

	/* one batch: the file applies whole, published at once, or not at all */
	if (lvs_model_begin(m)) {
		set_err(err, errlen, fname, 0, "Memory allocation problem");
		rc = LVS_EXIT_FAIL;
		goto out;
	}
	rc = apply_all(m, rules, nrules, fname, err, errlen);
	if (rc) {
		lvs_model_abort(m);
		goto out;
	}
	if (lvs_model_commit(m)) {
		set_err(err, errlen, fname, 0, "Memory allocation problem");
		rc = LVS_EXIT_FAIL;
	}
out:
	free(rules);
	free(argv);
	free(line);
	return rc;
}

/* ---- saving ---- */

/* Sorting: ipvsadm sorts -S output like its listings (ipvsadm_list.c). */

/* "a.b.c.d:port" or "[v6]:port", numeric, as ipvsadm -n. */
static const char *addrport_str(uint8_t af, const union lvs_addr *a, uint16_t port_be, char *buf,
                                size_t len)
{
	char ab[INET6_ADDRSTRLEN];

	lvs_addr_str(af, a, ab, sizeof(ab));
	if (af == AF_INET)
		snprintf(buf, len, "%s:%u", ab, ntohs(port_be));
	else
		snprintf(buf, len, "[%s]:%u", ab, ntohs(port_be));
	return buf;
}

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

static void save_dest(FILE *out, const char *svc_name, const struct lvs_dest_conf *d,
                      unsigned flags)
{
	char dname[INET6_ADDRSTRLEN + 16];

	addrport_str(d->af, &d->addr, d->port, dname, sizeof(dname));
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
	if ((flags & LVS_RULES_SAVE_THRESHOLDS) && (d->u_threshold || d->l_threshold))
		fprintf(out, " -x %u -y %u", d->u_threshold, d->l_threshold);
	fputc('\n', out);
}

static int save_service(FILE *out, const struct lvs_service *svc, unsigned flags)
{
	const struct lvs_svc_conf *c = &svc->c;
	char name[INET6_ADDRSTRLEN + 40], ap[INET6_ADDRSTRLEN + 16];
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
		snprintf(name, sizeof(name), "%s %s", stype,
		         addrport_str(c->af, &c->addr, c->port, ap, sizeof(ap)));
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
		save_dest(out, name, &dests[i]->c, flags);
	free(dests);
	return 0;
}

int lvs_rules_save_ext(const struct lvs_snapshot *s, FILE *out, unsigned flags)
{
	const struct lvs_service **svcs = malloc((s->nsvcs ? s->nsvcs : 1) * sizeof(*svcs));
	int rc = 0;

	if (!svcs || lvs_list_order_services(s, false, svcs)) {
		free(svcs);
		return -ENOMEM;
	}
	for (uint32_t i = 0; !rc && i < s->nsvcs; i++)
		rc = save_service(out, svcs[i], flags);
	free(svcs);
	if (!rc && (fflush(out) != 0 || ferror(out)))
		rc = -EIO;
	return rc;
}

int lvs_rules_save(const struct lvs_snapshot *s, FILE *out)
{
	return lvs_rules_save_ext(s, out, 0);
}
