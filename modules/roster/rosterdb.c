/* rosterdb.c - encodes roster records and versions for the store and reads them back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterdb.h"

/* Records: "<flags>\0<ver>\0<name>\0<group>\0...", flags five '0'/'1' digits. */
#define ROSTERDB_MAX_GROUPS	1024

static struct mp_db *rosterdb_items;	/* "<user>\0<contact>" */
static struct mp_db *rosterdb_meta;	/* "<user>" */

int
rosterdb_open(const char **error_r)
{
	if (mp_db_open(mp_store_get(), "roster.items", &rosterdb_items,
	    error_r) == -1)
		return -1;
	return mp_db_open(mp_store_get(), "roster.meta", &rosterdb_meta,
	    error_r);
}

static void
rosterdb_key(struct mp_buf *k, const char *user, const char *contact)
{
	mp_buf_reset(k);
	mp_buf_append(k, user, strlen(user));
	mp_buf_putc(k, '\0');
	if (contact != NULL)
		mp_buf_append(k, contact, strlen(contact));
}

bool
rosterdb_stateless(const struct mp_roster_state *s)
{
	return s->sub == MP_SUB_NONE && !s->pending_out && !s->pending_in &&
	    !s->approved;
}

/* Decodes a record's value; -1 when it is damaged. */
static int
rosterdb_decode(struct mp_arena *a, const char *contact, size_t clen,
    const struct mp_val *v, struct rosterdb_rec *r)
{
	const char *p = v->data, *end = p + v->len, *nul;
	const char **groups;
	size_t n = 0;
	char *e;

	memset(r, 0, sizeof(*r));
	if (v->len < 8 || p[5] != '\0' || p[0] < '0' || p[0] > '3')
		return -1;
	r->item.contact = mp_arena_strndup(a, contact, clen);
	r->item.state.sub = (enum mp_subscription)(p[0] - '0');
	r->item.state.pending_out = p[1] == '1';
	r->item.state.pending_in = p[2] == '1';
	r->item.state.approved = p[3] == '1';
	r->item.state.listed = p[4] == '1';
	p += 6;
	if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
		return -1;
	errno = 0;
	r->ver = strtoll(p, &e, 10);
	if (e != nul || errno != 0 || r->ver < 0)
		return -1;
	p = nul + 1;
	if (p >= end || (nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
		return -1;
	if (*p == '+')
		r->item.name = mp_arena_strndup(a, p + 1, (size_t)(nul - p - 1));
	p = nul + 1;
	groups = mp_arena_alloc(a, sizeof(*groups) * (ROSTERDB_MAX_GROUPS + 1));
	while (p < end && n < ROSTERDB_MAX_GROUPS) {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			return -1;
		groups[n++] = mp_arena_strndup(a, p, (size_t)(nul - p));
		p = nul + 1;
	}
	r->item.groups = groups;
	r->item.ngroups = n;
	return 0;
}

int
rosterdb_get(struct mp_txn *txn, struct mp_arena *a, const char *user,
    const char *contact, struct rosterdb_rec *r)
{
	struct mp_buf k = MP_BUF_INIT;
	struct mp_val v;
	int rc;

	memset(r, 0, sizeof(*r));
	rosterdb_key(&k, user, contact);
	rc = mp_txn_get(txn, rosterdb_items, k.data, k.len, &v);
	mp_buf_free(&k);
	if (rc != 1)
		return rc;
	if (rosterdb_decode(a, contact, strlen(contact), &v, r) == -1) {
		mp_log_warnx("roster: damaged record %s -> %s", user, contact);
		return -1;
	}
	return 1;
}

int
rosterdb_put(struct mp_txn *txn, const char *user, const struct rosterdb_rec *r)
{
	const struct mp_roster_state *s = &r->item.state;
	struct mp_buf k = MP_BUF_INIT, v = MP_BUF_INIT;
	int rc;

	mp_buf_printf(&v, "%c%c%c%c%c", '0' + (int)s->sub,
	    s->pending_out ? '1' : '0', s->pending_in ? '1' : '0',
	    s->approved ? '1' : '0', s->listed ? '1' : '0');
	mp_buf_putc(&v, '\0');
	mp_buf_printf(&v, "%lld", r->ver);
	mp_buf_putc(&v, '\0');
	if (r->item.name != NULL) {
		mp_buf_putc(&v, '+');
		mp_buf_puts(&v, r->item.name);
	}
	mp_buf_putc(&v, '\0');
	for (size_t i = 0; i < r->item.ngroups; i++) {
		mp_buf_puts(&v, r->item.groups[i]);
		mp_buf_putc(&v, '\0');
	}
	rosterdb_key(&k, user, r->item.contact);
	rc = mp_txn_put(txn, rosterdb_items, k.data, k.len, v.data, v.len);
	mp_buf_free(&k);
	mp_buf_free(&v);
	return rc;
}

int
rosterdb_del(struct mp_txn *txn, const char *user, const char *contact)
{
	struct mp_buf k = MP_BUF_INIT;
	int rc;

	rosterdb_key(&k, user, contact);
	rc = mp_txn_del(txn, rosterdb_items, k.data, k.len);
	mp_buf_free(&k);
	return rc;
}

struct rosterdb_scan_ctx {
	struct mp_arena	*a;
	size_t		 prefix;
	rosterdb_rec_fn	*fn;
	void		*arg;
	const char	*user;
};

static int
rosterdb_scan_one(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct rosterdb_scan_ctx *c = arg;
	struct rosterdb_rec r;

	if (key->len < c->prefix)
		return 0;
	if (rosterdb_decode(c->a, (const char *)key->data + c->prefix,
	    key->len - c->prefix, val, &r) == -1) {
		mp_log_warnx("roster: damaged record of %s skipped", c->user);
		return 0;
	}
	return c->fn(&r, c->arg);
}

long
rosterdb_scan(struct mp_txn *txn, struct mp_arena *a, const char *user,
    rosterdb_rec_fn *fn, void *arg)
{
	struct rosterdb_scan_ctx c = { .a = a, .fn = fn, .arg = arg,
	    .user = user };
	struct mp_buf s = MP_BUF_INIT, e = MP_BUF_INIT;
	long n;

	rosterdb_key(&s, user, NULL);
	rosterdb_key(&e, user, NULL);
	e.data[e.len - 1] = '\1';
	c.prefix = s.len;
	n = mp_txn_scan(txn, rosterdb_items, s.data, s.len, e.data, e.len,
	    false, rosterdb_scan_one, &c);
	mp_buf_free(&s);
	mp_buf_free(&e);
	return n;
}

int
rosterdb_meta_get(struct mp_txn *txn, const char *user, struct rosterdb_meta *m)
{
	struct mp_val v;
	char tmp[96];
	int rc;

	memset(m, 0, sizeof(*m));
	rc = mp_txn_get(txn, rosterdb_meta, user, strlen(user), &v);
	if (rc != 1)
		return rc;
	if (v.len >= sizeof(tmp))
		return -1;
	memcpy(tmp, v.data, v.len);
	tmp[v.len] = '\0';
	if (sscanf(tmp, "%lld %lld %lld", &m->epoch, &m->ver, &m->floor) != 3 ||
	    m->epoch < 0 || m->ver < 0 || m->floor < 0) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 1;
}

int
rosterdb_meta_put(struct mp_txn *txn, const char *user,
    const struct rosterdb_meta *m)
{
	char tmp[96];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%lld %lld %lld", m->epoch, m->ver,
	    m->floor);
	return mp_txn_put(txn, rosterdb_meta, user, strlen(user), tmp,
	    (size_t)n);
}

struct rosterdb_keys {
	struct mp_buf	 keys;	/* NUL-separated contacts */
};

static int
rosterdb_collect(const struct rosterdb_rec *r, void *arg)
{
	struct rosterdb_keys *k = arg;

	mp_buf_append(&k->keys, r->item.contact, strlen(r->item.contact) + 1);
	return 0;
}

int
rosterdb_drop_user(struct mp_txn *txn, const char *user)
{
	struct rosterdb_keys k = { MP_BUF_INIT };
	struct mp_arena *a = mp_arena_new();
	int rc = 0;

	if (rosterdb_scan(txn, a, user, rosterdb_collect, &k) == -1)
		rc = -1;
	for (size_t off = 0; rc == 0 && off < k.keys.len;
	    off += strlen(k.keys.data + off) + 1)
		if (rosterdb_del(txn, user, k.keys.data + off) == -1)
			rc = -1;
	if (rc == 0 && mp_txn_del(txn, rosterdb_meta, user, strlen(user)) == -1)
		rc = -1;
	mp_buf_free(&k.keys);
	mp_arena_free(a);
	return rc;
}

char *
rosterdb_ver_string(struct mp_arena *a, const struct rosterdb_meta *m,
    long long ver)
{
	return mp_arena_printf(a, "%lld-%lld", m->epoch, ver);
}

int
rosterdb_ver_parse(const char *s, long long *epoch_r, long long *ver_r)
{
	char *e;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*epoch_r = strtoll(s, &e, 10);
	if (errno != 0 || *e != '-' || e[1] < '0' || e[1] > '9')
		return -1;
	*ver_r = strtoll(e + 1, &e, 10);
	if (errno != 0 || *e != '\0')
		return -1;
	return 0;
}
