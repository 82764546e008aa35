/*
 * mq.c - see mq.h.  paho callbacks only copy what they were given into an
 * event and signal the owner; everything else happens in mq_poll() on the
 * owner thread, including (re)connecting, so there is exactly one place
 * where connection state changes are acted on.
 *
 * Bounded intake: paho PUBACKs an incoming message before handing it to
 * on_message and keeps reading the socket whatever the callback returns,
 * so the only way to stop a broker backlog flowing into memory is for
 * on_message to wait while the queue is full: paho's receive thread then
 * stops reading, and TCP pushes back to the broker.  It waits holding
 * paho's global mutex, which every paho call (a publish from the owner
 * too) and paho's send thread need.  So it waits only while the owner is
 * not calling into paho: every owner call is bracketed by
 * owner_enter()/owner_leave(), and entering wakes a waiting callback,
 * which then takes the message anyway (the queue may go past its limit
 * by what arrives during the call).  paho's mutex and its receive thread
 * serve every client in the process, so the lock, the count of owner
 * calls and the wait are global too: a publish on one client must wake
 * a callback waiting on another.
 */
#include "mq.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct mq_node {
	struct mq_node *next;
	struct mq_event ev;
};

/* One per QoS>0 publish, so the callback knows its client and tag. */
struct pub_ctx {
	struct pub_ctx *prev, *next;
	mq_client *client;
	long long tag;
};

struct sub {
	char *filter;
	int qos;
};

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_UP, CONN_WAITING };

struct mq_client {
	MQTTAsync handle;
	struct mq_options opt;
	char *uris, *client_id, *username, *password;
	char *ca_file, *cert_file, *key_file;
	char **uri_list;
	int uri_count;

	char *will_topic;
	unsigned char *will_payload;
	size_t will_len;
	int will_qos, will_retain, has_will;

	struct sub *subs;
	size_t nsubs;

	/* Shared with paho threads: protected by mq_lock. */
	pthread_cond_t cond; /* the owner waits for events */
	struct mq_node *head, *tail;
	size_t queued;
	int stopping;      /* mq_stop: never wait again */
	struct pub_ctx *pending;
	int inflight;

	/* Owner thread only. */
	struct mq_node *ready; /* taken from the queue at once, in order */
	size_t nready;
	enum conn_state state;
	struct timespec retry_at;
	int backoff_ms;
	unsigned rand_state;
};

/* Every client's shared state (see the top). */
static pthread_mutex_t mq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mq_room = PTHREAD_COND_INITIALIZER; /* on_message waits */
static int parked;        /* on_message calls waiting for room */
static int owner_in_paho; /* the owner is inside a paho call */

static char *dupstr(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void mono_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long long ms_until(const struct timespec *t)
{
	struct timespec now;
	mono_now(&now);
	return (long long)(t->tv_sec - now.tv_sec) * 1000 +
	       (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void add_ms(struct timespec *t, long long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Called with lock held.  Takes ownership of node. */
static void enqueue_locked(mq_client *c, struct mq_node *node)
{
	node->next = NULL;
	if (c->tail)
		c->tail->next = node;
	else
		c->head = node;
	c->tail = node;
	c->queued++;
	pthread_cond_signal(&c->cond);
}

/*
 * Status events (connect, publish results) are never refused even when
 * the queue is full: losing one would desynchronise the owner's state.
 * Only incoming messages are pushed back to paho under pressure.
 */
static void push_status(mq_client *c, enum mq_event_type type, long long tag,
			int code, const char *reason)
{
	struct mq_node *node = calloc(1, sizeof(*node));
	if (node == NULL) {
		log_error("mq: out of memory queueing an event");
		return;
	}
	node->ev.type = type;
	node->ev.tag = tag;
	node->ev.code = code;
	if (reason)
		snprintf(node->ev.reason, sizeof(node->ev.reason), "%s", reason);
	pthread_mutex_lock(&mq_lock);
	enqueue_locked(c, node);
	pthread_mutex_unlock(&mq_lock);
}

/* Brackets every paho call made by the owner thread (see the top). */
static void owner_enter(void)
{
	pthread_mutex_lock(&mq_lock);
	owner_in_paho++;
	if (parked)
		pthread_cond_broadcast(&mq_room);
	pthread_mutex_unlock(&mq_lock);
}

static void owner_leave(void)
{
	pthread_mutex_lock(&mq_lock);
	owner_in_paho--;
	pthread_mutex_unlock(&mq_lock);
}

static void on_connection_lost(void *context, char *cause)
{
	mq_client *c = context;
	push_status(c, MQ_EV_CONNECTION_LOST, 0, 0,
		    cause ? cause : "connection lost");
	free(cause);
}

static int on_message(void *context, char *topic, int topic_len,
		      MQTTAsync_message *msg)
{
	mq_client *c = context;
	size_t wire = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	size_t keep = wire > c->opt.max_payload ? c->opt.max_payload : wire;
	struct mq_node *node;

	node = calloc(1, sizeof(*node));
	if (node == NULL)
		return 0;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	node->ev.topic = malloc(tlen + 1);
	node->ev.payload = malloc(keep + 1);
	if (node->ev.topic == NULL || node->ev.payload == NULL) {
		mq_event_clear(&node->ev);
		free(node);
		return 0;
	}
	memcpy(node->ev.topic, topic, tlen);
	node->ev.topic[tlen] = '\0';
	if (keep)
		memcpy(node->ev.payload, msg->payload, keep);
	node->ev.payload[keep] = '\0';
	node->ev.type = MQ_EV_MESSAGE;
	node->ev.len = keep;
	node->ev.original_len = wire;
	node->ev.truncated = keep < wire;
	node->ev.retained = msg->retained;

	pthread_mutex_lock(&mq_lock);
	while (c->queued >= c->opt.max_queue && !owner_in_paho &&
	       !c->stopping) {
		parked++;
		pthread_cond_wait(&mq_room, &mq_lock);
		parked--;
	}
	enqueue_locked(c, node);
	pthread_mutex_unlock(&mq_lock);

	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void on_connect_ok(void *context, MQTTAsync_successData *r)
{
	(void)r;
	push_status(context, MQ_EV_CONNECTED, 0, 0, NULL);
}

static void on_connect_ok5(void *context, MQTTAsync_successData5 *r)
{
	(void)r;
	push_status(context, MQ_EV_CONNECTED, 0, 0, NULL);
}

static void on_connect_fail(void *context, MQTTAsync_failureData *r)
{
	push_status(context, MQ_EV_CONNECT_FAILED, 0, r ? r->code : -1,
		    r && r->message ? r->message : "connect failed");
}

static void on_connect_fail5(void *context, MQTTAsync_failureData5 *r)
{
	char why[96];
	snprintf(why, sizeof(why), "connect failed (reason %d)",
		 r ? (int)r->reasonCode : -1);
	push_status(context, MQ_EV_CONNECT_FAILED, 0, r ? r->code : -1,
		    r && r->message ? r->message : why);
}

/* Takes a publish context off the pending list and frees it. */
static void forget_pending(mq_client *c, struct pub_ctx *p)
{
	pthread_mutex_lock(&mq_lock);
	if (p->prev)
		p->prev->next = p->next;
	else
		c->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (c->inflight > 0)
		c->inflight--;
	pthread_mutex_unlock(&mq_lock);
	free(p);
}

static void pub_done(struct pub_ctx *p, int ok, int code, const char *why)
{
	mq_client *c = p->client;
	long long tag = p->tag;

	forget_pending(c, p);
	push_status(c, ok ? MQ_EV_PUBLISHED : MQ_EV_PUBLISH_FAILED, tag, code,
		    why);
}

static void on_pub_ok(void *context, MQTTAsync_successData *r)
{
	(void)r;
	pub_done(context, 1, 0, NULL);
}

static void on_pub_ok5(void *context, MQTTAsync_successData5 *r)
{
	/* A PUBACK with a reason code >= 0x80 is a refusal, not a success. */
	if (r && r->reasonCode >= 0x80) {
		pub_done(context, 0, (int)r->reasonCode, "refused by broker");
		return;
	}
	pub_done(context, 1, 0, NULL);
}

static void on_pub_fail(void *context, MQTTAsync_failureData *r)
{
	pub_done(context, 0, r ? r->code : -1,
		 r && r->message ? r->message : "publish failed");
}

static void on_pub_fail5(void *context, MQTTAsync_failureData5 *r)
{
	pub_done(context, 0, r ? r->code : -1,
		 r && r->message ? r->message : "publish failed");
}

static int split_uris(mq_client *c, sl_error *err)
{
	size_t n = 1;
	for (const char *p = c->uris; *p; p++)
		n += *p == ',';
	c->uri_list = calloc(n, sizeof(char *));
	if (c->uri_list == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	char *save = NULL;
	for (char *tok = strtok_r(c->uris, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (*tok)
			c->uri_list[c->uri_count++] = tok;
	}
	if (c->uri_count == 0)
		return sl_error_set(err, SL_EINVAL, "no broker URI given");
	return 0;
}

/*
 * OpenSSL 3 initialises itself on first use.  paho's own eager
 * initialisation (error strings, every algorithm) costs a plain-TCP agent
 * about 3 MB of resident memory for nothing, so it is turned off; TLS
 * connections still work (tests/integration/test_tls.sh).
 */
static void global_init_once(void)
{
	MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
	init.do_openssl_init = 0;
	MQTTAsync_global_init(&init);
}

static void global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init_once);
}

mq_client *mq_new(const struct mq_options *opt, sl_error *err)
{
	mq_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	c->opt = *opt;
	if (c->opt.mqtt_version == 0)
		c->opt.mqtt_version = 5;
	if (c->opt.keepalive_s == 0)
		c->opt.keepalive_s = 30;
	if (c->opt.max_inflight == 0)
		c->opt.max_inflight = 64;
	if (c->opt.max_payload == 0)
		c->opt.max_payload = 64 * 1024;
	if (c->opt.max_queue == 0)
		c->opt.max_queue = 10000;
	if (c->opt.reconnect_min_ms == 0)
		c->opt.reconnect_min_ms = 500;
	if (c->opt.reconnect_max_ms == 0)
		c->opt.reconnect_max_ms = 30000;
	c->backoff_ms = c->opt.reconnect_min_ms;
	c->rand_state = (unsigned)time(NULL) ^ (unsigned)getpid();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);

	if (opt->mqtt_version != 0 && opt->mqtt_version != 4 &&
	    opt->mqtt_version != 5) {
		sl_error_set(err, SL_EINVAL, "MQTT version must be 4 or 5");
		goto fail;
	}
	c->uris = dupstr(opt->uris);
	c->client_id = dupstr(opt->client_id);
	c->username = dupstr(opt->username);
	c->password = dupstr(opt->password);
	c->ca_file = dupstr(opt->ca_file);
	c->cert_file = dupstr(opt->cert_file);
	c->key_file = dupstr(opt->key_file);
	if (c->uris == NULL || c->client_id == NULL ||
	    (opt->username && c->username == NULL) ||
	    (opt->password && c->password == NULL) ||
	    (opt->ca_file && c->ca_file == NULL) ||
	    (opt->cert_file && c->cert_file == NULL) ||
	    (opt->key_file && c->key_file == NULL)) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		goto fail;
	}
	if (split_uris(c, err) != 0)
		goto fail;

	global_init();
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	co.MQTTVersion = c->opt.mqtt_version == 5 ? MQTTVERSION_5
						  : MQTTVERSION_3_1_1;
	co.sendWhileDisconnected = 0; /* our outbox holds what is unsent */
	/* paho refuses a publish once this many are queued, even while
	 * connected (default 100): room for a full in-flight window */
	co.maxBufferedMessages = c->opt.max_inflight + 16 > 100
					 ? c->opt.max_inflight + 16
					 : 100;
	int rc = MQTTAsync_createWithOptions(&c->handle, c->uri_list[0],
					     c->client_id,
					     MQTTCLIENT_PERSISTENCE_NONE, NULL,
					     &co);
	if (rc != MQTTASYNC_SUCCESS) {
		sl_error_set(err, SL_ENET, "cannot create MQTT client for %s: %s",
			     c->uri_list[0], MQTTAsync_strerror(rc));
		c->handle = NULL;
		goto fail;
	}
	rc = MQTTAsync_setCallbacks(c->handle, c, on_connection_lost,
				    on_message, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		sl_error_set(err, SL_ENET, "cannot set MQTT callbacks: %s",
			     MQTTAsync_strerror(rc));
		goto fail;
	}
	return c;
fail:
	mq_free(c);
	return NULL;
}

void mq_event_clear(struct mq_event *ev)
{
	free(ev->topic);
	free(ev->payload);
	memset(ev, 0, sizeof(*ev));
}

void mq_free(mq_client *c)
{
	if (c == NULL)
		return;
	if (c->handle) {
		mq_stop(c, 0, 1000);
		owner_enter();
		MQTTAsync_destroy(&c->handle);
		owner_leave();
	}
	for (struct mq_node **list = &c->head; list;
	     list = list == &c->head ? &c->ready : NULL) {
		while (*list) {
			struct mq_node *n = *list;
			*list = n->next;
			mq_event_clear(&n->ev);
			free(n);
		}
	}
	while (c->pending) {
		struct pub_ctx *p = c->pending;
		c->pending = p->next;
		free(p);
	}
	for (size_t i = 0; i < c->nsubs; i++)
		free(c->subs[i].filter);
	free(c->subs);
	free(c->will_topic);
	free(c->will_payload);
	free(c->uri_list);
	free(c->uris);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->client_id);
	free(c->username);
	if (c->password) {
		/* the secret should not linger in freed heap */
		volatile char *p = c->password;
		while (*p)
			*p++ = 0;
	}
	free(c->password);
	pthread_cond_destroy(&c->cond);
	free(c);
}

int mq_set_will(mq_client *c, const char *topic, const void *payload,
		size_t len, int qos, int retain, sl_error *err)
{
	char *t = strdup(topic);
	unsigned char *p = malloc(len ? len : 1);
	if (t == NULL || p == NULL) {
		free(t);
		free(p);
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	memcpy(p, payload, len);
	free(c->will_topic);
	free(c->will_payload);
	c->will_topic = t;
	c->will_payload = p;
	c->will_len = len;
	c->will_qos = qos;
	c->will_retain = retain;
	c->has_will = 1;
	return 0;
}

static int send_subscribe(mq_client *c, const struct sub *s)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	owner_enter();
	int rc = MQTTAsync_subscribe(c->handle, s->filter, s->qos, &ro);
	owner_leave();
	if (rc != MQTTASYNC_SUCCESS)
		log_warn("mq: subscribe %s: %s", s->filter,
			 MQTTAsync_strerror(rc));
	return rc == MQTTASYNC_SUCCESS ? 0 : SL_ENET;
}

int mq_subscribe(mq_client *c, const char *filter, int qos, sl_error *err)
{
	struct sub *grown = realloc(c->subs, (c->nsubs + 1) * sizeof(*grown));
	if (grown == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	c->subs = grown;
	c->subs[c->nsubs].filter = strdup(filter);
	if (c->subs[c->nsubs].filter == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	c->subs[c->nsubs].qos = qos;
	c->nsubs++;
	if (c->state == CONN_UP && send_subscribe(c, &c->subs[c->nsubs - 1]))
		return sl_error_set(err, SL_ENET, "subscribe to %s failed",
				    filter);
	return 0;
}

static int begin_connect(mq_client *c)
{
	MQTTAsync_connectOptions co5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_connectOptions co3 = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions *co = c->opt.mqtt_version == 5 ? &co5 : &co3;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

	co->keepAliveInterval = c->opt.keepalive_s;
	co->maxInflight = c->opt.max_inflight;
	co->connectTimeout = 10;
	co->username = c->username;
	co->password = c->password;
	co->context = c;
	co->serverURIs = c->uri_list;
	co->serverURIcount = c->uri_count;
	co->automaticReconnect = 0; /* we back off with jitter ourselves */
	if (c->ca_file) {
		/* paho's default is verify=0: the host name would go unchecked */
		ssl.trustStore = c->ca_file;
		ssl.keyStore = c->cert_file;
		ssl.privateKey = c->key_file;
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		co->ssl = &ssl;
	}
	if (c->has_will) {
		will.topicName = c->will_topic;
		will.message = NULL;
		will.payload.data = c->will_payload;
		will.payload.len = (int)c->will_len;
		will.qos = c->will_qos;
		will.retained = c->will_retain;
		co->will = &will;
	}
	if (c->opt.mqtt_version == 5) {
		MQTTProperty p = { .identifier =
					   MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL };
		p.value.integer4 = c->opt.session_expiry_s;
		MQTTProperties_add(&props, &p);
		co->cleanstart = c->opt.clean_start;
		co->connectProperties = &props;
		co->onSuccess5 = on_connect_ok5;
		co->onFailure5 = on_connect_fail5;
	} else {
		co->cleansession = c->opt.clean_start;
		co->onSuccess = on_connect_ok;
		co->onFailure = on_connect_fail;
	}
	owner_enter();
	int rc = MQTTAsync_connect(c->handle, co);
	owner_leave();
	MQTTProperties_free(&props);
	if (rc != MQTTASYNC_SUCCESS) {
		log_warn("mq: connect: %s", MQTTAsync_strerror(rc));
		return SL_ENET;
	}
	c->state = CONN_CONNECTING;
	return 0;
}

int mq_start(mq_client *c, sl_error *err)
{
	pthread_mutex_lock(&mq_lock);
	c->stopping = 0;
	pthread_mutex_unlock(&mq_lock);
	if (begin_connect(c) != 0)
		return sl_error_set(err, SL_ENET, "cannot start connecting to %s",
				    c->opt.uris);
	return 0;
}

/* Full jitter between half and all of the current backoff. */
static void schedule_retry(mq_client *c)
{
	int half = c->backoff_ms / 2;
	int delay = half + (int)(rand_r(&c->rand_state) % (unsigned)(half + 1));
	mono_now(&c->retry_at);
	add_ms(&c->retry_at, delay);
	c->state = CONN_WAITING;
	c->backoff_ms = c->backoff_ms * 2 > c->opt.reconnect_max_ms
				? c->opt.reconnect_max_ms
				: c->backoff_ms * 2;
	log_debug("mq: reconnecting in %d ms", delay);
}

int mq_publish(mq_client *c, const char *topic, const void *payload,
	       size_t len, int qos, int retain, long long tag, sl_error *err)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	struct pub_ctx *p = NULL;

	if (c->state != CONN_UP)
		return sl_error_set(err, SL_ENET, "not connected");
	msg.payload = (void *)(uintptr_t)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retain;
	if (qos > 0) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		p->client = c;
		p->tag = tag;
		ro.context = p;
		if (c->opt.mqtt_version == 5) {
			ro.onSuccess5 = on_pub_ok5;
			ro.onFailure5 = on_pub_fail5;
		} else {
			ro.onSuccess = on_pub_ok;
			ro.onFailure = on_pub_fail;
		}
		/* Linked before sending: the callback may run at once. */
		pthread_mutex_lock(&mq_lock);
		p->next = c->pending;
		if (c->pending)
			c->pending->prev = p;
		c->pending = p;
		c->inflight++;
		pthread_mutex_unlock(&mq_lock);
	}
	owner_enter();
	int rc = MQTTAsync_sendMessage(c->handle, topic, &msg, &ro);
	owner_leave();
	if (rc != MQTTASYNC_SUCCESS) {
		if (p)
			forget_pending(c, p);
		return sl_error_set(err, SL_ENET, "publish to %s: %s", topic,
				    MQTTAsync_strerror(rc));
	}
	return 0;
}

/* Reacts to a status event before handing it to the caller. */
static void observe(mq_client *c, const struct mq_event *ev)
{
	switch (ev->type) {
	case MQ_EV_CONNECTED:
		c->state = CONN_UP;
		c->backoff_ms = c->opt.reconnect_min_ms;
		for (size_t i = 0; i < c->nsubs; i++)
			send_subscribe(c, &c->subs[i]);
		break;
	case MQ_EV_CONNECT_FAILED:
	case MQ_EV_CONNECTION_LOST:
		if (c->state != CONN_IDLE)
			schedule_retry(c);
		break;
	default:
		break;
	}
}

int mq_poll(mq_client *c, int timeout_ms, struct mq_event *ev)
{
	struct timespec deadline;
	mono_now(&deadline);
	add_ms(&deadline, timeout_ms);

	for (;;) {
		if (c->state == CONN_WAITING && ms_until(&c->retry_at) <= 0 &&
		    begin_connect(c) != 0)
			schedule_retry(c);

		struct mq_node *n = c->ready;
		if (n) {
			c->ready = n->next;
			c->nready--;
			*ev = n->ev;
			free(n);
			observe(c, ev);
			return 1;
		}
		/* The whole queue at once: one lock per batch, not per event. */
		pthread_mutex_lock(&mq_lock);
		if (c->head) {
			c->ready = c->head;
			c->nready = c->queued;
			c->head = c->tail = NULL;
			c->queued = 0;
			if (parked)
				pthread_cond_broadcast(&mq_room);
			pthread_mutex_unlock(&mq_lock);
			continue;
		}
		long long left = ms_until(&deadline);
		if (left <= 0) {
			pthread_mutex_unlock(&mq_lock);
			return 0;
		}
		struct timespec wake = deadline;
		if (c->state == CONN_WAITING && ms_until(&c->retry_at) < left)
			wake = c->retry_at;
		pthread_cond_timedwait(&c->cond, &mq_lock, &wake);
		pthread_mutex_unlock(&mq_lock);
	}
}

int mq_is_connected(const mq_client *c)
{
	return c->state == CONN_UP;
}

size_t mq_pending(const mq_client *c)
{
	pthread_mutex_lock(&mq_lock);
	size_t n = c->nready + c->queued;
	pthread_mutex_unlock(&mq_lock);
	return n;
}

int mq_inflight(const mq_client *c)
{
	mq_client *m = (mq_client *)(uintptr_t)c;
	pthread_mutex_lock(&mq_lock);
	int n = m->inflight;
	pthread_mutex_unlock(&mq_lock);
	return n;
}

/* MQTTAsync_isConnected takes paho's mutex: an owner call. */
static int paho_connected(mq_client *c)
{
	owner_enter();
	int up = MQTTAsync_isConnected(c->handle);
	owner_leave();
	return up;
}

int mq_stop(mq_client *c, int send_will, int timeout_ms)
{
	MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnectOptions d3 = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnectOptions *d = c->opt.mqtt_version == 5 ? &d5 : &d3;

	/* paho's send thread carries the DISCONNECT: on_message must not
	 * hold paho's mutex while the owner waits for it. */
	pthread_mutex_lock(&mq_lock);
	c->stopping = 1;
	if (parked)
		pthread_cond_broadcast(&mq_room);
	pthread_mutex_unlock(&mq_lock);
	if (!paho_connected(c)) {
		c->state = CONN_IDLE;
		return 0;
	}
	d->timeout = timeout_ms;
	if (send_will && c->opt.mqtt_version == 5)
		d->reasonCode = MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE;
	/* MQTT 3.1.1 discards the Will on DISCONNECT: publish it ourselves. */
	if (send_will && c->opt.mqtt_version != 5 && c->has_will &&
	    c->state == CONN_UP)
		mq_publish(c, c->will_topic, c->will_payload, c->will_len,
			   c->will_qos, c->will_retain, 0, NULL);
	c->state = CONN_IDLE;
	owner_enter();
	int rc = MQTTAsync_disconnect(c->handle, d);
	owner_leave();
	if (rc != MQTTASYNC_SUCCESS)
		return SL_ENET;
	/* Disconnect is asynchronous; give it its timeout to finish. */
	for (int waited = 0; waited < timeout_ms && paho_connected(c);
	     waited += 10)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	return 0;
}

void mq_options_common(struct mq_options *o, const struct conf_common *c,
		       const char *client_id)
{
	*o = (struct mq_options){
		.uris = c->broker,
		.client_id = client_id,
		.username = c->username,
		.password = c->password,
		.ca_file = c->ca_file,
		.cert_file = c->cert_file,
		.key_file = c->key_file,
		.mqtt_version = (int)c->mqtt_version,
	};
}
