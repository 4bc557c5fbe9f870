/* jid.c - splits, prepares and compares JIDs per RFC 7622. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include <magpie/arena.h>
#include <magpie/jid.h>
#include <magpie/log.h>

#include "precis.h"

/*
 * The unit tests clear this to check that the ASCII domain fast path gives
 * the same answers as the IDNA2008 path.
 */
extern bool mp_jid_fast_path;
bool mp_jid_fast_path = true;

/*
 * No mapping shrinks a localpart or resourcepart by more than three bytes
 * to one (fullwidth to ASCII), so anything longer cannot fit in
 * MP_JID_PART_MAX once prepared; refusing it early bounds the work a hostile
 * peer can cause. Domainparts (at most 253 bytes as A-labels) get the same
 * bound, although UTS 46 could in theory delete enough of a longer input.
 */
#define JID_INPUT_MAX	(4 * MP_JID_PART_MAX)

#define JID_LABEL_MAX	63
#define JID_DNS_MAX	253	/* text form of a 255-octet DNS name */

/* RFC 7622 3.3.1: allowed by IdentifierClass, yet never in a localpart. */
static const char jid_local_forbidden[] = "\"&'/:<>@";

int
mp_jid_prep_local(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	const char *out;
	size_t n;

	if (len == 0) {
		*error_r = "empty localpart";
		return -1;
	}
	if (len > JID_INPUT_MAX) {
		*error_r = "localpart too long";
		return -1;
	}
	if (mp_precis_username(a, in, len, &out, error_r) == -1)
		return -1;
	/* Checked after preparation: width mapping turns U+FF20 into '@'. */
	n = strlen(out);
	if (strcspn(out, jid_local_forbidden) != n) {
		*error_r = "forbidden character in localpart";
		return -1;
	}
	if (n > MP_JID_PART_MAX) {
		*error_r = "localpart too long";
		return -1;
	}
	*out_r = out;
	return 0;
}

int
mp_jid_prep_resource(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	const char *out;

	if (len == 0) {
		*error_r = "empty resourcepart";
		return -1;
	}
	if (len > JID_INPUT_MAX) {
		*error_r = "resourcepart too long";
		return -1;
	}
	if (mp_precis_opaque(a, in, len, &out, error_r) == -1)
		return -1;
	if (strlen(out) > MP_JID_PART_MAX) {
		*error_r = "resourcepart too long";
		return -1;
	}
	*out_r = out;
	return 0;
}

static bool
jid_is_ip_literal(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1;
}

/*
 * A domain made of NR-LDH labels and A-labels (RFC 5890 2.3.1), lower case.
 * libidn2 passes ASCII labels through unchecked, hence this test; with
 * allow_xn false, it also refuses A-labels, which need decoding.
 */
static bool
jid_is_ldh(const char *s, size_t n, bool allow_xn)
{
	size_t start = 0, i, l;
	const char *lab;

	if (n == 0 || n > JID_DNS_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
				return false;
			continue;
		}
		lab = s + start;
		l = i - start;
		if (l == 0 || l > JID_LABEL_MAX || lab[0] == '-' ||
		    lab[l - 1] == '-')
			return false;
		/* Reserved LDH labels: only A-labels, already validated. */
		if (l >= 4 && lab[2] == '-' && lab[3] == '-' &&
		    (!allow_xn || lab[0] != 'x' || lab[1] != 'n'))
			return false;
		start = i + 1;
	}
	return true;
}

/* The common case: ASCII letters, digits, hyphens, no A-label. */
static bool
jid_domain_fast(struct mp_arena *a, const char *s, size_t n,
    const char **out_r)
{
	char buf[JID_DNS_MAX + 1];

	if (!mp_jid_fast_path || n > JID_DNS_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') :
		    s[i];
	if (!jid_is_ldh(buf, n, false))
		return false;
	*out_r = mp_arena_strndup(a, buf, n);
	return true;
}

/* 0 when the U-label form encodes back to the same A-label form. */
static int
jid_idna_roundtrip(const char *uni, const char *ascii)
{
	char *again = NULL;
	int rc, same;

	rc = idn2_lookup_u8((const uint8_t *)uni, (uint8_t **)&again,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return -1;
	same = strcmp(again, ascii) == 0;
	idn2_free(again);
	return same ? 0 : -1;
}

/* IDNA2008 with the UTS 46 mapping that RFC 7622 3.2.2 suggests. */
static int
jid_domain_idna(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	char *tmp, *ascii = NULL, *uni = NULL;
	size_t n;
	int rc;

	tmp = mp_xstrndup(in, len);
	rc = idn2_lookup_u8((const uint8_t *)tmp, (uint8_t **)&ascii,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	free(tmp);
	if (rc != IDN2_OK) {
		*error_r = rc == IDN2_ENCODING_ERROR ?
		    "invalid UTF-8 in domainpart" : idn2_strerror(rc);
		return -1;
	}
	/* Mapping may have turned U+3002 and friends into the final dot. */
	n = strlen(ascii);
	if (n > 0 && ascii[n - 1] == '.')
		ascii[--n] = '\0';
	if (!jid_is_ldh(ascii, n, true)) {
		idn2_free(ascii);
		*error_r = "invalid domainpart";
		return -1;
	}
	rc = idn2_to_unicode_8z8z(ascii, &uni, 0);
	if (rc != IDN2_OK) {
		idn2_free(ascii);
		*error_r = idn2_strerror(rc);
		return -1;
	}
	/*
	 * An A-label must be what its U-label encodes back to (RFC 5891
	 * 5.4); "xn--can--caf-dma" decodes but does not, and would make
	 * prep(prep(x)) fail (found by fuzz_jid).
	 */
	if (jid_idna_roundtrip(uni, ascii) == -1) {
		idn2_free(ascii);
		idn2_free(uni);
		*error_r = "A-label roundtrip failed";
		return -1;
	}
	idn2_free(ascii);
	if (strlen(uni) > MP_JID_PART_MAX) {
		idn2_free(uni);
		*error_r = "domainpart too long";
		return -1;
	}
	*out_r = mp_arena_strdup(a, uni);
	idn2_free(uni);
	return 0;
}

int
mp_jid_prep_domain(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	size_t n = len;

	if (len > JID_INPUT_MAX) {
		*error_r = "domainpart too long";
		return -1;
	}
	if (memchr(in, '\0', len) != NULL) {
		*error_r = "NUL in domainpart";
		return -1;
	}
	/* RFC 7622 3.2: a single trailing dot is stripped first. */
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0) {
		*error_r = "empty domainpart";
		return -1;
	}
	if (jid_is_ip_literal(in, n)) {
		*out_r = mp_arena_strndup(a, in, n);
		return 0;
	}
	if (jid_domain_fast(a, in, n, out_r))
		return 0;
	return jid_domain_idna(a, in, len, out_r, error_r);
}

int
mp_jid_parse(struct mp_arena *a, const char *s, struct mp_jid *jid_r,
    const char **error_r)
{
	struct mp_jid jid = { NULL, NULL, NULL };
	const char *slash, *at, *dom, *end;
	size_t len = strlen(s);

	jid_r->local = jid_r->domain = jid_r->resource = NULL;
	/* RFC 7622 3.1: the first '/' starts the resourcepart, and the
	 * first '@' before it ends the localpart. */
	slash = memchr(s, '/', len);
	end = slash != NULL ? slash : s + len;
	at = memchr(s, '@', end - s);
	dom = s;
	if (at != NULL) {
		if (mp_jid_prep_local(a, s, at - s, &jid.local,
		    error_r) == -1)
			return -1;
		dom = at + 1;
	}
	if (mp_jid_prep_domain(a, dom, end - dom, &jid.domain,
	    error_r) == -1)
		return -1;
	if (slash != NULL && mp_jid_prep_resource(a, slash + 1,
	    s + len - slash - 1, &jid.resource, error_r) == -1)
		return -1;
	*jid_r = jid;
	return 0;
}

static char *
jid_join(struct mp_arena *a, const struct mp_jid *jid, bool full)
{
	size_t ll, dl, rl;
	char *out, *p;

	ll = jid->local != NULL ? strlen(jid->local) + 1 : 0;
	dl = jid->domain != NULL ? strlen(jid->domain) : 0;
	rl = full && jid->resource != NULL ? strlen(jid->resource) + 1 : 0;
	p = out = mp_arena_alloc(a, ll + dl + rl + 1);
	if (ll > 0) {
		memcpy(p, jid->local, ll - 1);
		p[ll - 1] = '@';
		p += ll;
	}
	memcpy(p, jid->domain != NULL ? jid->domain : "", dl);
	p += dl;
	if (rl > 0) {
		*p = '/';
		memcpy(p + 1, jid->resource, rl - 1);
		p += rl;
	}
	*p = '\0';
	return out;
}

char *
mp_jid_full(struct mp_arena *a, const struct mp_jid *jid)
{
	return jid_join(a, jid, true);
}

char *
mp_jid_bare(struct mp_arena *a, const struct mp_jid *jid)
{
	return jid_join(a, jid, false);
}

static bool
jid_part_eq(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

bool
mp_jid_bare_eq(const struct mp_jid *x, const struct mp_jid *y)
{
	return jid_part_eq(x->domain, y->domain) &&
	    jid_part_eq(x->local, y->local);
}

bool
mp_jid_eq(const struct mp_jid *x, const struct mp_jid *y)
{
	return mp_jid_bare_eq(x, y) && jid_part_eq(x->resource, y->resource);
}
