/*
 * check_notify.c - notify scripts, started with posix_spawn (lvsd may be
 * large: no fork of the whole process), in their own process group, with
 * stdin and stdout on /dev/null, reaped through a pidfd on the loop so
 * that nothing waits and no zombie is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_notify.h"
#include "log.h"

extern char **environ;

struct child {
	pid_t pid;
	int pidfd;
	struct event *ev;
	char what[64];
};

char **lvs_script_argv(const char *cmdline)
{
	size_t n = strlen(cmdline), words = 0;
	char **argv, *out;
	const char *s = cmdline;

	/* at most n/2+1 words; the strings fit in n+1 bytes after them */
	argv = malloc((n / 2 + 2) * sizeof(char *) + n + 1);
	if (!argv)
		return NULL;
	out = (char *)(argv + n / 2 + 2);
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		argv[words++] = out;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '"') {
				for (s++; *s && *s != '"'; s++)
					*out++ = *s;
				if (*s)
					s++;
			} else {
				*out++ = *s++;
			}
		}
		*out++ = '\0';
	}
	argv[words] = NULL;
	if (!words) {
		free(argv);
		return NULL;
	}
	return argv;
}

static void child_free(struct child *c)
{
	if (c->ev)
		event_free(c->ev);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c);
}

static void child_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	siginfo_t si;

	(void)fd;
	if (what & EV_TIMEOUT) {
		lvs_warn("checks: %s: still running after %d s: killed", c->what,
			 LVS_NOTIFY_TIMEOUT_S);
		kill(-c->pid, SIGKILL);
		/* reaped when it is gone: the pidfd becomes readable */
		struct timeval tv = {.tv_sec = 5};
		event_add(c->ev, &tv);
		return;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) || !si.si_pid)
		return; /* not yet (spurious) */
	if (si.si_code == CLD_EXITED && si.si_status)
		lvs_info("checks: %s exited with %d", c->what, si.si_status);
	else if (si.si_code != CLD_EXITED)
		lvs_info("checks: %s killed by signal %d", c->what, si.si_status);
	child_free(c);
}

int lvs_check_notify(struct event_base *base, const char *cmdline, const char *what)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct child *c;
	char **argv = lvs_script_argv(cmdline);
	struct timeval tv = {.tv_sec = LVS_NOTIFY_TIMEOUT_S};
	int rc;

	if (!argv)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		free(argv);
		return -ENOMEM;
	}
	c->pidfd = -1;
	snprintf(c->what, sizeof(c->what), "script %s (%s)", argv[0], what);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	{
		sigset_t none, all;
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
	}
	rc = posix_spawn(&c->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(argv);
	if (rc) {
		lvs_warn("checks: %s: %s", c->what, strerror(rc));
		free(c);
		return -rc;
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0) {
		rc = -errno;
		/* cannot watch it (out of descriptors): it runs, and stays a
		 * zombie until lvsd exits rather than lvsd waiting for it */
		lvs_warn("checks: %s: pidfd: %s", c->what, strerror(errno));
		free(c);
		return rc;
	}
	c->ev = event_new(base, c->pidfd, EV_READ, child_cb, c);
	if (!c->ev || event_add(c->ev, &tv)) {
		kill(-c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		child_free(c);
		return -ENOMEM;
	}
	return 0;
}
