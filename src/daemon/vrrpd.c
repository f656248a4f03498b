/*
 * vrrpd.c - VRRP instances on the `lvsd-vrrp` thread (see vrrpd.h): the
 * state machine of each instance (vrrp_fsm.c) fed by its socket
 * (vrrp_sock.c) and its timer, tracking, announcements, notify scripts,
 * and the held flags of its addresses in the director's standby set.
 *
 * Threads.  Everything of an instance lives on the VRRP thread.  The
 * control thread builds the configuration (a copy of keepalived.conf's
 * VRRP part, so a reload can free the file), starts and stops the thread,
 * and asks for listings by a call that runs on the VRRP thread
 * (lvs_evthread_call); state changes reach the control thread through a
 * queue and an eventfd, for the hook (connection sync).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "announce.h"
#include "check_notify.h"
#include "checker.h"
#include "evthread.h"
#include "log.h"
#include "standby.h"
#include "vip.h"
#include "vrrp_fsm.h"
#include "vrrp_sock.h"
#include "vrrpd.h"

#define VRRP_THREAD_NAME "lvsd-vrrp"
#define NS_PER_US 1000ull

/* ---- the configuration, copied ---- */

struct vaddr {
	uint8_t af;
	union lvs_addr a;
	uint8_t prefix;
	bool excluded;                /* virtual_ipaddress_excluded: not advertised */
	char dev[IF_NAMESIZE];        /* where it is announced */
	struct lvs_standby_entry *e;  /* its held flag */
};

struct vscript {
	char *name;
	struct ka_checker chk;  /* a MISC_CHECK of the script */
	uint64_t interval_ns;
	uint64_t timeout_us;
	int32_t weight;
	bool reverse;
	uint32_t rise, fall;
	bool init_fail;
	/* ---- the VRRP thread's ---- */
	struct lvsd_vrrp *vr;
	struct lvs_probe p;
	bool running;
	bool ok;              /* the script's state after rise / fall */
	uint32_t streak;      /* results in a row against the state */
	struct event *timer;
	uint64_t runs, failures;
};

struct vtrack {
	char ifname[IF_NAMESIZE];  /* an interface, or */
	struct vscript *script;    /* a script */
	int32_t weight;
	bool reverse;
	bool up;                   /* the interface's state (the thread's) */
};

struct vgroup;

struct vinst {
	struct lvsd_vrrp *vr;
	char *name;
	struct vgroup *grp;
	struct vrrp_inst_conf conf;
	struct vrrp_sock_conf sconf;
	uint8_t base_prio;
	struct vaddr *addrs;
	unsigned naddr;
	struct vtrack *tracks;
	unsigned ntracks;
	char *notify[5];               /* master, backup, fault, stop, any */
	uint64_t garp_delay_ns, garp_interval_ns, gna_interval_ns;
	uint32_t garp_rep, garp_refresh_s, garp_refresh_rep;
	/* ---- the VRRP thread's ---- */
	struct vrrp_inst fsm;
	struct vrrp_sock sock;
	bool sock_open;
	struct event *rx_ev, *timer, *garp_ev, *refresh_ev;
	unsigned garp_left;            /* announcements left in this round */
	bool garp_delayed;             /* the delayed round is still to come */
	union lvs_addr master;         /* the last master heard (BACKUP) */
	bool master_known;
	time_t since;                  /* the last state change (wall clock) */
	bool sock_failed;              /* no socket: FAULT */
	uint64_t garps_sent;
	bool faulty;
};

enum { N_MASTER, N_BACKUP, N_FAULT, N_STOP, N_ANY };

struct vgroup {
	char *name;
	struct vinst **m;
	unsigned n;
	char *notify[5];
};

struct vconf {
	struct vinst *inst;
	unsigned ninst;
	struct vgroup *grp;
	unsigned ngrp;
	struct vscript *scripts;
	unsigned nscripts;
	char *fingerprint; /* the VRRP part as text, to see whether a reload changed it */
};

struct sevent {
	char inst[64];
	int state;
};

struct lvsd_vrrp {
	struct lvsd *d;
	struct lvsd_loop *l;
	struct vconf c;
	struct lvs_standby *sb;   /* published in d->dir.standby */
	struct lvs_evthread et;
	bool running;
	struct mnl_socket *nl;    /* link notifications (the thread's) */
	struct event *nl_ev;
	int pkt_fd;               /* announcements */
	int ioc_fd;               /* interface ioctls */
	/* state changes for the control thread */
	int q_fd;
	struct event *q_ev;
	pthread_mutex_t mu;
	struct sevent *q;
	unsigned qn, qcap;
	void (*hook)(void *arg, const char *inst, int state);
	void *hook_arg;
};

/* ---- building ---- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void vconf_free(struct vconf *c)
{
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vinst *vi = &c->inst[i];

		free(vi->name);
		free(vi->addrs);
		free(vi->tracks);
		for (unsigned k = 0; k < 5; k++)
			free(vi->notify[k]);
	}
	for (unsigned i = 0; i < c->ngrp; i++) {
		free(c->grp[i].name);
		free(c->grp[i].m);
		for (unsigned k = 0; k < 5; k++)
			free(c->grp[i].notify[k]);
	}
	for (unsigned i = 0; i < c->nscripts; i++) {
		free(c->scripts[i].name);
		free(c->scripts[i].chk.misc_path);
		free(c->scripts[i].chk.user);
		free(c->scripts[i].chk.group);
	}
	free(c->inst);
	free(c->grp);
	free(c->scripts);
	free(c->fingerprint);
	memset(c, 0, sizeof(*c));
}

static void notify_copy(char *dst[5], const struct ka_vrrp_notify *n)
{
	dst[N_MASTER] = xstrdup(n->master);
	dst[N_BACKUP] = xstrdup(n->backup);
	dst[N_FAULT] = xstrdup(n->fault);
	dst[N_STOP] = xstrdup(n->stop);
	dst[N_ANY] = xstrdup(n->any);
}

static struct vscript *script_of(struct vconf *c, const struct ka_vrrp_script *ks)
{
	for (unsigned i = 0; i < c->nscripts; i++)
		if (!strcmp(c->scripts[i].name, ks->name))
			return &c->scripts[i];
	return NULL;
}

static int tracks_add(struct vconf *c, struct vinst *vi, const struct ka_vrrp_track *t, bool ifs)
{
	for (; t; t = t->next) {
		struct vtrack *nt = realloc(vi->tracks, (vi->ntracks + 1) * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		vi->tracks = nt;
		nt = &vi->tracks[vi->ntracks++];
		memset(nt, 0, sizeof(*nt));
		nt->reverse = t->reverse;
		if (ifs) {
			snprintf(nt->ifname, sizeof(nt->ifname), "%s", t->name);
			nt->weight = t->weight_set ? t->weight : 0;
		} else {
			nt->script = t->script ? script_of(c, t->script) : NULL;
			if (!nt->script) {
				vi->ntracks--;
				continue;
			}
			nt->weight = t->weight_set ? t->weight : nt->script->weight;
			/* the script's weight and `reverse` unless the track
			 * gives its own (keepalived) */
			nt->reverse = t->weight_set ? t->reverse : nt->script->reverse;
		}
	}
	return 0;
}

static int addrs_add(struct vinst *vi, const struct ka_vrrp_vip *v, bool excluded)
{
	for (; v; v = v->next) {
		struct vaddr *na = realloc(vi->addrs, (vi->naddr + 1) * sizeof(*na));

		if (!na)
			return -ENOMEM;
		vi->addrs = na;
		na = &vi->addrs[vi->naddr++];
		memset(na, 0, sizeof(*na));
		na->af = v->addr.af;
		na->a = v->addr.a;
		na->prefix = v->prefix;
		na->excluded = excluded;
		snprintf(na->dev, sizeof(na->dev), "%s", v->dev ? v->dev : vi->sconf.ifname);
	}
	return 0;
}

static void fingerprint(struct vconf *c)
{
	char *buf = NULL, a[INET6_ADDRSTRLEN];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	for (unsigned i = 0; i < c->ninst; i++) {
		const struct vinst *vi = &c->inst[i];

		fprintf(f, "inst %s grp %s if %s\n", vi->name, vi->grp ? vi->grp->name : "-",
			vi->sconf.ifname);
		fwrite(&vi->conf, sizeof(vi->conf), 1, f);
		fwrite(&vi->sconf, sizeof(vi->sconf), 1, f);
		for (unsigned k = 0; k < vi->naddr; k++)
			fprintf(f, " %s/%u %s %d", lvs_addr_str(vi->addrs[k].af, &vi->addrs[k].a, a,
							       sizeof(a)),
				vi->addrs[k].prefix, vi->addrs[k].dev, vi->addrs[k].excluded);
		for (unsigned k = 0; k < vi->ntracks; k++)
			fprintf(f, " t %s %s %d %d", vi->tracks[k].ifname,
				vi->tracks[k].script ? vi->tracks[k].script->name : "-",
				vi->tracks[k].weight, vi->tracks[k].reverse);
		for (unsigned k = 0; k < 5; k++)
			fprintf(f, " n %s", vi->notify[k] ? vi->notify[k] : "-");
		fprintf(f, " g %llu %llu %llu %u %u %u\n", (unsigned long long)vi->garp_delay_ns,
			(unsigned long long)vi->garp_interval_ns,
			(unsigned long long)vi->gna_interval_ns, vi->garp_rep, vi->garp_refresh_s,
			vi->garp_refresh_rep);
	}
	for (unsigned i = 0; i < c->nscripts; i++) {
		const struct vscript *s = &c->scripts[i];

		fprintf(f, "script %s %s %s %s %llu %llu %d %d %u %u %d\n", s->name, s->chk.misc_path,
			s->chk.user ? s->chk.user : "-", s->chk.group ? s->chk.group : "-",
			(unsigned long long)s->interval_ns, (unsigned long long)s->timeout_us,
			s->weight, s->reverse, s->rise, s->fall, s->init_fail);
	}
	for (unsigned i = 0; i < c->ngrp; i++)
		for (unsigned k = 0; k < 5; k++)
			fprintf(f, "grp %s %s\n", c->grp[i].name,
				c->grp[i].notify[k] ? c->grp[i].notify[k] : "-");
	fclose(f);
	c->fingerprint = buf;
}

static int inst_copy(struct vconf *c, struct vinst *vi, const struct ka_config *kc,
		     const struct ka_vrrp_inst *k)
{
	struct vrrp_inst_conf *fc = &vi->conf;
	unsigned n = 0;
	int rc;

	vi->name = strdup(k->name);
	if (!vi->name)
		return -ENOMEM;
	memset(fc, 0, sizeof(*fc));
	fc->version = k->version;
	fc->af = k->af;
	fc->vrid = (uint8_t)k->vrid;
	fc->priority = (uint8_t)k->priority;
	vi->base_prio = fc->priority;
	fc->adver_int_cs = (uint16_t)(k->advert_int / 10000);
	if (!fc->adver_int_cs)
		fc->adver_int_cs = 1;
	fc->preempt = !k->nopreempt;
	fc->want_master = k->state == KA_VRRP_MASTER;
	fc->check_addrs = k->strict > 0;
	fc->preempt_delay_ns = k->preempt_delay * NS_PER_US;
	fc->auth_type = k->auth_type == KA_VRRP_AUTH_PASS ? VRRP_AUTH_PASS : VRRP_AUTH_NONE;
	memcpy(fc->auth_pass, k->auth_pass, VRRP_V2_AUTH_LEN);
	for (const struct ka_vrrp_vip *v = k->vips; v && n < VRRP_MAX_ADDRS; v = v->next)
		if (v->addr.af == fc->af)
			fc->addrs[n++] = v->addr.a;
	fc->naddr = (uint8_t)n;

	memset(&vi->sconf, 0, sizeof(vi->sconf));
	snprintf(vi->sconf.ifname, sizeof(vi->sconf.ifname), "%s", k->ifname ? k->ifname : "");
	vi->sconf.af = fc->af;
	if (k->src_ip.af == fc->af)
		vi->sconf.src = k->src_ip.a;
	if (k->unicast) {
		for (const struct ka_vrrp_peer *p = k->peers;
		     p && vi->sconf.npeers < VRRP_SOCK_MAX_PEERS; p = p->next)
			vi->sconf.peers[vi->sconf.npeers++] = p->addr.a;
	} else if (k->mcast_group.af == fc->af) {
		vi->sconf.group = k->mcast_group.a;
	}
	if ((rc = addrs_add(vi, k->vips, false)) || (rc = addrs_add(vi, k->evips, true)))
		return rc;
	if (!k->dont_track_primary && k->ifname) {
		struct ka_vrrp_track own = {.name = k->ifname};

		if ((rc = tracks_add(c, vi, &own, true)))
			return rc;
	}
	if ((rc = tracks_add(c, vi, k->track_ifs, true)) ||
	    (rc = tracks_add(c, vi, k->track_scripts, false)))
		return rc;
	if (k->sync && ((rc = tracks_add(c, vi, k->sync->track_ifs, true)) ||
			(rc = tracks_add(c, vi, k->sync->track_scripts, false))))
		return rc;
	notify_copy(vi->notify, &k->notify);
	vi->garp_delay_ns = k->garp_delay * NS_PER_US;
	vi->garp_rep = k->garp_rep;
	vi->garp_refresh_s = k->garp_refresh;
	vi->garp_refresh_rep = k->garp_refresh_rep;
	vi->garp_interval_ns = kc->global.vrrp.garp_interval * NS_PER_US;
	vi->gna_interval_ns = kc->global.vrrp.gna_interval * NS_PER_US;
	return 0;
}

static int vconf_build(struct vconf *c, const struct ka_config *kc)
{
	unsigned i = 0;
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	for (const struct ka_vrrp_script *s = kc->vscripts; s; s = s->next)
		c->nscripts++;
	for (const struct ka_vrrp_sync_group *g = kc->vsyncs; g; g = g->next)
		c->ngrp++;
	c->scripts = calloc(c->nscripts ? c->nscripts : 1, sizeof(*c->scripts));
	c->grp = calloc(c->ngrp ? c->ngrp : 1, sizeof(*c->grp));
	c->inst = calloc(kc->nvrrp ? kc->nvrrp : 1, sizeof(*c->inst));
	if (!c->scripts || !c->grp || !c->inst)
		goto fail;
	for (const struct ka_vrrp_script *s = kc->vscripts; s; s = s->next, i++) {
		struct vscript *vs = &c->scripts[i];

		vs->name = strdup(s->name);
		vs->chk.type = KA_CHECK_MISC;
		vs->chk.misc_path = strdup(s->script);
		vs->chk.user = xstrdup(s->user);
		vs->chk.group = xstrdup(s->group);
		if (!vs->name || !vs->chk.misc_path)
			goto fail;
		vs->interval_ns = (s->interval ? s->interval : 1000000) * NS_PER_US;
		vs->timeout_us = s->timeout ? s->timeout : (s->interval ? s->interval : 1000000);
		vs->chk.misc_timeout = vs->timeout_us;
		vs->weight = s->weight;
		vs->reverse = s->reverse;
		vs->rise = s->rise ? s->rise : 1;
		vs->fall = s->fall ? s->fall : 1;
		vs->init_fail = s->init_fail;
	}
	i = 0;
	for (const struct ka_vrrp_sync_group *g = kc->vsyncs; g; g = g->next, i++) {
		c->grp[i].name = strdup(g->name);
		c->grp[i].m = calloc(g->ninsts ? g->ninsts : 1, sizeof(*c->grp[i].m));
		if (!c->grp[i].name || !c->grp[i].m)
			goto fail;
		notify_copy(c->grp[i].notify, &g->notify);
	}
	for (const struct ka_vrrp_inst *k = kc->vrrps; k; k = k->next) {
		struct vinst *vi = &c->inst[c->ninst++];

		if ((rc = inst_copy(c, vi, kc, k)))
			goto fail;
		rc = -ENOMEM;
		if (k->sync) {
			unsigned gi = 0;

			for (const struct ka_vrrp_sync_group *g = kc->vsyncs; g && g != k->sync;
			     g = g->next)
				gi++;
			vi->grp = &c->grp[gi];
			c->grp[gi].m[c->grp[gi].n++] = vi;
		}
	}
	fingerprint(c);
	return 0;
fail:
	vconf_free(c);
	return rc;
}

/* The standby set of c's addresses, each address bound to its entry. */
static struct lvs_standby *standby_build(struct vconf *c)
{
	unsigned n = 0, k = 0;
	uint8_t *af;
	union lvs_addr *a;
	struct lvs_standby *sb;

	for (unsigned i = 0; i < c->ninst; i++)
		n += c->inst[i].naddr;
	af = calloc(n ? n : 1, sizeof(*af));
	a = calloc(n ? n : 1, sizeof(*a));
	if (!af || !a) {
		free(af);
		free(a);
		return NULL;
	}
	for (unsigned i = 0; i < c->ninst; i++)
		for (unsigned j = 0; j < c->inst[i].naddr; j++, k++) {
			af[k] = c->inst[i].addrs[j].af;
			a[k] = c->inst[i].addrs[j].a;
		}
	sb = lvs_standby_new(af, a, n);
	free(af);
	free(a);
	if (!sb)
		return NULL;
	for (unsigned i = 0; i < c->ninst; i++)
		for (unsigned j = 0; j < c->inst[i].naddr; j++) {
			struct vaddr *va = &c->inst[i].addrs[j];
			va->e = lvs_standby_find(sb, va->af, &va->a);
		}
	return sb;
}

/* ---- the VRRP thread ---- */

static uint64_t now_ns(void)
{
	return lvs_probe_now_ns();
}

static void inst_arm(struct vinst *vi)
{
	uint64_t dl = vrrp_fsm_next_deadline(&vi->fsm), now = now_ns();
	struct timeval tv;

	if (dl == UINT64_MAX) {
		evtimer_del(vi->timer);
		return;
	}
	dl = dl > now ? dl - now : 0;
	tv.tv_sec = (time_t)(dl / LVS_NS_PER_SEC);
	tv.tv_usec = (suseconds_t)(dl % LVS_NS_PER_SEC / 1000);
	evtimer_add(vi->timer, &tv);
}

static void post_state(struct vinst *vi)
{
	struct lvsd_vrrp *vr = vi->vr;

	pthread_mutex_lock(&vr->mu);
	if (vr->qn == vr->qcap) {
		unsigned nc = vr->qcap ? vr->qcap * 2 : 16;
		struct sevent *nq = realloc(vr->q, nc * sizeof(*nq));

		if (!nq) {
			pthread_mutex_unlock(&vr->mu);
			return;
		}
		vr->q = nq;
		vr->qcap = nc;
	}
	snprintf(vr->q[vr->qn].inst, sizeof(vr->q[vr->qn].inst), "%s", vi->name);
	vr->q[vr->qn].state = vi->fsm.state;
	vr->qn++;
	pthread_mutex_unlock(&vr->mu);
	(void)!write(vr->q_fd, &(uint64_t){1}, sizeof(uint64_t));
}

static const char *state_word(enum vrrp_state s)
{
	switch (s) {
	case VRRP_STATE_MASTER:
		return "MASTER";
	case VRRP_STATE_BACKUP:
		return "BACKUP";
	case VRRP_STATE_FAULT:
		return "FAULT";
	default:
		return "STOP";
	}
}

/* keepalived's notify scripts: the state's own, then `notify` with
 * TYPE NAME STATE PRIORITY. */
static void notify_run(struct lvsd_vrrp *vr, char *const notify[5], const char *type,
		       const char *name, enum vrrp_state s, unsigned prio)
{
	int which = s == VRRP_STATE_MASTER ? N_MASTER
		    : s == VRRP_STATE_BACKUP ? N_BACKUP
		    : s == VRRP_STATE_FAULT  ? N_FAULT
					     : N_STOP;
	char what[96], *line = NULL;

	snprintf(what, sizeof(what), "vrrp %s %s", type, name);
	if (notify[which])
		lvs_check_notify(vr->et.base, notify[which], what);
	if (notify[N_ANY] && asprintf(&line, "%s %s \"%s\" %s %u", notify[N_ANY], type, name,
				      state_word(s), prio) > 0) {
		lvs_check_notify(vr->et.base, line, what);
		free(line);
	}
}

static int if_mac(struct lvsd_vrrp *vr, const char *dev, uint8_t mac[6], int *ifindex)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(vr->ioc_fd, SIOCGIFHWADDR, &ifr) || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	*ifindex = (int)if_nametoindex(dev);
	return *ifindex ? 0 : -1;
}

/* One announcement of every address of vi (family fam, 0: both). */
static void garp_send(struct vinst *vi, int fam)
{
	struct lvsd_vrrp *vr = vi->vr;

	for (unsigned i = 0; i < vi->naddr; i++) {
		const struct vaddr *va = &vi->addrs[i];
		uint8_t f[LVS_ANNOUNCE_MAX], mac[6];
		struct sockaddr_ll sll;
		int ifindex;
		size_t len;

		if ((fam && va->af != fam) || if_mac(vr, va->dev, mac, &ifindex))
			continue;
		len = va->af == AF_INET ? lvs_frame_garp(f, mac, &va->a)
					: lvs_frame_una(f, mac, &va->a, true);
		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_ifindex = ifindex;
		memcpy(&sll.sll_protocol, f + 12, 2);
		sll.sll_halen = ETH_ALEN;
		memcpy(sll.sll_addr, f, ETH_ALEN);
		if (sendto(vr->pkt_fd, f, len, MSG_DONTWAIT, (struct sockaddr *)&sll,
			   sizeof(sll)) < 0)
			lvs_debug("vrrp (%s): announcement on %s: %s", vi->name, va->dev,
				  strerror(errno));
		else
			vi->garps_sent++;
	}
}

static void garp_arm(struct vinst *vi, uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / LVS_NS_PER_SEC),
			     .tv_usec = (suseconds_t)(ns % LVS_NS_PER_SEC / 1000)};

	evtimer_add(vi->garp_ev, &tv);
}

/* The gap between two announcements of a round: the larger of
 * garp_interval and gna_interval (an instance may have both families). */
static uint64_t garp_gap(const struct vinst *vi)
{
	return vi->garp_interval_ns > vi->gna_interval_ns ? vi->garp_interval_ns
							  : vi->gna_interval_ns;
}

/* A round of n announcements: all at once without garp_interval /
 * gna_interval, else one every garp_gap. */
static void garp_round(struct vinst *vi, unsigned n)
{
	uint64_t gap = garp_gap(vi);

	if (!n)
		return;
	if (!gap) {
		for (unsigned i = 0; i < n; i++)
			garp_send(vi, 0);
		vi->garp_left = 0;
		if (vi->garp_delayed && vi->garp_delay_ns)
			garp_arm(vi, vi->garp_delay_ns);
		return;
	}
	garp_send(vi, 0);
	vi->garp_left = n - 1;
	garp_arm(vi, vi->garp_left ? gap : vi->garp_delay_ns);
}

static void garp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vinst *vi = arg;

	(void)fd;
	(void)what;
	if (vi->fsm.state != VRRP_STATE_MASTER)
		return;
	if (vi->garp_left) {
		garp_send(vi, 0);
		vi->garp_left--;
		if (vi->garp_left)
			garp_arm(vi, garp_gap(vi));
		else if (vi->garp_delayed && vi->garp_delay_ns)
			garp_arm(vi, vi->garp_delay_ns);
		return;
	}
	if (vi->garp_delayed) {
		/* garp_master_delay after the takeover: the second round */
		vi->garp_delayed = false;
		garp_round(vi, vi->garp_rep);
	}
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vinst *vi = arg;

	(void)fd;
	(void)what;
	if (vi->fsm.state == VRRP_STATE_MASTER)
		for (unsigned i = 0; i < vi->garp_refresh_rep; i++)
			garp_send(vi, 0);
}

static void hold_addrs(struct vinst *vi, bool held)
{
	for (unsigned i = 0; i < vi->naddr; i++)
		if (vi->addrs[i].e)
			lvs_standby_hold(vi->addrs[i].e, held);
}

static void run_actions(struct vinst *vi, const struct vrrp_action *a, unsigned n);

/* A sync group follows its member: the others are forced to its state. */
static void group_follow(struct vinst *vi, enum vrrp_state to)
{
	struct vrrp_action acts[VRRP_MAX_ACTIONS];

	if (!vi->grp)
		return;
	for (unsigned i = 0; i < vi->grp->n; i++) {
		struct vinst *o = vi->grp->m[i];
		unsigned k;

		if (o == vi || o->fsm.state == to || !o->timer)
			continue; /* itself, already there, or not started yet */
		k = vrrp_fsm_force(&o->fsm, to, now_ns(), acts, VRRP_MAX_ACTIONS);
		run_actions(o, acts, k);
		inst_arm(o);
	}
}

static void became(struct vinst *vi, enum vrrp_state from)
{
	struct lvsd_vrrp *vr = vi->vr;
	enum vrrp_state s = vi->fsm.state;

	vi->since = time(NULL);
	lvs_notice("vrrp: (%s) Entering %s STATE (from %s, priority %u)", vi->name,
		   state_word(s), vrrp_state_name(from), vi->fsm.conf.priority);
	if (s == VRRP_STATE_MASTER) {
		hold_addrs(vi, true);
		vi->master = vi->sock.src;
		vi->master_known = true;
		vi->garp_delayed = vi->garp_delay_ns > 0;
		if (vi->garp_refresh_s) {
			struct timeval tv = {.tv_sec = vi->garp_refresh_s};

			evtimer_add(vi->refresh_ev, &tv);
		}
	} else {
		hold_addrs(vi, false);
		vi->garp_left = 0;
		vi->garp_delayed = false;
		evtimer_del(vi->garp_ev);
		evtimer_del(vi->refresh_ev);
		if (s != VRRP_STATE_BACKUP)
			vi->master_known = false;
	}
	notify_run(vr, vi->notify, "INSTANCE", vi->name, s, vi->fsm.conf.priority);
	if (vi->grp) {
		bool all = true;

		for (unsigned i = 0; i < vi->grp->n; i++)
			all = all && vi->grp->m[i]->fsm.state == s;
		if (all)
			notify_run(vr, vi->grp->notify, "GROUP", vi->grp->name, s,
				   vi->fsm.conf.priority);
	}
	post_state(vi);
	if (s == VRRP_STATE_MASTER || s == VRRP_STATE_BACKUP)
		group_follow(vi, s);
}

static void run_actions(struct vinst *vi, const struct vrrp_action *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vrrp_adv adv;
		int rc;

		switch (a[i].kind) {
		case VRRP_ACT_SEND_ADVERT:
			if (!vi->sock_open)
				break;
			vrrp_fsm_advert(&vi->fsm, a[i].priority, &adv);
			rc = vrrp_sock_send(&vi->sock, &adv);
			if (rc && rc != -EAGAIN)
				lvs_debug("vrrp (%s): advert: %s", vi->name, strerror(-rc));
			break;
		case VRRP_ACT_SEND_GARP:
			garp_round(vi, vi->garp_rep ? vi->garp_rep : 1);
			break;
		case VRRP_ACT_BECOME_MASTER:
		case VRRP_ACT_BECOME_BACKUP:
		case VRRP_ACT_BECOME_FAULT:
		case VRRP_ACT_BECOME_INIT:
			became(vi, a[i].from);
			break;
		}
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vinst *vi = arg;
	struct vrrp_action acts[VRRP_MAX_ACTIONS];
	unsigned n;

	(void)fd;
	(void)what;
	n = vrrp_fsm_tick(&vi->fsm, now_ns(), acts, VRRP_MAX_ACTIONS);
	run_actions(vi, acts, n);
	inst_arm(vi);
}

static void rx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vinst *vi = arg;

	(void)fd;
	(void)what;
	for (int budget = 64; budget > 0; budget--) {
		struct vrrp_action acts[VRRP_MAX_ACTIONS];
		struct vrrp_adv adv;
		union lvs_addr src;
		unsigned n;
		int rc = vrrp_sock_recv(&vi->sock, &adv, &src);

		if (rc < 0)
			break;
		if (rc > 0 || adv.vrid != vi->conf.vrid)
			continue; /* counted by the socket / another instance's */
		n = vrrp_fsm_rx(&vi->fsm, &adv, &src, now_ns(), acts, VRRP_MAX_ACTIONS);
		if (vi->fsm.state == VRRP_STATE_MASTER && n && acts[n - 1].kind == VRRP_ACT_SEND_GARP) {
			char a[INET6_ADDRSTRLEN];

			lvs_notice("vrrp: (%s) split brain: %s is master too, with priority %u; "
				   "announcing again", vi->name,
				   lvs_addr_str(vi->conf.af, &src, a, sizeof(a)), adv.priority);
		}
		if (vi->fsm.state == VRRP_STATE_BACKUP && adv.priority) {
			vi->master = src;
			vi->master_known = true;
		}
		run_actions(vi, acts, n);
	}
	inst_arm(vi);
}

/* Fault and priority from the tracked interfaces and scripts (the whole
 * group's faults for a member). */
static bool own_fault(const struct vinst *vi)
{
	if (vi->sock_failed)
		return true;
	for (unsigned i = 0; i < vi->ntracks; i++) {
		const struct vtrack *t = &vi->tracks[i];
		bool up = t->script ? t->script->ok : t->up;

		if (t->reverse)
			up = !up;
		if (!t->weight && !up)
			return true;
	}
	return false;
}

static void inst_eval(struct vinst *vi)
{
	struct vrrp_action acts[VRRP_MAX_ACTIONS];
	bool faulty = own_fault(vi);
	int prio = vi->base_prio;
	unsigned n;

	if (vi->grp)
		for (unsigned i = 0; i < vi->grp->n; i++)
			faulty = faulty || own_fault(vi->grp->m[i]);
	for (unsigned i = 0; i < vi->ntracks; i++) {
		const struct vtrack *t = &vi->tracks[i];
		bool up = t->script ? t->script->ok : t->up;

		if (t->reverse)
			up = !up;
		if ((t->weight > 0 && up) || (t->weight < 0 && !up))
			prio += t->weight;
	}
	if (vi->base_prio != VRRP_PRIO_OWNER) {
		prio = prio < 1 ? 1 : prio > 254 ? 254 : prio;
		if (prio != vi->fsm.conf.priority) {
			lvs_info("vrrp: (%s) priority %u -> %d (tracking)", vi->name,
				 vi->fsm.conf.priority, prio);
			vrrp_fsm_set_priority(&vi->fsm, (uint8_t)prio);
		}
	}
	if (faulty != vi->faulty) {
		vi->faulty = faulty;
		n = vrrp_fsm_fault(&vi->fsm, faulty, now_ns(), acts, VRRP_MAX_ACTIONS);
		run_actions(vi, acts, n);
		inst_arm(vi);
	}
}

static void eval_all(struct lvsd_vrrp *vr)
{
	for (unsigned i = 0; i < vr->c.ninst; i++)
		inst_eval(&vr->c.inst[i]);
}

static bool link_up(struct lvsd_vrrp *vr, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(vr->ioc_fd, SIOCGIFFLAGS, &ifr))
		return false;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

static void links_read(struct lvsd_vrrp *vr)
{
	for (unsigned i = 0; i < vr->c.ninst; i++)
		for (unsigned k = 0; k < vr->c.inst[i].ntracks; k++) {
			struct vtrack *t = &vr->c.inst[i].tracks[k];
			if (!t->script) {
				bool up = link_up(vr, t->ifname);
				if (up != t->up)
					lvs_notice("vrrp: (%s) tracked interface %s is %s",
						   vr->c.inst[i].name, t->ifname,
						   up ? "up" : "down");
				t->up = up;
			}
		}
}

/* Link notifications: read the tracked interfaces' flags again. */
static void nl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_vrrp *vr = arg;
	char buf[8192];

	(void)what;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	links_read(vr);
	eval_all(vr);
}

/* ---- track scripts ---- */

static void script_arm(struct vscript *s, uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / LVS_NS_PER_SEC),
			     .tv_usec = (suseconds_t)(ns % LVS_NS_PER_SEC / 1000)};

	evtimer_add(s->timer, &tv);
}

static void script_done(struct lvs_probe *p, enum lvs_probe_result r, int32_t weight,
			const char *why)
{
	struct vscript *s = p->done_arg;
	bool ok = r == LVS_PROBE_OK;

	(void)weight;
	s->running = false;
	s->runs++;
	if (!ok)
		s->failures++;
	if (ok == s->ok) {
		s->streak = 0;
		return;
	}
	if (++s->streak < (ok ? s->rise : s->fall))
		return;
	s->streak = 0;
	s->ok = ok;
	lvs_notice("vrrp: script %s %s%s%s", s->name, ok ? "succeeded" : "failed",
		   ok || !why ? "" : ": ", ok || !why ? "" : why);
	eval_all(s->vr);
}

static void script_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vscript *s = arg;

	(void)fd;
	(void)what;
	script_arm(s, s->interval_ns);
	if (s->running)
		return; /* still running: its watchdog ends it */
	memset(&s->p, 0, sizeof(s->p));
	s->p.base = s->vr->et.base;
	s->p.cfg = &s->chk;
	s->p.timeout_us = s->timeout_us;
	s->p.deadline_ns = now_ns() + s->timeout_us * NS_PER_US;
	s->p.name = s->name;
	s->p.done = script_done;
	s->p.done_arg = s;
	s->running = true;
	if (lvs_check_misc.start(&s->p)) {
		s->running = false;
		script_done(&s->p, LVS_PROBE_FAIL, -1, "cannot run");
	}
}

/* ---- start and stop (on the thread) ---- */

static void inst_start(struct vinst *vi)
{
	struct lvsd_vrrp *vr = vi->vr;
	struct vrrp_action acts[VRRP_MAX_ACTIONS];
	int rc;
	unsigned n;

	vi->rx_ev = NULL;
	vi->timer = evtimer_new(vr->et.base, timer_cb, vi);
	vi->garp_ev = evtimer_new(vr->et.base, garp_cb, vi);
	vi->refresh_ev = event_new(vr->et.base, -1, EV_PERSIST, refresh_cb, vi);
	rc = vrrp_sock_open(&vi->sock, &vi->sconf);
	if (rc) {
		lvs_err("vrrp: (%s) socket on %s: %s: the instance stays in FAULT", vi->name,
			vi->sconf.ifname, strerror(-rc));
		vi->sock_failed = true;
		vi->fsm.faulty = true;
	} else {
		vi->sock_open = true;
		vi->fsm.conf.primary = vi->sock.src;
		vi->rx_ev = event_new(vr->et.base, vi->sock.fd, EV_READ | EV_PERSIST, rx_cb, vi);
		if (vi->rx_ev)
			event_add(vi->rx_ev, NULL);
	}
	vi->faulty = vi->fsm.faulty;
	vi->since = time(NULL);
	n = vrrp_fsm_start(&vi->fsm, now_ns(), acts, VRRP_MAX_ACTIONS);
	run_actions(vi, acts, n);
	inst_arm(vi);
}

static void call_start(void *arg)
{
	struct lvsd_vrrp *vr = arg;

	vr->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	vr->ioc_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	vr->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (vr->nl && !mnl_socket_bind(vr->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID)) {
		vr->nl_ev = event_new(vr->et.base, mnl_socket_get_fd(vr->nl), EV_READ | EV_PERSIST,
				      nl_cb, vr);
		if (vr->nl_ev)
			event_add(vr->nl_ev, NULL);
	} else {
		lvs_warn("vrrp: link notifications: %s (tracked interfaces are not followed)",
			 strerror(errno));
	}
	links_read(vr);
	for (unsigned i = 0; i < vr->c.nscripts; i++) {
		struct vscript *s = &vr->c.scripts[i];

		s->vr = vr;
		s->ok = !s->init_fail;
		s->timer = evtimer_new(vr->et.base, script_cb, s);
		if (s->timer)
			script_arm(s, 0);
	}
	for (unsigned i = 0; i < vr->c.ninst; i++) {
		struct vinst *vi = &vr->c.inst[i];

		vi->vr = vr;
		if (vrrp_fsm_init(&vi->fsm, &vi->conf)) {
			lvs_err("vrrp: (%s) invalid configuration", vi->name);
			continue;
		}
		vi->fsm.faulty = own_fault(vi);
	}
	for (unsigned i = 0; i < vr->c.ninst; i++)
		inst_start(&vr->c.inst[i]);
	eval_all(vr);
}

/* Shutdown: priority 0 from every MASTER, addresses let go, notify_stop;
 * then every event of the configuration is freed. */
static void call_stop(void *arg)
{
	struct lvsd_vrrp *vr = arg;

	for (unsigned i = 0; i < vr->c.ninst; i++) {
		struct vinst *vi = &vr->c.inst[i];
		struct vrrp_action acts[VRRP_MAX_ACTIONS];
		unsigned n = vrrp_fsm_shutdown(&vi->fsm, now_ns(), acts, VRRP_MAX_ACTIONS);

		run_actions(vi, acts, n);
		hold_addrs(vi, false);
		if (vi->rx_ev)
			event_free(vi->rx_ev);
		if (vi->timer)
			event_free(vi->timer);
		if (vi->garp_ev)
			event_free(vi->garp_ev);
		if (vi->refresh_ev)
			event_free(vi->refresh_ev);
		vi->rx_ev = vi->timer = vi->garp_ev = vi->refresh_ev = NULL;
		vrrp_sock_close(&vi->sock);
		vi->sock_open = false;
	}
	for (unsigned i = 0; i < vr->c.nscripts; i++) {
		struct vscript *s = &vr->c.scripts[i];

		if (s->running)
			lvs_check_misc.cancel(&s->p);
		s->running = false;
		if (s->timer)
			event_free(s->timer);
		s->timer = NULL;
	}
	if (vr->nl_ev)
		event_free(vr->nl_ev);
	vr->nl_ev = NULL;
	if (vr->nl)
		mnl_socket_close(vr->nl);
	vr->nl = NULL;
	if (vr->pkt_fd >= 0)
		close(vr->pkt_fd);
	if (vr->ioc_fd >= 0)
		close(vr->ioc_fd);
	vr->pkt_fd = vr->ioc_fd = -1;
}

/* ---- the control thread ---- */

static void q_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lvsd_vrrp *vr = arg;
	struct sevent *q;
	unsigned n;
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&vr->mu);
	q = vr->q;
	n = vr->qn;
	vr->q = NULL;
	vr->qn = vr->qcap = 0;
	pthread_mutex_unlock(&vr->mu);
	for (unsigned i = 0; i < n && vr->hook; i++)
		vr->hook(vr->hook_arg, q[i].inst, q[i].state);
	free(q);
}

static void vips_extra(struct lvsd_vrrp *vr, bool add)
{
	if (!vr->d->vips)
		return;
	for (unsigned i = 0; i < vr->c.ninst; i++)
		for (unsigned j = 0; j < vr->c.inst[i].naddr; j++)
			lvs_vips_extra(vr->d->vips, vr->c.inst[i].addrs[j].af,
				       &vr->c.inst[i].addrs[j].a, add);
}

static void served_warn(struct lvsd_vrrp *vr)
{
	for (unsigned i = 0; i < vr->c.ninst; i++)
		for (unsigned j = 0; j < vr->c.inst[i].naddr; j++) {
			const struct vaddr *va = &vr->c.inst[i].addrs[j];
			bool served = false;

			for (unsigned k = 0; k < vr->d->nif; k++)
				served = served || !strcmp(vr->d->ifname[k], va->dev);
			if (!served)
				lvs_warn("vrrp: (%s) %s is not an interface lvsd serves: nothing "
					 "answers for the instance's addresses there",
					 vr->c.inst[i].name, va->dev);
		}
}

int lvsd_vrrp_new(struct lvsd *d, const struct ka_config *kc, struct lvsd_vrrp **out)
{
	struct lvsd_vrrp *vr = calloc(1, sizeof(*vr));
	int rc = -ENOMEM;

	*out = NULL;
	if (!vr)
		return rc;
	vr->d = d;
	vr->q_fd = vr->pkt_fd = vr->ioc_fd = -1;
	pthread_mutex_init(&vr->mu, NULL);
	if ((rc = vconf_build(&vr->c, kc))) {
		lvs_err("vrrp: %s", strerror(-rc));
		free(vr);
		return rc;
	}
	vr->sb = standby_build(&vr->c);
	if (!vr->sb) {
		vconf_free(&vr->c);
		free(vr);
		return -ENOMEM;
	}
	lvs_director_set_standby(&d->dir, vr->sb);
	if (d->vips)
		lvs_vips_set_standby(d->vips, &d->dir.standby);
	*out = vr;
	return 0;
}

void lvsd_vrrp_shutdown(struct lvsd_vrrp *vr)
{
	if (vr && vr->running) {
		lvs_evthread_call(&vr->et, call_stop, vr);
		vr->running = false;
	}
}

static void vrrp_free(void *arg)
{
	struct lvsd_vrrp *vr = arg;

	/* the notify_stop scripts are started; their reaping goes with the
	 * thread */
	lvsd_vrrp_shutdown(vr);
	lvs_evthread_stop(&vr->et);
	if (vr->q_ev)
		lvsd_loop_event_free(vr->q_ev);
	if (vr->q_fd >= 0)
		close(vr->q_fd);
	/* the workers have stopped: nobody reads the set any more */
	if (vr->d->vrrp == vr)
		vr->d->vrrp = NULL;
	if (vr->d->cst && vr->d->cst->vrrp_arg == vr)
		vr->d->cst->vrrp = NULL;
	lvs_director_set_standby(&vr->d->dir, NULL);
	if (vr->d->vips)
		lvs_vips_set_standby(vr->d->vips, NULL);
	free(vr->sb);
	vconf_free(&vr->c);
	free(vr->q);
	pthread_mutex_destroy(&vr->mu);
	free(vr);
}

void lvsd_vrrp_free(struct lvsd_vrrp *vr)
{
	if (vr)
		vrrp_free(vr);
}

int lvsd_vrrp_register(struct lvsd_loop *l, struct lvsd_vrrp *vr)
{
	int rc;

	vr->l = l;
	if ((rc = lvsd_loop_on_free(l, vrrp_free, vr))) {
		vrrp_free(vr);
		return rc;
	}
	vr->q_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vr->q_fd < 0)
		return -errno;
	vr->q_ev = lvsd_loop_event_new(l, vr->q_fd, EV_READ | EV_PERSIST, "vrrp states", q_cb, vr);
	if (!vr->q_ev || event_add(vr->q_ev, NULL))
		return -ENOMEM;
	served_warn(vr);
	vips_extra(vr, true);
	lvsd_loop_vips_sync(l, true); /* not a model change: forced */
	if ((rc = lvs_evthread_start(&vr->et, VRRP_THREAD_NAME, 1))) {
		lvs_err("vrrp: thread: %s", strerror(-rc));
		return rc;
	}
	vr->running = true;
	lvs_evthread_call(&vr->et, call_start, vr);
	vr->d->vrrp = vr;
	vr->d->cst->vrrp = (void (*)(void *, FILE *))lvsd_vrrp_print;
	vr->d->cst->vrrp_arg = vr;
	lvs_notice("vrrp: %u instance%s started", vr->c.ninst, vr->c.ninst == 1 ? "" : "s");
	return 0;
}

struct sb_old {
	struct rcu_head rcu;
	struct lvs_standby *sb;
};

static void defer_free(struct rcu_head *h)
{
	struct sb_old *o = caa_container_of(h, struct sb_old, rcu);

	free(o->sb);
	free(o);
}

void lvsd_vrrp_reload(struct lvsd_vrrp *vr, const struct ka_config *nk)
{
	struct vconf nc;
	struct lvs_standby *nsb;
	struct sb_old *old;

	if (vconf_build(&nc, nk)) {
		lvs_err("reload: vrrp: out of memory: the running instances stay");
		return;
	}
	if (vr->c.fingerprint && nc.fingerprint && !strcmp(vr->c.fingerprint, nc.fingerprint)) {
		vconf_free(&nc);
		return;
	}
	nsb = standby_build(&nc);
	old = calloc(1, sizeof(*old));
	if (!nsb || !old) {
		free(nsb);
		free(old);
		vconf_free(&nc);
		lvs_err("reload: vrrp: out of memory: the running instances stay");
		return;
	}
	lvs_notice("reload: the VRRP configuration changed: restarting its instances");
	if (vr->running)
		lvs_evthread_call(&vr->et, call_stop, vr);
	vips_extra(vr, false);
	vconf_free(&vr->c);
	vr->c = nc;
	old->sb = lvs_director_set_standby(&vr->d->dir, nsb);
	vr->sb = nsb;
	call_rcu(&old->rcu, defer_free);
	vips_extra(vr, true);
	lvsd_loop_vips_sync(vr->l, true);
	served_warn(vr);
	if (vr->running)
		lvs_evthread_call(&vr->et, call_start, vr);
}

void lvsd_vrrp_set_hook(struct lvsd_vrrp *vr, void (*fn)(void *arg, const char *inst, int state),
			void *arg)
{
	vr->hook = fn;
	vr->hook_arg = arg;
}

struct hold_arg {
	struct lvsd_vrrp *vr;
	const char *inst;
	uint64_t until;
};

static void call_hold(void *arg)
{
	struct hold_arg *h = arg;

	for (unsigned i = 0; i < h->vr->c.ninst; i++)
		if (!strcmp(h->vr->c.inst[i].name, h->inst))
			vrrp_fsm_hold_preempt(&h->vr->c.inst[i].fsm, h->until);
}

void lvsd_vrrp_hold_preempt(struct lvsd_vrrp *vr, const char *inst, uint64_t until_ns)
{
	struct hold_arg h = {.vr = vr, .inst = inst, .until = until_ns};

	lvs_evthread_call(&vr->et, call_hold, &h);
}

/* ---- listings ---- */

struct print_arg {
	struct lvsd_vrrp *vr;
	FILE *f;
};

static uint64_t drops_sum(const uint64_t *d, unsigned n)
{
	uint64_t s = 0;

	for (unsigned i = 1; i < n; i++)
		s += d[i];
	return s;
}

static void call_print(void *arg)
{
	struct print_arg *pa = arg;
	FILE *f = pa->f;
	char a[INET6_ADDRSTRLEN], since[32];

	fprintf(f, "%-16s %-10s %4s %3s %-7s %4s %-26s %7s %s\n", "VRRP instance", "Interface",
		"VRID", "Ver", "State", "Prio", "Master", "AdvInt", "Since");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++) {
		const struct vinst *vi = &pa->vr->c.inst[i];
		const struct vrrp_stats *st = &vi->fsm.stats;
		struct tm tm;

		localtime_r(&vi->since, &tm);
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(f, "%-16s %-10s %4u %3u %-7s %4u %-26s %6.2fs %s\n", vi->name,
			vi->sconf.ifname, vi->conf.vrid, vi->conf.version,
			state_word(vi->fsm.state == VRRP_STATE_INIT ? VRRP_STATE_INIT
								      : vi->fsm.state),
			vi->fsm.conf.priority,
			vi->master_known ? lvs_addr_str(vi->conf.af, &vi->master, a, sizeof(a))
					 : "-",
			vi->fsm.master_adver_int_cs / 100.0, since);
		if (vi->grp)
			fprintf(f, "  sync group %s\n", vi->grp->name);
		fprintf(f, "  addresses:");
		for (unsigned k = 0; k < vi->naddr; k++)
			fprintf(f, " %s/%u%s", lvs_addr_str(vi->addrs[k].af, &vi->addrs[k].a, a,
							    sizeof(a)),
				vi->addrs[k].prefix, vi->addrs[k].excluded ? "(excluded)" : "");
		fprintf(f, " (%s)\n", vi->fsm.state == VRRP_STATE_MASTER ? "held" : "not held");
		for (unsigned k = 0; k < vi->ntracks; k++) {
			const struct vtrack *t = &vi->tracks[k];
			bool up = t->script ? t->script->ok : t->up;

			fprintf(f, "  track %s %s weight %d: %s\n", t->script ? "script" : "interface",
				t->script ? t->script->name : t->ifname, t->weight,
				t->script ? (up ? "ok" : "failed") : (up ? "up" : "down"));
		}
		fprintf(f,
			"  adverts received %llu sent %llu (priority 0: %llu / %llu), "
			"became master %llu backup %llu fault %llu, dropped %llu, "
			"announcements %llu\n",
			(unsigned long long)st->rx_adverts, (unsigned long long)vi->sock.stats.tx_adverts,
			(unsigned long long)st->rx_prio0, (unsigned long long)st->tx_prio0,
			(unsigned long long)st->became_master, (unsigned long long)st->became_backup,
			(unsigned long long)st->became_fault,
			(unsigned long long)(drops_sum(st->drops, VRRP_DROP__COUNT) +
					     drops_sum(vi->sock.stats.drops, VRRP_DROP__COUNT)),
			(unsigned long long)vi->garps_sent);
	}
}

void lvsd_vrrp_print(struct lvsd_vrrp *vr, FILE *f)
{
	struct print_arg pa = {.vr = vr, .f = f};

	lvs_evthread_call(&vr->et, call_print, &pa);
}

static void call_metrics(void *arg)
{
	struct print_arg *pa = arg;
	FILE *f = pa->f;

	fprintf(f, "# HELP lvsd_vrrp_state VRRP instance state: 0 init, 1 backup, 2 master, 3 fault.\n"
		   "# TYPE lvsd_vrrp_state gauge\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++) {
		const struct vinst *vi = &pa->vr->c.inst[i];

		fprintf(f, "lvsd_vrrp_state{instance=\"%s\",interface=\"%s\",vrid=\"%u\"} %d\n",
			vi->name, vi->sconf.ifname, vi->conf.vrid, (int)vi->fsm.state);
	}
	fprintf(f, "# HELP lvsd_vrrp_priority VRRP instance effective priority.\n"
		   "# TYPE lvsd_vrrp_priority gauge\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++)
		fprintf(f, "lvsd_vrrp_priority{instance=\"%s\"} %u\n", pa->vr->c.inst[i].name,
			pa->vr->c.inst[i].fsm.conf.priority);
	fprintf(f, "# HELP lvsd_vrrp_adverts_received_total Adverts accepted by the instance.\n"
		   "# TYPE lvsd_vrrp_adverts_received_total counter\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++)
		fprintf(f, "lvsd_vrrp_adverts_received_total{instance=\"%s\"} %llu\n",
			pa->vr->c.inst[i].name,
			(unsigned long long)pa->vr->c.inst[i].fsm.stats.rx_adverts);
	fprintf(f, "# HELP lvsd_vrrp_adverts_sent_total Adverts sent (one per destination).\n"
		   "# TYPE lvsd_vrrp_adverts_sent_total counter\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++)
		fprintf(f, "lvsd_vrrp_adverts_sent_total{instance=\"%s\"} %llu\n",
			pa->vr->c.inst[i].name,
			(unsigned long long)pa->vr->c.inst[i].sock.stats.tx_adverts);
	fprintf(f, "# HELP lvsd_vrrp_transitions_total State changes, by the state entered.\n"
		   "# TYPE lvsd_vrrp_transitions_total counter\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++) {
		const struct vrrp_stats *st = &pa->vr->c.inst[i].fsm.stats;
		const char *n = pa->vr->c.inst[i].name;

		fprintf(f, "lvsd_vrrp_transitions_total{instance=\"%s\",state=\"master\"} %llu\n", n,
			(unsigned long long)st->became_master);
		fprintf(f, "lvsd_vrrp_transitions_total{instance=\"%s\",state=\"backup\"} %llu\n", n,
			(unsigned long long)st->became_backup);
		fprintf(f, "lvsd_vrrp_transitions_total{instance=\"%s\",state=\"fault\"} %llu\n", n,
			(unsigned long long)st->became_fault);
	}
	fprintf(f, "# HELP lvsd_vrrp_dropped_total Adverts refused, by reason.\n"
		   "# TYPE lvsd_vrrp_dropped_total counter\n");
	for (unsigned i = 0; i < pa->vr->c.ninst; i++) {
		const struct vinst *vi = &pa->vr->c.inst[i];

		for (unsigned r = 1; r < VRRP_DROP__COUNT; r++) {
			uint64_t v = vi->fsm.stats.drops[r] + vi->sock.stats.drops[r];

			if (v)
				fprintf(f,
					"lvsd_vrrp_dropped_total{instance=\"%s\",reason=\"%s\"} %llu\n",
					vi->name, vrrp_drop_name((int)r), (unsigned long long)v);
		}
	}
}

void lvsd_vrrp_metrics(struct lvsd_vrrp *vr, FILE *f)
{
	struct print_arg pa = {.vr = vr, .f = f};

	lvs_evthread_call(&vr->et, call_metrics, &pa);
}
