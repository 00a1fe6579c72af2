/* relay/warmup.c: the warm-up (relay/warmup.h) — its schedule timer, runs (quota refresh, plan,
 * send) and their status. A run is a small state machine: QUOTA (waiting for fresh quota) → SEND
 * (jobs dispatched AG_WARMUP_PARALLEL at a time) → DONE. Each job is pending → acquiring →
 * sending → done; a job is pinned to its account by excluding every other account from the
 * pool's choice, so the pool's refresh, project lookup, proxy and cooldown rules all apply. */
#include "relay/warmup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/str.h"
#include "core/time.h"
#include "pool/pool.h"
#include "pool/warmup.h"
#include "proto/adapter.h"
#include "relay/relay_internal.h"
#include "route/models.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"
#include "upstream/sse.h"

/* The schedule is re-checked at least this often, so a changed wall clock (suspend, NTP, DST)
 * delays a fire by at most this much. */
#define TICK_MAX_MS 60000
#define POLL_MS     250
/* Most account x group jobs in one run, and most history entries kept. */
#define JOBS_MAX    1024
#define HISTORY_MAX 1024
/* Upstream answer collected per request (a warm-up answer is a few hundred bytes). */
#define BODY_CAP  (256u * 1024)
#define ARENA_CAP (1u << 20)

enum run_phase { RUN_QUOTA, RUN_SEND, RUN_DONE };
enum job_state { JOB_PENDING, JOB_ACQUIRING, JOB_SENDING, JOB_DONE };

struct job {
    struct ag_warmup *w;
    enum job_state state;
    char account_id[AG_ACCOUNT_ID_SIZE];
    char email[256];
    char group[AG_POOL_GROUP_MAX];
    char model[AG_POOL_GROUP_MAX];
    /* result */
    const char *outcome; /* "ok", "failed", "skipped"; NULL while pending */
    char reason[64];
    int status;
    char error[256];
    /* in flight */
    struct ag_pool_wait *wait;
    const struct ag_lease *lease;
    struct ag_cloudcode_call *cc;
    struct ag_arena arena;
    struct ag_cloudcode_target target;
    char client_version[32];
    const char *beta[1];
    struct ag_request *rq;       /* the request sent, in arena */
    struct ag_upstream_target t; /* its target (slices in arena) */
    struct ag_str body;
    int64_t ts_ms;
    uint64_t start_us;
};

struct run {
    uint64_t id;
    char trigger[16];
    char account[256]; /* the filter as given; "" = all */
    enum run_phase phase;
    int64_t started_ms, finished_ms;
    char (*ids)[AG_ACCOUNT_ID_SIZE]; /* the accounts concerned */
    char (*emails)[256];
    size_t nids;
    char (*all)[AG_ACCOUNT_ID_SIZE]; /* every account of the pool (for pinning) */
    const char **all_p;
    size_t nall;
    int idle_polls;
    struct job *jobs;
    size_t njobs, next, inflight;
};

struct warm_hist {
    char id[AG_ACCOUNT_ID_SIZE];
    char group[AG_POOL_GROUP_MAX];
    int64_t at_s;
};

struct ag_warmup {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    ag_relay_record_cb on_record;
    void *record_ud;
    uv_timer_t tick, poll;
    int open_handles;
    bool closing;
    int64_t next_fire_s; /* 0 = nothing scheduled */
    uint64_t run_seq;
    struct run *run; /* the run in progress or the last one; NULL before the first */
    struct warm_hist hist[HISTORY_MAX];
    size_t nhist;
};

/* ---------------------------------------------------------------- schedule */

int64_t ag_warmup_next_fire(const int32_t *secs, size_t n, int64_t now_s)
{
    int64_t best = 0;
    time_t now = (time_t)now_s;
    struct tm today;
    if (n == 0 || !localtime_r(&now, &today))
        return 0;
    /* Today, tomorrow and the day after: the latter only matters on a day shortened by DST. */
    for (int day = 0; day < 3; day++) {
        for (size_t i = 0; i < n; i++) {
            struct tm tm = today;
            tm.tm_mday += day;
            tm.tm_hour = secs[i] / 3600;
            tm.tm_min = secs[i] / 60 % 60;
            tm.tm_sec = secs[i] % 60;
            tm.tm_isdst = -1;
            time_t t = mktime(&tm);
            if (t == (time_t)-1 || (int64_t)t <= now_s)
                continue;
            if (best == 0 || (int64_t)t < best)
                best = (int64_t)t;
        }
        if (best)
            return best;
    }
    return best;
}

static void on_tick(uv_timer_t *t);

/* Recomputes the next fire from the config and arms the tick. */
static void arm(struct ag_warmup *w)
{
    const struct ag_config *c = w->cfg;
    int32_t secs[AG_WARMUP_TIMES_MAX];
    size_t n = 0;
    if (w->closing)
        return;
    uv_timer_stop(&w->tick);
    w->next_fire_s = 0;
    if (!c->warmup.enabled)
        return;
    for (size_t i = 0; i < c->warmup.times.n && n < AG_WARMUP_TIMES_MAX; i++) {
        if (ag_config_time_of_day(c->warmup.times.v[i], &secs[n]) == 0)
            n++;
    }
    w->next_fire_s = ag_warmup_next_fire(secs, n, ag_wall_s());
    if (!w->next_fire_s)
        return;
    int64_t wait = w->next_fire_s * 1000 - ag_wall_ms();
    if (wait < 0)
        wait = 0;
    if (wait > TICK_MAX_MS)
        wait = TICK_MAX_MS;
    uv_timer_start(&w->tick, on_tick, (uint64_t)wait, 0);
}

static void on_tick(uv_timer_t *t)
{
    struct ag_warmup *w = t->data;
    if (w->next_fire_s && ag_wall_s() >= w->next_fire_s) {
        int rc = ag_warmup_run(w, NULL, "schedule", NULL);
        if (rc == AG_EEXIST)
            ag_log_warn("warmup: the scheduled run is skipped: the previous one is still going");
        else if (rc)
            ag_log_warn("warmup: the scheduled run could not start: %s", ag_strerror(rc));
    }
    arm(w);
}

/* ---------------------------------------------------------------- history */

static struct warm_hist *hist_find(struct ag_warmup *w, const char *id, const char *group)
{
    for (size_t i = 0; i < w->nhist; i++) {
        if (strcmp(w->hist[i].id, id) == 0 && strcmp(w->hist[i].group, group) == 0)
            return &w->hist[i];
    }
    return NULL;
}

static void hist_forget(struct ag_warmup *w, const char *id, const char *group)
{
    struct warm_hist *h = hist_find(w, id, group);
    if (h)
        *h = w->hist[--w->nhist];
}

static void hist_put(struct ag_warmup *w, const char *id, const char *group, int64_t at_s)
{
    struct warm_hist *h = hist_find(w, id, group);
    if (!h) {
        if (w->nhist == HISTORY_MAX) {
            size_t oldest = 0;
            for (size_t i = 1; i < w->nhist; i++) {
                if (w->hist[i].at_s < w->hist[oldest].at_s)
                    oldest = i;
            }
            h = &w->hist[oldest];
        } else {
            h = &w->hist[w->nhist++];
        }
        ag_strlcpy(h->id, id, sizeof(h->id));
        ag_strlcpy(h->group, group, sizeof(h->group));
    }
    h->at_s = at_s;
}

/* ---------------------------------------------------------------- runs */

static void run_free(struct run *r)
{
    if (!r)
        return;
    free(r->ids);
    free(r->emails);
    free(r->all);
    free(r->all_p);
    free(r->jobs);
    free(r);
}

/* The model Antigravity Manager pings for a group when the account lists it. */
static const char *preferred_model(const char *group)
{
    if (strcmp(group, "claude") == 0)
        return "claude-sonnet-4-6";
    return group; /* the other group names are model ids themselves */
}

static void dispatch(struct ag_warmup *w);

static void job_done(struct job *j, const char *outcome, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void job_done(struct job *j, const char *outcome, const char *reason, const char *fmt, ...)
{
    struct ag_warmup *w = j->w;
    j->outcome = outcome;
    ag_strlcpy(j->reason, reason ? reason : "", sizeof(j->reason));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->error, sizeof(j->error), fmt, ap);
        va_end(ap);
    }
    if (j->lease) {
        ag_pool_release(w->pool, j->lease);
        j->lease = NULL;
    }
    ag_arena_dispose(&j->arena);
    if (j->state == JOB_ACQUIRING || j->state == JOB_SENDING)
        w->run->inflight--;
    j->state = JOB_DONE;
}

static void run_finish(struct ag_warmup *w)
{
    struct run *r = w->run;
    size_t ok = 0, failed = 0, skipped = 0;
    r->phase = RUN_DONE;
    r->finished_ms = ag_wall_ms();
    uv_timer_stop(&w->poll);
    for (size_t i = 0; i < r->njobs; i++) {
        struct job *j = &r->jobs[i];
        if (strcmp(j->outcome, "ok") == 0) {
            ok++;
            hist_put(w, j->account_id, j->group, r->finished_ms / 1000);
            /* As Antigravity Manager does after a warm-up: read the quota again. */
            if (!w->closing)
                ag_pool_refresh_quota(w->pool, j->account_id);
        } else if (strcmp(j->outcome, "failed") == 0) {
            failed++;
        } else {
            skipped++;
        }
    }
    ag_log_info("warmup: run %llu (%s) done: %zu sent, %zu failed, %zu skipped",
                (unsigned long long)r->id, r->trigger, ok, failed, skipped);
}

/* Records one warm-up request for the monitor and statistics. */
static void record(struct job *j, int status, const char *error_class, const char *message,
                   const struct ag_usage *u)
{
    struct ag_warmup *w = j->w;
    char rid[40] = "warmup-";
    if (!w->on_record)
        return;
    if (ag_random_hex(rid + 7, sizeof(rid) - 7, 12) != 0)
        rid[7] = '\0';
    char ua[64];
    snprintf(ua, sizeof(ua), "aigate-warmup (%s)", w->run->trigger);
    struct ag_relay_record rec = {
        .ts_ms = j->ts_ms,
        .request_id = ag_str_c(rid),
        .method = AG_STR("POST"),
        .path = AG_STR("/warmup"),
        .protocol = AG_WARMUP_PROTOCOL,
        .model = ag_str_c(j->model),
        .served_model = j->model,
        .account = j->email,
        .status = status,
        .error_class = error_class,
        .error_message = ag_str_c(message),
        .attempts = 1,
        .ttfb_ms = -1,
        .total_ms = (int64_t)((ag_now_us() - j->start_us) / 1000),
        .input_tokens = u ? u->input : 0,
        .output_tokens = u ? u->output : 0,
        .cached_tokens = u ? u->cached : 0,
        .reasoning_tokens = u ? u->reasoning : 0,
        .client_ip = AG_STR("127.0.0.1"),
        .user_agent = ag_str_c(ua),
        .stream = true,
        .request_body = j->body,
        .response_body = AG_STR_NULL,
    };
    w->on_record(&rec, w->record_ud);
}

struct decode_ctx {
    const struct ag_upstream_proto *up;
    struct ag_upstream_decoder *dec;
    struct ag_answer *answer;
};

static int on_sse(const struct ag_sse_event *ev, void *ud)
{
    struct decode_ctx *d = ud;
    if (ev->data.len == 0 || ag_str_eq_c(ev->data, "[DONE]"))
        return 0;
    int rc = d->up->decode_event(d->dec, ev->data, ag_answer_cb, d->answer);
    return rc == AG_EPARSE ? 0 : rc;
}

static void on_sent(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud)
{
    struct job *j = ud;
    struct ag_warmup *w = j->w;
    struct ag_errclass ec;
    struct ag_pool_outcome o;
    j->cc = NULL;
    j->status = res->status;
    if (res->err == 0 && res->status >= 200 && res->status < 300) {
        /* Read the answer for its token usage (and an error reported inside the stream). */
        const struct ag_upstream_proto *up = &ag_proto_cloudcode;
        struct ag_answer answer;
        struct ag_proto_ctx ctx = {.arena = &j->arena,
                                   .request_id = AG_STR("warmup"),
                                   .now = ag_wall_s(),
                                   .max_body = (size_t)w->cfg->server.max_body_bytes,
                                   .max_json_depth = (size_t)w->cfg->server.max_json_depth};
        struct decode_ctx d = {.up = up, .answer = &answer};
        struct ag_sse_parser sse;
        ag_answer_init(&answer, &j->arena);
        d.dec = up->decoder_new(&ctx, j->rq, &j->t);
        int rc = AG_ETOOBIG;
        if (d.dec) {
            ag_sse_parser_init(&sse, BODY_CAP, on_sse, &d);
            rc = ag_sse_parser_feed(&sse, res->body.p, res->body.len);
            if (!rc)
                rc = ag_sse_parser_finish(&sse);
            if (!rc)
                rc = up->decode_end(d.dec, ag_answer_cb, &answer);
            ag_sse_parser_dispose(&sse);
        }
        if (!rc && !answer.failed) {
            o = (struct ag_pool_outcome){.kind = AG_POOL_OK,
                                         .group = j->group,
                                         .model = j->model,
                                         .status = res->status,
                                         .tokens_in = (uint64_t)answer.usage.input,
                                         .tokens_out = (uint64_t)answer.usage.output};
            ag_pool_report(w->pool, j->lease->account_id, &o);
            record(j, 200, "", "", &answer.usage);
            ag_log_info("warmup: %s warmed up for %s (%s)", j->email, j->group, j->model);
            job_done(j, "ok", "sent", NULL);
            dispatch(w);
            return;
        }
        ag_errclass_malformed(
            answer.failed ? "the upstream reported an error in its answer" : ag_strerror(rc), &ec);
    } else if (res->err) {
        ag_errclass_transport(res->fail, res->message, &ec);
    } else {
        ag_errclass_http(res->status, res->body, ag_cloudcode_call_header(cc, "retry-after"),
                         ag_wall_s(), &ec);
    }
    ag_pool_outcome_from_errclass(&ec, j->group, j->model, &o);
    ag_pool_report(w->pool, j->lease->account_id, &o);
    record(j, ec.status ? ec.status : 502, ag_errclass_kind_name(ec.kind), ec.message, NULL);
    ag_log_warn("warmup: %s for %s (%s) failed: %s (%d) %s", j->email, j->group, j->model,
                ag_errclass_kind_name(ec.kind), ec.status, ec.message);
    job_done(j, "failed", ag_errclass_kind_name(ec.kind), "%s", ec.message);
    dispatch(w);
}

/* The smallest request the real API takes: one short user text, a few output tokens, no
 * thinking, no tools. */
static struct ag_request *minimal_request(struct ag_arena *a, const char *model)
{
    struct ag_request *rq = ag_arena_calloc(a, sizeof(*rq));
    struct ag_message *m = ag_arena_calloc(a, sizeof(*m));
    struct ag_part *p = ag_arena_calloc(a, sizeof(*p));
    if (!rq || !m || !p)
        return NULL;
    ag_request_init(rq);
    p->type = AG_PART_TEXT;
    p->text = AG_STR(AG_WARMUP_TEXT);
    m->role = AG_ROLE_USER;
    m->parts = p;
    m->n_parts = 1;
    rq->model = ag_arena_str(a, ag_str_c(model));
    rq->messages = m;
    rq->n_messages = 1;
    rq->gen.max_tokens = AG_WARMUP_MAX_TOKENS;
    rq->thinking.mode = AG_OFF;
    rq->stream = true;
    return rq;
}

static void send_job(struct job *j)
{
    struct ag_warmup *w = j->w;
    const struct ag_config *cfg = w->cfg;
    const struct ag_lease *l = j->lease;
    char rid[32], sid[32];
    if (l->model[0])
        ag_strlcpy(j->model, l->model, sizeof(j->model));
    ag_arena_init(&j->arena, 8192, ARENA_CAP);
    struct ag_request *rq = j->rq = minimal_request(&j->arena, j->model);
    if (ag_random_hex(rid, sizeof(rid), 12) != 0)
        rid[0] = '\0';
    struct ag_proto_ctx ctx = {.arena = &j->arena,
                               .request_id = ag_str_c(rid),
                               .now = ag_wall_s(),
                               .max_body = (size_t)cfg->server.max_body_bytes,
                               .max_json_depth = (size_t)cfg->server.max_json_depth};
    struct ag_upstream_target *t = &j->t;
    *t = (struct ag_upstream_target){.model = ag_arena_str(&j->arena, ag_str_c(j->model)),
                                     .project = ag_arena_str(&j->arena, ag_str_c(l->project_id))};
    ag_models_limits(t->model, l->max_output_tokens, l->thinking_budget, &t->max_output_tokens,
                     &t->thinking_budget_max);
    ag_relay_upstream_session(AG_STR_NULL, l->account_id, sid, sizeof(sid));
    t->session_id = ag_arena_str(&j->arena, ag_str_c(sid));
    struct ag_upstream_call call = {0};
    int rc = rq ? ag_proto_cloudcode.encode_request(&ctx, rq, t, &call) : AG_ETOOBIG;
    if (rc) {
        job_done(j, "failed", "encode", "cannot build the request: %s", ag_strerror(rc));
        return;
    }
    j->body = call.body;
    j->target = (struct ag_cloudcode_target){
        .endpoints = (const char *const *)cfg->upstream.cloudcode_endpoints.v,
        .nendpoints = cfg->upstream.cloudcode_endpoints.n,
        .user_agent = cfg->upstream.user_agent,
        .client_version = ag_cloudcode_client_version(cfg->upstream.user_agent, j->client_version,
                                                      sizeof(j->client_version))
                              ? j->client_version
                              : NULL,
        .proxy = l->proxy_url[0] ? l->proxy_url : NULL,
        .timeouts = {.connect_ms = (uint32_t)(cfg->upstream.connect_timeout_s * 1000),
                     .first_byte_ms = (uint32_t)(cfg->upstream.first_byte_timeout_s * 1000),
                     .idle_ms = (uint32_t)(cfg->upstream.idle_timeout_s * 1000),
                     .total_ms = (uint32_t)(cfg->upstream.total_timeout_s * 1000)},
    };
    /* As every Claude request of the gateway: the claude-code beta. */
    j->beta[0] = strstr(j->model, "claude") ? "anthropic-beta: claude-code-20250219" : NULL;
    struct ag_cloudcode_call_spec spec = {
        .target = &j->target,
        .method = call.method,
        .sse = call.query && strstr(call.query, "alt=sse"),
        .access_token = l->access_token,
        .project = l->project_id,
        .extra_headers = j->beta,
        .nextra = j->beta[0] ? 1 : 0,
        .body = call.body.p,
        .body_len = call.body.len,
        .max_body = BODY_CAP,
        .on_done = on_sent,
        .ud = j,
    };
    j->ts_ms = ag_wall_ms();
    j->start_us = ag_now_us();
    j->state = JOB_SENDING;
    j->cc = ag_cloudcode_call_start(w->client, &spec, &rc);
    if (!j->cc)
        job_done(j, "failed", "transport", "cannot start the upstream call: %s", ag_strerror(rc));
}

static void on_acquired(int err, const struct ag_lease *lease, const struct ag_pool_denial *denial,
                        void *ud)
{
    struct job *j = ud;
    struct ag_warmup *w = j->w;
    j->wait = NULL;
    if (err) {
        const char *why = "no_account";
        if (denial && denial->kind == AG_POOL_DENY_COOLING)
            why = "cooling";
        else if (denial && denial->kind == AG_POOL_DENY_NO_MODEL)
            why = "no_model";
        else if (err == AG_EAUTH)
            why = "refresh_failed";
        job_done(j, "skipped", why, "%s",
                 denial && denial->message ? denial->message : ag_strerror(err));
    } else if (strcmp(lease->account_id, j->account_id) != 0) {
        ag_pool_release(w->pool, lease); /* cannot happen: every other account was excluded */
        job_done(j, "skipped", "no_account", "the pool offered another account");
    } else {
        j->lease = lease;
        send_job(j);
    }
    if (!w->closing)
        dispatch(w);
}

/* Starts pending jobs up to the parallel limit; finishes the run when every job is done. */
static void dispatch(struct ag_warmup *w)
{
    struct run *r = w->run;
    if (!r || r->phase != RUN_SEND)
        return;
    while (!w->closing && r->inflight < AG_WARMUP_PARALLEL && r->next < r->njobs) {
        struct job *j = &r->jobs[r->next++];
        if (j->state != JOB_PENDING)
            continue;
        /* Pinned: every other account is excluded. */
        size_t nex = 0;
        for (size_t i = 0; i < r->nall; i++) {
            if (strcmp(r->all[i], j->account_id) != 0)
                r->all_p[nex++] = r->all[i];
        }
        const char *models[1] = {j->model};
        struct ag_pool_want want = {.group = j->group,
                                    .model = j->model,
                                    .models = models,
                                    .nmodels = 1,
                                    .exclude = r->all_p,
                                    .nexclude = nex};
        j->state = JOB_ACQUIRING;
        r->inflight++;
        j->wait = ag_pool_acquire(w->pool, &want, on_acquired, j);
        if (!j->wait)
            job_done(j, "skipped", "closing", "the pool is closing");
    }
    if (r->inflight == 0 && r->next >= r->njobs && r->phase == RUN_SEND)
        run_finish(w);
}

/* The groups to warm: config warmup.groups normalised to quota groups, without repeats. */
static size_t groups_of(const struct ag_config *c, char (*out)[AG_POOL_GROUP_MAX], size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->warmup.groups.n && n < cap; i++) {
        char g[AG_POOL_GROUP_MAX];
        bool dup = false;
        ag_models_quota_group(ag_str_c(c->warmup.groups.v[i]), g, sizeof(g));
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(out[k], g) == 0;
        if (!dup)
            ag_strlcpy(out[n++], g, sizeof(out[0]));
    }
    return n;
}

/* Quota is fresh: decide per account x group, then send. */
static void plan(struct ag_warmup *w)
{
    struct run *r = w->run;
    char groups[AG_WARMUP_GROUPS_MAX][AG_POOL_GROUP_MAX];
    size_t ng = groups_of(w->cfg, groups, AG_WARMUP_GROUPS_MAX);
    int64_t now_s = ag_wall_s();
    uv_timer_stop(&w->poll);
    r->jobs = ag_calloc(r->nids * ng + 1, sizeof(*r->jobs));
    for (size_t i = 0; i < r->nids; i++) {
        for (size_t g = 0; g < ng && r->njobs < JOBS_MAX; g++) {
            struct job *j = &r->jobs[r->njobs++];
            struct ag_pool_warm v;
            j->w = w;
            ag_strlcpy(j->account_id, r->ids[i], sizeof(j->account_id));
            ag_strlcpy(j->email, r->emails[i], sizeof(j->email));
            ag_strlcpy(j->group, groups[g], sizeof(j->group));
            ag_pool_warm_check(w->pool, j->account_id, j->group, preferred_model(j->group), &v);
            if (v.verdict == AG_POOL_WARM_QUOTA_NOT_FULL)
                hist_forget(w, j->account_id, j->group); /* used since: warm it next time */
            if (v.verdict != AG_POOL_WARM_GO) {
                j->state = JOB_DONE;
                j->outcome = "skipped";
                ag_strlcpy(j->reason, ag_pool_warm_verdict_name(v.verdict), sizeof(j->reason));
                continue;
            }
            const struct warm_hist *h = hist_find(w, j->account_id, j->group);
            if (h && now_s - h->at_s < AG_WARMUP_REPEAT_S) {
                j->state = JOB_DONE;
                j->outcome = "skipped";
                ag_strlcpy(j->reason, "warmed_recently", sizeof(j->reason));
                continue;
            }
            ag_strlcpy(j->model, v.model, sizeof(j->model));
            j->state = JOB_PENDING;
        }
    }
    r->phase = RUN_SEND;
    dispatch(w);
}

/* Is the quota refresh of the run's accounts over? Every account updated since the start, or
 * nothing refreshing for two polls in a row, or the wait is up. */
static void on_poll(uv_timer_t *t)
{
    struct ag_warmup *w = t->data;
    struct run *r = w->run;
    struct ag_pool_snapshot snap = {0};
    bool all_fresh = true, busy = false;
    if (!r || r->phase != RUN_QUOTA)
        return;
    if (ag_pool_snapshot(w->pool, &snap) == 0) {
        for (size_t i = 0; i < snap.len; i++) {
            const struct ag_pool_account_state *s = &snap.items[i];
            for (size_t k = 0; k < r->nids; k++) {
                if (strcmp(s->id, r->ids[k]) != 0 || s->disabled || s->forbidden)
                    continue;
                if (s->quota_updated_at * 1000 < r->started_ms - 999)
                    all_fresh = false;
                if (s->quota_refreshing || s->refreshing)
                    busy = true;
            }
        }
        ag_pool_snapshot_dispose(&snap);
    }
    r->idle_polls = busy ? 0 : r->idle_polls + 1;
    if (all_fresh || r->idle_polls >= 2 || ag_wall_ms() - r->started_ms >= AG_WARMUP_QUOTA_WAIT_MS)
        plan(w);
}

int ag_warmup_run(struct ag_warmup *w, const char *account, const char *trigger, uint64_t *run_id)
{
    struct ag_pool_snapshot snap = {0};
    if (w->closing)
        return AG_ESTATE;
    if (w->run && w->run->phase != RUN_DONE)
        return AG_EEXIST;
    int rc = ag_pool_snapshot(w->pool, &snap);
    if (rc)
        return rc;
    struct run *r = AG_NEW(struct run);
    r->ids = ag_calloc(snap.len + 1, sizeof(*r->ids));
    r->emails = ag_calloc(snap.len + 1, sizeof(*r->emails));
    r->all = ag_calloc(snap.len + 1, sizeof(*r->all));
    r->all_p = ag_calloc(snap.len + 1, sizeof(*r->all_p));
    for (size_t i = 0; i < snap.len; i++) {
        const struct ag_pool_account_state *s = &snap.items[i];
        ag_strlcpy(r->all[r->nall++], s->id, sizeof(r->all[0]));
        if (account && account[0] && strcmp(account, s->id) != 0 &&
            strcasecmp(account, s->email ? s->email : "") != 0)
            continue;
        ag_strlcpy(r->ids[r->nids], s->id, sizeof(r->ids[0]));
        ag_strlcpy(r->emails[r->nids], s->email ? s->email : "", sizeof(r->emails[0]));
        r->nids++;
        /* Decide on fresh numbers: a window may have reset since the last refresh. */
        if (!s->disabled && !s->forbidden)
            ag_pool_refresh_quota(w->pool, s->id);
    }
    ag_pool_snapshot_dispose(&snap);
    if (account && account[0] && r->nids == 0) {
        run_free(r);
        return AG_ENOTFOUND;
    }
    r->id = ++w->run_seq;
    ag_strlcpy(r->trigger, trigger ? trigger : "manual", sizeof(r->trigger));
    ag_strlcpy(r->account, account ? account : "", sizeof(r->account));
    r->phase = RUN_QUOTA;
    r->started_ms = ag_wall_ms();
    run_free(w->run);
    w->run = r;
    ag_log_info("warmup: run %llu (%s) started for %zu account(s)", (unsigned long long)r->id,
                r->trigger, r->nids);
    if (run_id)
        *run_id = r->id;
    uv_timer_start(&w->poll, on_poll, POLL_MS, POLL_MS);
    return 0;
}

/* ---------------------------------------------------------------- status */

/* A string member; a missing value is written as "" (the status page's shape). */
static void jstr(struct ag_buf *b, const char *k, const char *v)
{
    ag_jsonw_str(b, k, v ? v : "");
}

int ag_warmup_status_json(struct ag_warmup *w, struct ag_buf *b)
{
    const struct ag_config *c = w->cfg;
    const struct run *r = w->run;
    static const char *const phases[] = {"quota", "send", "done"};
    ag_buf_printf(b, "{\"enabled\":%s,\"times\":[", c->warmup.enabled ? "true" : "false");
    for (size_t i = 0; i < c->warmup.times.n; i++)
        jstr(b, NULL, c->warmup.times.v[i]);
    ag_buf_append_c(b, "],\"groups\":[");
    for (size_t i = 0; i < c->warmup.groups.n; i++)
        jstr(b, NULL, c->warmup.groups.v[i]);
    ag_buf_append_c(b, "]");
    ag_jsonw_int(b, "next_run_ms", w->next_fire_s * 1000);
    ag_buf_printf(b, ",\"running\":%s,\"last_run\":", r && r->phase != RUN_DONE ? "true" : "false");
    if (!r)
        return ag_buf_append_c(b, "null}");
    size_t ok = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        const char *o = r->jobs[i].outcome;
        ok += o && strcmp(o, "ok") == 0;
        failed += o && strcmp(o, "failed") == 0;
        skipped += o && strcmp(o, "skipped") == 0;
    }
    ag_buf_append_c(b, "{");
    ag_jsonw_int(b, "id", (int64_t)r->id);
    jstr(b, "trigger", r->trigger);
    jstr(b, "account", r->account);
    ag_jsonw_int(b, "started_ms", r->started_ms);
    ag_jsonw_int(b, "finished_ms", r->finished_ms);
    jstr(b, "phase", phases[r->phase]);
    ag_jsonw_int(b, "sent", (int64_t)(ok + failed));
    ag_jsonw_int(b, "ok", (int64_t)ok);
    ag_jsonw_int(b, "failed", (int64_t)failed);
    ag_jsonw_int(b, "skipped", (int64_t)skipped);
    ag_buf_append_c(b, ",\"results\":[");
    for (size_t i = 0; i < r->njobs; i++) {
        const struct job *j = &r->jobs[i];
        ag_buf_append_c(b, i ? ",{" : "{");
        jstr(b, "account_id", j->account_id);
        jstr(b, "email", j->email);
        jstr(b, "group", j->group);
        jstr(b, "model", j->model);
        jstr(b, "outcome", j->outcome ? j->outcome : "pending");
        jstr(b, "reason", j->reason);
        ag_jsonw_int(b, "status", j->status);
        jstr(b, "error", j->error);
        ag_buf_append_c(b, "}");
    }
    return ag_buf_append_c(b, "]}}");
}

/* ---------------------------------------------------------------- lifecycle */

struct ag_warmup *ag_warmup_new(const struct ag_warmup_deps *d)
{
    struct ag_warmup *w = AG_NEW(struct ag_warmup);
    w->loop = d->loop;
    w->cfg = ag_config_ref(d->cfg);
    w->client = d->client;
    w->pool = d->pool;
    w->on_record = d->on_record;
    w->record_ud = d->record_ud;
    if (uv_timer_init(d->loop, &w->tick) != 0) {
        ag_config_unref(w->cfg);
        free(w);
        return NULL;
    }
    uv_timer_init(d->loop, &w->poll);
    w->tick.data = w->poll.data = w;
    w->open_handles = 2;
    arm(w);
    return w;
}

void ag_warmup_set_config(struct ag_warmup *w, struct ag_config *cfg)
{
    struct ag_config *old = w->cfg;
    w->cfg = ag_config_ref(cfg);
    ag_config_unref(old);
    arm(w);
}

static void on_closed(uv_handle_t *h)
{
    struct ag_warmup *w = h->data;
    w->open_handles--;
}

void ag_warmup_close(struct ag_warmup *w)
{
    struct run *r = w->run;
    if (w->closing)
        return;
    w->closing = true;
    if (r && r->phase != RUN_DONE) {
        for (size_t i = 0; i < r->njobs; i++) {
            struct job *j = &r->jobs[i];
            if (j->wait) {
                ag_pool_acquire_cancel(j->wait);
                j->wait = NULL;
            }
            if (j->cc) {
                ag_cloudcode_call_cancel(j->cc);
                j->cc = NULL;
            }
            if (j->state != JOB_DONE)
                job_done(j, "skipped", "closing", "the gateway is stopping");
        }
        run_finish(w);
    }
    uv_close((uv_handle_t *)&w->tick, on_closed);
    uv_close((uv_handle_t *)&w->poll, on_closed);
}

void ag_warmup_free(struct ag_warmup *w)
{
    if (!w)
        return;
    run_free(w->run);
    ag_config_unref(w->cfg);
    free(w);
}
