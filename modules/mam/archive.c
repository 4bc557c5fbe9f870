/* archive.c - storing, counting, expiring and removing archived messages. */
#include <string.h>

#include "mam.h"

#define ARCHIVE_DELETE_BATCH	5000	/* keys removed per transaction */

/* The last byte of a prefix raised by one: the end of its key range. */
static void
archive_range_end(struct mp_buf *end, const struct mp_buf *prefix)
{
	mp_buf_append(end, prefix->data, prefix->len);
	end->data[end->len - 1]++;
}

static int
archive_first_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	return mam_key_pos(key, arg) == 0 ? 1 : 0;
}

int
mam_archive_edge(struct mp_txn *txn, const struct mam_dbs *d,
    const char *bare, bool newest, struct mam_pos *p_r)
{
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	struct mam_pos p = { UINT64_MAX, UINT64_MAX };
	long n;

	mam_prefix(&start, bare, NULL);
	archive_range_end(&end, &start);
	n = mp_txn_scan(txn, d->archive, start.data, start.len, end.data,
	    end.len, newest, archive_first_cb, &p);
	mp_buf_free(&start);
	mp_buf_free(&end);
	if (n == -1)
		return -1;
	if (n == 0 || p.ts == UINT64_MAX)
		return 0;
	*p_r = p;
	return 1;
}

/* The meta key of a user ("<bare>") or of one contact ("<bare>\0<with>"). */
static void
archive_meta_key(struct mp_buf *k, const char *bare, const char *with)
{
	mp_buf_append(k, bare, strlen(bare));
	if (with != NULL) {
		mp_buf_putc(k, '\0');
		mp_buf_append(k, with, strlen(with));
	}
}

static long
archive_meta_get(struct mp_txn *txn, const struct mam_dbs *d,
    const struct mp_buf *k)
{
	struct mp_val v;

	switch (mp_txn_get(txn, d->meta, k->data, k->len, &v)) {
	case 1:
		return v.len == 8 ? (long)mam_u64_get(v.data) : 0;
	case 0:
		return 0;
	default:
		return -1;
	}
}

/* Adds delta to a counter; a counter reaching zero goes. */
static int
archive_meta_add(struct mp_txn *txn, const struct mam_dbs *d,
    const struct mp_buf *k, long delta)
{
	long n = archive_meta_get(txn, d, k);
	unsigned char raw[8];

	if (n == -1)
		return -1;
	n += delta;
	if (n <= 0)
		return mp_txn_del(txn, d->meta, k->data, k->len) == -1 ? -1 : 0;
	mam_u64_put(raw, (uint64_t)n);
	return mp_txn_put(txn, d->meta, k->data, k->len, raw, sizeof(raw));
}

long
mam_archive_count(struct mp_txn *txn, const struct mam_dbs *d,
    const char *bare, const char *with)
{
	struct mp_buf k = MP_BUF_INIT;
	long n;

	archive_meta_key(&k, bare, with);
	n = archive_meta_get(txn, d, &k);
	mp_buf_free(&k);
	return n;
}

int
mam_archive_append(struct mp_txn *txn, const struct mam_dbs *d,
    const struct mam_entry *e, uint64_t now_us, uint64_t seq,
    struct mam_pos *pos_r, const char **error_r)
{
	struct mp_buf k = MP_BUF_INIT, record = MP_BUF_INIT;
	unsigned char raw[MAM_POS_LEN];
	struct mam_pos last, pos = { now_us, seq };
	int rc = -1;

	/* Order is the archive's: never before what is already there. */
	switch (mam_archive_edge(txn, d, e->bare, true, &last)) {
	case -1:
		*error_r = "scan failed";
		return -1;
	case 1:
		if (last.ts == UINT64_MAX) {
			*error_r = "archive clock exhausted";
			return -1;
		}
		if (pos.ts <= last.ts)
			pos.ts = last.ts + 1;
		break;
	}
	mam_record_put(&record, e->dir, e->with, e->remote, e->xml,
	    e->xml_len);
	mam_key(&k, e->bare, NULL, &pos);
	if (mp_txn_put(txn, d->archive, k.data, k.len, record.data,
	    record.len) == -1)
		goto out;
	mp_buf_reset(&k);
	mam_key(&k, e->bare, e->with, &pos);
	mam_pos_put(raw, &pos);
	if (mp_txn_put(txn, d->with, k.data, k.len, raw, sizeof(raw)) == -1)
		goto out;
	mp_buf_reset(&k);
	archive_meta_key(&k, e->bare, NULL);
	if (archive_meta_add(txn, d, &k, 1) == -1)
		goto out;
	mp_buf_reset(&k);
	archive_meta_key(&k, e->bare, e->with);
	if (archive_meta_add(txn, d, &k, 1) == -1)
		goto out;
	*pos_r = pos;
	rc = 0;
out:
	if (rc == -1)
		*error_r = "write failed";
	mp_buf_free(&k);
	mp_buf_free(&record);
	return rc;
}

struct archive_put {
	const struct mam_dbs *d;
	const struct mam_entry *e;
	uint64_t	 now_us;
	uint64_t	 seq;
	struct mam_pos	 pos;
};

static int
archive_put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct archive_put *p = arg;

	return mam_archive_append(txn, p->d, p->e, p->now_us, p->seq, &p->pos,
	    error_r);
}

int
mam_archive_put(const struct mam_dbs *d, const struct mam_entry *e,
    uint64_t now_us, uint64_t seq, struct mam_pos *pos_r,
    const char **error_r)
{
	struct archive_put p = { .d = d, .e = e, .now_us = now_us,
	    .seq = seq };

	if (mp_store_write(d->store, archive_put_fn, &p, error_r) == -1)
		return -1;
	*pos_r = p.pos;
	return 0;
}

/* Keys gathered during a scan, removed after it; each after its length. */
struct archive_keys {
	struct mp_buf	 buf;
	long		 n;
	long		 max;
};

static int
archive_keys_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct archive_keys *ks = arg;

	mp_buf_append(&ks->buf, &key->len, sizeof(key->len));
	mp_buf_append(&ks->buf, key->data, key->len);
	return ++ks->n >= ks->max ? 1 : 0;
}

static int
archive_keys_del(struct mp_txn *txn, struct mp_db *db,
    const struct archive_keys *ks)
{
	size_t off = 0, len;

	while (off < ks->buf.len) {
		memcpy(&len, ks->buf.data + off, sizeof(len));
		off += sizeof(len);
		if (mp_txn_del(txn, db, ks->buf.data + off, len) == -1)
			return -1;
		off += len;
	}
	return 0;
}

struct archive_wipe {
	const struct mam_dbs *d;
	const char	*bare;
	struct archive_keys keys;
};

/* Deletes up to a batch of keys "<bare>\0..." from db; the number or -1. */
static long
archive_wipe_range(struct mp_txn *txn, struct mp_db *db,
    struct archive_wipe *w, long budget)
{
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	long n = -1;

	mp_buf_reset(&w->keys.buf);
	w->keys.n = 0;
	w->keys.max = budget;
	mam_prefix(&start, w->bare, NULL);
	archive_range_end(&end, &start);
	if (budget > 0 && (mp_txn_scan(txn, db, start.data, start.len,
	    end.data, end.len, false, archive_keys_cb, &w->keys) == -1 ||
	    archive_keys_del(txn, db, &w->keys) == -1))
		goto out;
	n = w->keys.n;
out:
	mp_buf_free(&start);
	mp_buf_free(&end);
	return n;
}

/*
 * One batch: the meta and prefs keys, then archive and index keys up to the
 * batch size. The caller repeats until a batch removes nothing, so that an
 * archive of any size never makes one huge transaction.
 */
static int
archive_wipe_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct archive_wipe *w = arg;
	long a, b;
	size_t bl = strlen(w->bare);

	if (mp_txn_del(txn, w->d->meta, w->bare, bl) == -1 ||
	    mp_txn_del(txn, w->d->prefs, w->bare, bl) == -1 ||
	    (a = archive_wipe_range(txn, w->d->archive, w,
	    ARCHIVE_DELETE_BATCH)) == -1 ||
	    (b = archive_wipe_range(txn, w->d->meta, w,
	    ARCHIVE_DELETE_BATCH - a)) == -1 ||
	    archive_wipe_range(txn, w->d->with, w,
	    ARCHIVE_DELETE_BATCH - a - b) == -1) {
		*error_r = "delete failed";
		return -1;
	}
	w->keys.n = a + b + w->keys.n;
	return 0;
}

int
mam_archive_delete_user(const struct mam_dbs *d, const char *bare,
    const char **error_r)
{
	struct archive_wipe w = { .d = d, .bare = bare,
	    .keys = { .buf = MP_BUF_INIT } };
	int rc;

	do
		rc = mp_store_write(d->store, archive_wipe_fn, &w, error_r);
	while (rc == 0 && w.keys.n > 0);
	mp_buf_free(&w.keys.buf);
	return rc;
}

/* What one expiry pass found: users are visited in meta key order. */
struct archive_expire {
	const struct mam_dbs *d;
	struct mp_txn	*txn;
	uint64_t	 cutoff_us;
	long		 budget;
	long		 removed;
	struct mp_buf	*cursor;
	struct mp_buf	 next;		/* where the next pass resumes */
	bool		 done;
	bool		 failed;
	struct archive_keys keys;	/* this user's expired keys */
};

/* Removes one expired entry found at key (with its index and counters). */
static int
archive_expire_one(struct archive_expire *x, const char *bare,
    const void *key, size_t klen)
{
	struct mp_buf k = MP_BUF_INIT, with = MP_BUF_INIT;
	struct mp_val kv = { key, klen }, v;
	struct mam_record r;
	struct mam_pos p;
	int rc = -1;

	if (mam_key_pos(&kv, &p) == -1 ||
	    mp_txn_get(x->txn, x->d->archive, key, klen, &v) != 1)
		goto out;
	if (mam_record_get(v.data, v.len, &r) == 0) {
		mp_buf_append(&with, r.with, r.with_len);
		mp_buf_putc(&with, '\0');
		mam_key(&k, bare, with.data, &p);
		if (mp_txn_del(x->txn, x->d->with, k.data, k.len) == -1)
			goto out;
		mp_buf_reset(&k);
		archive_meta_key(&k, bare, with.data);
		if (archive_meta_add(x->txn, x->d, &k, -1) == -1)
			goto out;
		mp_buf_reset(&k);
	}
	archive_meta_key(&k, bare, NULL);
	if (mp_txn_del(x->txn, x->d->archive, key, klen) == -1 ||
	    archive_meta_add(x->txn, x->d, &k, -1) == -1)
		goto out;
	rc = 0;
out:
	mp_buf_free(&k);
	mp_buf_free(&with);
	return rc;
}

static int
archive_expire_user(struct archive_expire *x, const char *bare)
{
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	struct mam_pos cut = { x->cutoff_us, 0 };
	size_t off = 0, len;
	int rc = -1;

	mp_buf_reset(&x->keys.buf);
	x->keys.n = 0;
	x->keys.max = x->budget - x->removed;
	mam_prefix(&start, bare, NULL);
	mam_key(&end, bare, NULL, &cut);
	if (mp_txn_scan(x->txn, x->d->archive, start.data, start.len,
	    end.data, end.len, false, archive_keys_cb, &x->keys) == -1)
		goto out;
	while (off < x->keys.buf.len) {
		memcpy(&len, x->keys.buf.data + off, sizeof(len));
		off += sizeof(len);
		if (archive_expire_one(x, bare, x->keys.buf.data + off,
		    len) == -1)
			goto out;
		off += len;
		x->removed++;
	}
	rc = 0;
out:
	mp_buf_free(&start);
	mp_buf_free(&end);
	return rc;
}

/* Gathers the users (meta keys without '\0') from the cursor on. */
static int
archive_users_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct archive_keys *users = arg;

	if (memchr(key->data, '\0', key->len) != NULL)
		return 0;
	return archive_keys_cb(key, val, users);
}

static int
archive_expire_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct archive_expire *x = arg;
	struct archive_keys users = { .buf = MP_BUF_INIT, .max = 256 };
	struct mp_buf bare = MP_BUF_INIT;
	size_t off = 0, len;
	int rc = -1;

	x->txn = txn;
	x->removed = 0;
	x->done = false;
	mp_buf_reset(&x->next);
	if (mp_txn_scan(txn, x->d->meta, x->cursor->len > 0 ?
	    x->cursor->data : NULL, x->cursor->len, NULL, 0, false,
	    archive_users_cb, &users) == -1) {
		*error_r = "scan failed";
		goto out;
	}
	while (off < users.buf.len) {
		memcpy(&len, users.buf.data + off, sizeof(len));
		off += sizeof(len);
		mp_buf_reset(&bare);
		mp_buf_append(&bare, users.buf.data + off, len);
		mp_buf_putc(&bare, '\0');
		off += len;
		if (archive_expire_user(x, bare.data) == -1) {
			*error_r = "expiry failed";
			goto out;
		}
		if (x->removed >= x->budget)
			break;
	}
	/* Out of budget or of gathered users: resume at the last one seen. */
	if (users.n < users.max && x->removed < x->budget)
		x->done = true;
	else if (bare.len > 0)
		mp_buf_append(&x->next, bare.data, strlen(bare.data));
	rc = 0;
out:
	mp_buf_free(&users.buf);
	mp_buf_free(&bare);
	return rc;
}

long
mam_archive_expire(const struct mam_dbs *d, uint64_t cutoff_us, long budget,
    struct mp_buf *cursor, bool *done_r, const char **error_r)
{
	struct archive_expire x = { .d = d, .cutoff_us = cutoff_us,
	    .budget = budget, .cursor = cursor, .next = MP_BUF_INIT,
	    .keys = { .buf = MP_BUF_INIT } };
	int rc;

	rc = mp_store_write(d->store, archive_expire_fn, &x, error_r);
	if (rc == 0) {
		mp_buf_reset(cursor);
		if (x.next.len > 0)
			mp_buf_append(cursor, x.next.data, x.next.len);
		*done_r = x.done;
	}
	mp_buf_free(&x.next);
	mp_buf_free(&x.keys.buf);
	return rc == 0 ? x.removed : -1;
}
