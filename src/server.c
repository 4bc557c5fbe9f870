/* server.c - process-wide state and the server facts modules may ask for. */
#include "magpie-build.h"

#include <time.h>

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

long long
mp_time_now(void)
{
	return (long long)time(NULL);
}

long long
mp_uptime(void)
{
	return mp_srv.started ? (long long)(time(NULL) - mp_srv.started) : 0;
}
