/* fuzz_c2s.c - libFuzzer target: a whole magpied core in-process, fed a client stream over a socketpair. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/log.h>
#include <magpie/store.h>

#include "accounts.h"
#include "c2s.h"
#include "config.h"
#include "modules.h"
#include "router.h"
#include "scram.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "tls.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * Input: byte 0 picks the mode (below), byte 1 the chunking; the rest is
 * what the client sends. The server is set up once per process, as
 * main.c does, with every module found beside the binary (modules/, or
 * $FUZZ_C2S_MODULE_DIR; FUZZ_C2S_MODULES=none for none); each input gets
 * a fresh session that is fully torn down before the next one.
 */
enum c2s_fz_mode {
	FZ_RAW,		/* the input is the whole stream, header included */
	FZ_OPEN,	/* a stream header was sent: pre-auth stanzas */
	FZ_AUTHED,	/* SCRAM-SHA-1 done and the stream restarted: bind */
	FZ_BOUND,	/* and a resource bound: stanzas to the router */
};

#define FZ_HOST		"localhost"
#define FZ_USER		"fuzz"
#define FZ_PASS		"pencil"
#define FZ_CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define FZ_HEADER	"<?xml version='1.0'?><stream:stream " \
	"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/" \
	"streams' to='" FZ_HOST "' version='1.0'>"
#define FZ_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
/* Event loop turns before a step counts as stuck. */
#define FZ_MAX_TURNS	2000

static struct {
	char		 dir[128];
	int		 fd;		/* the client's end */
	int		 server_fd;	/* the session's end, while it lives */
	struct mp_buf	 rx;		/* what the server wrote, when kept */
	bool		 keep_rx;
	unsigned char	 client_key[20];
	struct mp_scram_creds creds;	/* SHA-1, as stored at start */
	unsigned long	 inputs;
	bool		 debug;		/* $FUZZ_C2S_DEBUG: show the traffic */
} fz = { .fd = -1, .server_fd = -1 };

/* libconfig 1.5 leaks on some scanner errors; not Magpie's memory. */
/* Quiet: the suppressed leaks would be listed after every input. */
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

static void
fz_die(const char *fmt, const char *arg)
{
	fprintf(stderr, "fuzz_c2s: ");
	fprintf(stderr, fmt, arg != NULL ? arg : "");
	fprintf(stderr, "\n");
	abort();
}

static void
fz_report(const char *msg, void *arg)
{
	fprintf(stderr, "fuzz_c2s: config: %s\n", msg);
	(*(int *)arg)++;
}

static bool
fz_alive(void)
{
	return mp_sessions_count() > 0;
}

/* Reads whatever the server wrote; kept only during the scripted login. */
static void
fz_drain(void)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(fz.fd, buf, sizeof(buf))) > 0) {
		if (fz.keep_rx)
			mp_buf_append(&fz.rx, buf, (size_t)n);
		if (fz.debug)
			fprintf(stderr, "S: %.*s\n", (int)n, buf);
	}
}

static void
fz_turn(void)
{
	event_base_loop(mp_srv.base, EVLOOP_NONBLOCK);
	fz_drain();
}

/* Writes everything unless the session goes away first. */
static void
fz_send(const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;
	int stuck = 0;

	while (len > 0 && fz_alive()) {
		n = write(fz.fd, p, len);
		if (n > 0 && fz.debug)
			fprintf(stderr, "C: %.*s\n", (int)n, p);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			stuck = 0;
		} else if (n == -1 && errno != EAGAIN && errno != EINTR)
			return;
		else if (++stuck > FZ_MAX_TURNS)
			return;	/* the server stopped reading */
		fz_turn();
	}
}

/* Turns the loop until the server has read all that was sent. */
static void
fz_settle(void)
{
	int unread = 0, quiet = 0;

	for (int i = 0; i < FZ_MAX_TURNS && fz_alive(); i++) {
		fz_turn();
		/* The server's end is open as long as its session exists. */
		if (!fz_alive())
			break;
		if (ioctl(fz.server_fd, FIONREAD, &unread) == 0 && unread > 0)
			quiet = 0;
		if (++quiet >= 3)
			break;
	}
}

static bool
fz_wait_for(const char *needle)
{
	for (int i = 0; i < FZ_MAX_TURNS && fz_alive(); i++) {
		fz_turn();
		if (fz.rx.len > 0 && strstr(fz.rx.data, needle) != NULL)
			return true;
	}
	return fz.rx.len > 0 && strstr(fz.rx.data, needle) != NULL;
}

static void
fz_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char *out)
{
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, klen, msg, mlen, out) != 0)
		fz_die("HMAC failed%s", NULL);
}

/* The client half of SCRAM-SHA-1 (RFC 5802), over the plain stream. */
static bool
fz_login(void)
{
	static const char first_bare[] = "n=" FZ_USER ",r=" FZ_CNONCE;
	gnutls_datum_t raw, enc = { NULL, 0 }, dec = { NULL, 0 };
	unsigned char sig[20], proof[20];
	struct mp_buf am = MP_BUF_INIT, msg = MP_BUF_INIT;
	char *start, *end, *nonce, *nend;
	bool ok = false;

	mp_buf_puts(&msg, "n,,");
	mp_buf_puts(&msg, first_bare);
	raw.data = (unsigned char *)msg.data;
	raw.size = (unsigned)msg.len;
	gnutls_base64_encode2(&raw, &enc);
	mp_buf_reset(&fz.rx);
	mp_buf_reset(&msg);
	mp_buf_printf(&msg, "<auth xmlns='" FZ_NS_SASL "' mechanism="
	    "'SCRAM-SHA-1'>%.*s</auth>", (int)enc.size, (char *)enc.data);
	gnutls_free(enc.data);
	fz_send(msg.data, msg.len);
	if (!fz_wait_for("</challenge>") ||
	    (start = strstr(fz.rx.data, "<challenge")) == NULL ||
	    (start = strchr(start, '>')) == NULL ||
	    (end = strstr(start, "</challenge>")) == NULL)
		goto out;
	enc.data = (unsigned char *)start + 1;
	enc.size = (unsigned)(end - start - 1);
	if (gnutls_base64_decode2(&enc, &dec) < 0)
		goto out;
	/* server-first: r=<nonce>,s=...,i=... */
	mp_buf_append(&am, first_bare, sizeof(first_bare) - 1);
	mp_buf_putc(&am, ',');
	mp_buf_append(&am, dec.data, dec.size);
	mp_buf_puts(&am, ",c=biws,");
	nonce = strstr(am.data + sizeof(first_bare), "r=");
	if (nonce == NULL || (nend = strchr(nonce, ',')) == NULL)
		goto out;
	mp_buf_append(&am, nonce, (size_t)(nend - nonce));
	fz_hmac(fz.creds.stored_key, 20, am.data, am.len, sig);
	for (int i = 0; i < 20; i++)
		proof[i] = fz.client_key[i] ^ sig[i];
	mp_buf_reset(&msg);
	mp_buf_puts(&msg, "c=biws,");
	mp_buf_append(&msg, nonce, (size_t)(nend - nonce));
	mp_buf_puts(&msg, ",p=");
	raw.data = proof;
	raw.size = sizeof(proof);
	enc.data = NULL;
	gnutls_base64_encode2(&raw, &enc);
	mp_buf_append(&msg, enc.data, enc.size);
	gnutls_free(enc.data);
	raw.data = (unsigned char *)msg.data;
	raw.size = (unsigned)msg.len;
	enc.data = NULL;
	gnutls_base64_encode2(&raw, &enc);
	mp_buf_reset(&msg);
	mp_buf_printf(&msg, "<response xmlns='" FZ_NS_SASL "'>%.*s"
	    "</response>", (int)enc.size, (char *)enc.data);
	gnutls_free(enc.data);
	mp_buf_reset(&fz.rx);
	fz_send(msg.data, msg.len);
	ok = fz_wait_for("</success>");
out:
	gnutls_free(dec.data);
	mp_buf_free(&am);
	mp_buf_free(&msg);
	return ok;
}

/* Gets the session to the mode's starting point; false if it did not. */
static bool
fz_prepare(enum c2s_fz_mode mode)
{
	static const char bind[] = "<iq type='set' id='fz-bind'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>fuzz"
	    "</resource></bind></iq>";

	if (mode == FZ_RAW)
		return true;
	fz.keep_rx = true;
	mp_buf_reset(&fz.rx);
	fz_send(FZ_HEADER, sizeof(FZ_HEADER) - 1);
	if (!fz_wait_for("</stream:features>"))
		return false;
	if (mode == FZ_OPEN)
		return true;
	if (!fz_login())
		return false;
	mp_buf_reset(&fz.rx);
	fz_send(FZ_HEADER, sizeof(FZ_HEADER) - 1);
	if (!fz_wait_for("</stream:features>"))
		return false;
	if (mode == FZ_AUTHED)
		return true;
	mp_buf_reset(&fz.rx);
	fz_send(bind, sizeof(bind) - 1);
	return fz_wait_for("</jid>");
}

static int
fz_any_key(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	return 1;
}

struct fz_wipe {
	struct mp_db	*db;
};

static int
fz_collect_key(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct mp_buf *keys = arg;
	size_t len = key->len;

	mp_buf_append(keys, &len, sizeof(len));
	mp_buf_append(keys, key->data, key->len);
	return 0;
}

static int
fz_wipe_db(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct fz_wipe *w = arg;
	struct mp_buf keys = MP_BUF_INIT;
	size_t off = 0, len;

	if (mp_txn_scan(txn, w->db, NULL, 0, NULL, 0, false, fz_collect_key,
	    &keys) == -1) {
		mp_buf_free(&keys);
		*error_r = "scan failed";
		return -1;
	}
	while (off + sizeof(len) <= keys.len) {
		memcpy(&len, keys.data + off, sizeof(len));
		off += sizeof(len);
		mp_txn_del(txn, w->db, keys.data + off, len);
		off += len;
	}
	mp_buf_free(&keys);
	return 0;
}

static void
fz_wipe_name(const char *name, void *arg)
{
	struct fz_wipe w;
	struct mp_txn *txn;
	const char *err;
	long n;

	/* Accounts stay; the user's own credentials are checked apart. */
	if (strcmp(name, "accounts") == 0 ||
	    mp_db_open(mp_srv.store, name, &w.db, &err) == -1 ||
	    mp_txn_read(mp_srv.store, &txn, &err) == -1)
		return;
	n = mp_txn_scan(txn, w.db, NULL, 0, NULL, 0, false, fz_any_key, NULL);
	mp_txn_abort(txn);
	if (n > 0)
		mp_store_write(mp_srv.store, fz_wipe_db, &w, &err);
}

/*
 * What the modules stored for the user (roster, offline messages, vCard)
 * is removed, and a changed or removed password put back, so that every
 * input starts from the same store.
 */
static void
fz_restore_store(void)
{
	struct mp_scram_creds c;
	const char *err;

	mp_store_db_names(mp_srv.store, fz_wipe_name, NULL, &err);
	if (mp_account_creds(FZ_HOST, FZ_USER, MP_SCRAM_SHA1, &c) == 1 &&
	    c.salt_len == fz.creds.salt_len &&
	    memcmp(c.salt, fz.creds.salt, c.salt_len) == 0 &&
	    memcmp(c.stored_key, fz.creds.stored_key, 20) == 0 &&
	    c.iterations == fz.creds.iterations)
		return;
	mp_account_del(FZ_HOST, FZ_USER, &err);
	if (mp_account_add(FZ_HOST, FZ_USER, FZ_PASS, MP_SCRAM_MIN_ITER,
	    &err) == -1)
		fz_die("cannot add the user back: %s", err);
	if (mp_account_creds(FZ_HOST, FZ_USER, MP_SCRAM_SHA1, &fz.creds) != 1)
		fz_die("no credentials after adding the user%s", NULL);
	/* Same password, new salt: the client key changes. */
	{
		unsigned char salted[20];
		gnutls_datum_t key = { (unsigned char *)FZ_PASS,
		    sizeof(FZ_PASS) - 1 };
		gnutls_datum_t salt = { fz.creds.salt,
		    (unsigned)fz.creds.salt_len };

		if (gnutls_pbkdf2(GNUTLS_MAC_SHA1, &key, &salt,
		    fz.creds.iterations, salted, sizeof(salted)) != 0)
			fz_die("PBKDF2 failed%s", NULL);
		fz_hmac(salted, 20, "Client Key", 10, fz.client_key);
	}
}

static void
fz_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];
	struct stat st;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				fz_rmtree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static void
fz_cleanup(void)
{
	if (fz.dir[0] != '\0')
		fz_rmtree(fz.dir);
}

/* The module names found as mod_<name>.so in dir, as a libconfig array. */
static void
fz_find_modules(const char *dir, struct mp_buf *list)
{
	struct dirent *e;
	size_t len;
	DIR *d;

	mp_buf_puts(list, "[");
	if ((d = opendir(dir)) != NULL) {
		bool first = true;

		while ((e = readdir(d)) != NULL) {
			len = strlen(e->d_name);
			if (len < 8 || strncmp(e->d_name, "mod_", 4) != 0 ||
			    strcmp(e->d_name + len - 3, ".so") != 0)
				continue;
			mp_buf_printf(list, "%s\"%.*s\"", first ? " " : ", ",
			    (int)(len - 7), e->d_name + 4);
			first = false;
		}
		closedir(d);
	}
	mp_buf_puts(list, " ]");
}

static void
fz_null_report(const char *msg, void *arg)
{
	(*(int *)arg)++;
}

static struct mp_config *
fz_write_config(const char *path, const char *moddir, const char *modules,
    bool limits)
{
	struct mp_config *c;
	FILE *f;
	int nerr = 0;

	if ((f = fopen(path, "w")) == NULL)
		fz_die("cannot write %s", path);
	fprintf(f,
	    "listen = ( { type = \"c2s\"; address = \"127.0.0.1\"; "
	    "port = 5222; } );\n"
	    "hosts = ( { domain = \"" FZ_HOST "\"; } );\n"
	    "modules = %s;\n"
	    "module_path = \"%s\";\n"
	    "tls = { certs = \"%s/certs\"; required = false; "
	    "self_signed = true; };\n"
	    "storage = { path = \"%s/data\"; map_size_mb = 8; "
	    "max_map_size_mb = 64; };\n"
	    "auth = { iterations = 4096; allow_plain = true; "
	    "max_failures = 3; };\n"
	    "c2s = { max_stanza_size = 65536; max_stanza_size_preauth = "
	    "10240; max_depth = 32; preauth_timeout = 30; idle_timeout = "
	    "300; ping_timeout = 30; };\n"
	    "log = { level = \"error\"; };\n", modules, moddir, fz.dir,
	    fz.dir);
	/* Per-IP limits would carry state from one input to the next. */
	if (limits)
		fprintf(f, "limits = { max_connections_per_ip = 0; "
		    "max_new_connections_per_ip = 0; read_rate = 0; "
		    "max_send_queue = 0; max_sessions_per_user = 0; "
		    "max_auth_failures_per_ip = 0; };\n");
	fclose(f);
	c = mp_config_load(path, limits ? fz_null_report : fz_report, &nerr);
	return c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mp_store_lmdb_conf sc;
	struct mp_buf mods = MP_BUF_INIT;
	char path[PATH_MAX], moddir[PATH_MAX];
	const char *err, *env, *slash;
	int nerr = 0;

	signal(SIGPIPE, SIG_IGN);
	fz.debug = getenv("FUZZ_C2S_DEBUG") != NULL;
	mp_log_set_level(MP_LOG_ERROR);
	snprintf(fz.dir, sizeof(fz.dir), "%s/magpie-fuzz-c2s-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fz.dir) == NULL)
		fz_die("mkdtemp %s failed", fz.dir);
	atexit(fz_cleanup);

	if ((env = getenv("FUZZ_C2S_MODULE_DIR")) != NULL)
		snprintf(moddir, sizeof(moddir), "%s", env);
	else if ((slash = strrchr((*argv)[0], '/')) != NULL)
		snprintf(moddir, sizeof(moddir), "%.*s/modules",
		    (int)(slash - (*argv)[0]), (*argv)[0]);
	else
		snprintf(moddir, sizeof(moddir), "modules");
	/* Relative paths would resolve beside the config file. */
	if (realpath(moddir, path) != NULL)
		snprintf(moddir, sizeof(moddir), "%s", path);
	if ((env = getenv("FUZZ_C2S_MODULES")) != NULL &&
	    strcmp(env, "none") == 0)
		mp_buf_puts(&mods, "[ ]");
	else
		fz_find_modules(moddir, &mods);
	fprintf(stderr, "fuzz_c2s: modules %s from %s\n", mods.data, moddir);

	snprintf(path, sizeof(path), "%s/magpie.conf", fz.dir);
	/* With limits off if this tree knows the section, else without it. */
	if ((mp_srv.conf = fz_write_config(path, moddir, mods.data,
	    true)) == NULL &&
	    (mp_srv.conf = fz_write_config(path, moddir, mods.data,
	    false)) == NULL)
		fz_die("the configuration does not load%s", NULL);
	mp_buf_free(&mods);
	if (mp_modules_open(mp_srv.conf, fz_report, &nerr) == -1)
		fz_die("modules do not open%s", NULL);
	mp_log_set_level(fz.debug ? MP_LOG_DEBUG : MP_LOG_ERROR);

	sc.path = mp_srv.conf->storage.path;
	sc.map_size = (size_t)mp_srv.conf->storage.map_size_mb << 20;
	sc.max_map_size = (size_t)mp_srv.conf->storage.max_map_size_mb << 20;
	if (mp_store_lmdb_open(&sc, &mp_srv.store, &err) == -1)
		fz_die("storage: %s", err);
	mp_store_set(mp_srv.store);
	if (mp_accounts_init(mp_srv.store, &err) == -1)
		fz_die("accounts: %s", err);
	if (gnutls_global_init() < 0)
		fz_die("gnutls_global_init failed%s", NULL);
	if (mp_tls_init(mp_srv.conf, &err) == -1)
		fz_die("TLS: %s", err);
	if ((mp_srv.base = event_base_new()) == NULL)
		fz_die("event_base_new failed%s", NULL);
	mp_srv.started = time(NULL);
	mp_router_init();
	if (mp_modules_start(&err) == -1)
		fz_die("modules: %s", err);
	memset(&fz.creds, 0, sizeof(fz.creds));
	fz_restore_store();
	return 0;
}

static uint32_t
fz_rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunk_max[] = { 1, 5, 40, 700 };
	struct sockaddr_in peer;
	enum c2s_fz_mode mode;
	uint32_t rs;
	size_t off, n, cmax;
	int sv[2], i;

	if (size < 2)
		return 0;
	mode = (enum c2s_fz_mode)(data[0] & 3);
	rs = data[1] | 0x100;
	cmax = data[1] == 0 ? 0 : chunk_max[data[1] & 3];
	data += 2;
	size -= 2;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fz_die("socketpair: %s", strerror(errno));
	fz.fd = sv[1];
	fz.server_fd = sv[0];
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(0x7f000001);
	peer.sin_port = htons((uint16_t)(40000 + fz.inputs++ % 20000));
	mp_c2s_accept(sv[0], (struct sockaddr *)&peer, false);

	if (!fz_prepare(mode))
		fz_die("the scripted login failed; server said:\n%s",
		    fz.rx.data != NULL ? fz.rx.data : "(nothing)");
	fz.keep_rx = false;
	mp_buf_free(&fz.rx);

	for (off = 0; off < size && fz_alive(); off += n) {
		n = cmax == 0 ? size - off : 1 + fz_rng(&rs) % cmax;
		if (n > size - off)
			n = size - off;
		fz_send(data + off, n);
		fz_settle();
	}
	fz_settle();

	/* The client hangs up: the session must go, whatever its state. */
	close(fz.fd);
	for (i = 0; i < 100000 && fz_alive(); i++)
		event_base_loop(mp_srv.base, EVLOOP_NONBLOCK);
	if (fz_alive())
		fz_die("a session outlived its connection%s", NULL);
	fz.fd = fz.server_fd = -1;
	fz_restore_store();
	return 0;
}
