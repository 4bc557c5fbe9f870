/* scram.h - SCRAM credentials and primitives (RFC 5802, RFC 7677) over GnuTLS. */
#ifndef MP_SCRAM_H
#define MP_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

enum mp_scram_hash {
	MP_SCRAM_SHA1,
	MP_SCRAM_SHA256,
	MP_SCRAM_SHA512,
	MP_SCRAM_NHASH,
};

#define MP_SCRAM_MAX_KEY	64
#define MP_SCRAM_MAX_SALT	32
#define MP_SCRAM_MIN_ITER	4096

/* What is stored for a user and one hash: never the password. */
struct mp_scram_creds {
	enum mp_scram_hash	 hash;
	unsigned		 iterations;
	size_t			 salt_len;
	unsigned char		 salt[MP_SCRAM_MAX_SALT];
	unsigned char		 stored_key[MP_SCRAM_MAX_KEY];
	unsigned char		 server_key[MP_SCRAM_MAX_KEY];
};

size_t		 mp_scram_hash_len(enum mp_scram_hash h);
/* "SHA-1", "SHA-256", "SHA-512" as in the mechanism names. */
const char	*mp_scram_hash_name(enum mp_scram_hash h);

/* Derives stored and server keys; password already prepared (OpaqueString). */
int	mp_scram_make_creds(enum mp_scram_hash h, const char *password,
	    const unsigned char *salt, size_t salt_len, unsigned iterations,
	    struct mp_scram_creds *creds_r, const char **error_r);
/* The same with a fresh random salt. */
int	mp_scram_new_creds(enum mp_scram_hash h, const char *password,
	    unsigned iterations, struct mp_scram_creds *creds_r,
	    const char **error_r);
/* Constant-time comparison. */
bool	mp_ct_equal(const void *a, const void *b, size_t len);

#endif
