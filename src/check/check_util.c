/*
 * check_util.c - what the checkers share: the probe's socket, bound and
 * connecting as keepalived's checkers bind them (bindto, bind_port,
 * bind_if, fwmark), and the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
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
