/* change.h - roster changes: one write transaction each, then pushes (RFC 6121 2.1.6). */
#ifndef MP_ROSTER_CHANGE_H
#define MP_ROSTER_CHANGE_H

#include <magpie/module.h>
#include <magpie/roster.h>

#define NS_ROSTER	"jabber:iq:roster"

#define ROSTER_NAME_MAX		1023	/* bytes of a name or a group name */
#define ROSTER_GROUPS_MAX	64	/* groups of one item */

enum roster_op {
	ROSTER_OP_SET,		/* name and groups, as a client's roster set */
	ROSTER_OP_REMOVE,	/* subscription='remove' */
	ROSTER_OP_STATE,	/* subscription state, from presence */
};

struct roster_change {
	enum roster_op		 op;
	const char		*user;		/* prepared bare JIDs */
	const char		*contact;
	const char		*name;
	const char *const	*groups;
	size_t			 ngroups;
	struct mp_roster_state	 state;
};

/* The module's context (for per-session data) and its limit. */
extern struct mp_module_ctx *roster_mc;
extern long roster_max_items;

/*
 * Applies a change, then pushes it to the user's interested resources and,
 * for a removal, unsubscribes the contact (RFC 6121 2.5.2). 0, or -1 with
 * *xerr_r the stanza error to answer and error_r a reason.
 */
int	 roster_apply(const struct roster_change *c,
	    const struct mp_error **xerr_r, const char **error_r);

/* Validates name and groups (RFC 6121 2.3.3); NULL or the error. */
const struct mp_error *roster_check_item(const char *name,
	    const char *const *groups, size_t ngroups);

/* Appends <item/> for it to parent; removed: subscription='remove'. */
struct mp_node *roster_item_node(struct mp_arena *a, struct mp_node *parent,
	    const struct mp_roster_item *item, bool removed);

/* Sends a push to one session, or (s NULL) to all interested ones of user. */
void	 roster_push(const char *user, struct mp_session *s,
	    const struct mp_roster_item *item, bool removed, const char *ver);

/* Whether a session asked for the roster (RFC 6121 2.1.6 "interested"). */
bool	 roster_interested(const struct mp_session *s);
void	 roster_set_interested(struct mp_session *s);

/* Sends unsubscribe and unsubscribed from user to contact as state needs. */
void	 roster_unsubscribe(const char *user, const char *contact,
	    const struct mp_roster_state *st);

#endif
