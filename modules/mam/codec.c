/* codec.c - the archive's encodings: positions, ids, keys, records, stamps. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mam.h"

#define RECORD_VERSION	1
#define RECORD_HEAD	6	/* version, direction, two 16-bit lengths */

/* base32hex keeps the byte order of what it encodes: ids sort like keys. */
static const char codec_b32[] = "0123456789abcdefghijklmnopqrstuv";

uint64_t
mam_u64_get(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void
mam_u64_put(void *p, uint64_t v)
{
	unsigned char *b = p;

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
}

void
mam_pos_put(unsigned char out[MAM_POS_LEN], const struct mam_pos *p)
{
	mam_u64_put(out, p->ts);
	mam_u64_put(out + 8, p->seq);
}

void
mam_pos_get(const unsigned char in[MAM_POS_LEN], struct mam_pos *p)
{
	p->ts = mam_u64_get(in);
	p->seq = mam_u64_get(in + 8);
}

int
mam_pos_cmp(const struct mam_pos *a, const struct mam_pos *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

/* Bit i of the 130-bit number whose two top bits are zero. */
static unsigned
codec_bit(const unsigned char raw[MAM_POS_LEN], int i)
{
	if (i < 2)
		return 0;
	i -= 2;
	return (raw[i / 8] >> (7 - i % 8)) & 1;
}

void
mam_id_format(char out[MAM_ID_LEN + 1], const struct mam_pos *p)
{
	unsigned char raw[MAM_POS_LEN];

	mam_pos_put(raw, p);
	for (int c = 0; c < MAM_ID_LEN; c++) {
		unsigned v = 0;

		for (int b = 0; b < 5; b++)
			v = v << 1 | codec_bit(raw, c * 5 + b);
		out[c] = codec_b32[v];
	}
	out[MAM_ID_LEN] = '\0';
}

int
mam_id_parse(const char *s, struct mam_pos *p_r)
{
	unsigned char raw[MAM_POS_LEN] = { 0 };
	int bit = 0;

	if (s == NULL || strlen(s) != MAM_ID_LEN)
		return -1;
	for (int c = 0; c < MAM_ID_LEN; c++) {
		const char *at = s[c] != '\0' ? strchr(codec_b32, s[c]) : NULL;
		unsigned v;

		if (at == NULL)
			return -1;
		v = (unsigned)(at - codec_b32);
		/* One spelling per id: the two padding bits must be zero. */
		if (c == 0 && v > 7)
			return -1;
		for (int b = 4; b >= 0; b--, bit++) {
			unsigned x = (v >> b) & 1;

			if (bit < 2) {
				if (x != 0)
					return -1;
				continue;
			}
			raw[(bit - 2) / 8] |= (unsigned char)(x <<
			    (7 - (bit - 2) % 8));
		}
	}
	mam_pos_get(raw, p_r);
	return 0;
}

void
mam_prefix(struct mp_buf *b, const char *bare, const char *with)
{
	mp_buf_append(b, bare, strlen(bare));
	mp_buf_putc(b, '\0');
	if (with != NULL) {
		mp_buf_append(b, with, strlen(with));
		mp_buf_putc(b, '\0');
	}
}

void
mam_key(struct mp_buf *b, const char *bare, const char *with,
    const struct mam_pos *p)
{
	unsigned char raw[MAM_POS_LEN];

	mam_prefix(b, bare, with);
	mam_pos_put(raw, p);
	mp_buf_append(b, raw, sizeof(raw));
}

int
mam_key_pos(const struct mp_val *key, struct mam_pos *p_r)
{
	const unsigned char *k = key->data;

	if (key->len < MAM_POS_LEN + 2)
		return -1;
	mam_pos_get(k + key->len - MAM_POS_LEN, p_r);
	return 0;
}

void
mam_record_put(struct mp_buf *b, enum mam_dir dir, const char *with,
    const char *remote, const char *xml, size_t xml_len)
{
	size_t wl = strlen(with), rl = strlen(remote);
	unsigned char head[RECORD_HEAD];

	/* Prepared JIDs are at most 3071 bytes: 16 bits hold them. */
	if (wl > 0xffff)
		wl = 0xffff;
	if (rl > 0xffff)
		rl = 0xffff;
	head[0] = RECORD_VERSION;
	head[1] = (unsigned char)dir;
	head[2] = (unsigned char)(wl >> 8);
	head[3] = (unsigned char)(wl & 0xff);
	head[4] = (unsigned char)(rl >> 8);
	head[5] = (unsigned char)(rl & 0xff);
	mp_buf_append(b, head, sizeof(head));
	mp_buf_append(b, with, wl);
	mp_buf_append(b, remote, rl);
	mp_buf_append(b, xml, xml_len);
}

int
mam_record_get(const void *data, size_t len, struct mam_record *r)
{
	const unsigned char *p = data;
	size_t wl, rl;

	if (len < RECORD_HEAD || p[0] != RECORD_VERSION ||
	    (p[1] != MAM_IN && p[1] != MAM_OUT))
		return -1;
	wl = (size_t)p[2] << 8 | p[3];
	rl = (size_t)p[4] << 8 | p[5];
	if (len - RECORD_HEAD < wl + rl)
		return -1;
	r->dir = (enum mam_dir)p[1];
	r->with = (const char *)p + RECORD_HEAD;
	r->with_len = wl;
	r->remote = r->with + wl;
	r->remote_len = rl;
	r->xml = r->remote + rl;
	r->xml_len = len - RECORD_HEAD - wl - rl;
	return 0;
}

void
mam_stamp_format(char out[MAM_STAMP_LEN], uint64_t us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char date[24];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strcpy(date, "1970-01-01T00:00:00");
	snprintf(out, MAM_STAMP_LEN, "%.19s.%06uZ", date,
	    (unsigned)(us % 1000000));
}

/* n decimal digits at *s, advancing it; -1 if they are not there. */
static long
codec_digits(const char **s, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

static bool
codec_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
codec_days(long y, long m, long d)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212,
	    243, 273, 304, 334 };
	int64_t days = 0;

	for (long i = 1970; i < y; i++)
		days += codec_leap(i) ? 366 : 365;
	for (long i = y; i < 1970; i++)
		days -= codec_leap(i) ? 366 : 365;
	days += before[m - 1] + (m > 2 && codec_leap(y) ? 1 : 0);
	return days + d - 1;
}

int
mam_stamp_parse(const char *s, int64_t *us_r)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	long y, mo, d, h, mi, se, frac = 0, oh = 0, om = 0;
	int sign = 0, nfrac = 0;

	if (s == NULL)
		return -1;
	if ((y = codec_digits(&s, 4)) < 0 || *s++ != '-' ||
	    (mo = codec_digits(&s, 2)) < 0 || *s++ != '-' ||
	    (d = codec_digits(&s, 2)) < 0 || *s++ != 'T' ||
	    (h = codec_digits(&s, 2)) < 0 || *s++ != ':' ||
	    (mi = codec_digits(&s, 2)) < 0 || *s++ != ':' ||
	    (se = codec_digits(&s, 2)) < 0)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		/* Beyond microseconds the digits only need to be digits. */
		for (; *s >= '0' && *s <= '9'; s++)
			if (nfrac < 6) {
				frac = frac * 10 + (*s - '0');
				nfrac++;
			}
		for (; nfrac < 6; nfrac++)
			frac *= 10;
	}
	if (*s == 'Z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if ((oh = codec_digits(&s, 2)) < 0 || *s++ != ':' ||
		    (om = codec_digits(&s, 2)) < 0 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !codec_leap(y)) || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	*us_r = ((codec_days(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
	*us_r -= sign * (oh * 3600 + om * 60);
	*us_r = *us_r * 1000000 + frac;
	return 0;
}
