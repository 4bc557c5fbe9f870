/* listener.h - listening sockets for c2s and direct-TLS c2s. */
#ifndef MP_LISTENER_H
#define MP_LISTENER_H

struct mp_config;

/* Binds every configured address; -1 with error_r if any fails. */
int	mp_listeners_open(const struct mp_config *c, const char **error_r);
void	mp_listeners_close(void);

#endif
