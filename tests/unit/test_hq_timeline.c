/* Unit tests of hq/timeline: report times compared as instants whatever
 * their offset, a shelter's newest report at an instant counts, a
 * shelter at 0 leaves the count of shelters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hq.h"
#include "hq_testdb.h"

static char dbpath[64];

static void put(hq_store *st, const char *id, long long seq, const char *time,
		long long total)
{
	enum store_result r;
	sl_error err;
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:{s:I}}", "v", 1,
			      "type", "status", "shelter_id", id,
			      "municipality", "172022", "seq", (json_int_t)seq,
			      "time", time, "headcount", "total",
			      (json_int_t)total);
	assert_int_equal(store_begin(st, &err), 0);
	if (store_message(st, TOPIC_STATUS, m, 1000, &r, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(m);
}

/* "shelters/total" of timeline row i */
static void expect_row(const json_t *rows, size_t i, long long shelters,
		       long long total)
{
	const json_t *r = json_array_get(rows, i);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "shelters")),
			 shelters);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), total);
}

static void instants_not_strings(void **state)
{
	(void)state;
	sl_error err;
	json_t *rows;
	hq_store *st = testdb_open(dbpath, sizeof(dbpath), "timeline-test");
	/* 18:00 in Japan and 09:00 UTC are one instant */
	put(st, "A", 1, "2024-01-09T18:00:00+09:00", 10);
	put(st, "B", 1, "2024-01-09T09:00:00Z", 5);
	/* A empties the next morning; then says 7 at the same instant */
	put(st, "A", 2, "2024-01-10T06:00:00+09:00", 0);
	put(st, "A", 3, "2024-01-09T21:00:00Z", 7);
	assert_int_equal(timeline_rows(st, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	expect_row(rows, 0, 2, 15);
	expect_row(rows, 1, 2, 12); /* seq 3 wins over seq 2 at 21:00Z */
	json_decref(rows);
	put(st, "B", 2, "2024-01-11T00:00:00+09:00", 0);
	assert_int_equal(timeline_rows(st, &rows, &err), 0);
	expect_row(rows, 2, 1, 7); /* B at 0 no longer counts as a shelter */
	json_decref(rows);
	testdb_close(st, dbpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(instants_not_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
