/* arena.h - region allocator: everything allocated in an arena dies with it. */
#ifndef MAGPIE_ARENA_H
#define MAGPIE_ARENA_H

#include <stddef.h>

struct mp_arena;

/* Allocation failure aborts the process: these never return NULL. */
void	*mp_xmalloc(size_t size);
void	*mp_xcalloc(size_t n, size_t size);
void	*mp_xrealloc(void *p, size_t size);
char	*mp_xstrdup(const char *s);
char	*mp_xstrndup(const char *s, size_t n);

struct mp_arena	*mp_arena_new(void);
/* Runs the cleanups (last registered first), then frees every block. */
void	 mp_arena_free(struct mp_arena *a);
/* Zeroed memory aligned for any type, valid until mp_arena_free(). */
void	*mp_arena_alloc(struct mp_arena *a, size_t size);
char	*mp_arena_strdup(struct mp_arena *a, const char *s);
char	*mp_arena_strndup(struct mp_arena *a, const char *s, size_t n);
char	*mp_arena_printf(struct mp_arena *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Attaches a non-memory resource (a read transaction, a timer) to the arena. */
void	 mp_arena_on_free(struct mp_arena *a, void (*fn)(void *), void *arg);
/* Bytes held by the arena's blocks (for accounting and tests). */
size_t	 mp_arena_size(const struct mp_arena *a);

#endif
