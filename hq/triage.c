/*
 * triage.c - which lane each り災証明 application takes, and why: a
 * house the imagery shows destroyed is judged 全壊 at a desk from the
 * photos; slight damage with the applicant's consent is self-assessed
 * and issued the same day; a requested second survey goes inside the
 * house; everything else waits for a field team.  Every decision keeps
 * its reason, and nothing moves towards a certificate without a named
 * person's approval, both in survey_audit.
 *
 * The rules follow the Cabinet Office's 運用指針 as municipalities apply
 * it (docs/operations.md, "Damage survey").  Not here: planning the field
 * survey, grading, issuing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "hq.h"

static const char *const lane_names[] = {
	[TRIAGE_PHOTO] = "photo",
	[TRIAGE_SELF] = "self",
	[TRIAGE_FIELD] = "field",
	[TRIAGE_INTERIOR] = "interior",
};

const char *triage_lane_name(enum triage_lane l)
{
	return lane_names[l];
}

static void decide(struct triage_decision *out, enum triage_lane lane,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void decide(struct triage_decision *out, enum triage_lane lane,
		   const char *fmt, ...)
{
	va_list ap;
	out->lane = lane;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

void triage_decide(const struct triage_input *in, double threshold,
		   struct triage_decision *out)
{
	int confident = in->destroyed_conf >= threshold;
	if (in->building_id && confident) {
		decide(out, TRIAGE_PHOTO,
		       "imagery shows %s destroyed, confidence %.2f >= %.2f "
		       "(%s): 全壊 from photos at a desk%s",
		       in->building_id, in->destroyed_conf, threshold,
		       in->destroyed_feature ? in->destroyed_feature : "?",
		       in->second_survey ? "; no second survey: 全壊 is the "
					   "highest grade"
					 : "");
		return;
	}
	if (in->second_survey) {
		decide(out, TRIAGE_INTERIOR,
		       "the applicant asked for a second (interior) survey");
		return;
	}
	if (in->building_id == NULL) {
		decide(out, TRIAGE_FIELD,
		       "no building matched: a team finds the house");
		return;
	}
	if (in->features == 0) {
		decide(out, TRIAGE_FIELD, "no imagery of %s", in->building_id);
		return;
	}
	if (in->light == in->features && in->consent_self) {
		decide(out, TRIAGE_SELF,
		       "imagery shows %s with no or minor damage only (%lld "
		       "feature%s) and the applicant consented: "
		       "self-assessment",
		       in->building_id, in->light,
		       in->features == 1 ? "" : "s");
		return;
	}
	if (in->light == in->features) {
		decide(out, TRIAGE_FIELD,
		       "imagery shows %s with no or minor damage, but the "
		       "applicant did not consent to self-assessment",
		       in->building_id);
		return;
	}
	if (in->destroyed_conf >= 0) {
		decide(out, TRIAGE_FIELD,
		       "imagery shows %s destroyed, but confidence %.2f < %.2f",
		       in->building_id, in->destroyed_conf, threshold);
		return;
	}
	decide(out, TRIAGE_FIELD, "imagery shows %s with %s", in->building_id,
	       in->major ? "major damage" : "unclassified damage");
}

/* Per application: its building's imagery summed up. */
static const char *const pending_sql =
	"SELECT a.application_id, a.building_id, a.consent_self,"
	" a.second_survey, count(d.feature_id),"
	" count(CASE WHEN d.damage IN ('no-damage','minor-damage') THEN 1 END),"
	" count(CASE WHEN d.damage = 'major-damage' THEN 1 END),"
	" count(CASE WHEN d.damage = 'un-classified' THEN 1 END),"
	" max(CASE WHEN d.damage = 'destroyed' THEN d.confidence END),"
	" (SELECT source || '/' || feature_id FROM drone_features x"
	"   WHERE x.building_id = a.building_id AND x.damage = 'destroyed'"
	"   ORDER BY confidence DESC, source, feature_id LIMIT 1),"
	" a.lane, a.lane_reason"
	" FROM applications a LEFT JOIN drone_features d"
	"  ON d.building_id = a.building_id"
	" WHERE a.duplicate_of IS NULL AND a.matched_by <> 'ambiguous'"
	"  AND (a.state = 'received' OR (?1 AND a.state IN ('triaged','ready')"
	/* a person's decision is not undone by a rule */
	"   AND NOT EXISTS (SELECT 1 FROM survey_audit s WHERE"
	"    s.application_id = a.application_id AND s.action = 'reject')))"
	" GROUP BY a.application_id ORDER BY a.application_id";

static int step(sqlite3 *db, sqlite3_stmt *s, sl_error *err)
{
	int rc = sqlite3_step(s) == SQLITE_DONE
			 ? 0
			 : sl_error_set(err, SL_EDB, "%s", sqlite3_errmsg(db));
	sqlite3_reset(s);
	return rc;
}

static int apply(sqlite3 *db, sqlite3_stmt *set, sqlite3_stmt *audit,
		 const char *id, const struct triage_decision *d,
		 const char *who, time_t now, sl_error *err)
{
	int field = d->lane == TRIAGE_FIELD || d->lane == TRIAGE_INTERIOR;
	sqlite3_bind_text(set, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(set, 2, triage_lane_name(d->lane), -1, SQLITE_STATIC);
	sqlite3_bind_text(set, 3, d->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(set, 4, (sqlite3_int64)now);
	sqlite3_bind_text(set, 5, field ? "ready" : "triaged", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(audit, 1, (sqlite3_int64)now);
	sqlite3_bind_text(audit, 2, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(audit, 3, "triage", -1, SQLITE_STATIC);
	sqlite3_bind_text(audit, 4, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(audit, 5, d->reason, -1, SQLITE_TRANSIENT);
	int rc = step(db, set, err);
	return rc ? rc : step(db, audit, err);
}

int triage_run(hq_store *st, double threshold, int again, const char *who,
	       time_t now, struct triage_counts *c, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *q = NULL, *set = NULL, *audit = NULL, *held = NULL;
	int rc;
	memset(c, 0, sizeof(*c));
	if (!(threshold >= 0 && threshold <= 1))
		return sl_error_set(err, SL_EINVAL,
				    "the threshold must be from 0 to 1");
	if ((rc = db_prepare(db, &q, pending_sql, err)) != 0 ||
	    (rc = db_prepare(db, &set,
			     "UPDATE applications SET lane = ?2, lane_reason ="
			     " ?3, triaged_at = ?4, state = ?5"
			     " WHERE application_id = ?1",
			     err)) != 0 ||
	    (rc = db_prepare(db, &audit,
			     "INSERT INTO survey_audit (at, who, action,"
			     " application_id, detail) VALUES (?1, ?2, ?3, ?4,"
			     " ?5)",
			     err)) != 0 ||
	    (rc = db_prepare(db, &held,
			     "SELECT count(*) FROM applications WHERE state ="
			     " 'received' AND (duplicate_of IS NOT NULL OR"
			     " matched_by = 'ambiguous')",
			     err)) != 0 ||
	    (rc = store_begin(st, err)) != 0)
		goto out;
	sqlite3_bind_int(q, 1, again != 0);
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		struct triage_input in = {
			.building_id = (const char *)sqlite3_column_text(q, 1),
			.consent_self = sqlite3_column_int(q, 2),
			.second_survey = sqlite3_column_int(q, 3),
			.features = sqlite3_column_int64(q, 4),
			.light = sqlite3_column_int64(q, 5),
			.major = sqlite3_column_int64(q, 6),
			.unclassified = sqlite3_column_int64(q, 7),
			.destroyed_conf =
				sqlite3_column_type(q, 8) == SQLITE_NULL
					? -1
					: sqlite3_column_double(q, 8),
			.destroyed_feature =
				(const char *)sqlite3_column_text(q, 9),
		};
		struct triage_decision d;
		const char *lane = (const char *)sqlite3_column_text(q, 10);
		const char *why = (const char *)sqlite3_column_text(q, 11);
		triage_decide(&in, threshold, &d);
		if (lane && why &&
		    strcmp(lane, triage_lane_name(d.lane)) == 0 &&
		    strcmp(why, d.reason) == 0) {
			c->unchanged++;
			continue;
		}
		rc = apply(db, set, audit,
			   (const char *)sqlite3_column_text(q, 0), &d, who,
			   now, err);
		c->lanes[d.lane]++;
	}
	if (rc == 0 && sqlite3_step(held) == SQLITE_ROW)
		c->held = (size_t)sqlite3_column_int64(held, 0);
	if (rc == 0)
		rc = store_commit(st, err);
	else
		store_rollback(st);
out:
	sqlite3_finalize(q);
	sqlite3_finalize(set);
	sqlite3_finalize(audit);
	sqlite3_finalize(held);
	return rc;
}

/* Moves one application from 'triaged' in the photo or self lane. */
static int desk(hq_store *st, const char *app_id, const char *who,
		const char *sql, const char *action, const char *detail,
		time_t now, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	if (who == NULL || *who == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "a named person must decide (--by NAME)");
	int rc = store_begin(st, err);
	if (rc == 0 && (rc = db_prepare(db, &s, sql, err)) == 0) {
		sqlite3_bind_text(s, 1, app_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, who, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
		if (sqlite3_bind_parameter_count(s) >= 4)
			sqlite3_bind_text(s, 4, detail, -1, SQLITE_STATIC);
		rc = step(db, s, err);
		if (rc == 0 && sqlite3_changes(db) == 0)
			rc = sl_error_set(
				err, SL_EINVAL,
				"application '%s' is not waiting for "
				"a desk decision (photo or self lane, "
				"state triaged)",
				app_id);
		sqlite3_finalize(s);
	}
	if (rc == 0)
		rc = application_audit(st, now, who, action, app_id, detail,
				       err);
	if (rc == 0)
		return store_commit(st, err);
	store_rollback(st);
	return rc;
}

int triage_approve(hq_store *st, const char *app_id, const char *who,
		   time_t now, sl_error *err)
{
	return desk(st, app_id, who,
		    "UPDATE applications SET state = 'validated',"
		    " grade = CASE lane WHEN 'photo' THEN 'zenkai'"
		    "  ELSE 'ichibu_sonkai' END,"
		    " approved_by = ?2, approved_at = ?3"
		    " WHERE application_id = ?1 AND state = 'triaged'"
		    " AND lane IN ('photo','self')",
		    "approve", "desk approval of the lane's grade", now, err);
}

int triage_reject(hq_store *st, const char *app_id, const char *who,
		  const char *reason, time_t now, sl_error *err)
{
	char detail[400];
	if (reason == NULL || *reason == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "a reason is required (--reason TEXT)");
	snprintf(detail, sizeof(detail), "to field survey: %s", reason);
	return desk(st, app_id, who,
		    "UPDATE applications SET lane = 'field', state = 'ready',"
		    " lane_reason = ?4 || ' (by ' || ?2 || ')', triaged_at = ?3"
		    " WHERE application_id = ?1 AND state = 'triaged'"
		    " AND lane IN ('photo','self')",
		    "reject", detail, now, err);
}
