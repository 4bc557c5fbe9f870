/* session.c - the registry of sessions: all of them, and bound ones by bare JID. */
#include <stdlib.h>
#include <string.h>

#include <magpie/module.h>

#include "map.h"
#include "session.h"

static struct mp_map by_bare;	/* bare JID -> first resource */
static struct mp_session *all;
static size_t nall;

void
mp_sessions_link(struct mp_session *s)
{
	s->prev_all = NULL;
	s->next_all = all;
	if (all != NULL)
		all->prev_all = s;
	all = s;
	nall++;
}

void
mp_sessions_unlink(struct mp_session *s)
{
	if (s->prev_all != NULL)
		s->prev_all->next_all = s->next_all;
	else if (all == s)
		all = s->next_all;
	else
		return;	/* not linked */
	if (s->next_all != NULL)
		s->next_all->prev_all = s->prev_all;
	s->next_all = s->prev_all = NULL;
	nall--;
}

struct mp_session *
mp_sessions_all(void)
{
	return all;
}

size_t
mp_sessions_count(void)
{
	return nall;
}

struct mp_session *
mp_sessions_of(const char *bare)
{
	return mp_map_get(&by_bare, bare, strlen(bare));
}

struct mp_session *
mp_sessions_find(const struct mp_jid *full)
{
	struct mp_session *s;
	char bare[2 * MP_JID_PART_MAX + 2];
	size_t ll, dl;

	if (full->local == NULL || full->resource == NULL)
		return NULL;
	ll = strlen(full->local);
	dl = strlen(full->domain);
	if (ll + dl + 2 > sizeof(bare))
		return NULL;
	memcpy(bare, full->local, ll);
	bare[ll] = '@';
	memcpy(bare + ll + 1, full->domain, dl + 1);
	for (s = mp_sessions_of(bare); s != NULL; s = s->next_resource)
		if (strcmp(s->jid.resource, full->resource) == 0)
			return s;
	return NULL;
}

void
mp_sessions_bind(struct mp_session *s, struct mp_session **old_r)
{
	struct mp_session *first = mp_sessions_of(s->bare);

	*old_r = mp_sessions_find(&s->jid);
	s->next_resource = first;
	/* The key string belongs to the first session: re-key on every change. */
	mp_map_put(&by_bare, s->bare, strlen(s->bare), s);
}

void
mp_sessions_unbind(struct mp_session *s)
{
	struct mp_session **p, *first;

	if (s->bare == NULL)
		return;
	first = mp_sessions_of(s->bare);
	for (p = &first; *p != NULL; p = &(*p)->next_resource)
		if (*p == s) {
			*p = s->next_resource;
			s->next_resource = NULL;
			if (first == NULL)
				mp_map_del(&by_bare, s->bare, strlen(s->bare));
			else
				mp_map_put(&by_bare, first->bare,
				    strlen(first->bare), first);
			return;
		}
}

const struct mp_jid *
mp_session_jid(const struct mp_session *s)
{
	return &s->jid;
}
