/* test_util.h - shared helpers for the cmocka unit tests. */
#ifndef LVS_TEST_UTIL_H
#define LVS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>

#include "conn.h"
#include "lvs_types.h"

static inline union lvs_addr t_ip4(const char *s)
{
	union lvs_addr a;
	memset(&a, 0, sizeof(a));
	inet_pton(AF_INET, s, &a.ip4);
	return a;
}

static inline union lvs_addr t_ip6(const char *s)
{
	union lvs_addr a;
	memset(&a, 0, sizeof(a));
	inet_pton(AF_INET6, s, &a.in6);
	return a;
}

/* The Ethernet (02:..:fe from 02:..:aa, untagged) and IPv4 headers of a
 * frame from src to dst carrying l4len bytes of protocol proto, with a
 * valid header checksum, at f (zeroed through the payload); returns the
 * L4 header's address. */
static inline uint8_t *t_eth_ip4(uint8_t *f, uint8_t proto, const char *src, const char *dst,
                                 uint32_t l4len)
{
	union lvs_addr s = t_ip4(src), d = t_ip4(dst);
	uint32_t tot = 20 + l4len, sum = 0;
	uint8_t *ip = f + 14;

	memset(f, 0, 14 + tot);
	f[0] = 2;
	f[5] = 0xfe;
	f[6] = 2;
	f[11] = 0xaa;
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	return ip + 20;
}

/* A connection 198.51.100.7:cport -> 203.0.113.10:80 -> 192.0.2.11:80
 * (IPv4) of protocol proto, forwarded by fwd. */
static inline struct lvs_conn_param t_conn_param(uint8_t proto, int cport, uint8_t fwd)
{
	struct lvs_conn_param p;

	memset(&p, 0, sizeof(p));
	p.af = p.daf = AF_INET;
	p.proto = proto;
	p.fwd = fwd;
	p.caddr = t_ip4("198.51.100.7");
	p.vaddr = t_ip4("203.0.113.10");
	p.daddr = t_ip4("192.0.2.11");
	p.cport = htons((uint16_t)cport);
	p.vport = p.dport = htons(80);
	return p;
}

#endif
