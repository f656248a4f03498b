/*
 * ipvsadm_cmd.c - parse an ipvsadm command line into a struct lvs_cmd.
 *
 * Behaviour follows ipvsadm 1.31 (with Debian's 32-bit weights):
 *   - options are scanned as popt does: short options cluster ("-Ln"),
 *     short values may be attached ("-p600", "-s=rr"), long values as
 *     "--opt value" or "--opt=value"; an optional value (-p) is taken from
 *     the next word only when that word does not start with '-'; words
 *     that are not options are collected and reported afterwards
 *     ("unexpected argument"), except the three values of --set; "--" ends
 *     the options;
 *   - the first option must be the command; any other failure there gives
 *     only the "Try `ipvsadm -h'" hint (exit 255), scanner errors later
 *     give "<word>: unknown option" / "missing argument" (exit 255);
 *   - values are checked while scanning, in order, then the command /
 *     option table ('+' needed, 'x' illegal, '1' mutually exclusive), then
 *     the service checks (zero port, one-packet only for UDP), then the
 *     real server checks (DR/TUN use the service port, address family,
 *     tunnel options), all with ipvsadm's wording and exit code 2;
 *   - defaults: scheduler wlc, persistence 360 s for a bare -p, netmask
 *     255.255.255.255 (/128 for IPv6), weight 1, direct routing, ipip.
 * Checks the kernel does (unknown scheduler, existence, thresholds) are left
 * to the model so they give the kernel's errors (exit 255).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "ipvsadm_cmd.h"

#define MAX_TIMEOUT    (86400 * 31) /* ipvsadm's bound for -p and --set */
#define SCHED_COPY_MAX (LVS_SCHED_NAME_MAX - 1)

/* Long-only option tags live above the ASCII range (short ones use their
 * letter, as ipvsadm does). */
enum {
	TAG_SET = 128,
	TAG_START_DAEMON,
	TAG_STOP_DAEMON,
	TAG_MCAST_INTERFACE,
	TAG_TIMEOUT,
	TAG_DAEMON,
	TAG_STATS,
	TAG_RATE,
	TAG_THRESHOLDS,
	TAG_PERSISTENTCONN,
	TAG_SORT,
	TAG_NO_SORT,
	TAG_PE,
	TAG_SCTP_SERVICE,
	TAG_MCAST_GROUP,
	TAG_MCAST_PORT,
	TAG_MCAST_TTL,
	TAG_SYNC_MAXLEN,
	TAG_TUN_INFO,
	TAG_TUN_TYPE,
	TAG_TUN_PORT,
	TAG_TUN_NOCSUM,
	TAG_TUN_CSUM,
	TAG_TUN_REMCSUM,
	TAG_SYNCID,
	TAG_STATUS,
	TAG_CHECKS,
	TAG_VRRP,
	TAG_ATOMIC,
};

enum { ARG_NONE, ARG_REQ, ARG_OPT };

struct opt_def {
	const char *name;
	char sname; /* 0: long form only */
	uint8_t arg;
	int tag;
};

static const struct opt_def opt_defs[] = {
        {"add-service", 'A', ARG_NONE, 'A'},
        {"edit-service", 'E', ARG_NONE, 'E'},
        {"delete-service", 'D', ARG_NONE, 'D'},
        {"clear", 'C', ARG_NONE, 'C'},
        {"list", 'L', ARG_NONE, 'L'},
        {"list", 'l', ARG_NONE, 'l'},
        {"zero", 'Z', ARG_NONE, 'Z'},
        {"add-server", 'a', ARG_NONE, 'a'},
        {"edit-server", 'e', ARG_NONE, 'e'},
        {"delete-server", 'd', ARG_NONE, 'd'},
        {"set", 0, ARG_NONE, TAG_SET},
        {"help", 'h', ARG_NONE, 'h'},
        {"version", 'v', ARG_NONE, 'v'},
        {"restore", 'R', ARG_NONE, 'R'},
        {"save", 'S', ARG_NONE, 'S'},
        {"status", 0, ARG_NONE, TAG_STATUS},
        {"checks", 0, ARG_NONE, TAG_CHECKS},
        {"vrrp", 0, ARG_NONE, TAG_VRRP},
        {"start-daemon", 0, ARG_REQ, TAG_START_DAEMON},
        {"stop-daemon", 0, ARG_REQ, TAG_STOP_DAEMON},
        {"tcp-service", 't', ARG_REQ, 't'},
        {"udp-service", 'u', ARG_REQ, 'u'},
        {"sctp-service", 0, ARG_REQ, TAG_SCTP_SERVICE},
        {"fwmark-service", 'f', ARG_REQ, 'f'},
        {"scheduler", 's', ARG_REQ, 's'},
        {"persistent", 'p', ARG_OPT, 'p'},
        {"netmask", 'M', ARG_REQ, 'M'},
        {"real-server", 'r', ARG_REQ, 'r'},
        {"masquerading", 'm', ARG_NONE, 'm'},
        {"ipip", 'i', ARG_NONE, 'i'},
        {"gatewaying", 'g', ARG_NONE, 'g'},
        {"weight", 'w', ARG_REQ, 'w'},
        {"u-threshold", 'x', ARG_REQ, 'x'},
        {"l-threshold", 'y', ARG_REQ, 'y'},
        {"numeric", 'n', ARG_NONE, 'n'},
        {"connection", 'c', ARG_NONE, 'c'},
        {"mcast-interface", 0, ARG_REQ, TAG_MCAST_INTERFACE},
        {"syncid", 0, ARG_REQ, TAG_SYNCID},
        {"timeout", 0, ARG_NONE, TAG_TIMEOUT},
        {"daemon", 0, ARG_NONE, TAG_DAEMON},
        {"stats", 0, ARG_NONE, TAG_STATS},
        {"rate", 0, ARG_NONE, TAG_RATE},
        {"thresholds", 0, ARG_NONE, TAG_THRESHOLDS},
        {"persistent-conn", 0, ARG_NONE, TAG_PERSISTENTCONN},
        {"nosort", 0, ARG_NONE, TAG_NO_SORT},
        {"sort", 0, ARG_NONE, TAG_SORT},
        {"exact", 'X', ARG_NONE, 'X'},
        {"ipv6", '6', ARG_NONE, '6'},
        {"ops", 'o', ARG_NONE, 'o'},
        {"pe", 0, ARG_REQ, TAG_PE},
        {"sched-flags", 'b', ARG_REQ, 'b'},
        {"mcast-group", 0, ARG_REQ, TAG_MCAST_GROUP},
        {"mcast-port", 0, ARG_REQ, TAG_MCAST_PORT},
        {"mcast-ttl", 0, ARG_REQ, TAG_MCAST_TTL},
        {"sync-maxlen", 0, ARG_REQ, TAG_SYNC_MAXLEN},
        {"tun-info", 0, ARG_NONE, TAG_TUN_INFO},
        {"tun-type", 0, ARG_REQ, TAG_TUN_TYPE},
        {"tun-port", 0, ARG_REQ, TAG_TUN_PORT},
        {"tun-nocsum", 0, ARG_NONE, TAG_TUN_NOCSUM},
        {"tun-csum", 0, ARG_NONE, TAG_TUN_CSUM},
        {"tun-remcsum", 0, ARG_NONE, TAG_TUN_REMCSUM},
        {"atomic", 0, ARG_NONE, TAG_ATOMIC}, /* lvsd's own, with -R only */
};

static const char *const cmd_names[] = {
        "add-service", "edit-service",  "delete-service", "flush", "list",
        "add-server",  "delete-server", "edit-server",    "set",   "start-daemon",
        "stop-daemon", "restore",       "save",           "zero",
};

static const char *const opt_names[LVS_OPTI_COUNT] = {
        "numeric",
        "connection",
        "service-address",
        "scheduler",
        "persistent",
        "netmask",
        "real-server",
        "forwarding-method",
        "weight",
        "u-threshold",
        "l-threshold",
        "mcast-interface",
        "timeout",
        "daemon",
        "stats",
        "rate",
        "thresholds",
        "persistent-conn",
        "nosort",
        "syncid",
        "exact",
        "ops",
        "pe",
        "sched-flags",
        "mcast-group",
        "mcast-port",
        "mcast-ttl",
        "sync-maxlen",
        "tun-info",
        "tun-type",
        "tun-port",
        "tun-nocsum",
        "tun-csum",
        "tun-remcsum",
};

/*
 * Which options each command takes, one character per option in
 * lvs_opt_index order: '+' required, 'x' refused, '1' at most one of the
 * '1' options, '.' optional.
 */
static const char cmd_opt_table[][LVS_OPTI_COUNT + 1] = {
        /*              n c s s p M r f w x y m t d s r t p s s e o p b g p t s t t t n c r */
        /* add   */ "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
        /* edit  */ "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
        /* del   */ "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* flush */ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* list  */ ".11xxxxxxxxx11.......xxxxxxx.xxxxx",
        /* addrs */ "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
        /* delrs */ "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* edirs */ "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
        /* set   */ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* start */ "xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx",
        /* stop  */ "xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx",
        /* rest. */ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* save  */ ".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        /* zero  */ "xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
};
_Static_assert(sizeof(cmd_opt_table) / sizeof(cmd_opt_table[0]) == LVS_CMD_ZERO,
               "one row per command");
_Static_assert(sizeof(cmd_names) / sizeof(cmd_names[0]) == LVS_CMD_ZERO, "one name per command");

/* Tunnel types against (tun-port, tun-nocsum, tun-csum, tun-remcsum). */
static const char *const tun_names[] = {"ipip", "gue", "gre"};
static const int tun_opts[4] = {LVS_OPTI_TUN_PORT, LVS_OPTI_TUN_NOCSUM, LVS_OPTI_TUN_CSUM,
                                LVS_OPTI_TUN_REMCSUM};
static const char tun_opt_table[][5] = {
        /* ipip */ "xxxx",
        /* gue  */ "+111",
        /* gre  */ "x11x",
};

const char *lvs_cmd_name(enum lvs_cmd_kind k)
{
	if (k >= LVS_CMD_ADD_SERVICE && k <= LVS_CMD_ZERO)
		return cmd_names[k - 1];
	if (k == LVS_CMD_HELP)
		return "help";
	if (k == LVS_CMD_VERSION)
		return "version";
	if (k == LVS_CMD_STATUS)
		return "status";
	if (k == LVS_CMD_CHECKS)
		return "checks";
	if (k == LVS_CMD_VRRP)
		return "vrrp";
	return "none";
}

/* ---- the option scanner (popt's rules, no global state) ---- */

enum { SCAN_END = 0, SCAN_BADOPT = -1, SCAN_NOARG = -2, SCAN_UNWANTED = -3 };

#define MAX_LEFTOVER 4 /* --set needs three, one more to report */

struct scan {
	int argc;
	char *const *argv;
	int next;            /* next word to read */
	int last;            /* last word consumed (what popt reports) */
	const char *cluster; /* rest of a short option cluster */
	bool dashdash;       /* after "--": only leftovers */
	int nleft;           /* leftovers seen (may exceed MAX_LEFTOVER) */
	int left[MAX_LEFTOVER];
	int left_pos; /* next leftover to hand out */
};

static void scan_leftover(struct scan *s, int idx)
{
	if (s->nleft < MAX_LEFTOVER)
		s->left[s->nleft] = idx;
	s->nleft++;
}

static const char *scan_get_leftover(struct scan *s)
{
	if (s->left_pos >= s->nleft || s->left_pos >= MAX_LEFTOVER)
		return NULL;
	return s->argv[s->left[s->left_pos++]];
}

/* The value of an option that takes one, from the next word. */
static int scan_value(struct scan *s, const struct opt_def *d, const char **val)
{
	*val = NULL;
	if (s->next >= s->argc)
		return d->arg == ARG_OPT ? 0 : SCAN_NOARG;
	if (d->arg == ARG_OPT && s->argv[s->next][0] == '-')
		return 0;
	s->last = s->next;
	*val = s->argv[s->next++];
	return 0;
}

/* Next option: its tag (> 0) with *val set, SCAN_END, or an error. */
static int scan_next(struct scan *s, const char **val)
{
	const struct opt_def *d = NULL;
	size_t i;
	int rc;

	*val = NULL;
	if (s->cluster && *s->cluster) {
		char c = *s->cluster++;

		for (i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
			if (opt_defs[i].sname == c) {
				d = &opt_defs[i];
				break;
			}
		if (!d)
			return SCAN_BADOPT;
		if (d->arg == ARG_NONE)
			return d->tag;
		if (*s->cluster) {
			/* attached value; popt skips one '=' ("-s=rr") */
			*val = s->cluster + (*s->cluster == '=');
			s->cluster = NULL;
			return d->tag;
		}
		s->cluster = NULL;
		rc = scan_value(s, d, val);
		return rc ? rc : d->tag;
	}
	s->cluster = NULL;
	while (s->next < s->argc) {
		const char *w = s->argv[s->next++];

		s->last = s->next - 1;
		if (!w)
			continue;
		if (s->dashdash || w[0] != '-' || w[1] == '\0') {
			scan_leftover(s, s->next - 1);
			continue;
		}
		if (strcmp(w, "--") == 0) {
			s->dashdash = true;
			continue;
		}
		if (w[1] == '-') {
			const char *name = w + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			for (i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
				if (strlen(opt_defs[i].name) == len &&
				    memcmp(opt_defs[i].name, name, len) == 0) {
					d = &opt_defs[i];
					break;
				}
			if (!d)
				return SCAN_BADOPT;
			if (eq) {
				if (d->arg == ARG_NONE)
					return SCAN_UNWANTED;
				*val = eq + 1;
				return d->tag;
			}
			if (d->arg == ARG_NONE)
				return d->tag;
			rc = scan_value(s, d, val);
			return rc ? rc : d->tag;
		}
		s->cluster = w + 1;
		return scan_next(s, val);
	}
	return SCAN_END;
}

static const char *scan_strerror(int rc)
{
	switch (rc) {
	case SCAN_NOARG:
		return "missing argument";
	case SCAN_UNWANTED:
		return "option does not take an argument";
	default:
		return "unknown option";
	}
}

/* ---- value parsers ---- */

struct pstate {
	struct lvs_cmd *cmd;
	char *err;
	size_t errlen;
	uint8_t lookup_proto; /* protocol for service-name ports (tcp for -f) */
	const char *sched_flags;
};

static int failf(struct pstate *p, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int failf(struct pstate *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A decimal number in [min, max] (strtol syntax, whole string), or -1. */
static long long str_to_num(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	return v;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* An IPv4 address as inet_aton reads it, else a host name (IPv4 only, the
 * first address, as ipvsadm's gethostbyname). */
static bool host_to_ip4(const char *name, uint32_t *ip)
{
	struct addrinfo hints, *res = NULL;
	struct in_addr in;

	if (inet_aton(name, &in)) {
		*ip = in.s_addr;
		return true;
	}
	if (!*name)
		return false;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
		return false;
	*ip = ((const struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return true;
}

static int service_to_port(const char *name, uint8_t proto)
{
	const char *pname = proto == IPPROTO_TCP    ? "tcp"
	                    : proto == IPPROTO_UDP  ? "udp"
	                    : proto == IPPROTO_SCTP ? "sctp"
	                                            : NULL;
	struct servent se, *r = NULL;
	char buf[1024];

	if (!pname)
		return -1;
	if (getservbyname_r(name, pname, &se, buf, sizeof(buf), &r) != 0 || !r)
		return -1;
	return ntohs((uint16_t)r->s_port);
}

#define SVC_ADDR 1
#define SVC_PORT 2

struct addrport {
	uint8_t af;
	union lvs_addr addr;
	uint16_t port; /* network order */
};

/*
 * "host[:port]", "[ipv6]:port" or a bare IPv6 address, as ipvsadm's
 * parse_service: returns SVC_ADDR|SVC_PORT bits (0 = invalid).  A port may
 * be a service name of the protocol.  out->port is left alone when no port
 * is given.
 */
static int parse_addrport(const char *arg, uint8_t proto, struct addrport *out)
{
	char buf[512];
	char *host = buf, *portp = NULL;
	struct in6_addr in6;
	uint32_t ip4;
	long long n;
	int result;

	if (!arg || all_digits(arg) || strlen(arg) >= sizeof(buf))
		return 0;
	strcpy(buf, arg);
	if (host[0] == '[') {
		host++;
		portp = strchr(host, ']');
		if (!portp)
			return 0;
		*portp++ = '\0';
		if (*portp != ':')
			return 0;
		*portp = '\0';
	}
	if (inet_pton(AF_INET6, host, &in6) > 0) {
		out->af = AF_INET6;
		memset(&out->addr, 0, sizeof(out->addr));
		out->addr.in6 = in6;
	} else {
		/* a bracketed non-IPv6 address loses its port here, as in
		 * ipvsadm (the ':' was already cut off) */
		portp = strrchr(host, ':');
		if (portp)
			*portp = '\0';
		if (!host_to_ip4(host, &ip4))
			return 0;
		out->af = AF_INET;
		lvs_addr_set4(&out->addr, ip4);
	}
	result = SVC_ADDR;
	if (portp) {
		result |= SVC_PORT;
		n = str_to_num(portp + 1, 0, 65535);
		if (n < 0)
			n = service_to_port(portp + 1, proto);
		if (n < 0)
			return 0;
		out->port = htons((uint16_t)n);
	}
	return result;
}

/* 0 when value is NULL (bare -p: ipvsadm's 360 s), else the number or -1. */
static long long parse_timeout(const char *v, long long min)
{
	if (!v)
		return LVS_DEF_PERSIST_TIMEOUT;
	return str_to_num(v, min, MAX_TIMEOUT);
}

/* -b: comma separated flags; sh-/mh- flags need that scheduler (wlc when
 * none was given). */
static int parse_sched_flags(struct pstate *p)
{
	struct lvs_svc_conf *c = &p->cmd->svc;
	const char *sched = c->sched[0] ? c->sched : LVS_DEF_SCHED;
	const char *s = p->sched_flags;
	uint32_t flags = 0;
	bool any = false;

	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char flag[64];
		const char *need = NULL;

		if (len == 0) {
			s++;
			continue;
		}
		if (len >= sizeof(flag))
			len = sizeof(flag) - 1;
		memcpy(flag, s, len);
		flag[len] = '\0';
		if (!strcmp(flag, "flag-1")) {
			flags |= LVS_SVC_F_SCHED1;
		} else if (!strcmp(flag, "flag-2")) {
			flags |= LVS_SVC_F_SCHED2;
		} else if (!strcmp(flag, "flag-3")) {
			flags |= LVS_SVC_F_SCHED3;
		} else if (!strcmp(flag, "sh-fallback")) {
			flags |= LVS_SVC_F_SCHED_SH_FALLBACK;
			need = "sh";
		} else if (!strcmp(flag, "sh-port")) {
			flags |= LVS_SVC_F_SCHED_SH_PORT;
			need = "sh";
		} else if (!strcmp(flag, "mh-fallback")) {
			flags |= LVS_SVC_F_SCHED_MH_FALLBACK;
			need = "mh";
		} else if (!strcmp(flag, "mh-port")) {
			flags |= LVS_SVC_F_SCHED_MH_PORT;
			need = "mh";
		} else {
			return failf(p, LVS_EXIT_USAGE, "invalid scheduler flag `%s'", flag);
		}
		if (need && strcmp(sched, need))
			return failf(p, LVS_EXIT_USAGE, "incompatible scheduler flag `%s'", flag);
		any = true;
		s += len;
		if (*s == ',')
			s++;
	}
	/* ipvsadm crashes on a list of only commas; call it invalid */
	if (!any)
		return failf(p, LVS_EXIT_USAGE, "invalid scheduler flag `%s'", p->sched_flags);
	c->flags &= ~(uint32_t)(LVS_SVC_F_SCHED1 | LVS_SVC_F_SCHED2 | LVS_SVC_F_SCHED3);
	c->flags |= flags;
	return 0;
}

static void copy_name(char *dst, size_t max, const char *src)
{
	size_t n = strlen(src);

	if (n > max)
		n = max;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- the parser ---- */

static int set_option(struct pstate *p, int i)
{
	if (p->cmd->opts & LVS_OPT(i))
		return failf(p, LVS_EXIT_USAGE, "multiple '%s' options specified", opt_names[i]);
	p->cmd->opts |= LVS_OPT(i);
	return 0;
}

static void cmd_defaults(struct lvs_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->dest.weight = 1;
	cmd->dest.fwd = LVS_FWD_ROUTE;
	cmd->dest.tun_type = LVS_TUN_IPIP;
	cmd->svc.netmask = 0xffffffffU;
}

/* One option after the command.  Returns 0 or an exit code. */
static int handle_option(struct pstate *p, struct scan *sc, int tag, const char *v)
{
	struct lvs_cmd *cmd = p->cmd;
	struct lvs_svc_conf *svc = &cmd->svc;
	struct lvs_dest_conf *dest = &cmd->dest;
	struct addrport ap;
	long long n;
	int rc = 0, parse;

	switch (tag) {
	case 't':
	case 'u':
	case TAG_SCTP_SERVICE:
		if ((rc = set_option(p, LVS_OPTI_SERVICE)))
			return rc;
		svc->proto = tag == 't' ? IPPROTO_TCP : tag == 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
		p->lookup_proto = svc->proto;
		ap.af = svc->af;
		ap.addr = svc->addr;
		ap.port = svc->port;
		parse = parse_addrport(v, svc->proto, &ap);
		if (!(parse & SVC_ADDR))
			return failf(p, LVS_EXIT_USAGE,
			             "illegal virtual server address[:port] specified");
		svc->af = ap.af;
		svc->addr = ap.addr;
		svc->port = ap.port;
		if (ap.af == AF_INET6)
			svc->netmask = 128;
		break;
	case 'f':
		if ((rc = set_option(p, LVS_OPTI_SERVICE)))
			return rc;
		/* ipvsadm: IPv4 unless -6 follows; tcp for port names */
		svc->af = AF_INET;
		svc->proto = 0;
		p->lookup_proto = IPPROTO_TCP;
		n = str_to_num(v, 1, UINT32_MAX);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "invalid fwmark value `%s' specified", v);
		svc->fwmark = (uint32_t)n;
		break;
	case 's':
		if ((rc = set_option(p, LVS_OPTI_SCHEDULER)))
			return rc;
		copy_name(svc->sched, SCHED_COPY_MAX, v);
		break;
	case 'p':
		if ((rc = set_option(p, LVS_OPTI_PERSISTENT)))
			return rc;
		svc->flags |= LVS_SVC_F_PERSISTENT;
		n = parse_timeout(v, 1);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "invalid timeout value `%s' specified", v);
		svc->timeout = (uint32_t)n;
		break;
	case 'M':
		if ((rc = set_option(p, LVS_OPTI_NETMASK)))
			return rc;
		if (svc->af != AF_INET6) {
			uint32_t mask;
			if (!host_to_ip4(v, &mask))
				return failf(p, LVS_EXIT_USAGE,
				             "illegal virtual server persistent mask specified");
			svc->netmask = mask;
		} else {
			/* atoi: leading digits count, the rest is ignored */
			long m = strtol(v, NULL, 10);
			if (m < 1 || m > 128)
				return failf(p, LVS_EXIT_USAGE, "illegal ipv6 netmask specified");
			svc->netmask = (uint32_t)m;
		}
		break;
	case 'r':
		if ((rc = set_option(p, LVS_OPTI_SERVER)))
			return rc;
		/* starts from the service as parsed so far, as ipvsadm does */
		ap.af = svc->af;
		ap.addr = svc->addr;
		ap.port = svc->port;
		parse = parse_addrport(v, p->lookup_proto, &ap);
		dest->af = ap.af;
		dest->addr = ap.addr;
		dest->port = ap.port;
		if (!(parse & SVC_ADDR))
			return failf(p, LVS_EXIT_USAGE,
			             "illegal real server address[:port] specified");
		if (parse == SVC_ADDR)
			dest->port = svc->port;
		break;
	case 'i':
	case 'g':
	case 'm':
		if ((rc = set_option(p, LVS_OPTI_FORWARD)))
			return rc;
		dest->fwd = tag == 'i' ? LVS_FWD_TUNNEL : tag == 'g' ? LVS_FWD_ROUTE : LVS_FWD_MASQ;
		break;
	case 'w':
		if ((rc = set_option(p, LVS_OPTI_WEIGHT)))
			return rc;
		n = str_to_num(v, 0, LVS_MAX_WEIGHT);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal weight specified");
		dest->weight = (int32_t)n;
		break;
	case 'x':
		if ((rc = set_option(p, LVS_OPTI_UTHRESHOLD)))
			return rc;
		n = str_to_num(v, 0, INT_MAX);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal u_threshold specified");
		dest->u_threshold = (uint32_t)n;
		break;
	case 'y':
		if ((rc = set_option(p, LVS_OPTI_LTHRESHOLD)))
			return rc;
		n = str_to_num(v, 0, INT_MAX);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal l_threshold specified");
		dest->l_threshold = (uint32_t)n;
		break;
	case 'c':
		return set_option(p, LVS_OPTI_CONNECTION);
	case 'n':
		return set_option(p, LVS_OPTI_NUMERIC);
	case TAG_MCAST_INTERFACE:
		if ((rc = set_option(p, LVS_OPTI_MCAST)))
			return rc;
		copy_name(cmd->daemon.mcast_ifn, sizeof(cmd->daemon.mcast_ifn) - 1, v);
		break;
	case TAG_SYNCID:
		if ((rc = set_option(p, LVS_OPTI_SYNCID)))
			return rc;
		n = str_to_num(v, 0, 255);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal syncid specified");
		cmd->daemon.syncid = (uint32_t)n;
		break;
	case TAG_TIMEOUT:
		return set_option(p, LVS_OPTI_TIMEOUT);
	case TAG_DAEMON:
		return set_option(p, LVS_OPTI_DAEMON);
	case TAG_STATS:
		return set_option(p, LVS_OPTI_STATS);
	case TAG_RATE:
		return set_option(p, LVS_OPTI_RATE);
	case TAG_THRESHOLDS:
		return set_option(p, LVS_OPTI_THRESHOLDS);
	case TAG_PERSISTENTCONN:
		return set_option(p, LVS_OPTI_PERSISTENTCONN);
	case TAG_NO_SORT:
		return set_option(p, LVS_OPTI_NOSORT);
	case TAG_SORT:
		break; /* sorting is the default; accepted for compatibility */
	case 'X':
		return set_option(p, LVS_OPTI_EXACT);
	case '6':
		if (!svc->fwmark)
			return failf(p, LVS_EXIT_USAGE, "-6 used before -f\n");
		svc->af = AF_INET6;
		svc->netmask = 128;
		break;
	case 'o':
		if ((rc = set_option(p, LVS_OPTI_ONEPACKET)))
			return rc;
		svc->flags |= LVS_SVC_F_ONEPACKET;
		break;
	case TAG_PE:
		if ((rc = set_option(p, LVS_OPTI_PE)))
			return rc;
		copy_name(cmd->pe, sizeof(cmd->pe) - 1, v);
		break;
	case 'b':
		if ((rc = set_option(p, LVS_OPTI_SCHED_FLAGS)))
			return rc;
		p->sched_flags = v; /* checked once the scheduler is known */
		break;
	case TAG_MCAST_GROUP:
		if ((rc = set_option(p, LVS_OPTI_MCAST_GROUP)))
			return rc;
		memset(&cmd->daemon.mcast_group, 0, sizeof(cmd->daemon.mcast_group));
		if (strchr(v, ':')) {
			if (inet_pton(AF_INET6, v, &cmd->daemon.mcast_group.in6) <= 0 ||
			    !IN6_IS_ADDR_MULTICAST(&cmd->daemon.mcast_group.in6))
				return failf(p, LVS_EXIT_USAGE, "invalid IPv6 mcast-group `%s'", v);
			cmd->daemon.mcast_af = AF_INET6;
		} else {
			if (inet_pton(AF_INET, v, &cmd->daemon.mcast_group.ip4) <= 0 ||
			    !IN_MULTICAST(ntohl(cmd->daemon.mcast_group.ip4)))
				return failf(p, LVS_EXIT_USAGE, "invalid IPv4 mcast-group `%s'", v);
			cmd->daemon.mcast_af = AF_INET;
		}
		break;
	case TAG_MCAST_PORT:
		if ((rc = set_option(p, LVS_OPTI_MCAST_PORT)))
			return rc;
		n = str_to_num(v, 1, 65535);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal mcast-port specified");
		cmd->daemon.mcast_port = (uint16_t)n;
		break;
	case TAG_MCAST_TTL:
		if ((rc = set_option(p, LVS_OPTI_MCAST_TTL)))
			return rc;
		n = str_to_num(v, 1, 255);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal mcast-ttl specified");
		cmd->daemon.mcast_ttl = (uint8_t)n;
		break;
	case TAG_SYNC_MAXLEN:
		if ((rc = set_option(p, LVS_OPTI_SYNC_MAXLEN)))
			return rc;
		n = str_to_num(v, 1, 65535 - 20 - 8);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal sync-maxlen specified");
		cmd->daemon.sync_maxlen = (uint16_t)n;
		break;
	case TAG_TUN_INFO:
		return set_option(p, LVS_OPTI_TUN_INFO);
	case TAG_TUN_TYPE:
		if ((rc = set_option(p, LVS_OPTI_TUN_TYPE)))
			return rc;
		if (!strcmp(v, "ipip"))
			dest->tun_type = LVS_TUN_IPIP;
		else if (!strcmp(v, "gue"))
			dest->tun_type = LVS_TUN_GUE;
		else if (!strcmp(v, "gre"))
			dest->tun_type = LVS_TUN_GRE;
		else
			return failf(p, LVS_EXIT_USAGE, "illegal tunnel type specified");
		break;
	case TAG_TUN_PORT:
		if ((rc = set_option(p, LVS_OPTI_TUN_PORT)))
			return rc;
		n = str_to_num(v, 1, 65535);
		if (n < 0)
			return failf(p, LVS_EXIT_USAGE, "illegal tunnel port specified");
		dest->tun_port = htons((uint16_t)n);
		break;
	case TAG_TUN_NOCSUM:
		if ((rc = set_option(p, LVS_OPTI_TUN_NOCSUM)))
			return rc;
		dest->tun_flags |= LVS_TUN_F_NOCSUM;
		break;
	case TAG_TUN_CSUM:
		if ((rc = set_option(p, LVS_OPTI_TUN_CSUM)))
			return rc;
		dest->tun_flags |= LVS_TUN_F_CSUM;
		break;
	case TAG_TUN_REMCSUM:
		if ((rc = set_option(p, LVS_OPTI_TUN_REMCSUM)))
			return rc;
		dest->tun_flags |= LVS_TUN_F_REMCSUM;
		break;
	case TAG_ATOMIC:
		/* not an ipvsadm option, so not in its option table */
		if (cmd->cmd != LVS_CMD_RESTORE)
			return failf(p, LVS_EXIT_USAGE, "Illegal 'atomic' option with the '%s' command",
			             lvs_cmd_name(cmd->cmd));
		if (cmd->atomic)
			return failf(p, LVS_EXIT_USAGE, "multiple 'atomic' options specified");
		cmd->atomic = true;
		break;
	default:
		/* a second command, -h, -v...: popt names the last word read */
		return failf(p, LVS_EXIT_USAGE, "invalid option `%s'", sc->argv[sc->last]);
	}
	return 0;
}

static int set_daemon_state(struct pstate *p, const char *v, bool start)
{
	if (v && !strcmp(v, "master"))
		p->cmd->daemon.state = LVS_DAEMON_MASTER;
	else if (v && !strcmp(v, "backup"))
		p->cmd->daemon.state = LVS_DAEMON_BACKUP;
	else if (start)
		return failf(p, LVS_EXIT_USAGE, "illegal start-daemon parameter specified");
	else
		return failf(p, LVS_EXIT_USAGE, "illegal start_daemon specified");
	return 0;
}

/* The command (first option).  Returns 0, or an exit code. */
static int handle_command(struct pstate *p, int tag, const char *v, const char *prog)
{
	struct lvs_cmd *cmd = p->cmd;

	switch (tag) {
	case 'A':
		cmd->cmd = LVS_CMD_ADD_SERVICE;
		break;
	case 'E':
		cmd->cmd = LVS_CMD_EDIT_SERVICE;
		break;
	case 'D':
		cmd->cmd = LVS_CMD_DEL_SERVICE;
		break;
	case 'a':
		cmd->cmd = LVS_CMD_ADD_DEST;
		break;
	case 'e':
		cmd->cmd = LVS_CMD_EDIT_DEST;
		break;
	case 'd':
		cmd->cmd = LVS_CMD_DEL_DEST;
		break;
	case 'C':
		cmd->cmd = LVS_CMD_FLUSH;
		break;
	case 'L':
	case 'l':
		cmd->cmd = LVS_CMD_LIST;
		break;
	case 'Z':
		cmd->cmd = LVS_CMD_ZERO;
		break;
	case TAG_SET:
		cmd->cmd = LVS_CMD_SET_TIMEOUT;
		break;
	case 'R':
		cmd->cmd = LVS_CMD_RESTORE;
		break;
	case 'S':
		cmd->cmd = LVS_CMD_SAVE;
		break;
	case 'h':
		cmd->cmd = LVS_CMD_HELP;
		break;
	case 'v':
		cmd->cmd = LVS_CMD_VERSION;
		break;
	case TAG_STATUS:
		cmd->cmd = LVS_CMD_STATUS;
		break;
	case TAG_CHECKS:
		cmd->cmd = LVS_CMD_CHECKS;
		break;
	case TAG_VRRP:
		cmd->cmd = LVS_CMD_VRRP;
		break;
	case TAG_START_DAEMON:
		cmd->cmd = LVS_CMD_START_DAEMON;
		return set_daemon_state(p, v, true);
	case TAG_STOP_DAEMON:
		cmd->cmd = LVS_CMD_STOP_DAEMON;
		return set_daemon_state(p, v, false);
	default:
		return failf(p, LVS_EXIT_FAIL, "Try `%s -h' or '%s --help' for more information.",
		             prog, prog);
	}
	return 0;
}

static int check_table(struct pstate *p, const char *row, const int *idx, int n, const char *what,
                       const char *kind)
{
	uint64_t opts = p->cmd->opts;
	int last = -1;

	for (int j = 0; j < n; j++) {
		int i = idx ? idx[j] : j;
		if (!(opts & LVS_OPT(i))) {
			if (row[j] == '+')
				return failf(p, LVS_EXIT_USAGE,
				             "You need to supply the '%s' option for the '%s' %s",
				             opt_names[i], what, kind);
			continue;
		}
		if (row[j] == 'x')
			return failf(p, LVS_EXIT_USAGE, "Illegal '%s' option with the '%s' %s",
			             opt_names[i], what, kind);
		if (row[j] == '1') {
			if (last < 0) {
				last = i;
				continue;
			}
			return failf(
			        p, LVS_EXIT_USAGE,
			        "The option '%s' conflicts with the '%s' option in the '%s' %s",
			        opt_names[i], opt_names[last], what, kind);
		}
	}
	return 0;
}

/* Checks after scanning, in ipvsadm's order. */
static int final_checks(struct pstate *p)
{
	struct lvs_cmd *cmd = p->cmd;
	struct lvs_svc_conf *svc = &cmd->svc;
	struct lvs_dest_conf *dest = &cmd->dest;
	uint64_t o = cmd->opts;
	int rc;

	if (cmd->cmd >= LVS_CMD_ADD_SERVICE && cmd->cmd <= LVS_CMD_ZERO) {
		rc = check_table(p, cmd_opt_table[cmd->cmd - 1], NULL, LVS_OPTI_COUNT,
		                 cmd_names[cmd->cmd - 1], "command");
		if (rc)
			return rc;
	}
	if (cmd->cmd == LVS_CMD_ADD_SERVICE || cmd->cmd == LVS_CMD_EDIT_SERVICE) {
		if (!svc->fwmark && !svc->port && !(svc->flags & LVS_SVC_F_PERSISTENT))
			return failf(p, LVS_EXIT_USAGE,
			             "Zero port specified for non-persistent service");
		if ((svc->flags & LVS_SVC_F_ONEPACKET) && !svc->fwmark && svc->proto != IPPROTO_UDP)
			return failf(p, LVS_EXIT_USAGE,
			             "One-Packet Scheduling is only for UDP virtual services");
		if (!svc->sched[0])
			copy_name(svc->sched, SCHED_COPY_MAX, LVS_DEF_SCHED);
	}
	if (cmd->cmd == LVS_CMD_START_DAEMON && !cmd->daemon.mcast_ifn[0])
		copy_name(cmd->daemon.mcast_ifn, sizeof(cmd->daemon.mcast_ifn) - 1, "eth0");
	if (cmd->cmd == LVS_CMD_ADD_DEST || cmd->cmd == LVS_CMD_EDIT_DEST) {
		/* direct routing and tunnels keep the service's port */
		if (!svc->fwmark && (dest->fwd == LVS_FWD_TUNNEL || dest->fwd == LVS_FWD_ROUTE))
			dest->port = svc->port;
		if (dest->af != svc->af && dest->fwd != LVS_FWD_TUNNEL)
			return failf(
			        p, LVS_EXIT_USAGE,
			        "Different address family is allowed only for tunneling servers");
		if ((o & (LVS_OPT(LVS_OPTI_TUN_TYPE) | LVS_OPT(LVS_OPTI_TUN_PORT) |
		          LVS_OPT(LVS_OPTI_TUN_NOCSUM) | LVS_OPT(LVS_OPTI_TUN_CSUM) |
		          LVS_OPT(LVS_OPTI_TUN_REMCSUM))) &&
		    dest->fwd != LVS_FWD_TUNNEL)
			return failf(p, LVS_EXIT_USAGE,
			             "Tunnel options conflict with forward method");
		rc = check_table(p, tun_opt_table[dest->tun_type], tun_opts, 4,
		                 tun_names[dest->tun_type], "tunnel type");
		if (rc)
			return rc;
	}
	if (cmd->cmd == LVS_CMD_LIST) {
		if (((o & (LVS_OPT_CONNECTION | LVS_OPT_TIMEOUT | LVS_OPT_DAEMON)) &&
		     (o & (LVS_OPT_STATS | LVS_OPT_RATE | LVS_OPT_THRESHOLDS))) ||
		    ((o & (LVS_OPT_TIMEOUT | LVS_OPT_DAEMON)) && (o & LVS_OPT_PERSISTENTCONN)))
			return failf(p, LVS_EXIT_USAGE, "options conflicts in the list command");
	}
	return 0;
}

int lvs_cmd_parse(int argc, char *const argv[], struct lvs_cmd *cmd, char *err, size_t errlen)
{
	struct pstate p = {.cmd = cmd, .err = err, .errlen = errlen};
	struct scan sc = {.argc = argc, .argv = argv, .next = 1};
	const char *prog = argc > 0 && argv[0] && argv[0][0] ? argv[0] : "ipvsadm";
	const char *v;
	int tag, rc;

	if (err && errlen)
		err[0] = '\0';
	cmd_defaults(cmd);
	if (argc <= 1) {
		cmd->cmd = LVS_CMD_LIST;
		return LVS_EXIT_OK;
	}

	tag = scan_next(&sc, &v);
	if (tag <= 0)
		return failf(&p, LVS_EXIT_FAIL, "Try `%s -h' or '%s --help' for more information.",
		             prog, prog);
	rc = handle_command(&p, tag, v, prog);
	if (rc)
		return rc;
	if (cmd->cmd == LVS_CMD_HELP || cmd->cmd == LVS_CMD_VERSION)
		return LVS_EXIT_OK; /* ipvsadm prints and exits at once */
	if (cmd->cmd == LVS_CMD_STATUS || cmd->cmd == LVS_CMD_CHECKS || cmd->cmd == LVS_CMD_VRRP) {
		if (scan_next(&sc, &v) != SCAN_END)
			return failf(&p, LVS_EXIT_USAGE, "The '%s' command takes no options",
			             lvs_cmd_name(cmd->cmd));
		return LVS_EXIT_OK;
	}

	while ((tag = scan_next(&sc, &v)) > 0) {
		rc = handle_option(&p, &sc, tag, v);
		if (rc)
			return rc;
	}
	if (tag < 0)
		return failf(&p, LVS_EXIT_FAIL, "%s: %s", argv[sc.last], scan_strerror(tag));

	if (cmd->cmd == LVS_CMD_SET_TIMEOUT) {
		const char *a = scan_get_leftover(&sc), *b = scan_get_leftover(&sc),
		           *c = scan_get_leftover(&sc);
		long long t[3];

		if (!a || !b || !c)
			return failf(&p, LVS_EXIT_USAGE, "--set option requires 3 timeout values");
		const char *w[3] = {a, b, c};
		for (int i = 0; i < 3; i++) {
			t[i] = parse_timeout(w[i], 0);
			if (t[i] < 0)
				return failf(&p, LVS_EXIT_USAGE,
				             "invalid timeout value `%s' specified", w[i]);
		}
		cmd->to.tcp = (uint32_t)t[0];
		cmd->to.tcp_fin = (uint32_t)t[1];
		cmd->to.udp = (uint32_t)t[2];
	}
	v = scan_get_leftover(&sc);
	if (v)
		return failf(&p, LVS_EXIT_USAGE, "unexpected argument %s", v);
	if (p.sched_flags && p.sched_flags[0]) {
		rc = parse_sched_flags(&p);
		if (rc)
			return rc;
	}
	rc = final_checks(&p);
	if (rc)
		return rc;
	cmd->have_svc = (cmd->opts & LVS_OPT_SERVICE) != 0;
	cmd->have_dest = (cmd->opts & LVS_OPT_SERVER) != 0;
	return LVS_EXIT_OK;
}

void lvs_cmd_usage(FILE *out, const char *prog)
{
	const char *p = prog && *prog ? prog : "ipvsadm";

	fprintf(out,
	        "Usage:\n"
	        "  %s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b "
	        "sched-flags] [-o]\n"
	        "  %s -D virtual-service\n"
	        "  %s -C\n"
	        "  %s -R [--atomic]\n"
	        "  %s -S [-n]\n"
	        "  %s -a|e virtual-service -r server-address [-g|i|m] [-w weight] [-x upper] [-y "
	        "lower]\n"
	        "  %s -d virtual-service -r server-address\n"
	        "  %s -L|l [virtual-service] [options]\n"
	        "  %s -Z [virtual-service]\n"
	        "  %s --set tcp tcpfin udp\n"
	        "  %s --start-daemon {master|backup} [daemon-options]\n"
	        "  %s --stop-daemon {master|backup}\n"
	        "  %s --status\n"
	        "  %s --checks\n"
	        "  %s --vrrp\n"
	        "  %s -h\n\n",
	        p, p, p, p, p, p, p, p, p, p, p, p, p, p, p, p);
	fprintf(out,
	        "virtual-service is one of\n"
	        "  -t|--tcp-service host[:port]     -u|--udp-service host[:port]\n"
	        "  --sctp-service host[:port]       -f|--fwmark-service mark [-6]\n"
	        "IPv6 addresses are written in brackets: [2001:db8::1]:80.\n\n"
	        "Schedulers: rr wrr lc wlc sed nq lblc lblcr dh sh mh fo ovf twos (default wlc).\n"
	        "Scheduler flags (-b, comma separated): sh-fallback sh-port mh-fallback mh-port.\n"
	        "Persistence: -p [timeout] (default 360 s), -M netmask (IPv4 mask or IPv6 "
	        "prefix).\n"
	        "Forwarding: -g direct routing (default), -i tunnel (--tun-type ipip|gue|gre,\n"
	        "  --tun-port port, --tun-nocsum|--tun-csum|--tun-remcsum), -m NAT.\n"
	        "Listing options: -n --stats --rate --thresholds --persistent-conn --tun-info\n"
	        "  --timeout --daemon -c --nosort --exact.\n"
	        "Daemon options (connection sync, IPVS sync protocol v1):\n"
	        "  --mcast-interface interface (default eth0)  --syncid sid (0..255, default 0)\n"
	        "  --sync-maxlen length (default from the MTU: 1472)\n"
	        "  --mcast-group address (default 224.0.0.81)  --mcast-port port (default 8848)\n"
	        "  --mcast-ttl ttl (default 1)\n"
	        "--status (lvsd only): packets forwarded, passed and dropped by reason, frames\n"
	        "  held for next-hop resolution, VIP answers, packet I/O and host guard counters.\n"
	        "--checks (lvsd only): the health checks of the configuration file, by virtual\n"
	        "  and real server: state, reason, probes and failures.\n"
	        "--vrrp (lvsd only): the VRRP instances of the configuration file: state,\n"
	        "  priority, master, addresses, tracking and advert counters.\n"
	        "-R reads commands from stdin and runs each line on its own, as ipvsadm does;\n"
	        "  with --atomic (lvsd only) every line is checked first and the whole input\n"
	        "  is applied, or nothing when a line fails (\"stdin:LINE: message\").\n");
}
