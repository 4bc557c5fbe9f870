/* router.c - addressing: classify a stanza's recipient, fire its event, deliver by the RFC's rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/module.h>

#include "accounts.h"
#include "c2s.h"
#include "config.h"
#include "hooks.h"
#include "router.h"
#include "server.h"
#include "session.h"

enum kind {
	K_MESSAGE,
	K_PRESENCE,
	K_IQ_GET,
	K_IQ_SET,
	K_IQ_RESULT,
	K_IQ_ERROR,
	NKIND,
};

enum target {
	T_HOST,
	T_SELF,
	T_BARE,
	T_FULL,
	T_REMOTE,
	T_BROADCAST,
	T_OFFLINE,
	NTARGET,
};

static const char *const kind_names[NKIND] = {
	"message", "presence", "iq-get", "iq-set", "iq-result", "iq-error",
};
static const char *const target_names[NTARGET] = {
	"host", "self", "bare", "full", "remote", "broadcast", "offline",
};

/* Interned "<kind>/<target>" ids; iq to a full JID is "iq/full". */
static unsigned ev_ids[NKIND][NTARGET];
static unsigned ev_iq_full, ev_remote, ev_policy;

static int
kind_of(const struct mp_node *st, const char *type, enum kind *k_r)
{
	if (strcmp(st->name, "message") == 0)
		*k_r = K_MESSAGE;
	else if (strcmp(st->name, "presence") == 0)
		*k_r = K_PRESENCE;
	else if (type == NULL)
		return -1;
	else if (strcmp(type, "get") == 0)
		*k_r = K_IQ_GET;
	else if (strcmp(type, "set") == 0)
		*k_r = K_IQ_SET;
	else if (strcmp(type, "result") == 0)
		*k_r = K_IQ_RESULT;
	else if (strcmp(type, "error") == 0)
		*k_r = K_IQ_ERROR;
	else
		return -1;
	return 0;
}

static bool
is_type(const struct mp_event *ev, const char *type)
{
	return ev->type != NULL && strcmp(ev->type, type) == 0;
}

void
mp_session_send(struct mp_session *s, const struct mp_node *stanza)
{
	mp_c2s_send(s, stanza);
}

/* Available resources with a non-negative priority; the highest only if top. */
static int
deliver_bare(struct mp_event *ev, bool top_only)
{
	struct mp_session *s;
	const char *bare = mp_jid_bare(ev->arena, &ev->to);
	int best = -1, n = 0;

	for (s = mp_sessions_of(bare); s != NULL; s = s->next_resource)
		if (s->available && s->priority >= 0 && s->priority > best)
			best = s->priority;
	if (best < 0)
		return 0;
	for (s = mp_sessions_of(bare); s != NULL; s = s->next_resource)
		if (s->available && s->priority >= 0 &&
		    (!top_only || s->priority == best)) {
			mp_session_send(s, ev->stanza);
			n++;
		}
	return n;
}

static enum mp_verdict
core_message_bare(struct mp_event *ev, void *arg)
{
	if (is_type(ev, "error"))
		return MP_HANDLED;
	if (is_type(ev, "groupchat")) {
		mp_reply_error(ev, &mp_err_service_unavailable);
		return MP_HANDLED;
	}
	if (deliver_bare(ev, !is_type(ev, "headline")) == 0)
		mp_hooks_fire(ev_ids[K_MESSAGE][T_OFFLINE], ev);
	return MP_HANDLED;
}

/* Nobody took the message for later: RFC 6121 8.5.2.2.1. */
static enum mp_verdict
core_message_offline(struct mp_event *ev, void *arg)
{
	if (!is_type(ev, "headline") && !is_type(ev, "error"))
		mp_reply_error(ev, &mp_err_service_unavailable);
	return MP_HANDLED;
}

static enum mp_verdict
core_message_full(struct mp_event *ev, void *arg)
{
	struct mp_session *s = mp_sessions_find(&ev->to);

	if (s != NULL && s->state == C2S_BOUND) {
		mp_session_send(s, ev->stanza);
		return MP_HANDLED;
	}
	/* RFC 6121 8.5.3.2.1: no such resource. */
	if (is_type(ev, "groupchat"))
		mp_reply_error(ev, &mp_err_service_unavailable);
	else if (!is_type(ev, "headline") && !is_type(ev, "error")) {
		ev->to.resource = NULL;
		mp_hooks_fire(ev_ids[K_MESSAGE][T_BARE], ev);
	}
	return MP_HANDLED;
}

static enum mp_verdict
core_presence_bare(struct mp_event *ev, void *arg)
{
	struct mp_session *s;
	const char *bare = mp_jid_bare(ev->arena, &ev->to);

	if (is_type(ev, "probe"))
		return MP_HANDLED;	/* the presence module answers probes */
	for (s = mp_sessions_of(bare); s != NULL; s = s->next_resource)
		if (s->available && s != ev->session)
			mp_session_send(s, ev->stanza);
	return MP_HANDLED;
}

static enum mp_verdict
core_presence_full(struct mp_event *ev, void *arg)
{
	struct mp_session *s = mp_sessions_find(&ev->to);

	if (s != NULL && s->state == C2S_BOUND)
		mp_session_send(s, ev->stanza);
	return MP_HANDLED;
}

static enum mp_verdict
core_iq_full(struct mp_event *ev, void *arg)
{
	struct mp_session *s = mp_sessions_find(&ev->to);

	if (s != NULL && s->state == C2S_BOUND)
		mp_session_send(s, ev->stanza);
	else if (is_type(ev, "get") || is_type(ev, "set"))
		mp_reply_error(ev, &mp_err_service_unavailable);
	return MP_HANDLED;
}

static enum mp_verdict
core_remote(struct mp_event *ev, void *arg)
{
	/* No server-to-server yet: RFC 6120 8.3.3.15. */
	if (!(ev->stanza->name[0] == 'p' && !is_type(ev, "error")))
		mp_reply_error(ev, &mp_err_remote_server_not_found);
	return MP_HANDLED;
}

static enum mp_verdict
core_drop(struct mp_event *ev, void *arg)
{
	return MP_HANDLED;
}

static void
router_core_hook(unsigned id, mp_hook_fn *fn)
{
	mp_hooks_add(id, fn, NULL, MP_PRIO_CORE, NULL, NULL);
}

void
mp_router_init(void)
{
	char name[64];

	for (int k = 0; k < NKIND; k++)
		for (int t = 0; t < NTARGET; t++) {
			snprintf(name, sizeof(name), "%s/%s", kind_names[k],
			    target_names[t]);
			ev_ids[k][t] = mp_event_intern(name);
		}
	ev_iq_full = mp_event_intern("iq/full");
	ev_remote = mp_event_intern("stanza/remote");
	ev_policy = mp_event_intern("stanza/policy");
	router_core_hook(ev_ids[K_MESSAGE][T_BARE], core_message_bare);
	router_core_hook(ev_ids[K_MESSAGE][T_SELF], core_message_bare);
	router_core_hook(ev_ids[K_MESSAGE][T_OFFLINE], core_message_offline);
	router_core_hook(ev_ids[K_MESSAGE][T_FULL], core_message_full);
	router_core_hook(ev_ids[K_MESSAGE][T_HOST], core_message_offline);
	router_core_hook(ev_ids[K_PRESENCE][T_BARE], core_presence_bare);
	router_core_hook(ev_ids[K_PRESENCE][T_SELF], core_presence_bare);
	router_core_hook(ev_ids[K_PRESENCE][T_FULL], core_presence_full);
	router_core_hook(ev_ids[K_PRESENCE][T_HOST], core_drop);
	router_core_hook(ev_ids[K_PRESENCE][T_BROADCAST], core_drop);
	router_core_hook(ev_iq_full, core_iq_full);
	router_core_hook(ev_remote, core_remote);
}

/* Whether a local user exists: online sessions answer without the store. */
static bool
router_user_exists(struct mp_event *ev)
{
	if (mp_sessions_of(mp_jid_bare(ev->arena, &ev->to)) != NULL)
		return true;
	return mp_account_exists(ev->to.domain, ev->to.local) == 1;
}

static void
router_dispatch(struct mp_event *ev, enum kind k)
{
	enum target t;
	unsigned id;

	if (!mp_is_local_host(ev->to.domain))
		t = T_REMOTE;
	else if (ev->to.local == NULL)
		t = T_HOST;
	else if (ev->to.resource != NULL)
		t = T_FULL;
	else if (ev->from.local != NULL && mp_jid_bare_eq(&ev->from, &ev->to))
		t = T_SELF;
	else
		t = T_BARE;

	/* One place for rules on every stanza (blocking, limits). */
	if (mp_hooks_fire(ev_policy, ev) == MP_HANDLED)
		return;
	if (t == T_REMOTE) {
		mp_hooks_fire(ev_remote, ev);
		return;
	}
	if ((t == T_BARE || t == T_FULL) && !router_user_exists(ev)) {
		/* RFC 6121 8.5.1: no such user. */
		if (k != K_PRESENCE && k != K_IQ_RESULT && k != K_IQ_ERROR)
			mp_reply_error(ev, &mp_err_service_unavailable);
		return;
	}
	if (k >= K_IQ_GET && t == T_FULL) {
		mp_hooks_fire(ev_iq_full, ev);
		return;
	}
	if ((k == K_IQ_GET || k == K_IQ_SET) && t != T_FULL) {
		const char *tn = target_names[t];
		struct mp_slice pieces[] = {
			{ kind_names[k], strlen(kind_names[k]) }, { "/", 1 },
			{ tn, strlen(tn) }, { "/", 1 },
			{ ev->payload->xmlns, strlen(ev->payload->xmlns) },
			{ ":", 1 },
			{ ev->payload->name, strlen(ev->payload->name) },
		};

		id = mp_event_find(pieces, sizeof(pieces) / sizeof(pieces[0]));
		if (mp_hooks_fire(id, ev) != MP_HANDLED)
			mp_reply_error(ev, &mp_err_service_unavailable);
		return;
	}
	mp_hooks_fire(ev_ids[k][t], ev);
}

/* Fills the event from a stanza whose 'from' is trusted; 0, or -1 and replied. */
static int
router_prepare(struct mp_event *ev, struct mp_node *st, struct mp_arena *a,
    enum kind *k_r)
{
	const char *to = mp_node_attr(st, "to"), *err;

	ev->arena = a;
	ev->stanza = st;
	/* Until 'to' is known to be good, errors come from the server. */
	ev->to = (struct mp_jid){ .domain = ev->from.domain };
	ev->type = mp_node_attr(st, "type");
	ev->id = mp_node_attr(st, "id");
	if (kind_of(st, ev->type, k_r) == -1) {
		mp_reply_error(ev, &mp_err_bad_request);
		return -1;
	}
	if (st->name[0] == 'i') {
		/*
		 * RFC 6120 8.2.3: an iq needs an id. A get or set without one
		 * is answered; a result or error without one (such as our
		 * answer to an iq without id) goes through.
		 */
		if (ev->id == NULL && (*k_r == K_IQ_GET || *k_r == K_IQ_SET)) {
			mp_reply_error(ev, &mp_err_bad_request);
			return -1;
		}
		if (*k_r == K_IQ_GET || *k_r == K_IQ_SET) {
			/* RFC 6120 8.2.3: exactly one payload child. */
			ev->payload = mp_node_first_element(st);
			if (ev->payload == NULL ||
			    mp_node_next_element(ev->payload) != NULL) {
				mp_reply_error(ev, &mp_err_bad_request);
				return -1;
			}
		}
	}
	if (to == NULL) {
		ev->to = ev->from;
		ev->to.resource = NULL;
		if (ev->from.local == NULL)
			ev->to.domain = ev->from.domain;
		return 0;
	}
	if (mp_jid_parse(a, to, &ev->to, &err) == -1) {
		struct mp_node *r;

		/* RFC 6120 8.2.3, 8.3.1: results and errors get no answer. */
		if (*k_r == K_IQ_RESULT || *k_r == K_IQ_ERROR ||
		    (ev->type != NULL && strcmp(ev->type, "error") == 0))
			return -1;
		r = mp_error_reply_new(a, st, &mp_err_jid_malformed);
		mp_node_set_attr(a, r, "from", ev->from.domain);
		mp_node_set_attr(a, r, "to", mp_jid_full(a, &ev->from));
		mp_route(r);
		return -1;
	}
	/* Route the prepared form onward. */
	mp_node_set_attr(a, st, "to", mp_jid_full(a, &ev->to));
	return 0;
}

void
mp_router_from_session(struct mp_session *s, struct mp_node *st,
    struct mp_arena *a)
{
	struct mp_event ev = { .session = s, .from = s->jid };
	enum kind k;

	/* RFC 6120 8.1.2.1: the server stamps the sender's full JID. */
	mp_node_set_attr(a, st, "from", s->full);
	if (router_prepare(&ev, st, a, &k) == -1)
		return;
	if (k == K_PRESENCE && mp_node_attr(st, "to") == NULL) {
		if (mp_hooks_fire(ev_policy, &ev) != MP_HANDLED)
			mp_hooks_fire(ev_ids[K_PRESENCE][T_BROADCAST], &ev);
		return;
	}
	router_dispatch(&ev, k);
}

void
mp_route(struct mp_node *st)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_event ev = { 0 };
	const char *from = mp_node_attr(st, "from"), *err;
	enum kind k;

	/* Attributes the router sets must not outlive the caller's arena. */
	st = mp_node_copy(a, st);
	if (from == NULL || mp_jid_parse(a, from, &ev.from, &err) == -1 ||
	    mp_node_attr(st, "to") == NULL) {
		mp_log_warnx("router: server stanza without valid from/to dropped");
		mp_arena_free(a);
		return;
	}
	if (router_prepare(&ev, st, a, &k) == 0)
		router_dispatch(&ev, k);
	mp_arena_free(a);
}

bool
mp_is_local_host(const char *domain)
{
	const struct mp_config *c = mp_srv.conf;

	if (c == NULL || domain == NULL)
		return false;
	for (size_t i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].domain, domain) == 0)
			return true;
	return false;
}
