/*
 * lvs_fast.bpf.c - the XDP fast path for established connections.
 *
 * Packets of a connection user space has put into a flow map
 * (lvs_flows4 / lvs_flows6, lvs_fast.h) are forwarded here, the way the
 * core's transforms would forward them, byte for byte (tests/unit/
 * test_fastpath.c holds the two side by side):
 *   NAT in / out   xmit_nat.c: address and port rewritten, the IPv4 header
 *                  and TCP/UDP checksums updated incrementally (RFC 1624)
 *                  with the same arithmetic in the same order;
 *   DR             xmit_dr.c: the MACs and the TTL only;
 *   TUN            xmit_tun.c: IPIP / IPv6-in-IPv6 (either outer family),
 *                  GUE (optional UDP checksum, remote checksum offload) and
 *                  GRE (optional checksum), outer id, TTL, DS field and DF
 *                  derived from the inner packet as the core derives them.
 * Every transform decrements the TTL / hop limit as a router (RFC 1812
 * 5.3.1, RFC 8200 3) and kernel IPVS do.
 *
 * Everything that needs a decision goes to user space with the verdict
 * lvs_fast_user_verdict (XDP_PASS unless the loader sets another): frames
 * that are not IPv4/IPv6 with TCP/UDP right after a plain header (options,
 * extension headers, fragments), more than one VLAN tag, anything the
 * core's parser would refuse, TCP SYN/FIN/RST or no ACK (the state moves),
 * flows without an entry, TTL / hop limit <= 1 (the core answers time
 * exceeded), frames too big for the egress MTU (fragmentation needed /
 * packet too big, or the core's drop).
 *
 * Checksum-partial frames: XDP does not carry the kernel's
 * CHECKSUM_PARTIAL flag, so the frame is judged as the core judges a frame
 * from the AF_XDP driver (lvs_pkt_csum_resolve): a TCP/UDP checksum field
 * equal to the pseudo-header sum is partial.  The core updates such a
 * field as a pseudo-header sum and the AF_XDP driver completes it before
 * sending (lvs_io_sw_csum); here the same update is made and the checksum
 * completed at once, since nothing after XDP would.  A tunnelled partial
 * inner is completed first, as xmit_tun.c does, except with GUE remote
 * checksum offload.
 *
 * Multi-buffer (xdp.frags): headers must be in the first buffer; sums over
 * payload read it with bpf_xdp_load_bytes, which crosses fragments.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lvs_fast.h"
#include "lvs_xdp_filter.bpf.h"

#define AF_INET  2
#define AF_INET6 10

#define ETHT_IP4    0x0800
#define ETHT_IP6    0x86dd
#define ETHT_8021Q  0x8100
#define ETHT_8021AD 0x88a8

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define IP4_DF 0x4000

#define GUE_HLEN          4
#define GUE_PRIV_LEN      4
#define GUE_REMCSUM_LEN   4
#define GUE_FLAG_PRIV     0x0001
#define GUE_PFLAG_REMCSUM 0x80000000u
#define GRE_F_CSUM        0x8000
#define TUN_SPORT_MIN     32768
#define TUN_SPORT_MAX     60999

/* Sums over payload: chunks read onto the stack (fragments included). */
#define CSUM_CHUNK  128
#define CSUM_CHUNKS 128 /* 16 KB: larger datagrams that need a sum go up */

/* What "to user space" means: the verdict lvs_fast_user_verdict (the
 * AF_PACKET driver reads what the host's stack receives), or, with
 * lvs_fast_xsk set, the AF_XDP driver's filter on the driver's maps
 * (lvs_xdp_filter.bpf.h), whose program this one then stands in for. */
const volatile __u32 lvs_fast_user_verdict = XDP_PASS;
const volatile __u32 lvs_fast_xsk = 0;
/* Egress on the ingress interface by XDP_TX (1) or by bpf_redirect to it
 * (0: veth loses XDP_TX frames when they arrive through its skb path, as
 * measured on the lab's veths; a redirect to the same device goes through). */
const volatile __u32 lvs_fast_tx_same_if = 1;

/* Two flow maps: the kernel hashes the whole key on every lookup, and an
 * IPv4 key of 16 bytes hashes in less than half the time of the 40 an
 * IPv6 key needs.  Entries are allocated as user space writes them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LVS_FAST_FLOWS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lvs_fast_key4);
	__type(value, struct lvs_fast_val);
} lvs_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LVS_FAST_FLOWS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lvs_fast_key);
	__type(value, struct lvs_fast_val);
} lvs_flows6 SEC(".maps");

/* The entries' packet and byte counters, per CPU, at the slot user space
 * gave the entry (lvs_fast_val.slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LVS_FAST_FLOWS_MAX);
	__type(key, __u32);
	__type(value, struct lvs_fast_ctr);
} lvs_fast_ctrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LVS_FASTS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} lvs_fast_stats SEC(".maps");

/* The packet as parsed (offsets from the frame's start). */
struct fpkt {
	__u32 l2;     /* Ethernet header with its tag: 14 or 18 */
	__u32 l3len;  /* IP datagram length */
	__u32 l4off;  /* l2 + 20 (IPv4) or l2 + 40 (IPv6) */
	__u32 flen;   /* frame length, all buffers */
	__u32 coff;   /* L4 checksum field offset: 16 TCP, 6 UDP */
	__u8 af;
	__u8 proto;
	__u8 partial; /* L4 checksum holds only the pseudo-header sum */
	__u8 pad;
};

static __always_inline void count(__u32 what)
{
	__u64 *c = bpf_map_lookup_elem(&lvs_fast_stats, &what);

	if (c)
		*c += 1;
}

/* One copy of the filter, verified once, however many ways lead up. */
__noinline int lvs_fast_filter(struct xdp_md *ctx)
{
	return lvs_xdp_filter(ctx);
}

static __always_inline int to_user(struct xdp_md *ctx, __u32 why)
{
	count(why);
	if (lvs_fast_xsk)
		return lvs_fast_filter(ctx);
	return lvs_fast_user_verdict;
}

/* ---- checksum arithmetic, as the core's (csum.c, xmit_int.h) ---- */

static __always_inline __u16 fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static __always_inline __u32 fold64(__u64 s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (__u32)s;
}

static __always_inline __u32 add32(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r < a ? r + 1 : r;
}

/* RFC 1624 eqn. 3 for one 16-bit change (xm_csum_upd2) */
static __always_inline __u16 upd2(__u16 c, __u16 old, __u16 new_)
{
	__u32 s = (__u16)~c;

	s += (__u16)~old;
	s += new_;
	return (__u16)~fold32(s);
}

/* ... one 32-bit change (xm_csum_upd4) */
static __always_inline __u16 upd4(__u16 c, __u32 old, __u32 new_)
{
	__u64 s = (__u16)~c;

	s += (__u32)~old;
	s += new_;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (__u16)~fold32((__u32)s);
}

/* ... a 32-bit and a 16-bit change at once (xm_csum_upd4_2) */
static __always_inline __u16 upd4_2(__u16 c, __u32 old4, __u32 new4, __u16 old2, __u16 new2)
{
	__u64 s = (__u16)~c;

	s += (__u32)~old4;
	s += new4;
	s += (__u16)~old2;
	s += new2;
	return (__u16)~fold32(fold64(s));
}

/* sum of (~old + new) over four words (csum.c's csum_diff16) */
static __always_inline __u32 diff16(const __u32 *old, const __u32 *new_)
{
	__u64 s = 0;

	s += (__u64)(__u32)~old[0] + (__u32)~old[1];
	s += (__u64)(__u32)~old[2] + (__u32)~old[3];
	s += (__u64)new_[0] + new_[1] + new_[2] + new_[3];
	return fold64(s);
}

/* IPv6 address change in a complete field (lvs_csum_replace16) */
static __always_inline __u16 upd16(__u16 c, const __u32 *old, const __u32 *new_)
{
	return (__u16)~fold32(add32((__u16)~c, diff16(old, new_)));
}

/* The same changes in a field holding a pseudo-header sum
 * (lvs_csum_partial_replace4 / 16). */
static __always_inline __u16 partial_upd4(__u16 c, __u32 old, __u32 new_)
{
	__u64 s = c;

	s += (__u32)~old;
	s += new_;
	return fold32(fold64(s));
}

static __always_inline __u16 partial_upd16(__u16 c, const __u32 *old, const __u32 *new_)
{
	return fold32(add32(c, diff16(old, new_)));
}

/* Pseudo-header sums (lvs_csum_pseudo4 / 6), 32-bit partial sums. */
static __always_inline __u32 pseudo4(__u32 s, __u32 d, __u8 proto, __u32 len)
{
	return fold64((__u64)s + d + bpf_htonl(proto) + bpf_htonl(len));
}

static __always_inline __u32 pseudo6(const __u32 *s, const __u32 *d, __u8 proto, __u32 len)
{
	__u64 x = 0;

	x += (__u64)s[0] + s[1] + s[2] + s[3];
	x += (__u64)d[0] + d[1] + d[2] + d[3];
	x += bpf_htonl(len);
	x += bpf_htonl(proto);
	return fold64(x);
}

/*
 * The folded (not complemented) one's-complement sum of len bytes of the
 * frame at off, plus seed: 1..0xffff, or -1 when the bytes are not there
 * or there are more than CSUM_CHUNKS chunks.  An odd last byte counts as
 * the high byte of a zero-padded word (RFC 1071), as off is even.  A
 * global function: verified once, whoever calls it.
 */
__noinline int lvs_fast_csum(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed)
{
	__u8 buf[CSUM_CHUNK];
	__u32 s = seed, i, n, n4;
	long r;

	if (!ctx)
		return -1;
	for (i = 0; i < CSUM_CHUNKS && len >= CSUM_CHUNK; i++) {
		if (bpf_xdp_load_bytes(ctx, off, buf, CSUM_CHUNK))
			return -1;
		r = bpf_csum_diff(0, 0, (__be32 *)buf, CSUM_CHUNK, s);
		if (r < 0)
			return -1;
		s = (__u32)r;
		off += CSUM_CHUNK;
		len -= CSUM_CHUNK;
	}
	if (len >= CSUM_CHUNK)
		return -1;
	/* the verifier must see the size's bounds on the register passed */
	asm volatile("" : "+r"(len));
	n = len & (CSUM_CHUNK - 1);
	if (n) {
		__builtin_memset(buf, 0, sizeof(buf));
		if (bpf_xdp_load_bytes(ctx, off, buf, n))
			return -1;
		n4 = (n + 3) & ~3u;
		if (n4 > CSUM_CHUNK)
			n4 = CSUM_CHUNK;
		r = bpf_csum_diff(0, 0, (__be32 *)buf, n4, s);
		if (r < 0)
			return -1;
		s = (__u32)r;
	}
	return fold32(s);
}

/*
 * Complete a checksum-partial L4 checksum as the AF_XDP driver does
 * (lvs_io_sw_csum): sum from the L4 header to the end of the datagram,
 * the field (the pseudo-header sum) included.  0 or -1.
 */
static __always_inline int complete_l4(struct xdp_md *ctx, const struct fpkt *p, __u32 l4off)
{
	int s = lvs_fast_csum(ctx, l4off, p->l3len - (p->l4off - p->l2), 0);
	__u16 c;

	if (s < 0)
		return -1;
	c = (__u16)~s;
	/* RFC 768: a computed zero is sent as all ones */
	if (c == 0 && p->proto == IPPROTO_UDP)
		c = 0xffff;
	return bpf_xdp_store_bytes(ctx, l4off + p->coff, &c, 2) ? -1 : 0;
}

/* ---- parsing ---- */

/* TCP / UDP header checks of the core's parser, and the flags that go up. */
static __always_inline __u32 parse_l4(struct fpkt *p, __u8 *l4, void *end, __u32 l4len)
{
	if (p->proto == IPPROTO_TCP) {
		__u32 doff;

		if ((void *)(l4 + 20) > end || l4len < 20)
			return LVS_FASTS_SHAPE;
		doff = (__u32)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return LVS_FASTS_SHAPE;
		/* SYN, FIN, RST, or no ACK (the core moves the connection
		 * to CLOSE, as the kernel does) */
		if ((l4[13] & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) != TCP_ACK)
			return LVS_FASTS_TCP_FLAGS;
		p->coff = 16;
		return 0;
	}
	if (p->proto == IPPROTO_UDP) {
		if ((void *)(l4 + 8) > end || l4len < 8)
			return LVS_FASTS_SHAPE;
		/* trailing octets after the UDP length: left to the core */
		if (bpf_ntohs(*(__be16 *)(l4 + 4)) != l4len)
			return LVS_FASTS_SHAPE;
		p->coff = 6;
		return 0;
	}
	return LVS_FASTS_SHAPE;
}

static __always_inline __u32 parse_ip4(struct fpkt *p, struct lvs_fast_key4 *k, __u8 *ip,
				       void *end)
{
	__u32 tot, w0, w1, w2, w3, w4, saddr, daddr;
	__u64 s;
	__u16 ps;
	__u8 *l4 = ip + 20;
	__u32 r;

	if ((void *)(ip + 20) > end)
		return LVS_FASTS_SHAPE;
	/* options or another version: the core's general parser */
	if (ip[0] != 0x45)
		return LVS_FASTS_SHAPE;
	tot = bpf_ntohs(*(__be16 *)(ip + 2));
	if (tot < 20 || p->l2 + tot > p->flen)
		return LVS_FASTS_SHAPE;
	/* MF or a fragment offset */
	if (*(__be16 *)(ip + 6) & bpf_htons(0x3fff))
		return LVS_FASTS_SHAPE;
	w0 = *(__u32 *)ip;
	w1 = *(__u32 *)(ip + 4);
	w2 = *(__u32 *)(ip + 8);
	w3 = *(__u32 *)(ip + 12);
	w4 = *(__u32 *)(ip + 16);
	s = (__u64)w0 + w1 + w2 + w3 + w4;
	if (fold32(fold64(s)) != 0xffff)
		return LVS_FASTS_SHAPE; /* the core drops it */
	saddr = w3;
	daddr = w4;
	/* multicast or limited broadcast source: the core drops it */
	if ((saddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || saddr == 0xffffffffu)
		return LVS_FASTS_SHAPE;
	p->af = AF_INET;
	p->proto = ip[9];
	p->l3len = tot;
	p->l4off = p->l2 + 20;
	r = parse_l4(p, l4, end, tot - 20);
	if (r)
		return r;
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = *(__be16 *)l4;
	k->dport = *(__be16 *)(l4 + 2);
	k->proto = p->proto;
	/* lvs_pkt_csum_resolve: a field equal to the pseudo-header sum */
	ps = fold32(pseudo4(saddr, daddr, p->proto, tot - 20));
	p->partial = *(__u16 *)(l4 + p->coff) == ps;
	return 0;
}

static __always_inline __u32 parse_ip6(struct fpkt *p, struct lvs_fast_key *k, __u8 *ip,
				       void *end)
{
	__u32 plen, r;
	__u8 *l4 = ip + 40;
	__u16 ps;

	if ((void *)(ip + 40) > end)
		return LVS_FASTS_SHAPE;
	if ((ip[0] >> 4) != 6)
		return LVS_FASTS_SHAPE;
	plen = bpf_ntohs(*(__be16 *)(ip + 4));
	if (plen == 0 || plen > 65535 - 40 || p->l2 + 40 + plen > p->flen)
		return LVS_FASTS_SHAPE;
	if (ip[8] == 0xff) /* multicast source */
		return LVS_FASTS_SHAPE;
	/* extension headers go up: only TCP / UDP right after the header */
	p->af = AF_INET6;
	p->proto = ip[6];
	p->l3len = 40 + plen;
	p->l4off = p->l2 + 40;
	r = parse_l4(p, l4, end, plen);
	if (r)
		return r;
	k->af = AF_INET6;
	k->proto = p->proto;
	k->sport = *(__be16 *)l4;
	k->dport = *(__be16 *)(l4 + 2);
	__builtin_memcpy(k->saddr, ip + 8, 16);
	__builtin_memcpy(k->daddr, ip + 24, 16);
	ps = fold32(pseudo6((const __u32 *)(ip + 8), (const __u32 *)(ip + 24), p->proto, plen));
	p->partial = *(__u16 *)(l4 + p->coff) == ps;
	return 0;
}

/* ---- output ---- */

/*
 * Make room for (or drop) bytes in front of the IP packet so that it is
 * preceded by new_l2 + push bytes, and write the Ethernet header for the
 * entry's next hop (with its VLAN tag) as xm_write_eth does.  First step
 * of every transform, so that a frame without head room goes to user
 * space unchanged (1).  *p's offsets follow the move: l2 is where the IP
 * packet now starts.  0, 1, or -1 when the frame is not what it was.
 */
static __always_inline int write_l2(struct xdp_md *ctx, struct fpkt *p,
				    const struct lvs_fast_val *v, __u32 push, __u16 eth_type)
{
	__u32 new_l2 = v->vlan_tci ? 18 : 14;
	int delta = (int)p->l2 - (int)new_l2 - (int)push;
	void *data, *end;
	__u8 *e;

	/* NAT and DR between untagged (or tagged) links move nothing: no
	 * helper call then */
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return 1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	e = data;
	if ((void *)(e + 18) > end)
		return -1;
	__builtin_memcpy(e, v->dmac, 6);
	__builtin_memcpy(e + 6, v->smac, 6);
	if (v->vlan_tci) {
		*(__be16 *)(e + 12) = bpf_htons(ETHT_8021Q);
		*(__be16 *)(e + 14) = bpf_htons(v->vlan_tci);
		*(__be16 *)(e + 16) = bpf_htons(eth_type);
	} else {
		*(__be16 *)(e + 12) = bpf_htons(eth_type);
	}
	p->l4off = p->l4off - p->l2 + new_l2 + push;
	p->l2 = new_l2 + push;
	return 0;
}

/* The IPv4 TTL/protocol word (as in the header) with the TTL one less;
 * the TTL is > 1, so nothing borrows from the protocol. */
static __always_inline __u16 ttl_dec_word(__u16 w)
{
	return bpf_htons(bpf_ntohs(w) - 0x100);
}

/* TTL / hop limit minus one (xm_dec_ttl); the caller checked it is > 1.
 * 0, or -1 when the header is not in the first buffer. */
static __always_inline int dec_ttl(__u8 *ip, void *end, __u8 af)
{
	if (af == AF_INET) {
		__u16 old, new_;

		if ((void *)(ip + 20) > end)
			return -1;
		/* the new word from the old one in a register: reading the
		 * word back after a byte store stalls store forwarding */
		old = *(__u16 *)(ip + 8);
		new_ = ttl_dec_word(old);
		*(__u16 *)(ip + 8) = new_;
		*(__u16 *)(ip + 10) = upd2(*(__u16 *)(ip + 10), old, new_);
		return 0;
	}
	if ((void *)(ip + 40) > end)
		return -1;
	ip[7]--;
	return 0;
}

/* ---- NAT (xmit_nat.c) ---- */

/* 0 forwarded, 1 to user space unchanged, -1 frame broken (dropped). */
static __always_inline int nat(struct xdp_md *ctx, struct fpkt *p, const struct lvs_fast_val *v,
			       int in)
{
	void *data, *end;
	__u8 *ip, *l4;
	__u16 *cf, *pf, c, op, np = v->nport;
	int udp = p->proto == IPPROTO_UDP, r;

	r = write_l2(ctx, p, v, 0, p->af == AF_INET ? ETHT_IP4 : ETHT_IP6);
	if (r)
		return r;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = (__u8 *)data + p->l2;
	l4 = (__u8 *)data + p->l4off;
	cf = (__u16 *)(l4 + p->coff);
	pf = (__u16 *)(l4 + (in ? 2 : 0));
	if ((void *)(l4 + 4) > end || (void *)(cf + 1) > end)
		return -1;
	op = *pf;
	c = *cf;
	if (p->af == AF_INET) {
		__u32 oa, na = *(const __u32 *)v->naddr;

		if ((void *)(ip + 20) > end)
			return -1;
		oa = *(__u32 *)(ip + (in ? 16 : 12));
		if (!p->partial) {
			/* nat4_fast: one update per header */
			__u16 t_old = *(__u16 *)(ip + 8), t_new = ttl_dec_word(t_old);

			if (!(udp && c == 0)) {
				c = upd4_2(c, oa, na, op, np);
				if (udp && c == 0)
					c = 0xffff;
				*cf = c;
			}
			*pf = np;
			*(__u16 *)(ip + 8) = t_new;
			*(__u16 *)(ip + 10) = upd4_2(*(__u16 *)(ip + 10), oa, na, t_old, t_new);
		} else {
			/* nat_l4's partial branch, then the TTL, then the address */
			*cf = partial_upd4(c, oa, na);
			*pf = np;
			if (dec_ttl(ip, end, AF_INET))
				return -1;
			*(__u16 *)(ip + 10) = upd4(*(__u16 *)(ip + 10), oa, na);
		}
		*(__u32 *)(ip + (in ? 16 : 12)) = na;
	} else {
		__u32 oa[4], na[4];
		__u8 *a = ip + (in ? 24 : 8);

		if ((void *)(ip + 40) > end)
			return -1;
		__builtin_memcpy(oa, a, 16);
		__builtin_memcpy(na, v->naddr, 16);
		if (!p->partial) {
			c = upd16(c, oa, na);
			c = upd2(c, op, np);
			if (udp && c == 0)
				c = 0xffff;
		} else {
			c = partial_upd16(c, oa, na);
		}
		*cf = c;
		*pf = np;
		ip[7]--;
		__builtin_memcpy(a, na, 16);
	}
	if (p->partial && complete_l4(ctx, p, p->l4off))
		return -1;
	return 0;
}

/* ---- DR (xmit_dr.c) ---- */

static __always_inline int dr(struct xdp_md *ctx, struct fpkt *p, const struct lvs_fast_val *v)
{
	void *data, *end;
	int r;

	r = write_l2(ctx, p, v, 0, p->af == AF_INET ? ETHT_IP4 : ETHT_IP6);
	if (r)
		return r;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (dec_ttl((__u8 *)data + p->l2, end, p->af))
		return -1;
	if (p->partial && complete_l4(ctx, p, p->l4off))
		return -1;
	return 0;
}

/* ---- TUN (xmit_tun.c) ---- */

static __always_inline __u32 mix(__u32 h, __u32 x)
{
	h ^= x * 0xcc9e2d51u;
	h = (h << 15) | (h >> 17);
	h *= 0x1b873593u;
	return h ^ (h >> 16);
}

static __always_inline __u32 hash_addr(__u32 h, const __u32 *a)
{
	return mix(mix(mix(mix(h, a[0]), a[1]), a[2]), a[3]);
}

/* Bytes the tunnel adds after the outer IP header. */
static __always_inline __u32 tun_encap_len(const struct lvs_fast_val *v, int remcsum)
{
	if (v->tun_type == LVS_FAST_TUN_GUE)
		return 8 + GUE_HLEN + (remcsum ? GUE_PRIV_LEN + GUE_REMCSUM_LEN : 0);
	if (v->tun_type == LVS_FAST_TUN_GRE)
		return (v->tun_flags & LVS_FAST_TUN_F_CSUM) ? 8 : 4;
	return 0;
}

static __always_inline int tun_remcsum(const struct fpkt *p, const struct lvs_fast_val *v)
{
	return v->tun_type == LVS_FAST_TUN_GUE && (v->tun_flags & LVS_FAST_TUN_F_REMCSUM) &&
	       p->partial;
}

/* What the outer header and the encapsulation add (the MTU check's
 * overhead). */
static __always_inline __u32 tun_overhead(const struct fpkt *p, const struct lvs_fast_val *v)
{
	return (v->oaf == AF_INET ? 20 : 40) + tun_encap_len(v, tun_remcsum(p, v));
}

struct tun_hdr {
	__u8 b[60]; /* outer IP header (20 / 40) and encapsulation (<= 20) */
};

static __always_inline int tun(struct xdp_md *ctx, struct fpkt *p, const struct lvs_fast_val *v)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *ip = (__u8 *)data + p->l2, *l4 = (__u8 *)data + p->l4off;
	int remcsum = tun_remcsum(p, v), v4in = p->af == AF_INET, v4out = v->oaf == AF_INET;
	int gue = v->tun_type == LVS_FAST_TUN_GUE, gre = v->tun_type == LVS_FAST_TUN_GRE;
	int ucsum, gcsum = gre && (v->tun_flags & LVS_FAST_TUN_F_CSUM);
	__u32 ohl = v4out ? 20 : 40, encl = tun_encap_len(v, remcsum), ilen = p->l3len;
	__u32 sa[4] = {}, da[4] = {}, h, id32 = 0, x0, x1, rstart, hl, l2;
	__u16 id = 0, sport = 0, iid = 0;
	__u8 ds, ttl, iproto = v4in ? IPPROTO_IPIP : IPPROTO_IPV6, oproto;
	__be16 isport, idport;
	struct tun_hdr t = {};
	__u8 *o = t.b, *e;
	int df, s, r;

	ucsum = gue && ((v->tun_flags & (LVS_FAST_TUN_F_CSUM | LVS_FAST_TUN_F_REMCSUM)) || !v4out);
	oproto = gue ? IPPROTO_UDP : gre ? IPPROTO_GRE : iproto;
	/* The inner checksum is final before it is wrapped.  Completing it
	 * first is harmless should the frame still go to user space. */
	if (p->partial && !remcsum) {
		if (complete_l4(ctx, p, p->l4off))
			return 1;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		ip = (__u8 *)data + p->l2;
		l4 = (__u8 *)data + p->l4off;
	}
	if ((void *)(ip + 20) > end || (void *)(l4 + 8) > end)
		return 1;
	isport = *(__be16 *)l4;
	idport = *(__be16 *)(l4 + 2);
	x0 = *(__u32 *)l4;
	x1 = *(__u32 *)(l4 + 4);
	if (v4in) {
		ttl = ip[8] - 1;
		ds = ip[1];
		df = (*(__be16 *)(ip + 6) & bpf_htons(IP4_DF)) != 0;
		iid = bpf_ntohs(*(__be16 *)(ip + 4));
		sa[0] = *(__u32 *)(ip + 12);
		da[0] = *(__u32 *)(ip + 16);
	} else {
		if ((void *)(ip + 40) > end)
			return 1;
		ttl = ip[7] - 1;
		ds = (__u8)((ip[0] & 0x0f) << 4 | ip[1] >> 4);
		df = 0;
		__builtin_memcpy(sa, ip + 8, 16);
		__builtin_memcpy(da, ip + 24, 16);
	}
	/* ECN: congestion experienced becomes ECT(0) outside (RFC 3168) */
	if ((ds & 3) == 3)
		ds = (__u8)((ds & ~3) | 2);
	/* tun_ip_id: consecutive ids per client for an IPv4 inner */
	if (v4out) {
		h = hash_addr(hash_addr(0, sa), da);
		if (v4in) {
			id32 = (h ^ (h >> 16)) + iid;
		} else {
			h = mix(mix(h, x0), x1);
			id32 = h ^ (h >> 16);
		}
		id = bpf_htons((__u16)id32);
	}
	/* tun_sport: one port per inner flow */
	if (gue) {
		h = hash_addr(hash_addr(p->proto, sa), da);
		h = mix(h, (__u32)isport << 16 | idport);
		sport = bpf_htons((__u16)(TUN_SPORT_MIN +
					  (((__u64)h * (TUN_SPORT_MAX - TUN_SPORT_MIN + 1)) >> 32)));
	}

	/* outer IP header */
	if (v4out) {
		o[0] = 0x45;
		o[1] = ds;
		*(__be16 *)(o + 2) = bpf_htons((__u16)(ohl + encl + ilen));
		*(__u16 *)(o + 4) = id;
		*(__be16 *)(o + 6) = bpf_htons(df ? IP4_DF : 0);
		o[8] = ttl;
		o[9] = oproto;
		__builtin_memcpy(o + 12, v->tsrc, 4);
		__builtin_memcpy(o + 16, v->naddr, 4);
		*(__u16 *)(o + 10) =
			(__u16)~fold32(fold64((__u64)*(__u32 *)o + *(__u32 *)(o + 4) +
					      *(__u32 *)(o + 8) + *(__u32 *)(o + 12) +
					      *(__u32 *)(o + 16)));
		e = o + 20;
	} else {
		*(__be32 *)o = bpf_htonl(0x60000000u | (__u32)ds << 20);
		*(__be16 *)(o + 4) = bpf_htons((__u16)(encl + ilen));
		o[6] = oproto;
		o[7] = ttl;
		__builtin_memcpy(o + 8, v->tsrc, 16);
		__builtin_memcpy(o + 24, v->naddr, 16);
		e = o + 40;
	}
	/* encapsulation */
	rstart = p->l4off - p->l2;
	if (gue) {
		__u8 *g = e + 8;

		*(__u16 *)e = sport;
		*(__be16 *)(e + 2) = v->tun_port;
		*(__be16 *)(e + 4) = bpf_htons((__u16)(encl + ilen));
		*(__u16 *)(e + 6) = 0;
		g[0] = (__u8)(remcsum ? (GUE_PRIV_LEN + GUE_REMCSUM_LEN) / 4 : 0);
		g[1] = iproto;
		*(__be16 *)(g + 2) = bpf_htons(remcsum ? GUE_FLAG_PRIV : 0);
		if (remcsum) {
			*(__be32 *)(g + 4) = bpf_htonl(GUE_PFLAG_REMCSUM);
			*(__be16 *)(g + 8) = bpf_htons((__u16)rstart);
			*(__be16 *)(g + 10) = bpf_htons((__u16)(rstart + p->coff));
		}
	} else if (gre) {
		*(__be16 *)e = bpf_htons(gcsum ? GRE_F_CSUM : 0);
		*(__be16 *)(e + 2) = bpf_htons(v4in ? ETHT_IP4 : ETHT_IP6);
		*(__u32 *)(e + 4) = 0;
	}

	/* room in front and the Ethernet header; then nothing goes back */
	hl = ohl + encl;
	r = write_l2(ctx, p, v, hl, v4out ? ETHT_IP4 : ETHT_IP6);
	if (r)
		return r;
	l2 = v->vlan_tci ? 18 : 14;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (dec_ttl((__u8 *)data + p->l2, end, p->af))
		return -1;
	if (hl > sizeof(t.b) || bpf_xdp_store_bytes(ctx, l2, t.b, hl))
		return -1;
	/* checksums over the encapsulation and the whole inner packet */
	if (gcsum) {
		__u16 c;

		s = lvs_fast_csum(ctx, l2 + ohl, encl + ilen, 0);
		if (s < 0)
			return -1;
		c = (__u16)~s;
		if (bpf_xdp_store_bytes(ctx, l2 + ohl + 4, &c, 2))
			return -1;
	}
	if (ucsum) {
		__u32 ps, ulen = encl + ilen, osrc[4], odst[4];
		__u16 c;

		__builtin_memcpy(osrc, v->tsrc, 16);
		__builtin_memcpy(odst, v->naddr, 16);
		ps = v4out ? pseudo4(osrc[0], odst[0], IPPROTO_UDP, ulen)
			   : pseudo6(osrc, odst, IPPROTO_UDP, ulen);
		s = lvs_fast_csum(ctx, l2 + ohl, ulen, ps);
		if (s < 0)
			return -1;
		c = (__u16)~s;
		if (c == 0)
			c = 0xffff; /* RFC 768 */
		if (bpf_xdp_store_bytes(ctx, l2 + ohl + 6, &c, 2))
			return -1;
	}
	return 0;
}

/* ---- the program ---- */

SEC("xdp.frags")
int lvs_fast(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct fpkt p = {};
	struct lvs_fast_val *v;
	struct lvs_fast_ctr *c;
	__u8 *eth = data, *ip;
	__u64 now;
	__u32 r, overhead = 0, bytes;
	__be16 type;
	int err;

	if ((void *)(eth + 14) > end)
		return to_user(ctx, LVS_FASTS_NOT_IP);
	p.flen = (__u32)bpf_xdp_get_buff_len(ctx);
	type = *(__be16 *)(eth + 12);
	p.l2 = 14;
	if (type == bpf_htons(ETHT_8021Q) || type == bpf_htons(ETHT_8021AD)) {
		if ((void *)(eth + 18) > end)
			return to_user(ctx, LVS_FASTS_SHAPE);
		type = *(__be16 *)(eth + 16);
		p.l2 = 18;
	}
	ip = eth + p.l2;
	if (type == bpf_htons(ETHT_IP4)) {
		struct lvs_fast_key4 k = {};

		r = parse_ip4(&p, &k, ip, end);
		if (r)
			return to_user(ctx, r);
		v = bpf_map_lookup_elem(&lvs_flows4, &k);
	} else if (type == bpf_htons(ETHT_IP6)) {
		struct lvs_fast_key k = {};

		r = parse_ip6(&p, &k, ip, end);
		if (r)
			return to_user(ctx, r);
		v = bpf_map_lookup_elem(&lvs_flows6, &k);
	} else if (type == bpf_htons(ETHT_8021Q) || type == bpf_htons(ETHT_8021AD)) {
		return to_user(ctx, LVS_FASTS_SHAPE);
	} else {
		return to_user(ctx, LVS_FASTS_NOT_IP);
	}
	if (!v)
		return to_user(ctx, LVS_FASTS_MISS);
	/* the TTL is checked before the MTU, as the core does */
	if ((p.af == AF_INET ? ip[8] : ip[7]) <= 1)
		return to_user(ctx, LVS_FASTS_TTL);
	if (v->action == LVS_FAST_TUN) {
		if (v->oaf != AF_INET && v->oaf != AF_INET6)
			return to_user(ctx, LVS_FASTS_SHAPE);
		overhead = tun_overhead(&p, v);
		/* the outer length fields are 16 bits too */
		if (p.l3len + overhead - (v->oaf == AF_INET6 ? 40 : 0) > 65535)
			return to_user(ctx, LVS_FASTS_MTU);
	}
	if (v->mtu && p.l3len + overhead > v->mtu)
		return to_user(ctx, LVS_FASTS_MTU);
	/* sums over the datagram are bounded; a larger one goes up */
	if ((p.partial || (v->action == LVS_FAST_TUN &&
			   (v->tun_type == LVS_FAST_TUN_GUE ||
			    (v->tun_flags & LVS_FAST_TUN_F_CSUM)))) &&
	    p.l3len + overhead > CSUM_CHUNK * CSUM_CHUNKS)
		return to_user(ctx, LVS_FASTS_CSUM);
	bytes = p.l3len;
	/* Ethernet padding goes, as the core trims it */
	if (p.flen > p.l2 + p.l3len &&
	    bpf_xdp_adjust_tail(ctx, -(int)(p.flen - p.l2 - p.l3len)))
		return to_user(ctx, LVS_FASTS_ROOM);

	switch (v->action) {
	case LVS_FAST_NAT_IN:
		err = nat(ctx, &p, v, 1);
		break;
	case LVS_FAST_NAT_OUT:
		err = nat(ctx, &p, v, 0);
		break;
	case LVS_FAST_DR:
		err = dr(ctx, &p, v);
		break;
	case LVS_FAST_TUN:
		err = tun(ctx, &p, v);
		break;
	default:
		err = 1;
	}
	if (err > 0)
		return to_user(ctx, LVS_FASTS_ROOM);
	/* The frame changed and then turned out not to be what the parser
	 * saw: it cannot be given back, so it is dropped (counted). */
	if (err < 0) {
		count(LVS_FASTS_BROKEN);
		return XDP_DROP;
	}
	/* Plain adds to this CPU's counters: atomic adds on the shared entry
	 * cost about a fifth of the whole packet. */
	c = bpf_map_lookup_elem(&lvs_fast_ctrs, &v->slot);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	/* The coarse clock (a tick's resolution) is enough for timers of
	 * 1/16 s, and costs a fraction of bpf_ktime_get_ns on a VM.  Stored
	 * once a tick: the entry's line stays shared between the CPUs that
	 * read it. */
	now = bpf_ktime_get_coarse_ns();
	if (v->last_ns != now)
		v->last_ns = now;
	if (lvs_fast_tx_same_if && v->ifindex == ctx->ingress_ifindex) {
		count(LVS_FASTS_TX);
		return XDP_TX;
	}
	count(LVS_FASTS_REDIRECT);
	return bpf_redirect(v->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
