/* rosterdb.h - the roster's records in the store: items, tombstones and versions. */
#ifndef MP_ROSTERDB_H
#define MP_ROSTERDB_H

#include <stdbool.h>

#include <magpie/module.h>
#include <magpie/roster.h>

/*
 * One record under "<user>\0<contact>": an item (listed), an inbound request
 * the user does not see yet (not listed, with state), or a tombstone (not
 * listed, no state) kept so that XEP-0237 can tell a client what went away.
 */
struct rosterdb_rec {
	struct mp_roster_item	 item;
	long long		 ver;	/* roster version of its last visible change */
};

/*
 * Per-user versions under "<user>": epoch (when the roster was first
 * written, so a recreated account never reuses a version), the current
 * version and the oldest version from which changes can still be replayed.
 */
struct rosterdb_meta {
	long long	 epoch;
	long long	 ver;
	long long	 floor;
};

typedef int rosterdb_rec_fn(const struct rosterdb_rec *r, void *arg);

int	 rosterdb_open(const char **error_r);
/* 1 found, 0 not, -1 error; strings are copied into a. */
int	 rosterdb_get(struct mp_txn *txn, struct mp_arena *a, const char *user,
	    const char *contact, struct rosterdb_rec *r);
int	 rosterdb_put(struct mp_txn *txn, const char *user,
	    const struct rosterdb_rec *r);
int	 rosterdb_del(struct mp_txn *txn, const char *user, const char *contact);
/* Visits the user's records in contact order (fn: 0 go on, 1 stop); count or -1. */
long	 rosterdb_scan(struct mp_txn *txn, struct mp_arena *a, const char *user,
	    rosterdb_rec_fn *fn, void *arg);
/* 1 found, 0 not (zeros), -1 error. */
int	 rosterdb_meta_get(struct mp_txn *txn, const char *user,
	    struct rosterdb_meta *m);
int	 rosterdb_meta_put(struct mp_txn *txn, const char *user,
	    const struct rosterdb_meta *m);
/* Removes every record and the versions of user. */
int	 rosterdb_drop_user(struct mp_txn *txn, const char *user);

/* A record with no subscription state at all. */
bool	 rosterdb_stateless(const struct mp_roster_state *s);

/* "<epoch>-<ver>", and back (-1 when it is not one of ours). */
char	*rosterdb_ver_string(struct mp_arena *a, const struct rosterdb_meta *m,
	    long long ver);
int	 rosterdb_ver_parse(const char *s, long long *epoch_r, long long *ver_r);

#endif
