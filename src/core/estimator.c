/*
 * estimator.c - kernel IPVS's rate estimator (ip_vs_est.c), for
 * `lvsadm -L --rate`.
 *
 * The kernel samples every 2 s and turns the increase of each counter into
 * a rate pre-scaled for its fixed-point averages: "<< 9" is "* 2^10 / 2 s"
 * for connections and packets, "<< 4" is "* 2^5 / 2 s" for bytes.  We
 * divide by the measured interval instead of the nominal 2 s, which is the
 * same number when the interval is exactly 2 s.
 */
#include "estimator.h"

#define EST_SHIFT_PKT 10 /* cps, pps averages carry 10 fraction bits */
#define EST_SHIFT_BYTE 5 /* bps averages carry 5 */
#define EST_RATE_MAX (INT64_C(1) << 62) /* keeps avg arithmetic in range */

/* The increase of a counter, scaled by 2^shift per second of interval. */
static int64_t scaled_rate(uint64_t cur, uint64_t last, unsigned shift, uint64_t elapsed_ns)
{
	unsigned __int128 r;

	if (cur <= last)
		return 0; /* no traffic, or the counter was reset under us */
	r = (unsigned __int128)(cur - last) << shift;
	r = r * LVS_NS_PER_SEC / elapsed_ns;
	return r > EST_RATE_MAX ? EST_RATE_MAX : (int64_t)r;
}

/* avg += (rate - avg) >> 2, with the kernel's arithmetic (flooring) shift
 * spelled out so it does not depend on the compiler. */
static void ewma(int64_t *avg, int64_t rate)
{
	int64_t d = rate - *avg;

	*avg += d >= 0 ? d >> 2 : -((-d + 3) >> 2);
}

void lvs_est_init(struct lvs_est *e, const struct lvs_counters *sum, lvs_time_t now)
{
	memset(e, 0, sizeof(*e));
	e->last = *sum;
	e->last_time = now;
}

bool lvs_est_update(struct lvs_est *e, const struct lvs_counters *sum, lvs_time_t now)
{
	uint64_t elapsed;

	if (now < e->last_time) {
		/* clock jumped back: restart the interval, keep the averages */
		e->last_time = now;
		e->last = *sum;
		return false;
	}
	elapsed = now - e->last_time;
	if (elapsed < LVS_EST_INTERVAL_NS - LVS_EST_SLACK_NS)
		return false;

	ewma(&e->cps, scaled_rate(sum->conns, e->last.conns, EST_SHIFT_PKT, elapsed));
	ewma(&e->inpps, scaled_rate(sum->inpkts, e->last.inpkts, EST_SHIFT_PKT, elapsed));
	ewma(&e->outpps, scaled_rate(sum->outpkts, e->last.outpkts, EST_SHIFT_PKT, elapsed));
	ewma(&e->inbps, scaled_rate(sum->inbytes, e->last.inbytes, EST_SHIFT_BYTE, elapsed));
	ewma(&e->outbps, scaled_rate(sum->outbytes, e->last.outbytes, EST_SHIFT_BYTE, elapsed));
	e->last = *sum;
	e->last_time = now;
	return true;
}

/* Round to nearest, as ip_vs_read_estimator() does (+0x1FF before >> 10
 * is just under one half). */
static uint64_t unscale(int64_t avg, unsigned shift)
{
	if (avg <= 0)
		return 0;
	return ((uint64_t)avg + ((UINT64_C(1) << (shift - 1)) - 1)) >> shift;
}

void lvs_est_read(const struct lvs_est *e, struct lvs_rate *out)
{
	out->cps = unscale(e->cps, EST_SHIFT_PKT);
	out->inpps = unscale(e->inpps, EST_SHIFT_PKT);
	out->outpps = unscale(e->outpps, EST_SHIFT_PKT);
	out->inbps = unscale(e->inbps, EST_SHIFT_BYTE);
	out->outbps = unscale(e->outbps, EST_SHIFT_BYTE);
}

void lvs_est_zero(struct lvs_est *e, const struct lvs_counters *sum)
{
	e->last = *sum;
	e->cps = e->inpps = e->outpps = 0;
	e->inbps = e->outbps = 0;
}
