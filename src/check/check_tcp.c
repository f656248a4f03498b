/*
 * check_tcp.c - TCP_CHECK: the real server passes when a TCP connection
 * to it completes within connect_timeout (keepalived's check_tcp.c).  The
 * connection is then closed at once, with a reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

struct tcp_probe {
	int fd;
	struct event *ev;
};

static void tcp_end(struct lvs_probe *p)
{
	struct tcp_probe *t = p->priv;

	if (!t)
		return;
	if (t->ev)
		event_free(t->ev);
	if (t->fd >= 0)
		lvs_probe_close_reset(t->fd);
	free(t);
	p->priv = NULL;
}

static void tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	char why[96];

	if (what & EV_TIMEOUT) {
		tcp_end(p);
		p->done(p, LVS_PROBE_FAIL, -1, "connect timeout");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	tcp_end(p);
	if (err) {
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		p->done(p, LVS_PROBE_FAIL, -1, why);
	} else {
		p->done(p, LVS_PROBE_OK, -1, NULL);
	}
}

static int tcp_start(struct lvs_probe *p)
{
	struct tcp_probe *t = calloc(1, sizeof(*t));
	uint64_t left;
	struct timeval tv;
	int rc;

	if (!t)
		return -ENOMEM;
	rc = lvs_probe_connect(p, SOCK_STREAM, 0, &t->fd);
	if (rc && rc != -EINPROGRESS) {
		free(t);
		return rc;
	}
	/* connected at once (loopback) or not: the result is read in the
	 * callback either way, so done never runs inside start */
	t->ev = event_new(p->base, t->fd, EV_WRITE, tcp_cb, p);
	left = lvs_probe_left_us(p);
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	if (!t->ev || event_add(t->ev, &tv)) {
		if (t->ev)
			event_free(t->ev);
		close(t->fd);
		free(t);
		return -ENOMEM;
	}
	p->priv = t;
	return 0;
}

static void tcp_cancel(struct lvs_probe *p)
{
	tcp_end(p);
}

const struct lvs_checker_ops lvs_check_tcp = {
	.type = KA_CHECK_TCP,
	.name = "TCP_CHECK",
	.start = tcp_start,
	.cancel = tcp_cancel,
};
