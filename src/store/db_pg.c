/* store/db_pg.c: the PostgreSQL side of the database layer (store/db.h) over libpq.
 *
 * Statements are sent with PQexecParams (the extended protocol's unnamed statement: parse, bind
 * and execute in one round trip, no server-side state to clean up). Parameters go as text, except
 * blobs, which go in binary; the server infers each parameter's type from where it is used.
 * Results come back as text and are read from memory row by row; BYTEA columns are unescaped on
 * first read. Every call blocks the calling thread until the server answers. libpq itself is
 * loaded by the first ag_db_pg_open (store/pq_api.h). */
#include "store/db_pg.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/pq_api.h"
#include "store/store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BYTEA_OID  17
#define MAX_PARAMS 64

struct ag_pg_conn {
    PGconn *conn;
    int64_t changes;
    char err[512];
};

struct ag_pg_stmt {
    struct ag_pg_conn *c;
    char *sql; /* with $N placeholders */
    int nparams;
    char *vals[MAX_PARAMS];
    int lens[MAX_PARAMS];
    int fmts[MAX_PARAMS];
    PGresult *res;
    bool ran;
    int row, nrows, nfields;
    unsigned char **blobs; /* unescaped BYTEA of the current row, by column */
    size_t *bloblens;
};

static void set_err(struct ag_pg_conn *c, const char *msg)
{
    ag_strlcpy(c->err, msg && *msg ? msg : "unknown PostgreSQL error", sizeof(c->err));
    size_t n = strlen(c->err);
    while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = '\0';
}

int ag_db_pg_open(const char *url, struct ag_pg_conn **out, char *err, size_t errcap)
{
    *out = NULL;
    /* A server that accepts and then says nothing (or a dead route) must not hold the caller for
     * ever (the account reload runs on the loop thread): connect_timeout and TCP keepalives by
     * default; the URL's own parameters, expanded after them, override them. */
    static const char *const keys[] = {"connect_timeout",  "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "dbname",          NULL};
    const char *vals[] = {"5", "15", "5", "3", url, NULL};
    const char *why = NULL;
    /* libpq is loaded by the first connection, not at exec (store/pq_api.h). */
    if (ag_pq_api_load(&why) != 0) {
        ag_store_seterr(err, errcap,
                        "cannot connect to PostgreSQL: libpq could not be loaded (%s); install "
                        "it (Debian: libpq5)",
                        why);
        return AG_EIO;
    }
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        ag_store_seterr(err, errcap, "cannot connect to PostgreSQL: out of memory");
        return AG_EIO;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        struct ag_pg_conn tmp = {0};
        set_err(&tmp, PQerrorMessage(conn));
        ag_store_seterr(err, errcap, "cannot connect to PostgreSQL: %s", tmp.err);
        PQfinish(conn);
        return AG_EIO;
    }
    struct ag_pg_conn *c = AG_NEW(struct ag_pg_conn);
    c->conn = conn;
    /* Quiet NOTICEs (IF NOT EXISTS and the like) instead of libpq printing them to stderr. */
    PGresult *r = PQexec(conn, "SET client_min_messages = warning");
    PQclear(r);
    *out = c;
    return 0;
}

void ag_db_pg_close(struct ag_pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->conn);
    free(c);
}

const char *ag_db_pg_errmsg(struct ag_pg_conn *c)
{
    return c->err[0] ? c->err : "not an error";
}

static int result_status(struct ag_pg_conn *c, PGresult *r)
{
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        const char *n = PQcmdTuples(r);
        c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        return 0;
    }
    set_err(c, r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    /* Class 23: integrity constraint violation (unique, not null, check, foreign key). */
    if (state && state[0] == '2' && state[1] == '3')
        return AG_DB_CONSTRAINT;
    return AG_EDB;
}

/* Whether a call that just failed may be sent again on a fresh connection: the server went away
 * (restart, idle timeout, a terminated backend) while no transaction was open, so nothing of the
 * failed call took effect. Reconnects (blocking) and says whether that worked. */
static bool reconnected(struct ag_pg_conn *c, bool was_idle)
{
    if (!was_idle || PQstatus(c->conn) != CONNECTION_BAD)
        return false;
    PQreset(c->conn);
    if (PQstatus(c->conn) != CONNECTION_OK)
        return false;
    ag_log_warn("store: the PostgreSQL connection was lost and is open again");
    PGresult *r = PQexec(c->conn, "SET client_min_messages = warning");
    PQclear(r);
    return true;
}

static bool idle(struct ag_pg_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->conn);
    return t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN;
}

int ag_db_pg_exec(struct ag_pg_conn *c, const char *sql)
{
    bool was_idle = idle(c);
    PGresult *r = PQexec(c->conn, sql);
    int rc = result_status(c, r);
    PQclear(r);
    if (rc && reconnected(c, was_idle)) {
        r = PQexec(c->conn, sql);
        rc = result_status(c, r);
        PQclear(r);
    }
    return rc ? AG_EDB : 0;
}

bool ag_db_pg_in_tx(struct ag_pg_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int64_t ag_db_pg_changes(struct ag_pg_conn *c)
{
    return c->changes;
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int ag_db_pg_translate(const char *sql, char *out, size_t cap)
{
    size_t o = 0;
    int maxn = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        char ch = *p;
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '-' && p[1] == '-') {
            while (*p && *p != '\n') {
                if (o + 1 >= cap)
                    return AG_ETOOBIG;
                out[o++] = *p++;
            }
            p--; /* the loop steps onto the newline (or the end) */
            continue;
        } else if ((ch == 'C' || ch == 'c') && strncasecmp(p, "COLLATE NOCASE", 14) == 0 &&
                   !is_word(p[14]) && (p == sql || !is_word(p[-1]))) {
            /* SQLite's ASCII case folding is the schema's ICU collation here. */
            int w = snprintf(out + o, cap - o, "COLLATE ag_nocase");
            if (w < 0 || (size_t)w >= cap - o)
                return AG_ETOOBIG;
            o += (size_t)w;
            p += 13;
            continue;
        } else if ((ch == 'L' || ch == 'l') && strncasecmp(p, "LIMIT -1", 8) == 0 &&
                   !is_word(p[8]) && (p == sql || !is_word(p[-1]))) {
            /* SQLite's "no limit" (before an OFFSET). */
            int w = snprintf(out + o, cap - o, "LIMIT ALL");
            if (w < 0 || (size_t)w >= cap - o)
                return AG_ETOOBIG;
            o += (size_t)w;
            p += 7;
            continue;
        } else if (ch == '?') {
            int n = 0;
            while (p[1] >= '0' && p[1] <= '9' && n < 10000)
                n = n * 10 + (*++p - '0');
            if (n == 0)
                n = maxn + 1;
            if (n > maxn)
                maxn = n;
            int w = snprintf(out + o, cap - o, "$%d", n);
            if (w < 0 || (size_t)w >= cap - o)
                return AG_ETOOBIG;
            o += (size_t)w;
            continue;
        }
        if (o + 1 >= cap)
            return AG_ETOOBIG;
        out[o++] = ch;
    }
    if (o >= cap)
        return AG_ETOOBIG;
    out[o] = '\0';
    return (int)o;
}

/* The highest $N of translated SQL (the statement's parameter count). */
static int count_params(const char *sql)
{
    int maxn = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            int n = 0;
            while (p[1] >= '0' && p[1] <= '9' && n < 10000)
                n = n * 10 + (*++p - '0');
            if (n > maxn)
                maxn = n;
        }
    }
    return maxn;
}

int ag_db_pg_prepare(struct ag_pg_conn *c, const char *sql, struct ag_pg_stmt **out)
{
    *out = NULL;
    size_t cap = strlen(sql) * 3 + 16;
    char *t = ag_malloc(cap);
    if (ag_db_pg_translate(sql, t, cap) < 0) {
        free(t);
        set_err(c, "statement too long to translate");
        return AG_EDB;
    }
    int n = count_params(t);
    if (n > MAX_PARAMS) {
        free(t);
        set_err(c, "too many parameters");
        return AG_EDB;
    }
    struct ag_pg_stmt *st = AG_NEW(struct ag_pg_stmt);
    st->c = c;
    st->sql = t;
    st->nparams = n;
    *out = st;
    return 0;
}

static void clear_row(struct ag_pg_stmt *st)
{
    if (!st->blobs)
        return;
    for (int i = 0; i < st->nfields; i++) {
        PQfreemem(st->blobs[i]);
        st->blobs[i] = NULL;
    }
}

static void clear_result(struct ag_pg_stmt *st)
{
    clear_row(st);
    free(st->blobs);
    free(st->bloblens);
    st->blobs = NULL;
    st->bloblens = NULL;
    PQclear(st->res);
    st->res = NULL;
    st->ran = false;
    st->row = st->nrows = st->nfields = 0;
}

void ag_db_pg_finalize(struct ag_pg_stmt *st)
{
    if (!st)
        return;
    clear_result(st);
    for (int i = 0; i < MAX_PARAMS; i++)
        free(st->vals[i]);
    free(st->sql);
    free(st);
}

static int param(struct ag_pg_stmt *st, int idx, const void *p, size_t len, int fmt)
{
    if (idx < 1 || idx > st->nparams || len > INT32_MAX) {
        set_err(st->c, "parameter index out of range");
        return AG_EDB;
    }
    free(st->vals[idx - 1]);
    st->vals[idx - 1] = NULL;
    st->lens[idx - 1] = 0;
    st->fmts[idx - 1] = fmt;
    if (p) {
        char *v = ag_malloc(len + 1);
        if (len)
            memcpy(v, p, len);
        v[len] = '\0';
        st->vals[idx - 1] = v;
        st->lens[idx - 1] = (int)len;
    }
    return 0;
}

int ag_db_pg_bind_int64(struct ag_pg_stmt *st, int idx, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    return param(st, idx, buf, (size_t)n, 0);
}

int ag_db_pg_bind_text(struct ag_pg_stmt *st, int idx, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        len = strlen(s);
    return param(st, idx, s, len, 0);
}

int ag_db_pg_bind_blob(struct ag_pg_stmt *st, int idx, const void *p, size_t len)
{
    return param(st, idx, p ? p : "", len, 1);
}

int ag_db_pg_bind_null(struct ag_pg_stmt *st, int idx)
{
    return param(st, idx, NULL, 0, 0);
}

int ag_db_pg_step(struct ag_pg_stmt *st)
{
    if (!st->ran) {
        st->ran = true;
        bool was_idle = idle(st->c);
        st->res = PQexecParams(st->c->conn, st->sql, st->nparams, NULL,
                               (const char *const *)st->vals, st->lens, st->fmts, 0);
        int rc = result_status(st->c, st->res);
        if (rc && reconnected(st->c, was_idle)) {
            PQclear(st->res);
            st->res = PQexecParams(st->c->conn, st->sql, st->nparams, NULL,
                                   (const char *const *)st->vals, st->lens, st->fmts, 0);
            rc = result_status(st->c, st->res);
        }
        if (rc) {
            PQclear(st->res);
            st->res = NULL;
            return rc;
        }
        st->nrows = PQntuples(st->res);
        st->nfields = PQnfields(st->res);
        st->row = 0;
        if (st->nfields > 0) {
            st->blobs = ag_calloc((size_t)st->nfields, sizeof(*st->blobs));
            st->bloblens = ag_calloc((size_t)st->nfields, sizeof(*st->bloblens));
        }
    } else {
        clear_row(st);
        if (st->row < st->nrows)
            st->row++;
    }
    return st->row < st->nrows ? AG_DB_ROW : AG_DB_DONE;
}

int ag_db_pg_reset(struct ag_pg_stmt *st)
{
    clear_result(st);
    return 0;
}

static bool have_cell(struct ag_pg_stmt *st, int col)
{
    return st->res && st->row < st->nrows && col >= 0 && col < st->nfields &&
           !PQgetisnull(st->res, st->row, col);
}

bool ag_db_pg_column_is_null(struct ag_pg_stmt *st, int col)
{
    return !have_cell(st, col);
}

int64_t ag_db_pg_column_int64(struct ag_pg_stmt *st, int col)
{
    if (!have_cell(st, col))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, col);
    if (v[0] == 't' && v[1] == '\0')
        return 1;
    if (v[0] == 'f' && v[1] == '\0')
        return 0;
    return strtoll(v, NULL, 10);
}

const char *ag_db_pg_column_text(struct ag_pg_stmt *st, int col)
{
    if (!have_cell(st, col))
        return NULL;
    return PQgetvalue(st->res, st->row, col);
}

const void *ag_db_pg_column_blob(struct ag_pg_stmt *st, int col, size_t *len)
{
    *len = 0;
    if (!have_cell(st, col))
        return NULL;
    if (PQftype(st->res, col) != BYTEA_OID) {
        *len = (size_t)PQgetlength(st->res, st->row, col);
        return PQgetvalue(st->res, st->row, col);
    }
    if (!st->blobs[col]) {
        size_t n = 0;
        st->blobs[col] =
            PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->row, col), &n);
        if (!st->blobs[col])
            return NULL;
        st->bloblens[col] = n;
    }
    *len = st->bloblens[col];
    return st->blobs[col];
}

int ag_db_open_pg(const char *url, struct ag_db **out, char *err, size_t errcap)
{
    struct ag_pg_conn *c = NULL;
    *out = NULL;
    int rc = ag_db_pg_open(url, &c, err, errcap);
    if (rc)
        return rc;
    struct ag_db *db = AG_NEW(struct ag_db);
    db->kind = AG_DB_PG;
    db->pg = c;
    *out = db;
    return 0;
}
