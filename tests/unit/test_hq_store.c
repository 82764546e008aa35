/* Unit tests of hq/store: idempotent storage under (shelter_id, seq),
 * contiguous acknowledgement, birth/death ordering, dead letters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"
#include "hq_testdb.h"

static char dbpath[64];

static int setup(void **state)
{
	*state = testdb_open(dbpath, sizeof(dbpath), "store-test");
	return 0;
}

static int teardown(void **state)
{
	testdb_close(*state, dbpath);
	return 0;
}

static json_t *status(const char *id, long long seq, long long total)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:{s:I}, s:[{s:s, s:i, s:s}]}",
			 "v", 1, "type", "status", "shelter_id", id,
			 "municipality", "172022", "seq", (json_int_t)seq, "time",
			 "2024-01-09T18:00:00+09:00", "headcount", "total",
			 (json_int_t)total, "needs", "item", "water_drinking",
			 "qty", 10, "urgency", "high");
}

static enum store_result put(hq_store *st, const char *id, long long seq,
			     long long total)
{
	enum store_result r;
	sl_error err;
	json_t *m = status(id, seq, total);
	assert_int_equal(store_begin(st, &err), 0);
	if (store_message(st, TOPIC_STATUS, m, 1000, &r, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(m);
	return r;
}

static long long acked(hq_store *st, const char *id)
{
	long long seq;
	sl_error err;
	assert_int_equal(store_acked_seq(st, id, &seq, &err), 0);
	return seq;
}

struct seen {
	long long shelters, total, reports, last_seq;
	char status[16];
};

static int collect(const struct store_shelter *r, void *arg)
{
	struct seen *s = arg;
	s->shelters++;
	s->total = r->total;
	s->reports = r->reports;
	s->last_seq = r->last_seq;
	snprintf(s->status, sizeof(s->status), "%s", r->status);
	return 0;
}

static void duplicates_are_stored_once(void **state)
{
	hq_store *st = *state;
	struct seen s = { 0 };
	sl_error err;
	assert_int_equal(put(st, "A", 1, 10), STORE_NEW);
	assert_int_equal(put(st, "A", 1, 99), STORE_DUPLICATE);
	assert_int_equal(put(st, "A", 2, 12), STORE_NEW);
	assert_int_equal(store_each_shelter(st, collect, &s, &err), 0);
	assert_int_equal(s.shelters, 1);
	assert_int_equal(s.reports, 2);
	assert_int_equal(s.total, 12);
	assert_int_equal(s.last_seq, 2);
}

static void acknowledgement_never_covers_a_gap(void **state)
{
	hq_store *st = *state;
	put(st, "B", 1, 1);
	assert_int_equal(acked(st, "B"), 1);
	put(st, "B", 3, 3);
	put(st, "B", 4, 4);
	assert_int_equal(acked(st, "B"), 1);
	put(st, "B", 2, 2);
	assert_int_equal(acked(st, "B"), 4);
	assert_int_equal(acked(st, "nobody"), 0);
}

static void rollback_leaves_nothing(void **state)
{
	hq_store *st = *state;
	enum store_result r;
	sl_error err;
	struct seen s = { 0 };
	json_t *m = status("C", 1, 5);
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_message(st, TOPIC_STATUS, m, 1, &r, &err), 0);
	store_rollback(st);
	json_decref(m);
	assert_int_equal(store_each_shelter(st, collect, &s, &err), 0);
	assert_int_equal(s.shelters, 0);
	assert_int_equal(acked(st, "C"), 0);
}

static void stale_death_is_ignored(void **state)
{
	hq_store *st = *state;
	enum store_result r;
	sl_error err;
	struct seen s = { 0 };
	const char *fmt = "{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s}";
	json_t *birth2 = json_pack(fmt, "v", 1, "type", "state", "shelter_id", "D",
				   "municipality", "172022", "state", "online",
				   "birth", 2, "time", "2024-01-09T18:00:00Z",
				   "agent_version", "0.1.0");
	json_t *death1 = json_pack(fmt, "v", 1, "type", "state", "shelter_id", "D",
				   "municipality", "172022", "state", "offline",
				   "birth", 1, "time", "2024-01-09T18:00:01Z",
				   "agent_version", "0.1.0");
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_message(st, TOPIC_STATE, birth2, 1, &r, &err), 0);
	assert_int_equal(r, STORE_NEW);
	assert_int_equal(store_message(st, TOPIC_STATE, death1, 2, &r, &err), 0);
	assert_int_equal(r, STORE_IGNORED);
	assert_int_equal(store_commit(st, &err), 0);
	assert_int_equal(store_each_shelter(st, collect, &s, &err), 0);
	assert_string_equal(s.status, "online");
	json_decref(birth2);
	json_decref(death1);
}

static void rejected_seq_settles_only_its_shelter(void **state)
{
	hq_store *st = *state;
	sl_error err;
	size_t big = 100000;
	char *payload = calloc(1, big);
	struct store_settle settle = { "E", "172022", 2 };
	put(st, "E", 1, 1);
	put(st, "E", 3, 3);
	assert_int_equal(acked(st, "E"), 1);
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_dead_letter(st, "t", "too_large", payload, big, big,
					   NULL, 1, &err),
			 0);
	assert_int_equal(store_dead_letter(st, "t", "schema", "{}", 2, 2, &settle,
					   1, &err),
			 0);
	assert_int_equal(store_commit(st, &err), 0);
	assert_int_equal(acked(st, "E"), 3);
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(duplicates_are_stored_once, setup, teardown),
		cmocka_unit_test_setup_teardown(acknowledgement_never_covers_a_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_death_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(rejected_seq_settles_only_its_shelter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
