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
