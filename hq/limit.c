/*
 * limit.c - a token bucket per shelter, so one shelter flooding HQ (a
 * broken agent, a forged client) cannot crowd out the others.  Buckets
 * live in an open-addressing hash table keyed by shelter id; the table
 * only grows (a municipality has thousands of shelters, not millions).
 */
#include <stdlib.h>
#include <string.h>

#include "hq.h"

struct bucket {
	char *id; /* NULL: empty slot */
	double tokens, at;
};

struct limit_table {
	double rate, burst;
	struct bucket *slots;
	size_t cap, used; /* cap is a power of two */
};

limit_table *limit_new(double rate, double burst)
{
	limit_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->rate = rate;
	t->burst = burst;
	t->cap = 1024;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void limit_free(limit_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].id);
	free(t->slots);
	free(t);
}

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static struct bucket *slot_for(struct bucket *slots, size_t cap, const char *id)
{
	size_t i = hash(id) & (cap - 1);
	while (slots[i].id && strcmp(slots[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(limit_table *t)
{
	size_t cap = t->cap * 2;
	struct bucket *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return SL_ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].id)
			*slot_for(slots, cap, t->slots[i].id) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int limit_take(limit_table *t, const char *id, double now)
{
	if (t->used * 10 >= t->cap * 7 && grow(t) != 0)
		return SL_ENOMEM;
	struct bucket *b = slot_for(t->slots, t->cap, id);
	if (b->id == NULL) {
		b->id = strdup(id);
		if (b->id == NULL)
			return SL_ENOMEM;
		b->tokens = t->burst;
		b->at = now;
		t->used++;
	}
	b->tokens += (now - b->at) * t->rate;
	if (b->tokens > t->burst)
		b->tokens = t->burst;
	b->at = now;
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}
