/*
 * survey_plan.c - one day's plan for the り災証明 field-survey teams: which
 * pending surveys are done today, which team does each, and in which
 * order.  Pure and deterministic: no database, no clock, no randomness;
 * the same input gives the same plan.  It does not read or lock tasks
 * (survey_field.c does) and it does not print.
 *
 * Method (docs/operations.md, "Field planning"):
 *  1. Selection: tasks sorted by applicant in a shelter first, then the
 *     oldest application, then the lower id; the first min(tasks, total
 *     capacity) are today's.  Priority is strict: a newer application is
 *     never surveyed before an older one of the same class just because
 *     it lies on a team's way.
 *  2. Quotas: today's tasks shared among the teams in proportion to
 *     their capacities (never above one), so workload is balanced.
 *  3. Clusters: recursive bisection of tasks and teams together.  At each
 *     step the tasks are cut across the longer side of their bounding
 *     box, the teams are sorted along the same axis by start point and
 *     halved, and each half of the teams gets as many tasks as its
 *     quotas add up to.  O(K log K log T) for K tasks and T teams.
 *  4. Exchange: for every team and its SPLAN_NEIGHBOURS nearest teams (by
 *     cluster centroid), the swap of one task each way that shortens the
 *     two tours most (removal and cheapest reinsertion) is made while
 *     one shortens them; both tours are then re-ordered.  Swaps keep the
 *     quotas, so balance survives.  At most SPLAN_PASSES passes.
 *  5. Order: each tour (start -> stops -> start) by route_order()'s
 *     ROUTE_AUTO on great-circle distances (route_km): exact up to
 *     ROUTE_EXACT_MAX stops, else nearest neighbour, 2-opt and Or-opt.
 *     Distances during 4 are chord lengths through the earth, which order
 *     pairs as great-circle distances do and are cheaper.
 *  6. Measures per team: the tour's length; nearest-neighbour ordering of
 *     the same stops; and the Held-Karp 1-tree lower bound on any
 *     ordering of them (a tour minus its start point is a spanning path
 *     of the stops, plus two edges at the start: the minimum spanning
 *     tree of the stops plus the start's two shortest edges can only be
 *     shorter; node penalties found by subgradient ascent tighten it
 *     without losing validity).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "mem.h"

#define EARTH_KM	 6371.0088
#define SPLAN_NEIGHBOURS 6
#define SPLAN_PASSES	 12
#define BOUND_ITER	 120
#define EPS		 1e-9

/* A point as a vector from the earth's centre, in km. */
struct vec {
	double x, y, z;
};

struct work {
	const struct splan_input *in;
	size_t k;	 /* tasks selected today */
	size_t *sel;	 /* [k] task indices, priority order */
	struct vec *p;	 /* [k] their positions */
	struct vec *base; /* [nteams] start points */
	size_t *quota;	 /* [nteams] */
	size_t *first;	 /* [nteams] offset of the team's tour in tour[] */
	size_t *len;	 /* [nteams] its stops (== quota) */
	size_t *tour;	 /* [k] selected positions, each team's in order */
	double *dist;	 /* scratch (cap + 1)^2 */
	size_t *order;	 /* scratch [cap] */
	size_t *tmp;	 /* scratch [cap] */
	double *scr;	 /* scratch for the exchange, see alloc_work */
	size_t cap;	 /* largest quota */
};

static struct vec to_vec(double lat, double lon)
{
	const double rad = 3.14159265358979323846 / 180.0;
	double c = cos(lat * rad);
	return (struct vec){EARTH_KM * c * cos(lon * rad),
			    EARTH_KM * c * sin(lon * rad),
			    EARTH_KM * sin(lat * rad)};
}

static double chord(struct vec a, struct vec b)
{
	double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
	return sqrt(dx * dx + dy * dy + dz * dz);
}

/* ---- 1. selection ---- */

/* qsort has no context argument in C11: keyed copies are sorted. */
struct keyed {
	double key;
	long long tie; /* id, then index */
	size_t at;
	size_t v;
};

static int by_key(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->tie != b->tie)
		return a->tie < b->tie ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

/* Priority order: in-shelter and age folded into one key, id and index
 * as the tie. */
static int select_tasks(struct work *w)
{
	const struct splan_input *in = w->in;
	struct keyed *ks = sl_malloc((in->ntasks ? in->ntasks : 1) *
				     sizeof(*ks));
	if (ks == NULL)
		return SL_ENOMEM;
	for (size_t i = 0; i < in->ntasks; i++) {
		const struct splan_task *t = &in->tasks[i];
		/* applied_at is bounded (SPLAN_TIME_MAX), so adding the
		 * shelter class as a large offset keeps the order exact */
		ks[i].key = (double)t->applied_at +
			    (t->in_shelter ? 0.0 : 4.0 * SPLAN_TIME_MAX);
		ks[i].tie = t->id;
		ks[i].at = i;
		ks[i].v = i;
	}
	qsort(ks, in->ntasks, sizeof(*ks), by_key);
	for (size_t i = 0; i < w->k; i++) {
		w->sel[i] = ks[i].v;
		w->p[i] = to_vec(in->tasks[ks[i].v].lat, in->tasks[ks[i].v].lon);
	}
	sl_free(ks);
	return 0;
}

/* ---- 2. quotas ---- */

/* Largest remainders: each team's exact share rounded down, then one
 * more to the teams that lost most by rounding (ties: lower index),
 * never above a team's capacity; room is enough since k <= total. */
static void share(struct work *w)
{
	const struct splan_input *in = w->in;
	size_t total = 0, given = 0;
	for (size_t t = 0; t < in->nteams; t++)
		total += (size_t)in->teams[t].capacity;
	for (size_t t = 0; t < in->nteams; t++) {
		/* integer arithmetic: k, capacity and total are small */
		w->quota[t] = w->k * (size_t)in->teams[t].capacity / total;
		given += w->quota[t];
	}
	while (given < w->k) {
		size_t best = SIZE_MAX;
		long long best_rem = 0;
		for (size_t t = 0; t < in->nteams; t++) {
			size_t cap = (size_t)in->teams[t].capacity;
			/* negative once a team has had its extra one */
			long long rem = (long long)(w->k * cap) -
					(long long)(w->quota[t] * total);
			if (w->quota[t] < cap &&
			    (best == SIZE_MAX || rem > best_rem)) {
				best = t;
				best_rem = rem;
			}
		}
		w->quota[best]++;
		given++;
	}
}

/* ---- 3. recursive bisection ---- */

/* East and north in km on a plane through the instance's mean latitude:
 * only used to choose and sort along a cutting axis. */
static void plane(const struct splan_input *in, size_t task, double lat0,
		  double *e, double *n)
{
	const double kmdeg = EARTH_KM * 3.14159265358979323846 / 180.0;
	*e = in->tasks[task].lon * cos(lat0) * kmdeg;
	*n = in->tasks[task].lat * kmdeg;
}

struct bisect {
	struct work *w;
	double lat0;	  /* radians */
	struct keyed *ks; /* scratch [max(k, nteams)] */
	size_t *pos;	  /* scratch copy of positions */
	size_t *tms;
	size_t *out; /* [k] team of each selected position */
};

static void bisect(struct bisect *b, size_t *pos, size_t np, size_t *tms,
		   size_t nt)
{
	const struct splan_input *in = b->w->in;
	const double kmdeg = EARTH_KM * 3.14159265358979323846 / 180.0;
	if (nt == 1 || np == 0) {
		for (size_t i = 0; i < np; i++)
			b->out[pos[i]] = tms[0];
		return;
	}
	double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
	for (size_t i = 0; i < np; i++) {
		double c[2];
		plane(in, b->w->sel[pos[i]], b->lat0, &c[0], &c[1]);
		for (int a = 0; a < 2; a++) {
			lo[a] = c[a] < lo[a] ? c[a] : lo[a];
			hi[a] = c[a] > hi[a] ? c[a] : hi[a];
		}
	}
	int axis = hi[0] - lo[0] >= hi[1] - lo[1] ? 0 : 1;
	for (size_t i = 0; i < nt; i++) {
		const struct splan_team *tm = &in->teams[tms[i]];
		b->ks[i] = (struct keyed){
			axis == 0 ? tm->lon * cos(b->lat0) * kmdeg
				  : tm->lat * kmdeg,
			(long long)tms[i], tms[i], tms[i]};
	}
	qsort(b->ks, nt, sizeof(*b->ks), by_key);
	size_t half = nt / 2, want = 0;
	for (size_t i = 0; i < nt; i++) {
		tms[i] = b->ks[i].v;
		if (i < half)
			want += b->w->quota[tms[i]];
	}
	for (size_t i = 0; i < np; i++) {
		double c[2];
		size_t task = b->w->sel[pos[i]];
		plane(in, task, b->lat0, &c[0], &c[1]);
		b->ks[i] = (struct keyed){c[axis], in->tasks[task].id, pos[i],
					  pos[i]};
	}
	qsort(b->ks, np, sizeof(*b->ks), by_key);
	for (size_t i = 0; i < np; i++)
		pos[i] = b->ks[i].v;
	bisect(b, pos, want, tms, half);
	bisect(b, pos + want, np - want, tms + half, nt - half);
}

static int cluster(struct work *w)
{
	const struct splan_input *in = w->in;
	size_t n = w->k > in->nteams ? w->k : in->nteams;
	struct bisect b = {w, 0, sl_malloc(n * sizeof(*b.ks)),
			   sl_malloc((w->k + 1) * sizeof(size_t)),
			   sl_malloc(in->nteams * sizeof(size_t)),
			   sl_malloc((w->k + 1) * sizeof(size_t))};
	int rc = SL_ENOMEM;
	if (b.ks == NULL || b.pos == NULL || b.tms == NULL || b.out == NULL)
		goto done;
	double sum = 0;
	for (size_t i = 0; i < w->k; i++)
		sum += in->tasks[w->sel[i]].lat;
	b.lat0 = (w->k ? sum / (double)w->k : 0) * 3.14159265358979323846 /
		 180.0;
	for (size_t i = 0; i < w->k; i++)
		b.pos[i] = i;
	for (size_t t = 0; t < in->nteams; t++)
		b.tms[t] = t;
	bisect(&b, b.pos, w->k, b.tms, in->nteams);
	/* each team's stops in priority order until ordered */
	size_t at = 0;
	for (size_t t = 0; t < in->nteams; t++) {
		w->first[t] = at;
		w->len[t] = 0;
		at += w->quota[t];
	}
	for (size_t i = 0; i < w->k; i++) {
		size_t t = b.out[i];
		w->tour[w->first[t] + w->len[t]++] = i;
	}
	rc = 0;
done:
	sl_free(b.ks);
	sl_free(b.pos);
	sl_free(b.tms);
	sl_free(b.out);
	return rc;
}

/* ---- 4. exchange between neighbouring teams ---- */

/* Point k of team t's tour, where -1 and len are the start point. */
static struct vec at(const struct work *w, size_t t, long k)
{
	if (k < 0 || (size_t)k >= w->len[t])
		return w->base[t];
	return w->p[w->tour[w->first[t] + (size_t)k]];
}

static double removal_gain(const struct work *w, size_t t, size_t i)
{
	struct vec a = at(w, t, (long)i - 1), u = at(w, t, (long)i),
		   b = at(w, t, (long)i + 1);
	return chord(a, u) + chord(u, b) - chord(a, b);
}

/* Cheapest insertion of v into team t's tour without its stop i (i may
 * be len: nothing removed); *where is the stop v goes after (-1: first). */
static double insertion(const struct work *w, size_t t, size_t i,
			struct vec v, long *where)
{
	double best = INFINITY;
	long n = (long)w->len[t];
	for (long k = -1; k < n; k++) {
		if (k == (long)i)
			continue;
		long next = k + 1 == (long)i ? k + 2 : k + 1;
		struct vec a = at(w, t, k), b = at(w, t, next);
		double c = chord(a, v) + chord(v, b) - chord(a, b);
		if (c < best - EPS) {
			best = c;
			*where = k;
		}
	}
	return best;
}

/* Replaces stop i of team t by selected position v, inserted after stop
 * where (in the tour without i). */
static void replace(struct work *w, size_t t, size_t i, long where, size_t v)
{
	size_t *s = w->tour + w->first[t], n = w->len[t], m = 0;
	for (size_t k = 0; k < n; k++)
		if (k != i)
			w->tmp[m++] = s[k];
	/* positions in the tour without i */
	long after = where;
	size_t out = 0;
	if (after < 0)
		s[out++] = v;
	for (size_t k = 0; k < m; k++) {
		s[out++] = w->tmp[k];
		long orig = (long)(k < i ? k : k + 1);
		if (orig == after)
			s[out++] = v;
	}
}

/* Re-orders team t's tour on chord distances (route_order's improver). */
static int reorder(struct work *w, size_t t)
{
	size_t n = w->len[t];
	if (n < 3)
		return 0;
	double *d = w->dist;
	for (size_t a = 0; a <= n; a++)
		for (size_t b = 0; b <= n; b++)
			d[a * (n + 1) + b] = chord(at(w, t, (long)a - 1),
						   at(w, t, (long)b - 1));
	double len;
	int rc = route_order(d, n, ROUTE_IMPROVED, w->order, &len);
	if (rc != 0)
		return rc;
	size_t *s = w->tour + w->first[t];
	for (size_t k = 0; k < n; k++)
		w->tmp[k] = s[w->order[k]];
	memcpy(s, w->tmp, n * sizeof(*s));
	return 0;
}

/* For each stop i of team t, the cheapest insertion of v into the tour
 * without i, into out[i]: the best of the edges before i, the edges
 * after it (prefix and suffix minima) and the edge that bridges i.
 * O(len) where asking insertion() for each i would be O(len^2). */
static void insert_costs(const struct work *w, size_t t, struct vec v,
			 double *out)
{
	size_t n = w->len[t];
	double *dv = w->scr, *c = dv + n + 2, *pre = c + n + 1,
	       *suf = pre + n + 2;
	/* point k: 0 and n + 1 are the start, k in 1..n is stop k - 1 */
	for (size_t k = 0; k <= n + 1; k++)
		dv[k] = chord(at(w, t, (long)k - 1), v);
	for (size_t k = 0; k <= n; k++)
		c[k] = dv[k] + dv[k + 1] -
		       chord(at(w, t, (long)k - 1), at(w, t, (long)k));
	pre[0] = INFINITY;
	for (size_t k = 0; k <= n; k++)
		pre[k + 1] = c[k] < pre[k] ? c[k] : pre[k];
	suf[n + 1] = INFINITY;
	for (size_t k = n + 1; k-- > 0;)
		suf[k] = c[k] < suf[k + 1] ? c[k] : suf[k + 1];
	for (size_t i = 0; i < n; i++) {
		double bridge = dv[i] + dv[i + 2] -
				chord(at(w, t, (long)i - 1),
				      at(w, t, (long)i + 1));
		double best = pre[i] < suf[i + 2] ? pre[i] : suf[i + 2];
		out[i] = bridge < best ? bridge : best;
	}
}

struct swap {
	double delta;
	size_t i, j;
	long wi, wj;
};

/* The best swap between teams a and b (delta < 0 if any helps). */
static struct swap best_swap(const struct work *w, size_t a, size_t b)
{
	struct swap best = {0, 0, 0, -1, -1};
	size_t na = w->len[a], nb = w->len[b], cap = w->cap;
	double *scr = w->scr + 4 * (cap + 2), *ins_a = scr,
	       *ins_b = ins_a + cap * cap, *ga = ins_b + cap * cap,
	       *gb = ga + cap;
	for (size_t i = 0; i < na; i++) {
		ga[i] = removal_gain(w, a, i);
		insert_costs(w, b, at(w, a, (long)i), ins_b + i * nb);
	}
	for (size_t j = 0; j < nb; j++) {
		gb[j] = removal_gain(w, b, j);
		insert_costs(w, a, at(w, b, (long)j), ins_a + j * na);
	}
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++) {
			double delta = ins_a[j * na + i] + ins_b[i * nb + j] -
				       ga[i] - gb[j];
			if (delta < best.delta - EPS)
				best = (struct swap){delta, i, j, -1, -1};
		}
	if (best.delta < 0) {
		insertion(w, a, best.i, at(w, b, (long)best.j), &best.wi);
		insertion(w, b, best.j, at(w, a, (long)best.i), &best.wj);
	}
	return best;
}

static struct vec centroid(const struct work *w, size_t t)
{
	struct vec c = w->base[t];
	for (size_t k = 0; k < w->len[t]; k++) {
		struct vec p = at(w, t, (long)k);
		c.x += p.x;
		c.y += p.y;
		c.z += p.z;
	}
	double n = (double)w->len[t] + 1;
	return (struct vec){c.x / n, c.y / n, c.z / n};
}

/* nb[t * SPLAN_NEIGHBOURS ...]: the nearest other teams with stops, by
 * centroid; SIZE_MAX fills when there are fewer.  A team grid would
 * make this O(T); at 500 teams the plain scan costs milliseconds. */
static void neighbours(const struct work *w, const struct vec *c, size_t *nb)
{
	size_t nt = w->in->nteams;
	for (size_t t = 0; t < nt; t++) {
		double d[SPLAN_NEIGHBOURS];
		size_t *row = nb + t * SPLAN_NEIGHBOURS;
		for (size_t k = 0; k < SPLAN_NEIGHBOURS; k++) {
			row[k] = SIZE_MAX;
			d[k] = INFINITY;
		}
		for (size_t u = 0; u < nt && w->len[t]; u++) {
			if (u == t || w->len[u] == 0)
				continue;
			double x = chord(c[t], c[u]);
			size_t k = SPLAN_NEIGHBOURS;
			while (k > 0 && x < d[k - 1]) {
				if (k < SPLAN_NEIGHBOURS) {
					d[k] = d[k - 1];
					row[k] = row[k - 1];
				}
				k--;
			}
			if (k < SPLAN_NEIGHBOURS) {
				d[k] = x;
				row[k] = u;
			}
		}
	}
}

static int exchange(struct work *w)
{
	size_t nt = w->in->nteams;
	struct vec *c = sl_malloc(nt * sizeof(*c));
	size_t *nb = sl_malloc(nt * SPLAN_NEIGHBOURS * sizeof(*nb));
	int rc = c == NULL || nb == NULL ? SL_ENOMEM : 0;
	for (size_t t = 0; t < nt && rc == 0; t++)
		rc = reorder(w, t);
	for (int pass = 0; pass < SPLAN_PASSES && rc == 0; pass++) {
		int changed = 0;
		for (size_t t = 0; t < nt; t++)
			c[t] = centroid(w, t);
		neighbours(w, c, nb);
		for (size_t a = 0; a < nt && rc == 0; a++) {
			for (size_t k = 0; k < SPLAN_NEIGHBOURS && rc == 0;
			     k++) {
				size_t b = nb[a * SPLAN_NEIGHBOURS + k];
				if (b == SIZE_MAX)
					break;
				struct swap s = best_swap(w, a, b);
				if (s.delta >= -EPS)
					continue;
				size_t u = w->tour[w->first[a] + s.i];
				size_t v = w->tour[w->first[b] + s.j];
				replace(w, a, s.i, s.wi, v);
				replace(w, b, s.j, s.wj, u);
				if ((rc = reorder(w, a)) == 0)
					rc = reorder(w, b);
				changed = 1;
			}
		}
		if (!changed)
			break;
	}
	sl_free(c);
	sl_free(nb);
	return rc;
}

/* ---- 6. the lower bound ---- */

/* The 1-tree of the (n + 1)-point matrix d with penalties pi: minimum
 * spanning tree of points 1..n plus point 0's two cheapest edges; its
 * cost, and each point's degree in deg. */
static double one_tree(const double *d, size_t n, const double *pi,
		       int *deg, double *key, size_t *from, char *in_tree)
{
	size_t m = n + 1;
#define C(a, b) (d[(a) * m + (b)] + pi[a] + pi[b])
	double cost = 0;
	for (size_t i = 0; i < m; i++) {
		deg[i] = 0;
		in_tree[i] = 0;
		key[i] = INFINITY;
	}
	key[1] = 0;
	from[1] = 1;
	for (size_t step = 0; step < n; step++) {
		size_t best = 0;
		for (size_t i = 1; i < m; i++)
			if (!in_tree[i] && (best == 0 || key[i] < key[best]))
				best = i;
		in_tree[best] = 1;
		if (from[best] != best) {
			cost += key[best];
			deg[best]++;
			deg[from[best]]++;
		}
		for (size_t i = 1; i < m; i++)
			if (!in_tree[i] && C(best, i) < key[i]) {
				key[i] = C(best, i);
				from[i] = best;
			}
	}
	size_t e1 = 0, e2 = 0;
	for (size_t i = 1; i < m; i++) {
		if (e1 == 0 || C(0, i) < C(0, e1)) {
			e2 = e1;
			e1 = i;
		} else if (e2 == 0 || C(0, i) < C(0, e2)) {
			e2 = i;
		}
	}
	cost += C(0, e1) + C(0, e2);
	deg[0] = 2;
	deg[e1]++;
	deg[e2]++;
#undef C
	return cost;
}

/*
 * Held-Karp lower bound on the shortest tour through point 0 and stops
 * 1..n of d, given a known tour length upper (for the step size).  Any
 * penalties give a valid bound (L(pi) = 1-tree(pi) - 2 sum pi); ascent
 * only looks for a higher one.
 */
static int tour_bound(const double *d, size_t n, double upper, double *bound)
{
	if (n <= 1) {
		*bound = n == 1 ? 2 * d[1] : 0;
		return 0;
	}
	size_t m = n + 1;
	double *pi = sl_calloc(m, sizeof(*pi)), *key = sl_malloc(m * sizeof(*key));
	int *deg = sl_malloc(m * sizeof(*deg));
	size_t *from = sl_malloc(m * sizeof(*from));
	char *in_tree = sl_malloc(m);
	int rc = SL_ENOMEM;
	if (pi == NULL || key == NULL || deg == NULL || from == NULL ||
	    in_tree == NULL)
		goto done;
	double best = 0, step = 2;
	int stale = 0;
	for (int it = 0; it < BOUND_ITER; it++) {
		double l = one_tree(d, n, pi, deg, key, from, in_tree), norm = 0;
		for (size_t i = 0; i < m; i++) {
			l -= 2 * pi[i];
			norm += (double)((deg[i] - 2) * (deg[i] - 2));
		}
		if (l > best + EPS) {
			best = l;
			stale = 0;
		} else if (++stale >= 10) {
			step /= 2;
			stale = 0;
		}
		if (norm == 0) /* the 1-tree is a tour: optimal */
			break;
		double t = step * (upper - l) / norm;
		for (size_t i = 1; i < m; i++)
			pi[i] += t * (deg[i] - 2);
	}
	*bound = best < upper ? best : upper;
	rc = 0;
done:
	sl_free(pi);
	sl_free(key);
	sl_free(deg);
	sl_free(from);
	sl_free(in_tree);
	return rc;
}

/* ---- 5. and 6.: final order and measures ---- */

static int finish_team(struct work *w, struct splan_plan *p, size_t t)
{
	const struct splan_input *in = w->in;
	const struct splan_team *tm = &in->teams[t];
	struct splan_route *r = &p->routes[t];
	size_t n = w->len[t], m = n + 1;
	r->team = t;
	r->stops = p->stop_buf + w->first[t];
	r->nstops = n;
	if (n == 0)
		return 0;
	const size_t *s = w->tour + w->first[t];
	double *d = w->dist;
	for (size_t a = 0; a < m; a++) {
		double la = a ? in->tasks[w->sel[s[a - 1]]].lat : tm->lat;
		double lo = a ? in->tasks[w->sel[s[a - 1]]].lon : tm->lon;
		d[a * m + a] = 0;
		for (size_t b = a + 1; b < m; b++) {
			const struct splan_task *tb = &in->tasks[w->sel[s[b - 1]]];
			d[a * m + b] = d[b * m + a] =
				route_km(la, lo, tb->lat, tb->lon);
		}
	}
	int rc = route_order(d, n, ROUTE_NEAREST, w->order, &r->nn_length_km);
	if (rc == 0)
		rc = route_order(d, n, ROUTE_AUTO, w->order, &r->length_km);
	if (rc == 0)
		rc = tour_bound(d, n, r->length_km, &r->bound_km);
	if (rc != 0)
		return rc;
	for (size_t k = 0; k < n; k++)
		r->stops[k] = w->sel[s[w->order[k]]];
	p->length_km += r->length_km;
	p->nn_length_km += r->nn_length_km;
	p->bound_km += r->bound_km;
	return 0;
}

/* ---- input and entry point ---- */

static int position_ok(double lat, double lon)
{
	return isfinite(lat) && isfinite(lon) && fabs(lat) <= 90 &&
	       fabs(lon) <= 180;
}

static int check(const struct splan_input *in, sl_error *err)
{
	if (in->nteams == 0 || in->nteams > SPLAN_TEAMS_MAX)
		return sl_error_set(err, SL_EINVAL,
				    "survey plan: %zu teams: must be 1..%d",
				    in->nteams, SPLAN_TEAMS_MAX);
	if (in->ntasks > SPLAN_TASKS_MAX)
		return sl_error_set(err, SL_EINVAL,
				    "survey plan: %zu tasks: at most %d",
				    in->ntasks, SPLAN_TASKS_MAX);
	for (size_t t = 0; t < in->nteams; t++) {
		const struct splan_team *tm = &in->teams[t];
		if (tm->capacity < 1 || tm->capacity > SPLAN_CAPACITY_MAX)
			return sl_error_set(err, SL_EINVAL,
					    "survey plan: team %zu: capacity "
					    "%d: must be 1..%d",
					    t + 1, tm->capacity,
					    SPLAN_CAPACITY_MAX);
		if (!position_ok(tm->lat, tm->lon))
			return sl_error_set(err, SL_EINVAL,
					    "survey plan: team %zu: start "
					    "point is not a position",
					    t + 1);
	}
	for (size_t i = 0; i < in->ntasks; i++) {
		const struct splan_task *t = &in->tasks[i];
		if (!position_ok(t->lat, t->lon))
			return sl_error_set(err, SL_EINVAL,
					    "survey plan: task %lld: not a "
					    "position",
					    t->id);
		if (t->applied_at < 0 || t->applied_at > SPLAN_TIME_MAX)
			return sl_error_set(err, SL_EINVAL,
					    "survey plan: task %lld: applied_at "
					    "%lld: must be 0..%lld",
					    t->id, t->applied_at,
					    (long long)SPLAN_TIME_MAX);
	}
	return 0;
}

static void free_work(struct work *w)
{
	sl_free(w->sel);
	sl_free(w->p);
	sl_free(w->base);
	sl_free(w->quota);
	sl_free(w->first);
	sl_free(w->len);
	sl_free(w->tour);
	sl_free(w->dist);
	sl_free(w->order);
	sl_free(w->tmp);
	sl_free(w->scr);
}

static int alloc_work(struct work *w, const struct splan_input *in)
{
	size_t cap_total = 0, cap = 0, nt = in->nteams;
	for (size_t t = 0; t < nt; t++) {
		cap_total += (size_t)in->teams[t].capacity;
		if ((size_t)in->teams[t].capacity > cap)
			cap = (size_t)in->teams[t].capacity;
	}
	w->in = in;
	w->k = in->ntasks < cap_total ? in->ntasks : cap_total;
	w->cap = cap;
	size_t k1 = w->k + 1;
	w->sel = sl_malloc(k1 * sizeof(*w->sel));
	w->p = sl_malloc(k1 * sizeof(*w->p));
	w->base = sl_malloc(nt * sizeof(*w->base));
	w->quota = sl_malloc(nt * sizeof(*w->quota));
	w->first = sl_malloc(nt * sizeof(*w->first));
	w->len = sl_malloc(nt * sizeof(*w->len));
	w->tour = sl_malloc(k1 * sizeof(*w->tour));
	w->dist = sl_malloc((cap + 1) * (cap + 1) * sizeof(*w->dist));
	w->order = sl_malloc(cap * sizeof(*w->order));
	w->tmp = sl_malloc((cap + 1) * sizeof(*w->tmp));
	/* insert_costs' four rows, best_swap's two matrices and gains */
	w->scr = sl_malloc((4 * (cap + 2) + 2 * cap * cap + 2 * cap) *
			   sizeof(*w->scr));
	if (!w->sel || !w->p || !w->base || !w->quota || !w->first || !w->len ||
	    !w->tour || !w->dist || !w->order || !w->tmp || !w->scr)
		return SL_ENOMEM;
	for (size_t t = 0; t < nt; t++)
		w->base[t] = to_vec(in->teams[t].lat, in->teams[t].lon);
	return 0;
}

int splan_build(const struct splan_input *in, struct splan_plan **out,
		sl_error *err)
{
	*out = NULL;
	int rc = check(in, err);
	if (rc != 0)
		return rc;
	struct work w = {0};
	struct splan_plan *p = sl_calloc(1, sizeof(*p));
	if (p == NULL || (rc = alloc_work(&w, in)) != 0)
		goto fail;
	p->routes = sl_calloc(in->nteams, sizeof(*p->routes));
	p->stop_buf = sl_malloc((w.k + 1) * sizeof(*p->stop_buf));
	rc = SL_ENOMEM;
	if (p->routes == NULL || p->stop_buf == NULL)
		goto fail;
	p->nroutes = in->nteams;
	p->selected = w.k;
	share(&w);
	if ((rc = select_tasks(&w)) != 0 || (rc = cluster(&w)) != 0 ||
	    (rc = exchange(&w)) != 0)
		goto fail;
	for (size_t t = 0; t < in->nteams; t++)
		if ((rc = finish_team(&w, p, t)) != 0)
			goto fail;
	free_work(&w);
	*out = p;
	return 0;
fail:
	free_work(&w);
	splan_free(p);
	if (rc == 0)
		rc = SL_ENOMEM;
	return sl_error_set(err, rc, "survey plan: %s", sl_strerror(rc));
}

void splan_free(struct splan_plan *p)
{
	if (p == NULL)
		return;
	sl_free(p->routes);
	sl_free(p->stop_buf);
	sl_free(p);
}
