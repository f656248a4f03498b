/*
 * sync_engine.h - connection sync without sockets or threads: the master's
 * packing of data-path reports into protocol v1 messages, the backup's
 * import of a received message into the connection table, bound to the
 * backup's own destinations, and lvsd's table pull messages.  The daemon
 * (sync_daemon.c) moves the bytes; everything here is testable in memory.
 *
 * Kernel behaviour followed (net/netfilter/ipvs/ip_vs_sync.c):
 * - master: entries are appended to the current message until the next
 *   does not fit in sync_maxlen (a message always takes at least one);
 *   the flags sent are the connection's, its timeout the full timeout of
 *   its state (a template's: the persistence timeout);
 * - backup (ip_vs_proc_sync_conn, ip_vs_proc_conn): an entry of an
 *   unknown protocol, or of a state beyond its protocol's (templates:
 *   beyond the template states), is dropped; the connection is bound to
 *   the destination found by (service: fwmark, or protocol, virtual
 *   address and port; destination address and port, then port 0) and
 *   takes that destination's forwarding method; it is created in the
 *   entry's state and lives for the entry's timeout (the protocol's
 *   default for the state when 0, 180 s for a template); an existing one
 *   is updated; an active entry that names another destination than the
 *   existing connection replaces it, an inactive one is ignored.
 *   Templates are not tied to the connections they control on a backup
 *   (the kernel does not either): the master re-sends a template with
 *   every report of its connections, which keeps it alive.
 * - lvsd differs in one choice: an entry whose service or destination the
 *   backup does not have is dropped and counted (the kernel creates the
 *   connection without a destination, which forwards nothing until such
 *   a destination is added).  The master re-sends established
 *   connections every sync_period packets and state changes at once, so
 *   a connection dropped early is learnt later once the backup has the
 *   service.
 *
 * Table pull (lvsd's extension; a kernel peer ignores it): a datagram to
 * the sync group and port shaped as a v1 header whose `spare` field is
 * "LP" (0x4c50) followed by a 16-byte body (magic "lvsP", op, request id,
 * count).  A kernel receiver drops it because spare is not 0 ("BACKUP,
 * Dropping buffer, Unknown version"); lvsd's parser too
 * (sync_bad_version).  A master answers a request (op 1) by sending its
 * whole table in ordinary v1 messages, then an end marker (op 2) with
 * the same id and the number of entries sent.
 */
#ifndef LVS_SYNC_ENGINE_H
#define LVS_SYNC_ENGINE_H

#include "conn.h"
#include "model.h"
#include "sync_msg.h"
#include "sync_tap.h"

/* ---- counters ---- */

/* Entries a backup drops, with the names the status and metrics use. */
#define SYNC_CONN_DROPS(X)                                                                         \
	X(PROTO, "unknown_protocol")      /* not TCP, UDP or SCTP */                               \
	X(STATE, "bad_state")             /* state beyond the protocol's */                        \
	X(NO_SERVICE, "no_service")       /* the backup has no such service */                     \
	X(NO_DEST, "no_destination")      /* ... or no such destination in it */                   \
	X(FAMILY, "mixed_family")         /* destination family differs (kernel: none) */          \
	X(TABLE_FULL, "table_full")       /* the connection table is full */                       \
	X(STALE, "stale_inactive")        /* inactive entry for a replaced connection */

enum sync_conn_drop {
#define SYNC_CD_ENUM(n, s) SYNC_CD_##n,
	SYNC_CONN_DROPS(SYNC_CD_ENUM)
#undef SYNC_CD_ENUM
	        SYNC_CD__COUNT
};
const char *sync_conn_drop_name(enum sync_conn_drop r);

/* Written by the sync thread with relaxed stores, read by anyone. */
struct sync_counters {
	/* master */
	uint64_t msgs_sent, conns_sent, send_errors;
	uint64_t pulls_served, pull_conns_sent;
	/* backup */
	uint64_t msgs_received, conns_received, conns_imported;
	uint64_t msgs_dropped[SYNC_DROP__COUNT]; /* by sync_msg's reasons */
	uint64_t conns_dropped[SYNC_CD__COUNT];
	uint64_t pull_requests_ignored; /* a backup saw another's request */
	/* requester */
	uint64_t pulls_started, pulls_done, pulls_timed_out;
};

static inline void sync_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* ---- master: packing ---- */

/* A data-path record as a sync entry (the kernel's IP_VS_CONN_F_* flags). */
void sync_conn_from_rec(const struct lvs_sync_rec *r, struct sync_conn *c);

typedef int (*sync_send_fn)(void *arg, const uint8_t *buf, size_t len);

struct sync_packer {
	uint8_t *buf;          /* SYNC_PACKER_BUF bytes */
	size_t maxlen;         /* sync_maxlen in force */
	uint8_t syncid;
	bool open;             /* a message with entries is being filled */
	lvs_time_t opened;     /* when its first entry went in */
	struct sync_msg_builder b;
	sync_send_fn send;
	void *send_arg;
	struct sync_counters *cnt;
};
#define SYNC_PACKER_BUF 65536

/* 0 or -ENOMEM.  maxlen: the message size limit (any value: a message
 * always takes at least one entry, as the kernel's). */
int sync_packer_init(struct sync_packer *pk, size_t maxlen, uint8_t syncid, sync_send_fn send,
		     void *arg, struct sync_counters *cnt);
void sync_packer_free(struct sync_packer *pk);
/* Append an entry; a full message is sent first.  0 or -EINVAL (an
 * entry that cannot be sent). */
int sync_packer_add(struct sync_packer *pk, const struct sync_conn *c, lvs_time_t now);
/* Send the open message, if any. */
void sync_packer_flush(struct sync_packer *pk);

/* ---- backup: import ---- */

struct sync_backup {
	struct lvs_conn_table *ct;
	struct lvs_model *model;
	unsigned worker; /* the importing thread's worker id in ct */
	uint8_t syncid;  /* 0: any */
	struct sync_counters *cnt;
};

/* One received datagram (not a pull message).  Returns the entries
 * imported, or -(enum sync_drop) for a dropped message (counted).  The
 * caller is an online RCU reader (the model's snapshot is read). */
int sync_backup_input(struct sync_backup *bk, const uint8_t *buf, size_t len, lvs_time_t now);

/* Import one entry; 0, or 1 + the enum sync_conn_drop it was dropped for
 * (counted). */
int sync_backup_import(struct sync_backup *bk, const struct sync_conn *c, lvs_time_t now);

/* ---- table pull ---- */

#define SYNC_PULL_SPARE 0x4c50u    /* "LP" in the header's spare field */
#define SYNC_PULL_MAGIC 0x6c767350u /* "lvsP" */
#define SYNC_PULL_LEN   24
enum { SYNC_PULL_REQ = 1, SYNC_PULL_END = 2 };

struct sync_pull_msg {
	uint8_t op;      /* SYNC_PULL_REQ / SYNC_PULL_END */
	uint8_t syncid;
	uint32_t id;     /* chosen by the requester, echoed in the end marker */
	uint32_t count;  /* END: entries sent for the request */
};

/* Encode into buf (>= SYNC_PULL_LEN bytes); returns SYNC_PULL_LEN. */
size_t sync_pull_encode(uint8_t *buf, const struct sync_pull_msg *m);
/* 0 with m filled when buf is a pull message, -EINVAL otherwise. */
int sync_pull_decode(const uint8_t *buf, size_t len, struct sync_pull_msg *m);

/*
 * Serving a pull (master): a walk of the table in steps.  Each step
 * visits at most `slots` entry slots and sends at most `max_msgs` full
 * messages; returns 1 while unfinished, 0 once the table was walked, the
 * last message flushed and the end marker sent.
 */
struct sync_pull_serve {
	bool active;
	uint32_t id;
	uint32_t next;   /* slot to walk on from; 0 at the start */
	bool started;
	uint32_t count;
};
int sync_pull_serve_step(struct sync_pull_serve *ps, struct lvs_conn_table *ct,
			 struct sync_packer *pk, lvs_time_t now, uint32_t slots, unsigned max_msgs);

#endif
