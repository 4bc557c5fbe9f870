/* server.c - process-wide state and the server facts modules may ask for. */
#include "magpie-build.h"

#include <magpie/module.h>

#include "server.h"

struct mp_server mp_srv;

const char *
mp_server_name(void)
{
	return "Magpie";
}

const char *
mp_server_version(void)
{
	return PACKAGE_VERSION;
}
