/*
 * report.c - turns what shelter staff type on the command line into a
 * status report.  Only the syntax of each flag is checked here; the
 * bounds and shapes are the status schema's, checked when the report is
 * stored, so the rules live in one place.  report_check() adds the rules
 * a schema cannot state.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "msg.h"
#include "rules.h"

/* Headcount flags and the field each fills, in the order of the form. */
static const struct group {
	const char *flag, *field;
} groups[] = {
	{ "total", "total" },       { "infants", "infants" },
	{ "children", "children" }, { "elderly", "elderly" },
	{ "care", "care" },         { "pregnant", "pregnant" },
	{ "disabled", "disabled" }, { "medical", "medical" },
	{ "foreign", "foreign" },   { "pets", "pets" },
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

enum { OPT_NEED = 256, OPT_NOTE, OPT_TIME, OPT_STOCK, OPT_POWER, OPT_WATER,
       OPT_TOILETS, OPT_NO_POSITION, OPT_GROUP0 };

static int parse_integer(const char *flag, const char *s, long long *out,
			 sl_error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE)
		return sl_error_set(err, SL_EINVAL,
				    "--%s: '%s' is not a whole number", flag, s);
	*out = v;
	return 0;
}

/* ITEM=QTY[:URGENCY] for needs, ITEM=QTY for stock and receipts. */
json_t *report_parse_item(const char *flag, const char *s, int with_urgency,
			  sl_error *err)
{
	char item[64], qtytext[32];
	const char *eq = strchr(s, '='), *colon;
	long long qty;

	if (eq == NULL || eq == s || (size_t)(eq - s) >= sizeof(item)) {
		sl_error_set(err, SL_EINVAL, "--%s: '%s' is not ITEM=QUANTITY",
			     flag, s);
		return NULL;
	}
	memcpy(item, s, (size_t)(eq - s));
	item[eq - s] = '\0';
	colon = with_urgency ? strchr(eq + 1, ':') : NULL;
	size_t qlen = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
	if (qlen >= sizeof(qtytext)) {
		sl_error_set(err, SL_EINVAL, "--%s: quantity too long", flag);
		return NULL;
	}
	memcpy(qtytext, eq + 1, qlen);
	qtytext[qlen] = '\0';
	if (parse_integer(flag, qtytext, &qty, err) != 0)
		return NULL;
	if (!with_urgency)
		return json_pack("{s:s, s:I}", "item", item, "qty", (json_int_t)qty);
	return json_pack("{s:s, s:I, s:s}", "item", item, "qty", (json_int_t)qty,
			 "urgency", colon ? colon + 1 : "normal");
}

static int parse_yesno(const char *flag, const char *s, int *out, sl_error *err)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "y") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "n") == 0)
		*out = 0;
	else
		return sl_error_set(err, SL_EINVAL, "--%s: '%s' is not yes or no",
				    flag, s);
	return 0;
}

/* gpsd's last answer, reused for a minute for the same settings: an
 * import of many rows asks gpsd once, not once per row. */
static struct {
	int asked, rc;
	char spec[512];
	long long budget_ms;
	struct timespec at; /* CLOCK_MONOTONIC */
	struct position pos;
	sl_error why;
} gps_memo;
#define GPS_MEMO_S 60

static int ask_gps(const char *spec, long long budget_ms, struct position *pos,
		   sl_error *why)
{
	char host[POSITION_HOST_MAX], port[POSITION_PORT_MAX];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (gps_memo.asked && strcmp(gps_memo.spec, spec) == 0 &&
	    gps_memo.budget_ms == budget_ms &&
	    now.tv_sec - gps_memo.at.tv_sec < GPS_MEMO_S) {
		*pos = gps_memo.pos;
		*why = gps_memo.why;
		return gps_memo.rc;
	}
	int rc = position_gpsd_address(spec, host, port, why);
	if (rc == SL_EINVAL)
		log_warn("GPS not used: %s", why->text);
	else if (rc == 0 && budget_ms == 0)
		rc = sl_error_set(why, SL_ENOTFOUND, "gps_budget_ms = 0");
	else if (rc == 0)
		rc = position_from_gpsd(host, port, (int)budget_ms, pos, why);
	if (strlen(spec) < sizeof(gps_memo.spec)) {
		gps_memo.asked = 1;
		gps_memo.rc = rc;
		snprintf(gps_memo.spec, sizeof(gps_memo.spec), "%s", spec);
		gps_memo.budget_ms = budget_ms;
		gps_memo.at = now;
		gps_memo.pos = *pos;
		gps_memo.why = *why;
	}
	return rc;
}

/*
 * The shelter's position: a GPS fix when gpsd gives one within
 * gps_budget_ms, else the configured fixed position, else none.  Never a
 * reason to refuse a report: a malformed setting is warned about and
 * left out, and why a fallback was taken is logged at debug level.
 */
static int add_position(const struct agent_config *cfg, json_t *msg,
			sl_error *err)
{
	static int warned; /* once per process, not once per imported row */
	struct position pos = { 0 }, fixed;
	sl_error why = { "" }, fixed_why = { "" };

	int frc = position_fixed(cfg->latitude, cfg->longitude, &fixed,
				 &fixed_why);
	if (frc != 0 && frc != SL_ENOTFOUND && !warned++)
		log_warn("configured position not used: %s", fixed_why.text);
	int rc = cfg->gpsd ? ask_gps(cfg->gpsd, cfg->gps_budget_ms, &pos, &why)
			   : sl_error_set(&why, SL_ENOTFOUND, "gpsd not set");
	if (rc != 0 && frc == 0) {
		log_debug("fixed position, not GPS: %s", why.text);
		pos = fixed;
	} else if (rc != 0) {
		log_debug("no position: %s; %s", why.text, fixed_why.text);
		return 0;
	}
	json_t *j = position_to_json(&pos);
	if (j == NULL || json_object_set_new(msg, "position", j) != 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	return 0;
}

static json_t *new_report(const struct agent_config *cfg)
{
	char now[32];
	msg_time(time(NULL), now);
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s*, s:{}}", "v", 1, "type",
			 "status", "shelter_id", cfg->shelter_id, "municipality",
			 cfg->common.municipality, "time", now, "name",
			 cfg->shelter_name, "headcount");
}

static int apply_option(json_t *msg, int opt, const char *arg, sl_error *err)
{
	json_t *hc = json_object_get(msg, "headcount");
	long long n;
	int flag = 0;

	if (opt >= OPT_GROUP0 && opt < OPT_GROUP0 + (int)NGROUPS) {
		const struct group *g = &groups[opt - OPT_GROUP0];
		if (parse_integer(g->flag, arg, &n, err) != 0)
			return SL_EINVAL;
		return json_object_set_new(hc, g->field, json_integer(n))
			       ? SL_ENOMEM : 0;
	}
	switch (opt) {
	case OPT_NEED:
	case OPT_STOCK: {
		const char *key = opt == OPT_NEED ? "needs" : "stock";
		json_t *line = report_parse_item(key, arg, opt == OPT_NEED, err);
		if (line == NULL)
			return SL_EINVAL;
		json_t *arr = json_object_get(msg, key);
		if (arr == NULL) {
			arr = json_array();
			json_object_set_new(msg, key, arr);
		}
		return json_array_append_new(arr, line) ? SL_ENOMEM : 0;
	}
	case OPT_NOTE:
		return json_object_set_new(msg, "note", json_string(arg))
			       ? sl_error_set(err, SL_EINVAL,
					      "--note: not valid UTF-8")
			       : 0;
	case OPT_TIME:
		return json_object_set_new(msg, "time", json_string(arg))
			       ? SL_ENOMEM : 0;
	case OPT_POWER:
	case OPT_WATER: {
		const char *key = opt == OPT_POWER ? "power" : "water";
		if (parse_yesno(key, arg, &flag, err) != 0)
			return SL_EINVAL;
		json_t *ll = json_object_get(msg, "lifelines");
		if (ll == NULL) {
			ll = json_object();
			json_object_set_new(msg, "lifelines", ll);
		}
		return json_object_set_new(ll, key, json_boolean(flag)) ? SL_ENOMEM
									: 0;
	}
	case OPT_TOILETS: {
		if (parse_integer("toilets", arg, &n, err) != 0)
			return SL_EINVAL;
		json_t *ll = json_object_get(msg, "lifelines");
		if (ll == NULL) {
			ll = json_object();
			json_object_set_new(msg, "lifelines", ll);
		}
		return json_object_set_new(ll, "toilets_usable", json_integer(n))
			       ? SL_ENOMEM : 0;
	}
	default:
		return sl_error_set(err, SL_EINVAL,
				    "unknown option (see shelter-agent -h)");
	}
}

json_t *report_from_args(const struct agent_config *cfg, int argc,
			 char **argv, sl_error *err)
{
	struct option longopts[NGROUPS + 9]; /* 8 fixed options and the end */
	size_t k = 0;
	for (size_t i = 0; i < NGROUPS; i++)
		longopts[k++] = (struct option){ groups[i].flag, required_argument,
						 NULL, OPT_GROUP0 + (int)i };
	longopts[k++] = (struct option){ "need", required_argument, NULL, OPT_NEED };
	longopts[k++] = (struct option){ "stock", required_argument, NULL, OPT_STOCK };
	longopts[k++] = (struct option){ "note", required_argument, NULL, OPT_NOTE };
	longopts[k++] = (struct option){ "time", required_argument, NULL, OPT_TIME };
	longopts[k++] = (struct option){ "power", required_argument, NULL, OPT_POWER };
	longopts[k++] = (struct option){ "water", required_argument, NULL, OPT_WATER };
	longopts[k++] = (struct option){ "toilets", required_argument, NULL,
					 OPT_TOILETS };
	/* Rows typed from paper and form drafts were not written here and
	 * now: the current fix would place them wrongly or cost a gpsd wait
	 * per answer. */
	longopts[k++] = (struct option){ "no-position", no_argument, NULL,
					 OPT_NO_POSITION };
	longopts[k] = (struct option){ 0 };

	json_t *msg = new_report(cfg);
	int with_position = 1;
	if (msg == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	int opt;
	optind = 0; /* glibc: a full restart, nothing kept from an earlier call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *arg = optarg;
		if (opt == '?') {
			sl_error_set(err, SL_EINVAL, "unknown or incomplete option '%s'",
				     argv[optind - 1]);
			goto fail;
		}
		if (opt == OPT_NO_POSITION) {
			with_position = 0;
			continue;
		}
		int rc = apply_option(msg, opt, arg, err);
		if (rc == SL_ENOMEM)
			sl_error_set(err, rc, "out of memory");
		if (rc != 0)
			goto fail;
	}
	if (optind < argc) {
		sl_error_set(err, SL_EINVAL, "unexpected argument '%s'", argv[optind]);
		goto fail;
	}
	if (json_object_get(json_object_get(msg, "headcount"), "total") == NULL) {
		sl_error_set(err, SL_EINVAL, "--total is required");
		goto fail;
	}
	if (with_position && add_position(cfg, msg, err) != 0)
		goto fail;
	return msg;
fail:
	json_decref(msg);
	return NULL;
}

int report_check(const json_t *msg, void *arg, sl_error *err)
{
	const struct report_rules *r = arg;
	int rc = schema_validate(r->schemas, "status", msg, err);
	if (rc != 0)
		return rc;
	return rules_check(msg, r->items, err);
}
