/* admin/api_stats.c: token statistics — GET /api/stats/summary, GET /api/stats/series (per hour
 * or day, optionally per account / model / protocol, for charts), GET /api/stats/breakdown
 * (totals per account, model or protocol), GET /api/stats/health (each account's attempts that
 * succeeded and failed per hour, for the Accounts page's health strip) and POST /api/stats/clear.
 * Time windows: from_s/to_s, or hours (default 24) / days back from now. Computed from the same
 * records as the monitor. */
#include "admin/admin_internal.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/monitor_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct stats_arg {
    struct ag_stats_query q;
    char account[256], model[256], protocol[64];
    int kind; /* 0 summary, 1 series, 2 breakdown */
    size_t groups;
    struct ag_token_stats_row sum;
};

static void row_fields(struct ag_buf *b, const struct ag_token_stats_row *r)
{
    ag_jsonw_int(b, "requests", r->requests);
    ag_jsonw_int(b, "errors", r->errors);
    ag_jsonw_int(b, "input_tokens", r->input_tokens);
    ag_jsonw_int(b, "output_tokens", r->output_tokens);
    ag_jsonw_int(b, "cached_tokens", r->cached_tokens);
    ag_jsonw_int(b, "reasoning_tokens", r->reasoning_tokens);
    ag_jsonw_int(b, "total_tokens", r->input_tokens + r->output_tokens);
}

static int series_row(int64_t period_s, const char *key, const struct ag_token_stats_row *r,
                      void *ud)
{
    struct adm_job *j = ud;
    struct stats_arg *sa = j->arg;
    ag_jsonw_open(&j->out, NULL, '{');
    if (sa->q.bucket_s)
        ag_jsonw_int(&j->out, "period_s", period_s);
    if (sa->q.group != AG_STATS_BY_NONE)
        ag_jsonw_str(&j->out, "key", key);
    row_fields(&j->out, r);
    ag_jsonw_close(&j->out, '}');
    return 0;
}

static int sum_row(int64_t period_s, const char *key, const struct ag_token_stats_row *r, void *ud)
{
    struct stats_arg *sa = ud;
    if (key && key[0]) /* requests without an account or model are not one more of them */
        sa->groups++;
    sa->sum.requests += r->requests;
    sa->sum.errors += r->errors;
    sa->sum.input_tokens += r->input_tokens;
    sa->sum.output_tokens += r->output_tokens;
    sa->sum.cached_tokens += r->cached_tokens;
    sa->sum.reasoning_tokens += r->reasoning_tokens;
    return 0;
}

static int stats_work(struct ag_store *db, struct adm_job *j)
{
    struct stats_arg *sa = j->arg;
    struct ag_buf *o = &j->out;
    int rc = 0;
    ag_jsonw_open(o, NULL, '{');
    ag_jsonw_int(o, "from_s", sa->q.from_s);
    ag_jsonw_int(o, "to_s", sa->q.to_s);
    if (sa->kind == 0) {
        sa->q.group = AG_STATS_BY_NONE;
        rc = ag_store_stats_query(db, &sa->q, sum_row, sa);
        row_fields(o, &sa->sum);
        static const char *const names[] = {"accounts", "models", "protocols"};
        for (int g = 0; g < 3 && !rc; g++) {
            struct stats_arg tmp = *sa;
            tmp.groups = 0;
            tmp.q.group = (enum ag_stats_group)(AG_STATS_BY_ACCOUNT + g);
            rc = ag_store_stats_query(db, &tmp.q, sum_row, &tmp);
            ag_jsonw_int(o, names[g], (int64_t)tmp.groups);
        }
    } else {
        ag_jsonw_open(o, "items", '[');
        rc = ag_store_stats_query(db, &sa->q, series_row, j);
        ag_jsonw_close(o, ']');
    }
    ag_jsonw_close(o, '}');
    return rc;
}

/* Reads the common parameters; false after a 400. */
static bool parse(struct ag_http_req *req, struct stats_arg *sa, bool need_group)
{
    int64_t now = adm_now_ms() / 1000, hours = 24, days = 0, tz_min = 0;
    if (!adm_query_int(req, "from_s", 0, INT64_MAX, &sa->q.from_s) ||
        !adm_query_int(req, "to_s", 0, INT64_MAX, &sa->q.to_s) ||
        !adm_query_int(req, "hours", 1, 24 * 3660, &hours) ||
        !adm_query_int(req, "days", 1, 3660, &days) ||
        !adm_query_int(req, "tz_offset_min", -24 * 60, 24 * 60, &tz_min))
        return false;
    if (!sa->q.from_s) {
        int64_t span = days ? days * 86400 : hours * 3600;
        sa->q.from_s = (now - span) - (now - span) % 3600;
    }
    if (sa->q.to_s && sa->q.to_s <= sa->q.from_s) {
        adm_error(req, 400, "invalid_request", "to_s", "to_s must be after from_s");
        return false;
    }
    sa->q.tz_offset_s = tz_min * 60;
    char v[32];
    if (adm_query(req, "bucket", v, sizeof(v))) {
        if (strcmp(v, "hour") == 0)
            sa->q.bucket_s = 3600;
        else if (strcmp(v, "day") == 0)
            sa->q.bucket_s = 86400;
        else if (strcmp(v, "none") == 0)
            sa->q.bucket_s = 0;
        else {
            adm_error(req, 400, "invalid_request", "bucket", "bucket must be hour, day or none");
            return false;
        }
    }
    bool given = adm_query(req, "group", v, sizeof(v));
    if (given || need_group) {
        static const char *const names[] = {"none", "account", "model", "protocol"};
        int g = -1;
        if (!given)
            v[0] = '\0';
        for (int i = 0; i < 4; i++) {
            if (strcmp(v, names[i]) == 0) {
                g = i;
                break;
            }
        }
        if (g < 0 || (need_group && g == 0)) {
            adm_error(req, 400, "invalid_request", "group",
                      need_group ? "group must be account, model or protocol"
                                 : "group must be none, account, model or protocol");
            return false;
        }
        sa->q.group = (enum ag_stats_group)g;
    }
    if (adm_query(req, "account", sa->account, sizeof(sa->account)))
        sa->q.account = sa->account;
    if (adm_query(req, "model", sa->model, sizeof(sa->model)))
        sa->q.model = sa->model;
    if (adm_query(req, "protocol", sa->protocol, sizeof(sa->protocol)))
        sa->q.protocol = sa->protocol;
    return true;
}

static void run(struct ag_http_req *req, void *ud, int kind)
{
    struct stats_arg *sa = ag_calloc(1, sizeof(*sa));
    sa->kind = kind;
    sa->q.bucket_s = kind == 1 ? 3600 : 0;
    if (!parse(req, sa, kind == 2)) {
        free(sa);
        return;
    }
    if (kind == 2)
        sa->q.bucket_s = 0;
    struct adm_job *j = adm_job_new(adm_of(ud), req, stats_work, NULL);
    j->arg = sa;
    j->free_arg = free;
    adm_job_start(j);
}

static void h_summary(struct ag_http_req *req, void *ud)
{
    run(req, ud, 0);
}

static void h_series(struct ag_http_req *req, void *ud)
{
    run(req, ud, 1);
}

static void h_breakdown(struct ag_http_req *req, void *ud)
{
    run(req, ud, 2);
}

static int clear_work(struct ag_store *db, struct adm_job *j)
{
    ag_buf_append_c(&j->out, "{\"ok\":true}");
    return ag_store_stats_clear(db);
}

static void h_clear(struct ag_http_req *req, void *ud)
{
    adm_job_start(adm_job_new(adm_of(ud), req, clear_work, NULL));
}

/* ---- GET /api/stats/health ---- */

#define HEALTH_HOURS_MAX 168
#define HOUR_MS          INT64_C(3600000)

/* One account's hours being filled while the rows (ordered by account) arrive. */
struct health_arg {
    int64_t from_ms;
    int hours;
    char account[256]; /* "" before the first row */
    int64_t ok[HEALTH_HOURS_MAX], errors[HEALTH_HOURS_MAX];
};

static void health_flush(struct adm_job *j, struct health_arg *ha)
{
    if (!ha->account[0])
        return;
    ag_jsonw_open(&j->out, NULL, '{');
    ag_jsonw_str(&j->out, "account", ha->account);
    ag_jsonw_open(&j->out, "ok", '[');
    for (int i = 0; i < ha->hours; i++)
        ag_jsonw_int(&j->out, NULL, ha->ok[i]);
    ag_jsonw_close(&j->out, ']');
    ag_jsonw_open(&j->out, "errors", '[');
    for (int i = 0; i < ha->hours; i++)
        ag_jsonw_int(&j->out, NULL, ha->errors[i]);
    ag_jsonw_close(&j->out, ']');
    ag_jsonw_close(&j->out, '}');
    memset(ha->ok, 0, sizeof(ha->ok));
    memset(ha->errors, 0, sizeof(ha->errors));
}

static int health_row(const char *account, int64_t hour_ms, int64_t ok, int64_t errors, void *ud)
{
    struct adm_job *j = ud;
    struct health_arg *ha = j->arg;
    if (strcasecmp(account, ha->account) != 0) {
        health_flush(j, ha);
        snprintf(ha->account, sizeof(ha->account), "%s", account);
    }
    int64_t i = (hour_ms - ha->from_ms) / HOUR_MS;
    if (i >= 0 && i < ha->hours) {
        ha->ok[i] += ok;
        ha->errors[i] += errors;
    }
    return 0;
}

static int health_work(struct ag_store *db, struct adm_job *j)
{
    struct health_arg *ha = j->arg;
    ag_jsonw_open(&j->out, NULL, '{');
    ag_jsonw_int(&j->out, "from_ms", ha->from_ms);
    ag_jsonw_int(&j->out, "hour_ms", HOUR_MS);
    ag_jsonw_int(&j->out, "hours", ha->hours);
    ag_jsonw_open(&j->out, "accounts", '[');
    int rc =
        ag_store_account_health(db, ha->from_ms, ha->from_ms + ha->hours * HOUR_MS, health_row, j);
    health_flush(j, ha);
    ag_jsonw_close(&j->out, ']');
    ag_jsonw_close(&j->out, '}');
    return rc;
}

/* The last `hours` whole hours, the current one included (it ends in the future). */
static void h_health(struct ag_http_req *req, void *ud)
{
    int64_t hours = 24;
    if (!adm_query_int(req, "hours", 1, HEALTH_HOURS_MAX, &hours))
        return;
    struct health_arg *ha = ag_calloc(1, sizeof(*ha));
    ha->hours = (int)hours;
    ha->from_ms = (adm_now_ms() / HOUR_MS + 1 - hours) * HOUR_MS;
    struct adm_job *j = adm_job_new(adm_of(ud), req, health_work, NULL);
    j->arg = ha;
    j->free_arg = free;
    adm_job_start(j);
}

const struct adm_route_def adm_stats_routes[] = {
    {"GET", "/api/stats/summary", h_summary, false},
    {"GET", "/api/stats/series", h_series, false},
    {"GET", "/api/stats/breakdown", h_breakdown, false},
    {"GET", "/api/stats/health", h_health, false},
    {"POST", "/api/stats/clear", h_clear, false},
    {NULL, NULL, NULL, false},
};
