/*
 * io.c - the table of packet I/O drivers (io.h).
 */
#include <string.h>

#include "io.h"

const struct lvs_io_ops *lvs_io_find(const char *name)
{
	static const struct lvs_io_ops *const drivers[] = { &lvs_io_afpacket, &lvs_io_afxdp };

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(name, drivers[i]->name))
			return drivers[i];
	return NULL;
}
