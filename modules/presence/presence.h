/* presence.h - what the parts of mod_presence share. */
#ifndef MP_PRESENCE_H
#define MP_PRESENCE_H

#include <magpie/module.h>
#include <magpie/roster.h>

extern struct mp_module_ctx *presence_mc;
extern const struct mp_roster_api *presence_roster;

/* Per session: what probes are answered with, and who got directed presence. */
struct presence_sess {
	char		*last;		/* serialized available presence, or NULL */
	char		**directed;	/* JIDs sent directed available presence */
	size_t		 ndirected;
};

struct presence_sess *presence_sess_get(struct mp_session *s, bool create);

/* Routes a copy of stanza addressed to 'to'. */
void	 presence_route_to(struct mp_arena *a, const struct mp_node *stanza,
	    const char *to);
/*
 * Routes the last available presence of each available resource of user to
 * 'to', or (dest non-NULL) writes them to the session dest, leaving dest's
 * own out; the number sent.
 */
int	 presence_send_current(struct mp_arena *a, const char *user,
	    const char *to, struct mp_session *dest);
/* Routes unavailable presence from each available resource of user to 'to'. */
void	 presence_send_unavailable(struct mp_arena *a, const char *user,
	    const char *to);

/* The hooks of broadcast.c. */
enum mp_verdict presence_broadcast(struct mp_event *ev, void *arg);
enum mp_verdict presence_closed(struct mp_event *ev, void *arg);
/* Remembers (or forgets) directed presence from a session (RFC 6121 4.6). */
void	 presence_directed(struct mp_session *s, const char *to,
	    bool available);
/* Answers a probe (RFC 6121 4.3.2). */
void	 presence_probe(struct mp_event *ev);

#endif
