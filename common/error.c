/*
 * error.c - formatting of sl_error messages and names of error codes.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sl_strerror(int code)
{
	switch (code) {
	case SL_OK: return "success";
	case SL_ENOMEM: return "out of memory";
	case SL_EINVAL: return "invalid input";
	case SL_EIO: return "input/output error";
	case SL_EDB: return "database error";
	case SL_ENET: return "network error";
	case SL_ESCHEMA: return "schema violation";
	case SL_ENOTFOUND: return "not found";
	case SL_EUNSUPPORTED: return "not supported";
	case SL_ETIMEOUT: return "timed out";
	default: return "unknown error";
	}
}

int sl_error_set(sl_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return code;
}

void sl_error_prefix(sl_error *err, const char *fmt, ...)
{
	char joined[2 * sizeof(err->text) + 2];
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(joined, sizeof(err->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(err->text))
		n = sizeof(err->text) - 1;
	/* Both halves fit in `joined`; the result is cut to err->text. */
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, err->text, strlen(err->text) + 1);
	memcpy(err->text, joined, sizeof(err->text) - 1);
	err->text[sizeof(err->text) - 1] = '\0';
}
