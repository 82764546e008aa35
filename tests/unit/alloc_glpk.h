/*
 * alloc_glpk.h - the exact reference for hq/alloc.c: the same model as a
 * sequence of GLPK integer programs (docs/allocation.md, "Reference").
 * Shared by tests/unit/test_hq_alloc.c and tests/bench/bench_alloc.c, so
 * both compare against one formulation; static functions because each
 * program includes it once.  Slow by design: for small instances.
 *
 * Per item, with integer a[s][c] (units to shelter s for class c) and
 * integer x[d][s] (units from depot d to shelter s):
 *   sum_s x[d][s] <= stock[d],  sum_d x[d][s] = sum_c a[s][c],
 *   0 <= a[s][c] <= need[s][c];
 * then, class by class (critical, high, normal):
 *   1. maximise sum_s a[s][c], fix it;
 *   2. for k = 1..K: maximise the sum of the k smallest ratios
 *      a[s][c]/need[s][c] (Ogryczak's form: k t - sum_s d_s,
 *      d_s >= t - ratio_s, d_s >= 0), fix it.  Fixing the sums of the k
 *      smallest for every k fixes the sorted vector: leximin.
 * and last: minimise sum dist[d][s] x[d][s] (integer metres).
 */
#ifndef ALLOC_GLPK_H
#define ALLOC_GLPK_H

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

struct glpk_item {
	glp_prob *lp;
	int *acol;   /* [s * 3 + c] column of a, or 0 */
	int *xcol;   /* [d * ns + s] column of x, or 0 */
	long long *need; /* [s * 3 + c] */
};

/* Simplex first, then branch and bound from its basis: GLPK's MIP
 * presolver declares the fixed-level rows infeasible on rounding. */
/* Simplex first, then branch and bound from its basis: GLPK's MIP
 * presolver declares the fixed-level rows infeasible on rounding. */
static int glpk_solve(glp_prob *lp, double *obj)
{
	glp_smcp sp;
	glp_iocp parm;
	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	int r1 = glp_simplex(lp, &sp), st1 = glp_get_status(lp), r2 = -1,
	    st2 = -1;
	if (r1 == 0 && st1 == GLP_OPT) {
		r2 = glp_intopt(lp, &parm);
		st2 = glp_mip_status(lp);
	}
	if (r2 != 0 || st2 != GLP_OPT) {
		fprintf(stderr, "glpk: simplex %d/%d, intopt %d/%d\n", r1, st1,
			r2, st2);
		return -1;
	}
	*obj = glp_mip_obj_val(lp);
	return 0;
}

static void glpk_clear_obj(glp_prob *lp)
{
	for (int j = 1; j <= glp_get_num_cols(lp); j++)
		glp_set_obj_coef(lp, j, 0);
}

/* Adds the row lo <= sum val[i] x[ind[i]] (<= hi when up). */
static void glpk_row(glp_prob *lp, int n, const int *ind, const double *val,
		     int type, double lo, double hi)
{
	/* GLPK counts from 1: copy rather than pass ind - 1 */
	int r = glp_add_rows(lp, 1), *i1 = calloc((size_t)n + 1, sizeof(int));
	double *v1 = calloc((size_t)n + 1, sizeof(double));
	memcpy(i1 + 1, ind, (size_t)n * sizeof(int));
	memcpy(v1 + 1, val, (size_t)n * sizeof(double));
	glp_set_row_bnds(lp, r, type, lo, hi);
	glp_set_mat_row(lp, r, n, i1, v1);
	free(i1);
	free(v1);
}

static void glpk_build(struct glpk_item *g, const struct alloc_input *in,
		       size_t item)
{
	size_t ns = in->n_shelters, nd = in->n_depots;
	int *ind = calloc(nd + 4 * ns + 8, sizeof(int));
	double *val = calloc(nd + 4 * ns + 8, sizeof(double));
	g->need = calloc(ns * 3 + 1, sizeof(long long));
	g->acol = calloc(ns * 3 + 1, sizeof(int));
	g->xcol = calloc(nd * ns + 1, sizeof(int));
	for (size_t k = 0; k < in->n_needs; k++)
		if (in->needs[k].item == item)
			g->need[in->needs[k].shelter * 3 +
				in->needs[k].urgency] += in->needs[k].qty;
	g->lp = glp_create_prob();
	glp_term_out(GLP_OFF);
	for (size_t s = 0; s < ns; s++)
		for (int c = 0; c < 3; c++)
			if (g->need[s * 3 + c] > 0) {
				int j = glp_add_cols(g->lp, 1);
				glp_set_col_kind(g->lp, j, GLP_IV);
				glp_set_col_bnds(g->lp, j, GLP_DB, 0,
						 (double)g->need[s * 3 + c]);
				g->acol[s * 3 + c] = j;
			}
	for (size_t d = 0; d < nd; d++) {
		const long long *st = in->depots[d].stock;
		if (!st || st[item] <= 0)
			continue;
		int n = 0;
		for (size_t s = 0; s < ns; s++) {
			if (!g->acol[s * 3] && !g->acol[s * 3 + 1] &&
			    !g->acol[s * 3 + 2])
				continue;
			int j = glp_add_cols(g->lp, 1);
			glp_set_col_kind(g->lp, j, GLP_IV);
			glp_set_col_bnds(g->lp, j, GLP_LO, 0, 0);
			g->xcol[d * ns + s] = j;
			ind[n] = j;
			val[n++] = 1;
		}
		if (n)
			glpk_row(g->lp, n, ind, val, GLP_UP, 0, (double)st[item]);
	}
	for (size_t s = 0; s < ns; s++) {
		int n = 0;
		for (size_t d = 0; d < nd; d++)
			if (g->xcol[d * ns + s]) {
				ind[n] = g->xcol[d * ns + s];
				val[n++] = 1;
			}
		for (int c = 0; c < 3; c++)
			if (g->acol[s * 3 + c]) {
				ind[n] = g->acol[s * 3 + c];
				val[n++] = -1;
			}
		if (n)
			glpk_row(g->lp, n, ind, val, GLP_FX, 0, 0);
	}
	free(ind);
	free(val);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sum of the k smallest ratios of class c at the MIP point, rounded. */
static double glpk_k_smallest(const struct glpk_item *g, size_t ns, int c,
			      int k)
{
	double *r = calloc(ns + 1, sizeof(double)), sum = 0;
	size_t n = 0;
	for (size_t s = 0; s < ns; s++)
		if (g->acol[s * 3 + c])
			r[n++] = (double)llround(glp_mip_col_val(
					 g->lp, g->acol[s * 3 + c])) /
				 (double)g->need[s * 3 + c];
	qsort(r, n, sizeof *r, cmp_double);
	for (int j = 0; j < k; j++)
		sum += r[j];
	free(r);
	return sum;
}

/* Leximin of class c's ratios, given its total is fixed. */
static int glpk_leximin(struct glpk_item *g, size_t ns, int c)
{
	int K = 0;
	for (size_t s = 0; s < ns; s++)
		K += g->acol[s * 3 + c] != 0;
	int *ind = calloc((size_t)K + 2, sizeof(int));
	double *val = calloc((size_t)K + 2, sizeof(double));
	for (int k = 1; k <= K; k++) {
		int t = glp_add_cols(g->lp, 1), n = 0;
		glp_set_col_bnds(g->lp, t, GLP_FR, 0, 0);
		int d0 = glp_add_cols(g->lp, K);
		glpk_clear_obj(g->lp);
		glp_set_obj_dir(g->lp, GLP_MAX);
		glp_set_obj_coef(g->lp, t, k);
		for (size_t s = 0; s < ns; s++) {
			int a = g->acol[s * 3 + c];
			if (!a)
				continue;
			int d = d0 + n++;
			glp_set_col_bnds(g->lp, d, GLP_LO, 0, 0);
			glp_set_obj_coef(g->lp, d, -1);
			/* d - t + a/need >= 0 */
			int ri[3] = {d, t, a};
			double rv[3] = {1, -1, 1.0 / (double)g->need[s * 3 + c]};
			glpk_row(g->lp, 3, ri, rv, GLP_LO, 0, 0);
		}
		double opt;
		if (glpk_solve(g->lp, &opt)) {
			free(ind);
			free(val);
			return -1;
		}
		ind[0] = t;
		val[0] = k;
		for (int j = 0; j < K; j++) {
			ind[j + 1] = d0 + j;
			val[j + 1] = -1;
		}
		/* the level of the integer point found, not GLPK's objective
		 * (which carries its tolerances), so the fixed row stays
		 * feasible */
		opt = glpk_k_smallest(g, ns, c, k);
		glpk_row(g->lp, K + 1, ind, val, GLP_LO, opt - 1e-9, 0);
	}
	free(ind);
	free(val);
	return 0;
}

/* Class c: the most units, then leximin when the class is short. */
static int glpk_class(struct glpk_item *g, size_t ns, int c)
{
	int ind[1024], n = 0;
	double val[1024], opt;
	long long total = 0;
	glpk_clear_obj(g->lp);
	glp_set_obj_dir(g->lp, GLP_MAX);
	for (size_t s = 0; s < ns && n < 1024; s++)
		if (g->acol[s * 3 + c]) {
			glp_set_obj_coef(g->lp, g->acol[s * 3 + c], 1);
			ind[n] = g->acol[s * 3 + c];
			val[n++] = 1;
			total += g->need[s * 3 + c];
		}
	if (!n)
		return 0;
	if (glpk_solve(g->lp, &opt))
		return -1;
	long long got = llround(opt);
	glpk_row(g->lp, n, ind, val, GLP_LO, (double)got, 0);
	return got > 0 && got < total ? glpk_leximin(g, ns, c) : 0;
}

/*
 * Solves item's model.  got[s * 3 + c] receives the units of each
 * (shelter, class), *transport_m the least sum of metres x units.
 * Returns 0, or -1 when GLPK fails.
 */
static int glpk_alloc_item(const struct alloc_input *in, size_t item,
			   long long *got, double *transport_m)
{
	struct glpk_item g;
	size_t ns = in->n_shelters, nd = in->n_depots;
	int rc = 0;
	double opt = 0;
	glpk_build(&g, in, item);
	for (int c = 0; !rc && c < 3; c++)
		rc = glpk_class(&g, ns, c);
	if (!rc) {
		glpk_clear_obj(g.lp);
		glp_set_obj_dir(g.lp, GLP_MIN);
		for (size_t d = 0; d < nd; d++)
			for (size_t s = 0; s < ns; s++)
				if (g.xcol[d * ns + s])
					glp_set_obj_coef(
						g.lp, g.xcol[d * ns + s],
						(double)alloc_distance_m(
							in->depots[d].lat,
							in->depots[d].lon,
							in->shelters[s].lat,
							in->shelters[s].lon));
		rc = glpk_solve(g.lp, &opt);
	}
	for (size_t k = 0; !rc && k < ns * 3; k++)
		got[k] = g.acol[k] ? llround(glp_mip_col_val(g.lp, g.acol[k]))
				   : 0;
	*transport_m = opt;
	glp_delete_prob(g.lp);
	free(g.need);
	free(g.acol);
	free(g.xcol);
	return rc;
}

/*
 * The least transport of item when shelter s must receive exactly
 * total[s] units (any class): the transportation LP alone, which is
 * integral, so GLPK's simplex is exact here and fast enough for
 * thousands of shelters.  A plan whose transport equals it is optimal
 * for its per-shelter totals.  Returns 0, or -1 when GLPK fails.
 */
static int glpk_transport(const struct alloc_input *in, size_t item,
			  const long long *total, double *transport_m)
{
	size_t ns = in->n_shelters, nd = in->n_depots;
	int *col = calloc(nd * ns + 1, sizeof(int)), *ind = calloc(nd + ns + 1, sizeof(int));
	double *val = calloc(nd + ns + 1, sizeof(double));
	glp_prob *lp = glp_create_prob();
	glp_term_out(GLP_OFF);
	glp_set_obj_dir(lp, GLP_MIN);
	for (size_t d = 0; d < nd; d++) {
		const long long *st = in->depots[d].stock;
		int n = 0;
		for (size_t s = 0; st && st[item] > 0 && s < ns; s++) {
			if (total[s] <= 0)
				continue;
			int j = glp_add_cols(lp, 1);
			glp_set_col_bnds(lp, j, GLP_LO, 0, 0);
			glp_set_obj_coef(lp, j, (double)alloc_distance_m(
						       in->depots[d].lat, in->depots[d].lon,
						       in->shelters[s].lat,
						       in->shelters[s].lon));
			col[d * ns + s] = ind[n] = j;
			val[n++] = 1;
		}
		if (n)
			glpk_row(lp, n, ind, val, GLP_UP, 0, (double)st[item]);
	}
	for (size_t s = 0; s < ns; s++) {
		int n = 0;
		for (size_t d = 0; d < nd; d++)
			if (col[d * ns + s]) {
				ind[n] = col[d * ns + s];
				val[n++] = 1;
			}
		if (n)
			glpk_row(lp, n, ind, val, GLP_FX, (double)total[s],
				 (double)total[s]);
	}
	glp_smcp sp;
	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	int rc = glp_simplex(lp, &sp) == 0 && glp_get_status(lp) == GLP_OPT ? 0 : -1;
	*transport_m = rc ? 0 : glp_get_obj_val(lp);
	glp_delete_prob(lp);
	free(col);
	free(ind);
	free(val);
	return rc;
}

#endif
