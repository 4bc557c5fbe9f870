/* test_store.c - the store (LMDB backend), accounts and certificates. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <magpie/arena.h>
#include <magpie/log.h>
#include <magpie/store.h>

#include "accounts.h"
#include "certgen.h"
#include "scram.h"
#include "store.h"

#include "harness.h"

/* --- helpers --- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
tmpdir_new(void)
{
	char *d = mp_xstrdup("/tmp/mp-test-store-XXXXXX");

	if (mkdtemp(d) == NULL)
		abort();
	return d;
}

static void
tmpdir_free(char *d)
{
	rm_rf(d);
	free(d);
}

static struct mp_store *
open_store(const char *path, size_t map, size_t max)
{
	struct mp_store_lmdb_conf conf = { path, map, max };
	struct mp_store *s = NULL;
	const char *err = NULL;

	if (mp_store_lmdb_open(&conf, &s, &err) == -1) {
		fprintf(stderr, "open %s: %s\n", path, err);
		return NULL;
	}
	return s;
}

struct kv {
	struct mp_db	*db;
	const char	*key;
	const void	*val;
	size_t		 vlen;
	int		 fail;	/* fn returns -1 after its puts */
};

static int
put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct kv *kv = arg;

	if (mp_txn_put(txn, kv->db, kv->key, strlen(kv->key), kv->val,
	    kv->vlen) == -1) {
		*error_r = "put failed";
		return -1;
	}
	if (kv->fail) {
		*error_r = kv->fail == 1 ? "asked to fail" : NULL;
		return -1;
	}
	return 0;
}

static int
put1(struct mp_store *s, struct mp_db *db, const char *key, const char *val,
    const char **error_r)
{
	struct kv kv = { db, key, val, strlen(val), 0 };

	return mp_store_write(s, put_fn, &kv, error_r);
}

struct delarg {
	struct mp_db	*db;
	const char	*key;
	int		 rc;
};

static int
del_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct delarg *d = arg;

	d->rc = mp_txn_del(txn, d->db, d->key, strlen(d->key));
	if (d->rc == -1) {
		*error_r = "del failed";
		return -1;
	}
	return 0;
}

static int
del1(struct mp_store *s, struct mp_db *db, const char *key)
{
	struct delarg d = { db, key, -2 };
	const char *err;

	if (mp_store_write(s, del_fn, &d, &err) == -1)
		return -1;
	return d.rc;
}

/* 1 and the value equals want, 0 absent, -1 otherwise. */
static int
get_is(struct mp_store *s, struct mp_db *db, const void *key, size_t klen,
    const void *want, size_t wlen)
{
	struct mp_txn *txn;
	struct mp_val v;
	const char *err;
	int rc;

	if (mp_txn_read(s, &txn, &err) == -1)
		return -2;
	rc = mp_txn_get(txn, db, key, klen, &v);
	if (rc == 1 && (v.len != wlen || memcmp(v.data, want, wlen) != 0))
		rc = -1;
	mp_txn_abort(txn);
	return rc;
}

static int
get_str(struct mp_store *s, struct mp_db *db, const char *key,
    const char *want)
{
	return get_is(s, db, key, strlen(key), want, want ? strlen(want) : 0);
}

/* --- store --- */

MP_TEST(store_put_get_del)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 1 << 20, 1 << 20);
	struct mp_db *db, *db2, *other;
	struct mp_txn *txn;
	struct mp_val v;
	const char *err = NULL;
	char big[600];

	CHECK(s != NULL);
	mp_store_set(s);
	CHECK(mp_store_get() == s);
	CHECK(mp_db_open(s, "t", &db, &err) == 0);
	CHECK(mp_db_open(s, "t", &db2, &err) == 0);
	CHECK(db == db2);
	CHECK(mp_db_open(s, "other", &other, &err) == 0);
	CHECK(other != db);
	CHECK(mp_db_open(s, "", &db2, &err) == -1);
	CHECK(mp_db_open(s, NULL, &db2, &err) == -1);
	CHECK(mp_db_open(NULL, "t", &db2, &err) == -1);

	CHECK(put1(s, db, "a", "one", &err) == 0);
	CHECK(put1(s, db, "b", "two", &err) == 0);
	CHECK(put1(s, other, "a", "elsewhere", &err) == 0);
	CHECK(get_str(s, db, "a", "one") == 1);
	CHECK(get_str(s, db, "b", "two") == 1);
	CHECK(get_str(s, other, "a", "elsewhere") == 1);
	CHECK(get_str(s, db, "c", NULL) == 0);
	/* Overwrite, then an empty value. */
	CHECK(put1(s, db, "a", "uno", &err) == 0);
	CHECK(get_str(s, db, "a", "uno") == 1);
	CHECK(put1(s, db, "e", "", &err) == 0);
	CHECK(get_str(s, db, "e", "") == 1);
	/* Binary keys and values with NULs. */
	CHECK(get_is(s, db, "x\0y", 3, NULL, 0) == 0);

	CHECK(del1(s, db, "a") == 1);
	CHECK(del1(s, db, "a") == 0);
	CHECK(get_str(s, db, "a", NULL) == 0);
	CHECK(get_str(s, other, "a", "elsewhere") == 1);

	/* Keys that cannot exist: empty and over the backend's limit. */
	memset(big, 'k', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK(get_is(s, db, "", 0, NULL, 0) == 0);
	CHECK(get_is(s, db, big, sizeof(big) - 1, NULL, 0) == 0);
	CHECK(del1(s, db, "") == 0);
	CHECK(del1(s, db, big) == 0);
	err = NULL;
	CHECK(put1(s, db, "", "v", &err) == -1);
	CHECK_STR(err, "put failed");
	CHECK(put1(s, db, big, "v", &err) == -1);
	/* A failed put leaves the store usable. */
	CHECK(put1(s, db, "f", "fine", &err) == 0);
	CHECK(get_str(s, db, "f", "fine") == 1);

	/* Read transactions refuse writes; bad arguments are errors. */
	CHECK(mp_txn_read(s, &txn, &err) == 0);
	CHECK(mp_txn_put(txn, db, "z", 1, "v", 1) == -1);
	CHECK(mp_txn_del(txn, db, "b", 1) == -1);
	CHECK(mp_txn_get(txn, NULL, "b", 1, &v) == -1);
	CHECK(mp_txn_get(txn, db, NULL, 1, &v) == -1);
	CHECK(mp_txn_get(txn, db, "b", 1, &v) == 1);
	CHECK(v.len == 3 && memcmp(v.data, "two", 3) == 0);
	mp_txn_abort(txn);
	CHECK(mp_txn_read(NULL, &txn, &err) == -1);
	mp_txn_abort(NULL);

	mp_store_close(s);
	CHECK(mp_store_get() == NULL);
	tmpdir_free(dir);
}

struct seen {
	char	keys[64][16];
	int	n;
	int	stop_after;	/* 0: never */
	int	fail;
};

static int
seen_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct seen *sn = arg;

	if (sn->fail)
		return -1;
	if (sn->n < 64 && key->len < 16) {
		memcpy(sn->keys[sn->n], key->data, key->len);
		sn->keys[sn->n][key->len] = '\0';
	}
	sn->n++;
	return sn->stop_after != 0 && sn->n >= sn->stop_after;
}

static long
scan(struct mp_store *s, struct mp_db *db, const char *start,
    const char *end, bool reverse, struct seen *sn)
{
	struct mp_txn *txn;
	const char *err;
	long n;

	memset(sn->keys, 0, sizeof(sn->keys));
	sn->n = 0;
	if (mp_txn_read(s, &txn, &err) == -1)
		return -2;
	n = mp_txn_scan(txn, db, start, start ? strlen(start) : 0, end,
	    end ? strlen(end) : 0, reverse, seen_cb, sn);
	mp_txn_abort(txn);
	return n;
}

struct many {
	struct mp_db	*db;
	int		 from, to;
	size_t		 vlen;
};

static int
many_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct many *m = arg;
	char key[32], *val = mp_xcalloc(1, m->vlen + 1);
	int rc = 0;

	for (int i = m->from; i < m->to && rc == 0; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		memset(val, 'a' + i % 26, m->vlen);
		rc = mp_txn_put(txn, m->db, key, strlen(key), val, m->vlen);
	}
	free(val);
	if (rc == -1)
		*error_r = "put failed";
	return rc;
}

MP_TEST(store_scan)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 1 << 20, 1 << 20);
	struct mp_db *db, *empty;
	struct many m;
	struct seen sn = { .stop_after = 0 };
	const char *err;
	char big[1000];

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "scan", &db, &err) == 0);
	CHECK(mp_db_open(s, "empty", &empty, &err) == 0);
	m = (struct many){ db, 0, 20, 8 };
	CHECK(mp_store_write(s, many_fn, &m, &err) == 0);

	CHECK(scan(s, empty, NULL, NULL, false, &sn) == 0);
	CHECK(scan(s, empty, NULL, NULL, true, &sn) == 0);
	CHECK(scan(s, empty, "a", "z", true, &sn) == 0);

	CHECK(scan(s, db, NULL, NULL, false, &sn) == 20);
	CHECK_STR(sn.keys[0], "k00");
	CHECK_STR(sn.keys[19], "k19");
	CHECK(scan(s, db, NULL, NULL, true, &sn) == 20);
	CHECK_STR(sn.keys[0], "k19");
	CHECK_STR(sn.keys[19], "k00");

	/* [k05, k10): the end is excluded, the start included. */
	CHECK(scan(s, db, "k05", "k10", false, &sn) == 5);
	CHECK_STR(sn.keys[0], "k05");
	CHECK_STR(sn.keys[4], "k09");
	CHECK(scan(s, db, "k05", "k10", true, &sn) == 5);
	CHECK_STR(sn.keys[0], "k09");
	CHECK_STR(sn.keys[4], "k05");
	/* Bounds between keys. */
	CHECK(scan(s, db, "k045", "k095", false, &sn) == 5);
	CHECK_STR(sn.keys[0], "k05");
	CHECK_STR(sn.keys[4], "k09");
	CHECK(scan(s, db, "k045", "k095", true, &sn) == 5);
	CHECK_STR(sn.keys[0], "k09");
	CHECK_STR(sn.keys[4], "k05");
	/* Bounds past either end. */
	CHECK(scan(s, db, "k15", "zzz", true, &sn) == 5);
	CHECK_STR(sn.keys[0], "k19");
	CHECK(scan(s, db, "a", "k02", true, &sn) == 2);
	CHECK_STR(sn.keys[0], "k01");
	CHECK_STR(sn.keys[1], "k00");
	CHECK(scan(s, db, "a", "k00", true, &sn) == 0);
	CHECK(scan(s, db, "a", "k00", false, &sn) == 0);
	CHECK(scan(s, db, "k20", NULL, false, &sn) == 0);
	CHECK(scan(s, db, "k20", NULL, true, &sn) == 0);
	CHECK(scan(s, db, "k19", NULL, true, &sn) == 1);
	CHECK(scan(s, db, NULL, "k03", false, &sn) == 3);
	CHECK(scan(s, db, NULL, "k03", true, &sn) == 3);
	CHECK_STR(sn.keys[0], "k02");
	/* Empty and inverted ranges. */
	CHECK(scan(s, db, "k10", "k05", false, &sn) == 0);
	CHECK(scan(s, db, "k10", "k05", true, &sn) == 0);
	CHECK(scan(s, db, "k07", "k07", false, &sn) == 0);
	CHECK(scan(s, db, "k07", "k07", true, &sn) == 0);
	CHECK(scan(s, db, "", NULL, false, &sn) == 20);
	CHECK(scan(s, db, NULL, "", false, &sn) == 0);
	CHECK(scan(s, db, NULL, "", true, &sn) == 0);

	/* Early stop counts the key that stopped it. */
	sn.stop_after = 3;
	CHECK(scan(s, db, NULL, NULL, false, &sn) == 3);
	CHECK_STR(sn.keys[2], "k02");
	CHECK(scan(s, db, "k10", "k15", true, &sn) == 3);
	CHECK_STR(sn.keys[2], "k12");
	sn.stop_after = 0;
	sn.fail = 1;
	CHECK(scan(s, db, NULL, NULL, false, &sn) == -1);
	sn.fail = 0;

	/* Bounds longer than any key the backend can hold. */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(scan(s, db, big, NULL, false, &sn) == 0);
	CHECK(scan(s, db, NULL, big, false, &sn) == 20);
	CHECK(scan(s, db, NULL, big, true, &sn) == 20);
	big[1] = '0';
	CHECK(scan(s, db, big, NULL, false, &sn) == 10);
	CHECK_STR(sn.keys[0], "k10");
	CHECK(scan(s, db, "k", big, true, &sn) == 10);
	CHECK_STR(sn.keys[0], "k09");

	mp_store_close(s);
	tmpdir_free(dir);
}

struct scandel {
	struct mp_db	*db;
	struct mp_txn	*txn;
	bool		 reverse;
	int		 visited;
};

static int
scandel_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct scandel *sd = arg;
	char k[16];

	sd->visited++;
	if (key->len >= sizeof(k))
		return -1;
	memcpy(k, key->data, key->len);
	return mp_txn_del(sd->txn, sd->db, k, key->len) == 1 ? 0 : -1;
}

static int
scandel_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct scandel *sd = arg;

	sd->txn = txn;
	sd->visited = 0;
	if (mp_txn_scan(txn, sd->db, "k05", 3, "k15", 3, sd->reverse,
	    scandel_cb, sd) != 10) {
		*error_r = "scan";
		return -1;
	}
	return 0;
}

MP_TEST(store_scan_delete)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 1 << 20, 1 << 20);
	struct mp_db *db;
	struct many m;
	struct scandel sd;
	struct seen sn = { .stop_after = 0 };
	const char *err;

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "sd", &db, &err) == 0);
	for (int r = 0; r < 2; r++) {
		m = (struct many){ db, 0, 20, 8 };
		CHECK(mp_store_write(s, many_fn, &m, &err) == 0);
		sd = (struct scandel){ db, NULL, r == 1, 0 };
		/* Deleting each key as it is visited must not skip any. */
		CHECK(mp_store_write(s, scandel_fn, &sd, &err) == 0);
		CHECK(sd.visited == 10);
		CHECK(scan(s, db, NULL, NULL, false, &sn) == 10);
		CHECK_STR(sn.keys[4], "k04");
		CHECK_STR(sn.keys[5], "k15");
	}
	mp_store_close(s);
	tmpdir_free(dir);
}

static int
nested_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct kv *kv = arg;
	struct mp_db *db;
	const char *err = NULL;

	/* Neither may deadlock: they must fail at once. */
	if (put1(txn->store, kv->db, "inner", "x", &err) != -1)
		return 0;
	if (mp_db_open(txn->store, "brand-new", &db, &err) != -1)
		return 0;
	/* Not ours to end: must be ignored. */
	mp_txn_abort(txn);
	return put_fn(txn, arg, error_r);
}

MP_TEST(store_write_abort)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 1 << 20, 1 << 20);
	struct mp_db *db;
	struct kv kv;
	const char *err;

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "w", &db, &err) == 0);
	kv = (struct kv){ db, "gone", "v", 1, 1 };
	err = NULL;
	CHECK(mp_store_write(s, put_fn, &kv, &err) == -1);
	CHECK_STR(err, "asked to fail");
	CHECK(get_str(s, db, "gone", NULL) == 0);
	/* A failing fn that says nothing still gets a reason. */
	kv.fail = 2;
	err = NULL;
	CHECK(mp_store_write(s, put_fn, &kv, &err) == -1);
	CHECK(err != NULL);
	CHECK(get_str(s, db, "gone", NULL) == 0);
	CHECK(mp_store_write(s, NULL, NULL, &err) == -1);
	CHECK(mp_store_write(NULL, put_fn, &kv, &err) == -1);

	kv = (struct kv){ db, "outer", "v", 1, 0 };
	CHECK(mp_store_write(s, nested_fn, &kv, &err) == 0);
	CHECK(get_str(s, db, "outer", "v") == 1);
	CHECK(get_str(s, db, "inner", NULL) == 0);
	CHECK(get_str(s, NULL, "inner", NULL) == -1);
	mp_store_close(s);
	tmpdir_free(dir);
}

static int put_calls;

static int
counting_put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	put_calls++;
	return put_fn(txn, arg, error_r);
}

MP_TEST(store_grows)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 64 << 10, 4 << 20);
	struct mp_db *db;
	struct many m;
	struct kv kv;
	char *big, key[16], *want;
	const char *err;
	int i, n;

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "g", &db, &err) == 0);
	/* A first write larger than the map: fn is rerun after each growth. */
	big = mp_xmalloc(1 << 20);
	memset(big, 'F', 1 << 20);
	kv = (struct kv){ db, "first", big, 1 << 20, 0 };
	put_calls = 0;
	CHECK(mp_store_write(s, counting_put_fn, &kv, &err) == 0);
	CHECK(put_calls > 1);
	CHECK(get_is(s, db, "first", 5, big, 1 << 20) == 1);
	free(big);
	/* Many small writes, each in its own transaction. */
	want = mp_xcalloc(1, 4097);
	for (i = 0; i < 100; i++) {
		m = (struct many){ db, i, i + 1, 4096 };
		if (mp_store_write(s, many_fn, &m, &err) != 0)
			break;
	}
	for (n = 0; n < 100; n++) {
		snprintf(key, sizeof(key), "k%02d", n);
		memset(want, 'a' + n % 26, 4096);
		if (get_is(s, db, key, strlen(key), want, 4096) != 1)
			break;
	}
	free(want);
	CHECK(i == 100 && n == 100);
	/* One write larger than the map started. */
	big = mp_xmalloc(1 << 20);
	memset(big, 'B', 1 << 20);
	kv = (struct kv){ db, "big", big, 1 << 20, 0 };
	CHECK(mp_store_write(s, put_fn, &kv, &err) == 0);
	CHECK(get_is(s, db, "big", 3, big, 1 << 20) == 1);
	/* Beyond the maximum: refused, the rest intact. */
	kv = (struct kv){ db, "huge", NULL, 5 << 20, 0 };
	kv.val = mp_xcalloc(1, kv.vlen);
	err = NULL;
	CHECK(mp_store_write(s, put_fn, &kv, &err) == -1);
	free((void *)kv.val);
	CHECK_STR(err, "storage full");
	CHECK(get_is(s, db, "big", 3, big, 1 << 20) == 1);
	CHECK(get_str(s, db, "huge", NULL) == 0);
	free(big);
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(store_full)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 64 << 10, 64 << 10);
	struct mp_db *db;
	struct many m;
	char key[16], want[1024];
	const char *err = NULL;
	int i, n;

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "f", &db, &err) == 0);
	for (n = 0; n < 1000; n++) {
		m = (struct many){ db, n, n + 1, 1000 };
		if (mp_store_write(s, many_fn, &m, &err) != 0)
			break;
	}
	CHECK(n > 5 && n < 1000);
	CHECK_STR(err, "storage full");
	/* Still full on a retry, and nothing of the failed write is there. */
	err = NULL;
	CHECK(mp_store_write(s, many_fn, &m, &err) == -1);
	CHECK_STR(err, "storage full");
	snprintf(key, sizeof(key), "k%02d", n);
	CHECK(get_is(s, db, key, strlen(key), NULL, 0) == 0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		memset(want, 'a' + i % 26, 1000);
		CHECK(get_is(s, db, key, strlen(key), want, 1000) == 1);
	}
	/* Deletes still work, and free the room for new writes. */
	for (i = 0; i < n / 2; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		CHECK(del1(s, db, key) == 1);
	}
	m = (struct many){ db, n, n + 1, 1000 };
	CHECK(mp_store_write(s, many_fn, &m, &err) == 0);
	snprintf(key, sizeof(key), "k%02d", n);
	memset(want, 'a' + n % 26, 1000);
	CHECK(get_is(s, db, key, strlen(key), want, 1000) == 1);
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(store_full_with_reader)
{
	char *dir = tmpdir_new();
	struct mp_store *s = open_store(dir, 64 << 10, 4 << 20);
	struct mp_db *db;
	struct mp_txn *rd;
	struct mp_val v;
	struct many m;
	const char *err = NULL;
	int n;

	CHECK(s != NULL);
	CHECK(mp_db_open(s, "r", &db, &err) == 0);
	CHECK(put1(s, db, "a", "held", &err) == 0);
	CHECK(mp_txn_read(s, &rd, &err) == 0);
	CHECK(mp_txn_get(rd, db, "a", 1, &v) == 1);
	/*
	 * While this process holds a snapshot the map cannot move: writes
	 * fill it and fail cleanly instead of pulling it from under v.
	 */
	for (n = 1; n < 1000; n++) {
		m = (struct many){ db, n, n + 1, 1000 };
		if (mp_store_write(s, many_fn, &m, &err) != 0)
			break;
	}
	CHECK(n < 1000);
	CHECK_STR(err, "storage full");
	CHECK(v.len == 4 && memcmp(v.data, "held", 4) == 0);
	mp_txn_abort(rd);
	/* With the snapshot gone, growth resumes. */
	CHECK(mp_store_write(s, many_fn, &m, &err) == 0);
	for (; n < 400; n++) {
		m = (struct many){ db, n, n + 1, 1000 };
		CHECK(mp_store_write(s, many_fn, &m, &err) == 0);
	}
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(store_reopen)
{
	char *dir = tmpdir_new();
	char sub[256];
	struct mp_store *s;
	struct mp_db *db;
	struct stat st;
	const char *err;

	/* A missing path is created, private to the server. */
	snprintf(sub, sizeof(sub), "%s/a/b/store", dir);
	s = open_store(sub, 1 << 20, 8 << 20);
	CHECK(s != NULL);
	CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(mp_db_open(s, "keep", &db, &err) == 0);
	CHECK(put1(s, db, "k", "kept", &err) == 0);
	mp_store_close(s);

	/* A smaller map than the data now use is no obstacle. */
	s = open_store(sub, 4096, 1 << 20);
	CHECK(s != NULL);
	CHECK(mp_db_open(s, "keep", &db, &err) == 0);
	CHECK(get_str(s, db, "k", "kept") == 1);
	CHECK(put1(s, db, "k2", "also", &err) == 0);
	mp_store_close(s);
	s = open_store(sub, 1 << 20, 1 << 20);
	CHECK(s != NULL);
	CHECK(mp_db_open(s, "keep", &db, &err) == 0);
	CHECK(get_str(s, db, "k2", "also") == 1);
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(store_open_errors)
{
	char *dir = tmpdir_new();
	char path[256];
	struct mp_store_lmdb_conf conf = { NULL, 1 << 20, 1 << 20 };
	struct mp_store *s = NULL;
	const char *err = NULL;
	FILE *f;

	CHECK(mp_store_lmdb_open(&conf, &s, &err) == -1 && err != NULL);
	conf.path = "";
	CHECK(mp_store_lmdb_open(&conf, &s, &err) == -1);
	CHECK(mp_store_lmdb_open(NULL, &s, &err) == -1);
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fclose(f);
	conf.path = path;
	err = NULL;
	CHECK(mp_store_lmdb_open(&conf, &s, &err) == -1 && err != NULL);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	err = NULL;
	CHECK(mp_store_lmdb_open(&conf, &s, &err) == -1 && err != NULL);
	tmpdir_free(dir);
}

/* A write acknowledged then the process killed: the data stay. */
MP_TEST(store_survives_kill)
{
	char *dir = tmpdir_new();
	struct mp_store *s;
	struct mp_db *db;
	const char *err;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		struct mp_txn *rd;

		s = open_store(dir, 1 << 20, 1 << 20);
		if (s == NULL || mp_db_open(s, "d", &db, &err) == -1 ||
		    put1(s, db, "acked", "yes", &err) == -1)
			_exit(1);
		/* Dies holding a reader slot, which the next open clears. */
		if (mp_txn_read(s, &rd, &err) == -1)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_store(dir, 1 << 20, 1 << 20);
	CHECK(s != NULL);
	CHECK(mp_db_open(s, "d", &db, &err) == 0);
	CHECK(get_str(s, db, "acked", "yes") == 1);
	CHECK(put1(s, db, "after", "ok", &err) == 0);
	mp_store_close(s);
	tmpdir_free(dir);
}

/* --- accounts --- */

static const enum mp_scram_hash all_hashes[] = {
	MP_SCRAM_SHA1, MP_SCRAM_SHA256, MP_SCRAM_SHA512,
};

/* The stored keys are those the password derives with the stored salt. */
static int
creds_match(const char *host, const char *user, const char *password)
{
	struct mp_scram_creds c, d;
	const char *err;

	for (size_t i = 0; i < 3; i++) {
		size_t hl = mp_scram_hash_len(all_hashes[i]);

		if (mp_account_creds(host, user, all_hashes[i], &c) != 1)
			return -1;
		if (c.hash != all_hashes[i] || c.iterations != 4096 ||
		    c.salt_len == 0)
			return -1;
		if (mp_scram_make_creds(c.hash, password, c.salt, c.salt_len,
		    c.iterations, &d, &err) == -1)
			return -1;
		if (memcmp(c.stored_key, d.stored_key, hl) != 0 ||
		    memcmp(c.server_key, d.server_key, hl) != 0)
			return 0;
	}
	return 1;
}

struct names {
	char	buf[256];
};

static void
names_cb(const char *user, void *arg)
{
	struct names *nm = arg;

	strncat(nm->buf, user, sizeof(nm->buf) - strlen(nm->buf) - 2);
	strcat(nm->buf, ",");
}

static struct mp_store *
accounts_store_new(char **dir_r)
{
	struct mp_store *s;
	const char *err;

	*dir_r = tmpdir_new();
	s = open_store(*dir_r, 1 << 20, 16 << 20);
	if (s != NULL && mp_accounts_init(s, &err) == -1) {
		mp_store_close(s);
		s = NULL;
	}
	return s;
}

MP_TEST(accounts_basic)
{
	char *dir;
	struct mp_store *s = accounts_store_new(&dir);
	struct mp_scram_creds c1, c2;
	struct names nm = { "" };
	const char *err = NULL;

	CHECK(s != NULL);
	CHECK(mp_account_exists("example.org", "alice") == 0);
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_SHA256,
	    &c1) == 0);
	CHECK(mp_account_add("example.org", "alice", "secret", 4096,
	    &err) == 0);
	CHECK(mp_account_exists("example.org", "alice") == 1);
	CHECK(mp_account_exists("example.org", "Alice") == 1);
	CHECK(mp_account_exists("Example.ORG", "alice") == 1);
	CHECK(mp_account_exists("example.net", "alice") == 0);
	CHECK(mp_account_exists("example.org", "alic") == 0);
	CHECK(creds_match("example.org", "alice", "secret") == 1);
	CHECK(creds_match("example.org", "alice", "Secret") == 0);
	/* Names are stored prepared: case-mapped, Unicode included. */
	CHECK(mp_account_add("example.org", "\xc3\x84rger", "p\xc3\xa4ss",
	    4096, &err) == 0);
	CHECK(mp_account_exists("example.org", "\xc3\xa4rger") == 1);
	CHECK(creds_match("example.org", "\xc3\xa4rger", "p\xc3\xa4ss") == 1);
	CHECK(mp_account_del("example.org", "\xc3\xa4rger", &err) == 0);
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_NHASH,
	    &c1) == -1);
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_SHA1,
	    NULL) == -1);

	/* Salts differ per hash and per account. */
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_SHA1,
	    &c1) == 1);
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_SHA256,
	    &c2) == 1);
	CHECK(c1.salt_len != c2.salt_len ||
	    memcmp(c1.salt, c2.salt, c1.salt_len) != 0);

	err = NULL;
	CHECK(mp_account_add("example.org", "alice", "other", 4096,
	    &err) == -1);
	CHECK_STR(err, "user exists");
	err = NULL;
	CHECK(mp_account_add("example.org", "ALICE", "other", 4096,
	    &err) == -1);
	CHECK_STR(err, "user exists");
	CHECK(creds_match("example.org", "alice", "secret") == 1);

	CHECK(mp_account_passwd("example.org", "alice", "changed", 4096,
	    &err) == 0);
	CHECK(creds_match("example.org", "alice", "changed") == 1);
	CHECK(creds_match("example.org", "alice", "secret") == 0);
	err = NULL;
	CHECK(mp_account_passwd("example.org", "nobody", "x", 4096,
	    &err) == -1);
	CHECK_STR(err, "no such user");
	CHECK(mp_account_exists("example.org", "nobody") == 0);

	CHECK(mp_account_del("example.org", "alice", &err) == 0);
	CHECK(mp_account_exists("example.org", "alice") == 0);
	CHECK(mp_account_creds("example.org", "alice", MP_SCRAM_SHA1,
	    &c1) == 0);
	err = NULL;
	CHECK(mp_account_del("example.org", "alice", &err) == -1);
	CHECK_STR(err, "no such user");
	CHECK(mp_account_list("example.org", names_cb, &nm, &err) == 0);
	CHECK_STR(nm.buf, "");
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(accounts_list)
{
	char *dir;
	struct mp_store *s = accounts_store_new(&dir);
	static const char *const add[][2] = {
		{ "example.org", "carol" }, { "example.org", "alice" },
		{ "example.org", "bob" }, { "example.or", "zed" },
		{ "example.orga", "amy" }, { "example.org.uk", "al" },
		{ "a.example.org", "sub" },
	};
	struct names nm = { "" };
	const char *err = NULL;

	CHECK(s != NULL);
	for (size_t i = 0; i < sizeof(add) / sizeof(add[0]); i++)
		CHECK(mp_account_add(add[i][0], add[i][1], "pw", 4096,
		    &err) == 0);
	CHECK(mp_account_list("example.org", names_cb, &nm, &err) == 3);
	CHECK_STR(nm.buf, "alice,bob,carol,");
	nm.buf[0] = '\0';
	CHECK(mp_account_list("EXAMPLE.or", names_cb, &nm, &err) == 1);
	CHECK_STR(nm.buf, "zed,");
	CHECK(mp_account_list("example.net", names_cb, &nm, &err) == 0);
	CHECK(mp_account_list("example.org", NULL, NULL, &err) == 3);
	err = NULL;
	CHECK(mp_account_list("", names_cb, &nm, &err) == -1 && err != NULL);
	CHECK(mp_account_list(NULL, names_cb, &nm, &err) == -1);
	CHECK(mp_account_list("bad/host", names_cb, &nm, &err) == -1);
	/* Deleting one keeps the others. */
	CHECK(mp_account_del("example.org", "bob", &err) == 0);
	nm.buf[0] = '\0';
	CHECK(mp_account_list("example.org", names_cb, &nm, &err) == 2);
	CHECK_STR(nm.buf, "alice,carol,");
	mp_store_close(s);
	tmpdir_free(dir);
}

MP_TEST(accounts_bad_input)
{
	char *dir;
	struct mp_store *s = accounts_store_new(&dir);
	struct mp_scram_creds c;
	char *longname;
	const char *err;

	CHECK(s != NULL);
	err = NULL;
	CHECK(mp_account_add("example.org", "", "pw", 4096, &err) == -1);
	CHECK_STR(err, "empty username");
	CHECK(mp_account_add("example.org", NULL, "pw", 4096, &err) == -1);
	CHECK_STR(err, "empty username");
	CHECK(mp_account_add("example.org", "a@b", "pw", 4096, &err) == -1);
	CHECK_STR(err, "invalid username");
	CHECK(mp_account_add("example.org", "a/b", "pw", 4096, &err) == -1);
	CHECK_STR(err, "invalid username");
	CHECK(mp_account_add("example.org", "a b", "pw", 4096, &err) == -1);
	CHECK_STR(err, "invalid username");
	CHECK(mp_account_add("", "u", "pw", 4096, &err) == -1);
	CHECK_STR(err, "empty host");
	CHECK(mp_account_add(NULL, "u", "pw", 4096, &err) == -1);
	CHECK(mp_account_add("bad@host", "u", "pw", 4096, &err) == -1);
	CHECK_STR(err, "invalid host");
	CHECK(mp_account_add("example.org", "u", "", 4096, &err) == -1);
	CHECK_STR(err, "empty password");
	CHECK(mp_account_add("example.org", "u", NULL, 4096, &err) == -1);
	CHECK(mp_account_add("example.org", "u", "pw", 1, &err) == -1);
	CHECK_STR(err, "iteration count too low");
	longname = mp_xmalloc(1001);
	memset(longname, 'x', 1000);
	longname[1000] = '\0';
	CHECK(mp_account_add("example.org", longname, "pw", 4096,
	    &err) == -1);
	CHECK_STR(err, "username too long");
	CHECK(mp_account_exists("example.org", longname) == 0);
	free(longname);
	CHECK(mp_account_add("example.org", "\xff\xfe", "pw", 4096,
	    &err) == -1);
	CHECK_STR(err, "invalid username");
	CHECK(mp_account_add("example.org", "a\x01", "pw", 4096, &err) == -1);
	CHECK(mp_account_add("example.org", "u", "\xff", 4096, &err) == -1);
	CHECK_STR(err, "invalid password");
	CHECK(mp_account_exists("example.org", "a@b") == 0);
	CHECK(mp_account_exists("example.org", "") == 0);
	CHECK(mp_account_exists("example.org", NULL) == 0);
	CHECK(mp_account_creds("example.org", "", MP_SCRAM_SHA1, &c) == 0);
	CHECK(mp_account_del("example.org", "", &err) == -1);
	CHECK(mp_account_passwd("example.org", "x y", "pw", 4096,
	    &err) == -1);
	/* Nothing was stored by any of those. */
	CHECK(mp_account_list("example.org", NULL, NULL, &err) == 0);
	mp_store_close(s);
	tmpdir_free(dir);
}

struct raw {
	struct mp_db	*db;
	const void	*key, *val;
	size_t		 klen, vlen;
	void		*copy;	/* out: the old value */
	size_t		 copy_len;
};

static int
raw_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct raw *r = arg;
	struct mp_val v;

	if (r->copy == NULL && mp_txn_get(txn, r->db, r->key, r->klen,
	    &v) == 1) {
		r->copy = mp_xmalloc(v.len);
		memcpy(r->copy, v.data, v.len);
		r->copy_len = v.len;
	}
	if (r->val != NULL && mp_txn_put(txn, r->db, r->key, r->klen, r->val,
	    r->vlen) == -1) {
		*error_r = "put";
		return -1;
	}
	return 0;
}

/* Stores val as mallory's record and asks for every hash. */
static int
corrupt_try(struct mp_store *s, struct mp_db *db, const void *val,
    size_t vlen)
{
	struct raw r = { db, "example.org\0mallory", val, 19, vlen, NULL, 0 };
	struct mp_scram_creds c;
	const char *err;
	int rc, worst = 1;

	r.copy = (void *)1;	/* no copy wanted */
	if (mp_store_write(s, raw_fn, &r, &err) == -1)
		return -2;
	for (size_t i = 0; i < 3; i++) {
		rc = mp_account_creds("example.org", "mallory", all_hashes[i],
		    &c);
		if (rc < worst)
			worst = rc;
	}
	return worst;
}

MP_TEST(accounts_corrupt)
{
	char *dir;
	struct mp_store *s = accounts_store_new(&dir);
	struct mp_db *db;
	struct raw r;
	unsigned char *rec, *bad;
	size_t len;
	const char *err;
	enum mp_log_level level = MP_LOG_DEBUG;

	CHECK(s != NULL);
	/* Hundreds of "corrupt record" warnings would drown the run. */
	while (level < MP_LOG_ERROR && !mp_log_enabled(level))
		level++;
	mp_log_set_level(MP_LOG_ERROR);
	CHECK(mp_db_open(s, "accounts", &db, &err) == 0);
	CHECK(mp_account_add("example.org", "mallory", "pw", 4096,
	    &err) == 0);
	r = (struct raw){ db, "example.org\0mallory", NULL, 19, 0, NULL, 0 };
	CHECK(mp_store_write(s, raw_fn, &r, &err) == 0);
	CHECK(r.copy != NULL && r.copy_len > 2);
	rec = r.copy;
	len = r.copy_len;
	bad = mp_xmalloc(len + 1);

	/* The record as stored reads back. */
	CHECK(corrupt_try(s, db, rec, len) == 1);
	/* Every truncation is refused, never over-read. */
	for (size_t n = 0; n < len; n++) {
		memcpy(bad, rec, n);
		CHECK(corrupt_try(s, db, bad, n) == -1);
	}
	/* A byte too many. */
	memcpy(bad, rec, len);
	bad[len] = 0;
	CHECK(corrupt_try(s, db, bad, len + 1) == -1);
	/* Unknown version. */
	memcpy(bad, rec, len);
	bad[0] = 99;
	CHECK(corrupt_try(s, db, bad, len) == -1);
	/* Unknown hash id, then a hash given twice. */
	memcpy(bad, rec, len);
	bad[2] = 7;
	CHECK(corrupt_try(s, db, bad, len) == -1);
	memcpy(bad, rec, len);
	bad[2 + 6 + bad[7] + 1 + 2 * 20] = bad[2];
	CHECK(corrupt_try(s, db, bad, len) == -1);
	/* Lengths that lie: salt, then key. */
	memcpy(bad, rec, len);
	bad[7] = 200;
	CHECK(corrupt_try(s, db, bad, len) == -1);
	memcpy(bad, rec, len);
	bad[8 + bad[7]] = 64;
	CHECK(corrupt_try(s, db, bad, len) == -1);
	/* Zero iterations. */
	memcpy(bad, rec, len);
	memset(bad + 3, 0, 4);
	CHECK(corrupt_try(s, db, bad, len) == -1);
	/* Random bytes, many times: no crash, only -1 or a valid parse. */
	srand(7);
	for (int t = 0; t < 500; t++) {
		size_t n = (size_t)rand() % (len + 1);
		int rc;

		memcpy(bad, rec, len);
		for (int k = 0; k < 3; k++)
			bad[(size_t)rand() % len] = (unsigned char)rand();
		rc = corrupt_try(s, db, bad, n);
		CHECK(rc == -1 || rc == 0 || rc == 1);
	}
	/* Only SHA-256 present: the others are "not found", not corrupt. */
	{
		size_t e1 = 6 + rec[7] + 1 + 2 * 20, o2 = 2 + e1;
		size_t e2 = 6 + rec[o2 + 5] + 1 + 2 * 32;
		struct mp_scram_creds c;

		bad[0] = rec[0];
		bad[1] = 1;
		memcpy(bad + 2, rec + o2, e2);
		CHECK(rec[o2] == MP_SCRAM_SHA256);
		CHECK(corrupt_try(s, db, bad, 2 + e2) == 0);
		CHECK(mp_account_creds("example.org", "mallory",
		    MP_SCRAM_SHA256, &c) == 1);
		CHECK(mp_account_creds("example.org", "mallory",
		    MP_SCRAM_SHA1, &c) == 0);
	}
	/* A corrupt user still exists, is listed, and can be repaired. */
	CHECK(corrupt_try(s, db, "junk", 4) == -1);
	CHECK(mp_account_exists("example.org", "mallory") == 1);
	CHECK(mp_account_list("example.org", NULL, NULL, &err) == 1);
	CHECK(mp_account_passwd("example.org", "mallory", "new", 4096,
	    &err) == 0);
	CHECK(creds_match("example.org", "mallory", "new") == 1);
	mp_log_set_level(level);
	free(bad);
	free(rec);
	mp_store_close(s);
	tmpdir_free(dir);
}

/* --- certgen --- */

static gnutls_x509_crt_t
cert_load(const char *path)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;

	if (gnutls_load_file(path, &d) < 0)
		return NULL;
	gnutls_x509_crt_init(&crt);
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(crt);
		crt = NULL;
	}
	gnutls_free(d.data);
	return crt;
}

static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

MP_TEST(certgen_roundtrip)
{
	char *dir = tmpdir_new();
	char cert[256];
	char key[256];
	gnutls_certificate_credentials_t cred;
	gnutls_x509_crt_t crt;
	struct stat st;
	unsigned char serial[40];
	size_t slen = sizeof(serial);
	unsigned bits = 0, usage = 0, critical;
	char oid[128];
	size_t olen = sizeof(oid);
	time_t span;
	const char *err = NULL;
	int rc;

	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	CHECK(mp_cert_generate("example.org", cert, key, &err) == 0);
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(cert, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(dir_entries(dir) == 2);

	CHECK(gnutls_certificate_allocate_credentials(&cred) == 0);
	rc = gnutls_certificate_set_x509_key_file2(cred, cert, key,
	    GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	CHECK(rc >= 0);

	crt = cert_load(cert);
	CHECK(crt != NULL);
	rc = gnutls_x509_crt_get_version(crt) == 3 &&
	    gnutls_x509_crt_check_hostname(crt, "example.org") &&
	    gnutls_x509_crt_check_hostname(crt, "chat.example.org") &&
	    !gnutls_x509_crt_check_hostname(crt, "example.net") &&
	    gnutls_x509_crt_get_pk_algorithm(crt, &bits) == GNUTLS_PK_ECDSA &&
	    gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0 &&
	    usage == GNUTLS_KEY_DIGITAL_SIGNATURE &&
	    gnutls_x509_crt_get_key_purpose_oid(crt, 0, oid, &olen,
	    NULL) >= 0 && strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0 &&
	    gnutls_x509_crt_get_serial(crt, serial, &slen) >= 0 &&
	    slen > 8 && (serial[0] & 0x80) == 0;
	span = gnutls_x509_crt_get_expiration_time(crt) -
	    gnutls_x509_crt_get_activation_time(crt);
	gnutls_x509_crt_deinit(crt);
	CHECK(rc);
	CHECK(bits == 256);
	CHECK(span > (time_t)3650 * 86400 && span < (time_t)3660 * 86400);

	/* A second run replaces both files whole. */
	CHECK(mp_cert_generate("example.org", cert, key, &err) == 0);
	CHECK(dir_entries(dir) == 2);
	tmpdir_free(dir);
}

MP_TEST(certgen_names)
{
	char *dir = tmpdir_new();
	char cert[256];
	char key[256];
	gnutls_x509_crt_t crt;
	unsigned char ip[4] = { 127, 0, 0, 1 };
	const char *err = NULL;
	int ok;

	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	/* An IDN host is written with A-labels. */
	CHECK(mp_cert_generate("b\xc3\xbc" "cher.example", cert, key,
	    &err) == 0);
	crt = cert_load(cert);
	CHECK(crt != NULL);
	ok = gnutls_x509_crt_check_hostname(crt, "xn--bcher-kva.example") &&
	    gnutls_x509_crt_check_hostname(crt, "a.xn--bcher-kva.example");
	gnutls_x509_crt_deinit(crt);
	CHECK(ok);

	CHECK(mp_cert_generate("127.0.0.1", cert, key, &err) == 0);
	crt = cert_load(cert);
	CHECK(crt != NULL);
	ok = gnutls_x509_crt_check_ip(crt, ip, 4, 0);
	gnutls_x509_crt_deinit(crt);
	CHECK(ok);

	/* Failures leave nothing behind. */
	rm_rf(dir);
	CHECK(mkdir(dir, 0700) == 0);
	err = NULL;
	CHECK(mp_cert_generate("", cert, key, &err) == -1 && err != NULL);
	CHECK(mp_cert_generate(NULL, cert, key, &err) == -1);
	CHECK(mp_cert_generate("example.org", NULL, key, &err) == -1);
	CHECK(mp_cert_generate("bad..host", cert, key, &err) == -1);
	CHECK(dir_entries(dir) == 0);
	snprintf(cert, sizeof(cert), "%s/no/c.pem", dir);
	snprintf(key, sizeof(key), "%s/no/k.pem", dir);
	err = NULL;
	CHECK(mp_cert_generate("example.org", cert, key, &err) == -1);
	CHECK(err != NULL);
	CHECK(dir_entries(dir) == 0);
	/* Key written, cert refused: the key alone, no temporaries. */
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	CHECK(mp_cert_generate("example.org", cert, key, &err) == -1);
	CHECK(dir_entries(dir) == 1);
	tmpdir_free(dir);
}
