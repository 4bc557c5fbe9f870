/* fuzz_config.c - libFuzzer target: the configuration loader and directive tables on any file. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <magpie/arena.h>
#include <magpie/conf.h>
#include <magpie/log.h>

#include "config.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * libconfig 1.5's scanner leaks the text of a string it could not finish
 * ("\" \"" or "\"\"\"\"\"\x05"): Debian's library, not Magpie. Only
 * those two scanner functions are excused, so a config_destroy() missing
 * on one of our paths would still show.
 */
/* Quiet: the suppressed leaks would be listed after every input. */
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

/* A module section with every directive type, as a module would declare. */
struct cfz_section {
	bool			 flag;
	long			 count;
	long			 big;
	const char		*name;
	const char		*path;
	const char *const	*list;
};

static int
cfz_validate_name(const void *field, const char **error_r)
{
	const char *const *s = field;

	if (*s != NULL && strchr(*s, '/') != NULL) {
		*error_r = "must not contain '/'";
		return -1;
	}
	return 0;
}

static const struct mp_directive cfz_dirs[] = {
	{ .name = "flag", .type = MP_CT_BOOL,
	    .offset = offsetof(struct cfz_section, flag), .def = "true" },
	{ .name = "count", .type = MP_CT_INT,
	    .offset = offsetof(struct cfz_section, count), .def = "10",
	    .min = 1, .max = 1000 },
	{ .name = "big", .type = MP_CT_INT,
	    .offset = offsetof(struct cfz_section, big), .def = "0",
	    .min = -2147483647L - 1, .max = 2147483647L },
	{ .name = "name", .type = MP_CT_STRING,
	    .offset = offsetof(struct cfz_section, name), .def = "x",
	    .validate = cfz_validate_name },
	{ .name = "path", .type = MP_CT_STRING,
	    .offset = offsetof(struct cfz_section, path) },
	{ .name = "list", .type = MP_CT_STRINGS,
	    .offset = offsetof(struct cfz_section, list) },
	MP_DIRECTIVES_END
};

static const char *const cfz_sections[] = { "fuzzmod", "offline", NULL };

static char cfz_path[256];

static void
cfz_report(const char *msg, void *arg)
{
	/* Every report is "file...: what"; the text must be usable. */
	if (msg == NULL || strncmp(msg, cfz_path, strlen(cfz_path)) != 0) {
		fprintf(stderr, "fuzz_config: report without the file name: "
		    "%s\n", msg ? msg : "(null)");
		abort();
	}
	(*(int *)arg)++;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	mp_log_set_level(MP_LOG_ERROR);
	snprintf(cfz_path, sizeof(cfz_path), "%s/fuzz_config.%ld.conf", dir,
	    (long)getpid());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfz_section sec;
	struct mp_config *c;
	char where[512];
	FILE *f;
	int nerr = 0;

	/*
	 * libconfig's @include reads any file, even a FIFO or /dev/stdin:
	 * the configuration is trusted, so that is not a bug to find here.
	 */
	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if ((f = fopen(cfz_path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	c = mp_config_load(cfz_path, cfz_report, &nerr);
	if (c == NULL) {
		if (nerr == 0) {
			fprintf(stderr, "fuzz_config: refused without a "
			    "report\n");
			abort();
		}
	} else {
		if (nerr != 0) {
			fprintf(stderr, "fuzz_config: accepted with %d "
			    "reports\n", nerr);
			abort();
		}
		if (c->nhosts == 0 || c->hosts[0].domain == NULL ||
		    c->storage.path == NULL) {
			fprintf(stderr, "fuzz_config: accepted without a "
			    "host or storage path\n");
			abort();
		}
		mp_config_where(c, "hosts", 0, where, sizeof(where));
		mp_config_where(c, "listen", -1, where, sizeof(where));
		mp_config_where(c, "nonexistent", 3, where, sizeof(where));
		mp_config_section(c, "fuzzmod", cfz_dirs, &sec, cfz_report,
		    &nerr);
		mp_config_check_unknown(c, cfz_sections, cfz_report, &nerr);
		mp_config_free(c);
	}
	unlink(cfz_path);
	return 0;
}
