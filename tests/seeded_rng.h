/*
 * seeded_rng.h - xorshift64* for tests and benchmarks: the same instances
 * on every machine.  Header-only, one generator per translation unit
 * (set rng_state to a nonzero seed before use); not for production code.
 */
#ifndef SL_SEEDED_RNG_H
#define SL_SEEDED_RNG_H

#include <math.h>
#include <stdint.h>

static uint64_t rng_state = 1;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}
/* Uniform in [lo, hi). */
static inline double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0;
}
/* Standard normal (Box-Muller). */
static inline double gauss(void)
{
	double u = uniform(1e-12, 1), v = uniform(0, 1);
	return sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v);
}

#endif
