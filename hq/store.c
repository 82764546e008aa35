/*
 * store.c - HQ's SQLite database: shelters, every stored message under its
 * idempotency key (shelter_id, seq), headcounts and needs extracted for
 * queries, and the dead-letter table.  Only validated messages reach
 * store_message(); nothing here parses untrusted input.
 *
 * Durability: WAL with synchronous=FULL, because an acknowledgement sent
 * after COMMIT promises the agent it may forget the message.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "hq.h"
#include "msg.h"

static const char *const migrations[] = {
	/* 1: the walking skeleton */
	"CREATE TABLE shelters ("
	"  shelter_id TEXT PRIMARY KEY,"
	"  municipality TEXT NOT NULL,"
	"  name TEXT,"
	"  status TEXT NOT NULL DEFAULT 'unknown'"
	"    CHECK (status IN ('unknown','online','offline')),"
	"  birth INTEGER NOT NULL DEFAULT -1,"
	"  agent_version TEXT,"
	"  registered INTEGER NOT NULL DEFAULT 0,"
	"  acked_seq INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	");"
	"CREATE TABLE messages ("
	"  shelter_id TEXT NOT NULL REFERENCES shelters(shelter_id),"
	"  seq INTEGER NOT NULL CHECK (seq > 0),"
	"  type TEXT NOT NULL CHECK (type IN ('status','receipt')),"
	"  time TEXT NOT NULL,"
	"  historical INTEGER NOT NULL DEFAULT 0,"
	"  received_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  PRIMARY KEY (shelter_id, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE headcounts ("
	"  shelter_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  total INTEGER NOT NULL,"
	"  infants INTEGER, children INTEGER, elderly INTEGER, care INTEGER,"
	"  pregnant INTEGER, disabled INTEGER, medical INTEGER,"
	"  foreign_lang INTEGER, pets INTEGER,"
	"  PRIMARY KEY (shelter_id, seq),"
	"  FOREIGN KEY (shelter_id, seq) REFERENCES messages(shelter_id, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE needs ("
	"  shelter_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  line INTEGER NOT NULL,"
	"  item TEXT NOT NULL,"
	"  qty INTEGER NOT NULL,"
	"  urgency TEXT NOT NULL,"
	"  PRIMARY KEY (shelter_id, seq, line),"
	"  FOREIGN KEY (shelter_id, seq) REFERENCES messages(shelter_id, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE dead_letters ("
	"  id INTEGER PRIMARY KEY,"
	"  received_at INTEGER NOT NULL,"
	"  topic TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  payload BLOB NOT NULL,"
	"  shelter_id TEXT,"
	"  seq INTEGER"
	");"
	"CREATE INDEX dead_letters_settled ON dead_letters (shelter_id, seq)"
	"  WHERE seq IS NOT NULL;",
	/* 2: the official shelter lists, operators' open/close, positions */
	"CREATE TABLE registry ("
	"  shelter_id TEXT PRIMARY KEY,"
	"  municipality TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  kana TEXT,"
	"  name_en TEXT,"
	"  district TEXT,"
	"  address TEXT,"
	"  lat REAL CHECK (lat BETWEEN -90 AND 90),"
	"  lon REAL CHECK (lon BETWEEN -180 AND 180),"
	"  elevation_m REAL,"
	"  phone TEXT,"
	"  capacity_indoor INTEGER CHECK (capacity_indoor >= 0),"
	"  capacity_outdoor INTEGER CHECK (capacity_outdoor >= 0),"
	"  capacity_text TEXT,"
	/* bit 0 flood, 1 landslide, 2 storm surge, 3 earthquake, 4 tsunami,
	 * 5 large fire, 6 inland flooding, 7 volcano */
	"  hazards INTEGER NOT NULL DEFAULT 0,"
	"  target_area TEXT,"
	"  layout TEXT NOT NULL CHECK (layout IN ('opendata','gsi')),"
	"  source_file TEXT NOT NULL,"
	"  source_line INTEGER NOT NULL,"
	"  imported_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	/* where the newest report placed the shelter (gps or fixed) */
	"ALTER TABLE shelters ADD COLUMN lat REAL;"
	"ALTER TABLE shelters ADD COLUMN lon REAL;"
	"ALTER TABLE shelters ADD COLUMN position_source TEXT;"
	/* Unix time of the newest status report, for `stale` */
	"ALTER TABLE shelters ADD COLUMN last_report INTEGER;"
	/* operators open and close shelters; NULL until one does */
	"ALTER TABLE shelters ADD COLUMN operator_state TEXT"
	"  CHECK (operator_state IN ('open','closed'));"
	"ALTER TABLE shelters ADD COLUMN operator_changed_at INTEGER;",
	/* 3: depots, their vehicles, and the audited stock ledger */
	"CREATE TABLE depots ("
	"  depot_id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),"
	"  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),"
	"  created_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE vehicles ("
	"  vehicle_id TEXT PRIMARY KEY,"
	"  depot_id TEXT NOT NULL REFERENCES depots(depot_id),"
	"  name TEXT,"
	"  max_weight_kg REAL NOT NULL CHECK (max_weight_kg > 0),"
	"  max_volume_l REAL NOT NULL CHECK (max_volume_l > 0)"
	") WITHOUT ROWID;"
	/* Stock is never stored, only summed: every change is a row saying
	 * who, when and why, so a count can always be explained. */
	"CREATE TABLE stock_ledger ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  depot_id TEXT NOT NULL REFERENCES depots(depot_id),"
	"  item TEXT NOT NULL,"
	"  delta INTEGER NOT NULL CHECK (delta <> 0),"
	"  reason TEXT NOT NULL CHECK (length(reason) > 0),"
	"  who TEXT NOT NULL,"
	"  ref TEXT"
	");"
	"CREATE INDEX stock_ledger_item ON stock_ledger (depot_id, item);",
	/* 4: plans, the dispatch orders they make, and what shelters got */
	"CREATE TABLE plans ("
	"  plan_id TEXT PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  horizon_h REAL NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('draft','approved')),"
	"  approved_at INTEGER,"
	"  approved_by TEXT,"
	"  transport_unit_km REAL NOT NULL,"
	"  route_km REAL NOT NULL"
	") WITHOUT ROWID;"
	/* one row per need line the plan served: the plan's explanation */
	"CREATE TABLE plan_fills ("
	"  plan_id TEXT NOT NULL REFERENCES plans(plan_id),"
	"  shelter_id TEXT NOT NULL,"
	"  item TEXT NOT NULL,"
	"  urgency TEXT NOT NULL,"
	"  needed INTEGER NOT NULL,"
	"  allocated INTEGER NOT NULL,"
	"  ratio REAL NOT NULL,"
	"  why TEXT NOT NULL,"
	"  PRIMARY KEY (plan_id, shelter_id, item, urgency)"
	") WITHOUT ROWID;"
	/* one order per truck stop; payload is the message as published */
	"CREATE TABLE dispatches ("
	"  dispatch_id TEXT PRIMARY KEY,"
	"  plan_id TEXT NOT NULL REFERENCES plans(plan_id),"
	"  shelter_id TEXT NOT NULL,"
	"  municipality TEXT NOT NULL,"
	"  depot_id TEXT NOT NULL,"
	"  vehicle_id TEXT NOT NULL,"
	"  trip INTEGER NOT NULL,"
	"  stop INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  sent_at INTEGER"
	") WITHOUT ROWID;"
	"CREATE INDEX dispatches_plan ON dispatches (plan_id);"
	"CREATE INDEX dispatches_shelter ON dispatches (shelter_id);"
	"CREATE TABLE dispatch_lines ("
	"  dispatch_id TEXT NOT NULL REFERENCES dispatches(dispatch_id),"
	"  item TEXT NOT NULL,"
	"  qty INTEGER NOT NULL CHECK (qty > 0),"
	"  PRIMARY KEY (dispatch_id, item)"
	") WITHOUT ROWID;"
	/* Goods that reached a shelter, from its receipts: the other end of
	 * the depot ledger's dispatch rows.  A receipt naming an order HQ
	 * does not know is kept too: hq dispatch status lists it. */
	"CREATE TABLE shelter_ledger ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  shelter_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  dispatch_id TEXT NOT NULL,"
	"  item TEXT NOT NULL,"
	"  qty INTEGER NOT NULL CHECK (qty >= 0),"
	"  UNIQUE (shelter_id, seq, item)"
	");"
	"CREATE INDEX shelter_ledger_dispatch ON shelter_ledger (dispatch_id);",
	/* 5: the り災証明 damage-survey intake (docs/operations.md, "Damage
	 * survey"): buildings, applications, imagery, triage lanes, audit */
	/* every house that can be surveyed; address_norm is survey_address()'s */
	"CREATE TABLE buildings ("
	"  building_id TEXT PRIMARY KEY,"
	"  address TEXT,"
	"  address_norm TEXT,"
	"  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),"
	"  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),"
	"  footprint TEXT,"
	"  structure TEXT NOT NULL DEFAULT 'unknown'"
	"    CHECK (structure IN ('wooden','non_wooden','unknown')),"
	"  floors INTEGER CHECK (floors BETWEEN 1 AND 200),"
	"  source_file TEXT NOT NULL,"
	"  source_ref TEXT NOT NULL,"
	"  imported_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX buildings_address ON buildings (address_norm);"
	/* one row per application; personal fields never leave HQ */
	"CREATE TABLE applications ("
	"  application_id TEXT PRIMARY KEY,"
	"  applicant TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  address_norm TEXT NOT NULL,"
	"  contact TEXT,"
	"  lat REAL CHECK (lat BETWEEN -90 AND 90),"
	"  lon REAL CHECK (lon BETWEEN -180 AND 180),"
	"  building_id TEXT REFERENCES buildings(building_id),"
	"  matched_by TEXT NOT NULL DEFAULT 'none' CHECK (matched_by IN"
	"    ('id','address','nearest','staff','ambiguous','none')),"
	"  applied_at INTEGER NOT NULL,"
	"  consent_self INTEGER NOT NULL DEFAULT 0 CHECK (consent_self IN (0,1)),"
	"  second_survey INTEGER NOT NULL DEFAULT 0"
	"    CHECK (second_survey IN (0,1)),"
	"  in_shelter INTEGER NOT NULL DEFAULT 0 CHECK (in_shelter IN (0,1)),"
	"  duplicate_of TEXT REFERENCES applications(application_id),"
	"  lane TEXT CHECK (lane IN ('photo','self','field','interior')),"
	"  lane_reason TEXT,"
	"  triaged_at INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received',"
	"    'triaged','ready','locked','surveyed','validated','invalidated',"
	"    'issued','appealed')),"
	"  grade TEXT CHECK (grade IN ('zenkai','daikibo_hankai',"
	"    'chukibo_hankai','hankai','jun_hankai','ichibu_sonkai')),"
	"  approved_by TEXT,"
	"  approved_at INTEGER,"
	"  source_file TEXT NOT NULL,"
	"  source_ref TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX applications_building ON applications (building_id);"
	"CREATE INDEX applications_state ON applications (state, lane);"
	/* the buildings an ambiguous application may mean, for a person */
	"CREATE TABLE application_candidates ("
	"  application_id TEXT NOT NULL REFERENCES applications(application_id),"
	"  building_id TEXT NOT NULL REFERENCES buildings(building_id),"
	"  distance_m REAL,"
	"  why TEXT NOT NULL,"
	"  PRIMARY KEY (application_id, building_id)"
	") WITHOUT ROWID;"
	/* damage seen from the air; a source's re-import replaces its rows */
	"CREATE TABLE drone_features ("
	"  source TEXT NOT NULL,"
	"  feature_id TEXT NOT NULL,"
	"  building_id TEXT REFERENCES buildings(building_id),"
	"  damage TEXT NOT NULL CHECK (damage IN ('no-damage','minor-damage',"
	"    'major-damage','destroyed','un-classified')),"
	"  confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),"
	"  image TEXT,"
	"  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),"
	"  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),"
	"  geometry TEXT NOT NULL,"
	"  source_ref TEXT NOT NULL,"
	"  imported_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, feature_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX drone_features_building ON drone_features (building_id);"
	/* who did what to which application, and why: never updated */
	"CREATE TABLE survey_audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  application_id TEXT,"
	"  detail TEXT"
	");"
	"CREATE INDEX survey_audit_application ON survey_audit (application_id);",
	/* 6: field planning, survey results and り災証明 certificates
	 * (docs/operations.md, "Field planning", "Certificates") */
	/* the teams of a day's plan; a second plan of a day adds teams */
	"CREATE TABLE survey_teams ("
	"  plan_date TEXT NOT NULL,"
	"  team INTEGER NOT NULL CHECK (team >= 1),"
	"  start_lat REAL NOT NULL CHECK (start_lat BETWEEN -90 AND 90),"
	"  start_lon REAL NOT NULL CHECK (start_lon BETWEEN -180 AND 180),"
	"  capacity INTEGER NOT NULL CHECK (capacity >= 1),"
	"  length_km REAL NOT NULL,"
	"  nn_length_km REAL NOT NULL,"
	"  bound_km REAL NOT NULL,"
	"  planned_by TEXT NOT NULL,"
	"  planned_at INTEGER NOT NULL,"
	"  PRIMARY KEY (plan_date, team)"
	") WITHOUT ROWID;"
	/* one visit of one team; the application stays locked to it until
	 * the result is recorded or the task released */
	"CREATE TABLE survey_tasks ("
	"  task_id INTEGER PRIMARY KEY,"
	"  application_id TEXT NOT NULL REFERENCES applications(application_id),"
	"  plan_date TEXT NOT NULL,"
	"  team INTEGER NOT NULL,"
	"  stop INTEGER NOT NULL CHECK (stop >= 1),"
	"  state TEXT NOT NULL DEFAULT 'locked' CHECK (state IN ('locked',"
	"    'surveyed','validated','invalidated','released')),"
	"  locked_at INTEGER NOT NULL,"
	"  closed_at INTEGER,"
	"  FOREIGN KEY (plan_date, team) REFERENCES survey_teams(plan_date, team)"
	");"
	"CREATE UNIQUE INDEX survey_tasks_one_open ON survey_tasks"
	"  (application_id) WHERE state IN ('locked','surveyed');"
	"CREATE INDEX survey_tasks_team ON survey_tasks (plan_date, team, stop);"
	/* what a team found; loss and elements are NULL for a grade given
	 * directly (visible collapse, a tilt of 1/20 or more) */
	"CREATE TABLE survey_results ("
	"  result_id INTEGER PRIMARY KEY,"
	"  application_id TEXT NOT NULL REFERENCES applications(application_id),"
	"  task_id INTEGER REFERENCES survey_tasks(task_id),"
	"  grade TEXT NOT NULL CHECK (grade IN ('zenkai','daikibo_hankai',"
	"    'chukibo_hankai','hankai','jun_hankai','ichibu_sonkai')),"
	"  loss_milli INTEGER CHECK (loss_milli BETWEEN 0 AND 100000),"
	"  roof_tenths INTEGER CHECK (roof_tenths BETWEEN 0 AND 1000),"
	"  walls_tenths INTEGER CHECK (walls_tenths BETWEEN 0 AND 1000),"
	"  foundation_tenths INTEGER"
	"    CHECK (foundation_tenths BETWEEN 0 AND 1000),"
	"  recorded_by TEXT NOT NULL,"
	"  recorded_at INTEGER NOT NULL,"
	"  valid INTEGER CHECK (valid IN (0,1)),"
	"  validated_by TEXT,"
	"  validated_at INTEGER,"
	"  reason TEXT"
	");"
	"CREATE INDEX survey_results_application ON survey_results"
	"  (application_id);"
	/* numbers run 1, 2, ... per municipality without gaps: allocated
	 * as max + 1 inside BEGIN IMMEDIATE, never deleted or renumbered */
	"CREATE TABLE certificates ("
	"  municipality TEXT NOT NULL,"
	"  number INTEGER NOT NULL CHECK (number >= 1),"
	"  application_id TEXT NOT NULL REFERENCES applications(application_id),"
	"  grade TEXT NOT NULL CHECK (grade IN ('zenkai','daikibo_hankai',"
	"    'chukibo_hankai','hankai','jun_hankai','ichibu_sonkai')),"
	"  approved_by TEXT NOT NULL,"
	"  issued_by TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  delivered_at INTEGER,"
	"  delivered_by TEXT,"
	"  delivery TEXT CHECK (delivery IN ('counter','mail','other')),"
	"  superseded_by INTEGER,"
	"  PRIMARY KEY (municipality, number)"
	") WITHOUT ROWID;"
	"CREATE INDEX certificates_application ON certificates"
	"  (application_id);"
	"CREATE TRIGGER certificates_kept BEFORE DELETE ON certificates"
	"  BEGIN SELECT RAISE(ABORT, 'certificates are never deleted'); END;"
	"CREATE TRIGGER certificates_numbered BEFORE UPDATE OF municipality,"
	"  number, application_id, grade, issued_at ON certificates"
	"  BEGIN SELECT RAISE(ABORT, 'an issued certificate is not changed');"
	"  END;",
	/* 6 -> 7: how far `hq run` has processed its inbox (common/inbox.h),
	 * written in the same transaction as what it stored */
	"CREATE TABLE ingest_cursor ("
	"  generation TEXT PRIMARY KEY,"
	"  inbox_id INTEGER NOT NULL"
	") WITHOUT ROWID;",
};

enum stmt_id {
	ST_UPSERT_SHELTER,
	ST_INSERT_MESSAGE,
	ST_INSERT_HEADCOUNT,
	ST_INSERT_NEED,
	ST_GET_ACKED,
	ST_NEXT_SEQS,
	ST_SEQ_SETTLED,
	ST_SET_ACKED,
	ST_GET_BIRTH,
	ST_SET_STATE,
	ST_DEAD_LETTER,
	ST_SET_REPORTED,
	ST_NEWER_STATUS,
	ST_SET_OPERATOR,
	ST_ADOPT_REGISTERED,
	ST_RECEIPT_LINE,
	ST_GET_CURSOR,
	ST_SET_CURSOR,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* ?4, the name a message carries, may be NULL: the name stays;
	 * acked_seq comes back so that nothing has to read it again */
	[ST_UPSERT_SHELTER] =
		"INSERT INTO shelters (shelter_id, municipality, name, first_seen,"
		" last_seen) VALUES (?1, ?2, ?4, ?3, ?3)"
		" ON CONFLICT (shelter_id) DO UPDATE SET last_seen = max(last_seen, ?3),"
		" name = coalesce(?4, name) RETURNING acked_seq",
	[ST_INSERT_MESSAGE] =
		"INSERT INTO messages (shelter_id, seq, type, time, historical,"
		" received_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT DO NOTHING",
	[ST_INSERT_HEADCOUNT] =
		"INSERT INTO headcounts (shelter_id, seq, total, infants, children,"
		" elderly, care, pregnant, disabled, medical, foreign_lang, pets)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_INSERT_NEED] =
		"INSERT INTO needs (shelter_id, seq, line, item, qty, urgency)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_GET_ACKED] = "SELECT acked_seq FROM shelters WHERE shelter_id = ?1",
	[ST_GET_CURSOR] = "SELECT inbox_id FROM ingest_cursor WHERE generation = ?1",
	/* one row per inbox: hq processes sharing a database (shared_group)
	 * each have their own */
	[ST_SET_CURSOR] = "INSERT INTO ingest_cursor (generation, inbox_id)"
			  " VALUES (?1, ?2) ON CONFLICT (generation)"
			  " DO UPDATE SET inbox_id = excluded.inbox_id",
	/* settled = stored, or rejected with a readable seq */
	[ST_NEXT_SEQS] = "SELECT seq FROM messages WHERE shelter_id = ?1"
			 " AND seq > ?2 UNION SELECT seq FROM dead_letters"
			 " WHERE shelter_id = ?1 AND seq > ?2 ORDER BY 1",
	/* two index lookups, where ST_NEXT_SEQS sorts a union */
	[ST_SEQ_SETTLED] =
		"SELECT EXISTS (SELECT 1 FROM messages WHERE shelter_id = ?1"
		" AND seq = ?2) OR EXISTS (SELECT 1 FROM dead_letters"
		" WHERE shelter_id = ?1 AND seq = ?2)",
	[ST_SET_ACKED] = "UPDATE shelters SET acked_seq = ?2 WHERE shelter_id = ?1",
	[ST_GET_BIRTH] = "SELECT birth FROM shelters WHERE shelter_id = ?1",
	[ST_SET_STATE] = "UPDATE shelters SET status = ?2, birth = ?3,"
			 " agent_version = ?4 WHERE shelter_id = ?1",
	[ST_DEAD_LETTER] =
		"INSERT INTO dead_letters (received_at, topic, reason, size, payload,"
		" shelter_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* Only the newest report moves the position: a backlog arriving
	 * late must not place the shelter where it was last week. */
	/* with acked_seq (?7), so a status report updates its shelter once */
	[ST_SET_REPORTED] =
		"UPDATE shelters SET last_report = max(coalesce(last_report, 0), ?2),"
		" acked_seq = max(acked_seq, ?7),"
		" lat = CASE WHEN ?6 THEN coalesce(?3, lat) ELSE lat END,"
		" lon = CASE WHEN ?6 THEN coalesce(?4, lon) ELSE lon END,"
		" position_source = CASE WHEN ?6 THEN coalesce(?5, position_source)"
		"   ELSE position_source END"
		" WHERE shelter_id = ?1",
	/* a range from ?2 up, empty when reports arrive in order; max(seq)
	 * over type = 'status' read every report of the shelter */
	[ST_NEWER_STATUS] = "SELECT EXISTS (SELECT 1 FROM messages"
			    " WHERE shelter_id = ?1 AND seq > ?2"
			    " AND type = 'status')",
	[ST_SET_OPERATOR] =
		"UPDATE shelters SET operator_state = ?2, operator_changed_at = ?3"
		" WHERE shelter_id = ?1",
	/* a listed shelter an operator opens before its agent is heard */
	[ST_ADOPT_REGISTERED] =
		"INSERT INTO shelters (shelter_id, municipality, name, first_seen,"
		" last_seen) SELECT shelter_id, municipality, name, ?2, 0"
		" FROM registry WHERE shelter_id = ?1"
		" ON CONFLICT (shelter_id) DO NOTHING",
	[ST_RECEIPT_LINE] =
		"INSERT INTO shelter_ledger (at, shelter_id, seq, dispatch_id,"
		" item, qty) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

struct hq_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

/* A shelter's acked_seq as upsert_shelter() found it, and the value the
 * message being stored moves it to. */
struct acked {
	long long was, now;
};

hq_store *store_open(const char *path, sl_error *err)
{
	hq_store *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (db_open(&st->db, path, migrations,
		    (int)(sizeof(migrations) / sizeof(migrations[0])),
		    DB_SYNC_FULL, err) != 0) {
		free(st);
		return NULL;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (db_prepare(st->db, &st->st[i], stmt_sql[i], err) != 0) {
			store_close(st);
			return NULL;
		}
	}
	return st;
}

struct sqlite3 *store_db(hq_store *st)
{
	return st->db;
}

void store_close(hq_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->st[i]);
	db_close(st->db);
	free(st);
}

int store_begin(hq_store *st, sl_error *err)
{
	return db_begin(st->db, err);
}

int store_commit(hq_store *st, sl_error *err)
{
	return db_commit(st->db, err);
}

void store_rollback(hq_store *st)
{
	db_rollback(st->db);
}

/* Runs a bound statement to completion and resets it. */
static int run(hq_store *st, enum stmt_id id, sl_error *err)
{
	int rc = sqlite3_step(st->st[id]);
	sqlite3_reset(st->st[id]);
	sqlite3_clear_bindings(st->st[id]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(st->db, err, stmt_sql[id]);
	return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static const char *get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void bind_opt_int(sqlite3_stmt *s, int i, const json_t *o,
			 const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		sqlite3_bind_int64(s, i, json_integer_value(v));
	else
		sqlite3_bind_null(s, i);
}

/* name NULL keeps the shelter's name.  Sets a->was and a->now to the
 * shelter's acked_seq. */
static int upsert_shelter(hq_store *st, const char *id, const char *muni,
			  const char *name, time_t now, struct acked *a,
			  sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_UPSERT_SHELTER];
	bind_text(s, 1, id);
	bind_text(s, 2, muni);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	bind_text(s, 4, name);
	int rc = sqlite3_step(s);
	a->was = a->now = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st->db, err, stmt_sql[ST_UPSERT_SHELTER]);
	return 0;
}

static int touch_shelter(hq_store *st, const json_t *msg, time_t now,
			 struct acked *a, sl_error *err)
{
	return upsert_shelter(st, get_str(msg, "shelter_id"),
			      get_str(msg, "municipality"), get_str(msg, "name"),
			      now, a, err);
}

/* 1 when the query (bound by the caller) answers true; < 0 on error. */
static int ask(hq_store *st, enum stmt_id id, sl_error *err)
{
	sqlite3_stmt *s = st->st[id];
	int rc = sqlite3_step(s);
	int yes = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW)
		return db_error(st->db, err, stmt_sql[id]);
	return yes;
}

int store_acked_seq(hq_store *st, const char *shelter_id, long long *seq,
		    sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_GET_ACKED];
	*seq = 0;
	bind_text(s, 1, shelter_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st->db, err, "read acked_seq");
	return 0;
}

int store_cursor(hq_store *st, const char *generation, long long *id,
		 sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_GET_CURSOR];
	*id = 0;
	bind_text(s, 1, generation);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st->db, err, "read the ingest cursor");
	return 0;
}

int store_set_cursor(hq_store *st, const char *generation, long long id,
		     sl_error *err)
{
	sqlite3_stmt *set = st->st[ST_SET_CURSOR];
	bind_text(set, 1, generation);
	sqlite3_bind_int64(set, 2, id);
	int rc = sqlite3_step(set);
	sqlite3_reset(set);
	sqlite3_clear_bindings(set);
	if (rc != SQLITE_DONE)
		return db_error(st->db, err, "write the ingest cursor");
	return 0;
}

/*
 * Moves a->now over every settled seq that directly follows it, so an
 * acknowledgement never covers a gap left by a lost message; writes
 * nothing (save_acked does).  `seq` was just settled: only seq ==
 * acked_seq + 1 can move it, and unless seq + 1 is settled too (a gap
 * being filled), to seq exactly.
 */
static int advance_acked(hq_store *st, const char *shelter_id, long long seq,
			 struct acked *a, sl_error *err)
{
	int rc;
	if (seq != a->was + 1)
		return 0;
	sqlite3_stmt *s = st->st[ST_SEQ_SETTLED];
	bind_text(s, 1, shelter_id);
	sqlite3_bind_int64(s, 2, seq + 1);
	if ((rc = ask(st, ST_SEQ_SETTLED, err)) <= 0) {
		if (rc == 0)
			a->now = seq;
		return rc;
	}
	s = st->st[ST_NEXT_SEQS];
	bind_text(s, 1, shelter_id);
	sqlite3_bind_int64(s, 2, a->was);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_int64(s, 0) != a->now + 1)
			break;
		a->now++;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st->db, err, "scan sequence numbers");
	return 0;
}

static int save_acked(hq_store *st, const char *shelter_id,
		      const struct acked *a, sl_error *err)
{
	if (a->now == a->was)
		return 0;
	sqlite3_stmt *s = st->st[ST_SET_ACKED];
	bind_text(s, 1, shelter_id);
	sqlite3_bind_int64(s, 2, a->now);
	return run(st, ST_SET_ACKED, err);
}

static int store_headcount(hq_store *st, const json_t *msg, sl_error *err)
{
	static const char *const groups[] = { "infants", "children", "elderly",
					      "care", "pregnant", "disabled",
					      "medical", "foreign", "pets" };
	const json_t *hc = json_object_get(msg, "headcount");
	sqlite3_stmt *s = st->st[ST_INSERT_HEADCOUNT];

	bind_text(s, 1, get_str(msg, "shelter_id"));
	sqlite3_bind_int64(s, 2, json_integer_value(json_object_get(msg, "seq")));
	sqlite3_bind_int64(s, 3, json_integer_value(json_object_get(hc, "total")));
	for (int i = 0; i < 9; i++)
		bind_opt_int(s, 4 + i, hc, groups[i]);
	return run(st, ST_INSERT_HEADCOUNT, err);
}

static int store_needs(hq_store *st, const json_t *msg, sl_error *err)
{
	const json_t *needs = json_object_get(msg, "needs");
	size_t i;
	json_t *line;

	json_array_foreach (needs, i, line) {
		sqlite3_stmt *s = st->st[ST_INSERT_NEED];
		bind_text(s, 1, get_str(msg, "shelter_id"));
		sqlite3_bind_int64(s, 2,
				   json_integer_value(json_object_get(msg, "seq")));
		sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
		bind_text(s, 4, get_str(line, "item"));
		sqlite3_bind_int64(s, 5,
				   json_integer_value(json_object_get(line, "qty")));
		bind_text(s, 6, get_str(line, "urgency"));
		int rc = run(st, ST_INSERT_NEED, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* When the shelter last reported, and where its newest report puts it
 * (an ad-hoc shelter has no other position). */
static int note_report(hq_store *st, const json_t *msg, time_t now,
		       const struct acked *a, sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_SET_REPORTED];
	const json_t *pos = json_object_get(msg, "position");
	const char *id = get_str(msg, "shelter_id");
	sqlite3_stmt *q = st->st[ST_NEWER_STATUS];
	bind_text(q, 1, id);
	sqlite3_bind_int64(q, 2, json_integer_value(json_object_get(msg, "seq")));
	int newer = ask(st, ST_NEWER_STATUS, err);
	if (newer < 0)
		return newer;
	int is_newest = !newer;
	bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (pos) {
		sqlite3_bind_double(s, 3, json_number_value(json_object_get(pos, "lat")));
		sqlite3_bind_double(s, 4, json_number_value(json_object_get(pos, "lon")));
		bind_text(s, 5, get_str(pos, "source"));
	}
	sqlite3_bind_int(s, 6, is_newest && pos != NULL);
	sqlite3_bind_int64(s, 7, a->now);
	return run(st, ST_SET_REPORTED, err);
}

/* What arrived enters the shelter's ledger, line by line, so that a
 * dispatch can be reconciled against it (hq dispatch status). */
static int store_receipt(hq_store *st, const json_t *msg, time_t now,
			 sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_RECEIPT_LINE];
	size_t i;
	const json_t *line;
	json_array_foreach(json_object_get(msg, "lines"), i, line) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
		bind_text(s, 2, get_str(msg, "shelter_id"));
		sqlite3_bind_int64(s, 3, json_integer_value(
						 json_object_get(msg, "seq")));
		bind_text(s, 4, get_str(msg, "dispatch_id"));
		bind_text(s, 5, get_str(line, "item"));
		sqlite3_bind_int64(s, 6, json_integer_value(
						 json_object_get(line, "qty")));
		int rc = run(st, ST_RECEIPT_LINE, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int store_sequenced(hq_store *st, enum topic_kind kind,
			   const json_t *msg, const char *text, size_t len,
			   time_t now, struct acked *a,
			   enum store_result *result, sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_INSERT_MESSAGE];
	bind_text(s, 1, get_str(msg, "shelter_id"));
	sqlite3_bind_int64(s, 2, json_integer_value(json_object_get(msg, "seq")));
	bind_text(s, 3, topic_kind_name(kind));
	bind_text(s, 4, get_str(msg, "time"));
	sqlite3_bind_int(s, 5, json_is_true(json_object_get(msg, "historical")));
	sqlite3_bind_int64(s, 6, (sqlite3_int64)now);
	sqlite3_bind_text(s, 7, text, (int)len, SQLITE_STATIC);
	int rc = run(st, ST_INSERT_MESSAGE, err);
	if (rc != 0)
		return rc;
	if (sqlite3_changes(st->db) == 0) {
		*result = STORE_DUPLICATE;
		return 0;
	}
	*result = STORE_NEW;
	const char *id = get_str(msg, "shelter_id");
	long long seq = json_integer_value(json_object_get(msg, "seq"));
	if ((rc = advance_acked(st, id, seq, a, err)) != 0)
		return rc;
	if (kind == TOPIC_RECEIPT && (rc = store_receipt(st, msg, now, err)))
		return rc;
	if (kind == TOPIC_STATUS) {
		if ((rc = store_headcount(st, msg, err)) != 0 ||
		    (rc = store_needs(st, msg, err)) != 0)
			return rc;
		return note_report(st, msg, now, a, err);
	}
	return save_acked(st, id, a, err);
}

/*
 * Birth and death: a message whose birth number is older than the last
 * one seen belongs to a connection that has already been replaced (a
 * late Will), so it must not mark a live shelter offline.
 */
static int store_state(hq_store *st, const json_t *msg,
		       enum store_result *result, sl_error *err)
{
	const char *id = get_str(msg, "shelter_id");
	long long birth = json_integer_value(json_object_get(msg, "birth"));
	long long known = -1;
	sqlite3_stmt *s = st->st[ST_GET_BIRTH];

	bind_text(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		known = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (birth < known) {
		*result = STORE_IGNORED;
		return 0;
	}
	s = st->st[ST_SET_STATE];
	bind_text(s, 1, id);
	bind_text(s, 2, get_str(msg, "state"));
	sqlite3_bind_int64(s, 3, birth);
	bind_text(s, 4, get_str(msg, "agent_version"));
	*result = STORE_NEW;
	return run(st, ST_SET_STATE, err);
}

int store_message(hq_store *st, enum topic_kind kind, const json_t *msg,
		  time_t received_at, enum store_result *result, sl_error *err)
{
	if (kind != TOPIC_STATUS && kind != TOPIC_RECEIPT)
		return store_message_text(st, kind, msg, NULL, 0, received_at,
					  result, err);
	char *text = msg_encode(msg);
	if (text == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc = store_message_text(st, kind, msg, text, strlen(text),
				    received_at, result, err);
	free(text);
	return rc;
}

int store_message_text(hq_store *st, enum topic_kind kind, const json_t *msg,
		       const char *text, size_t len, time_t received_at,
		       enum store_result *result, sl_error *err)
{
	struct acked a;
	int rc = touch_shelter(st, msg, received_at, &a, err);
	if (rc != 0)
		return rc;
	switch (kind) {
	case TOPIC_STATUS:
	case TOPIC_RECEIPT:
		return store_sequenced(st, kind, msg, text, len, received_at,
				       &a, result, err);
	case TOPIC_STATE:
		return store_state(st, msg, result, err);
	default:
		return sl_error_set(err, SL_EINVAL, "hq does not store %s messages",
				    topic_kind_name(kind));
	}
}

int store_dead_letter(hq_store *st, const char *topic, const char *reason,
		      const void *payload, size_t len, size_t original_len,
		      const struct store_settle *settle, time_t received_at,
		      sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_DEAD_LETTER];
	int rc;
	if (len > MSG_MAX_BYTES)
		len = MSG_MAX_BYTES;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)received_at);
	bind_text(s, 2, topic);
	bind_text(s, 3, reason);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)original_len);
	sqlite3_bind_blob(s, 5, payload, (int)len, SQLITE_TRANSIENT);
	if (settle) {
		bind_text(s, 6, settle->shelter_id);
		sqlite3_bind_int64(s, 7, settle->seq);
	}
	if ((rc = run(st, ST_DEAD_LETTER, err)) != 0 || settle == NULL)
		return rc;
	struct acked a;
	if ((rc = upsert_shelter(st, settle->shelter_id, settle->municipality,
				 NULL, received_at, &a, err)) != 0 ||
	    (rc = advance_acked(st, settle->shelter_id, settle->seq, &a, err)))
		return rc;
	return save_acked(st, settle->shelter_id, &a, err);
}

int store_set_operator_state(hq_store *st, const char *shelter_id, int open,
			     time_t now, sl_error *err)
{
	sqlite3_stmt *s = st->st[ST_ADOPT_REGISTERED];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	bind_text(s, 1, shelter_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if ((rc = run(st, ST_ADOPT_REGISTERED, err)) != 0)
		goto fail;
	s = st->st[ST_SET_OPERATOR];
	bind_text(s, 1, shelter_id);
	bind_text(s, 2, open ? "open" : "closed");
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = run(st, ST_SET_OPERATOR, err)) != 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		rc = sl_error_set(err, SL_ENOTFOUND,
				  "no shelter '%s' in the registry or in the "
				  "reports (see hq shelters)",
				  shelter_id);
		goto fail;
	}
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_each_shelter(hq_store *st, store_shelter_fn fn, void *arg,
		       sl_error *err)
{
	static const char sql[] =
		"SELECT s.shelter_id, s.municipality, s.name, s.status,"
		"  s.acked_seq, s.registered, s.birth,"
		"  (SELECT count(*) FROM messages m WHERE m.shelter_id = s.shelter_id"
		"     AND m.type = 'status'),"
		"  (SELECT max(seq) FROM messages m WHERE m.shelter_id = s.shelter_id),"
		"  h.total, m.time, s.last_seen"
		" FROM shelters s"
		" LEFT JOIN headcounts h ON h.shelter_id = s.shelter_id AND h.seq ="
		"  (SELECT max(seq) FROM headcounts x WHERE x.shelter_id = s.shelter_id)"
		" LEFT JOIN messages m ON m.shelter_id = h.shelter_id AND m.seq = h.seq"
		" ORDER BY s.shelter_id";
	sqlite3_stmt *s;
	int rc = db_prepare(st->db, &s, sql, err);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_shelter row = {
			.shelter_id = (const char *)sqlite3_column_text(s, 0),
			.municipality = (const char *)sqlite3_column_text(s, 1),
			.name = (const char *)sqlite3_column_text(s, 2),
			.status = (const char *)sqlite3_column_text(s, 3),
			.acked_seq = sqlite3_column_int64(s, 4),
			.registered = sqlite3_column_int64(s, 5),
			.birth = sqlite3_column_int64(s, 6),
			.reports = sqlite3_column_int64(s, 7),
			.last_seq = sqlite3_column_int64(s, 8),
			.has_total = sqlite3_column_type(s, 9) != SQLITE_NULL,
			.total = sqlite3_column_int64(s, 9),
			.last_time = (const char *)sqlite3_column_text(s, 10),
			.last_seen = sqlite3_column_int64(s, 11),
		};
		int stop = fn(&row, arg);
		if (stop != 0) {
			sqlite3_finalize(s);
			return stop;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_error(st->db, err, "list shelters");
	return 0;
}
