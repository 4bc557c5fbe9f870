/* tls.c - GnuTLS server credentials: one certificate per host (GnuTLS picks by SNI), reloadable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "certgen.h"
#include "config.h"
#include "tls.h"

struct mp_tls_creds {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t	 prio;
	unsigned		 refs;	/* the current pointer holds one */
};

static struct mp_tls_creds *current;

void
mp_tls_host_paths(const struct mp_config *c, size_t host, char *cert,
    char *key, size_t size)
{
	const struct mp_host_conf *h = &c->hosts[host];

	if (h->certificate != NULL)
		snprintf(cert, size, "%s", h->certificate);
	else if (c->tls.certificate != NULL)
		snprintf(cert, size, "%s", c->tls.certificate);
	else
		snprintf(cert, size, "%s/%s.crt", c->tls.certs, h->domain);
	if (h->key != NULL)
		snprintf(key, size, "%s", h->key);
	else if (c->tls.key != NULL)
		snprintf(key, size, "%s", c->tls.key);
	else
		snprintf(key, size, "%s/%s.key", c->tls.certs, h->domain);
}

static int
tls_mkdirs(const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* First start: a self-signed pair where the host has none. */
static int
tls_ensure_files(const struct mp_config *c, size_t host, const char *cert,
    const char *key, const char **error_r)
{
	static char msg[4608];
	const char *err;
	char dir[4096], *slash;

	if (access(cert, F_OK) == 0 || access(key, F_OK) == 0)
		return 0;
	if (!c->tls.self_signed)
		return 0;	/* loading reports the missing file */
	snprintf(dir, sizeof(dir), "%s", cert);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (tls_mkdirs(dir) == -1) {
			snprintf(msg, sizeof(msg), "%s: %s", dir,
			    strerror(errno));
			*error_r = msg;
			return -1;
		}
	}
	if (mp_cert_generate(c->hosts[host].domain, cert, key, &err) == -1) {
		snprintf(msg, sizeof(msg), "%s: cannot make a certificate: %s",
		    c->hosts[host].domain, err);
		*error_r = msg;
		return -1;
	}
	mp_log_warnx("made a self-signed certificate for %s in %s "
	    "(clients will not trust it; install a real one)",
	    c->hosts[host].domain, cert);
	return 0;
}

/*
 * Parses the certificate chain first: GnuTLS 3.7's key-file loader leaks
 * what it allocated when the certificate does not parse.
 */
static int
tls_check_chain(const char *path)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	int rc;

	if ((rc = gnutls_load_file(path, &d)) < 0)
		return rc;
	rc = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM,
	    0);
	gnutls_free(d.data);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return 0;
}

static void
tls_creds_free(struct mp_tls_creds *cr)
{
	if (cr->cred != NULL)
		gnutls_certificate_free_credentials(cr->cred);
	if (cr->prio != NULL)
		gnutls_priority_deinit(cr->prio);
	free(cr);
}

static int
tls_load(const struct mp_config *c, struct mp_tls_creds **cr_r,
    const char **error_r)
{
	static char msg[8400];
	struct mp_tls_creds *cr = mp_xcalloc(1, sizeof(*cr));
	char cert[4096], key[4096];
	const char *errpos = NULL;
	int rc;

	if ((rc = gnutls_certificate_allocate_credentials(&cr->cred)) < 0)
		goto gnutls_fail;
	if ((rc = gnutls_priority_init2(&cr->prio, c->tls.priority, &errpos,
	    0)) < 0) {
		snprintf(msg, sizeof(msg), "tls.priority: %s near \"%s\"",
		    gnutls_strerror(rc), errpos ? errpos : "");
		*error_r = msg;
		tls_creds_free(cr);
		return -1;
	}
	for (size_t i = 0; i < c->nhosts; i++) {
		mp_tls_host_paths(c, i, cert, key, sizeof(cert));
		if (tls_ensure_files(c, i, cert, key, error_r) == -1) {
			tls_creds_free(cr);
			return -1;
		}
		rc = tls_check_chain(cert);
		if (rc == 0)
			rc = gnutls_certificate_set_x509_key_file2(cr->cred,
			    cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s: %s / %s: %s",
			    c->hosts[i].domain, cert, key, gnutls_strerror(rc));
			*error_r = msg;
			tls_creds_free(cr);
			return -1;
		}
	}
	cr->refs = 1;
	*cr_r = cr;
	return 0;

gnutls_fail:
	snprintf(msg, sizeof(msg), "gnutls: %s", gnutls_strerror(rc));
	*error_r = msg;
	tls_creds_free(cr);
	return -1;
}

int
mp_tls_init(const struct mp_config *c, const char **error_r)
{
	return tls_load(c, &current, error_r);
}

int
mp_tls_reload(const struct mp_config *c, const char **error_r)
{
	struct mp_tls_creds *cr;

	if (tls_load(c, &cr, error_r) == -1)
		return -1;
	/* Sessions on the old credentials keep them until they end. */
	if (current != NULL)
		mp_tls_creds_release(current);
	current = cr;
	return 0;
}

void
mp_tls_shutdown(void)
{
	if (current != NULL)
		mp_tls_creds_release(current);
	current = NULL;
}

void
mp_tls_creds_release(struct mp_tls_creds *cr)
{
	if (cr != NULL && --cr->refs == 0)
		tls_creds_free(cr);
}

int
mp_tls_session_new(gnutls_session_t *session_r, struct mp_tls_creds **creds_r,
    const char **error_r)
{
	gnutls_session_t s;
	int rc;

	if (current == NULL) {
		*error_r = "TLS is not configured";
		return -1;
	}
	rc = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL);
	if (rc < 0) {
		*error_r = gnutls_strerror(rc);
		return -1;
	}
	if ((rc = gnutls_priority_set(s, current->prio)) < 0 ||
	    (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    current->cred)) < 0) {
		gnutls_deinit(s);
		*error_r = gnutls_strerror(rc);
		return -1;
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
	current->refs++;
	*creds_r = current;
	*session_r = s;
	return 0;
}
