/*
 * mod_carbons.c - XEP-0280 Message Carbons: copies the one-to-one messages
 * a user sends and receives to the user's other carbons-enabled resources.
 */
#include <string.h>

#include <magpie/module.h>

#define NS_CARBONS	"urn:xmpp:carbons:2"
#define NS_FORWARD	"urn:xmpp:forward:0"
#define NS_HINTS	"urn:xmpp:hints"
#define NS_RECEIPTS	"urn:xmpp:receipts"
#define NS_CHATSTATES	"http://jabber.org/protocol/chatstates"
#define NS_MARKERS	"urn:xmpp:chat-markers:0"
#define NS_CONFERENCE	"jabber:x:conference"
#define NS_MUC_USER	"http://jabber.org/protocol/muc#user"

static struct mp_module_ctx *carbons_mc;

/* Module data of a session that enabled carbons: its address is the flag. */
static char carbons_enabled;

enum carbons_dir {
	CARBONS_SENT,
	CARBONS_RECEIVED,
};

static bool
carbons_is(const char *value, const char *what)
{
	return value != NULL && strcmp(value, what) == 0;
}

static bool
carbons_on(const struct mp_session *s)
{
	return mp_session_get(s, carbons_mc) != NULL;
}

/* Whether any child element of the message is in namespace ns. */
static bool
carbons_has_ns(const struct mp_node *msg, const char *ns)
{
	return mp_node_child(msg, ns, NULL) != NULL;
}

/*
 * The eligibility rules of XEP-0280 section 6 (version 1.0), seen from
 * the side that copies: what a user's other clients need to follow a
 * conversation. Error replies would need tracking of what was copied
 * (the XEP itself calls that unlikely to be appropriate), headlines are
 * not conversations, and groupchat messages reach every joined client
 * from the room itself.
 */
static bool
carbons_eligible(const struct mp_event *ev, enum carbons_dir dir)
{
	const struct mp_node *msg = ev->stanza, *x;
	const char *type = ev->type;

	if (strcmp(msg->name, "message") != 0 ||
	    carbons_is(type, "error") || carbons_is(type, "groupchat") ||
	    carbons_is(type, "headline"))
		return false;
	/* Section 9 and XEP-0334: the sender opted out of copies. */
	if (mp_node_child(msg, NS_CARBONS, "private") != NULL ||
	    mp_node_child(msg, NS_HINTS, "no-copy") != NULL)
		return false;
	/* A carbon (or something posing as one) is never copied again. */
	if (mp_node_child(msg, NS_CARBONS, "sent") != NULL ||
	    mp_node_child(msg, NS_CARBONS, "received") != NULL)
		return false;
	/* Invitations to a room, direct (XEP-0249) or mediated (XEP-0045). */
	if (mp_node_child(msg, NS_CONFERENCE, "x") != NULL)
		return true;
	x = mp_node_child(msg, NS_MUC_USER, "x");
	if (x != NULL && mp_node_child(x, NS_MUC_USER, "invite") != NULL)
		return true;
	/*
	 * A private message from a room occupant already reaches every
	 * client of the user joined to the room; one the user sends to an
	 * occupant is copied like any chat.
	 */
	if (x != NULL && dir == CARBONS_RECEIVED)
		return false;
	if (carbons_is(type, "chat"))
		return true;
	/* Type normal (or none): with a body, or an IM payload. */
	if (type != NULL && strcmp(type, "normal") != 0)
		return false;
	return mp_node_child(msg, MP_NS_CLIENT, "body") != NULL ||
	    carbons_has_ns(msg, NS_RECEIPTS) ||
	    carbons_has_ns(msg, NS_CHATSTATES) ||
	    carbons_has_ns(msg, NS_MARKERS);
}

/*
 * The wrapper of a copy: from the user's bare JID, the original's type,
 * the original forwarded inside. 'to' is set per recipient.
 */
static struct mp_node *
carbons_wrap(struct mp_event *ev, const char *bare, enum carbons_dir dir)
{
	struct mp_arena *a = ev->arena;
	struct mp_node *m, *w, *f;

	m = mp_node_new(a, MP_NS_CLIENT, "message");
	mp_node_set_attr(a, m, "from", bare);
	if (ev->type != NULL)
		mp_node_set_attr(a, m, "type", ev->type);
	w = mp_node_add(a, m, NS_CARBONS,
	    dir == CARBONS_SENT ? "sent" : "received");
	f = mp_node_add(a, w, NS_FORWARD, "forwarded");
	mp_node_append(f, mp_node_copy(a, ev->stanza));
	return m;
}

/*
 * Sends the copy to every carbons-enabled available resource of bare
 * except skip (the sender's session) and those for which gets_original
 * says the router delivers the original. The copies go straight to the
 * user's own sessions: policy hooks have already passed the original.
 */
static void
carbons_copy(struct mp_event *ev, const char *bare, enum carbons_dir dir,
    const struct mp_session *skip,
    bool (*gets_original)(const struct mp_session *, const void *),
    const void *arg)
{
	struct mp_session *s;
	struct mp_node *m = NULL;

	for (s = mp_user_sessions(bare); s != NULL; s = mp_session_next(s)) {
		if (s == skip || !mp_session_bound(s) ||
		    !mp_session_available(s) || !carbons_on(s))
			continue;
		if (gets_original != NULL && gets_original(s, arg))
			continue;
		if (m == NULL)
			m = carbons_wrap(ev, bare, dir);
		mp_node_set_attr(ev->arena, m, "to",
		    mp_jid_full(ev->arena, mp_session_jid(s)));
		mp_session_send(s, m);
	}
}

/*
 * XEP-0280 section 9: the receiving server removes <private/> before
 * delivery (the sending side already decided not to copy).
 */
static void
carbons_strip_private(struct mp_event *ev)
{
	struct mp_node *c, *next;

	for (c = mp_node_first_element(ev->stanza); c != NULL; c = next) {
		next = mp_node_next_element(c);
		if (strcmp(c->xmlns, NS_CARBONS) == 0 &&
		    strcmp(c->name, "private") == 0)
			mp_node_remove(c);
	}
}

/* Whether the router's delivery to a local recipient would reach it. */
static bool
carbons_recipient_exists(struct mp_event *ev)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->to);

	if (mp_user_sessions(bare) != NULL)
		return true;
	return mp_user_exists(ev->to.domain, ev->to.local) == 1;
}

/*
 * Section 8, sent messages: fired before the message is routed, after the
 * policy handlers of higher priority (blocking) let it pass. A message a
 * user sends to their own account is copied by the receiving side only,
 * so that each resource gets one copy.
 */
static enum mp_verdict
carbons_sent(struct mp_event *ev, void *arg)
{
	const char *bare;
	struct mp_session *s;
	bool any = false;

	if (ev->session == NULL || ev->from.local == NULL ||
	    ev->to.domain == NULL || ev->to.local == NULL ||
	    mp_jid_bare_eq(&ev->from, &ev->to) ||
	    !carbons_eligible(ev, CARBONS_SENT))
		return MP_PASS;
	bare = mp_jid_bare(ev->arena, &ev->from);
	for (s = mp_user_sessions(bare); s != NULL && !any;
	    s = mp_session_next(s))
		any = s != ev->session && carbons_on(s);
	if (!any)
		return MP_PASS;
	/* A message the router will bounce (no such user) was not sent. */
	if (mp_is_local_host(ev->to.domain) && !carbons_recipient_exists(ev))
		return MP_PASS;
	carbons_copy(ev, bare, CARBONS_SENT, ev->session, NULL, NULL);
	return MP_PASS;
}

/* RFC 6121 8.5.2.1.1 as the router applies it: top non-negative priority. */
static bool
carbons_gets_bare(const struct mp_session *s, const void *arg)
{
	const int *best = arg;

	return *best >= 0 && mp_session_priority(s) == *best;
}

/* Section 7 for a message to a bare JID (another user's or one's own). */
static enum mp_verdict
carbons_received_bare(struct mp_event *ev, void *arg)
{
	struct mp_session *s;
	const char *bare;
	int best = -1;

	if (carbons_eligible(ev, CARBONS_RECEIVED)) {
		bare = mp_jid_bare(ev->arena, &ev->to);
		for (s = mp_user_sessions(bare); s != NULL;
		    s = mp_session_next(s))
			if (mp_session_bound(s) && mp_session_available(s) &&
			    mp_session_priority(s) >= 0 &&
			    mp_session_priority(s) > best)
				best = mp_session_priority(s);
		carbons_copy(ev, bare, CARBONS_RECEIVED, ev->session,
		    carbons_gets_bare, &best);
	}
	carbons_strip_private(ev);
	return MP_PASS;
}

static bool
carbons_gets_full(const struct mp_session *s, const void *arg)
{
	return s == arg;
}

/* Section 7 for a message to a full JID. */
static enum mp_verdict
carbons_received_full(struct mp_event *ev, void *arg)
{
	struct mp_session *target = mp_session_find(&ev->to);

	/*
	 * No such resource: the router hands chat and normal messages to
	 * "message/bare", which copies then.
	 */
	if (target == NULL)
		return MP_PASS;
	if (carbons_eligible(ev, CARBONS_RECEIVED))
		carbons_copy(ev, mp_jid_bare(ev->arena, &ev->to),
		    CARBONS_RECEIVED, ev->session, carbons_gets_full, target);
	carbons_strip_private(ev);
	return MP_PASS;
}

/* Sections 4 and 5; repeating either is not an error (section 10.1). */
static enum mp_verdict
carbons_set(struct mp_event *ev, bool on)
{
	if (ev->session == NULL || !mp_session_bound(ev->session)) {
		mp_reply_error(ev, &mp_err_not_allowed);
		return MP_HANDLED;
	}
	mp_session_set(ev->session, carbons_mc, on ? &carbons_enabled : NULL,
	    NULL);
	mp_reply_result(ev);
	return MP_HANDLED;
}

static enum mp_verdict
carbons_enable(struct mp_event *ev, void *arg)
{
	return carbons_set(ev, true);
}

static enum mp_verdict
carbons_disable(struct mp_event *ev, void *arg)
{
	return carbons_set(ev, false);
}

static int
carbons_load(struct mp_module_ctx *mc, const void *conf,
    const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-set/self/" NS_CARBONS ":enable", carbons_enable,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" NS_CARBONS ":disable", carbons_disable,
		    MP_PRIO_NORMAL },
		/* After the policy handlers: a blocked message is not sent. */
		{ "stanza/policy", carbons_sent, MP_PRIO_NORMAL },
		{ "message/bare", carbons_received_bare, MP_PRIO_NORMAL },
		{ "message/self", carbons_received_bare, MP_PRIO_NORMAL },
		{ "message/full", carbons_received_full, MP_PRIO_NORMAL },
	};

	carbons_mc = mc;
	mp_add_feature(mc, NS_CARBONS);
	return mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]),
	    error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "carbons",
	.load = carbons_load,
};
