/*
 * mod_last.c - XEP-0012 last activity: the server's uptime, and for a
 * contact who may see a user's presence the time since that user logged out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magpie/module.h>
#include <magpie/roster.h>

#define NS_LAST		"jabber:iq:last"
#define LAST_TIME_LEN	8	/* big-endian logout time, then the status */
#define LAST_STATUS_MAX	1024	/* bytes of status text kept */

static const struct mp_error last_errors[] = {
	{ MP_ERR_CANCEL, "service-unavailable", "No logout recorded",
	    NULL, NULL },
};

/* Per session: the status of its last unavailable presence. */
struct last_session {
	char	*status;	/* NULL when the last presence was available */
	bool	 deleted;	/* the account is going: record nothing */
};

static struct mp_db *last_db;
static struct mp_module_ctx *last_mc;

static void
last_session_free(void *p)
{
	struct last_session *ls = p;

	free(ls->status);
	free(ls);
}

static struct last_session *
last_session_get(struct mp_session *s)
{
	struct last_session *ls = mp_session_get(s, last_mc);

	if (ls == NULL) {
		ls = mp_xcalloc(1, sizeof(*ls));
		mp_session_set(s, last_mc, ls, last_session_free);
	}
	return ls;
}

static void
last_query_reply(struct mp_event *ev, long long seconds, const char *status)
{
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *q = mp_node_add(ev->arena, iq, NS_LAST, "query");
	char num[24];

	snprintf(num, sizeof(num), "%lld", seconds < 0 ? 0 : seconds);
	mp_node_set_attr(ev->arena, q, "seconds", num);
	if (status != NULL && status[0] != '\0')
		mp_node_add_text(ev->arena, q, status, strlen(status));
	mp_reply(ev, iq);
}

/* XEP-0012 section 5: how long the server has been up. */
static enum mp_verdict
last_host(struct mp_event *ev, void *arg)
{
	last_query_reply(ev, mp_uptime(), NULL);
	return MP_HANDLED;
}

static bool
last_online(const char *bare)
{
	for (struct mp_session *s = mp_user_sessions(bare); s != NULL;
	    s = mp_session_next(s))
		if (mp_session_available(s))
			return true;
	return false;
}

/* XEP-0012 section 3: the logout time and status of an offline user. */
static void
last_answer(struct mp_event *ev, const char *contact)
{
	struct mp_txn *txn;
	struct mp_val v;
	const unsigned char *p;
	long long t = 0;
	char *status;
	const char *err;
	int rc;

	if (last_online(contact)) {
		last_query_reply(ev, 0, NULL);
		return;
	}
	if (mp_txn_read(mp_store_get(), &txn, &err) == -1) {
		mp_log_warnx("%s: last activity unreadable: %s", contact, err);
		mp_reply_error(ev, &mp_err_internal_server_error);
		return;
	}
	rc = mp_txn_get(txn, last_db, contact, strlen(contact), &v);
	if (rc != 1 || v.len < LAST_TIME_LEN) {
		mp_txn_abort(txn);
		if (rc == -1)
			mp_log_warnx("%s: last activity read failed", contact);
		mp_reply_error(ev, rc == -1 ? &mp_err_internal_server_error :
		    &last_errors[0]);
		return;
	}
	p = v.data;
	for (int i = 0; i < LAST_TIME_LEN; i++)
		t = (long long)((uint64_t)t << 8 | p[i]);
	status = mp_arena_strndup(ev->arena, (const char *)p + LAST_TIME_LEN,
	    v.len - LAST_TIME_LEN);
	mp_txn_abort(txn);
	last_query_reply(ev, mp_time_now() - t, status);
}

/*
 * Only those allowed to see the contact's presence learn when they were
 * last seen (XEP-0012 section 3 and 8): the contact's subscription to the
 * requester must be "from" or "both".
 */
static enum mp_verdict
last_bare(struct mp_event *ev, void *arg)
{
	const struct mp_roster_api *roster = mp_provider(MP_ROSTER_PROVIDER);
	const char *contact = mp_jid_bare(ev->arena, &ev->to);
	const char *requester = mp_jid_bare(ev->arena, &ev->from);
	int sub;

	if (roster == NULL) {
		mp_reply_error(ev, &mp_err_forbidden);
		return MP_HANDLED;
	}
	sub = roster->subscription(contact, requester);
	if (sub == -1) {
		mp_reply_error(ev, &mp_err_internal_server_error);
		return MP_HANDLED;
	}
	if (sub != MP_SUB_FROM && sub != MP_SUB_BOTH) {
		mp_reply_error(ev, &mp_err_forbidden);
		return MP_HANDLED;
	}
	last_answer(ev, contact);
	return MP_HANDLED;
}

/* A user may always ask about their own account. */
static enum mp_verdict
last_self(struct mp_event *ev, void *arg)
{
	last_answer(ev, mp_jid_bare(ev->arena, &ev->to));
	return MP_HANDLED;
}

/* At most LAST_STATUS_MAX bytes, cut between UTF-8 characters. */
static size_t
last_status_len(const char *text)
{
	size_t len = strnlen(text, LAST_STATUS_MAX + 1);

	if (len <= LAST_STATUS_MAX)
		return len;
	len = LAST_STATUS_MAX;
	while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Remembers the status of unavailable presence for the logout record. */
static enum mp_verdict
last_presence(struct mp_event *ev, void *arg)
{
	struct last_session *ls;
	struct mp_node *st;
	char *text;

	if (ev->session == NULL)
		return MP_PASS;
	if (ev->type == NULL) {
		ls = mp_session_get(ev->session, last_mc);
		if (ls != NULL) {
			free(ls->status);
			ls->status = NULL;
		}
	} else if (strcmp(ev->type, "unavailable") == 0) {
		ls = last_session_get(ev->session);
		st = mp_node_child(ev->stanza, MP_NS_CLIENT, "status");
		text = st != NULL ? mp_node_text(ev->arena, st) : "";
		free(ls->status);
		ls->status = mp_xstrndup(text, last_status_len(text));
	}
	return MP_PASS;
}

struct last_put {
	const char	*bare;
	const char	*status;
	long long	 when;
};

static int
last_put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct last_put *lp = arg;
	struct mp_buf v = MP_BUF_INIT;
	unsigned char t[LAST_TIME_LEN];
	uint64_t when = (uint64_t)lp->when;
	int rc = 0;

	for (int i = LAST_TIME_LEN - 1; i >= 0; i--, when >>= 8)
		t[i] = (unsigned char)(when & 0xff);
	mp_buf_append(&v, t, sizeof(t));
	mp_buf_append(&v, lp->status, strlen(lp->status));
	if (mp_txn_put(txn, last_db, lp->bare, strlen(lp->bare), v.data,
	    v.len) == -1) {
		*error_r = "put failed";
		rc = -1;
	}
	mp_buf_free(&v);
	return rc;
}

/* The user's last available session ended: they logged out. */
static enum mp_verdict
last_session_closed(struct mp_event *ev, void *arg)
{
	struct last_session *ls = NULL;
	struct last_put lp;
	const char *err;

	if (ev->session != NULL)
		ls = mp_session_get(ev->session, last_mc);
	if (ls != NULL && ls->deleted)
		return MP_PASS;
	lp.bare = mp_jid_bare(ev->arena, &ev->from);
	/* The closing session is already off the user's list. */
	if (last_online(lp.bare))
		return MP_PASS;
	lp.status = ls != NULL && ls->status != NULL ? ls->status : "";
	lp.when = mp_time_now();
	if (mp_store_write(mp_store_get(), last_put_fn, &lp, &err) == -1)
		mp_log_warnx("%s: logout time not recorded: %s", lp.bare, err);
	return MP_PASS;
}

static int
last_del_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	const char *bare = arg;

	if (mp_txn_del(txn, last_db, bare, strlen(bare)) == -1) {
		*error_r = "delete failed";
		return -1;
	}
	return 0;
}

static enum mp_verdict
last_user_deleted(struct mp_event *ev, void *arg)
{
	const char *bare = mp_jid_bare(ev->arena, &ev->from), *err;

	/* Its sessions close after this event; they must not write again. */
	for (struct mp_session *s = mp_user_sessions(bare); s != NULL;
	    s = mp_session_next(s))
		last_session_get(s)->deleted = true;
	if (mp_store_write(mp_store_get(), last_del_fn, (void *)bare,
	    &err) == -1)
		mp_log_warnx("%s: last activity not removed: %s", bare, err);
	return MP_PASS;
}

/* Lists jabber:iq:last among the features of an account's bare JID. */
static int
last_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-get/host/" NS_LAST ":query", last_host, MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_LAST ":query", last_bare, MP_PRIO_NORMAL },
		{ "iq-get/self/" NS_LAST ":query", last_self, MP_PRIO_NORMAL },
		{ "presence/broadcast", last_presence, MP_PRIO_POLICY },
		{ "session-closed", last_session_closed, MP_PRIO_NORMAL },
		{ "user-deleted", last_user_deleted, MP_PRIO_NORMAL },
	};

	last_mc = mc;
	if (mp_db_open(mp_store_get(), "last.logout", &last_db,
	    error_r) == -1)
		return -1;
	mp_add_feature(mc, NS_LAST);
	mp_add_account_feature(mc, NS_LAST);
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "last",
	.depends = (const char *[]){ "roster", NULL },
	.load = last_load,
};
