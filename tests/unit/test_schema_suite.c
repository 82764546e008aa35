/*
 * test_schema_suite.c - runs the official JSON Schema Test Suite (draft7,
 * top-level files only, not optional/) against common/schema.c.
 *
 *   test_schema_suite [TESTS_DIR [REMOTES_DIR]]
 *
 * Defaults to the Debian json-schema-test-suite package.  Prints one TAP
 * line per suite file and a summary line; exits 1 if any case that ran
 * gave the wrong verdict.  A group is skipped, not failed, only when its
 * schema uses a keyword we refuse on purpose (format, content*) or refers
 * to a remote we do not ship (the draft-07 metaschema).  The suite's
 * remotes are preloaded under http://localhost:1234/, as it expects.
 *
 * Unknown keywords are allowed here (schema_set_allow_unknown): the suite
 * keeps $ref targets under non-keyword names ("tilda~field",
 * subSchemas.json's "integer"); our own schemas never get that leniency.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "error.h"
#include "schema.h"

#define DEFAULT_TESTS	"/usr/share/json-schema-test-suite/tests/draft7"
#define DEFAULT_REMOTES "/usr/share/json-schema-test-suite/remotes"
#define REMOTE_BASE	"http://localhost:1234/"
#define SCHEMA_URI	"urn:x-shelterlink:suite-schema"

struct remote {
	char *uri;
	json_t *doc;
};

static struct remote remotes[64];
static size_t n_remotes;

/* Distinct skip reasons, in the order first met. */
static char reasons[8][64];
static size_t n_reasons;

static void add_reason(const char *r)
{
	size_t i;

	for (i = 0; i < n_reasons; i++)
		if (strcmp(reasons[i], r) == 0)
			return;
	if (n_reasons < sizeof(reasons) / sizeof(reasons[0]))
		snprintf(reasons[n_reasons++], sizeof(reasons[0]), "%s", r);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.json under dir (recursively) as REMOTE_BASE + rel. */
static int load_remotes(const char *dir, const char *rel)
{
	char path[4096], sub[4096];
	struct dirent *de;
	struct stat st;
	json_error_t jerr;
	DIR *dp = opendir(dir);

	if (dp == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(sub, sizeof(sub), "%s%s", rel, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			strncat(sub, "/", sizeof(sub) - strlen(sub) - 1);
			if (load_remotes(path, sub) != 0) {
				closedir(dp);
				return -1;
			}
			continue;
		}
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    n_remotes == sizeof(remotes) / sizeof(remotes[0]))
			continue;
		remotes[n_remotes].doc = json_load_file(path, 0, &jerr);
		if (remotes[n_remotes].doc == NULL) {
			fprintf(stderr, "%s: %s\n", path, jerr.text);
			continue;
		}
		remotes[n_remotes].uri =
			malloc(strlen(REMOTE_BASE) + strlen(sub) + 1);
		if (remotes[n_remotes].uri == NULL) {
			json_decref(remotes[n_remotes].doc);
			break;
		}
		strcpy(remotes[n_remotes].uri, REMOTE_BASE);
		strcat(remotes[n_remotes].uri, sub);
		n_remotes++;
	}
	closedir(dp);
	return 0;
}

struct counts {
	long ran, passed, failed, skipped;
};

/*
 * Builds the set for one group.  Returns the set, or NULL with *skip
 * set to a reason (counted as skipped) or *why to an error (failed).
 */
static schema_set *group_set(const json_t *schema, const char **skip,
			     sl_error *why)
{
	static char kw[64];
	schema_set *set = schema_set_new();
	const char *q;
	size_t i;
	int rc;

	*skip = NULL;
	if (set == NULL) {
		sl_error_set(why, SL_ENOMEM, "out of memory");
		return NULL;
	}
	schema_set_allow_unknown(set, 1);
	for (i = 0; i < n_remotes; i++) {
		rc = schema_set_add(set, remotes[i].doc, remotes[i].uri, why);
		if (rc != 0) {
			sl_error_prefix(why, "remote %s", remotes[i].uri);
			schema_set_free(set);
			return NULL;
		}
	}
	rc = schema_set_add(set, (json_t *)schema, SCHEMA_URI, why);
	if (rc == 0)
		rc = schema_set_resolve(set, why);
	if (rc == 0)
		return set;
	if (rc == SL_EUNSUPPORTED &&
	    (q = strstr(why->text, "unsupported keyword \"")) != NULL) {
		q += strlen("unsupported keyword \"");
		snprintf(kw, sizeof(kw), "%.*s", (int)strcspn(q, "\""), q);
		*skip = kw;
	} else if (rc == SL_EINVAL && strstr(why->text, "unresolved $ref") &&
		   strstr(why->text, "http://json-schema.org/")) {
		*skip = "remote metaschema";
	}
	schema_set_free(set);
	return NULL;
}

/* Runs one suite file; returns 0 when no case failed. */
static int run_file(const char *dir, const char *name, int tap_no,
		    struct counts *total)
{
	char path[4096], first[512] = "";
	struct counts c = {0, 0, 0, 0};
	const char *skip_reason = NULL;
	json_error_t jerr;
	json_t *groups, *group, *test;
	size_t gi, ti;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	groups = json_load_file(path, JSON_ALLOW_NUL, &jerr);
	if (groups == NULL || !json_is_array(groups)) {
		printf("not ok %d - draft7/%s: cannot read: %s\n", tap_no, name,
		       jerr.text);
		json_decref(groups);
		total->failed++;
		return 1;
	}
	json_array_foreach (groups, gi, group) {
		const char *gdesc = json_string_value(
			json_object_get(group, "description"));
		json_t *tests = json_object_get(group, "tests");
		const char *skip;
		sl_error why = {""};
		schema_set *set = group_set(json_object_get(group, "schema"),
					    &skip, &why);

		if (set == NULL && skip != NULL) {
			c.skipped += (long)json_array_size(tests);
			add_reason(skip);
			skip_reason = skip;
			printf("# skip %s: %s (%s)\n", name, gdesc, why.text);
			continue;
		}
		json_array_foreach (tests, ti, test) {
			const char *tdesc = json_string_value(
				json_object_get(test, "description"));
			int expect =
				json_is_true(json_object_get(test, "valid"));
			schema_failure f;
			int rc = -1, ok;

			c.ran++;
			if (set != NULL)
				rc = schema_validate_ex(
					set, SCHEMA_URI,
					json_object_get(test, "data"), &f);
			ok = (rc == 0 && expect) ||
			     (rc == SL_ESCHEMA && !expect);
			if (ok) {
				c.passed++;
				continue;
			}
			c.failed++;
			if (set == NULL)
				printf("# %s: %s/%s: schema did not load: %s\n",
				       name, gdesc, tdesc, why.text);
			else if (rc != 0 && rc != SL_ESCHEMA)
				printf("# %s: %s/%s: error %s: %s\n", name,
				       gdesc, tdesc, sl_strerror(rc),
				       f.message);
			else
				printf("# %s: %s/%s: expected %s%s%s%s%s\n",
				       name, gdesc, tdesc,
				       expect ? "valid" : "invalid",
				       rc ? ", got " : "", rc ? f.keyword : "",
				       rc ? ": " : "", rc ? f.message : "");
			if (first[0] == '\0')
				snprintf(first, sizeof(first),
					 "%s/%s expected %s", gdesc, tdesc,
					 expect ? "valid" : "invalid");
		}
		schema_set_free(set);
	}
	json_decref(groups);
	if (c.failed > 0)
		printf("not ok %d - draft7/%s: %s\n", tap_no, name, first);
	else if (c.skipped > 0)
		printf("ok %d - draft7/%s (%ld cases, %ld skipped: %s)\n",
		       tap_no, name, c.ran, c.skipped, skip_reason);
	else
		printf("ok %d - draft7/%s (%ld cases)\n", tap_no, name, c.ran);
	total->ran += c.ran;
	total->passed += c.passed;
	total->failed += c.failed;
	total->skipped += c.skipped;
	return c.failed > 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : DEFAULT_TESTS;
	char remotes_dir[4096], **names = NULL, **nn;
	struct counts total = {0, 0, 0, 0};
	size_t n = 0, i;
	struct dirent *de;
	DIR *dp;
	int bad = 0;

	if (argc > 2)
		snprintf(remotes_dir, sizeof(remotes_dir), "%s", argv[2]);
	else if (argc > 1)
		snprintf(remotes_dir, sizeof(remotes_dir), "%s/../../remotes",
			 dir);
	else
		snprintf(remotes_dir, sizeof(remotes_dir), "%s",
			 DEFAULT_REMOTES);
	if (load_remotes(remotes_dir, "") != 0)
		return 2;
	dp = opendir(dir);
	if (dp == NULL) {
		perror(dir);
		return 2;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (nn == NULL)
			return 2;
		names = nn;
		names[n] = strdup(de->d_name);
		if (names[n] == NULL)
			return 2;
		n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	printf("1..%zu\n", n);
	printf("# unknown keywords allowed: the suite keeps $ref targets under "
	       "non-keyword names\n");
	for (i = 0; i < n; i++) {
		bad |= run_file(dir, names[i], (int)i + 1, &total);
		free(names[i]);
	}
	free(names);
	for (i = 0; i < n_remotes; i++) {
		json_decref(remotes[i].doc);
		free(remotes[i].uri);
	}
	printf("# JSON Schema Test Suite draft7: %ld cases ran, %ld passed, "
	       "%ld failed, %ld skipped",
	       total.ran, total.passed, total.failed, total.skipped);
	if (n_reasons > 0) {
		printf(" (unsupported: ");
		for (i = 0; i < n_reasons; i++)
			printf("%s%s", i ? ", " : "", reasons[i]);
		printf(")");
	}
	printf("\n");
	return bad || total.failed > 0 ? 1 : 0;
}
