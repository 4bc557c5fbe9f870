/* iplimits.h - per-address accounting: connections, connection rate, failed logins. */
#ifndef MP_IPLIMITS_H
#define MP_IPLIMITS_H

#include <stdbool.h>

struct mp_limits_conf;

/* A new connection from ip: 0 counted, -1 refused with a reason. */
int	mp_limits_connect(const struct mp_limits_conf *lc, const char *ip,
	    const char **reason_r);
/* A counted connection from ip ended. */
void	mp_limits_disconnect(const char *ip);
/* Whether ip has failed too many logins lately. */
bool	mp_limits_auth_blocked(const struct mp_limits_conf *lc, const char *ip);
void	mp_limits_auth_failed(const struct mp_limits_conf *lc, const char *ip);
/* Forgets everything (tests, shutdown). */
void	mp_limits_reset(void);

#endif
