/*
 * kaconf_checker.c - the checker blocks of a real_server: TCP_CHECK,
 * HTTP_GET and SSL_GET (url blocks with path, digest, status_code and
 * its ranges, virtualhost), SMTP_CHECK (helo_name, host blocks),
 * MISC_CHECK, UDP_CHECK, DNS_CHECK, PING_CHECK, FILE_CHECK, with the
 * connection and timing keywords they share (keepalived's
 * check/check_api.c and check/check_*.c).  Parameters are stored as
 * given; the checkers that run them are separate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "kaconf_int.h"

/* ---- checkers ---- */

static void co_ip(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_conn *co = obj;

	if (ka_need_args(p, st, 1) && !ka_parse_addr(st->a[0].s, &co->connect_ip))
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid connect_ip '%s'", st->a[0].s);
}

static void co_bindto(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_conn *co = obj;

	if (ka_need_args(p, st, 1) && !ka_parse_addr(st->a[0].s, &co->bindto))
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid bindto '%s'", st->a[0].s);
}

/* Connection keywords; obj is a struct ka_conn. */
#define CONN_KWS(base)                                                                          \
	{"connect_ip", K_FN, false, 0, 0, 0, co_ip},                                            \
	{"connect_port", K_U32, false, base + F(struct ka_conn, connect_port), 1, 65535, NULL}, \
	{"bindto", K_FN, false, 0, 0, 0, co_bindto},                                            \
	{"bind_port", K_U32, false, base + F(struct ka_conn, bind_port), 1, 65535, NULL},       \
	{"bind_if", K_STR, false, base + F(struct ka_conn, bind_if), 0, 0, NULL},               \
	{"connect_timeout", K_TIMER, false, base + F(struct ka_conn, connect_timeout), 1, 0, NULL}, \
	{"fwmark", K_U32, false, base + F(struct ka_conn, fwmark), 0, UINT32_MAX, NULL}

/* connect_ip and bindto take the ka_conn as obj: their handlers get it
 * through these wrappers when the table's object is a checker. */
static void chk_co_ip(struct parser *p, const struct stmt *st, void *obj)
{
	co_ip(p, st, &((struct ka_checker *)obj)->conn);
}
static void chk_co_bindto(struct parser *p, const struct stmt *st, void *obj)
{
	co_bindto(p, st, &((struct ka_checker *)obj)->conn);
}

#define CHK_CONN_KWS                                                                     \
	{"connect_ip", K_FN, false, 0, 0, 0, chk_co_ip},                                   \
	{"connect_port", K_U32, false, F(struct ka_checker, conn.connect_port), 1, 65535, NULL}, \
	{"bindto", K_FN, false, 0, 0, 0, chk_co_bindto},                                   \
	{"bind_port", K_U32, false, F(struct ka_checker, conn.bind_port), 1, 65535, NULL},  \
	{"bind_if", K_STR, false, F(struct ka_checker, conn.bind_if), 0, 0, NULL},          \
	{"connect_timeout", K_TIMER, false, F(struct ka_checker, conn.connect_timeout), 1, 0, NULL}, \
	{"fwmark", K_U32, false, F(struct ka_checker, conn.fwmark), 0, UINT32_MAX, NULL}

#define CHK_COMMON_KWS                                                                     \
	{"retry", K_U32, false, F(struct ka_checker, retry), 0, UINT32_MAX - 1, NULL},       \
	{"nb_get_retry", K_U32, false, F(struct ka_checker, retry), 0, UINT32_MAX - 1, NULL},\
	{"delay_before_retry", K_TIMER, false, F(struct ka_checker, delay_before_retry), 0, 0, NULL}, \
	{"warmup", K_TIMER, false, F(struct ka_checker, warmup), 0, 0, NULL},                \
	{"delay_loop", K_TIMER, false, F(struct ka_checker, delay_loop), 1, 0, NULL},        \
	{"alpha", K_TRI, false, F(struct ka_checker, alpha), 0, 0, NULL},                    \
	{"log_all_failures", K_BOOL, false, F(struct ka_checker, log_all_failures), 0, 0, NULL}

static const struct kw tcp_kws[] = {CHK_CONN_KWS, CHK_COMMON_KWS, {NULL, 0, 0, 0, 0, 0, NULL}};
static const struct kw ping_kws[] = {CHK_CONN_KWS, CHK_COMMON_KWS, {NULL, 0, 0, 0, 0, 0, NULL}};

/* status_code 200 301-303 ... */
static void url_status(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_url *u = obj;

	if (!ka_need_args(p, st, 1))
		return;
	for (unsigned k = 0; k < st->n; k++) {
		const char *s = st->a[k].s, *dash = strchr(s, '-');
		char lo_s[16];
		uint32_t lo, hi;

		snprintf(lo_s, sizeof(lo_s), "%.*s", dash ? (int)(dash - s) : (int)strlen(s), s);
		if (!ka_parse_u32(lo_s, 100, 599, &lo) ||
		    (dash && !ka_parse_u32(dash + 1, 100, 599, &hi)) || (dash && hi < lo)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid status_code '%s' (100..599 or a range)", s);
			return;
		}
		if (!dash)
			hi = lo;
		if (u->nstatus == KA_MAX_STATUS_RANGES) {
			ka_diag(p->c, KA_ERROR, &st->loc, "too many status_code ranges (at most %d)",
				KA_MAX_STATUS_RANGES);
			return;
		}
		u->status[u->nstatus].lo = (uint16_t)lo;
		u->status[u->nstatus].hi = (uint16_t)hi;
		u->nstatus++;
	}
}

static void url_digest(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_url *u = obj;
	const char *s;
	size_t n;

	if (!ka_need_args(p, st, 1))
		return;
	s = st->a[0].s;
	n = strlen(s);
	if (n != 32 || strspn(s, "0123456789abcdefABCDEF") != n) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid digest '%s' (32 hex digits, an MD5 sum)", s);
		return;
	}
	u->digest = ka_strdup(p->c, s);
	for (char *q = u->digest; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q - 'A' + 'a');
}

/* keepalived's regex_options names, PCRE2's compile options */
static const struct {
	const char *name;
	uint32_t bit;
} regex_opts[] = {
	{"allow_empty_class", PCRE2_ALLOW_EMPTY_CLASS},
	{"alt_bsux", PCRE2_ALT_BSUX},
	{"auto_callout", PCRE2_AUTO_CALLOUT},
	{"case_insensitive", PCRE2_CASELESS},
	{"dollar_endonly", PCRE2_DOLLAR_ENDONLY},
	{"dotall", PCRE2_DOTALL},
	{"dupnames", PCRE2_DUPNAMES},
	{"extended", PCRE2_EXTENDED},
	{"extended_more", PCRE2_EXTENDED_MORE},
	{"firstline", PCRE2_FIRSTLINE},
	{"match_unset_backref", PCRE2_MATCH_UNSET_BACKREF},
	{"multiline", PCRE2_MULTILINE},
	{"never_ucp", PCRE2_NEVER_UCP},
	{"never_utf", PCRE2_NEVER_UTF},
	{"no_auto_capture", PCRE2_NO_AUTO_CAPTURE},
	{"no_auto_possess", PCRE2_NO_AUTO_POSSESS},
	{"no_dotstar_anchor", PCRE2_NO_DOTSTAR_ANCHOR},
	{"no_start_optimize", PCRE2_NO_START_OPTIMIZE},
	{"ucp", PCRE2_UCP},
	{"ungreedy", PCRE2_UNGREEDY},
	{"utf", PCRE2_UTF},
	{"never_backslash_c", PCRE2_NEVER_BACKSLASH_C},
	{"alt_circumflex", PCRE2_ALT_CIRCUMFLEX},
	{"alt_verbnames", PCRE2_ALT_VERBNAMES},
	{"use_offset_limit", PCRE2_USE_OFFSET_LIMIT},
};

static void url_regex_options(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_url *u = obj;

	if (!ka_need_args(p, st, 1))
		return;
	for (unsigned i = 0; i < st->n; i++) {
		unsigned k = 0;

		while (k < sizeof(regex_opts) / sizeof(regex_opts[0]) &&
		       strcmp(regex_opts[k].name, st->a[i].s))
			k++;
		if (k == sizeof(regex_opts) / sizeof(regex_opts[0]))
			ka_diag(p->c, KA_ERROR, &st->loc, "unknown regex option '%s'", st->a[i].s);
		else
			u->regex_options |= regex_opts[k].bit;
	}
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > (1ull << 40))
		return false;
	*out = v;
	return true;
}

static void url_regex_offset(struct parser *p, const struct stmt *st, void *obj, bool max)
{
	struct ka_url *u = obj;
	uint64_t v;

	if (!ka_need_args(p, st, 1))
		return;
	if (!parse_size(st->a[0].s, &v)) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid %s '%s' (a byte offset)", st->kw->s,
			st->a[0].s);
		return;
	}
	if (max)
		u->regex_max_offset = v + 1;
	else
		u->regex_min_offset = v;
}

static void url_regex_min(struct parser *p, const struct stmt *st, void *obj)
{
	url_regex_offset(p, st, obj, false);
}

static void url_regex_max(struct parser *p, const struct stmt *st, void *obj)
{
	url_regex_offset(p, st, obj, true);
}

static void url_regex_stack(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_url *u = obj;

	if (!ka_need_args(p, st, 2))
		return;
	if (!parse_size(st->a[0].s, &u->regex_stack_start) ||
	    !parse_size(st->a[1].s, &u->regex_stack_max) || !u->regex_stack_start ||
	    u->regex_stack_max < u->regex_stack_start) {
		ka_diag(p->c, KA_ERROR, &st->loc,
			"invalid regex_stack '%s %s' (start and max bytes, start <= max)", st->a[0].s,
			st->a[1].s);
		u->regex_stack_start = u->regex_stack_max = 0;
	}
}

/* The url's regex compiles with its options (the checker compiles its own
 * copy; this is for the file's diagnostics). */
static void url_regex_check(struct parser *p, const struct stmt *st, struct ka_url *u)
{
	uint32_t opts = u->regex_options | (u->regex_max_offset ? PCRE2_USE_OFFSET_LIMIT : 0);
	int err;
	PCRE2_SIZE at;
	pcre2_code *re;

	if (!u->regex) {
		if (u->regex_no_match || u->regex_options || u->regex_min_offset ||
		    u->regex_max_offset || u->regex_stack_start)
			ka_diag(p->c, KA_WARN, &st->loc, "regex options without a regex: ignored");
		return;
	}
	if (u->regex_max_offset && u->regex_max_offset <= u->regex_min_offset) {
		ka_diag(p->c, KA_ERROR, &st->loc, "regex_max_offset below regex_min_offset");
		return;
	}
	re = pcre2_compile((PCRE2_SPTR)u->regex, PCRE2_ZERO_TERMINATED, opts, &err, &at, NULL);
	if (!re) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(err, msg, sizeof(msg));
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid regex '%s' at offset %zu: %s", u->regex,
			(size_t)at, (const char *)msg);
		return;
	}
	pcre2_code_free(re);
}

static const struct kw url_kws[] = {
	{"path", K_STR, false, F(struct ka_url, path), 0, 0, NULL},
	{"digest", K_FN, false, 0, 0, 0, url_digest},
	{"status_code", K_FN, false, 0, 0, 0, url_status},
	{"virtualhost", K_STR, false, F(struct ka_url, virtualhost), 0, 0, NULL},
	{"regex", K_STR, false, F(struct ka_url, regex), 0, 0, NULL},
	{"regex_no_match", K_FLAG, false, F(struct ka_url, regex_no_match), 0, 0, NULL},
	{"regex_options", K_FN, false, 0, 0, 0, url_regex_options},
	{"regex_min_offset", K_FN, false, 0, 0, 0, url_regex_min},
	{"regex_max_offset", K_FN, false, 0, 0, 0, url_regex_max},
	{"regex_stack", K_FN, false, 0, 0, 0, url_regex_stack},
	{"tls_compliant", K_NOTYET, false, 0, 0, 0, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static void http_url(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;
	struct ka_url *u = ka_alloc(p->c, sizeof(*u)), **tail = &ck->urls;

	u->loc = st->loc;
	ka_sub_block(p, st, url_kws, u, "url");
	url_regex_check(p, st, u);
	if (!u->path) {
		ka_diag(p->c, KA_ERROR, &st->loc, "url without a path");
		return;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = u;
}

static const struct kw http_kws[] = {
	CHK_CONN_KWS,
	CHK_COMMON_KWS,
	{"url", K_FN, true, 0, 0, 0, http_url},
	{"virtualhost", K_STR, false, F(struct ka_checker, virtualhost), 0, 0, NULL},
	{"http_protocol", K_STR, false, F(struct ka_checker, http_protocol), 0, 0, NULL},
	{"enable_sni", K_BOOL, false, F(struct ka_checker, enable_sni), 0, 0, NULL},
	{"sni_name", K_STR, false, F(struct ka_checker, sni_name), 0, 0, NULL},
	{"fast_recovery", K_BOOL, false, F(struct ka_checker, fast_recovery), 0, 0, NULL},
	{"tls_compliant", K_BOOL, false, F(struct ka_checker, tls_compliant), 0, 0, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct kw smtp_host_kws[] = {
	CONN_KWS(0),
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_conn_init(struct ka_conn *co)
{
	co->connect_port = KA_UNSET_U32;
	co->bind_port = KA_UNSET_U32;
	co->connect_timeout = KA_UNSET_TIME;
}

static void smtp_host(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;
	struct ka_smtp_host *h = ka_alloc(p->c, sizeof(*h)), **tail = &ck->hosts;

	h->loc = st->loc;
	ka_conn_init(&h->conn);
	ka_sub_block(p, st, smtp_host_kws, &h->conn, "host");
	while (*tail)
		tail = &(*tail)->next;
	*tail = h;
}

static const struct kw smtp_kws[] = {
	CHK_CONN_KWS,
	CHK_COMMON_KWS,
	{"helo_name", K_STR, false, F(struct ka_checker, helo_name), 0, 0, NULL},
	{"host", K_FN, true, 0, 0, 0, smtp_host},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static void misc_user(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;

	if (!ka_need_args(p, st, 1))
		return;
	ck->user = ka_strdup(p->c, st->a[0].s);
	if (st->n > 1)
		ck->group = ka_strdup(p->c, st->a[1].s);
}

static const struct kw misc_kws[] = {
	CHK_COMMON_KWS,
	{"misc_path", K_LINE, false, F(struct ka_checker, misc_path), 0, 0, NULL},
	{"misc_timeout", K_TIMER, false, F(struct ka_checker, misc_timeout), 1, 0, NULL},
	{"misc_dynamic", K_FLAG, false, F(struct ka_checker, misc_dynamic), 0, 0, NULL},
	{"user", K_FN, false, 0, 0, 0, misc_user},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* keepalived's hex strings: pairs of hex digits, spaces (and, here, ':')
 * between groups; a lone digit before a space is a byte of its own; with
 * wildcard, an X nibble matches anything (its bits set in *mask).  The
 * length, or 0 with a diagnostic. */
static uint32_t parse_hex(struct parser *p, const struct stmt *st, bool wildcard, const char *what,
			  uint8_t **data, uint8_t **mask)
{
	char *hex = ka_join_args(p, st), *q = hex;
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *d = ka_alloc(p->c, cap), *m = ka_alloc(p->c, cap);
	uint32_t n = 0;
	bool masked = false;

	for (;;) {
		uint8_t v = 0, mk = 0;

		while (*q == ' ' || *q == '\t' || *q == ':')
			q++;
		if (!*q)
			break;
		for (int k = 0; k < 2 && *q && *q != ' ' && *q != '\t' && *q != ':'; k++, q++) {
			int h = hexval(*q);

			if (h < 0 && wildcard && (*q == 'x' || *q == 'X')) {
				h = 0;
				mk = (uint8_t)(mk << 4 | 0xf);
				masked = true;
			} else if (h < 0) {
				ka_diag(p->c, KA_ERROR, &st->loc, "invalid %s: '%c' is not hex", what,
					*q);
				return 0;
			} else {
				mk = (uint8_t)(mk << 4);
			}
			v = (uint8_t)(v << 4 | h);
		}
		d[n] = v;
		m[n] = mk;
		n++;
	}
	if (!n) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid %s: no hex digits", what);
		return 0;
	}
	*data = d;
	if (mask)
		*mask = masked ? m : NULL;
	return n;
}

static void udp_payload(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;

	if (ka_need_args(p, st, 1))
		ck->payload_len = parse_hex(p, st, false, "payload", &ck->payload, NULL);
	if (!ck->payload_len)
		ck->payload = NULL;
}

static void udp_require_reply(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;

	ck->require_reply = true;
	if (!st->n)
		return;
	ck->reply_len = parse_hex(p, st, true, "require_reply", &ck->reply_data, &ck->reply_mask);
	if (!ck->reply_len)
		ck->reply_data = ck->reply_mask = NULL;
}

static const struct kw udp_kws[] = {
	CHK_CONN_KWS,
	CHK_COMMON_KWS,
	{"payload", K_FN, false, 0, 0, 0, udp_payload},
	{"require_reply", K_FN, false, 0, 0, 0, udp_require_reply},
	{"min_reply_length", K_U32, false, F(struct ka_checker, min_reply_length), 0, 65535, NULL},
	{"max_reply_length", K_U32, false, F(struct ka_checker, max_reply_length), 0, 65535, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static void dns_type(struct parser *p, const struct stmt *st, void *obj)
{
	static const char *const types[] = {"A",   "NS",  "CNAME", "SOA", "MX",
					    "TXT", "AAAA", "RRSIG", "DNSKEY", NULL};
	struct ka_checker *ck = obj;

	if (!ka_need_args(p, st, 1))
		return;
	for (unsigned k = 0; types[k]; k++)
		if (!strcasecmp(st->a[0].s, types[k])) {
			ck->dns_type = ka_strdup(p->c, types[k]);
			return;
		}
	ka_diag(p->c, KA_ERROR, &st->loc, "unknown DNS type '%s'", st->a[0].s);
}

static const struct kw dns_kws[] = {
	CHK_CONN_KWS,
	CHK_COMMON_KWS,
	{"type", K_FN, false, 0, 0, 0, dns_type},
	{"name", K_STR, false, F(struct ka_checker, dns_name), 0, 0, NULL},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static void file_weight(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_checker *ck = obj;

	ka_parse_file_weight(p, st, &ck->file_weight, &ck->file_weight_reverse);
}

static const struct kw file_kws[] = {
	{"track_file", K_STR, false, F(struct ka_checker, track_file), 0, 0, NULL},
	{"file", K_STR, false, F(struct ka_checker, track_file), 0, 0, NULL},
	{"weight", K_FN, false, 0, 0, 0, file_weight},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

static const struct {
	const char *name;
	enum ka_check_type type;
	const struct kw *kws;
} checker_kinds[] = {
	{"TCP_CHECK", KA_CHECK_TCP, tcp_kws},   {"HTTP_GET", KA_CHECK_HTTP, http_kws},
	{"SSL_GET", KA_CHECK_SSL, http_kws},    {"SMTP_CHECK", KA_CHECK_SMTP, smtp_kws},
	{"MISC_CHECK", KA_CHECK_MISC, misc_kws},{"UDP_CHECK", KA_CHECK_UDP, udp_kws},
	{"DNS_CHECK", KA_CHECK_DNS, dns_kws},   {"PING_CHECK", KA_CHECK_PING, ping_kws},
	{"FILE_CHECK", KA_CHECK_FILE, file_kws},
};

const char *ka_check_name(enum ka_check_type t)
{
	for (unsigned k = 0; k < sizeof(checker_kinds) / sizeof(checker_kinds[0]); k++)
		if (checker_kinds[k].type == t)
			return checker_kinds[k].name;
	return "?";
}

void ka_parse_checker(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_rs *rs = obj;
	struct ka_checker *ck, **tail = &rs->checkers;
	unsigned k = 0;

	while (strcmp(checker_kinds[k].name, st->kw->s))
		k++;
	ck = ka_alloc(p->c, sizeof(*ck));
	ck->loc = st->loc;
	ck->type = checker_kinds[k].type;
	ka_conn_init(&ck->conn);
	ck->retry = KA_UNSET_U32;
	ck->delay_before_retry = ck->warmup = ck->delay_loop = KA_UNSET_TIME;
	ck->alpha = -1;
	ck->file_weight = INT32_MIN;
	ka_sub_block(p, st, checker_kinds[k].kws, ck, st->kw->s);
	if (ck->type == KA_CHECK_MISC && !ck->misc_path) {
		ka_diag(p->c, KA_ERROR, &st->loc, "MISC_CHECK without misc_path");
		return;
	}
	if (ck->type == KA_CHECK_FILE && !ck->track_file) {
		ka_diag(p->c, KA_ERROR, &st->loc, "FILE_CHECK without track_file");
		return;
	}
	if ((ck->type == KA_CHECK_HTTP || ck->type == KA_CHECK_SSL) && !ck->urls)
		ka_diag(p->c, KA_WARN, &st->loc, "%s has no url - it will always fail", st->kw->s);
	while (*tail)
		tail = &(*tail)->next;
	*tail = ck;
	rs->nchecks++;
}
