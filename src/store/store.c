/* store/store.c: opening the database file, connection settings, the account change check, and
 * the helpers the other store files share. */
#include "store/store.h"

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/migrate.h"
#include "store/store_internal.h"

#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Long enough for the CLI and the gateway's writer to take turns on a busy file. */
#define BUSY_TIMEOUT_MS 5000

void ag_store_seterr(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
}

int ag_store_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    int rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
    return rc == SQLITE_OK ? 0 : AG_EDB;
}

int ag_store_exec(sqlite3 *db, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ag_log_error("store: %s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return AG_EDB;
    }
    return 0;
}

static int read_journal_mode(void *arg, int ncol, char **vals, char **names)
{
    char *mode = arg;
    if (ncol > 0 && vals[0])
        ag_strlcpy(mode, vals[0], 16);
    return 0;
}

/* SQLite's default page cache carves each connection's first 20 pages out of one block at open,
 * writing a header into every slot: ~90 KiB resident per connection whether the pages are ever
 * used or not. Without it pages are allocated as they are read, up to the same cache_size.
 * Without memory statistics (never read here), SQLite's allocations take no process-wide mutex:
 * with them the loop's and the writer's connections queued on one lock for every malloc. */
static void sqlite_config_once(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int ag_store_conn_open(const char *path, sqlite3 **out, char *err, size_t errcap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int ret = AG_EDB;
    sqlite3 *db = NULL;
    char *msg = NULL;
    char mode[16] = "";

    *out = NULL;
    pthread_once(&once, sqlite_config_once);
    /* The file is born 0600 (SQLite gives -wal and -shm the same mode). Never open and close a
     * descriptor of an existing database: on Linux closing any descriptor of a file drops every
     * POSIX lock this process holds on it, which would silently break the locks of this process's
     * other connections (the writer thread's, the loop's). */
    struct stat st;
    bool fresh = false; /* an empty file: nothing written yet */
    if (stat(path, &st) == 0) {
        fresh = st.st_size == 0;
        if ((st.st_mode & 0777) != 0600 && chmod(path, 0600) != 0) {
            ag_store_seterr(err, errcap, "cannot set mode 0600 on %s: %s", path, strerror(errno));
            return AG_EIO;
        }
    } else {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            ag_store_seterr(err, errcap, "cannot open %s: %s", path, strerror(errno));
            return AG_EIO;
        }
        if (fd >= 0) {
            if (fchmod(fd, 0600) != 0) {
                ag_store_seterr(err, errcap, "cannot set mode 0600 on %s: %s", path,
                                strerror(errno));
                close(fd);
                return AG_EIO;
            }
            close(fd);
            fresh = true;
        }
    }

    /* NOMUTEX: each connection is used by one thread at a time (documented in store.h). */
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ag_store_seterr(err, errcap, "cannot open database %s: %s", path,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        ret = AG_EIO;
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* A new file is born in incremental vacuum mode, which the disk cap needs to hand space back:
     * free only before its first page is written (WAL writes one); older files are converted by
     * the writer thread (ag_store_vacuum_mode_ensure). */
    if (fresh && sqlite3_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", NULL, NULL, NULL) != SQLITE_OK)
        ag_log_warn("store: %s: cannot set incremental vacuum: %s", path, sqlite3_errmsg(db));
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", read_journal_mode, mode, &msg) != SQLITE_OK) {
        ag_store_seterr(err, errcap, "%s: cannot enable WAL: %s", path,
                        msg ? msg : sqlite3_errmsg(db));
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        ag_store_seterr(err, errcap, "%s: journal mode is \"%s\", WAL refused", path, mode);
        goto out;
    }
    /* journal_size_limit: the write-ahead log is cut back to 4 MiB after each checkpoint instead
     * of keeping the size of the largest transaction it ever held. */
    if (sqlite3_exec(db,
                     "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                     " PRAGMA journal_size_limit=4194304;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        ag_store_seterr(err, errcap, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
        goto out;
    }
    *out = db;
    db = NULL;
    ret = 0;
out:
    sqlite3_free(msg);
    sqlite3_close(db);
    return ret;
}

int ag_store_open(const char *data_dir, struct ag_store **out, char *err, size_t errcap)
{
    int ret;
    struct ag_store *s = NULL;
    char *path = NULL;

    *out = NULL;
    if (!data_dir || !*data_dir) {
        ag_store_seterr(err, errcap, "no data directory given");
        return AG_EINVAL;
    }
    size_t dlen = strlen(data_dir);
    size_t cap = dlen + 1 + sizeof(AG_STORE_FILE);
    path = ag_malloc(cap);
    int n = snprintf(path, cap, "%s/%s", data_dir, AG_STORE_FILE);
    assert(n > 0 && (size_t)n < cap);
    (void)n;

    s = AG_NEW(struct ag_store);
    ret = ag_db_open_sqlite(path, &s->conn, err, errcap);
    if (ret)
        goto out;
    s->db = s->conn->lite;
    ret = ag_store_migrate(s->db, AG_STORE_SCHEMA_VERSION, err, errcap);
    if (ret)
        goto out;
    s->path = path;
    path = NULL;
    *out = s;
    s = NULL;
out:
    free(path);
    ag_store_free(s);
    return ret;
}

int ag_store_open_pg(const char *url, struct ag_store **out, char *err, size_t errcap)
{
    int ret;
    struct ag_store *s = NULL;

    *out = NULL;
    if (!url || !*url) {
        ag_store_seterr(err, errcap, "no PostgreSQL URL given");
        return AG_EINVAL;
    }
    s = AG_NEW(struct ag_store);
    s->pg = true;
    s->path = ag_strdup(url);
    ret = ag_db_open_pg(url, &s->conn, err, errcap);
    if (ret)
        goto out;
    ret = ag_store_migrate_db(s->conn, err, errcap);
    if (ret)
        goto out;
    *out = s;
    s = NULL;
out:
    ag_store_free(s);
    return ret;
}

int ag_store_open_with(const char *data_dir, const char *postgres_url, struct ag_store **out,
                       char *err, size_t errcap)
{
    if (postgres_url && *postgres_url)
        return ag_store_open_pg(postgres_url, out, err, errcap);
    return ag_store_open(data_dir, out, err, errcap);
}

int ag_store_conn_again(const struct ag_store *s, struct ag_db **out, char *err, size_t errcap)
{
    return s->pg ? ag_db_open_pg(s->path, out, err, errcap)
                 : ag_db_open_sqlite(s->path, out, err, errcap);
}

bool ag_store_is_pg(const struct ag_store *s)
{
    return s->pg;
}

void ag_store_free(struct ag_store *s)
{
    if (!s)
        return;
    ag_db_close(s->conn);
    free(s->path);
    free(s);
}

const char *ag_store_path(const struct ag_store *s)
{
    return s->path;
}

int ag_store_schema_version(struct ag_store *s, int *out)
{
    return ag_store_migrate_version_db(s->conn, out);
}

static int read_int64(struct ag_db *db, const char *sql, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db, sql, &st))
        goto out;
    if (ag_db_step(st) != AG_DB_ROW)
        goto out;
    *out = ag_db_column_int64(st, 0);
    ret = 0;
out:
    if (ret)
        ag_log_error("store: %s: %s", sql, ag_db_errmsg(db));
    ag_db_finalize(st);
    return ret;
}

int ag_store_accounts_changed(struct ag_store *s, uint64_t *since)
{
    int64_t dv = 0, counter;
    /* PostgreSQL has no cheap "did anyone write" signal: the counter row is read every time (one
     * primary-key lookup, a round trip on the loop thread). */
    if (!s->pg && read_int64(s->conn, "PRAGMA data_version", &dv))
        return AG_EDB;
    /* data_version moves only when another connection commits; our own writes set own_write. */
    if (s->pg || !s->counter_ok || dv != s->data_ver || s->own_write) {
        if (read_int64(s->conn, "SELECT value FROM meta WHERE key = 'accounts_version'", &counter))
            return AG_EDB;
        s->counter = (uint64_t)counter;
        s->data_ver = dv;
        s->counter_ok = true;
        s->own_write = false;
    }
    if (s->counter == *since)
        return 0;
    *since = s->counter;
    return 1;
}
