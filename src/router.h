/* router.h - the single place of addressing rules (RFC 6120 section 8, RFC 6121 section 8). */
#ifndef MP_ROUTER_H
#define MP_ROUTER_H

#include <limits.h>

struct mp_arena;
struct mp_node;
struct mp_session;

/* Below every module's band: the core's own delivery. */
#define MP_PRIO_CORE	(INT_MIN + 1)

/* Registers the core's delivery handlers (after mp_hooks_reset). */
void	mp_router_init(void);
/* A stanza from a bound client: checked, 'from' stamped, routed. */
void	mp_router_from_session(struct mp_session *s, struct mp_node *stanza,
	    struct mp_arena *a);

#endif
