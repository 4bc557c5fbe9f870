/* c2s.c - the client stream state machine: header, STARTTLS, SASL, bind, then stanzas to the router. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <magpie/module.h>

#include "c2s.h"
#include "config.h"
#include "conn.h"
#include "hooks.h"
#include "iplimits.h"
#include "router.h"
#include "sasl.h"
#include "server.h"
#include "session.h"
#include "xmlstream.h"

#define NS_XMPP_ERRORS	"urn:xmpp:errors"
#define NS_PING		"urn:xmpp:ping"


static void c2s_read(void *, const char *, size_t);
static void c2s_tls_ready(void *);
static void c2s_closed(void *, const char *);
static void c2s_header(void *, const struct mp_stream_header *);
static void c2s_stanza(void *, struct mp_node *, struct mp_arena *);
static void c2s_end(void *);
static void c2s_xs_error(void *, enum mp_xs_error, const char *);
static void c2s_timer(evutil_socket_t, short, void *);
static void c2s_destroy(struct mp_session *);

static const struct mp_conn_cbs c2s_conn_cbs = {
	.read = c2s_read,
	.tls_ready = c2s_tls_ready,
	.closed = c2s_closed,
};

static const struct mp_xmlstream_cbs c2s_xs_cbs = {
	.header = c2s_header,
	.stanza = c2s_stanza,
	.end = c2s_end,
	.error = c2s_xs_error,
};


static struct mp_buf c2s_out;	/* reused for every serialization */

static long
c2s_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

static const struct mp_c2s_conf *
c2s_conf(void)
{
	return &mp_srv.conf->c2s;
}

static void
c2s_arm(struct mp_session *s, long seconds)
{
	struct timeval tv = { seconds > 0 ? seconds : 1, 0 };

	evtimer_add(s->timer, &tv);
}

void
mp_c2s_write(struct mp_session *s, const char *str)
{
	if (s->conn != NULL)
		mp_conn_write(s->conn, str, strlen(str));
}

static void
c2s_write_node(struct mp_session *s, const struct mp_node *n,
    const char *parent_ns)
{
	if (s->conn == NULL)
		return;
	mp_buf_reset(&c2s_out);
	mp_xml_serialize(&c2s_out, n, parent_ns);
	mp_conn_write(s->conn, c2s_out.data, c2s_out.len);
}

void
mp_c2s_send(struct mp_session *s, const struct mp_node *stanza)
{
	if (s->state != C2S_BOUND)
		return;
	mp_buf_reset(&c2s_out);
	mp_xml_serialize(&c2s_out, stanza, MP_NS_CLIENT);
	if (mp_c2s_csi_hold(s, stanza, c2s_out.data, c2s_out.len))
		return;
	mp_c2s_emit(s, c2s_out.data, c2s_out.len,
	    strcmp(stanza->name, "message") == 0);
}

void
mp_c2s_emit(struct mp_session *s, const char *data, size_t len, bool message)
{
	if (s->conn != NULL)
		mp_conn_write(s->conn, data, len);
	/* Kept until acknowledged (XEP-0198), also while hibernating. */
	if (s->sm != NULL)
		mp_c2s_sm_sent(s, data, len, message);
}

static const char *
c2s_default_host(void)
{
	return mp_srv.conf->hosts[0].domain;
}

static void
c2s_send_header(struct mp_session *s, const char *to)
{
	struct mp_buf b = MP_BUF_INIT;
	unsigned char rnd[8];

	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(s->stream_id + 2 * i, 3, "%02x", rnd[i]);
	mp_buf_puts(&b, "<?xml version='1.0'?><stream:stream xmlns='"
	    MP_NS_CLIENT "' xmlns:stream='" MP_NS_STREAMS "' id='");
	mp_buf_puts(&b, s->stream_id);
	mp_buf_puts(&b, "' from='");
	mp_xml_escape(&b, s->host ? s->host : c2s_default_host(),
	    strlen(s->host ? s->host : c2s_default_host()), true);
	if (to != NULL) {
		mp_buf_puts(&b, "' to='");
		mp_xml_escape(&b, to, strlen(to), true);
	}
	mp_buf_puts(&b, "' version='1.0' xml:lang='en'>");
	mp_conn_write(s->conn, b.data, b.len);
	mp_buf_free(&b);
	s->header_sent = true;
}

/* Ends the stream with an RFC 6120 4.9 error; the connection closes after it. */
void
mp_c2s_stream_error(struct mp_session *s, const char *cond, const char *app_ns,
    const char *app_name, const char *text)
{
	struct mp_buf b = MP_BUF_INIT;

	if (s->state == C2S_CLOSING)
		return;
	if (s->conn == NULL) {
		/* Hibernating (XEP-0198): no stream to end, just the session. */
		c2s_destroy(s);
		return;
	}
	if (!s->header_sent)
		c2s_send_header(s, NULL);
	mp_buf_printf(&b, "<stream:error><%s xmlns='" MP_NS_XSTREAMS "'/>",
	    cond);
	if (text != NULL) {
		mp_buf_puts(&b, "<text xmlns='" MP_NS_XSTREAMS
		    "' xml:lang='en'>");
		mp_xml_escape(&b, text, strlen(text), false);
		mp_buf_puts(&b, "</text>");
	}
	if (app_ns != NULL)
		mp_buf_printf(&b, "<%s xmlns='%s'/>", app_name, app_ns);
	mp_buf_puts(&b, "</stream:error></stream:stream>");
	mp_conn_write(s->conn, b.data, b.len);
	mp_buf_free(&b);
	mp_log_info("%s: %s stream error %s%s%s", mp_conn_peer(s->conn),
	    s->full ? s->full : "-", cond, text ? ": " : "", text ? text : "");
	s->state = C2S_CLOSING;
	mp_sessions_unbind(s);
	mp_conn_close(s->conn, cond);
}

void
mp_c2s_accept(int fd, const struct sockaddr *peer, bool direct_tls)
{
	struct mp_session *s = mp_xcalloc(1, sizeof(*s));
	const char *err;

	s->state = C2S_CONNECTED;
	s->direct_tls = direct_tls;
	s->tls_required = mp_srv.conf->tls.required;
	s->last_read = c2s_now();
	s->conn = mp_conn_new(fd, peer, &c2s_conn_cbs, s);
	s->xs = mp_xmlstream_new(&c2s_xs_cbs, s);
	mp_xmlstream_set_limits(s->xs, c2s_conf()->max_stanza_size_preauth,
	    c2s_conf()->max_depth);
	s->timer = evtimer_new(mp_srv.base, c2s_timer, s);
	mp_sessions_link(s);
	c2s_arm(s, c2s_conf()->preauth_timeout);
	mp_log_debug("%s: connected%s", mp_conn_peer(s->conn),
	    direct_tls ? " (direct TLS)" : "");
	if (mp_limits_connect(&mp_srv.conf->limits, mp_conn_ip(s->conn),
	    &err) == -1) {
		mp_log_info("%s: refused: %s", mp_conn_peer(s->conn), err);
		if (direct_tls) {
			/* No TLS yet, so no stream to carry an error. */
			s->state = C2S_CLOSING;
			mp_conn_close(s->conn, "connection limit");
		} else
			mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
			    err);
		return;
	}
	s->counted = true;
	snprintf(s->ip, sizeof(s->ip), "%s", mp_conn_ip(s->conn));
	if (direct_tls && mp_conn_start_tls(s->conn, &err) == -1) {
		mp_log_warnx("%s: TLS: %s", mp_conn_peer(s->conn), err);
		s->state = C2S_CLOSING;
		mp_conn_close(s->conn, "TLS unavailable");
	}
}

/*
 * Streams that read nothing for this long give their parser back
 * (mp_xmlstream_trim): most sessions are idle most of the time.
 */
#define C2S_TRIM_SECONDS	2

static struct event *c2s_trim_ev;

static void
c2s_trim(evutil_socket_t fd, short what, void *arg)
{
	struct mp_session *s;
	long now = c2s_now();

	for (s = mp_sessions_all(); s != NULL; s = s->next_all)
		if (now - s->last_read >= C2S_TRIM_SECONDS) {
			if (s->xs != NULL)
				mp_xmlstream_trim(s->xs);
			if (s->conn != NULL)
				mp_conn_trim(s->conn);
		}
}

void
mp_c2s_init(void)
{
	struct timeval tv = { C2S_TRIM_SECONDS, 0 };

	c2s_trim_ev = event_new(mp_srv.base, -1, EV_PERSIST, c2s_trim, NULL);
	event_add(c2s_trim_ev, &tv);
}

static void
c2s_destroy(struct mp_session *s)
{
	if (s->full != NULL) {
		struct mp_arena *a = mp_arena_new();
		struct mp_event ev = { .arena = a, .session = s,
		    .from = s->jid };

		mp_sessions_unbind(s);
		/* Unacknowledged messages go elsewhere before presence ends. */
		mp_c2s_sm_free(s);
		mp_hooks_fire_name("session-closed", &ev);
		mp_arena_free(a);
	}
	mp_c2s_csi_free(s);
	mp_c2s_sm_free(s);
	mp_session_data_free(s);
	if (s->counted)
		mp_c2s_uncount(s);
	mp_sessions_unlink(s);
	event_free(s->timer);
	mp_xmlstream_free(s->xs);
	mp_sasl_free(s->sasl);
	free(s->sasl_ctx);
	mp_conn_free(s->conn);
	free(s->host);
	free(s->user);
	free((char *)s->jid.resource);
	free(s->full);
	free(s->bare);
	free(s);
}

static void
c2s_closed(void *ctx, const char *why)
{
	struct mp_session *s = ctx;

	if (mp_c2s_sm_hibernate(s))
		return;
	mp_log_info("%s: %s disconnected: %s", mp_conn_peer(s->conn),
	    s->full ? s->full : "-", why);
	c2s_destroy(s);
}

static void
c2s_tls_ready(void *ctx)
{
	/* The client opens a new stream over TLS; the parser is already fresh. */
}

static void
c2s_read(void *ctx, const char *data, size_t len)
{
	struct mp_session *s = ctx;
	size_t n;

	s->last_read = c2s_now();
	s->ping_pending = false;
	while (len > 0 && s->state != C2S_CLOSING) {
		n = mp_xmlstream_feed(s->xs, data, len);
		if (s->moved_to != NULL) {
			/* Resumed: the rest of this read is the old session's. */
			struct mp_session *o = s->moved_to;

			c2s_destroy(s);
			c2s_read(o, data + n, len - n);
			return;
		}
		if (s->restart) {
			s->restart = false;
			mp_xmlstream_reset(s->xs);
			mp_xmlstream_set_limits(s->xs, s->state >= C2S_AUTHENTICATED ?
			    c2s_conf()->max_stanza_size :
			    c2s_conf()->max_stanza_size_preauth,
			    c2s_conf()->max_depth);
			if (s->discard_rest) {
				/* Nothing sent in the clear after <starttls/> counts. */
				s->discard_rest = false;
				return;
			}
		} else if (n < len)
			return;	/* an error was reported */
		data += n;
		len -= n;
	}
}

static bool
c2s_is_tls(struct mp_session *s)
{
	return mp_conn_is_tls(s->conn);
}


static void
c2s_send_features(struct mp_session *s)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_node *f = mp_node_new(a, MP_NS_STREAMS, "features"), *n, *c;
	struct mp_event ev = { .arena = a, .stanza = f, .session = s };

	if (s->state == C2S_OPEN) {
		if (!c2s_is_tls(s)) {
			n = mp_node_add(a, f, MP_NS_TLS, "starttls");
			if (s->tls_required)
				mp_node_add(a, n, NULL, "required");
		}
		if (c2s_is_tls(s) || !s->tls_required)
			mp_c2s_sasl_features(s, a, f);
	} else {
		mp_node_add(a, f, MP_NS_BIND, "bind");
		n = mp_node_add(a, f, MP_NS_SESSION, "session");
		mp_node_add(a, n, NULL, "optional");
		mp_node_add(a, f, "urn:xmpp:sm:3", "sm");
		mp_node_add(a, f, "urn:xmpp:csi:0", "csi");
	}
	/* Modules add theirs (e.g. in-band registration before auth). */
	if (c2s_is_tls(s) || !s->tls_required)
		mp_hooks_fire_name("stream-features", &ev);
	/* Written with the stream: prefix the stream header declared. */
	mp_buf_reset(&c2s_out);
	mp_buf_puts(&c2s_out, "<stream:features>");
	for (c = f->children; c != NULL; c = c->next)
		mp_xml_serialize(&c2s_out, c, MP_NS_CLIENT);
	mp_buf_puts(&c2s_out, "</stream:features>");
	mp_conn_write(s->conn, c2s_out.data, c2s_out.len);
	mp_arena_free(a);
}

static void
c2s_header(void *ctx, const struct mp_stream_header *h)
{
	struct mp_session *s = ctx;
	struct mp_arena *a;
	const char *host, *err;

	if (s->state == C2S_CLOSING)
		return;
	if (h->ns == NULL || strcmp(h->ns, MP_NS_STREAMS) != 0 ||
	    strcmp(h->name, "stream") != 0 || h->default_ns == NULL ||
	    strcmp(h->default_ns, MP_NS_CLIENT) != 0) {
		mp_c2s_stream_error(s, "invalid-namespace", NULL, NULL, NULL);
		return;
	}
	if (h->to == NULL) {
		mp_c2s_stream_error(s, "improper-addressing", NULL, NULL,
		    "The stream header needs a 'to' address");
		return;
	}
	a = mp_arena_new();
	if (mp_jid_prep_domain(a, h->to, strlen(h->to), &host, &err) == -1 ||
	    !mp_is_local_host(host) ||
	    (s->host != NULL && strcmp(s->host, host) != 0)) {
		mp_arena_free(a);
		mp_c2s_stream_error(s, "host-unknown", NULL, NULL, NULL);
		return;
	}
	if (s->host == NULL)
		s->host = mp_xstrdup(host);
	mp_arena_free(a);
	c2s_send_header(s, h->from);
	if (h->version == NULL || strtol(h->version, NULL, 10) < 1) {
		mp_c2s_stream_error(s, "unsupported-version", NULL, NULL, NULL);
		return;
	}
	if (s->state == C2S_CONNECTED)
		s->state = C2S_OPEN;
	c2s_send_features(s);
}

static void
c2s_end(void *ctx)
{
	struct mp_session *s = ctx;

	if (s->state == C2S_CLOSING)
		return;
	mp_c2s_write(s, "</stream:stream>");
	s->state = C2S_CLOSING;
	mp_sessions_unbind(s);
	mp_conn_close(s->conn, "stream closed by client");
}

static void
c2s_xs_error(void *ctx, enum mp_xs_error err, const char *detail)
{
	struct mp_session *s = ctx;

	switch (err) {
	case MP_XS_RESTRICTED_XML:
		mp_c2s_stream_error(s, "restricted-xml", NULL, NULL, detail);
		break;
	case MP_XS_BAD_FORMAT:
		mp_c2s_stream_error(s, "bad-format", NULL, NULL, detail);
		break;
	case MP_XS_INVALID_NAMESPACE:
		mp_c2s_stream_error(s, "invalid-namespace", NULL, NULL, detail);
		break;
	case MP_XS_BAD_NAMESPACE_PREFIX:
		mp_c2s_stream_error(s, "bad-namespace-prefix", NULL, NULL, detail);
		break;
	case MP_XS_TOO_BIG:
		mp_c2s_stream_error(s, "policy-violation", NS_XMPP_ERRORS,
		    "stanza-too-big", detail);
		break;
	case MP_XS_TOO_DEEP:
		mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
		    detail ? detail : "Elements nested too deeply");
		break;
	case MP_XS_UNSUPPORTED_ENCODING:
		mp_c2s_stream_error(s, "unsupported-encoding", NULL, NULL, detail);
		break;
	case MP_XS_NOT_WELL_FORMED:
	default:
		mp_c2s_stream_error(s, "not-well-formed", NULL, NULL, detail);
		break;
	}
}

static void
c2s_starttls(struct mp_session *s, struct mp_node *st)
{
	const char *err;

	if (s->state != C2S_OPEN || c2s_is_tls(s)) {
		mp_c2s_write(s, "<failure xmlns='" MP_NS_TLS "'/></stream:stream>");
		s->state = C2S_CLOSING;
		mp_conn_close(s->conn, "bad STARTTLS");
		return;
	}
	mp_c2s_write(s, "<proceed xmlns='" MP_NS_TLS "'/>");
	if (mp_conn_start_tls(s->conn, &err) == -1) {
		mp_log_warnx("%s: TLS: %s", mp_conn_peer(s->conn), err);
		s->state = C2S_CLOSING;
		mp_conn_close(s->conn, "TLS unavailable");
		return;
	}
	/* RFC 6120 5.4.3.3: a new stream, and nothing pipelined survives. */
	s->header_sent = false;
	s->restart = true;
	s->discard_rest = true;
	mp_xmlstream_stop(s->xs);
}


static void
c2s_iq_error(struct mp_session *s, struct mp_node *iq, struct mp_arena *a,
    const struct mp_error *err)
{
	struct mp_node *r = mp_error_reply_new(a, iq, err);

	mp_node_set_attr(a, r, "from", NULL);
	mp_node_set_attr(a, r, "to", NULL);
	/* Once bound, every stanza goes the counted way (XEP-0198). */
	if (s->state == C2S_BOUND)
		mp_c2s_send(s, r);
	else
		c2s_write_node(s, r, MP_NS_CLIENT);
}

static void
c2s_make_resource(char *buf, size_t size)
{
	unsigned char rnd[6];

	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
	snprintf(buf, size, "magpie-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
	    rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* Whether binding res would pass limits.max_sessions_per_user. */
static bool
c2s_too_many_resources(struct mp_session *s, const char *res,
    struct mp_arena *a)
{
	long max = mp_srv.conf->limits.max_sessions_per_user, n = 0;
	struct mp_session *o;

	if (max <= 0)
		return false;
	for (o = mp_sessions_of(mp_arena_printf(a, "%s@%s", s->user,
	    s->host)); o != NULL; o = o->next_resource)
		if (strcmp(o->jid.resource, res) != 0)	/* replaced, not added */
			n++;
	return n >= max;
}

/* RFC 6120 7: resource binding; an older session with the same JID is replaced. */
static void
c2s_bind(struct mp_session *s, struct mp_node *iq, struct mp_node *bind,
    struct mp_arena *a)
{
	struct mp_node *rn = mp_node_child(bind, MP_NS_BIND, "resource");
	struct mp_node *r, *b;
	struct mp_session *old;
	struct mp_event ev = { .arena = a, .session = s };
	char gen[32];
	const char *res = NULL, *err, *text, *id = mp_node_attr(iq, "id");
	size_t tl;

	text = rn != NULL ? mp_node_text(a, rn) : "";
	tl = strlen(text);
	if (tl == 0) {
		c2s_make_resource(gen, sizeof(gen));
		res = gen;
	} else if (mp_jid_prep_resource(a, text, tl, &res, &err) == -1) {
		c2s_iq_error(s, iq, a, &mp_err_bad_request);
		return;
	}
	if (c2s_too_many_resources(s, res, a)) {
		/* RFC 6120 7.6.2.1: a limit on connected resources. */
		c2s_iq_error(s, iq, a, &mp_err_resource_constraint);
		return;
	}
	s->jid.local = s->user;
	s->jid.domain = s->host;
	s->jid.resource = mp_xstrdup(res);
	s->bare = mp_arena_printf(a, "%s@%s", s->user, s->host);
	s->bare = mp_xstrdup(s->bare);
	s->full = mp_xstrdup(mp_jid_full(a, &s->jid));
	mp_sessions_bind(s, &old);
	if (old != NULL)
		mp_c2s_stream_error(old, "conflict", NULL, NULL,
		    "Replaced by a new connection");
	s->state = C2S_BOUND;
	r = mp_node_new(a, MP_NS_CLIENT, "iq");
	mp_node_set_attr(a, r, "type", "result");
	mp_node_set_attr(a, r, "id", id);
	b = mp_node_add(a, r, MP_NS_BIND, "bind");
	b = mp_node_add(a, b, NULL, "jid");
	mp_node_add_text(a, b, s->full, strlen(s->full));
	c2s_write_node(s, r, MP_NS_CLIENT);
	mp_log_info("%s: bound %s", mp_conn_peer(s->conn), s->full);
	evtimer_del(s->timer);
	c2s_arm(s, c2s_conf()->idle_timeout);
	ev.from = s->jid;
	mp_hooks_fire_name("session-bound", &ev);
}

static void
c2s_presence_state(struct mp_session *s, struct mp_node *st,
    struct mp_arena *a)
{
	const char *type = mp_node_attr(st, "type");
	struct mp_node *p;
	long prio = 0;

	if (mp_node_attr(st, "to") != NULL)
		return;
	if (type == NULL) {
		if ((p = mp_node_child(st, MP_NS_CLIENT, "priority")) != NULL)
			prio = strtol(mp_node_text(a, p), NULL, 10);
		if (prio < -128)
			prio = -128;
		if (prio > 127)
			prio = 127;
		s->priority = (int)prio;
		if (!s->available) {
			struct mp_event ev = { .arena = a, .stanza = st,
			    .session = s, .from = s->jid, .type = NULL };

			s->available = true;
			mp_hooks_fire_name("session-available", &ev);
		}
	} else if (strcmp(type, "unavailable") == 0)
		s->available = false;
}

/*
 * Before authentication only an iq that a module takes (XEP-0077
 * registration) is allowed; anything else ends the stream (RFC 6120 6.4.1).
 */
static void
c2s_preauth_iq(struct mp_session *s, struct mp_node *st, struct mp_arena *a)
{
	struct mp_event ev = { .arena = a, .stanza = st, .session = s };
	const char *type = mp_node_attr(st, "type");
	const char *kind;
	unsigned id;

	if (strcmp(st->name, "iq") != 0 || type == NULL ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    mp_node_attr(st, "id") == NULL ||
	    (!c2s_is_tls(s) && s->tls_required) ||
	    (ev.payload = mp_node_first_element(st)) == NULL ||
	    mp_node_next_element(ev.payload) != NULL) {
		mp_c2s_stream_error(s, "not-authorized", NULL, NULL, NULL);
		return;
	}
	kind = strcmp(type, "get") == 0 ? "iq-get" : "iq-set";
	{
		struct mp_slice pieces[] = {
			{ kind, strlen(kind) }, { "/preauth/", 9 },
			{ ev.payload->xmlns, strlen(ev.payload->xmlns) },
			{ ":", 1 },
			{ ev.payload->name, strlen(ev.payload->name) },
		};

		id = mp_event_find(pieces, sizeof(pieces) / sizeof(pieces[0]));
	}
	ev.type = type;
	ev.id = mp_node_attr(st, "id");
	ev.from.domain = s->host;
	ev.to.domain = s->host;
	if (mp_hooks_fire(id, &ev) != MP_HANDLED)
		mp_c2s_stream_error(s, "not-authorized", NULL, NULL, NULL);
}

void
mp_c2s_send_unbound(struct mp_session *s, const struct mp_node *stanza)
{
	if (s->state == C2S_CLOSING)
		return;
	c2s_write_node(s, stanza, MP_NS_CLIENT);
}

static void
c2s_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	struct mp_session *s = ctx;
	bool is_stanza;
	struct mp_node *child;
	const char *type;

	if (s->state == C2S_CLOSING)
		return;
	if (strcmp(st->xmlns, MP_NS_TLS) == 0 &&
	    strcmp(st->name, "starttls") == 0) {
		c2s_starttls(s, st);
		return;
	}
	if (strcmp(st->xmlns, MP_NS_SASL) == 0) {
		mp_c2s_sasl(s, st, a);
		return;
	}
	if (strcmp(st->xmlns, "urn:xmpp:sm:3") == 0 &&
	    s->state >= C2S_AUTHENTICATED) {
		mp_c2s_sm_element(s, st);
		return;
	}
	if (strcmp(st->xmlns, "urn:xmpp:csi:0") == 0 &&
	    s->state == C2S_BOUND) {
		mp_c2s_csi_element(s, st);
		return;
	}
	is_stanza = strcmp(st->xmlns, MP_NS_CLIENT) == 0 &&
	    (strcmp(st->name, "message") == 0 ||
	    strcmp(st->name, "presence") == 0 || strcmp(st->name, "iq") == 0);
	if (!is_stanza) {
		mp_c2s_stream_error(s, "unsupported-stanza-type", NULL, NULL, NULL);
		return;
	}
	if (s->state == C2S_OPEN) {
		c2s_preauth_iq(s, st, a);
		return;
	}
	type = mp_node_attr(st, "type");
	child = mp_node_first_element(st);
	if (st->name[0] == 'i' && type != NULL && strcmp(type, "set") == 0 &&
	    child != NULL && mp_node_next_element(child) == NULL) {
		if (strcmp(child->xmlns, MP_NS_BIND) == 0 &&
		    strcmp(child->name, "bind") == 0) {
			if (s->state == C2S_AUTHENTICATED)
				c2s_bind(s, st, child, a);
			else {
				c2s_iq_error(s, st, a, &mp_err_not_allowed);
				mp_c2s_sm_handled(s);
			}
			return;
		}
		if (s->state == C2S_BOUND &&
		    strcmp(child->xmlns, MP_NS_SESSION) == 0 &&
		    strcmp(child->name, "session") == 0) {
			struct mp_node *r = mp_node_new(a, MP_NS_CLIENT, "iq");

			mp_node_set_attr(a, r, "type", "result");
			mp_node_set_attr(a, r, "id", mp_node_attr(st, "id"));
			mp_c2s_send(s, r);
			mp_c2s_sm_handled(s);
			return;
		}
	}
	if (s->state != C2S_BOUND) {
		/* RFC 6120 7.1: nothing is processed before a resource is bound. */
		mp_c2s_stream_error(s, "not-authorized", NULL, NULL,
		    "Bind a resource first");
		return;
	}
	if (st->name[0] == 'p')
		c2s_presence_state(s, st, a);
	mp_router_from_session(s, st, a);
	/* Handled once routed: what was stored is committed (XEP-0198). */
	mp_c2s_sm_handled(s);
}

static void
c2s_send_ping(struct mp_session *s)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_node *iq = mp_node_new(a, MP_NS_CLIENT, "iq");
	char id[32];

	snprintf(id, sizeof(id), "ping-%u", ++s->ping_seq);
	mp_node_set_attr(a, iq, "from", s->host);
	mp_node_set_attr(a, iq, "to", s->full);
	mp_node_set_attr(a, iq, "type", "get");
	mp_node_set_attr(a, iq, "id", id);
	mp_node_add(a, iq, NS_PING, "ping");
	mp_c2s_send(s, iq);
	mp_arena_free(a);
}

static void
c2s_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mp_session *s = arg;
	long idle;

	if (s->state == C2S_CLOSING)
		return;
	if (s->conn == NULL) {
		mp_log_info("%s: not resumed in time", s->full);
		c2s_destroy(s);
		return;
	}
	if (s->state != C2S_BOUND) {
		mp_c2s_stream_error(s, "connection-timeout", NULL, NULL,
		    "Too slow to authenticate");
		return;
	}
	idle = c2s_now() - s->last_read;
	if (!s->ping_pending) {
		if (idle < c2s_conf()->idle_timeout) {
			c2s_arm(s, c2s_conf()->idle_timeout - idle);
			return;
		}
		/* XEP-0199 4.2: ask before hanging up; any traffic answers. */
		c2s_send_ping(s);
		s->ping_pending = true;
		c2s_arm(s, c2s_conf()->ping_timeout);
		return;
	}
	if (mp_c2s_sm_resumable(s)) {
		/*
		 * The connection is dead: hibernate now (XEP-0198), so the
		 * client can resume and nothing waits on a dead socket.
		 */
		mp_log_info("%s: %s did not answer a ping",
		    mp_conn_peer(s->conn), s->full);
		mp_conn_close(s->conn, "no answer to ping");
		return;
	}
	mp_c2s_stream_error(s, "connection-timeout", NULL, NULL,
	    "No answer to ping");
}

void
mp_c2s_shutdown_all(void)
{
	struct mp_session *s, *next;

	for (s = mp_sessions_all(); s != NULL; s = next) {
		next = s->next_all;
		mp_c2s_stream_error(s, "system-shutdown", NULL, NULL, NULL);
	}
}

void
mp_c2s_free_all(void)
{
	while (mp_sessions_all() != NULL)
		c2s_destroy(mp_sessions_all());
	if (c2s_trim_ev != NULL)
		event_free(c2s_trim_ev);
	c2s_trim_ev = NULL;
}

void
mp_c2s_uncount(struct mp_session *s)
{
	mp_limits_disconnect(s->ip);
	s->counted = false;
}

void
mp_c2s_rearm(struct mp_session *s)
{
	evtimer_del(s->timer);
	c2s_arm(s, c2s_conf()->idle_timeout);
}

void
mp_c2s_hibernate_timer(struct mp_session *s, long seconds)
{
	evtimer_del(s->timer);
	c2s_arm(s, seconds);
}
