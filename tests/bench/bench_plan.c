/*
 * bench_plan - the whole plan (fair allocation, then each depot's trucks
 * packed and their stops ordered: plan_compute) on the seeded scenarios
 * of hq/scenario.c, the same events `hq scenario` loads.
 *
 *   bench_plan [RUNS]   kashiwazaki and kumamoto; best of RUNS (5)
 *
 * Printed per scale: the plan's time, the goal of issue 5 and the ratio
 * to it; beside it, in the same run, the allocation alone (alloc_run on
 * the same input), so the share of routing is visible; trips, stops and
 * route length against nearest-neighbour ordering of the same stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hq.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static catalog *load_items(void)
{
	static char schemas[] = SL_SCHEMA_DIR,
		    items_file[] = SL_DATA_DIR "/items.json";
	struct hq_config cfg = { 0 };
	sl_error err;
	cfg.common.schemas = schemas;
	cfg.common.items = items_file;
	catalog *items = hq_load_items(&cfg, &err);
	if (items == NULL)
		fprintf(stderr, "bench_plan: %s\n", err.text);
	return items;
}

static int run_scale(const catalog *items, const char *scale, double goal_s,
		     int runs)
{
	struct scenario *sc;
	struct plan_result *r = NULL;
	sl_error err;
	double best = 1e9, best_alloc = 1e9;
	if (scenario_make(items, scale, 20070716, &sc, &err) != 0) {
		fprintf(stderr, "bench_plan: %s\n", err.text);
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		plan_result_free(r);
		double t0 = now_s();
		if (plan_compute(&sc->in, &r, &err) != 0) {
			fprintf(stderr, "bench_plan: %s: %s\n", scale, err.text);
			scenario_free(sc);
			return 1;
		}
		double t = now_s() - t0;
		best = t < best ? t : best;
		/* the same allocation again, alone: alloc_run is pure */
		struct alloc_input a = { r->alloc_items,
					 catalog_count(items),
					 r->alloc_depots,
					 sc->in.n_depots,
					 r->alloc_shelters,
					 sc->in.n_shelters,
					 r->alloc_needs,
					 sc->in.n_needs };
		struct alloc_plan *p;
		t0 = now_s();
		if (alloc_run(&a, &p, &err) == 0) {
			t = now_s() - t0;
			best_alloc = t < best_alloc ? t : best_alloc;
			alloc_plan_free(p);
		}
	}
	size_t trips = 0, stops = 0;
	double len = 0, nn = 0;
	for (size_t d = 0; d < r->n_routes; d++) {
		const struct route_plan *rp = r->routes[d];
		for (size_t t = 0; rp && t < rp->ntrips; t++) {
			trips++;
			stops += rp->trips[t].nstops;
			len += rp->trips[t].length_km;
			nn += rp->trips[t].nn_length_km;
		}
	}
	printf("| %s | %zu / %zu / %zu / %zu | %zu | %.4f s | %.4f s | %.2f | "
	       "%g s | %.3f | %zu (%.2f) | %.1f km | %.1f km | %.1f %% |\n",
	       scale, sc->in.n_shelters, sc->n_items, sc->in.n_depots, sc->in.n_vehicles, sc->in.n_needs, best,
	       best_alloc, best_alloc / best, goal_s, best / goal_s, trips,
	       trips ? (double)stops / (double)trips : 0, len, nn,
	       nn > 0 ? 100 * (nn - len) / nn : 0);
	plan_result_free(r);
	scenario_free(sc);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	catalog *items = load_items();
	if (items == NULL || runs < 1)
		return 2;
	printf("| scale | shelters / items / depots / trucks | need lines | "
	       "plan (alloc + trucks) | alloc alone | alloc share | goal | "
	       "ratio to goal | trips (stops per trip) | route length | "
	       "nearest neighbour | shorter |\n"
	       "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	int rc = run_scale(items, "kashiwazaki", 0.1, runs) ||
		 run_scale(items, "kumamoto", 2.0, runs);
	catalog_free(items);
	return rc;
}
