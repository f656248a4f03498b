/*
 * sync_msg.h - encoder and decoder of IPVS connection synchronization
 * messages, protocol version 1: the datagrams the kernel's sync daemon
 * (net/netfilter/ipvs/ip_vs_sync.c, since Linux 2.6.39) multicasts to
 * 224.0.0.81 port 8848, so a kernel director, a keepalived pair and lvsd
 * can be master and backup of each other, and tshark's `ipvs` dissector
 * reads what lvsd sends.
 *
 * A pure codec: byte buffers in and out, no sockets, no clocks, no
 * allocation.  Which connections are worth sending, and what a backup does
 * with a received one, belong to the sync daemon built on top; the facts
 * the kernel follows there are recorded below so that it can match them.
 *
 * Version 0 (the pre-2.6.39 IPv4-only format, selected in the kernel with
 * net.ipv4.vs.sync_version=0) is neither sent nor accepted.
 */
#ifndef LVS_SYNC_MSG_H
#define LVS_SYNC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lvs_types.h"

#define SYNC_MCAST_GROUP4 0xe0000051u /* 224.0.0.81, host order */
#define SYNC_PORT         8848        /* the kernel adds the thread id for extra ports */
#define SYNC_PROTO_VER    1

/* Wire sizes.  Message header: reserved(1, zero) syncid(1) size(2)
 * nr_conns(1) version(1) spare(2).  Entry: type(1) protocol(1) ver_size(2)
 * flags(4) state(2) cport(2) vport(2) dport(2) fwmark(4) timeout(4), then
 * three addresses of 4 (IPv4) or 16 (IPv6) bytes each.  The sequence option
 * carries two {init_seq, delta, previous_delta} triples of 32 bits. */
#define SYNC_HDR_LEN      8
#define SYNC_ENTRY_FIXED  24
#define SYNC_V4_LEN       (SYNC_ENTRY_FIXED + 3 * 4)
#define SYNC_V6_LEN       (SYNC_ENTRY_FIXED + 3 * 16)
#define SYNC_OPT_HDR_LEN  2 /* type(1) length(1) */
#define SYNC_SEQ_DATA_LEN 24
#define SYNC_PE_DATA_MAX  255 /* IP_VS_PEDATA_MAXLEN */
#define SYNC_PE_NAME_MAX  16  /* IP_VS_PENAME_MAXLEN, not NUL-terminated on the wire */
/* Largest entry: IPv6 with every option. */
#define SYNC_ENTRY_MAX                                                                             \
	(SYNC_V6_LEN + SYNC_OPT_HDR_LEN + SYNC_SEQ_DATA_LEN + SYNC_OPT_HDR_LEN +                   \
	 SYNC_PE_DATA_MAX + SYNC_OPT_HDR_LEN + SYNC_PE_NAME_MAX)

/*
 * Connection flags as the kernel puts them in an entry (IP_VS_CONN_F_* of
 * include/uapi/linux/ip_vs.h; lvsd's own connection flags differ, the
 * daemon translates).  Facts about them:
 * - The sender writes the connection's flags less HASHED, all 32 bits in
 *   v1 (so bit 16, NFCT, goes out too although the header says only bits
 *   0..15 are meant for the backup).  sync_msg_add() clears HASHED.
 * - The receiver keeps only SYNC_CONN_F_BACKUP_MASK of what arrives and
 *   adds SYNC: see sync_conn_backup_flags().  On an update of an existing
 *   connection only INACTIVE and the SEQ bits may change
 *   (SYNC_CONN_F_BACKUP_UPD_MASK); the rest stays as it was.
 * - One-packet connections (ONE_PACKET) are never sent; the kernel still
 *   walks on to their template.
 */
#define SYNC_CONN_F_FWD_MASK   0x0007u
#define SYNC_CONN_F_MASQ       0x0000u
#define SYNC_CONN_F_LOCALNODE  0x0001u
#define SYNC_CONN_F_TUNNEL     0x0002u
#define SYNC_CONN_F_DROUTE     0x0003u
#define SYNC_CONN_F_BYPASS     0x0004u
#define SYNC_CONN_F_SYNC       0x0020u /* created from a sync message */
#define SYNC_CONN_F_HASHED     0x0040u
#define SYNC_CONN_F_NOOUTPUT   0x0080u
#define SYNC_CONN_F_INACTIVE   0x0100u
#define SYNC_CONN_F_OUT_SEQ    0x0200u
#define SYNC_CONN_F_IN_SEQ     0x0400u
#define SYNC_CONN_F_SEQ_MASK   0x0600u
#define SYNC_CONN_F_NO_CPORT   0x0800u
#define SYNC_CONN_F_TEMPLATE   0x1000u
#define SYNC_CONN_F_ONE_PACKET 0x2000u
#define SYNC_CONN_F_NFCT       0x10000u
#define SYNC_CONN_F_BACKUP_MASK                                                                    \
	(SYNC_CONN_F_FWD_MASK | SYNC_CONN_F_NOOUTPUT | SYNC_CONN_F_INACTIVE |                      \
	 SYNC_CONN_F_SEQ_MASK | SYNC_CONN_F_NO_CPORT | SYNC_CONN_F_TEMPLATE)
#define SYNC_CONN_F_BACKUP_UPD_MASK (SYNC_CONN_F_INACTIVE | SYNC_CONN_F_SEQ_MASK)

/*
 * Which connections the kernel's master sends (ip_vs_sync_conn and
 * ip_vs_sync_conn_needed), for the daemon that will drive this codec:
 * - A connection is considered on its packets (sync_threshold, default 3,
 *   then every sync_period, default 50, packets) or, with
 *   sync_refresh_period set, when its timeout has moved by more than that
 *   period (or half the timeout), with sync_retries resends.
 * - TCP only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT;
 *   a change into any of these except ESTABLISHED is sent at once.  SCTP
 *   alike for ESTABLISHED, SHUTDOWN_SENT/RECEIVED/ACK_SENT and CLOSED.
 *   UDP and others have a single state and go by packet count.
 * - Templates (persistence entries, TEMPLATE) are synced too: after a
 *   connection, the kernel walks cp->control and offers its template as
 *   well, so a backup learns the client-to-server binding.  With
 *   sync_persist_mode set, connections under a template are not sent,
 *   only the template.
 * - The timeout field is the connection's timeout in seconds (the full
 *   period of its current state, or the persistence timeout of a
 *   template), not the time left.  The seq option is present exactly
 *   when flags has a SEQ bit; PE data (and then the PE name) when a
 *   persistence engine (sip) attached data.
 * On receipt the kernel drops entries of unknown protocols or of a state
 * beyond the protocol's table (template states are not checked), uses the
 * protocol's default timeout when timeout is 0, and treats an entry with
 * PE data but no (known) PE name as invalid.
 */

/* One connection as carried in an entry.  Ports, addresses and proto are
 * as on the wire (network order), like everywhere in lvsd; the integer
 * fields are host order. */
struct sync_conn {
	uint8_t af;                   /* AF_INET or AF_INET6 (the entry type) */
	uint8_t proto;                /* IPPROTO_* */
	uint16_t state;               /* IP_VS_TCP_S_* / IP_VS_SCTP_S_* / template state */
	uint32_t flags;               /* SYNC_CONN_F_*, as on the wire */
	uint16_t cport, vport, dport; /* network order */
	uint32_t fwmark;
	uint32_t timeout_s;
	union lvs_addr caddr, vaddr, daddr; /* IPv4 in .ip4, rest zero */
	bool has_seq;                       /* the IPVS_OPT_SEQ_DATA option */
	struct sync_seq {
		uint32_t init_seq;
		int32_t delta;
		int32_t previous_delta;
	} in_seq, out_seq;
	uint8_t pe_data_len; /* 0: no PE data option */
	uint8_t pe_data[SYNC_PE_DATA_MAX];
	char pe_name[SYNC_PE_NAME_MAX]; /* NUL-padded; all 16 bytes may be used */
};

/* The flags a kernel backup gives a connection it learns from flags. */
static inline uint32_t sync_conn_backup_flags(uint32_t wire_flags)
{
	return (wire_flags & SYNC_CONN_F_BACKUP_MASK) | SYNC_CONN_F_SYNC;
}

/* ---- building (master side) ---- */

struct sync_msg_builder {
	uint8_t *buf;
	size_t cap; /* sync_maxlen */
	size_t len; /* bytes used, header included */
	uint8_t nr_conns;
	uint8_t syncid;
};

/* The smallest cap sync_msg_begin takes: a header and the largest entry,
 * so an empty message always has room for one entry and -ENOSPC always
 * means "send what you have". */
#define SYNC_MSG_MIN_CAP (SYNC_HDR_LEN + SYNC_ENTRY_MAX)

/* Start a message of at most cap bytes in buf (which must stay valid until
 * sync_msg_end; a cap above the 16-bit size field's 65535 counts as 65535).
 * 0, or -EINVAL when cap is below SYNC_MSG_MIN_CAP. */
int sync_msg_begin(struct sync_msg_builder *b, uint8_t *buf, size_t cap, uint8_t syncid);

/* Append one connection, preceded by the zero padding that aligns it to 4
 * bytes from the message start, as the kernel does.  0; -ENOSPC when it
 * does not fit (in bytes, or as the 256th entry: nr_conns is 8 bits) and the
 * message is left unchanged, so the caller sends it and starts another;
 * -EINVAL for an entry that cannot be sent (bad family, a ONE_PACKET
 * connection, a PE name without PE data). */
int sync_msg_add(struct sync_msg_builder *b, const struct sync_conn *c);

/* Fill in the header's size and count; returns the message length. */
size_t sync_msg_end(struct sync_msg_builder *b);

/* ---- parsing (backup side) ---- */

#define SYNC_DROP_REASONS(X)                                                                       \
	X(NONE, "none")                                                                            \
	X(SHORT, "sync_truncated_header")          /* shorter than the v1 header */                \
	X(SIZE, "sync_bad_size")                   /* header size != datagram length */            \
	X(SYNCID, "sync_syncid_mismatch")          /* not our syncid (ours is not 0) */            \
	X(V0, "sync_v0_not_accepted")              /* reserved byte != 0: a v0 message */          \
	X(VERSION, "sync_bad_version")             /* version != 1 or spare != 0 */                \
	X(ENTRY_SHORT, "sync_entry_truncated")     /* fewer bytes than nr_conns entries */         \
	X(ENTRY_SIZE, "sync_bad_entry_size")       /* entry size past the end, or too small */     \
	X(ENTRY_VERSION, "sync_bad_entry_version") /* ver_size's version nibble != 0 */            \
	X(ENTRY_TYPE, "sync_bad_entry_type")       /* type is neither IPv4 (0) nor IPv6 */         \
	X(OPTION, "sync_bad_option")         /* option truncated, empty, bad length, twice */      \
	X(TRAILING, "sync_trailing_data")    /* bytes after the nr_conns entries */                \
	X(CALLBACK, "sync_callback_stopped") /* the callback returned nonzero */

enum sync_drop {
#define SYNC_DROP_ENUM(n, s) SYNC_DROP_##n,
	SYNC_DROP_REASONS(SYNC_DROP_ENUM)
#undef SYNC_DROP_ENUM
	        SYNC_DROP__COUNT
};

const char *sync_drop_name(enum sync_drop r);

/*
 * Parse one received datagram.  want_syncid 0 takes every syncid (the
 * kernel's backup rule), anything else only that one.  The whole message
 * is checked before cb sees any entry, so a bad message changes nothing.
 * cb is then called once per entry in order; an entry the kernel would
 * skip while keeping the rest (an unknown mandatory option, PE data without
 * a PE name) is not passed on.  Returns the number of entries passed to cb,
 * or -(enum sync_drop).  cb may be NULL (check only).
 */
int sync_msg_parse(const uint8_t *buf, size_t len, uint8_t want_syncid,
                   int (*cb)(void *arg, const struct sync_conn *c), void *arg);

/* ---- message size ---- */

/*
 * The kernel's sync_maxlen when none is configured: the MTU less the IPv4
 * (20) or IPv6 (40) header and UDP (8), with the MTU taken as at least 1500
 * and at most 65535.  The kernel's master always uses 1500 (its messages
 * must cross any path between directors; IP_PMTUDISC_DONT lets them
 * fragment), its backup the interface MTU for the receive buffer, so pass
 * 1500 when sending and the interface MTU when receiving.
 */
size_t sync_maxlen_for_mtu(unsigned mtu, bool ipv6_transport);

/* A configured sync_maxlen (ipvsadm --sync-maxlen) as the kernel clamps
 * it: at least 1 for a master and 1024 for a backup, at most 65535 less
 * the headers. */
size_t sync_maxlen_configured(unsigned maxlen, bool backup, bool ipv6_transport);

#endif
