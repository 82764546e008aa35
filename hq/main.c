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
	{ "session_expiry_s", CONF_INT, "604800", 0, 4294967295LL, 0,
	  offsetof(struct hq_config, session_expiry_s),
	  "how long the broker keeps hq's queue while hq is away (MQTT 5)" },
};
#define NOPTIONS (sizeof(hq_options) / sizeof(hq_options[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hq [-c FILE] [-n] COMMAND\n"
		"\n"
		"commands:\n"
		"  run                          ingest shelter messages (daemon)\n"
		"  shelters [--format table|json]  list shelters and latest headcount\n"
		"\n"
		"options:\n"
		"  -c FILE   configuration file (default /etc/shelterlink/hq.conf)\n"
		"  -n        check the configuration and exit\n"
		"  -h        this help\n"
		"\n"
		"configuration keys (key = value):\n");
	conf_help(hq_options, NOPTIONS, out);
}

static int cmd_shelters(const struct hq_config *cfg, int argc, char **argv)
{
	enum view_format fmt = VIEW_TABLE;
	sl_error err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (view_format_parse(argv[++i], &fmt) != 0) {
				fprintf(stderr, "hq: --format: '%s' is not table "
						"or json\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "hq shelters: unknown argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	hq_store *st = store_open(cfg->common.database, &err);
	if (st == NULL) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	int rc = view_shelters(st, fmt, stdout, &err);
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "hq: %s\n", err.text);
		return 1;
	}
	return 0;
}

/*
 * Checks what the table cannot.  The municipality code's shape is the
 * schema's rule: validate the presence message hq would send rather than
 * restate it.  The schemas and the item catalogue must load too.
 */
static int check_config(const void *arg, const char *path, sl_error *err)
{
	const struct hq_config *cfg = arg;
	int rc;
	schema_set *set = schema_set_new();
	if (set == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", 1, "type",
			      "hq_state", "municipality", cfg->common.municipality,
			      "state", "online", "time", "2024-01-01T00:00:00Z",
			      "hq_version", SL_VERSION);
	if ((rc = schema_set_load_dir(set, cfg->common.schemas, err)) == 0 &&
	    (rc = schema_set_resolve(set, err)) == 0 &&
	    (rc = schema_validate(set, "hq_state", m, err)) != 0)
		sl_error_prefix(err, "%s: municipality '%s' not acceptable", path,
				cfg->common.municipality);
	if (rc == 0) {
		catalog *items = catalog_load(cfg->common.items, set, err);
		rc = items ? 0 : SL_EINVAL;
		catalog_free(items);
	}
	json_decref(m);
	schema_set_free(set);
	if (rc != 0)
		return rc;
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
	} else if (strcmp(cmd, "shelters") == 0) {
		rc = cmd_shelters(&cfg, argc - cmd_at, argv + cmd_at);
	} else {
		fprintf(stderr, "hq: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 2;
	}
	conf_free(hq_options, NOPTIONS, &cfg);
	return rc;
}
