/* certgen.c - self-signed ECDSA P-256 certificates and keys, with GnuTLS. */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <idn2.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "certgen.h"

#define CERTGEN_DAYS	3653	/* ten years, leap days included */

/*
 * Writes data to path through a temporary file in the same directory, so
 * that readers see the old file or the whole new one, never a part.
 */
static int
certgen_write(const char *path, const void *data, size_t len, mode_t mode,
    const char **error_r)
{
	size_t plen = strlen(path), off = 0;
	char *tmp = mp_xmalloc(plen + sizeof(".tmpXXXXXX"));
	ssize_t n;
	int fd;

	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
	/* mkstemp creates it 0600, so a key is never readable by others. */
	if ((fd = mkstemp(tmp)) == -1) {
		*error_r = strerror(errno);
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (off < len) {
		n = write(fd, (const char *)data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	*error_r = strerror(errno != 0 ? errno : EIO);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/* subjectAltName: an IP address for an IP literal, else host and *.host. */
static int
certgen_san(gnutls_x509_crt_t crt, const char *host, const char *ace,
    const char **error_r)
{
	unsigned char ip[16];
	char buf[64];
	size_t hl = strlen(host);
	char *wild;
	int rc;

	if (inet_pton(AF_INET, host, ip) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_IPADDRESS, ip, 4, GNUTLS_FSAN_SET) < 0 ? -1 : 0;
	if (host[0] == '[' && hl < sizeof(buf) + 1 && host[hl - 1] == ']') {
		memcpy(buf, host + 1, hl - 2);
		buf[hl - 2] = '\0';
		if (inet_pton(AF_INET6, buf, ip) == 1)
			return gnutls_x509_crt_set_subject_alt_name(crt,
			    GNUTLS_SAN_IPADDRESS, ip, 16, GNUTLS_FSAN_SET) < 0 ?
			    -1 : 0;
	}
	if (gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, ace,
	    (unsigned)strlen(ace), GNUTLS_FSAN_SET) < 0) {
		*error_r = "cannot set subjectAltName";
		return -1;
	}
	wild = mp_xmalloc(strlen(ace) + 3);
	wild[0] = '*';
	wild[1] = '.';
	strcpy(wild + 2, ace);
	rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
	    wild, (unsigned)strlen(wild), GNUTLS_FSAN_APPEND);
	free(wild);
	if (rc < 0) {
		*error_r = "cannot set subjectAltName";
		return -1;
	}
	return 0;
}

/* A dNSName is at most 253 bytes of labels of 1 to 63 bytes. */
static int
certgen_valid_ace(const char *ace)
{
	size_t label = 0, len = strlen(ace);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = ace; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63)
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
		} else if (*p <= ' ' || *p >= 0x7f || *p == '*')
			return 0;
		else
			label++;
	}
}

static int
certgen_fill(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
    const char *host, const char *ace, const char **error_r)
{
	unsigned char serial[16], keyid[64];
	size_t keyid_len = sizeof(keyid);
	time_t now = time(NULL);

	/* 16 random bytes, positive and never zero (RFC 5280 4.1.2.2). */
	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0) {
		*error_r = "no randomness";
		return -1;
	}
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
	if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	    ace, (unsigned)strlen(ace)) < 0 ||
	    /* An hour back, for peers whose clocks run a little late. */
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt,
	    now + (time_t)CERTGEN_DAYS * 86400) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
	    0) < 0) {
		*error_r = "cannot fill the certificate";
		return -1;
	}
	if (certgen_san(crt, host, ace, error_r) == -1)
		return -1;
	/* Optional, but what tools show to tell certificates apart. */
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, keyid,
	    &keyid_len) >= 0)
		(void)gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len);
	if (gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0) {
		*error_r = "cannot sign the certificate";
		return -1;
	}
	return 0;
}

int
mp_cert_generate(const char *host, const char *cert_path,
    const char *key_path, const char **error_r)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = { NULL, 0 }, cpem = { NULL, 0 };
	char *ace = NULL;
	int rc = -1;

	if (host == NULL || *host == '\0' || cert_path == NULL ||
	    key_path == NULL) {
		*error_r = "missing host or path";
		return -1;
	}
	/* Certificates carry A-labels; the prepared host holds U-labels. */
	if (host[0] == '[' || strspn(host, "0123456789.") == strlen(host))
		ace = mp_xstrdup(host);
	else if (idn2_to_ascii_8z(host, &ace, IDN2_NONTRANSITIONAL) !=
	    IDN2_OK || !certgen_valid_ace(ace)) {
		free(ace);
		*error_r = "host is not a valid domain name";
		return -1;
	}
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0) < 0) {
		*error_r = "cannot generate the key";
		goto out;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		*error_r = "cannot make a certificate";
		goto out;
	}
	if (certgen_fill(crt, key, host, ace, error_r) == -1)
		goto out;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0) {
		*error_r = "cannot export to PEM";
		goto out;
	}
	/* The key first: a certificate on disk always has its key beside it. */
	if (certgen_write(key_path, kpem.data, kpem.size, 0600, error_r) == -1)
		goto out;
	if (certgen_write(cert_path, cpem.data, cpem.size, 0644, error_r) == -1)
		goto out;
	mp_log_info("certgen: wrote a self-signed certificate for %s to %s",
	    host, cert_path);
	rc = 0;
out:
	if (kpem.data != NULL) {
		explicit_bzero(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	free(ace);
	return rc;
}
