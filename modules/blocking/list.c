/* list.c - the stored blocklists and the XEP-0191 JID matching rules. */
#include <stdbool.h>
#include <string.h>

#include "blocking.h"

/*
 * One database, keys "<user bare JID>\0<prepared blocked JID>" with empty
 * values, so that a user's list is the range [user\0, user\1).
 */
static struct mp_db *list_db;

int
blocking_list_open(const char **error_r)
{
	return mp_db_open(mp_store_get(), "blocking.list", &list_db, error_r);
}

static void
list_key(struct mp_buf *b, const char *user, const char *jid)
{
	mp_buf_reset(b);
	mp_buf_puts(b, user);
	mp_buf_putc(b, '\0');
	if (jid != NULL)
		mp_buf_puts(b, jid);
}

/* The end of user's range: the same prefix with \1 for the separator. */
static void
list_range_end(struct mp_buf *b, const char *user)
{
	mp_buf_reset(b);
	mp_buf_puts(b, user);
	mp_buf_putc(b, '\1');
}

/* 1 when "<user>\0<jid>" is stored, 0 when not, -1 on error. */
static int
list_has(struct mp_txn *txn, struct mp_buf *kb, const char *user,
    const char *jid)
{
	struct mp_val v;

	list_key(kb, user, jid);
	return mp_txn_get(txn, list_db, kb->data, kb->len, &v);
}

/*
 * An IP literal has no parent domains: "1.2.3.4" is not a subdomain of
 * "3.4".
 */
static bool
list_is_ip(const char *domain)
{
	if (domain[0] == '[')
		return true;
	return strspn(domain, "0123456789.") == strlen(domain);
}

/*
 * XEP-0191 "JID Matching" (the order of XEP-0016): an item
 * user@domain/resource matches only that JID, user@domain any of its
 * resources, domain/resource only that JID, and domain the domain itself,
 * every JID at it and every JID at any of its subdomains. So the
 * candidates for j are j itself, its bare JID, and its domain with each
 * parent domain.
 */
static int
list_match(struct mp_txn *txn, struct mp_buf *kb, struct mp_buf *jb,
    const char *user, const struct mp_jid *j)
{
	const char *d;
	int r;

	if (j->resource != NULL) {
		mp_buf_reset(jb);
		if (j->local != NULL)
			mp_buf_printf(jb, "%s@", j->local);
		mp_buf_printf(jb, "%s/%s", j->domain, j->resource);
		if ((r = list_has(txn, kb, user, jb->data)) != 0)
			return r;
	}
	if (j->local != NULL) {
		mp_buf_reset(jb);
		mp_buf_printf(jb, "%s@%s", j->local, j->domain);
		if ((r = list_has(txn, kb, user, jb->data)) != 0)
			return r;
	}
	for (d = j->domain; d != NULL && *d != '\0'; ) {
		if ((r = list_has(txn, kb, user, d)) != 0)
			return r;
		if (list_is_ip(j->domain) || (d = strchr(d, '.')) == NULL)
			break;
		d++;
	}
	return 0;
}

int
blocking_list_blocks(const char *user, const struct mp_jid *j)
{
	struct mp_buf kb = MP_BUF_INIT, jb = MP_BUF_INIT;
	struct mp_txn *txn;
	const char *error;
	int r;

	if (j->domain == NULL)
		return 0;
	if (mp_txn_read(mp_store_get(), &txn, &error) == -1) {
		mp_log_warnx("%s: cannot read the blocklist: %s", user, error);
		return -1;
	}
	r = list_match(txn, &kb, &jb, user, j);
	mp_txn_abort(txn);
	mp_buf_free(&kb);
	mp_buf_free(&jb);
	if (r == -1)
		mp_log_warnx("%s: cannot read the blocklist", user);
	return r;
}

struct list_items {
	struct mp_arena	*arena;
	struct mp_node	*parent;
	size_t		 prefix;	/* length of "<user>\0" */
};

static int
list_item_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct list_items *li = arg;
	struct mp_node *item;
	char *jid;

	if (key->len <= li->prefix)
		return 0;	/* not written by us; skip it */
	jid = mp_arena_strndup(li->arena, (const char *)key->data + li->prefix,
	    key->len - li->prefix);
	item = mp_node_add(li->arena, li->parent, NULL, "item");
	mp_node_set_attr(li->arena, item, "jid", jid);
	return 0;
}

int
blocking_list_items(struct mp_arena *a, const char *user,
    struct mp_node *parent, const char **error_r)
{
	struct list_items li = { .arena = a, .parent = parent };
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	struct mp_txn *txn;
	long n;

	if (mp_txn_read(mp_store_get(), &txn, error_r) == -1)
		return -1;
	list_key(&start, user, NULL);
	list_range_end(&end, user);
	li.prefix = start.len;
	n = mp_txn_scan(txn, list_db, start.data, start.len, end.data, end.len,
	    false, list_item_cb, &li);
	mp_txn_abort(txn);
	mp_buf_free(&start);
	mp_buf_free(&end);
	if (n == -1) {
		*error_r = "cannot scan the blocklist";
		return -1;
	}
	return 0;
}

/* Counts up to a limit: the scan stops once the count passes it. */
struct list_count {
	long	 n;
	long	 stop;
};

static int
list_count_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct list_count *lc = arg;

	return ++lc->n > lc->stop ? 1 : 0;
}

struct list_add {
	const char		*user;
	const char *const	*jids;
	size_t			 n;
	long			 max;
	bool			*added;
	bool			 full;
};

static int
list_add_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct list_add *la = arg;
	struct mp_buf kb = MP_BUF_INIT, end = MP_BUF_INIT;
	struct list_count lc = { .n = 0, .stop = la->max };
	int r = 0;

	/* This may run again after the store grew: start from scratch. */
	la->full = false;
	memset(la->added, 0, la->n * sizeof(*la->added));
	list_key(&kb, la->user, NULL);
	list_range_end(&end, la->user);
	if (mp_txn_scan(txn, list_db, kb.data, kb.len, end.data, end.len,
	    false, list_count_cb, &lc) == -1) {
		*error_r = "cannot count the blocklist";
		r = -1;
	}
	for (size_t i = 0; r == 0 && i < la->n; i++) {
		int has = list_has(txn, &kb, la->user, la->jids[i]);

		if (has == 1)
			continue;
		if (has == -1 || mp_txn_put(txn, list_db, kb.data, kb.len,
		    "", 0) == -1) {
			*error_r = "cannot store the blocklist";
			r = -1;
		} else if (++lc.n > la->max) {
			la->full = true;
			*error_r = "too many blocked JIDs";
			r = -1;
		} else
			la->added[i] = true;
	}
	mp_buf_free(&kb);
	mp_buf_free(&end);
	return r;
}

int
blocking_list_add(const char *user, const char *const *jids, size_t n,
    long max, bool *added_r, bool *full_r, const char **error_r)
{
	struct list_add la = { .user = user, .jids = jids, .n = n, .max = max,
	    .added = added_r };
	int r;

	r = mp_store_write(mp_store_get(), list_add_txn, &la, error_r);
	*full_r = la.full;
	return r;
}

/* The keys of a range, gathered before deleting them. */
struct list_keys {
	struct mp_arena	*arena;
	struct mp_val	*keys;
	size_t		 n;
	size_t		 cap;
};

static int
list_keys_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct list_keys *lk = arg;

	if (lk->n == lk->cap) {
		struct mp_val *nk;

		lk->cap = lk->cap ? lk->cap * 2 : 16;
		nk = mp_arena_alloc(lk->arena, lk->cap * sizeof(*nk));
		if (lk->n > 0)
			memcpy(nk, lk->keys, lk->n * sizeof(*nk));
		lk->keys = nk;
	}
	lk->keys[lk->n].data = mp_arena_strndup(lk->arena, key->data,
	    key->len);
	lk->keys[lk->n].len = key->len;
	lk->n++;
	return 0;
}

struct list_remove {
	const char		*user;
	const char *const	*jids;	/* NULL: all */
	size_t			 n;
};

static int
list_remove_all(struct mp_txn *txn, const char *user, const char **error_r)
{
	struct list_keys lk = { .arena = mp_arena_new() };
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	int r = 0;

	list_key(&start, user, NULL);
	list_range_end(&end, user);
	if (mp_txn_scan(txn, list_db, start.data, start.len, end.data, end.len,
	    false, list_keys_cb, &lk) == -1) {
		*error_r = "cannot scan the blocklist";
		r = -1;
	}
	for (size_t i = 0; r == 0 && i < lk.n; i++)
		if (mp_txn_del(txn, list_db, lk.keys[i].data,
		    lk.keys[i].len) == -1) {
			*error_r = "cannot delete from the blocklist";
			r = -1;
		}
	mp_buf_free(&start);
	mp_buf_free(&end);
	mp_arena_free(lk.arena);
	return r;
}

static int
list_remove_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct list_remove *lr = arg;
	struct mp_buf kb = MP_BUF_INIT;
	int r = 0;

	if (lr->jids == NULL)
		return list_remove_all(txn, lr->user, error_r);
	for (size_t i = 0; r == 0 && i < lr->n; i++) {
		list_key(&kb, lr->user, lr->jids[i]);
		if (mp_txn_del(txn, list_db, kb.data, kb.len) == -1) {
			*error_r = "cannot delete from the blocklist";
			r = -1;
		}
	}
	mp_buf_free(&kb);
	return r;
}

int
blocking_list_remove(const char *user, const char *const *jids, size_t n,
    const char **error_r)
{
	struct list_remove lr = { .user = user, .jids = jids, .n = n };

	return mp_store_write(mp_store_get(), list_remove_txn, &lr, error_r);
}
