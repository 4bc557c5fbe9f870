/* precis.h - PRECIS profiles (RFC 8264, RFC 8265) over libunistring. */
#ifndef MP_PRECIS_H
#define MP_PRECIS_H

#include <stddef.h>

struct mp_arena;

/* UsernameCaseMapped (RFC 8265 3.3): JID localparts. */
int	mp_precis_username(struct mp_arena *a, const char *in, size_t len,
	    const char **out_r, const char **error_r);
/* OpaqueString (RFC 8265 4.2): resourceparts and passwords. */
int	mp_precis_opaque(struct mp_arena *a, const char *in, size_t len,
	    const char **out_r, const char **error_r);

#endif
