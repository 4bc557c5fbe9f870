/* fuzz_jid.c - libFuzzer target: JID preparation must be total, idempotent and path-independent. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/jid.h>
#include <magpie/log.h>

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test switches of jid.c and precis.c: their ASCII fast paths. */
extern bool mp_jid_fast_path;
extern bool mp_precis_fast_path;

static void
jid_die(const char *what, const char *in, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_jid: %s\n  input '%s'\n  first '%s'\n"
	    "  second '%s'\n", what, in, a ? a : "(null)", b ? b : "(null)");
	abort();
}

static bool
jid_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Each part function alone, on an exactly sized copy so over-reads show. */
static void
jid_parts(struct mp_arena *a, const uint8_t *data, size_t size)
{
	char *copy = mp_xmalloc(size > 0 ? size : 1);
	const char *out, *out2, *err;

	memcpy(copy, data, size);
	if (mp_jid_prep_local(a, copy, size, &out, &err) == 0 &&
	    (mp_jid_prep_local(a, out, strlen(out), &out2, &err) == -1 ||
	    strcmp(out, out2) != 0))
		jid_die("localpart not idempotent", out, out, out2);
	if (mp_jid_prep_resource(a, copy, size, &out, &err) == 0 &&
	    (mp_jid_prep_resource(a, out, strlen(out), &out2, &err) == -1 ||
	    strcmp(out, out2) != 0))
		jid_die("resourcepart not idempotent", out, out, out2);
	if (mp_jid_prep_domain(a, copy, size, &out, &err) == 0 &&
	    (mp_jid_prep_domain(a, out, strlen(out), &out2, &err) == -1 ||
	    strcmp(out, out2) != 0))
		jid_die("domainpart not idempotent", out, out, out2);
	free(copy);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mp_log_set_level(MP_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_jid j1, j2, j3;
	const char *err, *e2;
	char *s, *full, *full2, *bare;
	int r1, r3;

	s = mp_arena_strndup(a, (const char *)data, size);
	r1 = mp_jid_parse(a, s, &j1, &err);
	/* The fast paths are optimizations: they must not change any answer. */
	mp_jid_fast_path = mp_precis_fast_path = false;
	r3 = mp_jid_parse(a, s, &j3, &e2);
	mp_jid_fast_path = mp_precis_fast_path = true;
	if (r1 != r3)
		jid_die("fast and full paths disagree on acceptance", s,
		    r1 == 0 ? mp_jid_full(a, &j1) : err,
		    r3 == 0 ? mp_jid_full(a, &j3) : e2);
	if (r1 == 0) {
		if (j1.domain == NULL)
			jid_die("accepted without a domain", s, NULL, NULL);
		if (!mp_jid_eq(&j1, &j3))
			jid_die("fast and full paths disagree", s,
			    mp_jid_full(a, &j1), mp_jid_full(a, &j3));
		full = mp_jid_full(a, &j1);
		if (mp_jid_parse(a, full, &j2, &err) == -1)
			jid_die("prepared JID refused", s, full, err);
		full2 = mp_jid_full(a, &j2);
		if (!mp_jid_eq(&j1, &j2) || strcmp(full, full2) != 0 ||
		    !jid_str_eq(j1.local, j2.local) ||
		    !jid_str_eq(j1.resource, j2.resource))
			jid_die("parse(full(parse(x))) != parse(x)", s, full,
			    full2);
		bare = mp_jid_bare(a, &j1);
		if (mp_jid_parse(a, bare, &j2, &err) == -1 ||
		    !mp_jid_bare_eq(&j1, &j2) || j2.resource != NULL)
			jid_die("bare JID does not parse back", s, bare, err);
	}
	jid_parts(a, data, size);
	mp_arena_free(a);
	return 0;
}
