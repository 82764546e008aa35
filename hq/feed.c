/*
 * feed.c - the public feed: open shelters, how crowded, which kinds of
 * supplies they lack, and the data credits.  Built from picture.c's rows
 * by keeping only what the public may see (schemas/feed.schema.json):
 * no headcount by group, no notes, not even the exact total, since a
 * count of two in a small shelter can name a family.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"
#include "msg.h"

/* Occupancy bands; "unknown" when the registry gives no capacity. */
static const char *crowding(const json_t *row)
{
	const json_t *occ = json_object_get(row, "occupancy");
	if (!json_is_number(occ))
		return "unknown";
	double o = json_number_value(occ);
	return o < 0.5 ? "low" : o < 0.8 ? "moderate" : o < 1.0 ? "crowded" : "full";
}

/* A shelter the public should find: open, with people or opened by an
 * operator. */
static int is_public(const json_t *row)
{
	const char *status = json_string_value(json_object_get(row, "status"));
	if (strcmp(status, "closed") == 0 || strcmp(status, "not_opened") == 0)
		return 0;
	const char *op = json_string_value(json_object_get(row, "operator_state"));
	return json_integer_value(json_object_get(row, "total")) > 0 ||
	       (op && strcmp(op, "open") == 0);
}

/* Categories of each shelter's open needs, critical first, once each. */
static int add_categories(json_t *by_shelter, const json_t *needs)
{
	size_t i;
	const json_t *line;
	json_array_foreach (needs, i, line) {
		const char *id = json_string_value(json_object_get(line, "shelter_id"));
		const char *cat = json_string_value(json_object_get(line, "category"));
		if (cat == NULL)
			continue;
		json_t *list = json_object_get(by_shelter, id);
		if (list == NULL) {
			list = json_array();
			if (json_object_set_new(by_shelter, id, list) != 0)
				return SL_ENOMEM;
		}
		size_t k;
		const json_t *have;
		int seen = 0;
		json_array_foreach (list, k, have)
			seen |= strcmp(json_string_value(have), cat) == 0;
		if (!seen && json_array_append_new(list, json_string(cat)) != 0)
			return SL_ENOMEM;
	}
	return 0;
}

static json_t *public_row(const json_t *row, json_t *needs)
{
	json_t *o = json_pack("{s:O, s:O, s:s, s:o, s:O}", "shelter_id",
			      json_object_get(row, "shelter_id"), "name",
			      json_object_get(row, "name"), "crowding",
			      crowding(row), "needs",
			      needs ? json_incref(needs) : json_array(),
			      "updated", json_object_get(row, "last_report_time"));
	const json_t *lat = json_object_get(row, "lat");
	const json_t *lon = json_object_get(row, "lon");
	if (o && json_is_number(lat) && json_is_number(lon)) {
		json_object_set(o, "lat", (json_t *)lat);
		json_object_set(o, "lon", (json_t *)lon);
	}
	return o;
}

int feed_build(hq_store *st, const catalog *items, const char *municipality,
	       const char *credit, const struct picture_opts *o, json_t **out,
	       sl_error *err)
{
	json_t *rows = NULL, *needs = NULL, *by_shelter = json_object();
	char now[32];
	int rc;

	*out = NULL;
	if (by_shelter == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if ((rc = picture_shelters(st, o, &rows, err)) != 0 ||
	    (rc = picture_needs(st, items, 1, NULL, &needs, err)) != 0)
		goto out;
	if (add_categories(by_shelter, needs) != 0)
		goto nomem;
	msg_time(o->now, now);
	json_t *list = json_array();
	json_t *feed = json_pack("{s:i, s:s, s:s, s:s, s:[], s:o}", "v", 1,
				 "type", "feed", "municipality", municipality,
				 "time", now, "credits", "shelters", list);
	if (feed == NULL)
		goto nomem;
	if (credit && *credit &&
	    json_array_append_new(json_object_get(feed, "credits"),
				  json_string(credit)) != 0) {
		json_decref(feed);
		goto nomem;
	}
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row) {
		if (!is_public(row))
			continue;
		json_t *cats = json_object_get(
			by_shelter,
			json_string_value(json_object_get(row, "shelter_id")));
		json_t *p = public_row(row, cats);
		if (p == NULL || json_array_append_new(list, p) != 0) {
			json_decref(feed);
			goto nomem;
		}
	}
	*out = feed;
	goto out;
nomem:
	rc = sl_error_set(err, SL_ENOMEM, "out of memory");
out:
	json_decref(rows);
	json_decref(needs);
	json_decref(by_shelter);
	return rc;
}

int feed_write(const json_t *feed, const char *path, sl_error *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return sl_error_set(err, SL_EINVAL, "%s: path too long", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: cannot write", tmp);
	/* readers see the old feed or the new one, never half of one */
	int bad = json_dumpf(feed, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
					      JSON_REAL_PRECISION(12)) != 0;
	bad |= fputc('\n', f) == EOF;
	bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) {
		unlink(tmp);
		return sl_error_set(err, SL_EIO, "%s: cannot write the feed", path);
	}
	return 0;
}
