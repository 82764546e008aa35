/*
 * inbox.c - see inbox.h.  The ring is guarded by one mutex; the writer
 * copies nothing under it: entries [tail, tail + n) are the writer's
 * while it commits them, and the producer only fills slots after them.
 */
#define _POSIX_C_SOURCE 200809L
#include "inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "deadline.h"
#include "log.h"

/* Released rows deleted per statement: short enough not to hold up the
 * next commit; and how many may wait while the writer is never idle. */
#define DELETE_CHUNK   50000
#define DELETE_BACKLOG 200000

struct entry {
	char *topic;		/* one allocation: topic, then payload */
	unsigned char *payload; /* inside it */
	size_t len, original_len;
	long long received_ms;
};

struct inbox {
	sqlite3 *wdb, *rdb;	    /* the writer's; the owner's */
	sqlite3_stmt *insert, *del; /* the writer's */
	sqlite3_stmt *select;	    /* the owner's */
	char generation[40];
	char *path;  /* owned, for messages */
	int lock_fd; /* holds the flock; -1: none */
	size_t max_payload;

	pthread_mutex_t lock;
	pthread_cond_t more, space, committed_cv;
	struct entry *ring;
	size_t cap, tail, count; /* count entries from tail, modulo cap */
	long long committed_id, released_id, deleted_id;
	unsigned long long n_put, n_committed;
	int closing, shutdown;
	pthread_t writer;
	int started;
};

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE inbox_meta (generation TEXT NOT NULL);"
	"INSERT INTO inbox_meta VALUES (lower(hex(randomblob(8))));"
	"CREATE TABLE inbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  topic TEXT NOT NULL,"
	"  payload BLOB NOT NULL,"
	"  original_len INTEGER NOT NULL,"
	"  received_ms INTEGER NOT NULL);",
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int one_value(sqlite3 *db, const char *sql, char *text, size_t size,
		     long long *num, sl_error *err)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, &st, sql, err);
	if (rc != 0)
		return rc;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW && text)
		snprintf(text, size, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	if (step == SQLITE_ROW && num)
		*num = sqlite3_column_int64(st, 0);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(db, err, "inbox");
	sqlite3_finalize(st);
	return rc;
}

/* One process per inbox: two would each process the other's messages.
 * flock, not fcntl: SQLite's own locks are fcntl locks, which this
 * descriptor must not disturb (it is closed after SQLite's). */
static int lock_file(inbox *ib, const char *path, sl_error *err)
{
	ib->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ib->lock_fd < 0)
		return sl_error_set(err, SL_EIO, "%s: %s", path, strerror(errno));
	if (flock(ib->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return sl_error_set(err, SL_EIO,
				    "%s: in use by another process (each hq run "
				    "needs an inbox of its own)",
				    path);
	return 0;
}

static int open_dbs(inbox *ib, const char *path, sl_error *err)
{
	if (lock_file(ib, path, err) != 0)
		return SL_EIO;
	int rc = db_open(&ib->wdb, path, migrations,
			 (int)(sizeof(migrations) / sizeof(migrations[0])),
			 DB_SYNC_FULL, err);
	if (rc == 0)
		rc = db_open(&ib->rdb, path, migrations,
			     (int)(sizeof(migrations) / sizeof(migrations[0])),
			     DB_SYNC_FULL, err);
	if (rc == 0)
		rc = db_prepare(
			ib->wdb, &ib->insert,
			"INSERT INTO inbox (topic, payload, original_len, "
			"received_ms) VALUES (?1, ?2, ?3, ?4)",
			err);
	if (rc == 0)
		rc = db_prepare(ib->wdb, &ib->del,
				"DELETE FROM inbox WHERE id <= ?1", err);
	if (rc == 0)
		rc = db_prepare(ib->rdb, &ib->select,
				"SELECT id, topic, payload, original_len, "
				"received_ms FROM inbox WHERE id > ?1 "
				"ORDER BY id LIMIT ?2",
				err);
	if (rc == 0)
		rc = one_value(ib->wdb, "SELECT generation FROM inbox_meta",
			       ib->generation, sizeof(ib->generation), NULL,
			       err);
	if (rc == 0)
		rc = one_value(
			ib->wdb,
			"SELECT seq FROM sqlite_sequence WHERE name = 'inbox'",
			NULL, 0, &ib->committed_id, err);
	if (rc == 0)
		rc = one_value(
			ib->wdb,
			"SELECT coalesce((SELECT min(id) - 1 FROM inbox), "
			"(SELECT seq FROM sqlite_sequence WHERE name = "
			"'inbox'), 0)",
			NULL, 0, &ib->deleted_id, err);
	if (rc != 0 && strstr(err->text, path) == NULL)
		sl_error_set(err, rc, "%s: %s", path, err->text);
	return rc;
}

/* Inserts entries [tail, tail + n) in one transaction. */
static int commit_entries(inbox *ib, size_t tail, size_t n, long long *last,
			  sl_error *err)
{
	int rc = db_begin(ib->wdb, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct entry *e = &ib->ring[(tail + i) % ib->cap];
		sqlite3_bind_text(ib->insert, 1, e->topic, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ib->insert, 2, e->payload, (int)e->len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(ib->insert, 3,
				   (sqlite3_int64)e->original_len);
		sqlite3_bind_int64(ib->insert, 4, e->received_ms);
		if (sqlite3_step(ib->insert) != SQLITE_DONE)
			rc = db_error(ib->wdb, err, "inbox insert");
		sqlite3_reset(ib->insert);
	}
	*last = sqlite3_last_insert_rowid(ib->wdb);
	if (rc == 0)
		return db_commit(ib->wdb, err);
	db_rollback(ib->wdb);
	return rc;
}

/* A failure (a full disk) is logged once a minute and waited out for a
 * second: nothing is lost, the rows are deleted later. */
static void delete_released(inbox *ib, long long upto, int *failures)
{
	sl_error err;
	if (upto > ib->deleted_id + DELETE_CHUNK)
		upto = ib->deleted_id + DELETE_CHUNK;
	sqlite3_bind_int64(ib->del, 1, upto);
	int rc = sqlite3_step(ib->del) == SQLITE_DONE
			 ? 0
			 : db_error(ib->wdb, &err, "inbox delete");
	sqlite3_reset(ib->del);
	if (rc == 0) {
		ib->deleted_id = upto;
		*failures = 0;
		return;
	}
	if ((*failures)++ % 60 == 0)
		log_warn("%s: %s; processed messages stay until it works",
			 ib->path, err.text);
	nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
}

static void *writer_main(void *arg)
{
	inbox *ib = arg;
	int failures = 0, delete_failures = 0, deleted_last = 0;
	double give_up = 0; /* closing: when to stop retrying a failed disk */

	pthread_mutex_lock(&ib->lock);
	for (;;) {
		while (ib->count == 0 && !ib->closing &&
		       ib->released_id <= ib->deleted_id)
			pthread_cond_wait(&ib->more, &ib->lock);
		size_t tail = ib->tail, n = ib->count;
		long long released = ib->released_id;
		if (n == 0 && ib->closing)
			break;
		pthread_mutex_unlock(&ib->lock);

		/* while messages wait, one chunk per commit at most: a
		 * backlog of deletions must not hold up custody */
		if (n == 0 || (!deleted_last &&
			       released - ib->deleted_id >= DELETE_BACKLOG)) {
			delete_released(ib, released, &delete_failures);
			deleted_last = 1;
			pthread_mutex_lock(&ib->lock);
			continue;
		}
		deleted_last = 0;
		long long last = 0;
		sl_error err;
		if (commit_entries(ib, tail, n, &last, &err) != 0) {
			if (failures++ % 60 == 0)
				log_error("%s: %s; %zu messages wait in memory, "
					  "retrying every second",
					  ib->path, err.text, n);
			nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
			pthread_mutex_lock(&ib->lock);
			if (ib->closing && give_up == 0)
				give_up = (double)time(NULL) + 5;
			if (ib->closing && (double)time(NULL) >= give_up) {
				log_error(
					"inbox closed with %zu messages not "
					"committed: their senders resend them",
					ib->count);
				break;
			}
			continue;
		}
		failures = 0;
		for (size_t i = 0; i < n; i++)
			free(ib->ring[(tail + i) % ib->cap].topic);
		pthread_mutex_lock(&ib->lock);
		ib->tail = (tail + n) % ib->cap;
		ib->count -= n;
		ib->committed_id = last;
		ib->n_committed += n;
		pthread_cond_broadcast(&ib->space);
		pthread_cond_broadcast(&ib->committed_cv);
	}
	pthread_mutex_unlock(&ib->lock);
	return NULL;
}

inbox *inbox_open(const char *path, size_t ring_max, size_t max_payload,
		  sl_error *err)
{
	inbox *ib = calloc(1, sizeof(*ib));
	if (ib == NULL || (ib->ring = calloc(ring_max ? ring_max : 1,
					     sizeof(*ib->ring))) == NULL) {
		free(ib);
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	ib->cap = ring_max ? ring_max : 1;
	ib->lock_fd = -1;
	if ((ib->path = strdup(path)) == NULL) {
		free(ib->ring);
		free(ib);
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	ib->max_payload = max_payload;
	pthread_mutex_init(&ib->lock, NULL);
	pthread_cond_init(&ib->more, NULL);
	pthread_cond_init(&ib->space, NULL);
	pthread_cond_init(&ib->committed_cv, NULL);
	if (open_dbs(ib, path, err) != 0) {
		inbox_close(ib);
		return NULL;
	}
	ib->released_id = ib->deleted_id;
	if (pthread_create(&ib->writer, NULL, writer_main, ib) != 0) {
		sl_error_set(err, SL_ENOMEM, "cannot start the inbox writer");
		inbox_close(ib);
		return NULL;
	}
	ib->started = 1;
	return ib;
}

void inbox_close(inbox *ib)
{
	if (ib == NULL)
		return;
	if (ib->started) {
		pthread_mutex_lock(&ib->lock);
		ib->closing = ib->shutdown = 1;
		pthread_cond_broadcast(&ib->more);
		pthread_cond_broadcast(&ib->space);
		pthread_mutex_unlock(&ib->lock);
		pthread_join(ib->writer, NULL);
	}
	for (size_t i = 0; i < ib->count; i++) /* left by a failed disk */
		free(ib->ring[(ib->tail + i) % ib->cap].topic);
	sqlite3_finalize(ib->insert);
	sqlite3_finalize(ib->del);
	sqlite3_finalize(ib->select);
	db_close(ib->wdb);
	db_close(ib->rdb);
	if (ib->lock_fd >= 0)
		close(ib->lock_fd);
	pthread_mutex_destroy(&ib->lock);
	pthread_cond_destroy(&ib->more);
	pthread_cond_destroy(&ib->space);
	pthread_cond_destroy(&ib->committed_cv);
	free(ib->ring);
	free(ib->path);
	free(ib);
}

int inbox_put(inbox *ib, const char *topic, const void *payload, size_t len)
{
	size_t tlen = strlen(topic), keep = len;
	if (ib->max_payload && keep > ib->max_payload)
		keep = ib->max_payload;
	char *block = malloc(tlen + 1 + keep + 1);
	if (block == NULL)
		return SL_ENOMEM;
	memcpy(block, topic, tlen + 1);
	unsigned char *p = (unsigned char *)block + tlen + 1;
	if (keep)
		memcpy(p, payload, keep);
	p[keep] = '\0';

	pthread_mutex_lock(&ib->lock);
	while (ib->count == ib->cap && !ib->shutdown)
		pthread_cond_wait(&ib->space, &ib->lock);
	if (ib->shutdown) {
		pthread_mutex_unlock(&ib->lock);
		free(block);
		return SL_ETIMEOUT;
	}
	ib->ring[(ib->tail + ib->count) % ib->cap] =
		(struct entry){block, p, keep, len, now_ms()};
	ib->count++;
	ib->n_put++;
	pthread_cond_signal(&ib->more);
	pthread_mutex_unlock(&ib->lock);
	return 0;
}

void inbox_shutdown(inbox *ib)
{
	pthread_mutex_lock(&ib->lock);
	ib->shutdown = 1;
	pthread_cond_broadcast(&ib->space);
	pthread_mutex_unlock(&ib->lock);
}

const char *inbox_generation(const inbox *ib)
{
	return ib->generation;
}

long long inbox_committed(inbox *ib)
{
	pthread_mutex_lock(&ib->lock);
	long long id = ib->committed_id;
	pthread_mutex_unlock(&ib->lock);
	return id;
}

long long inbox_wait(inbox *ib, long long id, int timeout_ms)
{
	struct timespec until;
	deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&ib->lock);
	while (ib->committed_id < id && timeout_ms > 0 &&
	       pthread_cond_timedwait(&ib->committed_cv, &ib->lock, &until) ==
		       0)
		;
	long long got = ib->committed_id;
	pthread_mutex_unlock(&ib->lock);
	return got;
}

int inbox_read(inbox *ib, long long after, int max,
	       int (*fn)(void *arg, const struct inbox_msg *m), void *arg,
	       long long *last, sl_error *err)
{
	int rc = 0, step;
	*last = after;
	sqlite3_bind_int64(ib->select, 1, after);
	sqlite3_bind_int(ib->select, 2, max);
	while (rc == 0 && (step = sqlite3_step(ib->select)) == SQLITE_ROW) {
		struct inbox_msg m = {
			.id = sqlite3_column_int64(ib->select, 0),
			.topic = (const char *)sqlite3_column_text(ib->select,
								   1),
			/* as text: SQLite adds the terminating NUL */
			.payload = sqlite3_column_text(ib->select, 2),
			.len = (size_t)sqlite3_column_bytes(ib->select, 2),
			.original_len =
				(size_t)sqlite3_column_int64(ib->select, 3),
			.received_ms = sqlite3_column_int64(ib->select, 4),
		};
		if (m.topic == NULL || m.payload == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			break;
		}
		*last = m.id;
		rc = fn(arg, &m);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(ib->rdb, err, "inbox read");
	sqlite3_reset(ib->select);
	return rc;
}

void inbox_release(inbox *ib, long long id)
{
	pthread_mutex_lock(&ib->lock);
	if (id > ib->released_id) {
		ib->released_id = id;
		pthread_cond_signal(&ib->more);
	}
	pthread_mutex_unlock(&ib->lock);
}

void inbox_counts(inbox *ib, unsigned long long *put,
		  unsigned long long *committed)
{
	pthread_mutex_lock(&ib->lock);
	*put = ib->n_put;
	*committed = ib->n_committed;
	pthread_mutex_unlock(&ib->lock);
}
