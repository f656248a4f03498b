/*
 * sync_engine.c - the socket-free part of connection sync (see
 * sync_engine.h): records to v1 messages on the master, v1 messages to
 * connection table entries on the backup, and the table pull.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sync_engine.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* The kernel's state counts: IP_VS_UDP_S_LAST, IP_VS_SCTP_S_LAST,
 * IP_VS_CTPL_S_LAST. */
#define UDP_STATES  1
#define SCTP_STATES 10
#define TMPL_STATES 2
#define TMPL_DEFAULT_TIMEOUT 180 /* the kernel's 3*60*HZ for a template */
/* Longest timeout taken (the table stores at most ~48 days). */
#define MAX_TIMEOUT_S 4000000u

static const char *const cd_names[SYNC_CD__COUNT] = {
#define SYNC_CD_NAME(n, s) [SYNC_CD_##n] = s,
        SYNC_CONN_DROPS(SYNC_CD_NAME)
#undef SYNC_CD_NAME
};

const char *sync_conn_drop_name(enum sync_conn_drop r)
{
	return (unsigned)r < SYNC_CD__COUNT ? cd_names[r] : "unknown";
}

/* ---- master ---- */

void sync_conn_from_rec(const struct lvs_sync_rec *r, struct sync_conn *c)
{
	uint32_t fl = 0;

	memset(c, 0, sizeof(*c));
	c->af = r->af;
	c->proto = r->proto;
	c->state = r->state;
	/* lvsd's fwd numbers are the kernel's IP_VS_CONN_F_* methods */
	fl |= (uint32_t)(r->fwd & SYNC_CONN_F_FWD_MASK);
	if (r->flags & LVS_CONN_F_INACTIVE)
		fl |= SYNC_CONN_F_INACTIVE;
	if (r->flags & LVS_CONN_F_TEMPLATE)
		fl |= SYNC_CONN_F_TEMPLATE;
	if (r->flags & LVS_CONN_F_NO_CPORT)
		fl |= SYNC_CONN_F_NO_CPORT;
	if (r->flags & LVS_CONN_F_SYNCED)
		fl |= SYNC_CONN_F_SYNC;
	if (r->flags & LVS_SYNC_REC_F_NOOUTPUT)
		fl |= SYNC_CONN_F_NOOUTPUT;
	c->flags = fl;
	c->cport = r->cport;
	c->vport = r->vport;
	c->dport = r->dport;
	/* a fwmark service's template: the kernel's cp->fwmark is the mark,
	 * which lvsd keeps as the template's virtual address */
	if ((r->flags & LVS_CONN_F_TEMPLATE) && r->proto == 0 && r->af == AF_INET)
		c->fwmark = ntohl(r->vaddr.ip4);
	c->timeout_s = r->timeout_s;
	c->caddr = r->caddr;
	c->vaddr = r->vaddr;
	c->daddr = r->daddr;
}

int sync_packer_init(struct sync_packer *pk, size_t maxlen, uint8_t syncid, sync_send_fn send,
		     void *arg, struct sync_counters *cnt)
{
	memset(pk, 0, sizeof(*pk));
	pk->buf = malloc(SYNC_PACKER_BUF);
	if (!pk->buf)
		return -ENOMEM;
	pk->maxlen = maxlen ? maxlen : 1;
	pk->syncid = syncid;
	pk->send = send;
	pk->send_arg = arg;
	pk->cnt = cnt;
	return 0;
}

void sync_packer_free(struct sync_packer *pk)
{
	free(pk->buf);
	pk->buf = NULL;
}

void sync_packer_flush(struct sync_packer *pk)
{
	size_t len;
	int rc;

	if (!pk->open)
		return;
	len = sync_msg_end(&pk->b);
	rc = pk->send(pk->send_arg, pk->buf, len);
	if (pk->cnt) {
		if (rc < 0) {
			sync_count(&pk->cnt->send_errors, 1);
		} else {
			sync_count(&pk->cnt->msgs_sent, 1);
			sync_count(&pk->cnt->conns_sent, pk->b.nr_conns);
		}
	}
	pk->open = false;
}

static size_t entry_size(const struct sync_conn *c)
{
	return c->af == AF_INET6 ? SYNC_V6_LEN : SYNC_V4_LEN; /* lvsd sends no options */
}

int sync_packer_add(struct sync_packer *pk, const struct sync_conn *c, lvs_time_t now)
{
	int rc;

	if (pk->open) {
		/* sync_maxlen may be below the builder's minimum: the limit is
		 * applied here, the builder's own cap is the buffer */
		size_t pad = (4 - (pk->b.len & 3)) & 3;
		if (pk->b.len + pad + entry_size(c) > pk->maxlen)
			sync_packer_flush(pk);
	}
	if (!pk->open) {
		sync_msg_begin(&pk->b, pk->buf, SYNC_PACKER_BUF - 1, pk->syncid);
		pk->open = true;
		pk->opened = now;
	}
	rc = sync_msg_add(&pk->b, c);
	if (rc == -ENOSPC) { /* 255 entries */
		sync_packer_flush(pk);
		sync_msg_begin(&pk->b, pk->buf, SYNC_PACKER_BUF - 1, pk->syncid);
		pk->open = true;
		pk->opened = now;
		rc = sync_msg_add(&pk->b, c);
	}
	if (rc && pk->b.nr_conns == 0)
		pk->open = false;
	return rc;
}

/* ---- backup ---- */

static bool addr_eq(uint8_t af, const union lvs_addr *a, const union lvs_addr *b)
{
	return af == AF_INET ? a->ip4 == b->ip4 : !memcmp(a->b, b->b, 16);
}

/* ip_vs_find_dest: the service, then the destination by (address, port)
 * and by (address, port 0).  RCU reader. */
static struct lvs_dest *find_dest(const struct lvs_snapshot *s, const struct sync_conn *c,
				  enum sync_conn_drop *why)
{
	const struct lvs_service *svc;
	uint32_t mark = c->fwmark;

	if ((c->flags & SYNC_CONN_F_TEMPLATE) && c->proto == 0 && !mark && c->af == AF_INET)
		mark = ntohl(c->vaddr.ip4);
	svc = lvs_svc_lookup(s, c->af, c->proto, &c->vaddr, c->vport, mark);
	if (!svc) {
		*why = SYNC_CD_NO_SERVICE;
		return NULL;
	}
	for (int pass = 0; pass < 2; pass++) {
		uint16_t port = pass ? 0 : c->dport;

		for (uint32_t i = 0; i < svc->ndests; i++) {
			struct lvs_dest *d = svc->dests[i];

			if (d->c.port == port && d->c.af == c->af && addr_eq(c->af, &d->c.addr, &c->daddr))
				return d;
		}
		if (!c->dport)
			break;
	}
	*why = SYNC_CD_NO_DEST;
	return NULL;
}

static uint32_t default_timeout(const struct sync_conn *c)
{
	if (c->flags & SYNC_CONN_F_TEMPLATE)
		return TMPL_DEFAULT_TIMEOUT;
	if (c->proto == IPPROTO_TCP && c->state < LVS_TCP_S_LAST)
		return lvs_tcp_default_timeouts[c->state];
	return LVS_UDP_DEFAULT_TIMEOUT;
}

static int drop_conn(struct sync_backup *bk, enum sync_conn_drop r)
{
	if (bk->cnt)
		sync_count(&bk->cnt->conns_dropped[r], 1);
	return (int)r + 1;
}

int sync_backup_import(struct sync_backup *bk, const struct sync_conn *c, lvs_time_t now)
{
	bool tmpl = (c->flags & SYNC_CONN_F_TEMPLATE) != 0;
	enum sync_conn_drop why = SYNC_CD_NO_SERVICE;
	struct lvs_conn_info ci;
	struct lvs_dest *dest;
	uint32_t timeout;
	unsigned nstates;

	switch (c->proto) {
	case IPPROTO_TCP:
		nstates = LVS_TCP_S_LAST;
		break;
	case IPPROTO_UDP:
		nstates = UDP_STATES;
		break;
	case IPPROTO_SCTP:
		nstates = SCTP_STATES;
		break;
	case 0:
		if (tmpl) { /* a fwmark service's template */
			nstates = TMPL_STATES;
			break;
		}
		/* fall through */
	default:
		return drop_conn(bk, SYNC_CD_PROTO);
	}
	if (tmpl)
		nstates = TMPL_STATES;
	if (c->state >= nstates)
		return drop_conn(bk, SYNC_CD_STATE);

	dest = find_dest(lvs_model_snapshot(bk->model), c, &why);
	if (!dest)
		return drop_conn(bk, why);
	if (dest->c.af != c->af)
		return drop_conn(bk, SYNC_CD_FAMILY);

	memset(&ci, 0, sizeof(ci));
	ci.p.af = c->af;
	ci.p.daf = dest->c.af;
	ci.p.proto = c->proto;
	ci.p.fwd = dest->c.fwd; /* the backup's own method, as ip_vs_bind_dest */
	ci.p.flags = LVS_CONN_F_SYNCED;
	if (tmpl)
		ci.p.flags |= LVS_CONN_F_TEMPLATE;
	if (c->flags & SYNC_CONN_F_NO_CPORT)
		ci.p.flags |= LVS_CONN_F_NO_CPORT;
	if (c->flags & SYNC_CONN_F_INACTIVE)
		ci.p.flags |= LVS_CONN_F_INACTIVE;
	ci.p.cport = c->cport;
	ci.p.vport = c->vport;
	ci.p.dport = c->dport;
	ci.p.caddr = c->caddr;
	ci.p.vaddr = c->vaddr;
	ci.p.daddr = c->daddr;
	timeout = c->timeout_s ? c->timeout_s : default_timeout(c);
	if (timeout > MAX_TIMEOUT_S)
		timeout = MAX_TIMEOUT_S;
	if (tmpl)
		ci.p.timeout = timeout;
	ci.state = (c->proto == IPPROTO_TCP && !tmpl) ? (uint8_t)c->state : 0;
	ci.expires_ms = timeout * 1000u;
	ci.dest = dest->st;

	if (!tmpl) {
		struct lvs_conn *old = lvs_conn_lookup_in(bk->ct, c->af, c->proto, &c->caddr, c->cport,
							  &c->vaddr, c->vport);
		if (old) {
			union lvs_addr da;
			uint16_t dp;

			lvs_conn_dest_addr(bk->ct, old, &da, &dp);
			if (dp != c->dport || !addr_eq(c->af, &da, &c->daddr)) {
				/* ip_vs_proc_conn: the connection was replaced */
				if (c->flags & SYNC_CONN_F_INACTIVE)
					return drop_conn(bk, SYNC_CD_STALE);
				lvs_conn_expire_soon(bk->ct, old);
			}
		}
	}
	if (!lvs_conn_import(bk->ct, bk->worker, &ci, now))
		return drop_conn(bk, SYNC_CD_TABLE_FULL);
	if (bk->cnt)
		sync_count(&bk->cnt->conns_imported, 1);
	return 0;
}

struct import_arg {
	struct sync_backup *bk;
	lvs_time_t now;
	int imported;
};

static int import_cb(void *arg, const struct sync_conn *c)
{
	struct import_arg *a = arg;

	if (a->bk->cnt)
		sync_count(&a->bk->cnt->conns_received, 1);
	if (!sync_backup_import(a->bk, c, a->now))
		a->imported++;
	return 0;
}

int sync_backup_input(struct sync_backup *bk, const uint8_t *buf, size_t len, lvs_time_t now)
{
	struct import_arg a = {.bk = bk, .now = now};
	int rc;

	/* the whole message is checked before any entry is imported */
	rc = sync_msg_parse(buf, len, bk->syncid, NULL, NULL);
	if (rc >= 0)
		rc = sync_msg_parse(buf, len, bk->syncid, import_cb, &a);
	if (rc < 0) {
		if (bk->cnt && -rc < SYNC_DROP__COUNT)
			sync_count(&bk->cnt->msgs_dropped[-rc], 1);
		return rc;
	}
	if (bk->cnt)
		sync_count(&bk->cnt->msgs_received, 1);
	return a.imported;
}

/* ---- table pull ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t sync_pull_encode(uint8_t *buf, const struct sync_pull_msg *m)
{
	memset(buf, 0, SYNC_PULL_LEN);
	/* the v1 header's fields: reserved 0, syncid, size, nr_conns 0,
	 * version 1, spare = the pull mark a kernel refuses */
	buf[1] = m->syncid;
	buf[2] = 0;
	buf[3] = SYNC_PULL_LEN;
	buf[5] = SYNC_PROTO_VER;
	buf[6] = (uint8_t)(SYNC_PULL_SPARE >> 8);
	buf[7] = (uint8_t)SYNC_PULL_SPARE;
	put32(buf + 8, SYNC_PULL_MAGIC);
	buf[12] = m->op;
	put32(buf + 16, m->id);
	put32(buf + 20, m->count);
	return SYNC_PULL_LEN;
}

int sync_pull_decode(const uint8_t *buf, size_t len, struct sync_pull_msg *m)
{
	if (!buf || len != SYNC_PULL_LEN || buf[0] || buf[2] || buf[3] != SYNC_PULL_LEN ||
	    buf[4] || buf[5] != SYNC_PROTO_VER ||
	    ((unsigned)buf[6] << 8 | buf[7]) != SYNC_PULL_SPARE || get32(buf + 8) != SYNC_PULL_MAGIC)
		return -EINVAL;
	if (buf[12] != SYNC_PULL_REQ && buf[12] != SYNC_PULL_END)
		return -EINVAL;
	m->op = buf[12];
	m->syncid = buf[1];
	m->id = get32(buf + 16);
	m->count = get32(buf + 20);
	return 0;
}

struct serve_arg {
	struct sync_pull_serve *ps;
	struct lvs_conn_table *ct;
	struct sync_packer *pk;
	lvs_time_t now;
};

static int serve_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct serve_arg *a = arg;
	struct lvs_sync_rec r;
	struct sync_conn c;

	/* one-packet entries never go out; expired ones are not worth it */
	if ((ci->p.flags & LVS_CONN_F_ONE_PACKET) || !ci->expires_ms)
		return 0;
	lvs_sync_rec_from_info(a->ct, ci, &r);
	sync_conn_from_rec(&r, &c);
	if (!sync_packer_add(a->pk, &c, a->now))
		a->ps->count++;
	return 0;
}

int sync_pull_serve_step(struct sync_pull_serve *ps, struct lvs_conn_table *ct,
			 struct sync_packer *pk, lvs_time_t now, uint32_t slots, unsigned max_msgs)
{
	struct serve_arg a = {.ps = ps, .ct = ct, .pk = pk, .now = now};
	uint64_t sent0 = pk->cnt ? __atomic_load_n(&pk->cnt->msgs_sent, __ATOMIC_RELAXED) : 0;

	if (!ps->active)
		return 0;
	for (;;) {
		uint32_t from = ps->started ? ps->next : 0, chunk = slots < 256 ? slots : 256;

		ps->started = true;
		ps->next = lvs_conn_walk_from(ct, now, from, chunk ? chunk : 1, serve_cb, &a);
		if (!ps->next) {
			struct sync_pull_msg m = {.op = SYNC_PULL_END,
			                          .syncid = pk->syncid,
			                          .id = ps->id,
			                          .count = ps->count};
			uint8_t buf[SYNC_PULL_LEN];

			sync_packer_flush(pk);
			pk->send(pk->send_arg, buf, sync_pull_encode(buf, &m));
			if (pk->cnt) {
				sync_count(&pk->cnt->pulls_served, 1);
				sync_count(&pk->cnt->pull_conns_sent, ps->count);
			}
			ps->active = false;
			return 0;
		}
		slots = slots > chunk ? slots - chunk : 0;
		if (!slots || (pk->cnt && __atomic_load_n(&pk->cnt->msgs_sent, __ATOMIC_RELAXED) -
		                                          sent0 >= max_msgs))
			return 1;
	}
}
