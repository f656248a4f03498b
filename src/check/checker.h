/*
 * checker.h - the interface between the health-check core (check.c) and
 * the checkers, one file each (check_tcp.c, check_http.c, ...), as the
 * kernel's schedulers plug into IPVS through struct ip_vs_scheduler.
 *
 * A probe is one attempt of one check against one target: connect, ask,
 * judge.  The core owns the schedule (delay_loop, retry,
 * delay_before_retry, warmup), the verdicts and what they do to the
 * model; a checker only runs probes.  Probes run on the checker
 * thread's libevent loop (p->base) and nothing may block: many probes
 * share the thread, so sockets are non-blocking
 * and watched with events on p->base, children are spawned and reaped
 * through a pidfd, and every probe ends by its deadline.
 *
 * Contract of a probe:
 *   - the core fills the target and parameters, then calls ops->start(p);
 *   - start returns 0 when the probe runs; the checker then calls
 *     p->done(p, ...) exactly once, later, from a callback of its own on
 *     p->base (never from inside start), before p->deadline (the core also
 *     cancels a probe that overruns: a checker must not rely on that);
 *   - start returns -errno when the probe could not even begin (socket
 *     limit, bad parameter): the core counts a failure with that error,
 *     and done is not called;
 *   - ops->cancel(p) stops a running probe (shutdown, reload, overrun):
 *     it releases everything the probe holds (events, sockets, children:
 *     killed and reaped), and done is not called afterwards.
 */
#ifndef LVS_CHECKER_H
#define LVS_CHECKER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "kaconf.h"

enum lvs_probe_result {
	LVS_PROBE_OK = 0,
	LVS_PROBE_FAIL = 1,
};

struct lvs_probe;
typedef void (*lvs_probe_done_fn)(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight,
				  const char *why);

struct lvs_probe {
	/* ---- set by the core before start, constant while it runs ---- */
	struct event_base *base;
	const struct ka_checker *cfg; /* the checker's block (kaconf.h), defaults applied */
	/* where to probe: connect_ip / connect_port, or the real server's
	 * address and port (port 0 for a fwmark service's server: the
	 * checker needs connect_port then) */
	uint8_t af;
	union lvs_addr addr;
	uint16_t port;                /* host order */
	/* the source: bindto (af AF_UNSPEC: any), bind_port (0: any),
	 * bind_if (NULL: any), fwmark (SO_MARK, 0: none) */
	struct ka_addr bindto;
	uint16_t bind_port;
	const char *bind_if;
	uint32_t fwmark;
	const char *virtualhost;      /* HTTP Host: the url's, the checker's, the server's or
				       * the virtual server's; NULL: the address */
	uint64_t timeout_us;          /* connect_timeout: the probe's whole budget */
	uint64_t deadline_ns;         /* monotonic (CLOCK_MONOTONIC) ns by which done must come */
	const char *name;             /* "TCP_CHECK 192.168.0.2:80", for messages */

	/* ---- the checker's ---- */
	void *priv;

	/* ---- the result, called by the checker ----
	 * r: OK or FAIL; weight: a new weight for the real server (MISC_CHECK
	 * with misc_dynamic, FILE_CHECK), or -1 to keep it; why: a short
	 * reason shown in listings and logs ("connect: Connection refused",
	 * "HTTP status 500", "timeout"), copied by the core; may be NULL
	 * when r is OK. */
	lvs_probe_done_fn done;
	void *done_arg;
	/* FILE_CHECK: an adjustment to add to the real server's configured
	 * weight, set before done when has_delta (the core clears both before
	 * each start) */
	bool has_delta;
	int32_t delta;
};

struct lvs_checker_ops {
	enum ka_check_type type;
	const char *name; /* keepalived's keyword: "TCP_CHECK" */
	int (*start)(struct lvs_probe *p);
	void (*cancel)(struct lvs_probe *p);
};

/* The checkers (check_*.c); lvs_checker_find: NULL when the type has
 * none yet. */
extern const struct lvs_checker_ops lvs_check_tcp, lvs_check_http, lvs_check_ssl,
	lvs_check_smtp, lvs_check_misc, lvs_check_udp, lvs_check_dns, lvs_check_ping,
	lvs_check_file;
const struct lvs_checker_ops *lvs_checker_find(enum ka_check_type t);
/* A MISC_CHECK script that runs as root and could be changed by another
 * user (a path component not owned by root, or writable by a non-root
 * group or by all): 1 with why set; 0 when safe or not run as root;
 * -errno when the script or its user cannot be found. */
int lvs_check_misc_unsafe(const struct ka_checker *c, char *why, size_t len);

/* ---- helpers for checkers (check_util.c) ---- */

/* A non-blocking socket of type (SOCK_STREAM / SOCK_DGRAM) and protocol
 * toward the probe's target, bound as the probe asks (bindto, bind_port,
 * bind_if, fwmark), connect() started: 0 or -EINPROGRESS with *fd set,
 * else -errno (nothing left open). */
int lvs_probe_connect(const struct lvs_probe *p, int type, int protocol, int *fd);
/* The monotonic clock, ns. */
uint64_t lvs_probe_now_ns(void);
/* Microseconds left until the probe's deadline (at least 1). */
uint64_t lvs_probe_left_us(const struct lvs_probe *p);
/* "192.168.0.2:80" / "[fd00::2]:80" */
const char *lvs_probe_target(const struct lvs_probe *p, char *buf, size_t len);
/* Arm *ev on p->base for fd (-1: a plain timer) and what, timing out at
 * until_ns (monotonic; 0: the probe's deadline).  Creates *ev when NULL,
 * else re-targets it (it must not be active in a callback of another
 * base).  0, or -ENOMEM (*ev, when created, is left for the caller to
 * free). */
int lvs_probe_watch(const struct lvs_probe *p, struct event **ev, int fd, short what,
		    event_callback_fn cb, void *arg, uint64_t until_ns);
/* For a checker whose answer is known inside start: keep the verdict in
 * p->priv and deliver it from a zero-timeout timer, so done never runs
 * inside start.  Returns start's value (0, or -ENOMEM).  The checker's
 * cancel must then call lvs_probe_verdict_cancel(p). */
int lvs_probe_verdict_later(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight,
			    const char *why);
void lvs_probe_verdict_cancel(struct lvs_probe *p);
/* Close a probe's TCP connection with a reset (SO_LINGER 0), as HAProxy's
 * checks end theirs: no FIN exchange, and no TIME_WAIT left on the
 * director (10,000 checks a second would keep 600,000 sockets there). */
void lvs_probe_close_reset(int fd);
/* The state of a checker that waits on one socket, as the first member
 * of its p->priv (calloc'd): lvs_probe_sock_end closes the socket, frees
 * the event and p->priv; lvs_probe_sock_finish does that, then calls
 * done. */
struct lvs_probe_sock {
	int fd;
	struct event *ev;
};
void lvs_probe_sock_end(struct lvs_probe *p);
void lvs_probe_sock_finish(struct lvs_probe *p, enum lvs_probe_result r, const char *why);
/* A connected datagram socket (UDP, ICMP...) toward the probe's target,
 * bound as lvs_probe_connect binds it, with ICMP errors queued
 * (IP_RECVERR / IPV6_RECVERR): 0 with *fd set, or -errno. */
int lvs_probe_dgram(const struct lvs_probe *p, int protocol, int *fd);
/* Read one error from fd's error queue: 1 when it is an ICMP / ICMPv6
 * destination unreachable (*err: its errno, ECONNREFUSED for a port),
 * 0 for another error, -1 when the queue is empty. */
int lvs_probe_icmp_unreach(int fd, int *err);

#endif
