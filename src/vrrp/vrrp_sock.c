/*
 * vrrp_sock.c - raw IP protocol 112 sockets for VRRP adverts (see
 * vrrp_sock.h).
 *
 * RFC 5798 5.1 / RFC 3768 5.1: adverts leave with TTL / hop limit 255 (a
 * receiver drops any other value, which proves the sender is on the link),
 * to 224.0.0.18 or ff02::12, from the interface's primary IPv4 address or
 * its IPv6 link-local address.  The kernel builds the IP header on send;
 * the source is chosen per datagram with IP_PKTINFO / IPV6_PKTINFO so the
 * address the version 3 checksum covers is the one on the wire.
 *
 * On receive an IPv4 raw socket hands over the whole IP header: its TTL,
 * addresses and total length are read from it (the message ends where the
 * header's total length says, whatever the size of the datagram).
 * An IPv6 raw socket hands over the payload only: the source comes from
 * msg_name, the destination and arrival interface from IPV6_PKTINFO, the
 * hop limit from IPV6_HOPLIMIT.  The kernel checks no VRRP checksum on
 * either family (IPV6_CHECKSUM is left off), so vrrp_decode sees and counts
 * every bad one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vrrp_sock.h"

/* IPTOS_PREC_INTERNETCONTROL: adverts are network control traffic and
 * should win over data in queues that honour precedence. */
#define VRRP_TOS 0xc0

static bool is_mcast(uint8_t af, const union lvs_addr *a)
{
	if (af == AF_INET)
		return (ntohl(a->ip4) >> 28) == 0xe;
	return a->b[0] == 0xff;
}

/*
 * The interface's first IPv4 address (the kernel lists the primary one
 * first) or first IPv6 link-local address.  0 or -EADDRNOTAVAIL.
 */
static int find_src(const char *ifname, uint8_t af, union lvs_addr *out)
{
	struct ifaddrs *ifa, *i;
	int ret = -EADDRNOTAVAIL;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != af || strcmp(i->ifa_name, ifname))
			continue;
		if (af == AF_INET) {
			const struct sockaddr_in *sin = (const void *)i->ifa_addr;

			lvs_addr_set4(out, sin->sin_addr.s_addr);
		} else {
			const struct sockaddr_in6 *sin6 = (const void *)i->ifa_addr;

			if (!IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				continue;
			out->in6 = sin6->sin6_addr;
		}
		ret = 0;
		break;
	}
	freeifaddrs(ifa);
	return ret;
}

static int setopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, level, name, val, len) < 0 ? -errno : 0;
}

static int open_v4(struct vrrp_sock *s)
{
	int fd = s->fd, one = 1, ttl = VRRP_TTL, tos = VRRP_TOS, ret;
	unsigned char mttl = VRRP_TTL, mloop = 0;
	struct ip_mreqn mr = {.imr_ifindex = s->ifindex};

	if ((ret = setopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl))) ||
	    (ret = setopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos))) ||
	    (ret = setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof(mttl))) ||
	    /* Our own adverts must not come back as a peer's. */
	    (ret = setopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &mloop, sizeof(mloop))) ||
	    (ret = setopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr))) ||
	    /* The arrival interface; the TTL is read from the IP header the
	     * raw socket delivers, so IP_RECVTTL would add nothing. */
	    (ret = setopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))))
		return ret;
	if (s->npeers)
		return 0;
	mr.imr_multiaddr.s_addr = s->group.ip4;
	return setopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
}

static int open_v6(struct vrrp_sock *s)
{
	int fd = s->fd, one = 1, hops = VRRP_TTL, tclass = VRRP_TOS, ret;
	unsigned loop = 0, ifindex = (unsigned)s->ifindex;
	struct ipv6_mreq mr = {.ipv6mr_interface = (unsigned)s->ifindex};

	if ((ret = setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops))) ||
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops))) ||
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass))) ||
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop))) ||
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex))) ||
	    /* No IP header comes with an IPv6 datagram: these carry the
	     * destination, arrival interface and hop limit instead. */
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))) ||
	    (ret = setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one))))
		return ret;
	if (s->npeers)
		return 0;
	mr.ipv6mr_multiaddr = s->group.in6;
	return setopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof(mr));
}

int vrrp_sock_open(struct vrrp_sock *s, const struct vrrp_sock_conf *c)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if ((c->af != AF_INET && c->af != AF_INET6) || c->npeers > VRRP_SOCK_MAX_PEERS)
		return -EINVAL;
	s->af = c->af;
	if (c->ifindex > 0) {
		if (!if_indextoname((unsigned)c->ifindex, s->ifname))
			return -ENODEV;
		s->ifindex = c->ifindex;
	} else {
		if (!c->ifname[0] || strnlen(c->ifname, IF_NAMESIZE) == IF_NAMESIZE)
			return -EINVAL;
		strcpy(s->ifname, c->ifname);
		s->ifindex = (int)if_nametoindex(s->ifname);
		if (!s->ifindex)
			return -ENODEV;
	}
	s->group = c->group;
	if (lvs_addr_is_zero(&s->group) &&
	    lvs_addr_parse(s->af, s->af == AF_INET ? VRRP_GROUP4 : VRRP_GROUP6, &s->group) < 0)
		return -EINVAL;
	if (!is_mcast(s->af, &s->group))
		return -EINVAL;
	s->npeers = c->npeers;
	memcpy(s->peers, c->peers, c->npeers * sizeof(c->peers[0]));
	for (unsigned i = 0; i < s->npeers; i++)
		if (lvs_addr_is_zero(&s->peers[i]) || is_mcast(s->af, &s->peers[i]))
			return -EINVAL;
	if (!lvs_addr_is_zero(&c->src)) {
		s->src = c->src;
		s->src_fixed = true;
	} else {
		/* An interface still without an address is no error: the
		 * daemon may start before the network is configured. */
		(void)find_src(s->ifname, s->af, &s->src);
	}

	s->fd = socket(s->af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_IPPROTO);
	if (s->fd < 0)
		return -errno;
	/* Adverts of another link (other interfaces, or the same VRID on
	 * another segment) never reach this instance. */
	ret = setopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname, (socklen_t)strlen(s->ifname));
	if (!ret)
		ret = s->af == AF_INET ? open_v4(s) : open_v6(s);
	if (ret)
		vrrp_sock_close(s);
	return ret;
}

void vrrp_sock_close(struct vrrp_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static bool is_peer(const struct vrrp_sock *s, const union lvs_addr *a)
{
	for (unsigned i = 0; i < s->npeers; i++)
		if (lvs_addr_eq(&s->peers[i], a))
			return true;
	return false;
}

/* One copy of the advert to dst, source address set with pktinfo. */
static int send_one(struct vrrp_sock *s, const struct vrrp_adv *a, const union lvs_addr *dst)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct iovec iov;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf};
	struct cmsghdr *cm;
	int n;

	n = vrrp_encode(a, &s->src, dst, s->buf, sizeof(s->buf));
	if (n < 0)
		return n;
	iov.iov_base = s->buf;
	iov.iov_len = (size_t)n;
	memset(&cbuf, 0, sizeof(cbuf));
	cm = (struct cmsghdr *)cbuf.buf;
	if (s->af == AF_INET) {
		struct in_pktinfo pi = {.ipi_ifindex = s->ifindex};

		pi.ipi_spec_dst.s_addr = s->src.ip4;
		sin.sin_addr.s_addr = dst->ip4;
		msg.msg_name = &sin;
		msg.msg_namelen = sizeof(sin);
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {.ipi6_addr = s->src.in6,
		                         .ipi6_ifindex = (unsigned)s->ifindex};

		sin6.sin6_addr = dst->in6;
		/* ff02::12 and link-local peers need their link named. */
		sin6.sin6_scope_id = (uint32_t)s->ifindex;
		msg.msg_name = &sin6;
		msg.msg_namelen = sizeof(sin6);
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (sendmsg(s->fd, &msg, 0) < 0) {
		s->stats.tx_errors++;
		return -errno;
	}
	s->stats.tx_adverts++;
	return 0;
}

int vrrp_sock_send(struct vrrp_sock *s, const struct vrrp_adv *a)
{
	int ret = 0, r;

	if (s->fd < 0)
		return -EBADF;
	if (a->af != s->af)
		return -EINVAL;
	if (!s->src_fixed && lvs_addr_is_zero(&s->src)) {
		r = find_src(s->ifname, s->af, &s->src);
		if (r)
			return r;
	}
	if (!s->npeers)
		return send_one(s, a, &s->group);
	for (unsigned i = 0; i < s->npeers; i++) {
		r = send_one(s, a, &s->peers[i]);
		if (r && !ret)
			ret = r;
	}
	/* The address we send from was removed or replaced: look again next
	 * time rather than fail forever. */
	if (ret == -EADDRNOTAVAIL && !s->src_fixed)
		memset(&s->src, 0, sizeof(s->src));
	return ret;
}

static int drop(struct vrrp_sock *s, int reason)
{
	s->stats.drops[reason]++;
	return reason;
}

/* The IPv4 header the raw socket delivered: addresses, TTL, payload. */
static int parse_ip4(const uint8_t *p, size_t n, union lvs_addr *src, union lvs_addr *dst,
                     uint8_t *ttl, size_t *off, size_t *len)
{
	size_t ihl, tot;
	uint32_t a;

	if (n < 20 || (p[0] >> 4) != 4)
		return VRRP_DROP_IP_HDR;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	tot = (size_t)p[2] << 8 | p[3];
	if (ihl < 20 || ihl > n || tot < ihl || p[9] != VRRP_IPPROTO)
		return VRRP_DROP_IP_HDR;
	if (tot > n)
		return VRRP_DROP_TRUNCATED;
	*ttl = p[8];
	memcpy(&a, p + 12, 4);
	lvs_addr_set4(src, a);
	memcpy(&a, p + 16, 4);
	lvs_addr_set4(dst, a);
	*off = ihl;
	*len = tot - ihl;
	return 0;
}

int vrrp_sock_recv(struct vrrp_sock *s, struct vrrp_adv *out, union lvs_addr *src)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_in6 from;
	struct iovec iov = {.iov_base = s->buf, .iov_len = sizeof(s->buf)};
	struct msghdr msg = {.msg_name = &from,
	                     .msg_namelen = sizeof(from),
	                     .msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = cbuf.buf,
	                     .msg_controllen = sizeof(cbuf.buf)};
	union lvs_addr dst = {0};
	int ifindex = -1, r;
	uint8_t ttl = 0;
	size_t off = 0, len;
	ssize_t n;

	if (s->fd < 0)
		return -EBADF;
	memset(src, 0, sizeof(*src));
	n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* Longer than any advert (255 IPv6 addresses) can be. */
	if (msg.msg_flags & MSG_TRUNC)
		return drop(s, VRRP_DROP_ADDR_COUNT);
	len = (size_t)n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			ifindex = pi.ipi_ifindex;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			ifindex = (int)pi.ipi6_ifindex;
			dst.in6 = pi.ipi6_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT) {
			int h;

			memcpy(&h, CMSG_DATA(cm), sizeof(h));
			/* A missing or odd value stays 0: decode drops it. */
			ttl = h >= 0 && h <= 255 ? (uint8_t)h : 0;
		}
	}
	if (s->af == AF_INET) {
		r = parse_ip4(s->buf, len, src, &dst, &ttl, &off, &len);
		if (r)
			return drop(s, r);
	} else {
		if (msg.msg_namelen < sizeof(from) || from.sin6_family != AF_INET6)
			return drop(s, VRRP_DROP_IP_HDR);
		src->in6 = from.sin6_addr;
		/* Without pktinfo the checksum cannot be verified. */
		if (lvs_addr_is_zero(&dst))
			return drop(s, VRRP_DROP_IP_HDR);
	}
	/* SO_BINDTODEVICE already filters; this guards against a socket
	 * whose binding was lost or a kernel that delivers otherwise. */
	if (ifindex != s->ifindex)
		return drop(s, VRRP_DROP_IFACE);
	if (s->npeers && !is_peer(s, src))
		return drop(s, VRRP_DROP_PEER);
	r = vrrp_decode(s->buf + off, len, s->af, src, &dst, ttl, out);
	if (r < 0)
		return drop(s, -r);
	s->stats.rx_adverts++;
	return 0;
}
