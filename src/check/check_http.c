/*
 * check_http.c - HTTP_GET and SSL_GET (keepalived's check_http.c and
 * check_ssl.c): a probe fetches every url block of the checker in order,
 * each over a connection of its own, and passes when each answer has a
 * status in the url's status_code ranges (200-299 by default) and, when
 * the url has a digest, a body whose MD5 matches it.  The first url that
 * fails ends the probe with the reason.
 *
 * The request is keepalived's: "GET <path> HTTP/1.x", User-Agent
 * KeepAliveClient, Host: the url's virtualhost, else the probe's, else
 * "<address>:<port>"; http_protocol 1.0 (the default) sends no Connection
 * header, 1.0C and 1.1 send "Connection: close" (1.0K, not keepalived's,
 * sends "Connection: keep-alive").  SSL_GET does not verify the server's
 * certificate, as keepalived does not; with enable_sni it sends sni_name,
 * else the virtualhost, as the server name.
 *
 * The transfers run on libcurl's multi interface, driven by the probe's
 * libevent base: one multi handle per event_base, shared by every probe of
 * both checkers on it, created with the first probe and freed with the
 * last.  curl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
 * when to wake it (CURLMOPT_TIMERFUNCTION); the events call
 * curl_multi_socket_action and then collect finished transfers.  Targets
 * are addresses, so no name is ever resolved: the URL holds the address,
 * or, when a server name must go out in SNI, the name with CURLOPT_CONNECT_TO
 * pointing it at the address.  A probe's verdict is given only from those
 * event callbacks, never from inside start.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "checker.h"

/* Without a digest the body is read and dropped up to this much, then
 * the transfer stops and the status alone decides; with a digest the
 * whole body is needed, and one beyond HTTP_DIGEST_MAX fails the url. */
#define HTTP_BODY_SKIP_MAX (1u << 20)
#define HTTP_DIGEST_MAX    (16u << 20)

/* One multi handle per event_base. */
struct http_loop {
	struct http_loop *next;
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	unsigned nprobes;
	unsigned busy; /* inside http_loop_run: freeing is left to it */
};

/* The event of one socket curl asked us to watch. */
struct http_sock {
	struct http_loop *loop;
	struct event *ev;
};

struct http_probe {
	struct lvs_probe *p;
	struct http_loop *loop;
	CURL *easy;
	bool added; /* easy is in loop->multi */
	bool tls;
	const struct ka_url *url;
	struct curl_slist *hdrs;
	struct curl_slist *connect_to;
	EVP_MD_CTX *md; /* for a url with a digest */
	size_t body;    /* bytes of this url's body seen */
	bool skipped;   /* stopped reading a body nobody needs */
	bool too_big;   /* a digest's body beyond HTTP_DIGEST_MAX */
	char err[CURL_ERROR_SIZE];
};

static struct http_loop *http_loops;

static void http_loop_run(struct http_loop *l, curl_socket_t s, int ev_bitmask);

/* ---- curl on libevent ---- */

static void http_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock *hs = arg;
	int flags =
	        (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	http_loop_run(hs->loop, fd, flags);
}

static void http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_loop_run(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, or stop. */
static int http_curl_sock(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_loop *l = userp;
	struct http_sock *hs = socketp;
	short evs;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs) {
			event_free(hs->ev);
			free(hs);
			curl_multi_assign(l->multi, s, NULL);
		}
		return 0;
	}
	evs = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	      (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!hs) {
		hs = calloc(1, sizeof(*hs));
		if (!hs)
			return -1;
		hs->loop = l;
		curl_multi_assign(l->multi, s, hs);
	} else {
		event_free(hs->ev);
	}
	hs->ev = event_new(l->base, s, evs, http_sock_cb, hs);
	if (!hs->ev || event_add(hs->ev, NULL)) {
		if (hs->ev)
			event_free(hs->ev);
		free(hs);
		curl_multi_assign(l->multi, s, NULL);
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 means "as soon as possible"
 * (run from the loop, as curl must not be re-entered from here). */
static int http_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_loop *l = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(l->timer);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(l->timer, &tv);
}

static void http_loop_free(struct http_loop *l)
{
	for (struct http_loop **pp = &http_loops; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	curl_multi_cleanup(l->multi);
	event_free(l->timer);
	free(l);
}

static void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The base's loop, created on first use; NULL when out of memory. */
static struct http_loop *http_loop_get(struct event_base *base)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct http_loop *l;

	for (l = http_loops; l; l = l->next)
		if (l->base == base)
			return l;
	pthread_once(&once, http_global_init);
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->base = base;
	l->multi = curl_multi_init();
	l->timer = evtimer_new(base, http_timer_cb, l);
	if (!l->multi || !l->timer) {
		if (l->multi)
			curl_multi_cleanup(l->multi);
		if (l->timer)
			event_free(l->timer);
		free(l);
		return NULL;
	}
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, http_curl_sock);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, http_curl_timer);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	l->next = http_loops;
	http_loops = l;
	return l;
}

/* A probe leaves its loop; the loop goes with its last probe, unless it is
 * running (http_loop_run frees it on the way out). */
static void http_loop_put(struct http_loop *l)
{
	if (--l->nprobes == 0 && !l->busy)
		http_loop_free(l);
}

/* ---- one probe ---- */

static void http_probe_free(struct lvs_probe *p)
{
	struct http_probe *h = p->priv;

	if (!h)
		return;
	if (h->added)
		curl_multi_remove_handle(h->loop->multi, h->easy);
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	EVP_MD_CTX_free(h->md);
	http_loop_put(h->loop);
	free(h);
	p->priv = NULL;
}

static void http_finish(struct lvs_probe *p, enum lvs_probe_result r, const char *why)
{
	http_probe_free(p);
	p->done(p, r, -1, why);
}

static size_t http_write(char *data, size_t size, size_t n, void *arg)
{
	struct http_probe *h = arg;

	n *= size;
	h->body += n;
	if (!h->url->digest) {
		if (h->body <= HTTP_BODY_SKIP_MAX)
			return n;
		h->skipped = true;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	if (h->body > HTTP_DIGEST_MAX) {
		h->too_big = true;
		return 0;
	}
	EVP_DigestUpdate(h->md, data, n);
	return n;
}

/* CURLOPT_SOCKOPTFUNCTION: the probe's fwmark and interface, and the
 * address reuse a fixed bind_port needs (check_util.c binds alike). */
static int http_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	const struct lvs_probe *p = arg;
	int one = 1;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKOPT_OK;
	if (p->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &p->fwmark, sizeof(p->fwmark)))
		return CURL_SOCKOPT_ERROR;
	if (p->bind_if &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->bind_if, (socklen_t)strlen(p->bind_if)))
		return CURL_SOCKOPT_ERROR;
	if (p->bind_port)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return CURL_SOCKOPT_OK;
}

static bool http_status_ok(const struct ka_url *u, long code)
{
	if (!u->nstatus)
		return code >= 200 && code <= 299;
	for (unsigned i = 0; i < u->nstatus; i++)
		if (code >= u->status[i].lo && code <= u->status[i].hi)
			return true;
	return false;
}

static const char *http_path(const struct ka_url *u)
{
	return u->path && *u->path ? u->path : "/";
}

/* Options that stay for every url of the probe; 0 or -errno. */
static int http_setup(struct http_probe *h)
{
	const struct lvs_probe *p = h->p;
	CURL *e = h->easy;
	char a[INET6_ADDRSTRLEN + 8];
	int rc = 0;

	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->err);
	rc |= curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	/* no DNS cache: targets are addresses, and curl walks its whole
	 * cache on every transfer, which with thousands of targets costs more
	 * than the probe */
	rc |= curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "KeepAliveClient");
	/* keepalived digests the body as it comes: a chunked one with its
	 * chunk lines, so curl passes it on undecoded */
	rc |= curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	rc |= curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, http_sockopt);
	rc |= curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, p);
	if (h->tls) {
		rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (p->cfg->http_protocol && !strncmp(p->cfg->http_protocol, "1.1", 3))
		rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	else
		rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_0);
	if (p->bindto.af != AF_UNSPEC) {
		if (p->bindto.af != p->af)
			return -EAFNOSUPPORT;
		strcpy(a, "host!");
		inet_ntop(p->bindto.af, &p->bindto.a, a + 5, sizeof(a) - 5);
		rc |= curl_easy_setopt(e, CURLOPT_INTERFACE, a);
	}
	if (p->bind_port)
		rc |= curl_easy_setopt(e, CURLOPT_LOCALPORT, (long)p->bind_port);
	return rc ? -EINVAL : 0;
}

static int http_add_header(struct http_probe *h, const char *fmt, const char *arg)
{
	char line[512];
	struct curl_slist *l;

	snprintf(line, sizeof(line), fmt, arg);
	l = curl_slist_append(h->hdrs, line);
	if (!l)
		return -ENOMEM;
	h->hdrs = l;
	return 0;
}

/* Start the transfer of h->url; 0 or -errno. */
static int http_url_start(struct http_probe *h)
{
	const struct lvs_probe *p = h->p;
	const struct ka_url *u = h->url;
	const char *proto = p->cfg->http_protocol ? p->cfg->http_protocol : "1.0";
	const char *vhost = u->virtualhost ? u->virtualhost : p->virtualhost;
	const char *sni = NULL;
	const char *scheme = h->tls ? "https" : "http";
	char addr[INET6_ADDRSTRLEN + 2], target[INET6_ADDRSTRLEN + 8], host[300];
	char *url;
	long ms = (long)(lvs_probe_left_us(p) / 1000);
	int rc = 0;

	if (h->tls && p->cfg->enable_sni)
		sni = p->cfg->sni_name ? p->cfg->sni_name : vhost;
	if (p->af == AF_INET6) {
		addr[0] = '[';
		inet_ntop(AF_INET6, &p->addr, addr + 1, INET6_ADDRSTRLEN);
		strcat(addr, "]");
	} else {
		inet_ntop(AF_INET, &p->addr, addr, sizeof(addr));
	}
	snprintf(target, sizeof(target), "%s:%u", addr, p->port);

	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	h->hdrs = h->connect_to = NULL;
	snprintf(host, sizeof(host), "%s", vhost ? vhost : target);
	if (http_add_header(h, "Host: %s", host) || http_add_header(h, "Accept:%s", ""))
		return -ENOMEM;
	if (!strcasecmp(proto, "1.1") || !strcasecmp(proto, "1.0C"))
		rc = http_add_header(h, "Connection: %s", "close");
	else if (!strcasecmp(proto, "1.0K"))
		rc = http_add_header(h, "Connection: %s", "keep-alive");
	if (rc)
		return rc;

	/* The server name goes out only from the URL's host: with SNI the URL
	 * names it and CONNECT_TO sends the connection to the address.  The
	 * path goes out as written, as keepalived sends it. */
	if (asprintf(&url, "%s://%s:%u/", scheme, sni ? sni : addr, p->port) < 0)
		return -ENOMEM;
	if (sni) {
		char ct[INET6_ADDRSTRLEN + 16];

		snprintf(ct, sizeof(ct), "::%s:%u", addr, p->port);
		h->connect_to = curl_slist_append(NULL, ct);
		if (!h->connect_to) {
			free(url);
			return -ENOMEM;
		}
	}
	if (u->digest) {
		if (!h->md && !(h->md = EVP_MD_CTX_new()))
			rc = -ENOMEM;
		else if (!EVP_DigestInit_ex(h->md, EVP_md5(), NULL))
			rc = -EINVAL;
	}
	h->body = 0;
	h->skipped = h->too_big = false;
	h->err[0] = 0;
	if (ms < 1)
		ms = 1;
	rc = rc ? rc : curl_easy_setopt(h->easy, CURLOPT_URL, url) ? -EINVAL : 0;
	free(url);
	if (!rc && (curl_easy_setopt(h->easy, CURLOPT_REQUEST_TARGET, http_path(u)) ||
	            curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->hdrs) ||
	            curl_easy_setopt(h->easy, CURLOPT_CONNECT_TO, h->connect_to) ||
	            curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, ms) ||
	            curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, ms)))
		rc = -EINVAL;
	if (rc)
		return rc;
	if (curl_multi_add_handle(h->loop->multi, h->easy))
		return -ENOMEM;
	h->added = true;
	return 0;
}

/* The transfer of h->url ended with res: judge it, then go on to the
 * next url or end the probe. */
static void http_url_done(struct http_probe *h, CURLcode res)
{
	struct lvs_probe *p = h->p;
	const char *path = http_path(h->url);
	char why[160];
	long code = 0;
	int rc;

	curl_multi_remove_handle(h->loop->multi, h->easy);
	h->added = false;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);

	if (h->too_big) {
		snprintf(why, sizeof(why), "body over %u MB on %s", HTTP_DIGEST_MAX >> 20, path);
		goto fail;
	}
	/* a short body (CURLE_PARTIAL_FILE) is judged on what came, as
	 * keepalived does; a body no one needs was cut on purpose */
	if (res != CURLE_OK && res != CURLE_PARTIAL_FILE &&
	    !(res == CURLE_WRITE_ERROR && h->skipped)) {
		long oserr = 0;

		curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
		if (res == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why), "timeout on %s", path);
		else if (res == CURLE_COULDNT_CONNECT && oserr)
			snprintf(why, sizeof(why), "connect: %s", strerror((int)oserr));
		else if (res == CURLE_GOT_NOTHING)
			snprintf(why, sizeof(why), "no data received on %s", path);
		else
			snprintf(why, sizeof(why), "%.100s on %s",
			         h->err[0] ? h->err : curl_easy_strerror(res), path);
		goto fail;
	}
	if (!http_status_ok(h->url, code)) {
		snprintf(why, sizeof(why), "HTTP status %ld on %s", code, path);
		goto fail;
	}
	if (h->url->digest) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];

		EVP_DigestFinal_ex(h->md, md, &mdlen);
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (strcmp(hex, h->url->digest)) {
			snprintf(why, sizeof(why), "digest mismatch on %s", path);
			goto fail;
		}
	}
	h->url = h->url->next;
	if (!h->url) {
		http_finish(p, LVS_PROBE_OK, NULL);
		return;
	}
	rc = http_url_start(h);
	if (!rc)
		return;
	snprintf(why, sizeof(why), "%s", strerror(-rc));
fail:
	http_finish(p, LVS_PROBE_FAIL, why);
}

/* Let curl act on s (or its timers), then judge the transfers that ended.
 * The verdicts may start and cancel probes on this loop: it stays until
 * the last of them is judged. */
static void http_loop_run(struct http_loop *l, curl_socket_t s, int ev_bitmask)
{
	int running;
	int left;
	CURLMsg *m;

	l->busy++;
	curl_multi_socket_action(l->multi, s, ev_bitmask, &running);
	while ((m = curl_multi_info_read(l->multi, &left))) {
		struct http_probe *h = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		if (h)
			http_url_done(h, m->data.result);
	}
	if (--l->busy == 0 && l->nprobes == 0)
		http_loop_free(l);
}

static int http_start_common(struct lvs_probe *p, bool tls)
{
	struct http_probe *h;
	int rc;

	if (!p->cfg->urls)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->p = p;
	h->tls = tls;
	h->url = p->cfg->urls;
	h->loop = http_loop_get(p->base);
	if (!h->loop) {
		free(h);
		return -ENOMEM;
	}
	h->loop->nprobes++;
	p->priv = h;
	h->easy = curl_easy_init();
	rc = h->easy ? http_setup(h) : -ENOMEM;
	/* adding the handle only arms curl's timer: the transfer, and so the
	 * verdict, comes from the loop */
	if (!rc)
		rc = http_url_start(h);
	if (rc)
		http_probe_free(p);
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
	http_probe_free(p);
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
