/* users.c - accounts as modules see them: create, change, delete (with "user-deleted"). */
#include <stdio.h>
#include <string.h>

#include <magpie/module.h>

#include "accounts.h"
#include "c2s.h"
#include "config.h"
#include "hooks.h"
#include "server.h"
#include "session.h"

static unsigned
users_iterations(void)
{
	return mp_srv.conf != NULL ? (unsigned)mp_srv.conf->auth.iterations :
	    MP_SCRAM_MIN_ITER;
}

int
mp_user_exists(const char *host, const char *user)
{
	return mp_account_exists(host, user);
}

int
mp_user_create(const char *host, const char *user, const char *password,
    const char **error_r)
{
	return mp_account_add(host, user, password, users_iterations(),
	    error_r);
}

int
mp_user_set_password(const char *host, const char *user,
    const char *password, const char **error_r)
{
	return mp_account_passwd(host, user, password, users_iterations(),
	    error_r);
}

int
mp_user_delete(const char *host, const char *user, const char **error_r)
{
	struct mp_arena *a;
	struct mp_event ev = { 0 };
	struct mp_session *s, *next;
	const char *local, *bare;

	*error_r = NULL;
	a = mp_arena_new();
	if (mp_jid_prep_local(a, user, strlen(user), &local, error_r) == -1 ||
	    mp_account_exists(host, local) != 1) {
		if (*error_r == NULL || mp_account_exists(host, local) == 0)
			*error_r = "no such user";
		mp_arena_free(a);
		return -1;
	}
	ev.arena = a;
	ev.from.local = local;
	ev.from.domain = host;
	mp_hooks_fire_name("user-deleted", &ev);
	bare = mp_jid_bare(a, &ev.from);
	for (s = mp_sessions_of(bare); s != NULL; s = next) {
		next = s->next_resource;
		mp_c2s_stream_error(s, "not-authorized", NULL, NULL,
		    "Account removed");
	}
	if (mp_account_del(host, local, error_r) == -1) {
		mp_arena_free(a);
		return -1;
	}
	mp_log_info("account %s removed", bare);
	mp_arena_free(a);
	return 0;
}
