/*
 * dispatch.c - the shelter's side of a delivery: the inbox of dispatch
 * orders HQ sent (`inbox`), and the delivery receipt saying what actually
 * arrived (`receive`), which travels through the outbox like a report so
 * it reaches HQ exactly once in effect.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "msg.h"
#include "rules.h"

static int print_order(const char *id, long long received_at, const json_t *m,
		       long long receipt_seq, void *arg)
{
	size_t i;
	json_t *line;
	(void)arg;
	(void)received_at;
	printf("%s  %s  %s\n", id, json_string_value(json_object_get(m, "time")),
	       receipt_seq ? "received" : "awaiting delivery");
	json_array_foreach (json_object_get(m, "lines"), i, line)
		printf("    %-20s %lld\n",
		       json_string_value(json_object_get(line, "item")),
		       (long long)json_integer_value(json_object_get(line, "qty")));
	const char *note = json_string_value(json_object_get(m, "note"));
	if (note)
		printf("    %s\n", note);
	return 0;
}

int dispatch_list(const struct agent_config *cfg, sl_error *err)
{
	outbox *ob = outbox_open(cfg->common.database, err);
	if (ob == NULL)
		return SL_EDB;
	int rc = outbox_each_dispatch(ob, print_order, NULL, err);
	outbox_close(ob);
	return rc;
}

/* The receipt schema, then the rules outside it; arg: report_rules. */
static int receipt_check(const json_t *msg, void *arg, sl_error *err)
{
	const struct report_rules *r = arg;
	int rc = schema_validate(r->schemas, "receipt", msg, err);
	return rc ? rc : rules_check(msg, r->items, err);
}

static json_t *receipt_from_args(const struct agent_config *cfg,
				 const char *dispatch_id, int argc, char **argv,
				 sl_error *err)
{
	char now[32];
	msg_time(time(NULL), now);
	json_t *lines = json_array();
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o}", "v", 1,
			      "type", "receipt", "shelter_id", cfg->shelter_id,
			      "municipality", cfg->common.municipality, "time",
			      now, "dispatch_id", dispatch_id, "lines", lines);
	if (m == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		json_t *line = report_parse_item("receive", argv[i], 0, err);
		if (line == NULL || json_array_append_new(lines, line) != 0) {
			json_decref(m);
			return NULL;
		}
	}
	return m;
}

int dispatch_receive(const struct agent_config *cfg,
		     const struct report_rules *rules, const char *dispatch_id,
		     int argc, char **argv, long long *seq, sl_error *err)
{
	json_t *m = receipt_from_args(cfg, dispatch_id, argc, argv, err);
	if (m == NULL)
		return SL_EINVAL;
	outbox *ob = outbox_open(cfg->common.database, err);
	int rc = ob ? outbox_begin(ob, err) : SL_EDB;
	if (rc == 0 &&
	    ((rc = outbox_append(ob, m, receipt_check, (void *)rules, seq, err)) ||
	     (rc = outbox_receipt_for(ob, dispatch_id, *seq, err))))
		outbox_rollback(ob);
	else if (rc == 0)
		rc = outbox_commit(ob, err);
	outbox_close(ob);
	json_decref(m);
	return rc;
}
