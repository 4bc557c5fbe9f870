/* map.h - a string-keyed hash map with chained buckets (keys borrowed from the values). */
#ifndef MP_MAP_H
#define MP_MAP_H

#include <stddef.h>

struct mp_map_entry {
	struct mp_map_entry	*next;
	const char		*key;	/* owned by whoever owns the entry */
	size_t			 keylen;
	unsigned		 hash;
	void			*value;
};

struct mp_map {
	struct mp_map_entry	**buckets;
	size_t			  nbuckets;
	size_t			  count;
};

unsigned	 mp_hash(const void *data, size_t len, unsigned seed);
void		*mp_map_get(const struct mp_map *m, const char *key, size_t len);
/* Adds or replaces; the map allocates the entry but borrows key. */
void		 mp_map_put(struct mp_map *m, const char *key, size_t len,
		    void *value);
/* Removes; returns the value or NULL. */
void		*mp_map_del(struct mp_map *m, const char *key, size_t len);
void		 mp_map_foreach(const struct mp_map *m,
		    void (*fn)(const char *key, void *value, void *arg), void *arg);
void		 mp_map_clear(struct mp_map *m);

#endif
