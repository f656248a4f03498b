/*
 * fuzz_kaconf.c - libFuzzer target: arbitrary text through the
 * keepalived.conf reader (tokenizer, keywords, checks) and, when it has
 * no errors, into a model.  The input is the whole configuration: an
 * include line is an error and reads no file (an absolute pattern would
 * otherwise glob the machine's files, and reading large ones made runs
 * time out).
 */
#include <stddef.h>
#include <stdint.h>

#include "kaconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_config *c = ka_config_load_text((const char *)data, size,
						  "/nonexistent/fuzz.conf");
	struct lvs_model *m;
	char err[256];

	if (!c)
		return 0;
	if (!c->nerrors && c->nvs < 64) {
		m = lvs_model_new_workers(1);
		if (m) {
			ka_config_apply(c, m, err, sizeof(err));
			lvs_model_free(m);
		}
	}
	ka_config_free(c);
	return 0;
}
