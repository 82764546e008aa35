/*
 * log.h - leveled logging to stderr (foreground) or syslog (daemon).
 *
 * The level is checked before the message is formatted, so debug calls
 * in hot paths cost one comparison.  errno is preserved across every call
 * so a caller can log and then still report the original error.  This is
 * not a structured or rotating logger: the service manager keeps logs.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdnoreturn.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* `ident` must outlive the logger (a string literal or argv[0]). */
void log_init(const char *ident, enum log_level level, int use_syslog);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                        \
	do {                                                                  \
		if (log_enabled(LOG_LVL_DEBUG))                               \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                  \
	} while (0)

/* Log at error level with strerror(errno) appended, then exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level, then exit(1). */
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
