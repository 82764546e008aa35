/*
 * bench_route - hq dispatch routing (route.c) at the scales.
 *
 *   bench_route [RUNS]       both scales, two load kinds each; prints time,
 *                            trips, stops per trip and route length against
 *                            nearest-neighbour ordering of the same stops
 *   bench_route sheets DIR   writes the first Kashiwazaki depot's pick
 *                            list, stop list (CSV) and HTML page into DIR
 *
 * Instances are synthetic and seeded (the same on every machine):
 * shelters in clusters around the real city centre (Kashiwazaki
 * 37.37N 138.56E, Kumamoto 32.80N 130.71E), each served by its nearest
 * depot (what the allocator's least-transport tie-break tends to give),
 * 2 t trucks (2000 kg, 10,000 l: a 2 t van body of about 3.1 x 1.6 x 2 m).
 * Unit weights and volumes come from data/items.json.  Loads:
 *  - "daily": one day for 50-800 people (log-uniform: many small shelters,
 *    few large): 3 l of drinking water and 3 meals each, and a blanket
 *    for one person in four;
 *  - "top-up": the small items that run out between daily runs: infant
 *    formula, infant and adult diapers, sanitary pads, toilet paper.
 * Baselines in the same run: nearest-neighbour ordering of each trip's
 * stops (length and time), and for the construction, every shelter
 * served alone (depot -> shelter -> depot per truckload).
 */
#include <math.h>
#include <stdint.h>
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

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}
static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
	double u = uniform(1e-12, 1), v = uniform(0, 1);
	return sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v);
}

struct scale {
	const char *name;
	double lat, lon;
	size_t shelters, depots, trucks, clusters;
	double spread_km, cluster_km;
};

static const struct scale scales[] = {
	{"Kashiwazaki", 37.37, 138.56, 82, 5, 20, 6, 8, 2},
	{"Kumamoto", 32.80, 130.71, 855, 30, 300, 25, 20, 3},
};

enum load_kind { DAILY, TOPUP };
static const char *const kind_name[] = {"daily", "top-up"};

struct world {
	struct depot *depots;
	char (*depot_ids)[32];
	struct vehicle *vehicles;
	char (*vehicle_ids)[32];
	struct route_shelter *shelters;
	char (*shelter_ids)[32];
	struct route_line *lines; /* 5 per shelter */
	size_t *depot_of;
	long long *people;
};

static const struct catalog_item *must(const catalog *cat, const char *code)
{
	const struct catalog_item *it = catalog_find(cat, code);
	if (it == NULL) {
		fprintf(stderr, "bench_route: no item %s in items.json\n",
			code);
		exit(1);
	}
	return it;
}

static void make_world(struct world *w, const struct scale *sc,
		       const catalog *cat, enum load_kind kind)
{
	double km_lat = 1 / 111.2,
	       km_lon = 1 / (111.2 * cos(sc->lat * 3.14159265 / 180));
	double clat[64], clon[64];
	rng_state =
		0x5EED0000u + sc->shelters; /* same positions for both kinds */
	w->depots = calloc(sc->depots, sizeof(*w->depots));
	w->depot_ids = calloc(sc->depots, sizeof(*w->depot_ids));
	w->vehicles = calloc(sc->trucks, sizeof(*w->vehicles));
	w->vehicle_ids = calloc(sc->trucks, sizeof(*w->vehicle_ids));
	w->shelters = calloc(sc->shelters, sizeof(*w->shelters));
	w->shelter_ids = calloc(sc->shelters, sizeof(*w->shelter_ids));
	w->lines = calloc(sc->shelters * 5, sizeof(*w->lines));
	w->depot_of = calloc(sc->shelters, sizeof(*w->depot_of));
	w->people = calloc(sc->shelters, sizeof(*w->people));
	if (!w->depots || !w->depot_ids || !w->vehicles || !w->vehicle_ids ||
	    !w->shelters || !w->shelter_ids || !w->lines || !w->depot_of ||
	    !w->people) {
		fprintf(stderr, "bench_route: out of memory\n");
		exit(1);
	}
	for (size_t c = 0; c < sc->clusters; c++) {
		clat[c] = sc->lat + gauss() * sc->spread_km * km_lat;
		clon[c] = sc->lon + gauss() * sc->spread_km * km_lon;
	}
	for (size_t d = 0; d < sc->depots; d++) {
		size_t c = d % sc->clusters;
		snprintf(w->depot_ids[d], sizeof(w->depot_ids[d]), "D%03zu",
			 d + 1);
		w->depots[d] = (struct depot){w->depot_ids[d], w->depot_ids[d],
					      clat[c] + gauss() * 3 * km_lat,
					      clon[c] + gauss() * 3 * km_lon};
	}
	for (size_t v = 0; v < sc->trucks; v++) {
		snprintf(w->vehicle_ids[v], sizeof(w->vehicle_ids[v]), "V%04zu",
			 v + 1);
		w->vehicles[v] = (struct vehicle){w->vehicle_ids[v],
						  w->depot_ids[v % sc->depots],
						  "2t", 2000, 10000};
	}
	const struct catalog_item *daily[] = {must(cat, "water_drinking"),
					      must(cat, "meal_ready"),
					      must(cat, "blanket")};
	const struct catalog_item *topup[] = {
		must(cat, "infant_formula"), must(cat, "diaper_infant"),
		must(cat, "diaper_adult"), must(cat, "sanitary_pad"),
		must(cat, "toilet_paper")};
	for (size_t s = 0; s < sc->shelters; s++) {
		size_t c = rnd() % sc->clusters, nl = 0;
		double lat = clat[c] + gauss() * sc->cluster_km * km_lat;
		double lon = clon[c] + gauss() * sc->cluster_km * km_lon;
		long long p = llround(50 * exp(uniform(0, log(16.0))));
		struct route_line *l = &w->lines[s * 5];
		w->people[s] = p;
		if (kind == DAILY) {
			l[nl++] =
				(struct route_line){daily[0], (p * 3 + 1) / 2};
			l[nl++] = (struct route_line){daily[1], 3 * p};
			l[nl++] = (struct route_line){daily[2], (p + 3) / 4};
		} else {
			/* 1 % infants (a can per 5 days, 8 diapers a day), 5 %
			 * needing adult diapers (5 a day), 25 % menstruating
			 * (5 pads a day), a roll per 10 people */
			l[nl++] =
				(struct route_line){topup[0], (p + 499) / 500};
			l[nl++] = (struct route_line){topup[1],
						      8 * ((p + 99) / 100)};
			l[nl++] = (struct route_line){topup[2],
						      5 * ((p + 19) / 20)};
			l[nl++] = (struct route_line){topup[3],
						      5 * ((p + 3) / 4)};
			l[nl++] = (struct route_line){topup[4], (p + 9) / 10};
		}
		snprintf(w->shelter_ids[s], sizeof(w->shelter_ids[s]),
			 "SH%04zu", s + 1);
		w->shelters[s] = (struct route_shelter){w->shelter_ids[s],
							w->shelter_ids[s],
							lat,
							lon,
							1,
							l,
							nl};
		size_t best = 0;
		for (size_t d = 1; d < sc->depots; d++)
			if (route_km(lat, lon, w->depots[d].lat,
				     w->depots[d].lon) <
			    route_km(lat, lon, w->depots[best].lat,
				     w->depots[best].lon))
				best = d;
		w->depot_of[s] = best;
	}
}

static void free_world(struct world *w)
{
	free(w->depots);
	free(w->depot_ids);
	free(w->vehicles);
	free(w->vehicle_ids);
	free(w->shelters);
	free(w->shelter_ids);
	free(w->lines);
	free(w->depot_of);
	free(w->people);
}

/* Depot d's problem; arrays in *sh and *veh, owned by the caller. */
static struct route_input depot_input(const struct world *w,
				      const struct scale *sc, size_t d,
				      struct route_shelter *sh,
				      struct vehicle *veh)
{
	size_t ns = 0, nv = 0;
	for (size_t s = 0; s < sc->shelters; s++)
		if (w->depot_of[s] == d)
			sh[ns++] = w->shelters[s];
	for (size_t v = 0; v < sc->trucks; v++)
		if (v % sc->depots == d)
			veh[nv++] = w->vehicles[v];
	return (struct route_input){&w->depots[d], veh, nv, sh, ns};
}

/* Nearest-neighbour ordering of every trip again, timed: the baseline. */
static double nn_seconds(const struct route_plan *p)
{
	double t0 = now_s(), sink = 0;
	for (size_t t = 0; t < p->ntrips; t++) {
		const struct route_trip *tr = &p->trips[t];
		size_t n = tr->nstops;
		double *dist = malloc((n + 1) * (n + 1) * sizeof(*dist));
		size_t *order = malloc(n * sizeof(*order));
		double len;
		if (dist == NULL || order == NULL)
			exit(1);
		for (size_t a = 0; a <= n; a++)
			for (size_t b = 0; b <= n; b++) {
				const struct route_shelter *x =
					a ? &p->in.shelters[tr->stops[a - 1]
								    .shelter]
					  : NULL;
				const struct route_shelter *y =
					b ? &p->in.shelters[tr->stops[b - 1]
								    .shelter]
					  : NULL;
				dist[a * (n + 1) + b] =
					route_km(x ? x->lat : p->in.depot->lat,
						 x ? x->lon : p->in.depot->lon,
						 y ? y->lat : p->in.depot->lat,
						 y ? y->lon : p->in.depot->lon);
			}
		route_order(dist, n, ROUTE_NEAREST, order, &len);
		sink += len;
		free(dist);
		free(order);
	}
	if (sink < 0)
		puts("");
	return now_s() - t0;
}

static void run_scale(const struct scale *sc, const catalog *cat,
		      enum load_kind kind, int runs)
{
	struct world w;
	make_world(&w, sc, cat, kind);
	struct route_shelter *sh = calloc(sc->shelters, sizeof(*sh));
	struct vehicle *veh = calloc(sc->trucks, sizeof(*veh));
	double best = INFINITY, nn_time = 0, len = 0, nn = 0, alone = 0;
	double ratio_sum = 0, ratio_multi = 0, vmax = 0, vmin = INFINITY;
	size_t trips = 0, stops = 0, multi = 0, exact = 0, maxstops = 0;
	long long people = 0;
	sl_error err;
	for (size_t s = 0; s < sc->shelters; s++)
		people += w.people[s];
	for (int r = 0; r < runs; r++) {
		double t0 = now_s();
		for (size_t d = 0; d < sc->depots; d++) {
			struct route_input in = depot_input(&w, sc, d, sh, veh);
			struct route_plan *p;
			if (route_plan_build(&in, &p, &err) != 0) {
				fprintf(stderr, "bench_route: %s\n", err.text);
				exit(1);
			}
			route_plan_free(p);
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	/* Figures from one more run (the plan is deterministic). */
	for (size_t d = 0; d < sc->depots; d++) {
		struct route_input in = depot_input(&w, sc, d, sh, veh);
		struct route_plan *p;
		if (route_plan_build(&in, &p, &err) != 0)
			exit(1);
		nn_time += nn_seconds(p);
		for (size_t t = 0; t < p->ntrips; t++) {
			const struct route_trip *tr = &p->trips[t];
			len += tr->length_km;
			nn += tr->nn_length_km;
			ratio_sum += tr->length_km / tr->nn_length_km;
			stops += tr->nstops;
			if (tr->nstops > maxstops)
				maxstops = tr->nstops;
			exact += tr->nstops <= ROUTE_EXACT_MAX;
			if (tr->nstops > 3) {
				multi++;
				ratio_multi += tr->length_km / tr->nn_length_km;
			}
			for (size_t s = 0; s < tr->nstops; s++) {
				const struct route_shelter *x =
					&in.shelters[tr->stops[s].shelter];
				alone += 2 * route_km(in.depot->lat,
						      in.depot->lon, x->lat,
						      x->lon);
			}
		}
		for (size_t v = 0; v < in.nvehicles; v++) {
			double km = 0;
			for (size_t t = 0; t < p->ntrips; t++)
				if (p->trips[t].vehicle == v)
					km += p->trips[t].length_km;
			vmax = km > vmax ? km : vmax;
			vmin = km < vmin ? km : vmin;
		}
		trips += p->ntrips;
		route_plan_free(p);
	}
	printf("%s %s: %zu shelters (%lld people), %zu depots, %zu trucks\n",
	       sc->name, kind_name[kind], sc->shelters, people, sc->depots,
	       sc->trucks);
	printf("  time: %.4f s (best of %d) for every depot's plan; "
	       "nearest-neighbour ordering alone of the same trips %.4f s\n",
	       best, runs, nn_time);
	printf("  trips: %zu, %.2f stops per trip (max %zu), %zu with <= %d "
	       "stops (Held-Karp), %zu heuristic\n",
	       trips, (double)stops / (double)trips, maxstops, exact,
	       ROUTE_EXACT_MAX, trips - exact);
	printf("  route length: %.1f km, %.2f km per trip; nearest neighbour "
	       "on the same stops %.1f km: %.1f %% shorter (mean per trip "
	       "%.1f %%; over the %zu trips of more than 3 stops %.1f %%)\n",
	       len, len / (double)trips, nn, 100 * (1 - len / nn),
	       100 * (1 - ratio_sum / (double)trips), multi,
	       multi ? 100 * (1 - ratio_multi / (double)multi) : 0.0);
	printf("  construction: %.1f km against %.1f km serving each stop "
	       "alone: %.1f %% shorter; per truck %.1f to %.1f km "
	       "(mean %.1f)\n",
	       len, alone, 100 * (1 - len / alone), vmin, vmax,
	       len / (double)sc->trucks);
	free(sh);
	free(veh);
	free_world(&w);
}

static catalog *load_catalog(void)
{
	sl_error err;
	schema_set *set = schema_set_new();
	catalog *cat = NULL;
	if (set == NULL || schema_set_load_dir(set, SL_SCHEMA_DIR, &err) ||
	    schema_set_resolve(set, &err) ||
	    (cat = catalog_load(SL_DATA_DIR "/items.json", set, &err)) ==
		    NULL) {
		fprintf(stderr, "bench_route: %s\n", err.text);
		exit(1);
	}
	schema_set_free(set);
	return cat;
}

static void write_sheets(const char *dir, const catalog *cat)
{
	struct world w;
	const struct scale *sc = &scales[0];
	char path[512];
	sl_error err;
	make_world(&w, sc, cat, DAILY);
	struct route_shelter *sh = calloc(sc->shelters, sizeof(*sh));
	struct vehicle *veh = calloc(sc->trucks, sizeof(*veh));
	struct route_input in = depot_input(&w, sc, 0, sh, veh);
	struct route_plan *p;
	if (route_plan_build(&in, &p, &err) != 0) {
		fprintf(stderr, "bench_route: %s\n", err.text);
		exit(1);
	}
	static const char *const names[] = {"pick.csv", "stops.csv",
					    "dispatch.html"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		int rc = f == NULL ? SL_EIO
			 : i < 2   ? routeprint_csv(p,
						    i == 0 ? ROUTE_PICK_LIST
							   : ROUTE_STOP_LIST,
						    NULL, f, &err)
				 : routeprint_html(p, "柏崎 配送計画", f, &err);
		if (f == NULL || fclose(f) != 0 || rc != 0) {
			fprintf(stderr, "bench_route: cannot write %s\n", path);
			exit(1);
		}
		printf("%s\n", path);
	}
	route_plan_free(p);
	free(sh);
	free(veh);
	free_world(&w);
}

int main(int argc, char **argv)
{
	catalog *cat = load_catalog();
	if (argc == 3 && strcmp(argv[1], "sheets") == 0) {
		write_sheets(argv[2], cat);
	} else {
		char *end = NULL;
		long runs = argc > 1 ? strtol(argv[1], &end, 10) : 5;
		if (argc > 1 && (*end != '\0' || runs < 1 || runs > 1000)) {
			fprintf(stderr, "usage: bench_route [RUNS 1-1000] | "
					"bench_route sheets DIR\n");
			return 2;
		}
		for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
			for (int k = DAILY; k <= TOPUP; k++)
				run_scale(&scales[s], cat, (enum load_kind)k,
					  (int)runs);
	}
	catalog_free(cat);
	return 0;
}
