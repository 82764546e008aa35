/*
 * libFuzzer harness for hq's xBD label reader (drone_parse on xBD JSON).
 * A first byte below 0x80 feeds the rest as the whole document; from
 * 0x80 the rest becomes the wkt text (and its first line the subtype) of
 * one feature of a well-formed xBD file, so the WKT inside JSON and the
 * class checks are reached without JSON structure to find.  Checks that
 * a refused file yields nothing, that a file read has xBD's fixed
 * confidence of 1 and known classes, and that every error text is
 * terminated.
 * Build: make build-fuzz/fuzz_xbd; run:
 * build-fuzz/fuzz_xbd tests/fuzz/corpus/xbd
 * The corpus is synthetic, shaped like xView2's label files.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *wrap(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : 0;
	json_t *subtype = json_stringn((const char *)data, n);
	json_t *wkt = json_stringn((const char *)data + (nl ? n + 1 : 0),
				   nl ? size - n - 1 : size);
	if (subtype == NULL || wkt == NULL) { /* not UTF-8 */
		json_decref(subtype);
		json_decref(wkt);
		return NULL;
	}
	return json_pack("{s:{s:s}, s:{s:[], s:[{s:{s:s, s:o, s:s}, s:o}]}}",
			 "metadata", "img_name", "fuzz.png", "features", "xy",
			 "lng_lat", "properties", "feature_type", "building",
			 "subtype", subtype, "uid", "f-1", "wkt", wkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drone_set *d;
	sl_error err;
	char *doc = NULL;
	int rc;
	if (size == 0)
		return 0;
	memset(&err, 0, sizeof(err));
	if (data[0] < 0x80) {
		rc = drone_parse("fuzz.json", data + 1, size - 1, NAN, &d, &err);
	} else {
		json_t *j = wrap(data + 1, size - 1);
		if (j == NULL || (doc = json_dumps(j, 0)) == NULL) {
			json_decref(j);
			return 0;
		}
		json_decref(j);
		rc = drone_parse("fuzz.json", (const unsigned char *)doc,
				 strlen(doc), NAN, &d, &err);
		free(doc);
	}
	if (memchr(err.text, '\0', sizeof(err.text)) == NULL)
		abort();
	if (rc != 0) {
		if (d != NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < d->n; i++)
		if ((d->xbd && d->f[i].confidence != 1.0) ||
		    d->f[i].damage > DRONE_UNCLASSIFIED || d->f[i].id[0] == '\0')
			abort();
	drone_set_free(d);
	return 0;
}
