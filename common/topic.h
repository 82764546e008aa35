/*
 * topic.h - the MQTT topic tree of docs/protocol.md, built and parsed in
 * one place so no program spells a topic by hand.
 *
 *   shelterlink/v1/{municipality}/{shelter_id}/{status|state|receipt}  up
 *   shelterlink/v1/{municipality}/{shelter_id}/{dispatch|ack}          down
 *   shelterlink/v1/{municipality}/_hq/state                            HQ
 *
 * Each message kind's name is also its payload's `type` and its schema's
 * short name, except TOPIC_HQ_STATE whose last level is "state".
 */
#ifndef SL_TOPIC_H
#define SL_TOPIC_H

#include <stddef.h>

#define TOPIC_ROOT "shelterlink/v1"
#define TOPIC_HQ_LEVEL "_hq"
/* Room for the longest topic we build (64-byte ids, 6-digit codes). */
#define TOPIC_MAX 192

enum topic_kind {
	TOPIC_STATUS,
	TOPIC_STATE,
	TOPIC_RECEIPT,
	TOPIC_DISPATCH,
	TOPIC_ACK,
	TOPIC_HQ_STATE,
	TOPIC_FEED, /* HQ's public feed, under _hq like its presence */
	TOPIC_KIND_COUNT
};

struct topic_parts {
	char municipality[16];
	char shelter_id[72]; /* empty for TOPIC_HQ_STATE */
	enum topic_kind kind;
};

/* "status", "state", ... "hq_state": the payload type and schema name. */
const char *topic_kind_name(enum topic_kind kind);

/*
 * Writes the topic for one shelter (shelter_id ignored for HQ_STATE).
 * `shelter_id` may be "+" to build a subscription filter.  Returns 0, or
 * SL_EINVAL when a level is empty, contains '/', or does not fit.
 */
int topic_build(char *buf, size_t size, const char *municipality,
		const char *shelter_id, enum topic_kind kind);

/* Splits a concrete topic; returns 0 or SL_EINVAL if it is not ours. */
int topic_parse(const char *topic, struct topic_parts *out);

#endif
