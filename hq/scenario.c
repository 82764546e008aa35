/*
 * scenario.c - seeded synthetic events, for drills, tests and benchmarks:
 * shelters scattered around real city centres with headcounts and needs,
 * depots with trucks, and stock short of the need, at the three scales
 * issue 5 names (Kashiwazaki 2007, Kumamoto 2016, a national disaster).
 * The same scale and seed give the same event on every machine: the
 * generator is splitmix64, not the C library's rand().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "msg.h"

#define PI 3.14159265358979323846

struct scale {
	const char *name;
	size_t shelters, items, depots, trucks;
	double radius_km; /* around each centre */
	size_t centres;	  /* the first n of centres[] */
};

static const struct scale scales[] = {
	{ "kashiwazaki", 82, 12, 5, 20, 12, 1 },
	{ "kumamoto", 855, 20, 30, 300, 35, 1 },
	{ "national", 50000, 20, 500, 5000, 60, 16 },
};

/* Kashiwazaki first, Kumamoto second; the rest spread a national event
 * over the country's large cities. */
static const double centres[][2] = {
	{ 37.372, 138.559 }, { 32.803, 130.708 }, { 43.062, 141.354 },
	{ 38.268, 140.870 }, { 35.690, 139.692 }, { 35.444, 139.638 },
	{ 37.916, 139.036 }, { 36.561, 136.656 }, { 35.181, 136.906 },
	{ 35.012, 135.768 }, { 34.694, 135.502 }, { 34.690, 135.196 },
	{ 34.396, 132.459 }, { 33.590, 130.402 }, { 31.597, 130.557 },
	{ 26.212, 127.681 },
};

struct scenario_data {
	struct plan_shelter *shelters;
	char (*shelter_ids)[32];
	long long (*groups)[SCENARIO_GROUPS];
	struct depot *depots;
	char (*depot_ids)[32];
	struct vehicle *vehicles;
	char (*vehicle_ids)[32];
	long long *stock;
	struct plan_need *needs;
};

static unsigned long long next(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(unsigned long long *s)
{
	return (double)(next(s) >> 11) / 9007199254740992.0;
}

/* A point within radius_km of a centre, uniform over the disc. */
static void place(unsigned long long *s, const double c[2], double radius_km,
		  double *lat, double *lon)
{
	double r = radius_km * sqrt(uniform(s)), a = 2 * PI * uniform(s);
	*lat = c[0] + r * cos(a) / 111.0;
	*lon = c[1] + r * sin(a) / (111.0 * cos(c[0] * PI / 180));
}

const char *const scenario_group_names[SCENARIO_GROUPS] = {
	"total", "infants", "children", "elderly", "care", "pregnant",
};

/* Shares of the total, roughly Japan's: 2 % infants, 10 % other
 * children, 30 % elderly, 5 % needing care, 1 % pregnant. */
static void headcount(unsigned long long *s, long long g[SCENARIO_GROUPS])
{
	static const double share[SCENARIO_GROUPS] = { 1, 0.02, 0.10, 0.30,
						       0.05, 0.01 };
	/* log-uniform 20 to 2,000: many small shelters, a few large */
	g[0] = (long long)exp(log(20) + uniform(s) * (log(2000) - log(20)));
	for (int k = 1; k < SCENARIO_GROUPS; k++)
		g[k] = (long long)(g[0] * share[k] * (0.5 + uniform(s)));
}

static void scenario_free_data(struct scenario *sc)
{
	struct scenario_data *d = sc->data;
	if (d == NULL)
		return;
	free(d->shelters);
	free(d->shelter_ids);
	free(d->groups);
	free(d->depots);
	free(d->depot_ids);
	free(d->vehicles);
	free(d->vehicle_ids);
	free(d->stock);
	free(d->needs);
	free(d);
}

void scenario_free(struct scenario *sc)
{
	if (sc == NULL)
		return;
	scenario_free_data(sc);
	free(sc);
}

static int alloc_arrays(struct scenario_data *d, const struct scale *sc,
			size_t n_items, sl_error *err)
{
	size_t ns = sc->shelters, nd = sc->depots, nv = sc->trucks;
	d->shelters = calloc(ns, sizeof(*d->shelters));
	d->shelter_ids = calloc(ns, sizeof(*d->shelter_ids));
	d->groups = calloc(ns, sizeof(*d->groups));
	d->depots = calloc(nd, sizeof(*d->depots));
	d->depot_ids = calloc(nd, sizeof(*d->depot_ids));
	d->vehicles = calloc(nv, sizeof(*d->vehicles));
	d->vehicle_ids = calloc(nv, sizeof(*d->vehicle_ids));
	d->stock = calloc(nd * n_items, sizeof(*d->stock));
	d->needs = calloc(ns * sc->items, sizeof(*d->needs));
	if (!d->shelters || !d->shelter_ids || !d->groups || !d->depots ||
	    !d->depot_ids || !d->vehicles || !d->vehicle_ids || !d->stock ||
	    !d->needs)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	return 0;
}

/* One need line per shelter and item with probability 1/2: a day's use
 * for 20 % to 200 % of its people; 20 % critical, 30 % high. */
static void needs(struct scenario *sc, const struct scale *s,
		  unsigned long long *rng, long long *total)
{
	struct scenario_data *d = sc->data;
	for (size_t i = 0; i < s->shelters; i++) {
		for (size_t k = 0; k < s->items; k++) {
			if (uniform(rng) < 0.5)
				continue;
			double u = uniform(rng);
			long long q = (long long)(d->groups[i][0] *
						  (0.2 + 1.8 * uniform(rng))) +
				      1;
			d->needs[sc->in.n_needs++] = (struct plan_need){
				i, k,
				u < 0.2	  ? ALLOC_CRITICAL
				: u < 0.5 ? ALLOC_HIGH
					  : ALLOC_NORMAL,
				q
			};
			total[k] += q;
		}
	}
}

/* 60 % of each item's need, spread over the depots at random. */
static void stock(struct scenario *sc, const struct scale *s, size_t n_items,
		  unsigned long long *rng, const long long *total)
{
	struct scenario_data *d = sc->data;
	for (size_t k = 0; k < s->items; k++) {
		long long left = total[k] * 6 / 10;
		for (size_t j = 0; j + 1 < s->depots && left > 0; j++) {
			long long q = (long long)(uniform(rng) * 2.0 * (double)left /
						  (double)(s->depots - j));
			q = q > left ? left : q;
			d->stock[j * n_items + k] = q;
			left -= q;
		}
		d->stock[(s->depots - 1) * n_items + k] += left;
	}
}

int scenario_make(const catalog *items, const char *scale,
		  unsigned long long seed, struct scenario **out,
		  sl_error *err)
{
	const struct scale *s = NULL;
	size_t n_items = catalog_count(items);
	unsigned long long rng = seed;
	*out = NULL;
	for (size_t i = 0; i < sizeof(scales) / sizeof(scales[0]); i++)
		if (strcmp(scales[i].name, scale) == 0)
			s = &scales[i];
	if (s == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "scale '%s': kashiwazaki, kumamoto or "
				    "national",
				    scale);
	if (n_items < s->items)
		return sl_error_set(err, SL_EINVAL,
				    "scale %s needs %zu catalogue items, the "
				    "catalogue has %zu",
				    scale, s->items, n_items);
	struct scenario *sc = calloc(1, sizeof(*sc));
	long long *total = calloc(s->items, sizeof(*total));
	int rc = sc && total ? 0 : sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0 && (sc->data = calloc(1, sizeof(*sc->data))) == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0)
		rc = alloc_arrays(sc->data, s, n_items, err);
	if (rc != 0) {
		free(total);
		scenario_free(sc);
		return rc;
	}
	struct scenario_data *d = sc->data;
	sc->scale = s->name;
	sc->n_items = s->items;
	for (size_t i = 0; i < s->shelters; i++) {
		snprintf(d->shelter_ids[i], sizeof(d->shelter_ids[i]),
			 "SIM-%c-%05zu", s->name[0] - 32, i + 1);
		d->shelters[i].id = d->shelter_ids[i];
		d->shelters[i].name = d->shelter_ids[i];
		place(&rng, centres[i % s->centres], s->radius_km,
		      &d->shelters[i].lat, &d->shelters[i].lon);
		headcount(&rng, d->groups[i]);
	}
	for (size_t j = 0; j < s->depots; j++) {
		snprintf(d->depot_ids[j], sizeof(d->depot_ids[j]), "DEPOT-%03zu",
			 j + 1);
		d->depots[j].id = d->depots[j].name = d->depot_ids[j];
		place(&rng, centres[j % s->centres], s->radius_km * 0.7,
		      &d->depots[j].lat, &d->depots[j].lon);
	}
	/* 2 t trucks, every fourth a 4 t one, spread over the depots */
	for (size_t v = 0; v < s->trucks; v++) {
		snprintf(d->vehicle_ids[v], sizeof(d->vehicle_ids[v]),
			 "TRUCK-%04zu", v + 1);
		int big = v % 4 == 3;
		d->vehicles[v] = (struct vehicle){ d->vehicle_ids[v],
						   d->depot_ids[v % s->depots],
						   NULL, big ? 4000 : 2000,
						   big ? 20000 : 10000 };
	}
	sc->in = (struct plan_input){ items, d->depots, s->depots, d->stock,
				      d->vehicles, s->trucks, d->shelters,
				      s->shelters, d->needs, 0 };
	needs(sc, s, &rng, total);
	stock(sc, s, n_items, &rng, total);
	free(total);
	*out = sc;
	return 0;
}

/* One shelter's status report, as its agent would send it; *k walks the
 * needs, which scenario_make writes in shelter order. */
static json_t *report(const struct scenario *sc, size_t i, size_t *k,
		      const char *municipality, long long seq, time_t now)
{
	const struct plan_shelter *s = &sc->in.shelters[i];
	const long long *g = sc->data->groups[i];
	char when[32];
	msg_time(now, when);
	json_t *hc = json_object(), *needs = json_array();
	for (int grp = 0; hc && grp < SCENARIO_GROUPS; grp++)
		json_object_set_new(hc, scenario_group_names[grp],
				    json_integer(g[grp]));
	for (; needs && *k < sc->in.n_needs &&
	       sc->in.needs[*k].shelter == i;
	     (*k)++) {
		const struct plan_need *n = &sc->in.needs[*k];
		json_array_append_new(
				needs,
				json_pack("{s:s, s:I, s:s}", "item",
					  catalog_at(sc->in.items, n->item)->code,
					  "qty", (json_int_t)n->qty, "urgency",
					  alloc_urgency_name(n->urgency)));
	}
	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o,"
			 " s:{s:f, s:f, s:s}}",
			 "v", 1, "type", "status", "shelter_id", s->id,
			 "municipality", municipality, "seq", (json_int_t)seq,
			 "time", when, "name", s->name, "headcount", hc,
			 "needs", needs, "position", "lat", s->lat, "lon",
			 s->lon, "source", "fixed");
}

static int load_logistics(hq_store *st, const struct scenario *sc,
			  const char *why, time_t now, sl_error *err)
{
	const struct plan_input *in = &sc->in;
	size_t n_items = catalog_count(in->items);
	int rc = 0;
	for (size_t j = 0; rc == 0 && j < in->n_depots; j++)
		rc = depot_add(st, &in->depots[j], now, err);
	for (size_t v = 0; rc == 0 && v < in->n_vehicles; v++)
		rc = vehicle_add(st, &in->vehicles[v], err);
	for (size_t j = 0; rc == 0 && j < in->n_depots; j++) {
		for (size_t k = 0; rc == 0 && k < n_items; k++) {
			long long q = in->stock[j * n_items + k];
			struct stock_change c = {
				in->depots[j].id, catalog_at(in->items, k)->code,
				why, "scenario", NULL, q
			};
			if (q > 0)
				rc = stock_post_in(st, in->items, &c, 1, now, err);
		}
	}
	return rc;
}

int scenario_load(hq_store *st, const struct scenario *sc,
		  const char *municipality, unsigned long long seed, time_t now,
		  sl_error *err)
{
	char why[64];
	enum store_result res;
	snprintf(why, sizeof(why), "scenario %s, seed %llu", sc->scale, seed);
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	rc = load_logistics(st, sc, why, now, err);
	for (size_t i = 0, k = 0; rc == 0 && i < sc->in.n_shelters; i++) {
		long long seq;
		if ((rc = store_acked_seq(st, sc->in.shelters[i].id, &seq,
					  err)) != 0)
			break;
		json_t *msg = report(sc, i, &k, municipality, seq + 1, now);
		rc = msg ? store_message(st, TOPIC_STATUS, msg, now, &res, err)
			 : sl_error_set(err, SL_ENOMEM, "out of memory");
		json_decref(msg);
	}
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}
