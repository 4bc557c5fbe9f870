/* test_mam_store.c - mod_mam: encodings, archive storage, XEP-0059 paging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magpie/store.h>

#include "../../modules/mam/mam.h"
#include "harness.h"
#include "store.h"

#define BASE_US	1600000000000000ULL	/* 2020-09-13T12:26:40Z */
#define STEP_US	1000ULL

static const char ALICE[] = "alice@example.org";
static const char BOB[] = "bob@example.org";
static const char CAROL[] = "carol@example.org";

/* A fresh store in a temporary folder with the module's databases. */
struct fixture {
	char		 dir[64];
	struct mp_store	*store;
	struct mam_dbs	 d;
};

static int
fixture_open(struct fixture *fx)
{
	struct mp_store_lmdb_conf conf = { .map_size = 64 << 20,
	    .max_map_size = (size_t)1 << 31 };
	const char *err;

	memset(fx, 0, sizeof(*fx));
	strcpy(fx->dir, "/tmp/mp-test-mam-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	conf.path = fx->dir;
	if (mp_store_lmdb_open(&conf, &fx->store, &err) == -1)
		return -1;
	fx->d.store = fx->store;
	if (mp_db_open(fx->store, "mam.archive", &fx->d.archive, &err) == -1 ||
	    mp_db_open(fx->store, "mam.with", &fx->d.with, &err) == -1 ||
	    mp_db_open(fx->store, "mam.meta", &fx->d.meta, &err) == -1 ||
	    mp_db_open(fx->store, "mam.prefs", &fx->d.prefs, &err) == -1)
		return -1;
	return 0;
}

static void
fixture_close(struct fixture *fx)
{
	char cmd[96];

	if (fx->store != NULL)
		mp_store_close(fx->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
}

/* Appends n messages in batches: message i at BASE_US + i * STEP_US. */
struct fill {
	const struct mam_dbs *d;
	const char	*bare;
	long		 from, to;	/* [from, to) */
	/* message i is with contacts[i % ncontacts] */
	const char *const *contacts;
	size_t		 ncontacts;
	struct mam_pos	*pos;		/* positions out, indexed by i */
};

static int
fill_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct fill *f = arg;
	char xml[128], remote[96];

	for (long i = f->from; i < f->to; i++) {
		const char *with = f->contacts[i % f->ncontacts];
		struct mam_entry e = { .bare = f->bare, .dir = i % 2 ?
		    MAM_IN : MAM_OUT, .with = with, .remote = remote,
		    .xml = xml };

		snprintf(remote, sizeof(remote), "%s/r%ld", with, i % 3);
		e.xml_len = (size_t)snprintf(xml, sizeof(xml),
		    "<message type='chat'><body>m%ld</body></message>", i);
		if (mam_archive_append(txn, f->d, &e, BASE_US + (uint64_t)i *
		    STEP_US, (uint64_t)i * 7919, &f->pos[i], error_r) == -1)
			return -1;
	}
	return 0;
}

static int
fill(const struct mam_dbs *d, const char *bare, long n,
    const char *const *contacts, size_t ncontacts, struct mam_pos *pos)
{
	struct fill f = { .d = d, .bare = bare, .contacts = contacts,
	    .ncontacts = ncontacts, .pos = pos };
	const char *err;

	for (long at = 0; at < n; at += 5000) {
		f.from = at;
		f.to = at + 5000 < n ? at + 5000 : n;
		if (mp_store_write(d->store, fill_fn, &f, &err) == -1) {
			fprintf(stderr, "fill: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* The message number an item holds ("m<i>" in its body), or -1. */
static long
item_no(const struct mam_item *it)
{
	const char *b = strstr(it->rec.xml, "<body>m");

	return b != NULL ? strtol(b + 7, NULL, 10) : -1;
}

static void
filter_init(struct mam_filter *f, const char *bare, long max)
{
	memset(f, 0, sizeof(*f));
	f->bare = bare;
	f->index = -1;
	f->max = max;
	f->count_cap = 10000;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

MP_TEST(mam_id_roundtrip_keeps_order)
{
	uint64_t x = 88172645463325252ULL;
	struct mam_pos p, q, prev = { 0, 0 };
	char id[MAM_ID_LEN + 1], previd[MAM_ID_LEN + 1];

	mam_id_format(previd, &prev);
	CHECK_STR(previd, "00000000000000000000000000");
	p = (struct mam_pos){ UINT64_MAX, UINT64_MAX };
	mam_id_format(id, &p);
	CHECK_STR(id, "7vvvvvvvvvvvvvvvvvvvvvvvvv");
	CHECK(mam_id_parse(id, &q) == 0 && mam_pos_cmp(&p, &q) == 0);
	for (int i = 0; i < 2000; i++) {
		int c, s;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* Often equal timestamps: the sequence must order them. */
		p.ts = i % 3 == 0 ? prev.ts : x >> (i % 64);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p.seq = x;
		mam_id_format(id, &p);
		CHECK(strlen(id) == MAM_ID_LEN);
		CHECK(mam_id_parse(id, &q) == 0);
		CHECK(q.ts == p.ts && q.seq == p.seq);
		c = mam_pos_cmp(&prev, &p);
		s = strcmp(previd, id);
		CHECK((c < 0) == (s < 0) && (c == 0) == (s == 0));
		prev = p;
		memcpy(previd, id, sizeof(id));
	}
}

MP_TEST(mam_id_parse_refuses_what_it_did_not_write)
{
	static const char *const bad[] = {
		"", "0", "0000000000000000000000000",	/* 25 */
		"000000000000000000000000000",		/* 27 */
		"8vvvvvvvvvvvvvvvvvvvvvvvvv",		/* padding bits set */
		"w0000000000000000000000000", "0000000000000000000000000W",
		"000000000000000000000000A0", "00000000000-00000000000000",
		"0000000000000 000000000000", "28482-98726-73623",
		"0000000000000000000000000\xc3",
	};
	struct mam_pos p;

	CHECK(mam_id_parse(NULL, &p) == -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(mam_id_parse(bad[i], &p) == -1);
	CHECK(mam_id_parse("7vvvvvvvvvvvvvvvvvvvvvvvvv", &p) == 0);
}

MP_TEST(mam_stamps_parse_xep0082_datetimes)
{
	int64_t us;
	char out[MAM_STAMP_LEN];
	static const char *const bad[] = {
		"", "2010-07-10", "2010-07-10T23:08:25", "2010-07-10 23:08:25Z",
		"2010-13-10T23:08:25Z", "2010-00-10T23:08:25Z",
		"2010-02-30T00:00:00Z", "2011-02-29T00:00:00Z",
		"2010-07-10T24:00:00Z", "2010-07-10T23:60:00Z",
		"2010-07-10T23:08:61Z", "2010-07-10T23:08:25.Z",
		"2010-07-10T23:08:25Zjunk", "2010-07-10T23:08:25+24:00",
		"2010-07-10T23:08:25+02", "10-07-10T23:08:25Z",
		"2010-7-10T23:08:25Z", "+010-07-10T23:08:25Z",
	};

	CHECK(mam_stamp_parse("1970-01-01T00:00:00Z", &us) == 0 && us == 0);
	CHECK(mam_stamp_parse("2010-07-10T23:08:25Z", &us) == 0 &&
	    us == 1278803305LL * 1000000);
	CHECK(mam_stamp_parse("2010-07-10T23:08:25.5Z", &us) == 0 &&
	    us == 1278803305LL * 1000000 + 500000);
	CHECK(mam_stamp_parse("2010-07-10T23:08:25.1234567Z", &us) == 0 &&
	    us == 1278803305LL * 1000000 + 123456);
	CHECK(mam_stamp_parse("2010-07-11T01:08:25+02:00", &us) == 0 &&
	    us == 1278803305LL * 1000000);
	CHECK(mam_stamp_parse("2010-07-10T20:38:25-02:30", &us) == 0 &&
	    us == 1278803305LL * 1000000);
	CHECK(mam_stamp_parse("2000-02-29T00:00:00Z", &us) == 0 &&
	    us == 951782400LL * 1000000);
	CHECK(mam_stamp_parse("1969-12-31T23:59:59Z", &us) == 0 &&
	    us == -1000000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(mam_stamp_parse(bad[i], &us) == -1);
	CHECK(mam_stamp_parse(NULL, &us) == -1);
	mam_stamp_format(out, 1278803305ULL * 1000000 + 42);
	CHECK_STR(out, "2010-07-10T23:08:25.000042Z");
	CHECK(mam_stamp_parse(out, &us) == 0 &&
	    us == 1278803305LL * 1000000 + 42);
}

MP_TEST(mam_records_decode_what_was_encoded_and_nothing_else)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mam_record r;
	static const char xml[] = "<message><body>hi</body></message>";
	unsigned char bad[8];
	struct mp_val k = { "ab", 2 };
	struct mam_pos p;

	mam_record_put(&b, MAM_IN, BOB, "bob@example.org/desk", xml,
	    sizeof(xml) - 1);
	CHECK(mam_record_get(b.data, b.len, &r) == 0);
	CHECK(r.dir == MAM_IN);
	CHECK(r.with_len == strlen(BOB) && memcmp(r.with, BOB, r.with_len) ==
	    0);
	CHECK(r.remote_len == 20 && memcmp(r.remote, "bob@example.org/desk",
	    20) == 0);
	CHECK(r.xml_len == sizeof(xml) - 1 && memcmp(r.xml, xml, r.xml_len) ==
	    0);
	/* Cut anywhere inside the JIDs: refused, never read past the end. */
	for (size_t n = 0; n < 6 + strlen(BOB) + 20; n++)
		CHECK(mam_record_get(b.data, n, &r) == -1);
	b.data[0] = 9;
	CHECK(mam_record_get(b.data, b.len, &r) == -1);
	b.data[0] = 1;
	b.data[1] = 'x';
	CHECK(mam_record_get(b.data, b.len, &r) == -1);
	memset(bad, 0xff, sizeof(bad));
	bad[0] = 1;
	bad[1] = MAM_OUT;
	CHECK(mam_record_get(bad, sizeof(bad), &r) == -1);
	CHECK(mam_key_pos(&k, &p) == -1);
	mp_buf_free(&b);
}

MP_TEST(mam_archive_keeps_order_when_the_clock_goes_back)
{
	struct fixture fx;
	struct mam_entry e = { .bare = ALICE, .dir = MAM_OUT, .with = BOB,
	    .remote = BOB, .xml = "<message/>", .xml_len = 10 };
	struct mam_pos p1, p2, p3, edge;
	struct mp_txn *txn;
	const char *err;

	CHECK(fixture_open(&fx) == 0);
	CHECK(mam_archive_put(&fx.d, &e, 5000, 99, &p1, &err) == 0);
	CHECK(p1.ts == 5000 && p1.seq == 99);
	CHECK(mam_archive_put(&fx.d, &e, 4000, 1, &p2, &err) == 0);
	CHECK(p2.ts == 5001);
	CHECK(mam_archive_put(&fx.d, &e, 5001, 0, &p3, &err) == 0);
	CHECK(p3.ts == 5002);
	e.with = CAROL;
	e.remote = CAROL;
	CHECK(mam_archive_put(&fx.d, &e, 9000, 0, &p3, &err) == 0);
	/* Another archive has its own clock. */
	e.bare = BOB;
	CHECK(mam_archive_put(&fx.d, &e, 100, 0, &p3, &err) == 0);
	CHECK(p3.ts == 100);
	CHECK(mp_txn_read(fx.store, &txn, &err) == 0);
	CHECK(mam_archive_count(txn, &fx.d, ALICE, NULL) == 4);
	CHECK(mam_archive_count(txn, &fx.d, ALICE, BOB) == 3);
	CHECK(mam_archive_count(txn, &fx.d, ALICE, CAROL) == 1);
	CHECK(mam_archive_count(txn, &fx.d, BOB, NULL) == 1);
	CHECK(mam_archive_count(txn, &fx.d, CAROL, NULL) == 0);
	CHECK(mam_archive_edge(txn, &fx.d, ALICE, false, &edge) == 1 &&
	    edge.ts == 5000);
	CHECK(mam_archive_edge(txn, &fx.d, ALICE, true, &edge) == 1 &&
	    edge.ts == 9000);
	CHECK(mam_archive_edge(txn, &fx.d, CAROL, true, &edge) == 0);
	mp_txn_abort(txn);
	fixture_close(&fx);
}

/* Runs a query into pg; the numbers of the messages of the page in out. */
static int
query(struct fixture *fx, struct mp_arena *a, const struct mam_filter *f,
    struct mam_page *pg, long *out)
{
	const char *err;
	int rc = mam_page_query(&fx->d, a, f, pg, &err);

	for (size_t i = 0; rc == MAM_PAGE_OK && i < pg->n; i++)
		out[i] = item_no(&pg->items[i]);
	return rc;
}

static bool
numbers(const long *got, size_t n, long first, long step)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != first + (long)i * step)
			return false;
	return true;
}

MP_TEST(mam_pages_forward_and_backward_xep0059)
{
	struct fixture fx;
	struct mp_arena *a = mp_arena_new();
	static const char *const with[] = { BOB, CAROL };
	struct mam_pos pos[25];
	struct mam_filter f;
	struct mam_page pg;
	long got[32];

	CHECK(fixture_open(&fx) == 0);
	CHECK(fill(&fx.d, ALICE, 25, with, 2, pos) == 0);

	/* Forward, max 10: 10, 10, 5; complete only on the last. */
	filter_init(&f, ALICE, 10);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 10 && numbers(got, 10, 0, 1) && !pg.complete);
	CHECK(pg.count == 25 && pg.first_index == 0);
	f.has_after = true;
	f.after = pg.items[9].pos;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 10 && numbers(got, 10, 10, 1) && !pg.complete);
	f.after = pg.items[9].pos;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 20, 1) && pg.complete);
	CHECK(pg.first_index == 20 && pg.count == 25);
	f.after = pg.items[4].pos;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 0 && pg.complete && pg.count == 25);

	/* Backward from the end (empty <before/>): 15-24, 5-14, 0-4. */
	filter_init(&f, ALICE, 10);
	f.has_before = true;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 10 && numbers(got, 10, 15, 1) && !pg.complete);
	/* Backward pages give no index (see page.c). */
	CHECK(pg.first_index == -1 && pg.count == 25);
	f.before_value = true;
	f.before = pg.items[0].pos;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 10 && numbers(got, 10, 5, 1) && !pg.complete);
	f.before = pg.items[0].pos;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 0, 1) && pg.complete);

	/* index: messages 7-11. max 0: the count alone. */
	filter_init(&f, ALICE, 5);
	f.index = 7;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 7, 1) && pg.first_index == 7);
	filter_init(&f, ALICE, 0);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 0 && !pg.complete && pg.count == 25);

	/* An empty archive: complete at once. */
	filter_init(&f, BOB, 10);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 0 && pg.complete && pg.count == 0);
	mp_arena_free(a);
	fixture_close(&fx);
}

MP_TEST(mam_filters_with_time_and_ids)
{
	struct fixture fx;
	struct mp_arena *a = mp_arena_new();
	static const char *const with[] = { BOB, CAROL };
	struct mam_pos pos[25], ids[4], ghost = { BASE_US + 1, 5 };
	struct mam_filter f;
	struct mam_page pg;
	long got[32];

	CHECK(fixture_open(&fx) == 0);
	CHECK(fill(&fx.d, ALICE, 25, with, 2, pos) == 0);

	/* with: bob has the even messages; the count comes from meta. */
	filter_init(&f, ALICE, 5);
	f.with = BOB;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 0, 2) && !pg.complete);
	CHECK(pg.count == 13);
	f.has_before = true;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 16, 2) && pg.complete == false);
	/* A full JID matches that resource only: i % 3 == 1 and even. */
	filter_init(&f, ALICE, 100);
	f.with = BOB;
	f.with_full = "bob@example.org/r1";
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 4 && numbers(got, 4, 4, 6) && pg.complete);
	CHECK(pg.count == 4);

	/* start and end are inclusive. */
	filter_init(&f, ALICE, 100);
	f.has_start = f.has_end = true;
	f.start_us = (int64_t)(BASE_US + 3 * STEP_US);
	f.end_us = (int64_t)(BASE_US + 6 * STEP_US);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 4 && numbers(got, 4, 3, 1) && pg.count == 4);
	f.end_us = -5;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 0 && pg.complete && pg.count == 0);

	/* after-id and before-id are exclusive and must exist. */
	filter_init(&f, ALICE, 100);
	f.has_after_id = f.has_before_id = true;
	f.after_id = pos[3];
	f.before_id = pos[8];
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 4 && numbers(got, 4, 4, 1) && pg.count == 4);
	f.before_id = ghost;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_NOT_FOUND);
	filter_init(&f, ALICE, 100);
	f.has_after = true;
	f.after = ghost;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_NOT_FOUND);
	filter_init(&f, ALICE, 100);
	f.has_before = f.before_value = true;
	f.before = ghost;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_NOT_FOUND);
	/* bob's archive does not hold alice's ids. */
	filter_init(&f, BOB, 100);
	f.has_after_id = true;
	f.after_id = pos[0];
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_NOT_FOUND);

	/* ids: in archive order, once each, other filters applied. */
	ids[0] = pos[9];
	ids[1] = pos[2];
	ids[2] = pos[9];
	ids[3] = pos[4];
	filter_init(&f, ALICE, 100);
	f.ids = ids;
	f.nids = 4;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 3 && got[0] == 2 && got[1] == 4 && got[2] == 9);
	CHECK(pg.complete && pg.count == 3);
	f.with = CAROL;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 1 && got[0] == 9);
	f.with = NULL;
	f.max = 1;
	f.has_after = true;
	f.after = pos[2];
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 1 && got[0] == 4 && !pg.complete);
	ids[1] = ghost;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_NOT_FOUND);
	mp_arena_free(a);
	fixture_close(&fx);
}

static long
count_of(struct fixture *fx, const char *bare, const char *with)
{
	struct mp_txn *txn;
	const char *err;
	long n;

	if (mp_txn_read(fx->store, &txn, &err) == -1)
		return -2;
	n = mam_archive_count(txn, &fx->d, bare, with);
	mp_txn_abort(txn);
	return n;
}

MP_TEST(mam_expiry_goes_in_bounded_batches)
{
	struct fixture fx;
	struct mp_arena *a = mp_arena_new();
	static const char *const with[] = { BOB, CAROL };
	struct mam_pos pa[30], pb[30];
	struct mp_buf cursor = MP_BUF_INIT;
	struct mam_filter f;
	struct mam_page pg;
	const char *err;
	long got[64], total = 0, n;
	bool done = false;
	int runs = 0;

	CHECK(fixture_open(&fx) == 0);
	CHECK(fill(&fx.d, ALICE, 30, with, 2, pa) == 0);
	CHECK(fill(&fx.d, CAROL, 30, with, 1, pb) == 0);
	/* Everything before message 20 goes: 20 of alice's, 20 of carol's. */
	while (!done && runs++ < 20) {
		n = mam_archive_expire(&fx.d, BASE_US + 20 * STEP_US, 7,
		    &cursor, &done, &err);
		CHECK(n >= 0 && n <= 7);
		total += n;
	}
	CHECK(done && total == 40 && runs >= 6);
	CHECK(cursor.len == 0);
	CHECK(count_of(&fx, ALICE, NULL) == 10);
	CHECK(count_of(&fx, ALICE, BOB) == 5);
	CHECK(count_of(&fx, CAROL, NULL) == 10);
	CHECK(count_of(&fx, CAROL, BOB) == 10);
	filter_init(&f, ALICE, 100);
	f.with = BOB;
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 5 && numbers(got, 5, 20, 2) && pg.count == 5);
	filter_init(&f, CAROL, 100);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	CHECK(pg.n == 10 && numbers(got, 10, 20, 1));
	/* Nothing left to do: a pass removes nothing. */
	n = mam_archive_expire(&fx.d, BASE_US + 20 * STEP_US, 7, &cursor,
	    &done, &err);
	CHECK(n == 0 && done);
	/* Expiring everything leaves no counters behind. */
	done = false;
	for (runs = 0; !done && runs < 20; runs++)
		CHECK(mam_archive_expire(&fx.d, UINT64_MAX, 1000, &cursor,
		    &done, &err) >= 0);
	CHECK(done);
	CHECK(count_of(&fx, ALICE, NULL) == 0 && count_of(&fx, ALICE, BOB) ==
	    0);
	mp_buf_free(&cursor);
	mp_arena_free(a);
	fixture_close(&fx);
}

static int
count_keys_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	(*(long *)arg)++;
	return 0;
}

static long
keys_in(struct fixture *fx, struct mp_db *db)
{
	struct mp_txn *txn;
	const char *err;
	long n = 0;

	if (mp_txn_read(fx->store, &txn, &err) == -1)
		return -1;
	mp_txn_scan(txn, db, NULL, 0, NULL, 0, false, count_keys_cb, &n);
	mp_txn_abort(txn);
	return n;
}

static int
put_prefs(struct mp_txn *txn, void *arg, const char **error_r)
{
	const struct mam_dbs *d = arg;

	return mp_txn_put(txn, d->prefs, ALICE, strlen(ALICE), "a", 1);
}

MP_TEST(mam_user_deletion_takes_everything_and_only_that)
{
	struct fixture fx;
	static const char *const with[] = { BOB, CAROL };
	/* A bare JID that starts like alice's must survive. */
	static const char ALICE2[] = "alice@example.org2";
	struct mam_pos p[12000];
	const char *err;

	CHECK(fixture_open(&fx) == 0);
	/* More than one deletion batch. */
	CHECK(fill(&fx.d, ALICE, 12000, with, 2, p) == 0);
	CHECK(fill(&fx.d, ALICE2, 3, with, 2, p) == 0);
	CHECK(mp_store_write(fx.store, put_prefs, &fx.d, &err) == 0);
	CHECK(keys_in(&fx, fx.d.archive) == 12003);
	CHECK(mam_archive_delete_user(&fx.d, ALICE, &err) == 0);
	CHECK(keys_in(&fx, fx.d.archive) == 3);
	CHECK(keys_in(&fx, fx.d.with) == 3);
	CHECK(keys_in(&fx, fx.d.prefs) == 0);
	/* alice2's total and two per-contact counters */
	CHECK(keys_in(&fx, fx.d.meta) == 3);
	CHECK(count_of(&fx, ALICE2, NULL) == 3);
	fixture_close(&fx);
}

MP_TEST(mam_page_of_100k_in_milliseconds)
{
	struct fixture fx;
	struct mp_arena *a = mp_arena_new();
	static const char *const with[] = { BOB, CAROL, "dave@example.org",
	    "erin@example.org" };
	enum { N = 100000 };
	struct mam_pos *pos = calloc(N, sizeof(*pos));
	struct mam_filter f;
	struct mam_page pg;
	struct timespec t0;
	long *got = calloc(200, sizeof(*got));
	double ms;

	CHECK(pos != NULL && got != NULL);
	CHECK(fixture_open(&fx) == 0);
	CHECK(fill(&fx.d, ALICE, N, with, 4, pos) == 0);

	/* The last page, as a client opening a conversation asks. */
	filter_init(&f, ALICE, 100);
	f.has_before = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	ms = ms_since(&t0);
	fprintf(stderr, "  100k: last page %.2f ms\n", ms);
	CHECK(ms < 50);
	CHECK(pg.n == 100 && numbers(got, 100, N - 100, 1));
	CHECK(pg.count == N && !pg.complete);

	/* A page in the middle, after an id. */
	filter_init(&f, ALICE, 100);
	f.has_after = true;
	f.after = pos[N / 2];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	ms = ms_since(&t0);
	fprintf(stderr, "  100k: after-id page %.2f ms\n", ms);
	CHECK(ms < 50);
	CHECK(pg.n == 100 && numbers(got, 100, N / 2 + 1, 1));

	/* One contact, backwards from an id. */
	filter_init(&f, ALICE, 100);
	f.with = "dave@example.org";
	f.has_before = f.before_value = true;
	f.before = pos[N / 2 + 2];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	ms = ms_since(&t0);
	fprintf(stderr, "  100k: with page %.2f ms\n", ms);
	CHECK(ms < 50);
	CHECK(pg.n == 100 && numbers(got, 100, N / 2 + 2 - 400, 4));
	CHECK(pg.count == N / 4);

	/* A time window: counted by scanning, within the cap. */
	filter_init(&f, ALICE, 100);
	f.has_start = f.has_end = true;
	f.start_us = (int64_t)(BASE_US + 30000 * STEP_US);
	f.end_us = (int64_t)(BASE_US + 34999 * STEP_US);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(query(&fx, a, &f, &pg, got) == MAM_PAGE_OK);
	ms = ms_since(&t0);
	fprintf(stderr, "  100k: start/end page %.2f ms\n", ms);
	CHECK(ms < 50);
	CHECK(pg.n == 100 && numbers(got, 100, 30000, 1) && pg.count == 5000);
	free(pos);
	free(got);
	mp_arena_free(a);
	fixture_close(&fx);
}
