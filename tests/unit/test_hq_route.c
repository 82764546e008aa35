/* Unit tests of hq/route.c and hq/routeprint.c: hand-checked tiny cases
 * (capacity splits, the order on a square, a load exactly at capacity,
 * bad input), properties over seeded random instances, Held-Karp against
 * brute force, and the sheets (CSV bytes, HTML escaping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "mem.h"

static const struct catalog_item water = {
	"water_drinking", "飲料水", "Water", "bottle_2l", "water", 2.1, 2.2, 1};
static const struct catalog_item meal = {"meal_ready", "食料", "Meal", "meal",
					 "food",       0.3,    0.5,    1};
static const struct catalog_item blanket = {
	"blanket", "毛布", "Blanket", "piece", "bedding", 1.8, 20, 1};
static const struct catalog_item *const items[] = {&water, &meal, &blanket};

static const struct depot depot = {"D1", "柏崎デポ", 35.0, 135.0};

/* xorshift64*: the same instances on every machine. */
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

static struct route_plan *build_ok(const struct route_input *in)
{
	struct route_plan *p = NULL;
	sl_error err = {""};
	int rc = route_plan_build(in, &p, &err);
	if (rc != 0)
		fail_msg("route_plan_build: %d %s", rc, err.text);
	return p;
}

static long long units_of(const struct route_plan *p, size_t shelter,
			  const struct catalog_item *it)
{
	long long n = 0;
	for (size_t t = 0; t < p->ntrips; t++)
		for (size_t s = 0; s < p->trips[t].nstops; s++) {
			const struct route_stop *st = &p->trips[t].stops[s];
			for (size_t l = 0;
			     st->shelter == shelter && l < st->nlines; l++)
				if (st->lines[l].item == it)
					n += st->lines[l].qty;
		}
	return n;
}

/* 1191 bottles (2501.1 kg) on 1000 kg trucks: 476 + 476 + 239. */
static void test_split_full_loads_first(void **state)
{
	(void)state;
	struct route_line lines[] = {{&water, 1191}};
	struct route_shelter sh[] = {
		{"S1", "避難所", 35.01, 135.01, 1, lines, 1},
	};
	struct vehicle v[] = {{"T1", "D1", NULL, 1000, 10000}};
	struct route_input in = {&depot, v, 1, sh, 1};
	struct route_plan *p = build_ok(&in);
	assert_int_equal(p->ntrips, 3);
	long long q[3];
	for (size_t t = 0; t < 3; t++) {
		assert_int_equal(p->trips[t].nstops, 1);
		assert_int_equal(p->trips[t].number, (int)t + 1);
		q[t] = p->trips[t].stops[0].lines[0].qty;
		assert_true(p->trips[t].weight_kg <= 1000);
	}
	/* longest first: the three are equally long, so ties by creation */
	assert_int_equal(q[0] + q[1] + q[2], 1191);
	assert_int_equal(q[0], 476);
	assert_int_equal(q[1], 476);
	assert_int_equal(q[2], 239);
	route_plan_free(p);
}

/* Volume binds: 60 blankets (1200 l) in 500 l trucks: 25 + 25 + 10. */
static void test_split_by_volume(void **state)
{
	(void)state;
	struct route_line lines[] = {{&blanket, 60}, {&meal, 10}};
	struct route_shelter sh[] = {
		{"S1", NULL, 35.01, 135.01, 1, lines, 2},
	};
	struct vehicle v[] = {{"T1", "D1", NULL, 2000, 500}};
	struct route_input in = {&depot, v, 1, sh, 1};
	struct route_plan *p = build_ok(&in);
	assert_int_equal(p->ntrips, 3);
	for (size_t t = 0; t < p->ntrips; t++)
		assert_true(p->trips[t].volume_l <= 500 + 1e-9);
	assert_int_equal(units_of(p, 0, &blanket), 60);
	assert_int_equal(units_of(p, 0, &meal), 10);
	route_plan_free(p);
}

/* 10 meals are 3.0 kg and 5.0 l: exactly a 3 kg / 5 l vehicle's load,
 * although 0.3 * 10 is above 3.0 in floating point. */
static void test_exactly_at_capacity(void **state)
{
	(void)state;
	struct route_line lines[] = {{&meal, 10}};
	struct route_shelter sh[] = {
		{"S1", NULL, 35.01, 135.01, 1, lines, 1},
	};
	struct vehicle v[] = {{"T1", "D1", NULL, 3.0, 5.0}};
	struct route_input in = {&depot, v, 1, sh, 1};
	struct route_plan *p = build_ok(&in);
	assert_int_equal(p->ntrips, 1);
	assert_int_equal(p->trips[0].stops[0].lines[0].qty, 10);
	assert_true(fabs(p->trips[0].weight_kg - 3.0) < 1e-12);
	route_plan_free(p);

	lines[0].qty = 11;
	p = build_ok(&in);
	assert_int_equal(p->ntrips, 2);
	route_plan_free(p);
}

/* Three shelters on the corners of a square whose fourth corner is the
 * depot: the tour goes round the square, S1 (east) first since its id
 * is lower than S3 (north), whichever order the input lists them in. */
static void test_square_order(void **state)
{
	(void)state;
	struct route_line l[] = {{&meal, 1}};
	struct route_shelter sh[] = {
		{"S2", NULL, 35.01, 135.01, 1, l, 1},
		{"S3", NULL, 35.01, 135.00, 1, l, 1},
		{"S1", NULL, 35.00, 135.01, 1, l, 1},
	};
	struct vehicle v[] = {{"T1", "D1", NULL, 2000, 10000}};
	struct route_input in = {&depot, v, 1, sh, 3};
	struct route_plan *p = build_ok(&in);
	assert_int_equal(p->ntrips, 1);
	const struct route_trip *t = &p->trips[0];
	assert_int_equal(t->nstops, 3);
	const char *want[] = {"S1", "S2", "S3"};
	for (size_t k = 0; k < 3; k++)
		assert_string_equal(sh[t->stops[k].shelter].id, want[k]);
	double perim = route_km(35, 135, 35, 135.01) +
		       route_km(35, 135.01, 35.01, 135.01) +
		       route_km(35.01, 135.01, 35.01, 135) +
		       route_km(35.01, 135, 35, 135);
	assert_true(fabs(t->length_km - perim) < 1e-9);
	assert_true(fabs(p->length_km - perim) < 1e-9);
	route_plan_free(p);
}

static void expect_error(const struct route_input *in, const char *a,
			 const char *b)
{
	struct route_plan *p = (struct route_plan *)1;
	sl_error err = {""};
	assert_int_equal(route_plan_build(in, &p, &err), SL_EINVAL);
	assert_null(p);
	if (strstr(err.text, a) == NULL || strstr(err.text, b) == NULL)
		fail_msg("error '%s' lacks '%s' or '%s'", err.text, a, b);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct catalog_item weightless = meal;
	weightless.code = "feather";
	weightless.unit_weight_kg = 0;
	struct route_line l[] = {{&meal, 5}}, lw[] = {{&weightless, 1}};
	struct route_shelter sh[] = {{"S1", NULL, 35.01, 135.01, 1, l, 1}};
	struct route_shelter nopos[] = {{"S9", NULL, 0, 0, 0, l, 1}};
	struct route_shelter feather[] = {
		{"S1", NULL, 35.01, 135.01, 1, lw, 1}};
	struct vehicle v[] = {{"T1", "D1", NULL, 2000, 10000},
			      {"T0", "D1", NULL, 0, 10000}};
	struct route_input in = {&depot, v, 2, sh, 1};

	expect_error(&in, "vehicle T0", "above zero");
	struct vehicle twice[] = {{"T1", "D1", NULL, 2000, 10000},
				  {"T1", "D1", NULL, 1000, 10000}};
	in.vehicles = twice;
	expect_error(&in, "vehicle T1", "twice");
	in.vehicles = v;
	in.nvehicles = 0;
	expect_error(&in, "depot D1", "no vehicles");
	in.nvehicles = 1;
	in.shelters = nopos;
	expect_error(&in, "shelter S9", "no position");
	in.shelters = feather;
	expect_error(&in, "item feather", "above zero");

	/* one unit bigger than the smallest truck */
	struct vehicle tiny[] = {{"T2", "D1", NULL, 2000, 10000},
				 {"T3", "D1", NULL, 1, 10000}};
	struct route_line lb[] = {{&water, 1}};
	struct route_shelter big[] = {{"S1", NULL, 35.01, 135.01, 1, lb, 1}};
	struct route_input in2 = {&depot, tiny, 2, big, 1};
	expect_error(&in2, "vehicle T3", "never split");

	/* nothing to deliver: no trucks needed, no trips */
	struct route_line none[] = {{&meal, 0}};
	struct route_shelter empty[] = {{"S1", NULL, 0, 0, 0, none, 1}};
	struct route_input in3 = {&depot, NULL, 0, empty, 1};
	struct route_plan *p = build_ok(&in3);
	assert_int_equal(p->ntrips, 0);
	route_plan_free(p);
}

/* ---- properties over random instances ---- */

#define MAXS 30
struct instance {
	struct route_shelter sh[MAXS];
	struct route_line lines[MAXS][3];
	char ids[MAXS][8];
	struct vehicle v[4];
	char vids[4][8];
	struct route_input in;
};

static void random_instance(struct instance *x)
{
	size_t ns = 1 + rnd() % MAXS, nv = 1 + rnd() % 4;
	double spread = uniform(0.01, 0.3);
	for (size_t i = 0; i < ns; i++) {
		/* ids out of input order, so that sorting by id matters */
		snprintf(x->ids[i], sizeof(x->ids[i]), "S%02u",
			 (unsigned)(ns - 1 - i) % 100);
		size_t nl = 1 + rnd() % 3;
		for (size_t k = 0; k < nl; k++)
			x->lines[i][k] = (struct route_line){
				items[(i + k) % 3], (long long)(rnd() % 400)};
		x->sh[i] =
			(struct route_shelter){x->ids[i],
					       NULL,
					       35 + uniform(-spread, spread),
					       135 + uniform(-spread, spread),
					       1,
					       x->lines[i],
					       nl};
	}
	for (size_t i = 0; i < nv; i++) {
		snprintf(x->vids[i], sizeof(x->vids[i]), "T%u",
			 (unsigned)(nv - i) % 10);
		x->v[i] = (struct vehicle){x->vids[i], "D1", NULL,
					   uniform(100, 2000),
					   uniform(1000, 10000)};
	}
	x->in = (struct route_input){&depot, x->v, nv, x->sh, ns};
}

static double stop_km(const struct route_plan *p, const struct route_trip *t)
{
	double lat = p->in.depot->lat, lon = p->in.depot->lon, km = 0;
	for (size_t s = 0; s < t->nstops; s++) {
		const struct route_shelter *sh =
			&p->in.shelters[t->stops[s].shelter];
		km += route_km(lat, lon, sh->lat, sh->lon);
		lat = sh->lat;
		lon = sh->lon;
	}
	return km + route_km(lat, lon, p->in.depot->lat, p->in.depot->lon);
}

static void check_plan(const struct instance *x, const struct route_plan *p)
{
	const struct route_input *in = &x->in;
	double total = 0;
	int last_number = 0;
	size_t last_vehicle = (size_t)-1;
	/* every unit delivered exactly once */
	for (size_t i = 0; i < in->nshelters; i++)
		for (size_t k = 0; k < 3; k++) {
			long long want = 0;
			for (size_t l = 0; l < in->shelters[i].nlines; l++)
				if (in->shelters[i].lines[l].item == items[k])
					want += in->shelters[i].lines[l].qty;
			assert_int_equal(units_of(p, i, items[k]), want);
		}
	for (size_t t = 0; t < p->ntrips; t++) {
		const struct route_trip *tr = &p->trips[t];
		const struct vehicle *v = &in->vehicles[tr->vehicle];
		double w = 0, vol = 0;
		assert_true(tr->nstops > 0);
		for (size_t s = 0; s < tr->nstops; s++) {
			const struct route_stop *st = &tr->stops[s];
			assert_true(st->nlines > 0);
			for (size_t l = 0; l < st->nlines; l++) {
				assert_true(st->lines[l].qty > 0);
				w += (double)st->lines[l].qty *
				     st->lines[l].item->unit_weight_kg;
				vol += (double)st->lines[l].qty *
				       st->lines[l].item->unit_volume_l;
			}
			for (size_t s2 = 0; s2 < s; s2++)
				assert_true(tr->stops[s2].shelter !=
					    st->shelter);
		}
		/* capacities respected (grams: tolerance of float sums) */
		assert_true(w <= v->max_weight_kg + 1e-6);
		assert_true(vol <= v->max_volume_l + 1e-6);
		/* starts and ends at the depot: the length is that tour's */
		assert_true(fabs(stop_km(p, tr) - tr->length_km) < 1e-9);
		/* never longer than nearest neighbour on the same stops */
		assert_true(tr->length_km <= tr->nn_length_km + 1e-9);
		/* numbered 1, 2, ... per vehicle, sorted by vehicle */
		if (tr->vehicle != last_vehicle) {
			if (last_vehicle != (size_t)-1)
				assert_true(
					strcmp(in->vehicles[last_vehicle].id,
					       v->id) < 0);
			last_number = 0;
			last_vehicle = tr->vehicle;
		}
		assert_int_equal(tr->number, ++last_number);
		total += tr->length_km;
	}
	assert_true(fabs(total - p->length_km) < 1e-6);
}

static int same_plan(const struct route_plan *a, const struct route_plan *b)
{
	if (a->ntrips != b->ntrips || a->length_km != b->length_km)
		return 0;
	for (size_t t = 0; t < a->ntrips; t++) {
		const struct route_trip *x = &a->trips[t], *y = &b->trips[t];
		if (x->vehicle != y->vehicle || x->nstops != y->nstops)
			return 0;
		for (size_t s = 0; s < x->nstops; s++)
			if (x->stops[s].shelter != y->stops[s].shelter ||
			    x->stops[s].nlines != y->stops[s].nlines)
				return 0;
	}
	return 1;
}

static void test_random_properties(void **state)
{
	(void)state;
	static struct instance x;
	size_t trips = 0, multi = 0;
	rng_state = 20070716; /* the Chuetsu-oki earthquake */
	for (int n = 0; n < 400; n++) {
		random_instance(&x);
		struct route_plan *p = build_ok(&x.in), *q = build_ok(&x.in);
		check_plan(&x, p);
		assert_true(same_plan(p, q)); /* deterministic */
		trips += p->ntrips;
		for (size_t t = 0; t < p->ntrips; t++)
			multi += p->trips[t].nstops > ROUTE_EXACT_MAX;
		route_plan_free(p);
		route_plan_free(q);
	}
	print_message("400 instances, %zu trips, %zu over %d stops\n", trips,
		      multi, ROUTE_EXACT_MAX);
}

/* Many light loads: long trips, so the heuristic path (over 10 stops)
 * runs too. */
static void test_random_long_trips(void **state)
{
	(void)state;
	static struct instance x;
	size_t long_trips = 0;
	rng_state = 20160416; /* Kumamoto */
	for (int n = 0; n < 200; n++) {
		random_instance(&x);
		for (size_t i = 0; i < x.in.nshelters; i++)
			for (size_t l = 0; l < x.sh[i].nlines; l++)
				x.lines[i][l].qty %= 5;
		struct route_plan *p = build_ok(&x.in);
		check_plan(&x, p);
		for (size_t t = 0; t < p->ntrips; t++)
			long_trips += p->trips[t].nstops > ROUTE_EXACT_MAX;
		route_plan_free(p);
	}
	assert_true(long_trips > 20);
}

static double perm_best(const double *dist, size_t n, size_t *perm, size_t k)
{
	if (k == n) {
		double len = 0;
		size_t prev = 0;
		for (size_t i = 0; i < n; i++) {
			len += dist[prev * (n + 1) + perm[i] + 1];
			prev = perm[i] + 1;
		}
		return len + dist[prev * (n + 1)];
	}
	double best = INFINITY;
	for (size_t i = k; i < n; i++) {
		size_t t = perm[k];
		perm[k] = perm[i];
		perm[i] = t;
		double v = perm_best(dist, n, perm, k + 1);
		if (v < best)
			best = v;
		perm[i] = perm[k];
		perm[k] = t;
	}
	return best;
}

static void random_matrix(double *dist, size_t n)
{
	double lat[64], lon[64];
	for (size_t i = 0; i <= n; i++) {
		lat[i] = uniform(32.5, 33.0);
		lon[i] = uniform(130.5, 131.0);
	}
	for (size_t a = 0; a <= n; a++)
		for (size_t b = 0; b <= n; b++)
			dist[a * (n + 1) + b] =
				route_km(lat[a], lon[a], lat[b], lon[b]);
}

static void test_held_karp_is_exact(void **state)
{
	(void)state;
	double dist[81];
	size_t order[8], perm[8];
	rng_state = 20240101; /* Noto */
	for (int n = 0; n < 300; n++) {
		size_t k = 1 + (size_t)(rnd() % 8);
		double hk, nn;
		random_matrix(dist, k);
		assert_int_equal(route_order(dist, k, ROUTE_EXACT, order, &hk),
				 0);
		for (size_t i = 0; i < k; i++)
			perm[i] = i;
		double bf = perm_best(dist, k, perm, 0);
		assert_true(fabs(hk - bf) < 1e-9);
		/* a permutation */
		int seen[8] = {0};
		for (size_t i = 0; i < k; i++)
			assert_int_equal(seen[order[i]]++, 0);
		assert_int_equal(
			route_order(dist, k, ROUTE_NEAREST, order, &nn), 0);
		assert_true(hk <= nn + 1e-9);
	}
	assert_int_equal(route_order(dist, ROUTE_EXACT_MAX + 1, ROUTE_EXACT,
				     order, &(double){0}),
			 SL_EINVAL);
}

static void test_improved_not_longer(void **state)
{
	(void)state;
	static double dist[61 * 61];
	size_t order[60];
	double better = 0;
	rng_state = 19950117; /* Hanshin-Awaji */
	for (int n = 0; n < 100; n++) {
		size_t k = 11 + (size_t)(rnd() % 50);
		double nn, im;
		random_matrix(dist, k);
		assert_int_equal(
			route_order(dist, k, ROUTE_NEAREST, order, &nn), 0);
		assert_int_equal(
			route_order(dist, k, ROUTE_IMPROVED, order, &im), 0);
		assert_true(im <= nn + 1e-9);
		better += 1 - im / nn;
	}
	print_message("2-opt + Or-opt: %.1f %% shorter than nearest neighbour "
		      "on 100 random tours of 11 to 60 stops\n",
		      100 * better / 100);
}

/* Every allocation failure: SL_ENOMEM, no plan, nothing leaked (ASan). */
static void test_out_of_memory(void **state)
{
	(void)state;
	static struct instance x;
	rng_state = 20040923; /* Chuetsu */
	random_instance(&x);
	for (size_t i = 0; i < x.in.nshelters; i++)
		x.lines[i][0].qty = i % 3 ? 3 : 900; /* splits and long trips */
	long n;
	for (n = 0;; n++) {
		struct route_plan *p = (struct route_plan *)1;
		sl_error err = {""};
		sl_alloc_fail_after(n);
		int rc = route_plan_build(&x.in, &p, &err);
		sl_alloc_fail_after(-1);
		if (rc == 0) {
			check_plan(&x, p);
			route_plan_free(p);
			break;
		}
		assert_int_equal(rc, SL_ENOMEM);
		assert_null(p);
		assert_non_null(strstr(err.text, "out of memory"));
	}
	assert_true(n > 10);
	print_message("%ld allocation failures, each SL_ENOMEM\n", n);
}

/* ---- the sheets ---- */

static char *sheet(const struct route_plan *p, int html, enum route_sheet s,
		   const char *vehicle, int *rc, size_t *len)
{
	char *buf = NULL;
	sl_error err = {""};
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	*rc = html ? routeprint_html(p, "柏崎 <配送>", f, &err)
		   : routeprint_csv(p, s, vehicle, f, &err);
	fclose(f);
	return buf;
}

static void test_sheets(void **state)
{
	(void)state;
	struct route_line l1[] = {{&meal, 10}}, l2[] = {{&water, 3}};
	struct route_shelter sh[] = {
		{"S1", "<b>\"A&B's\"</b> 山王小学校", 35.00, 135.01, 1, l1, 1},
		{"S2", "第二, \"中学校\"", 35.01, 135.01, 1, l2, 1},
	};
	struct vehicle v[] = {{"T1", "D1", "2tトラック", 2000, 10000}};
	struct route_input in = {&depot, v, 1, sh, 2};
	struct route_plan *p = build_ok(&in);
	size_t len;
	int rc;
	assert_int_equal(p->ntrips, 1);
	assert_string_equal(sh[p->trips[0].stops[0].shelter].id, "S1");

	char *csv = sheet(p, 0, ROUTE_PICK_LIST, NULL, &rc, &len);
	assert_int_equal(rc, 0);
	assert_memory_equal(csv, "\xEF\xBB\xBFvehicle,trip,load_order,stop,",
			    29);
	/* last stop loaded first; CRLF; quotes doubled */
	const char *row1 = strstr(csv, "\r\n") + 2;
	assert_memory_equal(
		row1, "T1,1,1,2,S2,\"第二, \"\"中学校\"\"\",water_drinking",
		strlen("T1,1,1,2,S2,\"第二, \"\"中学校\"\"\",water_drinking"));
	assert_non_null(strstr(csv, "T1,1,2,1,S1,"));
	free(csv);

	csv = sheet(p, 0, ROUTE_STOP_LIST, "T1", &rc, &len);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(csv, "\r\nT1,1,1,S1,"));
	free(csv);
	csv = sheet(p, 0, ROUTE_STOP_LIST, "T9", &rc, &len);
	assert_int_equal(rc, SL_ENOTFOUND);
	free(csv);

	char *html = sheet(p, 1, 0, NULL, &rc, &len);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "<title>柏崎 &lt;配送&gt;</title>"));
	assert_non_null(strstr(html, "&lt;b&gt;&quot;A&amp;B&#39;s&quot;"
				     "&lt;/b&gt; 山王小学校"));
	assert_non_null(strstr(html, "2tトラック"));
	assert_null(strstr(html, "<b>"));
	free(html);
	route_plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_full_loads_first),
		cmocka_unit_test(test_split_by_volume),
		cmocka_unit_test(test_exactly_at_capacity),
		cmocka_unit_test(test_square_order),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_random_properties),
		cmocka_unit_test(test_random_long_trips),
		cmocka_unit_test(test_held_karp_is_exact),
		cmocka_unit_test(test_improved_not_longer),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_sheets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
