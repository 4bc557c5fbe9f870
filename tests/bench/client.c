/* client.c - one generator connection: TLS, stream, SASL, bind, stanzas. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define CLIENT_READ	65536

static char client_rbuf[CLIENT_READ];
static unsigned client_serial;

static void	client_read_cb(evutil_socket_t fd, short what, void *arg);
static void	client_write_cb(evutil_socket_t fd, short what, void *arg);
static void	client_flush(struct bench_conn *c);
static void	client_handshake(struct bench_conn *c);

static void
client_printf(struct bench_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_printf(struct bench_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(c->out, fmt, ap);
	va_end(ap);
	client_flush(c);
}

static void
client_stream_header(struct bench_conn *c)
{
	c->in_len = c->scan = c->tag_start = c->elem_start = 0;
	c->depth = 0;
	c->in_tag = false;
	c->quote = 0;
	c->state = BENCH_C_FEATURES;
	client_printf(c, "<?xml version='1.0'?><stream:stream"
	    " xmlns='jabber:client'"
	    " xmlns:stream='http://etherx.jabber.org/streams'"
	    " to='%s' version='1.0'>", c->b->domain);
}

struct bench_conn *
bench_conn_open(struct bench *b, int user, bool is_login)
{
	struct bench_conn *c;
	int fd, one = 1;

	b->attempts++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		bench_error(b, "socket: %s", strerror(errno));
		b->login_errors++;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (b->nsrc > 0) {
		struct sockaddr_in sa;

		/* The port is picked at connect(), per destination. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr = b->src[b->src_next++ % (unsigned)b->nsrc];
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			bench_error(b, "bind %s: %s", inet_ntoa(sa.sin_addr),
			    strerror(errno));
			close(fd);
			b->login_errors++;
			return NULL;
		}
	}
	if (connect(fd, (struct sockaddr *)&b->dst, sizeof(b->dst)) < 0 &&
	    errno != EINPROGRESS) {
		bench_error(b, "connect: %s", strerror(errno));
		close(fd);
		b->login_errors++;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->b = b;
	c->fd = fd;
	c->user = user;
	c->is_login = is_login;
	c->state = BENCH_C_CONNECTING;
	c->online_idx = -1;
	c->t_start = bench_now();
	c->out = evbuffer_new();
	c->rev = event_new(b->base, fd, EV_READ | EV_PERSIST, client_read_cb,
	    c);
	c->wev = event_new(b->base, fd, EV_WRITE, client_write_cb, c);
	if (c->out == NULL || c->rev == NULL || c->wev == NULL)
		abort();
	event_add(c->wev, NULL);
	c->next = b->conns;
	if (b->conns != NULL)
		b->conns->prev = c;
	b->conns = c;
	b->inflight++;
	b->open++;
	return c;
}

void
bench_conn_fail(struct bench_conn *c, const char *why)
{
	struct bench *b = c->b;

	if (c->state == BENCH_C_DEAD)
		return;
	if (why != NULL) {
		if (c->state == BENCH_C_ONLINE) {
			b->drops++;
			bench_error(b, "%s%d: online session lost: %s",
			    b->user_prefix, c->user, why);
		} else if (c->state != BENCH_C_CLOSING) {
			b->login_errors++;
			bench_error(b, "%s%d: login failed: %s",
			    b->user_prefix, c->user, why);
		}
	}
	if (c->state < BENCH_C_ONLINE)
		b->inflight--;
	if (c->online_idx >= 0) {
		struct bench_conn *last = b->online[--b->nonline];

		bench_on_offline(c);
		b->online[c->online_idx] = last;
		last->online_idx = c->online_idx;
		c->online_idx = -1;
	}
	c->state = BENCH_C_DEAD;
	event_del(c->rev);
	event_del(c->wev);
	if (c->fd >= 0) {
		struct linger lg = { 1, 0 };

		/* A reset leaves no TIME_WAIT to run out of ports with. */
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		c->fd = -1;
		b->open--;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->dead_next = b->dead;
	b->dead = c;
}

void
bench_conn_reap(struct bench *b)
{
	struct bench_conn *c;

	while ((c = b->dead) != NULL) {
		b->dead = c->dead_next;
		event_free(c->rev);
		event_free(c->wev);
		evbuffer_free(c->out);
		if (c->tls != NULL)
			gnutls_deinit(c->tls);
		bench_sasl_free(c->scram);
		free(c->in);
		free(c);
	}
}

void
bench_conn_expire(struct bench *b)
{
	uint64_t limit = (uint64_t)(b->timeout * 1e9), now = bench_now();
	struct bench_conn *c, *next;

	for (c = b->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state < BENCH_C_ONLINE && now - c->t_start > limit)
			bench_conn_fail(c, "timed out");
		else if (c->state == BENCH_C_CLOSING &&
		    now - c->t_start > limit)
			bench_conn_fail(c, NULL);
	}
}

size_t
bench_conn_queued(const struct bench_conn *c)
{
	return evbuffer_get_length(c->out);
}

void
bench_conn_send(struct bench_conn *c, const char *data, size_t len)
{
	if (c->state == BENCH_C_DEAD)
		return;
	evbuffer_add(c->out, data, len);
	client_flush(c);
}

static void
client_flush(struct bench_conn *c)
{
	while (c->state != BENCH_C_DEAD && evbuffer_get_length(c->out) > 0) {
		if (c->tls_on) {
			size_t n = c->tls_pending;
			unsigned char *p;
			ssize_t r;

			if (n == 0)
				n = evbuffer_get_length(c->out) < 16384 ?
				    evbuffer_get_length(c->out) : 16384;
			p = evbuffer_pullup(c->out, (ssize_t)n);
			r = gnutls_record_send(c->tls, p, n);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				c->tls_pending = n;
				event_add(c->wev, NULL);
				return;
			}
			if (r < 0) {
				bench_conn_fail(c, gnutls_strerror((int)r));
				return;
			}
			c->tls_pending = 0;
			evbuffer_drain(c->out, (size_t)r);
		} else {
			int r = evbuffer_write(c->out, c->fd);

			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					event_add(c->wev, NULL);
					return;
				}
				bench_conn_fail(c, strerror(errno));
				return;
			}
		}
	}
}

static void
client_tls_start(struct bench_conn *c)
{
	struct bench *b = c->b;

	if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_priority_set(c->tls, b->prio) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
	    b->cred) < 0) {
		bench_conn_fail(c, "gnutls_init failed");
		return;
	}
	gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, b->domain,
	    strlen(b->domain));
	gnutls_handshake_set_timeout(c->tls, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	c->state = BENCH_C_HANDSHAKE;
	client_handshake(c);
}

/* The handshake scenario stops here: what follows is the login's cost. */
static void
client_handshake_done(struct bench_conn *c)
{
	struct bench *b = c->b;

	b->logins_ok++;
	bench_hist_add(&b->login_lat, (bench_now() - c->t_start) / 1000);
	bench_conn_fail(c, NULL);
}

static void
client_handshake(struct bench_conn *c)
{
	int r = gnutls_handshake(c->tls);

	if (r == 0) {
		c->tls_on = true;
		if (c->b->scen == BENCH_S_HANDSHAKE) {
			client_handshake_done(c);
			return;
		}
		client_stream_header(c);
	} else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
	    !gnutls_error_is_fatal(r)) {
		if (gnutls_record_get_direction(c->tls) == 1)
			event_add(c->wev, NULL);
	} else
		bench_conn_fail(c, gnutls_strerror(r));
}

static void
client_connected(struct bench_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		bench_conn_fail(c, strerror(err));
		return;
	}
	event_add(c->rev, NULL);
	if (c->b->tls == BENCH_TLS_DIRECT)
		client_tls_start(c);
	else
		client_stream_header(c);
}

/* The local name of the element starting at p (after '<'), as a length. */
static size_t
client_name(const char *p, const char *end, const char **name_r)
{
	const char *s = p, *colon = NULL;

	while (p < end && *p != ' ' && *p != '>' && *p != '/' &&
	    *p != '\t' && *p != '\n' && *p != '\r') {
		if (*p == ':')
			colon = p;
		p++;
	}
	*name_r = colon != NULL ? colon + 1 : s;
	return (size_t)(p - *name_r);
}

/* The text between the first '>' and the next '<' of an element. */
static const char *
client_text(const char *st, size_t len, size_t *len_r)
{
	const char *end = st + len, *p = memchr(st, '>', len), *q;

	if (p == NULL || p[-1] == '/') {
		*len_r = 0;
		return st;
	}
	p++;
	q = memchr(p, '<', (size_t)(end - p));
	*len_r = q != NULL ? (size_t)(q - p) : 0;
	return p;
}

bool
bench_attr(const char *st, size_t len, const char *attr, char *out,
    size_t out_len)
{
	const char *end = memchr(st, '>', len), *p = st;
	size_t al = strlen(attr);

	if (end == NULL)
		return false;
	while ((p = memmem(p, (size_t)(end - p), attr, al)) != NULL) {
		const char *v = p + al, *q;

		if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n') &&
		    v + 1 < end && v[0] == '=' && (v[1] == '\'' ||
		    v[1] == '"') &&
		    (q = memchr(v + 2, v[1], (size_t)(end - v - 2))) != NULL) {
			size_t n = (size_t)(q - v - 2);

			if (n >= out_len)
				n = out_len - 1;
			memcpy(out, v + 2, n);
			out[n] = '\0';
			return true;
		}
		p = v;
	}
	return false;
}

static bool
client_has(const char *st, size_t len, const char *what)
{
	return memmem(st, len, what, strlen(what)) != NULL;
}

static void
client_features(struct bench_conn *c, const char *st, size_t len)
{
	struct bench *b = c->b;
	const char *mech;
	char *auth;

	if (b->tls == BENCH_TLS_STARTTLS && !c->tls_on) {
		if (!client_has(st, len, "<starttls")) {
			bench_conn_fail(c, "no STARTTLS offered");
			return;
		}
		c->state = BENCH_C_STARTTLS;
		client_printf(c, "<starttls"
		    " xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
		return;
	}
	if (!c->authed) {
		mech = b->mech == BENCH_MECH_PLAIN ? ">PLAIN<" :
		    b->mech == BENCH_MECH_SCRAM_SHA1 ? ">SCRAM-SHA-1<" :
		    ">SCRAM-SHA-256<";
		if (!client_has(st, len, mech)) {
			bench_conn_fail(c, "mechanism not offered");
			return;
		}
		c->scram = bench_sasl_start(b, c->user, &auth);
		c->state = BENCH_C_AUTH;
		bench_conn_send(c, auth, strlen(auth));
		free(auth);
		return;
	}
	/* Overlapping logins of one user must not replace each other. */
	c->state = BENCH_C_BIND;
	client_printf(c, "<iq type='set' id='bind1'>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
	    "<resource>%s%.0u</resource></bind></iq>", b->resource,
	    c->is_login ? ++client_serial : 0);
}

/* One top-level element; returns false when the stream was reset. */
static bool
client_element(struct bench_conn *c, const char *st, size_t len)
{
	struct bench *b = c->b;
	const char *name, *text, *error;
	size_t nl = client_name(st + 1, st + len, &name), tl;
	char *resp, id[64], type[16];

#define IS(s)	(nl == sizeof(s) - 1 && memcmp(name, s, nl) == 0)
	if (c->state == BENCH_C_ONLINE || c->state == BENCH_C_CLOSING) {
		if (IS("message")) {
			if (bench_attr(st, len, "type", type, sizeof(type)) &&
			    strcmp(type, "error") == 0) {
				b->msg_errors++;
				bench_error(b, "%s%d: message error: %.*s",
				    b->user_prefix, c->user,
				    (int)(len < 200 ? len : 200), st);
			} else
				bench_on_message(c, st, len);
		} else if (IS("iq") &&
		    bench_attr(st, len, "type", type, sizeof(type))) {
			/* Pings and other gets: answer so that we stay. */
			if (strcmp(type, "result") == 0 ||
			    strcmp(type, "error") == 0)
				bench_on_iq(c, st, len);
			else if (strcmp(type, "get") == 0 &&
			    bench_attr(st, len, "id", id, sizeof(id)))
				client_printf(c, "<iq type='result' id='%s'/>",
				    id);
		} else if (IS("error")) {
			bench_conn_fail(c, "stream error");
			return false;
		}
		return true;
	}
	if (IS("error")) {
		char cond[300];

		snprintf(cond, sizeof(cond), "stream error: %.*s",
		    (int)(len < 250 ? len : 250), st);
		bench_conn_fail(c, cond);
		return false;
	}
	switch (c->state) {
	case BENCH_C_FEATURES:
		if (IS("features"))
			client_features(c, st, len);
		break;
	case BENCH_C_STARTTLS:
		if (!IS("proceed")) {
			bench_conn_fail(c, "STARTTLS refused");
			return false;
		}
		client_tls_start(c);
		return false;
	case BENCH_C_AUTH:
		text = client_text(st, len, &tl);
		if (IS("challenge")) {
			resp = bench_sasl_step(b, c->scram, text, tl, &error);
			if (resp == NULL) {
				bench_conn_fail(c, error);
				return false;
			}
			bench_conn_send(c, resp, strlen(resp));
			free(resp);
		} else if (IS("success")) {
			if (bench_sasl_finish(c->scram, text, tl, &error) < 0) {
				bench_conn_fail(c, error);
				return false;
			}
			bench_sasl_free(c->scram);
			c->scram = NULL;
			c->authed = true;
			client_stream_header(c);
			return false;
		} else {
			char cond[300];

			snprintf(cond, sizeof(cond), "SASL: %.*s",
			    (int)(len < 250 ? len : 250), st);
			bench_conn_fail(c, cond);
			return false;
		}
		break;
	case BENCH_C_BIND:
		if (IS("iq") && bench_attr(st, len, "id", id, sizeof(id)) &&
		    strcmp(id, "bind1") == 0) {
			if (!bench_attr(st, len, "type", type, sizeof(type)) ||
			    strcmp(type, "result") != 0) {
				bench_conn_fail(c, "bind refused");
				return false;
			}
			c->state = BENCH_C_ONLINE;
			b->inflight--;
			b->logins_ok++;
			bench_hist_add(&b->login_lat,
			    (bench_now() - c->t_start) / 1000);
			if (c->is_login) {
				c->state = BENCH_C_CLOSING;
				c->t_start = bench_now();
				client_printf(c, "</stream:stream>");
			} else
				bench_on_online(c);
		}
		break;
	default:
		break;
	}
#undef IS
	return c->state != BENCH_C_DEAD;
}

/* Finds the complete top-level elements in c->in and hands them over. */
static void
client_scan(struct bench_conn *c)
{
	size_t keep;

	for (; c->scan < c->in_len && c->state != BENCH_C_DEAD; c->scan++) {
		char ch = c->in[c->scan], k;

		if (!c->in_tag) {
			if (ch == '<') {
				c->in_tag = true;
				c->quote = 0;
				c->tag_start = c->scan;
			}
			continue;
		}
		if (c->quote != 0) {
			if (ch == c->quote)
				c->quote = 0;
			continue;
		}
		if (ch == '\'' || ch == '"') {
			c->quote = ch;
			continue;
		}
		if (ch != '>')
			continue;
		c->in_tag = false;
		k = c->in[c->tag_start + 1];
		if (k == '?' || k == '!')
			continue;
		if (k == '/') {
			if (--c->depth <= 0) {
				bench_conn_fail(c, c->state == BENCH_C_CLOSING ?
				    NULL : "stream closed by server");
				return;
			}
			if (c->depth == 1 && !client_element(c,
			    c->in + c->elem_start, c->scan + 1 - c->elem_start))
				return;
		} else if (c->in[c->scan - 1] == '/') {
			if (c->depth == 1 && !client_element(c,
			    c->in + c->tag_start, c->scan + 1 - c->tag_start))
				return;
		} else {
			if (c->depth == 1)
				c->elem_start = c->tag_start;
			c->depth++;
		}
	}
	if (c->state == BENCH_C_DEAD)
		return;
	/* Keep only what a later read may complete. */
	keep = c->in_tag ? c->tag_start : c->scan;
	if (c->depth >= 2 && c->elem_start < keep)
		keep = c->elem_start;
	if (keep > 0) {
		memmove(c->in, c->in + keep, c->in_len - keep);
		c->in_len -= keep;
		c->scan -= keep;
		c->tag_start -= c->tag_start >= keep ? keep : c->tag_start;
		c->elem_start -= c->elem_start >= keep ? keep : c->elem_start;
	}
	if (c->in_len == 0) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void
client_input(struct bench_conn *c, const char *data, size_t len)
{
	if (c->in_len + len > c->in_cap) {
		size_t cap = c->in_cap == 0 ? 4096 : c->in_cap;

		while (cap < c->in_len + len)
			cap *= 2;
		if (cap > 64 * 1024 * 1024) {
			bench_conn_fail(c, "stanza too large");
			return;
		}
		if ((c->in = realloc(c->in, cap)) == NULL)
			abort();
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	client_scan(c);
}

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench_conn *c = arg;
	int rounds = 0;

	if (c->state == BENCH_C_HANDSHAKE) {
		client_handshake(c);
		if (c->state == BENCH_C_HANDSHAKE || c->state == BENCH_C_DEAD)
			return;
	}
	while (c->state != BENCH_C_DEAD && c->state != BENCH_C_HANDSHAKE &&
	    rounds++ < 16) {
		ssize_t r;

		if (c->tls_on) {
			r = gnutls_record_recv(c->tls, client_rbuf,
			    sizeof(client_rbuf));
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				return;
			if (r < 0 && !gnutls_error_is_fatal((int)r))
				continue;
			if (r < 0) {
				bench_conn_fail(c, c->state == BENCH_C_CLOSING ?
				    NULL : gnutls_strerror((int)r));
				return;
			}
		} else {
			r = recv(c->fd, client_rbuf, sizeof(client_rbuf), 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (r < 0) {
				bench_conn_fail(c, c->state == BENCH_C_CLOSING ?
				    NULL : strerror(errno));
				return;
			}
		}
		if (r == 0) {
			bench_conn_fail(c, c->state == BENCH_C_CLOSING ? NULL :
			    "connection closed by server");
			return;
		}
		client_input(c, client_rbuf, (size_t)r);
		if (!c->tls_on && (size_t)r < sizeof(client_rbuf))
			return;
	}
}

static void
client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench_conn *c = arg;

	switch (c->state) {
	case BENCH_C_CONNECTING:
		client_connected(c);
		break;
	case BENCH_C_HANDSHAKE:
		client_handshake(c);
		break;
	case BENCH_C_DEAD:
		break;
	default:
		client_flush(c);
		break;
	}
}
