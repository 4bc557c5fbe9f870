/* test_scram.c - SCRAM key derivation and the SASL PLAIN/SCRAM server steps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <magpie/buf.h>

#include "harness.h"
#include "sasl.h"
#include "scram.h"

/* Test hook in sasl.c, deliberately kept out of the header. */
extern void	mp_sasl_test_set_nonce(const char *nonce);

#define HOST	"example.org"

/* RFC 5802 section 5 and RFC 7677 section 3. */
#define R5802_CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define R5802_SNONCE	"3rfcNHYJY1ZVvWVs7j"
#define R5802_SALT	"QSXCR+Q6sek8bf92"
#define R7677_CNONCE	"rOprNGfwEbeRWgbNEkqO"
#define R7677_SNONCE	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define R7677_SALT	"W22ZaJ0SNY7soEsUEjb6gQ=="

struct fake_store {
	int		 fail;		/* get_creds returns -1 */
	unsigned	 hashes;	/* bit per hash the user has */
	char		 last_user[256];
	int		 calls;
	/* channel binding */
	const char	*cb_type;
	unsigned char	 cb_data[64];
	size_t		 cb_len;
};

static const unsigned char salt512[] = "magpie-test-salt";

static size_t
b64_decode(const char *in, unsigned char *out, size_t size)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned)strlen(in) };
	gnutls_datum_t dst = { NULL, 0 };
	size_t n;

	if (gnutls_base64_decode2(&src, &dst) != 0)
		abort();
	n = dst.size;
	if (n > size)
		abort();
	memcpy(out, dst.data, n);
	gnutls_free(dst.data);
	return n;
}

static void
b64_encode(struct mp_buf *b, const void *in, size_t len)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned)len };
	gnutls_datum_t dst = { NULL, 0 };

	if (gnutls_base64_encode2(&src, &dst) != 0)
		abort();
	mp_buf_append(b, dst.data, dst.size);
	gnutls_free(dst.data);
}

static int
fake_get_creds(void *arg, const char *host, const char *user,
    enum mp_scram_hash h, struct mp_scram_creds *creds_r)
{
	struct fake_store *fs = arg;
	unsigned char salt[MP_SCRAM_MAX_SALT];
	size_t salt_len;
	const char *error;

	fs->calls++;
	snprintf(fs->last_user, sizeof(fs->last_user), "%s", user);
	if (fs->fail)
		return -1;
	if (strcmp(host, HOST) != 0 || (strcmp(user, "user") != 0 &&
	    strcmp(user, "us=e,r") != 0) || !(fs->hashes & (1u << h)))
		return 0;
	if (h == MP_SCRAM_SHA1)
		salt_len = b64_decode(R5802_SALT, salt, sizeof(salt));
	else if (h == MP_SCRAM_SHA256)
		salt_len = b64_decode(R7677_SALT, salt, sizeof(salt));
	else {
		salt_len = sizeof(salt512) - 1;
		memcpy(salt, salt512, salt_len);
	}
	if (mp_scram_make_creds(h, "pencil", salt, salt_len, 4096, creds_r,
	    &error) != 0)
		abort();
	return 1;
}

static int
fake_get_cb(void *arg, const char *type, unsigned char *buf, size_t size,
    size_t *len_r)
{
	struct fake_store *fs = arg;

	if (fs->cb_type == NULL || strcmp(type, fs->cb_type) != 0 ||
	    fs->cb_len > size)
		return -1;
	memcpy(buf, fs->cb_data, fs->cb_len);
	*len_r = fs->cb_len;
	return 0;
}

static void
setup(struct fake_store *fs, struct mp_sasl_ctx *ctx)
{
	memset(fs, 0, sizeof(*fs));
	fs->hashes = 7;
	fs->cb_type = "tls-exporter";
	fs->cb_len = 32;
	for (size_t i = 0; i < fs->cb_len; i++)
		fs->cb_data[i] = (unsigned char)(0xa0 + i);
	memset(ctx, 0, sizeof(*ctx));
	ctx->host = HOST;
	ctx->get_creds = fake_get_creds;
	ctx->get_cb = fake_get_cb;
	ctx->arg = fs;
	mp_sasl_test_set_nonce(NULL);
}

static enum mp_sasl_status
step_s(struct mp_sasl *s, const char *in, struct mp_buf *out,
    const char **cond)
{
	*cond = NULL;
	return mp_sasl_step(s, (const unsigned char *)in, strlen(in), out,
	    cond);
}

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* The client side, independent of sasl.c: builds client-final and v=. */
struct client {
	enum mp_scram_hash	 hash;
	const char		*password;
	const char		*first_bare;
	const char		*nonce_extra;	/* a client that lies */
	struct mp_buf		 cbind;		/* gs2 header + cb data */
	struct mp_buf		 final;
	struct mp_buf		 verifier;	/* expected "v=..." */
};

static const gnutls_mac_algorithm_t client_mac[] = {
	GNUTLS_MAC_SHA1, GNUTLS_MAC_SHA256, GNUTLS_MAC_SHA512,
};
static const gnutls_digest_algorithm_t client_dig[] = {
	GNUTLS_DIG_SHA1, GNUTLS_DIG_SHA256, GNUTLS_DIG_SHA512,
};

static int
client_final(struct client *c, const char *server_first)
{
	unsigned char salt[128], salted[64], ck[64], sk[64], sig[64], svk[64];
	char nonce[512], saltb64[256], *sp;
	const char *comma;
	gnutls_datum_t pw, sd;
	unsigned iter;
	size_t hlen = mp_scram_hash_len(c->hash), slen;
	struct mp_buf am = MP_BUF_INIT;

	if (strncmp(server_first, "r=", 2) != 0 ||
	    (comma = strchr(server_first, ',')) == NULL ||
	    (size_t)(comma - server_first - 2) >= sizeof(nonce))
		return -1;
	memcpy(nonce, server_first + 2, (size_t)(comma - server_first - 2));
	nonce[comma - server_first - 2] = '\0';
	if (strncmp(comma, ",s=", 3) != 0 ||
	    strlen(comma + 3) >= sizeof(saltb64))
		return -1;
	strcpy(saltb64, comma + 3);
	if ((sp = strchr(saltb64, ',')) == NULL ||
	    sscanf(sp, ",i=%u", &iter) != 1)
		return -1;
	*sp = '\0';
	slen = b64_decode(saltb64, salt, sizeof(salt));

	pw.data = (unsigned char *)c->password;
	pw.size = (unsigned)strlen(c->password);
	sd.data = salt;
	sd.size = (unsigned)slen;
	if (gnutls_pbkdf2(client_mac[c->hash], &pw, &sd, iter, salted,
	    hlen) != 0)
		return -1;
	gnutls_hmac_fast(client_mac[c->hash], salted, hlen, "Client Key", 10,
	    ck);
	gnutls_hash_fast(client_dig[c->hash], ck, hlen, sk);
	gnutls_hmac_fast(client_mac[c->hash], salted, hlen, "Server Key", 10,
	    svk);

	mp_buf_reset(&c->final);
	mp_buf_puts(&c->final, "c=");
	b64_encode(&c->final, c->cbind.data, c->cbind.len);
	mp_buf_printf(&c->final, ",r=%s%s", nonce,
	    c->nonce_extra != NULL ? c->nonce_extra : "");
	mp_buf_printf(&am, "%s,%s,", c->first_bare, server_first);
	mp_buf_append(&am, c->final.data, c->final.len);
	gnutls_hmac_fast(client_mac[c->hash], sk, hlen, am.data, am.len, sig);
	for (size_t i = 0; i < hlen; i++)
		ck[i] ^= sig[i];
	mp_buf_puts(&c->final, ",p=");
	b64_encode(&c->final, ck, hlen);
	gnutls_hmac_fast(client_mac[c->hash], svk, hlen, am.data, am.len,
	    sig);
	mp_buf_reset(&c->verifier);
	mp_buf_puts(&c->verifier, "v=");
	b64_encode(&c->verifier, sig, hlen);
	mp_buf_free(&am);
	return 0;
}

static void
client_free(struct client *c)
{
	mp_buf_free(&c->cbind);
	mp_buf_free(&c->final);
	mp_buf_free(&c->verifier);
}

/*
 * Runs a whole exchange: gs2 is the gs2 header, cb the channel binding
 * data the client puts in c=. Returns the final status.
 */
static enum mp_sasl_status
run_scram(const char *mech, const struct mp_sasl_ctx *ctx,
    enum mp_scram_hash h, const char *gs2, const char *bare,
    const char *password, const unsigned char *cb, size_t cblen,
    const char **cond, char **user_r)
{
	struct client c = { .hash = h, .password = password,
	    .first_bare = bare };
	struct mp_buf out = MP_BUF_INIT, first = MP_BUF_INIT;
	struct mp_sasl *s = mp_sasl_new(mech, ctx);
	enum mp_sasl_status st;

	if (user_r != NULL)
		*user_r = NULL;
	if (s == NULL)
		abort();
	mp_buf_printf(&first, "%s%s", gs2, bare);
	st = step_s(s, first.data, &out, cond);
	if (st != MP_SASL_CONTINUE)
		goto done;
	mp_buf_puts(&c.cbind, gs2);
	if (cblen > 0)
		mp_buf_append(&c.cbind, cb, cblen);
	if (client_final(&c, out.data) != 0)
		abort();
	st = step_s(s, c.final.data, &out, cond);
	if (st == MP_SASL_SUCCESS) {
		if (strcmp(out.data, c.verifier.data) != 0) {
			*cond = "bad verifier";
			st = MP_SASL_FAILURE;
		}
		if (user_r != NULL && mp_sasl_user(s) != NULL)
			*user_r = strdup(mp_sasl_user(s));
	}
done:
	client_free(&c);
	mp_buf_free(&out);
	mp_buf_free(&first);
	mp_sasl_free(s);
	return st;
}

MP_TEST(scram_hash_names)
{
	CHECK(mp_scram_hash_len(MP_SCRAM_SHA1) == 20);
	CHECK(mp_scram_hash_len(MP_SCRAM_SHA256) == 32);
	CHECK(mp_scram_hash_len(MP_SCRAM_SHA512) == 64);
	CHECK(mp_scram_hash_len(MP_SCRAM_NHASH) == 0);
	CHECK_STR(mp_scram_hash_name(MP_SCRAM_SHA1), "SHA-1");
	CHECK_STR(mp_scram_hash_name(MP_SCRAM_SHA256), "SHA-256");
	CHECK_STR(mp_scram_hash_name(MP_SCRAM_SHA512), "SHA-512");
	CHECK(mp_scram_hash_name(MP_SCRAM_NHASH) == NULL);
}

MP_TEST(scram_keys_rfc5802)
{
	struct mp_scram_creds c;
	unsigned char salt[32];
	size_t n = b64_decode(R5802_SALT, salt, sizeof(salt));
	const char *error = NULL;
	char hex[129];

	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pencil", salt, n, 4096, &c,
	    &error) == 0);
	CHECK(c.hash == MP_SCRAM_SHA1 && c.iterations == 4096);
	CHECK(c.salt_len == n && memcmp(c.salt, salt, n) == 0);
	tohex(c.stored_key, 20, hex);
	CHECK_STR(hex, "e9d94660c39d65c38fbad91c358f14da0eef2bd6");
	tohex(c.server_key, 20, hex);
	CHECK_STR(hex, "0fe09258b3ac852ba502cc62ba903eaacdbf7d31");
}

MP_TEST(scram_keys_rfc7677)
{
	struct mp_scram_creds c;
	unsigned char salt[32];
	size_t n = b64_decode(R7677_SALT, salt, sizeof(salt));
	const char *error = NULL;
	char hex[129];

	CHECK(mp_scram_make_creds(MP_SCRAM_SHA256, "pencil", salt, n, 4096,
	    &c, &error) == 0);
	tohex(c.stored_key, 32, hex);
	CHECK_STR(hex, "586e5df283e6dceb5c3e791d8b8528ec"
	    "191e664045ce971792e2e6b5bb13e2a6");
	tohex(c.server_key, 32, hex);
	CHECK_STR(hex, "c1f3cbc1c13a9d35a14c0990eed97629"
	    "ea225863e566a4314ab99f3f00e5d9d5");
	/* Deriving again from the salt inside the output must work. */
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA256, "pencil", c.salt,
	    c.salt_len, 4096, &c, &error) == 0);
	tohex(c.stored_key, 32, hex);
	CHECK_STR(hex, "586e5df283e6dceb5c3e791d8b8528ec"
	    "191e664045ce971792e2e6b5bb13e2a6");
}

MP_TEST(scram_make_creds_errors)
{
	struct mp_scram_creds c;
	unsigned char salt[MP_SCRAM_MAX_SALT + 1] = { 1 };
	const char *error;

	error = NULL;
	CHECK(mp_scram_make_creds(MP_SCRAM_NHASH, "pw", salt, 16, 4096, &c,
	    &error) == -1 && error != NULL);
	error = NULL;
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "", salt, 16, 4096, &c,
	    &error) == -1 && error != NULL);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, NULL, salt, 16, 4096, &c,
	    &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt, 0, 4096, &c,
	    &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", NULL, 16, 4096, &c,
	    &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt,
	    MP_SCRAM_MAX_SALT + 1, 4096, &c, &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt, MP_SCRAM_MAX_SALT,
	    4096, &c, &error) == 0);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt, 16,
	    MP_SCRAM_MIN_ITER - 1, &c, &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt, 16, 0, &c,
	    &error) == -1);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA1, "pw", salt, 16, 4000000000u,
	    &c, &error) == -1);
}

MP_TEST(scram_new_creds_random_salt)
{
	struct mp_scram_creds a, b, again;
	const char *error;

	CHECK(mp_scram_new_creds(MP_SCRAM_SHA512, "pencil", 4096, &a,
	    &error) == 0);
	CHECK(mp_scram_new_creds(MP_SCRAM_SHA512, "pencil", 4096, &b,
	    &error) == 0);
	CHECK(a.salt_len == 16 && b.salt_len == 16);
	CHECK(memcmp(a.salt, b.salt, 16) != 0);
	CHECK(memcmp(a.stored_key, b.stored_key, 64) != 0);
	CHECK(mp_scram_make_creds(MP_SCRAM_SHA512, "pencil", a.salt, 16, 4096,
	    &again, &error) == 0);
	CHECK(memcmp(again.stored_key, a.stored_key, 64) == 0);
	CHECK(memcmp(again.server_key, a.server_key, 64) == 0);
	CHECK(mp_scram_new_creds(MP_SCRAM_SHA1, "", 4096, &a, &error) == -1);
}

MP_TEST(scram_ct_equal)
{
	unsigned char a[64], b[64];

	memset(a, 7, sizeof(a));
	memset(b, 7, sizeof(b));
	CHECK(mp_ct_equal(a, b, 64));
	CHECK(mp_ct_equal(a, b, 0));
	b[63] = 8;
	CHECK(!mp_ct_equal(a, b, 64));
	CHECK(mp_ct_equal(a, b, 63));
	b[63] = 7;
	b[0] = 0;
	CHECK(!mp_ct_equal(a, b, 64));
}

MP_TEST(sasl_known)
{
	bool plus = true;
	struct fake_store fs;
	struct mp_sasl_ctx ctx;

	setup(&fs, &ctx);
	CHECK(mp_sasl_known("PLAIN", &plus) && !plus);
	CHECK(mp_sasl_known("SCRAM-SHA-1", &plus) && !plus);
	CHECK(mp_sasl_known("SCRAM-SHA-256-PLUS", &plus) && plus);
	CHECK(mp_sasl_known("SCRAM-SHA-512-PLUS", NULL));
	CHECK(!mp_sasl_known("scram-sha-1", &plus));
	CHECK(!mp_sasl_known("DIGEST-MD5", &plus));
	CHECK(!mp_sasl_known("", &plus));
	CHECK(mp_sasl_new("CRAM-MD5", &ctx) == NULL);
	CHECK(mp_sasl_new("SCRAM-SHA-256-PLUSX", &ctx) == NULL);
	mp_sasl_free(NULL);
}

MP_TEST(sasl_rfc5802_example)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond;

	setup(&fs, &ctx);
	mp_sasl_test_set_nonce(R5802_SNONCE);
	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	CHECK(s != NULL);
	CHECK(step_s(s, "n,,n=user,r=" R5802_CNONCE, &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK_STR(out.data, "r=" R5802_CNONCE R5802_SNONCE ",s=" R5802_SALT
	    ",i=4096");
	CHECK(mp_sasl_user(s) == NULL);
	CHECK(step_s(s, "c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &out, &cond) ==
	    MP_SASL_SUCCESS);
	CHECK_STR(out.data, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	CHECK_STR(mp_sasl_user(s), "user");
	CHECK_STR(fs.last_user, "user");
	/* Nothing may follow success. */
	CHECK(step_s(s, "c=biws", &out, &cond) == MP_SASL_FAILURE);
	CHECK(out.len == 0 && cond != NULL);
	CHECK(mp_sasl_user(s) == NULL);
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_sasl_test_set_nonce(NULL);
}

MP_TEST(sasl_rfc7677_example)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond;

	setup(&fs, &ctx);
	mp_sasl_test_set_nonce(R7677_SNONCE);
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=user,r=" R7677_CNONCE, &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK_STR(out.data, "r=" R7677_CNONCE R7677_SNONCE ",s=" R7677_SALT
	    ",i=4096");
	CHECK(step_s(s, "c=biws,r=" R7677_CNONCE R7677_SNONCE
	    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", &out, &cond) ==
	    MP_SASL_SUCCESS);
	CHECK_STR(out.data, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	CHECK_STR(mp_sasl_user(s), "user");
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_sasl_test_set_nonce(NULL);
}

/* The RFC 5802 exchange with one change to client-final. */
static enum mp_sasl_status
rfc5802_final(const char *final, const char **cond)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	enum mp_sasl_status st;

	setup(&fs, &ctx);
	mp_sasl_test_set_nonce(R5802_SNONCE);
	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	if (step_s(s, "n,,n=user,r=" R5802_CNONCE, &out, cond) !=
	    MP_SASL_CONTINUE)
		abort();
	st = step_s(s, final, &out, cond);
	if (st != MP_SASL_SUCCESS && (out.len != 0 || mp_sasl_user(s)))
		abort();
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_sasl_test_set_nonce(NULL);
	return st;
}

MP_TEST(sasl_scram_wrong_proof)
{
	const char *cond;

	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_SUCCESS);
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Us=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* Stray bits in the last character: one value, one spelling. */
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Tt=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* Proof of the wrong length, or not canonical base64. */
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Tt", &cond) == MP_SASL_FAILURE);
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=,x=1", &cond) == MP_SASL_FAILURE);
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=", &cond) == MP_SASL_FAILURE);
	/* An extension before the proof is part of AuthMessage. */
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",x=1,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
}

MP_TEST(sasl_scram_nonce_and_cbind_checks)
{
	const char *cond;

	/* The client's nonce alone, a changed server part, an extra char. */
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE "3rfcNHYJY1ZVvWVs7k"
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE "x"
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK(rfc5802_final("c=biws,r=,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	    &cond) == MP_SASL_FAILURE);
	/* c= must be "n,,": "y,,", "n,a=user,", and junk fail. */
	CHECK(rfc5802_final("c=eSws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	CHECK(rfc5802_final("c=biwsAA==,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK(rfc5802_final("c=biw,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
	CHECK(rfc5802_final("c=,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_FAILURE);
	/* Order of attributes is fixed. */
	CHECK(rfc5802_final("r=" R5802_CNONCE R5802_SNONCE
	    ",c=biws,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
}

MP_TEST(sasl_scram_replay_across_sessions)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct client c = { .hash = MP_SCRAM_SHA256, .password = "pencil",
	    .first_bare = "n=user,r=abcdefgh" };
	struct mp_buf out = MP_BUF_INIT, out2 = MP_BUF_INIT;
	struct mp_sasl *s, *s2;
	const char *cond;

	setup(&fs, &ctx);
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	s2 = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=user,r=abcdefgh", &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(step_s(s2, "n,,n=user,r=abcdefgh", &out2, &cond) ==
	    MP_SASL_CONTINUE);
	/* Fresh server nonces: at least 18 random bytes in base64. */
	CHECK(strcmp(out.data, out2.data) != 0);
	CHECK(strchr(out.data, ',') - out.data - 2 >= 8 + 24);
	mp_buf_puts(&c.cbind, "n,,");
	CHECK(client_final(&c, out.data) == 0);
	/* What answered session 1 must not open session 2. */
	CHECK(step_s(s2, c.final.data, &out2, &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	CHECK(step_s(s, c.final.data, &out, &cond) == MP_SASL_SUCCESS);
	CHECK_STR(out.data, c.verifier.data);
	mp_sasl_free(s);
	mp_sasl_free(s2);

	/* A correct proof over a nonce that is not ours fails too. */
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=user,r=abcdefgh", &out, &cond) ==
	    MP_SASL_CONTINUE);
	c.nonce_extra = "X";
	CHECK(client_final(&c, out.data) == 0);
	CHECK(step_s(s, c.final.data, &out, &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_buf_free(&out2);
	client_free(&c);
}

static const char *
first_cond(const char *mech, const struct mp_sasl_ctx *ctx, const char *in,
    size_t len)
{
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s = mp_sasl_new(mech, ctx);
	const char *cond = NULL;
	enum mp_sasl_status st;

	st = mp_sasl_step(s, (const unsigned char *)in, len, &out, &cond);
	if (st == MP_SASL_CONTINUE)
		cond = "continue";
	else if (st == MP_SASL_SUCCESS)
		cond = out.len == 0 && mp_sasl_user(s) != NULL ? "success" :
		    "bad success";
	else if (out.len != 0 || mp_sasl_user(s) != NULL)
		cond = "bad failure";
	mp_buf_free(&out);
	mp_sasl_free(s);
	return cond;
}

#define FIRST(mech, str)	first_cond(mech, &ctx, str, sizeof(str) - 1)

MP_TEST(sasl_scram_bad_gs2_and_first)
{
	static const char *const bad[] = {
		"x,,n=user,r=abc", "n,n=user,r=abc", "n,,", "n", "n,",
		"nn,,n=user,r=abc", "N,,n=user,r=abc", "n,,n=,r=abc",
		"n,,n=user", "n,,n=user,", "n,,n=user,r=", "n,,n=user,r=abc,",
		"n,,n=us=2Xer,r=abc", "n,,n=us=2cer,r=abc", "n,,n=user=,r=abc",
		"n,,n=user=3,r=abc", "n,,n=user,r=a b", "n,,n=user,r=ab\x7f",
		"n,,n=user,r=ab\xc3\xa9", "n,,m=ext,n=user,r=abc",
		"p=,,n=user,r=abc", "p,,n=user,r=abc",
		"p=tls exporter,,n=u,r=a",
		"p=tls-exporter,n=user,r=abc", "n,a=,n=user,r=abc",
		"n,a=x=4,n=user,r=abc", "n,b=x,n=user,r=abc",
		"n,,r=abc,n=user", "n,,n=user,r=abc,x", "n,,n=user,r=abc,=x",
		"n,,n=user,r=abc,1=x", "n,,n=user,r=abc,x=",
		"n,,x=1,n=user,r=a",
		",,n=user,r=abc", "y,,n=user,,r=abc",
	};
	struct fake_store fs;
	struct mp_sasl_ctx ctx;

	setup(&fs, &ctx);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *cond = first_cond("SCRAM-SHA-256", &ctx, bad[i],
		    strlen(bad[i]));

		if (cond == NULL || strcmp(cond, "malformed-request") != 0) {
			fprintf(stderr, "  input %zu: %s\n", i, bad[i]);
			CHECK_STR(cond, "malformed-request");
		}
	}
	/* Extensions after the nonce are ignored. */
	CHECK_STR(FIRST("SCRAM-SHA-256", "n,,n=user,r=abc,x=1,y=z=w"),
	    "continue");
	CHECK_STR(FIRST("SCRAM-SHA-256", "n,,n=user,r=abc\0"),
	    "malformed-request");
	CHECK_STR(FIRST("SCRAM-SHA-256", "n,,n=us\0er,r=abc"),
	    "malformed-request");
	CHECK_STR(FIRST("SCRAM-SHA-256", "\0,,n=user,r=abc"),
	    "malformed-request");
	/* A name PRECIS refuses is no account. */
	fs.calls = 0;
	CHECK_STR(FIRST("SCRAM-SHA-256", "n,,n=us\ter,r=abc"),
	    "not-authorized");
	CHECK(fs.calls == 0);
}

MP_TEST(sasl_scram_escaped_name_and_authzid)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	const char *cond;
	char *user;

	setup(&fs, &ctx);
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=us=3De=2Cr,r=xyz", "pencil", NULL, 0, &cond, &user) ==
	    MP_SASL_SUCCESS);
	CHECK_STR(fs.last_user, "us=e,r");
	CHECK_STR(user, "us=e,r");
	free(user);
	/* Case-mapped: USER is user. */
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "n,a=User@Example.ORG,", "n=USER,r=xyz", "pencil", NULL, 0, &cond,
	    &user) == MP_SASL_SUCCESS);
	CHECK_STR(user, "user");
	free(user);
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "n,a=admin@example.org,", "n=user,r=xyz", "pencil", NULL, 0,
	    &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "invalid-authzid");
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "n,a=user@example.com,", "n=user,r=xyz", "pencil", NULL, 0,
	    &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "invalid-authzid");
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "n,a=user@example.org/res,", "n=user,r=xyz", "pencil", NULL, 0,
	    &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "invalid-authzid");
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "n,a=example.org,", "n=user,r=xyz", "pencil", NULL, 0,
	    &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "invalid-authzid");
}

MP_TEST(sasl_scram_sha512_round_trip)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	const char *cond;
	char *user;

	setup(&fs, &ctx);
	CHECK(run_scram("SCRAM-SHA-512", &ctx, MP_SCRAM_SHA512, "n,,",
	    "n=user,r=0123456789abcdef", "pencil", NULL, 0, &cond, &user) ==
	    MP_SASL_SUCCESS);
	CHECK_STR(user, "user");
	free(user);
	CHECK(run_scram("SCRAM-SHA-512", &ctx, MP_SCRAM_SHA512, "n,,",
	    "n=user,r=0123456789abcdef", "pencil2", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* The user has no SHA-512 credentials: same as unknown. */
	fs.hashes = 1u << MP_SCRAM_SHA256;
	CHECK(run_scram("SCRAM-SHA-512", &ctx, MP_SCRAM_SHA512, "n,,",
	    "n=user,r=0123456789abcdef", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
}

MP_TEST(sasl_scram_channel_binding)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	unsigned char wrong[32];
	const char *cond;
	char *user;

	setup(&fs, &ctx);
	ctx.plus_offered = true;
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-exporter,,", "n=user,r=cbcbcb", "pencil", fs.cb_data,
	    fs.cb_len, &cond, &user) == MP_SASL_SUCCESS);
	CHECK_STR(user, "user");
	free(user);
	CHECK(run_scram("SCRAM-SHA-1-PLUS", &ctx, MP_SCRAM_SHA1,
	    "p=tls-exporter,a=user@example.org,", "n=user,r=cbcbcb", "pencil",
	    fs.cb_data, fs.cb_len, &cond, NULL) == MP_SASL_SUCCESS);
	/* Data from another TLS session (a MITM) must not pass. */
	memcpy(wrong, fs.cb_data, 32);
	wrong[31] ^= 1;
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-exporter,,", "n=user,r=cbcbcb", "pencil", wrong, 32, &cond,
	    NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* Header alone, without the data. */
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-exporter,,", "n=user,r=cbcbcb", "pencil", NULL, 0, &cond,
	    NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* A type the TLS layer cannot give. */
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-server-end-point,,", "n=user,r=cbcbcb", "pencil",
	    fs.cb_data, fs.cb_len, &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	fs.cb_type = "tls-server-end-point";
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-server-end-point,,", "n=user,r=cbcbcb", "pencil",
	    fs.cb_data, fs.cb_len, &cond, NULL) == MP_SASL_SUCCESS);
	/* -PLUS needs p=, and p= needs -PLUS. */
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=user,r=cbcbcb", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK(cond != NULL);
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256, "y,,",
	    "n=user,r=cbcbcb", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256,
	    "p=tls-server-end-point,,", "n=user,r=cbcbcb", "pencil",
	    fs.cb_data, fs.cb_len, &cond, NULL) == MP_SASL_FAILURE);
	CHECK(cond != NULL);
	/* Not over TLS at all. */
	ctx.get_cb = NULL;
	CHECK(run_scram("SCRAM-SHA-256-PLUS", &ctx, MP_SCRAM_SHA256,
	    "p=tls-server-end-point,,", "n=user,r=cbcbcb", "pencil",
	    fs.cb_data, fs.cb_len, &cond, NULL) == MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
}

MP_TEST(sasl_scram_y_downgrade)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	const char *cond;

	setup(&fs, &ctx);
	ctx.plus_offered = false;
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "y,,",
	    "n=user,r=yyy", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_SUCCESS);
	ctx.plus_offered = true;
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "y,,",
	    "n=user,r=yyy", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	/* 'n' (client without channel binding) stays fine. */
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=user,r=yyy", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_SUCCESS);
}

/* Salt, iteration count and nonce length of a server-first-message. */
static int
server_first_shape(const char *sf, size_t cnlen, char *salt, size_t size)
{
	const char *s = strstr(sf, ",s="), *i = strstr(sf, ",i=");

	if (strncmp(sf, "r=", 2) != 0 || s == NULL || i == NULL || i < s ||
	    (size_t)(s - sf - 2) != cnlen + 32 || (size_t)(i - s - 3) >= size)
		return -1;
	memcpy(salt, s + 3, (size_t)(i - s - 3));
	salt[i - s - 3] = '\0';
	return atoi(i + 3);
}

MP_TEST(sasl_scram_unknown_user)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond, *cond2;
	char salt1[64], salt2[64], salt3[64], salt4[64];

	setup(&fs, &ctx);
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=nobody,r=abc", &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(server_first_shape(out.data, 3, salt1, sizeof(salt1)) == 4096);
	CHECK(strlen(salt1) == 24);	/* 16 bytes, like a real one */
	CHECK(step_s(s, "n,,n=nobody,r=abc", &out, &cond) ==
	    MP_SASL_FAILURE);
	mp_sasl_free(s);
	/* The invented salt is stable, per user and per hash. */
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=nobody,r=abc", &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(server_first_shape(out.data, 3, salt2, sizeof(salt2)) == 4096);
	CHECK_STR(salt1, salt2);
	mp_sasl_free(s);
	s = mp_sasl_new("SCRAM-SHA-256", &ctx);
	CHECK(step_s(s, "n,,n=nobody2,r=abc", &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(server_first_shape(out.data, 3, salt3, sizeof(salt3)) == 4096);
	CHECK(strcmp(salt1, salt3) != 0);
	mp_sasl_free(s);
	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	CHECK(step_s(s, "n,,n=nobody,r=abc", &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(server_first_shape(out.data, 3, salt4, sizeof(salt4)) == 4096);
	CHECK(strcmp(salt1, salt4) != 0);
	mp_sasl_free(s);
	mp_buf_free(&out);

	/* Even the right-looking proof for a made-up password fails alike. */
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=nobody,r=abc", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=user,r=abc", "wrong", NULL, 0, &cond2, NULL) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "not-authorized");
	CHECK_STR(cond2, cond);
}

MP_TEST(sasl_store_error)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	const char *cond;

	setup(&fs, &ctx);
	fs.fail = 1;
	CHECK(run_scram("SCRAM-SHA-256", &ctx, MP_SCRAM_SHA256, "n,,",
	    "n=user,r=abc", "pencil", NULL, 0, &cond, NULL) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "temporary-auth-failure");
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil"), "temporary-auth-failure");
}

MP_TEST(sasl_plain)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond;

	setup(&fs, &ctx);
	s = mp_sasl_new("PLAIN", &ctx);
	CHECK(mp_sasl_step(s, (const unsigned char *)"\0user\0pencil", 12,
	    &out, &cond) == MP_SASL_SUCCESS);
	CHECK(out.len == 0);
	CHECK_STR(mp_sasl_user(s), "user");
	CHECK_STR(fs.last_user, "user");
	CHECK(mp_sasl_step(s, (const unsigned char *)"\0user\0pencil", 12,
	    &out, &cond) == MP_SASL_FAILURE);
	CHECK(mp_sasl_user(s) == NULL);
	mp_sasl_free(s);
	mp_buf_free(&out);

	CHECK_STR(FIRST("PLAIN", "user@example.org\0user\0pencil"), "success");
	CHECK_STR(FIRST("PLAIN", "user@EXAMPLE.org\0User\0pencil"), "success");
	CHECK_STR(FIRST("PLAIN", "\0user\0Pencil"), "not-authorized");
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil "), "not-authorized");
	CHECK_STR(FIRST("PLAIN", "\0nobody\0pencil"), "not-authorized");
	CHECK_STR(FIRST("PLAIN", "admin@example.org\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user@example.net\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user\0user\0pencil"), "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user@example.or\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user@example.org.\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user@\0user\0pencil"), "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "@example.org\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user@example.org/r\0user\0pencil"),
	    "invalid-authzid");
	CHECK_STR(FIRST("PLAIN", "user\0pencil"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "userpencil"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil\0"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0user\0pen\0cil"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0\0pencil"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0user\0"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0\0"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0"), "malformed-request");
	CHECK_STR(FIRST("PLAIN", "\0us\ter\0pencil"), "not-authorized");
	/* Only SHA-1 credentials stored: still checked. */
	fs.hashes = 1u << MP_SCRAM_SHA1;
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil"), "success");
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil2"), "not-authorized");
	fs.hashes = 1u << MP_SCRAM_SHA512;
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil"), "success");
	fs.hashes = 0;
	CHECK_STR(FIRST("PLAIN", "\0user\0pencil"), "not-authorized");
}

MP_TEST(sasl_empty_initial_response)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond;

	setup(&fs, &ctx);
	s = mp_sasl_new("PLAIN", &ctx);
	mp_buf_puts(&out, "stale");
	CHECK(mp_sasl_step(s, NULL, 0, &out, &cond) == MP_SASL_CONTINUE);
	CHECK(out.len == 0);
	CHECK(mp_sasl_step(s, (const unsigned char *)"\0user\0pencil", 12,
	    &out, &cond) == MP_SASL_SUCCESS);
	mp_sasl_free(s);

	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	CHECK(mp_sasl_step(s, NULL, 0, &out, &cond) == MP_SASL_CONTINUE);
	CHECK(mp_sasl_step(s, (const unsigned char *)"", 0, &out, &cond) ==
	    MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
	mp_sasl_free(s);

	/* An empty client-final is no proof. */
	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	CHECK(step_s(s, "n,,n=user,r=abc", &out, &cond) == MP_SASL_CONTINUE);
	CHECK(mp_sasl_step(s, NULL, 0, &out, &cond) == MP_SASL_FAILURE);
	CHECK(step_s(s, "n,,n=user,r=abc", &out, &cond) == MP_SASL_FAILURE);
	mp_sasl_free(s);
	mp_buf_free(&out);
}

MP_TEST(sasl_after_failure)
{
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_sasl *s;
	const char *cond;

	setup(&fs, &ctx);
	mp_sasl_test_set_nonce(R5802_SNONCE);
	s = mp_sasl_new("SCRAM-SHA-1", &ctx);
	CHECK(step_s(s, "n,,n=user,r=" R5802_CNONCE, &out, &cond) ==
	    MP_SASL_CONTINUE);
	CHECK(step_s(s, "c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &out, &cond) ==
	    MP_SASL_FAILURE);
	/* The right proof, too late. */
	CHECK(step_s(s, "c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &out, &cond) ==
	    MP_SASL_FAILURE);
	CHECK(out.len == 0 && mp_sasl_user(s) == NULL);
	CHECK(mp_sasl_step(s, NULL, 0, &out, &cond) == MP_SASL_FAILURE);
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_sasl_test_set_nonce(NULL);
}

MP_TEST(sasl_truncated_and_huge)
{
	static const char first[] = "n,,n=user,r=" R5802_CNONCE;
	static const char final[] = "c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT, big = MP_BUF_INIT;
	const char *cond;
	char *copy;

	setup(&fs, &ctx);
	/* Every prefix shorter than "n,,n=user,r=X" must fail. */
	for (size_t n = 1; n < sizeof(first) - 1; n++) {
		copy = malloc(n);	/* exact size: ASan sees overreads */
		memcpy(copy, first, n);
		cond = first_cond("SCRAM-SHA-1", &ctx, copy, n);
		free(copy);
		CHECK(cond != NULL);
		if (n < 13)
			CHECK_STR(cond, "malformed-request");
		else
			CHECK_STR(cond, "continue");
	}
	/* Every prefix of the valid client-final must fail. */
	for (size_t n = 1; n < sizeof(final) - 1; n++) {
		struct mp_sasl *s;

		mp_sasl_test_set_nonce(R5802_SNONCE);
		s = mp_sasl_new("SCRAM-SHA-1", &ctx);
		CHECK(step_s(s, first, &out, &cond) == MP_SASL_CONTINUE);
		copy = malloc(n);
		memcpy(copy, final, n);
		CHECK(mp_sasl_step(s, (unsigned char *)copy, n, &out, &cond) ==
		    MP_SASL_FAILURE);
		free(copy);
		mp_sasl_free(s);
	}
	mp_sasl_test_set_nonce(NULL);
	/* Embedded NUL in client-final. */
	CHECK(rfc5802_final("c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &cond) == MP_SASL_SUCCESS);
	{
		struct mp_sasl *s;
		char buf[sizeof(final)];

		mp_sasl_test_set_nonce(R5802_SNONCE);
		s = mp_sasl_new("SCRAM-SHA-1", &ctx);
		CHECK(step_s(s, first, &out, &cond) == MP_SASL_CONTINUE);
		memcpy(buf, final, sizeof(final));
		buf[8] = '\0';
		CHECK(mp_sasl_step(s, (unsigned char *)buf, sizeof(final) - 1,
		    &out, &cond) == MP_SASL_FAILURE);
		CHECK_STR(cond, "malformed-request");
		mp_sasl_free(s);
		mp_sasl_test_set_nonce(NULL);
	}
	/* Huge: a long name fails, too much input is refused unread. */
	fs.calls = 0;
	mp_buf_puts(&big, "n,,n=");
	for (int i = 0; i < 2000; i++)
		mp_buf_puts(&big, "a");
	mp_buf_puts(&big, ",r=abc");
	CHECK_STR(first_cond("SCRAM-SHA-1", &ctx, big.data, big.len),
	    "not-authorized");
	mp_buf_reset(&big);
	mp_buf_puts(&big, "n,,n=user,r=");
	for (int i = 0; i < 9000; i++)
		mp_buf_puts(&big, "a");
	CHECK_STR(first_cond("SCRAM-SHA-1", &ctx, big.data, big.len),
	    "malformed-request");
	CHECK(fs.calls == 0);
	mp_buf_reset(&big);
	mp_buf_append(&big, "\0user\0", 6);
	for (int i = 0; i < 9000; i++)
		mp_buf_puts(&big, "p");
	CHECK_STR(first_cond("PLAIN", &ctx, big.data, big.len),
	    "malformed-request");
	/* A huge server nonce in client-final is refused. */
	mp_buf_reset(&big);
	mp_buf_puts(&big, "c=biws,r=");
	for (int i = 0; i < 9000; i++)
		mp_buf_puts(&big, "a");
	mp_buf_puts(&big, ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	CHECK(rfc5802_final(big.data, &cond) == MP_SASL_FAILURE);
	CHECK_STR(cond, "malformed-request");
	mp_buf_free(&big);
	mp_buf_free(&out);
}

/* Random bytes, and random mutations of valid messages: no crash, no pass. */
MP_TEST(sasl_random_input)
{
	static const char final[] = "c=biws,r=" R5802_CNONCE R5802_SNONCE
	    ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
	static const char *const mechs[] = {
		"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS",
	};
	static const char alphabet[] = "nyp=,a\0rcmsi2C3D-x";
	struct fake_store fs;
	struct mp_sasl_ctx ctx;
	struct mp_buf out = MP_BUF_INIT;
	unsigned char buf[96];
	uint32_t seed = 12345;
	const char *cond;

	setup(&fs, &ctx);
	ctx.plus_offered = true;
	for (int iter = 0; iter < 3000; iter++) {
		struct mp_sasl *s = mp_sasl_new(mechs[iter % 3], &ctx);
		size_t n;

		seed = seed * 1103515245 + 12345;
		n = seed >> 16 & 63;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = iter & 1 ? (unsigned char)(seed >> 16) :
			    (unsigned char)alphabet[(seed >> 16) %
			    (sizeof(alphabet) - 1)];
		}
		for (int k = 0; k < 3; k++) {
			enum mp_sasl_status st = mp_sasl_step(s, buf, n, &out,
			    &cond);

			CHECK(st != MP_SASL_SUCCESS);
			if (st == MP_SASL_FAILURE)
				break;
		}
		mp_sasl_free(s);
	}
	/* Flip every byte of a valid client-final in turn. */
	for (size_t i = 0; i < sizeof(final) - 1; i++) {
		char m[sizeof(final)];

		memcpy(m, final, sizeof(final));
		m[i] ^= 0x01;
		CHECK(rfc5802_final(m, &cond) == MP_SASL_FAILURE);
	}
	mp_buf_free(&out);
}
