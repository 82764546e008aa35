/* Unit tests of shelter-agent/form: form_run() driven through fmemopen'd
 * answers in both languages.  Answers are checked by the real rules with
 * reasons in plain words, defaults come from the previous report, a
 * summary is confirmed, and whatever is not saved is kept as a draft
 * that the next run resumes. */
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

static char dbpath[64], draftpath[96];
static char schemas[] = SL_SCHEMA_DIR, items[] = SL_DATA_DIR "/items.json";
static char municipality[] = "172022", shelter_id[] = "T0001";
static char shelter_name[] = "山王小学校";
static struct agent_config cfg;

static void remove_files(void)
{
	char side[96];
	remove(dbpath);
	remove(draftpath);
	snprintf(side, sizeof(side), "%s-wal", dbpath);
	remove(side);
	snprintf(side, sizeof(side), "%s-shm", dbpath);
	remove(side);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dbpath, sizeof(dbpath), "/tmp/sl-form-test.%d.db", (int)getpid());
	snprintf(draftpath, sizeof(draftpath), "%s.form-draft.json", dbpath);
	remove_files();
	memset(&cfg, 0, sizeof(cfg));
	cfg.common.database = dbpath;
	cfg.common.schemas = schemas;
	cfg.common.items = items;
	cfg.common.municipality = municipality;
	cfg.shelter_id = shelter_id;
	cfg.shelter_name = shelter_name;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_files();
	return 0;
}

/* Runs the form on `input`; *output is the transcript (caller frees). */
static int run(const char *lang, const char *input, char **output,
	       long long *seq)
{
	char *copy = strdup(input);
	size_t len = 0;
	sl_error err = { "" };
	FILE *in = fmemopen(copy, strlen(copy), "r");
	FILE *out = open_memstream(output, &len);
	assert_non_null(in);
	assert_non_null(out);
	int rc = form_run(&cfg, in, out, lang, seq, &err);
	fclose(in);
	fclose(out);
	free(copy);
	return rc;
}

/* The newest stored report, or NULL. */
static json_t *last_report(void)
{
	sl_error err;
	json_t *msg;
	outbox *ob = outbox_open(dbpath, &err);
	assert_non_null(ob);
	assert_int_equal(outbox_last(ob, "status", &msg, &err), 0);
	outbox_close(ob);
	return msg;
}

static json_int_t count(const json_t *msg, const char *group)
{
	const json_t *v = json_object_get(json_object_get(msg, "headcount"),
					  group);
	return v ? json_integer_value(v) : -1;
}

static int draft_exists(void)
{
	return access(draftpath, F_OK) == 0;
}

static void contains(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("expected \"%s\" in:\n%s", part, text);
}

/* A first Japanese report: one refused answer, full-width digits, an
 * unknown ("-"), a supply by code, a note. */
static const char ja_session[] =
	"10\n"         /* 1 total */
	"11\n"         /* 2 infants: refused, more than the total */
	"2\n"          /*   asked again */
	"３\n"         /* 3 children, typed full-width */
	"\n"           /* 4 elderly: unknown */
	"-\n"          /* 5 care: unknown */
	"\n\n\n\n\n"   /* 6-10 */
	"\n"           /* 11 power */
	"いいえ\n"     /* 12 water */
	"\n"           /* 13 toilets */
	"toilet_paper\n20\n1\n" /* 14 needs */
	"\n"
	"断水中\n"     /* 15 note */
	"y\n";

static void ja_session_checks_answers_and_saves(void **state)
{
	(void)state;
	char *out;
	long long seq = -1;
	assert_int_equal(run(NULL, ja_session, &out, &seq), FORM_SAVED);
	contains(out, "(1/15) いま避難所にいる人は全部で何人ですか？");
	contains(out, "乳幼児の数(11)が避難者数(10)を超えています。");
	contains(out, "---- 入力内容の確認 ----");
	contains(out, "トイレットペーパー 20ロール（緊急）");
	contains(out, "保存しました。番号: 1\n");
	assert_int_equal(seq, 1);
	free(out);

	json_t *msg = last_report();
	assert_non_null(msg);
	assert_int_equal(count(msg, "total"), 10);
	assert_int_equal(count(msg, "infants"), 2);
	assert_int_equal(count(msg, "children"), 3);
	assert_int_equal(count(msg, "elderly"), -1);
	assert_int_equal(count(msg, "care"), -1);
	assert_true(json_is_false(
		json_object_get(json_object_get(msg, "lifelines"), "water")));
	json_t *need = json_array_get(json_object_get(msg, "needs"), 0);
	assert_string_equal(json_string_value(json_object_get(need, "item")),
			    "toilet_paper");
	assert_int_equal(json_integer_value(json_object_get(need, "qty")), 20);
	assert_string_equal(json_string_value(json_object_get(need, "urgency")),
			    "critical");
	assert_string_equal(json_string_value(json_object_get(msg, "note")),
			    "断水中");
	json_decref(msg);
	assert_false(draft_exists());
}

static void en_prompts_and_reasons(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("en",
			     "ten\n5\n9\n1\n"
			     "\n\n\n\n\n\n\n\n\n\n\n\n\n"
			     "y\n",
			     &out, &seq),
			 FORM_SAVED);
	contains(out, "(1/15) How many people are at the shelter now");
	contains(out, "Total people: please enter a number (for example 12).");
	contains(out, "Infants (9) is more than the total number of people (5).");
	contains(out, "Saved. Number: 1\n");
	assert_null(strstr(out, "避難"));
	free(out);
}

static void enter_keeps_the_previous_values(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("ja", ja_session, &out, &seq), FORM_SAVED);
	free(out);
	json_t *first = last_report();
	/* 13 questions, the listed need's quantity and urgency, no new
	 * need, the note, then yes. */
	assert_int_equal(run("ja",
			     "\n\n\n\n\n\n\n\n\n\n\n\n\n"
			     "\n\n\n"
			     "\n"
			     "y\n",
			     &out, &seq),
			 FORM_SAVED);
	contains(out, "(1/15) いま避難所にいる人は全部で何人ですか？ [10] > ");
	contains(out, "[いいえ]");
	contains(out, "[20]");
	assert_int_equal(seq, 2);
	free(out);
	json_t *second = last_report();
	const char *keys[] = { "headcount", "lifelines", "needs", "note" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(json_equal(json_object_get(first, keys[i]),
				       json_object_get(second, keys[i])));
	json_decref(first);
	json_decref(second);
}

static void no_at_the_summary_stores_nothing_but_keeps_a_draft(void **state)
{
	(void)state;
	char *out;
	long long seq = -1;
	assert_int_equal(run("ja", "8\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nn\n", &out,
			     &seq),
			 FORM_NOT_SAVED);
	contains(out, "保存しませんでした。");
	assert_int_equal(seq, 0);
	free(out);
	assert_null(last_report());
	assert_true(draft_exists());

	/* Resumed at the summary: save. */
	assert_int_equal(run("ja", "y\ny\n", &out, &seq), FORM_SAVED);
	contains(out, "続きから入力しますか？");
	contains(out, "1. 避難者数: 8\n");
	assert_null(strstr(out, "(1/15)"));
	free(out);
	json_t *msg = last_report();
	assert_int_equal(count(msg, "total"), 8);
	json_decref(msg);
	assert_false(draft_exists());
}

static void end_of_input_keeps_a_draft_that_resumes(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("ja", "30\n4\n", &out, &seq), FORM_STOPPED);
	contains(out, "中断しました。ここまでの入力を下書きとして保存しました");
	free(out);
	assert_true(draft_exists());
	assert_null(last_report());

	/* Continues at question 3 with the answers kept. */
	assert_int_equal(run("ja",
			     "y\n"
			     "5\n\n\n\n\n\n\n\n\n\n\n" /* 3-13 */
			     "\n\n"                      /* 14-15 */
			     "y\n",
			     &out, &seq),
			 FORM_SAVED);
	assert_null(strstr(out, "(1/15)"));
	contains(out, "(3/15) 子どもは何人ですか？");
	free(out);
	json_t *msg = last_report();
	assert_int_equal(count(msg, "total"), 30);
	assert_int_equal(count(msg, "infants"), 4);
	assert_int_equal(count(msg, "children"), 5);
	json_decref(msg);
	assert_false(draft_exists());
}

static void starting_again_ignores_the_draft(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("en", "30\n4\n", &out, &seq), FORM_STOPPED);
	free(out);
	assert_int_equal(run("en",
			     "n\n"
			     "12\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			     "y\n",
			     &out, &seq),
			 FORM_SAVED);
	contains(out, "Continue it?");
	contains(out, "(1/15) How many people");
	free(out);
	json_t *msg = last_report();
	assert_int_equal(count(msg, "total"), 12);
	assert_int_equal(count(msg, "infants"), -1);
	json_decref(msg);
	assert_false(draft_exists());
}

static void stop_before_any_answer_keeps_nothing(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("ja", "abc\n", &out, &seq), FORM_STOPPED);
	contains(out, "避難者数: 数字で入力してください（例: 12）。");
	contains(out, "まだ何も入力していないので、何も保存していません。");
	free(out);
	assert_false(draft_exists());
}

static void summary_number_changes_one_answer(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("ja",
			     "10\n2\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			     "1\n1\n" /* total 1: less than the 2 infants */
			     "6\n"
			     "y\n",
			     &out, &seq),
			 FORM_SAVED);
	contains(out, "乳幼児の数(2)が避難者数(1)を超えています。");
	contains(out, "1. 避難者数: 6\n");
	free(out);
	json_t *msg = last_report();
	assert_int_equal(count(msg, "total"), 6);
	json_decref(msg);
}

/* A draft is re-checked: answers that break the rules are asked again
 * at the summary, with the reason. */
static void resumed_draft_is_checked_again(void **state)
{
	(void)state;
	char *out;
	long long seq;
	FILE *f = fopen(draftpath, "w");
	assert_non_null(f);
	fputs("{\"v\":1,\"step\":15,\"saved_at\":\"2024-01-09T18:00:00+09:00\","
	      "\"values\":{\"total\":\"3\",\"infants\":\"7\"},\"needs\":[]}",
	      f);
	fclose(f);
	assert_int_equal(run("ja", "\n1\ny\n", &out, &seq), FORM_SAVED);
	contains(out, "（2024-01-09 18:00 に保存）");
	contains(out, "乳幼児の数(7)が避難者数(3)を超えています。");
	contains(out, "(2/15) そのうち乳幼児は何人ですか？ [7] > ");
	free(out);
	json_t *msg = last_report();
	assert_int_equal(count(msg, "infants"), 1);
	json_decref(msg);
}

static void unreadable_draft_is_said_and_skipped(void **state)
{
	(void)state;
	char *out;
	long long seq;
	FILE *f = fopen(draftpath, "w");
	assert_non_null(f);
	fputs("{\"v\":1,\"step\":99}", f);
	fclose(f);
	assert_int_equal(run("en", "4\n", &out, &seq), FORM_STOPPED);
	contains(out, "Could not read the draft (not a form draft)");
	contains(out, "(1/15) How many people");
	free(out);
}

static void schema_bounds_and_long_notes_in_plain_words(void **state)
{
	(void)state;
	char *out;
	long long seq;
	char *input = malloc(8000);
	char note[1100];
	memset(note, 'x', 1001);
	note[1001] = '\0';
	snprintf(input, 8000,
		 "2000000\n"             /* more than the schema's maximum */
		 "20\n\n\n\n\n\n\n\n\n\n" /* 2-10 */
		 "maybe\n\n\n"           /* 11 refused, 11-12 */
		 "-5\n\n"                /* 13 toilets refused, then unknown */
		 "water_drinking\n0\n"   /* a need, cancelled */
		 "gold\n\n"              /* no such item; done */
		 "%s\n"                  /* note: 1001 characters */
		 "short\nn\n",
		 note);
	assert_int_equal(run("ja", input, &out, &seq), FORM_NOT_SAVED);
	contains(out, "避難者数は1000000以下にしてください。");
	contains(out, "y（はい）か n（いいえ）で答えてください。");
	contains(out, "使えるトイレは0以上にしてください。");
	contains(out, "飲料水（2Lペットボトル） を一覧から外しました。");
	contains(out, "その番号の物資はありません。");
	contains(out, "連絡事項が長すぎます（1000文字まで）。");
	contains(out, "14. 必要な物資: なし");
	free(out);
	free(input);
}

static void unknown_language_is_refused(void **state)
{
	(void)state;
	char *out;
	long long seq;
	assert_int_equal(run("fr", "1\n", &out, &seq), SL_EINVAL);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ja_session_checks_answers_and_saves,
						setup, teardown),
		cmocka_unit_test_setup_teardown(en_prompts_and_reasons, setup,
						teardown),
		cmocka_unit_test_setup_teardown(enter_keeps_the_previous_values,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			no_at_the_summary_stores_nothing_but_keeps_a_draft,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			end_of_input_keeps_a_draft_that_resumes, setup,
			teardown),
		cmocka_unit_test_setup_teardown(starting_again_ignores_the_draft,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			stop_before_any_answer_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(summary_number_changes_one_answer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(resumed_draft_is_checked_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			unreadable_draft_is_said_and_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(
			schema_bounds_and_long_notes_in_plain_words, setup,
			teardown),
		cmocka_unit_test_setup_teardown(unknown_language_is_refused,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
