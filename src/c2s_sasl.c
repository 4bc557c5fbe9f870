/* c2s_sasl.c - SASL on a client stream (RFC 6120 section 6): offering, exchanging, counting failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include <magpie/module.h>

#include "accounts.h"
#include "c2s.h"
#include "config.h"
#include "conn.h"
#include "iplimits.h"
#include "sasl.h"
#include "server.h"
#include "session.h"
#include "xmlstream.h"

#define NS_SASL_CB	"urn:xmpp:sasl-cb:0"

/* SASL exchanges a stream may start, failed or not. */
#define C2S_MAX_AUTH_ATTEMPTS	10

/* SASL mechanisms in order of preference. */
static const char *const c2s_mechs[] = {
	"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
	"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", NULL,
};

static const char *const c2s_cb_types[] = {
	"tls-exporter", "tls-server-end-point", NULL,
};

static bool
c2s_is_tls(struct mp_session *s)
{
	return mp_conn_is_tls(s->conn);
}

static int
c2s_get_cb(void *arg, const char *type, unsigned char *buf, size_t size,
    size_t *len_r)
{
	struct mp_session *s = arg;

	return mp_conn_channel_binding(s->conn, type, buf, size, len_r);
}

static int
c2s_get_creds(void *arg, const char *host, const char *user,
    enum mp_scram_hash h, struct mp_scram_creds *creds_r)
{
	return mp_account_creds(host, user, h, creds_r);
}

static bool
c2s_cb_available(struct mp_session *s, const char *type)
{
	unsigned char buf[128];
	size_t len;

	return mp_conn_channel_binding(s->conn, type, buf, sizeof(buf),
	    &len) == 0;
}

static bool
c2s_mech_offered(struct mp_session *s, const char *mech)
{
	bool plus;

	if (!mp_sasl_known(mech, &plus))
		return false;
	if (!c2s_is_tls(s) && (s->tls_required || strcmp(mech, "PLAIN") == 0))
		return false;
	if (strcmp(mech, "PLAIN") == 0 && !mp_srv.conf->auth.allow_plain)
		return false;
	if (plus)
		return c2s_cb_available(s, "tls-exporter") ||
		    c2s_cb_available(s, "tls-server-end-point");
	return true;
}

void
mp_c2s_sasl_features(struct mp_session *s, struct mp_arena *a,
    struct mp_node *f)
{
	struct mp_node *n, *c;

	n = mp_node_add(a, f, MP_NS_SASL, "mechanisms");
	for (size_t i = 0; c2s_mechs[i] != NULL; i++)
		if (c2s_mech_offered(s, c2s_mechs[i])) {
			c = mp_node_add(a, n, NULL, "mechanism");
			mp_node_add_text(a, c, c2s_mechs[i],
			    strlen(c2s_mechs[i]));
		}
	/* XEP-0440: the channel-binding types we support. */
	if (c2s_is_tls(s)) {
		n = mp_node_add(a, f, NS_SASL_CB, "sasl-channel-binding");
		for (size_t i = 0; c2s_cb_types[i] != NULL; i++)
			if (c2s_cb_available(s, c2s_cb_types[i]))
				mp_node_set_attr(a, mp_node_add(a, n, NULL,
				    "channel-binding"), "type", c2s_cb_types[i]);
	}
}

static void
c2s_sasl_failure(struct mp_session *s, const char *cond, bool counted)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_sasl_free(s->sasl);
	s->sasl = NULL;
	mp_buf_printf(&b, "<failure xmlns='" MP_NS_SASL "'><%s/></failure>",
	    cond);
	mp_conn_write(s->conn, b.data, b.len);
	mp_buf_free(&b);
	mp_log_info("%s: authentication failed: %s", mp_conn_peer(s->conn),
	    cond);
	/*
	 * RFC 6120 6.4.5: a bounded number of retries, then the stream ends.
	 * Only a checked credential counts as a try: a client that asks for
	 * a channel binding we lack may still fall back to another mechanism.
	 */
	if (counted) {
		s->auth_failures++;
		mp_limits_auth_failed(&mp_srv.conf->limits,
		    mp_conn_ip(s->conn));
	}
	if (s->auth_failures >= mp_srv.conf->auth.max_failures ||
	    ++s->auth_attempts >= C2S_MAX_AUTH_ATTEMPTS)
		mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
		    "Too many failed authentication attempts");
}

static void
c2s_sasl_out(struct mp_session *s, const char *name, const struct mp_buf *data)
{
	gnutls_datum_t raw = { (unsigned char *)data->data,
	    (unsigned)data->len }, enc = { NULL, 0 };
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_printf(&b, "<%s xmlns='" MP_NS_SASL "'>", name);
	if (data->len > 0 && gnutls_base64_encode2(&raw, &enc) == 0) {
		mp_buf_append(&b, enc.data, enc.size);
		gnutls_free(enc.data);
	}
	mp_buf_printf(&b, "</%s>", name);
	mp_conn_write(s->conn, b.data, b.len);
	mp_buf_free(&b);
}

static void
c2s_sasl_step(struct mp_session *s, struct mp_node *st, struct mp_arena *a)
{
	char *text = mp_node_text(a, st);
	gnutls_datum_t enc, dec = { NULL, 0 };
	struct mp_buf out = MP_BUF_INIT;
	const char *cond = "not-authorized";
	enum mp_sasl_status rc;

	if (strcmp(text, "=") == 0)
		text[0] = '\0';
	else if (text[0] != '\0') {
		enc.data = (unsigned char *)text;
		enc.size = (unsigned)strlen(text);
		if (gnutls_base64_decode2(&enc, &dec) < 0) {
			c2s_sasl_failure(s, "incorrect-encoding", false);
			return;
		}
	}
	rc = mp_sasl_step(s->sasl, dec.data, dec.size, &out, &cond);
	gnutls_free(dec.data);
	switch (rc) {
	case MP_SASL_CONTINUE:
		/* The next step checks a proof (SCRAM's client-final). */
		s->sasl_checked = true;
		c2s_sasl_out(s, "challenge", &out);
		break;
	case MP_SASL_SUCCESS:
		c2s_sasl_out(s, "success", &out);
		s->user = mp_xstrdup(mp_sasl_user(s->sasl));
		mp_sasl_free(s->sasl);
		s->sasl = NULL;
		s->state = C2S_AUTHENTICATED;
		s->header_sent = false;
		s->restart = true;
		mp_xmlstream_stop(s->xs);
		mp_log_info("%s: authenticated as %s@%s", mp_conn_peer(s->conn),
		    s->user, s->host);
		break;
	case MP_SASL_FAILURE:
		c2s_sasl_failure(s, cond, s->sasl_checked);
		break;
	}
	mp_buf_free(&out);
}

void
mp_c2s_sasl(struct mp_session *s, struct mp_node *st, struct mp_arena *a)
{
	const char *mech;

	if (s->state != C2S_OPEN) {
		mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
		    "Already authenticated");
		return;
	}
	if (strcmp(st->name, "abort") == 0) {
		if (s->sasl != NULL)
			c2s_sasl_failure(s, "aborted", false);
		return;
	}
	if (strcmp(st->name, "response") == 0) {
		if (s->sasl == NULL)
			c2s_sasl_failure(s, "not-authorized", false);
		else
			c2s_sasl_step(s, st, a);
		return;
	}
	if (strcmp(st->name, "auth") != 0) {
		mp_c2s_stream_error(s, "unsupported-stanza-type", NULL, NULL, NULL);
		return;
	}
	if (mp_limits_auth_blocked(&mp_srv.conf->limits, mp_conn_ip(s->conn))) {
		mp_c2s_write(s, "<failure xmlns='" MP_NS_SASL "'>"
		    "<temporary-auth-failure/></failure>");
		mp_c2s_stream_error(s, "policy-violation", NULL, NULL,
		    "Too many failed logins from your address");
		return;
	}
	mech = mp_node_attr(st, "mechanism");
	mp_sasl_free(s->sasl);
	s->sasl = NULL;
	if (!c2s_is_tls(s) && s->tls_required) {
		c2s_sasl_failure(s, "encryption-required", false);
		return;
	}
	if (mech == NULL || !c2s_mech_offered(s, mech)) {
		c2s_sasl_failure(s, mech != NULL && strcmp(mech, "PLAIN") == 0 &&
		    !c2s_is_tls(s) ? "encryption-required" : "invalid-mechanism",
		    false);
		return;
	}
	if (s->sasl_ctx == NULL) {
		s->sasl_ctx = mp_xcalloc(1, sizeof(*s->sasl_ctx));
		s->sasl_ctx->get_creds = c2s_get_creds;
		s->sasl_ctx->arg = s;
	}
	s->sasl_ctx->host = s->host;
	s->sasl_ctx->get_cb = c2s_is_tls(s) ? c2s_get_cb : NULL;
	s->sasl_ctx->plus_offered = c2s_mech_offered(s, "SCRAM-SHA-256-PLUS");
	s->sasl = mp_sasl_new(mech, s->sasl_ctx);
	if (s->sasl == NULL) {
		c2s_sasl_failure(s, "invalid-mechanism", false);
		return;
	}
	/* PLAIN checks the password in its first step. */
	s->sasl_checked = strcmp(mech, "PLAIN") == 0;
	if (mp_node_first_element(st) == NULL && st->children == NULL) {
		/* RFC 6120 6.4.2: no initial response, ask for it. */
		mp_c2s_write(s, "<challenge xmlns='" MP_NS_SASL "'/>");
		return;
	}
	c2s_sasl_step(s, st, a);
}
