/*
 * lvsadm.c - the administration command of lvsd, with ipvsadm's command
 * language, output and exit codes (ipvsadm 1.31), so scripts written for
 * ipvsadm run unchanged.  It sends the command line (and, for -R, the
 * rules read from stdin) to the lvsd of this network namespace over the
 * control socket (ctl.h) and prints what lvsd answers.
 *
 * Installed under the names ipvsadm-save and ipvsadm-restore it behaves
 * like those scripts: `ipvsadm -S` / `ipvsadm -R` with the given options.
 * A command line ipvsadm would refuse, -h and -v are answered here, even
 * when no lvsd runs.
 */
#include <errno.h>
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

int main(int argc, char **argv)
{
	const char *me = base_name(argv[0]);
	enum lvs_cmd_kind kind;
	char **av = argv, *in = NULL;
	size_t in_len = 0;
	int ac = argc, rc;

	/* ipvsadm-save / ipvsadm-restore: the scripts run `ipvsadm -S|-R` */
	if (!strcmp(me, "ipvsadm-save") || !strcmp(me, "ipvsadm-restore")) {
		av = calloc((size_t)argc + 2, sizeof(*av));
		if (!av) {
			fprintf(stderr, "%s: out of memory\n", me);
			return 255;
		}
		av[0] = "ipvsadm";
		av[1] = me[8] == 's' ? "-S" : "-R";
		for (int i = 1; i < argc; i++)
			av[i + 1] = argv[i];
		ac = argc + 1;
	}

	rc = lvs_ctl_local(ac, av, stdout, stderr, &kind);
	if (rc >= 0)
		goto out;

	if (kind == LVS_CMD_RESTORE) {
		int e = read_stdin(&in, &in_len, LVS_CTL_MAX_IN);

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
	if (av != argv)
		free(av);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	return rc;
}
