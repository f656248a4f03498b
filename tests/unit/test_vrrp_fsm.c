/*
 * test_vrrp_fsm.c - the VRRP state machine (RFC 5798 6.4, RFC 3768 6.4)
 * with a fake clock: startup, Master_Down_Interval with its exact Skew_Time,
 * preemption and the equal-priority tie-break, nopreempt and preempt_delay,
 * priority 0 on shutdown, FAULT, learning Master_Adver_Interval, the
 * instance checks of RFC 5798 7.1, and two routers talking through the codec.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test_util.h"
#include "vrrp_fsm.h"

#define SEC  1000000000ull
#define MSEC 1000000ull
#define T0   (1000 * SEC) /* the fake clock starts far from zero */

static struct vrrp_action acts[VRRP_MAX_ACTIONS];

static struct vrrp_inst_conf conf(uint8_t version, uint8_t prio)
{
	struct vrrp_inst_conf c;

	memset(&c, 0, sizeof(c));
	c.version = version;
	c.af = AF_INET;
	c.vrid = 51;
	c.priority = prio;
	c.adver_int_cs = 100;
	c.preempt = true;
	c.primary = t_ip4("10.0.0.5");
	c.naddr = 1;
	c.addrs[0] = t_ip4("10.0.0.100");
	return c;
}

/* Static: an instance carries 255 addresses of room. */
static struct vrrp_inst *inst(const struct vrrp_inst_conf *c)
{
	static struct vrrp_inst v[2];
	static unsigned next;
	struct vrrp_inst *p = &v[next++ & 1];

	assert_int_equal(vrrp_fsm_init(p, c), 0);
	assert_int_equal(p->state, VRRP_STATE_INIT);
	assert_int_equal(vrrp_fsm_next_deadline(p), UINT64_MAX);
	return p;
}

/* An advert from a peer of the instance's family, version and VRID. */
static struct vrrp_adv peer(const struct vrrp_inst *v, uint8_t prio)
{
	struct vrrp_adv a;

	vrrp_fsm_advert(v, prio, &a);
	return a;
}

static void expect_act(unsigned i, enum vrrp_action_kind kind)
{
	assert_int_equal(acts[i].kind, kind);
}

/* The three actions of a transition to MASTER, in order. */
static void expect_became_master(unsigned n, const struct vrrp_inst *v, enum vrrp_state from)
{
	assert_int_equal(n, 3);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, v->conf.priority);
	expect_act(1, VRRP_ACT_BECOME_MASTER);
	assert_int_equal(acts[1].from, from);
	expect_act(2, VRRP_ACT_SEND_GARP);
	assert_int_equal(v->state, VRRP_STATE_MASTER);
}

static unsigned tick(struct vrrp_inst *v, uint64_t now)
{
	return vrrp_fsm_tick(v, now, acts, VRRP_MAX_ACTIONS);
}

static unsigned rx(struct vrrp_inst *v, const struct vrrp_adv *a, const char *src, uint64_t now)
{
	union lvs_addr s = t_ip4(src);

	return vrrp_fsm_rx(v, a, &s, now, acts, VRRP_MAX_ACTIONS);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vrrp_state_name(VRRP_STATE_INIT), "INIT");
	assert_string_equal(vrrp_state_name(VRRP_STATE_BACKUP), "BACKUP");
	assert_string_equal(vrrp_state_name(VRRP_STATE_MASTER), "MASTER");
	assert_string_equal(vrrp_state_name(VRRP_STATE_FAULT), "FAULT");
	assert_string_equal(vrrp_state_name(42), "UNKNOWN");
}

static void test_conf_check(void **state)
{
	struct vrrp_inst_conf c;
	struct vrrp_inst v;

	(void)state;
	c = conf(3, 100);
	assert_int_equal(vrrp_conf_check(&c), 0);
	c.vrid = 0;
	assert_int_equal(vrrp_fsm_init(&v, &c), -EINVAL);
	c = conf(3, 0);
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
	c = conf(3, 100);
	c.adver_int_cs = 4096;
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
	c = conf(2, 100);
	c.af = AF_INET6;
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
	c = conf(2, 100);
	c.adver_int_cs = 50;
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
	c = conf(2, 100);
	c.auth_type = VRRP_AUTH_AH;
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
	c = conf(4, 100);
	assert_int_equal(vrrp_conf_check(&c), -EINVAL);
}

/* RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256
 * centiseconds; Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time. */
static void test_startup_backup_times_out_v3(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v;
	/* 156 * 300 cs / 256 = 182.8125 cs */
	const uint64_t skew = 1828125000ull, down = 9 * SEC + skew;

	(void)state;
	c.adver_int_cs = 300;
	v = inst(&c);
	assert_int_equal(vrrp_skew_ns(v), skew);
	assert_int_equal(vrrp_master_down_ns(v), down);
	assert_int_equal(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(acts[0].from, VRRP_STATE_INIT);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + down);
	/* a second start is ignored */
	assert_int_equal(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), 0);

	assert_int_equal(tick(v, T0 + down - 1), 0);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	expect_became_master(tick(v, T0 + down), v, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + down + 3 * SEC);
	assert_int_equal(v->stats.became_master, 1);

	/* then an advert every Advertisement_Interval */
	assert_int_equal(tick(v, T0 + down + 3 * SEC - 1), 0);
	assert_int_equal(tick(v, T0 + down + 3 * SEC), 1);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 100);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + down + 6 * SEC);
	assert_int_equal(v->stats.tx_adverts, 2);
}

/* RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds, whatever the
 * advertisement interval. */
static void test_startup_backup_times_out_v2(void **state)
{
	struct vrrp_inst_conf c = conf(2, 200);
	struct vrrp_inst *v;
	const uint64_t skew = 218750000ull, down = 6 * SEC + skew; /* 56/256 s */

	(void)state;
	c.adver_int_cs = 200;
	v = inst(&c);
	assert_int_equal(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), 1);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + down);
	assert_int_equal(tick(v, T0 + down - 1), 0);
	expect_became_master(tick(v, T0 + down), v, VRRP_STATE_BACKUP);
}

static void test_owner_starts_master(void **state)
{
	struct vrrp_inst_conf c = conf(3, 255);
	struct vrrp_inst *v = inst(&c);
	struct vrrp_adv a = peer(v, 254);

	(void)state;
	expect_became_master(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), v, VRRP_STATE_INIT);
	assert_int_equal(acts[0].priority, 255);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + SEC);
	/* RFC 5798 7.1: the owner discards every advert */
	assert_int_equal(rx(v, &a, "10.0.0.200", T0 + 1), 0);
	assert_int_equal(v->stats.drops[VRRP_DROP_OWNER], 1);
	assert_int_equal(v->state, VRRP_STATE_MASTER);
}

/* keepalived's "state MASTER": wait one interval plus the smallest skew. */
static void test_want_master(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v;

	(void)state;
	c.want_master = true;
	v = inst(&c);
	assert_int_equal(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + SEC + 3906250); /* 100 cs / 256 */
	expect_became_master(tick(v, T0 + SEC + 3906250), v, VRRP_STATE_BACKUP);
}

/* Become master by timing out at T0 + Master_Down_Interval; returns then. */
static uint64_t make_master(struct vrrp_inst *v)
{
	uint64_t t;

	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	t = vrrp_fsm_next_deadline(v);
	expect_became_master(tick(v, t), v, VRRP_STATE_BACKUP);
	return t;
}

static void test_master_yields_to_higher(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	uint64_t t = make_master(v);
	struct vrrp_adv a = peer(v, 99);

	(void)state;
	/* lower (another master: a split brain healing): still master, and
	 * it advertises and announces again at once */
	assert_int_equal(rx(v, &a, "10.0.0.200", t + 1), 2);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 100);
	expect_act(1, VRRP_ACT_SEND_GARP);
	assert_int_equal(vrrp_fsm_next_deadline(v), t + 1 + SEC);
	assert_int_equal(v->state, VRRP_STATE_MASTER);
	assert_int_equal(v->stats.rx_lower_discarded, 1);

	a.priority = 101;
	/* one last advert of ours (the winner learns of the split brain),
	 * then BACKUP */
	assert_int_equal(rx(v, &a, "10.0.0.1", t + 2), 2);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 100);
	expect_act(1, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(acts[1].from, VRRP_STATE_MASTER);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), t + 2 + vrrp_master_down_ns(v));
	/* no advert timer any more */
	assert_int_equal(tick(v, t + 2 + SEC), 0);
}

/* RFC 5798 6.4.3: equal priorities, the greater primary address wins,
 * compared as unsigned integers (10.0.0.10 > 10.0.0.5). */
static void test_equal_priority_tie_break(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	uint64_t t = make_master(v);
	struct vrrp_adv a = peer(v, 100);

	(void)state;
	assert_int_equal(rx(v, &a, "10.0.0.4", t + 1), 2); /* lower: re-announce */
	assert_int_equal(v->state, VRRP_STATE_MASTER);
	assert_int_equal(rx(v, &a, "10.0.0.5", t + 2), 0); /* ourselves, looped back */
	assert_int_equal(v->state, VRRP_STATE_MASTER);
	assert_int_equal(rx(v, &a, "10.0.0.10", t + 3), 2);
	expect_act(1, VRRP_ACT_BECOME_BACKUP);

	/* IPv6 alike: fe80::10 > fe80::9 */
	c = conf(3, 100);
	c.af = AF_INET6;
	c.primary = t_ip6("fe80::9");
	c.addrs[0] = t_ip6("2001:db8::100");
	v = inst(&c);
	t = make_master(v);
	a = peer(v, 100);
	union lvs_addr lo = t_ip6("fe80::8"), hi = t_ip6("fe80::10");
	assert_int_equal(vrrp_fsm_rx(v, &a, &lo, t + 1, acts, VRRP_MAX_ACTIONS), 2);
	assert_int_equal(vrrp_fsm_rx(v, &a, &hi, t + 2, acts, VRRP_MAX_ACTIONS), 2);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
}

/* A master advertising every second from a lower priority, until until. */
static void feed_lower_master(struct vrrp_inst *v, uint64_t from, uint64_t until, uint64_t *last)
{
	struct vrrp_adv a = peer(v, 100);

	for (uint64_t t = from; t < until; t += SEC) {
		assert_int_equal(tick(v, t), 0);
		assert_int_equal(rx(v, &a, "10.0.0.1", t), 0);
		*last = t;
	}
}

static void test_preempt_and_nopreempt(void **state)
{
	struct vrrp_inst_conf c = conf(3, 200);
	struct vrrp_inst *v;
	struct vrrp_adv a;
	uint64_t last = 0;

	(void)state;
	/* preempt: a lower master's adverts are discarded, so it times out */
	v = inst(&c);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	a = peer(v, 100);
	assert_int_equal(rx(v, &a, "10.0.0.1", T0 + SEC), 0);
	assert_int_equal(v->stats.rx_lower_discarded, 1);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + vrrp_master_down_ns(v));

	/* nopreempt: the lower master keeps the addresses for good */
	c.preempt = false;
	v = inst(&c);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	feed_lower_master(v, T0 + SEC, T0 + 100 * SEC, &last);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), last + vrrp_master_down_ns(v));
	assert_int_equal(v->stats.rx_lower_discarded, 0);
	assert_int_equal(v->stats.became_master, 0);
}

/* keepalived's preempt_delay: no preemption for that long after the start,
 * then the lower master is left to time out. */
static void test_preempt_delay(void **state)
{
	struct vrrp_inst_conf c = conf(3, 200);
	struct vrrp_inst *v;
	uint64_t last = 0, down;

	(void)state;
	c.preempt_delay_ns = 10 * SEC;
	v = inst(&c);
	down = vrrp_master_down_ns(v);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	feed_lower_master(v, T0 + SEC, T0 + 10 * SEC, &last);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(v->stats.rx_lower_discarded, 0);
	assert_int_equal(last, T0 + 9 * SEC);

	/* the delay is over: adverts no longer reset the timer */
	feed_lower_master(v, T0 + 10 * SEC, last + down, &last);
	assert_true(v->stats.rx_lower_discarded > 0);
	expect_became_master(tick(v, T0 + 9 * SEC + down), v, VRRP_STATE_BACKUP);
}

/* RFC 5798 6.4.2: priority 0 sets Master_Down_Timer to Skew_Time. */
static void test_prio0_backup_takes_over_after_skew(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	struct vrrp_adv a = peer(v, 150);
	const uint64_t t = T0 + 2 * SEC, skew = 609375000ull; /* 156 * 100 cs / 256 */

	(void)state;
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	assert_int_equal(rx(v, &a, "10.0.0.1", T0 + SEC), 0);
	a.priority = 0;
	assert_int_equal(rx(v, &a, "10.0.0.1", t), 0);
	assert_int_equal(v->stats.rx_prio0, 1);
	assert_int_equal(vrrp_fsm_next_deadline(v), t + skew);
	assert_int_equal(tick(v, t + skew - 1), 0);
	expect_became_master(tick(v, t + skew), v, VRRP_STATE_BACKUP);
}

/* RFC 5798 6.4.3: a master hearing priority 0 advertises at once. */
static void test_prio0_master_answers(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	uint64_t t = make_master(v);
	struct vrrp_adv a = peer(v, 0);

	(void)state;
	assert_int_equal(rx(v, &a, "10.0.0.200", t + 500 * MSEC), 1);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 100);
	assert_int_equal(vrrp_fsm_next_deadline(v), t + 1500 * MSEC);
	assert_int_equal(v->state, VRRP_STATE_MASTER);
}

static void test_shutdown(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	uint64_t t = make_master(v);

	(void)state;
	assert_int_equal(vrrp_fsm_shutdown(v, t + 1, acts, VRRP_MAX_ACTIONS), 2);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 0);
	expect_act(1, VRRP_ACT_BECOME_INIT);
	assert_int_equal(acts[1].from, VRRP_STATE_MASTER);
	assert_int_equal(v->state, VRRP_STATE_INIT);
	assert_int_equal(v->stats.tx_prio0, 1);
	assert_int_equal(vrrp_fsm_next_deadline(v), UINT64_MAX);
	assert_int_equal(tick(v, t + 10 * SEC), 0);
	assert_int_equal(vrrp_fsm_shutdown(v, t + 2, acts, VRRP_MAX_ACTIONS), 0);

	/* a backup just stops: nothing to tell */
	v = inst(&c);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	assert_int_equal(vrrp_fsm_shutdown(v, T0 + 1, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_INIT);
	assert_int_equal(acts[0].from, VRRP_STATE_BACKUP);
}

static void test_fault(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	uint64_t t = make_master(v);
	struct vrrp_adv a = peer(v, 150);

	(void)state;
	assert_int_equal(vrrp_fsm_fault(v, true, t + 1, acts, VRRP_MAX_ACTIONS), 2);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 0);
	expect_act(1, VRRP_ACT_BECOME_FAULT);
	assert_int_equal(acts[1].from, VRRP_STATE_MASTER);
	assert_int_equal(v->state, VRRP_STATE_FAULT);
	/* the same news twice changes nothing */
	assert_int_equal(vrrp_fsm_fault(v, true, t + 2, acts, VRRP_MAX_ACTIONS), 0);
	/* in FAULT: no timers, adverts ignored */
	assert_int_equal(vrrp_fsm_next_deadline(v), UINT64_MAX);
	assert_int_equal(tick(v, t + 100 * SEC), 0);
	assert_int_equal(rx(v, &a, "10.0.0.1", t + 3), 0);
	assert_int_equal(v->stats.drops[VRRP_DROP_INACTIVE], 1);

	/* cleared: back through startup, to BACKUP */
	assert_int_equal(vrrp_fsm_fault(v, false, t + 4, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(acts[0].from, VRRP_STATE_FAULT);
	assert_int_equal(vrrp_fsm_next_deadline(v), t + 4 + vrrp_master_down_ns(v));

	/* a backup goes to FAULT silently */
	assert_int_equal(vrrp_fsm_fault(v, true, t + 5, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_FAULT);
	assert_int_equal(v->stats.became_fault, 2);

	/* faulty before the start: starts in FAULT; the owner comes back MASTER */
	c = conf(3, 255);
	v = inst(&c);
	assert_int_equal(vrrp_fsm_fault(v, true, T0, acts, VRRP_MAX_ACTIONS), 0);
	assert_int_equal(vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS), 1);
	expect_act(0, VRRP_ACT_BECOME_FAULT);
	assert_int_equal(acts[0].from, VRRP_STATE_INIT);
	expect_became_master(vrrp_fsm_fault(v, false, T0 + 1, acts, VRRP_MAX_ACTIONS), v,
	                     VRRP_STATE_FAULT);
}

/* RFC 5798 6.4.2: a v3 backup learns Master_Adver_Interval from the
 * master; the skew follows it.  Version 2 insists on its own interval. */
static void test_learn_interval(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	struct vrrp_adv a = peer(v, 150);
	/* 3 * 200 cs + 156 * 200 cs / 256 */
	const uint64_t down = 6 * SEC + 1218750000ull;

	(void)state;
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	a.adver_int_cs = 200;
	assert_int_equal(rx(v, &a, "10.0.0.1", T0 + SEC), 0);
	assert_int_equal(v->master_adver_int_cs, 200);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + SEC + down);
	expect_became_master(tick(v, T0 + SEC + down), v, VRRP_STATE_BACKUP);
	/* our own adverts keep our interval */
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + 2 * SEC + down);

	/* a master that yields learns it too */
	a.adver_int_cs = 50;
	assert_int_equal(rx(v, &a, "10.0.0.1", T0 + 20 * SEC), 2);
	assert_int_equal(v->master_adver_int_cs, 50);
	assert_int_equal(vrrp_master_down_ns(v), 1500 * MSEC + 304687500ull);
	/* and a restart forgets it */
	vrrp_fsm_shutdown(v, T0 + 21 * SEC, acts, VRRP_MAX_ACTIONS);
	vrrp_fsm_start(v, T0 + 22 * SEC, acts, VRRP_MAX_ACTIONS);
	assert_int_equal(v->master_adver_int_cs, 100);
}

/* The instance checks of RFC 5798 7.1 / RFC 3768 7.1, one reason each. */
static void test_instance_drops(void **state)
{
	struct vrrp_inst_conf c = conf(2, 100);
	struct vrrp_inst *v;
	struct vrrp_adv a;

	(void)state;
	c.auth_type = VRRP_AUTH_PASS;
	memcpy(c.auth_pass, "secret", 6);
	c.check_addrs = true;
	v = inst(&c);
	a = peer(v, 150);
	assert_int_equal(rx(v, &a, "10.0.0.1", T0), 0);
	assert_int_equal(v->stats.drops[VRRP_DROP_INACTIVE], 1);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);

	a.vrid = 52;
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_VRID], 1);
	a = peer(v, 150);
	a.version = 3;
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_VERSION_MISMATCH], 1);
	a = peer(v, 150);
	a.auth_type = VRRP_AUTH_NONE;
	rx(v, &a, "10.0.0.1", T0 + 1);
	a = peer(v, 150);
	a.auth_pass[0] = 'S';
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_AUTH], 2);
	a = peer(v, 150);
	a.adver_int_cs = 200;
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_INT_MISMATCH], 1);
	a = peer(v, 150);
	a.addrs[0] = t_ip4("10.0.0.101");
	rx(v, &a, "10.0.0.1", T0 + 1);
	a = peer(v, 150);
	a.naddr = 2;
	a.addrs[1] = t_ip4("10.0.0.101");
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_ADDR_LIST], 2);
	assert_int_equal(v->stats.rx_adverts, 0);
	/* ...unless the owner sent it (RFC 5798 7.1) */
	a.priority = 255;
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.rx_adverts, 1);
	/* the family is part of the virtual router's identity */
	a = peer(v, 150);
	a.af = AF_INET6;
	rx(v, &a, "10.0.0.1", T0 + 1);
	assert_int_equal(v->stats.drops[VRRP_DROP_VRID], 2);
	/* all still in BACKUP, timer from the owner's advert */
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + 1 + vrrp_master_down_ns(v));
}

static void test_actions_lost(void **state)
{
	struct vrrp_inst_conf c = conf(3, 255);
	struct vrrp_inst *v = inst(&c);
	struct vrrp_action one[1];

	(void)state;
	assert_int_equal(vrrp_fsm_start(v, T0, one, 1), 1);
	assert_int_equal(one[0].kind, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(v->stats.actions_lost, 2);
	assert_int_equal(v->state, VRRP_STATE_MASTER);
}

/* ---- two routers through the codec ---- */

struct router {
	struct vrrp_inst *v;
	union lvs_addr addr;
};

/* Deliver every SEND_ADVERT in acts[0..n) from r to peer, encoded and
 * decoded as on the wire. */
static void deliver(struct router *r, struct router *peer_r, unsigned n, uint64_t now)
{
	const union lvs_addr grp = t_ip4("224.0.0.18");
	struct vrrp_action mine[VRRP_MAX_ACTIONS];
	static struct vrrp_adv a, d;
	uint8_t buf[128];

	memcpy(mine, acts, sizeof(mine));
	for (unsigned i = 0; i < n; i++) {
		if (mine[i].kind != VRRP_ACT_SEND_ADVERT)
			continue;
		vrrp_fsm_advert(r->v, mine[i].priority, &a);
		int len = vrrp_encode(&a, &r->addr, &grp, buf, sizeof(buf));
		assert_true(len > 0);
		assert_int_equal(vrrp_decode(buf, len, AF_INET, &r->addr, &grp, 255, &d), 0);
		unsigned m = vrrp_fsm_rx(peer_r->v, &d, &r->addr, now, acts, VRRP_MAX_ACTIONS);
		deliver(peer_r, r, m, now);
	}
}

/* Step both routers in 10 ms steps from `from` to `to`. */
static void run(struct router *r, uint64_t from, uint64_t to)
{
	for (uint64_t t = from; t <= to; t += 10 * MSEC)
		for (int k = 0; k < 2; k++)
			deliver(&r[k], &r[!k], tick(r[k].v, t), t);
}

static void test_two_routers(void **state)
{
	static struct vrrp_inst va, vb;
	struct vrrp_inst_conf ca = conf(3, 150), cb = conf(3, 100);
	struct router r[2] = {{&va, t_ip4("10.0.0.1")}, {&vb, t_ip4("10.0.0.2")}};

	(void)state;
	ca.primary = r[0].addr;
	cb.primary = r[1].addr;
	assert_int_equal(vrrp_fsm_init(&va, &ca), 0);
	assert_int_equal(vrrp_fsm_init(&vb, &cb), 0);
	/* B starts first and takes over; A arrives later and preempts it */
	vrrp_fsm_start(&vb, T0, acts, VRRP_MAX_ACTIONS);
	run(r, T0, T0 + 5 * SEC);
	assert_int_equal(vb.state, VRRP_STATE_MASTER);
	vrrp_fsm_start(&va, T0 + 5 * SEC, acts, VRRP_MAX_ACTIONS);
	run(r, T0 + 5 * SEC, T0 + 10 * SEC);
	assert_int_equal(va.state, VRRP_STATE_MASTER);
	assert_int_equal(vb.state, VRRP_STATE_BACKUP);
	assert_int_equal(vb.stats.became_master, 1);

	/* A leaves with priority 0: B takes over within its skew, 0.61 s */
	unsigned n = vrrp_fsm_shutdown(&va, T0 + 10 * SEC, acts, VRRP_MAX_ACTIONS);
	deliver(&r[0], &r[1], n, T0 + 10 * SEC);
	run(r, T0 + 10 * SEC, T0 + 10 * SEC + 610 * MSEC);
	assert_int_equal(vb.state, VRRP_STATE_MASTER);
	assert_int_equal(vb.stats.became_master, 2);
}

/* A returning director holds preemption while it pulls the connection
 * table: the lower master keeps the addresses until the hold is lifted,
 * then is left to time out as with preempt. */
static void test_hold_preempt(void **state)
{
	struct vrrp_inst_conf c = conf(3, 200);
	struct vrrp_inst *v = inst(&c);
	uint64_t last = 0;

	(void)state;
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	vrrp_fsm_hold_preempt(v, T0 + 5 * SEC);
	feed_lower_master(v, T0 + SEC, T0 + 5 * SEC, &last);
	assert_int_equal(v->state, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), last + vrrp_master_down_ns(v));
	/* lifted (0): the next lower advert is discarded and the master times out */
	vrrp_fsm_hold_preempt(v, 0);
	{
		struct vrrp_adv a = peer(v, 100);

		assert_int_equal(rx(v, &a, "10.0.0.1", last + SEC), 0);
	}
	assert_int_equal(v->stats.rx_lower_discarded, 1);
	expect_became_master(tick(v, last + vrrp_master_down_ns(v)), v, VRRP_STATE_BACKUP);
}

/* Sync groups: a member forced to MASTER does what a timeout would (advert,
 * addresses, announcements); forced to BACKUP it arms Master_Down; INIT
 * and FAULT members do not move; tracking changes the priority of the next
 * advert but never an owner's. */
static void test_force_and_priority(void **state)
{
	struct vrrp_inst_conf c = conf(3, 100);
	struct vrrp_inst *v = inst(&c);
	unsigned n;

	(void)state;
	assert_int_equal(vrrp_fsm_force(v, VRRP_STATE_MASTER, T0, acts, VRRP_MAX_ACTIONS), 0);
	vrrp_fsm_start(v, T0, acts, VRRP_MAX_ACTIONS);
	expect_became_master(vrrp_fsm_force(v, VRRP_STATE_MASTER, T0 + 1, acts, VRRP_MAX_ACTIONS),
			     v, VRRP_STATE_BACKUP);
	assert_int_equal(vrrp_fsm_force(v, VRRP_STATE_MASTER, T0 + 2, acts, VRRP_MAX_ACTIONS), 0);
	vrrp_fsm_set_priority(v, 90);
	n = tick(v, T0 + 1 + SEC);
	assert_int_equal(n, 1);
	expect_act(0, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(acts[0].priority, 90);
	n = vrrp_fsm_force(v, VRRP_STATE_BACKUP, T0 + 2 * SEC, acts, VRRP_MAX_ACTIONS);
	assert_int_equal(n, 1);
	expect_act(0, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(vrrp_fsm_next_deadline(v), T0 + 2 * SEC + vrrp_master_down_ns(v));
	vrrp_fsm_fault(v, true, T0 + 3 * SEC, acts, VRRP_MAX_ACTIONS);
	assert_int_equal(vrrp_fsm_force(v, VRRP_STATE_MASTER, T0 + 4 * SEC, acts,
					VRRP_MAX_ACTIONS), 0);
	assert_int_equal(v->state, VRRP_STATE_FAULT);

	c = conf(3, 255);
	v = inst(&c);
	vrrp_fsm_set_priority(v, 100);
	assert_int_equal(v->conf.priority, 255);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_conf_check),
	        cmocka_unit_test(test_startup_backup_times_out_v3),
	        cmocka_unit_test(test_startup_backup_times_out_v2),
	        cmocka_unit_test(test_owner_starts_master),
	        cmocka_unit_test(test_want_master),
	        cmocka_unit_test(test_master_yields_to_higher),
	        cmocka_unit_test(test_equal_priority_tie_break),
	        cmocka_unit_test(test_preempt_and_nopreempt),
	        cmocka_unit_test(test_preempt_delay),
	        cmocka_unit_test(test_prio0_backup_takes_over_after_skew),
	        cmocka_unit_test(test_prio0_master_answers),
	        cmocka_unit_test(test_shutdown),
	        cmocka_unit_test(test_fault),
	        cmocka_unit_test(test_learn_interval),
	        cmocka_unit_test(test_instance_drops),
	        cmocka_unit_test(test_actions_lost),
	        cmocka_unit_test(test_two_routers),
	        cmocka_unit_test(test_hold_preempt),
	        cmocka_unit_test(test_force_and_priority),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
