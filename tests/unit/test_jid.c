/* test_jid.c - JID splitting and preparation (RFC 7622, PRECIS, IDNA2008). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unictype.h>

#include <magpie/arena.h>
#include <magpie/jid.h>

#include "harness.h"
#include "precis.h"

/* Test hooks defined in src/precis.c and src/jid.c. */
extern bool mp_precis_fast_path;
extern bool mp_jid_fast_path;

/* The prepared full JID, or NULL when s is not a valid JID. */
static const char *
jid_prep(struct mp_arena *a, const char *s)
{
	struct mp_jid jid;
	const char *err = NULL;

	if (mp_jid_parse(a, s, &jid, &err) == -1)
		return err != NULL ? NULL : "error_r not set";
	return mp_jid_full(a, &jid);
}

/* Preparing an already prepared JID must give it back unchanged. */
static bool
jid_idempotent(struct mp_arena *a, const char *s)
{
	struct mp_jid j1, j2;
	const char *err, *f1, *f2;

	if (mp_jid_parse(a, s, &j1, &err) == -1)
		return true;
	f1 = mp_jid_full(a, &j1);
	if (mp_jid_parse(a, f1, &j2, &err) == -1) {
		fprintf(stderr, "  not idempotent: '%s' -> '%s' -> %s\n", s,
		    f1, err);
		return false;
	}
	f2 = mp_jid_full(a, &j2);
	if (strcmp(f1, f2) != 0 || !mp_jid_eq(&j1, &j2)) {
		fprintf(stderr, "  not idempotent: '%s' -> '%s' -> '%s'\n", s,
		    f1, f2);
		return false;
	}
	return true;
}

static size_t
utf8_put(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xC0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xE0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		p[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	p[0] = (char)(0xF0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	p[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static char *
repeat(const char *unit, size_t times, const char *suffix)
{
	size_t ul = strlen(unit), sl = strlen(suffix);
	char *s = mp_xmalloc(ul * times + sl + 1), *p = s;

	for (size_t i = 0; i < times; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, suffix, sl + 1);
	return s;
}

static uint32_t test_rng = 12345;

static uint32_t
rnd(void)
{
	test_rng = test_rng * 1103515245u + 12345u;
	return test_rng >> 8;
}

/* Every JID string used anywhere below, valid or not, for the corpus tests. */
static const char *const corpus[] = {
	/* RFC 7622 3.5.1 */
	"juliet@example.com",
	"juliet@example.com/foo",
	"juliet@example.com/foo bar",
	"juliet@example.com/foo@bar",
	"foo\\20bar@example.com",
	"fussball@example.com",
	"fu\xc3\x9f" "ball@example.com",
	"\xcf\x80@example.com",
	"\xce\xa3@example.com/foo",
	"\xcf\x83@example.com/foo",
	"\xcf\x82@example.com/foo",
	"king@example.com/\xe2\x99\x9a",
	"example.com",
	"example.com/foobar",
	"a.example.com/b@example.net",
	/* RFC 7622 3.5.2 */
	"\"juliet\"@example.com",
	"foo bar@example.com",
	"juliet@example.com/",
	"@example.com/",
	"henry\xe2\x85\xa3@example.com",
	"\xe2\x99\x9a@example.com",
	"juliet@",
	"/foobar",
	/* splitting */
	"a@b/c@d", "a/b@c", "a@b@c", "a@@b", "user@@host", "@example.com",
	"user@", "example.com/", "", "@", "/", "@/", "user@/res", "a@b/c/d",
	"@@", "//", "a@b//", "a@b/@",
	/* case, width, NFC */
	"JuliET@Example.COM", "JuliET@Example.COM/ReSource",
	"\xef\xbc\xaa\xef\xbc\xb5\xef\xbc\xac@example.com",
	"\xef\xbd\xb6\xef\xbe\x9e@example.com",
	"x@example.com/\xef\xbc\xa1\xef\xbc\xa2",
	"x@example.com/foo\xe3\x80\x80" "bar",
	"x@example.com/x\xc2\xa0y",
	"e\xcc\x81@example.com/e\xcc\x81",
	"\xe2\x84\xab@example.com/\xe2\x84\xab",
	"\xce\x9f\xce\x94\xce\x9f\xce\xa3@example.com",
	"\xc4\xb0@example.com",
	"\xe1\xba\x9e@example.com",
	/* fullwidth separators */
	"juliet\xef\xbc\xa0" "example.com",
	"a\xef\xbc\xa0" "b@example.com",
	"a\xef\xbc\x8f" "b@example.com",
	"a@example.com/x\xef\xbc\xa0y",
	"example.com\xef\xbc\x8f" "res",
	/* IDN */
	"juliet@caf\xc3\xa9.example", "juliet@xn--caf-dma.example",
	"juliet@XN--CAF-DMA.example", "juliet@CAF\xc3\x89.example",
	"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	"xn--r8jz45g.xn--zckzah",
	"stra\xc3\x9f" "e.de", "example\xef\xbc\x8e" "com",
	"example\xe3\x80\x82" "com", "example.com.", "example.com..",
	"example.com\xe3\x80\x82", "juliet@example.com./r",
	"xn--zz.com", "xn--bad.com", "a_b.com", "-ab.com", "ab-.com",
	"ab--cd.com", "a..b", ".a", ".", "..", "\xe2\x99\x9a.com", "a b.com",
	"[::1", "[garbage]", "example.com:5222", "x@xn--53h.com",
	"\xc2\xad", "ex\xc2\xad" "ample.com",
	/* IP literals */
	"juliet@127.0.0.1", "juliet@[::1]/r", "[2001:db8::1]", "[::1].",
	"127.0.0.1.", "1.2.3.4.5", "[127.0.0.1]", "[::1]x",
	/* forbidden localpart characters */
	"a:b@example.com", "a<b@example.com", "a>b@example.com",
	"a&b@example.com", "a'b@example.com", "a\"b@example.com",
	/* bidi */
	"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com",
	"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" "1@example.com",
	"1\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com",
	"a\xd7\xa9@example.com", "\xd7\xa9" "a@example.com",
	"\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85@example.com",
	"\xd7\xa9" "1\xd9\xa3@example.com", "\xd7\xa9\xd9\xa3@example.com",
	"\xd9\xa3@example.com", "\xd7\xa9\xd6\xb8@example.com",
	"\xd7\x90\xd7\xb3@example.com", "a\xd7\xb3@example.com",
	/* contextual rules */
	"a\xe2\x80\x8d" "b@example.com",
	"\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7@example.com",
	"\xd8\xa8\xe2\x80\x8c\xd8\xa8@example.com",
	"a\xe2\x80\x8c" "b@example.com",
	"col\xc2\xb7legi@example.com", "a\xc2\xb7" "b@example.com",
	"\xcd\xb5\xce\xb1@example.com", "\xcd\xb5" "a@example.com",
	"\xe3\x82\xa2\xe3\x83\xbb\xe3\x82\xa2@example.com",
	"a\xe3\x83\xbb" "b@example.com",
	"\xd8\xa8\xd9\xa1\xdb\xb1@example.com",
	/* controls, bad UTF-8, unassigned, disallowed */
	"a\tb@example.com", "a\x01" "b@example.com", "a@b/x\ny",
	"a@b/x\x7fy", "a@b/\xc2\x80", "\xff@example.com",
	"\xc0\xaf@example.com", "\xed\xa0\x80@example.com",
	"\xf4\x90\x80\x80@example.com", "\xe2\x82@example.com",
	"a@b/\xff", "a@example\xff.com", "a@b/\xe2\x82",
	"\xcd\xb8@example.com", "a@b/\xcd\xb8", "\xf1\x90\x80\x80@b",
	"\xef\xbf\xbf@b", "a@b/\xef\xbf\xbf", "\xe2\x80\x8b@b",
	"a@b/\xe2\x80\x8b", "\xe1\x84\x80@b", "\xe1\x84\x80\xe1\x85\xa1@b",
	"\xee\x80\x80@b", "a@b/\xee\x80\x80", "a@b/\xe2\x85\xa3",
	"a@b/ ", "a@b/  x  ",
};

#define NCORPUS	(sizeof(corpus) / sizeof(corpus[0]))

static void
check_parts(const char *in, const char *local, const char *domain,
    const char *resource, int line, bool *ok)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_jid jid;
	const char *err = NULL;

	if (mp_jid_parse(a, in, &jid, &err) == -1) {
		fprintf(stderr, "  line %d: '%s' rejected: %s\n", line, in,
		    err);
		*ok = false;
	} else if ((jid.local == NULL ? local != NULL : local == NULL ||
	    strcmp(jid.local, local) != 0) ||
	    strcmp(jid.domain, domain) != 0 ||
	    (jid.resource == NULL ? resource != NULL : resource == NULL ||
	    strcmp(jid.resource, resource) != 0)) {
		fprintf(stderr, "  line %d: '%s' -> '%s' '%s' '%s'\n", line,
		    in, jid.local ? jid.local : "(null)", jid.domain,
		    jid.resource ? jid.resource : "(null)");
		*ok = false;
	}
	mp_arena_free(a);
}

#define PARTS(in, l, d, r)	check_parts(in, l, d, r, __LINE__, &ok)

static void
check_invalid(const char *in, int line, bool *ok)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_jid jid;
	const char *err = NULL;

	if (mp_jid_parse(a, in, &jid, &err) == 0) {
		fprintf(stderr, "  line %d: '%s' accepted as '%s'\n", line,
		    in, mp_jid_full(a, &jid));
		*ok = false;
	} else if (err == NULL || jid.domain != NULL) {
		fprintf(stderr, "  line %d: '%s': no error or jid set\n",
		    line, in);
		*ok = false;
	}
	mp_arena_free(a);
}

#define INVALID(in)	check_invalid(in, __LINE__, &ok)

MP_TEST(jid_rfc7622_valid)
{
	bool ok = true;

	PARTS("juliet@example.com", "juliet", "example.com", NULL);
	PARTS("juliet@example.com/foo", "juliet", "example.com", "foo");
	PARTS("juliet@example.com/foo bar", "juliet", "example.com",
	    "foo bar");
	PARTS("juliet@example.com/foo@bar", "juliet", "example.com",
	    "foo@bar");
	PARTS("foo\\20bar@example.com", "foo\\20bar", "example.com", NULL);
	PARTS("fussball@example.com", "fussball", "example.com", NULL);
	/* toLowerCase, not case folding: sharp s stays. */
	PARTS("fu\xc3\x9f" "ball@example.com", "fu\xc3\x9f" "ball",
	    "example.com", NULL);
	PARTS("\xcf\x80@example.com", "\xcf\x80", "example.com", NULL);
	PARTS("\xce\xa3@example.com/foo", "\xcf\x83", "example.com", "foo");
	PARTS("\xcf\x83@example.com/foo", "\xcf\x83", "example.com", "foo");
	PARTS("\xcf\x82@example.com/foo", "\xcf\x82", "example.com", "foo");
	PARTS("king@example.com/\xe2\x99\x9a", "king", "example.com",
	    "\xe2\x99\x9a");
	PARTS("example.com", NULL, "example.com", NULL);
	PARTS("example.com/foobar", NULL, "example.com", "foobar");
	PARTS("a.example.com/b@example.net", NULL, "a.example.com",
	    "b@example.net");
	CHECK(ok);
}

MP_TEST(jid_rfc7622_invalid)
{
	bool ok = true;

	INVALID("\"juliet\"@example.com");
	INVALID("foo bar@example.com");
	INVALID("juliet@example.com/");
	INVALID("@example.com/");
	INVALID("henry\xe2\x85\xa3@example.com");
	INVALID("\xe2\x99\x9a@example.com");
	INVALID("juliet@");
	INVALID("/foobar");
	CHECK(ok);
}

MP_TEST(jid_split)
{
	bool ok = true;

	PARTS("a@b/c@d", "a", "b", "c@d");
	PARTS("a/b@c", NULL, "a", "b@c");
	PARTS("a@b/c/d", "a", "b", "c/d");
	PARTS("a@b/@", "a", "b", "@");
	PARTS("a@b//", "a", "b", "/");
	INVALID("a@b@c");
	INVALID("a@@b");
	INVALID("user@@host");
	INVALID("@example.com");
	INVALID("user@");
	INVALID("example.com/");
	INVALID("");
	INVALID("@");
	INVALID("/");
	INVALID("@/");
	INVALID("@@");
	INVALID("//");
	INVALID("user@/res");
	CHECK(ok);
}

MP_TEST(jid_lengths)
{
	struct mp_arena *a = mp_arena_new();
	const char *out, *err;
	bool ok = true;
	char *s;

	s = repeat("a", 1023, "@example.com");
	PARTS(s, mp_arena_strndup(a, s, 1023), "example.com", NULL);
	free(s);
	s = repeat("a", 1024, "@example.com");
	INVALID(s);
	free(s);
	/* 1024 fullwidth letters are 3072 bytes in, 1024 bytes out. */
	s = repeat("\xef\xbd\x81", 1023, "@example.com");
	CHECK(jid_prep(a, s) != NULL);
	CHECK(strlen(jid_prep(a, s)) == 1023 + strlen("@example.com"));
	free(s);
	s = repeat("\xef\xbd\x81", 1024, "@example.com");
	INVALID(s);
	free(s);
	s = repeat("b", 1023, "");
	CHECK(mp_jid_prep_resource(a, s, 1023, &out, &err) == 0);
	CHECK(strlen(out) == 1023);
	free(s);
	s = repeat("b", 1024, "");
	CHECK(mp_jid_prep_resource(a, s, 1024, &out, &err) == -1);
	free(s);
	s = repeat("x", 1024, "");
	CHECK(mp_jid_prep_domain(a, s, 1024, &out, &err) == -1);
	free(s);
	s = repeat("r", 1023, "");
	CHECK_STR(jid_prep(a, mp_arena_printf(a, "a@b/%s", s)),
	    mp_arena_printf(a, "a@b/%s", s));
	INVALID(mp_arena_printf(a, "a@b/%sr", s));
	INVALID(mp_arena_printf(a, "a@%s", s));
	free(s);
	/* Labels of 63 bytes, names of 253. */
	s = repeat("c", 63, ".com");
	CHECK(mp_jid_prep_domain(a, s, strlen(s), &out, &err) == 0);
	free(s);
	s = repeat("c", 64, ".com");
	CHECK(mp_jid_prep_domain(a, s, strlen(s), &out, &err) == -1);
	free(s);
	s = repeat("abcdefghi.", 25, "abc");
	CHECK(strlen(s) == 253);
	CHECK(mp_jid_prep_domain(a, s, 253, &out, &err) == 0);
	free(s);
	s = repeat("abcdefghi.", 25, "abcd");
	CHECK(mp_jid_prep_domain(a, s, 254, &out, &err) == -1);
	free(s);
	/* Hostile sizes are refused without trouble. */
	s = repeat("a", 1 << 20, "");
	INVALID(s);
	s[1 << 19] = '@';
	INVALID(s);
	memset(s, '@', 1 << 20);
	INVALID(s);
	memset(s, '/', 1 << 20);
	INVALID(s);
	free(s);
	s = repeat("\xc3\xa9", 1 << 18, "@example.com");
	INVALID(s);
	free(s);
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_case_and_width)
{
	struct mp_arena *a = mp_arena_new();
	bool ok = true;

	CHECK_STR(jid_prep(a, "JuliET@Example.COM"), "juliet@example.com");
	/* Resourceparts keep their case. */
	CHECK_STR(jid_prep(a, "JuliET@Example.COM/ReSource"),
	    "juliet@example.com/ReSource");
	PARTS("\xef\xbc\xaa\xef\xbc\xb5\xef\xbc\xac@example.com", "jul",
	    "example.com", NULL);
	/* Halfwidth KA and voiced mark compose to GA. */
	PARTS("\xef\xbd\xb6\xef\xbe\x9e@example.com", "\xe3\x82\xac",
	    "example.com", NULL);
	/* OpaqueString maps no width, but maps non-ASCII spaces. */
	PARTS("x@example.com/\xef\xbc\xa1\xef\xbc\xa2", "x", "example.com",
	    "\xef\xbc\xa1\xef\xbc\xa2");
	PARTS("x@example.com/foo\xe3\x80\x80" "bar", "x", "example.com",
	    "foo bar");
	PARTS("x@example.com/x\xc2\xa0y", "x", "example.com", "x y");
	PARTS("e\xcc\x81@example.com/e\xcc\x81", "\xc3\xa9", "example.com",
	    "\xc3\xa9");
	/* ANGSTROM SIGN: lower-cased in the localpart, only NFC after. */
	PARTS("\xe2\x84\xab@example.com/\xe2\x84\xab", "\xc3\xa5",
	    "example.com", "\xc3\x85");
	/* Final sigma by Unicode toLowerCase. */
	PARTS("\xce\x9f\xce\x94\xce\x9f\xce\xa3@example.com",
	    "\xce\xbf\xce\xb4\xce\xbf\xcf\x82", "example.com", NULL);
	PARTS("\xc4\xb0@example.com", "i\xcc\x87", "example.com", NULL);
	PARTS("\xe1\xba\x9e@example.com", "\xc3\x9f", "example.com", NULL);
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_fullwidth_separators)
{
	struct mp_arena *a = mp_arena_new();
	const char *out, *err;
	bool ok = true;

	/*
	 * Splitting happens before preparation, so U+FF20 never separates:
	 * without an ASCII '@' the whole string is a domainpart, where '@'
	 * (its mapping) is not LDH; inside a localpart it maps to '@', which
	 * RFC 7622 3.3.1 forbids there.
	 */
	INVALID("juliet\xef\xbc\xa0" "example.com");
	INVALID("\xef\xbd\x8a\xef\xbd\x95\xef\xbc\xa0\xef\xbd\x85\xef\xbd\x98"
	    "\xef\xbc\x8e\xef\xbd\x83\xef\xbd\x8f");
	INVALID("a\xef\xbc\xa0" "b@example.com");
	INVALID("a\xef\xbc\x8f" "b@example.com");
	INVALID("example.com\xef\xbc\x8f" "res");
	CHECK(mp_jid_prep_local(a, "a\xef\xbc\xa0" "b", 5, &out, &err) == -1);
	/* Resourceparts take them as they are. */
	PARTS("a@example.com/x\xef\xbc\xa0y", "a", "example.com",
	    "x\xef\xbc\xa0y");
	/* The fullwidth full stop is a label separator in domains. */
	PARTS("a@example\xef\xbc\x8e" "com", "a", "example.com", NULL);
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_local_forbidden)
{
	struct mp_arena *a = mp_arena_new();
	const char *bad = "\"&'/:<>@", *out, *err;
	char s[4];
	bool ok = true;

	for (const char *p = bad; *p != '\0'; p++) {
		snprintf(s, sizeof(s), "a%cb", *p);
		CHECK(mp_jid_prep_local(a, s, 3, &out, &err) == -1);
		/* Resources allow them all. */
		CHECK(mp_jid_prep_resource(a, s, 3, &out, &err) == 0);
		CHECK_STR(out, s);
	}
	INVALID("a:b@example.com");
	INVALID("a<b@example.com");
	INVALID("a>b@example.com");
	INVALID("a&b@example.com");
	INVALID("a'b@example.com");
	INVALID("a\"b@example.com");
	PARTS("a!#$%()*+,-.;=?[]^_`{|}~@example.com",
	    "a!#$%()*+,-.;=?[]^_`{|}~", "example.com", NULL);
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_idn)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_jid u, x, y;
	const char *err;
	bool ok = true;

	CHECK(mp_jid_parse(a, "juliet@caf\xc3\xa9.example", &u, &err) == 0);
	CHECK(mp_jid_parse(a, "juliet@xn--caf-dma.example", &x, &err) == 0);
	CHECK(mp_jid_eq(&u, &x));
	CHECK_STR(x.domain, "caf\xc3\xa9.example");
	CHECK(mp_jid_parse(a, "JULIET@XN--CAF-DMA.EXAMPLE", &y, &err) == 0);
	CHECK(mp_jid_eq(&u, &y));
	CHECK(mp_jid_parse(a, "juliet@CAF\xc3\x89.example", &y, &err) == 0);
	CHECK(mp_jid_eq(&u, &y));
	CHECK(mp_jid_parse(a,
	    "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	    &x, &err) == 0);
	CHECK(mp_jid_parse(a, "xn--r8jz45g.xn--zckzah", &y, &err) == 0);
	CHECK(mp_jid_eq(&x, &y));
	CHECK(x.local == NULL);
	/* Nontransitional: sharp s is kept. */
	PARTS("stra\xc3\x9f" "e.de", NULL, "stra\xc3\x9f" "e.de", NULL);
	PARTS("example\xe3\x80\x82" "com", NULL, "example.com", NULL);
	PARTS("ex\xc2\xad" "ample.com", NULL, "example.com", NULL);
	PARTS("example.com.", NULL, "example.com", NULL);
	PARTS("example.com\xe3\x80\x82", NULL, "example.com", NULL);
	PARTS("juliet@example.com./r", "juliet", "example.com", "r");
	INVALID("example.com..");
	INVALID("example.com.\xe3\x80\x82");
	INVALID(".");
	INVALID("..");
	INVALID("\xc2\xad");
	INVALID("xn--zz.com");
	INVALID("xn--bad.com");
	INVALID("x@xn--53h.com");
	INVALID("a_b.com");
	INVALID("-ab.com");
	INVALID("ab-.com");
	INVALID("ab--cd.com");
	INVALID("a..b");
	INVALID(".a");
	INVALID("\xe2\x99\x9a.com");
	INVALID("a b.com");
	INVALID("example.com:5222");
	INVALID("a@example\xff.com");
	CHECK(mp_jid_prep_domain(a, "a\0b", 3, &err, &err) == -1);
	/* IP literals are kept as they are. */
	PARTS("juliet@127.0.0.1", "juliet", "127.0.0.1", NULL);
	PARTS("127.0.0.1.", NULL, "127.0.0.1", NULL);
	PARTS("juliet@[::1]/r", "juliet", "[::1]", "r");
	PARTS("[2001:db8::1]", NULL, "[2001:db8::1]", NULL);
	PARTS("[::1].", NULL, "[::1]", NULL);
	PARTS("1.2.3.4.5", NULL, "1.2.3.4.5", NULL);
	INVALID("[::1");
	INVALID("[garbage]");
	INVALID("[127.0.0.1]");
	INVALID("[::1]x");
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_bidi_and_context)
{
	bool ok = true;

	PARTS("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com",
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "example.com", NULL);
	PARTS("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" "1@example.com",
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" "1", "example.com", NULL);
	PARTS("\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85@example.com",
	    "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", "example.com", NULL);
	PARTS("\xd7\xa9\xd9\xa3@example.com", "\xd7\xa9\xd9\xa3",
	    "example.com", NULL);
	/* Trailing NSMs after the final strong character (rule 3). */
	PARTS("\xd7\xa9\xd6\xb8@example.com", "\xd7\xa9\xd6\xb8",
	    "example.com", NULL);
	/* Hebrew geresh after a Hebrew letter (RFC 5892 A.5). */
	PARTS("\xd7\x90\xd7\xb3@example.com", "\xd7\x90\xd7\xb3",
	    "example.com", NULL);
	INVALID("a\xd7\xb3@example.com");
	INVALID("1\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com");
	INVALID("a\xd7\xa9@example.com");
	INVALID("\xd7\xa9" "a@example.com");
	INVALID("\xd7\xa9" "1\xd9\xa3@example.com");	/* EN and AN */
	INVALID("\xd9\xa3@example.com");		/* starts with AN */
	/* ZWJ after a virama, ZWNJ between joining letters. */
	PARTS("\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7@example.com",
	    "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7", "example.com",
	    NULL);
	PARTS("\xd8\xa8\xe2\x80\x8c\xd8\xa8@example.com",
	    "\xd8\xa8\xe2\x80\x8c\xd8\xa8", "example.com", NULL);
	INVALID("a\xe2\x80\x8d" "b@example.com");
	INVALID("a\xe2\x80\x8c" "b@example.com");
	PARTS("col\xc2\xb7legi@example.com", "col\xc2\xb7legi", "example.com",
	    NULL);
	INVALID("a\xc2\xb7" "b@example.com");
	PARTS("\xcd\xb5\xce\xb1@example.com", "\xcd\xb5\xce\xb1",
	    "example.com", NULL);
	INVALID("\xcd\xb5" "a@example.com");
	PARTS("\xe3\x82\xa2\xe3\x83\xbb\xe3\x82\xa2@example.com",
	    "\xe3\x82\xa2\xe3\x83\xbb\xe3\x82\xa2", "example.com", NULL);
	INVALID("a\xe3\x83\xbb" "b@example.com");
	INVALID("\xd8\xa8\xd9\xa1\xdb\xb1@example.com");
	CHECK(ok);
}

MP_TEST(jid_bad_characters)
{
	struct mp_arena *a = mp_arena_new();
	const char *out, *err = NULL;
	bool ok = true;

	INVALID("a\tb@example.com");
	INVALID("a\x01" "b@example.com");
	INVALID("a@b/x\ny");
	INVALID("a@b/x\x7fy");
	INVALID("a@b/\xc2\x80");
	INVALID("\xff@example.com");
	INVALID("\xc0\xaf@example.com");	/* overlong '/' */
	INVALID("\xed\xa0\x80@example.com");	/* surrogate */
	INVALID("\xf4\x90\x80\x80@example.com");	/* above U+10FFFF */
	INVALID("\xe2\x82@example.com");	/* truncated */
	INVALID("a@b/\xff");
	INVALID("a@b/\xe2\x82");
	INVALID("\xcd\xb8@example.com");	/* U+0378 unassigned */
	INVALID("a@b/\xcd\xb8");
	INVALID("\xf1\x90\x80\x80@b");		/* U+50000 unassigned */
	INVALID("\xef\xbf\xbf@b");		/* noncharacter */
	INVALID("a@b/\xef\xbf\xbf");
	INVALID("\xe2\x80\x8b@b");		/* ZWSP, default ignorable */
	INVALID("a@b/\xe2\x80\x8b");
	INVALID("\xe1\x84\x80@b");		/* lone conjoining jamo */
	INVALID("\xee\x80\x80@b");		/* private use */
	INVALID("a@b/\xee\x80\x80");
	/* Jamo that NFC composes into a syllable are fine. */
	PARTS("\xe1\x84\x80\xe1\x85\xa1@b", "\xea\xb0\x80", "b", NULL);
	/* FreeformClass allows symbols, compatibility characters, spaces. */
	PARTS("a@b/\xe2\x85\xa3", "a", "b", "\xe2\x85\xa3");
	PARTS("a@b/ ", "a", "b", " ");
	PARTS("a@b/  x  ", "a", "b", "  x  ");

	CHECK(mp_precis_username(a, "a\x01", 2, &out, &err) == -1);
	CHECK_STR(err, "control character");
	CHECK(mp_precis_username(a, "\xcd\xb8", 2, &out, &err) == -1);
	CHECK_STR(err, "unassigned code point");
	CHECK(mp_precis_opaque(a, "\xff", 1, &out, &err) == -1);
	CHECK_STR(err, "invalid UTF-8");
	CHECK(mp_precis_opaque(a, "", 0, &out, &err) == -1);
	CHECK(mp_precis_username(a, "", 0, &out, &err) == -1);
	CHECK(mp_precis_opaque(a, "a\0b", 3, &out, &err) == -1);
	CHECK(mp_precis_username(a, "\xd7\xa9" "a", 3, &out, &err) == -1);
	CHECK_STR(err, "bidi rule violated");
	/* Passwords: OpaqueString keeps case and symbols. */
	CHECK(mp_precis_opaque(a, "Pa\xc3\x9fw\xc3\xb6rd!\xe2\x99\x9a",
	    13, &out, &err) == 0);
	CHECK_STR(out, "Pa\xc3\x9fw\xc3\xb6rd!\xe2\x99\x9a");
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_string_forms)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_jid x, y, z, d;
	const char *err;

	CHECK(mp_jid_parse(a, "Juliet@Example.com/Balcony", &x, &err) == 0);
	CHECK_STR(mp_jid_full(a, &x), "juliet@example.com/Balcony");
	CHECK_STR(mp_jid_bare(a, &x), "juliet@example.com");
	CHECK(mp_jid_parse(a, "juliet@example.com/balcony", &y, &err) == 0);
	CHECK(!mp_jid_eq(&x, &y));
	CHECK(mp_jid_bare_eq(&x, &y));
	CHECK(mp_jid_parse(a, "juliet@example.com", &z, &err) == 0);
	CHECK(z.resource == NULL);
	CHECK(!mp_jid_eq(&x, &z));
	CHECK(mp_jid_bare_eq(&x, &z));
	CHECK(mp_jid_eq(&z, &z));
	CHECK(mp_jid_parse(a, "example.com", &d, &err) == 0);
	CHECK_STR(mp_jid_full(a, &d), "example.com");
	CHECK_STR(mp_jid_bare(a, &d), "example.com");
	CHECK(!mp_jid_bare_eq(&d, &z));
	CHECK(mp_jid_parse(a, "example.com/r", &d, &err) == 0);
	CHECK_STR(mp_jid_full(a, &d), "example.com/r");
	CHECK_STR(mp_jid_bare(a, &d), "example.com");
	CHECK(mp_jid_parse(a, "romeo@example.com/Balcony", &y, &err) == 0);
	CHECK(!mp_jid_bare_eq(&x, &y));
	mp_arena_free(a);
}

/* The fast paths must answer exactly as the full preparation does. */
static unsigned fast_slow_reports;

static bool
fast_slow_same(struct mp_arena *a, const char *s)
{
	const char *f, *sl;

	mp_precis_fast_path = mp_jid_fast_path = true;
	f = jid_prep(a, s);
	mp_precis_fast_path = mp_jid_fast_path = false;
	sl = jid_prep(a, s);
	mp_precis_fast_path = mp_jid_fast_path = true;
	if (f == NULL ? sl != NULL : sl == NULL || strcmp(f, sl) != 0) {
		if (fast_slow_reports++ < 10)
			fprintf(stderr, "  fast/slow differ on '%.60s': "
			    "%.60s / %.60s\n", s, f ? f : "(invalid)",
			    sl ? sl : "(invalid)");
		return false;
	}
	return true;
}

MP_TEST(jid_fast_path_matches)
{
	static const char alphabet[] = "abzAZ09-._@/ !\"&'<>:~";
	struct mp_arena *a = mp_arena_new();
	char s[40], *big;
	bool ok = true;

	for (size_t i = 0; i < NCORPUS; i++)
		ok &= fast_slow_same(a, corpus[i]);
	for (int i = 0; i < 20000; i++) {
		size_t n = rnd() % 24;

		for (size_t k = 0; k < n; k++)
			s[k] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		ok &= fast_slow_same(a, s);
		if (i % 1000 == 0) {
			mp_arena_free(a);
			a = mp_arena_new();
		}
	}
	big = repeat("c", 63, ".com");
	ok &= fast_slow_same(a, big);
	free(big);
	big = repeat("c", 64, ".com");
	ok &= fast_slow_same(a, big);
	free(big);
	big = repeat("abcdefghi.", 25, "abc");
	ok &= fast_slow_same(a, big);
	free(big);
	big = repeat("abcdefghi.", 25, "abcd");
	ok &= fast_slow_same(a, big);
	free(big);
	big = repeat("A", 1023, "@B/C");
	ok &= fast_slow_same(a, big);
	free(big);
	/* Fullwidth forms take the full path to the same ASCII answer. */
	for (uint32_t c = 0x21; c < 0x7F; c++) {
		char fw[8], as[8];
		const char *o1, *o2, *e1, *e2;
		int r1, r2;

		fw[utf8_put(fw, c - 0x21 + 0xFF01)] = '\0';
		as[0] = (char)c;
		as[1] = '\0';
		r1 = mp_precis_username(a, fw, strlen(fw), &o1, &e1);
		r2 = mp_precis_username(a, as, 1, &o2, &e2);
		CHECK(r1 == 0 && r2 == 0);
		CHECK_STR(o1, o2);
	}
	mp_arena_free(a);
	CHECK(ok);
}

MP_TEST(jid_idempotent_corpus)
{
	struct mp_arena *a = mp_arena_new();
	bool ok = true;
	char s[64];

	for (size_t i = 0; i < NCORPUS; i++)
		ok &= jid_idempotent(a, corpus[i]);
	/* Random bytes: never a crash, and whatever passes is stable. */
	for (int i = 0; i < 20000; i++) {
		size_t n = rnd() % 40;

		for (size_t k = 0; k < n; k++) {
			uint32_t r = rnd();

			if (r % 4 == 0)
				s[k] = "@/.aZ"[r / 4 % 5];
			else if (r % 4 == 1)
				s[k] = (char)(0x80 + r / 4 % 0x80);
			else
				s[k] = (char)(r / 4 % 256);
			if (s[k] == '\0')
				s[k] = 'x';
		}
		s[n] = '\0';
		ok &= jid_idempotent(a, s);
		if (i % 1000 == 0) {
			mp_arena_free(a);
			a = mp_arena_new();
		}
	}
	mp_arena_free(a);
	CHECK(ok);
}

/* Whether a profile's output of s is its own output; counts valid inputs. */
static bool
precis_stable(struct mp_arena *a, bool user, const char *s, size_t n,
    unsigned *valid)
{
	int (*prep)(struct mp_arena *, const char *, size_t, const char **,
	    const char **) = user ? mp_precis_username : mp_precis_opaque;
	const char *o1, *o2, *err;

	if (prep(a, s, n, &o1, &err) == -1)
		return true;
	(*valid)++;
	return prep(a, o1, strlen(o1), &o2, &err) == 0 && strcmp(o1, o2) == 0;
}

/* Every code point alone, after a capital and before a combining acute. */
MP_TEST(precis_idempotent_all_code_points)
{
	struct mp_arena *a = mp_arena_new();
	unsigned bad = 0, valid_user = 0, valid_opaque = 0;
	int forms;

	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		/* Unassigned and private-use code points fail alone; pairs
		 * would add nothing but time. */
		forms = uc_is_general_category_withtable(cp,
		    UC_CATEGORY_MASK_Cn | UC_CATEGORY_MASK_Co) ? 1 : 3;
		for (int form = 0; form < forms; form++) {
			char s[16];
			size_t n = 0;

			if (form == 1)
				s[n++] = 'A';
			n += utf8_put(s + n, cp);
			if (form == 2)
				n += utf8_put(s + n, 0x0301);
			if (!precis_stable(a, true, s, n, &valid_user) &&
			    bad++ < 10)
				fprintf(stderr, "  username U+%04X form %d\n",
				    cp, form);
			if (!precis_stable(a, false, s, n, &valid_opaque) &&
			    bad++ < 10)
				fprintf(stderr, "  opaque U+%04X form %d\n",
				    cp, form);
		}
		if ((cp & 0xFFF) == 0) {
			mp_arena_free(a);
			a = mp_arena_new();
		}
	}
	mp_arena_free(a);
	CHECK(bad == 0);
	/* Sanity: the tables are really there (Unicode 14 gives 394056 and
	 * 431682; later versions only add). */
	CHECK(valid_user > 390000);
	CHECK(valid_opaque > valid_user);
}
