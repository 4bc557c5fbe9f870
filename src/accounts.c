/* accounts.c - user accounts and their salted SCRAM credentials, stored. */
#include <stdint.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/jid.h>
#include <magpie/log.h>
#include <magpie/store.h>

#include "accounts.h"
#include "precis.h"
#include "scram.h"

/*
 * Keys are "<host>\0<user>" rather than "<user>@<host>": the users of one
 * host are then one contiguous range, listed by a range scan in user order.
 * Neither part can hold a NUL, so the split is unambiguous.
 *
 * A record is: version (1 byte), count (1 byte), then per hash: hash id
 * (1), iterations (4, big-endian), salt length (1), salt, key length (1),
 * stored key, server key.
 */
#define ACCOUNTS_VERSION	1
/* Keys must fit every backend: 511 bytes is the tightest limit. */
#define ACCOUNTS_KEY_MAX	511

static struct mp_store	*accounts_store;
static struct mp_db	*accounts_db;

struct accounts_key {
	const char	*host;
	const char	*user;
	char		*data;
	size_t		 len;
};

enum accounts_op {
	ACCOUNTS_ADD,
	ACCOUNTS_PASSWD,
	ACCOUNTS_DEL,
};

struct accounts_write {
	enum accounts_op	 op;
	struct accounts_key	*key;
	const struct mp_buf	*rec;
};

int
mp_accounts_init(struct mp_store *s, const char **error_r)
{
	struct mp_db *db;

	if (mp_db_open(s, "accounts", &db, error_r) == -1)
		return -1;
	accounts_store = s;
	accounts_db = db;
	return 0;
}

static int
accounts_ready(const char **error_r)
{
	if (accounts_store == NULL || accounts_db == NULL) {
		*error_r = "accounts not initialised";
		return -1;
	}
	return 0;
}

/* Prepares host and user and builds the key in the arena. */
static int
accounts_key(struct mp_arena *a, const char *host, const char *user,
    struct accounts_key *k, const char **error_r)
{
	const char *err;
	size_t hl, ul;

	if (host == NULL || *host == '\0') {
		*error_r = "empty host";
		return -1;
	}
	if (mp_jid_prep_domain(a, host, strlen(host), &k->host, &err) == -1) {
		mp_log_debug("accounts: host %s: %s", host, err);
		*error_r = "invalid host";
		return -1;
	}
	if (user == NULL || *user == '\0') {
		*error_r = "empty username";
		return -1;
	}
	/* PRECIS UsernameCaseMapped plus the characters JIDs forbid. */
	if (mp_jid_prep_local(a, user, strlen(user), &k->user, &err) == -1) {
		mp_log_debug("accounts: username %s: %s", user, err);
		*error_r = "invalid username";
		return -1;
	}
	hl = strlen(k->host);
	ul = strlen(k->user);
	if (ul == 0) {
		*error_r = "empty username";
		return -1;
	}
	if (hl + 1 + ul > ACCOUNTS_KEY_MAX) {
		*error_r = "username too long";
		return -1;
	}
	k->len = hl + 1 + ul;
	k->data = mp_arena_alloc(a, k->len + 1);
	memcpy(k->data, k->host, hl);
	memcpy(k->data + hl + 1, k->user, ul);
	return 0;
}

static void
accounts_encode(const struct mp_scram_creds *creds, struct mp_buf *b)
{
	unsigned char hdr[2] = { ACCOUNTS_VERSION, MP_SCRAM_NHASH };
	unsigned char e[7];

	mp_buf_append(b, hdr, sizeof(hdr));
	for (int h = 0; h < MP_SCRAM_NHASH; h++) {
		const struct mp_scram_creds *c = &creds[h];
		size_t kl = mp_scram_hash_len(c->hash);

		e[0] = (unsigned char)c->hash;
		e[1] = (unsigned char)(c->iterations >> 24);
		e[2] = (unsigned char)(c->iterations >> 16);
		e[3] = (unsigned char)(c->iterations >> 8);
		e[4] = (unsigned char)c->iterations;
		e[5] = (unsigned char)c->salt_len;
		mp_buf_append(b, e, 6);
		mp_buf_append(b, c->salt, c->salt_len);
		e[6] = (unsigned char)kl;
		mp_buf_append(b, &e[6], 1);
		mp_buf_append(b, c->stored_key, kl);
		mp_buf_append(b, c->server_key, kl);
	}
}

/*
 * Checks the whole record, then copies out the entry for hash h.
 * Returns 1 found, 0 no entry for h, -1 corrupt.
 */
static int
accounts_decode(const unsigned char *p, size_t len, enum mp_scram_hash h,
    struct mp_scram_creds *c_r)
{
	const unsigned char *end = p + len;
	unsigned seen = 0, n, iter;
	size_t sl, kl;
	int found = 0;

	if (len < 2 || p[0] != ACCOUNTS_VERSION)
		return -1;
	n = p[1];
	p += 2;
	while (n-- > 0) {
		struct mp_scram_creds c;

		if (end - p < 6 || p[0] >= MP_SCRAM_NHASH ||
		    (seen & (1u << p[0])) != 0)
			return -1;
		memset(&c, 0, sizeof(c));
		c.hash = (enum mp_scram_hash)p[0];
		seen |= 1u << p[0];
		iter = (unsigned)p[1] << 24 | (unsigned)p[2] << 16 |
		    (unsigned)p[3] << 8 | p[4];
		sl = p[5];
		p += 6;
		if (iter == 0 || sl == 0 || sl > MP_SCRAM_MAX_SALT ||
		    (size_t)(end - p) < sl + 1)
			return -1;
		c.iterations = iter;
		c.salt_len = sl;
		memcpy(c.salt, p, sl);
		p += sl;
		kl = *p++;
		if (kl != mp_scram_hash_len(c.hash) || kl > MP_SCRAM_MAX_KEY ||
		    (size_t)(end - p) < 2 * kl)
			return -1;
		memcpy(c.stored_key, p, kl);
		memcpy(c.server_key, p + kl, kl);
		p += 2 * kl;
		if (c.hash == h) {
			*c_r = c;
			found = 1;
		}
	}
	if (p != end) {
		memset(c_r, 0, sizeof(*c_r));
		return -1;
	}
	return found;
}

/* Derives the credentials for every hash; only they leave this function. */
static int
accounts_make_record(struct mp_arena *a, const char *password,
    unsigned iterations, struct mp_buf *rec, const char **error_r)
{
	struct mp_scram_creds creds[MP_SCRAM_NHASH];
	const char *pw, *err;
	int rc = 0;

	if (password == NULL || *password == '\0') {
		*error_r = "empty password";
		return -1;
	}
	if (iterations < MP_SCRAM_MIN_ITER) {
		*error_r = "iteration count too low";
		return -1;
	}
	if (mp_precis_opaque(a, password, strlen(password), &pw, &err) == -1) {
		mp_log_debug("accounts: password refused: %s", err);
		*error_r = "invalid password";
		return -1;
	}
	for (int h = 0; h < MP_SCRAM_NHASH && rc == 0; h++)
		rc = mp_scram_new_creds((enum mp_scram_hash)h, pw, iterations,
		    &creds[h], error_r);
	if (rc == 0)
		accounts_encode(creds, rec);
	/* Do not leave the password or its derivatives in freed memory. */
	if (pw != password)
		explicit_bzero((char *)pw, strlen(pw));
	explicit_bzero(creds, sizeof(creds));
	return rc;
}

static int
accounts_write_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct accounts_write *w = arg;
	struct mp_val v;
	int rc;

	rc = mp_txn_get(txn, accounts_db, w->key->data, w->key->len, &v);
	if (rc == -1) {
		*error_r = "storage error";
		return -1;
	}
	if (w->op == ACCOUNTS_ADD && rc == 1) {
		*error_r = "user exists";
		return -1;
	}
	if (w->op != ACCOUNTS_ADD && rc == 0) {
		*error_r = "no such user";
		return -1;
	}
	if (w->op == ACCOUNTS_DEL)
		rc = mp_txn_del(txn, accounts_db, w->key->data, w->key->len);
	else
		rc = mp_txn_put(txn, accounts_db, w->key->data, w->key->len,
		    w->rec->data, w->rec->len);
	if (rc == -1) {
		*error_r = "storage error";
		return -1;
	}
	return 0;
}

static int
accounts_set(enum accounts_op op, const char *host, const char *user,
    const char *password, unsigned iterations, const char **error_r)
{
	struct mp_arena *a;
	struct accounts_key k;
	struct accounts_write w;
	struct mp_buf rec = MP_BUF_INIT;
	int rc = -1;

	if (accounts_ready(error_r) == -1)
		return -1;
	a = mp_arena_new();
	if (accounts_key(a, host, user, &k, error_r) == -1)
		goto out;
	if (op != ACCOUNTS_DEL &&
	    accounts_make_record(a, password, iterations, &rec, error_r) == -1)
		goto out;
	w.op = op;
	w.key = &k;
	w.rec = &rec;
	rc = mp_store_write(accounts_store, accounts_write_fn, &w, error_r);
	if (rc == 0)
		mp_log_info("accounts: %s %s@%s", op == ACCOUNTS_ADD ? "added" :
		    op == ACCOUNTS_PASSWD ? "changed password of" : "deleted",
		    k.user, k.host);
out:
	if (rec.data != NULL)
		explicit_bzero(rec.data, rec.len);
	mp_buf_free(&rec);
	mp_arena_free(a);
	return rc;
}

int
mp_account_add(const char *host, const char *user, const char *password,
    unsigned iterations, const char **error_r)
{
	return accounts_set(ACCOUNTS_ADD, host, user, password, iterations,
	    error_r);
}

int
mp_account_passwd(const char *host, const char *user, const char *password,
    unsigned iterations, const char **error_r)
{
	return accounts_set(ACCOUNTS_PASSWD, host, user, password, iterations,
	    error_r);
}

int
mp_account_del(const char *host, const char *user, const char **error_r)
{
	return accounts_set(ACCOUNTS_DEL, host, user, NULL, 0, error_r);
}

/* Looks the record up; with creds_r, decodes the entry for h too. */
static int
accounts_lookup(const char *host, const char *user, enum mp_scram_hash h,
    struct mp_scram_creds *creds_r)
{
	struct mp_arena *a;
	struct accounts_key k;
	struct mp_txn *txn;
	struct mp_val v;
	const char *err;
	int rc;

	if (accounts_ready(&err) == -1)
		return -1;
	a = mp_arena_new();
	/* A name that cannot be prepared cannot have an account. */
	if (accounts_key(a, host, user, &k, &err) == -1) {
		mp_arena_free(a);
		return 0;
	}
	if (mp_txn_read(accounts_store, &txn, &err) == -1) {
		mp_log_warnx("accounts: %s@%s: %s", k.user, k.host, err);
		mp_arena_free(a);
		return -1;
	}
	rc = mp_txn_get(txn, accounts_db, k.data, k.len, &v);
	if (rc == 1 && creds_r != NULL) {
		rc = accounts_decode(v.data, v.len, h, creds_r);
		if (rc == -1)
			mp_log_warnx("accounts: %s@%s: corrupt account record",
			    k.user, k.host);
		else if (rc == 0)
			mp_log_debug("accounts: %s@%s: no %s credentials",
			    k.user, k.host, mp_scram_hash_name(h));
	}
	mp_txn_abort(txn);
	mp_arena_free(a);
	return rc;
}

int
mp_account_exists(const char *host, const char *user)
{
	return accounts_lookup(host, user, MP_SCRAM_SHA1, NULL);
}

int
mp_account_creds(const char *host, const char *user, enum mp_scram_hash h,
    struct mp_scram_creds *creds_r)
{
	if (creds_r == NULL || (unsigned)h >= MP_SCRAM_NHASH)
		return -1;
	memset(creds_r, 0, sizeof(*creds_r));
	return accounts_lookup(host, user, h, creds_r);
}

struct accounts_name {
	struct accounts_name	*next;
	char			*user;
};

struct accounts_list {
	struct mp_arena		*arena;
	size_t			 skip;	/* "<host>\0" */
	struct accounts_name	*head, **tail;
};

static int
accounts_list_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct accounts_list *l = arg;
	struct accounts_name *n;

	if (key->len <= l->skip)
		return 0;
	n = mp_arena_alloc(l->arena, sizeof(*n));
	n->user = mp_arena_strndup(l->arena, (const char *)key->data + l->skip,
	    key->len - l->skip);
	*l->tail = n;
	l->tail = &n->next;
	return 0;
}

long
mp_account_list(const char *host, void (*cb)(const char *user, void *arg),
    void *arg, const char **error_r)
{
	struct accounts_list l;
	struct accounts_name *n;
	struct mp_txn *txn;
	const char *ph, *err;
	char *start, *end;
	size_t hl;
	long count = 0;

	if (accounts_ready(error_r) == -1)
		return -1;
	if (host == NULL || *host == '\0') {
		*error_r = "empty host";
		return -1;
	}
	l.arena = mp_arena_new();
	if (mp_jid_prep_domain(l.arena, host, strlen(host), &ph, &err) == -1) {
		mp_arena_free(l.arena);
		*error_r = "invalid host";
		return -1;
	}
	hl = strlen(ph);
	start = mp_arena_alloc(l.arena, hl + 1);
	end = mp_arena_alloc(l.arena, hl + 1);
	memcpy(start, ph, hl);
	memcpy(end, ph, hl);
	end[hl] = '\1';
	l.skip = hl + 1;
	l.head = NULL;
	l.tail = &l.head;
	if (mp_txn_read(accounts_store, &txn, error_r) == -1) {
		mp_arena_free(l.arena);
		return -1;
	}
	/*
	 * The names are copied out and the snapshot ended before cb runs, so
	 * that cb may use the store freely (even delete the users it sees).
	 */
	if (mp_txn_scan(txn, accounts_db, start, hl + 1, end, hl + 1, false,
	    accounts_list_cb, &l) == -1) {
		mp_txn_abort(txn);
		mp_arena_free(l.arena);
		*error_r = "storage error";
		return -1;
	}
	mp_txn_abort(txn);
	for (n = l.head; n != NULL; n = n->next) {
		if (cb != NULL)
			cb(n->user, arg);
		count++;
	}
	mp_arena_free(l.arena);
	return count;
}
