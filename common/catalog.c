/*
 * catalog.c - see catalog.h.  Items are kept sorted by code for bsearch;
 * their strings point into the loaded JSON document, which the catalogue
 * keeps alive.
 */
#include "catalog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct catalog {
	json_t *doc;
	struct catalog_item *items;
	size_t n;
};

static int by_code(const void *a, const void *b)
{
	return strcmp(((const struct catalog_item *)a)->code,
		      ((const struct catalog_item *)b)->code);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

catalog *catalog_load(const char *path, const schema_set *schemas,
		      sl_error *err)
{
	json_error_t jerr;
	catalog *cat = calloc(1, sizeof(*cat));
	if (cat == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	cat->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (cat->doc == NULL) {
		sl_error_set(err, SL_EINVAL, "%s:%d:%d: %s", path, jerr.line,
			     jerr.column, jerr.text);
		goto fail;
	}
	if (schema_validate(schemas, "items", cat->doc, err) != 0) {
		sl_error_prefix(err, "%s", path);
		goto fail;
	}
	const json_t *items = json_object_get(cat->doc, "items");
	cat->n = json_array_size(items);
	cat->items = calloc(cat->n ? cat->n : 1, sizeof(*cat->items));
	if (cat->items == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cat->n; i++) {
		const json_t *it = json_array_get(items, i);
		cat->items[i] = (struct catalog_item){
			.code = str(it, "code"),
			.name_ja = str(it, "name_ja"),
			.name_en = str(it, "name_en"),
			.unit = str(it, "unit"),
			.category = str(it, "category"),
			.unit_weight_kg = json_number_value(
				json_object_get(it, "unit_weight_kg")),
			.unit_volume_l = json_number_value(
				json_object_get(it, "unit_volume_l")),
			.push_basic8 = json_is_true(json_object_get(it, "push_basic8")),
		};
	}
	qsort(cat->items, cat->n, sizeof(*cat->items), by_code);
	for (size_t i = 1; i < cat->n; i++) {
		if (strcmp(cat->items[i - 1].code, cat->items[i].code) == 0) {
			sl_error_set(err, SL_EINVAL,
				     "%s: item code '%s' appears twice", path,
				     cat->items[i].code);
			goto fail;
		}
	}
	return cat;
fail:
	catalog_free(cat);
	return NULL;
}

void catalog_free(catalog *cat)
{
	if (cat == NULL)
		return;
	free(cat->items);
	json_decref(cat->doc);
	free(cat);
}

const struct catalog_item *catalog_find(const catalog *cat, const char *code)
{
	struct catalog_item key = { .code = code };
	return bsearch(&key, cat->items, cat->n, sizeof(*cat->items), by_code);
}

size_t catalog_count(const catalog *cat)
{
	return cat->n;
}

const struct catalog_item *catalog_at(const catalog *cat, size_t i)
{
	return i < cat->n ? &cat->items[i] : NULL;
}
