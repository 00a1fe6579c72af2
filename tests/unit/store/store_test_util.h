/* tests/unit/store/store_test_util.h: temporary data dirs for the store tests (mkdtemp under
 * /tmp, removed with everything in them) and small raw-SQLite helpers. */
#ifndef AG_STORE_TEST_UTIL_H
#define AG_STORE_TEST_UTIL_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tmpdir {
    char dir[64];
    char db[128];
};

static inline void tmpdir_make(struct tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/aigate-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->db, sizeof(t->db), "%s/aigate.db", t->dir);
}

/* The store writes only flat files (db, -wal, -shm) into the dir. */
static inline void tmpdir_remove(struct tmpdir *t)
{
    DIR *d = opendir(t->dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", t->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    assert_int_equal(rmdir(t->dir), 0);
}

/* Runs a query returning one integer (raw connection, for checks the API does not offer). */
static inline long long raw_int(const char *dbpath, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static inline void raw_exec(const char *dbpath, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

#endif
