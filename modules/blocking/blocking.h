/* blocking.h - what the files of the blocking module (XEP-0191) share. */
#ifndef MAGPIE_MODULES_BLOCKING_H
#define MAGPIE_MODULES_BLOCKING_H

#include <stdbool.h>

#include <magpie/module.h>

#define NS_BLOCKING		"urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS	"urn:xmpp:blocking:errors"

/*
 * The longest key the store takes: LMDB's default limit of 511 bytes. The
 * store API does not tell it, so longer JIDs are refused before storing.
 */
#define BLOCKING_KEY_MAX	511

/* The module's config section, `blocking = { ... };`. */
struct blocking_conf {
	long	 max_items;		/* blocked JIDs per user */
	bool	 bounce_messages;	/* inbound messages get an error */
};

/* Set once in load(); the whole module runs on the server's one thread. */
extern struct mp_module_ctx *blocking_mc;
extern struct blocking_conf blocking_cf;

/* list.c: the stored blocklist, "<bare>\0<prepared blocked JID>". */
int	 blocking_list_open(const char **error_r);
/*
 * Whether user (a bare JID string) blocks j by the rules of XEP-0191
 * "JID Matching": 1 blocked, 0 not, -1 on a storage error.
 */
int	 blocking_list_blocks(const char *user, const struct mp_jid *j);
/* Appends an <item jid=''/> to parent per stored JID; 0 or -1. */
int	 blocking_list_items(struct mp_arena *a, const char *user,
	    struct mp_node *parent, const char **error_r);
/*
 * Adds the n prepared JIDs; added_r[i] tells which were new. Returns 0,
 * -1 with *full_r set when the user would hold more than max items, or
 * -1 with error_r on a storage error.
 */
int	 blocking_list_add(const char *user, const char *const *jids,
	    size_t n, long max, bool *added_r, bool *full_r,
	    const char **error_r);
/* Removes the n JIDs, or every one when jids is NULL; 0 or -1. */
int	 blocking_list_remove(const char *user, const char *const *jids,
	    size_t n, const char **error_r);

/* command.c: the iq handlers of the protocol. */
int	 blocking_command_hooks(struct mp_module_ctx *mc,
	    const char **error_r);
/* enforce.c: the policy hooks on routed stanzas. */
int	 blocking_enforce_hooks(struct mp_module_ctx *mc,
	    const char **error_r);
/*
 * Routes a stanza that the outbound check must let through (the
 * unavailable presence XEP-0191 "User Blocks Contact" sends at block time).
 */
void	 blocking_enforce_route_exempt(struct mp_node *stanza);

#endif
