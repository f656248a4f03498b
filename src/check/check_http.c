/*
 * check_http.c - HTTP_GET and SSL_GET (keepalived's check_http.c and
 * check_ssl.c): a probe fetches every url block of the checker in order,
 * each over a connection of its own, and passes when each answer has a
 * status in the url's status_code ranges (200-299 by default) and, when
 * the url has a digest, a body whose MD5 matches it, and, when it has a
 * regex, a body the regex matches (or, with regex_no_match, does not
 * match; PCRE2, with keepalived's regex_options, regex_min_offset,
 * regex_max_offset and regex_stack).  The first url that fails ends the
 * probe with the reason.
 *
 * The request is keepalived's: "GET <path> HTTP/1.x", User-Agent
 * KeepAliveClient, Host: the url's virtualhost, else the probe's, else
 * "<address>:<port>"; http_protocol 1.0 (the default) sends no Connection
 * header, 1.0C and 1.1 send "Connection: close" (1.0K, not keepalived's,
 * sends "Connection: keep-alive").  The path goes out as written.
 * SSL_GET does not verify the server's certificate, as keepalived does
 * not; with enable_sni it sends sni_name, else the virtualhost, as the
 * server name.
 *
 * The client is this file's own, a state machine on the probe's event
 * base: connect, TLS handshake (OpenSSL, SSL_GET), send the request, read
 * the status line and headers, then the body only when a digest or a
 * regex needs it (as sent: a chunked body with its chunk lines, as
 * keepalived digests it).  The body ends at the connection's close, at Content-Length, or at
 * the last chunk.  A general HTTP library costs more here than the probe:
 * libcurl's multi interface took about three times the CPU of this client
 * per probe with thousands of targets, most of it set-up and bookkeeping
 * a one-request connection does not need.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checker.h"

/* Without a digest or a regex the answer is judged on its status line and
 * headers; with one the whole body is needed, and one beyond
 * HTTP_DIGEST_MAX fails the url. */
#define HTTP_DIGEST_MAX (16u << 20)
#define HTTP_HEAD_MAX   8192 /* status line and headers */
#define HTTP_REQ_MAX    2048

enum http_state { H_CONNECT, H_TLS, H_SEND, H_RECV };
enum chunk_state { C_SIZE, C_EXT, C_DATA, C_DATA_END, C_TRAILER, C_TRAILER_LINE, C_DONE };

struct http_probe {
	struct lvs_probe_sock s; /* the connection: one edge-triggered event */
	struct event *deadline;
	struct lvs_probe *p;
	bool tls;
	SSL *ssl;
	enum http_state st;
	short want;              /* EV_READ / EV_WRITE the socket waits for */
	const struct ka_url *url;
	char req[HTTP_REQ_MAX];
	size_t req_len, req_off;
	char head[HTTP_HEAD_MAX];
	size_t head_len;
	bool in_body;
	long status;
	uint64_t clen;           /* Content-Length, UINT64_MAX: none */
	bool chunked;
	enum chunk_state cs;
	uint64_t chunk_left;
	uint64_t body;           /* body bytes seen */
	EVP_MD_CTX *md;          /* for a url with a digest */
	char *buf;               /* the body, for a url with a regex */
	size_t buf_len, buf_cap;
	char why[160];           /* a failure known in start, told from the loop */
};

static void http_cb(evutil_socket_t fd, short what, void *arg);
static void http_deadline_cb(evutil_socket_t fd, short what, void *arg);

/* Probes holding resources (the unit test's check that none leaks). */
static unsigned http_live;

/* ---- TLS ---- */

static SSL_CTX *tls_ctx;

static void tls_init(void)
{
	tls_ctx = SSL_CTX_new(TLS_client_method());
	if (tls_ctx) {
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
}

static SSL_CTX *tls_get(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tls_init);
	return tls_ctx;
}

static const char *http_path(const struct ka_url *u)
{
	return u->path && *u->path ? u->path : "/";
}

/* ---- regexes ---- */

/* The compiled regexes, by pattern and options: the probes of one base
 * run on one thread, so this is the checker thread's. */
struct re_entry {
	struct re_entry *next;
	char *pattern;
	uint32_t opts;
	uint64_t stack_start, stack_max;
	pcre2_code *code;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
};
static struct re_entry *re_cache;

static struct re_entry *re_get(const struct ka_url *u)
{
	uint32_t opts = u->regex_options | (u->regex_max_offset ? PCRE2_USE_OFFSET_LIMIT : 0);
	struct re_entry *e;
	PCRE2_SIZE at;
	int err;

	for (e = re_cache; e; e = e->next)
		if (e->opts == opts && e->stack_start == u->regex_stack_start &&
		    e->stack_max == u->regex_stack_max && !strcmp(e->pattern, u->regex))
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->pattern = strdup(u->regex);
	e->opts = opts;
	e->stack_start = u->regex_stack_start;
	e->stack_max = u->regex_stack_max;
	e->code = pcre2_compile((PCRE2_SPTR)u->regex, PCRE2_ZERO_TERMINATED, opts, &err, &at, NULL);
	e->mctx = pcre2_match_context_create(NULL);
	if (!e->pattern || !e->code || !e->mctx) {
		pcre2_match_context_free(e->mctx);
		pcre2_code_free(e->code);
		free(e->pattern);
		free(e);
		return NULL;
	}
	/* JIT when the machine has it (a failure leaves the interpreter) */
	if (!pcre2_jit_compile(e->code, PCRE2_JIT_COMPLETE) && e->stack_start) {
		e->jit_stack = pcre2_jit_stack_create(e->stack_start, e->stack_max, NULL);
		if (e->jit_stack)
			pcre2_jit_stack_assign(e->mctx, NULL, e->jit_stack);
	}
	e->next = re_cache;
	re_cache = e;
	return e;
}

/* Whether h->url's regex matches the body: 1, 0, or -1 with why set. */
static int re_match(struct http_probe *h, char *why, size_t len)
{
	const struct ka_url *u = h->url;
	struct re_entry *e = re_get(u);
	pcre2_match_data *md;
	int rc;

	if (!e) {
		snprintf(why, len, "regex: cannot compile '%.60s'", u->regex);
		return -1;
	}
	if (u->regex_min_offset > h->buf_len)
		return 0; /* no match can start past the body */
	pcre2_set_offset_limit(e->mctx, u->regex_max_offset ? u->regex_max_offset - 1
							: PCRE2_UNSET);
	md = pcre2_match_data_create_from_pattern(e->code, NULL);
	if (!md) {
		snprintf(why, len, "regex: out of memory");
		return -1;
	}
	rc = pcre2_match(e->code, (PCRE2_SPTR)(h->buf ? h->buf : ""), h->buf_len,
			 u->regex_min_offset, 0, md, e->mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	{
		PCRE2_UCHAR msg[120];

		pcre2_get_error_message(rc, msg, sizeof(msg));
		snprintf(why, len, "regex: %s on %s", (const char *)msg, http_path(u));
	}
	return -1;
}

/* ---- one probe ---- */

static bool http_status_ok(const struct ka_url *u, long code)
{
	if (!u->nstatus)
		return code >= 200 && code <= 299;
	for (unsigned i = 0; i < u->nstatus; i++)
		if (code >= u->status[i].lo && code <= u->status[i].hi)
			return true;
	return false;
}

/* The url's connection gone, with a reset (the digest state is kept). */
static void http_conn_close(struct http_probe *h)
{
	if (h->ssl) {
		SSL_free(h->ssl);
		h->ssl = NULL;
	}
	if (h->s.ev) {
		event_free(h->s.ev);
		h->s.ev = NULL;
	}
	if (h->s.fd >= 0) {
		lvs_probe_close_reset(h->s.fd);
		h->s.fd = -1;
	}
}

static void http_free(struct lvs_probe *p)
{
	struct http_probe *h = p->priv;

	if (!h)
		return;
	http_live--;
	http_conn_close(h);
	if (h->deadline)
		event_free(h->deadline);
	EVP_MD_CTX_free(h->md);
	free(h->buf);
	free(h);
	p->priv = NULL;
}

static void http_finish(struct http_probe *h, enum lvs_probe_result r, const char *why)
{
	struct lvs_probe *p = h->p;
	char buf[160];

	snprintf(buf, sizeof(buf), "%s", why ? why : "");
	http_free(p);
	p->done(p, r, -1, buf[0] ? buf : NULL);
}

static void http_fail(struct http_probe *h, const char *fmt, const char *arg)
{
	char why[160];

	snprintf(why, sizeof(why), fmt, arg, http_path(h->url));
	http_finish(h, LVS_PROBE_FAIL, why);
}

/* The request of h->url. */
static void http_request(struct http_probe *h)
{
	const struct lvs_probe *p = h->p;
	const struct ka_url *u = h->url;
	const char *proto = p->cfg->http_protocol ? p->cfg->http_protocol : "1.0";
	const char *vhost = u->virtualhost ? u->virtualhost : p->virtualhost;
	const char *conn = !strcasecmp(proto, "1.1") || !strcasecmp(proto, "1.0C") ? "close"
			   : !strcasecmp(proto, "1.0K")                             ? "keep-alive"
										    : NULL;
	char host[INET6_ADDRSTRLEN + 16];
	int n;

	if (!vhost)
		vhost = lvs_probe_target(p, host, sizeof(host));
	n = snprintf(h->req, sizeof(h->req),
		     "GET %s HTTP/1.%c\r\nUser-Agent: KeepAliveClient\r\nHost: %s\r\n%s%s%s\r\n",
		     http_path(u), !strcasecmp(proto, "1.1") ? '1' : '0', vhost,
		     conn ? "Connection: " : "", conn ? conn : "", conn ? "\r\n" : "");
	h->req_len = n < 0 ? 0 : (size_t)n < sizeof(h->req) ? (size_t)n : sizeof(h->req) - 1;
	h->req_off = 0;
}

/* Wait for what on the socket: the connection's event is edge-triggered
 * for both directions, so this only says which one the state waits for
 * (every step runs until the socket would block). */
static void http_wait(struct http_probe *h, short what)
{
	h->want = what;
}

/* Connect for h->url; 0, or -errno with h->why set when the failure is
 * the connection's (a refusal) rather than the probe's. */
static int http_url_begin(struct http_probe *h)
{
	int rc;

	http_conn_close(h);
	http_request(h);
	h->head_len = 0;
	h->in_body = h->chunked = false;
	h->status = 0;
	h->clen = UINT64_MAX;
	h->cs = C_SIZE;
	h->chunk_left = 0;
	h->body = 0;
	h->buf_len = 0;
	if (h->url->digest) {
		if (!h->md && !(h->md = EVP_MD_CTX_new()))
			return -ENOMEM;
		if (!EVP_DigestInit_ex(h->md, EVP_md5(), NULL))
			return -EINVAL;
	}
	h->st = H_CONNECT;
	rc = lvs_probe_connect(h->p, SOCK_STREAM, 0, &h->s.fd);
	if (rc == -EINPROGRESS || !rc) {
		h->s.ev = event_new(h->p->base, h->s.fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET,
				    http_cb, h->p);
		if (!h->s.ev || event_add(h->s.ev, NULL))
			return -ENOMEM;
		http_wait(h, EV_WRITE);
		return 0;
	}
	if (rc == -ECONNREFUSED || rc == -ENETUNREACH || rc == -EHOSTUNREACH ||
	    rc == -ETIMEDOUT || rc == -EADDRNOTAVAIL)
		snprintf(h->why, sizeof(h->why), "connect: %s", strerror(-rc));
	return rc;
}

/* ---- the answer ---- */

/* Feed n body bytes of the chunked framing; true at its end. */
static bool chunk_feed(struct http_probe *h, const char *b, size_t n)
{
	for (size_t i = 0; i < n && h->cs != C_DONE; i++) {
		char c = b[i];

		switch (h->cs) {
		case C_SIZE:
		case C_EXT:
			if (c == '\n') {
				h->cs = h->chunk_left ? C_DATA : C_TRAILER;
			} else if (h->cs == C_SIZE && c != '\r') {
				int d = c >= '0' && c <= '9'   ? c - '0'
					: c >= 'a' && c <= 'f' ? c - 'a' + 10
					: c >= 'A' && c <= 'F' ? c - 'A' + 10
							       : -1;
				if (d < 0 || h->chunk_left >> 56)
					h->cs = C_EXT; /* an extension, or junk: to the line's end */
				else
					h->chunk_left = h->chunk_left * 16 + (uint64_t)d;
			}
			break;
		case C_DATA: {
			uint64_t take = n - i < h->chunk_left ? n - i : h->chunk_left;

			h->chunk_left -= take;
			i += take - 1;
			if (!h->chunk_left)
				h->cs = C_DATA_END;
			break;
		}
		case C_DATA_END:
			if (c == '\n')
				h->cs = C_SIZE;
			break;
		case C_TRAILER:
			if (c == '\n')
				h->cs = C_DONE;
			else if (c != '\r')
				h->cs = C_TRAILER_LINE;
			break;
		case C_TRAILER_LINE:
			if (c == '\n')
				h->cs = C_TRAILER;
			break;
		case C_DONE:
			break;
		}
	}
	return h->cs == C_DONE;
}

/* Body bytes: 1 when the body is complete, 0 for more, -1 when the url
 * failed (h finished). */
static int http_body(struct http_probe *h, const char *b, size_t n)
{
	if (h->clen != UINT64_MAX && h->body + n > h->clen)
		n = (size_t)(h->clen - h->body); /* what follows is not the body */
	h->body += n;
	if (h->body > HTTP_DIGEST_MAX) {
		char why[160];

		snprintf(why, sizeof(why), "body over %u MB on %s", HTTP_DIGEST_MAX >> 20,
			 http_path(h->url));
		http_finish(h, LVS_PROBE_FAIL, why);
		return -1;
	}
	if (h->url->digest)
		EVP_DigestUpdate(h->md, b, n);
	if (h->url->regex && n) {
		if (h->buf_len + n > h->buf_cap) {
			size_t cap = h->buf_cap ? h->buf_cap : 4096;
			char *nb;

			while (cap < h->buf_len + n)
				cap *= 2;
			nb = realloc(h->buf, cap);
			if (!nb) {
				http_fail(h, "%sout of memory on %s", "");
				return -1;
			}
			h->buf = nb;
			h->buf_cap = cap;
		}
		memcpy(h->buf + h->buf_len, b, n);
		h->buf_len += n;
	}
	if (h->chunked)
		return chunk_feed(h, b, n);
	return h->clen != UINT64_MAX && h->body >= h->clen;
}

/* The headers are in h->head[0..end): the status and the framing.  false
 * when the status line is not HTTP's. */
static bool http_parse_head(struct http_probe *h, size_t end)
{
	char *line = h->head, *eol;
	int minor;
	long code;

	h->head[end] = '\0';
	if (sscanf(line, "HTTP/1.%d %3ld", &minor, &code) != 2 || code < 100 || code > 999)
		return false;
	h->status = code;
	while ((eol = strchr(line, '\n'))) {
		line = eol + 1;
		eol = strchr(line, '\n');
		if (eol)
			*eol = '\0'; /* one header line at a time */
		if (!strncasecmp(line, "Content-Length:", 15))
			h->clen = strtoull(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) &&
			 strcasestr(line + 18, "chunked"))
			h->chunked = true;
		if (!eol)
			break;
		*eol = '\n';
	}
	if (h->chunked)
		h->clen = UINT64_MAX;
	return true;
}

/* The url's answer is complete (or ended at EOF): judge it; go on to the
 * next url or end the probe. */
static void http_url_end(struct http_probe *h)
{
	const char *path = http_path(h->url);
	char why[160];
	int rc;

	if (!http_status_ok(h->url, h->status)) {
		snprintf(why, sizeof(why), "HTTP status %ld on %s", h->status, path);
		http_finish(h, LVS_PROBE_FAIL, why);
		return;
	}
	if (h->url->digest) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1] = "";

		EVP_DigestFinal_ex(h->md, md, &mdlen);
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (strcasecmp(hex, h->url->digest)) {
			snprintf(why, sizeof(why), "digest mismatch on %s", path);
			http_finish(h, LVS_PROBE_FAIL, why);
			return;
		}
	}
	if (h->url->regex) {
		int m = re_match(h, why, sizeof(why));

		if (m < 0 || m == h->url->regex_no_match) {
			if (m >= 0)
				snprintf(why, sizeof(why), "regex %s on %s",
					 m ? "matched" : "did not match", path);
			http_finish(h, LVS_PROBE_FAIL, why);
			return;
		}
	}
	h->url = h->url->next;
	if (!h->url) {
		http_finish(h, LVS_PROBE_OK, NULL);
		return;
	}
	rc = http_url_begin(h);
	if (rc) {
		if (!h->why[0])
			snprintf(h->why, sizeof(h->why), "%s", strerror(-rc));
		snprintf(why, sizeof(why), "%s", h->why);
		http_finish(h, LVS_PROBE_FAIL, why);
	}
}

/* Bytes of the answer: 1 when the url is judged (h may be gone), 0 for
 * more. */
static int http_feed(struct http_probe *h, const char *b, size_t n)
{
	if (!h->in_body) {
		size_t take = n < sizeof(h->head) - 1 - h->head_len ? n
								  : sizeof(h->head) - 1 - h->head_len;
		char *end;
		size_t hl;

		memcpy(h->head + h->head_len, b, take);
		h->head_len += take;
		h->head[h->head_len] = '\0';
		end = strstr(h->head, "\r\n\r\n");
		hl = end ? (size_t)(end - h->head) + 4 : 0;
		if (!end && (end = strstr(h->head, "\n\n")))
			hl = (size_t)(end - h->head) + 2;
		if (!hl) {
			if (h->head_len < sizeof(h->head) - 1)
				return 0;
			http_fail(h, "%sresponse headers over 8 KB on %s", "");
			return 1;
		}
		/* what of b went past the headers is body */
		b += take - (h->head_len - hl);
		n -= take - (h->head_len - hl);
		if (!http_parse_head(h, hl)) {
			http_fail(h, "%snot an HTTP answer on %s", "");
			return 1;
		}
		h->in_body = true;
		if (!h->url->digest && !h->url->regex) {
			http_url_end(h); /* the status decides */
			return 1;
		}
		if (h->clen == 0) {
			http_url_end(h); /* an empty body */
			return 1;
		}
	}
	switch (http_body(h, b, n)) {
	case -1:
		return 1;
	case 1:
		http_url_end(h);
		return 1;
	default:
		return 0;
	}
}

/* The connection closed (or failed after the request went out). */
static void http_eof(struct http_probe *h, int err)
{
	if (!h->head_len) {
		if (err)
			http_fail(h, "recv: %s on %s", strerror(err));
		else
			http_fail(h, "%sno data received on %s", "");
	} else if (!h->in_body) {
		http_fail(h, "%sanswer cut short in its headers on %s", "");
	} else {
		http_url_end(h); /* a short body is judged on what came, as keepalived */
	}
}

/* ---- the state machine ---- */

/* One TLS or socket step failed with ret: 1 when it only has to wait
 * (h->want set), else 0. */
static int tls_again(struct http_probe *h, int ret)
{
	switch (SSL_get_error(h->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		http_wait(h, EV_READ);
		return 1;
	case SSL_ERROR_WANT_WRITE:
		http_wait(h, EV_WRITE);
		return 1;
	default:
		return 0;
	}
}

static void http_step(struct http_probe *h)
{
	char buf[16384];

	for (;;) {
		switch (h->st) {
		case H_CONNECT: {
			int err = 0;
			socklen_t len = sizeof(err);

			if (getsockopt(h->s.fd, SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
			if (err) {
				char why[160];

				snprintf(why, sizeof(why), "connect: %s", strerror(err));
				http_finish(h, LVS_PROBE_FAIL, why);
				return;
			}
			h->st = h->tls ? H_TLS : H_SEND;
			if (h->tls) {
				const struct lvs_probe *p = h->p;
				const char *sni = NULL;
				SSL_CTX *ctx = tls_get();

				if (p->cfg->enable_sni)
					sni = p->cfg->sni_name ? p->cfg->sni_name
						: h->url->virtualhost ? h->url->virtualhost
								      : p->virtualhost;
				h->ssl = ctx ? SSL_new(ctx) : NULL;
				if (!h->ssl || !SSL_set_fd(h->ssl, h->s.fd) ||
				    (sni && !SSL_set_tlsext_host_name(h->ssl, sni))) {
					http_fail(h, "%sTLS: out of memory on %s", "");
					return;
				}
				SSL_set_connect_state(h->ssl);
			}
			break;
		}
		case H_TLS: {
			int r;

			ERR_clear_error();
			r = SSL_do_handshake(h->ssl);
			if (r == 1) {
				h->st = H_SEND;
				break;
			}
			if (tls_again(h, r)) {
				return;
			} else {
				const char *e = ERR_reason_error_string(ERR_peek_error());

				http_fail(h, "TLS handshake failed: %s on %s",
					  e ? e : "connection closed");
			}
			return;
		}
		case H_SEND: {
			const char *b = h->req + h->req_off;
			size_t n = h->req_len - h->req_off;
			ssize_t w;

			if (h->ssl) {
				ERR_clear_error();
				w = SSL_write(h->ssl, b, (int)n);
				if (w <= 0) {
					if (tls_again(h, (int)w))
						return;
					http_fail(h, "%sTLS write failed on %s", "");
					return;
				}
			} else {
				w = send(h->s.fd, b, n, MSG_NOSIGNAL);
				if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
					http_wait(h, EV_WRITE);
					return;
				}
				if (w < 0) {
					http_fail(h, "send: %s on %s", strerror(errno));
					return;
				}
			}
			h->req_off += (size_t)w;
			if (h->req_off == h->req_len) {
				h->st = H_RECV;
				http_wait(h, EV_READ);
				return; /* the answer comes later */
			}
			break;
		}
		case H_RECV: {
			ssize_t r;

			if (h->ssl) {
				ERR_clear_error();
				r = SSL_read(h->ssl, buf, sizeof(buf));
				if (r <= 0) {
					int e = SSL_get_error(h->ssl, (int)r);

					if (tls_again(h, (int)r))
						return;
					/* a close, with or without close_notify */
					http_eof(h, e == SSL_ERROR_SYSCALL && errno &&
							    errno != EPIPE && errno != ECONNRESET
						    ? errno : 0);
					return;
				}
			} else {
				r = recv(h->s.fd, buf, sizeof(buf), 0);
				if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
					http_wait(h, EV_READ);
					return;
				}
				if (r <= 0) {
					http_eof(h, r < 0 && errno != ECONNRESET ? errno : 0);
					return;
				}
			}
			if (http_feed(h, buf, (size_t)r))
				return; /* judged: h may be gone, or on its next url */
			break;
		}
		}
	}
}

static void http_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	struct http_probe *h = p->priv;

	(void)fd;
	if (what & h->want)
		http_step(h);
}

/* The deadline, or a failure start found told from the loop. */
static void http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_probe *p = arg;
	struct http_probe *h = p->priv;
	char why[160];

	(void)fd;
	(void)what;
	if (h->why[0]) {
		snprintf(why, sizeof(why), "%s", h->why);
		http_finish(h, LVS_PROBE_FAIL, why);
		return;
	}
	http_fail(h, "%stimeout on %s", "");
}

static int http_start_common(struct lvs_probe *p, bool tls)
{
	struct http_probe *h;
	int rc;

	if (!p->cfg->urls)
		return -EINVAL;
	if (tls && !tls_get())
		return -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s.fd = -1;
	h->p = p;
	h->tls = tls;
	h->url = p->cfg->urls;
	p->priv = h;
	http_live++;
	rc = lvs_probe_watch(p, &h->deadline, -1, 0, http_deadline_cb, p, 0);
	if (!rc)
		rc = http_url_begin(h);
	if (rc && h->why[0]) {
		/* the connection's own failure: told from the loop, never from
		 * inside start */
		http_conn_close(h);
		rc = lvs_probe_watch(p, &h->deadline, -1, 0, http_deadline_cb, p,
				     lvs_probe_now_ns());
	}
	if (rc)
		http_free(p);
	return rc;
}

static int http_start(struct lvs_probe *p)
{
	return http_start_common(p, false);
}

static int ssl_start(struct lvs_probe *p)
{
	return http_start_common(p, true);
}

static void http_cancel(struct lvs_probe *p)
{
	http_free(p);
}

const struct lvs_checker_ops lvs_check_http = {
	.type = KA_CHECK_HTTP,
	.name = "HTTP_GET",
	.start = http_start,
	.cancel = http_cancel,
};

const struct lvs_checker_ops lvs_check_ssl = {
	.type = KA_CHECK_SSL,
	.name = "SSL_GET",
	.start = ssl_start,
	.cancel = http_cancel,
};
