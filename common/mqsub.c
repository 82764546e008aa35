/*
 * mqsub.c - see mqsub.h.  One thread owns the libmosquitto handle's
 * network loop (mosquitto_loop); libmosquitto is put in threaded mode so
 * the owner may publish and disconnect from its own thread.  Reconnection
 * is ours, not mosquitto_loop_forever's, so that a list of brokers is
 * tried in turn.
 */
#define _POSIX_C_SOURCE 200809L
#include "mqsub.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "log.h"

struct mqsub_uri {
	char *host; /* owned */
	int port;
	int tls;
};

struct mqsub {
	struct mosquitto *mosq;
	struct mqsub_uri *uris; /* owned, n_uris of them */
	int n_uris;
	int mqtt_version, keepalive_s;
	unsigned session_expiry_s;
	int backoff_min_ms, backoff_max_ms;
	char **filters; /* owned */
	int *qos;
	int n_filters;
	struct mqsub_handlers h;
	pthread_t thread;
	int started;
	atomic_int quit, connected;
	pthread_mutex_t lock; /* the backoff sleep, woken by mqsub_stop */
	pthread_cond_t wake;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
	mosquitto_lib_init();
}

/* "tcp://host:port", "mqtt://", "ssl://", "mqtts://", or "host:port". */
static int parse_uri(const char *text, struct mqsub_uri *u, sl_error *err)
{
	const char *rest = text, *sep = strstr(text, "://");
	u->tls = 0;
	if (sep) {
		size_t n = (size_t)(sep - text);
		if ((n == 3 && strncmp(text, "ssl", 3) == 0) ||
		    (n == 5 && strncmp(text, "mqtts", 5) == 0) ||
		    (n == 3 && strncmp(text, "tls", 3) == 0))
			u->tls = 1;
		else if (!((n == 3 && strncmp(text, "tcp", 3) == 0) ||
			   (n == 4 && strncmp(text, "mqtt", 4) == 0)))
			return sl_error_set(err, SL_EINVAL,
					    "broker %s: unknown scheme", text);
		rest = sep + 3;
	}
	const char *colon = strrchr(rest, ':');
	size_t host_len = colon ? (size_t)(colon - rest) : strlen(rest);
	char *end = NULL;
	long port =
		colon ? strtol(colon + 1, &end, 10) : (u->tls ? 8883 : 1883);
	if (host_len == 0 || port < 1 || port > 65535 ||
	    (colon && (end == colon + 1 || *end != '\0')))
		return sl_error_set(err, SL_EINVAL,
				    "broker %s: expected scheme://host:port",
				    text);
	u->host = strndup(rest, host_len);
	u->port = (int)port;
	return u->host ? 0 : sl_error_set(err, SL_ENOMEM, "out of memory");
}

static int parse_uris(mqsub *s, const char *list, sl_error *err)
{
	char *copy = strdup(list ? list : ""), *save = NULL;
	int rc = 0;
	if (copy == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (char *tok = strtok_r(copy, ", ", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct mqsub_uri *grown = realloc(
			s->uris, (size_t)(s->n_uris + 1) * sizeof(*grown));
		if (grown == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			break;
		}
		s->uris = grown;
		if ((rc = parse_uri(tok, &s->uris[s->n_uris], err)) == 0)
			s->n_uris++;
	}
	free(copy);
	if (rc == 0 && s->n_uris == 0)
		rc = sl_error_set(err, SL_EINVAL, "no broker given");
	return rc;
}

static int mosq_error(sl_error *err, int rc, const char *what)
{
	return sl_error_set(err, rc == MOSQ_ERR_NOMEM ? SL_ENOMEM : SL_ENET,
			    "%s: %s", what, mosquitto_strerror(rc));
}

static void on_connect(struct mosquitto *mosq, void *arg, int rc, int flags,
		       const mosquitto_property *props)
{
	mqsub *s = arg;
	(void)flags;
	(void)props;
	if (rc != 0) {
		log_warn("broker refused the connection: %s",
			 s->mqtt_version == 5 ? mosquitto_reason_string(rc)
					      : mosquitto_connack_string(rc));
		return; /* the broker closes it; the loop reconnects */
	}
	for (int i = 0; i < s->n_filters; i++) {
		int src = mosquitto_subscribe_v5(mosq, NULL, s->filters[i],
						 s->qos[i], 0, NULL);
		if (src != MOSQ_ERR_SUCCESS)
			log_warn("subscribe %s: %s", s->filters[i],
				 mosquitto_strerror(src));
	}
	atomic_store(&s->connected, 1);
	if (s->h.connected)
		s->h.connected(s->h.arg, s);
}

static void on_message(struct mosquitto *mosq, void *arg,
		       const struct mosquitto_message *m,
		       const mosquitto_property *props)
{
	mqsub *s = arg;
	(void)mosq;
	(void)props;
	s->h.message(s->h.arg, m->topic, m->payload,
		     m->payloadlen > 0 ? (size_t)m->payloadlen : 0);
}

static int apply_options(mqsub *s, const struct mq_options *o, sl_error *err)
{
	int rc = mosquitto_int_option(
		s->mosq, MOSQ_OPT_PROTOCOL_VERSION,
		s->mqtt_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_threaded_set(s->mosq, true);
	if (rc == MOSQ_ERR_SUCCESS && o->username)
		rc = mosquitto_username_pw_set(s->mosq, o->username,
					       o->password);
	int tls = o->ca_file != NULL;
	for (int i = 0; i < s->n_uris; i++)
		tls |= s->uris[i].tls;
	/* The host name is verified unless tls_insecure is set: we never do. */
	if (rc == MOSQ_ERR_SUCCESS && tls)
		rc = mosquitto_tls_set(s->mosq, o->ca_file,
				       o->ca_file ? NULL : "/etc/ssl/certs",
				       o->cert_file, o->key_file, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return mosq_error(err, rc, "broker connection options");
	mosquitto_connect_v5_callback_set(s->mosq, on_connect);
	mosquitto_message_v5_callback_set(s->mosq, on_message);
	return 0;
}

mqsub *mqsub_new(const struct mq_options *o, sl_error *err)
{
	pthread_once(&lib_once, lib_init);
	mqsub *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	s->mqtt_version = o->mqtt_version ? o->mqtt_version : 5;
	s->keepalive_s = o->keepalive_s ? o->keepalive_s : 30;
	s->session_expiry_s = o->session_expiry_s;
	s->backoff_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 500;
	s->backoff_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 30000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (parse_uris(s, o->uris, err) != 0) {
		mqsub_free(s);
		return NULL;
	}
	s->mosq = mosquitto_new(o->client_id, o->clean_start != 0, s);
	if (s->mosq == NULL) {
		sl_error_set(err, SL_ENOMEM, "cannot create the MQTT client %s",
			     o->client_id);
		mqsub_free(s);
		return NULL;
	}
	if (apply_options(s, o, err) != 0) {
		mqsub_free(s);
		return NULL;
	}
	return s;
}

int mqsub_set_will(mqsub *s, const char *topic, const void *payload, size_t len,
		   int qos, int retain, sl_error *err)
{
	int rc = mosquitto_will_set_v5(s->mosq, topic, (int)len, payload, qos,
				       retain != 0, NULL);
	return rc == MOSQ_ERR_SUCCESS ? 0 : mosq_error(err, rc, "will");
}

int mqsub_subscribe(mqsub *s, const char *filter, int qos, sl_error *err)
{
	char **filters = realloc(s->filters,
				 (size_t)(s->n_filters + 1) * sizeof(*filters));
	if (filters == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	s->filters = filters;
	int *q = realloc(s->qos, (size_t)(s->n_filters + 1) * sizeof(*q));
	if (q == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	s->qos = q;
	if ((s->filters[s->n_filters] = strdup(filter)) == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	s->qos[s->n_filters++] = qos;
	return 0;
}

/* Sleeps up to ms unless mqsub_stop wakes it. */
static void backoff_sleep(mqsub *s, int ms)
{
	struct timespec until;
	deadline_in(&until, ms);
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->quit) &&
	       pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
		;
	pthread_mutex_unlock(&s->lock);
}

static int connect_to(mqsub *s, const struct mqsub_uri *u)
{
	mosquitto_property *props = NULL;
	if (s->mqtt_version == 5 && s->session_expiry_s &&
	    mosquitto_property_add_int32(
		    &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
		    s->session_expiry_s) != MOSQ_ERR_SUCCESS)
		return MOSQ_ERR_NOMEM;
	int rc = mosquitto_connect_bind_v5(s->mosq, u->host, u->port,
					   s->keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

static void *conn_main(void *arg)
{
	mqsub *s = arg;
	int i = 0, backoff = s->backoff_min_ms, attempts = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)s;

	while (!atomic_load(&s->quit)) {
		const struct mqsub_uri *u = &s->uris[i % s->n_uris];
		int rc = connect_to(s, u);
		if (rc == MOSQ_ERR_SUCCESS) {
			/* after mqsub_stop, up to 2 s more for the DISCONNECT
			 * to go out: the loop fails once it has */
			int after_quit = 0;
			attempts = 0;
			while ((rc = mosquitto_loop(s->mosq, 200, 1)) ==
				       MOSQ_ERR_SUCCESS &&
			       !(atomic_load(&s->quit) && ++after_quit > 10))
				if (atomic_load(&s->connected))
					backoff = s->backoff_min_ms;
		}
		int was = atomic_exchange(&s->connected, 0);
		if (atomic_load(&s->quit))
			break;
		if (was)
			log_warn("connection to %s:%d lost: %s", u->host,
				 u->port, mosquitto_strerror(rc));
		else if (attempts++ % 10 == 0)
			log_warn("cannot connect to %s:%d: %s", u->host,
				 u->port, mosquitto_strerror(rc));
		if (!was)
			i++; /* the next broker of the list */
		/* jitter: between half and all of the backoff */
		backoff_sleep(s,
			      backoff / 2 + (int)(rand_r(&seed) %
						  (unsigned)(backoff / 2 + 1)));
		backoff = backoff * 2 > s->backoff_max_ms ? s->backoff_max_ms
							  : backoff * 2;
	}
	return NULL;
}

int mqsub_start(mqsub *s, const struct mqsub_handlers *h, sl_error *err)
{
	s->h = *h;
	if (pthread_create(&s->thread, NULL, conn_main, s) != 0)
		return sl_error_set(err, SL_ENOMEM,
				    "cannot start the MQTT connection thread");
	s->started = 1;
	return 0;
}

int mqsub_publish(mqsub *s, const char *topic, const void *payload, size_t len,
		  int qos, int retain, sl_error *err)
{
	if (!atomic_load(&s->connected))
		return sl_error_set(err, SL_ENET, "not connected");
	int rc = mosquitto_publish_v5(s->mosq, NULL, topic, (int)len, payload,
				      qos, retain != 0, NULL);
	return rc == MOSQ_ERR_SUCCESS ? 0 : mosq_error(err, rc, topic);
}

int mqsub_is_connected(mqsub *s)
{
	return atomic_load(&s->connected);
}

void mqsub_stop(mqsub *s, int send_will)
{
	if (s == NULL || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->quit, 1);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	mosquitto_disconnect_v5(s->mosq,
				send_will && s->mqtt_version == 5
					? MQTT_RC_DISCONNECT_WITH_WILL_MSG
					: 0,
				NULL);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void mqsub_free(mqsub *s)
{
	if (s == NULL)
		return;
	mqsub_stop(s, 0);
	mosquitto_destroy(s->mosq);
	for (int i = 0; i < s->n_uris; i++)
		free(s->uris[i].host);
	free(s->uris);
	for (int i = 0; i < s->n_filters; i++)
		free(s->filters[i]);
	free(s->filters);
	free(s->qos);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
