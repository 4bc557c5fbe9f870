/* mod_version.c - XEP-0092: the server's software name, version and (optionally) OS. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <magpie/module.h>

#define NS_VERSION	"jabber:iq:version"

struct version_conf {
	bool	 hide_os;
};

static const struct mp_directive version_directives[] = {
	{ .name = "hide_os", .type = MP_CT_BOOL,
	  .offset = offsetof(struct version_conf, hide_os), .def = "false" },
	MP_DIRECTIVES_END,
};

static char version_os[160];

static void
version_text(struct mp_arena *a, struct mp_node *parent, const char *name,
    const char *text)
{
	mp_node_add_text(a, mp_node_add(a, parent, NULL, name), text,
	    strlen(text));
}

static enum mp_verdict
version_iq(struct mp_event *ev, void *arg)
{
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *q = mp_node_add(ev->arena, iq, NS_VERSION, "query");

	version_text(ev->arena, q, "name", mp_server_name());
	version_text(ev->arena, q, "version", mp_server_version());
	if (version_os[0] != '\0')
		version_text(ev->arena, q, "os", version_os);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static int
version_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	const struct version_conf *vc = conf;
	struct utsname u;

	version_os[0] = '\0';
	if (!vc->hide_os && uname(&u) == 0)
		snprintf(version_os, sizeof(version_os), "%s %s", u.sysname,
		    u.machine);
	mp_add_feature(mc, NS_VERSION);
	return mp_hook(mc, "iq-get/host/" NS_VERSION ":query", version_iq,
	    NULL, MP_PRIO_NORMAL, error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "version",
	.directives = version_directives,
	.conf_size = sizeof(struct version_conf),
	.load = version_load,
};
