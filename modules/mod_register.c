/*
 * mod_register.c - XEP-0077 in-band registration: new accounts before
 * authentication (off by default, limited per address), password changes
 * and account removal for logged-in users.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <magpie/module.h>

#define NS_REGISTER		"jabber:iq:register"
#define NS_REGISTER_FEATURE	"http://jabber.org/features/iq-register"
#define REGISTER_Q		NS_REGISTER ":query"

/*
 * Registrations remembered for the per-address limit: a ring of the most
 * recent ones. When more than this many happen within one window the
 * oldest are forgotten early, so memory stays fixed whatever the load.
 */
#define REGISTER_LOG_MAX	4096
#define REGISTER_KEY_MAX	(INET6_ADDRSTRLEN + 4)	/* "<ipv6>/64" */

struct register_conf {
	bool	 allow_registration;
	bool	 allow_password_change;
	bool	 allow_removal;
	long	 min_password;
	long	 per_ip_limit;
	long	 window;
};

static const struct mp_directive register_directives[] = {
	{ .name = "allow_registration", .type = MP_CT_BOOL,
	  .offset = offsetof(struct register_conf, allow_registration),
	  .def = "false" },
	{ .name = "allow_password_change", .type = MP_CT_BOOL,
	  .offset = offsetof(struct register_conf, allow_password_change),
	  .def = "true" },
	{ .name = "allow_removal", .type = MP_CT_BOOL,
	  .offset = offsetof(struct register_conf, allow_removal),
	  .def = "true" },
	{ .name = "min_password", .type = MP_CT_INT,
	  .offset = offsetof(struct register_conf, min_password),
	  .def = "8", .min = 1, .max = 1024 },
	/* 0: no limit per address. */
	{ .name = "per_ip_limit", .type = MP_CT_INT,
	  .offset = offsetof(struct register_conf, per_ip_limit),
	  .def = "3", .min = 0, .max = 1000 },
	{ .name = "window", .type = MP_CT_INT,
	  .offset = offsetof(struct register_conf, window),
	  .def = "600", .min = 1, .max = 30 * 86400 },
	MP_DIRECTIVES_END,
};

/* Errors, per XEP-0077 sections 3.1 to 3.3 and RFC 6120 8.3.3. */
static const struct mp_error register_err_disabled = {
	MP_ERR_CANCEL, "service-unavailable",
	"In-band registration is disabled on this server", NULL, NULL };
static const struct mp_error register_err_incomplete = {
	MP_ERR_MODIFY, "not-acceptable",
	"A username and a password are required", NULL, NULL };
static const struct mp_error register_err_username = {
	MP_ERR_MODIFY, "not-acceptable", "The username is not valid",
	NULL, NULL };
static const struct mp_error register_err_password = {
	MP_ERR_MODIFY, "not-acceptable", "The password is not valid",
	NULL, NULL };
static const struct mp_error register_err_short = {
	MP_ERR_MODIFY, "not-acceptable", "The password is too short",
	NULL, NULL };
static const struct mp_error register_err_conflict = {
	MP_ERR_CANCEL, "conflict", "The username is already taken",
	NULL, NULL };
static const struct mp_error register_err_rate = {
	MP_ERR_WAIT, "policy-violation",
	"Too many accounts were registered from your address; try later",
	NULL, NULL };
static const struct mp_error register_err_pw_incomplete = {
	MP_ERR_MODIFY, "bad-request",
	"A username and a new password are required", NULL, NULL };
static const struct mp_error register_err_not_yours = {
	MP_ERR_MODIFY, "bad-request", "That username is not yours",
	NULL, NULL };
static const struct mp_error register_err_pw_disabled = {
	MP_ERR_CANCEL, "not-allowed", "Password changes are disabled",
	NULL, NULL };
static const struct mp_error register_err_rm_disabled = {
	MP_ERR_CANCEL, "not-allowed", "Account removal is disabled",
	NULL, NULL };
static const struct mp_error register_err_rm_alone = {
	MP_ERR_MODIFY, "bad-request", "<remove/> must be the only child",
	NULL, NULL };
static const struct mp_error register_err_other = {
	MP_ERR_AUTH, "forbidden",
	"Only the account itself can see, change or remove it", NULL, NULL };

struct register_entry {
	long long	 when;	/* mp_uptime() of the registration */
	char		 key[REGISTER_KEY_MAX];
};

static const struct register_conf *register_conf;
static struct register_entry register_log[REGISTER_LOG_MAX];
static size_t register_head;	/* the oldest entry */
static size_t register_count;

/*
 * The address a registration counts against: IPv4 as it is, IPv6 by its
 * /64, since one host usually holds a whole /64.
 */
static void
register_ip_key(const char *ip, char *key, size_t size)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];

	if (ip == NULL)
		ip = "";
	if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, &a6) != 1) {
		snprintf(key, size, "%s", ip);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6) &&
	    inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf)) != NULL) {
		snprintf(key, size, "%s", buf);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) == NULL)
		snprintf(key, size, "%s", ip);
	else
		snprintf(key, size, "%s/64", buf);
}

/* Forgets the registrations older than the window. */
static void
register_prune(long long now)
{
	while (register_count > 0 &&
	    now - register_log[register_head].when >= register_conf->window) {
		register_head = (register_head + 1) % REGISTER_LOG_MAX;
		register_count--;
	}
}

static long
register_recent(const char *key)
{
	long n = 0;

	register_prune(mp_uptime());
	for (size_t i = 0; i < register_count; i++)
		if (strcmp(register_log[(register_head + i) %
		    REGISTER_LOG_MAX].key, key) == 0)
			n++;
	return n;
}

static void
register_remember(const char *key)
{
	struct register_entry *e;

	if (register_count == REGISTER_LOG_MAX) {
		register_head = (register_head + 1) % REGISTER_LOG_MAX;
		register_count--;
	}
	e = &register_log[(register_head + register_count) % REGISTER_LOG_MAX];
	e->when = mp_uptime();
	snprintf(e->key, sizeof(e->key), "%s", key);
	register_count++;
}

/* Characters, not bytes: a policy of 8 means 8 letters in any script. */
static size_t
register_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Answers with an error without echoing the request: it may hold a
 * password (XEP-0077 3.3 asks not to return it).
 */
static enum mp_verdict
register_fail(struct mp_event *ev, const struct mp_error *err)
{
	if (ev->payload != NULL && ev->payload->parent == ev->stanza)
		mp_node_remove(ev->payload);
	mp_reply_error(ev, err);
	return MP_HANDLED;
}

/* The text of a child of the query, or NULL when the child is absent. */
static const char *
register_field(struct mp_event *ev, const char *name)
{
	struct mp_node *n = mp_node_child(ev->payload, NS_REGISTER, name);

	return n == NULL ? NULL : mp_node_text(ev->arena, n);
}

static void
register_add_text(struct mp_arena *a, struct mp_node *parent,
    const char *name, const char *text)
{
	struct mp_node *n = mp_node_add(a, parent, NULL, name);

	if (text != NULL)
		mp_node_add_text(a, n, text, strlen(text));
}

static enum mp_verdict
register_features(struct mp_event *ev, void *arg)
{
	/* Only streams still to authenticate may register (XEP-0077 8). */
	if (!register_conf->allow_registration || ev->session == NULL ||
	    mp_session_bound(ev->session) ||
	    mp_node_child(ev->stanza, MP_NS_BIND, "bind") != NULL)
		return MP_PASS;
	mp_node_add(ev->arena, ev->stanza, NS_REGISTER_FEATURE, "register");
	return MP_PASS;
}

/* XEP-0077 3.1: the fields an unregistered entity must fill in. */
static enum mp_verdict
register_preauth_get(struct mp_event *ev, void *arg)
{
	struct mp_node *iq, *q;

	if (!register_conf->allow_registration)
		return register_fail(ev, &register_err_disabled);
	iq = mp_iq_result_new(ev);
	q = mp_node_add(ev->arena, iq, NS_REGISTER, "query");
	register_add_text(ev->arena, q, "instructions",
	    "Choose a username and a password for your new account.");
	register_add_text(ev->arena, q, "username", NULL);
	register_add_text(ev->arena, q, "password", NULL);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static enum mp_verdict
register_preauth_set(struct mp_event *ev, void *arg)
{
	const char *user, *password, *local, *host, *ip, *err;
	char key[REGISTER_KEY_MAX];
	int rc;

	if (!register_conf->allow_registration)
		return register_fail(ev, &register_err_disabled);
	if (ev->session == NULL)
		return MP_PASS;
	/* An unauthenticated stream has no account to remove. */
	if (mp_node_child(ev->payload, NS_REGISTER, "remove") != NULL)
		return register_fail(ev, &mp_err_not_allowed);
	user = register_field(ev, "username");
	password = register_field(ev, "password");
	if (user == NULL || password == NULL || *user == '\0' ||
	    *password == '\0')
		return register_fail(ev, &register_err_incomplete);
	if (mp_jid_prep_local(ev->arena, user, strlen(user), &local,
	    &err) == -1 || *local == '\0')
		return register_fail(ev, &register_err_username);
	if (register_utf8_len(password) < (size_t)register_conf->min_password)
		return register_fail(ev, &register_err_short);
	host = mp_session_host(ev->session);
	ip = mp_session_ip(ev->session);
	register_ip_key(ip, key, sizeof(key));
	if (register_conf->per_ip_limit > 0 &&
	    register_recent(key) >= register_conf->per_ip_limit) {
		mp_log_info("%s: registration of %s@%s refused: limit of %ld "
		    "per %lds reached", ip ? ip : "-", local, host,
		    register_conf->per_ip_limit, register_conf->window);
		return register_fail(ev, &register_err_rate);
	}
	rc = mp_user_exists(host, local);
	if (rc == 1)
		return register_fail(ev, &register_err_conflict);
	if (rc == -1)
		return register_fail(ev, &mp_err_internal_server_error);
	if (mp_user_create(host, local, password, &err) == -1) {
		mp_log_info("%s: registration of %s@%s failed: %s",
		    ip ? ip : "-", local, host, err ? err : "?");
		if (mp_user_exists(host, local) == 1)
			return register_fail(ev, &register_err_conflict);
		if (err != NULL && (strcmp(err, "invalid password") == 0 ||
		    strcmp(err, "empty password") == 0))
			return register_fail(ev, &register_err_password);
		if (err != NULL && (strcmp(err, "invalid username") == 0 ||
		    strcmp(err, "empty username") == 0 ||
		    strcmp(err, "username too long") == 0))
			return register_fail(ev, &register_err_username);
		return register_fail(ev, &mp_err_internal_server_error);
	}
	register_remember(key);
	mp_log_info("%s: account %s@%s registered", ip ? ip : "-", local,
	    host);
	mp_reply_result(ev);
	return MP_HANDLED;
}

/*
 * The sender is a local account speaking from its own session: an entity
 * of another domain addressing this server must not reach a local account
 * that merely shares its localpart.
 */
static bool
register_own(const struct mp_event *ev)
{
	return ev->from.local != NULL && ev->from.domain != NULL &&
	    ev->session != NULL && mp_session_bound(ev->session) &&
	    mp_is_local_host(ev->from.domain);
}

/* XEP-0077 3.1: a registered entity sees its registration. */
static enum mp_verdict
register_self_get(struct mp_event *ev, void *arg)
{
	struct mp_node *iq, *q;

	if (!register_own(ev))
		return register_fail(ev, &register_err_other);
	iq = mp_iq_result_new(ev);
	q = mp_node_add(ev->arena, iq, NS_REGISTER, "query");
	register_add_text(ev->arena, q, "instructions",
	    register_conf->allow_password_change ?
	    "You are registered. Send a new password to change it." :
	    "You are registered.");
	register_add_text(ev->arena, q, "registered", NULL);
	register_add_text(ev->arena, q, "username", ev->from.local);
	register_add_text(ev->arena, q, "password", NULL);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

/* XEP-0077 3.2: the result goes out first, then the account goes. */
static enum mp_verdict
register_remove(struct mp_event *ev)
{
	const char *err, *host = ev->from.domain, *user = ev->from.local;

	if (!register_conf->allow_removal)
		return register_fail(ev, &register_err_rm_disabled);
	if (mp_node_count_elements(ev->payload) != 1)
		return register_fail(ev, &register_err_rm_alone);
	if (mp_user_exists(host, user) != 1)
		return register_fail(ev, &mp_err_internal_server_error);
	mp_reply_result(ev);
	if (mp_user_delete(host, user, &err) == -1)
		mp_log_warnx("%s@%s: account removal failed after the result "
		    "was sent: %s", user, host, err ? err : "?");
	return MP_HANDLED;
}

/* XEP-0077 3.3: a password change, for the account itself only. */
static enum mp_verdict
register_self_set(struct mp_event *ev, void *arg)
{
	const char *user, *password, *local, *err;

	if (!register_own(ev))
		return register_fail(ev, &register_err_other);
	if (mp_node_child(ev->payload, NS_REGISTER, "remove") != NULL)
		return register_remove(ev);
	if (!register_conf->allow_password_change)
		return register_fail(ev, &register_err_pw_disabled);
	user = register_field(ev, "username");
	password = register_field(ev, "password");
	/* An empty password never replaces the current one (3.3). */
	if (user == NULL || password == NULL || *password == '\0')
		return register_fail(ev, &register_err_pw_incomplete);
	if (mp_jid_prep_local(ev->arena, user, strlen(user), &local,
	    &err) == -1 || strcmp(local, ev->from.local) != 0)
		return register_fail(ev, &register_err_not_yours);
	if (register_utf8_len(password) < (size_t)register_conf->min_password)
		return register_fail(ev, &register_err_short);
	if (mp_user_set_password(ev->from.domain, local, password,
	    &err) == -1) {
		mp_log_info("%s@%s: password change failed: %s", local,
		    ev->from.domain, err ? err : "?");
		if (err != NULL && (strcmp(err, "invalid password") == 0 ||
		    strcmp(err, "empty password") == 0))
			return register_fail(ev, &register_err_password);
		return register_fail(ev, &mp_err_internal_server_error);
	}
	mp_log_info("%s@%s: password changed", local, ev->from.domain);
	mp_reply_result(ev);
	return MP_HANDLED;
}

/* Another user's registration is theirs alone (XEP-0077 3.2, forbidden). */
static enum mp_verdict
register_other(struct mp_event *ev, void *arg)
{
	return register_fail(ev, &register_err_other);
}

static int
register_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "stream-features", register_features, MP_PRIO_NORMAL },
		{ "iq-get/preauth/" REGISTER_Q, register_preauth_get,
		    MP_PRIO_NORMAL },
		{ "iq-set/preauth/" REGISTER_Q, register_preauth_set,
		    MP_PRIO_NORMAL },
		{ "iq-get/self/" REGISTER_Q, register_self_get,
		    MP_PRIO_NORMAL },
		{ "iq-set/self/" REGISTER_Q, register_self_set,
		    MP_PRIO_NORMAL },
		{ "iq-get/host/" REGISTER_Q, register_self_get,
		    MP_PRIO_NORMAL },
		{ "iq-set/host/" REGISTER_Q, register_self_set,
		    MP_PRIO_NORMAL },
		{ "iq-get/bare/" REGISTER_Q, register_other, MP_PRIO_NORMAL },
		{ "iq-set/bare/" REGISTER_Q, register_other, MP_PRIO_NORMAL },
	};
	const struct register_conf *rc = conf;

	register_conf = rc;
	register_head = 0;
	register_count = 0;
	/*
	 * Logged-in clients use the disco feature to learn whether they can
	 * change their password in-band (XEP-0077 9).
	 */
	if (rc->allow_registration || rc->allow_password_change ||
	    rc->allow_removal)
		mp_add_feature(mc, NS_REGISTER);
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

static void
register_unload(struct mp_module_ctx *mc)
{
	register_conf = NULL;
	register_count = 0;
	explicit_bzero(register_log, sizeof(register_log));
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "register",
	.directives = register_directives,
	.conf_size = sizeof(struct register_conf),
	.load = register_load,
	.unload = register_unload,
};
