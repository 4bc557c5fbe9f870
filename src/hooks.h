/* hooks.h - the event bus: interned names, handlers by priority. */
#ifndef MP_HOOKS_H
#define MP_HOOKS_H

#include <stddef.h>

#include <magpie/module.h>

/* A piece of an event name; a name is looked up from pieces without joining them. */
struct mp_slice {
	const char	*p;
	size_t		 len;
};

/* Interns a name (ids start at 1 and stay valid for the process). */
unsigned	mp_event_intern(const char *name);
/* The id of the name the pieces spell, or 0 if it was never interned. */
unsigned	mp_event_find(const struct mp_slice *pieces, size_t n);

/* owner: the module context, NULL for the core; owner_name prefixes its logs. */
void	mp_hooks_add(unsigned id, mp_hook_fn *fn, void *arg, int priority,
	    void *owner, const char *owner_name);
void	mp_hooks_remove_owner(void *owner);
/* Runs the handlers by descending priority until one says MP_HANDLED. */
enum mp_verdict	mp_hooks_fire(unsigned id, struct mp_event *ev);
enum mp_verdict	mp_hooks_fire_name(const char *name, struct mp_event *ev);
/* Whether anyone hooked the event. */
int	mp_hooks_any(unsigned id);
void	mp_hooks_reset(void);

#endif
