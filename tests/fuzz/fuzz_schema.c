/*
 * fuzz_schema.c - libFuzzer harness for common/schema.c: decodes the
 * input as the edge does (jansson, JSON_REJECT_DUPLICATES, 64 KiB cap)
 * and validates it against every schema of the project.
 *
 * The schemas come from $SL_SCHEMA_DIR, else the build's SL_SCHEMA_DIR,
 * else "schemas", and are loaded once.  Besides memory errors it checks
 * that validation only ever says valid or invalid (our schemas have no
 * $ref loop and nothing runs out of memory here) and that the failure
 * report is well formed.  Schemas themselves are not fuzzed.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *     tests/fuzz/fuzz_schema.c common/schema.c common/alloc.c \
 *     common/error.c -ljansson -lm -o fuzz_schema
 *   ./fuzz_schema tests/fuzz/corpus/schema
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "schema.h"

#define MAX_INPUT (64 * 1024)
#define SUFFIX	  ".schema.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static schema_set *set;
static char names[64][128];
static size_t n_names;

static void load(void)
{
	const char *dir = getenv("SL_SCHEMA_DIR");
	sl_error err = {""};
	struct dirent *de;
	DIR *dp;

#ifdef SL_SCHEMA_DIR
	if (dir == NULL)
		dir = SL_SCHEMA_DIR;
#endif
	if (dir == NULL)
		dir = "schemas";
	set = schema_set_new();
	if (set == NULL || schema_set_load_dir(set, dir, &err) != 0 ||
	    schema_set_resolve(set, &err) != 0) {
		fprintf(stderr, "fuzz_schema: %s: %s\n", dir, err.text);
		abort();
	}
	dp = opendir(dir);
	if (dp == NULL)
		abort();
	while ((de = readdir(dp)) != NULL && n_names < 64) {
		size_t len = strlen(de->d_name), slen = strlen(SUFFIX);

		if (len > slen && len - slen < sizeof(names[0]) &&
		    strcmp(de->d_name + len - slen, SUFFIX) == 0)
			snprintf(names[n_names++], sizeof(names[0]), "%.*s",
				 (int)(len - slen), de->d_name);
	}
	closedir(dp);
	if (n_names == 0) {
		fprintf(stderr, "fuzz_schema: no *%s in %s\n", SUFFIX, dir);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	schema_failure f;
	sl_error err;
	json_t *doc;
	size_t i;
	int rc;

	if (set == NULL)
		load();
	if (size > MAX_INPUT)
		return 0;
	doc = json_loadb((const char *)data, size,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL)
		return 0;
	for (i = 0; i < n_names; i++) {
		rc = schema_validate_ex(set, names[i], doc, &f);
		if (rc != 0 && rc != SL_ESCHEMA) {
			fprintf(stderr, "fuzz_schema: %s: %s: %s\n", names[i],
				sl_strerror(rc), f.message);
			abort();
		}
		if (strlen(f.pointer) >= sizeof(f.pointer) ||
		    strlen(f.keyword) >= sizeof(f.keyword) ||
		    strlen(f.message) >= sizeof(f.message) ||
		    (rc == SL_ESCHEMA && f.keyword[0] == '\0') ||
		    (f.pointer[0] != '\0' && f.pointer[0] != '/'))
			abort();
		/* Both entry points must agree. */
		if (schema_validate(set, names[i], doc, &err) != rc)
			abort();
	}
	json_decref(doc);
	return 0;
}
