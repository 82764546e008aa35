/* Unit tests of common/topic: the topic tree of docs/protocol.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "error.h"
#include "topic.h"

static void builds_and_parses_every_kind(void **state)
{
	(void)state;
	char buf[TOPIC_MAX];
	struct topic_parts p;
	for (int k = 0; k < TOPIC_KIND_COUNT; k++) {
		assert_int_equal(topic_build(buf, sizeof(buf), "172022",
					     "CC0000000518", (enum topic_kind)k),
				 0);
		assert_int_equal(topic_parse(buf, &p), 0);
		assert_int_equal(p.kind, k);
		assert_string_equal(p.municipality, "172022");
		assert_string_equal(p.shelter_id,
				    k == TOPIC_HQ_STATE || k == TOPIC_FEED
					    ? ""
					    : "CC0000000518");
	}
	topic_build(buf, sizeof(buf), "172022", "NEW001", TOPIC_STATUS);
	assert_string_equal(buf, "shelterlink/v1/172022/NEW001/status");
	topic_build(buf, sizeof(buf), "172022", NULL, TOPIC_HQ_STATE);
	assert_string_equal(buf, "shelterlink/v1/172022/_hq/state");
	topic_build(buf, sizeof(buf), "172022", NULL, TOPIC_FEED);
	assert_string_equal(buf, "shelterlink/v1/172022/_hq/feed");
	assert_int_not_equal(topic_parse("shelterlink/v1/172022/_hq/other", &p), 0);
	topic_build(buf, sizeof(buf), "172022", "+", TOPIC_ACK);
	assert_string_equal(buf, "shelterlink/v1/172022/+/ack");
}

static void rejects_foreign_topics(void **state)
{
	(void)state;
	struct topic_parts p;
	const char *bad[] = {
		"shelterlink/v2/172022/A/status",
		"shelterlink/v1/172022/A/status/extra",
		"shelterlink/v1/172022/A/unknown",
		"shelterlink/v1/172022//status",
		"shelterlink/v1/172022/_hq/ack",
		"shelterlink/v1/172022",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(topic_parse(bad[i], &p), SL_EINVAL);
}

static void refuses_levels_that_break_the_tree(void **state)
{
	(void)state;
	char buf[TOPIC_MAX], small[20];
	assert_int_equal(topic_build(buf, sizeof(buf), "172022", "a/b", TOPIC_STATUS),
			 SL_EINVAL);
	assert_int_equal(topic_build(buf, sizeof(buf), "", "A", TOPIC_STATUS),
			 SL_EINVAL);
	assert_int_equal(topic_build(small, sizeof(small), "172022", "A", TOPIC_STATUS),
			 SL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builds_and_parses_every_kind),
		cmocka_unit_test(rejects_foreign_topics),
		cmocka_unit_test(refuses_levels_that_break_the_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
