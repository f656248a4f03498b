/*
 * director.c - one worker's packet pipeline (see director.h).
 *
 * Classification order, as kernel IPVS sees a packet:
 *   1. a known connection, client side (lookup_in): forward to its server;
 *   2. a known connection, server side (lookup_out): a NAT reply, rewrite
 *      the source back to the virtual service and send it to the client;
 *   3. an ICMP error quoting a known connection: translate and forward;
 *   4. a packet to a virtual service: schedule a new connection.  Only a
 *      TCP SYN (without RST) may start one, as in the kernel;
 *   5. anything else belongs to the host (LVS_V_PASS).
 * Persistence follows the kernel's ip_vs_sched_persist: a template keyed
 * on the client's network (netmask) and the service pins new connections
 * to the server chosen first, and lives for the -p timeout after its last
 * connection.  A service with a persistence engine (--pe sip) keys its
 * templates on the engine's data too (pe.h, pe_sip.c), and drops a packet
 * that has none, as the kernel does.
 *
 * Speed (measured by bench/bench_core.c): the burst path parses the common
 * frame shape itself (parse_fast), spreads the stages of each connection
 * lookup over the parsing of the following packets so that the cache
 * misses of a burst (bucket, entry, next entry of the chain) overlap with
 * work, takes the snapshot once per burst, and creates a connection with
 * its first packet's state applied (one scheduler update,
 * lvs_conn_create_pkt).
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "csum.h"
#include "director.h"
#include "pe.h"
#include "sched.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static enum lvs_verdict drop(struct lvs_worker *w, enum lvs_drop r, enum lvs_drop *why)
{
	w->drops.n[r]++;
	w->dropped++;
	*why = r;
	return LVS_V_DROP;
}

static void sync_timeouts(struct lvs_director *d, const struct lvs_snapshot *s)
{
	if (LVS_UNLIKELY(__atomic_load_n(&d->timeouts_gen, __ATOMIC_RELAXED) != s->gen)) {
		lvs_conn_set_timeouts(d->ct, &s->timeouts);
		__atomic_store_n(&d->timeouts_gen, s->gen, __ATOMIC_RELAXED);
	}
}

static void flow_from_dest(struct lvs_flow *f, struct lvs_dest_state *ds)
{
	uint64_t x = __atomic_load_n(&ds->xmit, __ATOMIC_RELAXED);

	f->rc = &ds->rcache;
	f->daf = ds->af;
	f->tun_type = lvs_xmit_tun_type(x);
	f->tun_flags = lvs_xmit_tun_flags(x);
	f->tun_port = lvs_xmit_tun_port(x);
}

/* Run the transform for a packet travelling client -> server. */
static enum lvs_verdict xmit_method(struct lvs_director *d, struct lvs_pkt *p,
				    const struct lvs_flow *f, enum lvs_drop *why)
{
	switch (f->fwd) {
	case LVS_FWD_MASQ:
		return lvs_xmit_nat_in(p, f, &d->env, why);
	case LVS_FWD_ROUTE:
		return lvs_xmit_dr(p, f, &d->env, why);
	case LVS_FWD_TUNNEL:
		return lvs_xmit_tun(p, f, &d->env, why);
	default:
		*why = LVS_DROP_FWD_UNSUPPORTED;
		return LVS_V_DROP;
	}
}

/* An IPv4 datagram without DF too big for the way out is cut to fit and
 * the transform runs again on the first piece; the others follow through
 * lvs_director_frag_run (frag.h). */
static inline bool split_retry(struct lvs_worker *w, struct lvs_pkt *p, enum lvs_verdict v,
			       enum lvs_drop *why)
{
	return LVS_UNLIKELY(v == LVS_V_DROP && *why == LVS_DROP_TOO_BIG && p->frag_mtu) &&
	       w->frag && lvs_frag_split(w->frag, p) == 0;
}

static enum lvs_verdict xmit_to_server(struct lvs_worker *w, struct lvs_pkt *p,
				       const struct lvs_flow *f, enum lvs_drop *why)
{
	enum lvs_verdict v = xmit_method(w->d, p, f, why);

	if (split_retry(w, p, v, why))
		v = xmit_method(w->d, p, f, why);
	return v;
}

static enum lvs_verdict xmit_nat_out(struct lvs_worker *w, struct lvs_pkt *p,
				     const struct lvs_flow *f, enum lvs_drop *why)
{
	enum lvs_verdict v = lvs_xmit_nat_out(p, f, &w->d->env, why);

	if (split_retry(w, p, v, why))
		v = lvs_xmit_nat_out(p, f, &w->d->env, why);
	return v;
}

static void count_in(struct lvs_worker *w, struct lvs_dest_state *ds, uint32_t bytes)
{
	struct lvs_counters *dc = &ds->stats[w->id];
	struct lvs_counters *sc = &ds->svc->stats[w->id];

	dc->inpkts++;
	dc->inbytes += bytes;
	sc->inpkts++;
	sc->inbytes += bytes;
}

static void count_out(struct lvs_worker *w, struct lvs_dest_state *ds, uint32_t bytes)
{
	struct lvs_counters *dc = &ds->stats[w->id];
	struct lvs_counters *sc = &ds->svc->stats[w->id];

	dc->outpkts++;
	dc->outbytes += bytes;
	sc->outpkts++;
	sc->outbytes += bytes;
}

static void count_conn(struct lvs_worker *w, struct lvs_dest_state *ds)
{
	ds->stats[w->id].conns++;
	ds->svc->stats[w->id].conns++;
}

/* Finish a verdict from a transform: count tx or the drop. */
static enum lvs_verdict finish(struct lvs_worker *w, enum lvs_verdict v, enum lvs_drop *why)
{
	if (v == LVS_V_TX) {
		w->tx++;
		return v;
	}
	if (v == LVS_V_DROP)
		return drop(w, *why, why);
	w->pass++;
	return v;
}

/* A connection entry without a destination (a synced entry whose
 * server the backup does not know yet) has nowhere to go. */
static enum lvs_verdict no_dest(struct lvs_worker *w, enum lvs_drop *why)
{
	return drop(w, LVS_DROP_NO_DEST, why);
}

static enum lvs_verdict process_new(struct lvs_worker *w, struct lvs_pkt *p,
				    const struct lvs_snapshot *s, lvs_time_t now, enum lvs_drop *why);

/* Is vaddr a VRRP address this director does not hold now (a BACKUP's)?
 * One load and a test when the site runs no VRRP. */
static inline bool standby(const struct lvs_director *d, uint8_t af, const union lvs_addr *vaddr)
{
	const struct lvs_standby *s = __atomic_load_n(&d->standby, __ATOMIC_ACQUIRE);

	return LVS_UNLIKELY(s != NULL) && lvs_standby_blocked(s, af, vaddr);
}

struct lvs_standby *lvs_director_set_standby(struct lvs_director *d, struct lvs_standby *s)
{
	return __atomic_exchange_n(&d->standby, s, __ATOMIC_ACQ_REL);
}

/* A master sync daemon runs: is c's packet worth a report (sync_tap.h)? */
static inline void sync_report(struct lvs_worker *w, struct lvs_conn *c)
{
	struct lvs_sync_tap *tap = w->d->sync;

	if (tap && __atomic_load_n(&tap->active, __ATOMIC_RELAXED))
		lvs_sync_conn_pkt(tap, w->d->ct, w->id, c);
}

bool lvs_director_fast_eligible(const struct lvs_director *d, const struct lvs_conn_table *t,
				const struct lvs_conn *c, bool reply)
{
	const struct lvs_dest_state *ds = lvs_conn_dest(c);
	uint16_t fl = lvs_conn_flags(c);
	uint8_t fwd = lvs_conn_fwd(c);
	union lvs_addr va;
	uint16_t vp;
	uint32_t dfl;

	if (fl & (LVS_CONN_F_TEMPLATE | LVS_CONN_F_ONE_PACKET))
		return false;
	if (lvs_conn_proto(c) == IPPROTO_TCP) {
		if (lvs_conn_state(c) != LVS_TCP_S_ESTABLISHED)
			return false;
	} else if (lvs_conn_proto(c) != IPPROTO_UDP) {
		return false;
	}
	if (reply ? fwd != LVS_FWD_MASQ
		  : fwd != LVS_FWD_MASQ && fwd != LVS_FWD_ROUTE && fwd != LVS_FWD_TUNNEL)
		return false;
	if (!ds)
		return false;
	dfl = __atomic_load_n(&ds->flags, __ATOMIC_RELAXED);
	if (!(dfl & LVS_DEST_F_AVAILABLE) || (dfl & LVS_DEST_F_FAILED))
		return false;
	if (__atomic_load_n(&d->standby, __ATOMIC_ACQUIRE)) {
		lvs_conn_virt_addr(t, c, &va, &vp);
		if (standby(d, lvs_conn_af(c), &va))
			return false;
	}
	return true;
}

/* A packet of c went through user space: does the fast path agree? */
static inline void fast_note(struct lvs_worker *w, struct lvs_conn *c, bool reply,
			     enum lvs_verdict v)
{
	struct lvs_fast_tap *tap = w->d->fast;

	if (LVS_LIKELY(!tap) || !__atomic_load_n(&tap->active, __ATOMIC_RELAXED))
		return;
	lvs_fast_conn_pkt(tap, w->d->ct, w->id, c, reply,
			  v == LVS_V_TX && lvs_director_fast_eligible(w->d, w->d->ct, c, reply));
}

/* Does connection c belong to a firewall-mark service? */
static bool fwmark_conn(const struct lvs_conn *c)
{
	const struct lvs_dest_state *ds = lvs_conn_dest(c);

	return ds && ds->svc && ds->svc->key.fwmark;
}

static enum lvs_verdict pass(struct lvs_worker *w)
{
	w->pass++;
	return LVS_V_PASS;
}

static enum lvs_verdict in_known(struct lvs_worker *w, struct lvs_pkt *p, struct lvs_conn *c,
				 lvs_time_t now, enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	const struct lvs_pkt_info *pi = &p->pi;
	struct lvs_dest_state *ds;
	struct lvs_flow f;
	enum lvs_verdict v;

	if (standby(d, pi->af, &pi->daddr))
		return drop(w, LVS_DROP_VIP_STANDBY, why);
	/* A firewall-mark service's packets reach lvsd twice: unmarked from
	 * the tap, then marked from the queue (nfqueue.h).  The queue's copy
	 * is the one forwarded; the tap's is left to the host, whose netfilter
	 * marks and queues it. */
	if (LVS_UNLIKELY(__atomic_load_n(&d->fwmark_queue, __ATOMIC_RELAXED) && !p->mark) &&
	    fwmark_conn(c))
		return pass(w);
	/* Port reuse, as the kernel with conn_reuse_mode 1: a SYN that finds
	 * an entry in TIME_WAIT starts a new connection.  The old entry is
	 * retired (no lookup finds it any more) and the SYN is scheduled like
	 * any new flow, so a server set to weight 0 or deleted since gets no
	 * new connection through an old port. */
	if (LVS_UNLIKELY(pi->proto == IPPROTO_TCP &&
			 (pi->tcp_flags & (TCP_SYN | TCP_RST | TCP_FIN | TCP_ACK)) == TCP_SYN &&
			 lvs_conn_state(c) == LVS_TCP_S_TIME_WAIT)) {
		lvs_conn_expire_soon(d->ct, c);
		return process_new(w, p, lvs_model_snapshot(d->model), now, why);
	}
	/* A UDP flow whose server left the service or failed its checks
	 * (quiesced included) goes elsewhere: its entry expires now and the
	 * datagram is scheduled afresh, as the kernel's expire_nodest_conn
	 * does for a server gone from the service.  TCP connections stay with
	 * their server (the kernel's default, expire_nodest_conn=0): they may
	 * be fine, and a dead server ends them itself. */
	if (LVS_UNLIKELY(pi->proto == IPPROTO_UDP)) {
		const struct lvs_dest_state *cd = lvs_conn_dest(c);
		uint32_t fl = cd ? __atomic_load_n(&cd->flags, __ATOMIC_RELAXED) : 0;

		if (cd && (!(fl & LVS_DEST_F_AVAILABLE) || (fl & LVS_DEST_F_FAILED))) {
			w->udp_moved++;
			lvs_conn_expire_soon(d->ct, c);
			return process_new(w, p, lvs_model_snapshot(d->model), now, why);
		}
	}
	ds = lvs_conn_hit(d->ct, w->id, c, false, pi, now, &f.fwd, &f.daddr, &f.dport);
	sync_report(w, c);
	if (LVS_UNLIKELY(!ds))
		return no_dest(w, why);
	f.af = pi->af;
	f.proto = pi->proto;
	f.caddr = pi->saddr;
	f.cport = pi->sport;
	f.vaddr = pi->daddr;
	f.vport = pi->dport;
	flow_from_dest(&f, ds);
	count_in(w, ds, pi->l3_len);
	v = finish(w, xmit_to_server(w, p, &f, why), why);
	fast_note(w, c, false, v);
	return v;
}

/* A NAT reply from a real server. */
static enum lvs_verdict out_known(struct lvs_worker *w, struct lvs_pkt *p, struct lvs_conn *c,
				  lvs_time_t now, enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	const struct lvs_pkt_info *pi = &p->pi;
	struct lvs_dest_state *ds;
	struct lvs_flow f;
	enum lvs_verdict v;

	if (LVS_UNLIKELY(d->standby != NULL)) {
		lvs_conn_virt_addr(d->ct, c, &f.vaddr, &f.vport);
		if (lvs_conn_fwd(c) == LVS_FWD_MASQ && standby(d, pi->af, &f.vaddr))
			return drop(w, LVS_DROP_VIP_STANDBY, why);
	}
	ds = lvs_conn_hit(d->ct, w->id, c, true, pi, now, &f.fwd, &f.vaddr, &f.vport);
	if (f.fwd != LVS_FWD_MASQ) {
		/* DR/TUN replies do not come through us; let the host have it. */
		w->pass++;
		return LVS_V_PASS;
	}
	if (LVS_UNLIKELY(!ds))
		return no_dest(w, why);
	f.af = pi->af;
	f.proto = pi->proto;
	f.daddr = pi->saddr;
	f.dport = pi->sport;
	f.caddr = pi->daddr;
	f.cport = pi->dport;
	flow_from_dest(&f, ds);
	count_out(w, ds, pi->l3_len);
	v = finish(w, xmit_nat_out(w, p, &f, why), why);
	fast_note(w, c, true, v);
	return v;
}

static void mask_addr(uint8_t af, const union lvs_addr *a, uint32_t netmask, union lvs_addr *out)
{
	*out = *a;
	if (af == AF_INET) {
		out->ip4 &= netmask;
		return;
	}
	for (int i = 0; i < 4; i++) {
		int bits = (int)netmask - i * 32;
		uint32_t m;
		if (bits >= 32)
			continue;
		m = bits <= 0 ? 0 : htonl(~0u << (32 - bits));
		out->w[i] &= m;
	}
}

/*
 * Choose the destination for a new connection of a persistent service:
 * reuse the client network's template when its server is still in the
 * configuration, else schedule and create a template.  Returns the dest
 * state and the template (*tmpl), or NULL with *why set.
 */
static struct lvs_dest_state *sched_persist(struct lvs_worker *w, struct lvs_service *svc,
					    const struct lvs_pkt *p, lvs_time_t now,
					    struct lvs_conn **tmpl, enum lvs_drop *why)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint8_t pe_data[LVS_PE_DATA_MAX];
	struct lvs_director *d = w->d;
	struct lvs_conn_param tp;
	struct lvs_conn *t;
	struct lvs_dest *dest;

	memset(&tp, 0, sizeof(tp));
	tp.af = svc->c.af;
	mask_addr(pi->af, &pi->saddr, svc->c.netmask, &tp.caddr);
	if (svc->c.fwmark) {
		tp.proto = 0;
		tp.vaddr.ip4 = htonl(svc->c.fwmark);
		tp.vport = 0;
	} else {
		tp.proto = svc->c.proto;
		tp.vaddr = svc->c.addr;
		tp.vport = svc->c.port; /* 0 for a port-zero service */
	}
	if (LVS_UNLIKELY(svc->c.pe)) {
		int n = lvs_pe_fill(svc->c.pe, p, pe_data);
		if (n <= 0) {
			*why = LVS_DROP_PE_NO_DATA;
			return NULL;
		}
		tp.pe_len = (uint8_t)n;
		tp.pe_data = pe_data;
	}
	t = lvs_conn_tmpl_lookup_pe(d->ct, tp.af, tp.proto, &tp.caddr, &tp.vaddr, tp.vport,
				    tp.pe_data, tp.pe_len);
	if (t) {
		struct lvs_dest_state *ds = lvs_conn_dest(t);
		/* The kernel drops a template whose server left the service. */
		if (ds && (__atomic_load_n(&ds->flags, __ATOMIC_RELAXED) & LVS_DEST_F_AVAILABLE) &&
		    ds->svc == svc->st) {
			lvs_conn_touch(d->ct, t, now);
			*tmpl = t;
			return ds;
		}
		lvs_conn_expire_soon(d->ct, t);
	}
	dest = lvs_sched_pick(svc, pi, now);
	if (!dest) {
		*why = LVS_DROP_NO_DEST;
		return NULL;
	}
	tp.daf = dest->c.af;
	tp.fwd = dest->c.fwd;
	tp.flags = LVS_CONN_F_TEMPLATE;
	tp.daddr = dest->c.addr;
	tp.dport = svc->c.port ? dest->c.port : 0;
	tp.timeout = svc->c.timeout;
	t = lvs_conn_create(d->ct, w->id, &tp, dest->st, NULL, now);
	if (!t) {
		*why = LVS_DROP_CONN_TABLE_FULL;
		return NULL;
	}
	*tmpl = t;
	return dest->st;
}

/* A packet that may start a new connection to svc. */
static enum lvs_verdict schedule_new(struct lvs_worker *w, struct lvs_pkt *p,
				     struct lvs_service *svc, lvs_time_t now, enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	const struct lvs_pkt_info *pi = &p->pi;
	struct lvs_conn *tmpl = NULL, *c;
	struct lvs_dest_state *ds;
	struct lvs_conn_param cp;
	struct lvs_flow f;
	enum lvs_conn_dir dir;
	uint64_t x;

	if (pi->proto == IPPROTO_TCP && ((pi->tcp_flags & (TCP_SYN | TCP_RST)) != TCP_SYN))
		return drop(w, LVS_DROP_NO_SYN, why);
	if (svc->c.flags & LVS_SVC_F_PERSISTENT) {
		ds = sched_persist(w, svc, p, now, &tmpl, why);
		if (!ds)
			return drop(w, *why, why);
	} else {
		struct lvs_dest *dest = lvs_sched_pick(svc, pi, now);
		if (!dest)
			return drop(w, LVS_DROP_NO_DEST, why);
		ds = dest->st;
	}
	x = __atomic_load_n(&ds->xmit, __ATOMIC_RELAXED);
	memset(&cp, 0, sizeof(cp));
	cp.af = pi->af;
	cp.daf = ds->af;
	cp.proto = pi->proto;
	cp.fwd = lvs_xmit_fwd(x);
	cp.caddr = pi->saddr;
	cp.cport = pi->sport;
	cp.vaddr = pi->daddr;
	cp.vport = pi->dport;
	cp.daddr = ds->addr;
	/* Port-zero and fwmark services keep the packet's port. */
	cp.dport = ds->port ? ds->port : pi->dport;

	f.af = cp.af;
	f.proto = cp.proto;
	f.fwd = cp.fwd;
	f.caddr = cp.caddr;
	f.cport = cp.cport;
	f.vaddr = cp.vaddr;
	f.vport = cp.vport;
	f.daddr = cp.daddr;
	f.dport = cp.dport;
	flow_from_dest(&f, ds);

	count_conn(w, ds);
	count_in(w, ds, pi->l3_len);
	if ((svc->c.flags & LVS_SVC_F_ONEPACKET) && pi->proto == IPPROTO_UDP) {
		/* One-packet scheduling: no connection entry is kept; a
		 * template is still reported, as the kernel does. */
		if (tmpl && d->sync && __atomic_load_n(&d->sync->active, __ATOMIC_RELAXED))
			lvs_sync_tmpl_pkt(d->sync, d->ct, w->id, tmpl);
		return finish(w, xmit_to_server(w, p, &f, why), why);
	}
	dir = f.fwd == LVS_FWD_MASQ ? LVS_DIR_INPUT : LVS_DIR_INPUT_ONLY;
	c = lvs_conn_create_pkt(d->ct, w->id, &cp, ds, tmpl, dir, pi, now);
	if (!c)
		return drop(w, LVS_DROP_CONN_TABLE_FULL, why);
	w->conns_created++;
	sync_report(w, c);
	return finish(w, xmit_to_server(w, p, &f, why), why);
}

/* An ICMP error: find the connection its quoted packet belongs to. */
static enum lvs_verdict icmp_error(struct lvs_worker *w, struct lvs_pkt *p, lvs_time_t now,
				   enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	struct lvs_pkt_info in;
	struct lvs_conn *c;
	struct lvs_flow f;
	enum lvs_drop r;
	int dir;

	r = lvs_pkt_parse_icmp_inner(p, &in);
	if (r != LVS_DROP_NONE)
		return drop(w, r, why);
	if (in.proto != IPPROTO_TCP && in.proto != IPPROTO_UDP && in.proto != IPPROTO_SCTP) {
		w->pass++;
		return LVS_V_PASS;
	}
	/* Quoted vaddr -> caddr: something we (or a DR/TUN server) sent to the
	 * client; the error goes to the server. */
	c = lvs_conn_lookup_in(d->ct, in.af, in.proto, &in.daddr, in.dport, &in.saddr, in.sport);
	if (c) {
		dir = LVS_DIR_INPUT;
		f.caddr = in.daddr;
		f.cport = in.dport;
		f.vaddr = in.saddr;
		f.vport = in.sport;
		lvs_conn_dest_addr(d->ct, c, &f.daddr, &f.dport);
	} else {
		/* Quoted caddr -> daddr: a packet we forwarded to a NAT server. */
		c = lvs_conn_lookup_out(d->ct, in.af, in.proto, &in.daddr, in.dport, &in.saddr,
					in.sport);
		if (!c || lvs_conn_fwd(c) != LVS_FWD_MASQ) {
			w->pass++;
			return LVS_V_PASS;
		}
		dir = LVS_DIR_OUTPUT;
		f.caddr = in.saddr;
		f.cport = in.sport;
		f.daddr = in.daddr;
		f.dport = in.dport;
		lvs_conn_virt_addr(d->ct, c, &f.vaddr, &f.vport);
	}
	f.af = in.af;
	f.proto = in.proto;
	f.fwd = lvs_conn_fwd(c);
	flow_from_dest(&f, lvs_conn_dest(c));
	(void)now;
	if (dir == LVS_DIR_INPUT)
		count_in(w, lvs_conn_dest(c), p->pi.l3_len);
	else
		count_out(w, lvs_conn_dest(c), p->pi.l3_len);
	return finish(w, lvs_xmit_icmp_error(p, &in, &f, dir, &d->env, why), why);
}

/* Is a later fragment (no ports) addressed to a virtual service? Rare:
 * a scan over the services is fine. */
static bool frag_to_vip(const struct lvs_snapshot *s, const struct lvs_pkt_info *pi,
			uint32_t mark)
{
	if (mark && lvs_svc_lookup(s, pi->af, pi->proto, &pi->daddr, 0, mark))
		return true;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];
		if (!svc->c.fwmark && svc->c.af == pi->af && svc->c.proto == pi->proto &&
		    lvs_addr_eq(&svc->c.addr, &pi->daddr))
			return true;
	}
	return false;
}

/* Is a later fragment from a NAT real server (a reply)?  Rare too. */
static bool frag_from_nat_server(const struct lvs_snapshot *s, const struct lvs_pkt_info *pi)
{
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *svc = s->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct lvs_dest *dst = svc->dests[j];

			if (dst->c.fwd == LVS_FWD_MASQ && dst->c.af == pi->af &&
			    lvs_addr_eq(&dst->c.addr, &pi->saddr))
				return true;
		}
	}
	return false;
}

/*
 * A fragment (frag.h): true when the director is done with p (*v); false
 * when it goes on to the connection lookups, a later fragment with its
 * first's ports.  Without a table, only first fragments go on.
 */
static bool frag_track(struct lvs_worker *w, struct lvs_pkt *p, const struct lvs_snapshot *s,
		       lvs_time_t now, enum lvs_verdict *v, enum lvs_drop *why)
{
	const struct lvs_pkt_info *pi = &p->pi;
	enum lvs_frag_res r;

	if (!w->frag) {
		if (pi->frag == LVS_FRAG_FIRST)
			return false;
		*v = frag_to_vip(s, pi, p->mark) ? drop(w, LVS_DROP_FRAG_NO_CONN, why)
						 : (w->pass++, LVS_V_PASS);
		return true;
	}
	r = lvs_frag_in(w->frag, p, now, why);
	if (r == LVS_FRAG_NEW) {
		/* its first has not come: hold it only when it is ours */
		if (!frag_to_vip(s, pi, p->mark) && !frag_from_nat_server(s, pi)) {
			w->pass++;
			*v = LVS_V_PASS;
			return true;
		}
		r = lvs_frag_hold(w->frag, p, now, why);
	}
	if (r == LVS_FRAG_GO)
		return false;
	*v = r == LVS_FRAG_HELD ? LVS_V_HELD : drop(w, *why, why);
	return true;
}

/* A packet of a flow no connection knows: a new connection to a
 * service, or the host's. */
static enum lvs_verdict process_new(struct lvs_worker *w, struct lvs_pkt *p,
				    const struct lvs_snapshot *s, lvs_time_t now,
				    enum lvs_drop *why)
{
	const struct lvs_pkt_info *pi = &p->pi;
	struct lvs_service *svc;

	/* A later fragment never starts a connection: its first did, or
	 * failed to. */
	if (LVS_UNLIKELY(pi->frag == LVS_FRAG_LATER)) {
		if (frag_to_vip(s, pi, p->mark))
			return drop(w, LVS_DROP_FRAG_NO_CONN, why);
		w->pass++;
		return LVS_V_PASS;
	}
	svc = lvs_svc_lookup(s, pi->af, pi->proto, &pi->daddr, pi->dport, p->mark);
	if (!svc) {
		w->pass++;
		return LVS_V_PASS;
	}
	if (standby(w->d, pi->af, &pi->daddr))
		return drop(w, LVS_DROP_VIP_STANDBY, why);
	return schedule_new(w, p, svc, now, why);
}

/* Everything after parsing, with single lookups (s: the snapshot, its
 * timeouts already synced). */
static enum lvs_verdict process_parsed(struct lvs_worker *w, struct lvs_pkt *p,
				       const struct lvs_snapshot *s, lvs_time_t now,
				       enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	struct lvs_pkt_info *pi = &p->pi;
	struct lvs_conn *c;

	if (pi->af == 0) {
		w->pass++;
		return LVS_V_PASS;
	}
	if (pi->proto == IPPROTO_ICMP || pi->proto == IPPROTO_ICMPV6) {
		if (pi->icmp_is_err && pi->frag != LVS_FRAG_LATER)
			return icmp_error(w, p, now, why);
		w->pass++;
		return LVS_V_PASS;
	}
	if (pi->proto != IPPROTO_TCP && pi->proto != IPPROTO_UDP && pi->proto != IPPROTO_SCTP) {
		w->pass++;
		return LVS_V_PASS;
	}
	if (LVS_UNLIKELY(pi->frag != LVS_FRAG_NONE)) {
		enum lvs_verdict v;

		if (frag_track(w, p, s, now, &v, why))
			return v;
	}

	c = lvs_conn_lookup_in(d->ct, pi->af, pi->proto, &pi->saddr, pi->sport, &pi->daddr,
			       pi->dport);
	if (c)
		return in_known(w, p, c, now, why);
	c = lvs_conn_lookup_out(d->ct, pi->af, pi->proto, &pi->saddr, pi->sport, &pi->daddr,
				pi->dport);
	if (c)
		return out_known(w, p, c, now, why);
	return process_new(w, p, s, now, why);
}

/* The snapshot for this packet or burst, with the table's timeouts in
 * step with it. */
static const struct lvs_snapshot *snapshot(struct lvs_director *d)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(d->model);

	sync_timeouts(d, s);
	return s;
}

enum lvs_verdict lvs_director_process(struct lvs_worker *w, struct lvs_pkt *p, lvs_time_t now,
				      enum lvs_drop *why)
{
	enum lvs_drop r;

	w->rx++;
	*why = LVS_DROP_NONE;
	r = lvs_pkt_parse(p);
	if (LVS_UNLIKELY(r != LVS_DROP_NONE))
		return drop(w, r, why);
	if (p->pi.af == 0) {
		w->pass++;
		return LVS_V_PASS;
	}
	return process_parsed(w, p, snapshot(w->d), now, why);
}

/*
 * lvs_pkt_parse for the frame most traffic is: untagged Ethernet, IPv4
 * without options, not a fragment, TCP or UDP.  Every check the parser
 * makes on such a frame is made here too, and pi comes out identical; a
 * frame of any other shape, or failing any check, returns false and goes
 * through lvs_pkt_parse, which finds the drop reason.  Roughly half the
 * general parser's instructions, on every packet.  (tests/unit/
 * test_director.c holds the burst path, which uses it, to the packet path,
 * which does not, on mutated frames.)
 */
static inline bool parse_fast(struct lvs_pkt *p)
{
	const uint8_t *d = p->data, *h = d + 14, *l4 = h + 20;
	struct lvs_pkt_info *pi = &p->pi;
	uint32_t len = p->len, tot, l4len, w[5];
	uint16_t type, v16;
	uint64_t sum;
	uint8_t proto;

	if (len < 14 + 20)
		return false;
	memcpy(&type, d + 12, 2);
	if (type != htons(0x0800) || h[0] != 0x45)
		return false;
	memcpy(w, h, 20);
	memcpy(&v16, h + 2, 2);
	tot = ntohs(v16);
	memcpy(&v16, h + 6, 2);
	/* tot >= 20 + the L4 header checked below; no MF, no offset */
	if (tot > len - 14 || tot < 20 || (v16 & htons(0x3fff)))
		return false;
	/* The header sums to all ones (RFC 1071), as ip4_hdr_sum_ok. */
	sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return false;
	/* multicast 224/4 or limited broadcast source (RFC 1812 5.3.7) */
	if ((w[3] & htonl(0xf0000000)) == htonl(0xe0000000) || w[3] == 0xffffffffu)
		return false;
	proto = h[9];
	l4len = tot - 20;
	if (proto == IPPROTO_TCP) {
		uint32_t doff = (uint32_t)(l4[12] >> 4) * 4;

		if (l4len < 20 || doff < 20 || doff > l4len ||
		    ((l4[13] & 0x02) && (l4[13] & 0x05)))
			return false;
	} else if (proto == IPPROTO_UDP) {
		uint16_t ulen;

		if (l4len < 8)
			return false;
		memcpy(&ulen, l4 + 4, 2);
		if (ntohs(ulen) < 8 || ntohs(ulen) > l4len)
			return false;
	} else {
		return false;
	}
	memset(pi, 0, sizeof(*pi));
	pi->eth_type = 0x0800;
	pi->af = AF_INET;
	pi->l3_off = 14;
	pi->l3_len = (uint16_t)tot;
	pi->ttl = h[8];
	pi->proto = proto;
	memcpy(&type, h + 4, 2);
	pi->frag_id = ntohs(type);
	pi->ip4_df = (v16 & htons(0x4000)) != 0;
	pi->l4_off = 34;
	pi->l4_len = (uint16_t)l4len;
	if (proto == IPPROTO_TCP)
		pi->tcp_flags = l4[13];
	memcpy(&pi->sport, l4, 2);
	memcpy(&pi->dport, l4 + 2, 2);
	pi->saddr.w[0] = w[3];
	pi->daddr.w[0] = w[4];
	if (__builtin_expect(p->flags & LVS_PKT_F_CSUM_UNKNOWN, 0))
		lvs_pkt_csum_resolve(p);
	return true;
}

/* Packets the burst path looks up itself (the others go the single way). */
static bool burst_lookup_eligible(const struct lvs_pkt_info *pi)
{
	return (pi->proto == IPPROTO_TCP || pi->proto == IPPROTO_UDP ||
		pi->proto == IPPROTO_SCTP) &&
	       pi->frag == LVS_FRAG_NONE;
}

/*
 * The lookup stages (conn.h) run this many packets apart in pass 1: fetch
 * (read the bucket, prefetch the first entry) after start (hash, prefetch
 * the bucket), check (compare the first entry, prefetch the next) after
 * fetch.  Eight packets of parsing (~250 ns here) cover a memory access;
 * measured against 3, 6, 10 and 16.
 */
#define BURST_FETCH_LAG 8
#define BURST_CHECK_LAG 8

/*
 * One chunk (n <= LVS_DIRECTOR_BURST).  Pass 1 parses each packet, starts
 * its lookup, and runs the later stages of the packets BURST_FETCH_LAG and
 * twice that earlier; the stages not run yet follow (the checks one per
 * packet of pass 2, still ahead of their packets).  Pass 2 finishes each
 * lookup and processes the packet, in order.
 */
static void process_chunk(struct lvs_worker *w, struct lvs_pkt **pkts, unsigned n,
			  lvs_time_t now, enum lvs_verdict *verdict, enum lvs_drop *why)
{
	struct lvs_director *d = w->d;
	const struct lvs_snapshot *s = snapshot(d);
	struct lvs_conn_burst st;
	const struct lvs_pkt_info *kp[LVS_DIRECTOR_BURST];
	uint8_t slot[LVS_DIRECTOR_BURST];
	enum lvs_drop perr[LVS_DIRECTOR_BURST];
	/* The reply table is looked at early when at least a quarter of the
	 * last burst needed it (NAT replies, new flows): for the others that
	 * is a cache line fetched for nothing. */
	bool replies = w->burst_hint * 4 >= n;
	unsigned nk = 0, fetched = 0, checked = 0, reply_table = 0;
	uint64_t created;

	for (unsigned i = 0; i < n; i++) {
		const struct lvs_pkt_info *pi = &pkts[i]->pi;

		slot[i] = 0xff;
		perr[i] = parse_fast(pkts[i]) ? LVS_DROP_NONE : lvs_pkt_parse(pkts[i]);
		if (perr[i] == LVS_DROP_NONE && burst_lookup_eligible(pi)) {
			kp[nk] = pi;
			lvs_conn_lookup_start(d->ct, &st, nk, pi, replies);
			slot[i] = (uint8_t)nk++;
		}
		if (nk > fetched + BURST_FETCH_LAG)
			lvs_conn_lookup_fetch(d->ct, &st, fetched++, replies);
		if (fetched > checked + BURST_CHECK_LAG) {
			lvs_conn_lookup_check(d->ct, &st, checked, kp[checked]);
			checked++;
		}
	}
	while (fetched < nk)
		lvs_conn_lookup_fetch(d->ct, &st, fetched++, replies);

	created = w->conns_created;
	for (unsigned i = 0; i < n; i++) {
		struct lvs_pkt *p = pkts[i];
		unsigned k = slot[i];
		struct lvs_conn *c, *o = NULL;

		w->rx++;
		why[i] = LVS_DROP_NONE;
		if (LVS_UNLIKELY(perr[i] != LVS_DROP_NONE)) {
			verdict[i] = drop(w, perr[i], &why[i]);
			continue;
		}
		if (k == 0xff) {
			verdict[i] = process_parsed(w, p, s, now, &why[i]);
			continue;
		}
		if (checked < nk) {
			lvs_conn_lookup_check(d->ct, &st, checked, kp[checked]);
			checked++;
		}
		/* A connection created earlier in this burst may be what this
		 * packet finds (a later packet of the same flow), or shadow what
		 * the lookup found (a newer NAT entry with the same reply tuple,
		 * found first as in the kernel): look up again, the packet way,
		 * when the buckets changed since they were read. */
		if (LVS_UNLIKELY(w->conns_created != created) &&
		    !lvs_conn_lookup_unchanged(d->ct, &st, k)) {
			reply_table++;
			verdict[i] = process_parsed(w, p, s, now, &why[i]);
			continue;
		}
		c = lvs_conn_lookup_finish(d->ct, &st, k, &p->pi, &o);
		if (LVS_LIKELY(c != NULL)) {
			verdict[i] = in_known(w, p, c, now, &why[i]);
			continue;
		}
		reply_table++;
		if (o)
			verdict[i] = out_known(w, p, o, now, &why[i]);
		else
			verdict[i] = process_new(w, p, s, now, &why[i]);
	}
	w->burst_hint = reply_table;
}

void lvs_director_process_burst(struct lvs_worker *w, struct lvs_pkt **pkts, unsigned n,
				lvs_time_t now, enum lvs_verdict *verdict, enum lvs_drop *why)
{
	while (n) {
		unsigned k = n < LVS_DIRECTOR_BURST ? n : LVS_DIRECTOR_BURST;

		process_chunk(w, pkts, k, now, verdict, why);
		pkts += k;
		verdict += k;
		why += k;
		n -= k;
	}
}

unsigned lvs_director_frag_run(struct lvs_worker *w, lvs_time_t now, struct lvs_pkt **out,
			       unsigned max, unsigned *ntx)
{
	struct lvs_pkt *in[LVS_DIRECTOR_BURST];
	unsigned n, k = 0;

	*ntx = 0;
	if (!w->frag)
		return 0;
	lvs_frag_put_all(w->frag);
	n = lvs_frag_take(w->frag, in, max < LVS_DIRECTOR_BURST ? max : LVS_DIRECTOR_BURST);
	for (unsigned i = 0; i < n; i++) {
		enum lvs_drop why;

		/* counted in rx when it came, held, or with the frame it was cut from */
		w->rx--;
		if (lvs_director_process(w, in[i], now, &why) == LVS_V_TX)
			out[k++] = in[i];
	}
	*ntx = k;
	return n;
}

void lvs_worker_tick(struct lvs_worker *w, lvs_time_t now)
{
	if (w->frag)
		lvs_frag_expire(w->frag, now);
	lvs_conn_expire_run(w->d->ct, w->id, now);
	lvs_conn_quiescent(w->d->ct, w->id);
}
