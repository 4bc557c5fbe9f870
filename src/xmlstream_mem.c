/* xmlstream_mem.c - expat's memory for stream parsers: one region per parser, measured and given back whole. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <magpie/arena.h>

#include "xmlstream_mem.h"

/*
 * A parser's memory lives in its own mapping rather than among the
 * sessions' long-lived objects in the heap: when an idle stream frees its
 * parser, the pages go back to the system at once instead of staying as
 * holes between other sessions' data. Only touched pages cost memory, so
 * the reservation is generous; what does not fit goes to malloc.
 */
#define XS_MEM_REGION	(32 * 1024)
/* Regions kept for the next parser (logins create several in a row). */
#define XS_MEM_SPARE	32
#define XS_MEM_ALIGN	16
/*
 * Under AddressSanitizer every block comes from malloc, so an overrun in
 * expat's memory is still caught; only the accounting remains.
 */
#ifdef __SANITIZE_ADDRESS__
#define XS_MEM_USE_REGION	0
#else
#define XS_MEM_USE_REGION	1
#endif

/* Before each block: its size, and whether it came from malloc. */
struct xs_blk {
	size_t		 size;
	size_t		 heap;
};

struct xs_mem {
	char		*base;
	size_t		 top;		/* first free byte of the region */
	size_t		 overflow;	/* bytes from malloc, still held */
	struct xs_mem	*next_spare;
};

static struct xs_mem *xs_cur;
static struct xs_mem *xs_spare;
static unsigned xs_nspare;

static size_t
xs_mem_round(size_t n)
{
	return (n + XS_MEM_ALIGN - 1) & ~(size_t)(XS_MEM_ALIGN - 1);
}

struct xs_mem *
xs_mem_new(void)
{
	struct xs_mem *m;
	void *p;

	if (xs_spare != NULL) {
		m = xs_spare;
		xs_spare = m->next_spare;
		xs_nspare--;
		m->next_spare = NULL;
		return m;
	}
	p = mmap(NULL, XS_MEM_REGION, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	m = mp_xcalloc(1, sizeof(*m));
	m->base = p;
	return m;
}

void
xs_mem_free(struct xs_mem *m)
{
	if (m == NULL)
		return;
	if (m->top <= XS_MEM_REGION / 2 && xs_nspare < XS_MEM_SPARE) {
		m->top = 0;
		m->overflow = 0;
		m->next_spare = xs_spare;
		xs_spare = m;
		xs_nspare++;
		return;
	}
	munmap(m->base, XS_MEM_REGION);
	free(m);
}

size_t
xs_mem_footprint(const struct xs_mem *m)
{
	return m->top + m->overflow;
}

struct xs_mem *
xs_mem_enter(struct xs_mem *m)
{
	struct xs_mem *prev = xs_cur;

	xs_cur = m;
	return prev;
}

void
xs_mem_leave(struct xs_mem *prev)
{
	xs_cur = prev;
}

static struct xs_blk *
xs_mem_blk(void *p)
{
	return (struct xs_blk *)p - 1;
}

static void *
xs_mem_malloc(size_t n)
{
	struct xs_mem *m = xs_cur;
	struct xs_blk *b;
	size_t need;

	if (n > SIZE_MAX / 2)
		return NULL;
	need = sizeof(*b) + xs_mem_round(n);
	if (XS_MEM_USE_REGION && m != NULL &&
	    XS_MEM_REGION - m->top >= need) {
		b = (struct xs_blk *)(m->base + m->top);
		m->top += need;
		b->heap = 0;
	} else {
		if ((b = malloc(sizeof(*b) + n)) == NULL)
			return NULL;
		b->heap = 1;
		if (m != NULL)
			m->overflow += n;
	}
	b->size = n;
	return b + 1;
}

/* True when the block ends where the region's free space starts. */
static bool
xs_mem_is_last(const struct xs_mem *m, const struct xs_blk *b)
{
	return (const char *)(b + 1) + xs_mem_round(b->size) ==
	    m->base + m->top;
}

static void
xs_mem_release(void *p)
{
	struct xs_mem *m = xs_cur;
	struct xs_blk *b;

	if (p == NULL)
		return;
	b = xs_mem_blk(p);
	if (b->heap) {
		if (m != NULL)
			m->overflow -= b->size;
		free(b);
		return;
	}
	/* Region memory returns with the region, or now if it was the last. */
	if (m != NULL && xs_mem_is_last(m, b))
		m->top = (size_t)((char *)b - m->base);
}

static void *
xs_mem_realloc(void *p, size_t n)
{
	struct xs_mem *m = xs_cur;
	struct xs_blk *b;
	void *q;

	if (p == NULL)
		return xs_mem_malloc(n);
	b = xs_mem_blk(p);
	if (!b->heap && m != NULL && xs_mem_is_last(m, b) &&
	    n <= SIZE_MAX / 2 && (size_t)((char *)(b + 1) - m->base) +
	    xs_mem_round(n) <= XS_MEM_REGION) {
		m->top = (size_t)((char *)(b + 1) - m->base) +
		    xs_mem_round(n);
		b->size = n;
		return p;
	}
	if ((q = xs_mem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, b->size < n ? b->size : n);
	xs_mem_release(p);
	return q;
}

static const XML_Memory_Handling_Suite xs_mem_fns = {
	xs_mem_malloc, xs_mem_realloc, xs_mem_release,
};

const XML_Memory_Handling_Suite *
xs_mem_suite(void)
{
	return &xs_mem_fns;
}
