/*
 * checkd.h - lvsd's configuration file on the control loop: the health
 * checks of its real servers (check.h), `lvsadm --checks`, and the reload
 * on SIGHUP.
 */
#ifndef LVSD_CHECKD_H
#define LVSD_CHECKD_H

#include "ctlloop.h"
#include "kaconf.h"

/*
 * Take over kc (read from path and installed in d's model): start its
 * checks and reload path on SIGHUP.  kc is freed with the loop (also on
 * failure).  0 or -errno (logged).
 *
 * A reload reads the file again; a file with errors is refused whole
 * (FILE:LINE messages in the log) and the running configuration stays.
 * Otherwise only the difference is applied (ka_config_reload: what the
 * file did not change keeps the weights and states lvsadm and the checks
 * gave it; servers the file dropped drain), then the checks are replaced,
 * those that stay the same keeping their state (lvs_checks_reload).  A
 * reload that arrives while an lvsadm -R job runs waits for its end.
 */
int lvsd_conf_register(struct lvsd_loop *l, const char *path, struct ka_config *kc);

#endif
