/* mod_push.c - XEP-0357: push notifications for users not connected. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <magpie/module.h>

#define NS_PUSH		"urn:xmpp:push:0"
#define NS_PUBSUB	"http://jabber.org/protocol/pubsub"
#define NS_DATA		"jabber:x:data"
#define PUSH_SUMMARY	"urn:xmpp:push:summary"
/* Node names longer than this are refused: they are only an opaque id. */
#define PUSH_NODE_MAX	1024

struct push_conf {
	bool	 include_body;
	long	 max_registrations;
};

static const struct mp_directive push_directives[] = {
	/* XEP-0357 10: the body leaves the server only when asked. */
	{ .name = "include_body", .type = MP_CT_BOOL,
	  .offset = offsetof(struct push_conf, include_body), .def = "false" },
	/* Registrations (app server and node pairs) one account may keep. */
	{ .name = "max_registrations", .type = MP_CT_INT,
	  .offset = offsetof(struct push_conf, max_registrations), .def = "16",
	  .min = 1, .max = 1000 },
	MP_DIRECTIVES_END,
};

static const struct mp_error push_err_no_jid = {
	MP_ERR_MODIFY, "bad-request", "Missing 'jid' of the app server",
	NULL, NULL,
};
static const struct mp_error push_err_no_node = {
	MP_ERR_MODIFY, "bad-request", "Missing or overlong 'node'", NULL, NULL,
};
static const struct mp_error push_err_too_many = {
	MP_ERR_WAIT, "resource-constraint", "Too many push registrations",
	NULL, NULL,
};

static struct {
	struct mp_db	*db;
	bool		 include_body;
	long		 max_registrations;
	unsigned long	 next_id;
	/* The message last notified for, while its event lives (see push_mark). */
	const struct mp_node *last_stanza;
	struct mp_arena	*last_arena;
} push;

/* Appends the parts of a key, each followed by NUL but the last. */
static char *
push_key(struct mp_arena *a, const char *bare, const char *jid,
    const char *node, size_t *klen_r)
{
	size_t bl = strlen(bare), jl = strlen(jid);
	size_t nl = node != NULL ? strlen(node) : 0;
	char *k = mp_arena_alloc(a, bl + jl + nl + 3);

	memcpy(k, bare, bl + 1);
	memcpy(k + bl + 1, jid, jl + 1);
	*klen_r = bl + 1 + jl + 1;
	if (node != NULL) {
		memcpy(k + *klen_r, node, nl);
		*klen_r += nl;
	}
	return k;
}

/* prefix (len bytes) with its last byte incremented: the range end. */
static char *
push_range_end(struct mp_arena *a, const char *prefix, size_t len)
{
	char *e = mp_arena_alloc(a, len);

	memcpy(e, prefix, len);
	e[len - 1]++;
	return e;
}

/* Keys of a range, copied: the scan's memory may move under deletes. */
/* Deletes every key in [start, end). */
static int
push_delete_range(struct mp_txn *txn, const char *start, const char *end,
    size_t len, const char **error_r)
{
	if (mp_txn_del_range(txn, push.db, start, len, end, len) == -1) {
		*error_r = "delete failed";
		return -1;
	}
	return 0;
}

struct push_enable {
	const char	*key;
	size_t		 klen;
	const char	*start, *end;	/* the user's range */
	size_t		 rlen;
	const char	*form;
	size_t		 flen;
	bool		 too_many;
};

static int
push_count_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	return 0;
}

static int
push_enable_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct push_enable *w = arg;
	struct mp_val v;
	long n;
	int found;

	w->too_many = false;
	if ((found = mp_txn_get(txn, push.db, w->key, w->klen, &v)) == -1) {
		*error_r = "read failed";
		return -1;
	}
	if (found == 0) {
		if ((n = mp_txn_scan(txn, push.db, w->start, w->rlen, w->end,
		    w->rlen, false, push_count_cb, NULL)) == -1) {
			*error_r = "scan failed";
			return -1;
		}
		if (n >= push.max_registrations) {
			w->too_many = true;
			*error_r = "too many registrations";
			return -1;
		}
	}
	if (mp_txn_put(txn, push.db, w->key, w->klen, w->form,
	    w->flen) == -1) {
		*error_r = "put failed";
		return -1;
	}
	return 0;
}

/*
 * The app server's JID from the 'jid' attribute, prepared; NULL after
 * replying the error.
 */
static const char *
push_app_jid(struct mp_event *ev)
{
	const char *s = mp_node_attr(ev->payload, "jid"), *err;
	struct mp_jid j;

	if (s == NULL || s[0] == '\0') {
		mp_reply_error(ev, &push_err_no_jid);
		return NULL;
	}
	if (mp_jid_parse(ev->arena, s, &j, &err) == -1) {
		mp_reply_error(ev, &mp_err_jid_malformed);
		return NULL;
	}
	return mp_jid_full(ev->arena, &j);
}

/* XEP-0357 5: an app server and node, maybe with publish-options. */
static enum mp_verdict
push_enable(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from);
	const char *node = mp_node_attr(ev->payload, "node");
	const char *jid, *error = NULL;
	struct push_enable w = { .form = "", .flen = 0 };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_node *x;
	char *start;

	if ((jid = push_app_jid(ev)) == NULL)
		return MP_HANDLED;
	if (node == NULL || node[0] == '\0' || strlen(node) > PUSH_NODE_MAX) {
		mp_reply_error(ev, &push_err_no_node);
		return MP_HANDLED;
	}
	w.key = push_key(ev->arena, bare, jid, node, &w.klen);
	start = mp_arena_strdup(ev->arena, bare);
	w.rlen = strlen(bare) + 1;
	w.start = start;
	w.end = push_range_end(ev->arena, start, w.rlen);
	/* XEP-0357 5: "MAY include a data form" of publish options. */
	if ((x = mp_node_child(ev->payload, NS_DATA, "x")) != NULL) {
		mp_xml_serialize(&b, x, NS_PUSH);
		w.form = b.data;
		w.flen = b.len;
	}
	if (mp_store_write(mp_store_get(), push_enable_txn, &w,
	    &error) == -1) {
		if (w.too_many)
			mp_reply_error(ev, &push_err_too_many);
		else {
			mp_log_warnx("cannot store push registration of %s: %s",
			    bare, error);
			mp_reply_error(ev, mp_err_for_store(error));
		}
	} else
		mp_reply_result(ev);
	mp_buf_free(&b);
	return MP_HANDLED;
}

struct push_disable {
	const char	*key;		/* one registration, or NULL */
	size_t		 klen;
	const char	*start, *end;	/* every node of the app server */
	size_t		 rlen;
};

static int
push_disable_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct push_disable *w = arg;

	if (w->key == NULL)
		return push_delete_range(txn, w->start, w->end, w->rlen,
		    error_r);
	if (mp_txn_del(txn, push.db, w->key, w->klen) == -1) {
		*error_r = "delete failed";
		return -1;
	}
	return 0;
}

/* XEP-0357 6: without 'node' every node of that app server goes. */
static enum mp_verdict
push_disable(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from);
	const char *node = mp_node_attr(ev->payload, "node");
	const char *jid, *error = NULL;
	struct push_disable w = { NULL, 0, NULL, NULL, 0 };

	if ((jid = push_app_jid(ev)) == NULL)
		return MP_HANDLED;
	if (node != NULL && node[0] != '\0')
		w.key = push_key(ev->arena, bare, jid, node, &w.klen);
	else {
		/* "<bare>\0<jid>\0" up to "<bare>\0<jid>\1". */
		w.start = push_key(ev->arena, bare, jid, NULL, &w.rlen);
		w.end = push_range_end(ev->arena, w.start, w.rlen);
	}
	if (mp_store_write(mp_store_get(), push_disable_txn, &w,
	    &error) == -1) {
		mp_log_warnx("cannot remove push registration of %s: %s",
		    bare, error);
		mp_reply_error(ev, mp_err_for_store(error));
	} else
		mp_reply_result(ev);
	return MP_HANDLED;
}

/* A registration read back from the store, in the event's arena. */
struct push_reg {
	const char	*jid;
	const char	*node;
	const char	*form;
	size_t		 flen;
};

struct push_regs {
	struct mp_arena	*arena;
	struct push_reg	*regs;
	size_t		 n, cap;
};

static int
push_regs_cb(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct push_regs *r = arg;
	const char *k = key->data, *jid, *node, *end = k + key->len;
	struct push_reg *g;

	/* "<bare>\0<jid>\0<node>"; anything else is skipped. */
	if ((jid = memchr(k, '\0', key->len)) == NULL)
		return 0;
	jid++;
	if ((node = memchr(jid, '\0', (size_t)(end - jid))) == NULL)
		return 0;
	node++;
	if (r->n == r->cap) {
		struct push_reg *nr;

		r->cap = r->cap ? r->cap * 2 : 4;
		nr = mp_arena_alloc(r->arena, r->cap * sizeof(*nr));
		if (r->n > 0)
			memcpy(nr, r->regs, r->n * sizeof(*nr));
		r->regs = nr;
	}
	g = &r->regs[r->n++];
	g->jid = mp_arena_strdup(r->arena, jid);
	g->node = mp_arena_strndup(r->arena, node, (size_t)(end - node));
	g->form = mp_arena_strndup(r->arena, val->data, val->len);
	g->flen = val->len;
	return 0;
}

/* The user's registrations: 0 (maybe none), or -1. */
static int
push_read(struct mp_arena *a, const char *bare, struct push_regs *r)
{
	struct mp_txn *txn;
	size_t rlen = strlen(bare) + 1;
	const char *end = push_range_end(a, bare, rlen), *error = NULL;
	long n;

	r->arena = a;
	if (mp_txn_read(mp_store_get(), &txn, &error) == -1) {
		mp_log_warnx("cannot read push registrations of %s: %s", bare,
		    error);
		return -1;
	}
	n = mp_txn_scan(txn, push.db, bare, rlen, end, rlen, false,
	    push_regs_cb, r);
	mp_txn_abort(txn);
	if (n == -1) {
		mp_log_warnx("cannot read push registrations of %s", bare);
		return -1;
	}
	return 0;
}

/* Whether a session of the user would see the message now. */
static bool
push_user_reachable(const char *bare)
{
	const struct mp_session *s;

	for (s = mp_user_sessions(bare); s != NULL; s = mp_session_next(s))
		if (mp_session_available(s) && mp_session_connected(s))
			return true;
	return false;
}

static void
push_forget(void *arg)
{
	if (push.last_arena == arg) {
		push.last_arena = NULL;
		push.last_stanza = NULL;
	}
}

/*
 * One delivery may pass through message/full, message/bare and
 * message/offline with the same event: it is notified once. The mark
 * ends with the event's arena, so a later stanza at the same address is
 * not mistaken for this one.
 */
static bool
push_seen(const struct mp_event *ev)
{
	return push.last_stanza == ev->stanza && push.last_arena == ev->arena;
}

static void
push_mark(struct mp_event *ev)
{
	push.last_stanza = ev->stanza;
	push.last_arena = ev->arena;
	mp_arena_on_free(ev->arena, push_forget, ev->arena);
}

static void
push_field(struct mp_arena *a, struct mp_node *x, const char *var,
    const char *value)
{
	struct mp_node *f = mp_node_add(a, x, NULL, "field");

	mp_node_set_attr(a, f, "var", var);
	mp_node_add_text(a, mp_node_add(a, f, NULL, "value"), value,
	    strlen(value));
}

/* XEP-0357 7: a publish to the app server's node, with the summary form. */
static void
push_publish(struct mp_event *ev, const char *bare, const struct push_reg *g,
    const char *body)
{
	struct mp_arena *a = ev->arena;
	struct mp_node *iq, *ps, *pub, *n, *x, *opts, *form;

	iq = mp_node_new(a, MP_NS_CLIENT, "iq");
	mp_node_set_attr(a, iq, "type", "set");
	mp_node_set_attr(a, iq, "from", bare);
	mp_node_set_attr(a, iq, "to", g->jid);
	mp_node_set_attr(a, iq, "id", mp_arena_printf(a, "push-%lu",
	    ++push.next_id));
	ps = mp_node_add(a, iq, NS_PUBSUB, "pubsub");
	pub = mp_node_add(a, ps, NULL, "publish");
	mp_node_set_attr(a, pub, "node", g->node);
	n = mp_node_add(a, mp_node_add(a, pub, NULL, "item"), NS_PUSH,
	    "notification");
	x = mp_node_add(a, n, NS_DATA, "x");
	mp_node_set_attr(a, x, "type", "submit");
	push_field(a, x, "FORM_TYPE", PUSH_SUMMARY);
	push_field(a, x, "message-count", "1");
	push_field(a, x, "last-message-sender", mp_jid_full(a, &ev->from));
	if (body != NULL)
		push_field(a, x, "last-message-body", body);
	if (g->flen > 0) {
		if ((form = mp_xml_parse(a, g->form, g->flen, NS_PUSH)) == NULL)
			mp_log_warnx("stored publish-options of %s do not "
			    "parse", bare);
		else {
			opts = mp_node_add(a, ps, NULL, "publish-options");
			mp_node_append(opts, form);
		}
	}
	mp_route(iq);
}

static enum mp_verdict
push_message(struct mp_event *ev, void *arg)
{
	struct push_regs r = { NULL, NULL, 0, 0 };
	struct mp_node *b;
	const char *bare, *body = NULL;

	if (ev->to.local == NULL || (ev->type != NULL &&
	    strcmp(ev->type, "error") == 0) || push_seen(ev))
		return MP_PASS;
	if ((b = mp_node_child(ev->stanza, ev->stanza->xmlns, "body")) ==
	    NULL)
		return MP_PASS;
	bare = mp_jid_bare(ev->arena, &ev->to);
	if (push_user_reachable(bare))
		return MP_PASS;
	if (push_read(ev->arena, bare, &r) == -1 || r.n == 0)
		return MP_PASS;
	push_mark(ev);
	if (push.include_body)
		body = mp_node_text(ev->arena, b);
	for (size_t i = 0; i < r.n; i++)
		push_publish(ev, bare, &r.regs[i], body);
	return MP_PASS;
}

/* XEP-0357 4: the account advertises the feature. */
static int
push_wipe_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	const char *bare = arg;
	struct mp_arena *a = mp_arena_new();
	size_t rlen = strlen(bare) + 1;
	int rc;

	rc = push_delete_range(txn, bare, push_range_end(a, bare, rlen), rlen,
	    error_r);
	mp_arena_free(a);
	return rc;
}

static enum mp_verdict
push_user_deleted(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from);
	const char *error = NULL;

	if (mp_store_write(mp_store_get(), push_wipe_txn, (void *)bare,
	    &error) == -1)
		mp_log_warnx("cannot delete push registrations of %s: %s",
		    bare, error);
	return MP_PASS;
}

static int
push_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-set/self/" NS_PUSH ":enable", push_enable,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" NS_PUSH ":disable", push_disable,
		    MP_PRIO_NORMAL },
		{ "message/bare", push_message, MP_PRIO_NORMAL },
		{ "message/full", push_message, MP_PRIO_NORMAL },
		/* Before offline storage, which stops the dispatch. */
		{ "message/offline", push_message, MP_PRIO_NORMAL },
		{ "user-deleted", push_user_deleted, MP_PRIO_NORMAL },
	};
	const struct push_conf *pc = conf;

	push.include_body = pc->include_body;
	push.max_registrations = pc->max_registrations;
	push.last_stanza = NULL;
	push.last_arena = NULL;
	if (mp_db_open(mp_store_get(), "push.registrations", &push.db,
	    error_r) == -1)
		return -1;
	mp_add_feature(mc, NS_PUSH);
	mp_add_account_feature(mc, NS_PUSH);
	return mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]),
	    error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "push",
	.directives = push_directives,
	.conf_size = sizeof(struct push_conf),
	.load = push_load,
};
