/*
 * passive.h - passive detection: real servers whose TCP handshakes fail
 * in the traffic itself are taken out of their services, without waiting
 * for a health check, and tried again after a back-off that doubles each
 * time they fail again (lvsd's own; keepalived has no such thing).
 *
 * The workers count, per destination, handshakes that completed and that
 * failed (NAT only, where the server's side is seen: the client's SYN
 * again with no answer from the server, the server's RST, an entry gone
 * without a word from the server; lvs_dest_handshake).  Once a second the
 * control thread takes out every destination with `threshold` failures
 * in a row (lvs_model_set_dest_passive: DOWN whatever its checks say) for
 * LVSD_PASSIVE_BASE_S, doubling up to LVSD_PASSIVE_MAX_S for each new
 * take-out that follows within LVSD_PASSIVE_FORGET_S of the last; then it
 * is back on probation: its count starts again from zero.
 */
#ifndef LVSD_PASSIVE_H
#define LVSD_PASSIVE_H

#include <stdio.h>

#include "ctlloop.h"

#define LVSD_PASSIVE_BASE_S 5
#define LVSD_PASSIVE_MAX_S 300
#define LVSD_PASSIVE_FORGET_S 600

struct lvsd_passive;

/* Watch d's destinations with threshold failures in a row (> 0); sets
 * d->passive.  0 or -ENOMEM. */
int lvsd_passive_register(struct lvsd_loop *l, unsigned threshold);
/* The listing's section (`lvsadm --checks`). */
void lvsd_passive_print(const struct lvsd_passive *p, FILE *f);

#endif
