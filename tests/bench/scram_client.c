/* scram_client.c - the client side of PLAIN and SCRAM, keys cached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "bench.h"

#define SCRAM_KEY	32
#define SCRAM_CACHE	65536	/* slots; a power of two */

struct bench_scram {
	enum bench_mech	 mech;
	char		 cnonce[33];
	char		 first_bare[160];
	unsigned char	 server_sig[SCRAM_KEY];
	bool		 have_sig;
};

/* Derived keys of one (mechanism, salt, iterations, password). */
struct scram_entry {
	char		*key;
	unsigned char	 client_key[SCRAM_KEY];
	unsigned char	 stored_key[SCRAM_KEY];
	unsigned char	 server_key[SCRAM_KEY];
};

static struct scram_entry scram_cache[SCRAM_CACHE];
static size_t scram_cache_used;

static const char scram_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
scram_b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = scram_b64[in[i] >> 2];
		out[o++] = scram_b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = scram_b64[((in[i + 1] & 15) << 2) |
		    (in[i + 2] >> 6)];
		out[o++] = scram_b64[in[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = scram_b64[in[i] >> 2];
		if (i + 1 < len) {
			out[o++] = scram_b64[((in[i] & 3) << 4) |
			    (in[i + 1] >> 4)];
			out[o++] = scram_b64[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = scram_b64[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Decodes into out (room for len bytes); skips whitespace; -1 on junk. */
static int
scram_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t *out_len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		const char *p;
		char ch = in[i];

		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=')
			break;
		if ((p = strchr(scram_b64, ch)) == NULL || ch == '\0')
			return -1;
		acc = (acc << 6) | (unsigned)(p - scram_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_len = o;
	return 0;
}

static size_t
scram_hash_len(enum bench_mech m)
{
	return m == BENCH_MECH_SCRAM_SHA256 ? 32 : 20;
}

static uint64_t
scram_fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int
bench_pbkdf2(enum bench_mech m, const char *password,
    const unsigned char *salt, size_t salt_len, unsigned iter,
    unsigned char *out)
{
	gnutls_datum_t kd, sd;

	if (m == BENCH_MECH_PLAIN)
		return -1;
	kd.data = (unsigned char *)(uintptr_t)password;
	kd.size = (unsigned)strlen(password);
	sd.data = (unsigned char *)(uintptr_t)salt;
	sd.size = (unsigned)salt_len;
	return gnutls_pbkdf2(m == BENCH_MECH_SCRAM_SHA256 ? GNUTLS_MAC_SHA256 :
	    GNUTLS_MAC_SHA1, &kd, &sd, iter, out, scram_hash_len(m)) < 0 ?
	    -1 : 0;
}

/* The cached keys, computed on a miss: PBKDF2 is the generator's cost. */
static const struct scram_entry *
scram_keys(struct bench *b, enum bench_mech m, const char *salt_b64,
    unsigned iter, const char **error_r)
{
	gnutls_mac_algorithm_t mac = m == BENCH_MECH_SCRAM_SHA256 ?
	    GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1;
	gnutls_digest_algorithm_t dig = m == BENCH_MECH_SCRAM_SHA256 ?
	    GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1;
	size_t hl = scram_hash_len(m), salt_len;
	unsigned char salt[128], salted[SCRAM_KEY];
	static struct scram_entry tmp;
	struct scram_entry *e;
	char key[512];
	size_t i;

	snprintf(key, sizeof(key), "%d:%u:%s:%s", (int)m, iter, salt_b64,
	    b->password);
	i = scram_fnv(key) & (SCRAM_CACHE - 1);
	while (scram_cache[i].key != NULL) {
		if (strcmp(scram_cache[i].key, key) == 0) {
			b->scram_cache_hits++;
			return &scram_cache[i];
		}
		i = (i + 1) & (SCRAM_CACHE - 1);
	}
	b->scram_cache_misses++;
	if (strlen(salt_b64) * 3 / 4 + 3 > sizeof(salt) ||
	    scram_b64_decode(salt_b64, strlen(salt_b64), salt, &salt_len) < 0) {
		*error_r = "bad salt";
		return NULL;
	}
	if (iter == 0 || iter > 10000000) {
		*error_r = "bad iteration count";
		return NULL;
	}
	/* A full table keeps working, uncached. */
	e = scram_cache_used < SCRAM_CACHE * 3 / 4 ? &scram_cache[i] : &tmp;
	if (bench_pbkdf2(m, b->password, salt, salt_len, iter, salted) < 0 ||
	    gnutls_hmac_fast(mac, salted, hl, "Client Key", 10,
	    e->client_key) < 0 ||
	    gnutls_hash_fast(dig, e->client_key, hl, e->stored_key) < 0 ||
	    gnutls_hmac_fast(mac, salted, hl, "Server Key", 10,
	    e->server_key) < 0) {
		*error_r = "gnutls crypto failed";
		return NULL;
	}
	if (e != &tmp) {
		e->key = strdup(key);
		if (e->key == NULL)
			abort();
		scram_cache_used++;
	}
	return e;
}

static char *
scram_auth_xml(const char *mech, const char *payload, size_t len)
{
	char *b64 = malloc(len * 4 / 3 + 8), *xml;

	if (b64 == NULL)
		abort();
	scram_b64_encode((const unsigned char *)payload, len, b64);
	if (asprintf(&xml, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
	    " mechanism='%s'>%s</auth>", mech, b64) < 0)
		abort();
	free(b64);
	return xml;
}

struct bench_scram *
bench_sasl_start(struct bench *b, int user, char **auth_r)
{
	struct bench_scram *s = calloc(1, sizeof(*s));
	char payload[400];
	int n;

	if (s == NULL)
		abort();
	s->mech = b->mech;
	if (s->mech == BENCH_MECH_PLAIN) {
		n = snprintf(payload, sizeof(payload), "%c%s%d%c%s", 0,
		    b->user_prefix, user, 0, b->password);
		*auth_r = scram_auth_xml("PLAIN", payload,
		    (size_t)n < sizeof(payload) ? (size_t)n : sizeof(payload));
		return s;
	}
	for (n = 0; n < 32; n++)
		s->cnonce[n] = scram_b64[bench_random() % 62];
	s->cnonce[32] = '\0';
	snprintf(s->first_bare, sizeof(s->first_bare), "n=%s%d,r=%s",
	    b->user_prefix, user, s->cnonce);
	n = snprintf(payload, sizeof(payload), "n,,%s", s->first_bare);
	*auth_r = scram_auth_xml(s->mech == BENCH_MECH_SCRAM_SHA256 ?
	    "SCRAM-SHA-256" : "SCRAM-SHA-1", payload, (size_t)n);
	return s;
}

char *
bench_sasl_step(struct bench *b, struct bench_scram *s, const char *b64,
    size_t len, const char **error_r)
{
	gnutls_mac_algorithm_t mac = s->mech == BENCH_MECH_SCRAM_SHA256 ?
	    GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1;
	size_t hl = scram_hash_len(s->mech), sf_len, i;
	unsigned char sf[600], sig[SCRAM_KEY], proof[SCRAM_KEY];
	const struct scram_entry *e;
	char *nonce, *salt, *iter, *p, *xml, *auth_msg, final[400];
	char proof_b64[64];
	int n;

	if (s->mech == BENCH_MECH_PLAIN) {
		*error_r = "challenge to PLAIN";
		return NULL;
	}
	if (len * 3 / 4 + 3 > sizeof(sf) ||
	    scram_b64_decode(b64, len, sf, &sf_len) < 0) {
		*error_r = "bad server-first-message";
		return NULL;
	}
	sf[sf_len] = '\0';
	if (strlen((char *)sf) != sf_len) {
		*error_r = "NUL in server-first-message";
		return NULL;
	}
	/* r=...,s=...,i=... with the attributes in this order (RFC 5802). */
	nonce = (char *)sf;
	if (strncmp(nonce, "r=", 2) != 0 ||
	    (salt = strstr(nonce, ",s=")) == NULL ||
	    (iter = strstr(salt, ",i=")) == NULL) {
		*error_r = "bad server-first-message";
		return NULL;
	}
	*salt = '\0';
	*iter = '\0';
	nonce += 2;
	salt += 3;
	iter += 3;
	if ((p = strchr(iter, ',')) != NULL)
		*p = '\0';
	if (strncmp(nonce, s->cnonce, 32) != 0) {
		*error_r = "server nonce does not extend ours";
		return NULL;
	}
	if ((e = scram_keys(b, s->mech, salt, (unsigned)atoi(iter),
	    error_r)) == NULL)
		return NULL;
	n = snprintf(final, sizeof(final), "c=biws,r=%s", nonce);
	if (n < 0 || (size_t)n >= sizeof(final)) {
		*error_r = "nonce too long";
		return NULL;
	}
	/* The decoded message was cut up above: rebuild it for AuthMessage. */
	if (asprintf(&auth_msg, "%s,r=%s,s=%s,i=%s%s%s,%s", s->first_bare,
	    nonce, salt, iter, p != NULL ? "," : "", p != NULL ? p + 1 : "",
	    final) < 0)
		abort();
	if (gnutls_hmac_fast(mac, e->stored_key, hl, auth_msg,
	    strlen(auth_msg), sig) < 0 ||
	    gnutls_hmac_fast(mac, e->server_key, hl, auth_msg,
	    strlen(auth_msg), s->server_sig) < 0) {
		free(auth_msg);
		*error_r = "gnutls hmac failed";
		return NULL;
	}
	free(auth_msg);
	s->have_sig = true;
	for (i = 0; i < hl; i++)
		proof[i] = e->client_key[i] ^ sig[i];
	scram_b64_encode(proof, hl, proof_b64);
	n = snprintf(final + n, sizeof(final) - (size_t)n, ",p=%s", proof_b64);
	if (n < 0 || strlen(final) + 1 >= sizeof(final)) {
		*error_r = "nonce too long";
		return NULL;
	}
	xml = malloc(strlen(final) * 4 / 3 + 128);
	if (xml == NULL)
		abort();
	p = stpcpy(xml, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
	p += scram_b64_encode((unsigned char *)final, strlen(final), p);
	strcpy(p, "</response>");
	return xml;
}

int
bench_sasl_finish(struct bench_scram *s, const char *b64, size_t len,
    const char **error_r)
{
	unsigned char msg[256], want[SCRAM_KEY * 2];
	size_t msg_len, hl = scram_hash_len(s->mech);
	char want_b64[64];

	if (s->mech == BENCH_MECH_PLAIN)
		return 0;
	if (!s->have_sig) {
		*error_r = "success before the challenge";
		return -1;
	}
	if (len * 3 / 4 + 3 > sizeof(msg) ||
	    scram_b64_decode(b64, len, msg, &msg_len) < 0) {
		*error_r = "bad server-final-message";
		return -1;
	}
	memcpy(want, s->server_sig, hl);
	scram_b64_encode(want, hl, want_b64);
	if (msg_len < 2 + strlen(want_b64) || memcmp(msg, "v=", 2) != 0 ||
	    memcmp(msg + 2, want_b64, strlen(want_b64)) != 0) {
		*error_r = "wrong server signature";
		return -1;
	}
	return 0;
}

void
bench_sasl_free(struct bench_scram *s)
{
	free(s);
}
