/* session.c - the registry of sessions: all of them, and bound ones by bare JID. */
#include <stdlib.h>
#include <string.h>

#include <magpie/module.h>

#include "conn.h"
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

const char *
mp_session_host(const struct mp_session *s)
{
	return s->host;
}

const char *
mp_session_peer(const struct mp_session *s)
{
	return s->conn != NULL ? mp_conn_peer(s->conn) : s->ip;
}

const char *
mp_session_ip(const struct mp_session *s)
{
	return s->ip;
}

bool
mp_session_bound(const struct mp_session *s)
{
	return s->state == C2S_BOUND;
}

bool
mp_session_connected(const struct mp_session *s)
{
	return s->conn != NULL;
}

bool
mp_session_tls(const struct mp_session *s)
{
	return s->conn != NULL && mp_conn_is_tls(s->conn);
}

bool
mp_session_available(const struct mp_session *s)
{
	return s->state == C2S_BOUND && s->available;
}

int
mp_session_priority(const struct mp_session *s)
{
	return s->priority;
}

struct mp_session *
mp_user_sessions(const char *bare)
{
	return mp_sessions_of(bare);
}

struct mp_session *
mp_session_next(const struct mp_session *s)
{
	return s->next_resource;
}

struct mp_session *
mp_session_find(const struct mp_jid *full)
{
	return mp_sessions_find(full);
}

void *
mp_session_get(const struct mp_session *s, const struct mp_module_ctx *mc)
{
	for (struct mp_sdata *d = s->data; d != NULL; d = d->next)
		if (d->owner == mc)
			return d->data;
	return NULL;
}

void
mp_session_set(struct mp_session *s, struct mp_module_ctx *mc, void *data,
    void (*free_fn)(void *))
{
	struct mp_sdata *d;

	for (d = s->data; d != NULL; d = d->next)
		if (d->owner == mc)
			break;
	if (d == NULL) {
		d = mp_xcalloc(1, sizeof(*d));
		d->owner = mc;
		d->next = s->data;
		s->data = d;
	} else if (d->free_fn != NULL && d->data != NULL && d->data != data)
		d->free_fn(d->data);
	d->data = data;
	d->free_fn = free_fn;
}

void
mp_session_data_free(struct mp_session *s)
{
	struct mp_sdata *d, *next;

	for (d = s->data; d != NULL; d = next) {
		next = d->next;
		if (d->free_fn != NULL && d->data != NULL)
			d->free_fn(d->data);
		free(d);
	}
	s->data = NULL;
}
