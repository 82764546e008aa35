/* Unit tests of common/rules and common/catalog: the rules outside the
 * schemas, against the shipped item catalogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "rules.h"

static schema_set *schemas;
static catalog *items;

static int setup(void **state)
{
	sl_error err;
	(void)state;
	schemas = schema_set_new();
	if (schema_set_load_dir(schemas, SL_SCHEMA_DIR, &err) != 0 ||
	    schema_set_resolve(schemas, &err) != 0)
		fail_msg("%s", err.text);
	items = catalog_load(SL_DATA_DIR "/items.json", schemas, &err);
	if (items == NULL)
		fail_msg("%s", err.text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	catalog_free(items);
	schema_set_free(schemas);
	return 0;
}

static void expect(const char *json, const char *needle)
{
	sl_error err = { "" };
	json_t *m = json_loads(json, 0, NULL);
	assert_non_null(m);
	int rc = rules_check(m, items, &err);
	json_decref(m);
	if (needle == NULL) {
		if (rc != 0)
			fail_msg("unexpected: %s", err.text);
		return;
	}
	assert_int_equal(rc, SL_EINVAL);
	if (strstr(err.text, needle) == NULL)
		fail_msg("'%s' lacks '%s'", err.text, needle);
}

static void catalogue_has_the_basic_eight_and_water(void **state)
{
	(void)state;
	const char *codes[] = { "meal_ready", "blanket", "infant_formula",
				"diaper_infant", "diaper_adult", "toilet_portable",
				"toilet_paper", "sanitary_pad", "water_drinking" };
	int basic8 = 0;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const struct catalog_item *it = catalog_find(items, codes[i]);
		if (it == NULL)
			fail_msg("missing item %s", codes[i]);
		assert_true(it->unit_weight_kg > 0 && it->unit_volume_l > 0);
		assert_non_null(it->name_ja);
		assert_non_null(it->name_en);
		basic8 += it->push_basic8;
	}
	assert_int_equal(basic8, 8);
	assert_null(catalog_find(items, "gold"));
}

static void headcount_groups_within_total(void **state)
{
	(void)state;
	expect("{\"time\":\"2024-01-09T18:00:00+09:00\",\"headcount\":"
	       "{\"total\":10,\"infants\":10,\"elderly\":10,\"pets\":40}}",
	       NULL);
	expect("{\"headcount\":{\"total\":10,\"elderly\":11}}",
	       "inconsistent: /headcount/elderly: 11 is more than the total 10");
}

static void items_known_and_once(void **state)
{
	(void)state;
	expect("{\"needs\":[{\"item\":\"blanket\"},{\"item\":\"gold\"}]}",
	       "unknown_item: /needs/1/item: 'gold'");
	expect("{\"stock\":[{\"item\":\"blanket\"},{\"item\":\"rice\"},"
	       "{\"item\":\"blanket\"}]}",
	       "duplicate_item: /stock/2/item: 'blanket' already at /stock/0");
	expect("{\"lines\":[{\"item\":\"blanket\"},{\"item\":\"rice\"}]}", NULL);
}

static void dates_must_exist(void **state)
{
	(void)state;
	assert_true(rules_date_valid("2024-02-29T00:00:00Z"));
	assert_false(rules_date_valid("2023-02-29T00:00:00Z"));
	assert_false(rules_date_valid("2024-04-31T00:00:00Z"));
	assert_true(rules_date_valid("2000-02-29T00:00:00Z"));
	assert_false(rules_date_valid("1900-02-29T00:00:00Z"));
	expect("{\"time\":\"2024-02-30T10:00:00+09:00\"}", "bad_time: /time");
	expect("{\"position\":{\"fix_time\":\"2024-06-31T10:00:00Z\"}}",
	       "bad_time: /position/fix_time");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(catalogue_has_the_basic_eight_and_water),
		cmocka_unit_test(headcount_groups_within_total),
		cmocka_unit_test(items_known_and_once),
		cmocka_unit_test(dates_must_exist),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
