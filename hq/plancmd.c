/*
 * plancmd.c - the command line of plans and dispatch:
 *   hq plan [--horizon 24h|3d|HOURS] [--sheets DIR] [--format ...]
 *   hq plan show PLAN [--format ...]
 *   hq plans [--format ...]
 *   hq dispatch approve PLAN [--who NAME] [--timeout S]
 *   hq dispatch send [PLAN] [--timeout S]
 *   hq dispatch status [PLAN] [--format ...]
 *   hq scenario kashiwazaki|kumamoto|national [--seed N]
 * A plan is made from the needs estimate (estimate.c) and stored as a
 * draft; nothing moves until an operator approves it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

/* The value after flag among argv's "--flag value" pairs, or NULL; an
 * unknown flag or one without a value makes *bad point at it. */
static const char *opt(int argc, char **argv, const char *flag,
		       const char *const *known, const char **bad)
{
	const char *v = NULL;
	for (int i = 0; i < argc; i += 2) {
		int ok = 0;
		for (size_t k = 0; known[k]; k++)
			ok |= strcmp(argv[i], known[k]) == 0;
		if (!ok || i + 1 >= argc)
			*bad = argv[i];
		else if (strcmp(argv[i], flag) == 0)
			v = argv[i + 1];
	}
	return v;
}

/* "24h", "3d" or a number of hours: 1 to 168. */
static int horizon_arg(const char *text, double *hours)
{
	char *end;
	*hours = 24;
	if (text == NULL)
		return 0;
	errno = 0;
	double v = strtod(text, &end);
	if (end != text && strcmp(end, "d") == 0)
		v *= 24;
	else if (end == text || (*end && strcmp(end, "h") != 0))
		v = -1;
	if (errno || !(v >= 1 && v <= 168)) {
		fprintf(stderr, "hq plan: --horizon '%s': hours (24h) or days "
				"(3d) from 1 h to 7 days\n",
			text);
		return 2;
	}
	*hours = v;
	return 0;
}

static const struct view_column fill_cols[] = {
	{ "shelter_id", "SHELTER", 14 }, { "item", "ITEM", 18 },
	{ "urgency", "URGENCY", 9 },	 { "needed", "NEEDED", 8 },
	{ "allocated", "GIVEN", 8 },	 { "ratio", "FILL", 7 },
	{ "shipped", "FROM", 14 },	 { "why", "WHY", 0 },
};
static const struct view_column plan_cols[] = {
	{ "plan_id", "PLAN", 20 },	 { "created", "CREATED", 21 },
	{ "status", "STATUS", 9 },	 { "horizon_h", "HOURS", 6 },
	{ "lines", "LINES", 6 },	 { "dispatches", "ORDERS", 7 },
	{ "route_km", "KM", 9 },	 { "created_by", "BY", 0 },
};
static const struct view_column status_cols[] = {
	{ "dispatch_id", "DISPATCH", 26 }, { "shelter_id", "SHELTER", 14 },
	{ "depot_id", "DEPOT", 10 },	   { "vehicle_id", "VEHICLE", 10 },
	{ "item", "ITEM", 18 },		   { "sent", "SENT", 7 },
	{ "delivered", "GOT", 7 },	   { "difference", "DIFF", 6 },
	{ "status", "STATUS", 0 },
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static int show(int rc, json_t *rows, const struct view_column *cols,
		size_t n, enum view_format fmt, sl_error *err)
{
	if (rc == 0)
		rc = view_render(rows, cols, n, fmt, stdout, err);
	json_decref(rows);
	return rc;
}

static int make_plan(const struct hq_config *cfg, hq_store *st,
		     const catalog *items, int argc, char **argv,
		     sl_error *err)
{
	static const char *const known[] = { "--horizon", "--sheets",
					     "--format", NULL };
	const char *bad = NULL;
	const char *horizon = opt(argc, argv, "--horizon", known, &bad);
	const char *sheets = opt(argc, argv, "--sheets", known, &bad);
	const char *format = opt(argc, argv, "--format", known, &bad);
	struct plan_opts po = { time(NULL), 24, hq_login_name(), sheets };
	enum view_format fmt;
	char plan_id[32];
	json_t *needs = NULL, *rows = NULL;
	int rc;
	if (bad) {
		fprintf(stderr, "hq plan: unknown or incomplete option '%s'\n",
			bad);
		return 2;
	}
	if ((rc = horizon_arg(horizon, &po.horizon_h)) != 0 ||
	    (rc = hq_format_arg(format, &fmt)) != 0)
		return rc;
	struct norms *norms = hq_load_norms(cfg, items, err);
	if (norms == NULL)
		return SL_EINVAL;
	struct estimate_opts eo = { po.now, po.horizon_h };
	rc = estimate_needs(st, items, norms, &eo, &needs, err);
	norms_free(norms);
	if (rc == 0 && json_array_size(needs) == 0) {
		fprintf(stderr, "hq plan: nothing to plan: no open shelter needs "
				"anything over %g h (see hq estimate)\n",
			po.horizon_h);
		json_decref(needs);
		return 0;
	}
	if (rc == 0)
		rc = plan_create(st, items, needs, &po, plan_id, err);
	json_decref(needs);
	if (rc != 0)
		return rc;
	rc = plan_rows(st, plan_id, &rows, err);
	fprintf(stderr, "plan %s (draft, %g h): approve with hq dispatch "
			"approve %s\n",
		plan_id, po.horizon_h, plan_id);
	return show(rc, rows, fill_cols, NCOLS(fill_cols), fmt, err);
}

static int plan_cmd(const struct hq_config *cfg, hq_store *st,
		    const catalog *items, int argc, char **argv,
		    sl_error *err)
{
	static const char *const known[] = { "--format", NULL };
	const char *bad = NULL;
	enum view_format fmt;
	json_t *rows = NULL;
	int rc;
	if (strcmp(argv[0], "plans") == 0 || (argc > 1 &&
					      strcmp(argv[1], "show") == 0)) {
		int show_one = strcmp(argv[0], "plan") == 0;
		if (show_one && argc < 3) {
			fprintf(stderr, "hq plan show: use hq plan show PLAN\n");
			return 2;
		}
		int at = show_one ? 3 : 1;
		const char *format = opt(argc - at, argv + at, "--format",
					 known, &bad);
		if (bad) {
			fprintf(stderr, "hq %s: unknown or incomplete option "
					"'%s'\n",
				argv[0], bad);
			return 2;
		}
		if ((rc = hq_format_arg(format, &fmt)) != 0)
			return rc;
		if (!show_one) {
			rc = plan_list(st, &rows, err);
			return show(rc, rows, plan_cols, NCOLS(plan_cols), fmt,
				    err);
		}
		rc = plan_rows(st, argv[2], &rows, err);
		if (rc == 0 && json_array_size(rows) == 0)
			rc = sl_error_set(err, SL_ENOTFOUND,
					  "no plan '%s' (see hq plans)", argv[2]);
		return show(rc, rows, fill_cols, NCOLS(fill_cols), fmt, err);
	}
	return make_plan(cfg, st, items, argc - 1, argv + 1, err);
}

static int timeout_arg(const char *text, int *out)
{
	char *end;
	long v = text ? strtol(text, &end, 10) : 30;
	if (text && (end == text || *end || v < 1 || v > 3600)) {
		fprintf(stderr, "hq dispatch: --timeout '%s': seconds, 1 to "
				"3600\n",
			text);
		return 2;
	}
	*out = (int)v;
	return 0;
}

static int send_orders(const struct hq_config *cfg, hq_store *st,
		       const char *plan_id, const char *timeout,
		       sl_error *err)
{
	size_t sent, pending;
	int secs, rc;
	if ((rc = timeout_arg(timeout, &secs)) != 0)
		return rc;
	rc = dispatch_send(cfg, st, plan_id, secs, &sent, &pending, err);
	printf("%zu dispatch orders sent", sent);
	if (pending)
		printf(", %zu not yet (hq dispatch send %s)", pending,
		       plan_id ? plan_id : "");
	printf("\n");
	return rc;
}

static int dispatch_cmd(const struct hq_config *cfg, hq_store *st,
			const catalog *items, int argc, char **argv,
			sl_error *err)
{
	static const char *const known[] = { "--who", "--timeout", "--format",
					     NULL };
	const char *sub = argc > 1 ? argv[1] : "";
	/* the plan id is optional for send and status */
	int at = argc > 2 && strncmp(argv[2], "--", 2) != 0 ? 3 : 2;
	const char *plan_id = at == 3 ? argv[2] : NULL;
	const char *bad = NULL;
	const char *who = opt(argc - at, argv + at, "--who", known, &bad);
	const char *timeout = opt(argc - at, argv + at, "--timeout", known,
				  &bad);
	const char *format = opt(argc - at, argv + at, "--format", known, &bad);
	enum view_format fmt;
	json_t *rows = NULL;
	int rc;
	if (bad) {
		fprintf(stderr, "hq dispatch: unknown or incomplete option "
				"'%s'\n",
			bad);
		return 2;
	}
	if (strcmp(sub, "approve") == 0 && plan_id) {
		if ((rc = dispatch_approve(st, items, plan_id,
					   who ? who : hq_login_name(),
					   time(NULL), err)) != 0)
			return rc;
		printf("plan %s approved: stock taken out of the depots\n",
		       plan_id);
		return send_orders(cfg, st, plan_id, timeout, err);
	}
	if (strcmp(sub, "send") == 0)
		return send_orders(cfg, st, plan_id, timeout, err);
	if (strcmp(sub, "status") == 0) {
		if ((rc = hq_format_arg(format, &fmt)) != 0)
			return rc;
		rc = dispatch_status(st, plan_id, &rows, err);
		return show(rc, rows, status_cols, NCOLS(status_cols), fmt,
			    err);
	}
	fprintf(stderr, "hq dispatch: use hq dispatch approve PLAN, "
			"hq dispatch send [PLAN] or hq dispatch status [PLAN]\n");
	return 2;
}

/* A synthetic event into the database: for drills and benchmarks. */
static int scenario_cmd(const struct hq_config *cfg, hq_store *st,
			const catalog *items, int argc, char **argv,
			sl_error *err)
{
	static const char *const known[] = { "--seed", NULL };
	const char *bad = NULL;
	const char *seed_text = argc > 2 ? opt(argc - 2, argv + 2, "--seed",
					       known, &bad)
					 : NULL;
	struct scenario *sc;
	char *end = NULL;
	unsigned long long seed = seed_text ? strtoull(seed_text, &end, 10) : 1;
	if (argc < 2 || bad || (seed_text && (end == seed_text || *end))) {
		fprintf(stderr, "hq scenario: use hq scenario kashiwazaki|"
				"kumamoto|national [--seed N]\n");
		return 2;
	}
	int rc = scenario_make(items, argv[1], seed, &sc, err);
	if (rc != 0)
		return rc;
	rc = scenario_load(st, sc, cfg->common.municipality, seed, time(NULL),
			   err);
	if (rc == 0)
		printf("scenario %s, seed %llu: %zu shelters, %zu need lines, "
		       "%zu depots, %zu trucks\n",
		       sc->scale, seed, sc->in.n_shelters, sc->in.n_needs,
		       sc->in.n_depots, sc->in.n_vehicles);
	scenario_free(sc);
	return rc;
}

int plancmd_main(const struct hq_config *cfg, int argc, char **argv)
{
	sl_error err = { "" };
	catalog *items = NULL;
	int rc;
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL || (items = hq_load_items(cfg, &err)) == NULL)
		rc = SL_EINVAL;
	else if (strcmp(argv[0], "dispatch") == 0)
		rc = dispatch_cmd(cfg, st, items, argc, argv, &err);
	else if (strcmp(argv[0], "scenario") == 0)
		rc = scenario_cmd(cfg, st, items, argc, argv, &err);
	else
		rc = plan_cmd(cfg, st, items, argc, argv, &err);
	catalog_free(items);
	store_close(st);
	if (rc != 0 && rc != 2) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	return rc;
}
