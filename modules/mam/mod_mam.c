/*
 * mod_mam.c - XEP-0313 message archives of local users: which messages go
 * in (and the XEP-0359 stanza-id the recipient sees), the iq handlers,
 * retention and account removal.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "glue.h"

#define MAM_EXPIRE_BATCH	1000	/* messages removed per timer run */
#define MAM_EXPIRE_FIRST_MS	5000
#define MAM_EXPIRE_MORE_MS	1000	/* a run that left work behind */
#define MAM_EXPIRE_IDLE_MS	600000

struct mam_conf {
	long		 max_page;
	const char	*default_policy;
	long		 retention_days;
};

static int mam_policy_check(const void *field, const char **error_r);

static const struct mp_directive mam_directives[] = {
	/* The largest page a query returns (XEP-0313 section 4.3.1). */
	{ .name = "max_page", .type = MP_CT_INT,
	  .offset = offsetof(struct mam_conf, max_page),
	  .def = "100", .min = 1, .max = 10000 },
	/* What is archived for a user who set no preferences. */
	{ .name = "default_policy", .type = MP_CT_STRING,
	  .offset = offsetof(struct mam_conf, default_policy),
	  .def = "always", .validate = mam_policy_check },
	/* Messages older than this many days are removed; 0 keeps them. */
	{ .name = "retention_days", .type = MP_CT_INT,
	  .offset = offsetof(struct mam_conf, retention_days),
	  .def = "0", .min = 0, .max = 365000 },
	MP_DIRECTIVES_END,
};

struct mam_dbs mam_dbs;
long mam_max_page;
enum mam_default mam_default_policy;

static struct mp_module_ctx *mam_mc;
static long mam_retention_days;
static struct mp_buf mam_expire_cursor = MP_BUF_INIT;

static int
mam_policy_check(const void *field, const char **error_r)
{
	enum mam_default d;

	if (mam_default_parse(*(const char *const *)field, &d) == -1) {
		*error_r = "must be \"always\", \"never\" or \"roster\"";
		return -1;
	}
	return 0;
}

static uint64_t
mam_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || ts.tv_sec < 0)
		return (uint64_t)mp_time_now() * 1000000;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The random half of an archive id (XEP-0313 section 3: unpredictable). */
static uint64_t
mam_random(void)
{
	static uint64_t fallback = 0x9e3779b97f4a7c15ULL;
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	/* Without entropy ids stay unique (by time), but guessable. */
	fallback = fallback * 6364136223846793005ULL + mam_now_us();
	return fallback;
}

/*
 * XEP-0313 section 6.1.1: chat and normal messages with a body (or asking
 * to be stored, XEP-0334), unless XEP-0334 asks to keep them out.
 */
static bool
mam_eligible(const struct mp_event *ev)
{
	const struct mp_node *st = ev->stanza;
	const char *type = ev->type != NULL ? ev->type : "normal";

	if (strcmp(st->name, "message") != 0 || strcmp(type, "error") == 0 ||
	    strcmp(type, "groupchat") == 0 || strcmp(type, "headline") == 0)
		return false;
	if (mp_node_child(st, NS_HINTS, "no-store") != NULL ||
	    mp_node_child(st, NS_HINTS, "no-permanent-store") != NULL)
		return false;
	return mp_node_child(st, st->xmlns, "body") != NULL ||
	    mp_node_child(st, NS_HINTS, "store") != NULL;
}

/* Archives ev's stanza in bare's archive; 0 and pos_r set, or -1. */
static int
mam_store(struct mp_event *ev, const char *bare, enum mam_dir dir,
    const struct mp_jid *other, struct mam_pos *pos_r)
{
	struct mp_buf xml = MP_BUF_INIT;
	struct mam_entry e = { .bare = bare, .dir = dir };
	const char *err;
	int rc;

	mp_xml_serialize(&xml, ev->stanza, MP_NS_CLIENT);
	e.with = mp_jid_bare(ev->arena, other);
	e.remote = mp_jid_full(ev->arena, other);
	e.xml = xml.data;
	e.xml_len = xml.len;
	rc = mam_archive_put(&mam_dbs, &e, mam_now_us(), mam_random(), pos_r,
	    &err);
	if (rc == -1)
		mp_log_warnx("%s: message %s %s not archived: %s", bare,
		    dir == MAM_IN ? "from" : "to", e.remote, err);
	mp_buf_free(&xml);
	return rc;
}

/* Messages a local client sends, before they are routed. */
static enum mp_verdict
mam_outbound(struct mp_event *ev, void *arg)
{
	const struct mp_jid *to = &ev->to;
	struct mam_pos pos;
	const char *bare;

	if (ev->session == NULL || ev->from.local == NULL ||
	    !mp_is_local_host(ev->from.domain) || !mam_eligible(ev))
		return MP_PASS;
	/* To oneself: archived once, as received. To the server: not a chat. */
	if (to->local == NULL || mp_jid_bare_eq(&ev->from, to))
		return MP_PASS;
	/* The router refuses messages to unknown local users. */
	if (mp_is_local_host(to->domain) &&
	    mp_user_exists(to->domain, to->local) != 1)
		return MP_PASS;
	bare = mp_jid_bare(ev->arena, &ev->from);
	if (mam_prefs_allow(ev->arena, bare, to))
		mam_store(ev, bare, MAM_OUT, to, &pos);
	return MP_PASS;
}

/* XEP-0359 section 3.2: nobody else may speak for the recipient's archive. */
static void
mam_strip_forged(struct mp_event *ev, const struct mp_jid *owner)
{
	struct mp_node *c, *next;
	const char *by, *why;
	struct mp_jid j;

	for (c = mp_node_first_element(ev->stanza); c != NULL; c = next) {
		next = mp_node_next_element(c);
		if (strcmp(c->name, "stanza-id") != 0 ||
		    strcmp(c->xmlns, NS_SID) != 0)
			continue;
		by = mp_node_attr(c, "by");
		if (by != NULL && mp_jid_parse(ev->arena, by, &j, &why) == 0 &&
		    j.resource == NULL && mp_jid_bare_eq(&j, owner))
			mp_node_remove(c);
	}
}

/* Messages to a local user, before the core delivers (or stores) them. */
static enum mp_verdict
mam_inbound(struct mp_event *ev, void *arg)
{
	struct mp_node *sid;
	struct mam_pos pos;
	char id[MAM_ID_LEN + 1];
	const char *bare;

	if (ev->to.local == NULL || strcmp(ev->stanza->name, "message") != 0)
		return MP_PASS;
	mam_strip_forged(ev, &ev->to);
	if (!mam_eligible(ev))
		return MP_PASS;
	bare = mp_jid_bare(ev->arena, &ev->to);
	if (!mam_prefs_allow(ev->arena, bare, &ev->from) ||
	    mam_store(ev, bare, MAM_IN, &ev->from, &pos) == -1)
		return MP_PASS;
	/* XEP-0313 section 3.5: where the recipient finds it. */
	mam_id_format(id, &pos);
	sid = mp_node_add(ev->arena, ev->stanza, NS_SID, "stanza-id");
	mp_node_set_attr(ev->arena, sid, "id", id);
	mp_node_set_attr(ev->arena, sid, "by", bare);
	return MP_PASS;
}

/*
 * A message to a full JID without that session comes back as message/bare
 * (same event): archived there, once.
 */
static enum mp_verdict
mam_inbound_full(struct mp_event *ev, void *arg)
{
	if (mp_session_find(&ev->to) == NULL)
		return MP_PASS;
	return mam_inbound(ev, arg);
}

/* XEP-0313 section 8.1: only the owner reads or configures an archive. */
static enum mp_verdict
mam_forbidden(struct mp_event *ev, void *arg)
{
	mp_reply_error(ev, &mp_err_forbidden);
	return MP_HANDLED;
}

static enum mp_verdict
mam_user_deleted(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from), *err;

	if (mam_archive_delete_user(&mam_dbs, bare, &err) == -1)
		mp_log_warnx("%s: message archive not removed: %s", bare, err);
	else
		mp_log_info("%s: message archive removed", bare);
	return MP_PASS;
}

static void
mam_expire_tick(void *arg)
{
	uint64_t now = mam_now_us(), keep;
	bool done = false;
	const char *err;
	long n;

	keep = (uint64_t)mam_retention_days * 86400 * 1000000;
	n = now > keep ? mam_archive_expire(&mam_dbs, now - keep,
	    MAM_EXPIRE_BATCH, &mam_expire_cursor, &done, &err) : 0;
	if (n == -1) {
		mp_log_warnx("archive expiry failed: %s", err);
		done = true;
	} else if (n > 0)
		mp_log_info("%ld archived messages older than %ld days removed",
		    n, mam_retention_days);
	mp_timer_add(mam_mc, done || now <= keep ? MAM_EXPIRE_IDLE_MS :
	    MAM_EXPIRE_MORE_MS, mam_expire_tick, NULL);
}

static const struct mp_hook_spec mam_hooks[] = {
	{ "stanza/policy", mam_outbound, MP_PRIO_NORMAL },
	{ "message/bare", mam_inbound, MP_PRIO_STAMP },
	{ "message/self", mam_inbound, MP_PRIO_STAMP },
	{ "message/full", mam_inbound_full, MP_PRIO_STAMP },
	{ "iq-set/self/" NS_MAM ":query", mam_query_iq, MP_PRIO_NORMAL },
	{ "iq-get/self/" NS_MAM ":query", mam_form_iq, MP_PRIO_NORMAL },
	{ "iq-get/self/" NS_MAM ":metadata", mam_metadata_iq, MP_PRIO_NORMAL },
	{ "iq-get/self/" NS_MAM ":prefs", mam_prefs_get_iq, MP_PRIO_NORMAL },
	{ "iq-set/self/" NS_MAM ":prefs", mam_prefs_set_iq, MP_PRIO_NORMAL },
	{ "iq-set/bare/" NS_MAM ":query", mam_forbidden, MP_PRIO_NORMAL },
	{ "iq-get/bare/" NS_MAM ":query", mam_forbidden, MP_PRIO_NORMAL },
	{ "iq-get/bare/" NS_MAM ":metadata", mam_forbidden, MP_PRIO_NORMAL },
	{ "iq-get/bare/" NS_MAM ":prefs", mam_forbidden, MP_PRIO_NORMAL },
	{ "iq-set/bare/" NS_MAM ":prefs", mam_forbidden, MP_PRIO_NORMAL },
	{ "user-deleted", mam_user_deleted, MP_PRIO_NORMAL },
};

static int
mam_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	const struct mam_conf *c = conf;
	struct mp_store *s = mp_store_get();

	mam_mc = mc;
	mam_max_page = c->max_page;
	mam_retention_days = c->retention_days;
	if (mam_default_parse(c->default_policy, &mam_default_policy) == -1)
		mam_default_policy = MAM_DEFAULT_ALWAYS;
	mam_dbs.store = s;
	if (mp_db_open(s, "mam.archive", &mam_dbs.archive, error_r) == -1 ||
	    mp_db_open(s, "mam.with", &mam_dbs.with, error_r) == -1 ||
	    mp_db_open(s, "mam.meta", &mam_dbs.meta, error_r) == -1 ||
	    mp_db_open(s, "mam.prefs", &mam_dbs.prefs, error_r) == -1)
		return -1;
	if (mp_hook_all(mc, mam_hooks, sizeof(mam_hooks) / sizeof(mam_hooks[0]),
	    error_r) == -1)
		return -1;
	mp_add_feature(mc, NS_MAM);
	mp_add_feature(mc, NS_MAM_EXT);
	mp_add_account_feature(mc, NS_MAM);
	mp_add_account_feature(mc, NS_MAM_EXT);
	if (mam_retention_days > 0)
		mp_timer_add(mc, MAM_EXPIRE_FIRST_MS, mam_expire_tick, NULL);
	return 0;
}

static void
mam_unload(struct mp_module_ctx *mc)
{
	mp_buf_free(&mam_expire_cursor);
	memset(&mam_dbs, 0, sizeof(mam_dbs));
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "mam",
	.directives = mam_directives,
	.conf_size = sizeof(struct mam_conf),
	.load = mam_load,
	.unload = mam_unload,
};
