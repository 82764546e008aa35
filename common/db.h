/*
 * db.h - SQLite conventions shared by every program: open in WAL mode with
 * a busy timeout, numbered migrations applied at open (PRAGMA
 * user_version), transactions that report errors through sl_error.
 *
 * This is not a query layer: callers prepare their own statements.
 */
#ifndef SL_DB_H
#define SL_DB_H

#include <sqlite3.h>

#include "error.h"

enum db_flags {
	DB_SYNC_FULL = 1 << 0, /* survive power loss, not just a crash */
	DB_READONLY = 1 << 1,  /* no migrations; fails if schema is old */
};

/*
 * Opens (creating if needed) and migrates the database.  migrations[i]
 * brings the schema from version i to i+1, each in its own transaction.
 * A database newer than the program is refused.  On success *out is
 * owned by the caller (db_close); on failure *out is NULL.
 */
int db_open(sqlite3 **out, const char *path, const char *const *migrations,
	    int nmigrations, unsigned flags, sl_error *err);
void db_close(sqlite3 *db);

/* Runs trusted SQL without parameters (DDL, pragmas). */
int db_exec(sqlite3 *db, const char *sql, sl_error *err);
int db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, sl_error *err);

/* BEGIN IMMEDIATE: takes the write lock up front, so no upgrade deadlock. */
int db_begin(sqlite3 *db, sl_error *err);
int db_commit(sqlite3 *db, sl_error *err);
/* Never fails visibly: a failed rollback leaves SQLite to roll back. */
void db_rollback(sqlite3 *db);

/* Fills err with "what: sqlite message" and returns SL_EDB. */
int db_error(sqlite3 *db, sl_error *err, const char *what);

#endif
