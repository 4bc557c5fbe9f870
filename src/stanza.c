/* stanza.c - stanza errors (RFC 6120 8.3) and the reply helpers modules use. */
#include <string.h>

#include <magpie/module.h>
#include <magpie/store.h>

#include "c2s.h"

#define STANZA_ERR(sym, t, cond) \
	const struct mp_error sym = { .type = t, .condition = cond }

STANZA_ERR(mp_err_bad_request, MP_ERR_MODIFY, "bad-request");
STANZA_ERR(mp_err_feature_not_implemented, MP_ERR_CANCEL,
    "feature-not-implemented");
STANZA_ERR(mp_err_internal_server_error, MP_ERR_WAIT,
    "internal-server-error");
STANZA_ERR(mp_err_item_not_found, MP_ERR_CANCEL, "item-not-found");
STANZA_ERR(mp_err_jid_malformed, MP_ERR_MODIFY, "jid-malformed");
STANZA_ERR(mp_err_not_allowed, MP_ERR_CANCEL, "not-allowed");
STANZA_ERR(mp_err_not_acceptable, MP_ERR_MODIFY, "not-acceptable");
STANZA_ERR(mp_err_forbidden, MP_ERR_AUTH, "forbidden");
STANZA_ERR(mp_err_recipient_unavailable, MP_ERR_WAIT,
    "recipient-unavailable");
STANZA_ERR(mp_err_remote_server_not_found, MP_ERR_CANCEL,
    "remote-server-not-found");
STANZA_ERR(mp_err_resource_constraint, MP_ERR_WAIT, "resource-constraint");
STANZA_ERR(mp_err_service_unavailable, MP_ERR_CANCEL, "service-unavailable");
STANZA_ERR(mp_err_policy_violation, MP_ERR_MODIFY, "policy-violation");

const struct mp_error *
mp_err_for_store(const char *store_error)
{
	if (mp_store_is_full(store_error))
		return &mp_err_resource_constraint;
	return &mp_err_internal_server_error;
}

static const char *const err_types[] = {
	[MP_ERR_AUTH] = "auth",
	[MP_ERR_CANCEL] = "cancel",
	[MP_ERR_CONTINUE] = "continue",
	[MP_ERR_MODIFY] = "modify",
	[MP_ERR_WAIT] = "wait",
};

struct mp_node *
mp_error_reply_new(struct mp_arena *a, const struct mp_node *stanza,
    const struct mp_error *err)
{
	struct mp_node *r = mp_node_copy(a, stanza), *e, *c;
	const char *from = mp_node_attr(stanza, "from");
	const char *to = mp_node_attr(stanza, "to");

	mp_node_set_attr(a, r, "from", to);
	mp_node_set_attr(a, r, "to", from);
	mp_node_set_attr(a, r, "type", "error");
	e = mp_node_add(a, r, NULL, "error");
	mp_node_set_attr(a, e, "type", err_types[err->type]);
	mp_node_add(a, e, MP_NS_STANZAS, err->condition);
	if (err->app_ns != NULL && err->app_name != NULL)
		mp_node_add(a, e, err->app_ns, err->app_name);
	if (err->text != NULL) {
		c = mp_node_add(a, e, MP_NS_STANZAS, "text");
		mp_node_set_attr(a, c, "xml:lang", "en");
		mp_node_add_text(a, c, err->text, strlen(err->text));
	}
	return r;
}

/* The address the reply comes from: what the sender addressed. */
static const char *
reply_from(struct mp_event *ev)
{
	return ev->to.local != NULL || ev->to.resource != NULL ?
	    mp_jid_full(ev->arena, &ev->to) : ev->to.domain;
}

struct mp_node *
mp_iq_result_new(struct mp_event *ev)
{
	struct mp_node *r = mp_node_new(ev->arena, MP_NS_CLIENT, "iq");

	mp_node_set_attr(ev->arena, r, "from", reply_from(ev));
	mp_node_set_attr(ev->arena, r, "to", mp_jid_full(ev->arena,
	    &ev->from));
	mp_node_set_attr(ev->arena, r, "id", ev->id);
	mp_node_set_attr(ev->arena, r, "type", "result");
	return r;
}

void
mp_reply(struct mp_event *ev, struct mp_node *reply)
{
	/* Before bind the session has no address to route to. */
	if (ev->session != NULL && !mp_session_bound(ev->session)) {
		mp_node_set_attr(ev->arena, reply, "from", NULL);
		mp_node_set_attr(ev->arena, reply, "to", NULL);
		mp_c2s_send_unbound(ev->session, reply);
		return;
	}
	mp_route(reply);
}

void
mp_reply_result(struct mp_event *ev)
{
	mp_reply(ev, mp_iq_result_new(ev));
}

void
mp_reply_error(struct mp_event *ev, const struct mp_error *err)
{
	struct mp_node *r;

	if (ev->type != NULL && strcmp(ev->type, "error") == 0)
		return;	/* errors are never answered (RFC 6120 8.3.1) */
	r = mp_error_reply_new(ev->arena, ev->stanza, err);
	mp_node_set_attr(ev->arena, r, "from", reply_from(ev));
	mp_node_set_attr(ev->arena, r, "to", mp_jid_full(ev->arena,
	    &ev->from));
	mp_reply(ev, r);
}
