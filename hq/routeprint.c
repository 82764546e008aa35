/*
 * routeprint.c - turns a route plan (route.c) into sheets for the people
 * who load and drive the trucks: a pick list per trip (what to load, the
 * last stop's goods first, so they come off the truck last-in first-out)
 * and a stop list (where to go, in order, and what to unload there).
 * CSV goes through view_render (UTF-8 with a BOM, CRLF, for Excel); the
 * HTML page is plain, prints a page per trip and needs no network.
 * It does not plan anything and never changes the plan.
 */
#include <math.h>
#include <string.h>

#include "hq.h"

static const struct view_column pick_cols[] = {
	{"vehicle", "車両 Vehicle", 0},
	{"trip", "便 Trip", 0},
	{"load_order", "積込順 Load", 0},
	{"stop", "配送順 Stop", 0},
	{"shelter_id", "避難所ID Shelter", 0},
	{"shelter_name", "避難所名 Name", 0},
	{"item", "品目 Item", 0},
	{"item_name", "品名", 0},
	{"quantity", "数量 Qty", 0},
	{"unit", "単位 Unit", 0},
	{"weight_kg", "重量 kg", 0},
	{"volume_l", "容積 l", 0},
};
static const struct view_column stop_cols[] = {
	{"vehicle", "車両 Vehicle", 0},
	{"trip", "便 Trip", 0},
	{"stop", "配送順 Stop", 0},
	{"shelter_id", "避難所ID Shelter", 0},
	{"shelter_name", "避難所名 Name", 0},
	{"lat", "緯度 Lat", 0},
	{"lon", "経度 Lon", 0},
	{"item", "品目 Item", 0},
	{"item_name", "品名", 0},
	{"quantity", "数量 Qty", 0},
	{"unit", "単位 Unit", 0},
	{"weight_kg", "重量 kg", 0},
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Weights to the gram, volumes to the millilitre. */
static double milli(double v)
{
	return (double)llround(v * 1000) / 1000;
}

/* Appends trip t's rows of one sheet to rows; -1 when out of memory. */
static int trip_rows(const struct route_plan *p, const struct route_trip *t,
		     enum route_sheet sheet, json_t *rows)
{
	const char *vid = p->in.vehicles[t->vehicle].id;
	size_t load_order = 0;
	for (size_t k = 0; k < t->nstops; k++) {
		size_t s = sheet == ROUTE_PICK_LIST ? t->nstops - 1 - k : k;
		const struct route_stop *st = &t->stops[s];
		const struct route_shelter *sh = &p->in.shelters[st->shelter];
		for (size_t l = 0; l < st->nlines; l++) {
			const struct catalog_item *it = st->lines[l].item;
			long long q = st->lines[l].qty;
			json_t *row = json_pack(
				"{s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:I, s:s,"
				" s:f}",
				"vehicle", vid, "trip", t->number, "stop",
				(json_int_t)(s + 1), "shelter_id", sh->id,
				"shelter_name", or_empty(sh->name), "item",
				it->code, "item_name",
				or_empty(it->name_ja ? it->name_ja
						     : it->name_en),
				"quantity", (json_int_t)q, "unit",
				or_empty(it->unit), "weight_kg",
				milli((double)q * it->unit_weight_kg));
			if (row == NULL)
				return -1;
			if (sheet == ROUTE_PICK_LIST) {
				json_object_set_new(
					row, "load_order",
					json_integer((json_int_t)++load_order));
				json_object_set_new(
					row, "volume_l",
					json_real(milli((double)q *
							it->unit_volume_l)));
			} else {
				json_object_set_new(row, "lat",
						    json_real(sh->lat));
				json_object_set_new(row, "lon",
						    json_real(sh->lon));
			}
			if (json_array_append_new(rows, row) != 0)
				return -1;
		}
	}
	return 0;
}

int routeprint_csv(const struct route_plan *p, enum route_sheet sheet,
		   const char *vehicle_id, FILE *out, sl_error *err)
{
	json_t *rows = json_array();
	int found = vehicle_id == NULL, rc;
	if (rows == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t t = 0; t < p->ntrips; t++) {
		const struct route_trip *trip = &p->trips[t];
		if (vehicle_id &&
		    strcmp(vehicle_id, p->in.vehicles[trip->vehicle].id) != 0)
			continue;
		found = 1;
		if (trip_rows(p, trip, sheet, rows) != 0) {
			json_decref(rows);
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		}
	}
	if (!found) {
		for (size_t v = 0; v < p->in.nvehicles; v++)
			found |= strcmp(vehicle_id, p->in.vehicles[v].id) == 0;
		if (!found) {
			json_decref(rows);
			return sl_error_set(err, SL_ENOTFOUND,
					    "no vehicle %s at depot %s",
					    vehicle_id, p->in.depot->id);
		}
	}
	if (sheet == ROUTE_PICK_LIST)
		rc = view_render(rows, pick_cols, NCOLS(pick_cols), VIEW_CSV,
				 out, err);
	else
		rc = view_render(rows, stop_cols, NCOLS(stop_cols), VIEW_CSV,
				 out, err);
	json_decref(rows);
	if (rc == 0 && (fflush(out) != 0 || ferror(out)))
		rc = sl_error_set(err, SL_EIO, "cannot write the %s",
				  sheet == ROUTE_PICK_LIST ? "pick list"
							   : "stop list");
	return rc;
}

/* Text for HTML: markup characters escaped, control characters other
 * than tab and newline dropped, UTF-8 passed through unchanged. */
static void html_text(const char *s, FILE *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			if (c >= 0x20 || c == '\t' || c == '\n')
				fputc(c, out);
		}
	}
}

static void html_cell(const char *key, const json_t *v, FILE *out)
{
	char buf[64];
	if (json_is_string(v)) {
		html_text(json_string_value(v), out);
		return;
	}
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.*f",
			 strcmp(key, "lat") == 0 || strcmp(key, "lon") == 0 ? 5
									    : 1,
			 json_real_value(v));
	else
		buf[0] = '\0';
	fputs(buf, out);
}

/* A table of rows; the vehicle and trip columns are in the heading. */
static void html_table(const char *caption, const json_t *rows,
		       const struct view_column *cols, size_t ncols, FILE *out)
{
	size_t i;
	const json_t *row;
	fputs("<table>\n<caption>", out);
	html_text(caption, out);
	fputs("</caption>\n<thead><tr>", out);
	for (size_t c = 2; c < ncols; c++) {
		fputs("<th>", out);
		html_text(cols[c].header, out);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	json_array_foreach (rows, i, row) {
		fputs("<tr>", out);
		for (size_t c = 2; c < ncols; c++) {
			fputs(json_is_number(json_object_get(row, cols[c].key))
				      ? "<td class=n>"
				      : "<td>",
			      out);
			html_cell(cols[c].key,
				  json_object_get(row, cols[c].key), out);
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody>\n</table>\n", out);
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta "
	"charset=\"utf-8\">\n"
	"<title>";
static const char html_style[] =
	"</title>\n<style>\n"
	"body { font-family: sans-serif; font-size: 11pt; margin: 1em; }\n"
	"table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; "
	"}\n"
	"caption { text-align: left; font-weight: bold; padding: 0.3em 0; }\n"
	"th, td { border: 1px solid #444; padding: 0.2em 0.4em; "
	"text-align: left; }\n"
	"td.n { text-align: right; }\n"
	"th { background: #eee; }\n"
	"section { margin-bottom: 2em; }\n"
	"@media print {\n"
	"  body { margin: 0; font-size: 10pt; }\n"
	"  section { page-break-after: always; break-after: page; }\n"
	"  section:last-child { page-break-after: auto; break-after: auto; }\n"
	"  thead { display: table-header-group; }\n"
	"  tr { page-break-inside: avoid; break-inside: avoid; }\n"
	"  th { background: none; }\n"
	"}\n</style>\n</head>\n<body>\n";

int routeprint_html(const struct route_plan *p, const char *title, FILE *out,
		    sl_error *err)
{
	char line[256];
	if (title == NULL)
		title = "配送計画 Dispatch";
	fputs(html_head, out);
	html_text(title, out);
	fputs(html_style, out);
	fputs("<h1>", out);
	html_text(title, out);
	fputs("</h1>\n<p>", out);
	html_text(p->in.depot->id, out);
	fputs(" ", out);
	html_text(or_empty(p->in.depot->name), out);
	fprintf(out, ": %zu trips, %.1f km</p>\n", p->ntrips, p->length_km);
	for (size_t t = 0; t < p->ntrips; t++) {
		const struct route_trip *trip = &p->trips[t];
		const struct vehicle *v = &p->in.vehicles[trip->vehicle];
		json_t *pick = json_array(), *stops = json_array();
		if (pick == NULL || stops == NULL ||
		    trip_rows(p, trip, ROUTE_PICK_LIST, pick) != 0 ||
		    trip_rows(p, trip, ROUTE_STOP_LIST, stops) != 0) {
			json_decref(pick);
			json_decref(stops);
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		}
		fputs("<section>\n<h2>", out);
		html_text(v->id, out);
		if (v->name) {
			fputs(" ", out);
			html_text(v->name, out);
		}
		snprintf(line, sizeof(line),
			 " &mdash; 第%d便 trip %d</h2>\n<p>%zu stops, %.1f kg "
			 "of %.0f kg, %.1f l of %.0f l, %.1f km</p>\n",
			 trip->number, trip->number, trip->nstops,
			 trip->weight_kg, v->max_weight_kg, trip->volume_l,
			 v->max_volume_l, trip->length_km);
		fputs(line, out);
		html_table("積込リスト Pick list (積込順 load in this order)",
			   pick, pick_cols, NCOLS(pick_cols), out);
		html_table("配送先リスト Stop list", stops, stop_cols,
			   NCOLS(stop_cols), out);
		fputs("</section>\n", out);
		json_decref(pick);
		json_decref(stops);
	}
	fputs("</body>\n</html>\n", out);
	if (fflush(out) != 0 || ferror(out))
		return sl_error_set(err, SL_EIO, "cannot write the HTML page");
	return 0;
}
