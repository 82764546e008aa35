/*
 * db.c - see db.h.
 */
#include "db.h"

#include <stdio.h>

/* Staff reading "database or disk is full" need to know which file. */
static const char *file_of(sqlite3 *db)
{
	const char *name = db ? sqlite3_db_filename(db, "main") : NULL;
	return name && *name ? name : "(database)";
}

int db_error(sqlite3 *db, sl_error *err, const char *what)
{
	return sl_error_set(err, SL_EDB, "%s: %s: %s", file_of(db), what,
			    db ? sqlite3_errmsg(db) : "cannot open");
}

int db_exec(sqlite3 *db, const char *sql, sl_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sl_error_set(err, SL_EDB, "%s: %s", file_of(db),
			     msg ? msg : "exec failed");
		sqlite3_free(msg);
		return SL_EDB;
	}
	return 0;
}

int db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, sl_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return db_error(db, err, "prepare");
	return 0;
}

int db_begin(sqlite3 *db, sl_error *err)
{
	return db_exec(db, "BEGIN IMMEDIATE", err);
}

int db_commit(sqlite3 *db, sl_error *err)
{
	int rc = db_exec(db, "COMMIT", err);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(sqlite3 *db, int *version, sl_error *err)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, &st, "PRAGMA user_version", err);
	if (rc != 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_error(db, err, "read schema version");
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Each step re-reads user_version under the write lock: two processes
 * opening a new file at once (the daemon and `report`) would otherwise
 * both run migration 1. */
static int migrate(sqlite3 *db, const char *const *migrations, int n,
		   sl_error *err)
{
	int current;
	if (user_version(db, &current, err) == 0 && current == n)
		return 0; /* the usual case needs no write lock */
	for (;;) {
		int version, rc;
		char bump[64];
		if ((rc = db_begin(db, err)) != 0)
			return rc;
		if ((rc = user_version(db, &version, err)) != 0) {
			db_rollback(db);
			return rc;
		}
		if (version > n) {
			db_rollback(db);
			return sl_error_set(err, SL_EDB,
					    "%s: database schema version %d is "
					    "newer than this program's %d",
					    file_of(db), version, n);
		}
		if (version == n) {
			db_rollback(db);
			return 0;
		}
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
			 version + 1);
		if ((rc = db_exec(db, migrations[version], err)) != 0 ||
		    (rc = db_exec(db, bump, err)) != 0) {
			db_rollback(db);
			sl_error_prefix(err, "migration %d", version + 1);
			return rc;
		}
		if ((rc = db_commit(db, err)) != 0)
			return rc;
	}
}

int db_open(sqlite3 **out, const char *path, const char *const *migrations,
	    int nmigrations, unsigned flags, sl_error *err)
{
	sqlite3 *db = NULL;
	int oflags = (flags & DB_READONLY)
			     ? SQLITE_OPEN_READONLY
			     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc;

	*out = NULL;
	if (sqlite3_open_v2(path, &db, oflags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sl_error_set(err, SL_EDB, "%s: %s", path,
			     db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return SL_EDB;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 1);
	if (!(flags & DB_READONLY)) {
		rc = db_exec(db, "PRAGMA journal_mode = WAL", err);
		if (rc == 0)
			rc = db_exec(db,
				     (flags & DB_SYNC_FULL)
					     ? "PRAGMA synchronous = FULL"
					     : "PRAGMA synchronous = NORMAL",
				     err);
		if (rc == 0)
			rc = db_exec(db, "PRAGMA foreign_keys = ON", err);
		if (rc == 0)
			rc = migrate(db, migrations, nmigrations, err);
	} else {
		int version = 0;
		rc = user_version(db, &version, err);
		if (rc == 0 && version != nmigrations)
			rc = sl_error_set(err, SL_EDB,
					  "%s: database schema version %d, this "
					  "program needs %d: run the daemon once",
					  path, version, nmigrations);
	}
	if (rc != 0) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void db_close(sqlite3 *db)
{
	sqlite3_close(db);
}
