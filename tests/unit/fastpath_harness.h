/*
 * fastpath_harness.h - the XDP fast path (lvs_fast.bpf.c, loaded through
 * fastpath.c) and the core side by side, frame for frame: what the unit
 * test (tests/unit/test_fastpath.c) and the differential fuzzer
 * (fuzz/fuzz_fastpath.c) share.
 *
 * The environment the core routes with (and the flow map entries copy):
 * clients (192.x, 2001:db8:c::/48-style addresses) are on FH_IF_CL, the
 * interface frames come in on (XDP_TX); servers are on FH_IF_RS
 * (XDP_REDIRECT), one of them (x.x.x.3) behind a VLAN, one (x.x.x.9, or
 * ...::9) behind a link of MTU 9000, the others of MTU 1500.
 *
 * A director holds services of one destination each (fh_dir_add); a
 * connection is created in the core by its first packets and is
 * ESTABLISHED (fh_conn_open); its flow map entries are written with
 * lvs_fastpath_add from the connection as the core lists it, the next hop
 * the environment gives and the destination's tunnel settings
 * (fh_entry_add).  fh_run_both runs one frame through the program
 * (BPF_PROG_TEST_RUN) and through the core as the AF_XDP driver hands it
 * over and sends it; fh_judge says whether the two agree.
 *
 * Free of cmocka: errors are returned (-1 or -errno) for the caller to
 * assert or abort on.
 */
#ifndef LVS_FASTPATH_HARNESS_H
#define LVS_FASTPATH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "director.h"
#include "fastpath.h"

#define FH_FRAME_MAX 10240 /* frames given to fh_run_both */
#define FH_BUFSZ     16384 /* frame buffers (the core's with its head room) */
#define FH_IF_CL     1     /* toward clients: lo, the test-run's ingress (XDP_TX) */
#define FH_IF_RS     3     /* toward servers (XDP_REDIRECT) */
#define FH_NOW       1000000000ull /* the core's clock: no timer ever fires */

#define FH_V4C "192.0.2.10"
#define FH_V6C "2001:db8:c::10"
#define FH_V4V "10.0.0.1"
#define FH_V6V "2001:db8::1"

int fh_route(void *ctx, int af, const union lvs_addr *dst, struct lvs_nexthop *nh);
int fh_src(void *ctx, int af, const union lvs_addr *dst, union lvs_addr *src);

/* A service on the VIP (FH_V4V / FH_V6V) with its one destination. */
struct fh_svc {
	int af;
	uint8_t proto;
	uint8_t fwd;
	const char *dest; /* of the destination's family */
	uint8_t tun_type;
	uint16_t tun_flags;
	uint16_t vport; /* 0: 80 (NAT destinations listen on 8080) */
};

/* A frame of a connection, as the test wants it. */
struct fh_frame {
	bool reply;        /* from the server (NAT reply) */
	uint8_t tcp_flags; /* 0: ACK */
	uint8_t ttl;       /* 0: 64 */
	uint32_t plen;     /* payload bytes */
	uint16_t vlan;     /* ingress tag */
	bool df;
	uint8_t tos;
	bool partial;    /* L4 checksum field holds the pseudo-header sum */
	bool udp_nocsum; /* IPv4 UDP checksum 0 */
	uint32_t pad;    /* Ethernet padding bytes */
	bool options;    /* IPv4 header with options */
};

struct fh_dir {
	struct lvs_model *m;
	struct lvs_director d;
	struct lvs_worker w;
};

/* An empty director (a model without services, a connection table). */
int fh_dir_init(struct fh_dir *x);
/* Add s and its destination. */
int fh_dir_add(struct fh_dir *x, const struct fh_svc *s);
/* Forget every connection (a new table). */
int fh_dir_reset(struct fh_dir *x);
void fh_dir_free(struct fh_dir *x);

static inline uint16_t fh_vport(const struct fh_svc *s)
{
	return s->vport ? s->vport : 80;
}

/* One's-complement sum of n bytes (an odd last one as the high byte of a
 * word) added to s, not folded; its fold to 16 bits. */
uint32_t fh_sum16(const uint8_t *b, size_t n, uint32_t s);
uint16_t fh_fold16(uint32_t s);

/*
 * Write frame fr from src:sport to dst:dport (host order) of a service
 * like s at f, with reference checksums computed byte by byte,
 * independently of the core.  Returns its length.
 */
uint32_t fh_make_frame(uint8_t *f, const struct fh_svc *s, const struct fh_frame *fr,
		       const union lvs_addr *src, uint16_t sport, const union lvs_addr *dst,
		       uint16_t dport);
/* Frame fr of connection ci (of service s): the client's to the VIP, or
 * with fr->reply the server's to the client. */
uint32_t fh_conn_frame(uint8_t *f, const struct fh_svc *s, const struct fh_frame *fr,
		       const struct lvs_conn_info *ci);

/*
 * Run a frame through the core as the AF_XDP driver hands it over (on
 * FH_IF_CL, checksum state unknown) and sends it (what the core left
 * checksum-partial completed).  buf: FH_BUFSZ bytes, the frame at
 * LVS_PKT_HEADROOM.
 */
enum lvs_verdict fh_core_run(struct fh_dir *x, uint8_t *buf, uint32_t len, struct lvs_pkt *p);

/*
 * Open a connection from client port cport to service s through the core
 * (TCP: SYN, for NAT the server's SYN-ACK, ACK; UDP: a first datagram),
 * leaving it ESTABLISHED, and return it as the core lists it.  0, or -1
 * when the core did not forward the packets or no such connection exists.
 */
int fh_conn_open(struct fh_dir *x, const struct fh_svc *s, uint16_t cport,
		 struct lvs_conn_info *ci);
/* The connection (not template) from caddr:cport to the service's port
 * vport (host order) of family af and protocol proto.  0 or -1. */
int fh_conn_find(struct fh_dir *x, int af, uint8_t proto, const union lvs_addr *caddr,
		 uint16_t cport, uint16_t vport, struct lvs_conn_info *ci);

/* The flow map entry of one direction of ci, as lvsd would write it.  0 or
 * -errno (lvs_fastpath_add's). */
int fh_entry_add(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply);

/* BPF_PROG_TEST_RUN once, ingress FH_IF_CL: the program's verdict (or
 * -errno), the frame out in out (FH_BUFSZ bytes). */
int fh_xdp_run(struct lvs_fastpath *fp, const uint8_t *in, uint32_t len, uint8_t *out,
	       uint32_t *out_len);

/* One frame through both. */
struct fh_run {
	int xdp; /* the program's verdict */
	uint32_t xlen;
	uint8_t xout[FH_BUFSZ]; /* its frame */
	enum lvs_verdict core;  /* the core's verdict */
	struct lvs_pkt p;       /* its frame (p.data, p.len) and egress (p.ifindex) */
	uint8_t cbuf[FH_BUFSZ];
};

/* The program first, then the core (which may move the connection's
 * state).  0, or -errno when test-run failed. */
int fh_run_both(struct lvs_fastpath *fp, struct fh_dir *x, const uint8_t *frame, uint32_t len,
		struct fh_run *r);

enum fh_outcome {
	FH_FORWARDED, /* the program forwarded it as the core does: same bytes, same way out */
	FH_USER,      /* the program's user verdict, the frame unchanged */
	FH_DROPPED,   /* XDP_DROP (the caller checks LVS_FASTS_BROKEN) */
	FH_DIFFER,    /* anything else: printed to stderr */
};

/*
 * The oracle.  A forwarded frame (XDP_TX / XDP_REDIRECT) must be the
 * core's: LVS_V_TX, the same bytes, XDP_TX exactly when the core sends it
 * out of the ingress interface.  A frame the program gives user space
 * (user_verdict) must come back unchanged; what the core does with it is
 * user space's business.
 */
enum fh_outcome fh_judge(const struct fh_run *r, const uint8_t *frame, uint32_t len,
			 int user_verdict);

/* Print where two frames differ (at most 128 bytes). */
void fh_hexdiff(const char *what, const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl);

#endif
