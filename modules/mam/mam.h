/* mam.h - what the parts of mod_mam (XEP-0313 user archives) share. */
#ifndef MAM_MAM_H
#define MAM_MAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/store.h>

#define NS_MAM		"urn:xmpp:mam:2"
#define NS_MAM_EXT	"urn:xmpp:mam:2#extended"
#define NS_RSM		"http://jabber.org/protocol/rsm"
#define NS_SID		"urn:xmpp:sid:0"
#define NS_FORWARD	"urn:xmpp:forward:0"
#define NS_DELAY	"urn:xmpp:delay"
#define NS_XDATA	"jabber:x:data"
#define NS_HINTS	"urn:xmpp:hints"

/*
 * Where a message sits in an archive: its archiving time in microseconds
 * since the epoch (strictly increasing within one archive, so it orders the
 * archive) and 64 random bits that make the archive id unpredictable
 * (XEP-0313 section 3). Stored big-endian, 16 bytes, so that keys sort in
 * archive order.
 */
struct mam_pos {
	uint64_t	 ts;
	uint64_t	 seq;
};

#define MAM_POS_LEN	16
#define MAM_ID_LEN	26	/* 128 bits in base32hex, 2 leading zero bits */
#define MAM_STAMP_LEN	32	/* "2026-11-29T20:00:00.123456Z" and NUL */

enum mam_dir {
	MAM_IN = 'i',
	MAM_OUT = 'o',
};

/* One archived message as stored; strings point into the stored value. */
struct mam_record {
	enum mam_dir	 dir;
	const char	*with;		/* the other party's bare JID */
	size_t		 with_len;
	const char	*remote;	/* its full JID as addressed */
	size_t		 remote_len;
	const char	*xml;		/* the stanza, serialized */
	size_t		 xml_len;
};

/* The databases of the archive; store is where they live. */
struct mam_dbs {
	struct mp_store	*store;
	struct mp_db	*archive;	/* "<bare>\0<pos>" -> record */
	struct mp_db	*with;		/* "<bare>\0<with>\0<pos>" -> pos */
	struct mp_db	*meta;		/* "<bare>[\0<with>]" -> count */
	struct mp_db	*prefs;		/* "<bare>" -> preferences */
};

/* codec.c: encodings, no state. */
void	 mam_pos_put(unsigned char out[MAM_POS_LEN], const struct mam_pos *p);
void	 mam_pos_get(const unsigned char in[MAM_POS_LEN], struct mam_pos *p);
int	 mam_pos_cmp(const struct mam_pos *a, const struct mam_pos *b);
void	 mam_id_format(char out[MAM_ID_LEN + 1], const struct mam_pos *p);
/* 0, or -1 when s is not exactly an id this module writes. */
int	 mam_id_parse(const char *s, struct mam_pos *p_r);
/* "<bare>\0" and "<bare>\0<with>\0": where a user's keys start. */
void	 mam_prefix(struct mp_buf *b, const char *bare, const char *with);
void	 mam_key(struct mp_buf *b, const char *bare, const char *with,
	    const struct mam_pos *p);
/* The position at the end of a key; -1 when the key is too short. */
int	 mam_key_pos(const struct mp_val *key, struct mam_pos *p_r);
void	 mam_record_put(struct mp_buf *b, enum mam_dir dir, const char *with,
	    const char *remote, const char *xml, size_t xml_len);
/* 0, or -1 for a value that is not a record. */
int	 mam_record_get(const void *data, size_t len, struct mam_record *r);
uint64_t mam_u64_get(const void *p);
void	 mam_u64_put(void *p, uint64_t v);
/* XEP-0082 DateTime, UTC, with microseconds. */
void	 mam_stamp_format(char out[MAM_STAMP_LEN], uint64_t us);
/* Any XEP-0082 DateTime (offset, fraction) to microseconds; 0 or -1. */
int	 mam_stamp_parse(const char *s, int64_t *us_r);

/* archive.c: storage. */
struct mam_entry {
	const char	*bare;		/* the archive's owner */
	enum mam_dir	 dir;
	const char	*with;
	const char	*remote;
	const char	*xml;
	size_t		 xml_len;
};

/*
 * Appends a message to an archive and commits. The time is now_us, moved
 * past the newest entry if the clock went back; seq should be random.
 */
int	 mam_archive_put(const struct mam_dbs *d, const struct mam_entry *e,
	    uint64_t now_us, uint64_t seq, struct mam_pos *pos_r,
	    const char **error_r);
/* The same inside the caller's write transaction (fn of mp_store_write). */
int	 mam_archive_append(struct mp_txn *txn, const struct mam_dbs *d,
	    const struct mam_entry *e, uint64_t now_us, uint64_t seq,
	    struct mam_pos *pos_r, const char **error_r);
/* Messages in a user's archive, total or with one contact; -1 on error. */
long	 mam_archive_count(struct mp_txn *txn, const struct mam_dbs *d,
	    const char *bare, const char *with);
/* The oldest (or newest) entry: 1 found, 0 empty, -1 error. */
int	 mam_archive_edge(struct mp_txn *txn, const struct mam_dbs *d,
	    const char *bare, bool newest, struct mam_pos *p_r);
/* Removes a user's archive, counts and preferences. */
int	 mam_archive_delete_user(const struct mam_dbs *d, const char *bare,
	    const char **error_r);
/*
 * Removes at most budget messages older than cutoff_us, resuming at the
 * user in cursor (empty: the first). Sets *done_r when it went through every
 * archive (cursor is then empty again). The number removed, or -1.
 */
long	 mam_archive_expire(const struct mam_dbs *d, uint64_t cutoff_us,
	    long budget, struct mp_buf *cursor, bool *done_r,
	    const char **error_r);

/* page.c: a query and its page (XEP-0313 section 4, XEP-0059). */
struct mam_filter {
	const char	*bare;		/* whose archive */
	const char	*with;		/* bare JID, or NULL */
	const char	*with_full;	/* with a resource: matched exactly */
	bool		 has_start, has_end;
	int64_t		 start_us, end_us;	/* both inclusive */
	bool		 has_after_id, has_before_id;
	struct mam_pos	 after_id, before_id;
	const struct mam_pos *ids;	/* ids field: NULL when absent */
	size_t		 nids;
	/* RSM */
	bool		 has_after, has_before, before_value;
	struct mam_pos	 after, before;
	long		 index;		/* -1 when absent */
	long		 max;
	long		 count_cap;	/* count by scanning up to this many */
};

struct mam_item {
	struct mam_pos	 pos;
	struct mam_record rec;		/* copied into the query's arena */
};

struct mam_page {
	struct mam_item	*items;		/* chronological */
	size_t		 n;
	bool		 complete;
	long		 count;		/* -1: not computed */
	long		 first_index;	/* -1: not known */
};

enum {
	MAM_PAGE_OK = 0,
	MAM_PAGE_ERROR = -1,
	MAM_PAGE_NOT_FOUND = 1,		/* an id named is not in the archive */
};

int	 mam_page_query(const struct mam_dbs *d, struct mp_arena *a,
	    const struct mam_filter *f, struct mam_page *page_r,
	    const char **error_r);

#endif
