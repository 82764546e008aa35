/*
 * libFuzzer harness for `shelter-agent import`: decoding (UTF-8, BOM,
 * Shift_JIS through iconv), RFC 4180 splitting, the caps, the header
 * mapping, and every row through report_from_args and report_check
 * (status schema, rules, catalogue) with a static configuration.  No
 * database: csvimport_file only adds outbox_append, tested elsewhere.
 * Build: make build-fuzz/fuzz_csv; run:
 * build-fuzz/fuzz_csv tests/fuzz/corpus/csv
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static schema_set *schemas;
static catalog *items;
static struct report_rules rules;
static struct agent_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_once(void)
{
	sl_error err;
	const char *dir = getenv("SL_SCHEMA_DIR");
	schemas = schema_set_new();
	if (schema_set_load_dir(schemas, dir ? dir : SL_SCHEMA_DIR, &err) ||
	    schema_set_resolve(schemas, &err))
		abort();
	items = catalog_load(SL_DATA_DIR "/items.json", schemas, &err);
	if (items == NULL)
		abort();
	rules = (struct report_rules){ schemas, items };
	cfg.shelter_id = (char *)"CC0000000518";
	cfg.shelter_name = (char *)"山王小学校";
	cfg.common.municipality = (char *)"172022";
}

/* What outbox_append would do before storing: number it, check it. */
static int check_row(int line, json_t *msg, void *arg, sl_error *err)
{
	(void)line;
	(void)arg;
	if (json_object_set_new(msg, "seq", json_integer(1)) != 0)
		abort();
	return report_check(msg, &rules, err);
}

/* The plain parser too, with a callback that touches every cell. */
static int touch_row(int line, int n, char **cells, void *arg, sl_error *err)
{
	size_t *total = arg;
	(void)err;
	if (line < 1 || n < 0 || n > CSVIMPORT_MAX_FIELDS)
		abort();
	for (int i = 0; i < n; i++)
		*total += strlen(cells[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_error err;
	long long count;
	size_t total = 0;

	if (schemas == NULL)
		load_once();
	memset(&err, 0, sizeof(err));
	csvfile_parse("fuzz.csv", data, size, touch_row, &total, &err);
	if (memchr(err.text, '\0', sizeof(err.text)) == NULL)
		abort();
	csvimport_reports(&cfg, "fuzz.csv", data, size, check_row, NULL, &count,
			  &err);
	if (memchr(err.text, '\0', sizeof(err.text)) == NULL)
		abort();
	return 0;
}
