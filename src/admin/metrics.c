/* admin/metrics.c: the series tables behind /metrics (see metrics.h). A series is a label set
 * and its values; label sets are few (routes x statuses x models x accounts) and bounded by
 * MAX_SERIES: past it, new label sets are counted under the value "_other". */
#include "admin/metrics.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/buf.h"
#include "core/str.h"
#include "relay/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 4096
#define NBUCKETS   15
/* User keys with a label of their own in aigate_key_*: the first this many names seen; later
 * ones are counted under key="_other", so a gateway with many keys keeps a bounded scrape. */
#define KEY_LABELS 20
/* Label sets of the last few distinct requests (route, status, model, account), with the series
 * they add to, so that a request like a recent one neither renders nor looks up its labels. */
#define OBS_CACHE 8
#define OBS_RAW   512

static const double bucket_s[NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5,   5,    10,    30,   60,  120,  300};

struct series {
    char *labels; /* rendered: route="...",status="..." */
    uint64_t hash;
    double v;
    uint64_t buckets[NBUCKETS]; /* histograms only: per-bucket (not cumulative) counts */
    uint64_t count;
};

struct family {
    struct series *s;
    size_t n, alloc;
};

enum {
    F_REQUESTS,
    F_ERRORS,
    F_ATTEMPTS,
    F_RETRIES,
    F_TOKENS,
    F_TTFB,
    F_DURATION,
    F_KEY_REQUESTS,
    F_KEY_TOKENS,
    F_COUNT,
};

/* Series a request adds to, by slot; indexes into the family (series never move between
 * families nor leave one), SIZE_MAX until first needed. */
enum { SLOT_REQUESTS, SLOT_ATTEMPTS, SLOT_TTFB, SLOT_DURATION, SLOT_TOKENS, SLOT_COUNT = 8 };

struct obs_cache {
    char raw[OBS_RAW]; /* route, status, model and account, each ended by a NUL */
    size_t len;        /* 0: empty */
    size_t idx[SLOT_COUNT];
};

struct ag_metrics {
    struct family f[F_COUNT];
    char keys[KEY_LABELS][72]; /* user key names with their own label */
    size_t nkeys;
    struct obs_cache cache[OBS_CACHE];
    size_t cache_next; /* the entry replaced next */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct series *find(struct family *f, const char *labels, uint64_t h)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->s[i].hash == h && strcmp(f->s[i].labels, labels) == 0)
            return &f->s[i];
    }
    return NULL;
}

static struct series *add(struct family *f, const char *labels, uint64_t h)
{
    if (f->n == f->alloc) {
        f->alloc = f->alloc ? f->alloc * 2 : 16;
        struct series *ns = realloc(f->s, f->alloc * sizeof(*ns));
        if (!ns)
            abort();
        f->s = ns;
    }
    struct series *s = &f->s[f->n++];
    memset(s, 0, sizeof(*s));
    s->labels = ag_strdup(labels);
    s->hash = h;
    return s;
}

/* The series for labels, or the family's one overflow series once the table is full. */
static struct series *series(struct family *f, struct ag_buf *labels)
{
    static const char overflow[] = "overflow=\"_other\"";
    const char *l = labels->data ? labels->data : "";
    uint64_t h = fnv(l);
    struct series *s = find(f, l, h);
    if (s)
        return s;
    if (f->n < MAX_SERIES)
        return add(f, l, h);
    h = fnv(overflow);
    s = find(f, overflow, h);
    return s ? s : add(f, overflow, h);
}

int ag_metrics_escape(struct ag_buf *out, const char *s)
{
    int rc = 0;
    while (s && *s && !rc) {
        size_t run = strcspn(s, "\\\"\n"); /* plain characters go in one append */
        rc = ag_buf_append(out, s, run);
        s += run;
        if (rc || !*s)
            break;
        rc = ag_buf_append(out, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n", 2);
        s++;
    }
    return rc;
}

static void label(struct ag_buf *b, const char *name, const char *value)
{
    if (b->len)
        ag_buf_append(b, ",", 1);
    ag_buf_append_c(b, name); /* appends, no printf: this runs several times per request */
    ag_buf_append(b, "=\"", 2);
    ag_metrics_escape(b, value);
    ag_buf_append(b, "\"", 1);
}

void ag_metrics_route(const char *path, size_t len, char *out, size_t cap)
{
    struct ag_str p = ag_str_make(path, len);
    if (ag_str_has_prefix(p, "/v1beta/models/") || ag_str_has_prefix(p, "/v1/models/")) {
        size_t pre = ag_str_has_prefix(p, "/v1beta/") ? 15 : 11;
        struct ag_str rest = ag_str_make(p.p + pre, p.len - pre);
        ptrdiff_t colon = -1;
        for (size_t i = 0; i < rest.len; i++)
            if (rest.p[i] == ':')
                colon = (ptrdiff_t)i;
        snprintf(out, cap, "%.*s:model%s%.*s", (int)pre, p.p, colon >= 0 ? ":" : "",
                 colon >= 0 ? (int)(rest.len - (size_t)colon - 1) : 0,
                 colon >= 0 ? rest.p + colon + 1 : "");
        return;
    }
    ag_str_copy(out, cap, ag_str_make(path, len < 200 ? len : 200));
}

static void observe_hist(struct series *s, int64_t ms)
{
    if (!s || ms < 0)
        return;
    double v = (double)ms / 1000.0;
    s->v += v;
    s->count++;
    for (int i = 0; i < NBUCKETS; i++) {
        if (v <= bucket_s[i]) {
            s->buckets[i]++;
            break;
        }
    }
}

/* The label value of a user key name (see KEY_LABELS). */
static const char *key_label(struct ag_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nkeys; i++)
        if (strcmp(m->keys[i], name) == 0)
            return m->keys[i];
    if (m->nkeys == KEY_LABELS || strlen(name) >= sizeof(m->keys[0]))
        return "_other";
    snprintf(m->keys[m->nkeys], sizeof(m->keys[0]), "%s", name);
    return m->keys[m->nkeys++];
}

/* aigate_key_requests_total{key,status} and aigate_key_tokens_total{key,kind}. */
static void observe_key(struct ag_metrics *m, const struct ag_relay_record *r, const char *status)
{
    char name[72];
    struct ag_buf b;
    struct series *s;
    if (!r->key_name.len)
        return;
    ag_str_copy(name, sizeof(name), r->key_name);
    const char *key = key_label(m, name);
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    label(&b, "key", key);
    label(&b, "status", status);
    if ((s = series(&m->f[F_KEY_REQUESTS], &b)))
        s->v += 1;
    const struct {
        const char *kind;
        int64_t n;
    } tok[] = {{"input", r->input_tokens}, {"output", r->output_tokens}};
    for (size_t i = 0; i < 2; i++) {
        if (tok[i].n <= 0)
            continue;
        ag_buf_reset(&b);
        label(&b, "key", key);
        label(&b, "kind", tok[i].kind);
        if ((s = series(&m->f[F_KEY_TOKENS], &b)))
            s->v += (double)tok[i].n;
    }
    ag_buf_dispose(&b);
}

/* The cache entry of these label values (found, or taken over with no series known yet); NULL
 * when they are too long to keep. */
static struct obs_cache *obs_entry(struct ag_metrics *m, const char *route, const char *status,
                                   const char *served, const char *account)
{
    const char *v[] = {route, status, served, account};
    char raw[OBS_RAW];
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(v[i]) + 1;
        if (n > sizeof(raw) - len)
            return NULL;
        memcpy(raw + len, v[i], n);
        len += n;
    }
    for (size_t i = 0; i < OBS_CACHE; i++) {
        if (m->cache[i].len == len && memcmp(m->cache[i].raw, raw, len) == 0)
            return &m->cache[i];
    }
    struct obs_cache *c = &m->cache[m->cache_next];
    m->cache_next = (m->cache_next + 1) % OBS_CACHE;
    memcpy(c->raw, raw, len);
    c->len = len;
    for (size_t i = 0; i < SLOT_COUNT; i++)
        c->idx[i] = SIZE_MAX;
    return c;
}

/* The series cached in slot of c, if known. */
static struct series *obs_cached(struct ag_metrics *m, const struct obs_cache *c, int slot, int fam)
{
    return c && c->idx[slot] != SIZE_MAX ? &m->f[fam].s[c->idx[slot]] : NULL;
}

/* Remembers s (of family fam) in slot of c; returns s. */
static struct series *obs_keep(struct ag_metrics *m, struct obs_cache *c, int slot, int fam,
                               struct series *s)
{
    if (c && s)
        c->idx[slot] = (size_t)(s - m->f[fam].s);
    return s;
}

void ag_metrics_observe(struct ag_metrics *m, const struct ag_relay_record *r)
{
    char route[256], status[16];
    char *model = ag_str_dup(r->model);
    const char *served = r->served_model && r->served_model[0] ? r->served_model : model;
    const char *account = r->account ? r->account : "";
    struct ag_buf b;
    struct series *s;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_metrics_route(r->path.p, r->path.len, route, sizeof(route));
    char d[24];
    ag_strlcpy(status, ag_int_text(d, r->status), sizeof(status));
    struct obs_cache *c = obs_entry(m, route, status, served, account);

    if (!(s = obs_cached(m, c, SLOT_REQUESTS, F_REQUESTS))) {
        label(&b, "route", route);
        label(&b, "status", status);
        label(&b, "model", served);
        label(&b, "account", account);
        s = obs_keep(m, c, SLOT_REQUESTS, F_REQUESTS, series(&m->f[F_REQUESTS], &b));
    }
    if (s)
        s->v += 1;

    if (r->error_class && r->error_class[0]) {
        ag_buf_reset(&b);
        b.len = 0;
        label(&b, "route", route);
        label(&b, "error_class", r->error_class);
        if ((s = series(&m->f[F_ERRORS], &b)))
            s->v += 1;
    }

    ag_buf_reset(&b);
    label(&b, "route", route); /* cheap next to a lookup; kept for the families below */
    if (!(s = obs_cached(m, c, SLOT_ATTEMPTS, F_ATTEMPTS)))
        s = obs_keep(m, c, SLOT_ATTEMPTS, F_ATTEMPTS, series(&m->f[F_ATTEMPTS], &b));
    if (s)
        s->v += r->attempts > 0 ? r->attempts : 0;
    if (!(s = obs_cached(m, c, SLOT_TTFB, F_TTFB)))
        s = obs_keep(m, c, SLOT_TTFB, F_TTFB, series(&m->f[F_TTFB], &b));
    observe_hist(s, r->ttfb_ms);
    if (!(s = obs_cached(m, c, SLOT_DURATION, F_DURATION)))
        s = obs_keep(m, c, SLOT_DURATION, F_DURATION, series(&m->f[F_DURATION], &b));
    observe_hist(s, r->total_ms);

    if (r->attempts > 1) {
        /* The record tells the final outcome, not each failed attempt's reason: retries are
         * labelled with the class the request ended with ("ok" when a retry rescued it). */
        ag_buf_reset(&b);
        label(&b, "reason", r->error_class && r->error_class[0] ? r->error_class : "ok");
        if ((s = series(&m->f[F_RETRIES], &b)))
            s->v += r->attempts - 1;
    }

    const struct {
        const char *kind;
        int64_t n;
    } tok[] = {{"input", r->input_tokens},
               {"output", r->output_tokens},
               {"cached", r->cached_tokens},
               {"reasoning", r->reasoning_tokens}};
    for (size_t i = 0; i < 4; i++) {
        if (tok[i].n <= 0)
            continue;
        int slot = SLOT_TOKENS + (int)i;
        if (!(s = obs_cached(m, c, slot, F_TOKENS))) {
            ag_buf_reset(&b);
            label(&b, "model", served);
            label(&b, "account", account);
            label(&b, "kind", tok[i].kind);
            s = obs_keep(m, c, slot, F_TOKENS, series(&m->f[F_TOKENS], &b));
        }
        if (s)
            s->v += (double)tok[i].n;
    }
    ag_buf_dispose(&b);
    free(model);
    observe_key(m, r, status);
}

static const struct {
    const char *name, *type, *help;
} fam_meta[F_COUNT] = {
    {"aigate_requests_total", "counter", "Finished AI requests by route, status, model, account"},
    {"aigate_request_errors_total", "counter", "Failed AI requests by route and error class"},
    {"aigate_upstream_attempts_total", "counter", "Upstream attempts made for AI requests"},
    {"aigate_upstream_retries_total", "counter",
     "Upstream attempts beyond the first, by the request's final error class (ok = rescued)"},
    {"aigate_tokens_total", "counter", "Tokens by model, account and kind"},
    {"aigate_time_to_first_byte_seconds", "histogram",
     "Request arrival to the first byte sent to the client"},
    {"aigate_request_duration_seconds", "histogram", "Request arrival to the end of the response"},
    {"aigate_key_requests_total", "counter",
     "AI requests made with user keys, by key (the first 20 names; the rest as _other) and status"},
    {"aigate_key_tokens_total", "counter", "Tokens used with user keys, by key and kind"},
};

static void render_family(const struct family *f, int idx, struct ag_buf *o)
{
    ag_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", fam_meta[idx].name, fam_meta[idx].help,
                  fam_meta[idx].name, fam_meta[idx].type);
    bool hist = strcmp(fam_meta[idx].type, "histogram") == 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct series *s = &f->s[i];
        if (!hist) {
            ag_buf_printf(o, "%s{%s} %.17g\n", fam_meta[idx].name, s->labels, s->v);
            continue;
        }
        uint64_t cum = 0;
        for (int k = 0; k < NBUCKETS; k++) {
            cum += s->buckets[k];
            ag_buf_printf(o, "%s_bucket{%s,le=\"%g\"} %llu\n", fam_meta[idx].name, s->labels,
                          bucket_s[k], (unsigned long long)cum);
        }
        ag_buf_printf(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", fam_meta[idx].name, s->labels,
                      (unsigned long long)s->count);
        ag_buf_printf(o, "%s_sum{%s} %.17g\n", fam_meta[idx].name, s->labels, s->v);
        ag_buf_printf(o, "%s_count{%s} %llu\n", fam_meta[idx].name, s->labels,
                      (unsigned long long)s->count);
    }
}

static void gauge(struct ag_buf *o, const char *name, const char *type, const char *help, double v)
{
    ag_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

int ag_metrics_render(const struct ag_metrics *m, const struct ag_metrics_gauges *g,
                      struct ag_buf *o)
{
    for (int i = 0; i < F_COUNT; i++)
        render_family(&m->f[i], i, o);
    gauge(o, "aigate_active_requests", "gauge", "AI requests in flight (streams included)",
          (double)g->active_requests);
    gauge(o, "aigate_http_connections", "gauge", "Open client connections",
          (double)g->http_connections);
    gauge(o, "aigate_http_requests_in_flight", "gauge", "Requests in flight on any route",
          (double)g->http_requests);
    gauge(o, "aigate_event_subscribers", "gauge", "Live /api/events streams",
          (double)g->event_subscribers);
    gauge(o, "aigate_proxy_running", "gauge", "1 while AI routes are served, 0 when stopped",
          g->proxy_running ? 1 : 0);
    gauge(o, "aigate_writer_queue_depth", "gauge", "Records waiting for the disk writer",
          (double)g->writer_queued);
    gauge(o, "aigate_writer_dropped_total", "counter",
          "Writer jobs dropped because the queue was full", (double)g->writer_dropped);
    gauge(o, "aigate_writer_written_total", "counter", "Writer jobs committed",
          (double)g->writer_written);
    gauge(o, "aigate_writer_failed_total", "counter", "Writer jobs that failed",
          (double)g->writer_failed);
    gauge(o, "aigate_monitor_not_persisted_total", "counter",
          "Monitor records the writer refused (queue full or closing)",
          (double)g->monitor_not_queued);
    gauge(o, "aigate_retention_deleted_rows_total", "counter",
          "Request log rows removed by retention", (double)g->retention_deleted);
    return o->cap && o->len >= o->cap ? AG_ETOOBIG : 0;
}

struct ag_metrics *ag_metrics_new(void)
{
    return AG_NEW(struct ag_metrics);
}

void ag_metrics_free(struct ag_metrics *m)
{
    if (!m)
        return;
    for (int i = 0; i < F_COUNT; i++) {
        for (size_t k = 0; k < m->f[i].n; k++)
            free(m->f[i].s[k].labels);
        free(m->f[i].s);
    }
    free(m);
}
