/* Unit tests of common/inbox: custody before processing. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "inbox.h"

struct fixture {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-inbox-XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/hq.db.inbox", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* What inbox_read handed over, copied. */
struct seen {
	long long ids[4096];
	char payload[4096][32];
	size_t len[4096], original_len[4096];
	int n, stop_at; /* stop_at: return 1 at that many (0: never) */
};

static int collect(void *arg, const struct inbox_msg *m)
{
	struct seen *s = arg;
	assert_true(s->n < 4096);
	s->ids[s->n] = m->id;
	snprintf(s->payload[s->n], sizeof(s->payload[0]), "%s",
		 (const char *)m->payload);
	assert_int_equal(m->payload[m->len], '\0');
	assert_string_equal(m->topic, "shelterlink/v1/172022/S1/status");
	assert_true(m->received_ms > 1700000000000LL);
	s->len[s->n] = m->len;
	s->original_len[s->n] = m->original_len;
	s->n++;
	return s->stop_at && s->n == s->stop_at;
}

static void put_n(inbox *ib, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char text[32];
		int len = snprintf(text, sizeof(text), "{\"seq\":%d}", i);
		assert_int_equal(inbox_put(ib,
					   "shelterlink/v1/172022/S1/status",
					   text, (size_t)len),
				 0);
	}
}

static long long rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM inbox",
					    -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A ring of 16 for 1,000 messages: inbox_put waits for the writer, and
 * every message arrives once, in order. */
static void keeps_order_through_a_small_ring(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 16, 0, &err);
	assert_non_null(ib);
	put_n(ib, 1, 1000);
	assert_int_equal(inbox_wait(ib, 1000, 5000), 1000);
	struct seen *s = calloc(1, sizeof(*s));
	long long last = -1;
	assert_int_equal(inbox_read(ib, 0, 4096, collect, s, &last, &err), 0);
	assert_int_equal(s->n, 1000);
	assert_int_equal(last, 1000);
	for (int i = 0; i < 1000; i++) {
		char want[32];
		snprintf(want, sizeof(want), "{\"seq\":%d}", i + 1);
		assert_int_equal(s->ids[i], i + 1);
		assert_string_equal(s->payload[i], want);
	}
	unsigned long long put, committed;
	inbox_counts(ib, &put, &committed);
	assert_int_equal(put, 1000);
	assert_int_equal(committed, 1000);
	inbox_close(ib);
	free(s);
}

/* inbox_read gives at most max after the cursor, and stops when told. */
static void reads_from_a_cursor(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 64, 0, &err);
	assert_non_null(ib);
	put_n(ib, 1, 50);
	inbox_wait(ib, 50, 5000);
	struct seen *s = calloc(1, sizeof(*s));
	long long last;
	assert_int_equal(inbox_read(ib, 20, 10, collect, s, &last, &err), 0);
	assert_int_equal(s->n, 10);
	assert_int_equal(s->ids[0], 21);
	assert_int_equal(last, 30);
	memset(s, 0, sizeof(*s));
	s->stop_at = 3;
	assert_int_equal(inbox_read(ib, 30, 100, collect, s, &last, &err), 1);
	assert_int_equal(last, 33);
	memset(s, 0, sizeof(*s));
	assert_int_equal(inbox_read(ib, 50, 100, collect, s, &last, &err), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(last, 50);
	/* nothing committed after 50: the wait times out and says so */
	assert_int_equal(inbox_wait(ib, 51, 20), 50);
	inbox_close(ib);
	free(s);
}

/* Long payloads are kept cut, with the length that was received. */
static void cuts_long_payloads(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 4, 8, &err);
	assert_non_null(ib);
	assert_int_equal(inbox_put(ib, "shelterlink/v1/172022/S1/status",
				   "0123456789abcdefghij", 20),
			 0);
	assert_int_equal(
		inbox_put(ib, "shelterlink/v1/172022/S1/status", "", 0), 0);
	inbox_wait(ib, 2, 5000);
	struct seen *s = calloc(1, sizeof(*s));
	long long last;
	assert_int_equal(inbox_read(ib, 0, 10, collect, s, &last, &err), 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->payload[0], "01234567");
	assert_int_equal(s->len[0], 8);
	assert_int_equal(s->original_len[0], 20);
	assert_int_equal(s->len[1], 0);
	assert_int_equal(s->original_len[1], 0);
	inbox_close(ib);
	free(s);
}

/* Closing commits what the ring still holds; reopened, the inbox has it
 * all, with the same generation. */
static void close_commits_and_reopen_keeps(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 4096, 0, &err);
	assert_non_null(ib);
	char generation[40];
	snprintf(generation, sizeof(generation), "%s", inbox_generation(ib));
	assert_int_equal(strlen(generation), 16);
	put_n(ib, 1, 3000);
	inbox_close(ib); /* no wait: the ring is likely not empty */
	ib = inbox_open(f->path, 16, 0, &err);
	assert_non_null(ib);
	assert_string_equal(inbox_generation(ib), generation);
	assert_int_equal(inbox_committed(ib), 3000);
	assert_int_equal(rows(f->path), 3000);
	inbox_close(ib);
}

/* Released rows are deleted, but ids keep growing: a cursor kept
 * elsewhere never points at a reused id. */
static void released_rows_go_ids_grow(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 64, 0, &err);
	assert_non_null(ib);
	put_n(ib, 1, 100);
	inbox_wait(ib, 100, 5000);
	inbox_release(ib, 100);
	for (int i = 0; i < 200 && rows(f->path) != 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	assert_int_equal(rows(f->path), 0);
	inbox_close(ib);
	ib = inbox_open(f->path, 64, 0, &err);
	assert_non_null(ib);
	assert_int_equal(inbox_committed(ib), 100);
	put_n(ib, 101, 1);
	assert_int_equal(inbox_wait(ib, 101, 5000), 101);
	struct seen *s = calloc(1, sizeof(*s));
	long long last;
	assert_int_equal(inbox_read(ib, 0, 10, collect, s, &last, &err), 0);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->ids[0], 101);
	inbox_close(ib);
	free(s);
}

/* A new file is a new generation: a cursor from the old one is void. */
static void a_new_file_is_a_new_generation(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	char other[128];
	snprintf(other, sizeof(other), "%s/other.inbox", f->dir);
	inbox *a = inbox_open(f->path, 4, 0, &err);
	inbox *b = inbox_open(other, 4, 0, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(inbox_generation(a), inbox_generation(b));
	inbox_close(a);
	inbox_close(b);
}

/* After inbox_shutdown a put is refused at once, even with a full ring. */
static void shutdown_lets_the_producer_go(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *ib = inbox_open(f->path, 2, 0, &err);
	assert_non_null(ib);
	inbox_shutdown(ib);
	assert_int_equal(inbox_put(ib, "t", "x", 1), SL_ETIMEOUT);
	inbox_close(ib);
}

/* Two processes (or two opens) on one inbox would each process the
 * other's messages: the second is refused, naming the file. */
static void one_owner_per_inbox(void **state)
{
	struct fixture *f = *state;
	sl_error err;
	inbox *a = inbox_open(f->path, 4, 0, &err);
	assert_non_null(a);
	inbox *b = inbox_open(f->path, 4, 0, &err);
	assert_null(b);
	assert_non_null(strstr(err.text, f->path));
	assert_non_null(strstr(err.text, "in use"));
	inbox_close(a);
	b = inbox_open(f->path, 4, 0, &err); /* free again */
	assert_non_null(b);
	inbox_close(b);
}

/* An inbox that cannot be created names its file. */
static void names_the_file_it_cannot_open(void **state)
{
	(void)state;
	sl_error err;
	inbox *ib = inbox_open("/nonexistent-dir/hq.db.inbox", 4, 0, &err);
	assert_null(ib);
	assert_non_null(strstr(err.text, "/nonexistent-dir/hq.db.inbox"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			keeps_order_through_a_small_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(reads_from_a_cursor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cuts_long_payloads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(close_commits_and_reopen_keeps,
						setup, teardown),
		cmocka_unit_test_setup_teardown(released_rows_go_ids_grow,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_file_is_a_new_generation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(shutdown_lets_the_producer_go,
						setup, teardown),
		cmocka_unit_test_setup_teardown(one_owner_per_inbox, setup,
						teardown),
		cmocka_unit_test(names_the_file_it_cannot_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
