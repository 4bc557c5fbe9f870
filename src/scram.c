/* scram.c - derives SCRAM credentials (RFC 5802 section 3) with GnuTLS. */
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "scram.h"

/* Salts made here: RFC 5802 asks for a random one per user, 16 is plenty. */
#define SCRAM_SALT_LEN		16
/* Past this a stored or configured count is a mistake or a DoS lever. */
#define SCRAM_MAX_ITER		10000000u

static const struct {
	const char			*name;
	size_t				 len;
	gnutls_mac_algorithm_t		 mac;
	gnutls_digest_algorithm_t	 dig;
} scram_hashes[MP_SCRAM_NHASH] = {
	[MP_SCRAM_SHA1] = { "SHA-1", 20, GNUTLS_MAC_SHA1, GNUTLS_DIG_SHA1 },
	[MP_SCRAM_SHA256] = { "SHA-256", 32, GNUTLS_MAC_SHA256,
	    GNUTLS_DIG_SHA256 },
	[MP_SCRAM_SHA512] = { "SHA-512", 64, GNUTLS_MAC_SHA512,
	    GNUTLS_DIG_SHA512 },
};

static int
scram_valid(enum mp_scram_hash h)
{
	return (unsigned)h < MP_SCRAM_NHASH;
}

size_t
mp_scram_hash_len(enum mp_scram_hash h)
{
	return scram_valid(h) ? scram_hashes[h].len : 0;
}

const char *
mp_scram_hash_name(enum mp_scram_hash h)
{
	return scram_valid(h) ? scram_hashes[h].name : NULL;
}

int
mp_scram_make_creds(enum mp_scram_hash h, const char *password,
    const unsigned char *salt, size_t salt_len, unsigned iterations,
    struct mp_scram_creds *creds_r, const char **error_r)
{
	unsigned char salted[MP_SCRAM_MAX_KEY], client_key[MP_SCRAM_MAX_KEY];
	gnutls_datum_t key, sd;
	size_t hlen;
	int ok;

	if (!scram_valid(h)) {
		*error_r = "unknown SCRAM hash";
		return -1;
	}
	if (password == NULL || *password == '\0') {
		*error_r = "empty password";
		return -1;
	}
	if (salt == NULL || salt_len == 0 || salt_len > MP_SCRAM_MAX_SALT) {
		*error_r = "bad SCRAM salt length";
		return -1;
	}
	if (iterations < MP_SCRAM_MIN_ITER || iterations > SCRAM_MAX_ITER) {
		*error_r = "SCRAM iteration count out of range";
		return -1;
	}
	hlen = scram_hashes[h].len;
	key.data = (unsigned char *)password;
	key.size = (unsigned)strlen(password);
	sd.data = (unsigned char *)salt;
	sd.size = (unsigned)salt_len;

	/* Hi() is PBKDF2 with HMAC and dkLen = the hash length. */
	ok = gnutls_pbkdf2(scram_hashes[h].mac, &key, &sd, iterations,
	    salted, hlen) == 0 &&
	    gnutls_hmac_fast(scram_hashes[h].mac, salted, hlen, "Client Key",
	    10, client_key) == 0 &&
	    gnutls_hash_fast(scram_hashes[h].dig, client_key, hlen,
	    creds_r->stored_key) == 0 &&
	    gnutls_hmac_fast(scram_hashes[h].mac, salted, hlen, "Server Key",
	    10, creds_r->server_key) == 0;
	gnutls_memset(salted, 0, sizeof(salted));
	gnutls_memset(client_key, 0, sizeof(client_key));
	if (!ok) {
		gnutls_memset(creds_r, 0, sizeof(*creds_r));
		*error_r = "SCRAM key derivation failed";
		return -1;
	}
	creds_r->hash = h;
	creds_r->iterations = iterations;
	creds_r->salt_len = salt_len;
	/* memmove: a caller may re-derive from the salt already in creds_r. */
	memmove(creds_r->salt, salt, salt_len);
	return 0;
}

int
mp_scram_new_creds(enum mp_scram_hash h, const char *password,
    unsigned iterations, struct mp_scram_creds *creds_r,
    const char **error_r)
{
	unsigned char salt[SCRAM_SALT_LEN];

	if (gnutls_rnd(GNUTLS_RND_NONCE, salt, sizeof(salt)) != 0) {
		*error_r = "no randomness for the SCRAM salt";
		return -1;
	}
	return mp_scram_make_creds(h, password, salt, sizeof(salt),
	    iterations, creds_r, error_r);
}

bool
mp_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *pa = a, *pb = b;
	unsigned char diff = 0;

	/* Visit every byte whatever differs, so timing reveals no prefix. */
	for (size_t i = 0; i < len; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}
