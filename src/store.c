/* store.c - the generic store: write retries, checks, dispatch to a backend. */
#include <stddef.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/log.h>
#include <magpie/store.h>

#include "store.h"

static struct mp_store *store_current;

struct mp_store *
mp_store_get(void)
{
	return store_current;
}

void
mp_store_set(struct mp_store *s)
{
	store_current = s;
}

void
mp_store_close(struct mp_store *s)
{
	if (s == NULL)
		return;
	if (store_current == s)
		store_current = NULL;
	s->ops->close(s);
}

int
mp_db_open(struct mp_store *s, const char *name, struct mp_db **db_r,
    const char **error_r)
{
	if (s == NULL) {
		*error_r = "store not open";
		return -1;
	}
	if (name == NULL || *name == '\0') {
		*error_r = "empty database name";
		return -1;
	}
	return s->ops->db_open(s, name, db_r, error_r);
}

int
mp_txn_read(struct mp_store *s, struct mp_txn **txn_r, const char **error_r)
{
	if (s == NULL) {
		*error_r = "store not open";
		return -1;
	}
	return s->ops->txn_begin(s, false, txn_r, error_r);
}

void
mp_txn_abort(struct mp_txn *txn)
{
	if (txn == NULL)
		return;
	/*
	 * A write transaction belongs to mp_store_write(), which ends it;
	 * ending it here too would leave that caller a dangling pointer.
	 */
	if (txn->write) {
		mp_log_warnx("store: mp_txn_abort on a write ignored");
		return;
	}
	txn->store->ops->txn_abort(txn);
}

static int
store_tick_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	static unsigned long ticks;

	ticks++;
	return mp_txn_put(txn, arg, "tick", 4, &ticks, sizeof(ticks));
}

/* A tiny committed write that lets the backend reuse freed pages. */
static int
store_tick(struct mp_store *s)
{
	const struct mp_store_ops *ops = s->ops;
	struct mp_txn *txn;
	struct mp_db *db;
	const char *err = NULL;

	if (ops->db_open(s, "store.meta", &db, &err) == -1 ||
	    ops->txn_begin(s, true, &txn, &err) == -1)
		return -1;
	if (store_tick_fn(txn, db, &err) != 0 || txn->full) {
		ops->txn_abort(txn);
		return -1;
	}
	return ops->txn_commit(txn, &err) == 0 ? 0 : -1;
}

int
mp_store_write(struct mp_store *s, mp_write_fn *fn, void *arg,
    const char **error_r)
{
	const struct mp_store_ops *ops;
	struct mp_txn *txn;
	const char *err, *gerr;
	int rc;

	if (s == NULL || fn == NULL) {
		*error_r = "store not open";
		return -1;
	}
	ops = s->ops;
	for (bool ticked = false;;) {
		if (ops->txn_begin(s, true, &txn, error_r) == -1)
			return -1;
		err = NULL;
		rc = fn(txn, arg, &err);
		if (txn->full) {
			/* fn's work is lost anyway: make room, redo it all. */
			ops->txn_abort(txn);
		} else if (rc != 0) {
			ops->txn_abort(txn);
			*error_r = err != NULL ? err : "write failed";
			return -1;
		} else {
			/* The backend ends the transaction in any case. */
			rc = ops->txn_commit(txn, error_r);
			if (rc == 0)
				return 0;
			if (rc != 1)
				return -1;
		}
		gerr = NULL;
		if (ops->grow(s, &gerr) == 0)
			continue;
		/*
		 * At the maximum. Pages freed by recent deletes become
		 * usable only after later commits (LMDB keeps them for
		 * readers of older snapshots): one small commit, one retry.
		 */
		if (!ticked && store_tick(s) == 0) {
			ticked = true;
			continue;
		}
		if (gerr != NULL)
			mp_log_warnx("store: cannot grow: %s", gerr);
		*error_r = MP_STORE_FULL;
		return -1;
	}
}

int
mp_txn_get(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen,
    struct mp_val *val_r)
{
	if (txn == NULL || db == NULL || (key == NULL && klen > 0) ||
	    val_r == NULL)
		return -1;
	return txn->store->ops->get(txn, db, key, klen, val_r);
}

int
mp_txn_put(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	if (txn == NULL || db == NULL || !txn->write || key == NULL ||
	    klen == 0 || (val == NULL && vlen > 0))
		return -1;
	if (txn->full)
		return -1;
	return txn->store->ops->put(txn, db, key, klen, val, vlen);
}

int
mp_txn_del(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen)
{
	if (txn == NULL || db == NULL || !txn->write ||
	    (key == NULL && klen > 0))
		return -1;
	if (txn->full)
		return -1;
	return txn->store->ops->del(txn, db, key, klen);
}

long
mp_txn_scan(struct mp_txn *txn, struct mp_db *db, const void *start,
    size_t slen, const void *end, size_t elen, bool reverse, mp_scan_fn *cb,
    void *arg)
{
	if (txn == NULL || db == NULL || cb == NULL ||
	    (start == NULL && slen > 0) || (end == NULL && elen > 0))
		return -1;
	return txn->store->ops->scan(txn, db, start, slen, end, elen, reverse,
	    cb, arg);
}

long
mp_store_db_names(struct mp_store *s, void (*cb)(const char *name, void *arg),
    void *arg, const char **error_r)
{
	return s->ops->db_names(s, cb, arg, error_r);
}

bool
mp_store_is_full(const char *error)
{
	return error != NULL && strcmp(error, MP_STORE_FULL) == 0;
}

struct del_keys {
	struct mp_arena	*arena;
	struct mp_val	*keys;
	size_t		 n, cap;
};

static int
del_collect(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct del_keys *k = arg;
	struct mp_val *nk;
	char *copy;

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		nk = mp_arena_alloc(k->arena, k->cap * sizeof(*nk));
		if (k->n > 0)
			memcpy(nk, k->keys, k->n * sizeof(*nk));
		k->keys = nk;
	}
	/* Copied: the scan's memory may move under the deletes. */
	copy = mp_arena_alloc(k->arena, key->len + 1);
	memcpy(copy, key->data, key->len);
	k->keys[k->n].data = copy;
	k->keys[k->n].len = key->len;
	k->n++;
	return 0;
}

long
mp_txn_del_range(struct mp_txn *txn, struct mp_db *db, const void *start,
    size_t slen, const void *end, size_t elen)
{
	struct del_keys k = { .arena = mp_arena_new() };
	long n = 0;

	if (mp_txn_scan(txn, db, start, slen, end, elen, false, del_collect,
	    &k) == -1)
		n = -1;
	for (size_t i = 0; n != -1 && i < k.n; i++)
		if (mp_txn_del(txn, db, k.keys[i].data, k.keys[i].len) == -1)
			n = -1;
		else
			n++;
	mp_arena_free(k.arena);
	return n;
}
