/*
 * mqsub.h - a subscriber for high message rates, over libmosquitto.
 *
 * Why a second MQTT library next to paho (mq.h): draining a backlog of
 * status reports from a persistent session on the 2-core test machine,
 * paho's asynchronous client, doing nothing with the messages, reads
 * about 145,000 messages/s; libmosquitto (mosquitto_sub) reads 320,000/s
 * (docs/benchmarks.md, "hq ingest").  Whoever must take a broker's
 * backlog into custody before the broker drops it (mosquitto's
 * max_queued_messages) uses this; everything else keeps mq.h.
 *
 * The connection runs on a thread of its own: it connects (each broker
 * URI in turn, with jittered exponential backoff), subscribes, and hands
 * every message to the owner's callback on that thread.  The callback may
 * block: the thread then stops reading, TCP pushes back, and the backlog
 * stays in the broker's session.  Like paho, libmosquitto PUBACKs a QoS 1
 * message around that callback, not after the owner has stored it: what
 * the owner holds in memory is lost with the process, and the shelters'
 * end-to-end acknowledgement is what recovers it.
 */
#ifndef SL_MQSUB_H
#define SL_MQSUB_H

#include <stddef.h>

#include "error.h"
#include "mq.h"

typedef struct mqsub mqsub;

struct mqsub_handlers {
	/* Every message, on the connection's thread; topic and payload are
	 * borrowed for the call.  May block (backpressure). */
	void (*message)(void *arg, const char *topic, const void *payload,
			size_t len);
	/* After each CONNACK that accepted us, subscriptions sent; on the
	 * connection's thread.  May call mqsub_publish.  Optional. */
	void (*connected)(void *arg, mqsub *s);
	void *arg;
};

/* Uses the connection part of opt (uris, client_id, credentials, TLS
 * files, mqtt_version, clean_start, session_expiry_s, keepalive_s,
 * reconnect_*); copies what it keeps.  NULL with err set. */
mqsub *mqsub_new(const struct mq_options *opt, sl_error *err);
/* Stops (without the Will) if needed, and frees; NULL is a no-op. */
void mqsub_free(mqsub *s);

/* Before mqsub_start: the Will, and the subscriptions (re-sent on every
 * connect).  Copied. */
int mqsub_set_will(mqsub *s, const char *topic, const void *payload, size_t len,
		   int qos, int retain, sl_error *err);
int mqsub_subscribe(mqsub *s, const char *filter, int qos, sl_error *err);

/* Starts the connection's thread. */
int mqsub_start(mqsub *s, const struct mqsub_handlers *h, sl_error *err);

/* From any thread: queued in libmosquitto (sent while connected);
 * SL_ENET when not connected. */
int mqsub_publish(mqsub *s, const char *topic, const void *payload, size_t len,
		  int qos, int retain, sl_error *err);

int mqsub_is_connected(mqsub *s);

/* Disconnects and joins the thread.  With send_will (MQTT 5) the broker
 * publishes the Will as if the connection had died.  A message callback
 * blocked at that moment must return by itself (the owner unblocks it). */
void mqsub_stop(mqsub *s, int send_will);

#endif
