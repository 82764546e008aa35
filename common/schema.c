/*
 * schema.c - JSON Schema draft-07 validator on top of jansson.
 *
 * A schema document is compiled once into a graph of nodes, one per
 * subschema, with every keyword value checked and every "pattern" turned
 * into a regex_t.  $ref are resolved to node pointers while documents are
 * added, so validation is a read-only walk of the graph that any number
 * of threads may do at once.  Recursive schemas are just cycles in the
 * graph; the walk only refuses a cycle that revisits a node for the same
 * instance value, since that one could never terminate.
 *
 * This is not a general-purpose validator: "format" and the content*
 * keywords are refused at load, and so is every keyword draft-07 does
 * not define, because a contract that silently skips a rule is worse
 * than one that fails to load.  Nothing here fetches a URI: $ref resolve
 * only against documents added to the same set.  ECMA-262 patterns are
 * translated to POSIX EREs over UTF-8 bytes (glibc cannot take multibyte
 * range ends), and what an ERE cannot express - lookaround,
 * backreferences, \b - is refused rather than approximated.
 */
#include "schema.h"

#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Nested schema applications allowed in one validation.  Real messages
 * nest a few levels; the cap keeps a hostile, deeply nested instance from
 * exhausting the stack of a small thread.
 */
#define MAX_DEPTH 256

/* Internal result: the instance is too deep; becomes SL_ESCHEMA. */
#define E_DEPTH (-1000)

#define SUFFIX ".schema.json"

#ifndef RE_DUP_MAX
#define RE_DUP_MAX 255 /* the POSIX minimum */
#endif

/* ------------------------------------------------------------------ */
/* Compiled form                                                       */

enum {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_OBJECT = 1 << 2,
	T_ARRAY = 1 << 3,
	T_NUMBER = 1 << 4,
	T_STRING = 1 << 5,
	T_INTEGER = 1 << 6,
};

static const char *const type_names[] = {
	"null", "boolean", "object", "array", "number", "string", "integer",
};

struct pattern {
	regex_t re;
	const char *source; /* borrowed from the set's copy of the document */
	int compiled;
};

struct node;

struct list {
	struct node **v;
	size_t n;
};

struct prop {
	const char *name; /* borrowed key of the schema document */
	size_t len;
	struct node *schema;
};

struct pprop {
	struct pattern pat;
	struct node *schema;
};

struct dep {
	const char *name;
	size_t len;
	struct node *schema; /* schema form, or */
	const json_t *names; /* array of required property names */
};

/*
 * One subschema.  Children are other nodes of the same set (owned by the
 * set's node list, not by the parent), so cycles are fine.  The json_t
 * pointers borrow from the set's private copy of the document.
 */
struct node {
	struct node *next; /* the set's list of every node */
	unsigned gen;	   /* the add that created it, for rollback */
	int boolean;	   /* -1: an object schema; 0/1: false/true */
	const json_t *json;

	char *ref;		   /* absolute $ref URI; siblings ignored */
	char *ref_where;	   /* "document: /pointer", for errors */
	const struct node *target; /* NULL until resolved */

	unsigned types; /* 0: any */
	const json_t *enum_values, *const_value;
	const json_t *multiple_of, *maximum, *exclusive_maximum;
	const json_t *minimum, *exclusive_minimum;
	json_int_t max_length, min_length; /* -1 when absent */
	struct pattern pattern;

	struct node *items; /* schema form of items */
	struct list tuple;  /* array form of items */
	int has_tuple;
	struct node *additional_items;
	json_int_t max_items, min_items;
	int unique_items;
	struct node *contains;

	json_int_t max_props, min_props;
	const json_t *required;
	const json_t *properties; /* names additionalProperties skips */
	struct prop *props;
	size_t n_props;
	struct pprop *pprops;
	size_t n_pprops;
	struct node *additional_props;
	struct dep *deps;
	size_t n_deps;
	struct node *property_names;

	struct node *if_s, *then_s, *else_s, *not_s;
	struct list all_of, any_of, one_of;
};

struct doc {
	struct doc *next;
	json_t *json; /* our deep copy: nothing else can change it */
	char *name;   /* for messages: retrieval URI, $id or "(schema)" */
};

struct resource {
	char *uri; /* absolute, no fragment except a plain-name anchor */
	const json_t *json;
	struct doc *doc;
};

struct alias {
	char *name;
	const json_t *json;
};

struct slot {
	const json_t *key;
	struct node *node;
};

struct schema_set {
	struct node *nodes; /* newest first */
	struct doc *docs;   /* newest first */
	struct resource *res;
	size_t n_res, cap_res;
	struct alias *alias;
	size_t n_alias, cap_alias;
	struct node **refs; /* every node with a $ref */
	size_t n_refs, cap_refs;
	struct slot *index; /* json_t * -> node, open addressing */
	size_t index_cap, index_used;
	struct node true_node, false_node;
	locale_t c_locale; /* regcomp/regexec must see bytes, not UTF-8 */
	unsigned gen;
	unsigned long anon;
	int allow_unknown;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* Growable string; `oom` is sticky so callers check once at the end. */
struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	size_t cap;
	char *s;

	if (b->oom || n == 0)
		return;
	if (n >= SIZE_MAX / 4 - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		s = sl_realloc(b->s, cap);
		if (s == NULL) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

/* Returns the string (caller frees) or NULL when out of memory. */
static char *sb_finish(struct sbuf *b)
{
	if (b->oom) {
		sl_free(b->s);
		return NULL;
	}
	if (b->s == NULL)
		return sl_strdup("");
	return b->s;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = sl_malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Shortest text that reads back as the same number, for messages. */
static void fmt_number(const json_t *v, char *buf, size_t size)
{
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return;
	}
	d = json_real_value(v);
	snprintf(buf, size, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, size, "%.17g", d);
}

/* ------------------------------------------------------------------ */
/* JSON Pointers of where we are, built on the C stack                 */

struct path {
	const struct path *up;
	const char *key; /* NULL: array index */
	size_t len;
	size_t index;
	int raw; /* key is already JSON Pointer text, copied as is */
};

struct pbuf {
	char *buf;
	size_t size, pos;
	int trunc;
};

static void pb_putc(struct pbuf *b, char c)
{
	if (b->pos + 1 < b->size)
		b->buf[b->pos++] = c;
	else
		b->trunc = 1;
}

static void pb_puts(struct pbuf *b, const char *s)
{
	while (*s != '\0')
		pb_putc(b, *s++);
}

static void path_put(struct pbuf *b, const struct path *p)
{
	char num[24];
	size_t i;

	if (p == NULL)
		return;
	path_put(b, p->up);
	if (p->key == NULL) {
		snprintf(num, sizeof(num), "/%zu", p->index);
		pb_puts(b, num);
		return;
	}
	if (!p->raw)
		pb_putc(b, '/');
	for (i = 0; i < p->len; i++) {
		char c = p->key[i];

		if (p->raw)
			pb_putc(b, c);
		else if (c == '~')
			pb_puts(b, "~0");
		else if (c == '/')
			pb_puts(b, "~1");
		else if (c == '\0')
			pb_puts(b, "\\u0000"); /* display only */
		else
			pb_putc(b, c);
	}
}

/* Renders `p` ("" for the root); a too-long pointer ends in "...". */
static void path_render(const struct path *p, char *buf, size_t size)
{
	struct pbuf b = {buf, size, 0, 0};

	path_put(&b, p);
	buf[b.pos] = '\0';
	if (b.trunc && b.pos >= 3)
		memcpy(buf + b.pos - 3, "...", 3);
}

/* ------------------------------------------------------------------ */
/* URI references (RFC 3986 section 5.2)                               */

enum { U_SCHEME, U_AUTH, U_PATH, U_QUERY, U_FRAG, U_N };

struct uri {
	const char *s[U_N];
	size_t n[U_N];
	int has[U_N];
};

static void uri_set(struct uri *u, int part, const char *s, size_t n)
{
	u->s[part] = s;
	u->n[part] = n;
	u->has[part] = 1;
}

static void uri_split(const char *s, struct uri *u)
{
	const char *p = s, *q;

	memset(u, 0, sizeof(*u));
	if (is_alpha((unsigned char)*p)) {
		q = p + 1;
		while (is_alpha((unsigned char)*q) ||
		       is_digit((unsigned char)*q) || *q == '+' || *q == '-' ||
		       *q == '.')
			q++;
		if (*q == ':') {
			uri_set(u, U_SCHEME, p, (size_t)(q - p));
			p = q + 1;
		}
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		q = p + strcspn(p, "/?#");
		uri_set(u, U_AUTH, p, (size_t)(q - p));
		p = q;
	}
	q = p + strcspn(p, "?#");
	uri_set(u, U_PATH, p, (size_t)(q - p));
	p = q;
	if (*p == '?') {
		p++;
		q = p + strcspn(p, "#");
		uri_set(u, U_QUERY, p, (size_t)(q - p));
		p = q;
	}
	if (*p == '#') {
		p++;
		uri_set(u, U_FRAG, p, strlen(p));
	}
}

/* Drops the last segment of the path written to `out` after `start`. */
static void drop_segment(struct sbuf *out, size_t start)
{
	size_t i = out->len;

	if (out->oom)
		return;
	while (i > start && out->s[i - 1] != '/')
		i--;
	out->len = i > start ? i - 1 : start;
	if (out->s != NULL)
		out->s[out->len] = '\0';
}

/* RFC 3986 5.2.4 remove_dot_segments, appending the result to `out`. */
static void remove_dots(struct sbuf *out, const char *path, size_t n)
{
	size_t start = out->len, i = 0, k;
	char *in = dup_n(path, n);

	if (in == NULL) {
		out->oom = 1;
		return;
	}
	while (i < n) {
		const char *s = in + i;
		size_t left = n - i;

		if (left >= 3 && strncmp(s, "../", 3) == 0) {
			i += 3;
		} else if (left >= 2 && strncmp(s, "./", 2) == 0) {
			i += 2;
		} else if (left >= 3 && strncmp(s, "/./", 3) == 0) {
			i += 2;
		} else if (left == 2 && strncmp(s, "/.", 2) == 0) {
			i += 1;
			in[i] = '/';
		} else if (left >= 4 && strncmp(s, "/../", 4) == 0) {
			i += 3;
			drop_segment(out, start);
		} else if (left == 3 && strncmp(s, "/..", 3) == 0) {
			i += 2;
			in[i] = '/';
			drop_segment(out, start);
		} else if ((left == 1 && s[0] == '.') ||
			   (left == 2 && strncmp(s, "..", 2) == 0)) {
			i = n;
		} else {
			k = s[0] == '/' ? 1 : 0;
			k += strcspn(s + k, "/");
			sb_add(out, s, k);
			i += k;
		}
	}
	sl_free(in);
}

/* Returns `ref` resolved against `base` (may be NULL), or NULL (ENOMEM). */
static char *uri_resolve(const char *base, const char *ref)
{
	struct uri b, r;
	struct sbuf t = {0}, m = {0};
	const struct uri *q = &r;

	uri_split(ref, &r);
	memset(&b, 0, sizeof(b));
	if (!r.has[U_SCHEME] && base != NULL)
		uri_split(base, &b);
	if (r.has[U_SCHEME]) {
		sb_add(&t, r.s[U_SCHEME], r.n[U_SCHEME]);
		sb_putc(&t, ':');
	} else if (b.has[U_SCHEME]) {
		sb_add(&t, b.s[U_SCHEME], b.n[U_SCHEME]);
		sb_putc(&t, ':');
	}
	if (r.has[U_SCHEME] || r.has[U_AUTH]) {
		if (r.has[U_AUTH]) {
			sb_puts(&t, "//");
			sb_add(&t, r.s[U_AUTH], r.n[U_AUTH]);
		}
		remove_dots(&t, r.s[U_PATH], r.n[U_PATH]);
	} else {
		if (b.has[U_AUTH]) {
			sb_puts(&t, "//");
			sb_add(&t, b.s[U_AUTH], b.n[U_AUTH]);
		}
		if (r.n[U_PATH] == 0) {
			sb_add(&t, b.s[U_PATH], b.n[U_PATH]);
			if (!r.has[U_QUERY])
				q = &b;
		} else if (r.s[U_PATH][0] == '/') {
			remove_dots(&t, r.s[U_PATH], r.n[U_PATH]);
		} else {
			/* merge: the base path up to its last '/', then ref */
			size_t keep = b.n[U_PATH];

			while (keep > 0 && b.s[U_PATH][keep - 1] != '/')
				keep--;
			if (b.has[U_AUTH] && b.n[U_PATH] == 0)
				sb_putc(&m, '/');
			else
				sb_add(&m, b.s[U_PATH], keep);
			sb_add(&m, r.s[U_PATH], r.n[U_PATH]);
			if (m.oom)
				t.oom = 1;
			else
				remove_dots(&t, m.s, m.len);
			sl_free(m.s);
		}
	}
	if (q->has[U_QUERY]) {
		sb_putc(&t, '?');
		sb_add(&t, q->s[U_QUERY], q->n[U_QUERY]);
	}
	if (r.has[U_FRAG]) {
		sb_putc(&t, '#');
		sb_add(&t, r.s[U_FRAG], r.n[U_FRAG]);
	}
	return sb_finish(&t);
}

/* ------------------------------------------------------------------ */
/* The registry: node index, resources, aliases                        */

static size_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct node *index_get(const schema_set *set, const json_t *key)
{
	size_t mask, i;

	if (set->index_cap == 0)
		return NULL;
	mask = set->index_cap - 1;
	for (i = hash_ptr(key) & mask; set->index[i].key != NULL;
	     i = (i + 1) & mask)
		if (set->index[i].key == key)
			return set->index[i].node;
	return NULL;
}

static void index_insert(struct slot *tab, size_t cap, const json_t *key,
			 struct node *node)
{
	size_t i, mask = cap - 1;

	for (i = hash_ptr(key) & mask; tab[i].key != NULL; i = (i + 1) & mask)
		;
	tab[i].key = key;
	tab[i].node = node;
}

static int index_put(schema_set *set, const json_t *key, struct node *node)
{
	struct slot *tab;
	size_t cap, i;

	if ((set->index_used + 1) * 2 > set->index_cap) {
		cap = set->index_cap ? set->index_cap * 2 : 64;
		tab = sl_calloc(cap, sizeof(*tab));
		if (tab == NULL)
			return SL_ENOMEM;
		for (i = 0; i < set->index_cap; i++)
			if (set->index[i].key != NULL)
				index_insert(tab, cap, set->index[i].key,
					     set->index[i].node);
		sl_free(set->index);
		set->index = tab;
		set->index_cap = cap;
	}
	index_insert(set->index, set->index_cap, key, node);
	set->index_used++;
	return 0;
}

/* After a rollback: the surviving nodes fit, so this cannot fail. */
static void index_rebuild(schema_set *set)
{
	struct node *n;

	if (set->index_cap == 0)
		return;
	memset(set->index, 0, set->index_cap * sizeof(*set->index));
	set->index_used = 0;
	for (n = set->nodes; n != NULL; n = n->next) {
		index_insert(set->index, set->index_cap, n->json, n);
		set->index_used++;
	}
}

/* The compiled node for a JSON location, or NULL if none. */
static const struct node *node_for(const schema_set *set, const json_t *j)
{
	if (json_is_true(j))
		return &set->true_node;
	if (json_is_false(j))
		return &set->false_node;
	return index_get(set, j);
}

static const struct resource *res_find(const schema_set *set, const char *uri,
				       size_t len)
{
	size_t i;

	if (len > 0 && uri[len - 1] == '#')
		len--;
	for (i = 0; i < set->n_res; i++)
		if (strncmp(set->res[i].uri, uri, len) == 0 &&
		    set->res[i].uri[len] == '\0')
			return &set->res[i];
	return NULL;
}

static const json_t *alias_find(const schema_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n_alias; i++)
		if (strcmp(set->alias[i].name, name) == 0)
			return set->alias[i].json;
	return NULL;
}

static void pattern_free(struct pattern *p)
{
	if (p->compiled)
		regfree(&p->re);
	p->compiled = 0;
}

static void node_free(struct node *n)
{
	size_t i;

	sl_free(n->ref);
	sl_free(n->ref_where);
	pattern_free(&n->pattern);
	sl_free(n->tuple.v);
	sl_free(n->all_of.v);
	sl_free(n->any_of.v);
	sl_free(n->one_of.v);
	sl_free(n->props);
	for (i = 0; i < n->n_pprops; i++)
		pattern_free(&n->pprops[i].pat);
	sl_free(n->pprops);
	sl_free(n->deps);
	sl_free(n);
}

static void doc_free(struct doc *d)
{
	json_decref(d->json);
	sl_free(d->name);
	sl_free(d);
}

/*
 * Adding a document either fully succeeds or leaves the set as it was:
 * everything created meanwhile carries the transaction's generation or
 * sits past the recorded array lengths, and is undone on failure.
 */
struct txn {
	size_t n_res, n_alias, n_refs;
	struct doc *docs;
};

static void txn_begin(schema_set *set, struct txn *t)
{
	t->n_res = set->n_res;
	t->n_alias = set->n_alias;
	t->n_refs = set->n_refs;
	t->docs = set->docs;
	set->gen++;
}

static void txn_rollback(schema_set *set, const struct txn *t)
{
	struct node *n;
	struct doc *d;
	size_t i;

	/* Older $ref may have been resolved to nodes about to go away. */
	for (i = 0; i < t->n_refs; i++) {
		n = set->refs[i];
		if (n->target != NULL && n->target->gen == set->gen)
			n->target = NULL;
	}
	set->n_refs = t->n_refs;
	while ((n = set->nodes) != NULL && n->gen == set->gen) {
		set->nodes = n->next;
		node_free(n);
	}
	index_rebuild(set);
	for (i = t->n_res; i < set->n_res; i++)
		sl_free(set->res[i].uri);
	set->n_res = t->n_res;
	for (i = t->n_alias; i < set->n_alias; i++)
		sl_free(set->alias[i].name);
	set->n_alias = t->n_alias;
	while ((d = set->docs) != t->docs) {
		set->docs = d->next;
		doc_free(d);
	}
}

/* ------------------------------------------------------------------ */
/* ECMA-262 pattern -> POSIX ERE over UTF-8 bytes                      */

/*
 * Translation works on code points and emits byte-level EREs compiled in
 * the C locale: a class of code points becomes an alternation of UTF-8
 * byte sequences (as RE2 and Go do), because glibc's regcomp rejects
 * multibyte range ends in C.UTF-8.  Only match/no-match is asked for, so
 * greedy and lazy quantifiers and capturing and non-capturing groups are
 * equivalent, and leftmost-longest (POSIX) versus leftmost-first (ECMA)
 * does not change the answer.
 */

struct range {
	uint32_t lo, hi;
};

struct cls {
	struct range *r;
	size_t n, cap;
	int oom;
};

struct rx {
	const char *p, *end;
	struct sbuf *out;
	int code; /* SL_EINVAL (bad syntax) or SL_EUNSUPPORTED */
	char why[128];
};

#define MAX_CP 0x10FFFF

static const struct range set_d[] = {{'0', '9'}};
static const struct range set_w[] = {
	{'0', '9'},
	{'A', 'Z'},
	{'_', '_'},
	{'a', 'z'},
};
/* ECMA \s: WhiteSpace and LineTerminator, sorted. */
static const struct range set_s[] = {
	{0x09, 0x0d},	  {0x20, 0x20},	    {0xa0, 0xa0},     {0x1680, 0x1680},
	{0x2000, 0x200a}, {0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x205f},
	{0x3000, 0x3000}, {0xfeff, 0xfeff},
};
/* What ECMA '.' does not match (no s flag): line terminators. */
static const struct range set_dot[] = {
	{0x0a, 0x0a},
	{0x0d, 0x0d},
	{0x2028, 0x2029},
};

static int rx_fail(struct rx *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rx_fail(struct rx *x, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	x->code = code;
	return -1;
}

/* Decodes one code point; jansson strings are valid UTF-8. */
static uint32_t rx_next(struct rx *x)
{
	const unsigned char *s = (const unsigned char *)x->p;
	size_t left = (size_t)(x->end - x->p), n, i;
	uint32_t cp;

	if (s[0] < 0x80 || left < 2) {
		n = 1;
		cp = s[0];
	} else if (s[0] < 0xe0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else {
		n = 4;
		cp = s[0] & 0x07;
	}
	if (n > left)
		n = left;
	for (i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	x->p += n;
	return cp;
}

static int rx_peek(const struct rx *x, size_t ahead)
{
	if ((size_t)(x->end - x->p) <= ahead)
		return -1;
	return (unsigned char)x->p[ahead];
}

static size_t utf8_encode(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void cls_add(struct cls *c, uint32_t lo, uint32_t hi)
{
	struct range *r;

	r = sl_grow(c->r, &c->cap, c->n + 1, sizeof(*c->r));
	if (r == NULL) {
		c->oom = 1;
		return;
	}
	c->r = r;
	c->r[c->n].lo = lo;
	c->r[c->n].hi = hi;
	c->n++;
}

/* Adds a sorted set, or its complement within 1..MAX_CP. */
static void cls_add_set(struct cls *c, const struct range *set, size_t n,
			int negate)
{
	uint32_t next = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!negate)
			cls_add(c, set[i].lo, set[i].hi);
		else if (set[i].lo > next)
			cls_add(c, next, set[i].lo - 1);
		next = set[i].hi + 1;
	}
	if (negate && next <= MAX_CP)
		cls_add(c, next, MAX_CP);
}

/* \d \D \w \W \s \S */
static void cls_add_escape(struct cls *c, int letter)
{
	int neg = letter >= 'A' && letter <= 'Z';

	switch (letter | 0x20) {
	case 'd':
		cls_add_set(c, set_d, sizeof(set_d) / sizeof(set_d[0]), neg);
		break;
	case 'w':
		cls_add_set(c, set_w, sizeof(set_w) / sizeof(set_w[0]), neg);
		break;
	default:
		cls_add_set(c, set_s, sizeof(set_s) / sizeof(set_s[0]), neg);
		break;
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges the ranges, optionally complementing them. */
static void cls_normalize(struct cls *c, int negate)
{
	size_t i, m = 0;
	struct cls inv = {0};

	if (c->n > 1)
		qsort(c->r, c->n, sizeof(*c->r), range_cmp);
	for (i = 0; i < c->n; i++) {
		if (m > 0 && c->r[i].lo <= c->r[m - 1].hi + 1) {
			if (c->r[i].hi > c->r[m - 1].hi)
				c->r[m - 1].hi = c->r[i].hi;
		} else {
			c->r[m++] = c->r[i];
		}
	}
	c->n = m;
	if (negate) {
		cls_add_set(&inv, c->r, c->n, 1);
		sl_free(c->r);
		*c = inv;
	}
}

static void emit_byte_range(struct sbuf *out, unsigned char lo,
			    unsigned char hi)
{
	char b[6];

	if (lo == hi) {
		sb_putc(out, (char)lo);
		return;
	}
	b[0] = '[';
	b[1] = (char)lo;
	b[2] = '-';
	b[3] = (char)hi;
	b[4] = ']';
	sb_add(out, b, 5);
}

/*
 * Emits an alternation branch for each run of byte ranges that encodes
 * the code points lo..hi (same encoded length after splitting), the
 * algorithm of Go's regexp/syntax and RE2.
 */
static void emit_utf8_range(struct sbuf *out, uint32_t lo, uint32_t hi,
			    int *first)
{
	static const uint32_t limits[] = {0x7f, 0x7ff, 0xffff};
	unsigned char a[4], b[4];
	size_t i, n;
	uint32_t m;

	if (lo > hi)
		return;
	for (i = 0; i < 3; i++) {
		if (lo <= limits[i] && hi > limits[i]) {
			emit_utf8_range(out, lo, limits[i], first);
			emit_utf8_range(out, limits[i] + 1, hi, first);
			return;
		}
	}
	n = utf8_encode(lo, a);
	for (i = 1; i < n; i++) {
		m = (1u << (6 * i)) - 1;
		if ((lo & ~m) != (hi & ~m)) {
			if ((lo & m) != 0) {
				emit_utf8_range(out, lo, lo | m, first);
				emit_utf8_range(out, (lo | m) + 1, hi, first);
				return;
			}
			if ((hi & m) != m) {
				emit_utf8_range(out, lo, (hi & ~m) - 1, first);
				emit_utf8_range(out, hi & ~m, hi, first);
				return;
			}
		}
	}
	utf8_encode(hi, b);
	if (!*first)
		sb_putc(out, '|');
	*first = 0;
	for (i = 0; i < n; i++)
		emit_byte_range(out, a[i], b[i]);
}

/* Index of ']', '[', '^', '-' (special in a POSIX bracket), else -1. */
static int bracket_special(uint32_t c)
{
	static const char specials[] = "][^-";
	const char *p = c < 0x80 && c != 0 ? strchr(specials, (int)c) : NULL;

	return p != NULL ? (int)(p - specials) : -1;
}

/*
 * Emits the ASCII ranges of a class as one bracket expression.  ']', '-',
 * '^' and '[' go where POSIX reads them literally: ']' first, '[' and
 * '^' late, '-' last.
 */
static void emit_ascii_bracket(struct sbuf *out, const struct range *r,
			       size_t n)
{
	int has[4] = {0, 0, 0, 0}; /* ] [ ^ - */
	struct sbuf body = {0};
	uint32_t lo, hi;
	size_t i;

	for (i = 0; i < n; i++) {
		lo = r[i].lo;
		hi = r[i].hi;
		while (lo <= hi && bracket_special(lo) >= 0)
			has[bracket_special(lo++)] = 1;
		while (lo <= hi && bracket_special(hi) >= 0)
			has[bracket_special(hi--)] = 1;
		if (lo > hi)
			continue;
		sb_putc(&body, (char)lo);
		if (hi > lo + 1)
			sb_putc(&body, '-');
		if (hi > lo)
			sb_putc(&body, (char)hi);
	}
	if (body.oom) {
		out->oom = 1;
		return;
	}
	if (!has[0] && body.len == 0 && !has[1] && has[2] && !has[3]) {
		sb_puts(out, "\\^"); /* "[^]" would be a negation */
		sl_free(body.s);
		return;
	}
	sb_putc(out, '[');
	if (has[0])
		sb_putc(out, ']');
	if (!has[0] && body.len == 0 && !has[1] && has[2]) {
		sb_puts(out, "-^"); /* '-' first keeps '^' from leading */
		has[2] = has[3] = 0;
	}
	if (body.len > 0)
		sb_add(out, body.s, body.len);
	if (has[1])
		sb_putc(out, '[');
	if (has[2])
		sb_putc(out, '^');
	if (has[3])
		sb_putc(out, '-');
	sb_putc(out, ']');
	sl_free(body.s);
}

/* Emits a class of code points as one ERE atom. */
static int cls_emit(struct rx *x, struct cls *c, int negate)
{
	struct cls k = {0};
	size_t i, n_ascii = 0;
	int first = 1;

	cls_normalize(c, negate);
	/* Drop NUL (it cannot be in an ERE) and the surrogates (not UTF-8). */
	for (i = 0; i < c->n; i++) {
		uint32_t lo = c->r[i].lo ? c->r[i].lo : 1, hi = c->r[i].hi;

		if (lo <= 0xd7ff && hi >= 0xe000) {
			cls_add(&k, lo, 0xd7ff);
			cls_add(&k, 0xe000, hi);
		} else if (lo >= 0xd800 && hi <= 0xdfff) {
			continue;
		} else {
			if (lo >= 0xd800 && lo <= 0xdfff)
				lo = 0xe000;
			if (hi >= 0xd800 && hi <= 0xdfff)
				hi = 0xd7ff;
			if (lo <= hi)
				cls_add(&k, lo, hi);
		}
	}
	if (c->oom || k.oom) {
		sl_free(k.r);
		x->out->oom = 1;
		return 0;
	}
	for (i = 0; i < k.n && k.r[i].lo < 0x80; i++)
		n_ascii++;
	if (k.n == 0) {
		/* Matches nothing: 0xff never occurs in UTF-8. */
		sb_puts(x->out, "\xff");
	} else if (n_ascii == k.n && k.r[k.n - 1].hi < 0x80) {
		emit_ascii_bracket(x->out, k.r, k.n);
	} else {
		struct range split;

		sb_putc(x->out, '(');
		if (n_ascii > 0) {
			split = k.r[n_ascii - 1];
			if (split.hi >= 0x80)
				split.hi = 0x7f;
			/* Temporarily clip the last ASCII range at 0x7f. */
			{
				struct range saved = k.r[n_ascii - 1];

				k.r[n_ascii - 1] = split;
				emit_ascii_bracket(x->out, k.r, n_ascii);
				k.r[n_ascii - 1] = saved;
			}
			first = 0;
		}
		for (i = 0; i < k.n; i++) {
			uint32_t lo = k.r[i].lo < 0x80 ? 0x80 : k.r[i].lo;

			if (k.r[i].hi >= 0x80)
				emit_utf8_range(x->out, lo, k.r[i].hi, &first);
		}
		sb_putc(x->out, ')');
	}
	sl_free(k.r);
	return 0;
}

static void rx_literal(struct rx *x, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp >= 0x80) {
		/* Parenthesized: a quantifier must take the whole character. */
		n = utf8_encode(cp, b);
		sb_putc(x->out, '(');
		sb_add(x->out, (const char *)b, n);
		sb_putc(x->out, ')');
	} else if (cp == '}' || cp == ']') {
		sb_putc(x->out, '[');
		sb_putc(x->out, (char)cp);
		sb_putc(x->out, ']');
	} else {
		if (strchr(".[\\()*+?{|^$", (int)cp) != NULL)
			sb_putc(x->out, '\\');
		sb_putc(x->out, (char)cp);
	}
}

static int rx_hex(struct rx *x, int digits, uint32_t *out)
{
	uint32_t v = 0;
	int i, h;

	for (i = 0; i < digits; i++) {
		h = hex_value(rx_peek(x, (size_t)i));
		if (h < 0)
			return rx_fail(x, SL_EINVAL,
				       "invalid hexadecimal escape");
		v = v * 16 + (uint32_t)h;
	}
	x->p += digits;
	*out = v;
	return 0;
}

enum { ESC_CHAR, ESC_CLASS };

/*
 * Parses the escape after a backslash.  Returns ESC_CHAR with *cp set,
 * ESC_CLASS with *cls set to the letter of \d \D \w \W \s \S, or -1.
 */
static int rx_escape(struct rx *x, int in_class, uint32_t *cp, int *cls)
{
	uint32_t c, lo = 0;
	int h;

	if (x->p >= x->end)
		return rx_fail(x, SL_EINVAL, "pattern ends with a backslash");
	c = rx_next(x);
	switch (c) {
	case 'd':
	case 'D':
	case 'w':
	case 'W':
	case 's':
	case 'S':
		*cls = (int)c;
		return ESC_CLASS;
	case 'b':
		if (in_class) {
			*cp = 8;
			return ESC_CHAR;
		}
		return rx_fail(x, SL_EUNSUPPORTED,
			       "word boundary \\b has no POSIX ERE equivalent");
	case 'B':
		return rx_fail(x, SL_EUNSUPPORTED,
			       "\\B has no POSIX ERE equivalent");
	case '0':
		if (is_digit(rx_peek(x, 0)))
			return rx_fail(x, SL_EUNSUPPORTED,
				       "octal escapes are not supported");
		*cp = 0;
		return ESC_CHAR;
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		return rx_fail(x, SL_EUNSUPPORTED,
			       "backreference \\%c has no POSIX ERE equivalent",
			       (char)c);
	case 'k':
		return rx_fail(
			x, SL_EUNSUPPORTED,
			"named backreference \\k has no POSIX ERE equivalent");
	case 'p':
	case 'P':
		return rx_fail(
			x, SL_EUNSUPPORTED,
			"Unicode property escapes \\p{...} are not supported");
	case 't':
		*cp = '\t';
		return ESC_CHAR;
	case 'n':
		*cp = '\n';
		return ESC_CHAR;
	case 'v':
		*cp = '\v';
		return ESC_CHAR;
	case 'f':
		*cp = '\f';
		return ESC_CHAR;
	case 'r':
		*cp = '\r';
		return ESC_CHAR;
	case 'c':
		if (!is_alpha(rx_peek(x, 0)))
			return rx_fail(x, SL_EINVAL,
				       "\\c must be followed by a letter");
		*cp = rx_next(x) & 0x1f;
		return ESC_CHAR;
	case 'x':
		if (rx_hex(x, 2, cp) < 0)
			return -1;
		return ESC_CHAR;
	case 'u':
		if (rx_peek(x, 0) == '{') {
			x->p++;
			lo = 0;
			while ((h = hex_value(rx_peek(x, 0))) >= 0 &&
			       lo <= MAX_CP) {
				lo = lo * 16 + (uint32_t)h;
				x->p++;
			}
			if (rx_peek(x, 0) != '}' || lo > MAX_CP)
				return rx_fail(x, SL_EINVAL,
					       "invalid \\u{...} escape");
			x->p++;
			*cp = lo;
		} else if (rx_hex(x, 4, cp) < 0) {
			return -1;
		}
		if (*cp >= 0xd800 && *cp <= 0xdbff && rx_peek(x, 0) == '\\' &&
		    rx_peek(x, 1) == 'u') {
			const char *save = x->p;

			x->p += 2;
			if (rx_hex(x, 4, &lo) == 0 && lo >= 0xdc00 &&
			    lo <= 0xdfff) {
				*cp = 0x10000 + ((*cp - 0xd800) << 10) +
				      (lo - 0xdc00);
				return ESC_CHAR;
			}
			x->p = save;
		}
		if (*cp >= 0xd800 && *cp <= 0xdfff)
			return rx_fail(
				x, SL_EUNSUPPORTED,
				"lone surrogate \\u%04X cannot occur in UTF-8",
				(unsigned)*cp);
		return ESC_CHAR;
	default:
		*cp = c; /* identity escape: \. \/ \- \\ ... */
		return ESC_CHAR;
	}
}

/* One class member: returns 1 for a class escape (added), 0 for *cp. */
static int rx_class_atom(struct rx *x, struct cls *c, uint32_t *cp)
{
	uint32_t ch = rx_next(x);
	int rc, letter = 0;

	if (ch != '\\') {
		*cp = ch;
		return 0;
	}
	rc = rx_escape(x, 1, cp, &letter);
	if (rc < 0)
		return -1;
	if (rc == ESC_CLASS) {
		cls_add_escape(c, letter);
		return 1;
	}
	return 0;
}

static int rx_bracket(struct rx *x)
{
	struct cls c = {0};
	int negate = 0, kind, rc = 0;
	uint32_t lo, hi;

	if (rx_peek(x, 0) == '^') {
		negate = 1;
		x->p++;
	}
	for (;;) {
		if (x->p >= x->end) {
			rc = rx_fail(x, SL_EINVAL,
				     "unterminated character class");
			goto out;
		}
		if (*x->p == ']') {
			x->p++;
			break;
		}
		kind = rx_class_atom(x, &c, &lo);
		if (kind < 0) {
			rc = -1;
			goto out;
		}
		if (kind == 1)
			continue;
		if (rx_peek(x, 0) == '-' && rx_peek(x, 1) != ']' &&
		    rx_peek(x, 1) >= 0) {
			x->p++;
			kind = rx_class_atom(x, &c, &hi);
			if (kind < 0) {
				rc = -1;
				goto out;
			}
			if (kind == 1) {
				rc = rx_fail(x, SL_EUNSUPPORTED,
					     "class escape as a range bound");
				goto out;
			}
			if (hi < lo) {
				rc = rx_fail(x, SL_EINVAL,
					     "range out of order in character "
					     "class");
				goto out;
			}
			cls_add(&c, lo, hi);
		} else {
			cls_add(&c, lo, lo);
		}
	}
	rc = cls_emit(x, &c, negate);
out:
	sl_free(c.r);
	return rc;
}

/* Skips the '?' of a lazy quantifier: laziness cannot change a yes/no. */
static void rx_lazy(struct rx *x)
{
	if (rx_peek(x, 0) == '?')
		x->p++;
}

/* '{' seen: a {n}, {n,} or {n,m} quantifier, else a literal '{'. */
static int rx_brace(struct rx *x)
{
	const char *q = x->p;
	unsigned long lo = 0, hi = 0;
	int has_comma = 0, has_hi = 0, big = 0;
	char buf[48];

	if (q >= x->end || !is_digit((unsigned char)*q))
		goto literal;
	while (q < x->end && is_digit((unsigned char)*q)) {
		lo = lo * 10 + (unsigned long)(*q++ - '0');
		if (lo > RE_DUP_MAX) {
			big = 1;
			lo = RE_DUP_MAX + 1;
		}
	}
	if (q < x->end && *q == ',') {
		has_comma = 1;
		q++;
		while (q < x->end && is_digit((unsigned char)*q)) {
			has_hi = 1;
			hi = hi * 10 + (unsigned long)(*q++ - '0');
			if (hi > RE_DUP_MAX) {
				big = 1;
				hi = RE_DUP_MAX + 1;
			}
		}
	}
	if (q >= x->end || *q != '}')
		goto literal;
	x->p = q + 1;
	if (big)
		return rx_fail(x, SL_EUNSUPPORTED,
			       "repetition count above %d is not supported",
			       RE_DUP_MAX);
	if (has_hi && hi < lo)
		return rx_fail(x, SL_EINVAL,
			       "numbers out of order in {} quantifier");
	if (!has_comma)
		snprintf(buf, sizeof(buf), "{%lu}", lo);
	else if (!has_hi)
		snprintf(buf, sizeof(buf), "{%lu,}", lo);
	else
		snprintf(buf, sizeof(buf), "{%lu,%lu}", lo, hi);
	sb_puts(x->out, buf);
	rx_lazy(x);
	return 0;
literal:
	sb_puts(x->out, "\\{");
	return 0;
}

static int rx_group(struct rx *x)
{
	int c1, c2;

	if (rx_peek(x, 0) == '?') {
		c1 = rx_peek(x, 1);
		c2 = rx_peek(x, 2);
		if (c1 == ':') {
			x->p += 2;
		} else if (c1 == '=' || c1 == '!') {
			return rx_fail(
				x, SL_EUNSUPPORTED,
				"lookahead (?%c has no POSIX ERE equivalent",
				(char)c1);
		} else if (c1 == '<' && (c2 == '=' || c2 == '!')) {
			return rx_fail(
				x, SL_EUNSUPPORTED,
				"lookbehind (?<%c has no POSIX ERE equivalent",
				(char)c2);
		} else if (c1 == '<') {
			const char *gt =
				memchr(x->p, '>', (size_t)(x->end - x->p));

			if (gt == NULL)
				return rx_fail(x, SL_EINVAL,
					       "unterminated group name");
			x->p = gt + 1;
		} else {
			return rx_fail(x, SL_EUNSUPPORTED,
				       "unsupported group syntax (?%c",
				       c1 < 0 ? ' ' : (char)c1);
		}
	}
	sb_putc(x->out, '(');
	return 0;
}

static int rx_translate(struct rx *x)
{
	struct cls c;
	uint32_t ch, cp;
	int letter, rc;

	while (x->p < x->end) {
		ch = rx_next(x);
		switch (ch) {
		case '\\':
			rc = rx_escape(x, 0, &cp, &letter);
			if (rc < 0)
				return -1;
			if (rc == ESC_CLASS) {
				memset(&c, 0, sizeof(c));
				cls_add_escape(&c, letter);
				cls_emit(x, &c, 0);
				sl_free(c.r);
			} else if (cp == 0) {
				return rx_fail(x, SL_EUNSUPPORTED,
					       "NUL cannot be matched outside "
					       "a class");
			} else {
				rx_literal(x, cp);
			}
			break;
		case '[':
			if (rx_bracket(x) < 0)
				return -1;
			break;
		case '.':
			memset(&c, 0, sizeof(c));
			cls_add_set(&c, set_dot,
				    sizeof(set_dot) / sizeof(set_dot[0]), 0);
			cls_emit(x, &c, 1);
			sl_free(c.r);
			break;
		case '(':
			if (rx_group(x) < 0)
				return -1;
			break;
		case ')':
		case '|':
		case '^':
		case '$':
			sb_putc(x->out, (char)ch);
			break;
		case '*':
		case '+':
		case '?':
			sb_putc(x->out, (char)ch);
			rx_lazy(x);
			break;
		case '{':
			if (rx_brace(x) < 0)
				return -1;
			break;
		default:
			rx_literal(x, ch);
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Compilation                                                         */

struct cctx {
	schema_set *set;
	struct doc *doc;
	sl_error *err;
};

static int cerr(struct cctx *c, int code, const struct path *at,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reports a compile error as "document: /pointer: message". */
static int cerr(struct cctx *c, int code, const struct path *at,
		const char *fmt, ...)
{
	char where[256], msg[320];
	va_list ap;

	if (c->err == NULL)
		return code;
	path_render(at, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sl_error_set(c->err, code, "%s: %s: %s", c->doc->name,
			    where[0] ? where : "(root)", msg);
}

static int nomem(sl_error *err)
{
	return sl_error_set(err, SL_ENOMEM, "out of memory");
}

static int pattern_compile(struct cctx *c, struct pattern *pat, const char *src,
			   size_t len, const struct path *at, const char *kw)
{
	struct sbuf out = {0};
	struct rx x;
	locale_t old;
	char *ere, msg[128];
	int rc;

	memset(&x, 0, sizeof(x));
	x.p = src;
	x.end = src + len;
	x.out = &out;
	if (memchr(src, '\0', len) != NULL)
		return cerr(c, SL_EUNSUPPORTED, at,
			    "%s contains a NUL character", kw);
	if (rx_translate(&x) < 0) {
		sl_free(out.s);
		return cerr(c, x.code, at, "%s \"%s\": %s", kw, src, x.why);
	}
	ere = sb_finish(&out);
	if (ere == NULL)
		return nomem(c->err);
	old = uselocale(c->set->c_locale);
	rc = regcomp(&pat->re, ere, REG_EXTENDED | REG_NOSUB);
	if (old != (locale_t)0)
		uselocale(old);
	if (rc != 0) {
		regerror(rc, &pat->re, msg, sizeof(msg));
		if (rc == REG_ESPACE) {
			sl_free(ere);
			return nomem(c->err);
		}
		rc = cerr(c, SL_EINVAL, at,
			  "%s \"%s\" (as POSIX ERE \"%s\"): %s", kw, src, ere,
			  msg);
		sl_free(ere);
		return rc;
	}
	sl_free(ere);
	pat->compiled = 1;
	pat->source = src;
	return 0;
}

static int compile(struct cctx *c, const json_t *js, const char *base,
		   const struct path *at, int root, struct node **out);

struct keyword;
typedef int kw_fn(struct cctx *c, const struct keyword *k, struct node *n,
		  const json_t *v, const char *base, const struct path *at);

struct keyword {
	const char *name;
	kw_fn *fn;  /* NULL: a draft-07 keyword we refuse */
	size_t off; /* field of struct node the handler fills */
};

#define FIELD(n, k, type) ((type *)(void *)((char *)(n) + (k)->off))

static int kw_nothing(struct cctx *c, const struct keyword *k, struct node *n,
		      const json_t *v, const char *base, const struct path *at)
{
	(void)c, (void)k, (void)n, (void)v, (void)base, (void)at;
	return 0;
}

static int kw_string(struct cctx *c, const struct keyword *k, struct node *n,
		     const json_t *v, const char *base, const struct path *at)
{
	(void)n, (void)base;
	if (!json_is_string(v))
		return cerr(c, SL_EINVAL, at, "%s must be a string", k->name);
	return 0;
}

static int kw_boolean(struct cctx *c, const struct keyword *k, struct node *n,
		      const json_t *v, const char *base, const struct path *at)
{
	(void)base;
	if (!json_is_boolean(v))
		return cerr(c, SL_EINVAL, at, "%s must be a boolean", k->name);
	if (k->off != 0)
		*FIELD(n, k, int) = json_is_true(v);
	return 0;
}

static int kw_array(struct cctx *c, const struct keyword *k, struct node *n,
		    const json_t *v, const char *base, const struct path *at)
{
	(void)base;
	if (!json_is_array(v))
		return cerr(c, SL_EINVAL, at, "%s must be an array", k->name);
	if (k->off != 0)
		*FIELD(n, k, const json_t *) = v;
	return 0;
}

static int kw_value(struct cctx *c, const struct keyword *k, struct node *n,
		    const json_t *v, const char *base, const struct path *at)
{
	(void)c, (void)base, (void)at;
	*FIELD(n, k, const json_t *) = v;
	return 0;
}

static int kw_dollar_schema(struct cctx *c, const struct keyword *k,
			    struct node *n, const json_t *v, const char *base,
			    const struct path *at)
{
	const char *s = json_string_value(v);

	(void)k, (void)n, (void)base;
	if (s == NULL)
		return cerr(c, SL_EINVAL, at, "$schema must be a string");
	if (strcmp(s, "http://json-schema.org/draft-07/schema#") != 0 &&
	    strcmp(s, "http://json-schema.org/draft-07/schema") != 0)
		return cerr(c, SL_EUNSUPPORTED, at,
			    "$schema \"%s\": only draft-07 is supported", s);
	return 0;
}

static int kw_number(struct cctx *c, const struct keyword *k, struct node *n,
		     const json_t *v, const char *base, const struct path *at)
{
	(void)base;
	if (!json_is_number(v))
		return cerr(c, SL_EINVAL, at, "%s must be a number", k->name);
	if (k->off == offsetof(struct node, multiple_of) &&
	    json_number_value(v) <= 0)
		return cerr(c, SL_EINVAL, at,
			    "multipleOf must be greater than 0");
	*FIELD(n, k, const json_t *) = v;
	return 0;
}

/* Non-negative integer; 2.0 counts as an integer in draft-07. */
static int get_count(const json_t *v, json_int_t *out)
{
	double d;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d >= 0 && d < 9.2e18 && floor(d) == d) {
			*out = (json_int_t)d;
			return 0;
		}
	}
	return -1;
}

static int kw_count(struct cctx *c, const struct keyword *k, struct node *n,
		    const json_t *v, const char *base, const struct path *at)
{
	(void)base;
	if (get_count(v, FIELD(n, k, json_int_t)) < 0)
		return cerr(c, SL_EINVAL, at,
			    "%s must be a non-negative integer", k->name);
	return 0;
}

static unsigned type_bit(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return 1u << i;
	return 0;
}

static int kw_type(struct cctx *c, const struct keyword *k, struct node *n,
		   const json_t *v, const char *base, const struct path *at)
{
	const json_t *e;
	unsigned bit;
	size_t i;

	(void)k, (void)base;
	if (json_is_string(v)) {
		n->types = type_bit(json_string_value(v));
		if (n->types == 0)
			return cerr(c, SL_EINVAL, at, "unknown type \"%s\"",
				    json_string_value(v));
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cerr(c, SL_EINVAL, at,
			    "type must be a string or a non-empty array of "
			    "strings");
	json_array_foreach (v, i, e) {
		bit = json_is_string(e) ? type_bit(json_string_value(e)) : 0;
		if (bit == 0)
			return cerr(c, SL_EINVAL, at,
				    "type[%zu] is not a type name", i);
		if (n->types & bit)
			return cerr(c, SL_EINVAL, at,
				    "type[%zu] repeats \"%s\"", i,
				    json_string_value(e));
		n->types |= bit;
	}
	return 0;
}

static int kw_pattern(struct cctx *c, const struct keyword *k, struct node *n,
		      const json_t *v, const char *base, const struct path *at)
{
	(void)k, (void)base;
	if (!json_is_string(v))
		return cerr(c, SL_EINVAL, at, "pattern must be a string");
	return pattern_compile(c, &n->pattern, json_string_value(v),
			       json_string_length(v), at, "pattern");
}

static int kw_schema(struct cctx *c, const struct keyword *k, struct node *n,
		     const json_t *v, const char *base, const struct path *at)
{
	return compile(c, v, base, at, 0, FIELD(n, k, struct node *));
}

static int compile_list(struct cctx *c, const json_t *v, const char *base,
			const struct path *at, struct list *l)
{
	struct path p = {at, NULL, 0, 0, 0};
	size_t i;
	int rc;

	l->v = sl_calloc(json_array_size(v) ? json_array_size(v) : 1,
			 sizeof(*l->v));
	if (l->v == NULL)
		return nomem(c->err);
	for (i = 0; i < json_array_size(v); i++) {
		p.index = i;
		rc = compile(c, json_array_get(v, i), base, &p, 0, &l->v[i]);
		if (rc != 0)
			return rc;
		l->n = i + 1;
	}
	return 0;
}

static int kw_schema_list(struct cctx *c, const struct keyword *k,
			  struct node *n, const json_t *v, const char *base,
			  const struct path *at)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cerr(c, SL_EINVAL, at,
			    "%s must be a non-empty array of schemas", k->name);
	return compile_list(c, v, base, at, FIELD(n, k, struct list));
}

static int kw_items(struct cctx *c, const struct keyword *k, struct node *n,
		    const json_t *v, const char *base, const struct path *at)
{
	(void)k;
	if (json_is_array(v)) {
		n->has_tuple = 1;
		return compile_list(c, v, base, at, &n->tuple);
	}
	return compile(c, v, base, at, 0, &n->items);
}

/* Array of unique strings (required, and the array form of dependencies). */
static int check_names(struct cctx *c, const json_t *v, const struct path *at,
		       const char *what)
{
	size_t i, j;

	if (!json_is_array(v))
		return cerr(c, SL_EINVAL, at, "%s must be an array of strings",
			    what);
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_string(e))
			return cerr(c, SL_EINVAL, at,
				    "%s[%zu] must be a string", what, i);
		for (j = 0; j < i; j++)
			if (json_equal(e, json_array_get(v, j)))
				return cerr(c, SL_EINVAL, at,
					    "%s repeats \"%s\"", what,
					    json_string_value(e));
	}
	return 0;
}

static int kw_required(struct cctx *c, const struct keyword *k, struct node *n,
		       const json_t *v, const char *base, const struct path *at)
{
	int rc;

	(void)k, (void)base;
	rc = check_names(c, v, at, "required");
	if (rc == 0)
		n->required = v;
	return rc;
}

/* properties, patternProperties, definitions, dependencies: name -> schema */
static int kw_map(struct cctx *c, const struct keyword *k, struct node *n,
		  const json_t *v, const char *base, const struct path *at)
{
	struct path p = {at, NULL, 0, 0, 0};
	size_t count, i = 0;
	struct node *sub;
	void *it;
	int rc;

	if (!json_is_object(v))
		return cerr(c, SL_EINVAL, at, "%s must be an object", k->name);
	count = json_object_size(v);
	if (k->off == offsetof(struct node, props)) {
		n->props = sl_calloc(count ? count : 1, sizeof(*n->props));
		if (n->props == NULL)
			return nomem(c->err);
		n->properties = v;
	} else if (k->off == offsetof(struct node, pprops)) {
		n->pprops = sl_calloc(count ? count : 1, sizeof(*n->pprops));
		if (n->pprops == NULL)
			return nomem(c->err);
		n->n_pprops = count;
	} else if (k->off == offsetof(struct node, deps)) {
		n->deps = sl_calloc(count ? count : 1, sizeof(*n->deps));
		if (n->deps == NULL)
			return nomem(c->err);
	}
	for (it = json_object_iter((json_t *)v); it != NULL;
	     it = json_object_iter_next((json_t *)v, it), i++) {
		const char *key = json_object_iter_key(it);
		size_t len = json_object_iter_key_len(it);
		const json_t *sv = json_object_iter_value(it);

		p.key = key;
		p.len = len;
		if (k->off == offsetof(struct node, deps) &&
		    json_is_array(sv)) {
			rc = check_names(c, sv, &p, "dependencies");
			if (rc != 0)
				return rc;
			n->deps[i].name = key;
			n->deps[i].len = len;
			n->deps[i].names = sv;
			n->n_deps = i + 1;
			continue;
		}
		rc = compile(c, sv, base, &p, 0, &sub);
		if (rc != 0)
			return rc;
		if (k->off == offsetof(struct node, props)) {
			n->props[i].name = key;
			n->props[i].len = len;
			n->props[i].schema = sub;
			n->n_props = i + 1;
		} else if (k->off == offsetof(struct node, pprops)) {
			n->pprops[i].schema = sub;
			rc = pattern_compile(c, &n->pprops[i].pat, key, len, &p,
					     "patternProperties");
			if (rc != 0)
				return rc;
		} else if (k->off == offsetof(struct node, deps)) {
			n->deps[i].name = key;
			n->deps[i].len = len;
			n->deps[i].schema = sub;
			n->n_deps = i + 1;
		}
	}
	return 0;
}

#define OFF(f) offsetof(struct node, f)

/* Every draft-07 keyword, sorted by name for the reader, not for lookup. */
static const struct keyword keywords[] = {
	{"$comment", kw_string, 0},
	{"$id", kw_string, 0},	 /* applied by compile() */
	{"$ref", kw_nothing, 0}, /* applied by compile() */
	{"$schema", kw_dollar_schema, 0},
	{"additionalItems", kw_schema, OFF(additional_items)},
	{"additionalProperties", kw_schema, OFF(additional_props)},
	{"allOf", kw_schema_list, OFF(all_of)},
	{"anyOf", kw_schema_list, OFF(any_of)},
	{"const", kw_value, OFF(const_value)},
	{"contains", kw_schema, OFF(contains)},
	{"contentEncoding", NULL, 0},
	{"contentMediaType", NULL, 0},
	{"default", kw_nothing, 0},
	/* definitions are compiled for their checks and as $ref targets */
	{"definitions", kw_map, OFF(json)},
	{"dependencies", kw_map, OFF(deps)},
	{"description", kw_string, 0},
	{"else", kw_schema, OFF(else_s)},
	{"enum", kw_array, OFF(enum_values)},
	{"examples", kw_array, 0},
	{"exclusiveMaximum", kw_number, OFF(exclusive_maximum)},
	{"exclusiveMinimum", kw_number, OFF(exclusive_minimum)},
	{"format", NULL, 0},
	{"if", kw_schema, OFF(if_s)},
	{"items", kw_items, 0},
	{"maxItems", kw_count, OFF(max_items)},
	{"maxLength", kw_count, OFF(max_length)},
	{"maxProperties", kw_count, OFF(max_props)},
	{"maximum", kw_number, OFF(maximum)},
	{"minItems", kw_count, OFF(min_items)},
	{"minLength", kw_count, OFF(min_length)},
	{"minProperties", kw_count, OFF(min_props)},
	{"minimum", kw_number, OFF(minimum)},
	{"multipleOf", kw_number, OFF(multiple_of)},
	{"not", kw_schema, OFF(not_s)},
	{"oneOf", kw_schema_list, OFF(one_of)},
	{"pattern", kw_pattern, 0},
	{"patternProperties", kw_map, OFF(pprops)},
	{"properties", kw_map, OFF(props)},
	{"propertyNames", kw_schema, OFF(property_names)},
	{"readOnly", kw_boolean, 0},
	{"required", kw_required, 0},
	{"then", kw_schema, OFF(then_s)},
	{"title", kw_string, 0},
	{"type", kw_type, 0},
	{"uniqueItems", kw_boolean, OFF(unique_items)},
	{"writeOnly", kw_boolean, 0},
};

static const struct keyword *keyword_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

static int res_add(struct cctx *c, const char *uri, size_t len,
		   const json_t *json, const struct path *at)
{
	schema_set *set = c->set;
	struct resource *r;

	if (len > 0 && uri[len - 1] == '#')
		len--;
	if (res_find(set, uri, len) != NULL)
		return cerr(c, SL_EINVAL, at,
			    "URI \"%.*s\" is already registered", (int)len,
			    uri);
	r = sl_grow(set->res, &set->cap_res, set->n_res + 1, sizeof(*set->res));
	if (r == NULL)
		return nomem(c->err);
	set->res = r;
	r = &set->res[set->n_res];
	r->uri = dup_n(uri, len);
	if (r->uri == NULL)
		return nomem(c->err);
	r->json = json;
	r->doc = c->doc;
	set->n_res++;
	return 0;
}

/*
 * Registers the URIs an $id gives `js`.  *own_base receives the new base
 * URI when the $id changes it (caller frees), else stays NULL.
 */
static int id_register(struct cctx *c, const json_t *js, const char *id,
		       const char *base, const struct path *at, char **own_base)
{
	struct path p = {at, "$id", 3, 0, 0};
	char *full = uri_resolve(base, id), *hash;
	size_t alen;
	int rc = 0;

	if (full == NULL)
		return nomem(c->err);
	hash = strchr(full, '#');
	alen = hash ? (size_t)(hash - full) : strlen(full);
	if (hash != NULL && hash[1] == '/') {
		rc = cerr(c, SL_EINVAL, &p,
			  "$id \"%s\" must not have a JSON Pointer fragment",
			  id);
	} else {
		if (strlen(base) != alen || strncmp(base, full, alen) != 0) {
			rc = res_add(c, full, alen, js, &p);
			if (rc == 0) {
				*own_base = dup_n(full, alen);
				if (*own_base == NULL)
					rc = nomem(c->err);
			}
		}
		if (rc == 0 && hash != NULL && hash[1] != '\0')
			rc = res_add(c, full, strlen(full), js, &p);
	}
	sl_free(full);
	return rc;
}

static int ref_add(struct cctx *c, struct node *n, const char *ref,
		   const char *base, const struct path *at)
{
	schema_set *set = c->set;
	struct path p = {at, "$ref", 4, 0, 0};
	char where[256];
	struct sbuf b = {0};
	struct node **refs;

	n->ref = uri_resolve(base, ref);
	path_render(&p, where, sizeof(where));
	sb_puts(&b, c->doc->name);
	sb_puts(&b, ": ");
	sb_puts(&b, where);
	n->ref_where = sb_finish(&b);
	refs = sl_grow(set->refs, &set->cap_refs, set->n_refs + 1, sizeof(*refs));
	if (n->ref == NULL || n->ref_where == NULL || refs == NULL)
		return nomem(c->err);
	set->refs = refs;
	set->refs[set->n_refs++] = n;
	return 0;
}

/*
 * Compiles the schema `js` found at `at` with base URI `base`; `root` is
 * set for a document's root, whose $id counts even beside a $ref.
 * *out gets the node (already compiled nodes are reused).
 */
static int compile(struct cctx *c, const json_t *js, const char *base,
		   const struct path *at, int root, struct node **out)
{
	schema_set *set = c->set;
	const json_t *ref, *id, *v;
	const struct keyword *k;
	char *own_base = NULL;
	struct node *n;
	const char *key;
	int rc = 0;

	if (json_is_boolean(js)) {
		*out = json_is_true(js) ? &set->true_node : &set->false_node;
		return 0;
	}
	if (!json_is_object(js))
		return cerr(c, SL_EINVAL, at,
			    "a schema must be an object or a boolean, not %s",
			    json_kind(js));
	n = index_get(set, js);
	if (n != NULL) {
		*out = n;
		return 0;
	}
	n = sl_calloc(1, sizeof(*n));
	if (n == NULL)
		return nomem(c->err);
	n->gen = set->gen;
	n->boolean = -1;
	n->json = js;
	n->max_length = n->min_length = n->max_items = n->min_items = -1;
	n->max_props = n->min_props = -1;
	n->next = set->nodes;
	set->nodes = n; /* from here on the set owns it, even on failure */
	if (index_put(set, js, n) != 0)
		return nomem(c->err);

	ref = json_object_get(js, "$ref");
	id = json_object_get(js, "$id");
	/* draft-07: beside $ref every keyword, $id included, is ignored */
	if (id != NULL && json_is_string(id) && (root || ref == NULL))
		rc = id_register(c, js, json_string_value(id), base, at,
				 &own_base);
	if (own_base != NULL)
		base = own_base;
	if (rc == 0 && ref != NULL) {
		if (!json_is_string(ref)) {
			struct path p = {at, "$ref", 4, 0, 0};

			rc = cerr(c, SL_EINVAL, &p, "$ref must be a string");
		} else {
			rc = ref_add(c, n, json_string_value(ref), base, at);
		}
	}
	/*
	 * Keywords beside a $ref are still compiled: they must be known, and
	 * a JSON Pointer may lead into them ("definitions" beside "$ref").
	 */
	json_object_foreach ((json_t *)js, key, v) {
		struct path p = {at, key, strlen(key), 0, 0};

		if (rc != 0)
			break;
		k = keyword_find(key);
		if (k == NULL) {
			if (set->allow_unknown)
				continue;
			rc = cerr(c, SL_EINVAL, &p,
				  "unknown keyword \"%s\" (not a draft-07 "
				  "keyword)",
				  key);
		} else if (k->fn == NULL) {
			rc = cerr(c, SL_EUNSUPPORTED, &p,
				  "unsupported keyword \"%s\"", key);
		} else {
			rc = k->fn(c, k, n, v, base, &p);
		}
	}
	sl_free(own_base);
	if (rc == 0)
		*out = n;
	return rc;
}

/* ------------------------------------------------------------------ */
/* $ref resolution                                                     */

/* Percent-decodes a URI fragment; NULL on ENOMEM, *bad on bad syntax. */
static char *percent_decode(const char *s, int *bad)
{
	size_t n = strlen(s), i, o = 0;
	char *d = sl_malloc(n + 1);
	int hi, lo;

	*bad = 0;
	if (d == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[o++] = s[i];
			continue;
		}
		hi = i + 2 < n ? hex_value((unsigned char)s[i + 1]) : -1;
		lo = hi >= 0 ? hex_value((unsigned char)s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			*bad = 1;
			break;
		}
		d[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[o] = '\0';
	return d;
}

/*
 * Walks the JSON Pointer `ptr` (already percent-decoded) from `start`.
 * When base_io is given, *base_io (owned) is moved along by the $id of
 * every object passed through, so it ends as the target's base URI.
 * Returns 0, SL_ENOTFOUND (no such location; *why says why) or SL_ENOMEM.
 */
static int pointer_walk(const json_t *start, const char *ptr,
			const json_t **out, char **base_io, const char **why)
{
	const json_t *cur = start, *id;
	size_t len = strlen(ptr), tl, i;
	char *tok = sl_malloc(len + 1), *nb;
	const char *p = ptr, *end;
	int rc = 0;

	if (tok == NULL)
		return SL_ENOMEM;
	if (*p != '\0' && *p != '/') {
		*why = "a JSON Pointer must start with '/'";
		rc = SL_ENOTFOUND;
	}
	while (rc == 0 && *p == '/') {
		p++;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		for (tl = 0; p < end; p++) {
			if (*p != '~') {
				tok[tl++] = *p;
			} else if (p + 1 < end &&
				   (p[1] == '0' || p[1] == '1')) {
				tok[tl++] = p[1] == '0' ? '~' : '/';
				p++;
			} else {
				*why = "bad '~' escape in JSON Pointer";
				rc = SL_ENOTFOUND;
				break;
			}
		}
		if (rc != 0)
			break;
		tok[tl] = '\0';
		if (base_io != NULL && json_is_object(cur) &&
		    json_is_string(id = json_object_get(cur, "$id")) &&
		    json_object_get(cur, "$ref") == NULL) {
			nb = uri_resolve(*base_io, json_string_value(id));
			if (nb == NULL) {
				rc = SL_ENOMEM;
				break;
			}
			nb[strcspn(nb, "#")] = '\0';
			sl_free(*base_io);
			*base_io = nb;
		}
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, tok, tl);
		} else if (json_is_array(cur)) {
			size_t idx = 0;

			for (i = 0; i < tl && is_digit((unsigned char)tok[i]);
			     i++)
				idx = idx < SIZE_MAX / 10
					      ? idx * 10 +
							(size_t)(tok[i] - '0')
					      : SIZE_MAX;
			if (tl == 0 || i != tl || (tl > 1 && tok[0] == '0'))
				cur = NULL;
			else
				cur = json_array_get(cur, idx);
		} else {
			cur = NULL;
		}
		if (cur == NULL) {
			*why = "no such location";
			rc = SL_ENOTFOUND;
		}
	}
	sl_free(tok);
	if (rc == 0)
		*out = cur;
	return rc;
}

/*
 * Resolves the $ref of `n`: 0 (n->target set); SL_ENOTFOUND when the
 * document it names is not in the set (yet); SL_EINVAL for a ref that can
 * never resolve; SL_ENOMEM.  May compile a location no keyword reached.
 */
static int ref_resolve(schema_set *set, struct node *n, sl_error *err)
{
	const char *uri = n->ref, *hash = strchr(uri, '#'), *why = NULL;
	const char *frag = hash ? hash + 1 : "";
	const struct resource *r;
	const struct node *found;
	const json_t *target = NULL;
	char *ptr, *base;
	struct node *t;
	int bad, rc;

	if (*frag != '\0' && *frag != '/') {
		/* plain name: a "#name" $id, registered with its fragment */
		r = res_find(set, uri, strlen(uri));
		if (r == NULL)
			return SL_ENOTFOUND;
		n->target = node_for(set, r->json);
		return 0;
	}
	r = res_find(set, uri, hash ? (size_t)(hash - uri) : strlen(uri));
	if (r == NULL)
		return SL_ENOTFOUND;
	ptr = percent_decode(frag, &bad);
	base = sl_strdup(r->uri);
	if (ptr == NULL || base == NULL) {
		sl_free(ptr);
		sl_free(base);
		return nomem(err);
	}
	if (bad)
		rc = sl_error_set(err, SL_EINVAL,
				  "%s: $ref \"%s\": bad percent-encoding",
				  n->ref_where, uri);
	else
		rc = pointer_walk(r->json, ptr, &target, &base, &why);
	if (rc == SL_ENOTFOUND)
		rc = sl_error_set(err, SL_EINVAL, "%s: $ref \"%s\": %s",
				  n->ref_where, uri, why);
	else if (rc == SL_ENOMEM)
		rc = nomem(err);
	if (rc == 0) {
		found = node_for(set, target);
		if (found != NULL) {
			n->target = found;
		} else {
			/* A location no keyword led to, e.g. under an unknown
			 * one. */
			struct cctx c = {set, r->doc, err};
			struct path p = {NULL, ptr, strlen(ptr), 0, 1};

			rc = compile(&c, target, base, &p, 0, &t);
			if (rc == 0)
				n->target = t;
		}
	}
	sl_free(ptr);
	sl_free(base);
	return rc;
}

/*
 * Resolves every pending $ref that can be.  Repeats while progress is
 * made, since compiling a new target can register new URIs.
 */
static int resolve_pending(schema_set *set, sl_error *err)
{
	size_t i;
	int rc, progress;

	do {
		progress = 0;
		for (i = 0; i < set->n_refs; i++) {
			if (set->refs[i]->target != NULL)
				continue;
			rc = ref_resolve(set, set->refs[i], err);
			if (rc == SL_ENOTFOUND)
				continue;
			if (rc != 0)
				return rc;
			progress = 1;
		}
	} while (progress);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public: building a set                                              */

schema_set *schema_set_new(void)
{
	schema_set *set = sl_calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->true_node.boolean = 1;
	set->false_node.boolean = 0;
	set->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (set->c_locale == (locale_t)0) {
		sl_free(set);
		return NULL;
	}
	return set;
}

void schema_set_free(schema_set *set)
{
	struct node *n;
	struct doc *d;
	size_t i;

	if (set == NULL)
		return;
	while ((n = set->nodes) != NULL) {
		set->nodes = n->next;
		node_free(n);
	}
	while ((d = set->docs) != NULL) {
		set->docs = d->next;
		doc_free(d);
	}
	for (i = 0; i < set->n_res; i++)
		sl_free(set->res[i].uri);
	for (i = 0; i < set->n_alias; i++)
		sl_free(set->alias[i].name);
	sl_free(set->res);
	sl_free(set->alias);
	sl_free(set->refs);
	sl_free(set->index);
	freelocale(set->c_locale);
	sl_free(set);
}

void schema_set_allow_unknown(schema_set *set, int allow)
{
	if (set != NULL)
		set->allow_unknown = allow != 0;
}

static int alias_add(schema_set *set, const char *name, const json_t *json,
		     sl_error *err)
{
	struct alias *a;

	if (alias_find(set, name) != NULL)
		return sl_error_set(err, SL_EINVAL,
				    "schema name \"%s\" is already registered",
				    name);
	a = sl_grow(set->alias, &set->cap_alias, set->n_alias + 1, sizeof(*a));
	if (a == NULL)
		return nomem(err);
	set->alias = a;
	a[set->n_alias].name = sl_strdup(name);
	if (a[set->n_alias].name == NULL)
		return nomem(err);
	a[set->n_alias].json = json;
	set->n_alias++;
	return 0;
}

static int add_doc(schema_set *set, json_t *doc, const char *uri,
		   const char *alias, const char *display, sl_error *err)
{
	const json_t *id =
		json_is_object(doc) ? json_object_get(doc, "$id") : NULL;
	char anon[64], *base;
	struct cctx c;
	struct node *root;
	struct txn t;
	struct doc *d;
	int rc;

	if (set == NULL || doc == NULL)
		return sl_error_set(err, SL_EINVAL,
				    "schema_set_add: NULL argument");
	txn_begin(set, &t);
	d = sl_calloc(1, sizeof(*d));
	if (d == NULL)
		return nomem(err);
	d->next = set->docs;
	set->docs = d;
	d->json = json_deep_copy(doc);
	if (display != NULL)
		d->name = sl_strdup(display);
	else if (uri != NULL)
		d->name = sl_strdup(uri);
	else if (json_is_string(id))
		d->name = sl_strdup(json_string_value(id));
	else
		d->name = sl_strdup("(schema)");
	if (uri == NULL) {
		/* A private base: "#/..." refs resolve in this document. */
		snprintf(anon, sizeof(anon), "urn:x-shelterlink:schema:%lu",
			 ++set->anon);
		uri = anon;
	}
	base = dup_n(uri, strcspn(uri, "#"));
	if (d->json == NULL || d->name == NULL || base == NULL) {
		rc = nomem(err);
		goto out;
	}
	c.set = set;
	c.doc = d;
	c.err = err;
	rc = res_add(&c, base, strlen(base), d->json, NULL);
	if (rc == 0)
		rc = compile(&c, d->json, base, NULL, 1, &root);
	if (rc == 0 && alias != NULL)
		rc = alias_add(set, alias, d->json, err);
	if (rc == 0)
		rc = resolve_pending(set, err);
out:
	if (rc != 0)
		txn_rollback(set, &t);
	sl_free(base);
	return rc;
}

int schema_set_add(schema_set *set, json_t *doc, const char *uri, sl_error *err)
{
	return add_doc(set, doc, uri, NULL, NULL, err);
}

/*
 * "file:///abs/dir/" for `dir`, dot segments removed; NULL with errno set
 * (ENOMEM, or getcwd's error).  Not percent-encoded: our paths are plain.
 */
static char *dir_uri(const char *dir)
{
	struct sbuf sb = {0};
	char cwd[4096], *base, *uri;

	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	sb_puts(&sb, "file://");
	if (dir[0] != '/') {
		sb_puts(&sb, cwd);
		sb_putc(&sb, '/');
	}
	sb_puts(&sb, dir);
	sb_putc(&sb, '/');
	base = sb_finish(&sb);
	if (base == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	uri = uri_resolve(base, "."); /* normalizes "a/../b/./" */
	sl_free(base);
	if (uri == NULL)
		errno = ENOMEM;
	return uri;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int schema_set_load_dir(schema_set *set, const char *dir, sl_error *err)
{
	size_t n = 0, cap = 0, i, len, slen = strlen(SUFFIX);
	char **names = NULL, **nn, *path = NULL, *abs = NULL, *uri = NULL;
	struct sbuf sb;
	struct dirent *de;
	json_error_t jerr;
	json_t *doc;
	DIR *dp;
	int rc = 0;

	dp = opendir(dir);
	if (dp == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", dir,
				    strerror(errno));
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, SUFFIX) != 0)
			continue;
		nn = sl_grow(names, &cap, n + 1, sizeof(*names));
		if (nn == NULL) {
			rc = nomem(err);
			break;
		}
		names = nn;
		names[n] = sl_strdup(de->d_name);
		if (names[n] == NULL) {
			rc = nomem(err);
			break;
		}
		n++;
	}
	closedir(dp);
	if (rc == 0 && n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	/* file:// URIs let documents without $id refer to each other. */
	if (rc == 0) {
		abs = dir_uri(dir);
		if (abs == NULL)
			rc = errno == ENOMEM
				     ? nomem(err)
				     : sl_error_set(err, SL_EIO, "%s: %s", dir,
						    strerror(errno));
	}
	for (i = 0; rc == 0 && i < n; i++) {
		memset(&sb, 0, sizeof(sb));
		sb_puts(&sb, dir);
		sb_putc(&sb, '/');
		sb_puts(&sb, names[i]);
		path = sb_finish(&sb);
		memset(&sb, 0, sizeof(sb));
		sb_puts(&sb, abs);
		sb_puts(&sb, names[i]);
		uri = sb_finish(&sb);
		if (path == NULL || uri == NULL) {
			rc = nomem(err);
		} else {
			/* jansson leaves the error code unset on some early
			 * exits */
			memset(&jerr, 0, sizeof(jerr));
			doc = json_load_file(path, JSON_REJECT_DUPLICATES,
					     &jerr);
			if (doc == NULL) {
				/* and the text empty when lex_init has no
				 * memory */
				if (jerr.text[0] == '\0' ||
				    json_error_code(&jerr) ==
					    json_error_out_of_memory)
					rc = nomem(err);
				else
					rc = sl_error_set(
						err, SL_EINVAL, "%s:%d:%d: %s",
						path, jerr.line, jerr.column,
						jerr.text);
			} else {
				names[i][strlen(names[i]) - slen] = '\0';
				rc = add_doc(set, doc, uri, names[i], path,
					     err);
				json_decref(doc);
				/* compile errors name the file already */
				if (rc != 0 && err != NULL &&
				    strncmp(err->text, path, strlen(path)) != 0)
					sl_error_prefix(err, "%s", path);
			}
		}
		sl_free(path);
		sl_free(uri);
		path = uri = NULL;
	}
	sl_free(abs);
	for (i = 0; i < n; i++)
		sl_free(names[i]);
	sl_free(names);
	return rc;
}

int schema_set_resolve(schema_set *set, sl_error *err)
{
	struct txn t;
	size_t i;
	int rc;

	txn_begin(set, &t);
	rc = resolve_pending(set, err);
	if (rc != 0) {
		txn_rollback(set, &t);
		return rc;
	}
	for (i = 0; i < set->n_refs; i++)
		if (set->refs[i]->target == NULL)
			return sl_error_set(
				err, SL_EINVAL,
				"%s: unresolved $ref \"%s\" (no schema "
				"with that URI is loaded)",
				set->refs[i]->ref_where, set->refs[i]->ref);
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON data model: numbers, equality, hashing                         */

/* Compares an integer with a real exactly, without rounding the integer. */
static int cmp_int_real(json_int_t i, double r)
{
	double f;
	json_int_t fi;

	if (r >= 9223372036854775808.0)
		return -1;
	if (r < -9223372036854775808.0)
		return 1;
	f = floor(r);
	fi = (json_int_t)f;
	if (i != fi)
		return i < fi ? -1 : 1;
	return r > f ? -1 : 0;
}

static int num_cmp(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return i < j ? -1 : i > j;
	}
	if (json_is_integer(a))
		return cmp_int_real(json_integer_value(a), json_real_value(b));
	if (json_is_integer(b))
		return -cmp_int_real(json_integer_value(b), json_real_value(a));
	x = json_real_value(a);
	y = json_real_value(b);
	return x < y ? -1 : x > y;
}

/* JSON equality of draft-07: 1 equals 1.0; key order does not matter. */
static int json_eq(const json_t *a, const json_t *b)
{
	const char *key;
	const json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b),
			      json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!json_eq(json_array_get(a, i),
				     json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT: {
		void *it;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (it = json_object_iter((json_t *)a); it != NULL;
		     it = json_object_iter_next((json_t *)a, it)) {
			key = json_object_iter_key(it);
			v = json_object_getn(b, key,
					     json_object_iter_key_len(it));
			if (v == NULL ||
			    !json_eq(json_object_iter_value(it), v))
				return 0;
		}
		return 1;
	}
	default:
		return 1; /* true, false, null */
	}
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Consistent with json_eq: equal values hash alike. */
static uint64_t json_hash(const json_t *j)
{
	uint64_t h, sum;
	double d;
	size_t i;
	void *it;

	switch (json_typeof(j)) {
	case JSON_INTEGER:
	case JSON_REAL:
		d = json_number_value(j);
		if (d == 0)
			d = 0; /* -0.0 */
		return hash_bytes((const char *)&d, sizeof(d));
	case JSON_STRING:
		return hash_bytes(json_string_value(j), json_string_length(j));
	case JSON_ARRAY:
		h = 7;
		for (i = 0; i < json_array_size(j); i++)
			h = mix(h, json_hash(json_array_get(j, i)));
		return h;
	case JSON_OBJECT:
		sum = 11;
		for (it = json_object_iter((json_t *)j); it != NULL;
		     it = json_object_iter_next((json_t *)j, it))
			sum += mix(hash_bytes(json_object_iter_key(it),
					      json_object_iter_key_len(it)),
				   json_hash(json_object_iter_value(it)));
		return sum;
	case JSON_TRUE:
		return 1;
	case JSON_FALSE:
		return 2;
	default:
		return 3;
	}
}

static int is_integral(const json_t *j)
{
	double d;

	if (json_is_integer(j))
		return 1;
	if (!json_is_real(j))
		return 0;
	d = json_real_value(j);
	return floor(d) == d;
}

static int is_multiple(const json_t *x, const json_t *m)
{
	double q, r;

	if (json_is_integer(x) && json_is_integer(m))
		return json_integer_value(x) % json_integer_value(m) == 0;
	q = json_number_value(x) / json_number_value(m);
	if (!isfinite(q))
		return 0;
	r = nearbyint(q);
	/* 0.0075 / 0.0001 is 74.99999999999999 in binary floating point */
	return fabs(q - r) <= fabs(q) * DBL_EPSILON * 1e4;
}

static size_t utf8_count(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

struct vctx {
	schema_failure *fail; /* NULL: the caller wants no details */
	int quiet;	      /* >0 while probing anyOf/oneOf/not/if/contains */
	int depth;
};

/* The same-instance chain of schema applications, to catch $ref loops. */
struct frame {
	const struct frame *up;
	const struct node *node;
	const json_t *inst;
};

static void fill(struct vctx *v, const struct path *at, const char *kw,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void fill(struct vctx *v, const struct path *at, const char *kw,
		 const char *fmt, va_list ap)
{
	if (v->fail == NULL)
		return;
	path_render(at, v->fail->pointer, sizeof(v->fail->pointer));
	snprintf(v->fail->keyword, sizeof(v->fail->keyword), "%s", kw);
	vsnprintf(v->fail->message, sizeof(v->fail->message), fmt, ap);
}

static int fail(struct vctx *v, const struct path *at, const char *kw,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The instance breaks `kw`; recorded unless we are only probing. */
static int fail(struct vctx *v, const struct path *at, const char *kw,
		const char *fmt, ...)
{
	va_list ap;

	if (v->quiet == 0) {
		va_start(ap, fmt);
		fill(v, at, kw, fmt, ap);
		va_end(ap);
	}
	return SL_ESCHEMA;
}

static int hard(struct vctx *v, int code, const struct path *at, const char *kw,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Validation cannot go on; propagates through probes unchanged. */
static int hard(struct vctx *v, int code, const struct path *at, const char *kw,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(v, at, kw, fmt, ap);
	va_end(ap);
	return code;
}

static int validate(struct vctx *v, const struct node *n, const json_t *inst,
		    const struct path *at, const struct frame *up);

/* Validates without recording failures: 0, SL_ESCHEMA or a hard error. */
static int probe(struct vctx *v, const struct node *n, const json_t *inst,
		 const struct path *at, const struct frame *up)
{
	int rc;

	v->quiet++;
	rc = validate(v, n, inst, at, up);
	v->quiet--;
	return rc;
}

static int match(const struct pattern *p, const char *s, size_t len)
{
	regmatch_t m[1];
	int rc, flags = 0;

#ifdef REG_STARTEND
	/* Lets strings with an embedded NUL be matched whole. */
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	flags = REG_STARTEND;
#else
	(void)len;
#endif
	rc = regexec(&p->re, s, 1, m, flags);
	if (rc == 0)
		return 1;
	return rc == REG_NOMATCH ? 0 : SL_ENOMEM;
}

static void types_text(unsigned types, char *buf, size_t size)
{
	size_t i, pos = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!(types & (1u << i)))
			continue;
		snprintf(buf + pos, size - pos, "%s%s", pos ? " or " : "",
			 type_names[i]);
		pos += strlen(buf + pos);
	}
}

static int type_ok(unsigned types, const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_NULL:
		return types & T_NULL;
	case JSON_TRUE:
	case JSON_FALSE:
		return types & T_BOOLEAN;
	case JSON_OBJECT:
		return types & T_OBJECT;
	case JSON_ARRAY:
		return types & T_ARRAY;
	case JSON_STRING:
		return types & T_STRING;
	case JSON_INTEGER:
		return types & (T_NUMBER | T_INTEGER);
	case JSON_REAL:
		return (types & T_NUMBER) ||
		       ((types & T_INTEGER) && is_integral(j));
	}
	return 0;
}

static int check_number(struct vctx *v, const struct node *n,
			const json_t *inst, const struct path *at)
{
	char a[40], b[40];

	if (n->multiple_of && !is_multiple(inst, n->multiple_of)) {
		fmt_number(inst, a, sizeof(a));
		fmt_number(n->multiple_of, b, sizeof(b));
		return fail(v, at, "multipleOf", "%s is not a multiple of %s",
			    a, b);
	}
	if (n->maximum && num_cmp(inst, n->maximum) > 0) {
		fmt_number(inst, a, sizeof(a));
		fmt_number(n->maximum, b, sizeof(b));
		return fail(v, at, "maximum", "%s is greater than %s", a, b);
	}
	if (n->exclusive_maximum && num_cmp(inst, n->exclusive_maximum) >= 0) {
		fmt_number(inst, a, sizeof(a));
		fmt_number(n->exclusive_maximum, b, sizeof(b));
		return fail(v, at, "exclusiveMaximum", "%s is not less than %s",
			    a, b);
	}
	if (n->minimum && num_cmp(inst, n->minimum) < 0) {
		fmt_number(inst, a, sizeof(a));
		fmt_number(n->minimum, b, sizeof(b));
		return fail(v, at, "minimum", "%s is less than %s", a, b);
	}
	if (n->exclusive_minimum && num_cmp(inst, n->exclusive_minimum) <= 0) {
		fmt_number(inst, a, sizeof(a));
		fmt_number(n->exclusive_minimum, b, sizeof(b));
		return fail(v, at, "exclusiveMinimum",
			    "%s is not greater than %s", a, b);
	}
	return 0;
}

static int check_string(struct vctx *v, const struct node *n,
			const json_t *inst, const struct path *at)
{
	const char *s = json_string_value(inst);
	size_t bytes = json_string_length(inst), chars;
	int m;

	if (n->max_length >= 0 || n->min_length >= 0) {
		chars = utf8_count(s, bytes);
		if (n->max_length >= 0 && chars > (size_t)n->max_length)
			return fail(v, at, "maxLength",
				    "string has %zu characters, more than "
				    "%" JSON_INTEGER_FORMAT,
				    chars, n->max_length);
		if (n->min_length >= 0 && chars < (size_t)n->min_length)
			return fail(v, at, "minLength",
				    "string has %zu characters, fewer than "
				    "%" JSON_INTEGER_FORMAT,
				    chars, n->min_length);
	}
	if (n->pattern.compiled) {
		m = match(&n->pattern, s, bytes);
		if (m < 0)
			return hard(v, m, at, "pattern", "out of memory");
		if (!m)
			return fail(v, at, "pattern",
				    "string does not match /%s/",
				    n->pattern.source);
	}
	return 0;
}

/* propertyNames: each name must be valid as a string instance. */
static int check_names_schema(struct vctx *v, const struct node *n,
			      const json_t *inst, const struct path *at,
			      const struct frame *up)
{
	schema_failure inner, *outer = v->fail;
	json_t *name;
	void *it;
	int rc = 0;

	for (it = json_object_iter((json_t *)inst); it != NULL && rc == 0;
	     it = json_object_iter_next((json_t *)inst, it)) {
		name = json_stringn_nocheck(json_object_iter_key(it),
					    json_object_iter_key_len(it));
		if (name == NULL)
			return hard(v, SL_ENOMEM, at, "propertyNames",
				    "out of memory");
		if (v->quiet) {
			rc = validate(v, n->property_names, name, at, up);
		} else {
			v->fail = &inner;
			rc = validate(v, n->property_names, name, at, up);
			v->fail = outer;
			if (rc == SL_ESCHEMA)
				fail(v, at, "propertyNames",
				     "name \"%s\": %s: %s",
				     json_string_value(name), inner.keyword,
				     inner.message);
			else if (rc != 0 && outer != NULL)
				*outer = inner;
		}
		json_decref(name);
	}
	return rc;
}

static int check_object(struct vctx *v, const struct node *n,
			const json_t *inst, const struct path *at,
			const struct frame *up)
{
	size_t size = json_object_size(inst), i;
	const json_t *val;
	void *it;
	int rc, m, matched;

	if (n->required) {
		for (i = 0; i < json_array_size(n->required); i++) {
			const json_t *r = json_array_get(n->required, i);

			if (json_object_getn(inst, json_string_value(r),
					     json_string_length(r)) == NULL)
				return fail(v, at, "required",
					    "missing required property \"%s\"",
					    json_string_value(r));
		}
	}
	if (n->max_props >= 0 && size > (size_t)n->max_props)
		return fail(v, at, "maxProperties",
			    "object has %zu properties, more than "
			    "%" JSON_INTEGER_FORMAT,
			    size, n->max_props);
	if (n->min_props >= 0 && size < (size_t)n->min_props)
		return fail(v, at, "minProperties",
			    "object has %zu properties, fewer than "
			    "%" JSON_INTEGER_FORMAT,
			    size, n->min_props);
	for (i = 0; i < n->n_props; i++) {
		struct path p = {at, n->props[i].name, n->props[i].len, 0, 0};

		val = json_object_getn(inst, n->props[i].name, n->props[i].len);
		if (val != NULL) {
			rc = validate(v, n->props[i].schema, val, &p, up);
			if (rc != 0)
				return rc;
		}
	}
	if (n->n_pprops > 0 || n->additional_props != NULL) {
		for (it = json_object_iter((json_t *)inst); it != NULL;
		     it = json_object_iter_next((json_t *)inst, it)) {
			const char *key = json_object_iter_key(it);
			size_t len = json_object_iter_key_len(it);
			struct path p = {at, key, len, 0, 0};

			val = json_object_iter_value(it);
			matched = n->properties != NULL &&
				  json_object_getn(n->properties, key, len) !=
					  NULL;
			for (i = 0; i < n->n_pprops; i++) {
				m = match(&n->pprops[i].pat, key, len);
				if (m < 0)
					return hard(v, m, &p,
						    "patternProperties",
						    "out of memory");
				if (!m)
					continue;
				matched = 1;
				rc = validate(v, n->pprops[i].schema, val, &p,
					      up);
				if (rc != 0)
					return rc;
			}
			if (matched || n->additional_props == NULL)
				continue;
			if (n->additional_props->boolean == 0)
				return fail(v, &p, "additionalProperties",
					    "property \"%s\" is not allowed",
					    key);
			rc = validate(v, n->additional_props, val, &p, up);
			if (rc != 0)
				return rc;
		}
	}
	for (i = 0; i < n->n_deps; i++) {
		const struct dep *d = &n->deps[i];
		size_t j;

		if (json_object_getn(inst, d->name, d->len) == NULL)
			continue;
		if (d->schema != NULL) {
			rc = validate(v, d->schema, inst, at, up);
			if (rc != 0)
				return rc;
			continue;
		}
		for (j = 0; j < json_array_size(d->names); j++) {
			const json_t *r = json_array_get(d->names, j);

			if (json_object_getn(inst, json_string_value(r),
					     json_string_length(r)) == NULL)
				return fail(v, at, "dependencies",
					    "property \"%s\" requires property "
					    "\"%s\"",
					    d->name, json_string_value(r));
		}
	}
	if (n->property_names != NULL)
		return check_names_schema(v, n, inst, at, up);
	return 0;
}

struct hashed {
	uint64_t h;
	size_t i;
};

static int hashed_cmp(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int check_unique(struct vctx *v, const json_t *inst,
			const struct path *at)
{
	size_t n = json_array_size(inst), i, j;
	struct hashed *hs;

	if (n <= 16) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (json_eq(json_array_get(inst, i),
					    json_array_get(inst, j)))
					return fail(
						v, at, "uniqueItems",
						"items %zu and %zu are equal",
						j, i);
		return 0;
	}
	/* Long arrays: sort by hash so only colliding items are compared. */
	hs = sl_malloc(n * sizeof(*hs));
	if (hs == NULL)
		return hard(v, SL_ENOMEM, at, "uniqueItems", "out of memory");
	for (i = 0; i < n; i++) {
		hs[i].h = json_hash(json_array_get(inst, i));
		hs[i].i = i;
	}
	qsort(hs, n, sizeof(*hs), hashed_cmp);
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n && hs[j].h == hs[i].h; j++) {
			if (json_eq(json_array_get(inst, hs[i].i),
				    json_array_get(inst, hs[j].i))) {
				size_t a = hs[i].i, b = hs[j].i;

				sl_free(hs);
				return fail(v, at, "uniqueItems",
					    "items %zu and %zu are equal", a,
					    b);
			}
		}
	}
	sl_free(hs);
	return 0;
}

static int check_array(struct vctx *v, const struct node *n, const json_t *inst,
		       const struct path *at, const struct frame *up)
{
	size_t size = json_array_size(inst), i;
	struct path p = {at, NULL, 0, 0, 0};
	int rc;

	if (n->max_items >= 0 && size > (size_t)n->max_items)
		return fail(
			v, at, "maxItems",
			"array has %zu items, more than %" JSON_INTEGER_FORMAT,
			size, n->max_items);
	if (n->min_items >= 0 && size < (size_t)n->min_items)
		return fail(
			v, at, "minItems",
			"array has %zu items, fewer than %" JSON_INTEGER_FORMAT,
			size, n->min_items);
	for (i = 0; i < size; i++) {
		const struct node *s;

		p.index = i;
		if (!n->has_tuple) {
			s = n->items;
		} else if (i < n->tuple.n) {
			s = n->tuple.v[i];
		} else {
			s = n->additional_items;
			if (s != NULL && s->boolean == 0)
				return fail(v, &p, "additionalItems",
					    "array has %zu items, at most %zu "
					    "allowed",
					    size, n->tuple.n);
		}
		if (s == NULL)
			continue;
		rc = validate(v, s, json_array_get(inst, i), &p, up);
		if (rc != 0)
			return rc;
	}
	if (n->unique_items) {
		rc = check_unique(v, inst, at);
		if (rc != 0)
			return rc;
	}
	if (n->contains != NULL) {
		for (i = 0; i < size; i++) {
			p.index = i;
			rc = probe(v, n->contains, json_array_get(inst, i), &p,
				   up);
			if (rc == 0)
				break;
			if (rc != SL_ESCHEMA)
				return rc;
		}
		if (i == size)
			return fail(v, at, "contains",
				    "no item matches the contains schema");
	}
	return 0;
}

static int check_combinators(struct vctx *v, const struct node *n,
			     const json_t *inst, const struct path *at,
			     const struct frame *up)
{
	size_t i, first = 0, matches = 0;
	int rc;

	for (i = 0; i < n->all_of.n; i++) {
		rc = validate(v, n->all_of.v[i], inst, at, up);
		if (rc != 0)
			return rc;
	}
	if (n->any_of.n > 0) {
		for (i = 0; i < n->any_of.n; i++) {
			rc = probe(v, n->any_of.v[i], inst, at, up);
			if (rc == 0)
				break;
			if (rc != SL_ESCHEMA)
				return rc;
		}
		if (i == n->any_of.n)
			return fail(
				v, at, "anyOf",
				"value matches none of the %zu alternatives",
				n->any_of.n);
	}
	if (n->one_of.n > 0) {
		for (i = 0; i < n->one_of.n; i++) {
			rc = probe(v, n->one_of.v[i], inst, at, up);
			if (rc != 0 && rc != SL_ESCHEMA)
				return rc;
			if (rc != 0)
				continue;
			if (matches++ == 0) {
				first = i;
				continue;
			}
			return fail(v, at, "oneOf",
				    "value matches alternatives %zu and %zu, "
				    "exactly one allowed",
				    first, i);
		}
		if (matches == 0)
			return fail(
				v, at, "oneOf",
				"value matches none of the %zu alternatives",
				n->one_of.n);
	}
	if (n->not_s != NULL) {
		rc = probe(v, n->not_s, inst, at, up);
		if (rc == 0)
			return fail(
				v, at, "not",
				"value matches the schema it must not match");
		if (rc != SL_ESCHEMA)
			return rc;
	}
	/* An "if" without "then" or "else" cannot fail: skip the probe. */
	if (n->if_s != NULL && (n->then_s != NULL || n->else_s != NULL)) {
		rc = probe(v, n->if_s, inst, at, up);
		if (rc == 0 && n->then_s != NULL)
			return validate(v, n->then_s, inst, at, up);
		if (rc == SL_ESCHEMA && n->else_s != NULL)
			return validate(v, n->else_s, inst, at, up);
		if (rc != 0 && rc != SL_ESCHEMA)
			return rc;
	}
	return 0;
}

static int validate_node(struct vctx *v, const struct node *n,
			 const json_t *inst, const struct path *at,
			 const struct frame *up)
{
	struct frame fr = {up, n, inst};
	const struct frame *f;
	char want[64];
	size_t i;
	int rc;

	if (n->boolean >= 0)
		return n->boolean ? 0
				  : fail(v, at, "false",
					 "no value is allowed here");
	/* Same node, same value, nested: a loop that can never end. */
	for (f = up; f != NULL && f->inst == inst; f = f->up)
		if (f->node == n)
			return hard(
				v, SL_EINVAL, at, "$ref",
				"schema loops without consuming input at %s",
				n->ref ? n->ref : "a subschema");
	if (n->ref != NULL) {
		if (n->target == NULL)
			return hard(v, SL_EINVAL, at, "$ref",
				    "unresolved $ref \"%s\"", n->ref);
		return validate(v, n->target, inst, at, &fr);
	}
	if (n->types != 0 && !type_ok(n->types, inst)) {
		types_text(n->types, want, sizeof(want));
		return fail(v, at, "type", "expected %s, got %s", want,
			    json_kind(inst));
	}
	if (n->enum_values != NULL) {
		for (i = 0; i < json_array_size(n->enum_values); i++)
			if (json_eq(inst, json_array_get(n->enum_values, i)))
				break;
		if (i == json_array_size(n->enum_values))
			return fail(
				v, at, "enum",
				"value is not one of the %zu allowed values",
				i);
	}
	if (n->const_value != NULL && !json_eq(inst, n->const_value))
		return fail(v, at, "const",
			    "value is not the required constant");
	if (json_is_number(inst))
		rc = check_number(v, n, inst, at);
	else if (json_is_string(inst))
		rc = check_string(v, n, inst, at);
	else if (json_is_object(inst))
		rc = check_object(v, n, inst, at, &fr);
	else if (json_is_array(inst))
		rc = check_array(v, n, inst, at, &fr);
	else
		rc = 0;
	if (rc != 0)
		return rc;
	return check_combinators(v, n, inst, at, &fr);
}

static int validate(struct vctx *v, const struct node *n, const json_t *inst,
		    const struct path *at, const struct frame *up)
{
	int rc;

	if (v->depth >= MAX_DEPTH)
		return hard(v, E_DEPTH, at, "depth",
			    "nested deeper than %d schema levels", MAX_DEPTH);
	v->depth++;
	rc = validate_node(v, n, inst, at, up);
	v->depth--;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public: validation                                                  */

static int find_schema(const schema_set *set, const char *name,
		       const struct node **out)
{
	const char *hash = strchr(name, '#'), *why = NULL;
	const struct resource *r;
	const json_t *j = alias_find(set, name), *target = NULL;
	char *ptr;
	int bad, rc;

	if (j == NULL && (hash == NULL || hash[1] == '\0' || hash[1] != '/')) {
		r = res_find(set, name, strlen(name));
		j = r ? r->json : NULL;
	}
	if (j == NULL && hash != NULL && hash[1] == '/') {
		r = res_find(set, name, (size_t)(hash - name));
		if (r == NULL)
			return SL_ENOTFOUND;
		ptr = percent_decode(hash + 1, &bad);
		if (ptr == NULL)
			return SL_ENOMEM;
		rc = bad ? SL_ENOTFOUND
			 : pointer_walk(r->json, ptr, &target, NULL, &why);
		sl_free(ptr);
		if (rc != 0)
			return rc;
		j = target;
	}
	*out = j ? node_for(set, j) : NULL;
	return *out ? 0 : SL_ENOTFOUND;
}

int schema_validate_ex(const schema_set *set, const char *name,
		       const json_t *instance, schema_failure *fail_out)
{
	struct vctx v = {fail_out, 0, 0};
	const struct node *n = NULL;
	locale_t old;
	int rc;

	if (fail_out != NULL) {
		fail_out->pointer[0] = '\0';
		fail_out->keyword[0] = '\0';
		fail_out->message[0] = '\0';
	}
	if (set == NULL || name == NULL || instance == NULL)
		return hard(&v, SL_EINVAL, NULL, "", "NULL argument");
	rc = find_schema(set, name, &n);
	if (rc == SL_ENOMEM)
		return hard(&v, rc, NULL, "", "out of memory");
	if (rc != 0)
		return hard(&v, SL_ENOTFOUND, NULL, "",
			    "no schema named \"%s\"", name);
	/* Patterns are byte EREs: a UTF-8 LC_CTYPE would break them. */
	old = uselocale(set->c_locale);
	rc = validate(&v, n, instance, NULL, NULL);
	if (old != (locale_t)0)
		uselocale(old);
	return rc == E_DEPTH ? SL_ESCHEMA : rc;
}

int schema_validate(const schema_set *set, const char *name,
		    const json_t *instance, sl_error *err)
{
	schema_failure f;
	int rc = schema_validate_ex(set, name, instance, &f);

	if (rc == SL_ESCHEMA)
		sl_error_set(err, rc, "%s: %s: %s",
			     f.pointer[0] ? f.pointer : "(root)", f.keyword,
			     f.message);
	else if (rc != 0)
		sl_error_set(err, rc, "%s", f.message);
	return rc;
}

schema_set *schema_set_open(const char *dir, sl_error *err)
{
	schema_set *set = schema_set_new();
	if (set == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (schema_set_load_dir(set, dir, err) != 0 ||
	    schema_set_resolve(set, err) != 0) {
		schema_set_free(set);
		return NULL;
	}
	return set;
}
