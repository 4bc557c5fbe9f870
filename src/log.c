/* log.c - log lines to stderr: one line each, level and module prefixed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magpie/log.h>

static enum mp_log_level log_level = MP_LOG_INFO;
static const char *log_prefix;

static const char *const level_names[] = {
	[MP_LOG_DEBUG] = "debug",
	[MP_LOG_INFO] = "info",
	[MP_LOG_WARN] = "warn",
	[MP_LOG_ERROR] = "error",
};

void
mp_log_set_level(enum mp_log_level level)
{
	log_level = level;
}

int
mp_log_enabled(enum mp_log_level level)
{
	return level >= log_level;
}

void
mp_log_set_prefix(const char *module_name)
{
	log_prefix = module_name;
}

static void
log_emit(enum mp_log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One event, one line: fold any newline a peer managed to inject. */
	for (n = 0; line[n] != '\0'; n++)
		if (line[n] == '\n' || line[n] == '\r')
			line[n] = ' ';
	if (errnum)
		fprintf(stderr, "%s.%03ldZ %s %s%s%s: %s\n", stamp,
		    ts.tv_nsec / 1000000, level_names[level],
		    log_prefix ? log_prefix : "", log_prefix ? ": " : "",
		    line, strerror(errnum));
	else
		fprintf(stderr, "%s.%03ldZ %s %s%s%s\n", stamp,
		    ts.tv_nsec / 1000000, level_names[level],
		    log_prefix ? log_prefix : "", log_prefix ? ": " : "",
		    line);
}

#define LOG_FN(fn, level, with_errno)			\
void							\
fn(const char *fmt, ...)				\
{							\
	int saved = errno;				\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(level, with_errno ? saved : 0, fmt, ap); \
	va_end(ap);					\
	errno = saved;					\
}

LOG_FN(mp_log_debug, MP_LOG_DEBUG, 0)
LOG_FN(mp_log_info, MP_LOG_INFO, 0)
LOG_FN(mp_log_warn, MP_LOG_WARN, 1)
LOG_FN(mp_log_warnx, MP_LOG_WARN, 0)

noreturn void
mp_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(MP_LOG_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

noreturn void
mp_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(MP_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
