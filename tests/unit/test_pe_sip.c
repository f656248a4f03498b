/*
 * test_pe_sip.c - the SIP persistence engine's Call-ID extraction (kernel
 * ip_vs_pe_sip.c's get_callid over nf_conntrack_sip's ct_sip_get_header):
 * real INVITE, REGISTER, BYE and response messages (RFC 3261 / RFC 3665
 * examples), the compact form, any case, folded headers, bare CR or LF
 * line ends, and malformed input that must yield no Call-ID, including
 * every prefix of a message (reads stay inside the buffer: ASan run).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "pe.h"

/* The Call-ID of msg as a NUL-terminated string, or NULL. */
static const char *callid(const char *msg, char *buf)
{
	size_t off, n;

	if (lvs_pe_sip_callid((const uint8_t *)msg, strlen(msg), &off, &n))
		return NULL;
	memcpy(buf, msg + off, n);
	buf[n] = '\0';
	return buf;
}

static void expect_callid(const char *msg, const char *want)
{
	char buf[LVS_PE_DATA_MAX + 1];
	const char *got = callid(msg, buf);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static const char invite[] =
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 142\r\n"
	"\r\n"
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
	"s=-\r\n"
	"i=a session\r\n"
	"c=IN IP4 192.0.2.101\r\n"
	"t=0 0\r\n"
	"m=audio 49172 RTP/AVP 0\r\n";

static const char register_msg[] =
	"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
	"Call-ID: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1826 REGISTER\r\n"
	"Contact: <sip:bob@192.0.2.4>\r\n"
	"Expires: 7200\r\n"
	"Content-Length: 0\r\n\r\n";

static const char bye_compact[] =
	"BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
	"v: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
	"f: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
	"t: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"i: a84b4c76e66710\r\n"
	"CSeq: 231 BYE\r\n"
	"l: 0\r\n\r\n";

static const char response[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1\r\n"
	"To: Bob <sip:bob@biloxi.example.com>;tag=2493k59kd\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"call-id: 3848276298220188511@atlanta.example.com\r\n"
	"CSeq: 1 INVITE\r\n\r\n";

static void test_real_messages(void **state)
{
	(void)state;
	expect_callid(invite, "a84b4c76e66710@pc33.atlanta.example.com");
	expect_callid(register_msg, "843817637684230@998sdasdh09");
	expect_callid(bye_compact, "a84b4c76e66710");
	expect_callid(response, "3848276298220188511@atlanta.example.com");
	/* sipp's default Call-ID shape */
	expect_callid("OPTIONS sip:x SIP/2.0\r\nCall-ID: 1-4242@192.0.2.1\r\n\r\n",
		      "1-4242@192.0.2.1");
}

static void test_case_and_forms(void **state)
{
	(void)state;
	expect_callid("M x\r\nCALL-ID: abc\r\n", "abc");
	expect_callid("M x\r\ncAlL-iD:abc\r\n", "abc");
	expect_callid("M x\r\nI: abc\r\n", "abc");
	expect_callid("M x\r\ni:abc\r\n", "abc");
	expect_callid("M x\r\ni :abc\r\n", "abc");
	expect_callid("M x\r\nCall-ID\t:\tabc\r\n", "abc");
	/* word characters of every kind, and word@word */
	expect_callid("M x\r\nCall-ID: a!\"%()*+-./:<>?[\\]_`{}~'z@h.example\r\n",
		      "a!\"%()*+-./:<>?[\\]_`{}~'z@h.example");
	/* bare LF and bare CR line ends (RFC 2543) */
	expect_callid("M x\nCall-ID: lf-only\n\n", "lf-only");
	expect_callid("M x\rCall-ID: cr-only\r\r", "cr-only");
	/* the first of two Call-ID headers */
	expect_callid("M x\r\nCall-ID: one\r\nCall-ID: two\r\n", "one");
	/* Latin-1 letters count as word characters, as in the kernel */
	expect_callid("M x\r\nCall-ID: caf\xe9\r\n", "caf\xe9");
}

static void test_folded(void **state)
{
	(void)state;
	/* the value on a continuation line */
	expect_callid("M x\r\nCall-ID:\r\n   folded@host\r\n\r\n", "folded@host");
	expect_callid("M x\r\nCall-ID\r\n\t: folded2\r\n", "folded2");
	/* a continuation line is never a header of its own */
	expect_callid("M x\r\nSubject: hi\r\n Call-ID: nope\r\nCall-ID: yes\r\n", "yes");
	/* a fold that is not one: the line ends, no value */
	expect_callid("M x\r\nCall-ID:\r\nNext: a\r\n", NULL);
}

static void test_not_found(void **state)
{
	(void)state;
	/* not on the first line */
	expect_callid("Call-ID: first@line\r\n\r\n", NULL);
	/* other headers that look alike */
	expect_callid("M x\r\nCall-Info: <http://x>\r\n\r\n", NULL);
	expect_callid("M x\r\nIn-Reply-To: abc\r\n\r\n", NULL);
	/* a value that is not followed by a line end */
	expect_callid("M x\r\nCall-ID: abc", NULL);
	expect_callid("M x\r\nCall-ID: abc def\r\n", NULL);
	expect_callid("M x\r\nCall-ID: abc \r\n", NULL);
	expect_callid("M x\r\nCall-ID: abc;x\r\n", NULL);
	/* "word@" without a domain, and no colon (ends the search) */
	expect_callid("M x\r\nCall-ID: abc@\r\n", NULL);
	expect_callid("M x\r\nCall-ID abc\r\nCall-ID: late\r\n", NULL);
	/* the compact name followed by something else than a colon stops too,
	 * even before a real Call-ID (the kernel's break) */
	expect_callid("M x\r\ni-x: y\r\nCall-ID: late\r\n", NULL);
	/* an empty line after the colon (no fold) ends the search */
	expect_callid("M x\r\nCall-ID: \r\nCall-ID: second\r\n", NULL);
	/* a value without word characters: the search goes on after it */
	expect_callid("M x\r\nCall-ID: ;\r\ni: third\r\n", "third");
	/* empty, binary */
	expect_callid("", NULL);
	expect_callid("\r\n", NULL);
	expect_callid("\r\n\r\n\r\n", NULL);
	expect_callid("M x\r\nCall-ID:", NULL);
	expect_callid("M x\r\nCall-ID: ", NULL);
	expect_callid("M x\r\nCall-ID:\r", NULL);
	expect_callid("M x\r\nCall-ID:\r\n", NULL);
	expect_callid("M x\r\nCall-ID:\r\n ", NULL);
}

static void test_length_limit(void **state)
{
	char msg[600], want[300];

	(void)state;
	memset(want, 'a', 255);
	want[255] = '\0';
	snprintf(msg, sizeof(msg), "M x\r\nCall-ID: %s\r\n", want);
	expect_callid(msg, want);
	snprintf(msg, sizeof(msg), "M x\r\nCall-ID: %sb\r\n", want);
	expect_callid(msg, NULL); /* 256 bytes: too long to be of use */
}

/* Every prefix of every message, each in a buffer of exactly its size
 * (ASan catches a read past the end); no prefix may yield a value that
 * runs to the end of the buffer. */
static void test_prefixes(void **state)
{
	const char *msgs[] = {invite, register_msg, bye_compact, response};

	(void)state;
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]);

		for (size_t n = 0; n <= len; n++) {
			uint8_t *b = malloc(n ? n : 1);
			size_t off = 0, vlen = 0;

			assert_non_null(b);
			memcpy(b, msgs[m], n);
			if (!lvs_pe_sip_callid(b, n, &off, &vlen)) {
				assert_true(vlen > 0 && off + vlen < n);
				assert_true(b[off + vlen] == '\r' || b[off + vlen] == '\n');
			}
			free(b);
		}
	}
}

/* Pseudo-random bytes drawn from SIP's alphabet: bounded, no crash. */
static void test_random(void **state)
{
	static const char alpha[] = "Call-ID:i@ \t\r\n:abcxyz;";
	uint32_t x = 12345;
	uint8_t buf[64];

	(void)state;
	for (int r = 0; r < 20000; r++) {
		size_t n = (size_t)(r % 64), off, vlen;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)alpha[(x >> 16) % (sizeof(alpha) - 1)];
		}
		if (!lvs_pe_sip_callid(buf, n, &off, &vlen))
			assert_true(vlen > 0 && vlen <= LVS_PE_DATA_MAX && off + vlen < n);
	}
}

static void test_names(void **state)
{
	uint8_t out[LVS_PE_DATA_MAX];

	(void)state;
	assert_int_equal(lvs_pe_by_name("sip"), LVS_PE_SIP);
	assert_int_equal(lvs_pe_by_name(""), LVS_PE_NONE);
	assert_int_equal(lvs_pe_by_name(NULL), LVS_PE_NONE);
	assert_int_equal(lvs_pe_by_name("SIP"), -ENOENT);
	assert_int_equal(lvs_pe_by_name("ftp"), -ENOENT);
	assert_string_equal(lvs_pe_name(LVS_PE_SIP), "sip");
	assert_string_equal(lvs_pe_name(LVS_PE_NONE), "");
	assert_null(lvs_pe_ops(LVS_PE_NONE));
	assert_null(lvs_pe_ops(LVS_PE__COUNT));
	assert_int_equal(lvs_pe_ops(LVS_PE_SIP)->fill_param((const uint8_t *)bye_compact,
							    strlen(bye_compact), out),
			 14);
	assert_memory_equal(out, "a84b4c76e66710", 14);
	assert_int_equal(lvs_pe_ops(LVS_PE_SIP)->fill_param((const uint8_t *)"", 0, out),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_real_messages), cmocka_unit_test(test_case_and_forms),
	        cmocka_unit_test(test_folded),        cmocka_unit_test(test_not_found),
	        cmocka_unit_test(test_length_limit),  cmocka_unit_test(test_prefixes),
	        cmocka_unit_test(test_random),        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
