/* Unit tests of hq/shelterimport: the capacity text parser on every
 * variant of the real Nanao list, municipality codes in their 6-, 5- and
 * 4-digit forms, layout detection, the same registry from UTF-8, BOM,
 * CRLF and CP932 files, exact FILE:LINE:COLUMN errors with nothing
 * written, --skip-bad, and re-imports that update without duplicating.
 *
 * The opendata rows below are taken from data/nanao-2024/reference_data.csv:
 * 「令和6年能登半島地震 石川県七尾市避難所開設情報GISデータ」 (raokiey),
 * from 「指定緊急避難所一覧」(石川県) and 「10_指定緊急避難所施設一覧」(七尾市),
 * CC BY 4.0.  The GSI rows are synthetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <iconv.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvfile.h"
#include "hq.h"
#include "hq_testdb.h"
#include "mem.h"

/* ---- capacity ---- */

static void capacity_is(const char *text, long long in, long long out)
{
	long long i = -2, o = -2;
	sl_error err;
	if (shelterimport_capacity(text, &i, &o, &err) != 0)
		fail_msg("'%s': %s", text, err.text);
	if (i != in || o != out)
		fail_msg("'%s': %lld/%lld, expected %lld/%lld", text, i, o, in,
			 out);
}

static void capacity_refused(const char *text)
{
	long long i, o;
	sl_error err;
	if (shelterimport_capacity(text, &i, &o, &err) != SL_EINVAL)
		fail_msg("'%s' was accepted as %lld/%lld", text, i, o);
	assert_int_equal(i, -1);
	assert_int_equal(o, -1);
	assert_non_null(strstr(err.text, "is not a capacity"));
}

static void capacity_variants(void **state)
{
	(void)state;
	/* the real list's forms */
	capacity_is("屋内191人／屋外0人(面積の1/2)", 191, 0);
	capacity_is("屋内1,371人／屋外5,470人（面積の1/2）", 1371, 5470);
	capacity_is("屋内2,736人屋外11,700人（面積の1/2）", 2736, 11700);
	capacity_is("屋内90人／屋外1570人(面積の1/2)", 90, 1570);
	capacity_is("屋内990人／屋外0人(座席数)", 990, 0);
	capacity_is("屋内39,400人／屋外0人(面積の1/1)", 39400, 0);
	capacity_is("屋内0人／屋外118,970人(面積の1/2)", 0, 118970);
	capacity_is("", -1, -1);
	/* full-width digits, commas and slashes, other separators */
	capacity_is("屋内１，３７１人／屋外５，４７０人", 1371, 5470);
	capacity_is("屋外300人、屋内25人", 25, 300);
	capacity_is("屋内 40 人", 40, -1);
	capacity_is("屋外５０人", -1, 50);
	/* a bare number: the whole capacity, counted as indoor */
	capacity_is("500", 500, -1);
	capacity_is("１，２００人", 1200, -1);
	capacity_is("80人（座席数）", 80, -1);

	capacity_refused("約200人");
	capacity_refused("屋内1,37人");
	capacity_refused("屋内1371,000人");
	capacity_refused("屋内人／屋外5人");
	capacity_refused("屋内10人屋内20人");
	capacity_refused("屋内99999999999人");
	capacity_refused("屋内10人(面積");
	capacity_refused("(面積の1/2)");
}

/* Every capacity of the real list parses, and indoor + outdoor is
 * given by each non-empty one. */
static int real_capacity(int line, int n, char **cells, void *arg,
			 sl_error *err)
{
	int *count = arg;
	long long in, out;
	(void)err;
	if (line == 1)
		return 0;
	assert_int_equal(n, 26);
	if (shelterimport_capacity(cells[24], &in, &out, err) != 0)
		fail_msg("line %d: %s", line, err->text);
	if (cells[24][0] != '\0') {
		assert_true(in >= 0 && out >= 0);
		assert_true(in + out > 0);
		(*count)++;
	}
	return 0;
}

static void capacity_of_the_real_list(void **state)
{
	unsigned char *data;
	size_t len;
	sl_error err;
	int count = 0;
	(void)state;
	const char *path = SL_DATA_DIR "/nanao-2024/reference_data.csv";
	assert_int_equal(csvfile_read(path, &data, &len, &err), 0);
	assert_int_equal(csvfile_parse(path, data, len, real_capacity, &count,
				       &err),
			 0);
	free(data);
	assert_int_equal(count, 109);
}

/* ---- municipality codes ---- */

static void code_is(const char *text, const char *pref, const char *want)
{
	char out[7];
	sl_error err;
	if (shelterimport_municipality(text, pref, out, &err) != 0)
		fail_msg("'%s': %s", text, err.text);
	assert_string_equal(out, want);
}

static void code_refused(const char *text, const char *pref, const char *msg)
{
	char out[7];
	sl_error err;
	assert_int_equal(shelterimport_municipality(text, pref, out, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, msg);
}

static void municipality_codes(void **state)
{
	(void)state;
	code_is("172022", NULL, "172022");
	code_is("17202", NULL, "172022");
	code_is("17202", "石川県", "172022");
	code_is("17202.0", NULL, "172022");
	code_is("011002", "北海道", "011002");
	code_is("131016", NULL, "131016");
	code_is("011011", NULL, "011011"); /* remainder 0: check digit 1 */
	/* 012025 (函館市) without its leading zero reads as 12025 (千葉県,
	 * no check digit) too: the prefecture decides */
	code_is("12025", "北海道函館市", "012025");
	code_is("12025", "千葉県", "120251");
	code_is("1202", NULL, "012025");
	code_refused("12025", NULL,
		     "municipality code 12025 could be 120251 or 012025: "
		     "write all 6 digits");
	code_refused("172023", NULL,
		     "municipality code 172023: wrong check digit (the code "
		     "of 17202 is 172022)");
	code_refused("990009", NULL,
		     "municipality code 990009: 99 is no prefecture (01 to 47)");
	code_refused("172022", "北海道",
		     "municipality code 172022 is not one of 北海道");
	code_refused("1720", "石川県",
		     "municipality code 1720 is not one of 石川県");
	code_refused("99999", NULL,
		     "municipality code 99999 is not one of any prefecture");
	code_refused("17-202", NULL,
		     "'17-202' is not a municipality code (6 digits such as "
		     "172022, or 5 such as 17202)");
	code_refused("1720222", NULL,
		     "'1720222' is not a municipality code (6 digits such as "
		     "172022, or 5 such as 17202)");
}

/* ---- imports ---- */

static char dbpath[64];

static int setup(void **state)
{
	*state = testdb_open(dbpath, sizeof(dbpath), "shelterimport");
	return 0;
}

static int teardown(void **state)
{
	testdb_close(*state, dbpath);
	return 0;
}

static const char header[] =
	"ID,名称,名称_カナ,名称_英字,所在地_全国地方公共団体コード,町字ID,"
	"所在地_連結表記,所在地_都道府県,所在地_市区町村,所在地_町字,"
	"所在地_番地以下,建物名等(方書),緯度,経度,標高,電話番号,災害種別_洪水,"
	"災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,"
	"災害種別_津波,災害種別_大規模な火事,災害種別_内水氾濫,"
	"災害種別_火山現象,想定収容人数,対象となる町会・自治会\n";

/* Three real rows; the second with its code as 5 full-width digits and
 * full-width position digits, the third without a code (HQ's). */
static const char rows3[] =
	"CC0000000504,御祓地区コミュニティセンター,ミソギチクコミュニティセンター,"
	"misogichikukomyuniteisenta,172022,,石川県七尾市一本杉町１２４,石川県,"
	"七尾市,一本杉町,124番地,,37.04826,136.96136,2.7,,1.0,1.0,1.0,1.0,1.0,,"
	"1.0,,屋内191人／屋外0人(面積の1/2),御祓地区（25町会）\n"
	"CC0000000506,県立七尾高等学校,ケンリツナナオコウトウガッコウ,"
	"kenritsunanaokotogakko,１７２０２,,石川県七尾市西藤橋町エ１－１,石川県,"
	"七尾市,西藤橋町エ,1番地1,,３７．０４２１５,１３６．９５８８８,3.2,,1.0,"
	"1.0,1.0,1.0,1.0,1.0,1.0,,\"屋内2,736人屋外11,700人（面積の1/2）\","
	"御祓地区（25町会）\n"
	"NEW001,寄合い処みそぎ,,,,,石川県七尾市馬出町ツ部49,石川県,七尾市,"
	"馬出町ツ部,49,,37.04683152,136.9618191,,,,,,,,,,,,\n";

struct bad_rows {
	char text[2048];
	int n;
};

static void collect_bad(const sl_error *why, void *arg)
{
	struct bad_rows *b = arg;
	size_t used = strlen(b->text);
	b->n++;
	snprintf(b->text + used, sizeof(b->text) - used, "%s\n", why->text);
}

static int import(hq_store *st, const char *data, size_t len, int skip_bad,
		  struct bad_rows *bad, struct shelterimport_result *res,
		  sl_error *err)
{
	struct shelterimport_opts o = { "172022", skip_bad, 1700000000,
					collect_bad, bad };
	memset(bad, 0, sizeof(*bad));
	return shelterimport_data(st, "t.csv", (const unsigned char *)data,
				  len, &o, res, err);
}

/* header + body as one string, owned by the caller */
static char *file_of(const char *head, const char *body)
{
	char *s = malloc(strlen(head) + strlen(body) + 1);
	assert_non_null(s);
	strcpy(s, head);
	strcat(s, body);
	return s;
}

/* The registry as text: what every import must agree on. */
static char *registry_dump(hq_store *st)
{
	json_t *rows;
	sl_error err;
	if (picture_query(st,
			  "SELECT shelter_id, municipality, name, kana, name_en,"
			  " district, address, lat, lon, elevation_m, phone,"
			  " capacity_indoor, capacity_outdoor, capacity_text,"
			  " hazards, target_area, layout, source_line"
			  " FROM registry ORDER BY shelter_id",
			  NULL, &rows, &err) != 0)
		fail_msg("%s", err.text);
	char *s = json_dumps(rows, JSON_COMPACT | JSON_REAL_PRECISION(12));
	json_decref(rows);
	return s;
}

/* Registry rows, all or those placed (lat and lon). */
static long long count_rows(hq_store *st, int placed)
{
	json_t *rows;
	sl_error err;
	assert_int_equal(picture_query(st,
				       placed ? "SELECT count(*) AS n FROM registry"
						" WHERE lat IS NOT NULL"
						" AND lon IS NOT NULL"
					      : "SELECT count(*) AS n FROM registry",
				       NULL, &rows, &err),
			 0);
	long long n = json_integer_value(
		json_object_get(json_array_get(rows, 0), "n"));
	json_decref(rows);
	return n;
}
#define registry_count(st) count_rows(st, 0)

static void imports_the_opendata_layout(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *f = file_of(header, rows3);
	if (import(st, f, strlen(f), 0, &bad, &res, &err) != 0)
		fail_msg("%s", err.text);
	free(f);
	assert_int_equal(res.layout, SHELTERIMPORT_OPENDATA);
	assert_int_equal(res.rows, 3);
	assert_int_equal(res.added, 3);
	assert_int_equal(res.updated, 0);
	assert_int_equal(res.skipped, 0);
	char *dump = registry_dump(st);
	assert_string_equal(
		dump,
		"[{\"shelter_id\":\"CC0000000504\",\"municipality\":\"172022\","
		"\"name\":\"御祓地区コミュニティセンター\",\"kana\":\"ミソギチクコミュニティセンター\","
		"\"name_en\":\"misogichikukomyuniteisenta\",\"district\":\"御祓\","
		"\"address\":\"石川県七尾市一本杉町１２４\",\"lat\":37.04826,"
		"\"lon\":136.96136,\"elevation_m\":2.7,\"phone\":null,"
		"\"capacity_indoor\":191,\"capacity_outdoor\":0,"
		"\"capacity_text\":\"屋内191人／屋外0人(面積の1/2)\",\"hazards\":95,"
		"\"target_area\":\"御祓地区（25町会）\",\"layout\":\"opendata\","
		"\"source_line\":2},"
		"{\"shelter_id\":\"CC0000000506\",\"municipality\":\"172022\","
		"\"name\":\"県立七尾高等学校\",\"kana\":\"ケンリツナナオコウトウガッコウ\","
		"\"name_en\":\"kenritsunanaokotogakko\",\"district\":\"御祓\","
		"\"address\":\"石川県七尾市西藤橋町エ１－１\",\"lat\":37.04215,"
		"\"lon\":136.95888,\"elevation_m\":3.2,\"phone\":null,"
		"\"capacity_indoor\":2736,\"capacity_outdoor\":11700,"
		"\"capacity_text\":\"屋内2,736人屋外11,700人（面積の1/2）\","
		"\"hazards\":127,\"target_area\":\"御祓地区（25町会）\","
		"\"layout\":\"opendata\",\"source_line\":3},"
		"{\"shelter_id\":\"NEW001\",\"municipality\":\"172022\","
		"\"name\":\"寄合い処みそぎ\",\"kana\":null,\"name_en\":null,"
		"\"district\":null,\"address\":\"石川県七尾市馬出町ツ部49\","
		"\"lat\":37.04683152,\"lon\":136.9618191,\"elevation_m\":null,"
		"\"phone\":null,\"capacity_indoor\":null,\"capacity_outdoor\":null,"
		"\"capacity_text\":null,\"hazards\":0,\"target_area\":null,"
		"\"layout\":\"opendata\",\"source_line\":4}]");
	free(dump);
}

/* text with every LF made CR LF; owned by the caller */
static char *crlf(const char *s, size_t *len)
{
	char *out = malloc(2 * strlen(s) + 1), *w = out;
	assert_non_null(out);
	for (; *s; s++) {
		if (*s == '\n')
			*w++ = '\r';
		*w++ = *s;
	}
	*w = '\0';
	*len = (size_t)(w - out);
	return out;
}

static char *to_cp932(const char *s, size_t *len)
{
	iconv_t cd = iconv_open("CP932", "UTF-8");
	assert_true(cd != (iconv_t)-1);
	size_t ileft = strlen(s), oleft = 2 * ileft + 1;
	char *out = malloc(oleft), *ip = (char *)s, *op = out;
	assert_non_null(out);
	assert_true(iconv(cd, &ip, &ileft, &op, &oleft) != (size_t)-1);
	iconv_close(cd);
	*len = (size_t)(op - out);
	return out;
}

static void every_encoding_gives_the_same_registry(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *utf8 = file_of(header, rows3);
	size_t len;
	char *variants[4];
	size_t lens[4];

	variants[0] = file_of("\xEF\xBB\xBF", utf8);
	lens[0] = strlen(variants[0]);
	variants[1] = crlf(utf8, &lens[1]);
	variants[2] = to_cp932(utf8, &lens[2]);
	char *crlf_utf8 = crlf(utf8, &len);
	variants[3] = to_cp932(crlf_utf8, &lens[3]);
	free(crlf_utf8);
	/* the CP932 file really is not UTF-8 */
	assert_true(memcmp(variants[2], utf8, lens[2]) != 0);

	assert_int_equal(import(st, utf8, strlen(utf8), 0, &bad, &res, &err), 0);
	char *want = registry_dump(st);
	for (int v = 0; v < 4; v++) {
		/* each variant alone: no row may survive from the last */
		assert_int_equal(sqlite3_exec(store_db(st),
					      "DELETE FROM registry", NULL,
					      NULL, NULL),
				 SQLITE_OK);
		if (import(st, variants[v], lens[v], 0, &bad, &res, &err) != 0)
			fail_msg("variant %d: %s", v, err.text);
		assert_int_equal(res.added, 3);
		char *got = registry_dump(st);
		assert_string_equal(got, want);
		free(got);
		free(variants[v]);
	}
	free(want);
	free(utf8);
}

static void bad_row_writes_nothing(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	/* row 3: latitude and longitude swapped; row 4: an unknown flag */
	char *f = file_of(header,
			  "CC0000000504,御祓地区コミュニティセンター,,,172022,,,石川県,"
			  "七尾市,,,,37.04826,136.96136,,,,,,,,,,,191,\n"
			  "CC0000000505,七尾中学校,,,172022,,,石川県,七尾市,,,,"
			  "136.95849,37.03803,,,,,,,,,,,,\n"
			  "CC0000000507,県立七尾城北高等学校,,,172022,,,石川県,七尾市,"
			  ",,,37.04334,136.95959,,,yes,,,,,,,,,\n");
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text,
			    "t.csv:3:13: column '緯度': '136.95849' is not a "
			    "latitude in Japan (20 to 46 degrees north)");
	assert_int_equal(bad.n, 2);
	assert_string_equal(
		bad.text,
		"t.csv:3:13: column '緯度': '136.95849' is not a latitude in "
		"Japan (20 to 46 degrees north)\n"
		"t.csv:4:17: column '災害種別_洪水': 'yes' is not a flag (1, "
		"1.0 or empty)\n");
	assert_int_equal(res.skipped, 2);
	assert_int_equal(res.added + res.updated, 0);
	assert_int_equal(registry_count(st), 0);

	/* --skip-bad: the good row goes in, the bad ones are listed */
	assert_int_equal(import(st, f, strlen(f), 1, &bad, &res, &err), 0);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.skipped, 2);
	assert_int_equal(bad.n, 2);
	assert_non_null(strstr(bad.text, "t.csv:4:17: column '災害種別_洪水'"));
	assert_int_equal(registry_count(st), 1);
	free(f);
}

static void more_bad_rows(void **state)
{
	static const struct {
		const char *row, *error;
	} cases[] = {
		{ ",名前,,,172022,,,,,,,,37,137,,,,,,,,,,,,",
		  "t.csv:2:1: column 'ID': '' is not a shelter id (1 to 64 "
		  "letters, digits, '-' or '_', not starting with '-' or '_')" },
		{ "X1,,,,172022,,,,,,,,37,137,,,,,,,,,,,,",
		  "t.csv:2:2: column '名称': empty: every shelter has a name" },
		{ "X1,名前,,,172023,,,,,,,,37,137,,,,,,,,,,,,",
		  "t.csv:2:5: column '所在地_全国地方公共団体コード': "
		  "municipality code 172023: wrong check digit (the code of "
		  "17202 is 172022)" },
		{ "X1,名前,,,172022,,,,,,,,37,,,,,,,,,,,,,",
		  "t.csv:2:14: column '経度': '' is not a longitude in Japan "
		  "(122 to 154 degrees east; both or neither)" },
		{ "X1,名前,,,172022,,,,,,,,37,137,1e3,,,,,,,,,,,",
		  "t.csv:2:15: column '標高': '1e3' is not an elevation in "
		  "metres (-100 to 4000)" },
		{ "X1,名前,,,172022,,,,,,,,37,137,,,,,,,,,,,約200人,",
		  "t.csv:2:25: column '想定収容人数': '約200人' is not a "
		  "capacity: write 屋内N人／屋外M人 (either part, a note in "
		  "parentheses) or N" },
		{ "X1,名前,,,172022,,,,,,,,37,137,,,,,,,,,,,,,extra",
		  "t.csv:2: 27 fields, but the header has 26 columns" },
	};
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *f = file_of(header, cases[i].row);
		assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err),
				 SL_EINVAL);
		assert_string_equal(err.text, cases[i].error);
		free(f);
	}
	assert_int_equal(registry_count(st), 0);
}

static void repeated_id_in_one_file(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *f = file_of(header, "X1,一,,,172022,,,,,,,,37,137,,,,,,,,,,,,\n"
				  "X1,二,,,172022,,,,,,,,37,137,,,,,,,,,,,,\n");
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text,
			    "t.csv:3:1: column 'ID': 'X1' is also on line 2");
	free(f);
}

static void reimport_updates_without_duplicating(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *f = file_of(header, rows3);
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err), 0);
	free(f);
	/* the city's next list: 504's capacity changed, NEW001 left, and
	 * a new shelter came */
	f = file_of(header,
		    "CC0000000504,御祓地区コミュニティセンター,,,172022,,,石川県,"
		    "七尾市,,,,37.04826,136.96136,,,,,,,,,,,屋内200人／屋外0人,\n"
		    "CC0000000506,県立七尾高等学校,,,17202,,,石川県,七尾市,,,,"
		    "37.04215,136.95888,,,,,,,,,,,,\n"
		    "CC0000000512,七尾東部中学校,,,172022,,,石川県,七尾市,,,,"
		    "37.03095,136.99758,,,,,,,,,,,,\n");
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err), 0);
	free(f);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.updated, 2);
	assert_int_equal(registry_count(st), 4);
	json_t *rows;
	assert_int_equal(picture_query(st,
				       "SELECT capacity_indoor AS c, kana AS k,"
				       " source_line AS l FROM registry"
				       " WHERE shelter_id = ?1",
				       "CC0000000504", &rows, &err),
			 0);
	json_t *r = json_array_get(rows, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "c")), 200);
	assert_true(json_is_null(json_object_get(r, "k")));
	assert_int_equal(json_integer_value(json_object_get(r, "l")), 2);
	json_decref(rows);
}

static const char gsi_header[] =
	"NO,共通ID,都道府県名及び市町村名,施設・場所名,住所,"
	"指定緊急避難場所との住所同一,その他市町村長が必要と認める事項,"
	"受入対象者,緯度,経度,備考\n";
/* synthetic rows in GSI's 指定避難所 layout */
static const char gsi_rows[] =
	"1,172022000101,石川県七尾市,七尾市立テスト小学校,石川県七尾市テスト町1-1,"
	"1,,,37.0400,136.9600,\n"
	"2,,石川県七尾市,テスト公民館,石川県七尾市テスト町2-2,,,,"
	"37.0500,136.9700,共通IDなし\n";

static void imports_the_gsi_layout(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *f = file_of(gsi_header, gsi_rows);
	if (import(st, f, strlen(f), 0, &bad, &res, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(res.layout, SHELTERIMPORT_GSI);
	assert_int_equal(res.added, 2);
	json_t *rows;
	assert_int_equal(picture_query(st,
				       "SELECT shelter_id AS id, municipality AS m,"
				       " layout AS l FROM registry ORDER BY 1",
				       NULL, &rows, &err),
			 0);
	char *s = json_dumps(rows, JSON_COMPACT);
	/* the derived id is stable: the same file again updates it */
	assert_string_equal(s, "[{\"id\":\"172022000101\",\"m\":\"172022\","
			       "\"l\":\"gsi\"},{\"id\":\"G172022-89595f07\","
			       "\"m\":\"172022\",\"l\":\"gsi\"}]");
	free(s);
	json_decref(rows);
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err), 0);
	assert_int_equal(res.updated, 2);
	assert_int_equal(registry_count(st), 2);
	free(f);

	/* a row of another prefecture cannot be this HQ's */
	f = file_of(gsi_header, "1,X9,北海道札幌市,もみじ台,北海道札幌市厚別区,"
				",,,43.03,141.48,\n");
	assert_int_equal(import(st, f, strlen(f), 0, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text,
			    "t.csv:2:3: column '都道府県名及び市町村名': "
			    "municipality code 172022 is not one of 北海道");
	free(f);
}

static void unknown_layouts_are_refused(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	static const char other[] = "Name,Lat,Lon\nA,37,137\n";
	assert_int_equal(import(st, other, strlen(other), 1, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text,
			    "t.csv:1: neither shelter list layout: the header "
			    "has no 'ID' column (自治体標準オープンデータセット) "
			    "and no '共通ID' column (GSI 指定避難所)");
	static const char nolat[] = "ID,名称,経度\nA,B,137\n";
	assert_int_equal(import(st, nolat, strlen(nolat), 1, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "t.csv:1: the header has no '緯度' "
				      "column, which the opendata layout "
				      "requires");
	static const char quote[] = "ID,名称,緯度,経度\nA,B\"x,37,137\n";
	assert_int_equal(import(st, quote, strlen(quote), 1, &bad, &res, &err),
			 SL_EINVAL);
	assert_string_equal(err.text,
			    "t.csv:2: column '名称': '\"' inside a field that "
			    "does not start with '\"' (quote the whole field "
			    "and write the '\"' as '\"\"')");
	assert_int_equal(registry_count(st), 0);
}

/* Every allocation that fails (the CP932 buffer, the row buffer, the
 * header copy, each row) fails the import with SL_ENOMEM and writes
 * nothing; then it succeeds. */
static void out_of_memory_writes_nothing(void **state)
{
	hq_store *st = *state;
	struct shelterimport_result res;
	struct bad_rows bad;
	sl_error err;
	char *utf8 = file_of(header, rows3);
	size_t len;
	char *sjis = to_cp932(utf8, &len);
	int rc;
	long n;
	for (n = 0;; n++) {
		sl_alloc_fail_after(n);
		rc = import(st, sjis, len, 1, &bad, &res, &err);
		sl_alloc_fail_after(-1);
		if (rc == 0)
			break;
		assert_int_equal(rc, SL_ENOMEM);
		assert_int_equal(registry_count(st), 0);
		assert_true(n < 100);
	}
	assert_true(n >= 6); /* 3 in csvfile, then one per row */
	assert_int_equal(res.added, 3);
	free(sjis);
	free(utf8);
}

/* The reference list: every row placed. */
static void the_reference_list_is_placed(void **state)
{
	hq_store *st = *state;
	struct shelterimport_opts o = { "172022", 0, 1700000000, NULL, NULL };
	struct shelterimport_result res;
	sl_error err;
	if (shelterimport_file(st, SL_DATA_DIR "/nanao-2024/reference_data.csv",
			       &o, &res, &err) != 0)
		fail_msg("%s", err.text);
	assert_int_equal(res.rows, 112);
	assert_int_equal(res.added, 112);
	assert_int_equal(res.unplaced, 0);
	assert_int_equal(count_rows(st, 1), 112);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(capacity_variants),
		cmocka_unit_test(capacity_of_the_real_list),
		cmocka_unit_test(municipality_codes),
		cmocka_unit_test_setup_teardown(imports_the_opendata_layout,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			every_encoding_gives_the_same_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_row_writes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(more_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(repeated_id_in_one_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			reimport_updates_without_duplicating, setup, teardown),
		cmocka_unit_test_setup_teardown(imports_the_gsi_layout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unknown_layouts_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_memory_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(the_reference_list_is_placed,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
