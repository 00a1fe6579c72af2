/* store/writer.c: the writer thread and its bounded job queue (see writer.h).
 *
 * Shape: a ring of job pointers under one mutex. Producers copy their data into a job (one
 * allocation for the job and its strings), take the mutex, append or drop, and signal only when the
 * writer may be waiting for them (the queue was empty, or batch_max jobs now wait). The thread
 * takes up to batch_max jobs under the mutex, releases it, writes them in one transaction, then
 * reports progress (for ag_writer_flush) under the mutex again.
 *
 * Batching: a commit costs a WAL append, its locks and a few pwrite()s whatever its size, so one
 * per request made the writer a quarter of the gateway's CPU under load. The thread starts a
 * transaction only when batch_delay_ms passed since the previous one, batch_max jobs wait, a flush
 * waits, or the writer stops; otherwise it sleeps until that deadline. A lone job after a quiet
 * spell therefore goes out at once, and a busy gateway commits about 20 times a second.
 *
 * Inside a batch, the increments that add to the same row (token statistics of one hour, account,
 * model and protocol; one key's usage in one hour; an account's last use) are summed first and
 * written once: under load most of a batch's records fall on a handful of such rows. The disk cap
 * is checked when the rows written since its last check could have reached it (an upper bound of
 * their size against the room it left), or after CAP_CHECK_MAX_S, not after every batch. */
#include "store/writer.h"

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "store/accounts.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_QUEUE_CAPACITY  4096
#define DEFAULT_BATCH_MAX       256
#define DEFAULT_BATCH_DELAY_MS  50
#define DEFAULT_BODY_CAP        (64 * 1024)
#define DEFAULT_LOG_DAYS        30
#define DEFAULT_LOG_ROWS        100000
#define DEFAULT_STATS_DAYS      400
#define DEFAULT_RETENTION_EVERY 3600
#define DEFAULT_MAX_DISK_BYTES  (INT64_C(1024) << 20)
#define MERGE_ROWS              32   /* distinct rows summed per batch; more are written alone */
#define FIRST_RETENTION_MS      2000 /* after start: the first retention and disk-cap pass */
#define CAP_CHECK_MAX_S         10   /* the disk cap is checked at least this often while writing */
#define CAP_JOB_PAGES           8    /* per job in the bound of what it adds: pages it may split */
#define ROW_CHUNKS              4    /* multi-row inserts of 2, 4, 8 and 16 rows */
_Static_assert(2 << (ROW_CHUNKS - 1) == AG_LOG_INSERT_ROWS_MAX, "the largest chunk is the most");

enum job_kind {
    JOB_REQUEST,
    JOB_TOKENS,
    JOB_TOUCH,
    JOB_RECORD,         /* a request_log row and the token-statistics increment derived from it */
    JOB_THINKING_PUT,   /* upsert one thinking row, then trim the table to its bounds */
    JOB_THINKING_CLEAR, /* delete every thinking row */
    JOB_SESSION_PUT,    /* insert one admin session row, then trim the table */
    JOB_SESSION_DELETE, /* delete one admin session row */
    JOB_SESSIONS_CLEAR, /* delete every admin session row */
};

struct job {
    enum job_kind kind;
    union {
        struct ag_request_record req;
        struct ag_token_delta tok;
        struct {
            const char *id;
            int64_t when_s;
        } touch;
        struct {
            struct ag_thinking_row row;
            int64_t ttl_ms, max_rows, max_bytes;
        } think;
        struct {
            struct ag_session_row row;
            int64_t max_rows;
        } sess;
    } u;
    struct ag_token_delta rec_tok; /* JOB_RECORD: derived from u.req, pointing into its strings */
    struct ag_key_usage_delta rec_key; /* JOB_RECORD: the same for the user key, if any */
    char *strings; /* owned: the strings a thinking put points to (the others' follow the job) */
    size_t bytes;  /* the job and its strings (bound of what it adds) */
    /* In a batch: the result, and the job whose summed increment (token statistics, key usage,
     * last use) carries this one's (itself when it writes its own; NULL: none). */
    int rc;
    struct job *sum_tok, *sum_key, *sum_touch;
};

struct ag_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* jobs arrived, pause lifted, or stop */
    pthread_cond_t idle; /* jobs finished (flush waits on it) */
    struct job **ring;
    size_t cap, head, count;
    bool stopping, paused;
    int flushers;  /* threads inside ag_writer_flush: write without waiting for the delay */
    uint64_t done; /* accepted jobs that were processed, written or failed */
    struct ag_writer_stats st;

    /* Fixed after ag_writer_new. */
    size_t batch_max, body_cap;
    int batch_delay_ms; /* 0 = none */
    struct ag_retention retention;
    int retention_interval_s;
    int64_t max_disk_bytes; /* 0 = no cap */

    /* Only the thread touches these. */
    struct timespec next_commit; /* earliest start of the next transaction below batch_max */
    struct ag_db *db;
    struct ag_db_stmt *ins_request, *add_tokens, *touch, *add_key_usage, *touch_key;
    struct ag_db_stmt *ins_rows[ROW_CHUNKS]; /* [k]: a statement inserting 2 << k rows */
    struct ag_db_stmt *begin, *commit;
    int64_t cap_room;               /* bytes the disk cap left at its last check, less since */
    struct timespec next_cap_check; /* the cap is checked by then in any case */
};

/* ---- jobs ---- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->strings);
    free(j);
}

/* Bytes of a body kept under cap, backed up to a UTF-8 character boundary when cut. */
static size_t body_keep(struct ag_str body, size_t cap)
{
    if (!body.p || cap == 0)
        return 0;
    size_t n = body.len < cap ? body.len : cap;
    if (n < body.len) {
        while (n > 0 && ((unsigned char)body.p[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

#define PACK_FIELDS_MAX 12 /* strings a job points to at most (a request record's) */

/* A zeroed job with the n strings behind the pointers *fields[i] and the nb bodies (each kept
 * under body_cap) copied after it in the same allocation, and the pointers repointed there:
 * one allocation, each length measured once. */
static struct job *job_packed(const char **fields[], size_t n, struct ag_str *bodies[], size_t nb,
                              size_t body_cap)
{
    size_t lens[PACK_FIELDS_MAX], keep[2], total = 1;
    assert(n <= PACK_FIELDS_MAX && nb <= 2);
    for (size_t i = 0; i < n; i++) {
        lens[i] = *fields[i] ? strlen(*fields[i]) + 1 : 0;
        total += lens[i];
    }
    for (size_t i = 0; i < nb; i++) {
        keep[i] = body_keep(*bodies[i], body_cap);
        total += keep[i] + 1;
    }
    struct job *j = ag_malloc(sizeof(*j) + total);
    memset(j, 0, sizeof(*j));
    j->bytes = total;
    char *c = (char *)(j + 1);
    for (size_t i = 0; i < n; i++) {
        if (!*fields[i])
            continue;
        memcpy(c, *fields[i], lens[i]);
        *fields[i] = c;
        c += lens[i];
    }
    for (size_t i = 0; i < nb; i++) {
        if (!bodies[i]->p || body_cap == 0) {
            *bodies[i] = AG_STR_NULL;
            continue;
        }
        memcpy(c, bodies[i]->p, keep[i]);
        c[keep[i]] = '\0';
        *bodies[i] = ag_str_make(c, keep[i]);
        c += keep[i] + 1;
    }
    return j;
}

static struct job *job_request(const struct ag_request_record *rec, size_t body_cap)
{
    struct ag_request_record r = *rec;
    const char **fields[] = {&r.method,       &r.path,          &r.protocol,    &r.model_requested,
                             &r.model_served, &r.account_email, &r.error_class, &r.client_ip,
                             &r.user_agent,   &r.error_message, &r.key_name,    &r.attempts_json};
    struct ag_str *bodies[] = {&r.request_body, &r.response_body};
    struct job *j = job_packed(fields, sizeof(fields) / sizeof(fields[0]), bodies, 2, body_cap);
    j->kind = JOB_REQUEST;
    j->u.req = r;
    return j;
}

static struct job *job_record(const struct ag_request_record *rec, size_t body_cap)
{
    struct job *j = job_request(rec, body_cap);
    const struct ag_request_record *r = &j->u.req;
    j->kind = JOB_RECORD;
    j->rec_tok = (struct ag_token_delta){
        .ts_s = r->ts_ms / 1000,
        .account_email = r->account_email,
        .model = r->model_served && r->model_served[0] ? r->model_served : r->model_requested,
        .protocol = r->protocol,
        .requests = 1,
        .input_tokens = r->input_tokens,
        .output_tokens = r->output_tokens,
        .cached_tokens = r->cached_tokens,
        .reasoning_tokens = r->reasoning_tokens,
        .errors = ag_request_record_failed(r) ? 1 : 0,
    };
    j->rec_key = (struct ag_key_usage_delta){
        .ts_s = r->ts_ms / 1000,
        .key_name = r->key_name,
        .requests = 1,
        .input_tokens = r->input_tokens,
        .output_tokens = r->output_tokens,
        .cached_tokens = r->cached_tokens,
        .errors = j->rec_tok.errors,
    };
    return j;
}

static struct job *job_tokens(const struct ag_token_delta *d)
{
    struct ag_token_delta t = *d;
    const char **fields[] = {&t.account_email, &t.model};
    struct job *j = job_packed(fields, 2, NULL, 0, 0);
    j->kind = JOB_TOKENS;
    j->u.tok = t;
    return j;
}

static struct job *job_touch(const char *id, int64_t when_s)
{
    const char **fields[] = {&id};
    struct job *j = job_packed(fields, 1, NULL, 0, 0);
    j->kind = JOB_TOUCH;
    j->u.touch.id = id;
    j->u.touch.when_s = when_s;
    return j;
}

static struct job *job_thinking_put(const struct ag_thinking_row *row, int64_t ttl_ms,
                                    int64_t max_rows, int64_t max_bytes)
{
    struct job *j = AG_NEW(struct job);
    j->kind = JOB_THINKING_PUT;
    j->u.think.ttl_ms = ttl_ms;
    j->u.think.max_rows = max_rows;
    j->u.think.max_bytes = max_bytes;
    const struct ag_str *src[] = {&row->conv, &row->tool_id, &row->text, &row->sig};
    struct ag_str *dst[] = {&j->u.think.row.conv, &j->u.think.row.tool_id, &j->u.think.row.text,
                            &j->u.think.row.sig};
    size_t total = 1;
    for (size_t i = 0; i < 4; i++)
        total += src[i]->len + 1;
    char *c = ag_malloc(total);
    j->strings = c;
    j->bytes = total;
    for (size_t i = 0; i < 4; i++) {
        if (src[i]->len)
            memcpy(c, src[i]->p, src[i]->len);
        c[src[i]->len] = '\0';
        *dst[i] = ag_str_make(c, src[i]->len);
        c += src[i]->len + 1;
    }
    j->u.think.row.stored_ms = row->stored_ms;
    return j;
}

/* Runs a job's own statement; a record's and a touch's increments are written by sum_run. */
static int job_run(struct ag_writer *w, const struct job *j)
{
    switch (j->kind) {
    case JOB_REQUEST:
        return ag_store_request_log_insert_db(w->db, &w->ins_request, &j->u.req, w->body_cap);
    case JOB_TOKENS:
        return ag_store_token_stats_add_db(w->db, &w->add_tokens, &j->u.tok);
    case JOB_TOUCH:
        return 0;
    case JOB_RECORD:
        return ag_store_request_log_insert_db(w->db, &w->ins_request, &j->u.req, w->body_cap);
    case JOB_THINKING_PUT:
        return ag_store_thinking_put_db(w->db, &j->u.think.row, j->u.think.ttl_ms,
                                        j->u.think.max_rows, j->u.think.max_bytes);
    case JOB_THINKING_CLEAR:
        return ag_store_thinking_clear_db(w->db);
    case JOB_SESSION_PUT:
        return ag_store_session_put_db(w->db, &j->u.sess.row, j->u.sess.max_rows);
    case JOB_SESSION_DELETE:
        return ag_store_session_delete_db(w->db, j->u.sess.row.hash);
    case JOB_SESSIONS_CLEAR:
        return ag_store_sessions_clear_db(w->db);
    }
    return AG_EINVAL;
}

/* ---- request_log rows, several per statement ---- */

static bool is_row(const struct job *j)
{
    return j->kind == JOB_RECORD || j->kind == JOB_REQUEST;
}

/* Writes n rows in statements of 16, 8, 4 and 2 rows (the last one alone). A statement that
 * fails undid itself: its rows are then written one by one, so one bad row fails alone. */
static void run_rows(struct ag_writer *w, struct job **rows, size_t n)
{
    const struct ag_request_record *recs[AG_LOG_INSERT_ROWS_MAX];
    for (size_t i = 0; i < n;) {
        int k = ROW_CHUNKS - 1;
        while (k >= 0 && ((size_t)2 << k) > n - i)
            k--;
        size_t m = k < 0 ? 1 : (size_t)2 << k;
        if (k >= 0) {
            for (size_t r = 0; r < m; r++)
                recs[r] = &rows[i + r]->u.req;
            if (ag_store_request_log_insert_rows_db(w->db, &w->ins_rows[k], recs, m, w->body_cap) ==
                0) {
                for (size_t r = 0; r < m; r++)
                    rows[i + r]->rc = 0;
                i += m;
                continue;
            }
        }
        for (size_t end = i + m; i < end; i++)
            rows[i]->rc = job_run(w, rows[i]);
    }
}

/* Runs every job's own statement. Per-statement work (cursors on the table and each index, the
 * statement journal, the VDBE's start and halt) cost as much as a sixth of a row, so on SQLite
 * the rows go several to a statement, after the batch's other jobs (which write other tables;
 * PostgreSQL's insert can take another id per row, so there each row goes alone, in order). */
static void run_jobs(struct ag_writer *w, struct job **jobs, size_t n)
{
    struct job *rows[AG_LOG_INSERT_ROWS_MAX];
    size_t nrows = 0;
    bool together = ag_db_kind(w->db) == AG_DB_SQLITE;
    /* Every size with the first batch (at most a millisecond), not when a batch under load first
     * reaches one: the 16-row statement takes as long to prepare as 70 rows to write. */
    for (int k = 0; together && !w->ins_rows[ROW_CHUNKS - 1] && k < ROW_CHUNKS; k++)
        ag_store_request_log_rows_prepare_db(w->db, &w->ins_rows[k], (size_t)2 << k);
    for (size_t i = 0; i < n; i++) {
        if (!together || !is_row(jobs[i])) {
            jobs[i]->rc = job_run(w, jobs[i]);
            continue;
        }
        rows[nrows++] = jobs[i];
        if (nrows == AG_LOG_INSERT_ROWS_MAX) {
            run_rows(w, rows, nrows);
            nrows = 0;
        }
    }
    run_rows(w, rows, nrows);
}

/* ---- summing a batch's increments ---- */

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_tok_row(const struct ag_token_delta *a, const struct ag_token_delta *b)
{
    return ag_token_stats_hour(a->ts_s) == ag_token_stats_hour(b->ts_s) &&
           same_text(a->account_email, b->account_email) && same_text(a->model, b->model) &&
           same_text(a->protocol, b->protocol);
}

static bool same_key_row(const struct ag_key_usage_delta *a, const struct ag_key_usage_delta *b)
{
    return ag_token_stats_hour(a->ts_s) == ag_token_stats_hour(b->ts_s) &&
           strcmp(a->key_name, b->key_name) == 0;
}

/* The earlier job of heads[] that `match` says writes the same row as j, or j itself (added to
 * heads[] while there is room). */
static struct job *sum_head(struct job *heads[], size_t *nheads, struct job *j,
                            bool (*match)(const struct job *, const struct job *))
{
    for (size_t k = 0; k < *nheads; k++) {
        if (match(heads[k], j))
            return heads[k];
    }
    if (*nheads < MERGE_ROWS)
        heads[(*nheads)++] = j;
    return j;
}

static bool match_tok(const struct job *a, const struct job *b)
{
    return same_tok_row(&a->rec_tok, &b->rec_tok);
}

static bool match_key(const struct job *a, const struct job *b)
{
    return same_key_row(&a->rec_key, &b->rec_key);
}

static bool match_touch(const struct job *a, const struct job *b)
{
    return strcmp(a->u.touch.id, b->u.touch.id) == 0;
}

/* Sums the increments of the batch's written records and its touches into the first job of
 * each row (sum_* point there). */
static void sum_batch(struct job **jobs, size_t n)
{
    struct job *tok[MERGE_ROWS], *key[MERGE_ROWS], *touch[MERGE_ROWS];
    size_t ntok = 0, nkey = 0, ntouch = 0;
    for (size_t i = 0; i < n; i++) {
        struct job *j = jobs[i], *h;
        if (j->kind == JOB_TOUCH) {
            h = j->sum_touch = sum_head(touch, &ntouch, j, match_touch);
            if (h != j && j->u.touch.when_s > h->u.touch.when_s)
                h->u.touch.when_s = j->u.touch.when_s;
            continue;
        }
        if (j->kind != JOB_RECORD || j->rc != 0)
            continue;
        h = j->sum_tok = sum_head(tok, &ntok, j, match_tok);
        if (h != j) {
            struct ag_token_delta *t = &h->rec_tok;
            const struct ag_token_delta *d = &j->rec_tok;
            t->ts_s = d->ts_s > t->ts_s ? d->ts_s : t->ts_s;
            t->requests += d->requests;
            t->input_tokens += d->input_tokens;
            t->output_tokens += d->output_tokens;
            t->cached_tokens += d->cached_tokens;
            t->reasoning_tokens += d->reasoning_tokens;
            t->errors += d->errors;
        }
        if (!j->rec_key.key_name || !j->rec_key.key_name[0])
            continue;
        h = j->sum_key = sum_head(key, &nkey, j, match_key);
        if (h != j) {
            struct ag_key_usage_delta *t = &h->rec_key;
            const struct ag_key_usage_delta *d = &j->rec_key;
            t->ts_s = d->ts_s > t->ts_s ? d->ts_s : t->ts_s; /* also the key's last use */
            t->requests += d->requests;
            t->input_tokens += d->input_tokens;
            t->output_tokens += d->output_tokens;
            t->cached_tokens += d->cached_tokens;
            t->errors += d->errors;
        }
    }
}

/* Writes the summed increments (each row once, by its first job); a job whose sum failed fails. */
static void sum_run(struct ag_writer *w, struct job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct job *j = jobs[i];
        if (j->sum_touch == j)
            j->rc = ag_store_account_touch_db(w->db, &w->touch, j->u.touch.id, j->u.touch.when_s);
        else if (j->sum_touch)
            j->rc = j->sum_touch->rc;
        if (j->rc != 0 || j->kind != JOB_RECORD)
            continue;
        if (j->sum_tok == j)
            j->rc = ag_store_token_stats_add_db(w->db, &w->add_tokens, &j->rec_tok);
        else if (j->sum_tok)
            j->rc = j->sum_tok->rc;
        if (j->rc == 0 && j->sum_key == j)
            j->rc = ag_store_key_usage_add_db(w->db, &w->add_key_usage, &w->touch_key, &j->rec_key);
        else if (j->rc == 0 && j->sum_key)
            j->rc = j->sum_key->rc;
    }
}

/* ---- the thread ---- */

/* Steps a statement kept prepared for the writer's life (BEGIN, COMMIT). */
static int step_kept(struct ag_writer *w, struct ag_db_stmt **st, const char *sql)
{
    if (!*st && ag_db_prepare(w->db, sql, st) != 0) {
        ag_log_error("store: writer batch: %s: %s", sql, ag_db_errmsg(w->db));
        return AG_EDB;
    }
    int rc = ag_db_step(*st);
    ag_db_reset(*st);
    if (rc != AG_DB_DONE) {
        ag_log_error("store: writer batch: %s: %s", sql, ag_db_errmsg(w->db));
        return AG_EDB;
    }
    return 0;
}

/* Writes n jobs in one transaction; returns how many were written, *failed the rest. */
static uint64_t write_batch(struct ag_writer *w, struct job **jobs, size_t n, uint64_t *failed)
{
    uint64_t ok = 0;
    *failed = 0;
    if (step_kept(w, &w->begin, ag_db_kind(w->db) == AG_DB_PG ? "BEGIN" : "BEGIN IMMEDIATE") != 0) {
        *failed = n;
        return 0;
    }
    /* A failing statement is rolled back alone; the rest of the batch still commits. */
    run_jobs(w, jobs, n);
    sum_batch(jobs, n);
    sum_run(w, jobs, n);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->rc == 0)
            ok++;
        else
            (*failed)++;
    }
    if (step_kept(w, &w->commit, "COMMIT") != 0) {
        ag_db_rollback(w->db);
        *failed = n;
        return 0;
    }
    return ok;
}

static bool retention_enabled(const struct ag_writer *w)
{
    return w->retention.log_max_age_days > 0 || w->retention.log_max_rows > 0 ||
           w->retention.stats_max_age_days > 0;
}

static void deadline_after_ms(struct timespec *ts, int64_t ms);
static bool deadline_passed(const struct timespec *ts);

/* Keeps the file under the cap (thread only, outside the mutex); rows removed, logged. */
static int64_t disk_cap(struct ag_writer *w)
{
    struct ag_disk_cap_result res = {0};
    if (w->max_disk_bytes <= 0)
        return 0;
    w->cap_room = 0; /* a failed check is repeated after the next batch */
    deadline_after_ms(&w->next_cap_check, (int64_t)CAP_CHECK_MAX_S * 1000);
    if (ag_store_disk_cap_run_db(w->db, w->max_disk_bytes, &res) != 0)
        return 0;
    w->cap_room = w->max_disk_bytes - res.bytes_after;
    if (res.log_rows_deleted)
        ag_log_info("store: the database reached its cap (%lld MiB): removed the %lld oldest log "
                    "rows, %lld MiB in use",
                    (long long)(w->max_disk_bytes >> 20), (long long)res.log_rows_deleted,
                    (long long)(res.bytes_after >> 20));
    return res.log_rows_deleted;
}

static void deadline_after_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool deadline_passed(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Whether queued jobs go out now rather than gather until next_commit; w->mu held. */
static bool batch_due(const struct ag_writer *w)
{
    return w->stopping || w->flushers > 0 || w->count >= w->batch_max ||
           deadline_passed(&w->next_commit);
}

static void *writer_main(void *arg)
{
    struct ag_writer *w = arg;
    struct job **batch = ag_malloc(w->batch_max * sizeof(struct job *));
    struct timespec next_retention;
    /* The first pass a moment after start, not during it: over a large log it reads the whole
     * table while the gateway is loading its accounts. */
    clock_gettime(CLOCK_MONOTONIC, &next_retention);
    deadline_after_ms(&next_retention, FIRST_RETENTION_MS);
    clock_gettime(CLOCK_MONOTONIC, &w->next_commit); /* the first job goes out at once */
    /* Jobs queue meanwhile (and drop when full): a one-time conversion of an old file. */
    if (w->max_disk_bytes > 0)
        ag_store_vacuum_mode_ensure(w->db, w->max_disk_bytes);

    pthread_mutex_lock(&w->mu);
    for (;;) {
        bool draining = w->count > 0 && (!w->paused || w->stopping);
        /* Checked before draining too, so a steady load cannot postpone retention forever. */
        if (!w->stopping && !w->paused && retention_enabled(w) &&
            deadline_passed(&next_retention)) {
            pthread_mutex_unlock(&w->mu);
            struct ag_retention_result res = {0, 0};
            int rc = ag_store_retention_run_db(w->db, &w->retention, ag_wall_ms(), &res);
            if (rc == 0 && (res.log_rows_deleted || res.stats_rows_deleted))
                ag_log_info("store: retention removed %lld log rows, %lld stats rows",
                            (long long)res.log_rows_deleted, (long long)res.stats_rows_deleted);
            deadline_after_ms(&next_retention, (int64_t)w->retention_interval_s * 1000);
            int64_t capped = disk_cap(w); /* hands back what retention freed */
            pthread_mutex_lock(&w->mu);
            w->st.disk_cap_deleted += capped;
            w->st.retention_runs++;
            w->st.retention_log_deleted += res.log_rows_deleted;
            continue;
        }
        if (draining && batch_due(w)) {
            size_t n = w->count < w->batch_max ? w->count : w->batch_max;
            for (size_t i = 0; i < n; i++) {
                batch[i] = w->ring[w->head];
                w->head = (w->head + 1) % w->cap;
            }
            w->count -= n;
            pthread_mutex_unlock(&w->mu);

            uint64_t failed;
            uint64_t ok = write_batch(w, batch, n, &failed);
            /* What the batch can have added: its data twice over (b-tree pages half full after
             * splits, index entries) and a few split pages per job. */
            for (size_t i = 0; i < n; i++) {
                w->cap_room -= (int64_t)(2 * batch[i]->bytes) + CAP_JOB_PAGES * 4096;
                job_free(batch[i]);
            }
            int64_t capped = 0;
            if (w->cap_room < 0 || deadline_passed(&w->next_cap_check))
                capped = disk_cap(w);
            deadline_after_ms(&w->next_commit, w->batch_delay_ms);

            pthread_mutex_lock(&w->mu);
            w->st.disk_cap_deleted += capped;
            w->st.written += ok;
            w->st.failed += failed;
            w->st.batches++;
            w->done += n;
            pthread_cond_broadcast(&w->idle);
            continue;
        }
        if (w->stopping)
            break;
        /* Sleep until a producer, flush, pause change or stop wakes us, or the nearest of the
         * batch deadline (jobs are gathering) and the retention deadline. */
        const struct timespec *until = NULL;
        if (draining)
            until = &w->next_commit;
        if (retention_enabled(w) && !w->paused && (!until || before(&next_retention, until)))
            until = &next_retention;
        if (until)
            pthread_cond_timedwait(&w->wake, &w->mu, until);
        else
            pthread_cond_wait(&w->wake, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    free(batch);
    return NULL;
}

/* ---- public ---- */

static int limit(int64_t v, int64_t def)
{
    return v == 0 ? (int)def : (v < 0 ? 0 : (int)v);
}

struct ag_writer *ag_writer_new(const struct ag_store *store, const struct ag_writer_options *opts)
{
    struct ag_writer_options o = {0};
    char err[256] = "";
    bool cond_wake = false, cond_idle = false, mu = false;
    pthread_condattr_t ca;

    if (opts)
        o = *opts;
    struct ag_writer *w = AG_NEW(struct ag_writer);
    w->cap = o.queue_capacity ? o.queue_capacity : DEFAULT_QUEUE_CAPACITY;
    w->batch_max = o.batch_max ? o.batch_max : DEFAULT_BATCH_MAX;
    w->batch_delay_ms = o.batch_delay_ms == 0 ? DEFAULT_BATCH_DELAY_MS
                                              : (o.batch_delay_ms < 0 ? 0 : o.batch_delay_ms);
    w->body_cap = o.body_cap ? o.body_cap : DEFAULT_BODY_CAP;
    w->retention.log_max_age_days = limit(o.retention.log_max_age_days, DEFAULT_LOG_DAYS);
    w->retention.log_max_rows = o.retention.log_max_rows == 0
                                    ? DEFAULT_LOG_ROWS
                                    : (o.retention.log_max_rows < 0 ? 0 : o.retention.log_max_rows);
    w->retention.stats_max_age_days = limit(o.retention.stats_max_age_days, DEFAULT_STATS_DAYS);
    w->retention_interval_s =
        o.retention_interval_s > 0 ? o.retention_interval_s : DEFAULT_RETENTION_EVERY;
    w->max_disk_bytes = o.max_disk_bytes == 0 ? DEFAULT_MAX_DISK_BYTES
                                              : (o.max_disk_bytes < 0 ? 0 : o.max_disk_bytes);
    w->ring = ag_calloc(w->cap, sizeof(struct job *));

    if (ag_store_conn_again(store, &w->db, err, sizeof(err)) != 0) {
        ag_log_error("store: writer: %s", err);
        goto fail;
    }
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        goto fail;
    mu = true;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    cond_wake = pthread_cond_init(&w->wake, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cond_wake)
        goto fail;
    cond_idle = pthread_cond_init(&w->idle, NULL) == 0;
    if (!cond_idle)
        goto fail;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        ag_log_error("store: writer: cannot start thread");
        goto fail;
    }
    return w;
fail:
    if (cond_idle)
        pthread_cond_destroy(&w->idle);
    if (cond_wake)
        pthread_cond_destroy(&w->wake);
    if (mu)
        pthread_mutex_destroy(&w->mu);
    ag_db_close(w->db);
    free(w->ring);
    free(w);
    return NULL;
}

void ag_writer_free(struct ag_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);

    /* The thread drains before it exits, so the queue is empty here. */
    assert(w->count == 0);
    ag_db_finalize(w->ins_request);
    for (int k = 0; k < ROW_CHUNKS; k++)
        ag_db_finalize(w->ins_rows[k]);
    ag_db_finalize(w->add_tokens);
    ag_db_finalize(w->touch);
    ag_db_finalize(w->add_key_usage);
    ag_db_finalize(w->touch_key);
    ag_db_finalize(w->begin);
    ag_db_finalize(w->commit);
    ag_db_close(w->db);
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->ring);
    free(w);
}

static int submit(struct ag_writer *w, struct job *j)
{
    int ret = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        ret = AG_ECLOSED;
    } else if (w->count == w->cap) {
        w->st.dropped++;
        ret = AG_ETOOBIG;
    } else {
        w->ring[(w->head + w->count) % w->cap] = j;
        w->count++;
        w->st.accepted++;
        j = NULL;
        /* Between these two edges the writer is either busy or sleeping until its batch
         * deadline, which it keeps without us: no futex wake per job. */
        if (w->count == 1 || w->count == w->batch_max)
            pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->mu);
    job_free(j);
    return ret;
}

int ag_writer_log_request(struct ag_writer *w, const struct ag_request_record *rec)
{
    return submit(w, job_request(rec, w->body_cap));
}

int ag_writer_record(struct ag_writer *w, const struct ag_request_record *rec)
{
    return submit(w, job_record(rec, w->body_cap));
}

int ag_writer_add_tokens(struct ag_writer *w, const struct ag_token_delta *d)
{
    return submit(w, job_tokens(d));
}

int ag_writer_touch_account(struct ag_writer *w, const char *id, int64_t when_s)
{
    if (!id || !*id)
        return AG_EINVAL;
    return submit(w, job_touch(id, when_s));
}

int ag_writer_thinking_put(struct ag_writer *w, const struct ag_thinking_row *row, int64_t ttl_ms,
                           int64_t max_rows, int64_t max_bytes)
{
    if (!row->conv.len || !row->tool_id.len || !row->sig.len)
        return AG_EINVAL;
    return submit(w, job_thinking_put(row, ttl_ms, max_rows, max_bytes));
}

int ag_writer_thinking_clear(struct ag_writer *w)
{
    struct job *j = AG_NEW(struct job);
    j->kind = JOB_THINKING_CLEAR;
    return submit(w, j);
}

int ag_writer_session_put(struct ag_writer *w, const struct ag_session_row *row, int64_t max_rows)
{
    struct job *j = AG_NEW(struct job);
    j->kind = JOB_SESSION_PUT;
    j->u.sess.row = *row;
    j->u.sess.max_rows = max_rows;
    return submit(w, j);
}

int ag_writer_session_delete(struct ag_writer *w, const unsigned char hash[AG_SESSION_HASH_SIZE])
{
    struct job *j = AG_NEW(struct job);
    j->kind = JOB_SESSION_DELETE;
    memcpy(j->u.sess.row.hash, hash, AG_SESSION_HASH_SIZE);
    return submit(w, j);
}

int ag_writer_sessions_clear(struct ag_writer *w)
{
    struct job *j = AG_NEW(struct job);
    j->kind = JOB_SESSIONS_CLEAR;
    return submit(w, j);
}

int ag_writer_flush(struct ag_writer *w)
{
    int ret = 0;
    pthread_mutex_lock(&w->mu);
    if (w->paused && w->count > 0) {
        ret = AG_ESTATE;
    } else {
        uint64_t target = w->st.accepted;
        if (w->done < target) {
            w->flushers++;
            pthread_cond_signal(&w->wake); /* it may be sleeping until the batch deadline */
            while (w->done < target)
                pthread_cond_wait(&w->idle, &w->mu);
            w->flushers--;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return ret;
}

void ag_writer_pause(struct ag_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->paused = true;
    pthread_mutex_unlock(&w->mu);
}

void ag_writer_resume(struct ag_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->paused = false;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

uint64_t ag_writer_dropped(struct ag_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->st.dropped;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void ag_writer_get_stats(struct ag_writer *w, struct ag_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = w->count;
    pthread_mutex_unlock(&w->mu);
}
