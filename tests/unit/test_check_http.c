/*
 * test_check_http.c - HTTP_GET and SSL_GET (src/check/check_http.c, included
 * to count the probes that hold resources) against small servers run by the test on
 * loopback, a thread each, answering by path:
 *
 *   /ok     200, "hello world\n"        /err    500
 *   /hang   reads the request, never answers
 *   /empty  closes without a word       /big    200 with a 2 MB body
 *   /huge   200 with a 17 MB body       other   404
 *   /chunked  200, "hello world\n" in two chunks (HTTP/1.1)
 *   /a%20b  200 (the path as the client wrote it)
 *
 * Each server records the last request it read, the peer and (TLS) the
 * server name the client sent.  The TLS server's certificate is made at
 * start with OpenSSL.  Probes run on a libevent base driven by the test
 * until they report.
 */
#include "test_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_http.c"

/* ---- the test servers ---- */

#define SRV_MAX_HUNG 256

struct srv {
	uint8_t af;
	int lfd;
	int stop[2];
	uint16_t port;
	SSL_CTX *ctx; /* TLS when set */
	pthread_t th;
	pthread_mutex_t mu;
	unsigned nreq;
	char last_req[2048];
	char last_sni[256];
	char last_peer[INET6_ADDRSTRLEN];
	int hung[SRV_MAX_HUNG];
	unsigned nhung;
};

static SSL_CTX *srv_tls_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(ctx);
	assert_non_null(key);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"lvsd-test", -1,
	                           -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static void srv_send(SSL *ssl, int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t w = ssl ? SSL_write(ssl, b, (int)len) : send(fd, b, len, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client went away: fine */
		b += w;
		len -= (size_t)w;
	}
}

static void srv_send_body(SSL *ssl, int fd, size_t len)
{
	char hdr[128], chunk[65536];

	memset(chunk, 'x', sizeof(chunk));
	snprintf(hdr, sizeof(hdr), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	srv_send(ssl, fd, hdr, strlen(hdr));
	while (len) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);
		srv_send(ssl, fd, chunk, n);
		len -= n;
	}
}

static void srv_conn(struct srv *s, int fd)
{
	struct timeval tv = {.tv_sec = 5};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char req[2048], path[256] = "";
	size_t len = 0;
	SSL *ssl = NULL;
	bool hang = false;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s->ctx) {
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
	}
	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		ssize_t r = ssl ? SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len))
		                : recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			goto out;
		len += (size_t)r;
	}
	req[len] = 0;
	sscanf(req, "GET %255s", path);

	pthread_mutex_lock(&s->mu);
	s->nreq++;
	snprintf(s->last_req, sizeof(s->last_req), "%s", req);
	s->last_sni[0] = 0;
	if (ssl && SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
		snprintf(s->last_sni, sizeof(s->last_sni), "%s",
		         SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	inet_ntop(ss.ss_family,
	          ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
	                                   : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
	          s->last_peer, sizeof(s->last_peer));
	if (!strcmp(path, "/hang") && s->nhung < SRV_MAX_HUNG) {
		s->hung[s->nhung++] = fd;
		hang = true;
	}
	pthread_mutex_unlock(&s->mu);

	if (hang) {
		SSL_free(ssl);
		return;
	}
	if (!strcmp(path, "/ok")) {
		const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n";
		srv_send(ssl, fd, r, strlen(r));
	} else if (!strcmp(path, "/err")) {
		const char *r =
		        "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n";
		srv_send(ssl, fd, r, strlen(r));
	} else if (!strcmp(path, "/chunked")) {
		const char *r =
		        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		        "6\r\nhello \r\n6\r\nworld\n\r\n0\r\n\r\n";
		srv_send(ssl, fd, r, strlen(r));
	} else if (!strcmp(path, "/a%20b")) {
		const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
		srv_send(ssl, fd, r, strlen(r));
	} else if (!strcmp(path, "/big")) {
		srv_send_body(ssl, fd, 2u << 20);
	} else if (!strcmp(path, "/huge")) {
		srv_send_body(ssl, fd, 17u << 20);
	} else if (strcmp(path, "/empty")) {
		const char *r = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		srv_send(ssl, fd, r, strlen(r));
	}
	if (ssl)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN},
		                       {.fd = s->stop[0], .events = POLLIN}};
		int fd;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd >= 0)
			srv_conn(s, fd);
	}
	return NULL;
}

static struct srv *srv_start(uint8_t af, bool tls)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;

	assert_non_null(s);
	s->af = af;
	pthread_mutex_init(&s->mu, NULL);
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	s->lfd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	if (bind(s->lfd, (struct sockaddr *)&ss, sl)) {
		close(s->lfd);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL; /* no IPv6 loopback here */
	}
	assert_int_equal(listen(s->lfd, 128), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&ss, &sl), 0);
	s->port = ntohs(af == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                               : ((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(pipe(s->stop), 0);
	if (tls)
		s->ctx = srv_tls_ctx();
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(struct srv *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	for (unsigned i = 0; i < s->nhung; i++)
		close(s->hung[i]);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- probes ---- */

struct fx {
	struct event_base *base;
	struct srv *srv, *tls;
	unsigned ndone, want;
};

struct run {
	struct lvs_probe p;
	struct ka_checker cfg;
	struct ka_url url[4];
	struct fx *x;
	unsigned ndone;
	enum lvs_probe_result r;
	char why[160];
	uint64_t took_ms;
	uint64_t t0;
};

static void on_done(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight, const char *why)
{
	struct run *u = p->done_arg;

	assert_int_equal(weight, -1);
	assert_null(p->priv);
	u->ndone++;
	u->r = r;
	snprintf(u->why, sizeof(u->why), "%s", why ? why : "");
	u->took_ms = (lvs_probe_now_ns() - u->t0) / 1000000;
	if (++u->x->ndone >= u->x->want)
		event_base_loopbreak(u->x->base);
}

/* A run toward the IPv4 test server (tls: the TLS one), with urls paths
 * (NULL-terminated, at most 4), budget ms. */
static void run_init(struct run *u, struct fx *x, bool tls, const char *const *paths, unsigned ms)
{
	struct srv *s = tls ? x->tls : x->srv;

	memset(u, 0, sizeof(*u));
	u->x = x;
	u->cfg.type = tls ? KA_CHECK_SSL : KA_CHECK_HTTP;
	for (unsigned i = 0; paths[i] && i < 4; i++) {
		u->url[i].path = (char *)paths[i];
		if (i)
			u->url[i - 1].next = &u->url[i];
	}
	u->cfg.urls = &u->url[0];
	u->p.base = x->base;
	u->p.cfg = &u->cfg;
	u->p.af = AF_INET;
	u->p.addr = t_ip4("127.0.0.1");
	u->p.port = s->port;
	u->p.timeout_us = (uint64_t)ms * 1000;
	u->p.name = tls ? "SSL_GET test" : "HTTP_GET test";
	u->p.done = on_done;
	u->p.done_arg = u;
}

static int run_start(struct run *u)
{
	const struct lvs_checker_ops *ops =
	        u->cfg.type == KA_CHECK_SSL ? &lvs_check_ssl : &lvs_check_http;

	u->t0 = lvs_probe_now_ns();
	u->p.deadline_ns = u->t0 + u->p.timeout_us * 1000;
	return ops->start(&u->p);
}

static void fx_giveup(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Drive the loop until want verdicts came in (or 20 s went by). */
static void fx_loop(struct fx *x, unsigned want)
{
	struct timeval tv = {.tv_sec = 20};
	struct event *t = evtimer_new(x->base, fx_giveup, x->base);

	assert_non_null(t);
	x->want = want;
	evtimer_add(t, &tv);
	if (x->ndone < x->want)
		event_base_loop(x->base, 0);
	event_free(t);
}

/* No probe holds anything. */
static void assert_no_probes(void)
{
	assert_int_equal(http_live, 0);
}

/* One probe, run to its verdict. */
static void run1(struct fx *x, struct run *u)
{
	unsigned before = x->ndone;

	assert_int_equal(run_start(u), 0);
	assert_int_equal(u->ndone, 0); /* never from inside start */
	fx_loop(x, before + 1);
	assert_int_equal(u->ndone, 1);
	assert_no_probes(); /* the probe let go of everything */
}

/* One probe, with the verdict and (why non-NULL) reason expected. */
static void run_expect(struct fx *x, struct run *u, enum lvs_probe_result r, const char *why)
{
	run1(x, u);
	assert_int_equal(u->r, r);
	if (why)
		assert_string_equal(u->why, why);
}

static int fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->base = event_base_new();
	assert_non_null(x->base);
	x->srv = srv_start(AF_INET, false);
	x->tls = srv_start(AF_INET, true);
	*state = x;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	srv_stop(x->srv);
	srv_stop(x->tls);
	assert_no_probes();
	event_base_free(x->base);
	free(x);
	return 0;
}

#define PATHS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A copy of what the server recorded in field (one of its last_*). */
static void srv_read(struct srv *s, const char *field, char *out, size_t len)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, len, "%s", field);
	pthread_mutex_unlock(&s->mu);
}

static void srv_last(struct srv *s, char *req, size_t len)
{
	srv_read(s, s->last_req, req, len);
}

static unsigned srv_nreq(struct srv *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- tests ---- */

static void test_ok(void **state)
{
	struct fx *x = *state;
	struct run u;
	char req[2048], host[64];

	run_init(&u, x, false, PATHS("/ok"), 2000);
	run_expect(x, &u, LVS_PROBE_OK, NULL);
	srv_last(x->srv, req, sizeof(req));
	/* keepalived's request: HTTP/1.0 by default, no Connection header,
	 * its User-Agent, Host the address and port */
	assert_non_null(strstr(req, "GET /ok HTTP/1.0\r\n"));
	assert_non_null(strstr(req, "User-Agent: KeepAliveClient\r\n"));
	assert_null(strstr(req, "Connection:"));
	snprintf(host, sizeof(host), "Host: 127.0.0.1:%u\r\n", x->srv->port);
	assert_non_null(strstr(req, host));
}

static void test_status_500(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/err"), 2000);
	run_expect(x, &u, LVS_PROBE_FAIL, "HTTP status 500 on /err");

	/* a status_code range that takes it */
	run_init(&u, x, false, PATHS("/err"), 2000);
	u.url[0].nstatus = 2;
	u.url[0].status[0] = (struct ka_status_range){200, 200};
	u.url[0].status[1] = (struct ka_status_range){500, 503};
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* and one that does not take a 200 */
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].nstatus = 1;
	u.url[0].status[0] = (struct ka_status_range){301, 302};
	run_expect(x, &u, LVS_PROBE_FAIL, "HTTP status 200 on /ok");
}

static void test_hang_times_out(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/hang"), 300);
	run_expect(x, &u, LVS_PROBE_FAIL, "timeout on /hang");
	assert_true(u.took_ms >= 250);
	assert_true(u.took_ms < 2000);
}

static void test_refused(void **state)
{
	struct fx *x = *state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct run u;

	/* a bound port that does not listen refuses, and stays ours */
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.p.port = ntohs(a.sin_port);
	run1(x, &u);
	close(fd);
	assert_int_equal(u.r, LVS_PROBE_FAIL);
	assert_string_equal(u.why, "connect: Connection refused");
}

static void test_empty_reply(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/empty"), 2000);
	run_expect(x, &u, LVS_PROBE_FAIL, "no data received on /empty");
}

static void test_digest(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].digest = "6f5902ac237024bdd0c176cb93063dc4"; /* md5("hello world\n") */
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].digest = "00000000000000000000000000000000";
	run_expect(x, &u, LVS_PROBE_FAIL, "digest mismatch on /ok");
}

/* A chunked body is digested as keepalived digests it: as sent, chunk
 * lines and all. */
/* regex against the body: a match, none, regex_no_match, options and the
 * offsets a match may start at */
static void test_regex(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/ok"), 2000); /* "hello world\n" */
	u.url[0].regex = "wor.d$";
	u.url[0].regex_options = PCRE2_MULTILINE;
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "^goodbye";
	run_expect(x, &u, LVS_PROBE_FAIL, "regex did not match on /ok");

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "hello";
	u.url[0].regex_no_match = true;
	run_expect(x, &u, LVS_PROBE_FAIL, "regex matched on /ok");

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "error";
	u.url[0].regex_no_match = true;
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "HELLO";
	run_expect(x, &u, LVS_PROBE_FAIL, "regex did not match on /ok");
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "HELLO";
	u.url[0].regex_options = PCRE2_CASELESS;
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* "world" starts at offset 6 */
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "world";
	u.url[0].regex_min_offset = 7;
	run_expect(x, &u, LVS_PROBE_FAIL, "regex did not match on /ok");
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "world";
	u.url[0].regex_min_offset = 6;
	u.url[0].regex_max_offset = 6; /* up to offset 5 */
	run_expect(x, &u, LVS_PROBE_FAIL, "regex did not match on /ok");
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.url[0].regex = "world";
	u.url[0].regex_max_offset = 7; /* up to offset 6 */
	u.url[0].regex_stack_start = 32768;
	u.url[0].regex_stack_max = 65536;
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* a chunked body is matched as sent, and beside a digest */
	run_init(&u, x, false, PATHS("/chunked"), 2000);
	u.cfg.http_protocol = "1.1";
	u.url[0].regex = "^6\r\nhello \r\n";
	u.url[0].digest = "6a21bf6b71bc0e7d193aacbcda31e7d2";
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* an empty body: nothing matches */
	run_init(&u, x, false, PATHS("/a%20b"), 2000);
	u.url[0].regex = ".";
	run_expect(x, &u, LVS_PROBE_FAIL, "regex did not match on /a%20b");
}

static void test_digest_chunked(void **state)
{
	struct fx *x = *state;
	struct run u;

	run_init(&u, x, false, PATHS("/chunked"), 2000);
	u.cfg.http_protocol = "1.1";
	/* md5 of "6\r\nhello \r\n6\r\nworld\n\r\n0\r\n\r\n" */
	u.url[0].digest = "6a21bf6b71bc0e7d193aacbcda31e7d2";
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* the path goes out as written */
	run_init(&u, x, false, PATHS("/a%20b"), 2000);
	run_expect(x, &u, LVS_PROBE_OK, NULL);
}

static void test_body_limits(void **state)
{
	struct fx *x = *state;
	struct run u;

	/* a large body no digest needs: read no further, judge the status */
	run_init(&u, x, false, PATHS("/big"), 5000);
	run_expect(x, &u, LVS_PROBE_OK, NULL);

	/* a digest over more than the cap */
	run_init(&u, x, false, PATHS("/huge"), 10000);
	u.url[0].digest = "00000000000000000000000000000000";
	run_expect(x, &u, LVS_PROBE_FAIL, "body over 16 MB on /huge");
}

static void test_urls_in_order(void **state)
{
	struct fx *x = *state;
	struct run u;
	unsigned n0, n1;
	char req[2048];

	n0 = srv_nreq(x->srv);
	run_init(&u, x, false, PATHS("/ok", "/err", "/ok"), 2000);
	run_expect(x, &u, LVS_PROBE_FAIL, "HTTP status 500 on /err");
	n1 = srv_nreq(x->srv);
	assert_int_equal(n1 - n0, 2); /* the third url is not asked */
	srv_last(x->srv, req, sizeof(req));
	assert_non_null(strstr(req, "GET /err "));

	run_init(&u, x, false, PATHS("/ok", "/ok", "/ok"), 2000);
	run_expect(x, &u, LVS_PROBE_OK, NULL);
}

static void test_virtualhost_and_protocol(void **state)
{
	struct fx *x = *state;
	struct run u;
	char req[2048];

	/* the probe's virtualhost; HTTP/1.1 closes the connection */
	run_init(&u, x, false, PATHS("/ok", "/ok"), 2000);
	u.p.virtualhost = "www.example.test";
	u.url[1].virtualhost = "url.example.test";
	u.cfg.http_protocol = "1.1";
	assert_int_equal(run_start(&u), 0);
	fx_loop(x, x->ndone + 1);
	assert_int_equal(u.r, LVS_PROBE_OK);
	/* the last request was the second url's: its own virtualhost */
	srv_last(x->srv, req, sizeof(req));
	assert_non_null(strstr(req, "GET /ok HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "Host: url.example.test\r\n"));
	assert_non_null(strstr(req, "Connection: close\r\n"));

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.p.virtualhost = "www.example.test";
	u.cfg.http_protocol = "1.0C";
	run_expect(x, &u, LVS_PROBE_OK, NULL);
	srv_last(x->srv, req, sizeof(req));
	assert_non_null(strstr(req, "GET /ok HTTP/1.0\r\n"));
	assert_non_null(strstr(req, "Host: www.example.test\r\n"));
	assert_non_null(strstr(req, "Connection: close\r\n"));
}

static void test_bindto(void **state)
{
	struct fx *x = *state;
	struct run u;
	char peer[INET6_ADDRSTRLEN];

	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.p.bindto.af = AF_INET;
	u.p.bindto.a = t_ip4("127.0.0.2");
	run_expect(x, &u, LVS_PROBE_OK, NULL);
	srv_read(x->srv, x->srv->last_peer, peer, sizeof(peer));
	assert_string_equal(peer, "127.0.0.2");

	/* a source of the other family cannot reach the target */
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.p.bindto.af = AF_INET6;
	assert_int_equal(run_start(&u), -EAFNOSUPPORT);
	assert_no_probes();
}

static void test_ipv6(void **state)
{
	struct fx *x = *state;
	struct srv *s6 = srv_start(AF_INET6, false);
	struct run u;
	char req[2048], host[64];

	if (!s6)
		skip();
	run_init(&u, x, false, PATHS("/ok"), 2000);
	u.p.af = AF_INET6;
	u.p.addr = t_ip6("::1");
	u.p.port = s6->port;
	run1(x, &u);
	srv_last(s6, req, sizeof(req));
	srv_stop(s6);
	assert_int_equal(u.r, LVS_PROBE_OK);
	snprintf(host, sizeof(host), "Host: [::1]:%u\r\n", u.p.port);
	assert_non_null(strstr(req, host));
}

static void test_ssl(void **state)
{
	struct fx *x = *state;
	struct run u;
	char sni[256];

	/* a self-signed certificate is taken; no SNI unless asked */
	run_init(&u, x, true, PATHS("/ok"), 3000);
	u.url[0].digest = "6f5902ac237024bdd0c176cb93063dc4";
	u.p.virtualhost = "www.example.test";
	run_expect(x, &u, LVS_PROBE_OK, NULL);
	srv_read(x->tls, x->tls->last_sni, sni, sizeof(sni));
	assert_string_equal(sni, "");

	/* enable_sni: the virtualhost, or sni_name */
	run_init(&u, x, true, PATHS("/ok"), 3000);
	u.p.virtualhost = "www.example.test";
	u.cfg.enable_sni = true;
	run_expect(x, &u, LVS_PROBE_OK, NULL);
	srv_read(x->tls, x->tls->last_sni, sni, sizeof(sni));
	assert_string_equal(sni, "www.example.test");

	run_init(&u, x, true, PATHS("/err"), 3000);
	u.cfg.enable_sni = true;
	u.cfg.sni_name = "sni.example.test";
	run_expect(x, &u, LVS_PROBE_FAIL, "HTTP status 500 on /err");
	srv_read(x->tls, x->tls->last_sni, sni, sizeof(sni));
	assert_string_equal(sni, "sni.example.test");

	/* plain HTTP against the TLS server fails */
	run_init(&u, x, false, PATHS("/ok"), 1000);
	u.p.port = x->tls->port;
	run_expect(x, &u, LVS_PROBE_FAIL, NULL);
}

static void test_cancel_hung(void **state)
{
	struct fx *x = *state;
	struct run u[3];
	struct timeval tv = {.tv_usec = 200000};

	run_init(&u[0], x, false, PATHS("/hang"), 5000);
	run_init(&u[1], x, false, PATHS("/ok", "/hang"), 5000);
	run_init(&u[2], x, true, PATHS("/hang"), 5000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(run_start(&u[i]), 0);
	event_base_loopexit(x->base, &tv);
	event_base_loop(x->base, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(u[i].ndone, 0);
		assert_int_equal(http_live, 3 - (unsigned)i);
		lvs_check_http.cancel(&u[i].p);
		assert_null(u[i].p.priv);
	}
	assert_no_probes();
	/* nothing of theirs is left on the loop */
	tv.tv_usec = 100000;
	event_base_loopexit(x->base, &tv);
	event_base_loop(x->base, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(u[i].ndone, 0);
}

/* A verdict may cancel another probe of the same loop, and start one. */
static struct run *chain_victim, *chain_next;
static void on_done_chain(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight,
                          const char *why)
{
	on_done(p, r, weight, why);
	if (chain_victim) {
		lvs_check_http.cancel(&chain_victim->p);
		chain_victim = NULL;
		assert_int_equal(run_start(chain_next), 0);
	}
}

static void test_cancel_and_start_from_verdict(void **state)
{
	struct fx *x = *state;
	struct run a, b, c;

	run_init(&a, x, false, PATHS("/ok"), 2000);
	run_init(&b, x, false, PATHS("/hang"), 5000);
	run_init(&c, x, false, PATHS("/ok"), 2000);
	a.p.done = on_done_chain;
	chain_victim = &b;
	chain_next = &c;
	assert_int_equal(run_start(&b), 0);
	assert_int_equal(run_start(&a), 0);
	fx_loop(x, x->ndone + 2);
	assert_int_equal(a.ndone, 1);
	assert_int_equal(b.ndone, 0);
	assert_int_equal(c.ndone, 1);
	assert_int_equal(c.r, LVS_PROBE_OK);
	assert_no_probes();
}

static void test_50_concurrent(void **state)
{
	struct fx *x = *state;
	enum { N = 50 };
	struct run *u = calloc(N, sizeof(*u));
	unsigned ok = 0;

	assert_non_null(u);
	for (int i = 0; i < N; i++) {
		run_init(&u[i], x, i % 5 == 4, i % 7 == 3 ? PATHS("/err") : PATHS("/ok", "/ok"),
		         10000);
		assert_int_equal(run_start(&u[i]), 0);
	}
	fx_loop(x, x->ndone + N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(u[i].ndone, 1);
		if (u[i].r == LVS_PROBE_OK)
			ok++;
		else
			assert_string_equal(u[i].why, "HTTP status 500 on /err");
	}
	assert_int_equal(ok, N - 7); /* i = 3, 10, ..., 45 ask /err */
	assert_no_probes();
	free(u);
}

static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(lvs_checker_find(KA_CHECK_HTTP), &lvs_check_http);
	assert_ptr_equal(lvs_checker_find(KA_CHECK_SSL), &lvs_check_ssl);
	assert_string_equal(lvs_check_ssl.name, "SSL_GET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ok, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_status_500, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_hang_times_out, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_refused, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_empty_reply, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_digest, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_digest_chunked, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_regex, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_body_limits, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_urls_in_order, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_virtualhost_and_protocol, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_bindto, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_ssl, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_hung, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_and_start_from_verdict, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_50_concurrent, fx_setup, fx_teardown),
	        cmocka_unit_test(test_registry),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
