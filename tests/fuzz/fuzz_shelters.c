/*
 * libFuzzer harness for `hq import-shelters`: decoding, layout detection,
 * every cell rule (ids, municipality codes, positions, flags, free-text
 * capacities) and the upsert into a real registry, with and without
 * skip_bad; and the capacity and municipality parsers on the raw input.
 * Checks that an import writes nothing unless it succeeds, and that
 * every error text is terminated.
 * Build: make build-fuzz/fuzz_shelters; run:
 * build-fuzz/fuzz_shelters tests/fuzz/corpus/shelters
 *
 * The corpus's opendata-nanao, -quoted-break and -cp932-crlf files are
 * rows of data/nanao-2024/reference_data.csv: 「令和6年能登半島地震 石川県
 * 七尾市避難所開設情報GISデータ」 (raokiey), from 「指定緊急避難所一覧」(石川県)
 * and 「10_指定緊急避難所施設一覧」(七尾市), CC BY 4.0.  The others are
 * synthetic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "hq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hq_store *st;

static long long registry_rows(void)
{
	sqlite3_stmt *s;
	long long n = -1;
	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM registry",
			       -1, &s, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void terminated(const sl_error *err)
{
	if (memchr(err->text, '\0', sizeof(err->text)) == NULL)
		abort();
}

static void count_bad(const sl_error *why, void *arg)
{
	terminated(why);
	(*(long long *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shelterimport_result res;
	long long bad = 0;
	struct shelterimport_opts o = { "172022", 0, 1700000000, count_bad,
					&bad };
	sl_error err;

	if (st == NULL && (st = store_open(":memory:", &err)) == NULL)
		abort();
	if (sqlite3_exec(store_db(st), "DELETE FROM registry", NULL, NULL,
			 NULL) != SQLITE_OK)
		abort();
	for (o.skip_bad = 0; o.skip_bad <= 1; o.skip_bad++) {
		memset(&err, 0, sizeof(err));
		bad = 0;
		long long before = registry_rows();
		int rc = shelterimport_data(st, "fuzz.csv", data, size, &o, &res,
					    &err);
		terminated(&err);
		long long after = registry_rows();
		/* all or nothing; a success adds exactly what it counted */
		if (rc != 0 && (after != before || res.added || res.updated))
			abort();
		if (rc == 0 && after != before + res.added)
			abort();
		if (bad != res.skipped || (rc == 0 && !o.skip_bad && bad))
			abort();
	}

	char text[256], code[7];
	long long in, out;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	if (shelterimport_capacity(text, &in, &out, &err) == 0 &&
	    (in < -1 || out < -1))
		abort();
	if (shelterimport_municipality(text, text, code, &err) == 0 &&
	    strlen(code) != 6)
		abort();
	return 0;
}
