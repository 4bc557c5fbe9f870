/* sasl.h - the server side of SASL: PLAIN and SCRAM-SHA-{1,256,512}[-PLUS]. */
#ifndef MP_SASL_H
#define MP_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "scram.h"

struct mp_buf;
struct mp_sasl;

/* What the session lends the mechanism. */
struct mp_sasl_ctx {
	const char	*host;		/* the domain being logged into */
	/* 1 found, 0 no such user, -1 error; user is a prepared localpart */
	int	(*get_creds)(void *arg, const char *host, const char *user,
		    enum mp_scram_hash h, struct mp_scram_creds *creds_r);
	/*
	 * Channel-binding data of the TLS session for a type
	 * ("tls-exporter", "tls-server-end-point"): 0 and *len_r set, or -1
	 * when that type is unavailable. NULL when not over TLS.
	 */
	int	(*get_cb)(void *arg, const char *type, unsigned char *buf,
		    size_t size, size_t *len_r);
	bool	 plus_offered;	/* -PLUS variants were advertised */
	void	*arg;
};

enum mp_sasl_status {
	MP_SASL_CONTINUE,	/* send out as a <challenge/> */
	MP_SASL_SUCCESS,	/* send out (may be empty) in <success/> */
	MP_SASL_FAILURE,	/* send <failure> with *condition_r */
};

/* NULL for an unknown mechanism name. ctx must outlive the object. */
struct mp_sasl	*mp_sasl_new(const char *mech, const struct mp_sasl_ctx *ctx);
void		 mp_sasl_free(struct mp_sasl *s);
/*
 * One step with the decoded client data (in may be NULL/0 for an empty
 * initial response). out receives raw bytes to base64 for the client.
 * On failure *condition_r is an RFC 6120 6.5 condition ("not-authorized",
 * "malformed-request", "invalid-authzid", "temporary-auth-failure", ...).
 */
enum mp_sasl_status mp_sasl_step(struct mp_sasl *s, const unsigned char *in,
		    size_t len, struct mp_buf *out, const char **condition_r);
/* After success: the prepared localpart that authenticated. */
const char	*mp_sasl_user(const struct mp_sasl *s);
/* Whether the name is one of ours and whether it needs channel binding. */
bool		 mp_sasl_known(const char *mech, bool *plus_r);

#endif
