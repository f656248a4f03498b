/*
 * pe_sip.c - the persistence engines' table and the SIP engine, as kernel
 * IPVS's ip_vs_pe.c and ip_vs_pe_sip.c.
 *
 * The SIP engine keys a UDP service's persistence templates on the SIP
 * Call-ID as well as on the client's network, so every datagram of one
 * call reaches the same real server whichever client port (or client of
 * the persistence netmask) sends it.  The Call-ID is found the way the
 * kernel finds it (nf_conntrack_sip.c's ct_sip_get_header with
 * SIP_HDR_CALL_ID, then ip_vs_pe_sip.c's get_callid):
 *   - a header is looked for only at the start of a line, i.e. after a
 *     CR, an LF or a CRLF, so never on the request or status line, and
 *     never on a continuation line (one starting with a space or tab);
 *   - its name is "Call-ID" in any case, or the compact "i" when the next
 *     character is not a letter; optional white space (also folded onto
 *     a continuation line) before and after the colon;
 *   - a name not followed by a colon ends the search (the kernel's
 *     `break`), an empty value resumes it after that point;
 *   - the value is a word, or word@word, of the kernel's word characters
 *     (iswordc: alphanumerics and ! " % ( ) * + - . / : < > ? [ \ ] _ ` {
 *     } ~ '), at most 255 bytes, and must be followed by CR or LF;
 *   - the whole datagram is searched (the body too), as the kernel does.
 * Letters are ASCII plus the Latin-1 ones, as the kernel's ctype table
 * has them.  Every read is bounded by the payload length: any byte string
 * is a valid input (tests/unit/test_pe_sip.c, fuzz/fuzz_director.c).
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "pe.h"
#include "pkt.h"

/* The kernel's isalpha() over its Latin-1 ctype table. */
static int k_isalpha(uint8_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return 1;
	return c >= 0xc0 && c != 0xd7 && c != 0xf7;
}

static int k_isalnum(uint8_t c)
{
	return k_isalpha(c) || (c >= '0' && c <= '9');
}

/* nf_conntrack_sip's iswordc(). */
static int sip_wordc(uint8_t c)
{
	if (k_isalnum(c))
		return 1;
	switch (c) {
	case '!': case '"': case '%': case '(': case ')': case '*': case '+':
	case ':': case '<': case '>': case '?': case '[': case '\\': case ']':
	case '_': case '`': case '{': case '}': case '~': case '-': case '.':
	case '/': case '\'':
		return 1;
	default:
		return 0;
	}
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

#define NOT_FOUND ((size_t)-1)

/* At a CR or LF at i: the start of the continuation line after it, past
 * its leading white space, or NOT_FOUND when the next line is not one. */
static size_t follow_continuation(const uint8_t *m, size_t i, size_t len)
{
	if (++i >= len)
		return NOT_FOUND;
	if (m[i - 1] == '\r' && m[i] == '\n' && ++i >= len)
		return NOT_FOUND;
	if (m[i] != ' ' && m[i] != '\t')
		return NOT_FOUND;
	while (i < len && (m[i] == ' ' || m[i] == '\t'))
		i++;
	return i;
}

/* Past spaces, tabs and a line fold; may return len, or NOT_FOUND when a
 * line ends without a fold. */
static size_t skip_ws(const uint8_t *m, size_t i, size_t len)
{
	for (; i < len; i++) {
		if (m[i] == ' ' || m[i] == '\t')
			continue;
		if (m[i] != '\r' && m[i] != '\n')
			break;
		return follow_continuation(m, i, len);
	}
	return i;
}

static size_t word_len(const uint8_t *m, size_t i, size_t len)
{
	size_t n = 0;

	while (i + n < len && sip_wordc(m[i + n]))
		n++;
	return n;
}

/* nf_conntrack_sip's callid_len(): word or word@word; 0 when "word@". */
static size_t callid_len(const uint8_t *m, size_t i, size_t len)
{
	size_t n = word_len(m, i, len), d;

	if (!n || i + n == len || m[i + n] != '@')
		return n;
	d = word_len(m, i + n + 1, len);
	return d ? n + 1 + d : 0;
}

/*
 * One search from `from`, as ct_sip_get_header: 1 with *off / *vlen set;
 * -1 with *off set when a header was found with an empty value (the
 * caller searches on); 0 when there is none.
 */
static int find_header(const uint8_t *m, size_t from, size_t len, size_t *off, size_t *vlen)
{
	static const char name[] = "call-id";
	const size_t nlen = sizeof(name) - 1;

	for (size_t i = from; i < len; i++) {
		size_t j;

		if (m[i] != '\r' && m[i] != '\n')
			continue;
		if (++i >= len)
			break;
		if (m[i - 1] == '\r' && m[i] == '\n' && ++i >= len)
			break;
		if (m[i] == ' ' || m[i] == '\t')
			continue; /* a continuation line is no header */

		j = 0;
		if (len - i >= nlen) {
			while (j < nlen && lower(m[i + j]) == (uint8_t)name[j])
				j++;
		}
		if (j == nlen)
			i += nlen;
		else if (len - i >= 2 && lower(m[i]) == 'i' && !k_isalpha(m[i + 1]))
			i += 1;
		else
			continue;

		i = skip_ws(m, i, len);
		if (i == NOT_FOUND || i >= len || m[i] != ':' || ++i >= len)
			break;
		i = skip_ws(m, i, len);
		if (i == NOT_FOUND)
			break;
		*off = i;
		*vlen = callid_len(m, i, len);
		return *vlen ? 1 : -1;
	}
	return 0;
}

int lvs_pe_sip_callid(const uint8_t *msg, size_t len, size_t *off, size_t *vlen)
{
	size_t from = 0, o = 0, n = 0;

	if (!msg)
		return -EINVAL;
	for (;;) {
		int r = find_header(msg, from, len, &o, &n);

		if (r > 0)
			break;
		if (r == 0)
			return -EINVAL;
		/* the kernel's "dataoff += *matchoff": the next search starts
		 * past the empty value, so the loop always moves on */
		from += o;
	}
	if (n > LVS_PE_DATA_MAX)
		return -EINVAL;
	/* a header always ends its line; CR alone or LF alone too (RFC 2543) */
	if (o + n == len || (msg[o + n] != '\r' && msg[o + n] != '\n'))
		return -EINVAL;
	*off = o;
	*vlen = n;
	return 0;
}

/* ip_vs_sip_fill_param on the UDP payload. */
static int sip_fill_param(const uint8_t *payload, size_t len, uint8_t *out)
{
	size_t off, n;

	if (!len || lvs_pe_sip_callid(payload, len, &off, &n))
		return -EINVAL;
	memcpy(out, payload + off, n);
	return (int)n;
}

static const struct lvs_pe_ops pe_table[LVS_PE__COUNT] = {
	[LVS_PE_NONE] = {.name = "", .fill_param = NULL},
	[LVS_PE_SIP] = {.name = "sip", .fill_param = sip_fill_param},
};

int lvs_pe_fill(unsigned pe, const struct lvs_pkt *p, uint8_t *out)
{
	const struct lvs_pe_ops *ops = lvs_pe_ops(pe);
	const struct lvs_pkt_info *pi = &p->pi;

	if (!ops || pi->proto != IPPROTO_UDP || !pi->l4_off || pi->l4_len <= 8)
		return -EINVAL;
	if ((size_t)pi->l4_off + pi->l4_len > p->len)
		return -EINVAL; /* the parser never lets this through */
	return ops->fill_param(p->data + pi->l4_off + 8, (size_t)pi->l4_len - 8, out);
}

int lvs_pe_by_name(const char *name)
{
	if (!name || !name[0])
		return LVS_PE_NONE;
	for (unsigned i = 1; i < LVS_PE__COUNT; i++)
		if (!strcmp(pe_table[i].name, name))
			return (int)i;
	return -ENOENT;
}

const struct lvs_pe_ops *lvs_pe_ops(unsigned pe)
{
	return pe > LVS_PE_NONE && pe < LVS_PE__COUNT ? &pe_table[pe] : NULL;
}

const char *lvs_pe_name(unsigned pe)
{
	return pe < LVS_PE__COUNT ? pe_table[pe].name : "";
}
