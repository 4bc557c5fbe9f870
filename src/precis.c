/* precis.c - PRECIS string classes (RFC 8264) and the RFC 8265 profiles. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "precis.h"

/*
 * The unit tests clear this to check that the ASCII fast path gives the
 * same answers as the full preparation.
 */
extern bool mp_precis_fast_path;
bool mp_precis_fast_path = true;

enum precis_class {
	PRECIS_IDENTIFIER,
	PRECIS_FREEFORM,
};

enum precis_profile {
	PRECIS_USERNAME_CASEMAPPED,
	PRECIS_OPAQUE,
};

/* Derived property values of RFC 8264 section 8. */
enum precis_prop {
	PRECIS_PVALID,
	PRECIS_CONTEXTJ,
	PRECIS_CONTEXTO,
	PRECIS_ID_DIS,		/* ID_DIS, or FREE_PVAL in FreeformClass */
	PRECIS_DISALLOWED,
	PRECIS_UNASSIGNED,
};

/* A UTF-32 string from libunistring's malloc. */
struct precis_str {
	ucs4_t	*s;
	size_t	 n;
};

static bool
precis_old_hangul_jamo(ucs4_t cp)
{
	/* Hangul_Syllable_Type L, V or T; fixed since Unicode 5.2. */
	return (cp >= 0x1100 && cp <= 0x11FF) ||
	    (cp >= 0xA960 && cp <= 0xA97C) ||
	    (cp >= 0xD7B0 && cp <= 0xD7C6) ||
	    (cp >= 0xD7CB && cp <= 0xD7FB);
}

static bool
precis_has_compat(ucs4_t cp)
{
	ucs4_t buf[UC_DECOMPOSITION_MAX_LENGTH * 2], *r;
	size_t n = sizeof(buf) / sizeof(buf[0]);
	bool compat;
	int tag;

	/*
	 * Without a decomposition NFKC leaves cp alone, and a compatibility
	 * decomposition never composes back; only canonical ones whose parts
	 * have compatibility mappings need the real normalization.
	 */
	if (uc_decomposition(cp, &tag, buf) <= 0)
		return false;
	if (tag != UC_DECOMP_CANONICAL)
		return true;
	r = u32_normalize(UNINORM_NFKC, &cp, 1, buf, &n);
	if (r == NULL)
		mp_fatal("u32_normalize");
	compat = n != 1 || r[0] != cp;
	if (r != buf)
		free(r);
	return compat;
}

/* The order of the tests is the one of RFC 8264 section 8. */
static enum precis_prop
precis_derive(ucs4_t cp)
{
	switch (cp) {	/* Exceptions, RFC 5892 section 2.6 */
	case 0x00DF: case 0x03C2: case 0x06FD: case 0x06FE: case 0x0F0B:
	case 0x3007:
		return PRECIS_PVALID;
	case 0x00B7: case 0x0375: case 0x05F3: case 0x05F4: case 0x30FB:
		return PRECIS_CONTEXTO;
	case 0x0640: case 0x07FA: case 0x302E: case 0x302F: case 0x303B:
		return PRECIS_DISALLOWED;
	}
	if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9))
		return PRECIS_CONTEXTO;
	if (cp >= 0x3031 && cp <= 0x3035)
		return PRECIS_DISALLOWED;
	/* BackwardCompatible is empty. */
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return PRECIS_DISALLOWED;
	if (uc_is_general_category(cp, UC_CATEGORY_Cn) &&
	    !uc_is_property_not_a_character(cp))
		return PRECIS_UNASSIGNED;
	if (cp >= 0x21 && cp <= 0x7E)
		return PRECIS_PVALID;
	if (uc_is_property_join_control(cp))
		return PRECIS_CONTEXTJ;
	if (precis_old_hangul_jamo(cp))
		return PRECIS_DISALLOWED;
	if (uc_is_property_default_ignorable_code_point(cp) ||
	    uc_is_property_not_a_character(cp))
		return PRECIS_DISALLOWED;
	if (uc_is_general_category(cp, UC_CATEGORY_Cc))
		return PRECIS_DISALLOWED;
	if (precis_has_compat(cp))
		return PRECIS_ID_DIS;
	if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Ll |
	    UC_CATEGORY_MASK_Lu | UC_CATEGORY_MASK_Lo | UC_CATEGORY_MASK_Nd |
	    UC_CATEGORY_MASK_Lm | UC_CATEGORY_MASK_Mn | UC_CATEGORY_MASK_Mc))
		return PRECIS_PVALID;
	if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Lt |
	    UC_CATEGORY_MASK_Nl | UC_CATEGORY_MASK_No | UC_CATEGORY_MASK_Me |
	    UC_CATEGORY_MASK_Zs |
	    UC_CATEGORY_MASK_Sm | UC_CATEGORY_MASK_Sc | UC_CATEGORY_MASK_Sk |
	    UC_CATEGORY_MASK_So |
	    UC_CATEGORY_MASK_Pc | UC_CATEGORY_MASK_Pd | UC_CATEGORY_MASK_Ps |
	    UC_CATEGORY_MASK_Pe | UC_CATEGORY_MASK_Pi | UC_CATEGORY_MASK_Pf |
	    UC_CATEGORY_MASK_Po))
		return PRECIS_ID_DIS;
	return PRECIS_DISALLOWED;
}

static bool
precis_script_is(ucs4_t cp, const char *name)
{
	const uc_script_t *sc = uc_script(cp);

	return sc != NULL && strcmp(sc->name, name) == 0;
}

/* The CONTEXTJ and CONTEXTO rules of RFC 5892 appendix A for s[i]. */
static bool
precis_context_ok(const ucs4_t *s, size_t n, size_t i)
{
	ucs4_t cp = s[i];
	size_t j;
	int jt = UC_JOINING_TYPE_U;

	switch (cp) {
	case 0x200C:
		if (i > 0 && uc_combining_class(s[i - 1]) == UC_CCC_VR)
			return true;
		/* (L|D) T* ZWNJ T* (R|D) */
		for (j = i; j > 0; j--) {
			jt = uc_joining_type(s[j - 1]);
			if (jt != UC_JOINING_TYPE_T)
				break;
		}
		if (j == 0 || (jt != UC_JOINING_TYPE_L &&
		    jt != UC_JOINING_TYPE_D))
			return false;
		for (j = i + 1; j < n; j++) {
			jt = uc_joining_type(s[j]);
			if (jt != UC_JOINING_TYPE_T)
				break;
		}
		return j < n && (jt == UC_JOINING_TYPE_R ||
		    jt == UC_JOINING_TYPE_D);
	case 0x200D:
		return i > 0 && uc_combining_class(s[i - 1]) == UC_CCC_VR;
	case 0x00B7:
		return i > 0 && s[i - 1] == 0x6C && i + 1 < n &&
		    s[i + 1] == 0x6C;
	case 0x0375:
		return i + 1 < n && precis_script_is(s[i + 1], "Greek");
	case 0x05F3:
	case 0x05F4:
		return i > 0 && precis_script_is(s[i - 1], "Hebrew");
	case 0x30FB:
		for (j = 0; j < n; j++)
			if (j != i && (precis_script_is(s[j], "Hiragana") ||
			    precis_script_is(s[j], "Katakana") ||
			    precis_script_is(s[j], "Han")))
				return true;
		return false;
	}
	if (cp >= 0x0660 && cp <= 0x0669) {
		for (j = 0; j < n; j++)
			if (s[j] >= 0x06F0 && s[j] <= 0x06F9)
				return false;
		return true;
	}
	if (cp >= 0x06F0 && cp <= 0x06F9) {
		for (j = 0; j < n; j++)
			if (s[j] >= 0x0660 && s[j] <= 0x0669)
				return false;
		return true;
	}
	return false;
}

static int
precis_check_class(const ucs4_t *s, size_t n, enum precis_class cls,
    const char **error_r)
{
	for (size_t i = 0; i < n; i++) {
		switch (precis_derive(s[i])) {
		case PRECIS_PVALID:
			break;
		case PRECIS_ID_DIS:
			if (cls == PRECIS_FREEFORM)
				break;
			*error_r = "disallowed character";
			return -1;
		case PRECIS_CONTEXTJ:
		case PRECIS_CONTEXTO:
			if (precis_context_ok(s, n, i))
				break;
			*error_r = "character not allowed in this context";
			return -1;
		case PRECIS_UNASSIGNED:
			*error_r = "unassigned code point";
			return -1;
		case PRECIS_DISALLOWED:
			*error_r = uc_is_general_category(s[i],
			    UC_CATEGORY_Cc) ? "control character" :
			    "disallowed character";
			return -1;
		}
	}
	return 0;
}

/* The Bidi Rule of RFC 5893 section 2, the whole string being one label. */
static int
precis_check_bidi(const ucs4_t *s, size_t n, const char **error_r)
{
	bool rtl, has_en = false, has_an = false;
	size_t i, end;
	int bc;

	for (i = 0; i < n; i++) {
		bc = uc_bidi_class(s[i]);
		if (bc == UC_BIDI_R || bc == UC_BIDI_AL || bc == UC_BIDI_AN)
			break;
	}
	if (i == n)
		return 0;

	*error_r = "bidi rule violated";
	bc = uc_bidi_class(s[0]);
	if (bc == UC_BIDI_R || bc == UC_BIDI_AL)
		rtl = true;
	else if (bc == UC_BIDI_L)
		rtl = false;
	else
		return -1;

	for (i = 0; i < n; i++) {
		bc = uc_bidi_class(s[i]);
		switch (bc) {
		case UC_BIDI_EN:
			has_en = true;
			break;
		case UC_BIDI_AN:
			has_an = true;
			if (!rtl)
				return -1;
			break;
		case UC_BIDI_R:
		case UC_BIDI_AL:
			if (!rtl)
				return -1;
			break;
		case UC_BIDI_L:
			if (rtl)
				return -1;
			break;
		case UC_BIDI_ES:
		case UC_BIDI_CS:
		case UC_BIDI_ET:
		case UC_BIDI_ON:
		case UC_BIDI_BN:
		case UC_BIDI_NSM:
			break;
		default:
			return -1;
		}
	}
	if (rtl && has_en && has_an)
		return -1;

	for (end = n; end > 0 && uc_bidi_class(s[end - 1]) == UC_BIDI_NSM;
	    end--)
		;
	if (end == 0)
		return -1;
	bc = uc_bidi_class(s[end - 1]);
	if (rtl ? bc != UC_BIDI_R && bc != UC_BIDI_AL && bc != UC_BIDI_EN &&
	    bc != UC_BIDI_AN : bc != UC_BIDI_L && bc != UC_BIDI_EN)
		return -1;
	return 0;
}

static void
precis_replace(struct precis_str *str, ucs4_t *s, size_t n)
{
	if (s == NULL)
		mp_fatal("libunistring");
	if (s != str->s)
		free(str->s);
	str->s = s;
	str->n = n;
}

/* One application of a profile's rules (RFC 8264 section 7), UTF-8 to UTF-8. */
static int
precis_apply(enum precis_profile profile, const uint8_t *in, size_t len,
    uint8_t **out_r, size_t *outlen_r, const char **error_r)
{
	struct precis_str str;
	ucs4_t decomp[UC_DECOMPOSITION_MAX_LENGTH], *s;
	size_t n, i;
	int tag;

	if (len == 0) {
		*error_r = "empty string";
		return -1;
	}
	if (u8_check(in, len) != NULL) {
		*error_r = "invalid UTF-8";
		return -1;
	}
	str.s = NULL;
	str.n = 0;
	n = 0;
	s = u8_to_u32(in, len, NULL, &n);
	precis_replace(&str, s, n);

	if (profile == PRECIS_USERNAME_CASEMAPPED) {
		/* Width mapping; every <wide> and <narrow> mapping is one
		 * code point long, so this works in place. */
		for (i = 0; i < str.n; i++)
			if (str.s[i] > 0x7F &&
			    uc_decomposition(str.s[i], &tag, decomp) == 1 &&
			    (tag == UC_DECOMP_WIDE || tag == UC_DECOMP_NARROW))
				str.s[i] = decomp[0];
		n = 0;
		s = u32_tolower(str.s, str.n, NULL, NULL, NULL, &n);
		precis_replace(&str, s, n);
	} else {
		for (i = 0; i < str.n; i++)
			if (str.s[i] != 0x20 &&
			    uc_is_general_category(str.s[i], UC_CATEGORY_Zs))
				str.s[i] = 0x20;
	}
	n = 0;
	s = u32_normalize(UNINORM_NFC, str.s, str.n, NULL, &n);
	precis_replace(&str, s, n);

	if (str.n == 0) {
		*error_r = "empty string";
		goto fail;
	}
	if (precis_check_class(str.s, str.n,
	    profile == PRECIS_OPAQUE ? PRECIS_FREEFORM : PRECIS_IDENTIFIER,
	    error_r) == -1)
		goto fail;
	if (profile == PRECIS_USERNAME_CASEMAPPED &&
	    precis_check_bidi(str.s, str.n, error_r) == -1)
		goto fail;

	n = 0;
	*out_r = u32_to_u8(str.s, str.n, NULL, &n);
	if (*out_r == NULL)
		mp_fatal("u32_to_u8");
	*outlen_r = n;
	free(str.s);
	return 0;
fail:
	free(str.s);
	return -1;
}

/*
 * Plain printable ASCII needs no Unicode tables: every such character is
 * PVALID (or a space, valid in FreeformClass), and the only mapping that can
 * change it is the case mapping.
 */
static bool
precis_ascii(enum precis_profile profile, const char *in, size_t len)
{
	unsigned char lo = profile == PRECIS_OPAQUE ? 0x20 : 0x21;

	if (!mp_precis_fast_path || len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] < lo || (unsigned char)in[i] > 0x7E)
			return false;
	return true;
}

/*
 * RFC 8264 section 7: the rules are applied again until the output is
 * stable, and a string that does not settle after three more rounds is
 * rejected; this is what makes preparation idempotent.
 */
static int
precis_prepare(struct mp_arena *a, enum precis_profile profile,
    const char *in, size_t len, const char **out_r, const char **error_r)
{
	uint8_t *cur, *next;
	size_t curlen, nextlen;
	char *out;

	if (precis_ascii(profile, in, len)) {
		out = mp_arena_strndup(a, in, len);
		if (profile == PRECIS_USERNAME_CASEMAPPED)
			for (size_t i = 0; i < len; i++)
				if (out[i] >= 'A' && out[i] <= 'Z')
					out[i] += 'a' - 'A';
		*out_r = out;
		return 0;
	}

	if (precis_apply(profile, (const uint8_t *)in, len, &cur, &curlen,
	    error_r) == -1)
		return -1;
	/* Unchanged by the rules, hence unchanged by any further round. */
	if (curlen == len && memcmp(cur, in, len) == 0) {
		*out_r = mp_arena_strndup(a, in, len);
		free(cur);
		return 0;
	}
	for (int round = 0; round < 3; round++) {
		if (precis_apply(profile, cur, curlen, &next, &nextlen,
		    error_r) == -1) {
			free(cur);
			return -1;
		}
		if (nextlen == curlen && memcmp(next, cur, curlen) == 0) {
			free(next);
			*out_r = mp_arena_strndup(a, (const char *)cur,
			    curlen);
			free(cur);
			return 0;
		}
		free(cur);
		cur = next;
		curlen = nextlen;
	}
	free(cur);
	*error_r = "string is not stable under preparation";
	return -1;
}

int
mp_precis_username(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	return precis_prepare(a, PRECIS_USERNAME_CASEMAPPED, in, len, out_r,
	    error_r);
}

int
mp_precis_opaque(struct mp_arena *a, const char *in, size_t len,
    const char **out_r, const char **error_r)
{
	return precis_prepare(a, PRECIS_OPAQUE, in, len, out_r, error_r);
}
