/*
 * main.c - hq's command line: configuration, then one command.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "hq.h"
#include "log.h"

static const struct conf_option hq_options[] = {
	CONF_COMMON_OPTIONS(struct hq_config, common),
	{ "batch_max", CONF_INT, "500", 1, 100000, 0,
	  offsetof(struct hq_config, batch_max),
	  "most messages stored in one transaction" },
	{ "batch_wait_ms", CONF_INT, "20", 0, 10000, 0,
	  offsetof(struct hq_config, batch_wait_ms),
	  "how long a batch waits for more messages" },
	{ "inbox", CONF_STRING, NULL, 0, 4096, 0,
	  offsetof(struct hq_config, inbox),
	  "where `run` keeps what it received and has not processed yet "
	  "(default: the database's path with .inbox)" },
	{ "intake_max", CONF_INT, "8192", 16, 1000000, 0,
	  offsetof(struct hq_config, intake_max),
	  "messages received and not yet in the inbox before hq stops reading" },
	{ "ack_interval_ms", CONF_INT, "250", 0, 10000, 0,
	  offsetof(struct hq_config, ack_interval_ms),
	  "least time between two acknowledgements to one shelter (latest value)" },
	{ "session_expiry_s", CONF_INT, "604800", 0, 4294967295LL, 0,
	  offsetof(struct hq_config, session_expiry_s),
	  "how long the broker keeps hq's queue while hq is away (MQTT 5)" },
	{ "stale_after_s", CONF_INT, "43200", 60, 31536000, 0,
	  offsetof(struct hq_config, stale_after_s),
	  "a shelter with no report for longer is listed as stale" },
	{ "client_id", CONF_STRING, NULL, 0, 23, 0,
	  offsetof(struct hq_config, client_id),
	  "MQTT client id (default sl-hq-MUNICIPALITY); unique per hq process" },
	{ "shared_group", CONF_STRING, NULL, 0, 64, 0,
	  offsetof(struct hq_config, shared_group),
	  "split ingest between hq processes: MQTT 5 $share/GROUP/... subscriptions" },
	{ "feed_file", CONF_STRING, NULL, 0, 1024, 0,
	  offsetof(struct hq_config, feed_file),
	  "where `run` writes the public feed (JSON); it always publishes it" },
	{ "feed_credit", CONF_STRING, NULL, 0, 1000, 0,
	  offsetof(struct hq_config, feed_credit),
	  "data credit the public feed carries (CC BY sources)" },
	{ "feed_interval_s", CONF_INT, "60", 1, 86400, 0,
	  offsetof(struct hq_config, feed_interval_s),
	  "least time between two public feeds" },
	{ "shelter_rate", CONF_INT, "20", 1, 100000, 0,
	  offsetof(struct hq_config, shelter_rate),
	  "messages per second one shelter may send; more waits for resend" },
	{ "shelter_burst", CONF_INT, "2000", 1, 1000000, 0,
	  offsetof(struct hq_config, shelter_burst),
	  "messages one shelter may send at once (a backlog after an outage)" },
	{ "norms_file", CONF_STRING, SL_DATA_DIR "/norms.json", 0, 4096, 0,
	  offsetof(struct hq_config, norms_file),
	  "needs norms per person and day or stay (hq norms; hq estimate)" },
};
#define NOPTIONS (sizeof(hq_options) / sizeof(hq_options[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hq [-c FILE] [-n] COMMAND\n"
		"\n"
		"commands:\n"
		"  run                          ingest shelter messages (daemon)\n"
		"  shelters [--format table|csv|json|geojson]\n"
		"                               every shelter: status, headcount,\n"
		"                               capacity, occupancy, open needs\n"
		"  shelter ID [--format table|csv|json|geojson]\n"
		"                               one shelter: history, needs, messages\n"
		"  needs [--by item|shelter] [--urgency critical|high|normal]\n"
		"        [--format table|csv|json]\n"
		"                               open needs of the shelters not closed\n"
		"  open ID, close ID            an operator opens or closes a shelter\n"
		"  import-shelters FILE [--skip-bad]\n"
		"                               the official shelter list (opendata or\n"
		"                               GSI CSV) into the registry\n"
		"  feed [--output FILE]         the public feed (JSON) of open shelters\n"
		"  depot add ID --name NAME --lat DEG --lon DEG\n"
		"  depots [--format ...]        depots, their vehicles and capacity\n"
		"  vehicle add ID --depot DEPOT --max-kg KG --max-l LITRES [--name N]\n"
		"  stock [--depot DEPOT] [--format ...]   stock on hand\n"
		"  stock adjust DEPOT ITEM [+-]QTY --why TEXT [--who NAME]\n"
		"  stock ledger [--limit N] [--format ...]  who changed what, why\n"
		"  stock import FILE.csv [--why TEXT] [--who NAME]\n"
		"                               depot,item,qty[,why] rows,\n"
		"                               all or none\n"
		"  timeline [--format table|csv|json]  people and shelters per report time\n"
		"  norms [--format table|csv|json]  needs norms and their sources\n"
		"  norms set ITEM GROUP QTY --source TEXT [--per day|stay] [--note TEXT]\n"
		"                               change one norm (QTY units per member\n"
		"                               of GROUP per day, or held per stay)\n"
		"  estimate [--horizon 24h|3d|...] [--format table|csv|json]\n"
		"                               needs per shelter and item: norms x\n"
		"                               headcount - stock, or the request\n"
		"  plan [--horizon 24h|3d] [--sheets DIR] [--format ...]\n"
		"                               a draft plan: who gets what from where,\n"
		"                               and each truck's pick and stop lists\n"
		"  plan show PLAN, plans        a plan's lines and why; every plan\n"
		"  dispatch approve PLAN [--who NAME] [--timeout S]\n"
		"                               take the goods out of stock and send\n"
		"                               each shelter its dispatch orders\n"
		"  dispatch send [PLAN] [--timeout S]\n"
		"                               send orders the broker has not taken yet\n"
		"  dispatch status [PLAN] [--format ...]\n"
		"                               sent against delivered, per order line\n"
		"  scenario kashiwazaki|kumamoto|national [--seed N]\n"
		"                               a synthetic event into the database:\n"
		"                               depots, trucks, stock, shelter reports\n"
		"  survey SUBCOMMAND ...        the り災証明 damage survey: import\n"
		"                               buildings, applications and drone\n"
		"                               imagery, triage, desk approval\n"
		"                               (hq survey lists the subcommands)\n"
		"\n"
		"options:\n"
		"  -c FILE   configuration file (default /etc/shelterlink/hq.conf)\n"
		"  -n        check the configuration and exit\n"
		"  -h        this help\n"
		"\n"
		"configuration keys (key = value):\n");
	conf_help(hq_options, NOPTIONS, out);
}

/* Options shared by the views; anything else is a usage error. */
struct view_args {
	enum view_format fmt;
	const char *by, *urgency, *id;
};

static int parse_view_args(const char *cmd, int argc, char **argv,
			   int want_id, struct view_args *a)
{
	*a = (struct view_args){ .fmt = VIEW_TABLE, .by = "item" };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(arg, "--format") == 0 && val) {
			if (view_format_parse(val, &a->fmt) != 0) {
				fprintf(stderr, "hq %s: --format: '%s' is not "
						"table, csv, json or geojson\n",
					cmd, val);
				return 2;
			}
			i++;
		} else if (strcmp(cmd, "needs") == 0 &&
			   strcmp(arg, "--by") == 0 && val &&
			   (strcmp(val, "item") == 0 ||
			    strcmp(val, "shelter") == 0)) {
			a->by = argv[++i];
		} else if (strcmp(cmd, "needs") == 0 &&
			   strcmp(arg, "--urgency") == 0 && val &&
			   (strcmp(val, "critical") == 0 ||
			    strcmp(val, "high") == 0 ||
			    strcmp(val, "normal") == 0)) {
			a->urgency = argv[++i];
		} else if (want_id && a->id == NULL && arg[0] != '-') {
			a->id = arg;
		} else {
			fprintf(stderr, "hq %s: unknown or incomplete argument "
					"'%s' (see hq -h)\n",
				cmd, arg);
			return 2;
		}
	}
	if (want_id && a->id == NULL) {
		fprintf(stderr, "hq %s: which shelter? (hq %s ID)\n", cmd, cmd);
		return 2;
	}
	return 0;
}

static int fail(const sl_error *err)
{
	fprintf(stderr, "hq: %s\n", err->text);
	return 1;
}


/* shelters, shelter ID, needs: read-only views of the database. */
static int cmd_view(const struct hq_config *cfg, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct view_args a;
	struct picture_opts o = { time(NULL), cfg->stale_after_s };
	sl_error err;
	catalog *items = NULL;
	int rc = parse_view_args(cmd, argc, argv, strcmp(cmd, "shelter") == 0,
				 &a);
	if (rc != 0)
		return rc;
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL)
		return fail(&err);
	if (strcmp(cmd, "shelters") == 0) {
		rc = view_shelters(st, &o, a.fmt, stdout, &err);
	} else if (strcmp(cmd, "shelter") == 0) {
		rc = view_shelter(st, a.id, &o, a.fmt, stdout, &err);
	} else {
		items = hq_load_items(cfg, &err);
		rc = items ? view_needs(st, items, strcmp(a.by, "shelter") == 0,
					a.urgency, a.fmt, stdout, &err)
			   : SL_EINVAL;
	}
	catalog_free(items);
	store_close(st);
	return rc ? fail(&err) : 0;
}

/* feed [--output FILE] */
static int cmd_feed(const struct hq_config *cfg, int argc, char **argv)
{
	struct picture_opts o = { time(NULL), cfg->stale_after_s };
	const char *path = NULL;
	json_t *feed = NULL;
	sl_error err;

	if (argc == 3 && strcmp(argv[1], "--output") == 0) {
		path = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "hq feed: use hq feed [--output FILE]\n");
		return 2;
	}
	catalog *items = hq_load_items(cfg, &err);
	hq_store *st = items ? store_open(cfg->common.database, &err) : NULL;
	int rc = st ? feed_build(st, items, cfg->common.municipality,
				 cfg->feed_credit, &o, &feed, &err)
		    : SL_EINVAL;
	if (rc == 0 && path)
		rc = feed_write(feed, path, &err);
	else if (rc == 0)
		rc = json_dumpf(feed, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
						      JSON_REAL_PRECISION(12)) ||
		     putchar('\n') == EOF;
	json_decref(feed);
	store_close(st);
	catalog_free(items);
	return rc ? fail(&err) : 0;
}

/* timeline [--format table|csv|json] */
static int cmd_timeline(const struct hq_config *cfg, int argc, char **argv)
{
	struct view_args a;
	sl_error err;
	int rc = parse_view_args(argv[0], argc, argv, 0, &a);
	if (rc != 0)
		return rc;
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL)
		return fail(&err);
	rc = timeline_view(st, a.fmt, stdout, &err);
	store_close(st);
	return rc ? fail(&err) : 0;
}

/* open ID, close ID */
static int cmd_operator(const struct hq_config *cfg, int argc, char **argv)
{
	sl_error err;
	int open = strcmp(argv[0], "open") == 0;
	if (argc != 2) {
		fprintf(stderr, "hq %s: takes one shelter id\n", argv[0]);
		return 2;
	}
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL)
		return fail(&err);
	int rc = store_set_operator_state(st, argv[1], open, time(NULL), &err);
	store_close(st);
	if (rc != 0)
		return fail(&err);
	printf("%s %s\n", argv[1], open ? "opened" : "closed");
	return 0;
}

/*
 * Checks what the table cannot.  The municipality code's shape is the
 * schema's rule: validate the presence message hq would send rather than
 * restate it.  The schemas, the item catalogue and the norms must load
 * too.
 */
static int check_config(const void *arg, const char *path, sl_error *err)
{
	const struct hq_config *cfg = arg;
	int rc;
	schema_set *set = schema_set_open(cfg->common.schemas, err);
	if (set == NULL)
		return SL_EINVAL;
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", 1, "type",
			      "hq_state", "municipality", cfg->common.municipality,
			      "state", "online", "time", "2024-01-01T00:00:00Z",
			      "hq_version", SL_VERSION);
	if ((rc = schema_validate(set, "hq_state", m, err)) != 0)
		sl_error_prefix(err, "%s: municipality '%s' not acceptable", path,
				cfg->common.municipality);
	if (rc == 0) {
		catalog *items = catalog_load(cfg->common.items, set, err);
		struct norms *n =
			items ? norms_load(cfg->norms_file, set, items, err) : NULL;
		rc = n ? 0 : SL_EINVAL;
		norms_free(n);
		catalog_free(items);
	}
	json_decref(m);
	schema_set_free(set);
	if (rc != 0)
		return rc;
	if (cfg->shared_group && cfg->common.mqtt_version != 5)
		return sl_error_set(err, SL_EINVAL,
				    "%s: shared_group needs mqtt_version = 5 "
				    "(shared subscriptions are MQTT 5)",
				    path);
	if (cfg->shared_group && strpbrk(cfg->shared_group, "/+#"))
		return sl_error_set(err, SL_EINVAL,
				    "%s: shared_group: '%s' may not contain "
				    "'/', '+' or '#'",
				    path, cfg->shared_group);
	return conf_common_apply(&cfg->common, path, err);
}

int main(int argc, char **argv)
{
	static const struct conf_program prog = {
		"hq", "/etc/shelterlink/hq.conf", hq_options, NOPTIONS, usage,
		check_config,
	};
	struct hq_config cfg;
	int cmd_at, rc;
	sl_error err;

	log_init("hq", LOG_LVL_INFO, 0);
	if ((rc = conf_main(&prog, argc, argv, &cfg, &cmd_at)) >= 0)
		return rc;

	const char *cmd = argv[cmd_at];
	if (strcmp(cmd, "run") == 0) {
		rc = ingest_run(&cfg, &err) == 0 ? 0 : 1;
		if (rc)
			log_error("%s", err.text);
	} else if (strcmp(cmd, "shelters") == 0 ||
		   strcmp(cmd, "shelter") == 0 || strcmp(cmd, "needs") == 0) {
		rc = cmd_view(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "depot") == 0 || strcmp(cmd, "depots") == 0 ||
		   strcmp(cmd, "vehicle") == 0 || strcmp(cmd, "stock") == 0) {
		rc = stockcmd_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "plan") == 0 || strcmp(cmd, "plans") == 0 ||
		   strcmp(cmd, "dispatch") == 0 ||
		   strcmp(cmd, "scenario") == 0) {
		rc = plancmd_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "feed") == 0) {
		rc = cmd_feed(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "timeline") == 0) {
		rc = cmd_timeline(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "import-shelters") == 0) {
		rc = shelterimport_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "norms") == 0) {
		rc = norms_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "estimate") == 0) {
		rc = estimate_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "survey") == 0) {
		rc = surveycmd_main(&cfg, argc - cmd_at, argv + cmd_at);
	} else if (strcmp(cmd, "open") == 0 || strcmp(cmd, "close") == 0) {
		rc = cmd_operator(&cfg, argc - cmd_at, argv + cmd_at);
	} else {
		fprintf(stderr, "hq: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 2;
	}
	conf_free(hq_options, NOPTIONS, &cfg);
	return rc;
}
