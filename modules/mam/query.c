/*
 * query.c - XEP-0313 queries over XMPP: the form and RSM set read into a
 * filter, the page sent as <result/> messages and the <fin/> answer, the
 * form of supported fields and the archive's metadata.
 */
#include <stdlib.h>
#include <string.h>

#include "glue.h"

#define QUERY_MAX_IDS	1000	/* values of the ids field */

enum {
	QUERY_ERR_FORM_TYPE,
	QUERY_ERR_FIELD,
	QUERY_ERR_VALUE,
	QUERY_ERR_RSM,
	QUERY_ERR_IDS,
	QUERY_ERR_NODE,
	QUERY_ERR_STORE,
};

static const struct mp_error query_errors[] = {
	[QUERY_ERR_FORM_TYPE] = { MP_ERR_MODIFY, "bad-request",
	    "FORM_TYPE must be " NS_MAM, NULL, NULL },
	/* XEP-0313 section 4.1.5: a field we do not know. */
	[QUERY_ERR_FIELD] = { MP_ERR_CANCEL, "feature-not-implemented",
	    "Unsupported query field", NULL, NULL },
	[QUERY_ERR_VALUE] = { MP_ERR_MODIFY, "bad-request",
	    "Bad value in the query form", NULL, NULL },
	[QUERY_ERR_RSM] = { MP_ERR_MODIFY, "bad-request",
	    "Bad result set management request", NULL, NULL },
	[QUERY_ERR_IDS] = { MP_ERR_MODIFY, "not-acceptable",
	    "Too many ids", NULL, NULL },
	[QUERY_ERR_NODE] = { MP_ERR_CANCEL, "item-not-found",
	    "This archive has no nodes", NULL, NULL },
	[QUERY_ERR_STORE] = { MP_ERR_WAIT, "resource-constraint",
	    "The archive is unavailable; try again later", NULL, NULL },
};

/* A non-negative decimal of at most 9 digits; -1 otherwise. */
static long
query_number(const char *s)
{
	long v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 9)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	return n == 0 ? -1 : v;
}

/* The one <value/> of a field, or NULL when there is not exactly one. */
static const char *
query_value(struct mp_event *ev, const struct mp_node *field)
{
	struct mp_node *v = mp_node_child(field, NS_XDATA, "value");

	if (v == NULL)
		return NULL;
	for (struct mp_node *c = mp_node_next_element(v); c != NULL;
	    c = mp_node_next_element(c))
		if (strcmp(c->name, "value") == 0)
			return NULL;
	return mp_node_text(ev->arena, v);
}

static int
query_ids(struct mp_event *ev, const struct mp_node *field,
    struct mam_filter *f, const struct mp_error **err_r)
{
	struct mam_pos *ids;
	size_t n = 0;

	for (struct mp_node *c = mp_node_first_element(field); c != NULL;
	    c = mp_node_next_element(c))
		if (strcmp(c->name, "value") == 0)
			n++;
	if (n > QUERY_MAX_IDS) {
		*err_r = &query_errors[QUERY_ERR_IDS];
		return -1;
	}
	ids = mp_arena_alloc(ev->arena, (n + 1) * sizeof(*ids));
	n = 0;
	for (struct mp_node *c = mp_node_first_element(field); c != NULL;
	    c = mp_node_next_element(c)) {
		if (strcmp(c->name, "value") != 0)
			continue;
		/* An id we could not have written is not in the archive. */
		if (mam_id_parse(mp_node_text(ev->arena, c), &ids[n++]) == -1) {
			*err_r = &mp_err_item_not_found;
			return -1;
		}
	}
	f->ids = ids;
	f->nids = n;
	return 0;
}

static int
query_field(struct mp_event *ev, const struct mp_node *field,
    struct mam_filter *f, const struct mp_error **err_r)
{
	const char *var = mp_node_attr(field, "var"), *v, *why;
	struct mp_jid j;

	*err_r = &query_errors[QUERY_ERR_VALUE];
	if (var == NULL)
		return -1;
	if (strcmp(var, "ids") == 0)
		return query_ids(ev, field, f, err_r);
	if (strcmp(var, "FORM_TYPE") != 0 && strcmp(var, "with") != 0 &&
	    strcmp(var, "start") != 0 && strcmp(var, "end") != 0 &&
	    strcmp(var, "before-id") != 0 && strcmp(var, "after-id") != 0) {
		*err_r = &query_errors[QUERY_ERR_FIELD];
		return -1;
	}
	if ((v = query_value(ev, field)) == NULL)
		return -1;
	if (strcmp(var, "FORM_TYPE") == 0) {
		*err_r = &query_errors[QUERY_ERR_FORM_TYPE];
		return strcmp(v, NS_MAM) == 0 ? 0 : -1;
	}
	if (strcmp(var, "with") == 0) {
		if (mp_jid_parse(ev->arena, v, &j, &why) == -1) {
			*err_r = &mp_err_jid_malformed;
			return -1;
		}
		f->with = mp_jid_bare(ev->arena, &j);
		f->with_full = j.resource != NULL ? mp_jid_full(ev->arena, &j) :
		    NULL;
		return 0;
	}
	if (strcmp(var, "start") == 0) {
		f->has_start = true;
		return mam_stamp_parse(v, &f->start_us);
	}
	if (strcmp(var, "end") == 0) {
		f->has_end = true;
		return mam_stamp_parse(v, &f->end_us);
	}
	*err_r = &mp_err_item_not_found;
	if (strcmp(var, "after-id") == 0) {
		f->has_after_id = true;
		return mam_id_parse(v, &f->after_id);
	}
	f->has_before_id = true;
	return mam_id_parse(v, &f->before_id);
}

static int
query_form(struct mp_event *ev, const struct mp_node *x,
    struct mam_filter *f, const struct mp_error **err_r)
{
	for (struct mp_node *c = mp_node_first_element(x); c != NULL;
	    c = mp_node_next_element(c))
		if (strcmp(c->name, "field") == 0 &&
		    strcmp(c->xmlns, NS_XDATA) == 0 &&
		    query_field(ev, c, f, err_r) == -1)
			return -1;
	return 0;
}

/* XEP-0059 section 2: max, after, before (empty: the last page), index. */
static int
query_rsm(struct mp_event *ev, const struct mp_node *set,
    struct mam_filter *f, const struct mp_error **err_r)
{
	struct mp_node *c;
	const char *t;
	long n;

	*err_r = &query_errors[QUERY_ERR_RSM];
	if ((c = mp_node_child(set, NS_RSM, "max")) != NULL) {
		if ((n = query_number(mp_node_text(ev->arena, c))) < 0)
			return -1;
		if (n < f->max)
			f->max = n;
	}
	if ((c = mp_node_child(set, NS_RSM, "index")) != NULL &&
	    (f->index = query_number(mp_node_text(ev->arena, c))) < 0)
		return -1;
	if ((c = mp_node_child(set, NS_RSM, "after")) != NULL) {
		if (*(t = mp_node_text(ev->arena, c)) == '\0')
			return -1;
		f->has_after = true;
		if (mam_id_parse(t, &f->after) == -1) {
			*err_r = &mp_err_item_not_found;
			return -1;
		}
	}
	if ((c = mp_node_child(set, NS_RSM, "before")) != NULL) {
		f->has_before = true;
		if (*(t = mp_node_text(ev->arena, c)) != '\0') {
			f->before_value = true;
			if (mam_id_parse(t, &f->before) == -1) {
				*err_r = &mp_err_item_not_found;
				return -1;
			}
		}
	}
	return 0;
}

static int
query_parse(struct mp_event *ev, struct mam_filter *f, bool *flip_r,
    const struct mp_error **err_r)
{
	const struct mp_node *q = ev->payload, *c;

	if (mp_node_attr(q, "node") != NULL) {
		*err_r = &query_errors[QUERY_ERR_NODE];
		return -1;
	}
	if ((c = mp_node_child(q, NS_XDATA, "x")) != NULL &&
	    query_form(ev, c, f, err_r) == -1)
		return -1;
	if ((c = mp_node_child(q, NS_RSM, "set")) != NULL &&
	    query_rsm(ev, c, f, err_r) == -1)
		return -1;
	*flip_r = mp_node_child(q, NS_MAM, "flip-page") != NULL;
	return 0;
}

/* One <message><result><forwarded/></result></message> to the session. */
static void
query_send_item(struct mp_session *s, const char *to, const char *bare,
    const char *queryid, const struct mam_item *it)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_node *m = mp_node_new(a, MP_NS_CLIENT, "message");
	struct mp_node *r, *fwd, *d, *orig;
	char id[MAM_ID_LEN + 1], stamp[MAM_STAMP_LEN];

	mam_id_format(id, &it->pos);
	mam_stamp_format(stamp, it->pos.ts);
	mp_node_set_attr(a, m, "from", bare);
	mp_node_set_attr(a, m, "to", to);
	r = mp_node_add(a, m, NS_MAM, "result");
	if (queryid != NULL)
		mp_node_set_attr(a, r, "queryid", queryid);
	mp_node_set_attr(a, r, "id", id);
	fwd = mp_node_add(a, r, NS_FORWARD, "forwarded");
	d = mp_node_add(a, fwd, NS_DELAY, "delay");
	mp_node_set_attr(a, d, "stamp", stamp);
	/* XEP-0313 section 3.2: a message we cannot read back is left out. */
	orig = mp_xml_parse(a, it->rec.xml, it->rec.xml_len, MP_NS_CLIENT);
	if (orig != NULL)
		mp_node_append(fwd, orig);
	else
		mp_log_warnx("%s: archived message %s unreadable", bare, id);
	mp_session_send(s, m);
	mp_arena_free(a);
}

static void
query_fin(struct mp_event *ev, const struct mam_page *pg)
{
	struct mp_arena *a = ev->arena;
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *fin = mp_node_add(a, iq, NS_MAM, "fin");
	struct mp_node *set = mp_node_add(a, fin, NS_RSM, "set"), *n;
	char id[MAM_ID_LEN + 1];
	const char *num;

	mp_node_set_attr(a, fin, "complete", pg->complete ? "true" : "false");
	if (pg->n > 0) {
		n = mp_node_add(a, set, NULL, "first");
		mam_id_format(id, &pg->items[0].pos);
		mp_node_add_text(a, n, id, MAM_ID_LEN);
		if (pg->first_index >= 0)
			mp_node_set_attr(a, n, "index",
			    mp_arena_printf(a, "%ld", pg->first_index));
		n = mp_node_add(a, set, NULL, "last");
		mam_id_format(id, &pg->items[pg->n - 1].pos);
		mp_node_add_text(a, n, id, MAM_ID_LEN);
	}
	if (pg->count >= 0) {
		num = mp_arena_printf(a, "%ld", pg->count);
		mp_node_add_text(a, mp_node_add(a, set, NULL, "count"), num,
		    strlen(num));
	}
	mp_reply(ev, iq);
}

enum mp_verdict
mam_query_iq(struct mp_event *ev, void *arg)
{
	struct mam_filter f = { .index = -1, .max = mam_max_page,
	    .count_cap = 10000 };
	const struct mp_error *err = &mp_err_bad_request;
	const char *why, *queryid = mp_node_attr(ev->payload, "queryid");
	struct mp_session *s = ev->session;
	struct mam_page pg;
	bool flip = false;

	f.bare = mp_jid_bare(ev->arena, &ev->from);
	if (s == NULL)
		s = mp_session_find(&ev->from);
	if (query_parse(ev, &f, &flip, &err) == -1) {
		mp_reply_error(ev, err);
		return MP_HANDLED;
	}
	switch (mam_page_query(&mam_dbs, ev->arena, &f, &pg, &why)) {
	case MAM_PAGE_NOT_FOUND:
		mp_reply_error(ev, &mp_err_item_not_found);
		return MP_HANDLED;
	case MAM_PAGE_ERROR:
		mp_log_warnx("%s: archive query failed: %s", f.bare, why);
		mp_reply_error(ev, &query_errors[QUERY_ERR_STORE]);
		return MP_HANDLED;
	}
	if (s != NULL) {
		const char *to = mp_jid_full(ev->arena, &ev->from);

		for (size_t i = 0; i < pg.n; i++)
			query_send_item(s, to, f.bare, queryid,
			    &pg.items[flip ? pg.n - 1 - i : i]);
	}
	mp_log_debug("%s: archive query%s%s: %zu results%s", f.bare,
	    queryid != NULL ? " " : "", queryid != NULL ? queryid : "", pg.n,
	    pg.complete ? ", complete" : "");
	query_fin(ev, &pg);
	return MP_HANDLED;
}

static struct mp_node *
query_form_field(struct mp_arena *a, struct mp_node *x, const char *type,
    const char *var)
{
	struct mp_node *f = mp_node_add(a, x, NULL, "field");

	mp_node_set_attr(a, f, "type", type);
	mp_node_set_attr(a, f, "var", var);
	return f;
}

/* XEP-0313 section 4.1.5: the fields a query may use. */
enum mp_verdict
mam_form_iq(struct mp_event *ev, void *arg)
{
	struct mp_arena *a = ev->arena;
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *q = mp_node_add(a, iq, NS_MAM, "query");
	struct mp_node *x = mp_node_add(a, q, NS_XDATA, "x"), *f, *v;

	mp_node_set_attr(a, x, "type", "form");
	f = query_form_field(a, x, "hidden", "FORM_TYPE");
	mp_node_add_text(a, mp_node_add(a, f, NULL, "value"), NS_MAM,
	    strlen(NS_MAM));
	query_form_field(a, x, "jid-single", "with");
	query_form_field(a, x, "text-single", "start");
	query_form_field(a, x, "text-single", "end");
	query_form_field(a, x, "text-single", "before-id");
	query_form_field(a, x, "text-single", "after-id");
	f = query_form_field(a, x, "list-multi", "ids");
	v = mp_node_add(a, f, "http://jabber.org/protocol/xdata-validate",
	    "validate");
	mp_node_set_attr(a, v, "datatype", "xs:string");
	mp_node_add(a, v, NULL, "open");
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static void
query_edge(struct mp_arena *a, struct mp_node *md, const char *name,
    const struct mam_pos *p)
{
	struct mp_node *n = mp_node_add(a, md, NULL, name);
	char id[MAM_ID_LEN + 1], stamp[MAM_STAMP_LEN];

	mam_id_format(id, p);
	mam_stamp_format(stamp, p->ts);
	mp_node_set_attr(a, n, "id", id);
	mp_node_set_attr(a, n, "timestamp", stamp);
}

/* XEP-0313 section 5: the first and last message of the archive. */
enum mp_verdict
mam_metadata_iq(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from), *why;
	struct mam_pos first, last;
	struct mp_txn *txn;
	struct mp_node *iq, *md;
	int r1 = -1, r2 = -1;

	if (mp_txn_read(mam_dbs.store, &txn, &why) == 0) {
		r1 = mam_archive_edge(txn, &mam_dbs, bare, false, &first);
		r2 = mam_archive_edge(txn, &mam_dbs, bare, true, &last);
		mp_txn_abort(txn);
	}
	if (r1 == -1 || r2 == -1) {
		mp_log_warnx("%s: archive metadata unreadable", bare);
		mp_reply_error(ev, &query_errors[QUERY_ERR_STORE]);
		return MP_HANDLED;
	}
	iq = mp_iq_result_new(ev);
	md = mp_node_add(ev->arena, iq, NS_MAM, "metadata");
	if (r1 == 1 && r2 == 1) {
		query_edge(ev->arena, md, "start", &first);
		query_edge(ev->arena, md, "end", &last);
	}
	mp_reply(ev, iq);
	return MP_HANDLED;
}
