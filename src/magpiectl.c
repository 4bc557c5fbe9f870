/* magpiectl.c - the admin tool: config check, user accounts, certificates. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magpie/arena.h>
#include <magpie/jid.h>
#include <magpie/log.h>

#include <event2/event.h>
#include <unistr.h>

#include <magpie/module.h>

#include <magpie/roster.h>

#include "accounts.h"
#include "certgen.h"
#include "config.h"
#include "hooks.h"
#include "modules.h"
#include "router.h"
#include "server.h"
#include "store.h"

#ifndef MP_SYSCONFDIR
#define MP_SYSCONFDIR	"/usr/local/etc"
#endif

#define CTL_DEFAULT_CONF	MP_SYSCONFDIR "/magpie/magpie.conf"
#define CTL_PASSWORD_MAX	1024	/* bytes; PRECIS sets no limit, we do */

#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

struct ctl {
	const char		*conf_path;
	bool			 force;
	struct mp_config	*conf;
	struct mp_arena		*arena;	/* this run's strings */
	struct mp_store		*store;
	bool			 modules;	/* started: close them at exit */
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: magpiectl [-c FILE] COMMAND [ARGS]\n"
	    "  check                      check the configuration and modules\n"
	    "  user add JID [PASSWORD]    create an account\n"
	    "  user passwd JID [PASSWORD] change a password\n"
	    "  user del JID               delete an account\n"
	    "  user list [DOMAIN]         list accounts (default: every host)\n"
	    "  user data JID              list the stored records of an account\n"
	    "  roster list JID            a user's roster\n"
	    "  roster add JID CONTACT [NAME [GROUP...]]  add or update an item\n"
	    "  roster del JID CONTACT     remove an item (unsubscribing both ways)\n"
	    "  cert [-f] HOST             make a self-signed certificate\n"
	    "A missing PASSWORD is read from one line of standard input.\n"
	    "-c FILE  configuration file (default %s)\n"
	    "-f       let cert replace existing files\n", CTL_DEFAULT_CONF);
}

static void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("magpiectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
ctl_report(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

static int
ctl_load(struct ctl *ctl)
{
	/* Each error already names the file and line. */
	ctl->conf = mp_config_load(ctl->conf_path, ctl_report, NULL);
	return ctl->conf != NULL ? 0 : -1;
}

static int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if (argc != 0) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_load(ctl) == -1)
		return CTL_FAIL;
	rc = mp_modules_open(ctl->conf, ctl_report, NULL);
	mp_modules_close();
	if (rc == -1)
		return CTL_FAIL;
	printf("%s: OK\n", ctl->conf_path);
	return CTL_OK;
}

/* The configured host of that prepared domain, or NULL. */
static const struct mp_host_conf *
ctl_host(const struct mp_config *c, const char *domain)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].domain, domain) == 0)
			return &c->hosts[i];
	return NULL;
}

/* A bare JID with a localpart whose domain this server serves. */
static int
ctl_user_jid(struct ctl *ctl, const char *s, struct mp_jid *jid)
{
	const char *error = NULL;

	if (mp_jid_parse(ctl->arena, s, jid, &error) == -1) {
		ctl_warnx("%s: not a valid JID: %s", s,
		    error != NULL ? error : "rejected");
		return -1;
	}
	if (jid->local == NULL) {
		ctl_warnx("%s: a user's JID has a localpart (user@domain)",
		    s);
		return -1;
	}
	if (jid->resource != NULL) {
		ctl_warnx("%s: give the bare JID, without /resource", s);
		return -1;
	}
	if (ctl_host(ctl->conf, jid->domain) == NULL) {
		ctl_warnx("%s: %s is not a host of %s", s, jid->domain,
		    ctl->conf_path);
		return -1;
	}
	return 0;
}

static int
ctl_store_open(struct ctl *ctl)
{
	const struct mp_storage_conf *sc = &ctl->conf->storage;
	struct mp_store_lmdb_conf lc = {
		.path = sc->path,
		.map_size = (size_t)sc->map_size_mb << 20,
		.max_map_size = (size_t)sc->max_map_size_mb << 20,
	};
	const char *error = NULL;

	if (mp_store_lmdb_open(&lc, &ctl->store, &error) == -1) {
		ctl_warnx("%s: cannot open the store: %s", sc->path,
		    error != NULL ? error : "failed");
		ctl->store = NULL;
		return -1;
	}
	mp_store_set(ctl->store);
	if (mp_accounts_init(ctl->store, &error) == -1) {
		ctl_warnx("%s: cannot open the accounts: %s", sc->path,
		    error != NULL ? error : "failed");
		return -1;
	}
	return 0;
}

/* The password from argv, else one line of stdin; wiped by the caller. */
static char *
ctl_password(const char *arg, const char *jid)
{
	char buf[CTL_PASSWORD_MAX + 1], *p;
	size_t n = 0;
	bool nul = false;
	int ch;

	if (arg != NULL)
		return mp_xstrdup(arg);
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Password for %s: ", jid);
	/* Byte by byte, so that endless input cannot take endless memory. */
	while ((ch = getchar()) != EOF && ch != '\n') {
		if (n == CTL_PASSWORD_MAX) {
			explicit_bzero(buf, sizeof(buf));
			ctl_warnx("the password is longer than %d bytes",
			    CTL_PASSWORD_MAX);
			return NULL;
		}
		nul |= ch == '\0';
		buf[n++] = (char)ch;
	}
	if (n == 0 && ch == EOF) {
		ctl_warnx("no password given (nothing on standard input)");
		return NULL;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (nul) {
		explicit_bzero(buf, sizeof(buf));
		ctl_warnx("the password holds a NUL byte");
		return NULL;
	}
	p = mp_xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return p;
}

static void
ctl_password_free(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void
ctl_list_one(const char *user, void *arg)
{
	printf("%s@%s\n", user, (const char *)arg);
}

static int
ctl_user_list(struct ctl *ctl, int argc, char **argv)
{
	const char *domain = NULL, *error = NULL;
	int rc = CTL_OK;

	if (argc > 1) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (argc == 1) {
		if (mp_jid_prep_domain(ctl->arena, argv[0], strlen(argv[0]),
		    &domain, &error) == -1) {
			ctl_warnx("%s: not a valid domain: %s", argv[0],
			    error != NULL ? error : "rejected");
			return CTL_FAIL;
		}
		if (ctl_host(ctl->conf, domain) == NULL) {
			ctl_warnx("%s: not a host of %s", argv[0],
			    ctl->conf_path);
			return CTL_FAIL;
		}
	}
	if (ctl_store_open(ctl) == -1)
		return CTL_FAIL;
	for (size_t i = 0; i < ctl->conf->nhosts; i++) {
		const char *host = ctl->conf->hosts[i].domain;

		if (domain != NULL && strcmp(domain, host) != 0)
			continue;
		if (mp_account_list(host, ctl_list_one, (void *)host,
		    &error) == -1) {
			ctl_warnx("%s: cannot list accounts: %s", host,
			    error != NULL ? error : "failed");
			rc = CTL_FAIL;
		}
	}
	if (fflush(stdout) == EOF) {
		ctl_warnx("standard output: %s", strerror(errno));
		rc = CTL_FAIL;
	}
	return rc;
}

/*
 * Runs the configured modules as magpied would (without listening), so that
 * what they hook, such as "user-deleted", happens here too.
 */
static int
ctl_modules_start(struct ctl *ctl)
{
	const char *error = NULL;

	mp_srv.conf = ctl->conf;
	mp_srv.store = ctl->store;
	if ((mp_srv.base = event_base_new()) == NULL) {
		ctl_warnx("event_base_new failed");
		return -1;
	}
	mp_router_init();
	if (mp_modules_open(ctl->conf, ctl_report, NULL) == -1)
		return -1;
	ctl->modules = true;
	if (mp_modules_start(&error) == -1) {
		ctl_warnx("%s", error);
		return -1;
	}
	return 0;
}

struct ctl_data {
	struct ctl	*ctl;
	const char	*db;
	const char	*bare;		/* "user@host" */
	const char	*account;	/* "host\0user" */
	size_t		 alen;
	long		 count;
};

static void
ctl_data_print(const char *db, const struct mp_val *key)
{
	const unsigned char *p = key->data;

	printf("%s\t", db);
	for (size_t i = 0; i < key->len; i++) {
		ucs4_t uc;
		int n = u8_mbtoucr(&uc, p + i, key->len - i);

		if (p[i] == '\0')
			putchar('|');
		else if (n > 1) {
			/* Valid UTF-8 (a JID) as it is; other bytes escaped. */
			fwrite(p + i, 1, (size_t)n, stdout);
			i += (size_t)n - 1;
		} else if (p[i] < 0x20 || p[i] >= 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
	putchar('\n');
}

static int
ctl_data_key(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct ctl_data *d = arg;

	ctl_data_print(d->db, key);
	d->count++;
	return 0;
}

/* Every key of the account: "<bare>", "<bare>\0...", and its account record. */
static void
ctl_data_db(const char *name, void *arg)
{
	struct ctl_data *d = arg;
	struct mp_txn *txn;
	struct mp_db *db;
	struct mp_val v;
	const char *error = NULL;
	size_t bl = strlen(d->bare);
	char *start = mp_arena_alloc(d->ctl->arena, bl + 1);
	char *end = mp_arena_alloc(d->ctl->arena, bl + 1);

	memcpy(start, d->bare, bl);
	memcpy(end, d->bare, bl);
	start[bl] = '\0';
	end[bl] = '\1';
	if (mp_db_open(d->ctl->store, name, &db, &error) == -1 ||
	    mp_txn_read(d->ctl->store, &txn, &error) == -1) {
		ctl_warnx("%s: %s", name, error != NULL ? error : "failed");
		d->count = -1;
		return;
	}
	d->db = name;
	if (mp_txn_get(txn, db, d->bare, bl, &v) == 1) {
		struct mp_val k = { d->bare, bl };

		ctl_data_key(&k, &v, d);
	}
	if (mp_txn_get(txn, db, d->account, d->alen, &v) == 1) {
		struct mp_val k = { d->account, d->alen };

		ctl_data_key(&k, &v, d);
	}
	mp_txn_scan(txn, db, start, bl + 1, end, bl + 1, false, ctl_data_key,
	    d);
	mp_txn_abort(txn);
}

static int
ctl_user_data(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_data d = { .ctl = ctl };
	struct mp_jid jid;
	const char *error = NULL;
	char *acc;

	if (argc != 1) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_load(ctl) == -1 || ctl_user_jid(ctl, argv[0], &jid) == -1 ||
	    ctl_store_open(ctl) == -1)
		return CTL_FAIL;
	d.bare = mp_jid_bare(ctl->arena, &jid);
	d.alen = strlen(jid.domain) + 1 + strlen(jid.local);
	acc = mp_arena_alloc(ctl->arena, d.alen + 1);
	memcpy(acc, jid.domain, strlen(jid.domain) + 1);
	memcpy(acc + strlen(jid.domain) + 1, jid.local, strlen(jid.local));
	d.account = acc;
	if (mp_store_db_names(ctl->store, ctl_data_db, &d, &error) == -1) {
		ctl_warnx("%s", error != NULL ? error : "cannot list databases");
		return CTL_FAIL;
	}
	return d.count < 0 ? CTL_FAIL : CTL_OK;
}

static int
ctl_user(struct ctl *ctl, int argc, char **argv)
{
	const char *cmd, *error = NULL;
	struct mp_jid jid;
	char *password = NULL;
	unsigned iterations;
	int r;

	if (argc < 1) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	cmd = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "list") == 0) {
		if (ctl_load(ctl) == -1)
			return CTL_FAIL;
		return ctl_user_list(ctl, argc, argv);
	}
	if (strcmp(cmd, "data") == 0)
		return ctl_user_data(ctl, argc, argv);
	if (strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0) {
		if (argc < 1 || argc > 2) {
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	} else if (strcmp(cmd, "del") == 0) {
		if (argc != 1) {
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	} else {
		ctl_warnx("unknown user command \"%s\"", cmd);
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_load(ctl) == -1 || ctl_user_jid(ctl, argv[0], &jid) == -1)
		return CTL_FAIL;
	if (strcmp(cmd, "del") != 0) {
		password = ctl_password(argc == 2 ? argv[1] : NULL, argv[0]);
		if (password == NULL)
			return CTL_FAIL;
		if (password[0] == '\0') {
			ctl_warnx("the password must not be empty");
			ctl_password_free(password);
			return CTL_FAIL;
		}
		if (strlen(password) > CTL_PASSWORD_MAX) {
			ctl_warnx("the password is longer than %d bytes",
			    CTL_PASSWORD_MAX);
			ctl_password_free(password);
			return CTL_FAIL;
		}
	}
	if (ctl_store_open(ctl) == -1) {
		ctl_password_free(password);
		return CTL_FAIL;
	}
	iterations = (unsigned)ctl->conf->auth.iterations;
	if (strcmp(cmd, "add") == 0)
		r = mp_account_add(jid.domain, jid.local, password, iterations,
		    &error);
	else if (strcmp(cmd, "passwd") == 0)
		r = mp_account_passwd(jid.domain, jid.local, password,
		    iterations, &error);
	else if (ctl_modules_start(ctl) == -1)
		r = -1, error = "modules did not start";
	else
		r = mp_user_delete(jid.domain, jid.local, &error);
	ctl_password_free(password);
	if (r == -1) {
		ctl_warnx("%s@%s: %s", jid.local, jid.domain,
		    error != NULL ? error : "failed");
		return CTL_FAIL;
	}
	return CTL_OK;
}

static const char *const ctl_sub_names[] = {
	[MP_SUB_NONE] = "none", [MP_SUB_TO] = "to", [MP_SUB_FROM] = "from",
	[MP_SUB_BOTH] = "both",
};

static void
ctl_roster_line(const struct mp_roster_item *it, void *arg)
{
	printf("%s %s%s", it->contact, ctl_sub_names[it->state.sub],
	    it->state.pending_out ? "+ask" : "");
	printf(" \"%s\"", it->name != NULL ? it->name : "");
	for (size_t i = 0; i < it->ngroups; i++)
		printf(" [%s]", it->groups[i]);
	printf("\n");
}

/*
 * roster list|add|del through the roster module's provider. Run beside a
 * live server, the change is stored but its clients get no roster push.
 */
static int
ctl_roster(struct ctl *ctl, int argc, char **argv)
{
	const struct mp_roster_api *api;
	struct mp_jid user, contact;
	const char *cmd, *error = NULL, *ubare, *cbare;
	int r;

	if (argc < 2 || (strcmp(argv[0], "list") == 0 && argc != 2) ||
	    (strcmp(argv[0], "del") == 0 && argc != 3) ||
	    (strcmp(argv[0], "add") == 0 && argc < 3) ||
	    (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "add") != 0 &&
	    strcmp(argv[0], "del") != 0)) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	cmd = argv[0];
	if (ctl_load(ctl) == -1 || ctl_user_jid(ctl, argv[1], &user) == -1)
		return CTL_FAIL;
	ubare = mp_jid_bare(ctl->arena, &user);
	cbare = NULL;
	if (argc >= 3) {
		if (mp_jid_parse(ctl->arena, argv[2], &contact, &error) == -1 ||
		    contact.resource != NULL) {
			ctl_warnx("%s: not a bare JID%s%s", argv[2],
			    error != NULL ? ": " : "", error ? error : "");
			return CTL_FAIL;
		}
		cbare = mp_jid_bare(ctl->arena, &contact);
	}
	if (ctl_store_open(ctl) == -1 || ctl_modules_start(ctl) == -1)
		return CTL_FAIL;
	if ((api = mp_provider(MP_ROSTER_PROVIDER)) == NULL) {
		ctl_warnx("the roster module is not enabled in %s",
		    ctl->conf_path);
		return CTL_FAIL;
	}
	if (mp_account_exists(user.domain, user.local) != 1) {
		ctl_warnx("%s: no such user", ubare);
		return CTL_FAIL;
	}
	if (strcmp(cmd, "list") == 0)
		return api->list(ubare, false, ctl_roster_line, NULL) == -1 ?
		    CTL_FAIL : CTL_OK;
	if (strcmp(cmd, "add") == 0)
		r = api->set_item(ubare, cbare, argc >= 4 ? argv[3] : NULL,
		    (const char *const *)(argc >= 5 ? argv + 4 : NULL),
		    argc >= 5 ? (size_t)(argc - 4) : 0, &error);
	else {
		r = api->remove_item(ubare, cbare, &error);
		if (r == 0) {
			ctl_warnx("%s has no item %s", ubare, cbare);
			return CTL_FAIL;
		}
	}
	if (r == -1) {
		ctl_warnx("%s: %s", ubare, error != NULL ? error : "failed");
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* Makes the certificates folder (and its parents) when missing. */
static int
ctl_mkdirs(const char *path)
{
	char *p = mp_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; rc == 0; s++) {
		bool end = *s == '\0';

		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			ctl_warnx("%s: %s", p, strerror(errno));
			rc = -1;
		}
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return rc;
}

static int
ctl_cert(struct ctl *ctl, int argc, char **argv)
{
	const struct mp_host_conf *h;
	const char *domain, *error = NULL, *crt, *key;
	struct stat st;
	int ch;

	optind = 0;
	while ((ch = getopt(argc, argv, "+f")) != -1) {
		if (ch != 'f') {
			ctl_warnx("cert: unknown option -%c", optopt);
			ctl_usage(stderr);
			return CTL_USAGE;
		}
		ctl->force = true;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_load(ctl) == -1)
		return CTL_FAIL;
	if (mp_jid_prep_domain(ctl->arena, argv[0], strlen(argv[0]), &domain,
	    &error) == -1) {
		ctl_warnx("%s: not a valid domain: %s", argv[0],
		    error != NULL ? error : "rejected");
		return CTL_FAIL;
	}
	if ((h = ctl_host(ctl->conf, domain)) == NULL) {
		ctl_warnx("%s: not a host of %s", argv[0], ctl->conf_path);
		return CTL_FAIL;
	}
	crt = mp_arena_printf(ctl->arena, "%s/%s.crt", ctl->conf->tls.certs,
	    domain);
	key = mp_arena_printf(ctl->arena, "%s/%s.key", ctl->conf->tls.certs,
	    domain);
	if (!ctl->force) {
		if (stat(crt, &st) == 0 || stat(key, &st) == 0) {
			ctl_warnx("%s: already exists (-f replaces it)",
			    stat(crt, &st) == 0 ? crt : key);
			return CTL_FAIL;
		}
	}
	if (ctl_mkdirs(ctl->conf->tls.certs) == -1)
		return CTL_FAIL;
	if (mp_cert_generate(domain, crt, key, &error) == -1) {
		ctl_warnx("%s: cannot make a certificate: %s", domain,
		    error != NULL ? error : "failed");
		return CTL_FAIL;
	}
	printf("%s\n%s\n", crt, key);
	if (strcmp(h->certificate, crt) != 0)
		ctl_warnx("note: %s is configured to use %s, not this file",
		    domain, h->certificate);
	return CTL_OK;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = { .conf_path = CTL_DEFAULT_CONF };
	const char *cmd;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt(argc, argv, "+c:fh")) != -1) {
		switch (ch) {
		case 'c':
			ctl.conf_path = optarg;
			break;
		case 'f':
			ctl.force = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			if (optopt == 'c')
				ctl_warnx("-c needs a file name");
			else
				ctl_warnx("unknown option -%c", optopt);
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	/* Library chatter would bury the one line the user needs. */
	mp_log_set_level(MP_LOG_WARN);
	ctl.arena = mp_arena_new();
	cmd = argv[0];
	if (strcmp(cmd, "check") == 0)
		rc = ctl_check(&ctl, argc - 1, argv + 1);
	else if (strcmp(cmd, "user") == 0)
		rc = ctl_user(&ctl, argc - 1, argv + 1);
	else if (strcmp(cmd, "roster") == 0)
		rc = ctl_roster(&ctl, argc - 1, argv + 1);
	else if (strcmp(cmd, "cert") == 0)
		rc = ctl_cert(&ctl, argc, argv);
	else {
		ctl_warnx("unknown command \"%s\"", cmd);
		ctl_usage(stderr);
		rc = CTL_USAGE;
	}
	if (ctl.modules) {
		mp_modules_close();
		mp_hooks_reset();
	}
	if (mp_srv.base != NULL)
		event_base_free(mp_srv.base);
	mp_store_close(ctl.store);
	mp_config_free(ctl.conf);
	mp_arena_free(ctl.arena);
	return rc;
}
