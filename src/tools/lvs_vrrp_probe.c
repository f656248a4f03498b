/*
 * lvs-vrrp-probe - send or receive VRRP adverts through lvsd's VRRP socket
 * layer (src/vrrp/vrrp_sock.c), for tests against other VRRP speakers.
 *
 *   lvs-vrrp-probe send --if IF [--af 4|6] [--version 2|3] --vrid N [--prio N]
 *                  [--int-cs N] [--auth-pass PW] [--src ADDR] [--peer ADDR]...
 *                  [--count N] [--interval-ms N] --addr VIP...
 *   lvs-vrrp-probe recv --if IF [--af 4|6] [--seconds N] [--count N]
 *                  [--src ADDR] [--peer ADDR]...
 *
 * send: --count adverts (default 1) every --interval-ms (default the
 * advert interval), as a master would.  recv: one line per datagram until
 * --count adverts or --seconds (default 5) have passed:
 *
 *   advert v3 vrid 51 prio 150 int_cs 100 auth none src 10.0.0.1 addrs 10.0.0.100
 *   drop bad_checksum src 10.0.0.1
 *
 * Exit status: 0, 1 on a socket or send error, 2 on a bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "vrrp_sock.h"

static const char usage_text[] =
        "usage: lvs-vrrp-probe send --if IF [--af 4|6] [--version 2|3] --vrid N [--prio N]\n"
        "                      [--int-cs N] [--auth-pass PW] [--src ADDR] [--peer ADDR]...\n"
        "                      [--count N] [--interval-ms N] --addr VIP...\n"
        "       lvs-vrrp-probe recv --if IF [--af 4|6] [--seconds N] [--count N]\n"
        "                      [--src ADDR] [--peer ADDR]...\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "lvs-vrrp-probe: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_adv(const struct vrrp_adv *a, uint8_t af, const union lvs_addr *src)
{
	char buf[INET6_ADDRSTRLEN];

	printf("advert v%u vrid %u prio %u int_cs %u auth ", a->version, a->vrid, a->priority,
	       a->adver_int_cs);
	if (a->version == 2 && a->auth_type == VRRP_AUTH_PASS)
		printf("pass:%.*s", VRRP_V2_AUTH_LEN, a->auth_pass);
	else
		printf("%s", a->version == 2 && a->auth_type ? "other" : "none");
	printf(" src %s addrs", lvs_addr_str(af, src, buf, sizeof(buf)));
	for (unsigned i = 0; i < a->naddr; i++)
		printf(" %s", lvs_addr_str(af, &a->addrs[i], buf, sizeof(buf)));
	printf("\n");
}

static int do_recv(struct vrrp_sock *s, long seconds, long count)
{
	static struct vrrp_adv adv;
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	char buf[INET6_ADDRSTRLEN];
	union lvs_addr src;
	long got = 0;

	while (got < count) {
		uint64_t t = now_ms();
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		int r;

		if (t >= end)
			break;
		if (poll(&p, 1, (int)(end - t)) < 0 && errno != EINTR)
			return 1;
		while ((r = vrrp_sock_recv(s, &adv, &src)) != -EAGAIN) {
			if (r < 0) {
				fprintf(stderr, "lvs-vrrp-probe: recv: %s\n", strerror(-r));
				return 1;
			}
			if (r > 0)
				printf("drop %s src %s\n", vrrp_drop_name(r),
				       lvs_addr_str(s->af, &src, buf, sizeof(buf)));
			else {
				print_adv(&adv, s->af, &src);
				got++;
			}
			fflush(stdout);
			if (got >= count)
				break;
		}
	}
	return 0;
}

static int do_send(struct vrrp_sock *s, const struct vrrp_adv *a, long count, long interval_ms)
{
	for (long i = 0; i < count; i++) {
		int r = vrrp_sock_send(s, a);

		if (r < 0) {
			fprintf(stderr, "lvs-vrrp-probe: send: %s\n", strerror(-r));
			return 1;
		}
		if (i + 1 < count) {
			struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"if", required_argument, NULL, 'i'},
	                                     {"af", required_argument, NULL, 'f'},
	                                     {"version", required_argument, NULL, 'v'},
	                                     {"vrid", required_argument, NULL, 'r'},
	                                     {"prio", required_argument, NULL, 'p'},
	                                     {"int-cs", required_argument, NULL, 't'},
	                                     {"auth-pass", required_argument, NULL, 'w'},
	                                     {"src", required_argument, NULL, 's'},
	                                     {"peer", required_argument, NULL, 'P'},
	                                     {"count", required_argument, NULL, 'c'},
	                                     {"interval-ms", required_argument, NULL, 'I'},
	                                     {"addr", required_argument, NULL, 'a'},
	                                     {"seconds", required_argument, NULL, 'S'},
	                                     {NULL, 0, NULL, 0}};
	static struct vrrp_sock_conf conf;
	static struct vrrp_adv adv;
	static struct vrrp_sock sock;
	const char *srcs = NULL, *pass = NULL, *addrs[VRRP_MAX_ADDRS], *peers[VRRP_SOCK_MAX_PEERS];
	long count = -1, interval_ms = -1, seconds = 5;
	unsigned naddr = 0, npeer = 0;
	bool sending;
	int c, r;

	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")))
		usage();
	sending = !strcmp(argv[1], "send");
	conf.af = AF_INET;
	adv.version = 3;
	adv.priority = 100;
	adv.adver_int_cs = 100;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (strlen(optarg) >= IF_NAMESIZE)
				usage();
			strcpy(conf.ifname, optarg);
			break;
		case 'f':
			conf.af = num(optarg, 4, 6) == 6 ? AF_INET6 : AF_INET;
			break;
		case 'v':
			adv.version = (uint8_t)num(optarg, 2, 3);
			break;
		case 'r':
			adv.vrid = (uint8_t)num(optarg, 1, 255);
			break;
		case 'p':
			adv.priority = (uint8_t)num(optarg, 0, 255);
			break;
		case 't':
			adv.adver_int_cs = (uint16_t)num(optarg, 1, VRRP_V3_MAX_INT_CS);
			break;
		case 'w':
			pass = optarg;
			break;
		case 's':
			srcs = optarg;
			break;
		case 'P':
			if (npeer == VRRP_SOCK_MAX_PEERS)
				usage();
			peers[npeer++] = optarg;
			break;
		case 'c':
			count = num(optarg, 1, 1000000);
			break;
		case 'I':
			interval_ms = num(optarg, 0, 600000);
			break;
		case 'a':
			if (naddr == VRRP_MAX_ADDRS)
				usage();
			addrs[naddr++] = optarg;
			break;
		case 'S':
			seconds = num(optarg, 0, 3600);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !conf.ifname[0] || (sending && (!adv.vrid || !naddr)))
		usage();
	if (srcs && lvs_addr_parse(conf.af, srcs, &conf.src) < 0)
		usage();
	for (unsigned i = 0; i < npeer; i++)
		if (lvs_addr_parse(conf.af, peers[i], &conf.peers[i]) < 0)
			usage();
	conf.npeers = npeer;

	r = vrrp_sock_open(&sock, &conf);
	if (r < 0) {
		fprintf(stderr, "lvs-vrrp-probe: %s: %s\n", conf.ifname, strerror(-r));
		return 1;
	}
	if (!sending) {
		r = do_recv(&sock, seconds, count < 0 ? 1000000 : count);
		vrrp_sock_close(&sock);
		return r;
	}

	adv.af = conf.af;
	adv.naddr = (uint8_t)naddr;
	for (unsigned i = 0; i < naddr; i++)
		if (lvs_addr_parse(conf.af, addrs[i], &adv.addrs[i]) < 0)
			usage();
	if (adv.version == 2) {
		/* Version 2 carries whole seconds. */
		adv.adver_int_cs = (uint16_t)((adv.adver_int_cs + 99) / 100 * 100);
		if (pass) {
			adv.auth_type = VRRP_AUTH_PASS;
			/* Up to 8 bytes, zero-padded, no terminator on the wire. */
			memcpy(adv.auth_pass, pass, strnlen(pass, VRRP_V2_AUTH_LEN));
		}
	}
	if (interval_ms < 0)
		interval_ms = (long)adv.adver_int_cs * 10;
	r = do_send(&sock, &adv, count < 0 ? 1 : count, interval_ms);
	vrrp_sock_close(&sock);
	return r;
}
