/*
 * nfqueue.h - the second input of firewall-mark services: packets the
 * host's netfilter marked, handed to lvsd through an NFQUEUE queue
 * (nfnetlink_queue) with their mark.
 *
 * Marks are set in the IP layer (mangle PREROUTING), after the AF_PACKET
 * tap and the XDP hook lvsd's drivers read from, so a firewall-mark
 * service's packets reach lvsd only through the queue: an iptables rule
 * (daemon/fwmark.c) queues the packets whose mark has a service.  Each
 * queued packet comes back as an Ethernet frame (the source MAC from the
 * packet's hardware address, the destination the receiving interface's
 * own), so the core runs it like any other frame, with p->mark set.  A
 * packet must then get a verdict: drop when lvsd forwarded (or dropped)
 * it, accept when it belongs to the host, so the host never handles a
 * service's packet.  The kernel segments GSO packets and completes
 * partial checksums before it queues them (no F_GSO flag asked), so
 * frames arrive whole and final.
 *
 * One instance is read by one worker thread; verdicts are sent in one
 * batch per burst.
 */
#ifndef LVS_NFQUEUE_H
#define LVS_NFQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

struct lvs_nfq;

struct lvs_nfq_stats {
	uint64_t rx;          /* packets received */
	uint64_t accepted;    /* given back to the host */
	uint64_t dropped;     /* taken by lvsd (forwarded, held or dropped) */
	uint64_t too_big;     /* larger than a buffer: given back */
	uint64_t rx_errors;   /* ENOBUFS (queue overrun) and other read errors */
	uint64_t tx_errors;   /* verdict batches the kernel refused */
};

/* Bind queue number qnum (copy mode, whole packets).  0 or -errno;
 * -EBUSY when another process has it. Control thread, at start. */
int lvs_nfq_open(uint16_t qnum, struct lvs_nfq **out);
void lvs_nfq_close(struct lvs_nfq *q);
int lvs_nfq_fd(const struct lvs_nfq *q);

/*
 * Receive up to max packets into pkts[] (views on the instance's buffers,
 * valid until the next rx), each an Ethernet frame with mark and ifindex
 * set.  Never blocks; returns how many.  Every packet returned must get a
 * verdict (lvs_nfq_verdict) before the next rx.
 */
unsigned lvs_nfq_rx(struct lvs_nfq *q, struct lvs_pkt *pkts, unsigned max);

/* Verdict for packet i of the last rx: accept (the host goes on with it)
 * or drop (lvsd took it).  Queued; lvs_nfq_flush sends them. */
void lvs_nfq_verdict(struct lvs_nfq *q, unsigned i, bool accept);
void lvs_nfq_flush(struct lvs_nfq *q);

void lvs_nfq_get_stats(const struct lvs_nfq *q, struct lvs_nfq_stats *out);

#endif
