/*
 * estimator.h - the rate estimator behind `lvsadm -L --rate`, as kernel
 * IPVS computes it (net/netfilter/ipvs/ip_vs_est.c).
 *
 * Every 2 seconds the counters of a service or destination are sampled;
 * the increase since the previous sample, as a per-second rate, is folded
 * into an exponentially weighted moving average with weight 1/4:
 *
 *     avg += (rate - avg) / 4      (floor division, as the kernel's >> 2)
 *
 * Connection and packet rates are kept scaled by 2^10, byte rates by 2^5,
 * and rounded to whole units when read.  With samples exactly 2 s apart
 * the arithmetic is the kernel's bit for bit; a late sample is divided by
 * the time that really passed, so a stalled control thread does not show
 * a burst.
 *
 * Pure: no clock, no locks.  Each service and destination state carries
 * its struct lvs_est (model.h), as the kernel's stats carry theirs; the
 * control thread feeds it the raw counter sums
 * (lvs_counters_sum over the per-worker counters, NOT the values since the
 * last -Z), as the kernel feeds its estimator the raw totals.
 */
#ifndef LVS_ESTIMATOR_H
#define LVS_ESTIMATOR_H

#include "lvs_types.h"

#define LVS_EST_INTERVAL_NS (2 * LVS_NS_PER_SEC)
/* A sample taken up to this much early still counts (timer jitter). */
#define LVS_EST_SLACK_NS (LVS_NS_PER_SEC / 10)

/* Per-second rates as ipvsadm --rate shows them (CPS InPPS OutPPS InBPS
 * OutBPS). */
struct lvs_rate {
	uint64_t cps;
	uint64_t inpps;
	uint64_t outpps;
	uint64_t inbps;
	uint64_t outbps;
};

struct lvs_est {
	struct lvs_counters last; /* raw sums at the previous sample */
	lvs_time_t last_time;
	int64_t cps, inpps, outpps; /* averages, scaled by 2^10 */
	int64_t inbps, outbps;      /* averages, scaled by 2^5 */
};

/* Start estimating from the current sums: rates 0, next sample due 2 s
 * after now. */
void lvs_est_init(struct lvs_est *e, const struct lvs_counters *sum, lvs_time_t now);

/*
 * Take a sample if one is due (at least LVS_EST_INTERVAL_NS -
 * LVS_EST_SLACK_NS since the previous one).  Returns true if a sample was
 * taken, false if it is too early (or the clock went backwards; then the
 * call only re-bases the time).  A counter that went down (it was reset)
 * counts as no traffic for this interval.  Control path.
 */
bool lvs_est_update(struct lvs_est *e, const struct lvs_counters *sum, lvs_time_t now);

/* Current rates, rounded as the kernel's ip_vs_read_estimator(). */
void lvs_est_read(const struct lvs_est *e, struct lvs_rate *out);

/* -Z: rates back to 0, the current sums become the reference (kernel
 * ip_vs_zero_estimator); the sampling phase is kept. */
void lvs_est_zero(struct lvs_est *e, const struct lvs_counters *sum);

#endif
