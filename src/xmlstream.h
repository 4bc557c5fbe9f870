/* xmlstream.h - the XMPP stream parser: expat, namespace-aware, limits counted while parsing. */
#ifndef MP_XMLSTREAM_H
#define MP_XMLSTREAM_H

#include <stdbool.h>
#include <stddef.h>

struct mp_arena;
struct mp_node;
struct mp_xmlstream;

/* Why a stream failed; each maps to an RFC 6120 4.9.3 stream error. */
enum mp_xs_error {
	MP_XS_NOT_WELL_FORMED,		/* not-well-formed */
	MP_XS_RESTRICTED_XML,		/* restricted-xml: DOCTYPE, comment, PI, entity decl */
	MP_XS_BAD_FORMAT,		/* bad-format: e.g. not UTF-8, text at stream level */
	MP_XS_INVALID_NAMESPACE,	/* invalid-namespace: root not streams:stream */
	MP_XS_BAD_NAMESPACE_PREFIX,	/* bad-namespace-prefix: unbound prefix */
	MP_XS_TOO_BIG,			/* policy-violation + stanza-too-big */
	MP_XS_TOO_DEEP,			/* policy-violation: nesting limit */
	MP_XS_UNSUPPORTED_ENCODING,	/* unsupported-encoding */
};

/* The stream header's attributes as sent (NULL when absent). */
struct mp_stream_header {
	const char	*ns;		/* namespace of the root element */
	const char	*name;		/* its local name */
	const char	*default_ns;	/* default namespace declared on it */
	const char	*to;
	const char	*from;
	const char	*version;
	const char	*lang;		/* xml:lang */
	const char	*id;
};

struct mp_xmlstream_cbs {
	void	(*header)(void *ctx, const struct mp_stream_header *h);
	/* A complete top-level element; its arena is freed when this returns. */
	void	(*stanza)(void *ctx, struct mp_node *stanza, struct mp_arena *a);
	/* </stream:stream> */
	void	(*end)(void *ctx);
	/* After an error the stream stops; nothing more is parsed until reset. */
	void	(*error)(void *ctx, enum mp_xs_error err, const char *detail);
};

struct mp_xmlstream *mp_xmlstream_new(const struct mp_xmlstream_cbs *cbs,
		    void *ctx);
void	 mp_xmlstream_free(struct mp_xmlstream *xs);
/* Limits in bytes per top-level element and element depth below it. */
void	 mp_xmlstream_set_limits(struct mp_xmlstream *xs, size_t max_stanza,
	    unsigned max_depth);
/*
 * Parses data; callbacks run from inside. Returns the number of bytes
 * consumed: len, or less when a callback called mp_xmlstream_stop() (the
 * bytes after the element that was being handled are not consumed) or an
 * error was reported. Callbacks must not free the stream.
 */
size_t	 mp_xmlstream_feed(struct mp_xmlstream *xs, const char *data,
	    size_t len);
/* Hands the stream to another owner (stream resumption moves it). */
void	 mp_xmlstream_set_ctx(struct mp_xmlstream *xs, void *ctx);
/* From a callback: stop after the current element (stream restarts). */
void	 mp_xmlstream_stop(struct mp_xmlstream *xs);
/*
 * Between stanzas, frees the parser (expat's state is most of an idle
 * session's memory); the next non-whitespace bytes build a new one that
 * goes on with the same stream. Returns whether the stream is parked.
 */
bool	 mp_xmlstream_trim(struct mp_xmlstream *xs);
bool	 mp_xmlstream_parked(const struct mp_xmlstream *xs);
/* Bytes the parser holds now (0 when parked). */
size_t	 mp_xmlstream_parser_memory(const struct mp_xmlstream *xs);
/* A fresh parser for a stream restart (after STARTTLS or SASL). */
void	 mp_xmlstream_reset(struct mp_xmlstream *xs);

#endif
