/* test_xmlstream_park.c - a stream that frees its parser between stanzas goes on unchanged. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/xml.h>

#include "xmlstream.h"
#include "harness.h"

#define HDR "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.com' " \
	"version='1.0'>"

struct park {
	struct mp_buf	 log;
	int		 headers, stanzas, ends, errors, err;
};

static void
park_header(void *ctx, const struct mp_stream_header *h)
{
	((struct park *)ctx)->headers++;
}

static void
park_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	struct park *p = ctx;

	p->stanzas++;
	mp_buf_printf(&p->log, "{%s}%s ", st->xmlns, st->name);
	mp_xml_serialize(&p->log, st, MP_NS_CLIENT);
	mp_buf_putc(&p->log, '\n');
}

static void
park_end(void *ctx)
{
	((struct park *)ctx)->ends++;
}

static void
park_error(void *ctx, enum mp_xs_error err, const char *detail)
{
	struct park *p = ctx;

	p->errors++;
	p->err = (int)err;
}

static const struct mp_xmlstream_cbs park_cbs = {
	.header = park_header,
	.stanza = park_stanza,
	.end = park_end,
	.error = park_error,
};

static size_t
feed(struct mp_xmlstream *xs, const char *s)
{
	return mp_xmlstream_feed(xs, s, strlen(s));
}

/* A fresh stream past the usual header, parked at once. */
static struct mp_xmlstream *
parked_stream(struct park *p)
{
	struct mp_xmlstream *xs;

	memset(p, 0, sizeof(*p));
	xs = mp_xmlstream_new(&park_cbs, p);
	feed(xs, HDR);
	mp_xmlstream_trim(xs);
	return xs;
}

MP_TEST(xs_park_basic)
{
	struct park p = { 0 };
	struct mp_xmlstream *xs = mp_xmlstream_new(&park_cbs, &p);

	/* Nothing to keep before the root is complete. */
	CHECK(feed(xs, "<stream:stream xmlns='jabber:client' xmlns:str") ==
	    46);
	CHECK(!mp_xmlstream_trim(xs) && !mp_xmlstream_parked(xs));
	CHECK(feed(xs, "eam='http://etherx.jabber.org/streams'>") == 39);
	CHECK(p.headers == 1);
	CHECK(mp_xmlstream_trim(xs) && mp_xmlstream_parked(xs));
	CHECK(mp_xmlstream_trim(xs));
	/* Whitespace keepalives leave it parked. */
	CHECK(feed(xs, " \r\n\t ") == 5);
	CHECK(mp_xmlstream_parked(xs));
	/* Half a stanza: not parked until it is complete. */
	CHECK(feed(xs, "<message to='a@b'><bo") == 21);
	CHECK(!mp_xmlstream_parked(xs));
	CHECK(!mp_xmlstream_trim(xs));
	CHECK(feed(xs, "dy>hi &amp; bye</body></message>") == 32);
	CHECK(p.stanzas == 1);
	CHECK(mp_xmlstream_trim(xs));
	CHECK(feed(xs, "<iq type='get' id='1'><query xmlns='jabber:iq:roster'"
	    "/></iq>") == 60);
	CHECK(mp_xmlstream_trim(xs));
	CHECK(feed(xs, "</stream:stream>trailing") == 16);
	CHECK(p.ends == 1 && p.errors == 0 && p.stanzas == 2);
	CHECK_STR(p.log.data,
	    "{jabber:client}message <message to='a@b'><body>hi &amp; bye"
	    "</body></message>\n"
	    "{jabber:client}iq <iq type='get' id='1'><query "
	    "xmlns='jabber:iq:roster'/></iq>\n");
	/* Ended: nothing to park. */
	CHECK(!mp_xmlstream_trim(xs));
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);
}

/* The root's own prefix and declarations hold for stanzas after a park. */
MP_TEST(xs_park_root_declarations)
{
	struct park p = { 0 };
	struct mp_xmlstream *xs = mp_xmlstream_new(&park_cbs, &p);
	static const char root[] = "<s:stream xmlns:s="
	    "'http://etherx.jabber.org/streams' xmlns='jabber:client' "
	    "xmlns:x=\"urn:a&amp;b&lt;&apos;c&#9;d\" xmlns:y='urn:y'\n>";

	CHECK(feed(xs, root) == strlen(root));
	CHECK(mp_xmlstream_trim(xs));
	CHECK(feed(xs, "<x:q y:a='1'/>") == 14);
	CHECK(mp_xmlstream_trim(xs));
	CHECK(feed(xs, "<message/>") == 10);
	CHECK(mp_xmlstream_trim(xs));
	/* The end tag must match the root's qualified name... */
	CHECK(feed(xs, "</s:stream>") == 11);
	CHECK(p.ends == 1 && p.errors == 0);
	CHECK(strstr(p.log.data, "{urn:a&b<'c\td}q ") != NULL);
	CHECK(strstr(p.log.data, "{jabber:client}message ") != NULL);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);

	/* ...and a wrong one is still an error. */
	xs = parked_stream(&p);
	CHECK(mp_xmlstream_parked(xs));
	CHECK(feed(xs, "<a/></stream>") < 13);
	CHECK(p.errors == 1 && p.err == MP_XS_NOT_WELL_FORMED);
	CHECK(p.stanzas == 1);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);

	/* A prefix the root did not declare stays unbound. */
	xs = parked_stream(&p);
	CHECK(mp_xmlstream_parked(xs));
	feed(xs, "<x:q/>");
	CHECK(p.errors == 1 && p.err == MP_XS_BAD_NAMESPACE_PREFIX);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);
}

/* Limits, stops, errors and resets behave as without a park. */
MP_TEST(xs_park_limits_and_reset)
{
	struct park p = { 0 };
	struct mp_xmlstream *xs = mp_xmlstream_new(&park_cbs, &p);
	struct mp_buf b = MP_BUF_INIT;
	size_t i;

	mp_xmlstream_set_limits(xs, 200, 4);
	feed(xs, HDR);
	CHECK(mp_xmlstream_trim(xs));
	/* An incomplete tag over the limit fails while still parked. */
	mp_buf_puts(&b, "<message a='");
	for (i = 0; i < 300; i++)
		mp_buf_putc(&b, 'x');
	CHECK(mp_xmlstream_feed(xs, b.data, b.len) < b.len);
	CHECK(p.errors == 1 && p.err == MP_XS_TOO_BIG);
	CHECK(feed(xs, "<a/>") == 0 && p.stanzas == 0);

	/* A reset starts a new stream, which can park in its turn. */
	mp_xmlstream_reset(xs);
	CHECK(!mp_xmlstream_parked(xs));
	memset(&p, 0, sizeof(p));
	CHECK(feed(xs, "<stream xmlns='http://etherx.jabber.org/streams'>") ==
	    49);
	CHECK(mp_xmlstream_trim(xs));
	/* Its default namespace is the streams one, not jabber:client. */
	CHECK(feed(xs, "<features/>") == 11);
	CHECK(strstr(p.log.data, "{http://etherx.jabber.org/streams}"
	    "features") != NULL);
	CHECK(mp_xmlstream_trim(xs));
	CHECK(feed(xs, "<a><b><c><d><e><f/></e></d></c></b></a>") < 39);
	CHECK(p.errors == 1 && p.err == MP_XS_TOO_DEEP);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);
	mp_buf_free(&b);
}

/* Ever new names would grow expat without end: the parser is replaced. */
MP_TEST(xs_park_recycles_big_parser)
{
	struct park p = { 0 };
	struct mp_xmlstream *xs = mp_xmlstream_new(&park_cbs, &p);
	size_t most = 0, mem;
	char st[64];
	int i, n, bad = 0;

	feed(xs, HDR);
	CHECK(mp_xmlstream_parser_memory(xs) > 1000);
	CHECK(mp_xmlstream_parser_memory(xs) < 32 * 1024);
	for (i = 0; i < 40000; i++) {
		n = snprintf(st, sizeof(st), "<m%d xmlns='urn:%d' a%d='v'/>",
		    i, i % 7, i);
		if (mp_xmlstream_feed(xs, st, (size_t)n) != (size_t)n)
			bad++;
		mem = mp_xmlstream_parser_memory(xs);
		if (mem > most)
			most = mem;
	}
	CHECK(bad == 0 && p.errors == 0 && p.stanzas == 40000);
	/* Bounded by the recycling threshold plus one stanza's names. */
	CHECK(most > 0 && most < 72 * 1024);
	CHECK(strstr(p.log.data, "{urn:1}m39999 <m39999 xmlns='urn:1' "
	    "a39999='v'/>\n") != NULL);
	CHECK(feed(xs, "</stream:stream>") == 16 && p.ends == 1);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);
}

/* Bytes expat still holds are never dropped by a park (found by fuzz_stream). */
MP_TEST(xs_park_not_while_expat_holds_bytes)
{
	struct park p = { 0 }, q = { 0 };
	struct mp_xmlstream *xs = mp_xmlstream_new(&park_cbs, &p);
	struct mp_xmlstream *ref = mp_xmlstream_new(&park_cbs, &q);
	static const char tail[] = "<?xml version='1.0'?><a/>";

	feed(xs, HDR "<![CD/>");
	feed(ref, HDR "<![CD/>");
	CHECK(!mp_xmlstream_trim(xs));
	feed(xs, tail);
	feed(ref, tail);
	CHECK(p.errors == 1 && q.errors == 1 && p.err == q.err);
	mp_xmlstream_free(xs);
	mp_xmlstream_free(ref);
	mp_buf_free(&p.log);
	mp_buf_free(&q.log);

	/* A CR at the end may be the start of CR LF: expat keeps it. */
	memset(&p, 0, sizeof(p));
	xs = mp_xmlstream_new(&park_cbs, &p);
	feed(xs, HDR "<a/>\r");
	CHECK(!mp_xmlstream_trim(xs));
	feed(xs, "\n<b/>");
	CHECK(mp_xmlstream_trim(xs));
	CHECK(p.stanzas == 2 && p.errors == 0);
	mp_xmlstream_free(xs);
	mp_buf_free(&p.log);
}
