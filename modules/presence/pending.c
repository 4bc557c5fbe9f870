/* pending.c - stores inbound subscription requests under "<user>\0<contact>" until answered. */
#include <stdint.h>
#include <string.h>

#include "pending.h"

/* A request larger than this is kept without its extensions. */
#define PENDING_MAX_BYTES	8192

static struct mp_db *pending_db;

int
pending_open(const char **error_r)
{
	return mp_db_open(mp_store_get(), "presence.pending", &pending_db,
	    error_r);
}

static void
pending_key(struct mp_buf *k, const char *user, const char *contact)
{
	mp_buf_append(k, user, strlen(user));
	mp_buf_putc(k, '\0');
	if (contact != NULL)
		mp_buf_append(k, contact, strlen(contact));
}

struct pending_op {
	struct mp_buf	 key;
	struct mp_buf	 val;	/* empty: delete */
	bool		 range;	/* delete every key under the prefix */
};

static int
pending_collect(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct mp_buf *keys = arg;
	uint32_t len = (uint32_t)key->len;

	mp_buf_append(keys, &len, sizeof(len));
	mp_buf_append(keys, key->data, key->len);
	return 0;
}

static int
pending_write(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct pending_op *op = arg;
	struct mp_buf keys = MP_BUF_INIT, end = MP_BUF_INIT;
	int rc = 0;

	if (!op->range) {
		if (op->val.len > 0)
			rc = mp_txn_put(txn, pending_db, op->key.data,
			    op->key.len, op->val.data, op->val.len);
		else
			rc = mp_txn_del(txn, pending_db, op->key.data,
			    op->key.len) == -1 ? -1 : 0;
		if (rc == -1)
			*error_r = "storage error";
		return rc;
	}
	mp_buf_append(&end, op->key.data, op->key.len);
	end.data[end.len - 1] = '\1';
	if (mp_txn_scan(txn, pending_db, op->key.data, op->key.len, end.data,
	    end.len, false, pending_collect, &keys) == -1)
		rc = -1;
	for (size_t off = 0; rc == 0 && off < keys.len;) {
		uint32_t len;

		memcpy(&len, keys.data + off, sizeof(len));
		off += sizeof(len);
		if (mp_txn_del(txn, pending_db, keys.data + off, len) == -1)
			rc = -1;
		off += len;
	}
	if (rc == -1)
		*error_r = "storage error";
	mp_buf_free(&keys);
	mp_buf_free(&end);
	return rc;
}

static int
pending_run(struct pending_op *op, const char *user)
{
	const char *err;
	int rc;

	rc = mp_store_write(mp_store_get(), pending_write, op, &err);
	if (rc == -1)
		mp_log_warnx("presence: %s: pending requests: %s", user, err);
	mp_buf_free(&op->key);
	mp_buf_free(&op->val);
	return rc;
}

int
pending_store(const char *user, const char *contact,
    const struct mp_node *stanza)
{
	struct pending_op op = { MP_BUF_INIT, MP_BUF_INIT, false };

	pending_key(&op.key, user, contact);
	mp_xml_serialize(&op.val, stanza, MP_NS_CLIENT);
	if (op.val.len > PENDING_MAX_BYTES) {
		mp_buf_reset(&op.val);
		mp_buf_puts(&op.val, "<presence type='subscribe' from='");
		mp_xml_escape(&op.val, contact, strlen(contact), true);
		mp_buf_puts(&op.val, "' to='");
		mp_xml_escape(&op.val, user, strlen(user), true);
		mp_buf_puts(&op.val, "'/>");
	}
	return pending_run(&op, user);
}

int
pending_drop(const char *user, const char *contact)
{
	struct pending_op op = { MP_BUF_INIT, MP_BUF_INIT, false };

	pending_key(&op.key, user, contact);
	return pending_run(&op, user);
}

int
pending_drop_user(const char *user)
{
	struct pending_op op = { MP_BUF_INIT, MP_BUF_INIT, true };

	pending_key(&op.key, user, NULL);
	return pending_run(&op, user);
}

struct pending_scan {
	struct mp_arena	*a;
	size_t		 prefix;
	pending_fn	*fn;
	void		*arg;
	/* copied out first: callbacks may write to the store */
	const char	**contacts;
	struct mp_node	**stanzas;
	size_t		 n, cap;
};

static int
pending_visit(const struct mp_val *key, const struct mp_val *val, void *arg)
{
	struct pending_scan *ps = arg;
	struct mp_node *st;

	if (key->len <= ps->prefix)
		return 0;
	st = mp_xml_parse(ps->a, val->data, val->len, MP_NS_CLIENT);
	if (st == NULL)
		return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		const char **c = mp_arena_alloc(ps->a, cap * sizeof(*c));
		struct mp_node **s = mp_arena_alloc(ps->a, cap * sizeof(*s));

		if (ps->n > 0) {
			memcpy(c, ps->contacts, ps->n * sizeof(*c));
			memcpy(s, ps->stanzas, ps->n * sizeof(*s));
		}
		ps->contacts = c;
		ps->stanzas = s;
		ps->cap = cap;
	}
	ps->contacts[ps->n] = mp_arena_strndup(ps->a,
	    (const char *)key->data + ps->prefix, key->len - ps->prefix);
	ps->stanzas[ps->n++] = st;
	return 0;
}

long
pending_foreach(const char *user, struct mp_arena *a, pending_fn *fn,
    void *arg)
{
	struct pending_scan ps = { .a = a, .fn = fn, .arg = arg };
	struct mp_buf s = MP_BUF_INIT, e = MP_BUF_INIT;
	struct mp_txn *txn;
	const char *err;
	long n;

	if (mp_txn_read(mp_store_get(), &txn, &err) == -1)
		return -1;
	pending_key(&s, user, NULL);
	pending_key(&e, user, NULL);
	e.data[e.len - 1] = '\1';
	ps.prefix = s.len;
	n = mp_txn_scan(txn, pending_db, s.data, s.len, e.data, e.len, false,
	    pending_visit, &ps);
	mp_txn_abort(txn);
	mp_buf_free(&s);
	mp_buf_free(&e);
	if (n == -1)
		return -1;
	for (size_t i = 0; i < ps.n; i++)
		fn(ps.contacts[i], ps.stanzas[i], arg);
	return (long)ps.n;
}
