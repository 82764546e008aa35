/*
 * rules.c - see rules.h.
 */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rules_date_valid(const char *t)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	if (sscanf(t, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= days[m - 1] + (m == 2 && leap);
}

static int check_time(const json_t *obj, const char *key, const char *where,
		      sl_error *err)
{
	const char *t = json_string_value(json_object_get(obj, key));
	if (t && !rules_date_valid(t))
		return sl_error_set(err, SL_EINVAL,
				    "bad_time: %s/%s: '%s' is not a real date",
				    where, key, t);
	return 0;
}

/* Groups overlap, so only each one against the total; pets aren't people. */
static int check_headcount(const json_t *msg, sl_error *err)
{
	static const char *const groups[] = { "infants", "children", "elderly",
					      "care",    "pregnant", "disabled",
					      "medical", "foreign" };
	const json_t *hc = json_object_get(msg, "headcount");
	if (hc == NULL)
		return 0;
	json_int_t total = json_integer_value(json_object_get(hc, "total"));
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		const json_t *v = json_object_get(hc, groups[i]);
		if (v && json_integer_value(v) > total)
			return sl_error_set(err, SL_EINVAL,
					    "inconsistent: /headcount/%s: %lld is "
					    "more than the total %lld",
					    groups[i], (long long)json_integer_value(v),
					    (long long)total);
	}
	return 0;
}

static int check_items(const json_t *msg, const char *list,
		       const catalog *items, sl_error *err)
{
	const json_t *arr = json_object_get(msg, list);
	size_t n = json_array_size(arr);
	for (size_t i = 0; i < n; i++) {
		const char *code = json_string_value(
			json_object_get(json_array_get(arr, i), "item"));
		if (code == NULL)
			continue;
		if (items && catalog_find(items, code) == NULL)
			return sl_error_set(err, SL_EINVAL,
					    "unknown_item: /%s/%zu/item: '%s' is "
					    "not in the item catalogue",
					    list, i, code);
		for (size_t j = 0; j < i; j++) {
			const char *prev = json_string_value(json_object_get(
				json_array_get(arr, j), "item"));
			if (prev && strcmp(prev, code) == 0)
				return sl_error_set(err, SL_EINVAL,
						    "duplicate_item: /%s/%zu/item: "
						    "'%s' already at /%s/%zu",
						    list, i, code, list, j);
		}
	}
	return 0;
}

int rules_check(const json_t *msg, const catalog *items, sl_error *err)
{
	int rc;
	if ((rc = check_time(msg, "time", "", err)) ||
	    (rc = check_time(msg, "eta", "", err)) ||
	    (rc = check_time(json_object_get(msg, "position"), "fix_time",
			     "/position", err)) ||
	    (rc = check_headcount(msg, err)) ||
	    (rc = check_items(msg, "needs", items, err)) ||
	    (rc = check_items(msg, "stock", items, err)) ||
	    (rc = check_items(msg, "lines", items, err)))
		return rc;
	return 0;
}
