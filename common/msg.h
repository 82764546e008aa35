/*
 * msg.h - decoding and encoding of wire messages (docs/protocol.md).
 *
 * Decoding is the edge where untrusted bytes become trusted values: size
 * cap first, then strict JSON (no duplicate keys, no trailing data), then
 * the message's JSON Schema.  Code behind msg_decode() does not re-check
 * what the schema states.
 */
#ifndef SL_MSG_H
#define SL_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "schema.h"

/* Hard cap on any payload (docs/protocol.md, "Size limits"). */
#define MSG_MAX_BYTES (16 * 1024)

/*
 * Decodes `len` bytes and validates them against schema `schema_name`.
 * On success *out is a new reference owned by the caller.  On failure
 * *out is NULL and err holds the reason (byte offset for JSON errors,
 * JSON Pointer and keyword for schema errors).
 */
int msg_decode(const schema_set *schemas, const char *schema_name,
	       const void *payload, size_t len, json_t **out, sl_error *err);

/* Compact UTF-8 encoding; returns a malloc'd string or NULL. */
char *msg_encode(const json_t *msg);

/* RFC 3339 with the local offset, e.g. 2024-01-09T18:00:00+09:00. */
void msg_time(time_t t, char buf[32]);

#endif
