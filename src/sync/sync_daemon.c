/*
 * sync_daemon.c - the `lvsd-sync` thread and the control thread's API to
 * it (see sync_daemon.h): the kernel's master and backup sync daemons
 * (net/netfilter/ipvs/ip_vs_sync.c: make_send_sock / make_receive_sock,
 * sync_thread_master / sync_thread_backup) on lvsd's connection table.
 *
 * Threads: the control thread opens and closes nothing the sync thread is
 * using; it prepares a role's sockets, then hands them over with a call
 * that runs on the sync thread while the control thread waits (the same
 * pattern as the health checks' thread: each thread owns its half
 * outright).  The calls are short (no I/O but closing sockets and sending
 * the last packed message), so the wait is a wake-up.  The sync thread
 * tells the control thread that a table pull finished through an eventfd
 * on the control loop.  Counters are written by the sync thread with
 * relaxed stores and read by anyone.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <urcu-qsbr.h>

#include "ctlloop.h"
#include "ipvsadm_cmd.h"
#include "log.h"
#include "lvsd_ctx.h"
#include "sync_daemon.h"
#include "worker.h"

#define SYNC_THREAD_NAME   "lvsd-sync"
#define SYNC_RING_SIZE     8192u  /* records per worker ring (512 KB) */
#define SYNC_BUSY_POLL_MS  10     /* a master drains its rings this often */
#define SYNC_IDLE_POLL_MS  100    /* otherwise: timers and quiescent points */
#define SYNC_FLUSH_NS      (1000ull * 1000 * 1000) /* a message waits at most 1 s */
#define SYNC_TICK_NS       (100ull * 1000 * 1000)  /* timer wheel runs */
#define SYNC_RECV_BURST    64     /* datagrams read per socket per turn */
#define SYNC_DRAIN_MAX     SYNC_RING_SIZE /* records taken per ring per turn */
#define SYNC_PULL_SLOTS    16384u /* table slots a pull walks per turn */
#define SYNC_PULL_MSGS     32u    /* messages a pull sends per turn (~3,200/s) */
#define SYNC_PULL_RESEND_NS (1000ull * 1000 * 1000)
#define SYNC_PULL_DEFAULT_MS 10000u
#define SYNC_RCVBUF        (4 << 20)
#define SYNC_SNDBUF        (1 << 20)

struct sync_role {
	bool on;
	struct lvs_sync_params p; /* in force: defaults filled, maxlen clamped */
	unsigned ifindex;
	int fd;                   /* master: sends; backup: the group socket */
	int rfd;                  /* master: the group socket (pull requests) */
	struct sockaddr_storage dst;
	socklen_t dstlen;
};

struct sync_pull_req {
	bool active;
	uint32_t id;
	lvs_time_t deadline, last_sent;
	bool heard;        /* something came from a master since the request */
	int result;        /* -ENOENT before any, -EINPROGRESS, 0, -ETIMEDOUT, -ECANCELED */
	uint32_t nconns;
	bool reported;     /* the callback ran */
	lvs_sync_pull_cb cb;
	void *cb_arg;
};

struct lvs_sync {
	struct lvsd *d;
	struct lvs_sync_tap tap;
	unsigned worker;
	pthread_t tid;
	bool started;
	int stop;
	int wake_fd; /* control -> sync thread */
	int done_fd; /* sync thread -> control loop */
	struct event *done_ev;

	pthread_mutex_t mu; /* the call below and pull */
	pthread_cond_t cv;
	void (*call_fn)(struct lvs_sync *s, void *arg);
	void *call_arg;
	bool call_pending;
	struct sync_pull_req pull;

	/* changed only by calls (the control thread waits meanwhile) */
	struct sync_role role[2]; /* [0] master, [1] backup */
	struct sync_counters cnt;

	/* the sync thread's own */
	struct sync_packer pk;
	struct sync_backup bk;
	struct sync_pull_serve serve;
	uint8_t rbuf[65536];
	struct lvs_sync_rec recs[256];
};

static int role_idx(int role)
{
	return role == LVS_SYNC_MASTER ? 0 : role == LVS_SYNC_BACKUP ? 1 : -1;
}

/* Run fn on the sync thread and wait for it (directly when no thread). */
static void sync_call(struct lvs_sync *s, void (*fn)(struct lvs_sync *s, void *arg), void *arg)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->mu);
	if (!s->started) {
		fn(s, arg);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->call_fn = fn;
	s->call_arg = arg;
	s->call_pending = true;
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only at its maximum: it is readable */
	}
	while (s->call_pending)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

/* ---- sockets (control thread) ---- */

static int iface_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 1500;

	if (fd < 0)
		return mtu;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

static int sopt(int fd, int level, int name, const void *v, socklen_t len, const char *what,
		char *err, size_t errlen)
{
	if (!setsockopt(fd, level, name, v, len))
		return 0;
	if (err)
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -errno;
}

/* Receiving: the group's port on the interface alone (several lvsd or
 * roles may listen), bound to the group address r->dst, then the group
 * joined with option name of level. */
static int join(int fd, const struct sync_role *r, int level, int name, const void *mr,
		socklen_t mrlen, const char *what, char *err, size_t errlen)
{
	int one = 1, rc;

	if ((rc = sopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "SO_REUSEADDR", err,
		       errlen)) ||
	    (rc = sopt(fd, SOL_SOCKET, SO_BINDTODEVICE, r->p.ifname, (socklen_t)strlen(r->p.ifname),
		       "SO_BINDTODEVICE", err, errlen)))
		return rc;
	if (bind(fd, (const struct sockaddr *)&r->dst, r->dstlen)) {
		rc = -errno;
		snprintf(err, errlen, "bind: %s", strerror(errno));
		return rc;
	}
	return sopt(fd, level, name, mr, mrlen, what, err, errlen);
}

/*
 * A socket for the role's group on its interface: multicast out through
 * the interface with the TTL, no loop back to ourselves (the kernel's
 * set_mcast_loop(0)), fragments allowed (IP_PMTUDISC_DONT, as the
 * kernel's master); with recv, bound to the group and port, joined on the
 * interface and tied to it (as make_receive_sock).
 */
static int sock_open(struct sync_role *r, bool recv, char *err, size_t errlen)
{
	int af = r->p.group_af, fd, zero = 0, ttl = r->p.ttl, rc;
	int buf = recv ? SYNC_RCVBUF : SYNC_SNDBUF;

	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	(void)setsockopt(fd, SOL_SOCKET, recv ? SO_RCVBUF : SO_SNDBUF, &buf, sizeof(buf));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&r->dst;
		struct ip_mreqn mr;
		int pmtu = IP_PMTUDISC_DONT;

		memset(&mr, 0, sizeof(mr));
		mr.imr_multiaddr.s_addr = r->p.group.ip4;
		mr.imr_ifindex = (int)r->ifindex;
		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(r->p.port);
		sin->sin_addr.s_addr = r->p.group.ip4;
		r->dstlen = sizeof(*sin);
		if ((rc = sopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr), "IP_MULTICAST_IF", err,
			       errlen)) ||
		    (rc = sopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl), "IP_MULTICAST_TTL",
			       err, errlen)) ||
		    (rc = sopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero),
			       "IP_MULTICAST_LOOP", err, errlen)) ||
		    (rc = sopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu), "IP_MTU_DISCOVER",
			       err, errlen)))
			goto fail;
		if (recv && (rc = join(fd, r, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr),
				       "IP_ADD_MEMBERSHIP", err, errlen)))
			goto fail;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->dst;
		struct ipv6_mreq mr;
		int ifi = (int)r->ifindex;

		memset(&mr, 0, sizeof(mr));
		memcpy(&mr.ipv6mr_multiaddr, r->p.group.b, 16);
		mr.ipv6mr_interface = r->ifindex;
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(r->p.port);
		memcpy(&sin6->sin6_addr, r->p.group.b, 16);
		sin6->sin6_scope_id = r->ifindex;
		r->dstlen = sizeof(*sin6);
		if ((rc = sopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifi, sizeof(ifi),
			       "IPV6_MULTICAST_IF", err, errlen)) ||
		    (rc = sopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl),
			       "IPV6_MULTICAST_HOPS", err, errlen)) ||
		    (rc = sopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero),
			       "IPV6_MULTICAST_LOOP", err, errlen)))
			goto fail;
		if (recv && (rc = join(fd, r, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr),
				       "IPV6_JOIN_GROUP", err, errlen)))
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

/* ---- the sync thread's work ---- */

static int master_send(void *arg, const uint8_t *buf, size_t len)
{
	struct sync_role *r = arg;

	if (sendto(r->fd, buf, len, 0, (struct sockaddr *)&r->dst, r->dstlen) < 0)
		return -errno;
	return 0;
}

/* Take what the workers reported and pack it. */
static void master_drain(struct lvs_sync *s, lvs_time_t now)
{
	for (unsigned i = 0; i < s->tap.nrings; i++) {
		unsigned n, taken = 0;

		while (taken < SYNC_DRAIN_MAX &&
		       (n = lvs_sync_ring_pop(&s->tap.ring[i], s->recs, 256)) > 0) {
			for (unsigned k = 0; k < n; k++) {
				struct sync_conn c;

				sync_conn_from_rec(&s->recs[k], &c);
				sync_packer_add(&s->pk, &c, now);
			}
			taken += n;
		}
	}
}

/* Run on the sync thread with s->mu held: the pull is over. */
static void pull_finish(struct lvs_sync *s, int result, uint32_t nconns)
{
	uint64_t one = 1;

	s->pull.active = false;
	s->pull.result = result;
	s->pull.nconns = nconns;
	s->pull.reported = false;
	if (result == 0)
		sync_count(&s->cnt.pulls_done, 1);
	else if (result == -ETIMEDOUT)
		sync_count(&s->cnt.pulls_timed_out, 1);
	if (write(s->done_fd, &one, sizeof(one)) < 0) {
		/* at the eventfd's maximum it is readable anyway */
	}
}

static void backup_recv(struct lvs_sync *s, lvs_time_t now)
{
	struct sync_role *r = &s->role[1];

	for (int i = 0; i < SYNC_RECV_BURST; i++) {
		ssize_t n = recv(r->fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT | MSG_TRUNC);
		struct sync_pull_msg pm;

		if (n < 0)
			return;
		if ((size_t)n > sizeof(s->rbuf)) {
			sync_count(&s->cnt.msgs_dropped[SYNC_DROP_SIZE], 1);
			continue;
		}
		if (!sync_pull_decode(s->rbuf, (size_t)n, &pm)) {
			if (pm.op == SYNC_PULL_REQ) {
				sync_count(&s->cnt.pull_requests_ignored, 1);
				continue;
			}
			pthread_mutex_lock(&s->mu);
			if (s->pull.active && pm.id == s->pull.id)
				pull_finish(s, 0, pm.count);
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		if (sync_backup_input(&s->bk, s->rbuf, (size_t)n, now) >= 0 &&
		    __atomic_load_n(&s->pull.active, __ATOMIC_RELAXED))
			__atomic_store_n(&s->pull.heard, true, __ATOMIC_RELAXED);
	}
}

/* The master's group socket: pull requests; everything else is another
 * director's business. */
static void master_recv(struct lvs_sync *s)
{
	struct sync_role *r = &s->role[0];

	for (int i = 0; i < SYNC_RECV_BURST; i++) {
		ssize_t n = recv(r->rfd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT);
		struct sync_pull_msg pm;

		if (n < 0)
			return;
		if (sync_pull_decode(s->rbuf, (size_t)n, &pm) || pm.op != SYNC_PULL_REQ)
			continue;
		if (pm.syncid && r->p.syncid && pm.syncid != r->p.syncid)
			continue;
		/* a new request restarts the walk: its end marker is what the
		 * requester waits for */
		memset(&s->serve, 0, sizeof(s->serve));
		s->serve.active = true;
		s->serve.id = pm.id;
	}
}

static void pull_tick(struct lvs_sync *s, lvs_time_t now)
{
	struct sync_role *r = &s->role[1];

	pthread_mutex_lock(&s->mu);
	if (s->pull.active) {
		if (now >= s->pull.deadline) {
			pull_finish(s, -ETIMEDOUT, 0);
		} else if (r->on && !__atomic_load_n(&s->pull.heard, __ATOMIC_RELAXED) &&
			   (!s->pull.last_sent || now - s->pull.last_sent >= SYNC_PULL_RESEND_NS)) {
			struct sync_pull_msg m = {.op = SYNC_PULL_REQ, .syncid = r->p.syncid,
			                          .id = s->pull.id};
			uint8_t buf[SYNC_PULL_LEN];

			if (sendto(r->fd, buf, sync_pull_encode(buf, &m), 0, (struct sockaddr *)&r->dst,
				   r->dstlen) < 0)
				sync_count(&s->cnt.send_errors, 1);
			s->pull.last_sent = now;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static void *sync_main(void *arg)
{
	struct lvs_sync *s = arg;
	struct lvs_conn_table *ct = s->d->dir.ct;
	lvs_time_t last_tick = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		struct pollfd pfd[3];
		int nfd = 1, mi = -1, bi = -1, ms;
		bool called = false;
		lvs_time_t now;

		pfd[0].fd = s->wake_fd;
		pfd[0].events = POLLIN;
		if (s->role[0].on) {
			mi = nfd;
			pfd[nfd].fd = s->role[0].rfd;
			pfd[nfd++].events = POLLIN;
		}
		if (s->role[1].on) {
			bi = nfd;
			pfd[nfd].fd = s->role[1].fd;
			pfd[nfd++].events = POLLIN;
		}
		ms = s->role[0].on || __atomic_load_n(&s->pull.active, __ATOMIC_RELAXED)
		             ? SYNC_BUSY_POLL_MS
		             : SYNC_IDLE_POLL_MS;
		/* asleep, the thread holds up no grace period */
		rcu_thread_offline();
		if (poll(pfd, (nfds_t)nfd, ms) < 0)
			pfd[0].revents = 0;
		rcu_thread_online();
		now = lvsd_now();

		if (pfd[0].revents & POLLIN) {
			uint64_t v;

			if (read(s->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone read it first; nothing to do */
			}
			pthread_mutex_lock(&s->mu);
			if (s->call_pending) {
				s->call_fn(s, s->call_arg);
				s->call_pending = false;
				called = true;
				pthread_cond_broadcast(&s->cv);
			}
			pthread_mutex_unlock(&s->mu);
		}
		/* after a call the sockets polled may have been closed */
		if (!called) {
			if (mi > 0 && (pfd[mi].revents & POLLIN))
				master_recv(s);
			if (bi > 0 && (pfd[bi].revents & POLLIN))
				backup_recv(s, now);
		}
		if (s->role[0].on) {
			master_drain(s, now);
			if (s->serve.active)
				sync_pull_serve_step(&s->serve, ct, &s->pk, now, SYNC_PULL_SLOTS,
						     SYNC_PULL_MSGS);
			if (s->pk.open && now - s->pk.opened >= SYNC_FLUSH_NS)
				sync_packer_flush(&s->pk);
		}
		pull_tick(s, now);
		if (now - last_tick >= SYNC_TICK_NS) {
			lvs_conn_expire_run(ct, s->worker, now);
			last_tick = now;
		}
		lvs_conn_quiescent(ct, s->worker);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

/* ---- calls (run on the sync thread, the control thread waiting) ---- */

static void call_start(struct lvs_sync *s, void *arg)
{
	struct sync_role *r = arg;

	if (r->rfd >= 0) { /* only the master has a second socket */
		s->role[0] = *r;
		s->role[0].on = true;
		if (sync_packer_init(&s->pk, r->p.maxlen, r->p.syncid, master_send, &s->role[0],
				     &s->cnt)) {
			s->role[0].on = false;
			r->on = false;
			return;
		}
		/* what the rings held from an earlier run is stale */
		for (unsigned i = 0; i < s->tap.nrings; i++)
			while (lvs_sync_ring_pop(&s->tap.ring[i], s->recs, 256))
				;
		__atomic_store_n(&s->tap.active, 1, __ATOMIC_RELAXED);
	} else {
		s->role[1] = *r;
		s->role[1].on = true;
		s->bk.ct = s->d->dir.ct;
		s->bk.model = s->d->dir.model;
		s->bk.worker = s->worker;
		s->bk.syncid = r->p.syncid;
		s->bk.cnt = &s->cnt;
	}
	r->on = true;
}

static void call_stop(struct lvs_sync *s, void *arg)
{
	int idx = *(int *)arg;
	struct sync_role *r = &s->role[idx];

	if (!r->on)
		return;
	if (idx == 0) {
		__atomic_store_n(&s->tap.active, 0, __ATOMIC_RELAXED);
		master_drain(s, lvsd_now());
		sync_packer_flush(&s->pk);
		sync_packer_free(&s->pk);
		memset(&s->serve, 0, sizeof(s->serve));
		close(r->rfd);
	} else if (s->pull.active) {
		pull_finish(s, -ECANCELED, 0); /* mu is held by the call */
	}
	close(r->fd);
	r->on = false;
	r->fd = r->rfd = -1;
}

/* ---- the API ---- */

int lvs_sync_start(struct lvsd *d, int role, const struct lvs_sync_params *p, char *err,
		   size_t errlen)
{
	struct lvs_sync *s = d->sync;
	int idx = role_idx(role), mtu;
	struct sync_role r;
	char ebuf[128];
	bool v6;

	if (!err) {
		err = ebuf;
		errlen = sizeof(ebuf);
	}
	err[0] = '\0';
	if (!s || !p)
		return -ENOSYS;
	if (idx < 0) {
		snprintf(err, errlen, "bad role %d", role);
		return -EINVAL;
	}
	if (s->role[idx].on) {
		snprintf(err, errlen, "the %s sync daemon runs already", idx ? "backup" : "master");
		return -EEXIST;
	}
	memset(&r, 0, sizeof(r));
	r.fd = r.rfd = -1;
	r.p = *p;
	r.p.ifname[sizeof(r.p.ifname) - 1] = '\0';
	if (!r.p.port)
		r.p.port = SYNC_PORT;
	if (!r.p.ttl)
		r.p.ttl = 1;
	if (!r.p.group_af) {
		r.p.group_af = AF_INET;
		memset(&r.p.group, 0, sizeof(r.p.group));
		r.p.group.ip4 = htonl(SYNC_MCAST_GROUP4);
	}
	v6 = r.p.group_af == AF_INET6;
	if ((r.p.group_af != AF_INET && !v6) ||
	    (!v6 && !IN_MULTICAST(ntohl(r.p.group.ip4))) ||
	    (v6 && r.p.group.b[0] != 0xff)) {
		snprintf(err, errlen, "the group is not a multicast address");
		return -EINVAL;
	}
	r.ifindex = r.p.ifname[0] ? if_nametoindex(r.p.ifname) : 0;
	if (!r.ifindex) {
		snprintf(err, errlen, "unknown mcast interface %s", r.p.ifname);
		return -ENODEV;
	}
	/* the kernel's sizes: a master's messages must cross any path and
	 * take 1500 as the MTU, a backup reads what its interface carries */
	mtu = iface_mtu(r.p.ifname);
	if (r.p.maxlen)
		r.p.maxlen = (uint16_t)sync_maxlen_configured(r.p.maxlen, idx == 1, v6);
	else
		r.p.maxlen = (uint16_t)sync_maxlen_for_mtu(idx == 0 ? 1500u : (unsigned)mtu, v6);

	if (idx == 0) {
		r.fd = sock_open(&r, false, err, errlen);
		if (r.fd >= 0)
			r.rfd = sock_open(&r, true, err, errlen);
		if (r.fd < 0 || r.rfd < 0) {
			int rc = r.fd < 0 ? r.fd : r.rfd;
			if (r.fd >= 0)
				close(r.fd);
			return rc;
		}
	} else {
		r.fd = sock_open(&r, true, err, errlen);
		if (r.fd < 0)
			return r.fd;
	}
	sync_call(s, call_start, &r);
	if (!r.on) {
		close(r.fd);
		if (r.rfd >= 0)
			close(r.rfd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lvs_notice("%s sync daemon started (mcast=%s, syncid=%u, maxlen=%u, port=%u, ttl=%u)",
		   idx ? "backup" : "master", r.p.ifname, r.p.syncid, r.p.maxlen, r.p.port, r.p.ttl);
	return 0;
}

int lvs_sync_stop(struct lvsd *d, int role)
{
	struct lvs_sync *s = d->sync;
	int idx = role_idx(role);

	if (!s || idx < 0)
		return -EINVAL;
	if (!s->role[idx].on)
		return -ESRCH;
	sync_call(s, call_stop, &idx);
	lvs_notice("%s sync daemon stopped", idx ? "backup" : "master");
	return 0;
}

int lvs_sync_get(const struct lvsd *d, int role, struct lvs_sync_params *p)
{
	struct lvs_sync *s = d->sync;
	int idx = role_idx(role);

	if (!s || idx < 0 || !s->role[idx].on)
		return 0;
	if (p)
		*p = s->role[idx].p;
	return 1;
}

struct pull_arg {
	unsigned timeout_ms;
	lvs_sync_pull_cb cb;
	void *cb_arg;
	int rc;
};

static void call_pull(struct lvs_sync *s, void *arg)
{
	struct pull_arg *a = arg;
	lvs_time_t now = lvsd_now();
	uint32_t id = 0;

	if (s->pull.active) {
		a->rc = -EBUSY;
		return;
	}
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint32_t)now ^ (uint32_t)(now >> 32);
	memset(&s->pull, 0, sizeof(s->pull));
	s->pull.active = true;
	s->pull.id = id;
	s->pull.deadline = now + (lvs_time_t)a->timeout_ms * 1000000ull;
	s->pull.result = -EINPROGRESS;
	s->pull.cb = a->cb;
	s->pull.cb_arg = a->cb_arg;
	sync_count(&s->cnt.pulls_started, 1);
	a->rc = 0;
}

int lvs_sync_pull_start(struct lvsd *d, unsigned timeout_ms, lvs_sync_pull_cb cb, void *arg)
{
	struct lvs_sync *s = d->sync;
	struct pull_arg a = {.timeout_ms = timeout_ms ? timeout_ms : SYNC_PULL_DEFAULT_MS,
	                     .cb = cb,
	                     .cb_arg = arg};

	if (!s)
		return -ENOSYS;
	if (!s->role[1].on)
		return -ESRCH;
	sync_call(s, call_pull, &a); /* the request goes out on the thread's next turn */
	return a.rc;
}

int lvs_sync_pull_poll(struct lvsd *d, uint32_t *nconns)
{
	struct lvs_sync *s = d->sync;
	int rc;

	if (!s)
		return -ENOENT;
	pthread_mutex_lock(&s->mu);
	rc = s->pull.active ? -EINPROGRESS : s->pull.result;
	if (nconns)
		*nconns = s->pull.nconns;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void call_pull_cancel(struct lvs_sync *s, void *arg)
{
	(void)arg;
	if (s->pull.active)
		pull_finish(s, -ECANCELED, 0);
}

void lvs_sync_pull_cancel(struct lvsd *d)
{
	if (d->sync)
		sync_call(d->sync, call_pull_cancel, NULL);
}

/* The control loop: a pull finished. */
static void pull_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvs_sync *s = arg;
	lvs_sync_pull_cb cb = NULL;
	void *cb_arg = NULL;
	uint32_t n = 0;
	uint64_t v;
	int rc = 0;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up */
	}
	pthread_mutex_lock(&s->mu);
	if (!s->pull.active && !s->pull.reported) {
		s->pull.reported = true;
		cb = s->pull.cb;
		cb_arg = s->pull.cb_arg;
		rc = s->pull.result;
		n = s->pull.nconns;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc || cb)
		lvs_info("sync: table pull %s (%u connections)",
			 rc == 0 ? "done" : rc == -ETIMEDOUT ? "timed out" : "cancelled", n);
	if (cb)
		cb(cb_arg, rc, n);
}

/* ---- lvsadm ---- */

static void params_from_cmd(const struct lvs_cmd_daemon *c, struct lvs_sync_params *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->ifname, c->mcast_ifn, sizeof(p->ifname) - 1);
	p->syncid = (uint8_t)c->syncid;
	p->maxlen = c->sync_maxlen;
	p->group_af = c->mcast_af;
	p->group = c->mcast_group;
	p->port = c->mcast_port;
	p->ttl = c->mcast_ttl;
}

static int ctl_daemon_cmd(void *arg, const struct lvs_cmd *cmd, char *err, size_t errlen)
{
	struct lvsd *d = arg;
	int role = cmd->daemon.state == LVS_DAEMON_MASTER ? LVS_SYNC_MASTER : LVS_SYNC_BACKUP;
	struct lvs_sync_params p;
	int rc;

	if (cmd->cmd == LVS_CMD_STOP_DAEMON)
		return lvs_sync_stop(d, role);
	params_from_cmd(&cmd->daemon, &p);
	rc = lvs_sync_start(d, role, &p, err, errlen);
	if (rc && rc != -EEXIST)
		lvs_warn("cannot start the %s sync daemon: %s", role == LVS_SYNC_MASTER ? "master" : "backup",
			 err);
	/* lvsd's extension: a backup started by hand asks the masters for
	 * their tables at once (a kernel master ignores the request; the
	 * pull then times out, which changes nothing) */
	if (!rc && role == LVS_SYNC_BACKUP)
		(void)lvs_sync_pull_start(d, 0, NULL, NULL);
	return rc;
}

static size_t ctl_daemon_list(void *arg, struct lvs_cmd_daemon *out, size_t max)
{
	struct lvsd *d = arg;
	size_t n = 0;

	for (int role = LVS_SYNC_MASTER; role <= LVS_SYNC_BACKUP && n < max; role++) {
		struct lvs_sync_params p;
		struct lvs_cmd_daemon *c = &out[n];

		if (!lvs_sync_get(d, role, &p))
			continue;
		memset(c, 0, sizeof(*c));
		c->state = role == LVS_SYNC_MASTER ? LVS_DAEMON_MASTER : LVS_DAEMON_BACKUP;
		memcpy(c->mcast_ifn, p.ifname, sizeof(c->mcast_ifn));
		c->syncid = p.syncid;
		c->sync_maxlen = p.maxlen;
		c->mcast_port = p.port;
		c->mcast_ttl = p.ttl;
		c->mcast_af = p.group_af;
		c->mcast_group = p.group;
		n++;
	}
	return n;
}

/* ---- status and metrics ---- */

void lvs_sync_get_counters(const struct lvsd *d, struct sync_counters *c, uint64_t *ring_drops)
{
	struct lvs_sync *s = d->sync;
	const uint64_t *src;
	uint64_t *dst;

	memset(c, 0, sizeof(*c));
	if (ring_drops)
		*ring_drops = 0;
	if (!s)
		return;
	src = (const uint64_t *)&s->cnt;
	dst = (uint64_t *)c;
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; ring_drops && i < s->tap.nrings; i++)
		*ring_drops += lvs_sync_ring_drops(&s->tap.ring[i]);
}

#define U(x) ((unsigned long long)(x))

static void print_role(FILE *f, const char *name, const struct lvsd *d, int role)
{
	struct lvs_sync_params p;
	char g[INET6_ADDRSTRLEN];

	if (!lvs_sync_get(d, role, &p)) {
		fprintf(f, "  %s: not running\n", name);
		return;
	}
	fprintf(f, "  %s: mcast=%s syncid=%u maxlen=%u group=%s port=%u ttl=%u\n", name, p.ifname,
		p.syncid, p.maxlen, lvs_addr_str(p.group_af, &p.group, g, sizeof(g)), p.port, p.ttl);
}

void lvs_sync_print_status(const struct lvsd *d, FILE *f)
{
	struct sync_counters c;
	uint64_t rd;
	bool any = false;

	if (!d->sync)
		return;
	lvs_sync_get_counters(d, &c, &rd);
	fputs("Connection sync:\n", f);
	print_role(f, "master", d, LVS_SYNC_MASTER);
	print_role(f, "backup", d, LVS_SYNC_BACKUP);
	fprintf(f, "  sent: %llu messages, %llu connections, %llu send errors, %llu report ring drops\n",
		U(c.msgs_sent), U(c.conns_sent), U(c.send_errors), U(rd));
	fprintf(f, "  pulls served: %llu (%llu connections)\n", U(c.pulls_served),
		U(c.pull_conns_sent));
	fprintf(f, "  received: %llu messages, %llu connections, %llu imported\n",
		U(c.msgs_received), U(c.conns_received), U(c.conns_imported));
	fputs("  messages dropped:", f);
	for (int r = 1; r < SYNC_DROP__COUNT; r++)
		if (c.msgs_dropped[r]) {
			fprintf(f, " %s %llu", sync_drop_name((enum sync_drop)r), U(c.msgs_dropped[r]));
			any = true;
		}
	fputs(any ? "\n" : " none\n", f);
	any = false;
	fputs("  connections dropped:", f);
	for (int r = 0; r < SYNC_CD__COUNT; r++)
		if (c.conns_dropped[r]) {
			fprintf(f, " %s %llu", sync_conn_drop_name((enum sync_conn_drop)r),
				U(c.conns_dropped[r]));
			any = true;
		}
	fputs(any ? "\n" : " none\n", f);
	fprintf(f, "  pulls: %llu started, %llu done, %llu timed out; %llu others' requests seen\n",
		U(c.pulls_started), U(c.pulls_done), U(c.pulls_timed_out),
		U(c.pull_requests_ignored));
}

static void fam(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void lvs_sync_print_metrics(const struct lvsd *d, FILE *f)
{
	struct sync_counters c;
	uint64_t rd;

	if (!d->sync)
		return;
	lvs_sync_get_counters(d, &c, &rd);
	fam(f, "lvsd_sync_daemon_running", "gauge", "1 while the sync daemon of the role runs.");
	fprintf(f, "lvsd_sync_daemon_running{role=\"master\"} %d\n",
		lvs_sync_get(d, LVS_SYNC_MASTER, NULL));
	fprintf(f, "lvsd_sync_daemon_running{role=\"backup\"} %d\n",
		lvs_sync_get(d, LVS_SYNC_BACKUP, NULL));
#define CNT(name, help, v)                                                                         \
	do {                                                                                       \
		fam(f, name, "counter", help);                                                     \
		fprintf(f, "%s %llu\n", name, U(v));                                               \
	} while (0)
	CNT("lvsd_sync_messages_sent_total", "Sync messages the master sent.", c.msgs_sent);
	CNT("lvsd_sync_connections_sent_total", "Connection entries the master sent.",
	    c.conns_sent);
	CNT("lvsd_sync_send_errors_total", "Sync datagrams that could not be sent.",
	    c.send_errors);
	CNT("lvsd_sync_report_ring_drops_total",
	    "Data-path reports dropped because a worker's ring was full.", rd);
	CNT("lvsd_sync_messages_received_total", "Sync messages the backup accepted.",
	    c.msgs_received);
	CNT("lvsd_sync_connections_received_total", "Connection entries the backup received.",
	    c.conns_received);
	CNT("lvsd_sync_connections_imported_total",
	    "Connection entries the backup put in its table.", c.conns_imported);
	CNT("lvsd_sync_pulls_served_total", "Table pulls the master answered.", c.pulls_served);
#undef CNT
	fam(f, "lvsd_sync_messages_dropped_total", "counter",
	    "Sync messages the backup dropped, by reason.");
	for (int r = 1; r < SYNC_DROP__COUNT; r++)
		fprintf(f, "lvsd_sync_messages_dropped_total{reason=\"%s\"} %llu\n",
			sync_drop_name((enum sync_drop)r), U(c.msgs_dropped[r]));
	fam(f, "lvsd_sync_connections_dropped_total", "counter",
	    "Connection entries the backup dropped, by reason.");
	for (int r = 0; r < SYNC_CD__COUNT; r++)
		fprintf(f, "lvsd_sync_connections_dropped_total{reason=\"%s\"} %llu\n",
			sync_conn_drop_name((enum sync_conn_drop)r), U(c.conns_dropped[r]));
	fam(f, "lvsd_sync_pulls_total", "counter", "Table pulls this director asked for, by result.");
	fprintf(f, "lvsd_sync_pulls_total{result=\"done\"} %llu\n", U(c.pulls_done));
	fprintf(f, "lvsd_sync_pulls_total{result=\"timeout\"} %llu\n", U(c.pulls_timed_out));
}

/* ---- life ---- */

static void sync_free(void *arg)
{
	struct lvs_sync *s = arg;
	uint64_t one = 1;

	if (s->started) {
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
		if (write(s->wake_fd, &one, sizeof(one)) < 0) {
			/* readable anyway */
		}
		pthread_join(s->tid, NULL);
		s->started = false;
	}
	for (int idx = 0; idx < 2; idx++)
		if (s->role[idx].on)
			call_stop(s, &idx);
	if (s->d->dir.sync == &s->tap)
		s->d->dir.sync = NULL;
	s->d->sync = NULL;
	if (s->d->cst && s->d->cst->daemon_arg == s->d) {
		s->d->cst->daemon_cmd = NULL;
		s->d->cst->daemon_list = NULL;
	}
	lvsd_loop_event_free(s->done_ev);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->done_fd >= 0)
		close(s->done_fd);
	lvs_sync_tap_free(&s->tap);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int lvs_sync_register(struct lvsd_loop *l)
{
	struct lvsd *d = lvsd_loop_ctx(l);
	struct lvs_sync *s;
	sigset_t all, old;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->worker = d->nworkers;
	s->wake_fd = s->done_fd = -1;
	s->role[0].fd = s->role[0].rfd = s->role[1].fd = s->role[1].rfd = -1;
	s->pull.result = -ENOENT;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* the workers' rings and the fast path thread's (its id: nworkers + 1;
	 * ring nworkers stays empty) */
	if ((err = lvs_sync_tap_init(&s->tap, d->nworkers + 2, SYNC_RING_SIZE)))
		goto fail;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0 || s->done_fd < 0) {
		err = -errno;
		goto fail;
	}
	s->done_ev = lvsd_loop_event_new(l, s->done_fd, EV_READ | EV_PERSIST, "sync pull",
					 pull_done_cb, s);
	if (!s->done_ev || event_add(s->done_ev, NULL)) {
		err = -ENOMEM;
		goto fail;
	}
	d->sync = s;
	d->dir.sync = &s->tap;
	/* the thread takes no signal: the control loop reads them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->tid, NULL, sync_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	s->started = true;
	pthread_setname_np(s->tid, SYNC_THREAD_NAME);
	if ((err = lvsd_loop_on_free(l, sync_free, s))) {
		sync_free(s);
		return err;
	}
	if (d->cst) {
		d->cst->daemon_cmd = ctl_daemon_cmd;
		d->cst->daemon_list = ctl_daemon_list;
		d->cst->daemon_arg = d;
	}
	return 0;
fail:
	sync_free(s);
	return err;
}
