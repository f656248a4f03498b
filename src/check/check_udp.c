/*
 * check_udp.c - UDP_CHECK: send one datagram to the real server and
 * listen for what comes back (keepalived's check/check_udp.c with
 * core/layer4.c's udp_bind_connect, udp_socket_state, udp_socket_error).
 *
 * The datagram is the payload, or keepalived's 32-byte filler ("keepalived
 * check - " repeated) when none is set.  The socket is connected and asks
 * for ICMP errors (IP_RECVERR / IPV6_RECVERR).  Then, until the deadline:
 *   - an ICMP destination unreachable (port, host, net...) fails the
 *     probe; other ICMP errors (time exceeded...) are not a verdict, so
 *     the probe keeps listening;
 *   - a reply: without require_reply the server is up; with it, the
 *     reply's length must lie in [min_reply_length, max_reply_length]
 *     (keepalived's defaults 0 and 255; max_reply_length 0 here means
 *     "not set": the parser cannot tell it from an explicit 0), and when
 *     require_reply has a hex string, the reply's first bytes must be it
 *     (as many as both have; X nibbles match anything), as keepalived
 *     compares them;
 *   - silence until the deadline: up, unless require_reply.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

#define UDP_FILLER_LEN 32
#define UDP_DEF_MAX_REPLY 255

/* The reply's first bytes against require_reply's string. */
static bool reply_matches(const struct ka_checker *c, const uint8_t *b, size_t n)
{
	size_t k = c->reply_len < n ? c->reply_len : n;

	for (size_t i = 0; c->reply_data && i < k; i++)
		if ((b[i] ^ c->reply_data[i]) & (uint8_t)~(c->reply_mask ? c->reply_mask[i] : 0))
			return false;
	return true;
}

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	const struct ka_checker *c = p->cfg;
	uint32_t max = c->max_reply_length ? c->max_reply_length : UDP_DEF_MAX_REPLY;
	char buf[2048], why[96];
	ssize_t n;
	int err;

	if (what & EV_TIMEOUT) {
		if (c->require_reply)
			lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "no reply");
		else
			lvs_probe_sock_finish(p, LVS_PROBE_OK, NULL);
		return;
	}
	for (;;) {
		/* MSG_TRUNC: the datagram's real length, whatever fits */
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n >= 0)
			break;
		if (errno == EAGAIN || errno == EINTR)
			goto again;
		/* an ICMP error: the queue says which */
		switch (lvs_probe_icmp_unreach(fd, &err)) {
		case 1:
			snprintf(why, sizeof(why), "ICMP unreachable: %s", strerror(err));
			lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
			return;
		case 0:
			continue; /* not a verdict: read on */
		default:
			snprintf(why, sizeof(why), "recv: %s", strerror(errno));
			lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
			return;
		}
	}
	if (!c->require_reply) {
		lvs_probe_sock_finish(p, LVS_PROBE_OK, NULL);
	} else if ((uint64_t)n < c->min_reply_length || (uint64_t)n > max) {
		snprintf(why, sizeof(why), "reply of %zd bytes (%u..%u)", n, c->min_reply_length,
			 max);
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
	} else if (!reply_matches(c, (const uint8_t *)buf,
				  (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf))) {
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "reply does not match require_reply");
	} else {
		lvs_probe_sock_finish(p, LVS_PROBE_OK, NULL);
	}
	return;
again:
	if (lvs_probe_watch(p, &((struct lvs_probe_sock *)p->priv)->ev, fd, EV_READ, udp_cb, p, 0))
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "out of memory");
}

static int udp_start(struct lvs_probe *p)
{
	const struct ka_checker *c = p->cfg;
	struct lvs_probe_sock *u = calloc(1, sizeof(*u));
	static const char fill[] = "keepalived check - ";
	uint8_t filler[UDP_FILLER_LEN];
	const void *data = c->payload;
	size_t len = c->payload_len;
	int rc;

	if (!u)
		return -ENOMEM;
	if (!data) {
		for (size_t i = 0; i < sizeof(filler); i++)
			filler[i] = (uint8_t)fill[i % (sizeof(fill) - 1)];
		data = filler;
		len = sizeof(filler);
	}
	u->fd = -1;
	p->priv = u;
	rc = lvs_probe_dgram(p, IPPROTO_UDP, &u->fd);
	if (!rc && send(u->fd, data, len, 0) != (ssize_t)len)
		rc = -errno;
	if (!rc)
		rc = lvs_probe_watch(p, &u->ev, u->fd, EV_READ, udp_cb, p, 0);
	if (rc)
		lvs_probe_sock_end(p);
	return rc;
}

const struct lvs_checker_ops lvs_check_udp = {
	.type = KA_CHECK_UDP,
	.name = "UDP_CHECK",
	.start = udp_start,
	.cancel = lvs_probe_sock_end,
};
