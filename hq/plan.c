/*
 * plan.c - `hq plan`: the estimated needs, the stock on hand and the
 * vehicles become a fair allocation (alloc.c) and each depot's trips
 * (route.c), stored as a draft plan with one dispatch order per truck
 * stop.  plan_compute() is pure, so tests and benchmarks run the same
 * code as the command; plan_create() reads the database, computes and
 * writes the whole plan in one transaction.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "hq.h"
#include "msg.h"

/* What one depot's route plan points into; owned by the result. */
struct plan_work {
	struct vehicle *vehicles;
	struct route_shelter *shelters;
	struct route_line *lines;
};

/* One depot's shipment of one item to one shelter, all urgencies. */
struct shipment {
	size_t depot, shelter, item;
	long long qty;
};

static int cmp_shipment(const void *a, const void *b)
{
	const struct shipment *x = a, *y = b;
	if (x->depot != y->depot)
		return x->depot < y->depot ? -1 : 1;
	if (x->shelter != y->shelter)
		return x->shelter < y->shelter ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return 0;
}

void plan_result_free(struct plan_result *r)
{
	if (r == NULL)
		return;
	alloc_plan_free(r->alloc);
	for (size_t d = 0; r->routes && d < r->n_routes; d++) {
		route_plan_free(r->routes[d]);
		free(r->work[d].vehicles);
		free(r->work[d].shelters);
		free(r->work[d].lines);
	}
	free(r->routes);
	free(r->work);
	free(r->alloc_items);
	free(r->alloc_depots);
	free(r->alloc_shelters);
	free(r->alloc_needs);
	free(r);
}

static int to_alloc_input(const struct plan_input *in, struct plan_result *r,
			  struct alloc_input *a, sl_error *err)
{
	size_t n_items = catalog_count(in->items);
	r->alloc_items = calloc(n_items ? n_items : 1, sizeof(*r->alloc_items));
	r->alloc_depots = calloc(in->n_depots + 1, sizeof(*r->alloc_depots));
	r->alloc_shelters = calloc(in->n_shelters + 1,
				   sizeof(*r->alloc_shelters));
	r->alloc_needs = calloc(in->n_needs + 1, sizeof(*r->alloc_needs));
	if (!r->alloc_items || !r->alloc_depots || !r->alloc_shelters ||
	    !r->alloc_needs)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < n_items; i++)
		r->alloc_items[i].id = catalog_at(in->items, i)->code;
	for (size_t d = 0; d < in->n_depots; d++) {
		r->alloc_depots[d].id = in->depots[d].id;
		r->alloc_depots[d].lat = in->depots[d].lat;
		r->alloc_depots[d].lon = in->depots[d].lon;
		r->alloc_depots[d].stock = in->stock + d * n_items;
	}
	for (size_t s = 0; s < in->n_shelters; s++) {
		r->alloc_shelters[s].id = in->shelters[s].id;
		r->alloc_shelters[s].lat = in->shelters[s].lat;
		r->alloc_shelters[s].lon = in->shelters[s].lon;
	}
	for (size_t k = 0; k < in->n_needs; k++) {
		const struct plan_need *n = &in->needs[k];
		r->alloc_needs[k] = (struct alloc_need){ n->shelter, n->item,
							 n->urgency, n->qty };
	}
	*a = (struct alloc_input){ r->alloc_items, n_items,
				   r->alloc_depots, in->n_depots,
				   r->alloc_shelters, in->n_shelters,
				   r->alloc_needs, in->n_needs };
	return 0;
}

/* The allocation's lines summed over urgency, by depot, shelter, item. */
static struct shipment *shipments(const struct alloc_plan *p, size_t *n)
{
	struct shipment *sh = calloc(p->n_lines + 1, sizeof(*sh));
	size_t m = 0;
	if (sh == NULL)
		return NULL;
	for (size_t i = 0; i < p->n_lines; i++) {
		const struct alloc_line *l = &p->lines[i];
		sh[m++] = (struct shipment){ l->depot, l->shelter, l->item,
					     l->qty };
	}
	qsort(sh, m, sizeof(*sh), cmp_shipment);
	size_t w = 0;
	for (size_t i = 0; i < m; i++) {
		if (w > 0 && cmp_shipment(&sh[w - 1], &sh[i]) == 0)
			sh[w - 1].qty += sh[i].qty;
		else
			sh[w++] = sh[i];
	}
	*n = w;
	return sh;
}

/* Builds depot d's route input from its shipments sh[0..n). */
static int depot_routes(const struct plan_input *in, size_t d,
			const struct shipment *sh, size_t n,
			struct plan_result *r, sl_error *err)
{
	struct plan_work *w = &r->work[d];
	size_t nv = 0, ns = 0;
	for (size_t v = 0; v < in->n_vehicles; v++)
		nv += strcmp(in->vehicles[v].depot_id, in->depots[d].id) == 0;
	for (size_t i = 0; i < n; i++)
		ns += i == 0 || sh[i].shelter != sh[i - 1].shelter;
	w->vehicles = calloc(nv + 1, sizeof(*w->vehicles));
	w->shelters = calloc(ns + 1, sizeof(*w->shelters));
	w->lines = calloc(n + 1, sizeof(*w->lines));
	if (!w->vehicles || !w->shelters || !w->lines)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	nv = 0;
	for (size_t v = 0; v < in->n_vehicles; v++)
		if (strcmp(in->vehicles[v].depot_id, in->depots[d].id) == 0)
			w->vehicles[nv++] = in->vehicles[v];
	ns = 0;
	for (size_t i = 0; i < n; i++) {
		const struct plan_shelter *ps = &in->shelters[sh[i].shelter];
		if (i == 0 || sh[i].shelter != sh[i - 1].shelter) {
			w->shelters[ns++] = (struct route_shelter){
				ps->id, ps->name, ps->lat, ps->lon,
				!isnan(ps->lat) && !isnan(ps->lon),
				&w->lines[i], 0
			};
		}
		w->lines[i].item = catalog_at(in->items, sh[i].item);
		w->lines[i].qty = sh[i].qty;
		w->shelters[ns - 1].nlines++;
	}
	struct route_input ri = { &in->depots[d], w->vehicles, nv,
				  w->shelters, ns };
	int rc = route_plan_build(&ri, &r->routes[d], err);
	if (rc == 0)
		r->route_km += r->routes[d]->length_km;
	return rc;
}

int plan_compute(const struct plan_input *in, struct plan_result **out,
		 sl_error *err)
{
	struct alloc_input a;
	struct shipment *sh = NULL;
	size_t n_sh = 0;
	struct plan_result *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (r == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	r->n_routes = in->n_depots;
	r->routes = calloc(in->n_depots + 1, sizeof(*r->routes));
	r->work = calloc(in->n_depots + 1, sizeof(*r->work));
	if (r->routes == NULL || r->work == NULL) {
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = to_alloc_input(in, r, &a, err)) != 0 ||
	    (rc = alloc_run(&a, &r->alloc, err)) != 0)
		goto fail;
	if ((sh = shipments(r->alloc, &n_sh)) == NULL) {
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n_sh;) {
		size_t j = i;
		while (j < n_sh && sh[j].depot == sh[i].depot)
			j++;
		if ((rc = depot_routes(in, sh[i].depot, sh + i, j - i, r,
				       err)) != 0)
			goto fail;
		i = j;
	}
	free(sh);
	*out = r;
	return 0;
fail:
	free(sh);
	plan_result_free(r);
	return rc;
}

/* ---- the database side ---- */

/* Everything plan_create reads, held while the plan is computed: the
 * input's strings point into these rows. */
struct plan_state {
	json_t *shelters, *depot_rows, *vehicle_rows, *stock_rows;
	struct plan_shelter *ps;
	struct depot *depots;
	struct vehicle *vehicles;
	long long *stock;
	struct plan_need *needs;
	/* need rows of shelters without a position: listed, not planned */
	struct plan_need *unplaced;
	size_t n_unplaced;
	struct plan_input in;
};

static void state_free(struct plan_state *s)
{
	json_decref(s->shelters);
	json_decref(s->depot_rows);
	json_decref(s->vehicle_rows);
	json_decref(s->stock_rows);
	free(s->ps);
	free(s->depots);
	free(s->vehicles);
	free(s->stock);
	free(s->needs);
	free(s->unplaced);
}

static const char *row_str(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static double row_num(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int load_depots(hq_store *st, struct plan_state *s, sl_error *err)
{
	int rc;
	size_t i;
	json_t *row;
	if ((rc = picture_query(st, "SELECT depot_id, name, lat, lon FROM depots"
				    " ORDER BY depot_id",
				NULL, &s->depot_rows, err)) != 0 ||
	    (rc = picture_query(st, "SELECT vehicle_id, depot_id, name,"
				    " max_weight_kg, max_volume_l FROM vehicles"
				    " ORDER BY vehicle_id",
				NULL, &s->vehicle_rows, err)) != 0)
		return rc;
	size_t nd = json_array_size(s->depot_rows);
	size_t nv = json_array_size(s->vehicle_rows);
	s->depots = calloc(nd + 1, sizeof(*s->depots));
	s->vehicles = calloc(nv + 1, sizeof(*s->vehicles));
	if (s->depots == NULL || s->vehicles == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_array_foreach(s->depot_rows, i, row) {
		s->depots[i] = (struct depot){ row_str(row, "depot_id"),
					       row_str(row, "name"),
					       row_num(row, "lat"),
					       row_num(row, "lon") };
	}
	json_array_foreach(s->vehicle_rows, i, row) {
		s->vehicles[i] = (struct vehicle){
			row_str(row, "vehicle_id"), row_str(row, "depot_id"),
			row_str(row, "name"), row_num(row, "max_weight_kg"),
			row_num(row, "max_volume_l")
		};
	}
	s->in.depots = s->depots;
	s->in.n_depots = nd;
	s->in.vehicles = s->vehicles;
	s->in.n_vehicles = nv;
	return 0;
}

static size_t depot_index(const struct plan_state *s, const char *id)
{
	for (size_t d = 0; d < s->in.n_depots; d++)
		if (strcmp(s->depots[d].id, id) == 0)
			return d;
	return (size_t)-1;
}

static size_t item_index(const catalog *items, const char *code)
{
	const struct catalog_item *it = catalog_find(items, code);
	for (size_t i = 0; it && i < catalog_count(items); i++)
		if (catalog_at(items, i) == it)
			return i;
	return (size_t)-1;
}

static int load_stock(hq_store *st, struct plan_state *s, sl_error *err)
{
	size_t n_items = catalog_count(s->in.items), i;
	json_t *row;
	int rc = picture_query(st, "SELECT depot_id, item, sum(delta) AS qty"
				   " FROM stock_ledger GROUP BY depot_id, item"
				   " HAVING sum(delta) > 0",
			       NULL, &s->stock_rows, err);
	if (rc != 0)
		return rc;
	s->stock = calloc(s->in.n_depots * n_items + 1, sizeof(*s->stock));
	if (s->stock == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_array_foreach(s->stock_rows, i, row) {
		size_t d = depot_index(s, row_str(row, "depot_id"));
		size_t k = item_index(s->in.items, row_str(row, "item"));
		/* the ledger refuses unknown items; a catalogue that lost one
		 * since leaves its stock out of plans until it returns */
		if (d != (size_t)-1 && k != (size_t)-1)
			s->stock[d * n_items + k] = (long long)json_integer_value(
				json_object_get(row, "qty"));
	}
	s->in.stock = s->stock;
	return 0;
}

static int parse_urgency(const char *name, enum alloc_urgency *u)
{
	for (int i = 0; i < ALLOC_N_URGENCY; i++)
		if (name && strcmp(name, alloc_urgency_name(i)) == 0) {
			*u = (enum alloc_urgency)i;
			return 0;
		}
	return -1;
}

/* The live picture lists shelters in id order (SQLite's BINARY
 * collation, which is strcmp's): binary search. */
static size_t shelter_index(const struct plan_shelter *ps, size_t n,
			    const char *id)
{
	size_t lo = 0, hi = n;
	while (id && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ps[mid].id, id);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (size_t)-1;
}

/* Need rows name shelters; each gets its position and municipality from
 * the live picture (registry first, else its reports). */
static int load_needs(hq_store *st, const json_t *rows, time_t now,
		      struct plan_state *s, sl_error *err)
{
	struct picture_opts po = { now, 0 };
	size_t i, n = json_array_size(rows), ns = 0;
	json_t *row;
	int rc = picture_shelters(st, &po, &s->shelters, err);
	if (rc != 0)
		return rc;
	s->ps = calloc(json_array_size(s->shelters) + 1, sizeof(*s->ps));
	s->needs = calloc(n + 1, sizeof(*s->needs));
	s->unplaced = calloc(n + 1, sizeof(*s->unplaced));
	if (s->ps == NULL || s->needs == NULL || s->unplaced == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_array_foreach(s->shelters, i, row) {
		s->ps[i] = (struct plan_shelter){ row_str(row, "shelter_id"),
						  row_str(row, "name"),
						  row_str(row, "municipality"),
						  row_num(row, "lat"),
						  row_num(row, "lon") };
		ns++;
	}
	json_array_foreach(rows, i, row) {
		struct plan_need pn;
		const char *id = row_str(row, "shelter_id");
		const json_t *qty = json_object_get(row, "needed");
		pn.shelter = shelter_index(s->ps, ns, id);
		pn.item = item_index(s->in.items, row_str(row, "item"));
		if (pn.shelter == (size_t)-1 || pn.item == (size_t)-1 ||
		    parse_urgency(row_str(row, "urgency"), &pn.urgency) != 0 ||
		    !json_is_integer(qty) || json_integer_value(qty) <= 0)
			return sl_error_set(err, SL_EINVAL,
					    "need row %zu: shelter '%s', item "
					    "'%s', urgency '%s': unknown shelter, "
					    "item or urgency, or 'needed' is "
					    "not a positive whole number",
					    i + 1, or_empty(id),
					    or_empty(row_str(row, "item")),
					    or_empty(row_str(row, "urgency")));
		pn.qty = (long long)json_integer_value(qty);
		/* one shelter without a position must not hold up the
		 * others' plan: its lines are listed as not planned */
		if (isnan(s->ps[pn.shelter].lat) || isnan(s->ps[pn.shelter].lon))
			s->unplaced[s->n_unplaced++] = pn;
		else
			s->needs[s->in.n_needs++] = pn;
	}
	s->in.shelters = s->ps;
	s->in.n_shelters = ns;
	s->in.needs = s->needs;
	return 0;
}

/* P + UTC date and time, then -2, -3 ... if a plan already has it. */
static int new_plan_id(hq_store *st, time_t now, char id[32], sl_error *err)
{
	struct tm tm;
	char base[24];
	gmtime_r(&now, &tm);
	strftime(base, sizeof(base), "P%Y%m%d-%H%M%S", &tm);
	for (int n = 1; n < 1000; n++) {
		json_t *rows;
		if (n == 1)
			snprintf(id, 32, "%s", base);
		else
			snprintf(id, 32, "%s-%d", base, n);
		int rc = picture_query(st, "SELECT 1 FROM plans WHERE plan_id = ?1",
				       id, &rows, err);
		if (rc != 0)
			return rc;
		size_t taken = json_array_size(rows);
		json_decref(rows);
		if (!taken)
			return 0;
	}
	return sl_error_set(err, SL_EINVAL, "too many plans at %s", base);
}

static int exec_bound(sqlite3 *db, sqlite3_stmt *s, const char *what,
		      sl_error *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_error(db, err, what);
}

static int bind_fill(sqlite3 *db, sqlite3_stmt *s, const char *plan_id,
		     const struct plan_input *in, size_t shelter, size_t item,
		     enum alloc_urgency u, long long needed,
		     long long allocated, double ratio, const char *why,
		     sl_error *err)
{
	sqlite3_bind_text(s, 1, plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, in->shelters[shelter].id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, catalog_at(in->items, item)->code, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 4, alloc_urgency_name(u), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, needed);
	sqlite3_bind_int64(s, 6, allocated);
	sqlite3_bind_double(s, 7, ratio);
	sqlite3_bind_text(s, 8, why, -1, SQLITE_STATIC);
	return exec_bound(db, s, "plan fill", err);
}

static int save_fills(sqlite3 *db, const char *plan_id,
		      const struct plan_input *in, const struct alloc_plan *a,
		      const struct plan_need *unplaced, size_t n_unplaced,
		      sl_error *err)
{
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s,
			    "INSERT INTO plan_fills (plan_id, shelter_id, item,"
			    " urgency, needed, allocated, ratio, why)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			    err);
	for (size_t i = 0; rc == 0 && i < a->n_fills; i++) {
		const struct alloc_fill *f = &a->fills[i];
		rc = bind_fill(db, s, plan_id, in, f->shelter, f->item,
			       f->urgency, f->needed, f->allocated, f->ratio,
			       f->why, err);
	}
	for (size_t i = 0; rc == 0 && i < n_unplaced; i++) {
		const struct plan_need *u = &unplaced[i];
		rc = bind_fill(db, s, plan_id, in, u->shelter, u->item,
			       u->urgency, u->qty, 0, 0,
			       "not planned: the shelter has no position "
			       "(import the shelter list, or set its agent's "
			       "latitude and longitude)",
			       err);
	}
	sqlite3_finalize(s);
	return rc;
}

/* The order as the shelter will receive it (schemas/dispatch.schema.json). */
static char *order_payload(const char *dispatch_id, const char *plan_id,
			   const struct plan_shelter *ps,
			   const struct route_plan *rp,
			   const struct route_trip *t, size_t stop,
			   time_t now)
{
	const struct route_stop *sp = &t->stops[stop];
	const struct vehicle *v = &rp->in.vehicles[t->vehicle];
	char when[32], note[160];
	json_t *lines = json_array();
	msg_time(now, when);
	for (size_t i = 0; lines && i < sp->nlines; i++)
		json_array_append_new(lines,
				      json_pack("{s:s, s:I}", "item",
						sp->lines[i].item->code, "qty",
						(json_int_t)sp->lines[i].qty));
	snprintf(note, sizeof(note), "plan %s, %s trip %d, stop %zu of %zu",
		 plan_id, v->id, t->number, stop + 1, t->nstops);
	json_t *msg = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s,"
				" s:s}",
				"v", 1, "type", "dispatch", "dispatch_id",
				dispatch_id, "shelter_id", ps->id,
				"municipality", ps->municipality, "time", when,
				"lines", lines, "depot", rp->in.depot->name,
				"vehicle", v->name ? v->name : v->id, "note",
				note);
	char *text = msg ? msg_encode(msg) : NULL;
	json_decref(msg);
	return text;
}

static int save_stop(sqlite3 *db, sqlite3_stmt *ins, sqlite3_stmt *line,
		     const char *plan_id, int number,
		     const struct plan_input *in, const struct route_plan *rp,
		     const struct route_trip *t, size_t stop, time_t now,
		     sl_error *err)
{
	const struct route_stop *sp = &t->stops[stop];
	const struct plan_shelter *ps = NULL;
	char dispatch_id[48];
	int rc;
	/* route stops index the depot's own shelter list: find ours by id */
	const char *sid = rp->in.shelters[sp->shelter].id;
	size_t k = shelter_index(in->shelters, in->n_shelters, sid);
	if (k != (size_t)-1)
		ps = &in->shelters[k];
	if (ps == NULL || ps->municipality == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "shelter %s has no municipality", sid);
	snprintf(dispatch_id, sizeof(dispatch_id), "%s-%04d", plan_id, number);
	char *payload = order_payload(dispatch_id, plan_id, ps, rp, t, stop,
				      now);
	if (payload == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	sqlite3_bind_text(ins, 1, dispatch_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 2, plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, ps->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, ps->municipality, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, rp->in.depot->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 6, rp->in.vehicles[t->vehicle].id, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(ins, 7, t->number);
	sqlite3_bind_int64(ins, 8, (sqlite3_int64)stop + 1);
	sqlite3_bind_text(ins, 9, payload, -1, free);
	if ((rc = exec_bound(db, ins, "dispatch", err)) != 0)
		return rc;
	for (size_t i = 0; i < sp->nlines; i++) {
		sqlite3_bind_text(line, 1, dispatch_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(line, 2, sp->lines[i].item->code, -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(line, 3, sp->lines[i].qty);
		if ((rc = exec_bound(db, line, "dispatch line", err)) != 0)
			return rc;
	}
	return 0;
}

static int save_dispatches(sqlite3 *db, const char *plan_id,
			   const struct plan_input *in,
			   const struct plan_result *r, time_t now,
			   sl_error *err)
{
	sqlite3_stmt *ins = NULL, *line = NULL;
	int rc, number = 0;
	if ((rc = db_prepare(db, &ins,
			     "INSERT INTO dispatches (dispatch_id, plan_id,"
			     " shelter_id, municipality, depot_id, vehicle_id,"
			     " trip, stop, payload) VALUES"
			     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     err)) != 0 ||
	    (rc = db_prepare(db, &line,
			     "INSERT INTO dispatch_lines (dispatch_id, item, qty)"
			     " VALUES (?1, ?2, ?3)",
			     err)) != 0)
		goto out;
	for (size_t d = 0; d < r->n_routes; d++) {
		const struct route_plan *rp = r->routes[d];
		for (size_t t = 0; rp && t < rp->ntrips; t++)
			for (size_t k = 0; k < rp->trips[t].nstops; k++)
				if ((rc = save_stop(db, ins, line, plan_id,
						    ++number, in, rp,
						    &rp->trips[t], k, now,
						    err)) != 0)
					goto out;
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(line);
	return rc;
}

static int save_plan(hq_store *st, const char *plan_id,
		     const struct plan_opts *o, const struct plan_state *ps,
		     const struct plan_result *r, sl_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc = db_prepare(db, &s,
			    "INSERT INTO plans (plan_id, created_at,"
			    " created_by, horizon_h, status,"
			    " transport_unit_km, route_km)"
			    " VALUES (?1, ?2, ?3, ?4, 'draft', ?5, ?6)",
			    err);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, plan_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)o->now);
	sqlite3_bind_text(s, 3, o->who ? o->who : "unknown", -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, o->horizon_h);
	sqlite3_bind_double(s, 5, r->alloc->transport_unit_km);
	sqlite3_bind_double(s, 6, r->route_km);
	rc = exec_bound(db, s, "plan", err);
	sqlite3_finalize(s);
	const struct plan_input *in = &ps->in;
	if (rc == 0)
		rc = save_fills(db, plan_id, in, r->alloc, ps->unplaced,
				ps->n_unplaced, err);
	if (rc == 0)
		rc = save_dispatches(db, plan_id, in, r, o->now, err);
	return rc;
}

/* DIR/DEPOT-pick.csv, DIR/DEPOT-stops.csv and DIR/DEPOT.html. */
static int write_sheets(const struct plan_result *r, const char *dir,
			const char *plan_id, sl_error *err)
{
	char path[4096], title[200];
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return sl_error_set(err, SL_EIO, "%s: %s", dir, strerror(errno));
	for (size_t d = 0; d < r->n_routes; d++) {
		const struct route_plan *rp = r->routes[d];
		static const char *const kinds[] = { "pick.csv", "stops.csv",
						     "html" };
		for (int k = 0; rp && k < 3; k++) {
			snprintf(path, sizeof(path), "%s/%s%s%s", dir,
				 rp->in.depot->id, k < 2 ? "-" : ".", kinds[k]);
			FILE *f = fopen(path, "w");
			if (f == NULL)
				return sl_error_set(err, SL_EIO, "%s: %s", path,
						    strerror(errno));
			snprintf(title, sizeof(title), "%s: %s", plan_id,
				 rp->in.depot->name);
			int rc = k == 2 ? routeprint_html(rp, title, f, err)
				 : routeprint_csv(rp, k == 0 ? ROUTE_PICK_LIST
							     : ROUTE_STOP_LIST,
						  NULL, f, err);
			if (fclose(f) != 0 && rc == 0)
				rc = sl_error_set(err, SL_EIO, "%s: %s", path,
						  strerror(errno));
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int plan_create(hq_store *st, const catalog *items, const json_t *needs,
		const struct plan_opts *o, char plan_id[32], sl_error *err)
{
	struct plan_state s = { 0 };
	struct plan_result *r = NULL;
	int rc;
	s.in.items = items;
	if ((rc = load_depots(st, &s, err)) != 0 ||
	    (rc = load_stock(st, &s, err)) != 0 ||
	    (rc = load_needs(st, needs, o->now, &s, err)) != 0 ||
	    (rc = plan_compute(&s.in, &r, err)) != 0 ||
	    (rc = new_plan_id(st, o->now, plan_id, err)) != 0)
		goto out;
	if ((rc = store_begin(st, err)) != 0)
		goto out;
	if ((rc = save_plan(st, plan_id, o, &s, r, err)) != 0) {
		store_rollback(st);
		goto out;
	}
	if ((rc = store_commit(st, err)) != 0)
		goto out;
	if (o->sheets_dir)
		rc = write_sheets(r, o->sheets_dir, plan_id, err);
out:
	plan_result_free(r);
	state_free(&s);
	return rc;
}

int plan_rows(hq_store *st, const char *plan_id, json_t **rows,
	      sl_error *err)
{
	return picture_query(st,
			     "SELECT f.shelter_id, f.item, f.urgency, f.needed,"
			     " f.allocated, round(f.ratio, 4) AS ratio,"
			     " (SELECT group_concat(d.depot_id || ':' || l.qty,"
			     "   ' ') FROM dispatches d JOIN dispatch_lines l"
			     "   ON l.dispatch_id = d.dispatch_id"
			     "   WHERE d.plan_id = f.plan_id"
			     "   AND d.shelter_id = f.shelter_id"
			     "   AND l.item = f.item) AS shipped,"
			     " f.why FROM plan_fills f WHERE f.plan_id = ?1"
			     " ORDER BY f.shelter_id, f.item,"
			     " CASE f.urgency WHEN 'critical' THEN 0"
			     " WHEN 'high' THEN 1 ELSE 2 END",
			     plan_id, rows, err);
}

int plan_list(hq_store *st, json_t **rows, sl_error *err)
{
	return picture_query(st,
			     "SELECT p.plan_id, datetime(p.created_at,"
			     " 'unixepoch') || 'Z' AS created, p.created_by,"
			     " p.horizon_h, p.status, p.approved_by,"
			     " (SELECT count(*) FROM plan_fills f"
			     "   WHERE f.plan_id = p.plan_id) AS lines,"
			     " (SELECT count(*) FROM dispatches d"
			     "   WHERE d.plan_id = p.plan_id) AS dispatches,"
			     " round(p.route_km, 1) AS route_km"
			     " FROM plans p ORDER BY p.created_at, p.plan_id",
			     NULL, rows, err);
}
