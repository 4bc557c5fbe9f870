/* subscription.h - the RFC 6121 Appendix A subscription state machine, free of I/O. */
#ifndef MP_PRESENCE_SUBSCRIPTION_H
#define MP_PRESENCE_SUBSCRIPTION_H

#include <stdbool.h>

#include <magpie/roster.h>

enum presence_sub_type {
	PSUB_SUBSCRIBE,
	PSUB_SUBSCRIBED,
	PSUB_UNSUBSCRIBE,
	PSUB_UNSUBSCRIBED,
};

/* What the server does with one subscription stanza. */
struct presence_sub_result {
	struct mp_roster_state	 state;		/* the new state */
	bool			 changed;	/* state differs from before */
	/* outbound: route it to the contact; inbound: deliver to the user */
	bool			 forward;
	/* inbound subscribe: answer 'subscribed' for the user (A.2.1, 3.4) */
	bool			 auto_subscribed;
	bool			 gained_from;	/* the contact now sees the user */
	bool			 lost_from;	/* ... and no longer does */
};

/* The type of a subscription stanza, or -1 for any other presence type. */
int	 presence_sub_type(const char *type);

/*
 * A.3: the user sends a stanza of this type to the contact; cur is the
 * contact's entry in the user's roster. preapproval: whether 'subscribed'
 * without a pending request pre-approves (RFC 6121 3.4).
 */
void	 presence_sub_outbound(enum presence_sub_type t,
	    const struct mp_roster_state *cur, bool preapproval,
	    struct presence_sub_result *r);
/* A.2: the user receives a stanza of this type from the contact. */
void	 presence_sub_inbound(enum presence_sub_type t,
	    const struct mp_roster_state *cur, struct presence_sub_result *r);

/* "None", "None + Pending Out", ... "Both" as Appendix A names them. */
const char *presence_sub_state_name(const struct mp_roster_state *s);

#endif
