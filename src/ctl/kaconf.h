/*
 * kaconf.h - keepalived.conf, the LVS part: what lvsd reads from an
 * operator's keepalived configuration and how it becomes model operations.
 *
 * The file is read as keepalived reads it (kaconf_lex.c): `#` and `!`
 * comments, `{ }` blocks, double-quoted strings, `\` line continuation,
 * `include PATTERN` with glob(3) patterns resolved against the including
 * file's directory.  Every token keeps its FILE:LINE.  kaconf.c turns the
 * tokens into struct ka_config: global_defs, virtual_server (by address,
 * fwmark or group), virtual_server_group, real_server with its checkers,
 * sorry_server, track_file, and the VRRP part (vrrp_instance,
 * vrrp_sync_group, vrrp_script, global_defs' vrrp_* and lvs_sync_daemon,
 * kaconf_vrrp.c); then fills in keepalived's defaults and applies its
 * corrections (validate_check_config in keepalived's check/check_data.c,
 * vrrp_complete_init in vrrp/vrrp.c), each with the message keepalived
 * prints.  VRRP is read and checked here; nothing runs it yet.
 *
 * Every problem becomes a diagnostic with FILE:LINE, of one of three
 * levels:
 *   KA_ERROR  a value lvsd refuses (bad port, negative weight, unknown
 *             lb_kind, missing brace, unterminated quote, include loop);
 *             lvsd does not start with such a file;
 *   KA_WARN   what keepalived itself reports as a configuration error and
 *             then corrects or ignores (no protocol set, unknown keyword,
 *             quorum above the total weight...); lvsd starts, `-t` exits
 *             non-zero as keepalived's does;
 *   KA_INFO   a part lvsd does not implement yet (notification_email,
 *             use_vmac, ...) or an include matching no file: keepalived
 *             would accept it, so `-t` still exits 0.
 *
 * Memory: everything hangs off the config's arena and goes with
 * ka_config_free().  Ports are in host order here.
 */
#ifndef LVS_KACONF_H
#define LVS_KACONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define KA_UNSET_U32 UINT32_MAX
#define KA_UNSET_TIME UINT64_MAX /* durations are in microseconds */
#define KA_USEC 1000000ull
#define KA_DEF_DELAY_LOOP (60 * KA_USEC)     /* KEEPALIVED_DEFAULT_DELAY */
#define KA_DEF_CONNECT_TIMEOUT (5 * KA_USEC) /* alloc_vs: 5 s */
#define KA_DEF_CONF "/etc/keepalived/keepalived.conf"
#define KA_MAX_INCLUDE_DEPTH 32

enum ka_level { KA_INFO = 0, KA_WARN = 1, KA_ERROR = 2 };

struct ka_loc {
	const char *file; /* owned by the config */
	unsigned line;
};

struct ka_diag {
	struct ka_diag *next;
	enum ka_level level;
	struct ka_loc loc;
	char *msg;
};

/* An address with its family (AF_UNSPEC: not set). */
struct ka_addr {
	uint8_t af;
	union lvs_addr a;
};

/* Connection options shared by the connecting checkers and SMTP hosts. */
struct ka_conn {
	struct ka_addr connect_ip; /* unset: the real server's address */
	uint32_t connect_port;     /* KA_UNSET_U32: the real server's port */
	struct ka_addr bindto;
	uint32_t bind_port;        /* KA_UNSET_U32: any */
	char *bind_if;
	uint64_t connect_timeout;  /* KA_UNSET_TIME until defaults: the real server's */
	uint32_t fwmark;           /* SO_MARK, 0 = none */
};

enum ka_check_type {
	KA_CHECK_TCP,
	KA_CHECK_HTTP,
	KA_CHECK_SSL,
	KA_CHECK_SMTP,
	KA_CHECK_MISC,
	KA_CHECK_UDP,
	KA_CHECK_DNS,
	KA_CHECK_PING,
	KA_CHECK_FILE,
};
const char *ka_check_name(enum ka_check_type t);

/* HTTP_GET / SSL_GET url block. */
struct ka_status_range {
	uint16_t lo, hi;
};
#define KA_MAX_STATUS_RANGES 16
struct ka_url {
	struct ka_url *next;
	struct ka_loc loc;
	char *path;
	char *digest; /* lower-case hex MD5, or NULL */
	char *virtualhost;
	char *regex;                 /* PCRE2 pattern the body must match, or NULL */
	bool regex_no_match;         /* ... must not match */
	uint32_t regex_options;      /* PCRE2 compile options (regex_options) */
	uint64_t regex_min_offset;   /* a match starts at this offset of the body or later */
	uint64_t regex_max_offset;   /* one past the last offset a match may start at; 0: any */
	uint64_t regex_stack_start;  /* the JIT stack (regex_stack), 0: PCRE2's default */
	uint64_t regex_stack_max;
	unsigned nstatus; /* 0: 200-299 */
	struct ka_status_range status[KA_MAX_STATUS_RANGES];
};

struct ka_smtp_host {
	struct ka_smtp_host *next;
	struct ka_loc loc;
	struct ka_conn conn;
};

struct ka_track_file {
	struct ka_track_file *next;
	struct ka_loc loc;
	char *name;
	char *path;
	int32_t weight;    /* default 1 */
	bool reverse;
	bool init_file;
	int32_t init_value;
	bool init_overwrite;
};

struct ka_checker {
	struct ka_checker *next;
	struct ka_loc loc;
	enum ka_check_type type;
	struct ka_conn conn;        /* connecting checkers */
	uint32_t retry;             /* KA_UNSET_U32 until defaults */
	uint64_t delay_before_retry;/* KA_UNSET_TIME until defaults */
	uint64_t warmup;
	uint64_t delay_loop;
	int8_t alpha;               /* -1: the real server's */
	bool log_all_failures;
	/* HTTP_GET / SSL_GET */
	struct ka_url *urls;
	char *virtualhost;
	char *http_protocol;
	bool enable_sni, fast_recovery, tls_compliant;
	char *sni_name;
	/* SMTP_CHECK */
	char *helo_name;            /* default smtpchecker.keepalived.org */
	struct ka_smtp_host *hosts; /* none: one host, the checker's own connection */
	/* MISC_CHECK */
	char *misc_path;
	uint64_t misc_timeout;      /* 0: delay_loop */
	bool misc_dynamic;
	char *user, *group;
	/* UDP_CHECK */
	uint8_t *payload;
	uint32_t payload_len;
	bool require_reply;
	uint8_t *reply_data;   /* require_reply's hex string: the reply starts so */
	uint8_t *reply_mask;   /* its wildcard bits (X nibbles), per byte */
	uint32_t reply_len;
	uint32_t min_reply_length, max_reply_length;
	/* DNS_CHECK */
	char *dns_type; /* default SOA */
	char *dns_name; /* default "" (the root) */
	/* FILE_CHECK */
	char *track_file;
	const struct ka_track_file *tf; /* resolved */
	int32_t file_weight;            /* INT32_MIN: the track_file's */
	bool file_weight_reverse;
};

/* A real (or sorry) server. */
struct ka_rs {
	struct ka_rs *next;
	struct ka_loc loc;
	struct ka_addr addr;
	uint16_t port;            /* 0: not given */
	int64_t weight;           /* -1 until defaults: the virtual server's weight */
	int fwd;                  /* enum lvs_fwd, -1 until defaults */
	uint8_t tun_type;         /* enum lvs_tun_type */
	uint16_t tun_port;
	uint16_t tun_flags;       /* LVS_TUN_F_* */
	uint32_t u_threshold, l_threshold;
	int8_t inhibit;           /* inhibit_on_failure; -1: the virtual server's */
	int8_t alpha;             /* -1: the virtual server's */
	int8_t smtp_alert;
	uint32_t retry;
	uint64_t delay_before_retry, warmup, connect_timeout, delay_loop;
	char *virtualhost;
	char *notify_up, *notify_down;
	struct ka_checker *checkers;
	unsigned nchecks;
	/* start state (after defaults): keepalived adds a server as alive unless
	 * alpha is set and it has checkers (then it starts failed, and is
	 * installed with weight 0 only under inhibit_on_failure) */
	bool start_alive;
};

enum ka_vs_kind { KA_VS_ADDR, KA_VS_FWMARK, KA_VS_GROUP };

struct ka_vsg_entry {
	struct ka_vsg_entry *next;
	struct ka_loc loc;
	bool is_fwmark;
	uint32_t fwmark;
	uint8_t af;               /* fwmark: AF_UNSPEC unless inet/inet6 given */
	union lvs_addr start, end;/* inclusive range; end = start for one address */
	uint16_t port;
};

struct ka_vsg {
	struct ka_vsg *next;
	struct ka_loc loc;
	char *name;
	struct ka_vsg_entry *entries; /* in file order */
	unsigned nentries;
	bool used;
};

struct ka_vs {
	struct ka_vs *next;
	struct ka_loc loc;
	enum ka_vs_kind kind;
	uint8_t af;               /* AF_UNSPEC until known */
	union lvs_addr addr;
	uint16_t port;
	uint32_t fwmark;
	char *group;
	const struct ka_vsg *vsg; /* resolved */
	uint8_t proto;            /* 0 until defaults */
	char sched[LVS_SCHED_NAME_MAX];
	uint32_t flags;           /* LVS_SVC_F_* (ONEPACKET, SCHED1..3) */
	int fwd;                  /* -1 until defaults (NAT) */
	uint8_t tun_type;
	uint16_t tun_port, tun_flags;
	uint32_t persistence_timeout;  /* 0: not persistent */
	bool has_granularity;
	uint32_t granularity;     /* IPv4 mask (network order) / IPv6 prefix */
	char *persistence_engine;
	bool ha_suspend;
	char *virtualhost;
	bool alpha, omega, inhibit;
	uint32_t quorum, hysteresis;
	char *quorum_up, *quorum_down;
	uint32_t retry;
	uint64_t delay_before_retry, warmup, connect_timeout, delay_loop;
	uint32_t weight;          /* real servers' default weight, 1 */
	int8_t smtp_alert;
	struct ka_rs *sorry;
	bool sorry_inhibit;
	struct ka_rs *rs;         /* in file order */
	unsigned nrs;
	/* start state (after defaults): the quorum is met by the servers that
	 * start alive; when it is not and there is a sorry server, the sorry
	 * server is installed instead of the alive servers */
	bool quorum_met;
};

/* ---- VRRP (kaconf_vrrp.c, kaconf_vrrp_check.c) ---- */

#define KA_VRRP_PRIO_DEF 100   /* VRRP_PRIO_DFL */
#define KA_VRRP_PRIO_OWNER 255 /* the address owner */
#define KA_VRRP_AUTH_LEN 8
#define KA_VRRP_MAX_IFNAME 15  /* IFNAMSIZ - 1 */

enum ka_vrrp_state { KA_VRRP_UNSET, KA_VRRP_BACKUP, KA_VRRP_MASTER };
enum ka_vrrp_auth { KA_VRRP_AUTH_NONE, KA_VRRP_AUTH_PASS, KA_VRRP_AUTH_AH };

/* One line of virtual_ipaddress / virtual_ipaddress_excluded:
 * ADDR[/PREFIX] [dev IF] [brd ADDR|+|-] [scope S] [label L] [no_track]. */
struct ka_vrrp_vip {
	struct ka_vrrp_vip *next;
	struct ka_loc loc;
	struct ka_addr addr;
	uint8_t prefix;      /* default 32 / 128 */
	char *dev;           /* NULL: the instance's interface */
	bool has_brd;
	struct in_addr brd;  /* IPv4 broadcast, given or computed from + / - */
	uint8_t scope;       /* RT_SCOPE_*, 0 (global) unless given */
	char *label;
	bool no_track;
};

/* track_interface IF [weight N [reverse]], track_script NAME [weight N
 * [reverse|noreverse]]. */
struct ka_vrrp_track {
	struct ka_vrrp_track *next;
	struct ka_loc loc;
	char *name;
	bool weight_set;                     /* script: else the script's weight */
	int32_t weight;                      /* -253..253 */
	bool reverse;
	const struct ka_vrrp_script *script; /* track_script, resolved */
};

struct ka_vrrp_peer {
	struct ka_vrrp_peer *next;
	struct ka_loc loc;
	struct ka_addr addr;
	uint8_t min_ttl, max_ttl; /* default 0, 255 */
};

/* notify_master, notify_backup, notify_fault, notify_stop, notify. */
struct ka_vrrp_notify {
	char *master, *backup, *fault, *stop, *any;
};

struct ka_vrrp_inst {
	struct ka_vrrp_inst *next;
	struct ka_loc loc;
	char *name;
	enum ka_vrrp_state state;   /* BACKUP (MASTER for an owner) after defaults */
	char *ifname;               /* NULL: none (unicast with unicast_src_ip) */
	uint32_t vrid;              /* 1..255; 0: not set */
	uint32_t priority;          /* 1..255; 0 until defaults */
	uint64_t advert_int;        /* microseconds; 0 until defaults (1 s) */
	uint8_t version;            /* 2 or 3; 0 until defaults (vrrp_version) */
	uint8_t af;                 /* from the addresses; AF_INET by default */
	struct ka_vrrp_vip *vips, *evips;
	unsigned nvips, nevips;
	bool no_vips;               /* no_virtual_ipaddress */
	bool nopreempt;
	uint64_t preempt_delay;     /* microseconds, 0..1000 s */
	enum ka_vrrp_auth auth_type;
	char auth_pass[KA_VRRP_AUTH_LEN + 1];
	struct ka_addr src_ip;      /* mcast_src_ip / unicast_src_ip */
	bool unicast_kw;            /* a unicast keyword was given */
	bool unicast;               /* after checks: unicast_peer entries exist */
	struct ka_vrrp_peer *peers;
	unsigned npeers;
	struct ka_addr mcast_group; /* multicast: vrrp_mcast_group4/6 after defaults */
	struct ka_vrrp_track *track_ifs, *track_scripts;
	struct ka_vrrp_notify notify;
	uint64_t garp_delay;        /* KA_UNSET_TIME until defaults (global's) */
	uint32_t garp_rep, garp_refresh, garp_refresh_rep; /* KA_UNSET_U32 until defaults */
	bool dont_track_primary;
	int8_t smtp_alert;
	int8_t accept;              /* -1 until defaults */
	int8_t strict;              /* strict_mode; -1 until defaults (vrrp_strict) */
	int8_t lower_prio_no_advert, higher_prio_send_advert; /* -1 until defaults */
	const struct ka_vrrp_sync_group *sync;
};

struct ka_vrrp_sync_group {
	struct ka_vrrp_sync_group *next;
	struct ka_loc loc;
	char *name;
	char **members;             /* the group { } names */
	struct ka_loc *member_locs;
	unsigned nmembers;
	const struct ka_vrrp_inst **insts; /* resolved members */
	unsigned ninsts;
	bool group_seen;
	struct ka_vrrp_track *track_ifs, *track_scripts;
	struct ka_vrrp_notify notify;
	bool tracking_weight;       /* sync_group_tracking_weight */
};

struct ka_vrrp_script {
	struct ka_vrrp_script *next;
	struct ka_loc loc;
	char *name;
	char *script;
	uint64_t interval;          /* microseconds, default 1 s */
	uint64_t timeout;           /* 0: none given */
	int32_t weight;             /* -253..253, default 0 */
	bool reverse;
	uint32_t rise, fall;        /* default 1 */
	char *user, *group;
	bool init_fail;
	bool used;
};

/* global_defs' lvs_sync_daemon IF [[inst] INST] [id N] [maxlen N] [port N]
 * [ttl N] [group ADDR] (or an instance's lvs_sync_daemon_interface). */
struct ka_lvs_syncd {
	struct ka_loc loc;
	char *ifname;               /* NULL: not configured */
	char *inst;
	const struct ka_vrrp_inst *vrrp; /* resolved */
	uint32_t syncid;            /* KA_UNSET_U32 until defaults: the VRID, or 0 */
	uint32_t maxlen, port, ttl; /* 0: the kernel's default */
	struct ka_addr group;
};

/* global_defs' VRRP defaults (unset markers until the checks). */
struct ka_vrrp_global {
	uint32_t version;           /* vrrp_version, default 2 */
	struct ka_addr mcast4, mcast6; /* default 224.0.0.18, ff02::12 */
	uint64_t garp_delay;        /* default 5 s */
	uint32_t garp_rep;          /* default 5 */
	uint32_t garp_refresh;      /* seconds, default 0 (none) */
	uint32_t garp_refresh_rep;  /* default 1 */
	uint64_t garp_interval, gna_interval; /* microseconds, default 0 */
	bool lower_prio_no_advert, higher_prio_send_advert;
	uint64_t startup_delay;
	bool strict;                /* vrrp_strict */
};

#define KA_MAX_CHECKER_CPUS 64
struct ka_global {
	char *router_id;
	struct lvs_timeouts timeouts; /* 0: not set */
	bool timeouts_set;
	/* script_user USER [[:]GROUP]: who runs MISC_CHECK scripts without a
	 * user of their own (NULL: keepalived_script when that user exists,
	 * else lvsd's own user) */
	char *script_user, *script_group;
	bool script_security; /* enable_script_security */
	/* the checker thread's nice value (checker_priority) and CPUs
	 * (checker_cpu_affinity; none: any) */
	bool checker_priority_set;
	int checker_priority;
	uint16_t checker_cpus[KA_MAX_CHECKER_CPUS];
	unsigned ncheck_cpus;
	struct ka_vrrp_global vrrp;
	struct ka_lvs_syncd lvs_syncd;
};

struct ka_file {
	struct ka_file *next;
	char *name;
};

struct ka_arena;

struct ka_config {
	struct ka_arena *arena;
	struct ka_file *files;
	struct ka_global global;
	struct ka_vsg *vsgs;
	struct ka_vs *vss;        /* in file order */
	unsigned nvs;
	struct ka_track_file *track_files;
	struct ka_vrrp_inst *vrrps;         /* in file order */
	unsigned nvrrp;
	struct ka_vrrp_sync_group *vsyncs;
	struct ka_vrrp_script *vscripts;
	struct ka_diag *diags, **diag_tail;
	unsigned nerrors, nwarnings, ninfos;
	bool main_unreadable;     /* the main file could not be read */
	bool no_include;          /* include lines are refused (an error), and
				   * no file is read: ka_config_load_text */
};

/*
 * Read and check a configuration file (path) or a text in memory (text,
 * len; name is used in messages and to resolve relative includes against
 * its directory).  Always returns a config with its diagnostics (NULL
 * only when memory runs out); nerrors tells whether it may be installed.
 */
struct ka_config *ka_config_load(const char *path);
struct ka_config *ka_config_load_mem(const char *text, size_t len, const char *name);
/* The same, the text alone: an include line is an error and no file is
 * read (for text from outside, such as a fuzzer's). */
struct ka_config *ka_config_load_text(const char *text, size_t len, const char *name);
void ka_config_free(struct ka_config *c);

/* Print the diagnostics as "FILE:LINE: message" lines, in file order;
 * min: the lowest level printed. */
void ka_config_print_diags(const struct ka_config *c, FILE *out, enum ka_level min);

/* keepalived's exit code for `-t`: 0 clean (notices allowed), 4 when the
 * file cannot be read, 5 for any other reported problem. */
int ka_config_test_status(const struct ka_config *c);

/*
 * The services and destinations the file installs at start, as keepalived
 * installs them (init_services in keepalived's check/ipwrapper.c):
 * groups expand to one service per address of each range and per fwmark;
 * a real server is added when it starts alive, or with weight 0 (health
 * QUIESCED) when it starts failed under inhibit_on_failure; when the
 * quorum is not met and a sorry server is configured, the alive servers
 * are left out and the sorry server added; a sorry server with
 * sorry_server_inhibit is otherwise added with weight 0.
 * One batch with owner LVS_OWNER_CONFIG and the global lvs_timeouts: all
 * or nothing.  Returns 0, or the model's -errno with "FILE:LINE: message"
 * in err.  c must have no errors.
 */
int ka_config_apply(const struct ka_config *c, struct lvs_model *m, char *err, size_t errlen);

/*
 * A reload: bring m from what old installed to what c describes, in one
 * batch (all or nothing), touching only what the file changed: services
 * and servers the new file adds are added (servers as at start, their
 * checks then take over), those it no longer has are deleted (a deleted
 * server drains: its connections go on from the trash), a service or
 * server whose settings in the file changed gets the new ones; what the
 * file did not change is left as it is (weights set by lvsadm or by
 * checks, health, lvsadm's own services and servers).  0, or -errno
 * with a message in err (m unchanged).
 */
int ka_config_reload(const struct ka_config *old, const struct ka_config *c, struct lvs_model *m,
		     char *err, size_t errlen);

/*
 * The IPVS services of vs, as ka_config_apply installs them (one, or one
 * per address of each range and per fwmark of its group): fn is called
 * with each service's configuration (defaults filled, owner CONFIG) and
 * stops the walk by returning non-zero (returned).  -E2BIG with
 * "FILE:LINE: message" in err for a range too large.
 */
int ka_vs_services(const struct ka_vs *vs,
		   int (*fn)(void *arg, const struct ka_vs *vs, const struct lvs_svc_conf *c),
		   void *arg, char *err, size_t errlen);
/* A real (or sorry) server's destination configuration (owner CONFIG). */
void ka_rs_dest_conf(const struct ka_rs *rs, struct lvs_dest_conf *d);

/* Visit every address the file's services use (virtual addresses, real
 * and sorry servers), e.g. to find the interfaces they are reached
 * through.  is_vip tells which kind. */
void ka_config_addrs(const struct ka_config *c,
		     void (*fn)(void *arg, int af, const union lvs_addr *a, bool is_vip), void *arg);

/* A virtual server for messages: "10.0.0.1:80", "[fd00::1]:80",
 * "fwmark 1", "group NAME". */
const char *ka_vs_str(const struct ka_vs *vs, char *buf, size_t len);

/* ---- internal (kaconf_lex.c <-> kaconf.c) ---- */

void *ka_alloc(struct ka_config *c, size_t n);
char *ka_strdup(struct ka_config *c, const char *s);
void ka_diag(struct ka_config *c, enum ka_level lvl, const struct ka_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define KA_TOK_QUOTED 0x1 /* was a "quoted string" */
#define KA_TOK_BOL 0x2    /* first token of its line */
struct ka_tok {
	const char *s;
	struct ka_loc loc;
	unsigned flags;
};
struct ka_toks {
	struct ka_tok *v;
	unsigned n, cap;
};
/* Tokenize path (or text) with its includes into c's arena. */
int ka_lex_file(struct ka_config *c, struct ka_toks *t, const char *path);
int ka_lex_mem(struct ka_config *c, struct ka_toks *t, const char *text, size_t len,
	       const char *name);

#endif
