/*
 * shelterimport.c - `hq import-shelters FILE [--skip-bad]`: an official
 * shelter list into the registry table, which the views, the feed and the
 * planners read for names, positions, capacities and hazards.
 *
 * Two layouts, told apart by the header: the 自治体標準オープンデータセット
 * list (an `ID` column; data/nanao-2024/reference_data.csv) and GSI's
 * 指定避難所 / 指定緊急避難場所 CSV (a `共通ID` column).  common/csvfile.c
 * decodes the file (UTF-8, BOM, Shift_JIS/CP932, CRLF) and splits rows;
 * here every cell is checked, and every bad row is reported as
 * FILE:LINE:COLUMN: column 'name': rule.  All rows are written in one
 * transaction: without skip_bad one bad row leaves the registry as it was.
 * Rows are upserted by shelter_id, so importing a newer list updates the
 * rows it shares with the old one and removes nothing.
 *
 * Not a general CSV reader, and not a geocoder: a row without a position
 * is stored unplaced (and counted), never guessed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvfile.h"
#include "db.h"
#include "hq.h"
#include "mem.h"

/* Longest text cell kept; anything longer is a broken row. */
#define TEXT_MAX 1000
/* Most people a capacity may state: beyond any stadium. */
#define CAPACITY_MAX 10000000LL

/* ---- municipality codes ---- */

static const char *const prefectures[47] = {
	"北海道", "青森県",   "岩手県", "宮城県",   "秋田県", "山形県",
	"福島県", "茨城県",   "栃木県", "群馬県",   "埼玉県", "千葉県",
	"東京都", "神奈川県", "新潟県", "富山県",   "石川県", "福井県",
	"山梨県", "長野県",   "岐阜県", "静岡県",   "愛知県", "三重県",
	"滋賀県", "京都府",   "大阪府", "兵庫県",   "奈良県", "和歌山県",
	"鳥取県", "島根県",   "岡山県", "広島県",   "山口県", "徳島県",
	"香川県", "愛媛県",   "高知県", "福岡県",   "佐賀県", "長崎県",
	"熊本県", "大分県",   "宮崎県", "鹿児島県", "沖縄県",
};

/* The prefecture code (1..47) a text such as "石川県七尾市" starts with;
 * 0 when it names none. */
static int prefecture_of(const char *text)
{
	for (int i = 0; text && i < 47; i++)
		if (strncmp(text, prefectures[i], strlen(prefectures[i])) == 0)
			return i + 1;
	return 0;
}

/* The check digit of a 5-digit code (総務省: weights 6..2, modulus 11,
 * the last digit of 11 minus the remainder). */
static char check_digit(const char *five)
{
	int sum = 0;
	for (int i = 0; i < 5; i++)
		sum += (five[i] - '0') * (6 - i);
	return (char)('0' + (11 - sum % 11) % 10);
}

static int pref_code(const char *code)
{
	return (code[0] - '0') * 10 + (code[1] - '0');
}

/* A 5-digit code without its check digit, made a 6-digit one; 0 when
 * its first two digits name no prefecture. */
static int complete(const char *five, char out[7])
{
	memcpy(out, five, 5);
	out[5] = check_digit(five);
	out[6] = '\0';
	return pref_code(out) >= 1 && pref_code(out) <= 47;
}

int shelterimport_municipality(const char *text, const char *prefecture,
			       char out[7], sl_error *err)
{
	char digits[8], a[7], b[7];
	size_t n = strspn(text, "0123456789");
	int pref = prefecture_of(prefecture), ok_a = 0, ok_b = 0;

	/* A spreadsheet that took the code for a number writes 17202.0. */
	if (n < 4 || n > 6 || (text[n] != '\0' && strcmp(text + n, ".0") != 0))
		return sl_error_set(
			err, SL_EINVAL,
			"'%.32s' is not a municipality code (6 "
			"digits such as 172022, or 5 such as 17202)",
			text);
	memcpy(digits, text, n);
	digits[n] = '\0';
	if (n == 6) {
		if (pref_code(digits) < 1 || pref_code(digits) > 47)
			return sl_error_set(err, SL_EINVAL,
					    "municipality code %s: %.2s is no "
					    "prefecture (01 to 47)",
					    digits, digits);
		if (check_digit(digits) != digits[5])
			return sl_error_set(
				err, SL_EINVAL,
				"municipality code %s: wrong check digit (the "
				"code of %.5s is %.5s%c)",
				digits, digits, digits, check_digit(digits));
		memcpy(a, digits, 7);
		ok_a = 1;
	} else if (n == 4) {
		/* a 5-digit code that lost its leading zero */
		char five[6] = {'0'};
		memcpy(five + 1, digits, 5);
		ok_a = complete(five, a);
	} else {
		ok_a = complete(digits, a);
		/* or a 6-digit code that lost its leading zero */
		b[0] = '0';
		memcpy(b + 1, digits, 6);
		ok_b = check_digit(b) == b[5] && pref_code(b) >= 1;
	}
	if (pref && ok_a && pref_code(a) != pref)
		ok_a = 0;
	if (pref && ok_b && pref_code(b) != pref)
		ok_b = 0;
	if (ok_a && ok_b)
		return sl_error_set(err, SL_EINVAL,
				    "municipality code %s could be %s or %s: "
				    "write all 6 digits",
				    digits, a, b);
	if (!ok_a && !ok_b)
		return sl_error_set(
			err, SL_EINVAL, "municipality code %s is not one of %s",
			digits,
			pref ? prefectures[pref - 1] : "any prefecture");
	memcpy(out, ok_a ? a : b, 7);
	return 0;
}

/* ---- numbers ---- */

/* [+-]digits[.digits] within lo..hi: no exponents, no hex, no "nan". */
static int decimal(const char *s, double lo, double hi, double *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t n = strspn(p, "0123456789");
	if (n == 0)
		return 0;
	p += n;
	if (*p == '.') {
		n = strspn(p + 1, "0123456789");
		if (n == 0)
			return 0;
		p += 1 + n;
	}
	if (*p != '\0')
		return 0;
	*out = strtod(s, NULL);
	return *out >= lo && *out <= hi;
}

/* Digits with optional thousands separators ("1,371"); advances *s. */
static int people(const char **s, long long *out)
{
	const char *p = *s;
	long long v = 0;
	int n = 0, group = -1;
	for (;; p++) {
		if (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			if (++n > 9)
				return 0;
			if (group >= 0)
				group++;
		} else if (*p == ',' && n > 0 &&
			   (group < 0 ? n <= 3 : group == 3) && p[1] >= '0' &&
			   p[1] <= '9') {
			group = 0;
		} else {
			break;
		}
	}
	if (n == 0 || (group >= 0 && group != 3) || v > CAPACITY_MAX)
		return 0;
	*out = v;
	*s = p;
	return 1;
}

/* Skips a parenthesised note: "(面積の1/2)", "(座席数)". */
static int note(const char **s)
{
	const char *close = **s == '(' ? strchr(*s, ')') : NULL;
	if (close == NULL)
		return 0;
	*s = close + 1;
	return 1;
}

int shelterimport_capacity(const char *text, long long *indoor,
			   long long *outdoor, sl_error *err)
{
	char buf[TEXT_MAX + 1];
	const char *start, *p;
	long long *slot;

	*indoor = *outdoor = -1;
	if (strlen(text) > TEXT_MAX)
		goto bad;
	snprintf(buf, sizeof(buf), "%s", text);
	start = p = csvfile_normalize(buf, 1);
	if (*p == '\0')
		return 0;
	/* a bare number is the whole (indoor) capacity */
	if (people(&p, indoor)) {
		if (strncmp(p, "人", 3) == 0)
			p += 3;
		note(&p);
		if (*p == '\0')
			return 0;
		*indoor = -1;
	}
	p = start;
	while (*p != '\0') {
		if (strncmp(p, "屋内", 6) == 0 || strncmp(p, "屋外", 6) == 0) {
			slot = strncmp(p, "屋内", 6) == 0 ? indoor : outdoor;
			p += 6 + strspn(p + 6, " ");
			if (*slot >= 0 || !people(&p, slot))
				goto bad;
			p += strspn(p, " ");
			if (strncmp(p, "人", 3) == 0)
				p += 3;
		} else if (*p == '/' || *p == ',' || *p == ' ' || *p == ';') {
			p++;
		} else if (strncmp(p, "、", 3) == 0 ||
			   strncmp(p, "\xE3\x80\x80", 3) == 0) {
			p += 3;
		} else if (!note(&p)) {
			goto bad;
		}
	}
	if (*indoor >= 0 || *outdoor >= 0)
		return 0;
bad:
	*indoor = *outdoor = -1;
	return sl_error_set(
		err, SL_EINVAL,
		"'%.100s' is not a capacity: write 屋内N人／屋外M人 "
		"(either part, a note in parentheses) or N",
		text);
}

/* ---- columns ---- */

enum field {
	F_ID,
	F_NAME,
	F_KANA,
	F_NAME_EN,
	F_CODE,
	F_ADDRESS,
	F_PREF,
	F_CITY,
	F_TOWN,
	F_REST,
	F_BUILDING,
	F_LAT,
	F_LON,
	F_ELEVATION,
	F_PHONE,
	F_CAPACITY,
	F_AREA,
	F_PLACE,
	F_HAZARD, /* 8 hazard columns follow */
	F_COUNT = F_HAZARD + 8
};

/* Each field's header in the two layouts (NULL: that layout has none). */
static const struct {
	const char *opendata, *gsi;
} names[F_COUNT] = {
	[F_ID] = {"ID", "共通ID"},
	[F_NAME] = {"名称", "施設・場所名"},
	[F_KANA] = {"名称_カナ", NULL},
	[F_NAME_EN] = {"名称_英字", NULL},
	[F_CODE] = {"所在地_全国地方公共団体コード", NULL},
	[F_ADDRESS] = {"所在地_連結表記", "住所"},
	[F_PREF] = {"所在地_都道府県", NULL},
	[F_CITY] = {"所在地_市区町村", NULL},
	[F_TOWN] = {"所在地_町字", NULL},
	[F_REST] = {"所在地_番地以下", NULL},
	[F_BUILDING] = {"建物名等(方書)", NULL},
	[F_LAT] = {"緯度", "緯度"},
	[F_LON] = {"経度", "経度"},
	[F_ELEVATION] = {"標高", NULL},
	[F_PHONE] = {"電話番号", NULL},
	[F_CAPACITY] = {"想定収容人数", NULL},
	[F_AREA] = {"対象となる町会・自治会", NULL},
	[F_PLACE] = {NULL, "都道府県名及び市町村名"},
	/* registry.hazards bits 0..7; GSI's 指定緊急避難場所 file has them */
	[F_HAZARD + 0] = {"災害種別_洪水", "洪水"},
	[F_HAZARD + 1] = {"災害種別_崖崩れ、土石流及び地滑り",
			  "崖崩れ、土石流及び地滑り"},
	[F_HAZARD + 2] = {"災害種別_高潮", "高潮"},
	[F_HAZARD + 3] = {"災害種別_地震", "地震"},
	[F_HAZARD + 4] = {"災害種別_津波", "津波"},
	[F_HAZARD + 5] = {"災害種別_大規模な火事", "大規模な火事"},
	[F_HAZARD + 6] = {"災害種別_内水氾濫", "内水氾濫"},
	[F_HAZARD + 7] = {"災害種別_火山現象", "火山現象"},
};

/* Without these a row means nothing (GSI's 共通ID may be empty). */
static const enum field required[] = {F_ID, F_NAME, F_LAT, F_LON};

static const char *field_header(enum shelterimport_layout l, int f)
{
	return l == SHELTERIMPORT_GSI ? names[f].gsi : names[f].opendata;
}

const char *shelterimport_layout_name(enum shelterimport_layout l)
{
	return l == SHELTERIMPORT_GSI ? "gsi" : "opendata";
}

/* ---- the import ---- */

enum stmt { S_EXISTS, S_UPSERT, S_SEEN, S_SEEN_LINE, S_COUNT };

static const char *const stmt_sql[S_COUNT] = {
	[S_EXISTS] = "SELECT 1 FROM registry WHERE shelter_id = ?1",
	[S_UPSERT] =
		"INSERT INTO registry (shelter_id, municipality, name, kana,"
		" name_en, district, address, lat, lon, elevation_m, phone,"
		" capacity_indoor, capacity_outdoor, capacity_text, hazards,"
		" target_area, layout, source_file, source_line, imported_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
		" ON CONFLICT (shelter_id) DO UPDATE SET"
		" municipality = excluded.municipality, name = excluded.name,"
		" kana = excluded.kana, name_en = excluded.name_en,"
		" district = excluded.district, address = excluded.address,"
		" lat = excluded.lat, lon = excluded.lon,"
		" elevation_m = excluded.elevation_m, phone = excluded.phone,"
		" capacity_indoor = excluded.capacity_indoor,"
		" capacity_outdoor = excluded.capacity_outdoor,"
		" capacity_text = excluded.capacity_text,"
		" hazards = excluded.hazards, target_area = "
		"excluded.target_area,"
		" layout = excluded.layout, source_file = excluded.source_file,"
		" source_line = excluded.source_line,"
		" imported_at = excluded.imported_at",
	/* ids of this file so far: a repeated id would silently win */
	[S_SEEN] = "INSERT INTO temp.shelterimport_seen (shelter_id, line)"
		   " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[S_SEEN_LINE] = "SELECT line FROM temp.shelterimport_seen"
			" WHERE shelter_id = ?1",
};

struct import {
	const char *path;
	const struct shelterimport_opts *o;
	struct shelterimport_result *res;
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	int have_header, ncols;
	int col[F_COUNT];	  /* field -> 0-based column, or -1 */
	char header[F_COUNT][96]; /* as the file names it */
	sl_error first;		  /* the first bad row */
	int line;		  /* the row being read */
};

/* One row, checked.  Strings point into the row's cells or the buffers. */
struct shelter {
	const char *id, *name, *kana, *name_en, *address, *phone;
	const char *capacity_text, *area, *district;
	char municipality[7];
	double lat, lon, elevation;
	int placed, has_elevation, hazards;
	long long indoor, outdoor;
	char idbuf[32], addrbuf[5 * TEXT_MAX + 1], districtbuf[TEXT_MAX + 1];
};

/* err = "PATH:LINE:COL: column 'NAME': " + the rule; returns SL_EINVAL. */
static int bad_cell(struct import *im, int f, sl_error *err, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static int bad_cell(struct import *im, int f, sl_error *err, const char *fmt,
		    ...)
{
	char rule[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	if (f < 0 || im->col[f] < 0)
		return sl_error_set(err, SL_EINVAL, "%s:%d: %s", im->path,
				    im->line, rule);
	return sl_error_set(err, SL_EINVAL, "%s:%d:%d: column '%s': %s",
			    im->path, im->line, im->col[f] + 1, im->header[f],
			    rule);
}

static int read_header(struct import *im, int n, char **cells, sl_error *err)
{
	enum shelterimport_layout l = SHELTERIMPORT_OPENDATA;
	int found = 0;
	for (int i = 0; i < n; i++)
		cells[i] = csvfile_normalize(cells[i], 1);
	for (int i = 0; i < n && !found; i++) {
		if (strcmp(cells[i], names[F_ID].gsi) == 0)
			l = SHELTERIMPORT_GSI, found = 1;
		else if (strcmp(cells[i], names[F_ID].opendata) == 0)
			found = 1;
	}
	if (!found)
		return sl_error_set(
			err, SL_EINVAL,
			"%s:%d: neither shelter list layout: the header has no "
			"'ID' column (自治体標準オープンデータセット) and no "
			"'共通ID' column (GSI 指定避難所)",
			im->path, im->line);
	im->res->layout = l;
	for (int f = 0; f < F_COUNT; f++)
		im->col[f] = -1;
	for (int i = 0; i < n; i++) {
		for (int f = 0; f < F_COUNT; f++) {
			const char *h = field_header(l, f);
			if (h == NULL || strcmp(cells[i], h) != 0)
				continue;
			if (im->col[f] >= 0)
				return sl_error_set(
					err, SL_EINVAL,
					"%s:%d:%d: column '%s' again (first "
					"in column %d)",
					im->path, im->line, i + 1, h,
					im->col[f] + 1);
			im->col[f] = i;
			snprintf(im->header[f], sizeof(im->header[f]), "%s", h);
		}
	}
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (im->col[required[k]] < 0)
			return sl_error_set(
				err, SL_EINVAL,
				"%s:%d: the header has no '%s' column, which "
				"the %s layout requires",
				im->path, im->line,
				field_header(l, required[k]),
				shelterimport_layout_name(l));
	im->ncols = n;
	im->have_header = 1;
	return 0;
}

/* The cell of field f trimmed (and full-width folded when fold), or ""
 * when the file has no such column. */
static const char *cell(struct import *im, char **cells, int f, int fold)
{
	return im->col[f] < 0 ? "" : csvfile_normalize(cells[im->col[f]], fold);
}

/* The same, NULL when empty. */
static const char *opt_cell(struct import *im, char **cells, int f)
{
	const char *v = cell(im, cells, f, 0);
	return *v ? v : NULL;
}

static int is_identifier(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '_')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-") == n;
}

/* FNV-1a, 32 bits: a stable short key for rows with no id. */
static unsigned long fnv1a(const char *a, const char *b)
{
	unsigned long h = 2166136261UL;
	for (const char *s = a; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619UL) & 0xFFFFFFFFUL;
	h = ((h ^ '\n') * 16777619UL) & 0xFFFFFFFFUL;
	for (const char *s = b; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619UL) & 0xFFFFFFFFUL;
	return h;
}

/* 対象となる町会・自治会 "御祓地区（25町会）" gives the district 御祓. */
static const char *district_of(const char *area, char *buf, size_t size)
{
	if (area == NULL)
		return NULL;
	snprintf(buf, size, "%s", area);
	char *end = buf + strcspn(buf, "(");
	char *fw = strstr(buf, "（");
	if (fw && fw < end)
		end = fw;
	*end = '\0';
	if (end - buf > 6 && strcmp(end - 6, "地区") == 0)
		end[-6] = '\0';
	return buf[0] ? buf : NULL;
}

static int check_id(struct import *im, char **cells, struct shelter *s,
		    sl_error *err)
{
	s->id = cell(im, cells, F_ID, 1);
	if (*s->id == '\0' && im->res->layout == SHELTERIMPORT_GSI) {
		/* docs/operations.md: the municipality, then name and
		 * address, which GSI keeps from one release to the next */
		snprintf(s->idbuf, sizeof(s->idbuf), "G%s-%08lx",
			 s->municipality,
			 fnv1a(s->name, s->address ? s->address : ""));
		s->id = s->idbuf;
	}
	if (!is_identifier(s->id))
		return bad_cell(im, F_ID, err,
				"'%.64s' is not a shelter id (1 to 64 letters, "
				"digits, '-' or '_', not starting with '-' or "
				"'_')",
				s->id);
	return 0;
}

static int check_municipality(struct import *im, char **cells,
			      struct shelter *s, sl_error *err)
{
	const char *code = cell(im, cells, F_CODE, 1);
	const char *place = im->res->layout == SHELTERIMPORT_GSI
				    ? cell(im, cells, F_PLACE, 0)
				    : cell(im, cells, F_PREF, 0);
	const char *mine = im->o->municipality;
	int f = *code ? F_CODE : F_PLACE;

	if (*code == '\0' && (mine == NULL || *mine == '\0'))
		return bad_cell(im, F_CODE, err,
				"no municipality code, and HQ's configuration "
				"names none");
	if (shelterimport_municipality(*code ? code : mine, place,
				       s->municipality, err) != 0) {
		char why[sizeof(err->text)];
		snprintf(why, sizeof(why), "%s", err->text);
		return bad_cell(im, f, err, "%s", why);
	}
	return 0;
}

static int check_position(struct import *im, char **cells, struct shelter *s,
			  sl_error *err)
{
	const char *lat = cell(im, cells, F_LAT, 1);
	const char *lon = cell(im, cells, F_LON, 1);
	s->placed = *lat != '\0' || *lon != '\0';
	if (!s->placed)
		return 0;
	/* Japan lies within 20..46 N, 122..154 E: anything else is a typo
	 * or latitude and longitude swapped. */
	if (!decimal(lat, 20, 46, &s->lat))
		return bad_cell(im, F_LAT, err,
				"'%.32s' is not a latitude in Japan (20 to 46 "
				"degrees north%s)",
				lat, *lat ? "" : "; both or neither");
	if (!decimal(lon, 122, 154, &s->lon))
		return bad_cell(im, F_LON, err,
				"'%.32s' is not a longitude in Japan (122 to "
				"154 degrees east%s)",
				lon, *lon ? "" : "; both or neither");
	const char *elev = cell(im, cells, F_ELEVATION, 1);
	s->has_elevation = *elev != '\0';
	if (s->has_elevation && !decimal(elev, -100, 4000, &s->elevation))
		return bad_cell(im, F_ELEVATION, err,
				"'%.32s' is not an elevation in metres (-100 "
				"to 4000)",
				elev);
	return 0;
}

static int check_hazards(struct import *im, char **cells, struct shelter *s,
			 sl_error *err)
{
	static const char *const yes[] = {"1", "1.0", "○", "◯", "●"};
	static const char *const no[] = {"", "0", "0.0"};
	s->hazards = 0;
	for (int h = 0; h < 8; h++) {
		const char *v = cell(im, cells, F_HAZARD + h, 1);
		int known = 0;
		for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++)
			if (strcmp(v, yes[k]) == 0)
				s->hazards |= 1 << h, known = 1;
		for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++)
			known |= strcmp(v, no[k]) == 0;
		if (!known)
			return bad_cell(im, F_HAZARD + h, err,
					"'%.32s' is not a flag (1, 1.0 or "
					"empty)",
					v);
	}
	return 0;
}

/* 所在地_連結表記, else its parts joined. */
static const char *address_of(struct import *im, char **cells,
			      struct shelter *s)
{
	static const int parts[] = {F_PREF, F_CITY, F_TOWN, F_REST, F_BUILDING};
	const char *whole = cell(im, cells, F_ADDRESS, 0);
	size_t used = 0;
	if (*whole)
		return whole;
	s->addrbuf[0] = '\0';
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
		used += (size_t)snprintf(s->addrbuf + used,
					 sizeof(s->addrbuf) - used, "%s",
					 cell(im, cells, parts[k], 0));
	return s->addrbuf[0] ? s->addrbuf : NULL;
}

/* Every cell of the row into s; SL_EINVAL with err located. */
static int check_row(struct import *im, char **cells, struct shelter *s,
		     sl_error *err)
{
	int rc;
	for (int f = 0; f < F_COUNT; f++)
		if (im->col[f] >= 0 && strlen(cells[im->col[f]]) > TEXT_MAX)
			return bad_cell(im, f, err, "longer than %d bytes",
					TEXT_MAX);
	s->name = cell(im, cells, F_NAME, 0);
	if (*s->name == '\0')
		return bad_cell(im, F_NAME, err,
				"empty: every shelter has a "
				"name");
	s->kana = opt_cell(im, cells, F_KANA);
	s->name_en = opt_cell(im, cells, F_NAME_EN);
	s->phone = opt_cell(im, cells, F_PHONE);
	s->area = opt_cell(im, cells, F_AREA);
	s->district =
		district_of(s->area, s->districtbuf, sizeof(s->districtbuf));
	s->address = address_of(im, cells, s);
	s->capacity_text = opt_cell(im, cells, F_CAPACITY);
	if ((rc = check_municipality(im, cells, s, err)) != 0 ||
	    (rc = check_id(im, cells, s, err)) != 0 ||
	    (rc = check_position(im, cells, s, err)) != 0 ||
	    (rc = check_hazards(im, cells, s, err)) != 0)
		return rc;
	if (shelterimport_capacity(s->capacity_text ? s->capacity_text : "",
				   &s->indoor, &s->outdoor, err) != 0) {
		char why[sizeof(err->text)];
		snprintf(why, sizeof(why), "%s", err->text);
		return bad_cell(im, F_CAPACITY, err, "%s", why);
	}
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int step_done(struct import *im, sqlite3_stmt *st, const char *what,
		     sl_error *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(im->db, err, what);
}

/* SL_EINVAL when the id was on an earlier row of this file. */
static int check_unique(struct import *im, const struct shelter *s,
			sl_error *err)
{
	sqlite3_stmt *st = im->st[S_SEEN];
	bind_text(st, 1, s->id);
	sqlite3_bind_int(st, 2, im->line);
	int rc = step_done(im, st, "registry import", err);
	if (rc != 0 || sqlite3_changes(im->db) > 0)
		return rc;
	st = im->st[S_SEEN_LINE];
	bind_text(st, 1, s->id);
	int first =
		sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_reset(st);
	return bad_cell(im, F_ID, err, "'%s' is also on line %d", s->id, first);
}

static int upsert(struct import *im, const struct shelter *s, sl_error *err)
{
	sqlite3_stmt *st = im->st[S_EXISTS];
	bind_text(st, 1, s->id);
	int exists = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);

	st = im->st[S_UPSERT];
	const char *text[] = {s->id,	  s->municipality, s->name,   s->kana,
			      s->name_en, s->district,	   s->address};
	for (int i = 0; i < 7; i++)
		bind_text(st, i + 1, text[i]);
	if (s->placed) {
		sqlite3_bind_double(st, 8, s->lat);
		sqlite3_bind_double(st, 9, s->lon);
	} else {
		sqlite3_bind_null(st, 8);
		sqlite3_bind_null(st, 9);
	}
	if (s->placed && s->has_elevation)
		sqlite3_bind_double(st, 10, s->elevation);
	else
		sqlite3_bind_null(st, 10);
	bind_text(st, 11, s->phone);
	if (s->indoor >= 0)
		sqlite3_bind_int64(st, 12, s->indoor);
	else
		sqlite3_bind_null(st, 12);
	if (s->outdoor >= 0)
		sqlite3_bind_int64(st, 13, s->outdoor);
	else
		sqlite3_bind_null(st, 13);
	bind_text(st, 14, s->capacity_text);
	sqlite3_bind_int(st, 15, s->hazards);
	bind_text(st, 16, s->area);
	bind_text(st, 17, shelterimport_layout_name(im->res->layout));
	bind_text(st, 18, im->path);
	sqlite3_bind_int(st, 19, im->line);
	sqlite3_bind_int64(st, 20, (sqlite3_int64)im->o->now);
	int rc = step_done(im, st, "registry", err);
	if (rc != 0)
		return rc;
	if (exists)
		im->res->updated++;
	else
		im->res->added++;
	im->res->unplaced += !s->placed;
	return 0;
}

/* A bad row: reported; without skip_bad the import will fail, but the
 * rest is still checked so that one run lists every bad row. */
static void bad_row(struct import *im, const sl_error *why)
{
	if (im->res->skipped++ == 0)
		im->first = *why;
	if (im->o->on_bad)
		im->o->on_bad(why, im->o->arg);
}

/* A line break inside a quoted cell becomes LF, so that the registry
 * does not depend on whether the file's lines end in CR LF. */
static void unix_breaks(char *s)
{
	char *w = s;
	for (; *s; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			*w++ = *s;
	*w = '\0';
}

static int on_row(int line, int n, char **cells, void *arg, sl_error *err)
{
	struct import *im = arg;
	struct shelter *s;
	sl_error why;
	int empty = 1, rc;

	im->line = line;
	if (!im->have_header)
		return read_header(im, n, cells, err);
	for (int i = 0; i < n; i++) {
		unix_breaks(cells[i]);
		empty &= *csvfile_normalize(cells[i], 0) == '\0';
	}
	if (empty)
		return 0; /* spreadsheets write rows of empty cells */
	im->res->rows++;
	if (n != im->ncols) {
		sl_error_set(&why, SL_EINVAL,
			     "%s:%d: %d fields, but the header has %d columns",
			     im->path, line, n, im->ncols);
		bad_row(im, &why);
		return 0;
	}
	s = sl_calloc(1, sizeof(*s));
	if (s == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	rc = check_row(im, cells, s, &why);
	if (rc == 0)
		rc = check_unique(im, s, &why);
	if (rc == SL_EINVAL) {
		bad_row(im, &why);
		rc = 0;
	} else if (rc == 0 && im->res->skipped == 0) {
		rc = upsert(im, s, &why);
	} else if (rc == 0 && im->o->skip_bad) {
		rc = upsert(im, s, &why);
	}
	sl_free(s);
	if (rc != 0)
		*err = why;
	return rc;
}

static int prepare(struct import *im, sl_error *err)
{
	int rc =
		db_exec(im->db,
			"CREATE TEMP TABLE IF NOT EXISTS shelterimport_seen"
			" (shelter_id TEXT PRIMARY KEY, line INTEGER NOT NULL);"
			"DELETE FROM temp.shelterimport_seen",
			err);
	for (int i = 0; rc == 0 && i < S_COUNT; i++)
		rc = db_prepare(im->db, &im->st[i], stmt_sql[i], err);
	return rc;
}

int shelterimport_data(hq_store *st, const char *path,
		       const unsigned char *data, size_t len,
		       const struct shelterimport_opts *o,
		       struct shelterimport_result *res, sl_error *err)
{
	struct import im = {
		.path = path, .o = o, .res = res, .db = store_db(st)};
	memset(res, 0, sizeof(*res));
	int rc = prepare(&im, err);
	if (rc == 0 && (rc = store_begin(st, err)) == 0) {
		rc = csvfile_parse(path, data, len, on_row, &im, err);
		if (rc == 0 && !im.have_header)
			rc = sl_error_set(err, SL_EINVAL,
					  "%s: empty: no header row", path);
		if (rc == 0 && res->skipped > 0 && !o->skip_bad) {
			*err = im.first;
			rc = SL_EINVAL;
		}
		if (rc == 0)
			rc = store_commit(st, err);
		else
			store_rollback(st);
	}
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(im.st[i]);
	if (rc != 0)
		res->added = res->updated = res->unplaced = 0;
	return rc;
}

int shelterimport_file(hq_store *st, const char *path,
		       const struct shelterimport_opts *o,
		       struct shelterimport_result *res, sl_error *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	memset(res, 0, sizeof(*res));
	int rc = csvfile_read(path, &data, &len, err);
	if (rc != 0)
		return rc;
	rc = shelterimport_data(st, path, data, len, o, res, err);
	sl_free(data);
	return rc;
}

/* ---- the command ---- */

/* Lists bad rows as they are found; under --skip-bad they are skipped. */
static void print_bad(const sl_error *why, void *arg)
{
	const struct shelterimport_opts *o = arg;
	if (o->skip_bad)
		printf("skipped %s\n", why->text);
	else
		fprintf(stderr, "hq: %s\n", why->text);
}

int shelterimport_main(const struct hq_config *cfg, int argc, char **argv)
{
	struct shelterimport_opts o = {.municipality = cfg->common.municipality,
				       .now = time(NULL),
				       .on_bad = print_bad};
	struct shelterimport_result res;
	const char *path = NULL;
	sl_error err;

	o.arg = &o;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--skip-bad") == 0) {
			o.skip_bad = 1;
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fprintf(stderr, "hq import-shelters: use hq "
					"import-shelters FILE [--skip-bad]\n");
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "hq import-shelters: which file? (hq "
				"import-shelters FILE [--skip-bad])\n");
		return 2;
	}
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	int rc = shelterimport_file(st, path, &o, &res, &err);
	store_close(st);
	if (rc == SL_EINVAL && res.skipped > 0) {
		fprintf(stderr,
			"hq: nothing imported: %lld bad row%s of %lld "
			"(--skip-bad imports the others)\n",
			res.skipped, res.skipped == 1 ? "" : "s", res.rows);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	printf("%s: %s layout, %lld rows\n"
	       "imported %lld (new %lld, updated %lld), skipped %lld",
	       path, shelterimport_layout_name(res.layout), res.rows,
	       res.added + res.updated, res.added, res.updated, res.skipped);
	if (res.unplaced > 0)
		printf(", %lld without a position", res.unplaced);
	putchar('\n');
	return 0;
}
