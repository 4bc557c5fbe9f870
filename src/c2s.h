/* c2s.h - client-to-server streams (RFC 6120): TLS, SASL, bind, then the router. */
#ifndef MP_C2S_H
#define MP_C2S_H

#include <stdbool.h>
#include <sys/socket.h>

struct mp_node;
struct mp_session;

void	mp_c2s_accept(int fd, const struct sockaddr *peer, bool direct_tls);
void	mp_c2s_send(struct mp_session *s, const struct mp_node *stanza);
/* Closes every stream with <system-shutdown/>. */
void	mp_c2s_shutdown_all(void);
/* Frees every session still there (after the shutdown grace period). */
void	mp_c2s_free_all(void);

#endif
