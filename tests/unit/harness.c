/* harness.c - runs every registered unit test and prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct test {
	const char	*name;
	const char	*file;
	mp_test_fn	*fn;
};

static struct test *tests;
static size_t ntests, captests;
static int current_failed;

void
mp_test_register(const char *name, mp_test_fn *fn, const char *file)
{
	if (ntests == captests) {
		captests = captests ? captests * 2 : 64;
		tests = realloc(tests, captests * sizeof(*tests));
		if (tests == NULL)
			abort();
	}
	tests[ntests++] = (struct test){ name, file, fn };
}

void
mp_test_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
	current_failed = 1;
}

int
main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (size_t i = 0; i < ntests; i++) {
		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL &&
		    strstr(tests[i].file, argv[1]) == NULL)
			continue;
		current_failed = 0;
		tests[i].fn();
		if (current_failed) {
			fprintf(stderr, "FAIL %s (%s)\n", tests[i].name,
			    tests[i].file);
			failed++;
		} else
			passed++;
	}
	free(tests);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
