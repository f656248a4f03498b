/*
 * lvsadm.c - the administration command of lvsd, with ipvsadm's command
 * language, output and exit codes (ipvsadm 1.31), so scripts written for
 * ipvsadm run unchanged.  It sends the command line (and, for -R, the
 * rules read from stdin) to the lvsd of this network namespace over the
 * control socket (ctl.h) and prints what lvsd answers.
 *
 * Installed under the names ipvsadm-save and ipvsadm-restore it behaves
 * like ipvsadm 1.31's scripts of those names: ipvsadm-save runs
 * `ipvsadm -S [-n]` (any other option: its help text, exit 1);
 * ipvsadm-restore drops the lines of stdin that start with '#', clears
 * the table and restores the rest (`ipvsadm -C`, then `ipvsadm -R`, here
 * one -R whose first line is -C), ignoring its arguments.
 * A command line ipvsadm would refuse, -h and -v are answered here, even
 * when no lvsd runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_proto.h"

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p ? p : "lvsadm";
}

/* All of stdin, at most max bytes.  0, -EFBIG or -errno. */
static int read_stdin(char **buf, size_t *len, size_t max)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > max) {
				free(b);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(STDIN_FILENO, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return -EFBIG;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* ipvsadm-restore: "-C" and then stdin without the lines that start with
 * '#' (the script's grep -v '^#').  Replaces *buf.  0 or -ENOMEM. */
static int restore_script_input(char **buf, size_t *len)
{
	static const char clear[] = "-C\n";
	char *in = *buf, *out = malloc(*len + sizeof(clear));
	size_t n = sizeof(clear) - 1;

	if (!out)
		return -ENOMEM;
	memcpy(out, clear, n);
	for (size_t i = 0; i < *len;) {
		const char *nl = memchr(in + i, '\n', *len - i);
		size_t l = nl ? (size_t)(nl - (in + i)) + 1 : *len - i;

		if (in[i] != '#') {
			memcpy(out + n, in + i, l);
			n += l;
		}
		i += l;
	}
	free(in);
	*buf = out;
	*len = n;
	return 0;
}

/* ipvsadm-save's own option check: -n, nothing else starting with '-'. */
static bool save_script_args(int argc, char **argv, bool *numeric)
{
	*numeric = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n"))
			*numeric = true;
		else if (argv[i][0] == '-')
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *me = base_name(argv[0]);
	enum lvs_cmd_kind kind;
	char **av = argv, *in = NULL;
	char *script_av[4] = {"ipvsadm", NULL, NULL, NULL};
	bool restore_script = !strcmp(me, "ipvsadm-restore");
	size_t in_len = 0;
	int ac = argc, rc;

	/* ipvsadm-save / ipvsadm-restore: what the scripts run */
	if (!strcmp(me, "ipvsadm-save")) {
		bool numeric;

		if (!save_script_args(argc, argv, &numeric)) {
			fprintf(stderr, "%s: Script to save the IPVS table to stdout.\n"
			                "   With the -n option, prints out the table in numeric "
			                "format.\n",
			        me);
			return 1;
		}
		script_av[1] = "-S";
		script_av[2] = numeric ? "-n" : NULL;
		av = script_av;
		ac = numeric ? 3 : 2;
	} else if (restore_script) {
		script_av[1] = "-R";
		av = script_av;
		ac = 2;
	}

	rc = lvs_ctl_local(ac, av, stdout, stderr, &kind);
	if (rc >= 0)
		goto out;

	if (kind == LVS_CMD_RESTORE) {
		/* room for the -C line ipvsadm-restore puts first */
		int e = read_stdin(&in, &in_len, LVS_CTL_MAX_IN - (restore_script ? 3 : 0));

		if (!e && restore_script)
			e = restore_script_input(&in, &in_len);
		if (e) {
			fprintf(stderr, "%s: cannot read the rules from stdin: %s\n", me,
			        e == -EFBIG ? "more than 16 MiB" : strerror(-e));
			rc = 255;
			goto out;
		}
	}

	rc = lvs_ctl_call(ac, av, in, in_len, stdout, stderr);
	if (rc < 0) {
		switch (-rc) {
		case ECONNREFUSED:
		case ENOENT:
			fprintf(stderr,
			        "%s: cannot connect to lvsd (is it running in this network "
			        "namespace?)\n",
			        me);
			break;
		case ETIMEDOUT:
			fprintf(stderr, "%s: lvsd did not answer in time\n", me);
			break;
		case EPROTO:
			fprintf(stderr,
			        "%s: lvsd gave an answer this %s does not understand (different "
			        "versions?)\n",
			        me, me);
			break;
		default:
			fprintf(stderr, "%s: talking to lvsd: %s\n", me, strerror(-rc));
			break;
		}
		rc = 255;
	}
out:
	free(in);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	return rc;
}
