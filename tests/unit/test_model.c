/*
 * test_model.c - the service/destination model: defaults, validation,
 * all-or-nothing operations, snapshots, lookup order, destination state
 * surviving deletion, connection accounting and thresholds.
 */
#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "model.h"
#include "sched.h"
#include "test_model_util.h"

static void test_defaults(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	const struct lvs_snapshot *s;
	struct lvs_dest_conf d = t_dest4("192.168.10.1", 80);
	struct lvs_svc_key k = t_svc_key(&c);
	(void)state;

	assert_int_equal(d.fwd, LVS_FWD_ROUTE);
	assert_int_equal(d.weight, 1);
	c.flags = LVS_SVC_F_PERSISTENT; /* bare -p */
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->nsvcs, 1);
	assert_string_equal(s->svcs[0]->c.sched, "wlc");
	assert_int_equal(s->svcs[0]->c.timeout, 360);
	assert_int_equal(s->svcs[0]->c.netmask, 0xffffffffU);
	assert_int_equal(s->svcs[0]->ndests, 1);
	assert_int_equal(s->timeouts.tcp, 900);
	assert_int_equal(s->timeouts.tcp_fin, 120);
	assert_int_equal(s->timeouts.udp, 300);
	lvs_model_free(m);
}

static void test_validation_changes_nothing(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 0, IPPROTO_TCP);
	struct lvs_dest_conf d;
	struct lvs_svc_key k;
	uint64_t gen;
	(void)state;

	/* Port 0 needs persistence. */
	assert_int_equal(lvs_model_add_service(m, &c), -EINVAL);
	c.port = htons(80);
	snprintf(c.sched, sizeof(c.sched), "nosuch");
	assert_int_equal(lvs_model_add_service(m, &c), -ENOENT);
	snprintf(c.sched, sizeof(c.sched), "rr");
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_add_service(m, &c), -EEXIST);
	k = t_svc_key(&c);
	gen = lvs_model_snapshot(m)->gen;

	d = t_dest4("192.168.10.1", 80);
	d.weight = -1;
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -ERANGE);
	d.weight = LVS_MAX_WEIGHT;
	d.u_threshold = 5;
	d.l_threshold = 6;
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -ERANGE);
	d.l_threshold = 0;
	d.af = AF_INET6; /* mixed families only with a tunnel */
	d.addr = t_ip6("fd00::1");
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -EINVAL);
	assert_true(lvs_model_snapshot(m)->gen == gen);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 0);

	d.fwd = LVS_FWD_TUNNEL;
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	d = t_dest4("192.168.10.9", 80);
	assert_int_equal(lvs_model_edit_dest(m, &k, &d), -ENOENT);
	assert_int_equal(lvs_model_del_dest(m, &k, &d), -ENOENT);
	c.port = htons(81);
	k = t_svc_key(&c);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -ESRCH);
	assert_int_equal(lvs_model_del_service(m, &k), -ESRCH);
	assert_int_equal(lvs_model_edit_service(m, &c), -ESRCH);
	assert_string_equal(lvs_model_strerror(LVS_OP_ADD_DEST, -ESRCH), "Service not defined");
	assert_string_equal(lvs_model_strerror(LVS_OP_ADD_SERVICE, -EEXIST),
			    "Service already exists");
	assert_string_equal(lvs_model_strerror(LVS_OP_DEL_DEST, -ENOENT), "No such destination");
	lvs_model_free(m);
}

static void test_dest_order_and_ports(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_key k = t_svc_key(&c);
	struct lvs_dest_conf a = t_dest4("192.168.10.1", 8080), b = t_dest4("192.168.10.2", 0);
	const struct lvs_service *svc;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &c), 0);
	a.fwd = LVS_FWD_MASQ;
	assert_int_equal(lvs_model_add_dest(m, &k, &a), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &b), 0);
	svc = lvs_model_snapshot(m)->svcs[0];
	/* Newest first, as the kernel's list. */
	assert_true(svc->dests[0]->c.addr.ip4 == t_ip4("192.168.10.2").ip4);
	assert_int_equal(svc->dests[0]->pos, 0);
	/* DR forwards to the service's port; NAT keeps its own. */
	assert_int_equal(ntohs(svc->dests[0]->c.port), 80);
	assert_int_equal(ntohs(svc->dests[1]->c.port), 8080);
	assert_int_equal(svc->dests[1]->c.fwd, LVS_FWD_MASQ);
	/* Adding the DR dest again with another port is the same dest. */
	b.port = htons(99);
	assert_int_equal(lvs_model_add_dest(m, &k, &b), -EEXIST);
	lvs_model_free(m);
}

static void test_lookup(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP), p0, fw, u, v6;
	const struct lvs_snapshot *s;
	union lvs_addr vip = t_ip4("10.0.0.1"), other = t_ip4("10.0.0.2");
	struct lvs_service *r;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &c), 0);
	u = t_svc4("10.0.0.1", 80, IPPROTO_UDP);
	assert_int_equal(lvs_model_add_service(m, &u), 0);
	p0 = t_svc4("10.0.0.2", 0, IPPROTO_TCP);
	p0.flags = LVS_SVC_F_PERSISTENT;
	assert_int_equal(lvs_model_add_service(m, &p0), 0);
	fw = t_svcfw(AF_INET, 7);
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	v6 = t_svc6("fd00::1", 80, IPPROTO_TCP);
	assert_int_equal(lvs_model_add_service(m, &v6), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->nsvcs, 5);

	r = lvs_svc_lookup(s, AF_INET, IPPROTO_TCP, &vip, htons(80), 0);
	assert_non_null(r);
	assert_int_equal(r->c.proto, IPPROTO_TCP);
	r = lvs_svc_lookup(s, AF_INET, IPPROTO_UDP, &vip, htons(80), 0);
	assert_non_null(r);
	assert_int_equal(r->c.proto, IPPROTO_UDP);
	assert_null(lvs_svc_lookup(s, AF_INET, IPPROTO_TCP, &vip, htons(81), 0));
	/* Port-zero persistent service catches every port. */
	r = lvs_svc_lookup(s, AF_INET, IPPROTO_TCP, &other, htons(4444), 0);
	assert_non_null(r);
	assert_int_equal(r->c.port, 0);
	/* A fwmark service wins over an address match. */
	r = lvs_svc_lookup(s, AF_INET, IPPROTO_TCP, &vip, htons(80), 7);
	assert_non_null(r);
	assert_int_equal(r->c.fwmark, 7);
	r = lvs_svc_lookup(s, AF_INET, IPPROTO_TCP, &vip, htons(80), 8);
	assert_non_null(r);
	assert_int_equal(r->c.fwmark, 0);
	union lvs_addr v6a = t_ip6("fd00::1");
	r = lvs_svc_lookup(s, AF_INET6, IPPROTO_TCP, &v6a, htons(80), 0);
	assert_non_null(r);
	assert_int_equal(r->c.af, AF_INET6);
	assert_int_equal(r->c.netmask, 128);

	struct lvs_svc_key k = t_svc_key(&u);
	assert_int_equal(lvs_model_del_service(m, &k), 0);
	s = lvs_model_snapshot(m);
	assert_null(lvs_svc_lookup(s, AF_INET, IPPROTO_UDP, &vip, htons(80), 0));
	assert_int_equal(lvs_model_flush(m), 0);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 0);
	lvs_model_free(m);
}

static void test_thresholds_and_accounting(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_key k = t_svc_key(&c);
	struct lvs_dest_conf d = t_dest4("192.168.10.1", 80);
	struct lvs_dest_state *ds;
	struct lvs_dest *dd;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &c), 0);
	d.u_threshold = 4;
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	dd = lvs_model_snapshot(m)->svcs[0]->dests[0];
	ds = dd->st;
	for (int i = 0; i < 3; i++)
		lvs_dest_bind(ds, false, false);
	assert_false(lvs_dest_overloaded(dd));
	lvs_dest_bind(ds, false, false);
	assert_true(lvs_dest_overloaded(dd)); /* 4 >= u_threshold */
	lvs_dest_set_active(ds, true);
	assert_int_equal(lvs_dest_active(dd), 1);
	assert_int_equal(lvs_dest_inactive(dd), 3);
	lvs_dest_unbind(ds, false, false); /* 3 left: 3*4 < 4*3 is false */
	assert_true(lvs_dest_overloaded(dd));
	lvs_dest_unbind(ds, false, true); /* 2 left: below 3/4 of 4 */
	assert_false(lvs_dest_overloaded(dd));
	lvs_dest_bind(ds, true, false);
	assert_int_equal(lvs_dest_persist(dd), 1);
	lvs_dest_unbind(ds, true, false);
	lvs_dest_unbind(ds, false, false);
	lvs_dest_unbind(ds, false, false);

	/* With a lower threshold, overload clears only below it. */
	d.l_threshold = 2;
	assert_int_equal(lvs_model_edit_dest(m, &k, &d), 0);
	dd = lvs_model_snapshot(m)->svcs[0]->dests[0];
	assert_ptr_equal(dd->st, ds); /* state survives the edit */
	for (int i = 0; i < 4; i++)
		lvs_dest_bind(ds, false, false);
	assert_true(lvs_dest_overloaded(dd));
	lvs_dest_unbind(ds, false, false);
	lvs_dest_unbind(ds, false, false);
	assert_true(lvs_dest_overloaded(dd)); /* 2 is not < 2 */
	lvs_dest_unbind(ds, false, false);
	assert_false(lvs_dest_overloaded(dd));
	lvs_model_free(m);
}

static void test_dest_state_survives_delete(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_key k = t_svc_key(&c);
	struct lvs_dest_conf d = t_dest4("192.168.10.1", 80);
	struct lvs_dest_state *ds;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	ds = lvs_model_snapshot(m)->svcs[0]->dests[0]->st;
	lvs_dest_bind(ds, false, false); /* a live connection */
	ds->stats[0].conns = 5;
	assert_int_equal(lvs_model_del_dest(m, &k, &d), 0);
	assert_null(ds->cur);
	assert_false(ds->flags & LVS_DEST_F_AVAILABLE);
	lvs_model_gc(m); /* still referenced: kept */
	assert_int_equal(ds->inactconns, 1);
	/* Adding it back revives the same state (the kernel's trash). */
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	assert_ptr_equal(lvs_model_snapshot(m)->svcs[0]->dests[0]->st, ds);
	assert_true(ds->flags & LVS_DEST_F_AVAILABLE);

	/* Zeroing: counters read back as 0 while workers' sums keep growing. */
	struct lvs_counters sum;
	lvs_dest_state_stats(ds, &sum);
	assert_int_equal(sum.conns, 5);
	assert_int_equal(lvs_model_zero(m, &k), 0);
	lvs_dest_state_stats(ds, &sum);
	assert_int_equal(sum.conns, 0);
	ds->stats[1].conns = 2;
	lvs_dest_state_stats(ds, &sum);
	assert_int_equal(sum.conns, 2);
	lvs_dest_unbind(ds, false, false);
	lvs_model_free(m);
}

static void test_timeouts(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_timeouts t = { .tcp = 0, .tcp_fin = 30, .udp = 0 };
	(void)state;

	assert_int_equal(lvs_model_set_timeouts(m, &t), 0);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp, 900);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp_fin, 30);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.udp, 300);
	lvs_model_free(m);
}

static void test_batch(void **state)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c = t_svc4("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_key k = t_svc_key(&c);
	struct lvs_dest_conf d = t_dest4("192.168.10.1", 80);
	uint64_t gen;
	(void)state;

	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	gen = lvs_model_snapshot(m)->gen;

	/* Aborted batch: nothing published, configuration restored. */
	assert_int_equal(lvs_model_begin(m), 0);
	assert_int_equal(lvs_model_begin(m), -EBUSY);
	assert_int_equal(lvs_model_del_service(m, &k), 0);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -ESRCH);
	assert_true(lvs_model_snapshot(m)->gen == gen);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 1);
	lvs_model_abort(m);
	assert_int_equal(lvs_model_add_dest(m, &k, &d), -EEXIST); /* dest is back */
	assert_true(lvs_model_snapshot(m)->svcs[0]->dests[0]->st->flags & LVS_DEST_F_AVAILABLE);

	/* Committed batch: one new snapshot with every change. */
	assert_int_equal(lvs_model_begin(m), 0);
	for (int i = 2; i < 200; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "192.168.10.%d", i);
		d = t_dest4(ip, 80);
		assert_int_equal(lvs_model_add_dest(m, &k, &d), 0);
	}
	assert_true(lvs_model_snapshot(m)->gen == gen);
	assert_int_equal(lvs_model_commit(m), 0);
	assert_true(lvs_model_snapshot(m)->gen == gen + 1);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 199);
	lvs_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_validation_changes_nothing),
		cmocka_unit_test(test_dest_order_and_ports),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_thresholds_and_accounting),
		cmocka_unit_test(test_dest_state_survives_delete),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
