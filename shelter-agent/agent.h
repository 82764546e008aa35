/*
 * agent.h - the whole surface of shelter-agent, one banner per module.
 *
 * The agent records what shelter staff enter into a durable SQLite outbox
 * and delivers it to HQ until HQ's end-to-end acknowledgement covers it.
 */
#ifndef AGENT_H
#define AGENT_H

#include <jansson.h>
#include <time.h>

#include "catalog.h"
#include "conf.h"
#include "error.h"
#include "schema.h"

/* ---- main.c: configuration ---- */

struct agent_config {
	struct conf_common common;
	char *shelter_id;
	char *shelter_name;
	char *latitude, *longitude; /* fixed position fallback, decimal text */
	long long resend_s;         /* go back to the oldest unacked after */
	long long window;           /* most messages sent ahead of HQ's ack */
	long long session_expiry_s;
};

/* ---- outbox.c: the durable outbox, source of truth ---- */

typedef struct outbox outbox;

/* Opens (creating) the outbox database; NULL with err set on failure. */
outbox *outbox_open(const char *path, sl_error *err);
void outbox_close(outbox *ob);

/*
 * Assigns the next sequence number to `msg` (sets its "seq"), lets
 * `check` veto the final message, and commits it durably (fsync) before
 * returning.  On any failure nothing is stored and no number is used.
 */
int outbox_add(outbox *ob, json_t *msg,
	       int (*check)(const json_t *msg, void *arg, sl_error *err),
	       void *arg, long long *seq, sl_error *err);

/*
 * All-or-nothing batches (imports): outbox_begin, then outbox_append for
 * each message (same contract as outbox_add, without the commit), then
 * outbox_commit, or outbox_rollback on the first failure, which also
 * gives back every number the batch took.
 */
int outbox_begin(outbox *ob, sl_error *err);
int outbox_append(outbox *ob, json_t *msg,
		  int (*check)(const json_t *msg, void *arg, sl_error *err),
		  void *arg, long long *seq, sl_error *err);
int outbox_commit(outbox *ob, sl_error *err);
void outbox_rollback(outbox *ob);

/* The newest stored message of `type` ("status"), or *msg = NULL when
 * there is none.  *msg is a new reference owned by the caller. */
int outbox_last(outbox *ob, const char *type, json_t **msg, sl_error *err);

struct outbox_row {
	long long seq;
	long long created_at;
	const char *type;
	const char *payload;
};
typedef int (*outbox_row_fn)(const struct outbox_row *row, void *arg);
/* Calls fn for up to `limit` unacknowledged rows with seq >= from_seq,
 * oldest first; a non-zero return from fn stops early and is returned. */
int outbox_read(outbox *ob, long long from_seq, int limit, outbox_row_fn fn,
		void *arg, sl_error *err);

/*
 * Marks every row with seq <= acked_seq delivered.  An acknowledgement
 * beyond the last number this outbox assigned is refused (SL_EINVAL):
 * it means the database was replaced and trusting it would lose reports.
 */
int outbox_ack(outbox *ob, long long acked_seq, time_t now, sl_error *err);

/* Increments and returns the birth number for the next connection. */
int outbox_next_birth(outbox *ob, long long *birth, sl_error *err);

struct outbox_stats {
	long long depth;      /* rows not yet acknowledged by HQ */
	long long next_seq;
	long long acked_seq;
	long long oldest_created_at; /* 0 when depth is 0 */
	long long last_ack_at;       /* 0 when never */
	long long connected;         /* as last recorded by `run` */
};
int outbox_stats(outbox *ob, struct outbox_stats *st, sl_error *err);
/* Records the daemon's connection state for `status`. */
int outbox_set_connected(outbox *ob, int connected, sl_error *err);

/* ---- report.c: building reports from staff input ---- */

/*
 * Builds a status report from `report` command arguments (argv[0] is
 * "report").  Returns NULL with err naming the flag and the rule.
 */
json_t *report_from_args(const struct agent_config *cfg, int argc,
			 char **argv, sl_error *err);
/* What a report is checked against before it takes a sequence number. */
struct report_rules {
	const schema_set *schemas;
	const catalog *items;
};
/* The status schema, then the rules it cannot state; arg is a
 * struct report_rules.  Fits outbox_add's `check`. */
int report_check(const json_t *msg, void *arg, sl_error *err);

/* ---- uplink.c: `run`, delivery to HQ ---- */

struct uplink_options {
	int until_acked; /* exit 0 once the outbox is empty */
	int timeout_s;   /* give up (exit non-zero) after; 0: never */
};
int uplink_run(const struct agent_config *cfg, const struct uplink_options *o,
	       sl_error *err);

#endif
