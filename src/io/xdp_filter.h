/*
 * xdp_filter.h - what the AF_XDP driver's XDP program (lvs_xdp.bpf.c) and
 * the driver (afxdp.c) share: the key of the filter map that says which
 * frames are director traffic, and the program's counters.  Included by
 * BPF and user-space code alike, so only <linux/types.h> types.
 *
 * A frame is handed to lvsd (redirected to the AF_XDP socket of its
 * interface and receive queue) when one of these holds; everything else
 * goes on to the host's stack (XDP_PASS):
 *   - an ARP request whose target is an owned VIP (LVS_XDPK_VIP4, or
 *     LVS_XDPK_PVIP4);
 *   - an IPv6 neighbour solicitation whose target is an owned VIP;
 *   - an IP packet to an owned VIP guarded whole (any protocol, fragments
 *     too);
 *   - an IP packet to a service on a shared VIP (a host address), or on an
 *     owned VIP guarded per port (firewall-mark mode, see vip_guard.c):
 *     daddr . protocol . dport (dport 0 in the key: any port);
 *   - ICMP / ICMPv6 and later fragments to an owned VIP guarded per port
 *     (the rest of its traffic goes to the host, to be marked, queued to
 *     lvsd or dropped by the guard);
 *   - a NAT real server's reply: saddr . protocol . sport (sport 0: any),
 *     not addressed to one of the host's own addresses (LVS_XDPK_LOCAL*);
 *   - an ICMP error or a later fragment (no ports) from a NAT real server,
 *     not to a host address.
 * These are the same sets as the nftables host guard (vip_guard.c).
 */
#ifndef LVS_XDP_FILTER_H
#define LVS_XDP_FILTER_H

#include <linux/types.h>

enum lvs_xdp_kind {
	LVS_XDPK_VIP4 = 1,   /* addr: owned VIP */
	LVS_XDPK_VIP6,
	LVS_XDPK_SVC4,       /* addr . proto . port: service on a shared VIP */
	LVS_XDPK_SVC6,
	LVS_XDPK_NAT4,       /* addr . proto . port: NAT real server (source) */
	LVS_XDPK_NAT6,
	LVS_XDPK_NATRS4,     /* addr: NAT real server (ICMP errors, later fragments) */
	LVS_XDPK_NATRS6,
	LVS_XDPK_LOCAL4,     /* addr: one of the host's own addresses */
	LVS_XDPK_LOCAL6,
	LVS_XDPK_PVIP4,      /* addr: owned VIP guarded per port (its services
			      * as LVS_XDPK_SVC*) */
	LVS_XDPK_PVIP6,
};

struct lvs_xdp_key {
	__u8 kind;     /* enum lvs_xdp_kind */
	__u8 proto;    /* IPPROTO_*, 0 for address-only kinds */
	__be16 port;   /* network order; 0: any port */
	__u8 addr[16]; /* IPv4: first 4 bytes, the rest 0 */
};

#define LVS_XDP_FILTER_MAX 65536 /* entries of the filter map */
#define LVS_XDP_XSK_MAX    1024  /* interfaces x queues */
#define LVS_XDP_QUEUES_MAX 64    /* queues per interface (slot stride) */
#define LVS_XDP_IF_MAX     (LVS_XDP_XSK_MAX / LVS_XDP_QUEUES_MAX)

/* Per-CPU counters of the program (array map lvs_xdp_stats). */
enum lvs_xdp_stat {
	LVS_XDPS_REDIRECT = 0, /* handed to lvsd */
	LVS_XDPS_PASS,         /* not director traffic: to the host */
	LVS_XDPS_NO_SOCKET,    /* director traffic, but no socket on that queue */
	LVS_XDPS__COUNT
};

/* The program's maps, as descriptors, for another program that does the
 * same job (the fast path's, lvs_fast.bpf.c, with the AF_XDP driver). */
struct lvs_xdp_maps {
	int xsks, ifslot, filter, stats;
	int frags; /* the sockets take multi-buffer frames (XDP_USE_SG) */
};

#endif
