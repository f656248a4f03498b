/*
 * httpd.c - the metrics and status page server (see httpd.h).
 *
 * Threading: libmicrohttpd runs its own thread (MHD_USE_INTERNAL_POLLING_
 * THREAD) and never reads the model.  The documents are rendered on the
 * control thread, where the model, the estimators and the checks live,
 * and handed over as immutable reference-counted buffers:
 *
 *   - a request for a document older than MAX_AGE_NS marks it wanted and
 *     writes an eventfd that the control loop watches, then waits on a
 *     condition variable (at most WAIT_NS) for the new rendering;
 *   - the loop's callback renders each wanted document once, however many
 *     requests wait for it, swaps the new buffer in under the mutex and
 *     wakes the waiters;
 *   - a response holds a reference to its buffer, dropped by MHD when the
 *     response is gone; a swap only drops the document's own reference.
 *
 * Why not MHD on the libevent loop (external select mode): every slow or
 * idle HTTP client would be the control thread's to serve, and MHD's fd
 * sets change with every connection.  Why not a timer that renders every
 * 500 ms: with 10,000 services a rendering is a few MB, wasted when nobody
 * asks; here the work follows the scrapes (and coalesces them), and a
 * document is at most MAX_AGE_NS old.  The mutex is held only to swap
 * pointers and flags, never while rendering or sending.  If the control
 * loop is stalled the waiter gives up after WAIT_NS and serves the last
 * rendering (or 503 before any): the HTTP side never blocks the loop and
 * the loop never blocks the HTTP side for long.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "metrics.h"

#define MAX_AGE_NS (500ull * 1000 * 1000)
#define WAIT_NS (2ull * 1000 * 1000 * 1000)
#define HTTPD_CONN_LIMIT 64
#define HTTPD_CONN_TIMEOUT_S 10

/* A rendered document: immutable once published. */
struct blob {
	int refs; /* atomic */
	size_t len;
	char data[];
};

static void blob_unref(struct blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

/* MHD's free callback gets the data pointer. */
static void blob_unref_data(void *data)
{
	blob_unref((struct blob *)((char *)data - offsetof(struct blob, data)));
}

enum doc_kind { DOC_PROM, DOC_JSON, DOC__N };

struct doc {
	struct blob *b;   /* NULL before the first rendering */
	uint64_t at_ns;   /* when b was rendered (CLOCK_MONOTONIC) */
	uint64_t seq;     /* bumped by every rendering attempt */
	bool want;        /* a request waits for a new rendering */
};

struct httpd {
	struct lvsd_loop *l;
	struct MHD_Daemon *mhd;
	int efd;
	struct event *ev;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	struct doc doc[DOC__N];
	bool stopping;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the control thread: render what is wanted ---- */

static struct blob *render(const struct lvsd *d, enum doc_kind k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct blob *b = NULL;
	int rc;

	if (!f)
		return NULL;
	rc = k == DOC_PROM ? lvsd_metrics_prom(d, f) : lvsd_metrics_json(d, f);
	if (fclose(f) == 0 && rc == 0 && (b = malloc(sizeof(*b) + len + 1))) {
		b->refs = 1;
		b->len = len;
		memcpy(b->data, buf, len + 1);
	}
	free(buf);
	return b;
}

static void render_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;
	struct lvsd *d = lvsd_loop_ctx(h->l);
	bool want[DOC__N];
	uint64_t x;

	(void)what;
	(void)!read(fd, &x, sizeof(x));
	pthread_mutex_lock(&h->mu);
	for (int k = 0; k < DOC__N; k++)
		want[k] = h->doc[k].want;
	pthread_mutex_unlock(&h->mu);
	for (int k = 0; k < DOC__N; k++) {
		struct blob *b, *old = NULL;

		if (!want[k])
			continue;
		b = render(d, k);
		if (!b)
			lvs_warn("metrics: out of memory rendering %s",
				 k == DOC_PROM ? "/metrics" : "/status.json");
		pthread_mutex_lock(&h->mu);
		if (b) {
			old = h->doc[k].b;
			h->doc[k].b = b;
			h->doc[k].at_ns = mono_ns();
		}
		h->doc[k].seq++;
		h->doc[k].want = false;
		pthread_mutex_unlock(&h->mu);
		blob_unref(old);
	}
	pthread_cond_broadcast(&h->cv);
}

/* ---- the HTTP thread ---- */

/* A reference to a rendering of kind k at most MAX_AGE_NS old, asking the
 * loop for one if needed; NULL when none came (503). */
static struct blob *doc_get(struct httpd *h, enum doc_kind k)
{
	struct doc *dc = &h->doc[k];
	struct blob *b;

	pthread_mutex_lock(&h->mu);
	if (!dc->b || mono_ns() - dc->at_ns > MAX_AGE_NS) {
		uint64_t seq = dc->seq, end = mono_ns() + WAIT_NS;
		struct timespec ts = {.tv_sec = (time_t)(end / 1000000000ull),
				      .tv_nsec = (long)(end % 1000000000ull)};

		if (!dc->want) {
			dc->want = true;
			(void)!write(h->efd, &(uint64_t){1}, sizeof(uint64_t));
		}
		while (dc->seq == seq && !h->stopping)
			if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT)
				break;
	}
	b = dc->b;
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->mu);
	return b;
}

static enum MHD_Result reply_static(struct MHD_Connection *c, unsigned status, const char *type,
				    const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								   MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_doc(struct httpd *h, struct MHD_Connection *c, enum doc_kind k)
{
	struct blob *b = doc_get(h, k);
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (!b)
		return reply_static(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
				    "figures not available yet\n");
	r = MHD_create_response_from_buffer_with_free_callback(b->len, b->data, blob_unref_data);
	if (!r) {
		blob_unref(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				k == DOC_PROM ? "text/plain; version=0.0.4; charset=utf-8"
					      : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **req)
{
	struct httpd *h = cls;

	(void)version;
	(void)upload;
	(void)req;
	if (*upload_len)
		return MHD_NO; /* a GET with a body: not ours */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				    "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return reply_doc(h, c, DOC_PROM);
	if (!strcmp(url, "/status.json"))
		return reply_doc(h, c, DOC_JSON);
	if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
		return reply_static(c, MHD_HTTP_OK, "text/html; charset=utf-8", lvsd_status_page);
	return reply_static(c, MHD_HTTP_NOT_FOUND, "text/plain",
			    "not found: try /, /metrics or /status.json\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	lvs_warn("metrics: %s", msg);
}

/* ---- set-up ---- */

int lvsd_httpd_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	const char *colon, *host = s;
	char buf[INET6_ADDRSTRLEN + 1];
	size_t hlen;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* an IPv6 address needs its brackets */
		hlen = (size_t)(colon - s);
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || !colon[1] || *end || colon[1] == '-' || colon[1] == '+' || port < 1 ||
	    port > 65535 || hlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (!hlen && s[0] != '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_UNSPEC;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, buf, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, buf, &a4->sin_addr) == 1 ? 0 : -EINVAL;
}

static void httpd_free(void *arg)
{
	struct httpd *h = arg;

	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_mutex_unlock(&h->mu);
	pthread_cond_broadcast(&h->cv);
	if (h->mhd)
		MHD_stop_daemon(h->mhd); /* joins its thread; responses release their buffers */
	lvsd_loop_event_free(h->ev);
	if (h->efd >= 0)
		close(h->efd);
	for (int k = 0; k < DOC__N; k++)
		blob_unref(h->doc[k].b);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static struct MHD_Daemon *mhd_start(struct httpd *h, const struct sockaddr_storage *ss)
{
	/* epoll, not select: with thousands of health-check sockets open the
	 * daemon's descriptors are far above FD_SETSIZE */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	uint16_t port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	struct MHD_Daemon *m;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (ss->ss_family != AF_UNSPEC)
		return MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
					MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					MHD_OPTION_SOCK_ADDR, ss,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONN_LIMIT,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_CONN_TIMEOUT_S,
					MHD_OPTION_END);
	/* every address: IPv6 and IPv4 on one socket, or IPv4 alone where
	 * the namespace has no IPv6 */
	m = MHD_start_daemon(flags | MHD_USE_DUAL_STACK, port, NULL, NULL, on_request, h,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONN_LIMIT,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_CONN_TIMEOUT_S,
			     MHD_OPTION_END);
	if (m)
		return m;
	return MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONN_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_CONN_TIMEOUT_S,
				MHD_OPTION_END);
}

int lvsd_httpd_register(struct lvsd_loop *l, const char *addr)
{
	struct sockaddr_storage ss;
	pthread_condattr_t ca;
	struct httpd *h;
	int rc;

	if (lvsd_httpd_parse_addr(addr, &ss)) {
		lvs_err("metrics: bad address '%s' (ADDR:PORT, [ADDR6]:PORT or :PORT)", addr);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->l = l;
	h->efd = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = lvsd_loop_on_free(l, httpd_free, h))) {
		httpd_free(h);
		return rc;
	}
	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->efd < 0)
		return -errno;
	h->ev = lvsd_loop_event_new(l, h->efd, EV_READ | EV_PERSIST, "metrics", render_cb, h);
	if (!h->ev || event_add(h->ev, NULL))
		return -ENOMEM;
	h->mhd = mhd_start(h, &ss);
	if (!h->mhd) {
		lvs_err("metrics: cannot serve on %s", addr);
		return -EADDRNOTAVAIL;
	}
	lvs_info("metrics: serving /metrics, /status.json and the status page on %s", addr);
	return 0;
}
