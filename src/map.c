/* map.c - string-keyed hash map used by the session registry and the hook bus. */
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>

#include "map.h"

unsigned
mp_hash(const void *data, size_t len, unsigned seed)
{
	const unsigned char *p = data;
	unsigned h = 2166136261u ^ seed;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static struct mp_map_entry **
map_slot(const struct mp_map *m, const char *key, size_t len, unsigned h)
{
	struct mp_map_entry **e;

	for (e = &m->buckets[h & (m->nbuckets - 1)]; *e != NULL;
	    e = &(*e)->next)
		if ((*e)->hash == h && (*e)->keylen == len &&
		    memcmp((*e)->key, key, len) == 0)
			break;
	return e;
}

void *
mp_map_get(const struct mp_map *m, const char *key, size_t len)
{
	struct mp_map_entry **e;

	if (m->nbuckets == 0)
		return NULL;
	e = map_slot(m, key, len, mp_hash(key, len, 0));
	return *e ? (*e)->value : NULL;
}

static void
map_grow(struct mp_map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct mp_map_entry **b = mp_xcalloc(n, sizeof(*b)), *e, *next;

	for (size_t i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void
mp_map_put(struct mp_map *m, const char *key, size_t len, void *value)
{
	unsigned h = mp_hash(key, len, 0);
	struct mp_map_entry **e, *n;

	if (m->count >= m->nbuckets)
		map_grow(m);
	e = map_slot(m, key, len, h);
	if (*e != NULL) {
		(*e)->key = key;
		(*e)->value = value;
		return;
	}
	n = mp_xmalloc(sizeof(*n));
	n->next = NULL;
	n->key = key;
	n->keylen = len;
	n->hash = h;
	n->value = value;
	*e = n;
	m->count++;
}

void *
mp_map_del(struct mp_map *m, const char *key, size_t len)
{
	struct mp_map_entry **e, *d;
	void *v;

	if (m->nbuckets == 0)
		return NULL;
	e = map_slot(m, key, len, mp_hash(key, len, 0));
	if (*e == NULL)
		return NULL;
	d = *e;
	*e = d->next;
	v = d->value;
	free(d);
	m->count--;
	return v;
}

void
mp_map_foreach(const struct mp_map *m,
    void (*fn)(const char *key, void *value, void *arg), void *arg)
{
	struct mp_map_entry *e, *next;

	for (size_t i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;	/* fn may delete e */
			fn(e->key, e->value, arg);
		}
}

void
mp_map_clear(struct mp_map *m)
{
	struct mp_map_entry *e, *next;

	for (size_t i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}
