/* harness.h - a tiny unit test harness: MP_TEST registers, CHECK records. */
#ifndef MP_HARNESS_H
#define MP_HARNESS_H

#include <string.h>

typedef void mp_test_fn(void);

void	mp_test_register(const char *name, mp_test_fn *fn, const char *file);
void	mp_test_fail(const char *file, int line, const char *what);

#define MP_TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void name##_register(void)	\
	{ mp_test_register(#name, name, __FILE__); }			\
	static void name(void)

/* A failed check fails the test and returns from it. */
#define CHECK(cond) do {						\
	if (!(cond)) { mp_test_fail(__FILE__, __LINE__, #cond); return; } \
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) {\
		mp_test_fail(__FILE__, __LINE__, #got " == " #want);	\
		return;							\
	}								\
} while (0)

#endif
