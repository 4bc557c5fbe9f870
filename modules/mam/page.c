/*
 * page.c - runs an archive query: the result set a form selects (with,
 * start, end, before-id, after-id, ids) and the XEP-0059 page of it, found
 * with range scans over the archive or its per-contact index.
 */
#include <stdlib.h>
#include <string.h>

#include "mam.h"

/* A bound in position space: 16 bytes, and a 17th zero byte for "after". */
struct page_bound {
	unsigned char	 b[MAM_POS_LEN + 1];
	size_t		 len;		/* 0: unbounded */
};

struct page_scan {
	const struct mam_dbs *d;
	struct mp_txn	*txn;
	struct mp_arena	*a;
	const struct mam_filter *f;
	bool		 via_index;	/* keys of the with index */
	bool		 counting;
	long		 skip;		/* RSM index: matches to pass over */
	long		 want;		/* stop after this many matches */
	long		 found;
	long		 keep;		/* matches to keep as items */
	struct mam_item	*items;
	size_t		 n;
	bool		 failed;
};

static void
page_bound_pos(struct page_bound *b, const struct mam_pos *p, bool after)
{
	mam_pos_put(b->b, p);
	b->len = MAM_POS_LEN;
	if (after)
		b->b[b->len++] = 0;
}

static int
page_bound_cmp(const struct page_bound *x, const struct page_bound *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* lo = max(lo, b) for lower bounds (unbounded is the smallest). */
static void
page_raise(struct page_bound *lo, const struct page_bound *b)
{
	if (lo->len == 0 || page_bound_cmp(b, lo) > 0)
		*lo = *b;
}

/* hi = min(hi, b) for upper bounds (unbounded is the largest). */
static void
page_lower(struct page_bound *hi, const struct page_bound *b)
{
	if (hi->len == 0 || page_bound_cmp(b, hi) < 0)
		*hi = *b;
}

/* The result set's bounds: [lo, hi) from start, end, after-id, before-id. */
static void
page_form_bounds(const struct mam_filter *f, struct page_bound *lo,
    struct page_bound *hi)
{
	struct page_bound b;
	struct mam_pos p;

	lo->len = hi->len = 0;
	if (f->has_start) {
		p.ts = f->start_us > 0 ? (uint64_t)f->start_us : 0;
		p.seq = 0;
		page_bound_pos(&b, &p, false);
		page_raise(lo, &b);
	}
	if (f->has_after_id) {
		page_bound_pos(&b, &f->after_id, true);
		page_raise(lo, &b);
	}
	if (f->has_end && f->end_us < INT64_MAX) {
		p.ts = f->end_us >= 0 ? (uint64_t)f->end_us + 1 : 0;
		p.seq = 0;
		page_bound_pos(&b, &p, false);
		page_lower(hi, &b);
	}
	if (f->has_before_id) {
		page_bound_pos(&b, &f->before_id, false);
		page_lower(hi, &b);
	}
}

static bool
page_in_bounds(const struct mam_pos *p, const struct page_bound *lo,
    const struct page_bound *hi)
{
	struct page_bound b;

	page_bound_pos(&b, p, false);
	return (lo->len == 0 || page_bound_cmp(&b, lo) >= 0) &&
	    (hi->len == 0 || page_bound_cmp(&b, hi) < 0);
}

/* 1 when the archive holds p, 0 when not, -1 on error. */
static int
page_exists(struct page_scan *s, const struct mam_pos *p)
{
	struct mp_buf k = MP_BUF_INIT;
	struct mp_val v;
	int rc;

	mam_key(&k, s->f->bare, NULL, p);
	rc = mp_txn_get(s->txn, s->d->archive, k.data, k.len, &v);
	mp_buf_free(&k);
	return rc;
}

/* The record at p (into r, valid during the transaction): 1, 0, -1. */
static int
page_record(struct page_scan *s, const struct mam_pos *p,
    struct mam_record *r)
{
	struct mp_buf k = MP_BUF_INIT;
	struct mp_val v;
	int rc;

	mam_key(&k, s->f->bare, NULL, p);
	rc = mp_txn_get(s->txn, s->d->archive, k.data, k.len, &v);
	mp_buf_free(&k);
	if (rc != 1)
		return rc;
	return mam_record_get(v.data, v.len, r) == 0 ? 1 : 0;
}

/* Whether a record passes the JID filter the key range did not apply. */
static bool
page_with_match(const struct mam_filter *f, const struct mam_record *r)
{
	if (f->with != NULL && (r->with_len != strlen(f->with) ||
	    memcmp(r->with, f->with, r->with_len) != 0))
		return false;
	if (f->with_full != NULL && (r->remote_len != strlen(f->with_full) ||
	    memcmp(r->remote, f->with_full, r->remote_len) != 0))
		return false;
	return true;
}

static void
page_keep(struct page_scan *s, const struct mam_pos *p,
    const struct mam_record *r)
{
	struct mam_item *it = &s->items[s->n++];

	it->pos = *p;
	it->rec = *r;
	it->rec.with = mp_arena_strndup(s->a, r->with, r->with_len);
	it->rec.remote = mp_arena_strndup(s->a, r->remote, r->remote_len);
	it->rec.xml = mp_arena_strndup(s->a, r->xml, r->xml_len);
}

static int
page_scan_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct page_scan *s = arg;
	struct mam_record r;
	struct mam_pos p;
	int rc;

	if (mam_key_pos(key, &p) == -1)
		return 0;
	/* Counting the whole archive or one bare contact needs no record. */
	if (s->counting && s->f->with_full == NULL)
		rc = 1;
	else if (s->via_index)
		rc = page_record(s, &p, &r);
	else
		rc = mam_record_get(val->data, val->len, &r) == 0 ? 1 : 0;
	if (rc == -1) {
		s->failed = true;
		return 1;
	}
	/* An unreadable record (or an index without one) is passed over. */
	if (rc == 0 || (!(s->counting && s->f->with_full == NULL) &&
	    !page_with_match(s->f, &r)))
		return 0;
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (!s->counting && s->found < s->keep)
		page_keep(s, &p, &r);
	return ++s->found >= s->want ? 1 : 0;
}

/* Scans [lo, hi) of the user's (or the contact's) keys with page_scan_cb. */
static int
page_scan_range(struct page_scan *s, const struct page_bound *lo,
    const struct page_bound *hi, bool reverse)
{
	struct mp_buf prefix = MP_BUF_INIT, start = MP_BUF_INIT,
	    end = MP_BUF_INIT;
	long r;

	mam_prefix(&prefix, s->f->bare, s->via_index ? s->f->with : NULL);
	mp_buf_append(&start, prefix.data, prefix.len);
	mp_buf_append(&start, lo->b, lo->len);
	mp_buf_append(&end, prefix.data, prefix.len);
	if (hi->len > 0)
		mp_buf_append(&end, hi->b, hi->len);
	else	/* the end of the prefix's range */
		end.data[end.len - 1]++;
	r = mp_txn_scan(s->txn, s->via_index ? s->d->with : s->d->archive,
	    start.data, start.len, end.data, end.len, reverse, page_scan_cb, s);
	mp_buf_free(&prefix);
	mp_buf_free(&start);
	mp_buf_free(&end);
	return r == -1 || s->failed ? -1 : 0;
}

/* The size of the result set, or -1 when it would cost too much to know. */
static long
page_count(struct page_scan *s, const struct page_bound *lo,
    const struct page_bound *hi)
{
	const struct mam_filter *f = s->f;
	struct page_scan c = *s;

	if (!f->has_start && !f->has_end && !f->has_after_id &&
	    !f->has_before_id && f->with_full == NULL)
		return mam_archive_count(s->txn, s->d, f->bare, f->with);
	if (f->count_cap <= 0)
		return -1;
	c.counting = true;
	c.skip = 0;
	c.found = 0;
	c.keep = 0;
	c.want = f->count_cap + 1;
	c.failed = false;
	if (page_scan_range(&c, lo, hi, false) == -1)
		return -1;
	return c.found > f->count_cap ? -1 : c.found;
}

static int
page_pos_sort(const void *x, const void *y)
{
	return mam_pos_cmp(x, y);
}

/* The ids field: the named messages the other filters let through. */
static int
page_ids(struct page_scan *s, const struct page_bound *lo,
    const struct page_bound *hi, struct mam_page *pg)
{
	const struct mam_filter *f = s->f;
	struct mam_pos *ids = mp_arena_alloc(s->a, (f->nids + 1) *
	    sizeof(*ids));
	struct mam_record *recs = mp_arena_alloc(s->a, (f->nids + 1) *
	    sizeof(*recs));
	size_t n = 0, from = 0, to;
	int rc;

	memcpy(ids, f->ids, f->nids * sizeof(*ids));
	qsort(ids, f->nids, sizeof(*ids), page_pos_sort);
	for (size_t i = 0; i < f->nids; i++) {
		if (i > 0 && mam_pos_cmp(&ids[i], &ids[i - 1]) == 0)
			continue;
		if ((rc = page_record(s, &ids[i], &recs[n])) == -1)
			return MAM_PAGE_ERROR;
		if (rc == 0 && page_exists(s, &ids[i]) != 1)
			return MAM_PAGE_NOT_FOUND;
		if (rc == 1 && page_in_bounds(&ids[i], lo, hi) &&
		    page_with_match(f, &recs[n]))
			ids[n++] = ids[i];
	}
	pg->count = (long)n;
	/* RSM within the list; before and after were checked to exist. */
	to = n;
	if (f->has_after)
		while (from < to && mam_pos_cmp(&ids[from], &f->after) <= 0)
			from++;
	if (f->before_value)
		while (to > from && mam_pos_cmp(&ids[to - 1], &f->before) >= 0)
			to--;
	if (f->has_before) {
		pg->complete = to - from <= (size_t)f->max;
		if (!pg->complete)
			from = to - (size_t)f->max;
	} else {
		if (!f->has_after && f->index > 0)
			from = (size_t)f->index < to ? from + (size_t)f->index :
			    to;
		pg->complete = to - from <= (size_t)f->max;
		if (!pg->complete)
			to = from + (size_t)f->max;
	}
	pg->first_index = to > from && !f->has_before ? (long)from : -1;
	pg->items = mp_arena_alloc(s->a, (to - from + 1) * sizeof(*pg->items));
	s->items = pg->items;
	s->n = 0;
	for (size_t i = from; i < to; i++)
		page_keep(s, &ids[i], &recs[i]);
	pg->n = s->n;
	return MAM_PAGE_OK;
}

/* Every id the query names must be in the archive (XEP-0313 4.1.3). */
static int
page_check_ids(struct page_scan *s)
{
	const struct mam_filter *f = s->f;
	const struct mam_pos *named[4];
	size_t n = 0;
	int rc;

	if (f->has_after_id)
		named[n++] = &f->after_id;
	if (f->has_before_id)
		named[n++] = &f->before_id;
	if (f->has_after)
		named[n++] = &f->after;
	if (f->before_value)
		named[n++] = &f->before;
	for (size_t i = 0; i < n; i++)
		if ((rc = page_exists(s, named[i])) != 1)
			return rc == 0 ? MAM_PAGE_NOT_FOUND : MAM_PAGE_ERROR;
	return MAM_PAGE_OK;
}

static int
page_run(struct page_scan *s, struct mam_page *pg)
{
	const struct mam_filter *f = s->f;
	struct page_bound lo, hi, plo, phi, b;
	bool backward = f->has_before;
	int rc;

	if ((rc = page_check_ids(s)) != MAM_PAGE_OK)
		return rc;
	page_form_bounds(f, &lo, &hi);
	if (f->ids != NULL)
		return page_ids(s, &lo, &hi, pg);
	plo = lo;
	phi = hi;
	if (f->has_after) {
		page_bound_pos(&b, &f->after, true);
		page_raise(&plo, &b);
	}
	if (f->before_value) {
		page_bound_pos(&b, &f->before, false);
		page_lower(&phi, &b);
	}
	pg->count = page_count(s, &lo, &hi);
	if (s->failed)
		return MAM_PAGE_ERROR;
	pg->items = mp_arena_alloc(s->a, ((size_t)f->max + 1) *
	    sizeof(*pg->items));
	s->items = pg->items;
	s->keep = f->max;
	s->want = f->max + 1;
	s->skip = !f->has_after && !backward && f->index > 0 ? f->index : 0;
	/* An empty range ([x, y) with y <= x) is an empty page. */
	if (plo.len == 0 || phi.len == 0 || page_bound_cmp(&plo, &phi) < 0)
		if (page_scan_range(s, &plo, &phi, backward) == -1)
			return MAM_PAGE_ERROR;
	pg->n = s->n;
	pg->complete = s->found <= f->max;
	if (backward)
		for (size_t i = 0; i < pg->n / 2; i++) {
			struct mam_item t = pg->items[i];

			pg->items[i] = pg->items[pg->n - 1 - i];
			pg->items[pg->n - 1 - i] = t;
		}
	/*
	 * Only forward pages tell their index: clients (slixmpp 1.8) stop
	 * paging backwards once index + page size reaches the count, which a
	 * correct index on the last page does at once.
	 */
	pg->first_index = -1;
	if (pg->n == 0 || backward)
		return MAM_PAGE_OK;
	if (!f->has_after)
		pg->first_index = f->index > 0 ? f->index : 0;
	else if (pg->complete && pg->count >= (long)pg->n)
		pg->first_index = pg->count - (long)pg->n;
	return MAM_PAGE_OK;
}

int
mam_page_query(const struct mam_dbs *d, struct mp_arena *a,
    const struct mam_filter *f, struct mam_page *page_r,
    const char **error_r)
{
	struct page_scan s = { .d = d, .a = a, .f = f,
	    .via_index = f->with != NULL };
	int rc;

	memset(page_r, 0, sizeof(*page_r));
	page_r->count = -1;
	page_r->first_index = -1;
	if (f->max < 0) {
		*error_r = "negative page size";
		return MAM_PAGE_ERROR;
	}
	if (mp_txn_read(d->store, &s.txn, error_r) == -1)
		return MAM_PAGE_ERROR;
	rc = page_run(&s, page_r);
	mp_txn_abort(s.txn);
	if (rc == MAM_PAGE_ERROR)
		*error_r = "archive read failed";
	return rc;
}
