/*
 * check_registry.c - the checkers lvsd has, by keepalived's check type.
 */
#include "checker.h"

static const struct lvs_checker_ops *const checkers[] = {
	&lvs_check_tcp,
	&lvs_check_http,
	&lvs_check_ssl,
	&lvs_check_smtp,
	&lvs_check_misc,
	&lvs_check_udp,
	&lvs_check_dns,
	&lvs_check_ping,
	&lvs_check_file,
};

const struct lvs_checker_ops *lvs_checker_find(enum ka_check_type t)
{
	for (unsigned i = 0; i < sizeof(checkers) / sizeof(checkers[0]); i++)
		if (checkers[i]->type == t)
			return checkers[i];
	return NULL;
}
