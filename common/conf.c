/*
 * conf.c - see conf.h.  Parsing is strict: unknown keys, repeated keys,
 * numbers with trailing junk or out of bounds are errors naming the file
 * and line, because a daemon silently running on a typo'd key during a
 * disaster is worse than one that refuses to start.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

#define CONF_LINE_MAX 4096

static void *field(void *dst, const struct conf_option *o)
{
	return (char *)dst + o->offset;
}

static const struct conf_option *find(const struct conf_option *table,
				      size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

static int parse_int(const char *s, long long min, long long max,
		     long long *out, sl_error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE)
		return sl_error_set(err, SL_EINVAL, "'%s' is not an integer", s);
	if (v < min || v > max)
		return sl_error_set(err, SL_EINVAL,
				    "%lld is outside %lld..%lld", v, min, max);
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out, sl_error *err)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return sl_error_set(err, SL_EINVAL, "'%s' is not yes or no", s);
}

static int assign(const struct conf_option *o, void *dst, const char *value,
		  sl_error *err)
{
	switch (o->type) {
	case CONF_STRING: {
		size_t len = strlen(value);
		if (o->max > 0 && (long long)len > o->max)
			return sl_error_set(err, SL_EINVAL,
					    "value longer than %lld bytes",
					    o->max);
		if ((o->flags & CONF_REQUIRED) && len == 0)
			return sl_error_set(err, SL_EINVAL, "value is empty");
		char *copy = strdup(value);
		if (copy == NULL)
			return sl_error_set(err, SL_ENOMEM, "out of memory");
		char **slot = field(dst, o);
		free(*slot);
		*slot = copy;
		return 0;
	}
	case CONF_INT:
		return parse_int(value, o->min, o->max, field(dst, o), err);
	case CONF_BOOL:
		return parse_bool(value, field(dst, o), err);
	}
	return sl_error_set(err, SL_EINVAL, "bad option type");
}

int conf_defaults(const struct conf_option *table, size_t n, void *dst,
		  sl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		switch (o->type) {
		case CONF_STRING:
			*(char **)field(dst, o) = NULL;
			break;
		case CONF_INT:
			*(long long *)field(dst, o) = 0;
			break;
		case CONF_BOOL:
			*(int *)field(dst, o) = 0;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (table[i].def == NULL)
			continue;
		int rc = assign(&table[i], dst, table[i].def, err);
		if (rc != 0) {
			sl_error_prefix(err, "default of '%s'", table[i].name);
			return rc;
		}
	}
	return 0;
}

int conf_set(const struct conf_option *table, size_t n, void *dst,
	     const char *key, const char *value, sl_error *err)
{
	const struct conf_option *o = find(table, n, key);
	if (o == NULL)
		return sl_error_set(err, SL_EINVAL, "unknown key '%s'", key);
	int rc = assign(o, dst, value, err);
	if (rc != 0)
		sl_error_prefix(err, "key '%s'", key);
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int load_lines(const struct conf_option *table, size_t n, void *dst,
		      const char *path, FILE *f, unsigned char *seen,
		      sl_error *err)
{
	char line[CONF_LINE_MAX];
	int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f))
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: line longer than %d bytes",
					    path, lineno, CONF_LINE_MAX - 2);
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL)
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: expected 'key = value'",
					    path, lineno);
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		const struct conf_option *o = find(table, n, key);
		if (o == NULL)
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: unknown key '%s'", path,
					    lineno, key);
		size_t idx = (size_t)(o - table);
		if (seen[idx])
			return sl_error_set(err, SL_EINVAL,
					    "%s:%d: key '%s' set twice", path,
					    lineno, key);
		seen[idx] = 1;
		int rc = assign(o, dst, value, err);
		if (rc != 0) {
			sl_error_prefix(err, "%s:%d: key '%s'", path, lineno, key);
			return rc;
		}
	}
	if (ferror(f))
		return sl_error_set(err, SL_EIO, "%s: read error", path);
	for (size_t i = 0; i < n; i++)
		if ((table[i].flags & CONF_REQUIRED) && !seen[i])
			return sl_error_set(err, SL_EINVAL,
					    "%s: required key '%s' is missing",
					    path, table[i].name);
	return 0;
}

int conf_load(const struct conf_option *table, size_t n, void *dst,
	      const char *path, sl_error *err)
{
	int rc = conf_defaults(table, n, dst, err);
	if (rc != 0)
		return rc;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return sl_error_set(err, SL_EIO, "%s: %s", path, strerror(errno));
	unsigned char *seen = calloc(n ? n : 1, 1);
	if (seen == NULL) {
		fclose(f);
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	rc = load_lines(table, n, dst, path, f, seen, err);
	free(seen);
	fclose(f);
	return rc;
}

void conf_free(const struct conf_option *table, size_t n, void *dst)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].type != CONF_STRING)
			continue;
		char **slot = field(dst, &table[i]);
		free(*slot);
		*slot = NULL;
	}
}

static const char *type_name(enum conf_type t)
{
	return t == CONF_INT ? "integer" : t == CONF_BOOL ? "yes/no" : "text";
}

void conf_help(const struct conf_option *table, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		fprintf(out, "  %-16s %-8s %s", o->name, type_name(o->type),
			o->help);
		if (o->flags & CONF_REQUIRED)
			fprintf(out, " (required)");
		else if (o->def)
			fprintf(out, " (default: %s)", o->def);
		if (o->type == CONF_INT)
			fprintf(out, " [%lld..%lld]", o->min, o->max);
		fputc('\n', out);
	}
}

void conf_dump(const struct conf_option *table, size_t n, const void *src,
	       FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		const void *p = (const char *)src + o->offset;
		fprintf(out, "%s = ", o->name);
		if (o->type == CONF_INT)
			fprintf(out, "%lld\n", *(const long long *)p);
		else if (o->type == CONF_BOOL)
			fprintf(out, "%s\n", *(const int *)p ? "yes" : "no");
		else if (*(char *const *)p == NULL)
			fprintf(out, "\n");
		else if (o->flags & CONF_SECRET)
			fprintf(out, "(set)\n");
		else
			fprintf(out, "%s\n", *(char *const *)p);
	}
}

int conf_common_apply(const struct conf_common *c, const char *path,
		      sl_error *err)
{
	enum log_level lvl;
	if (log_level_parse(c->log_level, &lvl) != 0)
		return sl_error_set(err, SL_EINVAL,
				    "%s: log_level '%s' is not error, warn, "
				    "info or debug",
				    path, c->log_level);
	log_set_level(lvl);
	return 0;
}

int conf_main(const struct conf_program *p, int argc, char **argv, void *cfg,
	      int *cmd_index)
{
	const char *path = p->default_path;
	int check_only = 0, opt;
	sl_error err;

	/* Loaded first so conf_free is always safe, whatever happens. */
	conf_defaults(p->table, p->n, cfg, NULL);
	optind = 1;
	while ((opt = getopt(argc, argv, "+c:nh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'h':
			p->usage(stdout);
			conf_free(p->table, p->n, cfg);
			return 0;
		default:
			p->usage(stderr);
			conf_free(p->table, p->n, cfg);
			return 2;
		}
	}
	if (!check_only && optind >= argc) {
		p->usage(stderr);
		conf_free(p->table, p->n, cfg);
		return 2;
	}
	conf_free(p->table, p->n, cfg);
	if (conf_load(p->table, p->n, cfg, path, &err) != 0 ||
	    (p->check && p->check(cfg, path, &err) != 0)) {
		fprintf(stderr, "%s: %s\n", p->name, err.text);
		conf_free(p->table, p->n, cfg);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		conf_free(p->table, p->n, cfg);
		return 0;
	}
	*cmd_index = optind;
	return -1;
}
