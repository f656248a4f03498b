/*
 * vrrp_fsm.c - the per-instance VRRP state machine (see vrrp_fsm.h).
 *
 * Follows RFC 5798 6.4 (Initialize, Backup, Master), with timers as
 * deadlines in caller-supplied nanoseconds.  Version 3 counts intervals in
 * centiseconds and a backup learns the master's interval from its adverts;
 * version 2 (RFC 3768 6.1) counts seconds, requires every router of the
 * virtual router to use the same interval, and skews by a fraction of one
 * second.  Skew_Time is kept in nanoseconds rather than rounded to
 * centiseconds, so priorities 1..255 stay distinct whatever the interval.
 *
 * keepalived behaviour users depend on, kept here:
 *  - nopreempt is Preempt_Mode false; an owner (priority 255) always
 *    preempts, as RFC 5798 6.1 says;
 *  - preempt_delay: for that long after a start, a backup does not preempt
 *    a lower-priority master (it keeps accepting its adverts);
 *  - "state MASTER" below priority 255 starts as BACKUP but waits only one
 *    advert interval plus the smallest skew for an existing master;
 *  - FAULT: a tracked interface down; the instance neither sends nor
 *    listens and owns nothing until it comes back.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "vrrp_fsm.h"

#define NS_PER_CS 10000000ull

static const char *const vrrp_state_names[] = {
        [VRRP_STATE_INIT] = "INIT",
        [VRRP_STATE_BACKUP] = "BACKUP",
        [VRRP_STATE_MASTER] = "MASTER",
        [VRRP_STATE_FAULT] = "FAULT",
};

const char *vrrp_state_name(enum vrrp_state s)
{
	if ((unsigned)s >= sizeof(vrrp_state_names) / sizeof(vrrp_state_names[0]))
		return "UNKNOWN";
	return vrrp_state_names[s];
}

int vrrp_conf_check(const struct vrrp_inst_conf *c)
{
	if (c->vrid == 0 || c->priority == 0 || c->adver_int_cs == 0)
		return -EINVAL;
	if (c->af != AF_INET && c->af != AF_INET6)
		return -EINVAL;
	if (c->version == 3)
		return c->adver_int_cs <= VRRP_V3_MAX_INT_CS ? 0 : -EINVAL;
	if (c->version != 2 || c->af != AF_INET)
		return -EINVAL;
	if (c->adver_int_cs % 100 || c->adver_int_cs / 100 > VRRP_V2_MAX_INT_S)
		return -EINVAL;
	if (c->auth_type != VRRP_AUTH_NONE && c->auth_type != VRRP_AUTH_PASS)
		return -EINVAL;
	return 0;
}

int vrrp_fsm_init(struct vrrp_inst *v, const struct vrrp_inst_conf *c)
{
	int err = vrrp_conf_check(c);

	if (err)
		return err;
	memset(v, 0, sizeof(*v));
	v->conf = *c;
	v->state = VRRP_STATE_INIT;
	v->master_adver_int_cs = c->adver_int_cs;
	return 0;
}

/* Skew_Time scaled by factor/256 instead of (256 - Priority)/256. */
static uint64_t skew_scaled(const struct vrrp_inst *v, unsigned factor)
{
	if (v->conf.version == 2)
		return factor * LVS_NS_PER_SEC / 256;
	return factor * v->master_adver_int_cs * NS_PER_CS / 256;
}

uint64_t vrrp_skew_ns(const struct vrrp_inst *v)
{
	return skew_scaled(v, 256u - v->conf.priority);
}

uint64_t vrrp_master_down_ns(const struct vrrp_inst *v)
{
	return 3 * v->master_adver_int_cs * NS_PER_CS + vrrp_skew_ns(v);
}

static uint64_t adver_ns(const struct vrrp_inst *v)
{
	return v->conf.adver_int_cs * NS_PER_CS;
}

uint64_t vrrp_fsm_next_deadline(const struct vrrp_inst *v)
{
	if (v->state == VRRP_STATE_BACKUP && v->down_at)
		return v->down_at;
	if (v->state == VRRP_STATE_MASTER && v->adver_at)
		return v->adver_at;
	return UINT64_MAX;
}

void vrrp_fsm_advert(const struct vrrp_inst *v, uint8_t prio, struct vrrp_adv *out)
{
	const struct vrrp_inst_conf *c = &v->conf;

	memset(out, 0, offsetof(struct vrrp_adv, addrs));
	out->version = c->version;
	out->vrid = c->vrid;
	out->priority = prio;
	out->af = c->af;
	out->adver_int_cs = c->adver_int_cs;
	out->naddr = c->naddr;
	out->auth_type = c->auth_type;
	memcpy(out->auth_pass, c->auth_pass, sizeof(out->auth_pass));
	memcpy(out->addrs, c->addrs, c->naddr * sizeof(c->addrs[0]));
}

/* The action list being built by one call. */
struct acts {
	struct vrrp_action *a;
	unsigned n, max;
	struct vrrp_inst *v;
};

static void push(struct acts *o, enum vrrp_action_kind kind, uint8_t prio, enum vrrp_state from)
{
	if (o->n >= o->max) {
		o->v->stats.actions_lost++;
		return;
	}
	o->a[o->n++] = (struct vrrp_action){.kind = kind, .priority = prio, .from = from};
}

static void send_advert(struct acts *o, uint8_t prio)
{
	o->v->stats.tx_adverts++;
	if (prio == VRRP_PRIO_STOP)
		o->v->stats.tx_prio0++;
	push(o, VRRP_ACT_SEND_ADVERT, prio, o->v->state);
}

/* RFC 5798 6.4.1 / 6.4.2 "transition to Master": advertise first, then
 * take the addresses and announce them (an announcement for an address not
 * yet owned would be answered by nobody). */
static void to_master(struct acts *o, uint64_t now)
{
	struct vrrp_inst *v = o->v;
	enum vrrp_state from = v->state;

	send_advert(o, v->conf.priority);
	v->state = VRRP_STATE_MASTER;
	v->down_at = 0;
	v->adver_at = now + adver_ns(v);
	v->stats.became_master++;
	push(o, VRRP_ACT_BECOME_MASTER, 0, from);
	push(o, VRRP_ACT_SEND_GARP, 0, VRRP_STATE_MASTER);
}

static void to_backup(struct acts *o, uint64_t down_at)
{
	struct vrrp_inst *v = o->v;
	enum vrrp_state from = v->state;

	v->state = VRRP_STATE_BACKUP;
	v->adver_at = 0;
	v->down_at = down_at;
	v->stats.became_backup++;
	push(o, VRRP_ACT_BECOME_BACKUP, 0, from);
}

/* The Startup event (RFC 5798 6.4.1), also run when a fault clears. */
static void startup(struct acts *o, uint64_t now)
{
	struct vrrp_inst *v = o->v;
	enum vrrp_state from = v->state;

	v->master_adver_int_cs = v->conf.adver_int_cs;
	v->preempt_after = v->preempt_floor = now + v->conf.preempt_delay_ns;
	if (v->faulty) {
		v->state = VRRP_STATE_FAULT;
		v->down_at = v->adver_at = 0;
		v->stats.became_fault++;
		push(o, VRRP_ACT_BECOME_FAULT, 0, from);
		return;
	}
	if (v->conf.priority == VRRP_PRIO_OWNER) {
		to_master(o, now);
		return;
	}
	if (v->conf.want_master) {
		/* Wait one interval to hear an existing master (keepalived). */
		to_backup(o, now + adver_ns(v) + skew_scaled(v, 1));
		return;
	}
	to_backup(o, now + vrrp_master_down_ns(v));
}

unsigned vrrp_fsm_start(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts, unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};

	if (v->state == VRRP_STATE_INIT)
		startup(&o, now);
	return o.n;
}

/* Same addresses in any order (RFC 5798 7.1's optional check). */
static bool addrs_match(const struct vrrp_inst_conf *c, const struct vrrp_adv *a)
{
	unsigned i, j;

	if (a->naddr != c->naddr)
		return false;
	for (i = 0; i < a->naddr; i++) {
		for (j = 0; j < c->naddr; j++)
			if (lvs_addr_eq(&a->addrs[i], &c->addrs[j]))
				break;
		if (j == c->naddr)
			return false;
	}
	return true;
}

/* The per-instance receive checks of RFC 5798 7.1 / RFC 3768 7.1 (the
 * message's own were done by vrrp_decode).  0 or a drop reason. */
static enum vrrp_drop rx_check(const struct vrrp_inst *v, const struct vrrp_adv *a)
{
	const struct vrrp_inst_conf *c = &v->conf;

	if (v->state != VRRP_STATE_BACKUP && v->state != VRRP_STATE_MASTER)
		return VRRP_DROP_INACTIVE;
	/* Virtual routers of the two families are separate (RFC 5798 1). */
	if (a->vrid != c->vrid || a->af != c->af)
		return VRRP_DROP_VRID;
	if (a->version != c->version)
		return VRRP_DROP_VERSION_MISMATCH;
	if (c->priority == VRRP_PRIO_OWNER)
		return VRRP_DROP_OWNER;
	if (c->version == 2) {
		if (a->auth_type != c->auth_type)
			return VRRP_DROP_AUTH;
		if (c->auth_type == VRRP_AUTH_PASS &&
		    memcmp(a->auth_pass, c->auth_pass, VRRP_V2_AUTH_LEN) != 0)
			return VRRP_DROP_AUTH;
		/* RFC 3768 7.1: all routers must share one interval. */
		if (a->adver_int_cs != c->adver_int_cs)
			return VRRP_DROP_INT_MISMATCH;
	}
	if (c->check_addrs && a->priority != VRRP_PRIO_OWNER && !addrs_match(c, a))
		return VRRP_DROP_ADDR_LIST;
	return VRRP_DROP_NONE;
}

/* Take the master's interval (version 3 only: version 2's is fixed). */
static void learn_interval(struct vrrp_inst *v, const struct vrrp_adv *a)
{
	if (v->conf.version == 3)
		v->master_adver_int_cs = a->adver_int_cs;
}

static void rx_backup(struct acts *o, const struct vrrp_adv *a, uint64_t now)
{
	struct vrrp_inst *v = o->v;
	bool preempt = v->conf.preempt || v->conf.priority == VRRP_PRIO_OWNER;

	if (a->priority == VRRP_PRIO_STOP) {
		/* The master left: take over after our skew alone, so the
		 * highest-priority backup wins the race. */
		v->down_at = now + vrrp_skew_ns(v);
		return;
	}
	if (now < v->preempt_after)
		preempt = false;
	if (!preempt || a->priority >= v->conf.priority) {
		learn_interval(v, a);
		v->down_at = now + vrrp_master_down_ns(v);
		return;
	}
	/* A lower-priority master: let it time out, then preempt. */
	v->stats.rx_lower_discarded++;
}

static void rx_master(struct acts *o, const struct vrrp_adv *a, const union lvs_addr *src,
                      uint64_t now)
{
	struct vrrp_inst *v = o->v;
	int cmp;

	if (a->priority == VRRP_PRIO_STOP) {
		/* Another master left: reassure the backups at once, so they
		 * do not take over after their skew. */
		send_advert(o, v->conf.priority);
		v->adver_at = now + adver_ns(v);
		return;
	}
	cmp = vrrp_addr_cmp(v->conf.af, src, &v->conf.primary);
	if (a->priority > v->conf.priority || (a->priority == v->conf.priority && cmp > 0)) {
		/* Two masters, and we yield.  One last advert of ours tells
		 * the winner it was a split brain, so it announces itself
		 * again: clients that learnt our MAC meanwhile move back
		 * (keepalived's higher_prio_send_advert, always on here). */
		send_advert(o, v->conf.priority);
		learn_interval(v, a);
		to_backup(o, now + vrrp_master_down_ns(v));
		return;
	}
	/* Two masters: a split brain healing.  Win the election at once and
	 * announce again, since clients may have learnt the other master's
	 * MAC meanwhile (keepalived does the same). */
	v->stats.rx_lower_discarded++;
	if (cmp == 0)
		return; /* our own advert, looped back */
	send_advert(o, v->conf.priority);
	v->adver_at = now + adver_ns(v);
	push(o, VRRP_ACT_SEND_GARP, 0, VRRP_STATE_MASTER);
}

unsigned vrrp_fsm_rx(struct vrrp_inst *v, const struct vrrp_adv *a, const union lvs_addr *src,
                     uint64_t now, struct vrrp_action *acts, unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};
	enum vrrp_drop why = rx_check(v, a);

	if (why != VRRP_DROP_NONE) {
		v->stats.drops[why]++;
		return 0;
	}
	v->stats.rx_adverts++;
	if (a->priority == VRRP_PRIO_STOP)
		v->stats.rx_prio0++;
	if (v->state == VRRP_STATE_BACKUP)
		rx_backup(&o, a, now);
	else
		rx_master(&o, a, src, now);
	return o.n;
}

unsigned vrrp_fsm_tick(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts, unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};

	if (v->state == VRRP_STATE_BACKUP && v->down_at && now >= v->down_at) {
		to_master(&o, now);
	} else if (v->state == VRRP_STATE_MASTER && v->adver_at && now >= v->adver_at) {
		send_advert(&o, v->conf.priority);
		v->adver_at = now + adver_ns(v);
	}
	return o.n;
}

/* Leave MASTER or BACKUP for INIT or FAULT (RFC 5798 6.4.3 Shutdown). */
static void leave(struct acts *o, enum vrrp_state to)
{
	struct vrrp_inst *v = o->v;
	enum vrrp_state from = v->state;

	if (from == VRRP_STATE_MASTER)
		send_advert(o, VRRP_PRIO_STOP);
	v->state = to;
	v->down_at = v->adver_at = 0;
	if (to == VRRP_STATE_FAULT) {
		v->stats.became_fault++;
		push(o, VRRP_ACT_BECOME_FAULT, 0, from);
	} else {
		push(o, VRRP_ACT_BECOME_INIT, 0, from);
	}
}

unsigned vrrp_fsm_shutdown(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts,
                           unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};

	(void)now;
	if (v->state != VRRP_STATE_INIT)
		leave(&o, VRRP_STATE_INIT);
	return o.n;
}

unsigned vrrp_fsm_fault(struct vrrp_inst *v, bool faulty, uint64_t now, struct vrrp_action *acts,
                        unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};

	if (v->faulty == faulty)
		return 0;
	v->faulty = faulty;
	if (v->state == VRRP_STATE_INIT)
		return 0; /* vrrp_fsm_start will see the flag */
	if (faulty)
		leave(&o, VRRP_STATE_FAULT);
	else if (v->state == VRRP_STATE_FAULT)
		startup(&o, now);
	return o.n;
}

unsigned vrrp_fsm_force(struct vrrp_inst *v, enum vrrp_state to, uint64_t now,
                        struct vrrp_action *acts, unsigned max)
{
	struct acts o = {.a = acts, .max = max, .v = v};

	if (v->state == to || (v->state != VRRP_STATE_MASTER && v->state != VRRP_STATE_BACKUP))
		return 0;
	if (to == VRRP_STATE_MASTER)
		to_master(&o, now);
	else if (to == VRRP_STATE_BACKUP)
		to_backup(&o, now + vrrp_master_down_ns(v));
	return o.n;
}

void vrrp_fsm_set_priority(struct vrrp_inst *v, uint8_t prio)
{
	if (v->conf.priority == VRRP_PRIO_OWNER || !prio || prio == VRRP_PRIO_OWNER)
		return;
	v->conf.priority = prio;
}

void vrrp_fsm_hold_preempt(struct vrrp_inst *v, uint64_t until)
{
	v->preempt_after = until > v->preempt_floor ? until : v->preempt_floor;
}
