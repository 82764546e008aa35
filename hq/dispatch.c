/*
 * dispatch.c - from an approved plan to goods at the shelters.
 *
 * Approval is a database change: every order's goods leave its depot's
 * stock (one ledger row per line, ref = the dispatch id) and the plan is
 * marked approved, in one transaction, refused whole when a depot no
 * longer holds what the plan took from it.  Sending is separate and may
 * be repeated: an order counts as sent when the broker acknowledged it
 * (the agent's persistent session then holds it), and orders not yet
 * sent go out on the next call.  Receipts come back through ingest
 * (store.c writes them into shelter_ledger); dispatch_status() sets them
 * against what was sent.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "hq.h"
#include "mq.h"

static int plan_status(hq_store *st, const char *plan_id, char *status,
		       size_t size, sl_error *err)
{
	json_t *rows;
	int rc = picture_query(st, "SELECT status FROM plans WHERE plan_id = ?1",
			       plan_id, &rows, err);
	if (rc != 0)
		return rc;
	const char *s = json_string_value(
		json_object_get(json_array_get(rows, 0), "status"));
	if (s)
		snprintf(status, size, "%s", s);
	json_decref(rows);
	if (s == NULL)
		return sl_error_set(err, SL_ENOTFOUND,
				    "no plan '%s' (see hq plans)", plan_id);
	return 0;
}

/* Each dispatch line as a ledger change taking the goods out of stock. */
static int ledger_moves(hq_store *st, const char *plan_id,
			struct stock_change **out, size_t *n, json_t **rows,
			const char *who, sl_error *err)
{
	size_t i;
	json_t *row;
	int rc = picture_query(st,
			       "SELECT d.dispatch_id, d.depot_id, d.shelter_id,"
			       " l.item, l.qty, 'dispatch to ' || d.shelter_id"
			       " || ', plan ' || d.plan_id AS why"
			       " FROM dispatches d JOIN dispatch_lines l"
			       " ON l.dispatch_id = d.dispatch_id"
			       " WHERE d.plan_id = ?1"
			       " ORDER BY d.dispatch_id, l.item",
			       plan_id, rows, err);
	if (rc != 0)
		return rc;
	*n = json_array_size(*rows);
	*out = calloc(*n + 1, sizeof(**out));
	if (*out == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_array_foreach(*rows, i, row) {
		(*out)[i] = (struct stock_change){
			json_string_value(json_object_get(row, "depot_id")),
			json_string_value(json_object_get(row, "item")),
			json_string_value(json_object_get(row, "why")),
			who,
			json_string_value(json_object_get(row, "dispatch_id")),
			-(long long)json_integer_value(
				json_object_get(row, "qty")),
		};
	}
	return 0;
}

static int mark_approved(hq_store *st, const char *plan_id, const char *who,
			 time_t now, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s,
			    "UPDATE plans SET status = 'approved',"
			    " approved_at = ?2, approved_by = ?3"
			    " WHERE plan_id = ?1 AND status = 'draft'",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_text(s, 3, who, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_error(db, err, "approve");
	return sqlite3_changes(db) == 1
		       ? 0
		       : sl_error_set(err, SL_EINVAL,
				      "plan %s is no longer a draft", plan_id);
}

int dispatch_approve(hq_store *st, const catalog *items, const char *plan_id,
		     const char *who, time_t now, sl_error *err)
{
	char status[16] = "";
	struct stock_change *moves = NULL;
	json_t *rows = NULL;
	size_t n = 0;
	int rc;
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = plan_status(st, plan_id, status, sizeof(status), err)) != 0)
		goto fail;
	if (strcmp(status, "draft") != 0) {
		rc = sl_error_set(err, SL_EINVAL,
				  "plan %s is already %s: approve a draft",
				  plan_id, status);
		goto fail;
	}
	if ((rc = ledger_moves(st, plan_id, &moves, &n, &rows, who, err)) ||
	    (rc = stock_post_in(st, items, moves, n, now, err)) ||
	    (rc = mark_approved(st, plan_id, who, now, err)))
		goto fail;
	free(moves);
	json_decref(rows);
	return store_commit(st, err);
fail:
	store_rollback(st);
	free(moves);
	json_decref(rows);
	if (rc == SL_EINVAL && strstr(err->text, "below zero"))
		sl_error_prefix(err, "plan %s not approved (stock changed since "
				     "it was made: plan again)",
				plan_id);
	return rc;
}

static int mark_sent(hq_store *st, const char *dispatch_id, time_t now,
		     sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s,
			    "UPDATE dispatches SET sent_at = ?2"
			    " WHERE dispatch_id = ?1 AND sent_at IS NULL",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, dispatch_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(db, err, "dispatch sent");
}

/* Orders of approved plans that the broker has not acknowledged yet. */
static int unsent(hq_store *st, const char *plan_id, json_t **rows,
		  sl_error *err)
{
	return picture_query(st,
			     "SELECT d.dispatch_id, d.shelter_id,"
			     " d.municipality, d.payload FROM dispatches d"
			     " JOIN plans p ON p.plan_id = d.plan_id"
			     " WHERE p.status = 'approved'"
			     " AND d.sent_at IS NULL"
			     " AND (?1 IS NULL OR d.plan_id = ?1)"
			     " ORDER BY d.dispatch_id",
			     plan_id, rows, err);
}

int dispatch_open_orders(hq_store *st, const char *shelter_id, json_t **rows,
			 sl_error *err)
{
	return picture_query(st,
			     "SELECT d.dispatch_id, d.shelter_id,"
			     " d.municipality, d.payload FROM dispatches d"
			     " JOIN plans p ON p.plan_id = d.plan_id"
			     " WHERE p.status = 'approved'"
			     " AND d.sent_at IS NOT NULL AND d.shelter_id = ?1"
			     " AND NOT EXISTS (SELECT 1 FROM messages m"
			     "  WHERE m.shelter_id = d.shelter_id"
			     "  AND m.type = 'receipt' AND json_extract(m.payload,"
			     "  '$.dispatch_id') = d.dispatch_id)"
			     " ORDER BY d.dispatch_id",
			     shelter_id, rows, err);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends rows[next..] not yet acknowledged while fewer than `window`
 * await their PUBACK. */
static int send_some(mq_client *mq, json_t *rows, const unsigned char *acked,
		     size_t *next, size_t window, sl_error *err)
{
	while (*next < json_array_size(rows) &&
	       (size_t)mq_inflight(mq) < window) {
		if (acked[*next]) {
			(*next)++;
			continue;
		}
		const json_t *row = json_array_get(rows, *next);
		const char *payload = json_string_value(
			json_object_get(row, "payload"));
		char topic[TOPIC_MAX];
		if (topic_build(topic, sizeof(topic),
				json_string_value(json_object_get(
					row, "municipality")),
				json_string_value(json_object_get(
					row, "shelter_id")),
				TOPIC_DISPATCH) != 0)
			return sl_error_set(err, SL_EINVAL,
					    "dispatch %s: no topic for its "
					    "shelter",
					    json_string_value(json_object_get(
						    row, "dispatch_id")));
		int rc = mq_publish(mq, topic, payload, strlen(payload), 1, 0,
				    (long long)*next, err);
		if (rc == SL_ENET)
			return 0; /* disconnected: retried after reconnect */
		if (rc != 0)
			return rc;
		(*next)++;
	}
	return 0;
}

static mq_client *connect_for_dispatch(const struct hq_config *cfg,
				       sl_error *err)
{
	char client_id[64];
	snprintf(client_id, sizeof(client_id), "sl-hq-%s-dispatch-%ld",
		 cfg->common.municipality, (long)getpid());
	struct mq_options o;
	mq_options_common(&o, &cfg->common, client_id);
	o.clean_start = 1;
	mq_client *mq = mq_new(&o, err);
	if (mq && mq_start(mq, err) != 0) {
		mq_free(mq);
		return NULL;
	}
	return mq;
}

int dispatch_send(const struct hq_config *cfg, hq_store *st,
		  const char *plan_id, int timeout_s, size_t *sent,
		  size_t *pending, sl_error *err)
{
	json_t *rows = NULL;
	size_t next = 0;
	int rc;
	*sent = *pending = 0;
	if ((rc = unsent(st, plan_id, &rows, err)) != 0)
		return rc;
	*pending = json_array_size(rows);
	if (*pending == 0) {
		json_decref(rows);
		return 0;
	}
	/* which rows the broker acknowledged: a PUBACK from before a lost
	 * connection may arrive for a row already sent again */
	unsigned char *acked = calloc(*pending, 1);
	mq_client *mq = acked ? connect_for_dispatch(cfg, err) : NULL;
	if (mq == NULL) {
		json_decref(rows);
		free(acked);
		return acked ? SL_ENET
			     : sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	double deadline = now_s() + timeout_s;
	while (rc == 0 && *sent < *pending && now_s() < deadline) {
		struct mq_event ev;
		if (mq_is_connected(mq))
			rc = send_some(mq, rows, acked, &next, 32, err);
		if (rc != 0 || mq_poll(mq, 100, &ev) == 0)
			continue;
		size_t i = (size_t)ev.tag;
		if (ev.type == MQ_EV_PUBLISHED && i < *pending && !acked[i]) {
			const json_t *row = json_array_get(rows, i);
			rc = mark_sent(st,
				       json_string_value(json_object_get(
					       row, "dispatch_id")),
				       time(NULL), err);
			acked[i] = 1;
			(*sent)++;
		} else if (ev.type == MQ_EV_CONNECTION_LOST ||
			   ev.type == MQ_EV_PUBLISH_FAILED) {
			next = 0; /* every unacknowledged one goes again */
		}
		mq_event_clear(&ev);
	}
	mq_stop(mq, 0, 2000);
	mq_free(mq);
	free(acked);
	json_decref(rows);
	*pending -= *sent;
	if (rc == 0 && *pending > 0)
		rc = sl_error_set(err, SL_ENET,
				  "%zu of %zu orders not acknowledged by the "
				  "broker within %d s: hq dispatch send retries",
				  *pending, *pending + *sent, timeout_s);
	return rc;
}

int dispatch_status(hq_store *st, const char *plan_id, json_t **rows,
		    sl_error *err)
{
	/* Per ordered line: sent, delivered so far (receipts add up), and
	 * the difference; then goods received that no order listed. */
	return picture_query(
		st,
		"WITH got AS (SELECT dispatch_id, shelter_id, item,"
		"   sum(qty) AS qty FROM shelter_ledger"
		"   GROUP BY dispatch_id, shelter_id, item),"
		" receipted AS (SELECT DISTINCT shelter_id,"
		"   json_extract(payload, '$.dispatch_id') AS dispatch_id"
		"   FROM messages WHERE type = 'receipt')"
		" SELECT d.dispatch_id, d.plan_id, d.shelter_id, d.depot_id,"
		"  d.vehicle_id, l.item, l.qty AS sent,"
		"  coalesce(g.qty, 0) AS delivered,"
		"  coalesce(g.qty, 0) - l.qty AS difference,"
		"  CASE WHEN r.dispatch_id IS NULL THEN"
		"    CASE WHEN d.sent_at IS NULL THEN 'not sent'"
		"    ELSE 'in transit' END"
		"   WHEN coalesce(g.qty, 0) = l.qty THEN 'delivered'"
		"   WHEN coalesce(g.qty, 0) < l.qty THEN 'short'"
		"   ELSE 'over' END AS status"
		" FROM dispatches d"
		" JOIN plans p ON p.plan_id = d.plan_id AND p.status = 'approved'"
		" JOIN dispatch_lines l ON l.dispatch_id = d.dispatch_id"
		" LEFT JOIN got g ON g.dispatch_id = d.dispatch_id"
		"  AND g.shelter_id = d.shelter_id AND g.item = l.item"
		" LEFT JOIN receipted r ON r.dispatch_id = d.dispatch_id"
		"  AND r.shelter_id = d.shelter_id"
		" WHERE ?1 IS NULL OR d.plan_id = ?1"
		" UNION ALL"
		" SELECT g.dispatch_id, d.plan_id, g.shelter_id, d.depot_id,"
		"  d.vehicle_id, g.item, 0, g.qty, g.qty, 'not ordered'"
		" FROM got g LEFT JOIN dispatches d"
		"  ON d.dispatch_id = g.dispatch_id"
		" WHERE g.qty > 0 AND NOT EXISTS (SELECT 1 FROM dispatches x"
		"  JOIN dispatch_lines y ON y.dispatch_id = x.dispatch_id"
		"  WHERE x.dispatch_id = g.dispatch_id"
		"  AND x.shelter_id = g.shelter_id AND y.item = g.item)"
		"  AND (?1 IS NULL OR d.plan_id = ?1 OR d.plan_id IS NULL)"
		" ORDER BY 1, 6",
		plan_id, rows, err);
}
