/* conf.h - declared configuration directives, parsed and validated by the core. */
#ifndef MAGPIE_CONF_H
#define MAGPIE_CONF_H

#include <stdbool.h>
#include <stddef.h>

enum mp_conf_type {
	MP_CT_BOOL,	/* bool */
	MP_CT_INT,	/* long, within [min, max] */
	MP_CT_STRING,	/* const char *, NULL when unset without default */
	MP_CT_STRINGS,	/* const char *const *, NULL-terminated, never NULL */
};

/*
 * One directive of a section: where its value goes (offset into the
 * section's struct), its default written as it would be in the file
 * ("1000", "true", "text"; NULL: no default), and an optional validator
 * that receives a pointer to the parsed field.
 */
struct mp_directive {
	const char		*name;
	enum mp_conf_type	 type;
	size_t			 offset;
	const char		*def;
	long			 min;
	long			 max;
	int			(*validate)(const void *field, const char **error_r);
};

#define MP_DIRECTIVES_END	{ .name = NULL }

#endif
