/*
 * check.h - health checks: keepalived's checkers for the real servers of
 * a keepalived.conf, run on a checker thread, and what their verdicts do
 * to the model (keepalived's check/ipwrapper.c is the reference).
 *
 * Each real server of each virtual server has its checkers (TCP_CHECK,
 * HTTP_GET, ...).  A checker is up until a probe fails `retry` more times
 * in a row, delay_before_retry apart; then it is down until a probe
 * passes.  Probes run every delay_loop, the first after a random part of
 * warmup.  A server is alive while all its checkers are up (alpha: it
 * starts failed and its checkers down until they pass).  A server that
 * fails leaves the service (health DOWN), or stays with weight 0
 * (QUIESCED) under inhibit_on_failure; notify_up / notify_down run.
 *
 * The quorum: while the alive servers' weights add up to at least
 * quorum + hysteresis the service has its quorum; it loses it below
 * quorum - hysteresis (quorum_up / quorum_down run).  Without quorum a
 * sorry server, when configured, takes the place of the alive servers;
 * with it again, the sorry server leaves (or stays at weight 0 with
 * sorry_server_inhibit).  omega: on shutdown the down notifications run
 * as well.
 *
 * An identical check of the same target (same type, address, port,
 * parameters) under several virtual servers runs once, and its verdict
 * serves every server that has it.  MISC_CHECK with misc_dynamic and
 * FILE_CHECK also move the server's weight: it is the configured weight
 * plus each FILE_CHECK's adjustment plus W - configured for each
 * misc_dynamic weight W, as keepalived sums its checkers' weights.
 *
 * The functions here are the control thread's; the probes run on a
 * checker thread of their own (check.c), whose verdicts the control loop
 * applies.
 */
#ifndef LVS_CHECK_H
#define LVS_CHECK_H

#include <event2/event.h>
#include <stdio.h>

#include "kaconf.h"
#include "model.h"

struct lvs_checks;

/* Called around every change the checks make to the model (a probe's
 * callback is a plain event of base): begin before, end after (the daemon
 * brings its thread online for RCU, then updates its guard and goes
 * offline again).  May be NULL. */
struct lvs_checks_hooks {
	void (*begin)(void *arg);
	void (*end)(void *arg);
	/* true while the model is in someone else's open batch (an lvsadm -R
	 * job): the checks' changes wait for its end.  May be NULL. */
	bool (*busy)(void *arg);
	void *arg;
};

/* Checks on base against model m (the file's services must be installed,
 * ka_config_apply).  NULL without memory. */
struct lvs_checks *lvs_checks_new(struct event_base *base, struct lvs_model *m,
				  const struct lvs_checks_hooks *hooks);
/*
 * Start the checks of c (which must outlive them, until lvs_checks_free):
 * the servers' start states are those ka_config_apply installed.  0, or
 * -errno with "message" in err (nothing started then).
 */
int lvs_checks_start(struct lvs_checks *cs, const struct ka_config *c, char *err, size_t errlen);
/*
 * A reload: the checks of c (the new file, installed in the model with
 * ka_config_reload) replace those running.  A check that is the same in
 * both keeps its state and figures (a server still failing stays out),
 * new ones start as at start-up; then the model is brought to the
 * states.  0, or -errno with a message in err (the old checks go on).
 */
int lvs_checks_reload(struct lvs_checks *cs, const struct ka_config *c, char *err, size_t errlen);
/* Stop every probe (omega: run the down notifications) and free. */
void lvs_checks_free(struct lvs_checks *cs);

/* The companion listing (`lvsadm --checks`): one line per checker with
 * its target, state, reason, probes and failures, under its real server
 * and virtual server. */
void lvs_checks_print(const struct lvs_checks *cs, FILE *f);

struct lvs_checks_stats {
	uint64_t probes, failures;  /* probes finished, of them failed */
	uint64_t overruns;          /* probes cancelled at their deadline */
	unsigned checks, checks_up; /* distinct checks, of them up */
	unsigned servers, servers_alive;
	/* how late probes started against their schedule (us) */
	uint64_t late_n, late_p50_us, late_p99_us, late_max_us;
};
void lvs_checks_get_stats(const struct lvs_checks *cs, struct lvs_checks_stats *s);
/* The probes' start lateness as a cumulative histogram: cum[i] counts the
 * probes that started at most le_us[i] late (le_us ascending; the figures
 * are kept in 100 us steps up to 1 s, so a bound is rounded down to one),
 * *count all of them, *sum_us their total lateness. */
void lvs_checks_late_hist(const struct lvs_checks *cs, const uint64_t *le_us, unsigned n,
			  uint64_t *cum, uint64_t *count, uint64_t *sum_us);

/* One distinct check, for the metrics (type valid until the checks are
 * freed). */
struct lvs_check_info {
	const char *type;          /* keepalived's keyword: "TCP_CHECK" */
	uint8_t af;                /* the target probed */
	union lvs_addr addr;
	uint16_t port;             /* host order */
	bool up;
	uint64_t probes, failures;
	uint64_t last_ns;          /* the last probe's duration, 0 before any */
	char why[96];              /* the last failure's reason, "" when up */
};
/* The i-th distinct check (creation order, i < checks of the stats):
 * 0, or -ENOENT past the last. */
int lvs_checks_info(const struct lvs_checks *cs, unsigned i, struct lvs_check_info *out);

#endif
