/* store.h - the transactional, ordered key-value store every module uses. */
#ifndef MAGPIE_STORE_H
#define MAGPIE_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct mp_store;
struct mp_txn;
struct mp_db;

struct mp_val {
	const void	*data;	/* valid until the transaction ends */
	size_t		 len;
};

/* The server's store (one per process). */
struct mp_store	*mp_store_get(void);

/* Opens (creating it if needed) a named database; handles live as long as the store. */
int	mp_db_open(struct mp_store *s, const char *name, struct mp_db **db_r,
	    const char **error_r);

/* Visits the names of every database in the store; the count or -1. */
long	mp_store_db_names(struct mp_store *s,
	    void (*cb)(const char *name, void *arg), void *arg,
	    const char **error_r);

/* A read-only snapshot; end it with mp_txn_abort(). */
int	mp_txn_read(struct mp_store *s, struct mp_txn **txn_r,
	    const char **error_r);
void	mp_txn_abort(struct mp_txn *txn);

/*
 * Runs fn inside one write transaction and commits it. When storage is full
 * the store grows (up to its configured maximum) and runs fn again from the
 * start, so fn must only act on the transaction. fn returns 0, or -1 with
 * error_r set to abort. Returns 0 once committed, -1 with error_r otherwise
 * ("storage full" when no room could be made).
 */
typedef int mp_write_fn(struct mp_txn *txn, void *arg, const char **error_r);
int	mp_store_write(struct mp_store *s, mp_write_fn *fn, void *arg,
	    const char **error_r);
/* Whether an error from the store means "storage full" (answer resource-constraint). */
bool	mp_store_is_full(const char *error);
#define MP_STORE_FULL	"storage full"

/* 1 found (val_r set), 0 not found, -1 error. */
int	mp_txn_get(struct mp_txn *txn, struct mp_db *db, const void *key,
	    size_t klen, struct mp_val *val_r);
/* 0 or -1 (write transactions only; -1 with storage full aborts the write). */
int	mp_txn_put(struct mp_txn *txn, struct mp_db *db, const void *key,
	    size_t klen, const void *val, size_t vlen);
/* 1 deleted, 0 not found, -1 error. */
int	mp_txn_del(struct mp_txn *txn, struct mp_db *db, const void *key,
	    size_t klen);

/* Deletes every key k with start <= k < end; the number deleted, or -1. */
long	mp_txn_del_range(struct mp_txn *txn, struct mp_db *db,
	    const void *start, size_t slen, const void *end, size_t elen);

/*
 * Visits the keys k with start <= k < end in key order (reverse: from the
 * largest down). A NULL start or end is unbounded. cb returns 0 to go on,
 * 1 to stop. Returns the number of keys visited, or -1 on error.
 */
typedef int mp_scan_fn(const struct mp_val *key, const struct mp_val *val,
    void *arg);
long	mp_txn_scan(struct mp_txn *txn, struct mp_db *db, const void *start,
	    size_t slen, const void *end, size_t elen, bool reverse,
	    mp_scan_fn *cb, void *arg);

#endif
