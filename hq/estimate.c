/*
 * estimate.c - what each shelter needs over a horizon: its newest
 * report's headcount times the norms (norms.c), less the stock it has on
 * site, combined with what it asked for.  Rows carry the request's
 * urgency and a short text of the arithmetic, so an operator can check
 * any figure by hand.  Read-only.  Not here: who gets what when stock is
 * short (alloc.c), trucks (route.c).
 *
 * The rule, per shelter and item (docs/operations.md):
 *   norms   = ceil(sum over the item's norms of qty x group count x days),
 *             days = horizon / 24 h for a per-day norm, 1 for per-stay;
 *   needed  = max(requested, norms - on site), at least 0.
 * A request is what is still lacking now (docs/protocol.md), so stock
 * does not reduce it and the horizon does not scale it.  Requested
 * quantities keep their urgency; what the norms add beyond them is
 * "normal": only a shelter says what is critical.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

static const char *const urgencies[] = { "critical", "high", "normal" };
#define NURG 3
#define URG_NORMAL 2

static const char reports_sql[] =
	PICTURE_OPEN_REPORTS
	" SELECT o.shelter_id, m.payload FROM open_reports o"
	" JOIN messages m USING (shelter_id, seq) ORDER BY o.shelter_id";

/* One item at one shelter. */
struct tally {
	long long req[NURG]; /* requested units by urgency */
	long long on_site;
};

/* Everything one estimate reads: fixed for all shelters. */
struct ctx {
	const catalog *items;
	const struct norms *n;
	size_t *norm_item; /* catalogue index of each norm's item */
	struct tally *t;   /* one per catalogue item */
	double days;
	json_t *rows;
};

static size_t item_index(const catalog *items, const char *code)
{
	const struct catalog_item *it = catalog_find(items, code);
	return it ? (size_t)(it - catalog_at(items, 0)) : (size_t)-1;
}

/*
 * Whole units, rounded up; a product within 1e-9 of a whole number is
 * that number, since 1.1 x 50 is 55.00000000000001 in binary and must
 * not become 56 units.
 */
static long long whole_units(double x)
{
	double r = round(x);
	if (fabs(x - r) <= 1e-9 * fmax(1.0, fabs(x)))
		return (long long)r;
	return (long long)ceil(x);
}

static size_t append(char *buf, size_t size, size_t len, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

/* snprintf at buf + len, clipped at size; returns the new length. */
static size_t append(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (len >= size)
		return len;
	va_start(ap, fmt);
	int k = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return k < 0 ? len : len + (size_t)k > size ? size : len + (size_t)k;
}

/*
 * The norms of item i for this headcount: the unrounded sum, and its
 * terms written into buf ("1.5/d x 180 total x 1 d + ...").  Returns
 * the number of norms the item has.
 */
static size_t norm_sum(const struct ctx *c, size_t i, const json_t *headcount,
		       double *sum, char *buf, size_t size)
{
	size_t found = 0, len = 0;
	*sum = 0;
	buf[0] = '\0';
	for (size_t j = 0; j < norms_count(c->n); j++) {
		const struct norm *nm = norms_at(c->n, j);
		if (c->norm_item[j] != i)
			continue;
		const json_t *v = json_object_get(headcount, nm->group);
		long long count = json_integer_value(v);
		double days = nm->per == NORM_PER_DAY ? c->days : 1;
		*sum += nm->qty * (double)count * days;
		len = append(buf, size, len, "%s%g/%s x %lld %s%s", found ? " + " : "",
			     nm->qty, nm->per == NORM_PER_DAY ? "d" : "stay",
			     count, nm->group, v ? "" : " (not reported)");
		if (nm->per == NORM_PER_DAY)
			len = append(buf, size, len, " x %.4g d", c->days);
		found++;
	}
	return found;
}

static int add_row(struct ctx *c, const char *shelter,
		   const struct catalog_item *it, int u, long long requested,
		   long long from_norms, long long on_site, const char *rule)
{
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s}",
				"shelter_id", shelter, "item", it->code, "unit",
				it->unit, "urgency", urgencies[u], "needed",
				(json_int_t)(requested + from_norms), "from_norms",
				(json_int_t)from_norms, "requested",
				(json_int_t)requested, "on_site",
				(json_int_t)on_site, "rule", rule);
	return row && json_array_append_new(c->rows, row) == 0 ? 0 : SL_ENOMEM;
}

/* The rows of item i at one shelter, from its tally and headcount. */
static int estimate_item(struct ctx *c, const char *shelter, size_t i,
			 const json_t *headcount)
{
	const struct tally *t = &c->t[i];
	char terms[300], rule[512];
	double sum;
	size_t nnorms = norm_sum(c, i, headcount, &sum, terms, sizeof(terms));
	long long requested = t->req[0] + t->req[1] + t->req[2];
	if (nnorms == 0 && requested == 0)
		return 0;
	long long norms = whole_units(sum);
	long long gap = norms > t->on_site ? norms - t->on_site : 0;
	long long beyond = gap > requested ? gap - requested : 0;
	if (nnorms == 0)
		snprintf(rule, sizeof(rule), "requested %lld (no norm for this item)",
			 requested);
	else if (requested == 0)
		snprintf(rule, sizeof(rule),
			 "norms %lld - on site %lld = %lld; norms = ceil(%s)", norms,
			 t->on_site, beyond, terms);
	else
		snprintf(rule, sizeof(rule),
			 "max(requested %lld, norms %lld - on site %lld) = %lld;"
			 " norms = ceil(%s)",
			 requested, norms, t->on_site, requested + beyond, terms);
	for (int u = 0; u < NURG; u++) {
		long long extra = u == URG_NORMAL ? beyond : 0;
		if (t->req[u] + extra > 0 &&
		    add_row(c, shelter, catalog_at(c->items, i), u, t->req[u],
			    extra, t->on_site, rule) != 0)
			return SL_ENOMEM;
	}
	return 0;
}

/* Adds each line's qty to the tally of its item (and urgency). */
static int tally_lines(struct ctx *c, const char *shelter, const json_t *lines,
		       int stock, sl_error *err)
{
	size_t k;
	const json_t *line;
	json_array_foreach (lines, k, line) {
		const char *code = json_string_value(json_object_get(line, "item"));
		size_t i = item_index(c->items, code);
		if (i == (size_t)-1)
			return sl_error_set(err, SL_EINVAL,
					    "shelter %s: the newest report names "
					    "item '%s', not in the item catalogue",
					    shelter, code ? code : "?");
		long long qty = json_integer_value(json_object_get(line, "qty"));
		if (stock) {
			c->t[i].on_site += qty;
			continue;
		}
		const char *urg = json_string_value(json_object_get(line, "urgency"));
		int u = 0;
		while (u < URG_NORMAL && (urg == NULL || strcmp(urg, urgencies[u]) != 0))
			u++;
		c->t[i].req[u] += qty;
	}
	return 0;
}

static int estimate_shelter(struct ctx *c, const char *shelter,
			    const char *payload, sl_error *err)
{
	json_error_t jerr;
	json_t *msg = json_loads(payload, 0, &jerr);
	if (msg == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "shelter %s: stored report unreadable: %s",
				    shelter, jerr.text);
	memset(c->t, 0, catalog_count(c->items) * sizeof(*c->t));
	int rc = tally_lines(c, shelter, json_object_get(msg, "needs"), 0, err);
	if (rc == 0)
		rc = tally_lines(c, shelter, json_object_get(msg, "stock"), 1, err);
	const json_t *headcount = json_object_get(msg, "headcount");
	/* catalogue order is code order: rows come out sorted by item */
	for (size_t i = 0; rc == 0 && i < catalog_count(c->items); i++)
		if ((rc = estimate_item(c, shelter, i, headcount)) != 0)
			sl_error_set(err, rc, "out of memory");
	json_decref(msg);
	return rc;
}

static int estimate_all(struct ctx *c, hq_store *st, sl_error *err)
{
	json_t *reports;
	size_t k;
	const json_t *r;
	int rc = picture_query(st, reports_sql, NULL, &reports, err);
	if (rc != 0)
		return rc;
	json_array_foreach (reports, k, r) {
		rc = estimate_shelter(
			c, json_string_value(json_object_get(r, "shelter_id")),
			json_string_value(json_object_get(r, "payload")), err);
		if (rc != 0)
			break;
	}
	json_decref(reports);
	return rc;
}

int estimate_needs(hq_store *st, const catalog *items, const struct norms *n,
		   const struct estimate_opts *o, json_t **rows, sl_error *err)
{
	struct ctx c = { .items = items, .n = n, .days = o->horizon_h / 24 };
	int rc = 0;
	*rows = NULL;
	if (!(o->horizon_h >= 1 && o->horizon_h <= 168))
		return sl_error_set(err, SL_EINVAL,
				    "horizon: %g h is not from 1 h to 168 h (7 days)",
				    o->horizon_h);
	c.norm_item = calloc(norms_count(n) + 1, sizeof(*c.norm_item));
	c.t = calloc(catalog_count(items) + 1, sizeof(*c.t));
	c.rows = json_array();
	if (c.norm_item == NULL || c.t == NULL || c.rows == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t j = 0; rc == 0 && j < norms_count(n); j++)
		if ((c.norm_item[j] = item_index(items, norms_at(n, j)->item)) ==
		    (size_t)-1)
			rc = sl_error_set(err, SL_EINVAL,
					  "norm %zu: item '%s' is not in the item "
					  "catalogue",
					  j, norms_at(n, j)->item);
	if (rc == 0)
		rc = estimate_all(&c, st, err);
	free(c.norm_item);
	free(c.t);
	if (rc != 0) {
		json_decref(c.rows);
		return rc;
	}
	*rows = c.rows;
	return 0;
}

/* ---- the command line ---- */

static const struct view_column estimate_cols[] = {
	{ "shelter_id", "SHELTER", 14 }, { "item", "ITEM", 16 },
	{ "urgency", "URGENCY", 8 },	 { "needed", "NEEDED", 7 },
	{ "unit", "UNIT", 12 },		 { "from_norms", "NORMS", 6 },
	{ "requested", "REQ", 6 },	 { "on_site", "ON_SITE", 7 },
	{ "rule", "RULE", 0 },
};

/* "24h", "36h", "3d", "1.5d": hours from 1 to 168. */
static int parse_horizon(const char *text, double *hours)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) ||
	    (strcmp(end, "h") != 0 && strcmp(end, "d") != 0))
		return SL_EINVAL;
	*hours = *end == 'd' ? v * 24 : v;
	return *hours >= 1 && *hours <= 168 ? 0 : SL_EINVAL;
}

static int estimate_show(const struct hq_config *cfg,
			 const struct estimate_opts *o, enum view_format fmt,
			 sl_error *err)
{
	json_t *rows = NULL;
	struct norms *n = NULL;
	hq_store *st = NULL;
	catalog *items = hq_load_items(cfg, err);
	int rc = SL_EINVAL;
	if (items && (n = hq_load_norms(cfg, items, err)) != NULL &&
	    (st = store_open(cfg->common.database, err)) != NULL &&
	    (rc = estimate_needs(st, items, n, o, &rows, err)) == 0) {
		rc = view_render(rows, estimate_cols,
				 sizeof(estimate_cols) / sizeof(estimate_cols[0]),
				 fmt, stdout, err);
		json_decref(rows);
	}
	store_close(st);
	norms_free(n);
	catalog_free(items);
	return rc;
}

int estimate_main(const struct hq_config *cfg, int argc, char **argv)
{
	struct estimate_opts o = { time(NULL), 24 };
	enum view_format fmt = VIEW_TABLE;
	sl_error err = { "" };

	for (int i = 1; i < argc; i += 2) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (val && strcmp(argv[i], "--horizon") == 0) {
			if (parse_horizon(val, &o.horizon_h) == 0)
				continue;
			fprintf(stderr, "hq estimate: --horizon: '%s' is not "
					"from 1h to 168h (or 7d), such as 24h "
					"or 3d\n",
				val);
		} else if (val && strcmp(argv[i], "--format") == 0) {
			if (view_format_parse(val, &fmt) == 0 && fmt != VIEW_GEOJSON)
				continue;
			fprintf(stderr, "hq estimate: --format: '%s' is not "
					"table, csv or json\n",
				val);
		} else {
			fprintf(stderr, "hq estimate: unknown or incomplete "
					"argument '%s' (see hq -h)\n",
				argv[i]);
		}
		return 2;
	}
	if (estimate_show(cfg, &o, fmt, &err) != 0) {
		fprintf(stderr, "hq estimate: %s\n", err.text);
		return 1;
	}
	return 0;
}
