/* jid.h - JIDs prepared per RFC 7622 (PRECIS, IDNA2008). */
#ifndef MAGPIE_JID_H
#define MAGPIE_JID_H

#include <stdbool.h>
#include <stddef.h>

struct mp_arena;

#define MP_JID_PART_MAX	1023	/* bytes, after preparation (RFC 7622 3.1) */

/* A prepared JID. Parts are NUL-terminated; local and resource are NULL when absent. */
struct mp_jid {
	const char	*local;
	const char	*domain;
	const char	*resource;
};

/*
 * Splits and prepares a JID string: localpart with PRECIS UsernameCaseMapped,
 * domainpart with IDNA2008 (U-labels, lower case, no trailing dot, IP literals
 * kept), resourcepart with PRECIS OpaqueString. Strings live in the arena.
 * Returns 0, or -1 with a static reason in error_r.
 */
int	 mp_jid_parse(struct mp_arena *a, const char *s, struct mp_jid *jid_r,
	    const char **error_r);
/* Each part alone; in and len need not be NUL-terminated. */
int	 mp_jid_prep_local(struct mp_arena *a, const char *in, size_t len,
	    const char **out_r, const char **error_r);
int	 mp_jid_prep_domain(struct mp_arena *a, const char *in, size_t len,
	    const char **out_r, const char **error_r);
int	 mp_jid_prep_resource(struct mp_arena *a, const char *in, size_t len,
	    const char **out_r, const char **error_r);

/* String forms, allocated in the arena. */
char	*mp_jid_full(struct mp_arena *a, const struct mp_jid *jid);
char	*mp_jid_bare(struct mp_arena *a, const struct mp_jid *jid);

/* Prepared JIDs compare byte for byte. */
bool	 mp_jid_eq(const struct mp_jid *x, const struct mp_jid *y);
bool	 mp_jid_bare_eq(const struct mp_jid *x, const struct mp_jid *y);

#endif
