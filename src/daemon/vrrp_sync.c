/*
 * vrrp_sync.c - the sync daemon's role follows a VRRP instance (see
 * vrrp_sync.h).  Runs on the control thread, from vrrpd's state hook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "ctlloop.h"
#include "log.h"
#include "sync_daemon.h"
#include "vrrp_fsm.h"
#include "vrrp_sync.h"

struct vsync {
	struct lvsd_loop *l;
	struct lvsd_vrrp *vr;
	char inst[64];
	struct lvs_sync_params p;
	int last;      /* the instance's previous state, -1: none yet */
};

static void role_set(struct vsync *vs, int want)
{
	struct lvsd *d = lvsd_loop_ctx(vs->l);
	int other = want == LVS_SYNC_MASTER ? LVS_SYNC_BACKUP : LVS_SYNC_MASTER;
	char err[128] = "";
	int rc;

	if (lvs_sync_get(d, other, NULL))
		lvs_sync_stop(d, other);
	if (!want || lvs_sync_get(d, want, NULL))
		return;
	rc = lvs_sync_start(d, want, &vs->p, err, sizeof(err));
	if (rc)
		lvs_err("vrrp: lvs_sync_daemon %s on %s: %s%s%s",
			want == LVS_SYNC_MASTER ? "master" : "backup", vs->p.ifname, strerror(-rc),
			err[0] ? ": " : "", err);
	else
		lvs_notice("vrrp: (%s) %s sync daemon started on %s, syncid %u", vs->inst,
			   want == LVS_SYNC_MASTER ? "master" : "backup", vs->p.ifname, vs->p.syncid);
}

static void pulled(void *arg, int result, uint32_t nconns)
{
	struct vsync *vs = arg;

	if (result)
		lvs_notice("vrrp: (%s) no connection table from the peer (%s): preempting as "
			   "configured", vs->inst, strerror(-result));
	else
		lvs_notice("vrrp: (%s) %u connections pulled from the peer", vs->inst, nconns);
	lvsd_vrrp_hold_preempt(vs->vr, vs->inst, 0);
}

static void hook(void *arg, const char *inst, int state)
{
	struct vsync *vs = arg;
	struct lvsd *d = lvsd_loop_ctx(vs->l);

	if (strcmp(inst, vs->inst))
		return;
	switch (state) {
	case VRRP_STATE_MASTER:
		lvs_sync_pull_cancel(d);
		role_set(vs, LVS_SYNC_MASTER);
		break;
	case VRRP_STATE_BACKUP:
	case VRRP_STATE_FAULT:
		role_set(vs, LVS_SYNC_BACKUP);
		/* back from a start or a fault, the table is stale: ask the
		 * peer for it before taking the VIP back */
		if (state == VRRP_STATE_BACKUP && vs->last != VRRP_STATE_MASTER &&
		    vs->last != VRRP_STATE_BACKUP && lvs_sync_get(d, LVS_SYNC_BACKUP, NULL)) {
			lvsd_vrrp_hold_preempt(vs->vr, vs->inst,
					       lvs_probe_now_ns() +
						       LVSD_SYNC_PULL_TIMEOUT_MS * 1000000ull);
			if (lvs_sync_pull_start(d, LVSD_SYNC_PULL_TIMEOUT_MS, pulled, vs))
				lvsd_vrrp_hold_preempt(vs->vr, vs->inst, 0);
		}
		break;
	default:
		lvs_sync_pull_cancel(d);
		role_set(vs, 0);
		break;
	}
	vs->last = state;
}

static void vsync_free(void *arg)
{
	free(arg);
}

int lvsd_vrrp_sync_register(struct lvsd_loop *l, struct lvsd_vrrp *vr, const struct ka_config *kc)
{
	const struct ka_lvs_syncd *sd = &kc->global.lvs_syncd;
	struct vsync *vs;
	int rc;

	if (!sd->ifname || !sd->vrrp)
		return 0;
	if (!lvsd_loop_ctx(l)->sync) {
		lvs_warn("vrrp: lvs_sync_daemon: connection sync is not available");
		return 0;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->l = l;
	vs->vr = vr;
	vs->last = -1;
	snprintf(vs->inst, sizeof(vs->inst), "%s", sd->vrrp->name);
	snprintf(vs->p.ifname, sizeof(vs->p.ifname), "%s", sd->ifname);
	vs->p.syncid = (uint8_t)(sd->syncid == KA_UNSET_U32 ? 0 : sd->syncid);
	vs->p.maxlen = (uint16_t)sd->maxlen;
	vs->p.port = (uint16_t)sd->port;
	vs->p.ttl = (uint8_t)sd->ttl;
	if (sd->group.af) {
		vs->p.group_af = sd->group.af;
		vs->p.group = sd->group.a;
	}
	if ((rc = lvsd_loop_on_free(l, vsync_free, vs))) {
		free(vs);
		return rc;
	}
	lvsd_vrrp_set_hook(vr, hook, vs);
	return 0;
}
