/* fuzz_roundtrip.c - libFuzzer target: parse, serialize, parse again must give the same tree. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/log.h>
#include <magpie/xml.h>

#include "xmlstream.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Byte 0: bit 0 set, the rest is one element for mp_xml_parse(); clear,
 * the rest follows a c2s stream header and every stanza is checked.
 */
#define RT_HEADER	"<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' " \
	"version='1.0'>"

static void
rt_die(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_roundtrip: %s\n--- first:\n%s\n--- second:\n"
	    "%s\n", what, a ? a : "(null)", b ? b : "(null)");
	abort();
}

static char *
rt_ser(struct mp_arena *a, const struct mp_node *n, const char *ns)
{
	struct mp_buf b = MP_BUF_INIT;
	char *s;

	mp_xml_serialize(&b, n, ns);
	s = mp_arena_strndup(a, b.data != NULL ? b.data : "", b.len);
	mp_buf_free(&b);
	return s;
}

/* What was parsed once must survive any number of trips unchanged. */
static void
rt_check(const struct mp_node *st)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_node *t, *u, *c;
	char *s1, *s2, *s3, *s4, *s5;

	s1 = rt_ser(a, st, MP_NS_CLIENT);
	if ((t = mp_xml_parse(a, s1, strlen(s1), MP_NS_CLIENT)) == NULL)
		rt_die("serialized stanza does not parse", s1, NULL);
	s2 = rt_ser(a, t, MP_NS_CLIENT);
	if (strcmp(s1, s2) != 0)
		rt_die("parse(serialize(x)) differs", s1, s2);
	/* Written for another default namespace, read back there. */
	s3 = rt_ser(a, st, MP_NS_SERVER);
	if ((u = mp_xml_parse(a, s3, strlen(s3), MP_NS_SERVER)) == NULL)
		rt_die("serialized under jabber:server does not parse", s3,
		    NULL);
	s4 = rt_ser(a, u, MP_NS_CLIENT);
	if (strcmp(s1, s4) != 0)
		rt_die("jabber:server trip differs", s1, s4);
	c = mp_node_copy(a, st);
	s5 = rt_ser(a, c, MP_NS_CLIENT);
	if (strcmp(s1, s5) != 0)
		rt_die("mp_node_copy differs", s1, s5);
	mp_arena_free(a);
}

static void
rt_stanza(void *ctx, struct mp_node *st, struct mp_arena *a)
{
	rt_check(st);
}

static void
rt_header(void *ctx, const struct mp_stream_header *h)
{
}

static void
rt_end(void *ctx)
{
}

static void
rt_error(void *ctx, enum mp_xs_error err, const char *detail)
{
}

static const struct mp_xmlstream_cbs rt_cbs = {
	.header = rt_header,
	.stanza = rt_stanza,
	.end = rt_end,
	.error = rt_error,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mp_log_set_level(MP_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_xmlstream *xs;
	struct mp_arena *a;
	struct mp_node *n;
	char *copy;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		a = mp_arena_new();
		/* Exactly sized, so that reading past the end shows. */
		copy = mp_xmalloc(size > 1 ? size - 1 : 1);
		memcpy(copy, data + 1, size - 1);
		n = mp_xml_parse(a, copy, size - 1,
		    data[0] & 2 ? MP_NS_SERVER : MP_NS_CLIENT);
		if (n != NULL)
			rt_check(n);
		free(copy);
		mp_arena_free(a);
		return 0;
	}
	xs = mp_xmlstream_new(&rt_cbs, NULL);
	mp_xmlstream_set_limits(xs, 65536, 64);
	if (mp_xmlstream_feed(xs, RT_HEADER, sizeof(RT_HEADER) - 1) ==
	    sizeof(RT_HEADER) - 1)
		mp_xmlstream_feed(xs, (const char *)data + 1, size - 1);
	mp_xmlstream_free(xs);
	return 0;
}
