/*
 * csvfile.c - CSV files as people bring them: decoded to UTF-8 and split
 * into rows that know their line numbers.
 *
 * A file may be UTF-8, UTF-8 with a BOM, or Shift_JIS/CP932 (converted
 * through iconv); lines may end in LF, CR LF or CR.  Rows are split by
 * libcsv in strict mode (RFC 4180 quoting), fed one physical line at a
 * time, so every row and every error has its line number and no row
 * outgrows its cap.  Errors read "PATH:LINE: column 'x': rule".
 *
 * Shared by `shelter-agent import` (paper forms) and `hq import-shelters`
 * (official shelter lists).  Not a spreadsheet reader and not a writer:
 * what the cells mean is the caller's business.
 *
 * Out of memory: SL_ENOMEM is returned, as everywhere in common/.
 */
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvfile.h"
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
	if (len > CSVFILE_MAX_BYTES)
		return sl_error_set(err, SL_EINVAL,
				    "%s: the file is %zu bytes, more than the "
				    "%d allowed: split it",
				    path, len, CSVFILE_MAX_BYTES);
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
	csvfile_row_fn fn;
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
	char *cells[CSVFILE_MAX_FIELDS];
	/* The first row, kept to name columns in errors. */
	char *header;
	int nheader;
	const char *hcells[CSVFILE_MAX_FIELDS];
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
	if (p->ncells == CSVFILE_MAX_FIELDS) {
		p->extra++;
		return;
	}
	/* Cannot overflow: a row is at most CSVFILE_MAX_ROW_BYTES bytes
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
			p->row_line, p->ncells + p->extra, CSVFILE_MAX_FIELDS);
		return;
	}
	if (++p->rows > CSVFILE_MAX_ROWS + 1) {
		p->rc = sl_error_set(
			p->err, SL_EINVAL,
			"%s:%d: more than %d rows after the header: "
			"split the file",
			p->path, p->row_line, CSVFILE_MAX_ROWS);
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
		if (p->row_bytes > CSVFILE_MAX_ROW_BYTES ||
		    n > CSVFILE_MAX_ROW_BYTES) {
			p->rc = sl_error_set(p->err, SL_EINVAL,
					     "%s:%d: row longer than %d bytes "
					     "(a quoted field without its "
					     "closing '\"'?)",
					     p->path,
					     p->in_row ? p->row_line : p->line,
					     CSVFILE_MAX_ROW_BYTES);
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

int csvfile_parse(const char *path, const unsigned char *data, size_t len,
		  csvfile_row_fn fn, void *arg, sl_error *err)
{
	const unsigned char *text = NULL;
	size_t textlen = 0;
	char *owned = NULL;
	int rc = decode(path, data, len, &text, &textlen, &owned, err);
	if (rc != 0)
		return rc;
	struct parse p = {.path = path, .fn = fn, .arg = arg, .err = err};
	p.bufsize = CSVFILE_MAX_ROW_BYTES + CSVFILE_MAX_FIELDS + 1;
	p.buf = sl_malloc(p.bufsize);
	rc = p.buf ? split_rows(&p, text, textlen)
		   : sl_error_set(err, SL_ENOMEM, "out of memory");
	sl_free(p.buf);
	sl_free(p.header);
	sl_free(owned);
	return rc;
}
/* ---- cells ---- */

/*
 * In place: full-width ASCII forms (U+FF01..U+FF5E, as a Japanese input
 * method types digits and letters) become ASCII, then spaces, tabs and
 * the ideographic space U+3000 are trimmed from both ends.
 */
char *csvfile_normalize(char *s, int fold_width)
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

/* ---- files ---- */

/* Reads at most CSVFILE_MAX_BYTES + 1 bytes: enough to refuse more. */
int csvfile_read(const char *path, unsigned char **data, size_t *len,
		 sl_error *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", path,
				    strerror(errno));
	size_t cap = CSVFILE_MAX_BYTES + 1, n = 0;
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
