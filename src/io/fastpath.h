/*
 * fastpath.h - the user-space side of the XDP fast path (lvs_fast.bpf.c):
 * load the program, turn an established connection into flow map entries
 * (one per direction the director forwards), remove them, read back what
 * the program counted.
 *
 * lvsd's fast path thread (daemon/fastpathd.c) writes an entry when a
 * connection reaches a state in which its packets need no decision,
 * removes it when it leaves it, and folds the counters into the
 * connection's timer and the destination's statistics.  Control path: a
 * call makes one to three bpf() syscalls, under a lock of the handle's
 * (its counter slots).
 */
#ifndef LVS_FASTPATH_H
#define LVS_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "lvs_fast.h"
#include "xdp_filter.h"
#include "xmit.h"

struct lvs_fastpath;

/* A destination's tunnel settings (ipvsadm --tun-type/--tun-port/
 * --tun-nocsum/--tun-csum/--tun-remcsum), as the model keeps them. */
struct lvs_fast_tun {
	uint8_t type;   /* enum lvs_tun_type */
	uint16_t flags; /* LVS_TUN_F_* */
	uint16_t port;  /* GUE: UDP port, network order */
};

/* The tunnel settings of a destination (its packed xmit word). */
void lvs_fastpath_tun_of_dest(const struct lvs_dest_state *ds, struct lvs_fast_tun *t);

/*
 * Load the program and create its maps (nothing is attached).
 * user_verdict: what the program returns for a frame user space must see
 * (XDP_PASS, or the verdict of a redirect to lvsd's AF_XDP socket once
 * wired).  0 or -errno; *out is NULL on failure.
 */
int lvs_fastpath_open(struct lvs_fastpath **out, uint32_t user_verdict);
/* The same; tx_same_if false: egress on the ingress interface by a
 * redirect to it instead of XDP_TX (for veth, see lvs_fast.bpf.c). */
int lvs_fastpath_open_opts(struct lvs_fastpath **out, uint32_t user_verdict, bool tx_same_if);
/* Everything that can be chosen at load time. */
struct lvs_fastpath_opts {
	uint32_t user_verdict;
	bool tx_same_if;
	/* non-NULL: stand in for the AF_XDP driver's program.  What the
	 * program does not forward goes through the driver's filter on the
	 * driver's maps (lvs_xdp_filter.bpf.h), and the program is
	 * multi-buffer only if the driver's sockets take such frames
	 * (xsk->frags).  The driver swaps it in (lvs_io_ops.xdp_replace). */
	const struct lvs_xdp_maps *xsk;
	/* entries in all, IPv4 and IPv6 (0: LVS_FAST_FLOWS_MAX, the most);
	 * -ERANGE above that */
	uint32_t entries;
};
int lvs_fastpath_open_with(struct lvs_fastpath **out, const struct lvs_fastpath_opts *o);
void lvs_fastpath_close(struct lvs_fastpath *fp);
/* The program's descriptor (attach, BPF_PROG_TEST_RUN). */
int lvs_fastpath_prog_fd(const struct lvs_fastpath *fp);

/*
 * The flow map entry for one direction of connection ci:
 *   reply false: the client's packets (caddr:cport -> vaddr:vport), for
 *     NAT (rewritten to daddr:dport), DR and TUN;
 *   reply true: a NAT real server's replies (daddr:dport -> caddr:cport),
 *     rewritten to come from vaddr:vport.
 * nh: the next hop of the packets as they leave (the destination's for
 * client packets; the client's route for replies).  tun and tun_src (the
 * outer source, the director's address toward the server): TUN only.
 * Counters start at 0.  0, -EINVAL (template, reply of a method without
 * replies, families the core would refuse), -EOPNOTSUPP (not TCP/UDP, a
 * fwd method the program has not).
 */
int lvs_fastpath_entry(const struct lvs_conn_info *ci, bool reply, const struct lvs_nexthop *nh,
		       const struct lvs_fast_tun *tun, const union lvs_addr *tun_src,
		       struct lvs_fast_key *k, struct lvs_fast_val *v);

/* Write (or replace) that entry in its map (IPv4 or IPv6).  0, -ENOSPC
 * (as many entries as the program was opened for already), or -errno. */
int lvs_fastpath_add(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply,
		     const struct lvs_nexthop *nh, const struct lvs_fast_tun *tun,
		     const union lvs_addr *tun_src);
/* Remove it.  0, -ENOENT, or -errno. */
int lvs_fastpath_del(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply);

/* What the program counted for that entry since it was written. */
struct lvs_fast_counters {
	uint64_t packets;
	uint64_t bytes;   /* IP bytes as received, as the core counts them */
	uint64_t last_ns; /* CLOCK_MONOTONIC_COARSE ns of the last packet; 0: none */
};
int lvs_fastpath_read(struct lvs_fastpath *fp, const struct lvs_conn_info *ci, bool reply,
		      struct lvs_fast_counters *out);

/* The same by key: the key of one direction (-EINVAL / -EOPNOTSUPP as
 * lvs_fastpath_entry), write an entry computed by lvs_fastpath_entry
 * (counters from 0, -ENOSPC as lvs_fastpath_add), remove one, read one's
 * counters. */
int lvs_fastpath_key(const struct lvs_conn_info *ci, bool reply, struct lvs_fast_key *k);
int lvs_fastpath_put(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
		     const struct lvs_fast_val *v);
int lvs_fastpath_remove(struct lvs_fastpath *fp, const struct lvs_fast_key *k);
int lvs_fastpath_read_key(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
			  struct lvs_fast_counters *out);
/* Remove an entry and read its last counters (out may be NULL). */
int lvs_fastpath_take(struct lvs_fastpath *fp, const struct lvs_fast_key *k,
		      struct lvs_fast_counters *out);

/* Attach the program to interface ifindex (driver mode where the driver
 * has it, else generic) by a BPF link: it is detached when the link is
 * closed or the process ends, however it ends.  0 or -errno. */
struct bpf_link;
int lvs_fastpath_attach(struct lvs_fastpath *fp, uint32_t ifindex, struct bpf_link **out);

/* The program's counters (enum lvs_fast_stat), summed over the CPUs. */
int lvs_fastpath_stats(struct lvs_fastpath *fp, uint64_t out[LVS_FASTS__COUNT]);
const char *lvs_fastpath_stat_name(unsigned s);

#endif
