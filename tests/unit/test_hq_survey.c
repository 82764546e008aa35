/*
 * Unit tests of the り災証明 survey intake: address normalisation, the
 * WKT and GeoJSON readers and geometry tests, the building, xBD and
 * drone GeoJSON readers (bad input named by feature index or line),
 * application times, matching, duplicates and all-or-nothing stores,
 * idempotent imagery imports, and the golden triage decisions of
 * tests/data/survey/triage.golden.  All data here is synthetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hq.h"
#include "hq_testdb.h"
#include "mem.h"

#define GOLDEN SL_DATA_DIR "/../tests/data/survey/triage.golden"

static char dbpath[64];

static int setup(void **state)
{
	*state = testdb_open(dbpath, sizeof(dbpath), "survey-test");
	return 0;
}

static int teardown(void **state)
{
	testdb_close(*state, dbpath);
	return 0;
}

static long long count(hq_store *st, const char *sql)
{
	sqlite3_stmt *s;
	long long n = -1;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL),
			 SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void text_is(hq_store *st, const char *sql, const char *want)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	const char *got = (const char *)sqlite3_column_text(s, 0);
	assert_string_equal(got ? got : "(null)", want);
	sqlite3_finalize(s);
}

/* ---- addresses ---- */

static void norm_is(const char *in, const char *want)
{
	char out[256];
	assert_int_equal(building_address_norm(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void addresses_agree_in_every_written_form(void **state)
{
	(void)state;
	norm_is("1丁目2番3号", "1-2-3");
	norm_is("１－２－３", "1-2-3");
	norm_is("1-2-3", "1-2-3");
	norm_is("１丁目２番地３", "1-2-3");
	norm_is("一丁目二番三号", "1-2-3");
	norm_is("二十三丁目十番十一号", "23-10-11");
	norm_is("1‐2−3", "1-2-3");
	norm_is("1番地の2", "1-2");
	norm_is("熊本県上益城郡益城町宮園 1丁目2番3号", "益城町宮園1-2-3");
	norm_is("上益城郡益城町大字宮園1-2-3", "益城町宮園1-2-3");
	norm_is("郡山市桑野1-2", "郡山市桑野1-2"); /* a city, not a county */
	norm_is("熊本市東区錦ヶ丘1-2", "熊本市東区錦ケ丘1-2");
	norm_is("熊本市東区錦ヵ丘1-2", "熊本市東区錦ケ丘1-2");
	norm_is("東京都千代田区丸の内1-1", "千代田区丸の内1-1");
	/* の and ー stay where they are words, not separators */
	norm_is("センター前1-2", "センター前1-2");
	norm_is("", "");
	char small[4];
	assert_int_equal(building_address_norm("1丁目2番", small, sizeof(small)),
			 SL_EINVAL);
}

/* ---- WKT and geometry ---- */

static struct geo_shape *wkt_ok(const char *text)
{
	struct geo_shape *s;
	sl_error err;
	if (geo_parse_wkt(text, &s, &err) != 0)
		fail_msg("%s: %s", text, err.text);
	return s;
}

static void wkt_bad(const char *text, const char *why)
{
	struct geo_shape *s = (void *)1;
	sl_error err;
	assert_int_equal(geo_parse_wkt(text, &s, &err), SL_EINVAL);
	assert_null(s);
	if (strstr(err.text, why) == NULL)
		fail_msg("'%s': error '%s' does not say '%s'", text, err.text,
			 why);
}

static void wkt_reads_points_polygons_and_holes(void **state)
{
	(void)state;
	struct geo_shape *p = wkt_ok("POINT (130.8 32.7)");
	assert_int_equal(p->kind, GEO_POINT);
	assert_true(p->centroid.lon == 130.8 && p->centroid.lat == 32.7);
	geo_free(p);
	/* a 2 x 2 square with a 1 x 1 hole in its lower left quarter */
	struct geo_shape *s = wkt_ok(
		"polygon((0 0, 2 0, 2 2, 0 2, 0 0), (0 0, 1 0, 1 1, 0 1, 0 0))");
	assert_int_equal(s->kind, GEO_POLYGON);
	assert_int_equal(s->nrings, 2);
	/* the L-shape's centroid: (3 x (1,1) - 1 x (0.5,0.5)) / 3 */
	assert_true(fabs(s->centroid.lon - 7.0 / 6) < 1e-12);
	assert_true(fabs(s->centroid.lat - 7.0 / 6) < 1e-12);
	assert_true(geo_contains(s, 1.5, 1.5));
	assert_false(geo_contains(s, 0.5, 0.5)); /* in the hole */
	assert_false(geo_contains(s, 3, 1));
	struct geo_shape *m = wkt_ok("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)),"
				     " ((5 5, 6 5, 6 6, 5 5)))");
	assert_int_equal(m->nrings, 2);
	char *w = geo_wkt(m);
	assert_string_equal(w, "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, "
			       "6 5, 6 6, 5 5)))");
	free(w);
	struct geo_shape *back = wkt_ok("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)),"
					" ((5 5, 6 5, 6 6, 5 5)))");
	assert_true(back->centroid.lon == m->centroid.lon);
	geo_free(back);
	/* overlap: edges crossing, containment, apart */
	struct geo_shape *a = wkt_ok("POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))");
	struct geo_shape *b = wkt_ok("POLYGON ((1 -1, 3 -1, 3 3, 1 3, 1 -1))");
	struct geo_shape *c = wkt_ok("POLYGON ((0.5 0.5, 1 0.5, 1 1, 0.5 0.5))");
	struct geo_shape *d = wkt_ok("POLYGON ((4 4, 5 4, 5 5, 4 4))");
	struct geo_shape *x = wkt_ok("POLYGON ((-1 0.5, 3 0.5, 3 1, -1 1, -1 0.5))");
	assert_true(geo_overlaps(a, b));
	assert_true(geo_overlaps(a, c) && geo_overlaps(c, a));
	assert_false(geo_overlaps(a, d));
	assert_true(geo_overlaps(a, x)); /* a band across: no vertex inside */
	struct geo_shape *same = wkt_ok("POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))");
	assert_true(geo_overlaps(a, same)); /* the same outline */
	geo_free(same);
	geo_free(a), geo_free(b), geo_free(c), geo_free(d), geo_free(x);
	geo_free(s);
	geo_free(m);
	/* rings crossing themselves with no net area: the centre stays in
	 * the box (found by fuzz_wkt) */
	struct geo_shape *bow = wkt_ok("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))");
	assert_true(bow->centroid.lon >= 0 && bow->centroid.lon <= 2 &&
		    bow->centroid.lat >= 0 && bow->centroid.lat <= 2);
	geo_free(bow);
	assert_true(fabs(geo_distance_m(32.0, 130.0, 32.001, 130.0) - 111.19) <
		    0.1);
}

static void wkt_refuses_bad_text_with_its_position(void **state)
{
	(void)state;
	wkt_bad("POLYGON ((0 0, 1 0, 1 1, 0 1))", "not closed");
	wkt_bad("POLYGON ((0 0, 1 0, 0 0))", "at least 4 points");
	wkt_bad("POINT (130 95)", "latitude 95 is outside -90..90");
	wkt_bad("POINT (181 0)", "longitude 181");
	wkt_bad("POINT Z (1 2 3)", "at character 7: expected '('");
	wkt_bad("POINT (1 2 3)", "only 2-D");
	wkt_bad("POINT EMPTY", "expected '('");
	wkt_bad("POINT (1 2) x", "expected the end");
	wkt_bad("POINT (nan 2)", "expected a number");
	wkt_bad("POINT (1e999 2)", "not a finite number");
	wkt_bad("LINESTRING (0 0, 1 1)", "POINT, POLYGON or MULTIPOLYGON");
	wkt_bad("POLYGON ((0 0, 1 0, 1 1, 0 0)", "expected ')'");
	wkt_bad("", "at character 1");
	wkt_bad("POLYGON ((0 0,, 1 0, 1 1, 0 0))", "a number");
}

/* ---- readers ---- */

static int parse_buildings(const char *text, struct building_set **out,
			   sl_error *err)
{
	return building_parse("b.json", (const unsigned char *)text,
			      strlen(text), out, err);
}

static void buildings_read_geojson_and_csv(void **state)
{
	(void)state;
	struct building_set *set;
	sl_error err;
	const char *ok =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"id\":7,\"properties\":{\"address\":"
		"\"宮園1-2-3\",\"structure\":\"木造\",\"floors\":2},"
		"\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[130,32],"
		"[130.001,32],[130.001,32.001],[130,32.001],[130,32]]]}},"
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"B2\"},"
		"\"geometry\":{\"type\":\"Point\",\"coordinates\":[130.5,32.5,12]}}]}";
	assert_int_equal(parse_buildings(ok, &set, &err), 0);
	assert_int_equal(set->n, 2);
	assert_string_equal(set->b[0].id, "7");
	assert_int_equal(set->b[0].structure, BUILDING_WOODEN);
	assert_int_equal(set->b[0].floors, 2);
	assert_true(fabs(set->b[0].shape->centroid.lon - 130.0005) < 1e-9);
	assert_string_equal(set->b[1].ref, "b.json#1");
	assert_null(set->b[1].address);
	building_set_free(set);

	const char *bad_class =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":"
		"{\"type\":\"Point\",\"coordinates\":[1,2]}},"
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"b\",\"structure\":"
		"\"brick\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}]}";
	assert_int_equal(parse_buildings(bad_class, &set, &err), SL_EINVAL);
	assert_string_equal(err.text, "b.json: feature 1: structure 'brick' is "
				      "not wooden, non_wooden or unknown "
				      "(木造, 非木造, 不明)");
	const char *bad_lat =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":"
		"{\"type\":\"Point\",\"coordinates\":[130,91]}}]}";
	assert_int_equal(parse_buildings(bad_lat, &set, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "feature 0: latitude 91"));
	const char *dup =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":"
		"{\"type\":\"Point\",\"coordinates\":[1,2]}},"
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":"
		"{\"type\":\"Point\",\"coordinates\":[1,3]}}]}";
	assert_int_equal(parse_buildings(dup, &set, &err), SL_EINVAL);
	assert_string_equal(err.text, "b.json#1: id 'a' repeats the building "
				      "of b.json#0");
	const char *huge =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":"
		"{\"type\":\"Polygon\",\"coordinates\":[[[130,32],[131,32],"
		"[131,33],[130,32]]]}}]}";
	assert_int_equal(parse_buildings(huge, &set, &err), SL_EINVAL);
	assert_string_equal(err.text, "b.json: feature 0: the footprint spans "
				      "more than 0.01 degrees (about 1 km): "
				      "not one building");
	assert_int_equal(parse_buildings("{\"type\":\"Feature", &set, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "b.json:1:"));
	assert_int_equal(parse_buildings("{\"features\":[]}", &set, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "not a GeoJSON FeatureCollection"));

	const char *csv = "id,address,lat,lon,structure,floors\n"
			  "P1,宮園1-1,32.1,130.1,非木造,3\n"
			  "P2,,32.2,130.2,,\n";
	assert_int_equal(building_parse("b.csv", (const unsigned char *)csv,
					strlen(csv), &set, &err),
			 0);
	assert_int_equal(set->n, 2);
	assert_int_equal(set->b[0].structure, BUILDING_NON_WOODEN);
	assert_string_equal(set->b[1].ref, "b.csv:3");
	building_set_free(set);
	const char *csv_bad = "id,lat,lon\nP1,32.1,130.1\nP2,32.2,east\n";
	assert_int_equal(building_parse("b.csv", (const unsigned char *)csv_bad,
					strlen(csv_bad), &set, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "b.csv:3: column 'lon': 'east'"));
	const char *csv_floors = "id,lat,lon,floors\nP1,32.1,130.1,2.5\n";
	assert_int_equal(building_parse("b.csv",
					(const unsigned char *)csv_floors,
					strlen(csv_floors), &set, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "b.csv:2: floors '2.5' is not a whole "
				      "number from 1 to 200");
}

static int parse_drone(const char *text, double def, struct drone_set **out,
		       sl_error *err)
{
	return drone_parse("d.json", (const unsigned char *)text, strlen(text),
			   def, out, err);
}

static void xbd_and_drone_geojson_read_with_feature_index_in_errors(void **state)
{
	(void)state;
	struct drone_set *set;
	sl_error err;
	const char *xbd =
		"{\"metadata\":{\"img_name\":\"p.png\"},\"features\":{\"xy\":[],"
		"\"lng_lat\":[{\"properties\":{\"feature_type\":\"building\","
		"\"subtype\":\"major-damage\",\"uid\":\"u1\"},\"wkt\":\"POLYGON "
		"((130 32, 130.001 32, 130.001 32.001, 130 32))\"},"
		"{\"properties\":{\"feature_type\":\"building\",\"subtype\":"
		"\"destroyed\",\"uid\":\"u2\"},\"wkt\":\"POLYGON ((131 32, "
		"131.001 32, 131.001 32.001, 131 32))\"}]}}";
	assert_int_equal(parse_drone(xbd, NAN, &set, &err), 0);
	assert_int_equal(set->xbd, 1);
	assert_int_equal(set->n, 2);
	assert_int_equal(set->f[0].damage, DRONE_MAJOR);
	assert_true(set->f[1].confidence == 1.0);
	assert_string_equal(set->f[1].image, "p.png");
	assert_string_equal(set->f[1].id, "u2");
	drone_set_free(set);
	assert_int_equal(parse_drone(xbd, 0.7, &set, &err), 0);
	assert_true(set->f[0].confidence == 0.7);
	drone_set_free(set);

	char bad[1024];
	snprintf(bad, sizeof(bad), "%s", xbd);
	memcpy(strstr(bad, "destroyed"), "wrecked!!", 9);
	assert_int_equal(parse_drone(bad, NAN, &set, &err), SL_EINVAL);
	assert_string_equal(err.text,
			    "d.json: feature 1: damage class 'wrecked!!' is "
			    "not no-damage, minor-damage, major-damage, "
			    "destroyed or un-classified");
	snprintf(bad, sizeof(bad), "%s", xbd);
	memcpy(strstr(bad, "131 32))"), "131 33))", 8);
	assert_int_equal(parse_drone(bad, NAN, &set, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "d.json: feature 1: WKT: ring ending"));
	assert_non_null(strstr(err.text, "not closed"));
	snprintf(bad, sizeof(bad), "%s", xbd);
	memcpy(strstr(bad, "u2"), "u1", 2);
	assert_int_equal(parse_drone(bad, NAN, &set, &err), SL_EINVAL);
	assert_string_equal(err.text, "d.json: feature 1: id 'u1' repeats "
				      "feature 0");

	const char *gj =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"damage\":\"destroyed\","
		"\"confidence\":0.9,\"image\":\"a.jpg\"},\"geometry\":{\"type\":"
		"\"Point\",\"coordinates\":[130,32]}},"
		"{\"type\":\"Feature\",\"properties\":{\"damage\":\"no-damage\"},"
		"\"geometry\":{\"type\":\"Point\",\"coordinates\":[130,32.1]}}]}";
	assert_int_equal(parse_drone(gj, NAN, &set, &err), SL_EINVAL);
	assert_string_equal(err.text, "d.json: feature 1: property "
				      "'confidence' is required (or give "
				      "--confidence)");
	assert_int_equal(parse_drone(gj, 0.5, &set, &err), 0);
	assert_string_equal(set->f[0].id, "#0");
	assert_true(set->f[1].confidence == 0.5);
	drone_set_free(set);
	const char *conf =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"properties\":{\"damage\":\"destroyed\","
		"\"confidence\":1.5},\"geometry\":{\"type\":\"Point\","
		"\"coordinates\":[130,32]}}]}";
	assert_int_equal(parse_drone(conf, NAN, &set, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "feature 0: property 'confidence' "
					 "must be a number from 0 to 1"));
	assert_int_equal(parse_drone("[]", NAN, &set, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "neither a GeoJSON"));
	assert_int_equal(parse_drone("{\"a\":1,\"a\":2}", NAN, &set, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "duplicate"));
}

/* ---- times ---- */

static void times_need_an_offset(void **state)
{
	(void)state;
	time_t t;
	sl_error err;
	assert_int_equal(application_time("2016-04-16T01:25:00+09:00", INT_MIN,
					  &t, &err),
			 0);
	assert_int_equal((long long)t, 1460737500LL);
	assert_int_equal(application_time("2016/04/15 16:25Z", INT_MIN, &t, &err),
			 0);
	assert_int_equal((long long)t, 1460737500LL);
	assert_int_equal(application_time("2016-04-16 01:25", 540, &t, &err), 0);
	assert_int_equal((long long)t, 1460737500LL);
	assert_int_equal(application_time("2016-04-16 01:25", INT_MIN, &t, &err),
			 SL_EINVAL);
	assert_non_null(strstr(err.text, "no UTC offset"));
	assert_int_equal(application_time("2016-02-30T00:00Z", 0, &t, &err),
			 SL_EINVAL);
	assert_int_equal(application_time("2015-02-29T00:00Z", 0, &t, &err),
			 SL_EINVAL);
	assert_int_equal(application_time("2016-02-29T00:00Z", 0, &t, &err), 0);
	assert_int_equal(application_time("2016-04-16T24:00Z", 0, &t, &err),
			 SL_EINVAL);
	assert_int_equal(application_time("2016-04-16", 0, &t, &err), SL_EINVAL);
}

/* ---- storing and matching ---- */

static const char *const fixture_buildings =
	"id,address,lat,lon,structure\n"
	"B1,熊本県益城町宮園1丁目2番3号,32.78700,130.81500,wooden\n"
	"B2,益城町宮園2-1-1,32.78750,130.81500,wooden\n"
	"B3,益城町宮園2-1-1,32.78760,130.81500,wooden\n"
	"B4,,32.78800,130.81600,wooden\n"
	"B5,,32.78900,130.81700,wooden\n"
	"B6,,32.78902,130.81702,wooden\n";

static void load_buildings(hq_store *st)
{
	struct building_set *set;
	size_t added = 0, updated = 0;
	sl_error err;
	if (building_parse("b.csv", (const unsigned char *)fixture_buildings,
			   strlen(fixture_buildings), &set, &err) != 0 ||
	    building_import(st, "b.csv", set, 1000, &added, &updated, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(added, 6);
	building_set_free(set);
}

static int import_apps(hq_store *st, const char *csv,
		       struct application_result *r, sl_error *err)
{
	struct application_opts o = { 30, INT_MIN, "tester", 2000 };
	return application_import(st, "a.csv", (const unsigned char *)csv,
				  strlen(csv), &o, r, err);
}

#define APP_HEADER "id,applicant,address,building_id,lat,lon,applied_at,consent_self\n"

static void applications_match_by_id_address_and_nearest(void **state)
{
	hq_store *st = *state;
	struct application_result r;
	sl_error err;
	load_buildings(st);
	const char *csv = APP_HEADER
		"A1,山田 太郎,益城町宮園１－２－３,,,,2016-04-20T09:00+09:00,はい\n"
		"A2,鈴木 花子,益城町宮園2丁目1番1号,,,,2016-04-20T09:01+09:00,\n"
		"A3,佐藤 一郎,,B4,,,2016-04-20T09:02+09:00,\n"
		"A4,田中 次郎,どこか,,32.78801,130.81601,2016-04-20T09:03+09:00,\n"
		"A5,伊藤 四郎,どこか,,32.78901,130.81701,2016-04-20T09:04+09:00,\n"
		"A6,小林 六郎,どこか,,10,10,2016-04-20T09:05+09:00,\n"
		"A7,山田　太郎,益城町宮園1-2-3,,,,2016-04-21T09:00+09:00,\n"
		"A8,山田太郎,熊本県益城町宮園一丁目二番三号,,,,2016-04-22T09:00+09:00,\n";
	if (import_apps(st, csv, &r, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(r.added, 8);
	assert_int_equal(r.by_address, 3); /* A1, A7, A8 */
	assert_int_equal(r.by_id, 1);
	assert_int_equal(r.by_nearest, 1);
	assert_int_equal(r.ambiguous, 2); /* A2 same address, A5 two near */
	assert_int_equal(r.unmatched, 1);
	assert_int_equal(r.duplicates, 2);
	text_is(st, "SELECT group_concat(application_id || ':' || matched_by"
		    " || ':' || coalesce(building_id, '-') || ':' ||"
		    " coalesce(duplicate_of, '-'), ' ') FROM (SELECT * FROM"
		    " applications ORDER BY application_id)",
		"A1:address:B1:- A2:ambiguous:-:- A3:id:B4:- A4:nearest:B4:- "
		"A5:ambiguous:-:- A6:none:-:- A7:address:B1:A1 A8:address:B1:A1");
	text_is(st, "SELECT group_concat(application_id || ':' || building_id"
		    " || ':' || why, ' ') FROM (SELECT * FROM"
		    " application_candidates ORDER BY application_id,"
		    " building_id)",
		"A2:B2:same address A2:B3:same address A5:B5:within 30 m "
		"A5:B6:within 30 m");
	assert_int_equal(count(st, "SELECT count(*) FROM survey_audit WHERE"
				   " action = 'receive'"),
			 8);
	/* the same file again: nothing new, nothing refused */
	assert_int_equal(import_apps(st, csv, &r, &err), 0);
	assert_int_equal(r.unchanged, 8);
	assert_int_equal(r.added, 0);
	/* a person settles A2 */
	assert_int_equal(application_set_building(st, "A2", "B3", "窓口 佐々木",
						  3000, &err),
			 0);
	text_is(st, "SELECT matched_by || building_id FROM applications WHERE"
		    " application_id = 'A2'",
		"staffB3");
	assert_int_equal(count(st, "SELECT count(*) FROM application_candidates"
				   " WHERE application_id = 'A2'"),
			 0);
	assert_int_equal(application_set_building(st, "A2", "B99", "x", 3000,
						  &err),
			 SL_ENOTFOUND);
}

static void a_bad_row_stores_no_application(void **state)
{
	hq_store *st = *state;
	struct application_result r;
	sl_error err;
	load_buildings(st);
	const char *bad_time = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n"
		"A2,鈴木 花子,益城町宮園1-2-3,,,,2016-04-20 09:00,\n";
	assert_int_equal(import_apps(st, bad_time, &r, &err), SL_EINVAL);
	assert_string_equal(err.text,
			    "a.csv:3: column 'applied_at': '2016-04-20 09:00' "
			    "has no UTC offset (add +09:00, or give "
			    "--utc-offset)");
	const char *bad_building = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n"
		"A2,鈴木 花子,,B99,,,2016-04-20T09:00+09:00,\n";
	assert_int_equal(import_apps(st, bad_building, &r, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "a.csv:3: column 'building_id': no "
					 "building 'B99'"));
	const char *dup_id = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n"
		"A1,鈴木 花子,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n";
	assert_int_equal(import_apps(st, dup_id, &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "a.csv:3: id 'A1' repeats the "
				      "application of a.csv:2");
	const char *flag = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,maybe\n";
	assert_int_equal(import_apps(st, flag, &r, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "a.csv:2: column 'consent_self': "
					 "'maybe' is not yes or no"));
	const char *half = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,32.7,,2016-04-20T09:00+09:00,\n";
	assert_int_equal(import_apps(st, half, &r, &err), SL_EINVAL);
	assert_int_equal(count(st, "SELECT count(*) FROM applications"), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM survey_audit"), 0);
	/* an id stored before for another person is refused */
	const char *one = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n";
	assert_int_equal(import_apps(st, one, &r, &err), 0);
	const char *other = APP_HEADER
		"A1,鈴木 花子,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n";
	assert_int_equal(import_apps(st, other, &r, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "stored already for another"));
}

static const char *const drone_fixture =
	"{\"type\":\"FeatureCollection\",\"features\":["
	/* over B1's point: a polygon holding it */
	"{\"type\":\"Feature\",\"id\":\"d1\",\"properties\":{\"damage\":"
	"\"destroyed\",\"confidence\":0.9},\"geometry\":{\"type\":\"Polygon\","
	"\"coordinates\":[[[130.81495,32.78695],[130.81505,32.78695],"
	"[130.81505,32.78705],[130.81495,32.78705],[130.81495,32.78695]]]}},"
	/* a point 3 m from B4 */
	"{\"type\":\"Feature\",\"id\":\"d2\",\"properties\":{\"damage\":"
	"\"minor-damage\",\"confidence\":0.9},\"geometry\":{\"type\":\"Point\","
	"\"coordinates\":[130.81602,32.78801]}},"
	/* nowhere near a building */
	"{\"type\":\"Feature\",\"id\":\"d3\",\"properties\":{\"damage\":"
	"\"destroyed\",\"confidence\":0.9},\"geometry\":{\"type\":\"Point\","
	"\"coordinates\":[131,33]}}]}";

static void drone_import_matches_and_is_idempotent(void **state)
{
	hq_store *st = *state;
	struct drone_set *set;
	struct drone_result r;
	sl_error err;
	load_buildings(st);
	assert_int_equal(parse_drone(drone_fixture, NAN, &set, &err), 0);
	assert_int_equal(drone_import(st, "flight-1", "d.json", set, 10, 1000,
				      &r, &err),
			 0);
	assert_int_equal(r.features, 3);
	assert_int_equal(r.matched, 2);
	assert_int_equal(r.unmatched, 1);
	text_is(st, "SELECT group_concat(feature_id || ':' ||"
		    " coalesce(building_id, '-'), ' ') FROM (SELECT * FROM"
		    " drone_features ORDER BY feature_id)",
		"d1:B1 d2:B4 d3:-");
	assert_int_equal(drone_import(st, "flight-1", "d.json", set, 10, 1000,
				      &r, &err),
			 0);
	assert_int_equal(r.replaced, 3);
	assert_int_equal(count(st, "SELECT count(*) FROM drone_features"), 3);
	assert_int_equal(drone_import(st, "flight-2", "d.json", set, 10, 1000,
				      &r, &err),
			 0);
	assert_int_equal(count(st, "SELECT count(*) FROM drone_features"), 6);
	drone_set_free(set);
}

/* ---- triage ---- */

static char *field(char **p)
{
	char *f = *p, *tab = strchr(f, '\t');
	if (tab) {
		*tab = '\0';
		*p = tab + 1;
	} else {
		f[strcspn(f, "\n")] = '\0';
		*p = f + strlen(f);
	}
	return f;
}

static void triage_matches_the_golden_table(void **state)
{
	(void)state;
	FILE *f = fopen(GOLDEN, "r");
	char line[1024];
	int cases = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *p = line;
		const char *b = field(&p);
		struct triage_input in = { .building_id = strcmp(b, "-") ? b : NULL };
		in.consent_self = atoi(field(&p));
		in.second_survey = atoi(field(&p));
		in.features = atoll(field(&p));
		in.light = atoll(field(&p));
		in.major = atoll(field(&p));
		in.unclassified = atoll(field(&p));
		in.destroyed_conf = strtod(field(&p), NULL);
		const char *df = field(&p);
		in.destroyed_feature = strcmp(df, "-") ? df : NULL;
		double threshold = strtod(field(&p), NULL);
		const char *lane = field(&p), *reason = field(&p);
		struct triage_decision d;
		triage_decide(&in, threshold, &d);
		assert_string_equal(triage_lane_name(d.lane), lane);
		assert_string_equal(d.reason, reason);
		cases++;
	}
	fclose(f);
	assert_int_equal(cases, 15);
}

static void triage_runs_and_only_named_people_approve(void **state)
{
	hq_store *st = *state;
	struct drone_set *set;
	struct drone_result dr;
	struct application_result r;
	struct triage_counts c;
	sl_error err;
	load_buildings(st);
	assert_int_equal(parse_drone(drone_fixture, NAN, &set, &err), 0);
	assert_int_equal(drone_import(st, "f", "d.json", set, 10, 1000, &dr, &err),
			 0);
	drone_set_free(set);
	const char *csv = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n"
		"A2,鈴木 花子,,B4,,,2016-04-20T09:01+09:00,1\n"
		"A3,佐藤 一郎,益城町宮園2-1-1,,,,2016-04-20T09:02+09:00,\n"
		"A4,山田太郎,益城町宮園1-2-3,,,,2016-04-20T09:03+09:00,\n"
		"A5,田中 次郎,,B5,,,2016-04-20T09:04+09:00,1\n";
	assert_int_equal(import_apps(st, csv, &r, &err), 0);
	assert_int_equal(triage_run(st, 0.8, 0, "tester", 5000, &c, &err), 0);
	assert_int_equal(c.lanes[TRIAGE_PHOTO], 1);
	assert_int_equal(c.lanes[TRIAGE_SELF], 1);
	assert_int_equal(c.lanes[TRIAGE_FIELD], 1);
	assert_int_equal(c.held, 2); /* A3 ambiguous, A4 duplicate */
	text_is(st, "SELECT group_concat(application_id || ':' ||"
		    " coalesce(lane, '-') || ':' || state, ' ') FROM (SELECT *"
		    " FROM applications ORDER BY application_id)",
		"A1:photo:triaged A2:self:triaged A3:-:received "
		"A4:-:received A5:field:ready");
	/* triage again: nothing left to triage */
	assert_int_equal(triage_run(st, 0.8, 0, "tester", 5000, &c, &err), 0);
	assert_int_equal(c.lanes[0] + c.lanes[1] + c.lanes[2] + c.lanes[3], 0);
	assert_int_equal(triage_approve(st, "A1", "", 6000, &err), SL_EINVAL);
	assert_int_equal(triage_approve(st, "A1", "税務課 中村", 6000, &err), 0);
	text_is(st, "SELECT state || ':' || grade || ':' || approved_by FROM"
		    " applications WHERE application_id = 'A1'",
		"validated:zenkai:税務課 中村");
	assert_int_equal(triage_approve(st, "A1", "税務課 中村", 6000, &err),
			 SL_EINVAL); /* once */
	assert_int_equal(triage_approve(st, "A5", "税務課 中村", 6000, &err),
			 SL_EINVAL); /* a field-lane one */
	assert_int_equal(triage_reject(st, "A2", "税務課 中村", NULL, 6000, &err),
			 SL_EINVAL);
	assert_int_equal(triage_reject(st, "A2", "税務課 中村",
				       "photo shows a cracked wall", 6000, &err),
			 0);
	text_is(st, "SELECT lane || ':' || state || ':' || lane_reason FROM"
		    " applications WHERE application_id = 'A2'",
		"field:ready:to field survey: photo shows a cracked wall (by "
		"税務課 中村)");
	text_is(st, "SELECT group_concat(action || ':' || who, ' ') FROM"
		    " (SELECT * FROM survey_audit WHERE action IN ('approve',"
		    " 'reject') ORDER BY id)",
		"approve:税務課 中村 reject:税務課 中村");
	assert_int_equal(count(st, "SELECT count(*) FROM survey_audit WHERE"
				   " action = 'triage'"),
			 3);

	/* imagery of B5 arrives later: triage --again moves A5 to the photo
	 * lane; A2, which a person sent to the field, stays there */
	const char *late =
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"id\":\"late-1\",\"properties\":{\"damage\":"
		"\"destroyed\",\"confidence\":0.99},\"geometry\":{\"type\":"
		"\"Point\",\"coordinates\":[130.81700,32.78900]}},"
		"{\"type\":\"Feature\",\"id\":\"late-2\",\"properties\":{\"damage\":"
		"\"destroyed\",\"confidence\":0.99},\"geometry\":{\"type\":"
		"\"Point\",\"coordinates\":[130.81600,32.78800]}}]}";
	assert_int_equal(parse_drone(late, NAN, &set, &err), 0);
	assert_int_equal(drone_import(st, "late", "l.json", set, 10, 7000, &dr, &err),
			 0);
	drone_set_free(set);
	assert_int_equal(triage_run(st, 0.8, 0, "tester", 8000, &c, &err), 0);
	assert_int_equal(c.lanes[TRIAGE_PHOTO], 0); /* without again: none */
	assert_int_equal(triage_run(st, 0.8, 1, "tester", 8000, &c, &err), 0);
	assert_int_equal(c.lanes[TRIAGE_PHOTO], 1);
	assert_int_equal(c.unchanged, 0); /* A1 validated, A2 a person's */
	text_is(st, "SELECT group_concat(application_id || ':' ||"
		    " coalesce(lane, '-') || ':' || state, ' ') FROM (SELECT *"
		    " FROM applications ORDER BY application_id)",
		"A1:photo:validated A2:field:ready A3:-:received "
		"A4:-:received A5:photo:triaged");
	assert_int_equal(triage_run(st, 0.8, 1, "tester", 9000, &c, &err), 0);
	assert_int_equal(c.unchanged, 1);
	assert_int_equal(c.lanes[0] + c.lanes[1] + c.lanes[2] + c.lanes[3], 0);
}

/* Fails the n-th allocation for n = 0, 1, ... until the call succeeds:
 * each failure must be SL_ENOMEM and leave nothing behind (ASan's leak
 * check in the sanitizer build; the tables here). */
#define EVERY_ALLOCATION(call, on_fail)                                       \
	for (long n = 0;; n++) {                                              \
		sl_alloc_fail_after(n);                                       \
		int rc_ = (call);                                             \
		sl_alloc_fail_after(-1);                                      \
		if (rc_ == 0)                                                 \
			break;                                                \
		if (rc_ != SL_ENOMEM)                                         \
			fail_msg("allocation %ld: %d %s", n, rc_, err.text);  \
		on_fail;                                                      \
		assert_true(n < 100000);                                      \
	}

static void allocation_failures_fail_whole(void **state)
{
	hq_store *st = *state;
	struct geo_shape *g;
	struct building_set *b;
	struct drone_set *d;
	struct drone_result dr;
	struct application_result r;
	size_t added, updated;
	sl_error err;
	const char *wkt = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, "
			  "6 6, 5 5), (5.1 5.1, 5.2 5.1, 5.2 5.2, 5.1 5.1)))";
	EVERY_ALLOCATION(geo_parse_wkt(wkt, &g, &err), assert_null(g));
	char *w = geo_wkt(g);
	assert_non_null(w);
	free(w);
	geo_free(g);
	EVERY_ALLOCATION(building_parse("b.csv",
					(const unsigned char *)fixture_buildings,
					strlen(fixture_buildings), &b, &err),
			 assert_null(b));
	EVERY_ALLOCATION(building_import(st, "b.csv", b, 1, &added, &updated,
					 &err),
			 assert_int_equal(count(st, "SELECT count(*) FROM"
						    " buildings"),
					  0));
	building_set_free(b);
	EVERY_ALLOCATION(parse_drone(drone_fixture, NAN, &d, &err),
			 assert_null(d));
	EVERY_ALLOCATION(drone_import(st, "f", "d.json", d, 10, 1, &dr, &err),
			 assert_int_equal(count(st, "SELECT count(*) FROM"
						    " drone_features"),
					  0));
	drone_set_free(d);
	const char *csv = APP_HEADER
		"A1,山田 太郎,益城町宮園1-2-3,,,,2016-04-20T09:00+09:00,\n"
		"A2,鈴木 花子,どこか,,32.78801,130.81601,2016-04-20T09:01+09:00,\n"
		"A3,山田太郎,益城町宮園1-2-3,,,,2016-04-20T09:02+09:00,\n";
	EVERY_ALLOCATION(import_apps(st, csv, &r, &err),
			 assert_int_equal(count(st, "SELECT count(*) FROM"
						    " applications"),
					  0));
	assert_int_equal(r.added, 3);
	assert_int_equal(r.duplicates, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_agree_in_every_written_form),
		cmocka_unit_test(wkt_reads_points_polygons_and_holes),
		cmocka_unit_test(wkt_refuses_bad_text_with_its_position),
		cmocka_unit_test(buildings_read_geojson_and_csv),
		cmocka_unit_test(xbd_and_drone_geojson_read_with_feature_index_in_errors),
		cmocka_unit_test(times_need_an_offset),
		cmocka_unit_test(triage_matches_the_golden_table),
		cmocka_unit_test_setup_teardown(
			applications_match_by_id_address_and_nearest, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_bad_row_stores_no_application,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			drone_import_matches_and_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(
			triage_runs_and_only_named_people_approve, setup,
			teardown),
		cmocka_unit_test_setup_teardown(allocation_failures_fail_whole,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
