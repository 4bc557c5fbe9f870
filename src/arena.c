/* arena.c - region allocation: bump-allocated blocks freed all at once, plus cleanups. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#define ARENA_FIRST	1024	/* most stanzas fit in the first block */
#define ARENA_ALIGN	(_Alignof(max_align_t))

struct block {
	struct block	*next;
	size_t		 size;	/* usable bytes after the header */
	size_t		 used;
	max_align_t	 data[];
};

struct cleanup {
	struct cleanup	*next;
	void		(*fn)(void *);
	void		*arg;
};

/*
 * An arena and its first block are one allocation, and freed arenas wait
 * on a short list for the next: a stanza costs no malloc at all when it
 * fits the first block, which most do.
 */
struct mp_arena {
	struct block	*blocks;
	struct cleanup	*cleanups;
	size_t		 total;
	struct mp_arena	*next_free;
};

/* Under AddressSanitizer every arena is freed, so a use after free shows. */
#ifdef __SANITIZE_ADDRESS__
#define ARENA_SPARE	0
#else
#define ARENA_SPARE	16
#endif
#define ARENA_HEAD	((sizeof(struct mp_arena) + ARENA_ALIGN - 1) & \
			    ~(ARENA_ALIGN - 1))

static struct mp_arena *arena_spare;
static unsigned arena_nspare;

void *
mp_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		mp_fatalx("out of memory (%zu bytes)", size);
	return p;
}

void *
mp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		mp_fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
mp_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		mp_fatalx("out of memory (%zu bytes)", size);
	return q;
}

char *
mp_xstrdup(const char *s)
{
	return mp_xstrndup(s, strlen(s));
}

char *
mp_xstrndup(const char *s, size_t n)
{
	char *p = mp_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static struct block *
arena_first(struct mp_arena *a)
{
	return (struct block *)(void *)((char *)a + ARENA_HEAD);
}

struct mp_arena *
mp_arena_new(void)
{
	struct mp_arena *a;
	struct block *b;

	if (arena_spare != NULL) {
		a = arena_spare;
		arena_spare = a->next_free;
		arena_nspare--;
	} else
		a = mp_xmalloc(ARENA_HEAD + sizeof(struct block) +
		    ARENA_FIRST);
	b = arena_first(a);
	b->next = NULL;
	b->size = ARENA_FIRST;
	b->used = 0;
	a->blocks = b;
	a->cleanups = NULL;
	a->total = ARENA_FIRST;
	a->next_free = NULL;
	return a;
}

void
mp_arena_free(struct mp_arena *a)
{
	struct block *b, *nb;
	struct cleanup *c;

	if (a == NULL)
		return;
	/* Cleanups live in the blocks, so they run before the blocks go. */
	for (c = a->cleanups; c != NULL; c = c->next)
		c->fn(c->arg);
	for (b = a->blocks; b != NULL; b = nb) {
		nb = b->next;
		if (b != arena_first(a))
			free(b);
	}
#if ARENA_SPARE > 0
	if (arena_nspare < ARENA_SPARE) {
		a->next_free = arena_spare;
		arena_spare = a;
		arena_nspare++;
		return;
	}
#endif
	free(a);
}

/* Uninitialised memory: for strings, which are written over at once. */
static void *
arena_alloc_raw(struct mp_arena *a, size_t size)
{
	struct block *b = a->blocks;
	size_t need, bsize;
	void *p;

	need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (need < size)
		mp_fatalx("arena allocation overflow");
	if (b == NULL || b->size - b->used < need) {
		bsize = b == NULL ? ARENA_FIRST : b->size * 2;
		if (bsize < need)
			bsize = need;
		b = mp_xmalloc(sizeof(*b) + bsize);
		b->size = bsize;
		b->used = 0;
		/* A large one-off allocation keeps the current block on top. */
		if (a->blocks != NULL && need > a->blocks->size) {
			b->next = a->blocks->next;
			a->blocks->next = b;
		} else {
			b->next = a->blocks;
			a->blocks = b;
		}
		a->total += bsize;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

void *
mp_arena_alloc(struct mp_arena *a, size_t size)
{
	void *p = arena_alloc_raw(a, size);

	memset(p, 0, size);
	return p;
}

char *
mp_arena_strndup(struct mp_arena *a, const char *s, size_t n)
{
	char *p = arena_alloc_raw(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
mp_arena_strdup(struct mp_arena *a, const char *s)
{
	return mp_arena_strndup(a, s, strlen(s));
}

char *
mp_arena_printf(struct mp_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		mp_fatalx("mp_arena_printf: bad format");
	p = arena_alloc_raw(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
mp_arena_on_free(struct mp_arena *a, void (*fn)(void *), void *arg)
{
	struct cleanup *c = mp_arena_alloc(a, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t
mp_arena_size(const struct mp_arena *a)
{
	return a->total;
}
