/* xml.h - the stanza tree: elements, attributes and text, all in one arena. */
#ifndef MAGPIE_XML_H
#define MAGPIE_XML_H

#include <stdbool.h>
#include <stddef.h>

struct mp_arena;
struct mp_buf;

#define MP_NS_CLIENT	"jabber:client"
#define MP_NS_SERVER	"jabber:server"
#define MP_NS_STREAMS	"http://etherx.jabber.org/streams"
#define MP_NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define MP_NS_XSTREAMS	"urn:ietf:params:xml:ns:xmpp-streams"
#define MP_NS_TLS	"urn:ietf:params:xml:ns:xmpp-tls"
#define MP_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
#define MP_NS_BIND	"urn:ietf:params:xml:ns:xmpp-bind"
#define MP_NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"
#define MP_NS_XML	"http://www.w3.org/XML/1998/namespace"

/*
 * An attribute. Names of attributes in no namespace are plain ("type");
 * xml:lang is "xml:lang"; any other namespaced attribute is
 * "<namespace-uri> <local-name>" (one space), and the serializer declares a
 * prefix for it.
 */
struct mp_attr {
	const char	*name;
	const char	*value;
	struct mp_attr	*next;
};

/* An element (name != NULL) or a text node (name == NULL). */
struct mp_node {
	const char	*name;		/* local name */
	const char	*xmlns;		/* namespace URI, "" for none */
	struct mp_attr	*attrs;		/* in document order */
	struct mp_node	*parent;
	struct mp_node	*children;	/* first child */
	struct mp_node	*last;		/* last child */
	struct mp_node	*next;		/* next sibling */
	const char	*text;		/* text node: unescaped UTF-8 */
	size_t		 text_len;
};

/* A new element without parent; strings are copied into the arena. */
struct mp_node	*mp_node_new(struct mp_arena *a, const char *xmlns,
		    const char *name);
/* A new child element; xmlns NULL means the parent's namespace. */
struct mp_node	*mp_node_add(struct mp_arena *a, struct mp_node *parent,
		    const char *xmlns, const char *name);
/* Appends text (copied; adjacent text nodes are not merged). */
void		 mp_node_add_text(struct mp_arena *a, struct mp_node *parent,
		    const char *text, size_t len);
/* Links a parentless node (from any arena that outlives parent's use). */
void		 mp_node_append(struct mp_node *parent, struct mp_node *child);
/* Unlinks a node from its parent. */
void		 mp_node_remove(struct mp_node *child);

/* The attribute's value, or NULL. */
const char	*mp_node_attr(const struct mp_node *n, const char *name);
/* Sets (copying both strings), replaces, or with value NULL removes. */
void		 mp_node_set_attr(struct mp_arena *a, struct mp_node *n,
		    const char *name, const char *value);

/* The first child element matching; NULL xmlns or name matches any. */
struct mp_node	*mp_node_child(const struct mp_node *n, const char *xmlns,
		    const char *name);
/* The first element child, and the next element sibling after c. */
struct mp_node	*mp_node_first_element(const struct mp_node *n);
struct mp_node	*mp_node_next_element(const struct mp_node *c);
unsigned	 mp_node_count_elements(const struct mp_node *n);
/* The concatenated text of n's direct text children, in the arena ("" if none). */
char		*mp_node_text(struct mp_arena *a, const struct mp_node *n);
/* A deep copy into another arena. */
struct mp_node	*mp_node_copy(struct mp_arena *a, const struct mp_node *n);

/*
 * Appends n as XML to b. parent_xmlns is the default namespace in force
 * where n is written (e.g. "jabber:client" inside a c2s stream); an xmlns
 * attribute is written only where the namespace changes.
 */
void		 mp_xml_serialize(struct mp_buf *b, const struct mp_node *n,
		    const char *parent_xmlns);
/*
 * Parses exactly one element (as mp_xml_serialize wrote it, with
 * parent_xmlns default_ns) into the arena; NULL when it is not that.
 */
struct mp_node	*mp_xml_parse(struct mp_arena *a, const char *xml, size_t len,
		    const char *default_ns);
/* Escapes &, <, > (and ' and " when attr is true). */
void		 mp_xml_escape(struct mp_buf *b, const char *s, size_t len,
		    bool attr);

#endif
