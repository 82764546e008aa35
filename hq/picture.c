/*
 * picture.c - the live picture operators see, built as JSON from HQ's
 * database: every shelter (listed or heard from) with its state,
 * headcount, capacity and open needs; one shelter's history; the open
 * needs across shelters.  view.c renders these; a console calls the same
 * functions.  Read-only: safe beside `hq run` (WAL readers do not block).
 *
 * A shelter's open needs are the need lines of its newest status report:
 * every report restates what is still needed (docs/protocol.md).
 */
#include <math.h>
#include <stdio.h>
#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "hq.h"
#include "msg.h"

static const char *const group_keys[] = { "infants", "children", "elderly",
					  "care", "pregnant", "disabled",
					  "medical", "foreign", "pets" };
#define NGROUPS (sizeof(group_keys) / sizeof(group_keys[0]))

/* Every shelter id known from the registry or from messages, with the
 * newest status report's headcount.  Column order matters: row_to_json. */
static const char shelters_sql[] =
	"WITH ids AS (SELECT shelter_id FROM shelters"
	"             UNION SELECT shelter_id FROM registry),"
	" newest AS (SELECT shelter_id, max(seq) AS seq FROM headcounts"
	"            GROUP BY shelter_id)"
	" SELECT i.shelter_id,"                                       /* 0 */
	"  coalesce(r.municipality, s.municipality),"                 /* 1 */
	"  coalesce(r.name, s.name),"                                 /* 2 */
	"  r.shelter_id IS NOT NULL, r.district,"                     /* 3,4 */
	"  s.status, s.operator_state, s.last_report, s.last_seen,"   /* 5-8 */
	"  s.acked_seq,"                                              /* 9 */
	"  (SELECT count(*) FROM messages x WHERE x.shelter_id = i.shelter_id"
	"     AND x.type = 'status'),"                                /* 10 */
	"  (SELECT max(seq) FROM messages x"
	"     WHERE x.shelter_id = i.shelter_id),"                    /* 11 */
	"  m.time, h.total,"                                          /* 12,13 */
	"  h.infants, h.children, h.elderly, h.care, h.pregnant,"    /* 14-18 */
	"  h.disabled, h.medical, h.foreign_lang, h.pets,"            /* 19-22 */
	"  coalesce(r.lat, s.lat), coalesce(r.lon, s.lon),"           /* 23,24 */
	"  CASE WHEN r.lat IS NOT NULL THEN 'registry'"
	"       ELSE s.position_source END,"                          /* 25 */
	"  r.capacity_indoor, r.capacity_outdoor,"                    /* 26,27 */
	"  (SELECT count(*) FROM needs n WHERE n.shelter_id = i.shelter_id"
	"     AND n.seq = h.seq),"                                    /* 28 */
	"  (SELECT count(*) FROM needs n WHERE n.shelter_id = i.shelter_id"
	"     AND n.seq = h.seq AND n.urgency = 'critical')"          /* 29 */
	" FROM ids i"
	" LEFT JOIN registry r ON r.shelter_id = i.shelter_id"
	" LEFT JOIN shelters s ON s.shelter_id = i.shelter_id"
	" LEFT JOIN newest l ON l.shelter_id = i.shelter_id"
	" LEFT JOIN headcounts h ON h.shelter_id = l.shelter_id AND h.seq = l.seq"
	" LEFT JOIN messages m ON m.shelter_id = h.shelter_id AND m.seq = h.seq"
	" WHERE ?1 IS NULL OR i.shelter_id = ?1"
	" ORDER BY i.shelter_id";

static json_t *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *col_int(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL
		       ? json_null()
		       : json_integer(sqlite3_column_int64(s, i));
}

static json_t *col_real(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL
		       ? json_null()
		       : json_real(sqlite3_column_double(s, i));
}

static json_t *unix_time(sqlite3_stmt *s, int i)
{
	char when[32];
	if (sqlite3_column_type(s, i) == SQLITE_NULL ||
	    sqlite3_column_int64(s, i) <= 0)
		return json_null();
	msg_time((time_t)sqlite3_column_int64(s, i), when);
	return json_string(when);
}

/*
 * One word for the list: what an operator acts on first.  Closed by an
 * operator wins; a listed shelter nobody opened and nobody heard from is
 * not_opened; one whose reports stopped is stale; else the connection.
 */
static const char *shelter_status(sqlite3_stmt *s, time_t now,
				  long long stale_after_s)
{
	const unsigned char *op = sqlite3_column_text(s, 6);
	const unsigned char *conn = sqlite3_column_text(s, 5);
	if (op && strcmp((const char *)op, "closed") == 0)
		return "closed";
	if (sqlite3_column_type(s, 7) != SQLITE_NULL &&
	    now - sqlite3_column_int64(s, 7) > stale_after_s)
		return "stale";
	if (conn == NULL)
		return "not_opened";
	if (op && strcmp((const char *)conn, "unknown") == 0)
		return "open";
	return (const char *)conn;
}

static json_t *occupancy(sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 13) == SQLITE_NULL ||
	    sqlite3_column_type(s, 26) == SQLITE_NULL ||
	    sqlite3_column_int64(s, 26) <= 0)
		return json_null();
	double o = (double)sqlite3_column_int64(s, 13) /
		   (double)sqlite3_column_int64(s, 26);
	return json_real(round(o * 100) / 100);
}

static json_t *row_to_json(sqlite3_stmt *s, const struct picture_opts *o)
{
	long long age = sqlite3_column_type(s, 7) == SQLITE_NULL
				? -1
				: (long long)o->now - sqlite3_column_int64(s, 7);
	json_t *groups = json_object();
	for (size_t g = 0; groups && g < NGROUPS; g++)
		if (sqlite3_column_type(s, 14 + (int)g) != SQLITE_NULL)
			json_object_set_new(
				groups, group_keys[g],
				json_integer(sqlite3_column_int64(s, 14 + (int)g)));
	return json_pack(
		"{s:o, s:o, s:o, s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:o,"
		" s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I,"
		" s:I}",
		"shelter_id", col_text(s, 0), "municipality", col_text(s, 1),
		"name", col_text(s, 2), "registered", sqlite3_column_int(s, 3),
		"district", col_text(s, 4), "status",
		shelter_status(s, o->now, o->stale_after_s), "connection",
		col_text(s, 5), "operator_state", col_text(s, 6), "total",
		col_int(s, 13), "groups", groups ? groups : json_null(),
		"capacity", col_int(s, 26), "capacity_outdoor", col_int(s, 27),
		"occupancy", occupancy(s), "last_report_time", col_text(s, 12),
		"last_report_age_s", age < 0 ? json_null() : json_integer(age),
		"last_seen", unix_time(s, 8), "lat", col_real(s, 23), "lon",
		col_real(s, 24), "position_source", col_text(s, 25),
		"acked_seq", col_int(s, 9), "last_seq", col_int(s, 11),
		"reports", (json_int_t)sqlite3_column_int64(s, 10),
		"open_needs", (json_int_t)sqlite3_column_int64(s, 28),
		"critical_needs", (json_int_t)sqlite3_column_int64(s, 29));
}

/* Runs shelters_sql for one id (or all, id NULL) into a JSON array. */
static int select_shelters(hq_store *st, const char *id,
			   const struct picture_opts *o, json_t **out,
			   sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s, shelters_sql, err);
	*out = NULL;
	if (rc != 0)
		return rc;
	json_t *rows = json_array();
	if (id)
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	while (rows && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *row = row_to_json(s, o);
		if (row == NULL || json_array_append_new(rows, row) != 0) {
			json_decref(rows);
			rows = NULL;
		}
	}
	if (rows == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	else if (rc != SQLITE_DONE)
		rc = db_error(db, err, "list shelters");
	else
		rc = 0;
	sqlite3_finalize(s);
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	*out = rows;
	return 0;
}

int picture_shelters(hq_store *st, const struct picture_opts *o,
		     json_t **rows, sl_error *err)
{
	return select_shelters(st, NULL, o, rows, err);
}

static int query_rows(sqlite3 *db, const char *sql, const char *id,
		      json_t **out, sl_error *err);

int picture_query(hq_store *st, const char *sql, const char *param,
		  json_t **rows, sl_error *err)
{
	return query_rows(store_db(st), sql, param, rows, err);
}

/* Runs a query whose columns become the keys of each row's object. */
static int query_rows(sqlite3 *db, const char *sql, const char *id,
		      json_t **out, sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s, sql, err);
	*out = NULL;
	if (rc != 0)
		return rc;
	if (id)
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	json_t *rows = json_array();
	while (rows && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *row = json_object();
		for (int c = 0; row && c < sqlite3_column_count(s); c++) {
			json_t *v;
			switch (sqlite3_column_type(s, c)) {
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(s, c));
				break;
			case SQLITE_FLOAT:
				v = json_real(sqlite3_column_double(s, c));
				break;
			case SQLITE_NULL:
				v = json_null();
				break;
			default:
				v = col_text(s, c);
			}
			if (json_object_set_new(row, sqlite3_column_name(s, c),
						v) != 0) {
				json_decref(row);
				row = NULL;
			}
		}
		if (row == NULL || json_array_append_new(rows, row) != 0) {
			json_decref(rows);
			rows = NULL;
		}
	}
	if (rows == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	else
		rc = rc == SQLITE_DONE ? 0 : db_error(db, err, "query");
	sqlite3_finalize(s);
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	*out = rows;
	return 0;
}

static const char history_sql[] =
	"SELECT m.seq, m.time, datetime(m.received_at, 'unixepoch') || 'Z'"
	"  AS received_at, m.historical, h.total, h.infants, h.children,"
	"  h.elderly, h.care, h.pregnant, h.disabled, h.medical,"
	"  h.foreign_lang AS \"foreign\", h.pets"
	" FROM messages m JOIN headcounts h USING (shelter_id, seq)"
	" WHERE m.shelter_id = ?1 ORDER BY m.seq";

static const char shelter_needs_sql[] =
	"SELECT n.item, n.qty, n.urgency FROM needs n"
	" WHERE n.shelter_id = ?1 AND n.seq ="
	"  (SELECT max(seq) FROM headcounts WHERE shelter_id = ?1)"
	" ORDER BY n.line";

static const char recent_sql[] =
	"SELECT seq, type, time, datetime(received_at, 'unixepoch') || 'Z'"
	"  AS received_at FROM messages WHERE shelter_id = ?1"
	" ORDER BY seq DESC LIMIT 20";

static const char dead_sql[] =
	"SELECT seq, reason, datetime(received_at, 'unixepoch') || 'Z'"
	"  AS received_at FROM dead_letters WHERE shelter_id = ?1"
	" ORDER BY id DESC LIMIT 20";

int picture_shelter(hq_store *st, const char *id, const struct picture_opts *o,
		    json_t **out, sl_error *err)
{
	static const struct {
		const char *key, *sql;
	} parts[] = { { "history", history_sql },
		      { "needs", shelter_needs_sql },
		      { "recent_messages", recent_sql },
		      { "rejected_messages", dead_sql } };
	json_t *rows;
	int rc = select_shelters(st, id, o, &rows, err);
	*out = NULL;
	if (rc != 0)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return sl_error_set(err, SL_ENOTFOUND,
				    "no shelter '%s' in the registry or in the "
				    "reports (see hq shelters)",
				    id);
	}
	json_t *obj = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		json_t *part;
		if ((rc = query_rows(store_db(st), parts[i].sql, id, &part,
				     err)) != 0 ||
		    json_object_set_new(obj, parts[i].key, part) != 0) {
			json_decref(obj);
			return rc ? rc : sl_error_set(err, SL_ENOMEM, "out of memory");
		}
	}
	*out = obj;
	return 0;
}

/* Need lines of each open shelter's newest report. */
static const char open_needs_sql[] =
	PICTURE_OPEN_REPORTS
	" SELECT n.shelter_id, coalesce(r.name, s.name) AS name, n.item,"
	"  n.qty, n.urgency"
	" FROM needs n JOIN open_reports USING (shelter_id, seq)"
	" JOIN shelters s ON s.shelter_id = n.shelter_id"
	" LEFT JOIN registry r ON r.shelter_id = n.shelter_id"
	" WHERE ?1 IS NULL OR n.urgency = ?1"
	" ORDER BY CASE n.urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
	"  ELSE 2 END, n.item, n.shelter_id";

static const char needs_by_item_sql[] =
	PICTURE_OPEN_REPORTS
	" SELECT n.item, sum(n.qty) AS qty,"
	"  sum(CASE WHEN n.urgency = 'critical' THEN n.qty ELSE 0 END)"
	"   AS critical,"
	"  sum(CASE WHEN n.urgency = 'high' THEN n.qty ELSE 0 END) AS high,"
	"  sum(CASE WHEN n.urgency = 'normal' THEN n.qty ELSE 0 END) AS normal,"
	"  count(DISTINCT n.shelter_id) AS shelters"
	" FROM needs n JOIN open_reports USING (shelter_id, seq)"
	" WHERE ?1 IS NULL OR n.urgency = ?1"
	" GROUP BY n.item ORDER BY critical DESC, qty DESC, n.item";

/* Adds the catalogue's names, unit and category to rows with "item". */
static int name_items(json_t *rows, const catalog *items)
{
	size_t i;
	json_t *row;
	if (items == NULL)
		return 0;
	json_array_foreach (rows, i, row) {
		const struct catalog_item *it = catalog_find(
			items, json_string_value(json_object_get(row, "item")));
		if (it == NULL)
			continue;
		if (json_object_set_new(row, "item_name", json_string(it->name_ja)) ||
		    json_object_set_new(row, "item_name_en",
					json_string(it->name_en)) ||
		    json_object_set_new(row, "unit", json_string(it->unit)) ||
		    json_object_set_new(row, "category", json_string(it->category)))
			return SL_ENOMEM;
	}
	return 0;
}

int picture_needs(hq_store *st, const catalog *items, int by_shelter,
		  const char *urgency, json_t **rows, sl_error *err)
{
	int rc = query_rows(store_db(st),
			    by_shelter ? open_needs_sql : needs_by_item_sql,
			    urgency, rows, err);
	if (rc == 0 && name_items(*rows, items) != 0) {
		json_decref(*rows);
		*rows = NULL;
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	return rc;
}

int picture_depots(hq_store *st, json_t **rows, sl_error *err)
{
	return query_rows(store_db(st),
			  "SELECT d.depot_id, d.name, d.lat, d.lon,"
			  "  count(v.vehicle_id) AS vehicles,"
			  "  coalesce(sum(v.max_weight_kg), 0) AS capacity_kg,"
			  "  coalesce(sum(v.max_volume_l), 0) AS capacity_l"
			  " FROM depots d LEFT JOIN vehicles v USING (depot_id)"
			  " WHERE ?1 IS NULL GROUP BY d.depot_id"
			  " ORDER BY d.depot_id",
			  NULL, rows, err);
}

int picture_stock(hq_store *st, const catalog *items, const char *depot,
		  json_t **rows, sl_error *err)
{
	int rc = query_rows(store_db(st),
			    "SELECT depot_id, item, sum(delta) AS qty,"
			    "  datetime(max(at), 'unixepoch') || 'Z' AS changed"
			    " FROM stock_ledger WHERE ?1 IS NULL OR depot_id = ?1"
			    " GROUP BY depot_id, item HAVING sum(delta) <> 0"
			    " ORDER BY depot_id, item",
			    depot, rows, err);
	if (rc == 0 && name_items(*rows, items) != 0) {
		json_decref(*rows);
		*rows = NULL;
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	return rc;
}

int picture_ledger(hq_store *st, int limit, json_t **rows, sl_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%d", limit);
	return query_rows(store_db(st),
			  "SELECT id, datetime(at, 'unixepoch') || 'Z' AS at,"
			  "  depot_id, item, delta, reason, who, ref"
			  " FROM stock_ledger ORDER BY id DESC LIMIT ?1",
			  n, rows, err);
}
