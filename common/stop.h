/*
 * stop.h - orderly shutdown on SIGINT and SIGTERM for the daemons' event
 * loops: the handler only sets a flag, which the loop checks between
 * events (its waits are bounded, so a stop is seen within one wait).
 */
#ifndef SL_STOP_H
#define SL_STOP_H

/* Installs the handlers (no SA_RESTART: blocking calls return early). */
void stop_on_signals(void);
/* Non-zero once a stop signal arrived. */
int stop_requested(void);

#endif
