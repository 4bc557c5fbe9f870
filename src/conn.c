/* conn.c - one client socket over libevent, plaintext or GnuTLS, with a batched output queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/log.h>

#include "config.h"
#include "conn.h"
#include "server.h"
#include "tls.h"

#define READ_CHUNK	16384
#define TLS_RECORD	16384

enum conn_mode {
	CONN_PLAIN,
	CONN_TLS_WAIT,		/* STARTTLS: <proceed/> still going out */
	CONN_TLS_HANDSHAKE,
	CONN_TLS,
};

struct mp_conn {
	int			 fd;
	enum conn_mode		 mode;
	struct event		*ev_read;
	struct event		*ev_write;
	gnutls_session_t	 tls;
	struct mp_tls_creds	*creds;
	struct mp_buf		 out;
	size_t			 out_off;
	const struct mp_conn_cbs *cbs;
	void			*ctx;
	const char		*close_why;
	bool			 closing;
	bool			 finished;	/* closed() was called */
	char			 peer[INET6_ADDRSTRLEN + 8];
	char			 ip[INET6_ADDRSTRLEN];
	char			*sni;
	/* limits.read_rate: a token bucket; reading pauses when empty. */
	long			 tokens;
	long			 refill_ms;
	struct event		*ev_resume;
	bool			 overflow;	/* limits.max_send_queue passed */
};

static char read_buf[READ_CHUNK];

static long
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct mp_limits_conf *
conn_limits(void)
{
	return &mp_srv.conf->limits;
}

static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_resume_cb(evutil_socket_t, short, void *);

static void
conn_format_peer(struct mp_conn *c, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];

	snprintf(c->ip, sizeof(c->ip), "?");
	if (sa == NULL) {
		snprintf(c->peer, sizeof(c->peer), "?");
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->ip, sizeof(c->ip), "%s", host);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		    ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->ip, sizeof(c->ip), "%s", host);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
		    ntohs(in6->sin6_port));
	} else
		snprintf(c->peer, sizeof(c->peer), "?");
}

struct mp_conn *
mp_conn_new(int fd, const struct sockaddr *peer, const struct mp_conn_cbs *cbs,
    void *ctx)
{
	struct mp_conn *c = mp_xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->cbs = cbs;
	c->ctx = ctx;
	conn_format_peer(c, peer);
	c->ev_read = event_new(mp_srv.base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	c->ev_write = event_new(mp_srv.base, fd, EV_WRITE, conn_write_cb, c);
	c->ev_resume = evtimer_new(mp_srv.base, conn_resume_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_resume == NULL)
		mp_fatalx("event_new failed");
	c->tokens = conn_limits()->read_burst;
	c->refill_ms = conn_now_ms();
	event_add(c->ev_read, NULL);
	return c;
}

void
mp_conn_free(struct mp_conn *c)
{
	if (c == NULL)
		return;
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_resume);
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	mp_tls_creds_release(c->creds);
	if (c->fd != -1)
		close(c->fd);
	mp_buf_free(&c->out);
	free(c->sni);
	free(c);
}

const char *
mp_conn_peer(const struct mp_conn *c)
{
	return c->peer;
}

const char *
mp_conn_ip(const struct mp_conn *c)
{
	return c->ip;
}

bool
mp_conn_is_tls(const struct mp_conn *c)
{
	return c->mode == CONN_TLS;
}

/* Reports the end exactly once, from an event callback; c may be freed by it. */
static void
conn_finish(struct mp_conn *c, const char *why)
{
	if (c->finished)
		return;
	c->finished = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_del(c->ev_resume);
	c->cbs->closed(c->ctx, why);
}

static void
conn_schedule_write(struct mp_conn *c)
{
	if (!event_pending(c->ev_write, EV_WRITE, NULL))
		event_active(c->ev_write, EV_WRITE, 0);
}

void
mp_conn_write(struct mp_conn *c, const void *data, size_t len)
{
	long max = conn_limits()->max_send_queue;

	if (c->finished || c->overflow || len == 0)
		return;
	/* A client that does not read is dropped, not buffered for. */
	if (max > 0 && c->out.len - c->out_off + len > (size_t)max) {
		mp_log_info("%s: send queue over %ld bytes: dropping the "
		    "connection", c->peer, max);
		c->overflow = true;
		event_del(c->ev_read);
		/* Even while a write waits on the full socket. */
		event_active(c->ev_write, EV_WRITE, 0);
		return;
	}
	mp_buf_append(&c->out, data, len);
	conn_schedule_write(c);
}

/*
 * Takes n bytes from the read budget; 0 when reading may go on, or -1
 * after pausing reads until the budget has refilled.
 */
static int
conn_spend(struct mp_conn *c, size_t n)
{
	const struct mp_limits_conf *lc = conn_limits();
	long now, wait_ms;
	struct timeval tv;

	if (lc->read_rate <= 0)
		return 0;
	now = conn_now_ms();
	c->tokens += (now - c->refill_ms) * lc->read_rate / 1000;
	if (c->tokens > lc->read_burst)
		c->tokens = lc->read_burst;
	c->refill_ms = now;
	c->tokens -= (long)n;
	if (c->tokens > 0)
		return 0;
	wait_ms = (1 - c->tokens) * 1000 / lc->read_rate + 1;
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	event_del(c->ev_read);
	evtimer_add(c->ev_resume, &tv);
	return -1;
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mp_conn *c = arg;

	if (c->finished || c->closing || c->overflow)
		return;
	event_add(c->ev_read, NULL);
	/* TLS may hold decrypted records the socket will not signal. */
	event_active(c->ev_read, EV_READ, 0);
}

void
mp_conn_close(struct mp_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_why = why;
	event_del(c->ev_read);
	event_active(c->ev_write, EV_WRITE, 0);
}

void
mp_conn_stop_reading(struct mp_conn *c)
{
	event_del(c->ev_read);
}

static void
conn_tls_wait(struct mp_conn *c)
{
	/* GnuTLS says which way it is blocked. */
	if (gnutls_record_get_direction(c->tls) == 1)
		event_add(c->ev_write, NULL);
}

static void
conn_handshake(struct mp_conn *c)
{
	int rc = gnutls_handshake(c->tls);

	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		conn_tls_wait(c);
		return;
	}
	if (rc < 0) {
		mp_log_info("%s: TLS handshake failed: %s", c->peer,
		    gnutls_strerror(rc));
		conn_finish(c, "TLS handshake failed");
		return;
	}
	c->mode = CONN_TLS;
	mp_log_debug("%s: %s established", c->peer, mp_conn_tls_version(c));
	c->cbs->tls_ready(c->ctx);
}

int
mp_conn_start_tls(struct mp_conn *c, const char **error_r)
{
	if (mp_tls_session_new(&c->tls, &c->creds, error_r) == -1)
		return -1;
	gnutls_transport_set_int(c->tls, c->fd);
	c->mode = CONN_TLS_WAIT;
	if (c->out.len == c->out_off) {
		c->mode = CONN_TLS_HANDSHAKE;
		conn_handshake(c);
	} else
		conn_schedule_write(c);
	return 0;
}

/* Sends what is queued: 1 all gone, 0 blocked, -1 failed. */
static int
conn_flush(struct mp_conn *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		size_t len = c->out.len - c->out_off;

		if (c->mode == CONN_TLS) {
			if (len > TLS_RECORD)
				len = TLS_RECORD;
			n = gnutls_record_send(c->tls, c->out.data + c->out_off,
			    len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				conn_tls_wait(c);
				event_add(c->ev_write, NULL);
				return 0;
			}
			if (n < 0) {
				mp_log_info("%s: TLS send: %s", c->peer,
				    gnutls_strerror((int)n));
				return -1;
			}
		} else {
			n = send(c->fd, c->out.data + c->out_off, len,
			    MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				event_add(c->ev_write, NULL);
				return 0;
			}
			if (n == -1) {
				mp_log_debug("%s: send: %s", c->peer,
				    strerror(errno));
				return -1;
			}
		}
		c->out_off += (size_t)n;
	}
	/* Keep a small buffer, give back a big one. */
	if (c->out.cap > 4096)
		mp_buf_free(&c->out);
	else
		mp_buf_reset(&c->out);
	c->out_off = 0;
	return 1;
}

void
mp_conn_trim(struct mp_conn *c)
{
	if (c->out_off == c->out.len) {
		mp_buf_free(&c->out);
		c->out_off = 0;
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mp_conn *c = arg;
	int rc;

	if (c->finished)
		return;
	if (c->overflow) {
		conn_finish(c, "send queue overflow");
		return;
	}
	/* Closing before TLS is up: there is no stream to finish. */
	if (c->closing && (c->mode == CONN_TLS_HANDSHAKE ||
	    c->mode == CONN_TLS_WAIT)) {
		conn_finish(c, c->close_why);
		return;
	}
	if (c->mode == CONN_TLS_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	rc = conn_flush(c);
	if (rc == -1) {
		conn_finish(c, c->closing ? c->close_why : "write failed");
		return;
	}
	if (rc == 0)
		return;
	if (c->mode == CONN_TLS_WAIT) {
		c->mode = CONN_TLS_HANDSHAKE;
		conn_handshake(c);
		return;
	}
	if (c->closing) {
		if (c->mode == CONN_TLS)
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		shutdown(c->fd, SHUT_WR);
		conn_finish(c, c->close_why);
	}
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mp_conn *c = arg;
	ssize_t n;

	if (c->finished || c->closing || c->overflow ||
	    evtimer_pending(c->ev_resume, NULL))
		return;
	switch (c->mode) {
	case CONN_TLS_WAIT:
		return;	/* nothing may arrive before <proceed/> is out */
	case CONN_TLS_HANDSHAKE:
		conn_handshake(c);
		return;
	case CONN_PLAIN:
		n = recv(c->fd, read_buf, sizeof(read_buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_finish(c, n == 0 ? "closed by peer" :
			    "read failed");
			return;
		}
		c->cbs->read(c->ctx, read_buf, (size_t)n);
		if (!c->finished)
			conn_spend(c, (size_t)n);
		return;
	case CONN_TLS:
		do {
			n = gnutls_record_recv(c->tls, read_buf,
			    sizeof(read_buf));
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return;
			if (n == GNUTLS_E_REHANDSHAKE) {
				/* Renegotiation is refused (RFC 7590). */
				gnutls_alert_send(c->tls, GNUTLS_AL_WARNING,
				    GNUTLS_A_NO_RENEGOTIATION);
				conn_finish(c, "TLS renegotiation refused");
				return;
			}
			if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
				conn_finish(c, "closed by peer");
				return;
			}
			if (n < 0) {
				mp_log_debug("%s: TLS receive: %s", c->peer,
				    gnutls_strerror((int)n));
				conn_finish(c, "TLS error");
				return;
			}
			c->cbs->read(c->ctx, read_buf, (size_t)n);
			if (c->finished || conn_spend(c, (size_t)n) == -1)
				return;
		} while (!c->closing && !c->overflow &&
		    gnutls_record_check_pending(c->tls) > 0);
		return;
	}
}

const char *
mp_conn_sni(struct mp_conn *c)
{
	char name[256];
	size_t len = sizeof(name) - 1;
	unsigned type;

	if (c->tls == NULL)
		return NULL;
	if (c->sni == NULL) {
		if (gnutls_server_name_get(c->tls, name, &len, &type, 0) < 0 ||
		    type != GNUTLS_NAME_DNS)
			return NULL;
		name[len] = '\0';
		c->sni = mp_xstrdup(name);
	}
	return c->sni;
}

int
mp_conn_channel_binding(struct mp_conn *c, const char *type,
    unsigned char *buf, size_t size, size_t *len_r)
{
	gnutls_channel_binding_t cbt;
	gnutls_datum_t d;

	if (c->mode != CONN_TLS)
		return -1;
	if (strcmp(type, "tls-exporter") == 0) {
		/* RFC 9266: only with TLS 1.3 or the extended master secret. */
		if (gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3 &&
		    !gnutls_session_ext_master_secret_status(c->tls))
			return -1;
		cbt = GNUTLS_CB_TLS_EXPORTER;
	} else if (strcmp(type, "tls-server-end-point") == 0)
		cbt = GNUTLS_CB_TLS_SERVER_END_POINT;
	else
		return -1;
	if (gnutls_session_channel_binding(c->tls, cbt, &d) < 0)
		return -1;
	if (d.size > size) {
		gnutls_free(d.data);
		return -1;
	}
	memcpy(buf, d.data, d.size);
	*len_r = d.size;
	gnutls_free(d.data);
	return 0;
}

const char *
mp_conn_tls_version(const struct mp_conn *c)
{
	if (c->tls == NULL)
		return NULL;
	return gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls));
}

void
mp_conn_set_ctx(struct mp_conn *c, void *ctx)
{
	c->ctx = ctx;
}
