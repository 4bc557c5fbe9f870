/* mod_private.c - XEP-0049: private XML storage, one element per name. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <magpie/module.h>

#define NS_PRIVATE	"jabber:iq:private"

struct private_conf {
	long	 max_size;
	long	 max_items;
};

static const struct mp_directive private_directives[] = {
	/* Bytes of one stored element, serialized. */
	{ .name = "max_size", .type = MP_CT_INT,
	  .offset = offsetof(struct private_conf, max_size), .def = "65536",
	  .min = 64, .max = 16 * 1024 * 1024 },
	/* Elements (namespace and name pairs) one account may keep. */
	{ .name = "max_items", .type = MP_CT_INT,
	  .offset = offsetof(struct private_conf, max_items), .def = "256",
	  .min = 1, .max = 100000 },
	MP_DIRECTIVES_END,
};

/*
 * XEP-0049 section 2.1 (and section 3): data "scoped by its own namespace"
 * is required, other namespaces get not-acceptable; the limits use the same
 * condition, so that a client knows to change what it sends.
 */
static const struct mp_error private_err_reserved = {
	MP_ERR_MODIFY, "not-acceptable",
	"Private data needs its own namespace, not jabber:*", NULL, NULL,
};
static const struct mp_error private_err_too_large = {
	MP_ERR_MODIFY, "not-acceptable", "Private XML element too large",
	NULL, NULL,
};
static const struct mp_error private_err_too_many = {
	MP_ERR_MODIFY, "not-acceptable", "Too many private XML elements",
	NULL, NULL,
};
static const struct mp_error private_err_none = {
	MP_ERR_MODIFY, "bad-request", "Expected one element in the query",
	NULL, NULL,
};
static const struct mp_error private_err_not_yours = {
	MP_ERR_AUTH, "forbidden", "Private storage belongs to its owner",
	NULL, NULL,
};

static struct {
	struct mp_db	*db;
	long		 max_size;
	long		 max_items;
} private;

/* One element of a set: its key and serialized form (NULL: delete). */
struct private_item {
	char		*key;
	size_t		 klen;
	const char	*xml;
	size_t		 len;
};

struct private_write {
	const char		*bare;
	struct private_item	*items;
	size_t			 nitems;
	bool			 too_many;
};

/*
 * Namespaces of the protocol itself (jabber:client, jabber:iq:private...)
 * are reserved; so is no namespace at all.
 */
static bool
private_ns_ok(const char *xmlns)
{
	return xmlns != NULL && xmlns[0] != '\0' &&
	    strncmp(xmlns, "jabber:", 7) != 0;
}

/* "<bare>\0<xmlns> <name>": a user's elements are one key range. */
static char *
private_key(struct mp_arena *a, const char *bare, const struct mp_node *e,
    size_t *klen_r)
{
	size_t bl = strlen(bare), nl = strlen(e->xmlns), ml = strlen(e->name);
	char *k = mp_arena_alloc(a, bl + 1 + nl + 1 + ml + 1);

	memcpy(k, bare, bl + 1);
	memcpy(k + bl + 1, e->xmlns, nl);
	k[bl + 1 + nl] = ' ';
	memcpy(k + bl + 2 + nl, e->name, ml);
	*klen_r = bl + 2 + nl + ml;
	return k;
}

/* The user's key range [bare\0, bare\1). */
static void
private_range(struct mp_arena *a, const char *bare, char **start_r,
    char **end_r, size_t *len_r)
{
	size_t bl = strlen(bare);

	*start_r = mp_arena_alloc(a, bl + 1);
	*end_r = mp_arena_alloc(a, bl + 1);
	memcpy(*start_r, bare, bl);
	memcpy(*end_r, bare, bl);
	(*end_r)[bl] = '\1';
	*len_r = bl + 1;
}

static int
private_count_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	return 0;
}

static int
private_write_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct private_write *w = arg;
	struct mp_arena *a = mp_arena_new();
	char *start, *end;
	size_t rlen;
	long count = -1;
	int rc = -1;

	w->too_many = false;
	private_range(a, w->bare, &start, &end, &rlen);
	for (size_t i = 0; i < w->nitems; i++) {
		struct private_item *it = &w->items[i];
		struct mp_val v;
		int found;

		if (it->xml == NULL) {
			if ((found = mp_txn_del(txn, private.db, it->key,
			    it->klen)) == -1) {
				*error_r = "delete failed";
				goto out;
			}
			if (found == 1 && count > 0)
				count--;
			continue;
		}
		if ((found = mp_txn_get(txn, private.db, it->key, it->klen,
		    &v)) == -1) {
			*error_r = "read failed";
			goto out;
		}
		if (found == 0) {
			/* Counted once per write; later puts keep it exact. */
			if (count == -1 && (count = mp_txn_scan(txn,
			    private.db, start, rlen, end, rlen, false,
			    private_count_cb, NULL)) == -1) {
				*error_r = "scan failed";
				goto out;
			}
			if (count >= private.max_items) {
				w->too_many = true;
				*error_r = "too many items";
				goto out;
			}
			count++;
		}
		if (mp_txn_put(txn, private.db, it->key, it->klen, it->xml,
		    it->len) == -1) {
			*error_r = "put failed";
			goto out;
		}
	}
	rc = 0;
out:
	mp_arena_free(a);
	return rc;
}

/*
 * XEP-0049 2.1: a set holds at least one element, and "MAY contain
 * multiple elements"; all are stored or none. An element that is empty
 * (no attributes, no content) removes what was kept under its name: a
 * get would answer the same, and the user gets the slot back.
 */
static enum mp_verdict
private_set(struct mp_event *ev, void *arg)
{
	struct private_write w = { .bare = mp_jid_bare(ev->arena, &ev->from) };
	unsigned n = mp_node_count_elements(ev->payload);
	const struct mp_error *err = NULL;
	struct mp_buf *bufs;
	struct mp_node *e;
	const char *error = NULL;
	size_t i;

	if (n == 0) {
		mp_reply_error(ev, &private_err_none);
		return MP_HANDLED;
	}
	if (n > (unsigned long)private.max_items) {
		mp_reply_error(ev, &private_err_too_many);
		return MP_HANDLED;
	}
	w.items = mp_arena_alloc(ev->arena, n * sizeof(*w.items));
	bufs = mp_arena_alloc(ev->arena, n * sizeof(*bufs));
	for (e = mp_node_first_element(ev->payload), i = 0; e != NULL;
	    e = mp_node_next_element(e), i++) {
		struct private_item *it = &w.items[i];

		if (!private_ns_ok(e->xmlns)) {
			err = &private_err_reserved;
			break;
		}
		it->key = private_key(ev->arena, w.bare, e, &it->klen);
		if (e->children == NULL && e->attrs == NULL)
			continue;
		mp_xml_serialize(&bufs[i], e, NS_PRIVATE);
		if (bufs[i].len > (size_t)private.max_size) {
			err = &private_err_too_large;
			break;
		}
		it->xml = bufs[i].data;
		it->len = bufs[i].len;
	}
	w.nitems = n;
	if (err == NULL && mp_store_write(mp_store_get(), private_write_txn,
	    &w, &error) == -1) {
		if (w.too_many)
			err = &private_err_too_many;
		else {
			mp_log_warnx("cannot store private XML of %s: %s",
			    w.bare, error);
			err = mp_err_for_store(error);
		}
	}
	for (i = 0; i < n; i++)
		mp_buf_free(&bufs[i]);
	if (err != NULL)
		mp_reply_error(ev, err);
	else
		mp_reply_result(ev);
	return MP_HANDLED;
}

/* Reads the element under key into the arena: 1 found, 0 none, -1 error. */
static int
private_fetch(struct mp_arena *a, const char *key, size_t klen,
    struct mp_node **e_r)
{
	struct mp_txn *txn;
	struct mp_val v;
	const char *error = NULL;
	int rc;

	*e_r = NULL;
	if (mp_txn_read(mp_store_get(), &txn, &error) == -1) {
		mp_log_warnx("cannot read private XML of %s: %s", key, error);
		return -1;
	}
	rc = mp_txn_get(txn, private.db, key, klen, &v);
	if (rc == 1 && (*e_r = mp_xml_parse(a, v.data, v.len,
	    NS_PRIVATE)) == NULL) {
		mp_log_warnx("stored private XML of %s does not parse", key);
		rc = -1;
	} else if (rc == -1)
		mp_log_warnx("cannot read private XML of %s", key);
	mp_txn_abort(txn);
	return rc;
}

/* XEP-0049 2.2: one element named in the get; unknown data comes back empty. */
static enum mp_verdict
private_get(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from);
	struct mp_node *want = mp_node_first_element(ev->payload);
	struct mp_node *iq, *query, *found;
	char *key;
	size_t klen;
	int rc;

	if (want == NULL || mp_node_next_element(want) != NULL) {
		mp_reply_error(ev, &private_err_none);
		return MP_HANDLED;
	}
	if (!private_ns_ok(want->xmlns)) {
		mp_reply_error(ev, &private_err_reserved);
		return MP_HANDLED;
	}
	key = private_key(ev->arena, bare, want, &klen);
	if ((rc = private_fetch(ev->arena, key, klen, &found)) == -1) {
		mp_reply_error(ev, &mp_err_internal_server_error);
		return MP_HANDLED;
	}
	iq = mp_iq_result_new(ev);
	query = mp_node_add(ev->arena, iq, NS_PRIVATE, "query");
	if (rc == 0)
		found = mp_node_copy(ev->arena, want);
	mp_node_append(query, found);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

/* XEP-0049 2.3: forbidden is "preferable" to service-unavailable. */
static enum mp_verdict
private_other(struct mp_event *ev, void *arg)
{
	mp_reply_error(ev, &private_err_not_yours);
	return MP_HANDLED;
}

static int
private_delete_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	const char *bare = arg;
	struct mp_arena *a = mp_arena_new();
	char *start, *end;
	size_t rlen;
	long n;

	private_range(a, bare, &start, &end, &rlen);
	n = mp_txn_del_range(txn, private.db, start, rlen, end, rlen);
	mp_arena_free(a);
	if (n == -1) {
		*error_r = "delete failed";
		return -1;
	}
	return 0;
}

static enum mp_verdict
private_user_deleted(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from);
	const char *error = NULL;

	if (mp_store_write(mp_store_get(), private_delete_txn, (void *)bare,
	    &error) == -1)
		mp_log_warnx("cannot delete private XML of %s: %s", bare,
		    error);
	return MP_PASS;
}

static int
private_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-set/self/" NS_PRIVATE ":query", private_set,
		    MP_PRIO_NORMAL },
		{ "iq-get/self/" NS_PRIVATE ":query", private_get,
		    MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_PRIVATE ":query", private_other,
		    MP_PRIO_NORMAL },
		{ "iq-set/bare/" NS_PRIVATE ":query", private_other,
		    MP_PRIO_NORMAL },
		{ "user-deleted", private_user_deleted, MP_PRIO_NORMAL },
	};
	const struct private_conf *pc = conf;

	private.max_size = pc->max_size;
	private.max_items = pc->max_items;
	if (mp_db_open(mp_store_get(), "private.xml", &private.db,
	    error_r) == -1)
		return -1;
	/* Not defined by XEP-0049, but how clients find the service. */
	mp_add_feature(mc, NS_PRIVATE);
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "private",
	.directives = private_directives,
	.conf_size = sizeof(struct private_conf),
	.load = private_load,
};
