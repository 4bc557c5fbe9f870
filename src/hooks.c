/* hooks.c - the event bus: names interned once, handlers kept sorted by priority. */
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "hooks.h"

#define HOOK_BUCKETS	1024	/* power of two */

struct handler {
	struct handler	*next;
	mp_hook_fn	*fn;
	void		*arg;
	int		 priority;
	void		*owner;
	const char	*owner_name;
};

struct event {
	char		*name;
	size_t		 len;
	unsigned	 hash;
	unsigned	 next_in_bucket;	/* id, 0 ends */
	struct handler	*handlers;
};

static struct event *events;	/* index = id; 0 unused */
static unsigned nevents, capevents;
static unsigned buckets[HOOK_BUCKETS];

static unsigned
slices_hash(const struct mp_slice *s, size_t n, size_t *len_r)
{
	unsigned h = 2166136261u;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)s[i].p;

		for (size_t j = 0; j < s[i].len; j++) {
			h ^= p[j];
			h *= 16777619u;
		}
		len += s[i].len;
	}
	*len_r = len;
	return h;
}

static int
slices_equal(const char *name, const struct mp_slice *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(name, s[i].p, s[i].len) != 0)
			return 0;
		name += s[i].len;
	}
	return 1;
}

unsigned
mp_event_find(const struct mp_slice *pieces, size_t n)
{
	size_t len;
	unsigned h = slices_hash(pieces, n, &len), id;

	for (id = buckets[h & (HOOK_BUCKETS - 1)]; id != 0;
	    id = events[id].next_in_bucket)
		if (events[id].hash == h && events[id].len == len &&
		    slices_equal(events[id].name, pieces, n))
			return id;
	return 0;
}

unsigned
mp_event_intern(const char *name)
{
	struct mp_slice s = { name, strlen(name) };
	unsigned id = mp_event_find(&s, 1);
	struct event *e;
	size_t len;

	if (id != 0)
		return id;
	if (nevents + 1 >= capevents) {
		capevents = capevents ? capevents * 2 : 64;
		events = mp_xrealloc(events, capevents * sizeof(*events));
		if (nevents == 0)
			memset(&events[0], 0, sizeof(events[0]));
	}
	id = ++nevents;
	e = &events[id];
	memset(e, 0, sizeof(*e));
	e->name = mp_xstrdup(name);
	e->hash = slices_hash(&s, 1, &len);
	e->len = len;
	e->next_in_bucket = buckets[e->hash & (HOOK_BUCKETS - 1)];
	buckets[e->hash & (HOOK_BUCKETS - 1)] = id;
	return id;
}

void
mp_hooks_add(unsigned id, mp_hook_fn *fn, void *arg, int priority,
    void *owner, const char *owner_name)
{
	struct handler *h = mp_xcalloc(1, sizeof(*h)), **p;

	h->fn = fn;
	h->arg = arg;
	h->priority = priority;
	h->owner = owner;
	h->owner_name = owner_name;
	/* After every handler of the same or higher priority: ties keep order. */
	for (p = &events[id].handlers; *p != NULL && (*p)->priority >= priority;
	    p = &(*p)->next)
		;
	h->next = *p;
	*p = h;
}

void
mp_hooks_remove_owner(void *owner)
{
	struct handler **p, *h;

	for (unsigned id = 1; id <= nevents; id++)
		for (p = &events[id].handlers; *p != NULL;) {
			h = *p;
			if (h->owner == owner) {
				*p = h->next;
				free(h);
			} else
				p = &h->next;
		}
}

enum mp_verdict
mp_hooks_fire(unsigned id, struct mp_event *ev)
{
	struct handler *h;
	enum mp_verdict v;

	if (id == 0 || id > nevents)
		return MP_PASS;
	for (h = events[id].handlers; h != NULL; h = h->next) {
		if (h->owner_name != NULL)
			mp_log_set_prefix(h->owner_name);
		v = h->fn(ev, h->arg);
		mp_log_set_prefix(NULL);
		if (v == MP_HANDLED)
			return MP_HANDLED;
	}
	return MP_PASS;
}

enum mp_verdict
mp_hooks_fire_name(const char *name, struct mp_event *ev)
{
	struct mp_slice s = { name, strlen(name) };

	return mp_hooks_fire(mp_event_find(&s, 1), ev);
}

int
mp_hooks_any(unsigned id)
{
	return id != 0 && id <= nevents && events[id].handlers != NULL;
}

void
mp_hooks_reset(void)
{
	struct handler *h, *next;

	for (unsigned id = 1; id <= nevents; id++) {
		for (h = events[id].handlers; h != NULL; h = next) {
			next = h->next;
			free(h);
		}
		free(events[id].name);
	}
	free(events);
	events = NULL;
	nevents = capevents = 0;
	memset(buckets, 0, sizeof(buckets));
}

enum mp_verdict
mp_hooks_fire_event(const char *name, struct mp_event *ev)
{
	return mp_hooks_fire_name(name, ev);
}
