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
	char *inbox;              /* NULL: <database>.inbox */
	long long intake_max;     /* received, not yet in the inbox */
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

/* How far `hq run` processed the inbox of that generation (0: not at
 * all); and, inside the batch's transaction, how far it has now. */
int store_cursor(hq_store *st, const char *generation, long long *id,
		 sl_error *err);
int store_set_cursor(hq_store *st, const char *generation, long long id,
		     sl_error *err);

/* Outcome of storing one message. */
enum store_result { STORE_NEW, STORE_DUPLICATE, STORE_IGNORED };

/*
 * Stores a validated message inside the current transaction.  `kind` and
 * the topic's ids have been checked against the payload by the caller.
 * For status and receipt, advances the shelter's contiguous acked_seq.
 */
int store_message(hq_store *st, enum topic_kind kind, const json_t *msg,
		  time_t received_at, enum store_result *result, sl_error *err);
/* The same, storing text (len bytes, the payload msg was decoded from,
 * not re-encoded) as the message's payload; for state, text is unused. */
int store_message_text(hq_store *st, enum topic_kind kind, const json_t *msg,
		       const char *text, size_t len, time_t received_at,
		       enum store_result *result, sl_error *err);

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

/* ---- survey_plan.c: one day's plan for the field-survey teams ---- */

#define SPLAN_TEAMS_MAX	   10000
#define SPLAN_TASKS_MAX	   10000000
#define SPLAN_CAPACITY_MAX 100
#define SPLAN_TIME_MAX	   (1LL << 40) /* applied_at bound, Unix s */

/* A pending field survey. */
struct splan_task {
	long long id;	      /* unique; the last tie-break */
	double lat, lon;
	int in_shelter;	      /* the applicant lives in a shelter: first */
	long long applied_at; /* Unix s, 0..SPLAN_TIME_MAX: oldest next */
};
/* A team: where its day starts and ends, and its stops per day. */
struct splan_team {
	double lat, lon;
	int capacity; /* 1..SPLAN_CAPACITY_MAX */
};
struct splan_input {
	const struct splan_task *tasks;
	size_t ntasks;
	const struct splan_team *teams;
	size_t nteams;
};
/* One team's day: start -> stops (task indices, in order) -> start. */
struct splan_route {
	size_t team;
	size_t *stops; /* points into the plan */
	size_t nstops;
	double length_km;    /* great circle (route_km) */
	double nn_length_km; /* the same stops in nearest-neighbour order */
	double bound_km;     /* Held-Karp lower bound for these stops */
};
struct splan_plan {
	struct splan_route *routes; /* [nroutes = nteams], team order */
	size_t nroutes;
	size_t selected; /* tasks planned today */
	double length_km, nn_length_km, bound_km; /* sums over teams */
	size_t *stop_buf;
};
/*
 * Chooses today's tasks (in a shelter first, then the oldest, then the
 * lower id: the first min(ntasks, total capacity)), shares them among
 * the teams in proportion to capacity, in compact clusters near each
 * team's start, and orders each team's stops.  Deterministic.  Returns
 * 0 and *out (the caller owns it: splan_free), or SL_EINVAL with err
 * naming the team or task and the rule, or SL_ENOMEM; *out is NULL then.
 */
int splan_build(const struct splan_input *in, struct splan_plan **out,
		sl_error *err);
void splan_free(struct splan_plan *p);

/* ---- grade.c: damage grades of り災証明 ---- */

/* Worst first; keys as applications.grade stores them. */
enum grade {
	GRADE_ZENKAI,	      /* 全壊: loss >= 50 % */
	GRADE_DAIKIBO_HANKAI, /* 大規模半壊: 40 <= loss < 50 */
	GRADE_CHUKIBO_HANKAI, /* 中規模半壊: 30 <= loss < 40 */
	GRADE_HANKAI,	      /* 半壊: 20 <= loss < 30 */
	GRADE_JUN_HANKAI,     /* 準半壊: 10 <= loss < 20 */
	GRADE_ICHIBU_SONKAI,  /* 準半壊に至らない (一部損壊): < 10 */
	GRADE_COUNT
};
/* Loss ratios are counted in thousandths of a percent: 50 % is 50000. */
#define GRADE_UNIT 1000
/* Damaged share of each element of a wooden house, in tenths of a
 * percent (0..1000). */
struct grade_elements {
	int roof, walls, foundation;
};
/* "zenkai" ...; "全壊" ...; "?" for a bad value.  Static strings. */
const char *grade_key(enum grade g);
const char *grade_name(enum grade g);
/* A key or a Japanese name ("一部損壊" too); SL_EINVAL otherwise. */
int grade_parse(const char *text, enum grade *out, sl_error *err);
/* "0".."100" with at most one decimal ("37.5") into tenths; what names
 * the field in err.  SL_EINVAL for anything else. */
int grade_parse_percent(const char *what, const char *text, int *tenths,
			sl_error *err);
/* Loss ratio = 15 % roof + 75 % walls + 10 % foundation (wooden house,
 * earthquake), exact, in GRADE_UNIT; SL_EINVAL for an element out of
 * range. */
int grade_loss(const struct grade_elements *e, long *loss, sl_error *err);
/* The class of a loss ratio; each class includes its lower bound. */
enum grade grade_of_loss(long loss);

/* ---- survey_field.c: field plans, results, validation, stats ---- */

struct sfield_plan_opts {
	const char *date;     /* YYYY-MM-DD */
	size_t nteams;	      /* 1..SPLAN_TEAMS_MAX */
	int capacity;	      /* stops per team per day */
	const double *starts; /* nstarts (lat, lon) pairs, used in turn */
	size_t nstarts;	      /* 0: the centre of the queue */
	const char *who;
	time_t now;
};
struct sfield_plan_result {
	size_t waiting;	 /* in the field queue (lanes field, interior) */
	size_t unplaced; /* ... of which without a position: not planned */
	size_t planned;
	long long first_team; /* teams first_team.. of the date */
	double length_km, nn_length_km, bound_km;
};
/*
 * Plans the field queue (applications 'ready', 'invalidated' or
 * 'appealed' in lanes field and interior, placed by their building, else
 * their own position) for o->nteams teams (splan_build) and locks each
 * planned application to its team: survey_teams, survey_tasks 'locked',
 * applications 'locked' and an audit row, in one write transaction.
 * A date planned again gets further teams.  SL_EINVAL when nothing with
 * a position waits.  Nothing is written on error.
 */
int sfield_plan(hq_store *st, const struct sfield_plan_opts *o,
		struct sfield_plan_result *res, sl_error *err);
/* A date's teams (team, start, capacity, stops, lengths), and its stops
 * in order (team 0: all teams) with application, building, address and
 * position; personal adds applicant, contact and the applicant's
 * address.  The caller owns *rows. */
int sfield_teams(hq_store *st, const char *date, json_t **rows, sl_error *err);
int sfield_stops(hq_store *st, const char *date, long long team,
		 int personal, json_t **rows, sl_error *err);
/* Writes survey-DATE-teamNNN.{csv,geojson,html} for each team of date
 * into dir (created if missing); with personal the export is audited
 * ('export-personal', who). */
int sfield_sheets(hq_store *st, const char *date, const char *dir,
		  int personal, const char *who, time_t now, sl_error *err);
/* A locked task goes back: task 'released', application 'ready'. */
int sfield_release(hq_store *st, long long task, const char *who,
		   time_t now, sl_error *err);
/* What a team found: a grade given directly, or element damage. */
struct sfield_finding {
	int has_grade;
	enum grade grade;	 /* given, or (out) computed */
	struct grade_elements e; /* when !has_grade */
	long loss;		 /* (out) GRADE_UNIT, when !has_grade */
};
/* Records the result of a locked application's survey: task and
 * application 'surveyed', audited.  Elements are refused for a
 * non-wooden building (no weights known).  *out gets grade and loss. */
int sfield_record(hq_store *st, const char *app,
		  const struct sfield_finding *f, const char *who, time_t now,
		  struct sfield_finding *out, sl_error *err);
/* A second person (not the recorder) validates the newest result:
 * application 'validated' with its grade and approved_by = who; or, with
 * valid 0 and a reason, 'invalidated': back in the field queue. */
int sfield_validate(hq_store *st, const char *app, int valid,
		    const char *reason, const char *who, time_t now,
		    sl_error *err);
/* {"backlog": per lane and state, "issued_per_day", "summary":
 * {field_backlog, plan_date, team_capacity_per_day, forecast_days,
 * median_days_to_issue, certificates}}.  The caller owns *out. */
int sfield_stats(hq_store *st, json_t **out, sl_error *err);
/* Helpers shared with certificate.c: SL_EINVAL unless who names someone;
 * one statement binding ?1.. as types says ('t' text or NULL, 'i' long
 * long, 'd' double), *changed (may be NULL) its changed rows; an HTML
 * page's head with print CSS, and escaped text. */
int sfield_need_who(const char *cmd, const char *who, sl_error *err);
int sfield_change(hq_store *st, int *changed, sl_error *err, const char *sql,
		  const char *types, ...);
void sfield_html_head(const char *title, FILE *out);
void sfield_html_text(const char *s, FILE *out);
/* hq survey plan|sheets|tasks|release|record|validate|issue|certificate|
 * certificates|delivered|appeal|stats (docs/operations.md, "Field
 * planning"): 1 when name is one of them; their usage lines; argv[0] is
 * the subcommand, returns the exit status.  --by is --who's synonym, as
 * in the intake subcommands. */
int sfield_is_command(const char *name);
void sfield_usage(FILE *out);
int sfield_main(const struct hq_config *cfg, int argc, char **argv);

/* ---- certificate.c: り災証明 certificates ---- */

/*
 * Issues a certificate for each named application (apps NULL: every one
 * validated, the longest approved first, at most limit; 0: no limit),
 * numbered on from the municipality's highest number without gaps, in
 * one BEGIN IMMEDIATE transaction, so concurrent issuers never share or
 * skip a number.  Each must be 'validated' with a grade and an approver;
 * a named one that is not refuses the whole batch.  An earlier
 * certificate of the same application (an appeal) is superseded.  Rows
 * {municipality, number, application_id, grade} go to *issued (the
 * caller's).
 */
int cert_issue(hq_store *st, const char *municipality,
	       const char *const *apps, size_t napps, size_t limit,
	       const char *who, time_t now, json_t **issued, sl_error *err);
/* The certificate as a printable page (applicant, house, grade, number,
 * dates, who issued and approved it); audited ('print-certificate'). */
int cert_html(hq_store *st, const char *municipality, long long number,
	      const char *who, time_t now, FILE *out, sl_error *err);
/* Handed over ('counter', 'mail' or 'other'); refused if already. */
int cert_delivered(hq_store *st, const char *municipality, long long number,
		   const char *how, const char *who, time_t now,
		   sl_error *err);
/* An issued application appealed: back to the field queue for an
 * interior survey ('appealed', lane interior), grade and approval
 * cleared; its certificate stays until a new one supersedes it. */
int cert_appeal(hq_store *st, const char *app, const char *reason,
		const char *who, time_t now, sl_error *err);

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

/* Headcount groups a scenario fills, in its reports' order. */
#define SCENARIO_GROUPS 6
extern const char *const scenario_group_names[SCENARIO_GROUPS];
struct scenario_data;
struct scenario {
	const char *scale;
	size_t n_items; /* the catalogue's first n_items are used */
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
/* A shelter's orders that were sent and have no receipt yet (dispatch_id,
 * shelter_id, municipality, payload): hq run sends them again after the
 * shelter's birth, in case its session was lost (docs/protocol.md).  The
 * caller owns *rows. */
int dispatch_open_orders(hq_store *st, const char *shelter_id, json_t **rows,
			 sl_error *err);
/* Per order line: sent, delivered (receipts add up), difference and
 * status (not sent, in transit, delivered, short, over), then received
 * goods no order listed ("not ordered").  The caller owns *rows. */
int dispatch_status(hq_store *st, const char *plan_id, json_t **rows,
		    sl_error *err);


/* ---- geo.c: points and polygons (WKT, GeoJSON), tests, grid index ---- */

/* Caps on one shape, and on the cells one shape may cover in a grid. */
#define GEO_MAX_POINTS	   100000
#define GEO_MAX_RINGS	   10000
#define GEO_GRID_MAX_CELLS 10000
/* Cap on a GeoJSON or xBD file read whole. */
#define GEO_FILE_MAX_BYTES (512L * 1024 * 1024)

enum geo_kind { GEO_POINT, GEO_POLYGON }; /* a multipolygon is a polygon */
struct geo_point {
	double lon, lat; /* degrees, in that order as in WKT and GeoJSON */
};
struct geo_ring {
	struct geo_point *pts; /* closed: pts[0] == pts[n - 1] (polygons) */
	size_t n;
	int hole; /* an inner ring of the polygon before it */
};
/* A point is one ring of one point.  Owned by whoever parsed it
 * (geo_free); centroid and the box are set by the parsers. */
struct geo_shape {
	enum geo_kind kind;
	struct geo_ring *rings;
	size_t nrings;
	struct geo_point centroid; /* area-weighted; the point for a point */
	double min_lon, min_lat, max_lon, max_lat;
};

/* POINT, POLYGON or MULTIPOLYGON in 2-D "lon lat" (keywords in any
 * case).  Returns 0 and *out, or SL_EINVAL with err naming the character
 * position and the rule (unclosed ring, fewer than 4 points, coordinate
 * out of range, Z/M or EMPTY, trailing text, a cap), or SL_ENOMEM. */
int geo_parse_wkt(const char *text, struct geo_shape **out, sl_error *err);
/* The same from a GeoJSON geometry object (Point, Polygon, MultiPolygon;
 * a third coordinate, the height, is ignored). */
int geo_from_geojson(const json_t *geometry, struct geo_shape **out,
		     sl_error *err);
/* Decodes a JSON document (path names it in errors) of at most
 * GEO_FILE_MAX_BYTES, refusing duplicate keys; *out is the caller's. */
int geo_json_parse(const char *path, const unsigned char *data, size_t len,
		   json_t **out, sl_error *err);
/* Reads the file at path whole (at most GEO_FILE_MAX_BYTES + 1 bytes,
 * so a bigger one is refused); *data is the caller's (sl_free). */
int geo_read_file(const char *path, unsigned char **data, size_t *len,
		  sl_error *err);
/* WKT of s (POINT or MULTIPOLYGON); the caller owns it (sl_free); NULL
 * when out of memory. */
char *geo_wkt(const struct geo_shape *s);
void geo_free(struct geo_shape *s);
/* 1 when the polygon s contains the point (even-odd: holes excluded);
 * 0 for a point shape. */
int geo_contains(const struct geo_shape *s, double lon, double lat);
/* 1 when the shapes share any area, or a point lies in the polygon. */
int geo_overlaps(const struct geo_shape *a, const struct geo_shape *b);
/* Great-circle distance in metres. */
double geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* A bucket grid: items registered by their bounding box; queries visit
 * every item sharing a cell with the query box (an item once per shared
 * cell: callers keep the best candidate, so repeats do no harm). */
typedef struct geo_grid geo_grid;
typedef int (*geo_grid_fn)(size_t item, void *arg);
geo_grid *geo_grid_new(double cell_deg); /* NULL: out of memory */
void geo_grid_free(geo_grid *g);
/* SL_EINVAL when the box covers more than GEO_GRID_MAX_CELLS cells. */
int geo_grid_add(geo_grid *g, double min_lon, double min_lat, double max_lon,
		 double max_lat, size_t item);
/* Calls fn until it returns non-zero (returned). */
int geo_grid_each(geo_grid *g, double min_lon, double min_lat,
		  double max_lon, double max_lat, geo_grid_fn fn, void *arg);

/* ---- building.c: the buildings a damage survey can visit ---- */

enum building_structure { BUILDING_UNKNOWN, BUILDING_WOODEN, BUILDING_NON_WOODEN };
struct building {
	char *id, *address;	 /* address may be NULL */
	struct geo_shape *shape; /* a point or the footprint */
	enum building_structure structure;
	int floors;		 /* 0: unknown */
	char *ref;		 /* FILE:LINE or FILE#FEATURE-INDEX */
};
struct building_set {
	struct building *b; /* all owned by the set */
	size_t n;
};
/* "wooden", "non_wooden" or "unknown", as buildings.structure. */
const char *building_structure_name(enum building_structure s);
/*
 * Buildings from a GeoJSON FeatureCollection (data starts with '{':
 * properties id, address, structure, floors; Point/Polygon/MultiPolygon)
 * or a CSV (header id, address, lat, lon, structure, floors; English or
 * Japanese names).  Returns 0 and *out (the caller's: building_set_free)
 * or SL_EINVAL with err naming FILE:LINE or FILE: feature N and the rule
 * (bad geometry, coordinates, structure, floors, a repeated id), SL_ENOMEM.
 */
int building_parse(const char *path, const unsigned char *data, size_t len,
		   struct building_set **out, sl_error *err);
void building_set_free(struct building_set *set);
/* Helpers the survey's readers share.  A CSV header: names[c] lists
 * column c's accepted names (up to BUILDING_COL_NAMES, NULL-padded,
 * compared without case after full-width folding); col[c] receives its
 * cell index, or -1. */
#define BUILDING_COL_NAMES 5
void building_csv_columns(int ncells, char **cells,
			  const char *const (*names)[BUILDING_COL_NAMES],
			  int ncols, int *col);
/* A decimal number within lo..hi (strict: all of text); 0 or SL_EINVAL. */
int building_number(const char *text, double lo, double hi, double *out);
/* A GeoJSON property as text: a string as is, a whole number printed into
 * buf, null or absent as "".  SL_EINVAL (naming key) for other types. */
int building_property(const json_t *props, const char *key, char *buf,
		      size_t cap, const char **out, sl_error *err);
/* An id: 1..64 bytes, no control characters. */
int building_check_id(const char *id, sl_error *err);
/* Upserts the set (by id) in one transaction; *added, *updated count. */
int building_import(hq_store *st, const char *path,
		    const struct building_set *set, time_t now, size_t *added,
		    size_t *updated, sl_error *err);
/*
 * The form addresses are compared in: full-width ASCII folded, spaces
 * gone, a leading prefecture and county (郡) and 大字 dropped, ヶ/ヵ as
 * ケ, kanji numerals before 丁目/番/号 as digits, and 丁目/番地/番/号/の
 * and every dash variant as "-", so 1丁目2番3号, １－２－３ and 1-2-3
 * agree.  Writes at most cap bytes
 * (NUL included) into out; returns 0, or SL_EINVAL when it does not fit.
 */
int building_address_norm(const char *in, char *out, size_t cap);

/* Every building of the database, in memory with a grid, to match
 * applications and imagery.  Owned by the caller (building_index_free). */
typedef struct building_index building_index;
int building_index_load(hq_store *st, building_index **out, sl_error *err);
void building_index_free(building_index *idx);
/* A building near a point: its id, how far (0 inside its footprint). */
struct building_near {
	const char *id; /* owned by the index */
	double distance_m;
};
/* Up to cap buildings within within_m of the point, nearest first (a
 * footprint holding the point counts as 0 m); returns how many. */
size_t building_index_near(building_index *idx, double lat, double lon,
			   double within_m, struct building_near *out,
			   size_t cap);
/* The building a drone feature shows: the footprint holding the
 * feature's centroid, else the overlapping one with the nearest
 * centroid, else (a point building) the nearest within within_m of the
 * centroid.  NULL when none. */
const char *building_index_match(building_index *idx,
				 const struct geo_shape *feature,
				 double within_m);

/* ---- application.c: り災証明 applications, matched to buildings ---- */

struct application {
	const char *id;	       /* NULL: application_add assigns C000001... */
	const char *applicant, *address;
	const char *contact;     /* may be NULL */
	const char *building_id; /* may be NULL */
	double lat, lon;	 /* NAN: not given */
	time_t applied_at;
	int consent_self, second_survey, in_shelter;
	const char *ref; /* FILE:LINE, or "counter" */
};
struct application_opts {
	double within_m; /* nearest-building radius */
	int utc_offset_min; /* for times without one; INT_MIN: refuse them */
	const char *who;
	time_t now;
};
struct application_result {
	size_t rows, added, unchanged; /* unchanged: the same id again */
	size_t by_id, by_address, by_nearest, ambiguous, unmatched;
	size_t duplicates;
};
/*
 * Matches each application to a building (by id, then by normalised
 * address, then the nearest within o->within_m; two or more equally
 * good: 'ambiguous', the candidates kept for a person), marks an
 * earlier application of the same person for the same building (or
 * address) as the one it duplicates, and stores all in one transaction
 * with an audit row each.  An id stored before with the same applicant
 * and address is counted unchanged; with others it is refused.  Nothing
 * is written on error (SL_EINVAL naming the ref and the rule).
 */
int application_store(hq_store *st, const struct application *apps, size_t n,
		      const struct application_opts *o,
		      struct application_result *res, sl_error *err);
/* A CSV of applications (docs/operations.md, "Damage survey") through
 * application_store: all rows or none. */
int application_import(hq_store *st, const char *path,
		       const unsigned char *data, size_t len,
		       const struct application_opts *o,
		       struct application_result *res, sl_error *err);
/* RFC 3339 time ("2016-04-20T10:15:00+09:00"; a space for T, '/' in the
 * date; seconds optional); without an offset, utc_offset_min's unless it
 * is INT_MIN. */
int application_time(const char *text, int utc_offset_min, time_t *out,
		      sl_error *err);
/* The next counter id (C000001, C000002, ...) into out. */
int application_next_id(hq_store *st, char *out, size_t cap, sl_error *err);
/* yes/no text (1/0, yes/no, true/false, はい/いいえ, 有/無, あり/なし, ○,
 * empty = no); SL_EINVAL for anything else. */
int application_flag(const char *text, int *out);
/* A person settles an application's building (ambiguous, unmatched or
 * wrong): matched_by 'staff', candidates dropped, audited. */
int application_set_building(hq_store *st, const char *app_id,
			     const char *building_id, const char *who,
			     time_t now, sl_error *err);
/* Appends to survey_audit inside the caller's transaction; app_id and
 * detail may be NULL. */
int application_audit(hq_store *st, time_t at, const char *who,
		      const char *action, const char *app_id,
		      const char *detail, sl_error *err);

/* ---- drone.c: damage classes from drone and aerial imagery ---- */

enum drone_damage {
	DRONE_NO_DAMAGE,
	DRONE_MINOR,
	DRONE_MAJOR,
	DRONE_DESTROYED,
	DRONE_UNCLASSIFIED
};
/* xBD's names: "no-damage", ..., "un-classified" (drone_features.damage) */
const char *drone_damage_name(enum drone_damage d);
struct drone_feature {
	char *id;    /* the feature's id, xBD uid, or "#INDEX" */
	enum drone_damage damage;
	double confidence; /* 0..1 */
	char *image;	   /* may be NULL */
	struct geo_shape *shape;
	size_t index;	   /* in the file, from 0 */
};
struct drone_set {
	int xbd; /* 1: an xBD label file, 0: GeoJSON */
	struct drone_feature *f; /* owned by the set */
	size_t n;
};
/*
 * A GeoJSON FeatureCollection (properties damage, confidence, image, id)
 * or an xBD label JSON (features.lng_lat[].wkt and properties.subtype,
 * uid; metadata.img_name).  default_confidence (0..1, or NAN: required
 * per feature) stands for a feature without one; xBD labels have none.
 * Returns 0 and *out (the caller's: drone_set_free), or SL_EINVAL with
 * err "FILE: feature N: rule" (bad JSON, geometry, WKT, coordinates, an
 * unknown damage class, a repeated id), or SL_ENOMEM.
 */
int drone_parse(const char *path, const unsigned char *data, size_t len,
		double default_confidence, struct drone_set **out,
		sl_error *err);
void drone_set_free(struct drone_set *set);
struct drone_result {
	size_t features, matched, unmatched, replaced; /* replaced: this
					    source's rows before */
};
/* Replaces every feature of source with the set's, each matched to a
 * building (building_index_match, within_m for point buildings), in one
 * transaction: importing the same source again changes nothing. */
int drone_import(hq_store *st, const char *source, const char *path,
		 const struct drone_set *set, double within_m, time_t now,
		 struct drone_result *res, sl_error *err);

/* ---- triage.c: lanes for applications, desk approval ---- */

enum triage_lane { TRIAGE_PHOTO, TRIAGE_SELF, TRIAGE_FIELD, TRIAGE_INTERIOR };
const char *triage_lane_name(enum triage_lane l); /* applications.lane */
/* What triage knows of one application and its building's imagery. */
struct triage_input {
	const char *building_id; /* NULL: no building matched */
	int consent_self, second_survey;
	long long features;	    /* imagery features of the building */
	long long light;	    /* ... no-damage or minor-damage */
	long long major, unclassified;
	double destroyed_conf;	    /* best 'destroyed' confidence; -1 none */
	const char *destroyed_feature; /* "SOURCE/ID" of it, or NULL */
};
struct triage_decision {
	enum triage_lane lane;
	char reason[320];
};
/* The lane rules (docs/operations.md, "Damage survey"), in order: photo
 * (destroyed at confidence >= threshold), interior (second survey asked),
 * self (only no or minor damage seen, applicant consented), field. */
void triage_decide(const struct triage_input *in, double threshold,
		   struct triage_decision *out);
struct triage_counts {
	size_t lanes[4];  /* decided now, by enum triage_lane */
	size_t unchanged; /* again: the same lane and reason as before */
	size_t held;	  /* received but ambiguous or duplicate: not triaged */
};
/* Triages every received application that is neither a duplicate nor
 * ambiguously matched, in one transaction, with its reason and an audit
 * row: photo and self go to 'triaged' (a desk approves them), field and
 * interior to 'ready' (the field-survey queue).  With again, also those
 * still 'triaged' or 'ready' (imagery may have come since), except any a
 * person sent to the field (triage_reject); only changed decisions are
 * written. */
int triage_run(hq_store *st, double threshold, int again, const char *who,
	       time_t now, struct triage_counts *c, sl_error *err);
/* A named person confirms a photo-lane (全壊, grade zenkai) or a self-lane
 * (一部損壊, ichibu_sonkai) application: state 'validated', audited.
 * SL_EINVAL when it is not waiting in one of those lanes. */
int triage_approve(hq_store *st, const char *app_id, const char *who,
		   time_t now, sl_error *err);
/* ... or sends it to a field survey instead, saying why. */
int triage_reject(hq_store *st, const char *app_id, const char *who,
		  const char *reason, time_t now, sl_error *err);

/* ---- surveycmd.c: `hq survey ...` ---- */

/* argv[0] is "survey"; returns the exit status. */
int surveycmd_main(const struct hq_config *cfg, int argc, char **argv);

#endif
