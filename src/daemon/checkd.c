/*
 * checkd.c - the configuration file on the control loop: its health
 * checks and their reload (see checkd.h).  The checks' probes are plain
 * events of the loop's base; around each change they make to the model
 * the thread is brought online for RCU and, afterwards, the VIPs and the
 * host guard are brought up to date (as after an lvsadm command).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "check.h"
#include "checkd.h"
#include "confload.h"
#include "ctl.h"
#include "log.h"
#include "passive.h"
#include "vrrpd.h"

/* A reload held back by an unfinished lvsadm -R job: tried again. */
#define RELOAD_RETRY_MS 100

struct conf {
	struct lvsd_loop *l;
	bool online; /* inside a callback of the loop's own: RCU is online */
	char *path;
	struct ka_config *kc;
	struct lvs_checks *cs;
	struct event *retry;
};

static void checks_begin(void *arg)
{
	struct conf *cf = arg;

	if (!cf->online)
		rcu_thread_online();
}

static void checks_end(void *arg)
{
	struct conf *cf = arg;

	lvsd_loop_vips_sync(cf->l, false);
	if (!cf->online)
		rcu_thread_offline();
}

static bool checks_busy(void *arg)
{
	struct conf *cf = arg;

	return lvs_ctl_busy(lvsd_loop_ctx(cf->l)->cst);
}

static void checks_print(void *arg, FILE *out)
{
	struct conf *cf = arg;

	lvs_checks_print(cf->cs, out);
	lvsd_passive_print(lvsd_loop_ctx(cf->l)->passive, out);
}

static void conf_free(void *arg)
{
	struct conf *cf = arg;

	if (cf->l)
		lvsd_loop_ctx(cf->l)->checks = NULL;
	lvs_checks_free(cf->cs);
	if (cf->retry)
		event_free(cf->retry);
	ka_config_free(cf->kc);
	free(cf->path);
	free(cf);
}

static void reload_now(struct conf *cf, struct lvsd *d);

static void reload(void *arg)
{
	struct conf *cf = arg;
	struct lvsd *d = lvsd_loop_ctx(cf->l);

	cf->online = true; /* SIGHUP's callback or retry_cb */
	reload_now(cf, d);
	cf->online = false;
}

static void reload_now(struct conf *cf, struct lvsd *d)
{
	struct ka_config *nk;
	char err[512];
	int rc;

	if (lvs_ctl_busy(d->cst)) {
		struct timeval tv = {.tv_usec = RELOAD_RETRY_MS * 1000};

		lvs_info("reload: waiting for the running lvsadm -R");
		evtimer_add(cf->retry, &tv);
		return;
	}
	lvs_notice("reload: reading %s", cf->path);
	nk = lvsd_conf_read(cf->path);
	if (!nk) {
		lvs_err("reload: %s has errors (above): the running configuration stays",
			cf->path);
		return;
	}
	rc = ka_config_reload(cf->kc, nk, d->dir.model, err, sizeof(err));
	if (rc) {
		lvs_err("reload: %s: the running configuration stays", err);
		ka_config_free(nk);
		return;
	}
	rc = lvs_checks_reload(cf->cs, nk, err, sizeof(err));
	if (rc) {
		/* the model has the new file; the old checks keep judging the
		 * servers both files have (they refer to the old file, kept) */
		lvs_err("reload: health checks: %s: the previous checks go on", err);
		ka_config_free(nk);
		lvsd_loop_vips_sync(cf->l, false);
		return;
	}
	if (d->vrrp)
		lvsd_vrrp_reload(d->vrrp, nk);
	ka_config_free(cf->kc);
	cf->kc = nk;
	lvsd_loop_vips_sync(cf->l, false);
	lvs_notice("reload: %u virtual servers from %s", nk->nvs, cf->path);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rcu_thread_online();
	reload(arg);
	rcu_thread_offline();
}

int lvsd_conf_register(struct lvsd_loop *l, const char *path, struct ka_config *kc)
{
	struct lvsd *d = lvsd_loop_ctx(l);
	struct conf *cf = calloc(1, sizeof(*cf));
	const struct lvs_checks_hooks hooks = {
	        .begin = checks_begin, .end = checks_end, .busy = checks_busy, .arg = cf};
	char err[256];
	int rc = -ENOMEM;

	if (!cf) {
		ka_config_free(kc);
		return rc;
	}
	cf->l = l;
	cf->kc = kc;
	cf->path = strdup(path);
	cf->cs = lvs_checks_new(lvsd_loop_base(l), d->dir.model, &hooks);
	cf->retry = evtimer_new(lvsd_loop_base(l), retry_cb, cf);
	if (!cf->path || !cf->cs || !cf->retry)
		goto fail;
	rc = lvs_checks_start(cf->cs, kc, err, sizeof(err));
	if (rc) {
		lvs_err("%s", err);
		goto fail;
	}
	if ((rc = lvsd_loop_on_free(l, conf_free, cf)))
		goto fail;
	d->cst->checks = checks_print;
	d->cst->checks_arg = cf;
	d->checks = cf->cs;
	lvsd_loop_set_reload(l, reload, cf);
	return 0;
fail:
	conf_free(cf);
	return rc;
}
