/*
 * hq_testdb.h - a fresh HQ database for one unit test: created at
 * /tmp/sl-NAME.PID.db (migrated by store_open), and removed with its WAL
 * and shared-memory files afterwards.  Include after <cmocka.h> and
 * "hq.h"; the path lives in the caller's buffer.
 */
#ifndef HQ_TESTDB_H
#define HQ_TESTDB_H

#include <stdio.h>
#include <unistd.h>

static hq_store *testdb_open(char *path, size_t size, const char *name)
{
	sl_error err;
	snprintf(path, size, "/tmp/sl-%s.%d.db", name, (int)getpid());
	remove(path);
	hq_store *st = store_open(path, &err);
	if (st == NULL)
		fail_msg("%s", err.text);
	return st;
}

static void testdb_close(hq_store *st, const char *path)
{
	char side[4200];
	store_close(st);
	remove(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	remove(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	remove(side);
}

#endif
