/* buf.h - a growable byte buffer for serializing and building output. */
#ifndef MAGPIE_BUF_H
#define MAGPIE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct mp_buf {
	char	*data;	/* always NUL-terminated when len > 0 or after any append */
	size_t	 len;
	size_t	 cap;
};

#define MP_BUF_INIT { NULL, 0, 0 }

void	 mp_buf_append(struct mp_buf *b, const void *data, size_t len);
void	 mp_buf_puts(struct mp_buf *b, const char *s);
void	 mp_buf_putc(struct mp_buf *b, char c);
void	 mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 mp_buf_vprintf(struct mp_buf *b, const char *fmt, va_list ap);
/* Forgets the content, keeps the memory. */
void	 mp_buf_reset(struct mp_buf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void	 mp_buf_free(struct mp_buf *b);
/* Removes the first n bytes. */
void	 mp_buf_drain(struct mp_buf *b, size_t n);

#endif
