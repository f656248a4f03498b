/*
 * check_file.c - FILE_CHECK: the real server's state follows a number
 * written in a tracked file (keepalived's check/check_file.c with the
 * reading and the arithmetic of trackers/track_file.c).
 *
 * keepalived reads the file (at most 127 bytes) with strtol(buf, NULL, 0):
 * decimal, 0x hex or 0 octal, anything unparsable is 0, and a missing or
 * empty file is 0.  With the checker's weight (the track_file's when the
 * checker gives none) w and reverse r (multiplier -1, else 1):
 *   - w == 0: the value is a status, 0 up and non-zero down (reverse: 0
 *     down, non-zero up); the weight is left alone;
 *   - w != 0: value * w * multiplier, clamped to int32, is added to the
 *     real server's configured weight; INT32_MIN means down.
 * A value outside [INT32_MIN, INT32_MAX + 1] is ignored by keepalived
 * (the previous state stays); a probe has no previous state, so it fails
 * with "invalid number".
 *
 * The adjustment goes to the core as the probe's delta (check.c adds it to
 * the configured weight, as keepalived sums its checkers' weights).
 *
 * Only a regular file is read (stat first): a FIFO or a device is treated
 * as a missing file, so a probe can neither block nor trigger a device's
 * side effects.  The answer is known inside start; it is delivered from a
 * zero-timeout timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker.h"

/* The number in path, as keepalived reads it: 0 when missing, empty,
 * unreadable or not a regular file.  -ERANGE when out of range. */
static int file_read_value(const char *path, int64_t *out)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	long long v;
	int fd;

	*out = 0;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	/* swapped for something else between stat and open */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, NULL, 0);
	if (errno || v < (long long)INT32_MIN || v > (long long)INT32_MAX + 1)
		return -ERANGE;
	*out = v;
	return 0;
}

static int file_start(struct lvs_probe *p)
{
	const struct ka_checker *c = p->cfg;
	int32_t w = c->file_weight;
	int mult = c->file_weight_reverse ? -1 : 1;
	int64_t v, adj;
	char why[96];

	if (!c->tf || !c->tf->path)
		return -EINVAL;
	if (w == INT32_MIN)
		w = c->tf->weight;
	if (file_read_value(c->tf->path, &v)) {
		snprintf(why, sizeof(why), "invalid number in %s", c->tf->path);
		return lvs_probe_verdict_later(p, LVS_PROBE_FAIL, -1, why);
	}
	if (!w) {
		bool down = (v != 0) == (mult == 1);

		snprintf(why, sizeof(why), "value %" PRId64, v);
		return lvs_probe_verdict_later(p, down ? LVS_PROBE_FAIL : LVS_PROBE_OK, -1,
					       down ? why : NULL);
	}
	adj = v * w * mult; /* |v| <= 2^31, |w| <= 254: no overflow */
	if (adj <= INT32_MIN) {
		snprintf(why, sizeof(why), "value %" PRId64 ": weight fault", v);
		return lvs_probe_verdict_later(p, LVS_PROBE_FAIL, -1, why);
	}
	if (adj > INT32_MAX)
		adj = INT32_MAX;
	p->has_delta = true;
	p->delta = (int32_t)adj;
	return lvs_probe_verdict_later(p, LVS_PROBE_OK, -1, NULL);
}

const struct lvs_checker_ops lvs_check_file = {
	.type = KA_CHECK_FILE,
	.name = "FILE_CHECK",
	.start = file_start,
	.cancel = lvs_probe_verdict_cancel,
};
