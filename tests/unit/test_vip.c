/*
 * test_vip.c - VIP ownership (vip.c): the workers' answers, frames in and
 * frames out (ARP reply, neighbour advertisement, echo replies, silence for
 * shared and unknown addresses), and the incremental host guard
 * (vip_guard.c): the nftables commands and driver filter changes a
 * sequence of model changes produces, replayed against a model of the
 * sets, must leave what a computation from scratch gives; and the commands
 * are accepted by the kernel (in a network namespace of the test's own).
 *
 * vip.c is included to reach its internals; vip_guard.c comes from the
 * daemon's archive.  The network view (rtnl.c) is replaced, for both, by a
 * fake below, so no interface or address is needed.
 */
#include "test_util.h"

#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>

#include "vip.c"
#include "xdp_filter.h"

/* ---- a fake network view ---- */

static struct {
	struct lvs_link_info link[4];
	unsigned nlink;
	uint8_t laf[8];
	union lvs_addr la[8];
	unsigned nlocal;
	unsigned primes, learnt;
	uint8_t learnt_mac[6];
	union lvs_addr learnt_addr;
} fake;

static const uint8_t our_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x07 };
static const uint8_t cli_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

int lvs_netstate_link(struct lvs_netstate *ns, uint32_t ifindex, struct lvs_link_info *out)
{
	(void)ns;
	for (unsigned i = 0; i < fake.nlink; i++) {
		if (fake.link[i].ifindex == ifindex) {
			*out = fake.link[i];
			return 0;
		}
	}
	return -ENODEV;
}

bool lvs_netstate_is_local(struct lvs_netstate *ns, int af, const union lvs_addr *a)
{
	(void)ns;
	for (unsigned i = 0; i < fake.nlocal; i++)
		if (fake.laf[i] == af && lvs_addr_eq(&fake.la[i], a))
			return true;
	return false;
}

unsigned lvs_netstate_local_addrs(struct lvs_netstate *ns, uint8_t *af, union lvs_addr *a,
				  unsigned max)
{
	(void)ns;
	for (unsigned i = 0; i < fake.nlocal && i < max; i++) {
		af[i] = fake.laf[i];
		a[i] = fake.la[i];
	}
	return fake.nlocal;
}

void lvs_netstate_learn(struct lvs_netstate *ns, int af, uint32_t ifindex,
			const union lvs_addr *a, const uint8_t mac[LVS_ETH_ALEN])
{
	(void)ns;
	(void)af;
	(void)ifindex;
	fake.learnt++;
	fake.learnt_addr = *a;
	memcpy(fake.learnt_mac, mac, 6);
}

int lvs_netstate_prime(struct lvs_netstate *ns, int af, const union lvs_addr *dst)
{
	(void)ns;
	(void)af;
	(void)dst;
	fake.primes++;
	return 0;
}

static void fake_reset(const char *ifname, uint32_t ifindex)
{
	memset(&fake, 0, sizeof(fake));
	fake.nlink = 1;
	fake.link[0].ifindex = ifindex;
	snprintf(fake.link[0].name, sizeof(fake.link[0].name), "%s", ifname);
	memcpy(fake.link[0].mac, our_mac, 6);
	fake.link[0].flags = IFF_UP;
	fake.link[0].type = 1;
}

static void fake_local(int af, const char *addr)
{
	fake.laf[fake.nlocal] = (uint8_t)af;
	fake.la[fake.nlocal++] = af == AF_INET ? t_ip4(addr) : t_ip6(addr);
}

static void fake_unlocal(const char *addr)
{
	union lvs_addr a = strchr(addr, ':') ? t_ip6(addr) : t_ip4(addr);

	for (unsigned i = 0; i < fake.nlocal; i++) {
		if (lvs_addr_eq(&fake.la[i], &a)) {
			fake.laf[i] = fake.laf[--fake.nlocal];
			fake.la[i] = fake.la[fake.nlocal];
			return;
		}
	}
}

/* ---- the model ---- */

static struct lvs_svc_conf svc(const char *addr, int port, int proto)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	c.proto = (uint8_t)proto;
	c.addr = c.af == AF_INET ? t_ip4(addr) : t_ip6(addr);
	c.port = htons((uint16_t)port);
	if (!port)
		c.flags = LVS_SVC_F_PERSISTENT;
	lvs_svc_conf_defaults(&c);
	return c;
}

static struct lvs_svc_conf fwm_svc(uint32_t mark)
{
	struct lvs_svc_conf c;

	memset(&c, 0, sizeof(c));
	c.af = AF_INET;
	c.fwmark = mark;
	lvs_svc_conf_defaults(&c);
	return c;
}

static struct lvs_dest_conf dest(const char *addr, int port, int fwd)
{
	struct lvs_dest_conf d;

	lvs_dest_conf_defaults(&d);
	d.af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	d.addr = d.af == AF_INET ? t_ip4(addr) : t_ip6(addr);
	d.port = htons((uint16_t)port);
	d.fwd = (uint8_t)fwd;
	return d;
}

static struct lvs_svc_key key_of(const struct lvs_svc_conf *c)
{
	struct lvs_svc_key k;

	lvs_svc_conf_key(c, &k);
	return k;
}

static struct lvs_dest_state *find_dest(struct lvs_model *m, const struct lvs_svc_conf *c,
					const char *addr)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(m);
	union lvs_addr a = strchr(addr, ':') ? t_ip6(addr) : t_ip4(addr);
	struct lvs_svc_key k = key_of(c);

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *sv = s->svcs[i];
		struct lvs_svc_key sk;
		lvs_svc_conf_key(&sv->c, &sk);
		if (memcmp(&sk, &k, sizeof(k)))
			continue;
		for (uint32_t j = 0; j < sv->ndests; j++)
			if (lvs_addr_eq(&sv->dests[j]->c.addr, &a))
				return sv->dests[j]->st;
	}
	return NULL;
}

/* ---- a model of the nftables sets, fed with the commands ---- */

#define MAXE 4096

struct strset {
	char *e[MAXE];
	unsigned n;
};

static int strset_find(const struct strset *s, const char *x)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->e[i], x))
			return (int)i;
	return -1;
}

/* strict: adding a present element or deleting an absent one is an error
 * of the delta (the kernel refuses the second; the first means the
 * bookkeeping is off) */
static void strset_add(struct strset *s, const char *x, bool strict)
{
	if (strset_find(s, x) >= 0) {
		if (strict)
			fail_msg("element added twice: %s", x);
		return;
	}
	assert_true(s->n < MAXE);
	s->e[s->n++] = strdup(x);
}

static void strset_del(struct strset *s, const char *x)
{
	int i = strset_find(s, x);

	if (i < 0)
		fail_msg("absent element deleted: %s", x);
	free(s->e[i]);
	s->e[i] = s->e[--s->n];
}

static void strset_clear_prefix(struct strset *s, const char *prefix)
{
	for (unsigned i = 0; i < s->n;) {
		if (!strncmp(s->e[i], prefix, strlen(prefix))) {
			free(s->e[i]);
			s->e[i] = s->e[--s->n];
		} else {
			i++;
		}
	}
}

static void strset_free(struct strset *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->e[i]);
	s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strset_expect_equal(struct strset *got, struct strset *want)
{
	qsort(got->e, got->n, sizeof(char *), cmp_str);
	qsort(want->e, want->n, sizeof(char *), cmp_str);
	for (unsigned i = 0; i < got->n || i < want->n; i++) {
		const char *g = i < got->n ? got->e[i] : "(none)";
		const char *w = i < want->n ? want->e[i] : "(none)";
		if (strcmp(g, w))
			fail_msg("sets differ at %u: have %s, want %s", i, g, w);
	}
}

static struct {
	struct strset sets; /* "table/set/element" ("inet:table/..." for inet) */
	unsigned scripts, rewrites, lines;
	char *last;
	bool refuse; /* make the next script fail */
} cap;

/* Services of owned VIPs that must stay guarded through every script and
 * filter change: the VIP whole, or the service's own key. */
#define MAXG 2048
static struct {
	uint8_t af;
	union lvs_addr a;
	uint8_t proto;
	uint16_t port; /* network order */
	char vip[48], elem[80];
} guarded[MAXG];
static unsigned nguarded;

static void guard_svc(const struct lvs_svc_conf *c)
{
	char b[INET6_ADDRSTRLEN];

	assert_true(nguarded < MAXG);
	inet_ntop(c->af, &c->addr, b, sizeof(b));
	guarded[nguarded].af = c->af;
	guarded[nguarded].a = c->addr;
	guarded[nguarded].proto = c->proto;
	guarded[nguarded].port = c->port;
	snprintf(guarded[nguarded].vip, sizeof(guarded[0].vip), "%s", b);
	snprintf(guarded[nguarded].elem, sizeof(guarded[0].elem), "%s . %u . %u", b, c->proto,
		 ntohs(c->port));
	nguarded++;
}

static int strset_find(const struct strset *s, const char *x);

static void check_guarded_sets(void)
{
	char w[160], e[200];

	for (unsigned i = 0; i < nguarded; i++) {
		bool v6 = guarded[i].af == AF_INET6;
		snprintf(w, sizeof(w), "lvsd_eth0/vip%c/%s", v6 ? '6' : '4', guarded[i].vip);
		snprintf(e, sizeof(e), "lvsd_eth0/svc%c/%s", v6 ? '6' : '4', guarded[i].elem);
		if (strset_find(&cap.sets, w) < 0 && strset_find(&cap.sets, e) < 0)
			fail_msg("script %u left %s unguarded:\n%s", cap.scripts, guarded[i].elem,
				 cap.last);
	}
}

/* Each element of "{ a, b, c }" (from the text after '{'). */
static void for_elems(const char *p, const char *prefix, bool add, bool strict)
{
	char buf[256];

	for (;;) {
		const char *e = p;
		size_t n;

		while (*e && *e != ',' && *e != '}')
			e++;
		n = (size_t)(e - p);
		while (n && p[0] == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n) {
			snprintf(buf, sizeof(buf), "%s%.*s", prefix, (int)n, p);
			if (add)
				strset_add(&cap.sets, buf, strict);
			else
				strset_del(&cap.sets, buf);
		}
		if (*e != ',')
			return;
		p = e + 1;
	}
}

/* Replay one script (the forms vip_guard.c writes) on cap.sets. */
static void replay(const char *script)
{
	char *copy = strdup(script), *save = NULL, table[80] = "", prefix[160];
	bool in_table = false;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char t[64], s[32], fam[8];
		const char *br = strchr(l, '{');
		/* the inet table's elements as "inet:table/set/element" */
#define FAMPFX(f) (strcmp(f, "inet") ? "" : "inet:")

		cap.lines++;
		if (sscanf(l, "add element %7s %63s %31s {", fam, t, s) == 3 ||
		    sscanf(l, "delete element %7s %63s %31s {", fam, t, s) == 3) {
			snprintf(prefix, sizeof(prefix), "%s%s/%s/", FAMPFX(fam), t, s);
			for_elems(br + 1, prefix, l[0] == 'a', true);
		} else if (sscanf(l, "delete table %7s %63s", fam, t) == 2) {
			snprintf(prefix, sizeof(prefix), "%s%s/", FAMPFX(fam), t);
			strset_clear_prefix(&cap.sets, prefix);
		} else if (sscanf(l, "table %7s %63s {", fam, t) == 2 &&
			   strcmp(l + strlen(l) - 2, "{}")) {
			snprintf(table, sizeof(table), "%s%s", FAMPFX(fam), t);
			in_table = true;
			cap.rewrites += !strcmp(fam, "netdev");
		} else if (in_table && sscanf(l, "\tset %31s {", s) == 1) {
			const char *el = strstr(l, "elements = {");
			if (el) {
				snprintf(prefix, sizeof(prefix), "%s/%s/", table, s);
				for_elems(el + strlen("elements = {"), prefix, true, true);
			}
		} else if (!strcmp(l, "}")) {
			in_table = false;
		}
	}
	free(copy);
}

static int cap_run(void *arg, const char *script, char **out)
{
	(void)arg;
	if (out)
		*out = strdup("\t\tip daddr @vip4 counter packets 3 bytes 180 drop\n"
			      "\t\tip6 daddr @vip6 counter packets 4 bytes 240 drop\n");
	if (!out && cap.refuse) {
		cap.refuse = false;
		return -EIO;
	}
	if (!out) {
		cap.scripts++;
		free(cap.last);
		cap.last = strdup(script);
		replay(script);
		check_guarded_sets();
	}
	return 0;
}

/* ---- a model of the driver filter ---- */

static struct {
	struct lvs_xdp_key k[MAXE];
	unsigned n, calls;
	unsigned last_add, last_del;
} xf;

static int xf_find(const struct lvs_xdp_key *k)
{
	for (unsigned i = 0; i < xf.n; i++)
		if (!memcmp(&xf.k[i], k, sizeof(*k)))
			return (int)i;
	return -1;
}

static bool xf_has(uint8_t kind4, uint8_t af, const union lvs_addr *a, uint8_t proto,
		   uint16_t port)
{
	struct lvs_xdp_key k;

	memset(&k, 0, sizeof(k));
	k.kind = (uint8_t)(kind4 + (af == AF_INET6));
	k.proto = proto;
	k.port = port;
	memcpy(k.addr, a, af == AF_INET6 ? 16 : 4);
	return xf_find(&k) >= 0;
}

/* The program's view of the guarded services (lvs_xdp.bpf.c). */
static void check_guarded_filter(void)
{
	for (unsigned i = 0; i < nguarded; i++) {
		uint8_t af = guarded[i].af;
		const union lvs_addr *a = &guarded[i].a;
		if (!xf_has(LVS_XDPK_VIP4, af, a, 0, 0) &&
		    !xf_has(LVS_XDPK_SVC4, af, a, guarded[i].proto, guarded[i].port))
			fail_msg("filter call %u left %s unguarded", xf.calls, guarded[i].elem);
	}
}

/* As afxdp.c: the keys added first, then the others deleted. */
static int xf_apply(void *arg, const struct lvs_xdp_key *add, unsigned nadd,
		    const struct lvs_xdp_key *del, unsigned ndel)
{
	(void)arg;
	xf.calls++;
	xf.last_add = nadd;
	xf.last_del = ndel;
	for (unsigned i = 0; i < nadd; i++) {
		if (xf_find(&add[i]) >= 0)
			fail_msg("filter key added twice (kind %u)", add[i].kind);
		assert_true(xf.n < MAXE);
		xf.k[xf.n++] = add[i];
	}
	check_guarded_filter();
	for (unsigned i = 0; i < ndel; i++) {
		int j = xf_find(&del[i]);
		if (j < 0)
			fail_msg("absent filter key deleted (kind %u)", del[i].kind);
		xf.k[j] = xf.k[--xf.n];
	}
	check_guarded_filter();
	return 0;
}

/* ---- the guard from scratch (the rules at the top of vip_guard.c) ---- */

static void want_elem(struct strset *w, const char *table, const char *set, const char *fmt,
		      ...)
{
	char buf[256], e[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e, sizeof(e), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "%s/%s/%s", table, set, e);
	strset_add(w, buf, false);
}

static void addr_str(int af, const union lvs_addr *a, char *b)
{
	inet_ntop(af, a, b, INET6_ADDRSTRLEN);
}

static void want_key(struct lvs_xdp_key *x, unsigned *n, uint8_t kind4, int af, uint8_t proto,
		     uint16_t port, const union lvs_addr *a)
{
	struct lvs_xdp_key k;

	memset(&k, 0, sizeof(k));
	k.kind = (uint8_t)(kind4 + (af == AF_INET6));
	k.proto = proto;
	k.port = port;
	memcpy(k.addr, a, af == AF_INET6 ? 16 : 4);
	for (unsigned i = 0; i < *n; i++)
		if (!memcmp(&x[i], &k, sizeof(k)))
			return;
	x[(*n)++] = k;
}

/* A service key (svc*) or NAT key (nat*) in its set, both forms. */
static void want_port_key(struct strset *w, struct lvs_xdp_key *x, unsigned *nx, const char *t,
			  const char *base, uint8_t kind4, int af, uint8_t proto, uint16_t port,
			  const union lvs_addr *a)
{
	char b[INET6_ADDRSTRLEN], set[16];

	addr_str(af, a, b);
	snprintf(set, sizeof(set), "%s%s%c", base, port ? "" : "any", af == AF_INET ? '4' : '6');
	if (port)
		want_elem(w, t, set, "%s . %u . %u", b, proto, ntohs(port));
	else
		want_elem(w, t, set, "%s . %u", b, proto);
	want_key(x, nx, kind4, af, proto, port, a);
}

struct scratch {
	struct strset *w;
	struct lvs_xdp_key *x;
	unsigned *nx;
	const char *t;
};

static void scratch_nat(struct scratch *sc, const struct lvs_svc_key *sk, int af, uint16_t port,
			const union lvs_addr *a)
{
	char b[INET6_ADDRSTRLEN];

	want_port_key(sc->w, sc->x, sc->nx, sc->t, "nat", LVS_XDPK_NAT4, af, sk->proto,
		      sk->port ? port : 0, a);
	addr_str(af, a, b);
	want_elem(sc->w, sc->t, af == AF_INET ? "natrs4" : "natrs6", "%s", b);
	want_key(sc->x, sc->nx, LVS_XDPK_NATRS4, af, 0, 0, a);
}

/* A firewall-mark service's NAT server: its TCP and UDP replies (from
 * its port, any when 0) and its ICMP errors. */
static void scratch_nat_fwm(struct scratch *sc, uint8_t af, uint16_t port,
			    const union lvs_addr *a)
{
	char b[INET6_ADDRSTRLEN];

	want_port_key(sc->w, sc->x, sc->nx, sc->t, "nat", LVS_XDPK_NAT4, af, IPPROTO_TCP, port, a);
	want_port_key(sc->w, sc->x, sc->nx, sc->t, "nat", LVS_XDPK_NAT4, af, IPPROTO_UDP, port, a);
	addr_str(af, a, b);
	want_elem(sc->w, sc->t, af == AF_INET ? "natrs4" : "natrs6", "%s", b);
	want_key(sc->x, sc->nx, LVS_XDPK_NATRS4, af, 0, 0, a);
}

static void scratch_trash(void *arg, const struct lvs_dest_state *ds)
{
	struct scratch *sc = arg;
	const struct lvs_svc_state *ss = ds->svc;

	if (ss && ss->key.fwmark && lvs_xmit_fwd(ds->xmit) == LVS_FWD_MASQ)
		scratch_nat_fwm(sc, ds->af, ds->port, &ds->addr);
	if (!ss || ss->key.fwmark)
		return;
	if (lvs_xmit_fwd(ds->xmit) == LVS_FWD_MASQ)
		scratch_nat(sc, &ss->key, ds->af, ds->port, &ds->addr);
	if (!ss->in_config)
		want_port_key(sc->w, sc->x, sc->nx, sc->t, "svc", LVS_XDPK_SVC4, ss->key.af,
			      ss->key.proto, ss->key.port, &ss->key.addr);
}

static void scratch(struct lvs_model *m, const char *table, struct strset *w,
		    struct lvs_xdp_key *x, unsigned *nx)
{
	const struct lvs_snapshot *s = lvs_model_snapshot(m);
	struct scratch sc = { w, x, nx, table };
	char b[INET6_ADDRSTRLEN], inet[64];
	bool fwm = false; /* owned VIPs guarded per port */

	*nx = 0;
	snprintf(inet, sizeof(inet), "inet:%s", table);
	for (uint32_t i = 0; i < s->nsvcs; i++)
		fwm |= s->svcs[i]->c.fwmark != 0;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct lvs_service *sv = s->svcs[i];
		struct lvs_svc_key sk;

		if (sv->c.fwmark) {
			for (uint32_t j = 0; j < sv->ndests; j++) {
				const struct lvs_dest *d = sv->dests[j];
				if (d->c.fwd == LVS_FWD_MASQ)
					scratch_nat_fwm(&sc, d->c.af, d->c.port, &d->c.addr);
			}
			continue;
		}
		lvs_svc_conf_key(&sv->c, &sk);
		addr_str(sv->c.af, &sv->c.addr, b);
		if (lvs_netstate_is_local(NULL, sv->c.af, &sv->c.addr)) {
			want_port_key(w, x, nx, table, "svc", LVS_XDPK_SVC4, sv->c.af, sv->c.proto,
				      sv->c.port, &sv->c.addr);
		} else if (fwm) {
			/* per port: ARP, ICMP, later fragments and the
			 * services at ingress, the rest at prerouting */
			want_elem(w, table, sv->c.af == AF_INET ? "pvip4" : "pvip6", "%s", b);
			want_elem(w, inet, sv->c.af == AF_INET ? "vip4" : "vip6", "%s", b);
			want_port_key(w, x, nx, table, "svc", LVS_XDPK_SVC4, sv->c.af, sv->c.proto,
				      sv->c.port, &sv->c.addr);
			want_key(x, nx, LVS_XDPK_PVIP4, sv->c.af, 0, 0, &sv->c.addr);
		} else {
			want_elem(w, table, sv->c.af == AF_INET ? "vip4" : "vip6", "%s", b);
			want_key(x, nx, LVS_XDPK_VIP4, sv->c.af, 0, 0, &sv->c.addr);
		}
		if (!lvs_netstate_is_local(NULL, sv->c.af, &sv->c.addr) && sv->c.af == AF_INET6) {
			char hex[40];
			for (int k = 0; k < 16; k++)
				sprintf(hex + 2 * k, "%02x", sv->c.addr.b[k]);
			want_elem(w, table, "ns6", "0x%s", hex);
		}
		for (uint32_t j = 0; j < sv->ndests; j++) {
			const struct lvs_dest *d = sv->dests[j];
			if (d->c.fwd == LVS_FWD_MASQ)
				scratch_nat(&sc, &sk, d->c.af, d->c.port, &d->c.addr);
		}
	}
	lvs_model_trash(m, scratch_trash, &sc);
	for (unsigned i = 0; i < fake.nlocal; i++)
		want_key(x, nx, LVS_XDPK_LOCAL4, fake.laf[i], 0, 0, &fake.la[i]);
}

/* The replayed sets and filter equal the scratch computation. */
static void check_guard(struct lvs_model *m)
{
	static struct lvs_xdp_key x[MAXE];
	struct strset w = { .n = 0 };
	unsigned nx;

	scratch(m, "lvsd_eth0", &w, x, &nx);
	strset_expect_equal(&cap.sets, &w);
	strset_free(&w);
	assert_int_equal(xf.n, nx);
	for (unsigned i = 0; i < nx; i++)
		if (xf_find(&x[i]) < 0)
			fail_msg("filter key %u (kind %u) missing", i, x[i].kind);
}

static void cap_reset(void)
{
	nguarded = 0;
	strset_free(&cap.sets);
	free(cap.last);
	memset(&cap, 0, sizeof(cap));
	memset(&xf, 0, sizeof(xf));
}

/* ---- the incremental guard ---- */

static int update(struct lvs_vips *v, struct lvs_model *m)
{
	return lvs_vips_update(v, lvs_model_snapshot(m), m);
}

static void test_guard_incremental(void **state)
{
	uint32_t ifx = 7;
	struct lvs_model *m = lvs_model_new();
	struct lvs_vips *v;
	struct lvs_svc_conf web = svc("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf dns = svc("10.0.0.2", 53, IPPROTO_UDP);
	struct lvs_svc_conf shr = svc("10.9.9.9", 443, IPPROTO_TCP);
	struct lvs_svc_conf per = svc("10.0.0.3", 0, IPPROTO_TCP);
	struct lvs_svc_conf v6 = svc("2001:db8::1", 80, IPPROTO_TCP);
	struct lvs_svc_conf fw = fwm_svc(5);
	struct lvs_svc_key kweb = key_of(&web), kdns = key_of(&dns), kshr = key_of(&shr);
	struct lvs_svc_key kper = key_of(&per), kv6 = key_of(&v6), kfw = key_of(&fw);
	struct lvs_dest_conf d;
	struct lvs_dest_state *ds;
	unsigned scripts;
	(void)state;

	cap_reset();
	fake_reset("eth0", ifx);
	fake_local(AF_INET, "10.9.9.9");
	fake_local(AF_INET, "192.168.1.1");
	v = vips_new(NULL, &ifx, 1, true, cap_run, NULL);
	assert_non_null(v);
	assert_int_equal(cap.rewrites, 1); /* the empty table, once */
	assert_int_equal(cap.sets.n, 0);
	lvs_vips_set_filter(v, xf_apply, NULL);

	/* a configuration with every kind of key */
	assert_int_equal(lvs_model_add_service(m, &web), 0);
	assert_int_equal(lvs_model_add_dest(m, &kweb, (d = dest("192.168.1.10", 8080,
								 LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(lvs_model_add_dest(m, &kweb, (d = dest("192.168.1.11", 80,
								 LVS_FWD_ROUTE), &d)), 0);
	assert_int_equal(lvs_model_add_service(m, &dns), 0);
	assert_int_equal(lvs_model_add_dest(m, &kdns, (d = dest("192.168.1.20", 53,
								 LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(lvs_model_add_service(m, &shr), 0);
	assert_int_equal(lvs_model_add_dest(m, &kshr, (d = dest("192.168.1.10", 443,
								 LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(lvs_model_add_service(m, &per), 0);
	assert_int_equal(lvs_model_add_dest(m, &kper, (d = dest("192.168.1.30", 0,
								 LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(lvs_model_add_service(m, &v6), 0);
	assert_int_equal(lvs_model_add_dest(m, &kv6, (d = dest("2001:db8:1::10", 80,
								LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	assert_int_equal(lvs_model_add_dest(m, &kfw, (d = dest("192.168.1.40", 80,
								LVS_FWD_MASQ), &d)), 0);
	guard_svc(&dns);
	guard_svc(&v6);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_int_equal(fake.primes, 7); /* every new server resolved once */
	assert_int_equal(v->nfwm, 1);
	/* the workers answer for the owned VIPs only */
	assert_int_equal(v->set->n, 4);
	assert_non_null(vip_find(v, v->set, AF_INET, &web.addr));
	assert_null(vip_find(v, v->set, AF_INET, &shr.addr));
	assert_non_null(vip_find(v, v->set, AF_INET6, &v6.addr));
	{
		/* a VRRP address is answered for only while held */
		struct lvs_standby *sb = lvs_standby_new((uint8_t[]){AF_INET}, &web.addr, 1);
		struct lvs_standby *slot = sb;

		assert_non_null(sb);
		lvs_vips_set_standby(v, &slot);
		assert_null(vip_find(v, v->set, AF_INET, &web.addr));
		assert_non_null(vip_find(v, v->set, AF_INET6, &v6.addr));
		lvs_standby_hold(&sb->e[0], true);
		assert_non_null(vip_find(v, v->set, AF_INET, &web.addr));
		lvs_vips_set_standby(v, NULL);
		free(sb);
	}

	/* nothing changed: nothing written */
	scripts = cap.scripts;
	assert_int_equal(update(v, m), 0);
	assert_int_equal(cap.scripts, scripts);

	/* one destination more: one element added, nothing else */
	assert_int_equal(lvs_model_add_dest(m, &kweb, (d = dest("192.168.1.12", 8080,
								 LVS_FWD_MASQ), &d)), 0);
	xf.calls = 0;
	assert_int_equal(update(v, m), 0);
	assert_int_equal(cap.scripts, scripts + 1);
	assert_string_equal(cap.last,
			    "add element netdev lvsd_eth0 nat4 { 192.168.1.12 . 6 . 8080 }\n"
			    "add element netdev lvsd_eth0 natrs4 { 192.168.1.12 }\n");
	assert_int_equal(xf.calls, 1);
	assert_int_equal(xf.last_add, 2);
	assert_int_equal(xf.last_del, 0);
	check_guard(m);

	/* a NAT server deleted while a connection still uses it: trash */
	ds = find_dest(m, &web, "192.168.1.10");
	assert_non_null(ds);
	lvs_dest_bind(ds, false, true);
	assert_int_equal(lvs_model_del_dest(m, &kweb, (d = dest("192.168.1.10", 8080,
								 LVS_FWD_MASQ), &d)), 0);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/nat4/192.168.1.10 . 6 . 8080") >= 0);

	/* its service deleted too: the service's key stays guarded */
	assert_int_equal(lvs_model_del_service(m, &kweb), 0);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/svc4/10.0.0.1 . 6 . 80") >= 0);
	assert_null(vip_find(v, v->set, AF_INET, &web.addr));
	/* trash without connections goes at the next collection */
	lvs_model_gc(m);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/svc4/10.0.0.1 . 6 . 80") >= 0);

	/* the last connection ends: gone from guard and filter */
	lvs_dest_unbind(ds, false, true);
	lvs_model_gc(m);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/svc4/10.0.0.1 . 6 . 80") < 0);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/nat4/192.168.1.10 . 6 . 8080") < 0);

	/* NAT -> DR */
	assert_int_equal(lvs_model_edit_dest(m, &kdns, (d = dest("192.168.1.20", 53,
								  LVS_FWD_ROUTE), &d)), 0);
	assert_int_equal(update(v, m), 0);
	check_guard(m);

	/* a VIP becomes a host address, and stops being one */
	fake_local(AF_INET, "10.0.0.2");
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_null(vip_find(v, v->set, AF_INET, &dns.addr));
	fake_unlocal("10.0.0.2");
	fake_unlocal("10.9.9.9");
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_non_null(vip_find(v, v->set, AF_INET, &dns.addr));
	assert_non_null(vip_find(v, v->set, AF_INET, &shr.addr));

	/* a refused delta: the tables are rewritten whole */
	assert_int_equal(lvs_model_add_dest(m, &kdns, (d = dest("192.168.1.21", 53,
								 LVS_FWD_MASQ), &d)), 0);
	cap.refuse = true;
	scripts = cap.rewrites;
	assert_int_equal(update(v, m), 0);
	assert_int_equal(cap.rewrites, scripts + 1);
	check_guard(m);

	/* the last firewall-mark service goes: the owned VIPs are guarded
	 * whole again (one transaction moves them, the next takes their
	 * services' keys away), and per port when it comes back (the keys
	 * first); check_guarded_* saw each step keep the services guarded */
	scripts = cap.scripts;
	assert_int_equal(lvs_model_del_service(m, &kfw), 0);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_int_equal(cap.scripts, scripts + 2);
	assert_false(v->svc_pp || v->vip_pp);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/vip4/10.0.0.2") >= 0);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/svc4/10.0.0.2 . 17 . 53") < 0);
	assert_true(strset_find(&cap.sets, "inet:lvsd_eth0/vip4/10.0.0.2") < 0);
	scripts = cap.scripts;
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_int_equal(cap.scripts, scripts + 2);
	assert_true(v->svc_pp && v->vip_pp);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/vip4/10.0.0.2") < 0);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/pvip4/10.0.0.2") >= 0);
	assert_true(strset_find(&cap.sets, "inet:lvsd_eth0/vip4/10.0.0.2") >= 0);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/svc4/10.0.0.2 . 17 . 53") >= 0);
	assert_true(strset_find(&cap.sets, "lvsd_eth0/ns6/0x20010db8000000000000000000000001") >=
		    0);
	/* a new owned VIP in the mode: guarded per port at once */
	{
		struct lvs_svc_conf late = svc("10.0.0.7", 8443, IPPROTO_TCP);
		assert_int_equal(lvs_model_add_service(m, &late), 0);
		assert_int_equal(update(v, m), 0);
		check_guard(m);
		assert_true(strset_find(&cap.sets, "lvsd_eth0/pvip4/10.0.0.7") >= 0);
	}

	/* flush: only the host's addresses remain, in the filter */
	nguarded = 0;
	assert_int_equal(lvs_model_flush(m), 0);
	lvs_model_gc(m);
	assert_int_equal(update(v, m), 0);
	check_guard(m);
	assert_int_equal(cap.sets.n, 0);
	assert_int_equal(xf.n, fake.nlocal);
	assert_int_equal(v->set->n, 0);
	assert_int_equal(v->keys.n, fake.nlocal);

	lvs_vips_free(v);
	lvs_model_free(m);
	cap_reset();
}

/*
 * Entering and leaving firewall-mark mode with more keys than one update
 * applies: every piece is a transaction of its own, and no service of an
 * owned VIP is ever unguarded in the tables or the filter between them.
 */
static void test_guard_mode_chunks(void **state)
{
	uint32_t ifx = 7;
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf fw = fwm_svc(1);
	struct lvs_svc_key kfw = key_of(&fw);
	struct lvs_vips *v;
	unsigned calls, scripts;
	int rc;
	(void)state;

	cap_reset();
	fake_reset("eth0", ifx);
	v = vips_new(NULL, &ifx, 1, true, cap_run, NULL);
	assert_non_null(v);
	lvs_vips_set_filter(v, xf_apply, NULL);
	/* 1,200 services on 300 owned VIPs */
	for (unsigned i = 0; i < 1200; i++) {
		char a[32];
		struct lvs_svc_conf c;

		snprintf(a, sizeof(a), "10.1.%u.%u", i / 4 / 250, i / 4 % 250 + 1);
		c = svc(a, 1000 + (int)(i % 4), IPPROTO_TCP);
		assert_int_equal(lvs_model_add_service(m, &c), 0);
	}
	while ((rc = update(v, m)) == 1)
		;
	assert_int_equal(rc, 0);
	check_guard(m);
	for (unsigned i = 0; i < 1200; i++) {
		char a[32];
		struct lvs_svc_conf c;

		snprintf(a, sizeof(a), "10.1.%u.%u", i / 4 / 250, i / 4 % 250 + 1);
		c = svc(a, 1000 + (int)(i % 4), IPPROTO_TCP);
		guard_svc(&c);
	}

	/* in: 1,200 keys, then 300 VIPs moved */
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	scripts = cap.scripts;
	for (calls = 1; (rc = update(v, m)) == 1; calls++)
		assert_true(calls < 10);
	assert_int_equal(rc, 0);
	assert_true(calls >= 2);
	assert_true(cap.scripts >= scripts + 3);
	check_guard(m);
	assert_true(v->vip_pp);

	/* out: the VIPs back, then the keys away */
	assert_int_equal(lvs_model_del_service(m, &kfw), 0);
	scripts = cap.scripts;
	for (calls = 1; (rc = update(v, m)) == 1; calls++)
		assert_true(calls < 10);
	assert_int_equal(rc, 0);
	assert_true(cap.scripts >= scripts + 3);
	check_guard(m);
	assert_false(v->svc_pp || v->vip_pp);

	/* in and out again before the first step is applied */
	assert_int_equal(lvs_model_add_service(m, &fw), 0);
	assert_int_equal(update(v, m), 1);
	assert_int_equal(lvs_model_del_service(m, &kfw), 0);
	while ((rc = update(v, m)) == 1)
		;
	assert_int_equal(rc, 0);
	check_guard(m);
	assert_false(v->svc_pp || v->vip_pp);

	nguarded = 0;
	lvs_vips_free(v);
	lvs_model_free(m);
	cap_reset();
}

/* The guard status sums the chains' counters (ingress and prerouting). */
static void test_guard_status(void **state)
{
	uint32_t ifx = 7;
	struct lvs_vips *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	cap_reset();
	fake_reset("eth0", ifx);
	v = vips_new(NULL, &ifx, 1, true, cap_run, NULL);
	assert_non_null(v);
	f = open_memstream(&buf, &len);
	lvs_vips_guard_status(v, f);
	fclose(f);
	assert_string_equal(buf, "Host guard (frames kept from the host's stack): eth0 14\n");
	free(buf);
	lvs_vips_free(v);
	cap_reset();
}

/* ---- the kernel takes the commands ---- */

#define CHILD_CHECK(c)                                                                     \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);            \
			_exit(1);                                                          \
		}                                                                          \
	} while (0)

static bool kernel_has(struct lvs_vips *v, const char *cmd)
{
	char *out = NULL;
	int err = v->nft_run(v->nft_arg, cmd, &out);

	free(out);
	return err == 0;
}

static void kernel_child(void)
{
	uint32_t ifx = 1;
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf web = svc("10.0.0.1", 80, IPPROTO_TCP);
	struct lvs_svc_conf per = svc("10.0.0.3", 0, IPPROTO_UDP);
	struct lvs_svc_conf shr = svc("10.9.9.9", 443, IPPROTO_TCP);
	struct lvs_svc_conf v6 = svc("2001:db8::1", 80, IPPROTO_TCP);
	struct lvs_svc_key kweb = key_of(&web), kper = key_of(&per), kv6 = key_of(&v6);
	struct lvs_dest_conf d;
	struct lvs_dest_state *ds;
	struct lvs_vips *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	fake_reset("lo", ifx);
	fake_local(AF_INET, "10.9.9.9");
	v = lvs_vips_new(NULL, &ifx, 1, true);
	CHILD_CHECK(v);
	CHILD_CHECK(!lvs_model_add_service(m, &web));
	CHILD_CHECK(!lvs_model_add_dest(m, &kweb, (d = dest("192.168.1.10", 80, LVS_FWD_MASQ), &d)));
	CHILD_CHECK(!lvs_model_add_service(m, &per));
	CHILD_CHECK(!lvs_model_add_dest(m, &kper, (d = dest("192.168.1.30", 0, LVS_FWD_MASQ), &d)));
	CHILD_CHECK(!lvs_model_add_service(m, &shr));
	CHILD_CHECK(!lvs_model_add_service(m, &v6));
	CHILD_CHECK(!lvs_model_add_dest(m, &kv6, (d = dest("2001:db8:1::10", 80, LVS_FWD_MASQ), &d)));
	CHILD_CHECK(update(v, m) == 0);
	CHILD_CHECK(!v->nft_resync);
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo vip4 { 10.0.0.1 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo vip6 { 2001:db8::1 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo ns6 "
				  "{ 0x20010db8000000000000000000000001 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo nat4 { 192.168.1.10 . 6 . 80 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo natany4 { 192.168.1.30 . 17 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo natrs6 { 2001:db8:1::10 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo svc4 { 10.9.9.9 . 6 . 443 }"));
	CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo vip4 { 10.9.9.9 }"));

	/* deletes, the trash, and a VIP going away */
	ds = find_dest(m, &web, "192.168.1.10");
	CHILD_CHECK(ds);
	lvs_dest_bind(ds, false, false);
	CHILD_CHECK(!lvs_model_del_service(m, &kweb));
	CHILD_CHECK(!lvs_model_edit_dest(m, &kv6, (d = dest("2001:db8:1::10", 80, LVS_FWD_ROUTE),
						   &d)));
	CHILD_CHECK(update(v, m) == 0);
	CHILD_CHECK(!v->nft_resync);
	CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo vip4 { 10.0.0.1 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo svc4 { 10.0.0.1 . 6 . 80 }"));
	CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo nat4 { 192.168.1.10 . 6 . 80 }"));
	CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo natrs6 { 2001:db8:1::10 }"));
	lvs_dest_unbind(ds, false, false);
	lvs_model_gc(m);
	CHILD_CHECK(update(v, m) == 0);
	CHILD_CHECK(!v->nft_resync);
	CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo svc4 { 10.0.0.1 . 6 . 80 }"));
	CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo nat4 { 192.168.1.10 . 6 . 80 }"));

	/* firewall-mark mode: the owned VIPs per port, the rest dropped at
	 * prerouting; and back */
	{
		struct lvs_svc_conf fw = fwm_svc(3);
		struct lvs_svc_key kfw = key_of(&fw);
		struct lvs_svc_conf web2 = svc("10.0.0.1", 80, IPPROTO_TCP);

		CHILD_CHECK(!lvs_model_add_service(m, &web2));
		CHILD_CHECK(!lvs_model_add_service(m, &fw));
		CHILD_CHECK(update(v, m) == 0);
		CHILD_CHECK(!v->nft_resync);
		CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo vip4 { 10.0.0.1 }"));
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo pvip4 { 10.0.0.1 }"));
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo svc4 { 10.0.0.1 . 6 . 80 }"));
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo svcany4 { 10.0.0.3 . 17 }"));
		CHILD_CHECK(kernel_has(v, "get element inet lvsd_lo vip4 { 10.0.0.1 }"));
		CHILD_CHECK(kernel_has(v, "get element inet lvsd_lo vip6 { 2001:db8::1 }"));
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo ns6 "
					  "{ 0x20010db8000000000000000000000001 }"));
		CHILD_CHECK(!lvs_model_del_service(m, &kfw));
		CHILD_CHECK(update(v, m) == 0);
		CHILD_CHECK(!v->nft_resync);
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo vip4 { 10.0.0.1 }"));
		CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo pvip4 { 10.0.0.1 }"));
		CHILD_CHECK(!kernel_has(v, "get element netdev lvsd_lo svc4 { 10.0.0.1 . 6 . 80 }"));
		CHILD_CHECK(!kernel_has(v, "get element inet lvsd_lo vip4 { 10.0.0.1 }"));
		CHILD_CHECK(kernel_has(v, "get element netdev lvsd_lo ns6 "
					  "{ 0x20010db8000000000000000000000001 }"));
	}

	f = open_memstream(&buf, &len);
	lvs_vips_guard_status(v, f);
	fclose(f);
	CHILD_CHECK(!strcmp(buf, "Host guard (frames kept from the host's stack): lo 0\n"));
	free(buf);
	lvs_vips_free(v);
	CHILD_CHECK(system("nft list tables 2>/dev/null | grep -q lvsd_lo") != 0);
	lvs_model_free(m);
	_exit(0);
}

static void test_guard_kernel(void **state)
{
	int status = 0;
	pid_t pid;
	(void)state;

	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a network namespace of our own: it goes with this process */
		if (unshare(CLONE_NEWNET)) {
			perror("unshare");
			_exit(77);
		}
		kernel_child();
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the workers' answers ---- */

static struct lvs_vips *dp_setup(struct lvs_model **mp)
{
	uint32_t ifx = 7;
	struct lvs_model *m = lvs_model_new();
	struct lvs_svc_conf c;
	struct lvs_vips *v;

	fake_reset("eth0", ifx);
	fake_local(AF_INET, "10.9.9.9");
	v = vips_new(NULL, &ifx, 1, false, cap_run, NULL);
	assert_non_null(v);
	c = svc("10.0.0.1", 80, IPPROTO_TCP);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	c = svc("2001:db8::1", 80, IPPROTO_TCP);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	c = svc("10.9.9.9", 443, IPPROTO_TCP);
	assert_int_equal(lvs_model_add_service(m, &c), 0);
	assert_int_equal(update(v, m), 0);
	*mp = m;
	return v;
}

static uint8_t frame_buf[2048];

static struct lvs_pkt frame(const uint8_t *f, size_t len)
{
	struct lvs_pkt p;

	memset(frame_buf, 0, sizeof(frame_buf));
	memcpy(frame_buf + 128, f, len);
	lvs_pkt_init(&p, frame_buf, sizeof(frame_buf), 128, (uint32_t)len);
	p.ifindex = 7;
	assert_int_equal(lvs_pkt_parse(&p), 0);
	return p;
}

static size_t arp_request(uint8_t *f, const char *spa, const char *tpa)
{
	union lvs_addr s = t_ip4(spa), t = t_ip4(tpa);

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, cli_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
	memcpy(f + 22, cli_mac, 6);
	memcpy(f + 28, &s.ip4, 4);
	memcpy(f + 38, &t.ip4, 4);
	return 60;
}

static void test_arp_reply(void **state)
{
	struct lvs_model *m;
	struct lvs_vips *v = dp_setup(&m);
	uint8_t f[60];
	const uint8_t *r;
	union lvs_addr vip = t_ip4("10.0.0.1"), cli = t_ip4("10.0.0.100");
	struct lvs_pkt p = frame(f, arp_request(f, "10.0.0.100", "10.0.0.1"));
	(void)state;

	assert_true(lvs_vip_input(v, &p));
	r = p.data;
	assert_memory_equal(r, cli_mac, 6);     /* to the asker */
	assert_memory_equal(r + 6, our_mac, 6); /* from us */
	assert_int_equal(r[12], 0x08);
	assert_int_equal(r[13], 0x06);
	assert_int_equal(r[14] << 8 | r[15], 1);      /* Ethernet */
	assert_int_equal(r[16] << 8 | r[17], 0x0800); /* IPv4 */
	assert_int_equal(r[18], 6);
	assert_int_equal(r[19], 4);
	assert_int_equal(r[20] << 8 | r[21], 2); /* reply */
	assert_memory_equal(r + 22, our_mac, 6);
	assert_memory_equal(r + 28, &vip.ip4, 4);
	assert_memory_equal(r + 32, cli_mac, 6);
	assert_memory_equal(r + 38, &cli.ip4, 4);
	assert_int_equal(p.ifindex, 7);
	/* the asker's address is learnt, as the kernel would */
	assert_int_equal(fake.learnt, 1);
	assert_true(lvs_addr_eq(&fake.learnt_addr, &cli));
	assert_memory_equal(fake.learnt_mac, cli_mac, 6);
	assert_int_equal(v->arp_replies, 1);
	lvs_vips_free(v);
	lvs_model_free(m);
}

/* Internet checksum of a message with its pseudo-header (RFC 1071),
 * computed here independently of csum.c. */
static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t icmp6_sum(const uint8_t *ip6)
{
	uint32_t len = (uint32_t)(ip6[4] << 8 | ip6[5]), s = 0;

	s = sum16(ip6 + 8, 32, s);
	s += len + 58;
	s = sum16(ip6 + 40, len, s);
	return (uint16_t)~fold(s); /* 0 when the stored checksum is right */
}

static size_t ns_frame(uint8_t *f, const char *target)
{
	union lvs_addr src = t_ip6("2001:db8::100"), tgt = t_ip6(target);
	uint8_t *ip = f + 14, *ic = f + 54;
	uint16_t c;

	memset(f, 0, 86);
	f[0] = 0x33, f[1] = 0x33, f[2] = 0xff;
	memcpy(f + 3, tgt.b + 13, 3);
	memcpy(f + 6, cli_mac, 6);
	f[12] = 0x86, f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = 32;
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src.b, 16);
	ip[24] = 0xff, ip[25] = 0x02, ip[35] = 1, ip[36] = 0xff;
	memcpy(ip + 37, tgt.b + 13, 3);
	ic[0] = 135;
	memcpy(ic + 8, tgt.b, 16);
	ic[24] = 1, ic[25] = 1;
	memcpy(ic + 26, cli_mac, 6);
	c = icmp6_sum(ip);
	ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	return 86;
}

static void test_ns_reply(void **state)
{
	struct lvs_model *m;
	struct lvs_vips *v = dp_setup(&m);
	uint8_t f[86];
	union lvs_addr vip = t_ip6("2001:db8::1"), cli = t_ip6("2001:db8::100");
	struct lvs_pkt p = frame(f, ns_frame(f, "2001:db8::1"));
	const uint8_t *r, *ip, *ic;
	(void)state;

	assert_true(lvs_vip_input(v, &p));
	r = p.data;
	ip = r + 14;
	ic = ip + 40;
	assert_int_equal(p.len, 14 + 40 + 32);
	assert_memory_equal(r, cli_mac, 6); /* from the source link-layer option */
	assert_memory_equal(r + 6, our_mac, 6);
	assert_int_equal(r[12] << 8 | r[13], 0x86dd);
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal(ip[4] << 8 | ip[5], 32);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255); /* RFC 4861 7.1.2 */
	assert_memory_equal(ip + 8, vip.b, 16);
	assert_memory_equal(ip + 24, cli.b, 16);
	assert_int_equal(ic[0], 136);
	assert_int_equal(ic[1], 0);
	assert_int_equal(ic[4], 0x60); /* solicited, override; not a router */
	assert_memory_equal(ic + 8, vip.b, 16);
	assert_int_equal(ic[24], 2); /* target link-layer address */
	assert_int_equal(ic[25], 1);
	assert_memory_equal(ic + 26, our_mac, 6);
	assert_int_equal(icmp6_sum(ip), 0);
	assert_int_equal(fake.learnt, 1);
	assert_true(lvs_addr_eq(&fake.learnt_addr, &cli));
	lvs_vips_free(v);
	lvs_model_free(m);
}

static size_t echo4(uint8_t *f, const char *dst)
{
	union lvs_addr s = t_ip4("10.0.0.100"), d = t_ip4(dst);
	uint8_t *ip = f + 14, *ic = f + 34;
	uint16_t c;

	memset(f, 0, 50);
	memcpy(f, our_mac, 6);
	memcpy(f + 6, cli_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 36;
	ip[8] = 63;
	ip[9] = 1;
	memcpy(ip + 12, &s.ip4, 4);
	memcpy(ip + 16, &d.ip4, 4);
	c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	ic[0] = 8;
	ic[4] = 0x12, ic[5] = 0x34, ic[7] = 1;
	memcpy(ic + 8, "pingpong", 8);
	c = (uint16_t)~fold(sum16(ic, 16, 0));
	ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	return 50;
}

static void test_echo_replies(void **state)
{
	struct lvs_model *m;
	struct lvs_vips *v = dp_setup(&m);
	uint8_t f[128];
	union lvs_addr vip = t_ip4("10.0.0.1"), cli = t_ip4("10.0.0.100");
	union lvs_addr vip6 = t_ip6("2001:db8::1"), cli6 = t_ip6("2001:db8::100");
	struct lvs_pkt p = frame(f, echo4(f, "10.0.0.1"));
	const uint8_t *ip, *ic;
	uint16_t c;
	(void)state;

	assert_true(lvs_vip_input(v, &p));
	ip = p.data + 14;
	ic = ip + 20;
	assert_memory_equal(p.data, cli_mac, 6);
	assert_memory_equal(p.data + 6, our_mac, 6);
	assert_memory_equal(ip + 12, &vip.ip4, 4);
	assert_memory_equal(ip + 16, &cli.ip4, 4);
	assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff); /* header checksum */
	assert_int_equal(ic[0], 0);
	assert_int_equal(ic[1], 0);
	assert_int_equal(ic[4] << 8 | ic[5], 0x1234);
	assert_memory_equal(ic + 8, "pingpong", 8);
	assert_int_equal(fold(sum16(ic, 16, 0)), 0xffff);

	/* IPv6: the NS frame turned into an echo request */
	memset(f, 0, sizeof(f));
	memcpy(f, our_mac, 6);
	memcpy(f + 6, cli_mac, 6);
	f[12] = 0x86, f[13] = 0xdd;
	f[14] = 0x60, f[19] = 16, f[20] = 58, f[21] = 64;
	memcpy(f + 22, cli6.b, 16);
	memcpy(f + 38, vip6.b, 16);
	f[54] = 128;
	f[58] = 0x43, f[59] = 0x21, f[61] = 2;
	memcpy(f + 62, "pingpong", 8);
	c = icmp6_sum(f + 14);
	f[56] = (uint8_t)(c >> 8), f[57] = (uint8_t)c;
	p = frame(f, 70);
	assert_true(lvs_vip_input(v, &p));
	ip = p.data + 14;
	ic = ip + 40;
	assert_memory_equal(p.data, cli_mac, 6);
	assert_memory_equal(ip + 8, vip6.b, 16);
	assert_memory_equal(ip + 24, cli6.b, 16);
	assert_int_equal(ic[0], 129);
	assert_int_equal(ic[4] << 8 | ic[5], 0x4321);
	assert_memory_equal(ic + 8, "pingpong", 8);
	assert_int_equal(icmp6_sum(ip), 0);
	assert_int_equal(v->echo_replies, 2);
	lvs_vips_free(v);
	lvs_model_free(m);
}

/* A shared VIP is the host's to answer, an unknown address nobody's. */
static void test_no_answer(void **state)
{
	struct lvs_model *m;
	struct lvs_vips *v = dp_setup(&m);
	uint8_t f[128], copy[128];
	struct lvs_pkt p;
	size_t n;
	(void)state;

	n = arp_request(f, "10.0.0.100", "10.9.9.9");
	p = frame(f, n);
	memcpy(copy, p.data, n);
	assert_false(lvs_vip_input(v, &p));
	assert_memory_equal(p.data, copy, n); /* untouched */
	p = frame(f, arp_request(f, "10.0.0.100", "10.0.0.77"));
	assert_false(lvs_vip_input(v, &p));
	p = frame(f, echo4(f, "10.9.9.9"));
	assert_false(lvs_vip_input(v, &p));
	p = frame(f, echo4(f, "10.0.0.77"));
	assert_false(lvs_vip_input(v, &p));
	p = frame(f, ns_frame(f, "2001:db8::77"));
	assert_false(lvs_vip_input(v, &p));
	/* our own announcement coming back is not a question */
	arp_request(f, "10.0.0.1", "10.0.0.1");
	p = frame(f, 60);
	assert_false(lvs_vip_input(v, &p));
	assert_int_equal(fake.learnt, 0);
	assert_int_equal(v->arp_replies + v->na_replies + v->echo_replies, 0);
	lvs_vips_free(v);
	lvs_model_free(m);
}

/* Fragment `off` (bytes) of a 48-byte echo request (id 0x4242) to dst:
 * the ICMP message split at 24; len bytes of it from off. */
static size_t echo4_frag(uint8_t *f, const char *dst, uint32_t off, uint32_t len, bool more)
{
	union lvs_addr s = t_ip4("10.0.0.100"), d = t_ip4(dst);
	uint8_t msg[48], *ip = f + 14;
	uint16_t c;

	memset(msg, 0, sizeof(msg));
	msg[0] = 8;
	msg[4] = 0x12, msg[5] = 0x34, msg[7] = 1;
	for (int i = 8; i < 48; i++)
		msg[i] = (uint8_t)i;
	c = (uint16_t)~fold(sum16(msg, 48, 0));
	msg[2] = (uint8_t)(c >> 8), msg[3] = (uint8_t)c;
	memset(f, 0, 14 + 20 + len);
	memcpy(f, our_mac, 6);
	memcpy(f + 6, cli_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + len);
	ip[4] = 0x42, ip[5] = 0x42;
	ip[6] = (uint8_t)(((off / 8) >> 8) | (more ? 0x20 : 0));
	ip[7] = (uint8_t)(off / 8);
	ip[8] = 63;
	ip[9] = 1;
	memcpy(ip + 12, &s.ip4, 4);
	memcpy(ip + 16, &d.ip4, 4);
	c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	memcpy(ip + 20, msg + off, len);
	return 14 + 20 + len;
}

/* One fragment through lvs_vip_input: never a frame to send back. */
static void frag_in(struct lvs_vips *v, const char *dst, uint32_t off, uint32_t len, bool more)
{
	uint8_t f[128];
	struct lvs_pkt p = frame(f, echo4_frag(f, dst, off, len, more));

	assert_false(lvs_vip_input(v, &p));
}

/* A fragmented echo request is answered once whole (on the packet socket:
 * the frame passed in is left alone); overlapping fragments drop it; one
 * to an address that is not an owned VIP is not answered. */
static void test_echo_fragments(void **state)
{
	struct lvs_model *m;
	struct lvs_vips *v = dp_setup(&m);
	(void)state;

	/* the later fragment first, then the first: answered */
	frag_in(v, "10.0.0.1", 24, 24, false);
	assert_int_equal(v->echo_replies, 0);
	frag_in(v, "10.0.0.1", 0, 24, true);
	assert_int_equal(v->echo_replies, 1);
	/* overlapping: 0..23 then 16..47 drops it; 24..47 alone is not whole */
	frag_in(v, "10.0.0.1", 0, 24, true);
	frag_in(v, "10.0.0.1", 16, 32, false);
	frag_in(v, "10.0.0.1", 24, 24, false);
	assert_int_equal(v->echo_replies, 1);
	/* a host address's fragments are the host's */
	frag_in(v, "10.9.9.9", 0, 24, true);
	frag_in(v, "10.9.9.9", 24, 24, false);
	assert_int_equal(v->echo_replies, 1);
	lvs_vips_free(v);
	lvs_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_reply),
		cmocka_unit_test(test_echo_fragments),
		cmocka_unit_test(test_ns_reply),
		cmocka_unit_test(test_echo_replies),
		cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_guard_incremental),
		cmocka_unit_test(test_guard_mode_chunks),
		cmocka_unit_test(test_guard_status),
		cmocka_unit_test(test_guard_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
