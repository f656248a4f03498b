/*
 * announce.c - gratuitous ARP and neighbour advertisement frames (see
 * announce.h).
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "announce.h"
#include "csum.h"

size_t lvs_frame_garp(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a)
{
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[14] = 0x00; f[15] = 0x01; /* Ethernet */
	f[16] = 0x08; f[17] = 0x00; /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	f[20] = 0x00; f[21] = 0x01; /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, &a->ip4, 4);
	memcpy(f + 38, &a->ip4, 4);
	return 60; /* padded to the Ethernet minimum */
}

void lvs_frame_na(uint8_t *ip, const union lvs_addr *tgt, const union lvs_addr *dst,
		  const uint8_t mac[6], uint8_t flags)
{
	uint8_t *ic = ip + 40;
	union lvs_addr src = *tgt;
	uint16_t c;

	memset(ip, 0, 40 + 32);
	ip[0] = 0x60;
	ip[5] = 32; /* payload length */
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 255; /* RFC 4861 7.1.2: hop limit 255 */
	memcpy(ip + 8, src.b, 16);
	memcpy(ip + 24, dst->b, 16);
	ic[0] = 136;
	ic[4] = (uint8_t)(flags | LVS_NA_OVERRIDE);
	memcpy(ic + 8, tgt->b, 16);
	ic[24] = 2; /* target link-layer address */
	ic[25] = 1;
	memcpy(ic + 26, mac, 6);
	c = lvs_csum_finish(lvs_csum_partial(ic, 32, lvs_csum_pseudo6(&src, dst, IPPROTO_ICMPV6, 32)));
	memcpy(ic + 2, &c, 2);
}

size_t lvs_frame_una(uint8_t *f, const uint8_t mac[6], const union lvs_addr *a, bool router)
{
	union lvs_addr all;

	memset(&all, 0, sizeof(all));
	all.b[0] = 0xff;
	all.b[1] = 0x02;
	all.b[15] = 1;
	f[0] = 0x33; f[1] = 0x33; f[2] = 0; f[3] = 0; f[4] = 0; f[5] = 1;
	memcpy(f + 6, mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	lvs_frame_na(f + 14, a, &all, mac, router ? LVS_NA_ROUTER : 0);
	return 14 + 40 + 32;
}
