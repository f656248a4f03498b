/* test_util.h - shared helpers for the cmocka unit tests. */
#ifndef LVS_TEST_UTIL_H
#define LVS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>

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

#endif
