/*
 * inbox.h - custody before processing: a durable queue of received
 * messages in an SQLite file of its own.
 *
 * A broker drops what it holds (mosquitto's max_queued_messages, a restart
 * without persistence), so a receiver should take a backlog off it as fast
 * as the broker can send and the disk can sync, whatever the processing
 * costs.  One producer thread puts messages (inbox_put copies them into a
 * bounded ring and blocks while it is full: backpressure); a writer thread
 * commits whatever the ring holds in one transaction (group commit,
 * synchronous=FULL).  The owner reads committed messages in order,
 * processes them, records how far it got in its own database in the same
 * transaction as the results (so a crash neither loses nor repeats one),
 * and releases them; the writer deletes released rows when it is idle.
 *
 * Row ids only grow (AUTOINCREMENT) and the file carries a random
 * generation: a cursor kept elsewhere is only valid with the same
 * generation (a deleted or replaced inbox starts again at 1).
 *
 * A failed commit (disk full) is retried every second; meanwhile the ring
 * fills and the producer waits, so nothing is dropped.
 */
#ifndef SL_INBOX_H
#define SL_INBOX_H

#include <stddef.h>

#include "error.h"

typedef struct inbox inbox;

/* One committed message, borrowed for the duration of the callback. */
struct inbox_msg {
	long long id;
	const char *topic;
	const unsigned char *payload; /* NUL-terminated; len bytes kept */
	size_t len;
	size_t original_len; /* bytes received; > len when cut to max_payload */
	long long received_ms; /* wall clock, milliseconds since the epoch */
};

/*
 * Opens (creating) the inbox at path and starts its writer.  ring_max:
 * messages held in memory before inbox_put blocks; payloads longer than
 * max_payload are kept cut, with their original length.  NULL with err set.
 */
inbox *inbox_open(const char *path, size_t ring_max, size_t max_payload,
		  sl_error *err);
/* Commits what the ring holds (for a few seconds at most if the disk
 * fails), stops the writer and frees everything; NULL is a no-op. */
void inbox_close(inbox *ib);

/* From the producer thread.  0, or SL_ENOMEM, or SL_ETIMEOUT once
 * inbox_shutdown has been called (the message is not kept). */
int inbox_put(inbox *ib, const char *topic, const void *payload, size_t len);
/* Makes a waiting and every later inbox_put return at once. */
void inbox_shutdown(inbox *ib);

const char *inbox_generation(const inbox *ib);
/* The highest committed id (0: none yet). */
long long inbox_committed(inbox *ib);
/* Waits until the highest committed id is >= id, or timeout_ms pass.
 * Returns the highest committed id. */
long long inbox_wait(inbox *ib, long long id, int timeout_ms);

/*
 * Calls fn for the committed messages after id `after`, in order, at most
 * max of them; stops early when fn returns non-zero and returns that.
 * *last is the id of the last one given to fn (after when none).
 * Owner thread only (it has its own connection).
 */
int inbox_read(inbox *ib, long long after, int max,
	       int (*fn)(void *arg, const struct inbox_msg *m), void *arg,
	       long long *last, sl_error *err);
/* Messages up to id are processed: the writer may delete them. */
void inbox_release(inbox *ib, long long id);

/* Messages put, and committed, since open (for counters). */
void inbox_counts(inbox *ib, unsigned long long *put,
		  unsigned long long *committed);

#endif
