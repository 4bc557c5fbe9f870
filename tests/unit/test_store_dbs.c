/* test_store_dbs.c - listing the databases of a store (what magpiectl user data scans). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <magpie/store.h>

#include "harness.h"
#include "store.h"

struct names {
	char	buf[512];
	long	n;
};

static void
collect(const char *name, void *arg)
{
	struct names *x = arg;

	strcat(x->buf, name);
	strcat(x->buf, ",");
	x->n++;
}

static int
put_one(struct mp_txn *txn, void *arg, const char **error_r)
{
	return mp_txn_put(txn, arg, "k", 1, "v", 1);
}

MP_TEST(store_db_names_lists_every_database)
{
	char dir[] = "/tmp/mp-test-dbs-XXXXXX", cmd[64];
	struct mp_store_lmdb_conf conf = { .map_size = 1 << 20,
	    .max_map_size = 1 << 22 };
	struct mp_store *s;
	struct mp_db *a, *b;
	struct names x = { .n = 0 };
	const char *err = NULL;

	CHECK(mkdtemp(dir) != NULL);
	conf.path = dir;
	CHECK(mp_store_lmdb_open(&conf, &s, &err) == 0);
	CHECK(mp_store_db_names(s, collect, &x, &err) == 0);
	CHECK(mp_db_open(s, "roster.items", &a, &err) == 0);
	CHECK(mp_db_open(s, "accounts", &b, &err) == 0);
	CHECK(mp_store_write(s, put_one, a, &err) == 0);
	x.buf[0] = '\0';
	CHECK(mp_store_db_names(s, collect, &x, &err) == 2);
	CHECK_STR(x.buf, "accounts,roster.items,");
	mp_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static int
put_keys(struct mp_txn *txn, void *arg, const char **error_r)
{
	static const char *const keys[] = { "a", "u\0001", "u\0002", "u\0003",
	    "v", NULL };
	static const size_t lens[] = { 1, 3, 3, 3, 1 };

	for (size_t i = 0; keys[i] != NULL; i++)
		if (mp_txn_put(txn, arg, keys[i], lens[i], "x", 1) == -1)
			return -1;
	return 0;
}

static int
del_u(struct mp_txn *txn, void *arg, const char **error_r)
{
	return mp_txn_del_range(txn, arg, "u\0", 2, "u\1", 2) == 3 ? 0 : -1;
}

static int
count_key(const struct mp_val *k, const struct mp_val *v, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

MP_TEST(store_del_range_removes_exactly_the_range)
{
	char dir[] = "/tmp/mp-test-range-XXXXXX", cmd[64];
	struct mp_store_lmdb_conf conf = { .map_size = 1 << 20,
	    .max_map_size = 1 << 22 };
	struct mp_store *s;
	struct mp_db *db;
	struct mp_txn *txn;
	const char *err = NULL;
	int n = 0;

	CHECK(mkdtemp(dir) != NULL);
	conf.path = dir;
	CHECK(mp_store_lmdb_open(&conf, &s, &err) == 0);
	CHECK(mp_db_open(s, "t", &db, &err) == 0);
	CHECK(mp_store_write(s, put_keys, db, &err) == 0);
	CHECK(mp_store_write(s, del_u, db, &err) == 0);
	CHECK(mp_txn_read(s, &txn, &err) == 0);
	CHECK(mp_txn_scan(txn, db, NULL, 0, NULL, 0, false, count_key, &n) == 2);
	mp_txn_abort(txn);
	CHECK(n == 2);
	mp_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}
