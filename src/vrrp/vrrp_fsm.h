/*
 * vrrp_fsm.h - the per-instance VRRP state machine (RFC 5798 section 6,
 * RFC 3768 section 6 for version 2), with keepalived's additions that
 * users' configurations rely on: nopreempt, preempt_delay, "state MASTER"
 * and the FAULT state of a tracked interface going down.
 *
 * Pure: the caller passes the time (monotonic nanoseconds) and performs the
 * actions each call returns (send an advertisement, announce the addresses,
 * take or release them, run notify scripts).  Nothing here sleeps, reads a
 * clock or touches a socket, so every scenario is a unit test with a fake
 * clock.  One instance is driven from one thread.
 */
#ifndef LVS_VRRP_FSM_H
#define LVS_VRRP_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "lvs_types.h"
#include "vrrp_pkt.h"

/* keepalived's names, as its notify scripts and logs show them. */
enum vrrp_state {
	VRRP_STATE_INIT,
	VRRP_STATE_BACKUP,
	VRRP_STATE_MASTER,
	VRRP_STATE_FAULT,
};

const char *vrrp_state_name(enum vrrp_state s);

enum vrrp_action_kind {
	/* Send an advertisement with this priority (0 when leaving). */
	VRRP_ACT_SEND_ADVERT,
	/* Announce every virtual address: gratuitous ARP for IPv4, unsolicited
	 * Neighbor Advertisements (Router and Override set) for IPv6. */
	VRRP_ACT_SEND_GARP,
	/* State changes: the caller takes the virtual addresses on MASTER and
	 * releases them on any other, and runs the notify scripts. */
	VRRP_ACT_BECOME_MASTER,
	VRRP_ACT_BECOME_BACKUP,
	VRRP_ACT_BECOME_FAULT,
	VRRP_ACT_BECOME_INIT,
};

struct vrrp_action {
	enum vrrp_action_kind kind;
	uint8_t priority;     /* SEND_ADVERT */
	enum vrrp_state from; /* BECOME_*: the state left */
};

/* No call emits more; pass arrays of this size. */
#define VRRP_MAX_ACTIONS 4

struct vrrp_inst_conf {
	uint8_t version;       /* 2 (IPv4 only) or 3 */
	uint8_t af;            /* AF_INET or AF_INET6 */
	uint8_t vrid;          /* 1..255 */
	uint8_t priority;      /* 1..255; 255 = owner of the addresses */
	uint16_t adver_int_cs; /* v3: 1..4095; v2: whole seconds times 100 */
	bool preempt;          /* false = keepalived's nopreempt */
	bool want_master;      /* keepalived's "state MASTER" */
	/* Drop adverts whose address list differs from ours unless sent by the
	 * owner (the optional check of RFC 5798 7.1; keepalived's strict mode). */
	bool check_addrs;
	uint64_t preempt_delay_ns; /* after a start, do not preempt a lower master */
	/* Our primary address on the interface: the adverts' source and our
	 * side of the equal-priority tie-break (RFC 5798 6.4.3). */
	union lvs_addr primary;
	uint8_t auth_type; /* v2: VRRP_AUTH_NONE or VRRP_AUTH_PASS */
	char auth_pass[VRRP_V2_AUTH_LEN];
	uint8_t naddr;
	union lvs_addr addrs[VRRP_MAX_ADDRS];
};

struct vrrp_stats {
	uint64_t rx_adverts; /* accepted by the instance checks */
	uint64_t rx_prio0;
	uint64_t rx_lower_discarded; /* lower-priority adverts ignored (RFC "discard") */
	uint64_t tx_adverts;
	uint64_t tx_prio0;
	uint64_t became_master;
	uint64_t became_backup;
	uint64_t became_fault;
	uint64_t actions_lost; /* a caller passed fewer than VRRP_MAX_ACTIONS slots */
	uint64_t drops[VRRP_DROP__COUNT];
};

struct vrrp_inst {
	struct vrrp_inst_conf conf;
	enum vrrp_state state;
	bool faulty;                  /* a tracked interface or script says so */
	uint16_t master_adver_int_cs; /* v3: learned from the master; v2: ours */
	uint64_t down_at;             /* BACKUP: Master_Down_Timer deadline, 0 = off */
	uint64_t adver_at;            /* MASTER: Adver_Timer deadline, 0 = off */
	uint64_t preempt_after;       /* preemption allowed from this time on */
	uint64_t preempt_floor;       /* the start's preempt_delay ends then */
	struct vrrp_stats stats;
};

/* Check a configuration: 0 or -EINVAL. */
int vrrp_conf_check(const struct vrrp_inst_conf *c);

/* Set up v in INIT from a copy of c.  0 or -EINVAL (c is checked). */
int vrrp_fsm_init(struct vrrp_inst *v, const struct vrrp_inst_conf *c);

/*
 * The calls below feed one event at time now and write at most
 * VRRP_MAX_ACTIONS actions to acts, in the order to perform them; they
 * return how many.  max is the size of acts (VRRP_MAX_ACTIONS).
 */

/* Startup (RFC 5798 6.4.1): the owner becomes MASTER at once, others BACKUP
 * (a faulty instance FAULT).  Ignored unless in INIT. */
unsigned vrrp_fsm_start(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts, unsigned max);

/*
 * A decoded advertisement from IP source src.  Applies the instance checks
 * (counted in stats.drops, no action) then RFC 5798 6.4.2 / 6.4.3.
 */
unsigned vrrp_fsm_rx(struct vrrp_inst *v, const struct vrrp_adv *a, const union lvs_addr *src,
                     uint64_t now, struct vrrp_action *acts, unsigned max);

/* Timers that are due at now: Master_Down_Timer, Adver_Timer. */
unsigned vrrp_fsm_tick(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts, unsigned max);

/* Shutdown: a MASTER sends priority 0 so a backup takes over after its
 * Skew_Time; every state goes to INIT. */
unsigned vrrp_fsm_shutdown(struct vrrp_inst *v, uint64_t now, struct vrrp_action *acts,
                           unsigned max);

/*
 * A tracked interface (or check) went down (faulty) or came back.  Down: a
 * MASTER first sends priority 0, then the instance is FAULT: no adverts, no
 * addresses, received adverts ignored.  Back: the startup logic runs again.
 * Before vrrp_fsm_start only the flag is recorded.
 */
unsigned vrrp_fsm_fault(struct vrrp_inst *v, bool faulty, uint64_t now, struct vrrp_action *acts,
                        unsigned max);

/*
 * A sync group moves together (keepalived's vrrp_sync_group): when one
 * member becomes MASTER or BACKUP the others are forced to the same state.
 * Only MASTER and BACKUP instances move; forcing BACKUP arms the
 * Master_Down_Timer as a received advert would.
 */
unsigned vrrp_fsm_force(struct vrrp_inst *v, enum vrrp_state to, uint64_t now,
                        struct vrrp_action *acts, unsigned max);

/* The effective priority after tracking (keepalived's weights): used by the
 * next advert and election.  1..254; an owner's 255 never changes. */
void vrrp_fsm_set_priority(struct vrrp_inst *v, uint8_t prio);

/* Do not preempt a lower-priority master before until (a director that
 * restarted pulls the connection table from its peer first); 0 or a past
 * time lifts the hold (preempt_delay still applies). */
void vrrp_fsm_hold_preempt(struct vrrp_inst *v, uint64_t until);

/* When vrrp_fsm_tick must run next; UINT64_MAX when no timer is armed. */
uint64_t vrrp_fsm_next_deadline(const struct vrrp_inst *v);

/* Fill an advertisement from the configuration, with priority prio. */
void vrrp_fsm_advert(const struct vrrp_inst *v, uint8_t prio, struct vrrp_adv *out);

/* Skew_Time and Master_Down_Interval in nanoseconds for the instance's
 * priority and current Master_Adver_Interval (RFC 5798 6.1, RFC 3768 6.1). */
uint64_t vrrp_skew_ns(const struct vrrp_inst *v);
uint64_t vrrp_master_down_ns(const struct vrrp_inst *v);

#endif
