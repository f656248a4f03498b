/*
 * test_vrrp.c - the VRRP codec (RFC 5798 5, RFC 3768 5): byte vectors
 * produced by an independent encoder (scapy's VRRPv3 and VRRP layers) for
 * version 3 over IPv4 and IPv6 and version 2 with a password, round trips,
 * encoder refusals, the checksum rules of each version checked by a
 * byte-wise reference sum written here, and every decode drop reason.
 *
 * With LVS_VRRP_PCAP=<file> in the environment the test also writes the
 * adverts it encodes, in full Ethernet/IP frames, to that capture for the
 * golden tier to decode with tshark (tests/golden/test_vrrp.py).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test_util.h"
#include "csum.h"
#include "vrrp_pkt.h"

/* ---- references written from RFC 1071 and the pseudo-headers ---- */

static uint32_t ref_sum(const uint8_t *b, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Checksum (host order) of msg with the field zeroed, pseudo-header first
 * when af != 0 (version 3). */
static uint16_t ref_vrrp_csum(int af, const union lvs_addr *src, const union lvs_addr *dst,
                              const uint8_t *msg, size_t len)
{
	uint8_t ph[40] = {0}, copy[VRRP_PKT_MAX];
	size_t alen = af == AF_INET6 ? 16 : 4, phlen = 0;
	uint32_t s;

	if (af) {
		memcpy(ph, src->b, alen);
		memcpy(ph + alen, dst->b, alen);
		if (af == AF_INET) {
			/* RFC 768: src, dst, zero, protocol, length (16 bits) */
			ph[8] = 0;
			ph[9] = VRRP_IPPROTO;
			ph[10] = (uint8_t)(len >> 8);
			ph[11] = (uint8_t)len;
			phlen = 12;
		} else {
			/* RFC 8200 8.1: src, dst, 32-bit length, 3 zeros, next header */
			ph[32] = ph[33] = 0;
			ph[34] = (uint8_t)(len >> 8);
			ph[35] = (uint8_t)len;
			ph[36] = ph[37] = ph[38] = 0;
			ph[39] = VRRP_IPPROTO;
			phlen = 40;
		}
	}
	memcpy(copy, msg, len);
	copy[6] = copy[7] = 0;
	s = ref_sum(ph, phlen, 0);
	s = ref_sum(copy, len, s);
	return (uint16_t)~s;
}

static void fix_csum(int af, const union lvs_addr *src, const union lvs_addr *dst, uint8_t *msg,
                     size_t len)
{
	uint16_t c = ref_vrrp_csum(af, src, dst, msg, len);

	msg[6] = (uint8_t)(c >> 8);
	msg[7] = (uint8_t)c;
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* ---- an optional capture of everything encoded, for tshark ---- */

static FILE *pcap;

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Frame one message as the sender's raw socket would: Ethernet to the
 * VRRP multicast MAC, IPv4 (TTL 255) or IPv6 (hop limit 255). */
static void pcap_add(int af, const union lvs_addr *src, const union lvs_addr *dst,
                     const uint8_t *msg, size_t len)
{
	uint8_t f[14 + 40 + VRRP_PKT_MAX];
	uint32_t rec[4] = {1700000000, 0, 0, 0};
	size_t ip = af == AF_INET ? 20 : 40, n = 14 + ip + len;
	static const uint8_t mac_src[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x33};

	if (!pcap)
		return;
	memset(f, 0, 14 + ip);
	memcpy(f + 6, mac_src, 6);
	if (af == AF_INET) {
		const uint8_t mac4[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
		uint16_t c;

		memcpy(f, mac4, 6);
		put_be16(f + 12, 0x0800);
		f[14] = 0x45;
		put_be16(f + 16, (uint16_t)(20 + len));
		f[22] = VRRP_TTL;
		f[23] = VRRP_IPPROTO;
		memcpy(f + 26, &src->ip4, 4);
		memcpy(f + 30, &dst->ip4, 4);
		c = lvs_ip4_hdr_csum(f + 14, 20);
		memcpy(f + 24, &c, 2);
	} else {
		const uint8_t mac6[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x12};

		memcpy(f, mac6, 6);
		put_be16(f + 12, 0x86dd);
		f[14] = 0x60;
		put_be16(f + 18, (uint16_t)len);
		f[20] = VRRP_IPPROTO;
		f[21] = VRRP_TTL;
		memcpy(f + 22, src->b, 16);
		memcpy(f + 38, dst->b, 16);
	}
	memcpy(f + 14 + ip, msg, len);
	rec[2] = rec[3] = (uint32_t)n;
	fwrite(rec, sizeof(rec), 1, pcap);
	fwrite(f, n, 1, pcap);
}

static int pcap_open(void **state)
{
	const char *path = getenv("LVS_VRRP_PCAP");
	/* libpcap file header, host byte order, Ethernet link type */
	const uint32_t hdr[6] = {0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, 1};

	(void)state;
	if (!path)
		return 0;
	pcap = fopen(path, "wb");
	if (!pcap)
		return -1;
	fwrite(hdr, sizeof(hdr), 1, pcap);
	return 0;
}

static int pcap_close(void **state)
{
	(void)state;
	if (pcap)
		fclose(pcap);
	pcap = NULL;
	return 0;
}

/* ---- vectors ---- */

/* scapy: IP(src="192.0.2.10", dst="224.0.0.18")/VRRPv3(vrid=51, priority=100,
 * adv=100, addrlist=["192.0.2.100", "192.0.2.101"]) */
static const char V3_IP4[] = "31336402006442fec0000264c0000265";
/* scapy: IPv6(src="fe80::1", dst="ff02::12")/VRRPv3(vrid=7, priority=200,
 * adv=50, addrlist=["fe80::100", "2001:db8::100"]) */
static const char V3_IP6[] = "3107c8020032da5afe80000000000000000000000000010020010db8000000000000"
                             "000000000100";
/* scapy: IP(...)/VRRP(vrid=51, priority=150, adv=1, authtype=1,
 * addrlist=["192.0.2.100"], auth1="secr", auth2="et\0\0") */
static const char V2_PASS[] = "2133960101014919c00002647365637265740000";

struct fixture {
	union lvs_addr src4, dst4, src6, dst6;
};

static struct fixture fx(void)
{
	struct fixture f = {.src4 = t_ip4("192.0.2.10"),
	                    .dst4 = t_ip4("224.0.0.18"),
	                    .src6 = t_ip6("fe80::1"),
	                    .dst6 = t_ip6("ff02::12")};
	return f;
}

static struct vrrp_adv adv_v3_ip4(void)
{
	struct vrrp_adv a;

	memset(&a, 0, sizeof(a));
	a.version = 3;
	a.vrid = 51;
	a.priority = 100;
	a.af = AF_INET;
	a.adver_int_cs = 100;
	a.naddr = 2;
	a.addrs[0] = t_ip4("192.0.2.100");
	a.addrs[1] = t_ip4("192.0.2.101");
	return a;
}

static struct vrrp_adv adv_v2_pass(void)
{
	struct vrrp_adv a;

	memset(&a, 0, sizeof(a));
	a.version = 2;
	a.vrid = 51;
	a.priority = 150;
	a.af = AF_INET;
	a.adver_int_cs = 100;
	a.naddr = 1;
	a.addrs[0] = t_ip4("192.0.2.100");
	a.auth_type = VRRP_AUTH_PASS;
	memcpy(a.auth_pass, "secret", 6);
	return a;
}

static void assert_adv_equal(const struct vrrp_adv *x, const struct vrrp_adv *y)
{
	assert_int_equal(x->version, y->version);
	assert_int_equal(x->vrid, y->vrid);
	assert_int_equal(x->priority, y->priority);
	assert_int_equal(x->af, y->af);
	assert_int_equal(x->adver_int_cs, y->adver_int_cs);
	assert_int_equal(x->naddr, y->naddr);
	assert_int_equal(x->auth_type, y->auth_type);
	assert_memory_equal(x->auth_pass, y->auth_pass, sizeof(x->auth_pass));
	for (unsigned i = 0; i < x->naddr; i++)
		assert_true(lvs_addr_eq(&x->addrs[i], &y->addrs[i]));
}

static void test_v3_ipv4_vector(void **state)
{
	struct fixture f = fx();
	struct vrrp_adv a = adv_v3_ip4(), d;
	uint8_t want[64], buf[64];
	size_t n = unhex(V3_IP4, want);
	int len;

	(void)state;
	len = vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf));
	assert_int_equal(len, (int)n);
	assert_int_equal(len, (int)vrrp_msg_len(3, AF_INET, 2));
	assert_memory_equal(buf, want, n);
	/* the stored checksum is the reference one, pseudo-header included */
	assert_int_equal(buf[6] << 8 | buf[7], ref_vrrp_csum(AF_INET, &f.src4, &f.dst4, buf, n));
	pcap_add(AF_INET, &f.src4, &f.dst4, buf, n);

	assert_int_equal(vrrp_decode(want, n, AF_INET, &f.src4, &f.dst4, 255, &d), 0);
	assert_adv_equal(&d, &a);
}

static void test_v3_ipv6_vector(void **state)
{
	struct fixture f = fx();
	struct vrrp_adv a, d;
	uint8_t want[64], buf[64];
	size_t n = unhex(V3_IP6, want);
	int len;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.version = 3;
	a.vrid = 7;
	a.priority = 200;
	a.af = AF_INET6;
	a.adver_int_cs = 50;
	a.naddr = 2;
	a.addrs[0] = t_ip6("fe80::100");
	a.addrs[1] = t_ip6("2001:db8::100");
	len = vrrp_encode(&a, &f.src6, &f.dst6, buf, sizeof(buf));
	assert_int_equal(len, (int)n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(buf[6] << 8 | buf[7], ref_vrrp_csum(AF_INET6, &f.src6, &f.dst6, buf, n));
	pcap_add(AF_INET6, &f.src6, &f.dst6, buf, n);

	assert_int_equal(vrrp_decode(want, n, AF_INET6, &f.src6, &f.dst6, 255, &d), 0);
	assert_adv_equal(&d, &a);
}

static void test_v2_pass_vector(void **state)
{
	struct fixture f = fx();
	struct vrrp_adv a = adv_v2_pass(), d;
	uint8_t want[64], buf[64];
	size_t n = unhex(V2_PASS, want);
	int len;

	(void)state;
	/* version 2 ignores the addresses: none needed to encode */
	len = vrrp_encode(&a, NULL, NULL, buf, sizeof(buf));
	assert_int_equal(len, (int)n);
	assert_int_equal(len, (int)vrrp_msg_len(2, AF_INET, 1));
	assert_memory_equal(buf, want, n);
	/* RFC 3768 5.3.8: the message alone, auth data included */
	assert_int_equal(buf[6] << 8 | buf[7], ref_vrrp_csum(0, NULL, NULL, buf, n));
	pcap_add(AF_INET, &f.src4, &f.dst4, buf, n);

	assert_int_equal(vrrp_decode(want, n, AF_INET, &f.src4, &f.dst4, 255, &d), 0);
	assert_adv_equal(&d, &a);
	/* nor does decoding depend on them */
	assert_int_equal(vrrp_decode(want, n, AF_INET, &f.dst4, &f.src4, 255, &d), 0);
	assert_string_equal(d.auth_pass, "secret");

	/* no authentication: 8 zero bytes still follow the addresses */
	a.auth_type = VRRP_AUTH_NONE;
	len = vrrp_encode(&a, NULL, NULL, buf, sizeof(buf));
	assert_int_equal(len, (int)n);
	for (unsigned i = 12; i < 20; i++)
		assert_int_equal(buf[i], 0);
	pcap_add(AF_INET, &f.src4, &f.dst4, buf, n);
	assert_int_equal(vrrp_decode(buf, n, AF_INET, NULL, NULL, 255, &d), 0);
	assert_int_equal(d.auth_type, VRRP_AUTH_NONE);
	assert_memory_equal(d.auth_pass, "\0\0\0\0\0\0\0\0", 8);
}

/* Many addresses, both families, priorities at the ends of the range. */
static void test_roundtrip_sizes(void **state)
{
	struct fixture f = fx();
	static struct vrrp_adv a, d;
	static uint8_t buf[VRRP_PKT_MAX];
	const unsigned counts[] = {0, 1, 20, 255};

	(void)state;
	for (unsigned k = 0; k < 4; k++) {
		for (int v6 = 0; v6 < 2; v6++) {
			int af = v6 ? AF_INET6 : AF_INET;
			const union lvs_addr *s = v6 ? &f.src6 : &f.src4,
			                     *t = v6 ? &f.dst6 : &f.dst4;
			int len;

			memset(&a, 0, sizeof(a));
			a.version = 3;
			a.vrid = 255;
			a.priority = k & 1 ? 255 : 0;
			a.af = (uint8_t)af;
			a.adver_int_cs = VRRP_V3_MAX_INT_CS;
			a.naddr = (uint8_t)counts[k];
			for (unsigned i = 0; i < counts[k]; i++) {
				a.addrs[i] = v6 ? t_ip6("2001:db8::") : t_ip4("10.0.0.0");
				a.addrs[i].b[v6 ? 15 : 3] = (uint8_t)i;
				a.addrs[i].b[v6 ? 14 : 2] = (uint8_t)(i * 7);
			}
			len = vrrp_encode(&a, s, t, buf, sizeof(buf));
			assert_int_equal(len, (int)vrrp_msg_len(3, (uint8_t)af, a.naddr));
			assert_int_equal(buf[6] << 8 | buf[7], ref_vrrp_csum(af, s, t, buf, len));
			pcap_add(af, s, t, buf, (size_t)len);
			assert_int_equal(vrrp_decode(buf, len, (uint8_t)af, s, t, 255, &d), 0);
			assert_adv_equal(&d, &a);
			/* exactly the space needed is enough, one byte less is not */
			assert_int_equal(vrrp_encode(&a, s, t, buf, len), len);
			assert_int_equal(vrrp_encode(&a, s, t, buf, len - 1), -ENOSPC);
		}
	}
}

static void test_encode_refuses(void **state)
{
	struct fixture f = fx();
	struct vrrp_adv a;
	uint8_t buf[64];

	(void)state;
	a = adv_v3_ip4();
	a.vrid = 0;
	assert_int_equal(vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf)), -EINVAL);
	a = adv_v3_ip4();
	a.version = 4;
	assert_int_equal(vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf)), -EINVAL);
	a = adv_v3_ip4();
	a.adver_int_cs = 0;
	assert_int_equal(vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf)), -EINVAL);
	a.adver_int_cs = VRRP_V3_MAX_INT_CS + 1;
	assert_int_equal(vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf)), -EINVAL);
	a = adv_v3_ip4();
	a.af = 99;
	assert_int_equal(vrrp_encode(&a, &f.src4, &f.dst4, buf, sizeof(buf)), -EINVAL);
	a = adv_v3_ip4();
	assert_int_equal(vrrp_encode(&a, NULL, &f.dst4, buf, sizeof(buf)), -EINVAL);

	a = adv_v2_pass();
	a.af = AF_INET6; /* version 2 is IPv4 only */
	assert_int_equal(vrrp_encode(&a, &f.src6, &f.dst6, buf, sizeof(buf)), -EINVAL);
	a = adv_v2_pass();
	a.adver_int_cs = 150; /* not whole seconds */
	assert_int_equal(vrrp_encode(&a, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	a.adver_int_cs = 25600;
	assert_int_equal(vrrp_encode(&a, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	a = adv_v2_pass();
	a.auth_type = VRRP_AUTH_AH;
	assert_int_equal(vrrp_encode(&a, NULL, NULL, buf, sizeof(buf)), -EOPNOTSUPP);
	a.auth_type = 3;
	assert_int_equal(vrrp_encode(&a, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	a = adv_v2_pass();
	assert_int_equal(vrrp_encode(&a, NULL, NULL, buf, 19), -ENOSPC);
}

/* The checksum rules: version 3 sums the pseudo-header, version 2 not. */
static void test_checksum_rules(void **state)
{
	struct fixture f = fx();
	union lvs_addr other = t_ip4("192.0.2.11");
	struct vrrp_adv d;
	uint8_t b[64];
	size_t n = unhex(V3_IP4, b);

	(void)state;
	/* a v3 advert is bound to its IP addresses */
	assert_int_equal(vrrp_decode(b, n, AF_INET, &other, &f.dst4, 255, &d), -VRRP_DROP_CSUM);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &other, 255, &d), -VRRP_DROP_CSUM);
	/* a v3 advert checksummed the version 2 way is refused */
	fix_csum(0, NULL, NULL, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), -VRRP_DROP_CSUM);
	/* the reserved bits are ignored on receipt (RFC 5798 5.2.6) */
	n = unhex(V3_IP4, b);
	b[4] |= 0xf0;
	fix_csum(AF_INET, &f.src4, &f.dst4, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), 0);
	assert_int_equal(d.adver_int_cs, 100);
	/* a v2 advert checksummed with a pseudo-header is refused */
	n = unhex(V2_PASS, b);
	fix_csum(AF_INET, &f.src4, &f.dst4, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), -VRRP_DROP_CSUM);
}

/* Every reason vrrp_decode gives, once each. */
static void test_decode_drops(void **state)
{
	struct fixture f = fx();
	struct vrrp_adv d;
	uint8_t b[64];
	size_t n;

	(void)state;
	n = unhex(V3_IP4, b);
	assert_int_equal(vrrp_decode(b, 7, AF_INET, &f.src4, &f.dst4, 255, &d),
	                 -VRRP_DROP_TRUNCATED);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 254, &d), -VRRP_DROP_TTL);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 1, &d), -VRRP_DROP_TTL);

	b[0] = 0x41; /* version 4 */
	fix_csum(AF_INET, &f.src4, &f.dst4, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), -VRRP_DROP_VERSION);
	b[0] = 0x32; /* type 2 */
	fix_csum(AF_INET, &f.src4, &f.dst4, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), -VRRP_DROP_TYPE);

	/* the count disagrees with the length, either way */
	n = unhex(V3_IP4, b);
	assert_int_equal(vrrp_decode(b, n - 4, AF_INET, &f.src4, &f.dst4, 255, &d),
	                 -VRRP_DROP_ADDR_COUNT);
	b[n] = b[n + 1] = b[n + 2] = b[n + 3] = 0;
	assert_int_equal(vrrp_decode(b, n + 4, AF_INET, &f.src4, &f.dst4, 255, &d),
	                 -VRRP_DROP_ADDR_COUNT);
	b[3] = 3;
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d),
	                 -VRRP_DROP_ADDR_COUNT);

	n = unhex(V3_IP4, b);
	b[n - 1] ^= 1;
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d), -VRRP_DROP_CSUM);

	n = unhex(V3_IP4, b);
	b[4] = b[5] = 0;
	fix_csum(AF_INET, &f.src4, &f.dst4, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, &f.src4, &f.dst4, 255, &d),
	                 -VRRP_DROP_ADVER_INT);

	n = unhex(V2_PASS, b);
	b[4] = 3; /* unknown auth type */
	fix_csum(0, NULL, NULL, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, NULL, NULL, 255, &d), -VRRP_DROP_AUTH_TYPE);
	b[4] = VRRP_AUTH_AH; /* AH would precede the message, not be named in it */
	fix_csum(0, NULL, NULL, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, NULL, NULL, 255, &d), -VRRP_DROP_AUTH_TYPE);
	/* a v2 advert of zero seconds */
	n = unhex(V2_PASS, b);
	b[5] = 0;
	fix_csum(0, NULL, NULL, b, n);
	assert_int_equal(vrrp_decode(b, n, AF_INET, NULL, NULL, 255, &d), -VRRP_DROP_ADVER_INT);
	/* version 2 does not exist over IPv6 */
	n = unhex(V2_PASS, b);
	assert_int_equal(vrrp_decode(b, n, AF_INET6, &f.src6, &f.dst6, 255, &d),
	                 -VRRP_DROP_VERSION);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int i = 0; i < VRRP_DROP__COUNT; i++) {
		const char *s = vrrp_drop_name(i);

		assert_non_null(s);
		assert_true(s[0] != '\0');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s, vrrp_drop_name(j));
		assert_string_equal(vrrp_drop_name(-i), s);
	}
	assert_string_equal(vrrp_drop_name(-VRRP_DROP_TTL), "ttl_not_255");
	assert_string_equal(vrrp_drop_name(VRRP_DROP__COUNT), "unknown");
}

static void test_addr_cmp(void **state)
{
	union lvs_addr a = t_ip4("10.0.0.9"), b = t_ip4("10.0.0.10"), c = t_ip4("9.255.255.255");
	union lvs_addr x = t_ip6("fe80::2"), y = t_ip6("fe80::10");

	(void)state;
	/* numeric, not string, order; network order compares as integers */
	assert_true(vrrp_addr_cmp(AF_INET, &a, &b) < 0);
	assert_true(vrrp_addr_cmp(AF_INET, &c, &a) < 0);
	assert_true(vrrp_addr_cmp(AF_INET, &a, &a) == 0);
	assert_true(vrrp_addr_cmp(AF_INET6, &y, &x) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_v3_ipv4_vector), cmocka_unit_test(test_v3_ipv6_vector),
	        cmocka_unit_test(test_v2_pass_vector), cmocka_unit_test(test_roundtrip_sizes),
	        cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_checksum_rules),
	        cmocka_unit_test(test_decode_drops),   cmocka_unit_test(test_drop_names),
	        cmocka_unit_test(test_addr_cmp),
	};
	return cmocka_run_group_tests(tests, pcap_open, pcap_close);
}
