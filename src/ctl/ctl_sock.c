/*
 * ctl_sock.c - the control socket between lvsadm and lvsd: an abstract
 * AF_UNIX stream socket (so it belongs to the network namespace, like
 * the kernel's IPVS netlink family: `ip netns exec NS lvsadm` reaches the
 * lvsd of NS), served to root only (SO_PEERCRED uid 0; others get
 * ipvsadm's "Permission denied (you must be root)" and exit 255), one
 * request and one reply per connection.  The wire format and the name
 * round trip are described in ctl_proto.h.
 *
 * The daemon side never blocks: each client is a small state machine
 * (lvs_ctl_conn_*, see ctl.h) that reads its request as it arrives, runs
 * it when the caller says so and sends the reply as the socket takes it,
 * so the daemon's event loop serves many clients at once and a slow or
 * hung one delays nobody.  Requests are bounded (ctl_proto.h limits).
 * lvsadm's side (lvs_ctl_call) is a plain blocking client.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ipvsadm_list.h"
#include "ctl_proto.h"

#define LVS_CTL_RECV_TIMEOUT_MS 2000  /* lvs_ctl_serve_one: the whole request */
#define LVS_CTL_SEND_IDLE_MS    2000  /* lvs_ctl_serve_one: client not reading */
#define LVS_CTL_CLIENT_IDLE_MS  60000 /* client: lvsd busy (a big -R) */

/* ---- byte order ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- headers ---- */

void lvs_ctl_req_encode(uint8_t b[LVS_CTL_REQ_HDR_LEN], const struct lvs_ctl_req *r)
{
	put32(b + LVS_CTL_RQ_MAGIC, LVS_CTL_MAGIC);
	put16(b + LVS_CTL_RQ_VERSION, r->version);
	put16(b + LVS_CTL_RQ_TYPE, r->type);
	put32(b + LVS_CTL_RQ_FLAGS, r->flags);
	put32(b + LVS_CTL_RQ_ARGC, r->argc);
	put32(b + LVS_CTL_RQ_ARGV_LEN, r->argv_len);
	put32(b + LVS_CTL_RQ_IN_LEN, r->in_len);
	put32(b + LVS_CTL_RQ_NAMES_LEN, r->names_len);
	put32(b + LVS_CTL_RQ_RESERVED, 0);
}

int lvs_ctl_req_decode(const uint8_t b[LVS_CTL_REQ_HDR_LEN], struct lvs_ctl_req *r)
{
	if (get32(b + LVS_CTL_RQ_MAGIC) != LVS_CTL_MAGIC)
		return -EPROTO;
	r->version = get16(b + LVS_CTL_RQ_VERSION);
	r->type = get16(b + LVS_CTL_RQ_TYPE);
	r->flags = get32(b + LVS_CTL_RQ_FLAGS);
	r->argc = get32(b + LVS_CTL_RQ_ARGC);
	r->argv_len = get32(b + LVS_CTL_RQ_ARGV_LEN);
	r->in_len = get32(b + LVS_CTL_RQ_IN_LEN);
	r->names_len = get32(b + LVS_CTL_RQ_NAMES_LEN);
	return 0;
}

void lvs_ctl_rep_encode(uint8_t b[LVS_CTL_REP_HDR_LEN], const struct lvs_ctl_rep *r)
{
	put32(b + LVS_CTL_RP_MAGIC, LVS_CTL_MAGIC);
	put16(b + LVS_CTL_RP_VERSION, r->version);
	put16(b + LVS_CTL_RP_TYPE, r->type);
	put32(b + LVS_CTL_RP_STATUS, r->status);
	put32(b + LVS_CTL_RP_OUT_LEN, r->out_len);
	put32(b + LVS_CTL_RP_ERR_LEN, r->err_len);
	put32(b + LVS_CTL_RP_NAMES_LEN, r->names_len);
}

int lvs_ctl_rep_decode(const uint8_t b[LVS_CTL_REP_HDR_LEN], struct lvs_ctl_rep *r)
{
	if (get32(b + LVS_CTL_RP_MAGIC) != LVS_CTL_MAGIC)
		return -EPROTO;
	r->version = get16(b + LVS_CTL_RP_VERSION);
	r->type = get16(b + LVS_CTL_RP_TYPE);
	r->status = get32(b + LVS_CTL_RP_STATUS);
	r->out_len = get32(b + LVS_CTL_RP_OUT_LEN);
	r->err_len = get32(b + LVS_CTL_RP_ERR_LEN);
	r->names_len = get32(b + LVS_CTL_RP_NAMES_LEN);
	return 0;
}

/* ---- name tables ---- */

void lvs_ctl_names_init(struct lvs_ctl_names *t)
{
	memset(t, 0, sizeof(*t));
}

void lvs_ctl_names_free(struct lvs_ctl_names *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	free(t->htab);
	memset(t, 0, sizeof(*t));
}

static uint32_t name_hash(const struct lvs_ctl_name *e)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint8_t k[20];

	k[0] = e->kind;
	k[1] = e->fam;
	k[2] = (uint8_t)(e->port >> 8);
	k[3] = (uint8_t)e->port;
	memcpy(k + 4, e->kind == LVS_CTL_NAME_HOST ? e->addr.b : (const uint8_t[16]){0}, 16);
	for (size_t i = 0; i < sizeof(k); i++)
		h = (h ^ k[i]) * UINT64_C(0x100000001b3);
	return (uint32_t)(h ^ (h >> 32));
}

static bool name_key_eq(const struct lvs_ctl_name *a, const struct lvs_ctl_name *b)
{
	if (a->kind != b->kind || a->fam != b->fam)
		return false;
	if (a->kind == LVS_CTL_NAME_HOST)
		return lvs_addr_eq(&a->addr, &b->addr);
	return a->port == b->port;
}

const struct lvs_ctl_name *lvs_ctl_names_find(const struct lvs_ctl_names *t,
                                              const struct lvs_ctl_name *e)
{
	if (!t->htab)
		return NULL;
	for (uint32_t i = name_hash(e) & t->hmask;; i = (i + 1) & t->hmask) {
		uint32_t idx = t->htab[i];

		if (!idx)
			return NULL;
		if (name_key_eq(&t->v[idx - 1], e))
			return &t->v[idx - 1];
	}
}

static int names_grow(struct lvs_ctl_names *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 64, hsize = ncap * 2;
	struct lvs_ctl_name *nv = realloc(t->v, ncap * sizeof(*nv));
	uint32_t *nh;

	if (!nv)
		return -ENOMEM;
	t->v = nv;
	nh = calloc(hsize, sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	for (uint32_t k = 0; k < t->n; k++) {
		uint32_t i = name_hash(&t->v[k]) & (hsize - 1);

		while (nh[i])
			i = (i + 1) & (hsize - 1);
		nh[i] = k + 1;
	}
	free(t->htab);
	t->htab = nh;
	t->hmask = hsize - 1;
	t->cap = ncap;
	return 0;
}

int lvs_ctl_names_add(struct lvs_ctl_names *t, const struct lvs_ctl_name *e, const char *name)
{
	struct lvs_ctl_name *ne;
	uint32_t i;

	if (lvs_ctl_names_find(t, e))
		return 0;
	if (t->n >= LVS_CTL_MAX_NAMES)
		return -ENOSPC;
	if (t->n == t->cap && names_grow(t))
		return -ENOMEM;
	ne = &t->v[t->n];
	memset(ne, 0, sizeof(*ne));
	ne->kind = e->kind;
	ne->fam = e->fam;
	if (e->kind == LVS_CTL_NAME_HOST)
		ne->addr = e->addr;
	else
		ne->port = e->port;
	if (name) {
		ne->name = strndup(name, LVS_CTL_NAME_MAX);
		if (!ne->name)
			return -ENOMEM;
	}
	for (i = name_hash(ne) & t->hmask; t->htab[i]; i = (i + 1) & t->hmask)
		;
	t->htab[i] = ++t->n;
	return 0;
}

int lvs_ctl_names_encode(const struct lvs_ctl_names *t, uint8_t **buf, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *b;

	for (uint32_t i = 0; i < t->n; i++)
		total += LVS_CTL_NAME_ENT_LEN + (t->v[i].name ? strlen(t->v[i].name) : 0);
	b = malloc(total ? total : 1);
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct lvs_ctl_name *e = &t->v[i];
		size_t nl = e->name ? strlen(e->name) : 0;

		b[off + LVS_CTL_NE_KIND] = e->kind;
		b[off + LVS_CTL_NE_FAM] = e->fam;
		put16(b + off + LVS_CTL_NE_PORT, e->port);
		put16(b + off + LVS_CTL_NE_NAME_LEN, (uint16_t)nl);
		put16(b + off + LVS_CTL_NE_PAD, 0);
		memcpy(b + off + LVS_CTL_NE_ADDR, e->addr.b, 16);
		memcpy(b + off + LVS_CTL_NAME_ENT_LEN, e->name ? e->name : "", nl);
		off += LVS_CTL_NAME_ENT_LEN + nl;
	}
	*buf = b;
	*len = total;
	return 0;
}

int lvs_ctl_names_decode(struct lvs_ctl_names *t, const uint8_t *buf, size_t len)
{
	char name[LVS_CTL_NAME_MAX + 1];
	size_t off = 0;

	while (off < len) {
		struct lvs_ctl_name e = {0};
		size_t nl;
		int rc;

		if (len - off < LVS_CTL_NAME_ENT_LEN)
			return -EPROTO;
		e.kind = buf[off + LVS_CTL_NE_KIND];
		e.fam = buf[off + LVS_CTL_NE_FAM];
		e.port = get16(buf + off + LVS_CTL_NE_PORT);
		nl = get16(buf + off + LVS_CTL_NE_NAME_LEN);
		memcpy(e.addr.b, buf + off + LVS_CTL_NE_ADDR, 16);
		if ((e.kind != LVS_CTL_NAME_HOST && e.kind != LVS_CTL_NAME_SERV) ||
		    nl > LVS_CTL_NAME_MAX || len - off - LVS_CTL_NAME_ENT_LEN < nl)
			return -EPROTO;
		memcpy(name, buf + off + LVS_CTL_NAME_ENT_LEN, nl);
		name[nl] = '\0';
		if (strlen(name) != nl)
			return -EPROTO; /* NUL inside a name */
		rc = lvs_ctl_names_add(t, &e, nl ? name : NULL);
		if (rc)
			return rc;
		off += LVS_CTL_NAME_ENT_LEN + nl;
	}
	return 0;
}

/* What ipvsadm's addr_to_host() / port_to_service() find. */
void lvs_ctl_names_resolve(struct lvs_ctl_names *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		struct lvs_ctl_name *e = &t->v[i];
		char buf[NI_MAXHOST];

		buf[0] = '\0';
		if (e->kind == LVS_CTL_NAME_HOST) {
			struct sockaddr_in sin = {.sin_family = AF_INET};
			struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
			const struct sockaddr *sa = (const struct sockaddr *)&sin;
			socklen_t salen = sizeof(sin);

			if (e->fam == AF_INET6) {
				sin6.sin6_addr = e->addr.in6;
				sa = (const struct sockaddr *)&sin6;
				salen = sizeof(sin6);
			} else if (e->fam == AF_INET) {
				sin.sin_addr.s_addr = e->addr.ip4;
			} else {
				continue;
			}
			if (getnameinfo(sa, salen, buf, sizeof(buf), NULL, 0, NI_NAMEREQD))
				buf[0] = '\0';
		} else {
			const char *pn = lvs_list_proto_db_name(e->fam);
			struct servent se, *res = NULL;
			char tmp[1024];

			if (pn &&
			    !getservbyport_r(htons(e->port), pn, &se, tmp, sizeof(tmp), &res) &&
			    res)
				snprintf(buf, sizeof(buf), "%s", res->s_name);
		}
		free(e->name);
		e->name = buf[0] ? strndup(buf, LVS_CTL_NAME_MAX) : NULL;
	}
}

/* ---- socket I/O with deadlines ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd until deadline (ms, CLOCK_MONOTONIC). 0 or -errno. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = ev};
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Read exactly len bytes.  deadline: absolute, or when idle_ms > 0, it is
 * pushed idle_ms further after every chunk.  0, -EPROTO on EOF, -errno.
 */
static int read_full(int fd, void *buf, size_t len, int64_t deadline, int idle_ms)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			if (idle_ms > 0)
				deadline = now_ms() + idle_ms;
			continue;
		}
		if (n == 0)
			return -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		n = wait_fd(fd, POLLIN, deadline);
		if (n)
			return (int)n;
	}
	return 0;
}

/* Write len bytes; gives up when the peer accepts nothing for idle_ms. */
static int write_full(int fd, const void *buf, size_t len, int idle_ms)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		n = wait_fd(fd, POLLOUT, now_ms() + idle_ms);
		if (n)
			return (int)n;
	}
	return 0;
}

/* The abstract address: "\0" + name, without a trailing NUL. */
static int ctl_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *name = getenv(LVS_CTL_SOCKET_ENV);
	size_t n;

	if (!name || !*name)
		name = LVS_CTL_SOCKET;
	n = strlen(name);
	if (n + 1 > sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

/* ---- daemon: one client, without blocking ---- */

int lvs_ctl_listen(void)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, rc = ctl_addr(&sa, &salen);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, salen) || listen(fd, 128)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

enum conn_state {
	CONN_HDR,   /* reading the request header */
	CONN_BODY,  /* reading argv | stdin | names */
	CONN_READY, /* request complete, not run yet */
	CONN_RUNNING, /* run, not finished: a job in steps (lvs_ctl_job_step) */
	CONN_WRITE, /* sending the reply */
	CONN_DONE,  /* finished: result is final */
};

struct lvs_ctl_conn {
	int fd;
	enum conn_state state;
	int result; /* what step returns once the reply is out: 0 or -errno */
	uint8_t hdr[LVS_CTL_REQ_HDR_LEN];
	struct lvs_ctl_req rq;
	char *body;
	size_t blen, got; /* bytes expected / received of the current part */
	/* the reply: header, stdout, stderr, names; iov[cur..] is unsent */
	uint8_t rhdr[LVS_CTL_REP_HDR_LEN];
	char *obuf, *ebuf;
	uint8_t *nbuf;
	FILE *out, *err; /* CONN_RUNNING: the job's output so far */
	size_t olen, elen;
	struct iovec iov[4];
	unsigned niov, cur;
};

/* Bytes read per step at most, so one fast client of a large -R cannot
 * keep the control thread to itself. */
#define LVS_CTL_STEP_READ (256u << 10)

int lvs_ctl_conn_fd(const struct lvs_ctl_conn *c)
{
	return c->fd;
}

void lvs_ctl_conn_free(struct lvs_ctl_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->out)
		fclose(c->out);
	if (c->err)
		fclose(c->err);
	free(c->body);
	free(c->obuf);
	free(c->ebuf);
	free(c->nbuf);
	free(c);
}

/* Queue a reply (the buffers stay owned by c or are static), then send it
 * and finish with result. */
static void conn_reply(struct lvs_ctl_conn *c, uint16_t type, int status, const char *o,
                       size_t olen, const char *e, size_t elen, const uint8_t *names,
                       size_t nlen, int result)
{
	struct lvs_ctl_rep r = {
	        .version = LVS_CTL_VERSION,
	        .type = type,
	        .status = (uint32_t)status,
	};

	if (olen > LVS_CTL_MAX_REPLY || elen > LVS_CTL_MAX_REPLY - olen ||
	    nlen > LVS_CTL_MAX_REPLY - olen - elen) {
		static const char big[] = "lvsd: the answer is too large for the control socket\n";

		r.status = LVS_EXIT_FAIL;
		o = NULL;
		olen = nlen = 0;
		e = big;
		elen = sizeof(big) - 1;
	}
	r.out_len = (uint32_t)olen;
	r.err_len = (uint32_t)elen;
	r.names_len = (uint32_t)nlen;
	lvs_ctl_rep_encode(c->rhdr, &r);
	c->iov[0] = (struct iovec){.iov_base = c->rhdr, .iov_len = sizeof(c->rhdr)};
	c->iov[1] = (struct iovec){.iov_base = (void *)o, .iov_len = olen};
	c->iov[2] = (struct iovec){.iov_base = (void *)e, .iov_len = elen};
	c->iov[3] = (struct iovec){.iov_base = (void *)names, .iov_len = nlen};
	c->niov = 4;
	c->cur = 0;
	c->result = result;
	c->state = CONN_WRITE;
}

static void conn_error(struct lvs_ctl_conn *c, const char *msg, int result)
{
	/* msg is static or copied into ebuf by the caller */
	conn_reply(c, LVS_CTL_REP_RESULT, LVS_EXIT_FAIL, NULL, 0, msg, strlen(msg), NULL, 0,
	           result);
}

static void conn_fail(struct lvs_ctl_conn *c, int result)
{
	c->result = result;
	c->state = CONN_DONE;
}

int lvs_ctl_conn_accept(int listen_fd, struct lvs_ctl_conn **out)
{
	struct lvs_ctl_conn *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int fd, rc;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->state = CONN_HDR;
	if (cr.uid != 0)
		conn_error(c, "Permission denied (you must be root)\n", -EPERM);
	*out = c;
	return 0;
}

/* The header is in: check it and size the body. */
static void conn_got_header(struct lvs_ctl_conn *c)
{
	struct lvs_ctl_req *rq = &c->rq;

	if (lvs_ctl_req_decode(c->hdr, rq)) {
		conn_fail(c, -EPROTO);
		return;
	}
	if (rq->version != LVS_CTL_VERSION || rq->type != LVS_CTL_REQ_EXEC) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		         "lvsd: unsupported request (protocol version %u, lvsd speaks %u)\n",
		         rq->version, LVS_CTL_VERSION);
		c->ebuf = strdup(msg);
		conn_error(c, c->ebuf ? c->ebuf : "lvsd: unsupported request\n", -EPROTO);
		return;
	}
	if (rq->argc < 1 || rq->argc > LVS_CTL_MAX_ARGC || rq->argv_len > LVS_CTL_MAX_ARGV ||
	    rq->in_len > LVS_CTL_MAX_IN || rq->names_len > LVS_CTL_MAX_NAMES_B) {
		conn_error(c, "lvsd: request too large\n", -EMSGSIZE);
		return;
	}
	c->blen = (size_t)rq->argv_len + rq->in_len + rq->names_len;
	c->got = 0;
	c->body = malloc(c->blen ? c->blen : 1);
	if (!c->body) {
		conn_error(c, "Memory allocation problem\n", -ENOMEM);
		return;
	}
	c->state = c->blen ? CONN_BODY : CONN_READY;
}

/* Read what is there of the current part.  >0: bytes read, 0: nothing
 * waiting, <0: the connection failed (state DONE). */
static ssize_t conn_read(struct lvs_ctl_conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (len > LVS_CTL_STEP_READ)
		len = LVS_CTL_STEP_READ;
	do
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n == 0) {
		conn_fail(c, -EPROTO); /* EOF before the request was complete */
		return -EPROTO;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	conn_fail(c, -errno);
	return c->result;
}

/* Send what the socket takes.  1: all sent, 0: would block, <0: failed. */
static int conn_write(struct lvs_ctl_conn *c)
{
	while (c->cur < c->niov) {
		struct msghdr mh = {.msg_iov = c->iov + c->cur, .msg_iovlen = c->niov - c->cur};
		ssize_t n;

		if (!c->iov[c->cur].iov_len) {
			c->cur++;
			continue;
		}
		n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		/* consume n bytes from the front of iov[cur..] */
		while (n > 0 && c->cur < c->niov) {
			struct iovec *v = &c->iov[c->cur];
			size_t k = (size_t)n < v->iov_len ? (size_t)n : v->iov_len;

			v->iov_base = (uint8_t *)v->iov_base + k;
			v->iov_len -= k;
			n -= (ssize_t)k;
			if (!v->iov_len)
				c->cur++;
		}
	}
	return 1;
}

int lvs_ctl_conn_step(struct lvs_ctl_conn *c)
{
	ssize_t n;
	int rc;

	for (;;) {
		switch (c->state) {
		case CONN_HDR:
			n = conn_read(c, c->hdr + c->got, sizeof(c->hdr) - c->got);
			if (n < 0)
				continue;
			if (n == 0)
				return LVS_CTL_WANT_READ;
			c->got += (size_t)n;
			if (c->got == sizeof(c->hdr))
				conn_got_header(c);
			continue;
		case CONN_BODY:
			n = conn_read(c, c->body + c->got, c->blen - c->got);
			if (n < 0)
				continue;
			if (n == 0)
				return LVS_CTL_WANT_READ;
			c->got += (size_t)n;
			if (c->got == c->blen)
				c->state = CONN_READY;
			else if ((size_t)n == LVS_CTL_STEP_READ)
				return LVS_CTL_WANT_READ; /* more may wait: the loop comes back */
			continue;
		case CONN_READY:
		case CONN_RUNNING:
			return LVS_CTL_WANT_RUN;
		case CONN_WRITE:
			rc = conn_write(c);
			if (rc == 0)
				return LVS_CTL_WANT_WRITE;
			/* a failed error reply keeps the error it reports */
			if (rc < 0 && !c->result)
				c->result = rc;
			c->state = CONN_DONE;
			continue;
		case CONN_DONE:
			return c->result;
		}
	}
}

/* Split the argv section into argc strings (pointers into body). */
static int decode_argv(char *body, uint32_t len, uint32_t argc, char **argv)
{
	uint32_t off = 0;

	if (!len || body[len - 1] != '\0')
		return -EPROTO;
	for (uint32_t i = 0; i < argc; i++) {
		if (off >= len)
			return -EPROTO;
		argv[i] = body + off;
		off += (uint32_t)strlen(body + off) + 1;
	}
	argv[argc] = NULL;
	return off == len ? 0 : -EPROTO;
}

/* The executor finished with status: close the output and send it (or,
 * with missing names, ask lvsadm for them). */
static void conn_finish(struct lvs_ctl_conn *c, int status, struct lvs_ctl_names *missing)
{
	size_t nlen = 0;
	int rc = fclose(c->out) | fclose(c->err);

	c->out = c->err = NULL;
	if (rc) {
		conn_error(c, "Memory allocation problem\n", -ENOMEM);
	} else if (missing && missing->n) {
		if (lvs_ctl_names_encode(missing, &c->nbuf, &nlen))
			conn_error(c, "Memory allocation problem\n", -ENOMEM);
		else
			conn_reply(c, LVS_CTL_REP_NEED_NAMES, 0, NULL, 0, NULL, 0, c->nbuf, nlen,
			           0);
	} else {
		conn_reply(c, LVS_CTL_REP_RESULT, status, c->obuf, c->olen, c->ebuf, c->elen,
		           NULL, 0, 0);
	}
	/* the request is no longer needed while the reply goes out */
	free(c->body);
	c->body = NULL;
}

void lvs_ctl_conn_run(struct lvs_ctl_state *st, struct lvs_ctl_conn *c)
{
	const struct lvs_ctl_req *rq = &c->rq;
	struct lvs_ctl_names known, missing;
	char *body = c->body, **argv;
	bool have_names = rq->flags & LVS_CTL_F_NAMES;
	bool resolve = (rq->flags & LVS_CTL_F_RESOLVE) && !have_names;
	int rc, status;

	if (c->state == CONN_RUNNING) {
		status = lvs_ctl_job_step(st, c->err);
		if (status != LVS_CTL_PENDING)
			conn_finish(c, status, NULL);
		return;
	}
	if (c->state != CONN_READY)
		return;
	lvs_ctl_names_init(&known);
	lvs_ctl_names_init(&missing);
	argv = calloc(rq->argc + 1, sizeof(*argv));
	if (!argv) {
		conn_error(c, "Memory allocation problem\n", -ENOMEM);
		goto out;
	}
	rc = decode_argv(body, rq->argv_len, rq->argc, argv);
	if (!rc && have_names)
		rc = lvs_ctl_names_decode(&known, (uint8_t *)body + rq->argv_len + rq->in_len,
		                          rq->names_len);
	if (rc) {
		/* a malformed request is not answered */
		if (rc == -ENOMEM)
			conn_error(c, "Memory allocation problem\n", -ENOMEM);
		else
			conn_fail(c, rc);
		goto out;
	}
	c->out = open_memstream(&c->obuf, &c->olen);
	c->err = open_memstream(&c->ebuf, &c->elen);
	if (!c->out || !c->err) {
		conn_error(c, "Memory allocation problem\n", -ENOMEM);
		goto out;
	}
	status = lvs_ctl_exec_names(st, (int)rq->argc, argv, body + rq->argv_len, rq->in_len,
	                            have_names ? &known : NULL, resolve ? &missing : NULL,
	                            c->out, c->err);
	if (status == LVS_CTL_PENDING)
		c->state = CONN_RUNNING; /* the job reads its input from body */
	else
		conn_finish(c, status, resolve ? &missing : NULL);
out:
	if (c->state != CONN_RUNNING) {
		if (c->out)
			fclose(c->out);
		if (c->err)
			fclose(c->err);
		c->out = c->err = NULL;
		free(c->body);
		c->body = NULL;
	}
	free(argv);
	lvs_ctl_names_free(&known);
	lvs_ctl_names_free(&missing);
}

bool lvs_ctl_conn_running(const struct lvs_ctl_conn *c)
{
	return c->state == CONN_RUNNING;
}

int lvs_ctl_serve_one(struct lvs_ctl_state *st, int listen_fd)
{
	struct lvs_ctl_conn *c;
	int64_t deadline = now_ms() + LVS_CTL_RECV_TIMEOUT_MS;
	int rc = lvs_ctl_conn_accept(listen_fd, &c);

	if (rc)
		return rc;
	for (;;) {
		rc = lvs_ctl_conn_step(c);
		if (rc == LVS_CTL_WANT_RUN) {
			lvs_ctl_conn_run(st, c);
			deadline = now_ms() + LVS_CTL_SEND_IDLE_MS;
			continue;
		}
		if (rc <= 0)
			break;
		rc = wait_fd(c->fd, rc == LVS_CTL_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (rc)
			break;
		if (c->state == CONN_WRITE)
			deadline = now_ms() + LVS_CTL_SEND_IDLE_MS;
	}
	lvs_ctl_conn_free(c);
	return rc;
}

/* ---- client ---- */

static int connect_ctl(void)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, rc = ctl_addr(&sa, &salen);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, salen)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* One round trip.  On success *rep is filled and *body (malloc'd) holds
 * out | err | names.  0 or -errno. */
static int call_once(int argc, char *const argv[], const char *in, size_t in_len, uint32_t flags,
                     const uint8_t *names, size_t names_len, struct lvs_ctl_rep *rep,
                     uint8_t **body)
{
	uint8_t hdr[LVS_CTL_REQ_HDR_LEN], rhdr[LVS_CTL_REP_HDR_LEN];
	struct lvs_ctl_req rq = {.version = LVS_CTL_VERSION, .type = LVS_CTL_REQ_EXEC};
	size_t argv_len = 0, blen;
	char *abuf = NULL;
	int fd = -1, rc;

	*body = NULL;
	if (argc < 1 || argc > (int)LVS_CTL_MAX_ARGC)
		return -E2BIG;
	for (int i = 0; i < argc; i++)
		argv_len += strlen(argv[i] ? argv[i] : "") + 1;
	if (argv_len > LVS_CTL_MAX_ARGV || in_len > LVS_CTL_MAX_IN ||
	    names_len > LVS_CTL_MAX_NAMES_B)
		return -E2BIG;
	abuf = malloc(argv_len);
	if (!abuf)
		return -ENOMEM;
	argv_len = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i] ? argv[i] : "") + 1;

		memcpy(abuf + argv_len, argv[i] ? argv[i] : "", n);
		argv_len += n;
	}
	rq.flags = flags;
	rq.argc = (uint32_t)argc;
	rq.argv_len = (uint32_t)argv_len;
	rq.in_len = (uint32_t)in_len;
	rq.names_len = (uint32_t)names_len;
	lvs_ctl_req_encode(hdr, &rq);

	fd = connect_ctl();
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = write_full(fd, hdr, sizeof(hdr), LVS_CTL_CLIENT_IDLE_MS);
	if (!rc)
		rc = write_full(fd, abuf, argv_len, LVS_CTL_CLIENT_IDLE_MS);
	if (!rc && in_len)
		rc = write_full(fd, in, in_len, LVS_CTL_CLIENT_IDLE_MS);
	if (!rc && names_len)
		rc = write_full(fd, names, names_len, LVS_CTL_CLIENT_IDLE_MS);
	/* a refusal (not root, too large) may arrive before we finished */
	if (rc == -EPIPE || rc == -ECONNRESET)
		rc = 0;
	if (rc)
		goto out;
	rc = read_full(fd, rhdr, sizeof(rhdr), now_ms() + LVS_CTL_CLIENT_IDLE_MS,
	               LVS_CTL_CLIENT_IDLE_MS);
	if (rc == -ECONNRESET)
		rc = -EPROTO;
	if (!rc)
		rc = lvs_ctl_rep_decode(rhdr, rep);
	if (rc)
		goto out;
	if (rep->version != LVS_CTL_VERSION || rep->out_len > LVS_CTL_MAX_REPLY ||
	    rep->err_len > LVS_CTL_MAX_REPLY - rep->out_len ||
	    rep->names_len > LVS_CTL_MAX_REPLY - rep->out_len - rep->err_len) {
		rc = -EPROTO;
		goto out;
	}
	blen = (size_t)rep->out_len + rep->err_len + rep->names_len;
	*body = malloc(blen ? blen : 1);
	if (!*body) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_full(fd, *body, blen, now_ms() + LVS_CTL_CLIENT_IDLE_MS, LVS_CTL_CLIENT_IDLE_MS);
out:
	if (rc) {
		free(*body);
		*body = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(abuf);
	return rc;
}

int lvs_ctl_call(int argc, char *const argv[], const char *in, size_t in_len, FILE *out, FILE *err)
{
	struct lvs_ctl_names names;
	uint8_t *nbuf = NULL, *body = NULL;
	size_t nlen = 0;
	struct lvs_ctl_rep rep;
	uint32_t flags = LVS_CTL_F_RESOLVE;
	int rc;

	lvs_ctl_names_init(&names);
	for (int round = 0;; round++) {
		rc = call_once(argc, argv, in, in_len, flags, nbuf, nlen, &rep, &body);
		if (rc)
			goto out;
		if (rep.type == LVS_CTL_REP_RESULT)
			break;
		if (rep.type != LVS_CTL_REP_NEED_NAMES || round > 0) {
			rc = -EPROTO;
			goto out;
		}
		/* resolve here, not in lvsd, and ask again with the answers */
		rc = lvs_ctl_names_decode(&names, body + rep.out_len + rep.err_len, rep.names_len);
		free(body);
		body = NULL;
		if (rc)
			goto out;
		lvs_ctl_names_resolve(&names);
		rc = lvs_ctl_names_encode(&names, &nbuf, &nlen);
		if (rc)
			goto out;
		flags = LVS_CTL_F_NAMES;
	}
	if (rep.status > 255) {
		rc = -EPROTO;
		goto out;
	}
	if ((rep.out_len && fwrite(body, 1, rep.out_len, out) != rep.out_len) ||
	    (rep.err_len && fwrite(body + rep.out_len, 1, rep.err_len, err) != rep.err_len)) {
		rc = -EIO;
		goto out;
	}
	fflush(out);
	fflush(err);
	rc = (int)rep.status;
out:
	free(body);
	free(nbuf);
	lvs_ctl_names_free(&names);
	return rc;
}
