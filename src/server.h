/* server.h - process-wide state of magpied: the event loop, config, store, start time. */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include <stdbool.h>
#include <time.h>

struct event_base;
struct mp_config;
struct mp_store;

struct mp_server {
	struct event_base	*base;
	struct mp_config	*conf;
	struct mp_store		*store;
	time_t			 started;
	bool			 stopping;
};

extern struct mp_server mp_srv;

#endif
