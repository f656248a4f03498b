/*
 * vrrp_pkt.c - VRRP advertisement codec (see vrrp_pkt.h).
 *
 * Layout (RFC 5798 5.1 / RFC 3768 5.1), big-endian, 8 fixed bytes:
 *
 *   byte 0    version (high nibble) | type (low nibble)
 *   byte 1    Virtual Router ID
 *   byte 2    priority
 *   byte 3    count of addresses
 *   bytes 4-5 v3: 4 reserved bits, 12-bit Max Adver Int (centiseconds)
 *             v2: byte 4 Auth Type, byte 5 Adver Int (seconds)
 *   bytes 6-7 checksum
 *
 * then the addresses (4 or 16 bytes each) and, in version 2 only, 8 bytes of
 * authentication data.  The checksum is the Internet checksum (RFC 1071) of
 * the whole message with the field zeroed, in version 3 preceded by the IP
 * pseudo-header with protocol 112.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "vrrp_pkt.h"

enum {
	OFF_VER_TYPE = 0,
	OFF_VRID = 1,
	OFF_PRIO = 2,
	OFF_COUNT = 3,
	OFF_INT = 4, /* v3: 16 bits; v2: OFF_AUTH_TYPE then OFF_V2_INT */
	OFF_AUTH_TYPE = 4,
	OFF_V2_INT = 5,
	OFF_CSUM = 6,
	OFF_ADDRS = 8,
};
_Static_assert(OFF_CSUM + 2 == VRRP_HDR_LEN, "fixed header is 8 bytes");
_Static_assert(OFF_ADDRS == VRRP_HDR_LEN, "addresses follow the fixed header");
_Static_assert(VRRP_HDR_LEN + VRRP_MAX_ADDRS * 4 + VRRP_V2_AUTH_LEN <= VRRP_PKT_MAX,
               "the largest version 2 message fits VRRP_PKT_MAX");
_Static_assert(VRRP_PKT_MAX <= 0xffff, "a message fits an IP payload length");
_Static_assert(sizeof(((struct vrrp_adv *)0)->auth_pass) == VRRP_V2_AUTH_LEN,
               "the password is the whole v2 auth data");

static const char *const vrrp_drop_names[VRRP_DROP__COUNT] = {
#define VRRP_DROP_NAME(n, s) [VRRP_DROP_##n] = s,
        VRRP_DROP_REASONS(VRRP_DROP_NAME)
#undef VRRP_DROP_NAME
};

const char *vrrp_drop_name(int r)
{
	if (r < 0)
		r = -r;
	if (r >= VRRP_DROP__COUNT)
		return "unknown";
	return vrrp_drop_names[r];
}

static size_t addr_len(uint8_t af)
{
	return af == AF_INET6 ? 16 : 4;
}

size_t vrrp_msg_len(uint8_t version, uint8_t af, uint8_t naddr)
{
	return VRRP_HDR_LEN + (size_t)naddr * addr_len(af) + (version == 2 ? VRRP_V2_AUTH_LEN : 0);
}

int vrrp_addr_cmp(uint8_t af, const union lvs_addr *a, const union lvs_addr *b)
{
	/* Bytes are in network order, so memcmp is the unsigned compare. */
	return memcmp(a->b, b->b, addr_len(af));
}

/* The partial sum the message's checksum starts from: zero in version 2,
 * the pseudo-header in version 3. */
static uint32_t vrrp_csum_seed(uint8_t version, uint8_t af, const union lvs_addr *src,
                               const union lvs_addr *dst, size_t msg_len)
{
	if (version == 2)
		return 0;
	if (af == AF_INET)
		return lvs_csum_pseudo4(src->ip4, dst->ip4, VRRP_IPPROTO, (uint32_t)msg_len);
	return lvs_csum_pseudo6(src, dst, VRRP_IPPROTO, (uint32_t)msg_len);
}

static int vrrp_adv_check(const struct vrrp_adv *a)
{
	if (a->vrid == 0)
		return -EINVAL;
	if (a->adver_int_cs == 0)
		return -EINVAL;
	if (a->version == 3) {
		if (a->af != AF_INET && a->af != AF_INET6)
			return -EINVAL;
		if (a->adver_int_cs > VRRP_V3_MAX_INT_CS)
			return -EINVAL;
		return 0;
	}
	if (a->version != 2 || a->af != AF_INET)
		return -EINVAL;
	/* Version 2 carries whole seconds: refuse what it cannot say. */
	if (a->adver_int_cs % 100 || a->adver_int_cs / 100 > VRRP_V2_MAX_INT_S)
		return -EINVAL;
	if (a->auth_type == VRRP_AUTH_AH)
		return -EOPNOTSUPP;
	if (a->auth_type != VRRP_AUTH_NONE && a->auth_type != VRRP_AUTH_PASS)
		return -EINVAL;
	return 0;
}

int vrrp_encode(const struct vrrp_adv *a, const union lvs_addr *src, const union lvs_addr *dst,
                uint8_t *buf, size_t len)
{
	size_t alen = addr_len(a->af), need, off;
	uint16_t csum;
	unsigned i;
	int err;

	err = vrrp_adv_check(a);
	if (err)
		return err;
	if (a->version == 3 && (!src || !dst))
		return -EINVAL;
	need = vrrp_msg_len(a->version, a->af, a->naddr);
	if (len < need)
		return -ENOSPC;

	buf[OFF_VER_TYPE] = (uint8_t)(a->version << 4 | VRRP_TYPE_ADVERT);
	buf[OFF_VRID] = a->vrid;
	buf[OFF_PRIO] = a->priority;
	buf[OFF_COUNT] = a->naddr;
	if (a->version == 3) {
		/* the 4 reserved bits are sent as zero (RFC 5798 5.2.6) */
		buf[OFF_INT] = (uint8_t)(a->adver_int_cs >> 8);
		buf[OFF_INT + 1] = (uint8_t)a->adver_int_cs;
	} else {
		buf[OFF_AUTH_TYPE] = a->auth_type;
		buf[OFF_V2_INT] = (uint8_t)(a->adver_int_cs / 100);
	}
	buf[OFF_CSUM] = buf[OFF_CSUM + 1] = 0;

	off = OFF_ADDRS;
	for (i = 0; i < a->naddr; i++, off += alen)
		memcpy(buf + off, a->addrs[i].b, alen);
	if (a->version == 2) {
		/* RFC 3768 5.3.10 wants zeros without authentication; with
		 * PASS the field carries the zero-padded password. */
		if (a->auth_type == VRRP_AUTH_PASS)
			memcpy(buf + off, a->auth_pass, VRRP_V2_AUTH_LEN);
		else
			memset(buf + off, 0, VRRP_V2_AUTH_LEN);
	}

	csum = lvs_csum_finish(
	        lvs_csum_partial(buf, need, vrrp_csum_seed(a->version, a->af, src, dst, need)));
	memcpy(buf + OFF_CSUM, &csum, sizeof(csum)); /* already in network order */
	return (int)need;
}

int vrrp_decode(const uint8_t *buf, size_t len, uint8_t af, const union lvs_addr *src,
                const union lvs_addr *dst, uint8_t ttl_or_hoplimit, struct vrrp_adv *out)
{
	size_t alen = addr_len(af), off;
	uint8_t version;
	uint32_t sum;
	unsigned i;

	if (af != AF_INET && af != AF_INET6)
		return -VRRP_DROP_VERSION;
	if (len < VRRP_HDR_LEN)
		return -VRRP_DROP_TRUNCATED;
	/* RFC 5798 7.1: a TTL below 255 means the sender is off-link. */
	if (ttl_or_hoplimit != VRRP_TTL)
		return -VRRP_DROP_TTL;
	version = buf[OFF_VER_TYPE] >> 4;
	/* Version 2 is defined for IPv4 only. */
	if (version != 3 && (version != 2 || af != AF_INET))
		return -VRRP_DROP_VERSION;
	if ((buf[OFF_VER_TYPE] & 0x0f) != VRRP_TYPE_ADVERT)
		return -VRRP_DROP_TYPE;
	/* The count must describe exactly the message the IP header carries. */
	if (len != vrrp_msg_len(version, af, buf[OFF_COUNT]))
		return -VRRP_DROP_ADDR_COUNT;

	sum = lvs_csum_partial(buf, len, vrrp_csum_seed(version, af, src, dst, len));
	if (lvs_csum_fold(sum) != 0xffff)
		return -VRRP_DROP_CSUM;

	memset(out, 0, offsetof(struct vrrp_adv, addrs));
	out->version = version;
	out->vrid = buf[OFF_VRID];
	out->priority = buf[OFF_PRIO];
	out->af = af;
	out->naddr = buf[OFF_COUNT];
	if (version == 3) {
		/* the reserved bits are ignored on receipt */
		out->adver_int_cs = (uint16_t)((buf[OFF_INT] & 0x0f) << 8 | buf[OFF_INT + 1]);
	} else {
		out->auth_type = buf[OFF_AUTH_TYPE];
		out->adver_int_cs = (uint16_t)(buf[OFF_V2_INT] * 100);
		if (out->auth_type != VRRP_AUTH_NONE && out->auth_type != VRRP_AUTH_PASS)
			return -VRRP_DROP_AUTH_TYPE;
	}
	if (out->adver_int_cs == 0)
		return -VRRP_DROP_ADVER_INT;

	off = OFF_ADDRS;
	for (i = 0; i < out->naddr; i++, off += alen) {
		memset(&out->addrs[i], 0, sizeof(out->addrs[i]));
		memcpy(out->addrs[i].b, buf + off, alen);
	}
	if (version == 2 && out->auth_type == VRRP_AUTH_PASS)
		memcpy(out->auth_pass, buf + off, VRRP_V2_AUTH_LEN);
	return 0;
}
