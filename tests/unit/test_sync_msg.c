/*
 * test_sync_msg.c - the IPVS sync v1 codec: byte layout against a
 * hand-written kernel-format entry, round trips (IPv4, IPv6, seq option,
 * PE data and name), filling a message to -ENOSPC, every drop reason, the
 * kernel's skip-an-entry cases, a corruption loop run on exact-size heap
 * copies (so ASan sees any read past the datagram), and tshark's `ipvs`
 * dissector reading what the encoder wrote.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "test_util.h"
#include "sync_msg.h"

#define MAXLEN 1472 /* sync_maxlen for MTU 1500 over IPv4 */

static struct sync_conn conn4(unsigned i)
{
	struct sync_conn c;
	char a[32];

	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.proto = IPPROTO_TCP;
	c.state = 1; /* IP_VS_TCP_S_ESTABLISHED */
	c.flags = SYNC_CONN_F_DROUTE;
	c.cport = htons((uint16_t)(40000 + i));
	c.vport = htons(80);
	c.dport = htons(8080);
	c.fwmark = i;
	c.timeout_s = 900;
	snprintf(a, sizeof(a), "203.0.113.%u", 1 + i % 250);
	c.caddr = t_ip4(a);
	c.vaddr = t_ip4("10.0.0.1");
	snprintf(a, sizeof(a), "192.168.10.%u", 1 + i % 3);
	c.daddr = t_ip4(a);
	return c;
}

static struct sync_conn conn6(unsigned i)
{
	struct sync_conn c;
	char a[64];

	memset(&c, 0, sizeof(c));
	c.af = AF_INET6;
	c.proto = IPPROTO_UDP;
	c.state = 0;
	c.flags = SYNC_CONN_F_MASQ | SYNC_CONN_F_INACTIVE;
	c.cport = htons((uint16_t)(50000 + i));
	c.vport = htons(53);
	c.dport = htons(5353);
	c.fwmark = 0x100 + i;
	c.timeout_s = 300;
	snprintf(a, sizeof(a), "fd00:20::%x", 5 + i);
	c.caddr = t_ip6(a);
	c.vaddr = t_ip6("fd00::1");
	c.daddr = t_ip6("fd00:10::2");
	return c;
}

static void add_seq(struct sync_conn *c)
{
	c->flags |= SYNC_CONN_F_IN_SEQ | SYNC_CONN_F_OUT_SEQ;
	c->has_seq = true;
	c->in_seq = (struct sync_seq){0x11223344, -7, 5};
	c->out_seq = (struct sync_seq){0xfffffff0, 123456, -2147483647 - 1};
}

static void add_pe(struct sync_conn *c, const char *callid)
{
	c->pe_data_len = (uint8_t)strlen(callid);
	memcpy(c->pe_data, callid, c->pe_data_len);
	strcpy(c->pe_name, "sip");
}

/* Collects what the parser hands over. */
struct got {
	unsigned n;
	struct sync_conn c[256];
	int stop_at; /* return nonzero on this call (1-based), 0: never */
};

static int collect(void *arg, const struct sync_conn *c)
{
	struct got *g = arg;

	assert_true(g->n < 256);
	g->c[g->n++] = *c;
	return g->stop_at && (int)g->n == g->stop_at;
}

/* Parse a heap copy of exactly len bytes, so ASan catches any over-read. */
static int parse_exact(const uint8_t *buf, size_t len, uint8_t syncid, struct got *g)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	if (g)
		g->n = 0;
	r = sync_msg_parse(copy, len, syncid, g ? collect : NULL, g);
	free(copy);
	return r;
}

static void assert_conn_eq(const struct sync_conn *a, const struct sync_conn *b)
{
	assert_int_equal(a->af, b->af);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->flags & ~SYNC_CONN_F_HASHED, b->flags);
	assert_int_equal(a->cport, b->cport);
	assert_int_equal(a->vport, b->vport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(a->timeout_s, b->timeout_s);
	assert_true(lvs_addr_eq(&a->caddr, &b->caddr));
	assert_true(lvs_addr_eq(&a->vaddr, &b->vaddr));
	assert_true(lvs_addr_eq(&a->daddr, &b->daddr));
	assert_int_equal(a->has_seq, b->has_seq);
	if (a->has_seq) {
		assert_memory_equal(&a->in_seq, &b->in_seq, sizeof(a->in_seq));
		assert_memory_equal(&a->out_seq, &b->out_seq, sizeof(a->out_seq));
	}
	assert_int_equal(a->pe_data_len, b->pe_data_len);
	assert_memory_equal(a->pe_data, b->pe_data, a->pe_data_len);
	assert_memory_equal(a->pe_name, b->pe_name, sizeof(a->pe_name));
}

static size_t build(uint8_t *buf, size_t cap, uint8_t syncid, const struct sync_conn *cs,
                    unsigned n)
{
	struct sync_msg_builder b;
	unsigned i;

	assert_int_equal(sync_msg_begin(&b, buf, cap, syncid), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(sync_msg_add(&b, &cs[i]), 0);
	return sync_msg_end(&b);
}

/* One IPv4 entry, byte for byte as the kernel lays out ip_vs_sync_mesg
 * and ip_vs_sync_v4. */
static void test_layout_v4(void **state)
{
	static const uint8_t want[] = {
	        0x00, 0x07, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x00, /* header: size 44, 1 conn */
	        0x00, 0x06, 0x00, 0x24,                         /* IPv4, TCP, ver 0 size 36 */
	        0x00, 0x00, 0x01, 0x03,                         /* flags: INACTIVE|DROUTE */
	        0x00, 0x01, 0x9c, 0x40,                         /* state 1, cport 40000 */
	        0x00, 0x50, 0x1f, 0x90,                         /* vport 80, dport 8080 */
	        0x00, 0x00, 0x00, 0x00,                         /* fwmark 0 */
	        0x00, 0x00, 0x03, 0x84,                         /* timeout 900 */
	        203,  0,    113,  1,    10,   0,    0,    1,    192, 168, 10, 1,
	};
	struct sync_conn c = conn4(0);
	uint8_t buf[MAXLEN];

	(void)state;
	c.flags |= SYNC_CONN_F_INACTIVE | SYNC_CONN_F_HASHED; /* HASHED is not sent */
	assert_int_equal(build(buf, sizeof(buf), 7, &c, 1), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* IPv6 with the seq option, PE data and PE name: option bytes and the
 * padding in front of the next entry. */
static void test_layout_options(void **state)
{
	struct sync_conn c[2] = {conn6(0), conn4(1)};
	uint8_t buf[MAXLEN];
	size_t len, e1 = SYNC_V6_LEN + 26 + 2 + 5 + 2 + 3; /* 110 */
	const uint8_t *o;

	(void)state;
	add_seq(&c[0]);
	add_pe(&c[0], "abcde");
	len = build(buf, sizeof(buf), 1, c, 2);
	assert_int_equal(len, SYNC_HDR_LEN + e1 + 2 + SYNC_V4_LEN); /* 2 bytes of padding */
	assert_int_equal(buf[8], 0x01);                             /* type: IPv6 bit */
	assert_int_equal(buf[10] << 8 | buf[11], e1);
	o = buf + 8 + SYNC_V6_LEN;
	assert_int_equal(o[0], 1); /* IPVS_OPT_SEQ_DATA */
	assert_int_equal(o[1], 24);
	assert_memory_equal(o + 2, "\x11\x22\x33\x44\xff\xff\xff\xf9\x00\x00\x00\x05", 12);
	assert_memory_equal(o + 14, "\xff\xff\xff\xf0\x00\x01\xe2\x40\x80\x00\x00\x00", 12);
	o += 26;
	assert_memory_equal(o,
	                    "\x02\x05"
	                    "abcde"
	                    "\x03\x03"
	                    "sip",
	                    12);
	assert_memory_equal(o + 12, "\0\0", 2);    /* padding */
	assert_int_equal((8 + e1 + 2) % 4, 0);     /* next entry aligned */
	assert_int_equal(buf[8 + e1 + 2 + 3], 36); /* its size */
}

static void test_roundtrip(void **state)
{
	struct sync_conn c[6] = {conn4(0), conn6(1), conn4(2), conn6(3), conn4(4), conn6(5)};
	static struct got g;
	uint8_t buf[MAXLEN];
	size_t len;
	unsigned i;

	(void)state;
	add_seq(&c[2]);
	add_seq(&c[3]);
	add_pe(&c[3], "a765@example.com"); /* entry sizes 62, 121, 46: padding 2, 3, 2 */
	add_pe(&c[4], "xyz");
	c[5].flags |= SYNC_CONN_F_TEMPLATE | SYNC_CONN_F_NO_CPORT | SYNC_CONN_F_HASHED;
	c[5].cport = 0;
	memcpy(c[5].pe_name, "sixteen-byte-pe!", 16); /* unterminated, full width */
	c[5].pe_data_len = 1;
	len = build(buf, sizeof(buf), 42, c, 6);
	assert_int_equal(parse_exact(buf, len, 42, &g), 6);
	assert_int_equal(g.n, 6);
	for (i = 0; i < 6; i++)
		assert_conn_eq(&c[i], &g.c[i]);
	/* syncid 0 on the receiver takes any syncid */
	assert_int_equal(parse_exact(buf, len, 0, &g), 6);
	/* and an empty message is well formed */
	len = build(buf, sizeof(buf), 42, c, 0);
	assert_int_equal(len, SYNC_HDR_LEN);
	assert_int_equal(parse_exact(buf, len, 42, &g), 0);
}

static void test_flags_facts(void **state)
{
	(void)state;
	assert_int_equal(SYNC_CONN_F_BACKUP_MASK, 0x1f87);
	assert_int_equal(sync_conn_backup_flags(SYNC_CONN_F_DROUTE | SYNC_CONN_F_HASHED |
	                                        SYNC_CONN_F_NFCT | SYNC_CONN_F_ONE_PACKET |
	                                        SYNC_CONN_F_TEMPLATE),
	                 SYNC_CONN_F_DROUTE | SYNC_CONN_F_TEMPLATE | SYNC_CONN_F_SYNC);
}

static void test_add_einval(void **state)
{
	struct sync_msg_builder b;
	uint8_t buf[MAXLEN];
	struct sync_conn c;

	(void)state;
	assert_int_equal(sync_msg_begin(&b, buf, SYNC_MSG_MIN_CAP - 1, 0), -EINVAL);
	assert_int_equal(sync_msg_begin(&b, buf, sizeof(buf), 0), 0);
	c = conn4(0);
	c.af = AF_UNIX;
	assert_int_equal(sync_msg_add(&b, &c), -EINVAL);
	c = conn4(0);
	c.flags |= SYNC_CONN_F_ONE_PACKET;
	assert_int_equal(sync_msg_add(&b, &c), -EINVAL);
	c = conn4(0);
	strcpy(c.pe_name, "sip");
	assert_int_equal(sync_msg_add(&b, &c), -EINVAL);
	c = conn4(0);
	c.pe_data_len = 4;
	assert_int_equal(sync_msg_add(&b, &c), -EINVAL);
	assert_int_equal(b.nr_conns, 0);
	assert_int_equal(sync_msg_end(&b), SYNC_HDR_LEN);
}

static void test_fill_enospc(void **state)
{
	static uint8_t big[65535], before[65535];
	struct sync_msg_builder b;
	static struct got g;
	struct sync_conn c;
	unsigned i;
	size_t len;

	(void)state;
	/* 1472 bytes hold 40 IPv4 entries of 36 bytes. */
	assert_int_equal(sync_msg_begin(&b, big, MAXLEN, 3), 0);
	for (i = 0;; i++) {
		c = conn4(i);
		if (sync_msg_add(&b, &c) == -ENOSPC)
			break;
		assert_true(i < 100);
	}
	assert_int_equal(i, 40);
	memcpy(before, big, b.len);
	len = b.len;
	c = conn6(0);
	assert_int_equal(sync_msg_add(&b, &c), -ENOSPC); /* unchanged on -ENOSPC */
	assert_int_equal(b.len, len);
	assert_memory_equal(big, before, len);
	len = sync_msg_end(&b);
	assert_int_equal(len, 8 + 40 * 36);
	assert_int_equal(parse_exact(big, len, 3, &g), 40);
	for (i = 0; i < 40; i++) {
		c = conn4(i);
		assert_conn_eq(&c, &g.c[i]);
	}

	/* A large sync_maxlen stops at 255 entries: nr_conns is one byte. */
	assert_int_equal(sync_msg_begin(&b, big, 70000, 3), 0);
	assert_int_equal(b.cap, 65535);
	for (i = 0; i < 255; i++) {
		c = conn4(i);
		assert_int_equal(sync_msg_add(&b, &c), 0);
	}
	assert_int_equal(sync_msg_add(&b, &c), -ENOSPC);
	len = sync_msg_end(&b);
	assert_int_equal(parse_exact(big, len, 3, &g), 255);
}

static void test_maxlen(void **state)
{
	(void)state;
	assert_int_equal(sync_maxlen_for_mtu(1500, false), 1472);
	assert_int_equal(sync_maxlen_for_mtu(1500, true), 1452);
	assert_int_equal(sync_maxlen_for_mtu(576, false), 1472); /* at least 1500 */
	assert_int_equal(sync_maxlen_for_mtu(9000, false), 8972);
	assert_int_equal(sync_maxlen_for_mtu(100000, false), 65507);
	assert_int_equal(sync_maxlen_configured(0, false, false), 1);
	assert_int_equal(sync_maxlen_configured(100, true, false), 1024);
	assert_int_equal(sync_maxlen_configured(2000, true, false), 2000);
	assert_int_equal(sync_maxlen_configured(65535, false, true), 65487);
}

/* A valid two-entry message to break in the drop tests. */
static size_t sample(uint8_t *buf)
{
	struct sync_conn c[2] = {conn4(0), conn6(1)};

	add_seq(&c[1]);
	add_pe(&c[1], "call-1");
	return build(buf, MAXLEN, 9, c, 2);
}

static void set_size(uint8_t *buf, size_t len)
{
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
}

#define E2 (8 + 36) /* offset of the second entry in sample() */

static void expect_drop(const uint8_t *buf, size_t len, uint8_t syncid, enum sync_drop r)
{
	static struct got g;

	assert_int_equal(parse_exact(buf, len, syncid, &g), -(int)r);
	assert_int_equal(g.n, 0); /* nothing handed over from a bad message */
}

static void test_drop_reasons(void **state)
{
	uint8_t ok[MAXLEN], m[MAXLEN + 8];
	size_t len = sample(ok);
	static struct got g;

	(void)state;
	assert_int_equal(parse_exact(ok, len, 9, &g), 2);

	expect_drop(ok, 3, 9, SYNC_DROP_SHORT);
	memcpy(m, "\x00\x09\x00\x06\x00\x01", 6); /* sized right, but no v1 header */
	expect_drop(m, 6, 9, SYNC_DROP_SHORT);
	expect_drop(ok, len - 1, 9, SYNC_DROP_SIZE);

	memcpy(m, ok, len);
	set_size(m, len + 4);
	memset(m + len, 0, 4);
	expect_drop(m, len + 4, 9, SYNC_DROP_TRAILING); /* the kernel would ignore these */
	expect_drop(ok, len, 10, SYNC_DROP_SYNCID);

	memcpy(m, ok, len);
	m[0] = 2; /* a v0 message: nr_conns in the first byte */
	expect_drop(m, len, 9, SYNC_DROP_V0);
	memcpy(m, ok, len);
	m[5] = 2;
	expect_drop(m, len, 9, SYNC_DROP_VERSION);
	memcpy(m, ok, len);
	m[7] = 1;
	expect_drop(m, len, 9, SYNC_DROP_VERSION);

	memcpy(m, ok, len);
	m[4] = 3; /* one entry more than there is */
	expect_drop(m, len, 9, SYNC_DROP_ENTRY_SHORT);
	memcpy(m, ok, E2 + 30); /* second entry cut below 36 bytes */
	set_size(m, E2 + 30);
	expect_drop(m, E2 + 30, 9, SYNC_DROP_ENTRY_SHORT);

	memcpy(m, ok, len);
	m[E2 + 3] += 1; /* second (last) entry one byte past the datagram */
	expect_drop(m, len, 9, SYNC_DROP_ENTRY_SIZE);
	memcpy(m, ok, len);
	m[E2 + 2] = 0;
	m[E2 + 3] = 36; /* IPv6 entry smaller than its addresses */
	expect_drop(m, len, 9, SYNC_DROP_ENTRY_SIZE);
	memcpy(m, ok, len);
	m[8 + 2] |= 0x10; /* entry version 1 */
	expect_drop(m, len, 9, SYNC_DROP_ENTRY_VERSION);
	memcpy(m, ok, len);
	m[8] = 2; /* tshark calls 2 IPv6; the kernel only looks at bit 0 */
	expect_drop(m, len, 9, SYNC_DROP_ENTRY_TYPE);

	/* options of the second entry: seq at +72, PE data at +98, name at +106 */
	memcpy(m, ok, len);
	m[E2 + 72 + 1] = 23; /* seq data of the wrong length */
	expect_drop(m, len, 9, SYNC_DROP_OPTION);
	memcpy(m, ok, len);
	m[E2 + 106] = 2; /* PE data twice */
	expect_drop(m, len, 9, SYNC_DROP_OPTION);
	memcpy(m, ok, len);
	m[E2 + 98 + 1] = 0; /* empty option */
	expect_drop(m, len, 9, SYNC_DROP_OPTION);
	memcpy(m, ok, len);
	m[E2 + 106 + 1] = 4; /* name runs past the entry */
	expect_drop(m, len, 9, SYNC_DROP_OPTION);
	memcpy(m, ok, len); /* one stray byte after the name: half an option header */
	m[E2 + 3] += 1;
	m[len] = 0;
	set_size(m, len + 1);
	expect_drop(m, len + 1, 9, SYNC_DROP_OPTION);
}

static void test_drop_name(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < SYNC_DROP__COUNT; i++) {
		assert_non_null(sync_drop_name(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(sync_drop_name(i), sync_drop_name(j));
	}
	assert_string_equal(sync_drop_name(SYNC_DROP_V0), "sync_v0_not_accepted");
	assert_string_equal(sync_drop_name(SYNC_DROP__COUNT), "unknown");
}

/* A message with one IPv4 entry carrying raw option bytes (length set). */
static size_t with_option(uint8_t *m, const uint8_t *opt, size_t olen)
{
	struct sync_conn c[2] = {conn4(0), conn4(1)};
	size_t len = build(m, MAXLEN, 9, c, 2), e1 = 36 + olen, pad = (4 - e1 % 4) % 4;

	/* move the second entry behind the new option and its padding */
	memmove(m + 8 + e1 + pad, m + 8 + 36, 36);
	memcpy(m + 8 + 36, opt, olen);
	memset(m + 8 + e1, 0, pad);
	m[8 + 3] = (uint8_t)e1;
	len += olen + pad;
	set_size(m, len);
	return len;
}

/* Entries the kernel skips while taking the rest of the message. */
static void test_skips(void **state)
{
	static struct got g;
	uint8_t m[MAXLEN];
	size_t len;

	(void)state;
	/* unknown mandatory option: the entry goes, the message stays */
	len = with_option(m, (const uint8_t *)"\x09\x02\xaa\xbb", 4);
	assert_int_equal(parse_exact(m, len, 9, &g), 1);
	assert_int_equal(g.c[0].cport, htons(40001));
	/* an unknown mandatory option ends the look at that entry: a broken
	 * option after it goes unnoticed, as in the kernel */
	len = with_option(m, (const uint8_t *)"\x09\x01\xaa\x01\x05", 5);
	assert_int_equal(parse_exact(m, len, 9, &g), 1);
	/* unknown optional option: skipped, entry kept */
	len = with_option(m, (const uint8_t *)"\x49\x02\xaa\xbb", 4);
	assert_int_equal(parse_exact(m, len, 9, &g), 2);
	assert_false(g.c[0].has_seq);
	/* a known type with the optional bit is still that type */
	len = with_option(m, (const uint8_t *)"\x43\x03sip", 5);
	assert_int_equal(parse_exact(m, len, 9, &g), 2);
	assert_string_equal(g.c[0].pe_name, ""); /* a name without data is ignored */
	/* PE data without a name: skipped */
	len = with_option(m,
	                  (const uint8_t *)"\x02\x03"
	                                   "abc",
	                  5);
	assert_int_equal(parse_exact(m, len, 9, &g), 1);
	/* the callback can stop the walk */
	len = sample(m);
	g.stop_at = 1;
	g.n = 0;
	assert_int_equal(sync_msg_parse(m, len, 9, collect, &g), -SYNC_DROP_CALLBACK);
	g.stop_at = 0;
	/* and a NULL callback only checks */
	assert_int_equal(sync_msg_parse(m, len, 9, NULL, NULL), 2);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Every truncation, every single-byte corruption (several values) and
 * random tails behind a valid header.  Any read past the datagram is an
 * ASan error in the sanitizer build; a truncated message or a changed
 * header size never parses, and neither does this message with a changed
 * entry size (in general one can: the kernel's format has no check that
 * would catch every such change).
 */
static void test_corruption(void **state)
{
	struct sync_conn c[4] = {conn4(0), conn6(1), conn4(2), conn6(3)};
	static const uint8_t xors[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
	uint8_t ok[MAXLEN], m[MAXLEN];
	static struct got g;
	size_t len, i, x, k, size_off[4];
	uint32_t seed = 0x2545f491;
	int r;

	(void)state;
	add_seq(&c[1]);
	add_pe(&c[1], "call-xyz");
	add_seq(&c[2]);
	add_pe(&c[3], "ab");
	len = build(ok, sizeof(ok), 5, c, 4);
	/* where the entries' ver_size fields are */
	for (i = 0, x = SYNC_HDR_LEN; i < 4; i++) {
		size_off[i] = x + 2;
		x = (x + (size_t)(ok[x + 2] << 8 | ok[x + 3]) + 3) & ~(size_t)3;
	}
	assert_int_equal(x, (len + 3) & ~(size_t)3);

	for (i = 0; i < len; i++) {
		assert_true(parse_exact(ok, i, 5, &g) < 0);
		assert_true(parse_exact(ok, i, 0, NULL) < 0);
	}
	for (i = 0; i < len; i++) {
		for (x = 0; x < sizeof(xors); x++) {
			memcpy(m, ok, len);
			m[i] ^= xors[x];
			r = parse_exact(m, len, 5, &g);
			if (i == 2 || i == 3)
				assert_int_equal(r, -SYNC_DROP_SIZE);
			/* with this message no entry size change parses */
			for (k = 0; k < 4; k++)
				if (i == size_off[k] || i == size_off[k] + 1)
					assert_true(r < 0);
			if (r >= 0) {
				assert_true((unsigned)r <= m[4]);
				assert_int_equal(g.n, (unsigned)r);
			}
		}
	}
	/* valid header, random entry bytes with sizes that often fit */
	for (i = 0; i < 20000; i++) {
		size_t n = 8 + rnd(&seed) % 300;

		for (k = 0; k < n; k++)
			m[k] = (uint8_t)rnd(&seed);
		memcpy(m, "\x00\x05\x00\x00\x01\x01\x00\x00", 8);
		m[4] = (uint8_t)(1 + rnd(&seed) % 4);
		set_size(m, n);
		if (n >= 8 + 4) {
			/* a valid type, version 0, a size near the share of
			 * the bytes left, so the option walk gets exercised */
			m[8] &= 1;
			m[8 + 2] = 0;
			m[8 + 3] = (uint8_t)((n - 8) / m[4] - rnd(&seed) % 3);
		}
		r = parse_exact(m, n, 5, &g);
		assert_true(r >= -SYNC_DROP__COUNT && r <= m[4]);
	}
}

/* ---- tshark ---- */

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet/IPv4/UDP 192.0.2.1:8848 -> 224.0.0.81:8848 around a message. */
static size_t frame(uint8_t *f, const uint8_t *msg, size_t len)
{
	static const uint8_t eth[] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x51, 0x02,
	                              0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00};
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t s = 0;
	int k;

	memcpy(f, eth, 14);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16be(ip + 2, (uint16_t)(20 + 8 + len));
	ip[8] = 1;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, "\xc0\x00\x02\x01\xe0\x00\x00\x51", 8);
	for (k = 0; k < 20; k += 2)
		s += (uint32_t)(ip[k] << 8 | ip[k + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	put16be(ip + 10, (uint16_t)~s);
	put16be(udp, SYNC_PORT);
	put16be(udp + 2, SYNC_PORT);
	put16be(udp + 4, (uint16_t)(8 + len));
	put16be(udp + 6, 0); /* no checksum (IPv4) */
	memcpy(udp + 8, msg, len);
	return 14 + 20 + 8 + len;
}

static const char *const ts_fields[] = {
        "ipvs.syncid", "ipvs.conncount", "ipvs.size",     "ipvs.version", "ipvs.type",
        "ipvs.proto",  "ipvs.size.v1",   "ipvs.flags.v1", "ipvs.state",   "ipvs.cport",
        "ipvs.vport",  "ipvs.dport",     "ipvs.fwmark",   "ipvs.timeout", "ipvs.caddr",
        "ipvs.vaddr",  "ipvs.daddr",     "ipvs.caddr6",   "ipvs.vaddr6",  "ipvs.daddr6",
};
#define TS_NF (sizeof(ts_fields) / sizeof(ts_fields[0]))

/* One field of one tshark line (fields tab-separated, occurrences
 * comma-separated); copies it into out. */
static const char *ts_field(const char *line, const char *name, char *out, size_t cap)
{
	size_t f, n;
	const char *p = line, *e;

	for (f = 0; strcmp(ts_fields[f], name); f++)
		assert_true(f + 1 < TS_NF);
	for (n = 0; n < f; n++) {
		p = strchr(p, '\t');
		assert_non_null(p);
		p++;
	}
	e = strpbrk(p, "\t\n");
	n = e ? (size_t)(e - p) : strlen(p);
	assert_true(n < cap);
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

/*
 * tshark 4.0's dissector reads the v1 header and each entry's fixed part
 * (36 or 72 bytes) but steps over neither options nor padding, so an
 * entry after one with options is misread: the options-carrying entry is
 * put last here, where its own fields still decode.
 */
static void test_tshark(void **state)
{
	struct sync_conn a[3] = {conn4(0), conn6(1), conn4(2)}, b[2] = {conn4(7), conn6(8)};
	char path[] = "/tmp/test_sync_msg_XXXXXX", cmd[1024], line[4096], v[1024];
	uint8_t msg[MAXLEN], fr[MAXLEN + 64];
	uint32_t rec[4] = {1700000000, 0, 0, 0};
	uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	size_t len, flen, k;
	FILE *f, *p;
	int fd;

	(void)state;
	if (system("command -v tshark >/dev/null 2>&1") != 0)
		skip();
	add_seq(&b[1]);
	add_pe(&b[1], "call-7");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	fwrite(gh, sizeof(gh), 1, f);
	len = build(msg, sizeof(msg), 77, a, 3);
	flen = frame(fr, msg, len);
	rec[2] = rec[3] = (uint32_t)flen;
	fwrite(rec, sizeof(rec), 1, f);
	fwrite(fr, flen, 1, f);
	len = build(msg, sizeof(msg), 78, b, 2);
	flen = frame(fr, msg, len);
	rec[2] = rec[3] = (uint32_t)flen;
	fwrite(rec, sizeof(rec), 1, f);
	fwrite(fr, flen, 1, f);
	assert_int_equal(fclose(f), 0);

	k = (size_t)snprintf(cmd, sizeof(cmd),
	                     "tshark -n -r %s -T fields -E separator=/t -E occurrence=a "
	                     "-E aggregator=, 2>/dev/null",
	                     path);
	for (size_t i = 0; i < TS_NF; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " -e %s", ts_fields[i]);
	assert_true(k < sizeof(cmd));
	p = popen(cmd, "r");
	assert_non_null(p);

	/* frame 1: three entries, no options */
	assert_non_null(fgets(line, sizeof(line), p));
	assert_string_equal(ts_field(line, "ipvs.syncid", v, sizeof(v)), "77");
	assert_string_equal(ts_field(line, "ipvs.conncount", v, sizeof(v)), "3");
	assert_string_equal(ts_field(line, "ipvs.size", v, sizeof(v)), "152");
	assert_string_equal(ts_field(line, "ipvs.version", v, sizeof(v)), "1");
	assert_string_equal(ts_field(line, "ipvs.type", v, sizeof(v)), "0,1,0");
	assert_string_equal(ts_field(line, "ipvs.proto", v, sizeof(v)), "0x06,0x11,0x06");
	assert_string_equal(ts_field(line, "ipvs.size.v1", v, sizeof(v)), "36,72,36");
	assert_string_equal(ts_field(line, "ipvs.flags.v1", v, sizeof(v)),
	                    "0x00000003,0x00000100,0x00000003");
	assert_string_equal(ts_field(line, "ipvs.cport", v, sizeof(v)), "40000,50001,40002");
	assert_string_equal(ts_field(line, "ipvs.vport", v, sizeof(v)), "80,53,80");
	assert_string_equal(ts_field(line, "ipvs.dport", v, sizeof(v)), "8080,5353,8080");
	assert_string_equal(ts_field(line, "ipvs.fwmark", v, sizeof(v)),
	                    "0x00000000,0x00000101,0x00000002");
	assert_string_equal(ts_field(line, "ipvs.timeout", v, sizeof(v)), "900,300,900");
	assert_string_equal(ts_field(line, "ipvs.caddr", v, sizeof(v)), "203.0.113.1,203.0.113.3");
	assert_string_equal(ts_field(line, "ipvs.vaddr", v, sizeof(v)), "10.0.0.1,10.0.0.1");
	assert_string_equal(ts_field(line, "ipvs.daddr", v, sizeof(v)),
	                    "192.168.10.1,192.168.10.3");
	assert_string_equal(ts_field(line, "ipvs.caddr6", v, sizeof(v)), "fd00:20::6");
	assert_string_equal(ts_field(line, "ipvs.vaddr6", v, sizeof(v)), "fd00::1");
	assert_string_equal(ts_field(line, "ipvs.daddr6", v, sizeof(v)), "fd00:10::2");

	/* frame 2: the last entry has seq, PE data and PE name */
	assert_non_null(fgets(line, sizeof(line), p));
	assert_string_equal(ts_field(line, "ipvs.syncid", v, sizeof(v)), "78");
	assert_string_equal(ts_field(line, "ipvs.conncount", v, sizeof(v)), "2");
	assert_string_equal(ts_field(line, "ipvs.size.v1", v, sizeof(v)), "36,111");
	assert_string_equal(ts_field(line, "ipvs.flags.v1", v, sizeof(v)), "0x00000003,0x00000700");
	assert_string_equal(ts_field(line, "ipvs.cport", v, sizeof(v)), "40007,50008");
	assert_string_equal(ts_field(line, "ipvs.caddr", v, sizeof(v)), "203.0.113.8");
	assert_string_equal(ts_field(line, "ipvs.daddr", v, sizeof(v)), "192.168.10.2");
	assert_string_equal(ts_field(line, "ipvs.caddr6", v, sizeof(v)), "fd00:20::d");
	assert_string_equal(ts_field(line, "ipvs.daddr6", v, sizeof(v)), "fd00:10::2");
	assert_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_layout_v4),  cmocka_unit_test(test_layout_options),
	        cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_flags_facts),
	        cmocka_unit_test(test_add_einval), cmocka_unit_test(test_fill_enospc),
	        cmocka_unit_test(test_maxlen),     cmocka_unit_test(test_drop_reasons),
	        cmocka_unit_test(test_drop_name),  cmocka_unit_test(test_skips),
	        cmocka_unit_test(test_corruption), cmocka_unit_test(test_tshark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
