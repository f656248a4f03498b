/*
 * pkt.h - the packet view the whole data path works on, and its parser.
 *
 * A frame lives in a caller-owned buffer with headroom before it (for
 * encapsulation) and tailroom after it.  lvs_pkt_parse() walks Ethernet
 * (+ one or two 802.1Q/802.1ad tags), IPv4 (options, fragments) or IPv6
 * (extension headers up to the L4 header), then TCP, UDP, ICMP or ICMPv6,
 * bounds-checking every field, and fills struct lvs_pkt_info.  A malformed
 * frame yields a named drop reason (drop.h), never a crash.
 *
 * Checksum offload: a frame the driver hands over as checksum-partial
 * (TP_STATUS_CSUMNOTREADY / virtio VIRTIO_NET_HDR_F_NEEDS_CSUM) carries only
 * the pseudo-header sum in its L4 checksum field; the driver sets
 * LVS_PKT_F_CSUM_PARTIAL with csum_start/csum_offset.  Transforms must keep
 * that invariant or complete the checksum (see csum.h).
 */
#ifndef LVS_PKT_H
#define LVS_PKT_H

#include "drop.h"
#include "lvs_types.h"

#define LVS_PKT_HEADROOM 128 /* buffers handed to the core must have this */

/* lvs_pkt.flags */
#define LVS_PKT_F_CSUM_PARTIAL 0x1 /* L4 csum holds only the pseudo-header sum */
#define LVS_PKT_F_CSUM_VALID 0x2   /* driver verified the L4 checksum */
/* The driver cannot tell whether the L4 checksum is final or holds only the
 * pseudo-header sum (AF_XDP loses the kernel's flag): lvs_pkt_parse()
 * decides (lvs_pkt_csum_resolve, csum.h) and clears this. */
#define LVS_PKT_F_CSUM_UNKNOWN 0x4
/* A fragment the director made (frag.h): frag_sport / frag_dport hold the
 * ports of its datagram. */
#define LVS_PKT_F_FRAG_OWN 0x8

/* lvs_pkt_info.frag */
#define LVS_FRAG_NONE 0
#define LVS_FRAG_FIRST 1 /* offset 0, more fragments follow: L4 header present */
#define LVS_FRAG_LATER 2 /* offset > 0: no L4 header */

struct lvs_pkt_info {
	uint16_t l3_off;     /* offset of the IP header from pkt.data */
	uint16_t l4_off;     /* offset of the L4 header; 0 when absent */
	uint16_t l3_len;     /* IP datagram length from the header (v4 tot_len, v6 40+plen) */
	uint16_t l4_len;     /* l3_off + l3_len - l4_off: L4 header + payload */
	uint16_t eth_type;   /* host order, after any VLAN tags */
	uint16_t vlan_tci;   /* host order, outermost tag; valid if nr_vlan */
	uint8_t nr_vlan;     /* 0, 1 or 2 tags */
	uint8_t af;          /* AF_INET, AF_INET6, or 0 for non-IP (ARP...) */
	uint8_t proto;       /* final L4 protocol (IPPROTO_TCP, ...) */
	uint8_t frag;        /* LVS_FRAG_* */
	uint8_t ttl;         /* TTL or hop limit */
	uint8_t tcp_flags;   /* TCP flag byte (FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10) */
	uint8_t icmp_type;   /* ICMP / ICMPv6 type and code */
	uint8_t icmp_code;
	uint8_t icmp_is_err; /* ICMP error that quotes a packet (dest unreach, ...) */
	uint8_t ip4_df;      /* IPv4 DF bit set */
	uint16_t ip6_frag_off; /* offset of the IPv6 fragment header, 0 if none */
	uint32_t frag_id;    /* IPv4 id or IPv6 fragment identification (host order) */
	uint16_t sport;      /* network order; ICMP echo: identifier in both */
	uint16_t dport;
	union lvs_addr saddr;
	union lvs_addr daddr;
};

struct lvs_pkt {
	uint8_t *data;       /* start of the Ethernet header */
	uint32_t len;        /* frame length */
	uint32_t headroom;   /* bytes usable before data */
	uint32_t tailroom;   /* bytes usable after data + len */
	uint32_t flags;      /* LVS_PKT_F_* */
	uint16_t csum_start; /* CSUM_PARTIAL: offset of L4 header from data */
	uint16_t csum_offset;/* CSUM_PARTIAL: offset of csum field from csum_start */
	uint16_t gso_size;   /* >0: GSO super-frame, segment payload size */
	uint16_t gso_type;   /* driver GSO type (virtio_net_hdr values) */
	uint32_t mark;       /* firewall mark from the driver (fwmark services) */
	uint32_t ifindex;    /* receiving interface; set to the egress on output */
	/* Set by the core, never by drivers (frag.h): after a too_big_for_mtu
	 * drop of an IPv4 datagram without DF, the IP size it may be split to
	 * (0: may not); the ports of a piece flagged LVS_PKT_F_FRAG_OWN. */
	uint16_t frag_mtu;
	uint16_t frag_sport, frag_dport;
	struct lvs_pkt_info pi;
};

/* Initialise a view on buf[headroom .. headroom+len) of a buffer of size cap. */
static inline void lvs_pkt_init(struct lvs_pkt *p, uint8_t *buf, uint32_t cap,
				uint32_t headroom, uint32_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = buf + headroom;
	p->len = len;
	p->headroom = headroom;
	p->tailroom = cap - headroom - len;
}

/* Move data back by n bytes (prepend). 0, or -ENOBUFS without headroom. */
int lvs_pkt_push(struct lvs_pkt *p, uint32_t n);
/* Move data forward by n bytes (strip). 0, or -EINVAL if n > len. */
int lvs_pkt_pull(struct lvs_pkt *p, uint32_t n);

/*
 * Parse the frame at p->data into p->pi.  Data path; no allocation.
 * Returns LVS_DROP_NONE (0) or the reason the frame is malformed.  A non-IP
 * frame (ARP, LLDP...) returns LVS_DROP_NONE with pi.af == 0 so the caller
 * can hand it on.  Trailing bytes after the IP datagram (Ethernet padding)
 * are allowed and ignored.  IPv4 header checksum is verified.
 */
enum lvs_drop lvs_pkt_parse(struct lvs_pkt *p);

/*
 * Parse the packet quoted inside an ICMP/ICMPv6 error of an already parsed
 * frame: the inner IP header (+ extension headers) and the first 8 bytes of
 * its L4 header, which are all an error is guaranteed to carry.  Offsets in
 * *inner are relative to p->data; inner->l3_len is the quoted datagram's
 * header length field (the quote may be truncated).  Returns LVS_DROP_NONE
 * or LVS_DROP_ICMP_INNER.
 */
enum lvs_drop lvs_pkt_parse_icmp_inner(const struct lvs_pkt *p, struct lvs_pkt_info *inner);

#endif
