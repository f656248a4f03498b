/*
 * test_kaconf_util.h - what the keepalived.conf reader's tests share: a
 * text read as the file "k.conf", and its diagnostics as printed.
 */
#ifndef LVS_TEST_KACONF_UTIL_H
#define LVS_TEST_KACONF_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaconf.h"

static inline struct ka_config *load(const char *text)
{
	struct ka_config *c = ka_config_load_mem(text, strlen(text), "k.conf");

	assert_non_null(c);
	return c;
}

/* The diagnostics as printed (caller frees). */
static inline char *diags(const struct ka_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ka_config_print_diags(c, f, KA_INFO);
	fclose(f);
	return buf;
}

/* text gives exactly the diagnostics expect. */
static inline void expect_diags(const char *text, const char *expect)
{
	struct ka_config *c = load(text);
	char *d = diags(c);

	assert_string_equal(d, expect);
	free(d);
	ka_config_free(c);
}

#endif
