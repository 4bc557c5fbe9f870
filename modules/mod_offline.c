/*
 * mod_offline.c - XEP-0160 offline messages: stored in order with a XEP-0203
 * delay, delivered when the user sends non-negative available presence.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magpie/module.h>

#define NS_DELAY	"urn:xmpp:delay"
#define NS_HINTS	"urn:xmpp:hints"
#define NS_CHATSTATES	"http://jabber.org/protocol/chatstates"

#define OFFLINE_SEQ_LEN	8	/* big-endian sequence after "<bare>\0" */

struct offline_conf {
	long	 max_per_user;
};

static const struct mp_directive offline_directives[] = {
	{ .name = "max_per_user", .type = MP_CT_INT,
	  .offset = offsetof(struct offline_conf, max_per_user),
	  .def = "1000", .min = 0, .max = 1000000 },
	MP_DIRECTIVES_END,
};

enum {
	OFFLINE_ERR_FULL,
	OFFLINE_ERR_STORE,
};

static const struct mp_error offline_errors[] = {
	/* XEP-0160 section 2: a full queue answers service-unavailable. */
	[OFFLINE_ERR_FULL] = { MP_ERR_CANCEL, "service-unavailable",
	    "The recipient's offline message storage is full", NULL, NULL },
	[OFFLINE_ERR_STORE] = { MP_ERR_WAIT, "resource-constraint",
	    "Offline message storage is unavailable; try again later",
	    NULL, NULL },
};

/* What to do with a message nobody is available to receive. */
enum offline_action {
	OFFLINE_STORE,
	OFFLINE_DROP,		/* nothing worth keeping: dropped silently */
	OFFLINE_BOUNCE,		/* the core answers service-unavailable */
};

static struct mp_db *offline_db;
static long offline_max;

/* A user's key range: "<bare>\0" up to (not including) "<bare>\1". */
static void
offline_range(struct mp_buf *start, struct mp_buf *end, const char *bare)
{
	size_t len = strlen(bare);

	mp_buf_append(start, bare, len);
	mp_buf_putc(start, '\0');
	mp_buf_append(end, bare, len);
	mp_buf_putc(end, '\1');
}

static void
offline_key(struct mp_buf *k, const char *bare, uint64_t seq)
{
	unsigned char s[OFFLINE_SEQ_LEN];

	for (int i = OFFLINE_SEQ_LEN - 1; i >= 0; i--, seq >>= 8)
		s[i] = (unsigned char)(seq & 0xff);
	mp_buf_append(k, bare, strlen(bare));
	mp_buf_putc(k, '\0');
	mp_buf_append(k, s, sizeof(s));
}

/* The sequence at the end of a key, or 0 for a key of the wrong shape. */
static uint64_t
offline_key_seq(const struct mp_val *key)
{
	const unsigned char *p = key->data;
	uint64_t seq = 0;

	if (key->len < OFFLINE_SEQ_LEN + 1)
		return 0;
	p += key->len - OFFLINE_SEQ_LEN;
	for (int i = 0; i < OFFLINE_SEQ_LEN; i++)
		seq = seq << 8 | p[i];
	return seq;
}

/* Whether a child carries something a recipient would want later. */
static bool
offline_is_content(const struct mp_node *c)
{
	if (strcmp(c->xmlns, NS_CHATSTATES) == 0 ||
	    strcmp(c->xmlns, NS_HINTS) == 0)
		return false;
	/* A thread id alone says nothing. */
	return !(strcmp(c->xmlns, MP_NS_CLIENT) == 0 &&
	    strcmp(c->name, "thread") == 0);
}

static bool
offline_has_content(const struct mp_node *st)
{
	for (struct mp_node *c = mp_node_first_element(st); c != NULL;
	    c = mp_node_next_element(c))
		if (offline_is_content(c))
			return true;
	return false;
}

/*
 * XEP-0160 section 3 by type, refined by XEP-0334 hints: <no-store/> keeps
 * a message out, <store/> keeps even a headline; chat states alone (XEP-0085
 * section 5.6) and empty messages are not worth storing nor bouncing.
 */
static enum offline_action
offline_policy(const struct mp_event *ev)
{
	const struct mp_node *st = ev->stanza;
	const char *type = ev->type != NULL ? ev->type : "normal";
	bool headline = strcmp(type, "headline") == 0;

	if (strcmp(type, "error") == 0 || strcmp(type, "groupchat") == 0)
		return OFFLINE_BOUNCE;
	if (mp_node_child(st, NS_HINTS, "no-store") != NULL)
		return headline || !offline_has_content(st) ? OFFLINE_DROP :
		    OFFLINE_BOUNCE;
	if (mp_node_child(st, NS_HINTS, "store") != NULL)
		return OFFLINE_STORE;
	if (headline || !offline_has_content(st))
		return OFFLINE_DROP;
	/* normal, chat, and unknown types (RFC 6121 5.2.2: as normal). */
	return OFFLINE_STORE;
}

/* XEP-0082 DateTime in UTC. */
static void
offline_stamp(char *out, size_t size, long long now)
{
	time_t t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(out, "1970-01-01T00:00:00Z");
}

/*
 * The stanza as it will be delivered: a XEP-0203 delay from this host, and
 * no delay from a sender pretending to be this host.
 */
static struct mp_node *
offline_prepare(struct mp_event *ev)
{
	struct mp_node *st = mp_node_copy(ev->arena, ev->stanza);
	struct mp_node *c, *next, *d;
	const char *host = ev->to.domain, *from;
	char stamp[32];
	static const char reason[] = "Offline Storage";

	for (c = mp_node_first_element(st); c != NULL; c = next) {
		next = mp_node_next_element(c);
		if (strcmp(c->xmlns, NS_DELAY) == 0 &&
		    strcmp(c->name, "delay") == 0 &&
		    (from = mp_node_attr(c, "from")) != NULL &&
		    strcmp(from, host) == 0)
			mp_node_remove(c);
	}
	offline_stamp(stamp, sizeof(stamp), mp_time_now());
	d = mp_node_add(ev->arena, st, NS_DELAY, "delay");
	mp_node_set_attr(ev->arena, d, "from", host);
	mp_node_set_attr(ev->arena, d, "stamp", stamp);
	mp_node_add_text(ev->arena, d, reason, sizeof(reason) - 1);
	return st;
}

struct offline_put {
	const char	*bare;
	const struct mp_buf *xml;
	long		 max;
	long		 count;		/* scan state, reset on every run */
	uint64_t	 last;
	bool		 full;
};

static int
offline_count_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct offline_put *p = arg;

	/* The reverse scan meets the newest first. */
	if (p->count++ == 0)
		p->last = offline_key_seq(key);
	return p->count >= p->max ? 1 : 0;
}

static int
offline_put_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct offline_put *p = arg;
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT, k = MP_BUF_INIT;
	int rc = -1;

	p->count = 0;
	p->last = 0;
	p->full = p->max <= 0;
	if (p->full)
		return 0;
	offline_range(&start, &end, p->bare);
	if (mp_txn_scan(txn, offline_db, start.data, start.len, end.data,
	    end.len, true, offline_count_cb, p) == -1) {
		*error_r = "scan failed";
		goto out;
	}
	if (p->count >= p->max) {
		p->full = true;
		rc = 0;
		goto out;
	}
	if (p->last == UINT64_MAX) {
		*error_r = "sequence exhausted";
		goto out;
	}
	offline_key(&k, p->bare, p->last + 1);
	if (mp_txn_put(txn, offline_db, k.data, k.len, p->xml->data,
	    p->xml->len) == -1) {
		*error_r = "put failed";
		goto out;
	}
	rc = 0;
out:
	mp_buf_free(&start);
	mp_buf_free(&end);
	mp_buf_free(&k);
	return rc;
}

static enum mp_verdict
offline_message(struct mp_event *ev, void *arg)
{
	struct offline_put p = { .max = offline_max };
	struct mp_buf xml = MP_BUF_INIT;
	const char *err;

	switch (offline_policy(ev)) {
	case OFFLINE_BOUNCE:
		return MP_PASS;
	case OFFLINE_DROP:
		return MP_HANDLED;
	case OFFLINE_STORE:
		break;
	}
	p.bare = mp_jid_bare(ev->arena, &ev->to);
	mp_xml_serialize(&xml, offline_prepare(ev), MP_NS_CLIENT);
	p.xml = &xml;
	/* Committed before we answer for the message (XEP-0160 step 4). */
	if (mp_store_write(mp_store_get(), offline_put_fn, &p, &err) == -1) {
		mp_log_warnx("%s: cannot store a message: %s", p.bare, err);
		mp_reply_error(ev, &offline_errors[OFFLINE_ERR_STORE]);
	} else if (p.full) {
		mp_log_info("%s: offline storage full (%ld messages)", p.bare,
		    offline_max);
		mp_reply_error(ev, &offline_errors[OFFLINE_ERR_FULL]);
	} else
		mp_log_debug("%s: message stored (#%llu)", p.bare,
		    (unsigned long long)(p.last + 1));
	mp_buf_free(&xml);
	return MP_HANDLED;
}

/* Keys handed to a session, deleted once they all went out. */
struct offline_batch {
	struct mp_session *session;
	const char	*bare;
	uint64_t	*seqs;
	size_t		 n;
	size_t		 cap;
};

static void
offline_batch_add(struct offline_batch *b, uint64_t seq)
{
	if (b->n == b->cap) {
		b->cap = b->cap != 0 ? b->cap * 2 : 16;
		b->seqs = mp_xrealloc(b->seqs, b->cap * sizeof(*b->seqs));
	}
	b->seqs[b->n++] = seq;
}

static int
offline_send_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct offline_batch *b = arg;
	struct mp_arena *a = mp_arena_new();
	struct mp_node *st = mp_xml_parse(a, val->data, val->len,
	    MP_NS_CLIENT);

	/* One that cannot be read back could never go out: drop it. */
	if (st == NULL)
		mp_log_warnx("%s: unreadable offline message #%llu removed",
		    b->bare, (unsigned long long)offline_key_seq(key));
	else
		mp_session_send(b->session, st);
	offline_batch_add(b, offline_key_seq(key));
	mp_arena_free(a);
	return 0;
}

static int
offline_del_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct offline_batch *b = arg;
	struct mp_buf k = MP_BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < b->n && rc == 0; i++) {
		mp_buf_reset(&k);
		offline_key(&k, b->bare, b->seqs[i]);
		if (mp_txn_del(txn, offline_db, k.data, k.len) == -1) {
			*error_r = "delete failed";
			rc = -1;
		}
	}
	mp_buf_free(&k);
	return rc;
}

/*
 * Sends everything stored to the session in order, then deletes what was
 * sent in one transaction: a failure on the way redelivers, never loses.
 */
static void
offline_deliver(struct mp_session *s, struct mp_arena *a)
{
	struct offline_batch b = { .session = s };
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	struct mp_txn *txn;
	const char *err;
	long n;

	b.bare = mp_jid_bare(a, mp_session_jid(s));
	if (mp_txn_read(mp_store_get(), &txn, &err) == -1) {
		mp_log_warnx("%s: offline messages unreadable: %s", b.bare,
		    err);
		return;
	}
	offline_range(&start, &end, b.bare);
	n = mp_txn_scan(txn, offline_db, start.data, start.len, end.data,
	    end.len, false, offline_send_cb, &b);
	mp_txn_abort(txn);
	if (n == -1)
		mp_log_warnx("%s: offline messages: scan failed after %zu",
		    b.bare, b.n);
	if (b.n > 0) {
		if (mp_store_write(mp_store_get(), offline_del_fn, &b,
		    &err) == -1)
			mp_log_warnx("%s: %zu offline messages sent but not "
			    "removed: %s", b.bare, b.n, err);
		else
			mp_log_info("%s: %zu offline messages delivered to %s",
			    b.bare, b.n, mp_jid_full(a, mp_session_jid(s)));
	}
	mp_buf_free(&start);
	mp_buf_free(&end);
	free(b.seqs);
}

/* XEP-0160 section 2: initial presence with a non-negative priority. */
static enum mp_verdict
offline_available(struct mp_event *ev, void *arg)
{
	if (ev->session != NULL && mp_session_priority(ev->session) >= 0)
		offline_deliver(ev->session, ev->arena);
	return MP_PASS;
}

/* A later presence that raises the priority to zero or more. */
static enum mp_verdict
offline_presence(struct mp_event *ev, void *arg)
{
	if (ev->type == NULL && ev->session != NULL &&
	    mp_session_available(ev->session) &&
	    mp_session_priority(ev->session) >= 0)
		offline_deliver(ev->session, ev->arena);
	return MP_PASS;
}

struct offline_wipe {
	const char	*bare;
	struct mp_buf	 keys;	/* each key preceded by its length */
};

static int
offline_wipe_cb(const struct mp_val *key, const struct mp_val *val,
    void *arg)
{
	struct offline_wipe *w = arg;

	mp_buf_append(&w->keys, &key->len, sizeof(key->len));
	mp_buf_append(&w->keys, key->data, key->len);
	return 0;
}

static int
offline_wipe_fn(struct mp_txn *txn, void *arg, const char **error_r)
{
	struct offline_wipe *w = arg;
	struct mp_buf start = MP_BUF_INIT, end = MP_BUF_INIT;
	size_t off = 0, len;
	int rc = 0;

	mp_buf_reset(&w->keys);
	offline_range(&start, &end, w->bare);
	if (mp_txn_scan(txn, offline_db, start.data, start.len, end.data,
	    end.len, false, offline_wipe_cb, w) == -1) {
		*error_r = "scan failed";
		rc = -1;
	}
	while (rc == 0 && off < w->keys.len) {
		memcpy(&len, w->keys.data + off, sizeof(len));
		off += sizeof(len);
		if (mp_txn_del(txn, offline_db, w->keys.data + off,
		    len) == -1) {
			*error_r = "delete failed";
			rc = -1;
		}
		off += len;
	}
	mp_buf_free(&start);
	mp_buf_free(&end);
	return rc;
}

static enum mp_verdict
offline_user_deleted(struct mp_event *ev, void *arg)
{
	struct offline_wipe w = { .keys = MP_BUF_INIT };
	const char *err;

	w.bare = mp_jid_bare(ev->arena, &ev->from);
	if (mp_store_write(mp_store_get(), offline_wipe_fn, &w, &err) == -1)
		mp_log_warnx("%s: offline messages not removed: %s", w.bare,
		    err);
	mp_buf_free(&w.keys);
	return MP_PASS;
}

static int
offline_load(struct mp_module_ctx *mc, const void *conf,
    const char **error_r)
{
	const struct offline_conf *oc = conf;

	offline_max = oc->max_per_user;
	if (mp_db_open(mp_store_get(), "offline.messages", &offline_db,
	    error_r) == -1)
		return -1;
	mp_add_feature(mc, "msgoffline");
	/* Above the core's own answer, which bounces. */
	if (mp_hook(mc, "message/offline", offline_message, NULL,
	    MP_PRIO_FALLBACK, error_r) == -1 ||
	    mp_hook(mc, "session-available", offline_available, NULL,
	    MP_PRIO_NORMAL, error_r) == -1 ||
	    mp_hook(mc, "presence/broadcast", offline_presence, NULL,
	    MP_PRIO_POLICY, error_r) == -1 ||
	    mp_hook(mc, "user-deleted", offline_user_deleted, NULL,
	    MP_PRIO_NORMAL, error_r) == -1)
		return -1;
	return 0;
}

const struct mp_module mp_module = {
	.abi = MP_MODULE_ABI,
	.size = sizeof(struct mp_module),
	.name = "offline",
	.directives = offline_directives,
	.conf_size = sizeof(struct offline_conf),
	.load = offline_load,
};
