/*
 * standby.h - the virtual addresses a VRRP instance holds only while it is
 * MASTER.  A director forwards traffic for such an address, and answers
 * ARP / ND and echo requests for it, only while its instance holds it; a
 * BACKUP (or FAULT) director forwards nothing for it, as a kernel IPVS
 * backup, whose VIP is not a local address, schedules nothing for it.
 *
 * The set is built by the control thread from the configuration (every
 * virtual_ipaddress and virtual_ipaddress_excluded of every instance),
 * immutable once published under RCU; only each entry's `held` flag
 * changes after that, flipped by the VRRP thread with an atomic store and
 * read by the workers with an atomic load, so a takeover needs no new
 * publication.  Addresses absent from the set are not VRRP's and are owned
 * as before.
 */
#ifndef LVS_STANDBY_H
#define LVS_STANDBY_H

#include <stdbool.h>
#include <stdint.h>

#include "lvs_types.h"

struct lvs_standby_entry {
	uint8_t af;
	uint8_t held; /* atomic: 1 while the owning instance is MASTER */
	union lvs_addr a;
};

struct lvs_standby {
	uint32_t n;
	struct lvs_standby_entry e[]; /* sorted by (af, address), no duplicates */
};

/*
 * A set of the n addresses af[i] / a[i] (duplicates folded), none held.
 * NULL without memory.  Free with free() once no reader can see it.
 */
struct lvs_standby *lvs_standby_new(const uint8_t *af, const union lvs_addr *a, uint32_t n);

/* The entry of (af, a), or NULL when VRRP does not manage it.  Any thread. */
struct lvs_standby_entry *lvs_standby_find(const struct lvs_standby *s, uint8_t af,
					   const union lvs_addr *a);

/* The instance that owns the address took it (held) or let it go. */
void lvs_standby_hold(struct lvs_standby_entry *e, bool held);

/* Data path: true when (af, a) is managed by VRRP and not held now, so
 * nothing addressed to it may be forwarded or answered.  s may be NULL. */
static inline bool lvs_standby_blocked(const struct lvs_standby *s, uint8_t af,
				       const union lvs_addr *a)
{
	const struct lvs_standby_entry *e;

	if (!s || !s->n)
		return false;
	e = lvs_standby_find(s, af, a);
	return e && !__atomic_load_n(&e->held, __ATOMIC_ACQUIRE);
}

#endif
