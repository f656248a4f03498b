/*
 * ipvsadm_list.h - the output of `lvsadm -L` / `ipvsadm -L`: the service
 * table and its variants (--stats, --rate, --thresholds,
 * --persistent-conn, --tun-info, --exact, --nosort), the connection table
 * (-c), --timeout and --daemon, byte for byte as ipvsadm 1.31 prints them
 * (its print_title / print_service_entry / print_conn / list_timeout /
 * list_daemon formats).  `-S` (rules) output lives in rules.c.
 *
 * Sample (-L -n; destination lines end in the padding of their last
 * column, "%-10u", as ipvsadm's do):
 *
 *   IP Virtual Server version 1.2.1 (size=4096)
 *   Prot LocalAddress:Port Scheduler Flags
 *     -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
 *   TCP  10.0.0.1:80 wlc persistent 360 mask 255.255.255.0
 *     -> 192.168.10.1:80              Route   1      0          0
 *
 * Which printer to call for a LIST command, as ipvsadm decides: -c
 * (lvs_list_conns), else a service given with -t/-u/--sctp-service/-f
 * (lvs_list_services with `only`), else --timeout (lvs_list_timeout), else
 * --daemon (lvs_list_daemon), else the whole table (lvs_list_services).
 *
 * Control path.  The printers only read the snapshot and the counters; the
 * caller keeps the snapshot alive (RCU read side or the control thread).
 */
#ifndef LVS_IPVSADM_LIST_H
#define LVS_IPVSADM_LIST_H

#include <stdio.h>

#include "conn.h"
#include "estimator.h"
#include "ipvsadm_cmd.h"
#include "model.h"

/* Listing options: ipvsadm's format flags.  When several table variants
 * are given, the first of STATS, RATE, THRESHOLDS, PERSISTENTCONN,
 * TUN_INFO in this order wins, as in ipvsadm. */
#define LVS_LIST_NUMERIC 0x0001        /* -n: no host / service name lookups */
#define LVS_LIST_STATS 0x0004          /* --stats */
#define LVS_LIST_RATE 0x0008           /* --rate */
#define LVS_LIST_THRESHOLDS 0x0010     /* --thresholds */
#define LVS_LIST_PERSISTENTCONN 0x0020 /* --persistent-conn */
#define LVS_LIST_NOSORT 0x0040         /* --nosort */
#define LVS_LIST_EXACT 0x0080          /* --exact: no K/M/G/T scaling */
#define LVS_LIST_TUN_INFO 0x0100       /* --tun-info */

/* The listing options of a parsed command line (struct lvs_cmd.opts). */
unsigned lvs_list_opts_from_cmd(uint64_t cmd_opts);

/*
 * Optional hooks; a NULL struct or NULL member means the default.
 *   svc_rate / dest_rate: the --rate figures of a service / destination
 *     (the daemon keeps one struct lvs_est per object); NULL or a NULL
 *     return prints zeros.
 *   host_name / serv_name: name lookups when LVS_LIST_NUMERIC is not set;
 *     return 0 with a NUL-terminated name in buf, or -1 to print the
 *     number.  By default the system resolver is used (getnameinfo,
 *     getservbyport_r), which may block on DNS: the daemon should list
 *     numerically and leave names to the client.
 */
struct lvs_list_hooks {
	const struct lvs_rate *(*svc_rate)(void *ctx, const struct lvs_svc_state *st);
	const struct lvs_rate *(*dest_rate)(void *ctx, const struct lvs_dest_state *st);
	int (*host_name)(void *ctx, int af, const union lvs_addr *a, char *buf, size_t len);
	/* port in host order; proto IPPROTO_TCP/UDP/SCTP */
	int (*serv_name)(void *ctx, uint16_t port, uint8_t proto, char *buf, size_t len);
	void *ctx;
};

/*
 * The service table.  Without `only`: the "IP Virtual Server version 1.2.1
 * (size=N)" line (N = conn_table_size), the column titles, then every
 * service with its destinations.  With `only` (-L -t VIP:port): the titles
 * and that service, no version line (as ipvsadm).  `only` is matched
 * exactly: (af, fwmark) for a fwmark key, else (af, proto, addr, port).
 *
 * Order: ipvsadm's sort unless LVS_LIST_NOSORT -- services by fwmark,
 * family, protocol, address, port; destinations by address, port -- with
 * ipvsadm's quirk kept: addresses are compared as the int difference of
 * two 32-bit words, so e.g. 192.168.0.1 sorts BEFORE 10.0.0.1 (the
 * difference wraps).  With LVS_LIST_NOSORT: services in creation order,
 * destinations newest first (the kernel's list order).
 *
 * Returns 0, -ESRCH when `only` matches no service (nothing printed; the
 * caller prints ipvsadm's "No such service"), -ENOMEM, or -EIO when
 * writing to out failed.
 */
int lvs_list_services(FILE *out, const struct lvs_snapshot *s, uint32_t conn_table_size,
		      unsigned opts, const struct lvs_svc_key *only,
		      const struct lvs_list_hooks *hooks);

/*
 * -c: "IPVS connection entries", the column titles, then one line per
 * entry in array order, e.g.
 *   TCP 14:59  ESTABLISHED 203.0.113.5:40000  10.0.0.1:80        192.168.10.1:80
 * Expire is the time left as mm:ss (whole seconds, truncated); protocol as
 * the kernel names it (TCP, UDP, SCTP, IP for fwmark templates...); state
 * as lvs_conn_state_name().  With LVS_LIST_PERSISTENTCONN the title gains
 * "pe name pe_data" columns and templates with PE data (--pe sip) their
 * engine and Call-ID; other entries keep the short form, as ipvsadm
 * prints the long form only for entries with PE data.  Returns 0 or -EIO.
 */
int lvs_list_conns(FILE *out, const struct lvs_conn_info *ci, size_t n, unsigned opts,
		   const struct lvs_list_hooks *hooks);

/* --timeout: "Timeout (tcp tcpfin udp): 900 120 300". 0 or -EIO. */
int lvs_list_timeout(FILE *out, const struct lvs_timeouts *t);

/*
 * --daemon: one line per running sync daemon, e.g.
 *   master sync daemon (mcast=eth0, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)
 * d[0..n) with state LVS_DAEMON_MASTER or _BACKUP (others are skipped);
 * sync_maxlen, mcast_port, mcast_ttl print when non-zero, group when
 * mcast_af is set.  n == 0 (no daemon) prints nothing.  0 or -EIO.
 */
int lvs_list_daemon(FILE *out, const struct lvs_cmd_daemon *d, size_t n);

/*
 * The orders used above, for other printers (-S): fill v with the
 * snapshot's services / svc's destinations, sorted as ipvsadm sorts them
 * (stable merge with glibc qsort's split, so even ipvsadm's non-transitive
 * address comparison gives glibc's order), or in kernel order with
 * nosort.  v must have room for s->nsvcs / svc->ndests pointers.
 * 0 or -ENOMEM.
 */
int lvs_list_order_services(const struct lvs_snapshot *s, bool nosort,
			    const struct lvs_service **v);
int lvs_list_order_dests(const struct lvs_service *svc, bool nosort, const struct lvs_dest **v);

/* ipvsadm's addrport_to_anyname(): "a.b.c.d:port" or "[v6]:port" into buf
 * (LVS_LIST_NAME_LEN bytes, cut there as ipvsadm's buffer cuts it), with
 * host and service names (hooks, else the system resolver) unless opts
 * has LVS_LIST_NUMERIC.  port in host order; proto picks the services
 * database (none for a firewall mark: the number). */
#define LVS_LIST_NAME_LEN 60
void lvs_list_addrport_name(char *buf, int af, const union lvs_addr *a, uint16_t port,
			    uint8_t proto, unsigned opts, const struct lvs_list_hooks *hooks);

/* The protocol's name in the services database ("tcp", "udp", "sctp"),
 * as getservbyport wants it; NULL for others. */
const char *lvs_list_proto_db_name(uint8_t proto);
/* The protocol as listings print it ("TCP", "UDP", "SCTP"; "?" for others). */
const char *lvs_list_proto_name(uint8_t proto);

#endif
