/*
 * fastpath_harness.c - the XDP fast path and the core side by side
 * (fastpath_harness.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "fastpath_harness.h"
#include "io.h"

/* ---- the environment ---- */

static bool is_client_side(int af, const union lvs_addr *a)
{
	return af == AF_INET ? a->b[0] == 192 : (a->b[4] == 0 && a->b[5] == 0x0c);
}

int fh_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh)
{
	uint8_t last = af == AF_INET ? dst->b[3] : dst->b[15];

	(void)ctx;
	memset(nh, 0, sizeof(*nh));
	nh->src_mac[0] = 2;
	nh->src_mac[5] = 0xfe;
	nh->mtu = 1500;
	nh->mac[0] = 2;
	if (is_client_side(af, dst)) {
		nh->mac[5] = 0xc1;
		nh->ifindex = FH_IF_CL;
		return 0;
	}
	nh->mac[4] = 1;
	nh->mac[5] = last;
	nh->ifindex = FH_IF_RS;
	/* one server behind a VLAN: the Ethernet header grows */
	if (af == AF_INET && last == 3)
		nh->vlan_tci = 42;
	/* one behind a jumbo link: multi-buffer frames get forwarded */
	if (last == 9)
		nh->mtu = 9000;
	return 0;
}

int fh_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src)
{
	(void)ctx;
	(void)dst;
	return lvs_addr_parse(af, af == AF_INET ? "10.1.0.254" : "2001:db8:1::fe", src);
}

/* ---- the director ---- */

int fh_dir_init(struct fh_dir *x)
{
	memset(x, 0, sizeof(*x));
	x->m = lvs_model_new();
	if (!x->m)
		return -1;
	x->d.model = x->m;
	x->d.ct = lvs_conn_table_new(256, 1);
	if (!x->d.ct) {
		lvs_model_free(x->m);
		return -1;
	}
	x->d.env.route = fh_route;
	x->d.env.src_addr = fh_src;
	x->w.d = &x->d;
	return 0;
}

static void vip_of(int af, union lvs_addr *a)
{
	lvs_addr_parse(af, af == AF_INET ? FH_V4V : FH_V6V, a);
}

static void client_of(int af, union lvs_addr *a)
{
	lvs_addr_parse(af, af == AF_INET ? FH_V4C : FH_V6C, a);
}

int fh_dir_add(struct fh_dir *x, const struct fh_svc *s)
{
	struct lvs_svc_conf sc;
	struct lvs_svc_key k;
	struct lvs_dest_conf d;
	int daf = strchr(s->dest, ':') ? AF_INET6 : AF_INET;

	memset(&sc, 0, sizeof(sc));
	sc.af = (uint8_t)s->af;
	sc.proto = s->proto;
	vip_of(s->af, &sc.addr);
	sc.port = htons(fh_vport(s));
	snprintf(sc.sched, sizeof(sc.sched), "rr");
	lvs_svc_conf_defaults(&sc);
	if (lvs_model_add_service(x->m, &sc))
		return -1;
	lvs_svc_conf_key(&sc, &k);
	lvs_dest_conf_defaults(&d);
	d.af = (uint8_t)daf;
	if (lvs_addr_parse(daf, s->dest, &d.addr))
		return -1;
	d.port = htons(s->fwd == LVS_FWD_MASQ ? 8080 : fh_vport(s));
	d.fwd = s->fwd;
	d.tun_type = s->tun_type;
	d.tun_flags = s->tun_flags;
	d.tun_port = htons(6080);
	return lvs_model_add_dest(x->m, &k, &d) ? -1 : 0;
}

int fh_dir_reset(struct fh_dir *x)
{
	lvs_conn_table_free(x->d.ct);
	x->d.ct = lvs_conn_table_new(256, 1);
	return x->d.ct ? 0 : -1;
}

void fh_dir_free(struct fh_dir *x)
{
	lvs_conn_table_free(x->d.ct);
	lvs_model_free(x->m);
}

/* ---- frames ---- */

uint32_t fh_sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

uint16_t fh_fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

uint32_t fh_make_frame(uint8_t *f, const struct fh_svc *s, const struct fh_frame *fr,
		       const union lvs_addr *src, uint16_t sport, const union lvs_addr *dst,
		       uint16_t dport)
{
	bool v4 = s->af == AF_INET, tcp = s->proto == IPPROTO_TCP;
	uint32_t l2 = fr->vlan ? 18 : 14, ihl = v4 ? (fr->options ? 24 : 20) : 40;
	uint32_t l4len = (tcp ? 20 : 8) + fr->plen, alen = v4 ? 4 : 16;
	uint8_t *ip = f + l2, *l4 = ip + ihl;
	uint32_t sum;

	memset(f, 0, l2 + ihl + l4len + fr->pad);
	f[0] = 2;
	f[5] = 0xfe;
	f[6] = 2;
	f[11] = 0xaa;
	if (fr->vlan) {
		put16(f + 12, 0x8100);
		put16(f + 14, fr->vlan);
	}
	put16(f + l2 - 2, v4 ? 0x0800 : 0x86dd);
	if (v4) {
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = fr->tos;
		put16(ip + 2, (uint16_t)(ihl + l4len));
		put16(ip + 4, 0x1234);
		if (fr->df)
			ip[6] = 0x40;
		ip[8] = fr->ttl ? fr->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, src->b, 4);
		memcpy(ip + 16, dst->b, 4);
		if (fr->options)
			ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0; /* NOP NOP NOP EOL */
		put16(ip + 10, (uint16_t)~fh_fold16(fh_sum16(ip, ihl, 0)));
	} else {
		ip[0] = (uint8_t)(0x60 | fr->tos >> 4);
		ip[1] = (uint8_t)(fr->tos << 4 | 0x0a); /* and a flow label */
		ip[3] = 0x5e;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = fr->ttl ? fr->ttl : 64;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst->b, 16);
	}
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (tcp) {
		put16(l4 + 4, 0x0102);
		put16(l4 + 8, 0x0a0b);
		l4[12] = 0x50;
		l4[13] = fr->tcp_flags ? fr->tcp_flags : 0x10;
		put16(l4 + 14, 0xffff);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	for (uint32_t i = 0; i < fr->plen; i++)
		l4[(tcp ? 20 : 8) + i] = (uint8_t)(i * 7 + 1);
	/* pseudo-header sum, then the checksum */
	sum = fh_sum16(src->b, alen, 0);
	sum = fh_sum16(dst->b, alen, sum);
	sum += s->proto + (l4len >> 16) + (l4len & 0xffff);
	if (fr->partial) {
		put16(l4 + (tcp ? 16 : 6), fh_fold16(sum));
	} else if (!(fr->udp_nocsum && !tcp)) {
		uint16_t c = (uint16_t)~fh_fold16(fh_sum16(l4, l4len, sum));
		if (!tcp && c == 0)
			c = 0xffff;
		put16(l4 + (tcp ? 16 : 6), c);
	}
	return l2 + ihl + l4len + fr->pad;
}

uint32_t fh_conn_frame(uint8_t *f, const struct fh_svc *s, const struct fh_frame *fr,
		       const struct lvs_conn_info *ci)
{
	if (fr->reply)
		return fh_make_frame(f, s, fr, &ci->p.daddr, ntohs(ci->p.dport), &ci->p.caddr,
				     ntohs(ci->p.cport));
	return fh_make_frame(f, s, fr, &ci->p.caddr, ntohs(ci->p.cport), &ci->p.vaddr,
			     ntohs(ci->p.vport));
}

/* ---- the core ---- */

enum lvs_verdict fh_core_run(struct fh_dir *x, uint8_t *buf, uint32_t len, struct lvs_pkt *p)
{
	enum lvs_drop why;
	enum lvs_verdict v;

	lvs_pkt_init(p, buf, FH_BUFSZ, LVS_PKT_HEADROOM, len);
	p->flags = LVS_PKT_F_CSUM_UNKNOWN;
	p->ifindex = FH_IF_CL;
	v = lvs_director_process(&x->w, p, FH_NOW, &why);
	if (v == LVS_V_TX && (p->flags & LVS_PKT_F_CSUM_PARTIAL) && lvs_io_sw_csum(p))
		return LVS_V_DROP; /* the driver could not send it */
	return v;
}

struct find {
	int af;
	uint8_t proto;
	const union lvs_addr *caddr;
	uint16_t cport, vport; /* network order */
	struct lvs_conn_info *ci;
	int n;
};

static int find_cb(void *arg, const struct lvs_conn_info *ci)
{
	struct find *f = arg;

	if ((ci->p.flags & LVS_CONN_F_TEMPLATE) || ci->p.af != f->af || ci->p.proto != f->proto ||
	    ci->p.cport != f->cport || ci->p.vport != f->vport ||
	    memcmp(&ci->p.caddr, f->caddr, f->af == AF_INET ? 4 : 16))
		return 0;
	*f->ci = *ci;
	f->n++;
	return 0;
}

int fh_conn_find(struct fh_dir *x, int af, uint8_t proto, const union lvs_addr *caddr,
		 uint16_t cport, uint16_t vport, struct lvs_conn_info *ci)
{
	struct find f = {af, proto, caddr, htons(cport), htons(vport), ci, 0};

	lvs_conn_walk(x->d.ct, FH_NOW, find_cb, &f);
	return f.n == 1 ? 0 : -1;
}

int fh_conn_open(struct fh_dir *x, const struct fh_svc *s, uint16_t cport,
		 struct lvs_conn_info *ci)
{
	static uint8_t buf[FH_BUFSZ];
	struct fh_frame fr = {.tcp_flags = 0x02};
	union lvs_addr cl, vip;
	struct lvs_pkt p;
	uint32_t len;

	client_of(s->af, &cl);
	vip_of(s->af, &vip);
	len = fh_make_frame(buf + LVS_PKT_HEADROOM, s, &fr, &cl, cport, &vip, fh_vport(s));
	if (fh_core_run(x, buf, len, &p) != LVS_V_TX)
		return -1;
	if (fh_conn_find(x, s->af, s->proto, &cl, cport, fh_vport(s), ci))
		return -1;
	if (s->proto != IPPROTO_TCP)
		return 0;
	if (s->fwd == LVS_FWD_MASQ) {
		fr.tcp_flags = 0x12;
		fr.reply = true;
		len = fh_conn_frame(buf + LVS_PKT_HEADROOM, s, &fr, ci);
		if (fh_core_run(x, buf, len, &p) != LVS_V_TX)
			return -1;
	}
	fr.tcp_flags = 0x10;
	fr.reply = false;
	len = fh_conn_frame(buf + LVS_PKT_HEADROOM, s, &fr, ci);
	if (fh_core_run(x, buf, len, &p) != LVS_V_TX)
		return -1;
	if (fh_conn_find(x, s->af, s->proto, &cl, cport, fh_vport(s), ci))
		return -1;
	return ci->state == LVS_TCP_S_ESTABLISHED ? 0 : -1;
}

int fh_entry_add(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply)
{
	struct lvs_fast_tun tun = {0};
	struct lvs_nexthop nh;
	union lvs_addr tsrc;
	int daf = ci->p.daf ? ci->p.daf : ci->p.af;

	if (reply)
		fh_route(NULL, ci->p.af, &ci->p.caddr, &nh);
	else
		fh_route(NULL, daf, &ci->p.daddr, &nh);
	fh_src(NULL, daf, &ci->p.daddr, &tsrc);
	lvs_fastpath_tun_of_dest(ci->dest, &tun);
	return lvs_fastpath_add(fp, ci, reply, &nh, &tun, &tsrc);
}

/* ---- the program, and both ---- */

int fh_xdp_run(struct lvs_fastpath *fp, const uint8_t *in, uint32_t len, uint8_t *out,
	       uint32_t *out_len)
{
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = FH_IF_CL};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = FH_BUFSZ, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(lvs_fastpath_prog_fd(fp), &o);

	if (err)
		return err;
	*out_len = o.data_size_out;
	return (int)o.retval;
}

int fh_run_both(struct lvs_fastpath *fp, struct fh_dir *x, const uint8_t *frame, uint32_t len,
		struct fh_run *r)
{
	r->xdp = fh_xdp_run(fp, frame, len, r->xout, &r->xlen);
	if (r->xdp < 0)
		return r->xdp;
	memcpy(r->cbuf + LVS_PKT_HEADROOM, frame, len);
	r->core = fh_core_run(x, r->cbuf, len, &r->p);
	return 0;
}

void fh_hexdiff(const char *what, const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	unsigned shown = 0;

	fprintf(stderr, "  %s: core %u bytes, xdp %u bytes\n", what, al, bl);
	for (uint32_t i = 0; i < (al > bl ? al : bl) && shown < 128; i++) {
		int ca = i < al ? a[i] : -1, cb = i < bl ? b[i] : -1;
		if (ca != cb) {
			fprintf(stderr, "  [%3u] core %02x xdp %02x\n", i, ca & 0xff, cb & 0xff);
			shown++;
		}
	}
}

enum fh_outcome fh_judge(const struct fh_run *r, const uint8_t *frame, uint32_t len,
			 int user_verdict)
{
	if (r->xdp == XDP_TX || r->xdp == XDP_REDIRECT) {
		int want = r->p.ifindex == FH_IF_CL ? XDP_TX : XDP_REDIRECT;

		if (r->core != LVS_V_TX || r->xdp != want) {
			fprintf(stderr, "  core verdict %d (egress %u), xdp %d (want %d)\n",
				r->core, r->p.ifindex, r->xdp, want);
			return FH_DIFFER;
		}
		if (r->xlen != r->p.len || memcmp(r->xout, r->p.data, r->xlen)) {
			fh_hexdiff("frames differ", r->p.data, r->p.len, r->xout, r->xlen);
			return FH_DIFFER;
		}
		return FH_FORWARDED;
	}
	if (r->xdp == user_verdict) {
		if (r->xlen != len || memcmp(r->xout, frame, len)) {
			fh_hexdiff("user verdict, frame changed (core: input)", frame, len,
				   r->xout, r->xlen);
			return FH_DIFFER;
		}
		return FH_USER;
	}
	if (r->xdp == XDP_DROP)
		return FH_DROPPED;
	fprintf(stderr, "  xdp verdict %d\n", r->xdp);
	return FH_DIFFER;
}
