/*
 * afxdp.c - the AF_XDP driver (--io afxdp): XDP sockets over libxdp, the
 * XDP program (lvs_xdp.bpf.c, embedded as a libbpf skeleton) over libbpf.
 *
 * The program is loaded once per process and attached to every served
 * interface through a BPF link, so it goes away with lvsd, even when lvsd
 * is killed.  It hands only director traffic to user space (its filter map
 * holds the VIPs, services and NAT real servers, lvs_io_ops.set_filter)
 * and passes everything else to the host.  On an interface that already
 * has another XDP program, open fails: we do not replace other programs.
 * lvsd's XDP fast path, which runs the same filter on the same maps for
 * the frames it does not forward itself, stands in for the program by a
 * link update on every interface (xdp_replace) and gives it back when it
 * stops.
 *
 * One instance is one XDP socket, bound to receive queue `worker` of its
 * interface, with a UMEM of its own: AFX_RX_FRAMES go to the fill ring,
 * AFX_TX_FRAMES are kept for transmission.  Received frames are handed to
 * the core in place (the UMEM's frame headroom leaves LVS_PKT_HEADROOM
 * before each frame) and go back to the fill ring at the next rx.
 *
 * Transmit goes out on the frame's egress interface (p->ifindex): through
 * the socket this worker has on that interface, so NAT (in on one
 * interface, out on another) needs every worker to own a queue on every
 * served interface: lvsd runs at most as many workers as the interfaces
 * have queues (max_queues).  A route through an interface lvsd does not
 * serve is sent on with a packet socket.  Frames are copied into a
 * transmit frame of that socket's UMEM; the kernel is kicked with sendto() (copy mode sends
 * at most a small batch per call, so we kick until the ring drains or the
 * device pushes back, and finish later).
 *
 * Offloads: XDP loses the kernel's checksum-partial flag, so every frame is
 * received as LVS_PKT_F_CSUM_UNKNOWN (the core tells partial from final,
 * csum.h), and anything still partial on transmit is completed here.  Any
 * super-frames the core produces are segmented here.
 *
 * Multi-buffer: sockets are bound with XDP_USE_SG where the kernel takes
 * it (the first socket decides, and the matching variant of the program
 * is attached).  A frame larger than a UMEM frame (jumbo) then comes as a
 * chain of descriptors, copied into a linear buffer of the instance's
 * (rx), and leaves as one (put).  A TCP frame over the MTU is taken for a
 * GSO super-frame (lvs_io_sw_gso_guess).  On veth, any XDP program takes
 * TSO off the peer, so frames arrive at most MTU-sized there.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "io.h"
#include "log.h"
#include "lvs_xdp.skel.h"
#include "xdp_filter.h"

#define AFX_FRAME      XSK_UMEM__DEFAULT_FRAME_SIZE /* 4096 */
#define AFX_HEADROOM   (LVS_PKT_HEADROOM + 16)      /* room to re-insert a VLAN tag */
#define AFX_RX_FRAMES  2048
#define AFX_TX_FRAMES  1024
#define AFX_NFRAMES    (AFX_RX_FRAMES + AFX_TX_FRAMES)
#define AFX_MAX_WORKERS 64
#define AFX_KICKS      64 /* sendto() calls per flush, at most */
#define AFX_SEG_ARENA  (256 * 1024)
#define AFX_MAX_SEGS   256
/* Multi-buffer frames (a jumbo frame; a GRO'd one in generic XDP mode)
 * arrive as a chain of descriptors and are copied into one of AFX_NBIG
 * linear buffers per instance; a burst stops when they are all taken. */
#define AFX_RX_PEEK    256                          /* descriptors per rx */
#define AFX_NBIG       8
#define AFX_BIG_DATA   (65536 + 1024)               /* largest frame taken */
#define AFX_BIG_SLOT   (AFX_HEADROOM + AFX_BIG_DATA + 512)

/* Linux 6.6+ (multi-buffer AF_XDP); older uapi headers lack them. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

struct lvs_io {
	struct lvs_io_conf c;
	unsigned slot, queue;
	uint8_t *area; /* the UMEM */
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	int fd;
	int other_fd; /* packet socket for other interfaces (lazily opened) */
	bool prog_ref; /* holds a reference on the program (prog_get) */
	bool sg;       /* bound with XDP_USE_SG: frames may span descriptors */
	/* frames handed out by the last rx, back to the fill ring next time */
	uint64_t held[AFX_RX_PEEK];
	unsigned nheld;
	uint8_t *big;  /* AFX_NBIG linear buffers of AFX_BIG_SLOT */
	/* free transmit frames (UMEM offsets) */
	uint64_t txfree[AFX_TX_FRAMES];
	unsigned ntxfree;
	unsigned tx_pending; /* reserved, not yet submitted */
	uint8_t *seg_arena;
	struct lvs_pkt segs[AFX_MAX_SEGS];
	struct lvs_io_stats st;
};

/* Process-wide: the program, the interfaces it is attached to, and every
 * worker's instance per interface (for transmit on another interface).
 * Changed only by open/close, which lvsd runs before the workers start and
 * after they stop. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lvs_xdp *g_skel;
static unsigned g_users;
static struct {
	uint32_t ifindex; /* 0: free slot */
	unsigned users;
	struct bpf_link *link;
} g_if[LVS_XDP_IF_MAX];
static struct lvs_io *g_inst[AFX_MAX_WORKERS][LVS_XDP_IF_MAX];
/* The filter while no program holds it (before the first open, after the
 * last close), sorted; the program's map holds it otherwise. */
static struct lvs_xdp_key *g_filter;
static unsigned g_nfilter;
/* A program standing in for the driver's (xdp_replace), or -1. */
static int g_stand_in = -1;
/* The sockets take multi-buffer frames (decided by the first socket
 * bound: the kernel has XDP_USE_SG or not), so the multi-buffer variant
 * of the program is attached: frames over a page (jumbo) get through. */
static bool g_sg;

static struct bpf_program *own_prog(void)
{
	return g_sg ? g_skel->progs.lvs_xdp_mb : g_skel->progs.lvs_xdp;
}

static int cmp_xkey(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lvs_xdp_key));
}

/* ---- the program ---- */

/* libbpf's own messages go to lvsd's log, as debug lines: what matters is
 * reported by the caller. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	lvs_debug("afxdp: libbpf: %s", buf);
	return 0;
}

static int prog_get(void)
{
	if (g_skel) {
		g_users++;
		return 0;
	}
	libbpf_set_print(libbpf_log);
	g_skel = lvs_xdp__open_and_load();
	if (!g_skel) {
		int err = -errno;
		lvs_err("afxdp: cannot load the XDP program: %s", strerror(-err));
		return err ? err : -EINVAL;
	}
	g_users = 1;
	/* keys written before the first instance opened */
	for (unsigned i = 0; i < g_nfilter; i++) {
		uint32_t one = 1;
		bpf_map__update_elem(g_skel->maps.lvs_filter, &g_filter[i], sizeof(g_filter[i]),
				     &one, sizeof(one), BPF_ANY);
	}
	free(g_filter);
	g_filter = NULL;
	g_nfilter = 0;
	return 0;
}

/* Keep the map's keys for a program loaded later (filter changes may
 * come meanwhile). */
static void filter_save(void)
{
	struct lvs_xdp_key k, *prev = NULL;
	unsigned cap = 0;

	while (!bpf_map__get_next_key(g_skel->maps.lvs_filter, prev, &k, sizeof(k))) {
		if (g_nfilter == cap) {
			unsigned nc = cap ? cap * 2 : 256;
			struct lvs_xdp_key *x = realloc(g_filter, nc * sizeof(*x));
			if (!x) {
				lvs_err("afxdp: out of memory saving the filter");
				break;
			}
			g_filter = x;
			cap = nc;
		}
		g_filter[g_nfilter] = k;
		prev = &g_filter[g_nfilter++];
	}
	if (g_nfilter)
		qsort(g_filter, g_nfilter, sizeof(*g_filter), cmp_xkey);
}

static void prog_put(void)
{
	if (g_users && --g_users == 0) {
		filter_save();
		lvs_xdp__destroy(g_skel);
		g_skel = NULL;
		g_stand_in = -1;
	}
}

/* Attach to c's interface (once per interface); its slot, or -errno. */
static int if_get(const struct lvs_io_conf *c)
{
	int free_slot = -1;
	struct bpf_link *link;
	uint32_t slot;

	for (int i = 0; i < LVS_XDP_IF_MAX; i++) {
		if (g_if[i].ifindex == c->ifindex) {
			g_if[i].users++;
			return i;
		}
		if (!g_if[i].ifindex && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		lvs_err("afxdp: more than %d interfaces", LVS_XDP_IF_MAX);
		return -ENOSPC;
	}
	link = bpf_program__attach_xdp(own_prog(), (int)c->ifindex);
	if (!link) {
		int err = -errno;
		lvs_err("afxdp: cannot attach the XDP program to %s: %s%s", c->ifname,
			strerror(-err),
			err == -EBUSY || err == -EEXIST ? " (another XDP program is attached)" : "");
		return err ? err : -EINVAL;
	}
	if (g_stand_in >= 0 && bpf_link_update(bpf_link__fd(link), g_stand_in, NULL)) {
		int err = -errno;
		lvs_err("afxdp: cannot run the fast path's program on %s: %s", c->ifname,
			strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	slot = (uint32_t)free_slot;
	if (bpf_map__update_elem(g_skel->maps.lvs_ifslot, &c->ifindex, sizeof(c->ifindex), &slot,
				 sizeof(slot), BPF_ANY)) {
		int err = -errno;
		lvs_err("afxdp: interface map: %s", strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	g_if[free_slot].ifindex = c->ifindex;
	g_if[free_slot].users = 1;
	g_if[free_slot].link = link;
	lvs_info("afxdp: XDP program attached to %s", c->ifname);
	return free_slot;
}

static void if_put(unsigned slot)
{
	if (!g_if[slot].users || --g_if[slot].users)
		return;
	bpf_map__delete_elem(g_skel->maps.lvs_ifslot, &g_if[slot].ifindex,
			     sizeof(g_if[slot].ifindex), 0);
	bpf_link__destroy(g_if[slot].link);
	memset(&g_if[slot], 0, sizeof(g_if[slot]));
}

/* ---- instances ---- */

static void afx_close(struct lvs_io *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&g_lock);
	if (q->xsk) {
		uint32_t key = q->slot * LVS_XDP_QUEUES_MAX + q->queue;
		bpf_map__delete_elem(g_skel->maps.lvs_xsks, &key, sizeof(key), 0);
		xsk_socket__delete(q->xsk);
	}
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (g_inst[q->c.worker][q->slot] == q) {
		g_inst[q->c.worker][q->slot] = NULL;
		if_put(q->slot);
	}
	if (q->prog_ref)
		prog_put();
	pthread_mutex_unlock(&g_lock);
	if (q->other_fd >= 0)
		close(q->other_fd);
	if (q->area)
		munmap(q->area, (size_t)AFX_NFRAMES * AFX_FRAME);
	free(q->seg_arena);
	free(q->big);
	free(q);
}

/* Receive queues of ifname: the larger of the rx and combined channel
 * counts (ETHTOOL_GCHANNELS), 1 when the driver does not say. */
static unsigned afx_max_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	unsigned n = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
		n = ch.rx_count > ch.combined_count ? ch.rx_count : ch.combined_count;
		if (!n)
			n = 1;
	}
	close(fd);
	return n > LVS_XDP_QUEUES_MAX ? LVS_XDP_QUEUES_MAX : n;
}

static int fill_frames(struct lvs_io *q, const uint64_t *addr, unsigned n)
{
	uint32_t idx;

	if (!n)
		return 0;
	if (xsk_ring_prod__reserve(&q->fill, n, &idx) != n)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addr[i];
	xsk_ring_prod__submit(&q->fill, n);
	return 0;
}

static int afx_open(struct lvs_io_conf *c, struct lvs_io **out)
{
	struct xsk_umem_config uc = {
		.fill_size = AFX_RX_FRAMES,
		.comp_size = AFX_TX_FRAMES,
		.frame_size = AFX_FRAME,
		.frame_headroom = AFX_HEADROOM,
	};
	struct xsk_socket_config sc = {
		.rx_size = AFX_RX_FRAMES,
		.tx_size = AFX_TX_FRAMES,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	size_t len = (size_t)AFX_NFRAMES * AFX_FRAME;
	unsigned nq = afx_max_queues(c->ifname);
	struct lvs_io *q;
	uint64_t rxa[256];
	uint32_t key;
	int err, fd, slot;

	*out = NULL;
	if (c->worker >= nq || c->worker >= AFX_MAX_WORKERS) {
		lvs_err("afxdp: %s has %u receive queue%s: one per worker is needed (use -w %u)",
			c->ifname, nq, nq > 1 ? "s" : "", nq < AFX_MAX_WORKERS ? nq : AFX_MAX_WORKERS);
		return -EINVAL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = *c;
	q->queue = c->worker;
	q->fd = -1;
	q->other_fd = -1;
	q->seg_arena = malloc(AFX_SEG_ARENA);
	q->big = malloc((size_t)AFX_NBIG * AFX_BIG_SLOT);
	q->area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED || !q->seg_arena || !q->big) {
		q->area = q->area == MAP_FAILED ? NULL : q->area;
		afx_close(q);
		return -ENOMEM;
	}

	err = xsk_umem__create(&q->umem, q->area, len, &q->fill, &q->comp, &uc);
	if (err) {
		lvs_err("afxdp: %s: UMEM: %s", c->ifname, strerror(-err));
		goto fail;
	}
	/* multi-buffer frames where the kernel takes them (6.6+) */
	sc.bind_flags |= XDP_USE_SG;
	err = xsk_socket__create(&q->xsk, c->ifname, q->queue, q->umem, &q->rx, &q->tx, &sc);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		sc.bind_flags &= ~(uint16_t)XDP_USE_SG;
		err = xsk_socket__create(&q->xsk, c->ifname, q->queue, q->umem, &q->rx, &q->tx,
					 &sc);
	} else if (!err) {
		q->sg = true;
	}
	if (err) {
		lvs_err("afxdp: %s queue %u: XDP socket: %s", c->ifname, q->queue, strerror(-err));
		goto fail;
	}
	q->fd = xsk_socket__fd(q->xsk);
	for (unsigned i = 0; i < AFX_RX_FRAMES; i += 256) {
		for (unsigned k = 0; k < 256; k++)
			rxa[k] = (uint64_t)(i + k) * AFX_FRAME;
		if ((err = fill_frames(q, rxa, 256)))
			goto fail;
	}
	for (unsigned i = 0; i < AFX_TX_FRAMES; i++)
		q->txfree[q->ntxfree++] = (uint64_t)(AFX_RX_FRAMES + i) * AFX_FRAME;

	pthread_mutex_lock(&g_lock);
	err = prog_get();
	if (err) {
		pthread_mutex_unlock(&g_lock);
		goto fail;
	}
	q->prog_ref = true;
	if (g_users == 1) /* the program was loaded for this socket */
		g_sg = q->sg;
	else if (q->sg != g_sg)
		lvs_warn("afxdp: %s queue %u: %s multi-buffer frames, unlike the other sockets",
			 c->ifname, q->queue, q->sg ? "takes" : "does not take");
	slot = if_get(c);
	if (slot < 0) {
		pthread_mutex_unlock(&g_lock);
		err = slot;
		goto fail;
	}
	q->slot = (unsigned)slot;
	g_inst[c->worker][slot] = q;
	key = q->slot * LVS_XDP_QUEUES_MAX + q->queue;
	fd = q->fd;
	err = bpf_map__update_elem(g_skel->maps.lvs_xsks, &key, sizeof(key), &fd, sizeof(fd),
				   BPF_ANY)
		      ? -errno
		      : 0;
	pthread_mutex_unlock(&g_lock);
	if (err) {
		lvs_err("afxdp: %s: socket map: %s", c->ifname, strerror(-err));
		goto fail;
	}
	lvs_debug("afxdp: %s queue %u open (worker %u)", c->ifname, q->queue, c->worker);
	*out = q;
	return 0;
fail:
	afx_close(q);
	return err ? err : -EINVAL;
}

static int afx_fd(const struct lvs_io *q)
{
	return q->fd;
}

/* Transmit frames the kernel has finished with. */
static void reclaim(struct lvs_io *q)
{
	uint32_t idx;
	unsigned n = xsk_ring_cons__peek(&q->comp, AFX_TX_FRAMES, &idx);

	for (unsigned i = 0; i < n; i++)
		q->txfree[q->ntxfree++] = *xsk_ring_cons__comp_addr(&q->comp, idx + i) &
					  ~(uint64_t)(AFX_FRAME - 1);
	if (n)
		xsk_ring_cons__release(&q->comp, n);
}

static bool tx_ring_busy(const struct lvs_io *q)
{
	return __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) != q->tx.cached_prod;
}

/* Publish what was queued and kick the kernel until the ring drains, the
 * device pushes back, or AFX_KICKS calls; what is left goes next time. */
static void flush(struct lvs_io *q)
{
	if (q->tx_pending) {
		xsk_ring_prod__submit(&q->tx, q->tx_pending);
		q->tx_pending = 0;
	}
	for (int k = 0; k < AFX_KICKS && tx_ring_busy(q); k++) {
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			continue;
		if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS) {
			/* the kernel took a batch and wants another call, or the
			 * device is full: make room by taking completions */
			reclaim(q);
			continue;
		}
		q->st.tx_errors++;
		break;
	}
	reclaim(q);
}

static unsigned afx_rx(struct lvs_io *q, struct lvs_pkt *pkts, unsigned max)
{
	uint32_t idx;
	unsigned n, used = 0, np = 0, nbig = 0;

	if (q->nheld && !fill_frames(q, q->held, q->nheld))
		q->nheld = 0;
	if (q->tx_pending || tx_ring_busy(q))
		flush(q);
	if (max > LVS_IO_BURST)
		max = LVS_IO_BURST;
	if (q->nheld) /* the fill ring had no room: keep the old frames */
		return 0;
	n = xsk_ring_cons__peek(&q->rx, AFX_RX_PEEK, &idx);
	while (used < n && np < max) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + used);
		uint64_t base = d->addr & ~(uint64_t)(AFX_FRAME - 1);
		struct lvs_pkt *p = &pkts[np];
		unsigned last = used, k;
		uint32_t total = 0;

		if (!(d->options & XDP_PKT_CONTD)) {
			/* one buffer: handed to the core in place */
			lvs_pkt_init(p, q->area + base, AFX_FRAME, (uint32_t)(d->addr - base), d->len);
			q->held[q->nheld++] = base;
			used++;
		} else {
			/* a chain: the frame's descriptors all come at once */
			while (last < n &&
			       (xsk_ring_cons__rx_desc(&q->rx, idx + last)->options & XDP_PKT_CONTD))
				last++;
			if (last == n || nbig == AFX_NBIG)
				break; /* the rest next time */
			for (k = used; k <= last; k++)
				total += xsk_ring_cons__rx_desc(&q->rx, idx + k)->len;
			if (total > AFX_BIG_DATA) {
				q->st.rx_truncated++;
			} else {
				uint8_t *b = q->big + (size_t)nbig++ * AFX_BIG_SLOT;
				uint32_t off = 0;

				for (k = used; k <= last; k++) {
					const struct xdp_desc *x = xsk_ring_cons__rx_desc(&q->rx, idx + k);

					memcpy(b + AFX_HEADROOM + off, q->area + x->addr, x->len);
					off += x->len;
				}
				lvs_pkt_init(p, b, AFX_BIG_SLOT, AFX_HEADROOM, total);
			}
			for (k = used; k <= last; k++)
				q->held[q->nheld++] =
					xsk_ring_cons__rx_desc(&q->rx, idx + k)->addr & ~(uint64_t)(AFX_FRAME - 1);
			used = last + 1;
			if (total > AFX_BIG_DATA)
				continue;
		}
		p->flags = LVS_PKT_F_CSUM_UNKNOWN;
		p->ifindex = q->c.ifindex;
		q->st.rx_bytes += p->len;
		if (p->len > q->c.mtu + 14) {
			q->st.rx_gso += lvs_io_sw_gso_guess(p, q->c.mtu);
		}
		np++;
	}
	if (n > used)
		xsk_ring_cons__cancel(&q->rx, n - used);
	if (used) {
		xsk_ring_cons__release(&q->rx, used);
		q->st.rx_frames += np;
	}
	if (xsk_ring_prod__needs_wakeup(&q->fill))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	return np;
}

/* The same worker's instance on ifindex, or NULL. */
static struct lvs_io *egress(const struct lvs_io *q, uint32_t ifindex)
{
	if (ifindex == q->c.ifindex)
		return (struct lvs_io *)q;
	for (int i = 0; i < LVS_XDP_IF_MAX; i++)
		if (g_if[i].ifindex == ifindex)
			return g_inst[q->c.worker][i];
	return NULL;
}

/* Copy one complete frame into t's transmit ring: one descriptor, or a
 * chain of them (XDP_PKT_CONTD) for a frame larger than a UMEM frame (a
 * jumbo frame) on a multi-buffer socket. */
static bool put(struct lvs_io *t, const struct lvs_pkt *p)
{
	unsigned nd = (p->len + AFX_FRAME - 1) / AFX_FRAME;
	uint32_t idx, off = 0;

	if (!nd || (nd > 1 && !t->sg) || nd > AFX_TX_FRAMES / 4) {
		t->st.tx_errors++;
		return false;
	}
	if (t->ntxfree < nd)
		reclaim(t);
	if (t->ntxfree < nd) {
		flush(t);
		if (t->ntxfree < nd) {
			t->st.tx_errors++;
			return false;
		}
	}
	if (xsk_ring_prod__reserve(&t->tx, nd, &idx) != nd) {
		flush(t);
		if (xsk_ring_prod__reserve(&t->tx, nd, &idx) != nd) {
			t->st.tx_errors++;
			return false;
		}
	}
	for (unsigned i = 0; i < nd; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&t->tx, idx + i);
		uint32_t chunk = p->len - off < AFX_FRAME ? p->len - off : AFX_FRAME;
		uint64_t a = t->txfree[--t->ntxfree];

		memcpy(t->area + a, p->data + off, chunk);
		d->addr = a;
		d->len = chunk;
		d->options = i + 1 < nd ? XDP_PKT_CONTD : 0;
		off += chunk;
	}
	t->tx_pending += nd;
	t->st.tx_frames++;
	t->st.tx_bytes += p->len;
	return true;
}

/* A frame for an interface without an XDP socket of ours (a route through
 * an interface lvsd does not serve): through q's packet socket, which
 * receives nothing (protocol 0). */
static bool put_other(struct lvs_io *q, const struct lvs_pkt *p)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = (int)p->ifindex,
		.sll_halen = 6,
	};

	if (q->other_fd < 0)
		q->other_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	memcpy(sll.sll_addr, p->data, 6);
	if (q->other_fd < 0 || sendto(q->other_fd, p->data, p->len, MSG_DONTWAIT,
				      (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)p->len) {
		q->st.tx_errors++;
		return false;
	}
	q->st.tx_frames++;
	q->st.tx_bytes += p->len;
	return true;
}

/* One complete frame to t's ring, or to another interface when t is NULL. */
static bool put_to(struct lvs_io *q, struct lvs_io *t, const struct lvs_pkt *p)
{
	return t ? put(t, p) : put_other(q, p);
}

static unsigned afx_tx(struct lvs_io *q, struct lvs_pkt *const *pkts, unsigned n)
{
	struct lvs_io *touched[LVS_XDP_IF_MAX];
	unsigned ntouched = 0, sent = 0;

	for (unsigned i = 0; i < n; i++) {
		struct lvs_pkt *p = pkts[i];
		struct lvs_io *t = egress(q, p->ifindex);
		struct lvs_io *a = t ? t : q; /* counters and segment arena */
		bool seen = !t;

		if (p->len < 14) {
			q->st.tx_errors++;
			continue;
		}
		if (p->gso_size) {
			int ns = (p->flags & LVS_PKT_F_CSUM_PARTIAL)
					 ? lvs_io_sw_segment(p, a->seg_arena, AFX_SEG_ARENA, a->segs,
							     AFX_MAX_SEGS)
					 : -EINVAL;
			if (ns < 0) {
				a->st.tx_bad_offload++;
				continue;
			}
			for (int k = 0; k < ns; k++) {
				sent += put_to(q, t, &a->segs[k]);
				a->st.tx_sw_segs++;
			}
		} else {
			if (p->flags & LVS_PKT_F_CSUM_PARTIAL) {
				if (lvs_io_sw_csum(p)) {
					a->st.tx_bad_offload++;
					continue;
				}
				a->st.tx_sw_csum++;
			}
			sent += put_to(q, t, p);
		}
		for (unsigned k = 0; k < ntouched; k++)
			seen |= touched[k] == t;
		if (!seen && ntouched < LVS_XDP_IF_MAX)
			touched[ntouched++] = t;
	}
	for (unsigned k = 0; k < ntouched; k++)
		flush(touched[k]);
	return sent;
}

static void afx_stats(const struct lvs_io *q, struct lvs_io_stats *out)
{
	struct xdp_statistics xs;
	socklen_t l = sizeof(xs);

	*out = q->st;
	if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &xs, &l) == 0)
		out->rx_kernel_drops = xs.rx_dropped + xs.rx_ring_full;
}

/* ---- the filter ---- */

/* Without a program: the saved keys, merged with the change.  0 or
 * -ENOMEM. */
static int filter_merge(const struct lvs_xdp_key *add, unsigned nadd,
			const struct lvs_xdp_key *del, unsigned ndel)
{
	struct lvs_xdp_key *nk = malloc((g_nfilter + nadd + 1) * sizeof(*nk));
	unsigned m = 0;

	if (!nk)
		return -ENOMEM;
	memcpy(nk, g_filter, g_nfilter * sizeof(*nk));
	memcpy(nk + g_nfilter, add, nadd * sizeof(*nk));
	qsort(nk, g_nfilter + nadd, sizeof(*nk), cmp_xkey);
	for (unsigned k = 0; k < g_nfilter + nadd; k++) {
		bool gone = false;
		if (m && !cmp_xkey(&nk[m - 1], &nk[k]))
			continue;
		for (unsigned d = 0; d < ndel && !gone; d++)
			gone = !cmp_xkey(&del[d], &nk[k]);
		if (!gone)
			nk[m++] = nk[k];
	}
	free(g_filter);
	g_filter = nk;
	g_nfilter = m;
	return 0;
}

static int afx_set_filter(const struct lvs_xdp_key *add, unsigned nadd,
			  const struct lvs_xdp_key *del, unsigned ndel)
{
	uint32_t one = 1;
	int err = 0;

	pthread_mutex_lock(&g_lock);
	if (!g_skel) {
		err = filter_merge(add, nadd, del, ndel);
		goto out;
	}
	/* add first, then take away: nothing a connection needs is missing
	 * meanwhile */
	for (unsigned k = 0; k < nadd && !err; k++)
		if (bpf_map__update_elem(g_skel->maps.lvs_filter, &add[k], sizeof(add[k]), &one,
					 sizeof(one), BPF_ANY))
			err = -errno;
	for (unsigned k = 0; k < ndel && !err; k++)
		if (bpf_map__delete_elem(g_skel->maps.lvs_filter, &del[k], sizeof(del[k]), 0) &&
		    errno != ENOENT)
			err = -errno;
out:
	pthread_mutex_unlock(&g_lock);
	return err;
}

static void afx_prog_stats(uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();

	memset(out, 0, LVS_XDPS__COUNT * sizeof(uint64_t));
	if (ncpu <= 0)
		return;
	uint64_t v[ncpu];
	pthread_mutex_lock(&g_lock);
	for (uint32_t k = 0; g_skel && k < LVS_XDPS__COUNT; k++)
		if (!bpf_map__lookup_elem(g_skel->maps.lvs_xdp_stats, &k, sizeof(k), v,
					  sizeof(v), 0))
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
	pthread_mutex_unlock(&g_lock);
}

static int afx_xdp_maps(struct lvs_xdp_maps *out)
{
	int err = 0;

	pthread_mutex_lock(&g_lock);
	if (!g_skel) {
		err = -ENOENT;
	} else {
		out->xsks = bpf_map__fd(g_skel->maps.lvs_xsks);
		out->ifslot = bpf_map__fd(g_skel->maps.lvs_ifslot);
		out->filter = bpf_map__fd(g_skel->maps.lvs_filter);
		out->stats = bpf_map__fd(g_skel->maps.lvs_xdp_stats);
		out->frags = g_sg;
	}
	pthread_mutex_unlock(&g_lock);
	return err;
}

static int afx_xdp_replace(int prog_fd)
{
	int own, err = 0, i;

	pthread_mutex_lock(&g_lock);
	if (!g_skel) {
		pthread_mutex_unlock(&g_lock);
		return -ENOENT;
	}
	own = bpf_program__fd(own_prog());
	for (i = 0; i < LVS_XDP_IF_MAX; i++)
		if (g_if[i].link &&
		    bpf_link_update(bpf_link__fd(g_if[i].link), prog_fd >= 0 ? prog_fd : own, NULL)) {
			err = -errno;
			break;
		}
	/* all or none: the ones done go back */
	while (err && --i >= 0)
		if (g_if[i].link)
			bpf_link_update(bpf_link__fd(g_if[i].link),
					g_stand_in >= 0 ? g_stand_in : own, NULL);
	if (!err)
		g_stand_in = prog_fd >= 0 ? prog_fd : -1;
	pthread_mutex_unlock(&g_lock);
	return err;
}

const struct lvs_io_ops lvs_io_afxdp = {
	.name = "afxdp",
	.open = afx_open,
	.close = afx_close,
	.fd = afx_fd,
	.rx = afx_rx,
	.tx = afx_tx,
	.stats = afx_stats,
	.max_queues = afx_max_queues,
	.set_filter = afx_set_filter,
	.prog_stats = afx_prog_stats,
	.xdp_maps = afx_xdp_maps,
	.xdp_replace = afx_xdp_replace,
};
