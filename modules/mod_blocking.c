/*
 * mod_blocking.c - XEP-0191 simple communications blocking: the module,
 * its configuration and the lifecycle of the stored lists. The protocol
 * is in blocking/command.c, the enforcement in blocking/enforce.c.
 */
#include <stddef.h>

#include "blocking/blocking.h"

struct mp_module_ctx *blocking_mc;
struct blocking_conf blocking_cf;

static const struct mp_directive blocking_directives[] = {
	/* Blocked JIDs per user; a block command beyond it is refused. */
	{ .name = "max_items", .type = MP_CT_INT,
	  .offset = offsetof(struct blocking_conf, max_items), .def = "1000",
	  .min = 1, .max = 100000 },
	/*
	 * Answer a blocked contact's chat and normal messages with
	 * <service-unavailable/> (XEP-0191 1.1 suggests it) instead of
	 * dropping them silently.
	 */
	{ .name = "bounce_messages", .type = MP_CT_BOOL,
	  .offset = offsetof(struct blocking_conf, bounce_messages),
	  .def = "false" },
	MP_DIRECTIVES_END,
};

/* Everything a user owns goes with the account. */
static enum mp_verdict
blocking_user_deleted(struct mp_event *ev, void *arg)
{
	const char *user = mp_jid_bare(ev->arena, &ev->from), *error = NULL;

	if (blocking_list_remove(user, NULL, 0, &error) == -1)
		mp_log_warnx("%s: cannot delete the blocklist: %s", user,
		    error != NULL ? error : "failed");
	return MP_PASS;
}

static int
blocking_load(struct mp_module_ctx *mc, const void *conf,
    const char **error_r)
{
	blocking_mc = mc;
	blocking_cf = *(const struct blocking_conf *)conf;
	if (blocking_list_open(error_r) == -1)
		return -1;
	mp_add_feature(mc, NS_BLOCKING);
	if (blocking_command_hooks(mc, error_r) == -1 ||
	    blocking_enforce_hooks(mc, error_r) == -1)
		return -1;
	return mp_hook(mc, "user-deleted", blocking_user_deleted, NULL,
	    MP_PRIO_NORMAL, error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "blocking",
	.directives = blocking_directives,
	.conf_size = sizeof(struct blocking_conf),
	.load = blocking_load,
};
