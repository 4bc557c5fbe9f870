/* pending.h - subscription requests kept until the user answers them (RFC 6121 3.1.3). */
#ifndef MP_PRESENCE_PENDING_H
#define MP_PRESENCE_PENDING_H

#include <magpie/module.h>

int	 pending_open(const char **error_r);
/* Keeps (replacing) the request from contact to user; 0 or -1. */
int	 pending_store(const char *user, const char *contact,
	    const struct mp_node *stanza);
/* Forgets it; 0 or -1. */
int	 pending_drop(const char *user, const char *contact);
/* Forgets every request to user. */
int	 pending_drop_user(const char *user);

/* Visits the stored requests to user, parsed into a; the count or -1. */
typedef void pending_fn(const char *contact, struct mp_node *stanza,
    void *arg);
long	 pending_foreach(const char *user, struct mp_arena *a, pending_fn *fn,
	    void *arg);

#endif
