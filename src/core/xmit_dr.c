/*
 * xmit_dr.c - direct routing (ipvsadm -g, the default), as kernel IPVS's
 * ip_vs_dr_xmit: the IP packet goes unchanged but for the TTL / hop limit
 * to the real server's MAC address; the server owns the VIP on a
 * non-ARPing interface and answers the client directly.
 *
 * A checksum-partial or GSO frame stays so: nothing the L4 checksum covers
 * changes, and set_l2 keeps csum_start pointing at the same byte.
 */
#include <errno.h>
#include <netinet/in.h>

#include "xmit_int.h"

enum lvs_verdict lvs_xmit_dr(struct lvs_pkt *p, const struct lvs_flow *f,
                             const struct lvs_xmit_env *env, enum lvs_drop *why)
{
	struct lvs_pkt_info *pi = &p->pi;
	struct lvs_nexthop nh;
	enum lvs_verdict v;

	*why = LVS_DROP_NONE;
	/* the packet is not re-addressed, so the server must be of its family */
	if ((pi->af != AF_INET && pi->af != AF_INET6) || (f->daf && f->daf != pi->af)) {
		*why = LVS_DROP_FWD_UNSUPPORTED;
		return LVS_V_DROP;
	}
	if (!xm_prepare(p, pi->af, &f->daddr, f->rc, 0, env, &nh, &v, why))
		return v;
	xm_dec_ttl(p);
	if (xm_set_l2(p, &nh, pi->af == AF_INET ? XM_ETHT_IP4 : XM_ETHT_IP6)) {
		*why = LVS_DROP_NO_ROOM;
		return LVS_V_DROP;
	}
	return LVS_V_TX;
}
