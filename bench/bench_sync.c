/*
 * bench_sync.c - connection sync at about 10,000 new connections a second
 * (`make bench-sync`; a benchmark, not a test: it asserts nothing).
 *
 * The master side runs the data path's part as a worker would: each new
 * TCP connection is created by its SYN and gets two more client packets
 * (ACK, then data: the kernel's sync_threshold packet, which reports it),
 * paced to the target rate; a sync thread drains the report ring every
 * 10 ms, packs v1 messages of sync_maxlen 1472 and sends them over UDP on
 * loopback to a backup thread, which parses and imports every entry into
 * a connection table of its own, bound to the destinations of its own
 * model.  Printed: messages per second, entries per message, the backup
 * thread's CPU time per imported connection (CLOCK_THREAD_CPUTIME_ID)
 * and the master sync thread's, with the machine and the conditions.
 * Bounded: BENCH_SECONDS (default 5) seconds of load, at most 200,000
 * connections.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "sync_engine.h"

#define RATE       10000 /* new connections per second */
#define MAX_CONNS  200000
#define TABLE_SIZE (1u << 20)

static double now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static lvs_time_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lvs_time_t)ts.tv_sec * LVS_NS_PER_SEC + (lvs_time_t)ts.tv_nsec;
}

static struct lvs_model *model_new(void)
{
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf sc;
	struct lvs_svc_key k;

	memset(&sc, 0, sizeof(sc));
	sc.af = AF_INET;
	sc.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "203.0.113.10", &sc.addr.ip4);
	sc.port = htons(80);
	if (!m || lvs_model_add_service(m, &sc))
		exit(1);
	lvs_svc_conf_key(&sc, &k);
	for (int i = 0; i < 3; i++) {
		struct lvs_dest_conf d;
		char a[32];

		lvs_dest_conf_defaults(&d);
		d.af = AF_INET;
		snprintf(a, sizeof(a), "192.0.2.%d", 11 + i);
		inet_pton(AF_INET, a, &d.addr.ip4);
		d.port = htons(80);
		if (lvs_model_add_dest(m, &k, &d))
			exit(1);
	}
	return m;
}

struct backup {
	int fd;
	volatile int stop;
	struct sync_counters cnt;
	struct sync_backup bk;
	double cpu;
};

static void *backup_main(void *arg)
{
	struct backup *b = arg;
	static uint8_t buf[65536];
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);

	while (!b->stop) {
		ssize_t n = recv(b->fd, buf, sizeof(buf), 0);

		if (n > 0)
			sync_backup_input(&b->bk, buf, (size_t)n, mono_ns());
	}
	b->cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

struct master {
	int fd;
	struct sockaddr_in dst;
};

static int send_udp(void *arg, const uint8_t *buf, size_t len)
{
	struct master *m = arg;

	return sendto(m->fd, buf, len, 0, (struct sockaddr *)&m->dst, sizeof(m->dst)) < 0 ? -errno
	                                                                                  : 0;
}

int main(void)
{
	const char *e = getenv("BENCH_SECONDS");
	double secs = e ? atof(e) : 5.0, t0, tend, sync_cpu = 0;
	struct lvs_conn_table *mct = lvs_conn_table_new(TABLE_SIZE, 1);
	struct lvs_model *mm = model_new(), *bm = model_new();
	struct backup b;
	struct master ms;
	struct sync_counters mcnt;
	struct sync_packer pk;
	struct lvs_sync_tap tap;
	struct lvs_sync_rec recs[256];
	struct lvs_dest_state ds;
	struct utsname u;
	pthread_t th;
	socklen_t sl = sizeof(ms.dst);
	int rcvbuf = 8 << 20, timeo_ms = 100;
	struct timeval tv = {0, timeo_ms * 1000};
	long conns = 0;
	char cpu[128] = "?";
	FILE *ci = fopen("/proc/cpuinfo", "r");

	if (ci) {
		char line[256];
		while (fgets(line, sizeof(line), ci))
			if (!strncmp(line, "model name", 10)) {
				snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
				cpu[strcspn(cpu, "\n")] = 0;
				break;
			}
		fclose(ci);
	}
	if (secs <= 0 || secs > 30)
		secs = 5;
	memset(&b, 0, sizeof(b));
	memset(&mcnt, 0, sizeof(mcnt));
	memset(&ds, 0, sizeof(ds));
	b.bk.ct = lvs_conn_table_new(TABLE_SIZE, 1);
	b.bk.model = bm;
	b.bk.cnt = &b.cnt;
	b.fd = socket(AF_INET, SOCK_DGRAM, 0);
	ms.fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ms.dst, 0, sizeof(ms.dst));
	ms.dst.sin_family = AF_INET;
	ms.dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(b.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!mct || !b.bk.ct || b.fd < 0 || ms.fd < 0 ||
	    bind(b.fd, (struct sockaddr *)&ms.dst, sizeof(ms.dst)) ||
	    getsockname(b.fd, (struct sockaddr *)&ms.dst, &sl) ||
	    lvs_sync_tap_init(&tap, 1, 8192) ||
	    sync_packer_init(&pk, sync_maxlen_for_mtu(1500, false), 1, send_udp, &ms, &mcnt)) {
		perror("setup");
		return 1;
	}
	(void)mm;
	pthread_create(&th, NULL, backup_main, &b);

	t0 = now_s(CLOCK_MONOTONIC);
	tend = t0 + secs;
	while (now_s(CLOCK_MONOTONIC) < tend && conns < MAX_CONNS) {
		/* one 10 ms tick: this tick's connections, then the sync thread's
		 * turn (timed apart) */
		double tick0 = now_s(CLOCK_MONOTONIC), c0;
		long due = (long)((tick0 - t0 + 0.01) * RATE);

		for (; conns < due && conns < MAX_CONNS; conns++) {
			struct lvs_conn_param p;
			struct lvs_pkt_info pi;
			struct lvs_conn *c;
			lvs_time_t now = mono_ns();

			memset(&p, 0, sizeof(p));
			p.af = p.daf = AF_INET;
			p.proto = IPPROTO_TCP;
			p.fwd = LVS_FWD_ROUTE;
			p.caddr.ip4 = htonl(0xc6336400u + (uint32_t)(conns >> 16));
			p.cport = htons((uint16_t)(1024 + (conns & 0xffff) % 60000));
			inet_pton(AF_INET, "203.0.113.10", &p.vaddr.ip4);
			inet_pton(AF_INET, "192.0.2.11", &p.daddr.ip4);
			p.daddr.ip4 = htonl(ntohl(p.daddr.ip4) + (uint32_t)(conns % 3));
			p.vport = p.dport = htons(80);
			memset(&pi, 0, sizeof(pi));
			pi.tcp_flags = 0x02;
			c = lvs_conn_create_pkt(mct, 0, &p, &ds, NULL, LVS_DIR_INPUT_ONLY, &pi, now);
			if (!c)
				break;
			lvs_sync_conn_pkt(&tap, mct, 0, c);
			pi.tcp_flags = 0x10;
			lvs_conn_update(mct, 0, c, LVS_DIR_INPUT_ONLY, &pi, now);
			lvs_sync_conn_pkt(&tap, mct, 0, c);
			pi.tcp_flags = 0x18;
			lvs_conn_update(mct, 0, c, LVS_DIR_INPUT_ONLY, &pi, now);
			lvs_sync_conn_pkt(&tap, mct, 0, c);
		}
		c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		for (unsigned n; (n = lvs_sync_ring_pop(&tap.ring[0], recs, 256)) > 0;)
			for (unsigned k = 0; k < n; k++) {
				struct sync_conn sc;

				sync_conn_from_rec(&recs[k], &sc);
				sync_packer_add(&pk, &sc, mono_ns());
			}
		sync_cpu += now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		{
			double left = tick0 + 0.01 - now_s(CLOCK_MONOTONIC);
			if (left > 0)
				usleep((useconds_t)(left * 1e6));
		}
	}
	sync_packer_flush(&pk);
	t0 = now_s(CLOCK_MONOTONIC) - t0;
	usleep(300000); /* the backup takes the last messages */
	b.stop = 1;
	pthread_join(th, NULL);

	uname(&u);
	printf("Connection sync (IPVS sync protocol v1), master -> backup over UDP on loopback\n");
	printf("machine: %s, %ld CPUs, %s %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), u.sysname,
	       u.release);
	printf("conditions: %.1f s at %d new TCP connections/s (3 client packets each, "
	       "reported at the 3rd), sync_maxlen %zu, DR, IPv4\n\n",
	       t0, RATE, sync_maxlen_for_mtu(1500, false));
	printf("%-44s %12s\n", "metric", "value");
	printf("%-44s %12ld\n", "connections created (master)", conns);
	printf("%-44s %12llu\n", "entries sent", (unsigned long long)mcnt.conns_sent);
	printf("%-44s %12.0f\n", "sync messages per second", mcnt.msgs_sent / t0);
	printf("%-44s %12.1f\n", "entries per message",
	       mcnt.msgs_sent ? (double)mcnt.conns_sent / mcnt.msgs_sent : 0.0);
	printf("%-44s %12llu\n", "report ring drops",
	       (unsigned long long)lvs_sync_ring_drops(&tap.ring[0]));
	printf("%-44s %12llu\n", "messages received (backup)", (unsigned long long)b.cnt.msgs_received);
	printf("%-44s %12llu\n", "connections imported (backup)",
	       (unsigned long long)b.cnt.conns_imported);
	printf("%-44s %12.2f\n", "backup CPU per synced connection (us)",
	       b.cnt.conns_imported ? b.cpu * 1e6 / b.cnt.conns_imported : 0.0);
	printf("%-44s %12.1f\n", "backup CPU (% of one core)", b.cpu / t0 * 100);
	printf("%-44s %12.2f\n", "master sync thread CPU per connection (us)",
	       mcnt.conns_sent ? sync_cpu * 1e6 / mcnt.conns_sent : 0.0);
	sync_packer_free(&pk);
	lvs_sync_tap_free(&tap);
	close(b.fd);
	close(ms.fd);
	return 0;
}
