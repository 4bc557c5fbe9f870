/* prefs.c - XEP-0441 preferences: stored per user, used per message. */
#include <string.h>

#include <magpie/roster.h>

#include "glue.h"

#define PREFS_MAX_JIDS	1000	/* per list */

/* Stored as the default's letter, then 'A' or 'N', a JID and a NUL each. */
struct prefs {
	enum mam_default def;
	const char	**always;
	size_t		 nalways;
	const char	**never;
	size_t		 nnever;
};

static const struct mp_error prefs_errors[] = {
	{ MP_ERR_MODIFY, "bad-request",
	    "default must be always, never or roster", NULL, NULL },
	{ MP_ERR_MODIFY, "not-acceptable", "Too many JIDs in a list", NULL,
	    NULL },
};

static const char *
prefs_default_name(enum mam_default d)
{
	switch (d) {
	case MAM_DEFAULT_NEVER:
		return "never";
	case MAM_DEFAULT_ROSTER:
		return "roster";
	default:
		return "always";
	}
}

int
mam_default_parse(const char *s, enum mam_default *d_r)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "always") == 0)
		*d_r = MAM_DEFAULT_ALWAYS;
	else if (strcmp(s, "never") == 0)
		*d_r = MAM_DEFAULT_NEVER;
	else if (strcmp(s, "roster") == 0)
		*d_r = MAM_DEFAULT_ROSTER;
	else
		return -1;
	return 0;
}

static void
prefs_push(struct mp_arena *a, const char ***list, size_t *n, const char *jid)
{
	const char **grown = mp_arena_alloc(a, (*n + 1) * sizeof(*grown));

	if (*n > 0)
		memcpy(grown, *list, *n * sizeof(*grown));
	grown[(*n)++] = mp_arena_strdup(a, jid);
	*list = grown;
}

/* A stored value into p; a damaged value gives what could be read. */
static void
prefs_decode(struct mp_arena *a, const struct mp_val *v, struct prefs *p)
{
	const char *s = v->data, *end = s + v->len;

	if (v->len == 0)
		return;
	switch (*s) {
	case MAM_DEFAULT_ALWAYS:
	case MAM_DEFAULT_NEVER:
	case MAM_DEFAULT_ROSTER:
		p->def = (enum mam_default)*s++;
		break;
	default:
		return;
	}
	while (s < end) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));
		char kind = *s++;
		char *jid;

		if (nul == NULL || nul < s)
			break;
		jid = mp_arena_strndup(a, s, (size_t)(nul - s));
		if (kind == 'A')
			prefs_push(a, &p->always, &p->nalways, jid);
		else if (kind == 'N')
			prefs_push(a, &p->never, &p->nnever, jid);
		s = nul + 1;
	}
}

/* 0 (p filled, the configured default when nothing is stored) or -1. */
static int
prefs_load(struct mp_arena *a, const char *bare, struct prefs *p,
    const char **error_r)
{
	struct mp_txn *txn;
	struct mp_val v;
	int rc;

	memset(p, 0, sizeof(*p));
	p->def = mam_default_policy;
	if (mp_txn_read(mam_dbs.store, &txn, error_r) == -1)
		return -1;
	rc = mp_txn_get(txn, mam_dbs.prefs, bare, strlen(bare), &v);
	if (rc == 1)
		prefs_decode(a, &v, p);
	mp_txn_abort(txn);
	if (rc == -1)
		*error_r = "read failed";
	return rc == -1 ? -1 : 0;
}

struct prefs_put {
	const char	*bare;
	struct mp_buf	 value;
};

static int
prefs_put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct prefs_put *pp = arg;

	if (mp_txn_put(txn, mam_dbs.prefs, pp->bare, strlen(pp->bare),
	    pp->value.data, pp->value.len) == -1) {
		*error_r = "write failed";
		return -1;
	}
	return 0;
}

static int
prefs_store(const char *bare, const struct prefs *p, const char **error_r)
{
	struct prefs_put pp = { .bare = bare, .value = MP_BUF_INIT };
	int rc;

	mp_buf_putc(&pp.value, (char)p->def);
	for (size_t i = 0; i < p->nalways; i++) {
		mp_buf_putc(&pp.value, 'A');
		mp_buf_append(&pp.value, p->always[i],
		    strlen(p->always[i]) + 1);
	}
	for (size_t i = 0; i < p->nnever; i++) {
		mp_buf_putc(&pp.value, 'N');
		mp_buf_append(&pp.value, p->never[i], strlen(p->never[i]) + 1);
	}
	rc = mp_store_write(mam_dbs.store, prefs_put_fn, &pp, error_r);
	mp_buf_free(&pp.value);
	return rc;
}

/* XEP-0441 JID matching: a listed full JID as is, a bare one any resource. */
static bool
prefs_listed(struct mp_arena *a, const char *const *list, size_t n,
    const struct mp_jid *target)
{
	const char *full = mp_jid_full(a, target), *bare = mp_jid_bare(a,
	    target);

	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], strchr(list[i], '/') != NULL ? full :
		    bare) == 0)
			return true;
	return false;
}

bool
mam_prefs_allow(struct mp_arena *a, const char *bare,
    const struct mp_jid *target)
{
	const struct mp_roster_api *roster;
	struct mp_roster_state st;
	struct prefs p;
	const char *err;

	if (prefs_load(a, bare, &p, &err) == -1) {
		mp_log_warnx("%s: archiving preferences unreadable: %s", bare,
		    err);
		return true;
	}
	/* Never wins: a JID on both lists is not archived. */
	if (prefs_listed(a, p.never, p.nnever, target))
		return false;
	if (prefs_listed(a, p.always, p.nalways, target))
		return true;
	switch (p.def) {
	case MAM_DEFAULT_NEVER:
		return false;
	case MAM_DEFAULT_ROSTER:
		roster = mp_provider(MP_ROSTER_PROVIDER);
		if (roster == NULL || roster->state == NULL)
			return false;
		return roster->state(bare, mp_jid_bare(a, target), &st) == 1 &&
		    st.listed;
	default:
		return true;
	}
}

static void
prefs_list_xml(struct mp_arena *a, struct mp_node *prefs, const char *name,
    const char *const *list, size_t n)
{
	struct mp_node *l = mp_node_add(a, prefs, NULL, name);

	for (size_t i = 0; i < n; i++)
		mp_node_add_text(a, mp_node_add(a, l, NULL, "jid"), list[i],
		    strlen(list[i]));
}

static void
prefs_reply(struct mp_event *ev, const struct prefs *p)
{
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *x = mp_node_add(ev->arena, iq, NS_MAM, "prefs");

	mp_node_set_attr(ev->arena, x, "default", prefs_default_name(p->def));
	prefs_list_xml(ev->arena, x, "always", p->always, p->nalways);
	prefs_list_xml(ev->arena, x, "never", p->never, p->nnever);
	mp_reply(ev, iq);
}

enum mp_verdict
mam_prefs_get_iq(struct mp_event *ev, void *arg)
{
	struct prefs p;
	const char *err, *bare = mp_jid_bare(ev->arena, &ev->from);

	if (prefs_load(ev->arena, bare, &p, &err) == -1) {
		mp_log_warnx("%s: archiving preferences unreadable: %s", bare,
		    err);
		mp_reply_error(ev, &mp_err_internal_server_error);
	} else
		prefs_reply(ev, &p);
	return MP_HANDLED;
}

/* The <jid/> children of one list, prepared; -1 when one is not a JID. */
static int
prefs_parse_list(struct mp_event *ev, const struct mp_node *l,
    const char ***list, size_t *n, const struct mp_error **err_r)
{
	const char *why;
	struct mp_jid j;

	if (l == NULL)
		return 0;
	for (struct mp_node *c = mp_node_first_element(l); c != NULL;
	    c = mp_node_next_element(c)) {
		if (strcmp(c->name, "jid") != 0 ||
		    strcmp(c->xmlns, NS_MAM) != 0)
			continue;
		if (mp_jid_parse(ev->arena, mp_node_text(ev->arena, c), &j,
		    &why) == -1) {
			*err_r = &mp_err_jid_malformed;
			return -1;
		}
		if (*n >= PREFS_MAX_JIDS) {
			*err_r = &prefs_errors[1];
			return -1;
		}
		prefs_push(ev->arena, list, n, mp_jid_full(ev->arena, &j));
	}
	return 0;
}

enum mp_verdict
mam_prefs_set_iq(struct mp_event *ev, void *arg)
{
	struct prefs p = { .def = MAM_DEFAULT_ALWAYS };
	const struct mp_error *e = &prefs_errors[0];
	const char *err, *bare = mp_jid_bare(ev->arena, &ev->from);

	if (mam_default_parse(mp_node_attr(ev->payload, "default"),
	    &p.def) == -1 ||
	    prefs_parse_list(ev, mp_node_child(ev->payload, NS_MAM, "always"),
	    &p.always, &p.nalways, &e) == -1 ||
	    prefs_parse_list(ev, mp_node_child(ev->payload, NS_MAM, "never"),
	    &p.never, &p.nnever, &e) == -1) {
		mp_reply_error(ev, e);
		return MP_HANDLED;
	}
	if (prefs_store(bare, &p, &err) == -1) {
		mp_log_warnx("%s: archiving preferences not stored: %s", bare,
		    err);
		mp_reply_error(ev, &mp_err_resource_constraint);
		return MP_HANDLED;
	}
	mp_log_info("%s: archiving preferences set (default %s, %zu always, "
	    "%zu never)", bare, prefs_default_name(p.def), p.nalways,
	    p.nnever);
	prefs_reply(ev, &p);
	return MP_HANDLED;
}
