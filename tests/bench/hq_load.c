/*
 * hq_load - load generator for `hq run`: simulated shelters publishing
 * valid status reports, and (with -a) the end-to-end acknowledgement
 * measured the way an agent sees it.
 *
 *   hq_load [-b URI] [-m MUNI] [-s SHELTERS] [-n PER] [-p PREFIX]
 *           [-c CONNECTIONS] [-w WINDOW] [-a] [-r SECONDS] [-t SECONDS]
 *           [-W] [-i ID]
 *
 *   -b  broker URI (tcp://127.0.0.1:1883)
 *   -m  municipality (172022)
 *   -s  number of simulated shelters, ids PREFIX0000001.. (1000)
 *   -n  status reports per shelter, seq 1..N (100)
 *   -p  shelter id prefix (SIM)
 *   -c  publishing connections; shelter k uses connection k % C (1)
 *   -w  QoS 1 publishes awaiting PUBACK per connection (500)
 *   -a  also subscribe to every shelter's retained ack and wait until each
 *       shelter's acked_seq is N; prints publish->ack latency p50/p99
 *   -r  with -a: when no acknowledgement advanced for this many seconds,
 *       republish every seq above a shelter's acked_seq (go-back-N, as
 *       the agents do); 0 never republishes (0)
 *   -t  with -a: give up after this many seconds (600)
 *   -W  with -a: publish nothing, only wait for the acks (a backlog that
 *       was published earlier)
 *   -i  client id prefix (hq_load-PID)
 *   -R  publish at most this many reports per second in all; 0 is as
 *       fast as the window allows (0)
 *
 * Reports are interleaved across shelters: seq 1 of every shelter, then
 * seq 2, and so on, as fast as the in-flight window allows.  The last
 * line on stdout is key=value pairs for scripts; exit status 0 means all
 * published (and with -a all acknowledged), 1 otherwise.
 *
 * This is a test tool: it trusts its options and exits on any setup
 * failure; it is not the agent and keeps no outbox.
 */
#include <MQTTAsync.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct conn {
	MQTTAsync h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int inflight;
	int up;
};

static struct {
	const char *uri, *muni, *prefix;
	long shelters, per, conns, window, republish_s, timeout_s, rate;
	int acks, wait_only;
	char id[64];
} opt = { "tcp://127.0.0.1:1883", "172022", "SIM", 1000, 100, 1, 500, 0,
	  600, 0, 0, 0, "" };

static struct conn *conns;
static struct conn ackc;

/* Shared with the ack callback: protected by state_lock. */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static long long *acked;   /* per shelter */
static double *pub_time;   /* per (shelter, seq): last publish, 0 if none */
static double *lat;        /* publish->ack latencies, seconds */
static long long nlat, total_acked, acks_seen;
static unsigned long long failed;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "hq_load: %s: %s\n", what,
		rc ? MQTTAsync_strerror(rc) : strerror(errno));
	exit(2);
}

static long num(const char *s, long min, long max, char flag)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "hq_load: -%c: '%s' is not a number in %ld..%ld\n",
			flag, s, min, max);
		exit(2);
	}
	return v;
}

/* ---- publishing, with a bounded window per connection ---- */

static void pub_done(struct conn *c, int ok)
{
	pthread_mutex_lock(&c->lock);
	c->inflight--;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (!ok)
		__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	pub_done(ctx, 1);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	pub_done(ctx, 0);
}

/* A valid status report (schema and rules): about 560 bytes. */
static int payload(char *buf, size_t size, long shelter, long long seq)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return snprintf(
		buf, size,
		"{\"v\":1,\"type\":\"status\",\"shelter_id\":\"%s%07ld\","
		"\"municipality\":\"%s\",\"seq\":%lld,\"time\":\"%s\","
		"\"name\":\"Simulated shelter %ld\",\"headcount\":{\"total\":%lld,"
		"\"infants\":4,\"children\":20,\"elderly\":60,\"care\":8,"
		"\"pregnant\":1,\"pets\":3},\"needs\":[{\"item\":\"water_drinking\","
		"\"qty\":200,\"urgency\":\"critical\"},{\"item\":\"blanket\",\"qty\":50,"
		"\"urgency\":\"high\"}],\"stock\":[{\"item\":\"meal_ready\",\"qty\":240}],"
		"\"lifelines\":{\"power\":true,\"water\":false,\"toilets_usable\":4,"
		"\"comms\":true},\"position\":{\"lat\":%.5f,\"lon\":%.5f,"
		"\"source\":\"fixed\"},\"note\":\"simulated load: water cut, "
		"portable toilets short\"}",
		opt.prefix, shelter + 1, opt.muni, seq, t, shelter + 1,
		100 + seq % 100, 37.0 + (double)(shelter % 1000) / 10000.0,
		136.9 + (double)(shelter / 1000) / 10000.0);
}

static void publish(long shelter, long long seq)
{
	struct conn *c = &conns[shelter % opt.conns];
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message m = MQTTAsync_message_initializer;
	char topic[160], body[2048];
	int len = payload(body, sizeof(body), shelter, seq);

	snprintf(topic, sizeof(topic), "shelterlink/v1/%s/%s%07ld/status",
		 opt.muni, opt.prefix, shelter + 1);
	pthread_mutex_lock(&c->lock);
	while (c->inflight >= opt.window)
		pthread_cond_wait(&c->cond, &c->lock);
	c->inflight++;
	pthread_mutex_unlock(&c->lock);
	if (pub_time) {
		pthread_mutex_lock(&state_lock);
		pub_time[shelter * opt.per + (seq - 1)] = now_s();
		pthread_mutex_unlock(&state_lock);
	}
	m.payload = body;
	m.payloadlen = len;
	m.qos = 1;
	ro.onSuccess = on_pub_ok;
	ro.onFailure = on_pub_fail;
	ro.context = c;
	int rc = MQTTAsync_sendMessage(c->h, topic, &m, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		pub_done(c, 0);
}

static void drain(void)
{
	for (long i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		pthread_mutex_lock(&c->lock);
		while (c->inflight > 0)
			pthread_cond_wait(&c->cond, &c->lock);
		pthread_mutex_unlock(&c->lock);
	}
}

/* ---- acknowledgements ---- */

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	(void)ctx;
	(void)tlen;
	double t = now_s();
	json_t *doc = json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL);
	const char *id = json_string_value(json_object_get(doc, "shelter_id"));
	json_int_t a = json_integer_value(json_object_get(doc, "acked_seq"));
	size_t plen = strlen(opt.prefix);
	char *end;

	if (id && strncmp(id, opt.prefix, plen) == 0) {
		long k = strtol(id + plen, &end, 10) - 1;
		if (*end == '\0' && k >= 0 && k < opt.shelters) {
			pthread_mutex_lock(&state_lock);
			acks_seen++;
			if (a > opt.per)
				a = opt.per;
			for (long long s = acked[k] + 1; s <= a; s++) {
				double p = pub_time[k * opt.per + (s - 1)];
				if (p > 0)
					lat[nlat++] = t - p;
			}
			if (a > acked[k]) {
				total_acked += a - acked[k];
				acked[k] = a;
			}
			pthread_mutex_unlock(&state_lock);
		}
	}
	json_decref(doc);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void on_lost(void *ctx, char *cause)
{
	struct conn *c = ctx;
	fprintf(stderr, "hq_load: connection lost: %s\n", cause ? cause : "?");
	c->up = 0;
	MQTTAsync_free(cause);
}

/* ---- connections ---- */

static void on_conn_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	struct conn *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->up = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_conn_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct conn *c = ctx;
	fprintf(stderr, "hq_load: connect failed: %s\n",
		r && r->message ? r->message : "?");
	pthread_mutex_lock(&c->lock);
	c->up = -1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void connect_one(struct conn *c, const char *suffix)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	char cid[96];
	int rc;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	snprintf(cid, sizeof(cid), "%s-%s", opt.id, suffix);
	co.sendWhileDisconnected = 0;
	/* paho's command queue limit applies while connected too (default
	 * 100): above it sendMessage fails with MQTTASYNC_MAX_BUFFERED_MESSAGES */
	co.maxBufferedMessages = (int)opt.window + 16;
	rc = MQTTAsync_createWithOptions(&c->h, opt.uri, cid,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc != MQTTASYNC_SUCCESS)
		die("create", rc);
	rc = MQTTAsync_setCallbacks(c->h, c, on_lost, on_message, 
				    NULL);
	if (rc != MQTTASYNC_SUCCESS)
		die("callbacks", rc);
	o.keepAliveInterval = 60;
	o.cleansession = 1;
	o.maxInflight = (int)opt.window;
	o.onSuccess = on_conn_ok;
	o.onFailure = on_conn_fail;
	o.context = c;
	if ((rc = MQTTAsync_connect(c->h, &o)) != MQTTASYNC_SUCCESS)
		die("connect", rc);
	pthread_mutex_lock(&c->lock);
	while (c->up == 0)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->up < 0)
		exit(2);
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	struct conn *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->inflight = -1; /* subscribed */
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void subscribe_acks(void)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	char filter[128];
	snprintf(filter, sizeof(filter), "shelterlink/v1/%s/+/ack", opt.muni);
	connect_one(&ackc, "acks");
	ro.onSuccess = on_sub_ok;
	ro.context = &ackc;
	int rc = MQTTAsync_subscribe(ackc.h, filter, 1, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		die("subscribe", rc);
	pthread_mutex_lock(&ackc.lock);
	while (ackc.inflight != -1)
		pthread_cond_wait(&ackc.cond, &ackc.lock);
	pthread_mutex_unlock(&ackc.lock);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, long long n, double p)
{
	if (n == 0)
		return 0;
	long long i = (long long)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* Go-back-N for every shelter not fully acknowledged; returns how many. */
static long long republish(void)
{
	long long n = 0;
	for (long long seq = 1; seq <= opt.per; seq++)
		for (long k = 0; k < opt.shelters; k++) {
			pthread_mutex_lock(&state_lock);
			long long a = acked[k];
			pthread_mutex_unlock(&state_lock);
			if (seq > a) {
				publish(k, seq);
				n++;
			}
		}
	return n;
}

static int wait_acks(double t0, long long *republished)
{
	long long want = (long long)opt.shelters * opt.per, last = -1;
	double last_move = now_s();
	for (;;) {
		pthread_mutex_lock(&state_lock);
		long long got = total_acked;
		pthread_mutex_unlock(&state_lock);
		if (got >= want)
			return 0;
		double now = now_s();
		if (got != last) {
			last = got;
			last_move = now;
		}
		if (now - t0 > (double)opt.timeout_s) {
			fprintf(stderr, "hq_load: timeout: %lld of %lld acknowledged\n",
				got, want);
			return 1;
		}
		if (opt.republish_s > 0 && !opt.wait_only &&
		    now - last_move > (double)opt.republish_s) {
			long long n = republish();
			*republished += n;
			fprintf(stderr,
				"hq_load: acks stalled at %lld of %lld for %lds: "
				"republished %lld\n",
				got, want, opt.republish_s, n);
			last_move = now_s();
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	}
}

int main(int argc, char **argv)
{
	int ch;
	while ((ch = getopt(argc, argv, "b:m:s:n:p:c:w:ar:t:Wi:R:")) != -1) {
		switch (ch) {
		case 'b': opt.uri = optarg; break;
		case 'm': opt.muni = optarg; break;
		case 's': opt.shelters = num(optarg, 1, 9999999, 's'); break;
		case 'n': opt.per = num(optarg, 1, 1000000, 'n'); break;
		case 'p': opt.prefix = optarg; break;
		case 'c': opt.conns = num(optarg, 1, 64, 'c'); break;
		case 'w': opt.window = num(optarg, 1, 65535, 'w'); break;
		case 'a': opt.acks = 1; break;
		case 'r': opt.republish_s = num(optarg, 0, 3600, 'r'); break;
		case 't': opt.timeout_s = num(optarg, 1, 86400, 't'); break;
		case 'W': opt.wait_only = 1; break;
		case 'R': opt.rate = num(optarg, 0, 10000000, 'R'); break;
		case 'i': snprintf(opt.id, sizeof(opt.id), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of "
					"tests/bench/hq_load.c\n");
			return 2;
		}
	}
	if (opt.id[0] == '\0')
		snprintf(opt.id, sizeof(opt.id), "hq_load-%ld", (long)getpid());
	long long total = (long long)opt.shelters * opt.per;
	if (opt.acks) {
		acked = calloc((size_t)opt.shelters, sizeof(*acked));
		pub_time = calloc((size_t)total, sizeof(*pub_time));
		lat = calloc((size_t)total, sizeof(*lat));
		if (!acked || !pub_time || !lat)
			die("out of memory", 0);
		subscribe_acks();
	}
	conns = calloc((size_t)opt.conns, sizeof(*conns));
	if (conns == NULL)
		die("out of memory", 0);
	if (!opt.wait_only)
		for (long i = 0; i < opt.conns; i++) {
			char suffix[32];
			snprintf(suffix, sizeof(suffix), "pub%ld", i);
			connect_one(&conns[i], suffix);
		}

	double t0 = now_s(), t_pub = t0;
	if (!opt.wait_only) {
		long long i = 0;
		for (long long seq = 1; seq <= opt.per; seq++)
			for (long k = 0; k < opt.shelters; k++, i++) {
				double wait = opt.rate ? t0 + (double)i / (double)opt.rate - now_s()
						       : 0;
				if (wait > 0)
					nanosleep(&(struct timespec){
							  .tv_sec = (time_t)wait,
							  .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9) },
						  NULL);
				publish(k, seq);
			}
		drain();
		t_pub = now_s();
		double s = t_pub - t0;
		printf("published %lld in %.2f s: %.0f/s, %llu failed\n", total, s,
		       (double)total / s, failed);
	}
	int rc = failed > 0 && !opt.acks;
	long long republished = 0;
	if (opt.acks) {
		rc = wait_acks(t0, &republished);
		drain();
		double t1 = now_s();
		pthread_mutex_lock(&state_lock);
		qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
		printf("acknowledged %lld of %lld in %.2f s from the start "
		       "(%lld ack messages, %lld republished)\n",
		       total_acked, total, t1 - t0, acks_seen, republished);
		printf("latency publish->ack over %lld reports: p50 %.1f ms, "
		       "p99 %.1f ms, max %.1f ms\n",
		       nlat, pct(lat, nlat, 0.5) * 1e3, pct(lat, nlat, 0.99) * 1e3,
		       nlat ? lat[nlat - 1] * 1e3 : 0.0);
		printf("RESULT published=%lld pub_s=%.3f acked=%lld ack_s=%.3f "
		       "p50_ms=%.1f p99_ms=%.1f republished=%lld failed=%llu\n",
		       opt.wait_only ? 0 : total, t_pub - t0, total_acked, t1 - t0,
		       pct(lat, nlat, 0.5) * 1e3, pct(lat, nlat, 0.99) * 1e3,
		       republished, failed);
		pthread_mutex_unlock(&state_lock);
	} else {
		printf("RESULT published=%lld pub_s=%.3f failed=%llu\n", total,
		       t_pub - t0, failed);
	}
	fflush(stdout);
	for (long i = 0; i < opt.conns && !opt.wait_only; i++) {
		MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
		d.timeout = 2000;
		MQTTAsync_disconnect(conns[i].h, &d);
	}
	if (opt.acks) {
		MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
		MQTTAsync_disconnect(ackc.h, &d);
	}
	nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	_exit(rc); /* paho's threads: no destroy race at exit */
}
