/* xmlstream_mem.h - expat's memory for stream parsers: one region per parser, measured and given back whole. */
#ifndef MP_XMLSTREAM_MEM_H
#define MP_XMLSTREAM_MEM_H

#include <stddef.h>

#include <expat.h>

struct xs_mem;

/* A region for one parser; NULL only when the system refuses memory. */
struct xs_mem	*xs_mem_new(void);
/* Gives the region back (the parser using it must be freed first). */
void		 xs_mem_free(struct xs_mem *m);
/* Bytes the parser holds: its part of the region plus what overflowed. */
size_t		 xs_mem_footprint(const struct xs_mem *m);
/*
 * Expat's memory functions carry no context, so every call into a parser
 * runs between xs_mem_enter(its region) and xs_mem_leave(the returned
 * previous one); calls nest (a callback may drive another parser).
 */
const XML_Memory_Handling_Suite *xs_mem_suite(void);
struct xs_mem	*xs_mem_enter(struct xs_mem *m);
void		 xs_mem_leave(struct xs_mem *prev);

#endif
