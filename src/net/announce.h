/*
 * announce.h - the frames that tell a segment who holds an address:
 * gratuitous ARP (an ARP announcement, RFC 5227 2.3) and neighbour
 * advertisements (RFC 4861 4.4), solicited or unsolicited.  Used by the
 * VIP answers and takeover announcements (vip.c) and by VRRP's
 * announcements on becoming MASTER (RFC 5798 6.4.1 / 6.4.2).
 */
#ifndef LVS_ANNOUNCE_H
#define LVS_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lvs_types.h"

/* Largest frame built here (ARP padded to the Ethernet minimum: 60). */
#define LVS_ANNOUNCE_MAX 128

/* ARP request with sender = target = a, from mac to broadcast: 60 bytes
 * written to f (Ethernet header included), the length returned. */
size_t lvs_frame_garp(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a);

/* Neighbour advertisement flags (RFC 4861 4.4). */
#define LVS_NA_ROUTER 0x80
#define LVS_NA_SOLICITED 0x40
#define LVS_NA_OVERRIDE 0x20

/* The IPv6 packet (header and ICMPv6, 72 bytes at ip) of a neighbour
 * advertisement for target tgt, from tgt to dst, with the target
 * link-layer address option mac; flags LVS_NA_* (Override always set). */
void lvs_frame_na(uint8_t *ip, const union lvs_addr *tgt, const union lvs_addr *dst,
		  const uint8_t mac[6], uint8_t flags);

/* Unsolicited advertisement of a to all nodes (ff02::1), Ethernet header
 * included: written to f, the length returned.  router: set the R flag
 * (a VRRP router's address, RFC 5798 6.4.2). */
size_t lvs_frame_una(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a, bool router);

#endif
