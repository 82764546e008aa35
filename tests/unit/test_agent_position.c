/* Unit tests of shelter-agent/position: strict fixed positions, the gpsd
 * address, the schema's shape, and position_from_gpsd against small fake
 * gpsds on loopback that answer, say nothing, stop mid-line, hang up or
 * never complete the TCP handshake: it always returns within its budget.
 * (Real gpsd replaying real receiver logs: tests/integration/
 * test_agent_gps.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "msg.h"

static void expect_fixed(const char *lat, const char *lon, double elat,
			 double elon)
{
	struct position p;
	sl_error err = {""};
	if (position_fixed(lat, lon, &p, &err) != 0)
		fail_msg("'%s', '%s': %s", lat, lon, err.text);
	assert_true(p.lat == elat && p.lon == elon);
	assert_string_equal(p.source, "fixed");
	assert_true(isnan(p.accuracy_m));
	assert_int_equal(p.fix_mode, 0);
	assert_int_equal(p.fix_time, 0);
}

static void expect_fixed_refused(const char *lat, const char *lon,
				 const char *needle)
{
	struct position p = {.lat = 1};
	sl_error err = {""};
	assert_int_equal(position_fixed(lat, lon, &p, &err), SL_EINVAL);
	if (strstr(err.text, needle) == NULL)
		fail_msg("'%s', '%s': '%s' lacks '%s'", lat ? lat : "(null)",
			 lon ? lon : "(null)", err.text, needle);
	assert_true(p.lat == 1); /* untouched */
}

static void fixed_takes_decimal_degrees_within_bounds(void **state)
{
	(void)state;
	expect_fixed("37.04185", "136.97373", 37.04185, 136.97373);
	expect_fixed("-90", "180", -90, 180);
	expect_fixed("+90.0", "-180.000", 90, -180);
	expect_fixed("0", ".5", 0, 0.5);
}

static void fixed_refuses_anything_else(void **state)
{
	(void)state;
	const char *bad[] = {"",    "abc", " 37",  "37 ", "1e1",
			     "nan", "inf", "0x10", "--1", "1.2.3",
			     ".",   "+",   "37,5", "３７"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_fixed_refused(bad[i], "136", "latitude");
		expect_fixed_refused("37", bad[i], "longitude");
	}
	expect_fixed_refused("90.0001", "0",
			     "latitude: 90.0001 is outside -90..90");
	expect_fixed_refused("-91", "0", "outside");
	expect_fixed_refused("0", "180.0000001", "longitude");
	expect_fixed_refused("0", "-181", "outside -180..180");
	expect_fixed_refused("1", NULL, "latitude is set but longitude is not");
	expect_fixed_refused(NULL, "1", "longitude is set but latitude is not");
}

static void fixed_unset_is_not_found(void **state)
{
	(void)state;
	struct position p;
	assert_int_equal(position_fixed(NULL, NULL, &p, NULL), SL_ENOTFOUND);
}

static void expect_address(const char *spec, const char *host, const char *port)
{
	char h[POSITION_HOST_MAX], p[POSITION_PORT_MAX];
	sl_error err = {""};
	if (position_gpsd_address(spec, h, p, &err) != 0)
		fail_msg("'%s': %s", spec, err.text);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
}

static void gpsd_address_is_host_port(void **state)
{
	(void)state;
	char h[POSITION_HOST_MAX], p[POSITION_PORT_MAX];
	sl_error err = {""};

	expect_address("localhost:2947", "localhost", "2947");
	expect_address("127.0.0.1:1", "127.0.0.1", "1");
	expect_address("gps-1.shelter_lan:65535", "gps-1.shelter_lan", "65535");
	expect_address("gpshost", "gpshost", "2947");
	expect_address("[::1]:2948", "::1", "2948");
	expect_address("[fe80::1%eth0]", "fe80::1%eth0", "2947");
	assert_int_equal(position_gpsd_address("none", h, p, NULL),
			 SL_ENOTFOUND);
	const char *bad[] = {"",
			     ":2947",
			     "host:",
			     "host:0",
			     "host:65536",
			     "host:12a",
			     "host:-1",
			     "a b:1",
			     "[::1",
			     "[::1]2947",
			     "[]:1",
			     "::1",
			     "shared memory",
			     "host:2947:1",
			     "host:0x10",
			     "host:029470"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (position_gpsd_address(bad[i], h, p, &err) != SL_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err.text, "is not host:port"));
	}
}

/* Keys of an object, in order, comma-separated. */
static void keys_are(const json_t *j, const char *want)
{
	char got[128] = "";
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)j, key, v) {
		(void)v;
		if (got[0])
			strcat(got, ",");
		strcat(got, key);
	}
	assert_string_equal(got, want);
}

/* The position inside a status report satisfies the status schema. */
static void valid_in_a_report(json_t *pos)
{
	schema_set *set = schema_set_new();
	sl_error err = {""};
	if (schema_set_load_dir(set, SL_SCHEMA_DIR, &err) != 0 ||
	    schema_set_resolve(set, &err) != 0)
		fail_msg("%s", err.text);
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:{s:i}, s:O}",
			      "v", 1, "type", "status", "shelter_id",
			      "CC0000000518", "municipality", "172022", "seq",
			      1, "time", "2024-01-09T18:00:00+09:00",
			      "headcount", "total", 1, "position", pos);
	int rc = schema_validate(set, "status", m, &err);
	json_decref(m);
	schema_set_free(set);
	if (rc != 0)
		fail_msg("%s", err.text);
}

static void json_of_a_fixed_position(void **state)
{
	(void)state;
	struct position p;
	assert_int_equal(position_fixed("37.04185", "136.97373", &p, NULL), 0);
	json_t *j = position_to_json(&p);
	assert_non_null(j);
	keys_are(j, "lat,lon,source");
	assert_true(json_real_value(json_object_get(j, "lat")) == 37.04185);
	assert_true(json_real_value(json_object_get(j, "lon")) == 136.97373);
	assert_string_equal(json_string_value(json_object_get(j, "source")),
			    "fixed");
	valid_in_a_report(j);
	json_decref(j);
}

static void json_of_a_gps_fix(void **state)
{
	(void)state;
	struct position p = {-37.784788333, 175.314896667, 20.9, 3,
			     1704790800,    "gps"};
	char when[32];
	json_t *j = position_to_json(&p);
	assert_non_null(j);
	keys_are(j, "lat,lon,source,accuracy_m,fix_mode,fix_time");
	assert_true(json_real_value(json_object_get(j, "accuracy_m")) == 20.9);
	assert_string_equal(json_string_value(json_object_get(j, "fix_mode")),
			    "3d");
	msg_time(1704790800, when);
	assert_string_equal(json_string_value(json_object_get(j, "fix_time")),
			    when);
	valid_in_a_report(j);
	json_decref(j);

	/* unknown accuracy and time are left out; 2D says so */
	p = (struct position){44.069011, -121.314246833, NAN, 2, 0, "gps"};
	j = position_to_json(&p);
	keys_are(j, "lat,lon,source,fix_mode");
	assert_string_equal(json_string_value(json_object_get(j, "fix_mode")),
			    "2d");
	valid_in_a_report(j);
	json_decref(j);
}

/* ---- position_from_gpsd against fake gpsds on 127.0.0.1 ---- */

struct fake {
	int lfd;
	unsigned short portnum;
	char port[8];
	const char *script; /* written after accepting; NULL: never accept */
	int hang_up;	    /* close right after the script */
	pthread_t thread;
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd = {f->lfd, POLLIN, 0};
	char buf[512];

	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	int c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	if (write(c, f->script, strlen(f->script)) < 0 || f->hang_up) {
		close(c);
		return NULL;
	}
	/* hold the connection until the client hangs up */
	pfd.fd = c;
	while (poll(&pfd, 1, 5000) == 1 && read(c, buf, sizeof(buf)) > 0)
		;
	close(c);
	return NULL;
}

/* A listener on a free loopback port; backlog 0 so that one queued
 * connection makes the kernel drop further handshakes. */
static void fake_start(struct fake *f, const char *script, int hang_up)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 0), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	f->portnum = ntohs(a.sin_port);
	snprintf(f->port, sizeof(f->port), "%u", f->portnum);
	f->script = script;
	f->hang_up = hang_up;
	if (script != NULL)
		assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f),
				 0);
}

static void fake_stop(struct fake *f)
{
	if (f->script != NULL)
		pthread_join(f->thread, NULL);
	close(f->lfd);
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Asks the fake with `budget_ms`; returns the code, *took_ms the time. */
static int ask(struct fake *f, int budget_ms, struct position *p, sl_error *err,
	       long long *took_ms)
{
	long long t0 = now_ms();
	int rc = position_from_gpsd("127.0.0.1", f->port, budget_ms, p, err);
	*took_ms = now_ms() - t0;
	return rc;
}

#define VERSION_LINE                                                           \
	"{\"class\":\"VERSION\",\"release\":\"3.22\",\"rev\":\"3.22\","        \
	"\"proto_major\":3,\"proto_minor\":14}\n"
#define NOFIX_LINE "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":1}\n"

static void gpsd_fix_is_read(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(
		&f,
		VERSION_LINE NOFIX_LINE
		"{\"class\":\"SKY\",\"device\":\"/dev/pts/1\",\"hdop\":0.9}\n"
		"{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,"
		"\"time\":\"2024-01-09T09:00:00.000Z\",\"lat\":37.04185,"
		"\"lon\":136.97373,\"eph\":4.5,\"epx\":9,\"epy\":9}\n",
		0);
	int rc = ask(&f, 2000, &p, &err, &took);
	fake_stop(&f);
	if (rc != 0)
		fail_msg("%s", err.text);
	assert_true(p.lat == 37.04185 && p.lon == 136.97373);
	assert_true(p.accuracy_m == 4.5); /* eph first */
	assert_int_equal(p.fix_mode, 3);
	assert_int_equal(p.fix_time, 1704790800);
	assert_string_equal(p.source, "gps");
	assert_true(took < 1000);
}

static void gpsd_accuracy_from_epx_epy(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(&f,
		   VERSION_LINE
		   "{\"class\":\"TPV\",\"mode\":2,\"lat\":-1.5,\"lon\":-2.5,"
		   "\"epx\":3,\"epy\":4}\n",
		   0);
	int rc = ask(&f, 2000, &p, &err, &took);
	fake_stop(&f);
	if (rc != 0)
		fail_msg("%s", err.text);
	assert_true(p.accuracy_m == 5);
	assert_int_equal(p.fix_mode, 2);
	assert_int_equal(p.fix_time, 0);

	fake_start(&f,
		   VERSION_LINE "{\"class\":\"TPV\",\"mode\":3,"
				"\"lat\":1,\"lon\":2,\"epx\":3}\n",
		   0);
	rc = ask(&f, 2000, &p, &err, &took);
	fake_stop(&f);
	assert_int_equal(rc, 0);
	assert_true(isnan(p.accuracy_m));
}

static void gpsd_without_fix_is_not_found_after_budget(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	/* mode 1, and a mode 3 whose lat/lon are missing */
	fake_start(&f,
		   VERSION_LINE NOFIX_LINE
		   "{\"class\":\"TPV\",\"mode\":3,\"lon\":2}\n",
		   0);
	int rc = ask(&f, 300, &p, &err, &took);
	fake_stop(&f);
	assert_int_equal(rc, SL_ENOTFOUND);
	assert_non_null(strstr(err.text, "no 2D/3D fix after 300 ms"));
	assert_true(took >= 290 && took < 800);
}

static void gpsd_stopping_mid_line_does_not_block(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(&f,
		   VERSION_LINE "{\"class\":\"TPV\",\"mode\":3,\"lat\":", 0);
	int rc = ask(&f, 300, &p, &err, &took);
	fake_stop(&f);
	assert_int_equal(rc, SL_ENOTFOUND);
	assert_true(took < 800);
}

static void silent_listener_times_out(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(&f, NULL, 0); /* the kernel accepts; nobody speaks */
	int rc = ask(&f, 300, &p, &err, &took);
	fake_stop(&f);
	assert_int_equal(rc, SL_ETIMEOUT);
	assert_non_null(strstr(err.text, "said nothing in 300 ms"));
	assert_true(took < 800);
}

static void hang_up_is_a_network_error(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(&f, VERSION_LINE, 1);
	int rc = ask(&f, 2000, &p, &err, &took);
	fake_stop(&f);
	assert_int_equal(rc, SL_ENET);
	assert_true(took < 1000);
}

static void refused_connection_returns_at_once(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;

	fake_start(&f, NULL, 0);
	close(f.lfd); /* the port is free again: nothing listens */
	int rc = ask(&f, 5000, &p, &err, &took);
	assert_int_equal(rc, SL_ENET);
	assert_true(took < 500);
}

/* A handshake that never completes (the listener's queue is full, so the
 * kernel drops the SYN, like a host that is off the network): libgps'
 * connect would block for minutes; the caller gets its answer within
 * the budget and the worker is left to finish on its own. */
static void hanging_connect_is_abandoned_within_budget(void **state)
{
	(void)state;
	struct fake f;
	struct position p;
	sl_error err = {""};
	long long took;
	struct sockaddr_in a = {.sin_family = AF_INET};

	fake_start(&f, NULL, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(f.portnum);
	int filler = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof(a)), 0);
	int rc = ask(&f, 300, &p, &err, &took);
	assert_int_equal(rc, SL_ENET);
	assert_non_null(strstr(err.text, "no connection within 300 ms"));
	assert_true(took >= 300 && took < 900);
	fake_stop(&f); /* refuses the pending handshake: the worker ends */
	close(filler);
	nanosleep(&(struct timespec){0, 200000000L}, NULL);
}

static void no_budget_is_refused(void **state)
{
	(void)state;
	struct position p;
	assert_int_equal(position_from_gpsd("127.0.0.1", "2947", 0, &p, NULL),
			 SL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed_takes_decimal_degrees_within_bounds),
		cmocka_unit_test(fixed_refuses_anything_else),
		cmocka_unit_test(fixed_unset_is_not_found),
		cmocka_unit_test(gpsd_address_is_host_port),
		cmocka_unit_test(json_of_a_fixed_position),
		cmocka_unit_test(json_of_a_gps_fix),
		cmocka_unit_test(gpsd_fix_is_read),
		cmocka_unit_test(gpsd_accuracy_from_epx_epy),
		cmocka_unit_test(gpsd_without_fix_is_not_found_after_budget),
		cmocka_unit_test(gpsd_stopping_mid_line_does_not_block),
		cmocka_unit_test(silent_listener_times_out),
		cmocka_unit_test(hang_up_is_a_network_error),
		cmocka_unit_test(refused_connection_returns_at_once),
		cmocka_unit_test(hanging_connect_is_abandoned_within_budget),
		cmocka_unit_test(no_budget_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
