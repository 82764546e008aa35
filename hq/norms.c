/*
 * norms.c - the needs norms HQ estimates from (data/norms.json): how
 * much of an item one member of a headcount group needs per day, or
 * holds for the stay, with the source of each figure.  Loads and checks
 * the file, shows it (`hq norms`) and changes one norm (`hq norms set`)
 * by replacing the whole file atomically, so a reader (an `hq estimate`
 * running meanwhile) sees the old norms or the new ones, never half.
 * Not here: applying the norms to headcounts (estimate.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"

struct norms {
	json_t *doc; /* the strings of norm[] point into it */
	struct norm *norm;
	size_t n;
};

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* What the schema cannot say: items in the catalogue, pairs unique. */
static int check_rules(const json_t *doc, const catalog *items,
		       const char *path, sl_error *err)
{
	const json_t *list = json_object_get(doc, "norms");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *a = json_array_get(list, i);
		if (catalog_find(items, str(a, "item")) == NULL)
			return sl_error_set(err, SL_EINVAL,
					    "%s: /norms/%zu/item: '%s' is not in "
					    "the item catalogue",
					    path, i, str(a, "item"));
		for (size_t j = 0; j < i; j++) {
			const json_t *b = json_array_get(list, j);
			if (strcmp(str(a, "item"), str(b, "item")) == 0 &&
			    strcmp(str(a, "group"), str(b, "group")) == 0)
				return sl_error_set(
					err, SL_EINVAL,
					"%s: /norms/%zu: item '%s' for group "
					"'%s' appears twice (also /norms/%zu)",
					path, i, str(a, "item"), str(a, "group"), j);
		}
	}
	return 0;
}

static int check_doc(const json_t *doc, const schema_set *schemas,
		     const catalog *items, const char *path, sl_error *err)
{
	int rc = schema_validate(schemas, "norms", doc, err);
	if (rc != 0) {
		sl_error_prefix(err, "%s", path);
		return rc;
	}
	return check_rules(doc, items, path, err);
}

static int load_doc(const char *path, json_t **doc, sl_error *err)
{
	json_error_t jerr;
	errno = 0;
	*doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (*doc == NULL)
		return sl_error_set(err, errno == ENOENT ? SL_EIO : SL_EINVAL,
				    "%s:%d:%d: %s", path, jerr.line,
				    jerr.column, jerr.text);
	return 0;
}

struct norms *norms_load(const char *path, const schema_set *schemas,
			 const catalog *items, sl_error *err)
{
	struct norms *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (load_doc(path, &n->doc, err) != 0 ||
	    check_doc(n->doc, schemas, items, path, err) != 0)
		goto fail;
	const json_t *list = json_object_get(n->doc, "norms");
	n->n = json_array_size(list);
	n->norm = calloc(n->n ? n->n : 1, sizeof(*n->norm));
	if (n->norm == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n->n; i++) {
		const json_t *o = json_array_get(list, i);
		n->norm[i] = (struct norm){
			.item = str(o, "item"),
			.group = str(o, "group"),
			.qty = json_number_value(json_object_get(o, "qty")),
			.per = strcmp(str(o, "per"), "stay") == 0 ? NORM_PER_STAY
								  : NORM_PER_DAY,
			.source = str(o, "source"),
			.note = str(o, "note"),
		};
	}
	return n;
fail:
	norms_free(n);
	return NULL;
}

void norms_free(struct norms *n)
{
	if (n == NULL)
		return;
	free(n->norm);
	json_decref(n->doc);
	free(n);
}

size_t norms_count(const struct norms *n)
{
	return n->n;
}

const struct norm *norms_at(const struct norms *n, size_t i)
{
	return i < n->n ? &n->norm[i] : NULL;
}

/* The file's norm object for (item, group), created at the end if new;
 * NULL when out of memory or when the file has no norms array. */
static json_t *norm_slot(json_t *doc, const char *item, const char *group)
{
	json_t *list = json_object_get(doc, "norms");
	size_t i;
	json_t *o;
	if (!json_is_array(list))
		return NULL;
	json_array_foreach (list, i, o) {
		const char *it = str(o, "item"), *gr = str(o, "group");
		if (it && gr && strcmp(it, item) == 0 && strcmp(gr, group) == 0)
			return o;
	}
	o = json_object();
	if (o == NULL || json_array_append_new(list, o) != 0)
		return NULL;
	return o;
}

/* 2, not 2.0, in the file people read; the range is the schema's. */
static json_t *qty_value(double qty)
{
	if (qty == floor(qty) && fabs(qty) < 1e15)
		return json_integer((json_int_t)qty);
	return json_real(qty);
}

/*
 * Serialises changes: each is a read-modify-write through one temporary
 * name (feed_write's PATH.tmp), so two at once could lose a change or
 * rename the other's half-written file.  Returns the descriptor holding
 * the lock (close releases it) or -1 with err set.
 */
static int lock_norms(const char *path, sl_error *err)
{
	char lock[4096];
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		sl_error_set(err, SL_EINVAL, "%s: path too long", path);
		return -1;
	}
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fd < 0 || fcntl(fd, F_SETLKW, &fl) != 0) {
		sl_error_set(err, SL_EIO, "%s: cannot lock (%s)", lock,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sets key to text (nothing when text is NULL); text from a command line
 * may not be UTF-8, which a JSON file cannot hold. */
static int set_text(json_t *o, const char *key, const char *text,
		    sl_error *err)
{
	if (text == NULL)
		return 0;
	json_t *v = json_string(text);
	if (v == NULL)
		return sl_error_set(err, SL_EINVAL, "%s: not UTF-8 text", key);
	return json_object_set_new(o, key, v) == 0
		       ? 0
		       : sl_error_set(err, SL_ENOMEM, "out of memory");
}

int norms_set(const char *path, const schema_set *schemas,
	      const catalog *items, const struct norm *change, sl_error *err)
{
	json_t *doc;
	int lock = lock_norms(path, err);
	if (lock < 0)
		return SL_EIO;
	int rc = load_doc(path, &doc, err);
	if (rc != 0) {
		close(lock);
		return rc;
	}
	json_t *o = norm_slot(doc, change->item, change->group);
	if (o == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	/* the member order of a new norm is the file's usual one */
	if (rc == 0 && (rc = set_text(o, "item", change->item, err)) == 0 &&
	    (rc = set_text(o, "group", change->group, err)) == 0 &&
	    json_object_set_new(o, "qty", qty_value(change->qty)) != 0)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0 &&
	    (rc = set_text(o, "per", change->per == NORM_PER_STAY ? "stay" : "day",
			   err)) == 0 &&
	    (rc = set_text(o, "source", change->source, err)) == 0) {
		json_object_del(o, "note");
		rc = set_text(o, "note", change->note, err);
	}
	if (rc == 0)
		rc = check_doc(doc, schemas, items, path, err);
	/* feed_write is the one atomic JSON writer: temp, fsync, rename */
	if (rc == 0 && (rc = feed_write(doc, path, err)) != 0)
		sl_error_set(err, rc, "%s: cannot replace the file (%s); it is "
				      "unchanged",
			     path, strerror(errno));
	json_decref(doc);
	close(lock);
	return rc;
}

/* The schemas of cfg, resolved; NULL with err set. */
static schema_set *load_schemas(const struct hq_config *cfg, sl_error *err)
{
	return schema_set_open(cfg->common.schemas, err);
}

struct norms *hq_load_norms(const struct hq_config *cfg,
			    const catalog *items, sl_error *err)
{
	schema_set *set = load_schemas(cfg, err);
	struct norms *n = set ? norms_load(cfg->norms_file, set, items, err)
			      : NULL;
	schema_set_free(set);
	return n;
}

/* ---- the command line ---- */

static const struct view_column norm_cols[] = {
	{ "item", "ITEM", 16 }, { "group", "GROUP", 8 }, { "qty", "QTY", 6 },
	{ "per", "PER", 4 },	{ "unit", "UNIT", 12 },	 { "source", "SOURCE", 0 },
};

/* The file's norms with each item's catalogue unit. */
static int norm_rows(const struct norms *n, const catalog *items,
		     json_t **out, sl_error *err)
{
	json_t *rows = json_deep_copy(json_object_get(n->doc, "norms"));
	size_t i;
	json_t *row;
	*out = NULL;
	if (rows == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_array_foreach (rows, i, row) {
		const struct catalog_item *it = catalog_find(items, str(row, "item"));
		if (json_object_set_new(row, "unit", json_string(it->unit))) {
			json_decref(rows);
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		}
	}
	*out = rows;
	return 0;
}

static int show_norms(const struct hq_config *cfg, const catalog *items,
		      enum view_format fmt, sl_error *err)
{
	json_t *rows;
	struct norms *n = hq_load_norms(cfg, items, err);
	int rc = n ? norm_rows(n, items, &rows, err) : SL_EINVAL;
	if (rc == 0) {
		rc = view_render(rows, norm_cols,
				 sizeof(norm_cols) / sizeof(norm_cols[0]), fmt,
				 stdout, err);
		json_decref(rows);
	}
	norms_free(n);
	return rc;
}

/* A decimal number, all of text: no "1.5x", "", "nan" or "inf"; the
 * schema checks the range. */
static int parse_qty(const char *text, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0' && isfinite(*out)
		       ? 0
		       : SL_EINVAL;
}

/* per NULL: the norm keeps its per (a new one is per day). */
static int set_norm(const struct hq_config *cfg, const catalog *items,
		    struct norm *c, const char *per, sl_error *err)
{
	struct norms *now = NULL;
	schema_set *set = load_schemas(cfg, err);
	int rc = set ? 0 : SL_EINVAL;
	if (rc == 0 && per == NULL &&
	    (now = norms_load(cfg->norms_file, set, items, err)) == NULL)
		rc = SL_EINVAL;
	c->per = per && strcmp(per, "stay") == 0 ? NORM_PER_STAY : NORM_PER_DAY;
	for (size_t i = 0; now && i < now->n; i++)
		if (strcmp(now->norm[i].item, c->item) == 0 &&
		    strcmp(now->norm[i].group, c->group) == 0)
			c->per = now->norm[i].per;
	if (rc == 0 && (rc = norms_set(cfg->norms_file, set, items, c, err)) == 0)
		printf("%s for %s: %g per %s (%s)\n", c->item, c->group, c->qty,
		       c->per == NORM_PER_STAY ? "stay" : "day", c->source);
	norms_free(now);
	schema_set_free(set);
	return rc;
}

static int usage_error(const char *text)
{
	fprintf(stderr, "hq norms: %s (use hq norms [--format table|csv|json]"
			" or hq norms set ITEM GROUP QTY --source TEXT"
			" [--per day|stay] [--note TEXT])\n",
		text);
	return 2;
}

/* The value slot of a command's option, NULL for an unknown one. */
static const char **option_slot(int setting, const char *flag,
				const char **format, struct norm *c,
				const char **per)
{
	if (!setting)
		return strcmp(flag, "--format") == 0 ? format : NULL;
	if (strcmp(flag, "--source") == 0)
		return &c->source;
	if (strcmp(flag, "--note") == 0)
		return &c->note;
	return strcmp(flag, "--per") == 0 ? per : NULL;
}

int norms_main(const struct hq_config *cfg, int argc, char **argv)
{
	int setting = argc > 1 && strcmp(argv[1], "set") == 0;
	int first = setting ? 5 : 1;
	const char *format = "table", *per = NULL;
	struct norm c = { 0 };
	enum view_format fmt;
	sl_error err = { "" };
	int rc;

	if (argc < first)
		return usage_error("set takes ITEM GROUP QTY");
	for (int i = first; i < argc; i += 2) {
		const char **slot =
			option_slot(setting, argv[i], &format, &c, &per);
		if (slot == NULL || i + 1 >= argc) {
			fprintf(stderr, "hq norms: unknown or incomplete "
					"option '%s'\n",
				argv[i]);
			return usage_error("see hq -h");
		}
		*slot = argv[i + 1];
	}
	if (view_format_parse(format, &fmt) != 0 || fmt == VIEW_GEOJSON)
		return usage_error("--format is table, csv or json");
	if (per && strcmp(per, "day") != 0 && strcmp(per, "stay") != 0)
		return usage_error("--per is day or stay");
	if (setting && parse_qty(argv[4], &c.qty) != 0)
		return usage_error("QTY is a decimal number, such as 1.5");
	if (setting && c.source == NULL)
		return usage_error("--source TEXT is required: Sphere, a Cabinet "
				   "Office guideline, or assumption");
	catalog *items = hq_load_items(cfg, &err);
	if (items == NULL) {
		rc = SL_EINVAL;
	} else if (setting) {
		c.item = argv[2];
		c.group = argv[3];
		rc = set_norm(cfg, items, &c, per, &err);
	} else {
		rc = show_norms(cfg, items, fmt, &err);
	}
	catalog_free(items);
	if (rc != 0) {
		fprintf(stderr, "hq norms: %s%s\n", err.text,
			setting ? " (norms file unchanged)" : "");
		return 1;
	}
	return 0;
}
