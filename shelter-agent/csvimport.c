/*
 * csvimport.c - `shelter-agent import FILE.csv`: status reports typed
 * from paper forms later (docs/csv-import.md).
 *
 * Three layers, each usable alone: csvimport_parse() decodes the file
 * (UTF-8, UTF-8 with BOM, or Shift_JIS/CP932 through iconv) and splits it
 * into rows with libcsv in strict mode (RFC 4180 quoting); csvimport_
 * reports() maps the header row onto the `report` flags and builds each
 * row with report_from_args(), so a typed row obeys exactly the rules of
 * the command line; csvimport_file() stores every row in one outbox
 * batch, or none.  Every error names FILE:LINE, the column and the rule.
 *
 * Not a general CSV library and not a spreadsheet reader: one file, one
 * header row, the columns of docs/csv-import.md.
 */
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "mem.h"

/* ---- decoding ---- */

/*
 * Length of the valid UTF-8 prefix of s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF); len when all of it is valid.
 */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			unsigned char b = s[i + k];
			if (b < (k == 1 ? lo : 0x80) ||
			    b > (k == 1 ? hi : 0xBF))
				return i;
		}
		i += n + 1;
	}
	return len;
}

/* 1-based line of byte `off`; a line ends at LF, CR LF or a lone CR. */
static int line_at(const unsigned char *s, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		if (s[i] == '\n' ||
		    (s[i] == '\r' && (i + 1 >= off || s[i + 1] != '\n')))
			line++;
	return line;
}

/*
 * Converts CP932 to UTF-8 into a new buffer (*out, owned by the caller).
 * On a byte sequence CP932 does not define, returns SL_EINVAL with *bad
 * set to its offset.
 */
static int from_cp932(const unsigned char *in, size_t len, char **out,
		      size_t *outlen, size_t *bad, sl_error *err)
{
	/* One CP932 byte becomes at most 3 UTF-8 bytes (half-width kana). */
	size_t cap = 3 * len + 1;
	char *buf = sl_malloc(cap);
	if (buf == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	iconv_t cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1) {
		sl_free(buf);
		return sl_error_set(err, SL_EUNSUPPORTED,
				    "this system's iconv cannot convert from "
				    "CP932 (Shift_JIS): %s",
				    strerror(errno));
	}
	char *ip = (char *)in, *op = buf;
	size_t ileft = len, oleft = cap;
	size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
	iconv_close(cd);
	if (r == (size_t)-1) {
		*bad = (size_t)((const unsigned char *)ip - in);
		sl_free(buf);
		return SL_EINVAL;
	}
	*out = buf;
	*outlen = cap - oleft;
	return 0;
}

/*
 * Decodes `data` to UTF-8: *text points into data, or to a new buffer
 * stored in *owned as well (release with sl_free).
 */
static int decode(const char *path, const unsigned char *data, size_t len,
		  const unsigned char **text, size_t *textlen, char **owned,
		  sl_error *err)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	size_t ok;

	*owned = NULL;
	if (len > CSVIMPORT_MAX_BYTES)
		return sl_error_set(err, SL_EINVAL,
				    "%s: the file is %zu bytes, more than the "
				    "%d allowed: split it",
				    path, len, CSVIMPORT_MAX_BYTES);
	if (len >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) ||
			 (data[0] == 0xFE && data[1] == 0xFF)))
		return sl_error_set(
			err, SL_EINVAL,
			"%s: UTF-16 (Excel's \"Unicode text\") is not "
			"read: save the file as \"CSV UTF-8\"",
			path);
	if (len >= 3 && memcmp(data, bom, 3) == 0) {
		ok = utf8_valid_prefix(data + 3, len - 3);
		if (ok != len - 3)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: not valid UTF-8 although the file "
				"starts with a UTF-8 BOM (byte 0x%02X at "
				"offset %zu)",
				path, line_at(data, ok + 3), data[ok + 3],
				ok + 3);
		*text = data + 3;
		*textlen = len - 3;
	} else if ((ok = utf8_valid_prefix(data, len)) == len) {
		*text = data;
		*textlen = len;
	} else {
		size_t bad = 0;
		int rc = from_cp932(data, len, owned, textlen, &bad, err);
		if (rc == SL_EINVAL)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: neither UTF-8 (byte 0x%02X at offset "
				"%zu) nor Shift_JIS/CP932 (byte 0x%02X at line "
				"%d, offset %zu): save the file as \"CSV "
				"UTF-8\"",
				path, line_at(data, ok), data[ok], ok,
				bad < len ? data[bad] : 0, line_at(data, bad),
				bad);
		if (rc != 0)
			return rc;
		*text = (const unsigned char *)*owned;
	}
	const unsigned char *nul =
		*textlen ? memchr(*text, '\0', *textlen) : NULL;
	if (nul != NULL) {
		int line = line_at(*text, (size_t)(nul - *text));
		sl_free(*owned);
		*owned = NULL;
		return sl_error_set(err, SL_EINVAL,
				    "%s:%d: NUL byte: not a text file", path,
				    line);
	}
	return 0;
}

/* ---- rows ---- */

struct parse {
	const char *path;
	csvimport_row_fn fn;
	void *arg;
	sl_error *err;
	int rc;	      /* first failure; callbacks do nothing after it */
	int line;     /* physical line being fed */
	int row_line; /* line the current row started on */
	int in_row;
	size_t row_bytes;
	long rows;
	/* Cells of the current row, NUL-terminated, back to back in buf. */
	char *buf;
	size_t used, bufsize;
	int ncells, extra;
	char *cells[CSVIMPORT_MAX_FIELDS];
	/* The first row, kept to name columns in errors. */
	char *header;
	int nheader;
	const char *hcells[CSVIMPORT_MAX_FIELDS];
};

/* "column 'note'" or "field 18" for the cell being read. */
static void field_name(const struct parse *p, int idx, char *out, size_t size)
{
	if (idx < p->nheader && p->hcells[idx][0] != '\0')
		snprintf(out, size, "column '%.64s'", p->hcells[idx]);
	else
		snprintf(out, size, "field %d", idx + 1);
}

static void on_field(void *s, size_t len, void *data)
{
	struct parse *p = data;
	if (p->rc != 0)
		return;
	if (p->ncells == CSVIMPORT_MAX_FIELDS) {
		p->extra++;
		return;
	}
	/* Cannot overflow: a row is at most CSVIMPORT_MAX_ROW_BYTES bytes
	 * of input, and unquoting only shortens it. */
	if (p->used + len + 1 > p->bufsize) {
		p->rc = sl_error_set(p->err, SL_EINVAL, "%s:%d: row too long",
				     p->path, p->row_line);
		return;
	}
	char *cell = p->buf + p->used;
	if (len > 0)
		memcpy(cell, s, len);
	cell[len] = '\0';
	p->used += len + 1;
	p->cells[p->ncells++] = cell;
}

static int keep_header(struct parse *p)
{
	p->header = sl_malloc(p->used ? p->used : 1);
	if (p->header == NULL)
		return sl_error_set(p->err, SL_ENOMEM, "out of memory");
	memcpy(p->header, p->buf, p->used);
	for (int i = 0; i < p->ncells; i++)
		p->hcells[i] = p->header + (p->cells[i] - p->buf);
	p->nheader = p->ncells;
	return 0;
}

static void on_row(int c, void *data)
{
	struct parse *p = data;
	(void)c;
	if (p->rc != 0)
		return;
	p->in_row = 0;
	if (p->extra > 0) {
		p->rc = sl_error_set(
			p->err, SL_EINVAL,
			"%s:%d: %d fields, more than the %d allowed", p->path,
			p->row_line, p->ncells + p->extra,
			CSVIMPORT_MAX_FIELDS);
		return;
	}
	if (++p->rows > CSVIMPORT_MAX_ROWS + 1) {
		p->rc = sl_error_set(
			p->err, SL_EINVAL,
			"%s:%d: more than %d rows after the header: "
			"split the file",
			p->path, p->row_line, CSVIMPORT_MAX_ROWS);
		return;
	}
	p->rc = p->fn(p->row_line, p->ncells, p->cells, p->arg, p->err);
	if (p->rc == 0 && p->rows == 1)
		p->rc = keep_header(p);
	p->ncells = 0;
	p->used = 0;
}

/* Describes the strict-mode error libcsv stopped at: text[at]. */
static int quote_error(struct parse *p, const unsigned char *chunk, size_t at)
{
	char where[96];
	size_t k = at;
	while (k > 0 && (chunk[k - 1] == ' ' || chunk[k - 1] == '\t'))
		k--;
	field_name(p, p->ncells, where, sizeof(where));
	if (k > 0 && chunk[k - 1] == '"')
		return sl_error_set(
			p->err, SL_EINVAL,
			"%s:%d: %s: text after the closing '\"' of a "
			"quoted field (inside quotes write a '\"' "
			"as '\"\"')",
			p->path, p->line, where);
	return sl_error_set(p->err, SL_EINVAL,
			    "%s:%d: %s: '\"' inside a field that does not "
			    "start with '\"' (quote the whole field and write "
			    "the '\"' as '\"\"')",
			    p->path, p->line, where);
}

/* Feeds the text to libcsv one physical line at a time, so that every
 * row and error has its line number and no row outgrows its cap. */
static int split_rows(struct parse *p, const unsigned char *text, size_t len)
{
	struct csv_parser csv;
	size_t pos = 0;

	if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return sl_error_set(p->err, SL_ENOMEM, "out of memory");
	p->line = 1;
	while (pos < len && p->rc == 0) {
		size_t end = pos;
		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		if (end < len && text[end] == '\r' && end + 1 < len &&
		    text[end + 1] == '\n')
			end++;
		if (end < len)
			end++; /* the line's terminator */
		size_t n = end - pos;
		if (!p->in_row) {
			for (size_t i = pos; i < end; i++) {
				unsigned char ch = text[i];
				if (ch != ' ' && ch != '\t' && ch != '\r' &&
				    ch != '\n') {
					p->in_row = 1;
					p->row_line = p->line;
					p->row_bytes = 0;
					break;
				}
			}
		}
		p->row_bytes += p->in_row ? n : 0;
		if (p->row_bytes > CSVIMPORT_MAX_ROW_BYTES ||
		    n > CSVIMPORT_MAX_ROW_BYTES) {
			p->rc = sl_error_set(p->err, SL_EINVAL,
					     "%s:%d: row longer than %d bytes "
					     "(a quoted field without its "
					     "closing '\"'?)",
					     p->path,
					     p->in_row ? p->row_line : p->line,
					     CSVIMPORT_MAX_ROW_BYTES);
			break;
		}
		size_t done =
			csv_parse(&csv, text + pos, n, on_field, on_row, p);
		if (p->rc != 0)
			break;
		if (done < n) {
			if (csv_error(&csv) == CSV_EPARSE)
				p->rc = quote_error(p, text + pos, done);
			else
				p->rc = sl_error_set(
					p->err, SL_ENOMEM, "%s:%d: %s", p->path,
					p->line, csv_strerror(csv_error(&csv)));
			break;
		}
		pos = end;
		p->line++;
	}
	if (p->rc == 0 && csv_fini(&csv, on_field, on_row, p) != 0) {
		char where[96];
		field_name(p, p->ncells, where, sizeof(where));
		p->rc = sl_error_set(p->err, SL_EINVAL,
				     "%s:%d: %s: quoted field has no closing "
				     "'\"' before the end of the file",
				     p->path, p->row_line, where);
	}
	csv_free(&csv);
	return p->rc;
}

int csvimport_parse(const char *path, const unsigned char *data, size_t len,
		    csvimport_row_fn fn, void *arg, sl_error *err)
{
	const unsigned char *text = NULL;
	size_t textlen = 0;
	char *owned = NULL;
	int rc = decode(path, data, len, &text, &textlen, &owned, err);
	if (rc != 0)
		return rc;
	struct parse p = {.path = path, .fn = fn, .arg = arg, .err = err};
	p.bufsize = CSVIMPORT_MAX_ROW_BYTES + CSVIMPORT_MAX_FIELDS + 1;
	p.buf = sl_malloc(p.bufsize);
	rc = p.buf ? split_rows(&p, text, textlen)
		   : sl_error_set(err, SL_ENOMEM, "out of memory");
	sl_free(p.buf);
	sl_free(p.header);
	sl_free(owned);
	return rc;
}

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

/*
 * In place: full-width ASCII forms (U+FF01..U+FF5E, as a Japanese input
 * method types digits and letters) become ASCII, then spaces, tabs and
 * the ideographic space U+3000 are trimmed from both ends.
 */
static char *normalize(char *s, int fold_width)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	while (*r) {
		if (fold_width && r[0] == 0xEF &&
		    (r[1] == 0xBC || r[1] == 0xBD) && r[2] >= 0x80 &&
		    r[2] <= 0xBF) {
			unsigned cp = 0xFF00u + (r[1] == 0xBD ? 0x40u : 0u) +
				      (r[2] - 0x80u);
			if (cp >= 0xFF01 && cp <= 0xFF5E) {
				*w++ = (unsigned char)(cp - 0xFF01 + 0x21);
				r += 3;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	char *b = s, *e = (char *)w;
	for (;;) {
		if (*b == ' ' || *b == '\t')
			b++;
		else if (strncmp(b, "\xE3\x80\x80", 3) == 0)
			b += 3;
		else
			break;
	}
	for (;;) {
		if (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		else if (e - b >= 3 && memcmp(e - 3, "\xE3\x80\x80", 3) == 0)
			e -= 3;
		else
			break;
	}
	*e = '\0';
	return b;
}

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
		const char *name = normalize(cells[i], 1);
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
		e = normalize(e, 0);
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
		cells[i] =
			normalize(cells[i], c < 0 || columns[c].kind != K_TEXT);
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
	int rc = csvimport_parse(path, data, len, on_import_row, im, err);
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

/* Reads at most CSVIMPORT_MAX_BYTES + 1 bytes: enough to refuse more. */
static int read_file(const char *path, unsigned char **data, size_t *len,
		     sl_error *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", path,
				    strerror(errno));
	size_t cap = CSVIMPORT_MAX_BYTES + 1, n = 0;
	unsigned char *buf = sl_malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	size_t r;
	while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
		n += r;
	int failed = ferror(f);
	int saved = errno;
	fclose(f);
	if (failed) {
		sl_free(buf);
		return sl_error_set(err, SL_EIO, "%s: %s", path,
				    strerror(saved));
	}
	*data = buf;
	*len = n;
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
	int rc = read_file(path, &data, &len, err);
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
