/*
 * uplink.c - `shelter-agent run`: delivers the outbox to HQ.
 *
 * Delivery is go-back-N over HQ's end-to-end acknowledgement: messages
 * are sent in seq order up to `window` ahead of HQ's acked_seq; when the
 * acknowledgement stops advancing for resend_s, or the connection comes
 * back, sending restarts from the oldest unacknowledged message.  The
 * broker's PUBACK is ignored for delivery on purpose (docs/protocol.md).
 * Nothing about what was sent is persisted: after a restart everything
 * unacknowledged goes again and HQ deduplicates on (shelter_id, seq).
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "mq.h"
#include "msg.h"
#include "rules.h"
#include "stop.h"
#include "topic.h"

struct uplink {
	const struct agent_config *cfg;
	outbox *ob;
	schema_set *schemas;
	catalog *items;
	mq_client *mq;
	long long birth;
	long long acked;     /* HQ's acknowledgement as far as we know */
	long long cursor;    /* next seq to send */
	long long last_assigned; /* highest seq the outbox had, last we looked */
	time_t progress_at;  /* last time the acknowledgement advanced */
	time_t heartbeat_at; /* when presence is announced again */
	char topic_ack[TOPIC_MAX], topic_dispatch[TOPIC_MAX];
	char topic_state[TOPIC_MAX];
	char topic_up[TOPIC_KIND_COUNT][TOPIC_MAX];
};

static char *state_payload(const struct uplink *u, const char *state)
{
	char now[32];
	msg_time(time(NULL), now);
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s*}",
			      "v", 1, "type", "state", "shelter_id",
			      u->cfg->shelter_id, "municipality",
			      u->cfg->common.municipality, "state", state, "birth",
			      (json_int_t)u->birth, "time", now, "agent_version",
			      SL_VERSION, "name", u->cfg->shelter_name);
	char *text = m ? msg_encode(m) : NULL;
	json_decref(m);
	return text;
}

/* The Will carries the birth number of the connection it will end. */
static int arm_will(struct uplink *u, sl_error *err)
{
	int rc = outbox_next_birth(u->ob, &u->birth, err);
	if (rc != 0)
		return rc;
	char *death = state_payload(u, "offline");
	if (death == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	rc = mq_set_will(u->mq, u->topic_state, death, strlen(death), 1, 1, err);
	free(death);
	return rc;
}

struct send_ctx {
	struct uplink *u;
	time_t now;
	int sent;
};

/* Backlog older than the resend timeout is flagged historical, so HQ
 * can tell a late report from a live one. */
static int send_row(const struct outbox_row *row, void *arg)
{
	struct send_ctx *sc = arg;
	struct uplink *u = sc->u;
	const char *payload = row->payload;
	char *patched = NULL;
	int kind = strcmp(row->type, "receipt") == 0 ? TOPIC_RECEIPT
						     : TOPIC_STATUS;
	sl_error err;

	if (sc->now - row->created_at > u->cfg->resend_s) {
		json_t *m = json_loads(row->payload, 0, NULL);
		if (m && json_object_set_new(m, "historical", json_true()) == 0)
			patched = msg_encode(m);
		json_decref(m);
		if (patched)
			payload = patched;
	}
	int rc = mq_publish(u->mq, u->topic_up[kind], payload, strlen(payload),
			    1, 0, row->seq, &err);
	free(patched);
	if (rc != 0) {
		log_debug("send seq %lld: %s", row->seq, err.text);
		return 1; /* stop; retried on the next turn */
	}
	u->cursor = row->seq + 1;
	sc->sent++;
	return 0;
}

static void flush(struct uplink *u, time_t now)
{
	sl_error err;
	if (!mq_is_connected(u->mq))
		return;
	if (u->cursor > u->acked + 1 && now - u->progress_at >= u->cfg->resend_s) {
		log_info("no acknowledgement beyond %lld for %llds: resending",
			 u->acked, u->cfg->resend_s);
		u->cursor = u->acked + 1;
		u->progress_at = now;
	}
	long long room = u->acked + u->cfg->window - u->cursor + 1;
	int paho_room = 64 - mq_inflight(u->mq);
	if (room > paho_room)
		room = paho_room;
	if (room <= 0)
		return;
	struct send_ctx sc = { .u = u, .now = now };
	if (outbox_read(u->ob, u->cursor, (int)room, send_row, &sc, &err) < 0)
		log_error("%s", err.text);
}

static void on_ack(struct uplink *u, const struct mq_event *ev)
{
	json_t *ack;
	sl_error err;

	if (msg_decode(u->schemas, "ack", ev->payload, ev->len, &ack, &err)) {
		log_warn("ignoring acknowledgement: %s", err.text);
		return;
	}
	long long seq = json_integer_value(json_object_get(ack, "acked_seq"));
	json_decref(ack);
	if (seq <= u->acked)
		return;
	if (outbox_ack(u->ob, seq, time(NULL), &err) != 0) {
		log_error("%s", err.text);
		return;
	}
	log_debug("HQ acknowledged up to %lld", seq);
	u->acked = seq;
	u->progress_at = time(NULL);
	if (u->cursor <= seq)
		u->cursor = seq + 1;
}

/* An order is validated like anything else entering; HQ may send it
 * again after each birth, so a repeat is recognised by its id. */
static void on_dispatch(struct uplink *u, const struct mq_event *ev)
{
	json_t *m;
	sl_error err;
	int is_new = 0;

	if (msg_decode(u->schemas, "dispatch", ev->payload, ev->len, &m, &err) ||
	    rules_check(m, u->items, &err)) {
		log_warn("ignoring dispatch order: %s", err.text);
		json_decref(m); /* decoded but refused by the rules */
		return;
	}
	const char *to = json_string_value(json_object_get(m, "shelter_id"));
	if (strcmp(to, u->cfg->shelter_id) != 0)
		log_warn("ignoring dispatch order for shelter %s", to);
	else if (outbox_store_dispatch(u->ob, m, time(NULL), &is_new, &err))
		log_error("%s", err.text);
	else if (is_new)
		log_info("dispatch order %s received",
			 json_string_value(json_object_get(m, "dispatch_id")));
	json_decref(m);
}

/*
 * The retained birth, published on connect and again every heartbeat_s
 * with the same birth number, so HQ can tell a quiet shelter from a
 * vanished one without waiting for a report.
 */
static void announce(struct uplink *u, time_t now)
{
	sl_error err;
	char *birth = state_payload(u, "online");
	if (birth == NULL || mq_publish(u->mq, u->topic_state, birth,
					strlen(birth), 1, 1, 0, &err) != 0)
		log_warn("cannot announce presence");
	free(birth);
	u->heartbeat_at = now + u->cfg->heartbeat_s;
}

static void on_event(struct uplink *u, const struct mq_event *ev)
{
	sl_error err;

	switch (ev->type) {
	case MQ_EV_CONNECTED:
		log_info("connected (birth %lld)", u->birth);
		announce(u, time(NULL));
		outbox_set_connected(u->ob, 1, NULL);
		outbox_set_error(u->ob, "", NULL);
		u->cursor = u->acked + 1; /* anything in flight may be lost */
		u->progress_at = time(NULL);
		break;
	case MQ_EV_CONNECTION_LOST:
		log_warn("connection lost: %s", ev->reason);
		outbox_set_error(u->ob, ev->reason, NULL);
		outbox_set_connected(u->ob, 0, NULL);
		if (arm_will(u, &err) != 0)
			log_error("%s", err.text);
		break;
	case MQ_EV_CONNECT_FAILED:
		log_warn("cannot connect to %s: %s", u->cfg->common.broker,
			 ev->reason);
		outbox_set_error(u->ob, ev->reason, NULL);
		break;
	case MQ_EV_MESSAGE:
		if (strcmp(ev->topic, u->topic_ack) == 0)
			on_ack(u, ev);
		else if (strcmp(ev->topic, u->topic_dispatch) == 0)
			on_dispatch(u, ev);
		break;
	default:
		break;
	}
}

static int uplink_setup(struct uplink *u, const struct agent_config *cfg,
			sl_error *err)
{
	const char *muni = cfg->common.municipality, *id = cfg->shelter_id;
	struct outbox_stats st;
	char client_id[96];
	int rc;

	u->cfg = cfg;
	u->schemas = schema_set_new();
	if (u->schemas == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	if ((rc = schema_set_load_dir(u->schemas, cfg->common.schemas, err)) ||
	    (rc = schema_set_resolve(u->schemas, err)))
		return rc;
	if ((u->items = catalog_load(cfg->common.items, u->schemas, err)) == NULL)
		return SL_EINVAL;
	if ((u->ob = outbox_open(cfg->common.database, err)) == NULL)
		return SL_EDB;
	if ((rc = outbox_stats(u->ob, &st, err)) != 0)
		return rc;
	u->acked = st.acked_seq;
	u->cursor = st.acked_seq + 1;
	u->last_assigned = st.next_seq - 1;
	u->progress_at = time(NULL);
	if (topic_build(u->topic_ack, TOPIC_MAX, muni, id, TOPIC_ACK) ||
	    topic_build(u->topic_dispatch, TOPIC_MAX, muni, id, TOPIC_DISPATCH) ||
	    topic_build(u->topic_state, TOPIC_MAX, muni, id, TOPIC_STATE) ||
	    topic_build(u->topic_up[TOPIC_STATUS], TOPIC_MAX, muni, id,
			TOPIC_STATUS) ||
	    topic_build(u->topic_up[TOPIC_RECEIPT], TOPIC_MAX, muni, id,
			TOPIC_RECEIPT))
		return sl_error_set(err, SL_EINVAL, "bad shelter id or municipality");

	snprintf(client_id, sizeof(client_id), "sl-agent-%s-%s", muni, id);
	struct mq_options o;
	mq_options_common(&o, &cfg->common, client_id);
	o.session_expiry_s = (unsigned)cfg->session_expiry_s;
	o.max_payload = MSG_MAX_BYTES;
	if ((u->mq = mq_new(&o, err)) == NULL)
		return SL_ENET;
	if ((rc = arm_will(u, err)) || (rc = mq_subscribe(u->mq, u->topic_ack, 1, err)) ||
	    (rc = mq_subscribe(u->mq, u->topic_dispatch, 1, err)))
		return rc;
	return mq_start(u->mq, err);
}

static void uplink_teardown(struct uplink *u)
{
	if (u->mq) {
		/* Disconnect with the Will: HQ sees one death path. */
		mq_stop(u->mq, 1, 2000);
		if (u->ob)
			outbox_set_connected(u->ob, 0, NULL);
	}
	mq_free(u->mq);
	outbox_close(u->ob);
	catalog_free(u->items);
	schema_set_free(u->schemas);
}

/*
 * Whether HQ has acknowledged everything stored.  The outbox is only
 * counted once the acknowledgement has caught up with the last number
 * seen, because `report` may add rows while we run.
 */
static int all_acknowledged(struct uplink *u)
{
	struct outbox_stats st;
	sl_error err;
	if (u->acked < u->last_assigned)
		return 0;
	if (outbox_stats(u->ob, &st, &err) != 0)
		return 0;
	u->last_assigned = st.next_seq - 1;
	return st.depth == 0;
}

int uplink_run(const struct agent_config *cfg, const struct uplink_options *o,
	       sl_error *err)
{
	struct uplink u = { 0 };
	stop_on_signals();
	time_t deadline = o->timeout_s ? time(NULL) + o->timeout_s : 0;

	int rc = uplink_setup(&u, cfg, err);
	while (rc == 0 && !stop_requested()) {
		struct mq_event ev;
		time_t now = time(NULL);
		if (o->until_acked && all_acknowledged(&u))
			break;
		if (deadline && now >= deadline) {
			rc = sl_error_set(err, SL_ETIMEOUT,
					  "outbox not acknowledged within %d s "
					  "(acknowledged up to %lld)",
					  o->timeout_s, u.acked);
			break;
		}
		if (u.cfg->heartbeat_s && mq_is_connected(u.mq) &&
		    now >= u.heartbeat_at)
			announce(&u, now);
		flush(&u, now);
		/* Wait for one event, then take whatever else is queued, so a
		 * burst of PUBACKs costs one flush, not one each. */
		int wait_ms = 1000;
		while (mq_poll(u.mq, wait_ms, &ev) == 1) {
			on_event(&u, &ev);
			mq_event_clear(&ev);
			wait_ms = 0;
		}
	}
	uplink_teardown(&u);
	return rc;
}
