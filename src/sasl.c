/* sasl.c - the server side of SASL PLAIN (RFC 4616) and SCRAM (RFC 5802). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <magpie/arena.h>
#include <magpie/buf.h>

#include "precis.h"
#include "sasl.h"
#include "scram.h"

/* A longest localpart and authzid, escaped, fit with room to spare. */
#define SASL_MAX_INPUT		8192
#define SASL_MAX_LOCALPART	1023	/* RFC 7622 3.3.1 */
#define SASL_NONCE_BYTES	24	/* base64: 32 printable characters */
#define SASL_FAKE_SALT_LEN	16
#define SASL_FAKE_ITER		4096
#define SASL_MAX_CB		256	/* tls-server-end-point: 64 at most */
#define SASL_MAX_CBNAME		64

/* Test hook only: a fixed server nonce to replay the RFC examples. */
void	mp_sasl_test_set_nonce(const char *nonce);

enum sasl_kind {
	SASL_PLAIN,
	SASL_SCRAM,
};

enum sasl_state {
	SASL_START,
	SASL_WAIT_FINAL,	/* server-first-message sent */
	SASL_OK,
	SASL_FAILED,
};

struct mp_sasl {
	const struct mp_sasl_ctx	*ctx;
	struct mp_arena			*arena;
	enum sasl_kind			 kind;
	enum mp_scram_hash		 hash;
	bool				 plus;
	enum sasl_state			 state;
	bool				 asked;	/* empty challenge sent */
	const char			*user;	/* prepared, in arena */
	/* No such user: play along with fake credentials, fail at the end. */
	bool				 unknown;
	struct mp_scram_creds		 creds;
	struct mp_buf			 cbind;	/* what c= must decode to */
	struct mp_buf			 first_bare;
	struct mp_buf			 server_first;
	struct mp_buf			 nonce;	/* client + server nonce */
};

static const struct {
	const char		*name;
	enum sasl_kind		 kind;
	enum mp_scram_hash	 hash;
	bool			 plus;
} sasl_mechs[] = {
	{ "PLAIN", SASL_PLAIN, MP_SCRAM_SHA256, false },
	{ "SCRAM-SHA-1", SASL_SCRAM, MP_SCRAM_SHA1, false },
	{ "SCRAM-SHA-1-PLUS", SASL_SCRAM, MP_SCRAM_SHA1, true },
	{ "SCRAM-SHA-256", SASL_SCRAM, MP_SCRAM_SHA256, false },
	{ "SCRAM-SHA-256-PLUS", SASL_SCRAM, MP_SCRAM_SHA256, true },
	{ "SCRAM-SHA-512", SASL_SCRAM, MP_SCRAM_SHA512, false },
	{ "SCRAM-SHA-512-PLUS", SASL_SCRAM, MP_SCRAM_SHA512, true },
};

static const gnutls_mac_algorithm_t sasl_macs[MP_SCRAM_NHASH] = {
	[MP_SCRAM_SHA1] = GNUTLS_MAC_SHA1,
	[MP_SCRAM_SHA256] = GNUTLS_MAC_SHA256,
	[MP_SCRAM_SHA512] = GNUTLS_MAC_SHA512,
};

static const gnutls_digest_algorithm_t sasl_digests[MP_SCRAM_NHASH] = {
	[MP_SCRAM_SHA1] = GNUTLS_DIG_SHA1,
	[MP_SCRAM_SHA256] = GNUTLS_DIG_SHA256,
	[MP_SCRAM_SHA512] = GNUTLS_DIG_SHA512,
};

static const char sasl_b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char sasl_test_nonce[128];

/*
 * Fake salts must be stable per name (a second try must not reveal that
 * the first salt was invented) and unpredictable across processes.
 */
static unsigned char sasl_fake_key[32];
static bool sasl_fake_ready;
static pthread_once_t sasl_fake_once = PTHREAD_ONCE_INIT;

void
mp_sasl_test_set_nonce(const char *nonce)
{
	if (nonce == NULL)
		sasl_test_nonce[0] = '\0';
	else
		snprintf(sasl_test_nonce, sizeof(sasl_test_nonce), "%s",
		    nonce);
}

static void
sasl_fake_init(void)
{
	sasl_fake_ready = gnutls_rnd(GNUTLS_RND_KEY, sasl_fake_key,
	    sizeof(sasl_fake_key)) == 0;
}

static void
sasl_b64_encode(struct mp_buf *out, const unsigned char *in, size_t len)
{
	char q[4];

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		q[0] = sasl_b64chars[v >> 18 & 63];
		q[1] = sasl_b64chars[v >> 12 & 63];
		q[2] = i + 1 < len ? sasl_b64chars[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? sasl_b64chars[v & 63] : '=';
		mp_buf_append(out, q, 4);
	}
}

static int
sasl_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict decoding (padding required, no stray bits) so that each value has
 * one spelling. out needs len / 4 * 3 bytes.
 */
static int
sasl_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t *len_r)
{
	size_t n = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			if (last && j >= 2 && in[i + j] == '=' &&
			    (j == 3 || in[i + 3] == '=')) {
				pad++;
				v[j] = 0;
				continue;
			}
			if ((v[j] = sasl_b64_value(in[i + j])) < 0)
				return -1;
		}
		if ((pad == 2 && (v[1] & 15) != 0) ||
		    (pad == 1 && (v[2] & 3) != 0))
			return -1;
		out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[n++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[n++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	*len_r = n;
	return 0;
}

/*
 * Reads "<name>=<value>" (name 0: any letter, for extensions) up to the
 * next comma or the end. A comma must be followed by another attribute.
 */
static int
sasl_attr(const char **pp, const char *end, char name, const char **val_r,
    size_t *len_r)
{
	const char *p = *pp, *q;

	if (end - p < 2 || p[1] != '=')
		return -1;
	if (name != 0 ? p[0] != name :
	    !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')))
		return -1;
	p += 2;
	if ((q = memchr(p, ',', (size_t)(end - p))) == NULL)
		q = end;
	*val_r = p;
	*len_r = (size_t)(q - p);
	if (q < end && ++q == end)
		return -1;
	*pp = q;
	return 0;
}

/* Skips optional extensions; their values must not be empty. */
static int
sasl_extensions(const char *p, const char *end)
{
	const char *v;
	size_t vlen;

	while (p < end) {
		if (sasl_attr(&p, end, 0, &v, &vlen) == -1 || vlen == 0)
			return -1;
	}
	return 0;
}

/* Undoes the saslname escapes: only =2C and =3D exist. */
static int
sasl_saslname(struct mp_arena *a, const char *in, size_t len, char **out_r,
    size_t *len_r)
{
	char *o;
	size_t n = 0;

	if (len == 0)
		return -1;
	o = mp_arena_alloc(a, len + 1);
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			o[n++] = in[i];
			continue;
		}
		if (len - i < 3)
			return -1;
		if (in[i + 1] == '2' && in[i + 2] == 'C')
			o[n++] = ',';
		else if (in[i + 1] == '3' && in[i + 2] == 'D')
			o[n++] = '=';
		else
			return -1;
		i += 2;
	}
	*out_r = o;
	*len_r = n;
	return 0;
}

static int
sasl_prep_user(struct mp_sasl *s, const char *in, size_t len,
    const char **user_r)
{
	const char *error;

	if (mp_precis_username(s->arena, in, len, user_r, &error) == -1 ||
	    strlen(*user_r) > SASL_MAX_LOCALPART)
		return -1;
	return 0;
}

/* Only the authenticated user's own bare JID may be asked for. */
static bool
sasl_authzid_ok(struct mp_sasl *s, const char *az, size_t len,
    const char *user)
{
	const char *at, *dom, *local, *host = s->ctx->host;
	size_t dlen;

	if (host == NULL || memchr(az, '\0', len) != NULL ||
	    (at = memchr(az, '@', len)) == NULL || at == az)
		return false;
	dom = at + 1;
	dlen = (size_t)(az + len - dom);
	if (dlen != strlen(host) || strncasecmp(dom, host, dlen) != 0)
		return false;
	if (sasl_prep_user(s, az, (size_t)(at - az), &local) == -1)
		return false;
	return strcmp(local, user) == 0;
}

static enum mp_sasl_status
sasl_fail(struct mp_sasl *s, const char *condition, const char **condition_r)
{
	s->state = SASL_FAILED;
	s->user = NULL;
	*condition_r = condition;
	return MP_SASL_FAILURE;
}

/* Deterministic per (hash, name), so that retries see the same salt. */
static int
sasl_fake_creds(struct mp_sasl *s, enum mp_scram_hash h, const char *user)
{
	unsigned char mac[64];
	struct mp_buf msg = MP_BUF_INIT;
	int rc;

	pthread_once(&sasl_fake_once, sasl_fake_init);
	if (!sasl_fake_ready)
		return -1;
	mp_buf_puts(&msg, mp_scram_hash_name(h));
	mp_buf_append(&msg, "", 1);
	mp_buf_puts(&msg, user);
	rc = gnutls_hmac_fast(GNUTLS_MAC_SHA512, sasl_fake_key,
	    sizeof(sasl_fake_key), msg.data, msg.len, mac);
	mp_buf_free(&msg);
	if (rc != 0)
		return -1;
	memset(&s->creds, 0, sizeof(s->creds));
	s->creds.hash = h;
	s->creds.iterations = SASL_FAKE_ITER;
	s->creds.salt_len = SASL_FAKE_SALT_LEN;
	memcpy(s->creds.salt, mac, SASL_FAKE_SALT_LEN);
	/* Keys nobody can know; the proof check still runs for timing. */
	if (gnutls_rnd(GNUTLS_RND_NONCE, s->creds.stored_key,
	    sizeof(s->creds.stored_key)) != 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, s->creds.server_key,
	    sizeof(s->creds.server_key)) != 0)
		return -1;
	s->unknown = true;
	return 0;
}

/* 1 found, 0 unknown user (fake credentials set), -1 error. */
static int
sasl_lookup(struct mp_sasl *s, enum mp_scram_hash h, const char *user)
{
	const struct mp_sasl_ctx *ctx = s->ctx;
	struct mp_scram_creds *c = &s->creds;
	int rc;

	memset(c, 0, sizeof(*c));
	s->unknown = false;
	rc = ctx->get_creds == NULL ? 0 :
	    ctx->get_creds(ctx->arg, ctx->host, user, h, c);
	if (rc == 1) {
		if (c->hash != h || c->salt_len == 0 ||
		    c->salt_len > MP_SCRAM_MAX_SALT ||
		    c->iterations < MP_SCRAM_MIN_ITER)
			return -1;
		return 1;
	}
	if (rc == 0)
		return sasl_fake_creds(s, h, user);
	return -1;
}

static enum mp_sasl_status
sasl_plain(struct mp_sasl *s, const unsigned char *in, size_t len,
    const char **condition_r)
{
	static const enum mp_scram_hash order[] = {
		MP_SCRAM_SHA256, MP_SCRAM_SHA512, MP_SCRAM_SHA1,
	};
	const char *authzid = (const char *)in, *authcid, *passwd, *user;
	const char *pass, *error;
	const unsigned char *nul1, *nul2;
	struct mp_scram_creds derived;
	size_t azlen, aclen, pwlen;
	bool ok;
	int rc = 0;

	if ((nul1 = memchr(in, '\0', len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - in))) ==
	    NULL || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - in)) !=
	    NULL)
		return sasl_fail(s, "malformed-request", condition_r);
	azlen = (size_t)(nul1 - in);
	authcid = (const char *)nul1 + 1;
	aclen = (size_t)(nul2 - nul1 - 1);
	passwd = (const char *)nul2 + 1;
	pwlen = len - (size_t)(nul2 + 1 - in);
	if (aclen == 0 || pwlen == 0)
		return sasl_fail(s, "malformed-request", condition_r);

	if (sasl_prep_user(s, authcid, aclen, &user) == -1)
		return sasl_fail(s, "not-authorized", condition_r);
	if (azlen > 0 && !sasl_authzid_ok(s, authzid, azlen, user))
		return sasl_fail(s, "invalid-authzid", condition_r);
	if (mp_precis_opaque(s->arena, passwd, pwlen, &pass, &error) == -1)
		return sasl_fail(s, "not-authorized", condition_r);

	/* Any stored hash will do; the strongest common one first. */
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((rc = sasl_lookup(s, order[i], user)) != 0)
			break;
	}
	/* Unknown: fake as SHA-256, the usual case, to cost the same. */
	if (rc == 0 && sasl_fake_creds(s, order[0], user) == -1)
		rc = -1;
	if (rc == -1)
		return sasl_fail(s, "temporary-auth-failure", condition_r);

	/* Derives even for an unknown user, so that timing tells nothing. */
	if (mp_scram_make_creds(s->creds.hash, pass, s->creds.salt,
	    s->creds.salt_len, s->creds.iterations, &derived, &error) == -1) {
		gnutls_memset((char *)pass, 0, strlen(pass));
		gnutls_memset(&s->creds, 0, sizeof(s->creds));
		return sasl_fail(s, s->unknown ? "not-authorized" :
		    "temporary-auth-failure", condition_r);
	}
	ok = mp_ct_equal(derived.stored_key, s->creds.stored_key,
	    mp_scram_hash_len(s->creds.hash));
	ok &= mp_ct_equal(derived.server_key, s->creds.server_key,
	    mp_scram_hash_len(s->creds.hash));
	/* The prepared password is a copy in our arena: wipe it now. */
	gnutls_memset((char *)pass, 0, strlen(pass));
	gnutls_memset(&derived, 0, sizeof(derived));
	gnutls_memset(&s->creds, 0, sizeof(s->creds));
	if (!ok || s->unknown)
		return sasl_fail(s, "not-authorized", condition_r);
	s->user = user;
	s->state = SASL_OK;
	return MP_SASL_SUCCESS;
}

static bool
sasl_printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

static bool
sasl_cbname_ok(const char *p, size_t len)
{
	if (len == 0 || len > SASL_MAX_CBNAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
		    p[i] == '-'))
			return false;
	return true;
}

/* The gs2 flag against what this mechanism and the server offered. */
static const char *
sasl_check_cbind(struct mp_sasl *s, char flag, const char *cbname,
    size_t cblen)
{
	const struct mp_sasl_ctx *ctx = s->ctx;
	unsigned char data[SASL_MAX_CB];
	char type[SASL_MAX_CBNAME + 1];
	size_t dlen = 0;

	if (flag != 'p') {
		if (s->plus)
			return "malformed-request";
		/* 'y': the client thinks we have no -PLUS, yet we offered. */
		if (flag == 'y' && ctx->plus_offered)
			return "not-authorized";
		return NULL;
	}
	if (!s->plus)
		return "malformed-request";
	memcpy(type, cbname, cblen);
	type[cblen] = '\0';
	if (ctx->get_cb == NULL ||
	    ctx->get_cb(ctx->arg, type, data, sizeof(data), &dlen) != 0 ||
	    dlen == 0 || dlen > sizeof(data))
		return "not-authorized";
	mp_buf_append(&s->cbind, data, dlen);
	return NULL;
}

static enum mp_sasl_status
sasl_scram_first(struct mp_sasl *s, const char *in, size_t len,
    struct mp_buf *out, const char **condition_r)
{
	const char *p = in, *end = in + len, *cbname = NULL, *az = NULL;
	const char *name, *cnonce, *user, *why;
	char *dec_name, *dec_az = NULL, flag;
	size_t cblen = 0, azlen = 0, nlen, cnlen, dec_nlen, dec_azlen = 0;
	unsigned char snonce[SASL_NONCE_BYTES];

	if (memchr(in, '\0', len) != NULL || len < 3)
		return sasl_fail(s, "malformed-request", condition_r);
	flag = p[0];
	if ((flag == 'n' || flag == 'y') && p[1] == ',')
		p += 2;
	else if (flag == 'p' && p[1] == '=') {
		cbname = p + 2;
		if ((p = memchr(cbname, ',', (size_t)(end - cbname))) ==
		    NULL || !sasl_cbname_ok(cbname, (size_t)(p - cbname)))
			return sasl_fail(s, "malformed-request", condition_r);
		cblen = (size_t)(p - cbname);
		p++;
	} else
		return sasl_fail(s, "malformed-request", condition_r);
	if (p < end && *p != ',') {
		if (end - p < 2 || p[0] != 'a' || p[1] != '=')
			return sasl_fail(s, "malformed-request", condition_r);
		az = p + 2;
		if ((p = memchr(az, ',', (size_t)(end - az))) == NULL)
			return sasl_fail(s, "malformed-request", condition_r);
		azlen = (size_t)(p - az);
		if (sasl_saslname(s->arena, az, azlen, &dec_az,
		    &dec_azlen) == -1)
			return sasl_fail(s, "malformed-request", condition_r);
	}
	if (p >= end || *p != ',')
		return sasl_fail(s, "malformed-request", condition_r);
	p++;
	mp_buf_append(&s->cbind, in, (size_t)(p - in));
	mp_buf_append(&s->first_bare, p, (size_t)(end - p));

	/* RFC 5802 5.1: a mandatory extension we cannot know of. */
	if (end - p >= 2 && p[0] == 'm' && p[1] == '=')
		return sasl_fail(s, "malformed-request", condition_r);
	if (sasl_attr(&p, end, 'n', &name, &nlen) == -1 ||
	    sasl_saslname(s->arena, name, nlen, &dec_name, &dec_nlen) == -1 ||
	    sasl_attr(&p, end, 'r', &cnonce, &cnlen) == -1 || cnlen == 0 ||
	    !sasl_printable(cnonce, cnlen) || sasl_extensions(p, end) == -1)
		return sasl_fail(s, "malformed-request", condition_r);

	if ((why = sasl_check_cbind(s, flag, cbname, cblen)) != NULL)
		return sasl_fail(s, why, condition_r);
	/* No account can have a name PRECIS refuses: nothing to hide. */
	if (sasl_prep_user(s, dec_name, dec_nlen, &user) == -1)
		return sasl_fail(s, "not-authorized", condition_r);
	if (dec_az != NULL && !sasl_authzid_ok(s, dec_az, dec_azlen, user))
		return sasl_fail(s, "invalid-authzid", condition_r);
	if (sasl_lookup(s, s->hash, user) == -1)
		return sasl_fail(s, "temporary-auth-failure", condition_r);
	s->user = user;

	mp_buf_append(&s->nonce, cnonce, cnlen);
	if (sasl_test_nonce[0] != '\0')
		mp_buf_puts(&s->nonce, sasl_test_nonce);
	else {
		if (gnutls_rnd(GNUTLS_RND_NONCE, snonce, sizeof(snonce)) != 0)
			return sasl_fail(s, "temporary-auth-failure",
			    condition_r);
		sasl_b64_encode(&s->nonce, snonce, sizeof(snonce));
	}
	mp_buf_puts(&s->server_first, "r=");
	mp_buf_append(&s->server_first, s->nonce.data, s->nonce.len);
	mp_buf_puts(&s->server_first, ",s=");
	sasl_b64_encode(&s->server_first, s->creds.salt, s->creds.salt_len);
	mp_buf_printf(&s->server_first, ",i=%u", s->creds.iterations);
	mp_buf_append(out, s->server_first.data, s->server_first.len);
	s->state = SASL_WAIT_FINAL;
	return MP_SASL_CONTINUE;
}

static const char *
sasl_last_comma(const char *p, size_t len)
{
	while (len > 0)
		if (p[--len] == ',')
			return p + len;
	return NULL;
}

static enum mp_sasl_status
sasl_scram_final(struct mp_sasl *s, const char *in, size_t len,
    struct mp_buf *out, const char **condition_r)
{
	enum mp_scram_hash h = s->hash;
	size_t hlen = mp_scram_hash_len(h), cblen, nlen, plen, cbdlen, prlen;
	const char *p = in, *end, *cb, *nonce, *proof;
	unsigned char *cbdata, prbuf[MP_SCRAM_MAX_KEY + 3];
	unsigned char sig[MP_SCRAM_MAX_KEY], key[MP_SCRAM_MAX_KEY];
	unsigned char stored[MP_SCRAM_MAX_KEY];
	struct mp_buf am = MP_BUF_INIT;
	bool ok;
	int rc;

	if (memchr(in, '\0', len) != NULL ||
	    (end = sasl_last_comma(in, len)) == NULL)
		return sasl_fail(s, "malformed-request", condition_r);
	/* The proof is last; what precedes it goes into AuthMessage. */
	proof = end + 1;
	plen = (size_t)(in + len - proof);
	if (plen < 2 || proof[0] != 'p' || proof[1] != '=' ||
	    plen - 2 > sizeof(prbuf) / 3 * 4 ||
	    sasl_b64_decode(proof + 2, plen - 2, prbuf, &prlen) == -1 ||
	    prlen != hlen)
		return sasl_fail(s, "malformed-request", condition_r);
	if (sasl_attr(&p, end, 'c', &cb, &cblen) == -1 ||
	    sasl_attr(&p, end, 'r', &nonce, &nlen) == -1 ||
	    sasl_extensions(p, end) == -1)
		return sasl_fail(s, "malformed-request", condition_r);
	cbdata = mp_arena_alloc(s->arena, cblen / 4 * 3 + 1);
	if (sasl_b64_decode(cb, cblen, cbdata, &cbdlen) == -1)
		return sasl_fail(s, "malformed-request", condition_r);
	if (cbdlen != s->cbind.len ||
	    memcmp(cbdata, s->cbind.data, cbdlen) != 0 ||
	    nlen != s->nonce.len || memcmp(nonce, s->nonce.data, nlen) != 0)
		return sasl_fail(s, "not-authorized", condition_r);

	mp_buf_append(&am, s->first_bare.data, s->first_bare.len);
	mp_buf_putc(&am, ',');
	mp_buf_append(&am, s->server_first.data, s->server_first.len);
	mp_buf_putc(&am, ',');
	mp_buf_append(&am, in, (size_t)(end - in));

	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage). */
	rc = gnutls_hmac_fast(sasl_macs[h], s->creds.stored_key, hlen,
	    am.data, am.len, sig);
	for (size_t i = 0; i < hlen; i++)
		key[i] = prbuf[i] ^ sig[i];
	rc |= gnutls_hash_fast(sasl_digests[h], key, hlen, stored);
	ok = rc == 0 && mp_ct_equal(stored, s->creds.stored_key, hlen);
	if (ok && !s->unknown)
		rc = gnutls_hmac_fast(sasl_macs[h], s->creds.server_key, hlen,
		    am.data, am.len, sig);
	mp_buf_free(&am);
	gnutls_memset(key, 0, sizeof(key));
	gnutls_memset(&s->creds, 0, sizeof(s->creds));
	if (!ok || s->unknown)
		return sasl_fail(s, "not-authorized", condition_r);
	if (rc != 0)
		return sasl_fail(s, "temporary-auth-failure", condition_r);
	mp_buf_puts(out, "v=");
	sasl_b64_encode(out, sig, hlen);
	s->state = SASL_OK;
	return MP_SASL_SUCCESS;
}

struct mp_sasl *
mp_sasl_new(const char *mech, const struct mp_sasl_ctx *ctx)
{
	struct mp_sasl *s;

	if (mech == NULL || ctx == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(sasl_mechs) / sizeof(sasl_mechs[0]);
	    i++) {
		if (strcmp(mech, sasl_mechs[i].name) != 0)
			continue;
		s = mp_xcalloc(1, sizeof(*s));
		s->ctx = ctx;
		s->arena = mp_arena_new();
		s->kind = sasl_mechs[i].kind;
		s->hash = sasl_mechs[i].hash;
		s->plus = sasl_mechs[i].plus;
		s->state = SASL_START;
		return s;
	}
	return NULL;
}

void
mp_sasl_free(struct mp_sasl *s)
{
	if (s == NULL)
		return;
	gnutls_memset(&s->creds, 0, sizeof(s->creds));
	mp_buf_free(&s->cbind);
	mp_buf_free(&s->first_bare);
	mp_buf_free(&s->server_first);
	mp_buf_free(&s->nonce);
	mp_arena_free(s->arena);
	free(s);
}

/* out is reset first: it holds this step's reply only. */
enum mp_sasl_status
mp_sasl_step(struct mp_sasl *s, const unsigned char *in, size_t len,
    struct mp_buf *out, const char **condition_r)
{
	mp_buf_reset(out);
	if (s->state == SASL_OK || s->state == SASL_FAILED)
		return sasl_fail(s, "not-authorized", condition_r);
	if (in == NULL && len != 0)
		return sasl_fail(s, "malformed-request", condition_r);
	if (len > SASL_MAX_INPUT)
		return sasl_fail(s, "malformed-request", condition_r);
	if (len == 0) {
		/* No initial response: ask for it, once (RFC 4422 5). */
		if (s->state != SASL_START || s->asked)
			return sasl_fail(s, "malformed-request", condition_r);
		s->asked = true;
		return MP_SASL_CONTINUE;
	}
	if (s->kind == SASL_PLAIN)
		return sasl_plain(s, in, len, condition_r);
	if (s->state == SASL_START)
		return sasl_scram_first(s, (const char *)in, len, out,
		    condition_r);
	return sasl_scram_final(s, (const char *)in, len, out, condition_r);
}

const char *
mp_sasl_user(const struct mp_sasl *s)
{
	return s->state == SASL_OK ? s->user : NULL;
}

bool
mp_sasl_known(const char *mech, bool *plus_r)
{
	for (size_t i = 0; i < sizeof(sasl_mechs) / sizeof(sasl_mechs[0]);
	    i++) {
		if (strcmp(mech, sasl_mechs[i].name) == 0) {
			if (plus_r != NULL)
				*plus_r = sasl_mechs[i].plus;
			return true;
		}
	}
	return false;
}
