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

#include "conf.h"
#include "error.h"
#include "schema.h"
#include "topic.h"

/* ---- main.c: configuration ---- */

struct hq_config {
	struct conf_common common;
	long long batch_max;      /* messages per ingest transaction */
	long long batch_wait_ms;  /* how long a batch may wait to fill */
	long long session_expiry_s;
};

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

/* ---- ingest.c: the `hq run` daemon ---- */

struct ingest_counters {
	unsigned long long received, stored, duplicate, rejected, acknowledged;
};

/* Runs until SIGINT/SIGTERM; returns 0 on a clean stop. */
int ingest_run(const struct hq_config *cfg, sl_error *err);

/* ---- view.c: operator views ---- */

enum view_format { VIEW_TABLE, VIEW_JSON };
int view_format_parse(const char *name, enum view_format *out);
int view_shelters(hq_store *st, enum view_format fmt, FILE *out, sl_error *err);

#endif
