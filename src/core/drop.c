/* drop.c - names of the drop reasons (see drop.h). */
#include "drop.h"

static const char *const drop_names[LVS_DROP__COUNT] = {
#define LVS_DROP_NAME(n, s) [LVS_DROP_##n] = s,
	LVS_DROP_REASONS(LVS_DROP_NAME)
#undef LVS_DROP_NAME
};

const char *lvs_drop_name(enum lvs_drop r)
{
	if ((unsigned)r >= LVS_DROP__COUNT)
		return "unknown";
	return drop_names[r];
}
