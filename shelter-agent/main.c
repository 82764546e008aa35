/*
 * main.c - shelter-agent's command line: configuration, then a command.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "msg.h"

static const struct conf_option agent_options[] = {
	CONF_COMMON_OPTIONS(struct agent_config, common),
	{"shelter_id", CONF_STRING, NULL, 0, 64, CONF_REQUIRED,
	 offsetof(struct agent_config, shelter_id),
	 "this shelter's id (as in the official list, e.g. CC0000000518)"},
	{"shelter_name", CONF_STRING, NULL, 0, 600, 0,
	 offsetof(struct agent_config, shelter_name), "this shelter's name"},
	{"latitude", CONF_STRING, NULL, 0, 32, 0,
	 offsetof(struct agent_config, latitude),
	 "fixed position when there is no GPS (decimal degrees)"},
	{"longitude", CONF_STRING, NULL, 0, 32, 0,
	 offsetof(struct agent_config, longitude),
	 "fixed position when there is no GPS (decimal degrees)"},
	{"gpsd", CONF_STRING, "localhost:2947", 0, 300, 0,
	 offsetof(struct agent_config, gpsd),
	 "gpsd address host:port, or 'none'"},
	{"gps_budget_ms", CONF_INT, "1000", 0, 10000, 0,
	 offsetof(struct agent_config, gps_budget_ms),
	 "longest a report waits for a GPS fix"},
	{"resend_s", CONF_INT, "30", 1, 86400, 0,
	 offsetof(struct agent_config, resend_s),
	 "resend when HQ has not acknowledged for this long"},
	{"window", CONF_INT, "200", 1, 100000, 0,
	 offsetof(struct agent_config, window),
	 "most reports sent ahead of HQ's acknowledgement"},
	{"session_expiry_s", CONF_INT, "604800", 0, 4294967295LL, 0,
	 offsetof(struct agent_config, session_expiry_s),
	 "how long the broker keeps our session (MQTT 5)"},
	{"heartbeat_s", CONF_INT, "60", 0, 86400, 0,
	 offsetof(struct agent_config, heartbeat_s),
	 "re-announce presence to HQ this often (0: never)"},
	{"language", CONF_STRING, "ja", 0, 2, 0,
	 offsetof(struct agent_config, language),
	 "language of the form: ja or en"},
};
#define NOPTIONS (sizeof(agent_options) / sizeof(agent_options[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: shelter-agent [-c FILE] [-n] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  report --total N [--infants N] [--children N] [--elderly "
		"N]\n"
		"         [--care N] [--pregnant N] [--disabled N] [--medical "
		"N]\n"
		"         [--foreign N] [--pets N] [--need "
		"ITEM=QTY[:critical|high|normal]]...\n"
		"         [--stock ITEM=QTY]... [--power yes|no] [--water "
		"yes|no]\n"
		"         [--toilets N] [--note TEXT] [--time RFC3339] "
		"[--no-position]\n"
		"                 record a status report; prints its sequence "
		"number.\n"
		"                 The position comes from gpsd, else the "
		"configured\n"
		"                 one; --no-position for a report written "
		"elsewhere\n"
		"  run [--until-acked] [--timeout SECONDS]\n"
		"                 deliver reports to HQ until it acknowledges "
		"them\n"
		"  inbox          dispatch orders received from HQ\n"
		"  receive DISPATCH_ID ITEM=QTY...\n"
		"                 record what actually arrived; sends a "
		"delivery receipt\n"
		"  status [--format text|json]\n"
		"                 outbox depth, acknowledgement, connection\n"
		"  import FILE.csv\n"
		"                 record reports typed from paper forms (all "
		"or none)\n"
		"  form [--lang ja|en]\n"
		"                 ask for a report question by question, in "
		"the\n"
		"                 `language` setting unless --lang; prints its "
		"number\n"
		"\n"
		"options:\n"
		"  -c FILE   configuration (default "
		"/etc/shelterlink/agent.conf)\n"
		"  -n        check the configuration and exit\n"
		"  -h        this help\n"
		"\n"
		"configuration keys (key = value):\n");
	conf_help(agent_options, NOPTIONS, out);
}

static schema_set *load_schemas(const struct agent_config *cfg, sl_error *err)
{
	return schema_set_open(cfg->common.schemas, err);
}

/*
 * The ids must be usable as topic levels and in messages; rather than
 * restate the schema's patterns here, validate the birth message the
 * agent would send.
 */
static int check_config(const void *arg, const char *path, sl_error *err)
{
	const struct agent_config *cfg = arg;
	char now[32];

	if (conf_common_apply(&cfg->common, path, err) != 0)
		return SL_EINVAL;
	schema_set *set = load_schemas(cfg, err);
	if (set == NULL)
		return SL_EINVAL;
	msg_time(time(NULL), now);
	json_t *m = json_pack(
		"{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s*}", "v", 1,
		"type", "state", "shelter_id", cfg->shelter_id, "municipality",
		cfg->common.municipality, "state", "online", "birth", 0, "time",
		now, "agent_version", SL_VERSION, "name", cfg->shelter_name);
	int rc = m ? schema_validate(set, "state", m, err) : SL_ENOMEM;
	json_decref(m);
	schema_set_free(set);
	if (rc != 0)
		sl_error_prefix(err,
				"%s: shelter_id, municipality or "
				"shelter_name not acceptable",
				path);
	return rc;
}

static int cmd_report(const struct agent_config *cfg, int argc, char **argv)
{
	sl_error err;
	long long seq;
	schema_set *set = load_schemas(cfg, &err);
	catalog *items =
		set ? catalog_load(cfg->common.items, set, &err) : NULL;
	json_t *msg = items ? report_from_args(cfg, argc, argv, &err) : NULL;
	outbox *ob = msg ? outbox_open(cfg->common.database, &err) : NULL;
	struct report_rules rules = {set, items};
	int rc = ob ? outbox_add(ob, msg, report_check, &rules, &seq, &err) : 1;

	if (rc == 0)
		printf("%lld\n", seq);
	else
		fprintf(stderr, "shelter-agent: report not saved: %s\n",
			err.text);
	outbox_close(ob);
	json_decref(msg);
	catalog_free(items);
	schema_set_free(set);
	return rc == 0 ? 0 : 1;
}

static int cmd_import(const struct agent_config *cfg, int argc, char **argv)
{
	sl_error err;
	long long first = 0, count = 0;

	if (argc != 2) {
		fprintf(stderr, "shelter-agent import: give one FILE.csv\n");
		return 2;
	}
	schema_set *set = load_schemas(cfg, &err);
	catalog *items =
		set ? catalog_load(cfg->common.items, set, &err) : NULL;
	outbox *ob = items ? outbox_open(cfg->common.database, &err) : NULL;
	struct report_rules rules = {set, items};
	int rc = ob ? csvimport_file(cfg, ob, &rules, argv[1], &first, &count,
				     &err)
		    : 1;

	if (rc == 0)
		printf("imported %lld reports, seq %lld..%lld\n", count, first,
		       first + count - 1);
	else
		fprintf(stderr, "shelter-agent: nothing imported: %s\n",
			err.text);
	outbox_close(ob);
	catalog_free(items);
	schema_set_free(set);
	return rc == 0 ? 0 : 1;
}

/* Exits 0 only when a report was saved; what was not saved is kept as
 * a draft and form_run() has said so on the terminal. */
static int cmd_form(const struct agent_config *cfg, int argc, char **argv)
{
	const char *lang = cfg->language; /* --lang overrides the setting */
	long long seq;
	sl_error err;

	if (argc == 3 && strcmp(argv[1], "--lang") == 0) {
		lang = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "shelter-agent form: use [--lang ja|en]\n");
		return 2;
	}
	int rc = form_run(cfg, stdin, stdout, lang, &seq, &err);
	if (rc < 0)
		fprintf(stderr, "shelter-agent: form: %s\n", err.text);
	return rc == FORM_SAVED ? 0 : 1;
}

static int cmd_run(const struct agent_config *cfg, int argc, char **argv)
{
	struct uplink_options o = {0};
	sl_error err;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--until-acked") == 0) {
			o.until_acked = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 86400 * 30) {
				fprintf(stderr,
					"shelter-agent: --timeout: '%s' is "
					"not 1..2592000 seconds\n",
					argv[i]);
				return 2;
			}
			o.timeout_s = (int)v;
		} else {
			fprintf(stderr,
				"shelter-agent run: unknown argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	if (uplink_run(cfg, &o, &err) != 0) {
		log_error("%s", err.text);
		return 1;
	}
	return 0;
}

static int print_status_json(const struct agent_config *cfg,
			     const struct outbox_stats *st, long long age,
			     const char *last_error, json_t *fix)
{
	json_t *o = json_pack(
		"{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:O?}", "shelter_id",
		cfg->shelter_id, "connected", (int)st->connected, "outbox",
		(json_int_t)st->depth, "oldest_age_s", (json_int_t)age,
		"acked_seq", (json_int_t)st->acked_seq, "next_seq",
		(json_int_t)st->next_seq, "last_ack_at",
		(json_int_t)st->last_ack_at, "last_error", last_error,
		"last_fix", fix);
	char *text =
		o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))
		  : NULL;
	if (text)
		puts(text);
	free(text);
	json_decref(o);
	return text ? 0 : 1;
}

static int print_status_text(const struct agent_config *cfg,
			     const struct outbox_stats *st, long long age,
			     const char *last_error, const json_t *fix)
{
	printf("shelter %s: %s, %lld report(s) waiting for HQ "
	       "(oldest %lld s), HQ has up to %lld%s%s\n",
	       cfg->shelter_id, st->connected ? "connected" : "not connected",
	       st->depth, age, st->acked_seq,
	       *last_error ? "; last error: " : "", last_error);
	if (fix == NULL) {
		puts("last GPS fix: none");
		return 0;
	}
	const char *mode = json_string_value(json_object_get(fix, "fix_mode"));
	const char *when = json_string_value(json_object_get(fix, "time"));
	json_t *acc = json_object_get(fix, "accuracy_m");
	printf("last GPS fix: %.6f, %.6f",
	       json_number_value(json_object_get(fix, "lat")),
	       json_number_value(json_object_get(fix, "lon")));
	if (mode)
		printf(" (%s)", mode);
	if (acc)
		printf(", within %.0f m", json_number_value(acc));
	if (when)
		printf(", at %s", when);
	putchar('\n');
	return 0;
}

static int cmd_status(const struct agent_config *cfg, int argc, char **argv)
{
	struct outbox_stats st;
	sl_error err;
	int json = argc == 3 && strcmp(argv[1], "--format") == 0 &&
		   strcmp(argv[2], "json") == 0;

	if (argc > 1 && !json &&
	    !(argc == 3 && strcmp(argv[1], "--format") == 0 &&
	      strcmp(argv[2], "text") == 0)) {
		fprintf(stderr,
			"shelter-agent status: use --format text|json\n");
		return 2;
	}
	char last_error[256], last_fix[512];
	outbox *ob = outbox_open(cfg->common.database, &err);
	if (ob == NULL || outbox_stats(ob, &st, &err) != 0 ||
	    outbox_get_text(ob, "last_error", last_error, sizeof(last_error),
			    &err) != 0 ||
	    outbox_get_text(ob, "last_fix", last_fix, sizeof(last_fix), &err) !=
		    0) {
		fprintf(stderr, "shelter-agent: %s\n", err.text);
		outbox_close(ob);
		return 1;
	}
	outbox_close(ob);
	/* NULL when no report was ever placed by gpsd */
	json_t *fix = json_loads(last_fix, 0, NULL);
	long long age =
		st.depth ? (long long)time(NULL) - st.oldest_created_at : 0;
	int rc = json ? print_status_json(cfg, &st, age, last_error, fix)
		      : print_status_text(cfg, &st, age, last_error, fix);
	json_decref(fix);
	return rc;
}

static int cmd_inbox(const struct agent_config *cfg, int argc)
{
	sl_error err;
	if (argc != 1) {
		fprintf(stderr, "shelter-agent inbox: takes no arguments\n");
		return 2;
	}
	if (dispatch_list(cfg, &err) != 0) {
		fprintf(stderr, "shelter-agent: %s\n", err.text);
		return 1;
	}
	return 0;
}

static int cmd_receive(const struct agent_config *cfg, int argc, char **argv)
{
	sl_error err;
	long long seq;
	if (argc < 2) {
		fprintf(stderr, "usage: shelter-agent receive DISPATCH_ID "
				"ITEM=QTY...\n");
		return 2;
	}
	schema_set *set = load_schemas(cfg, &err);
	catalog *items =
		set ? catalog_load(cfg->common.items, set, &err) : NULL;
	struct report_rules rules = {set, items};
	int rc = items ? dispatch_receive(cfg, &rules, argv[1], argc - 2,
					  argv + 2, &seq, &err)
		       : SL_EINVAL;
	if (rc == 0)
		printf("%lld\n", seq);
	else
		fprintf(stderr, "shelter-agent: receipt not saved: %s\n",
			err.text);
	catalog_free(items);
	schema_set_free(set);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct conf_program prog = {
		"shelter-agent", "/etc/shelterlink/agent.conf",
		agent_options,	 NOPTIONS,
		usage,		 check_config,
	};
	struct agent_config cfg;
	int cmd_at, rc;

	log_init("shelter-agent", LOG_LVL_INFO, 0);
	if ((rc = conf_main(&prog, argc, argv, &cfg, &cmd_at)) >= 0)
		return rc;

	const char *cmd = argv[cmd_at];
	int cargc = argc - cmd_at;
	char **cargv = argv + cmd_at;
	if (strcmp(cmd, "report") == 0)
		rc = cmd_report(&cfg, cargc, cargv);
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(&cfg, cargc, cargv);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&cfg, cargc, cargv);
	else if (strcmp(cmd, "inbox") == 0)
		rc = cmd_inbox(&cfg, cargc);
	else if (strcmp(cmd, "receive") == 0)
		rc = cmd_receive(&cfg, cargc, cargv);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(&cfg, cargc, cargv);
	else if (strcmp(cmd, "form") == 0)
		rc = cmd_form(&cfg, cargc, cargv);
	else {
		fprintf(stderr, "shelter-agent: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 2;
	}
	conf_free(agent_options, NOPTIONS, &cfg);
	return rc;
}
