/*
 * kaconf_int.h - what the keepalived.conf reader's files share (kaconf.c,
 * kaconf_lex.c, kaconf_check.c, kaconf_model.c); not for other callers.
 */
#ifndef LVS_KACONF_INT_H
#define LVS_KACONF_INT_H

#include <stddef.h>

#include "kaconf.h"

/* Numbers as keepalived reads them: decimal, no sign, in [min, max]. */
bool ka_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Seconds with an optional fraction, at least min_sec, into microseconds. */
bool ka_parse_timer(const char *s, uint64_t min_sec, uint64_t *usec);
/* An IPv4 or IPv6 address. */
bool ka_parse_addr(const char *s, struct ka_addr *out);

/* After parsing: resolve names, fill in defaults, apply keepalived's
 * corrections, compute the start states (kaconf_check.c). */
void ka_check(struct ka_config *c);
/* The VRRP part of ka_check (kaconf_vrrp_check.c). */
void ka_vrrp_check(struct ka_config *c);
/* The unset markers of global_defs' VRRP defaults (kaconf_vrrp.c). */
void ka_vrrp_global_init(struct ka_global *g);


/* ---- the statement reader and keyword tables (kaconf.c) ---- */

struct ka_toks;

struct parser {
	struct ka_config *c;
	const struct ka_toks *t;
	unsigned pos;
};

struct stmt {
	const struct ka_tok *kw;
	const struct ka_tok *a; /* arguments */
	unsigned n;
	bool block;
	struct ka_loc loc;
};

enum kt {
	K_FN,      /* handler */
	K_U32,     /* uint32_t in [min, max] */
	K_TIMER,   /* uint64_t microseconds, seconds >= min (fractions allowed) */
	K_STR,     /* char *: the first argument */
	K_LINE,    /* char *: all the arguments (scripts) */
	K_FLAG,    /* bool = true */
	K_TRI,     /* int8_t: true, or the yes/no argument */
	K_BOOL,    /* bool: true, or the yes/no argument */
	K_NOTYET,  /* accepted by keepalived, not implemented by lvsd: notice */
	K_NOEFFECT,/* accepted, no effect in lvsd (said in the man page): notice */
};

struct kw {
	const char *name;
	uint8_t type;
	bool block;  /* takes a { } block (K_FN handles it) */
	uint16_t off;
	uint32_t min, max;
	void (*fn)(struct parser *p, const struct stmt *st, void *obj);
};

#define F(s, f) ((uint16_t)offsetof(s, f))


/* 1: a statement at p->pos; 0: a `}` (consumed); -1: end of input. */
int ka_next_stmt(struct parser *p, struct stmt *st);
/* Skip the rest of a block whose `{` was read; reports a missing `}`. */
void ka_skip_block(struct parser *p, const struct ka_loc *open);
/* At least n arguments, or an error. */
bool ka_need_args(struct parser *p, const struct stmt *st, unsigned n);
/* A port 0..65535 (0: not given), or an error. */
bool ka_parse_port(struct parser *p, const struct ka_tok *t, uint16_t *out);
/* `weight N [reverse]` (track_file, FILE_CHECK): N in -254..254. */
void ka_parse_file_weight(struct parser *p, const struct stmt *st, int32_t *weight,
			  bool *reverse);
/* The arguments joined by spaces (scripts). */
char *ka_join_args(struct parser *p, const struct stmt *st);
const struct kw *ka_find_kw(const struct kw *tab, const char *name);
/* Statements until the closing `}` (open != NULL) or the end of the input,
 * through tab; what names the block in messages. */
void ka_parse_block(struct parser *p, const struct kw *tab, void *obj, const char *what,
		    const struct ka_loc *open);
/* For handlers of block keywords: parse the block if there is one. */
void ka_sub_block(struct parser *p, const struct stmt *st, const struct kw *tab, void *obj,
		  const char *what);

/* lvs_method / lb_kind / sorry_server_lvs_method (kaconf_vs.c). */
void ka_parse_fwd(struct parser *p, const struct stmt *st, int *fwd, uint8_t *tun_type,
		  uint16_t *tun_port, uint16_t *tun_flags);
/* Top-level blocks (kaconf_vs.c, kaconf_global.c). */
void ka_top_vs(struct parser *p, const struct stmt *st, void *obj);
void ka_top_vsg(struct parser *p, const struct stmt *st, void *obj);
void ka_top_global(struct parser *p, const struct stmt *st, void *obj);
void ka_top_track_file(struct parser *p, const struct stmt *st, void *obj);
/* vrrp_instance, vrrp_sync_group, vrrp_script (kaconf_vrrp.c). */
void ka_top_vrrp(struct parser *p, const struct stmt *st, void *obj);
void ka_top_vsync(struct parser *p, const struct stmt *st, void *obj);
void ka_top_vscript(struct parser *p, const struct stmt *st, void *obj);
/* global_defs' VRRP keywords (all K_FN, obj the struct ka_global;
 * kaconf_vrrp_global.c). */
extern const struct kw ka_vrrp_global_kws[];
/* Shared by the VRRP files: a signed number in [min, max]; the lines of
 * a value block (virtual_ipaddress { ... }) as statements whose keyword
 * is the first word (kaconf_vrrp.c); an instance's track_interface /
 * track_script blocks and notify scripts (kaconf_vrrp_track.c). */
bool ka_read_int(const char *s, long min, long max, long *out);
void ka_value_block(struct parser *p, const struct stmt *st,
		    void (*fn)(struct parser *p, const struct stmt *line, void *obj), void *obj);
/* A block with exactly one name argument, else msg (and skipped). */
bool ka_named_block(struct parser *p, const struct stmt *st, const char *msg);
void ka_vrrp_track_kw(struct parser *p, const struct stmt *st, void *obj);
void ka_vrrp_notify_kw(struct parser *p, const struct stmt *st, void *obj);
#define KA_NOTYET(n) {n, K_NOTYET, false, 0, 0, 0, NULL}
#define KA_NOTYET_BLOCK(n) {n, K_NOTYET, true, 0, 0, 0, NULL}
/* A checker block of a real_server; obj is the struct ka_rs
 * (kaconf_checker.c). */
void ka_parse_checker(struct parser *p, const struct stmt *st, void *obj);

#endif
