/* conn.h - a client connection: a socket, optionally TLS, with buffered output. */
#ifndef MP_CONN_H
#define MP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct mp_conn;

struct mp_conn_cbs {
	/* Plaintext from the peer. */
	void	(*read)(void *ctx, const char *data, size_t len);
	/* The TLS handshake finished. */
	void	(*tls_ready)(void *ctx);
	/* The connection is gone (why: for the log); the owner frees it now. */
	void	(*closed)(void *ctx, const char *why);
};

struct mp_conn	*mp_conn_new(int fd, const struct sockaddr *peer,
		    const struct mp_conn_cbs *cbs, void *ctx);
void		 mp_conn_free(struct mp_conn *c);
/* Hands the connection to another owner (stream resumption moves it). */
void		 mp_conn_set_ctx(struct mp_conn *c, void *ctx);
/* Starts TLS once what is queued has gone out (STARTTLS) or at once (direct TLS). */
int		 mp_conn_start_tls(struct mp_conn *c, const char **error_r);
bool		 mp_conn_is_tls(const struct mp_conn *c);
/* Queues bytes; they go out when the loop gets back to the socket. */
void		 mp_conn_write(struct mp_conn *c, const void *data, size_t len);
/* Sends what is queued, then closes: closed() follows. */
void		 mp_conn_close(struct mp_conn *c, const char *why);
/* Frees the output buffer when nothing waits in it (idle connections). */
void		 mp_conn_trim(struct mp_conn *c);
/* Stops reading (the stream is being closed). */
void		 mp_conn_stop_reading(struct mp_conn *c);
const char	*mp_conn_peer(const struct mp_conn *c);
/* The peer's address without the port. */
const char	*mp_conn_ip(const struct mp_conn *c);
/* The SNI name the client sent, or NULL. */
const char	*mp_conn_sni(struct mp_conn *c);
/* Channel binding data ("tls-exporter", "tls-server-end-point"): 0 or -1. */
int		 mp_conn_channel_binding(struct mp_conn *c, const char *type,
		    unsigned char *buf, size_t size, size_t *len_r);
/* The negotiated TLS version name, or NULL. */
const char	*mp_conn_tls_version(const struct mp_conn *c);

#endif
