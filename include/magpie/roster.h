/* roster.h - what the roster module offers other modules, as the provider "roster". */
#ifndef MAGPIE_ROSTER_H
#define MAGPIE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#define MP_ROSTER_PROVIDER	"roster"

struct mp_arena;

/* RFC 6121 subscription states (the 'subscription' attribute). */
enum mp_subscription {
	MP_SUB_NONE,
	MP_SUB_TO,	/* the user receives the contact's presence */
	MP_SUB_FROM,	/* the contact receives the user's presence */
	MP_SUB_BOTH,
};

typedef void mp_roster_item_fn(const char *contact, enum mp_subscription sub,
    void *arg);

/*
 * The subscription state of one contact in a user's roster (RFC 6121
 * Appendix A): the subscription, the pending flags and the pre-approval.
 * An entry that only holds an inbound request is not listed: the user does
 * not see it in the roster (RFC 6121 3.1.3) until it becomes an item.
 */
struct mp_roster_state {
	enum mp_subscription	 sub;
	bool			 pending_out;	/* ask='subscribe' */
	bool			 pending_in;
	bool			 approved;	/* pre-approved (RFC 6121 3.4) */
	bool			 listed;	/* part of the user's roster */
};

/* A full roster item; strings live in the arena of the call that made it. */
struct mp_roster_item {
	const char		*contact;	/* prepared bare JID */
	const char		*name;		/* NULL when none */
	const char *const	*groups;
	size_t			 ngroups;
	struct mp_roster_state	 state;
};

typedef void mp_roster_full_fn(const struct mp_roster_item *item, void *arg);

/*
 * Looked up with mp_provider(MP_ROSTER_PROVIDER) by modules that depend on
 * "roster". JIDs are prepared bare JID strings.
 */
struct mp_roster_api {
	/* The subscription user has with contact; MP_SUB_NONE when not listed; -1 on error. */
	int	(*subscription)(const char *user, const char *contact);
	/* Visits user's contacts; returns their number or -1. */
	long	(*foreach)(const char *user, mp_roster_item_fn *fn, void *arg);

	/*
	 * The state of contact in user's roster, listed or not: 1 and
	 * *state_r set, 0 when there is no entry (*state_r all zero), -1 on
	 * a storage error.
	 */
	int	(*state)(const char *user, const char *contact,
		    struct mp_roster_state *state_r);
	/*
	 * Stores a new state for contact (keeping name and groups), creating
	 * the entry when needed; an entry neither listed nor holding any state
	 * is removed. When what the user sees changed, the roster version
	 * moves on and the item is pushed to the user's interested resources
	 * (RFC 6121 2.1.6). 0, or -1 with error_r (the roster limit: "roster
	 * full"; storage errors).
	 */
	int	(*set_state)(const char *user, const char *contact,
		    const struct mp_roster_state *state,
		    const char **error_r);

	/*
	 * Administration (magpiectl roster list|add|del) and other modules.
	 * list: visits every item of user (listed ones only unless all), in
	 * contact order, strings valid during the call; the number or -1.
	 */
	long	(*list)(const char *user, bool all, mp_roster_full_fn *fn,
		    void *arg);
	/*
	 * Adds or updates an item as a client's roster set would (name NULL
	 * for none; groups validated the same way), with a push. 0, or -1.
	 */
	int	(*set_item)(const char *user, const char *contact,
		    const char *name, const char *const *groups,
		    size_t ngroups, const char **error_r);
	/*
	 * Removes an item as a client's roster set with subscription='remove'
	 * would (RFC 6121 2.5.2: unsubscribe and unsubscribed are sent to the
	 * contact as its state needs), with a push. 1 removed, 0 no such item,
	 * -1 with error_r.
	 */
	int	(*remove_item)(const char *user, const char *contact,
		    const char **error_r);
};

#endif
