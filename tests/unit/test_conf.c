/* Unit tests of common/conf: the table drives parsing, bounds and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

struct cfg {
	char *name;
	long long port;
	int enabled;
	char *secret;
};

static const struct conf_option table[] = {
	{ "name", CONF_STRING, NULL, 0, 16, CONF_REQUIRED,
	  offsetof(struct cfg, name), "a name" },
	{ "port", CONF_INT, "1883", 1, 65535, 0, offsetof(struct cfg, port),
	  "a port" },
	{ "enabled", CONF_BOOL, "no", 0, 0, 0, offsetof(struct cfg, enabled),
	  "a flag" },
	{ "secret", CONF_STRING, NULL, 0, 64, CONF_SECRET,
	  offsetof(struct cfg, secret), "a secret" },
};
#define N (sizeof(table) / sizeof(table[0]))

static char path[64];

static int load_text(const char *text, struct cfg *c, sl_error *err)
{
	snprintf(path, sizeof(path), "/tmp/sl-conf-test.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	int rc = conf_load(table, N, c, path, err);
	remove(path);
	return rc;
}

static void loads_values_and_defaults(void **state)
{
	(void)state;
	struct cfg c;
	sl_error err;
	assert_int_equal(load_text("# comment\n\n  name =  shelter one \n"
				   "enabled = yes\nsecret = p#ss word\n",
				   &c, &err),
			 0);
	assert_string_equal(c.name, "shelter one");
	assert_int_equal(c.port, 1883);
	assert_int_equal(c.enabled, 1);
	assert_string_equal(c.secret, "p#ss word");
	conf_free(table, N, &c);
	assert_null(c.name);
}

static void expect_error(const char *text, const char *needle)
{
	struct cfg c;
	sl_error err;
	int rc = load_text(text, &c, &err);
	conf_free(table, N, &c);
	assert_int_equal(rc, SL_EINVAL);
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err.text, needle);
}

static void rejects_bad_input_with_line(void **state)
{
	(void)state;
	expect_error("name = a\nport = 70000\n", ":2: key 'port': 70000 is outside 1..65535");
	expect_error("name = a\nport = 12x\n", ":2: key 'port': '12x' is not an integer");
	expect_error("name = a\nport=\n", ":2: key 'port': '' is not an integer");
	expect_error("name = a\ncolour = red\n", ":2: unknown key 'colour'");
	expect_error("name = a\nname = b\n", ":2: key 'name' set twice");
	expect_error("name a\n", ":1: expected 'key = value'");
	expect_error("port = 1\n", "required key 'name' is missing");
	expect_error("name = 01234567890123456789\n", "longer than 16 bytes");
	expect_error("name = a\nenabled = maybe\n", "'maybe' is not yes or no");
}

static void missing_file_is_io_error(void **state)
{
	(void)state;
	struct cfg c;
	sl_error err;
	assert_int_equal(conf_load(table, N, &c, "/nonexistent/x.conf", &err),
			 SL_EIO);
	assert_non_null(strstr(err.text, "/nonexistent/x.conf"));
	conf_free(table, N, &c);
}

static void dump_masks_secrets(void **state)
{
	(void)state;
	struct cfg c;
	sl_error err;
	char buf[512] = { 0 };
	assert_int_equal(load_text("name = a\nsecret = hunter2\n", &c, &err), 0);
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	conf_dump(table, N, &c, f);
	conf_help(table, N, f);
	fclose(f);
	assert_null(strstr(buf, "hunter2"));
	assert_non_null(strstr(buf, "secret = (set)"));
	assert_non_null(strstr(buf, "(required)"));
	conf_free(table, N, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads_values_and_defaults),
		cmocka_unit_test(rejects_bad_input_with_line),
		cmocka_unit_test(missing_file_is_io_error),
		cmocka_unit_test(dump_masks_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
