/* Unit tests of shelter-agent/outbox: sequence numbers are assigned in
 * the storing transaction, never reused, and only HQ's acknowledgement
 * empties the outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static char dbpath[64];

static void remove_db(void)
{
	char side[80];
	remove(dbpath);
	snprintf(side, sizeof(side), "%s-wal", dbpath);
	remove(side);
	snprintf(side, sizeof(side), "%s-shm", dbpath);
	remove(side);
}

static int setup(void **state)
{
	sl_error err;
	snprintf(dbpath, sizeof(dbpath), "/tmp/sl-outbox-test.%d.db", (int)getpid());
	remove_db();
	outbox *ob = outbox_open(dbpath, &err);
	if (ob == NULL)
		fail_msg("%s", err.text);
	*state = ob;
	return 0;
}

static int teardown(void **state)
{
	outbox_close(*state);
	remove_db();
	return 0;
}

static int refuse(const json_t *msg, void *arg, sl_error *err)
{
	(void)msg;
	(void)arg;
	return sl_error_set(err, SL_EINVAL, "refused");
}

static long long add(outbox *ob, int (*check)(const json_t *, void *, sl_error *))
{
	json_t *m = json_pack("{s:s}", "type", "status");
	long long seq = -1;
	sl_error err;
	int rc = outbox_add(ob, m, check, NULL, &seq, &err);
	json_decref(m);
	return rc == 0 ? seq : rc;
}

static long long depth(outbox *ob)
{
	struct outbox_stats st;
	sl_error err;
	assert_int_equal(outbox_stats(ob, &st, &err), 0);
	return st.depth;
}

static void refused_report_uses_no_number(void **state)
{
	outbox *ob = *state;
	assert_int_equal(add(ob, NULL), 1);
	assert_int_equal(add(ob, refuse), SL_EINVAL);
	assert_int_equal(add(ob, NULL), 2);
	assert_int_equal(depth(ob), 2);
}

static void oversize_message_is_refused_whole(void **state)
{
	outbox *ob = *state;
	long long seq;
	sl_error err;
	char *big = calloc(1, 17000);
	memset(big, 'x', 16999);
	json_t *m = json_pack("{s:s, s:s}", "type", "status", "note", big);
	assert_int_equal(outbox_add(ob, m, NULL, NULL, &seq, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "too_large"));
	json_decref(m);
	free(big);
	assert_int_equal(depth(ob), 0);
	assert_int_equal(add(ob, NULL), 1);
}

static void numbers_survive_reopen(void **state)
{
	outbox *ob = *state;
	sl_error err;
	assert_int_equal(add(ob, NULL), 1);
	assert_int_equal(outbox_ack(ob, 1, 5, &err), 0);
	outbox_close(ob);
	ob = outbox_open(dbpath, &err);
	*state = ob;
	assert_non_null(ob);
	assert_int_equal(add(ob, NULL), 2);
}

static int count_rows(const struct outbox_row *row, void *arg)
{
	long long *n = arg;
	(void)row;
	(*n)++;
	return 0;
}

static void only_acknowledgement_empties(void **state)
{
	outbox *ob = *state;
	sl_error err;
	long long n = 0;
	for (int i = 0; i < 5; i++)
		add(ob, NULL);
	assert_int_equal(outbox_ack(ob, 3, 10, &err), 0);
	assert_int_equal(depth(ob), 2);
	assert_int_equal(outbox_read(ob, 1, 100, count_rows, &n, &err), 0);
	assert_int_equal(n, 2);
	/* an older acknowledgement changes nothing */
	assert_int_equal(outbox_ack(ob, 2, 11, &err), 0);
	assert_int_equal(depth(ob), 2);
	assert_int_equal(outbox_ack(ob, 5, 12, &err), 0);
	assert_int_equal(depth(ob), 0);
}

static void acknowledgement_beyond_assigned_is_refused(void **state)
{
	outbox *ob = *state;
	sl_error err;
	add(ob, NULL);
	add(ob, NULL);
	assert_int_equal(outbox_ack(ob, 500, 10, &err), SL_EINVAL);
	assert_non_null(strstr(err.text, "replaced"));
	assert_int_equal(depth(ob), 2);
}

static void batch_is_all_or_nothing(void **state)
{
	outbox *ob = *state;
	sl_error err;
	long long seq;
	json_t *last;
	json_t *m = json_pack("{s:s, s:i}", "type", "status", "n", 1);
	assert_int_equal(outbox_begin(ob, &err), 0);
	assert_int_equal(outbox_append(ob, m, NULL, NULL, &seq, &err), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(outbox_append(ob, m, refuse, NULL, &seq, &err), SL_EINVAL);
	outbox_rollback(ob);
	assert_int_equal(depth(ob), 0);
	assert_int_equal(outbox_last(ob, "status", &last, &err), 0);
	assert_null(last);
	assert_int_equal(add(ob, NULL), 1);
	assert_int_equal(outbox_add(ob, m, NULL, NULL, &seq, &err), 0);
	assert_int_equal(outbox_last(ob, "status", &last, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(last, "n")), 1);
	assert_int_equal(json_integer_value(json_object_get(last, "seq")), 2);
	json_decref(last);
	json_decref(m);
}

static void birth_increments(void **state)
{
	outbox *ob = *state;
	sl_error err;
	long long b1, b2;
	assert_int_equal(outbox_next_birth(ob, &b1, &err), 0);
	assert_int_equal(outbox_next_birth(ob, &b2, &err), 0);
	assert_int_equal(b2, b1 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refused_report_uses_no_number, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_survive_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(oversize_message_is_refused_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(only_acknowledgement_empties, setup, teardown),
		cmocka_unit_test_setup_teardown(acknowledgement_beyond_assigned_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(birth_increments, setup, teardown),
		cmocka_unit_test_setup_teardown(batch_is_all_or_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
