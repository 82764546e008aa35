/*
 * grade.c - the damage grade of a house for its り災証明, from the share
 * of each element that is damaged.  Pure: no database, no I/O.  It does
 * not decide who may record a grade (survey_field.c does).
 *
 * The rule (docs/reference: the Cabinet Office 運用指針 as quoted by
 * municipalities; docs/operations.md, "Grading"):
 *  - loss ratio = 15 % x roof + 75 % x walls + 10 % x foundation, the
 *    weights for wooden houses in an earthquake;
 *  - 全壊 at 50 % and above, 大規模半壊 40 up to 50, 中規模半壊 30 up to
 *    40, 半壊 20 up to 30, 準半壊 10 up to 20, 一部損壊 below 10.  Each
 *    class includes its lower bound: 50.0 is 全壊, 49.999 大規模半壊.
 * Percentages are read with at most one decimal and the ratio is kept
 * in thousandths of a percent, so 15 x + 75 y + 10 z is exact integer
 * arithmetic and a ratio on a boundary is never a rounding error away
 * from it.  The guideline text read gives no rounding of the ratio
 * before the thresholds, so none is done.
 */
#include <string.h>

#include "hq.h"

static const struct {
	const char *key, *ja;
	long min; /* lowest loss ratio of the class, GRADE_UNIT */
} grades[GRADE_COUNT] = {
	[GRADE_ZENKAI] = {"zenkai", "全壊", 50000},
	[GRADE_DAIKIBO_HANKAI] = {"daikibo_hankai", "大規模半壊", 40000},
	[GRADE_CHUKIBO_HANKAI] = {"chukibo_hankai", "中規模半壊", 30000},
	[GRADE_HANKAI] = {"hankai", "半壊", 20000},
	[GRADE_JUN_HANKAI] = {"jun_hankai", "準半壊", 10000},
	[GRADE_ICHIBU_SONKAI] = {"ichibu_sonkai", "準半壊に至らない(一部損壊)",
				 0},
};

const char *grade_key(enum grade g)
{
	return g < GRADE_COUNT ? grades[g].key : "?";
}

const char *grade_name(enum grade g)
{
	return g < GRADE_COUNT ? grades[g].ja : "?";
}

int grade_parse(const char *text, enum grade *out, sl_error *err)
{
	for (int g = 0; g < GRADE_COUNT; g++)
		if (strcmp(text, grades[g].key) == 0 ||
		    strcmp(text, grades[g].ja) == 0) {
			*out = (enum grade)g;
			return 0;
		}
	if (strcmp(text, "一部損壊") == 0) {
		*out = GRADE_ICHIBU_SONKAI;
		return 0;
	}
	return sl_error_set(err, SL_EINVAL,
			    "grade '%s': not one of zenkai, daikibo_hankai, "
			    "chukibo_hankai, hankai, jun_hankai, "
			    "ichibu_sonkai (or their Japanese names)",
			    text);
}

int grade_parse_percent(const char *what, const char *text, int *tenths,
			sl_error *err)
{
	const char *p = text;
	long whole = 0;
	int digits = 0, frac = 0;
	while (*p >= '0' && *p <= '9' && digits < 4) {
		whole = whole * 10 + (*p++ - '0');
		digits++;
	}
	if (digits > 0 && *p == '.' && p[1] >= '0' && p[1] <= '9') {
		frac = p[1] - '0';
		p += 2;
	}
	if (digits == 0 || *p != '\0' || whole * 10 + frac > 1000)
		return sl_error_set(err, SL_EINVAL,
				    "%s '%s': a percentage 0..100 with at "
				    "most one decimal",
				    what, text);
	*tenths = (int)(whole * 10 + frac);
	return 0;
}

int grade_loss(const struct grade_elements *e, long *loss, sl_error *err)
{
	const int v[3] = {e->roof, e->walls, e->foundation};
	static const char *const names[3] = {"roof", "walls", "foundation"};
	for (int i = 0; i < 3; i++)
		if (v[i] < 0 || v[i] > 1000)
			return sl_error_set(err, SL_EINVAL,
					    "%s: %d tenths of a percent: must "
					    "be 0..1000",
					    names[i], v[i]);
	/* weights in percent times tenths of a percent: thousandths */
	*loss = 15L * e->roof + 75L * e->walls + 10L * e->foundation;
	return 0;
}

enum grade grade_of_loss(long loss)
{
	for (int g = 0; g < GRADE_COUNT - 1; g++)
		if (loss >= grades[g].min)
			return (enum grade)g;
	return GRADE_ICHIBU_SONKAI;
}
