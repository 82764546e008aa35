/*
 * bench_survey_plan - hq survey planning (survey_plan.c) at the issue's
 * two scales.
 *
 *   bench_survey_plan [RUNS]   prints, per scale, the planning time (best
 *                              and median of RUNS), the tasks planned, the
 *                              total route length, the nearest-neighbour
 *                              ordering of the same assignment and the
 *                              Held-Karp lower bound for it
 *
 * Instances are synthetic and seeded (the same on every machine):
 *  - Kumamoto: 20,000 pending field surveys in Gaussian clusters around
 *    the 2016 earthquake's worst-hit places (Kumamoto city, Mashiki,
 *    Nishihara, Mifune, Uto, Minamiaso), 40 teams leaving from those
 *    offices in proportion to the damage, 15 stops a day each;
 *  - national: 500,000 along the Nankai Trough coast (Shizuoka to
 *    Miyazaki, 25 cities), 500 teams from the 25 city offices.
 * A fifth of applicants live in shelters; applications are spread over
 * 30 days.  The baseline in the same run is nearest-neighbour ordering
 * of each team's same stops; the lower bound is per team (the header of
 * hq/survey_plan.c states why it is one) and summed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../seeded_rng.h"
#include "hq.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct place {
	const char *name;
	double lat, lon, weight, spread_km;
};

static const struct place kumamoto[] = {
	{"Kumamoto city", 32.803, 130.708, 10, 5},
	{"Mashiki", 32.787, 130.817, 6, 2},
	{"Nishihara", 32.834, 130.902, 2, 2},
	{"Mifune", 32.715, 130.802, 1, 2},
	{"Uto", 32.687, 130.659, 1, 2},
	{"Minamiaso", 32.822, 131.030, 1, 3},
};
static const struct place nankai[] = {
	{"Shizuoka", 34.976, 138.383, 4, 6}, {"Hamamatsu", 34.711, 137.726, 4, 6},
	{"Toyohashi", 34.769, 137.392, 2, 4}, {"Nagoya", 35.181, 136.906, 5, 8},
	{"Tsu", 34.719, 136.505, 2, 4},	     {"Owase", 34.071, 136.191, 1, 2},
	{"Shingu", 33.724, 135.993, 1, 2},   {"Tanabe", 33.728, 135.378, 1, 3},
	{"Wakayama", 34.230, 135.171, 3, 4}, {"Osaka", 34.694, 135.502, 5, 8},
	{"Kobe", 34.690, 135.196, 3, 6},     {"Tokushima", 34.070, 134.555, 3, 4},
	{"Anan", 33.922, 134.660, 1, 3},     {"Muroto", 33.290, 134.152, 1, 2},
	{"Kochi", 33.559, 133.531, 4, 5},    {"Susaki", 33.401, 133.283, 1, 2},
	{"Shimanto", 32.991, 132.934, 1, 3}, {"Uwajima", 33.223, 132.560, 1, 3},
	{"Matsuyama", 33.839, 132.766, 2, 5}, {"Oita", 33.238, 131.613, 2, 5},
	{"Saiki", 32.960, 131.900, 1, 3},    {"Nobeoka", 32.582, 131.665, 1, 3},
	{"Hyuga", 32.423, 131.624, 1, 2},    {"Miyazaki", 31.911, 131.424, 3, 5},
	{"Nichinan", 31.602, 131.379, 1, 2},
};

struct scale {
	const char *name;
	const struct place *places;
	size_t nplaces, ntasks, teams;
};
static const struct scale scales[] = {
	{"Kumamoto", kumamoto, sizeof(kumamoto) / sizeof(kumamoto[0]), 20000,
	 40},
	{"national", nankai, sizeof(nankai) / sizeof(nankai[0]), 500000, 500},
};

static void make(const struct scale *sc, struct splan_task *tasks,
		 struct splan_team *teams)
{
	double total = 0;
	for (size_t i = 0; i < sc->nplaces; i++)
		total += sc->places[i].weight;
	rng_state = 0x5eed5eed2016ULL;
	for (size_t i = 0; i < sc->ntasks; i++) {
		double r = uniform(0, total);
		size_t c = 0;
		while (c + 1 < sc->nplaces && r >= sc->places[c].weight) {
			r -= sc->places[c].weight;
			c++;
		}
		const struct place *p = &sc->places[c];
		double km = p->spread_km / 111.2;
		tasks[i].id = (long long)i + 1;
		tasks[i].lat = p->lat + gauss() * km;
		tasks[i].lon = p->lon +
			       gauss() * km / cos(p->lat * 3.14159265 / 180);
		tasks[i].in_shelter = uniform(0, 1) < 0.2;
		tasks[i].applied_at = 1460000000 + (long long)uniform(0, 30 * 86400);
	}
	/* teams per office in proportion to weight, largest remainders
	 * approximated by handing out in turn */
	size_t t = 0;
	for (size_t i = 0; i < sc->nplaces; i++) {
		size_t n = (size_t)((double)sc->teams * sc->places[i].weight /
				    total);
		for (size_t k = 0; k < n && t < sc->teams; k++, t++)
			teams[t] = (struct splan_team){sc->places[i].lat,
						       sc->places[i].lon, 15};
	}
	for (size_t i = 0; t < sc->teams; i = (i + 1) % sc->nplaces, t++)
		teams[t] = (struct splan_team){sc->places[i].lat,
					       sc->places[i].lon, 15};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run(const struct scale *sc, int runs)
{
	struct splan_task *tasks = calloc(sc->ntasks, sizeof(*tasks));
	struct splan_team *teams = calloc(sc->teams, sizeof(*teams));
	double *times = calloc((size_t)runs, sizeof(*times));
	if (tasks == NULL || teams == NULL || times == NULL)
		return 1;
	make(sc, tasks, teams);
	struct splan_input in = {tasks, sc->ntasks, teams, sc->teams};
	struct splan_plan *p = NULL;
	sl_error err = {""};
	for (int r = 0; r < runs; r++) {
		splan_free(p);
		double t0 = now_s();
		if (splan_build(&in, &p, &err) != 0) {
			fprintf(stderr, "bench_survey_plan: %s\n", err.text);
			return 1;
		}
		times[r] = now_s() - t0;
	}
	qsort(times, (size_t)runs, sizeof(*times), cmp_double);
	size_t most = 0, least = SIZE_MAX;
	double legs = 0; /* start -> first stop, last stop -> start */
	for (size_t t = 0; t < p->nroutes; t++) {
		const struct splan_route *r = &p->routes[t];
		if (r->nstops > 0) {
			const struct splan_task *a = &tasks[r->stops[0]];
			const struct splan_task *b =
				&tasks[r->stops[r->nstops - 1]];
			legs += route_km(teams[t].lat, teams[t].lon, a->lat,
					 a->lon) +
				route_km(b->lat, b->lon, teams[t].lat,
					 teams[t].lon);
		}
		most = p->routes[t].nstops > most ? p->routes[t].nstops : most;
		least = p->routes[t].nstops < least ? p->routes[t].nstops
						    : least;
	}
	printf("%-9s %7zu tasks %4zu teams: planned %zu (stops per team "
	       "%zu-%zu) in %.3f s (median %.3f s of %d)\n",
	       sc->name, sc->ntasks, sc->teams, p->selected, least, most,
	       times[0], times[runs / 2], runs);
	printf("          route %.1f km; nearest neighbour %.1f km "
	       "(planned is %.1f %% shorter); lower bound %.1f km "
	       "(planned is %.1f %% above it)\n",
	       p->length_km, p->nn_length_km,
	       100 * (1 - p->length_km / p->nn_length_km), p->bound_km,
	       100 * (p->length_km / p->bound_km - 1));
	printf("          of the route, %.1f %% is the way out to the first "
	       "stop and back from the last\n",
	       100 * legs / p->length_km);
	splan_free(p);
	free(tasks);
	free(teams);
	free(times);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 5;
	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);
		if (*end != '\0' || v < 1 || v > 100) {
			fprintf(stderr, "usage: bench_survey_plan [RUNS 1..100]\n");
			return 2;
		}
		runs = (int)v;
	}
	for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
		if (run(&scales[s], runs) != 0)
			return 1;
	return 0;
}
