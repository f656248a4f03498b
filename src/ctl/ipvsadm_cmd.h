/*
 * ipvsadm_cmd.h - the ipvsadm command language (control plane).
 *
 * One ipvsadm command line (argv) is parsed into a struct lvs_cmd that
 * describes one operation; lvs_cmd_apply() turns the model-changing ones
 * into lvs_model_* calls.  The parser reproduces ipvsadm 1.31 (popt
 * option handling, option/command compatibility table, defaults, checks
 * and message wording), so that lvsadm can stand in for ipvsadm in
 * existing scripts, and a rules file (rules.h) is read line by line with
 * the same parser.
 *
 * Exit codes are ipvsadm's:
 *   0    success
 *   2    a bad value or combination ("Illegal 'weight' option with the
 *        'add-service' command", "Zero port specified for non-persistent
 *        service", ...): ipvsadm's fail(2, ...)
 *   255  the option scanner (popt) refused the line ("-j: unknown option",
 *        "-t: missing argument"), the first option is not a command (the
 *        "Try `ipvsadm -h' ..." hint), or the model ("kernel") refused an
 *        operation ("Service already exists").  ipvsadm returns -1 in all
 *        these cases, which the shell sees as 255.
 */
#ifndef LVS_IPVSADM_CMD_H
#define LVS_IPVSADM_CMD_H

#include <stdio.h>

#include "model.h"

#define LVS_EXIT_OK    0
#define LVS_EXIT_USAGE 2
#define LVS_EXIT_FAIL  255

/* Commands, in ipvsadm's order (the index of the command-name table). */
enum lvs_cmd_kind {
	LVS_CMD_NONE = 0,
	LVS_CMD_ADD_SERVICE,  /* -A --add-service */
	LVS_CMD_EDIT_SERVICE, /* -E --edit-service */
	LVS_CMD_DEL_SERVICE,  /* -D --delete-service */
	LVS_CMD_FLUSH,        /* -C --clear */
	LVS_CMD_LIST,         /* -L -l --list, or no argument at all */
	LVS_CMD_ADD_DEST,     /* -a --add-server */
	LVS_CMD_DEL_DEST,     /* -d --delete-server */
	LVS_CMD_EDIT_DEST,    /* -e --edit-server */
	LVS_CMD_SET_TIMEOUT,  /* --set tcp tcpfin udp */
	LVS_CMD_START_DAEMON, /* --start-daemon master|backup */
	LVS_CMD_STOP_DAEMON,  /* --stop-daemon master|backup */
	LVS_CMD_RESTORE,      /* -R --restore (rules from stdin) */
	LVS_CMD_SAVE,         /* -S --save */
	LVS_CMD_ZERO,         /* -Z --zero */
	LVS_CMD_HELP,         /* -h --help (first option only) */
	LVS_CMD_VERSION,      /* -v --version (first option only) */
	LVS_CMD_STATUS,       /* --status: lvsd's own, not ipvsadm's (no options) */
	LVS_CMD_CHECKS,       /* --checks: lvsd's own, the health checks (no options) */
	LVS_CMD_VRRP,         /* --vrrp: lvsd's own, the VRRP instances (no options) */
};

/* Options seen on the line (bit i = ipvsadm's option i); the listing
 * printers read the LIST/SAVE ones from here. */
enum lvs_opt_index {
	LVS_OPTI_NUMERIC,
	LVS_OPTI_CONNECTION,
	LVS_OPTI_SERVICE,
	LVS_OPTI_SCHEDULER,
	LVS_OPTI_PERSISTENT,
	LVS_OPTI_NETMASK,
	LVS_OPTI_SERVER,
	LVS_OPTI_FORWARD,
	LVS_OPTI_WEIGHT,
	LVS_OPTI_UTHRESHOLD,
	LVS_OPTI_LTHRESHOLD,
	LVS_OPTI_MCAST,
	LVS_OPTI_TIMEOUT,
	LVS_OPTI_DAEMON,
	LVS_OPTI_STATS,
	LVS_OPTI_RATE,
	LVS_OPTI_THRESHOLDS,
	LVS_OPTI_PERSISTENTCONN,
	LVS_OPTI_NOSORT,
	LVS_OPTI_SYNCID,
	LVS_OPTI_EXACT,
	LVS_OPTI_ONEPACKET,
	LVS_OPTI_PE,
	LVS_OPTI_SCHED_FLAGS,
	LVS_OPTI_MCAST_GROUP,
	LVS_OPTI_MCAST_PORT,
	LVS_OPTI_MCAST_TTL,
	LVS_OPTI_SYNC_MAXLEN,
	LVS_OPTI_TUN_INFO,
	LVS_OPTI_TUN_TYPE,
	LVS_OPTI_TUN_PORT,
	LVS_OPTI_TUN_NOCSUM,
	LVS_OPTI_TUN_CSUM,
	LVS_OPTI_TUN_REMCSUM,
	LVS_OPTI_COUNT
};
#define LVS_OPT(i)             (1ull << (i))
#define LVS_OPT_NUMERIC        LVS_OPT(LVS_OPTI_NUMERIC)
#define LVS_OPT_CONNECTION     LVS_OPT(LVS_OPTI_CONNECTION)
#define LVS_OPT_SERVICE        LVS_OPT(LVS_OPTI_SERVICE)
#define LVS_OPT_SERVER         LVS_OPT(LVS_OPTI_SERVER)
#define LVS_OPT_TIMEOUT        LVS_OPT(LVS_OPTI_TIMEOUT)
#define LVS_OPT_DAEMON         LVS_OPT(LVS_OPTI_DAEMON)
#define LVS_OPT_STATS          LVS_OPT(LVS_OPTI_STATS)
#define LVS_OPT_RATE           LVS_OPT(LVS_OPTI_RATE)
#define LVS_OPT_THRESHOLDS     LVS_OPT(LVS_OPTI_THRESHOLDS)
#define LVS_OPT_PERSISTENTCONN LVS_OPT(LVS_OPTI_PERSISTENTCONN)
#define LVS_OPT_NOSORT         LVS_OPT(LVS_OPTI_NOSORT)
#define LVS_OPT_EXACT          LVS_OPT(LVS_OPTI_EXACT)
#define LVS_OPT_TUN_INFO       LVS_OPT(LVS_OPTI_TUN_INFO)

/* --start-daemon / --stop-daemon parameters (connection sync: the
 * executor's daemon hook, ctl.h, runs them). */
#define LVS_DAEMON_MASTER 1
#define LVS_DAEMON_BACKUP 2
struct lvs_cmd_daemon {
	int state;            /* LVS_DAEMON_MASTER / _BACKUP */
	char mcast_ifn[16];   /* "eth0" unless --mcast-interface */
	uint32_t syncid;      /* --syncid 0..255 */
	uint16_t sync_maxlen; /* 0 = default */
	uint16_t mcast_port;  /* host order, 0 = default 8848 */
	uint8_t mcast_ttl;    /* 0 = default 1 */
	uint8_t mcast_af;     /* 0 = default group 224.0.0.81 */
	union lvs_addr mcast_group;
};

/* One parsed command.  svc and dest are complete configurations with
 * ipvsadm's defaults filled in (ipvsadm always sends the whole structure,
 * so -E / -e replace every field that is not given by its default). */
struct lvs_cmd {
	enum lvs_cmd_kind cmd;
	uint64_t opts;  /* LVS_OPT(i) for each option given */
	bool have_svc;  /* -t/-u/--sctp-service/-f given */
	bool have_dest; /* -r given */
	struct lvs_svc_conf svc;
	struct lvs_dest_conf dest;
	struct lvs_timeouts to; /* --set */
	char pe[16];            /* --pe name (pe.h: "sip") */
	bool atomic;            /* -R --atomic (lvsd's own): all lines or none */
	struct lvs_cmd_daemon daemon;
};

/* ipvsadm's name of a command ("add-service", "flush", "set", ...). */
const char *lvs_cmd_name(enum lvs_cmd_kind k);

/*
 * Parse one command line.  argv[0] is the program name (used in the
 * "Try `prog -h'" hint); argc <= 1 means "list" as for a bare ipvsadm.
 * Returns LVS_EXIT_OK with *cmd filled, or LVS_EXIT_USAGE / LVS_EXIT_FAIL
 * with ipvsadm's message (no trailing newline is added) in err.  Reentrant:
 * no global state (host and service names are resolved with getaddrinfo /
 * getservbyname_r).  argv is not modified and not referenced afterwards.
 */
int lvs_cmd_parse(int argc, char *const argv[], struct lvs_cmd *cmd, char *err, size_t errlen);

/*
 * Apply a model-changing command (-A -E -D -C -a -e -d -Z --set) to m.
 * Returns LVS_EXIT_OK, or LVS_EXIT_FAIL with ipvsadm's text for the
 * model's error ("Service already exists", "No such destination", ...) in
 * err; the model is unchanged then.  LIST, SAVE, RESTORE, HELP and VERSION
 * do nothing here and return LVS_EXIT_OK (the caller prints or reads); the
 * daemon commands fail here (the executor hands them to the daemon's sync
 * hook, ctl.h; without one they fail).
 */
int lvs_cmd_apply(struct lvs_model *m, const struct lvs_cmd *cmd, char *err, size_t errlen);

/* Print a usage summary (for -h) to out. */
void lvs_cmd_usage(FILE *out, const char *prog);

#endif
