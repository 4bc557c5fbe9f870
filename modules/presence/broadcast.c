/*
 * broadcast.c - RFC 6121 section 4: available and unavailable presence sent
 * to contacts and the user's own resources, probes on initial presence,
 * directed presence, and unavailable when a session ends.
 */
#include <stdlib.h>
#include <string.h>

#include "pending.h"
#include "presence.h"

/* Directed presence remembered per session; beyond this the oldest goes. */
#define PRESENCE_DIRECTED_MAX	128

static void
broadcast_sess_free(void *p)
{
	struct presence_sess *ps = p;

	for (size_t i = 0; i < ps->ndirected; i++)
		free(ps->directed[i]);
	free(ps->directed);
	free(ps->last);
	free(ps);
}

struct presence_sess *
presence_sess_get(struct mp_session *s, bool create)
{
	struct presence_sess *ps = mp_session_get(s, presence_mc);

	if (ps == NULL && create) {
		ps = mp_xcalloc(1, sizeof(*ps));
		mp_session_set(s, presence_mc, ps, broadcast_sess_free);
	}
	return ps;
}

void
presence_route_to(struct mp_arena *a, const struct mp_node *stanza,
    const char *to)
{
	struct mp_node *c = mp_node_copy(a, stanza);

	mp_node_set_attr(a, c, "to", to);
	mp_route(c);
}

int
presence_send_current(struct mp_arena *a, const char *user, const char *to,
    struct mp_session *dest)
{
	struct presence_sess *ps;
	struct mp_node *st;
	int n = 0;

	for (struct mp_session *s = mp_user_sessions(user); s != NULL;
	    s = mp_session_next(s)) {
		if (s == dest || (ps = presence_sess_get(s, false)) == NULL ||
		    ps->last == NULL)
			continue;
		st = mp_xml_parse(a, ps->last, strlen(ps->last), MP_NS_CLIENT);
		if (st == NULL)
			continue;
		n++;
		if (dest != NULL) {
			mp_node_set_attr(a, st, "to",
			    mp_jid_full(a, mp_session_jid(dest)));
			mp_session_send(dest, st);
		} else {
			mp_node_set_attr(a, st, "to", to);
			mp_route(st);
		}
	}
	return n;
}

void
presence_send_unavailable(struct mp_arena *a, const char *user,
    const char *to)
{
	struct mp_node *p;

	for (struct mp_session *s = mp_user_sessions(user); s != NULL;
	    s = mp_session_next(s)) {
		struct presence_sess *ps = presence_sess_get(s, false);

		if (ps == NULL || ps->last == NULL)
			continue;
		p = mp_node_new(a, MP_NS_CLIENT, "presence");
		mp_node_set_attr(a, p, "type", "unavailable");
		mp_node_set_attr(a, p, "from",
		    mp_jid_full(a, mp_session_jid(s)));
		mp_node_set_attr(a, p, "to", to);
		mp_route(p);
	}
}

void
presence_directed(struct mp_session *s, const char *to, bool available)
{
	struct presence_sess *ps = presence_sess_get(s, available);
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->ndirected; i++)
		if (strcmp(ps->directed[i], to) == 0)
			break;
	if (i < ps->ndirected) {
		if (!available) {
			free(ps->directed[i]);
			ps->directed[i] = ps->directed[--ps->ndirected];
		}
		return;
	}
	if (!available)
		return;
	if (ps->ndirected == PRESENCE_DIRECTED_MAX) {
		free(ps->directed[0]);
		memmove(ps->directed, ps->directed + 1,
		    (ps->ndirected - 1) * sizeof(*ps->directed));
		ps->ndirected--;
	}
	if (ps->directed == NULL)
		ps->directed = mp_xcalloc(PRESENCE_DIRECTED_MAX,
		    sizeof(*ps->directed));
	ps->directed[ps->ndirected++] = mp_xstrdup(to);
}

/* The user's contacts, read once per broadcast. */
struct broadcast_contacts {
	struct mp_arena		*a;
	const char		**jid;
	enum mp_subscription	*sub;
	size_t			 n, cap;
};

static void
broadcast_collect(const char *contact, enum mp_subscription sub, void *arg)
{
	struct broadcast_contacts *bc = arg;

	if (sub == MP_SUB_NONE)
		return;
	if (bc->n == bc->cap) {
		size_t cap = bc->cap ? bc->cap * 2 : 32;
		const char **j = mp_arena_alloc(bc->a, cap * sizeof(*j));
		enum mp_subscription *s = mp_arena_alloc(bc->a,
		    cap * sizeof(*s));

		if (bc->n > 0) {
			memcpy(j, bc->jid, bc->n * sizeof(*j));
			memcpy(s, bc->sub, bc->n * sizeof(*s));
		}
		bc->jid = j;
		bc->sub = s;
		bc->cap = cap;
	}
	bc->jid[bc->n] = mp_arena_strdup(bc->a, contact);
	bc->sub[bc->n++] = sub;
}

static bool
broadcast_has_from(enum mp_subscription s)
{
	return s == MP_SUB_FROM || s == MP_SUB_BOTH;
}

/* Whether a directed presence target already got the broadcast. */
static bool
broadcast_covered(struct mp_arena *a, const struct broadcast_contacts *bc,
    const char *user, const char *target)
{
	struct mp_jid j;
	const char *err, *bare;

	if (mp_jid_parse(a, target, &j, &err) == -1)
		return true;
	bare = mp_jid_bare(a, &j);
	if (strcmp(bare, user) == 0)
		return true;
	for (size_t i = 0; i < bc->n; i++)
		if (broadcast_has_from(bc->sub[i]) &&
		    strcmp(bc->jid[i], bare) == 0)
			return true;
	return false;
}

/* RFC 6121 4.2.2 and 4.4.2: to contacts with 'from' and to the user. */
static void
broadcast_send(struct mp_arena *a, const struct mp_node *st,
    const char *user, const struct broadcast_contacts *bc)
{
	for (size_t i = 0; i < bc->n; i++)
		if (broadcast_has_from(bc->sub[i]))
			presence_route_to(a, st, bc->jid[i]);
	presence_route_to(a, st, user);
}

static void
broadcast_pending(const char *contact, struct mp_node *st, void *arg)
{
	struct mp_session *s = arg;
	const struct mp_jid *jid = mp_session_jid(s);
	struct mp_arena *a = mp_arena_new();
	const char *user = mp_jid_bare(a, jid);
	struct mp_roster_state rs;

	switch (presence_roster->state(user, contact, &rs)) {
	case -1:
		break;
	case 0:
		/* Answered or withdrawn meanwhile: forget it. */
		pending_drop(user, contact);
		break;
	default:
		if (rs.pending_in)
			mp_session_send(s, st);
		else
			pending_drop(user, contact);
	}
	mp_arena_free(a);
}

/* Initial presence: probes (RFC 6121 4.3) and requests waiting (3.1.3). */
static void
broadcast_initial(struct mp_event *ev, const char *user,
    const struct broadcast_contacts *bc)
{
	struct mp_node *probe;

	for (size_t i = 0; i < bc->n; i++) {
		const char *at = strchr(bc->jid[i], '@');
		const char *domain = at != NULL ? at + 1 : bc->jid[i];

		if (bc->sub[i] != MP_SUB_TO && bc->sub[i] != MP_SUB_BOTH)
			continue;
		if (mp_is_local_host(domain)) {
			/* A local contact's presence is known here. */
			presence_send_current(ev->arena, bc->jid[i], NULL,
			    ev->session);
			continue;
		}
		probe = mp_node_new(ev->arena, MP_NS_CLIENT, "presence");
		mp_node_set_attr(ev->arena, probe, "type", "probe");
		mp_node_set_attr(ev->arena, probe, "from", user);
		mp_node_set_attr(ev->arena, probe, "to", bc->jid[i]);
		mp_route(probe);
	}
	/* The user's other resources, as a contact's would be. */
	presence_send_current(ev->arena, user, NULL, ev->session);
	pending_foreach(user, ev->arena, broadcast_pending, ev->session);
}

static void
broadcast_unavailable(struct mp_arena *a, struct presence_sess *ps,
    const struct mp_node *st, const char *user)
{
	struct broadcast_contacts bc = { .a = a };

	if (ps->last != NULL) {
		presence_roster->foreach(user, broadcast_collect, &bc);
		broadcast_send(a, st, user, &bc);
	}
	/* RFC 6121 4.6.3: directed presence is ended too. */
	for (size_t i = 0; i < ps->ndirected; i++) {
		if (ps->last == NULL ||
		    !broadcast_covered(a, &bc, user, ps->directed[i]))
			presence_route_to(a, st, ps->directed[i]);
		free(ps->directed[i]);
	}
	ps->ndirected = 0;
	free(ps->last);
	ps->last = NULL;
}

enum mp_verdict
presence_broadcast(struct mp_event *ev, void *arg)
{
	struct broadcast_contacts bc = { .a = ev->arena };
	const char *user = mp_jid_bare(ev->arena, &ev->from);
	struct presence_sess *ps;
	struct mp_buf b = MP_BUF_INIT;
	bool initial;

	if (ev->session == NULL)
		return MP_HANDLED;
	if (ev->type != NULL && strcmp(ev->type, "unavailable") == 0) {
		if ((ps = presence_sess_get(ev->session, false)) != NULL)
			broadcast_unavailable(ev->arena, ps, ev->stanza, user);
		return MP_HANDLED;
	}
	/* Probes, subscriptions and errors need a 'to'. */
	if (ev->type != NULL)
		return MP_HANDLED;
	ps = presence_sess_get(ev->session, true);
	initial = ps->last == NULL;
	mp_xml_serialize(&b, ev->stanza, MP_NS_CLIENT);
	free(ps->last);
	ps->last = mp_xstrdup(b.data);
	mp_buf_free(&b);
	if (presence_roster->foreach(user, broadcast_collect, &bc) == -1)
		mp_log_warnx("presence: %s: roster unavailable", user);
	broadcast_send(ev->arena, ev->stanza, user, &bc);
	if (initial)
		broadcast_initial(ev, user, &bc);
	return MP_HANDLED;
}

/* RFC 6121 4.5.2 / 4.6.3: however the session ended. */
enum mp_verdict
presence_closed(struct mp_event *ev, void *arg)
{
	struct presence_sess *ps;
	struct mp_node *p;

	if (ev->session == NULL ||
	    (ps = presence_sess_get(ev->session, false)) == NULL ||
	    (ps->last == NULL && ps->ndirected == 0))
		return MP_PASS;
	p = mp_node_new(ev->arena, MP_NS_CLIENT, "presence");
	mp_node_set_attr(ev->arena, p, "type", "unavailable");
	mp_node_set_attr(ev->arena, p, "from", mp_jid_full(ev->arena, &ev->from));
	broadcast_unavailable(ev->arena, ps, p, mp_jid_bare(ev->arena,
	    &ev->from));
	return MP_PASS;
}

void
presence_probe(struct mp_event *ev)
{
	const char *prober, *contact;
	struct mp_roster_state rs;
	struct mp_node *p;

	if (ev->from.local == NULL)
		return;
	prober = mp_jid_full(ev->arena, &ev->from);
	contact = mp_jid_bare(ev->arena, &ev->to);
	/*
	 * RFC 6121 4.3.2: only a contact with a subscription learns
	 * anything; others get no answer, so nothing leaks and no state is
	 * changed by a probe.
	 */
	if (presence_roster->state(contact, mp_jid_bare(ev->arena, &ev->from),
	    &rs) != 1 || (rs.sub != MP_SUB_FROM && rs.sub != MP_SUB_BOTH))
		return;
	if (presence_send_current(ev->arena, contact, prober, NULL) > 0)
		return;
	p = mp_node_new(ev->arena, MP_NS_CLIENT, "presence");
	mp_node_set_attr(ev->arena, p, "type", "unavailable");
	mp_node_set_attr(ev->arena, p, "from", contact);
	mp_node_set_attr(ev->arena, p, "to", prober);
	mp_route(p);
}
