/*
 * io.h - packet I/O drivers behind one small interface.
 *
 * A driver instance (struct lvs_io) is one receive queue of one interface
 * owned by one forwarding worker: several workers serving the same
 * interface each open their own instance and the driver spreads the
 * interface's traffic over them (AF_PACKET: PACKET_FANOUT_HASH; AF_XDP: one
 * queue each).  Received frames are copied into the instance's own
 * buffers with LVS_PKT_HEADROOM before them, so the core can rewrite and
 * prepend in place.
 *
 * Offloads: a frame the kernel hands over checksum-partial carries
 * LVS_PKT_F_CSUM_PARTIAL with csum_start / csum_offset, a GSO super-frame
 * gso_size / gso_type (virtio_net_hdr values: VIRTIO_NET_HDR_GSO_*).  On
 * transmit the driver either gives both to the kernel (which then
 * completes the checksum and segments to the egress MTU) or does the same
 * in software (lvs_io_sw_*), so what leaves lvsd has correct checksums
 * and is at most MTU-sized on the wire.
 *
 * Threading: an instance is used by one thread at a time.  rx/tx never
 * block; a worker sleeps in poll() on lvs_io_fd().
 */
#ifndef LVS_IO_H
#define LVS_IO_H

#include <linux/virtio_net.h>
#include <net/if.h>

#include "pkt.h"

#define LVS_IO_BURST 64

/* virtio_net_hdr GSO type for UDP segmentation (Linux 4.18+); older uapi
 * headers lack it. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define LVS_IO_FANOUT_NEW (-1)

struct lvs_io_conf {
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t mtu;          /* interface MTU: sizes the receive ring */
	unsigned worker;       /* this instance's worker id */
	unsigned nworkers;     /* instances on the same interface (fanout) */
	int fanout_id;         /* in: group to join, or LVS_IO_FANOUT_NEW;
				* out: the group's id, for the other instances */
	uint32_t fanout_flags; /* driver's group flags (set when created) */
	unsigned ring_frames;  /* receive ring size in frames (0: default) */
	bool sw_offload;       /* never ask the kernel to checksum / segment */
};

/* Counters of one instance (plain: read racily by the control thread). */
struct lvs_io_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_truncated;   /* frame larger than the driver could take */
	uint64_t rx_kernel_drops;/* ring full (kernel's count, PACKET_STATISTICS) */
	uint64_t rx_gso;         /* GSO super-frames received */
	uint64_t rx_csum_partial;
	uint64_t rx_bad_offload; /* GSO frame without checksum offload: dropped */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_errors;      /* sendmsg refused a frame */
	uint64_t tx_gso;         /* super-frames handed to the kernel */
	uint64_t tx_sw_segs;     /* segments built in software */
	uint64_t tx_sw_csum;     /* checksums completed in software */
	uint64_t tx_bad_offload; /* offload request we could not honour: dropped */
};

struct lvs_io;
struct lvs_xdp_key;
struct lvs_xdp_maps;

struct lvs_io_ops {
	const char *name;
	/* Open an instance for c (which learns the fanout group, see
	 * lvs_io_conf).  0 or -errno; errors are logged. */
	int (*open)(struct lvs_io_conf *c, struct lvs_io **out);
	void (*close)(struct lvs_io *q);
	/* The fd to poll for POLLIN. */
	int (*fd)(const struct lvs_io *q);
	/*
	 * Receive up to max frames into pkts[] (views on the instance's
	 * buffers, valid until the next rx on this instance).  Never blocks;
	 * returns the number received, 0 when none is waiting.
	 */
	unsigned (*rx)(struct lvs_io *q, struct lvs_pkt *pkts, unsigned max);
	/*
	 * Send n frames, each on its p->ifindex (which need not be q's
	 * interface for AF_PACKET).  Frames are copied or consumed before it
	 * returns.  Returns the number sent; failures are counted.
	 */
	unsigned (*tx)(struct lvs_io *q, struct lvs_pkt *const *pkts, unsigned n);
	void (*stats)(const struct lvs_io *q, struct lvs_io_stats *out);

	/* Optional (NULL: no such limit / feature). */

	/* How many instances (workers) interface ifname can take: AF_XDP
	 * binds one socket per receive queue. */
	unsigned (*max_queues)(const char *ifname);
	/* Drivers that pick director traffic before user space sees it
	 * (AF_XDP's XDP program): change the keys of the traffic to hand
	 * over (xdp_filter.h): add[0..nadd), then take away del[0..ndel).
	 * Adding a present key or deleting an absent one is not an error.
	 * Control thread.  0 or -errno. */
	int (*set_filter)(const struct lvs_xdp_key *add, unsigned nadd,
			  const struct lvs_xdp_key *del, unsigned ndel);
	/* Counters of that selection (enum lvs_xdp_stat, LVS_XDPS__COUNT). */
	void (*prog_stats)(uint64_t *out);
	/* Drivers with an XDP program of their own: its maps, for a program
	 * that stands in for it (the fast path's, which runs the same filter
	 * for what it does not forward); valid while an instance is open.
	 * 0 or -errno. */
	int (*xdp_maps)(struct lvs_xdp_maps *out);
	/* Run program prog_fd instead of the driver's on every interface the
	 * driver serves, and on those it attaches to later; -1: its own
	 * again.  Swapped in place (a BPF link update): every frame meets
	 * one program or the other.  All interfaces or none.  0 or -errno. */
	int (*xdp_replace)(int prog_fd);
};

extern const struct lvs_io_ops lvs_io_afpacket;
extern const struct lvs_io_ops lvs_io_afxdp;

/* The driver called name ("afpacket", "afxdp"), or NULL; LVS_IO_NAMES
 * lists them for messages. */
#define LVS_IO_NAMES "afpacket, afxdp"
const struct lvs_io_ops *lvs_io_find(const char *name);

/* ---- software offloads (io_sw.c), for drivers and for frames the kernel
 * cannot segment (e.g. a tunnelled super-frame) ---- */

/*
 * Complete the checksum of a checksum-partial frame the way a NIC does:
 * sum from csum_start to the end of the outermost IP datagram, with the
 * field holding the pseudo-header sum, and store the complement.  Clears
 * LVS_PKT_F_CSUM_PARTIAL.  0 or -EINVAL if csum_start/offset are outside
 * the frame.
 */
int lvs_io_sw_csum(struct lvs_pkt *p);

/*
 * Segment the GSO super-frame p (TCP at csum_start, possibly inside
 * IPIP / IPv6-in-IPv6 / GRE / UDP encapsulation) into frames of at most
 * gso_size payload bytes, each with complete checksums, written
 * back-to-back into out[0 .. cap).  segs[] receives views on them (no
 * headroom); returns the number of segments, or -ENOBUFS when out or
 * max_segs is too small, -EINVAL for a frame it cannot segment
 * (UFO, unknown encapsulation, remote checksum offload).
 */
int lvs_io_sw_segment(const struct lvs_pkt *p, uint8_t *out, size_t cap, struct lvs_pkt *segs,
		      unsigned max_segs);

/*
 * Can the kernel finish p's offloads itself (virtio_net_hdr on transmit)?
 * True for a plain TCP/UDP-in-IPv4/IPv6 frame whose transport header is at
 * csum_start; false for encapsulated super-frames.
 */
bool lvs_io_kernel_can_offload(const struct lvs_pkt *p);

/*
 * For drivers that lose the kernel's GSO fields (AF_XDP): a frame whose
 * IP datagram exceeds mtu and is plain TCP over IPv4 (not a fragment) or
 * IPv6 (no extension header), optionally behind one VLAN tag, is flagged
 * as a GSO super-frame of that MTU's MSS, checksum-partial (the field
 * rewritten to the pseudo-header sum, as the kernel has it for TSO; every
 * segment's checksum is computed when it is cut).  True if flagged; any
 * other frame is left as it is.
 */
bool lvs_io_sw_gso_guess(struct lvs_pkt *p, uint32_t mtu);

#endif
