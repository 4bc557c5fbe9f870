/* iplimits.c - per-address accounting for connection and login limits, with bounded memory. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magpie/arena.h>

#include "config.h"
#include "iplimits.h"
#include "map.h"

#define LIMITS_SWEEP_AT	4096	/* entries before idle ones are swept */

struct ip_entry {
	char	*ip;
	long	 conns;
	long	 minute_start;
	long	 new_in_minute;
	long	 fail_start;
	long	 fails;
};

static struct mp_map table;
static long last_sweep;

static long
limits_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

static bool
entry_idle(const struct ip_entry *e, long now, long window)
{
	return e->conns == 0 && now - e->minute_start >= 60 &&
	    (e->fails == 0 || now - e->fail_start >= window);
}

static void
entry_drop(struct ip_entry *e)
{
	mp_map_del(&table, e->ip, strlen(e->ip));
	free(e->ip);
	free(e);
}

struct sweep {
	long	now;
	long	window;
};

static void
sweep_one(const char *key, void *value, void *arg)
{
	struct sweep *sw = arg;

	if (entry_idle(value, sw->now, sw->window))
		entry_drop(value);
}

static struct ip_entry *
entry_get(const struct mp_limits_conf *lc, const char *ip, bool create)
{
	struct ip_entry *e = mp_map_get(&table, ip, strlen(ip));
	long now = limits_now();

	if (e != NULL || !create)
		return e;
	/* At most one sweep a second: many fresh addresses cost O(1) each. */
	if (table.count >= LIMITS_SWEEP_AT && now != last_sweep) {
		struct sweep sw = { now, lc->auth_failure_window };

		last_sweep = now;
		mp_map_foreach(&table, sweep_one, &sw);
	}
	e = mp_xcalloc(1, sizeof(*e));
	e->ip = mp_xstrdup(ip);
	e->minute_start = now;
	mp_map_put(&table, e->ip, strlen(e->ip), e);
	return e;
}

int
mp_limits_connect(const struct mp_limits_conf *lc, const char *ip,
    const char **reason_r)
{
	struct ip_entry *e = entry_get(lc, ip, true);
	long now = limits_now();

	if (now - e->minute_start >= 60) {
		e->minute_start = now;
		e->new_in_minute = 0;
	}
	if (lc->max_connections_per_ip > 0 &&
	    e->conns >= lc->max_connections_per_ip) {
		*reason_r = "Too many connections from your address";
		return -1;
	}
	if (lc->max_new_connections_per_ip > 0 &&
	    e->new_in_minute >= lc->max_new_connections_per_ip) {
		*reason_r = "Too many new connections from your address";
		return -1;
	}
	e->conns++;
	e->new_in_minute++;
	return 0;
}

void
mp_limits_disconnect(const char *ip)
{
	struct ip_entry *e = mp_map_get(&table, ip, strlen(ip));

	if (e != NULL && e->conns > 0)
		e->conns--;
}

bool
mp_limits_auth_blocked(const struct mp_limits_conf *lc, const char *ip)
{
	struct ip_entry *e = entry_get(lc, ip, false);

	if (e == NULL || lc->max_auth_failures_per_ip <= 0)
		return false;
	if (limits_now() - e->fail_start >= lc->auth_failure_window) {
		e->fails = 0;
		return false;
	}
	return e->fails >= lc->max_auth_failures_per_ip;
}

void
mp_limits_auth_failed(const struct mp_limits_conf *lc, const char *ip)
{
	struct ip_entry *e = entry_get(lc, ip, true);
	long now = limits_now();

	if (e->fails == 0 || now - e->fail_start >= lc->auth_failure_window) {
		e->fail_start = now;
		e->fails = 0;
	}
	e->fails++;
}

static void
reset_one(const char *key, void *value, void *arg)
{
	struct ip_entry *e = value;

	free(e->ip);
	free(e);
}

void
mp_limits_reset(void)
{
	mp_map_foreach(&table, reset_one, NULL);
	mp_map_clear(&table);
}
