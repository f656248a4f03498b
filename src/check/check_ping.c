/*
 * check_ping.c - PING_CHECK: one ICMP / ICMPv6 echo request to the real
 * server; up when the matching echo reply arrives by the deadline
 * (keepalived's check/check_ping.c: 128 bytes of filler after the header,
 * the reply's type and sequence checked).
 *
 * The socket: an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP /
 * IPPROTO_ICMPV6), where the kernel picks the id, fills the checksum and
 * hands this socket only its own replies.  It is refused (EACCES) unless
 * the process's group is inside net.ipv4.ping_group_range, and that holds
 * for root too ("1 0", the default, admits nobody).  keepalived rewrites
 * the sysctl at start to admit itself; lvsd does not change host settings
 * and falls back to a raw socket (CAP_NET_RAW, which root has), with its
 * own random id, the IPv4 checksum computed here, ICMP filters so that
 * only echo replies are queued, and replies from other pingers skipped by
 * id and sequence.  An ICMP destination unreachable (IP_RECVERR, on the
 * ping socket) fails the probe at once; otherwise no reply by the
 * deadline fails it with "timeout".
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <linux/icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

#define PING_DATA_LEN 128
#define PING_HDR_LEN 8

struct ping_probe {
	struct lvs_probe_sock sock; /* first */
	bool raw;
	uint16_t id, seq; /* id: raw sockets only (the kernel's otherwise) */
};

static uint16_t ping_csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Is b[0..n) (an ICMP message, IPv4 header stripped) our echo reply? */
static bool ping_match(const struct lvs_probe *p, const struct ping_probe *g, const uint8_t *b,
		       size_t n)
{
	uint8_t reply = p->af == AF_INET6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;

	if (n < PING_HDR_LEN || b[0] != reply)
		return false;
	if (g->raw && (uint16_t)(b[4] << 8 | b[5]) != g->id)
		return false;
	return (uint16_t)(b[6] << 8 | b[7]) == g->seq;
}

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	struct ping_probe *g = p->priv;
	uint8_t buf[1500];
	char why[96];
	ssize_t n;
	int err;

	if (what & EV_TIMEOUT) {
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "timeout");
		return;
	}
	for (;;) {
		const uint8_t *icmp = buf;
		size_t len;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (lvs_probe_icmp_unreach(fd, &err) == 1) {
				snprintf(why, sizeof(why), "ICMP unreachable: %s", strerror(err));
				lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
				return;
			}
			continue;
		}
		len = (size_t)n;
		if (g->raw && p->af == AF_INET) {
			size_t ihl;

			if (len < sizeof(struct iphdr))
				continue;
			ihl = (size_t)(buf[0] & 0xf) * 4;
			if (ihl < sizeof(struct iphdr) || ihl > len)
				continue;
			icmp += ihl;
			len -= ihl;
		}
		if (ping_match(p, g, icmp, len)) {
			lvs_probe_sock_finish(p, LVS_PROBE_OK, NULL);
			return;
		}
	}
	if (lvs_probe_watch(p, &g->sock.ev, fd, EV_READ, ping_cb, p, 0))
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "out of memory");
}

/* The raw socket's filters: nothing but echo replies is queued. */
static int ping_filter(int fd, uint8_t af)
{
	if (af == AF_INET6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
	struct icmp_filter f = {.data = ~(1u << ICMP_ECHOREPLY)};

	return setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
}

static int ping_start(struct lvs_probe *p)
{
	struct ping_probe *g = calloc(1, sizeof(*g));
	int proto = p->af == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	static const char fill[] = "keepalived check - ";
	uint8_t pkt[PING_HDR_LEN + PING_DATA_LEN];
	struct lvs_probe to = *p;
	uint16_t rnd[2];
	int rc;

	if (!g)
		return -ENOMEM;
	g->sock.fd = -1;
	p->priv = g;
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		uint64_t t = lvs_probe_now_ns();

		rnd[0] = (uint16_t)t;
		rnd[1] = (uint16_t)(t >> 16);
	}
	g->id = rnd[0];
	g->seq = rnd[1];
	to.port = 0;
	rc = lvs_probe_dgram(&to, proto, &g->sock.fd);
	if (rc == -EACCES || rc == -EPERM || rc == -EPROTONOSUPPORT || rc == -ESOCKTNOSUPPORT) {
		g->raw = true;
		rc = lvs_probe_connect(&to, SOCK_RAW, proto, &g->sock.fd);
		if (rc == -EINPROGRESS)
			rc = 0;
		if (!rc && ping_filter(g->sock.fd, p->af))
			rc = -errno;
	}
	if (rc)
		goto fail;

	memset(pkt, 0, PING_HDR_LEN);
	pkt[0] = p->af == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[4] = (uint8_t)(g->id >> 8);
	pkt[5] = (uint8_t)g->id;
	pkt[6] = (uint8_t)(g->seq >> 8);
	pkt[7] = (uint8_t)g->seq;
	for (size_t i = 0; i < PING_DATA_LEN; i++)
		pkt[PING_HDR_LEN + i] = (uint8_t)fill[i % (sizeof(fill) - 1)];
	/* the kernel sums ping sockets and raw ICMPv6; raw ICMP is ours */
	if (g->raw && p->af == AF_INET) {
		uint16_t s = ping_csum(pkt, sizeof(pkt));

		pkt[2] = (uint8_t)(s >> 8);
		pkt[3] = (uint8_t)s;
	}
	if (send(g->sock.fd, pkt, sizeof(pkt), 0) != (ssize_t)sizeof(pkt)) {
		rc = errno ? -errno : -EIO;
		goto fail;
	}
	rc = lvs_probe_watch(p, &g->sock.ev, g->sock.fd, EV_READ, ping_cb, p, 0);
	if (!rc)
		return 0;
fail:
	lvs_probe_sock_end(p);
	return rc;
}

const struct lvs_checker_ops lvs_check_ping = {
	.type = KA_CHECK_PING,
	.name = "PING_CHECK",
	.start = ping_start,
	.cancel = lvs_probe_sock_end,
};
