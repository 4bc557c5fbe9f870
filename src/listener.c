/* listener.c - accepts connections; on EMFILE the listener pauses instead of spinning. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <magpie/arena.h>
#include <magpie/log.h>

#include "c2s.h"
#include "config.h"
#include "listener.h"
#include "server.h"

struct listener {
	int		 fd;
	bool		 direct_tls;
	struct event	*ev;
	struct event	*pause;
	char		 name[80];
};

static struct listener *listeners;
static size_t nlisteners;

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	event_add(l->ev, NULL);
}

static void
listener_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int cfd, one = 1;

	/* A bounded batch keeps one listener from starving the loop. */
	for (int i = 0; i < 64; i++) {
		len = sizeof(ss);
		cfd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				struct timeval tv = { 1, 0 };

				mp_log_warn("%s: accept paused for 1 s", l->name);
				event_del(l->ev);
				evtimer_add(l->pause, &tv);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				mp_log_warn("%s: accept", l->name);
			return;
		}
		/*
		 * Output is already batched once per loop pass, so Nagle only
		 * adds a delayed-ACK wait (about 40 ms at p99) to each reply.
		 */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		mp_c2s_accept(cfd, (struct sockaddr *)&ss, l->direct_tls);
	}
}

static int
listener_bind(const char *addr, long port, bool direct_tls,
    const char **error_r)
{
	static char msg[256];
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	struct listener *l;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		slen = sizeof(*in);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		slen = sizeof(*in6);
	} else {
		snprintf(msg, sizeof(msg), "listen: bad address %s", addr);
		*error_r = msg;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) == -1 ||
	    listen(fd, 1024) == -1) {
		close(fd);
		goto fail;
	}
	listeners = mp_xrealloc(listeners, (nlisteners + 1) *
	    sizeof(*listeners));
	l = &listeners[nlisteners++];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->direct_tls = direct_tls;
	snprintf(l->name, sizeof(l->name), "%s%s%s:%ld%s",
	    ss.ss_family == AF_INET6 ? "[" : "", addr,
	    ss.ss_family == AF_INET6 ? "]" : "", port,
	    direct_tls ? " (direct TLS)" : "");
	mp_log_info("listening on %s", l->name);
	return 0;
fail:
	snprintf(msg, sizeof(msg), "listen on %s port %ld: %s", addr, port,
	    strerror(errno));
	*error_r = msg;
	return -1;
}

int
mp_listeners_open(const struct mp_config *c, const char **error_r)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct mp_listen_conf *lc = &c->listen[i];
		const char *addr = lc->address;

		if (addr == NULL || strcmp(addr, "*") == 0) {
			if (listener_bind("0.0.0.0", lc->port, lc->direct_tls,
			    error_r) == -1)
				return -1;
			/* A machine without IPv6 still serves IPv4. */
			if (listener_bind("::", lc->port, lc->direct_tls,
			    error_r) == -1)
				mp_log_warnx("%s", *error_r);
		} else if (listener_bind(addr, lc->port, lc->direct_tls,
		    error_r) == -1)
			return -1;
	}
	/* Events are made once the array stops moving. */
	for (size_t i = 0; i < nlisteners; i++) {
		struct listener *l = &listeners[i];

		l->ev = event_new(mp_srv.base, l->fd, EV_READ | EV_PERSIST,
		    listener_accept, l);
		l->pause = evtimer_new(mp_srv.base, listener_resume, l);
		event_add(l->ev, NULL);
	}
	return 0;
}

void
mp_listeners_close(void)
{
	for (size_t i = 0; i < nlisteners; i++) {
		if (listeners[i].ev != NULL)
			event_free(listeners[i].ev);
		if (listeners[i].pause != NULL)
			event_free(listeners[i].pause);
		close(listeners[i].fd);
	}
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
}
