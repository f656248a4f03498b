/*
 * model.h - virtual services and their destinations (real servers).
 *
 * Three layers of objects:
 *   - configuration (struct lvs_svc_conf / lvs_dest_conf): what an operator
 *     sets with ipvsadm or keepalived.conf, with who set it (the owner) and,
 *     for a destination, its health as checks see it;
 *   - stable runtime state (struct lvs_svc_state / lvs_dest_state): counters
 *     and connection references that outlive configuration changes (a
 *     destination deleted while connections still use it stays alive, like
 *     the kernel's "trash" list, until its last connection is gone);
 *   - published services (struct lvs_service): one immutable version per
 *     service, built by the control thread when that service or one of its
 *     destinations changes, found by the workers through an RCU hash index
 *     (struct lvs_snapshot) without locks.  A change builds one version of
 *     one service; the other services and their schedulers are untouched.
 *
 * Changes go through struct lvs_model operations which either apply whole
 * and publish, or fail with a negative errno and change nothing.  The
 * errnos are the kernel's, so ipvsadm's messages map 1:1
 * (lvs_model_strerror).  Defaults and validation follow ipvsadm/kernel IPVS.
 */
#ifndef LVS_MODEL_H
#define LVS_MODEL_H

#include "estimator.h"
#include "lvs_types.h"
#include "route_cache.h"

/* Forwarding methods (kernel IP_VS_CONN_F_* values). */
enum lvs_fwd {
	LVS_FWD_MASQ = 0,   /* -m: NAT */
	LVS_FWD_LOCAL = 1,  /* local node (not forwarded) */
	LVS_FWD_TUNNEL = 2, /* -i: IPIP / GUE / GRE */
	LVS_FWD_ROUTE = 3,  /* -g: direct routing (default) */
};

/* Tunnel types (kernel IP_VS_CONN_F_TUNNEL_TYPE_* values). */
enum lvs_tun_type {
	LVS_TUN_IPIP = 0,
	LVS_TUN_GUE = 1,
	LVS_TUN_GRE = 2,
};
#define LVS_TUN_F_NOCSUM 0x0
#define LVS_TUN_F_CSUM 0x1
#define LVS_TUN_F_REMCSUM 0x2

/* Service flags (kernel IP_VS_SVC_F_* values). */
#define LVS_SVC_F_PERSISTENT 0x0001
#define LVS_SVC_F_HASHED 0x0002
#define LVS_SVC_F_ONEPACKET 0x0004
#define LVS_SVC_F_SCHED1 0x0008 /* sh-fallback, mh-fallback */
#define LVS_SVC_F_SCHED2 0x0010 /* sh-port, mh-port */
#define LVS_SVC_F_SCHED3 0x0020
#define LVS_SVC_F_SCHED_SH_FALLBACK LVS_SVC_F_SCHED1
#define LVS_SVC_F_SCHED_SH_PORT LVS_SVC_F_SCHED2
#define LVS_SVC_F_SCHED_MH_FALLBACK LVS_SVC_F_SCHED1
#define LVS_SVC_F_SCHED_MH_PORT LVS_SVC_F_SCHED2

/* Destination runtime flags (lvs_dest_state.flags). */
#define LVS_DEST_F_AVAILABLE 0x1 /* published: schedulable (the kernel's AVAILABLE) */
#define LVS_DEST_F_OVERLOAD 0x2  /* u_threshold reached */
#define LVS_DEST_F_INCONF 0x4    /* in the configuration (possibly down) */
#define LVS_DEST_F_FAILED 0x8    /* its health is not UP (checks, passive detection) */

/* Who configured an object: a reload of the file touches only its own. */
enum lvs_owner {
	LVS_OWNER_ADMIN = 0, /* lvsadm / ipvsadm commands and rules files */
	LVS_OWNER_CONFIG = 1,/* the configuration file (keepalived.conf) */
};

/* A destination's health, set by checks (configured weight aside):
 * UP forwards with the configured weight; QUIESCED keeps it listed with
 * weight 0 (keepalived's inhibit_on_failure); DOWN removes it from the
 * service as keepalived does (listings omit it, existing connections
 * continue, as on the kernel's trash list). */
enum lvs_dest_health {
	LVS_DEST_UP = 0,
	LVS_DEST_QUIESCED = 1,
	LVS_DEST_DOWN = 2,
};
#define LVS_HEALTH_REASON_MAX 64

#define LVS_SCHED_NAME_MAX 16
#define LVS_DEF_SCHED "wlc"
#define LVS_DEF_PERSIST_TIMEOUT 360 /* what ipvsadm sends for a bare -p */
#define LVS_MAX_WEIGHT 2147483647

struct lvs_svc_conf {
	uint8_t af;     /* AF_INET / AF_INET6 */
	uint8_t proto;  /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP; 0 for fwmark */
	uint16_t port;  /* network order; 0 only for a persistent service */
	uint32_t fwmark;/* >0: firewall-mark service (addr/port unused) */
	union lvs_addr addr;
	char sched[LVS_SCHED_NAME_MAX];
	uint32_t flags;   /* LVS_SVC_F_* */
	uint32_t timeout; /* persistence timeout, seconds (flags & PERSISTENT) */
	uint32_t netmask; /* persistence: IPv4 mask (network order) / IPv6 prefix length */
	uint8_t owner;    /* enum lvs_owner (add: recorded; not part of the identity) */
	uint8_t pe;       /* enum lvs_pe (pe.h): --pe; keys templates when persistent */
};

/* Identity of a service: (af, proto, addr, port) or (af, fwmark). */
struct lvs_svc_key {
	uint8_t af;
	uint8_t proto;
	uint16_t port;
	uint32_t fwmark;
	union lvs_addr addr;
};

struct lvs_dest_conf {
	uint8_t af;       /* may differ from the service's (IPv6 svc, IPv4 tunnel dest) */
	uint8_t fwd;      /* enum lvs_fwd */
	uint8_t tun_type; /* enum lvs_tun_type */
	uint8_t owner;    /* enum lvs_owner (add: recorded; not part of the identity) */
	uint16_t port;    /* network order */
	uint16_t tun_port;/* network order; GUE destination port */
	uint16_t tun_flags;/* LVS_TUN_F_* */
	int32_t weight;   /* 0..LVS_MAX_WEIGHT; 0 = quiescent */
	uint32_t u_threshold; /* 0 = none */
	uint32_t l_threshold;
	union lvs_addr addr;
};

/* Per-state timeouts, seconds (lvsadm --set / --timeout). */
struct lvs_timeouts {
	uint32_t tcp;     /* ESTABLISHED */
	uint32_t tcp_fin; /* FIN_WAIT */
	uint32_t udp;
};

struct lvs_service;
struct lvs_dest;

/*
 * Stable per-destination state.  Connection entries point at it.  The
 * connection counters are changed on connection state transitions only (not
 * per packet) with relaxed atomics through lvs_dest_bind() & co; traffic
 * counters are per worker and plain.
 */
struct lvs_dest_state {
	int32_t activeconns;  /* atomics: lvs_dest_active() etc. */
	int32_t inactconns;
	int32_t persistconns;
	uint32_t flags;       /* LVS_DEST_F_*, atomic */
	uint32_t id;
	uint8_t af;
	uint16_t port;
	union lvs_addr addr;
	struct lvs_svc_state *svc;
	/* Forwarding parameters as last configured, packed so a worker reads them
	 * in one atomic load: fwd | tun_type<<8 | tun_flags<<16 | tun_port<<32. */
	uint64_t xmit;
	uint32_t u_threshold, l_threshold;
	struct lvs_dest *cur; /* the dest in the current version, NULL when not published */
	struct lvs_dest_state *next; /* model's list (control thread only) */
	struct lvs_dest_state *hnext;/* model's hash chain (control thread only) */
	uint64_t unref_gen;          /* generation that unpublished it (gc) */
	uint16_t nstats;             /* entries in stats[] (the model's workers) */
	struct lvs_route_cache rcache; /* next hop toward addr, shared by the workers */
	struct lvs_counters zbase;   /* sums at the last -Z (subtracted when read) */
	/* TCP handshakes (lvs_dest_handshake; relaxed atomics): completed,
	 * failed, and failed in a row since the last that completed */
	uint64_t hs_ok, hs_fail;
	uint32_t hs_fail_run;
	struct lvs_est est;          /* rates (control thread; est_on once started) */
	bool est_on;
	struct lvs_counters stats[]; /* one per worker */
};

struct lvs_svc_state {
	uint32_t id;
	struct lvs_svc_key key;
	struct lvs_svc_state *next; /* model's list (control thread only) */
	struct lvs_svc_state *hnext;/* model's hash chain (control thread only) */
	bool in_config;
	uint16_t nstats;            /* entries in stats[] */
	uint32_t ndstates;          /* destination states naming it (gc) */
	uint64_t unref_gen;         /* generation that unpublished it (gc) */
	struct lvs_counters zbase;  /* sums at the last -Z (subtracted when read) */
	struct lvs_est est;         /* rates (control thread; est_on once started) */
	bool est_on;
	struct lvs_counters stats[];/* one per worker */
};

/* A destination as published in a snapshot (immutable). */
struct lvs_dest {
	struct lvs_dest_conf c;
	struct lvs_dest_state *st;
	struct lvs_service *svc;
	uint32_t pos; /* index in svc->dests: 0 = head of the kernel's list = newest */
};

struct lvs_sched_ops;

/* A service as published in a snapshot.  Only sched_data/sched_lock change
 * after publication, and only inside the scheduler. */
struct lvs_service {
	struct lvs_svc_conf c;
	struct lvs_svc_state *st;
	const struct lvs_sched_ops *sched;
	void *sched_data;
	struct lvs_spinlock sched_lock;
	uint32_t ndests;
	struct lvs_dest **dests; /* kernel list order: most recently added first */
	uint32_t order; /* creation order, for --nosort listings */
	uint8_t owner;  /* enum lvs_owner */
};

struct lvs_svc_index;

/*
 * What the workers read: the generation (bumped by every published change),
 * the timeouts, and the services' RCU index (open addressing; a slot is
 * replaced in place when its service gets a new version, so a lookup needs
 * no lock and sees either version).  svcs/nsvcs list the current versions
 * in creation order for the control thread's listings; workers must not
 * read them.  The object itself lives as long as the model.
 */
struct lvs_snapshot {
	uint64_t gen;
	struct lvs_timeouts timeouts;
	uint32_t nsvcs;
	struct lvs_service **svcs;  /* creation order; control thread only */
	struct lvs_svc_index *idx;  /* RCU */
};

/*
 * Find the service for a packet: a fwmark service first when mark != 0,
 * then (proto, addr, port), then a persistent port-0 service on (proto,
 * addr), as kernel IPVS does.  Data path; returns NULL when none.
 */
struct lvs_service *lvs_svc_lookup(const struct lvs_snapshot *s, uint8_t af, uint8_t proto,
				   const union lvs_addr *addr, uint16_t port, uint32_t mark);

/* Connection counter helpers, read with relaxed atomics. */
static inline int32_t lvs_dest_active(const struct lvs_dest *d)
{
	return __atomic_load_n(&d->st->activeconns, __ATOMIC_RELAXED);
}
static inline int32_t lvs_dest_inactive(const struct lvs_dest *d)
{
	return __atomic_load_n(&d->st->inactconns, __ATOMIC_RELAXED);
}
static inline int32_t lvs_dest_persist(const struct lvs_dest *d)
{
	return __atomic_load_n(&d->st->persistconns, __ATOMIC_RELAXED);
}
static inline bool lvs_dest_overloaded(const struct lvs_dest *d)
{
	return __atomic_load_n(&d->st->flags, __ATOMIC_RELAXED) & LVS_DEST_F_OVERLOAD;
}
static inline uint8_t lvs_xmit_fwd(uint64_t x) { return (uint8_t)x; }
static inline uint8_t lvs_xmit_tun_type(uint64_t x) { return (uint8_t)(x >> 8); }
static inline uint16_t lvs_xmit_tun_flags(uint64_t x) { return (uint16_t)(x >> 16); }
static inline uint16_t lvs_xmit_tun_port(uint64_t x) { return (uint16_t)(x >> 32); }

/*
 * Connection accounting, called by the connection table (any worker):
 * bind when a connection (or template) starts using ds, unbind when it
 * ends, and set_active when a connection moves between active and
 * inactive.  They maintain activeconns/inactconns/persistconns, the
 * overload flag (u_threshold / l_threshold as the kernel computes them) and
 * notify the current scheduler.  A new connection starts inactive unless
 * `active` is set.
 */
void lvs_dest_bind(struct lvs_dest_state *ds, bool is_template, bool active);
void lvs_dest_unbind(struct lvs_dest_state *ds, bool is_template, bool active);
void lvs_dest_set_active(struct lvs_dest_state *ds, bool active);
/* A TCP connection to ds reached ESTABLISHED (ok), or ended without ever
 * reaching it (the server did not answer its SYN, or reset it).  Data
 * path, any worker; for passive detection. */
void lvs_dest_handshake(struct lvs_dest_state *ds, bool ok);

/* ---- control path: the mutable model ---- */

struct lvs_model;

struct lvs_model *lvs_model_new(void);
void lvs_model_free(struct lvs_model *m);

/* A model whose counters have room for nworkers workers (1..LVS_MAX_WORKERS;
 * lvs_model_new: LVS_MAX_WORKERS). */
struct lvs_model *lvs_model_new_workers(unsigned nworkers);

/* The published view (never NULL, the same object for the model's life).
 * A worker reads it under its RCU read side; in single-threaded use
 * (tests, lvs-pcap) just call it. */
const struct lvs_snapshot *lvs_model_snapshot(const struct lvs_model *m);

/*
 * Objects a worker may still be reading (replaced service versions, index
 * arrays) are handed to defer(arg, fn, obj), which must call fn(obj) once
 * no worker can see obj any more.  The default calls it at once
 * (single-threaded use); the daemon defers it past an RCU grace period.
 */
void lvs_model_set_retire(struct lvs_model *m,
			  void (*defer)(void *arg, void (*fn)(void *obj), void *obj), void *arg);

/* Fill defaults as ipvsadm does: sched wlc, netmask /32 or /128, timeout 360
 * when persistent with timeout 0. */
void lvs_svc_conf_defaults(struct lvs_svc_conf *c);
void lvs_dest_conf_defaults(struct lvs_dest_conf *d); /* route, weight 1 */
void lvs_svc_conf_key(const struct lvs_svc_conf *c, struct lvs_svc_key *k);

/*
 * Operations.  Each returns 0 and publishes a new snapshot, or a negative
 * errno and changes nothing:
 *   -EEXIST  service / destination already exists
 *   -ESRCH   no such service
 *   -ENOENT  no such destination; unknown scheduler (add/edit service)
 *   -ERANGE  negative weight, lower threshold above the upper one (also
 *            when the upper one is 0, as the kernel checks it)
 *   -EINVAL  invalid parameters (port 0 without persistence, netmask,
 *            address family mix, a new destination's address not unicast:
 *            multicast, broadcast...)
 *   -ENOMEM
 */
int lvs_model_add_service(struct lvs_model *m, const struct lvs_svc_conf *c);
int lvs_model_edit_service(struct lvs_model *m, const struct lvs_svc_conf *c);
int lvs_model_del_service(struct lvs_model *m, const struct lvs_svc_key *k);
int lvs_model_add_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *d);
int lvs_model_edit_dest(struct lvs_model *m, const struct lvs_svc_key *k,
			const struct lvs_dest_conf *d);
int lvs_model_del_dest(struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *d);
/* As the kernel's delete (ipvsadm -d): the destination with exactly this
 * family, address and port, whatever the forwarding method.
 * lvs_model_del_dest() also finds a DR/TUN destination named with another
 * port (the service's is stored), as lvs_model_edit_dest() does. */
int lvs_model_del_dest_exact(struct lvs_model *m, const struct lvs_svc_key *k,
			     const struct lvs_dest_conf *d);
int lvs_model_flush(struct lvs_model *m);
/* Zero traffic counters of one service (k != NULL) or all. */
int lvs_model_zero(struct lvs_model *m, const struct lvs_svc_key *k);
/* 0 in a field keeps the current value, as ipvsadm --set does. */
int lvs_model_set_timeouts(struct lvs_model *m, const struct lvs_timeouts *t);

/*
 * Batches: between lvs_model_begin and lvs_model_commit, operations
 * validate and change the configuration as usual but publish nothing;
 * commit publishes one snapshot with all of them (a rules file of 10,000
 * lines then costs one snapshot build, not 10,000).  lvs_model_abort
 * restores the configuration as it was at begin, so a batch applies whole
 * or not at all.  Counter zeroing inside a batch is not undone.  Batches do
 * not nest: begin returns -EBUSY inside one.  commit returns 0 or -ENOMEM
 * (and then rolls back like abort).
 */
int lvs_model_begin(struct lvs_model *m);
int lvs_model_commit(struct lvs_model *m);
/*
 * Inside a batch, before commit: build the new versions of up to max of
 * the services changed so far (0 counts as 1), so that a caller with a
 * time budget spreads the work of a large batch and commit only swaps
 * them in.  Returns 1 while some remain, 0 when all are built, or -ENOMEM
 * (the batch is rolled back and closed, as a failed commit).  A service
 * changed again after its version was built is built again.
 */
int lvs_model_prepare(struct lvs_model *m, unsigned max);
void lvs_model_abort(struct lvs_model *m);

/*
 * Health (checkers, control thread): set the health of the destination
 * (af, addr, port of d) of service k, with a short reason ("connect
 * timeout").  Changes only that destination's service; the configured
 * weight is untouched (lvsadm -e sets it, listings show what is in force).
 * 0, -ESRCH, -ENOENT; setting the current health again is a no-op (0).
 */
int lvs_model_set_dest_health(struct lvs_model *m, const struct lvs_svc_key *k,
			      const struct lvs_dest_conf *d, enum lvs_dest_health h,
			      const char *reason);
/*
 * Passive detection (control thread): take the destination out (down:
 * DOWN whatever its checks say, with reason) or put it back to the
 * health its checks gave it.  0, -ESRCH, -ENOENT.
 */
int lvs_model_set_dest_passive(struct lvs_model *m, const struct lvs_svc_key *k,
			       const struct lvs_dest_conf *d, bool down, const char *reason);
/* Read a destination's configuration as set (weight as configured), health
 * and reason (may be NULL, reason_len bytes).  0, -ESRCH, -ENOENT. */
int lvs_model_get_dest(const struct lvs_model *m, const struct lvs_svc_key *k,
		       const struct lvs_dest_conf *d, struct lvs_dest_conf *out,
		       enum lvs_dest_health *h, char *reason, size_t reason_len);
/* A configured destination, as lvs_model_dests shows it. */
struct lvs_dest_info {
	const struct lvs_dest_conf *c;   /* as configured (weight as set) */
	enum lvs_dest_health health;
	const char *reason;              /* "" when none */
	const struct lvs_dest_state *st; /* st->cur: the version in force, NULL when down */
};
/* Visit the configured destinations of service k, down ones included, in
 * the kernel's list order (newest first); fn returns non-zero to stop.
 * Control thread.  0, -ESRCH, or what fn returned. */
int lvs_model_dests(const struct lvs_model *m, const struct lvs_svc_key *k,
		    int (*fn)(void *arg, const struct lvs_dest_info *di), void *arg);
/* A service's owner; -ESRCH. */
int lvs_model_get_svc_owner(const struct lvs_model *m, const struct lvs_svc_key *k);

/* The current generation (bumped by every published change). */
uint64_t lvs_model_gen(const struct lvs_model *m);
/*
 * Free destination and service states that left the configuration and
 * have no connection left (the kernel's trash), if they were unpublished
 * before generation safe_gen: the caller guarantees that every worker has
 * passed a quiescent point since safe_gen was current (take lvs_model_gen()
 * when a grace period starts, pass it once it has elapsed).  Control
 * thread.  lvs_model_gc(m) is lvs_model_gc_upto(m, lvs_model_gen(m) + 1),
 * for callers with no concurrent readers or right after a barrier.
 */
void lvs_model_gc_upto(struct lvs_model *m, uint64_t safe_gen);
void lvs_model_gc(struct lvs_model *m);
/* The same, freeing at most max states per call (0: all), so that a
 * flush of 10,000 services is collected in bounded pieces: true when it
 * stopped early (call again; the same safe_gen condition applies). */
bool lvs_model_gc_some(struct lvs_model *m, uint64_t safe_gen, unsigned max);

/* Visit the trash: destinations deleted from the configuration that
 * connections still use (fn may be NULL, to count them).  For callers that
 * must keep such connections' traffic coming to lvsd (the host guard and
 * the AF_XDP filter).  Control thread.  Returns the number visited. */
/* Changes whenever a destination state enters or leaves the trash (O(1),
 * where lvs_model_trash walks every state). */
uint64_t lvs_model_trash_gen(const struct lvs_model *m);
unsigned lvs_model_trash(const struct lvs_model *m,
			 void (*fn)(void *arg, const struct lvs_dest_state *ds), void *arg);

/*
 * Change notifications for the control plane's followers (the VIP set and
 * host guard): after each published change, svc() is called for every
 * service state whose configuration membership (in_config) may have
 * changed, dest() for every destination state whose membership
 * (LVS_DEST_F_AVAILABLE), forwarding method (xmit) or service may have
 * changed.  A call may repeat for a state that did not change: a follower
 * compares with what it saw last.  gone = true is the last call for a
 * state, made just before it is freed (its pointer and id are then
 * invalid).  Control thread; callbacks must not change the model.
 */
struct lvs_model_watch {
	void (*svc)(void *arg, const struct lvs_svc_state *ss, bool gone);
	void (*dest)(void *arg, const struct lvs_dest_state *ds, bool gone);
	void *arg;
};
/* Install (w != NULL) or remove the watch; one at a time.  Installing
 * reports every existing state once (gone = false). */
void lvs_model_set_watch(struct lvs_model *m, const struct lvs_model_watch *w);

/* Sum n per-worker counters. */
void lvs_counters_sum(const struct lvs_counters *per_worker, unsigned n, struct lvs_counters *out);
/* Counters since the last zeroing (lvsadm --stats). */
void lvs_svc_state_stats(const struct lvs_svc_state *st, struct lvs_counters *out);
void lvs_dest_state_stats(const struct lvs_dest_state *st, struct lvs_counters *out);

enum lvs_model_op {
	LVS_OP_ADD_SERVICE,
	LVS_OP_EDIT_SERVICE,
	LVS_OP_DEL_SERVICE,
	LVS_OP_ZERO,
	LVS_OP_ADD_DEST,
	LVS_OP_EDIT_DEST,
	LVS_OP_DEL_DEST,
	LVS_OP_OTHER,
};
/* ipvsadm's wording for an error of an operation ("Service already exists",
 * "No such destination", ...). */
const char *lvs_model_strerror(enum lvs_model_op op, int err);

#endif
