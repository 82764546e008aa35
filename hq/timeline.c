/*
 * timeline.c - headcount over time: for every distinct report time T
 * (the `time` of status messages), how many shelters had people at T and
 * how many people that was, taking each shelter's latest report at or
 * before T.  Read-only: safe beside `hq run`.
 *
 * Times are compared as instants (2024-01-09T18:00:00+09:00 and
 * 2024-01-09T09:00:00Z are one T), at SQLite's millisecond precision.
 * This is not the live picture (picture.c): a shelter that stopped
 * reporting counts with its last report, whatever its state now.
 */
#include <sqlite3.h>

#include "db.h"
#include "hq.h"

/*
 * One pass over the status reports in time order per shelter: each
 * report's change against the same shelter's previous one (lag), summed
 * over every time up to T (a running window over the per-T groups).
 * Reports at the same instant are ordered by seq, so the last one wins.
 */
static const char timeline_sql[] =
	"WITH r AS ("
	"  SELECT julianday(m.time) AS t, m.time AS time, h.total AS n,"
	"   coalesce(lag(h.total) OVER (PARTITION BY m.shelter_id"
	"     ORDER BY julianday(m.time), m.seq), 0) AS n_prev"
	"  FROM messages m"
	"  JOIN headcounts h ON h.shelter_id = m.shelter_id AND h.seq = m.seq"
	"  WHERE m.type = 'status' AND julianday(m.time) IS NOT NULL)"
	" SELECT min(time) AS time,"
	"  sum(sum((n > 0) - (n_prev > 0))) OVER (ORDER BY t) AS shelters,"
	"  sum(sum(n - n_prev)) OVER (ORDER BY t) AS total"
	" FROM r GROUP BY t ORDER BY t";

int timeline_rows(hq_store *st, json_t **out, sl_error *err)
{
	return picture_query(st, timeline_sql, NULL, out, err);
}

static const struct view_column timeline_cols[] = {
	{"time", "TIME", 25},
	{"shelters", "SHELTERS", 8},
	{"total", "PEOPLE", 0},
};

int timeline_view(hq_store *st, enum view_format fmt, FILE *out, sl_error *err)
{
	json_t *rows;
	if (fmt == VIEW_GEOJSON)
		return sl_error_set(err, SL_EINVAL,
				    "a timeline has no position: use table, "
				    "csv or json");
	int rc = timeline_rows(st, &rows, err);
	if (rc != 0)
		return rc;
	rc = view_render(rows, timeline_cols,
			 sizeof(timeline_cols) / sizeof(timeline_cols[0]), fmt,
			 out, err);
	json_decref(rows);
	return rc;
}
