/*
 * check_util.c - what the checkers share: the probe's socket, bound and
 * connecting as keepalived's checkers bind them (bindto, bind_port,
 * bind_if, fwmark), and the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checker.h"

uint64_t lvs_probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lvs_probe_left_us(const struct lvs_probe *p)
{
	uint64_t now = lvs_probe_now_ns();

	return p->deadline_ns > now + 1000 ? (p->deadline_ns - now) / 1000 : 1;
}

const char *lvs_probe_target(const struct lvs_probe *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->af, &p->addr, a, sizeof(a));
	snprintf(buf, len, p->af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, p->port);
	return buf;
}

/* sockaddr for (af, a, port); returns its length. */
static socklen_t sockaddr_of(uint8_t af, const union lvs_addr *a, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, a, 4);
	return sizeof(*s4);
}

int lvs_probe_connect(const struct lvs_probe *p, int type, int protocol, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int s, rc;

	*fd = -1;
	s = socket(p->af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (s < 0)
		return -errno;
	if (p->fwmark && setsockopt(s, SOL_SOCKET, SO_MARK, &p->fwmark, sizeof(p->fwmark)))
		goto fail;
	if (p->bind_if &&
	    setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, p->bind_if, (socklen_t)strlen(p->bind_if)))
		goto fail;
	if (p->bindto.af != AF_UNSPEC || p->bind_port) {
		uint8_t baf = p->bindto.af != AF_UNSPEC ? p->bindto.af : p->af;
		union lvs_addr any;

		memset(&any, 0, sizeof(any));
		if (baf != p->af) {
			errno = EAFNOSUPPORT;
			goto fail;
		}
		sl = sockaddr_of(baf, p->bindto.af != AF_UNSPEC ? &p->bindto.a : &any, p->bind_port,
				 &ss);
		if (p->bind_port) {
			int one = 1;
			(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		}
		if (bind(s, (struct sockaddr *)&ss, sl))
			goto fail;
	}
	sl = sockaddr_of(p->af, &p->addr, p->port, &ss);
	rc = connect(s, (struct sockaddr *)&ss, sl);
	if (rc && errno != EINPROGRESS)
		goto fail;
	*fd = s;
	return rc ? -EINPROGRESS : 0;
fail:
	rc = -errno;
	close(s);
	return rc;
}

int lvs_probe_watch(const struct lvs_probe *p, struct event **ev, int fd, short what,
		    event_callback_fn cb, void *arg, uint64_t until_ns)
{
	uint64_t now = lvs_probe_now_ns(), left;
	struct timeval tv;

	if (!until_ns || until_ns > p->deadline_ns)
		until_ns = p->deadline_ns;
	if (!*ev) {
		*ev = event_new(p->base, fd, what, cb, arg);
		if (!*ev)
			return -ENOMEM;
	} else {
		event_del(*ev);
		if (event_assign(*ev, p->base, fd, what, cb, arg))
			return -EINVAL;
	}
	left = until_ns > now ? (until_ns - now) / 1000 : 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	return event_add(*ev, &tv) ? -ENOMEM : 0;
}

struct probe_verdict {
	struct event *ev;
	enum lvs_probe_result r;
	int32_t weight;
	char why[160]; /* "": none */
};

static void verdict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	struct probe_verdict *v = p->priv;
	enum lvs_probe_result r = v->r;
	int32_t weight = v->weight;
	char why[sizeof(v->why)];

	(void)fd;
	(void)what;
	memcpy(why, v->why, sizeof(why));
	lvs_probe_verdict_cancel(p);
	p->done(p, r, weight, why[0] ? why : NULL);
}

int lvs_probe_verdict_later(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight,
			    const char *why)
{
	struct probe_verdict *v = calloc(1, sizeof(*v));
	struct timeval zero = {0, 0};

	if (!v)
		return -ENOMEM;
	v->r = r;
	v->weight = weight;
	if (why)
		snprintf(v->why, sizeof(v->why), "%s", why);
	v->ev = evtimer_new(p->base, verdict_cb, p);
	if (!v->ev || evtimer_add(v->ev, &zero)) {
		if (v->ev)
			event_free(v->ev);
		free(v);
		return -ENOMEM;
	}
	p->priv = v;
	return 0;
}

void lvs_probe_verdict_cancel(struct lvs_probe *p)
{
	struct probe_verdict *v = p->priv;

	if (!v)
		return;
	event_free(v->ev);
	free(v);
	p->priv = NULL;
}

/* A connected datagram socket toward the probe's target with ICMP errors
 * queued (IP_RECVERR): 0 with *fd, or -errno. */
int lvs_probe_dgram(const struct lvs_probe *p, int protocol, int *fd)
{
	int one = 1, rc;

	rc = lvs_probe_connect(p, SOCK_DGRAM, protocol, fd);
	if (rc)
		return rc == -EINPROGRESS ? 0 : rc;
	if (p->af == AF_INET6)
		rc = setsockopt(*fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		rc = setsockopt(*fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	if (rc) {
		rc = -errno;
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* The ICMP error queued on fd: 1 when it is a destination unreachable
 * (*err its errno), 0 for another error, -1 when the queue is empty. */
int lvs_probe_icmp_unreach(int fd, int *err)
{
	char ctl[512] __attribute__((aligned(__alignof__(struct cmsghdr))));
	char data[64];
	struct iovec iov = {data, sizeof(data)};
	struct msghdr msg = {0};
	int found = -1;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		const struct sock_extended_err *ee = (const void *)CMSG_DATA(c);

		if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		found = 0;
		if ((ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == ICMP_DEST_UNREACH) ||
		    (ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == ICMP6_DST_UNREACH)) {
			*err = (int)ee->ee_errno;
			return 1;
		}
	}
	return found;
}

void lvs_probe_close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void lvs_probe_sock_end(struct lvs_probe *p)
{
	struct lvs_probe_sock *s = p->priv;

	if (!s)
		return;
	if (s->ev)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	p->priv = NULL;
}

void lvs_probe_sock_finish(struct lvs_probe *p, enum lvs_probe_result r, const char *why)
{
	lvs_probe_sock_end(p);
	p->done(p, r, -1, why);
}
