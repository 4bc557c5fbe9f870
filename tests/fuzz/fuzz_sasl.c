/* fuzz_sasl.c - libFuzzer target: the SASL server steps (PLAIN, SCRAM-*) against a fake account. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <magpie/buf.h>
#include <magpie/log.h>

#include "sasl.h"
#include "scram.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sasl.c's test hook: a fixed server nonce. */
void	mp_sasl_test_set_nonce(const char *nonce);

/*
 * Input: byte 0 picks the mechanism (low 3 bits) and flags: 0x08 channel
 * binding available, 0x10 -PLUS offered, 0x20 fixed server nonce. The rest
 * is the client's steps separated by 0xff (never in UTF-8). In a SCRAM
 * client-final, "p=AUTO" is replaced by the right proof for user "user",
 * so that the fuzzer reaches the success path too.
 */
#define SASL_SEP	0xff
#define SASL_MAX_STEPS	8
#define SASL_USER	"user"
#define SASL_PASS	"pencil"
#define SASL_NONCE	"3rfcNHYJY1ZVvWVs7j"

static const char *const sasl_mech_names[] = {
	"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS",
	"SCRAM-SHA-0",	/* unknown: mp_sasl_new() must say NULL */
};

static const char *const sasl_conditions[] = {
	"aborted", "account-disabled", "credentials-expired",
	"encryption-required", "incorrect-encoding", "invalid-authzid",
	"invalid-mechanism", "malformed-request", "mechanism-too-weak",
	"not-authorized", "temporary-auth-failure", NULL,
};

static const gnutls_mac_algorithm_t sasl_fz_macs[] = {
	GNUTLS_MAC_SHA1, GNUTLS_MAC_SHA256, GNUTLS_MAC_SHA512,
};

static struct mp_scram_creds sasl_creds[MP_SCRAM_NHASH];
static unsigned char sasl_client_key[MP_SCRAM_NHASH][MP_SCRAM_MAX_KEY];
static const unsigned char sasl_cb_data[32] = "fuzz channel binding data 32 by";
static bool sasl_cb_on;

static void
sasl_die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_sasl: %s%s%s\n", what, detail ? ": " : "",
	    detail ? detail : "");
	abort();
}

static int
sasl_get_creds(void *arg, const char *host, const char *user,
    enum mp_scram_hash h, struct mp_scram_creds *creds_r)
{
	if (host == NULL || strcmp(host, "localhost") != 0)
		sasl_die("wrong host given to get_creds", host);
	if ((unsigned)h >= MP_SCRAM_NHASH)
		sasl_die("bad hash given to get_creds", NULL);
	if (strcmp(user, SASL_USER) == 0) {
		*creds_r = sasl_creds[h];
		return 1;
	}
	if (strcmp(user, "error") == 0)
		return -1;
	if (strcmp(user, "weak") == 0) {
		/* Corrupt storage: must be refused, not trusted. */
		*creds_r = sasl_creds[h];
		creds_r->iterations = 1;
		return 1;
	}
	return 0;
}

static int
sasl_get_cb(void *arg, const char *type, unsigned char *buf, size_t size,
    size_t *len_r)
{
	if (!sasl_cb_on || strcmp(type, "tls-exporter") != 0 ||
	    size < sizeof(sasl_cb_data))
		return -1;
	memcpy(buf, sasl_cb_data, sizeof(sasl_cb_data));
	*len_r = sizeof(sasl_cb_data);
	return 0;
}

/* client-first-message-bare: what follows the gs2 header. */
static void
sasl_first_bare(const unsigned char *in, size_t len, struct mp_buf *out)
{
	const unsigned char *c1, *c2;

	mp_buf_reset(out);
	if ((c1 = memchr(in, ',', len)) == NULL ||
	    (c2 = memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - in))) == NULL)
		return;
	mp_buf_append(out, c2 + 1, len - (size_t)(c2 + 1 - in));
}

/* Replaces a trailing "p=AUTO" by the proof of SASL_USER's password. */
static void
sasl_fill_proof(enum mp_scram_hash h, const struct mp_buf *first_bare,
    const struct mp_buf *server_first, struct mp_buf *step)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t hlen = mp_scram_hash_len(h), without;
	unsigned char sig[MP_SCRAM_MAX_KEY], proof[MP_SCRAM_MAX_KEY];
	struct mp_buf am = MP_BUF_INIT;

	if (step->len < 7 || memcmp(step->data + step->len - 7, ",p=AUTO",
	    7) != 0)
		return;
	without = step->len - 7;
	mp_buf_append(&am, first_bare->data, first_bare->len);
	mp_buf_putc(&am, ',');
	mp_buf_append(&am, server_first->data, server_first->len);
	mp_buf_putc(&am, ',');
	mp_buf_append(&am, step->data, without);
	gnutls_hmac_fast(sasl_fz_macs[h], sasl_creds[h].stored_key, hlen,
	    am.data, am.len, sig);
	mp_buf_free(&am);
	for (size_t i = 0; i < hlen; i++)
		proof[i] = sasl_client_key[h][i] ^ sig[i];
	step->len = without + 3;
	for (size_t i = 0; i < hlen; i += 3) {
		uint32_t v = (uint32_t)proof[i] << 16;

		if (i + 1 < hlen)
			v |= (uint32_t)proof[i + 1] << 8;
		if (i + 2 < hlen)
			v |= proof[i + 2];
		mp_buf_putc(step, b64[v >> 18 & 63]);
		mp_buf_putc(step, b64[v >> 12 & 63]);
		mp_buf_putc(step, i + 1 < hlen ? b64[v >> 6 & 63] : '=');
		mp_buf_putc(step, i + 2 < hlen ? b64[v & 63] : '=');
	}
}

static void
sasl_check_condition(const char *cond)
{
	if (cond == NULL)
		sasl_die("failure without a condition", NULL);
	for (size_t i = 0; sasl_conditions[i] != NULL; i++)
		if (strcmp(cond, sasl_conditions[i]) == 0)
			return;
	sasl_die("not an RFC 6120 6.5 condition", cond);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char salt[] = "fuzz-salt-16byte";
	const char *err;

	mp_log_set_level(MP_LOG_ERROR);
	if (gnutls_global_init() < 0)
		sasl_die("gnutls_global_init", NULL);
	for (int h = 0; h < MP_SCRAM_NHASH; h++) {
		unsigned char salted[MP_SCRAM_MAX_KEY];
		gnutls_datum_t key = { (unsigned char *)SASL_PASS,
		    sizeof(SASL_PASS) - 1 };
		gnutls_datum_t s = { (unsigned char *)salt, sizeof(salt) - 1 };
		size_t hlen = mp_scram_hash_len(h);

		if (mp_scram_make_creds(h, SASL_PASS, salt, sizeof(salt) - 1,
		    MP_SCRAM_MIN_ITER, &sasl_creds[h], &err) == -1)
			sasl_die("mp_scram_make_creds", err);
		/* The client's side, computed independently of scram.c. */
		if (gnutls_pbkdf2(sasl_fz_macs[h], &key, &s, MP_SCRAM_MIN_ITER,
		    salted, hlen) != 0 ||
		    gnutls_hmac_fast(sasl_fz_macs[h], salted, hlen,
		    "Client Key", 10, sasl_client_key[h]) != 0)
			sasl_die("client key", NULL);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_sasl_ctx ctx = { 0 };
	struct mp_buf out = MP_BUF_INIT, step = MP_BUF_INIT;
	struct mp_buf first_bare = MP_BUF_INIT, server_first = MP_BUF_INIT;
	const uint8_t *p, *end, *sep;
	const char *mech, *cond;
	enum mp_sasl_status rc = MP_SASL_CONTINUE;
	enum mp_scram_hash h;
	struct mp_sasl *s;
	bool plus, known, done = false;
	int nstep = 0;

	if (size < 1)
		return 0;
	mech = sasl_mech_names[data[0] & 7];
	known = mp_sasl_known(mech, &plus);
	h = strstr(mech, "512") ? MP_SCRAM_SHA512 : strstr(mech, "256") ?
	    MP_SCRAM_SHA256 : MP_SCRAM_SHA1;
	sasl_cb_on = (data[0] & 0x08) != 0;
	ctx.host = "localhost";
	ctx.get_creds = sasl_get_creds;
	ctx.get_cb = sasl_cb_on ? sasl_get_cb : NULL;
	ctx.plus_offered = (data[0] & 0x10) != 0;
	mp_sasl_test_set_nonce(data[0] & 0x20 ? SASL_NONCE : NULL);
	s = mp_sasl_new(mech, &ctx);
	if ((s != NULL) != known)
		sasl_die("mp_sasl_new and mp_sasl_known disagree", mech);
	if (s == NULL)
		return 0;
	for (p = data + 1, end = data + size; p <= end &&
	    nstep < SASL_MAX_STEPS; p = sep + 1, nstep++) {
		if ((sep = memchr(p, SASL_SEP, (size_t)(end - p))) == NULL)
			sep = end;
		mp_buf_reset(&step);
		mp_buf_append(&step, p, (size_t)(sep - p));
		if (nstep == 0)
			sasl_first_bare(p, (size_t)(sep - p), &first_bare);
		else if (nstep == 1 && strcmp(mech, "PLAIN") != 0)
			sasl_fill_proof(h, &first_bare, &server_first, &step);
		cond = NULL;
		rc = mp_sasl_step(s, step.len > 0 ? (unsigned char *)step.data :
		    NULL, step.len, &out, &cond);
		if (done && rc != MP_SASL_FAILURE)
			sasl_die("a step after the end did not fail", NULL);
		switch (rc) {
		case MP_SASL_CONTINUE:
			if (nstep == 0 || server_first.len == 0) {
				mp_buf_reset(&server_first);
				mp_buf_append(&server_first, out.data, out.len);
			}
			break;
		case MP_SASL_SUCCESS:
			/* Only the one account, with its password, gets in. */
			if (mp_sasl_user(s) == NULL ||
			    strcmp(mp_sasl_user(s), SASL_USER) != 0)
				sasl_die("success for the wrong user",
				    mp_sasl_user(s));
			done = true;
			break;
		case MP_SASL_FAILURE:
			sasl_check_condition(cond);
			if (mp_sasl_user(s) != NULL)
				sasl_die("a user after failure", NULL);
			done = true;
			break;
		}
		if (sep == end)
			break;
	}
	mp_sasl_free(s);
	mp_buf_free(&out);
	mp_buf_free(&step);
	mp_buf_free(&first_bare);
	mp_buf_free(&server_first);
	return 0;
}
