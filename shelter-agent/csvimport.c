/*
 * csvimport.c - `shelter-agent import FILE.csv`: status reports typed
 * from paper forms later (docs/csv-import.md).
 *
 * Two layers over common/csvfile.c (decoding, RFC 4180 rows, caps):
 * csvimport_reports() maps the header row onto the `report` flags and
 * builds each row with report_from_args(), so a typed row obeys exactly
 * the rules of the command line; csvimport_file() stores every row in one
 * outbox batch, or none.  Every error names FILE:LINE, the column and the
 * rule.
 *
 * Not a general CSV library and not a spreadsheet reader: one file, one
 * header row, the columns of docs/csv-import.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "csvfile.h"
#include "mem.h"

/* ---- rows to reports ---- */

enum kind { K_NUMBER, K_TIME, K_LIST, K_YESNO, K_TEXT };

/* The columns: the `report` flag, how a cell becomes arguments, and the
 * names a header may use (ASCII names compared case-insensitively). */
static const struct column {
	const char *name; /* canonical, as in the `report` flag */
	const char *flag; /* the argument a cell becomes */
	enum kind kind;
	const char *aliases[6];
} columns[] = {
	{"time", "--time", K_TIME, {"日時", "報告日時"}},
	{"total", "--total", K_NUMBER, {"避難者数", "人数", "総数"}},
	{"infants", "--infants", K_NUMBER, {"乳幼児"}},
	{"children", "--children", K_NUMBER, {"子ども", "子供", "こども"}},
	{"elderly", "--elderly", K_NUMBER, {"高齢者"}},
	{"care", "--care", K_NUMBER, {"要介護者", "要介護"}},
	{"pregnant", "--pregnant", K_NUMBER, {"妊婦", "妊産婦"}},
	{"disabled", "--disabled", K_NUMBER, {"障害者", "障がい者"}},
	{"medical", "--medical", K_NUMBER, {"要医療者", "医療"}},
	{"foreign", "--foreign", K_NUMBER, {"外国人", "外国語"}},
	{"pets", "--pets", K_NUMBER, {"ペット"}},
	{"needs", "--need", K_LIST, {"need", "必要物資", "不足物資"}},
	{"stock", "--stock", K_LIST, {"在庫", "備蓄"}},
	{"power", "--power", K_YESNO, {"電気", "電力"}},
	{"water", "--water", K_YESNO, {"水道"}},
	{"toilets", "--toilets", K_NUMBER, {"トイレ", "使用可能トイレ数"}},
	{"note", "--note", K_TEXT, {"備考", "メモ"}},
};
#define NCOLUMNS  ((int)(sizeof(columns) / sizeof(columns[0])))
#define COL_TIME  0
#define COL_TOTAL 1

/* Where a report's error lands: a JSON Pointer, then the column. */
static const struct {
	const char *pointer, *column;
} error_columns[] = {
	{"/headcount/total", "total"},
	{"/headcount/infants", "infants"},
	{"/headcount/children", "children"},
	{"/headcount/elderly", "elderly"},
	{"/headcount/care", "care"},
	{"/headcount/pregnant", "pregnant"},
	{"/headcount/disabled", "disabled"},
	{"/headcount/medical", "medical"},
	{"/headcount/foreign", "foreign"},
	{"/headcount/pets", "pets"},
	{"/needs", "needs"},
	{"/stock", "stock"},
	{"/lifelines/power", "power"},
	{"/lifelines/water", "water"},
	{"/lifelines/toilets_usable", "toilets"},
	{"/note", "note"},
	{"/time", "time"},
};

/* Most entries one `needs` or `stock` cell may list (the schema's). */
#define MAX_LIST 200
#define MAX_ARGS (3 + 2 * NCOLUMNS + 4 * MAX_LIST)

struct import {
	const struct agent_config *cfg;
	const char *path;
	csvimport_report_fn fn;
	void *arg;
	long long count;
	int have_header, ncols;
	int col[CSVIMPORT_MAX_FIELDS]; /* field -> columns[] */
	char name[NCOLUMNS][72];       /* column -> header text */
	char *argv[MAX_ARGS + 1];
	char timebuf[40];
	const char *time_text; /* the row's time cell as typed */
};

static int column_lookup(const char *name)
{
	for (int i = 0; i < NCOLUMNS; i++) {
		if (strcasecmp(name, columns[i].name) == 0)
			return i;
		for (int k = 0; columns[i].aliases[k]; k++)
			if (strcasecmp(name, columns[i].aliases[k]) == 0)
				return i;
	}
	return -1;
}

/* "column '人数' (total)" or "column 'total'". */
static const char *column_label(const struct import *im, int c, char *buf,
				size_t size)
{
	if (strcmp(im->name[c], columns[c].name) == 0)
		snprintf(buf, size, "column '%s'", im->name[c]);
	else
		snprintf(buf, size, "column '%s' (%s)", im->name[c],
			 columns[c].name);
	return buf;
}

static int read_header(struct import *im, int line, int n, char **cells,
		       sl_error *err)
{
	int seen[NCOLUMNS];
	for (int c = 0; c < NCOLUMNS; c++)
		seen[c] = -1;
	for (int i = 0; i < n; i++) {
		const char *name = csvfile_normalize(cells[i], 1);
		if (*name == '\0')
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: column %d of the header "
					    "has no name",
					    im->path, line, i + 1);
		int c = column_lookup(name);
		if (c < 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: unknown column '%.64s' (column "
				"%d): docs/csv-import.md lists the "
				"column names",
				im->path, line, name, i + 1);
		if (seen[c] >= 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: columns %d and %d both give "
				"'%s'",
				im->path, line, seen[c] + 1, i + 1,
				columns[c].name);
		seen[c] = i;
		im->col[i] = c;
		snprintf(im->name[c], sizeof(im->name[c]), "%s", name);
	}
	for (int c = COL_TIME; c <= COL_TOTAL; c++)
		if (seen[c] < 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: the header has no '%s' column "
				"(%s)",
				im->path, line, columns[c].name,
				columns[c].aliases[0]);
	im->ncols = n;
	im->have_header = 1;
	return 0;
}

/* Reads 1..max digits (at least min) as a number; advances *s. */
static int digits(const char **s, int min, int max, int *out)
{
	int v = 0, n = 0;
	while (n < max && **s >= '0' && **s <= '9') {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	*out = v;
	return n >= min;
}

/*
 * Local forms without an offset, as spreadsheets write them:
 * "2024-01-09 18:00", "2024/1/9 18:00:30", "2024-01-09T18:00".  They mean
 * Japan Standard Time; becomes RFC 3339 with +09:00.  Returns 0 when the
 * text is not such a form (it is then passed on unchanged).
 */
static int local_time(const char *s, char out[40])
{
	int y, mo, d, h, mi, sec = 0;
	char sep;
	if (!digits(&s, 4, 4, &y) || (*s != '-' && *s != '/'))
		return 0;
	sep = *s++;
	if (!digits(&s, 1, 2, &mo) || *s++ != sep || !digits(&s, 1, 2, &d) ||
	    (*s != ' ' && *s != 'T'))
		return 0;
	s++;
	if (!digits(&s, 1, 2, &h) || *s++ != ':' || !digits(&s, 2, 2, &mi))
		return 0;
	if (*s == ':') {
		s++;
		if (!digits(&s, 2, 2, &sec))
			return 0;
	}
	if (*s != '\0')
		return 0;
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d+09:00", y, mo, d, h,
		 mi, sec);
	return 1;
}

static const char *yes_no(char *s)
{
	static const char *const yes[] = {"あり", "有", "○", "◯"};
	static const char *const no[] = {"なし", "無", "×", "✕"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return "yes";
		if (strcmp(s, no[i]) == 0)
			return "no";
	}
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* The column an error text is about, or -1: "--flag: ..." from
 * report_from_args, or the first JSON Pointer of a stored-report check. */
static int error_column(const char *text, size_t *skip)
{
	*skip = 0;
	if (strncmp(text, "--", 2) == 0) {
		size_t n = strcspn(text + 2, ": ");
		for (int c = 0; c < NCOLUMNS; c++) {
			const char *flag = columns[c].flag + 2;
			if ((strlen(flag) == n &&
			     strncmp(text + 2, flag, n) == 0) ||
			    (strlen(columns[c].name) == n &&
			     strncmp(text + 2, columns[c].name, n) == 0)) {
				if (text[2 + n] == ':')
					*skip = 2 + n + 1 +
						(text[3 + n] == ' ');
				return c;
			}
		}
		return -1;
	}
	const char *best = NULL;
	int col = -1;
	for (size_t i = 0; i < sizeof(error_columns) / sizeof(error_columns[0]);
	     i++) {
		const char *at = strstr(text, error_columns[i].pointer);
		if (at && (best == NULL || at < best)) {
			best = at;
			col = column_lookup(error_columns[i].column);
		}
	}
	return col;
}

/* Prefixes err with FILE:LINE and, when known, the column. */
static void locate_error(const struct import *im, int line, sl_error *err)
{
	char label[160];
	size_t skip;
	if (err == NULL)
		return;
	int c = error_column(err->text, &skip);
	if (c == COL_TIME && im->time_text && strstr(err->text, ": pattern:")) {
		/* The schema's regular expression helps nobody at a desk. */
		sl_error_set(err, SL_EINVAL,
			     "%s:%d: %s: '%.64s' is not a date and time: write "
			     "2024-01-09T18:00:00+09:00, or 2024/1/9 18:00 for "
			     "Japan time",
			     im->path, line,
			     column_label(im, c, label, sizeof(label)),
			     im->time_text);
		return;
	}
	if (c >= 0 && im->name[c][0] != '\0') {
		memmove(err->text, err->text + skip,
			strlen(err->text + skip) + 1);
		sl_error_prefix(err, "%s:%d: %s", im->path, line,
				column_label(im, c, label, sizeof(label)));
	} else {
		sl_error_prefix(err, "%s:%d", im->path, line);
	}
}

static int add_arg(struct import *im, int *argc, int c, char *value,
		   sl_error *err, int line)
{
	if (*argc + 2 > MAX_ARGS) /* cannot happen: MAX_LIST is checked */
		return sl_error_set(err, SL_EINVAL, "%s:%d: too many arguments",
				    im->path, line);
	/* Flags are string literals so that nothing getopt might still
	 * point at from the previous row lives in reused cell memory. */
	im->argv[(*argc)++] = (char *)columns[c].flag;
	im->argv[(*argc)++] = value;
	return 0;
}

/* `needs` and `stock`: entries separated by ';' or line breaks. */
static int add_list(struct import *im, int *argc, int c, char *cell,
		    sl_error *err, int line)
{
	char *save = NULL, label[160];
	int entries = 0;
	for (char *e = strtok_r(cell, ";\r\n", &save); e;
	     e = strtok_r(NULL, ";\r\n", &save)) {
		e = csvfile_normalize(e, 0);
		if (*e == '\0')
			continue;
		if (++entries > MAX_LIST)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: %s: more than %d entries", im->path,
				line, column_label(im, c, label, sizeof(label)),
				MAX_LIST);
		int rc = add_arg(im, argc, c, e, err, line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_row(struct import *im, int line, int n, char **cells,
		    sl_error *err)
{
	char label[160];
	int argc = 0, empty = 1;

	for (int i = 0; i < n; i++) {
		const int c = i < im->ncols ? im->col[i] : -1;
		cells[i] = csvfile_normalize(
			cells[i], c < 0 || columns[c].kind != K_TEXT);
		empty &= cells[i][0] == '\0';
	}
	if (empty)
		return 0; /* spreadsheets write rows of empty cells */
	if (n != im->ncols)
		return sl_error_set(err, SL_EINVAL,
				    "%s:%d: %d fields, but the header has %d "
				    "columns",
				    im->path, line, n, im->ncols);
	im->time_text = NULL;
	im->argv[argc++] = (char *)"report";
	/* A row copied from paper says where it was written in shelter_id,
	 * not in this agent's current fix. */
	im->argv[argc++] = (char *)"--no-position";
	for (int i = 0; i < n; i++) {
		const int c = im->col[i];
		char *v = cells[i];
		int rc = 0;
		if (*v == '\0') {
			if (c == COL_TIME || c == COL_TOTAL)
				return sl_error_set(
					err, SL_EINVAL,
					"%s:%d: %s: empty, but "
					"every row needs it",
					im->path, line,
					column_label(im, c, label,
						     sizeof(label)));
			continue;
		}
		switch (columns[c].kind) {
		case K_TIME:
			im->time_text = v;
			if (local_time(v, im->timebuf))
				v = im->timebuf;
			rc = add_arg(im, &argc, c, v, err, line);
			break;
		case K_LIST:
			rc = add_list(im, &argc, c, v, err, line);
			break;
		case K_YESNO:
			rc = add_arg(im, &argc, c, (char *)yes_no(v), err,
				     line);
			break;
		case K_NUMBER:
		case K_TEXT:
			rc = add_arg(im, &argc, c, v, err, line);
			break;
		}
		if (rc != 0)
			return rc;
	}
	im->argv[argc] = NULL;
	json_t *msg = report_from_args(im->cfg, argc, im->argv, err);
	if (msg == NULL) {
		locate_error(im, line, err);
		return SL_EINVAL;
	}
	int rc = im->fn(line, msg, im->arg, err);
	json_decref(msg);
	if (rc != 0) {
		locate_error(im, line, err);
		return rc;
	}
	im->count++;
	return 0;
}

static int on_import_row(int line, int n, char **cells, void *arg,
			 sl_error *err)
{
	struct import *im = arg;
	if (!im->have_header)
		return read_header(im, line, n, cells, err);
	return read_row(im, line, n, cells, err);
}

int csvimport_reports(const struct agent_config *cfg, const char *path,
		      const unsigned char *data, size_t len,
		      csvimport_report_fn fn, void *arg, long long *count,
		      sl_error *err)
{
	struct import *im = sl_calloc(1, sizeof(*im));
	if (im == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	im->cfg = cfg;
	im->path = path;
	im->fn = fn;
	im->arg = arg;
	int rc = csvfile_parse(path, data, len, on_import_row, im, err);
	if (rc == 0 && !im->have_header)
		rc = sl_error_set(err, SL_EINVAL, "%s: empty: no header row",
				  path);
	if (count)
		*count = im->count;
	sl_free(im);
	return rc;
}

/* ---- into the outbox ---- */

struct store {
	outbox *ob;
	const struct report_rules *rules;
	long long first, n;
};

static int store_one(int line, json_t *msg, void *arg, sl_error *err)
{
	struct store *s = arg;
	long long seq;
	(void)line;
	int rc = outbox_append(s->ob, msg, report_check, (void *)s->rules, &seq,
			       err);
	if (rc != 0)
		return rc;
	if (s->n++ == 0)
		s->first = seq;
	return 0;
}

int csvimport_file(const struct agent_config *cfg, outbox *ob,
		   const struct report_rules *rules, const char *path,
		   long long *first_seq, long long *count, sl_error *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	struct store s = {ob, rules, 0, 0};

	*first_seq = 0;
	*count = 0;
	int rc = csvfile_read(path, &data, &len, err);
	if (rc != 0)
		return rc;
	if ((rc = outbox_begin(ob, err)) != 0) {
		sl_free(data);
		return rc;
	}
	rc = csvimport_reports(cfg, path, data, len, store_one, &s, NULL, err);
	sl_free(data);
	if (rc == 0 && s.n == 0)
		rc = sl_error_set(err, SL_EINVAL,
				  "%s: no reports: only a header row", path);
	if (rc != 0) {
		outbox_rollback(ob);
		return rc;
	}
	if ((rc = outbox_commit(ob, err)) != 0)
		return rc;
	*first_seq = s.first;
	*count = s.n;
	return 0;
}
