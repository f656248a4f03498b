/*
 * test_io_sw.c - software checksum completion and segmentation of the I/O
 * layer (src/io/io_sw.c, included here: the daemon's objects are not in
 * liblvs).  Segments are checked against an independent RFC 1071 sum and
 * against the super-frame they came from: lengths, ids, sequence numbers,
 * flags, payload bytes, and every checksum of every layer.
 */
#include "test_util.h"

#include "io_sw.c"

#define PAYLOAD 5000
#define MSS 1448

static uint8_t frame[70000], out[131072];
static struct lvs_pkt segs[64];

/* RFC 1071, written plainly and separately from csum.c */
static uint16_t ref_sum(const uint8_t *b, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		acc += (uint32_t)b[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static uint32_t ref_pseudo(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	uint32_t acc = 0;

	if ((ip[0] >> 4) == 4) {
		for (int i = 12; i < 20; i += 2)
			acc += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	} else {
		for (int i = 8; i < 40; i += 2)
			acc += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	}
	return acc + proto + len;
}

/* A transport checksum is right when the sum over it with the pseudo-header is 0xffff. */
static bool l4_ok(const uint8_t *ip, const uint8_t *l4, uint8_t proto, uint32_t len)
{
	return ref_sum(l4, len, ref_pseudo(ip, proto, len)) == 0xffff;
}

static size_t put_eth(uint8_t *f, uint16_t type)
{
	memset(f, 0x02, 12);
	f[5] = 1;
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static size_t put_ip4(uint8_t *ip, uint8_t proto, uint32_t payload, const char *s, const char *d,
		      uint16_t id)
{
	union lvs_addr a = t_ip4(s), b = t_ip4(d);
	uint16_t c;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + payload));
	wr16(ip + 4, id);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &a.ip4, 4);
	memcpy(ip + 16, &b.ip4, 4);
	c = (uint16_t)~ref_sum(ip, 20, 0);
	wr16(ip + 10, c);
	return 20;
}

static size_t put_ip6(uint8_t *ip, uint8_t proto, uint32_t payload, const char *s, const char *d)
{
	union lvs_addr a = t_ip6(s), b = t_ip6(d);

	memset(ip, 0, 40);
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)payload);
	ip[6] = proto;
	ip[7] = 64;
	memcpy(ip + 8, a.b, 16);
	memcpy(ip + 24, b.b, 16);
	return 40;
}

/* TCP header (20 + 12 bytes of options) + payload; the checksum field
 * holds the pseudo-header sum as a checksum-partial frame does. */
static size_t put_tcp(uint8_t *ip, uint8_t *t, uint32_t payload, uint8_t flags)
{
	uint32_t len = 32 + payload;

	memset(t, 0, 32);
	wr16(t, 40000);
	wr16(t + 2, 80);
	wr32(t + 4, 0xfffff000u); /* wraps during the super-frame */
	wr32(t + 8, 77);
	t[12] = 8 << 4;
	t[13] = flags;
	wr16(t + 14, 512);
	t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10; /* NOP NOP timestamps */
	for (uint32_t i = 0; i < payload; i++)
		t[32 + i] = (uint8_t)(i * 7 + (i >> 8));
	wr16(t + 16, ref_sum(NULL, 0, ref_pseudo(ip, IPPROTO_TCP, len)));
	return len;
}

static void init_pkt(struct lvs_pkt *p, size_t len, uint32_t csum_start, uint16_t gso_type)
{
	lvs_pkt_init(p, frame, sizeof(frame), 0, (uint32_t)len);
	p->flags = LVS_PKT_F_CSUM_PARTIAL;
	p->csum_start = (uint16_t)csum_start;
	p->csum_offset = 16;
	p->gso_size = MSS;
	p->gso_type = gso_type;
	p->ifindex = 7;
}

/* Check the TCP segments of a super-frame whose TCP header is at l4 in
 * frame[] (and in each segment), the innermost IP header at ip. */
static void check_tcp_segments(int n, uint32_t ip, uint32_t l4, bool v4)
{
	uint32_t off = 0;

	assert_int_equal(n, (PAYLOAD + MSS - 1) / MSS);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = segs[i].data, *t = d + l4;
		uint32_t plen = i < n - 1 ? MSS : PAYLOAD - (uint32_t)(n - 1) * MSS;

		assert_int_equal(segs[i].len, l4 + 32 + plen);
		assert_int_equal(segs[i].ifindex, 7);
		assert_int_equal(segs[i].flags & LVS_PKT_F_CSUM_PARTIAL, 0);
		assert_memory_equal(d, frame, 14);
		assert_memory_equal(t, frame + l4, 4); /* ports */
		assert_int_equal(rd32(t + 4), 0xfffff000u + off);
		/* PSH and FIN only on the last segment, CWR only on the first */
		assert_int_equal(t[13], 0x10 | (i == 0 ? 0x80 : 0) | (i == n - 1 ? 0x09 : 0));
		assert_memory_equal(t + 32, frame + l4 + 32 + off, plen);
		if (v4) {
			assert_int_equal(rd16(d + ip + 2), 20 + 32 + plen);
			assert_int_equal(ref_sum(d + ip, 20, 0), 0xffff);
		} else {
			assert_int_equal(rd16(d + ip + 4), 32 + plen);
		}
		assert_true(l4_ok(d + ip, t, IPPROTO_TCP, 32 + plen));
		off += plen;
	}
}

static void test_tcp4_segment(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "10.0.0.1", "10.0.0.2", 100);
	l += put_tcp(frame + 14, frame + l, PAYLOAD, 0x80 | 0x18 | 0x01); /* CWR PSH ACK FIN */
	init_pkt(&p, l, 34, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_true(lvs_io_kernel_can_offload(&p));
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	check_tcp_segments(n, 14, 34, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rd16(segs[i].data + 14 + 4), 100 + i); /* ids count up */
}

static void test_tcp6_segment(void **state)
{
	size_t l = put_eth(frame, 0x86dd);
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip6(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "fd00::1", "fd00::2");
	l += put_tcp(frame + 14, frame + l, PAYLOAD, 0x10 | 0x80);
	init_pkt(&p, l, 54, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_true(lvs_io_kernel_can_offload(&p));
	/* wrong family for the GSO type: the kernel would refuse it */
	p.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	assert_false(lvs_io_kernel_can_offload(&p));
	p.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		const uint8_t *t = segs[i].data + 54;
		uint32_t plen = i < n - 1 ? MSS : PAYLOAD - 3 * MSS;
		assert_int_equal(rd16(segs[i].data + 14 + 4), 32 + plen);
		assert_true(l4_ok(segs[i].data + 14, t, IPPROTO_TCP, 32 + plen));
		assert_int_equal(t[13], i == 0 ? 0x90 : 0x10);
	}
}

/*
 * A super-frame that lost its GSO fields (AF_XDP): taken for one at the
 * MTU's MSS, with its checksum field rewritten to the pseudo-header sum,
 * whatever it held (here a stale value, as a GRO'd frame's), and cut
 * into segments whose every checksum is right.
 */
static void test_gso_guess(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "10.0.0.1", "10.0.0.2", 100);
	l += put_tcp(frame + 14, frame + l, PAYLOAD, 0x80 | 0x18 | 0x01);
	wr16(frame + 34 + 16, 0x1234);
	lvs_pkt_init(&p, frame, sizeof(frame), 0, (uint32_t)l);
	p.flags = LVS_PKT_F_CSUM_UNKNOWN;
	p.ifindex = 7;
	/* within the MTU: nothing to guess */
	assert_false(lvs_io_sw_gso_guess(&p, (uint32_t)l - 14));
	assert_int_equal(p.gso_size, 0);
	assert_int_equal(rd16(frame + 34 + 16), 0x1234);
	assert_true(lvs_io_sw_gso_guess(&p, 20 + 32 + MSS));
	assert_int_equal(p.gso_size, MSS);
	assert_int_equal(p.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(p.flags, LVS_PKT_F_CSUM_PARTIAL);
	assert_int_equal(p.csum_start, 34);
	assert_int_equal(p.csum_offset, 16);
	assert_int_equal(rd16(frame + 34 + 16),
			 ref_sum(NULL, 0, ref_pseudo(frame + 14, IPPROTO_TCP, 32 + PAYLOAD)));
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	check_tcp_segments(n, 14, 34, true);

	/* IPv6 behind a VLAN tag */
	l = put_eth(frame, 0x8100);
	wr16(frame + 14, 5);
	wr16(frame + 16, 0x86dd);
	l = 18 + put_ip6(frame + 18, IPPROTO_TCP, 32 + PAYLOAD, "fd00::1", "fd00::2");
	l += put_tcp(frame + 18, frame + l, PAYLOAD, 0x10);
	wr16(frame + 58 + 16, 0);
	lvs_pkt_init(&p, frame, sizeof(frame), 0, (uint32_t)l);
	assert_true(lvs_io_sw_gso_guess(&p, 40 + 32 + 1000));
	assert_int_equal(p.gso_size, 1000);
	assert_int_equal(p.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(p.csum_start, 58);
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	assert_int_equal(n, (PAYLOAD + 999) / 1000);
	for (int i = 0; i < n; i++) {
		uint32_t plen = i < n - 1 ? 1000 : PAYLOAD - (uint32_t)(n - 1) * 1000;

		assert_int_equal(segs[i].len, 58 + 32 + plen);
		assert_true(l4_ok(segs[i].data + 18, segs[i].data + 58, IPPROTO_TCP, 32 + plen));
	}

	/* not TCP, or a fragment: left alone */
	l = put_eth(frame, 0x0800);
	l += put_ip4(frame + l, IPPROTO_UDP, 8 + PAYLOAD, "10.0.0.1", "10.0.0.2", 1);
	lvs_pkt_init(&p, frame, sizeof(frame), 0, (uint32_t)(l + 8 + PAYLOAD));
	assert_false(lvs_io_sw_gso_guess(&p, 1500));
	assert_int_equal(p.gso_size, 0);
	assert_int_equal(p.gso_type, 0);
	l = put_eth(frame, 0x0800);
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "10.0.0.1", "10.0.0.2", 1);
	l += put_tcp(frame + 14, frame + l, PAYLOAD, 0x10);
	frame[14 + 6] |= 0x20; /* more fragments */
	lvs_pkt_init(&p, frame, sizeof(frame), 0, (uint32_t)l);
	assert_false(lvs_io_sw_gso_guess(&p, 1500));
	assert_int_equal(p.gso_size, 0);
}

/* IPv4-in-IPv4 (ipip), outer header as xmit_tun writes it. */
static void test_ipip_segment(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_IPIP, 20 + 32 + PAYLOAD, "192.0.2.1", "192.0.2.9", 7);
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "10.0.0.1", "10.0.0.2", 300);
	l += put_tcp(frame + 34, frame + l, PAYLOAD, 0x18);
	init_pkt(&p, l, 54, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_false(lvs_io_kernel_can_offload(&p)); /* tunnelled: ours to segment */
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = segs[i].data;
		uint32_t plen = i < n - 1 ? MSS : PAYLOAD - 3 * MSS;
		assert_int_equal(rd16(d + 14 + 2), 20 + 20 + 32 + plen); /* outer */
		assert_int_equal(rd16(d + 34 + 2), 20 + 32 + plen);      /* inner */
		assert_int_equal(rd16(d + 14 + 4), 7 + i);
		assert_int_equal(rd16(d + 34 + 4), 300 + i);
		assert_int_equal(ref_sum(d + 14, 20, 0), 0xffff);
		assert_int_equal(ref_sum(d + 34, 20, 0), 0xffff);
		assert_true(l4_ok(d + 34, d + 54, IPPROTO_TCP, 32 + plen));
		assert_int_equal(d[54 + 13], i == n - 1 ? 0x18 : 0x10);
	}
}

/* IPv6-in-IPv6 over GUE (UDP, checksummed over IPv6) */
static void test_gue6_segment(void **state)
{
	size_t l = put_eth(frame, 0x86dd), udp, in;
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip6(frame + l, IPPROTO_UDP, 8 + 4 + 40 + 32 + PAYLOAD, "2001:db8::1",
		     "2001:db8::9");
	udp = l;
	memset(frame + l, 0, 12);
	wr16(frame + l, 45000);
	wr16(frame + l + 2, 6080);
	wr16(frame + l + 4, (uint16_t)(12 + 40 + 32 + PAYLOAD));
	wr16(frame + l + 6, 0x1234); /* stale: must be recomputed */
	frame[l + 9] = IPPROTO_IPV6;
	l += 12;
	in = l;
	l += put_ip6(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "fd00::1", "fd00::2");
	l += put_tcp(frame + in, frame + l, PAYLOAD, 0x10);
	init_pkt(&p, l, (uint32_t)(in + 40), VIRTIO_NET_HDR_GSO_TCPV6);
	assert_false(lvs_io_kernel_can_offload(&p));
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = segs[i].data;
		uint32_t plen = i < n - 1 ? MSS : PAYLOAD - 3 * MSS, ulen = 12 + 40 + 32 + plen;
		assert_int_equal(rd16(d + udp + 4), ulen);
		assert_true(l4_ok(d + 14, d + udp, IPPROTO_UDP, ulen));
		assert_true(l4_ok(d + in, d + in + 40, IPPROTO_TCP, 32 + plen));
	}
}

static void test_udp_l4_segment(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	uint8_t *u;
	struct lvs_pkt p;
	int n;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_UDP, 8 + 3000, "10.0.0.1", "10.0.0.2", 1);
	u = frame + l;
	memset(u, 0, 8);
	wr16(u, 5000);
	wr16(u + 2, 53);
	wr16(u + 4, 8 + 3000);
	for (int i = 0; i < 3000; i++)
		u[8 + i] = (uint8_t)i;
	l += 8 + 3000;
	lvs_pkt_init(&p, frame, sizeof(frame), 0, (uint32_t)l);
	p.flags = LVS_PKT_F_CSUM_PARTIAL;
	p.csum_start = 34;
	p.csum_offset = 6;
	p.gso_size = 1000;
	p.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_true(lvs_io_kernel_can_offload(&p));
	n = lvs_io_sw_segment(&p, out, sizeof(out), segs, 64);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = segs[i].data;
		assert_int_equal(rd16(d + 34 + 4), 1008);
		assert_true(l4_ok(d + 14, d + 34, IPPROTO_UDP, 1008));
		assert_memory_equal(d + 42, frame + 42 + i * 1000, 1000);
	}
}

static void test_segment_refuses(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	struct lvs_pkt p;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + PAYLOAD, "10.0.0.1", "10.0.0.2", 1);
	l += put_tcp(frame + 14, frame + l, PAYLOAD, 0x10);
	init_pkt(&p, l, 34, VIRTIO_NET_HDR_GSO_UDP); /* UFO */
	assert_int_equal(lvs_io_sw_segment(&p, out, sizeof(out), segs, 64), -EINVAL);
	init_pkt(&p, l, 34, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(lvs_io_sw_segment(&p, out, 3000, segs, 64), -ENOBUFS);
	assert_int_equal(lvs_io_sw_segment(&p, out, sizeof(out), segs, 2), -ENOBUFS);
	/* csum_start pointing into the IP header */
	init_pkt(&p, l, 20, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(lvs_io_sw_segment(&p, out, sizeof(out), segs, 64), -EINVAL);
	/* truncated frame */
	init_pkt(&p, 60, 34, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(lvs_io_sw_segment(&p, out, sizeof(out), segs, 64), -EINVAL);
}

static void test_sw_csum(void **state)
{
	size_t l = put_eth(frame, 0x0800);
	struct lvs_pkt p;

	(void)state;
	l += put_ip4(frame + l, IPPROTO_TCP, 32 + 100, "10.0.0.1", "10.0.0.2", 1);
	l += put_tcp(frame + 14, frame + l, 100, 0x18);
	memset(frame + l, 0xee, 6); /* Ethernet padding: not summed */
	init_pkt(&p, l + 6, 34, 0);
	p.gso_size = 0;
	assert_int_equal(lvs_io_sw_csum(&p), 0);
	assert_int_equal(p.flags & LVS_PKT_F_CSUM_PARTIAL, 0);
	assert_true(l4_ok(frame + 14, frame + 34, IPPROTO_TCP, 132));
	/* offsets outside the frame */
	init_pkt(&p, l, 34, 0);
	p.csum_offset = 200;
	assert_int_equal(lvs_io_sw_csum(&p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4_segment),
		cmocka_unit_test(test_tcp6_segment),
		cmocka_unit_test(test_gso_guess),
		cmocka_unit_test(test_ipip_segment),
		cmocka_unit_test(test_gue6_segment),
		cmocka_unit_test(test_udp_l4_segment),
		cmocka_unit_test(test_segment_refuses),
		cmocka_unit_test(test_sw_csum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
