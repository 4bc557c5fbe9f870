/* test_subscription.c - the RFC 6121 Appendix A tables against modules/presence/subscription.c. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "../../modules/presence/subscription.h"

enum { S_NONE, S_NONE_OUT, S_NONE_IN, S_NONE_OUT_IN, S_TO, S_TO_IN, S_FROM,
    S_FROM_OUT, S_BOTH, NSTATES };

static const struct mp_roster_state sub_states[NSTATES] = {
	[S_NONE] = { MP_SUB_NONE, false, false, false, true },
	[S_NONE_OUT] = { MP_SUB_NONE, true, false, false, true },
	[S_NONE_IN] = { MP_SUB_NONE, false, true, false, true },
	[S_NONE_OUT_IN] = { MP_SUB_NONE, true, true, false, true },
	[S_TO] = { MP_SUB_TO, false, false, false, true },
	[S_TO_IN] = { MP_SUB_TO, false, true, false, true },
	[S_FROM] = { MP_SUB_FROM, false, false, false, true },
	[S_FROM_OUT] = { MP_SUB_FROM, true, false, false, true },
	[S_BOTH] = { MP_SUB_BOTH, false, false, false, true },
};

struct sub_row {
	int	 from;
	bool	 forward;	/* inbound: deliver; outbound: route */
	int	 to;
};

static bool
sub_same(const struct mp_roster_state *x, const struct mp_roster_state *y)
{
	return x->sub == y->sub && x->pending_out == y->pending_out &&
	    x->pending_in == y->pending_in;
}

/* Checks a whole table; returns the first failing row or -1. */
static int
sub_check(bool inbound, enum presence_sub_type t, const struct sub_row *rows,
    char *why, size_t len)
{
	struct presence_sub_result r;

	for (int i = 0; i < NSTATES; i++) {
		const struct mp_roster_state *cur = &sub_states[rows[i].from];

		if (inbound)
			presence_sub_inbound(t, cur, &r);
		else
			presence_sub_outbound(t, cur, false, &r);
		if (!sub_same(&r.state, &sub_states[rows[i].to]) ||
		    r.forward != rows[i].forward ||
		    r.changed != !sub_same(cur, &sub_states[rows[i].to])) {
			snprintf(why, len, "%s -> %s (forward %d), want %s "
			    "(forward %d)", presence_sub_state_name(cur),
			    presence_sub_state_name(&r.state), r.forward,
			    presence_sub_state_name(&sub_states[rows[i].to]),
			    rows[i].forward);
			return i;
		}
	}
	return -1;
}

#define SUB_TABLE(inbound, type, rows) do {				\
	char why_[160];							\
	if (sub_check(inbound, type, rows, why_, sizeof(why_)) != -1) {	\
		mp_test_fail(__FILE__, __LINE__, why_);			\
		return;							\
	}								\
} while (0)

/* A.2.1 inbound "subscribe". */
MP_TEST(inbound_subscribe)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, true, S_NONE_IN },
		{ S_NONE_OUT, true, S_NONE_OUT_IN },
		{ S_NONE_IN, false, S_NONE_IN },
		{ S_NONE_OUT_IN, false, S_NONE_OUT_IN },
		{ S_TO, true, S_TO_IN },
		{ S_TO_IN, false, S_TO_IN },
		{ S_FROM, false, S_FROM },
		{ S_FROM_OUT, false, S_FROM_OUT },
		{ S_BOTH, false, S_BOTH },
	};
	struct presence_sub_result r;

	SUB_TABLE(true, PSUB_SUBSCRIBE, rows);
	/* Already subscribed: the server answers 'subscribed' itself. */
	presence_sub_inbound(PSUB_SUBSCRIBE, &sub_states[S_FROM], &r);
	CHECK(r.auto_subscribed);
	presence_sub_inbound(PSUB_SUBSCRIBE, &sub_states[S_BOTH], &r);
	CHECK(r.auto_subscribed);
	presence_sub_inbound(PSUB_SUBSCRIBE, &sub_states[S_NONE], &r);
	CHECK(!r.auto_subscribed);
}

/* A.2.2 inbound "unsubscribe". */
MP_TEST(inbound_unsubscribe)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, false, S_NONE },
		{ S_NONE_OUT, false, S_NONE_OUT },
		{ S_NONE_IN, true, S_NONE },
		{ S_NONE_OUT_IN, true, S_NONE_OUT },
		{ S_TO, false, S_TO },
		{ S_TO_IN, true, S_TO },
		{ S_FROM, true, S_NONE },
		{ S_FROM_OUT, true, S_NONE_OUT },
		{ S_BOTH, true, S_TO },
	};
	struct presence_sub_result r;

	SUB_TABLE(true, PSUB_UNSUBSCRIBE, rows);
	presence_sub_inbound(PSUB_UNSUBSCRIBE, &sub_states[S_BOTH], &r);
	CHECK(r.lost_from && !r.gained_from);
}

/* A.2.3 inbound "subscribed". */
MP_TEST(inbound_subscribed)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, false, S_NONE },
		{ S_NONE_OUT, true, S_TO },
		{ S_NONE_IN, false, S_NONE_IN },
		{ S_NONE_OUT_IN, true, S_TO_IN },
		{ S_TO, false, S_TO },
		{ S_TO_IN, false, S_TO_IN },
		{ S_FROM, false, S_FROM },
		{ S_FROM_OUT, true, S_BOTH },
		{ S_BOTH, false, S_BOTH },
	};

	SUB_TABLE(true, PSUB_SUBSCRIBED, rows);
}

/* A.2.4 inbound "unsubscribed". */
MP_TEST(inbound_unsubscribed)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, false, S_NONE },
		{ S_NONE_OUT, true, S_NONE },
		{ S_NONE_IN, false, S_NONE_IN },
		{ S_NONE_OUT_IN, true, S_NONE_IN },
		{ S_TO, true, S_NONE },
		{ S_TO_IN, true, S_NONE_IN },
		{ S_FROM, false, S_FROM },
		{ S_FROM_OUT, true, S_FROM },
		{ S_BOTH, true, S_FROM },
	};

	SUB_TABLE(true, PSUB_UNSUBSCRIBED, rows);
}

/* A.3.1 outbound "subscribe": always routed. */
MP_TEST(outbound_subscribe)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, true, S_NONE_OUT },
		{ S_NONE_OUT, true, S_NONE_OUT },
		{ S_NONE_IN, true, S_NONE_OUT_IN },
		{ S_NONE_OUT_IN, true, S_NONE_OUT_IN },
		{ S_TO, true, S_TO },
		{ S_TO_IN, true, S_TO_IN },
		{ S_FROM, true, S_FROM_OUT },
		{ S_FROM_OUT, true, S_FROM_OUT },
		{ S_BOTH, true, S_BOTH },
	};

	SUB_TABLE(false, PSUB_SUBSCRIBE, rows);
}

/* A.3.2 outbound "unsubscribe". */
MP_TEST(outbound_unsubscribe)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, true, S_NONE },
		{ S_NONE_OUT, true, S_NONE },
		{ S_NONE_IN, true, S_NONE_IN },
		{ S_NONE_OUT_IN, true, S_NONE_IN },
		{ S_TO, true, S_NONE },
		{ S_TO_IN, true, S_NONE_IN },
		{ S_FROM, true, S_FROM },
		{ S_FROM_OUT, true, S_FROM },
		{ S_BOTH, true, S_FROM },
	};

	SUB_TABLE(false, PSUB_UNSUBSCRIBE, rows);
}

/* A.3.3 outbound "subscribed": routed only when it approves a request. */
MP_TEST(outbound_subscribed)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, false, S_NONE },
		{ S_NONE_OUT, false, S_NONE_OUT },
		{ S_NONE_IN, true, S_FROM },
		{ S_NONE_OUT_IN, true, S_FROM_OUT },
		{ S_TO, false, S_TO },
		{ S_TO_IN, true, S_BOTH },
		{ S_FROM, false, S_FROM },
		{ S_FROM_OUT, false, S_FROM_OUT },
		{ S_BOTH, false, S_BOTH },
	};
	struct presence_sub_result r;

	SUB_TABLE(false, PSUB_SUBSCRIBED, rows);
	presence_sub_outbound(PSUB_SUBSCRIBED, &sub_states[S_NONE_IN], false,
	    &r);
	CHECK(r.gained_from && !r.lost_from);
}

/* A.3.4 outbound "unsubscribed". */
MP_TEST(outbound_unsubscribed)
{
	static const struct sub_row rows[NSTATES] = {
		{ S_NONE, false, S_NONE },
		{ S_NONE_OUT, false, S_NONE_OUT },
		{ S_NONE_IN, true, S_NONE },
		{ S_NONE_OUT_IN, true, S_NONE_OUT },
		{ S_TO, false, S_TO },
		{ S_TO_IN, true, S_TO },
		{ S_FROM, true, S_NONE },
		{ S_FROM_OUT, true, S_NONE_OUT },
		{ S_BOTH, true, S_TO },
	};
	struct presence_sub_result r;

	SUB_TABLE(false, PSUB_UNSUBSCRIBED, rows);
	presence_sub_outbound(PSUB_UNSUBSCRIBED, &sub_states[S_BOTH], false,
	    &r);
	CHECK(r.lost_from);
}

/* RFC 6121 3.4: pre-approval, its use and its cancellation. */
MP_TEST(preapproval)
{
	struct mp_roster_state none = { 0 };
	struct presence_sub_result r;

	/* Not listed yet: pre-approving adds the item, routes nothing. */
	presence_sub_outbound(PSUB_SUBSCRIBED, &none, true, &r);
	CHECK(r.state.approved && r.state.listed && !r.forward && r.changed);
	CHECK(r.state.sub == MP_SUB_NONE);
	/* Without pre-approval support it is ignored. */
	presence_sub_outbound(PSUB_SUBSCRIBED, &none, false, &r);
	CHECK(!r.changed && !r.forward);
	/* Already 'from': nothing to approve. */
	presence_sub_outbound(PSUB_SUBSCRIBED, &sub_states[S_FROM], true, &r);
	CHECK(!r.state.approved && !r.changed);
	/* The request arrives: answered by the server, not delivered. */
	none.approved = true;
	none.listed = true;
	presence_sub_inbound(PSUB_SUBSCRIBE, &none, &r);
	CHECK(r.auto_subscribed && !r.forward && r.gained_from);
	CHECK(r.state.sub == MP_SUB_FROM && !r.state.approved &&
	    !r.state.pending_in);
	/* Pre-approved while 'to': ends in 'both'. */
	none.sub = MP_SUB_TO;
	presence_sub_inbound(PSUB_SUBSCRIBE, &none, &r);
	CHECK(r.state.sub == MP_SUB_BOTH);
	/* 'unsubscribed' cancels it, without routing anything. */
	none.sub = MP_SUB_NONE;
	presence_sub_outbound(PSUB_UNSUBSCRIBED, &none, true, &r);
	CHECK(!r.state.approved && r.changed && !r.forward);
}

/* Entries that only hold a request stay out of the roster. */
MP_TEST(listing)
{
	struct mp_roster_state none = { 0 };
	struct presence_sub_result r;

	presence_sub_inbound(PSUB_SUBSCRIBE, &none, &r);
	CHECK(r.state.pending_in && !r.state.listed);
	presence_sub_outbound(PSUB_SUBSCRIBED, &r.state, false, &r);
	CHECK(r.state.listed && r.state.sub == MP_SUB_FROM);
	presence_sub_outbound(PSUB_SUBSCRIBE, &none, false, &r);
	CHECK(r.state.listed && r.state.pending_out);
	/* Denying a hidden request keeps it hidden. */
	none.pending_in = true;
	presence_sub_outbound(PSUB_UNSUBSCRIBED, &none, true, &r);
	CHECK(!r.state.listed && !r.state.pending_in && r.forward);
}

MP_TEST(types)
{
	CHECK(presence_sub_type("subscribe") == PSUB_SUBSCRIBE);
	CHECK(presence_sub_type("subscribed") == PSUB_SUBSCRIBED);
	CHECK(presence_sub_type("unsubscribe") == PSUB_UNSUBSCRIBE);
	CHECK(presence_sub_type("unsubscribed") == PSUB_UNSUBSCRIBED);
	CHECK(presence_sub_type(NULL) == -1);
	CHECK(presence_sub_type("") == -1);
	CHECK(presence_sub_type("probe") == -1);
	CHECK(presence_sub_type("Subscribe") == -1);
	CHECK(presence_sub_type("subscribed ") == -1);
	CHECK_STR(presence_sub_state_name(&sub_states[S_NONE_OUT_IN]),
	    "None + Pending Out + Pending In");
	CHECK_STR(presence_sub_state_name(&sub_states[S_FROM_OUT]),
	    "From + Pending Out");
}
