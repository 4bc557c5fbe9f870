/* session.h - client sessions and the registry of bound resources. */
#ifndef MP_SESSION_H
#define MP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <magpie/jid.h>

struct event;
struct mp_conn;
struct mp_node;
struct mp_sasl;
struct mp_sasl_ctx;
struct mp_xmlstream;

enum mp_c2s_state {
	C2S_CONNECTED,		/* waiting for the stream header */
	C2S_OPEN,		/* header exchanged, before authentication */
	C2S_AUTHENTICATED,	/* after SASL, before bind */
	C2S_BOUND,
	C2S_CLOSING,
};

struct mp_session {
	enum mp_c2s_state	 state;
	struct mp_conn		*conn;
	struct mp_xmlstream	*xs;
	struct event		*timer;
	bool			 direct_tls;
	bool			 tls_required;
	bool			 header_sent;	/* our stream header is out */
	bool			 restart;	/* parser reset pending */
	bool			 discard_rest;	/* drop the rest of the read (STARTTLS) */
	bool			 available;	/* sent available presence */
	bool			 ping_pending;
	int			 priority;
	int			 auth_failures;	/* checked credentials that failed */
	int			 auth_attempts;
	bool			 sasl_checked;	/* this step verifies a credential */
	bool			 counted;	/* in the per-address limits */
	char			 ip[48];	/* the counted address */
	struct mp_sm		*sm;		/* XEP-0198 state once enabled */
	struct mp_csi		*csi;		/* XEP-0352 state once used */
	struct mp_session	*moved_to;	/* resumed into another session */
	long			 last_read;	/* monotonic seconds */
	char			*host;		/* the stream's domain */
	char			*user;		/* after SASL: prepared localpart */
	struct mp_jid		 jid;		/* after bind; strings owned */
	char			*full;		/* "user@host/resource" */
	char			*bare;		/* "user@host" */
	struct mp_sasl		*sasl;
	struct mp_sasl_ctx	*sasl_ctx;
	char			 stream_id[24];
	unsigned		 ping_seq;
	struct mp_sdata		*data;		/* modules' per-session data */
	/* The registry: other resources of the same user. */
	struct mp_session	*next_resource;
	struct mp_session	*next_all;
	struct mp_session	*prev_all;
};

/* XEP-0198: one unacknowledged stanza as sent. */
struct mp_sm_item {
	struct mp_sm_item	*next;
	size_t			 len;
	bool			 message;	/* re-routed if never acknowledged */
	char			 data[];
};

struct mp_csi;

struct mp_sm {
	bool			 resumable;
	bool			 r_pending;	/* our <r/> awaits an <a/> */
	uint32_t		 in;		/* stanzas handled from the client */
	uint32_t		 out;		/* stanzas sent */
	uint32_t		 acked;		/* the client's last h */
	struct mp_sm_item	*head, *tail;
	long			 queued;
	char			 id[40];	/* resumption token */
};

struct mp_sdata {
	struct mp_sdata		*next;
	const void		*owner;
	void			*data;
	void			(*free_fn)(void *);
};

/* Frees the modules' data of a session. */
void	 mp_session_data_free(struct mp_session *s);

/* Binds a resource; a session already holding that full JID is returned in old_r. */
void	 mp_sessions_bind(struct mp_session *s, struct mp_session **old_r);
void	 mp_sessions_unbind(struct mp_session *s);
/* The first resource of a bare JID ("user@host"), then ->next_resource. */
struct mp_session *mp_sessions_of(const char *bare);
struct mp_session *mp_sessions_find(const struct mp_jid *full);
/* Every session, bound or not. */
void	 mp_sessions_link(struct mp_session *s);
void	 mp_sessions_unlink(struct mp_session *s);
struct mp_session *mp_sessions_all(void);
size_t	 mp_sessions_count(void);

#endif
