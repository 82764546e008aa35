/*
 * csvfile.h - reading CSV files that people bring: decoding (UTF-8, UTF-8
 * with BOM, Shift_JIS/CP932), RFC 4180 rows with their line numbers,
 * hard caps, and the normalisation of what a Japanese input method types.
 *
 * Pure except csvfile_read(): no database, no meaning given to cells.
 */
#ifndef SL_CSVFILE_H
#define SL_CSVFILE_H

#include <stddef.h>

#include "error.h"

/* Hard caps on one file (docs/csv-import.md). */
#define CSVFILE_MAX_BYTES     (8 * 1024 * 1024) /* the whole file */
#define CSVFILE_MAX_ROW_BYTES (64 * 1024)	/* one row, quoted breaks too */
#define CSVFILE_MAX_ROWS      100000		/* rows after the header */
#define CSVFILE_MAX_FIELDS    64		/* fields in one row */

/* Called for each row: its first line (1-based), its cells as UTF-8
 * strings (the callback may modify them; they live until it returns).
 * A non-zero return stops the parse and is returned; set err first. */
typedef int (*csvfile_row_fn)(int line, int ncells, char **cells, void *arg,
			      sl_error *err);

/*
 * Decodes `data` (UTF-8, UTF-8 with BOM, else Shift_JIS/CP932 through
 * iconv) and splits it into RFC 4180 rows (libcsv, strict), skipping
 * blank lines; the first row is taken as the header to name columns in
 * errors.  `path` is used in messages only.  Returns 0, or an SL_E* code
 * with err "PATH:LINE: column 'x': rule" for the first problem (decoding,
 * quoting, a cap) or whatever fn returned.
 */
int csvfile_parse(const char *path, const unsigned char *data, size_t len,
		  csvfile_row_fn fn, void *arg, sl_error *err);

/*
 * Reads at most CSVFILE_MAX_BYTES + 1 bytes of the file at path (enough
 * for csvfile_parse to refuse a bigger one) into *data, which the caller
 * owns (sl_free).  SL_EIO or SL_ENOMEM with err set; *data is untouched.
 */
int csvfile_read(const char *path, unsigned char **data, size_t *len,
		 sl_error *err);

/*
 * In place: with fold_width, full-width ASCII forms (U+FF01..U+FF5E, as
 * a Japanese input method types digits, letters, "（", "／", "，")
 * become ASCII; then spaces, tabs and the ideographic space U+3000 are
 * trimmed from both ends.  Returns the start of the trimmed text,
 * inside s.
 */
char *csvfile_normalize(char *s, int fold_width);

#endif
