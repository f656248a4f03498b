/*
 * test_kaconf_vrrp.c - keepalived.conf's VRRP part: vrrp_instance with
 * every keyword read field by field, keepalived's defaults, every
 * message with its FILE:LINE, vrrp_sync_group, vrrp_script, global_defs'
 * VRRP keywords and lvs_sync_daemon, and an IPv6 instance.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#include "kaconf.h"

#include "test_kaconf_util.h"

static bool addr_is(const struct ka_addr *a, const char *s)
{
	char buf[INET6_ADDRSTRLEN];

	return a->af && inet_ntop(a->af, &a->a, buf, sizeof(buf)) && !strcmp(buf, s);
}

static void test_full_instance(void **state)
{
	struct ka_config *c;
	const struct ka_vrrp_inst *v;
	const struct ka_vrrp_vip *vip;
	const struct ka_vrrp_track *t;
	const struct ka_vrrp_script *s;
	(void)state;

	c = load("vrrp_script chk {\n script \"/bin/check -q\"\n interval 2.5\n timeout 3\n"
		 " weight -20 reverse\n rise 2\n fall 3\n user nobody nogroup\n init_fail\n}\n"
		 "vrrp_instance VI_1 {\n"
		 " state BACKUP\n interface eth0\n virtual_router_id 51\n priority 150\n"
		 " advert_int 2\n version 2\n"
		 " virtual_ipaddress {\n  10.0.0.1/24 brd + dev eth1 scope link label eth1:v\n"
		 "  10.0.0.2\n  10.0.0.3/32 no_track\n }\n"
		 " virtual_ipaddress_excluded {\n  10.0.1.1/16 dev eth2\n }\n"
		 " nopreempt\n mcast_src_ip 192.168.0.1\n"
		 " authentication {\n  auth_type PASS\n  auth_pass secret12345\n }\n"
		 " unicast_src_ip 192.168.0.1\n"
		 " unicast_peer {\n  192.168.0.2\n  192.168.0.3 min_ttl 10 max_ttl 64\n }\n"
		 " track_interface {\n  eth3\n  eth4 weight -10 reverse\n }\n"
		 " track_script {\n  chk weight 5\n }\n"
		 " notify_master \"/bin/m x\"\n notify_backup /bin/b\n notify_fault /bin/f\n"
		 " notify_stop /bin/s\n notify /bin/n\n"
		 " garp_master_delay 3\n garp_master_repeat 4\n garp_master_refresh 60\n"
		 " garp_master_refresh_repeat 2\n dont_track_primary\n no_accept\n"
		 " smtp_alert\n use_vmac\n"
		 "}\n");
	{
		char *d = diags(c);

		assert_string_equal(d, "k.conf:30: Truncating auth_pass to 8 characters\n"
				       "k.conf:55: vrrp_instance smtp_alert has no effect in lvsd; ignored\n"
				       "k.conf:56: vrrp_instance use_vmac is not implemented yet; ignored\n");
		free(d);
	}
	assert_int_equal(c->nerrors, 0);
	assert_int_equal(c->nvrrp, 1);
	v = c->vrrps;
	assert_string_equal(v->name, "VI_1");
	assert_int_equal(v->loc.line, 11);
	assert_int_equal(v->state, KA_VRRP_BACKUP);
	assert_string_equal(v->ifname, "eth0");
	assert_int_equal(v->vrid, 51);
	assert_int_equal(v->priority, 150);
	assert_true(v->advert_int == 2 * KA_USEC);
	assert_int_equal(v->version, 2);
	assert_int_equal(v->af, AF_INET);
	assert_int_equal(v->nvips, 3);
	vip = v->vips;
	assert_true(addr_is(&vip->addr, "10.0.0.1"));
	assert_int_equal(vip->prefix, 24);
	assert_true(vip->has_brd);
	assert_int_equal(vip->brd.s_addr, inet_addr("10.0.0.255"));
	assert_string_equal(vip->dev, "eth1");
	assert_int_equal(vip->scope, 253);
	assert_string_equal(vip->label, "eth1:v");
	assert_false(vip->no_track);
	vip = vip->next;
	assert_true(addr_is(&vip->addr, "10.0.0.2"));
	assert_int_equal(vip->prefix, 32);
	assert_null(vip->dev);
	assert_true(vip->next->no_track);
	assert_int_equal(v->nevips, 1);
	assert_true(addr_is(&v->evips->addr, "10.0.1.1"));
	assert_int_equal(v->evips->prefix, 16);
	assert_string_equal(v->evips->dev, "eth2");
	assert_true(v->nopreempt);
	assert_true(v->preempt_delay == 0);
	assert_int_equal(v->auth_type, KA_VRRP_AUTH_PASS);
	assert_string_equal(v->auth_pass, "secret12"); /* truncated to 8 */
	assert_true(addr_is(&v->src_ip, "192.168.0.1"));
	assert_true(v->unicast);
	assert_int_equal(v->npeers, 2);
	assert_true(addr_is(&v->peers->addr, "192.168.0.2"));
	assert_int_equal(v->peers->min_ttl, 0);
	assert_int_equal(v->peers->max_ttl, 255);
	assert_int_equal(v->peers->next->min_ttl, 10);
	assert_int_equal(v->peers->next->max_ttl, 64);
	assert_int_equal(v->mcast_group.af, AF_UNSPEC); /* unicast */
	t = v->track_ifs;
	assert_string_equal(t->name, "eth3");
	assert_int_equal(t->weight, 0);
	assert_string_equal(t->next->name, "eth4");
	assert_int_equal(t->next->weight, -10);
	assert_true(t->next->reverse);
	t = v->track_scripts;
	assert_string_equal(t->name, "chk");
	assert_int_equal(t->weight, 5);
	assert_false(t->reverse);
	assert_ptr_equal(t->script, c->vscripts);
	assert_string_equal(v->notify.master, "/bin/m x");
	assert_string_equal(v->notify.backup, "/bin/b");
	assert_string_equal(v->notify.fault, "/bin/f");
	assert_string_equal(v->notify.stop, "/bin/s");
	assert_string_equal(v->notify.any, "/bin/n");
	assert_true(v->garp_delay == 3 * KA_USEC);
	assert_int_equal(v->garp_rep, 4);
	assert_int_equal(v->garp_refresh, 60);
	assert_int_equal(v->garp_refresh_rep, 2);
	assert_true(v->dont_track_primary);
	assert_int_equal(v->accept, 0);
	assert_int_equal(v->strict, 0);
	s = c->vscripts;
	assert_string_equal(s->script, "/bin/check -q");
	assert_true(s->interval == 2500000);
	assert_true(s->timeout == 3 * KA_USEC);
	assert_int_equal(s->weight, -20);
	assert_true(s->reverse);
	assert_int_equal(s->rise, 2);
	assert_int_equal(s->fall, 3);
	assert_string_equal(s->user, "nobody");
	assert_string_equal(s->group, "nogroup");
	assert_true(s->init_fail);
	ka_config_free(c);
}

static void test_defaults(void **state)
{
	struct ka_config *c;
	const struct ka_vrrp_inst *v;
	(void)state;

	c = load("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n preempt_delay 2.5\n"
		 " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
		 "vrrp_instance B {\n state MASTER\n interface eth0\n virtual_router_id 2\n"
		 " virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
		 "vrrp_instance C {\n priority 255\n interface eth0\n virtual_router_id 3\n"
		 " virtual_ipaddress {\n  10.0.0.3\n }\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	v = c->vrrps;
	assert_int_equal(v->state, KA_VRRP_BACKUP);
	assert_int_equal(v->priority, 100);
	assert_true(v->advert_int == KA_USEC);
	assert_true(v->preempt_delay == 2500000);
	assert_int_equal(v->version, 2);
	assert_int_equal(v->af, AF_INET);
	assert_true(v->garp_delay == 5 * KA_USEC);
	assert_int_equal(v->garp_rep, 5);
	assert_int_equal(v->garp_refresh, 0);
	assert_int_equal(v->garp_refresh_rep, 1);
	assert_int_equal(v->accept, 1);
	assert_int_equal(v->lower_prio_no_advert, 0);
	assert_int_equal(v->higher_prio_send_advert, 0);
	assert_true(addr_is(&v->mcast_group, "224.0.0.18"));
	assert_false(v->unicast);
	/* state MASTER without a priority: the address owner */
	assert_int_equal(v->next->priority, 255);
	/* priority 255 without a state: MASTER */
	assert_int_equal(v->next->next->state, KA_VRRP_MASTER);
	assert_int_equal(c->global.lvs_syncd.syncid, 0);
	assert_null(c->global.lvs_syncd.ifname);
	ka_config_free(c);
}

static void test_global_defs(void **state)
{
	struct ka_config *c;
	const struct ka_vrrp_inst *v;
	const struct ka_vrrp_global *g;
	(void)state;

	c = load("global_defs {\n vrrp_version 3\n vrrp_mcast_group4 224.0.0.100\n"
		 " vrrp_mcast_group6 ff02::100\n vrrp_garp_master_delay 1\n"
		 " vrrp_garp_master_repeat 2\n vrrp_garp_master_refresh 30\n"
		 " vrrp_garp_master_refresh_repeat 3\n vrrp_garp_interval 0.001\n"
		 " vrrp_gna_interval 0.002\n vrrp_lower_prio_no_advert\n"
		 " vrrp_higher_prio_send_advert true\n vrrp_startup_delay 5.5\n"
		 " lvs_sync_daemon eth1 inst VI_1 maxlen 1400 port 8848 ttl 2 group 239.1.1.1\n}\n"
		 "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n advert_int 0.5\n"
		 " virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	g = &c->global.vrrp;
	assert_int_equal(g->version, 3);
	assert_true(addr_is(&g->mcast4, "224.0.0.100"));
	assert_true(addr_is(&g->mcast6, "ff02::100"));
	assert_true(g->garp_interval == 1000 && g->gna_interval == 2000);
	assert_true(g->startup_delay == 5500000);
	assert_false(g->strict);
	v = c->vrrps;
	assert_int_equal(v->version, 3);
	assert_true(v->advert_int == 500000);
	assert_true(addr_is(&v->mcast_group, "224.0.0.100"));
	assert_true(v->garp_delay == KA_USEC);
	assert_int_equal(v->garp_rep, 2);
	assert_int_equal(v->garp_refresh, 30);
	assert_int_equal(v->garp_refresh_rep, 3);
	assert_int_equal(v->lower_prio_no_advert, 1);
	assert_int_equal(v->higher_prio_send_advert, 1);
	assert_string_equal(c->global.lvs_syncd.ifname, "eth1");
	assert_ptr_equal(c->global.lvs_syncd.vrrp, v);
	assert_int_equal(c->global.lvs_syncd.syncid, 9); /* the VRID */
	assert_int_equal(c->global.lvs_syncd.maxlen, 1400);
	assert_int_equal(c->global.lvs_syncd.port, 8848);
	assert_int_equal(c->global.lvs_syncd.ttl, 2);
	assert_true(addr_is(&c->global.lvs_syncd.group, "239.1.1.1"));
	ka_config_free(c);

	/* vrrp_strict: no authentication, strict defaults */
	c = load("global_defs {\n vrrp_strict\n lvs_sync_daemon eth1 VI_1 7\n}\n"
		 "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n"
		 " authentication {\n  auth_type PASS\n  auth_pass x\n }\n"
		 " virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
	v = c->vrrps;
	assert_true(c->global.vrrp.strict);
	assert_int_equal(v->strict, 1);
	assert_int_equal(v->accept, 0);
	assert_int_equal(v->lower_prio_no_advert, 1);
	assert_int_equal(v->auth_type, KA_VRRP_AUTH_NONE);
	assert_int_equal(c->global.lvs_syncd.syncid, 7);
	{
		char *d = diags(c);

		assert_string_equal(d,
				    "k.conf:3: Please use keyword \"id\" before lvs_sync_daemon SYNCID\n"
				    "k.conf:5: (VI_1) Strict mode does not support authentication. "
				    "Ignoring.\n");
		free(d);
	}
	ka_config_free(c);
}

static void test_ipv6_instance(void **state)
{
	struct ka_config *c;
	const struct ka_vrrp_inst *v;
	(void)state;

	c = load("vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n native_ipv6\n"
		 " advert_int 0.25\n"
		 " virtual_ipaddress {\n  fe80::1/64\n  2001:db8::1/64 dev eth0\n }\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	v = c->vrrps;
	assert_int_equal(v->af, AF_INET6);
	assert_int_equal(v->version, 3);
	assert_true(v->advert_int == 250000);
	assert_true(addr_is(&v->vips->addr, "fe80::1"));
	assert_int_equal(v->vips->prefix, 64);
	assert_true(addr_is(&v->mcast_group, "ff02::12"));
	ka_config_free(c);

	/* without native_ipv6: the addresses make it IPv6 and version 3 */
	c = load("vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n"
		 " virtual_ipaddress {\n  fe80::1\n }\n}\n");
	assert_int_equal(c->vrrps->version, 3);
	ka_config_free(c);
	expect_diags("vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n version 2\n"
		     " virtual_ipaddress {\n  fe80::1\n  10.0.0.1\n  fe80::2 brd 1.2.3.4\n"
		     "  fe80::3 scope link label x\n }\n}\n",
		     "k.conf:7: (V6): address family must match VRRP instance [10.0.0.1] - ignoring\n"
		     "k.conf:8: VRRP is trying to assign a broadcast 1.2.3.4 to the IPv6 address "
		     "fe80::2 - skipping VIP...\n"
		     "k.conf:9: Cannot specify scope for IPv6 addresses (fe80::3) - ignoring scope\n"
		     "k.conf:9: Cannot specify label for IPv6 addresses (fe80::3) - ignoring label\n"
		     "k.conf:1: (V6) cannot use IPv6 with VRRP version 2; setting version 3\n");
}

static void test_sync_group_and_scripts(void **state)
{
	struct ka_config *c;
	const struct ka_vrrp_sync_group *g;
	(void)state;

	c = load("vrrp_script s1 {\n script /bin/true\n}\n"
		 "vrrp_sync_group G {\n group {\n  A\n  B\n }\n notify_master /bin/gm\n"
		 " notify_backup /bin/gb\n notify_fault /bin/gf\n notify /bin/gn\n"
		 " track_script {\n  s1\n }\n track_interface {\n  eth5\n }\n}\n"
		 "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
		 " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
		 "vrrp_instance B {\n interface eth1\n virtual_router_id 1\n"
		 " virtual_ipaddress {\n  10.0.0.2\n }\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	g = c->vsyncs;
	assert_string_equal(g->name, "G");
	assert_int_equal(g->ninsts, 2);
	assert_ptr_equal(g->insts[0], c->vrrps);
	assert_ptr_equal(c->vrrps->next->sync, g);
	assert_string_equal(g->notify.master, "/bin/gm");
	assert_string_equal(g->notify.backup, "/bin/gb");
	assert_string_equal(g->notify.fault, "/bin/gf");
	assert_string_equal(g->notify.any, "/bin/gn");
	assert_ptr_equal(g->track_scripts->script, c->vscripts);
	assert_string_equal(g->track_ifs->name, "eth5");
	assert_true(c->vscripts->interval == KA_USEC);
	assert_int_equal(c->vscripts->rise, 1);
	assert_int_equal(c->vscripts->weight, 0);
	ka_config_free(c);

	expect_diags("vrrp_script s1 {\n script /bin/true\n weight 10\n}\n"
		     "vrrp_script s2 {\n script /bin/true\n}\n"
		     "vrrp_script s3 {\n interval 2\n}\n"
		     "vrrp_sync_group G {\n group { A nope }\n}\n"
		     "vrrp_sync_group H {\n group { A }\n}\n"
		     "vrrp_sync_group E {\n group { }\n}\n"
		     "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
		     " track_script {\n  s1\n  missing\n  s1\n }\n"
		     " virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		     "k.conf:8: No script set for vrrp_script s3 - removing\n"
		     "k.conf:18: Warning - sync group E has empty group block\n"
		     "k.conf:17: Sync group E has no members - removing\n"
		     "k.conf:26: (A) duplicate track_script s1 - ignoring\n"
		     "k.conf:12: Virtual router nope specified in sync group G doesn't exist - "
		     "ignoring\n"
		     "k.conf:11: Sync group G has only 1 virtual router(s) - this probably isn't what "
		     "you want\n"
		     "k.conf:15: Virtual router A cannot exist in more than one sync group; ignoring H\n"
		     "k.conf:14: Sync group H, no matching virtual router found in group declaration - "
		     "removing\n"
		     "k.conf:25: (A) track script missing not found, ignoring...\n"
		     "k.conf:24: (A) ignoring tracked script s1 with weights due to SYNC group\n"
		     "k.conf:5: Warning - script s2 is not used\n");
}

static void test_instance_errors(void **state)
{
	struct ka_config *c;
	(void)state;

	expect_diags("vrrp_instance A {\n}\n"
		     "vrrp_instance B {\n interface eth0\n virtual_router_id 5\n version 3\n}\n"
		     "vrrp_instance C {\n interface eth0\n virtual_router_id 5\n version 3\n"
		     " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
		     "vrrp_instance D {\n interface eth0\n virtual_router_id 5\n"
		     " virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
		     "vrrp_instance A {\n}\n"
		     "vrrp_instance {\n}\n",
		     "k.conf:23: vrrp instance A already defined\n"
		     "k.conf:25: vrrp_instance must have a name\n"
		     "k.conf:1: (A) the virtual router id must be set\n"
		     "k.conf:1: (A) Unknown interface!\n"
		     "k.conf:1: (A) No VIP specified; at least one is sensible\n"
		     "k.conf:3: (B) No VIP specified; at least one is required\n"
		     "k.conf:8: B and C both use VRID 5 with IPv4 on interface eth0\n"
		     "k.conf:16: B and D both use VRID 5 with IPv4 on interface eth0\n"
		     "k.conf:16: C and D both use VRID 5 with IPv4 on interface eth0\n");
	c = load("vrrp_instance A {\n}\n");
	assert_int_equal(c->nerrors, 2);
	assert_int_equal(ka_config_test_status(c), 5);
	ka_config_free(c);
}

static void test_value_errors(void **state)
{
	(void)state;
	expect_diags("vrrp_instance A {\n interface eth0\n virtual_router_id 300\n"
		     " virtual_router_id 5\n priority 0\n state FOO\n state MASTER\n state BACKUP\n"
		     " advert_int 0\n advert_int 1.5\n version 4\n preempt_delay 1001\n"
		     " authentication {\n  auth_type XX\n }\n"
		     " interface averyveryverylongname\n"
		     " garp_master_repeat 0\n garp_master_delay x\n garp_master_refresh -1\n"
		     " notify_master /a\n notify_master /b\n"
		     " mcast_src_ip 10.9.9.9\n mcast_src_ip nope\n"
		     " unicast_peer {\n  10.1.1.1 min_ttl 9 max_ttl 8\n  10.1.1.1\n  fd00::9\n"
		     "  10.1.1.2 foo 1\n  10.1.1.3 min_ttl\n }\n"
		     " track_interface {\n  eth1 weight 254\n  eth2 weight 300\n  eth3 foo\n"
		     "  eth4 weight\n  eth0\n }\n"
		     " virtual_ipaddress {\n  10.0.0.300\n  10.0.0.1/33\n  10.0.0.2 dev\n"
		     "  10.0.0.3 dev a dev b\n  10.0.0.4 scope bad\n  10.0.0.5 brd 1.2.3\n"
		     "  10.0.0.6 label averyveryverylongname\n  10.0.0.7/31 brd +\n"
		     "  10.0.0.8 wibble\n  10.0.0.9 home\n  10.0.0.1\n }\n"
		     " virtual_ipaddress_excluded {\n  10.0.0.1\n  10.0.0.9 dev eth9\n }\n"
		     " bogus 1\n"
		     "}\n",
		     "k.conf:3: (A): VRID '300' not valid - must be between 1 & 255\n"
		     "k.conf:5: (A) Priority not valid! must be between 1 & 255. Using default 100\n"
		     "k.conf:6: (A) unknown state 'FOO', defaulting to BACKUP\n"
		     "k.conf:8: (A) state previously set as MASTER - ignoring BACKUP\n"
		     "k.conf:9: (A) Advert interval (0) not valid! Must be > 0 - ignoring\n"
		     "k.conf:11: (A): Version must be either 2 or 3\n"
		     "k.conf:12: (A) Preempt_delay not valid! must be between 0-1000\n"
		     "k.conf:14: (A) unknown authentication type 'XX'\n"
		     "k.conf:16: Interface name 'averyveryverylongname' too long - ignoring\n"
		     "k.conf:17: (A): garp_master_repeat must be greater than 0, setting to 1\n"
		     "k.conf:18: (A): garp_master_delay 'x' invalid - ignoring\n"
		     "k.conf:19: (A): Invalid garp_master_refresh '-1' - ignoring\n"
		     "k.conf:21: (A) notify_master script already specified - ignoring /b\n"
		     "k.conf:23: Configuration error: VRRP instance[A] malformed src address[nope]. "
		     "Skipping...\n"
		     "k.conf:25: (A) 10.1.1.1 - min_ttl 9 > max_ttl 8 - all packets will be "
		     "discarded\n"
		     "k.conf:26: (A) 10.1.1.1 - duplicate unicast_peer\n"
		     "k.conf:27: Configuration error: VRRP instance[A] and unicast peer "
		     "address[fd00::9] MUST be of the same family !!! Skipping...\n"
		     "k.conf:28: (A) 10.1.1.2 - unknown unicast_peer option foo\n"
		     "k.conf:29: (A) 10.1.1.3 - min_ttl is missing a value\n"
		     "k.conf:32: (A) weight for eth1 cannot be +/-254. Setting to +/-253\n"
		     "k.conf:33: (A) weight 300 for eth2 must be between [-253..253] inclusive. "
		     "Ignoring...\n"
		     "k.conf:34: (A) unknown track_interface eth3 option foo - ignoring\n"
		     "k.conf:35: (A) weight without value specified for track_interface eth4 - "
		     "ignoring\n"
		     "k.conf:39: VRRP parsed invalid IP 10.0.0.300. skipping IP...\n"
		     "k.conf:40: Invalid address prefix len 33 for address 10.0.0.1/33 - using 32\n"
		     "k.conf:41: No dev parameter specified for 10.0.0.2\n"
		     "k.conf:42: Cannot specify ipaddress device more than once for 10.0.0.3\n"
		     "k.conf:43: Invalid scope 'bad' specified for 10.0.0.4 - ignoring\n"
		     "k.conf:44: VRRP is trying to assign invalid broadcast 1.2.3. skipping VIP...\n"
		     "k.conf:45: Address label averyveryverylongname is longer than maximum length 15 "
		     "- removing address\n"
		     "k.conf:46: Address prefix length 31 too long for broadcast\n"
		     "k.conf:47: Unknown configuration entry 'wibble' for ip address - ignoring\n"
		     "k.conf:48: virtual_ipaddress option home is not implemented yet; ignored\n"
		     "k.conf:49: (A): VIP duplicates a VIP 10.0.0.1 - ignoring\n"
		     "k.conf:52: (A): Excluded VIP duplicates a VIP 10.0.0.1 - ignoring\n"
		     "k.conf:55: unknown keyword 'bogus' in vrrp_instance\n"
		     "k.conf:1: (A) VRRPv2 advertisement interval 1.500000s must be an integer. "
		     "rounding\n"
		     "k.conf:36: (A) Ignoring track_interface eth0 since own interface\n");
}

static void test_never_crashes(void **state)
{
	static const char *const inputs[] = {
		"vrrp_instance", "vrrp_instance A", "vrrp_instance A {", "vrrp_instance A { state",
		"vrrp_instance A { virtual_ipaddress", "vrrp_instance A { virtual_ipaddress {",
		"vrrp_instance A { virtual_ipaddress { 1.2.3.4 dev",
		"vrrp_instance A { virtual_ipaddress { { } } }", "vrrp_instance A { unicast_peer { x",
		"vrrp_instance A { track_script { s weight", "vrrp_instance A { authentication",
		"vrrp_sync_group", "vrrp_sync_group G { group", "vrrp_sync_group G { group { A",
		"vrrp_script", "vrrp_script s { weight", "global_defs { lvs_sync_daemon }",
		"global_defs { lvs_sync_daemon e inst }", "global_defs { lvs_sync_daemon e group }",
		"global_defs { vrrp_mcast_group6 1.2.3.4 }",
		"vrrp_instance A { interface e virtual_ipaddress { fe80::1/200 } }",
	};
	(void)state;

	for (unsigned k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++)
		ka_config_free(load(inputs[k]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_instance),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_global_defs),
		cmocka_unit_test(test_ipv6_instance),
		cmocka_unit_test(test_sync_group_and_scripts),
		cmocka_unit_test(test_instance_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
