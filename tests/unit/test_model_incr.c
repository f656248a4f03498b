/*
 * test_model_incr.c - incremental publication: a change builds a new
 * version of its own service only (other services keep their version and
 * scheduler state), schedulers carry their position through add/upd/del
 * hooks as the kernel's do, the RCU index finds services among many,
 * health states and owners, undo of whole batches, change notifications
 * for changed states only, and gc bounded by the grace-period generation.
 */
#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "model.h"
#include "rules.h"
#include "sched.h"
#include "test_model_util.h"

/* A TCP service with scheduler sched. */
static struct lvs_svc_conf tcp_svc(const char *addr, int port, const char *sched)
{
	struct lvs_svc_conf c = t_svc4(addr, port, IPPROTO_TCP);

	snprintf(c.sched, sizeof(c.sched), "%s", sched);
	return c;
}

/* A NAT destination addr:80 of the given weight. */
static struct lvs_dest_conf nat_dest(const char *addr, int weight)
{
	struct lvs_dest_conf d = t_dest4(addr, 80);

	d.fwd = LVS_FWD_MASQ;
	d.weight = weight;
	return d;
}

static struct lvs_service *find(struct lvs_model *m, const struct lvs_svc_conf *c)
{
	return lvs_svc_lookup(lvs_model_snapshot(m), c->af, c->proto, &c->addr, c->port, 0);
}

/* The last octet of the destination a pick chose (0 when none). */
static int pick(struct lvs_model *m, const struct lvs_svc_conf *c)
{
	struct lvs_pkt_info pi;
	struct lvs_dest *d;

	memset(&pi, 0, sizeof(pi));
	pi.af = AF_INET;
	pi.proto = IPPROTO_TCP;
	pi.saddr = t_ip4("203.0.113.7");
	pi.daddr = c->addr;
	pi.dport = c->port;
	d = lvs_sched_pick(find(m, c), &pi, 0);
	return d ? (int)(ntohl(d->c.addr.ip4) & 0xff) : 0;
}

static char *save(struct lvs_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(lvs_rules_save(lvs_model_snapshot(m), f), 0);
	fclose(f);
	return buf;
}

/* A change to service A leaves service B's version (and so its rr
 * position and mh table) exactly as it was. */
static void test_other_services_untouched(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "rr"), b = tcp_svc("10.0.0.2", 80, "rr");
	struct lvs_svc_conf c = tcp_svc("10.0.0.3", 80, "mh");
	struct lvs_svc_key ka = t_svc_key(&a), kb = t_svc_key(&b), kc = t_svc_key(&c);
	struct lvs_service *bv, *cv;
	void *ctab;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_service(m, &b), 0);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	for (int i = 1; i <= 3; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "192.168.1.%d", i);
		struct lvs_dest_conf d = nat_dest(ip, 1);
		assert_int_equal(lvs_model_add_dest(m, &ka, &d), 0);
		assert_int_equal(lvs_model_add_dest(m, &kb, &d), 0);
		assert_int_equal(lvs_model_add_dest(m, &kc, &d), 0);
	}
	/* newest first: .3 .2 .1 */
	assert_int_equal(pick(m, &b), 3);
	assert_int_equal(pick(m, &b), 2);
	bv = find(m, &b);
	cv = find(m, &c);
	ctab = cv->sched_data;
	{
		struct lvs_dest_conf d = nat_dest("192.168.1.9", 5);
		struct lvs_dest_conf one = nat_dest("192.168.1.1", 7);
		assert_int_equal(lvs_model_add_dest(m, &ka, &d), 0);
		assert_int_equal(lvs_model_edit_dest(m, &ka, &one), 0);
		assert_int_equal(lvs_model_del_dest(m, &ka, &d), 0);
	}
	assert_ptr_equal(find(m, &b), bv);
	assert_ptr_equal(find(m, &c), cv);
	assert_ptr_equal(find(m, &c)->sched_data, ctab);
	/* B continues its rotation where it was */
	assert_int_equal(pick(m, &b), 1);
	assert_int_equal(pick(m, &b), 3);
	lvs_model_free(m);
}

/* rr keeps its position across changes of its own service, and steps
 * back one when the destination it was on is deleted (kernel rr). */
static void test_rr_position_carried(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "rr");
	struct lvs_svc_key k = t_svc_key(&a);
	struct lvs_dest_conf d1 = nat_dest("192.168.1.1", 1), d2 = nat_dest("192.168.1.2", 1),
			     d3 = nat_dest("192.168.1.3", 1), d4 = nat_dest("192.168.1.4", 1);
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d1), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d2), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d3), 0);
	/* list .3 .2 .1 */
	assert_int_equal(pick(m, &a), 3);
	assert_int_equal(pick(m, &a), 2);
	/* a new head (.4) does not restart the rotation: next is .1 */
	assert_int_equal(lvs_model_add_dest(m, &k, &d4), 0);
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 4);
	assert_int_equal(pick(m, &a), 3);
	/* a weight change keeps the position */
	d2.weight = 3;
	assert_int_equal(lvs_model_edit_dest(m, &k, &d2), 0);
	assert_int_equal(pick(m, &a), 2);
	/* deleting the current one: the cursor steps back to .3, so .1 is next */
	assert_int_equal(lvs_model_del_dest(m, &k, &d2), 0);
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 4);
	lvs_model_free(m);
}

/* wrr: the kernel's dest_changed keeps the current weight level and
 * restarts at the head. */
static void test_wrr_level_carried(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "wrr");
	struct lvs_svc_key k = t_svc_key(&a);
	struct lvs_dest_conf c = nat_dest("192.168.1.3", 2), b = nat_dest("192.168.1.2", 3),
			     x = nat_dest("192.168.1.4", 1), first = nat_dest("192.168.1.1", 4);
	(void)state;

	/* built in one batch: a fresh scheduler starts at the top level */
	assert_int_equal(lvs_model_begin(m), 0);
	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &b), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &first), 0);
	assert_int_equal(lvs_model_commit(m), 0);
	/* 4,3,2 in list order .1 .2 .3: A A B A B C ... */
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 2);
	/* now at level 3; adding .4 (weight 1, at the head) keeps level 3 and
	 * restarts at the head: the next pick is the first with weight >= 3 */
	assert_int_equal(lvs_model_add_dest(m, &k, &x), 0);
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 2);
	/* level 2 from the head: .1 .2 .3, then level 1 with .4 first */
	assert_int_equal(pick(m, &a), 1);
	assert_int_equal(pick(m, &a), 2);
	assert_int_equal(pick(m, &a), 3);
	assert_int_equal(pick(m, &a), 4);
	lvs_model_free(m);
}

/* Thousands of services: each is found, deletions leave tombstones that
 * lookups pass, re-adding reuses the index, growth keeps everything. */
static void test_index_many(void **state)
{
	struct lvs_model *m = lvs_model_new();
	enum { N = 5000 };
	(void)state;

	assert_int_equal(lvs_model_begin(m), 0);
	for (int i = 0; i < N; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		struct lvs_svc_conf c = tcp_svc(ip, 80 + i % 3, "wlc");
		assert_int_equal(lvs_model_add_service(m, &c), 0);
	}
	assert_int_equal(lvs_model_commit(m), 0);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, N);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			char ip[32];
			snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
			struct lvs_svc_conf c = tcp_svc(ip, 80 + i % 3, "wlc");
			struct lvs_svc_key k = t_svc_key(&c);
			bool gone = (i + round) % 2 == 0;
			if (round > 0 && gone) {
				assert_int_equal(lvs_model_del_service(m, &k), 0);
				assert_null(find(m, &c));
				assert_int_equal(lvs_model_add_service(m, &c), 0);
			}
			assert_non_null(find(m, &c));
			c.port = htons(81 + i % 3); /* a neighbour key is not found */
			assert_null(find(m, &c));
		}
	}
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, N);
	assert_int_equal(lvs_model_flush(m), 0);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 0);
	{
		struct lvs_svc_conf c = tcp_svc("10.0.0.1", 80, "wlc");
		assert_null(find(m, &c));
	}
	lvs_model_free(m);
}

/* Health: down leaves the service (listings omit it, its state stays
 * while in the configuration), quiesced lists weight 0, the configured
 * weight survives both and lvsadm -e changes it meanwhile. */
static void test_health(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "wrr");
	struct lvs_svc_key k = t_svc_key(&a);
	struct lvs_dest_conf d1 = nat_dest("192.168.1.1", 5), d2 = nat_dest("192.168.1.2", 2), got;
	struct lvs_dest_state *st2;
	enum lvs_dest_health h;
	char why[64];
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d1), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d2), 0);
	st2 = find(m, &a)->dests[0]->st;
	assert_int_equal(lvs_model_set_dest_health(m, &k, &d2, LVS_DEST_DOWN, "connect timeout"),
			 0);
	assert_int_equal(find(m, &a)->ndests, 1);
	assert_null(st2->cur);
	assert_false(st2->flags & LVS_DEST_F_AVAILABLE);
	assert_true(st2->flags & LVS_DEST_F_INCONF);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pick(m, &a), 1);
	/* gc keeps a state that is down but configured */
	lvs_model_gc(m);
	assert_int_equal(lvs_model_get_dest(m, &k, &d2, &got, &h, why, sizeof(why)), 0);
	assert_int_equal(h, LVS_DEST_DOWN);
	assert_string_equal(why, "connect timeout");
	/* -e while down changes the configured weight, not the listing */
	d2.weight = 9;
	assert_int_equal(lvs_model_edit_dest(m, &k, &d2), 0);
	assert_int_equal(find(m, &a)->ndests, 1);
	assert_int_equal(lvs_model_set_dest_health(m, &k, &d2, LVS_DEST_QUIESCED, "inhibited"), 0);
	assert_int_equal(find(m, &a)->ndests, 2);
	assert_int_equal(find(m, &a)->dests[0]->c.weight, 0);
	assert_ptr_equal(find(m, &a)->dests[0]->st, st2); /* the same state again */
	assert_int_equal(lvs_model_set_dest_health(m, &k, &d2, LVS_DEST_UP, NULL), 0);
	assert_int_equal(find(m, &a)->dests[0]->c.weight, 9);
	assert_int_equal(lvs_model_get_dest(m, &k, &d2, &got, &h, NULL, 0), 0);
	assert_int_equal(got.weight, 9);
	assert_int_equal(h, LVS_DEST_UP);
	/* setting the same health again publishes nothing */
	{
		uint64_t gen = lvs_model_gen(m);
		assert_int_equal(lvs_model_set_dest_health(m, &k, &d2, LVS_DEST_UP, NULL), 0);
		assert_int_equal(lvs_model_gen(m), gen);
	}
	assert_int_equal(lvs_model_set_dest_health(m, &k, &d2, 7, NULL), -EINVAL);
	{
		struct lvs_dest_conf nx = nat_dest("192.168.1.99", 1);
		assert_int_equal(lvs_model_set_dest_health(m, &k, &nx, LVS_DEST_DOWN, NULL),
				 -ENOENT);
	}
	lvs_model_free(m);
}

static void test_owner(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "wlc"), b = tcp_svc("10.0.0.2", 80, "wlc");
	struct lvs_svc_key ka = t_svc_key(&a), kb = t_svc_key(&b);
	struct lvs_dest_conf d = nat_dest("192.168.1.1", 1), got;
	(void)state;

	a.owner = LVS_OWNER_CONFIG;
	d.owner = LVS_OWNER_CONFIG;
	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_service(m, &b), 0);
	assert_int_equal(lvs_model_add_dest(m, &ka, &d), 0);
	assert_int_equal(lvs_model_get_svc_owner(m, &ka), LVS_OWNER_CONFIG);
	assert_int_equal(lvs_model_get_svc_owner(m, &kb), LVS_OWNER_ADMIN);
	assert_int_equal(find(m, &a)->owner, LVS_OWNER_CONFIG);
	/* an edit by lvsadm does not take the destination over */
	d.owner = LVS_OWNER_ADMIN;
	d.weight = 4;
	assert_int_equal(lvs_model_edit_dest(m, &ka, &d), 0);
	assert_int_equal(lvs_model_get_dest(m, &ka, &d, &got, NULL, NULL, 0), 0);
	assert_int_equal(got.owner, LVS_OWNER_CONFIG);
	assert_int_equal(got.weight, 4);
	lvs_model_free(m);
}

/* A batch of every kind of change, aborted, leaves the model as it was
 * (the saved rules are identical), and the index still finds everything. */
static void test_batch_abort_everything(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "rr"), b = tcp_svc("10.0.0.2", 80, "wlc");
	struct lvs_svc_conf c = tcp_svc("10.0.0.3", 80, "sh");
	struct lvs_svc_key ka = t_svc_key(&a), kb = t_svc_key(&b), kc = t_svc_key(&c);
	struct lvs_dest_conf d1 = nat_dest("192.168.1.1", 1), d2 = nat_dest("192.168.1.2", 2);
	struct lvs_timeouts to = {.tcp = 77};
	struct lvs_service *av, *bv;
	char *before, *after;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_service(m, &b), 0);
	assert_int_equal(lvs_model_add_dest(m, &ka, &d1), 0);
	assert_int_equal(lvs_model_add_dest(m, &ka, &d2), 0);
	assert_int_equal(lvs_model_add_dest(m, &kb, &d1), 0);
	before = save(m);
	av = find(m, &a);
	bv = find(m, &b);
	assert_int_equal(lvs_model_begin(m), 0);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &kc, &d1), 0);
	assert_int_equal(lvs_model_del_dest(m, &ka, &d1), 0);
	d2.weight = 50;
	assert_int_equal(lvs_model_edit_dest(m, &ka, &d2), 0);
	assert_int_equal(lvs_model_set_dest_health(m, &ka, &d2, LVS_DEST_DOWN, "x"), 0);
	assert_int_equal(lvs_model_del_service(m, &kb), 0);
	assert_int_equal(lvs_model_add_service(m, &b), 0); /* again, empty */
	assert_int_equal(lvs_model_set_timeouts(m, &to), 0);
	assert_int_equal(lvs_model_flush(m), 0);
	assert_int_equal(lvs_model_add_service(m, &a), 0);
	/* nothing was published meanwhile */
	assert_ptr_equal(find(m, &a), av);
	assert_ptr_equal(find(m, &b), bv);
	assert_null(find(m, &c));
	lvs_model_abort(m);
	after = save(m);
	assert_string_equal(before, after);
	assert_ptr_equal(find(m, &a), av);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp, 900);
	/* the configuration records are back too: operations see them */
	assert_int_equal(lvs_model_add_dest(m, &ka, &d1), -EEXIST);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_del_dest(m, &kb, &d1), 0);
	free(before);
	free(after);
	lvs_model_free(m);
}

struct seen {
	int svc, dest, svc_gone, dest_gone;
};

static void on_svc(void *arg, const struct lvs_svc_state *ss, bool gone)
{
	struct seen *s = arg;
	(void)ss;
	if (gone)
		s->svc_gone++;
	else
		s->svc++;
}

static void on_dest(void *arg, const struct lvs_dest_state *ds, bool gone)
{
	struct seen *s = arg;
	(void)ds;
	if (gone)
		s->dest_gone++;
	else
		s->dest++;
}

/* Change notifications name the changed service's states, not all. */
static void test_watch_is_incremental(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct seen s = {0};
	struct lvs_model_watch w = {.svc = on_svc, .dest = on_dest, .arg = &s};
	struct lvs_dest_conf d1 = nat_dest("192.168.1.1", 1);
	struct lvs_svc_key k0;
	(void)state;

	for (int i = 0; i < 100; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
		struct lvs_svc_conf c = tcp_svc(ip, 80, "wlc");
		struct lvs_svc_key k = t_svc_key(&c);
		assert_int_equal(lvs_model_add_service(m, &c), 0);
		assert_int_equal(lvs_model_add_dest(m, &k, &d1), 0);
		if (i == 0)
			k0 = k;
	}
	lvs_model_set_watch(m, &w);
	assert_int_equal(s.svc, 100);
	assert_int_equal(s.dest, 100);
	memset(&s, 0, sizeof(s));
	d1.weight = 3;
	assert_int_equal(lvs_model_edit_dest(m, &k0, &d1), 0);
	assert_int_equal(s.svc, 1);
	assert_true(s.dest >= 1 && s.dest <= 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(lvs_model_del_service(m, &k0), 0);
	assert_int_equal(s.svc, 1);
	lvs_model_gc(m);
	assert_int_equal(s.dest_gone, 1);
	assert_int_equal(s.svc_gone, 1);
	lvs_model_set_watch(m, NULL);
	lvs_model_free(m);
}

/* gc frees a deleted destination's state only once a grace period that
 * started after its unpublication has passed. */
static void test_gc_waits_for_grace(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf a = tcp_svc("10.0.0.1", 80, "wlc");
	struct lvs_svc_key k = t_svc_key(&a);
	struct lvs_dest_conf d1 = nat_dest("192.168.1.1", 1);
	uint64_t before;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d1), 0);
	before = lvs_model_gen(m);
	assert_int_equal(lvs_model_del_dest(m, &k, &d1), 0);
	assert_int_equal(lvs_model_trash(m, NULL, NULL), 1);
	lvs_model_gc_upto(m, before); /* a grace period from before the delete */
	assert_int_equal(lvs_model_trash(m, NULL, NULL), 1);
	lvs_model_gc_upto(m, lvs_model_gen(m) + 1);
	assert_int_equal(lvs_model_trash(m, NULL, NULL), 0);
	lvs_model_free(m);
}

/* A batch's versions built ahead in pieces (lvs_model_prepare): nothing
 * is published before the commit, a service changed after its version was
 * built is built again, and an abort frees what was built (ASan). */
static void test_prepare_in_pieces(void **state)
{
	struct lvs_model *m = lvs_model_new();
	char addr[32];
	uint64_t gen;
	int rc, rounds = 0;

	(void)state;
	assert_non_null(m);
	gen = lvs_model_snapshot(m)->gen;
	assert_int_equal(lvs_model_begin(m), 0);
	for (int i = 0; i < 10; i++) {
		struct lvs_svc_conf c;
		struct lvs_svc_key k;

		snprintf(addr, sizeof(addr), "10.9.0.%d", i + 1);
		c = tcp_svc(addr, 80, "rr");
		k = t_svc_key(&c);
		assert_int_equal(lvs_model_add_service(m, &c), 0);
		{
			struct lvs_dest_conf d = nat_dest("192.168.1.1", 1);
			assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
		}
	}
	while ((rc = lvs_model_prepare(m, 3)) == 1)
		rounds++;
	assert_int_equal(rc, 0);
	assert_int_equal(rounds, 3); /* 10 services, 3 at a time */
	assert_int_equal(lvs_model_snapshot(m)->gen, gen);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 0);
	/* a change after the build: that service is built again */
	{
		struct lvs_svc_conf c = tcp_svc("10.9.0.1", 80, "rr");
		struct lvs_svc_key k = t_svc_key(&c);
		struct lvs_dest_conf d = nat_dest("192.168.1.2", 5);

		assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
		assert_int_equal(lvs_model_prepare(m, 1), 0);
		assert_int_equal(lvs_model_commit(m), 0);
		assert_int_equal(lvs_model_snapshot(m)->nsvcs, 10);
		assert_int_equal(lvs_svc_lookup(lvs_model_snapshot(m), AF_INET, IPPROTO_TCP,
		                                &c.addr, c.port, 0)->ndests, 2);
	}
	/* abort after a partial build: nothing published, nothing leaked */
	gen = lvs_model_snapshot(m)->gen;
	assert_int_equal(lvs_model_begin(m), 0);
	assert_int_equal(lvs_model_flush(m), 0);
	for (int i = 0; i < 5; i++) {
		struct lvs_svc_conf c;

		snprintf(addr, sizeof(addr), "10.8.0.%d", i + 1);
		c = tcp_svc(addr, 80, "wlc");
		assert_int_equal(lvs_model_add_service(m, &c), 0);
	}
	assert_int_equal(lvs_model_prepare(m, 2), 1);
	lvs_model_abort(m);
	assert_int_equal(lvs_model_snapshot(m)->gen, gen);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 10);
	lvs_model_free(m);
}

/* The gc in bounded pieces: a flushed table is collected a few states
 * per call, and it says when it stopped early. */
static void test_gc_in_pieces(void **state)
{
	struct lvs_model *m = lvs_model_new();
	int calls = 0;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < 5; i++) {
		char addr[32];
		struct lvs_svc_conf c;
		struct lvs_svc_key k;

		snprintf(addr, sizeof(addr), "10.7.0.%d", i + 1);
		c = tcp_svc(addr, 80, "wlc");
		k = t_svc_key(&c);
		assert_int_equal(lvs_model_add_service(m, &c), 0);
		for (int j = 0; j < 2; j++) {
			char rs[32];
			struct lvs_dest_conf d;

			snprintf(rs, sizeof(rs), "192.168.7.%d", j + 1);
			d = nat_dest(rs, 1);
			assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
		}
	}
	uint64_t tg = lvs_model_trash_gen(m);
	assert_int_equal(lvs_model_flush(m), 0);
	assert_int_equal(lvs_model_trash(m, NULL, NULL), 10);
	/* the trash changed: its generation says so without a walk */
	assert_true(lvs_model_trash_gen(m) != tg);
	tg = lvs_model_trash_gen(m);
	while (lvs_model_gc_some(m, lvs_model_gen(m) + 1, 4)) {
		calls++;
		assert_true(calls < 10);
	}
	/* 10 destination states and 5 service states, 4 at a time */
	assert_int_equal(calls, 3);
	assert_int_equal(lvs_model_trash(m, NULL, NULL), 0);
	assert_true(lvs_model_trash_gen(m) != tg);
	tg = lvs_model_trash_gen(m);
	assert_false(lvs_model_gc_some(m, lvs_model_gen(m) + 1, 4));
	assert_int_equal(lvs_model_trash_gen(m), tg);
	lvs_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_services_untouched),
		cmocka_unit_test(test_prepare_in_pieces),
		cmocka_unit_test(test_gc_in_pieces),
		cmocka_unit_test(test_rr_position_carried),
		cmocka_unit_test(test_wrr_level_carried),
		cmocka_unit_test(test_index_many),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_batch_abort_everything),
		cmocka_unit_test(test_watch_is_incremental),
		cmocka_unit_test(test_gc_waits_for_grace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
