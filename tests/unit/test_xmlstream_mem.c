/* test_xmlstream_mem.c - the region allocator behind stream parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmlstream_mem.h"
#include "harness.h"

/* Under AddressSanitizer the region is bypassed (xmlstream_mem.c). */
#ifndef __SANITIZE_ADDRESS__
MP_TEST(xs_mem_region)
{
	const XML_Memory_Handling_Suite *fn = xs_mem_suite();
	struct xs_mem *m = xs_mem_new(), *prev;
	char *a, *b, *c, *big;
	size_t base;

	CHECK(m != NULL);
	prev = xs_mem_enter(m);
	CHECK(xs_mem_footprint(m) == 0);
	a = fn->malloc_fcn(10);
	b = fn->malloc_fcn(1);
	CHECK(a != NULL && b != NULL);
	CHECK(((uintptr_t)a & 15) == 0 && ((uintptr_t)b & 15) == 0);
	memset(a, 'a', 10);
	b[0] = 'b';
	base = xs_mem_footprint(m);
	CHECK(base >= 11 && base <= 64 + 32);
	/* The last block grows in place and gives its room back. */
	c = fn->realloc_fcn(b, 100);
	CHECK(c == b && c[0] == 'b');
	CHECK(xs_mem_footprint(m) > base);
	fn->free_fcn(c);
	CHECK(xs_mem_footprint(m) < base);
	/* A block that is not last moves; its contents come along. */
	b = fn->malloc_fcn(5);
	c = fn->realloc_fcn(a, 20);
	CHECK(c != a && memcmp(c, "aaaaaaaaaa", 10) == 0);
	/* Past the region, memory comes from malloc and is counted. */
	base = xs_mem_footprint(m);
	big = fn->malloc_fcn(100000);
	CHECK(big != NULL);
	memset(big, 1, 100000);
	CHECK(xs_mem_footprint(m) == base + 100000);
	big = fn->realloc_fcn(big, 200000);
	CHECK(big != NULL && big[99999] == 1);
	CHECK(xs_mem_footprint(m) == base + 200000);
	fn->free_fcn(big);
	CHECK(xs_mem_footprint(m) == base);
	CHECK(fn->malloc_fcn(SIZE_MAX - 8) == NULL);
	CHECK(fn->realloc_fcn(c, SIZE_MAX - 8) == NULL);
	fn->free_fcn(NULL);
	fn->free_fcn(b);
	fn->free_fcn(c);
	xs_mem_leave(prev);
	xs_mem_free(m);

	/* Without a region everything is malloc (what valgrind checks). */
	prev = xs_mem_enter(NULL);
	a = fn->malloc_fcn(32);
	a = fn->realloc_fcn(a, 64);
	fn->free_fcn(a);
	xs_mem_leave(prev);
}
#endif

MP_TEST(xs_mem_nesting_and_reuse)
{
	const XML_Memory_Handling_Suite *fn = xs_mem_suite();
	struct xs_mem *m1 = xs_mem_new(), *m2 = xs_mem_new(), *p1, *p2;
	char *a, *b;
	int i;

	p1 = xs_mem_enter(m1);
	a = fn->malloc_fcn(50);
	p2 = xs_mem_enter(m2);
	CHECK(p2 == m1);
	b = fn->malloc_fcn(70);
	CHECK(xs_mem_footprint(m2) > 0);
	fn->free_fcn(b);
	xs_mem_leave(p2);
	/* Back in m1: its last block is still a. */
	fn->free_fcn(a);
	CHECK(xs_mem_footprint(m1) == 0 && xs_mem_footprint(m2) == 0);
	xs_mem_leave(p1);
	xs_mem_free(m1);
	xs_mem_free(m2);
	/* Regions are recycled and come back empty. */
	for (i = 0; i < 100; i++) {
		m1 = xs_mem_new();
		CHECK(m1 != NULL && xs_mem_footprint(m1) == 0);
		p1 = xs_mem_enter(m1);
		a = fn->malloc_fcn(1000);
		memset(a, i, 1000);
		fn->free_fcn(a);
		CHECK(xs_mem_footprint(m1) == 0);
		xs_mem_leave(p1);
		xs_mem_free(m1);
	}
}
