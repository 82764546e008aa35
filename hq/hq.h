/*
 * hq.h - the whole surface of the hq program, one banner per module.
 *
 * hq ingests every shelter message durably into SQLite, acknowledges
 * what it committed, and answers operators' questions about the live
 * picture.  Functions here are what a console (later: HTTP) calls too.
 */
#ifndef HQ_H
#define HQ_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "catalog.h"
#include "conf.h"
#include "error.h"
#include "schema.h"
#include "topic.h"

/* ---- main.c: configuration ---- */

struct hq_config {
	struct conf_common common;
	long long batch_max;      /* messages per ingest transaction */
	long long batch_wait_ms;  /* how long a batch may wait to fill */
	long long ack_interval_ms; /* least time between two acks to one shelter */
	long long session_expiry_s;
	long long stale_after_s;
	char *client_id;     /* NULL: sl-hq-<municipality> */
	char *shared_group;  /* MQTT 5 shared subscription group, or NULL */
	char *feed_file;     /* public feed written here by `run`, or NULL */
	char *feed_credit;   /* data credit carried by the feed, or NULL */
	long long feed_interval_s;
	long long shelter_rate;  /* messages per second a shelter may send */
	long long shelter_burst; /* ... and at once */
	char *norms_file;	 /* needs norms (norms.c) */
};

/* ---- stockcmd.c: depot, vehicle and stock commands ---- */

/* The item catalogue named by the configuration; NULL with err set.
 * The caller owns it (catalog_free). */
catalog *hq_load_items(const struct hq_config *cfg, sl_error *err);


/* argv[0] is depot, depots, vehicle or stock; returns the exit status. */
int stockcmd_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- store.c: HQ's database ---- */

typedef struct hq_store hq_store;

/* Opens and migrates the database.  Returns NULL with err set. */
hq_store *store_open(const char *path, sl_error *err);
void store_close(hq_store *st);
/* The connection, for modules that keep their own prepared statements
 * (registry.c, timeline.c); owned by st. */
struct sqlite3 *store_db(hq_store *st);

int store_begin(hq_store *st, sl_error *err);
int store_commit(hq_store *st, sl_error *err);
void store_rollback(hq_store *st);

/* Outcome of storing one message. */
enum store_result { STORE_NEW, STORE_DUPLICATE, STORE_IGNORED };

/*
 * Stores a validated message inside the current transaction.  `kind` and
 * the topic's ids have been checked against the payload by the caller.
 * For status and receipt, advances the shelter's contiguous acked_seq.
 */
int store_message(hq_store *st, enum topic_kind kind, const json_t *msg,
		  time_t received_at, enum store_result *result, sl_error *err);

/*
 * A rejected message that still names its sequence number settles it:
 * resending cannot repair a numbered payload, so the acknowledgement
 * must be able to move past it (docs/protocol.md, "Dead letters").
 */
struct store_settle {
	const char *shelter_id, *municipality;
	long long seq;
};

/* Records a rejected message (payload capped at MSG_MAX_BYTES); with
 * `settle` non-NULL also settles that shelter's seq. */
int store_dead_letter(hq_store *st, const char *topic, const char *reason,
		      const void *payload, size_t len, size_t original_len,
		      const struct store_settle *settle, time_t received_at,
		      sl_error *err);

/* Highest seq such that 1..seq are all stored for this shelter. */
int store_acked_seq(hq_store *st, const char *shelter_id, long long *seq,
		    sl_error *err);

/* An operator opens (open = 1) or closes a shelter, listed or heard
 * from; SL_ENOTFOUND when neither. */
int store_set_operator_state(hq_store *st, const char *shelter_id, int open,
			     time_t now, sl_error *err);

/* One row of the shelters view. */
struct store_shelter {
	const char *shelter_id, *municipality, *name, *status, *last_time;
	long long total, last_seq, acked_seq, reports, registered, birth;
	long long last_seen; /* Unix time of the last message of any kind */
	int has_total;
};

typedef int (*store_shelter_fn)(const struct store_shelter *row, void *arg);
/* Calls fn for each shelter in id order; strings live until fn returns. */
int store_each_shelter(hq_store *st, store_shelter_fn fn, void *arg,
		       sl_error *err);

/* ---- depot.c: depots, vehicles, the stock ledger ---- */

struct depot {
	const char *id, *name;
	double lat, lon;
};
struct vehicle {
	const char *id, *depot_id, *name; /* name may be NULL */
	double max_weight_kg, max_volume_l;
};
/* One ledger line: delta units of item at depot_id, with why (required),
 * who and ref (a file:line, a plan or dispatch id; may be NULL). */
struct stock_change {
	const char *depot_id, *item, *why, *who, *ref;
	long long delta;
};

/* Adds or updates (same id) a depot or a vehicle. */
int depot_add(hq_store *st, const struct depot *d, time_t now, sl_error *err);
int vehicle_add(hq_store *st, const struct vehicle *v, sl_error *err);
/* Posts changes in one transaction: all or none.  Refused (SL_EINVAL,
 * err naming the change's ref) for an unknown depot or item, a zero or
 * absurd quantity, no reason, or stock going below zero. */
int stock_post(hq_store *st, const catalog *items,
	       const struct stock_change *changes, size_t n, time_t now,
	       sl_error *err);
/* The same inside the caller's transaction (which it must roll back on
 * error): for changes that go with other writes, such as a dispatch. */
int stock_post_in(hq_store *st, const catalog *items,
		  const struct stock_change *changes, size_t n, time_t now,
		  sl_error *err);
int stock_on_hand(hq_store *st, const char *depot_id, const char *item,
		  long long *qty, sl_error *err);

/* ---- shelterimport.c: official shelter lists into the registry ---- */

/* The two layouts read (docs/operations.md, "Official shelter lists"). */
enum shelterimport_layout { SHELTERIMPORT_OPENDATA, SHELTERIMPORT_GSI };
/* "opendata" or "gsi", as registry.layout stores it. */
const char *shelterimport_layout_name(enum shelterimport_layout l);

/*
 * Capacity from 想定収容人数's free text: "屋内1,371人／屋外5,470人（面積の
 * 1/2）", either part alone, in either order, half- or full-width, with
 * or without separators and notes in parentheses; or a bare number (the
 * indoor capacity).  *indoor, *outdoor are -1 where the text says
 * nothing (all of "" says nothing).  SL_EINVAL with err for other text.
 */
int shelterimport_capacity(const char *text, long long *indoor,
			   long long *outdoor, sl_error *err);
/*
 * The 6-digit 全国地方公共団体コード (with its check digit) from 6 digits,
 * 5 (no check digit, or a 6-digit code that lost its leading zero) or 4
 * (a 5-digit one that did), ASCII; "17202.0" too.  prefecture (may be
 * NULL) is a text starting with a prefecture's name, as "石川県七尾市":
 * it settles 5 digits that read both ways and must agree with the code.
 */
int shelterimport_municipality(const char *text, const char *prefecture,
			       char out[7], sl_error *err);

/* Called with each bad row's error (FILE:LINE:COLUMN: column 'x': rule). */
typedef void (*shelterimport_bad_fn)(const sl_error *why, void *arg);

struct shelterimport_opts {
	const char *municipality; /* for rows without a code (GSI: all) */
	int skip_bad;		  /* import the good rows; else none */
	time_t now;		  /* registry.imported_at */
	shelterimport_bad_fn on_bad; /* may be NULL */
	void *arg;
};
struct shelterimport_result {
	enum shelterimport_layout layout;
	long long rows;		  /* non-empty rows after the header */
	long long added, updated; /* written (0 when nothing was) */
	long long skipped;	  /* bad rows */
	long long unplaced;	  /* written without lat/lon */
};

/*
 * Upserts every row of the list in data (path names it in errors and in
 * registry.source_file) in one transaction.  A bad row goes to o->on_bad;
 * then with skip_bad it is left out, else nothing is written and the
 * first bad row's error is returned (SL_EINVAL; every bad row was passed
 * to on_bad).  A file that cannot be read as CSV (encoding, quoting, a
 * cap, an unknown header) is refused whole either way.
 */
int shelterimport_data(hq_store *st, const char *path,
		       const unsigned char *data, size_t len,
		       const struct shelterimport_opts *o,
		       struct shelterimport_result *res, sl_error *err);
/* The same for the file at path (read whole, at most CSVFILE_MAX_BYTES). */
int shelterimport_file(hq_store *st, const char *path,
		       const struct shelterimport_opts *o,
		       struct shelterimport_result *res, sl_error *err);
/* `import-shelters FILE [--skip-bad]`; returns the exit status. */
int shelterimport_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- picture.c: the live picture, as JSON ---- */

struct picture_opts {
	time_t now;
	long long stale_after_s; /* no report for longer: status "stale" */
};

/* Every shelter, listed or heard from, in id order: an array of objects
 * (docs/operations.md lists the fields).  The caller owns *rows. */
int picture_shelters(hq_store *st, const struct picture_opts *o,
		     json_t **rows, sl_error *err);
/* One shelter's row plus history, needs, recent and rejected messages;
 * SL_ENOTFOUND for an unknown id.  The caller owns *out. */
int picture_shelter(hq_store *st, const char *id, const struct picture_opts *o,
		    json_t **out, sl_error *err);
/* Starts a query with the table open_reports(shelter_id, seq): the
 * newest status report of each shelter no operator has closed.  The open
 * needs and the needs estimate both read these reports. */
#define PICTURE_OPEN_REPORTS                                                  \
	"WITH open_reports AS (SELECT h.shelter_id, max(h.seq) AS seq"       \
	" FROM headcounts h JOIN shelters s USING (shelter_id)"               \
	" WHERE s.operator_state IS NOT 'closed' GROUP BY h.shelter_id) "
/* Open needs (newest report of each shelter not closed), summed by item
 * or listed by shelter; urgency NULL for all.  items may be NULL (no
 * names).  The caller owns *rows. */
int picture_needs(hq_store *st, const catalog *items, int by_shelter,
		  const char *urgency, json_t **rows, sl_error *err);
/* Depots with their vehicles' count and capacity; stock on hand by depot
 * and item (depot NULL: all; items may be NULL); the newest ledger
 * lines (limit).  The caller owns *rows. */
int picture_depots(hq_store *st, json_t **rows, sl_error *err);
int picture_stock(hq_store *st, const catalog *items, const char *depot,
		  json_t **rows, sl_error *err);
int picture_ledger(hq_store *st, int limit, json_t **rows, sl_error *err);
/* Any read-only query as rows: each row an object keyed by column name;
 * param, when not NULL, is bound to ?1.  The caller owns *rows. */
int picture_query(hq_store *st, const char *sql, const char *param,
		  json_t **rows, sl_error *err);

/* ---- feed.c: the public feed ---- */

/* The public feed (schemas/feed.schema.json) of the shelters open now;
 * credit may be NULL or "".  The caller owns *out. */
int feed_build(hq_store *st, const catalog *items, const char *municipality,
	       const char *credit, const struct picture_opts *o, json_t **out,
	       sl_error *err);
/* Replaces the file at path atomically (write, fsync, rename). */
int feed_write(const json_t *feed, const char *path, sl_error *err);

/* ---- limit.c: per-shelter rate limits ---- */

typedef struct limit_table limit_table;
/* rate tokens per second, at most burst; NULL when out of memory. */
limit_table *limit_new(double rate, double burst);
void limit_free(limit_table *t);
/* 1: id may send now (a token taken); 0: over its rate; SL_ENOMEM.
 * now in seconds, monotonic. */
int limit_take(limit_table *t, const char *id, double now);

/* ---- ingest.c: the `hq run` daemon ---- */

struct ingest_counters {
	unsigned long long received, stored, duplicate, rejected, acknowledged;
	unsigned long long rate_limited; /* dropped unstored: the agent resends */
};

/* Runs until SIGINT/SIGTERM; returns 0 on a clean stop. */
int ingest_run(const struct hq_config *cfg, sl_error *err);

/* ---- view.c: operator views ---- */

enum view_format { VIEW_TABLE, VIEW_CSV, VIEW_JSON, VIEW_GEOJSON };
int view_format_parse(const char *name, enum view_format *out);
/* stockcmd.c, for every command: who is making a change (the login
 * name); --format's value (NULL: table), 2 with a message if bad. */
const char *hq_login_name(void);
int hq_format_arg(const char *name, enum view_format *fmt);
/* Posts a stock file (CSV with a header: depot, item, qty and optional
 * why; UTF-8, BOM or CP932) as ledger changes with ref FILE:LINE, all in
 * one transaction: a bad row anywhere (named FILE:LINE and the rule)
 * posts nothing.  why is the reason of rows without one; *rows counts
 * the changes posted. */
int stock_import(hq_store *st, const catalog *items, const char *path,
		 const char *why, const char *who, time_t now, size_t *rows,
		 sl_error *err);

/* A column: key in each row object ("groups.elderly" reaches into a
 * nested object), table header, table width (0: last, unpadded). */
struct view_column {
	const char *key, *header;
	int width;
};
/* Renders an array of row objects: table, CSV (UTF-8 with a BOM, CRLF;
 * the keys are the header), JSON, or GeoJSON (rows with lat/lon). */
int view_render(const json_t *rows, const struct view_column *cols,
		size_t ncols, enum view_format fmt, FILE *out, sl_error *err);
/* A FeatureCollection of rows placed by their lat/lon (null geometry
 * without); credit, if given, as "attribution".  NULL when out of memory. */
json_t *view_geojson(const json_t *rows, const char *credit);

int view_shelters(hq_store *st, const struct picture_opts *o,
		  enum view_format fmt, FILE *out, sl_error *err);
int view_shelter(hq_store *st, const char *id, const struct picture_opts *o,
		 enum view_format fmt, FILE *out, sl_error *err);
int view_needs(hq_store *st, const catalog *items, int by_shelter,
	       const char *urgency, enum view_format fmt, FILE *out,
	       sl_error *err);

/* ---- timeline.c: headcount over time ---- */

/* For every distinct report time T (status messages' `time`, compared as
 * instants), oldest first: {"time", "shelters", "total"}, where shelters
 * counts the shelters whose latest report at or before T has a total
 * above 0 and total sums those totals; time is T as a report wrote it.
 * The caller owns *rows. */
int timeline_rows(hq_store *st, json_t **rows, sl_error *err);
/* The timeline as a table, CSV (view_render's) or JSON; SL_EINVAL for
 * geojson. */
int timeline_view(hq_store *st, enum view_format fmt, FILE *out,
		  sl_error *err);

/* ---- norms.c: per-person norms for estimating needs ---- */

/* How much of an item one member of a headcount group needs
 * (data/norms.json, schemas/norms.schema.json). */
enum norm_per {
	NORM_PER_DAY, /* consumed daily: scaled by the estimate's horizon */
	NORM_PER_STAY /* held per person (blankets): not scaled */
};
struct norm {
	const char *item;   /* a catalogue code */
	const char *group;  /* "total" or a status report headcount group */
	double qty;	    /* catalogue units per member (per day or stay) */
	enum norm_per per;
	const char *source; /* Sphere, a Cabinet Office guideline, "assumption" */
	const char *note;   /* may be NULL */
};
struct norms; /* opaque: the loaded file */

/*
 * Loads path, validated against the schema "norms" in schemas; every
 * item must be in items and each (item, group) appear once.  Returns
 * NULL with err naming the file, the norm's index and field and the rule
 * broken ("norms.json: /norms/3/item: 'x' is not in the item
 * catalogue").  The caller owns the result (norms_free).
 */
struct norms *norms_load(const char *path, const schema_set *schemas,
			 const catalog *items, sl_error *err);
void norms_free(struct norms *n);
size_t norms_count(const struct norms *n);
/* In file order; valid while n lives. */
const struct norm *norms_at(const struct norms *n, size_t i);

/*
 * Sets the norm (item, group) in the file at path to qty, per and
 * source (and note, may be NULL: the old note is dropped, since it
 * explained the old figure), adding it when new.  The changed file is
 * validated as norms_load does, then replaces the old one atomically
 * (write, fsync, rename).  On any error (SL_EINVAL naming the field and
 * the rule, SL_EIO, SL_ENOMEM) the file is left untouched.
 */
int norms_set(const char *path, const schema_set *schemas,
	      const catalog *items, const struct norm *change, sl_error *err);

/* The norms named by cfg (norms_file); NULL with err set.  The caller
 * owns it (norms_free). */
struct norms *hq_load_norms(const struct hq_config *cfg,
			    const catalog *items, sl_error *err);

/* hq norms [--format ...], hq norms set ITEM GROUP QTY --source TEXT
 * [--per day|stay] [--note TEXT]; returns the exit status. */
int norms_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- estimate.c: needs per shelter and item over a horizon ---- */

struct estimate_opts {
	time_t now;	  /* when the estimate is made (reports are not aged) */
	double horizon_h; /* 1..168 */
};

/*
 * One row per (shelter, item, urgency) with needed > 0, ordered by
 * shelter id, item, urgency (critical, high, normal):
 * {"shelter_id", "item", "unit", "urgency" ("critical"|"high"|"normal"),
 *  "needed", "from_norms", "requested", "on_site" (integer units),
 *  "rule" (short text explaining how needed was computed)}.
 * needed = requested + from_norms: a request keeps its urgency; what the
 * norms add beyond all requests of the item is "normal".  on_site is the
 * item's stock in the report (the same on each row of the item).  The
 * rule (docs/operations.md, "Norms and the needs estimate"): per shelter
 * and item, norms = ceil(sum of qty x group count x horizon days), and
 * needed = max(requested, norms - on site).
 * Reads the newest status report of each shelter (PICTURE_OPEN_REPORTS):
 * shelters closed by operators and shelters without a status report are
 * left out; one whose agent is offline or stale keeps its newest report,
 * since its people did not leave when its network did.
 * Returns 0, SL_EINVAL (horizon out of range, or a stored report naming
 * an item not in items), SL_EDB or SL_ENOMEM.  The caller owns *rows.
 */
int estimate_needs(hq_store *st, const catalog *items, const struct norms *n,
		   const struct estimate_opts *o, json_t **rows, sl_error *err);

/* hq estimate [--horizon 24h|3d|...] [--format table|csv|json];
 * returns the exit status. */
int estimate_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- route.c: packing trucks and ordering stops ---- */

/* One line of a delivery: qty units of item (unit weight and volume
 * from the catalogue; both must be above zero). */
struct route_line {
	const struct catalog_item *item;
	long long qty;
};
/* What one depot sends one shelter.  has_position 0: refused. */
struct route_shelter {
	const char *id, *name; /* name may be NULL */
	double lat, lon;
	int has_position;
	const struct route_line *lines;
	size_t nlines;
};
/* One depot's dispatch problem.  Nothing is copied: the plan built from
 * it points into these arrays, which must outlive the plan. */
struct route_input {
	const struct depot *depot;
	const struct vehicle *vehicles;
	size_t nvehicles;
	const struct route_shelter *shelters;
	size_t nshelters;
};

/* A stop: what to unload at input shelter `shelter`. */
struct route_stop {
	size_t shelter;		  /* index into route_input.shelters */
	struct route_line *lines; /* owned by the plan */
	size_t nlines;
	double weight_kg, volume_l;
};
/* A trip: vehicle `vehicle` (index into route_input.vehicles) leaves the
 * depot, makes the stops in order and returns; `number` counts that
 * vehicle's trips (1, 2, ...), done in that order. */
struct route_trip {
	size_t vehicle;
	int number;
	struct route_stop *stops; /* owned by the plan */
	size_t nstops;
	double weight_kg, volume_l;
	double length_km;    /* depot -> stops -> depot, great circle */
	double nn_length_km; /* the same stops in nearest-neighbour order */
};
/* The trips sorted by vehicle id, then number.  length_km sums them. */
struct route_plan {
	struct route_input in; /* a copy of the input struct, not its arrays */
	struct route_trip *trips;
	size_t ntrips;
	double length_km;
};

/*
 * Packs the deliveries into trips and orders each trip's stops.  No trip
 * exceeds its vehicle's weight or volume (counted in whole grams and
 * millilitres, so a load exactly at capacity fits); a shelter's load that
 * does not fit one truck is split, full loads first; units never split.
 * Deterministic: ties go to the lower id.  Returns 0 and *out (the
 * caller owns it: route_plan_free), or SL_EINVAL with err naming the
 * vehicle, shelter or item and the rule, or SL_ENOMEM; *out is NULL then.
 */
int route_plan_build(const struct route_input *in, struct route_plan **out,
		     sl_error *err);
void route_plan_free(struct route_plan *p);

/* Great-circle distance in km between two positions in degrees. */
double route_km(double lat1, double lon1, double lat2, double lon2);

/* How route_order orders stops.  ROUTE_AUTO: exact up to
 * ROUTE_EXACT_MAX stops, else nearest neighbour then improvement. */
enum route_method { ROUTE_NEAREST, ROUTE_IMPROVED, ROUTE_EXACT, ROUTE_AUTO };
#define ROUTE_EXACT_MAX 10
/*
 * Orders n stops of a tour that starts and ends at point 0, given the
 * symmetric (n + 1) x (n + 1) distance matrix dist (row-major, point i + 1
 * is stop i).  Writes a permutation of 0..n-1 into order and the tour's
 * length into *length.  Ties go to the lower index.  Returns 0, SL_EINVAL
 * for ROUTE_EXACT with n > ROUTE_EXACT_MAX, or SL_ENOMEM; order is then
 * unspecified.
 */
int route_order(const double *dist, size_t n, enum route_method m,
		size_t *order, double *length);

/* ---- routeprint.c: pick lists and stop lists for people ---- */

enum route_sheet {
	ROUTE_PICK_LIST, /* what to load, last stop's goods first */
	ROUTE_STOP_LIST, /* where to go and what to unload there */
};
/* One sheet of every trip, or of one vehicle's trips (vehicle_id not
 * NULL), as CSV (UTF-8 with a BOM, CRLF; view_render's).  Returns 0,
 * SL_ENOTFOUND for an unknown vehicle, SL_ENOMEM or SL_EIO. */
int routeprint_csv(const struct route_plan *p, enum route_sheet sheet,
		   const char *vehicle_id, FILE *out, sl_error *err);
/* Both sheets of every trip as one printable HTML page (UTF-8, print
 * CSS, a page per trip); title may be NULL.  Returns 0 or SL_EIO. */
int routeprint_html(const struct route_plan *p, const char *title, FILE *out,
		    sl_error *err);

/* ---- alloc.c: fair allocation of scarce relief goods ---- */

/* Who gets how much of each item from which depot, when stock is short:
 * critical before high before normal, integer lexicographic max-min of
 * fill ratios inside a class, then least transport, ties by id.  Pure:
 * no database.  docs/allocation.md states the model exactly. */
enum alloc_urgency {
	ALLOC_CRITICAL,
	ALLOC_HIGH,
	ALLOC_NORMAL,
	ALLOC_N_URGENCY
};
/* Bounds: one need line or stock cell; one item's total stock or need. */
#define ALLOC_QTY_MAX	1000000000LL
#define ALLOC_TOTAL_MAX 1000000000000000LL

struct alloc_item {
	const char *id; /* unique; ties and output order follow ids */
};
struct alloc_depot {
	const char *id;
	double lat, lon;	/* required when it holds any stock */
	const long long *stock; /* [n_items] units, or NULL for none */
};
struct alloc_shelter {
	const char *id;
	double lat, lon; /* NAN: unknown (refused if it has a need) */
};
struct alloc_need {
	size_t shelter, item; /* indices into the input's arrays */
	enum alloc_urgency urgency;
	long long qty; /* units; lines for one (shelter, item, urgency) add */
};
struct alloc_input {
	const struct alloc_item *items;
	size_t n_items;
	const struct alloc_depot *depots;
	size_t n_depots;
	const struct alloc_shelter *shelters;
	size_t n_shelters;
	const struct alloc_need *needs;
	size_t n_needs;
};
/* qty units of item from depot to shelter for needs of this urgency. */
struct alloc_line {
	size_t depot, shelter, item; /* input indices */
	enum alloc_urgency urgency;
	long long qty;
	long long distance_m; /* great circle, alloc_distance_m */
};
/* One (shelter, item, urgency) with a need: what it got, and why. */
struct alloc_fill {
	size_t shelter, item;
	enum alloc_urgency urgency;
	long long needed, allocated;
	double ratio; /* allocated / needed */
	char why[160];
};
struct alloc_plan {
	struct alloc_line *lines; /* by item, shelter, urgency, depot id */
	size_t n_lines;
	struct alloc_fill *fills; /* by item id, shelter id, urgency */
	size_t n_fills;
	double transport_unit_km; /* sum of qty x distance */
};

/*
 * Plans the allocation of in (only read).  Returns 0 and *out, owned by
 * the caller (alloc_plan_free); or SL_EINVAL with err naming the field
 * and the rule broken (negative stock, unknown index, missing position,
 * quantity overflow, repeated id), or SL_ENOMEM; *out is then NULL.
 */
int alloc_run(const struct alloc_input *in, struct alloc_plan **out,
	      sl_error *err);
/* alloc_run on at most `threads` threads, the caller's included (0: one
 * per online CPU, up to 8, when the problem is big enough to gain);
 * items are planned in parallel.  The plan does not depend on it.  Both
 * are safe to call from several threads at once. */
int alloc_run_threads(const struct alloc_input *in, int threads,
		      struct alloc_plan **out, sl_error *err);
void alloc_plan_free(struct alloc_plan *p);
const char *alloc_urgency_name(enum alloc_urgency u);
/* The transport cost of one unit: great-circle metres, rounded. */
long long alloc_distance_m(double lat1, double lon1, double lat2, double lon2);

/* ---- plan.c: allocation and dispatch plans ---- */

struct plan_shelter {
	const char *id, *name, *municipality; /* name may be NULL */
	double lat, lon;		      /* NAN: unknown */
};
struct plan_need {
	size_t shelter; /* index into plan_input.shelters */
	size_t item;	/* index into the catalogue (catalog_at) */
	enum alloc_urgency urgency;
	long long qty;
};
/* Nothing is copied: the result points into these arrays. */
struct plan_input {
	const catalog *items;
	const struct depot *depots;
	size_t n_depots;
	const long long *stock; /* [n_depots][catalog_count(items)] */
	const struct vehicle *vehicles; /* any depot's, in any order */
	size_t n_vehicles;
	const struct plan_shelter *shelters;
	size_t n_shelters;
	const struct plan_need *needs;
	size_t n_needs;
};
struct plan_work;
struct plan_result {
	struct alloc_plan *alloc;
	struct route_plan **routes; /* [n_routes = n_depots]; NULL: ships
				       nothing */
	size_t n_routes;
	double route_km; /* all trips */
	/* what alloc and routes point into; owned here */
	struct plan_work *work;
	struct alloc_item *alloc_items;
	struct alloc_depot *alloc_depots;
	struct alloc_shelter *alloc_shelters;
	struct alloc_need *alloc_needs;
};
/* Allocates (alloc_run) and packs and orders each depot's trips
 * (route_plan_build).  Returns 0 and *out (the caller owns it:
 * plan_result_free) or alloc's and route's errors; *out is NULL then. */
int plan_compute(const struct plan_input *in, struct plan_result **out,
		 sl_error *err);
void plan_result_free(struct plan_result *r);

struct plan_opts {
	time_t now;
	double horizon_h;       /* recorded with the plan */
	const char *who;        /* who made it */
	const char *sheets_dir; /* pick and stop lists written here, or NULL */
};
/*
 * Plans the need rows (estimate_needs's: shelter_id, item, urgency,
 * needed) against the stock on hand and the vehicles, and stores a draft
 * plan with its fills and one dispatch order per truck stop, in one
 * transaction; plan_id receives its id.  Nothing is written on error.
 */
int plan_create(hq_store *st, const catalog *items, const json_t *needs,
		const struct plan_opts *o, char plan_id[32], sl_error *err);
/* A plan's fills (needed, allocated, ratio, shipped, why), or all plans.
 * The caller owns *rows. */
int plan_rows(hq_store *st, const char *plan_id, json_t **rows,
	      sl_error *err);
int plan_list(hq_store *st, json_t **rows, sl_error *err);

/* ---- scenario.c: seeded synthetic events ---- */

/* Headcount groups a scenario fills, in scenario_headcount's order. */
#define SCENARIO_GROUPS 6
extern const char *const scenario_group_names[SCENARIO_GROUPS];
struct scenario_data;
struct scenario {
	const char *scale;
	struct plan_input in; /* needs, stock, depots, trucks, shelters
				 (municipality NULL) */
	struct scenario_data *data; /* what in points into; owned here */
};
/* kashiwazaki (82 shelters, 12 items, 5 depots, 20 trucks), kumamoto
 * (855, 20, 30, 300) or national (50,000, 20, 500, 5,000), the first
 * items of the catalogue; stock is 60 % of each item's need.  Same scale
 * and seed, same event.  The caller owns *out (scenario_free). */
int scenario_make(const catalog *items, const char *scale,
		  unsigned long long seed, struct scenario **out,
		  sl_error *err);
void scenario_free(struct scenario *sc);
const long long *scenario_headcount(const struct scenario *sc,
				    size_t shelter);
/* Writes the event into the database in one transaction: depots, trucks,
 * stock (the ledger's why names scale and seed) and one status report per
 * shelter, as if its agent had sent it (the next seq). */
int scenario_load(hq_store *st, const struct scenario *sc,
		  const char *municipality, unsigned long long seed, time_t now,
		  sl_error *err);

/* plancmd.c: argv[0] is plan, plans, dispatch or scenario; returns the
 * exit status. */
int plancmd_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- dispatch.c: approving plans, sending orders, reconciling ---- */

/* Takes every order's goods out of its depot's stock (ledger ref = the
 * dispatch id) and marks the plan approved, in one transaction; refused
 * whole (SL_EINVAL) when the plan is not a draft or a depot no longer
 * holds enough; SL_ENOTFOUND for an unknown plan. */
int dispatch_approve(hq_store *st, const catalog *items, const char *plan_id,
		     const char *who, time_t now, sl_error *err);
/* Publishes the approved orders not yet acknowledged by the broker (of
 * one plan, or all when plan_id is NULL), QoS 1 on each shelter's
 * dispatch topic, marking each sent on its PUBACK.  *sent and *pending
 * count them; SL_ENET when some remain after timeout_s (run it again). */
int dispatch_send(const struct hq_config *cfg, hq_store *st,
		  const char *plan_id, int timeout_s, size_t *sent,
		  size_t *pending, sl_error *err);
/* Per order line: sent, delivered (receipts add up), difference and
 * status (not sent, in transit, delivered, short, over), then received
 * goods no order listed ("not ordered").  The caller owns *rows. */
int dispatch_status(hq_store *st, const char *plan_id, json_t **rows,
		    sl_error *err);

#endif
