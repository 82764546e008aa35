/*
 * position.c - where the shelter is: a fix from the agent's GNSS
 * receiver through gpsd (libgps), or the position configured by hand.
 *
 * A report never waits long for a position.  position_from_gpsd() gives
 * gpsd a budget of milliseconds and keeps it whatever the other end
 * does.  libgps 3.22 resolves the name and connects with blocking calls
 * (a host that drops SYNs holds connect() for about two minutes), so
 * the whole question runs in a short-lived worker thread; past the
 * budget the caller wakes it out of connect() with SIGURG (a no-op
 * handler, installed once if SIGURG is unhandled), and leaves it behind
 * only if it is stuck resolving a name.  The dialogue itself waits with
 * gps_waiting() on a non-blocking socket.  This is not a tracker: one fix
 * per call, no averaging, no history, no receiver configuration.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gps.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "msg.h"

/* How long the caller waits past the budget for the worker to hang up
 * and hand over its answer, then how often and how many times it wakes
 * a worker stuck connecting before leaving it behind. */
#define HANDOVER_MS   100
#define WAKE_EVERY_MS 20
#define WAKE_TRIES    10

static int is_host_char(char c, int bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.')
		return 1;
	return bracketed ? c == ':' || c == '%' : c == '-' || c == '_';
}

int position_gpsd_address(const char *spec, char host[POSITION_HOST_MAX],
			  char port[POSITION_PORT_MAX], sl_error *err)
{
	const char *h = spec, *hend, *p = NULL;
	int bracketed = spec[0] == '[';

	if (strcmp(spec, "none") == 0)
		return sl_error_set(err, SL_ENOTFOUND, "gpsd = none");
	if (bracketed) {
		h = spec + 1;
		hend = strchr(h, ']');
		if (hend == NULL || (hend[1] != '\0' && hend[1] != ':'))
			goto bad;
		if (hend[1] == ':')
			p = hend + 2;
	} else {
		hend = strchr(h, ':');
		if (hend != NULL)
			p = hend + 1;
		else
			hend = h + strlen(h);
	}
	size_t hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= POSITION_HOST_MAX)
		goto bad;
	for (size_t i = 0; i < hlen; i++)
		if (!is_host_char(h[i], bracketed))
			goto bad;
	long portnum = 0;
	if (p == NULL)
		p = DEFAULT_GPSD_PORT;
	size_t plen = strlen(p);
	if (plen == 0 || plen > 5)
		goto bad;
	for (size_t i = 0; i < plen; i++) {
		if (p[i] < '0' || p[i] > '9')
			goto bad;
		portnum = portnum * 10 + (p[i] - '0');
	}
	if (portnum < 1 || portnum > 65535)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, POSITION_PORT_MAX, "%ld", portnum);
	return 0;
bad:
	return sl_error_set(
		err, SL_EINVAL,
		"gpsd: '%s' is not host:port, [v6addr]:port or none", spec);
}

/* Decimal degrees: [+-]digits[.digits], nothing else (no blanks,
 * exponents, hex, inf or nan), then the bound. */
static int parse_degrees(const char *key, const char *s, double bound,
			 double *out, sl_error *err)
{
	const char *c = s;
	int digits = 0;

	if (*c == '+' || *c == '-')
		c++;
	while (*c >= '0' && *c <= '9')
		c++, digits++;
	if (*c == '.') {
		c++;
		while (*c >= '0' && *c <= '9')
			c++, digits++;
	}
	if (digits == 0 || *c != '\0')
		return sl_error_set(err, SL_EINVAL,
				    "%s: '%s' is not decimal degrees", key, s);
	double v = strtod(s, NULL);
	if (!(v >= -bound && v <= bound))
		return sl_error_set(err, SL_EINVAL, "%s: %s is outside %g..%g",
				    key, s, -bound, bound);
	*out = v;
	return 0;
}

int position_fixed(const char *lat, const char *lon, struct position *out,
		   sl_error *err)
{
	struct position p = {.accuracy_m = NAN, .source = "fixed"};

	if (lat == NULL && lon == NULL)
		return sl_error_set(err, SL_ENOTFOUND,
				    "no fixed latitude/longitude configured");
	if (lat == NULL || lon == NULL)
		return sl_error_set(err, SL_EINVAL, "%s is set but %s is not",
				    lat ? "latitude" : "longitude",
				    lat ? "longitude" : "latitude");
	int rc = parse_degrees("latitude", lat, 90, &p.lat, err);
	if (rc == 0)
		rc = parse_degrees("longitude", lon, 180, &p.lon, err);
	if (rc == 0)
		*out = p;
	return rc;
}

json_t *position_to_json(const struct position *p)
{
	json_t *j = json_pack("{s:f, s:f, s:s}", "lat", p->lat, "lon", p->lon,
			      "source", p->source);
	int bad = j == NULL;

	if (!bad && isfinite(p->accuracy_m) && p->accuracy_m >= 0)
		bad = json_object_set_new(j, "accuracy_m",
					  json_real(p->accuracy_m));
	if (!bad && (p->fix_mode == 2 || p->fix_mode == 3))
		bad = json_object_set_new(
			j, "fix_mode",
			json_string(p->fix_mode == 2 ? "2d" : "3d"));
	if (!bad && p->fix_time != 0) {
		char when[32];
		msg_time(p->fix_time, when);
		bad = json_object_set_new(j, "fix_time", json_string(when));
	}
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static long long us_until(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(deadline->tv_sec - now.tv_sec) * 1000000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000;
}

static struct timespec ms_after(struct timespec t, long ms)
{
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/*
 * libgps is opened when a report first asks for a position, not linked:
 * it brings libstdc++, libdbus and libsystemd, about 1.7 MB of resident
 * memory that the long-running `run` daemon, which never asks gpsd,
 * would carry for nothing.  Without libgps installed a report simply
 * falls back to the fixed position.  SL_LIBGPS is the soname the build
 * found (Makefile).
 */
#ifndef SL_LIBGPS
#define SL_LIBGPS "libgps.so"
#endif

/* Typed from gps.h's own declarations, so a changed API fails to build. */
static struct {
	__typeof__(gps_open) *open;
	__typeof__(gps_stream) *stream;
	__typeof__(gps_waiting) *waiting;
	__typeof__(gps_read) *read;
	__typeof__(gps_close) *close;
	__typeof__(gps_errstr) *errstr;
	char why[200]; /* "" when loaded */
} libgps;

static void *gps_symbol(void *lib, const char *name)
{
	void *sym = dlsym(lib, name);
	if (sym == NULL && libgps.why[0] == '\0')
		snprintf(libgps.why, sizeof(libgps.why), "%s: no %s",
			 SL_LIBGPS, name);
	return sym;
}

static void libgps_load(void)
{
	void *lib = dlopen(SL_LIBGPS, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(libgps.why, sizeof(libgps.why), "%s", dlerror());
		return;
	}
	/* POSIX guarantees dlsym's object pointers convert to functions. */
	*(void **)&libgps.open = gps_symbol(lib, "gps_open");
	*(void **)&libgps.stream = gps_symbol(lib, "gps_stream");
	*(void **)&libgps.waiting = gps_symbol(lib, "gps_waiting");
	*(void **)&libgps.read = gps_symbol(lib, "gps_read");
	*(void **)&libgps.close = gps_symbol(lib, "gps_close");
	*(void **)&libgps.errstr = gps_symbol(lib, "gps_errstr");
	/* never dlclose: an abandoned worker may still be inside it */
}

static int libgps_ready(sl_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, libgps_load);
	if (libgps.why[0] != '\0')
		return sl_error_set(err, SL_ENOTFOUND, "libgps: %s",
				    libgps.why);
	return 0;
}

/* Takes the fix from the TPV just read, if it has one. */
static int take_fix(const struct gps_data_t *d, struct position *out)
{
	const struct gps_fix_t *f = &d->fix;

	if (!(d->set & MODE_SET) || f->mode < MODE_2D ||
	    !isfinite(f->latitude) || !isfinite(f->longitude) ||
	    fabs(f->latitude) > 90 || fabs(f->longitude) > 180)
		return 0;
	out->lat = f->latitude;
	out->lon = f->longitude;
	out->fix_mode = f->mode >= MODE_3D ? 3 : 2;
	if (isfinite(f->eph))
		out->accuracy_m = f->eph;
	else if (isfinite(f->epx) && isfinite(f->epy))
		out->accuracy_m = sqrt(f->epx * f->epx + f->epy * f->epy);
	else
		out->accuracy_m = NAN;
	out->fix_time = f->time.tv_sec;
	out->source = "gps";
	return 1;
}

/*
 * The libgps dialogue: connect, ask for JSON reports, read until a TPV
 * with a 2D/3D fix or the deadline.  Only gps_open() can outlive the
 * deadline; everything after it is bounded by it.
 */
static int ask_gpsd(const char *host, const char *port,
		    const struct timespec *deadline, int budget_ms,
		    struct position *out, sl_error *err)
{
	struct gps_data_t d;
	int rc, heard = 0, partial = 0;

	memset(&d, 0, sizeof(d));
	if (libgps.open(host, port, &d) != 0)
		return sl_error_set(err, SL_ENET, "gpsd at %s:%s: %s", host,
				    port, libgps.errstr(errno));
	/* libgps 3.22 makes the socket non-blocking itself; make sure, as
	 * on a blocking one a gpsd silent after half a line would block
	 * gps_read(). */
	int fl = fcntl(d.gps_fd, F_GETFL);
	if (fl == -1 || fcntl(d.gps_fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    libgps.stream(&d, WATCH_ENABLE | WATCH_JSON, NULL) != 0) {
		rc = sl_error_set(err, SL_ENET,
				  "gpsd at %s:%s: cannot ask it for reports",
				  host, port);
		goto out;
	}
	for (;;) {
		long long us = us_until(deadline);
		if (us <= 0)
			break;
		/* gps_waiting() says yes while half a line is buffered, so
		 * after a partial read wait on the socket itself. */
		struct pollfd pfd = {d.gps_fd, POLLIN, 0};
		int ready =
			partial ? poll(&pfd, 1, (int)((us + 999) / 1000)) > 0
				: libgps.waiting(&d, (int)us);
		if (!ready)
			continue;
		d.set = 0; /* so that MODE_SET means "this was a TPV" */
		int n = libgps.read(&d, NULL, 0);
		if (n < 0) {
			rc = sl_error_set(err, SL_ENET,
					  "gpsd at %s:%s closed the connection",
					  host, port);
			goto out;
		}
		partial = n == 0;
		heard |= n > 0;
		if (n > 0 && take_fix(&d, out)) {
			rc = 0;
			goto out;
		}
	}
	if (heard)
		rc = sl_error_set(err, SL_ENOTFOUND,
				  "gpsd at %s:%s has no 2D/3D fix after %d ms",
				  host, port, budget_ms);
	else
		rc = sl_error_set(err, SL_ETIMEOUT,
				  "gpsd at %s:%s said nothing in %d ms", host,
				  port, budget_ms);
out:
	libgps.close(&d);
	return rc;
}

/* One question to gpsd, shared by the caller and the worker thread;
 * whichever of them is last to let go frees it. */
struct query {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	int done, abandoned; /* under lock */
	char host[POSITION_HOST_MAX], port[POSITION_PORT_MAX];
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int budget_ms;
	int rc; /* these three are the worker's until done */
	struct position pos;
	sl_error err;
};

static void query_free(struct query *q)
{
	pthread_cond_destroy(&q->answered);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static void *query_run(void *arg)
{
	struct query *q = arg;
	q->rc = ask_gpsd(q->host, q->port, &q->deadline, q->budget_ms, &q->pos,
			 &q->err);
	pthread_mutex_lock(&q->lock);
	q->done = 1;
	int abandoned = q->abandoned;
	pthread_cond_signal(&q->answered);
	pthread_mutex_unlock(&q->lock);
	if (abandoned)
		query_free(q);
	return NULL;
}

static struct query *query_new(const char *host, const char *port,
			       int budget_ms)
{
	struct query *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (q == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0) {
		free(q);
		return NULL;
	}
	int bad = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
		  pthread_cond_init(&q->answered, &ca) != 0;
	pthread_condattr_destroy(&ca);
	if (bad || pthread_mutex_init(&q->lock, NULL) != 0) {
		if (!bad)
			pthread_cond_destroy(&q->answered);
		free(q);
		return NULL;
	}
	snprintf(q->host, sizeof(q->host), "%s", host);
	snprintf(q->port, sizeof(q->port), "%s", port);
	q->budget_ms = budget_ms;
	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline = ms_after(q->deadline, budget_ms);
	return q;
}

/* The worker's wake-up call: a no-op handler installed without
 * SA_RESTART, so that the signal makes a blocking connect() in libgps
 * fail with EINTR.  Installed once, and only if nobody else handles
 * SIGURG (which nothing here uses: it is for sockets' urgent data). */
#define WAKE_SIGNAL SIGURG
static int wake_ready;

static void on_wake(int sig)
{
	(void)sig;
}

static void wake_install(void)
{
	struct sigaction sa, old;

	if (sigaction(WAKE_SIGNAL, NULL, &old) != 0 ||
	    (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	wake_ready = sigaction(WAKE_SIGNAL, &sa, NULL) == 0;
}

/* Waits on q (locked) until the worker is done or `until` passes. */
static void wait_done(struct query *q, const struct timespec *until)
{
	while (!q->done &&
	       pthread_cond_timedwait(&q->answered, &q->lock, until) == 0)
		;
}

int position_from_gpsd(const char *host, const char *port, int budget_ms,
		       struct position *out, sl_error *err)
{
	static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
	pthread_t worker;
	sigset_t mask, old;
	struct timespec until;

	if (budget_ms < 1)
		return sl_error_set(err, SL_EINVAL, "no time budget for gpsd");
	if (libgps_ready(err) != 0)
		return SL_ENOTFOUND;
	pthread_once(&wake_once, wake_install);
	struct query *q = query_new(host, port, budget_ms);
	if (q == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	/* The worker takes no signal but the wake-up: SIGINT and SIGTERM
	 * stay with the caller, and gpsd hanging up gives EPIPE, not
	 * SIGPIPE. */
	sigfillset(&mask);
	sigdelset(&mask, WAKE_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &mask, &old);
	int rc = pthread_create(&worker, NULL, query_run, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		query_free(q);
		return sl_error_set(err, SL_ENOMEM,
				    "cannot start a thread to ask gpsd: %s",
				    strerror(rc));
	}

	pthread_mutex_lock(&q->lock);
	until = ms_after(q->deadline, HANDOVER_MS);
	wait_done(q, &until);
	/* Past the budget the worker can only be in gps_open(): wake it
	 * from connect() a few times; name resolution does not wake. */
	int woken = 0;
	for (int i = 0; !q->done && wake_ready && i < WAKE_TRIES; i++) {
		pthread_kill(worker, WAKE_SIGNAL);
		woken = 1;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until = ms_after(until, WAKE_EVERY_MS);
		wait_done(q, &until);
	}
	if (!q->done) {
		/* Leave it behind; it frees q when gps_open() returns. */
		q->abandoned = 1;
		pthread_mutex_unlock(&q->lock);
		pthread_detach(worker);
		return sl_error_set(err, SL_ENET,
				    "gpsd at %s:%s: no connection within %d ms",
				    host, port, budget_ms);
	}
	pthread_mutex_unlock(&q->lock);
	pthread_join(worker, NULL);
	rc = q->rc;
	if (rc == 0)
		*out = q->pos;
	else if (woken)
		sl_error_set(err, SL_ENET,
			     "gpsd at %s:%s: no connection within %d ms", host,
			     port, budget_ms);
	else if (err != NULL)
		*err = q->err;
	query_free(q);
	return woken && rc != 0 ? SL_ENET : rc;
}
