/* mod_ping.c - XEP-0199: answers pings addressed to the server. */
#include <magpie/module.h>

static enum mp_verdict
ping_iq(struct mp_event *ev, void *arg)
{
	mp_reply_result(ev);
	return MP_HANDLED;
}

static int
ping_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	mp_add_feature(mc, "urn:xmpp:ping");
	return mp_hook(mc, "iq-get/host/urn:xmpp:ping:ping", ping_iq, NULL,
	    MP_PRIO_NORMAL, error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "ping",
	.load = ping_load,
};
