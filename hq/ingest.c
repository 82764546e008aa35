/*
 * ingest.c - `hq run`: takes every shelter message from the broker into
 * custody, validates it, stores it in batches (one transaction per
 * batch), and only after COMMIT publishes the end-to-end acknowledgement
 * for each shelter the batch touched.  A message that cannot be stored
 * goes to the dead-letter table with its reason; none stops ingest.
 *
 * Custody comes first: the subscription runs on libmosquitto's thread
 * (common/mqsub.h), which puts every message into the inbox
 * (common/inbox.h), a file of its own committed by a writer thread, as
 * fast as the broker sends.  The main thread processes what the inbox
 * has committed, in order, and writes how far it got (ingest_cursor) in
 * the same transaction as the results: after a crash it resumes there,
 * nothing lost and nothing twice.  A broker's backlog is thus off the
 * broker (whose queues drop when full) long before it is processed.
 *
 * One shelter sending faster than shelter_rate (after a burst of
 * shelter_burst) has the excess dropped unstored and unacknowledged: its
 * agent resends, the other shelters are not held up.  With shared_group
 * several hq processes split the shelters' messages (MQTT 5 shared
 * subscriptions, docs/operations.md).  Every feed_interval_s, if anything
 * changed, the public feed is published (retained) and written.  It is
 * built on a thread of its own, with its own connection to the database:
 * on a million reports that takes over a second, which ingest (and every
 * acknowledgement) would otherwise wait out.
 *
 * Acknowledgements are coalesced: a shelter's retained ack goes out at
 * most once per ack_interval_ms, always carrying the latest committed
 * acked_seq.  The first ack after a quiet spell goes out at once, and a
 * later one as soon as the interval has passed, so the last ack of a
 * burst is never held back longer than the interval.  While hq is behind
 * (a full batch is still queued after a commit: a backlog), the interval
 * is ACK_BEHIND_MS: each ack costs about as much CPU as ingesting a
 * report, and agents wait 30 s before they resend.
 *
 * Acks go out on a connection of their own: on the ingest connection, a
 * broker that pushes a whole backlog at once (max_inflight_messages 0)
 * queues its PUBACKs to our acks behind that backlog, which hq reads only
 * as fast as it commits (common/mq.c bounds the intake), so the acks
 * would stop for the whole drain.
 */
#define _GNU_SOURCE /* tsearch, syscall */
#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hq.h"
#include "inbox.h"
#include "log.h"
#include "mem.h"
#include "mq.h"
#include "mqsub.h"
#include "msg.h"
#include "stop.h"
#include "rules.h"

/* One shelter's acknowledgement.  Lives as long as the ingest. */
struct ack_state {
	char *shelter_id;    /* the tree's key; owned */
	long long committed; /* acked_seq as of the last commit */
	long long staged;    /* acked_seq read inside the open transaction */
	double sent_at;      /* monotonic s of the last publish; 0: never */
	int in_batch, due;   /* listed in batch[] / due[] */
};

/* A growable array of pointers to states it does not own. */
struct ack_list {
	struct ack_state **v;
	size_t n, cap;
};

/* The feed thread.  want, quit and done are shared: under lock. */
struct feeder {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int want, quit;
	json_t *done;    /* built, for the owner to publish; owned */
	hq_store *store; /* the thread's own connection */
	const struct hq_config *cfg;
	const catalog *items; /* read only, shared */
};

struct ingest {
	const struct hq_config *cfg;
	schema_set *schemas;
	catalog *items;
	hq_store *store;
	mqsub *sub;        /* the subscription, hq_state, the feed, orders */
	inbox *inbox;      /* what sub received, until processed */
	long long cursor;  /* the last inbox id processed (committed) */
	mq_client *out_mq; /* acknowledgements only */
	struct ingest_counters n;
	limit_table *limits;
	double last_feed, last_counters; /* monotonic seconds */
	int changed;                     /* since the last feed */
	void *acks;              /* tsearch tree of struct ack_state */
	struct ack_list all;     /* every state, for freeing */
	struct ack_list batch;   /* touched by the open transaction */
	struct ack_list due;     /* committed, ack not published yet */
	double next_ack;         /* monotonic s when due[] next has work */
	int behind;              /* a full batch waits after the last */
	char state_topic[TOPIC_MAX];
	struct feeder feed;
	sl_error batch_err;      /* why ingest_one failed inside inbox_read */
	char **born;             /* shelters born in the open transaction */
	size_t n_born, cap_born;
};

static int ack_list_push(struct ack_list *l, struct ack_state *s)
{
	struct ack_state **grown = sl_grow(l->v, &l->cap, l->n + 1,
					   sizeof(*grown));
	if (grown == NULL)
		return SL_ENOMEM;
	l->v = grown;
	l->v[l->n++] = s;
	return 0;
}

static int ack_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ack_state *)a)->shelter_id,
		      ((const struct ack_state *)b)->shelter_id);
}

/* The shelter's state, created on first use; NULL when out of memory. */
static struct ack_state *ack_state_of(struct ingest *in, const char *id)
{
	struct ack_state key = { .shelter_id = (char *)(uintptr_t)id };
	struct ack_state **found = tfind(&key, &in->acks, ack_cmp);
	if (found)
		return *found;
	struct ack_state *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->shelter_id = strdup(id)) == NULL ||
	    ack_list_push(&in->all, s) != 0) {
		if (s)
			free(s->shelter_id);
		free(s);
		return NULL;
	}
	if (tsearch(s, &in->acks, ack_cmp) == NULL) {
		in->all.n--;
		free(s->shelter_id);
		free(s);
		return NULL;
	}
	return s;
}

/* The shelter is acknowledged after the open transaction commits. */
static int touch(struct ingest *in, const char *shelter_id)
{
	struct ack_state *s = ack_state_of(in, shelter_id);
	if (s == NULL)
		return SL_ENOMEM;
	if (s->in_batch)
		return 0;
	s->in_batch = 1;
	return ack_list_push(&in->batch, s);
}

static void clear_touched(struct ingest *in)
{
	for (size_t i = 0; i < in->batch.n; i++)
		in->batch.v[i]->in_batch = 0;
	in->batch.n = 0;
}

/*
 * The seq a rejected status or receipt still names, if it is readable and
 * the payload does not claim another shelter: that seq is settled.
 */
static long long settled_seq(const struct topic_parts *t,
			     const struct mq_event *ev)
{
	long long seq = 0;
	if (t == NULL || ev->truncated ||
	    (t->kind != TOPIC_STATUS && t->kind != TOPIC_RECEIPT))
		return 0;
	json_t *doc = json_loadb((const char *)ev->payload, ev->len,
				 JSON_REJECT_DUPLICATES, NULL);
	const json_t *s = json_object_get(doc, "seq");
	const char *id = json_string_value(json_object_get(doc, "shelter_id"));
	if (json_is_integer(s) && json_integer_value(s) >= 1 &&
	    json_integer_value(s) <= 9007199254740991LL &&
	    (id == NULL || strcmp(id, t->shelter_id) == 0))
		seq = json_integer_value(s);
	json_decref(doc);
	return seq;
}

static int reject(struct ingest *in, const struct mq_event *ev,
		  const struct topic_parts *t, const char *reason, sl_error *err)
{
	long long seq = settled_seq(t, ev);
	struct store_settle settle = { t ? t->shelter_id : NULL,
				       t ? t->municipality : NULL, seq };

	in->n.rejected++;
	log_warn("rejected message on %s: %s", ev->topic, reason);
	int rc = store_dead_letter(in->store, ev->topic, reason, ev->payload,
				   ev->len, ev->original_len,
				   seq ? &settle : NULL, time(NULL), err);
	if (rc == 0 && seq && touch(in, t->shelter_id) != 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	return rc;
}

/* The topic names who sent it; the payload must agree, or it is forged
 * or misrouted (and a broker ACL on the topic would not protect us). */
static const char *mismatch(const struct topic_parts *t, const json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "shelter_id"));
	const char *muni = json_string_value(json_object_get(msg, "municipality"));
	if (strcmp(id, t->shelter_id) != 0)
		return "topic_mismatch: payload shelter_id differs from the topic's";
	if (strcmp(muni, t->municipality) != 0)
		return "topic_mismatch: payload municipality differs from the topic's";
	return NULL;
}

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1 when the shelter is within its rate; a flood is logged once per
 * thousand dropped messages, not once each. */
static int within_rate(struct ingest *in, const struct topic_parts *t,
		       sl_error *err)
{
	int rc = limit_take(in->limits, t->shelter_id, monotonic_s());
	if (rc < 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0 && in->n.rate_limited++ % 1000 == 0)
		log_warn("rate_limited: shelter %s sends faster than %lld "
			 "messages/s; excess dropped for its agent to resend "
			 "(%llu so far)",
			 t->shelter_id, in->cfg->shelter_rate,
			 in->n.rate_limited);
	return rc;
}

static void clear_births(struct ingest *in)
{
	for (size_t i = 0; i < in->n_born; i++)
		free(in->born[i]);
	in->n_born = 0;
}

static int note_birth(struct ingest *in, const char *shelter_id)
{
	char **grown = sl_grow(in->born, &in->cap_born, in->n_born + 1,
			       sizeof(*grown));
	if (grown == NULL)
		return SL_ENOMEM;
	in->born = grown;
	if ((in->born[in->n_born] = strdup(shelter_id)) == NULL)
		return SL_ENOMEM;
	in->n_born++;
	return 0;
}

/* Orders sent before a shelter's birth and not yet receipted go out
 * again: the agent drops the ones it already has (docs/protocol.md). */
static void resend_orders(struct ingest *in)
{
	for (size_t i = 0; i < in->n_born; i++) {
		json_t *rows, *row;
		size_t k;
		sl_error err;
		if (dispatch_open_orders(in->store, in->born[i], &rows, &err)) {
			log_warn("open orders of %s: %s", in->born[i], err.text);
			continue;
		}
		json_array_foreach(rows, k, row) {
			char topic[TOPIC_MAX];
			const char *text = json_string_value(
				json_object_get(row, "payload"));
			if (topic_build(topic, sizeof(topic),
					json_string_value(json_object_get(
						row, "municipality")),
					in->born[i], TOPIC_DISPATCH) != 0 ||
			    mqsub_publish(in->sub, topic, text, strlen(text), 1,
					  0, &err) != 0)
				log_warn("dispatch %s to %s not resent",
					 json_string_value(json_object_get(
						 row, "dispatch_id")),
					 in->born[i]);
		}
		json_decref(rows);
	}
	clear_births(in);
}

/* Handles one message inside the open transaction.  Returns non-zero
 * only for database failures, which abort the whole batch. */
static int ingest_one(struct ingest *in, const struct mq_event *ev,
		      sl_error *err)
{
	struct topic_parts t;
	sl_error why;
	json_t *msg;
	enum store_result result;

	/* `+/state` also matches HQ's own presence topic: not a shelter's. */
	if (topic_parse(ev->topic, &t) == 0 && t.kind == TOPIC_HQ_STATE)
		return 0;
	in->n.received++;
	if (topic_parse(ev->topic, &t) != 0)
		return reject(in, ev, NULL,
			      "unknown_topic: not in the shelterlink/v1 tree", err);
	if (t.kind != TOPIC_STATUS && t.kind != TOPIC_STATE &&
	    t.kind != TOPIC_RECEIPT)
		return reject(in, ev, NULL,
			      "unknown_topic: shelters do not send this kind", err);
	int allowed = within_rate(in, &t, err);
	if (allowed <= 0)
		return allowed; /* 0: dropped; < 0: out of memory */
	if (ev->truncated) {
		snprintf(why.text, sizeof(why.text),
			 "too_large: payload of %zu bytes exceeds the %d-byte limit",
			 ev->original_len, MSG_MAX_BYTES);
		return reject(in, ev, &t, why.text, err);
	}
	if (msg_decode(in->schemas, topic_kind_name(t.kind), ev->payload,
		       ev->len, &msg, &why) != 0)
		return reject(in, ev, &t, why.text, err);
	const char *bad = mismatch(&t, msg);
	if (bad == NULL && rules_check(msg, in->items, &why) != 0)
		bad = why.text;
	if (bad) {
		json_decref(msg);
		return reject(in, ev, &t, bad, err);
	}
	int rc = store_message_text(in->store, t.kind, msg,
				    (const char *)ev->payload, ev->len,
				    time(NULL), &result, err);
	/* a birth: the shelter's session may be new, so its open dispatch
	 * orders go out again once this transaction is committed */
	int born = rc == 0 && result == STORE_NEW && t.kind == TOPIC_STATE &&
		   strcmp(json_string_value(json_object_get(msg, "state")),
			  "online") == 0;
	json_decref(msg);
	if (rc != 0)
		return rc;
	if (born && note_birth(in, t.shelter_id) != 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if (result == STORE_NEW && t.kind != TOPIC_STATE)
		in->n.stored++;
	in->changed |= result == STORE_NEW;
	if (result == STORE_DUPLICATE)
		in->n.duplicate++;
	/* Duplicates are acknowledged again: the agent resent because it
	 * never saw our earlier acknowledgement. */
	if (t.kind != TOPIC_STATE && touch(in, t.shelter_id) != 0)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	return 0;
}

/* 0 when handed to the client library, non-zero (logged) otherwise.
 * Acks go on out (paho); anything else on sub, so that a large feed
 * never queues the acks behind it on one TCP connection. */
static int publish_json(mq_client *out, mqsub *sub, const char *topic,
			json_t *msg, int retain)
{
	char *text = msg_encode(msg);
	sl_error err;
	int rc;
	if (text == NULL) {
		log_error("out of memory encoding %s", topic);
		return SL_ENOMEM;
	}
	rc = out ? mq_publish(out, topic, text, strlen(text), 1, retain, 0, &err)
		 : mqsub_publish(sub, topic, text, strlen(text), 1, retain, &err);
	if (rc != 0)
		log_warn("publish %s: %s", topic, err.text);
	free(text);
	return rc;
}

/* Acks handed to paho and not yet PUBACKed; the rest stay due. */
#define ACK_PENDING_MAX 256
/* Least time between two acks to one shelter while hq is behind. */
#define ACK_BEHIND_MS 5000


static json_t *hq_state_msg(const struct hq_config *cfg, const char *state)
{
	char now[32];
	msg_time(time(NULL), now);
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", 1, "type",
			 "hq_state", "municipality", cfg->common.municipality,
			 "state", state, "time", now, "hq_version", SL_VERSION);
}

/* Inside the batch's transaction: one read transaction per shelter
 * after the commit cost more than the rest of the acknowledgement. */
static int read_acked(struct ingest *in, sl_error *err)
{
	for (size_t i = 0; i < in->batch.n; i++) {
		struct ack_state *s = in->batch.v[i];
		int rc = store_acked_seq(in->store, s->shelter_id, &s->staged, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* After COMMIT: what was staged is now promised, and due to go out. */
static int commit_acks(struct ingest *in)
{
	int rc = 0;
	for (size_t i = 0; i < in->batch.n; i++) {
		struct ack_state *s = in->batch.v[i];
		s->committed = s->staged;
		if (!s->due && rc == 0) {
			s->due = 1;
			rc = ack_list_push(&in->due, s);
		}
	}
	clear_touched(in);
	in->next_ack = 0;
	return rc;
}

/* 0 when handed to paho. */
static int publish_ack(struct ingest *in, const struct ack_state *s,
		       const char *now)
{
	char topic[TOPIC_MAX];
	if (topic_build(topic, sizeof(topic), in->cfg->common.municipality,
			s->shelter_id, TOPIC_ACK) != 0)
		return 0; /* cannot be addressed: nothing will ever fix it */
	json_t *ack = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s}", "v", 1,
				"type", "ack", "shelter_id", s->shelter_id,
				"municipality", in->cfg->common.municipality,
				"acked_seq", (json_int_t)s->committed, "time",
				now);
	if (ack == NULL)
		return SL_ENOMEM;
	int rc = publish_json(in->out_mq, NULL, topic, ack, 1);
	json_decref(ack);
	if (rc == 0)
		in->n.acknowledged++;
	return rc;
}

/* The outgoing connection's events: PUBACKs make room, and polling it
 * is what reconnects it. */
static void out_events(struct ingest *in)
{
	struct mq_event ev;
	while (mq_poll(in->out_mq, 0, &ev) == 1) {
		if (ev.type == MQ_EV_CONNECT_FAILED ||
		    ev.type == MQ_EV_CONNECTION_LOST ||
		    ev.type == MQ_EV_PUBLISH_FAILED)
			log_warn("outgoing connection: %s", ev.reason);
		if (ev.type != MQ_EV_PUBLISH_FAILED)
			in->next_ack = 0;
		mq_event_clear(&ev);
	}
}

/*
 * Publishes the due acks whose shelter has not had one for
 * ack_interval_ms (force: whatever the interval), as far as paho has
 * room; never waits.  Whatever is left stays due, and next_ack says when
 * to look again.  Cheap when nothing can go out, so the batch loop calls
 * it after every message.
 */
static void flush_acks(struct ingest *in, int force)
{
	double now = monotonic_s();
	long long ms = in->cfg->ack_interval_ms;
	if (in->behind && ms < ACK_BEHIND_MS)
		ms = ACK_BEHIND_MS;
	double interval = force ? 0 : (double)ms / 1000;
	char stamp[32];
	size_t i, keep = 0;

	if (in->due.n == 0 || (now < in->next_ack && !force))
		return;
	out_events(in);
	int room = ACK_PENDING_MAX - mq_inflight(in->out_mq);
	if (!mq_is_connected(in->out_mq) || room <= 0) {
		in->next_ack = now + 0.01; /* PUBACKs come in meanwhile */
		return;
	}
	msg_time(time(NULL), stamp);
	in->next_ack = now + 1;
	for (i = 0; i < in->due.n && room > 0; i++) {
		struct ack_state *s = in->due.v[i];
		double at = s->sent_at + interval;
		if (at <= now && publish_ack(in, s, stamp) == 0) {
			s->due = 0;
			s->sent_at = now;
			room--;
			continue;
		}
		if (at > now && at < in->next_ack)
			in->next_ack = at;
		in->due.v[keep++] = s;
	}
	if (i < in->due.n) { /* out of room: the rest waits its turn */
		in->next_ack = now + 0.01;
		memmove(&in->due.v[keep], &in->due.v[i],
			(in->due.n - i) * sizeof(*in->due.v));
		keep += in->due.n - i;
	}
	in->due.n = keep;
}

/* How long the batch loop may wait for its first event. */
static int idle_wait_ms(const struct ingest *in)
{
	if (in->due.n == 0)
		return 1000;
	double left = (in->next_ack - monotonic_s()) * 1000;
	return left <= 0 ? 0 : left >= 1000 ? 1000 : (int)left + 1;
}

/*
 * Custody before processing when CPU is short: the threads that take
 * messages off the broker and commit them to the inbox keep the normal
 * priority; processing and the feed run PROCESS_NICE lower.  Measured on
 * the 2-core machine where mosquitto itself needs a core: a 200,000
 * report backlog went into custody at 112,000/s with equal priorities
 * and 141,000/s with processing niced (docs/benchmarks.md).  Not so low
 * that a processing transaction, which holds the database's write lock,
 * keeps an operator's command waiting for long.  Linux-specific (the
 * nice value of one thread); elsewhere nothing changes.
 */
#define PROCESS_NICE 10
static void lower_priority(void)
{
#ifdef __linux__
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
			getpriority(PRIO_PROCESS, 0) + PROCESS_NICE) != 0)
		log_warn("processing keeps its priority: %s", strerror(errno));
#endif
}

/* Builds the feed (and writes feed_file) whenever the owner asks. */
static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	const struct hq_config *cfg = f->cfg;
	lower_priority();
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->want && !f->quit)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->quit)
			break;
		pthread_mutex_unlock(&f->lock);
		struct picture_opts o = { time(NULL), cfg->stale_after_s };
		json_t *feed = NULL;
		sl_error err;
		if (feed_build(f->store, f->items, cfg->common.municipality,
			       cfg->feed_credit, &o, &feed, &err) != 0)
			log_error("public feed: %s", err.text);
		else if (cfg->feed_file &&
			 feed_write(feed, cfg->feed_file, &err) != 0)
			log_error("public feed: %s", err.text);
		pthread_mutex_lock(&f->lock);
		json_decref(f->done); /* an older one nobody published */
		f->done = feed;
		f->want = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static int feeder_start(struct feeder *f, const struct hq_config *cfg,
			const catalog *items, sl_error *err)
{
	f->cfg = cfg;
	f->items = items;
	f->store = store_open(cfg->common.database, err);
	if (f->store == NULL)
		return SL_EDB;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (pthread_create(&f->thread, NULL, feeder_main, f) != 0) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		return sl_error_set(err, SL_ENOMEM, "cannot start the feed thread");
	}
	f->started = 1;
	return 0;
}

static void feeder_stop(struct feeder *f)
{
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->quit = 1;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		json_decref(f->done);
	}
	store_close(f->store);
}

/* The public feed: asked for when due and something changed since the
 * last (unless one is being built), published when built. */
static void maybe_feed(struct ingest *in)
{
	const struct hq_config *cfg = in->cfg;
	struct feeder *f = &in->feed;
	double now = monotonic_s();
	char topic[TOPIC_MAX];

	pthread_mutex_lock(&f->lock);
	json_t *feed = f->done;
	f->done = NULL;
	if (in->changed && !f->want &&
	    now - in->last_feed >= (double)cfg->feed_interval_s) {
		f->want = 1;
		pthread_cond_signal(&f->cond);
		in->last_feed = now;
		in->changed = 0;
	}
	pthread_mutex_unlock(&f->lock);
	if (feed && topic_build(topic, sizeof(topic), cfg->common.municipality,
				NULL, TOPIC_FEED) == 0)
		publish_json(NULL, in->sub, topic, feed, 1);
	json_decref(feed);
}

static void log_counters(struct ingest *in, const char *when)
{
	unsigned long long put = 0, kept = 0;
	if (in->inbox)
		inbox_counts(in->inbox, &put, &kept);
	log_info("%sreceived %llu, stored %llu, duplicate %llu, rejected %llu, "
		 "rate_limited %llu, acknowledged %llu; inbox: taken %llu, "
		 "committed %llu, processed up to %lld",
		 when, in->n.received, in->n.stored, in->n.duplicate,
		 in->n.rejected, in->n.rate_limited, in->n.acknowledged, put,
		 kept, in->cursor);
}

/* On the subscription's thread: hq is up. */
static void on_connected(void *arg, mqsub *sub)
{
	struct ingest *in = arg;
	sl_error err;
	log_info("connected to %s", in->cfg->common.broker);
	json_t *st = hq_state_msg(in->cfg, "online");
	char *text = st ? msg_encode(st) : NULL;
	json_decref(st);
	if (text == NULL || mqsub_publish(sub, in->state_topic, text,
					  strlen(text), 1, 1, &err) != 0)
		log_warn("hq_state online not published");
	free(text);
}

/* On the subscription's thread: into custody.  Blocks while intake_max
 * messages wait for the inbox's writer (TCP then pushes back). */
static void on_received(void *arg, const char *topic, const void *payload,
			size_t len)
{
	struct ingest *in = arg;
	int rc = inbox_put(in->inbox, topic, payload, len);
	if (rc == SL_ENOMEM)
		log_error("out of memory: a message on %s is dropped for its "
			  "sender to resend", topic);
}

/* inbox_read's callback: one message inside the batch's transaction. */
static int process_one(void *arg, const struct inbox_msg *m)
{
	struct ingest *in = arg;
	struct mq_event ev = {
		.type = MQ_EV_MESSAGE,
		.topic = (char *)(uintptr_t)m->topic,
		.payload = (unsigned char *)(uintptr_t)m->payload,
		.len = m->len,
		.original_len = m->original_len,
		.truncated = m->original_len > m->len,
	};
	int rc = ingest_one(in, &ev, &in->batch_err);
	flush_acks(in, 0);
	return rc;
}

/* The batch failed: nothing of it is stored or promised. */
static int abandon_batch(struct ingest *in, int rc)
{
	store_rollback(in->store);
	clear_touched(in);
	clear_births(in);
	return rc;
}

/*
 * Processes what the inbox has committed after the cursor, at most
 * batch_max messages, in one transaction with the new cursor.  With
 * fewer waiting, it waits up to batch_wait_ms for more: a batch per
 * message would cost a commit each.  The first message is waited for up
 * to a second (less when acks are due) so signals are noticed promptly.
 */
static int ingest_batch(struct ingest *in, sl_error *err)
{
	long long max = in->cfg->batch_max, last = in->cursor;
	long long ready = inbox_wait(in->inbox, in->cursor + 1, idle_wait_ms(in));
	int rc;

	if (ready > in->cursor && ready - in->cursor < max &&
	    in->cfg->batch_wait_ms > 0 && !stop_requested())
		ready = inbox_wait(in->inbox, in->cursor + max,
				   (int)in->cfg->batch_wait_ms);
	if (ready > in->cursor && !stop_requested()) {
		if ((rc = store_begin(in->store, err)) != 0)
			return rc;
		in->batch_err.text[0] = '\0';
		rc = inbox_read(in->inbox, in->cursor, (int)max, process_one, in,
				&last, err);
		if (rc != 0 && in->batch_err.text[0]) /* from ingest_one */
			*err = in->batch_err;
		if (rc == 0)
			rc = store_set_cursor(in->store,
					      inbox_generation(in->inbox), last, err);
		if (rc == 0)
			rc = read_acked(in, err);
		if (rc != 0)
			return abandon_batch(in, rc);
		if ((rc = store_commit(in->store, err)) != 0) {
			clear_touched(in);
			clear_births(in);
			return rc;
		}
		in->cursor = last;
		inbox_release(in->inbox, last);
		if (commit_acks(in) != 0)
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		resend_orders(in);
	}
	int was_behind = in->behind;
	in->behind = inbox_committed(in->inbox) - in->cursor >= max;
	if (was_behind && !in->behind)
		in->next_ack = 0; /* caught up: the usual interval again */
	out_events(in);
	flush_acks(in, 0);
	maybe_feed(in);
	if (monotonic_s() - in->last_counters >= 60) {
		in->last_counters = monotonic_s();
		log_counters(in, "so far: ");
	}
	return 0;
}

/* As configured, or <database>.inbox, or with a client_id (hq processes
 * sharing a database each have one) <database>.<client_id>.inbox.
 * Owned by the caller. */
static char *inbox_path(const struct hq_config *cfg)
{
	if (cfg->inbox)
		return strdup(cfg->inbox);
	const char *id = cfg->client_id ? cfg->client_id : "";
	size_t n = strlen(cfg->common.database) + strlen(id) + sizeof("..inbox");
	char *path = malloc(n);
	if (path)
		snprintf(path, n, "%s%s%s.inbox", cfg->common.database,
			 *id ? "." : "", id);
	return path;
}

/* The inbox, and where processing resumes in it. */
static int open_inbox(struct ingest *in, sl_error *err)
{
	char *path = inbox_path(in->cfg);
	if (path == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	in->inbox = inbox_open(path, (size_t)in->cfg->intake_max,
			       MSG_MAX_BYTES, err);
	free(path);
	if (in->inbox == NULL)
		return SL_EDB;
	int rc = store_cursor(in->store, inbox_generation(in->inbox),
			      &in->cursor, err);
	if (rc != 0)
		return rc;
	inbox_release(in->inbox, in->cursor);
	long long waiting = inbox_committed(in->inbox) - in->cursor;
	if (waiting > 0)
		log_info("%lld messages in the inbox from before: processing "
			 "them first", waiting);
	return 0;
}

/* The subscription: session, Will (hq_state offline), topics. */
static int setup_subscription(struct ingest *in, struct mq_options *o,
			      sl_error *err)
{
	const struct hq_config *cfg = in->cfg;
	const char *muni = cfg->common.municipality;
	static const enum topic_kind kinds[] = { TOPIC_STATUS, TOPIC_STATE,
						 TOPIC_RECEIPT };
	char filter[TOPIC_MAX + 80];

	in->sub = mqsub_new(o, err);
	if (in->sub == NULL)
		return SL_ENET;
	json_t *will = hq_state_msg(cfg, "offline");
	char *text = will ? msg_encode(will) : NULL;
	json_decref(will);
	if (text == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc = mqsub_set_will(in->sub, in->state_topic, text, strlen(text), 1,
				1, err);
	free(text);
	for (size_t i = 0; rc == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char topic[TOPIC_MAX];
		topic_build(topic, sizeof(topic), muni, "+", kinds[i]);
		if (cfg->shared_group)
			snprintf(filter, sizeof(filter), "$share/%s/%s",
				 cfg->shared_group, topic);
		else
			snprintf(filter, sizeof(filter), "%s", topic);
		rc = mqsub_subscribe(in->sub, filter, 1, err);
	}
	return rc;
}

static int ingest_setup(struct ingest *in, const struct hq_config *cfg,
			sl_error *err)
{
	char client_id[64];
	const char *muni = cfg->common.municipality;
	int rc;

	in->cfg = cfg;
	in->schemas = schema_set_open(cfg->common.schemas, err);
	if (in->schemas == NULL)
		return SL_EINVAL;
	in->items = catalog_load(cfg->common.items, in->schemas, err);
	if (in->items == NULL)
		return SL_EINVAL;
	in->store = store_open(cfg->common.database, err);
	if (in->store == NULL)
		return SL_EDB;
	if ((rc = open_inbox(in, err)) != 0)
		return rc;
	if ((rc = feeder_start(&in->feed, cfg, in->items, err)) != 0)
		return rc;

	snprintf(client_id, sizeof(client_id), "%s",
		 cfg->client_id ? cfg->client_id : "");
	if (cfg->client_id == NULL)
		snprintf(client_id, sizeof(client_id), "sl-hq-%s", muni);
	in->limits = limit_new((double)cfg->shelter_rate,
			       (double)cfg->shelter_burst);
	if (in->limits == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	in->changed = 1; /* the first feed goes out as soon as hq is up */
	in->last_feed = in->last_counters = monotonic_s() -
					    (double)cfg->feed_interval_s;
	topic_build(in->state_topic, sizeof(in->state_topic), muni, NULL,
		    TOPIC_HQ_STATE);
	struct mq_options o;
	mq_options_common(&o, &cfg->common, client_id);
	o.session_expiry_s = (unsigned)cfg->session_expiry_s;
	if ((rc = setup_subscription(in, &o, err)) != 0)
		return rc;
	/* no session, no subscription, no Will: a new connection can send
	 * whatever is still due */
	char out_id[sizeof(client_id) + 8];
	snprintf(out_id, sizeof(out_id), "%s-ack", client_id);
	o.client_id = out_id;
	o.clean_start = 1;
	o.session_expiry_s = 0;
	o.max_inflight = ACK_PENDING_MAX;
	in->out_mq = mq_new(&o, err);
	if (in->out_mq == NULL || mq_start(in->out_mq, err) != 0)
		return SL_ENET;
	struct mqsub_handlers h = { on_received, on_connected, in };
	return mqsub_start(in->sub, &h, err);
}

/* What is committed is promised: on a clean stop the due acks go out
 * whatever the interval, for at most a few seconds. */
static void final_acks(struct ingest *in)
{
	double until = monotonic_s() + 3;
	while (in->due.n > 0 && monotonic_s() < until) {
		flush_acks(in, 1);
		if (in->due.n > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	/* and their PUBACKs, so paho does not drop them on disconnect */
	while (mq_inflight(in->out_mq) > 0 && mq_is_connected(in->out_mq) &&
	       monotonic_s() < until) {
		out_events(in);
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
}

/* The subscription stops first (a callback waiting for room in the
 * inbox is let go), then the inbox commits what it was given. */
static void ingest_teardown(struct ingest *in)
{
	feeder_stop(&in->feed);
	if (in->inbox && in->sub) {
		mqsub_stop(in->sub, 1);
		inbox_shutdown(in->inbox);
	}
	mqsub_free(in->sub);
	inbox_close(in->inbox);
	if (in->out_mq)
		mq_stop(in->out_mq, 0, 2000);
	mq_free(in->out_mq);
	store_close(in->store);
	catalog_free(in->items);
	schema_set_free(in->schemas);
	limit_free(in->limits);
	while (in->acks) /* the tree's nodes; the states are in all[] */
		tdelete(*(struct ack_state **)in->acks, &in->acks, ack_cmp);
	for (size_t i = 0; i < in->all.n; i++) {
		free(in->all.v[i]->shelter_id);
		free(in->all.v[i]);
	}
	free(in->all.v);
	free(in->batch.v);
	free(in->due.v);
	clear_births(in);
	free(in->born);
}

int ingest_run(const struct hq_config *cfg, sl_error *err)
{
	struct ingest in = { 0 };
	stop_on_signals();

	int rc = ingest_setup(&in, cfg, err);
	lower_priority();
	if (rc == 0)
		log_info("hq %s ingesting municipality %s into %s", SL_VERSION,
			 cfg->common.municipality, cfg->common.database);
	while (rc == 0 && !stop_requested())
		rc = ingest_batch(&in, err);
	if (in.out_mq)
		final_acks(&in);
	log_counters(&in, "");
	ingest_teardown(&in);
	return rc;
}
