/* glue.h - the parts of mod_mam that speak XMPP: module state and handlers. */
#ifndef MAM_GLUE_H
#define MAM_GLUE_H

#include <magpie/module.h>

#include "mam.h"

/* XEP-0441 default archiving policies, as stored. */
enum mam_default {
	MAM_DEFAULT_ALWAYS = 'a',
	MAM_DEFAULT_NEVER = 'n',
	MAM_DEFAULT_ROSTER = 'r',
};

/* Set by mod_mam.c when it loads. */
extern struct mam_dbs mam_dbs;
extern long mam_max_page;
extern enum mam_default mam_default_policy;

/* query.c */
enum mp_verdict	mam_query_iq(struct mp_event *ev, void *arg);
enum mp_verdict	mam_form_iq(struct mp_event *ev, void *arg);
enum mp_verdict	mam_metadata_iq(struct mp_event *ev, void *arg);

/* prefs.c */
/* "always", "never" or "roster"; 0 or -1. */
int	mam_default_parse(const char *s, enum mam_default *d_r);
enum mp_verdict	mam_prefs_get_iq(struct mp_event *ev, void *arg);
enum mp_verdict	mam_prefs_set_iq(struct mp_event *ev, void *arg);
/*
 * Whether the user's preferences let a message with target (the 'to' of an
 * outgoing, the 'from' of an incoming message) into the archive. A storage
 * error archives (keeping too much beats losing silently).
 */
bool	mam_prefs_allow(struct mp_arena *a, const char *bare,
	    const struct mp_jid *target);

#endif
