/*
 * log.h - the daemon's logging: stderr (foreground) or syslog(3), with
 * -v raising the level to debug.  Control path only: the data path never
 * logs (it counts named drop reasons instead, drop.h).
 */
#ifndef LVS_LOG_H
#define LVS_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). */
void lvs_log_open(const char *ident, bool use_syslog, int max_level);
void lvs_log_close(void);
/* The syslog facility (LOG_DAEMON unless set; before lvs_log_open). */
void lvs_log_set_facility(int facility);
/* Also copy syslog messages to stderr (a daemon starting in the
 * background, until it is ready: start-up errors reach the terminal). */
void lvs_log_also_stderr(bool on);
void lvs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool lvs_log_enabled(int level);

#define lvs_err(...) lvs_log(LOG_ERR, __VA_ARGS__)
#define lvs_warn(...) lvs_log(LOG_WARNING, __VA_ARGS__)
#define lvs_notice(...) lvs_log(LOG_NOTICE, __VA_ARGS__)
#define lvs_info(...) lvs_log(LOG_INFO, __VA_ARGS__)
#define lvs_debug(...) lvs_log(LOG_DEBUG, __VA_ARGS__)

#endif
