/*
 * worker.c - the forwarding worker's loop (see worker.h): receive a burst
 * per queue, run it through the director, send, hold or answer, tick the
 * timers, and sleep in poll() when nothing came.  An idle worker is an
 * offline RCU reader, so it never holds up a grace period while asleep.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "netstate.h"
#include "nfqueue.h"
#include "vip.h"
#include "worker.h"

lvs_time_t lvsd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

/* Held frames a later run forwarded: AF_PACKET sends on any interface. */
static void worker_tx_held(void *arg, struct lvs_pkt *const *pkts, unsigned n)
{
	struct lvsd_worker *wk = arg;

	wk->d->io->tx(wk->q[0], pkts, n);
}

int lvsd_worker_init(struct lvsd_worker *wk, struct lvsd *d, unsigned id)
{
	memset(wk, 0, sizeof(*wk));
	wk->d = d;
	wk->w.d = &d->dir;
	wk->w.id = id;
	wk->hq = lvs_holdq_new(&wk->w, worker_tx_held, wk);
	wk->w.frag = lvs_frag_new(&wk->w.drops, &wk->w.dropped);
	return wk->hq && wk->w.frag ? 0 : -ENOMEM;
}

void lvsd_worker_fini(struct lvsd_worker *wk)
{
	lvs_holdq_free(wk->hq);
	wk->hq = NULL;
	lvs_frag_free(wk->w.frag);
	wk->w.frag = NULL;
}

/* Fragments made ready by the last burst (held for their first, or cut
 * to the MTU): run and send them.  Bounded by the table's slots. */
static void worker_frags(struct lvsd_worker *wk, unsigned i, lvs_time_t now)
{
	struct lvs_pkt *out[LVS_DIRECTOR_BURST];
	unsigned ntx;

	while (lvs_director_frag_run(&wk->w, now, out, LVS_DIRECTOR_BURST, &ntx))
		if (ntx)
			wk->d->io->tx(wk->q[i], out, ntx);
}

/* One receive queue: a burst through the director, then one send. */
static unsigned worker_queue(struct lvsd_worker *wk, unsigned i, lvs_time_t now)
{
	const struct lvs_io_ops *io = wk->d->io;
	unsigned n = io->rx(wk->q[i], wk->pkts, LVS_IO_BURST), ntx = 0;
	struct lvs_pkt *pp[LVS_IO_BURST];
	enum lvs_verdict vv[LVS_IO_BURST];
	enum lvs_drop why[LVS_IO_BURST];

	if (!n)
		return 0;
	for (unsigned k = 0; k < n; k++)
		pp[k] = &wk->pkts[k];
	/* The whole burst's connection lookups overlap their misses. */
	lvs_director_process_burst(&wk->w, pp, n, now, vv, why);
	for (unsigned k = 0; k < n; k++) {
		struct lvs_pkt *p = pp[k];
		enum lvs_verdict v = vv[k];

		if (v == LVS_V_TX) {
			wk->tx[ntx++] = p;
		} else if (v == LVS_V_PASS && wk->d->vips && lvs_vip_input(wk->d->vips, p)) {
			wk->vip_answers++;
			wk->tx[ntx++] = p;
		} else if (v == LVS_V_DROP && why[k] == LVS_DROP_NO_NEIGH) {
			/* the frame is as received: routing failed first */
			lvs_holdq_add(wk->hq, p, now);
		}
	}
	/* AF_PACKET sends on any interface (p->ifindex) */
	if (ntx)
		io->tx(wk->q[i], wk->tx, ntx);
	worker_frags(wk, i, now);
	return n;
}

/*
 * The firewall-mark queue (nfqueue.h): marked packets through the director
 * with their mark; what it forwarded, held or dropped is dropped for the
 * host, what it passed goes on through the host's netfilter.
 */
static unsigned worker_nfq(struct lvsd_worker *wk, lvs_time_t now)
{
	struct lvs_nfq *q = wk->d->nfq;
	unsigned n = lvs_nfq_rx(q, wk->pkts, LVS_IO_BURST), ntx = 0;
	struct lvs_pkt *pp[LVS_IO_BURST];
	enum lvs_verdict vv[LVS_IO_BURST];
	enum lvs_drop why[LVS_IO_BURST];

	if (!n) {
		lvs_nfq_flush(q); /* verdicts of messages it could not take */
		return 0;
	}
	for (unsigned k = 0; k < n; k++)
		pp[k] = &wk->pkts[k];
	lvs_director_process_burst(&wk->w, pp, n, now, vv, why);
	for (unsigned k = 0; k < n; k++) {
		if (vv[k] == LVS_V_TX)
			wk->tx[ntx++] = pp[k];
		else if (vv[k] == LVS_V_DROP && why[k] == LVS_DROP_NO_NEIGH)
			lvs_holdq_add(wk->hq, pp[k], now);
		lvs_nfq_verdict(q, k, vv[k] == LVS_V_PASS);
	}
	/* forwarded before the host learns it may forget them */
	if (ntx)
		wk->d->io->tx(wk->q[0], wk->tx, ntx);
	lvs_nfq_flush(q);
	return n;
}

/* Idle: sleep until a queue is readable or a timer is due. */
static void worker_sleep(struct lvsd_worker *wk, struct pollfd *pfd, unsigned npfd)
{
	int ms = lvs_holdq_len(wk->hq) ? LVS_HOLDQ_POLL_MS : LVSD_WORKER_POLL_MS;

	wk->idle_sleeps++;
	/* an offline thread does not hold up grace periods */
	rcu_thread_offline();
	if (poll(pfd, npfd, ms) > 0) {
		for (unsigned i = 0; i < npfd; i++) {
			int e;
			socklen_t l = sizeof(e);
			/* e.g. ENETDOWN when the interface went down: reading the
			 * error clears it, or poll() would return at once forever.
			 * The kernel resumes delivery when it comes back up. */
			if (pfd[i].revents & POLLERR) {
				getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &e, &l);
				wk->io_errors++;
			}
		}
	}
	rcu_thread_online();
}

void *lvsd_worker_main(void *arg)
{
	struct lvsd_worker *wk = arg;
	struct lvsd *d = wk->d;
	struct pollfd pfd[LVSD_MAX_IFACES + 1];
	lvs_time_t last_tick = 0;
	/* the firewall-mark queue is read by worker 0 */
	bool nfq = wk->w.id == 0 && d->nfq;
	unsigned npfd = wk->nq;

	rcu_register_thread();
	for (unsigned i = 0; i < wk->nq; i++) {
		pfd[i].fd = d->io->fd(wk->q[i]);
		pfd[i].events = POLLIN;
	}
	if (nfq) {
		pfd[npfd].fd = lvs_nfq_fd(d->nfq);
		pfd[npfd++].events = POLLIN;
	}
	while (!__atomic_load_n(&d->stopping, __ATOMIC_RELAXED)) {
		lvs_time_t now = lvsd_now();
		bool busy = false;

		/* Held frames first (they came before anything received now).
		 * The generation is read before this loop's routes: a resolution
		 * they miss shows as a new generation next time. */
		lvs_holdq_run(wk->hq, d->netstate ? lvs_netstate_neigh_gen(d->netstate) : 0, now);
		for (unsigned i = 0; i < wk->nq; i++)
			busy |= worker_queue(wk, i, now) > 0;
		if (nfq)
			busy |= worker_nfq(wk, now) > 0;
		if (now - last_tick >= LVSD_WORKER_TICK_NS) {
			lvs_worker_tick(&wk->w, now);
			last_tick = now;
		}
		rcu_quiescent_state();
		if (!busy)
			worker_sleep(wk, pfd, npfd);
	}
	lvs_holdq_drop_all(wk->hq);
	rcu_unregister_thread();
	return NULL;
}
