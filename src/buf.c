/* buf.c - growable byte buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/log.h>

static void
buf_reserve(struct mp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		mp_fatalx("buffer overflow");
	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = mp_xrealloc(b->data, b->cap);
}

void
mp_buf_append(struct mp_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
mp_buf_puts(struct mp_buf *b, const char *s)
{
	mp_buf_append(b, s, strlen(s));
}

void
mp_buf_putc(struct mp_buf *b, char c)
{
	mp_buf_append(b, &c, 1);
}

void
mp_buf_vprintf(struct mp_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		mp_fatalx("mp_buf_printf: bad format");
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mp_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
mp_buf_reset(struct mp_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
mp_buf_free(struct mp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
mp_buf_drain(struct mp_buf *b, size_t n)
{
	if (n >= b->len) {
		mp_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}
