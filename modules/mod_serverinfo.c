/*
 * mod_serverinfo.c - XEP-0157: the service's contact addresses, as a
 * XEP-0128 form in the server's disco#info.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <magpie/module.h>

#define NS_DATA		"jabber:x:data"
#define SERVERINFO_FORM	"http://jabber.org/network/serverinfo"

struct serverinfo_conf {
	const char *const	*abuse;
	const char *const	*admin;
	const char *const	*feedback;
	const char *const	*sales;
	const char *const	*security;
	const char *const	*status;
	const char *const	*support;
};

/* A URI per RFC 3986 3.1: scheme ":" something; printable ASCII only. */
static int
serverinfo_uri_ok(const char *s)
{
	static const char bad[] = "<>\"{}|\\^`";
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	for (p++; *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' ||
		    *p == '.'))
			return 0;
	if (p[1] == '\0')
		return 0;
	/* Shown in XML and to people: no spaces, controls or raw UTF-8. */
	for (p++; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr(bad, *p) != NULL)
			return 0;
	return 1;
}

static int
serverinfo_validate(const void *field, const char **error_r)
{
	static char msg[160];
	const char *const *list = *(const char *const *const *)field;
	char shown[48];

	for (size_t i = 0; list[i] != NULL; i++) {
		size_t j;

		if (serverinfo_uri_ok(list[i]))
			continue;
		/* Quote the value, safely, so the operator finds it. */
		for (j = 0; list[i][j] != '\0' && j < sizeof(shown) - 1; j++)
			shown[j] = (unsigned char)list[i][j] < 0x20 ||
			    (unsigned char)list[i][j] >= 0x7f ? '?' :
			    list[i][j];
		shown[j] = '\0';
		snprintf(msg, sizeof(msg), "element %zu (\"%s%s\") is not a "
		    "URI such as \"mailto:abuse@example.org\" or "
		    "\"xmpp:admin@example.org\"", i + 1, shown,
		    list[i][j] != '\0' ? "..." : "");
		*error_r = msg;
		return -1;
	}
	return 0;
}

#define SERVERINFO_DIR(n) \
	{ .name = #n, .type = MP_CT_STRINGS, \
	  .offset = offsetof(struct serverinfo_conf, n), \
	  .validate = serverinfo_validate }

static const struct mp_directive serverinfo_directives[] = {
	SERVERINFO_DIR(abuse),
	SERVERINFO_DIR(admin),
	SERVERINFO_DIR(feedback),
	SERVERINFO_DIR(sales),
	SERVERINFO_DIR(security),
	SERVERINFO_DIR(status),
	SERVERINFO_DIR(support),
	MP_DIRECTIVES_END,
};

static const struct serverinfo_conf *serverinfo;

static void
serverinfo_field(struct mp_arena *a, struct mp_node *x, const char *var,
    const char *type, const char *const *values)
{
	struct mp_node *f = mp_node_add(a, x, NULL, "field");

	mp_node_set_attr(a, f, "var", var);
	if (type != NULL)
		mp_node_set_attr(a, f, "type", type);
	for (; *values != NULL; values++)
		mp_node_add_text(a, mp_node_add(a, f, NULL, "value"), *values,
		    strlen(*values));
}

/*
 * XEP-0157 section 3 with XEP-0128: one list-multi field per kind that has
 * addresses; kinds without any are left out, and so is the whole form.
 */
static enum mp_verdict
serverinfo_host_info(struct mp_event *ev, void *arg)
{
	static const char *const form_type[] = { SERVERINFO_FORM, NULL };
	const struct {
		const char		*var;
		const char *const	*values;
	} kinds[] = {
		{ "abuse-addresses", serverinfo->abuse },
		{ "admin-addresses", serverinfo->admin },
		{ "feedback-addresses", serverinfo->feedback },
		{ "sales-addresses", serverinfo->sales },
		{ "security-addresses", serverinfo->security },
		{ "status-addresses", serverinfo->status },
		{ "support-addresses", serverinfo->support },
	};
	const size_t nkinds = sizeof(kinds) / sizeof(kinds[0]);
	struct mp_node *x = NULL;

	for (size_t i = 0; i < nkinds; i++) {
		if (kinds[i].values[0] == NULL)
			continue;
		if (x == NULL) {
			x = mp_node_add(ev->arena, ev->stanza, NS_DATA, "x");
			mp_node_set_attr(ev->arena, x, "type", "result");
			serverinfo_field(ev->arena, x, "FORM_TYPE", "hidden",
			    form_type);
		}
		serverinfo_field(ev->arena, x, kinds[i].var, "list-multi",
		    kinds[i].values);
	}
	return MP_PASS;
}

static int
serverinfo_load(struct mp_module_ctx *mc, const void *conf,
    const char **error_r)
{
	serverinfo = conf;
	return mp_hook(mc, "disco-info/host", serverinfo_host_info, NULL,
	    MP_PRIO_NORMAL, error_r);
}

static void
serverinfo_unload(struct mp_module_ctx *mc)
{
	serverinfo = NULL;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "serverinfo",
	.depends = (const char *const[]){ "disco", NULL },
	.directives = serverinfo_directives,
	.conf_size = sizeof(struct serverinfo_conf),
	.load = serverinfo_load,
	.unload = serverinfo_unload,
};
