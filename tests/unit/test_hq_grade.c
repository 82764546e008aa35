/* Unit tests of hq/grade.c: the golden cases of tests/data/grade/
 * golden.tsv (every class boundary, exactly on it and just below,
 * worked by hand with exact fractions), every threshold swept in steps
 * of the smallest unit, and the parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

#define GOLDEN SL_DATA_DIR "/../tests/data/grade/golden.tsv"

/* "49.990" into thousandths of a percent. */
static long thousandths(const char *s)
{
	long whole = 0, frac = 0;
	int n = sscanf(s, "%ld.%3ld", &whole, &frac);
	assert_int_equal(n, 2);
	return whole * 1000 + frac;
}

static void test_golden(void **state)
{
	(void)state;
	FILE *f = fopen(GOLDEN, "r");
	assert_non_null(f);
	char line[512];
	int cases = 0, bad = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *field[6], *save = NULL, *p = line;
		for (int i = 0; i < 6; i++, p = NULL) {
			field[i] = strtok_r(p, "\t\n", &save);
			assert_non_null(field[i]);
		}
		struct grade_elements e;
		sl_error err = {""};
		int rc = grade_parse_percent("roof", field[0], &e.roof, &err);
		if (rc == 0)
			rc = grade_parse_percent("walls", field[1], &e.walls,
						 &err);
		if (rc == 0)
			rc = grade_parse_percent("foundation", field[2],
						 &e.foundation, &err);
		if (strcmp(field[4], "bad") == 0) {
			assert_int_equal(rc, SL_EINVAL);
			bad++;
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", field[5], err.text);
		long loss;
		assert_int_equal(grade_loss(&e, &loss, &err), 0);
		if (loss != thousandths(field[3]))
			fail_msg("%s: loss %ld, golden %s", field[5], loss,
				 field[3]);
		enum grade g = grade_of_loss(loss);
		if (strcmp(grade_key(g), field[4]) != 0)
			fail_msg("%s: grade %s, golden %s", field[5],
				 grade_key(g), field[4]);
		cases++;
	}
	fclose(f);
	assert_true(cases >= 25);
	assert_true(bad >= 1);
}

/* Around each threshold, in the smallest step a ratio can take (10
 * thousandths: 0.1 % of the foundation): the bound itself is in the
 * upper class, one step below in the lower one. */
static void test_thresholds(void **state)
{
	(void)state;
	static const struct {
		long at;
		enum grade above, below;
	} t[] = {
		{50000, GRADE_ZENKAI, GRADE_DAIKIBO_HANKAI},
		{40000, GRADE_DAIKIBO_HANKAI, GRADE_CHUKIBO_HANKAI},
		{30000, GRADE_CHUKIBO_HANKAI, GRADE_HANKAI},
		{20000, GRADE_HANKAI, GRADE_JUN_HANKAI},
		{10000, GRADE_JUN_HANKAI, GRADE_ICHIBU_SONKAI},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(grade_of_loss(t[i].at), t[i].above);
		assert_int_equal(grade_of_loss(t[i].at + 10), t[i].above);
		assert_int_equal(grade_of_loss(t[i].at - 10), t[i].below);
	}
	assert_int_equal(grade_of_loss(0), GRADE_ICHIBU_SONKAI);
	assert_int_equal(grade_of_loss(100000), GRADE_ZENKAI);
	/* every combination of whole percentages grades monotonically */
	for (int w = 0; w <= 1000; w += 10) {
		long prev = -1;
		for (int r = 0; r <= 1000; r += 50) {
			struct grade_elements e = {r, w, 0};
			long loss;
			assert_int_equal(grade_loss(&e, &loss, NULL), 0);
			assert_true(loss > prev);
			prev = loss;
		}
	}
}

static void test_parsers(void **state)
{
	(void)state;
	int v;
	sl_error err = {""};
	assert_int_equal(grade_parse_percent("walls", "37.5", &v, &err), 0);
	assert_int_equal(v, 375);
	assert_int_equal(grade_parse_percent("walls", "100", &v, &err), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(grade_parse_percent("walls", "0", &v, &err), 0);
	assert_int_equal(v, 0);
	static const char *const bad[] = {"",	  "100.1", "101", "-1", "1e2",
					  "12.", "12.34", " 5",	 "5 ",	"0x10",
					  ".5",	 "10000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (grade_parse_percent("roof", bad[i], &v, &err) != SL_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err.text, "roof"));
	}
	enum grade g;
	assert_int_equal(grade_parse("hankai", &g, &err), 0);
	assert_int_equal(g, GRADE_HANKAI);
	assert_int_equal(grade_parse("大規模半壊", &g, &err), 0);
	assert_int_equal(g, GRADE_DAIKIBO_HANKAI);
	assert_int_equal(grade_parse("一部損壊", &g, &err), 0);
	assert_int_equal(g, GRADE_ICHIBU_SONKAI);
	assert_int_equal(grade_parse("half", &g, &err), SL_EINVAL);
	for (int i = 0; i < GRADE_COUNT; i++) {
		assert_int_equal(grade_parse(grade_key((enum grade)i), &g, NULL),
				 0);
		assert_int_equal(g, i);
		assert_int_equal(grade_parse(grade_name((enum grade)i), &g,
					     NULL),
				 0);
		assert_int_equal(g, i);
	}
	struct grade_elements e = {0, 1001, 0};
	long loss;
	assert_int_equal(grade_loss(&e, &loss, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "walls"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
