/* Unit tests of hq/survey_plan.c: a hand-checked two-team case, then
 * properties over seeded random instances (capacity and balance, every
 * planned task once, strict priority, determinism under input order,
 * route against nearest neighbour and the lower bound, compactness
 * against dealing tasks out in priority order), bad input and every
 * allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../seeded_rng.h"
#include "hq.h"
#include "mem.h"

static struct splan_plan *build_ok(const struct splan_input *in)
{
	struct splan_plan *p = NULL;
	sl_error err = {""};
	int rc = splan_build(in, &p, &err);
	if (rc != 0)
		fail_msg("splan_build: %d %s", rc, err.text);
	return p;
}

/* n tasks in a 20 km square around 32.8N 130.7E, ids 1..n; a fifth in
 * shelters; applied over 30 days with some equal times. */
static struct splan_task *random_tasks(size_t n, uint64_t seed)
{
	struct splan_task *t = calloc(n, sizeof(*t));
	assert_non_null(t);
	rng_state = seed;
	for (size_t i = 0; i < n; i++) {
		t[i].id = (long long)i + 1;
		t[i].lat = 32.8 + uniform(-0.09, 0.09);
		t[i].lon = 130.7 + uniform(-0.11, 0.11);
		t[i].in_shelter = uniform(0, 1) < 0.2;
		t[i].applied_at = 1460000000 + 3600 * (long long)uniform(0, 720);
	}
	return t;
}

static struct splan_team *random_teams(size_t n, int capacity, size_t bases)
{
	struct splan_team *t = calloc(n, sizeof(*t));
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		size_t b = i % bases;
		t[i].lat = 32.8 + 0.05 * cos((double)b);
		t[i].lon = 130.7 + 0.05 * sin((double)b);
		t[i].capacity = capacity;
	}
	return t;
}

/* Two teams at the ends of a line, two tasks near each: each team gets
 * the two near it, and visits them nearer first. */
static void test_two_teams(void **state)
{
	(void)state;
	struct splan_task tasks[] = {
		{1, 35.000, 135.101, 0, 100}, /* east, far */
		{2, 35.000, 134.900, 0, 100}, /* west, near */
		{3, 35.000, 135.100, 0, 100}, /* east, near */
		{4, 35.000, 134.899, 0, 100}, /* west, far */
	};
	struct splan_team teams[] = {
		{35.0, 135.2, 2}, /* east */
		{35.0, 134.8, 2}, /* west */
	};
	struct splan_input in = {tasks, 4, teams, 2};
	struct splan_plan *p = build_ok(&in);
	assert_int_equal(p->selected, 4);
	assert_int_equal(p->routes[0].nstops, 2);
	assert_int_equal(p->routes[1].nstops, 2);
	/* a two-stop tour is as long either way round: only the set
	 * is checked, and the length */
	size_t e0 = p->routes[0].stops[0], e1 = p->routes[0].stops[1];
	assert_true((e0 == 0 && e1 == 2) || (e0 == 2 && e1 == 0));
	size_t w0 = p->routes[1].stops[0], w1 = p->routes[1].stops[1];
	assert_true((w0 == 1 && w1 == 3) || (w0 == 3 && w1 == 1));
	double expect = route_km(35.0, 135.2, 35.0, 135.101) +
			route_km(35.0, 135.101, 35.0, 135.100) +
			route_km(35.0, 135.100, 35.0, 135.2);
	assert_true(fabs(p->routes[0].length_km - expect) < 1e-6);
	assert_true(p->routes[0].bound_km <= p->routes[0].length_km + 1e-9);
	splan_free(p);
}

/* Higher priority first: in a shelter beats age, then older, then id. */
static int before(const struct splan_task *a, const struct splan_task *b)
{
	if (a->in_shelter != b->in_shelter)
		return a->in_shelter;
	if (a->applied_at != b->applied_at)
		return a->applied_at < b->applied_at;
	return a->id < b->id;
}

static void check_plan(const struct splan_input *in,
		       const struct splan_plan *p)
{
	size_t cap_total = 0;
	for (size_t t = 0; t < in->nteams; t++)
		cap_total += (size_t)in->teams[t].capacity;
	size_t want = in->ntasks < cap_total ? in->ntasks : cap_total;
	assert_int_equal(p->selected, want);
	char *seen = calloc(in->ntasks + 1, 1);
	assert_non_null(seen);
	size_t count = 0, lo = SIZE_MAX, hi = 0;
	double len = 0, nn = 0, bound = 0;
	for (size_t t = 0; t < p->nroutes; t++) {
		const struct splan_route *r = &p->routes[t];
		assert_int_equal(r->team, t);
		assert_true(r->nstops <= (size_t)in->teams[t].capacity);
		lo = r->nstops < lo ? r->nstops : lo;
		hi = r->nstops > hi ? r->nstops : hi;
		for (size_t k = 0; k < r->nstops; k++) {
			assert_true(r->stops[k] < in->ntasks);
			assert_false(seen[r->stops[k]]);
			seen[r->stops[k]] = 1;
			count++;
		}
		/* ordering never loses to nearest neighbour, and the
		 * bound is below the tour */
		assert_true(r->length_km <= r->nn_length_km + 1e-9);
		assert_true(r->bound_km <= r->length_km + 1e-9);
		assert_true(r->bound_km >= 0);
		len += r->length_km;
		nn += r->nn_length_km;
		bound += r->bound_km;
	}
	assert_int_equal(count, want);
	assert_true(fabs(len - p->length_km) < 1e-6);
	assert_true(fabs(nn - p->nn_length_km) < 1e-6);
	assert_true(fabs(bound - p->bound_km) < 1e-6);
	/* strict priority: no unplanned task comes before a planned one */
	for (size_t u = 0; u < in->ntasks; u++) {
		if (seen[u])
			continue;
		for (size_t s = 0; s < in->ntasks; s++)
			if (seen[s] && before(&in->tasks[u], &in->tasks[s]))
				fail_msg("task %lld unplanned before %lld",
					 in->tasks[u].id, in->tasks[s].id);
	}
	free(seen);
	/* balance with equal capacities: quotas differ by at most one */
	int equal = 1;
	for (size_t t = 1; t < in->nteams; t++)
		equal &= in->teams[t].capacity == in->teams[0].capacity;
	if (equal)
		assert_true(hi - lo <= 1);
}

static void test_random_properties(void **state)
{
	(void)state;
	static const struct {
		size_t tasks, teams, bases;
		int capacity;
	} cases[] = {
		{600, 10, 1, 15}, {100, 10, 3, 15}, {7, 10, 2, 15},
		{1000, 40, 5, 15}, {95, 7, 7, 15},   {300, 4, 1, 8},
		{0, 3, 1, 15},	  {50, 1, 1, 100},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct splan_task *tasks =
			random_tasks(cases[c].tasks, 0x1234 + c);
		struct splan_team *teams = random_teams(
			cases[c].teams, cases[c].capacity, cases[c].bases);
		struct splan_input in = {tasks, cases[c].tasks, teams,
					 cases[c].teams};
		struct splan_plan *p = build_ok(&in);
		check_plan(&in, p);
		splan_free(p);
		free(tasks);
		free(teams);
	}
}

/* Unequal capacities: each team gets its share in proportion, never
 * more than its capacity. */
static void test_unequal_capacity(void **state)
{
	(void)state;
	struct splan_task *tasks = random_tasks(40, 77);
	struct splan_team teams[] = {
		{32.8, 130.7, 30}, {32.8, 130.7, 10}, {32.8, 130.7, 20}};
	struct splan_input in = {tasks, 40, teams, 3};
	struct splan_plan *p = build_ok(&in);
	check_plan(&in, p);
	/* 40 of 60: 20, 6.67, 13.33: the remainder to the largest fraction */
	assert_int_equal(p->routes[0].nstops, 20);
	assert_int_equal(p->routes[1].nstops, 7);
	assert_int_equal(p->routes[2].nstops, 13);
	splan_free(p);
	free(tasks);
}

/* The same tasks listed in another order give the same plan, by id. */
static void test_deterministic(void **state)
{
	(void)state;
	size_t n = 800;
	struct splan_task *tasks = random_tasks(n, 4242);
	struct splan_team *teams = random_teams(30, 15, 4);
	struct splan_input in = {tasks, n, teams, 30};
	struct splan_plan *a = build_ok(&in), *b = build_ok(&in);
	struct splan_task *rev = calloc(n, sizeof(*rev));
	assert_non_null(rev);
	for (size_t i = 0; i < n; i++)
		rev[i] = tasks[n - 1 - i];
	struct splan_input in2 = {rev, n, teams, 30};
	struct splan_plan *c = build_ok(&in2);
	for (size_t t = 0; t < a->nroutes; t++) {
		assert_int_equal(a->routes[t].nstops, b->routes[t].nstops);
		assert_int_equal(a->routes[t].nstops, c->routes[t].nstops);
		assert_true(a->routes[t].length_km == b->routes[t].length_km);
		for (size_t k = 0; k < a->routes[t].nstops; k++) {
			assert_int_equal(a->routes[t].stops[k],
					 b->routes[t].stops[k]);
			assert_int_equal(tasks[a->routes[t].stops[k]].id,
					 rev[c->routes[t].stops[k]].id);
		}
	}
	splan_free(a);
	splan_free(b);
	splan_free(c);
	free(rev);
	free(tasks);
	free(teams);
}

/* The length of tours over the same tasks dealt out 15 at a time in
 * priority order (what a clerk does without a planner), each in
 * nearest-neighbour order. */
static double dealt_length(const struct splan_input *in,
			   const struct splan_plan *p)
{
	size_t k = p->selected, at = 0;
	const struct splan_task **sel = calloc(k, sizeof(*sel));
	assert_non_null(sel);
	for (size_t t = 0; t < p->nroutes; t++)
		for (size_t s = 0; s < p->routes[t].nstops; s++)
			sel[at++] = &in->tasks[p->routes[t].stops[s]];
	/* insertion sort by priority: small k */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && before(sel[j], sel[j - 1]); j--) {
			const struct splan_task *x = sel[j];
			sel[j] = sel[j - 1];
			sel[j - 1] = x;
		}
	double total = 0;
	at = 0;
	for (size_t t = 0; t < in->nteams; t++) {
		size_t n = p->routes[t].nstops, m = n + 1;
		double *d = calloc(m * m, sizeof(*d));
		size_t *order = calloc(n + 1, sizeof(*order));
		assert_non_null(d);
		assert_non_null(order);
		for (size_t a = 0; a < m; a++)
			for (size_t b = 0; b < m; b++) {
				double la = a ? sel[at + a - 1]->lat
					      : in->teams[t].lat;
				double oa = a ? sel[at + a - 1]->lon
					      : in->teams[t].lon;
				double lb = b ? sel[at + b - 1]->lat
					      : in->teams[t].lat;
				double ob = b ? sel[at + b - 1]->lon
					      : in->teams[t].lon;
				d[a * m + b] = route_km(la, oa, lb, ob);
			}
		double len;
		assert_int_equal(route_order(d, n, ROUTE_NEAREST, order, &len),
				 0);
		total += len;
		at += n;
		free(d);
		free(order);
	}
	free(sel);
	return total;
}

/* Over random instances, teams start in the middle of their town:
 * ordering beats nearest neighbour on the same assignment, the bound
 * is close below, and clustering beats dealing out in priority order. */
static void test_route_quality(void **state)
{
	(void)state;
	double len = 0, nn = 0, bound = 0, dealt = 0;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct splan_task *tasks = random_tasks(2000, seed * 7919);
		struct splan_team *teams = random_teams(20, 15, 1);
		for (size_t t = 0; t < 20; t++) {
			teams[t].lat = 32.8;
			teams[t].lon = 130.7;
		}
		struct splan_input in = {tasks, 2000, teams, 20};
		struct splan_plan *p = build_ok(&in);
		check_plan(&in, p);
		len += p->length_km;
		nn += p->nn_length_km;
		bound += p->bound_km;
		dealt += dealt_length(&in, p);
		splan_free(p);
		free(tasks);
		free(teams);
	}
	print_message("planned %.1f km, nearest neighbour %.1f, bound %.1f, "
		      "dealt in priority order %.1f\n",
		      len, nn, bound, dealt);
	assert_true(len < 0.97 * nn);
	assert_true(bound > 0.95 * len);
	assert_true(len < 0.6 * dealt);
}

/* With at most ROUTE_EXACT_MAX stops a route is optimal (Held-Karp), so
 * the bound must lie below it: and close, or it says little. */
static void test_bound_against_exact(void **state)
{
	(void)state;
	double len = 0, bound = 0;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct splan_task *tasks = random_tasks(400, seed * 104729);
		struct splan_team *teams =
			random_teams(40, ROUTE_EXACT_MAX, 3);
		struct splan_input in = {tasks, 400, teams, 40};
		struct splan_plan *p = build_ok(&in);
		for (size_t t = 0; t < p->nroutes; t++) {
			assert_true(p->routes[t].bound_km <=
				    p->routes[t].length_km + 1e-9);
			len += p->routes[t].length_km;
			bound += p->routes[t].bound_km;
		}
		splan_free(p);
		free(tasks);
		free(teams);
	}
	print_message("optimal %.1f km, bound %.1f km (%.2f %%)\n", len,
		      bound, 100 * bound / len);
	assert_true(bound >= 0.97 * len);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct splan_task tasks[] = {{1, 35.0, 135.0, 0, 100}};
	struct splan_team teams[] = {{35.0, 135.0, 15}};
	struct splan_input in = {tasks, 1, teams, 1};
	struct splan_plan *p = (struct splan_plan *)&in;
	sl_error err = {""};

	in.nteams = 0;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	assert_null(p);
	assert_non_null(strstr(err.text, "teams"));
	in.nteams = 1;

	teams[0].capacity = 0;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "team 1: capacity 0"));
	teams[0].capacity = SPLAN_CAPACITY_MAX + 1;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	teams[0].capacity = 15;

	teams[0].lat = NAN;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "start point"));
	teams[0].lat = 35.0;

	tasks[0].lon = 181;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "task 1"));
	tasks[0].lon = 135.0;

	tasks[0].applied_at = -1;
	assert_int_equal(splan_build(&in, &p, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "applied_at"));
}

/* Every allocation failure returns SL_ENOMEM with no plan (and no
 * leak: run under ASan). */
static void test_out_of_memory(void **state)
{
	(void)state;
	struct splan_task *tasks = random_tasks(60, 99);
	struct splan_team *teams = random_teams(4, 15, 2);
	struct splan_input in = {tasks, 60, teams, 4};
	int rc = SL_ENOMEM;
	long n;
	for (n = 0; n < 100000 && rc == SL_ENOMEM; n++) {
		struct splan_plan *p = NULL;
		sl_alloc_fail_after(n);
		rc = splan_build(&in, &p, NULL);
		sl_alloc_fail_after(-1);
		if (rc == SL_ENOMEM)
			assert_null(p);
		splan_free(p);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 10);
	free(tasks);
	free(teams);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_teams),
		cmocka_unit_test(test_random_properties),
		cmocka_unit_test(test_unequal_capacity),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_route_quality),
		cmocka_unit_test(test_bound_against_exact),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
