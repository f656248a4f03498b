/*
 * fwmark.h - the host side of firewall-mark services: the iptables rules
 * that queue marked packets to lvsd (nfqueue.h).
 *
 * The operator's own rules (iptables / ip6tables mangle PREROUTING, or
 * nftables at the mangle priority) set the marks.  lvsd adds a chain
 * LVSD-FWMARK to the mangle table of each family, jumped to from the end
 * of PREROUTING, with one rule per service mark of that family:
 *
 *     -A LVSD-FWMARK -m mark --mark 0xN -j NFQUEUE --queue-num Q --queue-bypass
 *
 * so only packets whose mark has a service are queued (a mark without a
 * service goes on through the host as the kernel would let it), and the
 * queue's verdict keeps them from the host.  --queue-bypass lets the
 * host have them when no lvsd reads the queue.  The jump is appended when
 * a family's first firewall-mark service appears: the operator's MARK
 * rules must come before it.  The chain follows the services through
 * iptables-restore / ip6tables-restore --noflush run in the background
 * (a change never waits for a child); the chain and the jump are removed
 * when lvsd stops and left behind rules of an earlier lvsd when it starts.
 *
 * Control thread only.
 */
#ifndef LVSD_FWMARK_H
#define LVSD_FWMARK_H

#include <stdint.h>

#include "model.h"

#define LVSD_FWMARK_QUEUE 4915 /* default NFQUEUE number */

struct lvsd_fwmark;

/* Remove what an earlier lvsd left (waits for iptables: start-up only)
 * and prepare to follow the services.  NULL when out of memory. */
struct lvsd_fwmark *lvsd_fwmark_new(uint16_t qnum);

/* The services may have changed: when their marks did, rewrite the
 * chains (in the background). */
void lvsd_fwmark_sync(struct lvsd_fwmark *f, const struct lvs_snapshot *s);

/* Reap a finished iptables-restore and start the next one if the marks
 * changed meanwhile.  From a periodic tick. */
void lvsd_fwmark_tick(struct lvsd_fwmark *f);

/* Marks of each family with a service, as last applied (for --status). */
unsigned lvsd_fwmark_count(const struct lvsd_fwmark *f, int af);

/* Remove the rules (waits for iptables: shutdown only) and free f. */
void lvsd_fwmark_free(struct lvsd_fwmark *f);

#endif
