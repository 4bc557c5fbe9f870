/* config.c - reads the configuration file and validates the core's part. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/conf.h>
#include <magpie/jid.h>

#include "config.h"

#ifndef MP_MODULE_DIR
#define MP_MODULE_DIR	"/usr/local/lib/magpie"
#endif

#define CONFIG_MODULE_NAME_MAX	64

struct conf_ctx {
	struct mp_config	*c;
	config_t		*cfg;
	const char		*dir;	/* absolute folder of the file */
	mp_conf_report_fn	*report;
	void			*arg;
	int			 errors;
};

/* One entry of listen, before it becomes a struct mp_listen_conf. */
struct conf_listener {
	const char	*type;
	long		 port;
	const char	*address;
};

static const char *const conf_core_keys[] = {
	"listen", "hosts", "modules", "module_path", "pidfile",
	"tls", "storage", "auth", "c2s", "limits", "log", NULL,
};

static int
conf_nonempty(const void *field, const char **error_r)
{
	const char *s = *(const char *const *)field;

	if (s != NULL && s[0] == '\0') {
		*error_r = "must not be empty";
		return -1;
	}
	return 0;
}

static int
conf_log_level(const void *field, const char **error_r)
{
	static const char *const levels[] = {
		"debug", "info", "warn", "error", NULL,
	};
	const char *s = *(const char *const *)field;

	for (size_t i = 0; levels[i] != NULL; i++)
		if (strcmp(s, levels[i]) == 0)
			return 0;
	*error_r = "must be one of debug, info, warn, error";
	return -1;
}

static int
conf_listen_type(const void *field, const char **error_r)
{
	const char *s = *(const char *const *)field;

	if (strcmp(s, "c2s") == 0 || strcmp(s, "c2s-direct-tls") == 0)
		return 0;
	*error_r = "must be \"c2s\" or \"c2s-direct-tls\"";
	return -1;
}

static int
conf_listen_address(const void *field, const char **error_r)
{
	const char *s = *(const char *const *)field;
	unsigned char addr[sizeof(struct in6_addr)];

	if (strcmp(s, "*") == 0 || inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	*error_r = "must be an IP address (like 127.0.0.1 or ::1), "
	    "or \"*\" for every address";
	return -1;
}

#define TLS(f)	offsetof(struct mp_tls_conf, f)
static const struct mp_directive conf_tls[] = {
	{ .name = "certificate", .type = MP_CT_STRING,
	    .offset = TLS(certificate), .validate = conf_nonempty },
	{ .name = "key", .type = MP_CT_STRING, .offset = TLS(key),
	    .validate = conf_nonempty },
	{ .name = "certs", .type = MP_CT_STRING, .offset = TLS(certs),
	    .validate = conf_nonempty },
	{ .name = "required", .type = MP_CT_BOOL, .offset = TLS(required),
	    .def = "true" },
	{ .name = "self_signed", .type = MP_CT_BOOL,
	    .offset = TLS(self_signed), .def = "true" },
	{ .name = "priority", .type = MP_CT_STRING, .offset = TLS(priority),
	    .def = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
	    "%SERVER_PRECEDENCE", .validate = conf_nonempty },
	MP_DIRECTIVES_END
};
#undef TLS

#define STORAGE(f)	offsetof(struct mp_storage_conf, f)
static const struct mp_directive conf_storage[] = {
	{ .name = "path", .type = MP_CT_STRING, .offset = STORAGE(path),
	    .validate = conf_nonempty },
	{ .name = "map_size_mb", .type = MP_CT_INT,
	    .offset = STORAGE(map_size_mb), .def = "64",
	    .min = 1, .max = 1048576 },
	{ .name = "max_map_size_mb", .type = MP_CT_INT,
	    .offset = STORAGE(max_map_size_mb), .def = "16384",
	    .min = 1, .max = 16777216 },
	MP_DIRECTIVES_END
};
#undef STORAGE

#define AUTH(f)	offsetof(struct mp_auth_conf, f)
static const struct mp_directive conf_auth[] = {
	/* RFC 7677 asks for at least 4096; far more makes logins a DoS. */
	{ .name = "iterations", .type = MP_CT_INT, .offset = AUTH(iterations),
	    .def = "4096", .min = 4096, .max = 10000000 },
	{ .name = "allow_plain", .type = MP_CT_BOOL,
	    .offset = AUTH(allow_plain), .def = "true" },
	{ .name = "max_failures", .type = MP_CT_INT,
	    .offset = AUTH(max_failures), .def = "3", .min = 1, .max = 100 },
	MP_DIRECTIVES_END
};
#undef AUTH

#define C2S(f)	offsetof(struct mp_c2s_conf, f)
static const struct mp_directive conf_c2s[] = {
	{ .name = "max_stanza_size", .type = MP_CT_INT,
	    .offset = C2S(max_stanza_size), .def = "262144",
	    .min = 1024, .max = 67108864 },
	{ .name = "max_stanza_size_preauth", .type = MP_CT_INT,
	    .offset = C2S(max_stanza_size_preauth), .def = "10240",
	    .min = 512, .max = 67108864 },
	{ .name = "max_depth", .type = MP_CT_INT, .offset = C2S(max_depth),
	    .def = "64", .min = 4, .max = 1024 },
	{ .name = "preauth_timeout", .type = MP_CT_INT,
	    .offset = C2S(preauth_timeout), .def = "30",
	    .min = 1, .max = 3600 },
	{ .name = "idle_timeout", .type = MP_CT_INT,
	    .offset = C2S(idle_timeout), .def = "300",
	    .min = 5, .max = 604800 },
	{ .name = "ping_timeout", .type = MP_CT_INT,
	    .offset = C2S(ping_timeout), .def = "30", .min = 1, .max = 3600 },
	{ .name = "resume_timeout", .type = MP_CT_INT,
	    .offset = C2S(resume_timeout), .def = "300", .min = 1,
	    .max = 86400 },
	{ .name = "max_unacked", .type = MP_CT_INT,
	    .offset = C2S(max_unacked), .def = "1000", .min = 10,
	    .max = 1000000 },
	MP_DIRECTIVES_END
};
#undef C2S

#define LIM(f)	offsetof(struct mp_limits_conf, f)
static const struct mp_directive conf_limits[] = {
	{ .name = "max_connections_per_ip", .type = MP_CT_INT,
	    .offset = LIM(max_connections_per_ip), .def = "100",
	    .min = 0, .max = 1000000 },
	{ .name = "max_new_connections_per_ip", .type = MP_CT_INT,
	    .offset = LIM(max_new_connections_per_ip), .def = "300",
	    .min = 0, .max = 1000000 },
	{ .name = "read_rate", .type = MP_CT_INT, .offset = LIM(read_rate),
	    .def = "65536", .min = 0, .max = 1073741824 },
	{ .name = "read_burst", .type = MP_CT_INT, .offset = LIM(read_burst),
	    .def = "1048576", .min = 16384, .max = 1073741824 },
	{ .name = "max_send_queue", .type = MP_CT_INT,
	    .offset = LIM(max_send_queue), .def = "1048576",
	    .min = 0, .max = 1073741824 },
	{ .name = "max_sessions_per_user", .type = MP_CT_INT,
	    .offset = LIM(max_sessions_per_user), .def = "32",
	    .min = 0, .max = 1000000 },
	{ .name = "max_auth_failures_per_ip", .type = MP_CT_INT,
	    .offset = LIM(max_auth_failures_per_ip), .def = "20",
	    .min = 0, .max = 1000000 },
	{ .name = "auth_failure_window", .type = MP_CT_INT,
	    .offset = LIM(auth_failure_window), .def = "600",
	    .min = 1, .max = 604800 },
	MP_DIRECTIVES_END
};
#undef LIM

static const struct mp_directive conf_log[] = {
	{ .name = "level", .type = MP_CT_STRING,
	    .offset = offsetof(struct mp_log_conf, level), .def = "info",
	    .validate = conf_log_level },
	MP_DIRECTIVES_END
};

#define LISTEN(f)	offsetof(struct conf_listener, f)
static const struct mp_directive conf_listen_entry[] = {
	{ .name = "type", .type = MP_CT_STRING, .offset = LISTEN(type),
	    .validate = conf_listen_type },
	{ .name = "port", .type = MP_CT_INT, .offset = LISTEN(port),
	    .min = 1, .max = 65535 },
	{ .name = "address", .type = MP_CT_STRING, .offset = LISTEN(address),
	    .validate = conf_listen_address },
	MP_DIRECTIVES_END
};
#undef LISTEN

#define HOST(f)	offsetof(struct mp_host_conf, f)
static const struct mp_directive conf_host_entry[] = {
	{ .name = "domain", .type = MP_CT_STRING, .offset = HOST(domain) },
	{ .name = "certificate", .type = MP_CT_STRING,
	    .offset = HOST(certificate), .validate = conf_nonempty },
	{ .name = "key", .type = MP_CT_STRING, .offset = HOST(key),
	    .validate = conf_nonempty },
	MP_DIRECTIVES_END
};
#undef HOST

/* "file:line: key: what" for a setting (or "file: key: what" without one). */
static void
conf_report(struct conf_ctx *x, const config_setting_t *s,
    const char *key, const char *fmt, ...)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *file = s != NULL ? config_setting_source_file(s) : NULL;
	va_list ap;

	if (file == NULL)
		file = x->c->path;
	if (s != NULL && config_setting_source_line(s) > 0)
		mp_buf_printf(&b, "%s:%u: ", file,
		    (unsigned)config_setting_source_line(s));
	else
		mp_buf_printf(&b, "%s: ", file);
	if (key != NULL)
		mp_buf_printf(&b, "%s: ", key);
	va_start(ap, fmt);
	mp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (x->report != NULL)
		x->report(b.data, x->arg);
	mp_buf_free(&b);
	x->errors++;
}

/* A user's string as a message may show it: short, printable, one line. */
static const char *
conf_safe(struct mp_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *out = mp_arena_strndup(a, s, n > 64 ? 64 : n);

	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	return out;
}

static const char *
conf_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	default:
		return "a list";
	}
}

static const char *
conf_resolve(struct conf_ctx *x, const char *path)
{
	if (path == NULL || path[0] == '/')
		return path;
	return mp_arena_printf(x->c->arena, "%s/%s", x->dir, path);
}

/* Runs a core section's table and counts a failure once. */
static void
conf_section(struct conf_ctx *x, const char *name,
    const struct mp_directive *dirs, void *out)
{
	const config_setting_t *g = config_setting_get_member(
	    config_root_setting(x->cfg), name);

	if (mp_directives_parse(g, name, dirs, out, x->c->arena, x->c->path,
	    x->report, x->arg) == -1)
		x->errors++;
}

/*
 * The list of groups under key: NULL when absent or not a list (reported),
 * with *n_r its length.
 */
static const config_setting_t *
conf_list(struct conf_ctx *x, const char *key, int *n_r)
{
	const config_setting_t *s = config_setting_get_member(
	    config_root_setting(x->cfg), key);

	*n_r = 0;
	if (s == NULL)
		return NULL;
	/* An empty array "[]" reads as naturally as "()". */
	if (!config_setting_is_list(s) && !(config_setting_is_array(s) &&
	    config_setting_length(s) == 0)) {
		conf_report(x, s, key, "expected a list of groups "
		    "( { ... }, ... ), not %s", conf_type_name(s));
		return NULL;
	}
	*n_r = config_setting_length(s);
	return s;
}

static void
conf_listen(struct conf_ctx *x)
{
	struct mp_config *c = x->c;
	const config_setting_t *s;
	int n;

	s = conf_list(x, "listen", &n);
	if (s == NULL && config_lookup(x->cfg, "listen") == NULL) {
		/* Absent: a plain c2s port on every address. */
		c->listen = mp_arena_alloc(c->arena, sizeof(*c->listen));
		c->listen[0].port = 5222;
		c->nlisten = 1;
		return;
	}
	if (s == NULL)
		return;
	if (n == 0) {
		conf_report(x, s, "listen", "at least one listener is "
		    "required");
		return;
	}
	c->listen = mp_arena_alloc(c->arena, (size_t)n * sizeof(*c->listen));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *section = mp_arena_printf(c->arena, "listen[%d]",
		    i);
		struct conf_listener l;
		struct mp_listen_conf *lc;

		if (mp_directives_parse(e, section, conf_listen_entry, &l,
		    c->arena, c->path, x->report, x->arg) == -1) {
			x->errors++;
			continue;
		}
		if (l.type == NULL)
			conf_report(x, e, section, "type is required "
			    "(\"c2s\" or \"c2s-direct-tls\")");
		if (l.port == 0)
			conf_report(x, e, section, "port is required");
		if (l.type == NULL || l.port == 0)
			continue;
		if (l.address != NULL && strcmp(l.address, "*") == 0)
			l.address = NULL;
		for (size_t j = 0; j < c->nlisten; j++) {
			lc = &c->listen[j];
			if (lc->port == l.port && (lc->address == NULL ?
			    l.address == NULL : l.address != NULL &&
			    strcmp(lc->address, l.address) == 0)) {
				conf_report(x, e, section, "same address "
				    "and port as another listener");
				break;
			}
		}
		lc = &c->listen[c->nlisten++];
		lc->direct_tls = strcmp(l.type, "c2s-direct-tls") == 0;
		lc->address = l.address;
		lc->port = l.port;
	}
}

static void
conf_hosts(struct conf_ctx *x)
{
	struct mp_config *c = x->c;
	const config_setting_t *s, **where;
	int n;

	s = conf_list(x, "hosts", &n);
	if (s == NULL && config_lookup(x->cfg, "hosts") == NULL) {
		conf_report(x, NULL, "hosts", "at least one host is "
		    "required: hosts = ( { domain = \"example.org\"; } );");
		return;
	}
	if (s == NULL)
		return;
	if (n == 0) {
		conf_report(x, s, "hosts", "at least one host is required");
		return;
	}
	c->hosts = mp_arena_alloc(c->arena, (size_t)n * sizeof(*c->hosts));
	where = mp_arena_alloc(c->arena, (size_t)n * sizeof(*where));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *section = mp_arena_printf(c->arena, "hosts[%d]",
		    i);
		struct mp_host_conf h;
		const char *domain, *error = NULL;

		if (mp_directives_parse(e, section, conf_host_entry, &h,
		    c->arena, c->path, x->report, x->arg) == -1) {
			x->errors++;
			continue;
		}
		if (h.domain == NULL) {
			conf_report(x, e, section, "domain is required");
			continue;
		}
		if (mp_jid_prep_domain(c->arena, h.domain, strlen(h.domain),
		    &domain, &error) == -1) {
			conf_report(x, e, section, "\"%s\" is not a valid "
			    "domain: %s", conf_safe(c->arena, h.domain),
			    error != NULL ? error : "rejected");
			continue;
		}
		/* The domain names files under tls.certs. */
		if (strchr(domain, '/') != NULL || domain[0] == '.') {
			conf_report(x, e, section, "\"%s\" is not a valid "
			    "domain", conf_safe(c->arena, domain));
			continue;
		}
		if ((h.certificate == NULL) != (h.key == NULL)) {
			conf_report(x, e, section, "certificate and key "
			    "must be given together");
			continue;
		}
		h.domain = domain;
		for (size_t j = 0; j < c->nhosts; j++) {
			if (strcmp(c->hosts[j].domain, domain) != 0)
				continue;
			conf_report(x, e, section, "domain \"%s\" is "
			    "already defined at line %u",
			    conf_safe(c->arena, domain),
			    (unsigned)config_setting_source_line(where[j]));
			h.domain = NULL;
			break;
		}
		if (h.domain == NULL)
			continue;
		where[c->nhosts] = e;
		c->hosts[c->nhosts++] = h;
	}
}

static bool
conf_module_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONFIG_MODULE_NAME_MAX)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static void
conf_modules(struct conf_ctx *x)
{
	struct mp_config *c = x->c;
	const config_setting_t *s = config_setting_get_member(
	    config_root_setting(x->cfg), "modules");
	const char **v;
	size_t nv = 0;
	int n;

	if (s == NULL) {
		c->modules = mp_arena_alloc(c->arena, sizeof(*c->modules));
		return;
	}
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_report(x, s, "modules", "expected an array of module "
		    "names [ \"...\", ... ], not %s", conf_type_name(s));
		c->modules = mp_arena_alloc(c->arena, sizeof(*c->modules));
		return;
	}
	n = config_setting_length(s);
	v = mp_arena_alloc(c->arena, ((size_t)n + 1) * sizeof(*v));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s,
		    (unsigned)i);
		const char *name;
		bool dup = false;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_report(x, e, "modules", "element %d must be a "
			    "string, not %s", i + 1, conf_type_name(e));
			continue;
		}
		name = config_setting_get_string(e);
		if (!conf_module_name_ok(name)) {
			conf_report(x, e, "modules", "\"%s\" is not a "
			    "module name (lower-case letters, digits and _)",
			    conf_safe(c->arena, name));
			continue;
		}
		for (size_t j = 0; j < nv && !dup; j++)
			dup = strcmp(v[j], name) == 0;
		if (dup) {
			conf_report(x, e, "modules", "\"%s\" is listed "
			    "twice", name);
			continue;
		}
		v[nv++] = mp_arena_strdup(c->arena, name);
	}
	v[nv] = NULL;
	c->modules = v;
}

/* A top-level string setting; def when absent. */
static const char *
conf_top_string(struct conf_ctx *x, const char *key, const char *def)
{
	const config_setting_t *s = config_setting_get_member(
	    config_root_setting(x->cfg), key);

	if (s == NULL)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		conf_report(x, s, key, "expected a string, not %s",
		    conf_type_name(s));
		return def;
	}
	if (config_setting_get_string(s)[0] == '\0') {
		conf_report(x, s, key, "must not be empty");
		return def;
	}
	return mp_arena_strdup(x->c->arena, config_setting_get_string(s));
}

/* Rules that tie several keys together, checked once each parsed. */
static void
conf_cross_checks(struct conf_ctx *x)
{
	struct mp_config *c = x->c;

	if ((c->tls.certificate == NULL) != (c->tls.key == NULL))
		conf_report(x, config_lookup(x->cfg, "tls"), "tls",
		    "certificate and key must be given together");
	if (c->storage.max_map_size_mb < c->storage.map_size_mb)
		conf_report(x, config_lookup(x->cfg,
		    "storage.max_map_size_mb"), "storage.max_map_size_mb",
		    "must not be below storage.map_size_mb (%ld)",
		    c->storage.map_size_mb);
	if (c->c2s.max_stanza_size_preauth > c->c2s.max_stanza_size)
		conf_report(x, config_lookup(x->cfg,
		    "c2s.max_stanza_size_preauth"),
		    "c2s.max_stanza_size_preauth",
		    "must not be above c2s.max_stanza_size (%ld)",
		    c->c2s.max_stanza_size);
}

static void
conf_paths(struct conf_ctx *x)
{
	struct mp_config *c = x->c;

	c->tls.certificate = conf_resolve(x, c->tls.certificate);
	c->tls.key = conf_resolve(x, c->tls.key);
	c->tls.certs = c->tls.certs != NULL ? conf_resolve(x, c->tls.certs) :
	    mp_arena_printf(c->arena, "%s/certs", x->dir);
	c->storage.path = c->storage.path != NULL ?
	    conf_resolve(x, c->storage.path) :
	    mp_arena_printf(c->arena, "%s/data", x->dir);
	c->module_path = conf_resolve(x, c->module_path);
	c->pidfile = conf_resolve(x, c->pidfile);
	for (size_t i = 0; i < c->nhosts; i++) {
		struct mp_host_conf *h = &c->hosts[i];

		if (h->certificate != NULL) {
			h->certificate = conf_resolve(x, h->certificate);
			h->key = conf_resolve(x, h->key);
		} else if (c->tls.certificate != NULL) {
			h->certificate = c->tls.certificate;
			h->key = c->tls.key;
		} else {
			h->certificate = mp_arena_printf(c->arena,
			    "%s/%s.crt", c->tls.certs, h->domain);
			h->key = mp_arena_printf(c->arena, "%s/%s.key",
			    c->tls.certs, h->domain);
		}
	}
}

/* The absolute folder of the file, so paths survive a chdir("/"). */
static const char *
conf_dir(struct mp_arena *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real;
	const char *out;

	if (slash == NULL)
		dir = mp_arena_strdup(a, ".");
	else if (slash == path)
		dir = mp_arena_strdup(a, "/");
	else
		dir = mp_arena_strndup(a, path, (size_t)(slash - path));
	real = realpath(dir, NULL);
	if (real == NULL)
		return dir;
	out = mp_arena_strdup(a, real);
	free(real);
	return out;
}

static void
conf_tree_free(void *p)
{
	config_destroy(p);
	free(p);
}

/* Reads the file; reports libconfig's complaint and returns -1 on failure. */
static int
conf_read(struct conf_ctx *x)
{
	struct mp_config *c = x->c;
	struct stat st;
	int saved;

	if (stat(c->path, &st) == -1) {
		conf_report(x, NULL, NULL, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		conf_report(x, NULL, NULL, "is a directory");
		return -1;
	}
	x->cfg = mp_xmalloc(sizeof(*x->cfg));
	config_init(x->cfg);
	mp_arena_on_free(c->arena, conf_tree_free, x->cfg);
	c->cfg = x->cfg;
	/* @include "x.conf" is relative to the including file's folder. */
	config_set_include_dir(x->cfg, x->dir);
	errno = 0;
	if (config_read_file(x->cfg, c->path) == CONFIG_TRUE)
		return 0;
	saved = errno;
	if (config_error_type(x->cfg) == CONFIG_ERR_FILE_IO)
		conf_report(x, NULL, NULL, "cannot read: %s",
		    saved != 0 ? strerror(saved) : "I/O error");
	else {
		struct mp_buf b = MP_BUF_INIT;
		const char *file = config_error_file(x->cfg);

		mp_buf_printf(&b, "%s:%d: %s", file != NULL ? file : c->path,
		    config_error_line(x->cfg),
		    config_error_text(x->cfg) != NULL ?
		    config_error_text(x->cfg) : "syntax error");
		if (x->report != NULL)
			x->report(b.data, x->arg);
		mp_buf_free(&b);
		x->errors++;
	}
	return -1;
}

struct mp_config *
mp_config_load(const char *path, mp_conf_report_fn *report, void *arg)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_config *c = mp_arena_alloc(a, sizeof(*c));
	struct conf_ctx x = {
		.c = c, .report = report, .arg = arg,
	};

	c->arena = a;
	c->path = mp_arena_strdup(a, path != NULL ? path : "(none)");
	x.dir = conf_dir(a, c->path);
	if (path == NULL || conf_read(&x) == -1) {
		if (path == NULL)
			conf_report(&x, NULL, NULL, "no file given");
		mp_arena_free(a);
		return NULL;
	}

	conf_section(&x, "tls", conf_tls, &c->tls);
	conf_section(&x, "storage", conf_storage, &c->storage);
	conf_section(&x, "auth", conf_auth, &c->auth);
	conf_section(&x, "c2s", conf_c2s, &c->c2s);
	conf_section(&x, "limits", conf_limits, &c->limits);
	conf_section(&x, "log", conf_log, &c->log);
	conf_listen(&x);
	conf_hosts(&x);
	conf_modules(&x);
	c->module_path = conf_top_string(&x, "module_path", MP_MODULE_DIR);
	c->pidfile = conf_top_string(&x, "pidfile", NULL);
	conf_cross_checks(&x);
	conf_paths(&x);

	if (x.errors > 0) {
		/*
		 * The module loader will not run: report unknown keys now
		 * (sections named after a listed module count as known), so
		 * one pass shows every error.
		 */
		mp_config_check_unknown(c, c->modules, report, arg);
		mp_arena_free(a);
		return NULL;
	}
	return c;
}

int
mp_config_section(struct mp_config *c, const char *section,
    const struct mp_directive *dirs, void *out, mp_conf_report_fn *report,
    void *arg)
{
	const config_setting_t *g;

	g = config_setting_get_member(config_root_setting(
	    (config_t *)c->cfg), section);
	return mp_directives_parse(g, section, dirs, out, c->arena, c->path,
	    report, arg);
}

int
mp_config_check_unknown(struct mp_config *c, const char *const *sections,
    mp_conf_report_fn *report, void *arg)
{
	const config_setting_t *root = config_root_setting(
	    (config_t *)c->cfg);
	struct conf_ctx x = {
		.c = c, .cfg = c->cfg, .report = report, .arg = arg,
	};
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root,
		    (unsigned)i);
		const char *name = config_setting_name(s);
		bool known = false;

		for (size_t j = 0; conf_core_keys[j] != NULL && !known; j++)
			known = strcmp(conf_core_keys[j], name) == 0;
		for (size_t j = 0; sections != NULL && sections[j] != NULL &&
		    !known; j++)
			known = strcmp(sections[j], name) == 0;
		if (!known)
			conf_report(&x, s, conf_safe(c->arena, name),
			    "unknown setting (neither the core's nor a "
			    "loaded module's section)");
	}
	return x.errors > 0 ? -1 : 0;
}

const char *
mp_config_where(struct mp_config *c, const char *setting, int index,
    char *buf, size_t size)
{
	config_setting_t *s = config_lookup((config_t *)c->cfg, setting);
	const char *file;

	if (s != NULL && index >= 0 && config_setting_get_elem(s,
	    (unsigned)index) != NULL)
		s = config_setting_get_elem(s, (unsigned)index);
	file = s != NULL ? config_setting_source_file(s) : NULL;
	if (file == NULL)
		file = c->path;
	if (s != NULL && config_setting_source_line(s) > 0)
		snprintf(buf, size, "%s:%u", file,
		    (unsigned)config_setting_source_line(s));
	else
		snprintf(buf, size, "%s", file);
	return buf;
}

void
mp_config_free(struct mp_config *c)
{
	if (c != NULL)
		mp_arena_free(c->arena);
}
