/*
 * standby.c - the set of VRRP-managed virtual addresses and whether their
 * instance holds them (see standby.h).  A sorted array searched by
 * bisection: sites have tens of such addresses, rarely thousands.
 */
#include <stdlib.h>
#include <string.h>

#include "standby.h"

static int cmp_entry(const void *x, const void *y)
{
	const struct lvs_standby_entry *a = x, *b = y;

	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->a.b, b->a.b, sizeof(a->a.b));
}

struct lvs_standby *lvs_standby_new(const uint8_t *af, const union lvs_addr *a, uint32_t n)
{
	struct lvs_standby *s = calloc(1, sizeof(*s) + (size_t)n * sizeof(s->e[0]));
	uint32_t i, j;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		s->e[i].af = af[i];
		s->e[i].a = a[i];
	}
	qsort(s->e, n, sizeof(s->e[0]), cmp_entry);
	for (i = j = 0; i < n; i++)
		if (!j || cmp_entry(&s->e[j - 1], &s->e[i]))
			s->e[j++] = s->e[i];
	s->n = j;
	return s;
}

struct lvs_standby_entry *lvs_standby_find(const struct lvs_standby *s, uint8_t af,
					   const union lvs_addr *a)
{
	struct lvs_standby_entry k = {.af = af, .a = *a};
	uint32_t lo = 0, hi = s ? s->n : 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = cmp_entry(&k, &s->e[mid]);

		if (!c)
			return (struct lvs_standby_entry *)&s->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void lvs_standby_hold(struct lvs_standby_entry *e, bool held)
{
	__atomic_store_n(&e->held, held ? 1 : 0, __ATOMIC_RELEASE);
}
