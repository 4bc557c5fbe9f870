/* store.h (core) - opening the store and the backend vtable behind <magpie/store.h>. */
#ifndef MP_STORE_INTERNAL_H
#define MP_STORE_INTERNAL_H

#include <magpie/store.h>

/* A backend implements these; nothing above the store knows which one runs. */
struct mp_store_ops {
	const char *name;
	int	(*db_open)(struct mp_store *s, const char *name,
		    struct mp_db **db_r, const char **error_r);
	long	(*db_names)(struct mp_store *s,
		    void (*cb)(const char *name, void *arg), void *arg,
		    const char **error_r);
	int	(*txn_begin)(struct mp_store *s, bool write,
		    struct mp_txn **txn_r, const char **error_r);
	/* 0 committed, -1 error, 1 storage full (the caller may grow and retry) */
	int	(*txn_commit)(struct mp_txn *txn, const char **error_r);
	void	(*txn_abort)(struct mp_txn *txn);
	int	(*get)(struct mp_txn *txn, struct mp_db *db, const void *key,
		    size_t klen, struct mp_val *val_r);
	int	(*put)(struct mp_txn *txn, struct mp_db *db, const void *key,
		    size_t klen, const void *val, size_t vlen);
	int	(*del)(struct mp_txn *txn, struct mp_db *db, const void *key,
		    size_t klen);
	long	(*scan)(struct mp_txn *txn, struct mp_db *db, const void *start,
		    size_t slen, const void *end, size_t elen, bool reverse,
		    mp_scan_fn *cb, void *arg);
	/* Makes room after "storage full": 0 grown, -1 at the maximum. */
	int	(*grow)(struct mp_store *s, const char **error_r);
	void	(*close)(struct mp_store *s);
};

/* Every backend's store starts with this. */
struct mp_store {
	const struct mp_store_ops *ops;
};

/* Every backend's transaction starts with this. */
struct mp_txn {
	struct mp_store	*store;
	bool		 write;
	bool		 full;	/* a put hit "storage full" */
};

struct mp_store_lmdb_conf {
	const char	*path;		/* a directory, created if missing */
	size_t		 map_size;	/* initial map size in bytes */
	size_t		 max_map_size;	/* growth stops here */
};

int	mp_store_lmdb_open(const struct mp_store_lmdb_conf *conf,
	    struct mp_store **store_r, const char **error_r);
void	mp_store_close(struct mp_store *s);
/* The store mp_store_get() returns. */
void	mp_store_set(struct mp_store *s);

#endif
