/*
 * ctl_proto.h - the wire format of the lvsadm <-> lvsd control socket, and
 * the name table that lets lvsadm, not lvsd, resolve host and service names
 * for listings without -n.  Internal to src/ctl (ctl.c, ctl_sock.c) and
 * the unit tests.
 *
 * One request and one reply per connection, on a SOCK_STREAM abstract Unix
 * socket.  All integers are big-endian and encoded field by field (no
 * struct is sent as is).
 *
 *   request:  header (32 bytes) | argv (argc NUL-terminated strings)
 *             | stdin bytes (-R) | name table (optional)
 *   reply:    header (24 bytes) | stdout bytes | stderr bytes
 *             | name table (NEED_NAMES only)
 *
 * Names: ipvsadm resolves addresses and ports of a listing in its own
 * process.  So that lvsd's control thread never waits on DNS, a request
 * flagged LVS_CTL_F_RESOLVE that lists without -n is first answered with
 * NEED_NAMES and the addresses/ports the listing would print; lvsadm
 * resolves them (getnameinfo, getservbyport_r) and repeats the request on
 * a new connection with the answers attached; lvsd then prints with them,
 * and numerically for anything it was not given.  Only listings call the
 * name hooks, and they change nothing, so running one twice is harmless.
 */
#ifndef LVS_CTL_PROTO_H
#define LVS_CTL_PROTO_H

#include <stdio.h>

#include "ctl.h"

#define LVS_CTL_MAGIC   0x4c564331u /* "LVC1" */
#define LVS_CTL_VERSION 1

/* request types */
#define LVS_CTL_REQ_EXEC 1
/* reply types */
#define LVS_CTL_REP_RESULT     1
#define LVS_CTL_REP_NEED_NAMES 2

/* request flags */
#define LVS_CTL_F_RESOLVE 0x1 /* the client resolves names (see above) */
#define LVS_CTL_F_NAMES   0x2 /* a name table with answers is attached */

/* Limits: a request is refused (and a reply rejected) beyond these. */
#define LVS_CTL_MAX_ARGC    4096
#define LVS_CTL_MAX_ARGV    (1u << 20)  /* bytes of argv strings */
#define LVS_CTL_MAX_IN      (16u << 20) /* rules for -R */
#define LVS_CTL_MAX_NAMES_B (16u << 20) /* bytes of a name table */
#define LVS_CTL_MAX_NAMES   65536       /* entries of a name table */
#define LVS_CTL_MAX_REPLY   (1u << 30)  /* stdout+stderr+names */

/* Request header, byte offsets. */
#define LVS_CTL_RQ_MAGIC     0  /* u32 */
#define LVS_CTL_RQ_VERSION   4  /* u16 */
#define LVS_CTL_RQ_TYPE      6  /* u16 */
#define LVS_CTL_RQ_FLAGS     8  /* u32 */
#define LVS_CTL_RQ_ARGC      12 /* u32 */
#define LVS_CTL_RQ_ARGV_LEN  16 /* u32 */
#define LVS_CTL_RQ_IN_LEN    20 /* u32 */
#define LVS_CTL_RQ_NAMES_LEN 24 /* u32 */
#define LVS_CTL_RQ_RESERVED  28 /* u32, 0 */
#define LVS_CTL_REQ_HDR_LEN  32
_Static_assert(LVS_CTL_RQ_RESERVED + 4 == LVS_CTL_REQ_HDR_LEN, "request header is 32 bytes");

/* Reply header, byte offsets.  magic and version sit where the request
 * has them, so either side can tell a version mismatch. */
#define LVS_CTL_RP_MAGIC     0  /* u32 */
#define LVS_CTL_RP_VERSION   4  /* u16 */
#define LVS_CTL_RP_TYPE      6  /* u16 */
#define LVS_CTL_RP_STATUS    8  /* u32: exit code 0..255 */
#define LVS_CTL_RP_OUT_LEN   12 /* u32 */
#define LVS_CTL_RP_ERR_LEN   16 /* u32 */
#define LVS_CTL_RP_NAMES_LEN 20 /* u32 */
#define LVS_CTL_REP_HDR_LEN  24
_Static_assert(LVS_CTL_RP_NAMES_LEN + 4 == LVS_CTL_REP_HDR_LEN, "reply header is 24 bytes");

/* Name table entry: fixed part, then name_len bytes of name (no NUL). */
#define LVS_CTL_NE_KIND      0 /* u8: LVS_CTL_NAME_HOST / _SERV */
#define LVS_CTL_NE_FAM       1 /* u8: af (host) or IP protocol (serv) */
#define LVS_CTL_NE_PORT      2 /* u16: port, host order value (serv) */
#define LVS_CTL_NE_NAME_LEN  4 /* u16: 0 = no name, print the number */
#define LVS_CTL_NE_PAD       6 /* u16, 0 */
#define LVS_CTL_NE_ADDR      8 /* 16 bytes: the address as union lvs_addr (host) */
#define LVS_CTL_NAME_ENT_LEN 24
_Static_assert(LVS_CTL_NE_ADDR + 16 == LVS_CTL_NAME_ENT_LEN, "name entry is 24 bytes");
#define LVS_CTL_NAME_MAX 1024 /* longest name carried (NI_MAXHOST - 1) */

struct lvs_ctl_req {
	uint16_t version, type;
	uint32_t flags, argc, argv_len, in_len, names_len;
};

struct lvs_ctl_rep {
	uint16_t version, type;
	uint32_t status, out_len, err_len, names_len;
};

void lvs_ctl_req_encode(uint8_t b[LVS_CTL_REQ_HDR_LEN], const struct lvs_ctl_req *r);
/* 0, or -EPROTO (bad magic). Version is returned as found: callers check. */
int lvs_ctl_req_decode(const uint8_t b[LVS_CTL_REQ_HDR_LEN], struct lvs_ctl_req *r);
void lvs_ctl_rep_encode(uint8_t b[LVS_CTL_REP_HDR_LEN], const struct lvs_ctl_rep *r);
int lvs_ctl_rep_decode(const uint8_t b[LVS_CTL_REP_HDR_LEN], struct lvs_ctl_rep *r);

/* ---- name tables ---- */

#define LVS_CTL_NAME_HOST 1
#define LVS_CTL_NAME_SERV 2

struct lvs_ctl_name {
	uint8_t kind;        /* LVS_CTL_NAME_HOST / _SERV */
	uint8_t fam;         /* host: AF_INET / AF_INET6; serv: IPPROTO_* */
	uint16_t port;       /* serv: host order */
	union lvs_addr addr; /* host */
	char *name;          /* NULL: no name known */
};

/* A set of names, deduplicated on (kind, fam, port, addr). */
struct lvs_ctl_names {
	struct lvs_ctl_name *v;
	uint32_t n, cap;
	uint32_t *htab; /* index + 1, 0 = empty; hmask + 1 slots */
	uint32_t hmask;
};

void lvs_ctl_names_init(struct lvs_ctl_names *t);
void lvs_ctl_names_free(struct lvs_ctl_names *t);
/* Add key e (e->name ignored) with name (copied; NULL for none) unless the
 * key is present.  0, -ENOSPC beyond LVS_CTL_MAX_NAMES, -ENOMEM. */
int lvs_ctl_names_add(struct lvs_ctl_names *t, const struct lvs_ctl_name *e, const char *name);
/* The entry with e's key, or NULL. */
const struct lvs_ctl_name *lvs_ctl_names_find(const struct lvs_ctl_names *t,
                                              const struct lvs_ctl_name *e);
/* Serialize into a malloc'd buffer (*buf, *len).  0 or -ENOMEM. */
int lvs_ctl_names_encode(const struct lvs_ctl_names *t, uint8_t **buf, size_t *len);
/* Parse len bytes into t (initialized by the caller).  0, -EPROTO on a
 * malformed table, -ENOSPC, -ENOMEM. */
int lvs_ctl_names_decode(struct lvs_ctl_names *t, const uint8_t *buf, size_t len);
/* Client side: look up every entry of t with the system resolver. */
void lvs_ctl_names_resolve(struct lvs_ctl_names *t);

/*
 * lvs_ctl_exec with name hooks for listings: names are taken from known
 * (NULL: none), and every host/service the listing asked for and known
 * did not hold is added to missing (printed numerically).  With both NULL,
 * names come from the system resolver, as lvs_ctl_exec does.
 */
int lvs_ctl_exec_names(struct lvs_ctl_state *st, int argc, char *const argv[], const char *in,
                       size_t in_len, const struct lvs_ctl_names *known,
                       struct lvs_ctl_names *missing, FILE *out, FILE *err);

#endif
