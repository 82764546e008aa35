/*
 * application.c - り災証明 applications as they arrive: from a counter
 * (`hq survey apply`) or a file of the day's applications, matched to
 * the building they are about, checked for duplicates, and stored with
 * an audit row each.  The applicant's name, address and contact are
 * personal data: they are stored here and leave HQ only through an
 * export a person asks for by name (surveycmd.c); nothing here publishes.
 *
 * Not here: which lane an application takes (triage.c).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "csvfile.h"
#include "db.h"
#include "hq.h"
#include "mem.h"

#define TEXT_MAX   512 /* bytes of a name, an address or a contact */
#define NORM_MAX   (TEXT_MAX * 2)
#define CANDIDATES 5 /* listed for a person when a match is ambiguous */

/* ---- time ---- */

/* days since 1970-01-01 of a proleptic Gregorian date */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* n digits at *p as a number, advancing; -1 when they are not digits */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + (*p)[i] - '0';
	}
	*p += n;
	return v;
}

int application_time(const char *text, int utc_offset_min, time_t *out,
		     sl_error *err)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	const char *p = text;
	int y = digits(&p, 4), mo = -1, d = -1, h = -1, mi = -1, s = 0;
	char sep = *p;
	if (y >= 0 && (sep == '-' || sep == '/') && p++ &&
	    (mo = digits(&p, 2)) >= 0 && *p == sep && p++ &&
	    (d = digits(&p, 2)) >= 0 && (*p == 'T' || *p == ' ') && p++ &&
	    (h = digits(&p, 2)) >= 0 && *p == ':' && p++)
		mi = digits(&p, 2);
	if (mi >= 0 && *p == ':') {
		p++;
		s = digits(&p, 2);
	}
	int off = utc_offset_min, ok = mi >= 0 && s >= 0;
	if (ok && (*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if (ok && (*p == '+' || *p == '-')) {
		const char *q = p + 1;
		int oh = digits(&q, 2),
		    om = *q == ':' ? (q++, digits(&q, 2)) : -1;
		ok = oh >= 0 && oh <= 14 && om >= 0 && om < 60 && *q == '\0';
		off = (*p == '-' ? -1 : 1) * (oh * 60 + om);
	} else {
		ok = ok && *p == '\0';
	}
	if (!ok || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) ||
	    h > 23 || mi > 59 || s > 60)
		return sl_error_set(err, SL_EINVAL,
				    "'%s' is not a time like "
				    "2016-04-20T10:15:00+09:00",
				    text);
	if (off == INT_MIN)
		return sl_error_set(err, SL_EINVAL,
				    "'%s' has no UTC offset (add +09:00, or "
				    "give --utc-offset)",
				    text);
	*out = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
			h * 3600 + mi * 60 + s - off * 60);
	return 0;
}

/* ---- audit ---- */

int application_audit(hq_store *st, time_t at, const char *who,
		      const char *action, const char *app_id,
		      const char *detail, sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(
		store_db(st), &s,
		"INSERT INTO survey_audit (at, who, action, "
		"application_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
		err);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)at);
	sqlite3_bind_text(s, 2, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sl_error_set(err, SL_EDB, "survey_audit: %s",
				  sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return rc;
}

/* ---- storing ---- */

enum {
	Q_EXISTS,     /* an id stored before */
	Q_BUILDING,   /* a building id */
	Q_BY_ADDRESS, /* buildings at a normalised address */
	Q_INSERT,
	Q_CANDIDATE,
	Q_SEEN_ADD, /* the duplicate keys of this import */
	Q_SEEN_GET,
	Q_AUDIT,
	Q_NEXT_COUNTER,
	Q_COUNT
};
static const char *const q_sql[Q_COUNT] = {
	[Q_EXISTS] = "SELECT applicant, address FROM applications"
		     " WHERE application_id = ?1",
	[Q_BUILDING] = "SELECT 1 FROM buildings WHERE building_id = ?1",
	[Q_BY_ADDRESS] = "SELECT building_id FROM buildings WHERE"
			 " address_norm = ?1 ORDER BY building_id LIMIT 5",
	[Q_INSERT] = "INSERT INTO applications (application_id, applicant,"
		     " address, address_norm, contact, lat, lon, building_id,"
		     " matched_by, applied_at, consent_self, second_survey,"
		     " in_shelter, duplicate_of, source_file, source_ref,"
		     " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		     " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[Q_CANDIDATE] =
		"INSERT INTO application_candidates (application_id,"
		" building_id, distance_m, why) VALUES (?1, ?2, ?3, ?4)",
	[Q_SEEN_ADD] = "INSERT INTO temp.survey_seen (key, application_id)"
		       " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[Q_SEEN_GET] = "SELECT application_id FROM temp.survey_seen"
		       " WHERE key = ?1",
	[Q_AUDIT] = "INSERT INTO survey_audit (at, who, action,"
		    " application_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_NEXT_COUNTER] = "SELECT coalesce(max(CAST(substr(application_id, 2)"
			   " AS INTEGER)), 0) + 1 FROM applications"
			   " WHERE application_id GLOB 'C[0-9]*'",
};

struct storer {
	hq_store *st;
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	const struct application_opts *o;
	struct application_result *res;
	building_index *idx; /* loaded when an application has a position */
};

struct match {
	const char *how;
	char building[80];
	struct building_near cand[CANDIDATES];
	size_t ncand;
	const char *why; /* of the candidates */
};

static int step_done(struct storer *w, int q, const char *ref, sl_error *err)
{
	int rc = sqlite3_step(w->q[q]);
	sqlite3_reset(w->q[q]);
	sqlite3_clear_bindings(w->q[q]);
	if (rc != SQLITE_DONE)
		return sl_error_set(err, SL_EDB, "%s: %s", ref,
				    sqlite3_errmsg(w->db));
	return 0;
}

/* How many buildings (0, 1, 2 meaning "more") stand at the address;
 * the first's id into m->building. */
static int match_address(struct storer *w, const char *norm, struct match *m)
{
	sqlite3_stmt *s = w->q[Q_BY_ADDRESS];
	int n = 0;
	sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
	while (n < 2 && sqlite3_step(s) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(m->building, sizeof(m->building), "%s",
				 (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return n;
}

/* A person decides between buildings at one address: list them all. */
static int list_address(struct storer *w, const char *app_id, const char *norm,
			const char *ref, sl_error *err)
{
	sqlite3_stmt *s = w->q[Q_BY_ADDRESS], *c = w->q[Q_CANDIDATE];
	int rc = 0;
	sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		sqlite3_bind_text(c, 1, app_id, -1, SQLITE_STATIC);
		sqlite3_bind_value(c, 2, sqlite3_column_value(s, 0));
		sqlite3_bind_null(c, 3);
		sqlite3_bind_text(c, 4, "same address", -1, SQLITE_STATIC);
		rc = step_done(w, Q_CANDIDATE, ref, err);
	}
	sqlite3_reset(s);
	return rc;
}

static void match_nearest(struct storer *w, const struct application *a,
			  struct match *m)
{
	m->ncand = building_index_near(w->idx, a->lat, a->lon, w->o->within_m,
				       m->cand, CANDIDATES);
	if (m->ncand == 0)
		return;
	/* clearly nearest: inside its footprint, or half as far as the next */
	if (m->ncand == 1 ||
	    (m->cand[0].distance_m == 0 && m->cand[1].distance_m > 0) ||
	    m->cand[0].distance_m * 2 <= m->cand[1].distance_m) {
		m->how = "nearest";
		snprintf(m->building, sizeof(m->building), "%s", m->cand[0].id);
		return;
	}
	m->how = "ambiguous";
	m->why = "nearby";
}

static int match(struct storer *w, const struct application *a,
		 const char *norm, struct match *m, sl_error *err)
{
	memset(m, 0, sizeof(*m));
	m->how = "none";
	if (a->building_id && *a->building_id) {
		sqlite3_stmt *s = w->q[Q_BUILDING];
		sqlite3_bind_text(s, 1, a->building_id, -1, SQLITE_STATIC);
		int found = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_reset(s);
		if (!found)
			return sl_error_set(
				err, SL_EINVAL,
				"%s: column 'building_id': no "
				"building '%s' (import the buildings "
				"first, or leave it empty)",
				a->ref, a->building_id);
		m->how = "id";
		snprintf(m->building, sizeof(m->building), "%s",
			 a->building_id);
		return 0;
	}
	int n = *norm ? match_address(w, norm, m) : 0;
	if (n == 1) {
		m->how = "address";
		return 0;
	}
	if (n > 1) {
		m->how = "ambiguous";
		m->why = "same address";
		m->building[0] = '\0';
		return 0;
	}
	if (!isnan(a->lat) && w->idx)
		match_nearest(w, a, m);
	return 0;
}

/* Name + building (or address): the same person applying twice. */
static int dup_key(const struct application *a, const struct match *m,
		   const char *norm, char *key, size_t cap)
{
	char name[NORM_MAX];
	if (building_address_norm(a->applicant, name, sizeof(name)) != 0)
		return SL_EINVAL;
	if (m->building[0])
		snprintf(key, cap,
			 "%s\x1f"
			 "b:%s",
			 name, m->building);
	else
		snprintf(key, cap,
			 "%s\x1f"
			 "a:%s",
			 name, norm);
	return 0;
}

/* The earlier application this one repeats into dup (or ""). */
static int check_duplicate(struct storer *w, const char *key, const char *id,
			   char *dup, size_t cap, const char *ref,
			   sl_error *err)
{
	sqlite3_stmt *add = w->q[Q_SEEN_ADD], *get = w->q[Q_SEEN_GET];
	dup[0] = '\0';
	sqlite3_bind_text(add, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 2, id, -1, SQLITE_STATIC);
	int rc = step_done(w, Q_SEEN_ADD, ref, err);
	if (rc != 0 || sqlite3_changes(w->db) > 0)
		return rc;
	sqlite3_bind_text(get, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(get) == SQLITE_ROW)
		snprintf(dup, cap, "%s",
			 (const char *)sqlite3_column_text(get, 0));
	sqlite3_reset(get);
	return 0;
}

/* Fills temp.survey_seen with the applications stored before. */
static int load_seen(struct storer *w, sl_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;
	/* the temp table lives in this connection: prepare after creating */
	if ((rc = db_exec(
		     w->db,
		     "CREATE TEMP TABLE IF NOT EXISTS survey_seen ("
		     " key TEXT PRIMARY KEY, application_id TEXT NOT NULL);"
		     "DELETE FROM temp.survey_seen",
		     err)) != 0 ||
	    (rc = db_prepare(w->db, &w->q[Q_SEEN_ADD], q_sql[Q_SEEN_ADD],
			     err)) != 0 ||
	    (rc = db_prepare(w->db, &w->q[Q_SEEN_GET], q_sql[Q_SEEN_GET],
			     err)) != 0 ||
	    (rc = db_prepare(w->db, &s,
			     "SELECT application_id, applicant, building_id,"
			     " address_norm FROM applications WHERE"
			     " duplicate_of IS NULL ORDER BY applied_at,"
			     " application_id",
			     err)) != 0)
		return rc;
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct application a = {
			.applicant = (const char *)sqlite3_column_text(s, 1),
			.ref = "stored",
		};
		struct match m = {0};
		const char *b = (const char *)sqlite3_column_text(s, 2);
		char key[NORM_MAX * 2 + 96], dup[80];
		snprintf(m.building, sizeof(m.building), "%s", b ? b : "");
		if (dup_key(&a, &m, (const char *)sqlite3_column_text(s, 3),
			    key, sizeof(key)) == 0)
			rc = check_duplicate(
				w, key, (const char *)sqlite3_column_text(s, 0),
				dup, sizeof(dup), "stored", err);
	}
	sqlite3_finalize(s);
	return rc;
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t && *t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_opt_double(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

/* 1: the same id was stored before with the same person and address */
static int seen_before(struct storer *w, const struct application *a,
		       sl_error *err)
{
	sqlite3_stmt *s = w->q[Q_EXISTS];
	int rc = 0;
	sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *who = (const char *)sqlite3_column_text(s, 0);
		const char *addr = (const char *)sqlite3_column_text(s, 1);
		rc = strcmp(who, a->applicant) == 0 &&
				     strcmp(addr,
					    a->address ? a->address : "") == 0
			     ? 1
			     : sl_error_set(err, SL_EINVAL,
					    "%s: application id '%s' is stored "
					    "already for another applicant or "
					    "address",
					    a->ref, a->id);
	}
	sqlite3_reset(s);
	return rc;
}

static int candidates(struct storer *w, const struct application *a,
		      const struct match *m, const char *norm, sl_error *err)
{
	if (strcmp(m->how, "ambiguous") != 0)
		return 0;
	if (strcmp(m->why, "same address") == 0)
		return list_address(w, a->id, norm, a->ref, err);
	int rc = 0;
	for (size_t i = 0; i < m->ncand && rc == 0; i++) {
		sqlite3_stmt *c = w->q[Q_CANDIDATE];
		char why[64];
		snprintf(why, sizeof(why), "within %.0f m", w->o->within_m);
		sqlite3_bind_text(c, 1, a->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(c, 2, m->cand[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_double(c, 3,
				    round(m->cand[i].distance_m * 10) / 10);
		sqlite3_bind_text(c, 4, why, -1, SQLITE_TRANSIENT);
		rc = step_done(w, Q_CANDIDATE, a->ref, err);
	}
	return rc;
}

static void count_match(struct application_result *r, const char *how)
{
	size_t *c = strcmp(how, "id") == 0	    ? &r->by_id
		    : strcmp(how, "address") == 0   ? &r->by_address
		    : strcmp(how, "nearest") == 0   ? &r->by_nearest
		    : strcmp(how, "ambiguous") == 0 ? &r->ambiguous
						    : &r->unmatched;
	(*c)++;
}

static int check_fields(const struct application *a, sl_error *err)
{
	int rc = building_check_id(a->id, err);
	if (rc != 0)
		return rc;
	if (a->applicant == NULL || *a->applicant == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "the applicant is required");
	if ((a->address == NULL || *a->address == '\0') &&
	    (a->building_id == NULL || *a->building_id == '\0'))
		return sl_error_set(err, SL_EINVAL,
				    "an address or a building id is required");
	if (strlen(a->applicant) > TEXT_MAX ||
	    (a->address && strlen(a->address) > TEXT_MAX) ||
	    (a->contact && strlen(a->contact) > TEXT_MAX))
		return sl_error_set(err, SL_EINVAL,
				    "the applicant, address and contact may "
				    "have at most %d bytes each",
				    TEXT_MAX);
	if (isnan(a->lat) != isnan(a->lon))
		return sl_error_set(err, SL_EINVAL,
				    "lat and lon go together: give both or "
				    "neither");
	return 0;
}

static int store_one(struct storer *w, const struct application *a,
		     sl_error *err)
{
	char norm[NORM_MAX], key[NORM_MAX * 2 + 96], dup[80], detail[400];
	struct match m;
	int rc = check_fields(a, err);
	if (rc != 0) {
		sl_error_prefix(err, "%s", a->ref);
		return rc;
	}
	if ((rc = seen_before(w, a, err)) != 0) {
		w->res->unchanged += rc == 1;
		return rc == 1 ? 0 : rc;
	}
	building_address_norm(a->address ? a->address : "", norm, sizeof(norm));
	if ((rc = match(w, a, norm, &m, err)) != 0)
		return rc;
	dup_key(a, &m, norm, key, sizeof(key));
	if ((rc = check_duplicate(w, key, a->id, dup, sizeof(dup), a->ref,
				  err)) != 0)
		return rc;
	sqlite3_stmt *s = w->q[Q_INSERT];
	sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->applicant, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->address ? a->address : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 4, norm, -1, SQLITE_STATIC);
	bind_opt_text(s, 5, a->contact);
	bind_opt_double(s, 6, a->lat);
	bind_opt_double(s, 7, a->lon);
	bind_opt_text(s, 8, m.building);
	sqlite3_bind_text(s, 9, m.how, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)a->applied_at);
	sqlite3_bind_int(s, 11, a->consent_self != 0);
	sqlite3_bind_int(s, 12, a->second_survey != 0);
	sqlite3_bind_int(s, 13, a->in_shelter != 0);
	bind_opt_text(s, 14, dup);
	sqlite3_bind_text(s, 15, a->ref, (int)strcspn(a->ref, ":"),
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 16, a->ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 17, (sqlite3_int64)w->o->now);
	if ((rc = step_done(w, Q_INSERT, a->ref, err)) != 0 ||
	    (rc = candidates(w, a, &m, norm, err)) != 0)
		return rc;
	count_match(w->res, m.how);
	w->res->added++;
	w->res->duplicates += dup[0] != '\0';
	snprintf(detail, sizeof(detail), "%s; matched by %s%s%s%s%s", a->ref,
		 m.how, m.building[0] ? " to " : "", m.building,
		 dup[0] ? "; duplicate of " : "", dup);
	s = w->q[Q_AUDIT];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)w->o->now);
	sqlite3_bind_text(s, 2, w->o->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, "receive", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	return step_done(w, Q_AUDIT, a->ref, err);
}

static int storer_open(struct storer *w, hq_store *st,
		       const struct application *apps, size_t n, sl_error *err)
{
	int rc = 0;
	w->st = st;
	w->db = store_db(st);
	for (int i = 0; i < Q_COUNT && rc == 0; i++)
		rc = i == Q_SEEN_ADD || i == Q_SEEN_GET
			     ? 0
			     : db_prepare(w->db, &w->q[i], q_sql[i], err);
	for (size_t i = 0; i < n && rc == 0 && w->idx == NULL; i++)
		if (!isnan(apps[i].lat))
			rc = building_index_load(st, &w->idx, err);
	return rc;
}

static void storer_close(struct storer *w)
{
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(w->q[i]);
	building_index_free(w->idx);
}

int application_store(hq_store *st, const struct application *apps, size_t n,
		      const struct application_opts *o,
		      struct application_result *res, sl_error *err)
{
	struct storer w = {.o = o, .res = res};
	int rc;
	memset(res, 0, sizeof(*res));
	res->rows = n;
	if ((rc = storer_open(&w, st, apps, n, err)) != 0 ||
	    (rc = store_begin(st, err)) != 0) {
		storer_close(&w);
		return rc;
	}
	rc = load_seen(&w, err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = store_one(&w, &apps[i], err);
	storer_close(&w);
	if (rc == 0 && (rc = store_commit(st, err)) == 0)
		return 0;
	store_rollback(st);
	memset(res, 0, sizeof(*res));
	return rc;
}

/* The next counter id, C000001 up; *out has room for 32 bytes. */
int application_next_id(hq_store *st, char *out, size_t cap, sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(store_db(st), &s, q_sql[Q_NEXT_COUNTER], err);
	if (rc != 0)
		return rc;
	long long next =
		sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
	sqlite3_finalize(s);
	snprintf(out, cap, "C%06lld", next);
	return 0;
}

/* ---- the CSV ---- */

enum {
	AC_ID,
	AC_APPLICANT,
	AC_ADDRESS,
	AC_CONTACT,
	AC_BUILDING,
	AC_LAT,
	AC_LON,
	AC_TIME,
	AC_CONSENT,
	AC_SECOND,
	AC_SHELTER,
	AC_N
};
static const char *const app_names[AC_N][BUILDING_COL_NAMES] = {
	[AC_ID] = {"id", "application_id", "受付番号", "申請番号"},
	[AC_APPLICANT] = {"applicant", "name", "申請者", "氏名"},
	[AC_ADDRESS] = {"address", "住所", "所在地", "被災住家の所在地"},
	[AC_CONTACT] = {"contact", "phone", "連絡先", "電話番号"},
	[AC_BUILDING] = {"building_id", "building", "建物ID", "家屋番号"},
	[AC_LAT] = {"lat", "latitude", "緯度"},
	[AC_LON] = {"lon", "lng", "longitude", "経度"},
	[AC_TIME] = {"applied_at", "time", "申請日時", "受付日時"},
	[AC_CONSENT] = {"consent_self", "self_assessment", "自己判定同意"},
	[AC_SECOND] = {"second_survey", "二次調査", "二次調査希望"},
	[AC_SHELTER] = {"in_shelter", "避難所", "避難所滞在"},
};

struct app_file {
	const char *path;
	const struct application_opts *o;
	int col[AC_N], header_done;
	struct application *a;
	size_t n, cap;
	char **strings;
	size_t nstrings, capstrings;
};

static const char *keep(struct app_file *f, const char *text)
{
	char **s = sl_grow(f->strings, &f->capstrings, f->nstrings + 1,
			   sizeof(*s));
	if (s == NULL)
		return NULL;
	f->strings = s;
	char *copy = sl_strdup(text);
	if (copy)
		f->strings[f->nstrings++] = copy;
	return copy;
}

int application_flag(const char *text, int *out)
{
	static const char *const yes[] = {"1",	  "yes", "y",	 "true",
					  "はい", "有",	 "あり", "○"};
	static const char *const no[] = {"",	  "0",	    "no", "n",
					 "false", "いいえ", "無", "なし"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return SL_EINVAL;
}

static int app_header(struct app_file *f, int line, int n, char **cells,
		      sl_error *err)
{
	building_csv_columns(n, cells, app_names, AC_N, f->col);
	f->header_done = 1;
	static const int need[] = {AC_ID, AC_APPLICANT, AC_TIME};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (f->col[need[i]] < 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: no column '%s' (id, applicant,"
				" applied_at and address or "
				"building_id are needed)",
				f->path, line, app_names[need[i]][0]);
	if (f->col[AC_ADDRESS] < 0 && f->col[AC_BUILDING] < 0)
		return sl_error_set(err, SL_EINVAL,
				    "%s:%d: no column 'address' or "
				    "'building_id'",
				    f->path, line);
	return 0;
}

static int app_row(int line, int n, char **cells, void *arg, sl_error *err)
{
	struct app_file *f = arg;
	const char *v[AC_N];
	char ref[4200];
	if (!f->header_done)
		return app_header(f, line, n, cells, err);
	for (int c = 0; c < AC_N; c++)
		v[c] = f->col[c] >= 0 && f->col[c] < n
			       ? csvfile_normalize(cells[f->col[c]], 1)
			       : "";
	snprintf(ref, sizeof(ref), "%s:%d", f->path, line);
	struct application *grown = sl_grow(f->a, &f->cap, f->n + 1,
					    sizeof(*grown));
	if (grown == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	f->a = grown;
	struct application *a = &f->a[f->n];
	*a = (struct application){.lat = NAN, .lon = NAN};
	int rc = application_time(v[AC_TIME], f->o->utc_offset_min,
				  &a->applied_at, err);
	if (rc != 0) {
		sl_error_prefix(err, "%s: column 'applied_at'", ref);
		return rc;
	}
	static const int flags[] = {AC_CONSENT, AC_SECOND, AC_SHELTER};
	int *dst[] = {&a->consent_self, &a->second_survey, &a->in_shelter};
	for (int k = 0; k < 3; k++)
		if (application_flag(v[flags[k]], dst[k]) != 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s: column '%s': '%s' is not yes or "
				"no (1/0, はい/いいえ, 有/無)",
				ref, app_names[flags[k]][0], v[flags[k]]);
	if ((*v[AC_LAT] || *v[AC_LON]) &&
	    (building_number(v[AC_LAT], -90, 90, &a->lat) != 0 ||
	     building_number(v[AC_LON], -180, 180, &a->lon) != 0))
		return sl_error_set(err, SL_EINVAL,
				    "%s: columns 'lat', 'lon': '%s', '%s' are "
				    "not both numbers in range (lat -90..90, "
				    "lon -180..180)",
				    ref, v[AC_LAT], v[AC_LON]);
	if ((a->id = keep(f, v[AC_ID])) == NULL ||
	    (a->applicant = keep(f, v[AC_APPLICANT])) == NULL ||
	    (a->address = keep(f, v[AC_ADDRESS])) == NULL ||
	    (a->contact = keep(f, v[AC_CONTACT])) == NULL ||
	    (a->building_id = keep(f, v[AC_BUILDING])) == NULL ||
	    (a->ref = keep(f, ref)) == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	f->n++;
	return 0;
}

static int by_app_id(const void *x, const void *y)
{
	const struct application *const *a = x, *const *b = y;
	int c = strcmp((*a)->id, (*b)->id);
	return c ? c : (*a < *b ? -1 : 1);
}

static int unique_ids(const struct app_file *f, sl_error *err)
{
	const struct application **v = sl_malloc((f->n + 1) * sizeof(*v));
	int rc = 0;
	if (v == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n; i++)
		v[i] = &f->a[i];
	qsort(v, f->n, sizeof(*v), by_app_id);
	for (size_t i = 1; i < f->n && rc == 0; i++)
		if (strcmp(v[i - 1]->id, v[i]->id) == 0)
			rc = sl_error_set(err, SL_EINVAL,
					  "%s: id '%s' repeats the application "
					  "of %s",
					  v[i]->ref, v[i]->id, v[i - 1]->ref);
	sl_free(v);
	return rc;
}

int application_import(hq_store *st, const char *path,
		       const unsigned char *data, size_t len,
		       const struct application_opts *o,
		       struct application_result *res, sl_error *err)
{
	struct app_file f = {.path = path, .o = o};
	memset(res, 0, sizeof(*res));
	int rc = csvfile_parse(path, data, len, app_row, &f, err);
	if (rc == 0 && f.n == 0)
		rc = sl_error_set(err, SL_EINVAL, "%s: no applications", path);
	if (rc == 0)
		rc = unique_ids(&f, err);
	if (rc == 0)
		rc = application_store(st, f.a, f.n, o, res, err);
	for (size_t i = 0; i < f.nstrings; i++)
		sl_free(f.strings[i]);
	sl_free(f.strings);
	sl_free(f.a);
	return rc;
}

/* ---- a person's decision ---- */

int application_set_building(hq_store *st, const char *app_id,
			     const char *building_id, const char *who,
			     time_t now, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char detail[256];
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	rc = db_prepare(db, &s,
			"SELECT 1 FROM buildings WHERE building_id = ?1", err);
	if (rc == 0) {
		sqlite3_bind_text(s, 1, building_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW)
			rc = sl_error_set(err, SL_ENOTFOUND, "no building '%s'",
					  building_id);
		sqlite3_finalize(s);
		s = NULL;
	}
	/* a new building means a new triage: back to received */
	if (rc == 0 &&
	    (rc = db_prepare(db, &s,
			     "UPDATE applications SET building_id = ?2,"
			     " matched_by = 'staff', lane = NULL, lane_reason ="
			     " NULL, triaged_at = NULL, state = 'received'"
			     " WHERE application_id = ?1 AND state IN"
			     " ('received','triaged','ready')",
			     err)) == 0) {
		sqlite3_bind_text(s, 1, app_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, building_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = sl_error_set(err, SL_EDB, "%s",
					  sqlite3_errmsg(db));
		else if (sqlite3_changes(db) == 0)
			rc = sl_error_set(err, SL_EINVAL,
					  "no application '%s' waiting for a "
					  "survey (received, triaged or ready)",
					  app_id);
		sqlite3_finalize(s);
		s = NULL;
	}
	if (rc == 0 && (rc = db_prepare(db, &s,
					"DELETE FROM application_candidates"
					" WHERE application_id = ?1",
					err)) == 0) {
		sqlite3_bind_text(s, 1, app_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = sl_error_set(err, SL_EDB, "%s",
					  sqlite3_errmsg(db));
		sqlite3_finalize(s);
	}
	snprintf(detail, sizeof(detail), "building %s", building_id);
	if (rc == 0)
		rc = application_audit(st, now, who, "match", app_id, detail,
				       err);
	if (rc == 0)
		return store_commit(st, err);
	store_rollback(st);
	return rc;
}
