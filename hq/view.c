/*
 * view.c - operator views of HQ's database as a table or JSON.  Reads
 * only; safe to run while `hq run` ingests (WAL readers do not block).
 */
#include <string.h>

#include "hq.h"
#include "msg.h"

int view_format_parse(const char *name, enum view_format *out)
{
	if (strcmp(name, "table") == 0)
		*out = VIEW_TABLE;
	else if (strcmp(name, "json") == 0)
		*out = VIEW_JSON;
	else
		return SL_EINVAL;
	return 0;
}

struct shelters_acc {
	enum view_format fmt;
	FILE *out;
	json_t *array;
	long long shelters, people;
};

static int add_shelter(const struct store_shelter *r, void *arg)
{
	struct shelters_acc *acc = arg;
	acc->shelters++;
	acc->people += r->has_total ? r->total : 0;
	if (acc->fmt == VIEW_TABLE) {
		char total[24] = "-";
		if (r->has_total)
			snprintf(total, sizeof(total), "%lld", r->total);
		fprintf(acc->out, "%-14s %-8s %7s %8lld %8lld  %s\n", r->shelter_id,
			r->status, total, r->last_seq, r->reports,
			r->name ? r->name : "");
		return 0;
	}
	char seen[32];
	msg_time((time_t)r->last_seen, seen);
	json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:o, s:I, s:I, s:I, s:s?, s:b, s:s}",
			      "shelter_id", r->shelter_id, "municipality",
			      r->municipality, "name", r->name, "status",
			      r->status, "total",
			      r->has_total ? json_integer(r->total) : json_null(),
			      "last_seq", (json_int_t)r->last_seq, "acked_seq",
			      (json_int_t)r->acked_seq, "reports",
			      (json_int_t)r->reports, "last_report_time",
			      r->last_time, "registered", (int)r->registered,
			      "last_seen", seen);
	if (o == NULL || json_array_append_new(acc->array, o) != 0)
		return SL_ENOMEM;
	return 0;
}

int view_shelters(hq_store *st, enum view_format fmt, FILE *out, sl_error *err)
{
	struct shelters_acc acc = { .fmt = fmt, .out = out };
	int rc;

	if (fmt == VIEW_JSON) {
		acc.array = json_array();
		if (acc.array == NULL)
			return sl_error_set(err, SL_ENOMEM, "out of memory");
	} else {
		fprintf(out, "%-14s %-8s %7s %8s %8s  %s\n", "SHELTER", "STATUS",
			"TOTAL", "LAST_SEQ", "REPORTS", "NAME");
	}
	rc = store_each_shelter(st, add_shelter, &acc, err);
	if (rc == SL_ENOMEM)
		sl_error_set(err, rc, "out of memory");
	if (rc == 0 && fmt == VIEW_JSON) {
		if (json_dumpf(acc.array, out, JSON_INDENT(2)) != 0)
			rc = sl_error_set(err, SL_EIO, "cannot write output");
		fputc('\n', out);
	} else if (rc == 0) {
		fprintf(out, "%lld shelters, %lld people\n", acc.shelters,
			acc.people);
	}
	json_decref(acc.array);
	return rc;
}
