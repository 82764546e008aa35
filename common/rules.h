/*
 * rules.h - the message rules JSON Schema draft-07 cannot state
 * (docs/protocol.md, "Rules outside the schemas"): calendar-valid times,
 * headcount groups within the total, each item once per list, item codes
 * in the catalogue.  Run after schema validation, on trusted shapes.
 */
#ifndef SL_RULES_H
#define SL_RULES_H

#include <jansson.h>

#include "catalog.h"
#include "error.h"

/*
 * Returns 0, or SL_EINVAL with err->text "reason: JSON-pointer detail",
 * reason being the protocol's dead-letter token (bad_time, inconsistent,
 * duplicate_item, unknown_item).  `items` may be NULL to skip the
 * catalogue check.
 */
int rules_check(const json_t *msg, const catalog *items, sl_error *err);

/* 1 if an RFC 3339 text (already pattern-checked) names a real date. */
int rules_date_valid(const char *rfc3339);

#endif
