/*
 * topic.c - see topic.h.
 */
#include "topic.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const kind_names[TOPIC_KIND_COUNT] = {
	"status", "state", "receipt", "dispatch", "ack", "hq_state", "feed",
};

const char *topic_kind_name(enum topic_kind kind)
{
	return kind < TOPIC_KIND_COUNT ? kind_names[kind] : "?";
}

static int level_ok(const char *s)
{
	return s && *s && strchr(s, '/') == NULL;
}

int topic_build(char *buf, size_t size, const char *municipality,
		const char *shelter_id, enum topic_kind kind)
{
	int n;

	if (kind >= TOPIC_KIND_COUNT || !level_ok(municipality))
		return SL_EINVAL;
	if (kind == TOPIC_HQ_STATE || kind == TOPIC_FEED) {
		n = snprintf(buf, size, TOPIC_ROOT "/%s/" TOPIC_HQ_LEVEL "/%s",
			     municipality,
			     kind == TOPIC_FEED ? "feed" : "state");
	} else {
		if (!level_ok(shelter_id))
			return SL_EINVAL;
		n = snprintf(buf, size, TOPIC_ROOT "/%s/%s/%s", municipality,
			     shelter_id, kind_names[kind]);
	}
	return n < 0 || (size_t)n >= size ? SL_EINVAL : 0;
}

/* Copies the level starting at *p up to '/' or end; advances *p. */
static int take_level(const char **p, char *dst, size_t size)
{
	const char *end = strchr(*p, '/');
	size_t len = end ? (size_t)(end - *p) : strlen(*p);
	if (len == 0 || len >= size)
		return SL_EINVAL;
	memcpy(dst, *p, len);
	dst[len] = '\0';
	*p += len + (end != NULL);
	return end ? 1 : 0; /* 1: more levels follow */
}

int topic_parse(const char *topic, struct topic_parts *out)
{
	static const char root[] = TOPIC_ROOT "/";
	char kind[16];
	const char *p = topic;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, root, sizeof(root) - 1) != 0)
		return SL_EINVAL;
	p += sizeof(root) - 1;
	if (take_level(&p, out->municipality, sizeof(out->municipality)) != 1 ||
	    take_level(&p, out->shelter_id, sizeof(out->shelter_id)) != 1 ||
	    take_level(&p, kind, sizeof(kind)) != 0)
		return SL_EINVAL;
	if (strcmp(out->shelter_id, TOPIC_HQ_LEVEL) == 0) {
		if (strcmp(kind, "state") != 0 && strcmp(kind, "feed") != 0)
			return SL_EINVAL;
		out->shelter_id[0] = '\0';
		out->kind = kind[0] == 's' ? TOPIC_HQ_STATE : TOPIC_FEED;
		return 0;
	}
	for (int k = 0; k < TOPIC_HQ_STATE; k++) {
		if (strcmp(kind, kind_names[k]) == 0) {
			out->kind = (enum topic_kind)k;
			return 0;
		}
	}
	return SL_EINVAL;
}
