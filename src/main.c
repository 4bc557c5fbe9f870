/* main.c - magpied: reads the config, opens storage, TLS, modules and listeners, runs the loop. */
#include "magpie-build.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>

#include <magpie/module.h>

#include "accounts.h"
#include "c2s.h"
#include "config.h"
#include "hooks.h"
#include "listener.h"
#include "modules.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "tls.h"

#define SHUTDOWN_GRACE_MS	3000

static struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
static long drain_left;

static void
usage(void)
{
	fprintf(stderr, "usage: magpied [-fdh] [-c FILE]\n"
	    "  -c FILE  configuration file (default %s/magpie/magpie.conf)\n"
	    "  -f       stay in the foreground\n"
	    "  -d       debug logging\n", MP_SYSCONFDIR);
	exit(2);
}

static void
report_stderr(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
	*(int *)arg += 1;
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 50000 };

	drain_left -= 50;
	if (mp_sessions_count() == 0 || drain_left <= 0) {
		event_base_loopexit(mp_srv.base, NULL);
		return;
	}
	evtimer_add(ev_drain, &tv);
}

static void
on_terminate(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { 0, 0 };

	if (mp_srv.stopping)
		return;
	mp_srv.stopping = true;
	mp_log_info("signal %d: shutting down", (int)sig);
	mp_listeners_close();
	mp_c2s_shutdown_all();
	drain_left = SHUTDOWN_GRACE_MS;
	ev_drain = evtimer_new(mp_srv.base, drain_check, NULL);
	evtimer_add(ev_drain, &tv);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	const char *err;

	if (mp_tls_reload(mp_srv.conf, &err) == -1)
		mp_log_warnx("SIGHUP: certificates not reloaded: %s", err);
	else
		mp_log_info("SIGHUP: certificates reloaded");
}

static void
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		mp_log_warn("pidfile %s", path);
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static enum mp_log_level
level_of(const char *name, bool debug)
{
	if (debug || strcmp(name, "debug") == 0)
		return MP_LOG_DEBUG;
	if (strcmp(name, "warn") == 0)
		return MP_LOG_WARN;
	if (strcmp(name, "error") == 0)
		return MP_LOG_ERROR;
	return MP_LOG_INFO;
}

/* Each client is a file: use every descriptor the hard limit allows. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	/* No process may have an unlimited number: the kernel caps it. */
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		mp_log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
		    (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char **argv)
{
	const char *path = MP_SYSCONFDIR "/magpie/magpie.conf", *err;
	struct mp_store_lmdb_conf sc;
	bool foreground = false, debug = false;
	int ch, nerr = 0;

	while ((ch = getopt(argc, argv, "c:fdh")) != -1)
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = true;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((mp_srv.conf = mp_config_load(path, report_stderr, &nerr)) == NULL ||
	    mp_modules_open(mp_srv.conf, report_stderr, &nerr) == -1)
		mp_fatalx("%s: %d configuration error%s", path, nerr,
		    nerr == 1 ? "" : "s");
	mp_log_set_level(level_of(mp_srv.conf->log.level, debug));

	sc.path = mp_srv.conf->storage.path;
	sc.map_size = (size_t)mp_srv.conf->storage.map_size_mb << 20;
	sc.max_map_size = (size_t)mp_srv.conf->storage.max_map_size_mb << 20;
	if (mp_store_lmdb_open(&sc, &mp_srv.store, &err) == -1)
		mp_fatalx("storage %s: %s", sc.path, err);
	mp_store_set(mp_srv.store);
	if (mp_accounts_init(mp_srv.store, &err) == -1)
		mp_fatalx("accounts: %s", err);
	if (gnutls_global_init() < 0)
		mp_fatalx("gnutls_global_init failed");
	if (mp_tls_init(mp_srv.conf, &err) == -1)
		mp_fatalx("TLS: %s", err);

	if (!foreground && daemon(0, 1) == -1)
		mp_fatal("daemon");
	if ((mp_srv.base = event_base_new()) == NULL)
		mp_fatalx("event_base_new failed");
	mp_srv.started = time(NULL);
	mp_router_init();
	mp_c2s_init();
	if (mp_listeners_open(mp_srv.conf, &err) == -1)
		mp_fatalx("%s", err);
	if (mp_modules_start(&err) == -1)
		mp_fatalx("%s", err);
	if (mp_srv.conf->pidfile != NULL)
		write_pidfile(mp_srv.conf->pidfile);

	ev_term = evsignal_new(mp_srv.base, SIGTERM, on_terminate, NULL);
	ev_int = evsignal_new(mp_srv.base, SIGINT, on_terminate, NULL);
	ev_hup = evsignal_new(mp_srv.base, SIGHUP, on_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	mp_log_info("magpied %s started (%zu host%s)", PACKAGE_VERSION,
	    mp_srv.conf->nhosts, mp_srv.conf->nhosts == 1 ? "" : "s");

	event_base_dispatch(mp_srv.base);

	/* Whatever did not close in the grace period goes now. */
	mp_c2s_free_all();
	mp_modules_close();
	mp_hooks_reset();
	mp_listeners_close();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	if (ev_drain != NULL)
		event_free(ev_drain);
	event_base_free(mp_srv.base);
	mp_tls_shutdown();
	mp_store_close(mp_srv.store);
	if (mp_srv.conf->pidfile != NULL)
		unlink(mp_srv.conf->pidfile);
	mp_config_free(mp_srv.conf);
	gnutls_global_deinit();
	mp_log_info("stopped");
	return 0;
}
