/* Unit tests of hq/limit: the per-shelter token bucket (burst, refill at
 * the rate, independence of shelters) and its table growing past its
 * first 1024 slots without losing a bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "hq.h"

static void burst_then_rate(void **state)
{
	(void)state;
	limit_table *t = limit_new(2, 10);
	assert_non_null(t);
	for (int i = 0; i < 10; i++)
		assert_int_equal(limit_take(t, "A", 100.0), 1);
	assert_int_equal(limit_take(t, "A", 100.0), 0); /* burst spent */
	assert_int_equal(limit_take(t, "A", 100.4), 0); /* 0.8 token */
	assert_int_equal(limit_take(t, "A", 100.5), 1); /* 1.0 token */
	assert_int_equal(limit_take(t, "A", 100.5), 0);
	/* a long silence refills to the burst, not beyond */
	for (int i = 0; i < 10; i++)
		assert_int_equal(limit_take(t, "A", 1000.0), 1);
	assert_int_equal(limit_take(t, "A", 1000.0), 0);
	limit_free(t);
}

static void shelters_are_independent(void **state)
{
	(void)state;
	limit_table *t = limit_new(1, 1);
	assert_int_equal(limit_take(t, "A", 5.0), 1);
	assert_int_equal(limit_take(t, "A", 5.0), 0);
	assert_int_equal(limit_take(t, "B", 5.0), 1); /* A's flood is A's */
	limit_free(t);
}

static void grows_without_losing_buckets(void **state)
{
	(void)state;
	char id[32];
	limit_table *t = limit_new(1, 1);
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "SIM%07d", i);
		assert_int_equal(limit_take(t, id, 1.0), 1);
	}
	/* every bucket survived the rehashes: each is still empty */
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "SIM%07d", i);
		assert_int_equal(limit_take(t, id, 1.0), 0);
	}
	limit_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_rate),
		cmocka_unit_test(shelters_are_independent),
		cmocka_unit_test(grows_without_losing_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
