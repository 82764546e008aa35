/*
 * test_schema.c - unit tests of common/schema.c beyond the official
 * suite (test_schema_suite.c): error reports, refusal of unsupported and
 * unknown keywords, cross-document $ref, load_dir, rollback, loops, the
 * depth cap, concurrency, and every allocation-failure path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mem.h"
#include "error.h"
#include "schema.h"

/* JSON from a C string with ' for " so that test schemas stay readable. */
static json_t *J(const char *text)
{
	char *s = strdup(text), *p;
	json_error_t jerr;
	json_t *j;

	assert_non_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", jerr.text, s);
	free(s);
	return j;
}

/* Adds `text` as a schema; returns schema_set_add's result. */
static int add(schema_set *set, const char *text, const char *uri,
	       sl_error *err)
{
	json_t *doc = J(text);
	int rc = schema_set_add(set, doc, uri, err);

	json_decref(doc);
	return rc;
}

static int check(const schema_set *set, const char *name, const char *inst,
		 schema_failure *f)
{
	json_t *doc = J(inst);
	int rc = schema_validate_ex(set, name, doc, f);

	json_decref(doc);
	return rc;
}

static void assert_contains(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static const char *const SHELTER =
	"{'$id': 'https://sl.invalid/s.json', 'type': 'object',"
	" 'required': ['shelter_id', 'headcount'], 'additionalProperties': "
	"false,"
	" 'properties': {"
	"  'shelter_id': {'type': 'string', 'pattern': "
	"'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'},"
	"  'headcount': {'type': 'object', 'properties': {"
	"    'total': {'type': 'integer', 'minimum': 0},"
	"    'a/b~c': {'type': 'integer'}}},"
	"  'lines': {'type': 'array', 'maxItems': 3, 'items': {'type': "
	"'object',"
	"    'properties': {'qty': {'type': 'integer'}}}},"
	"  'kind': {'oneOf': [{'const': 'a'}, {'type': 'string', 'maxLength': "
	"1}]},"
	"  'name': {'type': 'string', 'minLength': 2}}}";

static void test_error_pointer_and_keyword(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	schema_failure f;
	json_t *doc;

	(void)state;
	assert_non_null(set);
	assert_int_equal(add(set, SHELTER, NULL, &err), 0);

	doc = J("{'shelter_id': 'CC1', 'headcount': {'total': -1}}");
	assert_int_equal(
		schema_validate(set, "https://sl.invalid/s.json", doc, &err),
		SL_ESCHEMA);
	assert_string_equal(err.text,
			    "/headcount/total: minimum: -1 is less than 0");
	json_decref(doc);

	assert_int_equal(
		check(set, "https://sl.invalid/s.json",
		      "{'shelter_id': 'CC1', 'headcount': {},"
		      " 'lines': [{'qty': 1}, {'qty': 2}, {'qty': 'x'}]}",
		      &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/lines/2/qty");
	assert_string_equal(f.keyword, "type");
	assert_string_equal(f.message, "expected integer, got string");

	/* Pointer escaping of ~ and / in keys. */
	assert_int_equal(
		check(set, "https://sl.invalid/s.json",
		      "{'shelter_id': 'CC1', 'headcount': {'a/b~c': 1.5}}", &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/headcount/a~1b~0c");

	/* Whole-document failures point at the root. */
	doc = J("{'shelter_id': 'CC1'}");
	assert_int_equal(
		schema_validate(set, "https://sl.invalid/s.json", doc, &err),
		SL_ESCHEMA);
	assert_string_equal(
		err.text,
		"(root): required: missing required property \"headcount\"");
	json_decref(doc);

	assert_int_equal(
		check(set, "https://sl.invalid/s.json",
		      "{'shelter_id': 'CC1', 'headcount': {}, 'extra': 1}", &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/extra");
	assert_string_equal(f.keyword, "additionalProperties");

	assert_int_equal(check(set, "https://sl.invalid/s.json",
			       "{'shelter_id': '-x', 'headcount': {}}", &f),
			 SL_ESCHEMA);
	assert_string_equal(f.keyword, "pattern");

	/* oneOf reports itself at its location: 'a' matches both branches. */
	assert_int_equal(
		check(set, "https://sl.invalid/s.json",
		      "{'shelter_id': 'C', 'headcount': {}, 'kind': 'a'}", &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/kind");
	assert_string_equal(f.keyword, "oneOf");

	/* Lengths are code points: two Japanese characters are 6 bytes. */
	assert_int_equal(check(set, "https://sl.invalid/s.json",
			       "{'shelter_id': 'C', 'headcount': {}, 'name': "
			       "'\xe9\x81\xbf\xe9\x9b\xa3'}",
			       NULL),
			 0);
	assert_int_equal(check(set, "https://sl.invalid/s.json",
			       "{'shelter_id': 'C', 'headcount': {}, 'name': "
			       "'\xe9\x81\xbf'}",
			       &f),
			 SL_ESCHEMA);
	assert_string_equal(f.keyword, "minLength");

	assert_int_equal(check(set, "nope", "{}", &f), SL_ENOTFOUND);
	assert_contains(f.message, "nope");
	schema_set_free(set);
}

static void test_unsupported_keyword_rejected(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};

	(void)state;
	assert_int_equal(add(set,
			     "{'properties': {'date': {'type': 'string',"
			     " 'format': 'date'}}}",
			     "urn:t:fmt", &err),
			 SL_EUNSUPPORTED);
	assert_contains(err.text, "urn:t:fmt");
	assert_contains(err.text, "/properties/date/format");
	assert_contains(err.text, "\"format\"");

	assert_int_equal(add(set,
			     "{'items': [{'contentMediaType': 'text/html'}]}",
			     NULL, &err),
			 SL_EUNSUPPORTED);
	assert_contains(err.text, "/items/0/contentMediaType");

	/* Allowing unknown keywords does not let format through. */
	schema_set_allow_unknown(set, 1);
	assert_int_equal(add(set, "{'format': 'email'}", NULL, &err),
			 SL_EUNSUPPORTED);

	/* Refused: other drafts, and patterns an ERE cannot express. */
	schema_set_allow_unknown(set, 0);
	assert_int_equal(
		add(set,
		    "{'$schema': 'http://json-schema.org/draft-04/schema#'}",
		    NULL, &err),
		SL_EUNSUPPORTED);
	assert_int_equal(add(set,
			     "{'properties': {'x': {'pattern': 'a(?=b)'}}}",
			     NULL, &err),
			 SL_EUNSUPPORTED);
	assert_contains(err.text, "/properties/x/pattern");
	assert_contains(err.text, "lookahead");
	assert_int_equal(add(set, "{'pattern': '(a)\\\\1'}", NULL, &err),
			 SL_EUNSUPPORTED);
	assert_contains(err.text, "backreference");
	assert_int_equal(
		add(set, "{'patternProperties': {'\\\\bx': {}}}", NULL, &err),
		SL_EUNSUPPORTED);
	assert_contains(err.text, "/patternProperties/\\bx");
	schema_set_free(set);
}

static void test_unknown_keyword_rejected(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};

	(void)state;
	assert_int_equal(add(set,
			     "{'definitions': {'a~b': {'type': 'string',"
			     " 'maxlength': 3}}}",
			     "urn:t:unknown", &err),
			 SL_EINVAL);
	assert_contains(err.text, "/definitions/a~0b/maxlength");
	assert_contains(err.text, "unknown keyword \"maxlength\"");

	assert_int_equal(add(set, "{'$defs': {}}", NULL, &err), SL_EINVAL);
	assert_contains(err.text, "$defs");

	/* Names and data are not keywords. */
	assert_int_equal(
		add(set,
		    "{'properties': {'format': {'type': 'string'}},"
		    " 'patternProperties': {'^x': true},"
		    " 'dependencies': {'pattern': ['format']},"
		    " 'definitions': {'title': {}},"
		    " 'enum': [{'format': 1}], 'const': {'foo': 1},"
		    " 'default': {'bar': 2}, 'examples': [{'baz': 3}]}",
		    NULL, &err),
		0);

	/* Malformed keyword values are refused too. */
	assert_int_equal(add(set, "{'minLength': -1}", NULL, &err), SL_EINVAL);
	assert_contains(err.text, "/minLength");
	assert_int_equal(add(set, "{'type': 'strin'}", NULL, &err), SL_EINVAL);
	assert_int_equal(add(set, "{'required': ['a', 'a']}", NULL, &err),
			 SL_EINVAL);
	assert_int_equal(add(set, "{'multipleOf': 0}", NULL, &err), SL_EINVAL);
	assert_int_equal(add(set, "{'properties': {'x': 3}}", NULL, &err),
			 SL_EINVAL);
	assert_contains(err.text, "/properties/x");

	schema_set_allow_unknown(set, 1);
	assert_int_equal(
		add(set, "{'$defs': {}, 'x-extension': 1}", NULL, &err), 0);
	schema_set_free(set);
}

static const char *const DEFS =
	"{'$id': 'https://sl.invalid/schemas/v1/defs.schema.json',"
	" 'definitions': {"
	"  'identifier': {'type': 'string', 'pattern': "
	"'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'},"
	"  'shelter_id': {'allOf': [{'$ref': '#/definitions/identifier'}]},"
	"  'a~b/c%d': {'type': 'integer'}}}";

static const char *const STATUS =
	"{'$id': 'https://sl.invalid/schemas/v1/status.schema.json',"
	" 'type': 'object', 'required': ['shelter_id'],"
	" 'properties': {"
	"  'shelter_id': {'$ref': 'defs.schema.json#/definitions/shelter_id'},"
	"  'n': {'$ref': './defs.schema.json#/definitions/a~0b~1c%25d'},"
	"  'm': {'$ref': 'sub/../defs.schema.json#/definitions/a~0b~1c%25d'}}}";

static void test_cross_document_ref(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	schema_failure f;

	(void)state;
	/* The referring document may come first. */
	assert_int_equal(add(set, STATUS, NULL, &err), 0);
	assert_int_equal(schema_set_resolve(set, &err), SL_EINVAL);
	assert_contains(err.text, "/properties/shelter_id/$ref");
	assert_contains(err.text, "https://sl.invalid/schemas/v1/"
				  "defs.schema.json#/definitions/shelter_id");
	assert_int_equal(add(set, DEFS, NULL, &err), 0);
	assert_int_equal(schema_set_resolve(set, &err), 0);

	assert_int_equal(
		check(set, "https://sl.invalid/schemas/v1/status.schema.json",
		      "{'shelter_id': 'CC0000000518', 'n': 1, 'm': 2}", &f),
		0);
	assert_int_equal(
		check(set, "https://sl.invalid/schemas/v1/status.schema.json",
		      "{'shelter_id': '_hq'}", &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/shelter_id");
	assert_string_equal(f.keyword, "pattern");
	assert_int_equal(
		check(set, "https://sl.invalid/schemas/v1/status.schema.json",
		      "{'shelter_id': 'a', 'm': 'x'}", &f),
		SL_ESCHEMA);
	assert_string_equal(f.pointer, "/m");

	/* A subschema can be named by URI and fragment. */
	assert_int_equal(check(set,
			       "https://sl.invalid/schemas/v1/"
			       "defs.schema.json#/definitions/shelter_id",
			       "'ok'", &f),
			 0);
	assert_int_equal(check(set,
			       "https://sl.invalid/schemas/v1/"
			       "defs.schema.json#/definitions/none",
			       "'ok'", &f),
			 SL_ENOTFOUND);

	/* A pointer that leads nowhere in a loaded document fails at once. */
	assert_int_equal(add(set,
			     "{'$ref': "
			     "'https://sl.invalid/schemas/v1/defs.schema.json#/"
			     "definitions/nope'}",
			     "urn:t:bad", &err),
			 SL_EINVAL);
	assert_contains(err.text, "no such location");
	/* So does a second document with the same $id. */
	assert_int_equal(add(set, DEFS, NULL, &err), SL_EINVAL);
	assert_contains(err.text, "already registered");
	schema_set_free(set);
}

static void test_doc_not_stolen(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	json_t *doc = J("{'type': 'integer'}");

	(void)state;
	assert_int_equal(schema_set_add(set, doc, "urn:t:int", &err), 0);
	/* Our copy is private: changing the caller's document is harmless. */
	json_object_set_new(doc, "type", json_string("string"));
	json_decref(doc);
	assert_int_equal(check(set, "urn:t:int", "5", NULL), 0);
	assert_int_equal(check(set, "urn:t:int", "'5'", NULL), SL_ESCHEMA);
	schema_set_free(set);
}

static void test_failed_add_rolls_back(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};

	(void)state;
	assert_int_equal(add(set,
			     "{'$id': 'urn:t:base', 'definitions': {'x': "
			     "{'type': 'string'}}}",
			     NULL, &err),
			 0);
	/* Fails late: after its $id, an embedded $id and a resolved $ref. */
	assert_int_equal(add(set,
			     "{'$id': 'urn:t:a', 'properties': {"
			     " 'p': {'$ref': 'urn:t:base#/definitions/x'},"
			     " 'q': {'$id': 'urn:t:q'}, 'z': {'format': 'x'}}}",
			     NULL, &err),
			 SL_EUNSUPPORTED);
	assert_int_equal(check(set, "urn:t:a", "{}", NULL), SL_ENOTFOUND);
	assert_int_equal(check(set, "urn:t:q", "{}", NULL), SL_ENOTFOUND);
	/* The same URIs are free again. */
	assert_int_equal(add(set,
			     "{'$id': 'urn:t:a', 'properties': {"
			     " 'p': {'$ref': 'urn:t:base#/definitions/x'},"
			     " 'q': {'$id': 'urn:t:q'}}}",
			     NULL, &err),
			 0);
	assert_int_equal(schema_set_resolve(set, &err), 0);
	assert_int_equal(check(set, "urn:t:a", "{'p': 1}", NULL), SL_ESCHEMA);
	schema_set_free(set);
}

static void test_recursion(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	schema_failure f;
	json_t *deep, *cur;
	int i;

	(void)state;
	assert_int_equal(
		add(set,
		    "{'definitions': {"
		    " 'loop': {'anyOf': [{'$ref': '#/definitions/loop2'}]},"
		    " 'loop2': {'$ref': '#/definitions/loop'},"
		    " 'tree': {'type': 'array', 'items': {'$ref': "
		    "'#/definitions/tree'}}},"
		    " 'properties': {'x': {'$ref': '#/definitions/loop'},"
		    " 't': {'$ref': '#/definitions/tree'}}}",
		    "urn:t:rec", &err),
		0);
	assert_int_equal(check(set, "urn:t:rec", "{'t': [[[], [[]]]]}", &f), 0);
	assert_int_equal(check(set, "urn:t:rec", "{'t': [[[], [[1]]]]}", &f),
			 SL_ESCHEMA);
	assert_string_equal(f.pointer, "/t/0/1/0/0");

	/* A $ref loop that consumes no input is an error, not a hang. */
	assert_int_equal(check(set, "urn:t:rec", "{'x': 1}", &f), SL_EINVAL);
	assert_contains(f.message, "loops");

	/* Hostile nesting stops at the depth cap. */
	deep = json_array();
	for (cur = deep, i = 0; i < 1000; i++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	cur = json_object();
	json_object_set_new(cur, "t", deep);
	assert_int_equal(schema_validate_ex(set, "urn:t:rec", cur, &f),
			 SL_ESCHEMA);
	assert_string_equal(f.keyword, "depth");
	json_decref(cur);
	schema_set_free(set);
}

static void test_patterns(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	schema_failure f;

	(void)state;
	assert_int_equal(add(set,
			     "{'properties': {"
			     " 'd': {'pattern': '^\\\\d{2}$'},"
			     " 'dot': {'pattern': '^.$'},"
			     " 'kana': {'pattern': '^[\\\\u3041-\\\\u3096]+$'},"
			     " 'not': {'pattern': '^[^a-z]+$'},"
			     " 'lit': {'pattern': 'a.b\\\\.c\\\\{d\\\\}'}}}",
			     "urn:t:re", &err),
			 0);
	assert_int_equal(check(set, "urn:t:re", "{'d': '12'}", NULL), 0);
	assert_int_equal(
		check(set, "urn:t:re", "{'d': '\xd9\xa1\xd9\xa2'}", NULL),
		SL_ESCHEMA); /* Arabic-Indic digits are not \d */
	assert_int_equal(
		check(set, "urn:t:re", "{'dot': '\xe9\x81\xbf'}", NULL), 0);
	assert_int_equal(check(set, "urn:t:re", "{'dot': '\\n'}", NULL),
			 SL_ESCHEMA);
	assert_int_equal(check(set, "urn:t:re",
			       "{'kana': '\xe3\x81\xb2\xe3\x81\xaa'}", NULL),
			 0);
	assert_int_equal(check(set, "urn:t:re", "{'kana': '\xe3\x83\x92'}", &f),
			 SL_ESCHEMA);
	assert_string_equal(f.keyword, "pattern");
	assert_int_equal(check(set, "urn:t:re",
			       "{'not': '\xe9\x81\xbf"
			       "1'}",
			       NULL),
			 0);
	assert_int_equal(check(set, "urn:t:re", "{'lit': 'xaZb.c{d}'}", NULL),
			 0);
	assert_int_equal(check(set, "urn:t:re", "{'lit': 'aZbxc{d}'}", NULL),
			 SL_ESCHEMA);

	/* Patterns are bytes: a UTF-8 locale set by the program changes
	 * nothing. */
	if (setlocale(LC_ALL, "C.UTF-8") != NULL) {
		assert_int_equal(
			check(set, "urn:t:re", "{'dot': '\xe9\x81\xbf'}", NULL),
			0);
		assert_int_equal(check(set, "urn:t:re",
				       "{'kana': '\xe3\x83\x92'}", NULL),
				 SL_ESCHEMA);
		setlocale(LC_ALL, "C");
	}
	schema_set_free(set);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256], *s = strdup(text), *p;
	FILE *fp;

	assert_non_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(s, fp);
	fclose(fp);
	free(s);
}

static void remove_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_schema.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
	(void)state;
	remove_file("defs.schema.json");
	remove_file("status.schema.json");
	remove_file("zbad.schema.json");
	remove_file("notes.txt");
	remove_file("local.schema.json");
	return rmdir(tmpdir);
}

static void test_load_dir(void **state)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	schema_failure f;

	(void)state;
	write_file("defs.schema.json", DEFS);
	write_file("status.schema.json", STATUS);
	write_file("notes.txt", "not a schema");
	/* No $id: found through its file:// URI. */
	write_file("local.schema.json",
		   "{'$ref': 'defs.schema.json#/definitions/identifier'}");
	assert_int_equal(schema_set_load_dir(set, tmpdir, &err), 0);
	assert_int_equal(schema_set_resolve(set, &err), 0);
	assert_int_equal(check(set, "status", "{'shelter_id': 'NEW001'}", &f),
			 0);
	assert_int_equal(check(set, "status", "{}", &f), SL_ESCHEMA);
	assert_int_equal(check(set, "defs", "{}", &f), 0);
	assert_int_equal(check(set, "local", "'x-1'", &f), 0);
	assert_int_equal(check(set, "local", "'-x'", &f), SL_ESCHEMA);
	assert_int_equal(check(set, "notes", "{}", &f), SL_ENOTFOUND);
	schema_set_free(set);

	/* A bad file: the error names it; the files before it stay loaded. */
	set = schema_set_new();
	write_file("zbad.schema.json",
		   "{'properties': {'when': {'format': 'date-time'}}}");
	assert_int_equal(schema_set_load_dir(set, tmpdir, &err),
			 SL_EUNSUPPORTED);
	assert_contains(err.text, "zbad.schema.json");
	assert_contains(err.text, "/properties/when/format");
	assert_int_equal(check(set, "status", "{'shelter_id': 'NEW001'}", &f),
			 0);
	schema_set_free(set);

	set = schema_set_new();
	write_file("zbad.schema.json", "{'type': 'object', 'type': 'array'}");
	assert_int_equal(schema_set_load_dir(set, tmpdir, &err), SL_EINVAL);
	assert_contains(err.text, "zbad.schema.json");
	assert_contains(err.text, "duplicate");
	schema_set_free(set);

	set = schema_set_new();
	write_file("zbad.schema.json", "{'type': ");
	assert_int_equal(schema_set_load_dir(set, tmpdir, &err), SL_EINVAL);
	assert_contains(err.text, "zbad.schema.json");
	assert_int_equal(schema_set_load_dir(set, "/nonexistent/dir", &err),
			 SL_EIO);
	assert_contains(err.text, "/nonexistent/dir");
	schema_set_free(set);
	remove_file("zbad.schema.json");
	remove_file("local.schema.json");
	remove_file("notes.txt");
}

/* Validation from many threads on one set gives the same answers. */
struct worker {
	const schema_set *set;
	json_t *good, *bad;
	int errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	schema_failure f;
	int i;

	for (i = 0; i < 2000; i++) {
		if (schema_validate_ex(w->set, "https://sl.invalid/s.json",
				       w->good, &f) != 0)
			w->errors++;
		if (schema_validate_ex(w->set, "https://sl.invalid/s.json",
				       w->bad, &f) != SL_ESCHEMA ||
		    strcmp(f.pointer, "/shelter_id") != 0)
			w->errors++;
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	schema_set *set = schema_set_new();
	struct worker w[4];
	pthread_t tid[4];
	sl_error err = {""};
	int i;

	(void)state;
	assert_int_equal(add(set, SHELTER, NULL, &err), 0);
	for (i = 0; i < 4; i++) {
		w[i].set = set;
		w[i].good = J("{'shelter_id': 'CC1', 'headcount': {'total': 3},"
			      " 'lines': [{'qty': 1}]}");
		w[i].bad = J("{'shelter_id': '#', 'headcount': {}}");
		w[i].errors = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
		json_decref(w[i].good);
		json_decref(w[i].bad);
	}
	schema_set_free(set);
}

/*
 * A realistic pair of documents touching every allocating path: $id and
 * anchors, cross-document and pointer $ref, patterns, long uniqueItems
 * arrays and propertyNames (which allocate while validating).
 */
static const char *const ALLOC_DEFS =
	"{'$id': 'https://sl.invalid/v1/defs.schema.json',"
	" 'definitions': {"
	"  'id': {'$id': '#id', 'type': 'string', 'pattern': "
	"'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'},"
	"  'time': {'type': 'string', 'pattern': "
	"'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[+-][0-9:]{5})$'},"
	"  'count': {'type': 'integer', 'minimum': 0, 'maximum': 1000000}}}";

static const char *const ALLOC_STATUS =
	"{'$schema': 'http://json-schema.org/draft-07/schema#',"
	" '$id': 'https://sl.invalid/v1/status.schema.json',"
	" 'type': 'object', 'required': ['v', 'shelter_id', 'time', "
	"'headcount'],"
	" 'additionalProperties': false, 'propertyNames': {'maxLength': 20},"
	" 'properties': {"
	"  'v': {'const': 1},"
	"  'shelter_id': {'$ref': 'defs.schema.json#id'},"
	"  'time': {'$ref': 'defs.schema.json#/definitions/time'},"
	"  'headcount': {'type': 'object', 'required': ['total'],"
	"   'properties': {'total': {'$ref': "
	"'defs.schema.json#/definitions/count'}},"
	"   'patternProperties': {'^[a-z]+$': {'$ref': "
	"'defs.schema.json#/definitions/count'}}},"
	"  'needs': {'type': 'array', 'uniqueItems': true, 'maxItems': 64,"
	"   'items': {'enum': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
	"15, 16, 17, 18, 19, 20]}},"
	"  'state': {'oneOf': [{'const': 'open'}, {'const': 'closed'}]},"
	"  'note': {'type': 'string', 'maxLength': 1000}},"
	" 'if': {'properties': {'state': {'const': 'closed'}}},"
	" 'then': {'not': {'required': ['needs']}}}";

static const char *const ALLOC_GOOD = "{'v': 1, 'shelter_id': 'CC0000000518', "
				      "'time': '2024-01-09T18:00:00+09:00',"
				      " 'headcount': {'total': 120, 'pets': 4},"
				      " 'needs': [1, 2, 3, 4, 5, 6, 7, 8, 9, "
				      "10, 11, 12, 13, 14, 15, 16, 17, 18],"
				      " 'state': 'open', 'note': "
				      "'\xe6\xb0\xb4\xe3\x81\x8c\xe8\xb6\xb3"
				      "\xe3\x82\x8a\xe3\x81\xaa\xe3\x81\x84'}";

static const char *const ALLOC_BAD = "{'v': 1, 'shelter_id': 'CC0000000518', "
				     "'time': '2024-01-09T18:00:00+09:00',"
				     " 'headcount': {'total': 120},"
				     " 'needs': [1, 2, 3, 4, 5, 6, 7, 8, 9, "
				     "10, 11, 12, 13, 14, 15, 16, 17, 1]}";

/* One full cycle; returns SL_ENOMEM if any step ran out of memory. */
static int alloc_cycle(json_t *defs, json_t *status, json_t *good, json_t *bad,
		       const char *dir)
{
	schema_set *set;
	schema_failure f;
	sl_error err = {""};
	const char *q;
	int rc, nomem = 0;

	set = schema_set_new();
	if (set == NULL)
		return SL_ENOMEM;
	rc = schema_set_add(set, status, NULL, &err);
	assert_true(rc == 0 || rc == SL_ENOMEM);
	nomem |= rc == SL_ENOMEM;
	rc = schema_set_add(set, defs, NULL, &err);
	assert_true(rc == 0 || rc == SL_ENOMEM);
	nomem |= rc == SL_ENOMEM;
	if (!nomem) {
		assert_int_equal(schema_set_resolve(set, &err), 0);
		rc = schema_validate_ex(
			set, "https://sl.invalid/v1/status.schema.json", good,
			&f);
		assert_true(rc == 0 || rc == SL_ENOMEM);
		nomem |= rc == SL_ENOMEM;
		rc = schema_validate_ex(
			set, "https://sl.invalid/v1/status.schema.json", bad,
			&f);
		assert_true(rc == SL_ESCHEMA || rc == SL_ENOMEM);
		if (rc == SL_ESCHEMA)
			assert_string_equal(f.keyword, "uniqueItems");
		nomem |= rc == SL_ENOMEM;
	}
	schema_set_free(set);

	set = schema_set_new();
	if (set == NULL)
		return SL_ENOMEM;
	rc = schema_set_load_dir(set, dir, &err);
	/*
	 * jansson's decoder reports some allocation failures as syntax errors
	 * (a token it cannot allocate is "invalid"), so a decode error
	 * ("file:line:column: ...") on these well-formed files counts as an
	 * injected failure; the last, uninjected round proves them well formed.
	 */
	q = strstr(err.text, ".schema.json:");
	if (rc == SL_EINVAL && q != NULL && q[strlen(".schema.json:")] != ' ')
		rc = SL_ENOMEM;
	if (rc != 0 && rc != SL_ENOMEM)
		fail_msg("load_dir: %s", err.text);
	nomem |= rc == SL_ENOMEM;
	if (rc == 0) {
		rc = schema_validate_ex(set, "status", good, &f);
		assert_true(rc == 0 || rc == SL_ENOMEM);
		nomem |= rc == SL_ENOMEM;
	}
	schema_set_free(set);
	return nomem ? SL_ENOMEM : 0;
}

static void test_allocation_failures(void **state)
{
	json_t *defs, *status, *good, *bad;
	long n;
	int rc = SL_ENOMEM;

	(void)state;
	write_file("defs.schema.json", ALLOC_DEFS);
	write_file("status.schema.json", ALLOC_STATUS);
	defs = J(ALLOC_DEFS);
	status = J(ALLOC_STATUS);
	good = J(ALLOC_GOOD);
	bad = J(ALLOC_BAD);
	/* jansson's own allocations (copies, file decoding) fail too. */
	json_set_alloc_funcs(sl_malloc, sl_free);
	for (n = 0; n < 100000 && rc == SL_ENOMEM; n++) {
		sl_alloc_fail_after(n);
		rc = alloc_cycle(defs, status, good, bad, tmpdir);
		sl_alloc_fail_after(-1);
	}
	json_set_alloc_funcs(malloc, free);
	print_message("allocation failure injected at 0..%ld\n", n - 1);
	assert_int_equal(rc, 0);
	assert_true(n > 50);
	json_decref(defs);
	json_decref(status);
	json_decref(good);
	json_decref(bad);
	remove_file("defs.schema.json");
	remove_file("status.schema.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_pointer_and_keyword),
		cmocka_unit_test(test_unsupported_keyword_rejected),
		cmocka_unit_test(test_unknown_keyword_rejected),
		cmocka_unit_test(test_cross_document_ref),
		cmocka_unit_test(test_doc_not_stolen),
		cmocka_unit_test(test_failed_add_rolls_back),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
