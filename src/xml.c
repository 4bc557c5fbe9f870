/* xml.c - the stanza tree, held in one arena, and its serializer. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/xml.h>

/* Bytes that need an entity in text, and in attribute values. */
static const unsigned char xml_esc_text[256] = {
	['&'] = 1, ['<'] = 1, ['>'] = 1,
	/* A literal CR would come back as LF after line-end normalization. */
	['\r'] = 1,
};
static const unsigned char xml_esc_attr[256] = {
	['&'] = 1, ['<'] = 1, ['>'] = 1, ['\r'] = 1, ['\''] = 1, ['"'] = 1,
	/* Attribute value normalization would turn these into spaces. */
	['\n'] = 1, ['\t'] = 1,
};

static bool
xml_ns_equal(const char *a, const char *b)
{
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	return a == b || strcmp(a, b) == 0;
}

/*
 * Child nodes share their parent's namespace string when it is the same,
 * which saves arena space and lets the serializer compare pointers.
 */
static const char *
xml_ns_for(struct mp_arena *a, const struct mp_node *parent, const char *xmlns)
{
	if (xmlns == NULL)
		return parent != NULL && parent->xmlns != NULL ? parent->xmlns :
		    "";
	if (parent != NULL && xml_ns_equal(parent->xmlns, xmlns))
		return parent->xmlns != NULL ? parent->xmlns : "";
	if (*xmlns == '\0')
		return "";
	return mp_arena_strdup(a, xmlns);
}

struct mp_node *
mp_node_new(struct mp_arena *a, const char *xmlns, const char *name)
{
	struct mp_node *n = mp_arena_alloc(a, sizeof(*n));

	n->name = mp_arena_strdup(a, name);
	n->xmlns = xml_ns_for(a, NULL, xmlns);
	return n;
}

void
mp_node_append(struct mp_node *parent, struct mp_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last != NULL)
		parent->last->next = child;
	else
		parent->children = child;
	parent->last = child;
}

struct mp_node *
mp_node_add(struct mp_arena *a, struct mp_node *parent, const char *xmlns,
    const char *name)
{
	struct mp_node *n = mp_arena_alloc(a, sizeof(*n));

	n->name = mp_arena_strdup(a, name);
	n->xmlns = xml_ns_for(a, parent, xmlns);
	mp_node_append(parent, n);
	return n;
}

void
mp_node_add_text(struct mp_arena *a, struct mp_node *parent, const char *text,
    size_t len)
{
	struct mp_node *n = mp_arena_alloc(a, sizeof(*n));

	n->text = mp_arena_strndup(a, text, len);
	n->text_len = len;
	mp_node_append(parent, n);
}

void
mp_node_remove(struct mp_node *child)
{
	struct mp_node *p = child->parent, *c, *prev = NULL;

	if (p == NULL)
		return;
	for (c = p->children; c != NULL && c != child; c = c->next)
		prev = c;
	if (c == NULL)
		return;
	if (prev != NULL)
		prev->next = child->next;
	else
		p->children = child->next;
	if (p->last == child)
		p->last = prev;
	child->parent = NULL;
	child->next = NULL;
}

const char *
mp_node_attr(const struct mp_node *n, const char *name)
{
	const struct mp_attr *at;

	if (n == NULL)
		return NULL;
	for (at = n->attrs; at != NULL; at = at->next)
		if (strcmp(at->name, name) == 0)
			return at->value;
	return NULL;
}

void
mp_node_set_attr(struct mp_arena *a, struct mp_node *n, const char *name,
    const char *value)
{
	struct mp_attr *at, *prev = NULL;

	for (at = n->attrs; at != NULL; prev = at, at = at->next)
		if (strcmp(at->name, name) == 0)
			break;
	if (value == NULL) {
		if (at == NULL)
			return;
		if (prev != NULL)
			prev->next = at->next;
		else
			n->attrs = at->next;
		return;
	}
	if (at != NULL) {
		at->value = mp_arena_strdup(a, value);
		return;
	}
	at = mp_arena_alloc(a, sizeof(*at));
	at->name = mp_arena_strdup(a, name);
	at->value = mp_arena_strdup(a, value);
	if (prev != NULL)
		prev->next = at;
	else
		n->attrs = at;
}

struct mp_node *
mp_node_child(const struct mp_node *n, const char *xmlns, const char *name)
{
	struct mp_node *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next) {
		if (c->name == NULL)
			continue;
		if (name != NULL && strcmp(c->name, name) != 0)
			continue;
		if (xmlns != NULL && !xml_ns_equal(c->xmlns, xmlns))
			continue;
		return c;
	}
	return NULL;
}

struct mp_node *
mp_node_first_element(const struct mp_node *n)
{
	struct mp_node *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL && c->name == NULL; c = c->next)
		;
	return c;
}

struct mp_node *
mp_node_next_element(const struct mp_node *c)
{
	struct mp_node *s;

	if (c == NULL)
		return NULL;
	for (s = c->next; s != NULL && s->name == NULL; s = s->next)
		;
	return s;
}

unsigned
mp_node_count_elements(const struct mp_node *n)
{
	const struct mp_node *c;
	unsigned count = 0;

	if (n == NULL)
		return 0;
	for (c = n->children; c != NULL; c = c->next)
		if (c->name != NULL)
			count++;
	return count;
}

char *
mp_node_text(struct mp_arena *a, const struct mp_node *n)
{
	const struct mp_node *c;
	size_t len = 0;
	char *s, *p;

	if (n == NULL)
		return mp_arena_strdup(a, "");
	for (c = n->children; c != NULL; c = c->next)
		if (c->name == NULL)
			len += c->text_len;
	s = p = mp_arena_alloc(a, len + 1);
	for (c = n->children; c != NULL; c = c->next)
		if (c->name == NULL && c->text_len > 0) {
			memcpy(p, c->text, c->text_len);
			p += c->text_len;
		}
	*p = '\0';
	return s;
}

/* Copies one node without its children. */
static struct mp_node *
xml_copy_one(struct mp_arena *a, const struct mp_node *n,
    const struct mp_node *new_parent)
{
	struct mp_node *c = mp_arena_alloc(a, sizeof(*c));
	const struct mp_attr *at;
	struct mp_attr *nat, **tail = &c->attrs;

	if (n->name == NULL) {
		c->text = mp_arena_strndup(a, n->text != NULL ? n->text : "",
		    n->text_len);
		c->text_len = n->text_len;
		return c;
	}
	c->name = mp_arena_strdup(a, n->name);
	c->xmlns = xml_ns_for(a, new_parent, n->xmlns != NULL ? n->xmlns : "");
	for (at = n->attrs; at != NULL; at = at->next) {
		nat = mp_arena_alloc(a, sizeof(*nat));
		nat->name = mp_arena_strdup(a, at->name);
		nat->value = mp_arena_strdup(a, at->value);
		*tail = nat;
		tail = &nat->next;
	}
	return c;
}

/* Iterative, so that a deep tree cannot exhaust the stack. */
struct mp_node *
mp_node_copy(struct mp_arena *a, const struct mp_node *n)
{
	const struct mp_node *s;
	struct mp_node *root, *dp, *d;

	if (n == NULL)
		return NULL;
	root = xml_copy_one(a, n, NULL);
	dp = root;
	s = n->children;
	while (s != NULL) {
		d = xml_copy_one(a, s, dp);
		mp_node_append(dp, d);
		if (s->children != NULL) {
			dp = d;
			s = s->children;
			continue;
		}
		while (s->next == NULL) {
			s = s->parent;
			dp = dp->parent;
			if (s == n || s == NULL)
				return root;
		}
		s = s->next;
	}
	return root;
}

void
mp_xml_escape(struct mp_buf *b, const char *s, size_t len, bool attr)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *tbl = attr ? xml_esc_attr : xml_esc_text;
	size_t i = 0, start;
	const char *rep;

	for (;;) {
		start = i;
		while (i < len && tbl[p[i]] == 0)
			i++;
		if (i > start)
			mp_buf_append(b, s + start, i - start);
		if (i == len)
			return;
		switch (p[i++]) {
		case '&':	rep = "&amp;"; break;
		case '<':	rep = "&lt;"; break;
		case '>':	rep = "&gt;"; break;
		case '\'':	rep = "&apos;"; break;
		case '"':	rep = "&quot;"; break;
		case '\n':	rep = "&#10;"; break;
		case '\t':	rep = "&#9;"; break;
		default:	rep = "&#13;"; break;
		}
		mp_buf_puts(b, rep);
	}
}

static void
xml_put_attr_value(struct mp_buf *b, const char *v)
{
	mp_buf_append(b, "='", 2);
	mp_xml_escape(b, v, strlen(v), true);
	mp_buf_putc(b, '\'');
}

/*
 * Writes the attributes. Namespaced ones ("<uri> <local>") get a prefix
 * declared on this element; a run of attributes in one namespace shares it.
 * Namespace declarations given as attributes are skipped: the element's
 * namespace comes from its xmlns field alone.
 */
static void
xml_put_attrs(struct mp_buf *b, const struct mp_node *e)
{
	const struct mp_attr *at;
	const char *sp, *last_uri = NULL;
	size_t last_len = 0, ulen;
	unsigned prefix = 0;
	char pfx[24];
	int plen = 0;

	for (at = e->attrs; at != NULL; at = at->next) {
		sp = strchr(at->name, ' ');
		if (sp == NULL || sp == at->name) {
			if (strcmp(at->name, "xmlns") == 0 ||
			    strncmp(at->name, "xmlns:", 6) == 0)
				continue;
			mp_buf_putc(b, ' ');
			mp_buf_puts(b, sp == NULL ? at->name : sp + 1);
			xml_put_attr_value(b, at->value);
			continue;
		}
		ulen = (size_t)(sp - at->name);
		if (ulen == sizeof(MP_NS_XML) - 1 &&
		    memcmp(at->name, MP_NS_XML, ulen) == 0) {
			mp_buf_append(b, " xml:", 5);
			mp_buf_puts(b, sp + 1);
			xml_put_attr_value(b, at->value);
			continue;
		}
		if (last_uri == NULL || last_len != ulen ||
		    memcmp(last_uri, at->name, ulen) != 0) {
			plen = snprintf(pfx, sizeof(pfx), "ns%u", ++prefix);
			mp_buf_append(b, " xmlns:", 7);
			mp_buf_append(b, pfx, (size_t)plen);
			mp_buf_append(b, "='", 2);
			mp_xml_escape(b, at->name, ulen, true);
			mp_buf_putc(b, '\'');
			last_uri = at->name;
			last_len = ulen;
		}
		mp_buf_putc(b, ' ');
		mp_buf_append(b, pfx, (size_t)plen);
		mp_buf_putc(b, ':');
		mp_buf_puts(b, sp + 1);
		xml_put_attr_value(b, at->value);
	}
}

/*
 * The XML namespace is bound to "xml" and nothing else may be (Namespaces
 * in XML 1.0, section 3): its elements are written "xml:name" and leave the
 * default namespace as it was.
 */
static bool
xml_is_xml_ns(const char *ns)
{
	return ns != NULL && strcmp(ns, MP_NS_XML) == 0;
}

static void
xml_put_name(struct mp_buf *b, const struct mp_node *e)
{
	if (xml_is_xml_ns(e->xmlns))
		mp_buf_append(b, "xml:", 4);
	mp_buf_puts(b, e->name);
}

/* The default namespace in force where e is written. */
static const char *
xml_in_force(const struct mp_node *e, const struct mp_node *top,
    const char *top_in_force)
{
	const struct mp_node *p;

	if (e == top)
		return top_in_force;
	for (p = e->parent;; p = p->parent) {
		if (!xml_is_xml_ns(p->xmlns))
			return p->xmlns;
		if (p == top)
			return top_in_force;
	}
}

static void
xml_open_tag(struct mp_buf *b, const struct mp_node *e, const char *in_force)
{
	const char *ns = e->xmlns != NULL ? e->xmlns : "";

	mp_buf_putc(b, '<');
	xml_put_name(b, e);
	if (!xml_is_xml_ns(ns) && !xml_ns_equal(ns, in_force)) {
		mp_buf_append(b, " xmlns='", 8);
		mp_xml_escape(b, ns, strlen(ns), true);
		mp_buf_putc(b, '\'');
	}
	xml_put_attrs(b, e);
}

/* Iterative; inside an element, its own namespace is the one in force. */
void
mp_xml_serialize(struct mp_buf *b, const struct mp_node *n,
    const char *parent_xmlns)
{
	const struct mp_node *e;

	if (n == NULL)
		return;
	e = n;
	for (;;) {
		if (e->name == NULL) {
			if (e->text_len > 0)
				mp_xml_escape(b, e->text, e->text_len, false);
		} else {
			xml_open_tag(b, e, xml_in_force(e, n, parent_xmlns));
			if (e->children != NULL) {
				mp_buf_putc(b, '>');
				e = e->children;
				continue;
			}
			mp_buf_append(b, "/>", 2);
		}
		while (e != n && e->next == NULL) {
			e = e->parent;
			mp_buf_append(b, "</", 2);
			xml_put_name(b, e);
			mp_buf_putc(b, '>');
		}
		if (e == n)
			break;
		e = e->next;
	}
}
