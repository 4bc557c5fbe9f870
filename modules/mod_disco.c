/*
 * mod_disco.c - XEP-0030 service discovery of the server and of accounts,
 * gathered from every module; fires "disco-info/host" and
 * "disco-info/account" so modules can add to the answers.
 */
#include <string.h>

#include <magpie/module.h>

#define NS_DISCO_INFO	"http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS	"http://jabber.org/protocol/disco#items"

struct disco_build {
	struct mp_arena	*arena;
	struct mp_node	*query;
};

static void
disco_add_identity(const char *category, const char *type, const char *name,
    void *arg)
{
	struct disco_build *b = arg;
	struct mp_node *id = mp_node_add(b->arena, b->query, NULL, "identity");

	mp_node_set_attr(b->arena, id, "category", category);
	mp_node_set_attr(b->arena, id, "type", type);
	if (name != NULL)
		mp_node_set_attr(b->arena, id, "name", name);
}

static void
disco_add_feature(const char *var, void *arg)
{
	struct disco_build *b = arg;

	mp_node_set_attr(b->arena, mp_node_add(b->arena, b->query, NULL,
	    "feature"), "var", var);
}

static struct mp_node *
disco_result_query(struct mp_event *ev, const char *ns, struct mp_node **iq_r)
{
	struct mp_node *q;

	*iq_r = mp_iq_result_new(ev);
	q = mp_node_add(ev->arena, *iq_r, ns, "query");
	if (mp_node_attr(ev->payload, "node") != NULL)
		mp_node_set_attr(ev->arena, q, "node",
		    mp_node_attr(ev->payload, "node"));
	return q;
}

/*
 * Lets other modules add to an answer: features of an account, XEP-0128
 * forms. The event's stanza is the <query/> being built, payload the
 * request's <query/>; handlers append and return MP_PASS.
 */
static void
disco_extend(struct mp_event *ev, const char *name, struct mp_node *query)
{
	struct mp_event ext = *ev;

	ext.stanza = query;
	ext.payload = ev->payload;
	mp_hooks_fire_event(name, &ext);
}

static enum mp_verdict
disco_host_info(struct mp_event *ev, void *arg)
{
	struct disco_build b = { .arena = ev->arena };
	struct mp_node *iq;

	if (mp_node_attr(ev->payload, "node") != NULL) {
		mp_reply_error(ev, &mp_err_item_not_found);
		return MP_HANDLED;
	}
	b.query = disco_result_query(ev, NS_DISCO_INFO, &iq);
	mp_identities_foreach(disco_add_identity, &b);
	mp_features_foreach(disco_add_feature, &b);
	disco_extend(ev, "disco-info/host", b.query);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static enum mp_verdict
disco_items(struct mp_event *ev, void *arg)
{
	struct mp_node *iq;

	if (mp_node_attr(ev->payload, "node") != NULL) {
		mp_reply_error(ev, &mp_err_item_not_found);
		return MP_HANDLED;
	}
	disco_result_query(ev, NS_DISCO_ITEMS, &iq);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

/* An account's bare JID answers for the account (XEP-0030 3.1). */
static enum mp_verdict
disco_account_info(struct mp_event *ev, void *arg)
{
	struct disco_build b = { .arena = ev->arena };
	struct mp_node *iq;

	if (mp_node_attr(ev->payload, "node") != NULL) {
		mp_reply_error(ev, &mp_err_item_not_found);
		return MP_HANDLED;
	}
	b.query = disco_result_query(ev, NS_DISCO_INFO, &iq);
	disco_add_identity("account", "registered", NULL, &b);
	mp_account_features_foreach(disco_add_feature, &b);
	disco_extend(ev, "disco-info/account", b.query);
	mp_reply(ev, iq);
	return MP_HANDLED;
}

static int
disco_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-get/host/" NS_DISCO_INFO ":query", disco_host_info,
		    MP_PRIO_NORMAL },
		{ "iq-get/host/" NS_DISCO_ITEMS ":query", disco_items,
		    MP_PRIO_NORMAL },
		{ "iq-get/self/" NS_DISCO_INFO ":query", disco_account_info,
		    MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_DISCO_INFO ":query", disco_account_info,
		    MP_PRIO_NORMAL },
		{ "iq-get/self/" NS_DISCO_ITEMS ":query", disco_items,
		    MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_DISCO_ITEMS ":query", disco_items,
		    MP_PRIO_NORMAL },
	};

	mp_add_identity(mc, "server", "im", mp_server_name());
	mp_add_feature(mc, NS_DISCO_INFO);
	mp_add_feature(mc, NS_DISCO_ITEMS);
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "disco",
	.load = disco_load,
};
