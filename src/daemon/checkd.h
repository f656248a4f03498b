/*
 * checkd.h - the health checks of lvsd's configuration file on the
 * control loop (check.h), and `lvsadm --checks`.
 */
#ifndef LVSD_CHECKD_H
#define LVSD_CHECKD_H

#include "ctlloop.h"
#include "kaconf.h"

/* Start the checks of kc (installed in d's model; kc outlives the loop).
 * 0 or -errno (logged). */
int lvsd_checks_register(struct lvsd_loop *l, const struct ka_config *kc);

#endif
