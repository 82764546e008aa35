/* deadline.c - see deadline.h. */
#include "deadline.h"

void deadline_in(struct timespec *at, long long ms)
{
	clock_gettime(CLOCK_REALTIME, at);
	at->tv_sec += (time_t)(ms / 1000);
	at->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (at->tv_nsec >= 1000000000L) {
		at->tv_sec++;
		at->tv_nsec -= 1000000000L;
	}
}
