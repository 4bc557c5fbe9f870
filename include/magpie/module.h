/* module.h - the one header a module includes: module declaration, hooks, stanza helpers. */
#ifndef MAGPIE_MODULE_H
#define MAGPIE_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/conf.h>
#include <magpie/jid.h>
#include <magpie/log.h>
#include <magpie/store.h>
#include <magpie/xml.h>

#define MP_MODULE_ABI	1

struct mp_module_ctx;
struct mp_session;

/* What a hook handler says: stop the dispatch, or let the next handler see it. */
enum mp_verdict {
	MP_PASS = 0,
	MP_HANDLED = 1,
};

/* Priority bands; handlers run from the highest down, ties in registration order. */
#define MP_PRIO_POLICY		1000	/* blocking, limits, privacy */
#define MP_PRIO_STAMP		500	/* change a stanza before others copy it (stanza-id) */
#define MP_PRIO_NORMAL		0	/* features */
#define MP_PRIO_FALLBACK	(-1000)	/* offline storage, default replies */

/*
 * An event: a routed stanza, or a lifecycle event. Everything in it lives in
 * ev->arena and dies after the dispatch; copy what you keep.
 *
 * Stanza events are named after the stanza and its recipient:
 *   message/host message/self message/bare message/full message/offline
 *   presence/host presence/self presence/bare presence/full
 *   iq-get/host/<xmlns>:<name>  iq-set/self/<xmlns>:<name>  iq-get/bare/...
 *   iq/full (any iq to a full JID)  iq-result/host  iq-error/host
 * "host" is the server itself, "self" the sender's own bare JID, "bare" and
 * "full" another local user. Every routed stanza first fires
 * "stanza/policy" (a handler returning MP_HANDLED stops it: blocking,
 * limits), with ev->session set when a local client sent it. Before authentication, an iq from the client
 * fires "iq-get/preauth/<xmlns>:<name>" (or iq-set); nobody handling it ends
 * the stream with <not-authorized/>. mp_reply() answers such a session.
 * Lifecycle events: "stream-features" (stanza is the <stream:features/>
 * element being built; the session may not be authenticated yet),
 * "session-bound", "session-available" (first available presence, fired
 * before the presence is routed), "session-closed" (ev->from its JID),
 * "user-deleted" (ev->from the bare JID).
 */
struct mp_event {
	struct mp_arena		*arena;
	struct mp_node		*stanza;
	struct mp_node		*payload;	/* iq get/set: its one child */
	const char		*type;		/* stanza type, NULL when absent */
	const char		*id;
	struct mp_jid		 from;		/* the stamped sender */
	struct mp_jid		 to;		/* prepared; the host when absent */
	struct mp_session	*session;	/* the sending (or concerned) session, or NULL */
};

typedef enum mp_verdict mp_hook_fn(struct mp_event *ev, void *arg);

/* The module declaration every module exports as `mp_module`. */
struct mp_module {
	int			 abi;		/* MP_MODULE_ABI */
	size_t			 size;		/* sizeof(struct mp_module) */
	const char		*name;
	const char *const	*depends;	/* names of modules needed, NULL-terminated */
	const struct mp_directive *directives;	/* the module's config section */
	size_t			 conf_size;	/* size of its conf struct */
	int	(*load)(struct mp_module_ctx *mc, const void *conf,
		    const char **error_r);
	void	(*unload)(struct mp_module_ctx *mc);
};

/* Registrations, all removed by the core when the module unloads. */
int	 mp_hook(struct mp_module_ctx *mc, const char *event, mp_hook_fn *fn,
	    void *arg, int priority, const char **error_r);
/* A module's hooks as a table; priority 0 is MP_PRIO_NORMAL. */
struct mp_hook_spec {
	const char	*event;
	mp_hook_fn	*fn;
	int		 priority;
};
int	 mp_hook_all(struct mp_module_ctx *mc, const struct mp_hook_spec *hooks,
	    size_t n, const char **error_r);
void	 mp_add_feature(struct mp_module_ctx *mc, const char *var);
/* A feature of every account, shown on accounts' disco#info (XEP-0030 3.1). */
void	 mp_add_account_feature(struct mp_module_ctx *mc, const char *var);
void	 mp_add_identity(struct mp_module_ctx *mc, const char *category,
	    const char *type, const char *name);
const char *mp_module_name(const struct mp_module_ctx *mc);
/* Fires an event by name (for modules that define events of their own). */
enum mp_verdict mp_hooks_fire_event(const char *event, struct mp_event *ev);

/* Server-wide disco data, gathered from every module (in registration order). */
typedef void mp_feature_cb(const char *var, void *arg);
typedef void mp_identity_cb(const char *category, const char *type,
    const char *name, void *arg);
void	 mp_features_foreach(mp_feature_cb *cb, void *arg);
void	 mp_account_features_foreach(mp_feature_cb *cb, void *arg);
void	 mp_identities_foreach(mp_identity_cb *cb, void *arg);

/* Server facts. */
const char *mp_server_name(void);	/* "Magpie" */
const char *mp_server_version(void);	/* PACKAGE_VERSION */
bool	 mp_is_local_host(const char *domain);

/* Stanza errors (RFC 6120 8.3). */
enum mp_err_type {
	MP_ERR_AUTH,
	MP_ERR_CANCEL,
	MP_ERR_CONTINUE,
	MP_ERR_MODIFY,
	MP_ERR_WAIT,
};

struct mp_error {
	enum mp_err_type	 type;
	const char		*condition;	/* e.g. "service-unavailable" */
	const char		*text;		/* NULL for none */
	const char		*app_ns;	/* application condition, or NULL */
	const char		*app_name;
};

/* The core's common errors. */
extern const struct mp_error mp_err_bad_request;
extern const struct mp_error mp_err_feature_not_implemented;
extern const struct mp_error mp_err_internal_server_error;
extern const struct mp_error mp_err_item_not_found;
extern const struct mp_error mp_err_jid_malformed;
extern const struct mp_error mp_err_not_allowed;
extern const struct mp_error mp_err_not_acceptable;
extern const struct mp_error mp_err_forbidden;
extern const struct mp_error mp_err_recipient_unavailable;
extern const struct mp_error mp_err_remote_server_not_found;
extern const struct mp_error mp_err_resource_constraint;
extern const struct mp_error mp_err_service_unavailable;
extern const struct mp_error mp_err_policy_violation;
/* The error for a failed store write: full storage is resource-constraint (wait), the rest internal. */
const struct mp_error *mp_err_for_store(const char *store_error);

/* An <iq type='result'/> answering ev's iq (addresses swapped), in ev->arena. */
struct mp_node	*mp_iq_result_new(struct mp_event *ev);
/* Sends a reply built from ev to its sender. */
void	 mp_reply(struct mp_event *ev, struct mp_node *reply);
/* An empty iq result. */
void	 mp_reply_result(struct mp_event *ev);
/* The error reply to ev's stanza (never for a stanza of type error). */
void	 mp_reply_error(struct mp_event *ev, const struct mp_error *err);
/* A copy of stanza turned into an error reply to its sender, in arena a. */
struct mp_node	*mp_error_reply_new(struct mp_arena *a,
		    const struct mp_node *stanza, const struct mp_error *err);

/*
 * Routes a stanza made by the server (its from and to attributes set) as the
 * router would route one from a client, without stamping 'from'.
 */
void	 mp_route(struct mp_node *stanza);

/*
 * Sessions. A session pointer is valid during the event that hands it out;
 * keep a JID, not the pointer, across events.
 */
const struct mp_jid *mp_session_jid(const struct mp_session *s);	/* bound: full JID */
const char *mp_session_host(const struct mp_session *s);	/* the stream's domain */
const char *mp_session_peer(const struct mp_session *s);	/* "ip:port" */
const char *mp_session_ip(const struct mp_session *s);	/* "ip" */
bool	 mp_session_bound(const struct mp_session *s);
bool	 mp_session_tls(const struct mp_session *s);	/* the stream is encrypted */
/* False while the session hibernates (XEP-0198: its connection died). */
bool	 mp_session_connected(const struct mp_session *s);
/* Sent available presence (and not unavailable since). */
bool	 mp_session_available(const struct mp_session *s);
int	 mp_session_priority(const struct mp_session *s);
/* Writes a stanza to the client as it is (bound sessions only, else dropped). */
void	 mp_session_send(struct mp_session *s, const struct mp_node *stanza);
/* The bound resources of a bare JID ("user@host"), in no particular order. */
struct mp_session *mp_user_sessions(const char *bare);
struct mp_session *mp_session_next(const struct mp_session *s);
/* The bound session of a full JID, or NULL. */
struct mp_session *mp_session_find(const struct mp_jid *full);
/*
 * Per-session data of a module, freed with free_fn when the session ends
 * (after "session-closed" ran) or when replaced.
 */
void	*mp_session_get(const struct mp_session *s,
	    const struct mp_module_ctx *mc);
void	 mp_session_set(struct mp_session *s, struct mp_module_ctx *mc,
	    void *data, void (*free_fn)(void *));

/* Accounts; user is a localpart (prepared here), host a served domain. */
int	 mp_user_exists(const char *host, const char *user);	/* 1, 0, -1 */
int	 mp_user_create(const char *host, const char *user,
	    const char *password, const char **error_r);
int	 mp_user_set_password(const char *host, const char *user,
	    const char *password, const char **error_r);
/*
 * Fires "user-deleted" (ev->from is the bare JID; modules remove their
 * data), closes the user's sessions with <not-authorized/>, then removes
 * the account.
 */
int	 mp_user_delete(const char *host, const char *user,
	    const char **error_r);

/*
 * Providers: a module offers a const vtable under a name; others (that
 * depend on it) look it up. Removed when the providing module unloads.
 */
void	 mp_provide(struct mp_module_ctx *mc, const char *name,
	    const void *vtable);
const void *mp_provider(const char *name);

/* Seconds since the epoch, and since the server started. */
long long mp_time_now(void);
long long mp_uptime(void);

/* One-shot timers, removed with the module; fn gets arg. */
struct mp_timer;
struct mp_timer *mp_timer_add(struct mp_module_ctx *mc, long msec,
		    void (*fn)(void *arg), void *arg);
void	 mp_timer_cancel(struct mp_timer *t);

#endif
