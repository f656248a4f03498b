/*
 * nfqueue.c - reading an NFQUEUE queue (nfnetlink_queue, through libmnl
 * and libnetfilter_queue's message helpers) for firewall-mark services;
 * see nfqueue.h.
 *
 * Each queued packet is one netlink message (packet id, mark, input
 * interface, hardware address, the IP packet).  A burst is read with
 * recvmmsg (one datagram per packet) and the IP packet copied behind a
 * built Ethernet header into a buffer with the core's headroom; the
 * verdicts of a burst go back in one sendto of several messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "nfqueue.h"

#define NFQ_BURST LVS_IO_BURST
#define NFQ_MAX_PKT 9216                  /* the largest jumbo MTU we take */
#define NFQ_RBUF (NFQ_MAX_PKT + 512)      /* one message: headers, attributes, packet */
#define NFQ_PBUF (LVS_PKT_HEADROOM + 14 + NFQ_MAX_PKT + 256)
#define NFQ_NIF 16                        /* interfaces whose MAC is cached */
#define NFQ_VBUF 64                       /* bytes per verdict message (rounded up) */

struct nfq_if {
	uint32_t ifindex;
	uint8_t mac[6];
};

struct lvs_nfq {
	struct mnl_socket *nl;
	int fd, ifd; /* ifd: a datagram socket for SIOCGIFHWADDR */
	uint16_t qnum;
	unsigned n;                  /* packets of the last rx */
	uint32_t id[NFQ_BURST];      /* their packet ids */
	unsigned nv;                 /* verdicts queued */
	size_t voff;                 /* bytes of verdict messages in vbuf */
	struct lvs_nfq_stats st;
	unsigned nif;
	struct nfq_if ifs[NFQ_NIF];
	struct mmsghdr mm[NFQ_BURST];
	struct iovec iov[NFQ_BURST];
	uint8_t vbuf[NFQ_BURST * 2 * NFQ_VBUF];
	uint8_t *rbuf; /* NFQ_BURST x NFQ_RBUF */
	uint8_t *pbuf; /* NFQ_BURST x NFQ_PBUF */
};

/* Send one configuration message and read the kernel's acknowledgement. */
static int nfq_cfg(struct lvs_nfq *q, uint8_t cmd, bool params)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->qnum);
	int rc;

	if (params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, 8192);
	} else {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, cmd);
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rc = (int)mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (rc < 0)
		return -errno;
	rc = mnl_cb_run(buf, (size_t)rc, 0, 0, NULL, NULL);
	return rc < 0 ? -errno : 0;
}

int lvs_nfq_open(uint16_t qnum, struct lvs_nfq **out)
{
	struct lvs_nfq *q = calloc(1, sizeof(*q));
	int one = 1, sz = 4 << 20, err;

	if (!q)
		return -ENOMEM;
	q->qnum = qnum;
	q->ifd = -1;
	q->rbuf = malloc((size_t)NFQ_BURST * NFQ_RBUF);
	q->pbuf = malloc((size_t)NFQ_BURST * NFQ_PBUF);
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->rbuf || !q->pbuf || !q->nl) {
		err = q->nl ? -ENOMEM : -errno;
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	err = nfq_cfg(q, NFQNL_CFG_CMD_BIND, false);
	if (err) {
		lvs_err("nfqueue: cannot bind queue %u: %s", qnum, strerror(-err));
		goto fail;
	}
	err = nfq_cfg(q, 0, true);
	if (err) {
		lvs_err("nfqueue: queue %u parameters: %s", qnum, strerror(-err));
		goto fail;
	}
	/* Overruns are counted (ENOBUFS) rather than fatal; a large buffer
	 * absorbs a burst of new connections. */
	setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	q->ifd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (unsigned i = 0; i < NFQ_BURST; i++) {
		q->iov[i].iov_base = q->rbuf + (size_t)i * NFQ_RBUF;
		q->iov[i].iov_len = NFQ_RBUF;
		q->mm[i].msg_hdr.msg_iov = &q->iov[i];
		q->mm[i].msg_hdr.msg_iovlen = 1;
	}
	*out = q;
	return 0;
fail:
	lvs_nfq_close(q);
	return err;
}

void lvs_nfq_close(struct lvs_nfq *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	if (q->ifd >= 0)
		close(q->ifd);
	free(q->rbuf);
	free(q->pbuf);
	free(q);
}

int lvs_nfq_fd(const struct lvs_nfq *q)
{
	return q->fd;
}

/* The receiving interface's MAC: the destination of the rebuilt frame
 * (the core routes every frame it sends, so only its shape matters). */
static const uint8_t *if_mac(struct lvs_nfq *q, uint32_t ifindex)
{
	static const uint8_t zero[6];
	struct ifreq ifr;

	for (unsigned i = 0; i < q->nif; i++)
		if (q->ifs[i].ifindex == ifindex)
			return q->ifs[i].mac;
	memset(&ifr, 0, sizeof(ifr));
	if (q->ifd < 0 || !if_indextoname(ifindex, ifr.ifr_name) ||
	    ioctl(q->ifd, SIOCGIFHWADDR, &ifr) < 0)
		return zero;
	if (q->nif == NFQ_NIF)
		q->nif = 0; /* a rare reuse: start over */
	q->ifs[q->nif].ifindex = ifindex;
	memcpy(q->ifs[q->nif].mac, ifr.ifr_hwaddr.sa_data, 6);
	return q->ifs[q->nif++].mac;
}

static void verdict_put(struct lvs_nfq *q, uint32_t id, bool accept)
{
	struct nlmsghdr *nlh;

	if (q->voff + NFQ_VBUF > sizeof(q->vbuf))
		lvs_nfq_flush(q);
	nlh = nfq_nlmsg_put((char *)q->vbuf + q->voff, NFQNL_MSG_VERDICT, q->qnum);
	nfq_nlmsg_verdict_put(nlh, (int)id, accept ? NF_ACCEPT : NF_DROP);
	q->voff += NLMSG_ALIGN(nlh->nlmsg_len);
	q->nv++;
	if (accept)
		q->st.accepted++;
	else
		q->st.dropped++;
}

void lvs_nfq_verdict(struct lvs_nfq *q, unsigned i, bool accept)
{
	if (i < q->n)
		verdict_put(q, q->id[i], accept);
}

void lvs_nfq_flush(struct lvs_nfq *q)
{
	if (!q->voff)
		return;
	if (mnl_socket_sendto(q->nl, q->vbuf, q->voff) < 0)
		q->st.tx_errors++;
	q->voff = 0;
	q->nv = 0;
}

/* One packet message into pkts[q->n]; false when it is not one. */
static bool take(struct lvs_nfq *q, const struct nlmsghdr *nlh, struct lvs_pkt *p)
{
	struct nlattr *a[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	const struct nfqnl_msg_packet_hw *hw;
	uint8_t *buf = q->pbuf + (size_t)q->n * NFQ_PBUF, *eth;
	const uint8_t *ip;
	uint32_t len, ifindex = 0;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) ||
	    nfq_nlmsg_parse(nlh, a) < 0 || !a[NFQA_PACKET_HDR] || !a[NFQA_PAYLOAD])
		return false;
	ph = mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
	ip = mnl_attr_get_payload(a[NFQA_PAYLOAD]);
	len = mnl_attr_get_payload_len(a[NFQA_PAYLOAD]);
	q->st.rx++;
	if (len > NFQ_MAX_PKT || len < 1 || (a[NFQA_CAP_LEN] &&
	    ntohl(mnl_attr_get_u32(a[NFQA_CAP_LEN])) != len)) {
		/* not all of it: the host has it as before */
		q->st.too_big++;
		verdict_put(q, ntohl(ph->packet_id), true);
		return false;
	}
	if (a[NFQA_IFINDEX_INDEV])
		ifindex = ntohl(mnl_attr_get_u32(a[NFQA_IFINDEX_INDEV]));
	lvs_pkt_init(p, buf, NFQ_PBUF, LVS_PKT_HEADROOM, 14 + len);
	eth = p->data;
	memcpy(eth, if_mac(q, ifindex), 6);
	memset(eth + 6, 0, 6);
	hw = a[NFQA_HWADDR] ? mnl_attr_get_payload(a[NFQA_HWADDR]) : NULL;
	if (hw && ntohs(hw->hw_addrlen) == 6)
		memcpy(eth + 6, hw->hw_addr, 6);
	/* the IP version decides, whatever the hook's family */
	eth[12] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
	eth[13] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
	memcpy(eth + 14, ip, len);
	p->ifindex = ifindex;
	p->mark = a[NFQA_MARK] ? ntohl(mnl_attr_get_u32(a[NFQA_MARK])) : 0;
	q->id[q->n] = ntohl(ph->packet_id);
	return true;
}

unsigned lvs_nfq_rx(struct lvs_nfq *q, struct lvs_pkt *pkts, unsigned max)
{
	int got;

	q->n = 0;
	if (max > NFQ_BURST)
		max = NFQ_BURST;
	got = recvmmsg(q->fd, q->mm, max, MSG_DONTWAIT, NULL);
	if (got < 0) {
		if (errno != EAGAIN && errno != EINTR)
			q->st.rx_errors++;
		return 0;
	}
	for (int i = 0; i < got; i++) {
		const struct nlmsghdr *nlh = q->iov[i].iov_base;
		int left = (int)q->mm[i].msg_len;

		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (q->n == max) {
				/* one message per datagram in practice; more
				 * than a burst holds go back to the host */
				struct nlattr *a[NFQA_MAX + 1] = { NULL };
				if (nfq_nlmsg_parse(nlh, a) >= 0 && a[NFQA_PACKET_HDR]) {
					const struct nfqnl_msg_packet_hdr *ph =
						mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
					verdict_put(q, ntohl(ph->packet_id), true);
				}
				continue;
			}
			if (take(q, nlh, &pkts[q->n]))
				q->n++;
		}
	}
	return q->n;
}

void lvs_nfq_get_stats(const struct lvs_nfq *q, struct lvs_nfq_stats *out)
{
	*out = q->st;
}
