/*
 * roster.c - RFC 6121 section 2 rosters with XEP-0237 versioning: roster
 * get and set, the provider "roster" for presence and administration, and
 * the user's roster removed with the account.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "rosterdb.h"

#define NS_ROSTERVER	"urn:xmpp:features:rosterver"

struct roster_conf {
	long	 max_items;
};

static const struct mp_directive roster_directives[] = {
	{ .name = "max_items", .type = MP_CT_INT,
	  .offset = offsetof(struct roster_conf, max_items), .def = "1000",
	  .min = 1, .max = 1000000 },
	MP_DIRECTIVES_END,
};

static const struct mp_error roster_errors[] = {
#define RE_SELF		0
	{ MP_ERR_CANCEL, "not-allowed", "Cannot add yourself", NULL, NULL },
#define RE_FULL_JID	1
	{ MP_ERR_MODIFY, "bad-request", "Roster items are bare JIDs", NULL,
	  NULL },
#define RE_SUB		2
	{ MP_ERR_MODIFY, "bad-request", "Unknown subscription value", NULL,
	  NULL },
#define RE_ITEMS	3
	{ MP_ERR_MODIFY, "bad-request", "One <item/> per roster set", NULL,
	  NULL },
#define RE_NOJID	4
	{ MP_ERR_MODIFY, "bad-request", "<item/> without jid", NULL, NULL },
};

/* ---- reading ---------------------------------------------------------- */

struct roster_read {
	struct mp_arena		*a;
	bool			 all;
	long long		 since;		/* replay: versions after this */
	struct rosterdb_rec	*recs;
	size_t			 n, cap;
	/* provider callbacks */
	mp_roster_item_fn	*fn;
	mp_roster_full_fn	*full_fn;
	void			*arg;
};

static int
roster_collect(const struct rosterdb_rec *r, void *arg)
{
	struct roster_read *rd = arg;

	if (rd->since >= 0 ? r->ver <= rd->since :
	    !(rd->all || r->item.state.listed))
		return 0;
	if (rd->n == rd->cap) {
		struct rosterdb_rec *n;

		rd->cap = rd->cap ? rd->cap * 2 : 32;
		n = mp_arena_alloc(rd->a, rd->cap * sizeof(*n));
		if (rd->n > 0)
			memcpy(n, rd->recs, rd->n * sizeof(*n));
		rd->recs = n;
	}
	rd->recs[rd->n++] = *r;
	return 0;
}

static int
roster_by_ver(const void *x, const void *y)
{
	const struct rosterdb_rec *a = x, *b = y;

	return a->ver < b->ver ? -1 : a->ver > b->ver;
}

static enum mp_verdict
roster_get(struct mp_event *ev, void *arg)
{
	struct roster_read rd = { .a = ev->arena, .since = -1 };
	const char *user = mp_jid_bare(ev->arena, &ev->from);
	const char *ver = mp_node_attr(ev->payload, "ver"), *err;
	struct rosterdb_meta m;
	long long epoch, cver;
	struct mp_txn *txn;
	struct mp_node *iq, *q;
	bool replay = false;

	if (mp_txn_read(mp_store_get(), &txn, &err) == -1) {
		mp_log_warnx("roster: %s: %s", user, err);
		mp_reply_error(ev, &mp_err_internal_server_error);
		return MP_HANDLED;
	}
	if (rosterdb_meta_get(txn, user, &m) == -1)
		goto fail;
	/* XEP-0237 2.4: a version we know, and changes we can replay. */
	if (ver != NULL && rosterdb_ver_parse(ver, &epoch, &cver) == 0 &&
	    epoch == m.epoch && cver >= m.floor && cver <= m.ver) {
		replay = true;
		rd.since = cver;
	}
	if (rosterdb_scan(txn, ev->arena, user, roster_collect, &rd) == -1)
		goto fail;
	mp_txn_abort(txn);
	if (ev->session != NULL)
		roster_set_interested(ev->session);
	if (replay) {
		mp_reply_result(ev);
		if (rd.n > 1)
			qsort(rd.recs, rd.n, sizeof(*rd.recs), roster_by_ver);
		for (size_t i = 0; i < rd.n; i++)
			roster_push(user, ev->session, &rd.recs[i].item,
			    !rd.recs[i].item.state.listed,
			    rosterdb_ver_string(ev->arena, &m, rd.recs[i].ver));
		return MP_HANDLED;
	}
	iq = mp_iq_result_new(ev);
	q = mp_node_add(ev->arena, iq, NS_ROSTER, "query");
	if (ver != NULL)
		mp_node_set_attr(ev->arena, q, "ver",
		    rosterdb_ver_string(ev->arena, &m, m.ver));
	for (size_t i = 0; i < rd.n; i++)
		roster_item_node(ev->arena, q, &rd.recs[i].item, false);
	mp_reply(ev, iq);
	return MP_HANDLED;
fail:
	mp_txn_abort(txn);
	mp_log_warnx("roster: %s: cannot read the roster", user);
	mp_reply_error(ev, &mp_err_internal_server_error);
	return MP_HANDLED;
}

/* ---- roster set ------------------------------------------------------- */

static enum mp_verdict
roster_set(struct mp_event *ev, void *arg)
{
	struct mp_node *item = mp_node_first_element(ev->payload), *g;
	struct roster_change c = { .op = ROSTER_OP_SET };
	const struct mp_error *xerr;
	const char *jid, *sub, *err, **groups;
	struct mp_jid contact;
	size_t n = 0;

	if (item == NULL || mp_node_next_element(item) != NULL ||
	    strcmp(item->name, "item") != 0 ||
	    strcmp(item->xmlns, NS_ROSTER) != 0) {
		mp_reply_error(ev, &roster_errors[RE_ITEMS]);
		return MP_HANDLED;
	}
	if ((jid = mp_node_attr(item, "jid")) == NULL) {
		mp_reply_error(ev, &roster_errors[RE_NOJID]);
		return MP_HANDLED;
	}
	if (mp_jid_parse(ev->arena, jid, &contact, &err) == -1) {
		mp_reply_error(ev, &mp_err_jid_malformed);
		return MP_HANDLED;
	}
	if (contact.resource != NULL) {
		mp_reply_error(ev, &roster_errors[RE_FULL_JID]);
		return MP_HANDLED;
	}
	c.user = mp_jid_bare(ev->arena, &ev->from);
	c.contact = mp_jid_bare(ev->arena, &contact);
	if (strcmp(c.user, c.contact) == 0) {
		mp_reply_error(ev, &roster_errors[RE_SELF]);
		return MP_HANDLED;
	}
	/* RFC 6121 2.1.2.5: values other than "remove" are the server's. */
	if ((sub = mp_node_attr(item, "subscription")) != NULL) {
		if (strcmp(sub, "remove") == 0)
			c.op = ROSTER_OP_REMOVE;
		else if (strcmp(sub, "none") != 0 && strcmp(sub, "to") != 0 &&
		    strcmp(sub, "from") != 0 && strcmp(sub, "both") != 0) {
			mp_reply_error(ev, &roster_errors[RE_SUB]);
			return MP_HANDLED;
		}
	}
	if (c.op == ROSTER_OP_SET) {
		groups = mp_arena_alloc(ev->arena, sizeof(*groups) *
		    (mp_node_count_elements(item) + 1));
		for (g = mp_node_first_element(item); g != NULL;
		    g = mp_node_next_element(g))
			if (strcmp(g->name, "group") == 0 &&
			    strcmp(g->xmlns, NS_ROSTER) == 0)
				groups[n++] = mp_node_text(ev->arena, g);
		c.name = mp_node_attr(item, "name");
		if (c.name != NULL && c.name[0] == '\0')
			c.name = NULL;
		c.groups = groups;
		c.ngroups = n;
		if ((xerr = roster_check_item(c.name, groups, n)) != NULL) {
			mp_reply_error(ev, xerr);
			return MP_HANDLED;
		}
	}
	if (roster_apply(&c, &xerr, &err) == -1)
		mp_reply_error(ev, xerr);
	else
		mp_reply_result(ev);
	return MP_HANDLED;
}

/* RFC 6121 2.1.5 / 2.3.3: only the user's own roster. */
static enum mp_verdict
roster_forbidden(struct mp_event *ev, void *arg)
{
	mp_reply_error(ev, &mp_err_forbidden);
	return MP_HANDLED;
}

/* XEP-0237 2.2: advertised once the client may ask for the roster. */
static enum mp_verdict
roster_features(struct mp_event *ev, void *arg)
{
	if (mp_node_child(ev->stanza, MP_NS_BIND, "bind") != NULL)
		mp_node_add(ev->arena, ev->stanza, NS_ROSTERVER, "ver");
	return MP_PASS;
}

/* ---- the provider ----------------------------------------------------- */

static long
roster_read_all(const char *user, struct roster_read *rd)
{
	struct mp_txn *txn;
	const char *err;
	long n;

	if (mp_txn_read(mp_store_get(), &txn, &err) == -1) {
		mp_log_warnx("roster: %s: %s", user, err);
		return -1;
	}
	n = rosterdb_scan(txn, rd->a, user, roster_collect, rd);
	mp_txn_abort(txn);
	return n == -1 ? -1 : (long)rd->n;
}

static long
roster_api_list(const char *user, bool all, mp_roster_full_fn *fn, void *arg)
{
	struct roster_read rd = { .a = mp_arena_new(), .since = -1,
	    .all = all };
	long n = roster_read_all(user, &rd);

	for (long i = 0; i < n; i++)
		fn(&rd.recs[i].item, arg);
	mp_arena_free(rd.a);
	return n;
}

static long
roster_api_foreach(const char *user, mp_roster_item_fn *fn, void *arg)
{
	struct roster_read rd = { .a = mp_arena_new(), .since = -1 };
	long n = roster_read_all(user, &rd);

	for (long i = 0; i < n; i++)
		fn(rd.recs[i].item.contact, rd.recs[i].item.state.sub, arg);
	mp_arena_free(rd.a);
	return n;
}

static int
roster_api_state(const char *user, const char *contact,
    struct mp_roster_state *state_r)
{
	struct mp_arena *a = mp_arena_new();
	struct rosterdb_rec r;
	struct mp_txn *txn;
	const char *err;
	int rc = -1;

	memset(state_r, 0, sizeof(*state_r));
	if (mp_txn_read(mp_store_get(), &txn, &err) == 0) {
		rc = rosterdb_get(txn, a, user, contact, &r);
		mp_txn_abort(txn);
		if (rc == 1)
			*state_r = r.item.state;
	}
	mp_arena_free(a);
	return rc;
}

static int
roster_api_subscription(const char *user, const char *contact)
{
	struct mp_roster_state st;

	if (roster_api_state(user, contact, &st) == -1)
		return -1;
	return st.listed ? (int)st.sub : MP_SUB_NONE;
}

static int
roster_api_set_state(const char *user, const char *contact,
    const struct mp_roster_state *state, const char **error_r)
{
	struct roster_change c = { .op = ROSTER_OP_STATE, .user = user,
	    .contact = contact, .state = *state };
	const struct mp_error *xerr;

	return roster_apply(&c, &xerr, error_r);
}

static int
roster_api_set_item(const char *user, const char *contact, const char *name,
    const char *const *groups, size_t ngroups, const char **error_r)
{
	struct roster_change c = { .op = ROSTER_OP_SET, .user = user,
	    .contact = contact, .name = name, .groups = groups,
	    .ngroups = ngroups };
	const struct mp_error *xerr;

	if (strcmp(user, contact) == 0) {
		*error_r = roster_errors[RE_SELF].text;
		return -1;
	}
	if ((xerr = roster_check_item(name, groups, ngroups)) != NULL) {
		*error_r = xerr->text;
		return -1;
	}
	return roster_apply(&c, &xerr, error_r);
}

static int
roster_api_remove_item(const char *user, const char *contact,
    const char **error_r)
{
	struct roster_change c = { .op = ROSTER_OP_REMOVE, .user = user,
	    .contact = contact };
	const struct mp_error *xerr;

	if (roster_apply(&c, &xerr, error_r) == 0)
		return 1;
	return xerr == &mp_err_item_not_found ? 0 : -1;
}

static const struct mp_roster_api roster_api = {
	.subscription = roster_api_subscription,
	.foreach = roster_api_foreach,
	.state = roster_api_state,
	.set_state = roster_api_set_state,
	.list = roster_api_list,
	.set_item = roster_api_set_item,
	.remove_item = roster_api_remove_item,
};

/* ---- accounts --------------------------------------------------------- */

static int
roster_drop(struct mp_txn *txn, void *arg, const char **error_r)
{
	if (rosterdb_drop_user(txn, arg) == -1) {
		*error_r = "storage error";
		return -1;
	}
	return 0;
}

/* The contacts learn that the account is gone before its roster is. */
static enum mp_verdict
roster_user_deleted(struct mp_event *ev, void *arg)
{
	struct roster_read rd = { .a = ev->arena, .since = -1, .all = true };
	char *user = mp_jid_bare(ev->arena, &ev->from);
	const char *err;
	long n = roster_read_all(user, &rd);

	for (long i = 0; i < n; i++)
		roster_unsubscribe(user, rd.recs[i].item.contact,
		    &rd.recs[i].item.state);
	if (mp_store_write(mp_store_get(), roster_drop, user, &err) == -1)
		mp_log_warnx("roster: %s: cannot remove the roster: %s", user,
		    err);
	return MP_PASS;
}

static int
roster_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	const struct roster_conf *rc = conf;
	static const struct mp_hook_spec hooks[] = {
		{ "iq-get/self/" NS_ROSTER ":query", roster_get,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" NS_ROSTER ":query", roster_set,
		    MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_ROSTER ":query", roster_forbidden,
		    MP_PRIO_NORMAL },
		{ "iq-set/bare/" NS_ROSTER ":query", roster_forbidden,
		    MP_PRIO_NORMAL },
		{ "stream-features", roster_features, MP_PRIO_NORMAL },
		{ "user-deleted", roster_user_deleted, MP_PRIO_NORMAL },
	};

	roster_mc = mc;
	roster_max_items = rc->max_items;
	if (rosterdb_open(error_r) == -1)
		return -1;
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	mp_provide(mc, MP_ROSTER_PROVIDER, &roster_api);
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "roster",
	.directives = roster_directives,
	.conf_size = sizeof(struct roster_conf),
	.load = roster_load,
};
