/* store_lmdb.c - the store's LMDB backend, the only file calling mdb_*. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "store.h"

#define LMDB_MAX_DBS		128
#define LMDB_MAX_READERS	512
#define LMDB_DEFAULT_MAP	((size_t)16 << 20)
#define LMDB_MIN_RESERVE	((size_t)256 << 10)

struct mp_db {
	struct mp_db	*next;
	MDB_dbi		 dbi;
	char		 name[];
};

struct lmdb_store {
	struct mp_store	 base;
	MDB_env		*env;
	size_t		 map_size;
	size_t		 max_map_size;
	size_t		 reserve;	/* room for deletes past max */
	size_t		 max_key;
	bool		 delete_full;	/* last full txn only deleted */
	struct mp_db	*dbs;
	pthread_mutex_t	 dbs_lock;
	atomic_uint	 readers;	/* read transactions open here */
};

struct lmdb_txn {
	struct mp_txn	 base;
	MDB_txn		*txn;
	bool		 put;	/* anything but deletes happened */
};

/*
 * The store whose write transaction this thread holds: LMDB's writer lock is
 * not recursive, so a nested write would hang the thread for ever.
 */
static _Thread_local struct lmdb_store *lmdb_writer;

static int	lmdb_grow_to(struct lmdb_store *, size_t, const char **);

static int
lmdb_mkdirs(const char *path, const char **error_r)
{
	char *p = mp_xstrdup(path), *s;
	struct stat st;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) == -1 && errno != EEXIST) {
				*error_r = strerror(errno);
				rc = -1;
				break;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	if (rc == 0 && (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))) {
		*error_r = "storage path is not a directory";
		rc = -1;
	}
	return rc;
}

/* Reads back the map size LMDB really uses (it rounds to what is used). */
static void
lmdb_refresh_size(struct lmdb_store *st)
{
	MDB_envinfo info;

	if (mdb_env_info(st->env, &info) == 0)
		st->map_size = info.me_mapsize;
}

/*
 * Once a delete has borrowed room past the maximum, give back what it did
 * not use, so that puts cannot eat the reserve (LMDB never maps less than
 * the data use, so this cannot cut anything off).
 */
static void
lmdb_unreserve(struct lmdb_store *st)
{
	if (st->map_size <= st->max_map_size ||
	    atomic_load(&st->readers) > 0 || lmdb_writer == st)
		return;
	if (mdb_env_set_mapsize(st->env, st->max_map_size) == 0)
		lmdb_refresh_size(st);
}

/*
 * A grow cannot happen while this process holds read transactions (the map
 * moves under their values), so grow early, at the start of a write with no
 * reader open, once half the map is in use: a write racing a reader then
 * rarely meets a full map.
 */
static void
lmdb_pregrow(struct lmdb_store *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	const char *err;

	if (atomic_load(&st->readers) > 0 || st->map_size >= st->max_map_size)
		return;
	if (mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &ms) != 0)
		return;
	if ((info.me_last_pgno + 1) * (size_t)ms.ms_psize > st->map_size / 2)
		(void)lmdb_grow_to(st, st->max_map_size, &err);
}

/* Begins a transaction, adopting a map grown by another process. */
static int
lmdb_begin(struct lmdb_store *st, unsigned flags, MDB_txn **txn_r)
{
	int rc;

	rc = mdb_txn_begin(st->env, NULL, flags, txn_r);
	if (rc == MDB_MAP_RESIZED && atomic_load(&st->readers) == 0 &&
	    lmdb_writer != st) {
		rc = mdb_env_set_mapsize(st->env, 0);
		if (rc == 0) {
			lmdb_refresh_size(st);
			rc = mdb_txn_begin(st->env, NULL, flags, txn_r);
		}
	}
	return rc;
}

static int
lmdb_db_open(struct mp_store *s, const char *name, struct mp_db **db_r,
    const char **error_r)
{
	struct lmdb_store *st = (struct lmdb_store *)s;
	struct mp_db *db;
	MDB_txn *txn;
	MDB_dbi dbi;
	const char *gerr;
	int rc;

	pthread_mutex_lock(&st->dbs_lock);
	for (db = st->dbs; db != NULL; db = db->next) {
		if (strcmp(db->name, name) == 0) {
			pthread_mutex_unlock(&st->dbs_lock);
			*db_r = db;
			return 0;
		}
	}
	if (lmdb_writer == st) {
		pthread_mutex_unlock(&st->dbs_lock);
		*error_r = "cannot open a database inside a write";
		return -1;
	}
	for (;;) {
		if ((rc = lmdb_begin(st, 0, &txn)) != 0)
			break;
		rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
		if (rc != 0) {
			mdb_txn_abort(txn);
			if (rc != MDB_MAP_FULL)
				break;
		} else if ((rc = mdb_txn_commit(txn)) != MDB_MAP_FULL)
			break;
		if (lmdb_grow_to(st, st->max_map_size, &gerr) == -1)
			break;
	}
	if (rc != 0) {
		pthread_mutex_unlock(&st->dbs_lock);
		*error_r = rc == MDB_MAP_FULL ? MP_STORE_FULL :
		    rc == MDB_DBS_FULL ? "too many databases" :
		    mdb_strerror(rc);
		return -1;
	}
	db = mp_xmalloc(sizeof(*db) + strlen(name) + 1);
	strcpy(db->name, name);
	db->dbi = dbi;
	db->next = st->dbs;
	st->dbs = db;
	pthread_mutex_unlock(&st->dbs_lock);
	*db_r = db;
	return 0;
}

static int
lmdb_txn_begin(struct mp_store *s, bool write, struct mp_txn **txn_r,
    const char **error_r)
{
	struct lmdb_store *st = (struct lmdb_store *)s;
	struct lmdb_txn *t;
	MDB_txn *txn;
	int rc;

	if (write) {
		if (lmdb_writer == st) {
			*error_r = "nested write transaction";
			return -1;
		}
		lmdb_pregrow(st);
	}
	rc = lmdb_begin(st, write ? 0 : MDB_RDONLY, &txn);
	if (rc != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	t = mp_xcalloc(1, sizeof(*t));
	t->base.store = s;
	t->base.write = write;
	t->txn = txn;
	if (write)
		lmdb_writer = st;
	else
		atomic_fetch_add(&st->readers, 1);
	*txn_r = &t->base;
	return 0;
}

static void
lmdb_txn_end(struct lmdb_txn *t)
{
	struct lmdb_store *st = (struct lmdb_store *)t->base.store;

	if (t->base.write) {
		lmdb_writer = NULL;
		st->delete_full = t->base.full && !t->put;
	} else
		atomic_fetch_sub(&st->readers, 1);
	free(t);
}

static void
lmdb_txn_abort(struct mp_txn *txn)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;

	mdb_txn_abort(t->txn);
	lmdb_txn_end(t);
}

static int
lmdb_txn_commit(struct mp_txn *txn, const char **error_r)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;
	struct lmdb_store *st = (struct lmdb_store *)txn->store;
	int rc;

	if (txn->full || !txn->write) {
		rc = txn->full ? 1 : 0;
		lmdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(t->txn);
	if (rc == MDB_MAP_FULL)
		txn->full = true;
	lmdb_txn_end(t);
	if (rc == 0) {
		lmdb_unreserve(st);
		return 0;
	}
	if (rc == MDB_MAP_FULL)
		return 1;
	*error_r = mdb_strerror(rc);
	mp_log_warnx("store: commit failed: %s", *error_r);
	return -1;
}

static int
lmdb_get(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen,
    struct mp_val *val_r)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;
	struct lmdb_store *st = (struct lmdb_store *)txn->store;
	MDB_val k, v;
	int rc;

	/* Such keys cannot have been stored. */
	if (klen == 0 || klen > st->max_key)
		return 0;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_get(t->txn, db->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		mp_log_warnx("store: get in %s: %s", db->name,
		    mdb_strerror(rc));
		return -1;
	}
	val_r->data = v.mv_data;
	val_r->len = v.mv_size;
	return 1;
}

/* Marks the transaction full on MDB_MAP_FULL so the write is redone. */
static int
lmdb_write_error(struct mp_txn *txn, struct mp_db *db, const char *op, int rc)
{
	if (rc == MDB_MAP_FULL)
		txn->full = true;
	else
		mp_log_warnx("store: %s in %s: %s", op, db->name,
		    mdb_strerror(rc));
	return -1;
}

static int
lmdb_put(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;
	struct lmdb_store *st = (struct lmdb_store *)txn->store;
	MDB_val k, v;
	int rc;

	if (klen == 0 || klen > st->max_key) {
		mp_log_warnx("store: put in %s: key of %zu bytes refused",
		    db->name, klen);
		return -1;
	}
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)val;
	v.mv_size = vlen;
	t->put = true;
	if ((rc = mdb_put(t->txn, db->dbi, &k, &v, 0)) != 0)
		return lmdb_write_error(txn, db, "put", rc);
	return 0;
}

static int
lmdb_del(struct mp_txn *txn, struct mp_db *db, const void *key, size_t klen)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;
	struct lmdb_store *st = (struct lmdb_store *)txn->store;
	MDB_val k;
	int rc;

	if (klen == 0 || klen > st->max_key)
		return 0;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_del(t->txn, db->dbi, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_write_error(txn, db, "del", rc);
	return 1;
}

static long
lmdb_scan(struct mp_txn *txn, struct mp_db *db, const void *start,
    size_t slen, const void *end, size_t elen, bool reverse, mp_scan_fn *cb,
    void *arg)
{
	struct lmdb_txn *t = (struct lmdb_txn *)txn;
	MDB_cursor *cur;
	MDB_val k, v, sk, ek;
	struct mp_val key, val;
	MDB_cursor_op next;
	long n = 0;
	int rc, stop;

	/* An empty start bounds nothing; nothing is below an empty end. */
	if (start != NULL && slen == 0)
		start = NULL;
	if (end != NULL && elen == 0)
		return 0;
	sk.mv_data = (void *)start;
	sk.mv_size = slen;
	ek.mv_data = (void *)end;
	ek.mv_size = elen;
	if ((rc = mdb_cursor_open(t->txn, db->dbi, &cur)) != 0) {
		mp_log_warnx("store: scan in %s: %s", db->name,
		    mdb_strerror(rc));
		return -1;
	}
	if (!reverse) {
		next = MDB_NEXT;
		if (start != NULL) {
			k = sk;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	} else {
		/* The first key >= end, then one step back: the last < end. */
		next = MDB_PREV;
		if (end != NULL) {
			k = ek;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			if (rc == 0)
				rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			else if (rc == MDB_NOTFOUND)
				rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		} else
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	}
	while (rc == 0) {
		if (!reverse && end != NULL &&
		    mdb_cmp(t->txn, db->dbi, &k, &ek) >= 0)
			break;
		if (reverse && start != NULL &&
		    mdb_cmp(t->txn, db->dbi, &k, &sk) < 0)
			break;
		key.data = k.mv_data;
		key.len = k.mv_size;
		val.data = v.mv_data;
		val.len = v.mv_size;
		n++;
		if ((stop = cb(&key, &val, arg)) != 0) {
			if (stop < 0)
				n = -1;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, next);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mp_log_warnx("store: scan in %s: %s", db->name,
		    mdb_strerror(rc));
		return -1;
	}
	return n;
}

/* Doubles the map, up to limit. */
static int
lmdb_grow_to(struct lmdb_store *st, size_t limit, const char **error_r)
{
	size_t size;
	int rc;

	if (st->map_size >= limit) {
		*error_r = "at the maximum map size";
		return -1;
	}
	if (atomic_load(&st->readers) > 0 || lmdb_writer == st) {
		*error_r = "transactions are open in this process";
		return -1;
	}
	size = st->map_size > SIZE_MAX / 2 ? SIZE_MAX : st->map_size * 2;
	if (size > limit)
		size = limit;
	if ((rc = mdb_env_set_mapsize(st->env, size)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	lmdb_refresh_size(st);
	mp_log_info("store: map grown to %zu bytes (max %zu%s)", st->map_size,
	    st->max_map_size, st->map_size > st->max_map_size ?
	    ", past it for a delete" : "");
	return 0;
}

static int
lmdb_grow(struct mp_store *s, const char **error_r)
{
	struct lmdb_store *st = (struct lmdb_store *)s;
	size_t limit = st->max_map_size;

	/*
	 * A full map must not stop deletes, which also need fresh pages
	 * (copy-on-write): they alone may go into the reserve.
	 */
	if (st->delete_full)
		limit = limit > SIZE_MAX - st->reserve ? SIZE_MAX :
		    limit + st->reserve;
	return lmdb_grow_to(st, limit, error_r);
}

static void
lmdb_close(struct mp_store *s)
{
	struct lmdb_store *st = (struct lmdb_store *)s;
	struct mp_db *db, *ndb;

	if (atomic_load(&st->readers) > 0)
		mp_log_warnx("store: closed with %u read transactions open",
		    atomic_load(&st->readers));
	for (db = st->dbs; db != NULL; db = ndb) {
		ndb = db->next;
		free(db);
	}
	mdb_env_close(st->env);
	pthread_mutex_destroy(&st->dbs_lock);
	free(st);
}

/* The names of the named databases are the keys of LMDB's main database. */
static long
lmdb_db_names(struct mp_store *s, void (*cb)(const char *name, void *arg),
    void *arg, const char **error_r)
{
	struct lmdb_store *st = (struct lmdb_store *)s;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi main_dbi;
	MDB_val k, v;
	char name[512];
	long n = 0;
	int rc;

	if ((rc = lmdb_begin(st, MDB_RDONLY, &txn)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, main_dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		*error_r = mdb_strerror(rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= sizeof(name) ||
		    memchr(k.mv_data, '\0', k.mv_size) != NULL)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		cb(name, arg);
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return n;
}

static const struct mp_store_ops lmdb_ops = {
	.name = "lmdb",
	.db_open = lmdb_db_open,
	.db_names = lmdb_db_names,
	.txn_begin = lmdb_txn_begin,
	.txn_commit = lmdb_txn_commit,
	.txn_abort = lmdb_txn_abort,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.scan = lmdb_scan,
	.grow = lmdb_grow,
	.close = lmdb_close,
};

int
mp_store_lmdb_open(const struct mp_store_lmdb_conf *conf,
    struct mp_store **store_r, const char **error_r)
{
	struct lmdb_store *st;
	MDB_env *env;
	size_t map, max;
	int rc, dead = 0;

	if (conf == NULL || conf->path == NULL || *conf->path == '\0') {
		*error_r = "no storage path";
		return -1;
	}
	if (lmdb_mkdirs(conf->path, error_r) == -1)
		return -1;
	map = conf->map_size != 0 ? conf->map_size : LMDB_DEFAULT_MAP;
	max = conf->max_map_size > map ? conf->max_map_size : map;
	if ((rc = mdb_env_create(&env)) != 0) {
		*error_r = mdb_strerror(rc);
		return -1;
	}
	if ((rc = mdb_env_set_maxdbs(env, LMDB_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, LMDB_MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, map)) != 0 ||
	    (rc = mdb_env_open(env, conf->path, MDB_NOTLS, 0600)) != 0) {
		*error_r = mdb_strerror(rc);
		mdb_env_close(env);
		return -1;
	}
	/* A killed process leaves its reader slots, pinning old pages. */
	if (mdb_reader_check(env, &dead) == 0 && dead > 0)
		mp_log_info("store: cleared %d stale reader slots in %s", dead,
		    conf->path);
	st = mp_xcalloc(1, sizeof(*st));
	st->base.ops = &lmdb_ops;
	st->env = env;
	st->max_map_size = max;
	st->map_size = map;
	st->max_key = (size_t)mdb_env_get_maxkeysize(env);
	pthread_mutex_init(&st->dbs_lock, NULL);
	atomic_init(&st->readers, 0);
	lmdb_refresh_size(st);
	/* Data already past the maximum (it was lowered) stay writable. */
	if (st->max_map_size < st->map_size)
		st->max_map_size = st->map_size;
	st->reserve = st->max_map_size / 8 > LMDB_MIN_RESERVE ?
	    st->max_map_size / 8 : LMDB_MIN_RESERVE;
	*store_r = &st->base;
	return 0;
}
