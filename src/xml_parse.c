/* xml_parse.c - parses one stored element back into a tree (modules keep stanzas as XML). */
#include <string.h>

#include <magpie/module.h>

#include "xmlstream.h"

struct parse_ctx {
	struct mp_arena	*arena;
	struct mp_node	*node;
	int		 count;
	int		 failed;
};

static void
parse_header(void *ctx, const struct mp_stream_header *h)
{
}

static void
parse_stanza(void *ctx, struct mp_node *n, struct mp_arena *a)
{
	struct parse_ctx *p = ctx;

	if (p->count++ == 0)
		p->node = mp_node_copy(p->arena, n);
}

static void
parse_end(void *ctx)
{
}

static void
parse_error(void *ctx, enum mp_xs_error err, const char *detail)
{
	((struct parse_ctx *)ctx)->failed = 1;
}

static const struct mp_xmlstream_cbs parse_cbs = {
	.header = parse_header,
	.stanza = parse_stanza,
	.end = parse_end,
	.error = parse_error,
};

struct mp_node *
mp_xml_parse(struct mp_arena *a, const char *xml, size_t len,
    const char *default_ns)
{
	static const char open1[] = "<stream:stream xmlns:stream='"
	    MP_NS_STREAMS "' xmlns='";
	struct parse_ctx p = { .arena = a };
	struct mp_xmlstream *xs = mp_xmlstream_new(&parse_cbs, &p);

	/* Stored data was ours: the stanza limit only guards memory here. */
	mp_xmlstream_set_limits(xs, len + 1024, 1024);
	mp_xmlstream_feed(xs, open1, sizeof(open1) - 1);
	mp_xmlstream_feed(xs, default_ns, strlen(default_ns));
	mp_xmlstream_feed(xs, "'>", 2);
	mp_xmlstream_feed(xs, xml, len);
	mp_xmlstream_free(xs);
	if (p.failed || p.count != 1)
		return NULL;
	return p.node;
}
