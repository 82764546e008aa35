/*
 * mq.h - MQTT client wrapper over paho MQTTAsync, shared by every program.
 *
 * paho runs its callbacks on its own threads.  This module turns them into
 * a queue of events that the owner thread drains with mq_poll(), so all
 * program logic (SQLite, state machines) runs on one thread.  It also owns
 * reconnection: after a lost or failed connection it reconnects from
 * mq_poll() with jittered exponential backoff, and re-subscribes.
 *
 * It does NOT provide delivery guarantees beyond MQTT's: paho persistence
 * is off on purpose; callers keep their own durable outbox and treat a
 * MQ_EV_PUBLISHED (the broker's PUBACK) as a hint, never as delivery.
 */
#ifndef SL_MQ_H
#define SL_MQ_H

#include <stddef.h>

#include "conf.h"
#include "error.h"

typedef struct mq_client mq_client;

struct mq_options {
	const char *uris;      /* "tcp://127.0.0.1:1883,tcp://..." (copied) */
	const char *client_id; /* copied */
	const char *username;  /* NULL for none (copied) */
	const char *password;  /* NULL for none (copied, never logged) */
	const char *ca_file;   /* CA bundle: enables TLS with the server's
				  certificate and host name verified */
	const char *cert_file; /* client certificate (PEM), optional */
	const char *key_file;  /* its private key (PEM), optional */
	int mqtt_version;      /* 5 (default when 0) or 4 (MQTT 3.1.1) */
	int clean_start;       /* 0 keeps the session across reconnects */
	unsigned session_expiry_s; /* MQTT 5 only */
	int keepalive_s;       /* 0: 30 s */
	int max_inflight;      /* 0: 64 */
	size_t max_payload;    /* larger incoming payloads are truncated and
				  flagged; 0: 64 KiB */
	size_t max_queue;      /* events held for mq_poll; 0: 10000.  When
				  full, paho's receive thread waits (TCP
				  pushes back to the broker) until mq_poll
				  takes them; see mq.c for the exceptions. */
	int reconnect_min_ms;  /* 0: 500 */
	int reconnect_max_ms;  /* 0: 30000 */
};

enum mq_event_type {
	MQ_EV_CONNECTED,       /* session up; subscriptions re-sent */
	MQ_EV_CONNECT_FAILED,  /* code, reason; will retry after backoff */
	MQ_EV_CONNECTION_LOST, /* will retry after backoff */
	MQ_EV_MESSAGE,         /* topic, payload, len, retained, truncated */
	MQ_EV_PUBLISHED,       /* broker acknowledged the publish of `tag` */
	MQ_EV_PUBLISH_FAILED,  /* the publish of `tag` failed: code, reason */
};

/* Owned by the caller after mq_poll() until mq_event_clear(). */
struct mq_event {
	enum mq_event_type type;
	char *topic;
	unsigned char *payload; /* NUL-terminated for convenience */
	size_t len;             /* bytes kept in payload */
	size_t original_len;    /* bytes on the wire */
	int retained;
	int truncated;          /* original_len > max_payload */
	long long tag;
	int code;
	char reason[128];
};

/* Fills the connection part of o from a program's configuration (broker,
 * credentials, TLS files, MQTT version) and client_id; the rest is zeroed
 * (defaults).  Strings are borrowed from c and client_id. */
void mq_options_common(struct mq_options *o, const struct conf_common *c,
		       const char *client_id);

/* Returns NULL with err set on bad options or paho failure. */
mq_client *mq_new(const struct mq_options *opt, sl_error *err);
/* Disconnects if needed and frees everything; NULL is a no-op. */
void mq_free(mq_client *c);

/*
 * Sets the Will sent with the next CONNECT (copied; replaces the old one).
 * Call before mq_start() and whenever the will must change, e.g. a new
 * birth number after a lost connection.
 */
int mq_set_will(mq_client *c, const char *topic, const void *payload,
		size_t len, int qos, int retain, sl_error *err);

/* Remembers a subscription; sent now if connected and on every connect. */
int mq_subscribe(mq_client *c, const char *filter, int qos, sl_error *err);

/* Starts connecting (asynchronously); progress arrives as events. */
int mq_start(mq_client *c, sl_error *err);

/*
 * Publishes; `tag` comes back in MQ_EV_PUBLISHED / MQ_EV_PUBLISH_FAILED
 * (QoS > 0 only).  Returns SL_ENET when not connected: nothing is queued
 * inside paho, the caller's outbox keeps the message.
 */
int mq_publish(mq_client *c, const char *topic, const void *payload,
	       size_t len, int qos, int retain, long long tag, sl_error *err);

/*
 * Waits up to timeout_ms (0: don't wait) for an event; also drives
 * reconnection.  Returns 1 and fills *ev, or 0 on timeout.
 */
int mq_poll(mq_client *c, int timeout_ms, struct mq_event *ev);
void mq_event_clear(struct mq_event *ev);

int mq_is_connected(const mq_client *c);
/* Events waiting for mq_poll: how far behind the owner is. */
size_t mq_pending(const mq_client *c);
/* Publishes in flight (sent, no PUBACK yet). */
int mq_inflight(const mq_client *c);

/*
 * Disconnects cleanly.  With send_will (MQTT 5) the broker publishes the
 * Will as if the connection had died, so subscribers see one death path.
 */
int mq_stop(mq_client *c, int send_will, int timeout_ms);

#endif
