/*
 * vip.h - lvsd owns its virtual addresses (VIPs): the set of service
 * addresses of the current model snapshot.
 *
 *  - ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861): a worker
 *    answers requests / solicitations for a VIP on the interface they came
 *    in on, with that interface's MAC, and learns the asker's MAC as the
 *    kernel would (lvs_netstate_learn); ICMP / ICMPv6 echo requests to a
 *    VIP are answered too, as a director with the VIP configured would.
 *  - Takeover: when a VIP appears, the control thread announces it on
 *    every served interface: gratuitous ARP (an ARP announcement, RFC 5227
 *    2.3) and an unsolicited neighbour advertisement with the override
 *    flag (RFC 4861 7.2.6), three times one second apart; for IPv6 VIPs it
 *    joins the solicited-node multicast group on each served interface so
 *    solicitations reach us.
 *  - Host guard: see vip_guard.c (an nftables netdev ingress table per
 *    served interface that keeps the host's own stack from answering,
 *    resetting or forwarding what lvsd handles; with firewall-mark
 *    services, an inet prerouting table too, after the mangle table).
 *
 * A VIP that is also one of the host's own addresses (a "shared" VIP,
 * e.g. the director's address with only port 80 virtualised) stays the
 * host's for everything but the services on it: the host answers ARP,
 * ping and its other ports, and the guard drops only the services'
 * traffic.
 */
#ifndef LVS_VIP_H
#define LVS_VIP_H

#include <stdio.h>

#include "model.h"
#include "netstate.h"

struct lvs_vips;

/*
 * Control thread.  ifindex[0..nif): the served interfaces.  guard: install
 * the host guard (its tables are created at once, with empty sets; later
 * updates add and delete set elements).  nftables is driven in-process
 * (libnftables).  Returns NULL (logged) on failure.
 */
struct lvs_vips *lvs_vips_new(struct lvs_netstate *ns, const uint32_t *ifindex, unsigned nif,
			      bool guard);
/* Stop watching the model, remove the guard tables, leave the multicast
 * groups, free.  Call before the model is freed. */
void lvs_vips_free(struct lvs_vips *v);
/*
 * Bring the VIPs, the guard and the driver filter up to date with model m
 * (s: its current snapshot) and the host's addresses.  The first call
 * installs a change watch on m (lvs_model_set_watch: one model for v's
 * life), which reports every state; from then on the watch records what
 * changed and each call applies only that: set elements added and
 * deleted, new VIPs announced.  Deleted destinations that connections
 * still use (the trash) keep their traffic guarded (replies from a NAT
 * server, packets to a deleted service) until the model frees them.  Call
 * after every change of m, after lvs_model_gc, and after the host's
 * addresses changed (a VIP may have become or stopped being one of
 * them).  A large change is applied in pieces of a few milliseconds
 * each: 1 means more remains (call again soon, from the loop), 0 that all
 * is applied; -errno on failure (what failed is retried by the next
 * call).
 */
int lvs_vips_update(struct lvs_vips *v, const struct lvs_snapshot *s, const struct lvs_model *m);
/* Links changed (LVS_NS_CHG_*): re-announce the VIPs on served interfaces
 * that came up.  (When addresses change, call lvs_vips_update again: a VIP
 * may have become or stopped being one of the host's addresses.) */
void lvs_vips_net_changed(struct lvs_vips *v, unsigned chg);
/* Every ~100 ms: repeated announcements. */
void lvs_vips_tick(struct lvs_vips *v, lvs_time_t now);

/*
 * Data path: p is a parsed frame the director passed (LVS_V_PASS).  If it
 * is an ARP request / neighbour solicitation / echo request for an owned
 * VIP, rewrite p into the answer (to send on p->ifindex) and return true.
 * The caller must be a registered RCU reader.
 */
bool lvs_vip_input(struct lvs_vips *v, struct lvs_pkt *p);

/*
 * Drivers that pick director traffic before lvsd sees it (AF_XDP) need the
 * guard's sets as filter keys (xdp_filter.h), the host's own addresses
 * included: fn is called from lvs_vips_update with the keys to add
 * (add[0..nadd)) and to delete (del[0..ndel)) since the last successful
 * call; a key is never in both.  0 or -errno (then the same keys come
 * again next time: adding a present key or deleting an absent one must
 * be harmless).  Setting a filter hands it every key at the next update.
 */
struct lvs_xdp_key;
typedef int (*lvs_vips_filter_fn)(void *arg, const struct lvs_xdp_key *add, unsigned nadd,
				  const struct lvs_xdp_key *del, unsigned ndel);
void lvs_vips_set_filter(struct lvs_vips *v, lvs_vips_filter_fn fn, void *arg);

/* Firewall-marked packets reach lvsd through a queue (daemon/fwmark.h):
 * no warning that firewall-mark services get no traffic. */
void lvs_vips_set_fwmark_queue(struct lvs_vips *v, bool on);

/*
 * VRRP: *slot (the director's standby pointer, read atomically; the set
 * it points to may change) lists the addresses VRRP manages.  The workers
 * answer for such an address only while its instance holds it, and it is
 * never announced here (VRRP sends its own gratuitous ARPs / NAs, as its
 * configuration says).
 */
struct lvs_standby;
void lvs_vips_set_standby(struct lvs_vips *v, struct lvs_standby *const *slot);

/*
 * An address that is a VIP without being a service address (VRRP's
 * addresses: a NAT site's inside gateway, for one): add (true) or take
 * back (false) a reference; while referenced it is owned as a service
 * address is (answered for, guarded) unless it is one of the host's
 * addresses.  Applied by the next lvs_vips_update.  0 or -ENOMEM.
 */
int lvs_vips_extra(struct lvs_vips *v, uint8_t af, const union lvs_addr *a, bool add);

/* For lvsadm --status: per served interface, the frames the host guard
 * dropped (the sum of its rules' counters, both tables, read over
 * nfnetlink).
 * Control thread. */
void lvs_vips_guard_status(struct lvs_vips *v, FILE *f);

/* What the worker answered, for a status command (summed by readers). */
struct lvs_vip_stats {
	uint64_t arp_replies, na_replies, echo_replies;
};
void lvs_vip_stats_add(struct lvs_vips *v, struct lvs_vip_stats *out);

#endif
