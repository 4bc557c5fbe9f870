/* c2s_sm.c - XEP-0198 stream management: acks, a queue of unacknowledged stanzas, hibernation, resumption. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <magpie/module.h>

#include "c2s.h"
#include "config.h"
#include "conn.h"
#include "map.h"
#include "server.h"
#include "session.h"
#include "xmlstream.h"

#define NS_SM		"urn:xmpp:sm:3"
#define NS_SM_FAILED	"<failed xmlns='" NS_SM "'>"

static struct mp_map sm_tokens;	/* resumption id -> hibernating or live session */

static const struct mp_c2s_conf *
sm_conf(void)
{
	return &mp_srv.conf->c2s;
}

static void
sm_failed(struct mp_session *s, const char *cond)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_printf(&b, NS_SM_FAILED "<%s xmlns='" MP_NS_STANZAS "'/>"
	    "</failed>", cond);
	mp_c2s_write(s, b.data);
	mp_buf_free(&b);
}

int
mp_sm_newly_acked(uint32_t acked, uint32_t out, uint32_t h, uint32_t *n_r)
{
	/* Counts wrap at 2^32 (XEP-0198 section 5): unsigned arithmetic. */
	uint32_t n = h - acked;

	if (n > (uint32_t)(out - acked))
		return -1;
	*n_r = n;
	return 0;
}

/* Drops the stanzas the client has acknowledged; -1 when h is impossible. */
static int
sm_ack(struct mp_session *s, const char *hs)
{
	struct mp_sm *sm = s->sm;
	struct mp_sm_item *it;
	unsigned long long h;
	uint32_t n;
	char *end;

	if (hs == NULL || *hs == '\0' || *hs == '-' || *hs == '+')
		return -1;
	h = strtoull(hs, &end, 10);
	if (*end != '\0' || h > UINT32_MAX ||
	    mp_sm_newly_acked(sm->acked, sm->out, (uint32_t)h, &n) == -1)
		return -1;
	sm->acked = (uint32_t)h;
	while (n-- > 0 && (it = sm->head) != NULL) {
		sm->head = it->next;
		if (sm->head == NULL)
			sm->tail = NULL;
		free(it);
		sm->queued--;
	}
	return 0;
}

void
mp_c2s_sm_sent(struct mp_session *s, const char *data, size_t len,
    bool message)
{
	struct mp_sm *sm = s->sm;
	struct mp_sm_item *it;

	it = mp_xmalloc(sizeof(*it) + len);
	it->next = NULL;
	it->len = len;
	it->message = message;
	memcpy(it->data, data, len);
	if (sm->tail != NULL)
		sm->tail->next = it;
	else
		sm->head = it;
	sm->tail = it;
	sm->queued++;
	sm->out++;
	if (sm->queued > sm_conf()->max_unacked && s->conn != NULL)
		mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
		    "Too many unacknowledged stanzas");
	else if (!sm->r_pending && s->conn != NULL) {
		/* One request outstanding at a time. */
		mp_c2s_write(s, "<r xmlns='" NS_SM "'/>");
		sm->r_pending = true;
	}
}

static void
sm_enable(struct mp_session *s, struct mp_node *st)
{
	const char *resume = mp_node_attr(st, "resume");
	struct mp_buf b = MP_BUF_INIT;
	unsigned char rnd[16];

	if (s->state != C2S_BOUND || s->sm != NULL) {
		sm_failed(s, "unexpected-request");
		return;
	}
	s->sm = mp_xcalloc(1, sizeof(*s->sm));
	s->sm->resumable = resume != NULL && (strcmp(resume, "true") == 0 ||
	    strcmp(resume, "1") == 0);
	mp_buf_puts(&b, "<enabled xmlns='" NS_SM "'");
	if (s->sm->resumable) {
		gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(s->sm->id + 2 * i, 3, "%02x", rnd[i]);
		mp_map_put(&sm_tokens, s->sm->id, strlen(s->sm->id), s);
		mp_buf_printf(&b, " id='%s' resume='true' max='%ld'",
		    s->sm->id, sm_conf()->resume_timeout);
	}
	mp_buf_puts(&b, "/>");
	mp_c2s_write(s, b.data);
	mp_buf_free(&b);
}

static void
sm_resend(struct mp_session *s)
{
	for (struct mp_sm_item *it = s->sm->head; it != NULL; it = it->next)
		mp_conn_write(s->conn, it->data, it->len);
	if (s->sm->head != NULL) {
		mp_c2s_write(s, "<r xmlns='" NS_SM "'/>");
		s->sm->r_pending = true;
	}
}

/*
 * XEP-0198 section 5: a new, authenticated stream takes over a lost
 * session of the same user; the connection and parser move into it.
 */
static void
sm_resume(struct mp_session *s, struct mp_node *st)
{
	const char *previd = mp_node_attr(st, "previd");
	struct mp_session *old;
	struct mp_buf b = MP_BUF_INIT;

	if (s->state != C2S_AUTHENTICATED || previd == NULL) {
		sm_failed(s, "unexpected-request");
		return;
	}
	old = mp_map_get(&sm_tokens, previd, strlen(previd));
	/* A token is only good for its own user (and host). */
	if (old == NULL || old->sm == NULL || strcmp(old->user, s->user) != 0 ||
	    strcmp(old->host, s->host) != 0 || old->state != C2S_BOUND) {
		sm_failed(s, "item-not-found");
		return;
	}
	if (sm_ack(old, mp_node_attr(st, "h")) == -1) {
		mp_c2s_write(s, NS_SM_FAILED "<undefined-condition xmlns='"
		    MP_NS_STANZAS "'/><handled-count-too-high "
		    "xmlns='urn:xmpp:sm:3'/></failed>");
		return;
	}
	if (old->conn != NULL) {
		/* The old TCP connection is not known dead yet: it is now. */
		mp_conn_free(old->conn);
		mp_xmlstream_free(old->xs);
	}
	old->conn = s->conn;
	old->xs = s->xs;
	mp_conn_set_ctx(old->conn, old);
	mp_xmlstream_set_ctx(old->xs, old);
	if (old->counted)
		mp_c2s_uncount(old);
	old->counted = s->counted;
	memcpy(old->ip, s->ip, sizeof(old->ip));
	s->counted = false;
	s->conn = NULL;
	s->xs = NULL;
	s->moved_to = old;
	s->state = C2S_CLOSING;
	old->last_read = s->last_read;
	old->ping_pending = false;
	old->sm->r_pending = false;
	mp_c2s_rearm(old);
	mp_buf_printf(&b, "<resumed xmlns='" NS_SM "' previd='%s' h='%u'/>",
	    previd, old->sm->in);
	mp_c2s_write(old, b.data);
	mp_buf_free(&b);
	sm_resend(old);
	mp_xmlstream_stop(old->xs);
	mp_log_info("%s: %s resumed", mp_conn_peer(old->conn), old->full);
}

void
mp_c2s_sm_element(struct mp_session *s, struct mp_node *st)
{
	struct mp_buf b = MP_BUF_INIT;

	if (strcmp(st->name, "enable") == 0)
		sm_enable(s, st);
	else if (strcmp(st->name, "resume") == 0)
		sm_resume(s, st);
	else if (s->sm == NULL)
		mp_c2s_stream_error(s, "unsupported-stanza-type", NULL, NULL,
		    "Stream management is not enabled");
	else if (strcmp(st->name, "r") == 0) {
		mp_buf_printf(&b, "<a xmlns='" NS_SM "' h='%u'/>", s->sm->in);
		mp_c2s_write(s, b.data);
		mp_buf_free(&b);
	} else if (strcmp(st->name, "a") == 0) {
		s->sm->r_pending = false;
		if (sm_ack(s, mp_node_attr(st, "h")) == -1)
			mp_c2s_stream_error(s, "undefined-condition", NS_SM,
			    "handled-count-too-high",
			    "More stanzas acknowledged than were sent");
	} else
		mp_c2s_stream_error(s, "unsupported-stanza-type", NULL, NULL,
		    NULL);
}

bool
mp_c2s_sm_hibernate(struct mp_session *s)
{
	if (s->sm == NULL || !s->sm->resumable || s->state != C2S_BOUND ||
	    mp_srv.stopping)
		return false;
	mp_log_info("%s: %s lost its connection; waiting %ld s to resume",
	    mp_conn_peer(s->conn), s->full, sm_conf()->resume_timeout);
	mp_conn_free(s->conn);
	mp_xmlstream_free(s->xs);
	s->conn = NULL;
	s->xs = NULL;
	if (s->counted)
		mp_c2s_uncount(s);
	mp_c2s_hibernate_timer(s, sm_conf()->resume_timeout);
	return true;
}

/* The session ends for good: unacknowledged messages are routed again. */
void
mp_c2s_sm_free(struct mp_session *s)
{
	struct mp_sm *sm = s->sm;
	struct mp_sm_item *it, *next;
	struct mp_arena *a;
	struct mp_node *n;
	long rerouted = 0;

	if (sm == NULL)
		return;
	if (sm->id[0] != '\0' &&
	    mp_map_get(&sm_tokens, sm->id, strlen(sm->id)) == s)
		mp_map_del(&sm_tokens, sm->id, strlen(sm->id));
	for (it = sm->head; it != NULL; it = next) {
		next = it->next;
		if (it->message) {
			/*
			 * XEP-0198 section 5: not delivered, so not lost:
			 * another resource or offline storage takes it.
			 */
			a = mp_arena_new();
			n = mp_xml_parse(a, it->data, it->len, MP_NS_CLIENT);
			if (n != NULL) {
				mp_route(n);
				rerouted++;
			}
			mp_arena_free(a);
		}
		free(it);
	}
	if (rerouted > 0)
		mp_log_info("%s: %ld unacknowledged message%s routed again",
		    s->full ? s->full : "-", rerouted, rerouted == 1 ? "" : "s");
	free(sm);
	s->sm = NULL;
}

void
mp_c2s_sm_handled(struct mp_session *s)
{
	if (s->sm != NULL)
		s->sm->in++;
}

bool
mp_c2s_sm_resumable(const struct mp_session *s)
{
	return s->sm != NULL && s->sm->resumable && s->state == C2S_BOUND;
}
