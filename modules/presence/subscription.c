/* subscription.c - RFC 6121 Appendix A: how subscription stanzas change a roster entry's state. */
#include <string.h>

#include "subscription.h"

static bool
sub_has_to(enum mp_subscription s)
{
	return s == MP_SUB_TO || s == MP_SUB_BOTH;
}

static bool
sub_has_from(enum mp_subscription s)
{
	return s == MP_SUB_FROM || s == MP_SUB_BOTH;
}

static enum mp_subscription
sub_make(bool to, bool from)
{
	if (to && from)
		return MP_SUB_BOTH;
	return to ? MP_SUB_TO : from ? MP_SUB_FROM : MP_SUB_NONE;
}

int
presence_sub_type(const char *type)
{
	if (type == NULL)
		return -1;
	if (strcmp(type, "subscribe") == 0)
		return PSUB_SUBSCRIBE;
	if (strcmp(type, "subscribed") == 0)
		return PSUB_SUBSCRIBED;
	if (strcmp(type, "unsubscribe") == 0)
		return PSUB_UNSUBSCRIBE;
	if (strcmp(type, "unsubscribed") == 0)
		return PSUB_UNSUBSCRIBED;
	return -1;
}

static void
sub_finish(const struct mp_roster_state *cur, struct presence_sub_result *r)
{
	const struct mp_roster_state *n = &r->state;

	r->changed = cur->sub != n->sub || cur->pending_out != n->pending_out ||
	    cur->pending_in != n->pending_in || cur->approved != n->approved ||
	    cur->listed != n->listed;
	r->gained_from = !sub_has_from(cur->sub) && sub_has_from(n->sub);
	r->lost_from = sub_has_from(cur->sub) && !sub_has_from(n->sub);
}

void
presence_sub_outbound(enum presence_sub_type t,
    const struct mp_roster_state *cur_in, bool preapproval,
    struct presence_sub_result *r)
{
	/* cur_in may point into r. */
	const struct mp_roster_state copy = *cur_in, *cur = &copy;
	struct mp_roster_state *n = &r->state;
	bool to = sub_has_to(cur->sub), from = sub_has_from(cur->sub);

	memset(r, 0, sizeof(*r));
	*n = *cur;
	switch (t) {
	case PSUB_SUBSCRIBE:
		/* A.3.1; 3.1.2: the contact joins the roster, ask='subscribe'. */
		if (!to)
			n->pending_out = true;
		n->listed = true;
		r->forward = true;
		break;
	case PSUB_UNSUBSCRIBE:
		/* A.3.2 */
		n->pending_out = false;
		n->sub = sub_make(false, from);
		r->forward = true;
		break;
	case PSUB_SUBSCRIBED:
		/* A.3.3; 3.4: without a request it pre-approves one. */
		if (cur->pending_in) {
			n->pending_in = false;
			n->approved = false;
			n->sub = sub_make(to, true);
			n->listed = true;
			r->forward = true;
		} else if (!from && preapproval) {
			n->approved = true;
			n->listed = true;
		}
		break;
	case PSUB_UNSUBSCRIBED:
		/* A.3.4; 3.4: also cancels a pre-approval. */
		n->approved = false;
		if (cur->pending_in || from) {
			n->pending_in = false;
			n->sub = sub_make(to, false);
			r->forward = true;
		}
		break;
	}
	sub_finish(cur, r);
}

void
presence_sub_inbound(enum presence_sub_type t,
    const struct mp_roster_state *cur_in, struct presence_sub_result *r)
{
	/* cur_in may point into r. */
	const struct mp_roster_state copy = *cur_in, *cur = &copy;
	struct mp_roster_state *n = &r->state;
	bool to = sub_has_to(cur->sub), from = sub_has_from(cur->sub);

	memset(r, 0, sizeof(*r));
	*n = *cur;
	switch (t) {
	case PSUB_SUBSCRIBE:
		/* A.2.1 */
		if (from)
			r->auto_subscribed = true;
		else if (cur->approved) {
			/* 3.4: approved beforehand, so not shown to the user. */
			n->approved = false;
			n->sub = sub_make(to, true);
			r->auto_subscribed = true;
		} else if (!cur->pending_in) {
			n->pending_in = true;
			r->forward = true;
		}
		break;
	case PSUB_UNSUBSCRIBE:
		/* A.2.2 */
		if (cur->pending_in || from) {
			n->pending_in = false;
			n->sub = sub_make(to, false);
			r->forward = true;
		}
		break;
	case PSUB_SUBSCRIBED:
		/* A.2.3 */
		if (cur->pending_out) {
			n->pending_out = false;
			n->sub = sub_make(true, from);
			r->forward = true;
		}
		break;
	case PSUB_UNSUBSCRIBED:
		/* A.2.4 */
		if (cur->pending_out || to) {
			n->pending_out = false;
			n->sub = sub_make(false, from);
			r->forward = true;
		}
		break;
	}
	sub_finish(cur, r);
}

const char *
presence_sub_state_name(const struct mp_roster_state *s)
{
	static const char *const names[4][4] = {
		/* [sub][pending_out + 2 * pending_in] */
		{ "None", "None + Pending Out", "None + Pending In",
		  "None + Pending Out + Pending In" },
		{ "To", "To", "To + Pending In", "To + Pending In" },
		{ "From", "From + Pending Out", "From", "From + Pending Out" },
		{ "Both", "Both", "Both", "Both" },
	};

	return names[s->sub & 3][(s->pending_out ? 1 : 0) +
	    (s->pending_in ? 2 : 0)];
}
