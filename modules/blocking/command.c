/*
 * command.c - XEP-0191 blocklist retrieval and the block and unblock
 * commands, with their pushes and the unavailable presence sent at block
 * time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/roster.h>

#include "blocking.h"

/* What a session that asked for the blocklist holds as its module data. */
static char command_interested;
static unsigned long command_push_id;

static const struct mp_error command_err_too_many = {
	MP_ERR_MODIFY, "not-acceptable", "Too many blocked JIDs", NULL, NULL,
};
static const struct mp_error command_err_too_long = {
	MP_ERR_MODIFY, "not-acceptable", "JID too long to block", NULL, NULL,
};
static const struct mp_error command_err_no_jid = {
	MP_ERR_MODIFY, "bad-request", "An item without a 'jid'", NULL, NULL,
};
static const struct mp_error command_err_no_item = {
	MP_ERR_MODIFY, "bad-request", "Nothing to block", NULL, NULL,
};

/* The distinct prepared JIDs of a command's <item/> children, sorted. */
struct command_items {
	const char	**jids;
	struct mp_jid	 *parsed;
	size_t		  n;
};

struct command_item {
	const char	*jid;
	struct mp_jid	 parsed;
};

static int
command_cmp(const void *x, const void *y)
{
	const struct command_item *a = x, *b = y;

	return strcmp(a->jid, b->jid);
}

/* 0, or -1 when the error has been replied. */
static int
command_items(struct mp_event *ev, const char *user,
    struct command_items *ci)
{
	size_t cap = mp_node_count_elements(ev->payload) + 1, n = 0;
	struct command_item *it;
	struct mp_node *c;
	const char *s, *err;

	it = mp_arena_alloc(ev->arena, cap * sizeof(*it));
	ci->jids = mp_arena_alloc(ev->arena, cap * sizeof(*ci->jids));
	ci->parsed = mp_arena_alloc(ev->arena, cap * sizeof(*ci->parsed));
	ci->n = 0;
	for (c = mp_node_first_element(ev->payload); c != NULL;
	    c = mp_node_next_element(c)) {
		if (strcmp(c->name, "item") != 0 ||
		    strcmp(c->xmlns, NS_BLOCKING) != 0)
			continue;
		if ((s = mp_node_attr(c, "jid")) == NULL) {
			mp_reply_error(ev, &command_err_no_jid);
			return -1;
		}
		if (mp_jid_parse(ev->arena, s, &it[n].parsed, &err) == -1) {
			mp_reply_error(ev, &mp_err_jid_malformed);
			return -1;
		}
		it[n].jid = mp_jid_full(ev->arena, &it[n].parsed);
		if (strlen(user) + 1 + strlen(it[n].jid) > BLOCKING_KEY_MAX) {
			mp_reply_error(ev, &command_err_too_long);
			return -1;
		}
		n++;
	}
	/* Sorted, a repeated JID is next to its twin. */
	qsort(it, n, sizeof(*it), command_cmp);
	for (size_t i = 0; i < n; i++)
		if (ci->n == 0 || strcmp(ci->jids[ci->n - 1], it[i].jid) != 0) {
			ci->jids[ci->n] = it[i].jid;
			ci->parsed[ci->n++] = it[i].parsed;
		}
	return 0;
}

static void
command_storage_error(struct mp_event *ev, const char *user,
    const char *error)
{
	mp_log_warnx("%s: cannot store the blocklist: %s", user,
	    error != NULL ? error : "failed");
	mp_reply_error(ev, mp_err_for_store(error));
}

static enum mp_verdict
command_blocklist(struct mp_event *ev, void *arg)
{
	const char *user = mp_jid_bare(ev->arena, &ev->from), *error = NULL;
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *list = mp_node_add(ev->arena, iq, NS_BLOCKING,
	    "blocklist");

	if (blocking_list_items(ev->arena, user, list, &error) == -1) {
		mp_log_warnx("%s: cannot read the blocklist: %s", user,
		    error != NULL ? error : "failed");
		mp_reply_error(ev, &mp_err_internal_server_error);
		return MP_HANDLED;
	}
	/* XEP-0191: pushes go to the resources that asked for the list. */
	if (ev->session != NULL)
		mp_session_set(ev->session, blocking_mc, &command_interested,
		    NULL);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

/* Sends <name/> with the items (none: "unblock all") to those who asked. */
static void
command_push(struct mp_event *ev, const char *user, const char *name,
    const struct command_items *ci)
{
	struct mp_session *s;
	struct mp_node *iq = NULL, *p;
	char id[32];

	for (s = mp_user_sessions(user); s != NULL; s = mp_session_next(s)) {
		if (mp_session_get(s, blocking_mc) == NULL ||
		    !mp_session_bound(s))
			continue;
		if (iq == NULL) {
			iq = mp_node_new(ev->arena, MP_NS_CLIENT, "iq");
			mp_node_set_attr(ev->arena, iq, "type", "set");
			mp_node_set_attr(ev->arena, iq, "from", user);
			p = mp_node_add(ev->arena, iq, NS_BLOCKING, name);
			for (size_t i = 0; ci != NULL && i < ci->n; i++)
				mp_node_set_attr(ev->arena, mp_node_add(
				    ev->arena, p, NULL, "item"), "jid",
				    ci->jids[i]);
		}
		snprintf(id, sizeof(id), "blocking-push-%lu",
		    ++command_push_id);
		mp_node_set_attr(ev->arena, iq, "id", id);
		mp_node_set_attr(ev->arena, iq, "to",
		    mp_jid_full(ev->arena, mp_session_jid(s)));
		mp_session_send(s, iq);
	}
}

/* Unavailable presence from each available resource of user to one JID. */
static void
command_unavailable_to(struct mp_event *ev, const char *user, const char *to)
{
	struct mp_session *s;
	struct mp_node *p;

	for (s = mp_user_sessions(user); s != NULL; s = mp_session_next(s)) {
		if (!mp_session_bound(s) || !mp_session_available(s))
			continue;
		p = mp_node_new(ev->arena, MP_NS_CLIENT, "presence");
		mp_node_set_attr(ev->arena, p, "type", "unavailable");
		mp_node_set_attr(ev->arena, p, "from",
		    mp_jid_full(ev->arena, mp_session_jid(s)));
		mp_node_set_attr(ev->arena, p, "to", to);
		blocking_enforce_route_exempt(p);
	}
}

static bool
command_sees_presence(int sub)
{
	return sub == MP_SUB_FROM || sub == MP_SUB_BOTH;
}

/* Whether a domain item covers a contact's domain: itself or a subdomain. */
static bool
command_domain_covers(const char *item, const char *domain)
{
	size_t il = strlen(item), dl = strlen(domain);

	if (dl == il)
		return strcmp(item, domain) == 0;
	return dl > il && domain[dl - il - 1] == '.' &&
	    strcmp(domain + dl - il, item) == 0;
}

struct command_domain {
	struct mp_event	*ev;
	const char	*user;
	const char	*domain;
};

static void
command_domain_contact(const char *contact, enum mp_subscription sub,
    void *arg)
{
	struct command_domain *cd = arg;
	const char *at = strchr(contact, '@');
	const char *domain = at != NULL ? at + 1 : contact;

	if (command_sees_presence(sub) &&
	    command_domain_covers(cd->domain, domain))
		command_unavailable_to(cd->ev, cd->user, contact);
}

/*
 * XEP-0191 "User Blocks Contact": the newly blocked contacts get
 * unavailable presence, but only those allowed to see the user's presence
 * (RFC 6121 subscription 'from' or 'both'). Without a roster module there
 * are no subscriptions to go by; the presence goes to each blocked user
 * JID, which at worst tells a contact that already could not see us that
 * we are offline.
 */
static void
command_unavailable(struct mp_event *ev, const char *user,
    const struct command_items *ci, const bool *added)
{
	const struct mp_roster_api *roster = mp_provider(MP_ROSTER_PROVIDER);

	for (size_t i = 0; i < ci->n; i++) {
		const struct mp_jid *j = &ci->parsed[i];

		if (!added[i])
			continue;
		if (j->local != NULL) {
			struct mp_jid b = *j;

			b.resource = NULL;
			if (roster == NULL || command_sees_presence(
			    roster->subscription(user,
			    mp_jid_bare(ev->arena, &b))))
				command_unavailable_to(ev, user, ci->jids[i]);
		} else if (j->resource == NULL && roster != NULL) {
			struct command_domain cd = { ev, user, j->domain };

			roster->foreach(user, command_domain_contact, &cd);
		}
	}
}

static enum mp_verdict
command_block(struct mp_event *ev, void *arg)
{
	const char *user = mp_jid_bare(ev->arena, &ev->from), *error = NULL;
	struct command_items ci;
	bool *added, full = false;

	if (command_items(ev, user, &ci) == -1)
		return MP_HANDLED;
	if (ci.n == 0) {
		mp_reply_error(ev, &command_err_no_item);
		return MP_HANDLED;
	}
	if ((long)ci.n > blocking_cf.max_items) {
		mp_reply_error(ev, &command_err_too_many);
		return MP_HANDLED;
	}
	added = mp_arena_alloc(ev->arena, ci.n * sizeof(*added));
	if (blocking_list_add(user, ci.jids, ci.n, blocking_cf.max_items,
	    added, &full, &error) == -1) {
		if (full)
			mp_reply_error(ev, &command_err_too_many);
		else
			command_storage_error(ev, user, error);
		return MP_HANDLED;
	}
	mp_reply_result(ev);
	command_push(ev, user, "block", &ci);
	command_unavailable(ev, user, &ci, added);
	return MP_HANDLED;
}

/* XEP-0191 "User Unblocks All Contacts": an <unblock/> without items. */
static enum mp_verdict
command_unblock(struct mp_event *ev, void *arg)
{
	const char *user = mp_jid_bare(ev->arena, &ev->from), *error = NULL;
	struct command_items ci;
	bool all;

	if (command_items(ev, user, &ci) == -1)
		return MP_HANDLED;
	all = ci.n == 0;
	if (blocking_list_remove(user, all ? NULL : ci.jids, ci.n,
	    &error) == -1) {
		command_storage_error(ev, user, error);
		return MP_HANDLED;
	}
	mp_reply_result(ev);
	/*
	 * The XEP asks for the user's current presence to go to unblocked
	 * contacts; the core keeps no presence of a session to send, so
	 * the contacts see it again at the next broadcast or probe.
	 */
	command_push(ev, user, "unblock", all ? NULL : &ci);
	return MP_HANDLED;
}

int
blocking_command_hooks(struct mp_module_ctx *mc, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-get/self/" NS_BLOCKING ":blocklist", command_blocklist,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" NS_BLOCKING ":block", command_block,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" NS_BLOCKING ":unblock", command_unblock,
		    MP_PRIO_NORMAL },
	};

	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}
