/*
 * certificate.c - り災証明 certificates: issuing with numbers that run
 * 1, 2, 3 ... per municipality without gaps or repeats, the printable
 * certificate, delivery to the applicant, and appeals that send an
 * application back for an interior survey.  It does not grade or
 * approve (survey_field.c and triage.c do; an application reaches
 * 'validated' only with a named approver).
 *
 * Numbering: the next number is the municipality's highest plus one,
 * read and written inside one BEGIN IMMEDIATE transaction.  SQLite lets
 * one writer in at a time, so two issuers cannot read the same highest
 * number, and a transaction that fails writes no number at all; rows are
 * never deleted or renumbered (triggers in migration 6 refuse it).  A
 * re-issue after an appeal takes a new number and marks the old
 * certificate superseded.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "hq.h"

/* ---- issuing ---- */

/* Application ids to issue: the named ones (checked), or every one
 * validated with a grade and an approver, oldest approval first. */
static int candidates(hq_store *st, const char *const *apps, size_t napps,
		      size_t limit, json_t **out, sl_error *err)
{
	static const char all_sql[] =
		"SELECT application_id, grade, approved_by FROM applications"
		" WHERE state = 'validated' AND grade IS NOT NULL"
		" AND approved_by IS NOT NULL"
		" ORDER BY approved_at, application_id";
	static const char one_sql[] =
		"SELECT application_id, grade, approved_by FROM applications"
		" WHERE application_id = ?1 AND state = 'validated'"
		" AND grade IS NOT NULL AND approved_by IS NOT NULL";
	json_t *rows = json_array();
	if (rows == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc = 0;
	if (apps == NULL) {
		rc = picture_query(st, all_sql, NULL, out, err);
		json_decref(rows);
		if (rc == 0 && limit > 0)
			while (json_array_size(*out) > limit)
				json_array_remove(*out,
						  json_array_size(*out) - 1);
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < napps; i++) {
		json_t *one = NULL;
		for (size_t j = 0; j < i && rc == 0; j++)
			if (strcmp(apps[i], apps[j]) == 0)
				rc = sl_error_set(err, SL_EINVAL,
						  "application %s is named "
						  "twice: nothing issued",
						  apps[i]);
		if (rc != 0)
			break;
		rc = picture_query(st, one_sql, apps[i], &one, err);
		if (rc == 0 && json_array_size(one) != 1)
			rc = sl_error_set(err, SL_EINVAL,
					  "application %s is not validated "
					  "with a grade and a named approver: "
					  "nothing issued",
					  apps[i]);
		if (rc == 0 &&
		    json_array_append(rows, json_array_get(one, 0)) != 0)
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
		json_decref(one);
	}
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	*out = rows;
	return 0;
}

static int highest(hq_store *st, const char *municipality, long long *n,
		   sl_error *err)
{
	json_t *rows = NULL;
	int rc = picture_query(st,
			       "SELECT coalesce(max(number), 0) AS n"
			       " FROM certificates WHERE municipality = ?1",
			       municipality, &rows, err);
	if (rc == 0)
		*n = json_integer_value(
			json_object_get(json_array_get(rows, 0), "n"));
	json_decref(rows);
	return rc;
}

static int issue_one(hq_store *st, const char *municipality, json_t *row,
		     long long number, const char *who, time_t now,
		     sl_error *err)
{
	const char *app =
		json_string_value(json_object_get(row, "application_id"));
	const char *grade = json_string_value(json_object_get(row, "grade"));
	const char *approver =
		json_string_value(json_object_get(row, "approved_by"));
	char detail[200];
	snprintf(detail, sizeof(detail),
		 "certificate %s No. %lld: %s, approved by %s", municipality,
		 number, grade, approver);
	int rc = sfield_change(
		st, NULL, err,
		"UPDATE certificates SET superseded_by = ?3"
		" WHERE municipality = ?1 AND application_id = ?2"
		" AND superseded_by IS NULL",
		"tti", municipality, app, number);
	if (rc == 0)
		rc = sfield_change(
			st, NULL, err,
			"INSERT INTO certificates (municipality, number,"
			" application_id, grade, approved_by, issued_by,"
			" issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			"titttti", municipality, number, app, grade, approver,
			who, (long long)now);
	if (rc == 0)
		rc = sfield_change(st, NULL, err,
				   "UPDATE applications SET state = 'issued'"
				   " WHERE application_id = ?1",
				   "t", app);
	if (rc == 0)
		rc = application_audit(st, now, who, "issue", app, detail,
				       err);
	if (rc == 0 &&
	    (json_object_set_new(row, "municipality",
				 json_string(municipality)) != 0 ||
	     json_object_set_new(row, "number", json_integer(number)) != 0))
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	return rc;
}

int cert_issue(hq_store *st, const char *municipality,
	       const char *const *apps, size_t napps, size_t limit,
	       const char *who, time_t now, json_t **issued, sl_error *err)
{
	json_t *rows = NULL;
	long long number;
	int rc = sfield_need_who("issue", who, err);
	if (rc != 0)
		return rc;
	if (municipality == NULL || municipality[0] == '\0')
		return sl_error_set(err, SL_EINVAL,
				    "hq survey issue: the configuration names "
				    "no municipality (numbers run per "
				    "municipality)");
	/* BEGIN IMMEDIATE: the candidates and the highest number are read
	 * under the write lock they are written under */
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = candidates(st, apps, napps, limit, &rows, err)) != 0 ||
	    (rc = highest(st, municipality, &number, err)) != 0)
		goto fail;
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row)
		if ((rc = issue_one(st, municipality, row, ++number, who, now,
				    err)) != 0)
			goto fail;
	if ((rc = store_commit(st, err)) != 0)
		goto fail;
	*issued = rows;
	return 0;
fail:
	store_rollback(st);
	json_decref(rows);
	return rc;
}

/* ---- the printable certificate ---- */

static const char cert_sql[] =
	"SELECT c.number, c.grade, c.approved_by, c.issued_by, c.issued_at,"
	" c.superseded_by, a.application_id, a.applicant, a.address,"
	" a.applied_at, a.lane,"
	" (SELECT loss_milli FROM survey_results r WHERE"
	"  r.application_id = a.application_id AND r.valid = 1"
	"  ORDER BY result_id DESC LIMIT 1)"
	" FROM certificates c JOIN applications a USING (application_id)"
	" WHERE c.municipality = ?1 AND c.number = ?2";

static void put_date(time_t t, FILE *out)
{
	struct tm tm;
	char buf[64];
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y年%m月%d日 (%Y-%m-%d)", &tm);
	fputs(buf, out);
}

static void put_row(const char *label, const char *value, FILE *out)
{
	fputs("<tr><th>", out);
	sfield_html_text(label, out);
	fputs("</th><td>", out);
	sfield_html_text(value, out);
	fputs("</td></tr>\n", out);
}

static const char *lane_method(const char *lane)
{
	if (lane == NULL)
		return "";
	if (strcmp(lane, "photo") == 0)
		return "写真による判定 (photographs)";
	if (strcmp(lane, "self") == 0)
		return "自己判定方式 (self-assessment with photographs)";
	if (strcmp(lane, "interior") == 0)
		return "第2次調査 (interior survey)";
	return "第1次調査 (exterior field survey)";
}

static void page(sqlite3_stmt *s, const char *municipality, FILE *out)
{
	char buf[160];
	long long number = sqlite3_column_int64(s, 0);
	enum grade g = GRADE_COUNT;
	grade_parse((const char *)sqlite3_column_text(s, 1), &g, NULL);
	snprintf(buf, sizeof(buf), "り災証明書 第%lld号", number);
	sfield_html_head(buf, out);
	fputs("<h1>り災証明書</h1>\n<p>Certificate of disaster damage</p>\n"
	      "<table>\n",
	      out);
	snprintf(buf, sizeof(buf), "%s 第%lld号", municipality, number);
	put_row("証明番号 Number", buf, out);
	put_row("申請番号 Application",
		(const char *)sqlite3_column_text(s, 6), out);
	put_row("申請者 Applicant", (const char *)sqlite3_column_text(s, 7),
		out);
	put_row("被災住家の所在地 Address of the house",
		(const char *)sqlite3_column_text(s, 8), out);
	put_row("被害の程度 Damage", grade_name(g), out);
	if (sqlite3_column_type(s, 11) != SQLITE_NULL) {
		long loss = (long)sqlite3_column_int64(s, 11);
		snprintf(buf, sizeof(buf), "%ld.%03ld %%", loss / GRADE_UNIT,
			 loss % GRADE_UNIT);
		put_row("損害割合 Loss ratio", buf, out);
	}
	put_row("判定方法 Method", lane_method((const char *)
						       sqlite3_column_text(s, 10)),
		out);
	fputs("<tr><th>申請日 Applied</th><td>", out);
	put_date((time_t)sqlite3_column_int64(s, 9), out);
	fputs("</td></tr>\n<tr><th>発行日 Issued</th><td>", out);
	put_date((time_t)sqlite3_column_int64(s, 4), out);
	fputs("</td></tr>\n", out);
	put_row("承認 Approved by", (const char *)sqlite3_column_text(s, 2),
		out);
	put_row("発行 Issued by", (const char *)sqlite3_column_text(s, 3),
		out);
	fputs("</table>\n", out);
	if (sqlite3_column_type(s, 5) != SQLITE_NULL)
		fprintf(out,
			"<p><strong>この証明書は第%lld号により再発行されました "
			"(superseded by No. %lld).</strong></p>\n",
			(long long)sqlite3_column_int64(s, 5),
			(long long)sqlite3_column_int64(s, 5));
	fputs("<p>上記のとおり相違ないことを証明します。</p>\n"
	      "</body>\n</html>\n",
	      out);
}

int cert_html(hq_store *st, const char *municipality, long long number,
	      const char *who, time_t now, FILE *out, sl_error *err)
{
	sqlite3_stmt *s;
	char app[128] = "";
	int rc = db_prepare(store_db(st), &s, cert_sql, err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, municipality, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, number);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(app, sizeof(app), "%s", sqlite3_column_text(s, 6));
		page(s, municipality, out);
		rc = fflush(out) != 0 || ferror(out)
			     ? sl_error_set(err, SL_EIO,
					    "cannot write the certificate")
			     : 0;
	} else if (rc == SQLITE_DONE) {
		rc = sl_error_set(err, SL_ENOTFOUND,
				  "no certificate %s No. %lld", municipality,
				  number);
	} else {
		rc = db_error(store_db(st), err, "certificate");
	}
	sqlite3_finalize(s);
	if (rc != 0)
		return rc;
	/* the page carries the applicant's name and address */
	char detail[96];
	snprintf(detail, sizeof(detail), "certificate %s No. %lld printed",
		 municipality, number);
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = application_audit(st, now, who, "print-certificate", app,
				    detail, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		store_rollback(st);
	return rc;
}

/* ---- delivery and appeals ---- */

/* Why marking a delivery changed nothing: no such certificate, or it was
 * delivered before. */
static int why_not_delivered(hq_store *st, const char *municipality,
			     long long number, sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(store_db(st), &s,
			    "SELECT delivered_by FROM certificates"
			    " WHERE municipality = ?1 AND number = ?2",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, municipality, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, number);
	if (sqlite3_step(s) == SQLITE_ROW)
		rc = sl_error_set(err, SL_EINVAL,
				  "certificate %s No. %lld was delivered "
				  "already (by %s)",
				  municipality, number,
				  sqlite3_column_text(s, 0));
	else
		rc = sl_error_set(err, SL_ENOTFOUND,
				  "no certificate %s No. %lld", municipality,
				  number);
	sqlite3_finalize(s);
	return rc;
}

int cert_delivered(hq_store *st, const char *municipality, long long number,
		   const char *how, const char *who, time_t now,
		   sl_error *err)
{
	int changed = 0, rc = sfield_need_who("delivered", who, err);
	if (rc != 0)
		return rc;
	if (strcmp(how, "counter") != 0 && strcmp(how, "mail") != 0 &&
	    strcmp(how, "other") != 0)
		return sl_error_set(err, SL_EINVAL,
				    "--how '%s': counter, mail or other", how);
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	rc = sfield_change(st, &changed, err,
			   "UPDATE certificates SET delivered_at = ?3,"
			   " delivered_by = ?4, delivery = ?5"
			   " WHERE municipality = ?1 AND number = ?2"
			   " AND delivered_at IS NULL",
			   "tiitt", municipality, number, (long long)now, who,
			   how);
	if (rc == 0 && changed == 0)
		rc = why_not_delivered(st, municipality, number, err);
	char detail[96];
	snprintf(detail, sizeof(detail), "certificate %s No. %lld by %s",
		 municipality, number, how);
	if (rc == 0)
		rc = application_audit(st, now, who, "deliver", NULL, detail,
				       err);
	if (rc == 0)
		rc = store_commit(st, err);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int cert_appeal(hq_store *st, const char *app, const char *reason,
		const char *who, time_t now, sl_error *err)
{
	int changed = 0, rc = sfield_need_who("appeal", who, err);
	if (rc == 0 && (reason == NULL || reason[0] == '\0'))
		rc = sl_error_set(err, SL_EINVAL,
				  "hq survey appeal: --reason TEXT is "
				  "required (what the applicant disputes)");
	if (rc != 0 || (rc = store_begin(st, err)) != 0)
		return rc;
	char why[400];
	snprintf(why, sizeof(why), "appeal: %s", reason);
	rc = sfield_change(st, &changed, err,
			   "UPDATE applications SET state = 'appealed',"
			   " lane = 'interior', second_survey = 1,"
			   " lane_reason = ?2, grade = NULL,"
			   " approved_by = NULL, approved_at = NULL"
			   " WHERE application_id = ?1 AND state = 'issued'",
			   "tt", app, why);
	if (rc == 0 && changed == 0)
		rc = sl_error_set(err, SL_EINVAL,
				  "application %s has no certificate issued "
				  "to appeal against (or does not exist)",
				  app);
	if (rc == 0)
		rc = application_audit(st, now, who, "appeal", app, reason,
				       err);
	if (rc == 0)
		rc = store_commit(st, err);
	if (rc != 0)
		store_rollback(st);
	return rc;
}
