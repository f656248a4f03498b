/*
 * check_misc.c - MISC_CHECK: run an operator's program and judge its exit
 * status (keepalived's check/check_misc.c, run as core/notify.c's
 * system_call_script runs it).
 *
 * The command line: misc_path split into words as keepalived splits it
 * (set_script_params_array: blanks separate words, '...' and "..." quote,
 * a backslash escapes, with \n \t \xHH \ooo and friends); argv[0] is
 * executed directly with execve (no PATH search, no shell).  keepalived
 * hands a file that is not an executable (a script without #!) to
 * system(), i.e. /bin/sh; lvsd does the same when execve says ENOEXEC.
 *
 * The child: its own process group (so a timeout kills what it started),
 * stdin/stdout/stderr on /dev/null, default signal dispositions, an empty
 * signal mask, and `user` / `group` when given (supplementary groups of
 * the user as keepalived's set_script_env sets them).
 *
 * How it is started: posix_spawn, which glibc implements with
 * clone(CLONE_VM | CLONE_VFORK) — no copy of lvsd's page tables, which
 * matters when the connection table is large.  posix_spawn cannot change
 * credentials, so with `user` set the child is made with vfork() and sets
 * them itself with raw syscalls: glibc's setuid()/setgid() would try to
 * change the credentials of every thread of the process, and a vfork
 * child shares the parent's memory.  fork() is avoided on purpose: it
 * would write-protect all of lvsd's private memory, and the forwarding
 * threads would then take a page fault on every page they touch.
 *
 * The verdict (misc_check_child_thread): exit 0 OK; with misc_dynamic,
 * exit 2..255 OK with weight exit - 2; any other exit FAIL "exit N";
 * killed by a signal FAIL.  A program that outlives misc_timeout (0: the
 * probe's budget) has its process group killed with SIGKILL and the probe
 * fails with "timeout" (keepalived sends SIGTERM first and SIGKILL 2 s
 * later; a probe has no time for that).  Exit 0 passes weight -1 (keep):
 * keepalived then restores the configured weight when an earlier exit set
 * another one, which the core has to do since the checker does not know
 * it.
 *
 * A program that cannot be executed (missing, not executable) makes start
 * fail with that error; keepalived disables such a checker at load time.
 *
 * The user: the checker's `user`, else global_defs' script_user (filled in
 * by the config reader), else keepalived_script when the system has that
 * user, else lvsd's own.  lvs_check_misc_unsafe says whether a script
 * that runs as root could be changed by another user (keepalived's
 * check_security); the core disables such a checker under
 * enable_script_security and warns otherwise.
 *
 * The child is reaped through a pidfd watched on p->base.  When it does
 * not die by the deadline after SIGKILL (uninterruptible sleep), or on
 * cancel, the pidfd goes to a small reaper of its own on the base, which
 * waits for the exit and frees itself.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checker.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

#define MISC_MAX_GROUPS 256
#define MISC_DEFAULT_USER "keepalived_script"

struct misc_creds {
	bool set;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MISC_MAX_GROUPS];
};

struct misc_probe {
	pid_t pid;
	int pidfd;
	bool killed;         /* SIGKILL sent at the timeout */
	uint64_t kill_at_ns; /* the timeout */
	struct event *ev;
	char **argv;         /* one block: pointers then the words */
};

/* ---- the command line ---- */

/* misc_path in words, as keepalived's alloc_strvec_quoted_escaped splits
 * it; NULL on an unterminated quote, a trailing backslash, no word, or
 * no memory.  One allocation, freed with free(). */
static char **misc_split(const char *line)
{
	size_t len = strlen(line), nmax = len / 2 + 2;
	char **argv = malloc(nmax * sizeof(char *) + len + 1);
	char *out, quote = 0;
	const char *s = line;
	size_t n = 0;

	if (!argv)
		return NULL;
	out = (char *)(argv + nmax);
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		argv[n++] = out;
		while (*s && (quote || (*s != ' ' && *s != '\t'))) {
			char c = *s++;

			if (quote && c == quote) {
				quote = 0;
			} else if (!quote && (c == '\'' || c == '"')) {
				quote = c;
			} else if (c == '\\') {
				const char *e = "abEfnrtv", *v = "\a\b\033\f\n\r\t\v", *k;

				if (!*s)
					goto bad;
				c = *s++;
				if (c == 'x' && isxdigit((unsigned char)*s)) {
					unsigned x = 0;

					for (int i = 0; i < 2 && isxdigit((unsigned char)*s); i++, s++)
						x = x * 16 + (unsigned)(isdigit((unsigned char)*s)
								       ? *s - '0'
								       : (tolower((unsigned char)*s) - 'a' + 10));
					c = (char)x;
				} else if (c == 'c' && *s) {
					c = (char)(*s++ & 0x1f);
				} else if (c >= '0' && c <= '7') {
					unsigned o = (unsigned)(c - '0');

					for (int i = 0; i < 2 && *s >= '0' && *s <= '7'; i++, s++)
						o = o * 8 + (unsigned)(*s - '0');
					c = (char)o;
				} else if ((k = strchr(e, c)) && c) {
					c = v[k - e];
				}
				*out++ = c;
			} else {
				*out++ = c;
			}
		}
		*out++ = '\0';
	}
	if (quote || !n)
		goto bad;
	argv[n] = NULL;
	return argv;
bad:
	free(argv);
	return NULL;
}

/* ---- credentials ---- */

/* user and group (either may carry "user:group"), resolved now; keepalived
 * resolves them when it loads the file. */
static int misc_resolve(const struct ka_checker *c, struct misc_creds *cr)
{
	char ubuf[256], gbuf[256], *colon;
	const char *gname = NULL;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];

	cr->set = false;
	if (!c->user) {
		/* keepalived's default script user, when the system has it */
		if (getpwnam_r(MISC_DEFAULT_USER, &pw, buf, sizeof(buf), &pwp) || !pwp)
			return 0;
		snprintf(ubuf, sizeof(ubuf), "%s", MISC_DEFAULT_USER);
	} else {
		snprintf(ubuf, sizeof(ubuf), "%s", c->user);
	}
	if ((colon = strchr(ubuf, ':'))) {
		*colon = '\0';
		if (colon[1])
			gname = colon + 1;
	}
	if (c->group) {
		snprintf(gbuf, sizeof(gbuf), "%s", c->group[0] == ':' ? c->group + 1 : c->group);
		if (gbuf[0])
			gname = gbuf;
	}
	if (getpwnam_r(ubuf, &pw, buf, sizeof(buf), &pwp) || !pwp)
		return -ENOENT;
	cr->uid = pw.pw_uid;
	cr->gid = pw.pw_gid;
	cr->ngroups = MISC_MAX_GROUPS;
	if (getgrouplist(ubuf, pw.pw_gid, cr->groups, &cr->ngroups) < 0)
		cr->ngroups = 0;
	if (gname) {
		char gb[4096];

		if (getgrnam_r(gname, &gr, gb, sizeof(gb), &grp) || !grp)
			return -ENOENT;
		cr->gid = gr.gr_gid;
		/* a group given: that group only, as keepalived's set_uid_gid */
		cr->groups[0] = gr.gr_gid;
		cr->ngroups = 1;
	}
	cr->set = true;
	return 0;
}

/* ---- script security (keepalived's check_security) ---- */

/* Whether path can be changed by someone other than root: every
 * component owned by root, no directory writable by a non-root group or
 * by all unless sticky, the file writable by neither.  0 safe, 1 unsafe
 * (why set), -errno when a component cannot be examined. */
static int misc_path_unsafe(const char *path, char *why, size_t len)
{
	char part[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(part))
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= n; i++) {
		struct stat st;
		bool last = i == n;

		if (!last && path[i] != '/')
			continue;
		/* "/" itself, then every prefix up to a '/', then the whole */
		memcpy(part, path, i ? i : 1);
		part[i ? i : 1] = '\0';
		if (lstat(part, &st))
			return -errno;
		if (!last && !S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (st.st_uid ||
		    ((!S_ISDIR(st.st_mode) || !(st.st_mode & S_ISVTX)) &&
		     ((st.st_gid && (st.st_mode & S_IWGRP)) || (st.st_mode & S_IWOTH)))) {
			snprintf(why, len, "%s is %s", part,
				 st.st_uid ? "not owned by root" : "writable by others than root");
			return 1;
		}
	}
	return 0;
}

int lvs_check_misc_unsafe(const struct ka_checker *c, char *why, size_t len)
{
	struct misc_creds cr;
	char **argv, *real;
	int rc;

	why[0] = '\0';
	if (!c->misc_path)
		return 0;
	rc = misc_resolve(c, &cr);
	if (rc)
		return rc;
	if (cr.set ? cr.uid != 0 : geteuid() != 0)
		return 0; /* not run as root: keepalived checks only those */
	argv = misc_split(c->misc_path);
	if (!argv)
		return -EINVAL;
	real = realpath(argv[0], NULL);
	free(argv);
	if (!real)
		return -errno;
	rc = misc_path_unsafe(real, why, len);
	free(real);
	return rc;
}

/* ---- spawning ---- */

static void misc_exec(char *const argv[])
{
	execve(argv[0], argv, environ);
	if (errno == ENOEXEC) {
		size_t n = 0;

		while (argv[n])
			n++;
		{
			const char *sh[n + 2];

			sh[0] = "/bin/sh";
			for (size_t i = 0; i <= n; i++)
				sh[i + 1] = argv[i];
			execve("/bin/sh", (char *const *)sh, environ);
		}
	}
}

struct misc_child {
	char *const *argv;
	const struct misc_creds *cr;
	int devnull;
	volatile int err; /* written by the vfork child */
};

/* The vfork child: only system calls, no allocation, no lock. */
static __attribute__((noinline)) void misc_child(struct misc_child *mc)
{
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	if (setpgid(0, 0) || dup2(mc->devnull, 0) < 0 || dup2(mc->devnull, 1) < 0 ||
	    dup2(mc->devnull, 2) < 0 ||
	    syscall(SYS_setgroups, (long)mc->cr->ngroups, mc->cr->groups) ||
	    syscall(SYS_setresgid, (long)mc->cr->gid, (long)mc->cr->gid, (long)mc->cr->gid) ||
	    syscall(SYS_setresuid, (long)mc->cr->uid, (long)mc->cr->uid, (long)mc->cr->uid)) {
		mc->err = errno;
		_exit(127);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	misc_exec(mc->argv);
	mc->err = errno;
	_exit(127);
}

static int misc_spawn_as(char *const argv[], const struct misc_creds *cr, int devnull,
			 pid_t *pid)
{
	struct misc_child mc = {.argv = argv, .cr = cr, .devnull = devnull, .err = 0};
	sigset_t all, old;
	pid_t child;

	/* no signal handler may run in the child while it shares our memory */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	child = vfork();
	if (child == 0)
		misc_child(&mc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (child < 0)
		return -errno;
	if (mc.err) {
		/* the child has exited: collect it here, it cost no wait */
		waitpid(child, NULL, 0);
		return -mc.err;
	}
	*pid = child;
	return 0;
}

static int misc_spawn(char *const argv[], int devnull, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	if (posix_spawnattr_init(&at)) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	rc = posix_spawn_file_actions_adddup2(&fa, devnull, 0) ||
	     posix_spawn_file_actions_adddup2(&fa, devnull, 1) ||
	     posix_spawn_file_actions_adddup2(&fa, devnull, 2) ||
	     posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF) ||
	     posix_spawnattr_setpgroup(&at, 0) || posix_spawnattr_setsigmask(&at, &none) ||
	     posix_spawnattr_setsigdefault(&at, &all);
	if (rc) {
		rc = -ENOMEM;
		goto out;
	}
	rc = -posix_spawn(pid, argv[0], &fa, &at, argv, environ);
	if (rc == -ENOEXEC) {
		size_t n = 0;

		while (argv[n])
			n++;
		{
			char *sh[n + 2];

			sh[0] = (char *)"/bin/sh";
			memcpy(sh + 1, argv, (n + 1) * sizeof(char *));
			rc = -posix_spawn(pid, "/bin/sh", &fa, &at, sh, environ);
		}
	}
out:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* ---- reaping ---- */

struct misc_reaper {
	struct event *ev;
	int pidfd;
};

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct misc_reaper *r = arg;
	siginfo_t si;

	(void)what;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && !si.si_pid)
		return; /* not yet: the event is persistent */
	event_free(r->ev);
	close(r->pidfd);
	free(r);
}

/* Kill the child's group and make sure it is reaped, now or later. */
static void misc_abandon(struct lvs_probe *p, struct misc_probe *m)
{
	struct misc_reaper *r;
	siginfo_t si;

	kill(-m->pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)m->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		goto closed;
	r = calloc(1, sizeof(*r));
	if (r) {
		r->pidfd = m->pidfd;
		r->ev = event_new(p->base, m->pidfd, EV_READ | EV_PERSIST, reaper_cb, r);
		if (r->ev && !event_add(r->ev, NULL)) {
			m->pidfd = -1;
			return;
		}
		if (r->ev)
			event_free(r->ev);
		free(r);
	}
	/* no memory: wait for it here, SIGKILL is on its way */
	waitid((idtype_t)P_PIDFD, (id_t)m->pidfd, &si, WEXITED);
closed:
	close(m->pidfd);
	m->pidfd = -1;
}

static void misc_end(struct lvs_probe *p)
{
	struct misc_probe *m = p->priv;

	if (!m)
		return;
	if (m->ev)
		event_free(m->ev);
	if (m->pidfd >= 0)
		misc_abandon(p, m);
	free(m->argv);
	free(m);
	p->priv = NULL;
}

static void misc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	struct misc_probe *m = p->priv;
	const struct ka_checker *c = p->cfg;
	char why[64];
	siginfo_t si;
	bool killed;

	(void)fd;
	memset(&si, 0, sizeof(si));
	if (what & EV_READ) {
		if (waitid((idtype_t)P_PIDFD, (id_t)m->pidfd, &si, WEXITED | WNOHANG) == 0 &&
		    si.si_pid)
			goto reaped;
	}
	if (!m->killed && lvs_probe_now_ns() >= m->kill_at_ns) {
		kill(-m->pid, SIGKILL);
		m->killed = true;
	}
	if (lvs_probe_now_ns() >= p->deadline_ns) {
		misc_end(p); /* hands the child to a reaper */
		p->done(p, LVS_PROBE_FAIL, -1, "timeout");
		return;
	}
	if (lvs_probe_watch(p, &m->ev, m->pidfd, EV_READ, misc_cb, p,
			    m->killed ? p->deadline_ns : m->kill_at_ns)) {
		misc_end(p);
		p->done(p, LVS_PROBE_FAIL, -1, "out of memory");
	}
	return;

reaped:
	killed = m->killed;
	close(m->pidfd);
	m->pidfd = -1;
	misc_end(p);
	if (si.si_code == CLD_EXITED) {
		int st = si.si_status;

		if (st == 0) {
			p->done(p, LVS_PROBE_OK, -1, NULL);
		} else if (c->misc_dynamic && st >= 2 && st <= 255) {
			p->done(p, LVS_PROBE_OK, st - 2, NULL);
		} else {
			snprintf(why, sizeof(why), "exit %d", st);
			p->done(p, LVS_PROBE_FAIL, -1, why);
		}
	} else if (killed && si.si_status == SIGKILL) {
		p->done(p, LVS_PROBE_FAIL, -1, "timeout");
	} else {
		snprintf(why, sizeof(why), "killed by signal %d (%s)", si.si_status,
			 strsignal(si.si_status));
		p->done(p, LVS_PROBE_FAIL, -1, why);
	}
}

static int misc_start(struct lvs_probe *p)
{
	const struct ka_checker *c = p->cfg;
	struct misc_creds *cr = NULL;
	struct misc_probe *m;
	uint64_t now = lvs_probe_now_ns();
	int devnull, rc;

	if (!c->misc_path)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pidfd = -1;
	m->argv = misc_split(c->misc_path);
	if (!m->argv) {
		free(m);
		return -EINVAL;
	}
	if (c->user) {
		cr = malloc(sizeof(*cr));
		rc = cr ? misc_resolve(c, cr) : -ENOMEM;
		if (rc)
			goto fail;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		rc = -errno;
		goto fail;
	}
	rc = cr ? misc_spawn_as(m->argv, cr, devnull, &m->pid)
		: misc_spawn(m->argv, devnull, &m->pid);
	close(devnull);
	free(cr);
	cr = NULL;
	if (rc)
		goto fail;
	m->pidfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
	if (m->pidfd < 0) {
		rc = -errno;
		kill(-m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		goto fail;
	}
	fcntl(m->pidfd, F_SETFD, FD_CLOEXEC);
	m->kill_at_ns = p->deadline_ns;
	if (c->misc_timeout && now + c->misc_timeout * 1000 < m->kill_at_ns)
		m->kill_at_ns = now + c->misc_timeout * 1000;
	p->priv = m;
	rc = lvs_probe_watch(p, &m->ev, m->pidfd, EV_READ, misc_cb, p, m->kill_at_ns);
	if (rc) {
		misc_end(p);
		return rc;
	}
	return 0;
fail:
	free(cr);
	free(m->argv);
	free(m);
	return rc;
}

const struct lvs_checker_ops lvs_check_misc = {
	.type = KA_CHECK_MISC,
	.name = "MISC_CHECK",
	.start = misc_start,
	.cancel = misc_end,
};
