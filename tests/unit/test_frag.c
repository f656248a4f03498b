/*
 * test_frag.c - the fragment table (frag.h): ports for later fragments,
 * holding out-of-order ones, duplicates, overlaps (kernel / RFC 5722),
 * RFC 1858 tiny fragments, timeouts, bounds, and IPv4 splitting.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "test_util.h"

#include "csum.h"
#include "frag.h"

#define SEC LVS_NS_PER_SEC
#define BUFSZ 12000

static struct lvs_drop_stats drops;
static uint64_t dropped;
static struct lvs_frag_table *ft;
static uint8_t buf[BUFSZ];
static struct lvs_pkt P;

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Build and parse an IPv4 (v6 false) or IPv6 fragment of datagram id:
 * payload bytes [off, off + len) of a UDP (or TCP) datagram from
 * 203.0.113.5:5000 to 10.0.0.1:53; the first fragment holds the L4
 * header. */
static struct lvs_pkt *frag(bool v6, uint8_t proto, uint32_t id, uint32_t off, uint32_t len,
			    bool more)
{
	uint8_t *d = buf + LVS_PKT_HEADROOM, *h = d + 14, *l4;
	uint32_t hl = v6 ? 48 : 20;

	memset(buf, 0, sizeof(buf));
	put16(d + 12, v6 ? 0x86dd : 0x0800);
	if (!v6) {
		union lvs_addr s = t_ip4("203.0.113.5"), t = t_ip4("10.0.0.1");
		uint16_t c;

		h[0] = 0x45;
		put16(h + 2, (uint16_t)(20 + len));
		put16(h + 4, (uint16_t)id);
		put16(h + 6, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
		h[8] = 64;
		h[9] = proto;
		memcpy(h + 12, &s.ip4, 4);
		memcpy(h + 16, &t.ip4, 4);
		c = lvs_ip4_hdr_csum(h, 20);
		memcpy(h + 10, &c, 2);
	} else {
		union lvs_addr s = t_ip6("fd00:20::5"), t = t_ip6("fd00::1");

		h[0] = 0x60;
		put16(h + 4, (uint16_t)(8 + len));
		h[6] = 44;
		h[7] = 64;
		memcpy(h + 8, s.b, 16);
		memcpy(h + 24, t.b, 16);
		h[40] = proto;
		put16(h + 42, (uint16_t)(off | (more ? 1 : 0)));
		h[44] = (uint8_t)(id >> 24);
		h[45] = (uint8_t)(id >> 16);
		h[46] = (uint8_t)(id >> 8);
		h[47] = (uint8_t)id;
	}
	l4 = h + hl;
	for (uint32_t i = 0; i < len; i++)
		l4[i] = (uint8_t)(off + i);
	if (off == 0) {
		put16(l4, 5000);
		put16(l4 + 2, 53);
		if (proto == IPPROTO_UDP) {
			put16(l4 + 4, 3980);
		} else {
			l4[12] = 0x50;
			l4[13] = 0x10;
		}
	}
	lvs_pkt_init(&P, buf, BUFSZ, LVS_PKT_HEADROOM, 14 + hl + len);
	assert_int_equal(lvs_pkt_parse(&P), LVS_DROP_NONE);
	assert_int_equal(P.pi.frag, off ? LVS_FRAG_LATER : more ? LVS_FRAG_FIRST : LVS_FRAG_NONE);
	return &P;
}

static enum lvs_frag_res in(struct lvs_pkt *p, lvs_time_t now, enum lvs_drop *why)
{
	*why = LVS_DROP_NONE;
	return lvs_frag_in(ft, p, now, why);
}

static int setup(void **st)
{
	(void)st;
	memset(&drops, 0, sizeof(drops));
	dropped = 0;
	ft = lvs_frag_new(&drops, &dropped);
	return ft ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	lvs_frag_free(ft);
	return 0;
}

static void in_order(void **st)
{
	enum lvs_drop why;
	struct lvs_pkt *p;
	(void)st;

	for (int v6 = 0; v6 < 2; v6++) {
		assert_int_equal(in(frag(v6, IPPROTO_UDP, 7, 0, 1480, true), 0, &why), LVS_FRAG_GO);
		assert_int_equal(lvs_frag_count(ft), 1);
		p = frag(v6, IPPROTO_UDP, 7, 1480, 1480, true);
		assert_int_equal(in(p, 0, &why), LVS_FRAG_GO);
		assert_int_equal(ntohs(p->pi.sport), 5000);
		assert_int_equal(ntohs(p->pi.dport), 53);
		p = frag(v6, IPPROTO_UDP, 7, 2960, 1040, false);
		assert_int_equal(in(p, 0, &why), LVS_FRAG_GO);
		assert_int_equal(ntohs(p->pi.dport), 53);
		/* complete: the context is gone */
		assert_int_equal(lvs_frag_count(ft), 0);
	}
	assert_int_equal(dropped, 0);
}

static void out_of_order(void **st)
{
	struct lvs_pkt *out[8];
	struct lvs_frag_stats s;
	enum lvs_drop why;
	(void)st;

	/* last, then middle, before the first: the director decides to hold */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 9, 2960, 1040, false), 0, &why), LVS_FRAG_NEW);
	assert_int_equal(lvs_frag_hold(ft, frag(false, IPPROTO_UDP, 9, 2960, 1040, false), 0, &why),
			 LVS_FRAG_HELD);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 9, 1480, 1480, true), 0, &why), LVS_FRAG_HELD);
	assert_int_equal(lvs_frag_slots_used(ft), 2);
	assert_int_equal(lvs_frag_take(ft, out, 8), 0);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 9, 0, 1480, true), 0, &why), LVS_FRAG_GO);
	assert_int_equal(lvs_frag_count(ft), 0);
	assert_int_equal(lvs_frag_take(ft, out, 8), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(out[i]->flags & LVS_PKT_F_FRAG_OWN);
		assert_int_equal(ntohs(out[i]->frag_dport), 53);
		/* a held frame runs again: it takes its ports, no range check */
		assert_int_equal(lvs_pkt_parse(out[i]), LVS_DROP_NONE);
		assert_int_equal(lvs_frag_in(ft, out[i], 0, &why), LVS_FRAG_GO);
		assert_int_equal(ntohs(out[i]->pi.sport), 5000);
	}
	lvs_frag_put_all(ft);
	assert_int_equal(lvs_frag_slots_used(ft), 0);
	lvs_frag_get_stats(ft, &s);
	assert_int_equal(s.held, 2);
	assert_int_equal(s.released, 2);
	assert_int_equal(s.completed, 1);
	assert_int_equal(dropped, 0);
}

static void duplicate(void **st)
{
	enum lvs_drop why;
	(void)st;

	assert_int_equal(in(frag(false, IPPROTO_UDP, 1, 0, 1480, true), 0, &why), LVS_FRAG_GO);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 1, 0, 1480, true), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_DUP);
	/* inside what came: a duplicate too (the kernel's IPFRAG_DUP) */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 1, 8, 800, true), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_DUP);
	/* the datagram goes on and completes */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 1, 1480, 100, false), 0, &why), LVS_FRAG_GO);
	assert_int_equal(lvs_frag_count(ft), 0);
}

static void overlap(void **st)
{
	struct lvs_pkt *out[4];
	enum lvs_drop why;
	(void)st;

	for (int v6 = 0; v6 < 2; v6++) {
		uint32_t id = 20 + (uint32_t)v6;

		memset(&drops, 0, sizeof(drops));
		dropped = 0;
		/* a held later fragment, then one overlapping it */
		assert_int_equal(in(frag(v6, IPPROTO_UDP, id, 1480, 1480, true), 0, &why),
				 LVS_FRAG_NEW);
		assert_int_equal(lvs_frag_hold(ft, &P, 0, &why), LVS_FRAG_HELD);
		assert_int_equal(in(frag(v6, IPPROTO_UDP, id, 2952, 800, false), 0, &why),
				 LVS_FRAG_DROP);
		assert_int_equal(why, LVS_DROP_FRAG_OVERLAP);
		/* the held one went with the datagram */
		assert_int_equal(lvs_frag_slots_used(ft), 0);
		assert_int_equal(drops.n[LVS_DROP_FRAG_BAD], 1);
		assert_int_equal(dropped, 1);
		/* and so does everything after, the first included */
		assert_int_equal(in(frag(v6, IPPROTO_UDP, id, 0, 1480, true), 0, &why),
				 LVS_FRAG_DROP);
		assert_int_equal(why, LVS_DROP_FRAG_BAD);
		assert_int_equal(lvs_frag_take(ft, out, 4), 0);
		/* until the context times out */
		assert_int_equal(lvs_frag_expire(ft, 61 * SEC), 1);
		assert_int_equal(in(frag(v6, IPPROTO_UDP, id, 0, 1480, true), 61 * SEC, &why),
				 LVS_FRAG_GO);
	}
}

static void bad_ends(void **st)
{
	enum lvs_drop why;
	(void)st;

	/* two last fragments that disagree */
	in(frag(false, IPPROTO_UDP, 30, 0, 1480, true), 0, &why);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 30, 2960, 100, false), 0, &why), LVS_FRAG_GO);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 30, 2960, 200, false), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_OVERLAP);
	/* data past the known end */
	in(frag(false, IPPROTO_UDP, 31, 0, 1480, true), 0, &why);
	in(frag(false, IPPROTO_UDP, 31, 4440, 100, false), 0, &why);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 31, 4544, 800, true), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_OVERLAP);
	/* a non-final IPv4 fragment not a multiple of 8 long */
	in(frag(false, IPPROTO_UDP, 32, 0, 1480, true), 0, &why);
	assert_int_equal(in(frag(false, IPPROTO_UDP, 32, 1480, 1001, true), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_IP4_FRAG);
}

static void tiny_tcp(void **st)
{
	enum lvs_drop why;
	(void)st;

	/* RFC 1858: offset 1 (8 bytes) would overwrite the TCP flags */
	assert_int_equal(in(frag(false, IPPROTO_TCP, 40, 8, 64, false), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_TINY);
	assert_int_equal(in(frag(true, IPPROTO_TCP, 40, 8, 64, false), 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_TINY);
	/* UDP at offset 8 is fine */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 40, 8, 64, false), 0, &why), LVS_FRAG_NEW);
}

static void timeouts(void **st)
{
	struct lvs_frag_stats s;
	enum lvs_drop why;
	(void)st;

	in(frag(false, IPPROTO_UDP, 50, 1480, 1480, true), 0, &why);
	assert_int_equal(lvs_frag_hold(ft, &P, 0, &why), LVS_FRAG_HELD);
	in(frag(true, IPPROTO_UDP, 51, 1480, 1480, true), 0, &why);
	assert_int_equal(lvs_frag_hold(ft, &P, 0, &why), LVS_FRAG_HELD);
	assert_int_equal(lvs_frag_expire(ft, 30 * SEC - 1), 0);
	assert_int_equal(lvs_frag_expire(ft, 30 * SEC), 1); /* ipfrag_time */
	assert_int_equal(drops.n[LVS_DROP_FRAG_TIMEOUT], 1);
	assert_int_equal(lvs_frag_expire(ft, 60 * SEC - 1), 0);
	assert_int_equal(lvs_frag_expire(ft, 60 * SEC), 1); /* IPv6 */
	assert_int_equal(drops.n[LVS_DROP_FRAG_TIMEOUT], 2);
	assert_int_equal(dropped, 2);
	assert_int_equal(lvs_frag_slots_used(ft), 0);
	lvs_frag_get_stats(ft, &s);
	assert_int_equal(s.expired, 2);
}

static void table_full(void **st)
{
	enum lvs_drop why;
	(void)st;

	for (uint32_t i = 0; i < LVS_FRAG_CTX_MAX; i++)
		assert_int_equal(in(frag(false, IPPROTO_UDP, i, 0, 1480, true), i, &why),
				 LVS_FRAG_GO);
	assert_int_equal(lvs_frag_count(ft), LVS_FRAG_CTX_MAX);
	/* the kernel takes no new datagram over its threshold */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 60000, 0, 1480, true), 10, &why),
			 LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_TABLE_FULL);
	/* once the oldest are due, they make room */
	assert_int_equal(in(frag(false, IPPROTO_UDP, 60000, 0, 1480, true), 30 * SEC, &why),
			 LVS_FRAG_GO);
	assert_int_equal(lvs_frag_count(ft), LVS_FRAG_CTX_MAX);
}

static void hold_full(void **st)
{
	enum lvs_drop why;
	(void)st;

	for (uint32_t i = 0; i < LVS_FRAG_SLOTS; i++) {
		in(frag(true, IPPROTO_UDP, 100 + i, 1480, 1480, true), 0, &why);
		assert_int_equal(lvs_frag_hold(ft, &P, 0, &why), LVS_FRAG_HELD);
	}
	in(frag(true, IPPROTO_UDP, 999, 1480, 1480, true), 0, &why);
	assert_int_equal(lvs_frag_hold(ft, &P, 0, &why), LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_HOLD_FULL);
}

static void holes(void **st)
{
	enum lvs_drop why;
	enum lvs_frag_res r = LVS_FRAG_GO;
	(void)st;

	in(frag(false, IPPROTO_UDP, 70, 0, 8, true), 0, &why);
	/* every other 8 bytes: a hole between each */
	for (uint32_t i = 1; i <= LVS_FRAG_RANGES; i++)
		r = in(frag(false, IPPROTO_UDP, 70, i * 16, 8, true), 0, &why);
	assert_int_equal(r, LVS_FRAG_DROP);
	assert_int_equal(why, LVS_DROP_FRAG_HOLES);
}

/* A whole IPv4 datagram cut to 1500: the pieces put back give it. */
static void split(void **st)
{
	struct lvs_pkt *out[8];
	uint8_t whole[4000];
	uint8_t got[4000];
	uint32_t have = 0;
	struct lvs_pkt *p;
	(void)st;

	/* a whole 4000-byte UDP datagram (no DF) to fit 1500 */
	p = frag(false, IPPROTO_UDP, 77, 0, 3980, false);
	memcpy(whole, p->data + 14, 4000);
	p->frag_mtu = 1500;
	assert_int_equal(lvs_frag_split(ft, p), 0);
	assert_int_equal(p->pi.frag, LVS_FRAG_FIRST);
	assert_int_equal(p->pi.l3_len, 1500);
	assert_int_equal(ntohs(p->pi.dport), 53);
	memcpy(got, p->data + 14 + 20, 1480);
	have += 1480;
	assert_int_equal(lvs_frag_take(ft, out, 8), 2);
	for (int i = 0; i < 2; i++) {
		const uint8_t *h = out[i]->data + 14;
		uint32_t off = (uint32_t)((h[6] & 0x1f) << 8 | h[7]) * 8;
		uint32_t len = (uint32_t)(h[2] << 8 | h[3]) - 20;

		assert_int_equal(out[i]->pi.frag, LVS_FRAG_LATER);
		assert_true(out[i]->flags & LVS_PKT_F_FRAG_OWN);
		assert_int_equal(ntohs(out[i]->frag_sport), 5000);
		assert_int_equal(!!(h[6] & 0x20), i == 0);
		assert_true(len <= 1480);
		memcpy(got + off, h + 20, len);
		have += len;
	}
	assert_int_equal(have, 3980);
	assert_memory_equal(got, whole + 20, 3980);
	lvs_frag_put_all(ft);
	/* DF or IPv6: not split */
	p = frag(true, IPPROTO_UDP, 78, 0, 3000, true);
	p->frag_mtu = 1500;
	assert_int_equal(lvs_frag_split(ft, p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(tiny_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(hold_full, setup, teardown),
		cmocka_unit_test_setup_teardown(holes, setup, teardown),
		cmocka_unit_test_setup_teardown(split, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
