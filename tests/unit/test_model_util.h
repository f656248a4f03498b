/*
 * test_model_util.h - builds service and destination configurations and
 * service keys for the tests that drive the model.
 */
#ifndef TEST_MODEL_UTIL_H
#define TEST_MODEL_UTIL_H

#include <sys/socket.h>

#include "test_util.h"
#include "model.h"

/* A service addr:port of family af and protocol proto; the other fields
 * are 0, so adding it applies ipvsadm's defaults. */
static inline struct lvs_svc_conf t_svc(int af, const char *addr, int port, int proto)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.proto = (uint8_t)proto;
	c.addr = af == AF_INET ? t_ip4(addr) : t_ip6(addr);
	c.port = htons((uint16_t)port);
	return c;
}

static inline struct lvs_svc_conf t_svc4(const char *addr, int port, int proto)
{
	return t_svc(AF_INET, addr, port, proto);
}

static inline struct lvs_svc_conf t_svc6(const char *addr, int port, int proto)
{
	return t_svc(AF_INET6, addr, port, proto);
}

/* A firewall-mark service of family af. */
static inline struct lvs_svc_conf t_svcfw(int af, uint32_t mark)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = (uint8_t)af;
	c.fwmark = mark;
	return c;
}

/* An IPv4 destination addr:port with ipvsadm's defaults (-g, weight 1). */
static inline struct lvs_dest_conf t_dest4(const char *addr, int port)
{
	struct lvs_dest_conf d;

	lvs_dest_conf_defaults(&d);
	d.af = AF_INET;
	d.addr = t_ip4(addr);
	d.port = htons((uint16_t)port);
	return d;
}

/* The key that names service c. */
static inline struct lvs_svc_key t_svc_key(const struct lvs_svc_conf *c)
{
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	return k;
}

#endif
