/* config.h - the configuration file: libconfig syntax, validated by declared tables. */
#ifndef MP_CONFIG_H
#define MP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <magpie/conf.h>

struct mp_arena;

struct mp_listen_conf {
	bool		 direct_tls;	/* type "c2s-direct-tls" (XEP-0368) */
	const char	*address;	/* NULL: every address, IPv4 and IPv6 */
	long		 port;
};

struct mp_host_conf {
	const char	*domain;	/* prepared */
	const char	*certificate;	/* default: tls.certificate, else <certs>/<domain>.crt */
	const char	*key;
};

/* Sections of the core, each declared by a directive table in config.c. */
struct mp_tls_conf {
	const char	*certificate;
	const char	*key;
	const char	*certs;		/* folder for per-host files (default: beside the config) */
	bool		 required;	/* no SASL before STARTTLS */
	bool		 self_signed;	/* make a certificate when none exists */
	const char	*priority;	/* GnuTLS priority string */
};

struct mp_storage_conf {
	const char	*path;
	long		 map_size_mb;
	long		 max_map_size_mb;
};

struct mp_auth_conf {
	long		 iterations;
	bool		 allow_plain;
	long		 max_failures;
};

struct mp_c2s_conf {
	long		 max_stanza_size;
	long		 max_stanza_size_preauth;
	long		 max_depth;
	long		 preauth_timeout;	/* seconds */
	long		 idle_timeout;		/* seconds; a ping is sent first */
	long		 ping_timeout;		/* seconds to answer that ping */
	long		 resume_timeout;	/* XEP-0198: seconds a lost session waits */
	long		 max_unacked;		/* XEP-0198: stanzas queued unacknowledged */
};

/* Per-address and per-session limits; 0 means none. */
struct mp_limits_conf {
	long		 max_connections_per_ip;
	long		 max_new_connections_per_ip;	/* per minute */
	long		 read_rate;			/* bytes per second */
	long		 read_burst;			/* bytes */
	long		 max_send_queue;		/* bytes */
	long		 max_sessions_per_user;
	long		 max_auth_failures_per_ip;
	long		 auth_failure_window;		/* seconds */
};

struct mp_log_conf {
	const char	*level;		/* debug, info, warn, error */
};

struct mp_config {
	const char		*path;
	struct mp_arena		*arena;		/* everything below lives here */
	void			*cfg;		/* the libconfig tree (config_t *) */
	struct mp_listen_conf	*listen;
	size_t			 nlisten;
	struct mp_host_conf	*hosts;
	size_t			 nhosts;
	const char *const	*modules;	/* NULL-terminated */
	const char		*module_path;
	const char		*pidfile;
	struct mp_tls_conf	 tls;
	struct mp_storage_conf	 storage;
	struct mp_auth_conf	 auth;
	struct mp_c2s_conf	 c2s;
	struct mp_limits_conf	 limits;
	struct mp_log_conf	 log;
};

/* Receives "file:line: what is wrong" (or "file: ..." without a line). */
typedef void mp_conf_report_fn(const char *msg, void *arg);

/* Reads and validates the core; reports every error and returns NULL on any. */
struct mp_config *mp_config_load(const char *path, mp_conf_report_fn *report,
		    void *arg);
/* Parses a module's section (absent: defaults) into out (zeroed first). */
int	 mp_config_section(struct mp_config *c, const char *section,
	    const struct mp_directive *dirs, void *out,
	    mp_conf_report_fn *report, void *arg);
/* Reports top-level keys that are neither the core's nor in sections[]. */
int	 mp_config_check_unknown(struct mp_config *c,
	    const char *const *sections, mp_conf_report_fn *report, void *arg);
/* "file:line" of a top-level setting (its index-th element when index >= 0). */
const char *mp_config_where(struct mp_config *c, const char *setting,
	    int index, char *buf, size_t size);
void	 mp_config_free(struct mp_config *c);

/* Parses a libconfig group by a table into out; strings live in a. */
int	 mp_directives_parse(const void *group /* config_setting_t *, may be NULL */,
	    const char *section, const struct mp_directive *dirs, void *out,
	    struct mp_arena *a, const char *file, mp_conf_report_fn *report,
	    void *arg);

#endif
