/*
 * log.c - stderr or syslog logging for lvsd (see log.h).  Messages to
 * stderr carry the level and a timestamp-free prefix, since journald and
 * terminals add their own time.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static bool log_syslog, log_dup;
static int log_max = LOG_INFO;
static const char *log_ident = "lvsd";
static int log_facility = LOG_DAEMON;

void lvs_log_open(const char *ident, bool use_syslog, int max_level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_max = max_level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, log_facility);
}

void lvs_log_also_stderr(bool on)
{
	log_dup = on;
}

void lvs_log_close(void)
{
	if (log_syslog)
		closelog();
	log_syslog = false;
}

bool lvs_log_enabled(int level)
{
	return level <= log_max;
}

void lvs_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	char buf[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(level, "%s", buf);
	if (!log_syslog || log_dup)
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[level & 7], buf);
}

void lvs_log_set_facility(int facility)
{
	log_facility = facility;
}
