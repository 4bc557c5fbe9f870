/* xmlstream.c - the XMPP stream parser: expat, limits counted as bytes come. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/log.h>
#include <magpie/xml.h>

#include "xmlstream.h"
#include "xmlstream_mem.h"

#define XS_DEFAULT_MAX_STANZA	262144
#define XS_DEFAULT_MAX_DEPTH	64
/* Expat copies each chunk into a buffer it never shrinks: keep chunks small. */
#define XS_SLICE		2048
/* Scratch text above this size is freed rather than kept between stanzas. */
#define XS_TEXT_KEEP		4096
#define XS_NS_SEP		' '
/*
 * A parser past this much memory is replaced at the next stanza boundary:
 * expat remembers every element and attribute name it has seen, so a
 * stream of ever new names would otherwise grow it without end.
 */
#define XS_PARSER_RECYCLE	(64 * 1024)

/*
 * Where the bytes received so far end, as far as markup goes. Only bytes up
 * to the end of the last complete token are given to expat: expat rescans
 * an incomplete token from its start on every call, so a huge tag sent a
 * byte at a time would otherwise cost quadratic time.
 */
enum xs_scan_state {
	SCAN_TEXT,	/* character data: may go to expat at once */
	SCAN_REF,	/* inside "&...;" */
	SCAN_LT,	/* just after '<' */
	SCAN_TAG,	/* start or end tag */
	SCAN_BANG,	/* after "<!": comment, CDATA or declaration? */
	SCAN_DECL,	/* <!DOCTYPE ...: given to expat at its '[' or '>' */
	SCAN_COMMENT,
	SCAN_CDATA,	/* CDATA content: may go to expat at once */
	SCAN_PI,
};

struct xs_scan {
	enum xs_scan_state state;
	unsigned char	 quote;		/* open quote in a tag */
	unsigned char	 run;		/* '-', ']' or '?' just seen */
	bool		 end_tag;
	bool		 slash;		/* tag's last byte was '/' */
	bool		 bang_cdata;	/* "<![" so far, not "<!-" */
	size_t		 depth;		/* element depth, root = 1 */
	/* Bytes of the current top-level unit (header, then a stanza). */
	size_t		 count;
	/* End of the last complete token: expat may have all before it. */
	uint64_t	 safe;
};

struct mp_xmlstream {
	struct mp_xmlstream_cbs cbs;
	void		*ctx;
	XML_Parser	 parser;
	struct xs_mem	*mem;		/* the parser's memory */
	size_t		 max_stanza;
	unsigned	 max_depth;

	struct xs_scan	 scan;
	/* Bytes taken since the parser began, and of those given to expat. */
	uint64_t	 in_total;
	uint64_t	 fed_total;
	/* The rest: an incomplete token held back. */
	struct mp_buf	 hold;

	unsigned	 depth;		/* expat's depth, root = 1 */
	struct mp_arena	*arena;		/* the stanza being built */
	struct mp_node	*stanza;
	struct mp_node	*cur;
	struct mp_buf	 text;		/* text not yet in a node */
	char		*root_default_ns;
	/* The root's namespace declarations, while it is being read. */
	struct mp_buf	 root_decls;
	/*
	 * The root's start tag as a parser needs it to read stanzas: its
	 * qualified name and namespace declarations. A stream idle between
	 * stanzas frees its parser; the next bytes go to a new parser that
	 * first reads this (mp_xmlstream_trim()). NULL: cannot be parked.
	 */
	char		*replay;
	size_t		 replay_len;
	bool		 replaying;
	/* Stream offset minus expat's byte index (a new parser counts anew). */
	int64_t		 pos_adjust;

	/* After an error, a stop or the end: nothing more is parsed. */
	bool		 dead;
	bool		 stop_requested;
	bool		 reset_pending;
	bool		 in_feed;
	uint64_t	 stop_at;	/* stream offset of the end */
};

static bool
xmlstream_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static uint64_t
xmlstream_pos(struct mp_xmlstream *xs)
{
	XML_Index i;

	if (xs->parser == NULL)
		return xs->fed_total;
	i = XML_GetCurrentByteIndex(xs->parser);
	return i < 0 ? xs->fed_total : (uint64_t)(i + xs->pos_adjust);
}

/* Drops everything a stream holds between feeds. */
static void
xmlstream_release(struct mp_xmlstream *xs)
{
	mp_arena_free(xs->arena);
	xs->arena = NULL;
	xs->stanza = xs->cur = NULL;
	mp_buf_free(&xs->text);
	mp_buf_free(&xs->hold);
	free(xs->root_default_ns);
	xs->root_default_ns = NULL;
	mp_buf_free(&xs->root_decls);
}

/* Reports an error once; the stream parses nothing more until reset. */
static void
xmlstream_fail(struct mp_xmlstream *xs, enum mp_xs_error err,
    const char *detail, uint64_t at)
{
	if (xs->dead)
		return;
	xs->dead = true;
	xs->stop_at = at;
	if (xs->parser != NULL)
		XML_StopParser(xs->parser, XML_FALSE);
	if (xs->cbs.error != NULL)
		xs->cbs.error(xs->ctx, err, detail);
}

/* Called after each callback: honours mp_xmlstream_stop() from it. */
static void
xmlstream_check_stop(struct mp_xmlstream *xs)
{
	if (!xs->stop_requested || xs->dead)
		return;
	xs->dead = true;
	xs->stop_at = xmlstream_pos(xs) +
	    (uint64_t)XML_GetCurrentByteCount(xs->parser);
	XML_StopParser(xs->parser, XML_FALSE);
}

static void
xmlstream_flush_text(struct mp_xmlstream *xs)
{
	if (xs->text.len == 0)
		return;
	if (xs->cur != NULL)
		mp_node_add_text(xs->arena, xs->cur, xs->text.data,
		    xs->text.len);
	if (xs->text.cap > XS_TEXT_KEEP)
		mp_buf_free(&xs->text);
	else
		mp_buf_reset(&xs->text);
}

/* Splits expat's "uri local" name; *uri_len is 0 for no namespace. */
static const char *
xmlstream_split(const char *name, size_t *uri_len)
{
	const char *sp = strchr(name, XS_NS_SEP);

	if (sp == NULL) {
		*uri_len = 0;
		return name;
	}
	*uri_len = (size_t)(sp - name);
	return sp + 1;
}

static bool
xmlstream_is_xml_lang(const char *name)
{
	return strncmp(name, MP_NS_XML, sizeof(MP_NS_XML) - 1) == 0 &&
	    name[sizeof(MP_NS_XML) - 1] == XS_NS_SEP &&
	    strcmp(name + sizeof(MP_NS_XML), "lang") == 0;
}

static void
xmlstream_header(struct mp_xmlstream *xs, const char *name, const char **atts)
{
	struct mp_stream_header h;
	const char *local;
	char *ns = NULL;
	size_t ulen;
	bool ok;

	memset(&h, 0, sizeof(h));
	local = xmlstream_split(name, &ulen);
	if (ulen > 0)
		ns = mp_xstrndup(name, ulen);
	h.ns = ns != NULL ? ns : "";
	h.name = local;
	h.default_ns = xs->root_default_ns;
	for (; atts[0] != NULL; atts += 2) {
		if (strcmp(atts[0], "to") == 0)
			h.to = atts[1];
		else if (strcmp(atts[0], "from") == 0)
			h.from = atts[1];
		else if (strcmp(atts[0], "version") == 0)
			h.version = atts[1];
		else if (strcmp(atts[0], "id") == 0)
			h.id = atts[1];
		else if (xmlstream_is_xml_lang(atts[0]))
			h.lang = atts[1];
	}
	ok = strcmp(h.ns, MP_NS_STREAMS) == 0 && strcmp(local, "stream") == 0;
	/* Reported even when wrong, so the session can answer with a header. */
	if (xs->cbs.header != NULL)
		xs->cbs.header(xs->ctx, &h);
	free(ns);
	free(xs->root_default_ns);
	xs->root_default_ns = NULL;
	xmlstream_check_stop(xs);
	if (!ok)
		xmlstream_fail(xs, MP_XS_INVALID_NAMESPACE,
		    "The stream element is not <stream:stream/>",
		    xmlstream_pos(xs));
}

static void
xmlstream_build(struct mp_xmlstream *xs, const char *name, const char **atts)
{
	struct mp_node *n;
	struct mp_attr *at, **tail;
	const char *local;
	size_t ulen;

	if (xs->arena == NULL)
		xs->arena = mp_arena_new();
	n = mp_arena_alloc(xs->arena, sizeof(*n));
	local = xmlstream_split(name, &ulen);
	n->name = mp_arena_strdup(xs->arena, local);
	if (ulen == 0)
		n->xmlns = "";
	else if (xs->cur != NULL && strncmp(xs->cur->xmlns, name, ulen) == 0 &&
	    xs->cur->xmlns[ulen] == '\0')
		n->xmlns = xs->cur->xmlns;
	else
		n->xmlns = mp_arena_strndup(xs->arena, name, ulen);
	tail = &n->attrs;
	for (; atts[0] != NULL; atts += 2) {
		at = mp_arena_alloc(xs->arena, sizeof(*at));
		at->name = xmlstream_is_xml_lang(atts[0]) ? "xml:lang" :
		    mp_arena_strdup(xs->arena, atts[0]);
		at->value = mp_arena_strdup(xs->arena, atts[1]);
		*tail = at;
		tail = &at->next;
	}
	if (xs->cur != NULL)
		mp_node_append(xs->cur, n);
	else
		xs->stanza = n;
	xs->cur = n;
}

/*
 * Keeps what a new parser needs to go on with this stream: the root's
 * qualified name as written (an end tag must match it) and its namespace
 * declarations. Without expat's input context the stream just stays unparked.
 */
static void
xmlstream_keep_root(struct mp_xmlstream *xs)
{
	const char *ctx;
	int off, size, i;
	struct mp_buf b = { 0 };

	ctx = XML_GetInputContext(xs->parser, &off, &size);
	if (ctx == NULL || off < 0 || off >= size || ctx[off] != '<')
		goto out;
	for (i = off + 1; i < size; i++)
		if (xmlstream_is_ws((unsigned char)ctx[i]) || ctx[i] == '/' ||
		    ctx[i] == '>')
			break;
	if (i == size || i == off + 1)
		goto out;
	mp_buf_append(&b, ctx + off, (size_t)(i - off));
	mp_buf_append(&b, xs->root_decls.data, xs->root_decls.len);
	mp_buf_putc(&b, '>');
	free(xs->replay);
	xs->replay_len = b.len;
	xs->replay = mp_xstrndup(b.data, b.len);
	mp_buf_free(&b);
out:
	mp_buf_free(&xs->root_decls);
}

static void XMLCALL
xmlstream_start(void *ud, const char *name, const char **atts)
{
	struct mp_xmlstream *xs = ud;

	if (xs->dead)
		return;
	xs->depth++;
	if (xs->depth == 1) {
		/* Only the root's declarations are of interest. */
		XML_SetStartNamespaceDeclHandler(xs->parser, NULL);
		if (xs->replaying)
			return;
		xmlstream_keep_root(xs);
		xmlstream_header(xs, name, atts);
		return;
	}
	if (xs->depth - 2 > xs->max_depth) {
		xmlstream_fail(xs, MP_XS_TOO_DEEP, "Elements nested too deeply",
		    xmlstream_pos(xs));
		return;
	}
	xmlstream_flush_text(xs);
	xmlstream_build(xs, name, atts);
}

static void XMLCALL
xmlstream_end(void *ud, const char *name)
{
	struct mp_xmlstream *xs = ud;
	struct mp_arena *a;
	struct mp_node *st;

	if (xs->dead)
		return;
	if (xs->depth-- == 1) {
		if (xs->cbs.end != NULL)
			xs->cbs.end(xs->ctx);
		/* Nothing may follow the root: tell where it ended. */
		xs->stop_requested = true;
		xmlstream_check_stop(xs);
		return;
	}
	xmlstream_flush_text(xs);
	if (xs->depth > 1) {
		xs->cur = xs->cur->parent;
		return;
	}
	/* Between stanzas the stream keeps no scratch memory. */
	mp_buf_free(&xs->text);
	a = xs->arena;
	st = xs->stanza;
	xs->arena = NULL;
	xs->stanza = xs->cur = NULL;
	if (xs->cbs.stanza != NULL)
		xs->cbs.stanza(xs->ctx, st, a);
	mp_arena_free(a);
	xmlstream_check_stop(xs);
}

static void XMLCALL
xmlstream_chars(void *ud, const char *s, int len)
{
	struct mp_xmlstream *xs = ud;
	int i;

	if (xs->dead || len <= 0)
		return;
	if (xs->depth >= 2) {
		mp_buf_append(&xs->text, s, (size_t)len);
		return;
	}
	for (i = 0; i < len; i++)
		if (!xmlstream_is_ws((unsigned char)s[i])) {
			xmlstream_fail(xs, MP_XS_BAD_FORMAT,
			    "Text outside stanzas", xmlstream_pos(xs));
			return;
		}
}

static void XMLCALL
xmlstream_ns_decl(void *ud, const char *prefix, const char *uri)
{
	struct mp_xmlstream *xs = ud;

	const char *u = uri != NULL ? uri : "";

	if (xs->dead || xs->depth != 0 || xs->replaying)
		return;
	mp_buf_puts(&xs->root_decls, " xmlns");
	if (prefix != NULL) {
		mp_buf_putc(&xs->root_decls, ':');
		mp_buf_puts(&xs->root_decls, prefix);
	}
	mp_buf_puts(&xs->root_decls, "='");
	for (; *u != '\0'; u++) {
		if (*u == '&' || *u == '<' || *u == '\'' || *u == '\t' ||
		    *u == '\n' || *u == '\r')
			mp_buf_printf(&xs->root_decls, "&#%d;", *u);
		else
			mp_buf_putc(&xs->root_decls, *u);
	}
	mp_buf_putc(&xs->root_decls, '\'');
	if (prefix != NULL)
		return;
	free(xs->root_default_ns);
	xs->root_default_ns = mp_xstrdup(uri != NULL ? uri : "");
}

static void XMLCALL
xmlstream_xmldecl(void *ud, const char *version, const char *encoding,
    int standalone)
{
	struct mp_xmlstream *xs = ud;

	if (encoding != NULL && strcasecmp(encoding, "UTF-8") != 0)
		xmlstream_fail(xs, MP_XS_UNSUPPORTED_ENCODING,
		    "Only UTF-8 is supported", xmlstream_pos(xs));
}

static void XMLCALL
xmlstream_doctype(void *ud, const char *name, const char *sysid,
    const char *pubid, int has_internal_subset)
{
	struct mp_xmlstream *xs = ud;

	/* Stops before any entity declaration is even read. */
	xmlstream_fail(xs, MP_XS_RESTRICTED_XML, "DTDs are not allowed",
	    xmlstream_pos(xs));
}

static void XMLCALL
xmlstream_entity_decl(void *ud, const char *name, int is_param,
    const char *value, int value_len, const char *base, const char *sysid,
    const char *pubid, const char *notation)
{
	struct mp_xmlstream *xs = ud;

	xmlstream_fail(xs, MP_XS_RESTRICTED_XML,
	    "Entity declarations are not allowed", xmlstream_pos(xs));
}

static void XMLCALL
xmlstream_skipped_entity(void *ud, const char *name, int is_param)
{
	struct mp_xmlstream *xs = ud;

	xmlstream_fail(xs, MP_XS_RESTRICTED_XML,
	    "Entity references are not allowed", xmlstream_pos(xs));
}

static void XMLCALL
xmlstream_comment(void *ud, const char *data)
{
	struct mp_xmlstream *xs = ud;

	xmlstream_fail(xs, MP_XS_RESTRICTED_XML, "Comments are not allowed",
	    xmlstream_pos(xs));
}

static void XMLCALL
xmlstream_pi(void *ud, const char *target, const char *data)
{
	struct mp_xmlstream *xs = ud;

	xmlstream_fail(xs, MP_XS_RESTRICTED_XML,
	    "Processing instructions are not allowed", xmlstream_pos(xs));
}

static void
xmlstream_parser_new(struct mp_xmlstream *xs)
{
	struct xs_mem *prev;
	XML_Parser p;

	xs->mem = xs_mem_new();
	prev = xs_mem_enter(xs->mem);
	p = XML_ParserCreate_MM("UTF-8", xs_mem_suite(), " ");
	xs_mem_leave(prev);
	if (p == NULL)
		mp_fatalx("XML_ParserCreate_MM: out of memory");
	XML_SetUserData(p, xs);
	XML_SetElementHandler(p, xmlstream_start, xmlstream_end);
	XML_SetCharacterDataHandler(p, xmlstream_chars);
	XML_SetStartNamespaceDeclHandler(p, xmlstream_ns_decl);
	XML_SetXmlDeclHandler(p, xmlstream_xmldecl);
	XML_SetStartDoctypeDeclHandler(p, xmlstream_doctype);
	XML_SetEntityDeclHandler(p, xmlstream_entity_decl);
	XML_SetSkippedEntityHandler(p, xmlstream_skipped_entity);
	XML_SetCommentHandler(p, xmlstream_comment);
	XML_SetProcessingInstructionHandler(p, xmlstream_pi);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	/* Our own hold-back keeps this linear; see struct xs_scan. */
	XML_SetReparseDeferralEnabled(p, XML_FALSE);
	xs->parser = p;
}

static void
xmlstream_parser_free(struct mp_xmlstream *xs)
{
	struct xs_mem *prev;

	if (xs->parser == NULL)
		return;
	prev = xs_mem_enter(xs->mem);
	XML_ParserFree(xs->parser);
	xs_mem_leave(prev);
	xs_mem_free(xs->mem);
	xs->parser = NULL;
	xs->mem = NULL;
}

struct mp_xmlstream *
mp_xmlstream_new(const struct mp_xmlstream_cbs *cbs, void *ctx)
{
	struct mp_xmlstream *xs = mp_xcalloc(1, sizeof(*xs));

	xs->cbs = *cbs;
	xs->ctx = ctx;
	xs->max_stanza = XS_DEFAULT_MAX_STANZA;
	xs->max_depth = XS_DEFAULT_MAX_DEPTH;
	xmlstream_parser_new(xs);
	return xs;
}

void
mp_xmlstream_free(struct mp_xmlstream *xs)
{
	if (xs == NULL)
		return;
	xmlstream_release(xs);
	xmlstream_parser_free(xs);
	free(xs->replay);
	free(xs);
}

void
mp_xmlstream_set_limits(struct mp_xmlstream *xs, size_t max_stanza,
    unsigned max_depth)
{
	xs->max_stanza = max_stanza > 0 ? max_stanza : XS_DEFAULT_MAX_STANZA;
	xs->max_depth = max_depth > 0 ? max_depth : XS_DEFAULT_MAX_DEPTH;
}

void
mp_xmlstream_stop(struct mp_xmlstream *xs)
{
	xs->stop_requested = true;
}

static void
xmlstream_do_reset(struct mp_xmlstream *xs)
{
	xmlstream_release(xs);
	xmlstream_parser_free(xs);
	free(xs->replay);
	xs->replay = NULL;
	xs->replay_len = 0;
	xs->pos_adjust = 0;
	memset(&xs->scan, 0, sizeof(xs->scan));
	xs->in_total = xs->fed_total = 0;
	xs->depth = 0;
	xs->dead = xs->stop_requested = false;
	xs->reset_pending = false;
	xs->stop_at = 0;
	xmlstream_parser_new(xs);
}

void
mp_xmlstream_reset(struct mp_xmlstream *xs)
{
	/* From a callback the running parser must not go away under expat. */
	if (xs->in_feed) {
		xs->reset_pending = true;
		xs->stop_requested = true;
		return;
	}
	xmlstream_do_reset(xs);
}

/* A construct just ended; a top-level unit ends with it at stream level. */
static void
xmlstream_scan_done(struct xs_scan *sc, uint64_t pos)
{
	sc->state = SCAN_TEXT;
	sc->safe = pos + 1;
	if (sc->depth == 1)
		sc->count = 0;
}

static void
xmlstream_scan_tag(struct xs_scan *sc, unsigned char c, uint64_t pos)
{
	if (sc->quote != 0) {
		if (c == sc->quote)
			sc->quote = 0;
		return;
	}
	switch (c) {
	case '\'':
	case '"':
		sc->quote = c;
		sc->slash = false;
		break;
	case '/':
		sc->slash = true;
		break;
	case '>':
		if (sc->end_tag) {
			if (sc->depth > 0)
				sc->depth--;
		} else if (!sc->slash)
			sc->depth++;
		xmlstream_scan_done(sc, pos);
		break;
	default:
		sc->slash = false;
		break;
	}
}

static void
xmlstream_scan_decl(struct xs_scan *sc, unsigned char c, uint64_t pos)
{
	if (sc->quote != 0) {
		if (c == sc->quote)
			sc->quote = 0;
	} else if (c == '\'' || c == '"')
		sc->quote = c;
	else if (c == '>' || c == '[')
		xmlstream_scan_done(sc, pos);
}

static bool
xmlstream_is_ref_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '#' || c == '.' || c == '-' ||
	    c == '_' || c == ':' || c >= 0x80;
}

static void
xmlstream_scan_byte(struct xs_scan *sc, unsigned char c, uint64_t pos)
{
	static const char cdata[] = "[CDATA[";

	switch (sc->state) {
	case SCAN_REF:
		if (c == ';') {
			sc->state = SCAN_TEXT;
			sc->safe = pos + 1;
			break;
		}
		if (xmlstream_is_ref_char(c))
			break;
		/* Broken reference: expat will say so; go on as text. */
		sc->state = SCAN_TEXT;
		sc->safe = pos;
		/* FALLTHROUGH */
	case SCAN_TEXT:
		if (c == '<')
			sc->state = SCAN_LT;
		else if (c == '&')
			sc->state = SCAN_REF;
		else
			sc->safe = pos + 1;
		break;
	case SCAN_LT:
		sc->quote = 0;
		sc->slash = false;
		sc->end_tag = false;
		sc->run = 0;
		if (c == '!')
			sc->state = SCAN_BANG;
		else if (c == '?')
			sc->state = SCAN_PI;
		else if (c == '/') {
			sc->end_tag = true;
			sc->state = SCAN_TAG;
		} else {
			sc->state = SCAN_TAG;
			xmlstream_scan_tag(sc, c, pos);
		}
		break;
	case SCAN_TAG:
		xmlstream_scan_tag(sc, c, pos);
		break;
	case SCAN_BANG:
		if (sc->run == 0)
			sc->bang_cdata = c == '[';
		if (sc->bang_cdata ? c == (unsigned char)cdata[sc->run] :
		    c == '-') {
			if (++sc->run == (sc->bang_cdata ? 7 : 2)) {
				sc->state = sc->bang_cdata ? SCAN_CDATA :
				    SCAN_COMMENT;
				sc->run = 0;
				if (sc->bang_cdata)
					sc->safe = pos + 1;
			}
			break;
		}
		sc->state = SCAN_DECL;
		xmlstream_scan_decl(sc, c, pos);
		break;
	case SCAN_DECL:
		xmlstream_scan_decl(sc, c, pos);
		break;
	case SCAN_COMMENT:
		if (c == '-') {
			if (sc->run < 2)
				sc->run++;
		} else if (c == '>' && sc->run == 2)
			xmlstream_scan_done(sc, pos);
		else
			sc->run = 0;
		break;
	case SCAN_CDATA:
		sc->safe = pos + 1;
		if (c == ']') {
			if (sc->run < 2)
				sc->run++;
		} else if (c == '>' && sc->run == 2)
			xmlstream_scan_done(sc, pos);
		else
			sc->run = 0;
		break;
	case SCAN_PI:
		if (c == '>' && sc->run == 1)
			xmlstream_scan_done(sc, pos);
		else
			sc->run = c == '?';
		break;
	}
}

/* The bytes of a tag, outside quotes, that xmlstream_scan_tag() acts on. */
static const unsigned char xs_tag_stop[256] = {
	['\''] = 1, ['"'] = 1, ['/'] = 1, ['>'] = 1,
};

/* Why the scanner stopped short of the end of the input. */
enum xs_scan_stop {
	XS_SCAN_ALL,
	XS_SCAN_TOO_BIG,
	XS_SCAN_TEXT,		/* text between stanzas */
};

/*
 * Runs the scanner over new bytes, counting those of the current top-level
 * unit (the prolog and header, then each stanza; whitespace between stanzas
 * is free). Returns how many bytes were scanned: fewer than len when the
 * limit was passed or text came between stanzas. Text is caught here rather
 * than from expat's callback, which would see it earlier or later than a
 * syntax error right after it depending on how the bytes were split.
 */
static size_t
xmlstream_scan(struct mp_xmlstream *xs, const unsigned char *p, size_t len,
    enum xs_scan_stop *stop_r)
{
	struct xs_scan *sc = &xs->scan;
	uint64_t base = xs->in_total;
	size_t i, j, room;
	const unsigned char *q;

	*stop_r = XS_SCAN_ALL;
	for (i = 0; i < len; i++) {
		if (sc->state == SCAN_TEXT && sc->depth == 1) {
			if (xmlstream_is_ws(p[i])) {
				sc->safe = base + i + 1;
				continue;
			}
			if (p[i] != '<') {
				*stop_r = XS_SCAN_TEXT;
				return i;
			}
		}
		if (sc->count >= xs->max_stanza) {
			*stop_r = XS_SCAN_TOO_BIG;
			return i;
		}
		room = xs->max_stanza - sc->count;
		/* Fast paths for the bulk of stanzas: text, quoted values. */
		if (sc->state == SCAN_TEXT && sc->depth >= 2) {
			j = len - i < room ? len - i : room;
			q = memchr(p + i, '<', j);
			j = q != NULL ? (size_t)(q - p) : i + j;
			if ((q = memchr(p + i, '&', j - i)) != NULL)
				j = (size_t)(q - p);
			if (j > i) {
				sc->count += j - i;
				sc->safe = base + j;
				i = j - 1;
				continue;
			}
		} else if (sc->state == SCAN_TAG && sc->quote != 0) {
			j = len - i < room ? len - i : room;
			q = memchr(p + i, sc->quote, j);
			j = q != NULL ? (size_t)(q - p) : i + j;
			if (j > i) {
				sc->count += j - i;
				i = j - 1;
				continue;
			}
		} else if (sc->state == SCAN_TAG) {
			/* Names and spaces: only quotes, '/' and '>' matter. */
			for (j = i; j < len && j - i < room &&
			    !xs_tag_stop[p[j]]; j++)
				;
			if (j > i) {
				sc->count += j - i;
				sc->slash = false;
				i = j - 1;
				continue;
			}
		}
		sc->count++;
		xmlstream_scan_byte(sc, p[i], base + i);
	}
	return len;
}

static enum mp_xs_error
xmlstream_map_error(enum XML_Error e)
{
	switch (e) {
	case XML_ERROR_UNBOUND_PREFIX:
	case XML_ERROR_UNDECLARING_PREFIX:
	case XML_ERROR_RESERVED_PREFIX_XML:
	case XML_ERROR_RESERVED_PREFIX_XMLNS:
	case XML_ERROR_RESERVED_NAMESPACE_URI:
		return MP_XS_BAD_NAMESPACE_PREFIX;
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
	case XML_ERROR_NOT_STANDALONE:
	case XML_ERROR_ENTITY_DECLARED_IN_PE:
	case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
	case XML_ERROR_MISPLACED_XML_PI:
		return MP_XS_RESTRICTED_XML;
	case XML_ERROR_UNKNOWN_ENCODING:
	case XML_ERROR_INCORRECT_ENCODING:
		return MP_XS_UNSUPPORTED_ENCODING;
	default:
		return MP_XS_NOT_WELL_FORMED;
	}
}

/* A parked stream gets a new parser that reads the root's start tag first. */
static bool
xmlstream_unpark(struct mp_xmlstream *xs)
{
	bool ok;
	struct xs_mem *prev;

	xmlstream_parser_new(xs);
	xs->depth = 0;
	xs->replaying = true;
	prev = xs_mem_enter(xs->mem);
	ok = XML_Parse(xs->parser, xs->replay, (int)xs->replay_len,
	    XML_FALSE) == XML_STATUS_OK && xs->depth == 1;
	xs_mem_leave(prev);
	xs->replaying = false;
	xs->pos_adjust = (int64_t)xs->fed_total - (int64_t)xs->replay_len;
	return ok;
}

/* Gives bytes to expat in slices; stops at an error or a stop. */
static void
xmlstream_parse(struct mp_xmlstream *xs, const char *p, size_t len)
{
	struct xs_mem *prev;
	enum XML_Error e;
	enum XML_Status st;
	size_t i, n;

	if (xs->parser == NULL) {
		/* Whitespace keepalives do not wake a parked stream. */
		for (i = 0; i < len && xmlstream_is_ws((unsigned char)p[i]);
		    i++)
			;
		if (i == len) {
			xs->fed_total += len;
			return;
		}
		if (!xmlstream_unpark(xs)) {
			/* Cannot happen: expat read the same tag before. */
			mp_log_warnx("xmlstream: a stream's root did not "
			    "parse again");
			xmlstream_fail(xs, MP_XS_NOT_WELL_FORMED,
			    "Internal parser error", xs->fed_total);
			return;
		}
	}
	while (len > 0 && !xs->dead) {
		n = len < XS_SLICE ? len : XS_SLICE;
		prev = xs_mem_enter(xs->mem);
		st = XML_Parse(xs->parser, p, (int)n, XML_FALSE);
		xs_mem_leave(prev);
		if (st != XML_STATUS_OK) {
			e = XML_GetErrorCode(xs->parser);
			if (e != XML_ERROR_ABORTED)
				xmlstream_fail(xs, xmlstream_map_error(e),
				    XML_ErrorString(e), xmlstream_pos(xs));
			xs->dead = true;
		}
		xs->fed_total += n;
		p += n;
		len -= n;
	}
}

/*
 * Expat detects UTF-16 from a BOM or a NUL in the first two bytes even when
 * told the input is UTF-8, so those are refused before expat sees them.
 */
static bool
xmlstream_utf16(struct mp_xmlstream *xs, const char *data, size_t len)
{
	uint64_t pos;
	unsigned char c;
	size_t i;

	for (i = 0, pos = xs->in_total; i < len && pos < 2; i++, pos++) {
		c = (unsigned char)data[i];
		if (c == 0 || (pos == 0 && (c == 0xfe || c == 0xff))) {
			xmlstream_fail(xs, MP_XS_UNSUPPORTED_ENCODING,
			    "Only UTF-8 is supported", pos);
			xmlstream_release(xs);
			return true;
		}
	}
	return false;
}

size_t
mp_xmlstream_feed(struct mp_xmlstream *xs, const char *data, size_t len)
{
	uint64_t base = xs->in_total, old_fed = xs->fed_total, end;
	size_t n, ret;
	enum xs_scan_stop stop;

	if (xs->dead || xs->in_feed || len == 0)
		return 0;
	if (base < 2 && xmlstream_utf16(xs, data, len))
		return 0;
	n = xmlstream_scan(xs, (const unsigned char *)data, len, &stop);
	xs->in_total = base + n;
	/*
	 * Past the limit, expat still gets the complete tokens before it: the
	 * stanzas before go out, and a syntax error there is reported first,
	 * whatever the chunking.
	 */
	end = xs->scan.safe;
	/*
	 * The first two bytes wait for xmlstream_utf16(): parsed at once, a
	 * first byte could fail as not-well-formed when a whole read would
	 * say unsupported-encoding; the answer must not depend on chunking.
	 */
	if (xs->in_total < 2)
		end = xs->fed_total;
	xs->in_feed = true;
	if (end > xs->fed_total) {
		if (xs->hold.len > 0)
			xmlstream_parse(xs, xs->hold.data,
			    (size_t)((end < base ? end : base) -
			    xs->fed_total));
		if (end > base)
			xmlstream_parse(xs, data, (size_t)(end - base));
		if (xs->dead)
			;
		else if (end >= base) {
			mp_buf_reset(&xs->hold);
			mp_buf_append(&xs->hold, data + (end - base),
			    (size_t)(base + n - end));
		} else {
			mp_buf_drain(&xs->hold, (size_t)(end - old_fed));
			mp_buf_append(&xs->hold, data, n);
		}
	} else
		mp_buf_append(&xs->hold, data, n);
	xs->in_feed = false;
	if (stop == XS_SCAN_TOO_BIG && !xs->dead)
		xmlstream_fail(xs, MP_XS_TOO_BIG, "Stanza too big", base + n);
	else if (stop == XS_SCAN_TEXT && !xs->dead)
		xmlstream_fail(xs, MP_XS_BAD_FORMAT, "Text outside stanzas",
		    base + n);
	if (xs->dead) {
		ret = xs->stop_at <= base ? 0 : xs->stop_at - base > len ?
		    len : (size_t)(xs->stop_at - base);
		xmlstream_release(xs);
	} else {
		ret = len;
		if (xs->hold.len == 0)
			mp_buf_free(&xs->hold);
		if (mp_xmlstream_parser_memory(xs) > XS_PARSER_RECYCLE)
			mp_xmlstream_trim(xs);
	}
	if (xs->reset_pending)
		xmlstream_do_reset(xs);
	return ret;
}

bool
mp_xmlstream_trim(struct mp_xmlstream *xs)
{
	if (xs->parser == NULL)
		return true;
	if (xs->dead || xs->in_feed || xs->replay == NULL || xs->depth != 1 ||
	    xs->arena != NULL || xs->hold.len > 0 ||
	    xs->fed_total != xs->in_total || xs->scan.depth != 1 ||
	    xs->scan.state != SCAN_TEXT)
		return false;
	/*
	 * Expat must hold nothing either: on malformed input it may keep a
	 * token our scanner took as complete (e.g. "<![CD/>"), and a trailing
	 * CR in case an LF follows.
	 */
	if (xmlstream_pos(xs) != xs->fed_total)
		return false;
	/* The text and hold-back buffers are already freed between stanzas. */
	xmlstream_parser_free(xs);
	return true;
}

size_t
mp_xmlstream_parser_memory(const struct mp_xmlstream *xs)
{
	return xs->parser != NULL && xs->mem != NULL ?
	    xs_mem_footprint(xs->mem) : 0;
}

bool
mp_xmlstream_parked(const struct mp_xmlstream *xs)
{
	return xs->parser == NULL;
}

void
mp_xmlstream_set_ctx(struct mp_xmlstream *xs, void *ctx)
{
	xs->ctx = ctx;
}
