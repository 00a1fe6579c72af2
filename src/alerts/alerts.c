/* alerts/alerts.c: webhook alerts — matching an alert to the webhooks that want it, the repeat
 * guard, the bounded delivery queue with retries through the upstream client, the ring of
 * finished deliveries, and the upstream error-rate window (see alerts.h). */
#include "alerts/alerts.h"

#include "config/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hmac.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "upstream/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

/* Alerts remembered for the repeat guard (the oldest entry is reused). */
#define SEEN_MAX 256
/* Buckets of the error-rate window. */
#define RATE_BUCKETS 60
/* A webhook's answer is read up to this and dropped. */
#define REPLY_MAX 65536

struct job {
    struct job *prev, *next;
    struct ag_alerts *a;
    char *url;
    char *body;
    size_t body_len;
    char sig[128]; /* "X-Aigate-Signature: sha256=<hex>" or "" */
    char evh[80];  /* "X-Aigate-Event: <event>" */
    char event[40];
    char subject[96];
    char host[256];
    int attempts, max_attempts;
    uint64_t next_ms;            /* monotonic: when the next attempt may start */
    struct ag_upstream_req *req; /* while in flight */
};

struct seen {
    uint64_t h;
    uint64_t at_ms; /* monotonic; 0 = free */
};

struct bucket {
    int64_t slot;
    uint32_t total, failed;
};

struct ag_alerts {
    uv_loop_t *loop;
    struct ag_upstream_client *client;
    struct ag_config *cfg;
    uv_timer_t timer;
    struct job *head, *tail;
    size_t npending, ninflight;
    struct ag_alerts_stats st;
    struct ag_alerts_delivery ring[AG_ALERTS_RING];
    size_t ring_next, ring_n;
    struct seen seen[SEEN_MAX];
    struct bucket rate[RATE_BUCKETS];
    int64_t rate_width_s;
    uint32_t backoff_ms;
    uint64_t last_drop_log_ms;
    char instance[256];
};

static void pump(struct ag_alerts *a);

/* ---- helpers ---- */

static void cut_copy(char *dst, size_t cap, const char *src)
{
    ag_strlcpy(dst, src ? src : "", cap);
}

/* The host (and port) of url, without user info: what the ring shows of a webhook. */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    while (at) { /* the last '@' of the authority ends the user info */
        n -= (size_t)(at + 1 - p);
        p = at + 1;
        at = memchr(p, '@', n);
    }
    snprintf(out, cap, "%.*s", (int)(n < 255 ? n : 255), p);
}

static void set_instance(struct ag_alerts *a)
{
    const char *inst = a->cfg->alerts.instance;
    if (inst && inst[0]) {
        cut_copy(a->instance, sizeof(a->instance), inst);
        return;
    }
    if (gethostname(a->instance, sizeof(a->instance) - 1) != 0)
        ag_strlcpy(a->instance, "aigate", sizeof(a->instance));
    a->instance[sizeof(a->instance) - 1] = '\0';
}

static bool wants(const struct ag_config_webhook *w, const char *event)
{
    for (size_t i = 0; i < w->events.n; i++)
        if (strcmp(w->events.v[i], "*") == 0 || strcmp(w->events.v[i], event) == 0)
            return true;
    return false;
}

/* The repeat guard: true when event+subject went out within alerts.repeat_s (else notes it). */
static bool repeated(struct ag_alerts *a, const char *event, const char *subject)
{
    uint64_t now = ag_now_ms();
    uint64_t window = (uint64_t)a->cfg->alerts.repeat_s * 1000;
    uint64_t h = ag_hash_fnv1a(event, strlen(event) + 1);
    h = ag_hash_fnv1a_add(h, subject, strlen(subject));
    struct seen *slot = &a->seen[0];
    for (size_t i = 0; i < SEEN_MAX; i++) {
        struct seen *s = &a->seen[i];
        if (s->at_ms && s->h == h) {
            if (window && now - s->at_ms < window)
                return true;
            slot = s;
            break;
        }
        if (s->at_ms < slot->at_ms)
            slot = s;
    }
    slot->h = h;
    slot->at_ms = now ? now : 1;
    return false;
}

static char *payload(struct ag_alerts *a, const char *event, const char *subject,
                     const char *message, size_t *len)
{
    char when[32];
    time_t t = (time_t)(ag_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    yyjson_mut_obj_add_strcpy(d, o, "event", event);
    yyjson_mut_obj_add_strcpy(d, o, "subject", subject);
    yyjson_mut_obj_add_strcpy(d, o, "message", message);
    yyjson_mut_obj_add_strcpy(d, o, "time", when);
    yyjson_mut_obj_add_strcpy(d, o, "instance", a->instance);
    char *s = yyjson_mut_write(d, 0, len);
    yyjson_mut_doc_free(d);
    return s;
}

static void job_unlink(struct ag_alerts *a, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        a->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        a->tail = j->prev;
    a->npending--;
}

static void job_free(struct job *j)
{
    free(j->url);
    free(j->body);
    free(j);
}

static void ring_add(struct ag_alerts *a, const struct job *j, int status, bool ok,
                     const char *error)
{
    struct ag_alerts_delivery *d = &a->ring[a->ring_next];
    memset(d, 0, sizeof(*d));
    d->time_ms = ag_wall_ms();
    cut_copy(d->event, sizeof(d->event), j->event);
    cut_copy(d->subject, sizeof(d->subject), j->subject);
    cut_copy(d->host, sizeof(d->host), j->host);
    cut_copy(d->error, sizeof(d->error), error);
    d->status = status;
    d->attempts = j->attempts;
    d->delivered = ok;
    a->ring_next = (a->ring_next + 1) % AG_ALERTS_RING;
    if (a->ring_n < AG_ALERTS_RING)
        a->ring_n++;
}

/* ---- delivery ---- */

/* An attempt ended (status 0 and a message for a failure below HTTP). */
static void attempt_done(struct ag_alerts *a, struct job *j, int status, const char *error)
{
    j->req = NULL;
    if (status >= 200 && status < 300) {
        a->st.delivered++;
        ring_add(a, j, status, true, "");
        job_unlink(a, j);
        job_free(j);
        return;
    }
    char why[160];
    if (status)
        snprintf(why, sizeof(why), "HTTP %d", status);
    else
        snprintf(why, sizeof(why), "%s", error && error[0] ? error : "transport failure");
    if (j->attempts >= j->max_attempts) {
        a->st.failed++;
        ag_log_warn("alerts: %s to %s given up after %d attempt%s: %s", j->event, j->host,
                    j->attempts, j->attempts == 1 ? "" : "s", why);
        ring_add(a, j, status, false, why);
        job_unlink(a, j);
        job_free(j);
        return;
    }
    uint64_t delay = a->backoff_ms;
    for (int i = 1; i < j->attempts && delay < AG_ALERTS_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > AG_ALERTS_BACKOFF_MAX_MS)
        delay = AG_ALERTS_BACKOFF_MAX_MS;
    j->next_ms = ag_now_ms() + delay;
    ag_log_info("alerts: %s to %s failed (%s), attempt %d of %d; next in %llu ms", j->event,
                j->host, why, j->attempts, j->max_attempts, (unsigned long long)delay);
}

static void on_done(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct job *j = ud;
    struct ag_alerts *a = j->a;
    (void)r;
    a->ninflight--;
    attempt_done(a, j, res->err ? 0 : res->status, res->message);
    pump(a);
}

static void start(struct ag_alerts *a, struct job *j)
{
    const char *hdrs[4];
    size_t nh = 0;
    hdrs[nh++] = "Content-Type: application/json";
    hdrs[nh++] = "User-Agent: aigate/" AIGATE_VERSION;
    hdrs[nh++] = j->evh;
    if (j->sig[0])
        hdrs[nh++] = j->sig;
    struct ag_upstream_req_spec s = {
        .method = "POST",
        .url = j->url,
        .headers = hdrs,
        .nheaders = nh,
        .body = j->body,
        .body_len = j->body_len,
        .timeouts = {.connect_ms = 10000,
                     .first_byte_ms = 20000,
                     .idle_ms = 20000,
                     .total_ms = 30000},
        .max_body = REPLY_MAX,
        .on_done = on_done,
        .ud = j,
    };
    int err = 0;
    if (j->attempts > 0)
        a->st.retries++;
    j->attempts++;
    j->req = ag_upstream_req_start(a->client, &s, &err);
    if (j->req) {
        a->ninflight++;
        return;
    }
    /* A URL libcurl refuses will not get better: give up at once. */
    j->attempts = j->max_attempts;
    attempt_done(a, j, 0, ag_strerror(err));
}

static void on_timer(uv_timer_t *t)
{
    pump(t->data);
}

/* Starts what is due (within AG_ALERTS_PARALLEL) and arms the timer for the soonest retry. A due
 * delivery that finds every slot busy waits for an on_done, which pumps again. */
static void pump(struct ag_alerts *a)
{
    uint64_t now = ag_now_ms(), next = 0;
    struct job *j = a->head;
    while (j) {
        struct job *nx = j->next; /* start() may free j */
        if (!j->req) {
            if (j->next_ms <= now && a->ninflight < AG_ALERTS_PARALLEL)
                start(a, j);
            else if (j->next_ms > now && (!next || j->next_ms < next))
                next = j->next_ms;
        }
        j = nx;
    }
    if (next)
        uv_timer_start(&a->timer, on_timer, next - now, 0);
    else
        uv_timer_stop(&a->timer);
}

/* ---- the interface ---- */

struct ag_alerts *ag_alerts_new(uv_loop_t *loop, struct ag_upstream_client *client,
                                struct ag_config *cfg)
{
    struct ag_alerts *a = AG_NEW(struct ag_alerts);
    a->loop = loop;
    a->client = client;
    a->cfg = ag_config_ref(cfg);
    a->backoff_ms = AG_ALERTS_BACKOFF_MS;
    if (uv_timer_init(loop, &a->timer) != 0) {
        ag_config_unref(a->cfg);
        free(a);
        return NULL;
    }
    a->timer.data = a;
    set_instance(a);
    return a;
}

void ag_alerts_set_config(struct ag_alerts *a, struct ag_config *cfg)
{
    struct ag_config *old = a->cfg;
    a->cfg = ag_config_ref(cfg);
    if (old->alerts.error_rate_window_s != cfg->alerts.error_rate_window_s)
        memset(a->rate, 0, sizeof(a->rate));
    ag_config_unref(old);
    set_instance(a);
}

void ag_alerts_set_backoff(struct ag_alerts *a, uint32_t first_ms)
{
    a->backoff_ms = first_ms ? first_ms : AG_ALERTS_BACKOFF_MS;
}

int ag_alerts_emit(struct ag_alerts *a, const char *event, const char *subject, const char *message)
{
    char subj[AG_ALERTS_SUBJECT_MAX], msg[AG_ALERTS_MESSAGE_MAX];
    if (!a || !event || !event[0])
        return 0;
    cut_copy(subj, sizeof(subj), subject);
    cut_copy(msg, sizeof(msg), message);
    const struct ag_config_webhooks *hooks = &a->cfg->alerts.webhooks;
    bool any = false;
    for (size_t i = 0; i < hooks->n && !any; i++)
        any = wants(&hooks->v[i], event);
    if (!any)
        return 0;
    /* A test alert always goes out: it is sent by hand to check the webhooks. A budget alert
     * comes once per crossing (80 %, then 100 %, per period) from the keys already, and its two
     * thresholds share the subject. */
    if (strcmp(event, AG_ALERT_TEST) != 0 && strcmp(event, AG_ALERT_KEY_BUDGET) != 0 &&
        repeated(a, event, subj)) {
        a->st.suppressed++;
        ag_log_debug("alerts: %s for %s not sent again within alerts.repeat_s", event, subj);
        return 0;
    }
    a->st.emitted++;
    ag_log_info("alerts: %s%s%s: %s", event, subj[0] ? " for " : "", subj, msg);
    size_t len = 0;
    char *body = payload(a, event, subj, msg, &len);
    if (!body)
        return AG_ENOMEM;
    int queued = 0;
    for (size_t i = 0; i < hooks->n; i++) {
        const struct ag_config_webhook *w = &hooks->v[i];
        if (!wants(w, event))
            continue;
        if ((int64_t)a->npending >= a->cfg->alerts.queue_capacity) {
            a->st.dropped++;
            uint64_t now = ag_now_ms();
            if (!a->last_drop_log_ms || now - a->last_drop_log_ms >= 60000) {
                a->last_drop_log_ms = now;
                ag_log_warn("alerts: delivery queue full (alerts.queue_capacity %lld): %s "
                            "dropped (%llu dropped so far)",
                            (long long)a->cfg->alerts.queue_capacity, event,
                            (unsigned long long)a->st.dropped);
            }
            continue;
        }
        struct job *j = AG_NEW(struct job);
        j->a = a;
        j->url = ag_strdup(w->url);
        j->body = ag_calloc(len + 1, 1);
        memcpy(j->body, body, len);
        j->body_len = len;
        j->max_attempts = (int)a->cfg->alerts.max_attempts;
        cut_copy(j->event, sizeof(j->event), event);
        cut_copy(j->subject, sizeof(j->subject), subj);
        url_host(w->url, j->host, sizeof(j->host));
        snprintf(j->evh, sizeof(j->evh), "X-Aigate-Event: %s", j->event);
        if (w->secret[0]) {
            char hex[2 * AG_SHA256_SIZE + 1];
            ag_hmac_sha256_hex(w->secret, strlen(w->secret), body, len, hex);
            snprintf(j->sig, sizeof(j->sig), "X-Aigate-Signature: sha256=%s", hex);
        }
        j->prev = a->tail;
        if (a->tail)
            a->tail->next = j;
        else
            a->head = j;
        a->tail = j;
        a->npending++;
        queued++;
    }
    free(body);
    if (queued)
        pump(a);
    return queued;
}

void ag_alerts_note_request(struct ag_alerts *a, bool failed)
{
    if (!a)
        return;
    const struct ag_config *c = a->cfg;
    int64_t width = (c->alerts.error_rate_window_s + RATE_BUCKETS - 1) / RATE_BUCKETS;
    if (width < 1)
        width = 1;
    if (width != a->rate_width_s) {
        memset(a->rate, 0, sizeof(a->rate));
        a->rate_width_s = width;
    }
    int64_t slot = (int64_t)(ag_now_ms() / 1000) / width + 1; /* + 1: slot 0 means unused */
    struct bucket *b = &a->rate[slot % RATE_BUCKETS];
    if (b->slot != slot) {
        b->slot = slot;
        b->total = b->failed = 0;
    }
    b->total++;
    if (failed)
        b->failed++;
    if (!failed || c->alerts.error_rate_threshold <= 0)
        return;
    /* The window is whole buckets: ceil(window / width) of them, at most RATE_BUCKETS. */
    int64_t nb = (c->alerts.error_rate_window_s + width - 1) / width;
    int64_t window_s = width * nb;
    uint64_t total = 0, bad = 0;
    for (size_t i = 0; i < RATE_BUCKETS; i++) {
        if (a->rate[i].slot > slot - nb && a->rate[i].slot <= slot) {
            total += a->rate[i].total;
            bad += a->rate[i].failed;
        }
    }
    if ((int64_t)total < c->alerts.error_rate_min_requests ||
        bad * 100 < (uint64_t)c->alerts.error_rate_threshold * total)
        return;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "%llu of the last %llu upstream requests (%llu%%) failed within %lld s "
             "(alerts.error_rate_threshold %lld%%)",
             (unsigned long long)bad, (unsigned long long)total,
             (unsigned long long)(bad * 100 / total), (long long)window_s,
             (long long)c->alerts.error_rate_threshold);
    ag_alerts_emit(a, AG_ALERT_UPSTREAM_ERROR_RATE, "upstream", msg);
}

void ag_alerts_stats(const struct ag_alerts *a, struct ag_alerts_stats *out)
{
    *out = a->st;
    out->pending = a->npending;
}

size_t ag_alerts_deliveries(const struct ag_alerts *a, struct ag_alerts_delivery *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < a->ring_n && n < cap; i++) {
        size_t k = (a->ring_next + AG_ALERTS_RING - 1 - i) % AG_ALERTS_RING;
        out[n++] = a->ring[k];
    }
    return n;
}

static void on_closed(uv_handle_t *h)
{
    struct ag_alerts *a = h->data;
    ag_config_unref(a->cfg);
    free(a);
}

void ag_alerts_close(struct ag_alerts *a)
{
    if (!a)
        return;
    while (a->head) {
        struct job *j = a->head;
        if (j->req)
            ag_upstream_req_cancel(j->req);
        job_unlink(a, j);
        job_free(j);
    }
    a->ninflight = 0;
    uv_close((uv_handle_t *)&a->timer, on_closed);
}
