/*
 * libFuzzer harness for hq's WKT reader (geo_parse_wkt): any bytes as
 * text.  A shape read is written back (geo_wkt) and read again: the two
 * must agree in kind, rings, points and centroid, and writing the second
 * must give the same text; point-in-polygon and overlap run on it.
 * Every error text is terminated.
 * Build: make build-fuzz/fuzz_wkt; run:
 * build-fuzz/fuzz_wkt tests/fuzz/corpus/wkt
 * The corpus is synthetic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t points(const struct geo_shape *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nrings; i++)
		n += s->rings[i].n;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geo_shape *s, *back;
	sl_error err;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&err, 0, sizeof(err));
	int rc = geo_parse_wkt(text, &s, &err);
	free(text);
	if (memchr(err.text, '\0', sizeof(err.text)) == NULL)
		abort();
	if (rc != 0) {
		if (s != NULL)
			abort();
		return 0;
	}
	char *w = geo_wkt(s);
	if (w == NULL || geo_parse_wkt(w, &back, &err) != 0)
		abort();
	char *w2 = geo_wkt(back);
	if (w2 == NULL || strcmp(w, w2) != 0 || back->kind != s->kind ||
	    back->nrings != s->nrings || points(back) != points(s))
		abort();
	if (s->centroid.lat < -90 - 1e-9 || s->centroid.lat > 90 + 1e-9)
		abort();
	(void)geo_contains(s, s->centroid.lon, s->centroid.lat);
	if (s->kind == GEO_POINT && !geo_overlaps(s, back))
		abort();
	(void)geo_overlaps(s, back);
	sl_free(w);
	sl_free(w2);
	geo_free(back);
	geo_free(s);
	return 0;
}
