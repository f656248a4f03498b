/*
 * afpacket.c - the AF_PACKET driver (packet(7)), lvsd's default.
 *
 * Receive: a TPACKET_V2 ring (packet_mmap) with PACKET_VNET_HDR, so every
 * frame comes with a virtio_net_hdr saying whether it is checksum-partial
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM: csum_start / csum_offset) or a GSO
 * super-frame (gso_type / gso_size).  Frames larger than a ring slot (GSO
 * super-frames of up to 64 KB from local or veth senders with TSO on) are
 * truncated in the ring and flagged TP_STATUS_COPY; the whole frame is
 * then read with recvmsg() from the socket's queue (PACKET_COPY_THRESH),
 * in order.  PACKET_IGNORE_OUTGOING: only frames the interface receives.
 * Several workers on one interface join a PACKET_FANOUT_HASH group, so a
 * flow's packets stay on one worker.
 *
 * Why TPACKET_V2 and not V3: a V3 ring wakes its reader only when a block
 * is retired (full, or its timer of at least one jiffy, 4 ms at HZ=250,
 * expired), which adds milliseconds to every packet of an interactive
 * flow through the director; V2 wakes per frame and costs the same per
 * packet in a burst.
 *
 * Transmit: sendmmsg() on the same socket with a sockaddr_ll naming the
 * egress interface and a virtio_net_hdr in front of each frame, so the
 * kernel completes checksum-partial frames and segments GSO frames to the
 * egress MTU (in software when the device has no TSO).  Super-frames it
 * cannot segment (tunnelled) and, with sw_offload, everything, are
 * finished here with io_sw.c.  Never blocks (MSG_DONTWAIT); a frame the
 * kernel refuses is counted in tx_errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

/* Linux 6.5+: a fanout group's own "ignore outgoing" (the socket option
 * does not apply once the socket joins a group); older uapi lacks it. */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

#define AFP_RX_HEADROOM (LVS_PKT_HEADROOM + 16) /* room to re-insert a VLAN tag */
#define AFP_TAILROOM 512
#define AFP_BIG_FRAME (65536 + 64)               /* largest frame via the copy path */
#define AFP_NBIG 8                               /* super-frames per rx burst */
#define AFP_DEF_FRAMES 1024
#define AFP_SOCKBUF (4 << 20)
#define AFP_TX_BATCH 64
#define AFP_SEG_ARENA (256 * 1024)
#define AFP_MAX_SEGS 256

struct lvs_io {
	struct lvs_io_conf c;
	int fd;
	/* receive ring */
	uint8_t *ring;
	size_t ring_len;
	uint32_t frame_size, frame_nr, head;
	/* copies handed to the core */
	uint8_t *small;     /* LVS_IO_BURST slots of small_cap */
	uint32_t small_cap;
	uint8_t *big[AFP_NBIG];
	/* transmit batch */
	unsigned ntx;
	struct mmsghdr msg[AFP_TX_BATCH];
	struct iovec iov[AFP_TX_BATCH][2];
	struct virtio_net_hdr vh[AFP_TX_BATCH];
	struct sockaddr_ll sll[AFP_TX_BATCH];
	uint32_t txlen[AFP_TX_BATCH];
	/* software segmentation output */
	uint8_t *seg_arena;
	size_t seg_used;
	struct lvs_pkt segs[AFP_MAX_SEGS];
	struct lvs_io_stats st;
	uint64_t kdrops; /* PACKET_STATISTICS accumulated by stats() */
};

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static void afp_close(struct lvs_io *q)
{
	if (!q)
		return;
	if (q->ring)
		munmap(q->ring, q->ring_len);
	if (q->fd >= 0)
		close(q->fd);
	free(q->small);
	for (int i = 0; i < AFP_NBIG; i++)
		free(q->big[i]);
	free(q->seg_arena);
	free(q);
}

static int setopt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0) {
		int err = errno;
		lvs_err("afpacket: setsockopt %s: %s", what, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * Join (or, for fanout_id LVS_IO_FANOUT_NEW, create with a kernel-chosen
 * unique id) the interface's fanout group.  Creating one, the flags are
 * hash + ignore-outgoing, or hash alone on kernels that lack the flag
 * (rx then filters outgoing frames); c learns the group's id and flags.
 */
static int fanout_join(struct lvs_io *q, struct lvs_io_conf *c)
{
	int v, r;

	if (c->fanout_id == LVS_IO_FANOUT_NEW) {
		c->fanout_flags = PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
		v = (PACKET_FANOUT_HASH | c->fanout_flags | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
		r = setsockopt(q->fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v));
		if (r < 0 && errno == EINVAL) {
			c->fanout_flags = 0;
			v = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
			r = setsockopt(q->fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v));
		}
		if (r == 0) {
			socklen_t l = sizeof(v);
			r = getsockopt(q->fd, SOL_PACKET, PACKET_FANOUT, &v, &l);
			c->fanout_id = v & 0xffff;
		}
	} else {
		v = c->fanout_id | (PACKET_FANOUT_HASH | c->fanout_flags) << 16;
		r = setsockopt(q->fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v));
	}
	if (r < 0) {
		r = -errno;
		lvs_err("afpacket: PACKET_FANOUT on %s: %s", c->ifname, strerror(-r));
		return r;
	}
	return 0;
}

static int afp_open(struct lvs_io_conf *c, struct lvs_io **out)
{
	struct tpacket_req req;
	struct sockaddr_ll sll;
	struct lvs_io *q;
	uint32_t block;
	int err;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = *c;
	q->fd = -1;
	/* protocol 0: nothing is received before bind() names the interface */
	q->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		err = -errno;
		lvs_err("afpacket: socket: %s", strerror(-err));
		goto fail;
	}
	if ((err = setopt(q->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION")) ||
	    (err = setopt(q->fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR")) ||
	    (err = setopt(q->fd, SOL_PACKET, PACKET_AUXDATA, 1, "PACKET_AUXDATA")) ||
	    (err = setopt(q->fd, SOL_PACKET, PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH")) ||
	    (err = setopt(q->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1,
			  "PACKET_IGNORE_OUTGOING")))
		goto fail;
	/* the copy path queues super-frames on the socket; tx of 64 KB frames */
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ AFP_SOCKBUF }, sizeof(int)) < 0)
		setopt(q->fd, SOL_SOCKET, SO_RCVBUF, AFP_SOCKBUF, "SO_RCVBUF");
	if (setsockopt(q->fd, SOL_SOCKET, SO_SNDBUFFORCE, &(int){ AFP_SOCKBUF }, sizeof(int)) < 0)
		setopt(q->fd, SOL_SOCKET, SO_SNDBUF, AFP_SOCKBUF, "SO_SNDBUF");

	/* A slot holds the ring header, the vnet header and an MTU-sized frame
	 * (+ a VLAN tag); larger ones take the copy path. */
	q->frame_size = pow2_at_least((c->mtu ? c->mtu : 1500) + 18 + 128);
	if (q->frame_size < 2048)
		q->frame_size = 2048;
	if (q->frame_size > 16384)
		q->frame_size = 16384;
	q->frame_nr = c->ring_frames ? pow2_at_least(c->ring_frames) : AFP_DEF_FRAMES;
	block = q->frame_size > 65536 ? q->frame_size : 65536;
	if ((uint64_t)q->frame_nr * q->frame_size < block)
		q->frame_nr = block / q->frame_size;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = block;
	req.tp_frame_size = q->frame_size;
	req.tp_block_nr = (uint32_t)((uint64_t)q->frame_nr * q->frame_size / block);
	req.tp_frame_nr = req.tp_block_nr * (block / q->frame_size);
	q->frame_nr = req.tp_frame_nr;
	if (setsockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		err = -errno;
		lvs_err("afpacket: PACKET_RX_RING: %s", strerror(-err));
		goto fail;
	}
	q->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	q->ring = mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE,
		       q->fd, 0);
	if (q->ring == MAP_FAILED) /* MAP_LOCKED may exceed RLIMIT_MEMLOCK */
		q->ring = mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
	if (q->ring == MAP_FAILED) {
		q->ring = NULL;
		err = -errno;
		lvs_err("afpacket: mmap ring: %s", strerror(-err));
		goto fail;
	}

	q->small_cap = AFP_RX_HEADROOM + q->frame_size + AFP_TAILROOM;
	q->small = malloc((size_t)q->small_cap * LVS_IO_BURST);
	q->seg_arena = malloc(AFP_SEG_ARENA);
	if (!q->small || !q->seg_arena) {
		err = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < AFP_NBIG; i++) {
		q->big[i] = malloc(AFP_RX_HEADROOM + AFP_BIG_FRAME + AFP_TAILROOM);
		if (!q->big[i]) {
			err = -ENOMEM;
			goto fail;
		}
	}

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)c->ifindex;
	if (bind(q->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		lvs_err("afpacket: bind %s: %s", c->ifname, strerror(-err));
		goto fail;
	}
	if (c->nworkers > 1 && (err = fanout_join(q, c)))
		goto fail;
	lvs_debug("afpacket: %s worker %u: ring %u x %u bytes", c->ifname, c->worker, q->frame_nr,
		  q->frame_size);
	*out = q;
	return 0;
fail:
	afp_close(q);
	return err;
}

static int afp_fd(const struct lvs_io *q)
{
	return q->fd;
}

/* Put the VLAN tag the kernel took out (rx VLAN offload) back in front of
 * the EtherType, so the core sees the frame as it was on the wire. */
static void vlan_reinsert(struct lvs_pkt *p, uint16_t tpid, uint16_t tci)
{
	uint8_t *d = p->data - 4;

	memmove(d, p->data, 12);
	d[12] = (uint8_t)(tpid >> 8);
	d[13] = (uint8_t)tpid;
	d[14] = (uint8_t)(tci >> 8);
	d[15] = (uint8_t)tci;
	p->data = d;
	p->len += 4;
	p->headroom -= 4;
}

/*
 * Apply what the virtio_net_hdr says to p.  Returns false for a frame to
 * drop: a GSO frame whose checksum is not partial cannot be finished by
 * anyone without recomputing it (Linux never hands one over).
 */
static bool apply_vnet(struct lvs_io *q, struct lvs_pkt *p, const struct virtio_net_hdr *vh,
		       uint32_t shift)
{
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		p->flags |= LVS_PKT_F_CSUM_PARTIAL;
		p->csum_start = (uint16_t)(vh->csum_start + shift);
		p->csum_offset = vh->csum_offset;
		q->st.rx_csum_partial++;
	} else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->flags |= LVS_PKT_F_CSUM_VALID;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !vh->gso_size) {
			q->st.rx_bad_offload++;
			return false;
		}
		p->gso_size = vh->gso_size;
		p->gso_type = vh->gso_type;
		q->st.rx_gso++;
	}
	return true;
}

/* Read the super-frame the ring slot announced (TP_STATUS_COPY) from the
 * socket queue into buf.  Returns its length, or 0 (counted) on failure. */
static uint32_t rx_copy_path(struct lvs_io *q, uint8_t *buf, struct virtio_net_hdr *vh,
			     uint16_t *tpid, uint16_t *tci, bool *vlan)
{
	char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	struct iovec iov[2] = {
		{ .iov_base = vh, .iov_len = sizeof(*vh) },
		{ .iov_base = buf + AFP_RX_HEADROOM, .iov_len = AFP_BIG_FRAME },
	};
	struct msghdr mh = {
		.msg_iov = iov,
		.msg_iovlen = 2,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t r;

	r = recvmsg(q->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
	if (r < (ssize_t)sizeof(*vh) || (mh.msg_flags & MSG_TRUNC) ||
	    (size_t)r - sizeof(*vh) > AFP_BIG_FRAME) {
		q->st.rx_truncated++;
		return 0;
	}
	*vlan = false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		struct tpacket_auxdata aux;
		if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
		    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
		if (aux.tp_status & TP_STATUS_VLAN_VALID) {
			*vlan = true;
			*tci = aux.tp_vlan_tci;
			*tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid
									     : ETH_P_8021Q;
		}
	}
	return (uint32_t)((size_t)r - sizeof(*vh));
}

static unsigned afp_rx(struct lvs_io *q, struct lvs_pkt *pkts, unsigned max)
{
	unsigned n = 0, nbig = 0;

	if (max > LVS_IO_BURST)
		max = LVS_IO_BURST;
	while (n < max) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(q->ring + (size_t)q->head * q->frame_size);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		struct virtio_net_hdr vh;
		struct lvs_pkt *p = &pkts[n];
		const struct sockaddr_ll *sll;
		uint16_t tpid = ETH_P_8021Q, tci = 0;
		bool vlan = false, ok = true;
		uint8_t *buf;
		uint32_t len, cap;

		if (!(status & TP_STATUS_USER))
			break;
		sll = (const struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
		if (sll->sll_pkttype == PACKET_OUTGOING) {
			/* our own or the host's transmissions: not ours to forward.
			 * A copy-path frame's queued copy must go too. */
			if (status & TP_STATUS_COPY)
				(void)!recv(q->fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
			__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
			q->head = q->head + 1 == q->frame_nr ? 0 : q->head + 1;
			continue;
		}
		if (status & TP_STATUS_COPY) {
			if (nbig == AFP_NBIG)
				break; /* leave it for the next burst */
			buf = q->big[nbig++];
			cap = AFP_RX_HEADROOM + AFP_BIG_FRAME + AFP_TAILROOM;
			len = rx_copy_path(q, buf, &vh, &tpid, &tci, &vlan);
			ok = len > 0;
		} else if (h->tp_len > h->tp_snaplen || h->tp_mac < sizeof(vh) ||
			   h->tp_mac + h->tp_snaplen > q->frame_size) {
			q->st.rx_truncated++;
			ok = false;
			buf = NULL;
			len = cap = 0;
		} else {
			buf = q->small + (size_t)n * q->small_cap;
			cap = q->small_cap;
			len = h->tp_snaplen;
			memcpy(&vh, (uint8_t *)h + h->tp_mac - sizeof(vh), sizeof(vh));
			memcpy(buf + AFP_RX_HEADROOM, (uint8_t *)h + h->tp_mac, len);
			if (status & TP_STATUS_VLAN_VALID) {
				vlan = true;
				tci = h->tp_vlan_tci;
				if (status & TP_STATUS_VLAN_TPID_VALID)
					tpid = h->tp_vlan_tpid;
			}
		}
		/* the slot goes back to the kernel as soon as it is copied */
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		q->head = q->head + 1 == q->frame_nr ? 0 : q->head + 1;
		if (!ok)
			continue;
		if (len < 14) {
			q->st.rx_truncated++;
			continue;
		}
		lvs_pkt_init(p, buf, cap, AFP_RX_HEADROOM, len);
		if (vlan)
			vlan_reinsert(p, tpid, tci);
		if (!apply_vnet(q, p, &vh, vlan ? 4 : 0))
			continue;
		p->ifindex = q->c.ifindex;
		q->st.rx_frames++;
		q->st.rx_bytes += p->len;
		n++;
	}
	return n;
}

/* Send what is batched; a refused frame is counted and skipped. */
static void tx_flush(struct lvs_io *q)
{
	unsigned i = 0;

	while (i < q->ntx) {
		int r = sendmmsg(q->fd, &q->msg[i], q->ntx - i, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			q->st.tx_errors++;
			i++;
			continue;
		}
		for (int k = 0; k < r; k++) {
			q->st.tx_frames++;
			q->st.tx_bytes += q->txlen[i + k];
		}
		i += (unsigned)r;
	}
	q->ntx = 0;
}

/* Queue one frame; vnet says whether to pass p's offload request on. */
static void tx_queue(struct lvs_io *q, const struct lvs_pkt *p, bool offload)
{
	unsigned i = q->ntx;
	struct virtio_net_hdr *vh = &q->vh[i];
	struct sockaddr_ll *sll = &q->sll[i];

	memset(vh, 0, sizeof(*vh));
	if (offload && (p->flags & LVS_PKT_F_CSUM_PARTIAL)) {
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->csum_start = p->csum_start;
		vh->csum_offset = p->csum_offset;
		if (p->gso_size) {
			const uint8_t *l4 = p->data + p->csum_start;
			uint8_t t = (uint8_t)(p->gso_type & ~VIRTIO_NET_HDR_GSO_ECN);

			vh->gso_type = (uint8_t)p->gso_type;
			vh->gso_size = p->gso_size;
			if (t == VIRTIO_NET_HDR_GSO_UDP_L4)
				vh->hdr_len = (uint16_t)(p->csum_start + 8);
			else
				vh->hdr_len = (uint16_t)(p->csum_start + (l4[12] >> 4) * 4);
			q->st.tx_gso++;
		}
	}
	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_ifindex = (int)p->ifindex;
	memcpy(&sll->sll_protocol, p->data + 12, 2);
	sll->sll_halen = ETH_ALEN;
	memcpy(sll->sll_addr, p->data, ETH_ALEN);
	q->iov[i][0].iov_base = vh;
	q->iov[i][0].iov_len = sizeof(*vh);
	q->iov[i][1].iov_base = p->data;
	q->iov[i][1].iov_len = p->len;
	memset(&q->msg[i], 0, sizeof(q->msg[i]));
	q->msg[i].msg_hdr.msg_name = sll;
	q->msg[i].msg_hdr.msg_namelen = sizeof(*sll);
	q->msg[i].msg_hdr.msg_iov = q->iov[i];
	q->msg[i].msg_hdr.msg_iovlen = 2;
	q->txlen[i] = p->len;
	if (++q->ntx == AFP_TX_BATCH)
		tx_flush(q);
}

/* A super-frame the kernel should not see as such: segment it here.  The
 * arena is reused once nothing queued points into it. */
static void tx_segment(struct lvs_io *q, const struct lvs_pkt *p)
{
	int n;

	if (!q->ntx)
		q->seg_used = 0;
	n = lvs_io_sw_segment(p, q->seg_arena + q->seg_used, AFP_SEG_ARENA - q->seg_used,
			      q->segs, AFP_MAX_SEGS);
	if (n == -ENOBUFS && q->seg_used) {
		tx_flush(q);
		q->seg_used = 0;
		n = lvs_io_sw_segment(p, q->seg_arena, AFP_SEG_ARENA, q->segs, AFP_MAX_SEGS);
	}
	if (n < 0) {
		q->st.tx_bad_offload++;
		return;
	}
	for (int i = 0; i < n; i++)
		q->seg_used += q->segs[i].len;
	for (int i = 0; i < n; i++) {
		tx_queue(q, &q->segs[i], false);
		q->st.tx_sw_segs++;
	}
}

static unsigned afp_tx(struct lvs_io *q, struct lvs_pkt *const *pkts, unsigned n)
{
	uint64_t before = q->st.tx_frames;

	for (unsigned i = 0; i < n; i++) {
		struct lvs_pkt *p = pkts[i];

		if (p->len < 14)
			continue;
		if (p->gso_size) {
			if (!(p->flags & LVS_PKT_F_CSUM_PARTIAL)) {
				q->st.tx_bad_offload++;
				continue;
			}
			if (q->c.sw_offload || !lvs_io_kernel_can_offload(p)) {
				tx_segment(q, p);
				continue;
			}
		} else if ((p->flags & LVS_PKT_F_CSUM_PARTIAL) && q->c.sw_offload) {
			if (lvs_io_sw_csum(p)) {
				q->st.tx_bad_offload++;
				continue;
			}
			q->st.tx_sw_csum++;
		}
		tx_queue(q, p, true);
	}
	tx_flush(q);
	return (unsigned)(q->st.tx_frames - before);
}

static void afp_stats(const struct lvs_io *q, struct lvs_io_stats *out)
{
	struct tpacket_stats ks;
	socklen_t l = sizeof(ks);

	*out = q->st;
	/* the kernel's counters reset when read: accumulate them */
	if (getsockopt(q->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &l) == 0)
		__atomic_fetch_add(&((struct lvs_io *)q)->kdrops, ks.tp_drops, __ATOMIC_RELAXED);
	out->rx_kernel_drops = __atomic_load_n(&q->kdrops, __ATOMIC_RELAXED);
}

const struct lvs_io_ops lvs_io_afpacket = {
	.name = "afpacket",
	.open = afp_open,
	.close = afp_close,
	.fd = afp_fd,
	.rx = afp_rx,
	.tx = afp_tx,
	.stats = afp_stats,
};
