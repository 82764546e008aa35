/* Unit tests of hq/alloc.c: hand-checked golden plans, properties over
 * thousands of seeded random instances (conservation, class priority, a
 * max-min certificate, determinism under shuffling), the exact GLPK
 * reference on small instances, the same checks plus GLPK's least
 * transport and thread-count independence on 2,400-shelter instances,
 * refused input, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_glpk.h"
#include "hq.h"
#include "mem.h"

#define CRIT ALLOC_CRITICAL
#define HIGH ALLOC_HIGH
#define NORM ALLOC_NORMAL

static struct alloc_plan *run_ok(const struct alloc_input *in)
{
	struct alloc_plan *p = NULL;
	sl_error err;
	int rc = alloc_run(in, &p, &err);
	if (rc)
		fail_msg("alloc_run: %s", err.text);
	return p;
}

/* Units of item from depot to shelter (any urgency; -1: any depot). */
static long long shipped(const struct alloc_plan *p, long long depot,
			 size_t shelter, size_t item, int urgency)
{
	long long q = 0;
	for (size_t k = 0; k < p->n_lines; k++) {
		const struct alloc_line *l = &p->lines[k];
		if ((depot < 0 || l->depot == (size_t)depot) &&
		    l->shelter == shelter && l->item == item &&
		    (urgency < 0 || (int)l->urgency == urgency))
			q += l->qty;
	}
	return q;
}

static const struct alloc_fill *fill_of(const struct alloc_plan *p,
					size_t shelter, size_t item, int u)
{
	for (size_t k = 0; k < p->n_fills; k++)
		if (p->fills[k].shelter == shelter && p->fills[k].item == item &&
		    (int)p->fills[k].urgency == u)
			return &p->fills[k];
	fail_msg("no fill for shelter %zu item %zu urgency %d", shelter, item,
		 u);
	return NULL;
}

/* ---- golden plans ---- */

/* Enough for all: each shelter gets what it needs from the depot on its
 * own spot (distance 0), so transport is 0. */
static void golden_enough(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"water"}};
	long long s1[] = {100}, s2[] = {100};
	struct alloc_depot dep[] = {{"D1", 37.0, 138.0, s1},
				    {"D2", 37.5, 138.5, s2}};
	struct alloc_shelter sh[] = {{"S1", 37.0, 138.0}, {"S2", 37.5, 138.5}};
	struct alloc_need nd[] = {{0, 0, CRIT, 30}, {1, 0, HIGH, 50}};
	struct alloc_input in = {items, 1, dep, 2, sh, 2, nd, 2};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(p->n_lines, 2);
	assert_int_equal(shipped(p, 0, 0, 0, CRIT), 30);
	assert_int_equal(shipped(p, 1, 1, 0, HIGH), 50);
	assert_true(p->transport_unit_km == 0);
	assert_string_equal(fill_of(p, 0, 0, CRIT)->why, "all 30 needed");
	assert_string_equal(fill_of(p, 1, 0, HIGH)->why, "all 50 needed");
	alloc_plan_free(p);
}

/* Scarce, one class: 600 units for needs 200, 300, 500 (N = 1000).
 * Continuous max-min: everyone at 600/1000 = 0.60, i.e. 120, 180, 300,
 * all integers, so the integer plan is the same. */
static void golden_scarce_proportional(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"water_drinking"}};
	long long st[] = {600};
	struct alloc_depot dep[] = {{"D", 37.37, 138.55, st}};
	struct alloc_shelter sh[] = {
		{"A", 37.36, 138.56}, {"B", 37.38, 138.57}, {"C", 37.40, 138.60}};
	struct alloc_need nd[] = {
		{0, 0, CRIT, 200}, {1, 0, CRIT, 300}, {2, 0, CRIT, 500}};
	struct alloc_input in = {items, 1, dep, 1, sh, 3, nd, 3};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(shipped(p, 0, 0, 0, CRIT), 120);
	assert_int_equal(shipped(p, 0, 1, 0, CRIT), 180);
	assert_int_equal(shipped(p, 0, 2, 0, CRIT), 300);
	assert_string_equal(fill_of(p, 0, 0, CRIT)->why,
			    "scarce: 120 of 200, every critical need of "
			    "water_drinking filled to at least 0.60");
	alloc_plan_free(p);
}

/* Classes: 100 units.  Critical: A 60 -> all 60 (40 left).  High: A 30,
 * B 30, budget 40 -> 20 each (ratio 2/3).  Normal: B 50 -> nothing. */
static void golden_classes(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"water"}};
	long long st[] = {100};
	struct alloc_depot dep[] = {{"D", 37.0, 138.0, st}};
	struct alloc_shelter sh[] = {{"A", 37.1, 138.0}, {"B", 37.2, 138.0}};
	struct alloc_need nd[] = {{0, 0, CRIT, 60},
				  {0, 0, HIGH, 30},
				  {1, 0, HIGH, 30},
				  {1, 0, NORM, 50}};
	struct alloc_input in = {items, 1, dep, 1, sh, 2, nd, 4};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(shipped(p, 0, 0, 0, CRIT), 60);
	assert_int_equal(shipped(p, 0, 0, 0, HIGH), 20);
	assert_int_equal(shipped(p, 0, 1, 0, HIGH), 20);
	assert_int_equal(shipped(p, 0, 1, 0, NORM), 0);
	assert_string_equal(fill_of(p, 1, 0, NORM)->why,
			    "none left after critical and high needs");
	assert_string_equal(fill_of(p, 1, 0, HIGH)->why,
			    "scarce: 20 of 30, every high need of water filled "
			    "to at least 0.66");
	alloc_plan_free(p);
}

/* Integer remainder decided by distance: 3 units, two shelters needing 2
 * each.  1 each (ratio 0.5); the third unit leaves a tie (both 0.5, both
 * need 2, sorted ratios (0.5, 1) either way), so transport decides: the
 * shelter 11 km away gets it, not the one 111 km away. */
static void golden_tie_by_distance(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"formula"}};
	long long st[] = {3};
	struct alloc_depot dep[] = {{"D", 35.0, 139.0, st}};
	struct alloc_shelter sh[] = {{"FAR", 36.0, 139.0}, {"NEAR", 35.1, 139.0}};
	struct alloc_need nd[] = {{0, 0, CRIT, 2}, {1, 0, CRIT, 2}};
	struct alloc_input in = {items, 1, dep, 1, sh, 2, nd, 2};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(shipped(p, 0, 1, 0, CRIT), 2);
	assert_int_equal(shipped(p, 0, 0, 0, CRIT), 1);
	alloc_plan_free(p);
}

/* Small needs first: 55 blankets, ten shelters needing 1 and one needing
 * 100 (N = 110).  Unit by unit to the lowest ratio, ties to the smaller
 * need: the ten 1-unit shelters first (0 -> 1.0), then BIG up to 45
 * (0.45).  Sorted ratios (0.45, 1 x 10).  "Floor of 0.5 x need, then the
 * leftovers" would give BIG 50 and five small shelters 0: (0 x 5, ...),
 * lexicographically worse. */
static void golden_small_needs_first(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"blanket"}};
	long long st[] = {55};
	struct alloc_depot dep[] = {{"D", 37.0, 138.0, st}};
	struct alloc_shelter sh[11];
	struct alloc_need nd[11];
	char ids[11][8];
	for (int k = 0; k < 11; k++) {
		snprintf(ids[k], sizeof ids[k], k < 10 ? "S%02d" : "BIG", k);
		sh[k] = (struct alloc_shelter){ids[k], 37.0 + 0.01 * k, 138.0};
		nd[k] = (struct alloc_need){(size_t)k, 0, NORM, k < 10 ? 1 : 100};
	}
	struct alloc_input in = {items, 1, dep, 1, sh, 11, nd, 11};
	struct alloc_plan *p = run_ok(&in);
	for (int k = 0; k < 10; k++)
		assert_int_equal(shipped(p, 0, (size_t)k, 0, NORM), 1);
	assert_int_equal(shipped(p, 0, 10, 0, NORM), 45);
	alloc_plan_free(p);
}

/* Two depots, 10 each; S_W needs 15 (0.1 deg from D_W), S_E needs 5
 * (0.1 deg from D_E); the cross distance is 0.9 deg.  Short arcs carry
 * at most 10 + 5 = 15 units, so 5 must go D_E -> S_W:
 * D_W->S_W 10, D_E->S_E 5, D_E->S_W 5, and no cheaper plan exists. */
static void golden_two_depots(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"food"}};
	long long w[] = {10}, e[] = {10};
	struct alloc_depot dep[] = {{"D_E", 37.0, 139.0, e},
				    {"D_W", 37.0, 138.0, w}};
	struct alloc_shelter sh[] = {{"S_E", 37.0, 138.9}, {"S_W", 37.0, 138.1}};
	struct alloc_need nd[] = {{1, 0, CRIT, 15}, {0, 0, CRIT, 5}};
	struct alloc_input in = {items, 1, dep, 2, sh, 2, nd, 2};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(shipped(p, 1, 1, 0, CRIT), 10);
	assert_int_equal(shipped(p, 0, 0, 0, CRIT), 5);
	assert_int_equal(shipped(p, 0, 1, 0, CRIT), 5);
	double near = (double)alloc_distance_m(37, 138, 37, 138.1);
	double far = (double)alloc_distance_m(37, 139, 37, 138.1);
	double near_e = (double)alloc_distance_m(37, 139, 37, 138.9);
	assert_true(fabs(p->transport_unit_km -
			 (10 * near + 5 * near_e + 5 * far) / 1000) < 1e-6);
	alloc_plan_free(p);
}

static void golden_no_stock(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"diapers_infant"}};
	long long st[] = {0};
	struct alloc_depot dep[] = {{"D", NAN, NAN, st}};
	struct alloc_shelter sh[] = {{"A", 37.0, 138.0}};
	struct alloc_need nd[] = {{0, 0, CRIT, 7}, {0, 0, HIGH, 3}};
	struct alloc_input in = {items, 1, dep, 1, sh, 1, nd, 2};
	struct alloc_plan *p = run_ok(&in);
	assert_int_equal(p->n_lines, 0);
	assert_string_equal(fill_of(p, 0, 0, CRIT)->why,
			    "no stock of diapers_infant at any depot");
	assert_string_equal(fill_of(p, 0, 0, HIGH)->why,
			    "none left after critical needs");
	alloc_plan_free(p);
}

/* ---- random instances ---- */

struct inst {
	size_t ni, nd, ns, nn;
	struct alloc_item items[4];
	struct alloc_depot dep[4];
	struct alloc_shelter sh[8];
	struct alloc_need nd_[24];
	long long stock[4][4];
	char ids[20][8];
};

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng_state >> 33) % n);
}

/* Small worlds: 1-3 items, 1-3 depots, 1-7 shelters, coarse positions
 * (a 0.1 degree grid) so distance ties happen. */
static void make_inst(struct inst *t, unsigned long long seed)
{
	int idn = 0;
	rng_state = seed * 2654435761ULL + 1;
	memset(t, 0, sizeof *t);
	t->ni = 1 + rnd(3);
	t->nd = 1 + rnd(3);
	t->ns = 1 + rnd(7);
	for (size_t i = 0; i < t->ni; i++) {
		snprintf(t->ids[idn], 8, "i%zu", i);
		t->items[i].id = t->ids[idn++];
	}
	for (size_t d = 0; d < t->nd; d++) {
		snprintf(t->ids[idn], 8, "d%zu", d);
		for (size_t i = 0; i < t->ni; i++)
			t->stock[d][i] = rnd(4) ? rnd(12) : 0;
		t->dep[d] = (struct alloc_depot){t->ids[idn++],
						 37.0 + 0.1 * rnd(5),
						 138.0 + 0.1 * rnd(5),
						 t->stock[d]};
	}
	for (size_t s = 0; s < t->ns; s++) {
		snprintf(t->ids[idn], 8, "s%zu", s);
		t->sh[s] = (struct alloc_shelter){t->ids[idn++],
						  37.0 + 0.1 * rnd(5),
						  138.0 + 0.1 * rnd(5)};
	}
	t->nn = rnd(20);
	for (size_t k = 0; k < t->nn; k++)
		t->nd_[k] = (struct alloc_need){rnd((unsigned)t->ns),
						rnd((unsigned)t->ni),
						(enum alloc_urgency)rnd(3),
						(long long)rnd(9)};
}

static struct alloc_input inst_input(struct inst *t)
{
	return (struct alloc_input){t->items, t->ni, t->dep, t->nd,
				    t->sh, t->ns, t->nd_, t->nn};
}

/* need[(s * ni + i) * 3 + u] and got[...] of a plan. */
static void tally(const struct alloc_input *in, const struct alloc_plan *p,
		  long long *need, long long *got)
{
	size_t cells = in->n_shelters * in->n_items * 3;
	memset(need, 0, cells * sizeof *need);
	memset(got, 0, cells * sizeof *got);
	for (size_t k = 0; k < in->n_needs; k++) {
		const struct alloc_need *n = &in->needs[k];
		need[(n->shelter * in->n_items + n->item) * 3 + n->urgency] +=
			n->qty;
	}
	for (size_t k = 0; k < p->n_lines; k++) {
		const struct alloc_line *l = &p->lines[k];
		got[(l->shelter * in->n_items + l->item) * 3 + l->urgency] +=
			l->qty;
	}
}

/* Conservation: no depot ships more than it holds, no cell gets more
 * than its need, quantities positive. */
static void check_bounds(const struct alloc_input *in,
			 const struct alloc_plan *p, const long long *need,
			 const long long *got)
{
	for (size_t d = 0; d < in->n_depots; d++)
		for (size_t i = 0; i < in->n_items; i++) {
			long long out = 0;
			for (size_t k = 0; k < p->n_lines; k++)
				if (p->lines[k].depot == d &&
				    p->lines[k].item == i)
					out += p->lines[k].qty;
			assert_true(out <= in->depots[d].stock[i]);
		}
	for (size_t k = 0; k < p->n_lines; k++)
		assert_true(p->lines[k].qty > 0);
	for (size_t c = 0; c < in->n_shelters * in->n_items * 3; c++)
		assert_true(got[c] <= need[c]);
}

/* Class priority and no waste: a lower class of an item gets units only
 * when every higher need of it is full, and stock is left over only
 * when every need of it is full. */
static void check_priority(const struct alloc_input *in,
			   const struct alloc_plan *p, const long long *need,
			   const long long *got)
{
	for (size_t i = 0; i < in->n_items; i++) {
		long long stock = 0, sent = 0, unmet[3] = {0, 0, 0}, gotc[3] = {0, 0, 0};
		for (size_t d = 0; d < in->n_depots; d++)
			stock += in->depots[d].stock[i];
		for (size_t s = 0; s < in->n_shelters; s++)
			for (int u = 0; u < 3; u++) {
				size_t c = (s * in->n_items + i) * 3 + u;
				unmet[u] += need[c] - got[c];
				gotc[u] += got[c];
				sent += got[c];
			}
		if (gotc[1] || gotc[2])
			assert_int_equal(unmet[0], 0);
		if (gotc[2])
			assert_int_equal(unmet[1], 0);
		if (sent < stock)
			assert_int_equal(unmet[0] + unmet[1] + unmet[2], 0);
	}
	(void)p;
}

/* Max-min certificate: moving one unit from t to s (same item, same
 * class) never improves the sorted ratios: it would iff
 * (a_t - 1)/n_t > a_s/n_s, or both equal and n_s < n_t
 * (docs/allocation.md, "Certificate"). */
static void check_maxmin(const struct alloc_input *in, const long long *need,
			 const long long *got)
{
	size_t ni = in->n_items;
	for (size_t i = 0; i < ni; i++)
		for (int u = 0; u < 3; u++)
			for (size_t s = 0; s < in->n_shelters; s++)
				for (size_t t = 0; t < in->n_shelters; t++) {
					size_t cs = (s * ni + i) * 3 + u,
					       ct = (t * ni + i) * 3 + u;
					if (s == t || !need[cs] || !need[ct] ||
					    got[ct] == 0 || got[cs] == need[cs])
						continue;
					long long l = (got[ct] - 1) * need[cs],
						  r = got[cs] * need[ct];
					assert_false(l > r);
					assert_false(l == r && need[cs] < need[ct]);
				}
}

/* Every fill line matches the lines' totals. */
static void check_fills(const struct alloc_input *in,
			const struct alloc_plan *p, const long long *need,
			const long long *got)
{
	size_t n = 0;
	for (size_t c = 0; c < in->n_shelters * in->n_items * 3; c++)
		n += need[c] > 0;
	assert_int_equal(p->n_fills, n);
	for (size_t k = 0; k < p->n_fills; k++) {
		const struct alloc_fill *f = &p->fills[k];
		size_t c = (f->shelter * in->n_items + f->item) * 3 + f->urgency;
		assert_int_equal(f->needed, need[c]);
		assert_int_equal(f->allocated, got[c]);
		assert_true(f->why[0] != 0);
	}
}

#define N_RANDOM 2000

static void random_properties(void **state)
{
	(void)state;
	long long need[8 * 4 * 3], got[8 * 4 * 3];
	for (unsigned long long seed = 1; seed <= N_RANDOM; seed++) {
		struct inst t;
		make_inst(&t, seed);
		struct alloc_input in = inst_input(&t);
		struct alloc_plan *p = run_ok(&in);
		tally(&in, p, need, got);
		check_bounds(&in, p, need, got);
		check_priority(&in, p, need, got);
		check_maxmin(&in, need, got);
		check_fills(&in, p, need, got);
		alloc_plan_free(p);
	}
}

/* A plan as text in ids only: equal for shuffled inputs. */
static void plan_text(const struct alloc_input *in, const struct alloc_plan *p,
		      char *buf, size_t len)
{
	size_t o = 0;
	for (size_t k = 0; k < p->n_lines && o < len; k++) {
		const struct alloc_line *l = &p->lines[k];
		o += (size_t)snprintf(buf + o, len - o, "%s>%s:%s/%d=%lld;",
				      in->depots[l->depot].id,
				      in->shelters[l->shelter].id,
				      in->items[l->item].id, l->urgency, l->qty);
	}
	for (size_t k = 0; k < p->n_fills && o < len; k++) {
		const struct alloc_fill *f = &p->fills[k];
		o += (size_t)snprintf(buf + o, len - o, "%s:%s/%d %s;",
				      in->shelters[f->shelter].id,
				      in->items[f->item].id, f->urgency, f->why);
	}
}

/* Shuffles every array of t (Fisher-Yates) and renumbers the needs. */
static void shuffle_inst(struct inst *t, struct inst *u)
{
	size_t pi[4], pd[4], ps[8], inv_i[4], inv_s[8];
	*u = *t;
	size_t *perm[3] = {pi, pd, ps};
	size_t n[3] = {t->ni, t->nd, t->ns};
	for (int a = 0; a < 3; a++) {
		for (size_t k = 0; k < n[a]; k++)
			perm[a][k] = k;
		for (size_t k = n[a]; k > 1; k--) {
			size_t j = rnd((unsigned)k), x = perm[a][k - 1];
			perm[a][k - 1] = perm[a][j];
			perm[a][j] = x;
		}
	}
	for (size_t k = 0; k < t->ni; k++) {
		u->items[k] = t->items[pi[k]];
		inv_i[pi[k]] = k;
	}
	for (size_t k = 0; k < t->nd; k++) {
		for (size_t i = 0; i < t->ni; i++)
			u->stock[k][i] = t->stock[pd[k]][pi[i]];
		u->dep[k] = t->dep[pd[k]];
		u->dep[k].stock = u->stock[k];
	}
	for (size_t k = 0; k < t->ns; k++) {
		u->sh[k] = t->sh[ps[k]];
		inv_s[ps[k]] = k;
	}
	for (size_t k = 0; k < t->nn; k++) {
		u->nd_[k] = t->nd_[t->nn - 1 - k];
		u->nd_[k].item = inv_i[u->nd_[k].item];
		u->nd_[k].shelter = inv_s[u->nd_[k].shelter];
	}
}

static void shuffled_same_plan(void **state)
{
	(void)state;
	static char a[16384], b[16384];
	for (unsigned long long seed = 1; seed <= N_RANDOM; seed++) {
		struct inst t, u;
		make_inst(&t, seed);
		shuffle_inst(&t, &u);
		struct alloc_input in = inst_input(&t), in2 = inst_input(&u);
		struct alloc_plan *p = run_ok(&in), *q = run_ok(&in2);
		plan_text(&in, p, a, sizeof a);
		plan_text(&in2, q, b, sizeof b);
		if (strcmp(a, b))
			fail_msg("seed %llu: shuffled input, other plan:\n%s\n%s",
				 seed, a, b);
		alloc_plan_free(p);
		alloc_plan_free(q);
	}
}

/* Sorted ratios of one (item, class) compare as fractions. */
static int cmp_ratio(const void *x, const void *y)
{
	const long long *a = x, *b = y; /* {got, need} */
	long long l = a[0] * b[1], r = b[0] * a[1];
	return (l > r) - (l < r);
}

static void sorted_ratios(const struct alloc_input *in, const long long *need,
			  const long long *got, size_t i, int u, long long *out,
			  size_t *n)
{
	*n = 0;
	for (size_t s = 0; s < in->n_shelters; s++) {
		size_t c = (s * in->n_items + i) * 3 + u;
		if (need[c] > 0) {
			out[2 * *n] = got[c];
			out[2 * *n + 1] = need[c];
			(*n)++;
		}
	}
	qsort(out, *n, 2 * sizeof *out, cmp_ratio);
}

#define N_GLPK 400

/* The plan's transport of item equals the reference's (GLPK's objective
 * carries floating-point tolerance: half a unit-metre). */
static void check_transport(const struct alloc_plan *p, size_t item,
			    double ref_m, unsigned long long seed)
{
	double our_m = 0;
	for (size_t k = 0; k < p->n_lines; k++)
		if (p->lines[k].item == item)
			our_m += (double)p->lines[k].qty * p->lines[k].distance_m;
	if (fabs(our_m - ref_m) > 0.5)
		fail_msg("seed %llu item %zu: transport %.0f, GLPK %.0f", seed,
			 item, our_m, ref_m);
}

/* Same objective values as the GLPK model: per item and class the
 * sorted fill ratios, and the least transport, in integer metres. */
static void glpk_reference(void **state)
{
	(void)state;
	long long need[96], got[96], ref[8 * 3], a[16], b[16];
	for (unsigned long long seed = 1; seed <= N_GLPK; seed++) {
		struct inst t;
		make_inst(&t, seed);
		struct alloc_input in = inst_input(&t);
		struct alloc_plan *p = run_ok(&in);
		tally(&in, p, need, got);
		for (size_t i = 0; i < t.ni; i++) {
			double ref_m = 0;
			assert_int_equal(glpk_alloc_item(&in, i, ref, &ref_m), 0);
			long long refgot[96];
			memcpy(refgot, got, sizeof got);
			for (size_t s = 0; s < t.ns; s++)
				for (int u = 0; u < 3; u++)
					refgot[(s * t.ni + i) * 3 + u] =
						ref[s * 3 + u];
			for (int u = 0; u < 3; u++) {
				size_t na, nb;
				sorted_ratios(&in, need, got, i, u, a, &na);
				sorted_ratios(&in, need, refgot, i, u, b, &nb);
				for (size_t k = 0; k < na; k++)
					if (a[2 * k] * b[2 * k + 1] !=
					    b[2 * k] * a[2 * k + 1])
						fail_msg("seed %llu item %zu "
							 "class %d: ratio %zu "
							 "differs from GLPK",
							 seed, i, u, k);
			}
			check_transport(p, i, ref_m, seed);
		}
		alloc_plan_free(p);
	}
}

/* ---- medium scale: the paths that small instances never take ---- */

/* 2,400 shelters around two towns, 24 depots, 3 items; needs of 1-12
 * units on a coarse grid (equal needs and distances: open ties), stock
 * ~60 % of need spread at random, unlike people.  Big enough for the
 * coarse problem that guides the candidate arcs, a start that goes past
 * the candidates, and threads. */
#define W_NS 2400
#define W_ND 24
#define W_NI 3

struct world {
	struct alloc_item items[W_NI];
	struct alloc_depot dep[W_ND];
	struct alloc_shelter *sh;
	struct alloc_need *nd;
	long long stock[W_ND][W_NI];
	char (*ids)[8];
	struct alloc_input in;
};

static void world_place(double *lat, double *lon, int town)
{
	*lat = 37.0 + 0.5 * town + 0.002 * rnd(100);
	*lon = 138.0 + 0.5 * town + 0.002 * rnd(100);
}

static void make_world(struct world *w, unsigned long long seed)
{
	long long need[W_NI] = {0};
	size_t id = 0;
	rng_state = seed;
	w->sh = calloc(W_NS, sizeof *w->sh);
	w->nd = calloc(W_NS * W_NI, sizeof *w->nd);
	w->ids = calloc(W_NS + W_ND + W_NI, sizeof *w->ids);
	for (size_t i = 0; i < W_NI; i++) {
		snprintf(w->ids[id], 8, "i%zu", i);
		w->items[i].id = w->ids[id++];
	}
	for (size_t s = 0; s < W_NS; s++) {
		snprintf(w->ids[id], 8, "s%04zu", s);
		w->sh[s].id = w->ids[id++];
		world_place(&w->sh[s].lat, &w->sh[s].lon, (int)rnd(2));
		for (size_t i = 0; i < W_NI; i++) {
			struct alloc_need *n = &w->nd[s * W_NI + i];
			*n = (struct alloc_need){s, i, (enum alloc_urgency)rnd(3),
						 1 + (long long)rnd(12)};
			need[i] += n->qty;
		}
	}
	for (size_t d = 0; d < W_ND; d++) {
		snprintf(w->ids[id], 8, "d%02zu", d);
		w->dep[d].id = w->ids[id++];
		world_place(&w->dep[d].lat, &w->dep[d].lon, (int)(d % 2));
		for (size_t i = 0; i < W_NI; i++)
			w->stock[d][i] = (long long)rnd(1000) * need[i] * 6 /
					 (10 * 500 * W_ND);
		w->dep[d].stock = w->stock[d];
	}
	w->in = (struct alloc_input){w->items, W_NI,	 w->dep,   W_ND,
				     w->sh,    W_NS,	 w->nd, W_NS * W_NI};
}

static void free_world(struct world *w)
{
	free(w->sh);
	free(w->nd);
	free(w->ids);
}

static struct alloc_plan *run_threads(const struct alloc_input *in,
				      int threads)
{
	struct alloc_plan *p = NULL;
	sl_error err;
	if (alloc_run_threads(in, threads, &p, &err))
		fail_msg("alloc_run_threads(%d): %s", threads, err.text);
	return p;
}

/* Fairness certificate, conservation, and for each item the least
 * transport for the plan's per-shelter totals (GLPK's LP). */
static void medium_exact(void **state)
{
	(void)state;
	size_t cells = W_NS * W_NI * 3;
	long long *need = calloc(cells, sizeof *need),
		  *got = calloc(cells, sizeof *got),
		  *total = calloc(W_NS, sizeof *total);
	for (unsigned long long seed = 1; seed <= 2; seed++) {
		struct world w;
		make_world(&w, seed);
		struct alloc_plan *p = run_threads(&w.in, 1);
		tally(&w.in, p, need, got);
		check_bounds(&w.in, p, need, got);
		check_priority(&w.in, p, need, got);
		check_maxmin(&w.in, need, got);
		check_fills(&w.in, p, need, got);
		for (size_t i = 0; i < W_NI; i++) {
			double ref_m;
			for (size_t s = 0; s < W_NS; s++) {
				size_t c = (s * W_NI + i) * 3;
				total[s] = got[c] + got[c + 1] + got[c + 2];
			}
			assert_int_equal(glpk_transport(&w.in, i, total, &ref_m), 0);
			check_transport(p, i, ref_m, seed);
		}
		alloc_plan_free(p);
		free_world(&w);
	}
	free(need);
	free(got);
	free(total);
}

/* Plans p (of input a) and q (of input b) name the same ids, units and
 * texts in the same order. */
static void same_plan(const struct alloc_input *a, const struct alloc_plan *p,
		      const struct alloc_input *b, const struct alloc_plan *q)
{
	assert_int_equal(p->n_lines, q->n_lines);
	assert_int_equal(p->n_fills, q->n_fills);
	for (size_t k = 0; k < p->n_lines; k++) {
		const struct alloc_line *x = &p->lines[k], *y = &q->lines[k];
		assert_string_equal(a->depots[x->depot].id,
				    b->depots[y->depot].id);
		assert_string_equal(a->shelters[x->shelter].id,
				    b->shelters[y->shelter].id);
		assert_string_equal(a->items[x->item].id, b->items[y->item].id);
		assert_int_equal(x->urgency, y->urgency);
		assert_int_equal(x->qty, y->qty);
		assert_int_equal(x->distance_m, y->distance_m);
	}
	for (size_t k = 0; k < p->n_fills; k++) {
		const struct alloc_fill *x = &p->fills[k], *y = &q->fills[k];
		assert_string_equal(a->shelters[x->shelter].id,
				    b->shelters[y->shelter].id);
		assert_int_equal(x->urgency, y->urgency);
		assert_int_equal(x->allocated, y->allocated);
		assert_string_equal(x->why, y->why);
	}
}

/* The same plan on 1 or 3 threads, and for shuffled shelters and depots
 * (the coarse problem and the start are built in id order too). */
static void medium_deterministic(void **state)
{
	(void)state;
	struct world w, u;
	make_world(&w, 3);
	make_world(&u, 3);
	size_t ps[W_NS], pd[W_ND], inv[W_NS];
	for (size_t k = 0; k < W_NS; k++)
		ps[k] = k;
	for (size_t k = 0; k < W_ND; k++)
		pd[k] = k;
	for (size_t k = W_NS; k > 1; k--) {
		size_t j = rnd((unsigned)k), x = ps[k - 1];
		ps[k - 1] = ps[j];
		ps[j] = x;
	}
	for (size_t k = W_ND; k > 1; k--) {
		size_t j = rnd((unsigned)k), x = pd[k - 1];
		pd[k - 1] = pd[j];
		pd[j] = x;
	}
	for (size_t k = 0; k < W_NS; k++) {
		u.sh[k] = w.sh[ps[k]];
		inv[ps[k]] = k;
	}
	for (size_t k = 0; k < W_ND; k++) {
		memcpy(u.stock[k], w.stock[pd[k]], sizeof u.stock[k]);
		u.dep[k] = w.dep[pd[k]];
		u.dep[k].stock = u.stock[k];
	}
	for (size_t k = 0; k < W_NS * W_NI; k++) {
		u.nd[k] = w.nd[W_NS * W_NI - 1 - k];
		u.nd[k].shelter = inv[u.nd[k].shelter];
	}
	struct alloc_plan *p = run_threads(&w.in, 1), *q = run_threads(&w.in, 3),
			  *r = run_threads(&u.in, 0);
	same_plan(&w.in, p, &w.in, q);
	same_plan(&w.in, p, &u.in, r);
	alloc_plan_free(p);
	alloc_plan_free(q);
	alloc_plan_free(r);
	free_world(&w);
	free_world(&u);
}

/* An allocation failing on any of the threads: SL_ENOMEM, no plan, the
 * other threads stop and free what they hold (the sanitizer build checks
 * the leaks). */
static void medium_out_of_memory(void **state)
{
	(void)state;
	static const long at[] = {0, 3, 10, 30, 60, 100, 150, 250, 400, 700};
	struct world w;
	int failed = 0;
	make_world(&w, 4);
	for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
		struct alloc_plan *p = NULL;
		sl_error err;
		sl_alloc_fail_after(at[k]);
		int rc = alloc_run_threads(&w.in, 3, &p, &err);
		sl_alloc_fail_after(-1);
		if (rc) {
			assert_int_equal(rc, SL_ENOMEM);
			assert_null(p);
			failed++;
		}
		alloc_plan_free(p);
	}
	assert_true(failed > 5);
	free_world(&w);
}

/* ---- refused input ---- */

static void expect_refused(const struct alloc_input *in, const char *words)
{
	struct alloc_plan *p = (struct alloc_plan *)1;
	sl_error err = {{0}};
	if (alloc_run(in, &p, &err) != SL_EINVAL)
		fail_msg("accepted, expected refusal with '%s'", words);
	assert_null(p);
	if (!strstr(err.text, words))
		fail_msg("error '%s' lacks '%s'", err.text, words);
}

static void bad_input(void **state)
{
	(void)state;
	struct alloc_item items[] = {{"water"}, {"food"}};
	long long st[] = {10, -1};
	struct alloc_depot dep[] = {{"D", 37.0, 138.0, st}};
	struct alloc_shelter sh[] = {{"A", 37.1, 138.0}, {"B", NAN, NAN}};
	struct alloc_need nd[] = {{0, 0, CRIT, 5}};
	struct alloc_input in = {items, 2, dep, 1, sh, 2, nd, 1};
	expect_refused(&in, "depots[0].stock[1] (D, food): -1 is negative");
	st[1] = ALLOC_QTY_MAX + 1;
	expect_refused(&in, "too large");
	st[1] = 0;
	nd[0].item = 2;
	expect_refused(&in, "needs[0].item: index 2 is not an item");
	nd[0].item = 0;
	nd[0].shelter = 5;
	expect_refused(&in, "needs[0].shelter: index 5 is not a shelter");
	nd[0].shelter = 1;
	expect_refused(&in, "shelters[1] (B): no valid position");
	nd[0].shelter = 0;
	nd[0].qty = -3;
	expect_refused(&in, "needs[0].qty: -3 is negative");
	nd[0].qty = 5;
	nd[0].urgency = (enum alloc_urgency)7;
	expect_refused(&in, "needs[0].urgency");
	nd[0].urgency = CRIT;
	sh[1].id = "A";
	expect_refused(&in, "repeats");
	sh[1].id = "B";
	dep[0].lat = NAN;
	expect_refused(&in, "depots[0] (D): no valid position");
	dep[0].lat = 37.0;
	/* many lines, each allowed, together past the per-item total */
	size_t nmany = ALLOC_TOTAL_MAX / ALLOC_QTY_MAX + 1;
	struct alloc_need *many = calloc(nmany, sizeof *many);
	assert_non_null(many);
	for (size_t k = 0; k < nmany; k++)
		many[k] = (struct alloc_need){0, 0, CRIT, ALLOC_QTY_MAX};
	struct alloc_input big = {items, 2, dep, 1, sh, 2, many, nmany};
	expect_refused(&big, "quantity overflow");
	free(many);
	/* a shelter without position but without need is fine */
	struct alloc_plan *p = run_ok(&in);
	alloc_plan_free(p);
}

/* Every allocation failure returns SL_ENOMEM with nothing leaked (the
 * sanitizer build checks the leaks) and no plan. */
static void out_of_memory(void **state)
{
	(void)state;
	struct inst t;
	make_inst(&t, 7);
	struct alloc_input in = inst_input(&t);
	for (long n = 0;; n++) {
		struct alloc_plan *p = NULL;
		sl_error err;
		sl_alloc_fail_after(n);
		int rc = alloc_run(&in, &p, &err);
		sl_alloc_fail_after(-1);
		if (rc == 0) {
			alloc_plan_free(p);
			assert_true(n > 5);
			break;
		}
		assert_int_equal(rc, SL_ENOMEM);
		assert_null(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_enough),
		cmocka_unit_test(golden_scarce_proportional),
		cmocka_unit_test(golden_classes),
		cmocka_unit_test(golden_tie_by_distance),
		cmocka_unit_test(golden_small_needs_first),
		cmocka_unit_test(golden_two_depots),
		cmocka_unit_test(golden_no_stock),
		cmocka_unit_test(random_properties),
		cmocka_unit_test(shuffled_same_plan),
		cmocka_unit_test(glpk_reference),
		cmocka_unit_test(medium_exact),
		cmocka_unit_test(medium_deterministic),
		cmocka_unit_test(medium_out_of_memory),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
