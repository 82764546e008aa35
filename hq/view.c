/*
 * view.c - renders picture.c's JSON rows for operators: an aligned
 * table for the terminal, CSV for Excel (UTF-8 with a BOM, or Japanese
 * Excel shows mojibake), JSON, and GeoJSON for GIS staff.
 */
#include <string.h>

#include "hq.h"

int view_format_parse(const char *name, enum view_format *out)
{
	static const char *const names[] = { [VIEW_TABLE] = "table",
					     [VIEW_CSV] = "csv",
					     [VIEW_JSON] = "json",
					     [VIEW_GEOJSON] = "geojson" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum view_format)i;
			return 0;
		}
	}
	return SL_EINVAL;
}

/* "groups.elderly" reaches into a nested object. */
static const json_t *lookup(const json_t *row, const char *key)
{
	const char *dot = strchr(key, '.');
	if (dot == NULL)
		return json_object_get(row, key);
	char outer[64];
	snprintf(outer, sizeof(outer), "%.*s", (int)(dot - key), key);
	return json_object_get(json_object_get(row, outer), dot + 1);
}

/* Up to six decimals (a coordinate to 0.1 m), trailing zeros dropped. */
static void real_text(double v, char *buf, size_t size)
{
	snprintf(buf, size, "%.6f", v);
	char *dot = strchr(buf, '.');
	if (dot == NULL)
		return;
	char *end = buf + strlen(buf) - 1;
	while (end > dot && *end == '0')
		*end-- = '\0';
	if (end == dot)
		*end = '\0';
}

/* A cell's text: "" for null or missing. */
static void cell_text(const json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		real_text(json_real_value(v), buf, size);
	else if (json_is_true(v))
		snprintf(buf, size, "yes");
	else if (json_is_false(v))
		snprintf(buf, size, "no");
	else
		buf[0] = '\0';
}

static void render_table(const json_t *rows, const struct view_column *cols,
			 size_t ncols, FILE *out)
{
	char text[1024];
	size_t i;
	const json_t *row;

	for (size_t c = 0; c < ncols; c++)
		fprintf(out, "%-*s%s", cols[c].width, cols[c].header,
			c + 1 < ncols ? " " : "\n");
	json_array_foreach (rows, i, row) {
		for (size_t c = 0; c < ncols; c++) {
			cell_text(lookup(row, cols[c].key), text, sizeof(text));
			fprintf(out, "%-*s%s", cols[c].width,
				text[0] ? text : "-", c + 1 < ncols ? " " : "\n");
		}
	}
}

static void csv_field(const char *s, FILE *out)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void render_csv(const json_t *rows, const struct view_column *cols,
		       size_t ncols, FILE *out)
{
	char text[4096];
	size_t i;
	const json_t *row;

	fputs("\xEF\xBB\xBF", out);
	for (size_t c = 0; c < ncols; c++) {
		csv_field(cols[c].key, out);
		fputs(c + 1 < ncols ? "," : "\r\n", out);
	}
	json_array_foreach (rows, i, row) {
		for (size_t c = 0; c < ncols; c++) {
			cell_text(lookup(row, cols[c].key), text, sizeof(text));
			csv_field(text, out);
			fputs(c + 1 < ncols ? "," : "\r\n", out);
		}
	}
}

json_t *view_geojson(const json_t *rows, const char *credit)
{
	json_t *features = json_array();
	size_t i;
	const json_t *row;

	json_array_foreach (rows, i, row) {
		const json_t *lat = json_object_get(row, "lat");
		const json_t *lon = json_object_get(row, "lon");
		json_t *props = json_deep_copy(row);
		json_t *geometry =
			json_is_number(lat) && json_is_number(lon)
				? json_pack("{s:s, s:[f, f]}", "type", "Point", "coordinates",
					    json_number_value(lon),
					    json_number_value(lat))
				: json_null();
		if (props) {
			json_object_del(props, "lat");
			json_object_del(props, "lon");
		}
		json_t *f = json_pack("{s:s, s:o, s:o}", "type", "Feature",
				      "geometry", geometry, "properties", props);
		if (f == NULL || json_array_append_new(features, f) != 0) {
			json_decref(features);
			return NULL;
		}
	}
	json_t *fc = json_pack("{s:s, s:o}", "type", "FeatureCollection",
			       "features", features);
	if (fc && credit)
		json_object_set_new(fc, "attribution", json_string(credit));
	return fc;
}

static int dump(const json_t *doc, FILE *out, sl_error *err)
{
	if (doc == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if (json_dumpf(doc, out,
		       JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(12)) != 0 ||
	    fputc('\n', out) == EOF)
		return sl_error_set(err, SL_EIO, "cannot write output");
	return 0;
}

int view_render(const json_t *rows, const struct view_column *cols,
		size_t ncols, enum view_format fmt, FILE *out, sl_error *err)
{
	switch (fmt) {
	case VIEW_TABLE:
		render_table(rows, cols, ncols, out);
		break;
	case VIEW_CSV:
		render_csv(rows, cols, ncols, out);
		break;
	case VIEW_JSON:
		return dump(rows, out, err);
	case VIEW_GEOJSON: {
		json_t *fc = view_geojson(rows, NULL);
		int rc = dump(fc, out, err);
		json_decref(fc);
		return rc;
	}
	}
	return ferror(out) ? sl_error_set(err, SL_EIO, "cannot write output") : 0;
}

static const struct view_column shelter_cols[] = {
	{ "shelter_id", "SHELTER", 14 },
	{ "status", "STATUS", 10 },
	{ "total", "TOTAL", 6 },
	{ "capacity", "CAPACITY", 8 },
	{ "occupancy", "OCC", 5 },
	{ "groups.elderly", "ELDERLY", 7 },
	{ "groups.infants", "INFANTS", 7 },
	{ "groups.care", "CARE", 5 },
	{ "last_report_age_s", "AGE_S", 8 },
	{ "open_needs", "NEEDS", 5 },
	{ "critical_needs", "CRIT", 4 },
	{ "registered", "LISTED", 6 },
	{ "name", "NAME", 0 },
};

/* The CSV and the table share the first columns; CSV carries them all. */
static const struct view_column shelter_csv_cols[] = {
	{ "shelter_id", "", 0 },	{ "name", "", 0 },
	{ "municipality", "", 0 },	{ "district", "", 0 },
	{ "registered", "", 0 },	{ "status", "", 0 },
	{ "connection", "", 0 },	{ "operator_state", "", 0 },
	{ "total", "", 0 },		{ "groups.infants", "", 0 },
	{ "groups.children", "", 0 },	{ "groups.elderly", "", 0 },
	{ "groups.care", "", 0 },	{ "groups.pregnant", "", 0 },
	{ "groups.disabled", "", 0 },	{ "groups.medical", "", 0 },
	{ "groups.foreign", "", 0 },	{ "groups.pets", "", 0 },
	{ "capacity", "", 0 },		{ "capacity_outdoor", "", 0 },
	{ "occupancy", "", 0 },		{ "last_report_time", "", 0 },
	{ "last_report_age_s", "", 0 }, { "last_seen", "", 0 },
	{ "open_needs", "", 0 },	{ "critical_needs", "", 0 },
	{ "lat", "", 0 },		{ "lon", "", 0 },
	{ "position_source", "", 0 },
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

int view_shelters(hq_store *st, const struct picture_opts *o,
		  enum view_format fmt, FILE *out, sl_error *err)
{
	json_t *rows;
	int rc = picture_shelters(st, o, &rows, err);
	if (rc != 0)
		return rc;
	if (fmt == VIEW_CSV)
		rc = view_render(rows, shelter_csv_cols, NCOLS(shelter_csv_cols),
				 fmt, out, err);
	else
		rc = view_render(rows, shelter_cols, NCOLS(shelter_cols), fmt,
				 out, err);
	if (rc == 0 && fmt == VIEW_TABLE) {
		long long people = 0, open = 0;
		size_t i;
		json_t *row;
		json_array_foreach (rows, i, row) {
			people += json_integer_value(json_object_get(row, "total"));
			open += json_integer_value(json_object_get(row, "total")) > 0;
		}
		fprintf(out, "%zu shelters, %lld with people, %lld people\n",
			json_array_size(rows), open, people);
	}
	json_decref(rows);
	return rc;
}

static const struct view_column history_cols[] = {
	{ "seq", "SEQ", 6 },	       { "time", "TIME", 25 },
	{ "total", "TOTAL", 6 },       { "elderly", "ELDERLY", 7 },
	{ "infants", "INFANTS", 7 },   { "care", "CARE", 5 },
	{ "historical", "LATE", 4 },   { "received_at", "RECEIVED", 0 },
};

static const struct view_column need_line_cols[] = {
	{ "item", "ITEM", 20 },
	{ "qty", "QTY", 8 },
	{ "urgency", "URGENCY", 0 },
};

static void print_field(FILE *out, const char *label, const json_t *v)
{
	char text[1024];
	cell_text(v, text, sizeof(text));
	fprintf(out, "%-18s %s\n", label, text[0] ? text : "-");
}

static void shelter_text(const json_t *s, FILE *out)
{
	static const char *const keys[] = {
		"shelter_id", "name", "status", "connection", "operator_state",
		"registered", "district", "total", "capacity", "occupancy",
		"last_report_time", "last_report_age_s", "last_seen", "lat",
		"lon", "position_source", "acked_seq", "reports"
	};
	for (size_t i = 0; i < NCOLS(keys); i++)
		print_field(out, keys[i], json_object_get(s, keys[i]));
	fputs("\nheadcount history:\n", out);
	render_table(json_object_get(s, "history"), history_cols,
		     NCOLS(history_cols), out);
	fputs("\nopen needs (newest report):\n", out);
	render_table(json_object_get(s, "needs"), need_line_cols,
		     NCOLS(need_line_cols), out);
	fprintf(out, "\nrejected messages: %zu (see --format json)\n",
		json_array_size(json_object_get(s, "rejected_messages")));
}

int view_shelter(hq_store *st, const char *id, const struct picture_opts *o,
		 enum view_format fmt, FILE *out, sl_error *err)
{
	json_t *s;
	int rc = picture_shelter(st, id, o, &s, err);
	if (rc != 0)
		return rc;
	switch (fmt) {
	case VIEW_TABLE:
		shelter_text(s, out);
		break;
	case VIEW_CSV: /* the history is the part that is a table */
		render_csv(json_object_get(s, "history"), history_cols,
			   NCOLS(history_cols), out);
		break;
	case VIEW_JSON:
		rc = dump(s, out, err);
		break;
	case VIEW_GEOJSON: {
		json_t *one = json_pack("[O]", s);
		json_t *fc = one ? view_geojson(one, NULL) : NULL;
		rc = dump(fc, out, err);
		json_decref(fc);
		json_decref(one);
		break;
	}
	}
	json_decref(s);
	return rc;
}

static const struct view_column needs_item_cols[] = {
	{ "item", "ITEM", 20 },		{ "qty", "QTY", 8 },
	{ "critical", "CRITICAL", 8 },	{ "high", "HIGH", 8 },
	{ "normal", "NORMAL", 8 },	{ "shelters", "SHELTERS", 8 },
	{ "unit", "UNIT", 8 },		{ "item_name", "NAME", 0 },
};

static const struct view_column needs_shelter_cols[] = {
	{ "shelter_id", "SHELTER", 14 }, { "item", "ITEM", 20 },
	{ "qty", "QTY", 8 },		 { "urgency", "URGENCY", 9 },
	{ "unit", "UNIT", 8 },		 { "name", "SHELTER_NAME", 0 },
};

int view_needs(hq_store *st, const catalog *items, int by_shelter,
	       const char *urgency, enum view_format fmt, FILE *out,
	       sl_error *err)
{
	json_t *rows;
	if (fmt == VIEW_GEOJSON)
		return sl_error_set(err, SL_EINVAL,
				    "needs have no position: use table, csv "
				    "or json (hq shelters --format geojson "
				    "maps shelters)");
	int rc = picture_needs(st, items, by_shelter, urgency, &rows, err);
	if (rc != 0)
		return rc;
	rc = by_shelter ? view_render(rows, needs_shelter_cols,
				      NCOLS(needs_shelter_cols), fmt, out, err)
			: view_render(rows, needs_item_cols,
				      NCOLS(needs_item_cols), fmt, out, err);
	json_decref(rows);
	return rc;
}
