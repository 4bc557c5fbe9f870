/*
 * enforce.c - XEP-0191 enforcement on routed stanzas: nothing from a
 * blocked JID reaches the user, nothing from the user reaches it.
 */
#include <string.h>

#include "blocking.h"

static const struct mp_error enforce_err_blocked = {
	MP_ERR_CANCEL, "not-acceptable", NULL, NS_BLOCKING_ERRORS, "blocked",
};

/* Set while the module routes its own unavailable presence. */
static bool enforce_exempt;

void
blocking_enforce_route_exempt(struct mp_node *stanza)
{
	enforce_exempt = true;
	mp_route(stanza);
	enforce_exempt = false;
}

static bool
enforce_is(const char *value, const char *what)
{
	return value != NULL && strcmp(value, what) == 0;
}

/* The server itself, which no blocklist can silence. */
static bool
enforce_is_server(const struct mp_jid *j)
{
	return j->local == NULL && j->resource == NULL &&
	    mp_is_local_host(j->domain);
}

/*
 * "User Blocks Contact": the user's stanza to a blocked JID is not routed
 * and comes back as <not-acceptable/> with <blocked/>. The error goes
 * straight to the sending session: routed, it would come from the blocked
 * JID and the inbound check would drop it. What the server sends on the
 * user's behalf (presence broadcasts, probes) has no session and is
 * dropped silently; so are the server's own error replies, which pass.
 */
static enum mp_verdict
enforce_outbound(struct mp_event *ev)
{
	struct mp_node *r;

	if (enforce_is(ev->type, "error") && ev->session == NULL)
		return MP_PASS;
	if (enforce_is(ev->type, "error") || ev->session == NULL ||
	    !mp_session_bound(ev->session))
		return MP_HANDLED;
	r = mp_error_reply_new(ev->arena, ev->stanza, &enforce_err_blocked);
	mp_node_set_attr(ev->arena, r, "from", ev->to.local != NULL ||
	    ev->to.resource != NULL ? mp_jid_full(ev->arena, &ev->to) :
	    ev->to.domain);
	mp_node_set_attr(ev->arena, r, "to", mp_jid_full(ev->arena,
	    &ev->from));
	mp_session_send(ev->session, r);
	return MP_HANDLED;
}

/*
 * "User Blocks Contact", inbound: presence is dropped without a word, an
 * iq get or set gets <service-unavailable/> (the user looks offline),
 * other iqs are dropped. Messages are dropped too unless
 * blocking.bounce_messages asks for the XEP's suggested
 * <service-unavailable/>: with offline storage, a bounce would tell the
 * blocked contact what an offline user's silence does not.
 */
static enum mp_verdict
enforce_inbound(struct mp_event *ev)
{
	const char *name = ev->stanza->name;

	if (strcmp(name, "iq") == 0) {
		if (enforce_is(ev->type, "get") || enforce_is(ev->type, "set"))
			mp_reply_error(ev, &mp_err_service_unavailable);
	} else if (strcmp(name, "message") == 0 &&
	    blocking_cf.bounce_messages && (ev->type == NULL ||
	    enforce_is(ev->type, "normal") || enforce_is(ev->type, "chat")))
		mp_reply_error(ev, &mp_err_service_unavailable);
	return MP_HANDLED;
}

static enum mp_verdict
enforce_stanza(struct mp_event *ev, void *arg)
{
	const char *user;

	if (ev->from.domain == NULL || ev->to.domain == NULL ||
	    (ev->from.local != NULL && mp_jid_bare_eq(&ev->from, &ev->to)))
		return MP_PASS;	/* the user's own resources */
	if (ev->from.local != NULL && mp_is_local_host(ev->from.domain) &&
	    !enforce_is_server(&ev->to) && !(enforce_exempt && strcmp(ev->stanza->name, "presence") == 0)) {
		user = mp_jid_bare(ev->arena, &ev->from);
		if (blocking_list_blocks(user, &ev->to) == 1 &&
		    enforce_outbound(ev) == MP_HANDLED)
			return MP_HANDLED;
	}
	if (ev->to.local != NULL && mp_is_local_host(ev->to.domain) &&
	    !enforce_is_server(&ev->from)) {
		user = mp_jid_bare(ev->arena, &ev->to);
		if (blocking_list_blocks(user, &ev->from) == 1)
			return enforce_inbound(ev);
	}
	return MP_PASS;
}

int
blocking_enforce_hooks(struct mp_module_ctx *mc, const char **error_r)
{
	/* The router fires this for every stanza before routing it. */
	static const char *const events[] = { "stanza/policy" };

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (mp_hook(mc, events[i], enforce_stanza, NULL,
		    MP_PRIO_POLICY, error_r) == -1)
			return -1;
	return 0;
}
