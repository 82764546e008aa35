/* Unit tests of shelter-agent/csvimport: decoding (UTF-8, BOM,
 * Shift_JIS), RFC 4180 quoting, CRLF, the hard caps, header and cell
 * mapping onto `report` flags, exact FILE:LINE error messages, and the
 * all-or-nothing outbox batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/* ---- csvfile_parse: rows collected as "line|cell|cell..." ---- */

struct rows {
	char text[4096];
	int n, stop_at;
};

static int collect(int line, int n, char **cells, void *arg, sl_error *err)
{
	struct rows *r = arg;
	size_t used = strlen(r->text);
	char row[1024];
	int k;
	if (r->stop_at && r->n + 1 == r->stop_at)
		return sl_error_set(err, SL_EINVAL, "stopped at line %d", line);
	r->n++;
	k = snprintf(row, sizeof(row), "%d", line);
	for (int i = 0; i < n && k < (int)sizeof(row); i++)
		k += snprintf(row + k, sizeof(row) - (size_t)k, "|%s", cells[i]);
	/* only small inputs are compared; the caps test just counts */
	if (k < (int)sizeof(row) - 1 && used + (size_t)k + 2 < sizeof(r->text))
		snprintf(r->text + used, sizeof(r->text) - used, "%s\n", row);
	return 0;
}

static int parse(const char *data, size_t len, struct rows *r, sl_error *err)
{
	memset(r, 0, sizeof(*r));
	return csvfile_parse("t.csv", (const unsigned char *)data, len,
			       collect, r, err);
}
#define PARSE(lit, r, err) parse(lit, sizeof(lit) - 1, r, err)

static void quoting(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("a,b,c\n"
			       "1,\"x,y\",\"say \"\"hi\"\"\"\n"
			       "2,\"multi\nline\",z\n"
			       "3,,\n"
			       "  4 , \"  kept  \" ,\"\"\n",
			       &r, &err),
			 0);
	assert_string_equal(r.text, "1|a|b|c\n"
				    "2|1|x,y|say \"hi\"\n"
				    "3|2|multi\nline|z\n"
				    "5|3||\n"
				    "6|4|  kept  |\n");
}

static void crlf_blank_lines_and_no_final_newline(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("a,b\r\n1,\"x\r\ny\"\r\n\r\n   \r\n3,4", &r, &err), 0);
	assert_string_equal(r.text, "1|a|b\n2|1|x\r\ny\n6|3|4\n");
}

static void bom_is_dropped(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("\xEF\xBB\xBFtime,total\n1,2\n", &r, &err), 0);
	assert_string_equal(r.text, "1|time|total\n2|1|2\n");
}

static void bom_with_bad_utf8_is_refused(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("\xEF\xBB\xBFtime\n\x93\xfa\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: not valid UTF-8 although the file "
				      "starts with a UTF-8 BOM (byte 0x93 at "
				      "offset 8)");
}

/* 日時,人数,備考 / 2024-01-09 18:00,10,断水 / half-width ｱ, in CP932. */
static const char sjis[] = "\x93\xfa\x8e\x9e,\x90\x6c\x90\x94,\x94\xf5\x8d\x6c\n"
			   "2024-01-09 18:00,10,\x92\x66\x90\x85\xb1\n";

static void shift_jis_is_converted(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE(sjis, &r, &err), 0);
	assert_string_equal(r.text, "1|日時|人数|備考\n"
				    "2|2024-01-09 18:00|10|断水ｱ\n");
}

static void neither_encoding_names_line_and_offset(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("a,b\r\nx,y\n1,\x80\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:3: neither UTF-8 (byte 0x80 at "
				      "offset 11) nor Shift_JIS/CP932 (byte "
				      "0x80 at line 3, offset 11): save the "
				      "file as \"CSV UTF-8\"");
}

static void nul_byte_is_refused(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("a,b\n1,\0002\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: NUL byte: not a text file");
	/* the same after conversion from Shift_JIS (found by fuzz_csv) */
	assert_int_equal(PARSE("\x93\xfa,b\n\n1,\0002\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:3: NUL byte: not a text file");
	assert_int_equal(PARSE("\xff\xfet\0i\0m\0e\0\n\0", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv: UTF-16 (Excel's \"Unicode text\") is "
				      "not read: save the file as \"CSV UTF-8\"");
}

static void malformed_quotes(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	assert_int_equal(PARSE("a,b\n1,2\n3,x\"y\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:3: column 'b': '\"' inside a field "
				      "that does not start with '\"' (quote the "
				      "whole field and write the '\"' as '\"\"')");
	assert_int_equal(PARSE("a,b\n\"1\" x,2\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: column 'a': text after the "
				      "closing '\"' of a quoted field (inside "
				      "quotes write a '\"' as '\"\"')");
	assert_int_equal(PARSE("a,b\n1,\"open\n\nmore\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: column 'b': quoted field has no "
				      "closing '\"' before the end of the file");
	/* beyond the header's columns, the field's number */
	assert_int_equal(PARSE("a\n1,2,x\"\n", &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: field 3: '\"' inside a field "
				      "that does not start with '\"' (quote the "
				      "whole field and write the '\"' as '\"\"')");
	/* nothing after the failing row reaches the callback */
	assert_int_equal(r.n, 1);
}

static void callback_failure_stops_the_parse(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	static const char data[] = "a\n1\n2\n3\n";
	assert_int_equal(csvfile_parse("t.csv", (const unsigned char *)data,
					 sizeof(data) - 1, collect, &r, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "stopped at line 2");
	assert_int_equal(r.n, 1);
}

static void caps(void **state)
{
	struct rows r;
	sl_error err;
	(void)state;
	size_t big = CSVIMPORT_MAX_BYTES + 1;
	char *data = malloc(big);
	assert_non_null(data);

	memset(data, 'x', big);
	assert_int_equal(parse(data, big, &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv: the file is 8388609 bytes, more "
				      "than the 8388608 allowed: split it");

	/* a row of exactly the cap passes, one byte more does not */
	memcpy(data, "a\n", 2);
	memset(data + 2, 'y', CSVIMPORT_MAX_ROW_BYTES - 1);
	data[2 + CSVIMPORT_MAX_ROW_BYTES - 1] = '\n';
	assert_int_equal(parse(data, 2 + CSVIMPORT_MAX_ROW_BYTES, &r, &err), 0);
	data[2 + CSVIMPORT_MAX_ROW_BYTES - 1] = 'y';
	data[2 + CSVIMPORT_MAX_ROW_BYTES] = '\n';
	assert_int_equal(parse(data, 3 + CSVIMPORT_MAX_ROW_BYTES, &r, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: row longer than 65536 bytes (a "
				      "quoted field without its closing '\"'?)");

	/* a quoted field running on over many lines hits the same cap */
	size_t n = (size_t)sprintf(data, "a\n\"");
	while (n < 70000)
		n += (size_t)sprintf(data + n, "line\n");
	assert_int_equal(parse(data, n, &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: row longer than 65536 bytes (a "
				      "quoted field without its closing '\"'?)");

	/* header + 100000 rows pass, one more does not */
	n = (size_t)sprintf(data, "a\n");
	for (int i = 0; i < CSVIMPORT_MAX_ROWS; i++)
		n += (size_t)sprintf(data + n, "1\n");
	assert_int_equal(parse(data, n, &r, &err), 0);
	n += (size_t)sprintf(data + n, "1\n");
	assert_int_equal(parse(data, n, &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:100002: more than 100000 rows after "
				      "the header: split the file");

	/* fields per row */
	n = 0;
	for (int i = 0; i <= CSVIMPORT_MAX_FIELDS; i++)
		n += (size_t)sprintf(data + n, "%sf", i ? "," : "");
	data[n++] = '\n';
	assert_int_equal(parse(data, n, &r, &err), SL_EINVAL);
	assert_string_equal(err.text, "t.csv:1: 65 fields, more than the 64 allowed");
	free(data);
}

/* ---- csvimport_reports: rows into reports ---- */

static struct agent_config cfg;

struct built {
	json_t *msgs[8];
	int lines[8];
	int n;
	const char *refuse; /* a report_fn error, to see it located */
};

static int keep(int line, json_t *msg, void *arg, sl_error *err)
{
	struct built *b = arg;
	if (b->refuse)
		return sl_error_set(err, SL_EINVAL, "%s", b->refuse);
	if (b->n == 8)
		return sl_error_set(err, SL_EINVAL, "too many");
	b->lines[b->n] = line;
	b->msgs[b->n++] = json_incref(msg);
	return 0;
}

static void built_free(struct built *b)
{
	for (int i = 0; i < b->n; i++)
		json_decref(b->msgs[i]);
	b->n = 0;
}

static int build(const char *csv, struct built *b, long long *count,
		 sl_error *err)
{
	return csvimport_reports(&cfg, "t.csv", (const unsigned char *)csv,
				 strlen(csv), keep, b, count, err);
}

static const char *str(json_t *msg, const char *path)
{
	json_t *v = msg;
	char key[64];
	while (*path) {
		size_t n = strcspn(path, ".");
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path += n + (path[n] == '.');
	}
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long num(json_t *msg, const char *group)
{
	json_t *v = json_object_get(json_object_get(msg, "headcount"), group);
	return v ? json_integer_value(v) : -1;
}

static void english_header_every_column(void **state)
{
	struct built b = { 0 };
	sl_error err;
	long long count;
	(void)state;
	assert_int_equal(
		build("time,total,infants,children,elderly,care,pregnant,"
		      "disabled,medical,foreign,pets,needs,stock,power,water,"
		      "toilets,note\n"
		      "2024-01-09T18:00:00+09:00,180,4,20,60,9,2,5,3,7,6,"
		      "\"water_drinking=200:critical; blanket=50\",meal_ready=240,"
		      "yes,no,2,\"断水中, \"\"至急\"\"\nline 2\"\n",
		      &b, &count, &err),
		0);
	assert_int_equal(count, 1);
	json_t *m = b.msgs[0];
	assert_int_equal(b.lines[0], 2);
	assert_string_equal(str(m, "time"), "2024-01-09T18:00:00+09:00");
	assert_string_equal(str(m, "shelter_id"), "CC0000000518");
	const char *groups[] = { "total",    "infants",  "children", "elderly",
				 "care",     "pregnant", "disabled", "medical",
				 "foreign",  "pets" };
	const long long want[] = { 180, 4, 20, 60, 9, 2, 5, 3, 7, 6 };
	for (int i = 0; i < 10; i++)
		assert_int_equal(num(m, groups[i]), want[i]);
	json_t *needs = json_object_get(m, "needs");
	assert_int_equal(json_array_size(needs), 2);
	assert_string_equal(str(json_array_get(needs, 0), "urgency"), "critical");
	assert_string_equal(str(json_array_get(needs, 1), "item"), "blanket");
	assert_string_equal(str(json_array_get(needs, 1), "urgency"), "normal");
	assert_int_equal(json_array_size(json_object_get(m, "stock")), 1);
	json_t *ll = json_object_get(m, "lifelines");
	assert_true(json_is_true(json_object_get(ll, "power")));
	assert_true(json_is_false(json_object_get(ll, "water")));
	assert_int_equal(json_integer_value(json_object_get(ll, "toilets_usable")), 2);
	assert_string_equal(str(m, "note"), "断水中, \"至急\"\nline 2");
	built_free(&b);
}

static void japanese_header_and_spreadsheet_habits(void **state)
{
	struct built b = { 0 };
	sl_error err;
	long long count;
	(void)state;
	/* aliases, full-width digits, local times, あり/×, empty cells,
	 * a row of empty cells, a header name in full-width letters */
	assert_int_equal(
		build("日時,避難者数,乳幼児,電気,水道,必要物資,備考,ＴＯＩＬＥＴＳ\n"
		      "2024/1/9 18:00,１８０,,あり,×,,　全角スペース　,\n"
		      ",,,,,,,\n"
		      "2024-01-10 06:05:30,175,3,なし,○,\"water_drinking=10\n"
		      "blanket=２:high\",,１\n"
		      "2024-01-10T07:00,170,,YES,No,,,\n",
		      &b, &count, &err),
		0);
	assert_int_equal(count, 3);
	assert_int_equal(b.lines[0], 2);
	assert_int_equal(b.lines[1], 4);
	assert_int_equal(b.lines[2], 6);
	assert_string_equal(str(b.msgs[0], "time"), "2024-01-09T18:00:00+09:00");
	assert_int_equal(num(b.msgs[0], "total"), 180);
	assert_int_equal(num(b.msgs[0], "infants"), -1);
	assert_string_equal(str(b.msgs[0], "note"), "全角スペース");
	assert_string_equal(str(b.msgs[1], "time"), "2024-01-10T06:05:30+09:00");
	json_t *ll = json_object_get(b.msgs[1], "lifelines");
	assert_true(json_is_false(json_object_get(ll, "power")));
	assert_true(json_is_true(json_object_get(ll, "water")));
	assert_int_equal(json_integer_value(json_object_get(ll, "toilets_usable")), 1);
	json_t *needs = json_object_get(b.msgs[1], "needs");
	assert_int_equal(json_array_size(needs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(needs, 1), "qty")), 2);
	assert_string_equal(str(json_array_get(needs, 1), "urgency"), "high");
	assert_string_equal(str(b.msgs[2], "time"), "2024-01-10T07:00:00+09:00");
	assert_true(json_is_true(json_object_get(json_object_get(b.msgs[2], "lifelines"), "power")));
	built_free(&b);
}

static void shift_jis_file_builds_reports(void **state)
{
	struct built b = { 0 };
	sl_error err;
	long long count;
	(void)state;
	assert_int_equal(csvimport_reports(&cfg, "t.csv", (const unsigned char *)sjis,
					   sizeof(sjis) - 1, keep, &b, &count, &err),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(str(b.msgs[0], "note"), "断水ｱ");
	built_free(&b);
}

static void expect_error(const char *csv, const char *text)
{
	struct built b = { 0 };
	sl_error err;
	long long count;
	assert_int_not_equal(build(csv, &b, &count, &err), 0);
	assert_string_equal(err.text, text);
	built_free(&b);
}

static void header_errors(void **state)
{
	(void)state;
	expect_error("time,total,colour\n",
		     "t.csv:1: unknown column 'colour' (column 3): "
		     "docs/csv-import.md lists the column names");
	expect_error("time,total,人数\n", "t.csv:1: columns 2 and 3 both give 'total'");
	expect_error("time,infants\n",
		     "t.csv:1: the header has no 'total' column (避難者数)");
	expect_error("total,note\n", "t.csv:1: the header has no 'time' column (日時)");
	expect_error("time,,total\n", "t.csv:1: column 2 of the header has no name");
	expect_error("", "t.csv: empty: no header row");
	expect_error("\r\n  \n", "t.csv: empty: no header row");
}

static void row_errors_name_line_column_and_rule(void **state)
{
	(void)state;
	expect_error("time,total\n2024-01-09 18:00,10\n2024-01-09 19:00,10,3\n",
		     "t.csv:3: 3 fields, but the header has 2 columns");
	expect_error("日時,人数\n2024-01-09 18:00,ten\n",
		     "t.csv:2: column '人数' (total): 'ten' is not a whole number");
	expect_error("日時,人数\n2024-01-09 18:00,\n",
		     "t.csv:2: column '人数' (total): empty, but every row needs it");
	expect_error("time,total\n,10\n",
		     "t.csv:2: column 'time': empty, but every row needs it");
	expect_error("time,total,power\n2024-01-09 18:00,10,maybe\n",
		     "t.csv:2: column 'power': 'maybe' is not yes or no");
	expect_error("time,total,needs\n2024-01-09 18:00,10,water\n",
		     "t.csv:2: column 'needs': 'water' is not ITEM=QUANTITY");
	expect_error("time,total,toilets\n2024-01-09 18:00,10,x\n",
		     "t.csv:2: column 'toilets': 'x' is not a whole number");
}

static void report_fn_errors_are_located(void **state)
{
	struct built b = { 0 };
	sl_error err;
	long long count;
	(void)state;
	b.refuse = "inconsistent: /headcount/infants: 11 is more than the total 10";
	assert_int_equal(build("日時,人数,乳幼児\n2024-01-09 18:00,10,11\n", &b,
			       &count, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: column '乳幼児' (infants): "
				      "inconsistent: /headcount/infants: 11 is "
				      "more than the total 10");
	b.refuse = "/time: pattern: string does not match /^...$/";
	assert_int_equal(build("日時,人数\nyesterday,10\n", &b, &count, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: column '日時' (time): 'yesterday' "
				      "is not a date and time: write "
				      "2024-01-09T18:00:00+09:00, or 2024/1/9 "
				      "18:00 for Japan time");
	b.refuse = "too_large: the message would be 17000 bytes";
	assert_int_equal(build("time,total\n2024-01-09 18:00,10\n", &b, &count, &err),
			 SL_EINVAL);
	assert_string_equal(err.text, "t.csv:2: too_large: the message would be "
				      "17000 bytes");
}

/* ---- csvimport_file: the outbox batch ---- */

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct env {
	outbox *ob;
	schema_set *schemas;
	catalog *items;
	struct report_rules rules;
};

static int file_setup(void **state)
{
	sl_error err;
	struct env *e = calloc(1, sizeof(*e));
	char db[128];
	snprintf(dir, sizeof(dir), "/tmp/sl-csvimport-test.%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(db, sizeof(db), "%s/agent.db", dir);
	e->schemas = schema_set_new();
	if (schema_set_load_dir(e->schemas, SL_SCHEMA_DIR, &err) ||
	    schema_set_resolve(e->schemas, &err))
		fail_msg("%s", err.text);
	e->items = catalog_load(SL_DATA_DIR "/items.json", e->schemas, &err);
	if (e->items == NULL)
		fail_msg("%s", err.text);
	e->ob = outbox_open(db, &err);
	if (e->ob == NULL)
		fail_msg("%s", err.text);
	e->rules = (struct report_rules){ e->schemas, e->items };
	*state = e;
	return 0;
}

static int file_teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];
	outbox_close(e->ob);
	catalog_free(e->items);
	schema_set_free(e->schemas);
	free(e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static void stats(outbox *ob, long long *depth, long long *next)
{
	struct outbox_stats st;
	sl_error err;
	assert_int_equal(outbox_stats(ob, &st, &err), 0);
	*depth = st.depth;
	*next = st.next_seq;
}

static int import(struct env *e, const char *name, long long *first,
		  long long *count, sl_error *err)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return csvimport_file(&cfg, e->ob, &e->rules, path, first, count, err);
}

static void file_is_all_or_nothing(void **state)
{
	struct env *e = *state;
	sl_error err;
	long long first, count, depth, next, depth0, next0;

	write_file("good.csv", "日時,人数,必要物資\n"
			       "2024-01-09 18:00,180,water_drinking=200:critical\n"
			       "2024-01-10 18:00,175,\n");
	assert_int_equal(import(e, "good.csv", &first, &count, &err), 0);
	assert_int_equal(first, 1);
	assert_int_equal(count, 2);

	write_file("bad.csv", "日時,人数,乳幼児\n"
			      "2024-01-11 18:00,170,2\n"
			      "2024-01-12 18:00,160,2\n"
			      "2024-01-13 18:00,150,151\n"
			      "2024-01-14 18:00,140,2\n");
	stats(e->ob, &depth0, &next0);
	assert_int_equal(import(e, "bad.csv", &first, &count, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "/bad.csv:4: column '乳幼児' (infants): "
					 "inconsistent: /headcount/infants: 151 is "
					 "more than the total 150"));
	assert_int_equal(count, 0);
	stats(e->ob, &depth, &next);
	assert_int_equal(depth, depth0);
	assert_int_equal(next, next0);

	/* a catalogue or schema refusal is located too */
	write_file("item.csv", "time,total,stock\n2024-01-11 18:00,170,gold=1\n");
	assert_int_equal(import(e, "item.csv", &first, &count, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "/item.csv:2: column 'stock': unknown_item: "
					 "/stock/0/item: 'gold' is not in the item "
					 "catalogue"));
	write_file("date.csv", "time,total\n2024-02-30 18:00,170\n");
	assert_int_equal(import(e, "date.csv", &first, &count, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "/date.csv:2: column 'time': bad_time: "
					 "/time: '2024-02-30T18:00:00+09:00' is not "
					 "a real date"));

	/* the refusals used no number */
	assert_int_equal(import(e, "good.csv", &first, &count, &err), 0);
	assert_int_equal(first, 3);
	assert_int_equal(count, 2);
}

static void file_errors(void **state)
{
	struct env *e = *state;
	sl_error err;
	long long first, count, depth, next;

	write_file("header.csv", "time,total\n");
	assert_int_equal(import(e, "header.csv", &first, &count, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "/header.csv: no reports: only a header row"));
	assert_int_equal(import(e, "missing.csv", &first, &count, &err), SL_EIO);
	assert_non_null(strstr(err.text, "/missing.csv: No such file or directory"));
	stats(e->ob, &depth, &next);
	assert_int_equal(depth, 0);
	assert_int_equal(next, 1);
}

int main(void)
{
	cfg.shelter_id = (char *)"CC0000000518";
	cfg.shelter_name = (char *)"山王小学校";
	cfg.common.municipality = (char *)"172022";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoting),
		cmocka_unit_test(crlf_blank_lines_and_no_final_newline),
		cmocka_unit_test(bom_is_dropped),
		cmocka_unit_test(bom_with_bad_utf8_is_refused),
		cmocka_unit_test(shift_jis_is_converted),
		cmocka_unit_test(neither_encoding_names_line_and_offset),
		cmocka_unit_test(nul_byte_is_refused),
		cmocka_unit_test(malformed_quotes),
		cmocka_unit_test(callback_failure_stops_the_parse),
		cmocka_unit_test(caps),
		cmocka_unit_test(english_header_every_column),
		cmocka_unit_test(japanese_header_and_spreadsheet_habits),
		cmocka_unit_test(shift_jis_file_builds_reports),
		cmocka_unit_test(header_errors),
		cmocka_unit_test(row_errors_name_line_column_and_rule),
		cmocka_unit_test(report_fn_errors_are_located),
		cmocka_unit_test_setup_teardown(file_is_all_or_nothing, file_setup,
						file_teardown),
		cmocka_unit_test_setup_teardown(file_errors, file_setup,
						file_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
