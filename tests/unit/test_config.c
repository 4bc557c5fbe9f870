/* test_config.c - config loading: values, defaults, paths, errors and lines. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include <magpie/arena.h>
#include <magpie/conf.h>

#include "config.h"
#include "harness.h"

#ifndef MP_MODULE_DIR
#define MP_MODULE_DIR	"/usr/local/lib/magpie"	/* as config.c has it */
#endif

#define REPORTS_MAX	64

struct reports {
	char	*msg[REPORTS_MAX];
	int	 n;
};

static void
collect(const char *msg, void *arg)
{
	struct reports *r = arg;

	if (r->n < REPORTS_MAX)
		r->msg[r->n] = mp_xstrdup(msg);
	r->n++;
}

static void
reports_free(struct reports *r)
{
	for (int i = 0; i < r->n && i < REPORTS_MAX; i++)
		free(r->msg[i]);
	r->n = 0;
}

/* Is there a report that starts with "<path>:<line>: " and contains what? */
static bool
reported(const struct reports *r, const char *path, int line,
    const char *what)
{
	char prefix[512];

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	for (int i = 0; i < r->n && i < REPORTS_MAX; i++)
		if (strncmp(r->msg[i], prefix, strlen(prefix)) == 0 &&
		    strstr(r->msg[i], what) != NULL)
			return true;
	return false;
}

static void
dump(const struct reports *r)
{
	for (int i = 0; i < r->n && i < REPORTS_MAX; i++)
		fprintf(stderr, "    report: %s\n", r->msg[i]);
}

/* Writes text to a new file under /tmp; returns its path (static buffer). */
static const char *
write_conf(char *path, size_t size, const char *text)
{
	int fd;
	size_t len = strlen(text);

	snprintf(path, size, "/tmp/mp-test-config-XXXXXX");
	fd = mkstemp(path);
	if (fd == -1)
		return NULL;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Loads text as a file; reports land in r; the file is gone afterwards. */
static struct mp_config *
load(const char *text, char *path, size_t size, struct reports *r)
{
	struct mp_config *c;

	if (write_conf(path, size, text) == NULL)
		return NULL;
	c = mp_config_load(path, collect, r);
	unlink(path);
	return c;
}

#define HOSTS	"hosts = ( { domain = \"localhost\"; } );\n"

MP_TEST(config_full_file)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(
	    "listen = ( { type = \"c2s\"; address = \"127.0.0.1\"; "
	    "port = 5222; },\n"
	    "  { type = \"c2s-direct-tls\"; port = 5223; },\n"
	    "  { type = \"c2s\"; address = \"::1\"; port = 5222; } );\n"
	    "hosts = ( { domain = \"LocalHost\"; certificate = \"/x/l.crt\"; "
	    "key = \"/x/l.key\"; },\n"
	    "  { domain = \"example.org.\"; } );\n"
	    "modules = [ \"disco\", \"ping\", \"version\", \"time\" ];\n"
	    "module_path = \"/opt/magpie/modules\";\n"
	    "pidfile = \"/run/magpie.pid\";\n"
	    "tls = { certificate = \"/etc/c.pem\"; key = \"/etc/k.pem\";\n"
	    "  certs = \"/etc/magpie/certs\"; required = false;\n"
	    "  self_signed = false; priority = \"NORMAL\"; };\n"
	    "storage = { path = \"/var/lib/magpie\"; map_size_mb = 128;\n"
	    "  max_map_size_mb = 1024; };\n"
	    "auth = { iterations = 10000; allow_plain = false; "
	    "max_failures = 5; };\n"
	    "c2s = { max_stanza_size = 100000; max_stanza_size_preauth = 5000;"
	    "\n  max_depth = 32; preauth_timeout = 10; idle_timeout = 600;\n"
	    "  ping_timeout = 20; };\n"
	    "log = { level = \"debug\"; };\n"
	    "version = { hide_os = true; };\n", path, sizeof(path), &r);

	if (c == NULL)
		dump(&r);
	CHECK(c != NULL);
	CHECK(r.n == 0);
	CHECK_STR(c->path, path);
	CHECK(c->cfg != NULL);
	CHECK(c->nlisten == 3);
	CHECK(!c->listen[0].direct_tls);
	CHECK_STR(c->listen[0].address, "127.0.0.1");
	CHECK(c->listen[0].port == 5222);
	CHECK(c->listen[1].direct_tls);
	CHECK(c->listen[1].address == NULL);
	CHECK(c->listen[1].port == 5223);
	CHECK_STR(c->listen[2].address, "::1");
	CHECK(c->nhosts == 2);
	CHECK_STR(c->hosts[0].domain, "localhost");
	CHECK_STR(c->hosts[0].certificate, "/x/l.crt");
	CHECK_STR(c->hosts[0].key, "/x/l.key");
	CHECK_STR(c->hosts[1].domain, "example.org");
	/* Without its own files a host uses the global ones. */
	CHECK_STR(c->hosts[1].certificate, "/etc/c.pem");
	CHECK_STR(c->hosts[1].key, "/etc/k.pem");
	CHECK_STR(c->modules[0], "disco");
	CHECK_STR(c->modules[3], "time");
	CHECK(c->modules[4] == NULL);
	CHECK_STR(c->module_path, "/opt/magpie/modules");
	CHECK_STR(c->pidfile, "/run/magpie.pid");
	CHECK_STR(c->tls.certificate, "/etc/c.pem");
	CHECK_STR(c->tls.key, "/etc/k.pem");
	CHECK_STR(c->tls.certs, "/etc/magpie/certs");
	CHECK(!c->tls.required);
	CHECK(!c->tls.self_signed);
	CHECK_STR(c->tls.priority, "NORMAL");
	CHECK_STR(c->storage.path, "/var/lib/magpie");
	CHECK(c->storage.map_size_mb == 128);
	CHECK(c->storage.max_map_size_mb == 1024);
	CHECK(c->auth.iterations == 10000);
	CHECK(!c->auth.allow_plain);
	CHECK(c->auth.max_failures == 5);
	CHECK(c->c2s.max_stanza_size == 100000);
	CHECK(c->c2s.max_stanza_size_preauth == 5000);
	CHECK(c->c2s.max_depth == 32);
	CHECK(c->c2s.preauth_timeout == 10);
	CHECK(c->c2s.idle_timeout == 600);
	CHECK(c->c2s.ping_timeout == 20);
	CHECK_STR(c->log.level, "debug");
	mp_config_free(c);
}

MP_TEST(config_defaults)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(HOSTS, path, sizeof(path), &r);

	CHECK(c != NULL);
	CHECK(r.n == 0);
	CHECK(c->nlisten == 1);
	CHECK(!c->listen[0].direct_tls);
	CHECK(c->listen[0].address == NULL);
	CHECK(c->listen[0].port == 5222);
	CHECK(c->modules != NULL && c->modules[0] == NULL);
	CHECK_STR(c->module_path, MP_MODULE_DIR);
	CHECK(c->pidfile == NULL);
	CHECK(c->tls.certificate == NULL && c->tls.key == NULL);
	CHECK_STR(c->tls.certs, "/tmp/certs");
	CHECK(c->tls.required);
	CHECK(c->tls.self_signed);
	CHECK_STR(c->tls.priority,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE");
	CHECK_STR(c->storage.path, "/tmp/data");
	CHECK(c->storage.map_size_mb == 64);
	CHECK(c->storage.max_map_size_mb == 16384);
	CHECK(c->auth.iterations == 4096);
	CHECK(c->auth.allow_plain);
	CHECK(c->auth.max_failures == 3);
	CHECK(c->c2s.max_stanza_size == 262144);
	CHECK(c->c2s.max_stanza_size_preauth == 10240);
	CHECK(c->c2s.max_depth == 64);
	CHECK(c->c2s.preauth_timeout == 30);
	CHECK(c->c2s.idle_timeout == 300);
	CHECK(c->c2s.ping_timeout == 30);
	CHECK_STR(c->log.level, "info");
	CHECK_STR(c->hosts[0].certificate, "/tmp/certs/localhost.crt");
	CHECK_STR(c->hosts[0].key, "/tmp/certs/localhost.key");
	mp_config_free(c);
}

MP_TEST(config_relative_paths)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c;
	char *cwd = getcwd(NULL, 0);

	/* Relative to the file's folder, not to the working directory. */
	CHECK(cwd != NULL);
	CHECK(chdir("/") == 0);
	c = load("hosts = ( { domain = \"a.example\"; certificate = \"h.crt\";"
	    " key = \"sub/h.key\"; },\n { domain = \"b.example\"; } );\n"
	    "tls = { certs = \"mycerts\"; };\n"
	    "storage = { path = \"db\"; };\n"
	    "pidfile = \"run/magpie.pid\";\n"
	    "module_path = \"mods\";\n", path, sizeof(path), &r);
	if (chdir(cwd) != 0)
		c = NULL;
	free(cwd);
	CHECK(c != NULL);
	CHECK_STR(c->tls.certs, "/tmp/mycerts");
	CHECK_STR(c->storage.path, "/tmp/db");
	CHECK_STR(c->pidfile, "/tmp/run/magpie.pid");
	CHECK_STR(c->module_path, "/tmp/mods");
	CHECK_STR(c->hosts[0].certificate, "/tmp/h.crt");
	CHECK_STR(c->hosts[0].key, "/tmp/sub/h.key");
	CHECK_STR(c->hosts[1].certificate, "/tmp/mycerts/b.example.crt");
	mp_config_free(c);

	c = load(HOSTS "tls = { certificate = \"c.pem\"; "
	    "key = \"/k.pem\"; };\n", path, sizeof(path), &r);
	CHECK(c != NULL);
	CHECK_STR(c->tls.certificate, "/tmp/c.pem");
	CHECK_STR(c->tls.key, "/k.pem");
	CHECK_STR(c->hosts[0].certificate, "/tmp/c.pem");
	mp_config_free(c);
}

MP_TEST(config_syntax_error)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(HOSTS "\n\nlog = { level = ; };\n", path,
	    sizeof(path), &r);

	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, path, 4, "syntax error"));
	reports_free(&r);

	c = load(HOSTS "log = {};\nlog = {};\n", path, sizeof(path), &r);
	CHECK(c == NULL);
	CHECK(reported(&r, path, 3, "duplicate"));
	reports_free(&r);

	/* Unterminated string, NUL bytes, garbage: an error, not a crash. */
	c = load("hosts = ( { domain = \"x", path, sizeof(path), &r);
	CHECK(c == NULL && r.n == 1);
	reports_free(&r);
	c = load("\x01\xff\xfe{{{{((((", path, sizeof(path), &r);
	CHECK(c == NULL && r.n == 1);
	reports_free(&r);
}

MP_TEST(config_file_errors)
{
	struct reports r = { .n = 0 };
	struct mp_config *c;

	c = mp_config_load("/nonexistent/magpie.conf", collect, &r);
	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, "/nonexistent/magpie.conf", 0, "No such file"));
	reports_free(&r);

	c = mp_config_load("/tmp", collect, &r);
	CHECK(c == NULL);
	CHECK(reported(&r, "/tmp", 0, "directory"));
	reports_free(&r);

	/* A report callback is optional. */
	CHECK(mp_config_load("/nonexistent", NULL, NULL) == NULL);
}

MP_TEST(config_empty_file)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load("", path, sizeof(path), &r);

	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, path, 0, "hosts: at least one host"));
	reports_free(&r);
}

/* Each line holds one mistake; every one is reported with its line. */
MP_TEST(config_every_error_reported)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(
	    "listen = ( { type = \"s2s\"; port = 5269; },\n"		/* 1 */
	    "  { type = \"c2s\"; port = 70000; },\n"			/* 2 */
	    "  { type = \"c2s\"; port = 5222; address = \"localhost\"; },\n"
	    "  { type = \"c2s\"; port = \"5222\"; },\n"		/* 4 */
	    "  { port = 1; },\n"					/* 5 */
	    "  { type = \"c2s\"; port = 9; proto = \"tcp\"; } );\n"	/* 6 */
	    "hosts = ( { domain = \"a.example\"; },\n"		/* 7 */
	    "  { domain = \"A.example\"; },\n"				/* 8 */
	    "  { domain = \"bad domain!\"; },\n"			/* 9 */
	    "  { certificate = \"x\"; key = \"y\"; },\n"		/* 10 */
	    "  { domain = \"c.example\"; certificate = \"x\"; } );\n"	/* 11 */
	    "modules = [ \"ping\", \"Bad-Name\", \"ping\" ];\n"	/* 12 */
	    "tls = { certificate = \"c\";\n"				/* 13 */
	    "  colour = \"blue\"; required = \"yes\"; };\n"		/* 14 */
	    "storage = { map_size_mb = 100;\n"				/* 15 */
	    "  max_map_size_mb = 10; };\n"				/* 16 */
	    "auth = { iterations = 1000; };\n"				/* 17 */
	    "c2s = { max_depth = 1.5; idle_timeout = 5000000000; };\n"	/* 18 */
	    "log = { level = \"verbose\"; };\n"			/* 19 */
	    "pidfile = 42;\n"						/* 20 */
	    "module_path = \"\";\n",					/* 21 */
	    path, sizeof(path), &r);

	CHECK(c == NULL);
	CHECK(reported(&r, path, 1, "listen[0].type: must be \"c2s\""));
	CHECK(reported(&r, path, 2, "listen[1].port: must be between 1 and "
	    "65535 (not 70000)"));
	CHECK(reported(&r, path, 3, "listen[2].address: must be an IP"));
	CHECK(reported(&r, path, 4, "listen[3].port: expected an integer, "
	    "not a string"));
	CHECK(reported(&r, path, 5, "listen[4]: type is required"));
	CHECK(reported(&r, path, 6, "listen[5].proto: unknown key"));
	CHECK(reported(&r, path, 8, "hosts[1]: domain \"a.example\" is "
	    "already defined at line 7"));
	CHECK(reported(&r, path, 9, "hosts[2]: \"bad domain!\" is not a "
	    "valid domain"));
	CHECK(reported(&r, path, 10, "hosts[3]: domain is required"));
	CHECK(reported(&r, path, 11, "hosts[4]: certificate and key"));
	CHECK(reported(&r, path, 12, "modules: \"Bad-Name\" is not a module"));
	CHECK(reported(&r, path, 12, "modules: \"ping\" is listed twice"));
	CHECK(reported(&r, path, 13, "tls: certificate and key"));
	CHECK(reported(&r, path, 14, "tls.colour: unknown key"));
	CHECK(reported(&r, path, 14, "tls.required: expected a boolean"));
	CHECK(reported(&r, path, 16, "storage.max_map_size_mb: must not be "
	    "below storage.map_size_mb (100)"));
	CHECK(reported(&r, path, 17, "auth.iterations: must be between 4096"));
	CHECK(reported(&r, path, 18, "c2s.max_depth: expected an integer"));
	/* libconfig 1.5 wraps numbers past 32 bits; the range check sees it. */
	CHECK(reported(&r, path, 18, "c2s.idle_timeout: must be between"));
	CHECK(reported(&r, path, 19, "log.level: must be one of debug, info"));
	CHECK(reported(&r, path, 20, "pidfile: expected a string, not a "
	    "number"));
	CHECK(reported(&r, path, 21, "module_path: must not be empty"));
	if (r.n != 22)
		dump(&r);
	CHECK(r.n == 22);
	reports_free(&r);
}

MP_TEST(config_wrong_shapes)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(
	    "listen = { type = \"c2s\"; port = 5222; };\n"		/* 1 */
	    "hosts = ();\n"						/* 2 */
	    "tls = \"on\";\n"						/* 3 */
	    "modules = \"ping\";\n"					/* 4 */
	    "c2s = ( 1, 2 );\n"						/* 5 */
	    "log = { level = [ \"info\" ]; };\n"			/* 6 */
	    "auth = { iterations = 5000; sub = { x = 1; }; };\n",	/* 7 */
	    path, sizeof(path), &r);

	CHECK(c == NULL);
	CHECK(reported(&r, path, 1, "listen: expected a list of groups"));
	CHECK(reported(&r, path, 2, "hosts: at least one host"));
	CHECK(reported(&r, path, 3, "tls: expected a group"));
	CHECK(reported(&r, path, 4, "modules: expected an array"));
	CHECK(reported(&r, path, 5, "c2s: expected a group"));
	CHECK(reported(&r, path, 6, "log.level: expected a string, not an "
	    "array"));
	CHECK(reported(&r, path, 7, "auth.sub: unknown key"));
	if (r.n != 7)
		dump(&r);
	CHECK(r.n == 7);
	reports_free(&r);

	c = load(HOSTS "listen = ();\nmodules = [ 1 ];\n", path, sizeof(path),
	    &r);
	CHECK(c == NULL);
	CHECK(reported(&r, path, 2, "listen: at least one listener"));
	CHECK(reported(&r, path, 3, "modules: element 1 must be a string"));
	CHECK(r.n == 2);
	reports_free(&r);

	c = load(HOSTS "listen = ( { type = \"c2s\"; port = 1; },\n"
	    "{ type = \"c2s\"; port = 1; address = \"*\"; },\n"
	    "5 );\n", path, sizeof(path), &r);
	CHECK(c == NULL);
	CHECK(reported(&r, path, 3, "listen[1]: same address and port"));
	CHECK(reported(&r, path, 4, "listen[2]: expected a group"));
	CHECK(r.n == 2);
	reports_free(&r);
}

MP_TEST(config_hostile_strings)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct mp_config *c = load(HOSTS
	    "modules = [ \"a\\nb\\x01\" ];\n", path, sizeof(path), &r);

	/* Reports stay on one line whatever the file holds. */
	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, path, 2, "modules: \"a?b?\" is not"));
	reports_free(&r);

	/*
	 * Raw control bytes. (A string where a name belongs would do too, but
	 * libconfig 1.5 leaks that string, which LeakSanitizer would flag.)
	 */
	c = load(HOSTS "tls = { \x01\n = 1; };\n", path, sizeof(path), &r);
	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, path, 2, "syntax error"));
	reports_free(&r);
}

MP_TEST(config_include)
{
	char inc[64], path[64], text[256];
	struct reports r = { .n = 0 };
	struct mp_config *c;

	CHECK(write_conf(inc, sizeof(inc), "\nauth = { rounds = 1; };\n") !=
	    NULL);
	/* The included file is named by its own name and line. */
	snprintf(text, sizeof(text), HOSTS "@include \"%s\"\n",
	    strrchr(inc, '/') + 1);
	c = load(text, path, sizeof(path), &r);
	unlink(inc);
	CHECK(c == NULL);
	CHECK(r.n == 1);
	CHECK(reported(&r, strrchr(inc, '/') + 1, 2, "auth.rounds: unknown"));
	reports_free(&r);
}

/* A module's section and its declared table. */
struct test_mod_conf {
	long			 max;
	bool			 on;
	const char		*name;
	const char *const	*list;
	long			 even;
	const char		*unset;
};

static int
test_even(const void *field, const char **error_r)
{
	if (*(const long *)field % 2 != 0) {
		*error_r = "must be even";
		return -1;
	}
	return 0;
}

#define TM(f)	offsetof(struct test_mod_conf, f)
static const struct mp_directive test_mod_dirs[] = {
	{ .name = "max", .type = MP_CT_INT, .offset = TM(max), .def = "1000",
	    .min = 1, .max = 10000 },
	{ .name = "on", .type = MP_CT_BOOL, .offset = TM(on), .def = "true" },
	{ .name = "name", .type = MP_CT_STRING, .offset = TM(name),
	    .def = "magpie" },
	{ .name = "list", .type = MP_CT_STRINGS, .offset = TM(list),
	    .def = "[ \"a\", \"b\" ]" },
	{ .name = "even", .type = MP_CT_INT, .offset = TM(even), .def = "2",
	    .validate = test_even },
	{ .name = "unset", .type = MP_CT_STRING, .offset = TM(unset) },
	MP_DIRECTIVES_END
};
#undef TM

MP_TEST(config_module_section)
{
	char path[64];
	struct reports r = { .n = 0 };
	struct test_mod_conf mc;
	struct mp_config *c = load(HOSTS
	    "mymod = { max = 20000; on = 1; name = \"x\";\n"		/* 2 */
	    "  list = ( \"p\", 3 );\n"					/* 3 */
	    "  even = 3; typo = true; };\n"				/* 4 */
	    "good = { max = 10000; on = false; name = \"n\";\n"	/* 5 */
	    "  list = ( \"p\", \"q\" ); even = -4; unset = \"u\"; };\n"
	    "empty = { list = []; };\n"					/* 7 */
	    "notgroup = 5;\n", path, sizeof(path), &r);		/* 8 */

	CHECK(c != NULL);
	CHECK(r.n == 0);

	memset(&mc, 0xa5, sizeof(mc));
	CHECK(mp_config_section(c, "absent", test_mod_dirs, &mc, collect,
	    &r) == 0);
	CHECK(r.n == 0);
	CHECK(mc.max == 1000);
	CHECK(mc.on);
	CHECK_STR(mc.name, "magpie");
	CHECK(mc.list != NULL);
	CHECK_STR(mc.list[0], "a");
	CHECK_STR(mc.list[1], "b");
	CHECK(mc.list[2] == NULL);
	CHECK(mc.even == 2);
	CHECK(mc.unset == NULL);

	CHECK(mp_config_section(c, "good", test_mod_dirs, &mc, collect,
	    &r) == 0);
	CHECK(r.n == 0);
	CHECK(mc.max == 10000);
	CHECK(!mc.on);
	CHECK_STR(mc.name, "n");
	CHECK_STR(mc.list[0], "p");
	CHECK_STR(mc.list[1], "q");
	CHECK(mc.list[2] == NULL);
	CHECK(mc.even == -4);
	CHECK_STR(mc.unset, "u");

	CHECK(mp_config_section(c, "empty", test_mod_dirs, &mc, collect,
	    &r) == 0);
	CHECK(mc.list != NULL && mc.list[0] == NULL);

	CHECK(mp_config_section(c, "mymod", test_mod_dirs, &mc, collect,
	    &r) == -1);
	CHECK(reported(&r, path, 2, "mymod.max: must be between 1 and 10000 "
	    "(not 20000)"));
	CHECK(reported(&r, path, 2, "mymod.on: expected a boolean"));
	CHECK(reported(&r, path, 3, "mymod.list: element 2 must be a string"));
	CHECK(reported(&r, path, 4, "mymod.even: must be even"));
	CHECK(reported(&r, path, 4, "mymod.typo: unknown key"));
	if (r.n != 5)
		dump(&r);
	CHECK(r.n == 5);
	reports_free(&r);

	CHECK(mp_config_section(c, "notgroup", test_mod_dirs, &mc, collect,
	    &r) == -1);
	CHECK(reported(&r, path, 8, "notgroup: expected a group"));
	CHECK(r.n == 1);
	reports_free(&r);
	mp_config_free(c);
}

MP_TEST(config_bad_default)
{
	static const struct mp_directive bad[] = {
		{ .name = "n", .type = MP_CT_INT, .offset = 0, .def = "12x" },
		{ .name = "b", .type = MP_CT_BOOL, .offset = sizeof(long),
		    .def = "yes" },
		MP_DIRECTIVES_END
	};
	struct { long n; bool b; } out;
	struct reports r = { .n = 0 };
	struct mp_arena *a = mp_arena_new();

	/* A broken table is the module's bug: reported, never a crash. */
	CHECK(mp_directives_parse(NULL, "m", bad, &out, a, "f.conf", collect,
	    &r) == -1);
	CHECK(r.n == 2);
	CHECK(reported(&r, "f.conf", 0, "m.n: invalid built-in default"));
	reports_free(&r);
	mp_arena_free(a);
}

MP_TEST(config_check_unknown)
{
	char path[64];
	struct reports r = { .n = 0 };
	static const char *const sections[] = { "version", "ping", NULL };
	struct mp_config *c = load(HOSTS
	    "version = { hide_os = true; };\n"				/* 2 */
	    "verison = { hide_os = true; };\n"				/* 3 */
	    "log = { level = \"warn\"; };\n"				/* 4 */
	    "stray = 1;\n", path, sizeof(path), &r);			/* 5 */

	CHECK(c != NULL);
	CHECK(r.n == 0);
	CHECK(mp_config_check_unknown(c, sections, collect, &r) == -1);
	CHECK(reported(&r, path, 3, "verison: unknown setting"));
	CHECK(reported(&r, path, 5, "stray: unknown setting"));
	CHECK(r.n == 2);
	reports_free(&r);
	mp_config_free(c);

	c = load(HOSTS "ping = {};\n", path, sizeof(path), &r);
	CHECK(c != NULL);
	CHECK(mp_config_check_unknown(c, sections, collect, &r) == 0);
	CHECK(mp_config_check_unknown(c, NULL, collect, &r) == -1);
	CHECK(reported(&r, path, 2, "ping: unknown setting"));
	reports_free(&r);
	mp_config_free(c);
}
