/*
 * libFuzzer harness for the edge every MQTT payload crosses: topic
 * parsing, msg_decode (size cap, strict JSON, schema) for every message
 * kind, and the rules outside the schemas.  Build: make fuzz; run:
 * build-fuzz/fuzz_msg tests/fuzz/corpus/msg
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "msg.h"
#include "rules.h"
#include "topic.h"

static schema_set *schemas;
static catalog *items;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_once(void)
{
	sl_error err;
	const char *dir = getenv("SL_SCHEMA_DIR");
	schemas = schema_set_new();
	if (schema_set_load_dir(schemas, dir ? dir : SL_SCHEMA_DIR, &err) ||
	    schema_set_resolve(schemas, &err))
		abort();
	items = catalog_load(SL_DATA_DIR "/items.json", schemas, &err);
	if (items == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = { "status", "state", "receipt",
					     "dispatch", "ack", "hq_state", "feed" };
	struct topic_parts parts;
	char topic[256];
	sl_error err;

	if (schemas == NULL)
		load_once();
	size_t tlen = size < sizeof(topic) - 1 ? size : sizeof(topic) - 1;
	memcpy(topic, data, tlen);
	topic[tlen] = '\0';
	topic_parse(topic, &parts);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *msg;
		if (msg_decode(schemas, kinds[i], data, size, &msg, &err) == 0) {
			rules_check(msg, items, &err);
			json_decref(msg);
		}
	}
	return 0;
}
