/*
 * fwmark.c - the iptables rules that queue firewall-marked packets to
 * lvsd; see fwmark.h.
 *
 * Each family has its own state: the sorted marks wanted (from the
 * services), the marks the last successful run installed, whether the
 * jump from PREROUTING is in place, and the child running now.  A change
 * starts iptables-restore with its input already written into a pipe (a
 * few KB: the pipe takes it whole), so nothing waits; the tick reaps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fwmark.h"
#include "log.h"

#define FWM_CHAIN "LVSD-FWMARK"
#define FWM_MAX 4096 /* marks per family whose rules fit the pipe */

extern char **environ;

struct fwm_fam {
	int af;
	const char *restore, *cmd; /* iptables-restore, iptables (or ip6...) */
	uint32_t *want, *have;
	unsigned nwant, nhave;
	bool jump;        /* PREROUTING jumps to the chain */
	bool dirty;       /* want differs from what the running child installs */
	bool missing;     /* the binary is not there: said once */
	pid_t pid;        /* running child, 0: none */
	bool child_jump;  /* the child adds the jump */
	uint32_t *child;  /* the marks the child installs */
	unsigned nchild;
};

struct lvsd_fwmark {
	uint16_t qnum;
	struct fwm_fam fam[2];
};

/* Run argv with stdin from fd (-1: /dev/null), output discarded; the
 * child's pid, or -errno. */
static pid_t spawn(char *const argv[], int fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	if (fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -rc : pid;
}

/* Start-up and shutdown only: run and wait.  Exit status or -errno. */
static int run_wait(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv, -1);

	if (pid < 0)
		return pid;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -ECHILD;
}

/* Take the chain and every jump to it out of the mangle table. */
static void fam_remove(struct fwm_fam *m)
{
	char *del[] = { (char *)m->cmd, "-w", "-t", "mangle", "-D", "PREROUTING", "-j",
			FWM_CHAIN, NULL };
	char *flush[] = { (char *)m->cmd, "-w", "-t", "mangle", "-F", FWM_CHAIN, NULL };
	char *rm[] = { (char *)m->cmd, "-w", "-t", "mangle", "-X", FWM_CHAIN, NULL };

	for (int i = 0; i < 16 && run_wait(del) == 0; i++)
		;
	if (run_wait(flush) == 0)
		run_wait(rm);
	m->jump = false;
}

struct lvsd_fwmark *lvsd_fwmark_new(uint16_t qnum)
{
	struct lvsd_fwmark *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->qnum = qnum;
	f->fam[0] = (struct fwm_fam){ .af = AF_INET, .restore = "iptables-restore",
				      .cmd = "iptables" };
	f->fam[1] = (struct fwm_fam){ .af = AF_INET6, .restore = "ip6tables-restore",
				      .cmd = "ip6tables" };
	for (int i = 0; i < 2; i++)
		fam_remove(&f->fam[i]);
	return f;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool same(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

/* Start the child that makes the chain hold m->want. */
static void fam_start(struct lvsd_fwmark *f, struct fwm_fam *m)
{
	char *argv[] = { (char *)m->restore, "-w", "--noflush", NULL };
	bool jump = !m->jump && m->nwant;
	int p[2];
	FILE *out;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return;
	/* the whole input fits the pipe's 64 KB: FWM_MAX rules of < 16 bytes
	 * would not, so the caller caps the marks */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	out = fdopen(p[1], "w");
	if (!out) {
		close(p[0]);
		close(p[1]);
		return;
	}
	fprintf(out, "*mangle\n:%s - [0:0]\n", FWM_CHAIN);
	if (jump)
		fprintf(out, "-A PREROUTING -j %s\n", FWM_CHAIN);
	for (unsigned i = 0; i < m->nwant; i++)
		fprintf(out, "-A %s -m mark --mark 0x%x -j NFQUEUE --queue-num %u --queue-bypass\n",
			FWM_CHAIN, m->want[i], f->qnum);
	fprintf(out, "COMMIT\n");
	if (fclose(out)) {
		close(p[0]);
		return;
	}
	pid = spawn(argv, p[0]);
	close(p[0]);
	if (pid < 0) {
		if (!m->missing && m->nwant)
			lvs_err("fwmark: cannot run %s (%s): firewall-mark services of %s "
				"receive no traffic", m->restore, strerror((int)-pid),
				m->af == AF_INET ? "IPv4" : "IPv6");
		m->missing = true;
		return;
	}
	m->missing = false;
	free(m->child);
	m->child = m->nwant ? malloc(m->nwant * sizeof(uint32_t)) : NULL;
	m->nchild = m->child ? m->nwant : 0;
	if (m->child)
		memcpy(m->child, m->want, m->nwant * sizeof(uint32_t));
	m->pid = pid;
	m->child_jump = jump;
	m->dirty = false;
}

void lvsd_fwmark_sync(struct lvsd_fwmark *f, const struct lvs_snapshot *s)
{
	if (!f)
		return;
	for (int k = 0; k < 2; k++) {
		struct fwm_fam *m = &f->fam[k];
		uint32_t *w = malloc((s->nsvcs + 1) * sizeof(*w));
		unsigned n = 0;

		if (!w)
			return;
		for (uint32_t i = 0; i < s->nsvcs; i++) {
			const struct lvs_svc_conf *c = &s->svcs[i]->c;
			if (c->fwmark && c->af == m->af && n < FWM_MAX)
				w[n++] = c->fwmark;
		}
		qsort(w, n, sizeof(*w), cmp_u32);
		if (same(w, n, m->want, m->nwant)) {
			free(w);
			continue;
		}
		free(m->want);
		m->want = w;
		m->nwant = n;
		m->dirty = true;
		if (!m->pid)
			fam_start(f, m);
	}
}

void lvsd_fwmark_tick(struct lvsd_fwmark *f)
{
	if (!f)
		return;
	for (int k = 0; k < 2; k++) {
		struct fwm_fam *m = &f->fam[k];
		int st;
		pid_t r;

		if (m->pid) {
			r = waitpid(m->pid, &st, WNOHANG);
			if (r == 0)
				continue;
			m->pid = 0;
			if (r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
				m->jump |= m->child_jump;
				free(m->have);
				m->have = m->child;
				m->nhave = m->nchild;
				m->child = NULL;
				lvs_notice("fwmark: %u %s mark%s queued to NFQUEUE %u", m->nhave,
					   m->af == AF_INET ? "IPv4" : "IPv6",
					   m->nhave == 1 ? "" : "s", f->qnum);
			} else {
				lvs_err("fwmark: %s failed: the %s rules of firewall-mark "
					"services were not changed", m->restore,
					m->af == AF_INET ? "IPv4" : "IPv6");
				/* tried again at the next change */
				free(m->want);
				m->want = NULL;
				m->nwant = 0;
			}
		}
		if (m->dirty && !m->pid && !same(m->want, m->nwant, m->have, m->nhave))
			fam_start(f, m);
	}
}

unsigned lvsd_fwmark_count(const struct lvsd_fwmark *f, int af)
{
	return f ? f->fam[af == AF_INET6].nhave : 0;
}

void lvsd_fwmark_free(struct lvsd_fwmark *f)
{
	if (!f)
		return;
	for (int k = 0; k < 2; k++) {
		struct fwm_fam *m = &f->fam[k];

		if (m->pid)
			while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR)
				;
		if (m->jump || m->child_jump || m->nhave)
			fam_remove(m);
		free(m->want);
		free(m->have);
		free(m->child);
	}
	free(f);
}
