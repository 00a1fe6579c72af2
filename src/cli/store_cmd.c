/* cli/store_cmd.c: `aigate store migrate --to postgres URL [--force] [--batch N]` copies the
 * SQLite database of a data directory (<data dir>/aigate.db; the global --data-dir picks it) into
 * PostgreSQL through the store's database layer (store/db.h): every table of the schema but the
 * schema's own bookkeeping (meta), in batches of rows sent as one JSON parameter each, all in one
 * transaction. The target gets the current schema first (ag_store_migrate_db); a target whose
 * tables already hold rows is refused unless --force, which empties them in the same
 * transaction. Row counts are printed per table and compared with the source's before the
 * transaction commits, so a mismatch leaves the target as it was. The SQLite file is read in one
 * snapshot (a gateway may keep running on it; what it writes afterwards is not copied). */
#include "cli/cmd.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/jsonw.h"
#include "core/str.h"
#include "store/db.h"
#include "store/migrate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: aigate [--data-dir DIR] store migrate --to postgres URL [--force] [--batch N]";

#define MIG_MAX_TABLES    64
#define MIG_MAX_COLS      64
#define MIG_NAME_CAP      64
#define MIG_BATCH_DEFAULT 500
#define MIG_BATCH_MAX     10000
/* A batch is sent once it holds this much JSON, whatever its row count (request bodies are big). */
#define MIG_BATCH_BYTES (4u << 20)

/* How a column's values are read from SQLite and written into the JSON of a batch, from the
 * PostgreSQL column's type. */
enum mig_kind { MIG_INT, MIG_BLOB, MIG_TEXT };

struct mig_col {
    char name[MIG_NAME_CAP];
    enum mig_kind kind;
    bool serial; /* an identity (or serial) column: its sequence is moved past the copied ids */
};

struct mig_table {
    char name[MIG_NAME_CAP];
    struct mig_col cols[MIG_MAX_COLS];
    int ncols;
    int64_t src_rows;
    int64_t copied;
};

struct mig {
    struct ag_db *src;
    struct ag_db *dst;
    struct mig_table *tables; /* MIG_MAX_TABLES */
    int ntables;
    int64_t batch;
    char err[2048];
};

/* Table and column names go into SQL text (quoted): only the plain names the schema uses. */
static bool plain_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n < MIG_NAME_CAP && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* The URL for messages: a password (user:password@, or ?password= among its parameters) never
 * shows. */
static void url_for_humans(const char *url, char *out, size_t cap)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - (scheme + 3))) : NULL;
    if (colon)
        snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
    else if (strstr(url, "password"))
        snprintf(out, cap, "the PostgreSQL database of the connection string");
    else
        snprintf(out, cap, "%s", url);
}

/* Runs a query that returns one integer. 0 or AG_EDB (m->err says why). */
static int query_int(struct mig *m, struct ag_db *db, const char *sql, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int rc = AG_EDB;
    if (ag_db_prepare(db, sql, &st) == 0 && ag_db_step(st) == AG_DB_ROW) {
        *out = ag_db_column_int64(st, 0);
        rc = 0;
    } else {
        snprintf(m->err, sizeof(m->err), "%s: %s", sql, ag_db_errmsg(db));
    }
    ag_db_finalize(st);
    return rc;
}

static int count_rows(struct mig *m, struct ag_db *db, const char *table, int64_t *out)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    return query_int(m, db, sql, out);
}

/* The source's tables (all but SQLite's own and meta) and their columns. */
static int list_tables(struct mig *m)
{
    struct ag_db_stmt *st = NULL, *cols = NULL;
    int rc = AG_EDB, step;
    if (ag_db_prepare(m->src,
                      "SELECT name FROM sqlite_master WHERE type = 'table'"
                      " AND name NOT LIKE 'sqlite!_%' ESCAPE '!' AND name <> 'meta' ORDER BY name",
                      &st) != 0 ||
        ag_db_prepare(m->src, "SELECT name FROM pragma_table_info(?) ORDER BY cid", &cols) != 0) {
        snprintf(m->err, sizeof(m->err), "reading the SQLite schema: %s", ag_db_errmsg(m->src));
        goto out;
    }
    while ((step = ag_db_step(st)) == AG_DB_ROW) {
        const char *name = ag_db_column_text(st, 0);
        if (!plain_name(name)) {
            snprintf(m->err, sizeof(m->err), "the SQLite database has a table named \"%s\"",
                     name ? name : "");
            goto out;
        }
        if (m->ntables == MIG_MAX_TABLES) {
            snprintf(m->err, sizeof(m->err), "more than %d tables", MIG_MAX_TABLES);
            goto out;
        }
        struct mig_table *t = &m->tables[m->ntables++];
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", name);
        ag_db_reset(cols);
        if (ag_db_bind_text(cols, 1, t->name) != 0)
            goto out;
        while ((step = ag_db_step(cols)) == AG_DB_ROW) {
            const char *col = ag_db_column_text(cols, 0);
            if (!plain_name(col) || t->ncols == MIG_MAX_COLS) {
                snprintf(m->err, sizeof(m->err), "table %s: column \"%s\" cannot be copied",
                         t->name, col ? col : "");
                goto out;
            }
            snprintf(t->cols[t->ncols++].name, MIG_NAME_CAP, "%s", col);
        }
        if (step != AG_DB_DONE || t->ncols == 0) {
            snprintf(m->err, sizeof(m->err), "reading the columns of %s: %s", t->name,
                     ag_db_errmsg(m->src));
            goto out;
        }
    }
    if (step != AG_DB_DONE) {
        snprintf(m->err, sizeof(m->err), "reading the SQLite schema: %s", ag_db_errmsg(m->src));
        goto out;
    }
    rc = 0;
out:
    ag_db_finalize(cols);
    ag_db_finalize(st);
    return rc;
}

/* Matches each source column with the target's: its type decides how values travel. A source
 * column the target lacks stops the migration (its data would be lost). */
static int target_columns(struct mig *m, struct mig_table *t)
{
    struct ag_db_stmt *st = NULL;
    int rc = AG_EDB, step, found = 0;
    bool seen[MIG_MAX_COLS] = {false};
    if (ag_db_prepare(m->dst,
                      "SELECT column_name, data_type, (is_identity = 'YES' OR"
                      " COALESCE(column_default, '') LIKE 'nextval(%')::int"
                      " FROM information_schema.columns"
                      " WHERE table_schema = current_schema() AND table_name = ?",
                      &st) != 0 ||
        ag_db_bind_text(st, 1, t->name) != 0) {
        snprintf(m->err, sizeof(m->err), "reading the PostgreSQL schema: %s", ag_db_errmsg(m->dst));
        goto out;
    }
    while ((step = ag_db_step(st)) == AG_DB_ROW) {
        const char *name = ag_db_column_text(st, 0);
        const char *type = ag_db_column_text(st, 1);
        for (int i = 0; name && type && i < t->ncols; i++) {
            struct mig_col *c = &t->cols[i];
            if (seen[i] || strcmp(c->name, name) != 0)
                continue;
            seen[i] = true;
            found++;
            if (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
                strcmp(type, "smallint") == 0 || strcmp(type, "boolean") == 0)
                c->kind = MIG_INT;
            else if (strcmp(type, "bytea") == 0)
                c->kind = MIG_BLOB;
            else
                c->kind = MIG_TEXT;
            c->serial = ag_db_column_int64(st, 2) != 0;
        }
    }
    if (step != AG_DB_DONE) {
        snprintf(m->err, sizeof(m->err), "reading the PostgreSQL schema: %s", ag_db_errmsg(m->dst));
        goto out;
    }
    if (found != t->ncols) {
        for (int i = 0; i < t->ncols; i++) {
            if (!seen[i]) {
                snprintf(m->err, sizeof(m->err),
                         "the PostgreSQL schema has no column %s.%s (the SQLite database is from "
                         "another aigate version?)",
                         t->name, t->cols[i].name);
                break;
            }
        }
        goto out;
    }
    rc = 0;
out:
    ag_db_finalize(st);
    return rc;
}

/* "c1", "c2", ... */
static int column_list(struct ag_buf *b, const struct mig_table *t)
{
    int rc = 0;
    for (int i = 0; i < t->ncols && rc == 0; i++)
        rc = ag_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
    return rc;
}

/* One row of the source statement as a JSON object into b. */
static int row_json(struct ag_buf *b, struct ag_db_stmt *st, const struct mig_table *t)
{
    int rc = ag_buf_append_c(b, b->len > 1 ? ",{" : "{");
    for (int i = 0; i < t->ncols && rc == 0; i++) {
        const struct mig_col *c = &t->cols[i];
        rc = ag_jsonw_key(b, c->name);
        if (rc)
            break;
        if (ag_db_column_is_null(st, i)) {
            rc = ag_buf_append_c(b, "null");
        } else if (c->kind == MIG_INT) {
            rc = ag_buf_append_int(b, (long long)ag_db_column_int64(st, i));
        } else if (c->kind == MIG_BLOB) {
            size_t n = 0;
            const void *p = ag_db_column_blob(st, i, &n);
            /* bytea's hex input form, "\x0a1b..." (the backslash escaped for JSON). */
            rc = ag_buf_append_c(b, "\"\\\\x");
            if (rc == 0 && n)
                rc = ag_buf_reserve(b, n * 2 + 1);
            if (rc == 0 && n) {
                ag_hex_encode(b->data + b->len, p, n);
                b->len += n * 2;
            }
            if (rc == 0)
                rc = ag_buf_append_c(b, "\"");
        } else {
            const char *s = ag_db_column_text(st, i);
            rc = ag_jsonw_quote(b, s ? s : "", s ? strlen(s) : 0);
        }
    }
    return rc ? rc : ag_buf_append_c(b, "}");
}

/* Sends the batch in b (a JSON array of n rows) through ins; 0 or AG_EDB. */
static int send_batch(struct mig *m, struct mig_table *t, struct ag_db_stmt *ins, struct ag_buf *b,
                      int64_t n)
{
    if (ag_buf_append_c(b, "]") != 0) {
        snprintf(m->err, sizeof(m->err), "table %s: a batch is over %zu bytes", t->name, b->cap);
        return AG_EDB;
    }
    int rc = ag_db_reset(ins);
    if (rc == 0)
        rc = ag_db_bind_textn(ins, 1, b->data, b->len);
    if (rc == 0 && ag_db_step(ins) != AG_DB_DONE)
        rc = AG_EDB;
    if (rc == 0 && ag_db_changes(m->dst) != n) {
        snprintf(m->err, sizeof(m->err), "table %s: a batch of %lld rows inserted %lld", t->name,
                 (long long)n, (long long)ag_db_changes(m->dst));
        return AG_EDB;
    }
    if (rc) {
        snprintf(m->err, sizeof(m->err), "table %s: inserting rows: %s", t->name,
                 ag_db_errmsg(m->dst));
        return AG_EDB;
    }
    t->copied += n;
    ag_buf_reset(b);
    return ag_buf_append_c(b, "[");
}

/* Copies every row of t, batch by batch, then moves identity sequences past the copied ids. */
static int copy_table(struct mig *m, struct mig_table *t)
{
    struct ag_buf sql, rows;
    struct ag_db_stmt *sel = NULL, *ins = NULL;
    int rc = AG_EDB, step;
    int64_t n = 0;
    ag_buf_init(&sql, AG_BUF_CAP_SHORT);
    ag_buf_init(&rows, AG_BUF_CAP_DOC);

    if (ag_buf_append_c(&sql, "SELECT ") || column_list(&sql, t) ||
        ag_buf_printf(&sql, " FROM \"%s\"", t->name) || ag_db_prepare(m->src, sql.data, &sel)) {
        snprintf(m->err, sizeof(m->err), "table %s: reading: %s", t->name, ag_db_errmsg(m->src));
        goto out;
    }
    ag_buf_reset(&sql);
    if (ag_buf_printf(&sql, "INSERT INTO \"%s\" (", t->name) || column_list(&sql, t) ||
        ag_buf_append_c(&sql, ") SELECT ") || column_list(&sql, t) ||
        ag_buf_printf(&sql, " FROM json_populate_recordset(NULL::\"%s\", ?::json)", t->name) ||
        ag_db_prepare(m->dst, sql.data, &ins)) {
        snprintf(m->err, sizeof(m->err), "table %s: %s", t->name, ag_db_errmsg(m->dst));
        goto out;
    }
    if (ag_buf_append_c(&rows, "["))
        goto out;
    while ((step = ag_db_step(sel)) == AG_DB_ROW) {
        if (row_json(&rows, sel, t) != 0) {
            snprintf(m->err, sizeof(m->err), "table %s: a row is over %zu bytes", t->name,
                     rows.cap);
            goto out;
        }
        if (++n == m->batch || rows.len >= MIG_BATCH_BYTES) {
            if (send_batch(m, t, ins, &rows, n) != 0)
                goto out;
            n = 0;
        }
    }
    if (step != AG_DB_DONE) {
        snprintf(m->err, sizeof(m->err), "table %s: reading: %s", t->name, ag_db_errmsg(m->src));
        goto out;
    }
    if (n > 0 && send_batch(m, t, ins, &rows, n) != 0)
        goto out;
    for (int i = 0; i < t->ncols; i++) {
        const char *c = t->cols[i].name;
        int64_t ignored = 0;
        char q[512];
        if (!t->cols[i].serial)
            continue;
        snprintf(q, sizeof(q),
                 "SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'),"
                 " COALESCE(max(\"%s\"), 0) + 1, false) FROM \"%s\"",
                 t->name, c, c, t->name);
        if (query_int(m, m->dst, q, &ignored) != 0)
            goto out;
    }
    rc = 0;
out:
    ag_db_finalize(ins);
    ag_db_finalize(sel);
    ag_buf_dispose(&rows);
    ag_buf_dispose(&sql);
    return rc;
}

static int open_source(struct mig *m, const struct ag_cli *cli, char *path, size_t cap)
{
    struct ag_config_source src;
    struct ag_buf msg;
    char *dir = NULL;
    struct stat sb;
    int rc = AG_EIO;
    ag_buf_init(&msg, AG_BUF_CAP_SHORT);
    ag_cli_source(cli, &src);
    if (ag_config_data_dir(&src, &dir, &msg) != 0) {
        snprintf(m->err, sizeof(m->err), "%s", msg.data ? msg.data : "no data directory");
        goto out;
    }
    int n = snprintf(path, cap, "%s/aigate.db", dir);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(m->err, sizeof(m->err), "the data directory's path is too long");
        goto out;
    }
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(m->err, sizeof(m->err),
                 "no SQLite database at %.900s (choose the data directory "
                 "with --data-dir DIR)",
                 path);
        goto out;
    }
    if (ag_db_open_sqlite(path, &m->src, m->err, sizeof(m->err)) != 0)
        goto out;
    /* An older file is brought to the current schema first, as the gateway would. */
    if (ag_store_migrate_db(m->src, m->err, sizeof(m->err)) != 0)
        goto out;
    rc = 0;
out:
    free(dir);
    ag_buf_dispose(&msg);
    return rc;
}

/* Reads the target's columns and both sides' row counts of every table; a target holding rows is
 * refused unless force, which empties its tables first. 0 or -1 with m->err. */
static int prepare_target(struct mig *m, const char *shown, bool force)
{
    int rc = -1;
    struct ag_buf busy;
    ag_buf_init(&busy, AG_BUF_CAP_SHORT);
    for (int i = 0; i < m->ntables; i++) {
        struct mig_table *t = &m->tables[i];
        int64_t have = 0;
        if (target_columns(m, t) != 0 || count_rows(m, m->dst, t->name, &have) != 0 ||
            count_rows(m, m->src, t->name, &t->src_rows) != 0)
            goto out;
        if (have > 0)
            ag_buf_printf(&busy, "%s%s (%lld rows)", busy.len ? ", " : "", t->name,
                          (long long)have);
    }
    if (busy.len && !force) {
        snprintf(m->err, sizeof(m->err),
                 "%s already holds data: %s. Nothing was copied; --force replaces it", shown,
                 busy.data);
        goto out;
    }
    if (busy.len)
        printf("emptying the target's tables first (--force): %s\n", busy.data);
    for (int i = 0; force && i < m->ntables; i++) {
        char q[160];
        snprintf(q, sizeof(q), "DELETE FROM \"%s\"", m->tables[i].name);
        if (ag_db_exec(m->dst, q, "migrate: empty the target") != 0) {
            snprintf(m->err, sizeof(m->err), "emptying %s: %s", m->tables[i].name,
                     ag_db_errmsg(m->dst));
            goto out;
        }
    }
    rc = 0;
out:
    ag_buf_dispose(&busy);
    return rc;
}

/* Compares each table's rows in the target with the source's and the copied count; the total in
 * *total. 0 or -1 with m->err. */
static int verify_counts(struct mig *m, int64_t *total)
{
    for (int i = 0; i < m->ntables; i++) {
        struct mig_table *t = &m->tables[i];
        int64_t have = 0;
        if (count_rows(m, m->dst, t->name, &have) != 0)
            return -1;
        if (have != t->src_rows || t->copied != t->src_rows) {
            snprintf(m->err, sizeof(m->err),
                     "table %s: %lld rows in SQLite, %lld copied, %lld in PostgreSQL; nothing "
                     "was committed",
                     t->name, (long long)t->src_rows, (long long)t->copied, (long long)have);
            return -1;
        }
        *total += have;
    }
    return 0;
}

static int migrate(struct mig *m, const struct ag_cli *cli, const char *url, bool force)
{
    char path[1024], shown[512];
    int64_t total = 0;
    bool began = false, snap = false;
    int rc = AG_CLI_EXIT_FAIL;
    url_for_humans(url, shown, sizeof(shown));

    if (open_source(m, cli, path, sizeof(path)) != 0)
        goto out;
    if (ag_db_open_pg(url, &m->dst, m->err, sizeof(m->err)) != 0)
        goto out;
    if (ag_store_migrate_db(m->dst, m->err, sizeof(m->err)) != 0)
        goto out;
    /* One read snapshot of the source for the counts and the rows alike. */
    if (ag_db_exec(m->src, "BEGIN", "migrate: snapshot") != 0) {
        snprintf(m->err, sizeof(m->err), "%.900s: %.900s", path, ag_db_errmsg(m->src));
        goto out;
    }
    snap = true;
    if (list_tables(m) != 0)
        goto out;
    if (ag_db_begin(m->dst, "migrate") != 0) {
        snprintf(m->err, sizeof(m->err), "%s", ag_db_errmsg(m->dst));
        goto out;
    }
    began = true;

    if (prepare_target(m, shown, force) != 0)
        goto out;

    printf("copying %s into %s\n", path, shown);
    for (int i = 0; i < m->ntables; i++) {
        struct mig_table *t = &m->tables[i];
        if (copy_table(m, t) != 0)
            goto out;
        printf("  %-24s %10lld rows\n", t->name, (long long)t->copied);
        fflush(stdout);
    }
    /* The counts in the target, inside the transaction: a mismatch commits nothing. */
    if (verify_counts(m, &total) != 0)
        goto out;
    began = false;
    if (ag_db_commit(m->dst, "migrate") != 0) {
        snprintf(m->err, sizeof(m->err), "commit: %s", ag_db_errmsg(m->dst));
        goto out;
    }
    printf("verified: %d tables, %lld rows in PostgreSQL, as many as in SQLite\n", m->ntables,
           (long long)total);
    printf("to use it: aigate config set store.postgres_url URL (the SQLite file is unchanged)\n");
    rc = AG_CLI_EXIT_OK;
out:
    if (began)
        ag_db_rollback(m->dst);
    if (snap)
        ag_db_rollback(m->src);
    if (rc != AG_CLI_EXIT_OK)
        fprintf(stderr, "aigate: store migrate: %s\n", m->err[0] ? m->err : "failed");
    return rc;
}

int ag_cli_store_cmd(struct ag_cli *cli, int argc, char **argv)
{
    const char *to = NULL, *url = NULL;
    bool force = false;
    uint64_t batch = MIG_BATCH_DEFAULT;
    if (argc < 2 || strcmp(argv[1], "migrate") != 0)
        return ag_cli_usage_error("%s", usage);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            to = argv[++i];
        } else if (strcmp(argv[i], "--force") == 0) {
            force = true;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (ag_str_to_u64(ag_str_c(argv[++i]), MIG_BATCH_MAX, &batch) != 0 || batch == 0)
                return ag_cli_usage_error("--batch takes rows from 1 to %d\n%s", MIG_BATCH_MAX,
                                          usage);
        } else if (argv[i][0] != '-' && !url) {
            url = argv[i];
        } else {
            return ag_cli_usage_error("%s", usage);
        }
    }
    if (!to || strcmp(to, "postgres") != 0)
        return ag_cli_usage_error("store migrate copies into PostgreSQL only: --to postgres\n%s",
                                  usage);
    if (!url || !url[0])
        return ag_cli_usage_error("store migrate needs the PostgreSQL URL\n%s", usage);
    /* The form store.postgres_url takes (a key=value string would hide its password from the
     * redaction of URLs). */
    if (!ag_str_has_prefix_ci(ag_str_c(url), "postgresql://") &&
        !ag_str_has_prefix_ci(ag_str_c(url), "postgres://"))
        return ag_cli_usage_error(
            "store migrate takes a postgresql://user:password@host:port/dbname "
            "URL (as store.postgres_url)\n%s",
            usage);
    struct mig m = {.batch = (int64_t)batch};
    m.tables = calloc(MIG_MAX_TABLES, sizeof(*m.tables));
    if (!m.tables)
        return AG_CLI_EXIT_FAIL;
    int rc = migrate(&m, cli, url, force);
    ag_db_close(m.dst);
    ag_db_close(m.src);
    free(m.tables);
    return rc;
}
