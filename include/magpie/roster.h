/* roster.h - what the roster module offers other modules, as the provider "roster". */
#ifndef MAGPIE_ROSTER_H
#define MAGPIE_ROSTER_H

#include <stdbool.h>

#define MP_ROSTER_PROVIDER	"roster"

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
 * Looked up with mp_provider(MP_ROSTER_PROVIDER) by modules that depend on
 * "roster". JIDs are prepared bare JID strings.
 */
struct mp_roster_api {
	/* The subscription user has with contact; MP_SUB_NONE when not listed; -1 on error. */
	int	(*subscription)(const char *user, const char *contact);
	/* Visits user's contacts; returns their number or -1. */
	long	(*foreach)(const char *user, mp_roster_item_fn *fn, void *arg);
};

#endif
