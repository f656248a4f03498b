/*
 * ctlsrv.c - lvsadm's clients on the control loop (see ctlsrv.h).  Each
 * client has a read and a write event, never both pending; each waits
 * with the idle timeout, so a silent client costs nothing but its slot
 * until it is dropped.  One client at a time may run a job (a large -R
 * applied in steps); the others' requests wait parked until it ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "log.h"

struct srv_client;

struct ctlsrv {
	struct lvsd_loop *l;
	int lfd;
	struct event *lev;
	bool accepting;
	struct srv_client *clients; /* all of them, doubly linked */
	unsigned nclients;
	struct srv_client *parked, **parked_tail; /* complete requests held back */
	struct srv_client *runner; /* the client whose command runs as a job */
	struct event *jev;         /* its next step */
};

struct srv_client {
	struct ctlsrv *s;
	struct lvs_ctl_conn *c;
	struct event *rev, *wev;
	struct srv_client *prev, *next;
	struct srv_client *park_next;
};

static void client_free(struct srv_client *cl)
{
	struct ctlsrv *s = cl->s;

	if (s->runner == cl) {
		/* its job cannot answer any more: undo it, the others go on */
		lvs_ctl_job_cancel(lvsd_loop_ctx(s->l)->cst);
		s->runner = NULL;
	}
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	s->nclients--;
	lvsd_loop_event_free(cl->rev);
	lvsd_loop_event_free(cl->wev);
	lvs_ctl_conn_free(cl->c);
	free(cl);
	if (!s->accepting && s->nclients < LVSD_CTL_MAX_CLIENTS && !event_add(s->lev, NULL))
		s->accepting = true;
}

static bool held(const struct ctlsrv *s)
{
	return lvsd_loop_changes_held(s->l) || s->runner;
}

static void release_parked(void *arg);

/*
 * Move cl on as far as it goes without waiting: read, run (unless changes
 * are held or another client's job runs: then park it), write.  A command
 * that goes on as a job makes cl the runner: each further step is a
 * callback of its own (jev), so the loop serves everything else between
 * steps.  Frees cl when it is finished.
 */
static void client_advance(struct srv_client *cl)
{
	struct ctlsrv *s = cl->s;
	struct timeval idle = {.tv_sec = LVSD_CTL_IDLE_MS / 1000,
	                       .tv_usec = (LVSD_CTL_IDLE_MS % 1000) * 1000};

	for (;;) {
		int rc = lvs_ctl_conn_step(cl->c);

		switch (rc) {
		case LVS_CTL_WANT_RUN:
			if (s->runner != cl && held(s)) {
				cl->park_next = NULL;
				*s->parked_tail = cl;
				s->parked_tail = &cl->park_next;
				return;
			}
			lvs_ctl_conn_run(lvsd_loop_ctx(s->l)->cst, cl->c);
			if (lvs_ctl_conn_running(cl->c)) {
				/* a zero timeout, not event_active: libevent runs
				 * events activated from a callback in the same round,
				 * before it looks at descriptors again */
				static const struct timeval now;

				s->runner = cl;
				if (event_add(s->jev, &now))
					event_active(s->jev, EV_TIMEOUT, 0);
				return;
			}
			if (s->runner == cl) {
				/* the job finished: the gc it held back, then the
				 * requests that waited */
				s->runner = NULL;
				lvsd_loop_kick_gc(s->l);
				if (!lvsd_loop_changes_held(s->l))
					release_parked(s);
			}
			continue;
		case LVS_CTL_WANT_READ:
			if (event_add(cl->rev, &idle))
				break;
			return;
		case LVS_CTL_WANT_WRITE:
			if (event_add(cl->wev, &idle))
				break;
			return;
		default:
			if (rc < 0 && rc != -EPERM)
				lvs_debug("control socket: client ended: %s", strerror(-rc));
			break;
		}
		client_free(cl);
		return;
	}
}

static void job_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsrv *s = arg;

	(void)fd;
	(void)what;
	if (s->runner)
		client_advance(s->runner);
}

static void client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv_client *cl = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		lvs_debug("control socket: idle client dropped");
		client_free(cl);
		return;
	}
	client_advance(cl);
}

/* The gc ran: requests held back meanwhile run now, in arrival order. */
static void release_parked(void *arg)
{
	struct ctlsrv *s = arg;
	struct srv_client *cl = s->parked;

	s->parked = NULL;
	s->parked_tail = &s->parked;
	while (cl && !held(s)) {
		struct srv_client *next = cl->park_next;

		client_advance(cl);
		cl = next;
	}
	/* held again meanwhile (a job began): park the rest */
	while (cl) {
		struct srv_client *next = cl->park_next;

		cl->park_next = NULL;
		*s->parked_tail = cl;
		s->parked_tail = &cl->park_next;
		cl = next;
	}
}

static int client_new(struct ctlsrv *s, struct lvs_ctl_conn *c)
{
	struct srv_client *cl = calloc(1, sizeof(*cl));
	int fd = lvs_ctl_conn_fd(c);

	if (cl) {
		cl->s = s;
		cl->c = c;
		cl->rev = lvsd_loop_event_new(s->l, fd, EV_READ, "ctl request", client_cb, cl);
		cl->wev = lvsd_loop_event_new(s->l, fd, EV_WRITE, "ctl reply", client_cb, cl);
	}
	if (!cl || !cl->rev || !cl->wev) {
		if (cl) {
			lvsd_loop_event_free(cl->rev);
			lvsd_loop_event_free(cl->wev);
			free(cl);
		}
		lvs_ctl_conn_free(c);
		return -ENOMEM;
	}
	cl->next = s->clients;
	if (s->clients)
		s->clients->prev = cl;
	s->clients = cl;
	s->nclients++;
	/* the first step runs as this client's own callback (its request is
	 * likely there already), so its time is counted as "ctl request" */
	event_active(cl->rev, EV_READ, 0);
	return 0;
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsrv *s = arg;

	(void)what;
	/* a bounded batch: clients arriving faster wait for the next round */
	for (int i = 0; i < 32; i++) {
		struct lvs_ctl_conn *c;
		int rc;

		if (s->nclients >= LVSD_CTL_MAX_CLIENTS) {
			event_del(s->lev);
			s->accepting = false;
			return;
		}
		rc = lvs_ctl_conn_accept(fd, &c);
		if (rc == -EAGAIN)
			return;
		if (rc) {
			lvs_debug("control socket: accept: %s", strerror(-rc));
			return;
		}
		if (client_new(s, c))
			lvs_warn("control socket: out of memory for a client");
	}
}

static void ctlsrv_free(void *arg)
{
	struct ctlsrv *s = arg;

	s->parked = NULL;
	s->accepting = true; /* no re-arming of the listener on the way out */
	while (s->clients)
		client_free(s->clients);
	lvsd_loop_event_free(s->lev);
	lvsd_loop_event_free(s->jev);
	close(s->lfd);
	free(s);
}

int lvsd_ctlsrv_register(struct lvsd_loop *l, int listen_fd)
{
	struct ctlsrv *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->l = l;
	s->lfd = listen_fd;
	s->parked_tail = &s->parked;
	s->lev = lvsd_loop_event_new(l, listen_fd, EV_READ | EV_PERSIST, "ctl accept", accept_cb,
	                             s);
	s->jev = lvsd_loop_event_new(l, -1, 0, "ctl job step", job_cb, s);
	if (!s->lev || !s->jev || event_add(s->lev, NULL) ||
	    lvsd_loop_on_free(l, ctlsrv_free, s)) {
		lvsd_loop_event_free(s->lev);
		lvsd_loop_event_free(s->jev);
		free(s);
		return -ENOMEM;
	}
	s->accepting = true;
	lvsd_loop_set_release(l, release_parked, s);
	return 0;
}
