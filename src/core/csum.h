/*
 * csum.h - Internet checksum helpers (RFC 1071, incremental update RFC 1624).
 *
 * Sums are carried as 32-bit one's-complement accumulators ("partial sums")
 * and folded to 16 bits at the end.  All data is in network byte order and
 * the results are ready to store into a header field as they are.
 */
#ifndef LVS_CSUM_H
#define LVS_CSUM_H

#include "lvs_types.h"

/* Add len bytes at buf to a 32-bit partial sum. */
uint32_t lvs_csum_partial(const void *buf, size_t len, uint32_t sum);
/* Fold a partial sum to 16 bits (not complemented). */
uint16_t lvs_csum_fold(uint32_t sum);
/* Fold and complement: the value to store in a checksum field. */
static inline uint16_t lvs_csum_finish(uint32_t sum)
{
	return (uint16_t)~lvs_csum_fold(sum);
}

/* Pseudo-header partial sums (RFC 793/768 for IPv4, RFC 8200 8.1 for IPv6).
 * Addresses in network order, len in host order. */
uint32_t lvs_csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len);
uint32_t lvs_csum_pseudo6(const union lvs_addr *saddr, const union lvs_addr *daddr,
			  uint8_t proto, uint32_t len);

/* RFC 1624 eqn. 3 incremental updates of a stored checksum field *csum when
 * a 16-bit / 32-bit / 128-bit value changes from old to new. */
void lvs_csum_replace2(uint16_t *csum, uint16_t old, uint16_t new_);
void lvs_csum_replace4(uint16_t *csum, uint32_t old, uint32_t new_);
void lvs_csum_replace16(uint16_t *csum, const union lvs_addr *old, const union lvs_addr *new_);

/* The same changes applied to a checksum field that holds only the
 * (non-complemented) pseudo-header sum of a checksum-partial frame. */
void lvs_csum_partial_replace4(uint16_t *csum, uint32_t old, uint32_t new_);
void lvs_csum_partial_replace16(uint16_t *csum, const union lvs_addr *old,
				const union lvs_addr *new_);

/* IPv4 header checksum of hdr (ihl*4 bytes); returns the field value. */
uint16_t lvs_ip4_hdr_csum(const void *hdr, size_t ihl_bytes);

struct lvs_pkt;
/*
 * Compute the full L4 checksum of a parsed TCP/UDP/ICMP/ICMPv6 packet and
 * store it; clears LVS_PKT_F_CSUM_PARTIAL.  Used when a checksum-partial
 * frame must leave complete (e.g. before encapsulation or on drivers that
 * cannot carry the flag).  Returns 0, or -EINVAL for a non-L4 packet or a
 * fragment.
 */
int lvs_pkt_l4_csum_complete(struct lvs_pkt *p);
/*
 * For a parsed frame flagged LVS_PKT_F_CSUM_UNKNOWN: a TCP or UDP checksum
 * field that equals the pseudo-header sum is taken as checksum-partial
 * (LVS_PKT_F_CSUM_PARTIAL, csum_start / csum_offset set), which is exact:
 * should a final checksum happen to equal that sum, completing it yields
 * the same value.  Anything else is final (or corrupt, and left so).
 * Clears LVS_PKT_F_CSUM_UNKNOWN.
 */
void lvs_pkt_csum_resolve(struct lvs_pkt *p);
/* Verify the L4 checksum of a parsed packet: true if valid, or when it
 * cannot or need not be checked (driver-verified, checksum-partial,
 * fragment, unknown protocol, UDP checksum 0 over IPv4; over IPv6 a zero
 * UDP checksum is invalid, RFC 8200). */
bool lvs_pkt_l4_csum_ok(const struct lvs_pkt *p);

#endif
