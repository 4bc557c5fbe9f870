/* test_xmlstream.c - tree, serializer, and stream parser (split, hostile). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/xml.h>

#include "xmlstream.h"
#include "harness.h"

#define HDR "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.com' " \
	"version='1.0'>"

/* Everything the parser reported, as text, so runs can be compared. */
struct col {
	struct mp_buf	 log;
	struct mp_xmlstream *xs;
	int		 headers, stanzas, ends, errors;
	int		 err;
	const char	*stop_at_name;	/* stop() after such a stanza */
	bool		 stop_in_header;
	bool		 reset_in_stanza;
};

static void
col_header(void *ctx, const struct mp_stream_header *h)
{
	struct col *c = ctx;

	c->headers++;
	mp_buf_printf(&c->log, "H %s|%s|%s|%s|%s|%s|%s|%s\n",
	    h->ns ? h->ns : "-", h->name ? h->name : "-",
	    h->default_ns ? h->default_ns : "-", h->to ? h->to : "-",
	    h->from ? h->from : "-", h->version ? h->version : "-",
	    h->lang ? h->lang : "-", h->id ? h->id : "-");
	if (c->stop_in_header)
		mp_xmlstream_stop(c->xs);
}

static void
col_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	struct col *c = ctx;

	c->stanzas++;
	mp_buf_puts(&c->log, "S ");
	mp_xml_serialize(&c->log, st, MP_NS_CLIENT);
	mp_buf_putc(&c->log, '\n');
	if (c->stop_at_name != NULL && strcmp(st->name, c->stop_at_name) == 0)
		mp_xmlstream_stop(c->xs);
	if (c->reset_in_stanza)
		mp_xmlstream_reset(c->xs);
}

static void
col_end(void *ctx)
{
	struct col *c = ctx;

	c->ends++;
	mp_buf_puts(&c->log, "E\n");
}

static void
col_error(void *ctx, enum mp_xs_error err, const char *detail)
{
	struct col *c = ctx;

	c->errors++;
	c->err = (int)err;
	mp_buf_printf(&c->log, "X %d\n", (int)err);
}

static const struct mp_xmlstream_cbs col_cbs = {
	.header = col_header,
	.stanza = col_stanza,
	.end = col_end,
	.error = col_error,
};

/* Limits and stop for the runs of xs_mutations; trim after each feed. */
static size_t test_limit;
static const char *test_stop;
static bool test_trim;
static int test_parks;

static void
col_init(struct col *c)
{
	memset(c, 0, sizeof(*c));
	c->err = -1;
	c->xs = mp_xmlstream_new(&col_cbs, c);
	c->stop_at_name = test_stop;
	if (test_limit > 0)
		mp_xmlstream_set_limits(c->xs, test_limit, 5);
}

static void
col_free(struct col *c)
{
	mp_xmlstream_free(c->xs);
	mp_buf_free(&c->log);
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

enum split { WHOLE, BYTES, RANDOM };

/*
 * Feeds s in the given way; returns what was logged (malloc'd). Stops
 * feeding as soon as the parser consumes less than it was given.
 */
static char *
run_split(const char *s, size_t len, enum split how, size_t at,
    size_t *consumed_r)
{
	struct col c;
	size_t off = 0, n, got;
	char *out;

	col_init(&c);
	while (off < len) {
		if (how == WHOLE)
			n = at > 0 && off < at ? at - off : len - off;
		else if (how == BYTES)
			n = 1;
		else
			n = 1 + rng() % 97;
		if (n > len - off)
			n = len - off;
		got = mp_xmlstream_feed(c.xs, s + off, n);
		off += got;
		if (got < n)
			break;
		if (test_trim && !mp_xmlstream_parked(c.xs) &&
		    mp_xmlstream_trim(c.xs))
			test_parks++;
	}
	if (consumed_r != NULL)
		*consumed_r = off;
	out = mp_xstrdup(c.log.data != NULL ? c.log.data : "");
	col_free(&c);
	return out;
}

static char *
run(const char *s)
{
	return run_split(s, strlen(s), WHOLE, 0, NULL);
}

/* The one error a stream reports, fed whole and a byte at a time (-1: none). */
static int
error_of(const char *s, size_t len)
{
	struct col c;
	size_t i;
	int whole, bytes;

	col_init(&c);
	mp_xmlstream_feed(c.xs, s, len);
	whole = c.errors == 1 ? c.err : c.errors == 0 ? -1 : -2;
	col_free(&c);
	col_init(&c);
	for (i = 0; i < len; i++)
		if (mp_xmlstream_feed(c.xs, s + i, 1) != 1)
			break;
	bytes = c.errors == 1 ? c.err : c.errors == 0 ? -1 : -2;
	col_free(&c);
	return whole == bytes ? whole : -3;
}

static int
error_str(const char *s)
{
	return error_of(s, strlen(s));
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char client_stream[] =
    "<?xml version='1.0' encoding='UTF-8'?>\r\n"
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "from='juliet@example.com' version='1.0' xml:lang='en' id='s1'>\r\n"
    "  <iq type='set' id='bind_1'><bind "
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource>"
    "</bind></iq>\n"
    "<message to='romeo@example.net' type='chat' id=\"m1\" xml:lang='en'>"
    "<body>Wherefore &amp; &lt;Romeo&gt;? &#x263A;&#65;</body>"
    "<thread>t1</thread><active "
    "xmlns='http://jabber.org/protocol/chatstates'/></message>\n"
    "<presence a='x&gt;y' b=\"it's\"><show>away</show><status xml:lang='de'>"
    "&quot;q&quot; &apos;s&apos; \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
    "\xf0\x9f\x92\xa1</status><c xmlns='http://jabber.org/protocol/caps' "
    "hash='sha-1' node='http://x' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
    "</presence>\r\n\t"
    "<message to='a@b' id='dq'><body><![CDATA[<not a tag> & it's ]] > ]]>"
    "</body><x:data xmlns:x='jabber:x:data' x:type='form' type=\"result\">"
    "<x:field var='a&amp;b&#10;c\nd'/></x:data></message>"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>"
    "<message><body>line1\r\nline2\ttab</body><html "
    "xmlns='http://jabber.org/protocol/xhtml-im'><body "
    "xmlns='http://www.w3.org/1999/xhtml'><p style='font-weight:bold'>"
    "hi<br/>there</p><q xmlns=''>plain</q></body></html></message>\n"
    "</stream:stream>";

static const char client_expected[] =
    "H http://etherx.jabber.org/streams|stream|jabber:client|example.com|"
    "juliet@example.com|1.0|en|s1\n"
    "S <iq type='set' id='bind_1'><bind "
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource>"
    "</bind></iq>\n"
    "S <message to='romeo@example.net' type='chat' id='m1' xml:lang='en'>"
    "<body>Wherefore &amp; &lt;Romeo&gt;? \xe2\x98\xba" "A</body>"
    "<thread>t1</thread><active "
    "xmlns='http://jabber.org/protocol/chatstates'/></message>\n"
    "S <presence a='x&gt;y' b='it&apos;s'><show>away</show>"
    "<status xml:lang='de'>\"q\" 's' \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6"
    "d\xc3\xa9 "
    "\xf0\x9f\x92\xa1</status><c xmlns='http://jabber.org/protocol/caps' "
    "hash='sha-1' node='http://x' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
    "</presence>\n"
    "S <message to='a@b' id='dq'><body>&lt;not a tag&gt; &amp; it's ]] &gt; "
    "</body><data xmlns='jabber:x:data' xmlns:ns1='jabber:x:data' "
    "ns1:type='form' type='result'><field var='a&amp;b&#10;c d'/></data>"
    "</message>\n"
    "S <iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>\n"
    "S <message><body>line1\nline2\ttab</body><html "
    "xmlns='http://jabber.org/protocol/xhtml-im'><body "
    "xmlns='http://www.w3.org/1999/xhtml'><p style='font-weight:bold'>"
    "hi<br/>there</p><q xmlns=''>plain</q></body></html></message>\n"
    "E\n";

MP_TEST(xs_client_stream_whole)
{
	size_t consumed;
	char *got;

	got = run_split(client_stream, sizeof(client_stream) - 1, WHOLE, 0,
	    &consumed);
	if (strcmp(got, client_expected) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s", got, client_expected);
	CHECK_STR(got, client_expected);
	free(got);
	CHECK(consumed == sizeof(client_stream) - 1);
}

MP_TEST(xs_client_stream_every_split)
{
	size_t len = sizeof(client_stream) - 1, i;
	char *got;

	for (i = 1; i < len; i++) {
		got = run_split(client_stream, len, WHOLE, i, NULL);
		if (strcmp(got, client_expected) != 0)
			fprintf(stderr, "split at %zu:\n%s", i, got);
		CHECK(strcmp(got, client_expected) == 0);
		free(got);
	}
	got = run_split(client_stream, len, BYTES, 0, NULL);
	CHECK_STR(got, client_expected);
	free(got);
	for (i = 0; i < 200; i++) {
		got = run_split(client_stream, len, RANDOM, 0, NULL);
		CHECK(strcmp(got, client_expected) == 0);
		free(got);
	}
}

/* Offsets (bytes fed) at which each stanza and the header came out. */
static size_t when_fed, when_log[16], when_n;

static void
when_header(void *ctx, const struct mp_stream_header *h)
{
	if (when_n < 16)
		when_log[when_n++] = when_fed;
}

static void
when_any_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	if (when_n < 16)
		when_log[when_n++] = when_fed;
}

/* Fed a byte at a time, each stanza comes out with its final '>'. */
MP_TEST(xs_dispatch_on_time)
{
	struct mp_xmlstream_cbs cbs = { .header = when_header,
	    .stanza = when_any_stanza };
	struct mp_xmlstream *xs = mp_xmlstream_new(&cbs, NULL);
	static const char *ends[] = { "</iq>", "</message>", "</presence>" };
	size_t want[16], nwant = 0, pos, best, i, k;
	const char *s = client_stream, *hit;

	want[nwant++] = (size_t)(strstr(s, "'s1'>") - s) + 5;
	for (pos = 0;;) {
		best = SIZE_MAX;
		for (k = 0; k < 3; k++)
			if ((hit = strstr(s + pos, ends[k])) != NULL &&
			    (size_t)(hit - s) + strlen(ends[k]) < best)
				best = (size_t)(hit - s) + strlen(ends[k]);
		if (best == SIZE_MAX)
			break;
		want[nwant++] = best;
		pos = best;
	}
	CHECK(nwant == 7);
	when_n = 0;
	for (when_fed = 1; when_fed < sizeof(client_stream); when_fed++)
		CHECK(mp_xmlstream_feed(xs, s + when_fed - 1, 1) == 1);
	mp_xmlstream_free(xs);
	CHECK(when_n == nwant);
	for (i = 0; i < nwant; i++)
		CHECK(when_log[i] == want[i]);
}

/* Each stanza's arena is fresh and the tree is well linked. */
static int tree_checks;

static void
tree_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	const struct mp_node *c;
	struct mp_node *body;

	if (st->parent != NULL || st->next != NULL)
		return;
	for (c = st->children; c != NULL; c = c->next) {
		if (c->parent != st)
			return;
		if (c->next == NULL && st->last != c)
			return;
	}
	if (strcmp(st->name, "message") == 0 && mp_node_attr(st, "to") &&
	    strcmp(mp_node_attr(st, "to"), "romeo@example.net") == 0) {
		body = mp_node_child(st, MP_NS_CLIENT, "body");
		if (body == NULL || body->children == NULL ||
		    body->children->next != NULL)
			return;	/* text pieces were merged in one node */
		if (strcmp(mp_node_text(a, body),
		    "Wherefore & <Romeo>? \xe2\x98\xba" "A") != 0)
			return;
		if (strcmp(mp_node_attr(st, "xml:lang"), "en") != 0)
			return;
	}
	if (strcmp(st->name, "message") == 0 && mp_node_attr(st, "id") &&
	    strcmp(mp_node_attr(st, "id"), "dq") == 0) {
		c = mp_node_child(st, "jabber:x:data", "data");
		if (c == NULL || strcmp(mp_node_attr(c, "jabber:x:data type"),
		    "form") != 0 || strcmp(mp_node_attr(c, "type"),
		    "result") != 0)
			return;
		c = mp_node_first_element(c);
		if (c == NULL || strcmp(mp_node_attr(c, "var"),
		    "a&b\nc d") != 0)
			return;
	}
	if (strcmp(st->xmlns, MP_NS_CLIENT) != 0)
		return;
	tree_checks++;
}

MP_TEST(xs_tree_shape)
{
	struct mp_xmlstream_cbs cbs = { .stanza = tree_stanza };
	struct mp_xmlstream *xs = mp_xmlstream_new(&cbs, NULL);

	tree_checks = 0;
	CHECK(mp_xmlstream_feed(xs, client_stream, sizeof(client_stream) - 1)
	    == sizeof(client_stream) - 1);
	mp_xmlstream_free(xs);
	CHECK(tree_checks == 6);
}

/* Each stanza serialized, separated by '\x1e' (text may hold newlines). */
static void
list_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	mp_xml_serialize(ctx, st, MP_NS_CLIENT);
	mp_buf_putc(ctx, '\x1e');
}

static void
list_stanzas(struct mp_buf *out, const char *s)
{
	struct mp_xmlstream_cbs cbs = { .stanza = list_stanza };
	struct mp_xmlstream *xs = mp_xmlstream_new(&cbs, out);

	mp_xmlstream_feed(xs, s, strlen(s));
	mp_xmlstream_free(xs);
}

/* Parse, serialize, parse the serialization: the same stanzas come out. */
MP_TEST(xs_round_trip)
{
	struct mp_buf first = MP_BUF_INIT, again = MP_BUF_INIT;
	struct mp_buf second = MP_BUF_INIT;
	char *p;

	list_stanzas(&first, client_stream);
	mp_buf_puts(&again, HDR);
	mp_buf_append(&again, first.data, first.len);
	for (p = again.data; (p = strchr(p, '\x1e')) != NULL; )
		*p = ' ';
	list_stanzas(&second, again.data);
	CHECK(first.len > 500);
	CHECK(memchr(first.data, '\n', first.len) != NULL);
	CHECK_STR(second.data, first.data);
	mp_buf_free(&first);
	mp_buf_free(&again);
	mp_buf_free(&second);
}

MP_TEST(xs_restricted_xml)
{
	CHECK(error_str("<?xml version='1.0'?><!DOCTYPE stream>" HDR) ==
	    MP_XS_RESTRICTED_XML);
	CHECK(error_str("<!DOCTYPE x SYSTEM 'http://example.com/x.dtd'>"
	    HDR) == MP_XS_RESTRICTED_XML);
	CHECK(error_str("<!DOCTYPE x [<!ENTITY e 'v'>]>" HDR) ==
	    MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<!-- hi -->") == MP_XS_RESTRICTED_XML);
	CHECK(error_str("<!-- before -->" HDR) == MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<message><!-- c --></message>") ==
	    MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<?foo bar?>") == MP_XS_RESTRICTED_XML);
	CHECK(error_str("<?foo bar?>" HDR) == MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<message><?foo it's > ?></message>") ==
	    MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<message>&foo;</message>") ==
	    MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<message a='&foo;'/>") == MP_XS_RESTRICTED_XML);
	CHECK(error_str(HDR "<message>&lt;&gt;&amp;&apos;&quot;&#x41;&#66;"
	    "</message>") == -1);
	/* The XML declaration itself is fine. */
	CHECK(error_str("<?xml version='1.0'?>" HDR "<message/>") == -1);
}

MP_TEST(xs_billion_laughs)
{
	static const char lol[] =
	    "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n" HDR "<message><body>&lol9;</body></message>";
	struct col c;
	double t0 = now_sec();
	size_t n;

	CHECK(error_str(lol) == MP_XS_RESTRICTED_XML);
	col_init(&c);
	n = mp_xmlstream_feed(c.xs, lol, sizeof(lol) - 1);
	/* Refused at the DOCTYPE: nothing after it was consumed. */
	CHECK(n < (size_t)(strstr(lol, "<!ENTITY") - lol));
	CHECK(c.headers == 0 && c.stanzas == 0 && c.errors == 1);
	col_free(&c);
	CHECK(now_sec() - t0 < 0.5);
}

MP_TEST(xs_bad_prefix)
{
	CHECK(error_str(HDR "<foo:bar/>") == MP_XS_BAD_NAMESPACE_PREFIX);
	CHECK(error_str(HDR "<message foo:x='1'/>") ==
	    MP_XS_BAD_NAMESPACE_PREFIX);
	CHECK(error_str("<stream:stream xmlns='jabber:client'>") ==
	    MP_XS_BAD_NAMESPACE_PREFIX);
	CHECK(error_str(HDR "<message xmlns:p=''/>") ==
	    MP_XS_BAD_NAMESPACE_PREFIX);
}

MP_TEST(xs_bad_utf8)
{
	static const char *bad[] = {
		HDR "<message><body>\xff</body></message>",
		HDR "<message><body>\xc0\xaf</body></message>",
		HDR "<message><body>\xed\xa0\x80</body></message>",
		HDR "<message><body>\xe2\x82</body></message>",
		HDR "<message a='\xfe'/>",
		HDR "<mess\x80ge/>",
		HDR "<message><body>\x01</body></message>",
		HDR "<message><body>&#0;</body></message>",
		HDR "<message></body>",
		HDR "<message a='1' a='2'/>",
		HDR "<message a=1/>",
		HDR "<message a='<'/>",
		HDR "<>",
		HDR "<message>]]></message>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (error_str(bad[i]) != MP_XS_NOT_WELL_FORMED)
			fprintf(stderr, "case %zu: %d\n", i, error_str(bad[i]));
		CHECK(error_str(bad[i]) == MP_XS_NOT_WELL_FORMED);
	}
	/* A NUL byte inside a stanza. */
	CHECK(error_of(HDR "<message>\0</message>", sizeof(HDR) - 1 + 20) ==
	    MP_XS_NOT_WELL_FORMED);
}

MP_TEST(xs_encoding)
{
	char *got;

	CHECK(error_str("<?xml version='1.0' encoding='ISO-8859-1'?>" HDR) ==
	    MP_XS_UNSUPPORTED_ENCODING);
	CHECK(error_str("<?xml version='1.0' encoding='UTF-16'?>" HDR) ==
	    MP_XS_UNSUPPORTED_ENCODING);
	got = run("<?xml version='1.0' encoding='ISO-8859-1'?>" HDR);
	CHECK(strstr(got, "H ") == NULL);
	free(got);
	CHECK(error_str("<?xml version='1.0' encoding='utf-8'?>" HDR
	    "<message/>") == -1);
	CHECK(error_str("\xef\xbb\xbf<?xml version='1.0'?>" HDR) == -1);
	/* Expat would switch to UTF-16 on these, whatever it was told. */
	CHECK(error_of("\xfe\xff\0<\0s", 6) == MP_XS_UNSUPPORTED_ENCODING);
	CHECK(error_of("\xff\xfe<\0s\0", 6) == MP_XS_UNSUPPORTED_ENCODING);
	CHECK(error_of("\0<\0s", 4) == MP_XS_UNSUPPORTED_ENCODING);
	CHECK(error_of("<\0s\0", 4) == MP_XS_UNSUPPORTED_ENCODING);
	CHECK(error_of(" \0", 2) == MP_XS_UNSUPPORTED_ENCODING);
}

MP_TEST(xs_stream_level_text)
{
	char *got;

	CHECK(error_str(HDR "hello") == MP_XS_BAD_FORMAT);
	CHECK(error_str(HDR "<message/> x <message/>") == MP_XS_BAD_FORMAT);
	CHECK(error_str(HDR "&amp;") == MP_XS_BAD_FORMAT);
	CHECK(error_str(HDR "<![CDATA[x]]>") == MP_XS_BAD_FORMAT);
	CHECK(error_str(HDR " \r\n\t <message/> \n <![CDATA[ ]]> ") == -1);
	/* Text then a syntax error: the text, however split (fuzz_stream). */
	CHECK(error_str(HDR "\r\n  b>]]></x>") == MP_XS_BAD_FORMAT);
	CHECK(error_str(HDR "<a/>b</c>") == MP_XS_BAD_FORMAT);
	/* A syntax error then text: the syntax error. */
	CHECK(error_str(HDR "<a></b>text") == MP_XS_NOT_WELL_FORMED);
	got = run(HDR "<message/> x <message/>");
	/* The stanza before the text still went out, the one after did not. */
	CHECK(strstr(got, "S <message/>\nX 2\n") != NULL);
	free(got);
}

MP_TEST(xs_root_element)
{
	char *got;

	got = run("<stream xmlns='jabber:client' to='x'>");
	CHECK_STR(got, "H jabber:client|stream|jabber:client|x|-|-|-|-\nX 3\n");
	free(got);
	got = run("<stream to='x'>");
	CHECK_STR(got, "H |stream|-|x|-|-|-|-\nX 3\n");
	free(got);
	got = run("<s:stream xmlns:s='urn:other' xmlns='jabber:server'>");
	CHECK_STR(got, "H urn:other|stream|jabber:server|-|-|-|-|-\nX 3\n");
	free(got);
	got = run("<stream:features "
	    "xmlns:stream='http://etherx.jabber.org/streams'>");
	CHECK_STR(got, "H http://etherx.jabber.org/streams|features|-|-|-|-"
	    "|-|-\nX 3\n");
	free(got);
	/* An empty root is a header then the end. */
	got = run("<stream:stream xmlns:stream="
	    "'http://etherx.jabber.org/streams' xmlns='jabber:client'/>");
	CHECK_STR(got, "H http://etherx.jabber.org/streams|stream|"
	    "jabber:client|-|-|-|-|-\nE\n");
	free(got);
}

/* Feeds a stanza of big bytes in chunks; returns bytes consumed. */
static size_t
feed_big(struct col *c, const char *head, char fill, size_t total,
    size_t chunk)
{
	char *buf = mp_xmalloc(chunk);
	size_t off, n, got, sum;

	sum = mp_xmlstream_feed(c->xs, head, strlen(head));
	memset(buf, fill, chunk);
	for (off = 0; off < total; off += n) {
		n = total - off < chunk ? total - off : chunk;
		got = mp_xmlstream_feed(c->xs, buf, n);
		sum += got;
		if (got < n)
			break;
	}
	free(buf);
	return sum;
}

MP_TEST(xs_too_big)
{
	struct col c;
	size_t sum;

	/* Text: refused as soon as the limit is passed. */
	col_init(&c);
	mp_xmlstream_set_limits(c.xs, 4096, 0);
	sum = feed_big(&c, HDR "<message/><message><body>", 'a', 2 << 20,
	    4096);
	CHECK(c.errors == 1 && c.err == MP_XS_TOO_BIG);
	CHECK(c.stanzas == 1);
	CHECK(sum < sizeof(HDR) + 4096 + 100);
	col_free(&c);

	/* A huge tag that never ends, as one big write. */
	col_init(&c);
	mp_xmlstream_set_limits(c.xs, 4096, 0);
	sum = feed_big(&c, HDR "<message a='", 'b', 2 << 20, 2 << 20);
	CHECK(c.errors == 1 && c.err == MP_XS_TOO_BIG && c.stanzas == 0);
	CHECK(sum < sizeof(HDR) + 4096 + 100);
	col_free(&c);

	/* An unfinished stream header is bounded too. */
	col_init(&c);
	mp_xmlstream_set_limits(c.xs, 1024, 0);
	sum = feed_big(&c, "<stream:stream to='", 'c', 1 << 20, 100);
	CHECK(c.errors == 1 && c.err == MP_XS_TOO_BIG && c.headers == 0);
	CHECK(sum <= 1024 + 100);
	col_free(&c);
}

MP_TEST(xs_limit_exact)
{
	struct mp_buf b = MP_BUF_INIT;
	struct col c;
	size_t limit = 1000, i;

	/* A stanza of exactly limit bytes passes; one more byte fails. */
	for (i = 0; i < 2; i++) {
		mp_buf_reset(&b);
		mp_buf_puts(&b, "<m>");
		while (b.len < limit - 4 + i)
			mp_buf_putc(&b, 'x');
		mp_buf_puts(&b, "</m>");
		col_init(&c);
		mp_xmlstream_set_limits(c.xs, limit, 0);
		mp_xmlstream_feed(c.xs, HDR, strlen(HDR));
		/* Whitespace between stanzas is free. */
		mp_xmlstream_feed(c.xs, "\n\n\n\n\n", 5);
		mp_xmlstream_feed(c.xs, b.data, b.len);
		CHECK(i == 0 ? c.stanzas == 1 && c.errors == 0 :
		    c.stanzas == 0 && c.err == MP_XS_TOO_BIG);
		col_free(&c);
	}
	/* Many small stanzas with lots of whitespace around them. */
	col_init(&c);
	mp_xmlstream_set_limits(c.xs, sizeof(HDR), 0);
	mp_xmlstream_feed(c.xs, HDR, strlen(HDR));
	mp_xmlstream_set_limits(c.xs, 40, 0);
	for (i = 0; i < 1000; i++) {
		mp_xmlstream_feed(c.xs, "          ", 10);
		mp_xmlstream_feed(c.xs, "<message><body>hi</body></message>",
		    34);
	}
	CHECK(c.stanzas == 1000 && c.errors == 0);
	col_free(&c);
	mp_buf_free(&b);
}

MP_TEST(xs_default_limits)
{
	struct mp_buf b = MP_BUF_INIT;
	struct col c;
	int i;

	for (i = 0; i < 2; i++) {
		mp_buf_reset(&b);
		mp_buf_puts(&b, "<m>");
		while (b.len < 262144 - 4 + (size_t)i)
			mp_buf_putc(&b, 'x');
		mp_buf_puts(&b, "</m>");
		col_init(&c);
		mp_xmlstream_feed(c.xs, HDR, strlen(HDR));
		mp_xmlstream_feed(c.xs, b.data, b.len);
		CHECK(i == 0 ? c.stanzas == 1 && c.errors == 0 :
		    c.stanzas == 0 && c.err == MP_XS_TOO_BIG);
		col_free(&c);
	}
	for (i = 0; i < 2; i++) {
		int d;

		mp_buf_reset(&b);
		mp_buf_puts(&b, HDR "<m>");
		for (d = 0; d < 64 + i; d++)
			mp_buf_puts(&b, "<a>");
		for (d = 0; d < 64 + i; d++)
			mp_buf_puts(&b, "</a>");
		mp_buf_puts(&b, "</m>");
		CHECK(error_str(b.data) == (i == 0 ? -1 : MP_XS_TOO_DEEP));
	}
	mp_buf_free(&b);
}

MP_TEST(xs_depth)
{
	struct col c;

	col_init(&c);
	mp_xmlstream_set_limits(c.xs, 0, 3);
	mp_xmlstream_feed(c.xs, HDR "<a><b><c><d/></c></b></a>", strlen(HDR) +
	    25);
	CHECK(c.stanzas == 1 && c.errors == 0);
	mp_xmlstream_feed(c.xs, "<a><b><c><d><e/></d></c></b></a>", 32);
	CHECK(c.stanzas == 1 && c.errors == 1 && c.err == MP_XS_TOO_DEEP);
	/* Nothing more after an error. */
	CHECK(mp_xmlstream_feed(c.xs, "<a/>", 4) == 0);
	CHECK(c.stanzas == 1 && c.errors == 1);
	/* A reset revives it; the limits stay. */
	mp_xmlstream_reset(c.xs);
	CHECK(mp_xmlstream_feed(c.xs, HDR "<a><b><c><d><e/></d></c></b></a>",
	    strlen(HDR) + 32) < strlen(HDR) + 32);
	CHECK(c.headers == 2 && c.errors == 2 && c.err == MP_XS_TOO_DEEP);
	col_free(&c);
}

static const char starttls_then_more[] =
    HDR "<message/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'><message id='after'/>";

MP_TEST(xs_stop_consumed)
{
	const char *s = starttls_then_more;
	size_t len = strlen(s), stop_end, n, i, off;
	struct col c;

	stop_end = (size_t)(strstr(s, "/><stream:") - s) + 2;
	col_init(&c);
	c.stop_at_name = "starttls";
	n = mp_xmlstream_feed(c.xs, s, len);
	CHECK(n == stop_end);
	CHECK(c.stanzas == 2 && c.headers == 1);
	/* Stopped: nothing more until reset. */
	CHECK(mp_xmlstream_feed(c.xs, s + n, len - n) == 0);
	mp_xmlstream_reset(c.xs);
	c.stop_at_name = NULL;
	CHECK(mp_xmlstream_feed(c.xs, s + n, len - n) == len - n);
	CHECK(c.headers == 2 && c.stanzas == 3 && c.errors == 0);
	CHECK(strstr(c.log.data, "S <message id='after'/>") != NULL);
	col_free(&c);

	/* Every split: the stop lands at the same byte. */
	for (i = 1; i < len; i++) {
		col_init(&c);
		c.stop_at_name = "starttls";
		off = mp_xmlstream_feed(c.xs, s, i);
		if (off == i)
			off += mp_xmlstream_feed(c.xs, s + i, len - i);
		CHECK(off == stop_end);
		CHECK(c.stanzas == 2);
		col_free(&c);
	}
	/* A byte at a time: the final '>' is the last byte consumed. */
	col_init(&c);
	c.stop_at_name = "starttls";
	for (off = 0; off < len; off++)
		if (mp_xmlstream_feed(c.xs, s + off, 1) != 1)
			break;
	CHECK(off == stop_end);
	col_free(&c);
}

MP_TEST(xs_stop_end_tag)
{
	static const char s[] = HDR "<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>"
	    "<more/>";
	size_t want = sizeof(s) - 1 - 7;
	struct col c;

	col_init(&c);
	c.stop_at_name = "auth";
	/* The tail of the tag was held back before this feed. */
	CHECK(mp_xmlstream_feed(c.xs, s, want - 3) == want - 3);
	CHECK(mp_xmlstream_feed(c.xs, s + want - 3, 10) == 3);
	col_free(&c);

	/* stop() from the header callback: right after the header. */
	col_init(&c);
	c.stop_in_header = true;
	CHECK(mp_xmlstream_feed(c.xs, s, sizeof(s) - 1) == strlen(HDR));
	CHECK(c.stanzas == 0);
	col_free(&c);

	/* A reset from a callback waits for the parser to return. */
	col_init(&c);
	c.reset_in_stanza = true;
	CHECK(mp_xmlstream_feed(c.xs, s, sizeof(s) - 1) == want);
	CHECK(mp_xmlstream_feed(c.xs, HDR "<x/>", strlen(HDR) + 4) ==
	    strlen(HDR) + 4);
	CHECK(c.headers == 2 && c.stanzas == 2 && c.errors == 0);
	col_free(&c);

	/* The end of the stream is where consumption ends. */
	col_init(&c);
	CHECK(mp_xmlstream_feed(c.xs, HDR "</stream:stream>  junk", strlen(HDR)
	    + 22) == strlen(HDR) + 16);
	CHECK(c.ends == 1 && c.errors == 0);
	col_free(&c);
}

/* Records when the stanza came, in bytes fed. */
static size_t dispatched_at, fed_so_far;

static void
when_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	dispatched_at = fed_so_far;
}

MP_TEST(xs_huge_tag_bytewise)
{
	struct mp_xmlstream_cbs cbs = { .stanza = when_stanza };
	struct mp_xmlstream *xs = mp_xmlstream_new(&cbs, NULL);
	struct mp_buf b = MP_BUF_INIT;
	double t0;
	size_t i;

	mp_buf_puts(&b, HDR "<message a='");
	for (i = 0; i < 200 * 1024; i++)
		mp_buf_putc(&b, "abc>/\"<"[i % 6]);
	mp_buf_puts(&b, "' b=\"'\"/>");
	dispatched_at = 0;
	t0 = now_sec();
	for (fed_so_far = 1; fed_so_far <= b.len; fed_so_far++)
		if (mp_xmlstream_feed(xs, b.data + fed_so_far - 1, 1) != 1)
			break;
	CHECK(now_sec() - t0 < 1.0);
	CHECK(dispatched_at == b.len);
	mp_xmlstream_free(xs);

	/* Text a byte at a time is linear too. */
	xs = mp_xmlstream_new(&cbs, NULL);
	mp_buf_reset(&b);
	mp_buf_puts(&b, HDR "<message><body>");
	for (i = 0; i < 200 * 1024; i++)
		mp_buf_putc(&b, "ab &amp; c"[i % 10]);
	mp_buf_puts(&b, "</body></message>");
	dispatched_at = 0;
	t0 = now_sec();
	for (fed_so_far = 1; fed_so_far <= b.len; fed_so_far++)
		if (mp_xmlstream_feed(xs, b.data + fed_so_far - 1, 1) != 1)
			break;
	CHECK(now_sec() - t0 < 1.0);
	CHECK(dispatched_at == b.len);
	mp_xmlstream_free(xs);
	mp_buf_free(&b);
}

/* Hostile variations: same outcome however split, and never a crash. */
MP_TEST(xs_mutations)
{
	static const char pool[] = "<>&;'\"/!?-[]= a:x#\n\x80\xff";
	size_t blen = sizeof(client_stream) - 1, len, k, i, p, cw, cb, cr;
	char *s = mp_xmalloc(blen + 16), *w, *b, *r, ch;
	int iter;

	rng_state = 777;
	for (iter = 0; iter < 600; iter++) {
		memcpy(s, client_stream, blen);
		len = blen;
		k = 1 + rng() % 6;
		for (i = 0; i < k; i++) {
			p = rng() % len;
			ch = pool[rng() % (sizeof(pool) - 1)];
			switch (rng() % 3) {
			case 0:
				s[p] = ch;
				break;
			case 1:
				memmove(s + p + 1, s + p, len - p);
				s[p] = ch;
				len++;
				break;
			default:
				memmove(s + p, s + p + 1, len - p - 1);
				len--;
				break;
			}
		}
		test_limit = rng() % 2 ? 200 + rng() % 400 : 0;
		test_stop = rng() % 2 ? "iq" : NULL;
		w = run_split(s, len, WHOLE, 0, &cw);
		/* Parked between stanzas whenever possible: no difference. */
		test_trim = iter % 2;
		b = run_split(s, len, BYTES, 0, &cb);
		test_trim = false;
		r = run_split(s, len, RANDOM, 0, &cr);
		if (strcmp(w, b) != 0 || strcmp(w, r) != 0)
			fprintf(stderr, "iter %d:\n%.*s\n--whole\n%s--bytes\n%s"
			    "--random\n%s", iter, (int)len, s, w, b, r);
		CHECK(strcmp(w, b) == 0 && strcmp(w, r) == 0);
		/* Where a stop or the end left off is exact too. */
		if (strstr(w, "X ") == NULL)
			CHECK(cw == cb && cw == cr);
		free(w);
		free(b);
		free(r);
	}
	test_limit = 0;
	test_stop = NULL;
	/* The parked runs did park. */
	CHECK(test_parks > 300);
	free(s);
}

MP_TEST(xml_escape)
{
	struct mp_buf b = MP_BUF_INIT;
	const char s[] = "a&b<c>d'e\"f\ng\th\ri plain";

	mp_xml_escape(&b, s, sizeof(s) - 1, false);
	CHECK_STR(b.data, "a&amp;b&lt;c&gt;d'e\"f\ng\th&#13;i plain");
	mp_buf_reset(&b);
	mp_xml_escape(&b, s, sizeof(s) - 1, true);
	CHECK_STR(b.data, "a&amp;b&lt;c&gt;d&apos;e&quot;f&#10;g&#9;h&#13;i "
	    "plain");
	mp_buf_reset(&b);
	mp_xml_escape(&b, "", 0, true);
	CHECK(b.len == 0);
	mp_xml_escape(&b, "a\0<", 3, false);
	CHECK(b.len == 6 && memcmp(b.data, "a\0&lt;", 6) == 0);
	mp_buf_free(&b);
}

MP_TEST(xml_serialize_namespaces)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_buf b = MP_BUF_INIT;
	struct mp_node *m, *x, *y, *z;

	m = mp_node_new(a, MP_NS_CLIENT, "message");
	mp_node_set_attr(a, m, "to", "r@x/it's");
	mp_node_add_text(a, mp_node_add(a, m, NULL, "body"), "1 < 2", 5);
	x = mp_node_add(a, m, "urn:x", "x");
	y = mp_node_add(a, x, NULL, "y");
	z = mp_node_add(a, y, MP_NS_CLIENT, "z");
	mp_node_add(a, z, "", "none");
	mp_node_add(a, x, "urn:x", "y2");
	mp_node_set_attr(a, y, "urn:attr one", "1");
	mp_node_set_attr(a, y, "urn:attr two", "2");
	mp_node_set_attr(a, y, "urn:b three", "3");
	mp_node_set_attr(a, y, MP_NS_XML " space", "preserve");
	mp_node_set_attr(a, y, "xml:lang", "en");
	mp_node_set_attr(a, y, "xmlns", "urn:ignored");
	mp_xml_serialize(&b, m, MP_NS_CLIENT);
	CHECK_STR(b.data, "<message to='r@x/it&apos;s'><body>1 &lt; 2</body>"
	    "<x xmlns='urn:x'><y xmlns:ns1='urn:attr' ns1:one='1' ns1:two='2'"
	    " xmlns:ns2='urn:b' ns2:three='3' xml:space='preserve'"
	    " xml:lang='en'><z xmlns='jabber:client'><none xmlns=''/></z></y>"
	    "<y2/></x></message>");
	mp_buf_reset(&b);
	mp_xml_serialize(&b, m, NULL);
	CHECK(strncmp(b.data, "<message xmlns='jabber:client' to=", 34) == 0);
	mp_buf_reset(&b);
	mp_xml_serialize(&b, m, MP_NS_SERVER);
	CHECK(strncmp(b.data, "<message xmlns='jabber:client' to=", 34) == 0);
	/* A subtree is written in the namespace in force where it goes. */
	mp_buf_reset(&b);
	mp_xml_serialize(&b, y, "urn:x");
	CHECK(strncmp(b.data, "<y xmlns:ns1=", 13) == 0);
	mp_buf_reset(&b);
	mp_xml_serialize(&b, mp_node_first_element(z), "");
	CHECK_STR(b.data, "<none/>");
	mp_buf_free(&b);
	mp_arena_free(a);
}

/* Elements in the XML namespace keep the xml prefix (found by fuzz_roundtrip). */
MP_TEST(xml_serialize_xml_namespace)
{
	char *got;

	got = run(HDR "<message><xml:la/><xml:b xml:space='x'><c/><d "
	    "xmlns='urn:d'><xml:e/></d></xml:b></message>");
	CHECK_STR(got, "H http://etherx.jabber.org/streams|stream|"
	    "jabber:client|example.com|-|1.0|-|-\n"
	    "S <message><xml:la/><xml:b xml:space='x'><c/><d xmlns='urn:d'>"
	    "<xml:e/></d></xml:b></message>\n");
	free(got);
	/* And it parses back to the same. */
	got = run(HDR "<message><xml:la/><xml:b xml:space='x'><c/><d "
	    "xmlns='urn:d'><xml:e/></d></xml:b></message>"
	    "<message><xml:la/><xml:b xml:space='x'><c/><d xmlns='urn:d'>"
	    "<xml:e/></d></xml:b></message>");
	CHECK(strstr(got, "X ") == NULL);
	free(got);
}

/* Serializing then parsing gives back the same tree, attributes included. */
MP_TEST(xml_serialize_parse_back)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_buf b = MP_BUF_INIT, want = MP_BUF_INIT;
	struct mp_node *m, *x;
	char *got;

	m = mp_node_new(a, MP_NS_CLIENT, "message");
	mp_node_set_attr(a, m, "id", "a'b\"c<d>&e\n\tf\rg");
	mp_node_add_text(a, m, "x\r\ny&<>]]>'\"", 12);
	x = mp_node_add(a, m, "urn:x", "x");
	mp_node_set_attr(a, x, "urn:a one", "1");
	mp_node_set_attr(a, x, "urn:x two", "2");
	mp_node_set_attr(a, x, "two", "3");
	mp_buf_puts(&b, HDR);
	mp_xml_serialize(&b, m, MP_NS_CLIENT);
	mp_buf_puts(&want, "S ");
	mp_xml_serialize(&want, m, MP_NS_CLIENT);
	mp_buf_putc(&want, '\n');
	got = run(b.data);
	CHECK(strstr(got, want.data) != NULL);
	CHECK(strstr(got, "X ") == NULL);
	free(got);
	mp_buf_free(&b);
	mp_buf_free(&want);
	mp_arena_free(a);
}

MP_TEST(xml_tree_api)
{
	struct mp_arena *a = mp_arena_new(), *a2 = mp_arena_new();
	struct mp_buf b1 = MP_BUF_INIT, b2 = MP_BUF_INIT;
	struct mp_node *m, *t1, *e1, *e2, *e3, *cp, *loose;

	m = mp_node_new(a, NULL, "iq");
	CHECK_STR(m->xmlns, "");
	mp_node_add_text(a, m, "ab", 2);
	e1 = mp_node_add(a, m, "urn:q", "query");
	mp_node_add_text(a, m, "cd", 2);
	e2 = mp_node_add(a, m, NULL, "error");
	e3 = mp_node_add(a, m, "urn:q", "item");
	t1 = m->children;
	CHECK(t1->name == NULL && t1->text_len == 2);
	CHECK(mp_node_count_elements(m) == 3);
	CHECK(mp_node_first_element(m) == e1);
	CHECK(mp_node_next_element(e1) == e2);
	CHECK(mp_node_next_element(e3) == NULL);
	CHECK(mp_node_child(m, "urn:q", NULL) == e1);
	CHECK(mp_node_child(m, "urn:q", "item") == e3);
	CHECK(mp_node_child(m, NULL, "error") == e2);
	CHECK(mp_node_child(m, "", "error") == e2);
	CHECK(mp_node_child(m, "urn:x", NULL) == NULL);
	CHECK_STR(mp_node_text(a, m), "abcd");
	CHECK_STR(mp_node_text(a, e1), "");

	CHECK(mp_node_attr(m, "type") == NULL);
	mp_node_set_attr(a, m, "type", "get");
	mp_node_set_attr(a, m, "id", "1");
	mp_node_set_attr(a, m, "type", "set");
	CHECK_STR(mp_node_attr(m, "type"), "set");
	CHECK_STR(m->attrs->name, "type");
	mp_node_set_attr(a, m, "type", NULL);
	CHECK(mp_node_attr(m, "type") == NULL);
	CHECK_STR(m->attrs->name, "id");
	mp_node_set_attr(a, m, "nothere", NULL);

	cp = mp_node_copy(a2, m);
	mp_xml_serialize(&b1, m, "");
	mp_xml_serialize(&b2, cp, "");
	CHECK_STR(b1.data, b2.data);
	CHECK(cp->children->parent == cp && cp->last->name != NULL);
	/* The copy shares nothing with the original. */
	mp_node_set_attr(a2, cp, "id", "2");
	CHECK_STR(mp_node_attr(m, "id"), "1");
	mp_node_remove(e3);
	CHECK(m->last->name == NULL || m->last == e2);
	CHECK(m->last == e2 && e2->next == NULL && e3->parent == NULL);
	mp_node_remove(t1);
	CHECK(m->children == e1);
	mp_node_remove(e2);
	CHECK(m->last->name == NULL && m->last->next == NULL);
	mp_node_remove(e2);	/* already loose: nothing happens */
	loose = mp_node_new(a2, "urn:q", "item");
	mp_node_append(m, loose);
	CHECK(m->last == loose && loose->parent == m);
	mp_buf_reset(&b1);
	mp_xml_serialize(&b1, m, "");
	CHECK_STR(b1.data, "<iq id='1'><query xmlns='urn:q'/>cd"
	    "<item xmlns='urn:q'/></iq>");
	mp_buf_reset(&b2);
	mp_xml_serialize(&b2, cp, "");
	CHECK_STR(b2.data, "<iq id='2'>ab<query xmlns='urn:q'/>cd<error/>"
	    "<item xmlns='urn:q'/></iq>");
	/* A subtree copy stands alone. */
	cp = mp_node_copy(a2, e1);
	CHECK(cp->parent == NULL && cp->next == NULL);
	mp_buf_free(&b1);
	mp_buf_free(&b2);
	mp_arena_free(a);
	mp_arena_free(a2);
}

/* A deep tree is copied and written without recursion. */
MP_TEST(xml_deep_tree)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_buf b = MP_BUF_INIT;
	struct mp_node *root, *n, *cp;
	int i;

	root = n = mp_node_new(a, "urn:d", "d");
	for (i = 0; i < 200000; i++)
		n = mp_node_add(a, n, NULL, "d");
	cp = mp_node_copy(a, root);
	mp_xml_serialize(&b, cp, "urn:d");
	CHECK(b.len == 200001 * 7 - 3);
	CHECK(strncmp(b.data, "<d><d>", 6) == 0);
	CHECK(strcmp(b.data + b.len - 8, "</d></d>") == 0);
	mp_buf_free(&b);
	mp_arena_free(a);
}
