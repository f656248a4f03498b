/*
 * bench_ctl.c - the control-plane benchmark's tools (driven by
 * bench/ctl.py, `make bench-ctl`):
 *
 *   bench_ctl rules N D            an ipvsadm rules file: N TCP services
 *                                  (10.S.S.S:80, wlc) with D NAT real
 *                                  servers each (172.16.x.y:8080)
 *   bench_ctl weight COUNT N D     COUNT weight changes (-e) spread over
 *                                  the N services of such a file
 *   bench_ctl adddel COUNT N       COUNT/2 add + delete pairs of a real
 *                                  server, spread over N services
 *   bench_ctl blast DST PORT SEC   UDP datagrams to DST:PORT for SEC
 *                                  seconds (bounded), then prints how many
 *
 * The change commands go to lvsd exactly as lvsadm sends them (one
 * connection per command, lvs_ctl_call) and print the changes per second
 * and the slowest command's round trip, in ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void vip(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "10.%u.%u.%u:80", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

static void rip(unsigned j, char *buf, size_t len)
{
	snprintf(buf, len, "172.16.%u.%u:8080", (j >> 8) & 0xff, (j & 0xff) + 1);
}

static int rules(unsigned n, unsigned d)
{
	char v[32], r[32];

	for (unsigned i = 1; i <= n; i++) {
		vip(i, v, sizeof(v));
		printf("-A -t %s -s wlc\n", v);
		for (unsigned j = 0; j < d; j++) {
			rip(j, r, sizeof(r));
			printf("-a -t %s -r %s -m -w 1\n", v, r);
		}
	}
	return 0;
}

/* Run one lvsadm command line against lvsd; its output is discarded. */
static int call(char **argv, int argc, double *worst)
{
	FILE *out = fopen("/dev/null", "w"), *err = fopen("/dev/null", "w");
	double t0 = now_s(), dt;
	int rc;

	if (!out || !err) {
		if (out)
			fclose(out);
		if (err)
			fclose(err);
		return -ENOMEM;
	}
	rc = lvs_ctl_call(argc, argv, NULL, 0, out, err);
	dt = now_s() - t0;
	if (dt > *worst)
		*worst = dt;
	fclose(out);
	fclose(err);
	return rc;
}

/* count changes against n services of d servers; rate > 0: at most rate
 * changes per second (paced), else as fast as lvsd answers. */
static int changes(const char *kind, unsigned count, unsigned n, unsigned d, double rate)
{
	double t0 = now_s(), worst = 0;
	unsigned done = 0, failed = 0;
	char v[32], r[32], w[16];

	for (unsigned k = 0; k < count; k++) {
		/* an add and its delete go to the same service */
		unsigned i = 1 + ((strcmp(kind, "weight") ? k / 2 : k) * 7919u) % n;
		int rc;

		if (rate > 0) {
			double due = t0 + k / rate, now = now_s();
			if (due > now)
				usleep((useconds_t)((due - now) * 1e6));
		}
		vip(i, v, sizeof(v));
		if (!strcmp(kind, "weight")) {
			char *argv[] = {"lvsadm", "-e", "-t", v, "-r", r, "-m", "-w", w, NULL};
			rip(k % d, r, sizeof(r));
			snprintf(w, sizeof(w), "%u", 1 + k % 5);
			rc = call(argv, 9, &worst);
		} else {
			char *add[] = {"lvsadm", "-a", "-t", v, "-r", r, "-m", NULL};
			char *del[] = {"lvsadm", "-d", "-t", v, "-r", r, NULL};
			rip(200, r, sizeof(r)); /* not among the file's servers */
			rc = (k % 2 == 0) ? call(add, 7, &worst) : call(del, 6, &worst);
		}
		if (rc == 0)
			done++;
		else
			failed++;
	}
	{
		double dt = now_s() - t0;
		printf("%s %u changes %u failed %.3f s %.0f per_s worst_ms %.2f\n", kind, done,
		       failed, dt, dt > 0 ? done / dt : 0, worst * 1e3);
	}
	return failed ? 1 : 0;
}

static int blast(const char *dst, unsigned port, double seconds)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char payload[64] = "lvsd bench_ctl";
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	unsigned long long sent = 0;
	double end;
	int fd;

	if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = sizeof(payload);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	end = now_s() + (seconds > 30 ? 30 : seconds);
	while (now_s() < end) {
		int n = sendmmsg(fd, msgs, 64, 0);
		if (n > 0)
			sent += (unsigned)n;
		else
			usleep(100); /* ENOBUFS / refused: back off a little */
	}
	close(fd);
	printf("sent %llu\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "rules"))
		return rules((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "weight"))
		return changes("weight", (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
			       (unsigned)atoi(argv[4]), argc == 6 ? atof(argv[5]) : 0);
	if (argc == 4 && !strcmp(argv[1], "adddel"))
		return changes("adddel", (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), 1, 0);
	if (argc == 5 && !strcmp(argv[1], "blast"))
		return blast(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: bench_ctl rules N D | weight COUNT N D [RATE] | adddel COUNT N | "
			"blast DST PORT SECONDS\n");
	return 2;
}
