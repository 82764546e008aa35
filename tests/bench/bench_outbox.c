/*
 * bench_outbox - the agent's enqueue path against the floor under it.
 *
 *   bench_outbox enqueue DIR N   N typical reports through outbox_add
 *                                (schema + rules + synced commit each),
 *                                then N raw one-row synced INSERTs of the
 *                                same text: prints both rates and the ratio
 *   bench_outbox fill DB N       N typical reports into an agent outbox in
 *                                one transaction (setup for flush benches)
 *   bench_outbox payload         prints one typical report
 *
 * Numbers are only meaningful as the ratio of two runs on the same disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "db.h"
#include "msg.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A typical report: a mid-size Nanao shelter with groups and needs. */
static json_t *typical(long long i)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s,"
			 " s:{s:I, s:i, s:i, s:i, s:i, s:i, s:i},"
			 " s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}],"
			 " s:{s:b, s:b, s:i}, s:{s:f, s:f, s:s}, s:s}",
			 "v", 1, "type", "status", "shelter_id", "CC0000000518",
			 "municipality", "172022", "time", "2024-01-09T18:00:00+09:00",
			 "name", "山王小学校", "headcount", "total", (json_int_t)(100 + i % 100),
			 "infants", 4, "children", 20, "elderly", 60, "care", 8,
			 "pregnant", 1, "pets", 3, "needs", "item", "water_drinking",
			 "qty", 200, "urgency", "critical", "item", "blanket", "qty",
			 50, "urgency", "high", "lifelines", "power", 1, "water", 0,
			 "toilets_usable", 4, "position", "lat", 37.04185, "lon",
			 136.97373, "source", "fixed", "note", "断水中、仮設トイレ不足");
}

static int load_rules(struct report_rules *r, sl_error *err)
{
	schema_set *set = schema_set_new();
	if (set == NULL || schema_set_load_dir(set, SL_SCHEMA_DIR, err) ||
	    schema_set_resolve(set, err))
		return -1;
	r->schemas = set;
	r->items = catalog_load(SL_DATA_DIR "/items.json", set, err);
	return r->items ? 0 : -1;
}

static int bench_ours(const char *path, long n, struct report_rules *r,
		      double *secs, sl_error *err)
{
	outbox *ob = outbox_open(path, err);
	long long seq;
	if (ob == NULL)
		return -1;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		json_t *m = typical(i);
		int rc = outbox_add(ob, m, report_check, r, &seq, err);
		json_decref(m);
		if (rc != 0) {
			outbox_close(ob);
			return -1;
		}
	}
	*secs = now_s() - t0;
	outbox_close(ob);
	return 0;
}

static int bench_raw(const char *path, long n, double *secs, sl_error *err)
{
	static const char *const schema[] = {
		"CREATE TABLE t (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
	};
	sqlite3 *db;
	sqlite3_stmt *st;
	json_t *m = typical(0);
	char *text = msg_encode(m);
	json_decref(m);
	if (db_open(&db, path, schema, 1, DB_SYNC_FULL, err) != 0 ||
	    db_prepare(db, &st, "INSERT INTO t (payload) VALUES (?1)", err) != 0)
		return -1;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_error(db, err, "insert");
		sqlite3_reset(st);
	}
	*secs = now_s() - t0;
	sqlite3_finalize(st);
	db_close(db);
	free(text);
	return 0;
}

static int fill(const char *path, long n, struct report_rules *r, sl_error *err)
{
	outbox *ob = outbox_open(path, err);
	long long seq;
	int rc = ob ? outbox_begin(ob, err) : -1;
	for (long i = 0; rc == 0 && i < n; i++) {
		json_t *m = typical(i);
		rc = outbox_append(ob, m, report_check, r, &seq, err);
		json_decref(m);
	}
	if (rc == 0)
		rc = outbox_commit(ob, err);
	else if (ob)
		outbox_rollback(ob);
	outbox_close(ob);
	return rc;
}

int main(int argc, char **argv)
{
	struct report_rules rules = { 0 };
	sl_error err = { "" };
	double ours = 0, raw = 0;
	char a[4096], b[4096];

	if (argc == 2 && strcmp(argv[1], "payload") == 0) {
		json_t *m = typical(0);
		json_object_set_new(m, "seq", json_integer(1));
		char *text = msg_encode(m);
		puts(text);
		free(text);
		json_decref(m);
		return 0;
	}
	if (argc != 4 || load_rules(&rules, &err) != 0) {
		fprintf(stderr, "usage: bench_outbox enqueue DIR N | fill DB N | payload %s\n",
			err.text);
		return 2;
	}
	long n = strtol(argv[3], NULL, 10);
	int rc;
	if (strcmp(argv[1], "fill") == 0) {
		rc = fill(argv[2], n, &rules, &err);
	} else {
		snprintf(a, sizeof(a), "%s/ours.db", argv[2]);
		snprintf(b, sizeof(b), "%s/raw.db", argv[2]);
		rc = bench_ours(a, n, &rules, &ours, &err);
		if (rc == 0)
			rc = bench_raw(b, n, &raw, &err);
		if (rc == 0)
			printf("enqueue (synced): outbox_add %.0f reports/s, raw synced "
			       "INSERT %.0f rows/s, ratio (ours / raw) %.2f\n",
			       n / ours, n / raw, raw / ours);
	}
	if (rc != 0)
		fprintf(stderr, "bench_outbox: %s\n", err.text);
	catalog_free((catalog *)rules.items);
	schema_set_free((schema_set *)rules.schemas);
	return rc == 0 ? 0 : 1;
}
