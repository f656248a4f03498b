/*
 * conn_proto.c - protocol state for connection entries: the TCP state
 * machine of kernel IPVS (net/netfilter/ipvs/ip_vs_proto_tcp.c, the
 * default, non-"secure_tcp" tables), the per-state default timeouts and
 * the state names ipvsadm -L -c prints.
 *
 * IPVS does not track TCP precisely: it only needs to know roughly where a
 * flow is, to pick a timeout and to count the destination's active and
 * inactive connections.  The next state depends on the packet's direction
 * (client->director, real server->director for NAT, or client only when
 * replies bypass the director in DR/TUN) and on one flag chosen with
 * priority RST, SYN, FIN, ACK.
 */
#include <netinet/in.h>

#include "conn_priv.h"

const uint32_t lvs_tcp_default_timeouts[LVS_TCP_S_LAST] = {
	[LVS_TCP_S_NONE] = 2,
	[LVS_TCP_S_ESTABLISHED] = 15 * 60,
	[LVS_TCP_S_SYN_SENT] = 2 * 60,
	[LVS_TCP_S_SYN_RECV] = 60,
	[LVS_TCP_S_FIN_WAIT] = 2 * 60,
	[LVS_TCP_S_TIME_WAIT] = 2 * 60,
	[LVS_TCP_S_CLOSE] = 10,
	[LVS_TCP_S_CLOSE_WAIT] = 60,
	[LVS_TCP_S_LAST_ACK] = 30,
	[LVS_TCP_S_LISTEN] = 2 * 60,
	[LVS_TCP_S_SYNACK] = 120,
};

static const char *const tcp_names[LVS_TCP_S_LAST] = {
	[LVS_TCP_S_NONE] = "NONE",
	[LVS_TCP_S_ESTABLISHED] = "ESTABLISHED",
	[LVS_TCP_S_SYN_SENT] = "SYN_SENT",
	[LVS_TCP_S_SYN_RECV] = "SYN_RECV",
	[LVS_TCP_S_FIN_WAIT] = "FIN_WAIT",
	[LVS_TCP_S_TIME_WAIT] = "TIME_WAIT",
	[LVS_TCP_S_CLOSE] = "CLOSE",
	[LVS_TCP_S_CLOSE_WAIT] = "CLOSE_WAIT",
	[LVS_TCP_S_LAST_ACK] = "LAST_ACK",
	[LVS_TCP_S_LISTEN] = "LISTEN",
	[LVS_TCP_S_SYNACK] = "SYNACK",
};

const char *lvs_tcp_state_name(int state)
{
	if (state < 0 || state >= LVS_TCP_S_LAST)
		return "ERR!";
	return tcp_names[state];
}

/* As the kernel's ip_vs_state_name(): templates print their own state
 * (always NONE here), UDP entries "UDP", fwmark (proto 0) entries NONE. */
const char *lvs_conn_state_name(uint16_t flags, uint8_t proto, uint8_t state)
{
	if (flags & LVS_CONN_F_TEMPLATE)
		return "NONE";
	switch (proto) {
	case IPPROTO_TCP:
		return lvs_tcp_state_name(state);
	case IPPROTO_UDP:
		return "UDP";
	case 0:
		return "NONE";
	default:
		return "ERR!";
	}
}

/*
 * States counted in the destination's active connections.  Since Linux
 * 4.8 ("ipvs: count pre-established TCP states as active") the kernel
 * counts the handshake states too, so a burst of new connections weighs on
 * lc/wlc at once instead of only after their handshakes complete.
 */
const bool lvs_tcp_state_active[LVS_TCP_S_LAST] = {
	[LVS_TCP_S_ESTABLISHED] = true,
	[LVS_TCP_S_SYN_SENT] = true,
	[LVS_TCP_S_SYN_RECV] = true,
	[LVS_TCP_S_SYNACK] = true,
};

/* Short names so the tables below read as a grid. */
enum {
	NO = LVS_TCP_S_NONE,
	ES = LVS_TCP_S_ESTABLISHED,
	SS = LVS_TCP_S_SYN_SENT,
	SR = LVS_TCP_S_SYN_RECV,
	FW = LVS_TCP_S_FIN_WAIT,
	TW = LVS_TCP_S_TIME_WAIT,
	CL = LVS_TCP_S_CLOSE,
	CW = LVS_TCP_S_CLOSE_WAIT,
	LA = LVS_TCP_S_LAST_ACK,
	LI = LVS_TCP_S_LISTEN,
	SA = LVS_TCP_S_SYNACK,
};

/*
 * Columns: current state NO ES SS SR FW TW CL CW LA LI SA.
 * Values are the kernel's (facts), laid out per direction and flag.
 */
const uint8_t lvs_tcp_trans[3][4][LVS_TCP_S_LAST] = {
	/* client -> director, replies come back through us (NAT) */
	[0] = {
		/* SYN */ { SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR },
		/* FIN */ { CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW },
		/* ACK */ { ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES },
		/* RST */ { CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR },
	},
	/* real server -> director (NAT replies) */
	[1] = {
		/* SYN */ { SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR },
		/* FIN */ { TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW },
		/* ACK */ { ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES },
		/* RST */ { CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL },
	},
	/* client -> director, replies bypass us (DR, TUN) */
	[2] = {
		/* SYN */ { SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR },
		/* FIN */ { CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW },
		/* ACK */ { ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES },
		/* RST */ { CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL },
	},
};
