/*
 * mem.c - libc allocation behind a fail-at-N switch (see alloc.h).
 *
 * The disabled path costs one relaxed atomic load per allocation; nothing
 * else is added, so production behaviour is plain malloc/free.
 */
#include "mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Allocations left before failures start; negative means "never fail". */
static atomic_long countdown = -1;

/* Returns nonzero when the hook says this allocation must fail. */
static int should_fail(void)
{
	long left = atomic_load_explicit(&countdown, memory_order_relaxed);

	if (left < 0)
		return 0;
	if (left == 0)
		return 1;
	atomic_fetch_sub_explicit(&countdown, 1, memory_order_relaxed);
	return 0;
}

void sl_alloc_fail_after(long n)
{
	atomic_store(&countdown, n < 0 ? -1 : n);
}

void *sl_malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size);
}

void *sl_calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(nmemb, size);
}

void *sl_realloc(void *ptr, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(ptr, size);
}

void *sl_grow(void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size)
		return NULL;
	void *p = sl_realloc(arr, ncap * size);
	if (p != NULL)
		*cap = ncap;
	return p;
}

char *sl_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = sl_malloc(len);

	if (copy != NULL)
		memcpy(copy, s, len);
	return copy;
}

void sl_free(void *ptr)
{
	free(ptr);
}
