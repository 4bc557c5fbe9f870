/* change.c - applies roster changes in one write transaction each and pushes them to the user's interested resources. */
#include <string.h>

#include "change.h"
#include "rosterdb.h"

/* Tombstones kept for XEP-0237 before replay falls back to a full roster. */
#define ROSTER_TOMBS_MAX	64

struct mp_module_ctx *roster_mc;
long roster_max_items = 1000;

static const struct mp_error change_errors[] = {
#define CE_NAME_LONG	0
	{ MP_ERR_MODIFY, "not-acceptable", "Name too long", NULL, NULL },
#define CE_GROUP_EMPTY	1
	{ MP_ERR_MODIFY, "not-acceptable", "Empty group name", NULL, NULL },
#define CE_GROUP_LONG	2
	{ MP_ERR_MODIFY, "not-acceptable", "Group name too long", NULL, NULL },
#define CE_GROUP_DUP	3
	{ MP_ERR_MODIFY, "bad-request", "Duplicate group", NULL, NULL },
#define CE_GROUPS_MANY	4
	{ MP_ERR_MODIFY, "not-acceptable", "Too many groups", NULL, NULL },
#define CE_FULL		5
	{ MP_ERR_MODIFY, "policy-violation", "Too many roster items", NULL,
	  NULL },
};

const struct mp_error *
roster_check_item(const char *name, const char *const *groups, size_t ngroups)
{
	if (name != NULL && strlen(name) > ROSTER_NAME_MAX)
		return &change_errors[CE_NAME_LONG];
	if (ngroups > ROSTER_GROUPS_MAX)
		return &change_errors[CE_GROUPS_MANY];
	for (size_t i = 0; i < ngroups; i++) {
		if (groups[i][0] == '\0')
			return &change_errors[CE_GROUP_EMPTY];
		if (strlen(groups[i]) > ROSTER_NAME_MAX)
			return &change_errors[CE_GROUP_LONG];
		for (size_t j = 0; j < i; j++)
			if (strcmp(groups[i], groups[j]) == 0)
				return &change_errors[CE_GROUP_DUP];
	}
	return NULL;
}

static const char *const change_sub_names[] = { "none", "to", "from", "both" };

struct mp_node *
roster_item_node(struct mp_arena *a, struct mp_node *parent,
    const struct mp_roster_item *item, bool removed)
{
	struct mp_node *n = mp_node_add(a, parent, NS_ROSTER, "item");

	mp_node_set_attr(a, n, "jid", item->contact);
	if (removed) {
		mp_node_set_attr(a, n, "subscription", "remove");
		return n;
	}
	if (item->name != NULL)
		mp_node_set_attr(a, n, "name", item->name);
	mp_node_set_attr(a, n, "subscription",
	    change_sub_names[item->state.sub & 3]);
	if (item->state.pending_out)
		mp_node_set_attr(a, n, "ask", "subscribe");
	if (item->state.approved)
		mp_node_set_attr(a, n, "approved", "true");
	for (size_t i = 0; i < item->ngroups; i++)
		mp_node_add_text(a, mp_node_add(a, n, NULL, "group"),
		    item->groups[i], strlen(item->groups[i]));
	return n;
}

static char change_marker;	/* per-session data: the session is interested */

bool
roster_interested(const struct mp_session *s)
{
	return mp_session_get(s, roster_mc) != NULL;
}

void
roster_set_interested(struct mp_session *s)
{
	mp_session_set(s, roster_mc, &change_marker, NULL);
}

void
roster_push(const char *user, struct mp_session *only,
    const struct mp_roster_item *item, bool removed, const char *ver)
{
	static unsigned long seq;
	struct mp_arena *a = mp_arena_new();
	struct mp_session *s;
	struct mp_node *iq, *q;

	iq = mp_node_new(a, MP_NS_CLIENT, "iq");
	mp_node_set_attr(a, iq, "type", "set");
	mp_node_set_attr(a, iq, "from", user);
	q = mp_node_add(a, iq, NS_ROSTER, "query");
	if (ver != NULL)
		mp_node_set_attr(a, q, "ver", ver);
	roster_item_node(a, q, item, removed);
	for (s = only != NULL ? only : mp_user_sessions(user); s != NULL;
	    s = only != NULL ? NULL : mp_session_next(s)) {
		if (!roster_interested(s))
			continue;
		mp_node_set_attr(a, iq, "id",
		    mp_arena_printf(a, "push%lu", ++seq));
		mp_node_set_attr(a, iq, "to", mp_jid_full(a, mp_session_jid(s)));
		mp_session_send(s, iq);
	}
	mp_arena_free(a);
}

static void
change_presence(struct mp_arena *a, const char *from, const char *to,
    const char *type)
{
	struct mp_node *p = mp_node_new(a, MP_NS_CLIENT, "presence");

	mp_node_set_attr(a, p, "from", from);
	mp_node_set_attr(a, p, "to", to);
	if (type != NULL)
		mp_node_set_attr(a, p, "type", type);
	mp_route(p);
}

void
roster_unsubscribe(const char *user, const char *contact,
    const struct mp_roster_state *st)
{
	struct mp_arena *a = mp_arena_new();
	bool to = st->sub == MP_SUB_TO || st->sub == MP_SUB_BOTH;
	bool from = st->sub == MP_SUB_FROM || st->sub == MP_SUB_BOTH;

	if (to || st->pending_out)
		change_presence(a, user, contact, "unsubscribe");
	if (from || st->pending_in)
		change_presence(a, user, contact, "unsubscribed");
	/* RFC 6121 3.2.2: the contact stops seeing the user's resources. */
	if (from)
		for (struct mp_session *s = mp_user_sessions(user); s != NULL;
		    s = mp_session_next(s))
			if (mp_session_available(s))
				change_presence(a,
				    mp_jid_full(a, mp_session_jid(s)), contact,
				    "unavailable");
	mp_arena_free(a);
}

struct change_txn {
	const struct roster_change *c;
	struct mp_arena		*a;
	bool			 existed;
	bool			 visible;
	struct rosterdb_rec	 old;
	struct rosterdb_rec	 rec;
	struct rosterdb_meta	 meta;
	const struct mp_error	*xerr;
	/* counting the user's records */
	long			 listed;
	long			 total;
	struct mp_buf		 tombs;	/* NUL-separated contacts */
	long			 ntombs;
};

static int
change_count(const struct rosterdb_rec *r, void *arg)
{
	struct change_txn *t = arg;

	t->total++;
	if (r->item.state.listed)
		t->listed++;
	else if (rosterdb_stateless(&r->item.state)) {
		t->ntombs++;
		mp_buf_append(&t->tombs, r->item.contact,
		    strlen(r->item.contact) + 1);
	}
	return 0;
}

/* Whether the user sees a difference between two records. */
static bool
change_visible(const struct rosterdb_rec *o, const struct rosterdb_rec *n)
{
	const struct mp_roster_state *x = &o->item.state, *y = &n->item.state;

	if (x->listed != y->listed)
		return true;
	return y->listed && (x->sub != y->sub ||
	    x->pending_out != y->pending_out || x->approved != y->approved);
}

static int
change_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct change_txn *t = arg;
	const struct roster_change *c = t->c;
	bool grows;
	int rc;

	t->visible = false;
	t->xerr = &mp_err_internal_server_error;
	t->listed = t->total = t->ntombs = 0;
	mp_buf_reset(&t->tombs);
	if ((rc = rosterdb_get(txn, t->a, c->user, c->contact, &t->old)) == -1 ||
	    rosterdb_meta_get(txn, c->user, &t->meta) == -1) {
		*error_r = "storage error";
		return -1;
	}
	t->existed = rc == 1;
	t->old.item.contact = c->contact;
	t->rec = t->old;
	switch (c->op) {
	case ROSTER_OP_SET:
		t->rec.item.name = c->name;
		t->rec.item.groups = c->groups;
		t->rec.item.ngroups = c->ngroups;
		t->rec.item.state.listed = true;
		t->visible = true;
		break;
	case ROSTER_OP_REMOVE:
		if (!t->old.item.state.listed) {
			t->xerr = &mp_err_item_not_found;
			*error_r = "no such item";
			return -1;
		}
		memset(&t->rec.item.state, 0, sizeof(t->rec.item.state));
		t->rec.item.name = NULL;
		t->rec.item.ngroups = 0;
		t->visible = true;
		break;
	case ROSTER_OP_STATE:
		t->rec.item.state = c->state;
		/* Presence never takes an item out of the roster. */
		if (t->old.item.state.listed)
			t->rec.item.state.listed = true;
		t->visible = change_visible(&t->old, &t->rec);
		break;
	}
	grows = !t->existed || (t->rec.item.state.listed &&
	    !t->old.item.state.listed);
	if (grows || t->visible) {
		if (rosterdb_scan(txn, t->a, c->user, change_count, t) == -1) {
			*error_r = "storage error";
			return -1;
		}
	}
	if (grows && ((t->rec.item.state.listed && t->listed >= roster_max_items) ||
	    (!t->existed && t->total >= 2 * roster_max_items + ROSTER_TOMBS_MAX))) {
		t->xerr = &change_errors[CE_FULL];
		*error_r = "roster full";
		return -1;
	}
	if (!t->visible && !t->rec.item.state.listed &&
	    rosterdb_stateless(&t->rec.item.state)) {
		/* An unseen request withdrawn: nothing left to remember. */
		if (!t->existed)
			return 0;
		if (t->rec.ver <= t->meta.floor) {
			if (rosterdb_del(txn, c->user, c->contact) == -1) {
				*error_r = "storage error";
				return -1;
			}
			return 0;
		}
	}
	if (t->visible) {
		if (t->meta.epoch == 0)
			t->meta.epoch = mp_time_now();
		t->rec.ver = ++t->meta.ver;
		if (c->op == ROSTER_OP_REMOVE)
			t->ntombs++;
		if (t->ntombs > ROSTER_TOMBS_MAX) {
			/* Older clients get a full roster from now on. */
			for (size_t off = 0; off < t->tombs.len;
			    off += strlen(t->tombs.data + off) + 1)
				if (rosterdb_del(txn, c->user,
				    t->tombs.data + off) == -1) {
					*error_r = "storage error";
					return -1;
				}
			t->meta.floor = t->meta.ver;
		}
		if (rosterdb_meta_put(txn, c->user, &t->meta) == -1) {
			*error_r = MP_STORE_FULL;
			t->xerr = &mp_err_resource_constraint;
			return -1;
		}
	}
	if (rosterdb_put(txn, c->user, &t->rec) == -1) {
		*error_r = MP_STORE_FULL;
		t->xerr = &mp_err_resource_constraint;
		return -1;
	}
	return 0;
}

int
roster_apply(const struct roster_change *c, const struct mp_error **xerr_r,
    const char **error_r)
{
	struct change_txn t = { .c = c, .a = mp_arena_new(),
	    .tombs = MP_BUF_INIT };
	int rc = 0;

	*xerr_r = NULL;
	if (mp_store_write(mp_store_get(), change_fn, &t, error_r) == -1) {
		*xerr_r = t.xerr != NULL ? t.xerr : &mp_err_internal_server_error;
		if (t.xerr == &mp_err_internal_server_error ||
		    t.xerr == &mp_err_resource_constraint)
			mp_log_warnx("roster: %s -> %s: %s", c->user, c->contact,
			    *error_r);
		rc = -1;
	} else {
		if (t.visible)
			roster_push(c->user, NULL, &t.rec.item,
			    !t.rec.item.state.listed,
			    rosterdb_ver_string(t.a, &t.meta, t.rec.ver));
		if (c->op == ROSTER_OP_REMOVE)
			roster_unsubscribe(c->user, c->contact,
			    &t.old.item.state);
	}
	mp_buf_free(&t.tombs);
	mp_arena_free(t.a);
	return rc;
}
