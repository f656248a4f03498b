/*
 * check_smtp.c - SMTP_CHECK: connect, read the 220 greeting, send
 * "HELO helo_name", expect 250, send "QUIT" and read its reply
 * (keepalived's check/check_smtp.c, smtp_engine_thread).
 *
 * Hosts: keepalived turns every `host` block into a checker of its own
 * (smtp_check_end_handler), and a real server is up only while all its
 * checkers are; the checker's own connection (connect_ip / connect_port
 * or the real server) is checked too unless the block has hosts and sets
 * no connection option, in which case the first host takes its place.
 * One probe here therefore checks every host and passes only when all
 * pass; they run side by side, so N hosts take no longer than one.  A
 * host's connect_ip / connect_port default to the probe's target (the
 * real server when the checker sets none) and its connect_timeout
 * bounds it within the probe's deadline.
 *
 * Replies: keepalived looks only at the first line and requires exactly
 * "NNN" followed by a space or the end; lvsd reads whole replies,
 * multi-line ones ("250-..." lines up to "250 ...") included, and takes
 * the code of the last line.  Lines longer than the buffer are read past
 * (only their first characters matter), a reply has at most
 * SMTP_MAX_LINES lines.  After QUIT any complete reply line passes; the
 * server closing without one fails, as in keepalived.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

#define SMTP_MAX_LINES 64
#define SMTP_HELO_MAX 300

enum smtp_state { S_CONNECT, S_BANNER, S_HELO, S_HELO_REPLY, S_QUIT, S_QUIT_REPLY, S_DONE };

struct smtp_sess {
	struct lvs_probe *p;
	struct smtp_probe *s;
	struct lvs_probe to; /* target and binding of this host */
	uint64_t until_ns;
	int fd;
	enum smtp_state st;
	struct event *ev;
	/* the reply being read */
	char head[4]; /* a line's first 4 characters */
	unsigned head_len, lines;
	/* the line being sent */
	char out[SMTP_HELO_MAX + 8];
	size_t out_len, out_off;
};

struct smtp_probe {
	unsigned n, pending;
	struct smtp_sess sess[];
};

static void smtp_end(struct lvs_probe *p)
{
	struct smtp_probe *s = p->priv;

	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++) {
		if (s->sess[i].ev)
			event_free(s->sess[i].ev);
		if (s->sess[i].fd >= 0)
			close(s->sess[i].fd);
	}
	free(s);
	p->priv = NULL;
}

static void sess_fail(struct smtp_sess *x, const char *what)
{
	struct lvs_probe *p = x->p;
	char why[160], t[64];

	snprintf(why, sizeof(why), "%s: %s", lvs_probe_target(&x->to, t, sizeof(t)), what);
	smtp_end(p);
	p->done(p, LVS_PROBE_FAIL, -1, why);
}

static void sess_ok(struct smtp_sess *x)
{
	struct lvs_probe *p = x->p;
	struct smtp_probe *s = x->s;

	event_free(x->ev);
	x->ev = NULL;
	close(x->fd);
	x->fd = -1;
	x->st = S_DONE;
	if (--s->pending == 0) {
		smtp_end(p);
		p->done(p, LVS_PROBE_OK, -1, NULL);
	}
}

static void sess_cb(evutil_socket_t fd, short what, void *arg);

static void sess_wait(struct smtp_sess *x, short what)
{
	if (lvs_probe_watch(x->p, &x->ev, x->fd, what, sess_cb, x, x->until_ns))
		sess_fail(x, "out of memory");
}

static void sess_send(struct smtp_sess *x, const char *line, enum smtp_state next)
{
	snprintf(x->out, sizeof(x->out), "%.*s\r\n", SMTP_HELO_MAX, line);
	x->out_len = strlen(x->out);
	x->out_off = 0;
	x->st = next;
	sess_wait(x, EV_WRITE);
}

/* Feed received bytes; returns the reply's code once its last line is in
 * (100..599), 0 when more is needed, -1 for a malformed reply. */
static int reply_feed(struct smtp_sess *x, const char *b, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (c != '\n') {
			if (x->head_len < sizeof(x->head))
				x->head[x->head_len++] = c;
			continue;
		}
		/* a line: "NNN-" continues, "NNN " / "NNN" / "NNN\r" ends */
		if (++x->lines > SMTP_MAX_LINES || x->head_len < 3 || x->head[0] < '1' ||
		    x->head[0] > '5' || x->head[1] < '0' || x->head[1] > '9' || x->head[2] < '0' ||
		    x->head[2] > '9') {
			*used = i + 1;
			return -1;
		}
		if (x->head_len == 4 && x->head[3] == '-') {
			x->head_len = 0;
			continue;
		}
		if (x->head_len == 4 && x->head[3] != ' ' && x->head[3] != '\r') {
			*used = i + 1;
			return -1;
		}
		*used = i + 1;
		return (x->head[0] - '0') * 100 + (x->head[1] - '0') * 10 + (x->head[2] - '0');
	}
	*used = n;
	return 0;
}

static void sess_read(struct smtp_sess *x)
{
	char buf[512], why[64];
	size_t used;
	ssize_t n;
	int code;

	for (;;) {
		/* one reply at a time: what a server sends beyond it is not read */
		n = recv(x->fd, buf, sizeof(buf), MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			sess_wait(x, EV_READ);
			return;
		}
		if (n < 0) {
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			sess_fail(x, why);
			return;
		}
		if (n == 0) {
			sess_fail(x, "connection closed");
			return;
		}
		code = reply_feed(x, buf, (size_t)n, &used);
		(void)!recv(x->fd, buf, used, 0);
		if (code)
			break;
	}
	x->head_len = 0;
	x->lines = 0;
	switch (x->st) {
	case S_BANNER:
		if (code != 220)
			goto bad;
		{
			char line[SMTP_HELO_MAX];

			snprintf(line, sizeof(line), "HELO %s",
				 x->p->cfg->helo_name ? x->p->cfg->helo_name
						      : "smtpchecker.keepalived.org");
			sess_send(x, line, S_HELO);
		}
		return;
	case S_HELO_REPLY:
		if (code != 250)
			goto bad;
		sess_send(x, "QUIT", S_QUIT);
		return;
	case S_QUIT_REPLY:
		sess_ok(x);
		return;
	default:
		sess_fail(x, "unexpected state");
		return;
	}
bad:
	if (code < 0)
		sess_fail(x, x->st == S_BANNER ? "bad greeting" : "bad HELO reply");
	else {
		snprintf(why, sizeof(why), "%s %d", x->st == S_BANNER ? "greeting" : "HELO reply",
			 code);
		sess_fail(x, why);
	}
}

static void sess_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_sess *x = arg;
	char why[64];
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (what & EV_TIMEOUT) {
		sess_fail(x, x->st == S_CONNECT ? "connect timeout" : "timeout");
		return;
	}
	switch (x->st) {
	case S_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (err) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			sess_fail(x, why);
			return;
		}
		x->st = S_BANNER;
		sess_read(x);
		return;
	case S_HELO:
	case S_QUIT:
		n = send(fd, x->out + x->out_off, x->out_len - x->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, sizeof(why), "write: %s", strerror(errno));
			sess_fail(x, why);
			return;
		}
		if (n > 0)
			x->out_off += (size_t)n;
		if (x->out_off < x->out_len) {
			sess_wait(x, EV_WRITE);
			return;
		}
		x->st = x->st == S_HELO ? S_HELO_REPLY : S_QUIT_REPLY;
		sess_read(x);
		return;
	default:
		sess_read(x);
		return;
	}
}

static bool smtp_conn_set(const struct ka_conn *c)
{
	return c->connect_ip.af != AF_UNSPEC || c->connect_port != KA_UNSET_U32 ||
	       c->bindto.af != AF_UNSPEC || c->bind_port != KA_UNSET_U32 || c->bind_if ||
	       c->fwmark;
}

/* The session's target: the probe's, with a host block's options over it. */
static void sess_target(struct smtp_sess *x, struct lvs_probe *p, const struct ka_conn *h)
{
	uint64_t now = lvs_probe_now_ns();

	x->to = *p;
	x->until_ns = p->deadline_ns;
	if (!h)
		return;
	if (h->connect_ip.af != AF_UNSPEC) {
		x->to.af = h->connect_ip.af;
		x->to.addr = h->connect_ip.a;
	}
	if (h->connect_port != KA_UNSET_U32)
		x->to.port = (uint16_t)h->connect_port;
	x->to.bindto = h->bindto;
	x->to.bind_port = h->bind_port != KA_UNSET_U32 ? (uint16_t)h->bind_port : 0;
	x->to.bind_if = h->bind_if;
	x->to.fwmark = h->fwmark;
	if (h->connect_timeout && h->connect_timeout != KA_UNSET_TIME &&
	    now + h->connect_timeout * 1000 < x->until_ns)
		x->until_ns = now + h->connect_timeout * 1000;
}

static int smtp_start(struct lvs_probe *p)
{
	const struct ka_checker *c = p->cfg;
	bool own = !c->hosts || smtp_conn_set(&c->conn);
	struct smtp_probe *s;
	unsigned n = own, k = 0;
	int rc = 0;

	for (const struct ka_smtp_host *h = c->hosts; h; h = h->next)
		n++;
	s = calloc(1, sizeof(*s) + n * sizeof(s->sess[0]));
	if (!s)
		return -ENOMEM;
	s->n = n;
	for (unsigned i = 0; i < n; i++)
		s->sess[i].fd = -1;
	p->priv = s;
	if (own)
		sess_target(&s->sess[k++], p, NULL);
	for (const struct ka_smtp_host *h = c->hosts; h; h = h->next)
		sess_target(&s->sess[k++], p, &h->conn);
	for (unsigned i = 0; i < n && !rc; i++) {
		struct smtp_sess *x = &s->sess[i];

		x->p = p;
		x->s = s;
		x->st = S_CONNECT;
		rc = lvs_probe_connect(&x->to, SOCK_STREAM, 0, &x->fd);
		if (rc == -EINPROGRESS)
			rc = 0;
		if (!rc)
			rc = lvs_probe_watch(p, &x->ev, x->fd, EV_WRITE, sess_cb, x, x->until_ns);
	}
	if (rc) {
		smtp_end(p);
		return rc;
	}
	s->pending = n;
	return 0;
}

const struct lvs_checker_ops lvs_check_smtp = {
	.type = KA_CHECK_SMTP,
	.name = "SMTP_CHECK",
	.start = smtp_start,
	.cancel = smtp_end,
};
