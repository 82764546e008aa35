/*
 * bench_drain - how fast can a client take a persistent session's backlog
 * off a broker at all?  The floor under hq's custody figure
 * (bench_drain.sh, docs/benchmarks.md "hq ingest").
 *
 *   bench_drain mosquitto PORT CLIENT_ID N   libmosquitto, messages dropped
 *   bench_drain paho PORT CLIENT_ID N        paho MQTTAsync, messages dropped
 *   bench_drain file PORT CLIENT_ID N FILE   libmosquitto, topic and payload
 *                                            appended to FILE through stdio,
 *                                            one fsync at the end
 *   bench_drain inbox PORT CLIENT_ID N FILE  libmosquitto into hq's inbox
 *                                            (common/inbox.c) at FILE, until
 *                                            it has committed all: hq's
 *                                            custody without processing
 *
 * The session (clean session off, subscribed at QoS 1) must exist.
 * Prints "RESULT mode=M n=N s=SECONDS rate=PER_SECOND".
 */
#define _POSIX_C_SOURCE 200809L
#include <MQTTAsync.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"

static long long want;
static atomic_llong got;
static FILE *out;
static inbox *box;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_mosq_message(struct mosquitto *m, void *arg,
			    const struct mosquitto_message *msg)
{
	(void)arg;
	if (box)
		inbox_put(box, msg->topic, msg->payload, (size_t)msg->payloadlen);
	if (out) {
		fputs(msg->topic, out);
		fwrite(msg->payload, 1, (size_t)msg->payloadlen, out);
	}
	if (atomic_fetch_add(&got, 1) + 1 >= want)
		mosquitto_disconnect(m);
}

static int drain_mosquitto(int port, const char *id)
{
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new(id, false, NULL);
	if (m == NULL)
		return 1;
	mosquitto_message_callback_set(m, on_mosq_message);
	if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_drain: cannot connect to port %d\n", port);
		return 1;
	}
	mosquitto_loop_forever(m, -1, 1);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}

static int on_paho_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
	(void)ctx;
	(void)len;
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	atomic_fetch_add(&got, 1);
	return 1;
}

static int drain_paho(int port, const char *id)
{
	char uri[64];
	MQTTAsync c;
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
	if (MQTTAsync_create(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS)
		return 1;
	MQTTAsync_setCallbacks(c, NULL, NULL, on_paho_message, NULL);
	o.cleansession = 0;
	o.keepAliveInterval = 60;
	if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS)
		return 1;
	while (atomic_load(&got) < want)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	MQTTAsync_disconnect(c, NULL);
	MQTTAsync_destroy(&c);
	return 0;
}

int main(int argc, char **argv)
{
	int to_file = argc >= 2 && (strcmp(argv[1], "file") == 0 ||
				    strcmp(argv[1], "inbox") == 0);
	if (argc < 5 || (to_file && argc < 6)) {
		fprintf(stderr, "usage: bench_drain mosquitto|paho|file|inbox "
				"PORT CLIENT_ID N [FILE]\n");
		return 2;
	}
	int port = atoi(argv[2]);
	want = atoll(argv[4]);
	double t0 = now_s();
	sl_error err;
	if (strcmp(argv[1], "file") == 0 && (out = fopen(argv[5], "w")) == NULL) {
		perror(argv[5]);
		return 1;
	}
	if (strcmp(argv[1], "inbox") == 0 &&
	    (box = inbox_open(argv[5], 8192, 0, &err)) == NULL) {
		fprintf(stderr, "bench_drain: %s\n", err.text);
		return 1;
	}
	int rc = strcmp(argv[1], "paho") == 0 ? drain_paho(port, argv[3])
					      : drain_mosquitto(port, argv[3]);
	if (box) {
		while (inbox_wait(box, want, 1000) < want)
			;
		inbox_close(box);
	}
	if (out && (fflush(out) != 0 || fsync(fileno(out)) != 0 ||
		    fclose(out) != 0)) {
		perror(argv[5]);
		return 1;
	}
	double s = now_s() - t0;
	if (rc == 0)
		printf("RESULT mode=%s n=%lld s=%.3f rate=%.0f\n", argv[1],
		       (long long)atomic_load(&got), s,
		       (double)atomic_load(&got) / s);
	return rc;
}
