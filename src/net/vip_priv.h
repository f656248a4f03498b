/*
 * vip_priv.h - private layout of the VIP ownership, shared by vip.c (the
 * workers' VIP array and answers, takeover announcements, the object's
 * life) and vip_guard.c (the host guard: the keys the model's states
 * contribute, their nftables elements and the driver filter's keys).
 * Nothing outside those files and their tests may include it.
 */
#ifndef LVS_VIP_PRIV_H
#define LVS_VIP_PRIV_H

#include <pthread.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "vip.h"

struct vip_set;  /* the workers' VIP array (vip.c) */
struct announce; /* a pending announcement (vip.c) */
struct srec;     /* records of the model's states (vip_guard.c) */
struct drec;

/* A served interface, and the name of its guard table. */
struct served {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	char table[IF_NAMESIZE + 8];
	bool was_up, gone;
};

/* ---- chained hash tables (control thread) ---- */

struct hnode {
	struct hnode *next;
	uint64_t h;
};

struct htab {
	struct hnode **b;
	size_t mask; /* buckets - 1 */
	size_t n;
};

/* ---- guard keys ---- */

enum gkind {
	GK_VIP,   /* a service address (owned or shared) */
	GK_SVC,   /* a service: daddr . proto . dport (0: any) */
	GK_NAT,   /* a NAT real server: saddr . proto . sport (0: any) */
	GK_NATRS, /* a NAT real server's address (its ICMP errors) */
	GK_LOCAL, /* one of the host's addresses (driver filter only) */
};

/* Zeroed before it is filled: hashed and compared as bytes. */
struct gkey {
	uint8_t kind, af, proto, pad;
	uint16_t port; /* network order */
	uint16_t pad2;
	union lvs_addr a;
};

struct gentry {
	struct hnode hn;
	struct gkey k;
	uint32_t cfg;   /* references from the configuration */
	uint32_t trash; /* references from trash destinations (GK_SVC) */
	bool owned;     /* GK_VIP: not one of the host's addresses */
	bool active;    /* GK_VIP: owned and used: answered, announced */
	/* where it is applied: 0 nowhere, else the layout gwant gave
	 * (GK_VIP: 1 guarded whole, 2 guarded per service port) */
	uint8_t in_nft; /* elements of the guard tables' sets */
	uint8_t in_xdp; /* key of the driver filter */
	bool dirty;
	struct gentry *dnext;          /* dirty list */
	struct gentry *vnext, **vprev; /* GK_VIP: list of VIP keys */
};

struct lvs_vips {
	struct vip_set *set; /* RCU */
	/* VRRP's addresses (the director's pointer, standby.h); NULL: none */
	struct lvs_standby *const *standby;
	struct lvs_netstate *ns;
	struct served *ifs;
	unsigned nif;
	bool guard;
	int txfd; /* announcements, multicast memberships */
	struct announce *ann;
	unsigned nann, capann;
	uint32_t *ann_idx; /* positions in ann (+1) by address (vip.c) */
	uint32_t ann_idx_size;
	uint64_t arp_replies, na_replies, echo_replies;
	/* fragmented echo requests being put together (vip.c), under echo_mu;
	 * allocated on first use */
	pthread_mutex_t echo_mu;
	struct echo_reasm *echo;
	lvs_vips_filter_fn filter; /* driver-side selection of director traffic */
	void *filter_arg;

	/* nftables, in-process; run through nft_run so tests can watch */
	struct nft_ctx *nft;
	int (*nft_run)(void *arg, const char *script, char **out);
	void *nft_arg;
	bool nft_resync; /* a delta failed: rewrite the tables whole */

	struct lvs_model *model; /* watched */
	bool rescan;             /* records may be stale (out of memory) */
	struct htab keys, srecs, drecs;
	struct srec *spending;   /* reported states, evaluated by the update */
	struct drec *dpending;
	/* states reported for the first time, without a record yet: the
	 * records are made by the update, a chunk at a time, not in the
	 * model's callbacks (a batch of 100,000 new states publishes fast) */
	const void **fresh;  /* lvs_dest_state / lvs_svc_state pointers */
	uint8_t *fresh_svc;  /* 1: fresh[i] is a service state */
	size_t nfresh, capfresh;
	struct gentry *dirty;
	struct gentry *vips; /* GK_VIP keys */
	bool vips_changed;   /* the workers' array is out of date */
	struct gkey *locals; /* GK_LOCAL keys as last read, sorted */
	unsigned nlocals;
	unsigned nfwm, nfwm_warned; /* firewall-mark services (warned about) */
	bool fwmark_queue;          /* their packets reach lvsd through a queue */
	/* Firewall-mark mode (nfwm > 0), entered and left in two steps (see
	 * vip_guard.c, mode_step): the services of owned VIPs guarded by
	 * port, then the owned VIPs guarded per port instead of whole. */
	bool svc_pp, vip_pp;
};

static inline lvs_time_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

/* ---- vip.c ---- */

/* Announce VIP a (af) ANNOUNCE_COUNT times from now on. */
void vip_announce_add(struct lvs_vips *v, uint8_t af, const union lvs_addr *a, lvs_time_t now);
/* Join (leave) a's solicited-node multicast group on every served
 * interface. */
void vip_mcast(struct lvs_vips *v, const union lvs_addr *a, bool join);
/* Publish the active VIPs (v->vips) to the workers.  0 or -ENOMEM (then
 * the old array stays, and the next sync tries again). */
int vip_set_rebuild(struct lvs_vips *v);

/* ---- vip_guard.c ---- */

/* The tables of keys and records.  0 or -ENOMEM (vip_guard_free cleans
 * up either way). */
int vip_guard_init(struct lvs_vips *v);
/* Free the keys, the records, the host's addresses and the libnftables
 * context (the guard's tables are removed by vip_guard_remove). */
void vip_guard_free(struct lvs_vips *v);
/* Rewrite every served table from the keys.  0 or -errno. */
int vip_guard_rewrite(struct lvs_vips *v);
/* Delete every served table. */
void vip_guard_remove(struct lvs_vips *v);
/* The default nft_run: libnftables in-process (arg: the lvs_vips). */
int vip_nft_lib_run(void *arg, const char *script, char **out);

#endif
