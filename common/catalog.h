/*
 * catalog.h - the item catalogue (data/items.json): stable item codes
 * with names, units, unit weight and volume.  Loaded once, validated
 * against schemas/items.schema.json, read-only afterwards (safe to share
 * between threads).
 */
#ifndef SL_CATALOG_H
#define SL_CATALOG_H

#include <stddef.h>

#include "error.h"
#include "schema.h"

struct catalog_item {
	const char *code, *name_ja, *name_en, *unit, *category;
	double unit_weight_kg, unit_volume_l;
	int push_basic8;
};

typedef struct catalog catalog;

/*
 * Loads and validates the catalogue; codes must be unique.  Returns NULL
 * with err naming the file and the rule.  The caller owns the result.
 */
catalog *catalog_load(const char *path, const schema_set *schemas,
		      sl_error *err);
void catalog_free(catalog *cat);

/* NULL when the code is unknown.  Valid while the catalogue lives. */
const struct catalog_item *catalog_find(const catalog *cat, const char *code);
size_t catalog_count(const catalog *cat);
const struct catalog_item *catalog_at(const catalog *cat, size_t i);

#endif
