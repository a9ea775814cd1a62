/* error.c: names of the error values, for messages. */
#include "lib/error.h"

static const char *const names[ERR_COUNT] = {
	[ERR_OK]          = "ok",
	[ERR_NOMEM]       = "out of memory",
	[ERR_INVAL]       = "invalid argument",
	[ERR_DOUBLE_FREE] = "double free",
	[ERR_FOREIGN]     = "foreign block",
	[ERR_NOT_BLOCK]   = "not the start of a block",
	[ERR_MALFORMED]   = "malformed",
	[ERR_MISSING]     = "missing",
	[ERR_UNSUPPORTED] = "unsupported",
};

const char *err_str(err_t e)
{
	if ((unsigned)e >= ERR_COUNT || !names[e])
		return "unknown error";
	return names[e];
}
