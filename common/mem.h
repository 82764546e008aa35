/*
 * mem.h - the allocation entry points of common/, with a fail-at-N
 * switch for allocation-failure tests.
 *
 * sl_malloc() and friends behave exactly like their libc namesakes: they
 * return NULL on failure and never abort, so every caller in common/ must
 * handle NULL (the out-of-memory policy of this layer is "return
 * SL_ENOMEM").  The indirection exists only so a test can make the n-th
 * allocation fail and walk every error path (SQLite fault simulation,
 * curl torture mode).  This is not a pool, an arena or a leak tracker.
 */
#ifndef SL_MEM_H
#define SL_MEM_H

#include <stddef.h>

void *sl_malloc(size_t size);
void *sl_calloc(size_t nmemb, size_t size);
/* On failure the old block is left untouched, as with realloc(). */
void *sl_realloc(void *ptr, size_t size);
/*
 * Returns `arr` grown (doubling, from 8) to hold at least `need` elements
 * of `size` bytes, updating *cap; or NULL with `arr` and *cap untouched.
 * The growable arrays of every module use it.
 */
void *sl_grow(void *arr, size_t *cap, size_t need, size_t size);
/* Returns a copy of `s` to release with sl_free(), or NULL. */
char *sl_strdup(const char *s);
void sl_free(void *ptr);

/*
 * Test hook: the n-th following allocation (0 = the very next one) and
 * every allocation after it return NULL; n = -1 disables the hook.
 * sl_realloc() and sl_strdup() count as allocations, sl_free() does not.
 * Meant for single-threaded tests; the counter itself is atomic so that a
 * stray allocation on another thread cannot corrupt it.
 */
void sl_alloc_fail_after(long n);

#endif
