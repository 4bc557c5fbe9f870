/* log.h - one-line, greppable logging; module lines carry the module's name. */
#ifndef MAGPIE_LOG_H
#define MAGPIE_LOG_H

#include <stdnoreturn.h>

enum mp_log_level {
	MP_LOG_DEBUG,
	MP_LOG_INFO,
	MP_LOG_WARN,
	MP_LOG_ERROR,
};

void	mp_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	mp_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mp_log_warn and mp_fatal append strerror(errno); the x variants do not. */
void	mp_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	mp_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void mp_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void mp_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Core only: lines below this level are dropped. */
void	mp_log_set_level(enum mp_log_level level);
int	mp_log_enabled(enum mp_log_level level);
/* Core only: the prefix ("ping: ") added while a module's code runs; NULL for none. */
void	mp_log_set_prefix(const char *module_name);

#endif
