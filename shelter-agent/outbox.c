/*
 * outbox.c - the agent's SQLite outbox.  Every report is committed with
 * synchronous=FULL before the command that entered it returns, so a power
 * cut cannot lose it.  Rows stay until HQ's end-to-end acknowledgement
 * covers them; they are then marked, not deleted, so the shelter keeps
 * its own history.  What has been *sent* is deliberately not stored: after
 * a restart everything unacknowledged is sent again, and HQ deduplicates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "db.h"
#include "msg.h"

static const char *const migrations[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT INTO meta VALUES ('next_seq', 1), ('acked_seq', 0),"
	"  ('birth', 0), ('last_ack_at', 0), ('connected', 0), ('last_error', "
	"'');"
	"CREATE TABLE outbox ("
	"  seq INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  acked_at INTEGER"
	");"
	"CREATE INDEX outbox_unacked ON outbox (seq) WHERE acked_at IS NULL;"
	/* Dispatch orders from HQ, kept for the staff who unload the truck. */
	"CREATE TABLE inbox ("
	"  dispatch_id TEXT PRIMARY KEY,"
	"  received_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  receipt_seq INTEGER REFERENCES outbox(seq)"
	") WITHOUT ROWID;",
	/* The position (JSON) of the newest report placed by gpsd. */
	"INSERT INTO meta VALUES ('last_fix', '');",
};

struct outbox {
	sqlite3 *db;
	sqlite3_stmt *get_meta, *set_meta, *insert, *read, *ack;
};

outbox *outbox_open(const char *path, sl_error *err)
{
	outbox *ob = calloc(1, sizeof(*ob));
	if (ob == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (db_open(&ob->db, path, migrations,
		    (int)(sizeof(migrations) / sizeof(migrations[0])),
		    DB_SYNC_FULL, err) != 0 ||
	    /* The outbox is read from its unacknowledged tail; SQLite's
	     * default 2 MiB page cache would only grow the daemon. */
	    db_exec(ob->db, "PRAGMA cache_size = -256", err) ||
	    db_prepare(ob->db, &ob->get_meta,
		       "SELECT value FROM meta WHERE key = ?1", err) ||
	    db_prepare(ob->db, &ob->set_meta,
		       "UPDATE meta SET value = ?2 WHERE key = ?1", err) ||
	    db_prepare(ob->db, &ob->insert,
		       "INSERT INTO outbox (seq, type, created_at, payload)"
		       " VALUES (?1, ?2, ?3, ?4)",
		       err) ||
	    db_prepare(ob->db, &ob->read,
		       "SELECT seq, created_at, type, payload FROM outbox"
		       " WHERE acked_at IS NULL AND seq >= ?1 ORDER BY seq "
		       "LIMIT ?2",
		       err) ||
	    db_prepare(ob->db, &ob->ack,
		       "UPDATE outbox SET acked_at = ?2"
		       " WHERE seq <= ?1 AND acked_at IS NULL",
		       err)) {
		outbox_close(ob);
		return NULL;
	}
	return ob;
}

void outbox_close(outbox *ob)
{
	if (ob == NULL)
		return;
	sqlite3_finalize(ob->get_meta);
	sqlite3_finalize(ob->set_meta);
	sqlite3_finalize(ob->insert);
	sqlite3_finalize(ob->read);
	sqlite3_finalize(ob->ack);
	db_close(ob->db);
	free(ob);
}

static int step_done(outbox *ob, sqlite3_stmt *st, sl_error *err,
		     const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_error(ob->db, err, what);
}

static int get_meta(outbox *ob, const char *key, long long *value,
		    sl_error *err)
{
	sqlite3_bind_text(ob->get_meta, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(ob->get_meta);
	*value = rc == SQLITE_ROW ? sqlite3_column_int64(ob->get_meta, 0) : 0;
	sqlite3_reset(ob->get_meta);
	sqlite3_clear_bindings(ob->get_meta);
	return rc == SQLITE_ROW ? 0 : db_error(ob->db, err, key);
}

static int set_meta(outbox *ob, const char *key, long long value, sl_error *err)
{
	sqlite3_bind_text(ob->set_meta, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ob->set_meta, 2, value);
	return step_done(ob, ob->set_meta, err, key);
}

static int set_text(outbox *ob, const char *key, const char *text,
		    sl_error *err)
{
	sqlite3_bind_text(ob->set_meta, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->set_meta, 2, text, -1, SQLITE_TRANSIENT);
	return step_done(ob, ob->set_meta, err, key);
}

/* Keeps a gpsd position for `status`, in the report's own transaction. */
static int note_fix(outbox *ob, const json_t *msg, sl_error *err)
{
	const json_t *pos = json_object_get(msg, "position");
	const char *source = json_string_value(json_object_get(pos, "source"));
	if (source == NULL || strcmp(source, "gps") != 0)
		return 0;
	char *text = msg_encode(pos);
	if (text == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc = set_text(ob, "last_fix", text, err);
	free(text);
	return rc;
}

static int add_locked(outbox *ob, json_t *msg,
		      int (*check)(const json_t *, void *, sl_error *),
		      void *arg, long long *seq, sl_error *err)
{
	long long next;
	int rc = get_meta(ob, "next_seq", &next, err);
	if (rc != 0)
		return rc;
	if (json_object_set_new(msg, "seq", json_integer(next)) != 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if (check && (rc = check(msg, arg, err)) != 0)
		return rc;
	char *text = msg_encode(msg);
	if (text == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	/* Room is kept for the "historical" flag a backlog copy gains. */
	size_t limit = MSG_MAX_BYTES - sizeof(",\"historical\":true");
	if (strlen(text) > limit) {
		size_t len = strlen(text);
		free(text);
		return sl_error_set(
			err, SL_EINVAL,
			"too_large: the message would be %zu bytes, "
			"more than the %zu allowed",
			len, limit);
	}
	sqlite3_bind_int64(ob->insert, 1, next);
	sqlite3_bind_text(ob->insert, 2,
			  json_string_value(json_object_get(msg, "type")), -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(ob->insert, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(ob->insert, 4, text, -1, free);
	if ((rc = step_done(ob, ob->insert, err, "store report")) != 0 ||
	    (rc = set_meta(ob, "next_seq", next + 1, err)) != 0 ||
	    (rc = note_fix(ob, msg, err)) != 0)
		return rc;
	*seq = next;
	return 0;
}

int outbox_begin(outbox *ob, sl_error *err)
{
	return db_begin(ob->db, err);
}

int outbox_append(outbox *ob, json_t *msg,
		  int (*check)(const json_t *msg, void *arg, sl_error *err),
		  void *arg, long long *seq, sl_error *err)
{
	return add_locked(ob, msg, check, arg, seq, err);
}

int outbox_commit(outbox *ob, sl_error *err)
{
	return db_commit(ob->db, err);
}

void outbox_rollback(outbox *ob)
{
	db_rollback(ob->db);
}

int outbox_add(outbox *ob, json_t *msg,
	       int (*check)(const json_t *msg, void *arg, sl_error *err),
	       void *arg, long long *seq, sl_error *err)
{
	int rc = outbox_begin(ob, err);
	if (rc != 0)
		return rc;
	rc = add_locked(ob, msg, check, arg, seq, err);
	if (rc != 0) {
		outbox_rollback(ob);
		return rc;
	}
	return outbox_commit(ob, err);
}

int outbox_last(outbox *ob, const char *type, json_t **msg, sl_error *err)
{
	sqlite3_stmt *st;
	json_error_t jerr;
	int rc = db_prepare(ob->db, &st,
			    "SELECT payload FROM outbox WHERE type = ?1"
			    " ORDER BY seq DESC LIMIT 1",
			    err);
	*msg = NULL;
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*msg = json_loads((const char *)sqlite3_column_text(st, 0), 0,
				  &jerr);
		rc = *msg ? 0
			  : sl_error_set(err, SL_EDB,
					 "stored message unreadable: %s",
					 jerr.text);
	} else {
		rc = rc == SQLITE_DONE ? 0
				       : db_error(ob->db, err, "read outbox");
	}
	sqlite3_finalize(st);
	return rc;
}

int outbox_read(outbox *ob, long long from_seq, int limit, outbox_row_fn fn,
		void *arg, sl_error *err)
{
	sqlite3_stmt *st = ob->read;
	int rc, stop = 0;

	sqlite3_bind_int64(st, 1, from_seq);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_row row = {
			.seq = sqlite3_column_int64(st, 0),
			.created_at = sqlite3_column_int64(st, 1),
			.type = (const char *)sqlite3_column_text(st, 2),
			.payload = (const char *)sqlite3_column_text(st, 3),
		};
		if ((stop = fn(&row, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : db_error(ob->db, err, "read outbox");
}

int outbox_ack(outbox *ob, long long acked_seq, time_t now, sl_error *err)
{
	long long next, known;
	int rc = db_begin(ob->db, err);
	if (rc != 0)
		return rc;
	if ((rc = get_meta(ob, "next_seq", &next, err)) != 0 ||
	    (rc = get_meta(ob, "acked_seq", &known, err)) != 0)
		goto fail;
	if (acked_seq >= next) {
		rc = sl_error_set(
			err, SL_EINVAL,
			"HQ acknowledges seq %lld but this outbox has "
			"assigned only up to %lld: was the agent's "
			"database replaced? Not trusting it",
			acked_seq, next - 1);
		goto fail;
	}
	if (acked_seq <= known) {
		db_rollback(ob->db);
		return 0;
	}
	sqlite3_bind_int64(ob->ack, 1, acked_seq);
	sqlite3_bind_int64(ob->ack, 2, (sqlite3_int64)now);
	if ((rc = step_done(ob, ob->ack, err, "mark acknowledged")) != 0 ||
	    (rc = set_meta(ob, "acked_seq", acked_seq, err)) != 0 ||
	    (rc = set_meta(ob, "last_ack_at", (long long)now, err)) != 0)
		goto fail;
	return db_commit(ob->db, err);
fail:
	db_rollback(ob->db);
	return rc;
}

int outbox_next_birth(outbox *ob, long long *birth, sl_error *err)
{
	int rc = db_begin(ob->db, err);
	if (rc != 0)
		return rc;
	if ((rc = get_meta(ob, "birth", birth, err)) != 0 ||
	    (rc = set_meta(ob, "birth", *birth + 1, err)) != 0) {
		db_rollback(ob->db);
		return rc;
	}
	(*birth)++;
	return db_commit(ob->db, err);
}

int outbox_set_connected(outbox *ob, int connected, sl_error *err)
{
	return set_meta(ob, "connected", connected, err);
}

int outbox_stats(outbox *ob, struct outbox_stats *s, sl_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = get_meta(ob, "next_seq", &s->next_seq, err)) ||
	    (rc = get_meta(ob, "acked_seq", &s->acked_seq, err)) ||
	    (rc = get_meta(ob, "last_ack_at", &s->last_ack_at, err)) ||
	    (rc = get_meta(ob, "connected", &s->connected, err)))
		return rc;
	rc = db_prepare(
		ob->db, &st,
		"SELECT count(*), coalesce(min(created_at), 0) FROM outbox"
		" WHERE acked_at IS NULL",
		err);
	if (rc != 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->depth = sqlite3_column_int64(st, 0);
		s->oldest_created_at = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

int outbox_store_dispatch(outbox *ob, const json_t *msg, time_t now,
			  int *is_new, sl_error *err)
{
	sqlite3_stmt *st;
	char *text = msg_encode(msg);
	if (text == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc = db_prepare(
		ob->db, &st,
		"INSERT INTO inbox (dispatch_id, received_at, payload)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
		err);
	if (rc == 0) {
		sqlite3_bind_text(
			st, 1,
			json_string_value(json_object_get(msg, "dispatch_id")),
			-1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE
			     ? 0
			     : db_error(ob->db, err, "store dispatch order");
		*is_new = sqlite3_changes(ob->db) > 0;
		sqlite3_finalize(st);
	}
	free(text);
	return rc;
}

int outbox_each_dispatch(outbox *ob, outbox_dispatch_fn fn, void *arg,
			 sl_error *err)
{
	sqlite3_stmt *st;
	int rc = db_prepare(ob->db, &st,
			    "SELECT dispatch_id, received_at, payload,"
			    " coalesce(receipt_seq, 0) FROM inbox"
			    " ORDER BY received_at, dispatch_id",
			    err);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *m = json_loads((const char *)sqlite3_column_text(st, 2),
				       0, NULL);
		int stop = m ? fn((const char *)sqlite3_column_text(st, 0),
				  sqlite3_column_int64(st, 1), m,
				  sqlite3_column_int64(st, 3), arg)
			     : 0;
		json_decref(m);
		if (stop) {
			sqlite3_finalize(st);
			return stop;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(ob->db, err, "read inbox");
}

int outbox_receipt_for(outbox *ob, const char *dispatch_id, long long seq,
		       sl_error *err)
{
	sqlite3_stmt *st;
	int rc = db_prepare(
		ob->db, &st,
		"UPDATE inbox SET receipt_seq = ?2 WHERE dispatch_id = ?1",
		err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, dispatch_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	rc = sqlite3_step(st) == SQLITE_DONE
		     ? 0
		     : db_error(ob->db, err, "link receipt");
	if (rc == 0 && sqlite3_changes(ob->db) == 0)
		rc = sl_error_set(err, SL_ENOTFOUND,
				  "no dispatch order '%s' in the inbox "
				  "(see shelter-agent inbox)",
				  dispatch_id);
	sqlite3_finalize(st);
	return rc;
}

int outbox_set_error(outbox *ob, const char *text, sl_error *err)
{
	return set_text(ob, "last_error", text, err);
}

int outbox_get_text(outbox *ob, const char *key, char *buf, size_t size,
		    sl_error *err)
{
	sqlite3_bind_text(ob->get_meta, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(ob->get_meta);
	const unsigned char *t =
		rc == SQLITE_ROW ? sqlite3_column_text(ob->get_meta, 0) : NULL;
	snprintf(buf, size, "%s", t ? (const char *)t : "");
	sqlite3_reset(ob->get_meta);
	sqlite3_clear_bindings(ob->get_meta);
	return rc == SQLITE_ROW ? 0 : db_error(ob->db, err, key);
}
