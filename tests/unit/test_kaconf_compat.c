/*
 * test_kaconf_compat.c - the compatibility tier for keepalived.conf:
 * every tests/kaconf/NAME.conf is read and installed in a model, and
 * what lvsd reports and lists is compared with tests/kaconf/NAME.expect:
 * the diagnostics, then `== -L -n` and the listing, then `== -S -n` and
 * the rules, i.e. what ipvsadm lists after keepalived installed the file.
 * Run from the top of the tree (as `make unit` does).
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "ipvsadm_list.h"
#include "kaconf.h"
#include "rules.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static char *render(const char *conf)
{
	struct ka_config *c = ka_config_load(conf);
	struct lvs_model *m = lvs_model_new();
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ka_config_print_diags(c, out, KA_INFO);
	fprintf(out, "exit %d\n", ka_config_test_status(c));
	if (!c->nerrors) {
		if (ka_config_apply(c, m, err, sizeof(err)))
			fprintf(out, "apply: %s\n", err);
		fprintf(out, "== -L -n\n");
		lvs_list_services(out, lvs_model_snapshot(m), 4096, LVS_LIST_NUMERIC, NULL, NULL);
		fprintf(out, "== -S -n\n");
		lvs_rules_save(lvs_model_snapshot(m), out);
	}
	fclose(out);
	lvs_model_free(m);
	ka_config_free(c);
	return buf;
}

static void test_compat_files(void **state)
{
	glob_t g;
	unsigned failed = 0;
	(void)state;

	assert_int_equal(glob("tests/kaconf/*.conf", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 8);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char exp_path[512], *got = render(g.gl_pathv[i]), *exp;

		snprintf(exp_path, sizeof(exp_path), "%.*s.expect",
			 (int)(strlen(g.gl_pathv[i]) - 5), g.gl_pathv[i]);
		exp = slurp(exp_path);
		if (getenv("KACONF_REGEN")) {
			FILE *f = fopen(exp_path, "w");

			fputs(got, f);
			fclose(f);
		} else if (!exp || strcmp(exp, got)) {
			fprintf(stderr, "%s: differs from %s; got:\n%s", g.gl_pathv[i], exp_path, got);
			failed++;
		}
		free(exp);
		free(got);
	}
	globfree(&g);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
