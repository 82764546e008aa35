/*
 * alloc.c - fair allocation of scarce relief goods: who gets how much of
 * each item, from which depot.  Pure and deterministic: plain arrays in,
 * a plan out, no database, no clock, no randomness.  It is not the
 * dispatcher (trucks and routes are route.c's) and it does not estimate
 * needs: callers hand it needs already estimated.
 *
 * The model (docs/allocation.md has it in full, with the proofs):
 *  - items are independent: each item's stock only meets that item's needs;
 *  - critical needs of an item are served before high, high before normal;
 *  - inside the one class that stock cannot fill, each shelter's fill ratio
 *    (allocated/needed) is lexicographically max-min, in integer units:
 *    units go one by one to the lowest current ratio, ties to the smaller
 *    need (its ratio rises more), ties among equal needs left open;
 *  - the open ties and the depot->shelter flows are then chosen together by
 *    an exact min-cost flow (our own network simplex) on integer metres of
 *    great-circle distance, so among equally fair plans the least transport
 *    wins.  Remaining ties fall to ids: inputs are ranked by id first, so a
 *    shuffled input gives the same plan.
 *
 * Memory: alloc_run owns every temporary and frees it before returning;
 * the plan it returns is owned by the caller (alloc_plan_free).  The
 * input arrays are only read.  Out of memory: SL_ENOMEM, nothing returned.
 * Threads: items are planned by worker threads of one call (plan_items);
 * there is no file-scope state, so calls on several threads are safe.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"
#include "mem.h"

/* Nearest stocked depots kept per shelter: the coarse problem's regions
 * are named by the first two stocked for the item. */
#define NEAREST_K 12
/* Candidate arcs per shelter given to the simplex up front (net_cands);
 * the exact check over every depot adds any other that could lower the
 * cost. */
#define ARCS_K 8
/* Shelters from which a coarse problem guides the candidates. */
#define COARSE_MIN 1000
/* The exact check adds each shelter's PRICE_M most violated arcs per
 * round: fewer rounds than one arc each (national: 8 instead of 11). */
#define PRICE_M 4
/* Pricing blocks of about sqrt(arcs / BLOCK_D) arcs, smaller than the
 * usual sqrt(arcs): CPU per national item 1.40 s at 1, 1.28 s at 4,
 * 1.23 s at 16 (Kumamoto and national-5k alike within noise). */
#define BLOCK_D 16

typedef __int128 i128; /* products of two quantities (up to 2^60 each) */

const char *alloc_urgency_name(enum alloc_urgency u)
{
	static const char *const names[] = {"critical", "high", "normal"};
	return (unsigned)u < ALLOC_N_URGENCY ? names[u] : "?";
}

/* ---- distance ---- */

long long alloc_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	/* Haversine on the IUGG mean radius: good to ~0.5 % on the
	 * ellipsoid, far below what road detours add; rounded to whole
	 * metres so the optimisation runs on exact integers. */
	const double r_m = 6371008.8, rad = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
	double h = s1 * s1 + cos(lat1 * rad) * cos(lat2 * rad) * s2 * s2;
	if (h > 1)
		h = 1;
	return llround(2 * r_m * asin(sqrt(h)));
}

/* ---- validation: everything is checked before anything is built ---- */

static int position_ok(double lat, double lon)
{
	return isfinite(lat) && isfinite(lon) && lat >= -90 && lat <= 90 &&
	       lon >= -180 && lon <= 180;
}

static int check_id(const char *what, size_t i, const char *id, sl_error *err)
{
	if (!id || !*id)
		return sl_error_set(err, SL_EINVAL,
				    "%s[%zu].id: missing; every %s needs an id "
				    "(ties are broken by id)",
				    what, i, what);
	return 0;
}

/* An id with its index: sorting these needs no context (qsort has no
 * context argument, and a file-scope one would make alloc_run unsafe to
 * call from two threads). */
struct idref {
	const char *id;
	size_t i;
};

static int cmp_idref(const void *a, const void *b)
{
	const struct idref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Fills order[] with 0..n-1 sorted by id and rank[] as its inverse;
 * refuses a repeated id (ties by id would not be ties broken). */
static int rank_by_id(const struct alloc_input *in, const char *what, size_t n,
		      const char *(*id)(const struct alloc_input *, size_t),
		      size_t *order, size_t *rank, sl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = check_id(what, i, id(in, i), err);
		if (rc)
			return rc;
	}
	struct idref *r = sl_malloc((n ? n : 1) * sizeof *r);
	if (!r)
		return sl_error_set(err, SL_ENOMEM, "alloc: out of memory");
	for (size_t i = 0; i < n; i++)
		r[i] = (struct idref){id(in, i), i};
	if (n)
		qsort(r, n, sizeof *r, cmp_idref);
	for (size_t k = 0; k < n; k++) {
		order[k] = r[k].i;
		rank[r[k].i] = k;
	}
	sl_free(r);
	for (size_t k = 1; k < n; k++)
		if (!strcmp(id(in, order[k]), id(in, order[k - 1])))
			return sl_error_set(
				err, SL_EINVAL,
				"%s[%zu].id: \"%s\" repeats %s[%zu]; "
				"ids must be unique",
				what, order[k], id(in, order[k]), what,
				order[k - 1]);
	return 0;
}

static const char *item_id(const struct alloc_input *in, size_t i)
{
	return in->items[i].id;
}
static const char *depot_id(const struct alloc_input *in, size_t i)
{
	return in->depots[i].id;
}
static const char *shelter_id(const struct alloc_input *in, size_t i)
{
	return in->shelters[i].id;
}

static int check_depot(const struct alloc_input *in, size_t d, sl_error *err)
{
	const struct alloc_depot *dp = &in->depots[d];
	int stocked = 0;
	for (size_t i = 0; dp->stock && i < in->n_items; i++) {
		long long q = dp->stock[i];
		if (q < 0 || q > ALLOC_QTY_MAX)
			return sl_error_set(
				err, SL_EINVAL,
				"depots[%zu].stock[%zu] (%s, %s): %lld is %s; "
				"stock must be 0..%lld",
				d, i, dp->id, in->items[i].id, q,
				q < 0 ? "negative" : "too large",
				(long long)ALLOC_QTY_MAX);
		stocked |= q > 0;
	}
	if (stocked && !position_ok(dp->lat, dp->lon))
		return sl_error_set(err, SL_EINVAL,
				    "depots[%zu] (%s): no valid position "
				    "(lat %g, lon %g); a depot holding stock "
				    "needs one to measure transport",
				    d, dp->id, dp->lat, dp->lon);
	return 0;
}

static int check_need(const struct alloc_input *in, size_t k, sl_error *err)
{
	const struct alloc_need *nd = &in->needs[k];
	if (nd->shelter >= in->n_shelters)
		return sl_error_set(err, SL_EINVAL,
				    "needs[%zu].shelter: index %zu is not a "
				    "shelter (there are %zu)",
				    k, nd->shelter, in->n_shelters);
	if (nd->item >= in->n_items)
		return sl_error_set(err, SL_EINVAL,
				    "needs[%zu].item: index %zu is not an item "
				    "(there are %zu)",
				    k, nd->item, in->n_items);
	if ((unsigned)nd->urgency >= ALLOC_N_URGENCY)
		return sl_error_set(err, SL_EINVAL,
				    "needs[%zu].urgency: %d is not critical, "
				    "high or normal",
				    k, (int)nd->urgency);
	if (nd->qty < 0 || nd->qty > ALLOC_QTY_MAX)
		return sl_error_set(err, SL_EINVAL,
				    "needs[%zu].qty: %lld is %s; a need must "
				    "be 0..%lld",
				    k, nd->qty,
				    nd->qty < 0 ? "negative" : "too large",
				    (long long)ALLOC_QTY_MAX);
	const struct alloc_shelter *sh = &in->shelters[nd->shelter];
	if (nd->qty > 0 && !position_ok(sh->lat, sh->lon))
		return sl_error_set(err, SL_EINVAL,
				    "shelters[%zu] (%s): no valid position "
				    "(lat %g, lon %g), needed for the distance "
				    "of needs[%zu]",
				    nd->shelter, sh->id, sh->lat, sh->lon, k);
	return 0;
}

/* Totals must stay far below 2^63 so sums, flows and potentials cannot
 * overflow; ALLOC_TOTAL_MAX per item is the bound (hq.h). */
static int check_totals(const struct alloc_input *in, sl_error *err)
{
	for (size_t i = 0; i < in->n_items; i++) {
		long long have = 0, want = 0;
		for (size_t d = 0; d < in->n_depots; d++)
			if (in->depots[d].stock &&
			    (have += in->depots[d].stock[i]) > ALLOC_TOTAL_MAX)
				goto over;
		for (size_t k = 0; k < in->n_needs; k++)
			if (in->needs[k].item == i &&
			    (want += in->needs[k].qty) > ALLOC_TOTAL_MAX)
				goto over;
		continue;
	over:
		return sl_error_set(
			err, SL_EINVAL,
			"items[%zu] (%s): total stock or total need "
			"exceeds %lld units (quantity overflow)",
			i, in->items[i].id, (long long)ALLOC_TOTAL_MAX);
	}
	return 0;
}

static int check_input(const struct alloc_input *in, sl_error *err)
{
	if (!in || (in->n_items && !in->items) ||
	    (in->n_depots && !in->depots) ||
	    (in->n_shelters && !in->shelters) || (in->n_needs && !in->needs))
		return sl_error_set(err, SL_EINVAL,
				    "alloc input: an array is NULL while its "
				    "count is not 0");
	int rc = 0;
	for (size_t d = 0; !rc && d < in->n_depots; d++)
		rc = check_depot(in, d, err);
	for (size_t k = 0; !rc && k < in->n_needs; k++)
		rc = check_need(in, k, err);
	return rc ? rc : check_totals(in, err);
}

/* ---- working state of one run ---- */

struct work {
	const struct alloc_input *in;
	size_t *item_order, *depot_order, *shelter_order; /* rank -> index */
	size_t *item_rank, *depot_rank, *shelter_rank;	  /* index -> rank */
	size_t nd, ns;	   /* depots, shelters (all) */
	int32_t *dist;	   /* [shelter rank][depot rank], metres, or -1 */
	size_t *near;	   /* [shelter rank][NEAREST_K] depot ranks */
	size_t nk;	   /* columns used in near */
	long long max_dist; /* largest entry of dist */
	long long *need;   /* [shelter rank][item][urgency] */
	long long *got;	   /* same shape: units allocated */
	double *class_min; /* [item][urgency]: lowest ratio, scarce class */
	unsigned char *class_state; /* [item][urgency]: enum class_state */
	struct alloc_plan *plan;
};

enum class_state { CLASS_EMPTY, CLASS_FULL, CLASS_SCARCE, CLASS_NONE };

static size_t cell(const struct work *w, size_t s, size_t i, int u)
{
	return (s * w->in->n_items + i) * ALLOC_N_URGENCY + (size_t)u;
}

static void work_free(struct work *w)
{
	sl_free(w->item_order);
	sl_free(w->depot_order);
	sl_free(w->shelter_order);
	sl_free(w->item_rank);
	sl_free(w->depot_rank);
	sl_free(w->shelter_rank);
	sl_free(w->dist);
	sl_free(w->near);
	sl_free(w->need);
	sl_free(w->got);
	sl_free(w->class_min);
	sl_free(w->class_state);
}

static void *xcalloc(size_t n, size_t size, int *ok)
{
	void *p = sl_calloc(n ? n : 1, size);
	if (!p)
		*ok = 0;
	return p;
}

static int work_init(struct work *w, const struct alloc_input *in,
		     sl_error *err)
{
	int ok = 1;
	size_t ni = in->n_items, cells;
	memset(w, 0, sizeof *w);
	w->in = in;
	w->nd = in->n_depots;
	w->ns = in->n_shelters;
	cells = w->ns * ni * ALLOC_N_URGENCY;
	w->item_order = xcalloc(ni, sizeof(size_t), &ok);
	w->item_rank = xcalloc(ni, sizeof(size_t), &ok);
	w->depot_order = xcalloc(w->nd, sizeof(size_t), &ok);
	w->depot_rank = xcalloc(w->nd, sizeof(size_t), &ok);
	w->shelter_order = xcalloc(w->ns, sizeof(size_t), &ok);
	w->shelter_rank = xcalloc(w->ns, sizeof(size_t), &ok);
	w->need = xcalloc(cells, sizeof(long long), &ok);
	w->got = xcalloc(cells, sizeof(long long), &ok);
	w->class_min = xcalloc(ni * ALLOC_N_URGENCY, sizeof(double), &ok);
	w->class_state = xcalloc(ni * ALLOC_N_URGENCY, 1, &ok);
	if (!ok)
		return sl_error_set(err, SL_ENOMEM, "alloc: out of memory");
	int rc = rank_by_id(in, "items", ni, item_id,
			    w->item_order, w->item_rank, err);
	if (!rc)
		rc = rank_by_id(in, "depots", w->nd, depot_id,
				w->depot_order, w->depot_rank, err);
	if (!rc)
		rc = rank_by_id(in, "shelters", w->ns,
				shelter_id, w->shelter_order, w->shelter_rank,
				err);
	if (rc)
		return rc;
	/* Repeated lines for one (shelter, item, urgency) add up. */
	for (size_t k = 0; k < in->n_needs; k++) {
		const struct alloc_need *nd = &in->needs[k];
		w->need[cell(w, w->shelter_rank[nd->shelter], nd->item,
			     (int)nd->urgency)] += nd->qty;
	}
	return 0;
}

/* ---- distances and nearest depots ---- */

static int shelter_needs_any(const struct work *w, size_t s)
{
	for (size_t c = 0; c < w->in->n_items * ALLOC_N_URGENCY; c++)
		if (w->need[s * w->in->n_items * ALLOC_N_URGENCY + c] > 0)
			return 1;
	return 0;
}

static int depot_stocked(const struct work *w, size_t dr)
{
	const struct alloc_depot *dp = &w->in->depots[w->depot_order[dr]];
	for (size_t i = 0; dp->stock && i < w->in->n_items; i++)
		if (dp->stock[i] > 0)
			return 1;
	return 0;
}

/* Keeps near[] (length k, sorted by distance then depot rank) as the k
 * nearest seen so far: an insertion step, k is small. */
static void near_insert(size_t *near, size_t *len, size_t k, const int32_t *row,
			size_t dr)
{
	size_t j = *len < k ? (*len)++ : k;
	if (j == k && row[near[k - 1]] <= row[dr])
		return;
	if (j == k)
		j = k - 1;
	while (j > 0 && row[near[j - 1]] > row[dr]) {
		near[j] = near[j - 1];
		j--;
	}
	near[j] = dr;
}

static int build_distances(struct work *w, sl_error *err)
{
	int ok = 1;
	w->nk = w->nd < NEAREST_K ? w->nd : NEAREST_K;
	w->dist = xcalloc(w->ns * w->nd, sizeof(int32_t), &ok);
	w->near = xcalloc(w->ns * (w->nk ? w->nk : 1), sizeof(size_t), &ok);
	unsigned char *stocked = xcalloc(w->nd, 1, &ok);
	if (!ok) {
		sl_free(stocked);
		return sl_error_set(err, SL_ENOMEM,
				    "alloc: out of memory "
				    "for the distance table");
	}
	for (size_t dr = 0; dr < w->nd; dr++)
		stocked[dr] = (unsigned char)depot_stocked(w, dr);
	for (size_t s = 0; s < w->ns; s++) {
		const struct alloc_shelter *sh =
			&w->in->shelters[w->shelter_order[s]];
		int32_t *row = w->dist + s * w->nd;
		size_t len = 0;
		int needy = shelter_needs_any(w, s);
		for (size_t dr = 0; dr < w->nd; dr++) {
			const struct alloc_depot *dp =
				&w->in->depots[w->depot_order[dr]];
			row[dr] = -1; /* no stock or no need: never used */
			if (!needy || !stocked[dr])
				continue;
			row[dr] = (int32_t)alloc_distance_m(sh->lat, sh->lon,
							    dp->lat, dp->lon);
			near_insert(w->near + s * w->nk, &len, w->nk, row, dr);
			if (row[dr] > w->max_dist)
				w->max_dist = row[dr];
		}
		for (; len < w->nk; len++) /* fewer stocked depots than k */
			w->near[s * w->nk + len] = SIZE_MAX;
	}
	sl_free(stocked);
	return 0;
}

/* ---- fair split of one class: integer lexicographic max-min ---- */

/* A shelter's next unit, keyed by its ratio before the unit (a/n), then
 * by need (smaller first: its ratio rises more), then by rank. */
struct unit {
	long long a, n;
	size_t s; /* index into the class's arrays */
};

static int unit_cmp(const struct unit *x, const struct unit *y)
{
	i128 l = (i128)x->a * y->n, r = (i128)y->a * x->n;
	if (l != r)
		return l < r ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->s < y->s ? -1 : x->s > y->s;
}

static void heap_down(struct unit *h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && unit_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && unit_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		struct unit t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static struct unit heap_pop(struct unit *h, size_t *n)
{
	struct unit top = h[0];
	h[0] = h[--*n];
	heap_down(h, *n, 0);
	return top;
}

static void heap_push(struct unit *h, size_t *n, struct unit u)
{
	size_t i = (*n)++;
	h[i] = u;
	while (i > 0 && unit_cmp(&h[i], &h[(i - 1) / 2]) < 0) {
		struct unit t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* The open tie left by a fair split: `units` more units go to `units`
 * of the `n` shelters in tie[], one each; transport decides which. */
struct tie {
	size_t *s; /* shelter ranks */
	size_t n;
	long long units;
};

/*
 * Splits budget B (< sum of need[]) over k shelters.  Equivalent to
 * handing out units one at a time, each to the shelter with the lowest
 * ratio a/n (ties: smaller n, then equal-n ties left open in *tie).
 * Starting everyone at ceil((B-k) n/N) skips the bulk of that loop: those
 * units all have keys below any key the loop can stop at, and at most k
 * units remain (docs/allocation.md).  heap has room for k entries.
 */
static void fair_split(const long long *need, const size_t *rank, size_t k,
		       long long B, long long *a, struct unit *heap,
		       struct tie *tie)
{
	long long N = 0, R = B;
	size_t hn = 0;
	for (size_t j = 0; j < k; j++)
		N += need[j];
	for (size_t j = 0; j < k; j++) {
		i128 num = (i128)(B - (long long)k) * need[j];
		a[j] = B > (long long)k ? (long long)((num + N - 1) / N) : 0;
		R -= a[j];
		if (a[j] < need[j]) /* a full shelter takes no more */
			heap_push(heap, &hn, (struct unit){a[j], need[j], j});
	}
	tie->n = 0;
	tie->units = 0;
	while (R > 0 && hn > 0) {
		struct unit grp0 = heap_pop(heap, &hn);
		size_t g = 0;
		tie->s[g++] = grp0.s;
		while (hn > 0 &&
		       (i128)heap[0].a * grp0.n == (i128)grp0.a * heap[0].n &&
		       heap[0].n == grp0.n)
			tie->s[g++] = heap_pop(heap, &hn).s;
		if ((long long)g > R) { /* the open tie: transport picks */
			for (size_t t = 0; t < g; t++)
				tie->s[t] = rank[tie->s[t]];
			tie->n = g;
			tie->units = R;
			return;
		}
		for (size_t t = 0; t < g; t++) {
			size_t j = tie->s[t];
			R--;
			if (++a[j] < need[j])
				heap_push(heap, &hn,
					  (struct unit){a[j], need[j], j});
		}
	}
}

/* ---- network simplex: exact min-cost flow, our own ---- */

/*
 * Primal network simplex with a big-M artificial root, block pricing and
 * Cunningham's strongly feasible leaving-arc rule (no cycling).  The tree
 * is kept as parent pointers; arcs d->s are uncapacitated, so a nonbasic
 * arc sits at flow 0 unless it is a capacitated one at its cap.
 *
 * Potentials of leaves are not stored: a leaf's is its parent's plus the
 * cost of the arc between them (pi_of).  In a transportation problem
 * almost every shelter is a leaf under one depot, so a pivot that moves a
 * subtree of a few depots and their thousands of shelters only has to
 * shift the few dozen internal nodes; walking every moved node was 80 %
 * of the national-scale time.  Internal nodes keep a list of their
 * internal children for that walk; leaves are in no list.
 */
#define NS_INF (LLONG_MAX / 4)

struct ns {
	size_t nn, na, cap_a; /* nodes (root last), arcs, arc room */
	int *src, *dst;
	long long *cost, *cap, *flow;
	unsigned char *basic;
	long long *b;
	long long *pi; /* valid for internal nodes and the root only */
	long long *pc; /* pi[v] - pi[parent[v]] along the tree arc */
	int *parent, *pred, *nchild;
	int *ichild, *inext, *iprev; /* lists of internal children */
	int *stack;
	unsigned char *up;    /* pred arc points node -> parent */
	unsigned char *inl;   /* node is in its parent's internal list */
	unsigned *mark;
	unsigned stamp;
	size_t next_arc;
};

static void ns_free(struct ns *g)
{
	sl_free(g->src);
	sl_free(g->dst);
	sl_free(g->cost);
	sl_free(g->cap);
	sl_free(g->flow);
	sl_free(g->basic);
	sl_free(g->b);
	sl_free(g->pi);
	sl_free(g->pc);
	sl_free(g->parent);
	sl_free(g->pred);
	sl_free(g->nchild);
	sl_free(g->ichild);
	sl_free(g->inext);
	sl_free(g->iprev);
	sl_free(g->stack);
	sl_free(g->up);
	sl_free(g->inl);
	sl_free(g->mark);
	memset(g, 0, sizeof *g);
}

static int grow(void **p, size_t n, size_t size)
{
	void *q = sl_realloc(*p, n * size);
	if (!q)
		return SL_ENOMEM;
	*p = q;
	return 0;
}

static int ns_reserve_arcs(struct ns *g, size_t n)
{
	if (n <= g->cap_a)
		return 0;
	size_t c = g->cap_a ? g->cap_a : 64;
	while (c < n)
		c *= 2;
	if (grow((void **)&g->src, c, sizeof(int)) ||
	    grow((void **)&g->dst, c, sizeof(int)) ||
	    grow((void **)&g->cost, c, sizeof(long long)) ||
	    grow((void **)&g->cap, c, sizeof(long long)) ||
	    grow((void **)&g->flow, c, sizeof(long long)) ||
	    grow((void **)&g->basic, c, 1))
		return SL_ENOMEM;
	g->cap_a = c;
	return 0;
}

static int ns_arc(struct ns *g, int u, int v, long long cost, long long cap)
{
	if (ns_reserve_arcs(g, g->na + 1))
		return SL_ENOMEM;
	size_t a = g->na++;
	g->src[a] = u;
	g->dst[a] = v;
	g->cost[a] = cost;
	g->cap[a] = cap;
	g->flow[a] = 0;
	g->basic[a] = 0;
	return 0;
}

/* nodes: 0..nn-1 real nodes, supplies b[] set by the caller after. */
static int ns_nodes(struct ns *g, size_t nn)
{
	int ok = 1;
	g->nn = nn + 1;
	g->b = xcalloc(g->nn, sizeof(long long), &ok);
	g->pi = xcalloc(g->nn, sizeof(long long), &ok);
	g->pc = xcalloc(g->nn, sizeof(long long), &ok);
	g->parent = xcalloc(g->nn, sizeof(int), &ok);
	g->pred = xcalloc(g->nn, sizeof(int), &ok);
	g->nchild = xcalloc(g->nn, sizeof(int), &ok);
	g->ichild = xcalloc(g->nn, sizeof(int), &ok);
	g->inext = xcalloc(g->nn, sizeof(int), &ok);
	g->iprev = xcalloc(g->nn, sizeof(int), &ok);
	g->stack = xcalloc(g->nn, sizeof(int), &ok);
	g->up = xcalloc(g->nn, 1, &ok);
	g->inl = xcalloc(g->nn, 1, &ok);
	g->mark = xcalloc(g->nn, sizeof(unsigned), &ok);
	return ok ? 0 : SL_ENOMEM;
}

/* The potential of any node: stored for internal nodes, derived for a
 * leaf from its parent (which has a child, so is internal). */
static inline long long pi_of(const struct ns *g, int v)
{
	return g->nchild[v] || g->parent[v] < 0 ? g->pi[v]
						  : g->pi[g->parent[v]] + g->pc[v];
}

static void ns_list_add(struct ns *g, int v)
{
	int p = g->parent[v];
	g->inl[v] = 1;
	g->iprev[v] = -1;
	g->inext[v] = g->ichild[p];
	if (g->ichild[p] >= 0)
		g->iprev[g->ichild[p]] = v;
	g->ichild[p] = v;
}

static void ns_list_del(struct ns *g, int v)
{
	if (!g->inl[v])
		return;
	g->inl[v] = 0;
	if (g->iprev[v] >= 0)
		g->inext[g->iprev[v]] = g->inext[v];
	else
		g->ichild[g->parent[v]] = g->inext[v];
	if (g->inext[v] >= 0)
		g->iprev[g->inext[v]] = g->iprev[v];
}

/* Puts v in its parent's internal list, or takes it out, to match
 * whether v has children now.  v's stored pi must be valid on entry. */
static void ns_sync(struct ns *g, int v)
{
	int want = g->nchild[v] > 0 && g->parent[v] >= 0;
	if (want && !g->inl[v])
		ns_list_add(g, v);
	else if (!want)
		ns_list_del(g, v);
}

/* Makes arc a (basic) the tree arc from v up to p; v is not in a list. */
static void ns_link(struct ns *g, int v, int p, int a, int up)
{
	g->parent[v] = p;
	g->pred[v] = a;
	g->up[v] = (unsigned char)up;
	g->pc[v] = up ? -g->cost[a] : g->cost[a];
	g->nchild[p]++;
}

/* The starting tree: node v hangs from the root by an artificial arc of
 * cost art carrying ex[v] toward the root (away from it when negative),
 * which keeps the tree strongly feasible; nodes with ex[v] == NS_HUNG
 * are left for the caller to hang (then ns_sync_all). */
#define NS_HUNG LLONG_MIN
static int ns_start(struct ns *g, long long art, const long long *ex)
{
	int root = (int)g->nn - 1;
	for (size_t v = 0; v < g->nn; v++) {
		g->ichild[v] = -1;
		g->nchild[v] = 0;
		g->inl[v] = 0;
	}
	g->parent[root] = -1;
	g->pred[root] = -1;
	g->pi[root] = 0;
	for (int v = 0; v < root; v++) {
		if (ex[v] == NS_HUNG)
			continue;
		int up = ex[v] >= 0;
		if (ns_arc(g, up ? v : root, up ? root : v, art, NS_INF))
			return SL_ENOMEM;
		size_t a = g->na - 1;
		g->flow[a] = up ? ex[v] : -ex[v];
		g->basic[a] = 1;
		ns_link(g, v, root, (int)a, up);
		g->pi[v] = up ? -art : art;
	}
	return 0;
}

static void ns_sync_all(struct ns *g)
{
	for (size_t v = 0; v < g->nn; v++)
		ns_sync(g, (int)v);
}

static long long ns_rc(const struct ns *g, size_t a)
{
	return g->cost[a] + pi_of(g, g->src[a]) - pi_of(g, g->dst[a]);
}

/* Block pricing: the most violating arc of the first block that has
 * one, scanning cyclically; -1 when the basis is optimal. */
static long long ns_entering(struct ns *g)
{
	size_t block = 16, best = SIZE_MAX;
	long long bestv = 0;
	while (block * block * BLOCK_D < g->na)
		block *= 2;
	for (size_t seen = 0, cnt = 0; seen < g->na; seen++) {
		size_t a = g->next_arc;
		g->next_arc = a + 1 == g->na ? 0 : a + 1;
		if (!g->basic[a]) {
			long long rc = ns_rc(g, a), v = g->flow[a] ? rc : -rc;
			if (v > bestv) {
				bestv = v;
				best = a;
			}
		}
		if (++cnt == block) {
			if (best != SIZE_MAX)
				return (long long)best;
			cnt = 0;
		}
	}
	return best == SIZE_MAX ? -1 : (long long)best;
}

static int ns_join(struct ns *g, int u, int v)
{
	unsigned mu = g->stamp += 2, mv = mu + 1;
	g->mark[u] = mu;
	g->mark[v] = mv;
	for (;;) {
		if (g->parent[u] >= 0) {
			u = g->parent[u];
			if (g->mark[u] == mv)
				return u;
			g->mark[u] = mu;
		}
		if (g->parent[v] >= 0) {
			v = g->parent[v];
			if (g->mark[v] == mu)
				return v;
			g->mark[v] = mv;
		}
	}
}

/* Residual of the tree arc above u when flow runs toward u (down). */
static long long res_down(const struct ns *g, int u)
{
	size_t a = (size_t)g->pred[u];
	return g->up[u] ? g->flow[a] : g->cap[a] - g->flow[a];
}

static long long res_up(const struct ns *g, int u)
{
	size_t a = (size_t)g->pred[u];
	return g->up[u] ? g->cap[a] - g->flow[a] : g->flow[a];
}

/* Moves the subtree of q (cut above `out`, q inside it) under p through
 * arc e: reverses the path q..out, then shifts the potentials of the
 * subtree's internal nodes (leaves follow their parents). */
static void ns_reattach(struct ns *g, int q, int p, int e, int out)
{
	int oldtop = g->parent[out];
	/* Nodes whose parent or child count changes get a stored pi, and
	 * the path leaves the lists until its new parents are set. */
	g->pi[p] = pi_of(g, p);
	for (int w = q;; w = g->parent[w]) {
		g->pi[w] = pi_of(g, w);
		ns_list_del(g, w);
		if (w == out)
			break;
	}
	int w = q, newpar = p, newpred = e;
	int newup = g->src[e] == q;
	for (;;) {
		int oldpar = g->parent[w], oldpred = g->pred[w];
		int oldup = g->up[w];
		g->nchild[oldpar]--;
		ns_link(g, w, newpar, newpred, newup);
		if (w == out)
			break;
		newpar = w;
		newpred = oldpred;
		newup = !oldup;
		w = oldpar;
	}
	for (w = out;; w = g->parent[w]) { /* out up to q, reversed */
		ns_sync(g, w);
		if (w == q)
			break;
	}
	ns_sync(g, p);
	ns_sync(g, oldtop);
	long long want =
		g->src[e] == q ? g->pi[p] - g->cost[e] : g->pi[p] + g->cost[e];
	long long sigma = want - g->pi[q];
	size_t top = 0;
	if (g->nchild[q])
		g->stack[top++] = q;
	while (top) {
		int v = g->stack[--top];
		g->pi[v] += sigma;
		for (int c = g->ichild[v]; c >= 0; c = g->inext[c])
			g->stack[top++] = c;
	}
}

static void ns_pivot(struct ns *g, size_t e)
{
	int at_upper = g->flow[e] != 0;
	int first = at_upper ? g->dst[e] : g->src[e];
	int second = at_upper ? g->src[e] : g->dst[e];
	int join = ns_join(g, first, second), out = -1, side = 0;
	long long delta = at_upper ? g->flow[e] : g->cap[e] - g->flow[e];
	for (int u = first; u != join; u = g->parent[u])
		if (res_down(g, u) < delta) {
			delta = res_down(g, u);
			out = u;
			side = 1;
		}
	for (int u = second; u != join; u = g->parent[u])
		if (res_up(g, u) <= delta) {
			delta = res_up(g, u);
			out = u;
			side = 2;
		}
	if (delta) {
		g->flow[e] += at_upper ? -delta : delta;
		for (int u = first; u != join; u = g->parent[u])
			g->flow[g->pred[u]] += g->up[u] ? -delta : delta;
		for (int u = second; u != join; u = g->parent[u])
			g->flow[g->pred[u]] += g->up[u] ? delta : -delta;
	}
	if (side == 0)
		return; /* the entering arc blocks itself: it changes bound */
	g->basic[g->pred[out]] = 0;
	g->basic[e] = 1;
	if (side == 1)
		ns_reattach(g, first, second, (int)e, out);
	else
		ns_reattach(g, second, first, (int)e, out);
}

static void ns_solve(struct ns *g)
{
	long long e;
	while ((e = ns_entering(g)) >= 0)
		ns_pivot(g, (size_t)e);
}

/* ---- one item: the transport problem ---- */

/*
 * One transport problem: depot nodes 0..n_dep-1, shelter nodes after
 * them, the tie's group node, the sink.  The cost of depot i to shelter
 * j is rows[shel[j] * stride + col[i]]: the distance table for an item,
 * or a table of cluster averages for the coarse problem that guides the
 * choice of candidate arcs (coarse_potentials).
 */
struct item_net {
	struct ns g;
	size_t item;
	size_t *dep;	/* depot index -> depot rank (coarse: column) */
	size_t *shel;	/* shelter index -> shelter rank (coarse: row) */
	int *node_of_s; /* shelter rank -> node or -1 */
	size_t n_dep, n_shel;
	int group, sink;
	size_t first_real; /* arcs before this are artificial */
	const int32_t *rows;
	size_t stride;
	const size_t *col;
	const long long *u; /* depot potentials guiding candidates, or NULL */
	int *cand;	    /* [n_shel][ARCS_K] candidate depots, -1 after */
	long long art;	    /* cost of an artificial arc (big M) */
};

static void net_free(struct item_net *n)
{
	ns_free(&n->g);
	sl_free(n->dep);
	sl_free(n->shel);
	sl_free(n->node_of_s);
	sl_free(n->cand);
}

static const int32_t *net_row(const struct item_net *n, size_t j)
{
	return n->rows + n->shel[j] * n->stride;
}

static long long stock_of(const struct work *w, size_t dr, size_t item)
{
	const struct alloc_depot *dp = &w->in->depots[w->depot_order[dr]];
	return dp->stock ? dp->stock[item] : 0;
}

static long long shelter_demand(const struct work *w, size_t s, size_t item)
{
	long long d = 0;
	for (int u = 0; u < ALLOC_N_URGENCY; u++)
		d += w->got[cell(w, s, item, u)];
	return d;
}

/* Nodes: stocked depots, shelters with demand or in the tie, the tie's
 * group node, the sink for unused stock, then the root. */
static int net_nodes(struct item_net *n, const struct work *w,
		     const struct tie *tie)
{
	int ok = 1;
	n->dep = xcalloc(w->nd, sizeof(size_t), &ok);
	n->shel = xcalloc(w->ns, sizeof(size_t), &ok);
	n->node_of_s = xcalloc(w->ns, sizeof(int), &ok);
	if (!ok)
		return SL_ENOMEM;
	for (size_t s = 0; s < w->ns; s++)
		n->node_of_s[s] = -1;
	for (size_t dr = 0; dr < w->nd; dr++)
		if (stock_of(w, dr, n->item) > 0)
			n->dep[n->n_dep++] = dr;
	for (size_t t = 0; t < tie->n; t++)
		n->node_of_s[tie->s[t]] = 0; /* marked, numbered below */
	for (size_t s = 0; s < w->ns; s++)
		if (shelter_demand(w, s, n->item) > 0 || !n->node_of_s[s]) {
			n->node_of_s[s] = (int)(n->n_dep + n->n_shel);
			n->shel[n->n_shel++] = s;
		}
	n->group = (int)(n->n_dep + n->n_shel);
	n->sink = n->group + 1;
	if (ns_nodes(&n->g, (size_t)n->sink + 1))
		return SL_ENOMEM;
	long long have = 0, want = tie->units;
	for (size_t j = 0; j < n->n_dep; j++)
		have += n->g.b[j] = stock_of(w, n->dep[j], n->item);
	for (size_t j = 0; j < n->n_shel; j++)
		want += -(n->g.b[n->n_dep + j] =
				  -shelter_demand(w, n->shel[j], n->item));
	n->g.b[n->group] = -tie->units;
	n->g.b[n->sink] = -(have - want);
	n->rows = w->dist;
	n->stride = w->nd;
	n->col = n->dep;
	n->art = (w->max_dist + 1) * (long long)n->g.nn;
	return 0;
}

/* A (depot, node) pair of the starting solution: a candidate arc
 * depot -> shelter while sorting, then a starting flow of q units. */
struct pair {
	long long key, d; /* key: d plus the depot's guiding potential */
	int i, v;	  /* depot node; shelter node, or the sink */
	long long q;
	int arc;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static long long net_key(const struct item_net *n, const int32_t *row,
			 size_t i)
{
	return row[n->col[i]] + (n->u ? n->u[i] : 0);
}

/*
 * Each shelter's candidate depots: the ARCS_K with the smallest
 * distance plus guiding potential (ties to the lower depot rank).  With
 * the potentials of the optimum these would be the depots that serve it;
 * the coarse problem's are close.  Returns 0 or SL_ENOMEM.
 */
static int net_cands(struct item_net *n)
{
	n->cand = sl_malloc((n->n_shel ? n->n_shel : 1) * ARCS_K * sizeof(int));
	if (!n->cand)
		return SL_ENOMEM;
	for (size_t j = 0; j < n->n_shel; j++) {
		const int32_t *row = net_row(n, j);
		int *c = n->cand + j * ARCS_K;
		long long key[ARCS_K];
		size_t m = 0;
		for (size_t i = 0; i < n->n_dep; i++) {
			long long k = net_key(n, row, i);
			if (m == ARCS_K && k >= key[m - 1])
				continue;
			size_t at = m < ARCS_K ? m++ : m - 1;
			for (; at > 0 && key[at - 1] > k; at--) {
				key[at] = key[at - 1];
				c[at] = c[at - 1];
			}
			key[at] = k;
			c[at] = (int)i;
		}
		for (; m < ARCS_K; m++)
			c[m] = -1;
	}
	return 0;
}

/* Shelter j's candidate pairs, best first; returns how many. */
static size_t candidates(const struct item_net *n, size_t j, struct pair *out)
{
	const int32_t *row = net_row(n, j);
	size_t m = 0;
	for (; m < ARCS_K && n->cand[j * ARCS_K + m] >= 0; m++) {
		size_t i = (size_t)n->cand[j * ARCS_K + m];
		out[m] = (struct pair){net_key(n, row, i), row[n->col[i]],
				       (int)i, (int)(n->n_dep + j), 0, -1};
	}
	return m;
}

/* Any shelter still short after the candidates takes from the depots
 * with stock left, smallest key first, over all depots; then every
 * depot's stock left goes to the sink.  Appends to f, returns the new
 * count. */
static size_t greedy_rest(const struct item_net *n, long long *left,
			  struct pair *f, size_t nf)
{
	for (size_t j = 0; j < n->n_shel; j++) {
		long long *dem = &left[n->n_dep + j];
		const int32_t *row = net_row(n, j);
		while (*dem > 0) {
			size_t bi = SIZE_MAX;
			long long bk = 0;
			for (size_t i = 0; i < n->n_dep; i++) {
				long long k = net_key(n, row, i);
				if (left[i] > 0 && (bi == SIZE_MAX || k < bk)) {
					bi = i;
					bk = k;
				}
			}
			if (bi == SIZE_MAX)
				break; /* cannot happen: stock covers demand */
			long long q = left[bi] < *dem ? left[bi] : *dem;
			left[bi] -= q;
			*dem -= q;
			f[nf++] = (struct pair){bk, row[n->col[bi]], (int)bi,
						(int)(n->n_dep + j), q, -1};
		}
	}
	for (size_t i = 0; i < n->n_dep; i++)
		if (left[i] > 0)
			f[nf++] = (struct pair){0, 0, (int)i, n->sink, left[i],
						-1};
	return nf;
}

/*
 * The starting flows: least cost first over the candidate pairs (the
 * shortest pair left takes all it can), then greedy_rest.  Each step
 * empties a depot or fills a shelter, so the pairs form a forest, and
 * every node but the sink and the tie's group is balanced.  Hanging
 * every shelter on its nearest depot instead leaves depots far out of
 * balance: 4x the pivots at national scale.  On success *fl (length
 * *nfl) is the caller's to free.
 */
static int greedy_flows(const struct item_net *n, struct pair **fl,
			size_t *nfl)
{
	const struct ns *g = &n->g;
	int ok = 1;
	size_t np = 0, nf = 0;
	long long *left = xcalloc(g->nn, sizeof(long long), &ok);
	struct pair *p = xcalloc(n->n_shel * ARCS_K, sizeof *p, &ok);
	struct pair *f = xcalloc(n->n_shel + 2 * n->n_dep, sizeof *f, &ok);
	if (!ok) {
		sl_free(left);
		sl_free(p);
		sl_free(f);
		return SL_ENOMEM;
	}
	for (size_t v = 0; v < n->n_dep + n->n_shel; v++)
		left[v] = v < n->n_dep ? g->b[v] : -g->b[v];
	for (size_t j = 0; j < n->n_shel; j++)
		if (left[n->n_dep + j] > 0)
			np += candidates(n, j, p + np);
	if (np)
		qsort(p, np, sizeof *p, cmp_pair);
	for (size_t k = 0; k < np; k++) {
		long long *sup = &left[p[k].i], *dem = &left[p[k].v];
		long long q = *sup < *dem ? *sup : *dem;
		if (q <= 0)
			continue;
		*sup -= q;
		*dem -= q;
		f[nf] = p[k];
		f[nf++].q = q;
	}
	*nfl = greedy_rest(n, left, f, nf);
	*fl = f;
	sl_free(left);
	sl_free(p);
	return 0;
}

/* Real arcs: each shelter's candidate depots (first[j] is the first of
 * shelter j's), the tie's unit arcs into the group node, every depot's
 * spare stock into the sink (from *sink_arcs on, in depot order). */
static int net_arcs(struct item_net *n, const struct tie *tie, size_t *first,
		    size_t *sink_arcs)
{
	struct ns *g = &n->g;
	struct pair c[ARCS_K];
	int rc = 0;
	for (size_t j = 0; !rc && j < n->n_shel; j++) {
		size_t m = candidates(n, j, c);
		first[j] = g->na;
		for (size_t k = 0; !rc && k < m; k++)
			rc = ns_arc(g, c[k].i, c[k].v, c[k].d, NS_INF);
	}
	first[n->n_shel] = g->na;
	for (size_t t = 0; !rc && t < tie->n; t++)
		rc = ns_arc(g, n->node_of_s[tie->s[t]], n->group, 0, 1);
	*sink_arcs = g->na;
	for (size_t j = 0; !rc && j < n->n_dep; j++)
		rc = ns_arc(g, (int)j, n->sink, 0, NS_INF);
	return rc;
}

/* Gives each starting flow its arc (a candidate arc, or a new one when
 * greedy_rest went past the candidates) and makes it basic. */
static int net_flow_arcs(struct item_net *n, const size_t *first,
			 size_t sink_arcs, struct pair *f, size_t nf)
{
	struct ns *g = &n->g;
	for (size_t k = 0; k < nf; k++) {
		f[k].arc = -1;
		if (f[k].v == n->sink) {
			f[k].arc = (int)(sink_arcs + (size_t)f[k].i);
		} else {
			size_t j = (size_t)f[k].v - n->n_dep;
			for (size_t a = first[j]; a < first[j + 1]; a++)
				if (g->src[a] == f[k].i)
					f[k].arc = (int)a;
		}
		if (f[k].arc < 0) {
			if (ns_arc(g, f[k].i, f[k].v, f[k].d, NS_INF))
				return SL_ENOMEM;
			f[k].arc = (int)g->na - 1;
		}
		g->flow[f[k].arc] = f[k].q;
		g->basic[f[k].arc] = 1;
	}
	return 0;
}

/* Starting flows at node v: adjacency in CSR form over f[]. */
struct forest {
	size_t *end, *adj; /* v's flows: adj[end[v-1] .. end[v]) */
};

static int forest_init(struct forest *fo, size_t nv, const struct pair *f,
		       size_t nf)
{
	int ok = 1;
	fo->end = xcalloc(nv + 1, sizeof(size_t), &ok);
	fo->adj = xcalloc(2 * nf, sizeof(size_t), &ok);
	if (!ok)
		return SL_ENOMEM;
	for (size_t k = 0; k < nf; k++) {
		fo->end[f[k].i + 1]++;
		fo->end[f[k].v + 1]++;
	}
	for (size_t v = 0; v < nv; v++)
		fo->end[v + 1] += fo->end[v];
	for (size_t k = 0; k < nf; k++) {
		fo->adj[fo->end[f[k].i]++] = k;
		fo->adj[fo->end[f[k].v]++] = k;
	}
	/* end[v] is now where v's flows end: shift so end[v] starts them. */
	memmove(fo->end + 1, fo->end, nv * sizeof(size_t));
	fo->end[0] = 0;
	return 0;
}

/*
 * Lists the nodes of the tree of the starting forest that holds r, r
 * first, parents before children, with the flow above each in via[];
 * ex[r] gets the tree's imbalance (only the sink's tree has one: rooted
 * at the sink, the real arcs keep exactly the greedy flows) and the
 * others NS_HUNG.  Returns the new length of order[].
 */
static size_t forest_tree(const struct item_net *n, const struct forest *fo,
			  const struct pair *f, int r, unsigned char *seen,
			  long long *ex, int *order, int *via, size_t no)
{
	size_t head = no;
	seen[r] = 1;
	ex[r] = n->g.b[r];
	order[no] = r;
	via[no++] = -1;
	while (head < no) {
		int v = order[head++];
		for (size_t e = fo->end[v]; e < fo->end[v + 1]; e++) {
			const struct pair *pk = &f[fo->adj[e]];
			int u = pk->i == v ? pk->v : pk->i;
			if (seen[u])
				continue;
			seen[u] = 1;
			ex[r] += n->g.b[u];
			ex[u] = NS_HUNG;
			order[no] = u;
			via[no++] = (int)fo->adj[e];
		}
	}
	return no;
}

/* Hangs the listed nodes of the starting forest, parents first. */
static void net_hang(struct ns *g, const struct pair *f, const int *order,
		     const int *via, size_t no)
{
	for (size_t k = 0; k < no; k++) {
		if (via[k] < 0)
			continue; /* a tree's first node: on the root */
		int v = order[k], a = f[via[k]].arc, up = g->src[a] == v;
		int p = up ? g->dst[a] : g->src[a];
		ns_link(g, v, p, a, up);
		g->pi[v] = g->pi[p] + g->pc[v];
	}
	ns_sync_all(g);
}

struct start {
	size_t *first;
	long long *ex;
	int *order, *via;
	unsigned char *seen;
	struct pair *f;
	struct forest fo;
};

static void start_free(struct start *st)
{
	sl_free(st->first);
	sl_free(st->ex);
	sl_free(st->order);
	sl_free(st->via);
	sl_free(st->seen);
	sl_free(st->f);
	sl_free(st->fo.end);
	sl_free(st->fo.adj);
}

/*
 * The starting basis: the greedy flows as a forest, each tree hung from
 * the root by an artificial arc of cost art (big M), then the real arcs.
 * Arcs below n->first_real are the artificial ones.
 */
static int net_start(struct item_net *n, const struct tie *tie)
{
	struct ns *g = &n->g;
	struct start st;
	size_t nf = 0, no = 0, nv = g->nn - 1, sink_arcs = 0;
	int ok = 1, rc;
	memset(&st, 0, sizeof st);
	st.first = xcalloc(n->n_shel + 1, sizeof(size_t), &ok);
	st.ex = xcalloc(g->nn, sizeof(long long), &ok);
	st.order = xcalloc(g->nn, sizeof(int), &ok);
	st.via = xcalloc(g->nn, sizeof(int), &ok);
	st.seen = xcalloc(g->nn, 1, &ok);
	rc = ok ? greedy_flows(n, &st.f, &nf) : SL_ENOMEM;
	if (!rc)
		rc = forest_init(&st.fo, nv, st.f, nf);
	if (!rc) {
		no = forest_tree(n, &st.fo, st.f, n->sink, st.seen, st.ex,
				 st.order, st.via, no);
		for (size_t r = 0; r < nv; r++)
			if (!st.seen[r])
				no = forest_tree(n, &st.fo, st.f, (int)r,
						 st.seen, st.ex, st.order,
						 st.via, no);
		rc = ns_start(g, n->art, st.ex);
	}
	n->first_real = g->na;
	if (!rc)
		rc = net_arcs(n, tie, st.first, &sink_arcs);
	if (!rc)
		rc = net_flow_arcs(n, st.first, sink_arcs, st.f, nf);
	if (!rc)
		net_hang(g, st.f, st.order, st.via, no);
	start_free(&st);
	return rc;
}

/* The exact check: over every (depot, shelter) pair, adds up to PRICE_M
 * of the most violating arcs of each shelter; returns how many were added (0: the
 * flow is optimal over the complete graph), or SL_ENOMEM. */
static long long net_price_all(struct item_net *n)
{
	struct ns *g = &n->g;
	long long added = 0;
	for (size_t j = 0; j < n->n_shel; j++) {
		int v = (int)(n->n_dep + j);
		const int32_t *row = net_row(n, j);
		long long best[PRICE_M], pv = pi_of(g, v);
		size_t bd[PRICE_M], m = 0;
		for (size_t i = 0; i < n->n_dep; i++) {
			long long rc = row[n->col[i]] + pi_of(g, (int)i) - pv;
			if (rc >= 0 || (m == PRICE_M && rc >= best[m - 1]))
				continue;
			size_t k = m < PRICE_M ? m++ : m - 1;
			for (; k > 0 && best[k - 1] > rc; k--) {
				best[k] = best[k - 1];
				bd[k] = bd[k - 1];
			}
			best[k] = rc;
			bd[k] = i;
		}
		for (size_t k = 0; k < m; k++) {
			if (ns_arc(g, (int)bd[k], v, row[n->col[bd[k]]],
				   NS_INF))
				return SL_ENOMEM;
			added++;
		}
	}
	return added;
}

/* Simplex, then the exact check over every pair, until nothing is
 * violated.  Returns 0, SL_ENOMEM, or SL_EINVAL if artificial flow is
 * left (impossible: the fair totals are always feasible). */
static int net_run(struct item_net *n, const struct tie *tie)
{
	int rc = net_start(n, tie);
	long long added = 1;
	while (!rc && added > 0) {
		ns_solve(&n->g);
		added = net_price_all(n);
		if (added < 0)
			rc = (int)added;
	}
	for (size_t a = 0; !rc && a < n->first_real; a++)
		if (n->g.flow[a])
			rc = SL_EINVAL;
	return rc;
}

/* Shelters with demand, keyed by their two nearest depots stocked for
 * the item: shelters with the same key lie in one small region. */
struct ckey {
	size_t a, b, j;
};

static int cmp_ckey(const void *x, const void *y)
{
	const struct ckey *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return (p->j > q->j) - (p->j < q->j);
}

/* Fills k[] for the shelters with demand; returns how many. */
static size_t coarse_keys(const struct item_net *n, const struct work *w,
			  const size_t *idx, struct ckey *k)
{
	size_t m = 0;
	for (size_t j = 0; j < n->n_shel; j++) {
		if (n->g.b[n->n_dep + j] >= 0)
			continue;
		size_t s = n->shel[j], two[2] = {SIZE_MAX, SIZE_MAX}, got = 0;
		for (size_t c = 0; c < w->nk && got < 2; c++) {
			size_t dr = w->near[s * w->nk + c];
			if (dr != SIZE_MAX && idx[dr])
				two[got++] = idx[dr];
		}
		k[m++] = (struct ckey){two[0], two[1], j};
	}
	qsort(k, m, sizeof *k, cmp_ckey);
	return m;
}

/* The coarse problem: one node per cluster of shelters with the same
 * key, its demand their sum, its distance to a depot their
 * demand-weighted mean; no tie (its units go to the sink). */
static int coarse_build(struct item_net *c, const struct item_net *n,
			const struct ckey *k, size_t m, size_t nc,
			int32_t *mat)
{
	int ok = 1;
	size_t nd = n->n_dep;
	double *acc = xcalloc(nd, sizeof(double), &ok);
	c->item = n->item;
	c->n_dep = nd;
	c->n_shel = nc;
	c->dep = xcalloc(nd, sizeof(size_t), &ok);
	c->shel = xcalloc(nc, sizeof(size_t), &ok);
	if (!ok || ns_nodes(&c->g, nd + nc + 2)) {
		sl_free(acc);
		return SL_ENOMEM;
	}
	c->group = (int)(nd + nc);
	c->sink = c->group + 1;
	c->rows = mat;
	c->stride = nd;
	c->col = c->dep;
	c->art = n->art;
	long long have = 0, want = 0;
	for (size_t i = 0; i < nd; i++) {
		c->dep[i] = i;
		have += c->g.b[i] = n->g.b[i];
	}
	for (size_t t = 0, cl = 0; t < m; cl++) {
		long long dem = 0;
		size_t e = t;
		memset(acc, 0, nd * sizeof *acc);
		for (; e < m && k[e].a == k[t].a && k[e].b == k[t].b; e++) {
			long long q = -n->g.b[n->n_dep + k[e].j];
			const int32_t *row = net_row(n, k[e].j);
			dem += q;
			for (size_t i = 0; i < nd; i++)
				acc[i] += (double)q * row[n->col[i]];
		}
		for (size_t i = 0; i < nd; i++)
			mat[cl * nd + i] = (int32_t)llround(acc[i] / (double)dem);
		c->shel[cl] = cl;
		c->g.b[nd + cl] = -dem;
		want += dem;
		t = e;
	}
	c->g.b[c->sink] = -(have - want);
	sl_free(acc);
	return 0;
}

/*
 * Depot potentials to choose candidate arcs by (net_cands): those of the
 * optimum of a coarse problem with one node per small region.  With
 * candidates by distance alone, stock spread unlike people sends most
 * shelters to depots beyond their nearest few and the exact check needs
 * many rounds.  *u stays NULL for problems too small to gain from it.
 * Only a guide: the result is exact whatever the potentials.
 */
static int coarse_potentials(const struct item_net *n, const struct work *w,
			     long long **u)
{
	int ok = 1, rc = 0;
	size_t m, nc = 0;
	*u = NULL;
	if (n->n_shel < COARSE_MIN || n->n_dep < 2)
		return 0;
	size_t *idx = xcalloc(w->nd, sizeof(size_t), &ok);
	struct ckey *k = xcalloc(n->n_shel, sizeof *k, &ok);
	if (!ok) {
		sl_free(idx);
		sl_free(k);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < n->n_dep; i++)
		idx[n->dep[i]] = i + 1; /* 0: not stocked for the item */
	m = coarse_keys(n, w, idx, k);
	for (size_t t = 0; t < m; t++)
		nc += !t || k[t].a != k[t - 1].a || k[t].b != k[t - 1].b;
	struct item_net c;
	memset(&c, 0, sizeof c);
	int32_t *mat = NULL;
	if (nc * 4 > n->n_shel)
		goto out; /* hardly coarser: not worth it */
	mat = xcalloc(nc * n->n_dep, sizeof(int32_t), &ok);
	*u = xcalloc(n->n_dep, sizeof(long long), &ok);
	rc = ok ? coarse_build(&c, n, k, m, nc, mat) : SL_ENOMEM;
	if (!rc)
		rc = net_cands(&c);
	if (!rc) {
		struct tie none = {NULL, 0, 0};
		rc = net_run(&c, &none);
	}
	for (size_t i = 0; !rc && i < n->n_dep; i++)
		(*u)[i] = pi_of(&c.g, (int)i);
out:
	if (rc) {
		sl_free(*u);
		*u = NULL;
	}
	net_free(&c);
	sl_free(mat);
	sl_free(idx);
	sl_free(k);
	return rc;
}

static int net_solve(struct item_net *n, const struct work *w,
		     const struct tie *tie, sl_error *err)
{
	long long *u = NULL;
	int rc = net_nodes(n, w, tie);
	if (!rc)
		rc = coarse_potentials(n, w, &u);
	n->u = u;
	if (!rc)
		rc = net_cands(n);
	if (!rc)
		rc = net_run(n, tie);
	n->u = NULL;
	sl_free(u);
	if (rc == SL_EINVAL)
		return sl_error_set(err, SL_EINVAL,
				    "alloc: internal error: item %s "
				    "left with artificial flow",
				    w->in->items[n->item].id);
	if (rc)
		return sl_error_set(err, rc,
				    "alloc: out of memory in the "
				    "transport problem");
	return 0;
}

/* ---- the plan ---- */

static int plan_line(struct alloc_plan *p, size_t *room,
		     const struct alloc_line *l)
{
	if (p->n_lines == *room) {
		size_t r = *room ? 2 * *room : 64;
		if (grow((void **)&p->lines, r, sizeof *l))
			return SL_ENOMEM;
		*room = r;
	}
	p->lines[p->n_lines++] = *l;
	return 0;
}

/* One depot->shelter flow of the solved network. */
struct flow {
	size_t shel, dep; /* indices into item_net's shel[] and dep[] */
	long long q;
};

static int cmp_flow(const void *a, const void *b)
{
	const struct flow *x = a, *y = b;
	if (x->shel != y->shel)
		return x->shel < y->shel ? -1 : 1;
	return x->dep < y->dep ? -1 : x->dep > y->dep;
}

/* The positive depot->shelter flows, by shelter then depot rank. */
static struct flow *net_flows(const struct item_net *n, size_t *nf)
{
	const struct ns *g = &n->g;
	size_t k = 0;
	struct flow *f = sl_malloc((g->na + 1) * sizeof *f);
	if (!f)
		return NULL;
	for (size_t a = n->first_real; a < g->na; a++) {
		size_t v = (size_t)g->dst[a];
		if (g->flow[a] > 0 && v >= n->n_dep && v < (size_t)n->group)
			f[k++] = (struct flow){v - n->n_dep, (size_t)g->src[a],
					       g->flow[a]};
	}
	qsort(f, k, sizeof *f, cmp_flow);
	*nf = k;
	return f;
}

/* Puts the lines of one shelter (lines[from..]) in urgency, then depot
 * id order; a shelter has few. */
static void shelter_lines_order(const struct work *w, struct alloc_line *l,
				size_t from, size_t to)
{
	for (size_t k = from + 1; k < to; k++) {
		struct alloc_line x = l[k];
		size_t j = k;
		for (; j > from && (l[j - 1].urgency > x.urgency ||
				    (l[j - 1].urgency == x.urgency &&
				     w->depot_rank[l[j - 1].depot] >
					     w->depot_rank[x.depot]));
		     j--)
			l[j] = l[j - 1];
		l[j] = x;
	}
}

/* Splits what each shelter receives over its urgency classes, critical
 * first; depots in id order.  The split cannot change cost: the same
 * depot->shelter pair carries every class.  Lines go to p in plan order
 * (shelter id, urgency, depot id). */
static int net_lines(const struct item_net *n, const struct work *w,
		     struct alloc_plan *p, size_t *room)
{
	size_t nf = 0, from = p->n_lines;
	struct flow *f = net_flows(n, &nf);
	long long left[ALLOC_N_URGENCY];
	if (!f)
		return SL_ENOMEM;
	for (size_t k = 0; k < nf; k++) {
		size_t s = n->shel[f[k].shel], dr = n->dep[f[k].dep];
		long long q = f[k].q;
		if (k == 0 || f[k].shel != f[k - 1].shel) {
			shelter_lines_order(w, p->lines, from, p->n_lines);
			from = p->n_lines;
			for (int u = 0; u < ALLOC_N_URGENCY; u++)
				left[u] = w->got[cell(w, s, n->item, u)];
		}
		for (int u = 0; u < ALLOC_N_URGENCY && q > 0; u++) {
			long long take = q < left[u] ? q : left[u];
			if (!take)
				continue;
			struct alloc_line l = {.depot = w->depot_order[dr],
					       .shelter = w->shelter_order[s],
					       .item = n->item,
					       .urgency = (enum alloc_urgency)u,
					       .qty = take,
					       .distance_m =
						       w->dist[s * w->nd + dr]};
			if (plan_line(p, room, &l)) {
				sl_free(f);
				return SL_ENOMEM;
			}
			q -= take;
			left[u] -= take;
		}
	}
	shelter_lines_order(w, p->lines, from, p->n_lines);
	sl_free(f);
	return 0;
}

/* The tie units are part of `got` once transport chose their shelters. */
static void net_tie_result(const struct item_net *n, struct work *w,
			   int scarce_u)
{
	const struct ns *g = &n->g;
	for (size_t a = n->first_real; a < g->na; a++)
		if (g->dst[a] == n->group && g->flow[a] > 0) {
			size_t s = n->shel[(size_t)g->src[a] - n->n_dep];
			w->got[cell(w, s, n->item, scarce_u)] += g->flow[a];
		}
}

/* ---- one item: classes in order, then transport ---- */

struct class_scratch {
	long long *need, *a;
	size_t *rank;
	struct unit *heap;
	struct tie tie;
};

static int split_class(struct work *w, size_t item, int u, long long *left,
		       struct class_scratch *cs)
{
	size_t k = 0;
	long long total = 0;
	unsigned char *state = &w->class_state[item * ALLOC_N_URGENCY + u];
	for (size_t s = 0; s < w->ns; s++) {
		long long q = w->need[cell(w, s, item, u)];
		if (q > 0) {
			cs->need[k] = q;
			cs->rank[k++] = s;
			total += q;
		}
	}
	if (!k) {
		*state = CLASS_EMPTY;
		return 0;
	}
	long long B = total < *left ? total : *left;
	*state = B == total ? CLASS_FULL : B == 0 ? CLASS_NONE : CLASS_SCARCE;
	if (B == total)
		memcpy(cs->a, cs->need, k * sizeof *cs->a);
	else if (B == 0)
		memset(cs->a, 0, k * sizeof *cs->a);
	else /* the one scarce class of the item: it alone leaves a tie */
		fair_split(cs->need, cs->rank, k, B, cs->a, cs->heap, &cs->tie);
	for (size_t j = 0; j < k; j++)
		w->got[cell(w, cs->rank[j], item, u)] = cs->a[j];
	*left -= B;
	return 0;
}

/* The lowest fill ratio in a scarce class, for the "why" texts. */
static void class_floor(struct work *w, size_t item, int u)
{
	double m = 1;
	for (size_t s = 0; s < w->ns; s++) {
		long long q = w->need[cell(w, s, item, u)];
		if (q > 0) {
			double r = (double)w->got[cell(w, s, item, u)] / q;
			if (r < m)
				m = r;
		}
	}
	w->class_min[item * ALLOC_N_URGENCY + u] = m;
}

static int plan_item(struct work *w, size_t item, struct class_scratch *cs,
		     struct alloc_plan *lines, size_t *room, sl_error *err)
{
	long long left = 0;
	int scarce_u = -1;
	for (size_t dr = 0; dr < w->nd; dr++)
		left += stock_of(w, dr, item);
	cs->tie.n = 0;
	cs->tie.units = 0;
	for (int u = 0; u < ALLOC_N_URGENCY; u++) {
		split_class(w, item, u, &left, cs);
		if (w->class_state[item * ALLOC_N_URGENCY + u] == CLASS_SCARCE)
			scarce_u = u;
	}
	struct item_net n;
	memset(&n, 0, sizeof n);
	n.item = item;
	int rc = net_solve(&n, w, &cs->tie, err);
	if (!rc) {
		if (scarce_u >= 0)
			net_tie_result(&n, w, scarce_u);
		rc = net_lines(&n, w, lines, room);
		if (rc)
			sl_error_set(err, rc, "alloc: out of memory");
	}
	if (scarce_u >= 0)
		class_floor(w, item, scarce_u);
	net_free(&n);
	return rc;
}

/* ---- why ---- */

static void why_text(const struct work *w, size_t item, int u,
		     const struct alloc_fill *f, char *out, size_t len)
{
	const char *id = w->in->items[item].id;
	unsigned char st = w->class_state[item * ALLOC_N_URGENCY + u];
	if (st == CLASS_FULL) {
		snprintf(out, len, "all %lld needed", f->needed);
	} else if (st == CLASS_SCARCE) {
		/* floor to 2 decimals: never claim more than was given */
		double m =
			floor(w->class_min[item * ALLOC_N_URGENCY + u] * 100) /
			100;
		snprintf(out, len,
			 "scarce: %lld of %lld, every %s need of %s filled "
			 "to at least %.2f",
			 f->allocated, f->needed,
			 alloc_urgency_name(f->urgency), id, m);
	} else if (u == ALLOC_CRITICAL) {
		snprintf(out, len, "no stock of %s at any depot", id);
	} else {
		snprintf(out, len, "none left after %s needs",
			 u == ALLOC_HIGH ? "critical" : "critical and high");
	}
}

static int plan_fills(struct work *w)
{
	struct alloc_plan *p = w->plan;
	size_t room = 0;
	for (size_t ir = 0; ir < w->in->n_items; ir++) {
		size_t item = w->item_order[ir];
		for (size_t s = 0; s < w->ns; s++)
			for (int u = 0; u < ALLOC_N_URGENCY; u++) {
				long long q = w->need[cell(w, s, item, u)];
				if (q <= 0)
					continue;
				if (p->n_fills == room) {
					room = room ? 2 * room : 64;
					if (grow((void **)&p->fills, room,
						 sizeof *p->fills))
						return SL_ENOMEM;
				}
				struct alloc_fill *f = &p->fills[p->n_fills++];
				memset(f, 0, sizeof *f);
				f->shelter = w->shelter_order[s];
				f->item = item;
				f->urgency = (enum alloc_urgency)u;
				f->needed = q;
				f->allocated = w->got[cell(w, s, item, u)];
				f->ratio = (double)f->allocated / (double)q;
				why_text(w, item, u, f, f->why, sizeof f->why);
			}
	}
	return 0;
}

void alloc_plan_free(struct alloc_plan *p)
{
	if (!p)
		return;
	sl_free(p->lines);
	sl_free(p->fills);
	sl_free(p);
}

static int scratch_init(struct class_scratch *cs, size_t ns)
{
	int ok = 1;
	cs->need = xcalloc(ns, sizeof(long long), &ok);
	cs->a = xcalloc(ns, sizeof(long long), &ok);
	cs->rank = xcalloc(ns, sizeof(size_t), &ok);
	cs->heap = xcalloc(ns, sizeof(struct unit), &ok);
	cs->tie.s = xcalloc(ns, sizeof(size_t), &ok);
	return ok ? 0 : SL_ENOMEM;
}

static void scratch_free(struct class_scratch *cs)
{
	sl_free(cs->need);
	sl_free(cs->a);
	sl_free(cs->rank);
	sl_free(cs->heap);
	sl_free(cs->tie.s);
}

/*
 * Items are independent, so workers take them one at a time (the next
 * item rank from a shared counter) and each item's lines go to its own
 * buffer: the plan is the same for any number of threads.
 */
struct item_out {
	struct alloc_plan lines; /* only lines and n_lines used */
	size_t room;
	int rc;
	sl_error err;
};

struct pool {
	struct work *w;
	struct item_out *out; /* by item rank */
	atomic_size_t next;
	atomic_int failed;
};

static void *worker(void *arg)
{
	struct pool *pl = arg;
	struct work *w = pl->w;
	struct class_scratch cs;
	int rc = scratch_init(&cs, w->ns);
	for (;;) {
		size_t ir = atomic_fetch_add(&pl->next, 1);
		if (ir >= w->in->n_items || atomic_load(&pl->failed))
			break;
		struct item_out *o = &pl->out[ir];
		o->rc = rc ? sl_error_set(&o->err, rc, "alloc: out of memory")
			   : plan_item(w, w->item_order[ir], &cs, &o->lines,
				       &o->room, &o->err);
		if (o->rc)
			atomic_store(&pl->failed, 1);
	}
	scratch_free(&cs);
	return NULL;
}

/* Worth a thread per item only when an item takes more than
 * microseconds: measured by shelters x depots. */
#define THREAD_MIN_CELLS 20000
#define THREADS_MAX	 8

static size_t thread_count(const struct work *w, int threads)
{
	size_t n = threads > 0 ? (size_t)threads : 0;
	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (size_t)cpus : 1;
		if (w->ns * w->nd < THREAD_MIN_CELLS)
			n = 1;
	}
	n = n < THREADS_MAX ? n : THREADS_MAX;
	n = n < w->in->n_items ? n : w->in->n_items;
	return n ? n : 1;
}

/* Runs the items on up to `threads` threads, this one included; a
 * thread that cannot be started leaves its share to the others.  The
 * workers start with every signal blocked, so a daemon's signals still
 * reach the threads that expect them. */
static int plan_items(struct work *w, int threads, struct item_out *out)
{
	struct pool pl = {.w = w, .out = out};
	pthread_t tid[THREADS_MAX];
	size_t nt = thread_count(w, threads), started = 0;
	sigset_t all, old;
	atomic_init(&pl.next, 0);
	atomic_init(&pl.failed, 0);
	sigfillset(&all);
	int masked = nt > 1 && !pthread_sigmask(SIG_SETMASK, &all, &old);
	for (size_t t = 1; t < nt; t++)
		if (!pthread_create(&tid[started], NULL, worker, &pl))
			started++;
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker(&pl);
	for (size_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return atomic_load(&pl.failed);
}

/* The items' lines, in item id order, into the plan. */
static int plan_gather(struct work *w, struct item_out *out)
{
	struct alloc_plan *p = w->plan;
	size_t total = 0;
	for (size_t ir = 0; ir < w->in->n_items; ir++)
		total += out[ir].lines.n_lines;
	p->lines = sl_malloc((total ? total : 1) * sizeof *p->lines);
	if (!p->lines)
		return SL_ENOMEM;
	for (size_t ir = 0; ir < w->in->n_items; ir++) {
		if (out[ir].lines.n_lines)
			memcpy(p->lines + p->n_lines, out[ir].lines.lines,
			       out[ir].lines.n_lines * sizeof *p->lines);
		p->n_lines += out[ir].lines.n_lines;
	}
	for (size_t k = 0; k < p->n_lines; k++)
		p->transport_unit_km +=
			(double)p->lines[k].qty * p->lines[k].distance_m /
			1000.0;
	return 0;
}

static int plan_all(struct work *w, int threads, sl_error *err)
{
	size_t ni = w->in->n_items;
	struct item_out *out = sl_calloc(ni ? ni : 1, sizeof *out);
	int rc = 0;
	if (!out)
		return sl_error_set(err, SL_ENOMEM, "alloc: out of memory");
	if (plan_items(w, threads, out)) {
		for (size_t ir = 0; !rc && ir < ni; ir++)
			if ((rc = out[ir].rc) && err)
				*err = out[ir].err; /* the first item failing */
	}
	if (!rc && (plan_gather(w, out) || plan_fills(w)))
		rc = sl_error_set(err, SL_ENOMEM, "alloc: out of memory");
	for (size_t ir = 0; ir < ni; ir++)
		sl_free(out[ir].lines.lines);
	sl_free(out);
	return rc;
}

int alloc_run(const struct alloc_input *in, struct alloc_plan **out,
	      sl_error *err)
{
	return alloc_run_threads(in, 0, out, err);
}

int alloc_run_threads(const struct alloc_input *in, int threads,
		      struct alloc_plan **out, sl_error *err)
{
	struct work w;
	*out = NULL;
	int rc = check_input(in, err);
	if (rc)
		return rc;
	rc = work_init(&w, in, err);
	if (!rc)
		rc = build_distances(&w, err);
	if (!rc && !(w.plan = sl_calloc(1, sizeof *w.plan)))
		rc = sl_error_set(err, SL_ENOMEM, "alloc: out of memory");
	if (!rc)
		rc = plan_all(&w, threads, err);
	if (rc)
		alloc_plan_free(w.plan);
	else
		*out = w.plan;
	work_free(&w);
	return rc;
}
