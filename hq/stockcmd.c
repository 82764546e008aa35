/*
 * stockcmd.c - the command line of depots, vehicles and stock:
 *   hq depot add ID --name NAME --lat DEG --lon DEG
 *   hq depots [--format ...]
 *   hq vehicle add ID --depot DEPOT --max-kg KG --max-l LITRES [--name NAME]
 *   hq stock [--depot DEPOT] [--format ...]
 *   hq stock adjust DEPOT ITEM [+-]QTY --why TEXT [--who NAME]
 *   hq stock ledger [--limit N] [--format ...]
 *   hq stock import FILE.csv [--why TEXT] [--who NAME]
 * Every change goes through depot.c, so the same rules hold for a
 * console.  Who made a change defaults to the login name.
 */
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvfile.h"
#include "hq.h"
#include "mem.h"

/* Shared with main.c's commands: the catalogue names items. */
catalog *hq_load_items(const struct hq_config *cfg, sl_error *err)
{
	schema_set *set = schema_set_open(cfg->common.schemas, err);
	catalog *items = set ? catalog_load(cfg->common.items, set, err) : NULL;
	schema_set_free(set);
	return items;
}

/* "--key value" pairs after the positional arguments. */
struct opts {
	const char *name, *depot, *why, *who, *format, *limit;
	const char *lat, *lon, *max_kg, *max_l;
};

static int parse_opts(const char *cmd, int argc, char **argv,
		      struct opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} known[] = {
		{ "--name", offsetof(struct opts, name) },
		{ "--depot", offsetof(struct opts, depot) },
		{ "--why", offsetof(struct opts, why) },
		{ "--who", offsetof(struct opts, who) },
		{ "--format", offsetof(struct opts, format) },
		{ "--limit", offsetof(struct opts, limit) },
		{ "--lat", offsetof(struct opts, lat) },
		{ "--lon", offsetof(struct opts, lon) },
		{ "--max-kg", offsetof(struct opts, max_kg) },
		{ "--max-l", offsetof(struct opts, max_l) },
	};
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i += 2) {
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) &&
		       strcmp(argv[i], known[k].flag) != 0)
			k++;
		if (k == sizeof(known) / sizeof(known[0]) || i + 1 >= argc) {
			fprintf(stderr, "hq %s: unknown or incomplete option "
					"'%s' (see hq -h)\n",
				cmd, argv[i]);
			return 2;
		}
		*(const char **)((char *)o + known[k].off) = argv[i + 1];
	}
	return 0;
}

static int number(const char *what, const char *text, double lo, double hi,
		  double *out)
{
	char *end;
	errno = 0;
	double v = text ? strtod(text, &end) : NAN;
	if (text == NULL || errno || end == text || *end || !(v >= lo) ||
	    !(v <= hi)) {
		fprintf(stderr, "hq: %s: '%s' is not a number from %g to %g\n",
			what, text ? text : "(missing)", lo, hi);
		return 2;
	}
	*out = v;
	return 0;
}

const char *hq_login_name(void)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *user = getenv("USER");
	return pw ? pw->pw_name : user ? user : "unknown";
}

int hq_format_arg(const char *name, enum view_format *fmt)
{
	*fmt = VIEW_TABLE;
	if (name && view_format_parse(name, fmt) != 0) {
		fprintf(stderr, "hq: --format: '%s' is not table, csv, json or "
				"geojson\n",
			name);
		return 2;
	}
	return 0;
}

static int format_of(const struct opts *o, enum view_format *fmt)
{
	return hq_format_arg(o->format, fmt);
}

static int show(json_t *rows, const struct view_column *cols, size_t n,
		enum view_format fmt, sl_error *err)
{
	int rc = view_render(rows, cols, n, fmt, stdout, err);
	json_decref(rows);
	return rc;
}

/* ---- hq stock import ---- */

/* Columns of a stock file, by header (English or Japanese). */
enum stock_col { SC_DEPOT, SC_ITEM, SC_QTY, SC_WHY, SC_N };
static const char *const stock_headers[SC_N][3] = {
	[SC_DEPOT] = { "depot", "depot_id", "拠点" },
	[SC_ITEM] = { "item", "item_code", "品目" },
	[SC_QTY] = { "qty", "quantity", "数量" },
	[SC_WHY] = { "why", "reason", "理由" },
};

struct stock_file {
	const char *path, *why, *who;
	int col[SC_N];
	struct stock_change *changes;
	char **strings; /* what changes point into; each sl_free'd */
	size_t n, nstrings;
};

static char *keep(struct stock_file *f, const char *text)
{
	char *copy = sl_strdup(text);
	if (copy)
		f->strings[f->nstrings++] = copy;
	return copy;
}

static int stock_header(struct stock_file *f, int line, int n, char **cells,
			sl_error *err)
{
	for (int c = 0; c < SC_N; c++)
		f->col[c] = -1;
	for (int i = 0; i < n; i++) {
		const char *h = csvfile_normalize(cells[i], 1);
		for (int c = 0; c < SC_N; c++)
			for (int k = 0; k < 3; k++)
				if (strcmp(h, stock_headers[c][k]) == 0)
					f->col[c] = i;
	}
	for (int c = 0; c < SC_WHY; c++)
		if (f->col[c] < 0)
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: no column '%s' (the header "
					    "needs depot, item and qty; why is "
					    "optional)",
					    f->path, line, stock_headers[c][0]);
	return 0;
}

static int stock_row(int line, int n, char **cells, void *arg, sl_error *err)
{
	struct stock_file *f = arg;
	const char *v[SC_N] = { 0 };
	char ref[4200];
	if (f->n == 0 && f->col[SC_DEPOT] == -2)
		return stock_header(f, line, n, cells, err);
	for (int c = 0; c < SC_N; c++)
		if (f->col[c] >= 0)
			v[c] = f->col[c] < n
				       ? csvfile_normalize(cells[f->col[c]], 1)
				       : "";
	char *end;
	errno = 0;
	long long qty = strtoll(v[SC_QTY], &end, 10);
	if (errno || end == v[SC_QTY] || *end)
		return sl_error_set(err, SL_EINVAL,
				    "%s:%d: column 'qty': '%s' is not a whole "
				    "number of units (+ in, - out)",
				    f->path, line, v[SC_QTY]);
	snprintf(ref, sizeof(ref), "%s:%d", f->path, line);
	struct stock_change *c = &f->changes[f->n];
	if ((c->depot_id = keep(f, v[SC_DEPOT])) == NULL ||
	    (c->item = keep(f, v[SC_ITEM])) == NULL ||
	    (c->why = keep(f, v[SC_WHY] && *v[SC_WHY] ? v[SC_WHY]
							: f->why)) == NULL ||
	    (c->ref = keep(f, ref)) == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	c->who = f->who;
	c->delta = qty;
	f->n++;
	return 0;
}

int stock_import(hq_store *st, const catalog *items, const char *path,
		 const char *why, const char *who, time_t now, size_t *rows,
		 sl_error *err)
{
	struct stock_file f = { path, why, who, { -2 }, NULL, NULL, 0, 0 };
	unsigned char *data = NULL;
	size_t len;
	int rc = csvfile_read(path, &data, &len, err);
	*rows = 0;
	if (rc != 0)
		return rc;
	f.changes = sl_calloc(CSVFILE_MAX_ROWS + 1, sizeof(*f.changes));
	f.strings = sl_calloc(4 * (CSVFILE_MAX_ROWS + 1), sizeof(*f.strings));
	if (f.changes == NULL || f.strings == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0)
		rc = csvfile_parse(path, data, len, stock_row, &f, err);
	if (rc == 0 && f.n == 0)
		rc = sl_error_set(err, SL_EINVAL, "%s: no stock rows", path);
	/* one transaction: a bad row anywhere leaves the ledger as it was */
	if (rc == 0 && (rc = stock_post(st, items, f.changes, f.n, now, err)) == 0)
		*rows = f.n;
	for (size_t i = 0; i < f.nstrings; i++)
		sl_free(f.strings[i]);
	sl_free(f.strings);
	sl_free(f.changes);
	sl_free(data);
	return rc;
}

static int import_cmd(hq_store *st, const catalog *items, int argc,
		      char **argv, sl_error *err)
{
	struct opts o;
	size_t n;
	char why[4200];
	int rc;
	if (argc < 3) {
		fprintf(stderr, "hq stock import: use hq stock import FILE.csv "
				"[--why TEXT] [--who NAME]\n");
		return 2;
	}
	if ((rc = parse_opts("stock import", argc - 3, argv + 3, &o)) != 0)
		return rc;
	snprintf(why, sizeof(why), "%s", o.why ? o.why : "stock import");
	if ((rc = stock_import(st, items, argv[2], why,
			       o.who ? o.who : hq_login_name(), time(NULL), &n,
			       err)) != 0)
		return rc;
	printf("%s: %zu stock changes posted\n", argv[2], n);
	return 0;
}

static int depot_cmd(hq_store *st, int argc, char **argv, sl_error *err)
{
	struct opts o;
	struct depot d = { 0 };
	int rc;
	if (argc < 3 || strcmp(argv[1], "add") != 0) {
		fprintf(stderr, "hq depot: use hq depot add ID --name NAME "
				"--lat DEG --lon DEG\n");
		return 2;
	}
	if ((rc = parse_opts("depot add", argc - 3, argv + 3, &o)) != 0 ||
	    (rc = number("--lat", o.lat, -90, 90, &d.lat)) != 0 ||
	    (rc = number("--lon", o.lon, -180, 180, &d.lon)) != 0)
		return rc;
	d.id = argv[2];
	d.name = o.name;
	if ((rc = depot_add(st, &d, time(NULL), err)) != 0)
		return rc;
	printf("depot %s: %s at %.5f, %.5f\n", d.id, d.name, d.lat, d.lon);
	return 0;
}

static int vehicle_cmd(hq_store *st, int argc, char **argv, sl_error *err)
{
	struct opts o;
	struct vehicle v = { 0 };
	int rc;
	if (argc < 3 || strcmp(argv[1], "add") != 0) {
		fprintf(stderr, "hq vehicle: use hq vehicle add ID --depot DEPOT "
				"--max-kg KG --max-l LITRES [--name NAME]\n");
		return 2;
	}
	if ((rc = parse_opts("vehicle add", argc - 3, argv + 3, &o)) != 0 ||
	    (rc = number("--max-kg", o.max_kg, 0, 1e6, &v.max_weight_kg)) ||
	    (rc = number("--max-l", o.max_l, 0, 1e7, &v.max_volume_l)))
		return rc;
	v.id = argv[2];
	v.depot_id = o.depot ? o.depot : "";
	v.name = o.name;
	if ((rc = vehicle_add(st, &v, err)) != 0)
		return rc;
	printf("vehicle %s at %s: %g kg, %g l\n", v.id, v.depot_id,
	       v.max_weight_kg, v.max_volume_l);
	return 0;
}

static int adjust(hq_store *st, const catalog *items, int argc, char **argv,
		  sl_error *err)
{
	struct opts o;
	char *end;
	int rc;
	if (argc < 5) {
		fprintf(stderr, "hq stock adjust: use hq stock adjust DEPOT "
				"ITEM [+-]QTY --why TEXT [--who NAME]\n");
		return 2;
	}
	if ((rc = parse_opts("stock adjust", argc - 5, argv + 5, &o)) != 0)
		return rc;
	errno = 0;
	long long delta = strtoll(argv[4], &end, 10);
	if (errno || end == argv[4] || *end) {
		fprintf(stderr, "hq stock adjust: '%s' is not a whole number "
				"of units\n",
			argv[4]);
		return 2;
	}
	struct stock_change c = { argv[2], argv[3], o.why,
				  o.who ? o.who : hq_login_name(), NULL, delta };
	if ((rc = stock_post(st, items, &c, 1, time(NULL), err)) != 0)
		return rc;
	long long now;
	if ((rc = stock_on_hand(st, c.depot_id, c.item, &now, err)) != 0)
		return rc;
	printf("%s %s: %+lld, now %lld\n", c.depot_id, c.item, delta, now);
	return 0;
}

static const struct view_column depot_cols[] = {
	{ "depot_id", "DEPOT", 12 }, { "vehicles", "VEHICLES", 8 },
	{ "capacity_kg", "KG", 10 }, { "capacity_l", "LITRES", 10 },
	{ "lat", "LAT", 10 },	     { "lon", "LON", 11 },
	{ "name", "NAME", 0 },
};
static const struct view_column stock_cols[] = {
	{ "depot_id", "DEPOT", 12 }, { "item", "ITEM", 20 },
	{ "qty", "QTY", 10 },	     { "unit", "UNIT", 8 },
	{ "changed", "CHANGED", 20 }, { "item_name", "NAME", 0 },
};
static const struct view_column ledger_cols[] = {
	{ "id", "ID", 6 },	   { "at", "AT", 20 },	  { "depot_id", "DEPOT", 12 },
	{ "item", "ITEM", 18 },	   { "delta", "DELTA", 8 }, { "who", "WHO", 10 },
	{ "ref", "REF", 16 },	   { "reason", "WHY", 0 },
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static int stock_cmd(hq_store *st, const catalog *items, int argc,
		     char **argv, sl_error *err)
{
	struct opts o;
	enum view_format fmt;
	json_t *rows;
	int rc;
	if (argc > 1 && strcmp(argv[1], "adjust") == 0)
		return adjust(st, items, argc, argv, err);
	if (argc > 1 && strcmp(argv[1], "import") == 0)
		return import_cmd(st, items, argc, argv, err);
	int ledger = argc > 1 && strcmp(argv[1], "ledger") == 0;
	if ((rc = parse_opts("stock", argc - 1 - ledger, argv + 1 + ledger,
			     &o)) != 0 ||
	    (rc = format_of(&o, &fmt)) != 0)
		return rc;
	if (ledger) {
		double limit = 50;
		if (o.limit && (rc = number("--limit", o.limit, 1, 1e6, &limit)))
			return rc;
		if ((rc = picture_ledger(st, (int)limit, &rows, err)) != 0)
			return rc;
		return show(rows, ledger_cols, NCOLS(ledger_cols), fmt, err);
	}
	if ((rc = picture_stock(st, items, o.depot, &rows, err)) != 0)
		return rc;
	return show(rows, stock_cols, NCOLS(stock_cols), fmt, err);
}

int stockcmd_main(const struct hq_config *cfg, int argc, char **argv)
{
	sl_error err = { "" };
	catalog *items = NULL;
	int rc = 0;
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL)
		goto out;
	if (strcmp(argv[0], "stock") == 0 &&
	    (items = hq_load_items(cfg, &err)) == NULL) {
		rc = SL_EINVAL;
	} else if (strcmp(argv[0], "depot") == 0) {
		rc = depot_cmd(st, argc, argv, &err);
	} else if (strcmp(argv[0], "vehicle") == 0) {
		rc = vehicle_cmd(st, argc, argv, &err);
	} else if (strcmp(argv[0], "stock") == 0) {
		rc = stock_cmd(st, items, argc, argv, &err);
	} else { /* depots */
		struct opts o;
		enum view_format fmt;
		json_t *rows;
		if ((rc = parse_opts("depots", argc - 1, argv + 1, &o)) == 0 &&
		    (rc = format_of(&o, &fmt)) == 0 &&
		    (rc = picture_depots(st, &rows, &err)) == 0)
			rc = show(rows, depot_cols, NCOLS(depot_cols), fmt, &err);
	}
out:
	catalog_free(items);
	store_close(st);
	if (st == NULL || (rc != 0 && rc != 2)) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	return rc;
}
