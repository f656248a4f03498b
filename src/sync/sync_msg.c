/*
 * sync_msg.c - IPVS sync protocol v1 messages to and from byte buffers
 * (see sync_msg.h), laid out as the kernel's ip_vs_sync.c lays them out:
 *
 *   message: reserved=0 syncid size(be16) nr_conns version=1 spare(2)=0
 *   entry:   type protocol ver_size(be16: version<<12 | size) flags(be32)
 *            state(be16) cport vport dport fwmark(be32) timeout(be32)
 *            caddr vaddr daddr (4 or 16 bytes each), then options
 *   option:  type(1) length(1) data, length never 0
 *
 * Entries start 4-byte aligned from the message start: the kernel puts
 * zero bytes before an entry when the previous one ended unaligned (never
 * after the last), counts them in the message size but not in the entry
 * size, and its receiver steps from entry to entry by the entry size
 * rounded up to 4.
 *
 * The parser takes untrusted input: every length is checked against the
 * bytes actually there before it is used, and nothing is handed on until
 * the whole datagram has been found well formed.  It drops and keeps
 * going as the kernel's receiver (ip_vs_process_message and
 * ip_vs_proc_sync_conn) does, with one difference: the kernel ignores
 * bytes after the last of nr_conns entries, lvsd drops such a message.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sync_msg.h"

/* Entry type bits and the version nibble of ver_size. */
#define STYPE_F_INET6 0x01
#define SVER_SHIFT    12
#define SVER_MASK     0x0fff

/* Option types; a type with OPT_F_OPTIONAL set may be skipped by a
 * receiver that does not know it, any other unknown type makes the
 * receiver drop the entry. */
#define OPT_SEQ_DATA   1
#define OPT_PE_DATA    2
#define OPT_PE_NAME    3
#define OPT_F_OPTIONAL 0x40

/* Offsets in the header and the entry. */
#define H_RESERVED 0
#define H_SYNCID   1
#define H_SIZE     2
#define H_NR_CONNS 4
#define H_VERSION  5
#define H_SPARE    6
#define E_TYPE     0
#define E_PROTO    1
#define E_VER_SIZE 2
#define E_FLAGS    4
#define E_STATE    8
#define E_CPORT    10
#define E_VPORT    12
#define E_DPORT    14
#define E_FWMARK   16
#define E_TIMEOUT  20
#define E_ADDRS    24

_Static_assert(H_SPARE + 2 == SYNC_HDR_LEN, "v1 header is 8 bytes");
_Static_assert(E_ADDRS == SYNC_ENTRY_FIXED, "fixed part of an entry is 24 bytes");
_Static_assert(SYNC_V4_LEN == 36 && SYNC_V6_LEN == 72, "kernel ip_vs_sync_v4/v6 sizes");
_Static_assert(SYNC_SEQ_DATA_LEN == 2 * 3 * 4, "two ip_vs_seq of three 32-bit words");
_Static_assert(SYNC_ENTRY_MAX <= SVER_MASK, "any entry fits the 12-bit size");
_Static_assert(SYNC_PE_NAME_MAX == sizeof(((struct sync_conn *)0)->pe_name), "pe_name size");
_Static_assert(SYNC_PE_DATA_MAX == sizeof(((struct sync_conn *)0)->pe_data), "pe_data size");

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *const sync_drop_names[SYNC_DROP__COUNT] = {
#define SYNC_DROP_NAME(n, s) [SYNC_DROP_##n] = s,
        SYNC_DROP_REASONS(SYNC_DROP_NAME)
#undef SYNC_DROP_NAME
};

const char *sync_drop_name(enum sync_drop r)
{
	if ((unsigned)r >= SYNC_DROP__COUNT)
		return "unknown";
	return sync_drop_names[r];
}

/* ---- building ---- */

int sync_msg_begin(struct sync_msg_builder *b, uint8_t *buf, size_t cap, uint8_t syncid)
{
	if (!buf || cap < SYNC_MSG_MIN_CAP)
		return -EINVAL;
	b->buf = buf;
	b->cap = cap > 0xffff ? 0xffff : cap;
	b->len = SYNC_HDR_LEN;
	b->nr_conns = 0;
	b->syncid = syncid;
	memset(buf, 0, SYNC_HDR_LEN);
	return 0;
}

static size_t pe_name_len(const struct sync_conn *c)
{
	return strnlen(c->pe_name, SYNC_PE_NAME_MAX);
}

/* Bytes the entry takes, without padding; 0 for an entry not to be sent. */
static size_t entry_len(const struct sync_conn *c)
{
	size_t len, name_len = pe_name_len(c);

	if (c->af == AF_INET)
		len = SYNC_V4_LEN;
	else if (c->af == AF_INET6)
		len = SYNC_V6_LEN;
	else
		return 0;
	/* The kernel never sends one-packet connections (nothing to keep), and
	 * a backup throws away PE data it cannot give to an engine by name. */
	if (c->flags & SYNC_CONN_F_ONE_PACKET)
		return 0;
	if (!c->pe_data_len != !name_len)
		return 0;
	if (c->has_seq)
		len += SYNC_OPT_HDR_LEN + SYNC_SEQ_DATA_LEN;
	if (c->pe_data_len)
		len += SYNC_OPT_HDR_LEN + c->pe_data_len + SYNC_OPT_HDR_LEN + name_len;
	return len;
}

static void put_seq(uint8_t *p, const struct sync_seq *s)
{
	put32(p, s->init_seq);
	put32(p + 4, (uint32_t)s->delta);
	put32(p + 8, (uint32_t)s->previous_delta);
}

int sync_msg_add(struct sync_msg_builder *b, const struct sync_conn *c)
{
	size_t len = entry_len(c), alen = c->af == AF_INET ? 4 : 16;
	size_t pad = (4 - (b->len & 3)) & 3;
	uint8_t *p;

	if (!len)
		return -EINVAL;
	/* nr_conns is 8 bits.  The kernel never reaches 255 entries with its
	 * default 1472-byte messages (36 bytes is the smallest entry). */
	if (b->nr_conns == UINT8_MAX || b->len + pad + len > b->cap)
		return -ENOSPC;

	p = b->buf + b->len;
	memset(p, 0, pad);
	p += pad;
	p[E_TYPE] = c->af == AF_INET6 ? STYPE_F_INET6 : 0;
	p[E_PROTO] = c->proto;
	put16(p + E_VER_SIZE, (uint16_t)len); /* entry format version 0 */
	put32(p + E_FLAGS, c->flags & ~SYNC_CONN_F_HASHED);
	put16(p + E_STATE, c->state);
	memcpy(p + E_CPORT, &c->cport, 2);
	memcpy(p + E_VPORT, &c->vport, 2);
	memcpy(p + E_DPORT, &c->dport, 2);
	put32(p + E_FWMARK, c->fwmark);
	put32(p + E_TIMEOUT, c->timeout_s);
	memcpy(p + E_ADDRS, c->caddr.b, alen);
	memcpy(p + E_ADDRS + alen, c->vaddr.b, alen);
	memcpy(p + E_ADDRS + 2 * alen, c->daddr.b, alen);
	p += E_ADDRS + 3 * alen;

	/* Options in the kernel's order: seq, PE data, PE name. */
	if (c->has_seq) {
		*p++ = OPT_SEQ_DATA;
		*p++ = SYNC_SEQ_DATA_LEN;
		put_seq(p, &c->in_seq);
		put_seq(p + 12, &c->out_seq);
		p += SYNC_SEQ_DATA_LEN;
	}
	if (c->pe_data_len) {
		size_t name_len = pe_name_len(c);

		*p++ = OPT_PE_DATA;
		*p++ = c->pe_data_len;
		memcpy(p, c->pe_data, c->pe_data_len);
		p += c->pe_data_len;
		*p++ = OPT_PE_NAME;
		*p++ = (uint8_t)name_len;
		memcpy(p, c->pe_name, name_len);
	}

	b->len += pad + len;
	b->nr_conns++;
	return 0;
}

size_t sync_msg_end(struct sync_msg_builder *b)
{
	uint8_t *h = b->buf;

	h[H_RESERVED] = 0; /* a v0 receiver reads this as nr_conns 0: ignored */
	h[H_SYNCID] = b->syncid;
	put16(h + H_SIZE, (uint16_t)b->len);
	h[H_NR_CONNS] = b->nr_conns;
	h[H_VERSION] = SYNC_PROTO_VER;
	h[H_SPARE] = h[H_SPARE + 1] = 0;
	return b->len;
}

/* ---- parsing ---- */

/* Options of one entry, p..end.  0 with c filled in; 1 when the kernel
 * would skip the entry and keep reading the message; or -(enum sync_drop). */
static int parse_options(const uint8_t *p, const uint8_t *end, struct sync_conn *c)
{
	bool seen_seq = false, seen_data = false, seen_name = false;

	while (p < end) {
		unsigned type, olen;

		if (end - p < SYNC_OPT_HDR_LEN)
			return -SYNC_DROP_OPTION;
		type = p[0];
		olen = p[1];
		p += SYNC_OPT_HDR_LEN;
		if (!olen || (size_t)(end - p) < olen)
			return -SYNC_DROP_OPTION;

		/* The optional bit does not hide a known type. */
		switch (type & ~OPT_F_OPTIONAL) {
		case OPT_SEQ_DATA:
			if (olen != SYNC_SEQ_DATA_LEN || seen_seq)
				return -SYNC_DROP_OPTION;
			seen_seq = true;
			c->has_seq = true;
			c->in_seq.init_seq = get32(p);
			c->in_seq.delta = (int32_t)get32(p + 4);
			c->in_seq.previous_delta = (int32_t)get32(p + 8);
			c->out_seq.init_seq = get32(p + 12);
			c->out_seq.delta = (int32_t)get32(p + 16);
			c->out_seq.previous_delta = (int32_t)get32(p + 20);
			break;
		case OPT_PE_DATA:
			/* olen is at most 255 == SYNC_PE_DATA_MAX by its width */
			if (seen_data)
				return -SYNC_DROP_OPTION;
			seen_data = true;
			c->pe_data_len = (uint8_t)olen;
			memcpy(c->pe_data, p, olen);
			break;
		case OPT_PE_NAME:
			if (olen > SYNC_PE_NAME_MAX || seen_name)
				return -SYNC_DROP_OPTION;
			seen_name = true;
			memcpy(c->pe_name, p, olen);
			break;
		default:
			/* The kernel stops at an unknown mandatory option and
			 * skips the entry without looking at what follows. */
			if (!(type & OPT_F_OPTIONAL))
				return 1;
			break;
		}
		p += olen;
	}

	/* PE data is only of use with the name of the engine that reads it;
	 * a name alone is ignored. */
	if (seen_data && !seen_name)
		return 1;
	if (!seen_data)
		memset(c->pe_name, 0, sizeof(c->pe_name));
	return 0;
}

/* One entry at buf[off..]; *next gets the offset after it, unpadded.
 * 0 with c filled in, 1 to skip, or -(enum sync_drop). */
static int parse_entry(const uint8_t *buf, size_t len, size_t off, size_t *next,
                       struct sync_conn *c)
{
	const uint8_t *p = buf + off;
	size_t size, fixed, alen;
	uint16_t ver_size;

	/* As the kernel: the IPv4 entry's bytes must be there to read the
	 * size, which must then lie within the datagram. */
	if (len - off < SYNC_V4_LEN)
		return -SYNC_DROP_ENTRY_SHORT;
	ver_size = get16(p + E_VER_SIZE);
	size = ver_size & SVER_MASK;
	if (size > len - off)
		return -SYNC_DROP_ENTRY_SIZE;
	if (ver_size >> SVER_SHIFT)
		return -SYNC_DROP_ENTRY_VERSION;
	/* The kernel takes any type with the IPv6 bit as IPv6. */
	if (p[E_TYPE] & STYPE_F_INET6) {
		c->af = AF_INET6;
		alen = 16;
	} else if (p[E_TYPE] == 0) {
		c->af = AF_INET;
		alen = 4;
	} else {
		return -SYNC_DROP_ENTRY_TYPE;
	}
	fixed = E_ADDRS + 3 * alen;
	if (size < fixed)
		return -SYNC_DROP_ENTRY_SIZE;
	*next = off + size;

	c->proto = p[E_PROTO];
	c->flags = get32(p + E_FLAGS);
	c->state = get16(p + E_STATE);
	memcpy(&c->cport, p + E_CPORT, 2);
	memcpy(&c->vport, p + E_VPORT, 2);
	memcpy(&c->dport, p + E_DPORT, 2);
	c->fwmark = get32(p + E_FWMARK);
	c->timeout_s = get32(p + E_TIMEOUT);
	memcpy(c->caddr.b, p + E_ADDRS, alen);
	memcpy(c->vaddr.b, p + E_ADDRS + alen, alen);
	memcpy(c->daddr.b, p + E_ADDRS + 2 * alen, alen);
	return parse_options(p + fixed, p + size, c);
}

/* Walk nr entries; hand them to cb when deliver.  Count or -(sync_drop). */
static int parse_entries(const uint8_t *buf, size_t len, unsigned nr, bool deliver,
                         int (*cb)(void *arg, const struct sync_conn *c), void *arg)
{
	size_t off = SYNC_HDR_LEN, end = SYNC_HDR_LEN;
	struct sync_conn c;
	int n = 0, ret;
	unsigned i;

	for (i = 0; i < nr; i++) {
		/* The next entry starts where the last one's size, rounded up
		 * to 4, ends; padding past the datagram is caught here. */
		off = (end + 3) & ~(size_t)3;
		if (off > len)
			return -SYNC_DROP_ENTRY_SHORT;
		memset(&c, 0, sizeof(c));
		ret = parse_entry(buf, len, off, &end, &c);
		if (ret < 0)
			return ret;
		if (ret > 0)
			continue;
		if (deliver && cb(arg, &c))
			return -SYNC_DROP_CALLBACK;
		n++;
	}
	if (end != len)
		return -SYNC_DROP_TRAILING;
	return n;
}

int sync_msg_parse(const uint8_t *buf, size_t len, uint8_t want_syncid,
                   int (*cb)(void *arg, const struct sync_conn *c), void *arg)
{
	int n;

	/* The kernel's order: the v0 header's 4 bytes, the size, the syncid,
	 * then which version (v1 needs reserved, spare 0 and version 1). */
	if (!buf || len < 4)
		return -SYNC_DROP_SHORT;
	if (get16(buf + H_SIZE) != len)
		return -SYNC_DROP_SIZE;
	if (want_syncid && buf[H_SYNCID] != want_syncid)
		return -SYNC_DROP_SYNCID;
	if (buf[H_RESERVED])
		return -SYNC_DROP_V0;
	if (len < SYNC_HDR_LEN)
		return -SYNC_DROP_SHORT;
	if (buf[H_VERSION] != SYNC_PROTO_VER || get16(buf + H_SPARE))
		return -SYNC_DROP_VERSION;

	n = parse_entries(buf, len, buf[H_NR_CONNS], false, NULL, NULL);
	if (n < 0 || !cb)
		return n;
	return parse_entries(buf, len, buf[H_NR_CONNS], true, cb, arg);
}

/* ---- message size ---- */

static size_t sync_hdrs_len(bool ipv6_transport)
{
	return (ipv6_transport ? 40 : 20) + 8;
}

size_t sync_maxlen_for_mtu(unsigned mtu, bool ipv6_transport)
{
	if (mtu < 1500)
		mtu = 1500;
	if (mtu > 65535)
		mtu = 65535;
	return mtu - sync_hdrs_len(ipv6_transport);
}

size_t sync_maxlen_configured(unsigned maxlen, bool backup, bool ipv6_transport)
{
	size_t lo = backup ? 1024 : 1, hi = 65535 - sync_hdrs_len(ipv6_transport);

	if (maxlen < lo)
		return lo;
	return maxlen > hi ? hi : maxlen;
}
