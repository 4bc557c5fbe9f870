/* mod_vcard.c - XEP-0054: keeps each account's vCard and hands it out. */
#include <stddef.h>
#include <string.h>

#include <magpie/module.h>

#define NS_VCARD	"vcard-temp"

struct vcard_conf {
	long	 max_size;
};

static const struct mp_directive vcard_directives[] = {
	/* Bytes of the serialized <vCard/>; avatars (PHOTO) make up most. */
	{ .name = "max_size", .type = MP_CT_INT,
	  .offset = offsetof(struct vcard_conf, max_size), .def = "65536",
	  .min = 64, .max = 16 * 1024 * 1024 },
	MP_DIRECTIVES_END,
};

/*
 * XEP-0054 names no condition for a vCard the server will not keep.
 * not-acceptable (RFC 6120 8.3.3.9: the request "does not meet criteria
 * defined by the recipient or server") says "change the request" with
 * type modify, which is what a client must do: shrink the PHOTO. It is
 * also what XEP-0049 uses for data a server refuses to store.
 * policy-violation reads as a breach of terms of use, and
 * resource-constraint (type wait) would invite a retry of the same data.
 */
static const struct mp_error vcard_err_too_large = {
	MP_ERR_MODIFY, "not-acceptable", "vCard too large", NULL, NULL,
};
static const struct mp_error vcard_err_not_yours = {
	MP_ERR_AUTH, "forbidden", "Only the owner may change a vCard",
	NULL, NULL,
};

static struct {
	struct mp_db	*db;
	long		 max_size;
} vcard;

struct vcard_put {
	const char	*key;
	const char	*xml;		/* NULL: delete */
	size_t		 len;
};

static int
vcard_put_txn(struct mp_txn *txn, void *arg, const char **error_r)
{
	const struct vcard_put *p = arg;

	if (p->xml == NULL) {
		if (mp_txn_del(txn, vcard.db, p->key, strlen(p->key)) == -1) {
			*error_r = "delete failed";
			return -1;
		}
		return 0;
	}
	if (mp_txn_put(txn, vcard.db, p->key, strlen(p->key), p->xml,
	    p->len) == -1) {
		*error_r = "put failed";
		return -1;
	}
	return 0;
}

static enum mp_verdict
vcard_set(struct mp_event *ev, void *arg)
{
	struct mp_buf b = MP_BUF_INIT;
	struct vcard_put p;
	const char *error = NULL;

	p.key = mp_jid_bare(ev->arena, &ev->from);
	p.xml = NULL;
	p.len = 0;
	/* An empty vCard reads back the same as none: keep nothing. */
	if (ev->payload->children != NULL || ev->payload->attrs != NULL) {
		mp_xml_serialize(&b, ev->payload, MP_NS_CLIENT);
		if (b.len > (size_t)vcard.max_size) {
			mp_buf_free(&b);
			mp_reply_error(ev, &vcard_err_too_large);
			return MP_HANDLED;
		}
		p.xml = b.data;
		p.len = b.len;
	}
	/* Committed before the result: the client may drop its copy then. */
	if (mp_store_write(mp_store_get(), vcard_put_txn, &p, &error) == -1) {
		mp_log_warnx("cannot store the vCard of %s: %s", p.key, error);
		mp_buf_free(&b);
		mp_reply_error(ev, mp_err_for_store(error));
		return MP_HANDLED;
	}
	mp_buf_free(&b);
	mp_reply_result(ev);
	return MP_HANDLED;
}

/* Reads the stored vCard of bare into the arena: 1 found, 0 none, -1 error. */
static int
vcard_load_card(struct mp_arena *a, const char *bare, struct mp_node **card_r)
{
	struct mp_txn *txn;
	struct mp_val v;
	const char *error = NULL;
	int rc;

	*card_r = NULL;
	if (mp_txn_read(mp_store_get(), &txn, &error) == -1) {
		mp_log_warnx("cannot read the vCard of %s: %s", bare, error);
		return -1;
	}
	rc = mp_txn_get(txn, vcard.db, bare, strlen(bare), &v);
	if (rc == 1) {
		*card_r = mp_xml_parse(a, v.data, v.len, MP_NS_CLIENT);
		if (*card_r == NULL ||
		    strcmp((*card_r)->xmlns, NS_VCARD) != 0 ||
		    strcmp((*card_r)->name, "vCard") != 0) {
			mp_log_warnx("stored vCard of %s does not parse", bare);
			rc = -1;
		}
	} else if (rc == -1)
		mp_log_warnx("cannot read the vCard of %s", bare);
	mp_txn_abort(txn);
	return rc;
}

/* XEP-0054 3.1 and 3.3: the card, or an empty one when there is none. */
static enum mp_verdict
vcard_get(struct mp_event *ev, void *arg)
{
	struct mp_node *iq, *card;
	const char *bare = mp_jid_bare(ev->arena, &ev->to);

	switch (vcard_load_card(ev->arena, bare, &card)) {
	case -1:
		mp_reply_error(ev, &mp_err_internal_server_error);
		return MP_HANDLED;
	case 0:
		iq = mp_iq_result_new(ev);
		mp_node_add(ev->arena, iq, NS_VCARD, "vCard");
		break;
	default:
		iq = mp_iq_result_new(ev);
		mp_node_append(iq, card);
		break;
	}
	mp_reply(ev, iq);
	return MP_HANDLED;
}

/* XEP-0054 3.2: only the owner publishes (to no 'to' or their bare JID). */
static enum mp_verdict
vcard_set_other(struct mp_event *ev, void *arg)
{
	mp_reply_error(ev, &vcard_err_not_yours);
	return MP_HANDLED;
}

static enum mp_verdict
vcard_user_deleted(struct mp_event *ev, void *arg)
{
	struct vcard_put p = { .key = mp_jid_bare(ev->arena, &ev->from) };
	const char *error = NULL;

	if (mp_store_write(mp_store_get(), vcard_put_txn, &p, &error) == -1)
		mp_log_warnx("cannot delete the vCard of %s: %s", p.key,
		    error);
	return MP_PASS;
}

static int
vcard_load(struct mp_module_ctx *mc, const void *conf, const char **error_r)
{
	static const struct mp_hook_spec hooks[] = {
		{ "iq-set/self/" NS_VCARD ":vCard", vcard_set, MP_PRIO_NORMAL },
		{ "iq-get/self/" NS_VCARD ":vCard", vcard_get, MP_PRIO_NORMAL },
		{ "iq-get/bare/" NS_VCARD ":vCard", vcard_get, MP_PRIO_NORMAL },
		{ "iq-set/bare/" NS_VCARD ":vCard", vcard_set_other,
		    MP_PRIO_NORMAL },
		{ "user-deleted", vcard_user_deleted, MP_PRIO_NORMAL },
	};
	const struct vcard_conf *vc = conf;

	vcard.max_size = vc->max_size;
	if (mp_db_open(mp_store_get(), "vcard.cards", &vcard.db,
	    error_r) == -1)
		return -1;
	mp_add_feature(mc, NS_VCARD);
	/* XEP-0054 section 6: an account advertises vcard-temp too. */
	mp_add_account_feature(mc, NS_VCARD);
	if (mp_hook_all(mc, hooks, sizeof(hooks) / sizeof(hooks[0]), error_r)
	    == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "vcard",
	.directives = vcard_directives,
	.conf_size = sizeof(struct vcard_conf),
	.load = vcard_load,
};
