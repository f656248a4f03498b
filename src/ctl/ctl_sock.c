/*
 * ctl_sock.c - the control socket between lvsadm and lvsd: an abstract
 * AF_UNIX stream socket (so it belongs to the network namespace, like
 * the kernel's IPVS netlink family: `ip netns exec NS lvsadm` reaches the
 * lvsd of NS), served to root only (SO_PEERCRED uid 0; others get
 * ipvsadm's "Permission denied (you must be root)" and exit 255), one
 * request and one reply per connection.  The wire format and the name
 * round trip are described in ctl_proto.h.
 *
 * The daemon side never blocks its control thread for long: the listening
 * socket is non-blocking, the whole request must arrive within
 * LVS_CTL_RECV_TIMEOUT_MS, and the reply is abandoned when the client
 * stops reading for as long.  Requests are bounded (ctl_proto.h limits).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ipvsadm_list.h"
#include "ctl_proto.h"

#define LVS_CTL_RECV_TIMEOUT_MS 2000  /* daemon: the whole request */
#define LVS_CTL_SEND_IDLE_MS    2000  /* daemon: client not reading */
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

/* ---- daemon ---- */

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
	if (bind(fd, (struct sockaddr *)&sa, salen) || listen(fd, 16)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int send_reply(int fd, uint16_t type, int status, const char *o, size_t olen, const char *e,
                      size_t elen, const uint8_t *names, size_t nlen)
{
	struct lvs_ctl_rep r = {
	        .version = LVS_CTL_VERSION,
	        .type = type,
	        .status = (uint32_t)status,
	        .out_len = (uint32_t)olen,
	        .err_len = (uint32_t)elen,
	        .names_len = (uint32_t)nlen,
	};
	uint8_t hdr[LVS_CTL_REP_HDR_LEN];
	int rc;

	if (olen > LVS_CTL_MAX_REPLY || elen > LVS_CTL_MAX_REPLY - olen ||
	    nlen > LVS_CTL_MAX_REPLY - olen - elen) {
		static const char big[] = "lvsd: the answer is too large for the control socket\n";

		r.status = LVS_EXIT_FAIL;
		r.out_len = r.names_len = 0;
		r.err_len = sizeof(big) - 1;
		o = NULL;
		olen = nlen = 0;
		e = big;
		elen = r.err_len;
	}
	lvs_ctl_rep_encode(hdr, &r);
	rc = write_full(fd, hdr, sizeof(hdr), LVS_CTL_SEND_IDLE_MS);
	if (!rc && olen)
		rc = write_full(fd, o, olen, LVS_CTL_SEND_IDLE_MS);
	if (!rc && elen)
		rc = write_full(fd, e, elen, LVS_CTL_SEND_IDLE_MS);
	if (!rc && nlen)
		rc = write_full(fd, names, nlen, LVS_CTL_SEND_IDLE_MS);
	return rc;
}

static int send_error(int fd, const char *msg)
{
	return send_reply(fd, LVS_CTL_REP_RESULT, LVS_EXIT_FAIL, NULL, 0, msg, strlen(msg), NULL,
	                  0);
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

/* Run a decoded request and answer it. */
static int serve_request(struct lvs_ctl_state *st, int fd, const struct lvs_ctl_req *rq, char *body)
{
	struct lvs_ctl_names known, missing;
	char *obuf = NULL, *ebuf = NULL, **argv;
	size_t olen = 0, elen = 0;
	uint8_t *nbuf = NULL;
	size_t nlen = 0;
	FILE *out = NULL, *err = NULL;
	bool have_names = rq->flags & LVS_CTL_F_NAMES;
	bool resolve = (rq->flags & LVS_CTL_F_RESOLVE) && !have_names;
	int rc, status;

	lvs_ctl_names_init(&known);
	lvs_ctl_names_init(&missing);
	argv = calloc(rq->argc + 1, sizeof(*argv));
	if (!argv) {
		rc = send_error(fd, "Memory allocation problem\n");
		goto out;
	}
	rc = decode_argv(body, rq->argv_len, rq->argc, argv);
	if (!rc && have_names)
		rc = lvs_ctl_names_decode(&known, (uint8_t *)body + rq->argv_len + rq->in_len,
		                          rq->names_len);
	if (rc) {
		rc = rc == -ENOMEM ? send_error(fd, "Memory allocation problem\n") : rc;
		goto out;
	}
	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	if (!out || !err) {
		rc = send_error(fd, "Memory allocation problem\n");
		goto out;
	}
	status =
	        lvs_ctl_exec_names(st, (int)rq->argc, argv, body + rq->argv_len, rq->in_len,
	                           have_names ? &known : NULL, resolve ? &missing : NULL, out, err);
	if (fclose(out) | fclose(err)) {
		out = err = NULL;
		rc = send_error(fd, "Memory allocation problem\n");
		goto out;
	}
	out = err = NULL;
	if (resolve && missing.n) {
		rc = lvs_ctl_names_encode(&missing, &nbuf, &nlen);
		if (rc)
			rc = send_error(fd, "Memory allocation problem\n");
		else
			rc = send_reply(fd, LVS_CTL_REP_NEED_NAMES, 0, NULL, 0, NULL, 0, nbuf,
			                nlen);
	} else {
		rc = send_reply(fd, LVS_CTL_REP_RESULT, status, obuf, olen, ebuf, elen, NULL, 0);
	}
out:
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	free(obuf);
	free(ebuf);
	free(nbuf);
	free(argv);
	lvs_ctl_names_free(&known);
	lvs_ctl_names_free(&missing);
	return rc;
}

int lvs_ctl_serve_one(struct lvs_ctl_state *st, int listen_fd)
{
	int64_t deadline = now_ms() + LVS_CTL_RECV_TIMEOUT_MS;
	uint8_t hdr[LVS_CTL_REQ_HDR_LEN];
	struct lvs_ctl_req rq;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char *body = NULL;
	size_t blen;
	int fd, rc;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen)) {
		rc = -errno;
		goto out;
	}
	if (cr.uid != 0) {
		send_error(fd, "Permission denied (you must be root)\n");
		rc = -EPERM;
		goto out;
	}
	rc = read_full(fd, hdr, sizeof(hdr), deadline, 0);
	if (rc)
		goto out;
	rc = lvs_ctl_req_decode(hdr, &rq);
	if (rc)
		goto out;
	if (rq.version != LVS_CTL_VERSION || rq.type != LVS_CTL_REQ_EXEC) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		         "lvsd: unsupported request (protocol version %u, lvsd speaks %u)\n",
		         rq.version, LVS_CTL_VERSION);
		send_error(fd, msg);
		rc = -EPROTO;
		goto out;
	}
	if (rq.argc < 1 || rq.argc > LVS_CTL_MAX_ARGC || rq.argv_len > LVS_CTL_MAX_ARGV ||
	    rq.in_len > LVS_CTL_MAX_IN || rq.names_len > LVS_CTL_MAX_NAMES_B) {
		send_error(fd, "lvsd: request too large\n");
		rc = -EMSGSIZE;
		goto out;
	}
	blen = (size_t)rq.argv_len + rq.in_len + rq.names_len;
	body = malloc(blen ? blen : 1);
	if (!body) {
		send_error(fd, "Memory allocation problem\n");
		rc = -ENOMEM;
		goto out;
	}
	rc = read_full(fd, body, blen, deadline, 0);
	if (rc)
		goto out;
	rc = serve_request(st, fd, &rq, body);
out:
	free(body);
	close(fd);
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
