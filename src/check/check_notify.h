/*
 * check_notify.h - notify scripts (notify_up / notify_down of a real
 * server, quorum_up / quorum_down of a virtual server), started without
 * waiting and reaped on the loop.
 */
#ifndef LVS_CHECK_NOTIFY_H
#define LVS_CHECK_NOTIFY_H

#include <event2/event.h>

/* Run cmdline (split into words as keepalived splits script lines:
 * blanks, double quotes; no shell) in the background; it is reaped from
 * base when it exits, and killed after LVS_NOTIFY_TIMEOUT_S.  what names
 * it in the log.  0 or -errno (logged). */
#define LVS_NOTIFY_TIMEOUT_S 60
int lvs_check_notify(struct event_base *base, const char *cmdline, const char *what);

/* Split a script line into argv (malloc'd, one block: free(argv)); NULL
 * without memory or for an empty line. */
char **lvs_script_argv(const char *cmdline);

#endif
