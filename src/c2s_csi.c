/* c2s_csi.c - XEP-0352 client state indication: an inactive client's presence and chat states wait. */
#include <stdlib.h>
#include <string.h>

#include <magpie/module.h>

#include "c2s.h"
#include "session.h"

#define NS_CSI		"urn:xmpp:csi:0"
#define CSI_MAX_HELD	256	/* held stanzas before everything is flushed */

struct csi_item {
	struct csi_item	*next;
	size_t		 len;
	bool		 message;
	char		 data[];
};

struct mp_csi {
	bool		 inactive;
	struct csi_item	*head, *tail;
	long		 held;
};

/*
 * What can wait (XEP-0352 section 6): presence, and messages that carry
 * no body (chat states, receipts without content to show).
 */
static bool
csi_can_wait(const struct mp_node *st)
{
	if (strcmp(st->name, "presence") == 0)
		return true;
	if (strcmp(st->name, "message") != 0)
		return false;
	return mp_node_child(st, MP_NS_CLIENT, "body") == NULL &&
	    mp_node_child(st, "urn:xmpp:carbons:2", "received") == NULL &&
	    mp_node_child(st, "urn:xmpp:carbons:2", "sent") == NULL;
}

void
mp_c2s_csi_flush(struct mp_session *s)
{
	struct mp_csi *c = s->csi;
	struct csi_item *it, *next;

	if (c == NULL)
		return;
	for (it = c->head; it != NULL; it = next) {
		next = it->next;
		mp_c2s_emit(s, it->data, it->len, it->message);
		free(it);
	}
	c->head = c->tail = NULL;
	c->held = 0;
}

bool
mp_c2s_csi_hold(struct mp_session *s, const struct mp_node *st,
    const char *data, size_t len)
{
	struct mp_csi *c = s->csi;
	struct csi_item *it;

	if (c == NULL || !c->inactive)
		return false;
	if (!csi_can_wait(st)) {
		/* Something that matters: what waited goes first, in order. */
		mp_c2s_csi_flush(s);
		return false;
	}
	it = mp_xmalloc(sizeof(*it) + len);
	it->next = NULL;
	it->len = len;
	it->message = strcmp(st->name, "message") == 0;
	memcpy(it->data, data, len);
	if (c->tail != NULL)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	if (++c->held >= CSI_MAX_HELD)
		mp_c2s_csi_flush(s);
	return true;
}

void
mp_c2s_csi_element(struct mp_session *s, struct mp_node *st)
{
	if (s->csi == NULL)
		s->csi = mp_xcalloc(1, sizeof(*s->csi));
	if (strcmp(st->name, "inactive") == 0)
		s->csi->inactive = true;
	else if (strcmp(st->name, "active") == 0) {
		s->csi->inactive = false;
		mp_c2s_csi_flush(s);
	} else
		mp_c2s_stream_error(s, "unsupported-stanza-type", NULL, NULL,
		    NULL);
}

void
mp_c2s_csi_free(struct mp_session *s)
{
	struct csi_item *it, *next;

	if (s->csi == NULL)
		return;
	for (it = s->csi->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	free(s->csi);
	s->csi = NULL;
}
