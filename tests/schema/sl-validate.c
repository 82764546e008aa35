/*
 * sl-validate.c - validates example documents with common/schema.c, for
 * the ajv differential test (tests/schema/differential.sh).
 *
 *   sl-validate SCHEMA_DIR FILE...
 *
 * Each FILE sits at .../<schema>/{valid,invalid}/<name>.json and is
 * checked against the schema whose short name is <schema>.  Prints one
 * line per file: "<FILE> valid" or "<FILE> invalid <pointer> <keyword>"
 * ("(root)" for the whole document; "(decode) json" when the file is not
 * JSON or repeats a key, as the edge decoder rejects it too).
 * Exits 0 whatever the verdicts; 2 on a usage or I/O error, or when the
 * schemas do not load.  Not a general CLI: it only knows that layout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "schema.h"

/* Copies the <schema> of ".../<schema>/<valid|invalid>/<name>.json". */
static int schema_name(const char *file, char *out, size_t size)
{
	const char *end = strrchr(file, '/'), *start;
	size_t len;

	if (end == NULL)
		return -1;
	/* step over "/valid" or "/invalid" */
	while (end > file && end[-1] != '/')
		end--;
	if (end == file)
		return -1;
	end--;
	start = end;
	while (start > file && start[-1] != '/')
		start--;
	len = (size_t)(end - start);
	if (len == 0 || len >= size)
		return -1;
	memcpy(out, start, len);
	out[len] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	schema_set *set;
	schema_failure f;
	json_error_t jerr;
	sl_error err = {""};
	char name[256];
	json_t *doc;
	int i, rc, status = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sl-validate SCHEMA_DIR FILE...\n");
		return 2;
	}
	set = schema_set_new();
	if (set == NULL) {
		fprintf(stderr, "sl-validate: out of memory\n");
		return 2;
	}
	rc = schema_set_load_dir(set, argv[1], &err);
	if (rc == 0)
		rc = schema_set_resolve(set, &err);
	if (rc != 0) {
		fprintf(stderr, "sl-validate: %s\n", err.text);
		schema_set_free(set);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (schema_name(argv[i], name, sizeof(name)) != 0) {
			fprintf(stderr,
				"sl-validate: %s: not at "
				"<schema>/<valid|invalid>/<name>.json\n",
				argv[i]);
			status = 2;
			continue;
		}
		memset(&jerr, 0, sizeof(jerr));
		doc = json_load_file(argv[i], JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL) {
			if (json_error_code(&jerr) ==
			    json_error_cannot_open_file) {
				fprintf(stderr, "sl-validate: %s\n", jerr.text);
				status = 2;
				continue;
			}
			printf("%s invalid (decode) json\n", argv[i]);
			fprintf(stderr, "sl-validate: %s:%d:%d: %s\n", argv[i],
				jerr.line, jerr.column, jerr.text);
			continue;
		}
		rc = schema_validate_ex(set, name, doc, &f);
		json_decref(doc);
		if (rc == 0) {
			printf("%s valid\n", argv[i]);
		} else if (rc == SL_ESCHEMA) {
			printf("%s invalid %s %s\n", argv[i],
			       f.pointer[0] ? f.pointer : "(root)", f.keyword);
		} else {
			fprintf(stderr, "sl-validate: %s: %s: %s\n", argv[i],
				sl_strerror(rc), f.message);
			status = 2;
		}
	}
	schema_set_free(set);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "sl-validate: stdout: %s\n", strerror(errno));
		status = 2;
	}
	return status;
}
