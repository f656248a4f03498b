/*
 * lvs_types.c - printing and parsing numeric addresses (control path only).
 *
 * IPv4 addresses are kept in w[0] with w[1..3] zero (see lvs_types.h), so a
 * parsed IPv4 address compares equal to one set with lvs_addr_set4().
 * Output follows inet_ntop (RFC 5952 compressed form for IPv6), as ipvsadm
 * prints them.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "lvs_types.h"

/* Never fails for a buffer of INET6_ADDRSTRLEN; a too-small buffer or an
 * unknown family yields "?" (truncated to fit) so callers can print it. */
const char *lvs_addr_str(int af, const union lvs_addr *a, char *buf, size_t len)
{
	const void *src = af == AF_INET ? (const void *)&a->ip4 : (const void *)&a->in6;

	if (!buf || len == 0)
		return "";
	if ((af != AF_INET && af != AF_INET6) || !inet_ntop(af, src, buf, (socklen_t)len)) {
		buf[0] = len > 1 ? '?' : '\0';
		if (len > 1)
			buf[1] = '\0';
	}
	return buf;
}

int lvs_addr_parse(int af, const char *s, union lvs_addr *out)
{
	union lvs_addr a;

	memset(&a, 0, sizeof(a));
	if (!s || !out)
		return -EINVAL;
	if (af == AF_INET) {
		if (inet_pton(AF_INET, s, &a.ip4) != 1)
			return -EINVAL;
	} else if (af == AF_INET6) {
		if (inet_pton(AF_INET6, s, &a.in6) != 1)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*out = a;
	return 0;
}
