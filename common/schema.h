/*
 * schema.h - JSON Schema draft-07 validation of jansson values.
 *
 * Every message and file that enters the system is checked once, at the
 * edge, against its contract in schemas/.  A schema_set is a registry of
 * compiled schema documents keyed by URI (their $id, the retrieval URI
 * given to schema_set_add(), and short names such as "status");
 * $ref between documents resolve inside the set, never over a network.
 *
 * Supported: every draft-07 validation keyword except "format",
 * "contentMediaType" and "contentEncoding".  Loading a schema that uses
 * one of those, or any keyword draft-07 does not define, fails with an
 * error naming the keyword and its JSON Pointer in the schema: a contract
 * that silently ignores a rule is worse than one that does not load.
 * "pattern" is ECMA-262, translated to a POSIX ERE; lookaround,
 * backreferences, \b and Unicode property escapes are refused at load.
 *
 * Threads: building a set (new, add, load_dir, resolve) must be done by
 * one thread; after that any number of threads may call schema_validate*
 * on the same set concurrently, since validation never writes to it.
 * Out of memory: every function returns SL_ENOMEM (or NULL) and leaves
 * the set as it was before the call.
 */
#ifndef SL_SCHEMA_H
#define SL_SCHEMA_H

#include <jansson.h>

#include "error.h"

/* Registry of compiled schemas; opaque. */
typedef struct schema_set schema_set;

/* Returns an empty set, or NULL when out of memory. */
schema_set *schema_set_new(void);

/* Frees the set and everything it holds.  NULL is a no-op. */
void schema_set_free(schema_set *set);

/*
 * Off by default.  When `allow` is nonzero, keywords draft-07 does not
 * define are ignored instead of refused (their values can still be $ref
 * targets).  Unsupported keywords ("format", ...) are refused either way.
 * Only for third-party schemas such as the JSON Schema Test Suite, which
 * keeps $ref targets under non-keyword names; our own schemas must load
 * without it.  Applies to documents added after the call.
 */
void schema_set_allow_unknown(schema_set *set, int allow);

/*
 * Adds a schema document.  Does not steal `doc`: the set keeps its own
 * deep copy, so the caller may change or free `doc` afterwards.  `uri` is
 * the retrieval URI (may be NULL): the document is registered under it
 * and under its root $id (resolved against `uri`), and relative $ref are
 * resolved against that base.  Keywords are checked and compiled now, and
 * every $ref that can already be resolved is.
 * Returns 0; SL_EUNSUPPORTED (unsupported keyword) or SL_EINVAL (unknown
 * keyword, malformed value, bad $ref, duplicate URI) with err naming the
 * document, the JSON Pointer in the schema and the keyword; SL_ENOMEM.
 * On failure the set is unchanged.
 */
int schema_set_add(schema_set *set, json_t *doc, const char *uri,
		   sl_error *err);

/*
 * Loads every "*.schema.json" file in `dir`, in sorted order.  Each is
 * registered under its $id, under its file:// URI and under its short
 * name, the file name without ".schema.json" (e.g. "status").  Files are
 * decoded with JSON_REJECT_DUPLICATES.  Stops at the first bad file with
 * err naming it (the files before it stay loaded).  Returns 0, SL_EIO,
 * SL_EINVAL, SL_EUNSUPPORTED or SL_ENOMEM.  Call schema_set_resolve()
 * once all documents are in.
 */
int schema_set_load_dir(schema_set *set, const char *dir, sl_error *err);

/*
 * Call after the last add: checks that every $ref in the set resolves.
 * Returns 0, or SL_EINVAL with err naming the first unresolved $ref and
 * where it is.
 */
int schema_set_resolve(schema_set *set, sl_error *err);

/* The three above in one: every schema of dir, resolved.  NULL with err
 * set; the caller owns the set (schema_set_free). */
schema_set *schema_set_open(const char *dir, sl_error *err);

/* Where and why an instance failed; every string is NUL-terminated. */
typedef struct schema_failure {
	char pointer[256]; /* JSON Pointer into the instance, "" = root */
	char keyword[32];  /* e.g. "minimum"; "false" for a false schema */
	char message[256]; /* e.g. "-1 is less than 0" */
} schema_failure;

/*
 * Validates `instance` against the schema registered as `name`: a short
 * name, a URI, or a URI with a fragment naming a subschema.  Only the
 * first failure found is reported, the most specific one on its path
 * (for anyOf/oneOf/not, the keyword itself at its location).
 * Returns 0 when valid; SL_ESCHEMA when not, with err->text such as
 * "/headcount/total: minimum: -1 is less than 0" ("(root)" for the whole
 * instance), also for an instance nested so deep that validation would
 * pass 256 schema levels (keyword "depth": a guard for small thread
 * stacks); SL_ENOTFOUND for an unknown name; SL_EINVAL when the schema
 * cannot be applied (unresolved $ref, a $ref loop that consumes no
 * input); SL_ENOMEM.  err may be NULL.  Thread-safe for concurrent use.
 */
int schema_validate(const schema_set *set, const char *name,
		    const json_t *instance, sl_error *err);

/*
 * Same as schema_validate(), with the failing instance pointer, keyword
 * and message kept apart.  `fail` may be NULL.  For errors other than
 * SL_ESCHEMA, fail->message says what went wrong.
 */
int schema_validate_ex(const schema_set *set, const char *name,
		       const json_t *instance, schema_failure *fail);

#endif
