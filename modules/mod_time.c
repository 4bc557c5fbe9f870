/* mod_time.c - XEP-0202: the server's time as UTC and its zone offset. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <magpie/module.h>

#define NS_TIME	"urn:xmpp:time"

static enum mp_verdict
time_iq(struct mp_event *ev, void *arg)
{
	struct mp_node *iq = mp_iq_result_new(ev);
	struct mp_node *t = mp_node_add(ev->arena, iq, NS_TIME, "time");
	struct timespec ts;
	struct tm utc, local;
	char utcs[40], tzo[8];
	int off;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &utc);
	localtime_r(&ts.tv_sec, &local);
	off = (int)(local.tm_gmtoff / 60) % (24 * 60);
	snprintf(tzo, sizeof(tzo), "%c%02d:%02d", off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	/* XEP-0082 DateTime with milliseconds. */
	strftime(utcs, sizeof(utcs), "%Y-%m-%dT%H:%M:%S", &utc);
	snprintf(utcs + strlen(utcs), sizeof(utcs) - strlen(utcs), ".%03ldZ",
	    ts.tv_nsec / 1000000);
	mp_node_add_text(ev->arena, mp_node_add(ev->arena, t, NULL, "tzo"),
	    tzo, strlen(tzo));
	mp_node_add_text(ev->arena, mp_node_add(ev->arena, t, NULL, "utc"),
	    utcs, strlen(utcs));
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static int
time_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	mp_add_feature(mc, NS_TIME);
	return mp_hook(mc, "iq-get/host/" NS_TIME ":time", time_iq, NULL,
	    MP_PRIO_NORMAL, error_r);
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "time",
	.load = time_load,
};
