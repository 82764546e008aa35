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
#include "csvfile.h"
#include "error.h"
#include "schema.h"

/* ---- main.c: configuration ---- */

struct agent_config {
	struct conf_common common;
	char *shelter_id;
	char *shelter_name;
	char *latitude, *longitude; /* fixed position fallback, decimal text */
	char *gpsd;                 /* host:port, or "none" */
	long long gps_budget_ms;    /* longest a report waits for a fix */
	long long resend_s;         /* go back to the oldest unacked after */
	long long window;           /* most messages sent ahead of HQ's ack */
	long long session_expiry_s;
	long long heartbeat_s;      /* re-announce presence this often */
	char *language;             /* "ja" or "en", for the form */
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

/* Dispatch orders (the inbox), kept in the same database. */
int outbox_store_dispatch(outbox *ob, const json_t *msg, time_t now,
			  int *is_new, sl_error *err);
typedef int (*outbox_dispatch_fn)(const char *dispatch_id, long long received_at,
				  const json_t *msg, long long receipt_seq,
				  void *arg);
int outbox_each_dispatch(outbox *ob, outbox_dispatch_fn fn, void *arg,
			 sl_error *err);
/* Inside a batch: records that receipt `seq` answers the order;
 * SL_ENOTFOUND when no such order was received. */
int outbox_receipt_for(outbox *ob, const char *dispatch_id, long long seq,
		       sl_error *err);

struct outbox_stats {
	long long depth;      /* rows not yet acknowledged by HQ */
	long long next_seq;
	long long acked_seq;
	long long oldest_created_at; /* 0 when depth is 0 */
	long long last_ack_at;       /* 0 when never */
	long long connected;         /* as last recorded by `run` */
};
int outbox_stats(outbox *ob, struct outbox_stats *st, sl_error *err);
/* The daemon's last connection error ("" when none), for `status`. */
int outbox_set_error(outbox *ob, const char *text, sl_error *err);
/* A text kept for `status` ("" when none, truncated to size):
 * "last_error", or "last_fix", the position JSON of the newest report
 * that gpsd placed. */
int outbox_get_text(outbox *ob, const char *key, char *buf, size_t size,
		    sl_error *err);
/* Records the daemon's connection state for `status`. */
int outbox_set_connected(outbox *ob, int connected, sl_error *err);

/* ---- report.c: building reports from staff input ---- */

/*
 * Builds a status report from `report` command arguments (argv[0] is
 * "report").  Returns NULL with err naming the flag and the rule.
 */
json_t *report_from_args(const struct agent_config *cfg, int argc,
			 char **argv, sl_error *err);
/* Parses ITEM=QTY (and :URGENCY when with_urgency) into {item, qty
 * [, urgency]}; err names `flag` on failure. */
json_t *report_parse_item(const char *flag, const char *s, int with_urgency,
			  sl_error *err);

/* What a report is checked against before it takes a sequence number. */
struct report_rules {
	const schema_set *schemas;
	const catalog *items;
};
/* The status schema, then the rules it cannot state; arg is a
 * struct report_rules.  Fits outbox_add's `check`. */
int report_check(const json_t *msg, void *arg, sl_error *err);

/* ---- dispatch.c: dispatch orders in, delivery receipts out ---- */

/* Prints the inbox of dispatch orders. */
int dispatch_list(const struct agent_config *cfg, sl_error *err);
/* Stores a receipt for `dispatch_id` with lines "ITEM=QTY" (what really
 * arrived) in the outbox, linked to the order; prints nothing. */
int dispatch_receive(const struct agent_config *cfg,
		     const struct report_rules *rules, const char *dispatch_id,
		     int argc, char **argv, long long *seq, sl_error *err);

/* ---- uplink.c: `run`, delivery to HQ ---- */

struct uplink_options {
	int until_acked; /* exit 0 once the outbox is empty */
	int timeout_s;   /* give up (exit non-zero) after; 0: never */
};
int uplink_run(const struct agent_config *cfg, const struct uplink_options *o,
	       sl_error *err);

/* ---- csvimport.c: reports typed from paper forms ---- */

/* Hard caps on an imported file: csvfile's (docs/csv-import.md). */
#define CSVIMPORT_MAX_BYTES CSVFILE_MAX_BYTES
#define CSVIMPORT_MAX_ROW_BYTES CSVFILE_MAX_ROW_BYTES
#define CSVIMPORT_MAX_ROWS CSVFILE_MAX_ROWS
#define CSVIMPORT_MAX_FIELDS CSVFILE_MAX_FIELDS

/* Gets each built report (borrowed: it is released after the call). */
typedef int (*csvimport_report_fn)(int line, json_t *msg, void *arg,
				   sl_error *err);

/*
 * csvfile_parse, then the header row mapped onto the `report` flags
 * and every other non-empty row built by report_from_args.  Errors of
 * report_from_args and of `fn` are prefixed with "PATH:LINE: column 'x'".
 * *count (may be NULL) gets the number of reports passed to fn.
 */
int csvimport_reports(const struct agent_config *cfg, const char *path,
		      const unsigned char *data, size_t len,
		      csvimport_report_fn fn, void *arg, long long *count,
		      sl_error *err);

/*
 * Reads FILE.csv and stores every report in it in one outbox batch,
 * each checked by report_check(rules).  All or nothing: on any error
 * nothing is stored and no sequence number is used.  On success
 * *first_seq and *count give the numbers taken (first_seq..+count-1).
 */
int csvimport_file(const struct agent_config *cfg, outbox *ob,
		   const struct report_rules *rules, const char *path,
		   long long *first_seq, long long *count, sl_error *err);

/* ---- position.c: where the shelter is ---- */

/* A position as the status schema states it. */
struct position {
	double lat, lon;    /* WGS 84 degrees */
	double accuracy_m;  /* horizontal error estimate; NAN if unknown */
	int fix_mode;       /* 2 or 3 from GPS; 0 for a fixed position */
	time_t fix_time;    /* when the receiver took the fix; 0 if unknown */
	const char *source; /* "gps" or "fixed" (static strings) */
};

#define POSITION_HOST_MAX 256
#define POSITION_PORT_MAX 8

/*
 * Splits the `gpsd` setting: "host:port", "host" (port 2947),
 * "[v6addr]:port".  Returns SL_ENOTFOUND for "none", SL_EINVAL with err
 * saying why for anything else that is not an address.
 */
int position_gpsd_address(const char *spec, char host[POSITION_HOST_MAX],
			  char port[POSITION_PORT_MAX], sl_error *err);

/*
 * Asks gpsd for a fix, through libgps, and returns within about
 * budget_ms whatever gpsd, the network or the name service do.
 * Returns 0 with *out filled (source "gps"); SL_ENET when gpsd cannot
 * be reached in time (a refused connection returns at once) or drops
 * the connection; SL_ENOTFOUND when gpsd answers but has no 2D/3D fix
 * within the budget; SL_ETIMEOUT when it accepts but says nothing.
 */
int position_from_gpsd(const char *host, const char *port, int budget_ms,
		       struct position *out, sl_error *err);

/*
 * The configured position (source "fixed") from decimal-degree text,
 * latitude -90..90, longitude -180..180.  Returns SL_ENOTFOUND when
 * neither is set, SL_EINVAL with err naming the key otherwise.
 */
int position_fixed(const char *lat, const char *lon, struct position *out,
		   sl_error *err);

/* The schema's `position` object (new reference), or NULL when out of
 * memory: lat, lon, source, then accuracy_m, fix_mode, fix_time when
 * known. */
json_t *position_to_json(const struct position *p);


/* ---- form.c: the interactive form ---- */

/* What form_run() ended with, when it did not fail. */
enum form_result {
	FORM_SAVED = 0,     /* stored durably; *seq is its number */
	FORM_NOT_SAVED = 1, /* "no" at the confirmation; kept as a draft */
	FORM_STOPPED = 2,   /* Ctrl-C, hang-up or end of input; the answers,
			     * if any, kept as a draft */
};

/*
 * `shelter-agent form`: asks shelter staff for a status report one
 * question at a time on `in`/`out` in `lang` ("ja", the default when
 * NULL, or "en"), offering the previous report's values as defaults and
 * checking every answer as it is typed with report_from_args() and
 * report_check().  After a confirmed summary the report is committed
 * with outbox_add() and its number printed.  Answers not saved go to the
 * draft DATABASE.form-draft.json (written atomically), which the next
 * run offers to resume; saving deletes it.  While it runs, SIGINT,
 * SIGTERM and SIGHUP interrupt the waiting read instead of killing the
 * process; the previous handlers are restored on return.
 * Returns a form_result (*seq set only for FORM_SAVED, else 0), or a
 * negative SL_E* code with err set (the answers still kept as a draft
 * when there were any).
 */
int form_run(const struct agent_config *cfg, FILE *in, FILE *out,
	     const char *lang, long long *seq, sl_error *err);

#endif
