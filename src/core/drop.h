/*
 * drop.h - named reasons for every frame the director does not forward.
 *
 * Each reason has a stable short name (used by lvs-pcap's stderr report and
 * later by metrics).  Counters are per worker (struct lvs_drop_stats), so
 * the data path increments without atomics; readers sum them.
 */
#ifndef LVS_DROP_H
#define LVS_DROP_H

#include <stdint.h>

#define LVS_DROP_REASONS(X)                                                     \
	X(NONE, "none")                                                         \
	/* parsing: link layer */                                               \
	X(ETH_SHORT, "eth_truncated")                                           \
	X(VLAN_SHORT, "vlan_truncated")                                         \
	X(VLAN_STACKED, "vlan_too_many_tags")                                   \
	X(NOT_IP, "not_ip")                                                     \
	/* parsing: IPv4 */                                                     \
	X(IP4_SHORT, "ipv4_truncated")                                          \
	X(IP4_VERSION, "ipv4_bad_version")                                      \
	X(IP4_IHL, "ipv4_bad_ihl")                                              \
	X(IP4_TOTLEN, "ipv4_bad_total_length")                                  \
	X(IP4_CSUM, "ipv4_bad_header_checksum")                                 \
	X(IP4_OPTIONS, "ipv4_bad_options")                                      \
	X(IP4_FRAG, "ipv4_bad_fragment")                                        \
	X(IP4_BAD_SADDR, "ipv4_bad_source")                                     \
	/* parsing: IPv6 */                                                     \
	X(IP6_SHORT, "ipv6_truncated")                                          \
	X(IP6_VERSION, "ipv6_bad_version")                                      \
	X(IP6_PAYLEN, "ipv6_bad_payload_length")                                \
	X(IP6_EXTHDR, "ipv6_bad_extension_header")                              \
	X(IP6_EXTHDR_LIMIT, "ipv6_too_many_extension_headers")                  \
	X(IP6_FRAG, "ipv6_bad_fragment")                                        \
	X(IP6_BAD_SADDR, "ipv6_bad_source")                                     \
	/* parsing: L4 */                                                       \
	X(TCP_SHORT, "tcp_truncated")                                           \
	X(TCP_DOFF, "tcp_bad_data_offset")                                      \
	X(TCP_FLAGS, "tcp_bad_flags")                                           \
	X(UDP_SHORT, "udp_truncated")                                           \
	X(UDP_LEN, "udp_bad_length")                                            \
	X(ICMP_SHORT, "icmp_truncated")                                         \
	X(ICMP6_SHORT, "icmpv6_truncated")                                      \
	X(L4_CSUM, "l4_bad_checksum")                                           \
	/* classification and scheduling */                                     \
	X(FRAG_NO_CONN, "fragment_without_connection")                          \
	/* fragments (frag.h) */                                                \
	X(FRAG_TINY, "fragment_tiny")                                           \
	X(FRAG_DUP, "fragment_duplicate")                                       \
	X(FRAG_OVERLAP, "fragment_overlap")                                     \
	X(FRAG_BAD, "fragment_of_dropped_datagram")                             \
	X(FRAG_HOLES, "fragment_too_many_holes")                                \
	X(FRAG_TABLE_FULL, "fragment_table_full")                               \
	X(FRAG_HOLD_FULL, "fragment_hold_full")                                 \
	X(FRAG_TIMEOUT, "fragment_timeout")                                     \
	X(NO_SYN, "tcp_new_flow_without_syn")                                   \
	X(NO_DEST, "no_destination_available")                                  \
	X(CONN_TABLE_FULL, "connection_table_full")                             \
	X(SVC_PROTO, "service_protocol_unsupported")                            \
	X(VIP_STANDBY, "vip_standby")                                           \
	X(PE_NO_DATA, "persistence_engine_no_data")                             \
	/* ICMP errors quoting a connection */                                  \
	X(ICMP_INNER, "icmp_bad_quoted_packet")                                 \
	X(ICMP_NO_CONN, "icmp_error_without_connection")                        \
	/* transforms and transmit */                                           \
	X(TTL_EXCEEDED, "ttl_exceeded")                                         \
	X(NO_NEIGH, "next_hop_unresolved")                                      \
	X(NO_ROOM, "no_buffer_room")                                            \
	X(TOO_BIG, "too_big_for_mtu")                                           \
	X(FWD_UNSUPPORTED, "forwarding_method_unsupported")                     \
	X(GSO_UNSUPPORTED, "gso_frame_unsupported")

enum lvs_drop {
#define LVS_DROP_ENUM(n, s) LVS_DROP_##n,
	LVS_DROP_REASONS(LVS_DROP_ENUM)
#undef LVS_DROP_ENUM
	LVS_DROP__COUNT
};

struct lvs_drop_stats {
	uint64_t n[LVS_DROP__COUNT];
};

const char *lvs_drop_name(enum lvs_drop r);

#endif
