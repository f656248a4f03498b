/*
 * vrrp_sock.h - the VRRP socket of one interface and address family: a raw
 * socket of IP protocol 112 that sends and receives advertisements
 * (RFC 5798 section 5.1, RFC 3768 section 5.1).
 *
 * Multicast by default: sent to 224.0.0.18 / ff02::12 with TTL / hop limit
 * 255 and received on a group membership of the interface.  With unicast
 * peers (keepalived's unicast_peer) every advert goes to each peer instead,
 * still with TTL 255, and only adverts from a listed peer are accepted.
 *
 * The descriptor is non-blocking, for an event loop; control path only.
 */
#ifndef LVS_VRRP_SOCK_H
#define LVS_VRRP_SOCK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "lvs_types.h"
#include "vrrp_pkt.h"

#define VRRP_GROUP4 "224.0.0.18" /* RFC 5798 5.1.1.2 */
#define VRRP_GROUP6 "ff02::12"   /* RFC 5798 5.1.2.2 */

#define VRRP_SOCK_MAX_PEERS 32

struct vrrp_sock_conf {
	/* The interface: ifindex, or 0 and its name. */
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t af; /* AF_INET or AF_INET6 */
	/* Multicast group to send to and join; zero = the RFC's group. */
	union lvs_addr group;
	/* Source address of the adverts (keepalived's mcast_src_ip /
	 * unicast_src_ip); zero = the interface's first IPv4 address, or its
	 * link-local IPv6 address (RFC 5798 5.1.2.1). */
	union lvs_addr src;
	/* Unicast peers; none = multicast. */
	unsigned npeers;
	union lvs_addr peers[VRRP_SOCK_MAX_PEERS];
};

struct vrrp_sock_stats {
	uint64_t rx_adverts;
	uint64_t tx_adverts; /* one per destination */
	uint64_t tx_errors;
	uint64_t drops[VRRP_DROP__COUNT];
};

/* The largest datagram read: an IPv4 header with options and the largest
 * message, with room to see that a longer one is too long. */
#define VRRP_SOCK_BUF (60 + VRRP_PKT_MAX + 64)

struct vrrp_sock {
	int fd;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t af;
	bool src_fixed; /* src was configured, never re-resolved */
	union lvs_addr src;
	union lvs_addr group;
	unsigned npeers;
	union lvs_addr peers[VRRP_SOCK_MAX_PEERS];
	struct vrrp_sock_stats stats;
	uint8_t buf[VRRP_SOCK_BUF];
};

/*
 * Open s for c: the raw socket bound to the interface, non-blocking,
 * multicast options set and (without peers) the group joined.  The source
 * address is looked up now if not configured; an interface that has none
 * yet is no error (the first send looks again).  Returns 0, or -errno
 * (-ENODEV for an unknown interface, -EINVAL for a bad configuration);
 * nothing is left open on failure.
 */
int vrrp_sock_open(struct vrrp_sock *s, const struct vrrp_sock_conf *c);

/*
 * Encode a (its af must be the socket's) and send it to the group or to
 * each peer, the checksum computed over the source and destination it is
 * sent with.  Returns 0 when every copy was sent, else the first -errno
 * (-EADDRNOTAVAIL while the interface has no usable source address;
 * -EAGAIN when the socket buffer is full: the advert is lost, as a dropped
 * packet would be).
 */
int vrrp_sock_send(struct vrrp_sock *s, const struct vrrp_adv *a);

/*
 * Read one datagram without blocking.  Returns 0 with the advert in *out and
 * its IP source in *src; a positive enum vrrp_drop when the datagram was
 * refused (counted in s->stats.drops; *out undefined, *src filled when
 * known); -EAGAIN when nothing is queued; another -errno on a socket error.
 * Drop reasons are returned positive so they never collide with an errno.
 */
int vrrp_sock_recv(struct vrrp_sock *s, struct vrrp_adv *out, union lvs_addr *src);

/* Close the socket (idempotent; leaves the group by closing). */
void vrrp_sock_close(struct vrrp_sock *s);

#endif
