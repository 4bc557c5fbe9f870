/* accounts.h - user accounts and their SCRAM credentials in the store. */
#ifndef MP_ACCOUNTS_H
#define MP_ACCOUNTS_H

#include <stdbool.h>

#include "scram.h"

struct mp_store;

/* Opens the accounts database. */
int	mp_accounts_init(struct mp_store *s, const char **error_r);

/*
 * host is a prepared domain; user is any localpart (prepared here); password
 * is prepared with OpaqueString. Credentials for every SCRAM hash are stored,
 * salted, with the given iteration count; never the password.
 */
int	mp_account_add(const char *host, const char *user, const char *password,
	    unsigned iterations, const char **error_r);	/* -1 if it exists */
int	mp_account_passwd(const char *host, const char *user,
	    const char *password, unsigned iterations, const char **error_r);
int	mp_account_del(const char *host, const char *user, const char **error_r);
/* 1 yes, 0 no, -1 error; user prepared. */
int	mp_account_exists(const char *host, const char *user);
/* 1 found, 0 no such user, -1 error; user prepared. */
int	mp_account_creds(const char *host, const char *user,
	    enum mp_scram_hash h, struct mp_scram_creds *creds_r);
/* Visits the prepared localparts of host in order; returns the count or -1. */
long	mp_account_list(const char *host, void (*cb)(const char *user,
	    void *arg), void *arg, const char **error_r);

#endif
