/*
 * conf.h - table-driven configuration files of `key = value` lines.
 *
 * Each program describes its keys once, in a table of conf_option: name,
 * type, default, bounds and help.  The same table loads and checks a file,
 * prints --help and prints the effective configuration with secrets
 * masked.  Values land in the program's own struct at `offset`.
 *
 * File syntax: one `key = value` per line; blank lines and lines whose
 * first non-blank character is '#' are ignored.  The value is the rest of
 * the line with surrounding blanks removed (no inline comments, so '#'
 * may appear in passwords).  Each key at most once.
 */
#ifndef SL_CONF_H
#define SL_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

enum conf_type {
	CONF_STRING, /* char *, heap copy owned by the struct (conf_free) */
	CONF_INT,    /* long long, within [min, max] */
	CONF_BOOL,   /* int, from yes/no/true/false/1/0/on/off */
};

enum conf_flags {
	CONF_REQUIRED = 1 << 0, /* must be set by the file */
	CONF_SECRET = 1 << 1,   /* never printed */
};

struct conf_option {
	const char *name;
	enum conf_type type;
	const char *def; /* default as text; NULL: none */
	long long min, max; /* CONF_INT: bounds; CONF_STRING: max length */
	unsigned flags;
	size_t offset;   /* where the value lives in the program's struct */
	const char *help;
};

/* Keys every program shares; embed as a member and list
 * CONF_COMMON_OPTIONS(your_struct, member) in the program's table. */
struct conf_common {
	char *broker;       /* MQTT URIs, comma-separated */
	char *database;     /* SQLite path */
	char *municipality; /* 全国地方公共団体コード, 6 digits */
	char *schemas;      /* directory of *.schema.json */
	char *items;        /* item catalogue (items.json) */
	char *log_level;
	char *username;
	char *password;
	char *ca_file, *cert_file, *key_file;
	long long mqtt_version;
};

#define CONF_COMMON_OPTIONS(type, m)                                          \
	{ "broker", CONF_STRING, "tcp://127.0.0.1:1883", 0, 2048, 0,          \
	  offsetof(type, m.broker),                                           \
	  "MQTT broker URIs, comma-separated, tried in turn" },               \
	{ "database", CONF_STRING, NULL, 0, 4096, CONF_REQUIRED,              \
	  offsetof(type, m.database), "SQLite database file" },               \
	{ "municipality", CONF_STRING, NULL, 0, 6, CONF_REQUIRED,             \
	  offsetof(type, m.municipality),                                     \
	  "municipality code (6 digits, e.g. 172022)" },                      \
	{ "schemas", CONF_STRING, SL_SCHEMA_DIR, 0, 4096, 0,                  \
	  offsetof(type, m.schemas), "directory of the JSON Schemas" },       \
	{ "items", CONF_STRING, SL_DATA_DIR "/items.json", 0, 4096, 0,        \
	  offsetof(type, m.items), "item catalogue file" },                   \
	{ "log_level", CONF_STRING, "info", 0, 8, 0,                          \
	  offsetof(type, m.log_level), "error, warn, info or debug" },        \
	{ "username", CONF_STRING, NULL, 0, 256, 0,                           \
	  offsetof(type, m.username), "MQTT user name" },                     \
	{ "password", CONF_STRING, NULL, 0, 256, CONF_SECRET,                 \
	  offsetof(type, m.password), "MQTT password (never logged)" },       \
	{ "ca_file", CONF_STRING, NULL, 0, 4096, 0,                           \
	  offsetof(type, m.ca_file),                                          \
	  "CA certificates (PEM): TLS, server name verified; use ssl:// URIs" }, \
	{ "cert_file", CONF_STRING, NULL, 0, 4096, 0,                         \
	  offsetof(type, m.cert_file), "client certificate (PEM) for TLS" },  \
	{ "key_file", CONF_STRING, NULL, 0, 4096, 0,                          \
	  offsetof(type, m.key_file), "client private key (PEM) for TLS" },   \
	{ "mqtt_version", CONF_INT, "5", 4, 5, 0,                             \
	  offsetof(type, m.mqtt_version), "5 for MQTT 5, 4 for MQTT 3.1.1" }

/* What every program's main() shares: options -c FILE, -n, -h. */
struct conf_program {
	const char *name;         /* for messages, e.g. "hq" */
	const char *default_path; /* when -c is not given */
	const struct conf_option *table;
	size_t n;
	void (*usage)(FILE *out);
	/* Checks what the table cannot; may be NULL. */
	int (*check)(const void *cfg, const char *path, sl_error *err);
};

/*
 * Parses the common options, loads and checks the configuration into
 * cfg.  Returns -1 when main should go on with the command at
 * argv[*cmd_index]; otherwise the exit status main should return (0
 * after -h or a successful -n, 1 for a bad configuration, 2 for a usage
 * error), having printed why and freed cfg.
 */
int conf_main(const struct conf_program *p, int argc, char **argv, void *cfg,
	      int *cmd_index);

/* Validates and applies the shared keys that need more than the table
 * (log_level).  For a program's check function. */
int conf_common_apply(const struct conf_common *c, const char *path,
		      sl_error *err);

/* Sets every option with a default and zeroes the others. */
int conf_defaults(const struct conf_option *table, size_t n, void *dst,
		  sl_error *err);

/*
 * Applies defaults, then reads `path`.  On failure err says
 * "PATH:LINE: key 'x': rule broken" and dst holds only defaults
 * (call conf_free either way).
 */
int conf_load(const struct conf_option *table, size_t n, void *dst,
	      const char *path, sl_error *err);

/* Sets one option from text (for command-line overrides). */
int conf_set(const struct conf_option *table, size_t n, void *dst,
	     const char *key, const char *value, sl_error *err);

/* Frees the strings conf_load/conf_set put in dst. */
void conf_free(const struct conf_option *table, size_t n, void *dst);

/* Prints each key with type, default, bounds and help. */
void conf_help(const struct conf_option *table, size_t n, FILE *out);

/* Prints the effective values, secrets as "(set)". */
void conf_dump(const struct conf_option *table, size_t n, const void *src,
	       FILE *out);

#endif
