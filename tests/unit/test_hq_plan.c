/* Unit tests of hq/plan.c and hq/dispatch.c: a plan from need rows,
 * stock and vehicles; approval moving the ledger all or nothing; receipts
 * reconciled against what was sent.  A real SQLite store, no broker
 * (sending is tested by tests/integration/test_hq_plan.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"
#include "hq_testdb.h"

static char dbpath[64];
static catalog *items;

struct fixture {
	hq_store *st;
};

static int setup(void **state)
{
	sl_error err;
	static char schemas[] = SL_SCHEMA_DIR, items_file[] = SL_DATA_DIR
							       "/items.json";
	struct hq_config cfg = { 0 };
	cfg.common.schemas = schemas;
	cfg.common.items = items_file;
	items = hq_load_items(&cfg, &err);
	if (items == NULL)
		fail_msg("%s", err.text);
	*state = testdb_open(dbpath, sizeof(dbpath), "plan-test");
	return 0;
}

static int teardown(void **state)
{
	testdb_close(*state, dbpath);
	catalog_free(items);
	return 0;
}

static size_t item_at(const char *code)
{
	for (size_t i = 0; i < catalog_count(items); i++)
		if (strcmp(catalog_at(items, i)->code, code) == 0)
			return i;
	fail_msg("no item %s", code);
	return 0;
}

/* Two depots 20 km apart, three shelters, water only: 150 in stock for
 * 180 needed, so critical and high are served in full and normal gets
 * the remaining 10. */
static const struct depot depots[] = {
	{ "D1", "North hall", 37.40, 138.55 },
	{ "D2", "South hall", 37.22, 138.55 },
};
static const struct vehicle vehicles[] = {
	{ "T1", "D1", NULL, 2000, 10000 },
	{ "T2", "D2", "South truck", 2000, 10000 },
};
static const struct plan_shelter shelters[] = {
	{ "S1", "First school", "172022", 37.39, 138.56 },
	{ "S2", "Second school", "172022", 37.37, 138.54 },
	{ "S3", "Third school", "172022", 37.23, 138.56 },
};

static void golden_plan(void **state)
{
	(void)state;
	size_t n_items = catalog_count(items), w = item_at("water_drinking");
	long long *stock = calloc(2 * n_items, sizeof(*stock));
	stock[0 * n_items + w] = 100;
	stock[1 * n_items + w] = 50;
	struct plan_need needs[] = {
		{ 0, w, ALLOC_CRITICAL, 60 },
		{ 1, w, ALLOC_HIGH, 80 },
		{ 2, w, ALLOC_NORMAL, 40 },
	};
	struct plan_input in = { items,	    depots, 2, stock, vehicles, 2,
				 shelters, 3,	   needs, 3 };
	struct plan_result *r;
	sl_error err;
	if (plan_compute(&in, &r, &err) != 0)
		fail_msg("%s", err.text);
	long long given[3] = { 0 };
	for (size_t i = 0; i < r->alloc->n_fills; i++)
		given[r->alloc->fills[i].shelter] = r->alloc->fills[i].allocated;
	assert_int_equal(given[0], 60);
	assert_int_equal(given[1], 80);
	assert_int_equal(given[2], 10);
	/* what the trucks carry is exactly what each depot allocated, within
	 * each truck's weight (2.1 kg a unit: 150 units is 315 kg) */
	long long by_depot[2] = { 0 }, loaded[2] = { 0 };
	for (size_t i = 0; i < r->alloc->n_lines; i++)
		by_depot[r->alloc->lines[i].depot] += r->alloc->lines[i].qty;
	for (size_t d = 0; d < 2; d++) {
		const struct route_plan *rp = r->routes[d];
		for (size_t t = 0; rp && t < rp->ntrips; t++) {
			assert_true(rp->trips[t].weight_kg <= 2000);
			for (size_t k = 0; k < rp->trips[t].nstops; k++)
				for (size_t l = 0;
				     l < rp->trips[t].stops[k].nlines; l++)
					loaded[d] +=
						rp->trips[t].stops[k].lines[l].qty;
		}
	}
	assert_int_equal(by_depot[0], loaded[0]);
	assert_int_equal(by_depot[1], loaded[1]);
	assert_true(by_depot[0] <= 100 && by_depot[1] <= 50);
	assert_int_equal(by_depot[0] + by_depot[1], 150);
	assert_true(r->route_km > 0);
	plan_result_free(r);
	free(stock);
}

static void depot_without_truck(void **state)
{
	(void)state;
	size_t n_items = catalog_count(items), w = item_at("water_drinking");
	long long *stock = calloc(2 * n_items, sizeof(*stock));
	stock[1 * n_items + w] = 50;
	struct plan_need need = { 2, w, ALLOC_HIGH, 10 };
	/* only D1's truck: D2 holds the water but cannot move it */
	struct plan_input in = { items,	   depots, 2, stock, vehicles, 1,
				 shelters, 3,	  &need, 1 };
	struct plan_result *r;
	sl_error err;
	assert_int_equal(plan_compute(&in, &r, &err), SL_EINVAL);
	assert_null(r);
	assert_non_null(strstr(err.text, "D2"));
	assert_non_null(strstr(err.text, "no vehicles"));
	free(stock);
}

/* ---- with a database ---- */

static void report(hq_store *st, const struct plan_shelter *s, long long seq)
{
	sl_error err;
	enum store_result res;
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:{s:i},"
			      " s:{s:f, s:f, s:s}}",
			      "v", 1, "type", "status", "shelter_id", s->id,
			      "municipality", s->municipality, "seq",
			      (json_int_t)seq, "time",
			      "2024-01-09T18:00:00+09:00", "headcount", "total",
			      100, "position", "lat", s->lat, "lon", s->lon,
			      "source", "gps");
	assert_int_equal(store_begin(st, &err), 0);
	if (store_message(st, TOPIC_STATUS, m, 1000, &res, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(m);
}

static void stock_in(hq_store *st, const char *depot, long long qty)
{
	sl_error err;
	struct stock_change c = { depot, "water_drinking", "delivered by "
							   "truck",
				  "test", NULL, qty };
	if (stock_post(st, items, &c, 1, 1000, &err) != 0)
		fail_msg("%s", err.text);
}

static void world(hq_store *st)
{
	sl_error err;
	for (size_t i = 0; i < 2; i++) {
		if (depot_add(st, &depots[i], 1000, &err) != 0 ||
		    vehicle_add(st, &vehicles[i], &err) != 0)
			fail_msg("%s", err.text);
	}
	for (size_t i = 0; i < 3; i++)
		report(st, &shelters[i], 1);
	stock_in(st, "D1", 100);
	stock_in(st, "D2", 50);
}

static json_t *need_rows(void)
{
	return json_pack("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i},"
			 " {s:s, s:s, s:s, s:i}]",
			 "shelter_id", "S1", "item", "water_drinking",
			 "urgency", "critical", "needed", 60, "shelter_id",
			 "S2", "item", "water_drinking", "urgency", "high",
			 "needed", 80, "shelter_id", "S3", "item",
			 "water_drinking", "urgency", "normal", "needed", 40);
}

static long long scalar(hq_store *st, const char *sql, const char *param)
{
	json_t *rows;
	sl_error err;
	if (picture_query(st, sql, param, &rows, &err) != 0)
		fail_msg("%s", err.text);
	json_t *row = json_array_get(rows, 0);
	long long v = json_integer_value(json_object_iter_value(
		json_object_iter(row)));
	json_decref(rows);
	return v;
}

static long long on_hand(hq_store *st, const char *depot)
{
	long long q;
	sl_error err;
	assert_int_equal(stock_on_hand(st, depot, "water_drinking", &q, &err),
			 0);
	return q;
}

static void make_plan(hq_store *st, char plan_id[32], time_t now)
{
	struct plan_opts o = { now, 24, "tester", NULL };
	json_t *needs = need_rows();
	sl_error err;
	if (plan_create(st, items, needs, &o, plan_id, &err) != 0)
		fail_msg("%s", err.text);
	json_decref(needs);
}

static void plan_approve_reconcile(void **state)
{
	hq_store *st = *state;
	char plan_id[32], second[32];
	sl_error err;
	world(st);
	make_plan(st, plan_id, 1700000000);
	assert_string_equal(plan_id, "P20231114-221320");
	assert_int_equal(scalar(st, "SELECT sum(l.qty) FROM dispatches d"
				    " JOIN dispatch_lines l USING (dispatch_id)"
				    " WHERE d.plan_id = ?1",
				plan_id),
			 150);
	assert_int_equal(scalar(st, "SELECT allocated FROM plan_fills WHERE"
				    " plan_id = ?1 AND shelter_id = 'S3'",
				plan_id),
			 10);
	/* a draft moves nothing */
	assert_int_equal(on_hand(st, "D1") + on_hand(st, "D2"), 150);

	if (dispatch_approve(st, items, plan_id, "chief", 1700000100, &err))
		fail_msg("%s", err.text);
	assert_int_equal(on_hand(st, "D1") + on_hand(st, "D2"), 0);
	assert_int_equal(scalar(st, "SELECT count(*) FROM stock_ledger"
				    " WHERE ref LIKE ?1 || '-%' AND who = 'chief'",
				plan_id),
			 scalar(st, "SELECT count(*) FROM dispatch_lines l"
				    " JOIN dispatches d USING (dispatch_id)"
				    " WHERE d.plan_id = ?1",
				plan_id));
	/* twice is refused, and nothing moves */
	assert_int_equal(dispatch_approve(st, items, plan_id, "chief",
					  1700000200, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "already approved"));

	/* stock changes between planning and approving: refused whole */
	stock_in(st, "D1", 30);
	make_plan(st, second, 1700000300);
	struct stock_change out = { "D1", "water_drinking", "spoiled", "test",
				    NULL, -20 };
	assert_int_equal(stock_post(st, items, &out, 1, 1700000400, &err), 0);
	assert_int_equal(dispatch_approve(st, items, second, "chief",
					  1700000500, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "plan again"));
	assert_int_equal(on_hand(st, "D1"), 10);
	assert_int_equal(scalar(st, "SELECT status = 'draft' FROM plans"
				    " WHERE plan_id = ?1",
				second),
			 1);

	/* S3's order arrives 5 short, with blankets nobody ordered */
	json_t *rows;
	assert_int_equal(picture_query(st, "SELECT dispatch_id, qty FROM"
					   " dispatches JOIN dispatch_lines"
					   " USING (dispatch_id) WHERE plan_id = ?1"
					   " AND shelter_id = 'S3'",
				       plan_id, &rows, &err),
			 0);
	const char *d3 = json_string_value(
		json_object_get(json_array_get(rows, 0), "dispatch_id"));
	json_t *receipt = json_pack(
		"{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:[{s:s, s:i}, {s:s, s:i}]}",
		"v", 1, "type", "receipt", "shelter_id", "S3", "municipality",
		"172022", "seq", 2, "time", "2024-01-10T12:00:00+09:00",
		"dispatch_id", d3, "lines", "item", "water_drinking", "qty", 5,
		"item", "blanket", "qty", 3);
	enum store_result res;
	assert_int_equal(store_begin(st, &err), 0);
	if (store_message(st, TOPIC_RECEIPT, receipt, 1700001000, &res, &err))
		fail_msg("%s", err.text);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(receipt);
	json_decref(rows);

	if (dispatch_status(st, plan_id, &rows, &err) != 0)
		fail_msg("%s", err.text);
	size_t i, shorts = 0, extra = 0, unsent = 0;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *status = json_string_value(
			json_object_get(row, "status"));
		long long diff = json_integer_value(
			json_object_get(row, "difference"));
		if (strcmp(status, "short") == 0) {
			shorts++;
			assert_int_equal(diff, -5);
		} else if (strcmp(status, "not ordered") == 0) {
			extra++;
			assert_string_equal(json_string_value(json_object_get(
						    row, "item")),
					    "blanket");
			assert_int_equal(diff, 3);
		} else {
			unsent += strcmp(status, "not sent") == 0;
		}
	}
	assert_int_equal(shorts, 1);
	assert_int_equal(extra, 1);
	assert_int_equal(unsent, json_array_size(rows) - 2);
	json_decref(rows);
}

/* A shelter without a position (no list entry, no GPS) is listed as not
 * planned; the others are planned as if it were not there. */
static void shelter_without_position(void **state)
{
	hq_store *st = *state;
	char plan_id[32];
	sl_error err;
	enum store_result res;
	world(st);
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:{s:i}}", "v", 1,
			      "type", "status", "shelter_id", "NOGPS",
			      "municipality", "172022", "seq", 1, "time",
			      "2024-01-09T18:00:00+09:00", "headcount", "total",
			      30);
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_message(st, TOPIC_STATUS, m, 1000, &res, &err),
			 0);
	assert_int_equal(store_commit(st, &err), 0);
	json_decref(m);
	json_t *needs = need_rows();
	json_array_append_new(needs, json_pack("{s:s, s:s, s:s, s:i}",
					       "shelter_id", "NOGPS", "item",
					       "water_drinking", "urgency",
					       "critical", "needed", 500));
	struct plan_opts o = { 1700000000, 24, "tester", NULL };
	if (plan_create(st, items, needs, &o, plan_id, &err) != 0)
		fail_msg("%s", err.text);
	json_decref(needs);
	assert_int_equal(scalar(st, "SELECT allocated FROM plan_fills WHERE"
				    " plan_id = ?1 AND shelter_id = 'NOGPS'",
				plan_id),
			 0);
	assert_int_equal(scalar(st, "SELECT why LIKE 'not planned: the shelter"
				    " has no position%' FROM plan_fills WHERE"
				    " plan_id = ?1 AND shelter_id = 'NOGPS'",
				plan_id),
			 1);
	/* its critical 500 took nothing from the others */
	assert_int_equal(scalar(st, "SELECT allocated FROM plan_fills WHERE"
				    " plan_id = ?1 AND shelter_id = 'S3'",
				plan_id),
			 10);
}

static void bad_need_rows(void **state)
{
	hq_store *st = *state;
	char plan_id[32];
	sl_error err;
	struct plan_opts o = { 1700000000, 24, "tester", NULL };
	world(st);
	json_t *needs = json_pack("[{s:s, s:s, s:s, s:i}]", "shelter_id",
				  "NOWHERE", "item", "water_drinking",
				  "urgency", "high", "needed", 5);
	assert_int_equal(plan_create(st, items, needs, &o, plan_id, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "need row 1"));
	assert_non_null(strstr(err.text, "NOWHERE"));
	json_decref(needs);
	assert_int_equal(scalar(st, "SELECT count(*) FROM plans", NULL), 0);
	assert_int_equal(scalar(st, "SELECT count(*) FROM dispatches", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(golden_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(depot_without_truck, setup,
						teardown),
		cmocka_unit_test_setup_teardown(plan_approve_reconcile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(shelter_without_position, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_need_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
