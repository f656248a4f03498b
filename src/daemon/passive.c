/*
 * passive.c - passive detection on the control loop (see passive.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "passive.h"
#include "worker.h"

struct pent {
	struct lvs_svc_key k;
	struct lvs_dest_conf d;
	struct lvs_dest_state *ds;
	unsigned level;      /* take-outs in a row: the back-off doubles */
	bool down;
	lvs_time_t until;    /* down: when it is tried again */
	lvs_time_t last;     /* the last take-out */
	uint64_t takeouts;
	uint32_t failures;   /* in a row, at the last take-out */
};

struct lvsd_passive {
	struct lvsd_loop *l;
	unsigned threshold;
	struct event *tick;
	struct pent *v;
	unsigned n, cap;
};

static const char *dest_str(const struct pent *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], v[INET6_ADDRSTRLEN];

	inet_ntop(e->d.af, &e->d.addr, a, sizeof(a));
	inet_ntop(e->k.af, &e->k.addr, v, sizeof(v));
	snprintf(buf, len, "%s:%u of %s:%u", a, ntohs(e->d.port), v, ntohs(e->k.port));
	return buf;
}

static struct pent *find(struct lvsd_passive *p, const struct lvs_dest_state *ds)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->v[i].ds == ds)
			return &p->v[i];
	return NULL;
}

static void take_out(struct lvsd_passive *p, struct lvsd *d, const struct lvs_service *svc,
		     const struct lvs_dest *dest, uint32_t run, lvs_time_t now)
{
	struct pent *e = find(p, dest->st);
	char why[LVS_HEALTH_REASON_MAX], b[128];
	unsigned secs;

	if (!e) {
		if (p->n == p->cap) {
			unsigned nc = p->cap ? p->cap * 2 : 16;
			struct pent *nv = realloc(p->v, nc * sizeof(*nv));
			if (!nv)
				return;
			p->v = nv;
			p->cap = nc;
		}
		e = &p->v[p->n++];
		memset(e, 0, sizeof(*e));
		e->ds = dest->st;
	}
	memset(&e->k, 0, sizeof(e->k));
	lvs_svc_conf_key(&svc->c, &e->k);
	e->d = dest->c;
	if (e->level && now - e->last > (lvs_time_t)LVSD_PASSIVE_FORGET_S * LVS_NS_PER_SEC)
		e->level = 0;
	secs = LVSD_PASSIVE_BASE_S << (e->level < 6 ? e->level : 6);
	if (secs > LVSD_PASSIVE_MAX_S)
		secs = LVSD_PASSIVE_MAX_S;
	snprintf(why, sizeof(why), "passive: %u handshakes failed in a row", run);
	if (lvs_model_set_dest_passive(d->dir.model, &e->k, &e->d, true, why))
		return;
	e->level++;
	e->down = true;
	e->last = now;
	e->until = now + (lvs_time_t)secs * LVS_NS_PER_SEC;
	e->takeouts++;
	e->failures = run;
	lvs_notice("passive: %s out: %u handshakes failed in a row; tried again in %u s",
		   dest_str(e, b, sizeof(b)), run, secs);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_passive *p = arg;
	struct lvsd *d = lvsd_loop_ctx(p->l);
	const struct lvs_snapshot *s;
	lvs_time_t now = lvsd_now();
	bool changed = false;
	char b[128];

	(void)fd;
	(void)what;
	if (lvs_ctl_busy(d->cst))
		return; /* an lvsadm -R job has the model: next second */
	/* back on probation: the count starts again */
	for (unsigned i = 0; i < p->n; i++) {
		struct pent *e = &p->v[i];
		int rc;

		if (!e->down || now < e->until)
			continue;
		rc = lvs_model_set_dest_passive(d->dir.model, &e->k, &e->d, false, NULL);
		e->down = false;
		changed = true;
		if (rc) { /* gone from the configuration meanwhile */
			p->v[i--] = p->v[--p->n];
			continue;
		}
		__atomic_store_n(&e->ds->hs_fail_run, 0, __ATOMIC_RELAXED);
		lvs_notice("passive: %s back on probation", dest_str(e, b, sizeof(b)));
	}
	s = lvs_model_snapshot(d->dir.model);
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			uint32_t run = __atomic_load_n(&svc->dests[j]->st->hs_fail_run,
						       __ATOMIC_RELAXED);
			if (run >= p->threshold) {
				take_out(p, d, svc, svc->dests[j], run, now);
				changed = true;
			}
		}
	}
	/* forget servers that have done well for long enough */
	for (unsigned i = 0; i < p->n; i++)
		if (!p->v[i].down &&
		    now - p->v[i].last > (lvs_time_t)LVSD_PASSIVE_FORGET_S * LVS_NS_PER_SEC)
			p->v[i--] = p->v[--p->n];
	if (changed)
		lvsd_loop_vips_sync(p->l, false);
}

void lvsd_passive_print(const struct lvsd_passive *p, FILE *f)
{
	lvs_time_t now = lvsd_now();
	char b[128];

	if (!p)
		return;
	fprintf(f, "Passive detection: out after %u failed handshakes in a row (NAT)\n",
		p->threshold);
	for (unsigned i = 0; i < p->n; i++) {
		const struct pent *e = &p->v[i];

		if (e->down)
			fprintf(f, "  -> %-40s out: %u handshakes failed; back in %llu s\n",
				dest_str(e, b, sizeof(b)), e->failures,
				(unsigned long long)((e->until - now) / LVS_NS_PER_SEC + 1));
		else
			fprintf(f, "  -> %-40s on probation (taken out %llu time%s)\n",
				dest_str(e, b, sizeof(b)), (unsigned long long)e->takeouts,
				e->takeouts == 1 ? "" : "s");
	}
}

static void passive_print_hook(void *arg, FILE *f)
{
	lvsd_passive_print(arg, f);
}

static void passive_free(void *arg)
{
	struct lvsd_passive *p = arg;

	lvsd_loop_event_free(p->tick);
	free(p->v);
	free(p);
}

int lvsd_passive_register(struct lvsd_loop *l, unsigned threshold)
{
	struct lvsd *d = lvsd_loop_ctx(l);
	struct lvsd_passive *p = calloc(1, sizeof(*p));
	struct timeval tv = {.tv_sec = 1};

	if (!p)
		return -ENOMEM;
	p->l = l;
	p->threshold = threshold;
	p->tick = lvsd_loop_event_new(l, -1, EV_PERSIST, "passive detection", tick_cb, p);
	if (!p->tick || event_add(p->tick, &tv) || lvsd_loop_on_free(l, passive_free, p)) {
		lvsd_loop_event_free(p->tick);
		free(p);
		return -ENOMEM;
	}
	d->passive = p;
	if (!d->cst->checks) { /* no configuration file: the listing is ours */
		d->cst->checks = passive_print_hook;
		d->cst->checks_arg = p;
	}
	return 0;
}
