/*
 * error.h - error codes and the rich error struct shared by every module.
 *
 * Functions in common/ and in the programs return 0 on success or one of
 * the negative SL_E* codes below.  Where a caller needs to know *why*
 * (which file, line, field, rule), the function also takes a
 * caller-provided `sl_error *` that may be NULL; it is filled only on
 * failure.  Nothing here allocates.
 */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#include <stddef.h>

enum sl_err {
	SL_OK = 0,
	SL_ENOMEM = -1,    /* allocation failed */
	SL_EINVAL = -2,    /* bad input: the message says which and why */
	SL_EIO = -3,       /* file or OS error */
	SL_EDB = -4,       /* SQLite error */
	SL_ENET = -5,      /* MQTT / network error */
	SL_ESCHEMA = -6,   /* document does not satisfy its schema */
	SL_ENOTFOUND = -7, /* no such thing */
	SL_EUNSUPPORTED = -8, /* valid request we do not implement */
	SL_ETIMEOUT = -9,  /* deadline passed */
};

/* Text is always NUL-terminated; truncated if longer than the buffer. */
typedef struct sl_error {
	char text[512];
} sl_error;

/* Returns a static English description of an SL_E* code. */
const char *sl_strerror(int code);

/*
 * Formats a message into err->text (no-op when err is NULL) and returns
 * `code`, so callers can write `return sl_error_set(err, SL_EINVAL, ...)`.
 */
int sl_error_set(sl_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already-set message (no-op when err is NULL). */
void sl_error_prefix(sl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
