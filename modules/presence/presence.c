/*
 * presence.c - RFC 6121 sections 3 and 4: presence subscriptions (both
 * sides handled here when both users are local), pre-approval, and the
 * hooks that send presence where it belongs.
 */
#include <stddef.h>
#include <string.h>

#include "pending.h"
#include "presence.h"
#include "subscription.h"

#define NS_PREAPPROVAL	"urn:xmpp:features:pre-approval"

struct presence_conf {
	bool	 pre_approval;
};

static const struct mp_directive presence_directives[] = {
	{ .name = "pre_approval", .type = MP_CT_BOOL,
	  .offset = offsetof(struct presence_conf, pre_approval),
	  .def = "true" },
	MP_DIRECTIVES_END,
};

struct mp_module_ctx *presence_mc;
const struct mp_roster_api *presence_roster;
static bool presence_preapproval;

static bool
presence_is_local_jid(const char *bare)
{
	const char *at = strchr(bare, '@');

	return mp_is_local_host(at != NULL ? at + 1 : bare);
}

/* Writes a subscription stanza to the user's available resources. */
static void
presence_deliver(const char *user, const struct mp_node *st)
{
	for (struct mp_session *s = mp_user_sessions(user); s != NULL;
	    s = mp_session_next(s))
		if (mp_session_available(s))
			mp_session_send(s, st);
}

static int
presence_store_state(const char *user, const char *contact,
    const struct mp_roster_state *st)
{
	const char *err;

	if (presence_roster->set_state(user, contact, st, &err) == -1) {
		mp_log_warnx("presence: %s -> %s: %s", user, contact, err);
		return -1;
	}
	return 0;
}

/*
 * The contact (local) receives a subscription stanza from user: RFC 6121
 * Appendix A.2, 3.1.3, 3.1.5, 3.2.3, 3.3.3, 3.4.
 */
static void
presence_inbound(struct mp_arena *a, const struct mp_node *st,
    enum presence_sub_type t, const char *user, const char *contact)
{
	struct presence_sub_result r;
	struct mp_roster_state cur;
	struct mp_node *reply;

	if (presence_roster->state(contact, user, &cur) == -1)
		return;
	presence_sub_inbound(t, &cur, &r);
	if (r.changed && presence_store_state(contact, user, &r.state) == -1)
		return;
	if (t == PSUB_SUBSCRIBE && r.forward)
		pending_store(contact, user, st);
	else if (cur.pending_in && !r.state.pending_in)
		pending_drop(contact, user);
	if (r.forward)
		presence_deliver(contact, st);
	if (r.lost_from)
		presence_send_unavailable(a, contact, user);
	if (r.auto_subscribed) {
		reply = mp_node_new(a, MP_NS_CLIENT, "presence");
		mp_node_set_attr(a, reply, "type", "subscribed");
		mp_node_set_attr(a, reply, "from", contact);
		mp_node_set_attr(a, reply, "to", user);
		if (presence_is_local_jid(user))
			presence_inbound(a, reply, PSUB_SUBSCRIBED, contact,
			    user);
		else
			mp_route(reply);
	}
	if (r.gained_from)
		presence_send_current(a, contact, user, NULL);
}

/*
 * A user's client sends a subscription stanza: RFC 6121 Appendix A.3 and
 * 3.1.2 (the server stamps the bare JID). For a local contact the inbound
 * side follows at once. Returns true when the stanza should go on to a
 * remote contact.
 */
static bool
presence_outbound(struct mp_event *ev, enum presence_sub_type t,
    const char *user, const char *contact, bool local)
{
	struct presence_sub_result r;
	struct mp_roster_state cur;
	const char *err;

	if (presence_roster->state(user, contact, &cur) == -1) {
		mp_reply_error(ev, &mp_err_internal_server_error);
		return false;
	}
	presence_sub_outbound(t, &cur, presence_preapproval, &r);
	if (r.changed && presence_roster->set_state(user, contact, &r.state,
	    &err) == -1) {
		mp_reply_error(ev, strcmp(err, "roster full") == 0 ?
		    &mp_err_policy_violation : &mp_err_resource_constraint);
		return false;
	}
	if (cur.pending_in && !r.state.pending_in)
		pending_drop(user, contact);
	if (r.lost_from)
		presence_send_unavailable(ev->arena, user, contact);
	if (!r.forward)
		return false;
	mp_node_set_attr(ev->arena, ev->stanza, "from", user);
	mp_node_set_attr(ev->arena, ev->stanza, "to", contact);
	if (local)
		presence_inbound(ev->arena, ev->stanza, t, user, contact);
	/* RFC 6121 3.1.5: the new subscriber sees the user at once. */
	if (r.gained_from && local)
		presence_send_current(ev->arena, user, contact, NULL);
	return !local;
}

/* Subscription stanzas to a local JID, from a client or from the server. */
static void
presence_subscription(struct mp_event *ev, enum presence_sub_type t)
{
	const char *user = mp_jid_bare(ev->arena, &ev->from);
	const char *contact = mp_jid_bare(ev->arena, &ev->to);

	if (ev->from.local == NULL || strcmp(user, contact) == 0)
		return;
	if (ev->session != NULL)
		presence_outbound(ev, t, user, contact, true);
	else
		presence_inbound(ev->arena, ev->stanza, t, user, contact);
}

static enum mp_verdict
presence_local(struct mp_event *ev, void *arg)
{
	int t = presence_sub_type(ev->type);

	if (t >= 0) {
		presence_subscription(ev, (enum presence_sub_type)t);
		return MP_HANDLED;
	}
	if (ev->type != NULL && strcmp(ev->type, "probe") == 0) {
		presence_probe(ev);
		return MP_HANDLED;
	}
	if (ev->session != NULL && (ev->type == NULL ||
	    strcmp(ev->type, "unavailable") == 0))
		presence_directed(ev->session, mp_jid_full(ev->arena, &ev->to),
		    ev->type == NULL);
	return MP_PASS;	/* the core delivers it */
}

/* Subscriptions are about bare JIDs (RFC 6121 3.1.1). */
static enum mp_verdict
presence_full(struct mp_event *ev, void *arg)
{
	if (presence_sub_type(ev->type) >= 0 || (ev->type != NULL &&
	    strcmp(ev->type, "probe") == 0))
		ev->to.resource = NULL;
	return presence_local(ev, arg);
}

/* No server-to-server yet: the user's side still follows the RFC. */
static enum mp_verdict
presence_remote(struct mp_event *ev, void *arg)
{
	int t;

	if (ev->session == NULL || strcmp(ev->stanza->name, "presence") != 0)
		return MP_PASS;
	t = presence_sub_type(ev->type);
	if (t >= 0) {
		const char *user = mp_jid_bare(ev->arena, &ev->from);

		ev->to.resource = NULL;
		if (!presence_outbound(ev, (enum presence_sub_type)t, user,
		    mp_jid_bare(ev->arena, &ev->to), false))
			return MP_HANDLED;
	} else if (ev->type == NULL || strcmp(ev->type, "unavailable") == 0)
		presence_directed(ev->session, mp_jid_full(ev->arena, &ev->to),
		    ev->type == NULL);
	return MP_PASS;
}

static enum mp_verdict
presence_features(struct mp_event *ev, void *arg)
{
	if (presence_preapproval &&
	    mp_node_child(ev->stanza, MP_NS_BIND, "bind") != NULL)
		mp_node_add(ev->arena, ev->stanza, NS_PREAPPROVAL, "sub");
	return MP_PASS;
}

static enum mp_verdict
presence_user_deleted(struct mp_event *ev, void *arg)
{
	pending_drop_user(mp_jid_bare(ev->arena, &ev->from));
	return MP_PASS;
}

static int
presence_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	const struct presence_conf *pc = conf;
	static const struct mp_hook_spec hooks[] = {
		{ "presence/bare", presence_local, MP_PRIO_NORMAL },
		{ "presence/full", presence_full, MP_PRIO_NORMAL },
		{ "stanza/remote", presence_remote, MP_PRIO_NORMAL },
		{ "presence/broadcast", presence_broadcast, MP_PRIO_NORMAL },
		{ "session-closed", presence_closed, MP_PRIO_NORMAL },
		{ "stream-features", presence_features, MP_PRIO_NORMAL },
		{ "user-deleted", presence_user_deleted, MP_PRIO_NORMAL },
	};

	presence_mc = mc;
	presence_preapproval = pc->pre_approval;
	if ((presence_roster = mp_provider(MP_ROSTER_PROVIDER)) == NULL) {
		*error_r = "the roster module is not loaded";
		return -1;
	}
	if (pending_open(error_r) == -1)
		return -1;
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "presence",
	.depends = (const char *const[]){ "roster", NULL },
	.directives = presence_directives,
	.conf_size = sizeof(struct presence_conf),
	.load = presence_load,
};
