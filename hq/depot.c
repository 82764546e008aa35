/*
 * depot.c - depots, their vehicles and the stock they hold.  Stock is a
 * ledger: every change is a row with who, when, why and a reference (a
 * file:line, a plan, a dispatch), and the quantity on hand is their sum.
 * A change that would take any depot's stock of an item below zero is
 * refused whole: a batch (an import) is one transaction.
 */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "hq.h"

static int id_ok(const char *what, const char *id, sl_error *err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 64 || strpbrk(id, "/+#, \t\r\n"))
		return sl_error_set(err, SL_EINVAL,
				    "%s: '%s' is not an id (1 to 64 characters, "
				    "no '/', '+', '#', ',' or blanks)",
				    what, id ? id : "");
	return 0;
}

/* Runs one statement with text/real parameters given as strings or
 * doubles: kept tiny because each caller binds differently. */
static int exec_stmt(sqlite3 *db, sqlite3_stmt *s, const char *what,
		     sl_error *err)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    (rc & 0xff) == SQLITE_CONSTRAINT)
		return sl_error_set(err, SL_EINVAL, "%s: %s", what,
				    sqlite3_errmsg(db));
	if (rc != SQLITE_DONE)
		return db_error(db, err, what);
	return 0;
}

int depot_add(hq_store *st, const struct depot *d, time_t now, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc;
	if ((rc = id_ok("depot", d->id, err)) != 0)
		return rc;
	if (d->name == NULL || *d->name == '\0')
		return sl_error_set(err, SL_EINVAL, "depot %s: a name is required",
				    d->id);
	if (!(fabs(d->lat) <= 90) || !(fabs(d->lon) <= 180))
		return sl_error_set(err, SL_EINVAL,
				    "depot %s: position %g, %g is not a latitude "
				    "and longitude",
				    d->id, d->lat, d->lon);
	if ((rc = db_prepare(db, &s,
			     "INSERT INTO depots (depot_id, name, lat, lon,"
			     " created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
			     " ON CONFLICT (depot_id) DO UPDATE SET name = ?2,"
			     " lat = ?3, lon = ?4",
			     err)) != 0)
		return rc;
	sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 3, d->lat);
	sqlite3_bind_double(s, 4, d->lon);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	return exec_stmt(db, s, "depot", err);
}

static int depot_exists(sqlite3 *db, const char *id, sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s, "SELECT 1 FROM depots WHERE depot_id = ?1",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_error(db, err, "depot");
	return sl_error_set(err, SL_ENOTFOUND,
			    "no depot '%s' (add it with hq depot add)", id);
}

int vehicle_add(hq_store *st, const struct vehicle *v, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc;
	if ((rc = id_ok("vehicle", v->id, err)) != 0 ||
	    (rc = depot_exists(db, v->depot_id, err)) != 0)
		return rc;
	if (!(v->max_weight_kg > 0) || !(v->max_volume_l > 0) ||
	    v->max_weight_kg > 1e6 || v->max_volume_l > 1e7)
		return sl_error_set(err, SL_EINVAL,
				    "vehicle %s: capacity %g kg, %g l: both must "
				    "be above zero (and below 1,000 t, 10,000 m3)",
				    v->id, v->max_weight_kg, v->max_volume_l);
	if ((rc = db_prepare(db, &s,
			     "INSERT INTO vehicles (vehicle_id, depot_id, name,"
			     " max_weight_kg, max_volume_l) VALUES"
			     " (?1, ?2, ?3, ?4, ?5) ON CONFLICT (vehicle_id) DO"
			     " UPDATE SET depot_id = ?2, name = ?3,"
			     " max_weight_kg = ?4, max_volume_l = ?5",
			     err)) != 0)
		return rc;
	sqlite3_bind_text(s, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, v->depot_id, -1, SQLITE_STATIC);
	if (v->name)
		sqlite3_bind_text(s, 3, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, v->max_weight_kg);
	sqlite3_bind_double(s, 5, v->max_volume_l);
	return exec_stmt(db, s, "vehicle", err);
}

int stock_on_hand(hq_store *st, const char *depot_id, const char *item,
		  long long *qty, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s,
			    "SELECT coalesce(sum(delta), 0) FROM stock_ledger"
			    " WHERE depot_id = ?1 AND item = ?2",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, depot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, item, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*qty = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_error(db, err, "stock");
}

/* One ledger row inside the caller's transaction, checked first. */
static int post(hq_store *st, const catalog *items,
		const struct stock_change *c, time_t now, sl_error *err)
{
	sqlite3 *db = store_db(st);
	long long have;
	sqlite3_stmt *s;
	int rc;

	if ((rc = depot_exists(db, c->depot_id, err)) != 0)
		return rc;
	if (catalog_find(items, c->item) == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "item '%s' is not in the item catalogue",
				    c->item);
	if (c->delta == 0 || c->delta > 100000000LL || c->delta < -100000000LL)
		return sl_error_set(err, SL_EINVAL,
				    "quantity %lld: must be non-zero and within "
				    "100,000,000",
				    c->delta);
	if (c->why == NULL || *c->why == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "a reason is required (--why)");
	if ((rc = stock_on_hand(st, c->depot_id, c->item, &have, err)) != 0)
		return rc;
	if (have + c->delta < 0)
		return sl_error_set(err, SL_EINVAL,
				    "%s holds %lld of %s: cannot take %lld "
				    "(stock never goes below zero)",
				    c->depot_id, have, c->item, -c->delta);
	if ((rc = db_prepare(db, &s,
			     "INSERT INTO stock_ledger (at, depot_id, item,"
			     " delta, reason, who, ref) VALUES"
			     " (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			     err)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_text(s, 2, c->depot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->item, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, c->delta);
	sqlite3_bind_text(s, 5, c->why, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, c->who ? c->who : "unknown", -1, SQLITE_STATIC);
	if (c->ref)
		sqlite3_bind_text(s, 7, c->ref, -1, SQLITE_STATIC);
	return exec_stmt(db, s, "stock ledger", err);
}

int stock_post_in(hq_store *st, const catalog *items,
		  const struct stock_change *changes, size_t n, time_t now,
		  sl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = post(st, items, &changes[i], now, err);
		if (rc != 0) {
			if (changes[i].ref)
				sl_error_prefix(err, "%s", changes[i].ref);
			return rc;
		}
	}
	return 0;
}

int stock_post(hq_store *st, const catalog *items,
	       const struct stock_change *changes, size_t n, time_t now,
	       sl_error *err)
{
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = stock_post_in(st, items, changes, n, now, err)) != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}
