/*
 * msg.c - see msg.h.
 */
#define _DEFAULT_SOURCE /* tm_gmtoff */
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int msg_decode(const schema_set *schemas, const char *schema_name,
	       const void *payload, size_t len, json_t **out, sl_error *err)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	if (len > MSG_MAX_BYTES)
		return sl_error_set(err, SL_EINVAL,
				    "too_large: payload of %zu bytes exceeds the %d-byte limit",
				    len, MSG_MAX_BYTES);
	doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "bad_json: invalid JSON at byte %d: %s", jerr.position,
				    jerr.text);
	int rc = schema_validate(schemas, schema_name, doc, err);
	if (rc != 0) {
		json_decref(doc);
		if (rc == SL_ESCHEMA)
			sl_error_prefix(err, "schema: %s", schema_name);
		return rc;
	}
	*out = doc;
	return 0;
}

char *msg_encode(const json_t *msg)
{
	/* 12 significant digits keep a coordinate to a millimetre and print
	 * 37.043 as typed, not as its nearest double 37.042999999999999. */
	return json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER |
				       JSON_REAL_PRECISION(12));
}

void msg_time(time_t t, char buf[32])
{
	struct tm tm;
	localtime_r(&t, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (off == 0)
		snprintf(buf + n, 32 - n, "Z");
	else
		snprintf(buf + n, 32 - n, "%c%02ld:%02ld", sign, off / 60,
			 off % 60);
}
