/* c2s.h - client-to-server streams (RFC 6120): TLS, SASL, bind, then the router. */
#ifndef MP_C2S_H
#define MP_C2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct mp_node;
struct mp_session;

/* Starts the sweep that frees idle streams' parsers. */
void	mp_c2s_init(void);
void	mp_c2s_accept(int fd, const struct sockaddr *peer, bool direct_tls);
void	mp_c2s_send(struct mp_session *s, const struct mp_node *stanza);
/* Closes every stream with <system-shutdown/>. */
void	mp_c2s_shutdown_all(void);
/* A stanza to a session that is not bound yet (pre-auth replies). */
void	mp_c2s_send_unbound(struct mp_session *s, const struct mp_node *stanza);
/* Writes a serialized stanza and records it for XEP-0198. */
void	mp_c2s_emit(struct mp_session *s, const char *data, size_t len,
	    bool message);
/* XEP-0352 (c2s_csi.c): true when the stanza waits for the client. */
bool	mp_c2s_csi_hold(struct mp_session *s, const struct mp_node *st,
	    const char *data, size_t len);
void	mp_c2s_csi_flush(struct mp_session *s);
void	mp_c2s_csi_element(struct mp_session *s, struct mp_node *st);
void	mp_c2s_csi_free(struct mp_session *s);
/* XEP-0198 (c2s_sm.c). */
/* How many stanzas an <a h/> acknowledges, counting modulo 2^32; -1 if more were claimed than sent. */
int	mp_sm_newly_acked(uint32_t acked, uint32_t out, uint32_t h,
	    uint32_t *n_r);
void	mp_c2s_sm_element(struct mp_session *s, struct mp_node *st);
void	mp_c2s_sm_sent(struct mp_session *s, const char *data, size_t len,
	    bool message);
void	mp_c2s_sm_handled(struct mp_session *s);
bool	mp_c2s_sm_hibernate(struct mp_session *s);
bool	mp_c2s_sm_resumable(const struct mp_session *s);
void	mp_c2s_sm_free(struct mp_session *s);
/* Within the c2s files. */
void	mp_c2s_uncount(struct mp_session *s);
void	mp_c2s_rearm(struct mp_session *s);
void	mp_c2s_hibernate_timer(struct mp_session *s, long seconds);
struct mp_arena;
void	mp_c2s_write(struct mp_session *s, const char *str);
void	mp_c2s_stream_error(struct mp_session *s, const char *cond,
	    const char *app_ns, const char *app_name, const char *text);
/* Adds <mechanisms/> and the XEP-0440 channel-binding types to features. */
void	mp_c2s_sasl_features(struct mp_session *s, struct mp_arena *a,
	    struct mp_node *features);
/* <auth/>, <response/>, <abort/>. */
void	mp_c2s_sasl(struct mp_session *s, struct mp_node *st,
	    struct mp_arena *a);
/* Frees every session still there (after the shutdown grace period) and the sweep. */
void	mp_c2s_free_all(void);

#endif
