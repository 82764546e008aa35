/*
 * route.c - packs one depot's deliveries into truck trips and orders the
 * stops of each trip.  Pure and deterministic: no database, no clock, no
 * randomness; the same input gives the same plan byte for byte.  It is
 * not the allocator (which decides what each shelter gets from which
 * depot) and it does not print: routeprint.c writes the sheets.
 *
 * Method:
 *  1. Loads are counted in whole grams and millilitres, so a load exactly
 *     at a vehicle's capacity fits and rounding never overloads a truck.
 *  2. Trips are built for the depot's smallest capacity (per dimension),
 *     so every trip fits every vehicle and the assignment (5) is free to
 *     balance.  A mixed fleet leaves its bigger trucks' extra room unused.
 *  3. A shelter whose load exceeds that capacity gets full loads first:
 *     a greedy fill, heaviest units first, until no further unit fits;
 *     the rest joins the others.  Units never split.
 *  4. Clarke-Wright savings (parallel version) merge the rest into trips,
 *     checking weight and volume on every merge.
 *  5. Trips go to vehicles longest first, each to the vehicle with the
 *     least route length so far (ties: lower vehicle id); a vehicle's
 *     trips are numbered in that order.
 *  6. Each trip's stops: Held-Karp dynamic programming up to
 *     ROUTE_EXACT_MAX stops (exact, and at 10 stops 2^10 x 10 states cost
 *     well under a millisecond); beyond, nearest neighbour from the depot
 *     then 2-opt and Or-opt moves until neither finds an improvement.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "mem.h"

#define EARTH_KM 6371.0088
#define EPS	 1e-9
#define QTY_MAX	 100000000LL /* units of one item to one shelter */

double route_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) *
			   sin(dlon / 2);
	if (a > 1)
		a = 1;
	return 2 * EARTH_KM * asin(sqrt(a));
}

/* ---- ordering the stops of one tour ---- */

/* dist is (n + 1) x (n + 1); point 0 is the depot. */
#define D(a, b) dist[(a) * (n + 1) + (b)]

static double tour_length(const double *dist, size_t n, const size_t *order)
{
	double len = 0;
	size_t prev = 0;
	for (size_t k = 0; k < n; k++) {
		len += D(prev, order[k] + 1);
		prev = order[k] + 1;
	}
	return len + D(prev, 0);
}

/* Nearest neighbour from the depot; ties to the lower stop index. */
static void nearest(const double *dist, size_t n, size_t *order)
{
	for (size_t k = 0; k < n; k++)
		order[k] = k;
	size_t prev = 0;
	for (size_t k = 0; k < n; k++) {
		size_t best = k;
		for (size_t c = k + 1; c < n; c++) {
			double dc = D(prev, order[c] + 1);
			double db = D(prev, order[best] + 1);
			if (dc < db || (dc == db && order[c] < order[best]))
				best = c;
		}
		size_t t = order[k];
		order[k] = order[best];
		order[best] = t;
		prev = order[k] + 1;
	}
}

/* t[0..n+1] is the tour as points (t[0] = t[n+1] = 0): moves the
 * segment t[i..i+len-1], reversed if rev, to between t[p] and t[p+1]. */
static void move_segment(size_t *t, size_t *tmp, size_t n, size_t i, size_t len,
			 size_t p, int rev)
{
	size_t w = 0;
	for (size_t k = 0; k <= n + 1; k++) {
		if (k >= i && k < i + len)
			continue;
		tmp[w++] = t[k];
		if (k == p)
			for (size_t s = 0; s < len; s++)
				tmp[w++] = t[rev ? i + len - 1 - s : i + s];
	}
	memcpy(t, tmp, (n + 2) * sizeof(*t));
}

/* One pass of 2-opt: reverses t[i..j] where that shortens the tour.
 * Returns whether anything changed. */
static int two_opt(const double *dist, size_t n, size_t *t)
{
	int changed = 0;
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i + 1; j <= n; j++) {
			double delta = D(t[i - 1], t[j]) + D(t[i], t[j + 1]) -
				       D(t[i - 1], t[i]) - D(t[j], t[j + 1]);
			if (delta < -EPS) {
				for (size_t a = i, b = j; a < b; a++, b--) {
					size_t x = t[a];
					t[a] = t[b];
					t[b] = x;
				}
				changed = 1;
			}
		}
	}
	return changed;
}

/* One pass of Or-opt: moves segments of 1 to 3 stops, either way round,
 * to wherever that shortens the tour.  Returns whether anything changed. */
static int or_opt(const double *dist, size_t n, size_t *t, size_t *tmp)
{
	int changed = 0;
	for (size_t len = 1; len <= 3 && len < n; len++) {
		for (size_t i = 1; i + len - 1 <= n; i++) {
			size_t a = t[i], b = t[i + len - 1];
			double gain = D(t[i - 1], a) + D(b, t[i + len]) -
				      D(t[i - 1], t[i + len]);
			for (size_t p = 0; p <= n; p++) {
				if (p + 1 >= i && p <= i + len - 1)
					continue; /* an edge touching the
						     segment */
				double base = D(t[p], t[p + 1]);
				double fwd = D(t[p], a) + D(b, t[p + 1]) - base;
				double rev = D(t[p], b) + D(a, t[p + 1]) - base;
				int use_rev = rev < fwd;
				if ((use_rev ? rev : fwd) - gain < -EPS) {
					move_segment(t, tmp, n, i, len, p,
						     use_rev);
					changed = 1;
					break;
				}
			}
		}
	}
	return changed;
}

static int improve(const double *dist, size_t n, size_t *order)
{
	size_t *t = sl_malloc(2 * (n + 2) * sizeof(*t));
	if (t == NULL)
		return SL_ENOMEM;
	t[0] = t[n + 1] = 0;
	for (size_t k = 0; k < n; k++)
		t[k + 1] = order[k] + 1;
	while (two_opt(dist, n, t) | or_opt(dist, n, t, t + n + 2))
		;
	for (size_t k = 0; k < n; k++)
		order[k] = t[k + 1] - 1;
	sl_free(t);
	return 0;
}

/* Held-Karp: best[mask][j] is the shortest path from the depot through
 * the stops in mask ending at stop j. */
static int held_karp(const double *dist, size_t n, size_t *order)
{
	size_t full = ((size_t)1 << n) - 1;
	double *best = sl_malloc((full + 1) * n * sizeof(*best));
	unsigned char *from = sl_malloc((full + 1) * n);
	if (best == NULL || from == NULL) {
		sl_free(best);
		sl_free(from);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < (full + 1) * n; i++)
		best[i] = INFINITY;
	for (size_t j = 0; j < n; j++)
		best[((size_t)1 << j) * n + j] = D(0, j + 1);
	for (size_t mask = 1; mask <= full; mask++) {
		for (size_t j = 0; j < n; j++) {
			double here = best[mask * n + j];
			if (!(mask >> j & 1) || here == INFINITY)
				continue;
			for (size_t k = 0; k < n; k++) {
				if (mask >> k & 1)
					continue;
				size_t next = mask | (size_t)1 << k;
				double v = here + D(j + 1, k + 1);
				if (v < best[next * n + k]) {
					best[next * n + k] = v;
					from[next * n + k] = (unsigned char)j;
				}
			}
		}
	}
	size_t last = 0;
	for (size_t j = 1; j < n; j++)
		if (best[full * n + j] + D(j + 1, 0) <
		    best[full * n + last] + D(last + 1, 0))
			last = j;
	for (size_t mask = full, k = n; k-- > 0;) {
		order[k] = last;
		size_t prev = from[mask * n + last];
		mask &= ~((size_t)1 << last);
		last = prev;
	}
	sl_free(best);
	sl_free(from);
	return 0;
}

int route_order(const double *dist, size_t n, enum route_method m,
		size_t *order, double *length)
{
	int rc = 0;
	*length = 0;
	if (n == 0)
		return 0;
	if (m == ROUTE_AUTO)
		m = n <= ROUTE_EXACT_MAX ? ROUTE_EXACT : ROUTE_IMPROVED;
	if (m == ROUTE_EXACT) {
		if (n > ROUTE_EXACT_MAX)
			return SL_EINVAL;
		rc = held_karp(dist, n, order);
	} else {
		nearest(dist, n, order);
		if (m == ROUTE_IMPROVED)
			rc = improve(dist, n, order);
	}
	if (rc == 0)
		*length = tour_length(dist, n, order);
	return rc;
}

#undef D

/* ---- checking the input ---- */

static int position_ok(double lat, double lon)
{
	return fabs(lat) <= 90 && fabs(lon) <= 180;
}

static long long grams(double kg)
{
	long long g = llround(kg * 1000);
	return g > 0 ? g : 1;
}

/* Capacity in whole units, rounded down so it is never overstated. */
static long long capacity(double v)
{
	return (long long)floor(v * 1000 + 1e-6);
}

static int check_vehicles(const struct route_input *in, long long *cap_g,
			  long long *cap_ml, size_t *smallest, sl_error *err)
{
	for (size_t i = 0; i < in->nvehicles; i++) {
		const struct vehicle *v = &in->vehicles[i];
		const char *id = v->id ? v->id : "(no id)";
		if (!(v->max_weight_kg > 0 && isfinite(v->max_weight_kg)) ||
		    !(v->max_volume_l > 0 && isfinite(v->max_volume_l)) ||
		    capacity(v->max_weight_kg) <= 0 ||
		    capacity(v->max_volume_l) <= 0)
			return sl_error_set(
				err, SL_EINVAL,
				"vehicle %s: capacity %g kg, %g l: a vehicle "
				"needs a weight and a volume capacity above "
				"zero",
				id, v->max_weight_kg, v->max_volume_l);
		if (v->id == NULL)
			return sl_error_set(err, SL_EINVAL,
					    "vehicle %zu of depot %s has no id",
					    i, in->depot->id);
		for (size_t j = 0; j < i; j++)
			if (strcmp(in->vehicles[j].id, v->id) == 0)
				return sl_error_set(
					err, SL_EINVAL,
					"vehicle %s is listed twice", v->id);
		long long g = capacity(v->max_weight_kg);
		long long ml = capacity(v->max_volume_l);
		if (i == 0 || g < *cap_g)
			*cap_g = g;
		if (i == 0 || ml < *cap_ml)
			*cap_ml = ml;
		if (i == 0 ||
		    g < capacity(in->vehicles[*smallest].max_weight_kg))
			*smallest = i;
	}
	return 0;
}

static int check_line(const struct route_shelter *s, size_t k, long long cap_g,
		      long long cap_ml, const char *smallest, sl_error *err)
{
	const struct route_line *l = &s->lines[k];
	const struct catalog_item *it = l->item;
	if (it == NULL || it->code == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "shelter %s, line %zu: no item", s->id,
				    k + 1);
	if (!(it->unit_weight_kg > 0 && isfinite(it->unit_weight_kg)) ||
	    !(it->unit_volume_l > 0 && isfinite(it->unit_volume_l)))
		return sl_error_set(err, SL_EINVAL,
				    "shelter %s: item %s has unit weight %g kg "
				    "and volume %g l: every item loaded on a "
				    "truck needs both above zero",
				    s->id, it->code, it->unit_weight_kg,
				    it->unit_volume_l);
	if (l->qty < 0 || l->qty > QTY_MAX)
		return sl_error_set(err, SL_EINVAL,
				    "shelter %s: item %s: quantity %lld is not "
				    "between 0 and %lld",
				    s->id, it->code, l->qty, QTY_MAX);
	if (l->qty > 0 && smallest &&
	    (grams(it->unit_weight_kg) > cap_g ||
	     grams(it->unit_volume_l) > cap_ml))
		return sl_error_set(
			err, SL_EINVAL,
			"shelter %s: item %s: one unit (%g kg, %g l) "
			"exceeds the depot's smallest capacities "
			"(%.3f kg, %.3f l; vehicle %s): trips are "
			"planned to fit every vehicle and units are "
			"never split",
			s->id, it->code, it->unit_weight_kg, it->unit_volume_l,
			(double)cap_g / 1000, (double)cap_ml / 1000, smallest);
	return 0;
}

/* Sort keys carry what the comparison needs: no global state, so
 * depots can be routed on several threads. */
struct key {
	const char *id;
	long long n;
	double x;
	size_t i;
};

/* By id, then index. */
static int by_id(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* ---- building the plan ---- */

/* A load for one stop: qty per line of shelter s (input index). */
struct piece {
	size_t shelter;
	long long *qty;
	long long g, ml;
	int full; /* a full load, split off a shelter's larger load */
};

struct work {
	const struct route_input *in;
	long long cap_g, cap_ml;
	struct piece *pieces;
	size_t npieces, cap_pieces;
	size_t *order; /* shelter indices by id */
	size_t *rank;  /* rank[input index] = position in id order */
};

static int add_piece(struct work *w, size_t s, long long *qty, long long g,
		     long long ml, int full)
{
	if (w->npieces == w->cap_pieces) {
		size_t c = w->cap_pieces ? 2 * w->cap_pieces : 64;
		struct piece *p = sl_realloc(w->pieces, c * sizeof(*p));
		if (p == NULL)
			return SL_ENOMEM;
		w->pieces = p;
		w->cap_pieces = c;
	}
	w->pieces[w->npieces++] = (struct piece){s, qty, g, ml, full};
	return 0;
}

/* Heaviest unit first, then item code, then line. */
static int by_unit(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return by_id(a, b);
}

/* Splits shelter s's load into full loads plus a rest that fits one
 * truck; all become pieces (the full loads first). */
static int split_shelter(struct work *w, size_t s)
{
	const struct route_shelter *sh = &w->in->shelters[s];
	size_t n = sh->nlines;
	long long *left = sl_calloc(n ? n : 1, sizeof(*left));
	struct key *by = sl_malloc((n ? n : 1) * sizeof(*by));
	long long g = 0, ml = 0;
	int rc = 0;
	if (left == NULL || by == NULL) {
		rc = SL_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		left[k] = sh->lines[k].qty;
		by[k] = (struct key){
			.id = sh->lines[k].item->code,
			.n = grams(sh->lines[k].item->unit_weight_kg),
			.i = k};
		g += left[k] * grams(sh->lines[k].item->unit_weight_kg);
		ml += left[k] * grams(sh->lines[k].item->unit_volume_l);
	}
	qsort(by, n, sizeof(*by), by_unit);
	while (g > w->cap_g || ml > w->cap_ml) {
		long long *load = sl_calloc(n, sizeof(*load));
		long long lg = 0, lml = 0;
		if (load == NULL) {
			rc = SL_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			size_t k = by[i].i;
			long long ug = grams(sh->lines[k].item->unit_weight_kg);
			long long uml = grams(sh->lines[k].item->unit_volume_l);
			long long take = left[k];
			if ((w->cap_g - lg) / ug < take)
				take = (w->cap_g - lg) / ug;
			if ((w->cap_ml - lml) / uml < take)
				take = (w->cap_ml - lml) / uml;
			load[k] = take;
			left[k] -= take;
			lg += take * ug;
			lml += take * uml;
		}
		g -= lg;
		ml -= lml;
		if ((rc = add_piece(w, s, load, lg, lml, 1)) != 0) {
			sl_free(load);
			goto out;
		}
	}
	if (g > 0) {
		if ((rc = add_piece(w, s, left, g, ml, 0)) != 0)
			goto out;
		left = NULL;
	}
out:
	sl_free(left);
	sl_free(by);
	return rc;
}

struct saving {
	double s;
	size_t i, j;
};

static int by_saving(const void *a, const void *b)
{
	const struct saving *x = a, *y = b;
	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	return x->j < y->j ? -1 : x->j > y->j;
}

/* A trip under construction: piece indices in stop order. */
struct tour {
	size_t *p;
	size_t n;
	long long g, ml;
};

static void reverse(size_t *a, size_t n)
{
	for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
		size_t t = a[i];
		a[i] = a[j - 1];
		a[j - 1] = t;
	}
}

/*
 * Clarke-Wright over pieces first..npieces-1 (each fits one truck).
 * Fills tours (one per piece to start; merged ones get n = 0).
 */
static int savings(struct work *w, size_t first, struct tour *tours)
{
	const struct route_input *in = w->in;
	size_t m = w->npieces - first;
	size_t *tour_of = sl_malloc((m ? m : 1) * sizeof(*tour_of));
	double *d0 = sl_malloc((m ? m : 1) * sizeof(*d0));
	struct saving *sv = NULL;
	size_t nsv = 0;
	int rc = 0;
	if (tour_of == NULL || d0 == NULL)
		goto nomem;
	if (m > 1 && (sv = sl_malloc(m * (m - 1) / 2 * sizeof(*sv))) == NULL)
		goto nomem;
	for (size_t i = 0; i < m; i++) {
		const struct route_shelter *s =
			&in->shelters[w->pieces[first + i].shelter];
		d0[i] = route_km(in->depot->lat, in->depot->lon, s->lat,
				 s->lon);
		tour_of[i] = i;
	}
	for (size_t i = 0; i < m; i++) {
		const struct route_shelter *a =
			&in->shelters[w->pieces[first + i].shelter];
		for (size_t j = i + 1; j < m; j++) {
			const struct route_shelter *b =
				&in->shelters[w->pieces[first + j].shelter];
			double s = d0[i] + d0[j] -
				   route_km(a->lat, a->lon, b->lat, b->lon);
			if (s > EPS)
				sv[nsv++] = (struct saving){s, i, j};
		}
	}
	if (nsv > 0)
		qsort(sv, nsv, sizeof(*sv), by_saving);
	for (size_t k = 0; k < nsv; k++) {
		size_t i = sv[k].i, j = sv[k].j;
		struct tour *a = &tours[tour_of[i]], *b = &tours[tour_of[j]];
		if (a == b || a->g + b->g > w->cap_g ||
		    a->ml + b->ml > w->cap_ml)
			continue;
		size_t pi = first + i, pj = first + j;
		if ((a->p[0] != pi && a->p[a->n - 1] != pi) ||
		    (b->p[0] != pj && b->p[b->n - 1] != pj))
			continue; /* not both at the end of their trips */
		if (a->p[a->n - 1] != pi)
			reverse(a->p, a->n);
		if (b->p[0] != pj)
			reverse(b->p, b->n);
		size_t *grown =
			sl_realloc(a->p, (a->n + b->n) * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		a->p = grown;
		for (size_t q = 0; q < b->n; q++) {
			a->p[a->n + q] = b->p[q];
			tour_of[b->p[q] - first] = (size_t)(a - tours);
		}
		a->n += b->n;
		a->g += b->g;
		a->ml += b->ml;
		b->n = 0;
	}
	goto out;
nomem:
	rc = SL_ENOMEM;
out:
	sl_free(tour_of);
	sl_free(d0);
	sl_free(sv);
	return rc;
}

/* Turns tour t into a plan trip: stops ordered, loads copied. */
static int make_trip(struct work *w, const struct tour *t,
		     struct route_trip *trip)
{
	const struct route_input *in = w->in;
	size_t n = t->n;
	double *dist = sl_malloc((n + 1) * (n + 1) * sizeof(*dist));
	size_t *order = sl_malloc(n * sizeof(*order));
	size_t *p = sl_malloc(n * sizeof(*p));
	int rc = SL_ENOMEM;
	memset(trip, 0, sizeof(*trip));
	if (dist == NULL || order == NULL || p == NULL)
		goto out;
	/* Stops in id order, so that ties go to the lower id. */
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		p[i] = t->p[i];
		while (k > 0 && w->rank[w->pieces[p[k]].shelter] <
					w->rank[w->pieces[p[k - 1]].shelter]) {
			size_t x = p[k];
			p[k] = p[k - 1];
			p[k - 1] = x;
			k--;
		}
	}
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = 0; b <= n; b++) {
			const struct route_shelter *sa =
				a ? &in->shelters[w->pieces[p[a - 1]].shelter]
				  : NULL;
			const struct route_shelter *sb =
				b ? &in->shelters[w->pieces[p[b - 1]].shelter]
				  : NULL;
			dist[a * (n + 1) + b] =
				route_km(sa ? sa->lat : in->depot->lat,
					 sa ? sa->lon : in->depot->lon,
					 sb ? sb->lat : in->depot->lat,
					 sb ? sb->lon : in->depot->lon);
		}
	}
	if ((rc = route_order(dist, n, ROUTE_NEAREST, order,
			      &trip->nn_length_km)) != 0 ||
	    (rc = route_order(dist, n, ROUTE_AUTO, order, &trip->length_km)) !=
		    0)
		goto out;
	rc = SL_ENOMEM;
	if ((trip->stops = sl_calloc(n, sizeof(*trip->stops))) == NULL)
		goto out;
	trip->nstops = n;
	for (size_t k = 0; k < n; k++) {
		const struct piece *pc = &w->pieces[p[order[k]]];
		const struct route_shelter *sh = &in->shelters[pc->shelter];
		struct route_stop *st = &trip->stops[k];
		st->shelter = pc->shelter;
		st->weight_kg = (double)pc->g / 1000;
		st->volume_l = (double)pc->ml / 1000;
		trip->weight_kg += st->weight_kg;
		trip->volume_l += st->volume_l;
		if ((st->lines = sl_calloc(sh->nlines ? sh->nlines : 1,
					   sizeof(*st->lines))) == NULL)
			goto out;
		for (size_t l = 0; l < sh->nlines; l++)
			if (pc->qty[l] > 0)
				st->lines[st->nlines++] = (struct route_line){
					sh->lines[l].item, pc->qty[l]};
	}
	rc = 0;
out:
	sl_free(dist);
	sl_free(order);
	sl_free(p);
	return rc;
}

/* Longest first; ties: the lower first stop id, then creation. */
static int by_length(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->x != y->x)
		return x->x > y->x ? -1 : 1;
	return by_id(a, b);
}

/* By vehicle id, then n: vehicle index and trip number. */
static int by_vehicle(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Reorders p->trips as k says (k[i].i: which trip goes i-th). */
static int permute(struct route_plan *p, const struct key *k)
{
	struct route_trip *t = sl_malloc((p->ntrips + 1) * sizeof(*t));
	if (t == NULL)
		return SL_ENOMEM;
	for (size_t i = 0; i < p->ntrips; i++)
		t[i] = p->trips[k[i].i];
	sl_free(p->trips);
	p->trips = t;
	return 0;
}

/* Longest trip first to the vehicle with the least length so far. */
static int assign(struct route_plan *p)
{
	size_t nv = p->in.nvehicles;
	double *km = sl_calloc(nv ? nv : 1, sizeof(*km));
	int *trips = sl_calloc(nv ? nv : 1, sizeof(*trips));
	struct key *k = sl_malloc((p->ntrips + 1) * sizeof(*k));
	int rc = SL_ENOMEM;
	if (km == NULL || trips == NULL || k == NULL)
		goto out;
	for (size_t t = 0; t < p->ntrips; t++)
		k[t] = (struct key){
			.id = p->in.shelters[p->trips[t].stops[0].shelter].id,
			.x = p->trips[t].length_km,
			.i = t};
	qsort(k, p->ntrips, sizeof(*k), by_length);
	if (permute(p, k) != 0)
		goto out;
	for (size_t t = 0; t < p->ntrips; t++) {
		size_t best = 0;
		for (size_t v = 1; v < nv; v++) {
			int c = strcmp(p->in.vehicles[v].id,
				       p->in.vehicles[best].id);
			if (km[v] < km[best] - EPS ||
			    (fabs(km[v] - km[best]) <= EPS && c < 0))
				best = v;
		}
		p->trips[t].vehicle = best;
		p->trips[t].number = ++trips[best];
		km[best] += p->trips[t].length_km;
		p->length_km += p->trips[t].length_km;
	}
	for (size_t t = 0; t < p->ntrips; t++)
		k[t] = (struct key){
			.id = p->in.vehicles[p->trips[t].vehicle].id,
			.n = (long long)p->trips[t].vehicle << 32 |
			     p->trips[t].number,
			.i = t};
	qsort(k, p->ntrips, sizeof(*k), by_vehicle);
	rc = permute(p, k);
out:
	sl_free(km);
	sl_free(trips);
	sl_free(k);
	return rc;
}

/* Fills w->order (shelter indices by id) and w->rank (its inverse). */
static int sort_shelters(struct work *w, sl_error *err)
{
	size_t n = w->in->nshelters;
	struct key *k = sl_malloc((n + 1) * sizeof(*k));
	w->order = sl_malloc((n + 1) * sizeof(*w->order));
	w->rank = sl_malloc((n + 1) * sizeof(*w->rank));
	if (k == NULL || w->order == NULL || w->rank == NULL) {
		sl_free(k);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (w->in->shelters[i].id == NULL) {
			sl_free(k);
			return sl_error_set(err, SL_EINVAL,
					    "shelter %zu has no id", i + 1);
		}
		k[i] = (struct key){.id = w->in->shelters[i].id, .i = i};
	}
	qsort(k, n, sizeof(*k), by_id);
	for (size_t i = 0; i < n; i++) {
		w->order[i] = k[i].i;
		w->rank[k[i].i] = i;
	}
	sl_free(k);
	return 0;
}

/* Stable partition of the pieces: full loads, then the rests. */
static int full_loads_first(struct work *w, size_t *first_rest)
{
	struct piece *sorted = sl_malloc((w->npieces + 1) * sizeof(*sorted));
	size_t n = 0;
	if (sorted == NULL)
		return SL_ENOMEM;
	for (int full = 1; full >= 0; full--) {
		for (size_t i = 0; i < w->npieces; i++)
			if (w->pieces[i].full == full)
				sorted[n++] = w->pieces[i];
		if (full)
			*first_rest = n;
	}
	sl_free(w->pieces);
	w->pieces = sorted;
	w->cap_pieces = w->npieces;
	return 0;
}

static int check_input(const struct route_input *in, struct work *w,
		       size_t smallest_vehicle, sl_error *err)
{
	long long load = 0;
	for (size_t i = 0; i < in->nshelters; i++) {
		const struct route_shelter *s = &in->shelters[i];
		long long units = 0;
		int rc;
		for (size_t k = 0; k < s->nlines; k++) {
			if ((rc = check_line(
				     s, k, w->cap_g, w->cap_ml,
				     in->nvehicles > 0
					     ? in->vehicles[smallest_vehicle].id
					     : NULL,
				     err)) != 0)
				return rc;
			units += s->lines[k].qty;
		}
		load += units;
		if (units > 0 &&
		    (!s->has_position || !position_ok(s->lat, s->lon)))
			return sl_error_set(
				err, SL_EINVAL,
				"shelter %s has no position: a "
				"shelter receiving a delivery needs "
				"a latitude and longitude",
				s->id);
	}
	for (size_t i = 1; i < in->nshelters; i++)
		if (strcmp(in->shelters[w->order[i - 1]].id,
			   in->shelters[w->order[i]].id) == 0)
			return sl_error_set(err, SL_EINVAL,
					    "shelter %s is listed twice: one "
					    "entry per shelter and depot",
					    in->shelters[w->order[i]].id);
	if (load > 0 && in->nvehicles == 0)
		return sl_error_set(err, SL_EINVAL,
				    "depot %s has no vehicles: its deliveries "
				    "need at least one",
				    in->depot->id);
	return 0;
}

static void free_work(struct work *w)
{
	for (size_t i = 0; i < w->npieces; i++)
		sl_free(w->pieces[i].qty);
	sl_free(w->pieces);
	sl_free(w->order);
	sl_free(w->rank);
}

int route_plan_build(const struct route_input *in, struct route_plan **out,
		     sl_error *err)
{
	struct work w = {.in = in};
	struct route_plan *p = NULL;
	struct tour *tours = NULL;
	size_t smallest = 0, first_rest = 0, ntours = 0;
	int rc;

	*out = NULL;
	if (in->depot == NULL || in->depot->id == NULL ||
	    !position_ok(in->depot->lat, in->depot->lon))
		return sl_error_set(err, SL_EINVAL,
				    "depot %s: a depot needs an id and a "
				    "latitude and longitude",
				    in->depot && in->depot->id ? in->depot->id
							       : "(none)");
	if ((rc = check_vehicles(in, &w.cap_g, &w.cap_ml, &smallest, err)) != 0)
		return rc;
	if ((rc = sort_shelters(&w, err)) != 0)
		goto fail;
	if ((rc = check_input(in, &w, smallest, err)) != 0)
		goto fail;

	/* Full loads first (each its own trip), then the rests. */
	for (size_t i = 0; i < in->nshelters; i++)
		if ((rc = split_shelter(&w, w.order[i])) != 0)
			goto fail;
	if ((rc = full_loads_first(&w, &first_rest)) != 0)
		goto fail;

	rc = SL_ENOMEM;
	ntours = w.npieces;
	if ((tours = sl_calloc(ntours ? ntours : 1, sizeof(*tours))) == NULL)
		goto fail;
	for (size_t i = 0; i < ntours; i++) {
		if ((tours[i].p = sl_malloc(sizeof(*tours[i].p))) == NULL)
			goto fail;
		tours[i].p[0] = i;
		tours[i].n = 1;
		tours[i].g = w.pieces[i].g;
		tours[i].ml = w.pieces[i].ml;
	}
	if ((rc = savings(&w, first_rest, tours + first_rest)) != 0)
		goto fail;

	rc = SL_ENOMEM;
	if ((p = sl_calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->in = *in;
	if ((p->trips = sl_calloc(ntours ? ntours : 1, sizeof(*p->trips))) ==
	    NULL)
		goto fail;
	for (size_t i = 0; i < ntours; i++) {
		if (tours[i].n == 0)
			continue;
		if ((rc = make_trip(&w, &tours[i], &p->trips[p->ntrips])) !=
		    0) {
			p->ntrips++; /* so that route_plan_free frees it */
			goto fail;
		}
		p->ntrips++;
	}
	if ((rc = assign(p)) != 0)
		goto fail;
	*out = p;
	p = NULL;
	rc = 0;
fail:
	if (rc == SL_ENOMEM)
		sl_error_set(err, rc, "depot %s: out of memory while routing",
			     in->depot->id);
	for (size_t i = 0; tours && i < ntours; i++)
		sl_free(tours[i].p);
	sl_free(tours);
	free_work(&w);
	route_plan_free(p);
	return rc;
}

void route_plan_free(struct route_plan *p)
{
	if (p == NULL)
		return;
	for (size_t t = 0; t < p->ntrips; t++) {
		for (size_t s = 0; s < p->trips[t].nstops; s++)
			sl_free(p->trips[t].stops[s].lines);
		sl_free(p->trips[t].stops);
	}
	sl_free(p->trips);
	sl_free(p);
}
