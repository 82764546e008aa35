/*
 * bench_alloc.c - hq/alloc.c at the scales of issue 5, on seeded synthetic
 * events: Kashiwazaki 2007 (82 shelters, 12 items, 5 depots), Kumamoto
 * 2016 (855, 20, 30) and a national Nankai-type event (50,000, 20, 500).
 * Stock is ~60 % of need so every item is scarce.  Where GLPK can solve
 * the same model (tests/unit/alloc_glpk.h) it runs on the same instance:
 * our time as a ratio of GLPK's, and the objective gap.
 *
 * usage: bench_alloc [kashiwazaki|kumamoto|national|all|kashiwazaki-1|small|
 *                     national-1|national-5k] [glpk|lp] [threads=N]
 *   "all" is the three event scales; "glpk" also runs the reference on
 *   the instances named (it needs minutes to hours past ~100 shelters);
 *   "lp" checks only the transport: per item, GLPK's least transport for
 *   the plan's per-shelter totals (an LP: fine up to ~10^6 pairs);
 *   threads=N caps alloc_run's threads (default: one per CPU).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/alloc_glpk.h"
#include "hq.h"

struct scale {
	const char *name;
	size_t shelters, items, depots;
	double lat, lon, spread_deg; /* one region; 0 spread: all Japan */
};

static const struct scale scales[] = {
	{"kashiwazaki", 82, 12, 5, 37.37, 138.56, 0.12},
	{"kumamoto", 855, 20, 30, 32.80, 130.74, 0.35},
	{"national", 50000, 20, 500, 0, 0, 0},
	/* What GLPK's lexicographic MIP sequence finishes in minutes: the
	 * Kashiwazaki event with one item (the full one ran > 39 min). */
	{"kashiwazaki-1", 82, 1, 5, 37.37, 138.56, 0.12},
	{"small", 20, 3, 3, 37.37, 138.56, 0.12},
	/* Quicker national-like runs while developing: one item at full
	 * scale (the per-item cost), and a tenth of the shelters and depots
	 * with every item. */
	{"national-1", 50000, 1, 500, 0, 0, 0},
	{"national-5k", 5000, 20, 50, 0, 0, 0},
};

/* Population centres for the national scale: shelters and depots
 * cluster around them as evacuees do. */
static const double cities[][2] = {
	{35.68, 139.69}, {34.69, 135.50}, {35.18, 136.91}, {33.59, 130.40},
	{43.06, 141.35}, {38.27, 140.87}, {34.39, 132.46}, {37.92, 139.04},
	{33.56, 133.53}, {34.98, 138.38}, {32.80, 130.74}, {39.72, 140.10},
	{36.56, 136.66}, {34.34, 134.04}, {31.60, 130.56}, {26.21, 127.68},
};

static unsigned long long rng = 1;
static double uniform(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static void place(const struct scale *sc, double *lat, double *lon)
{
	if (sc->spread_deg > 0) {
		*lat = sc->lat + sc->spread_deg * gauss() / 2;
		*lon = sc->lon + sc->spread_deg * gauss() / 2;
		return;
	}
	size_t c = (size_t)(uniform() * (sizeof cities / sizeof cities[0]));
	*lat = cities[c][0] + 0.4 * gauss();
	*lon = cities[c][1] + 0.4 * gauss();
}

struct world {
	struct alloc_item *items;
	struct alloc_depot *depots;
	struct alloc_shelter *shelters;
	struct alloc_need *needs;
	long long *stock;
	char *ids;
	struct alloc_input in;
};

/* Headcounts: lognormal around 100 people (median), a few schools and
 * gyms of 1,000+; per-person daily units differ by item. */
static void make_world(struct world *w, const struct scale *sc,
		       unsigned long long seed)
{
	size_t ns = sc->shelters, ni = sc->items, nd = sc->depots;
	rng = seed;
	w->items = calloc(ni, sizeof *w->items);
	w->depots = calloc(nd, sizeof *w->depots);
	w->shelters = calloc(ns, sizeof *w->shelters);
	w->needs = calloc(ns * ni, sizeof *w->needs);
	w->stock = calloc(nd * ni, sizeof *w->stock);
	w->ids = calloc(ni + nd + ns, 16);
	char *id = w->ids;
	double *per_person = calloc(ni, sizeof(double)), *total = calloc(ni, sizeof(double));
	for (size_t i = 0; i < ni; i++, id += 16) {
		snprintf(id, 16, "item%02u", (unsigned)(i % 100));
		w->items[i].id = id;
		per_person[i] = 0.05 + 3 * uniform(); /* diapers .. water */
	}
	for (size_t s = 0; s < ns; s++, id += 16) {
		snprintf(id, 16, "S%06u", (unsigned)(s % 1000000));
		w->shelters[s].id = id;
		place(sc, &w->shelters[s].lat, &w->shelters[s].lon);
		double people = fmin(4000, exp(log(100) + 1.0 * gauss()));
		for (size_t i = 0; i < ni; i++) {
			struct alloc_need *n = &w->needs[s * ni + i];
			double u = uniform();
			n->shelter = s;
			n->item = i;
			n->urgency = u < 0.2 ? ALLOC_CRITICAL
				     : u < 0.5 ? ALLOC_HIGH : ALLOC_NORMAL;
			n->qty = llround(people * per_person[i] * (0.5 + uniform()));
			total[i] += (double)n->qty;
		}
	}
	double *wsum = calloc(ni, sizeof(double)), *wt = calloc(nd * ni, sizeof(double));
	for (size_t d = 0; d < nd; d++, id += 16) {
		snprintf(id, 16, "D%04u", (unsigned)(d % 10000));
		w->depots[d].id = id;
		place(sc, &w->depots[d].lat, &w->depots[d].lon);
		w->depots[d].stock = &w->stock[d * ni];
		for (size_t i = 0; i < ni; i++)
			wsum[i] += wt[d * ni + i] = uniform();
	}
	for (size_t d = 0; d < nd; d++)
		for (size_t i = 0; i < ni; i++)
			w->stock[d * ni + i] = (long long)(0.6 * total[i] *
							   wt[d * ni + i] / wsum[i]);
	w->in = (struct alloc_input){w->items, ni, w->depots, nd,
				     w->shelters, ns, w->needs, ns * ni};
	free(per_person);
	free(total);
	free(wsum);
	free(wt);
}

static void free_world(struct world *w)
{
	free(w->items);
	free(w->depots);
	free(w->shelters);
	free(w->needs);
	free(w->stock);
	free(w->ids);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of every thread of the process: with wall time it shows how
 * much the other core helped, or how much other work took the CPUs. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_ratio(const void *x, const void *y)
{
	const long long *a = x, *b = y;
	__int128 l = (__int128)a[0] * b[1], r = (__int128)b[0] * a[1];
	return (l > r) - (l < r);
}

/* Largest difference between our sorted ratios and GLPK's, per item and
 * class; transport difference in unit-metres. */
static void compare_glpk(const struct world *w, const struct alloc_plan *p,
			 double *glpk_s, double *ratio_gap, double *transport_gap)
{
	size_t ns = w->in.n_shelters, ni = w->in.n_items;
	long long *ref = calloc(ns * 3, sizeof *ref), *got = calloc(ns * ni * 3, sizeof *got);
	long long *a = calloc(2 * ns, sizeof *a), *b = calloc(2 * ns, sizeof *b);
	*glpk_s = *ratio_gap = *transport_gap = 0;
	for (size_t k = 0; k < p->n_lines; k++)
		got[(p->lines[k].shelter * ni + p->lines[k].item) * 3 +
		    p->lines[k].urgency] += p->lines[k].qty;
	for (size_t i = 0; i < ni; i++) {
		double ref_m, our_m = 0, t0 = now_s();
		if (glpk_alloc_item(&w->in, i, ref, &ref_m)) {
			printf("  glpk failed on item %zu\n", i);
			continue;
		}
		*glpk_s += now_s() - t0;
		for (size_t k = 0; k < p->n_lines; k++)
			if (p->lines[k].item == i)
				our_m += (double)p->lines[k].qty * p->lines[k].distance_m;
		*transport_gap = fmax(*transport_gap, fabs(our_m - ref_m));
		for (int u = 0; u < 3; u++) {
			size_t n = 0;
			for (size_t s = 0; s < ns; s++) {
				struct alloc_need nd = w->needs[s * ni + i];
				if ((int)nd.urgency != u || nd.qty == 0)
					continue;
				a[2 * n] = got[(s * ni + i) * 3 + u];
				b[2 * n] = ref[s * 3 + u];
				a[2 * n + 1] = b[2 * n + 1] = nd.qty;
				n++;
			}
			qsort(a, n, 2 * sizeof *a, cmp_ratio);
			qsort(b, n, 2 * sizeof *b, cmp_ratio);
			for (size_t k = 0; k < n; k++)
				*ratio_gap = fmax(*ratio_gap,
						  fabs((double)a[2 * k] / a[2 * k + 1] -
						       (double)b[2 * k] / b[2 * k + 1]));
		}
	}
	free(ref);
	free(got);
	free(a);
	free(b);
}

/* Largest difference, over items, between our transport and GLPK's
 * least transport for our per-shelter totals (unit-metres). */
static double compare_lp(const struct world *w, const struct alloc_plan *p,
			 double *lp_s)
{
	size_t ns = w->in.n_shelters;
	long long *total = calloc(ns, sizeof *total);
	double gap = 0, t0 = now_s();
	for (size_t i = 0; i < w->in.n_items; i++) {
		double ref_m, our_m = 0;
		memset(total, 0, ns * sizeof *total);
		for (size_t k = 0; k < p->n_lines; k++)
			if (p->lines[k].item == i) {
				total[p->lines[k].shelter] += p->lines[k].qty;
				our_m += (double)p->lines[k].qty *
					 p->lines[k].distance_m;
			}
		if (glpk_transport(&w->in, i, total, &ref_m)) {
			printf("  glpk failed on item %zu\n", i);
			continue;
		}
		gap = fmax(gap, fabs(our_m - ref_m));
	}
	*lp_s = now_s() - t0;
	free(total);
	return gap;
}

static int run(const struct scale *sc, int glpk, int threads)
{
	struct world w;
	struct alloc_plan *p;
	sl_error err;
	long long need = 0, sent = 0, unit_m = 0;
	make_world(&w, sc, 20070716);
	double t0 = now_s(), c0 = cpu_s();
	if (alloc_run_threads(&w.in, threads, &p, &err)) {
		printf("%s: %s\n", sc->name, err.text);
		return 1;
	}
	double t = now_s() - t0, c = cpu_s() - c0;
	for (size_t k = 0; k < w.in.n_needs; k++)
		need += w.needs[k].qty;
	for (size_t k = 0; k < p->n_lines; k++)
		sent += p->lines[k].qty,
		unit_m += p->lines[k].qty * p->lines[k].distance_m;
	/* The exact unit-metres total shows a changed optimum at a glance. */
	printf("%-12s %6zu shelters %2zu items %3zu depots: %8.3f s (cpu %.3f s), "
	       "%zu lines, %.1f %% of need filled, %lld unit-m\n",
	       sc->name, sc->shelters, sc->items, sc->depots, t, c, p->n_lines,
	       100.0 * (double)sent / (double)need, unit_m);
	if (glpk == 2) {
		double ls, gap = compare_lp(&w, p, &ls);
		printf("%-12s GLPK transport LP for our totals: %.3f s; largest "
		       "transport gap %.3g unit-m\n",
		       sc->name, ls, gap);
	} else if (glpk) {
		double gs, rg, tg;
		compare_glpk(&w, p, &gs, &rg, &tg);
		printf("%-12s GLPK (same model, tests/unit/alloc_glpk.h): %.3f s; "
		       "ours/GLPK %.3g; largest ratio gap %.3g, transport gap "
		       "%.3g unit-m\n",
		       sc->name, gs, t / gs, rg, tg);
	}
	alloc_plan_free(p);
	free_world(&w);
	return 0;
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "all";
	int glpk = 0, threads = 0, rc = 0;
	for (int a = 2; a < argc; a++) {
		char *end;
		if (!strcmp(argv[a], "glpk")) {
			glpk = 1;
		} else if (!strcmp(argv[a], "lp")) {
			glpk = 2;
		} else if (!strncmp(argv[a], "threads=", 8)) {
			long t = strtol(argv[a] + 8, &end, 10);
			if (*end || t < 1 || t > 64) {
				fprintf(stderr, "threads=N: N is 1..64\n");
				return 2;
			}
			threads = (int)t;
		} else {
			fprintf(stderr, "unknown argument %s\n", argv[a]);
			return 2;
		}
	}
	for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++)
		if ((!strcmp(which, "all") && k < 3) ||
		    !strcmp(which, scales[k].name))
			rc |= run(&scales[k], glpk, threads);
	return rc;
}
