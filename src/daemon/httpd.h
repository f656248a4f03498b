/*
 * httpd.h - `lvsd --metrics ADDR:PORT`: the Prometheus metrics
 * (GET /metrics), the live status page (GET /) and its figures
 * (GET /status.json), served with libmicrohttpd beside the control loop.
 */
#ifndef LVSD_HTTPD_H
#define LVSD_HTTPD_H

#include <sys/socket.h>

#include "ctlloop.h"

/*
 * Parse "A.B.C.D:PORT", "[V6]:PORT" or ":PORT" (every address, IPv6 and
 * IPv4) into *ss (family AF_UNSPEC with the port in a sockaddr_in6 for
 * ":PORT").  0, or -EINVAL.
 */
int lvsd_httpd_parse_addr(const char *s, struct sockaddr_storage *ss);

/* Serve on addr (lvsd_httpd_parse_addr's syntax) until the loop is freed.
 * 0, or -errno (logged: the address is taken, not ours...). */
int lvsd_httpd_register(struct lvsd_loop *l, const char *addr);

/* The status page (self-contained HTML, script and style inline). */
extern const char lvsd_status_page[];

#endif
