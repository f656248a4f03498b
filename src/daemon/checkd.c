/*
 * checkd.c - the health checks on the control loop.  Their probes are
 * plain events of the loop's base; around each change they make to the
 * model the thread is brought online for RCU and, afterwards, the VIPs
 * and the host guard are brought up to date (as after an lvsadm command).
 */
#include <errno.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "check.h"
#include "checkd.h"
#include "log.h"

static void checks_begin(void *arg)
{
	(void)arg;
	rcu_thread_online();
}

static void checks_end(void *arg)
{
	lvsd_loop_vips_sync(arg, false);
	rcu_thread_offline();
}

static void checks_print(void *arg, FILE *out)
{
	lvs_checks_print(arg, out);
}

static void checks_free(void *arg)
{
	lvs_checks_free(arg);
}

int lvsd_checks_register(struct lvsd_loop *l, const struct ka_config *kc)
{
	struct lvsd *d = lvsd_loop_ctx(l);
	const struct lvs_checks_hooks hooks = {.begin = checks_begin, .end = checks_end, .arg = l};
	struct lvs_checks *cs = lvs_checks_new(lvsd_loop_base(l), d->dir.model, &hooks);
	char err[256];
	int rc;

	if (!cs)
		return -ENOMEM;
	rc = lvs_checks_start(cs, kc, err, sizeof(err));
	if (rc) {
		lvs_err("%s", err);
		lvs_checks_free(cs);
		return rc;
	}
	if ((rc = lvsd_loop_on_free(l, checks_free, cs))) {
		lvs_checks_free(cs);
		return rc;
	}
	d->cst->checks = checks_print;
	d->cst->checks_arg = cs;
	return 0;
}
