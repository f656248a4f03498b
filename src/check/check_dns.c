/*
 * check_dns.c - DNS_CHECK: one query over UDP to the real server
 * (keepalived's check/check_dns.c).
 *
 * The query (RFC 1035 4.1): a random id, RD set, one question of `type`
 * (A NS CNAME SOA MX TXT AAAA RRSIG DNSKEY; default SOA) and class IN for
 * `name` (default "" = the root; "." is the root too; a trailing dot is
 * allowed).  It goes to the probe's target: the checker's connect_ip /
 * connect_port or the real server's address and port, as keepalived
 * sends it (no default of 53 there); only a server without a port (a
 * fwmark service's) is asked on 53.
 *
 * keepalived's acceptance (dns_recv_thread), followed exactly: datagrams
 * shorter than a header, with another id, or without QR are ignored and
 * the probe listens on; the first reply with our id and QR decides: RCODE
 * 0 is up (whatever the answer count), any other RCODE down.  Only the
 * 12-byte header is read, so a malformed body cannot hurt.  An ICMP
 * unreachable or a socket error is down, and so is silence until the
 * deadline.  Retries are the core's (keepalived's DNS default of 3 comes
 * from the parser).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

#define DNS_HDR_LEN 12
#define DNS_MAX_QUERY 512
#define DNS_PORT 53
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100

struct dns_probe {
	struct lvs_probe_sock sock; /* first */
	uint16_t id;
};

static const struct {
	const char *name;
	uint16_t type;
} dns_types[] = {
	{"A", 1},    {"NS", 2},    {"CNAME", 5},  {"SOA", 6},     {"MX", 15},
	{"TXT", 16}, {"AAAA", 28}, {"RRSIG", 46}, {"DNSKEY", 48},
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* The query for name/type in q (DNS_MAX_QUERY bytes): its length, or
 * -EINVAL for an unknown type, an empty label or a name too long. */
static int dns_build_query(uint8_t *q, uint16_t id, const char *name, const char *type)
{
	uint16_t qtype = 0;
	size_t n = DNS_HDR_LEN, total = 1;
	const char *s = name ? name : "";

	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (!strcasecmp(type ? type : "SOA", dns_types[i].name))
			qtype = dns_types[i].type;
	if (!qtype)
		return -EINVAL;
	memset(q, 0, DNS_HDR_LEN);
	put16(q, id);
	put16(q + 2, DNS_FLAG_RD);
	put16(q + 4, 1); /* QDCOUNT */
	if (!strcmp(s, "."))
		s = "";
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (!len || len > 63)
			return -EINVAL;
		total += len + 1;
		if (total > 255)
			return -EINVAL;
		q[n++] = (uint8_t)len;
		memcpy(q + n, s, len);
		n += len;
		s += len;
		if (*s)
			s++; /* the dot; a trailing one ends the name */
	}
	q[n++] = 0;
	put16(q + n, qtype);
	put16(q + n + 2, 1); /* IN */
	return (int)(n + 4);
}

static void dns_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",  "REFUSED"};
	struct lvs_probe *p = arg;
	struct dns_probe *d = p->priv;
	uint8_t buf[1500];
	char why[96];
	ssize_t n;
	int err;

	if (what & EV_TIMEOUT) {
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "timeout");
		return;
	}
	for (;;) {
		unsigned flags, rcode;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			switch (lvs_probe_icmp_unreach(fd, &err)) {
			case 1:
				snprintf(why, sizeof(why), "ICMP unreachable: %s", strerror(err));
				break;
			case 0:
				continue;
			default:
				snprintf(why, sizeof(why), "recv: %s", strerror(errno));
			}
			lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
			return;
		}
		if (n < DNS_HDR_LEN || (unsigned)(buf[0] << 8 | buf[1]) != d->id)
			continue;
		flags = (unsigned)(buf[2] << 8 | buf[3]);
		if (!(flags & DNS_FLAG_QR))
			continue;
		rcode = flags & 0xf;
		if (!rcode) {
			lvs_probe_sock_finish(p, LVS_PROBE_OK, NULL);
		} else {
			snprintf(why, sizeof(why), "DNS rcode %u%s%s", rcode, rcode < 6 ? " " : "",
				 rcode < 6 ? rcodes[rcode] : "");
			lvs_probe_sock_finish(p, LVS_PROBE_FAIL, why);
		}
		return;
	}
	if (lvs_probe_watch(p, &d->sock.ev, fd, EV_READ, dns_cb, p, 0))
		lvs_probe_sock_finish(p, LVS_PROBE_FAIL, "out of memory");
}

static int dns_start(struct lvs_probe *p)
{
	struct dns_probe *d = calloc(1, sizeof(*d));
	struct lvs_probe to = *p;
	uint8_t q[DNS_MAX_QUERY];
	int len, rc;

	if (!d)
		return -ENOMEM;
	d->sock.fd = -1;
	if (getrandom(&d->id, sizeof(d->id), GRND_NONBLOCK) != sizeof(d->id))
		d->id = (uint16_t)(lvs_probe_now_ns() ^ (uintptr_t)d);
	len = dns_build_query(q, d->id, p->cfg->dns_name, p->cfg->dns_type);
	if (len < 0) {
		free(d);
		return len;
	}
	if (!to.port)
		to.port = DNS_PORT;
	p->priv = d;
	rc = lvs_probe_dgram(&to, IPPROTO_UDP, &d->sock.fd);
	if (!rc && send(d->sock.fd, q, (size_t)len, 0) != len)
		rc = errno ? -errno : -EIO;
	if (!rc)
		rc = lvs_probe_watch(p, &d->sock.ev, d->sock.fd, EV_READ, dns_cb, p, 0);
	if (rc)
		lvs_probe_sock_end(p);
	return rc;
}

const struct lvs_checker_ops lvs_check_dns = {
	.type = KA_CHECK_DNS,
	.name = "DNS_CHECK",
	.start = dns_start,
	.cancel = lvs_probe_sock_end,
};
