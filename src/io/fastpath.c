/*
 * fastpath.c - the XDP fast path's user-space side (fastpath.h): the
 * program (lvs_fast.bpf.c, embedded as a libbpf skeleton) and its flow
 * map, filled from the core's view of a connection.
 *
 * An entry holds what the core's transform would compute for every packet
 * of that direction (xmit_nat.c, xmit_dr.c, xmit_tun.c): the rewrite, the
 * next hop as the environment routed it, the tunnel as the destination's
 * settings say and the outer source the environment gives.  The next hop
 * is a copy: when a route or neighbour changes, the daemon rewrites the
 * entries of the destinations concerned (or deletes them and lets user
 * space forward until it writes them again).
 */
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "lvs_fast.skel.h"
#include "model.h"

_Static_assert(sizeof(struct lvs_fast_key) == 40, "key without implicit padding");
_Static_assert(sizeof(struct lvs_fast_key4) == 16, "key without implicit padding");
_Static_assert(sizeof(struct lvs_fast_val) == 80, "value without implicit padding");
_Static_assert(sizeof(struct lvs_fast_ctr) == 16, "counters without implicit padding");
_Static_assert(LVS_TUN_IPIP == LVS_FAST_TUN_IPIP && LVS_TUN_GUE == LVS_FAST_TUN_GUE &&
		       LVS_TUN_GRE == LVS_FAST_TUN_GRE,
	       "tunnel types as the core's");
_Static_assert(LVS_TUN_F_CSUM == LVS_FAST_TUN_F_CSUM &&
		       LVS_TUN_F_REMCSUM == LVS_FAST_TUN_F_REMCSUM,
	       "tunnel flags as the core's");

/*
 * Counter slots: every entry owns one slot of the per-CPU counter array,
 * given out here.  Freed slots queue behind all the others, so that a
 * program run that found an entry just before it was deleted has long
 * finished when its slot serves another entry (whose counters are zeroed
 * when it is written anyway).  Under a lock: workers and the control
 * thread may add and delete entries.
 */
struct lvs_fastpath {
	struct lvs_fast *skel;
	pthread_mutex_t lock;
	uint32_t *free;   /* ring of free slots */
	uint32_t head;    /* next slot to hand out */
	uint32_t nfree;
	uint32_t cap;     /* entries (and slots) in all */
	int ncpu;         /* possible CPUs: the per-CPU value's length */
	struct lvs_fast_ctr *ctr; /* ncpu counters: zeros, or a read */
};

void lvs_fastpath_tun_of_dest(const struct lvs_dest_state *ds, struct lvs_fast_tun *t)
{
	uint64_t x = __atomic_load_n(&ds->xmit, __ATOMIC_RELAXED);

	t->type = lvs_xmit_tun_type(x);
	t->flags = lvs_xmit_tun_flags(x);
	t->port = lvs_xmit_tun_port(x);
}

int lvs_fastpath_open(struct lvs_fastpath **out, uint32_t user_verdict)
{
	return lvs_fastpath_open_opts(out, user_verdict, true);
}

int lvs_fastpath_open_opts(struct lvs_fastpath **out, uint32_t user_verdict, bool tx_same_if)
{
	struct lvs_fastpath_opts o = { .user_verdict = user_verdict, .tx_same_if = tx_same_if };

	return lvs_fastpath_open_with(out, &o);
}

/* The AF_XDP filter's maps: the driver's (xsk), or, unused, as small as
 * they go. */
static int filter_maps(struct lvs_fast *skel, const struct lvs_xdp_maps *xsk)
{
	struct bpf_map *m[4] = { skel->maps.lvs_xsks, skel->maps.lvs_ifslot,
				 skel->maps.lvs_filter, skel->maps.lvs_xdp_stats };
	int fd[4];
	int err;

	if (!xsk) {
		for (unsigned i = 0; i < 3; i++)
			if ((err = bpf_map__set_max_entries(m[i], 1)))
				return err;
		return 0;
	}
	fd[0] = xsk->xsks;
	fd[1] = xsk->ifslot;
	fd[2] = xsk->filter;
	fd[3] = xsk->stats;
	for (unsigned i = 0; i < 4; i++)
		if ((err = bpf_map__reuse_fd(m[i], fd[i])))
			return err;
	/* multi-buffer only where the driver's sockets take such frames */
	if (xsk->frags)
		return 0;
	return bpf_program__set_flags(skel->progs.lvs_fast,
				      bpf_program__flags(skel->progs.lvs_fast) &
					      ~BPF_F_XDP_HAS_FRAGS);
}

int lvs_fastpath_open_with(struct lvs_fastpath **out, const struct lvs_fastpath_opts *o)
{
	const struct lvs_xdp_maps *xsk = o->xsk;
	struct lvs_fastpath *fp;
	int err;

	*out = NULL;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->skel = lvs_fast__open();
	if (!fp->skel) {
		err = errno ? -errno : -EINVAL;
		goto out;
	}
	fp->cap = o->entries ? o->entries : LVS_FAST_FLOWS_MAX;
	if (fp->cap > LVS_FAST_FLOWS_MAX) {
		err = -ERANGE;
		goto out;
	}
	fp->skel->rodata->lvs_fast_user_verdict = o->user_verdict;
	fp->skel->rodata->lvs_fast_tx_same_if = o->tx_same_if;
	if ((err = bpf_map__set_max_entries(fp->skel->maps.lvs_flows4, fp->cap)) ||
	    (err = bpf_map__set_max_entries(fp->skel->maps.lvs_flows6, fp->cap)) ||
	    (err = bpf_map__set_max_entries(fp->skel->maps.lvs_fast_ctrs, fp->cap)))
		goto out;
	fp->skel->rodata->lvs_fast_xsk = xsk != NULL;
	if ((err = filter_maps(fp->skel, xsk)))
		goto out;
	err = lvs_fast__load(fp->skel);
	if (err)
		goto out;
	fp->ncpu = libbpf_num_possible_cpus();
	if (fp->ncpu <= 0) {
		err = fp->ncpu ? fp->ncpu : -EINVAL;
		goto out;
	}
	fp->free = malloc(sizeof(*fp->free) * fp->cap);
	fp->ctr = calloc((size_t)fp->ncpu, sizeof(*fp->ctr));
	if (!fp->free || !fp->ctr) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < fp->cap; i++)
		fp->free[i] = i;
	fp->nfree = fp->cap;
	pthread_mutex_init(&fp->lock, NULL);
	*out = fp;
	return 0;
out:
	lvs_fast__destroy(fp->skel);
	free(fp->free);
	free(fp->ctr);
	free(fp);
	return err < 0 ? err : -EINVAL;
}

void lvs_fastpath_close(struct lvs_fastpath *fp)
{
	if (!fp)
		return;
	lvs_fast__destroy(fp->skel);
	pthread_mutex_destroy(&fp->lock);
	free(fp->free);
	free(fp->ctr);
	free(fp);
}

/* Caller holds fp->lock. */
static int slot_get(struct lvs_fastpath *fp, uint32_t *slot)
{
	if (!fp->nfree)
		return -ENOSPC;
	*slot = fp->free[fp->head];
	fp->head = (fp->head + 1) % fp->cap;
	fp->nfree--;
	return 0;
}

static void slot_put(struct lvs_fastpath *fp, uint32_t slot)
{
	fp->free[(fp->head + fp->nfree) % fp->cap] = slot;
	fp->nfree++;
}

int lvs_fastpath_prog_fd(const struct lvs_fastpath *fp)
{
	return bpf_program__fd(fp->skel->progs.lvs_fast);
}

static void put_addr(uint8_t *dst, int af, const union lvs_addr *a)
{
	memset(dst, 0, 16);
	memcpy(dst, a->b, af == AF_INET ? 4 : 16);
}

/* The key of one direction (see lvs_fastpath_entry). */
int lvs_fastpath_key(const struct lvs_conn_info *ci, bool reply, struct lvs_fast_key *k)
{
	const struct lvs_conn_param *c = &ci->p;

	memset(k, 0, sizeof(*k));
	if (c->flags & LVS_CONN_F_TEMPLATE)
		return -EINVAL;
	if (c->af != AF_INET && c->af != AF_INET6)
		return -EINVAL;
	if (c->proto != IPPROTO_TCP && c->proto != IPPROTO_UDP)
		return -EOPNOTSUPP;
	if (reply && c->fwd != LVS_FWD_MASQ)
		return -EINVAL; /* DR/TUN replies bypass the director */
	k->af = c->af;
	k->proto = c->proto;
	if (!reply) {
		put_addr(k->saddr, c->af, &c->caddr);
		put_addr(k->daddr, c->af, &c->vaddr);
		k->sport = c->cport;
		k->dport = c->vport;
	} else {
		put_addr(k->saddr, c->af, &c->daddr);
		put_addr(k->daddr, c->af, &c->caddr);
		k->sport = c->dport;
		k->dport = c->cport;
	}
	return 0;
}

/* The map an entry of key k lives in, and its key there. */
struct map_key {
	struct bpf_map *map;
	const void *key;
	size_t size;
	struct lvs_fast_key4 k4;
};

static void map_key(struct lvs_fastpath *fp, const struct lvs_fast_key *k, struct map_key *mk)
{
	if (k->af == AF_INET) {
		memset(&mk->k4, 0, sizeof(mk->k4));
		memcpy(&mk->k4.saddr, k->saddr, 4);
		memcpy(&mk->k4.daddr, k->daddr, 4);
		mk->k4.sport = k->sport;
		mk->k4.dport = k->dport;
		mk->k4.proto = k->proto;
		mk->map = fp->skel->maps.lvs_flows4;
		mk->key = &mk->k4;
		mk->size = sizeof(mk->k4);
	} else {
		mk->map = fp->skel->maps.lvs_flows6;
		mk->key = k;
		mk->size = sizeof(*k);
	}
}

int lvs_fastpath_entry(const struct lvs_conn_info *ci, bool reply, const struct lvs_nexthop *nh,
		       const struct lvs_fast_tun *tun, const union lvs_addr *tun_src,
		       struct lvs_fast_key *k, struct lvs_fast_val *v)
{
	const struct lvs_conn_param *c = &ci->p;
	int daf = c->daf ? c->daf : c->af, err;

	err = lvs_fastpath_key(ci, reply, k);
	if (err)
		return err;
	memset(v, 0, sizeof(*v));
	switch (c->fwd) {
	case LVS_FWD_MASQ:
		/* kernel IPVS cannot masquerade between families either */
		if (daf != c->af)
			return -EINVAL;
		v->action = reply ? LVS_FAST_NAT_OUT : LVS_FAST_NAT_IN;
		put_addr(v->naddr, c->af, reply ? &c->vaddr : &c->daddr);
		v->nport = reply ? c->vport : c->dport;
		break;
	case LVS_FWD_ROUTE:
		if (daf != c->af)
			return -EINVAL;
		v->action = LVS_FAST_DR;
		break;
	case LVS_FWD_TUNNEL:
		if (!tun || !tun_src || (daf != AF_INET && daf != AF_INET6))
			return -EINVAL;
		if (tun->type != LVS_TUN_IPIP && tun->type != LVS_TUN_GUE &&
		    tun->type != LVS_TUN_GRE)
			return -EOPNOTSUPP;
		v->action = LVS_FAST_TUN;
		v->tun_type = tun->type;
		v->tun_flags = (uint8_t)(tun->flags & (LVS_TUN_F_CSUM | LVS_TUN_F_REMCSUM));
		v->tun_port = tun->port;
		v->oaf = (uint8_t)daf;
		put_addr(v->naddr, daf, &c->daddr);
		put_addr(v->tsrc, daf, tun_src);
		break;
	default:
		return -EOPNOTSUPP;
	}
	memcpy(v->dmac, nh->mac, 6);
	memcpy(v->smac, nh->src_mac, 6);
	v->vlan_tci = nh->vlan_tci;
	v->ifindex = nh->ifindex;
	v->mtu = nh->mtu;
	return 0;
}

int lvs_fastpath_put(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
		     const struct lvs_fast_val *val)
{
	struct lvs_fast_val v = *val, old;
	struct map_key mk;
	bool fresh = false;
	int err;

	map_key(fp, k, &mk);
	pthread_mutex_lock(&fp->lock);
	/* a rewritten entry keeps its slot; its counters start again */
	if (!bpf_map__lookup_elem(mk.map, mk.key, mk.size, &old, sizeof(old), 0)) {
		v.slot = old.slot;
	} else {
		err = slot_get(fp, &v.slot);
		if (err)
			goto out;
		fresh = true;
	}
	memset(fp->ctr, 0, sizeof(*fp->ctr) * (size_t)fp->ncpu);
	err = bpf_map__update_elem(fp->skel->maps.lvs_fast_ctrs, &v.slot, sizeof(v.slot), fp->ctr,
				   sizeof(*fp->ctr) * (size_t)fp->ncpu, 0);
	if (!err)
		err = bpf_map__update_elem(mk.map, mk.key, mk.size, &v, sizeof(v), BPF_ANY);
	if (err && fresh)
		slot_put(fp, v.slot);
out:
	pthread_mutex_unlock(&fp->lock);
	return err;
}

/* Sum slot's counters over the CPUs.  Caller holds fp->lock. */
static int slot_read(struct lvs_fastpath *fp, uint32_t slot, uint64_t last_ns,
		     struct lvs_fast_counters *out)
{
	int err = bpf_map__lookup_elem(fp->skel->maps.lvs_fast_ctrs, &slot, sizeof(slot), fp->ctr,
				       sizeof(*fp->ctr) * (size_t)fp->ncpu, 0);

	if (err)
		return err;
	out->packets = 0;
	out->bytes = 0;
	for (int c = 0; c < fp->ncpu; c++) {
		out->packets += fp->ctr[c].packets;
		out->bytes += fp->ctr[c].bytes;
	}
	out->last_ns = last_ns;
	return 0;
}

/* Read entry k's counters (out may be NULL), and remove it when told. */
static int entry_counts(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
			struct lvs_fast_counters *out, bool remove)
{
	struct lvs_fast_val v;
	struct map_key mk;
	int err;

	map_key(fp, k, &mk);
	pthread_mutex_lock(&fp->lock);
	err = remove ? bpf_map__lookup_and_delete_elem(mk.map, mk.key, mk.size, &v, sizeof(v), 0)
		     : bpf_map__lookup_elem(mk.map, mk.key, mk.size, &v, sizeof(v), 0);
	if (!err) {
		/* gone from the map, its slot still holds its last counts: it
		 * is reused only after every other free slot */
		if (out)
			err = slot_read(fp, v.slot, v.last_ns, out);
		if (remove)
			slot_put(fp, v.slot);
	}
	pthread_mutex_unlock(&fp->lock);
	return err;
}

int lvs_fastpath_take(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
		      struct lvs_fast_counters *out)
{
	return entry_counts(fp, k, out, true);
}

int lvs_fastpath_remove(struct lvs_fastpath *fp, const struct lvs_fast_key *k)
{
	return entry_counts(fp, k, NULL, true);
}

int lvs_fastpath_read_key(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
			  struct lvs_fast_counters *out)
{
	return entry_counts(fp, k, out, false);
}

int lvs_fastpath_add(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply,
		     const struct lvs_nexthop *nh, const struct lvs_fast_tun *tun,
		     const union lvs_addr *tun_src)
{
	struct lvs_fast_key k;
	struct lvs_fast_val v;
	int err = lvs_fastpath_entry(ci, reply, nh, tun, tun_src, &k, &v);

	return err ? err : lvs_fastpath_put(fp, &k, &v);
}

int lvs_fastpath_del(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply)
{
	struct lvs_fast_key k;
	int err = lvs_fastpath_key(ci, reply, &k);

	return err ? err : lvs_fastpath_remove(fp, &k);
}

int lvs_fastpath_read(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply,
		      struct lvs_fast_counters *out)
{
	struct lvs_fast_key k;
	int err = lvs_fastpath_key(ci, reply, &k);

	return err ? err : lvs_fastpath_read_key(fp, &k, out);
}

int lvs_fastpath_attach(struct lvs_fastpath *fp, uint32_t ifindex, struct bpf_link **out)
{
	struct bpf_link *l = bpf_program__attach_xdp(fp->skel->progs.lvs_fast, (int)ifindex);

	*out = NULL;
	if (!l)
		return errno ? -errno : -EINVAL;
	*out = l;
	return 0;
}

int lvs_fastpath_stats(struct lvs_fastpath *fp, uint64_t out[LVS_FASTS__COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t s = 0; s < LVS_FASTS__COUNT; s++) {
		int err = bpf_map__lookup_elem(fp->skel->maps.lvs_fast_stats, &s, sizeof(s), v,
					       sizeof(*v) * (size_t)ncpu, 0);
		out[s] = 0;
		if (err) {
			free(v);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[s] += v[c];
	}
	free(v);
	return 0;
}

const char *lvs_fastpath_stat_name(unsigned s)
{
	static const char *const names[LVS_FASTS__COUNT] = {
		[LVS_FASTS_TX] = "tx",
		[LVS_FASTS_REDIRECT] = "redirect",
		[LVS_FASTS_NOT_IP] = "not_ip",
		[LVS_FASTS_SHAPE] = "shape",
		[LVS_FASTS_MISS] = "miss",
		[LVS_FASTS_TCP_FLAGS] = "tcp_flags",
		[LVS_FASTS_TTL] = "ttl",
		[LVS_FASTS_MTU] = "mtu",
		[LVS_FASTS_CSUM] = "csum",
		[LVS_FASTS_ROOM] = "room",
		[LVS_FASTS_BROKEN] = "broken",
	};

	return s < LVS_FASTS__COUNT && names[s] ? names[s] : "?";
}
