/*
 * vip.c - VIP ownership: ARP / neighbour discovery answers, echo replies
 * and takeover announcements (see vip.h).  The host guard, and the keys
 * that decide which VIPs are owned, are vip_guard.c's; vip_priv.h holds
 * what the two files share.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "csum.h"
#include "log.h"
#include "announce.h"
#include "standby.h"
#include "vip_priv.h"

#define ANNOUNCE_COUNT 3
#define ANNOUNCE_GAP_NS (1 * LVS_NS_PER_SEC)
/* Announcements sent per tick at most (a few ms of sending); the rest go
 * out at the following ticks (LVSD_NET_TICK_MS apart). */
#define ANNOUNCE_BURST 512

/* An owned VIP, as the workers see it. */
struct vip_entry {
	uint8_t af;
	union lvs_addr a;
};

struct vip_set {
	struct rcu_head rcu;
	uint32_t n;
	struct vip_entry e[]; /* sorted by (af, address) */
};

struct announce {
	uint8_t af;
	union lvs_addr a;
	unsigned left;
	lvs_time_t next;
};

/* ---- frames ---- */

static void solicited_node_mac(const union lvs_addr *a, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	mac[2] = 0xff;
	mac[3] = a->b[13];
	mac[4] = a->b[14];
	mac[5] = a->b[15];
}

static void send_frame(struct lvs_vips *v, uint32_t ifindex, const uint8_t *f, size_t len)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)ifindex;
	memcpy(&sll.sll_protocol, f + 12, 2);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, f, ETH_ALEN);
	if (sendto(v->txfd, f, len, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		lvs_debug("vip: announcement on ifindex %u: %s", ifindex, strerror(errno));
}

static void announce_now(struct lvs_vips *v, const struct announce *an)
{
	uint8_t f[128];

	for (unsigned i = 0; i < v->nif; i++) {
		struct lvs_link_info li;
		size_t len;

		if (lvs_netstate_link(v->ns, v->ifs[i].ifindex, &li) || !(li.flags & IFF_UP))
			continue;
		len = an->af == AF_INET ? lvs_frame_garp(f, li.mac, &an->a)
				       : lvs_frame_una(f, li.mac, &an->a, false);
		send_frame(v, li.ifindex, f, len);
	}
}

/* The announcements are found by address through an open-addressing
 * index of their positions (+1; 0 is empty), rebuilt whenever positions
 * change (growth, the tick's compaction): a takeover of 10,000 VIPs
 * costs O(1) per VIP, not a scan of the others. */
static uint32_t ann_hash(uint8_t af, const union lvs_addr *a)
{
	uint32_t h = 2166136261u ^ af;

	for (unsigned i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h;
}

static int ann_index_rebuild(struct lvs_vips *v)
{
	uint32_t size = 16;

	while (size < 2 * v->capann)
		size *= 2;
	if (size != v->ann_idx_size) {
		uint32_t *ni = malloc(size * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		free(v->ann_idx);
		v->ann_idx = ni;
		v->ann_idx_size = size;
	}
	memset(v->ann_idx, 0, v->ann_idx_size * sizeof(*v->ann_idx));
	for (unsigned i = 0; i < v->nann; i++) {
		uint32_t h = ann_hash(v->ann[i].af, &v->ann[i].a) & (size - 1);
		while (v->ann_idx[h])
			h = (h + 1) & (size - 1);
		v->ann_idx[h] = i + 1;
	}
	return 0;
}

void vip_announce_add(struct lvs_vips *v, uint8_t af, const union lvs_addr *a, lvs_time_t now)
{
	struct announce *an = NULL;
	uint32_t h = 0, mask = v->ann_idx_size - 1;

	/* VRRP announces its own addresses, as its configuration says */
	if (v->standby && lvs_standby_find(__atomic_load_n(v->standby, __ATOMIC_ACQUIRE), af, a))
		return;

	if (v->ann_idx_size) {
		for (h = ann_hash(af, a) & mask; v->ann_idx[h]; h = (h + 1) & mask) {
			struct announce *x = &v->ann[v->ann_idx[h] - 1];
			if (x->af == af && lvs_addr_eq(&x->a, a)) {
				an = x;
				break;
			}
		}
	}
	if (!an) {
		if (v->nann == v->capann || !v->ann_idx_size) {
			unsigned nc = v->capann ? v->capann * 2 : 16;
			struct announce *na = realloc(v->ann, nc * sizeof(*na));
			if (!na)
				return;
			v->ann = na;
			v->capann = nc;
			an = &v->ann[v->nann++];
			an->af = af;
			an->a = *a;
			if (ann_index_rebuild(v)) {
				v->nann--; /* not announced; the index stays as it was */
				return;
			}
		} else {
			an = &v->ann[v->nann++];
			v->ann_idx[h] = v->nann;
		}
	}
	an->af = af;
	an->a = *a;
	an->left = ANNOUNCE_COUNT;
	an->next = now;
}

void lvs_vips_tick(struct lvs_vips *v, lvs_time_t now)
{
	unsigned sent = 0, n = v->nann;

	for (unsigned i = 0; i < v->nann && sent < ANNOUNCE_BURST;) {
		struct announce *an = &v->ann[i];
		if (an->next <= now) {
			announce_now(v, an);
			sent++;
			an->next = now + ANNOUNCE_GAP_NS;
			if (--an->left == 0) {
				*an = v->ann[--v->nann];
				continue;
			}
		}
		i++;
	}
	if (v->nann != n && ann_index_rebuild(v)) {
		/* without an index, new announcements regrow it */
		free(v->ann_idx);
		v->ann_idx = NULL;
		v->ann_idx_size = 0;
	}
}

void vip_mcast(struct lvs_vips *v, const union lvs_addr *a, bool join)
{
	for (unsigned i = 0; i < v->nif; i++) {
		struct packet_mreq mr;

		memset(&mr, 0, sizeof(mr));
		mr.mr_ifindex = (int)v->ifs[i].ifindex;
		mr.mr_type = PACKET_MR_MULTICAST;
		mr.mr_alen = ETH_ALEN;
		solicited_node_mac(a, mr.mr_address);
		if (setsockopt(v->txfd, SOL_PACKET, join ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
			       &mr, sizeof(mr)) < 0)
			lvs_debug("vip: multicast %s on %s: %s", join ? "join" : "leave", v->ifs[i].name,
				  strerror(errno));
	}
}

/* ---- the workers' VIP array ---- */

static int cmp_vip(const void *x, const void *y)
{
	const struct vip_entry *a = x, *b = y;

	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->a.b, b->a.b, 16);
}

static const struct vip_entry *vip_find_in(const struct vip_set *s, int af,
					   const union lvs_addr *a);

/* A VIP the workers answer for: in the set, and not a VRRP address
 * whose instance is not MASTER here. */
static const struct vip_entry *vip_find(const struct lvs_vips *v, const struct vip_set *s, int af,
					const union lvs_addr *a)
{
	const struct vip_entry *e = vip_find_in(s, af, a);

	if (e && v->standby &&
	    lvs_standby_blocked(__atomic_load_n(v->standby, __ATOMIC_ACQUIRE), (uint8_t)af, a))
		return NULL;
	return e;
}

static const struct vip_entry *vip_find_in(const struct vip_set *s, int af,
					   const union lvs_addr *a)
{
	uint32_t lo = 0, hi = s ? s->n : 0;
	struct vip_entry k = { .af = (uint8_t)af, .a = *a };

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = cmp_vip(&k, &s->e[mid]);
		if (c == 0)
			return &s->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void set_free_cb(struct rcu_head *h)
{
	free(caa_container_of(h, struct vip_set, rcu));
}

/* Publish the active VIPs to the workers.  0 or -ENOMEM (then the old
 * array stays, and the next sync tries again). */
int vip_set_rebuild(struct lvs_vips *v)
{
	struct vip_set *ns, *old = v->set;
	uint32_t n = 0;

	for (const struct gentry *e = v->vips; e; e = e->vnext)
		n += e->active;
	ns = calloc(1, sizeof(*ns) + n * sizeof(ns->e[0]));
	if (!ns)
		return -ENOMEM;
	for (const struct gentry *e = v->vips; e; e = e->vnext) {
		if (!e->active)
			continue;
		ns->e[ns->n].af = e->k.af;
		ns->e[ns->n].a = e->k.a;
		ns->n++;
	}
	qsort(ns->e, ns->n, sizeof(ns->e[0]), cmp_vip);
	rcu_assign_pointer(v->set, ns);
	call_rcu(&old->rcu, set_free_cb);
	v->vips_changed = false;
	return 0;
}

/* ---- control thread ---- */

static struct lvs_vips *vips_new(struct lvs_netstate *ns, const uint32_t *ifindex, unsigned nif,
				 bool guard, int (*nft_run)(void *, const char *, char **),
				 void *nft_arg)
{
	struct lvs_vips *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->ns = ns;
	v->guard = guard;
	v->nft_run = nft_run ? nft_run : vip_nft_lib_run;
	v->nft_arg = nft_run ? nft_arg : v;
	pthread_mutex_init(&v->echo_mu, NULL);
	v->txfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	v->ifs = calloc(nif ? nif : 1, sizeof(*v->ifs));
	v->set = calloc(1, sizeof(struct vip_set));
	if (v->txfd < 0 || !v->ifs || !v->set || vip_guard_init(v)) {
		lvs_err("vip: %s", v->txfd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	v->nif = nif;
	for (unsigned i = 0; i < nif; i++) {
		struct served *s = &v->ifs[i];
		struct lvs_link_info li;

		s->ifindex = ifindex[i];
		if (lvs_netstate_link(ns, ifindex[i], &li)) {
			lvs_err("vip: no interface with index %u", ifindex[i]);
			goto fail;
		}
		snprintf(s->name, sizeof(s->name), "%s", li.name);
		snprintf(s->table, sizeof(s->table), "lvsd_%s", li.name);
		for (char *c = s->table; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_'))
				*c = '_';
		s->was_up = li.flags & IFF_UP;
	}
	if (guard && vip_guard_rewrite(v)) {
		lvs_err("vip: cannot install the host guard (nftables netdev tables)");
		v->guard = false; /* nothing to remove */
		goto fail;
	}
	return v;
fail:
	lvs_vips_free(v);
	return NULL;
}

struct lvs_vips *lvs_vips_new(struct lvs_netstate *ns, const uint32_t *ifindex, unsigned nif,
			      bool guard)
{
	return vips_new(ns, ifindex, nif, guard, NULL, NULL);
}

void lvs_vips_free(struct lvs_vips *v)
{
	if (!v)
		return;
	if (v->model)
		lvs_model_set_watch(v->model, NULL);
	if (v->guard && v->ifs)
		vip_guard_remove(v);
	if (v->txfd >= 0)
		close(v->txfd); /* leaves the multicast groups */
	vip_guard_free(v);
	free(v->ifs);
	free(v->echo);
	pthread_mutex_destroy(&v->echo_mu);
	free(v->set); /* workers are gone */
	free(v->ann);
	free(v->ann_idx);
	free(v);
}

void lvs_vips_net_changed(struct lvs_vips *v, unsigned chg)
{
	lvs_time_t now = mono_ns();

	(void)chg;
	for (unsigned i = 0; i < v->nif; i++) {
		struct lvs_link_info li;
		bool present = lvs_netstate_link(v->ns, v->ifs[i].ifindex, &li) == 0;
		bool up = present && (li.flags & IFF_UP);

		/* its packet sockets are dead: a new interface of the same name
		 * has another index */
		if (!present && !v->ifs[i].gone)
			lvs_warn("vip: served interface %s is gone; restart lvsd once it is back",
				 v->ifs[i].name);
		v->ifs[i].gone = !present;
		if (up && !v->ifs[i].was_up) {
			lvs_info("vip: %s is up, announcing VIPs", v->ifs[i].name);
			for (uint32_t j = 0; j < v->set->n; j++)
				vip_announce_add(v, v->set->e[j].af, &v->set->e[j].a, now);
		}
		v->ifs[i].was_up = up;
	}
	lvs_vips_tick(v, now);
}

/* ---- data path ---- */

static bool arp_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p, uint32_t l3)
{
	uint8_t *a = p->data + l3;
	union lvs_addr tpa, spa;
	const struct vip_entry *e;
	struct lvs_link_info li;
	uint8_t sha[6];

	if (p->len < l3 + 28)
		return false;
	/* Ethernet / IPv4 request */
	if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0 || a[4] != 6 || a[5] != 4 ||
	    a[6] != 0 || a[7] != 1)
		return false;
	lvs_addr_set4(&tpa, 0);
	memcpy(&tpa.ip4, a + 24, 4);
	e = vip_find(v, s, AF_INET, &tpa);
	if (!e)
		return false;
	if (lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	memcpy(sha, a + 8, 6);
	lvs_addr_set4(&spa, 0);
	memcpy(&spa.ip4, a + 14, 4);
	if (sha[0] & 1) /* a multicast sender: not a host */
		return false;
	/* Our own announcement seen again, or anybody's announcement
	 * (RFC 5227: sender = target) is not a question. */
	if (!memcmp(sha, li.mac, 6) || spa.ip4 == tpa.ip4)
		return false;
	/* an ARP probe (RFC 5227) has sender 0.0.0.0: answer, learn nothing */
	if (spa.ip4 && spa.ip4 != tpa.ip4)
		lvs_netstate_learn(v->ns, AF_INET, p->ifindex, &spa, sha);
	memcpy(p->data, sha, 6);
	memcpy(p->data + 6, li.mac, 6);
	a[7] = 2; /* reply */
	memcpy(a + 18, sha, 6);
	memcpy(a + 24, &spa.ip4, 4);
	memcpy(a + 8, li.mac, 6);
	memcpy(a + 14, &tpa.ip4, 4);
	__atomic_fetch_add(&v->arp_replies, 1, __ATOMIC_RELAXED);
	return true;
}

/* RFC 4861 7.1.1 validity checks and 7.2.4 answer of a solicitation. */
static bool ns_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	uint8_t *ip = p->data + pi->l3_off, *ic = p->data + pi->l4_off;
	union lvs_addr tgt, src, dst;
	const struct vip_entry *e;
	struct lvs_link_info li;
	const uint8_t *sllao = NULL;
	uint32_t need = pi->l3_off + 40 + 32, ilen = pi->l4_len;
	bool dad;

	if (pi->icmp_code != 0 || pi->ttl != 255 || ilen < 24 || pi->frag != LVS_FRAG_NONE)
		return false;
	memcpy(tgt.b, ic + 8, 16);
	e = vip_find(v, s, AF_INET6, &tgt);
	if (!e)
		return false;
	if (!lvs_pkt_l4_csum_ok(p))
		return false;
	for (uint32_t o = 24; o + 8 <= ilen;) {
		uint32_t ol = (uint32_t)ic[o + 1] * 8;
		if (ol == 0 || o + ol > ilen)
			return false;
		if (ic[o] == 1 && ol >= 8)
			sllao = ic + o + 2;
		o += ol;
	}
	src = pi->saddr;
	dad = lvs_addr_is_zero(&src);
	if (dad && sllao)
		return false;
	if (lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	if (need > p->len + p->tailroom)
		return false;
	if (dad) {
		memset(&dst, 0, sizeof(dst));
		dst.b[0] = 0xff;
		dst.b[1] = 0x02;
		dst.b[15] = 1;
		p->data[0] = 0x33; p->data[1] = 0x33;
		memcpy(p->data + 2, dst.b + 12, 4);
	} else {
		dst = src;
		if (sllao) {
			lvs_netstate_learn(v->ns, AF_INET6, p->ifindex, &src, sllao);
			memcpy(p->data, sllao, 6);
		} else {
			memcpy(p->data, p->data + 6, 6);
		}
	}
	memcpy(p->data + 6, li.mac, 6);
	lvs_frame_na(ip, &tgt, &dst, li.mac, !dad ? LVS_NA_SOLICITED : 0);
	p->tailroom = p->tailroom + p->len - need;
	p->len = need;
	p->flags &= ~(uint32_t)(LVS_PKT_F_CSUM_PARTIAL | LVS_PKT_F_CSUM_VALID);
	__atomic_fetch_add(&v->na_replies, 1, __ATOMIC_RELAXED);
	return true;
}

/* Echo request to an owned VIP: answer as its host would (RFC 792 / 4443),
 * back to the MAC it came from. */
static bool echo_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p)
{
	struct lvs_pkt_info *pi = &p->pi;
	uint8_t *ip = p->data + pi->l3_off, *ic = p->data + pi->l4_off;
	const struct vip_entry *e;
	struct lvs_link_info li;
	uint16_t c, old, new_;

	if (pi->frag != LVS_FRAG_NONE || pi->l4_len < 8)
		return false;
	e = vip_find(v, s, pi->af, &pi->daddr);
	if (!e || lvs_netstate_link(v->ns, p->ifindex, &li))
		return false;
	if (pi->af == AF_INET6 && pi->l4_off != pi->l3_off + 40)
		return false; /* extension headers: not worth reflecting */
	if (!lvs_pkt_l4_csum_ok(p))
		return false;
	memcpy(p->data, p->data + 6, 6);
	memcpy(p->data + 6, li.mac, 6);
	if (pi->af == AF_INET) {
		memcpy(ip + 12, &pi->daddr.ip4, 4);
		memcpy(ip + 16, &pi->saddr.ip4, 4);
		ip[8] = 64;
		memset(ip + 10, 0, 2);
		c = lvs_ip4_hdr_csum(ip, (size_t)(ip[0] & 15) * 4);
		memcpy(ip + 10, &c, 2);
		old = htons(8 << 8);
		new_ = 0;
		ic[0] = 0;
	} else {
		memcpy(ip + 8, pi->daddr.b, 16);
		memcpy(ip + 24, pi->saddr.b, 16);
		ip[7] = 64;
		old = htons(128 << 8);
		new_ = htons(129 << 8);
		ic[0] = 129;
	}
	/* swapping addresses leaves the pseudo-header sum as it was */
	memcpy(&c, ic + 2, 2);
	lvs_csum_replace2(&c, old, new_);
	memcpy(ic + 2, &c, 2);
	__atomic_fetch_add(&v->echo_replies, 1, __ATOMIC_RELAXED);
	return true;
}

/*
 * Fragmented echo requests to an owned VIP (a large ping), answered as its
 * host would: the fragments are put together (at most ECHO_SLOTS requests
 * at once, each up to 64 KB, for ECHO_TTL_NS; overlapping fragments drop
 * the request, RFC 5722), and the reply goes back in fragments that fit
 * the interface's MTU, sent on the packet socket.  Untagged frames only.
 */
#define ECHO_SLOTS  4
#define ECHO_MAX    65535u
#define ECHO_TTL_NS (5ull * LVS_NS_PER_SEC)

struct echo_reasm {
	bool used;
	uint8_t af;
	union lvs_addr src, dst;
	uint32_t id, ifindex;
	uint8_t mac[6];          /* the requester's (the frame's source) */
	lvs_time_t born;
	uint32_t have, total;    /* total: 0 until the last fragment came */
	uint64_t blocks[ECHO_MAX / 8 / 64 + 1]; /* 8-byte blocks received */
	uint8_t data[ECHO_MAX];  /* the ICMP message */
};

static lvs_time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

static struct echo_reasm *echo_slot(struct lvs_vips *v, const struct lvs_pkt_info *pi,
				    lvs_time_t now)
{
	struct echo_reasm *r, *old = NULL;

	if (!v->echo && !(v->echo = calloc(ECHO_SLOTS, sizeof(*v->echo))))
		return NULL;
	for (unsigned i = 0; i < ECHO_SLOTS; i++) {
		r = &v->echo[i];
		if (r->used && now - r->born > ECHO_TTL_NS)
			r->used = false;
		if (r->used && r->af == pi->af && r->id == pi->frag_id &&
		    lvs_addr_eq(&r->src, &pi->saddr) && lvs_addr_eq(&r->dst, &pi->daddr))
			return r;
		if (!old || !r->used || (old->used && r->born < old->born))
			old = r;
	}
	/* a new request takes a free slot, or the oldest */
	r = old;
	r->used = true;
	r->af = pi->af;
	r->src = pi->saddr;
	r->dst = pi->daddr;
	r->id = pi->frag_id;
	r->born = now;
	r->have = r->total = 0;
	memset(r->blocks, 0, sizeof(r->blocks));
	return r;
}

/* Send r's reply (r->data, r->total bytes, already a reply) in fragments. */
static void echo_send_frags(struct lvs_vips *v, const struct echo_reasm *r,
			    const struct lvs_link_info *li)
{
	uint8_t f[14 + 48 + 9216];
	bool v6 = r->af == AF_INET6;
	uint32_t hl = v6 ? 48 : 20, mtu = li->mtu > 9216 ? 9216 : li->mtu;
	uint32_t step = (mtu - hl) & ~7u, off = 0;

	if (mtu < hl + 8)
		return;
	while (off < r->total) {
		uint32_t n = r->total - off < step ? r->total - off : step;
		bool more = off + n < r->total;
		uint8_t *ip = f + 14;

		memcpy(f, r->mac, 6);
		memcpy(f + 6, li->mac, 6);
		f[12] = v6 ? 0x86 : 0x08;
		f[13] = v6 ? 0xdd : 0x00;
		memset(ip, 0, hl);
		if (!v6) {
			uint16_t w, c;

			ip[0] = 0x45;
			w = htons((uint16_t)(20 + n));
			memcpy(ip + 2, &w, 2);
			w = htons((uint16_t)r->id);
			memcpy(ip + 4, &w, 2);
			w = htons((uint16_t)((off / 8) | (more ? 0x2000 : 0)));
			memcpy(ip + 6, &w, 2);
			ip[8] = 64;
			ip[9] = IPPROTO_ICMP;
			memcpy(ip + 12, &r->dst.ip4, 4);
			memcpy(ip + 16, &r->src.ip4, 4);
			c = lvs_ip4_hdr_csum(ip, 20);
			memcpy(ip + 10, &c, 2);
		} else {
			uint16_t w = htons((uint16_t)(8 + n));
			uint32_t id = htonl(r->id);

			ip[0] = 0x60;
			memcpy(ip + 4, &w, 2);
			ip[6] = 44; /* a fragment header */
			ip[7] = 64;
			memcpy(ip + 8, r->dst.b, 16);
			memcpy(ip + 24, r->src.b, 16);
			ip[40] = IPPROTO_ICMPV6;
			w = htons((uint16_t)(off | (more ? 1 : 0)));
			memcpy(ip + 42, &w, 2);
			memcpy(ip + 44, &id, 4);
		}
		memcpy(ip + hl, r->data + off, n);
		send_frame(v, r->ifindex, f, 14 + hl + n);
		off += n;
	}
}

/* One fragment of a request to an owned VIP.  Never leaves a frame in p:
 * a complete request is answered on the socket. */
static void echo_frag_input(struct lvs_vips *v, const struct vip_set *s, struct lvs_pkt *p)
{
	const struct lvs_pkt_info *pi = &p->pi;
	const uint8_t *ip = p->data + pi->l3_off, *pl;
	struct lvs_link_info li;
	struct echo_reasm *r;
	uint32_t off, len, sum;
	bool more;

	if (pi->nr_vlan || !vip_find(v, s, pi->af, &pi->daddr) ||
	    lvs_netstate_link(v->ns, p->ifindex, &li))
		return;
	if (pi->af == AF_INET) {
		uint32_t ihl = (ip[0] & 15u) * 4u, fo = (uint32_t)ip[6] << 8 | ip[7];

		off = (fo & 0x1fff) * 8;
		more = fo & 0x2000;
		pl = ip + ihl;
		len = pi->l3_len - ihl;
	} else {
		const uint8_t *fh = p->data + pi->ip6_frag_off;

		if (!pi->ip6_frag_off)
			return;
		off = ((uint32_t)fh[2] << 8 | fh[3]) & ~7u;
		more = fh[3] & 1;
		pl = fh + 8;
		len = (uint32_t)(pi->l3_off + pi->l3_len - (pi->ip6_frag_off + 8));
	}
	if (off + len > ECHO_MAX || (more && (len & 7)) || !len)
		return;
	if (pi->frag == LVS_FRAG_FIRST &&
	    (pi->icmp_type != (pi->af == AF_INET ? 8 : 128) || pi->icmp_code))
		return;
	pthread_mutex_lock(&v->echo_mu);
	r = echo_slot(v, pi, mono_now());
	if (!r)
		goto out;
	for (uint32_t b = off / 8; b <= (off + len - 1) / 8; b++) {
		if (r->blocks[b / 64] & (1ull << (b % 64))) {
			r->used = false; /* overlap: the whole request goes */
			goto out;
		}
		r->blocks[b / 64] |= 1ull << (b % 64);
	}
	memcpy(r->data + off, pl, len);
	r->have += len;
	if (!more)
		r->total = off + len;
	if (off == 0) {
		memcpy(r->mac, p->data + 6, 6);
		r->ifindex = p->ifindex;
	}
	if (!r->total || r->have != r->total || !r->ifindex)
		goto out;
	r->used = false;
	/* a whole echo request with a valid checksum: make it the reply */
	sum = r->af == AF_INET ? 0 : lvs_csum_pseudo6(&r->src, &r->dst, IPPROTO_ICMPV6, r->total);
	if (r->data[0] != (r->af == AF_INET ? 8 : 128) ||
	    lvs_csum_fold(lvs_csum_partial(r->data, r->total, sum)) != 0xffff)
		goto out;
	r->data[0] = r->af == AF_INET ? 0 : 129;
	memset(r->data + 2, 0, 2);
	sum = r->af == AF_INET ? 0 : lvs_csum_pseudo6(&r->dst, &r->src, IPPROTO_ICMPV6, r->total);
	{
		uint16_t c = lvs_csum_finish(lvs_csum_partial(r->data, r->total, sum));
		memcpy(r->data + 2, &c, 2);
	}
	echo_send_frags(v, r, &li);
	__atomic_fetch_add(&v->echo_replies, 1, __ATOMIC_RELAXED);
out:
	pthread_mutex_unlock(&v->echo_mu);
}

bool lvs_vip_input(struct lvs_vips *v, struct lvs_pkt *p)
{
	const struct vip_set *s = rcu_dereference(v->set);
	const struct lvs_pkt_info *pi = &p->pi;

	if (!s || !s->n)
		return false;
	if (pi->af == 0)
		return pi->eth_type == 0x0806 && arp_input(v, s, p, 14u + 4u * pi->nr_vlan);
	if (pi->frag != LVS_FRAG_NONE) {
		if (pi->proto == (pi->af == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6))
			echo_frag_input(v, s, p);
		return false;
	}
	if (!pi->l4_off)
		return false;
	if (pi->af == AF_INET6 && pi->proto == IPPROTO_ICMPV6) {
		if (pi->icmp_type == 135)
			return ns_input(v, s, p);
		if (pi->icmp_type == 128 && pi->icmp_code == 0)
			return echo_input(v, s, p);
	}
	if (pi->af == AF_INET && pi->proto == IPPROTO_ICMP && pi->icmp_type == 8 &&
	    pi->icmp_code == 0)
		return echo_input(v, s, p);
	return false;
}

void lvs_vips_set_standby(struct lvs_vips *v, struct lvs_standby *const *slot)
{
	v->standby = slot;
}

void lvs_vip_stats_add(struct lvs_vips *v, struct lvs_vip_stats *out)
{
	out->arp_replies += __atomic_load_n(&v->arp_replies, __ATOMIC_RELAXED);
	out->na_replies += __atomic_load_n(&v->na_replies, __ATOMIC_RELAXED);
	out->echo_replies += __atomic_load_n(&v->echo_replies, __ATOMIC_RELAXED);
}
