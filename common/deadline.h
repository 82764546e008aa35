/*
 * deadline.h - the absolute time pthread_cond_timedwait wants: now plus
 * some milliseconds on CLOCK_REALTIME (the default clock of a condition
 * variable).
 */
#ifndef SL_DEADLINE_H
#define SL_DEADLINE_H

#include <time.h>

void deadline_in(struct timespec *at, long long ms);

#endif
