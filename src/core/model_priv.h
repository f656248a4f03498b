/*
 * model_priv.h - private layout of the model, shared by model.c
 * (configuration records, operations, undo log, batches), model_state.c
 * (counters, connection accounting, states and their gc), model_index.c
 * (key hashes and the workers' RCU service index) and model_publish.c
 * (building and publishing versions).  Nothing outside those files may
 * include it.
 */
#ifndef LVS_MODEL_PRIV_H
#define LVS_MODEL_PRIV_H

#include "model.h"

#define MODEL_CONTAINER(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* ---- control-thread hash tables (intrusive chains, grown by doubling) ---- */

struct hnode {
	struct hnode *next;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	uint32_t mask;
	uint32_t n;
};

/* ---- configuration records ---- */

struct msvc;

struct mdest {
	struct hnode hn;          /* m->dmap: (service, af, addr, port) */
	struct lvs_dest_conf c;   /* as configured (weight as set) */
	uint8_t health;           /* enum lvs_dest_health, from the checks */
	bool passive;             /* taken out by passive detection (DOWN) */
	char reason[LVS_HEALTH_REASON_MAX];
	char passive_why[LVS_HEALTH_REASON_MAX];
	struct lvs_dest_state *st;
	struct msvc *svc;
	struct mdest *prev, *next;/* the service's list, head = most recently added */
};

struct msvc {
	struct hnode hn;          /* m->smap: the service key */
	struct lvs_svc_conf c;
	struct lvs_svc_state *st;
	struct mdest *dests;
	uint32_t ndests;
	uint32_t order;
	struct lvs_service *pub;  /* the published version, NULL before the first */
	struct lvs_service *nv;   /* built by model_publish(), not swapped in yet */
	struct msvc *dirty_next;  /* m->dirty list */
	bool dirty;
	bool deleted;             /* removed from smap: unpublish, then free */
	/* The one change since publication, for the scheduler's hooks. */
	uint8_t chg;              /* CHG_* */
	struct mdest *chg_dest;
	struct lvs_dest_conf chg_old; /* del: the removed destination's identity */
};

enum { CHG_NONE, CHG_ADD, CHG_UPD, CHG_DEL, CHG_MANY };

/* How to undo one change of an open operation or batch. */
enum undo_kind { U_SVC_ADD, U_SVC_DEL, U_SVC_EDIT, U_DEST_ADD, U_DEST_DEL, U_DEST_EDIT, U_TIMEOUTS };

struct undo {
	uint8_t kind;
	struct msvc *ms;
	struct mdest *md;
	struct mdest *md_prev;    /* U_DEST_DEL: the record before it (NULL: head) */
	union {
		struct lvs_svc_conf sc;
		struct {
			struct lvs_dest_conf dc;
			uint8_t health;
			bool passive;
			char reason[LVS_HEALTH_REASON_MAX];
		} d;
		struct lvs_timeouts to;
	} old;
};

/* The health in force: passive detection's DOWN over the checks'. */
static inline uint8_t md_health(const struct mdest *md)
{
	return md->passive ? LVS_DEST_DOWN : md->health;
}

/* ---- the model ---- */

struct lvs_model {
	struct lvs_snapshot snap;     /* published view */
	uint32_t svcs_cap;
	struct htab smap;             /* msvc by key */
	struct htab dmap;             /* mdest by (msvc, af, addr, port) */
	struct htab ssmap;            /* lvs_svc_state by key */
	struct htab dsmap;            /* lvs_dest_state by (svc state, af, addr, port) */
	struct lvs_svc_state *svc_states;
	struct lvs_dest_state *dest_states;
	struct msvc *dirty;
	struct msvc *build_next; /* lvs_model_prepare's place in dirty, or NULL */
	bool timeouts_dirty;
	unsigned nstats;
	uint32_t next_order;
	uint32_t next_svc_id;
	uint32_t next_dest_id;
	uint32_t ntrash; /* states without AVAILABLE (upper bound) */
	/* the gc: states out of the configuration the last walk kept (their
	 * connections go on), and changes since that may have made more */
	uint32_t gc_kept, gc_hint;
	uint64_t trash_gen; /* bumped when a state enters or leaves the trash */
	void (*defer)(void *arg, void (*fn)(void *obj), void *obj);
	void *defer_arg;
	struct lvs_model_watch watch;
	/* undo log of the open operation or batch */
	struct undo *undo;
	size_t nundo, capundo;
	bool in_batch;
	uint32_t saved_next_order;
};

/* ---- shared helpers ---- */

static inline void model_watch_svc(struct lvs_model *m, const struct lvs_svc_state *ss, bool gone)
{
	if (m->watch.svc)
		m->watch.svc(m->watch.arg, ss, gone);
}

static inline void model_watch_dest(struct lvs_model *m, const struct lvs_dest_state *ds, bool gone)
{
	if (m->watch.dest)
		m->watch.dest(m->watch.arg, ds, gone);
}

static inline uint64_t model_pack_xmit(const struct lvs_dest_conf *c)
{
	return (uint64_t)c->fwd | (uint64_t)c->tun_type << 8 | (uint64_t)c->tun_flags << 16 |
	       (uint64_t)c->tun_port << 32;
}

/* model.c */
void model_mdest_free_all(struct msvc *ms);
void model_undo_all(struct lvs_model *m);

/* model_state.c */
void model_dest_state_unconf(struct lvs_model *m, struct lvs_dest_state *ds);
struct lvs_svc_state *model_svc_state_get(struct lvs_model *m, const struct lvs_svc_conf *c);
struct lvs_dest_state *model_dest_state_get(struct lvs_model *m, struct msvc *ms,
					    const struct lvs_dest_conf *d);

/* model_index.c */
uint32_t model_key_hash(const struct lvs_svc_key *k);
uint32_t model_dest_hash(const void *owner, uint8_t af, const union lvs_addr *a, uint16_t port);
struct lvs_svc_index *model_idx_new(uint32_t nslots);
int model_idx_reserve(struct lvs_model *m, uint32_t more);
void model_idx_set(struct lvs_model *m, struct lvs_service *old, struct lvs_service *svc);

/* model_publish.c */
void model_version_free(void *p);
int model_svcs_reserve(struct lvs_model *m, uint32_t more);
void model_mark_dirty(struct lvs_model *m, struct msvc *ms, uint8_t chg, struct mdest *md,
		      const struct lvs_dest_conf *gone);
void model_dirty_clear(struct lvs_model *m, bool published);
int model_publish(struct lvs_model *m);

#endif
