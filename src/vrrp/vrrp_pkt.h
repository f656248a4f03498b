/*
 * vrrp_pkt.h - VRRP advertisement codec: version 3 for IPv4 and IPv6
 * (RFC 5798 section 5) and version 2 for IPv4 (RFC 3768 section 5), the
 * latter so keepalived peers configured with the default version interoperate.
 *
 * Pure: no I/O, no clock.  The codec handles the VRRP message only (the IP
 * payload); the IP header is built and parsed by the raw socket that carries
 * it (protocol 112, TTL / hop limit 255, RFC 5798 section 5.1), whose
 * addresses and TTL the caller passes in because the checksum and the
 * receive checks depend on them.
 */
#ifndef LVS_VRRP_PKT_H
#define LVS_VRRP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lvs_types.h"

#define VRRP_IPPROTO       112
#define VRRP_TTL           255    /* RFC 5798 5.1.1.3 / 5.1.2.3: sent and required */
#define VRRP_TYPE_ADVERT   1      /* the only type (RFC 5798 5.2.2) */
#define VRRP_HDR_LEN       8      /* fixed part, both versions */
#define VRRP_V2_AUTH_LEN   8      /* RFC 3768 5.3.10: always present in version 2 */
#define VRRP_MAX_ADDRS     255    /* the 8-bit Count field's range */
#define VRRP_V3_MAX_INT_CS 0x0fff /* 12-bit Max Adver Int, centiseconds */
#define VRRP_V2_MAX_INT_S  255    /* 8-bit Adver Int, seconds */
#define VRRP_PRIO_STOP     0      /* the master leaves (RFC 5798 5.2.4) */
#define VRRP_PRIO_OWNER    255    /* the router owns the virtual addresses */

/* RFC 3768 5.3.6 Auth Type.  Type 1 (a clear-text password) is kept by
 * keepalived ("auth_type PASS") and RFC 2338 peers; type 2 (IP AH) puts an
 * AH header before the message and is not supported here. */
#define VRRP_AUTH_NONE 0
#define VRRP_AUTH_PASS 1
#define VRRP_AUTH_AH   2

/* The largest message: 255 IPv6 addresses (version 3 has no auth data). */
#define VRRP_PKT_MAX (VRRP_HDR_LEN + VRRP_MAX_ADDRS * 16)

/*
 * A decoded (or to be encoded) advertisement.  adver_int_cs is in
 * centiseconds for both versions so timers need no version test: version 2
 * carries whole seconds, stored here multiplied by 100.  addrs holds naddr
 * addresses of family af (IPv4 in ip4, the rest zero, as lvs_types.h).
 * auth_type and auth_pass are used by version 2 only; a password shorter
 * than 8 bytes is zero-padded, as on the wire.
 */
struct vrrp_adv {
	uint8_t version;
	uint8_t vrid;
	uint8_t priority;
	uint8_t af;
	uint16_t adver_int_cs;
	uint8_t naddr;
	uint8_t auth_type;
	char auth_pass[VRRP_V2_AUTH_LEN];
	union lvs_addr addrs[VRRP_MAX_ADDRS];
};

/*
 * Why a received message is dropped.  The first group is found by
 * vrrp_decode (the message itself is wrong), the second by the state machine
 * (the message does not fit the instance it was delivered to, RFC 5798 7.1 /
 * RFC 3768 7.1), the third by the socket that received it (vrrp_sock.h).
 * Names are stable: they become counter labels.
 */
#define VRRP_DROP_REASONS(X)                                                                       \
	X(NONE, "none")                                                                            \
	X(TRUNCATED, "truncated")                                                                  \
	X(TTL, "ttl_not_255")                                                                      \
	X(VERSION, "bad_version")                                                                  \
	X(TYPE, "bad_type")                                                                        \
	X(ADDR_COUNT, "addr_count_mismatch")                                                       \
	X(CSUM, "bad_checksum")                                                                    \
	X(ADVER_INT, "bad_adver_int")                                                              \
	X(AUTH_TYPE, "v2_bad_auth_type")                                                           \
	/* instance checks */                                                                      \
	X(INACTIVE, "instance_inactive")                                                           \
	X(VRID, "vrid_not_configured")                                                             \
	X(VERSION_MISMATCH, "version_mismatch")                                                    \
	X(OWNER, "local_is_owner")                                                                 \
	X(AUTH, "v2_auth_mismatch")                                                                \
	X(INT_MISMATCH, "v2_adver_int_mismatch")                                                   \
	X(ADDR_LIST, "addr_list_mismatch")                                                       \
	/* socket checks (vrrp_sock.c) */                                                          \
	X(IFACE, "wrong_interface")                                                                \
	X(PEER, "not_a_unicast_peer")                                                              \
	X(IP_HDR, "bad_ip_header")

enum vrrp_drop {
#define VRRP_DROP_ENUM(n, s) VRRP_DROP_##n,
	VRRP_DROP_REASONS(VRRP_DROP_ENUM)
#undef VRRP_DROP_ENUM
	        VRRP_DROP__COUNT
};

/* Name of a drop reason; r may be the negative value vrrp_decode returned. */
const char *vrrp_drop_name(int r);

/* Length of the encoded message for a version, family and address count. */
size_t vrrp_msg_len(uint8_t version, uint8_t af, uint8_t naddr);

/*
 * Encode a into buf (len bytes) with its checksum.  src and dst are the IP
 * source and destination the message will be sent with: version 3 sums them
 * in a pseudo-header (RFC 5798 5.2.8: the IPv6 one of RFC 8200 8.1, and for
 * IPv4 the IPv4 one of RFC 768, as every implementation does), version 2 sums
 * the message alone (RFC 3768 5.3.8) and ignores them (may be NULL).
 * Returns the number of bytes written, -EINVAL for a field out of range
 * (version, family, zero VRID, interval, v2 over IPv6, v2 auth type),
 * -EOPNOTSUPP for v2 AH authentication, -ENOSPC if buf is too small.
 */
int vrrp_encode(const struct vrrp_adv *a, const union lvs_addr *src, const union lvs_addr *dst,
                uint8_t *buf, size_t len);

/*
 * Decode and check a received message.  buf/len is the IP payload, len
 * taken from the IP header (not the frame: Ethernet pads short frames);
 * af, src, dst and ttl_or_hoplimit come from that IP header.  Applies the
 * checks that need no instance (RFC 5798 7.1, RFC 3768 7.1): TTL 255,
 * version 2 (IPv4 only) or 3, type, complete message, checksum by the rules
 * of the message's version, plus a non-zero interval (a zero one would let a
 * backup take over on skew alone) and a known v2 auth type.
 * Returns 0 with *out filled, or -(enum vrrp_drop); *out is then undefined.
 */
int vrrp_decode(const uint8_t *buf, size_t len, uint8_t af, const union lvs_addr *src,
                const union lvs_addr *dst, uint8_t ttl_or_hoplimit, struct vrrp_adv *out);

/* Compare two addresses of family af as unsigned integers in network order
 * (the RFC 5798 6.4.3 tie-break): <0, 0, >0. */
int vrrp_addr_cmp(uint8_t af, const union lvs_addr *a, const union lvs_addr *b);

#endif
