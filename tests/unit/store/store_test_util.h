/* tests/unit/store/store_test_util.h: temporary data dirs for the store tests (mkdtemp under
 * /tmp, removed with everything in them) and small raw-SQL helpers.
 *
 * PostgreSQL: when AIGATE_TEST_PG_URL is set (ctest's *.pg entries run the suites through
 * aigate-test-pgrun), every temporary dir also gets its own empty database on that server, named
 * after the dir, and ag_store_open(dir) in the suites opens that database instead of the file
 * (the macro below); raw_int / raw_exec run their SQL there. Cases that check the SQLite file
 * itself (its mode, PRAGMAs, migrations from older files) start with SQLITE_ONLY(). */
#ifndef AG_STORE_TEST_UTIL_H
#define AG_STORE_TEST_UTIL_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/store.h"

/* The PostgreSQL server the suites run against, or NULL: SQLite. */
static inline const char *pg_test_url(void)
{
    const char *u = getenv("AIGATE_TEST_PG_URL");
    return u && *u ? u : NULL;
}

/* Skips the running case on PostgreSQL (it checks something only the SQLite file has). */
#define SQLITE_ONLY()                                                                              \
    do {                                                                                           \
        if (pg_test_url())                                                                         \
            skip();                                                                                \
    } while (0)

/* Skips the running case on SQLite (it checks what only the PostgreSQL backend does). */
#define PG_ONLY()                                                                                  \
    do {                                                                                           \
        if (!pg_test_url())                                                                        \
            skip();                                                                                \
    } while (0)

/* The URL of the database of data dir `dir` (its last path component names it). */
static inline void pg_url_for(const char *dir, char *out, size_t cap)
{
    const char *base = pg_test_url();
    const char *name = strrchr(dir, '/');
    name = name ? name + 1 : dir;
    const char *scheme = strstr(base, "://");
    const char *slash = strchr(scheme ? scheme + 3 : base, '/');
    const char *query = strchr(base, '?');
    int host_len = slash ? (int)(slash - base) : (int)strlen(base);
    snprintf(out, cap, "%.*s/%s%s", host_len, base, name, query ? query : "");
}

/* Runs sql on database url (assert on failure). */
static inline void pg_exec_at(const char *url, const char *sql)
{
    struct ag_db *db = NULL;
    char err[256];
    assert_int_equal(ag_db_open_pg(url, &db, err, sizeof(err)), 0);
    assert_int_equal(ag_db_exec(db, sql, "test"), 0);
    ag_db_close(db);
}

/* Creates (create) or drops the database of dir on the test server. */
static inline void pg_dir_db(const char *dir, bool create)
{
    const char *name = strrchr(dir, '/');
    char sql[160];
    name = name ? name + 1 : dir;
    if (create)
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
    else
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    pg_exec_at(pg_test_url(), sql);
    if (create) {
        /* Raw checks written for SQLite measure bytes with CAST(x AS BLOB). */
        char url[512];
        pg_url_for(dir, url, sizeof(url));
        pg_exec_at(url, "CREATE DOMAIN blob AS bytea");
    }
}

/* ag_store_open for the suites: the dir's database on PostgreSQL when the tests run there. */
static inline int test_store_open(const char *dir, struct ag_store **out, char *err, size_t cap)
{
    if (!pg_test_url())
        return ag_store_open(dir, out, err, cap);
    char url[512];
    pg_url_for(dir, url, sizeof(url));
    return ag_store_open_pg(url, out, err, cap);
}
#define ag_store_open test_store_open

struct tmpdir {
    char dir[64];
    char db[128];
};

static inline void tmpdir_make(struct tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/aigate-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->db, sizeof(t->db), "%s/aigate.db", t->dir);
    if (pg_test_url())
        pg_dir_db(t->dir, true);
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
    if (pg_test_url())
        pg_dir_db(t->dir, false);
}

/* Runs a query returning one integer (raw connection, for checks the API does not offer). */
static inline long long raw_int(const char *dbpath, const char *sql)
{
    if (pg_test_url()) {
        char dir[256], url[512];
        snprintf(dir, sizeof(dir), "%s", dbpath);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        pg_url_for(dir, url, sizeof(url));
        struct ag_db *pdb = NULL;
        struct ag_db_stmt *pst = NULL;
        char err[256];
        assert_int_equal(ag_db_open_pg(url, &pdb, err, sizeof(err)), 0);
        assert_int_equal(ag_db_prepare(pdb, sql, &pst), 0);
        assert_int_equal(ag_db_step(pst), AG_DB_ROW);
        long long pv = ag_db_column_int64(pst, 0);
        ag_db_finalize(pst);
        ag_db_close(pdb);
        return pv;
    }
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
    if (pg_test_url()) {
        char dir[256], url[512];
        snprintf(dir, sizeof(dir), "%s", dbpath);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        pg_url_for(dir, url, sizeof(url));
        pg_exec_at(url, sql);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

#endif
