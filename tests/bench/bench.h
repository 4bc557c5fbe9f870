/* bench.h - the shared state of magpie-bench, the XMPP c2s load generator. */
#ifndef MAGPIE_BENCH_H
#define MAGPIE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <gnutls/gnutls.h>

enum bench_scenario {
	BENCH_S_IDLE,
	BENCH_S_LOGIN,
	BENCH_S_CHAT,
	BENCH_S_HANDSHAKE,	/* TLS (after STARTTLS) and close */
	BENCH_S_PBKDF2,		/* in-process, no server */
	BENCH_S_MAM,
};

enum bench_tls {
	BENCH_TLS_NONE,
	BENCH_TLS_STARTTLS,
	BENCH_TLS_DIRECT,
};

enum bench_mech {
	BENCH_MECH_PLAIN,
	BENCH_MECH_SCRAM_SHA1,
	BENCH_MECH_SCRAM_SHA256,
};

/* Log buckets: 32 per power of two, so a value is known to about 3%. */
#define BENCH_HIST_BUCKETS	1280

struct bench_hist {
	uint64_t	 count;
	uint64_t	 max;
	uint64_t	 sum;
	uint64_t	 b[BENCH_HIST_BUCKETS];
};

void		 bench_hist_add(struct bench_hist *h, uint64_t v);
/* The value below which a fraction q of the samples lie (0 when empty). */
uint64_t	 bench_hist_quantile(const struct bench_hist *h, double q);

enum bench_conn_state {
	BENCH_C_CONNECTING,
	BENCH_C_HANDSHAKE,
	BENCH_C_FEATURES,
	BENCH_C_STARTTLS,
	BENCH_C_AUTH,
	BENCH_C_BIND,
	BENCH_C_ONLINE,
	BENCH_C_CLOSING,
	BENCH_C_DEAD,
};

struct bench_scram;

struct bench_conn {
	struct bench		*b;
	int			 fd;
	int			 user;		/* 1..users */
	enum bench_conn_state	 state;
	bool			 tls_on;
	bool			 authed;
	bool			 is_login;	/* close when bound */
	gnutls_session_t	 tls;
	struct event		*rev;
	struct event		*wev;
	struct evbuffer		*out;
	size_t			 tls_pending;	/* retry size */
	char			*in;		/* unparsed input */
	size_t			 in_len;
	size_t			 in_cap;
	/* The stanza scanner: positions are offsets into in. */
	size_t			 scan;
	size_t			 tag_start;
	size_t			 elem_start;
	int			 depth;
	bool			 in_tag;
	char			 quote;
	struct bench_scram	*scram;
	uint64_t		 t_start;	/* ns, bench_now() */
	int			 online_idx;	/* in b->online, or -1 */
	struct bench_conn	*prev;		/* live connections */
	struct bench_conn	*next;
	struct bench_conn	*dead_next;
};

struct bench {
	struct event_base	*base;

	/* Options. */
	const char		*scenario;
	enum bench_scenario	 scen;
	const char		*host;
	int			 port;
	const char		*domain;
	enum bench_tls		 tls;
	enum bench_mech		 mech;
	const char		*user_prefix;
	const char		*password;
	const char		*resource;
	int			 users;
	double			 duration;
	double			 rate;
	int			 msg_size;
	int			 concurrency;
	double			 drain;
	double			 settle;
	double			 timeout;
	int			 pid;		/* server, or 0 */
	long			 steps[16];
	int			 nsteps;
	const char		*json_path;
	const char		*priority;
	unsigned		 iterations;	/* pbkdf2 */
	int			 page;		/* mam: RSM max */
	int			 fill;		/* mam: messages per user */
	struct sockaddr_in	 dst;
	struct in_addr		*src;
	int			 nsrc;
	unsigned		 src_next;

	gnutls_certificate_credentials_t cred;
	gnutls_priority_t	 prio;

	/* Connections. */
	struct bench_conn	*conns;
	struct bench_conn	*dead;
	struct bench_conn	**online;
	int			 nonline;
	int			 inflight;	/* opened, not yet bound */
	int			 open;		/* fds held */

	/* Counters. */
	uint64_t		 attempts;
	uint64_t		 logins_ok;
	uint64_t		 login_errors;
	uint64_t		 drops;		/* sessions lost */
	uint64_t		 missed;	/* arrivals over concurrency */
	uint64_t		 sent;
	uint64_t		 delivered;
	uint64_t		 msg_errors;
	uint64_t		 backlog;	/* not sent: queue too long */
	uint64_t		 scram_cache_hits;
	uint64_t		 scram_cache_misses;
	struct bench_hist	 login_lat;	/* us */
	struct bench_hist	 msg_lat;	/* us */
	/* The mam scenario. */
	uint64_t		 fill_sent;
	uint64_t		 fill_delivered;
	uint64_t		 fill_lost;
	double			 fill_secs;
	uint64_t		 queries;	/* sent */
	uint64_t		 queries_ok;
	uint64_t		 query_errors;
	uint64_t		 query_results;	/* of the queries answered */
	/* us, sent to <fin/>: its count is the queries answered. */
	struct bench_hist	 query_lat;
	char			 first_error[256];
	char			 last_error[256];
	uint64_t		 nerrors;
};

/* Nanoseconds on the monotonic clock. */
uint64_t	 bench_now(void);
uint64_t	 bench_random(void);
void		 bench_error(struct bench *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* client.c: one c2s connection from connect to bound. */
struct bench_conn *bench_conn_open(struct bench *b, int user, bool is_login);
void		 bench_conn_send(struct bench_conn *c, const char *data,
		    size_t len);
size_t		 bench_conn_queued(const struct bench_conn *c);
void		 bench_conn_fail(struct bench_conn *c, const char *why);
/* An attribute of the element's start tag at st, copied into out. */
bool		 bench_attr(const char *st, size_t len, const char *attr,
		    char *out, size_t out_len);
/* Frees the connections that failed since the last call. */
void		 bench_conn_reap(struct bench *b);
/* Fails the logins older than b->timeout. */
void		 bench_conn_expire(struct bench *b);

/* Scenario callbacks, in bench.c. */
void		 bench_on_online(struct bench_conn *c);
void		 bench_on_message(struct bench_conn *c, const char *st,
		    size_t len);
/* An iq result or error that reached an online session. */
void		 bench_on_iq(struct bench_conn *c, const char *st, size_t len);
/* An online session is going away: forget the pointer. */
void		 bench_on_offline(struct bench_conn *c);

/* mam.c: the archive fill and the XEP-0313 page queries. */
void		 bench_mam_fill_start(struct bench *b);
/* Tops up the senders; true once every message arrived or it stalled. */
bool		 bench_mam_fill_tick(struct bench *b, uint64_t now);
/* Sends one query from a random online user; false when none can go. */
bool		 bench_mam_query(struct bench *b);
/* Fails the queries older than the timeout (all of them with force). */
void		 bench_mam_expire(struct bench *b, uint64_t now, bool force);
int		 bench_mam_pending(const struct bench *b);
void		 bench_mam_message(struct bench_conn *c, const char *st,
		    size_t len);
void		 bench_mam_iq(struct bench_conn *c, const char *st, size_t len);
void		 bench_mam_offline(struct bench_conn *c);
void		 bench_mam_free(void);

/* scram_client.c: SCRAM-SHA-1/256 and PLAIN, with a key cache. */
struct bench_scram *bench_sasl_start(struct bench *b, int user,
		    char **auth_r);
/* Answers a challenge; NULL with *error_r on failure. */
char		*bench_sasl_step(struct bench *b, struct bench_scram *s,
		    const char *b64, size_t len, const char **error_r);
/* Checks the server signature in <success/> (may be empty for PLAIN). */
int		 bench_sasl_finish(struct bench_scram *s, const char *b64,
		    size_t len, const char **error_r);
void		 bench_sasl_free(struct bench_scram *s);
/* One PBKDF2 with the hash of a SCRAM mechanism; out has the hash size. */
int		 bench_pbkdf2(enum bench_mech m, const char *password,
		    const unsigned char *salt, size_t salt_len, unsigned iter,
		    unsigned char *out);

#endif
