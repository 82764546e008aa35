/*
 * geo.c - the plane geometry the damage survey needs: WKT and GeoJSON
 * points, polygons and multipolygons read strictly from hostile files,
 * centroids, point-in-polygon, overlap, distances, and a grid index so
 * that 100,000 buildings can be matched without comparing every pair.
 *
 * Coordinates are degrees, lon/lat, treated as a plane: fine for houses
 * and drone footprints a few tens of metres across, wrong for shapes
 * that cross the antimeridian or a pole (none of ours do).  Not a GIS:
 * no projections, no self-intersection checks, no repair.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hq.h"
#include "mem.h"

void geo_free(struct geo_shape *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrings; i++)
		sl_free(s->rings[i].pts);
	sl_free(s->rings);
	sl_free(s);
}

static int check_point(double lon, double lat, sl_error *err)
{
	if (!isfinite(lon) || !isfinite(lat))
		return sl_error_set(err, SL_EINVAL,
				    "a coordinate is not a finite number");
	if (lon < -180 || lon > 180)
		return sl_error_set(err, SL_EINVAL,
				    "longitude %.9g is outside -180..180 "
				    "(coordinates are lon lat)",
				    lon);
	if (lat < -90 || lat > 90)
		return sl_error_set(err, SL_EINVAL,
				    "latitude %.9g is outside -90..90 "
				    "(coordinates are lon lat)",
				    lat);
	return 0;
}

/* Appends an empty ring; SL_EINVAL beyond the caps. */
static int add_ring(struct geo_shape *s, int hole, sl_error *err)
{
	if (s->nrings >= GEO_MAX_RINGS)
		return sl_error_set(err, SL_EINVAL, "more than %d rings",
				    GEO_MAX_RINGS);
	struct geo_ring *r =
		sl_realloc(s->rings, (s->nrings + 1) * sizeof(*s->rings));
	if (r == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	s->rings = r;
	s->rings[s->nrings++] = (struct geo_ring){.hole = hole};
	return 0;
}

static int add_point(struct geo_shape *s, double lon, double lat, size_t *total,
		     sl_error *err)
{
	int rc = check_point(lon, lat, err);
	if (rc != 0)
		return rc;
	if (++*total > GEO_MAX_POINTS)
		return sl_error_set(err, SL_EINVAL, "more than %d points",
				    GEO_MAX_POINTS);
	struct geo_ring *r = &s->rings[s->nrings - 1];
	/* doubling keeps a 10,000-point ring from 10,000 reallocs */
	if ((r->n & (r->n - 1)) == 0) {
		size_t cap = r->n ? r->n * 2 : 8;
		struct geo_point *p = sl_realloc(r->pts, cap * sizeof(*p));
		if (p == NULL)
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		r->pts = p;
	}
	r->pts[r->n++] = (struct geo_point){lon, lat};
	return 0;
}

static int close_ring(const struct geo_ring *r, sl_error *err)
{
	if (r->n < 4)
		return sl_error_set(err, SL_EINVAL,
				    "a ring needs at least 4 points, first = "
				    "last (has %zu)",
				    r->n);
	if (r->pts[0].lon != r->pts[r->n - 1].lon ||
	    r->pts[0].lat != r->pts[r->n - 1].lat)
		return sl_error_set(err, SL_EINVAL,
				    "a ring is not closed (its last point "
				    "differs from its first)");
	return 0;
}

/* Area-weighted centroid (holes subtract) and the bounding box. */
static void finish(struct geo_shape *s)
{
	double a_sum = 0, cx = 0, cy = 0, vx = 0, vy = 0;
	size_t nv = 0;
	s->min_lon = s->min_lat = INFINITY;
	s->max_lon = s->max_lat = -INFINITY;
	for (size_t i = 0; i < s->nrings; i++) {
		const struct geo_ring *r = &s->rings[i];
		double a = 0, x = 0, y = 0;
		for (size_t k = 0; k < r->n; k++) {
			const struct geo_point *p = &r->pts[k];
			s->min_lon = fmin(s->min_lon, p->lon);
			s->max_lon = fmax(s->max_lon, p->lon);
			s->min_lat = fmin(s->min_lat, p->lat);
			s->max_lat = fmax(s->max_lat, p->lat);
			if (!r->hole) {
				vx += p->lon;
				vy += p->lat;
				nv++;
			}
			if (k + 1 == r->n)
				break;
			/* relative to the first point: keeps precision */
			const struct geo_point *o = &r->pts[0],
					       *q = &r->pts[k + 1];
			double x0 = p->lon - o->lon, y0 = p->lat - o->lat;
			double x1 = q->lon - o->lon, y1 = q->lat - o->lat;
			double c = x0 * y1 - x1 * y0;
			a += c;
			x += (x0 + x1) * c;
			y += (y0 + y1) * c;
		}
		if (a == 0)
			continue;
		double sign = r->hole ? -1 : 1, w = fabs(a) / 2 * sign;
		cx += w * (x / (3 * a) + r->pts[0].lon);
		cy += w * (y / (3 * a) + r->pts[0].lat);
		a_sum += w;
	}
	struct geo_point c = {cx / a_sum, cy / a_sum};
	if (s->kind == GEO_POINT) {
		s->centroid = s->rings[0].pts[0];
	} else if (a_sum > 1e-18 && c.lon >= s->min_lon &&
		   c.lon <= s->max_lon && c.lat >= s->min_lat &&
		   c.lat <= s->max_lat) {
		s->centroid = c;
	} else {
		/* no area, or rings crossing themselves so that the weighted
		 * centre leaves the box: the vertices' mean stays inside it */
		s->centroid =
			(struct geo_point){vx / (double)nv, vy / (double)nv};
	}
}

/* ---- WKT ---- */

struct wkt {
	const char *text, *p;
	size_t total;
	sl_error *err;
};

static void skip_space(struct wkt *w)
{
	while (*w->p == ' ' || *w->p == '\t' || *w->p == '\n' || *w->p == '\r')
		w->p++;
}

static int wkt_fail(struct wkt *w, const char *what)
{
	return sl_error_set(w->err, SL_EINVAL,
			    "WKT: at character %zu: expected %s",
			    (size_t)(w->p - w->text) + 1, what);
}

static int expect(struct wkt *w, char c)
{
	skip_space(w);
	if (*w->p != c) {
		char what[8] = {'\'', c, '\'', 0};
		return wkt_fail(w, what);
	}
	w->p++;
	return 0;
}

static int wkt_number(struct wkt *w, double *out)
{
	char buf[40];
	size_t n = 0;
	skip_space(w);
	/* only decimal notation: strtod would take "nan", "inf", hex */
	while (n < sizeof(buf) - 1 &&
	       (isdigit((unsigned char)w->p[n]) || strchr("+-.eE", w->p[n])) &&
	       w->p[n] != '\0')
		n++;
	if (n == 0 || n == sizeof(buf) - 1)
		return wkt_fail(w, "a number");
	memcpy(buf, w->p, n);
	buf[n] = '\0';
	char *end;
	*out = strtod(buf, &end);
	if (*end != '\0')
		return wkt_fail(w, "a number");
	w->p += n;
	return 0;
}

static int wkt_point(struct wkt *w, struct geo_shape *s)
{
	double lon, lat;
	int rc;
	if ((rc = wkt_number(w, &lon)) != 0 || (rc = wkt_number(w, &lat)) != 0)
		return rc;
	skip_space(w);
	if (*w->p != ',' && *w->p != ')')
		return wkt_fail(w, "',' or ')' after x y (only 2-D is read)");
	const char *at = w->p;
	if ((rc = add_point(s, lon, lat, &w->total, w->err)) != 0) {
		sl_error_prefix(w->err, "WKT: at character %zu",
				(size_t)(at - w->text));
		return rc;
	}
	return 0;
}

/* "(x y, x y, ...)" as a new ring */
static int wkt_ring(struct wkt *w, struct geo_shape *s, int hole)
{
	int rc;
	if ((rc = expect(w, '(')) != 0 || (rc = add_ring(s, hole, w->err)) != 0)
		return rc;
	do {
		if ((rc = wkt_point(w, s)) != 0)
			return rc;
		skip_space(w);
	} while (*w->p == ',' && w->p++);
	const char *at = w->p;
	if ((rc = expect(w, ')')) != 0)
		return rc;
	if ((rc = close_ring(&s->rings[s->nrings - 1], w->err)) != 0)
		sl_error_prefix(w->err, "WKT: ring ending at character %zu",
				(size_t)(at - w->text) + 1);
	return rc;
}

/* "((outer), (hole), ...)" */
static int wkt_polygon(struct wkt *w, struct geo_shape *s)
{
	int rc, hole = 0;
	if ((rc = expect(w, '(')) != 0)
		return rc;
	do {
		if ((rc = wkt_ring(w, s, hole)) != 0)
			return rc;
		hole = 1;
		skip_space(w);
	} while (*w->p == ',' && w->p++);
	return expect(w, ')');
}

static int keyword(struct wkt *w, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(w->p, kw, n) != 0 || isalpha((unsigned char)w->p[n]))
		return 0;
	w->p += n;
	return 1;
}

int geo_parse_wkt(const char *text, struct geo_shape **out, sl_error *err)
{
	struct wkt w = {text, text, 0, err};
	int rc;
	*out = NULL;
	struct geo_shape *s = sl_calloc(1, sizeof(*s));
	if (s == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	skip_space(&w);
	if (keyword(&w, "POINT")) {
		s->kind = GEO_POINT;
		if ((rc = expect(&w, '(')) == 0 &&
		    (rc = add_ring(s, 0, err)) == 0 &&
		    (rc = wkt_point(&w, s)) == 0)
			rc = expect(&w, ')');
	} else if (keyword(&w, "POLYGON")) {
		s->kind = GEO_POLYGON;
		rc = wkt_polygon(&w, s);
	} else if (keyword(&w, "MULTIPOLYGON")) {
		s->kind = GEO_POLYGON;
		if ((rc = expect(&w, '(')) == 0) {
			do {
				if ((rc = wkt_polygon(&w, s)) != 0)
					break;
				skip_space(&w);
			} while (*w.p == ',' && w.p++);
		}
		if (rc == 0)
			rc = expect(&w, ')');
	} else {
		rc = wkt_fail(&w, "POINT, POLYGON or MULTIPOLYGON");
	}
	if (rc == 0) {
		skip_space(&w);
		if (*w.p != '\0')
			rc = wkt_fail(&w, "the end of the text (2-D shapes "
					  "only, no EMPTY)");
	}
	if (rc != 0) {
		geo_free(s);
		return rc;
	}
	finish(s);
	*out = s;
	return 0;
}

/* the shortest of 15..17 digits that reads back as the same double */
static void exact(char *out, size_t cap, double v)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(out, cap, "%.*g", digits, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static int buf_printf(char **buf, size_t *len, size_t *cap, double lon,
		      double lat, const char *pre)
{
	char tmp[96], x[32], y[32];
	exact(x, sizeof(x), lon);
	exact(y, sizeof(y), lat);
	int n = snprintf(tmp, sizeof(tmp), "%s%s %s", pre, x, y);
	if (*len + (size_t)n + 8 > *cap) {
		size_t c = (*cap + (size_t)n + 8) * 2;
		char *b = sl_realloc(*buf, c);
		if (b == NULL)
			return SL_ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, tmp, (size_t)n + 1);
	*len += (size_t)n;
	return 0;
}

static int buf_put(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t c = (*cap + n + 1) * 2;
		char *b = sl_realloc(*buf, c);
		if (b == NULL)
			return SL_ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

char *geo_wkt(const struct geo_shape *s)
{
	size_t len = 0, cap = 64;
	char *buf = sl_malloc(cap);
	int rc = buf ? 0 : SL_ENOMEM;
	if (rc == 0 && s->kind == GEO_POINT) {
		rc = buf_printf(&buf, &len, &cap, s->rings[0].pts[0].lon,
				s->rings[0].pts[0].lat, "POINT (");
		rc = rc ? rc : buf_put(&buf, &len, &cap, ")");
		if (rc != 0) {
			sl_free(buf);
			return NULL;
		}
		return buf;
	}
	rc = rc ? rc : buf_put(&buf, &len, &cap, "MULTIPOLYGON (");
	for (size_t i = 0; rc == 0 && i < s->nrings; i++) {
		const struct geo_ring *r = &s->rings[i];
		const char *open = r->hole ? ", (" : i ? "), ((" : "((";
		rc = buf_put(&buf, &len, &cap, open);
		for (size_t k = 0; rc == 0 && k < r->n; k++)
			rc = buf_printf(&buf, &len, &cap, r->pts[k].lon,
					r->pts[k].lat, k ? ", " : "");
		rc = rc ? rc : buf_put(&buf, &len, &cap, ")");
	}
	rc = rc ? rc : buf_put(&buf, &len, &cap, "))");
	if (rc != 0) {
		sl_free(buf);
		return NULL;
	}
	return buf;
}

/* ---- GeoJSON ---- */

static int json_position(const json_t *pos, struct geo_shape *s, size_t *total,
			 sl_error *err)
{
	size_t n = json_array_size(pos);
	if (!json_is_array(pos) || n < 2 || n > 3 ||
	    !json_is_number(json_array_get(pos, 0)) ||
	    !json_is_number(json_array_get(pos, 1)))
		return sl_error_set(err, SL_EINVAL,
				    "a position must be [lon, lat] or [lon, "
				    "lat, height] numbers");
	return add_point(s, json_number_value(json_array_get(pos, 0)),
			 json_number_value(json_array_get(pos, 1)), total, err);
}

static int json_rings(const json_t *rings, struct geo_shape *s, size_t *total,
		      sl_error *err)
{
	int rc;
	if (!json_is_array(rings) || json_array_size(rings) == 0)
		return sl_error_set(err, SL_EINVAL,
				    "a polygon must be a non-empty array of "
				    "rings");
	for (size_t i = 0; i < json_array_size(rings); i++) {
		const json_t *ring = json_array_get(rings, i);
		if (!json_is_array(ring))
			return sl_error_set(err, SL_EINVAL,
					    "ring %zu is not an array", i);
		if ((rc = add_ring(s, i > 0, err)) != 0)
			return rc;
		for (size_t k = 0; k < json_array_size(ring); k++)
			if ((rc = json_position(json_array_get(ring, k), s,
						total, err)) != 0)
				return rc;
		if ((rc = close_ring(&s->rings[s->nrings - 1], err)) != 0)
			return rc;
	}
	return 0;
}

int geo_from_geojson(const json_t *geometry, struct geo_shape **out,
		     sl_error *err)
{
	const char *type = json_string_value(json_object_get(geometry, "type"));
	const json_t *c = json_object_get(geometry, "coordinates");
	size_t total = 0;
	int rc;
	*out = NULL;
	if (!json_is_object(geometry) || type == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "geometry must be an object with a type");
	struct geo_shape *s = sl_calloc(1, sizeof(*s));
	if (s == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if (strcmp(type, "Point") == 0) {
		s->kind = GEO_POINT;
		rc = add_ring(s, 0, err);
		rc = rc ? rc : json_position(c, s, &total, err);
	} else if (strcmp(type, "Polygon") == 0) {
		s->kind = GEO_POLYGON;
		rc = json_rings(c, s, &total, err);
	} else if (strcmp(type, "MultiPolygon") == 0) {
		s->kind = GEO_POLYGON;
		rc = json_is_array(c) && json_array_size(c) > 0
			     ? 0
			     : sl_error_set(err, SL_EINVAL,
					    "a MultiPolygon must be a "
					    "non-empty array of polygons");
		for (size_t i = 0; rc == 0 && i < json_array_size(c); i++)
			rc = json_rings(json_array_get(c, i), s, &total, err);
	} else {
		rc = sl_error_set(err, SL_EINVAL,
				  "geometry type '%s' is not Point, Polygon "
				  "or MultiPolygon",
				  type);
	}
	if (rc != 0) {
		geo_free(s);
		return rc;
	}
	finish(s);
	*out = s;
	return 0;
}

/* ---- tests on shapes ---- */

static int in_rings(const struct geo_shape *s, double lon, double lat)
{
	int inside = 0;
	for (size_t i = 0; i < s->nrings; i++) {
		const struct geo_ring *r = &s->rings[i];
		for (size_t k = 0, j = r->n - 1; k < r->n; j = k++) {
			const struct geo_point *a = &r->pts[k], *b = &r->pts[j];
			if ((a->lat > lat) != (b->lat > lat) &&
			    lon < (b->lon - a->lon) * (lat - a->lat) /
						    (b->lat - a->lat) +
					    a->lon)
				inside = !inside;
		}
	}
	return inside;
}

int geo_contains(const struct geo_shape *s, double lon, double lat)
{
	if (s->kind != GEO_POLYGON || lon < s->min_lon || lon > s->max_lon ||
	    lat < s->min_lat || lat > s->max_lat)
		return 0;
	return in_rings(s, lon, lat);
}

static double cross(const struct geo_point *o, const struct geo_point *a,
		    const struct geo_point *b)
{
	return (a->lon - o->lon) * (b->lat - o->lat) -
	       (a->lat - o->lat) * (b->lon - o->lon);
}

static int segments_cross(const struct geo_point *p1,
			  const struct geo_point *p2,
			  const struct geo_point *q1,
			  const struct geo_point *q2)
{
	double d1 = cross(q1, q2, p1), d2 = cross(q1, q2, p2);
	double d3 = cross(p1, p2, q1), d4 = cross(p1, p2, q2);
	return ((d1 > 0) != (d2 > 0)) && ((d3 > 0) != (d4 > 0)) && d1 != 0 &&
	       d2 != 0 && d3 != 0 && d4 != 0;
}

static int any_vertex_inside(const struct geo_shape *a,
			     const struct geo_shape *b)
{
	for (size_t i = 0; i < a->nrings; i++)
		for (size_t k = 0; k < a->rings[i].n; k++)
			if (geo_contains(b, a->rings[i].pts[k].lon,
					 a->rings[i].pts[k].lat))
				return 1;
	return 0;
}

static int edges_cross(const struct geo_shape *a, const struct geo_shape *b)
{
	for (size_t i = 0; i < a->nrings; i++)
		for (size_t k = 0; k + 1 < a->rings[i].n; k++)
			for (size_t j = 0; j < b->nrings; j++)
				for (size_t m = 0; m + 1 < b->rings[j].n; m++)
					if (segments_cross(
						    &a->rings[i].pts[k],
						    &a->rings[i].pts[k + 1],
						    &b->rings[j].pts[m],
						    &b->rings[j].pts[m + 1]))
						return 1;
	return 0;
}

int geo_overlaps(const struct geo_shape *a, const struct geo_shape *b)
{
	if (a->max_lon < b->min_lon || b->max_lon < a->min_lon ||
	    a->max_lat < b->min_lat || b->max_lat < a->min_lat)
		return 0;
	if (a->kind == GEO_POINT && b->kind == GEO_POINT)
		return a->centroid.lon == b->centroid.lon &&
		       a->centroid.lat == b->centroid.lat;
	if (a->kind == GEO_POINT)
		return geo_contains(b, a->centroid.lon, a->centroid.lat);
	if (b->kind == GEO_POINT)
		return geo_contains(a, b->centroid.lon, b->centroid.lat);
	/* the centres first: identical outlines (xBD traced from the same
	 * register) share no crossing edge and no strictly inner vertex */
	return geo_contains(b, a->centroid.lon, a->centroid.lat) ||
	       geo_contains(a, b->centroid.lon, b->centroid.lat) ||
	       any_vertex_inside(a, b) || any_vertex_inside(b, a) ||
	       edges_cross(a, b);
}

double geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	return route_km(lat1, lon1, lat2, lon2) * 1000.0;
}

/* ---- the grid index ---- */

struct cell_entry {
	int32_t y, x;
	size_t item;
};

struct geo_grid {
	double cell_deg;
	struct cell_entry *e;
	size_t n, cap;
	int sorted;
};

geo_grid *geo_grid_new(double cell_deg)
{
	geo_grid *g = sl_calloc(1, sizeof(*g));
	if (g)
		g->cell_deg = cell_deg;
	return g;
}

void geo_grid_free(geo_grid *g)
{
	if (g == NULL)
		return;
	sl_free(g->e);
	sl_free(g);
}

static int32_t cell_of(const geo_grid *g, double deg)
{
	return (int32_t)floor(deg / g->cell_deg);
}

int geo_grid_add(geo_grid *g, double min_lon, double min_lat, double max_lon,
		 double max_lat, size_t item)
{
	int32_t x0 = cell_of(g, min_lon), x1 = cell_of(g, max_lon);
	int32_t y0 = cell_of(g, min_lat), y1 = cell_of(g, max_lat);
	if ((int64_t)(x1 - x0 + 1) * (y1 - y0 + 1) > GEO_GRID_MAX_CELLS)
		return SL_EINVAL;
	for (int32_t y = y0; y <= y1; y++) {
		for (int32_t x = x0; x <= x1; x++) {
			struct cell_entry *e =
				sl_grow(g->e, &g->cap, g->n + 1, sizeof(*e));
			if (e == NULL)
				return SL_ENOMEM;
			g->e = e;
			g->e[g->n++] = (struct cell_entry){y, x, item};
		}
	}
	g->sorted = 0;
	return 0;
}

static int cell_cmp(const void *pa, const void *pb)
{
	const struct cell_entry *a = pa, *b = pb;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	return (a->item > b->item) - (a->item < b->item);
}

/* first entry at or after cell (y, x) */
static size_t lower_bound(const geo_grid *g, int32_t y, int32_t x)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cell_entry *e = &g->e[mid];
		if (e->y < y || (e->y == y && e->x < x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int geo_grid_each(geo_grid *g, double min_lon, double min_lat, double max_lon,
		  double max_lat, geo_grid_fn fn, void *arg)
{
	if (!g->sorted && g->n > 0) {
		qsort(g->e, g->n, sizeof(*g->e), cell_cmp);
		g->sorted = 1;
	}
	int32_t x0 = cell_of(g, min_lon), x1 = cell_of(g, max_lon);
	int32_t y0 = cell_of(g, min_lat), y1 = cell_of(g, max_lat);
	/* a box of more cells than entries (an area-wide photo judgment):
	 * walking the entries is cheaper than probing every cell */
	if ((double)(x1 - x0 + 1) * (double)(y1 - y0 + 1) > (double)g->n) {
		for (size_t i = lower_bound(g, y0, INT32_MIN);
		     i < g->n && g->e[i].y <= y1; i++) {
			if (g->e[i].x < x0 || g->e[i].x > x1)
				continue;
			int rc = fn(g->e[i].item, arg);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	for (int32_t y = y0; y <= y1; y++) {
		size_t i = lower_bound(g, y, x0);
		for (; i < g->n && g->e[i].y == y && g->e[i].x <= x1; i++) {
			int rc = fn(g->e[i].item, arg);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* ---- files ---- */

int geo_read_file(const char *path, unsigned char **data, size_t *len,
		  sl_error *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", path,
				    strerror(errno));
	/* one byte past the limit is enough to refuse the file */
	const size_t limit = (size_t)GEO_FILE_MAX_BYTES + 1;
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = sl_malloc(cap + 1);
	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap || n >= limit)
			break;
		size_t grown = cap * 2 < limit ? cap * 2 : limit;
		unsigned char *b = sl_realloc(buf, grown + 1);
		if (b == NULL) {
			sl_free(buf);
			buf = NULL;
			break;
		}
		buf = b;
		cap = grown;
	}
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL)
		return sl_error_set(err, SL_ENOMEM, "%s: out of memory", path);
	if (bad) {
		sl_free(buf);
		return sl_error_set(err, SL_EIO, "%s: read error", path);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int geo_json_parse(const char *path, const unsigned char *data, size_t len,
		   json_t **out, sl_error *err)
{
	json_error_t je;
	*out = NULL;
	if (len > (size_t)GEO_FILE_MAX_BYTES)
		return sl_error_set(err, SL_EINVAL,
				    "%s: bigger than %ld MiB: split it", path,
				    GEO_FILE_MAX_BYTES / 1024 / 1024);
	*out = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		return sl_error_set(err, SL_EINVAL, "%s:%d:%d: not JSON: %s",
				    path, je.line, je.column, je.text);
	return 0;
}
