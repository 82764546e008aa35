/*
 * surveycmd.c - the command line of the り災証明 damage survey, `hq survey
 * SUBCOMMAND ...`: the intake commands (imports, the counter, triage,
 * desk decisions, lists), one line each in `subcommands[]` below; the
 * field work (planning, recording, issuing) has its own table and parser
 * in survey_field.c (sfield_is_command, sfield_main).
 *
 * Personal fields (applicant, address, contact) are printed only with
 * --personal and a named person (--by), and every such export is a row
 * in survey_audit.  Nothing here publishes over MQTT.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvfile.h"
#include "hq.h"
#include "mem.h"

/* ---- arguments ---- */

/* Every option any subcommand takes; flags take no value. */
enum opt {
	O_FORMAT,
	O_BY,
	O_REASON,
	O_SOURCE,
	O_CONFIDENCE,
	O_WITHIN,
	O_THRESHOLD,
	O_UTC_OFFSET,
	O_STATE,
	O_LANE,
	O_LIMIT,
	O_APPLICATION,
	O_ID,
	O_APPLICANT,
	O_ADDRESS,
	O_CONTACT,
	O_BUILDING,
	O_LAT,
	O_LON,
	O_TIME,
	O_CONSENT_SELF, /* flags from here */
	O_SECOND_SURVEY,
	O_IN_SHELTER,
	O_PERSONAL,
	O_AGAIN,
	O_N
};
#define FIRST_FLAG O_CONSENT_SELF
/* designated, so that lines added to the enum cannot shift names */
static const char *const opt_names[O_N] = {
	[O_FORMAT] = "--format",
	[O_BY] = "--by",
	[O_REASON] = "--reason",
	[O_SOURCE] = "--source",
	[O_CONFIDENCE] = "--confidence",
	[O_WITHIN] = "--within",
	[O_THRESHOLD] = "--threshold",
	[O_UTC_OFFSET] = "--utc-offset",
	[O_STATE] = "--state",
	[O_LANE] = "--lane",
	[O_LIMIT] = "--limit",
	[O_APPLICATION] = "--application",
	[O_ID] = "--id",
	[O_APPLICANT] = "--applicant",
	[O_ADDRESS] = "--address",
	[O_CONTACT] = "--contact",
	[O_BUILDING] = "--building",
	[O_LAT] = "--lat",
	[O_LON] = "--lon",
	[O_TIME] = "--time",
	[O_CONSENT_SELF] = "--consent-self",
	[O_SECOND_SURVEY] = "--second-survey",
	[O_IN_SHELTER] = "--in-shelter",
	[O_PERSONAL] = "--personal",
	[O_AGAIN] = "--again",
};

#define MAX_POS 64
struct args {
	const char *cmd;
	const char *pos[MAX_POS];
	int npos;
	const char *v[O_N]; /* flags: "1" when given */
	enum view_format fmt;
};

struct subcommand {
	const char *name;
	int (*run)(const struct hq_config *cfg, struct args *a);
	int min_pos, max_pos;
	const char *options; /* the --options it takes, space separated */
	const char *usage;
};

static int allowed(const struct subcommand *sc, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = sc->options; (p = strstr(p, opt)) != NULL; p += n)
		if (p[n] == ' ' || p[n] == '\0')
			return 1;
	return 0;
}

static int parse_args(const struct subcommand *sc, int argc, char **argv,
		      struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->cmd = sc->name;
	for (int i = 1; i < argc; i++) {
		/* the field half and the other hq commands say --who */
		const char *name = strcmp(argv[i], "--who") == 0 ? "--by"
								  : argv[i];
		int o = 0;
		while (o < O_N && strcmp(name, opt_names[o]) != 0)
			o++;
		if (o == O_N && argv[i][0] != '-' && a->npos < MAX_POS) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (o == O_N || !allowed(sc, name) ||
		    (o < FIRST_FLAG && i + 1 >= argc)) {
			fprintf(stderr, "hq survey %s: unknown or incomplete "
					"option '%s'\nusage: hq survey %s\n",
				sc->name, argv[i], sc->usage);
			return 2;
		}
		a->v[o] = o < FIRST_FLAG ? argv[++i] : "1";
	}
	if (a->npos < sc->min_pos || a->npos > sc->max_pos) {
		fprintf(stderr, "usage: hq survey %s\n", sc->usage);
		return 2;
	}
	return hq_format_arg(a->v[O_FORMAT], &a->fmt);
}

/* --name VALUE as a number in lo..hi, def when not given; 2 if bad. */
static int number_arg(const struct args *a, enum opt o, double lo, double hi,
		      double def, double *out)
{
	*out = def;
	if (a->v[o] == NULL)
		return 0;
	if (building_number(a->v[o], lo, hi, out) != 0) {
		fprintf(stderr, "hq survey %s: %s: '%s' is not a number from "
				"%g to %g\n",
			a->cmd, opt_names[o], a->v[o], lo, hi);
		return 2;
	}
	return 0;
}

static int fail(const sl_error *err)
{
	fprintf(stderr, "hq survey: %s\n", err->text);
	return 1;
}

static hq_store *open_store(const struct hq_config *cfg, sl_error *err)
{
	return store_open(cfg->common.database, err);
}

static const char *who_of(const struct args *a)
{
	return a->v[O_BY] ? a->v[O_BY] : hq_login_name();
}

/* ---- imports ---- */

static int cmd_import_buildings(const struct hq_config *cfg, struct args *a)
{
	unsigned char *data = NULL;
	size_t len, added = 0, updated = 0;
	struct building_set *set = NULL;
	sl_error err;
	const char *path = a->pos[0];
	int rc = geo_read_file(path, &data, &len, &err);
	if (rc == 0)
		rc = building_parse(path, data, len, &set, &err);
	sl_free(data);
	hq_store *st = rc == 0 ? open_store(cfg, &err) : NULL;
	if (rc == 0 && st == NULL)
		rc = SL_EDB;
	if (rc == 0)
		rc = building_import(st, path, set, time(NULL), &added,
				     &updated, &err);
	if (rc == 0)
		printf("%s: %zu buildings (%zu new, %zu updated)\n", path,
		       set->n, added, updated);
	building_set_free(set);
	store_close(st);
	return rc ? fail(&err) : 0;
}

/* "+09:00" (or "+9", "-05:30") in minutes; INT_MIN when not given */
static int offset_arg(const struct args *a, int *out)
{
	const char *t = a->v[O_UTC_OFFSET];
	int h = 0, m = 0, n = 0;
	*out = INT_MIN;
	if (t == NULL)
		return 0;
	if ((t[0] != '+' && t[0] != '-') ||
	    (sscanf(t + 1, "%2d:%2d%n", &h, &m, &n) != 2 &&
	     sscanf(t + 1, "%2d%n", &h, &n) != 1) ||
	    t[1 + n] != '\0' || h > 14 || m > 59) {
		fprintf(stderr, "hq survey: --utc-offset: '%s' is not like "
				"+09:00\n",
			t);
		return 2;
	}
	*out = (t[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

static void print_result(const char *what, const struct application_result *r)
{
	printf("%s: %zu applications (%zu new, %zu already stored): matched "
	       "by id %zu, address %zu, nearest %zu; ambiguous %zu, unmatched "
	       "%zu; duplicates %zu\n",
	       what, r->rows, r->added, r->unchanged, r->by_id, r->by_address,
	       r->by_nearest, r->ambiguous, r->unmatched, r->duplicates);
}

static int app_opts(const struct args *a, struct application_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->who = who_of(a);
	o->now = time(NULL);
	int rc = number_arg(a, O_WITHIN, 0, 1000, 30, &o->within_m);
	return rc ? rc : offset_arg(a, &o->utc_offset_min);
}

static int cmd_import_applications(const struct hq_config *cfg,
				   struct args *a)
{
	struct application_opts o;
	struct application_result r;
	unsigned char *data = NULL;
	size_t len;
	sl_error err;
	int rc = app_opts(a, &o);
	if (rc != 0)
		return rc;
	if ((rc = csvfile_read(a->pos[0], &data, &len, &err)) != 0)
		return fail(&err);
	hq_store *st = open_store(cfg, &err);
	rc = st ? application_import(st, a->pos[0], data, len, &o, &r, &err)
		: SL_EDB;
	sl_free(data);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	print_result(a->pos[0], &r);
	return 0;
}

static int cmd_apply(const struct hq_config *cfg, struct args *a)
{
	struct application_opts o;
	struct application_result r;
	char id[32];
	sl_error err;
	struct application app = {
		.id = a->v[O_ID],
		.applicant = a->v[O_APPLICANT],
		.address = a->v[O_ADDRESS],
		.contact = a->v[O_CONTACT],
		.building_id = a->v[O_BUILDING],
		.consent_self = a->v[O_CONSENT_SELF] != NULL,
		.second_survey = a->v[O_SECOND_SURVEY] != NULL,
		.in_shelter = a->v[O_IN_SHELTER] != NULL,
		.ref = "counter",
		.lat = NAN,
		.lon = NAN,
	};
	int rc = app_opts(a, &o);
	if (rc == 0 && a->v[O_LAT])
		rc = number_arg(a, O_LAT, -90, 90, NAN, &app.lat);
	if (rc == 0 && a->v[O_LON])
		rc = number_arg(a, O_LON, -180, 180, NAN, &app.lon);
	if (rc != 0)
		return rc;
	app.applied_at = o.now;
	if (a->v[O_TIME] && application_time(a->v[O_TIME], o.utc_offset_min,
					     &app.applied_at, &err) != 0)
		return fail(&err);
	hq_store *st = open_store(cfg, &err);
	if (st == NULL)
		return fail(&err);
	if (app.id == NULL &&
	    (rc = application_next_id(st, id, sizeof(id), &err)) == 0)
		app.id = id;
	if (rc == 0)
		rc = application_store(st, &app, 1, &o, &r, &err);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	printf("%s: %s%s\n", app.id,
	       r.unchanged	 ? "already stored"
	       : r.by_id	 ? "matched by building id"
	       : r.by_address ? "matched by address"
	       : r.by_nearest ? "matched to the nearest building"
	       : r.ambiguous	 ? "several buildings could be meant: see hq "
			   "survey candidates"
			 : "no building matched",
	       r.duplicates ? "; a duplicate of an earlier application" : "");
	return 0;
}

static int cmd_import_drone(const struct hq_config *cfg, struct args *a)
{
	unsigned char *data = NULL;
	size_t len;
	struct drone_set *set = NULL;
	struct drone_result r;
	double conf, within;
	sl_error err;
	const char *path = a->pos[0];
	const char *slash = strrchr(path, '/');
	const char *source = a->v[O_SOURCE] ? a->v[O_SOURCE]
					    : slash ? slash + 1 : path;
	int rc = number_arg(a, O_CONFIDENCE, 0, 1, NAN, &conf);
	if (rc == 0)
		rc = number_arg(a, O_WITHIN, 0, 1000, 10, &within);
	if (rc != 0)
		return rc;
	rc = geo_read_file(path, &data, &len, &err);
	if (rc == 0)
		rc = drone_parse(path, data, len, conf, &set, &err);
	sl_free(data);
	hq_store *st = rc == 0 ? open_store(cfg, &err) : NULL;
	if (rc == 0)
		rc = st ? drone_import(st, source, path, set, within, time(NULL),
				       &r, &err)
			: SL_EDB;
	drone_set_free(set);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	printf("%s: source '%s': %zu features (%zu replaced), %zu matched to "
	       "buildings, %zu unmatched (hq survey unmatched)\n",
	       path, source, r.features, r.replaced, r.matched, r.unmatched);
	return 0;
}

/* ---- triage and desk decisions ---- */

static int cmd_triage(const struct hq_config *cfg, struct args *a)
{
	struct triage_counts c;
	double threshold;
	sl_error err;
	int rc = number_arg(a, O_THRESHOLD, 0, 1, 0.8, &threshold);
	if (rc != 0)
		return rc;
	hq_store *st = open_store(cfg, &err);
	if (st == NULL)
		return fail(&err);
	rc = triage_run(st, threshold, a->v[O_AGAIN] != NULL, who_of(a),
			time(NULL), &c, &err);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	printf("triaged %zu: photo %zu, self %zu, field %zu, interior %zu; "
	       "held %zu (ambiguous or duplicate)",
	       c.lanes[0] + c.lanes[1] + c.lanes[2] + c.lanes[3],
	       c.lanes[TRIAGE_PHOTO], c.lanes[TRIAGE_SELF],
	       c.lanes[TRIAGE_FIELD], c.lanes[TRIAGE_INTERIOR], c.held);
	if (a->v[O_AGAIN])
		printf("; unchanged %zu", c.unchanged);
	putchar('\n');
	return 0;
}

static int cmd_desk(const struct hq_config *cfg, struct args *a)
{
	sl_error err;
	int approve = strcmp(a->cmd, "approve") == 0, rc = 0;
	if (a->v[O_BY] == NULL) {
		fprintf(stderr, "hq survey %s: who decides? (--by NAME)\n",
			a->cmd);
		return 2;
	}
	hq_store *st = open_store(cfg, &err);
	if (st == NULL)
		return fail(&err);
	for (int i = 0; i < a->npos && rc == 0; i++) {
		rc = approve ? triage_approve(st, a->pos[i], a->v[O_BY],
					      time(NULL), &err)
			     : triage_reject(st, a->pos[i], a->v[O_BY],
					     a->v[O_REASON], time(NULL), &err);
		if (rc == 0)
			printf("%s: %s by %s\n", a->pos[i],
			       approve ? "approved" : "sent to a field survey",
			       a->v[O_BY]);
	}
	store_close(st);
	return rc ? fail(&err) : 0;
}

static int cmd_match(const struct hq_config *cfg, struct args *a)
{
	sl_error err;
	if (a->v[O_BY] == NULL) {
		fprintf(stderr, "hq survey match: who decides? (--by NAME)\n");
		return 2;
	}
	hq_store *st = open_store(cfg, &err);
	int rc = st ? application_set_building(st, a->pos[0], a->pos[1],
					       a->v[O_BY], time(NULL), &err)
		    : SL_EDB;
	store_close(st);
	if (rc != 0)
		return fail(&err);
	printf("%s: building %s, decided by %s\n", a->pos[0], a->pos[1],
	       a->v[O_BY]);
	return 0;
}

/* ---- lists ---- */

static int show(const struct hq_config *cfg, const struct args *a,
		const char *sql, const char *param,
		const struct view_column *cols, size_t ncols)
{
	json_t *rows = NULL;
	sl_error err;
	hq_store *st = open_store(cfg, &err);
	int rc = st ? picture_query(st, sql, param, &rows, &err) : SL_EDB;
	if (rc == 0)
		rc = view_render(rows, cols, ncols, a->fmt, stdout, &err);
	json_decref(rows);
	store_close(st);
	return rc ? fail(&err) : 0;
}

#define APP_COLUMNS                                                           \
	"application_id, building_id, matched_by, strftime('%Y-%m-%dT%H:%M:%SZ'," \
	" applied_at, 'unixepoch') AS applied_at, consent_self, second_survey,"  \
	" in_shelter, duplicate_of, lane, state, grade, approved_by, lane_reason"
static const struct view_column app_cols[] = {
	{ "application_id", "application", 12 },
	{ "building_id", "building", 12 },
	{ "matched_by", "matched", 10 },
	{ "duplicate_of", "duplicate of", 12 },
	{ "lane", "lane", 9 },
	{ "state", "state", 10 },
	{ "lane_reason", "why", 0 },
};
static const struct view_column personal_cols[] = {
	{ "application_id", "application", 12 },
	{ "applicant", "applicant", 16 },
	{ "address", "address", 30 },
	{ "contact", "contact", 14 },
	{ "building_id", "building", 12 },
	{ "lane", "lane", 9 },
	{ "state", "state", 0 },
};

/* --state and --lane as one GLOB over "state/lane" (picture_query binds
 * one parameter); values are checked so they hold no GLOB characters. */
static int filter_arg(const struct args *a, char *out, size_t cap)
{
	static const char *const states =
		" received triaged ready locked surveyed validated invalidated "
		"issued appealed ";
	static const char *const lanes = " photo self field interior ";
	char probe[40];
	const char *st = a->v[O_STATE], *ln = a->v[O_LANE];
	snprintf(probe, sizeof(probe), " %s ", st ? st : "received");
	int ok = strlen(st ? st : "") < 20 && strstr(states, probe);
	snprintf(probe, sizeof(probe), " %s ", ln ? ln : "self");
	if (!ok || strlen(ln ? ln : "") >= 20 || !strstr(lanes, probe)) {
		fprintf(stderr, "hq survey applications: --state is one of%s"
				"and --lane one of%s\n",
			states, lanes);
		return 2;
	}
	snprintf(out, cap, "%s/%s", st ? st : "*", ln ? ln : "*");
	return 0;
}

static int cmd_applications(const struct hq_config *cfg, struct args *a)
{
	char filter[48];
	sl_error err;
	int rc = filter_arg(a, filter, sizeof(filter));
	if (rc != 0)
		return rc;
	if (!a->v[O_PERSONAL])
		return show(cfg, a,
			    "SELECT " APP_COLUMNS " FROM applications WHERE"
			    " state || '/' || coalesce(lane, '') GLOB ?1"
			    " ORDER BY application_id",
			    filter, app_cols,
			    sizeof(app_cols) / sizeof(app_cols[0]));
	if (a->v[O_BY] == NULL) {
		fprintf(stderr, "hq survey applications: --personal exports "
				"applicants' personal data: say who takes it "
				"(--by NAME); it is logged\n");
		return 2;
	}
	/* the export is logged before anything is printed */
	char detail[160];
	snprintf(detail, sizeof(detail), "applications --personal, filter %s",
		 filter);
	hq_store *st = open_store(cfg, &err);
	rc = st ? store_begin(st, &err) : SL_EDB;
	if (rc == 0 && (rc = application_audit(st, time(NULL), a->v[O_BY],
					       "export-personal", NULL, detail,
					       &err)) == 0)
		rc = store_commit(st, &err);
	else if (st)
		store_rollback(st);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	return show(cfg, a,
		    "SELECT applicant, address, contact, " APP_COLUMNS
		    " FROM applications WHERE"
		    " state || '/' || coalesce(lane, '') GLOB ?1"
		    " ORDER BY application_id",
		    filter, personal_cols,
		    sizeof(personal_cols) / sizeof(personal_cols[0]));
}

static int cmd_candidates(const struct hq_config *cfg, struct args *a)
{
	static const struct view_column cols[] = {
		{ "application_id", "application", 12 },
		{ "building_id", "building", 12 },
		{ "distance_m", "metres", 8 },
		{ "why", "why", 0 },
	};
	return show(cfg, a,
		    "SELECT c.application_id, c.building_id, c.distance_m, c.why"
		    " FROM application_candidates c JOIN applications a"
		    " USING (application_id) WHERE a.matched_by = 'ambiguous'"
		    " ORDER BY c.application_id, c.distance_m, c.building_id",
		    NULL, cols, sizeof(cols) / sizeof(cols[0]));
}

static int cmd_unmatched(const struct hq_config *cfg, struct args *a)
{
	static const struct view_column cols[] = {
		{ "source", "source", 20 },   { "feature_id", "feature", 14 },
		{ "damage", "damage", 14 },   { "confidence", "conf", 6 },
		{ "lat", "lat", 11 },	      { "lon", "lon", 12 },
		{ "source_ref", "ref", 0 },
	};
	return show(cfg, a,
		    "SELECT source, feature_id, damage, confidence, lat, lon,"
		    " source_ref FROM drone_features WHERE building_id IS NULL"
		    " AND (?1 IS NULL OR source = ?1) ORDER BY source,"
		    " feature_id",
		    a->v[O_SOURCE], cols, sizeof(cols) / sizeof(cols[0]));
}

static int cmd_audit(const struct hq_config *cfg, struct args *a)
{
	static const struct view_column cols[] = {
		{ "at", "at", 21 },	     { "who", "who", 12 },
		{ "action", "action", 16 },  { "application_id", "application", 12 },
		{ "detail", "detail", 0 },
	};
	return show(cfg, a,
		    "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch') AS at,"
		    " who, action, application_id, detail FROM survey_audit"
		    " WHERE ?1 IS NULL OR application_id = ?1 ORDER BY id",
		    a->v[O_APPLICATION], cols, sizeof(cols) / sizeof(cols[0]));
}

/* ---- the table ---- */

static const struct subcommand subcommands[] = {
	{ "import-buildings", cmd_import_buildings, 1, 1, "",
	  "import-buildings FILE (GeoJSON or CSV)" },
	{ "import-applications", cmd_import_applications, 1, 1,
	  "--within --utc-offset --by",
	  "import-applications FILE.csv [--within M] [--utc-offset +09:00] "
	  "[--by NAME]" },
	{ "apply", cmd_apply, 0, 0,
	  "--id --applicant --address --contact --building --lat --lon --time "
	  "--consent-self --second-survey --in-shelter --within --utc-offset "
	  "--by",
	  "apply --applicant NAME (--address TEXT | --building ID) [--contact "
	  "TEXT] [--lat DEG --lon DEG] [--time T] [--consent-self] "
	  "[--second-survey] [--in-shelter] [--id ID] [--by NAME]" },
	{ "import-drone", cmd_import_drone, 1, 1,
	  "--source --confidence --within",
	  "import-drone FILE (GeoJSON or xBD JSON) [--source NAME] "
	  "[--confidence 0..1] [--within M]" },
	{ "triage", cmd_triage, 0, 0, "--threshold --again --by",
	  "triage [--threshold 0.8] [--again] [--by NAME]" },
	{ "approve", cmd_desk, 1, MAX_POS, "--by",
	  "approve APPLICATION... --by NAME" },
	{ "reject", cmd_desk, 1, MAX_POS, "--by --reason",
	  "reject APPLICATION... --by NAME --reason TEXT" },
	{ "match", cmd_match, 2, 2, "--by",
	  "match APPLICATION BUILDING --by NAME" },
	{ "applications", cmd_applications, 0, 0,
	  "--state --lane --personal --by --format",
	  "applications [--state S] [--lane L] [--personal --by NAME] "
	  "[--format table|csv|json]" },
	{ "candidates", cmd_candidates, 0, 0, "--format",
	  "candidates [--format ...]  (ambiguous matches)" },
	{ "unmatched", cmd_unmatched, 0, 0, "--source --format",
	  "unmatched [--source NAME] [--format ...]  (imagery without a "
	  "building)" },
	{ "audit", cmd_audit, 0, 0, "--application --format",
	  "audit [--application ID] [--format ...]" },
};
#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void survey_usage(FILE *out)
{
	fprintf(out, "usage: hq survey SUBCOMMAND\n");
	for (size_t i = 0; i < NSUB; i++)
		fprintf(out, "  hq survey %s\n", subcommands[i].usage);
	sfield_usage(out); /* field planning and certificates */
}

int surveycmd_main(const struct hq_config *cfg, int argc, char **argv)
{
	struct args a;
	if (argc < 2) {
		survey_usage(stderr);
		return 2;
	}
	/* survey_field.c parses its own: --start repeats */
	if (sfield_is_command(argv[1]))
		return sfield_main(cfg, argc - 1, argv + 1);
	for (size_t i = 0; i < NSUB; i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		int rc = parse_args(&subcommands[i], argc - 1, argv + 1, &a);
		return rc ? rc : subcommands[i].run(cfg, &a);
	}
	fprintf(stderr, "hq survey: unknown subcommand '%s'\n", argv[1]);
	survey_usage(stderr);
	return 2;
}
