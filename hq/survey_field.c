/*
 * survey_field.c - the field half of the り災証明 survey queue: a day's
 * plan for the teams (survey_plan.c) locks each planned application to
 * its team; a team's result (a grade, or element damage graded by
 * grade.c) is recorded by name, validated by a second named person or
 * sent back to the queue; tasks can be released; stats on the backlog.
 * It does not triage or approve desk lanes (triage.c) and does not
 * issue certificates (certificate.c).
 *
 * States (applications.state, survey_tasks.state): an application in
 * lane field or interior waits 'ready' (or 'invalidated', a result sent
 * back, or 'appealed', certificate.c); a plan makes it 'locked' with a task of state 'locked'; a
 * recorded result makes both 'surveyed'; validation makes both
 * 'validated' (the application then carries the grade and the
 * validator's name, which certificate.c requires) or sends the
 * application back as 'invalidated'; release makes the task 'released'
 * and the application 'ready'.  Every change is one transaction with
 * its survey_audit row.
 *
 * Personal data: sheets carry the application id, the building's id,
 * address (from the building register) and position; the applicant's
 * name, contact and own address only with --personal, which is audited
 * ('export-personal').  Nothing here publishes anything.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "hq.h"
#include "mem.h"
#include "rules.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers ---- */

static int prepare(hq_store *st, sqlite3_stmt **s, const char *sql,
		   sl_error *err)
{
	return db_prepare(store_db(st), s, sql, err);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

/* Steps a statement that returns no rows; SL_EDB with what. */
static int step_done(hq_store *st, sqlite3_stmt *s, const char *what,
		     sl_error *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_error(store_db(st), err, what);
	return 0;
}

/* Binds ?1, ?2, ... from the arguments as types says: 't' text (may be
 * NULL), 'i' long long, 'd' double. */
static void bind_va(sqlite3_stmt *s, const char *types, va_list ap)
{
	for (int i = 1; types[i - 1]; i++) {
		switch (types[i - 1]) {
		case 't':
			bind_text(s, i, va_arg(ap, const char *));
			break;
		case 'i':
			sqlite3_bind_int64(s, i, va_arg(ap, long long));
			break;
		default:
			sqlite3_bind_double(s, i, va_arg(ap, double));
		}
	}
}

int sfield_change(hq_store *st, int *changed, sl_error *err, const char *sql,
		  const char *types, ...)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s, sql, err);
	if (rc != 0)
		return rc;
	va_list ap;
	va_start(ap, types);
	bind_va(s, types, ap);
	va_end(ap);
	rc = step_done(st, s, sql, err);
	sqlite3_finalize(s);
	if (rc == 0 && changed)
		*changed = sqlite3_changes(store_db(st));
	return rc;
}

int sfield_need_who(const char *cmd, const char *who, sl_error *err)
{
	if (who == NULL || who[0] == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "--who NAME is required to %s: a named "
				    "staff member answers for it",
				    cmd);
	if (strlen(who) > 100)
		return sl_error_set(err, SL_EINVAL,
				    "%s --who: at most 100 bytes",
				    cmd);
	return 0;
}

/* The application's state and locked (or surveyed) task, if any. */
struct app_state {
	char state[16];
	long long task; /* 0: none open */
	char structure[16];
	int found;
};

static int load_state(hq_store *st, const char *app, struct app_state *a,
		      sl_error *err)
{
	static const char sql[] =
		"SELECT a.state, (SELECT task_id FROM survey_tasks t"
		"  WHERE t.application_id = a.application_id"
		"  AND t.state IN ('locked','surveyed')),"
		" coalesce(b.structure, 'unknown')"
		" FROM applications a LEFT JOIN buildings b"
		" ON b.building_id = a.building_id WHERE a.application_id = ?1";
	sqlite3_stmt *s;
	int rc = prepare(st, &s, sql, err);
	if (rc != 0)
		return rc;
	bind_text(s, 1, app);
	memset(a, 0, sizeof(*a));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		a->found = 1;
		snprintf(a->state, sizeof(a->state), "%s",
			 (const char *)sqlite3_column_text(s, 0));
		a->task = sqlite3_column_int64(s, 1);
		snprintf(a->structure, sizeof(a->structure), "%s",
			 (const char *)sqlite3_column_text(s, 2));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = sl_error_set(err, SL_ENOTFOUND, "no application %s", app);
	} else {
		rc = db_error(store_db(st), err, "application state");
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- planning ---- */

struct pending {
	struct splan_task *tasks;
	char **app;	 /* [n] application ids, owned */
	size_t n, cap;
	size_t unplaced; /* waiting but with no position */
};

static void pending_free(struct pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		sl_free(p->app[i]);
	sl_free(p->app);
	sl_free(p->tasks);
}

static int pending_add(struct pending *p, const char *app, double lat,
		       double lon, int in_shelter, long long applied_at)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct splan_task *t = sl_realloc(p->tasks, cap * sizeof(*t));
		if (t == NULL)
			return SL_ENOMEM;
		p->tasks = t;
		char **a = sl_realloc(p->app, cap * sizeof(*a));
		if (a == NULL)
			return SL_ENOMEM;
		p->app = a;
		p->cap = cap;
	}
	char *id = sl_strdup(app);
	if (id == NULL)
		return SL_ENOMEM;
	/* ids follow application ids' order: the planner's last tie */
	p->tasks[p->n] = (struct splan_task){(long long)p->n, lat, lon,
					     in_shelter != 0, applied_at};
	p->app[p->n++] = id;
	return 0;
}

/* The field queue: lanes field and interior, waiting or sent back; the
 * position is the building's, else the one the applicant gave. */
static int load_pending(hq_store *st, struct pending *p, sl_error *err)
{
	static const char sql[] =
		"SELECT a.application_id, coalesce(b.lat, a.lat),"
		" coalesce(b.lon, a.lon), a.in_shelter, a.applied_at"
		" FROM applications a LEFT JOIN buildings b"
		" ON b.building_id = a.building_id"
		" WHERE a.state IN ('ready','invalidated','appealed')"
		" AND a.lane IN ('field','interior')"
		" ORDER BY a.application_id";
	sqlite3_stmt *s;
	int rc = prepare(st, &s, sql, err);
	while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = 0;
		if (sqlite3_column_type(s, 1) == SQLITE_NULL ||
		    sqlite3_column_type(s, 2) == SQLITE_NULL) {
			p->unplaced++;
			continue;
		}
		long long at = sqlite3_column_int64(s, 4);
		if (at < 0 || at > SPLAN_TIME_MAX)
			at = at < 0 ? 0 : SPLAN_TIME_MAX;
		if (pending_add(p, (const char *)sqlite3_column_text(s, 0),
				sqlite3_column_double(s, 1),
				sqlite3_column_double(s, 2),
				sqlite3_column_int(s, 3), at) != 0)
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = db_error(store_db(st), err, "field queue");
	sqlite3_finalize(s);
	return rc;
}

/* Teams start where --start says, in turn; without, at the centre of
 * the queue (the mean position). */
static int make_teams(const struct sfield_plan_opts *o,
		      const struct pending *p, struct splan_team **out)
{
	struct splan_team *t = sl_calloc(o->nteams, sizeof(*t));
	if (t == NULL)
		return SL_ENOMEM;
	double lat = 0, lon = 0;
	for (size_t i = 0; i < p->n; i++) {
		lat += p->tasks[i].lat / (double)p->n;
		lon += p->tasks[i].lon / (double)p->n;
	}
	for (size_t i = 0; i < o->nteams; i++) {
		t[i].capacity = o->capacity;
		t[i].lat = o->nstarts ? o->starts[2 * (i % o->nstarts)] : lat;
		t[i].lon = o->nstarts ? o->starts[2 * (i % o->nstarts) + 1]
				      : lon;
	}
	*out = t;
	return 0;
}

static int insert_team(hq_store *st, sqlite3_stmt *s,
		       const struct sfield_plan_opts *o,
		       const struct splan_team *tm,
		       const struct splan_route *r, long long team,
		       sl_error *err)
{
	bind_text(s, 1, o->date);
	sqlite3_bind_int64(s, 2, team);
	sqlite3_bind_double(s, 3, tm->lat);
	sqlite3_bind_double(s, 4, tm->lon);
	sqlite3_bind_int(s, 5, tm->capacity);
	sqlite3_bind_double(s, 6, r->length_km);
	sqlite3_bind_double(s, 7, r->nn_length_km);
	sqlite3_bind_double(s, 8, r->bound_km);
	bind_text(s, 9, o->who);
	sqlite3_bind_int64(s, 10, (long long)o->now);
	return step_done(st, s, "survey_teams", err);
}

/* Locks one application to its team; refused if it left the queue
 * since it was read (another planner, a release racing). */
static int lock_task(hq_store *st, sqlite3_stmt *ins, sqlite3_stmt *upd,
		     const struct sfield_plan_opts *o, const char *app,
		     long long team, size_t stop, sl_error *err)
{
	bind_text(upd, 1, app);
	int rc = step_done(st, upd, "lock application", err);
	if (rc != 0)
		return rc;
	if (sqlite3_changes(store_db(st)) != 1)
		return sl_error_set(err, SL_EINVAL,
				    "application %s left the field queue "
				    "while the plan was made",
				    app);
	bind_text(ins, 1, app);
	bind_text(ins, 2, o->date);
	sqlite3_bind_int64(ins, 3, team);
	sqlite3_bind_int64(ins, 4, (long long)stop);
	sqlite3_bind_int64(ins, 5, (long long)o->now);
	return step_done(st, ins, "survey_tasks", err);
}

static int store_plan(hq_store *st, const struct sfield_plan_opts *o,
		      const struct pending *p, const struct splan_team *teams,
		      const struct splan_plan *plan, long long *first_team,
		      sl_error *err)
{
	static const char team_sql[] =
		"INSERT INTO survey_teams (plan_date, team, start_lat,"
		" start_lon, capacity, length_km, nn_length_km, bound_km,"
		" planned_by, planned_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	static const char task_sql[] =
		"INSERT INTO survey_tasks (application_id, plan_date, team, stop,"
		" locked_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char lock_sql[] =
		"UPDATE applications SET state = 'locked' WHERE"
		" application_id = ?1"
		" AND state IN ('ready','invalidated','appealed')";
	sqlite3_stmt *ts = NULL, *ks = NULL, *us = NULL, *q = NULL;
	int rc = prepare(st, &q,
			 "SELECT coalesce(max(team), 0) FROM survey_teams"
			 " WHERE plan_date = ?1",
			 err);
	if (rc == 0) {
		bind_text(q, 1, o->date);
		rc = sqlite3_step(q) == SQLITE_ROW
			     ? 0
			     : db_error(store_db(st), err, "survey_teams");
		*first_team = sqlite3_column_int64(q, 0) + 1;
	}
	if (rc == 0)
		rc = prepare(st, &ts, team_sql, err);
	if (rc == 0)
		rc = prepare(st, &ks, task_sql, err);
	if (rc == 0)
		rc = prepare(st, &us, lock_sql, err);
	for (size_t t = 0; rc == 0 && t < plan->nroutes; t++) {
		const struct splan_route *r = &plan->routes[t];
		long long team = *first_team + (long long)t;
		rc = insert_team(st, ts, o, &teams[t], r, team, err);
		for (size_t k = 0; rc == 0 && k < r->nstops; k++)
			rc = lock_task(st, ks, us, o, p->app[r->stops[k]],
				       team, k + 1, err);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(ts);
	sqlite3_finalize(ks);
	sqlite3_finalize(us);
	if (rc != 0)
		return rc;
	char detail[200];
	snprintf(detail, sizeof(detail),
		 "date %s: %zu teams of %d from team %lld, %zu of %zu "
		 "waiting surveys planned, %zu without a position",
		 o->date, o->nteams, o->capacity, *first_team, plan->selected,
		 p->n + p->unplaced, p->unplaced);
	return application_audit(st, o->now, o->who, "plan", NULL, detail,
				 err);
}

int sfield_plan(hq_store *st, const struct sfield_plan_opts *o,
		struct sfield_plan_result *res, sl_error *err)
{
	struct pending p = {0};
	struct splan_team *teams = NULL;
	struct splan_plan *plan = NULL;
	memset(res, 0, sizeof(*res));
	int rc = sfield_need_who("plan", o->who, err);
	if (rc != 0)
		return rc;
	/* the queue is read and locked in one write transaction, so two
	 * planners never lock one application twice */
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = load_pending(st, &p, err)) != 0)
		goto fail;
	if (p.n == 0) {
		rc = sl_error_set(err, SL_EINVAL,
				  "no survey with a position waits in the "
				  "field queue (%zu without one): nothing "
				  "planned",
				  p.unplaced);
		goto fail;
	}
	if (make_teams(o, &p, &teams) != 0) {
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	struct splan_input in = {p.tasks, p.n, teams, o->nteams};
	if ((rc = splan_build(&in, &plan, err)) != 0 ||
	    (rc = store_plan(st, o, &p, teams, plan, &res->first_team,
			     err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto fail;
	res->waiting = p.n + p.unplaced;
	res->unplaced = p.unplaced;
	res->planned = plan->selected;
	res->length_km = plan->length_km;
	res->nn_length_km = plan->nn_length_km;
	res->bound_km = plan->bound_km;
	splan_free(plan);
	sl_free(teams);
	pending_free(&p);
	return 0;
fail:
	store_rollback(st);
	splan_free(plan);
	sl_free(teams);
	pending_free(&p);
	return rc;
}

/* ---- a day's sheets ---- */

int sfield_stops(hq_store *st, const char *date, long long team,
		 int personal, json_t **rows, sl_error *err)
{
	/* team is a number formatted here, never caller text */
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT t.team, t.stop, t.task_id, t.application_id,"
		 " a.building_id, b.address AS building_address,"
		 " coalesce(b.lat, a.lat) AS lat, coalesce(b.lon, a.lon) AS lon,"
		 " a.lane, a.in_shelter, b.structure, t.state%s"
		 " FROM survey_tasks t JOIN applications a USING (application_id)"
		 " LEFT JOIN buildings b ON b.building_id = a.building_id"
		 " WHERE t.plan_date = ?1 AND (%lld = 0 OR t.team = %lld)"
		 " AND t.state <> 'released' ORDER BY t.team, t.stop",
		 personal ? ", a.applicant, a.contact, a.address" : "", team,
		 team);
	return picture_query(st, sql, date, rows, err);
}

static const struct view_column stop_cols[] = {
	{"team", "班 Team", 0},
	{"stop", "順 Stop", 0},
	{"task_id", "タスク Task", 0},
	{"application_id", "申請番号 Application", 0},
	{"building_id", "建物 Building", 0},
	{"building_address", "所在地 Address", 0},
	{"lat", "緯度 Lat", 0},
	{"lon", "経度 Lon", 0},
	{"lane", "区分 Lane", 0},
	{"structure", "構造 Structure", 0},
	{"in_shelter", "避難所 In shelter", 0},
	{"applicant", "申請者 Applicant", 0},
	{"contact", "連絡先 Contact", 0},
	{"address", "申請住所 Applicant's address", 0},
};
/* the columns of a sheet: the personal three only with --personal */
#define STOP_COLS(personal) (NCOLS(stop_cols) - ((personal) ? 0 : 3))

/* Text for HTML: the five markup characters as entities, other control
 * characters than tab and newline dropped, UTF-8 as is. */
static void put_html(const char *s, FILE *out)
{
	static const char *const ent[] = {['&'] = "&amp;", ['<'] = "&lt;",
					  ['>'] = "&gt;", ['"'] = "&quot;",
					  ['\''] = "&#39;"};
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < sizeof(ent) / sizeof(ent[0]) && ent[c])
			fputs(ent[c], out);
		else if (c >= 0x20 || c == '\t' || c == '\n')
			fputc(c, out);
	}
}

static const char sheet_css[] =
	"<style>\n"
	"body { font-family: sans-serif; font-size: 11pt; margin: 1em; }\n"
	"table { border-collapse: collapse; width: 100%; }\n"
	"th, td { border: 1px solid #444; padding: 0.3em; text-align: left;"
	" vertical-align: top; }\n"
	"th { background: #eee; }\n"
	"td.blank { min-width: 4em; }\n"
	"@media print { body { margin: 0; font-size: 10pt; }"
	" tr { break-inside: avoid; } thead { display: table-header-group; }"
	" th { background: none; } }\n"
	"</style>\n";

void sfield_html_head(const char *title, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n<title>",
	      out);
	put_html(title, out);
	fputs("</title>\n", out);
	fputs(sheet_css, out);
	fputs("</head>\n<body>\n", out);
}

void sfield_html_text(const char *s, FILE *out)
{
	put_html(s, out);
}

static const char *row_text(const json_t *row, const char *key, char *buf,
			    size_t cap)
{
	const json_t *v = json_object_get(row, key);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, cap, "%.6f", json_real_value(v));
	else
		buf[0] = '\0';
	return buf;
}

/* One team's printable sheet: its stops in order, with blank boxes for
 * what the team writes down at each house. */
static int sheet_html(const char *date, const json_t *team_row,
		      const json_t *stops, int personal, FILE *out,
		      sl_error *err)
{
	char title[160], buf[64];
	size_t i;
	const json_t *row;
	long long team = json_integer_value(json_object_get(team_row, "team"));
	snprintf(title, sizeof(title), "被害認定調査 %s 第%lld班 Survey team %lld",
		 date, team, team);
	sfield_html_head(title, out);
	fputs("<h1>", out);
	put_html(title, out);
	fprintf(out,
		"</h1>\n<p>出発 Start %.5f, %.5f &mdash; %lld 件 stops, "
		"%.1f km (最近傍順 nearest neighbour %.1f km)</p>\n",
		json_real_value(json_object_get(team_row, "start_lat")),
		json_real_value(json_object_get(team_row, "start_lon")),
		(long long)json_array_size(stops),
		json_real_value(json_object_get(team_row, "length_km")),
		json_real_value(json_object_get(team_row, "nn_length_km")));
	fputs("<table>\n<thead><tr>", out);
	for (size_t c = 1; c < STOP_COLS(personal); c++) {
		fputs("<th>", out);
		put_html(stop_cols[c].header, out);
		fputs("</th>", out);
	}
	fputs("<th>屋根 Roof %</th><th>外壁 Walls %</th><th>基礎 Foundation "
	      "%</th><th>判定 Grade</th><th>調査員 Surveyor</th></tr>"
	      "</thead>\n<tbody>\n",
	      out);
	json_array_foreach (stops, i, row) {
		fputs("<tr>", out);
		for (size_t c = 1; c < STOP_COLS(personal); c++) {
			fputs("<td>", out);
			put_html(row_text(row, stop_cols[c].key, buf,
					  sizeof(buf)),
				 out);
			fputs("</td>", out);
		}
		fputs("<td class=blank></td><td class=blank></td>"
		      "<td class=blank></td><td class=blank></td>"
		      "<td class=blank></td></tr>\n",
		      out);
	}
	fputs("</tbody>\n</table>\n</body>\n</html>\n", out);
	if (fflush(out) != 0 || ferror(out))
		return sl_error_set(err, SL_EIO, "cannot write the sheet");
	return 0;
}

static int write_file(const char *dir, const char *date, long long team,
		      const char *ext, const json_t *team_row,
		      const json_t *stops, int personal, sl_error *err)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/survey-%s-team%03lld.%s",
			 dir, date, team, ext);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sl_error_set(err, SL_EINVAL, "--out: path too long");
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", path,
				    strerror(errno));
	int rc;
	if (strcmp(ext, "html") == 0)
		rc = sheet_html(date, team_row, stops, personal, f, err);
	else
		rc = view_render(stops, stop_cols, STOP_COLS(personal),
				 strcmp(ext, "csv") == 0 ? VIEW_CSV
							 : VIEW_GEOJSON,
				 f, err);
	if (fclose(f) != 0 && rc == 0)
		rc = sl_error_set(err, SL_EIO, "%s: %s", path,
				  strerror(errno));
	if (rc != 0)
		sl_error_prefix(err, "%s", path);
	return rc;
}

int sfield_teams(hq_store *st, const char *date, json_t **rows, sl_error *err)
{
	static const char sql[] =
		"SELECT team, start_lat, start_lon, capacity,"
		" (SELECT count(*) FROM survey_tasks t WHERE t.plan_date ="
		"  m.plan_date AND t.team = m.team AND t.state <> 'released')"
		"  AS stops, round(length_km, 3) AS length_km,"
		" round(nn_length_km, 3) AS nn_length_km,"
		" round(bound_km, 3) AS bound_km, planned_by"
		" FROM survey_teams m WHERE plan_date = ?1 ORDER BY team";
	return picture_query(st, sql, date, rows, err);
}

int sfield_sheets(hq_store *st, const char *date, const char *dir,
		  int personal, const char *who, time_t now, sl_error *err)
{
	json_t *teams = NULL;
	int rc = sfield_teams(st, date, &teams, err);
	if (rc != 0)
		return rc;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		json_decref(teams);
		return sl_error_set(err, SL_EIO, "%s: %s", dir,
				    strerror(errno));
	}
	static const char *const ext[] = {"csv", "geojson", "html"};
	size_t i;
	const json_t *team_row;
	json_array_foreach (teams, i, team_row) {
		long long team =
			json_integer_value(json_object_get(team_row, "team"));
		json_t *stops = NULL;
		if ((rc = sfield_stops(st, date, team, personal, &stops,
				       err)) != 0)
			break;
		for (size_t e = 0; rc == 0 && e < 3; e++)
			rc = write_file(dir, date, team, ext[e], team_row,
					stops, personal, err);
		json_decref(stops);
		if (rc != 0)
			break;
	}
	json_decref(teams);
	if (rc != 0 || !personal)
		return rc;
	/* the export happened: it is logged even if nothing else is */
	char detail[300];
	snprintf(detail, sizeof(detail),
		 "survey sheets of %s with applicant names and contacts into "
		 "%s",
		 date, dir);
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = application_audit(st, now, who, "export-personal", NULL,
				    detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		store_rollback(st);
	return rc;
}

/* ---- release, record, validate ---- */

/* The end of a step of a task: task and application to their new
 * states, the audit row, commit (the caller rolls back on error). */
static int close_task(hq_store *st, long long task, const char *task_state,
		      const char *app, const char *app_state, const char *who,
		      const char *action, const char *detail, time_t now,
		      sl_error *err)
{
	int rc = sfield_change(st, NULL, err,
			       "UPDATE survey_tasks SET state = ?2,"
			       " closed_at = ?3 WHERE task_id = ?1",
			       "iti", task, task_state, (long long)now);
	if (rc == 0)
		rc = sfield_change(st, NULL, err,
				   "UPDATE applications SET state = ?2"
				   " WHERE application_id = ?1",
				   "tt", app, app_state);
	if (rc == 0)
		rc = application_audit(st, now, who, action, app, detail, err);
	if (rc == 0)
		rc = store_commit(st, err);
	return rc;
}

int sfield_release(hq_store *st, long long task, const char *who,
		   time_t now, sl_error *err)
{
	int rc = sfield_need_who("release", who, err);
	if (rc != 0 || (rc = store_begin(st, err)) != 0)
		return rc;
	char app[128] = "", detail[64];
	sqlite3_stmt *s;
	if ((rc = prepare(st, &s,
			  "SELECT application_id, state FROM survey_tasks"
			  " WHERE task_id = ?1",
			  err)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, task);
	if (sqlite3_step(s) != SQLITE_ROW)
		rc = sl_error_set(err, SL_ENOTFOUND, "no survey task %lld",
				  task);
	else if (strcmp((const char *)sqlite3_column_text(s, 1), "locked") !=
		 0)
		rc = sl_error_set(err, SL_EINVAL,
				  "task %lld is %s: only a locked task is "
				  "released",
				  task, sqlite3_column_text(s, 1));
	else
		snprintf(app, sizeof(app), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	snprintf(detail, sizeof(detail), "task %lld", task);
	if (rc != 0 ||
	    (rc = close_task(st, task, "released", app, "ready", who,
			     "release", detail, now, err)) != 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return rc;
}

int sfield_record(hq_store *st, const char *app,
		  const struct sfield_finding *f, const char *who, time_t now,
		  struct sfield_finding *out, sl_error *err)
{
	struct app_state a;
	int rc = sfield_need_who("record", who, err);
	if (rc != 0 || (rc = store_begin(st, err)) != 0)
		return rc;
	*out = *f;
	if ((rc = load_state(st, app, &a, err)) != 0)
		goto fail;
	if (strcmp(a.state, "locked") != 0 || a.task == 0) {
		rc = sl_error_set(err, SL_EINVAL,
				  "application %s is %s: a result is recorded "
				  "for a survey planned for a team (locked)",
				  app, a.state);
		goto fail;
	}
	if (!f->has_grade) {
		/* the weights are the wooden-house ones; no others are
		 * known here, so a non-wooden house is graded directly */
		if (strcmp(a.structure, "non_wooden") == 0) {
			rc = sl_error_set(err, SL_EINVAL,
					  "application %s: the building is "
					  "non-wooden: element weights are "
					  "known for wooden houses only; "
					  "record --grade",
					  app);
			goto fail;
		}
		if ((rc = grade_loss(&f->e, &out->loss, err)) != 0)
			goto fail;
		out->grade = grade_of_loss(out->loss);
	}
	char detail[160];
	if (f->has_grade)
		snprintf(detail, sizeof(detail), "task %lld: %s given", a.task,
			 grade_key(out->grade));
	else
		snprintf(detail, sizeof(detail),
			 "task %lld: %s, loss %ld.%03ld %% (roof %d.%d, walls "
			 "%d.%d, foundation %d.%d)",
			 a.task, grade_key(out->grade), out->loss / GRADE_UNIT,
			 out->loss % GRADE_UNIT, f->e.roof / 10, f->e.roof % 10,
			 f->e.walls / 10, f->e.walls % 10,
			 f->e.foundation / 10, f->e.foundation % 10);
	static const char ins[] =
		"INSERT INTO survey_results (application_id, task_id, grade,"
		" loss_milli, roof_tenths, walls_tenths, foundation_tenths,"
		" recorded_by, recorded_at) VALUES (?1, ?2, ?3,"
		" CASE WHEN ?4 THEN NULL ELSE ?5 END,"
		" CASE WHEN ?4 THEN NULL ELSE ?6 END,"
		" CASE WHEN ?4 THEN NULL ELSE ?7 END,"
		" CASE WHEN ?4 THEN NULL ELSE ?8 END, ?9, ?10)";
	if ((rc = sfield_change(st, NULL, err, ins, "titiiiiiti", app, a.task,
			 grade_key(out->grade), (long long)f->has_grade,
			 (long long)out->loss, (long long)f->e.roof,
			 (long long)f->e.walls, (long long)f->e.foundation, who,
			 (long long)now)) != 0 ||
	    (rc = close_task(st, a.task, "surveyed", app, "surveyed", who,
			     "record", detail, now, err)) != 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return rc;
}

/* The newest result of app not yet validated: its id, grade and who
 * recorded it. */
static int open_result(hq_store *st, const char *app, long long *id,
		       char grade[32], char by[128], long long *task,
		       sl_error *err)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
			 "SELECT result_id, grade, recorded_by, task_id"
			 " FROM survey_results WHERE application_id = ?1"
			 " AND valid IS NULL ORDER BY result_id DESC LIMIT 1",
			 err);
	if (rc != 0)
		return rc;
	bind_text(s, 1, app);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		snprintf(grade, 32, "%s", sqlite3_column_text(s, 1));
		snprintf(by, 128, "%s", sqlite3_column_text(s, 2));
		*task = sqlite3_column_int64(s, 3);
	} else {
		rc = sl_error_set(err, SL_EINVAL,
				  "application %s has no result waiting for "
				  "validation",
				  app);
	}
	sqlite3_finalize(s);
	return rc;
}

int sfield_validate(hq_store *st, const char *app, int valid,
		    const char *reason, const char *who, time_t now,
		    sl_error *err)
{
	struct app_state a;
	char grade[32], by[128], detail[400];
	long long result = 0, task = 0;
	int rc = sfield_need_who("validate", who, err);
	if (rc == 0 && !valid && (reason == NULL || reason[0] == '\0'))
		rc = sl_error_set(err, SL_EINVAL,
				  "hq survey validate --invalid: --reason "
				  "TEXT is required (what must be looked at "
				  "again)");
	if (rc != 0 || (rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = load_state(st, app, &a, err)) != 0 ||
	    (rc = open_result(st, app, &result, grade, by, &task, err)) != 0)
		goto fail;
	if (strcmp(a.state, "surveyed") != 0) {
		rc = sl_error_set(err, SL_EINVAL,
				  "application %s is %s: only a surveyed one "
				  "is validated",
				  app, a.state);
		goto fail;
	}
	/* four eyes: the approval that lets a certificate be issued is not
	 * given by the person whose result it approves */
	if (strcmp(by, who) == 0) {
		rc = sl_error_set(err, SL_EINVAL,
				  "application %s: %s recorded this result; "
				  "another person validates it",
				  app, who);
		goto fail;
	}
	snprintf(detail, sizeof(detail), "result %lld (%s by %s): %s%s%s",
		 result, grade, by, valid ? "valid" : "invalid",
		 reason ? ": " : "", reason ? reason : "");
	if ((rc = sfield_change(st, NULL, err,
			 "UPDATE survey_results SET valid = ?2,"
			 " validated_by = ?3, validated_at = ?4, reason = ?5"
			 " WHERE result_id = ?1",
			 "iitit", result, (long long)valid, who,
			 (long long)now, reason)) != 0)
		goto fail;
	/* the grade and the approver go with 'validated': what lets
	 * certificate.c issue */
	if (valid &&
	    (rc = sfield_change(st, NULL, err,
				"UPDATE applications SET grade = ?2,"
				" approved_by = ?3, approved_at = ?4"
				" WHERE application_id = ?1",
				"ttti", app, grade, who, (long long)now)) != 0)
		goto fail;
	rc = close_task(st, task, valid ? "validated" : "invalidated", app,
			valid ? "validated" : "invalidated", who,
			valid ? "validate" : "invalidate", detail, now, err);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return rc;
}

/* ---- stats ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median days from application to first certificate; -1 if none. */
static int median_days(hq_store *st, double *median, size_t *n,
		       sl_error *err)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
			 "SELECT min(c.issued_at) - a.applied_at"
			 " FROM certificates c JOIN applications a"
			 " USING (application_id) GROUP BY c.application_id",
			 err);
	double *d = NULL;
	size_t cap = 0;
	*n = 0;
	*median = -1;
	while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = 0;
		double *g = sl_grow(d, &cap, *n + 1, sizeof(*d));
		if (g == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			break;
		}
		d = g;
		d[(*n)++] = (double)sqlite3_column_int64(s, 0) / 86400.0;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = db_error(store_db(st), err, "days to issue");
	sqlite3_finalize(s);
	if (rc == 0 && *n > 0) {
		qsort(d, *n, sizeof(*d), cmp_double);
		*median = *n % 2 ? d[*n / 2] : (d[*n / 2 - 1] + d[*n / 2]) / 2;
	}
	sl_free(d);
	return rc;
}

int sfield_stats(hq_store *st, json_t **out, sl_error *err)
{
	static const char backlog_sql[] =
		"SELECT coalesce(lane, '-') AS lane,"
		" sum(state = 'received') AS received,"
		" sum(state = 'triaged') AS triaged,"
		" sum(state = 'ready') AS ready, sum(state = 'locked') AS locked,"
		" sum(state = 'surveyed') AS surveyed,"
		" sum(state = 'invalidated') AS invalidated,"
		" sum(state = 'validated') AS validated,"
		" sum(state = 'appealed') AS appealed,"
		" sum(state <> 'issued') AS open, sum(state = 'issued') AS issued"
		" FROM applications GROUP BY lane ORDER BY lane";
	/* days as HQ's clock shows them: staff count issues per working
	 * day where they are */
	static const char per_day_sql[] =
		"SELECT date(issued_at, 'unixepoch', 'localtime') AS day,"
		" count(*) AS issued FROM certificates GROUP BY day ORDER BY day";
	static const char field_sql[] =
		"SELECT (SELECT count(*) FROM applications WHERE lane IN"
		"  ('field','interior') AND state IN"
		"  ('ready','invalidated','appealed','locked')) AS field_backlog,"
		" (SELECT max(plan_date) FROM survey_teams) AS plan_date,"
		" (SELECT sum(capacity) FROM survey_teams WHERE plan_date ="
		"  (SELECT max(plan_date) FROM survey_teams))"
		"  AS team_capacity_per_day,"
		" (SELECT count(*) FROM certificates) AS certificates";
	json_t *backlog = NULL, *per_day = NULL, *field = NULL;
	double median;
	size_t n;
	int rc = picture_query(st, backlog_sql, NULL, &backlog, err);
	if (rc == 0)
		rc = picture_query(st, per_day_sql, NULL, &per_day, err);
	if (rc == 0)
		rc = picture_query(st, field_sql, NULL, &field, err);
	if (rc == 0)
		rc = median_days(st, &median, &n, err);
	json_t *sum = rc == 0 ? json_array_get(field, 0) : NULL;
	if (sum) {
		json_int_t b = json_integer_value(
			json_object_get(sum, "field_backlog"));
		json_int_t c = json_integer_value(
			json_object_get(sum, "team_capacity_per_day"));
		/* the days the current teams need for what waits now;
		 * null before any plan says how many teams there are */
		json_object_set_new(sum, "forecast_days",
				    c > 0 ? json_integer((b + c - 1) / c)
					  : json_null());
		json_object_set_new(sum, "median_days_to_issue",
				    n ? json_real(round(median * 10) / 10)
				      : json_null());
	}
	*out = NULL;
	if (rc != 0) {
		json_decref(backlog);
		json_decref(per_day);
		json_decref(field);
		return rc;
	}
	/* "o" hands backlog and per_day over, even on failure */
	*out = json_pack("{s:o, s:o, s:O}", "backlog", backlog,
			 "issued_per_day", per_day, "summary", sum);
	json_decref(field);
	if (*out == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	return rc;
}

/* ---- the command line ---- */

#define MAX_STARTS 1000
#define MAX_POS	   1000

struct cmdline {
	const char *cmd;
	const char *pos[MAX_POS];
	int npos;
	const char *date, *teams, *capacity, *out, *who, *grade, *roof,
		*walls, *foundation, *reason, *html, *how, *limit, *format,
		*team;
	int personal, invalid;
	double starts[2 * MAX_STARTS];
	size_t nstarts;
	enum view_format fmt;
};

struct fopt {
	const char *name;
	size_t at; /* offsetof the value in struct cmdline */
};
#define V(f) offsetof(struct cmdline, f)
static const struct fopt valued[] = {
	{"--date", V(date)},	   {"--teams", V(teams)},
	{"--capacity", V(capacity)}, {"--out", V(out)},
	{"--who", V(who)},	   {"--by", V(who)},
	{"--grade", V(grade)},	   {"--roof", V(roof)},
	{"--walls", V(walls)},	   {"--foundation", V(foundation)},
	{"--reason", V(reason)},   {"--html", V(html)},
	{"--how", V(how)},	   {"--limit", V(limit)},
	{"--format", V(format)},   {"--team", V(team)},
};
#undef V

/* "LAT,LON" in degrees; 0 or 2 with a message. */
static int start_arg(struct cmdline *c, const char *text)
{
	char *end;
	double lat, lon;
	errno = 0;
	lat = strtod(text, &end);
	if (end != text && *end == ',') {
		const char *p = end + 1;
		lon = strtod(p, &end);
		if (!errno && end != p && *end == '\0' && fabs(lat) <= 90 &&
		    fabs(lon) <= 180 && c->nstarts < MAX_STARTS) {
			c->starts[2 * c->nstarts] = lat;
			c->starts[2 * c->nstarts++ + 1] = lon;
			return 0;
		}
	}
	fprintf(stderr,
		"hq survey %s: --start '%s': LAT,LON in degrees (at most %d)\n",
		c->cmd, text, MAX_STARTS);
	return 2;
}

static int parse(struct cmdline *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	c->cmd = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k = 0;
		while (k < NCOLS(valued) && strcmp(a, valued[k].name) != 0)
			k++;
		if (k < NCOLS(valued) && i + 1 < argc) {
			*(const char **)((char *)c + valued[k].at) = argv[++i];
		} else if (strcmp(a, "--start") == 0 && i + 1 < argc) {
			if (start_arg(c, argv[++i]) != 0)
				return 2;
		} else if (strcmp(a, "--personal") == 0) {
			c->personal = 1;
		} else if (strcmp(a, "--invalid") == 0) {
			c->invalid = 1;
		} else if (a[0] != '-' && c->npos < MAX_POS) {
			c->pos[c->npos++] = a;
		} else {
			fprintf(stderr,
				"hq survey %s: unknown or incomplete option "
				"'%s'\n",
				c->cmd, a);
			return 2;
		}
	}
	return hq_format_arg(c->format, &c->fmt);
}

/* A whole number in lo..hi; 2 with a message naming what. */
static int int_arg(const struct cmdline *c, const char *what,
		   const char *text, long long lo, long long hi,
		   long long *out)
{
	char *end;
	errno = 0;
	long long v = text ? strtoll(text, &end, 10) : 0;
	if (text == NULL || errno || end == text || *end || v < lo || v > hi) {
		fprintf(stderr, "hq survey %s: %s '%s': a whole number %lld..%lld\n",
			c->cmd, what, text ? text : "", lo, hi);
		return 2;
	}
	*out = v;
	return 0;
}

/* The one positional argument, a task or certificate number. */
static int one_number(const struct cmdline *c, const char *what,
		      long long *out)
{
	return int_arg(c, what, c->npos == 1 ? c->pos[0] : NULL, 1,
		       (long long)1 << 62, out);
}

/* YYYY-MM-DD of a real day. */
/* YYYY-MM-DD, digits where digits go, a real date (rules_date_valid). */
static int date_arg(const struct cmdline *c)
{
	const char *d = c->date;
	int shape = d && strlen(d) == 10 && d[4] == '-' && d[7] == '-';
	for (int i = 0; shape && i < 10; i++)
		shape = i == 4 || i == 7 || isdigit((unsigned char)d[i]);
	if (shape && rules_date_valid(d))
		return 0;
	fprintf(stderr, "hq survey %s: --date '%s': YYYY-MM-DD\n", c->cmd,
		d ? d : "");
	return 2;
}

static int fail(const struct cmdline *c, int rc, const sl_error *err)
{
	fprintf(stderr, "hq survey %s: %s\n", c->cmd, err->text);
	return rc == SL_EINVAL || rc == SL_ENOTFOUND ? 1 : 3;
}

static int render(const struct cmdline *c, json_t *rows,
		  const struct view_column *cols, size_t n, sl_error *err)
{
	int rc = view_render(rows, cols, n, c->fmt, stdout, err);
	json_decref(rows);
	return rc == 0 ? 0 : fail(c, rc, err);
}

static const struct view_column team_cols[] = {
	{"team", "TEAM", 5},	       {"stops", "STOPS", 6},
	{"capacity", "CAP", 4},	       {"length_km", "KM", 9},
	{"nn_length_km", "NN_KM", 9},  {"bound_km", "BOUND_KM", 9},
	{"start_lat", "START_LAT", 10}, {"start_lon", "START_LON", 11},
	{"planned_by", "BY", 0},
};

static int cmd_plan(const struct hq_config *cfg, hq_store *st,
		    struct cmdline *c, sl_error *err)
{
	long long teams, cap = 15;
	struct sfield_plan_result res;
	int rc;
	(void)cfg;
	if ((rc = date_arg(c)) != 0 ||
	    (rc = int_arg(c, "--teams", c->teams, 1, SPLAN_TEAMS_MAX,
			  &teams)) != 0 ||
	    (c->capacity && (rc = int_arg(c, "--capacity", c->capacity, 1,
					  SPLAN_CAPACITY_MAX, &cap)) != 0))
		return rc;
	if (c->personal && c->out == NULL) {
		fprintf(stderr, "hq survey plan: --personal goes with --out\n");
		return 2;
	}
	struct sfield_plan_opts o = {c->date, (size_t)teams, (int)cap,
				     c->starts, c->nstarts, c->who, time(NULL)};
	if ((rc = sfield_plan(st, &o, &res, err)) != 0)
		return fail(c, rc, err);
	fprintf(stderr,
		"hq survey plan %s: %zu of %zu waiting surveys planned for "
		"teams %lld-%lld (%zu without a position: not planned); "
		"%.1f km, nearest neighbour %.1f km, lower bound %.1f km\n",
		c->date, res.planned, res.waiting, res.first_team,
		res.first_team + teams - 1, res.unplaced, res.length_km,
		res.nn_length_km, res.bound_km);
	if (c->out &&
	    (rc = sfield_sheets(st, c->date, c->out, c->personal, c->who,
				o.now, err)) != 0)
		return fail(c, rc, err);
	json_t *rows = NULL;
	if ((rc = sfield_teams(st, c->date, &rows, err)) != 0)
		return fail(c, rc, err);
	return render(c, rows, team_cols, NCOLS(team_cols), err);
}

static int cmd_sheets(hq_store *st, struct cmdline *c, sl_error *err)
{
	int rc = date_arg(c);
	if (rc != 0)
		return rc;
	if (c->out == NULL) {
		fprintf(stderr, "usage: hq survey sheets --date D --out DIR "
				"[--personal --who NAME]\n");
		return 2;
	}
	if (c->personal && (rc = sfield_need_who("sheets", c->who, err)) != 0)
		return fail(c, rc, err);
	rc = sfield_sheets(st, c->date, c->out, c->personal, c->who,
			   time(NULL), err);
	return rc ? fail(c, rc, err) : 0;
}

static int cmd_tasks(hq_store *st, struct cmdline *c, sl_error *err)
{
	long long team = 0;
	int rc = date_arg(c);
	if (rc != 0 || (c->team && (rc = int_arg(c, "--team", c->team, 1,
						 1000000, &team)) != 0))
		return rc;
	json_t *rows = NULL;
	if ((rc = sfield_stops(st, c->date, team, 0, &rows, err)) != 0)
		return fail(c, rc, err);
	return render(c, rows, stop_cols, STOP_COLS(0), err);
}

static int cmd_release(hq_store *st, struct cmdline *c, sl_error *err)
{
	long long task;
	int rc = one_number(c, "TASK", &task);
	if (rc != 0)
		return rc;
	rc = sfield_release(st, task, c->who, time(NULL), err);
	if (rc != 0)
		return fail(c, rc, err);
	printf("task %lld released\n", task);
	return 0;
}

static int cmd_record(hq_store *st, struct cmdline *c, sl_error *err)
{
	struct sfield_finding f = {0}, out;
	int rc = 0, elements = c->roof || c->walls || c->foundation;
	if (c->npos != 1 || (c->grade != NULL) == elements ||
	    (elements && !(c->roof && c->walls && c->foundation))) {
		fprintf(stderr, "usage: hq survey record APPLICATION (--grade G "
				"| --roof P --walls P --foundation P) --who "
				"NAME\n");
		return 2;
	}
	f.has_grade = c->grade != NULL;
	if (f.has_grade)
		rc = grade_parse(c->grade, &f.grade, err);
	else if ((rc = grade_parse_percent("--roof", c->roof, &f.e.roof,
					   err)) == 0 &&
		 (rc = grade_parse_percent("--walls", c->walls, &f.e.walls,
					   err)) == 0)
		rc = grade_parse_percent("--foundation", c->foundation,
					 &f.e.foundation, err);
	if (rc == 0)
		rc = sfield_record(st, c->pos[0], &f, c->who, time(NULL), &out,
				   err);
	if (rc != 0)
		return fail(c, rc, err);
	if (f.has_grade)
		printf("%s: %s (%s) recorded\n", c->pos[0],
		       grade_name(out.grade), grade_key(out.grade));
	else
		printf("%s: loss %ld.%03ld %% -> %s (%s) recorded\n", c->pos[0],
		       out.loss / GRADE_UNIT, out.loss % GRADE_UNIT,
		       grade_name(out.grade), grade_key(out.grade));
	return 0;
}

static int cmd_validate(hq_store *st, struct cmdline *c, sl_error *err)
{
	if (c->npos < 1) {
		fprintf(stderr, "usage: hq survey validate APPLICATION... --who "
				"NAME [--invalid --reason TEXT]\n");
		return 2;
	}
	for (int i = 0; i < c->npos; i++) {
		int rc = sfield_validate(st, c->pos[i], !c->invalid, c->reason,
					 c->who, time(NULL), err);
		if (rc != 0)
			return fail(c, rc, err);
		printf("%s: %s\n", c->pos[i],
		       c->invalid ? "invalidated: back in the field queue"
				  : "validated");
	}
	return 0;
}

static const struct view_column issued_cols[] = {
	{"municipality", "MUNICIPALITY", 13},
	{"number", "NUMBER", 7},
	{"application_id", "APPLICATION", 14},
	{"grade", "GRADE", 16},
	{"approved_by", "APPROVED_BY", 0},
};

static int cmd_issue(const struct hq_config *cfg, hq_store *st,
		     struct cmdline *c, sl_error *err)
{
	long long limit = 0;
	int rc;
	if (c->limit && (rc = int_arg(c, "--limit", c->limit, 1, 10000000,
				      &limit)) != 0)
		return rc;
	json_t *rows = NULL;
	rc = cert_issue(st, cfg->common.municipality,
			c->npos ? (const char *const *)c->pos : NULL,
			(size_t)c->npos, (size_t)limit, c->who, time(NULL),
			&rows, err);
	if (rc != 0)
		return fail(c, rc, err);
	fprintf(stderr, "hq survey issue: %zu certificates issued\n",
		json_array_size(rows));
	return render(c, rows, issued_cols, NCOLS(issued_cols), err);
}

static int cmd_certificate(const struct hq_config *cfg, hq_store *st,
			   struct cmdline *c, sl_error *err)
{
	long long n;
	int rc = one_number(c, "NUMBER", &n);
	if (rc != 0)
		return rc;
	if (c->html == NULL) {
		fprintf(stderr, "usage: hq survey certificate NUMBER --html FILE "
				"--who NAME\n");
		return 2;
	}
	if ((rc = sfield_need_who("certificate", c->who, err)) != 0)
		return fail(c, rc, err);
	FILE *f = strcmp(c->html, "-") == 0 ? stdout : fopen(c->html, "w");
	if (f == NULL) {
		fprintf(stderr, "hq survey certificate: %s: %s\n", c->html,
			strerror(errno));
		return 3;
	}
	rc = cert_html(st, cfg->common.municipality, n, c->who, time(NULL), f,
		       err);
	if (f != stdout && fclose(f) != 0 && rc == 0)
		rc = sl_error_set(err, SL_EIO, "%s: %s", c->html,
				  strerror(errno));
	if (rc != 0 && f != stdout)
		remove(c->html);
	return rc ? fail(c, rc, err) : 0;
}

static const struct view_column cert_cols[] = {
	{"number", "NUMBER", 7},	 {"application_id", "APPLICATION", 14},
	{"grade", "GRADE", 16},		 {"issued", "ISSUED", 21},
	{"issued_by", "BY", 12},	 {"delivered", "DELIVERED", 21},
	{"delivery", "HOW", 8},		 {"superseded_by", "SUPERSEDED_BY", 0},
};

static int cmd_certificates(const struct hq_config *cfg, hq_store *st,
			    struct cmdline *c, sl_error *err)
{
	json_t *rows = NULL;
	int rc = picture_query(
		st,
		"SELECT number, application_id, grade,"
		" strftime('%Y-%m-%dT%H:%M:%SZ', issued_at, 'unixepoch')"
		"  AS issued, issued_by,"
		" strftime('%Y-%m-%dT%H:%M:%SZ', delivered_at, 'unixepoch')"
		"  AS delivered, delivery, superseded_by"
		" FROM certificates WHERE municipality = ?1 ORDER BY number",
		cfg->common.municipality, &rows, err);
	if (rc != 0)
		return fail(c, rc, err);
	return render(c, rows, cert_cols, NCOLS(cert_cols), err);
}

static int cmd_delivered(const struct hq_config *cfg, hq_store *st,
			 struct cmdline *c, sl_error *err)
{
	long long n;
	int rc = one_number(c, "NUMBER", &n);
	if (rc != 0)
		return rc;
	rc = cert_delivered(st, cfg->common.municipality, n,
			    c->how ? c->how : "counter", c->who, time(NULL),
			    err);
	if (rc != 0)
		return fail(c, rc, err);
	printf("certificate %lld delivered\n", n);
	return 0;
}

static int cmd_appeal(hq_store *st, struct cmdline *c, sl_error *err)
{
	if (c->npos != 1) {
		fprintf(stderr, "usage: hq survey appeal APPLICATION --reason "
				"TEXT --who NAME\n");
		return 2;
	}
	int rc = cert_appeal(st, c->pos[0], c->reason, c->who, time(NULL), err);
	if (rc != 0)
		return fail(c, rc, err);
	printf("%s: appealed, back in the field queue for an interior "
	       "survey\n",
	       c->pos[0]);
	return 0;
}

static const struct view_column backlog_cols[] = {
	{"lane", "LANE", 9},	     {"received", "RECEIVED", 9},
	{"triaged", "TRIAGED", 8},   {"ready", "READY", 6},
	{"locked", "LOCKED", 7},     {"surveyed", "SURVEYED", 9},
	{"invalidated", "INVALID", 8}, {"validated", "VALID", 6},
	{"appealed", "APPEALED", 9}, {"open", "OPEN", 6},
	{"issued", "ISSUED", 0},
};
static const struct view_column day_cols[] = {
	{"day", "DAY", 11},
	{"issued", "ISSUED", 0},
};
static const struct view_column summary_cols[] = {
	{"field_backlog", "FIELD_BACKLOG", 14},
	{"plan_date", "PLAN_DATE", 11},
	{"team_capacity_per_day", "CAPACITY/DAY", 13},
	{"forecast_days", "FORECAST_DAYS", 14},
	{"median_days_to_issue", "MEDIAN_DAYS", 12},
	{"certificates", "CERTIFICATES", 0},
};

static int cmd_stats(hq_store *st, struct cmdline *c, sl_error *err)
{
	json_t *s = NULL;
	int rc = sfield_stats(st, &s, err);
	if (rc != 0)
		return fail(c, rc, err);
	if (c->fmt == VIEW_JSON || c->fmt == VIEW_GEOJSON) {
		rc = json_dumpf(s, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(s);
		return rc == 0 ? 0 : 3;
	}
	json_t *sum = json_array();
	json_array_append(sum, json_object_get(s, "summary"));
	if (c->fmt == VIEW_TABLE)
		printf("backlog by lane and state\n");
	rc = view_render(json_object_get(s, "backlog"), backlog_cols,
			 NCOLS(backlog_cols), c->fmt, stdout, err);
	if (rc == 0 && c->fmt == VIEW_TABLE)
		printf("\ncertificates issued per day\n");
	if (rc == 0)
		rc = view_render(json_object_get(s, "issued_per_day"), day_cols,
				 NCOLS(day_cols), c->fmt, stdout, err);
	if (rc == 0 && c->fmt == VIEW_TABLE)
		printf("\nfield queue and forecast\n");
	if (rc == 0)
		rc = view_render(sum, summary_cols, NCOLS(summary_cols), c->fmt,
				 stdout, err);
	json_decref(sum);
	json_decref(s);
	return rc ? fail(c, rc, err) : 0;
}

static const char *const usage[] = {
	"plan --date YYYY-MM-DD --teams N [--capacity 15] [--start LAT,LON]... "
	"[--out DIR [--personal]] --who NAME",
	"sheets --date YYYY-MM-DD --out DIR [--personal --who NAME]",
	"tasks --date YYYY-MM-DD [--team N] [--format ...]",
	"release TASK --who NAME",
	"record APPLICATION (--grade G | --roof P --walls P --foundation P) "
	"--who NAME",
	"validate APPLICATION... --who NAME [--invalid --reason TEXT]",
	"issue [APPLICATION...] [--limit N] --who NAME [--format ...]",
	"certificate NUMBER --html FILE|- --who NAME",
	"certificates [--format ...]",
	"delivered NUMBER [--how counter|mail|other] --who NAME",
	"appeal APPLICATION --reason TEXT --who NAME",
	"stats [--format table|csv|json]",
};

int sfield_is_command(const char *name)
{
	for (size_t i = 0; i < NCOLS(usage); i++) {
		size_t n = strcspn(usage[i], " ");
		if (strlen(name) == n && strncmp(usage[i], name, n) == 0)
			return 1;
	}
	return 0;
}

void sfield_usage(FILE *out)
{
	for (size_t i = 0; i < NCOLS(usage); i++)
		fprintf(out, "  hq survey %s\n", usage[i]);
}

static int run(const struct hq_config *cfg, hq_store *st, struct cmdline *c,
	       sl_error *err)
{
	const char *n = c->cmd;
	if (strcmp(n, "plan") == 0)
		return cmd_plan(cfg, st, c, err);
	if (strcmp(n, "sheets") == 0)
		return cmd_sheets(st, c, err);
	if (strcmp(n, "tasks") == 0)
		return cmd_tasks(st, c, err);
	if (strcmp(n, "release") == 0)
		return cmd_release(st, c, err);
	if (strcmp(n, "record") == 0)
		return cmd_record(st, c, err);
	if (strcmp(n, "validate") == 0)
		return cmd_validate(st, c, err);
	if (strcmp(n, "issue") == 0)
		return cmd_issue(cfg, st, c, err);
	if (strcmp(n, "certificate") == 0)
		return cmd_certificate(cfg, st, c, err);
	if (strcmp(n, "certificates") == 0)
		return cmd_certificates(cfg, st, c, err);
	if (strcmp(n, "delivered") == 0)
		return cmd_delivered(cfg, st, c, err);
	if (strcmp(n, "appeal") == 0)
		return cmd_appeal(st, c, err);
	return cmd_stats(st, c, err);
}

int sfield_main(const struct hq_config *cfg, int argc, char **argv)
{
	struct cmdline *c = sl_malloc(sizeof(*c));
	sl_error err = {""};
	if (c == NULL) {
		fprintf(stderr, "hq survey: out of memory\n");
		return 3;
	}
	int rc = parse(c, argc, argv);
	if (rc != 0) {
		sl_free(c);
		return rc;
	}
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL) {
		fprintf(stderr, "hq survey %s: %s\n", argv[0], err.text);
		sl_free(c);
		return 3;
	}
	rc = run(cfg, st, c, &err);
	store_close(st);
	sl_free(c);
	return rc;
}
