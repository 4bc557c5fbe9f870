/* directive.c - parses a libconfig group into a struct by a directive table. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/conf.h>

#include "config.h"

struct directive_ctx {
	const char		*section;	/* NULL or "": top level */
	const char		*file;		/* if a setting has none */
	struct mp_arena		*arena;
	mp_conf_report_fn	*report;
	void			*arg;
	int			 errors;
};

static const char *
directive_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a fraction";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/*
 * Formats "file:line: section.key: what"; without a setting (a default that
 * does not parse, an absent group) the line is left out.
 */
static void
directive_report(struct directive_ctx *ctx, const config_setting_t *s,
    const char *key, const char *fmt, ...)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *file = NULL;
	va_list ap;

	if (s != NULL)
		file = config_setting_source_file(s);
	if (file == NULL)
		file = ctx->file != NULL ? ctx->file : "(config)";
	if (s != NULL && config_setting_source_line(s) > 0)
		mp_buf_printf(&b, "%s:%u: ", file,
		    (unsigned)config_setting_source_line(s));
	else
		mp_buf_printf(&b, "%s: ", file);
	if (ctx->section != NULL && ctx->section[0] != '\0')
		mp_buf_printf(&b, "%s%s%s: ", ctx->section,
		    key != NULL ? "." : "", key != NULL ? key : "");
	else if (key != NULL)
		mp_buf_printf(&b, "%s: ", key);
	va_start(ap, fmt);
	mp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ctx->report != NULL)
		ctx->report(b.data, ctx->arg);
	mp_buf_free(&b);
	ctx->errors++;
}

/* Bytes a key name may show in a message: printable ASCII, so one line. */
static const char *
directive_safe(struct mp_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *out;

	if (n > 64)
		n = 64;
	out = mp_arena_strndup(a, s, n);
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return out;
}

static const struct mp_directive *
directive_find(const struct mp_directive *dirs, const char *name)
{
	for (; dirs->name != NULL; dirs++)
		if (strcmp(dirs->name, name) == 0)
			return dirs;
	return NULL;
}

static bool
directive_has_range(const struct mp_directive *d)
{
	return d->type == MP_CT_INT && d->min < d->max;
}

/* Splits a list default ("a, b" or "[ \"a\", \"b\" ]") into words. */
static const char *const *
directive_split(struct mp_arena *a, const char *def)
{
	static const char seps[] = " \t\n,[]()\"";
	const char **v;
	size_t n = 0, i = 0;
	const char *p;

	for (p = def; *p != '\0';) {
		p += strspn(p, seps);
		if (*p == '\0')
			break;
		n++;
		p += strcspn(p, seps);
	}
	v = mp_arena_alloc(a, (n + 1) * sizeof(*v));
	for (p = def; *p != '\0';) {
		size_t len;

		p += strspn(p, seps);
		if (*p == '\0')
			break;
		len = strcspn(p, seps);
		v[i++] = mp_arena_strndup(a, p, len);
		p += len;
	}
	v[i] = NULL;
	return v;
}

/* Stores the default of d (or the zero value) in its field; 1 if set. */
static int
directive_default(struct directive_ctx *ctx, const struct mp_directive *d,
    char *field)
{
	static const char *const empty[] = { NULL };
	char *end;
	long v;

	switch (d->type) {
	case MP_CT_BOOL:
		*(bool *)field = false;
		if (d->def == NULL)
			return 0;
		if (strcasecmp(d->def, "true") == 0)
			*(bool *)field = true;
		else if (strcasecmp(d->def, "false") != 0)
			goto bad;
		return 1;
	case MP_CT_INT:
		*(long *)field = 0;
		if (d->def == NULL)
			return 0;
		errno = 0;
		v = strtol(d->def, &end, 0);
		if (errno != 0 || end == d->def || *end != '\0')
			goto bad;
		if (directive_has_range(d) && (v < d->min || v > d->max))
			goto bad;
		*(long *)field = v;
		return 1;
	case MP_CT_STRING:
		*(const char **)field = d->def != NULL ?
		    mp_arena_strdup(ctx->arena, d->def) : NULL;
		return d->def != NULL;
	case MP_CT_STRINGS:
		*(const char *const **)field = d->def != NULL ?
		    directive_split(ctx->arena, d->def) : empty;
		return d->def != NULL;
	}
bad:
	/* A module's table is wrong, not the user's file; say so plainly. */
	directive_report(ctx, NULL, d->name, "invalid built-in default \"%s\"",
	    directive_safe(ctx->arena, d->def));
	return 0;
}

static int
directive_value(struct directive_ctx *ctx, const struct mp_directive *d,
    const config_setting_t *s, char *field)
{
	int type = config_setting_type(s);
	long long v;
	const char **list;
	int n;

	switch (d->type) {
	case MP_CT_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*(bool *)field = config_setting_get_bool(s) != 0;
		return 0;
	case MP_CT_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			break;
		v = config_setting_get_int64(s);
		if (v < LONG_MIN || v > LONG_MAX ||
		    (directive_has_range(d) && (v < d->min || v > d->max))) {
			directive_report(ctx, s, d->name,
			    "must be between %ld and %ld (not %lld)",
			    d->min, d->max, v);
			return -1;
		}
		*(long *)field = (long)v;
		return 0;
	case MP_CT_STRING:
		if (type != CONFIG_TYPE_STRING)
			break;
		*(const char **)field = mp_arena_strdup(ctx->arena,
		    config_setting_get_string(s));
		return 0;
	case MP_CT_STRINGS:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			break;
		n = config_setting_length(s);
		list = mp_arena_alloc(ctx->arena, ((size_t)n + 1) *
		    sizeof(*list));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s,
			    (unsigned)i);

			int et = config_setting_type(e);

			if (et != CONFIG_TYPE_STRING) {
				directive_report(ctx, e, d->name,
				    "element %d must be a string, not %s",
				    i + 1, directive_type_name(et));
				return -1;
			}
			list[i] = mp_arena_strdup(ctx->arena,
			    config_setting_get_string(e));
		}
		list[n] = NULL;
		*(const char *const **)field = list;
		return 0;
	}
	directive_report(ctx, s, d->name, "expected %s, not %s",
	    d->type == MP_CT_BOOL ? "a boolean (true or false)" :
	    d->type == MP_CT_INT ? "an integer" :
	    d->type == MP_CT_STRING ? "a string" :
	    "an array of strings [ \"...\", ... ]", directive_type_name(type));
	return -1;
}

int
mp_directives_parse(const void *group, const char *section,
    const struct mp_directive *dirs, void *out, struct mp_arena *a,
    const char *file, mp_conf_report_fn *report, void *arg)
{
	const config_setting_t *g = group;
	struct directive_ctx ctx = {
		.section = section, .file = file, .arena = a,
		.report = report, .arg = arg,
	};
	const struct mp_directive *d;
	size_t ndirs = 0;
	bool *present;
	int n;

	for (d = dirs; d->name != NULL; d++)
		ndirs++;
	present = mp_arena_alloc(a, ndirs + 1);
	for (d = dirs; d->name != NULL; d++)
		present[d - dirs] = directive_default(&ctx, d,
		    (char *)out + d->offset) == 1;

	if (g != NULL && !config_setting_is_group(g)) {
		directive_report(&ctx, g, NULL, "expected a group { ... }, "
		    "not %s", directive_type_name(config_setting_type(g)));
		g = NULL;
	}
	n = g != NULL ? config_setting_length(g) : 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g,
		    (unsigned)i);
		const char *name = config_setting_name(s);

		d = name != NULL ? directive_find(dirs, name) : NULL;
		if (d == NULL) {
			directive_report(&ctx, s, directive_safe(a,
			    name != NULL ? name : "?"), "unknown key");
			continue;
		}
		present[d - dirs] = directive_value(&ctx, d, s,
		    (char *)out + d->offset) == 0;
	}

	/* Validators see only values that parsed, from the file or defaults. */
	for (d = dirs; d->name != NULL; d++) {
		const config_setting_t *s;
		const char *error = NULL;

		if (!present[d - dirs] || d->validate == NULL)
			continue;
		if (d->validate((char *)out + d->offset, &error) == 0)
			continue;
		s = g != NULL ? config_setting_get_member(g, d->name) : NULL;
		directive_report(&ctx, s != NULL ? s : g, d->name, "%s",
		    error != NULL ? error : "invalid value");
	}
	return ctx.errors > 0 ? -1 : 0;
}
