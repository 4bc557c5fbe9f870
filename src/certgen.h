/* certgen.h - self-signed certificates for a host, made with GnuTLS. */
#ifndef MP_CERTGEN_H
#define MP_CERTGEN_H

/*
 * Writes a new ECDSA P-256 key (mode 0600) and a self-signed certificate
 * for host (subjectAltName dNSName host and *.host, valid ten years) in PEM.
 */
int	mp_cert_generate(const char *host, const char *cert_path,
	    const char *key_path, const char **error_r);

#endif
