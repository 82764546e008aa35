/* Unit tests of hq/norms and hq/estimate: the norms file's errors name
 * the norm and the field, a bad change leaves the file as it was, and the
 * estimate's rule on hand-checked cases (norms only, requests above and
 * below the norms, stock on site, urgency, horizon, rounding), read from
 * a real SQLite store. */
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

static char dbpath[64], normspath[64];
static schema_set *schemas;
static catalog *items;

/* ' for " keeps the JSON readable in C. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (const char *p = text; *p; p++)
		fputc(*p == '\'' ? '"' : *p, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every case below was worked out by hand from these. */
static const char test_norms[] =
	"{'v': 1, 'norms': ["
	" {'item': 'water_drinking', 'group': 'total', 'qty': 1.5, 'per': 'day',"
	"  'source': 'Sphere Handbook'},"
	" {'item': 'infant_formula', 'group': 'infants', 'qty': 0.2, 'per': 'day',"
	"  'source': 'assumption'},"
	" {'item': 'blanket', 'group': 'total', 'qty': 2, 'per': 'stay',"
	"  'source': 'assumption'},"
	" {'item': 'toilet_paper', 'group': 'total', 'qty': 0.5, 'per': 'day',"
	"  'source': 'assumption'},"
	" {'item': 'toilet_paper', 'group': 'elderly', 'qty': 0.5, 'per': 'day',"
	"  'source': 'assumption'},"
	" {'item': 'oral_rehydration', 'group': 'medical', 'qty': 1.1,"
	"  'per': 'day', 'source': 'assumption'}]}";

static int setup(void **state)
{
	snprintf(normspath, sizeof(normspath), "/tmp/sl-estimate-test.%d.json",
		 (int)getpid());
	write_file(normspath, test_norms);
	*state = testdb_open(dbpath, sizeof(dbpath), "estimate-test");
	return 0;
}

static int teardown(void **state)
{
	char lock[80];
	testdb_close(*state, dbpath);
	remove(normspath);
	snprintf(lock, sizeof(lock), "%s.lock", normspath);
	remove(lock);
	return 0;
}

static struct norms *load_norms(void)
{
	sl_error err;
	struct norms *n = norms_load(normspath, schemas, items, &err);
	if (n == NULL)
		fail_msg("%s", err.text);
	return n;
}

/* A status report; headcount, needs and stock as JSON text with '. */
static void report(hq_store *st, const char *id, long long seq,
		   const char *headcount, const char *needs, const char *stock)
{
	char text[2048];
	enum store_result r;
	sl_error err;
	json_error_t jerr;
	snprintf(text, sizeof(text),
		 "{'v': 1, 'type': 'status', 'shelter_id': '%s',"
		 " 'municipality': '172022', 'seq': %lld,"
		 " 'time': '2024-01-09T18:00:00+09:00', 'headcount': %s,"
		 " 'needs': %s, 'stock': %s}",
		 id, seq, headcount, needs ? needs : "[]", stock ? stock : "[]");
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *m = json_loads(text, 0, &jerr);
	if (m == NULL)
		fail_msg("%s: %s", text, jerr.text);
	assert_int_equal(schema_validate(schemas, "status", m, &err), 0);
	assert_int_equal(store_begin(st, &err), 0);
	if (store_message(st, TOPIC_STATUS, m, 1000, &r, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(m);
}

static json_t *estimate(hq_store *st, double hours)
{
	struct estimate_opts o = { 1704790800, hours };
	json_t *rows;
	sl_error err;
	struct norms *n = load_norms();
	if (estimate_needs(st, items, n, &o, &rows, &err) != 0)
		fail_msg("%s", err.text);
	norms_free(n);
	return rows;
}

/* The row of (shelter, item, urgency), or NULL. */
static const json_t *row(const json_t *rows, const char *id, const char *item,
			 const char *urgency)
{
	size_t i;
	const json_t *r;
	json_array_foreach (rows, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "shelter_id")), id) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "item")), item) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "urgency")), urgency) == 0)
			return r;
	}
	return NULL;
}

static size_t rows_of(const json_t *rows, const char *id, const char *item)
{
	size_t i, n = 0;
	const json_t *r;
	json_array_foreach (rows, i, r)
		n += strcmp(json_string_value(json_object_get(r, "shelter_id")), id) == 0 &&
		     strcmp(json_string_value(json_object_get(r, "item")), item) == 0;
	return n;
}

static long long num(const json_t *r, const char *key)
{
	assert_non_null(r);
	assert_true(json_is_integer(json_object_get(r, key)));
	return json_integer_value(json_object_get(r, key));
}

/* needed, from_norms, requested, on_site of one row */
static void expect(const json_t *rows, const char *id, const char *item,
		   const char *urgency, long long needed, long long from_norms,
		   long long requested, long long on_site)
{
	const json_t *r = row(rows, id, item, urgency);
	if (r == NULL)
		fail_msg("no row %s %s %s", id, item, urgency);
	assert_int_equal(num(r, "needed"), needed);
	assert_int_equal(num(r, "from_norms"), from_norms);
	assert_int_equal(num(r, "requested"), requested);
	assert_int_equal(num(r, "on_site"), on_site);
}

static const char *rule(const json_t *rows, const char *id, const char *item,
			const char *urgency)
{
	const json_t *r = row(rows, id, item, urgency);
	assert_non_null(r);
	return json_string_value(json_object_get(r, "rule"));
}

static void norms_only(void **state)
{
	hq_store *st = *state;
	report(st, "A", 1, "{'total': 9, 'infants': 7, 'elderly': 1}", NULL, NULL);
	json_t *rows = estimate(st, 24);
	/* 1.5 x 9 = 13.5 bottles: 14 */
	expect(rows, "A", "water_drinking", "normal", 14, 14, 0, 0);
	assert_string_equal(rule(rows, "A", "water_drinking", "normal"),
			    "norms 14 - on site 0 = 14; norms = ceil(1.5/d x 9 total x 1 d)");
	/* 0.2 x 7 = 1.4 cans: 2 */
	expect(rows, "A", "infant_formula", "normal", 2, 2, 0, 0);
	/* held per stay: 2 x 9 */
	expect(rows, "A", "blanket", "normal", 18, 18, 0, 0);
	/* 0.5 x 9 + 0.5 x 1 = 5: rounded once per item, not per norm (6) */
	expect(rows, "A", "toilet_paper", "normal", 5, 5, 0, 0);
	assert_string_equal(rule(rows, "A", "toilet_paper", "normal"),
			    "norms 5 - on site 0 = 5; norms = ceil(0.5/d x 9 total x 1 d"
			    " + 0.5/d x 1 elderly x 1 d)");
	/* only items with a norm or a request */
	assert_int_equal(json_array_size(rows), 4);
	json_decref(rows);
}

static void request_above_norms_keeps_its_urgency(void **state)
{
	hq_store *st = *state;
	report(st, "B", 1, "{'total': 10}",
	       "[{'item': 'water_drinking', 'qty': 40, 'urgency': 'critical'}]",
	       NULL);
	json_t *rows = estimate(st, 24);
	expect(rows, "B", "water_drinking", "critical", 40, 0, 40, 0);
	assert_int_equal(rows_of(rows, "B", "water_drinking"), 1);
	assert_string_equal(rule(rows, "B", "water_drinking", "critical"),
			    "max(requested 40, norms 15 - on site 0) = 40;"
			    " norms = ceil(1.5/d x 10 total x 1 d)");
	json_decref(rows);
}

static void request_below_norms_norms_add_normal(void **state)
{
	hq_store *st = *state;
	report(st, "C", 1, "{'total': 10}",
	       "[{'item': 'water_drinking', 'qty': 5, 'urgency': 'high'}]", NULL);
	json_t *rows = estimate(st, 24);
	/* max(5, 15) = 15: the 5 asked for stay high, 10 more are normal */
	expect(rows, "C", "water_drinking", "high", 5, 0, 5, 0);
	expect(rows, "C", "water_drinking", "normal", 10, 10, 0, 0);
	assert_int_equal(rows_of(rows, "C", "water_drinking"), 2);
	json_decref(rows);
}

static void stock_on_site_reduces_norms_not_requests(void **state)
{
	hq_store *st = *state;
	/* 15 by the norms, 20 on site: nothing */
	report(st, "D", 1, "{'total': 10}", NULL,
	       "[{'item': 'water_drinking', 'qty': 20}]");
	/* 12 on site: 3 */
	report(st, "E", 1, "{'total': 10}", NULL,
	       "[{'item': 'water_drinking', 'qty': 12}]");
	/* covered by stock, yet asked for: the request stands */
	report(st, "F", 1, "{'total': 10}",
	       "[{'item': 'water_drinking', 'qty': 3, 'urgency': 'critical'}]",
	       "[{'item': 'water_drinking', 'qty': 20}]");
	json_t *rows = estimate(st, 24);
	assert_int_equal(rows_of(rows, "D", "water_drinking"), 0);
	expect(rows, "E", "water_drinking", "normal", 3, 3, 0, 12);
	assert_string_equal(rule(rows, "E", "water_drinking", "normal"),
			    "norms 15 - on site 12 = 3; norms = ceil(1.5/d x 10 total x 1 d)");
	expect(rows, "F", "water_drinking", "critical", 3, 0, 3, 20);
	assert_int_equal(rows_of(rows, "F", "water_drinking"), 1);
	json_decref(rows);
}

static void request_without_norm(void **state)
{
	hq_store *st = *state;
	report(st, "G", 1, "{'total': 0}",
	       "[{'item': 'meal_ready', 'qty': 30, 'urgency': 'normal'},"
	       " {'item': 'mask', 'qty': 7, 'urgency': 'high'}]",
	       "[{'item': 'meal_ready', 'qty': 100}]");
	json_t *rows = estimate(st, 24);
	expect(rows, "G", "meal_ready", "normal", 30, 0, 30, 100);
	assert_string_equal(rule(rows, "G", "meal_ready", "normal"),
			    "requested 30 (no norm for this item)");
	expect(rows, "G", "mask", "high", 7, 0, 7, 0);
	assert_int_equal(json_array_size(rows), 2);
	json_decref(rows);
}

static void horizon_scales_daily_norms_only(void **state)
{
	hq_store *st = *state;
	report(st, "H", 1, "{'total': 9, 'infants': 7}",
	       "[{'item': 'water_drinking', 'qty': 20, 'urgency': 'critical'}]",
	       NULL);
	json_t *day = estimate(st, 24), *three = estimate(st, 72);
	/* 24 h: max(20, 14) = 20, all critical */
	expect(day, "H", "water_drinking", "critical", 20, 0, 20, 0);
	assert_int_equal(rows_of(day, "H", "water_drinking"), 1);
	/* 72 h: 1.5 x 9 x 3 = 40.5: 41; the request is not scaled */
	expect(three, "H", "water_drinking", "critical", 20, 0, 20, 0);
	expect(three, "H", "water_drinking", "normal", 21, 21, 0, 0);
	assert_string_equal(rule(three, "H", "water_drinking", "normal"),
			    "max(requested 20, norms 41 - on site 0) = 41;"
			    " norms = ceil(1.5/d x 9 total x 3 d)");
	/* 0.2 x 7 x 3 = 4.2: 5 */
	expect(three, "H", "infant_formula", "normal", 5, 5, 0, 0);
	/* blankets are held, not consumed: 18 either way */
	expect(day, "H", "blanket", "normal", 18, 18, 0, 0);
	expect(three, "H", "blanket", "normal", 18, 18, 0, 0);
	json_decref(day);
	json_decref(three);
	json_t *hours36 = estimate(st, 36);
	/* 1.5 x 9 x 1.5 = 20.25: 21 */
	expect(hours36, "H", "water_drinking", "normal", 1, 1, 0, 0);
	json_decref(hours36);
}

static void rounding(void **state)
{
	hq_store *st = *state;
	/* 1.1 x 50 is 55.00000000000001 in doubles: 55 bottles, not 56 */
	report(st, "R1", 1, "{'total': 50, 'medical': 50}", NULL, NULL);
	/* 0.2 x 1 = 0.2: one whole can */
	report(st, "R2", 1, "{'total': 1, 'infants': 1}", NULL, NULL);
	json_t *rows = estimate(st, 24);
	expect(rows, "R1", "oral_rehydration", "normal", 55, 55, 0, 0);
	expect(rows, "R2", "infant_formula", "normal", 1, 1, 0, 0);
	/* 1.5 x 1 = 1.5 bottles: 2 */
	expect(rows, "R2", "water_drinking", "normal", 2, 2, 0, 0);
	json_decref(rows);
}

static void unreported_group_counts_zero_and_says_so(void **state)
{
	hq_store *st = *state;
	report(st, "U", 1, "{'total': 4}", NULL, NULL);
	json_t *rows = estimate(st, 24);
	assert_int_equal(rows_of(rows, "U", "infant_formula"), 0);
	assert_string_equal(rule(rows, "U", "toilet_paper", "normal"),
			    "norms 2 - on site 0 = 2; norms = ceil(0.5/d x 4 total x 1 d"
			    " + 0.5/d x 0 elderly (not reported) x 1 d)");
	json_decref(rows);
}

static void newest_open_reports_only_in_order(void **state)
{
	hq_store *st = *state;
	sl_error err;
	report(st, "Z", 1, "{'total': 100}", NULL, NULL);
	report(st, "Z", 2, "{'total': 10}", NULL, NULL);
	report(st, "Y", 1, "{'total': 10}",
	       "[{'item': 'water_drinking', 'qty': 30, 'urgency': 'critical'}]",
	       NULL);
	report(st, "X", 1, "{'total': 10}", NULL, NULL);
	assert_int_equal(store_set_operator_state(st, "X", 0, 2000, &err), 0);
	json_t *rows = estimate(st, 24);
	/* Z's newest report (seq 2) counts, not seq 1 */
	expect(rows, "Z", "water_drinking", "normal", 15, 15, 0, 0);
	/* a shelter closed by an operator is left out */
	assert_int_equal(rows_of(rows, "X", "water_drinking"), 0);
	assert_int_equal(rows_of(rows, "X", "blanket"), 0);
	/* ordered by shelter id, item, urgency */
	const char *prev[3] = { "", "", "" };
	size_t i;
	const json_t *r;
	json_array_foreach (rows, i, r) {
		const char *cur[3] = {
			json_string_value(json_object_get(r, "shelter_id")),
			json_string_value(json_object_get(r, "item")),
			json_string_value(json_object_get(r, "urgency")),
		};
		int c = strcmp(prev[0], cur[0]);
		if (c == 0)
			c = strcmp(prev[1], cur[1]);
		if (c == 0)
			c = strcmp(prev[2], cur[2]);
		assert_true(c < 0);
		memcpy(prev, cur, sizeof(prev));
	}
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(rows, 0), "shelter_id")),
			    "Y");
	/* the same shelter once reopened */
	assert_int_equal(store_set_operator_state(st, "X", 1, 3000, &err), 0);
	json_decref(rows);
	rows = estimate(st, 24);
	expect(rows, "X", "water_drinking", "normal", 15, 15, 0, 0);
	json_decref(rows);
}

static void horizon_out_of_range(void **state)
{
	hq_store *st = *state;
	struct norms *n = load_norms();
	json_t *rows = (json_t *)1;
	sl_error err;
	struct estimate_opts o = { 0, 0.5 };
	assert_int_equal(estimate_needs(st, items, n, &o, &rows, &err), SL_EINVAL);
	assert_null(rows);
	assert_non_null(strstr(err.text, "horizon"));
	o.horizon_h = 169;
	assert_int_equal(estimate_needs(st, items, n, &o, &rows, &err), SL_EINVAL);
	o.horizon_h = 168;
	assert_int_equal(estimate_needs(st, items, n, &o, &rows, &err), 0);
	json_decref(rows);
	norms_free(n);
}

/* norms_load's error for text, which must contain each of want */
static void load_fails(const char *text, const char *want1, const char *want2)
{
	sl_error err;
	write_file(normspath, text);
	struct norms *n = norms_load(normspath, schemas, items, &err);
	assert_null(n);
	if (strstr(err.text, want1) == NULL || strstr(err.text, want2) == NULL)
		fail_msg("error '%s' lacks '%s' or '%s'", err.text, want1, want2);
	assert_non_null(strstr(err.text, normspath));
}

static void norms_load_errors(void **state)
{
	(void)state;
	sl_error err;
	load_fails("{'v': 1, 'norms': ["
		   " {'item': 'blanket', 'group': 'total', 'qty': 1, 'per': 'stay',"
		   "  'source': 'assumption'},"
		   " {'item': 'blankets', 'group': 'total', 'qty': 1, 'per': 'stay',"
		   "  'source': 'assumption'}]}",
		   "/norms/1/item", "'blankets' is not in the item catalogue");
	load_fails("{'v': 1, 'norms': ["
		   " {'item': 'blanket', 'group': 'total', 'qty': 1, 'per': 'stay',"
		   "  'source': 'assumption'},"
		   " {'item': 'blanket', 'group': 'total', 'qty': 2, 'per': 'stay',"
		   "  'source': 'Sphere'}]}",
		   "/norms/1", "appears twice");
	load_fails("{'v': 1, 'norms': ["
		   " {'item': 'blanket', 'group': 'total', 'qty': -1, 'per': 'stay',"
		   "  'source': 'assumption'}]}",
		   "/norms/0/qty", "minimum");
	load_fails("{'v': 1, 'norms': ["
		   " {'item': 'sanitary_pad', 'group': 'women', 'qty': 1,"
		   "  'per': 'day', 'source': 'assumption'}]}",
		   "/norms/0/group", "enum");
	load_fails("{'v': 1, 'norms': [", "expected", "");
	remove(normspath);
	assert_null(norms_load(normspath, schemas, items, &err));
	assert_non_null(strstr(err.text, normspath));
	/* the shipped file loads, with a source on every norm */
	struct norms *n = norms_load(SL_DATA_DIR "/norms.json", schemas, items, &err);
	if (n == NULL)
		fail_msg("%s", err.text);
	assert_true(norms_count(n) >= 8);
	for (size_t i = 0; i < norms_count(n); i++)
		assert_true(strlen(norms_at(n, i)->source) > 0);
	norms_free(n);
}

static void norms_set_replaces_or_leaves_untouched(void **state)
{
	hq_store *st = *state;
	sl_error err;
	struct norm c = { "water_drinking", "total", 2, NORM_PER_DAY,
			  "HQ decision", NULL };
	report(st, "S", 1, "{'total': 10}", NULL, NULL);
	assert_int_equal(norms_set(normspath, schemas, items, &c, &err), 0);
	json_t *rows = estimate(st, 24);
	expect(rows, "S", "water_drinking", "normal", 20, 20, 0, 0);
	json_decref(rows);
	/* a new norm is added at the end */
	struct norm add = { "meal_ready", "total", 3, NORM_PER_DAY, "Sphere", "3 meals" };
	assert_int_equal(norms_set(normspath, schemas, items, &add, &err), 0);
	struct norms *n = load_norms();
	assert_int_equal(norms_count(n), 7);
	assert_string_equal(norms_at(n, 6)->item, "meal_ready");
	assert_string_equal(norms_at(n, 6)->note, "3 meals");
	assert_true(norms_at(n, 0)->qty == 2);
	assert_string_equal(norms_at(n, 0)->source, "HQ decision");
	norms_free(n);

	char before[65536];
	snprintf(before, sizeof(before), "%s", read_file(normspath));
	struct norm bad[] = {
		{ "water", "total", 1, NORM_PER_DAY, "x", NULL },
		{ "water_drinking", "women", 1, NORM_PER_DAY, "x", NULL },
		{ "water_drinking", "total", 1001, NORM_PER_DAY, "x", NULL },
		{ "water_drinking", "total", 1, NORM_PER_DAY, "", NULL },
		{ "water_drinking", "total", 1, NORM_PER_DAY, "\x93\xfa", NULL },
	};
	const char *why[] = { "/norms/7/item", "/norms/7/group", "/norms/0/qty",
			      "/norms/0/source", "source: not UTF-8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(norms_set(normspath, schemas, items, &bad[i], &err), 0);
		if (strstr(err.text, why[i]) == NULL)
			fail_msg("error '%s' does not name %s", err.text, why[i]);
		assert_string_equal(read_file(normspath), before);
	}
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.tmp", normspath);
	assert_int_equal(access(tmp, F_OK), -1);
}

int main(void)
{
	sl_error err;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(norms_only, setup, teardown),
		cmocka_unit_test_setup_teardown(request_above_norms_keeps_its_urgency,
						setup, teardown),
		cmocka_unit_test_setup_teardown(request_below_norms_norms_add_normal,
						setup, teardown),
		cmocka_unit_test_setup_teardown(stock_on_site_reduces_norms_not_requests,
						setup, teardown),
		cmocka_unit_test_setup_teardown(request_without_norm, setup, teardown),
		cmocka_unit_test_setup_teardown(horizon_scales_daily_norms_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(unreported_group_counts_zero_and_says_so,
						setup, teardown),
		cmocka_unit_test_setup_teardown(newest_open_reports_only_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(horizon_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(norms_load_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(norms_set_replaces_or_leaves_untouched,
						setup, teardown),
	};
	schemas = schema_set_new();
	if (schemas == NULL || schema_set_load_dir(schemas, SL_SCHEMA_DIR, &err) ||
	    schema_set_resolve(schemas, &err) ||
	    (items = catalog_load(SL_DATA_DIR "/items.json", schemas, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.text);
		return 1;
	}
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	catalog_free(items);
	schema_set_free(schemas);
	return failed;
}
