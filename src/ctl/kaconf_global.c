/*
 * kaconf_global.c - keepalived.conf's global_defs and track_file blocks.
 * Of global_defs, lvsd applies lvs_timeouts (tcp, tcpfin, udp: the
 * model's timeouts, as ipvsadm --set) and keeps router_id; the VRRP
 * defaults (vrrp_version, vrrp_mcast_group4/6, vrrp_garp_*, vrrp_strict...)
 * and lvs_sync_daemon are read in kaconf_vrrp.c; keepalived's other
 * global keywords (e-mail alerts, SNMP, D-Bus, VRRP and process
 * tuning...) are read with a notice each.  track_file blocks name the
 * files FILE_CHECK watches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kaconf_int.h"

/* ---- track_file ---- */

static void tf_weight(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_track_file *tf = obj;

	ka_parse_file_weight(p, st, &tf->weight, &tf->reverse);
}

static void tf_init(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_track_file *tf = obj;

	tf->init_file = true;
	for (unsigned k = 0; k < st->n; k++) {
		long v;
		char *end;

		if (!strcmp(st->a[k].s, "overwrite")) {
			tf->init_overwrite = true;
			continue;
		}
		v = strtol(st->a[k].s, &end, 10);
		if (*end || v < -254 || v > 254) {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid init_file value '%s'", st->a[k].s);
			return;
		}
		tf->init_value = (int32_t)v;
	}
}

static const struct kw tf_kws[] = {
	{"file", K_STR, false, F(struct ka_track_file, path), 0, 0, NULL},
	{"weight", K_FN, false, 0, 0, 0, tf_weight},
	{"init_file", K_FN, false, 0, 0, 0, tf_init},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_top_track_file(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_track_file *tf, **tail = &p->c->track_files;
	(void)obj;

	if (!ka_need_args(p, st, 1)) {
		if (st->block)
			ka_skip_block(p, &st->loc);
		return;
	}
	tf = ka_alloc(p->c, sizeof(*tf));
	tf->loc = st->loc;
	tf->name = ka_strdup(p->c, st->a[0].s);
	tf->weight = 1;
	ka_sub_block(p, st, tf_kws, tf, "track_file");
	if (!tf->path) {
		ka_diag(p->c, KA_ERROR, &st->loc, "track_file %s has no file", tf->name);
		return;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = tf;
}

/* ---- global_defs ---- */

static void g_lvs_timeouts(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;

	if (st->n < 2) {
		ka_diag(p->c, KA_ERROR, &st->loc, "lvs_timeouts requires at least one option");
		return;
	}
	for (unsigned i = 0; i < st->n; i++) {
		const char *o = st->a[i].s;
		uint32_t *field = !strcmp(o, "tcp")      ? &g->timeouts.tcp
				  : !strcmp(o, "tcpfin") ? &g->timeouts.tcp_fin
				  : !strcmp(o, "udp")    ? &g->timeouts.udp
							 : NULL;
		uint32_t v;

		if (!field) {
			ka_diag(p->c, KA_ERROR, &st->loc, "Unknown option %s specified for lvs_timeouts", o);
			return;
		}
		if (++i == st->n) {
			ka_diag(p->c, KA_ERROR, &st->loc, "No value specified for lvs_timeout %s", o);
			return;
		}
		/* 0 keeps the current value, as ipvsadm --set does */
		if (!ka_parse_u32(st->a[i].s, 0, 86400 * 31, &v)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "Invalid lvs_timeout %s (%s)", o, st->a[i].s);
			return;
		}
		*field = v;
		g->timeouts_set = true;
	}
}

static void g_router_id(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;

	if (ka_need_args(p, st, 1))
		g->router_id = ka_strdup(p->c, st->a[0].s);
}

static void g_script_user(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;

	if (!ka_need_args(p, st, 1))
		return;
	if (st->n > 2) {
		ka_diag(p->c, KA_ERROR, &st->loc, "script_user takes a user and a group at most");
		return;
	}
	g->script_user = ka_strdup(p->c, st->a[0].s);
	if (st->n > 1)
		g->script_group = ka_strdup(p->c, st->a[1].s);
}

static void g_script_security(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;

	if (st->n) {
		ka_diag(p->c, KA_ERROR, &st->loc, "enable_script_security takes no argument");
		return;
	}
	g->script_security = true;
}

static void g_checker_priority(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	char *end;
	long v;

	if (!ka_need_args(p, st, 1))
		return;
	errno = 0;
	v = strtol(st->a[0].s, &end, 10);
	if (errno || *end || end == st->a[0].s || v < -20 || v > 19) {
		ka_diag(p->c, KA_ERROR, &st->loc, "invalid checker_priority '%s' (-20..19)",
			st->a[0].s);
		return;
	}
	g->checker_priority = (int)v;
	g->checker_priority_set = true;
}

static void g_checker_cpus(struct parser *p, const struct stmt *st, void *obj)
{
	struct ka_global *g = obj;
	uint32_t v;

	if (!ka_need_args(p, st, 1))
		return;
	g->ncheck_cpus = 0;
	for (unsigned i = 0; i < st->n; i++) {
		if (!ka_parse_u32(st->a[i].s, 0, 4095, &v)) {
			ka_diag(p->c, KA_ERROR, &st->loc, "invalid CPU '%s' in checker_cpu_affinity",
				st->a[i].s);
			g->ncheck_cpus = 0;
			return;
		}
		if (g->ncheck_cpus == KA_MAX_CHECKER_CPUS) {
			ka_diag(p->c, KA_ERROR, &st->loc, "checker_cpu_affinity: at most %d CPUs",
				KA_MAX_CHECKER_CPUS);
			g->ncheck_cpus = 0;
			return;
		}
		g->checker_cpus[g->ncheck_cpus++] = (uint16_t)v;
	}
}

/* keepalived's other global_defs keywords: read and ignored with a notice
 * (lvsd has no e-mail alerts, SNMP, D-Bus, VRRP tuning... yet). */
static const char *const global_notyet[] = {
	"linkbeat_use_polling", "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets",
	"use_pid_dir", "instance", "child_wait_time", "process_names", "process_name",
	"vrrp_process_name", "checker_process_name", "lvs_process_name", "bfd_process_name",
	"use_symlink_paths", "set_supplementary_groups", "notification_email_from",
	"smtp_server", "smtp_helo_name", "smtp_connect_timeout", "notification_email",
	"smtp_alert", "startup_script", "startup_script_timeout", "shutdown_script",
	"shutdown_script_timeout", "max_auto_priority", "min_auto_priority_delay",
	"smtp_alert_vrrp", "smtp_alert_checker", "checker_log_all_failures",
	"dynamic_interfaces", "no_email_faults", "default_interface", "disable_local_igmp",
	"v3_checksum_as_v2", "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop",
	
	
	"vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "vrrp_down_timer_adverts",
	"vrrp_min_garp", "vrrp_garp_extra_if",
	"vrrp_vmac_garp_intvl", 
	"vrrp_iptables", "vrrp_ipsets", "nftables", "nftables_priority",
	"nftables_ifindex", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr", 
	"vrrp_priority", "vrrp_no_swap", "vrrp_rt_priority", "vrrp_cpu_affinity",
	"vrrp_rlimit_rttime", "vrrp_rlimit_rtime", "nftables_ipvs", "nftables_ipvs_priority",
	"nftables_ipvs_start_fwmark", "nftables_counters", "notify_fifo", "notify_fifo_script",
	"vrrp_notify_fifo", "vrrp_notify_fifo_script", "vrrp_notify_priority_changes",
	"fifo_write_vrrp_states_on_reload", "lvs_notify_fifo", "lvs_notify_fifo_script",
	"checker_no_swap", "checker_rt_priority",
	"checker_rlimit_rttime", "checker_rlimit_rtime", "bfd_priority", "bfd_no_swap",
	"bfd_rt_priority", "bfd_cpu_affinity", "bfd_rlimit_rttime", "bfd_rlimit_rtime",
	"snmp_socket", "enable_traps", "enable_snmp_vrrp", "enable_snmp_keepalived",
	"enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_checker",
	"snmp_vs_stats_update_interval", "snmp_rs_stats_update_interval", "enable_dbus",
	"dbus_service_name", "dbus_no_interface_name",
	"vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
	"vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force",
	"process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs",
	"lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
	"lvs_netlink_monitor_rcv_bufs_force", "rs_init_notifies", "no_checker_emails",
	"vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier", 
	"vrrp_delay_after_boot", "log_unknown_vrids", "vrrp_owner_ignore_adverts", "vmac_prefix",
	"vmac_addr_prefix", "umask", "random_seed", "reload_check_config", "reload_time_file",
	"reload_repeat", "reload_file", "include_check", "config_save_dir",
	"tmp_config_directory", "data_use_instance", "json_version", "iproute_usr_dir",
	"iproute_etc_dir", "state_dump_file", "stats_dump_file", "json_dump_file", NULL,
};

static const struct kw global_kws[] = {
	{"router_id", K_FN, false, 0, 0, 0, g_router_id},
	{"script_user", K_FN, false, 0, 0, 0, g_script_user},
	{"enable_script_security", K_FN, false, 0, 0, 0, g_script_security},
	{"checker_priority", K_FN, false, 0, 0, 0, g_checker_priority},
	{"checker_cpu_affinity", K_FN, false, 0, 0, 0, g_checker_cpus},
	{"lvs_timeouts", K_FN, false, 0, 0, 0, g_lvs_timeouts},
	{NULL, 0, 0, 0, 0, 0, NULL},
};

void ka_top_global(struct parser *p, const struct stmt *st, void *obj)
{
	struct stmt gs;
	int r;
	(void)obj;

	if (!st->block) {
		ka_diag(p->c, KA_ERROR, &st->loc, "global_defs without a { } block");
		return;
	}
	/* global_kws, plus keepalived's other keywords as notices */
	while ((r = ka_next_stmt(p, &gs)) == 1) {
		unsigned k;
		const struct kw *kw = ka_find_kw(global_kws, gs.kw->s);

		if (!kw)
			kw = ka_find_kw(ka_vrrp_global_kws, gs.kw->s);

		if (kw) {
			if (gs.block) {
				ka_diag(p->c, KA_ERROR, &gs.loc, "'%s' takes no { } block", gs.kw->s);
				ka_skip_block(p, &gs.loc);
			} else
				kw->fn(p, &gs, &p->c->global);
			continue;
		}
		for (k = 0; global_notyet[k] && strcmp(global_notyet[k], gs.kw->s); k++)
			;
		if (global_notyet[k])
			ka_diag(p->c, KA_INFO, &gs.loc, "global_defs %s is not implemented yet; ignored",
				gs.kw->s);
		else
			ka_diag(p->c, KA_WARN, &gs.loc, "unknown keyword '%s' in global_defs", gs.kw->s);
		if (gs.block)
			ka_skip_block(p, &gs.loc);
	}
	if (r == -1)
		ka_diag(p->c, KA_ERROR, &st->loc, "missing '}': the block opened here is not closed");
}

