/* mam.c - the mam scenario: fills the archives, then times XEP-0313 pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Fill messages a sender has on the way: enough to keep the server
 * busy, few enough that a queue never builds up in front of it. */
#define MAM_WINDOW	32
#define MAM_POOL	64	/* archive ids remembered per user */
#define MAM_ID_MAX	64	/* longer ids are not remembered */
#define MAM_SAMPLES	4	/* ids kept from each page */
#define MAM_PREFS	"<iq type='set' id='mp.prefs'>" \
	"<prefs xmlns='urn:xmpp:mam:2' default='always'/></iq>"

/* An archive id a later query may page from. */
struct mam_anchor {
	char		 id[MAM_ID_MAX];
	long		 after;		/* items known to follow it */
};

struct mam_user {
	struct bench_conn *c;		/* NULL when not online */
	int		 sent;		/* fill messages */
	int		 delivered;	/* of those, seen by the recipient */
	int		 received;
	struct mam_anchor pool[MAM_POOL];
	int		 npool;
};

struct mam_sample {
	char		 id[MAM_ID_MAX];
	int		 pos;		/* in the page */
};

struct mam_query {
	bool		 busy;
	int		 user;
	unsigned	 serial;
	uint64_t	 t_sent;
	long		 anchor_after;	/* -1: the last page */
	long		 expect;	/* fewer results is an error */
	int		 results;
	struct mam_sample samples[MAM_SAMPLES];
};

static struct mam_user *mam_users;	/* 1..users */
static struct mam_query *mam_queries;	/* concurrency slots */
static int *mam_free;			/* stack of free slots */
static int mam_nfree;
static unsigned mam_serial;
static int mam_prefs_pending;		/* prefs not answered yet */
static uint64_t mam_t_fill, mam_t_progress;
static char *mam_buf;

static long
mam_min(long a, long b)
{
	return a < b ? a : b;
}

/* Remembers an id; a full pool forgets a random one, so it stays a
 * sample of everything seen. */
static void
mam_remember(struct mam_user *u, const char *id, size_t len, long after)
{
	struct mam_anchor *a;

	if (len == 0 || len >= MAM_ID_MAX)
		return;
	if (u->npool < MAM_POOL)
		a = &u->pool[u->npool++];
	else
		a = &u->pool[bench_random() % MAM_POOL];
	memcpy(a->id, id, len);
	a->id[len] = '\0';
	a->after = after;
}

static void
mam_fill_send(struct bench *b, int user)
{
	struct mam_user *u = &mam_users[user];
	int to = user % b->users + 1, hl, body;

	while (u->c != NULL && u->sent < b->fill &&
	    u->sent - u->delivered < MAM_WINDOW) {
		hl = snprintf(mam_buf, 512, "<message to='%s%d@%s'"
		    " type='chat' id='f%d'><body>", b->user_prefix, to,
		    b->domain, u->sent);
		body = snprintf(mam_buf + hl, 64, "MPF:%d:", user);
		hl += body;
		if (body < b->msg_size) {
			memset(mam_buf + hl, 'x', (size_t)(b->msg_size - body));
			hl += b->msg_size - body;
		}
		memcpy(mam_buf + hl, "</body></message>", 17);
		bench_conn_send(u->c, mam_buf, (size_t)hl + 17);
		u->sent++;
		b->fill_sent++;
	}
}

void
bench_mam_fill_start(struct bench *b)
{
	int i;

	if ((mam_users = calloc((size_t)b->users + 1,
	    sizeof(*mam_users))) == NULL ||
	    (mam_queries = calloc((size_t)b->concurrency,
	    sizeof(*mam_queries))) == NULL ||
	    (mam_free = calloc((size_t)b->concurrency,
	    sizeof(*mam_free))) == NULL ||
	    (mam_buf = malloc((size_t)b->msg_size + 1024)) == NULL)
		abort();
	for (i = 0; i < b->concurrency; i++)
		mam_free[mam_nfree++] = b->concurrency - 1 - i;
	/* The fill must reach the archives whatever the server's default
	 * (ejabberd's is never); other users keep theirs. */
	for (i = 0; i < b->nonline; i++) {
		mam_users[b->online[i]->user].c = b->online[i];
		bench_conn_send(b->online[i], MAM_PREFS, sizeof(MAM_PREFS) - 1);
		mam_prefs_pending++;
	}
	mam_t_fill = mam_t_progress = bench_now();
}

/* The stanza-ids seen during the fill were numbered as they came; the
 * count of later arrivals is known only now. */
static void
mam_fill_end(struct bench *b, uint64_t now)
{
	struct mam_user *u;
	int i, j;

	for (i = 1; i <= b->users; i++) {
		u = &mam_users[i];
		b->fill_lost += (uint64_t)(b->fill - u->delivered);
		for (j = 0; j < u->npool; j++)
			u->pool[j].after = u->received - 1 - u->pool[j].after;
	}
	if (b->fill_lost > 0)
		bench_error(b, "fill: %" PRIu64 " messages not delivered",
		    b->fill_lost);
	b->fill_secs = (double)(now - mam_t_fill) / 1e9;
}

bool
bench_mam_fill_tick(struct bench *b, uint64_t now)
{
	int i;

	if (mam_prefs_pending > 0) {
		if ((double)(now - mam_t_fill) / 1e9 < b->timeout)
			return false;
		fprintf(stderr, "magpie-bench: %d mam prefs unanswered\n",
		    mam_prefs_pending);
	}
	if (mam_prefs_pending >= 0) {
		mam_prefs_pending = -1;
		mam_t_fill = mam_t_progress = now;
		for (i = 1; i <= b->users; i++)
			mam_fill_send(b, i);
	}
	if (b->fill_delivered >= (uint64_t)b->fill * (uint64_t)b->users ||
	    (double)(now - mam_t_progress) / 1e9 >= b->timeout) {
		mam_fill_end(b, now);
		return true;
	}
	return false;
}

/* A live message: a fill message reaching its recipient. */
static void
mam_fill_message(struct bench_conn *c, const char *st, size_t len)
{
	struct bench *b = c->b;
	struct mam_user *u = &mam_users[c->user], *from;
	const char *p = memmem(st, len, "MPF:", 4), *end = st + len;
	char by[160], me[160], id[MAM_ID_MAX];
	long sender;

	if (p == NULL || mam_users == NULL)
		return;
	sender = strtol(p + 4, NULL, 10);
	if (sender < 1 || sender > b->users)
		return;
	from = &mam_users[sender];
	from->delivered++;
	b->fill_delivered++;
	mam_t_progress = bench_now();
	/* XEP-0359: where the recipient's archive keeps it.  The position
	 * is turned into a count of later items at the end of the fill. */
	snprintf(me, sizeof(me), "%s%d@%s", b->user_prefix, c->user,
	    b->domain);
	for (p = st; (p = memmem(p, (size_t)(end - p), "<stanza-id",
	    10)) != NULL; p += 10)
		if (bench_attr(p, (size_t)(end - p), "by", by, sizeof(by)) &&
		    strcmp(by, me) == 0 &&
		    bench_attr(p, (size_t)(end - p), "id", id, sizeof(id)))
			mam_remember(u, id, strlen(id), u->received);
	u->received++;
	mam_fill_send(b, (int)sender);
}

/* The slot of a queryid or iq id ("mq<slot>.<serial>"), or NULL. */
static struct mam_query *
mam_lookup(struct bench_conn *c, const char *qid)
{
	struct bench *b = c->b;
	struct mam_query *q;
	unsigned long slot, serial;
	char *dot;

	if (mam_queries == NULL || strncmp(qid, "mq", 2) != 0)
		return NULL;
	slot = strtoul(qid + 2, &dot, 10);
	if (*dot != '.' || slot >= (unsigned long)b->concurrency)
		return NULL;
	serial = strtoul(dot + 1, NULL, 10);
	q = &mam_queries[slot];
	if (!q->busy || q->serial != serial || q->user != c->user)
		return NULL;
	return q;
}

void
bench_mam_message(struct bench_conn *c, const char *st, size_t len)
{
	const char *p = memmem(st, len, "<result", 7);
	size_t rest;
	struct mam_query *q;
	char qid[32], id[MAM_ID_MAX];
	int k;

	if (p == NULL) {
		mam_fill_message(c, st, len);
		return;
	}
	rest = len - (size_t)(p - st);
	if (!bench_attr(p, rest, "queryid", qid, sizeof(qid)) ||
	    (q = mam_lookup(c, qid)) == NULL)
		return;
	/* Reservoir sampling: each result is as likely to be kept. */
	k = q->results < MAM_SAMPLES ? q->results :
	    (int)(bench_random() % (uint64_t)(q->results + 1));
	if (k < MAM_SAMPLES && bench_attr(p, rest, "id", id, sizeof(id))) {
		snprintf(q->samples[k].id, MAM_ID_MAX, "%s", id);
		q->samples[k].pos = q->results;
	}
	q->results++;
}

static void
mam_done(struct mam_query *q)
{
	q->busy = false;
	mam_free[mam_nfree++] = (int)(q - mam_queries);
}

void
bench_mam_iq(struct bench_conn *c, const char *st, size_t len)
{
	struct bench *b = c->b;
	struct mam_user *u = &mam_users[c->user];
	struct mam_query *q;
	char id[32], type[16] = "";
	long after;
	int i;

	if (!bench_attr(st, len, "id", id, sizeof(id)))
		return;
	bench_attr(st, len, "type", type, sizeof(type));
	if (strcmp(id, "mp.prefs") == 0 && mam_prefs_pending > 0) {
		/* Not fatal: the server may archive anyway, which the
		 * queries will tell. */
		if (strcmp(type, "result") != 0)
			fprintf(stderr, "magpie-bench: %s%d: mam prefs"
			    " refused: %.*s\n", b->user_prefix, c->user,
			    (int)(len < 200 ? len : 200), st);
		mam_prefs_pending--;
		return;
	}
	if ((q = mam_lookup(c, id)) == NULL)
		return;
	if (strcmp(type, "result") != 0 || memmem(st, len, "<fin", 4) ==
	    NULL) {
		b->query_errors++;
		bench_error(b, "%s%d: mam query %s: %.*s", b->user_prefix,
		    c->user, id, (int)(len < 200 ? len : 200), st);
		mam_done(q);
		return;
	}
	bench_hist_add(&b->query_lat, (bench_now() - q->t_sent) / 1000);
	b->query_results += (uint64_t)q->results;
	if (q->results < q->expect) {
		b->query_errors++;
		bench_error(b, "%s%d: mam query %s: %d results, expected %ld",
		    b->user_prefix, c->user, id, q->results, q->expect);
	} else
		b->queries_ok++;
	for (i = 0; i < MAM_SAMPLES && i < q->results; i++) {
		after = q->anchor_after < 0 ? q->results - 1 -
		    q->samples[i].pos : q->anchor_after - 1 - q->samples[i].pos;
		/* The newest items lead to empty pages: no use as anchors. */
		if (after > 0 && q->samples[i].id[0] != '\0')
			mam_remember(u, q->samples[i].id,
			    strlen(q->samples[i].id), after);
	}
	mam_done(q);
}

bool
bench_mam_query(struct bench *b)
{
	struct bench_conn *c;
	struct mam_user *u;
	struct mam_query *q;
	struct mam_anchor *a = NULL;
	int slot, n;

	if (b->nonline == 0 || mam_nfree == 0)
		return false;
	c = b->online[bench_random() % (uint64_t)b->nonline];
	u = &mam_users[c->user];
	slot = mam_free[--mam_nfree];
	q = &mam_queries[slot];
	memset(q, 0, sizeof(*q));
	q->busy = true;
	q->user = c->user;
	q->serial = ++mam_serial;
	/* Half the queries page forward from an id seen before, the others
	 * ask for the newest page, as a client opening a chat does. */
	if (u->npool > 0 && bench_random() % 2 == 0)
		a = &u->pool[bench_random() % (uint64_t)u->npool];
	q->anchor_after = a != NULL ? a->after : -1;
	q->expect = mam_min(b->page, a != NULL ? a->after :
	    u->delivered + u->received);
	n = snprintf(mam_buf, 1024, "<iq type='set' id='mq%d.%u'>"
	    "<query xmlns='urn:xmpp:mam:2' queryid='mq%d.%u'>"
	    "<set xmlns='http://jabber.org/protocol/rsm'><max>%d</max>"
	    "%s%s%s</set></query></iq>", slot, q->serial, slot, q->serial,
	    b->page, a != NULL ? "<after>" : "<before/>",
	    a != NULL ? a->id : "", a != NULL ? "</after>" : "");
	q->t_sent = bench_now();
	b->queries++;
	bench_conn_send(c, mam_buf, (size_t)n);
	return true;
}

void
bench_mam_expire(struct bench *b, uint64_t now, bool force)
{
	uint64_t limit = (uint64_t)(b->timeout * 1e9);
	int i;

	for (i = 0; mam_queries != NULL && i < b->concurrency; i++) {
		struct mam_query *q = &mam_queries[i];

		if (!q->busy || (!force && now - q->t_sent <= limit))
			continue;
		b->query_errors++;
		bench_error(b, "%s%d: mam query mq%d.%u: no answer",
		    b->user_prefix, q->user, i, q->serial);
		mam_done(q);
	}
}

int
bench_mam_pending(const struct bench *b)
{
	return mam_queries != NULL ? b->concurrency - mam_nfree : 0;
}

void
bench_mam_offline(struct bench_conn *c)
{
	if (mam_users != NULL && mam_users[c->user].c == c)
		mam_users[c->user].c = NULL;
}

void
bench_mam_free(void)
{
	free(mam_users);
	free(mam_queries);
	free(mam_free);
	free(mam_buf);
	mam_users = NULL;
	mam_prefs_pending = 0;
	mam_queries = NULL;
	mam_free = NULL;
	mam_buf = NULL;
}
