/*
 * libFuzzer harness for hq's GeoJSON readers: the same bytes as a
 * buildings file (building_parse, then stored with building_import into
 * a real database) and as drone imagery (drone_parse, then drone_import
 * matching it to those buildings).  Checks all-or-nothing (a refused
 * file adds nothing), that what was read is what is stored, that a
 * re-import of the same source leaves the same rows, and that every
 * error text is terminated.
 * Build: make build-fuzz/fuzz_geojson; run:
 * build-fuzz/fuzz_geojson tests/fuzz/corpus/geojson
 * The corpus is synthetic.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "hq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hq_store *st;

static long long rows(const char *table)
{
	char sql[80];
	sqlite3_stmt *s;
	long long n = -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void terminated(const sl_error *err)
{
	if (memchr(err->text, '\0', sizeof(err->text)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct building_set *b;
	struct drone_set *d;
	struct drone_result r;
	size_t added, updated;
	sl_error err;

	if (st == NULL && (st = store_open(":memory:", &err)) == NULL)
		abort();
	if (sqlite3_exec(store_db(st),
			 "DELETE FROM drone_features; DELETE FROM buildings",
			 NULL, NULL, NULL) != SQLITE_OK)
		abort();
	memset(&err, 0, sizeof(err));
	int rc = building_parse("fuzz.geojson", data, size, &b, &err);
	terminated(&err);
	if (rc == 0) {
		if (b->n == 0 ||
		    building_import(st, "fuzz.geojson", b, 1, &added, &updated,
				    &err) != 0 ||
		    added != b->n || rows("buildings") != (long long)b->n)
			abort();
		building_set_free(b);
	} else if (b != NULL) {
		abort();
	}
	memset(&err, 0, sizeof(err));
	rc = drone_parse("fuzz.geojson", data, size, 0.5, &d, &err);
	terminated(&err);
	if (rc != 0) {
		if (d != NULL)
			abort();
		return 0;
	}
	for (int round = 0; round < 2; round++) {
		if (drone_import(st, "fuzz", "fuzz.geojson", d, 10, 1, &r,
				 &err) != 0)
			abort();
		if (r.features != d->n || r.matched + r.unmatched != d->n ||
		    rows("drone_features") != (long long)d->n ||
		    (round == 1 && r.replaced != d->n))
			abort();
	}
	for (size_t i = 0; i < d->n; i++)
		if (!(d->f[i].confidence >= 0 && d->f[i].confidence <= 1))
			abort();
	drone_set_free(d);
	return 0;
}
