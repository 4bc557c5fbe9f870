/* modules.h - the module loader: dlopen, ABI checks, dependencies, config sections. */
#ifndef MP_MODULES_H
#define MP_MODULES_H

#include "config.h"

/*
 * Opens every module named in c->modules from c->module_path
 * ("mod_<name>.so"), checks ABI number and struct size, adds modules they
 * depend on, parses each one's config section with its directive table, and
 * reports top-level keys that belong to nobody. Reports every error; -1 on any.
 */
int	mp_modules_open(struct mp_config *c, mp_conf_report_fn *report,
	    void *arg);
/* Calls load() of every opened module, dependencies first. */
int	mp_modules_start(const char **error_r);
/* Unloads in reverse order, removing all their registrations, then dlcloses. */
void	mp_modules_close(void);

#endif
