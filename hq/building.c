/*
 * building.c - the buildings a り災証明 survey can visit: read from the
 * files municipalities hold (GeoJSON footprints or a CSV of points),
 * stored all or nothing, and held in memory with a grid so that
 * applications and drone imagery can be matched to them at the scale of
 * a city (100,000 buildings).  Also the one address form applications
 * and buildings are compared in.
 *
 * Not here: geometry (geo.c), applications (application.c).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "csvfile.h"
#include "db.h"
#include "hq.h"
#include "mem.h"

#define ID_MAX		 64   /* bytes of a building or application id */
#define ADDRESS_MAX	 512  /* bytes of an address, as given or normalised */
#define BUILDING_MAX_DEG 0.01 /* a footprint's widest extent */

const char *building_structure_name(enum building_structure s)
{
	switch (s) {
	case BUILDING_WOODEN:
		return "wooden";
	case BUILDING_NON_WOODEN:
		return "non_wooden";
	case BUILDING_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ---- addresses ---- */

/* One UTF-8 code point from *p (advanced); U+FFFD for a bad byte. */
static uint32_t next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int n = c < 0x80	 ? 1
		: (c >> 5) == 6	 ? 2
		: (c >> 4) == 14 ? 3
		: (c >> 3) == 30 ? 4
				 : 0;
	if (n == 0) {
		*p = s + 1;
		return 0xFFFD;
	}
	if (n > 1)
		c &= 0x3F >> (n - 1);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*p = s + i;
			return 0xFFFD;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	*p = s + n;
	return c;
}

static int put_cp(char *out, size_t cap, size_t *len, uint32_t c)
{
	unsigned char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xC0 | (c >> 6));
		b[1] = (unsigned char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (c >> 12));
		b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (c >> 18));
		b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (c & 0x3F));
		n = 4;
	}
	if (*len + n + 1 > cap)
		return SL_EINVAL;
	memcpy(out + *len, b, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int kanji_digit(uint32_t c)
{
	static const uint32_t d[] = {0x3007, 0x4E00, 0x4E8C, 0x4E09, 0x56DB,
				     0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D};
	for (int i = 0; i < 10; i++)
		if (c == d[i])
			return i;
	return c == 0x5341 ? 10 : -1; /* 十 */
}

static int is_dash(uint32_t c)
{
	return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212 ||
	       c == 0xFF0D || c == 0xFE63;
}

/* 丁目, 番地, 番, 号 after a number: the separators written out */
static int unit_at(const uint32_t *cp, size_t i, size_t n)
{
	if (cp[i] == 0x4E01 && i + 1 < n && cp[i + 1] == 0x76EE) /* 丁目 */
		return 2;
	if (cp[i] == 0x756A && i + 1 < n && cp[i + 1] == 0x5730) /* 番地 */
		return 2;
	return cp[i] == 0x756A || cp[i] == 0x53F7; /* 番, 号 */
}

static size_t drop_prefecture(const uint32_t *cp, size_t n)
{
	static const uint32_t to[][3] = {{0x6771, 0x4EAC, 0x90FD}, /* 東京都 */
					 {0x5317, 0x6D77, 0x9053}, /* 北海道 */
					 {0x5927, 0x962A, 0x5E9C}, /* 大阪府 */
					 {0x4EAC, 0x90FD, 0x5E9C}}; /* 京都府 */
	for (size_t k = 0; k < 4; k++)
		if (n >= 3 && memcmp(cp, to[k], sizeof(to[k])) == 0)
			return 3;
	for (size_t i = 2; i <= 3 && i < n; i++)
		if (cp[i] == 0x770C) /* 県 */
			return i + 1;
	return 0;
}

/* Where the part compared starts: after a prefecture and a county (郡,
 * so often left out: 上益城郡益城町 is written 益城町). */
static size_t skip_region(const uint32_t *cp, size_t n)
{
	size_t at = drop_prefecture(cp, n);
	for (size_t i = at + 2; i <= at + 4 && i < n; i++)
		if (cp[i] == 0x90E1) /* 郡 */
			return i + 1;
	return at;
}

int building_address_norm(const char *in, char *out, size_t cap)
{
	uint32_t cp[ADDRESS_MAX];
	size_t n = 0, len = 0;
	const unsigned char *p = (const unsigned char *)in;
	if (cap == 0)
		return SL_EINVAL;
	out[0] = '\0';
	while (*p) {
		uint32_t c = next_cp(&p);
		if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
			c -= 0xFEE0;
		if (c == ' ' || c == '\t' || c == 0x3000)
			continue;
		if (n == ADDRESS_MAX)
			return SL_EINVAL;
		cp[n++] = c;
	}
	for (size_t i = skip_region(cp, n); i < n; i++) {
		uint32_t c = cp[i];
		if (c == 0x5927 && i + 1 < n &&
		    cp[i + 1] == 0x5B57) { /* 大字 */
			i++;
			continue;
		}
		if (c == 0x30F6 ||
		    c == 0x30F5) /* ヶ, ヵ as ケ: 錦ヶ丘 = 錦ケ丘 */
			c = 0x30B1;
		int prev_digit =
			len > 0 && out[len - 1] >= '0' && out[len - 1] <= '9';
		size_t run = 0;
		while (i + run < n && kanji_digit(cp[i + run]) >= 0)
			run++;
		if (run > 0 && i + run < n && unit_at(cp, i + run, n)) {
			/* 二十三 = 23, 十 = 10, 三十 = 30, 一〇 = 10 */
			long v = 0, cur = 0;
			for (size_t k = 0; k < run; k++) {
				int d = kanji_digit(cp[i + k]);
				if (d == 10) {
					v += (cur ? cur : 1) * 10;
					cur = 0;
				} else {
					cur = cur * 10 + d;
				}
			}
			char num[24];
			snprintf(num, sizeof(num), "%ld", v + cur);
			for (char *q = num; *q; q++)
				if (put_cp(out, cap, &len, (uint32_t)*q) != 0)
					return SL_EINVAL;
			i += run - 1;
			continue;
		}
		size_t unit = prev_digit ? (size_t)unit_at(cp, i, n) : 0;
		int between =
			(prev_digit || (len > 0 && out[len - 1] == '-')) &&
			i + 1 < n && cp[i + 1] < 0x80 && cp[i + 1] >= '0' &&
			cp[i + 1] <= '9';
		if (unit || is_dash(c) ||
		    (between && (c == 0x306E || c == 0x30CE || c == 0x30FC))) {
			/* の, ノ, ー between numbers: 1番地の2 */
			if (len > 0 && out[len - 1] != '-' &&
			    put_cp(out, cap, &len, '-') != 0)
				return SL_EINVAL;
			i += unit ? unit - 1 : 0;
			continue;
		}
		if (put_cp(out, cap, &len, c) != 0)
			return SL_EINVAL;
	}
	while (len > 0 && out[len - 1] == '-')
		out[--len] = '\0';
	return 0;
}

/* ---- reading ---- */

void building_set_free(struct building_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		sl_free(set->b[i].id);
		sl_free(set->b[i].address);
		sl_free(set->b[i].ref);
		geo_free(set->b[i].shape);
	}
	sl_free(set->b);
	sl_free(set);
}

static struct building *grow(struct building_set *set, size_t *cap)
{
	struct building *grown = sl_grow(set->b, cap, set->n + 1,
					 sizeof(*grown));
	if (grown == NULL)
		return NULL;
	set->b = grown;
	struct building *b = &set->b[set->n++];
	memset(b, 0, sizeof(*b));
	return b;
}

int building_check_id(const char *id, sl_error *err)
{
	size_t n = strlen(id);
	if (n == 0)
		return sl_error_set(err, SL_EINVAL, "an id is required");
	if (n > ID_MAX)
		return sl_error_set(err, SL_EINVAL,
				    "id '%.20s...' is longer than %d bytes", id,
				    ID_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7F)
			return sl_error_set(err, SL_EINVAL,
					    "id contains a control character");
	return 0;
}

static int structure_of(const char *text, enum building_structure *out,
			sl_error *err)
{
	static const struct {
		const char *name;
		enum building_structure s;
	} names[] = {
		{"", BUILDING_UNKNOWN},
		{"unknown", BUILDING_UNKNOWN},
		{"不明", BUILDING_UNKNOWN},
		{"wooden", BUILDING_WOODEN},
		{"木造", BUILDING_WOODEN},
		{"non_wooden", BUILDING_NON_WOODEN},
		{"non-wooden", BUILDING_NON_WOODEN},
		{"非木造", BUILDING_NON_WOODEN},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i].name) == 0) {
			*out = names[i].s;
			return 0;
		}
	return sl_error_set(err, SL_EINVAL,
			    "structure '%s' is not wooden, non_wooden or "
			    "unknown (木造, 非木造, 不明)",
			    text);
}

int building_number(const char *text, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi)
		return SL_EINVAL;
	*out = v;
	return 0;
}

static int floors_of(const char *text, int *out, sl_error *err)
{
	double v;
	*out = 0;
	if (*text == '\0')
		return 0;
	if (building_number(text, 1, 200, &v) != 0 || v != floor(v))
		return sl_error_set(err, SL_EINVAL,
				    "floors '%s' is not a whole number from 1 "
				    "to 200",
				    text);
	*out = (int)v;
	return 0;
}

static int set_text(char **dst, const char *text, sl_error *err)
{
	*dst = sl_strdup(text);
	return *dst ? 0 : sl_error_set(err, SL_ENOMEM, "out of memory");
}

/* id, address, structure and floors as text, wherever they came from */
static int fill(struct building *b, const char *id, const char *address,
		const char *structure, const char *floors, const char *ref,
		sl_error *err)
{
	char norm[ADDRESS_MAX * 2];
	int rc;
	const struct geo_shape *g = b->shape;
	/* the grid and the matching assume houses, not districts */
	if (g->max_lat - g->min_lat > BUILDING_MAX_DEG ||
	    g->max_lon - g->min_lon > BUILDING_MAX_DEG)
		return sl_error_set(err, SL_EINVAL,
				    "the footprint spans more than %g degrees "
				    "(about 1 km): not one building",
				    BUILDING_MAX_DEG);
	if ((rc = building_check_id(id, err)) != 0 ||
	    (rc = structure_of(structure, &b->structure, err)) != 0 ||
	    (rc = floors_of(floors, &b->floors, err)) != 0)
		return rc;
	if (address && *address &&
	    building_address_norm(address, norm, sizeof(norm)) != 0)
		return sl_error_set(err, SL_EINVAL,
				    "address is longer than %d characters",
				    ADDRESS_MAX);
	if ((rc = set_text(&b->id, id, err)) != 0 ||
	    (rc = set_text(&b->ref, ref, err)) != 0)
		return rc;
	return address && *address ? set_text(&b->address, address, err) : 0;
}

/* Columns of a CSV, by any of their names; col[c] is -1 when absent. */
void building_csv_columns(int ncells, char **cells,
			  const char *const (*names)[BUILDING_COL_NAMES],
			  int ncols, int *col)
{
	for (int c = 0; c < ncols; c++)
		col[c] = -1;
	for (int i = 0; i < ncells; i++) {
		const char *h = csvfile_normalize(cells[i], 1);
		for (int c = 0; c < ncols; c++)
			for (int k = 0; k < BUILDING_COL_NAMES && names[c][k];
			     k++)
				if (strcasecmp(h, names[c][k]) == 0)
					col[c] = i;
	}
}

enum { BC_ID, BC_ADDRESS, BC_LAT, BC_LON, BC_STRUCTURE, BC_FLOORS, BC_N };
static const char *const csv_names[BC_N][BUILDING_COL_NAMES] = {
	[BC_ID] = {"id", "building_id", "建物ID", "家屋番号"},
	[BC_ADDRESS] = {"address", "住所", "所在地"},
	[BC_LAT] = {"lat", "latitude", "緯度"},
	[BC_LON] = {"lon", "lng", "longitude", "経度"},
	[BC_STRUCTURE] = {"structure", "構造"},
	[BC_FLOORS] = {"floors", "階数"},
};

struct csv_read {
	const char *path;
	struct building_set *set;
	size_t cap;
	int col[BC_N], header_done;
};

static int csv_row(int line, int n, char **cells, void *arg, sl_error *err)
{
	struct csv_read *r = arg;
	const char *v[BC_N];
	char ref[4200];
	double lat, lon;
	int rc;
	if (!r->header_done) {
		building_csv_columns(n, cells, csv_names, BC_N, r->col);
		r->header_done = 1;
		for (int c = 0; c <= BC_LON; c++)
			if (r->col[c] < 0 && c != BC_ADDRESS)
				return sl_error_set(
					err, SL_EINVAL,
					"%s:%d: no column '%s' (id, "
					"lat and lon are needed)",
					r->path, line, csv_names[c][0]);
		return 0;
	}
	for (int c = 0; c < BC_N; c++)
		v[c] = r->col[c] >= 0 && r->col[c] < n
			       ? csvfile_normalize(cells[r->col[c]], 1)
			       : "";
	snprintf(ref, sizeof(ref), "%s:%d", r->path, line);
	struct building *b = grow(r->set, &r->cap);
	if (b == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	const char *bad = building_number(v[BC_LAT], -90, 90, &lat) != 0 ? "lat"
			  : building_number(v[BC_LON], -180, 180, &lon) != 0
				  ? "lon"
				  : NULL;
	if (bad)
		return sl_error_set(err, SL_EINVAL,
				    "%s: column '%s': '%s' is not a number in "
				    "range (lat -90..90, lon -180..180)",
				    ref, bad,
				    v[bad[1] == 'a' ? BC_LAT : BC_LON]);
	char wkt[96];
	snprintf(wkt, sizeof(wkt), "POINT (%.9g %.9g)", lon, lat);
	if ((rc = geo_parse_wkt(wkt, &b->shape, err)) != 0 ||
	    (rc = fill(b, v[BC_ID], v[BC_ADDRESS], v[BC_STRUCTURE],
		       v[BC_FLOORS], ref, err)) != 0) {
		if (rc != SL_ENOMEM)
			sl_error_prefix(err, "%s", ref);
		return rc;
	}
	return 0;
}

/* A property as text: strings as they are, whole numbers printed, null
 * or absent as "".  SL_EINVAL for anything else. */
int building_property(const json_t *props, const char *key, char *buf,
		      size_t cap, const char **out, sl_error *err)
{
	const json_t *v = json_object_get(props, key);
	if (v == NULL || json_is_null(v)) {
		*out = "";
	} else if (json_is_string(v)) {
		*out = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		*out = buf;
	} else {
		return sl_error_set(err, SL_EINVAL,
				    "property '%s' must be a string or a whole "
				    "number",
				    key);
	}
	return 0;
}

static int geojson_feature(struct building_set *set, size_t *cap,
			   const char *path, size_t i, const json_t *f,
			   sl_error *err)
{
	const json_t *props = json_object_get(f, "properties");
	char idbuf[32], floorbuf[32], ref[4200];
	const char *id, *address, *structure, *floors;
	int rc;
	if (!json_is_object(f) ||
	    !(json_is_object(props) || json_is_null(props) || props == NULL))
		return sl_error_set(err, SL_EINVAL,
				    "not a Feature with properties");
	if (json_object_get(props, "id") == NULL && json_object_get(f, "id"))
		rc = building_property(f, "id", idbuf, sizeof(idbuf), &id, err);
	else
		rc = building_property(props, "id", idbuf, sizeof(idbuf), &id,
				       err);
	if (rc != 0 ||
	    (rc = building_property(props, "address", NULL, 0, &address,
				    err)) != 0 ||
	    (rc = building_property(props, "structure", NULL, 0, &structure,
				    err)) != 0 ||
	    (rc = building_property(props, "floors", floorbuf, sizeof(floorbuf),
				    &floors, err)) != 0)
		return rc;
	snprintf(ref, sizeof(ref), "%s#%zu", path, i);
	struct building *b = grow(set, cap);
	if (b == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if ((rc = geo_from_geojson(json_object_get(f, "geometry"), &b->shape,
				   err)) != 0)
		return rc;
	return fill(b, id, address, structure, floors, ref, err);
}

static int parse_geojson(const char *path, const unsigned char *data,
			 size_t len, struct building_set *set, sl_error *err)
{
	json_t *doc;
	size_t cap = 0;
	int rc = geo_json_parse(path, data, len, &doc, err);
	if (rc != 0)
		return rc;
	const json_t *features = json_object_get(doc, "features");
	if (!json_is_object(doc) ||
	    !json_is_string(json_object_get(doc, "type")) ||
	    strcmp(json_string_value(json_object_get(doc, "type")),
		   "FeatureCollection") != 0 ||
	    !json_is_array(features)) {
		json_decref(doc);
		return sl_error_set(err, SL_EINVAL,
				    "%s: not a GeoJSON FeatureCollection with "
				    "a features array",
				    path);
	}
	for (size_t i = 0; i < json_array_size(features); i++) {
		rc = geojson_feature(set, &cap, path, i,
				     json_array_get(features, i), err);
		if (rc != 0) {
			if (rc != SL_ENOMEM)
				sl_error_prefix(err, "%s: feature %zu", path,
						i);
			break;
		}
	}
	json_decref(doc);
	return rc;
}

static int by_id(const void *a, const void *b)
{
	const struct building *const *x = a, *const *y = b;
	return strcmp((*x)->id, (*y)->id);
}

/* Two rows with one id would silently become one building. */
static int check_unique(const struct building_set *set, sl_error *err)
{
	const struct building **v = sl_malloc((set->n + 1) * sizeof(*v));
	int rc = 0;
	if (v == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < set->n; i++)
		v[i] = &set->b[i];
	qsort(v, set->n, sizeof(*v), by_id);
	for (size_t i = 1; i < set->n && rc == 0; i++)
		if (strcmp(v[i - 1]->id, v[i]->id) == 0) {
			/* name the later row: the earlier one stands */
			const struct building *a =
				v[i - 1] < v[i] ? v[i - 1] : v[i];
			const struct building *b = a == v[i] ? v[i - 1] : v[i];
			rc = sl_error_set(err, SL_EINVAL,
					  "%s: id '%s' repeats the building of "
					  "%s",
					  b->ref, b->id, a->ref);
		}
	sl_free(v);
	return rc;
}

int building_parse(const char *path, const unsigned char *data, size_t len,
		   struct building_set **out, sl_error *err)
{
	struct building_set *set = sl_calloc(1, sizeof(*set));
	size_t i = 0;
	int rc;
	*out = NULL;
	if (set == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	while (i < len && (data[i] == ' ' || data[i] == '\n' ||
			   data[i] == '\r' || data[i] == '\t'))
		i++;
	if (i < len && data[i] == '{') {
		rc = parse_geojson(path, data, len, set, err);
	} else {
		struct csv_read r = {.path = path, .set = set};
		rc = csvfile_parse(path, data, len, csv_row, &r, err);
	}
	if (rc == 0 && set->n == 0)
		rc = sl_error_set(err, SL_EINVAL, "%s: no buildings", path);
	if (rc == 0)
		rc = check_unique(set, err);
	if (rc != 0) {
		building_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

/* ---- storing ---- */

int building_import(hq_store *st, const char *path,
		    const struct building_set *set, time_t now, size_t *added,
		    size_t *updated, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *exists = NULL, *put = NULL;
	int rc;
	*added = *updated = 0;
	if ((rc = db_prepare(db, &exists,
			     "SELECT 1 FROM buildings WHERE building_id = ?1",
			     err)) != 0 ||
	    (rc = db_prepare(
		     db, &put,
		     "INSERT INTO buildings (building_id, address, "
		     "address_norm, lat, lon, footprint, structure, floors, "
		     "source_file, source_ref, imported_at) VALUES (?1, ?2, ?3,"
		     " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT "
		     "(building_id) DO UPDATE SET address = ?2, address_norm "
		     "= ?3, lat = ?4, lon = ?5, footprint = ?6, structure = "
		     "?7, floors = ?8, source_file = ?9, source_ref = ?10, "
		     "imported_at = ?11",
		     err)) != 0 ||
	    (rc = store_begin(st, err)) != 0) {
		sqlite3_finalize(exists);
		sqlite3_finalize(put);
		return rc;
	}
	for (size_t i = 0; i < set->n && rc == 0; i++) {
		const struct building *b = &set->b[i];
		char norm[ADDRESS_MAX * 2];
		char *wkt = b->shape->kind == GEO_POLYGON ? geo_wkt(b->shape)
							  : NULL;
		if (b->shape->kind == GEO_POLYGON && wkt == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			break;
		}
		if (b->address)
			building_address_norm(b->address, norm, sizeof(norm));
		sqlite3_bind_text(exists, 1, b->id, -1, SQLITE_STATIC);
		int step = sqlite3_step(exists);
		sqlite3_reset(exists);
		*(step == SQLITE_ROW ? updated : added) += 1;
		sqlite3_bind_text(put, 1, b->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 2, b->address, -1, SQLITE_STATIC);
		if (b->address)
			sqlite3_bind_text(put, 3, norm, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(put, 3);
		sqlite3_bind_double(put, 4, b->shape->centroid.lat);
		sqlite3_bind_double(put, 5, b->shape->centroid.lon);
		sqlite3_bind_text(put, 6, wkt, -1, sl_free);
		sqlite3_bind_text(put, 7, building_structure_name(b->structure),
				  -1, SQLITE_STATIC);
		if (b->floors)
			sqlite3_bind_int(put, 8, b->floors);
		else
			sqlite3_bind_null(put, 8);
		sqlite3_bind_text(put, 9, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 10, b->ref, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 11, (sqlite3_int64)now);
		if (sqlite3_step(put) != SQLITE_DONE)
			rc = sl_error_set(err, SL_EDB, "%s: %s", b->ref,
					  sqlite3_errmsg(db));
		sqlite3_reset(put);
		sqlite3_clear_bindings(put);
	}
	sqlite3_finalize(exists);
	sqlite3_finalize(put);
	if (rc == 0)
		return store_commit(st, err);
	store_rollback(st);
	*added = *updated = 0;
	return rc;
}

/* ---- the index ---- */

struct indexed {
	char *id;
	double lat, lon;
	struct geo_shape *shape; /* NULL for a point building */
};

struct building_index {
	struct indexed *b;
	size_t n;
	geo_grid *grid;
};

/* ~55 m north-south: a house and the 30 m around it span few cells */
#define CELL_DEG 0.0005

void building_index_free(building_index *idx)
{
	if (idx == NULL)
		return;
	for (size_t i = 0; i < idx->n; i++) {
		sl_free(idx->b[i].id);
		geo_free(idx->b[i].shape);
	}
	sl_free(idx->b);
	geo_grid_free(idx->grid);
	sl_free(idx);
}

static int index_row(building_index *idx, sqlite3_stmt *s, size_t *cap,
		     sl_error *err)
{
	struct indexed *grown = sl_grow(idx->b, cap, idx->n + 1, sizeof(*grown));
	if (grown == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	idx->b = grown;
	struct indexed *b = &idx->b[idx->n];
	memset(b, 0, sizeof(*b));
	b->lat = sqlite3_column_double(s, 1);
	b->lon = sqlite3_column_double(s, 2);
	const char *wkt = (const char *)sqlite3_column_text(s, 3);
	int rc = set_text(&b->id, (const char *)sqlite3_column_text(s, 0), err);
	if (rc == 0 && wkt && (rc = geo_parse_wkt(wkt, &b->shape, err)) != 0)
		sl_error_prefix(err, "building '%s': stored footprint", b->id);
	idx->n++;
	if (rc != 0)
		return rc;
	rc = b->shape ? geo_grid_add(idx->grid, b->shape->min_lon,
				     b->shape->min_lat, b->shape->max_lon,
				     b->shape->max_lat, idx->n - 1)
		      : geo_grid_add(idx->grid, b->lon, b->lat, b->lon, b->lat,
				     idx->n - 1);
	if (rc == SL_EINVAL)
		return sl_error_set(err, rc,
				    "building '%s': footprint spans more than "
				    "%d grid cells (about 1 km square)",
				    b->id, GEO_GRID_MAX_CELLS);
	return rc ? sl_error_set(err, rc, "out of memory") : 0;
}

int building_index_load(hq_store *st, building_index **out, sl_error *err)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc, step;
	building_index *idx = sl_calloc(1, sizeof(*idx));
	*out = NULL;
	if (idx == NULL || (idx->grid = geo_grid_new(CELL_DEG)) == NULL) {
		sl_free(idx);
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	rc = db_prepare(store_db(st), &s,
			"SELECT building_id, lat, lon, footprint FROM buildings"
			" ORDER BY building_id",
			err);
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = index_row(idx, s, &cap, err);
	if (rc == 0 && step != SQLITE_DONE)
		rc = sl_error_set(err, SL_EDB, "buildings: %s",
				  sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	if (rc != 0) {
		building_index_free(idx);
		return rc;
	}
	*out = idx;
	return 0;
}

static double m_to_lat(double m)
{
	return m / 111320.0;
}

static double m_to_lon(double m, double lat)
{
	double c = cos(lat * 3.14159265358979323846 / 180.0);
	return m / (111320.0 * (c > 0.01 ? c : 0.01));
}

struct near_query {
	building_index *idx;
	double lat, lon, within_m;
	struct building_near *out;
	size_t cap, n;
	size_t *items; /* out[i] is idx->b[items[i]] */
};

static int near_visit(size_t item, void *arg)
{
	struct near_query *q = arg;
	const struct indexed *b = &q->idx->b[item];
	for (size_t i = 0; i < q->n; i++)
		if (q->items[i] == item)
			return 0;
	double d = b->shape && geo_contains(b->shape, q->lon, q->lat)
			   ? 0
			   : geo_distance_m(q->lat, q->lon, b->lat, b->lon);
	if (d > q->within_m)
		return 0;
	/* insertion into the sorted top cap; ties by id */
	size_t at = q->n;
	while (at > 0 && (q->out[at - 1].distance_m > d ||
			  (q->out[at - 1].distance_m == d &&
			   strcmp(q->out[at - 1].id, b->id) > 0)))
		at--;
	if (at >= q->cap)
		return 0;
	size_t last = q->n < q->cap ? q->n : q->cap - 1;
	memmove(&q->out[at + 1], &q->out[at], (last - at) * sizeof(*q->out));
	memmove(&q->items[at + 1], &q->items[at], (last - at) * sizeof(size_t));
	q->out[at] = (struct building_near){b->id, d};
	q->items[at] = item;
	if (q->n < q->cap)
		q->n++;
	return 0;
}

size_t building_index_near(building_index *idx, double lat, double lon,
			   double within_m, struct building_near *out,
			   size_t cap)
{
	size_t items[16];
	struct near_query q = {
		idx, lat, lon, within_m, out, cap < 16 ? cap : 16, 0, items};
	/* a footprint's centroid may lie further than within_m from a
	 * point inside it: widen the box by a large house's half-width */
	double dlat = m_to_lat(within_m + 50),
	       dlon = m_to_lon(within_m + 50, lat);
	if (q.cap == 0)
		return 0;
	geo_grid_each(idx->grid, lon - dlon, lat - dlat, lon + dlon, lat + dlat,
		      near_visit, &q);
	return q.n;
}

struct match_query {
	building_index *idx;
	const struct geo_shape *f;
	double within_m;
	size_t best;
	double best_d;
};

static int match_visit(size_t item, void *arg)
{
	struct match_query *q = arg;
	const struct indexed *b = &q->idx->b[item];
	const struct geo_point *c = &q->f->centroid;
	double d = geo_distance_m(c->lat, c->lon, b->lat, b->lon);
	if (b->shape) {
		if (geo_contains(b->shape, c->lon, c->lat))
			d = -1; /* holds the feature's centre: the best */
		else if (!geo_overlaps(b->shape, q->f))
			return 0;
	} else if (!(q->f->kind == GEO_POLYGON &&
		     geo_contains(q->f, b->lon, b->lat)) &&
		   d > q->within_m) {
		return 0;
	}
	if (q->best == SIZE_MAX || d < q->best_d ||
	    (d == q->best_d && strcmp(b->id, q->idx->b[q->best].id) < 0)) {
		q->best = item;
		q->best_d = d;
	}
	return 0;
}

const char *building_index_match(building_index *idx,
				 const struct geo_shape *feature,
				 double within_m)
{
	struct match_query q = {idx, feature, within_m, SIZE_MAX, 0};
	double lat = feature->centroid.lat;
	double dlat = m_to_lat(within_m), dlon = m_to_lon(within_m, lat);
	geo_grid_each(idx->grid, feature->min_lon - dlon,
		      feature->min_lat - dlat, feature->max_lon + dlon,
		      feature->max_lat + dlat, match_visit, &q);
	return q.best == SIZE_MAX ? NULL : idx->b[q.best].id;
}
