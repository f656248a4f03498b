/*
 * lvs_fast.h - what the XDP fast path (lvs_fast.bpf.c) and its user-space
 * side (fastpath.c) share: the flow maps' keys and value and the program's
 * counters.  Included by BPF and user-space code alike, so only
 * <linux/types.h> types, laid out without implicit padding.
 *
 * One entry per direction of an established connection, keyed by the
 * packet as it arrives on the wire: the client's packets (client -> VIP)
 * and, for NAT, the real server's replies (server -> client) have keys of
 * their own.  The value carries everything the transform needs, so the
 * program never consults the model: the forwarding method, the rewrite
 * (NAT), the tunnel (TUN), the next hop (MACs, VLAN tag, egress, MTU),
 * the time it was last seen and the slot of its per-CPU counters (packets,
 * IP bytes), which user space folds back into the connection's and the
 * destination's statistics.
 */
#ifndef LVS_FAST_H
#define LVS_FAST_H

#include <linux/types.h>

/* lvs_fast_val.action */
enum lvs_fast_action {
	LVS_FAST_NAT_IN = 1, /* destination -> naddr:nport (client to server) */
	LVS_FAST_NAT_OUT,    /* source -> naddr:nport (server's reply) */
	LVS_FAST_DR,         /* MACs only */
	LVS_FAST_TUN,        /* encapsulate toward naddr (tun_type) */
};

/* lvs_fast_val.tun_type: the values of the core's enum lvs_tun_type */
#define LVS_FAST_TUN_IPIP 0
#define LVS_FAST_TUN_GUE  1
#define LVS_FAST_TUN_GRE  2
/* lvs_fast_val.tun_flags: the core's LVS_TUN_F_* */
#define LVS_FAST_TUN_F_CSUM    0x1
#define LVS_FAST_TUN_F_REMCSUM 0x2

/* The key of the IPv6 map (lvs_flows6), and user space's key of either
 * family (fastpath.h) */
struct lvs_fast_key {
	__u8 af;       /* AF_INET / AF_INET6 */
	__u8 proto;    /* IPPROTO_TCP / IPPROTO_UDP */
	__be16 sport;  /* as on the wire */
	__be16 dport;
	__u16 pad;     /* 0 */
	__u8 saddr[16];/* IPv4: first 4 bytes, the rest 0 */
	__u8 daddr[16];
};

/* The key of the IPv4 map (lvs_flows4): the same fields in 16 bytes, for
 * the kernel hashes every byte of the key on each lookup */
struct lvs_fast_key4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];   /* 0 */
};

struct lvs_fast_val {
	__u8 action;    /* enum lvs_fast_action */
	__u8 tun_type;  /* TUN: LVS_FAST_TUN_* */
	__u8 tun_flags; /* TUN: LVS_FAST_TUN_F_* */
	__u8 oaf;       /* TUN: outer family (the real server's) */
	__be16 nport;   /* NAT: the new port */
	__be16 tun_port;/* TUN GUE: UDP destination port */
	__u8 dmac[6];   /* next hop */
	__u8 smac[6];   /* ours on the egress interface */
	__u16 vlan_tci; /* egress tag (host order); 0: untagged */
	__u16 pad;
	__u32 ifindex;  /* egress interface */
	__u32 mtu;      /* egress MTU; 0: not enforced */
	__u8 naddr[16]; /* NAT: the new address; TUN: the real server */
	__u8 tsrc[16];  /* TUN: outer source address */
	__u32 slot;     /* the entry's counters: lvs_fast_ctrs[slot], per CPU */
	__u32 pad2;
	/* written by the program when it changes (once a tick at most) */
	__u64 last_ns;  /* bpf_ktime_get_coarse_ns() of the last packet */
};

/* An entry's counters on one CPU (user space sums them). */
struct lvs_fast_ctr {
	__u64 packets;
	__u64 bytes;    /* IP datagram bytes as received, as the core counts */
};

/* Why a packet went to user space (or was forwarded): per-CPU counters. */
enum lvs_fast_stat {
	LVS_FASTS_TX = 0,     /* forwarded with XDP_TX */
	LVS_FASTS_REDIRECT,   /* forwarded with bpf_redirect */
	LVS_FASTS_NOT_IP,     /* not IPv4/IPv6 (ARP, ...) */
	LVS_FASTS_SHAPE,      /* options, extension headers, fragments, not TCP/UDP,
	                         two VLAN tags, bad lengths or header checksum */
	LVS_FASTS_MISS,       /* no flow entry */
	LVS_FASTS_TCP_FLAGS,  /* SYN, FIN, RST or no ACK: the state machine decides */
	LVS_FASTS_TTL,        /* TTL / hop limit <= 1: time exceeded */
	LVS_FASTS_MTU,        /* too big for the egress MTU */
	LVS_FASTS_CSUM,       /* a checksum that cannot be done here */
	LVS_FASTS_ROOM,       /* no head or tail room */
	LVS_FASTS_BROKEN,     /* dropped: the frame changed under the transform */
	LVS_FASTS__COUNT
};

/* Flow entries in all (either map): the counter slots user space hands out */
#define LVS_FAST_FLOWS_MAX 262144

#endif
