/* tls.h - GnuTLS credentials for every host (chosen by SNI), reloadable. */
#ifndef MP_TLS_H
#define MP_TLS_H

#include <gnutls/gnutls.h>

struct mp_config;
struct mp_tls_creds;

/*
 * Loads each host's certificate and key, generating a self-signed pair
 * first where none exists and tls.self_signed allows it.
 */
int	mp_tls_init(const struct mp_config *c, const char **error_r);
/* Loads the files again (SIGHUP); on failure the old credentials stay. */
int	mp_tls_reload(const struct mp_config *c, const char **error_r);
void	mp_tls_shutdown(void);

/* A server session on the current credentials; release it with mp_tls_session_free(). */
int	mp_tls_session_new(gnutls_session_t *session_r,
	    struct mp_tls_creds **creds_r, const char **error_r);
void	mp_tls_creds_release(struct mp_tls_creds *creds);

/* Paths a host's certificate and key are read from. */
void	mp_tls_host_paths(const struct mp_config *c, size_t host,
	    char *cert, char *key, size_t size);

#endif
